import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import LeaveOneGroupOut, cross_val_score

from pkdot_sk.datasets import make_privileged_classification, make_privileged_regression


def test_shapes_groups_and_determinism():
    X, X_priv, y, groups = make_privileged_classification(
        n_subjects=5, n_samples_per_subject=10, n_features=7, n_priv_features=3, n_classes=4,
        random_state=1)
    assert X.shape == (50, 7) and X_priv.shape == (50, 3) and y.shape == (50,)
    assert set(np.unique(groups)) == set(range(5)) and set(np.unique(y)) <= set(range(4))
    again = make_privileged_classification(
        n_subjects=5, n_samples_per_subject=10, n_features=7, n_priv_features=3, n_classes=4,
        random_state=1)
    for a, b in zip((X, X_priv, y, groups), again):
        np.testing.assert_array_equal(a, b)
    _, _, y2, _ = make_privileged_regression(n_targets=2, random_state=0)
    assert y2.shape == (600, 2)


def test_privileged_view_clearly_helps_classification():
    X, X_priv, y, groups = make_privileged_classification(random_state=0)
    cv = LeaveOneGroupOut()
    regular = cross_val_score(LogisticRegression(max_iter=1000), X, y, groups=groups, cv=cv)
    both = cross_val_score(LogisticRegression(max_iter=1000), np.hstack([X, X_priv]), y,
                           groups=groups, cv=cv)
    assert both.mean() > regular.mean() + 0.05


def test_privileged_view_clearly_helps_regression():
    X, X_priv, y, groups = make_privileged_regression(random_state=0)
    cv = LeaveOneGroupOut()
    regular = cross_val_score(Ridge(), X, y, groups=groups, cv=cv)
    both = cross_val_score(Ridge(), np.hstack([X, X_priv]), y, groups=groups, cv=cv)
    assert both.mean() > regular.mean() + 0.1


@pytest.mark.parametrize("kwargs, name", [
    (dict(n_subjects=1), "n_subjects"), (dict(n_classes=1), "n_classes"),
    (dict(noise=-1.0), "noise"), (dict(n_features=0), "n_features"),
])
def test_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        make_privileged_classification(**kwargs)
