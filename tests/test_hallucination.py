"""Student hallucination: transformation nets predict the teacher's privileged
embeddings from the regular one, and a fusion block of the teacher's kind
fuses them."""

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import LeaveOneGroupOut, cross_val_score
from sklearn.utils._param_validation import InvalidParameterError

from helpers import DISTIL, FAST
from pkdot_sk import PKDOTStudent, PrivilegedTeacher
from pkdot_sk.modules import AttentionFusion, ConcatFusion, HallucinatingStudentNetwork

GROUPS = {"ecg": [0, 1], "eda": [2]}
# Enough optimisation for the transformation nets to move (3 batches an epoch).
# A PKDOT weight that leaves the hallucination term room to show its effect.
TRAIN = dict(max_epochs=20, lr=1e-2, batch_size=32, random_state=0, safeguard=None,
             ot_weight=30.0)


def two_group_teacher(fusion="concat"):
    return PrivilegedTeacher(priv_groups=GROUPS, fusion=fusion, **FAST)


def held_out_split(groups):
    test = groups == groups.max()
    return ~test, test


class SumFusion(torch.nn.Module):
    """A user fusion block: project each embedding to 10 columns and add."""

    def __init__(self, in_dims, width=10):
        super().__init__()
        self.project = torch.nn.ModuleList(torch.nn.Linear(d, width) for d in in_dims)

    def forward(self, embeddings):
        return sum(p(e) for p, e in zip(self.project, embeddings))


# -------------------------------------------------------------- the teacher
@pytest.mark.parametrize("fusion", ["concat", "attention"])
def test_teacher_transform_modalities_feeds_its_fusion(clf_data, fusion):
    X, X_priv, y, _ = clf_data
    teacher = two_group_teacher(fusion).fit(X, y, X_priv=X_priv)
    embeddings = teacher.transform_modalities(X, X_priv)
    assert len(embeddings) == 1 + len(GROUPS)
    assert all(e.dtype == np.float32 and e.shape == (len(X), 64) for e in embeddings)
    module = teacher.net_.module_.eval()
    with torch.no_grad():
        fused = module.fusion([torch.from_numpy(e) for e in embeddings]).numpy()
    np.testing.assert_allclose(fused, teacher.transform(X, X_priv), rtol=1e-5, atol=1e-6)
    # Shuffling the EDA column changes the EDA embedding only.
    shuffled = X_priv.copy()
    shuffled[:, 2] = np.random.RandomState(0).permutation(shuffled[:, 2])
    changed = teacher.transform_modalities(X, shuffled)
    np.testing.assert_array_equal(changed[0], embeddings[0])
    np.testing.assert_array_equal(changed[1], embeddings[1])
    assert not np.allclose(changed[2], embeddings[2])


# ------------------------------------------------------------ the student
def test_fits_and_predicts_from_X_alone(clf_data):
    X, X_priv, y, _ = clf_data
    student = PKDOTStudent(hallucinate=True, **DISTIL).fit(X, y, X_priv=X_priv)
    assert student.distilled_
    assert student.hallucinated_modalities_ == ["priv"]
    assert student.predict(X).shape == (len(X),)
    proba = student.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    (hallucinated,) = student.hallucinated_embeddings(X)
    assert hallucinated.shape == student.teacher_.transform_modalities(X, X_priv)[1].shape
    history = student.net_.history
    assert len(history[:, "hallucination_loss"]) == FAST["max_epochs"]
    assert len(history[:, "distillation_loss"]) == FAST["max_epochs"]


@pytest.mark.parametrize("fusion, kind", [("concat", ConcatFusion),
                                          ("attention", AttentionFusion)])
def test_module_has_transformation_nets_and_the_teachers_fusion(clf_data, fusion, kind):
    X, X_priv, y, _ = clf_data
    student = PKDOTStudent(teacher=two_group_teacher(fusion), hallucinate=True,
                           embedding_dim=12, **DISTIL).fit(X, y, X_priv=X_priv)
    module = student.net_.module_
    assert isinstance(module, HallucinatingStudentNetwork)
    assert student.hallucinated_modalities_ == ["ecg", "eda"]
    # One transformation net per privileged group, from the student's
    # regular width to the width of that group's teacher embedding.
    assert len(module.transformations) == 2
    teacher_dims = [e.shape[1] for e in student.teacher_.transform_modalities(X, X_priv)[1:]]
    assert module.hallucination_dims == teacher_dims
    for net, dim in zip(module.transformations, teacher_dims):
        linears = [m for m in net.modules() if isinstance(m, torch.nn.Linear)]
        assert linears[0].in_features == 12 and linears[-1].out_features == dim
    assert isinstance(module.fusion, kind)
    assert module.fusion is not student.teacher_.net_.module_.fusion
    assert len(student.hallucinated_embeddings(X)) == 2


def test_user_fusion_module_is_copied_and_feeds_the_head(clf_data):
    X, X_priv, y, _ = clf_data
    fusion = SumFusion([64, 64, 64])
    teacher = PrivilegedTeacher(priv_groups=GROUPS, fusion=fusion, **FAST)
    student = PKDOTStudent(teacher=teacher, hallucinate=True, **DISTIL).fit(X, y, X_priv=X_priv)
    block = student.net_.module_.fusion
    assert isinstance(block, SumFusion)
    assert block is not fusion and block is not student.teacher_.net_.module_.fusion
    # The head sits on the fused embedding (10 wide), not on the encoder's 64.
    assert student.net_.module_.head.in_features == 10


def test_user_fusion_that_does_not_fit_the_student_names_hallucinate(clf_data):
    X, X_priv, y, _ = clf_data
    teacher = PrivilegedTeacher(priv_groups=GROUPS, fusion=SumFusion([64, 64, 64]), **FAST)
    student = PKDOTStudent(teacher=teacher, hallucinate=True, embedding_dim=8, **FAST)
    with pytest.raises(ValueError, match="hallucinate=True.*fusion"):
        student.fit(X, y, X_priv=X_priv)


def test_hallucinated_embeddings_are_trained_for_real(clf_data):
    X, X_priv, y, groups = clf_data
    train, test = held_out_split(groups)

    def held_out_mse(weight):
        student = PKDOTStudent(teacher=two_group_teacher(), hallucinate=True,
                               hallucination_weight=weight, **TRAIN)
        student.fit(X[train], y[train], X_priv=X_priv[train])
        targets = student.teacher_.transform_modalities(X[test], X_priv[test])[1:]
        hallucinated = student.hallucinated_embeddings(X[test])
        mse = [np.mean((h - t) ** 2) for h, t in zip(hallucinated, targets)]
        return np.array(mse), student.net_.history[:, "hallucination_loss"]

    trained, losses = held_out_mse(1.0)
    untrained, _ = held_out_mse(0.0)
    # Both students see the same teacher (same seed): only the MSE term differs.
    assert np.all(trained < 0.5 * untrained), (trained, untrained)
    assert losses[-1] < 0.75 * losses[0], losses
    assert np.mean(losses[-3:]) < np.mean(losses[:3])


def test_hallucination_with_a_baseline_method(clf_data):
    X, X_priv, y, _ = clf_data
    student = PKDOTStudent(teacher=two_group_teacher(), hallucinate=True,
                           distillation="feature", **DISTIL).fit(X, y, X_priv=X_priv)
    module = student.net_.module_
    # The feature adapter projects the fused embedding to the teacher's.
    assert module.adapter.in_features == module.head.in_features
    assert module.adapter.out_features == student.teacher_.embedding_dim_
    assert len(student.net_.history[:, "hallucination_loss"]) == FAST["max_epochs"]


def test_reproducible_and_refit_without_hallucination(clf_data):
    X, X_priv, y, _ = clf_data
    student = PKDOTStudent(teacher=two_group_teacher(), hallucinate=True, **FAST)
    first = student.fit(X, y, X_priv=X_priv).predict_proba(X)
    np.testing.assert_array_equal(clone(student).fit(X, y, X_priv=X_priv).predict_proba(X),
                                  first)
    student.set_params(hallucinate=False).fit(X, y, X_priv=X_priv)
    assert not hasattr(student, "hallucinated_modalities_")
    assert not hasattr(student, "hallucinated_embeddings")
    assert "hallucination_loss" not in student.net_.history[-1]


# ------------------------------------------------------------------ errors
def test_distillation_none_raises(clf_data):
    X, X_priv, y, _ = clf_data
    with pytest.raises(ValueError, match="hallucinate=True.*distillation='none'"):
        PKDOTStudent(hallucinate=True, distillation="none", **FAST).fit(X, y, X_priv=X_priv)


def test_missing_X_priv_raises(clf_data):
    X, _, y, _ = clf_data
    with pytest.raises(ValueError, match="hallucinate=True needs X_priv"):
        PKDOTStudent(hallucinate=True, **FAST).fit(X, y)


class EmbeddingOnlyTeacher:
    """A teacher with fit and transform but no per-modality embeddings."""

    task = "classification"

    def get_params(self, deep=True):
        return {}

    def set_params(self, **params):
        return self

    def fit(self, X, y, X_priv=None):
        return self

    def transform(self, X, X_priv=None):
        return np.hstack([X, X_priv])


class RegularOnlyTeacher(EmbeddingOnlyTeacher):
    """Per-modality embeddings without any privileged modality."""

    def transform_modalities(self, X, X_priv=None):
        return [np.asarray(X)]


def test_teacher_without_privileged_modalities_raises(clf_data):
    X, X_priv, y, _ = clf_data
    student = PKDOTStudent(teacher=RegularOnlyTeacher(), hallucinate=True, **FAST)
    with pytest.raises(ValueError, match="hallucinate=True needs a teacher fitted with "
                                         "privileged modalities"):
        student.fit(X, y, X_priv=X_priv)


def test_teacher_without_transform_modalities_raises(clf_data):
    X, X_priv, y, _ = clf_data
    student = PKDOTStudent(teacher=EmbeddingOnlyTeacher(), hallucinate=True, **FAST)
    with pytest.raises(ValueError, match="hallucinate=True needs a teacher with "
                                         "transform_modalities"):
        student.fit(X, y, X_priv=X_priv)
    # Without hallucination that teacher is fine.
    student.set_params(hallucinate=False).fit(X, y, X_priv=X_priv)


@pytest.mark.parametrize("params, name", [({"hallucination_weight": -1.0},
                                           "hallucination_weight"),
                                          ({"hallucinate": "yes"}, "hallucinate")])
def test_bad_parameters_name_the_argument(clf_data, params, name):
    X, X_priv, y, _ = clf_data
    with pytest.raises(InvalidParameterError, match=f"'{name}' parameter"):
        PKDOTStudent(**params, **FAST).fit(X, y, X_priv=X_priv)


# ------------------------------------------------------------ scikit-learn
def test_clone_and_get_params():
    student = PKDOTStudent(teacher=two_group_teacher("attention"), hallucinate=True,
                           hallucination_weight=0.5)
    params = clone(student).get_params()
    assert params["hallucinate"] is True and params["hallucination_weight"] == 0.5
    assert params["teacher__fusion"] == "attention"
    assert PKDOTStudent().get_params()["hallucinate"] is False


def test_cross_val_score_leave_one_group_out(clf_data):
    X, X_priv, y, groups = clf_data
    student = PKDOTStudent(teacher=two_group_teacher(), hallucinate=True,
                           max_epochs=2, batch_size=32, random_state=0)
    scores = cross_val_score(student, X, y, groups=groups, cv=LeaveOneGroupOut(),
                             params={"X_priv": X_priv})
    assert scores.shape == (len(np.unique(groups)),)
    assert np.all((scores >= 0) & (scores <= 1))


def test_a_rejected_distillation_hallucinates_nothing(clf_data, monkeypatch):
    from pkdot_sk import _student

    X, X_priv, y, _ = clf_data
    monkeypatch.setattr(_student, "_distillation_validates", lambda *evidence: False)
    student = PKDOTStudent(teacher=two_group_teacher(), hallucinate=True, **FAST)
    student.fit(X, y, X_priv=X_priv)
    assert not student.distilled_
    with pytest.raises(ValueError, match="safeguard found that distillation did not help"):
        student.hallucinated_embeddings(X)
