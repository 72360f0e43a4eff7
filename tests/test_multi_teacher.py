"""Several teachers (MT-PKDOT): how they are fitted, combined and validated."""

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import GridSearchCV, LeaveOneGroupOut, cross_val_score

from conftest import FAST
from pkdot_sk import PKDOTStudent, PrivilegedTeacher
from pkdot_sk.losses import multi_teacher_loss, pkdot_loss, rkd_loss


@pytest.fixture(scope="module")
def teachers(clf_data):
    X, X_priv, y, _ = clf_data
    joint = PrivilegedTeacher(**FAST).fit(X, y, X_priv=X_priv)
    other = PrivilegedTeacher(**{**FAST, "random_state": 1}, fusion="attention").fit(
        X, y, X_priv=X_priv)
    return FrozenEstimator(joint), FrozenEstimator(other)


def test_loss_is_the_weighted_sum_over_teachers():
    gen = torch.Generator().manual_seed(0)
    student = torch.randn(16, 5, dtype=torch.float64, generator=gen)
    first = torch.randn(16, 4, dtype=torch.float64, generator=gen)
    second = torch.randn(16, 7, dtype=torch.float64, generator=gen)
    combined = multi_teacher_loss(student, torch.cat([first, second], 1), loss=rkd_loss,
                                  widths=(4, 7), weights=(0.25, 0.75))
    expected = 0.25 * rkd_loss(student, first) + 0.75 * rkd_loss(student, second)
    np.testing.assert_allclose(combined.item(), expected.item(), rtol=1e-12)
    # split_student: block i of the student against teacher i.
    wide = torch.randn(16, 11, dtype=torch.float64, generator=gen)
    split = multi_teacher_loss(wide, torch.cat([first, second], 1),
                               loss=lambda s, t: ((s - t) ** 2).mean(), widths=(4, 7),
                               weights=(0.5, 0.5), split_student=True)
    manual = 0.5 * ((wide[:, :4] - first) ** 2).mean() + 0.5 * ((wide[:, 4:] - second) ** 2).mean()
    np.testing.assert_allclose(split.item(), manual.item(), rtol=1e-12)


def test_zero_weight_drops_a_teacher_exactly(clf_data, teachers):
    X, X_priv, y, _ = clf_data
    single = PKDOTStudent(teacher=teachers[0], **FAST).fit(X, y, X_priv=X_priv)
    pair = PKDOTStudent(teacher=list(teachers), teacher_weights=[3.0, 0.0], **FAST)
    pair.fit(X, y, X_priv=X_priv)
    np.testing.assert_array_equal(pair.predict_proba(X), single.predict_proba(X))
    # With the weight on the other teacher, training differs.
    swapped = PKDOTStudent(teacher=list(teachers), teacher_weights=[0.0, 1.0], **FAST)
    assert not np.allclose(swapped.fit(X, y, X_priv=X_priv).predict_proba(X),
                           single.predict_proba(X))


def test_the_same_teacher_twice_equals_one_teacher(clf_data, teachers):
    X, X_priv, y, _ = clf_data
    single = PKDOTStudent(teacher=teachers[0], **FAST).fit(X, y, X_priv=X_priv)
    twice = PKDOTStudent(teacher=[teachers[0], teachers[0]], **FAST).fit(X, y, X_priv=X_priv)
    np.testing.assert_allclose(twice.predict_proba(X), single.predict_proba(X), rtol=1e-5)


def test_unfitted_teachers_are_cloned_and_fitted_on_the_rows(clf_data):
    X, X_priv, y, _ = clf_data
    given = [PrivilegedTeacher(**FAST), PrivilegedTeacher(fusion="attention", **FAST)]
    student = PKDOTStudent(teacher=given, **FAST).fit(X, y, X_priv=X_priv)
    assert len(student.teachers_) == 2 and student.teacher_ is student.teachers_[0]
    assert all(hasattr(t, "net_") for t in student.teachers_)
    assert not any(hasattr(t, "net_") for t in given)
    assert student.teachers_[1].fusion == "attention"
    widths = [t.transform(X, X_priv).shape[1] for t in student.teachers_]
    assert student._teacher_widths == tuple(widths)


@pytest.mark.parametrize("method", ["feature", "logit", "gd", "rkd", "sp", "pkt"])
def test_every_method_trains_with_several_teachers(clf_data, teachers, method):
    X, X_priv, y, _ = clf_data
    student = PKDOTStudent(teacher=list(teachers), distillation=method, **FAST)
    assert 0 < student.fit(X, y, X_priv=X_priv).score(X, y) <= 1
    assert np.isfinite(student.net_.history[:, "distillation_loss"]).all()


def test_multi_teacher_in_loso_cross_validation_and_grid_search(clf_data):
    X, X_priv, y, groups = clf_data
    student = PKDOTStudent(teacher=[PrivilegedTeacher(**FAST), PrivilegedTeacher(**FAST)],
                           **FAST)
    scores = cross_val_score(student, X, y, groups=groups, cv=LeaveOneGroupOut(),
                             params={"X_priv": X_priv})
    assert scores.shape == (4,)
    search = GridSearchCV(student, {"teacher_weights": [None, [1.0, 0.0]]},
                          cv=LeaveOneGroupOut()).fit(X, y, groups=groups, X_priv=X_priv)
    assert len(search.best_estimator_.teachers_) == 2
    cloned = clone(student)
    assert cloned.teacher[0] is not student.teacher[0]


@pytest.mark.parametrize("teacher, weights, match", [
    ([], None, "teacher is an empty list"),
    ([PrivilegedTeacher(), "ecg"], None, r"teacher\[1\] is str"),
    ([PrivilegedTeacher(), PrivilegedTeacher()], [1.0], "teacher_weights must hold 2"),
    ([PrivilegedTeacher(), PrivilegedTeacher()], [1.0, -1.0], "teacher_weights"),
    ([PrivilegedTeacher(), PrivilegedTeacher()], [0.0, 0.0], "teacher_weights"),
])
def test_bad_teacher_lists(clf_data, teacher, weights, match):
    X, X_priv, y, _ = clf_data
    with pytest.raises(ValueError, match=match):
        PKDOTStudent(teacher=teacher, teacher_weights=weights, **FAST).fit(X, y, X_priv=X_priv)


def test_pkdot_loss_against_two_teachers_is_not_against_their_concatenation():
    # The combination is per teacher, not one loss on stacked embeddings.
    gen = torch.Generator().manual_seed(1)
    student = torch.randn(24, 6, dtype=torch.float64, generator=gen)
    first = torch.randn(24, 8, dtype=torch.float64, generator=gen)
    second = torch.randn(24, 8, dtype=torch.float64, generator=gen)
    stacked = torch.cat([first, second], 1)
    combined = multi_teacher_loss(student, stacked, loss=pkdot_loss, widths=(8, 8),
                                  weights=(0.5, 0.5))
    assert abs(combined.item() - pkdot_loss(student, stacked).item()) > 1e-4
