"""Rows held out inside a fit: validation split, early stopping, safeguard."""

import numpy as np
import pytest
import sklearn
from sklearn.model_selection import LeaveOneGroupOut, cross_validate

from helpers import FAST
from pkdot_sk import PKDOTStudent, PrivilegedTeacher, _base, _student
from pkdot_sk._net import valid_score
from pkdot_sk._splits import held_out_splits
from pkdot_sk.datasets import make_privileged_classification


@pytest.fixture
def subjects():
    return make_privileged_classification(n_subjects=6, n_samples_per_subject=30, n_features=6,
                                          n_priv_features=3, random_state=0)


def _valid_rows(estimator):
    return set(estimator.net_.train_split.valid.tolist())


def test_held_out_splits_keep_groups_whole_and_stratify_without_them():
    y = np.repeat([0, 1, 2], 20)
    groups = np.tile(np.arange(6), 10)
    for train, valid in held_out_splits(y, groups, 0.34, n_splits=3, labels=True, seed=0):
        assert not set(groups[train]) & set(groups[valid])
        assert len(set(groups[valid])) == 3  # 0.34 of 6 groups, rounded up
    (train, valid), = held_out_splits(y, None, 0.25, labels=True, seed=0)
    assert np.bincount(y[valid]).tolist() == [5, 5, 5]


def test_early_stopping_stops_and_keeps_the_best_epoch(subjects):
    X, X_priv, y, groups = subjects
    teacher = PrivilegedTeacher(early_stopping=True, n_iter_no_change=3, max_epochs=200,
                                batch_size=32, lr=1e-2, random_state=0)
    net = teacher.fit(X, y, X_priv=X_priv, groups=groups).net_
    scores = net.history[:, "valid_score"]
    assert len(scores) < 200
    best = int(np.argmax(scores))
    # Stopped n_iter_no_change epochs after the last strictly better score.
    assert len(scores) == best + 1 + 3
    # 0.1 of the 6 subjects, whole: one subject held out.
    assert len(set(groups[net.train_split.valid])) == 1
    assert not set(groups[net.train_split.valid]) & set(groups[net.train_split.train])
    # The fitted weights are the best epoch's: they score its valid_score again.
    train_set, valid_set = net.get_split_datasets(teacher._inputs(X, X_priv),
                                                  teacher._task.encode_targets(teacher, y))
    y_valid = teacher._task.encode_targets(teacher, y)[net.train_split.valid]
    assert valid_score(net, valid_set, y_valid) == pytest.approx(scores[best])


def test_the_default_teacher_holds_out_the_students_rows_and_stops_by_its_rule(subjects):
    X, X_priv, y, groups = subjects
    student = PKDOTStudent(early_stopping=True, n_iter_no_change=2, validation_fraction=0.3,
                           max_epochs=100, batch_size=32, lr=1e-2, safeguard=None,
                           random_state=0).fit(X, y, X_priv=X_priv, groups=groups)
    teacher = student.teacher_
    assert teacher.early_stopping and teacher.n_iter_no_change == 2
    assert _valid_rows(student) == _valid_rows(teacher)
    assert len(set(groups[list(_valid_rows(student))])) == 2  # 0.3 of 6 subjects
    for net in (student.net_, teacher.net_):
        assert len(net.history) < 100 and "valid_score" in net.history[-1]
    # Without groups: rows, still the same ones for both.
    ungrouped = PKDOTStudent(validation_fraction=0.3, safeguard=None, **FAST).fit(
        X, y, X_priv=X_priv)
    assert _valid_rows(ungrouped) == _valid_rows(ungrouped.teacher_)
    assert len(_valid_rows(ungrouped)) == int(np.ceil(0.3 * len(y)))


def test_validation_split_errors_name_the_parameter(subjects):
    X, X_priv, y, groups = subjects
    with pytest.raises(ValueError, match=r"validation_fraction=0.9 holds out all 6 groups"):
        PrivilegedTeacher(validation_fraction=0.9, **FAST).fit(X, y, X_priv=X_priv,
                                                               groups=groups)
    with pytest.raises(ValueError, match="groups must hold one label per sample"):
        PrivilegedTeacher(**FAST).fit(X, y, X_priv=X_priv, groups=groups[:5])


def test_no_subject_is_on_both_sides_of_any_internal_split_under_loso(subjects, monkeypatch):
    X, X_priv, y, groups = subjects
    seen = []

    def spy(y, groups_, fraction, **kwargs):
        splits = held_out_splits(y, groups_, fraction, **kwargs)
        seen.append((groups_, splits))
        return splits

    # Both callers: the validation split (_base) and the safeguard (_student).
    monkeypatch.setattr(_base, "held_out_splits", spy)
    monkeypatch.setattr(_student, "held_out_splits", spy)
    student = PKDOTStudent(early_stopping=True, n_iter_no_change=2, max_epochs=6,
                           batch_size=32, random_state=0)
    with sklearn.config_context(enable_metadata_routing=True):
        cross_validate(student, X, y, cv=LeaveOneGroupOut(),
                       params={"X_priv": X_priv, "groups": groups})
    # Per fold: the safeguard's splits, their inner teachers' and students'
    # validation splits, the final teacher's and student's.
    assert len(seen) >= 6 * 4
    for groups_, splits in seen:
        assert groups_ is not None
        for train, valid in splits:
            assert not set(groups_[train]) & set(groups_[valid])
