"""Synthetic subjects with a clean privileged view and a noisy regular view.

Generative model (shared by all generators)
-------------------------------------------
For sample ``i`` of subject ``s``:

* a latent state ``h_i`` in R^``n_latent`` carries the task (class-dependent
  means for classification; standard normal otherwise, with
  ``y_i = h_i . w + noise`` for regression, ordered levels of the severity
  ``h_i . w`` for ordinal data, and ``tanh`` of two read-outs for valence and
  arousal);
* privileged view (think physiology recorded in the lab)::

      x_priv_i = h_i A_priv + c_s + e_i,    e_i ~ N(0, priv_noise^2 I)

  a linear, nearly clean read-out of the latent state, with a small subject
  baseline ``c_s ~ N(0, (subject_effect / 4)^2 I)``;
* regular view (think video features in the wild)::

      x_i = tanh(h_i A) + b_s + n_i,        n_i ~ N(0, noise^2 I)

  a saturating, noisy read-out of the same state, shifted by a strong
  per-subject offset ``b_s ~ N(0, subject_effect^2 I)``.

So a model that sees ``x_priv`` (the teacher) clearly beats one that sees
only ``x``; ``groups`` holds the subject of each row for leave-one-subject-out
evaluation.
"""

import numpy as np
from sklearn.utils import check_random_state

__all__ = [
    "make_privileged_classification",
    "make_privileged_regression",
    "make_privileged_ordinal",
    "make_privileged_valence_arousal",
]

# Cosine between the valence and arousal directions in latent space: the
# population correlation of the two linear read-outs (before tanh and noise).
_VALENCE_AROUSAL_CORRELATION = 0.3


def _check_positive_int(value, name, minimum=1):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value!r}.")


def _check_non_negative(value, name):
    if not (isinstance(value, (int, float, np.number)) and np.isfinite(value) and value >= 0):
        raise ValueError(f"{name} must be a finite number >= 0; got {value!r}.")


def _check_views(n_subjects, n_samples_per_subject, n_features, n_priv_features, n_latent,
                 noise, priv_noise, subject_effect, *, min_latent=1):
    """Arguments every generator shares (subjects, view widths, noise levels)."""
    _check_positive_int(n_subjects, "n_subjects", 2)
    _check_positive_int(n_samples_per_subject, "n_samples_per_subject")
    _check_positive_int(n_features, "n_features")
    _check_positive_int(n_priv_features, "n_priv_features")
    _check_positive_int(n_latent, "n_latent", min_latent)
    for value, name in [(noise, "noise"), (priv_noise, "priv_noise"),
                        (subject_effect, "subject_effect")]:
        _check_non_negative(value, name)


def _views(latent, groups, n_features, n_priv_features, noise, priv_noise, subject_effect, rng):
    n_samples, n_latent = latent.shape
    n_subjects = groups.max() + 1
    mixing = rng.normal(scale=1.0 / np.sqrt(n_latent), size=(n_latent, n_features))
    priv_mixing = rng.normal(scale=1.0 / np.sqrt(n_latent), size=(n_latent, n_priv_features))
    offsets = rng.normal(scale=subject_effect, size=(n_subjects, n_features))
    baselines = rng.normal(scale=subject_effect / 4, size=(n_subjects, n_priv_features))
    X = np.tanh(2.0 * latent @ mixing) + offsets[groups]
    X += rng.normal(scale=noise, size=X.shape)
    X_priv = latent @ priv_mixing + baselines[groups]
    X_priv += rng.normal(scale=priv_noise, size=X_priv.shape)
    return X, X_priv


def _subject_groups(n_subjects, n_samples_per_subject):
    return np.repeat(np.arange(n_subjects), n_samples_per_subject)


def make_privileged_classification(
    n_subjects=8,
    n_samples_per_subject=75,
    n_features=20,
    n_priv_features=8,
    n_classes=3,
    n_latent=4,
    noise=1.0,
    priv_noise=0.1,
    subject_effect=0.5,
    random_state=None,
):
    """Classification data with a privileged view, grouped by subject.

    Classes have well separated means in the latent space (plus unit
    within-class spread); the generative model of the two views is in the
    module docstring of :mod:`pkdot_sk.datasets`.

    Parameters
    ----------
    n_subjects : int, default=8
    n_samples_per_subject : int, default=75
    n_features : int, default=20
        Width of the regular view X.
    n_priv_features : int, default=8
        Width of the privileged view X_priv.
    n_classes : int, default=3
    n_latent : int, default=4
        Dimension of the latent state both views read out.
    noise : float, default=1.0
        Noise standard deviation of the regular view.
    priv_noise : float, default=0.1
        Noise standard deviation of the privileged view.
    subject_effect : float, default=0.5
        Standard deviation of the per-subject offsets of the regular view
        (a quarter of it for the privileged view).
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
    X_priv : ndarray of shape (n_samples, n_priv_features)
    y : ndarray of shape (n_samples,), int labels in ``range(n_classes)``
    groups : ndarray of shape (n_samples,), subject index of each row
    """
    _check_views(n_subjects, n_samples_per_subject, n_features, n_priv_features, n_latent,
                 noise, priv_noise, subject_effect)
    _check_positive_int(n_classes, "n_classes", 2)
    rng = check_random_state(random_state)
    groups = _subject_groups(n_subjects, n_samples_per_subject)
    y = rng.randint(n_classes, size=groups.size)
    class_means = rng.normal(scale=1.5, size=(n_classes, n_latent))
    latent = class_means[y] + rng.normal(size=(groups.size, n_latent))
    X, X_priv = _views(latent, groups, n_features, n_priv_features, noise, priv_noise,
                       subject_effect, rng)
    return X, X_priv, y, groups


def make_privileged_regression(
    n_subjects=8,
    n_samples_per_subject=75,
    n_features=20,
    n_priv_features=8,
    n_targets=1,
    n_latent=4,
    noise=1.0,
    priv_noise=0.1,
    subject_effect=0.5,
    target_noise=0.1,
    random_state=None,
):
    """Regression data with a privileged view, grouped by subject.

    Targets are linear in the latent state, ``y = h W + N(0, target_noise^2)``;
    the two views follow the generative model of :mod:`pkdot_sk.datasets`.

    Parameters
    ----------
    n_subjects, n_samples_per_subject, n_features, n_priv_features, n_latent,
    noise, priv_noise, subject_effect, random_state
        As in :func:`make_privileged_classification`.
    n_targets : int, default=1
        1 gives ``y`` of shape (n_samples,); more gives (n_samples, n_targets),
        e.g. valence and arousal.
    target_noise : float, default=0.1

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
    X_priv : ndarray of shape (n_samples, n_priv_features)
    y : ndarray of shape (n_samples,) or (n_samples, n_targets)
    groups : ndarray of shape (n_samples,)
    """
    _check_views(n_subjects, n_samples_per_subject, n_features, n_priv_features, n_latent,
                 noise, priv_noise, subject_effect)
    _check_positive_int(n_targets, "n_targets")
    _check_non_negative(target_noise, "target_noise")
    rng = check_random_state(random_state)
    groups = _subject_groups(n_subjects, n_samples_per_subject)
    latent = rng.normal(size=(groups.size, n_latent))
    weights = rng.normal(scale=1.0 / np.sqrt(n_latent), size=(n_latent, n_targets))
    y = latent @ weights + rng.normal(scale=target_noise, size=(groups.size, n_targets))
    X, X_priv = _views(latent, groups, n_features, n_priv_features, noise, priv_noise,
                       subject_effect, rng)
    return X, X_priv, (y.ravel() if n_targets == 1 else y), groups


def _unit_vector(n_latent, rng):
    direction = rng.normal(size=n_latent)
    return direction / np.linalg.norm(direction)


def make_privileged_ordinal(
    n_subjects=8,
    n_samples_per_subject=75,
    n_features=20,
    n_priv_features=8,
    n_levels=5,
    n_latent=4,
    noise=1.0,
    priv_noise=0.1,
    subject_effect=0.5,
    random_state=None,
):
    """Ordinal data (e.g. pain levels 0..4) with a privileged view, grouped by subject.

    The latent state is standard normal, ``h_i ~ N(0, I)``, and carries a
    scalar severity ``s_i = h_i . w`` along a random unit direction ``w``
    (so ``s_i ~ N(0, 1)``). The severity is cut into ``n_levels`` ordered
    levels by thresholds at the ``k / n_levels`` quantiles of the sampled
    ``s`` (``k = 1 .. n_levels - 1``)::

        y_i = #{k : s_i >= t_k},    t_k = quantile(s, k / n_levels)

    so the levels are balanced (sizes differ by at most one when
    ``n_samples`` is not a multiple of ``n_levels``) and the labels follow
    the order of ``s``: a higher level always means a higher severity, which
    is what an ordinal model should exploit. The labels are a deterministic
    function of the latent state; all noise is in the two views, which
    follow the generative model of :mod:`pkdot_sk.datasets`.

    Parameters
    ----------
    n_subjects, n_samples_per_subject, n_features, n_priv_features, n_latent,
    noise, priv_noise, subject_effect, random_state
        As in :func:`make_privileged_classification`.
    n_levels : int, default=5
        Number of ordered levels, at least 2 and at most ``n_samples``.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
    X_priv : ndarray of shape (n_samples, n_priv_features)
    y : ndarray of shape (n_samples,), int levels in ``range(n_levels)``,
        increasing with the severity
    groups : ndarray of shape (n_samples,), subject index of each row
    """
    _check_views(n_subjects, n_samples_per_subject, n_features, n_priv_features, n_latent,
                 noise, priv_noise, subject_effect)
    _check_positive_int(n_levels, "n_levels", 2)
    n_samples = n_subjects * n_samples_per_subject
    if n_levels > n_samples:
        raise ValueError(f"n_levels must be <= n_samples ({n_samples}); got {n_levels!r}.")
    rng = check_random_state(random_state)
    groups = _subject_groups(n_subjects, n_samples_per_subject)
    latent = rng.normal(size=(n_samples, n_latent))
    severity = latent @ _unit_vector(n_latent, rng)
    thresholds = np.quantile(severity, np.arange(1, n_levels) / n_levels)
    y = np.searchsorted(thresholds, severity, side="right").astype(np.int64)
    X, X_priv = _views(latent, groups, n_features, n_priv_features, noise, priv_noise,
                       subject_effect, rng)
    return X, X_priv, y, groups


def make_privileged_valence_arousal(
    n_subjects=8,
    n_samples_per_subject=75,
    n_features=20,
    n_priv_features=8,
    n_latent=4,
    noise=1.0,
    priv_noise=0.1,
    subject_effect=0.5,
    target_noise=0.1,
    random_state=None,
):
    """Valence and arousal in [-1, 1] with a privileged view, grouped by subject.

    Affective-computing style continuous targets. The latent state is
    standard normal, ``h_i ~ N(0, I)``, and is read out along two unit
    directions ``w_v`` (valence) and ``w_a`` (arousal) whose cosine is
    ``rho = 0.3``: ``w_a = rho w_v + sqrt(1 - rho^2) u`` with ``u`` a random
    unit vector orthogonal to ``w_v``. So the two read-outs ``h_i . w_v`` and
    ``h_i . w_a`` are standard normal with correlation exactly ``rho``, and::

        valence_i = clip(tanh(h_i . w_v) + N(0, target_noise^2), -1, 1)
        arousal_i = clip(tanh(h_i . w_a) + N(0, target_noise^2), -1, 1)

    The saturating ``tanh`` and the target noise shrink the correlation a
    little: with the default ``target_noise=0.1`` the population correlation
    of the two columns is about 0.27, and a sample of a few hundred rows
    typically lands within 0.15 .. 0.45 (mildly positive, as often reported
    for valence and arousal). The two views follow the generative model of
    :mod:`pkdot_sk.datasets`.

    Parameters
    ----------
    n_subjects, n_samples_per_subject, n_features, n_priv_features,
    noise, priv_noise, subject_effect, random_state
        As in :func:`make_privileged_classification`.
    n_latent : int, default=4
        Dimension of the latent state; at least 2, so that valence and
        arousal can point in different directions.
    target_noise : float, default=0.1
        Standard deviation of the noise added to each target before clipping.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
    X_priv : ndarray of shape (n_samples, n_priv_features)
    y : ndarray of shape (n_samples, 2), columns valence and arousal, in [-1, 1]
    groups : ndarray of shape (n_samples,), subject index of each row
    """
    _check_views(n_subjects, n_samples_per_subject, n_features, n_priv_features, n_latent,
                 noise, priv_noise, subject_effect, min_latent=2)
    _check_non_negative(target_noise, "target_noise")
    rng = check_random_state(random_state)
    groups = _subject_groups(n_subjects, n_samples_per_subject)
    latent = rng.normal(size=(groups.size, n_latent))
    valence_dir = _unit_vector(n_latent, rng)
    other = _unit_vector(n_latent, rng)
    other -= (other @ valence_dir) * valence_dir
    other /= np.linalg.norm(other)
    rho = _VALENCE_AROUSAL_CORRELATION
    arousal_dir = rho * valence_dir + np.sqrt(1.0 - rho ** 2) * other
    y = np.tanh(latent @ np.column_stack([valence_dir, arousal_dir]))
    y += rng.normal(scale=target_noise, size=y.shape)
    np.clip(y, -1.0, 1.0, out=y)
    X, X_priv = _views(latent, groups, n_features, n_priv_features, noise, priv_noise,
                       subject_effect, rng)
    return X, X_priv, y, groups
