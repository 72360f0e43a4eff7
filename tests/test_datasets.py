import numpy as np
import pytest
from scipy.stats import spearmanr
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge, RidgeCV
from sklearn.model_selection import (
    GroupKFold, LeaveOneGroupOut, cross_val_predict, cross_val_score,
)

from pkdot_sk.datasets import (
    make_privileged_classification,
    make_privileged_ordinal,
    make_privileged_regression,
    make_privileged_valence_arousal,
)


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


SMALL = dict(n_subjects=5, n_samples_per_subject=12, n_features=7, n_priv_features=3)


@pytest.mark.parametrize("make", [make_privileged_ordinal, make_privileged_valence_arousal])
def test_new_generators_shapes_dtypes_groups_and_seeds(make):
    X, X_priv, y, groups = make(**SMALL, random_state=3)
    assert X.shape == (60, 7) and X_priv.shape == (60, 3)
    assert X.dtype == X_priv.dtype == np.float64
    assert groups.shape == (60,) and np.issubdtype(groups.dtype, np.integer)
    np.testing.assert_array_equal(groups, np.repeat(np.arange(5), 12))
    if make is make_privileged_ordinal:
        assert y.shape == (60,) and np.issubdtype(y.dtype, np.integer)
    else:
        assert y.shape == (60, 2) and y.dtype == np.float64
    for a, b in zip((X, X_priv, y, groups), make(**SMALL, random_state=3)):
        np.testing.assert_array_equal(a, b)
    X_other, X_priv_other, y_other, _ = make(**SMALL, random_state=4)
    assert not np.allclose(X, X_other) and not np.allclose(X_priv, X_priv_other)
    assert not np.array_equal(y, y_other)


@pytest.mark.parametrize("n_levels, n_samples_per_subject", [(5, 75), (2, 75), (4, 11)])
def test_ordinal_levels_cover_range_and_are_balanced(n_levels, n_samples_per_subject):
    _, _, y, _ = make_privileged_ordinal(
        n_levels=n_levels, n_samples_per_subject=n_samples_per_subject, random_state=0)
    counts = np.bincount(y)
    assert set(np.unique(y)) == set(range(n_levels))
    # thresholds at the k / n_levels quantiles: sizes within one of each other
    assert counts.max() - counts.min() <= 1


def test_ordinal_labels_follow_severity_and_privileged_view_is_more_informative():
    X, X_priv, y, groups = make_privileged_ordinal(random_state=0)
    cv = GroupKFold(n_splits=4)
    score = cross_val_predict(LinearRegression(), X_priv, y, groups=groups, cv=cv)
    # measured 0.97 (0.92-0.97 over seeds 0-5); on X it is about 0.72
    assert spearmanr(score, y).statistic > 0.85
    level_means = [score[y == level].mean() for level in range(5)]
    assert np.all(np.diff(level_means) > 0)
    priv = cross_val_score(LogisticRegression(max_iter=1000), X_priv, y, groups=groups, cv=cv)
    regular = cross_val_score(LogisticRegression(max_iter=1000), X, y, groups=groups, cv=cv)
    # measured 0.83 vs 0.39 (chance 0.2)
    assert priv.mean() > regular.mean() + 0.2


def test_valence_arousal_range_and_correlation_band():
    _, _, y, _ = make_privileged_valence_arousal(random_state=0)
    assert y.shape == (600, 2)
    assert y.min() >= -1.0 and y.max() <= 1.0
    assert y.std(axis=0).min() > 0.3  # not degenerate: both columns spread over [-1, 1]
    # documented: population correlation about 0.27, samples within 0.15 .. 0.45
    # (measured 0.31 here, 0.18-0.37 over 300 seeds)
    assert 0.15 < np.corrcoef(y.T)[0, 1] < 0.45


def test_valence_arousal_privileged_view_is_more_informative():
    X, X_priv, y, groups = make_privileged_valence_arousal(random_state=0)
    cv = GroupKFold(n_splits=4)
    priv = cross_val_score(RidgeCV(), X_priv, y, groups=groups, cv=cv)
    regular = cross_val_score(RidgeCV(), X, y, groups=groups, cv=cv)
    # measured R^2 0.88 vs 0.56
    assert priv.mean() > 0.75 and priv.mean() > regular.mean() + 0.15


@pytest.mark.parametrize("make, kwargs, name", [
    (make_privileged_ordinal, dict(n_levels=1), "n_levels"),
    (make_privileged_ordinal, dict(n_levels=2.5), "n_levels"),
    (make_privileged_ordinal, dict(n_subjects=2, n_samples_per_subject=2, n_levels=5),
     "n_levels"),
    (make_privileged_ordinal, dict(noise=-1.0), "noise"),
    (make_privileged_ordinal, dict(priv_noise=-0.1), "priv_noise"),
    (make_privileged_ordinal, dict(n_subjects=8.0), "n_subjects"),
    (make_privileged_valence_arousal, dict(noise=-1.0), "noise"),
    (make_privileged_valence_arousal, dict(target_noise=-0.1), "target_noise"),
    (make_privileged_valence_arousal, dict(subject_effect=float("nan")), "subject_effect"),
    (make_privileged_valence_arousal, dict(n_subjects="8"), "n_subjects"),
    (make_privileged_valence_arousal, dict(n_latent=1), "n_latent"),
])
def test_new_generators_bad_arguments(make, kwargs, name):
    with pytest.raises(ValueError, match=name):
        make(**kwargs)
