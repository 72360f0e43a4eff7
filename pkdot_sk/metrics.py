"""Regression metrics for continuous affect: the concordance correlation coefficient.

The concordance correlation coefficient (CCC) is the usual score for
valence and arousal regression. It rewards predictions that are correlated
with the targets *and* sit on the same scale and offset, where Pearson's r
ignores scale and offset and R^2 is dominated by the targets' variance.

Scikit-learn resolves a string ``scoring`` only against its own scorers and
has no public way to register new names, so a ``"ccc"`` string cannot be
passed to ``cross_val_score`` or ``GridSearchCV`` directly. Pass the scorer
object instead::

    from pkdot_sk.metrics import ccc_scorer, get_scorer

    cross_val_score(model, X, y, scoring=ccc_scorer)
    cross_val_score(model, X, y, scoring=get_scorer("ccc"))
    GridSearchCV(model, grid, scoring={"ccc": ccc_scorer, "r2": "r2"}, refit="ccc")
"""

import copy
from numbers import Real

import numpy as np
from sklearn.metrics import get_scorer as _sklearn_get_scorer
from sklearn.metrics import make_scorer
from sklearn.utils import check_array

__all__ = ["ccc_scorer", "concordance_correlation_coefficient", "get_scorer"]

_MULTIOUTPUT_STRINGS = ("raw_values", "uniform_average")


def _check_target(values, name):
    """2-D float64 copy of a target array; a ValueError names ``name``."""
    try:
        array = check_array(
            values, ensure_2d=False, dtype=np.float64, ensure_min_samples=0, input_name=name
        )
    except (TypeError, ValueError) as error:
        message = str(error)
        if name not in message:
            message = f"{name}: {message}"
        raise ValueError(message) from None
    if array.ndim == 1:
        array = array.reshape(-1, 1)
    return array


def _check_weights(sample_weight, n_samples):
    if isinstance(sample_weight, Real) and not isinstance(sample_weight, bool):
        sample_weight = np.full(n_samples, float(sample_weight))
    try:
        weights = check_array(
            sample_weight, ensure_2d=False, dtype=np.float64, ensure_min_samples=0,
            input_name="sample_weight",
        )
    except (TypeError, ValueError) as error:
        message = str(error)
        if "sample_weight" not in message:
            message = f"sample_weight: {message}"
        raise ValueError(message) from None
    if weights.ndim != 1 or len(weights) != n_samples:
        raise ValueError(
            f"sample_weight must have shape ({n_samples},), one weight per sample; "
            f"got shape {weights.shape}."
        )
    # The largest weight, not the sum: a sum of weights near 1e308 overflows.
    if np.any(weights < 0) or not weights.max() > 0:
        raise ValueError(
            "sample_weight must be non-negative with a positive sum; "
            f"got minimum {weights.min()} and maximum {weights.max()}."
        )
    return weights


def _check_multioutput(multioutput, n_outputs):
    if isinstance(multioutput, str):
        if multioutput not in _MULTIOUTPUT_STRINGS:
            raise ValueError(
                f"multioutput must be one of {_MULTIOUTPUT_STRINGS} or an array of "
                f"{n_outputs} output weight(s); got {multioutput!r}."
            )
        return multioutput
    try:
        weights = np.asarray(multioutput, dtype=np.float64)
    except (TypeError, ValueError):
        weights = None
    if (
        weights is None
        or weights.shape != (n_outputs,)
        or not np.all(np.isfinite(weights))
        or np.any(weights < 0)
        or not weights.sum() > 0
    ):
        raise ValueError(
            f"multioutput must be one of {_MULTIOUTPUT_STRINGS} or an array of "
            f"{n_outputs} non-negative output weight(s) with a positive sum; "
            f"got {multioutput!r}."
        )
    return weights


def concordance_correlation_coefficient(
    y_true, y_pred, *, sample_weight=None, multioutput="uniform_average"
):
    """Concordance correlation coefficient (Lin's CCC) of a regression.

    For each output,

    .. math::

        \\rho_c = \\frac{2 \\sigma_{tp}}
                         {\\sigma_t^2 + \\sigma_p^2 + (\\mu_t - \\mu_p)^2}

    with the means, variances and covariance of the true (``t``) and
    predicted (``p``) values taken over the samples as population moments
    (divided by the number of samples, or by the sum of ``sample_weight``).
    It equals Pearson's correlation multiplied by a penalty, at most 1, for
    differences of location and scale: 1 only when ``y_pred == y_true``,
    -1 when ``y_pred`` mirrors ``y_true`` about their common mean, 0 when
    they are uncorrelated. Greater is better.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Ground-truth target values.
    y_pred : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Predicted values, same shape as ``y_true`` (a 1-D array and a
        single-column array are interchangeable).
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative weights of the samples in every moment. Integer weights
        give the same result as repeating each row that many times. A scalar
        weighs all samples alike.
    multioutput : {"raw_values", "uniform_average"} or array-like of shape \
(n_outputs,), default="uniform_average"
        How the scores of several outputs are combined: "raw_values" returns
        one score per output, "uniform_average" their mean, an array of
        non-negative weights their weighted mean (``[1, 0]`` scores the first
        output alone).

    Returns
    -------
    score : float or ndarray of shape (n_outputs,)
        The CCC in [-1, 1], an array of them if ``multioutput="raw_values"``.

    Raises
    ------
    ValueError
        If an input cannot be read as a finite numeric array, the arrays
        disagree in their number of samples or outputs, there are fewer than
        2 samples, or ``sample_weight`` or ``multioutput`` is invalid. The
        message names the offending argument.

    Notes
    -----
    The denominator is zero only when the true and predicted values of an
    output are both constant and equal to each other; the score of that
    output is then defined as 1.0 (perfect agreement). The values (and the
    weights) are first multiplied by a power of two, an exact operation
    that the CCC ignores, so that the moments neither overflow nor
    underflow: the score is finite for any finite values (near 1e200 or
    1e-200 alike). When only one of the two is constant, or both are
    constant with different values, the covariance is zero and the score is
    0.0 by the formula. A column is treated as constant when all its values with a
    positive weight are equal, so rounding in the mean never makes it look
    variable.

    Pearson's r and the CCC agree only when the predictions have the
    targets' mean and variance; a model whose output is shrunk towards the
    mean, as regularised regressors often are, loses CCC but not r.

    References
    ----------
    .. [1] Lin, L. I.-K. "A concordance correlation coefficient to evaluate
       reproducibility." Biometrics 45(1), 255-268, 1989.

    Examples
    --------
    >>> from pkdot_sk.metrics import concordance_correlation_coefficient
    >>> concordance_correlation_coefficient([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
    1.0
    >>> round(concordance_correlation_coefficient([1.0, 2.0, 3.0], [2.0, 3.0, 4.0]), 4)
    0.5714
    """
    true = _check_target(y_true, "y_true")
    pred = _check_target(y_pred, "y_pred")
    n_samples = true.shape[0]
    if pred.shape != true.shape:
        raise ValueError(
            f"y_pred has {pred.shape[0]} sample(s) of {pred.shape[1]} output(s) but y_true "
            f"has {n_samples} of {true.shape[1]}; expected the same numbers of samples and "
            "outputs."
        )
    if n_samples < 2:
        raise ValueError(
            f"y_true has {n_samples} sample(s); the concordance correlation coefficient "
            "needs at least 2."
        )
    n_outputs = true.shape[1]
    multioutput = _check_multioutput(multioutput, n_outputs)
    if sample_weight is None:
        weights = np.ones(n_samples)
    else:
        weights = _check_weights(sample_weight, n_samples)

    scores = np.array([
        _ccc_column(true[:, j], pred[:, j], weights) for j in range(n_outputs)
    ])
    if isinstance(multioutput, str):
        if multioutput == "raw_values":
            return scores
        return float(scores.mean())
    return float(np.average(scores, weights=multioutput))


def _exact_scale(values):
    """A power of two that brings the largest ``|value|`` into [0.5, 1): a
    product by it is exact, and squares and sums of the scaled values
    neither overflow (values near 1e200) nor underflow (near 1e-200)."""
    largest = float(np.max(np.abs(values))) if values.size else 0.0
    if largest == 0.0:
        return 1.0
    return float(np.ldexp(1.0, -int(np.frexp(largest)[1])))


def _ccc_column(true, pred, weights):
    """CCC of one output (1-D arrays, validated weights)."""
    used = weights > 0
    # The CCC is invariant to one scale applied to both arrays.
    scale = _exact_scale(np.concatenate([true[used], pred[used]]))
    true, pred = true * scale, pred * scale
    weights = weights * _exact_scale(weights)
    total = weights.sum()

    def moments(values):
        if np.all(values[used] == values[used][0]):
            return values[used][0], np.zeros_like(values)
        mean = np.dot(weights, values) / total
        return mean, values - mean

    mean_true, dev_true = moments(true)
    mean_pred, dev_pred = moments(pred)
    var_true = np.dot(weights, dev_true**2) / total
    var_pred = np.dot(weights, dev_pred**2) / total
    covariance = np.dot(weights, dev_true * dev_pred) / total
    denominator = var_true + var_pred + (mean_true - mean_pred) ** 2
    if denominator > 0:
        return 2.0 * covariance / denominator
    both_constant_equal = var_true == 0 and var_pred == 0 and mean_true == mean_pred
    return 1.0 if both_constant_equal else 0.0


#: Scorer for ``scoring=`` arguments (``cross_val_score``, ``GridSearchCV``):
#: the CCC of ``estimator.predict(X)`` averaged over outputs; greater is better.
ccc_scorer = make_scorer(
    concordance_correlation_coefficient, response_method="predict", greater_is_better=True
)


def get_scorer(scoring):
    """Scorer by name, with ``"ccc"`` added to scikit-learn's names.

    Parameters
    ----------
    scoring : str, callable or None
        ``"ccc"`` gives a copy of :data:`ccc_scorer`; anything else is passed
        to :func:`sklearn.metrics.get_scorer` (its names, e.g. ``"r2"``, a
        callable returned as is, or None).

    Returns
    -------
    scorer : callable or None
        A scorer with signature ``scorer(estimator, X, y)``.

    Raises
    ------
    ValueError
        If ``scoring`` is a string that is neither ``"ccc"`` nor a
        scikit-learn scorer name.

    Notes
    -----
    Scikit-learn looks string names up in its own table, which has no public
    way to add entries, so ``scoring="ccc"`` is not accepted by
    ``cross_val_score`` or ``GridSearchCV``: pass ``get_scorer("ccc")`` (or
    ``ccc_scorer``), or a dict such as ``{"ccc": ccc_scorer, "r2": "r2"}`` for
    several metrics. This function does not modify scikit-learn's table.

    Examples
    --------
    >>> from sklearn.linear_model import Ridge
    >>> from sklearn.model_selection import cross_val_score
    >>> from pkdot_sk.metrics import get_scorer
    >>> X, y = [[0.0], [1.0], [2.0], [3.0], [4.0], [5.0]], [0.1, 1.0, 2.2, 2.9, 4.1, 5.0]
    >>> scores = cross_val_score(Ridge(), X, y, cv=2, scoring=get_scorer("ccc"))
    """
    if isinstance(scoring, str) and scoring == "ccc":
        return copy.deepcopy(ccc_scorer)
    try:
        return _sklearn_get_scorer(scoring)
    except ValueError:
        if not isinstance(scoring, str):
            raise
        raise ValueError(
            f"scoring={scoring!r} is not a valid scorer name: use 'ccc' or one of "
            "sklearn.metrics.get_scorer_names()."
        ) from None
