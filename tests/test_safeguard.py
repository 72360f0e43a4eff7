"""The safeguard against negative transfer: its rule, its held-out rows, and that a
rejected distillation gives exactly the student without distillation."""

import numpy as np
import pytest
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import LeaveOneGroupOut, cross_val_score

from helpers import FAST
from pkdot_sk import PKDOTStudent, PrivilegedTeacher
from pkdot_sk import _student
from pkdot_sk._net import DISTILLATION_LOSS_KEY
from pkdot_sk.datasets import make_privileged_classification


@pytest.mark.parametrize("win_rate, n_rows, kept", [
    (1.0, 30, True), (0.8, 100, True), (0.79, 100, False), (0.5, 100, False),
    (0.0, 100, False), (1.0, 29, False)])
def test_rule(win_rate, n_rows, kept):
    assert _student._distillation_validates(win_rate, n_rows) is kept


def test_bootstrap_win_rate_needs_evidence():
    # Accuracy of two predictors on the same held-out rows.
    y = np.array([0, 1] * 50)

    def accuracy(y_pred, sample_weight=None):
        return np.average(y_pred == y, weights=sample_weight)

    better = y.copy()
    better[:10] = 1 - better[:10]  # 90 % right
    worse = y.copy()
    worse[:30] = 1 - worse[:30]  # 70 % right
    rows = np.arange(100)
    assert _student._bootstrap_win_rate(accuracy, better, worse, rows, seed=0) > 0.99
    assert _student._bootstrap_win_rate(accuracy, worse, better, rows, seed=0) < 0.01
    # A gap on 10 rows is weak evidence...
    ten = np.arange(10)
    small = _student._bootstrap_win_rate(lambda p, sample_weight=None: np.average(
        p == y[:10], weights=sample_weight), y[:10], np.r_[1 - y[:2], y[2:10]], ten, seed=0)
    assert 0.5 < small < 0.95
    # ... and stays as weak when each of the 10 rows was held out 5 times.
    five_times = _student._bootstrap_win_rate(lambda p, sample_weight=None: np.average(
        p == np.tile(y[:10], 5), weights=sample_weight), np.tile(y[:10], 5),
        np.tile(np.r_[1 - y[:2], y[2:10]], 5), np.tile(ten, 5), seed=0)
    assert five_times == pytest.approx(small, abs=0.05)
    # Identical predictions never win.
    assert _student._bootstrap_win_rate(accuracy, better, better, rows, seed=0) == 0.0


def test_grouped_bootstrap_resamples_subjects_not_their_rows():
    # Two held-out subjects of 50 rows: distillation is 25 rows better on
    # the first and 10 rows worse on the second. Over rows that is a sure
    # win; over subjects it is one win and one loss.
    y = np.array([0, 1] * 50)
    subjects = np.repeat([0, 1], 50)

    def accuracy(y_pred, sample_weight=None):
        return np.average(y_pred == y, weights=sample_weight)

    distilled, none = y.copy(), y.copy()
    distilled[50:60] = 1 - distilled[50:60]
    none[:25] = 1 - none[:25]
    rows = np.arange(100)
    by_rows = _student._bootstrap_win_rate(accuracy, distilled, none, rows, seed=0)
    by_subjects = _student._bootstrap_win_rate(accuracy, distilled, none, rows, seed=0,
                                               groups=subjects)
    assert by_rows >= 0.98
    assert 0.6 < by_subjects < _student._SAFEGUARD_CONFIDENCE
    # A subject held out by several splits is still one subject.
    twice = _student._bootstrap_win_rate(
        lambda p, sample_weight=None: np.average(p == np.tile(y, 2), weights=sample_weight),
        np.tile(distilled, 2), np.tile(none, 2), np.tile(rows, 2), seed=0,
        groups=np.tile(subjects, 2))
    assert twice == pytest.approx(by_subjects, abs=0.1)
    # One subject: its rows are all there is to resample (a small gap,
    # so that the rate is neither 0 nor 1).
    close = y.copy()
    close[40:53] = 1 - close[40:53]
    small_rows = _student._bootstrap_win_rate(accuracy, distilled, close, rows, seed=1)
    one_subject = _student._bootstrap_win_rate(accuracy, distilled, close, rows, seed=1,
                                               groups=np.zeros(100))
    assert 0.6 < small_rows < 0.95
    assert one_subject == pytest.approx(small_rows, abs=0.08)


def test_the_safeguard_reports_its_held_out_groups(clf_data, useless_teacher):
    X, X_priv, y, groups = clf_data
    student = PKDOTStudent(teacher=useless_teacher, **FAST)
    student.fit(X, y, X_priv=X_priv, groups=groups)
    held_out = student.safeguard_["n_groups"]
    assert 1 <= held_out < len(np.unique(groups))
    assert student.fit(X, y, X_priv=X_priv).safeguard_["n_groups"] is None


@pytest.fixture(scope="module")
def useless_teacher(clf_data):
    # Fitted on shuffled labels: nothing in its embedding helps the task.
    X, X_priv, y, _ = clf_data
    shuffled = np.random.RandomState(0).permutation(y)
    return FrozenEstimator(PrivilegedTeacher(**FAST).fit(X, shuffled, X_priv=X_priv))


def test_rejected_distillation_is_the_student_without_distillation(clf_data, useless_teacher):
    X, X_priv, y, _ = clf_data
    student = PKDOTStudent(teacher=useless_teacher, ot_weight=1000.0, **FAST)
    student.fit(X, y, X_priv=X_priv)
    assert student.safeguard_["distilled"] is False and student.distilled_ is False
    assert student.safeguard_["win_rate"] < 0.8
    assert student.teacher_ is useless_teacher  # fitted, then not used
    assert DISTILLATION_LOSS_KEY not in student.net_.history[-1]
    plain = PKDOTStudent(distillation="none", **FAST).fit(X, y)
    np.testing.assert_array_equal(student.predict_proba(X), plain.predict_proba(X))


@pytest.mark.parametrize("kept", [True, False])
def test_the_decision_selects_the_final_training(clf_data, useless_teacher, monkeypatch, kept):
    X, X_priv, y, _ = clf_data
    monkeypatch.setattr(_student, "_distillation_validates", lambda *evidence: kept)
    student = PKDOTStudent(teacher=useless_teacher, **FAST).fit(X, y, X_priv=X_priv)
    assert student.distilled_ is kept and student.safeguard_["distilled"] is kept
    assert (DISTILLATION_LOSS_KEY in student.net_.history[-1]) is kept
    unguarded = PKDOTStudent(teacher=useless_teacher, safeguard=None, **FAST)
    unguarded.fit(X, y, X_priv=X_priv)
    assert unguarded.distilled_ and unguarded.safeguard_ is None
    # Kept: the final student is the unguarded one (same seed, same rows).
    same = np.array_equal(student.predict_proba(X), unguarded.predict_proba(X))
    assert same is kept


class _CountingTeacher(PrivilegedTeacher):
    """Records the rows of every fit (clones share the class-level list)."""

    fits = []

    def fit(self, X, y, X_priv=None):
        type(self).fits.append(np.asarray(X).copy())
        return super().fit(X, y, X_priv=X_priv)


def test_the_safeguard_fits_its_teachers_on_its_inner_training_rows(clf_data, monkeypatch):
    # A teacher fitted on the held-out rows too passes what it learnt of them
    # on to the distilled student alone, which then looks better there.
    X, X_priv, y, _ = clf_data
    monkeypatch.setattr(_CountingTeacher, "fits", [])
    student = PKDOTStudent(teacher=_CountingTeacher(**FAST), **FAST)
    splits = student._safeguard_splits(y, None, seed=student._seed())
    student.fit(X, y, X_priv=X_priv)
    final, *inner = _CountingTeacher.fits
    np.testing.assert_array_equal(final, X)
    assert len(inner) == len(splits) == student.safeguard_["n_splits"] > 1
    for rows, (train, _) in zip(inner, splits):
        np.testing.assert_array_equal(rows, X[train])


def test_a_frozen_teacher_serves_the_safeguard_as_it_is(clf_data, useless_teacher,
                                                         monkeypatch):
    X, X_priv, y, _ = clf_data
    monkeypatch.setattr(type(useless_teacher.estimator), "fit", None)  # would raise if called
    PKDOTStudent(teacher=useless_teacher, **FAST).fit(X, y, X_priv=X_priv)


def test_validation_rows_are_whole_groups(clf_data):
    X, X_priv, y, groups = clf_data
    student = PKDOTStudent(**FAST)
    student.set_params(safeguard_fraction=0.25)
    splits = student._safeguard_splits(y, groups, seed=3)
    assert len(splits) == 4  # 30 held-out rows each: 4 splits reach 100
    for train, valid in splits:
        assert len(train) + len(valid) == len(y) and not set(train) & set(valid)
        assert not set(groups[train]) & set(groups[valid])
        assert len(np.unique(groups[valid])) == 1  # a quarter of 4 subjects
    assert len({tuple(np.unique(groups[valid])) for _, valid in splits}) > 1


def test_without_groups_validation_rows_are_stratified():
    y = np.repeat([0, 1, 2], [250, 150, 100])
    student = PKDOTStudent(**FAST)
    (train, valid), = student._safeguard_splits(y, None, seed=0)  # 100 held out: one split
    assert len(valid) == 100 and len(train) == 400
    np.testing.assert_array_equal(np.bincount(y[valid]), [50, 30, 20])
    # Smaller data: more splits, each stratified, up to 5.
    splits = student._safeguard_splits(y[::2], None, seed=0)
    assert len(splits) == 2
    for train, valid in splits:
        np.testing.assert_array_equal(np.bincount(y[::2][valid]), [25, 15, 10])
    # Too few rows to stratify (a class of one): plain shuffled splits.
    tiny = np.array([0, 0, 0, 1, 1, 2])
    splits = student._safeguard_splits(tiny, None, seed=0)
    assert len(splits) == 5
    assert all(len(valid) == 2 and len(train) == 4 for train, valid in splits)


def test_groups_reach_the_safeguard_through_routing(clf_data):
    import sklearn

    X, X_priv, y, groups = clf_data
    seen = []

    class Spy(PKDOTStudent):
        def _safeguard_splits(self, y, groups, seed):
            seen.append(groups)
            return super()._safeguard_splits(y, groups, seed)

    with sklearn.config_context(enable_metadata_routing=True):
        cross_val_score(Spy(**FAST), X, y, cv=LeaveOneGroupOut(),
                        params={"X_priv": X_priv, "groups": groups})
    assert len(seen) == 4
    # Each fold's safeguard saw the groups of its own training rows only.
    for fold_groups in seen:
        assert fold_groups is not None and len(np.unique(fold_groups)) == 3


def test_groups_are_checked(clf_data):
    X, X_priv, y, groups = clf_data
    with pytest.raises(ValueError, match="groups must hold one label per sample"):
        PKDOTStudent(**FAST).fit(X, y, X_priv=X_priv, groups=groups[:-1])


def test_no_safeguard_without_a_teacher(clf_data):
    X, X_priv, y, _ = clf_data
    student = PKDOTStudent(distillation="none", **FAST).fit(X, y, X_priv=X_priv)
    assert student.safeguard_ is None and not student.distilled_


def test_default_student_is_not_worse_than_none_at_ten_epochs():
    # The regime where an unguarded PKDOT term used to cost 30 points or more
    # (issue 13): the built-in data, leave-one-subject-out, 10 epochs.
    X, X_priv, y, groups = make_privileged_classification(random_state=0)
    cv = LeaveOneGroupOut()
    none = cross_val_score(PKDOTStudent(distillation="none", max_epochs=10, random_state=0),
                           X, y, groups=groups, cv=cv)
    default = cross_val_score(PKDOTStudent(max_epochs=10, random_state=0), X, y,
                              groups=groups, cv=cv,
                              params={"X_priv": X_priv, "groups": groups})
    assert default.mean() >= none.mean() - 0.02


def test_too_few_rows_reject_without_training(clf_data, useless_teacher, monkeypatch):
    X, X_priv, y, _ = clf_data
    trainings = []
    original = PKDOTStudent._train

    def counting(self, *args, **kwargs):
        trainings.append(kwargs["distil"])
        return original(self, *args, **kwargs)

    monkeypatch.setattr(PKDOTStudent, "_train", counting)
    student = PKDOTStudent(teacher=useless_teacher, **FAST).fit(X[:20], y[:20],
                                                                X_priv=X_priv[:20])
    assert trainings == [False]  # only the final student, without distillation
    assert student.safeguard_["distilled"] is False and student.safeguard_["n_distinct"] < 30
    trainings.clear()
    student.fit(X, y, X_priv=X_priv)  # 120 rows: the inner students are trained
    assert trainings.count(True) >= 1 and trainings.count(False) >= 2
