"""Several teachers (MT-PKDOT): how they are fitted, combined and validated."""

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import GridSearchCV, LeaveOneGroupOut, cross_val_score

from helpers import DISTIL, FAST
from pkdot_sk import PKDOTStudent, PrivilegedTeacher
from pkdot_sk._tasks import coral_loss
from pkdot_sk.datasets import make_privileged_ordinal
from pkdot_sk.losses import (best_teacher_index, best_teacher_loss, multi_teacher_loss,
                             pkdot_loss, rkd_loss)


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
    single = PKDOTStudent(teacher=teachers[0], **DISTIL).fit(X, y, X_priv=X_priv)
    pair = PKDOTStudent(teacher=list(teachers), teacher_weights=[3.0, 0.0], **DISTIL)
    pair.fit(X, y, X_priv=X_priv)
    np.testing.assert_array_equal(pair.predict_proba(X), single.predict_proba(X))
    # With the weight on the other teacher, training differs.
    swapped = PKDOTStudent(teacher=list(teachers), teacher_weights=[0.0, 1.0], **DISTIL)
    assert not np.allclose(swapped.fit(X, y, X_priv=X_priv).predict_proba(X),
                           single.predict_proba(X))


def test_the_same_teacher_twice_equals_one_teacher(clf_data, teachers):
    X, X_priv, y, _ = clf_data
    single = PKDOTStudent(teacher=teachers[0], **DISTIL).fit(X, y, X_priv=X_priv)
    twice = PKDOTStudent(teacher=[teachers[0], teachers[0]], **DISTIL).fit(X, y, X_priv=X_priv)
    assert single.distilled_ and twice.distilled_
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
    student = PKDOTStudent(teacher=list(teachers), distillation=method, **DISTIL)
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


# ------------------------------------------------- one teacher per batch (best_per_batch)
def _shuffled(y):
    return np.random.RandomState(0).permutation(y)


@pytest.fixture(scope="module")
def good_and_bad(clf_data):
    """A teacher fitted on the labels and one fitted on shuffled labels."""
    X, X_priv, y, _ = clf_data
    good = PrivilegedTeacher(**FAST).fit(X, y, X_priv=X_priv)
    bad = PrivilegedTeacher(**FAST).fit(X, _shuffled(y), X_priv=X_priv)
    return FrozenEstimator(good), FrozenEstimator(bad)


def _chosen(student):
    """Teacher index of every training batch of the fit, in order."""
    return [batch["teacher_index"] for epoch in student.net_.history
            for batch in epoch["batches"] if "teacher_index" in batch]


def test_best_teacher_loss_uses_the_teacher_with_the_lowest_batch_total():
    gen = torch.Generator().manual_seed(2)
    student = torch.randn(4, 5, dtype=torch.float64, generator=gen)
    first = torch.randn(4, 3, dtype=torch.float64, generator=gen)
    second = torch.randn(4, 6, dtype=torch.float64, generator=gen)
    third = torch.randn(4, 2, dtype=torch.float64, generator=gen)
    stacked = torch.cat([first, second, third], 1)
    widths = (3, 6, 2)
    # Per sample the first teacher is best on 3 rows of 4, but the second has
    # the lowest total: the batch total decides, not a vote.
    per_sample = torch.tensor([[0.1, 0.2, 0.3], [0.1, 0.2, 0.3], [0.1, 0.2, 0.3],
                               [5.0, 1.0, 9.0]], dtype=torch.float64)
    assert best_teacher_index(per_sample) == 1
    chosen = best_teacher_loss(student, stacked, per_sample, loss=rkd_loss, widths=widths)
    assert chosen.item() == rkd_loss(student, second).item()
    assert abs(chosen.item() - rkd_loss(student, first).item()) > 1e-6
    # Totals per teacher are accepted as well.
    totals = torch.tensor([3.0, 2.0, 0.5], dtype=torch.float64)
    assert (best_teacher_loss(student, stacked, totals, loss=rkd_loss, widths=widths).item()
            == rkd_loss(student, third).item())
    # split_student: block i of the student against teacher i.
    wide = torch.randn(4, 11, dtype=torch.float64, generator=gen)
    mse = lambda s, t: ((s - t) ** 2).mean()  # noqa: E731
    split = best_teacher_loss(wide, stacked, totals, loss=mse, widths=widths,
                              split_student=True)
    assert split.item() == mse(wide[:, 9:], third).item()


def test_best_teacher_tie_goes_to_the_first_teacher():
    gen = torch.Generator().manual_seed(3)
    student = torch.randn(6, 4, dtype=torch.float64, generator=gen)
    first = torch.randn(6, 4, dtype=torch.float64, generator=gen)
    second = torch.randn(6, 4, dtype=torch.float64, generator=gen)
    stacked = torch.cat([first, second], 1)
    # Different per-sample losses, equal totals (3.0 each).
    tied = torch.tensor([[1.0, 2.0], [2.0, 1.0]], dtype=torch.float64)
    assert best_teacher_index(tied) == 0
    result = best_teacher_loss(student, stacked, tied, loss=rkd_loss, widths=(4, 4))
    assert result.item() == rkd_loss(student, first).item()
    assert abs(result.item() - rkd_loss(student, second).item()) > 1e-6
    # A tie between the second and third of three: the second.
    assert best_teacher_index(torch.tensor([2.0, 1.0, 1.0])) == 1
    with pytest.raises(ValueError, match="one task loss per teacher"):
        best_teacher_loss(student, stacked, torch.ones(3), loss=rkd_loss, widths=(4, 4))
    with pytest.raises(ValueError, match="finite"):
        best_teacher_index(torch.tensor([float("nan"), 1.0]))


def test_best_per_batch_picks_the_better_teacher_and_follows_list_order(clf_data,
                                                                        good_and_bad):
    X, X_priv, y, _ = clf_data
    good, bad = good_and_bad
    assert good.score(X, y, X_priv) > bad.score(X, y, X_priv) + 0.1
    first = PKDOTStudent(teacher=[good, bad], teacher_selection="best_per_batch", **DISTIL)
    first.fit(X, y, X_priv=X_priv)
    chosen = _chosen(first)
    assert len(chosen) == FAST["max_epochs"] * int(np.ceil(len(X) / FAST["batch_size"]))
    assert np.mean(np.array(chosen) == 0) >= 0.9
    shares = np.array(first.net_.history[:, "teacher_share"])
    assert shares.shape == (FAST["max_epochs"], 2)
    np.testing.assert_allclose(shares.sum(axis=1), 1.0)
    assert shares[:, 0].mean() >= 0.9
    # The good teacher second: the recorded index follows it.
    second = PKDOTStudent(teacher=[bad, good], teacher_selection="best_per_batch", **DISTIL)
    second.fit(X, y, X_priv=X_priv)
    assert np.mean(np.array(_chosen(second)) == 1) >= 0.9
    # The mixture records no selection.
    mixture = PKDOTStudent(teacher=[good, bad], **DISTIL).fit(X, y, X_priv=X_priv)
    assert "teacher_share" not in mixture.net_.history[-1]


def test_best_per_batch_distils_only_the_chosen_teacher(clf_data, good_and_bad):
    # When the good teacher wins every batch, the student is the one trained
    # on the good teacher alone; the mixture of both is not.
    X, X_priv, y, _ = clf_data
    good, bad = good_and_bad
    single = PKDOTStudent(teacher=good, **DISTIL).fit(X, y, X_priv=X_priv)
    for pair in ([good, bad], [bad, good]):
        best = PKDOTStudent(teacher=pair, teacher_selection="best_per_batch", **DISTIL)
        best.fit(X, y, X_priv=X_priv)
        assert set(_chosen(best)) == {pair.index(good)}
        np.testing.assert_array_equal(best.predict_proba(X), single.predict_proba(X))
    mixture = PKDOTStudent(teacher=[good, bad], **DISTIL).fit(X, y, X_priv=X_priv)
    assert not np.allclose(mixture.predict_proba(X), single.predict_proba(X))


def test_mixture_is_the_default_bit_for_bit(clf_data, teachers):
    X, X_priv, y, _ = clf_data
    default = PKDOTStudent(teacher=list(teachers), teacher_weights=[2.0, 1.0], **DISTIL)
    explicit = PKDOTStudent(teacher=list(teachers), teacher_weights=[2.0, 1.0],
                            teacher_selection="mixture", **DISTIL)
    assert default.get_params()["teacher_selection"] == "mixture"
    proba = default.fit(X, y, X_priv=X_priv).predict_proba(X)
    np.testing.assert_array_equal(explicit.fit(X, y, X_priv=X_priv).predict_proba(X), proba)
    # Selecting one teacher per batch trains another student.
    best = PKDOTStudent(teacher=list(teachers), teacher_selection="best_per_batch", **DISTIL)
    assert not np.allclose(best.fit(X, y, X_priv=X_priv).predict_proba(X), proba)


def test_best_per_batch_has_no_effect_with_one_teacher(clf_data, teachers):
    X, X_priv, y, _ = clf_data
    plain = PKDOTStudent(teacher=teachers[0], **DISTIL).fit(X, y, X_priv=X_priv)
    best = PKDOTStudent(teacher=teachers[0], teacher_selection="best_per_batch", **DISTIL)
    best.fit(X, y, X_priv=X_priv)
    np.testing.assert_array_equal(best.predict_proba(X), plain.predict_proba(X))
    assert "teacher_share" not in best.net_.history[-1]


@pytest.mark.parametrize("teacher_selection, match", [
    ("best", "teacher_selection"),
    ("best_per_batch", "teacher_weights must be None with teacher_selection='best_per_batch'"),
])
def test_bad_teacher_selection(clf_data, teachers, teacher_selection, match):
    X, X_priv, y, _ = clf_data
    student = PKDOTStudent(teacher=list(teachers), teacher_weights=[1.0, 1.0],
                           teacher_selection=teacher_selection, **FAST)
    with pytest.raises(ValueError, match=match):
        student.fit(X, y, X_priv=X_priv)


def test_ordinal_teacher_loss_is_its_coral_loss():
    X, X_priv, y, _ = make_privileged_ordinal(n_subjects=4, n_samples_per_subject=30,
                                              n_features=6, n_priv_features=3, n_levels=4,
                                              random_state=0)
    teacher = PrivilegedTeacher(task="ordinal", **FAST).fit(X, y, X_priv=X_priv)
    student = PKDOTStudent(teacher=[FrozenEstimator(teacher)] * 2, task="ordinal",
                           teacher_selection="best_per_batch", **DISTIL)
    student.fit(X, y, X_priv=X_priv)
    levels = np.searchsorted(student.classes_, y)
    per_sample = student._teacher_task_losses(FrozenEstimator(teacher), X, X_priv, levels)
    logits = torch.from_numpy(teacher._forward(teacher._predict_inputs(X, X_priv))[0]).double()
    expected = [coral_loss(logits[i:i + 1], torch.tensor([level])).item()
                for i, level in enumerate(levels)]
    np.testing.assert_allclose(per_sample, expected, rtol=1e-6)
    # Identical teachers tie on every batch: the first one is used.
    assert set(_chosen(student)) == {0}


@pytest.mark.parametrize("task", ["ordinal", "regression"])
def test_best_per_batch_on_ordinal_and_regression(reg_data, task):
    if task == "ordinal":
        X, X_priv, y, _ = make_privileged_ordinal(n_subjects=4, n_samples_per_subject=30,
                                                  n_features=6, n_priv_features=3,
                                                  n_levels=4, random_state=0)
    else:
        X, X_priv, y, _ = reg_data
    good = PrivilegedTeacher(task=task, **FAST).fit(X, y, X_priv=X_priv)
    bad = PrivilegedTeacher(task=task, **FAST).fit(X, _shuffled(y), X_priv=X_priv)
    assert good.score(X, y, X_priv) > bad.score(X, y, X_priv)
    extra = {"regression_loss": "ccc"} if task == "regression" else {}
    for pair, good_index in (([good, bad], 0), ([bad, good], 1)):
        student = PKDOTStudent(teacher=[FrozenEstimator(t) for t in pair], task=task,
                               teacher_selection="best_per_batch", **extra, **DISTIL)
        student.fit(X, y, X_priv=X_priv)
        assert np.mean(np.array(_chosen(student)) == good_index) >= 0.9
        assert np.isfinite(student.predict(X)).all()
