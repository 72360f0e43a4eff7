"""Small real data sets, each split into a regular and a privileged view.

Neither set records subjects, so the loaders return no groups and the
benchmark harness evaluates them with repeated stratified cross-validation
instead of leave-one-subject-out.
"""

import numpy as np
from sklearn.datasets import load_digits

__all__ = ["load_pooled_digits", "load_basic_motions"]

# BasicMotions is sampled at 10 Hz for 10 s (header of the UEA .ts files).
_SAMPLING_HZ = 10.0
# Half-open bands (lo, hi] covering (0, Nyquist]: their powers add up to the variance.
_FFT_BANDS_HZ = ((0.0, 0.5), (0.5, 1.5), (1.5, 3.0), (3.0, 5.0))
_SENSOR_CHANNELS = {"accelerometer": slice(0, 3), "gyroscope": slice(3, 6)}
_FEATURES = ("summary", "raw", "series")


def load_pooled_digits():
    """Handwritten digits: a 4x4 thumbnail as the regular view, 8x8 as privileged.

    The privileged view is scikit-learn's digits image as is (8x8 = 64 pixels,
    intensities 0 to 16); the regular view is the same image average-pooled
    over non-overlapping 2x2 blocks (4x4 = 16 features), so a student sees a
    blurred copy of what the teacher sees.

    There are no subjects, hence no groups: evaluate with repeated stratified
    cross-validation (what the benchmark harness does).

    Returns
    -------
    X : ndarray of shape (1797, 16), dtype float64
        Pooled image, row-major over the 4x4 grid: column ``4 * i + j`` is the
        mean of pixels ``(2i, 2j), (2i, 2j + 1), (2i + 1, 2j), (2i + 1, 2j + 1)``.
    X_priv : ndarray of shape (1797, 64), dtype float64
        Full image, row-major over the 8x8 grid.
    y : ndarray of shape (1797,), dtype int
        Digit, 0 to 9 (about 180 images each).

    References
    ----------
    .. [1] E. Alpaydin and C. Kaynak, "Optical Recognition of Handwritten
       Digits", UCI Machine Learning Repository, 1998,
       https://doi.org/10.24432/C50P49 (the test part of which is
       :func:`sklearn.datasets.load_digits`).
    """
    digits = load_digits()
    images = digits.images.astype(np.float64)
    n_samples = images.shape[0]
    X = images.reshape(n_samples, 4, 2, 4, 2).mean(axis=(2, 4)).reshape(n_samples, 16)
    X_priv = images.reshape(n_samples, 64)
    y = digits.target.astype(int)
    return X, X_priv, y


def _summary_features(series):
    """Per-channel statistics of ``series`` (n, channels, steps) -> (n, channels * 12)."""
    n_samples, _, n_steps = series.shape
    centred = series - series.mean(axis=-1, keepdims=True)
    power = np.abs(np.fft.rfft(centred, axis=-1)) ** 2 / n_steps**2
    # One-sided spectrum: every bin but DC and Nyquist also stands for its mirror.
    power[..., 1:(n_steps + 1) // 2] *= 2
    freqs = np.fft.rfftfreq(n_steps, d=1.0 / _SAMPLING_HZ)
    bands = [power[..., (freqs > lo) & (freqs <= hi)].sum(axis=-1) for lo, hi in _FFT_BANDS_HZ]
    stats = [
        series.mean(axis=-1),
        series.std(axis=-1),
        series.min(axis=-1),
        series.max(axis=-1),
        *np.percentile(series, [10, 50, 90], axis=-1),
        np.abs(np.diff(series, axis=-1)).mean(axis=-1),
        *bands,
    ]
    return np.stack(stats, axis=-1).reshape(n_samples, -1)


def load_basic_motions(regular="gyroscope", features="summary"):
    """BasicMotions activities from a smartwatch: one sensor regular, the other privileged.

    80 recordings (the UEA train and test splits, in that order) of 10 s at
    10 Hz from a watch worn while standing, walking, running or playing
    badminton (20 each). Each recording has 6 channels of 100 steps:
    channels 0-2 are the accelerometer x, y, z and channels 3-5 the gyroscope
    x, y, z. Neither the ``.ts`` header nor sktime's docstring states that
    order (both only say that the watch records a 3D accelerometer and a 3D
    gyroscope, in that order), but the data agree with it: channels 3-5
    average to within 0.11 of zero in every class, as an angular rate must
    when the wrist keeps returning to its pose, while channels 0-2 average up
    to about 5 while running; and while running the median norm is about 17
    for channels 0-2 (plausible in m/s^2 at the wrist) against about 5 for
    channels 3-5 (about 290 deg/s if in rad/s; 17 rad/s would not be).
    Gravity seems to have been removed: every channel averages about 0 while
    standing.

    Requires the optional dependency sktime (``pip install sktime``, or the
    ``benchmarks`` extra of pkdot_sk). There are no subject ids, hence no
    groups: evaluate with repeated stratified cross-validation.

    Parameters
    ----------
    regular : {"gyroscope", "accelerometer"}, default="gyroscope"
        Sensor seen by the student (``X``); the other one is ``X_priv``.
    features : {"summary", "raw", "series"}, default="summary"
        ``"summary"``: 12 statistics per channel, channel-major (columns
        ``12 * c`` to ``12 * c + 11`` for channel ``c`` = x, y, z of the
        sensor), in this order: mean, standard deviation, minimum, maximum,
        10th, 50th and 90th percentiles, mean absolute first difference, and
        the power (squared amplitude of the centred series, so the four add
        up to the variance) in the bands (0, 0.5], (0.5, 1.5], (1.5, 3] and
        (3, 5] Hz. ``"raw"``: the series flattened channel-major (columns
        ``100 * c`` to ``100 * c + 99`` for channel ``c``). ``"series"``: the
        series as sequences, ``X[i, t, c]`` being channel ``c`` at step
        ``t``, the 3-D input the estimators encode with a temporal encoder.

    Returns
    -------
    X : ndarray of shape (80, 36), (80, 300) or (80, 100, 3), dtype float64
        The ``regular`` sensor: summary, raw or series.
    X_priv : ndarray of shape (80, 36), (80, 300) or (80, 100, 3), dtype float64
        The other sensor.
    y : ndarray of shape (80,), dtype str
        Activity: "standing", "walking", "running" or "badminton".

    Raises
    ------
    ValueError
        If ``regular`` or ``features`` is not one of the allowed values.
    ImportError
        If sktime is not installed.

    References
    ----------
    .. [1] A. Bagnall, H. A. Dau, J. Lines, M. Flynn, J. Large, A. Bostrom,
       P. Southam and E. Keogh, "The UEA multivariate time series
       classification archive, 2018", arXiv:1811.00075, 2018.
    .. [2] BasicMotions, UEA & UCR Time Series Classification Repository,
       https://timeseriesclassification.com/description.php?Dataset=BasicMotions
    """
    if regular not in tuple(_SENSOR_CHANNELS):
        raise ValueError(
            f"regular must be one of {list(_SENSOR_CHANNELS)}; got {regular!r}.")
    if features not in _FEATURES:
        raise ValueError(f"features must be one of {list(_FEATURES)}; got {features!r}.")
    try:
        from sktime.datasets import load_basic_motions as _load_sktime
    except ImportError as err:
        raise ImportError(
            "load_basic_motions needs sktime: pip install sktime "
            "(or pip install 'pkdot-sk[benchmarks]')."
        ) from err

    # split=None gives the train split followed by the test split.
    series, y = _load_sktime(split=None, return_type="numpy3D")
    series = np.asarray(series, dtype=np.float64)
    privileged = "accelerometer" if regular == "gyroscope" else "gyroscope"
    views = []
    for sensor in (regular, privileged):
        block = series[:, _SENSOR_CHANNELS[sensor]]
        if features == "summary":
            views.append(_summary_features(block))
        elif features == "series":
            views.append(np.ascontiguousarray(block.transpose(0, 2, 1)))
        else:
            views.append(block.reshape(block.shape[0], -1))
    return views[0], views[1], np.asarray(y, dtype=str)
