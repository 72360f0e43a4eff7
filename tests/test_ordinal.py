"""task="ordinal": cumulative-link head, loss, probabilities, estimators."""

import numpy as np
import pytest
import torch
from sklearn.frozen import FrozenEstimator
from sklearn.metrics import mean_absolute_error
from sklearn.model_selection import GridSearchCV, LeaveOneGroupOut, cross_val_score

from helpers import DISTIL, FAST
from pkdot_sk import PKDOTStudent, PrivilegedTeacher
from pkdot_sk._tasks import CoralHead, coral_loss, ordinal_levels, ordinal_proba
from pkdot_sk.datasets import make_privileged_ordinal


@pytest.fixture(scope="module")
def ord_data():
    return make_privileged_ordinal(n_subjects=4, n_samples_per_subject=40, n_features=6,
                                   n_priv_features=3, n_levels=4, random_state=0)


def test_coral_loss_matches_the_sum_of_binary_cross_entropies():
    logits = torch.tensor([[2.0, 0.5, -1.0], [0.3, -0.2, -2.0]], dtype=torch.float64)
    levels = torch.tensor([2, 0])
    sigmoid = 1 / (1 + np.exp(-logits.numpy()))
    above = np.array([[1, 1, 0], [0, 0, 0]])  # level 2 is above thresholds 0 and 1
    expected = -(above * np.log(sigmoid) + (1 - above) * np.log(1 - sigmoid)).sum(1).mean()
    np.testing.assert_allclose(coral_loss(logits, levels).item(), expected, rtol=1e-12)


def test_head_shares_one_weight_and_starts_with_ordered_thresholds():
    head = CoralHead(5, 3)
    out = head(torch.randn(7, 5)).detach().numpy()
    # Same slope for every threshold: columns differ by constants only.
    assert np.allclose(np.diff(out, axis=1), np.diff(out[:1], axis=1))
    assert np.all(np.diff(head.bias.detach().numpy()) < 0)


def test_proba_rows_are_distributions_even_for_unordered_logits():
    logits = np.array([[3.0, -1.0, 2.0], [-5.0, -6.0, -7.0], [4.0, 3.0, 2.5]])
    proba = ordinal_proba(logits)
    assert proba.shape == (3, 4)
    assert np.all(proba >= 0)
    np.testing.assert_allclose(proba.sum(1), 1.0)
    np.testing.assert_array_equal(ordinal_levels(logits), [2, 0, 3])
    # Ordered logits: P(y = 0) = 1 - P(y > 0) exactly.
    np.testing.assert_allclose(proba[2, 0], 1 - 1 / (1 + np.exp(-4.0)))


@pytest.mark.parametrize("Estimator", [PKDOTStudent, PrivilegedTeacher])
def test_ordinal_estimators_predict_levels_and_probabilities(Estimator, ord_data):
    X, X_priv, y, _ = ord_data
    labels = 10 * y + 5  # any increasing numeric coding of the levels
    model = Estimator(task="ordinal", **FAST).fit(X, labels, X_priv=X_priv)
    np.testing.assert_array_equal(model.classes_, [5, 15, 25, 35])
    args = (X,) if Estimator is PKDOTStudent else (X, X_priv)
    assert set(np.unique(model.predict(*args))) <= set(model.classes_)
    proba = model.predict_proba(*args)
    assert proba.shape == (len(X), 4)
    np.testing.assert_allclose(proba.sum(1), 1.0)
    assert model.net_.module_.head.bias.shape == (3,)  # K - 1 thresholds


def test_ordinal_student_learns_the_order_of_levels():
    X, X_priv, y, groups = make_privileged_ordinal(n_subjects=6, n_samples_per_subject=100,
                                                   n_levels=5, random_state=1)
    train, test = groups < 4, groups >= 4
    model = PKDOTStudent(task="ordinal", distillation="none", max_epochs=40, random_state=0)
    predicted = model.fit(X[train], y[train]).predict(X[test])
    # Far better than always answering the middle level (MAE 1.2 on 5 balanced levels).
    baseline = mean_absolute_error(y[test], np.full(test.sum(), 2))
    assert mean_absolute_error(y[test], predicted) < 0.7 * baseline
    # Expected level under predict_proba rises with the true level.
    expected = model.predict_proba(X[test]) @ np.arange(5)
    means = [expected[y[test] == level].mean() for level in range(5)]
    assert np.all(np.diff(means) > 0)


def test_ordinal_student_in_loso_cross_validation_and_grid_search(ord_data):
    X, X_priv, y, groups = ord_data
    student = PKDOTStudent(task="ordinal", **DISTIL)
    mae = cross_val_score(student, X, y, groups=groups, cv=LeaveOneGroupOut(),
                          scoring="neg_mean_absolute_error", params={"X_priv": X_priv})
    assert mae.shape == (4,) and np.all(mae <= 0) and np.all(mae >= -3)
    search = GridSearchCV(student, {"ot_weight": [1.0, 6.0]}, cv=LeaveOneGroupOut())
    search.fit(X, y, groups=groups, X_priv=X_priv)
    assert search.best_estimator_.distilled_


def test_ordinal_embedding_baselines_train(ord_data):
    X, X_priv, y, _ = ord_data
    teacher = FrozenEstimator(PrivilegedTeacher(task="ordinal", **FAST).fit(X, y, X_priv=X_priv))
    for method in ("feature", "rkd", "sp", "pkt"):
        student = PKDOTStudent(teacher=teacher, task="ordinal", distillation=method, **FAST)
        assert student.fit(X, y, X_priv=X_priv).score(X, y) > 0


def test_ordinal_bad_input(ord_data):
    X, X_priv, y, _ = ord_data
    with pytest.raises(ValueError, match="task='ordinal' needs numeric labels"):
        PKDOTStudent(task="ordinal", **FAST).fit(X, np.array(["low", "high"])[y % 2],
                                                  X_priv=X_priv)
    with pytest.raises(ValueError, match="at least 2 levels"):
        PrivilegedTeacher(task="ordinal", **FAST).fit(X, np.zeros(len(X)), X_priv=X_priv)
    for method in ("logit", "gd"):
        with pytest.raises(ValueError, match=f"distillation='{method}'.*ordinal"):
            PKDOTStudent(task="ordinal", distillation=method, **FAST).fit(X, y, X_priv=X_priv)


@pytest.mark.parametrize("criterion, make_target", [
    ("CrossEntropyCriterion", lambda g: torch.randint(0, 3, (6,), generator=g)),
    ("MSECriterion", lambda g: torch.randn(6, 2, generator=g)),
    ("CoralLoss", lambda g: torch.randint(0, 3, (6,), generator=g)),
    ("CCCLoss", lambda g: torch.randn(6, 2, generator=g)),
])
def test_integer_weights_in_a_criterion_equal_repeated_rows(criterion, make_target):
    # The estimators normalise the weights to mean 1; then a row of weight k
    # counts as k copies of it in the batch.
    from pkdot_sk import _tasks

    g = torch.Generator().manual_seed(0)
    width = 3 if criterion == "CrossEntropyCriterion" else 2
    output, target = torch.randn(6, width, generator=g), make_target(g)
    counts = torch.tensor([1, 3, 0, 2, 1, 5])
    weights = counts / counts.float().mean()
    loss = getattr(_tasks, criterion)()
    repeated = loss(output.repeat_interleave(counts, dim=0),
                    target.repeat_interleave(counts, dim=0))
    torch.testing.assert_close(loss(output, target, weights), repeated)
