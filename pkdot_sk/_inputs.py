"""The estimators' array inputs (X, X_priv, y) read with errors that name the
argument and say what was expected.

Where scikit-learn's estimator checks match a phrase of its own errors
("Complex data not supported", "0 feature(s) (shape=...) while a minimum of
1 is required", "Unknown label type", float()'s TypeError), the message
keeps that phrase and adds the name and the expectation.

They run before scikit-learn's validation, whose generic texts ("Found array
with 0 sample(s)", "could not convert string to float", "Complex data not
supported", "Unknown label type: unknown") do not say which array is wrong,
and before numpy's ("inhomogeneous shape") on ragged lists. Valid inputs pass
unchanged (a list, a torch tensor or an np.matrix becomes an array), so what
scikit-learn then checks and records (finiteness, feature names) is as
before; the checks cost a dtype test
per input, and a conversion only for lists, tensors, matrices and string or
object data.
"""

from collections.abc import Mapping
from numbers import Number

import numpy as np
import torch
from scipy.sparse import issparse
from sklearn.utils.multiclass import type_of_target

# dtype kinds that are not numbers: strings, bytes, objects, void.
_NOT_NUMERIC = set("USOV")
# datetime64 and timedelta64: numbers to numpy, but a model would read
# nanoseconds since 1970 as a feature of scale 1e18.
_TIMES = set("Mm")


def _plain_array(data):
    """A torch tensor as a numpy array (on the CPU, detached) and an
    ``np.matrix`` as the 2-D array it holds; anything else unchanged."""
    if isinstance(data, torch.Tensor):
        return data.detach().cpu().numpy()
    if isinstance(data, np.matrix):
        return np.asarray(data)
    return data


def _check_not_times(data, name):
    """A TypeError naming ``name`` (and the columns) for dates or durations."""
    if hasattr(data, "dtypes") and hasattr(data, "columns"):
        columns = [column for column, dtype in zip(data.columns, data.dtypes)
                   if getattr(dtype, "kind", None) in _TIMES]
        if not columns:
            return
        where = f"columns {columns[:5]!r}{' ...' if len(columns) > 5 else ''} of {name} hold"
    elif getattr(getattr(data, "dtype", None), "kind", None) in _TIMES:
        where = f"{name} holds"
    else:
        return
    raise TypeError(
        f"{where} dates or durations (datetime64 / timedelta64); expected numbers. Convert "
        "them to a meaningful number first (e.g. seconds since the start of each session, "
        "or the hour of the day), or drop them."
    )


def _kinds(data):
    """The dtype kinds of an array, or of a DataFrame's columns."""
    if hasattr(data, "dtypes") and hasattr(data, "columns"):
        return {dtype.kind for dtype in data.dtypes}
    dtype = getattr(data, "dtype", None)
    return {dtype.kind} if dtype is not None else set()


def _as_array(data, name, expected):
    """``np.asarray(data)``; a ragged nested sequence is a ValueError naming ``name``."""
    try:
        return np.asarray(data)
    except ValueError as exc:
        if "inhomogeneous" not in str(exc):
            raise
    lengths = sorted({len(row) for row in data if hasattr(row, "__len__")})
    raise ValueError(
        f"{name} is a ragged nested sequence: its rows have different lengths "
        f"({', '.join(map(str, lengths[:5]))}{', ...' if len(lengths) > 5 else ''}); "
        f"expected {expected}. Pad or resample the rows (or sequences) to one length."
    ) from None


def _position(index, data):
    """Where ``index`` is, in words: row, and column (by name for a DataFrame)."""
    if len(index) == 1:
        return f"row {index[0]}"
    columns = getattr(data, "columns", None)
    column = repr(columns[index[1]]) if columns is not None else index[1]
    rest = "".join(f", index {i} on axis {axis}" for axis, i in enumerate(index[2:], 2))
    return f"row {index[0]}, column {column}{rest}"


def _plain(value):
    """A numpy scalar as the Python value it holds (``'a'``, not ``np.str_('a')``)."""
    return value.item() if isinstance(value, np.generic) else value


def _check_numbers(data, name, advice):
    """An error naming ``name`` at the first entry of ``data`` that is not a
    real number: a ValueError for a string (as ``float("a")`` raises), a
    TypeError for another object (as ``float({})``)."""
    values = np.asarray(data, dtype=object)
    try:
        values.astype(np.float64)  # vectorised: numbers, and numbers as strings
        return
    except (TypeError, ValueError):
        pass
    for index, value in np.ndenumerate(values):
        try:
            float(value)
        except (TypeError, ValueError) as exc:
            raise type(exc)(
                f"{name} has a value that is not a number, {_plain(value)!r} "
                f"({_position(index, data)}): {exc}. Expected numbers; {advice}"
            ) from None


def read_array(data, name, *, n_samples=None):
    """``data`` (X or X_priv) with a clear error for what scikit-learn or numpy
    would reject in their own words.

    Parameters
    ----------
    data : array-like or DataFrame
    name : str
        The argument's name, in the errors.
    n_samples : int or None
        For X_priv, the number of rows of X: a list of per-modality arrays
        with that many rows each is recognised, and a row count that differs
        is reported against X.

    Returns
    -------
    data : ndarray or DataFrame
        ``data`` itself, or the array of a list.
    """
    priv = name == "X_priv"
    expected = (f"one 2-D array or DataFrame of shape (n_samples, n_{'priv_' if priv else ''}"
                "features), or a 3-D array of sequences")
    if issparse(data):
        return data  # scikit-learn says that dense data is required (dok is a dict)
    if isinstance(data, Mapping):
        hint = (" For several privileged modalities, put their columns side by side in one "
                "array (np.hstack) or DataFrame and declare the modalities with the "
                "teacher's priv_groups, e.g. PrivilegedTeacher(priv_groups={'ecg': [0, 1], "
                "'eda': [2]})." if priv else "")
        raise TypeError(f"{name} is a dict ({len(data)} entries); expected {expected}.{hint}")
    data = _plain_array(data)
    if isinstance(data, (list, tuple)):
        if priv and n_samples is not None:
            _check_not_modality_list(data, n_samples)
        data = _as_array(data, name, expected)
    _check_not_times(data, name)
    kinds = _kinds(data)
    if "c" in kinds:
        raise ValueError(
            f"Complex data not supported: {name} has complex values; expected real numbers "
            f"(take np.real, np.abs or np.angle of {name} first)."
        )
    if kinds & _NOT_NUMERIC:
        _check_numbers(data, name, "encode categorical columns as numbers first (e.g. with "
                                   "sklearn.preprocessing.OneHotEncoder or OrdinalEncoder).")
    shape = getattr(data, "shape", ())
    if len(shape) < 2:
        return data  # the number of dimensions is checked by the caller, by name
    if n_samples is not None and shape[0] != n_samples:
        raise ValueError(
            f"{name} has {shape[0]} rows but X has {n_samples}; expected one row of "
            "privileged data per sample of X."
        )
    if shape[0] == 0:
        raise ValueError(f"{name} has 0 samples (shape {tuple(shape)}); expected at least one.")
    if len(shape) == 2 and shape[1] == 0:
        without = " (fit with X_priv=None to train without privileged data)" if priv else ""
        raise ValueError(
            f"{name} has 0 feature(s) (shape={tuple(shape)}) while a minimum of 1 is "
            f"required: expected at least one column{without}."
        )
    return data


def _check_not_modality_list(data, n_samples):
    """A list of per-modality arrays as X_priv: say how to pass them."""
    if len(data) == n_samples or not data:
        return  # one entry per sample: rows, or sequences
    if all(getattr(part, "ndim", 0) == 2 and len(part) == n_samples for part in data):
        widths = [part.shape[1] for part in data]
        raise TypeError(
            f"X_priv is a list of {len(data)} arrays of {n_samples} rows (widths {widths}), "
            "one per privileged modality; expected one array or DataFrame. Put the "
            "modalities side by side, X_priv = np.hstack(arrays), and declare them with "
            "the teacher's priv_groups, e.g. PrivilegedTeacher(priv_groups="
            f"{_groups_example(widths)})."
        )


def _groups_example(widths):
    groups, start = {}, 0
    for i, width in enumerate(widths):
        groups[f"priv_{i}"] = list(range(start, start + width))
        start += width
    return repr(groups)


def _label_kind(value):
    if isinstance(value, (bool, np.bool_)):
        return "bool"
    if isinstance(value, Number):
        return "number"
    if isinstance(value, (str, bytes)):
        return "str"
    return type(value).__name__


def read_targets(y, task):
    """``y`` with a clear error for targets ``task`` (a task object of
    :mod:`._tasks`) cannot train on.

    Labels (classification, ordinal): 1-D, no missing label, one type of
    label, discrete. Regression: 1-D or 2-D numbers.

    Returns
    -------
    y : ndarray or the original array-like
        ``y`` itself, or the array of a list.
    """
    labels = task.has_labels
    expected = ("a 1-D array of one label per sample" if labels
                else "a 1-D array of shape (n_samples,) or 2-D (n_samples, n_outputs)")
    if issparse(y):
        return y
    if isinstance(y, Mapping):
        raise TypeError(f"y is a dict ({len(y)} entries); expected {expected}.")
    y = _plain_array(y)
    _check_not_times(y, "y")
    if isinstance(y, (list, tuple)):
        y = _as_array(y, "y", expected)
    array = np.asarray(y)
    if array.ndim not in (1, 2) or (labels and array.ndim == 2 and array.shape[1] != 1):
        several = " (several outputs need task='regression')" if labels else ""
        raise ValueError(
            f"y has shape {array.shape}; task={task.name!r} expects {expected}{several}."
        )
    if np.iscomplexobj(array):
        raise ValueError("Complex data not supported: y has complex values; expected real "
                         "numbers.")
    if not labels:
        if array.dtype.kind in _NOT_NUMERIC:
            _check_numbers(array, "y", "task='regression' needs numeric targets. For labels "
                                       "use task='classification' (or 'ordinal' for ordered "
                                       "levels).")
        return y
    if array.dtype.kind == "O":
        flat = array.ravel()
        missing = np.flatnonzero([value is None for value in flat])
        if missing.size:
            raise ValueError(
                f"y has missing labels (None) in {missing.size} of its {flat.size} rows, "
                f"e.g. row {missing[0]}; expected a label for every sample (drop those "
                "rows, or give them a label of their own)."
            )
        kinds = {}
        for value in flat:
            kinds.setdefault(_label_kind(value), _plain(value))
        if len(kinds) > 1:
            examples = ", ".join(f"{kind} {value!r}" for kind, value in kinds.items())
            raise ValueError(
                f"Unknown label type: y mixes labels of different types ({examples}); "
                "expected labels of one type, e.g. all strings (y.astype(str)) or all "
                "numbers."
            )
        if "number" in kinds:
            # scikit-learn reads an object array of numbers as of unknown type.
            raise ValueError(
                "Unknown label type: y is an array of dtype object holding numbers (e.g. "
                f"{kinds['number']!r}); expected a numeric array, e.g. y.astype(int), or "
                "strings, y.astype(str)."
            )
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        return y  # scikit-learn's error names y ("Input y contains NaN")
    if type_of_target(array, input_name="y") in ("continuous", "continuous-multioutput"):
        example = next(v for v in array.ravel() if float(v) != int(float(v)))
        raise ValueError(
            f"Unknown label type: y has continuous values (e.g. {_plain(example)!r}), but "
            f"task={task.name!r} needs discrete labels; use task='regression' for a continuous "
            "target, or bin y into classes."
        )
    return y


def read_sample_weight(sample_weight, n_samples, *, hint=""):
    """One finite, non-negative weight per sample as a float64 array (None
    passes through); a scalar is every sample's weight. ``hint`` ends the
    error of a 2-D sample_weight (an array passed in the wrong place)."""
    if sample_weight is None:
        return None
    sample_weight = _plain_array(sample_weight)
    try:
        weights = np.asarray(sample_weight, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(
            "sample_weight has values that are not numbers (e.g. "
            f"{_plain(np.asarray(sample_weight, dtype=object).ravel()[0])!r}); expected one "
            "non-negative number per sample."
        ) from None
    if weights.ndim == 0:
        weights = np.full(n_samples, float(weights))
    if weights.shape != (n_samples,):
        raise ValueError(
            f"sample_weight has shape {weights.shape}; expected ({n_samples},), one weight per "
            f"sample of X.{hint if weights.ndim > 1 else ''}"
        )
    if not np.isfinite(weights).all() or (weights < 0).any():
        raise ValueError("sample_weight has negative or non-finite values; expected finite "
                         "weights >= 0.")
    return weights
