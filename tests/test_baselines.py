"""Baseline distillation losses: closed forms, known properties, estimator wiring."""

import numpy as np
import pytest
import torch

from pkdot_sk import PKDOTStudent, PrivilegedTeacher
from pkdot_sk.datasets import make_privileged_classification, make_privileged_regression
from pkdot_sk.losses import (
    feature_distillation_loss,
    generalized_distillation_loss,
    logit_kd_loss,
    pkdot_loss,
    pkt_loss,
    rkd_loss,
    similarity_preserving_loss,
)

STRUCTURE_LOSSES = [rkd_loss, similarity_preserving_loss, pkt_loss, pkdot_loss]


def embeddings(n=24, d_student=6, d_teacher=9, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return (torch.randn(n, d_student, generator=gen, dtype=torch.float64),
            torch.randn(n, d_teacher, generator=gen, dtype=torch.float64))


def random_rotation(d, seed=0):
    q, _ = np.linalg.qr(np.random.RandomState(seed).normal(size=(d, d)))
    return torch.tensor(q)


# ------------------------------------------------------------ closed forms
def test_logit_kd_matches_its_closed_form():
    s = np.array([[1.0, 0.0, -1.0], [0.5, 2.0, 0.0]])
    t = np.array([[2.0, 1.0, 0.0], [0.0, 0.0, 3.0]])
    T = 2.0

    def softmax(a):
        e = np.exp(a - a.max(1, keepdims=True))
        return e / e.sum(1, keepdims=True)

    p_s, p_t = softmax(s / T), softmax(t / T)
    expected = T**2 * np.mean(np.sum(p_t * np.log(p_t / p_s), axis=1))
    value = logit_kd_loss(torch.tensor(s), torch.tensor(t), temperature=T)
    np.testing.assert_allclose(value.item(), expected, rtol=1e-12)
    # Teacher log-probabilities (logits shifted per row) give the same loss.
    shifted = torch.tensor(t) - torch.tensor([[5.0], [-3.0]])
    np.testing.assert_allclose(logit_kd_loss(torch.tensor(s), shifted, temperature=T).item(),
                               expected, rtol=1e-12)


def test_generalized_distillation_closed_forms():
    s = np.array([[1.0, 0.0], [0.0, 1.0], [2.0, -1.0]])
    t = np.array([[3.0, 1.0], [0.0, 2.0], [1.0, 1.0]])
    T = 3.0
    soft = np.exp(t / T) / np.exp(t / T).sum(1, keepdims=True)
    log_p = s - np.log(np.exp(s).sum(1, keepdims=True))
    expected = -np.mean(np.sum(soft * log_p, axis=1))
    value = generalized_distillation_loss(torch.tensor(s), torch.tensor(t), temperature=T)
    np.testing.assert_allclose(value.item(), expected, rtol=1e-12)
    value = generalized_distillation_loss(torch.tensor(s), torch.tensor(t), task="regression")
    np.testing.assert_allclose(value.item(), np.mean((s - t) ** 2), rtol=1e-12)


def test_rkd_matches_a_loop_over_pairs_and_triplets():
    student, teacher = embeddings(n=5, d_student=3, d_teacher=4, seed=1)

    def huber(a, b):
        diff = np.abs(a - b)
        return np.where(diff < 1, 0.5 * diff**2, diff - 0.5)

    def distances(z):
        d = np.linalg.norm(z[:, None] - z[None], axis=2)
        return d / d[~np.eye(len(z), dtype=bool)].mean()

    def angles(z):
        n = len(z)
        out = np.zeros((n, n, n))
        for j in range(n):
            for i in range(n):
                for k in range(n):
                    a, b = z[i] - z[j], z[k] - z[j]
                    if np.linalg.norm(a) > 0 and np.linalg.norm(b) > 0:
                        out[j, i, k] = a @ b / np.linalg.norm(a) / np.linalg.norm(b)
        return out

    s, t = student.numpy(), teacher.numpy()
    expected = (2.0 * huber(distances(s), distances(t)).mean()
                + 3.0 * huber(angles(s), angles(t)).mean())
    value = rkd_loss(student, teacher, distance_weight=2.0, angle_weight=3.0)
    np.testing.assert_allclose(value.item(), expected, rtol=1e-10)


# -------------------------------------------------------------- properties
@pytest.mark.parametrize("loss", STRUCTURE_LOSSES)
def test_structure_losses_vanish_when_student_equals_teacher(loss):
    _, teacher = embeddings()
    assert abs(loss(teacher.clone(), teacher).item()) < 1e-5
    student, _ = embeddings(seed=3)
    assert loss(student, teacher).item() > 1e-3


def test_feature_loss_vanishes_on_equal_embeddings_only():
    _, teacher = embeddings()
    for metric in ("mse", "cosine"):
        assert feature_distillation_loss(teacher.clone(), teacher, metric=metric).item() < 1e-12
        assert feature_distillation_loss(teacher + 1.0, teacher, metric=metric).item() > 1e-3


@pytest.mark.parametrize("loss", [rkd_loss, pkt_loss, pkdot_loss, similarity_preserving_loss])
def test_relational_losses_ignore_rotation_and_scale_of_the_student(loss):
    student, teacher = embeddings(seed=4)
    reference = loss(student, teacher).item()
    moved = 3.0 * student @ random_rotation(student.shape[1])
    np.testing.assert_allclose(loss(moved, teacher).item(), reference, rtol=1e-6)


def test_losses_give_gradients_only_to_the_student():
    student, teacher = embeddings()
    teacher.requires_grad_(True)
    student.requires_grad_(True)
    for loss in STRUCTURE_LOSSES:
        loss(student, teacher).backward()
    assert teacher.grad is None
    assert torch.isfinite(student.grad).all() and student.grad.abs().sum() > 0


@pytest.mark.parametrize("call, match", [
    (lambda: rkd_loss(torch.zeros(4, 3), torch.zeros(5, 3)), "rows"),
    (lambda: pkt_loss(torch.zeros(4), torch.zeros(4, 3)), "2-D"),
    (lambda: logit_kd_loss(torch.zeros(4, 3), torch.zeros(4, 2)), "same width"),
    (lambda: logit_kd_loss(torch.zeros(4, 3), torch.zeros(4, 3), temperature=0), "temperature"),
    (lambda: feature_distillation_loss(torch.zeros(4, 3), torch.zeros(4, 3), metric="l1"),
     "metric"),
    (lambda: generalized_distillation_loss(torch.zeros(4, 3), torch.zeros(4, 3), task="x"),
     "task"),
])
def test_bad_arguments_raise_clear_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# --------------------------------------------------------------- estimator
@pytest.fixture(scope="module")
def classification_data():
    X, X_priv, y, _ = make_privileged_classification(
        n_subjects=4, n_samples_per_subject=40, random_state=0)
    teacher = PrivilegedTeacher(max_epochs=3, random_state=0).fit(X, y, X_priv=X_priv)
    return X, X_priv, y, teacher


@pytest.mark.parametrize("method", ["logit", "gd", "feature", "rkd", "sp", "pkt"])
def test_every_method_trains_and_predicts_from_X_alone(classification_data, method):
    from sklearn.frozen import FrozenEstimator

    X, X_priv, y, teacher = classification_data
    student = PKDOTStudent(teacher=FrozenEstimator(teacher), distillation=method,
                           max_epochs=2, random_state=0, safeguard=None).fit(X, y, X_priv=X_priv)
    assert student.distilled_
    losses = student.net_.history[:, "distillation_loss"]
    assert len(losses) == 2 and np.all(np.isfinite(losses))
    assert student.predict(X).shape == (len(X),)
    # Only the feature method carries a projection, and prediction ignores it.
    assert (student.net_.module_.adapter is not None) == (method == "feature")


def test_gd_with_zero_imitation_is_the_regular_only_student(classification_data):
    X, X_priv, y, teacher = classification_data
    from sklearn.frozen import FrozenEstimator

    kwargs = dict(teacher=FrozenEstimator(teacher), max_epochs=2, random_state=0,
                  safeguard=None)
    gd = PKDOTStudent(distillation="gd", distillation_weight=0.0, **kwargs).fit(
        X, y, X_priv=X_priv)
    none = PKDOTStudent(distillation="none", **kwargs).fit(X, y, X_priv=X_priv)
    np.testing.assert_allclose(gd.predict_proba(X), none.predict_proba(X), rtol=1e-5)
    full = PKDOTStudent(distillation="gd", distillation_weight=1.0, **kwargs).fit(
        X, y, X_priv=X_priv)
    assert not np.allclose(full.predict_proba(X), none.predict_proba(X), rtol=1e-3)


def test_regression_methods_and_their_errors():
    X, X_priv, y, _ = make_privileged_regression(
        n_subjects=3, n_samples_per_subject=40, random_state=0)
    for method in ("gd", "feature", "rkd"):
        student = PKDOTStudent(task="regression", distillation=method, max_epochs=2,
                               random_state=0).fit(X, y, X_priv=X_priv)
        assert np.isfinite(student.predict(X)).all()
    with pytest.raises(ValueError, match="distillation='logit' needs task='classification'"):
        PKDOTStudent(task="regression", distillation="logit").fit(X, y, X_priv=X_priv)
    with pytest.raises(ValueError, match="imitation parameter"):
        PKDOTStudent(task="regression", distillation="gd",
                     distillation_weight=1.5).fit(X, y, X_priv=X_priv)


def test_logit_teacher_must_know_the_same_classes(classification_data):
    from sklearn.frozen import FrozenEstimator

    X, X_priv, y, teacher = classification_data
    other_labels = np.where(y == y.max(), y.max() + 1, y)  # renamed class
    with pytest.raises(ValueError, match="classes_"):
        PKDOTStudent(teacher=FrozenEstimator(teacher), distillation="logit",
                     max_epochs=1).fit(X, other_labels, X_priv=X_priv)
