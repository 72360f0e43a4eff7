import sys

import numpy as np
import pytest
from sklearn.datasets import load_digits

from pkdot_sk.datasets import load_basic_motions, load_pooled_digits


def test_pooled_digits_shapes_dtypes_and_labels():
    X, X_priv, y = load_pooled_digits()
    assert X.shape == (1797, 16) and X_priv.shape == (1797, 64) and y.shape == (1797,)
    assert X.dtype == np.float64 and X_priv.dtype == np.float64
    assert np.issubdtype(y.dtype, np.integer)
    np.testing.assert_array_equal(np.unique(y), np.arange(10))


def test_pooled_digits_is_a_2x2_average_of_the_privileged_image():
    X, X_priv, _ = load_pooled_digits()
    image = load_digits().images[5]
    np.testing.assert_array_equal(X_priv[5], image.ravel())
    expected = [
        (image[2 * i, 2 * j] + image[2 * i, 2 * j + 1]
         + image[2 * i + 1, 2 * j] + image[2 * i + 1, 2 * j + 1]) / 4
        for i in range(4) for j in range(4)
    ]
    np.testing.assert_allclose(X[5], expected)


@pytest.fixture(scope="module")
def motions_3d():
    sktime_datasets = pytest.importorskip("sktime.datasets")
    series, _ = sktime_datasets.load_basic_motions(return_type="numpy3D")
    return series


def test_basic_motions_summary_shapes_labels_and_swap(motions_3d):
    X, X_priv, y = load_basic_motions()
    assert X.shape == (80, 36) and X_priv.shape == (80, 36) and y.shape == (80,)
    assert X.dtype == np.float64 and np.isfinite(X).all() and np.isfinite(X_priv).all()
    labels, counts = np.unique(y, return_counts=True)
    assert set(labels) == {"standing", "walking", "running", "badminton"}
    assert (counts == 20).all()
    X_acc, X_priv_acc, y_acc = load_basic_motions(regular="accelerometer")
    np.testing.assert_array_equal(X_acc, X_priv)
    np.testing.assert_array_equal(X_priv_acc, X)
    np.testing.assert_array_equal(y_acc, y)
    # Column 12 * c holds the mean of channel c: gyroscope is channels 3-5.
    np.testing.assert_allclose(X[:, 0], motions_3d[:, 3].mean(axis=1))
    np.testing.assert_allclose(X_priv[:, 12], motions_3d[:, 1].mean(axis=1))


def test_basic_motions_band_powers_add_up_to_the_variance():
    pytest.importorskip("sktime")
    X, _, _ = load_basic_motions()
    for channel in range(3):
        block = X[:, 12 * channel:12 * (channel + 1)]
        np.testing.assert_allclose(block[:, 8:].sum(axis=1), block[:, 1] ** 2)


def test_basic_motions_raw(motions_3d):
    X, X_priv, _ = load_basic_motions(features="raw")
    assert X.shape == (80, 300) and X_priv.shape == (80, 300)
    np.testing.assert_array_equal(X, motions_3d[:, 3:].reshape(80, 300))
    np.testing.assert_array_equal(X_priv, motions_3d[:, :3].reshape(80, 300))


def test_basic_motions_series(motions_3d):
    X, X_priv, y = load_basic_motions(features="series")
    assert X.shape == (80, 100, 3) and X_priv.shape == (80, 100, 3) and y.shape == (80,)
    assert X.dtype == np.float64 and X.flags.c_contiguous
    # X[i, t, c] is gyroscope channel c (channel 3 + c of the recording) at step t.
    np.testing.assert_array_equal(X, motions_3d[:, 3:].transpose(0, 2, 1))
    np.testing.assert_array_equal(X_priv, motions_3d[:, :3].transpose(0, 2, 1))
    X_raw, _, _ = load_basic_motions(features="raw")
    np.testing.assert_array_equal(X.transpose(0, 2, 1).reshape(80, 300), X_raw)
    X_acc, _, _ = load_basic_motions(regular="accelerometer", features="series")
    np.testing.assert_array_equal(X_acc, X_priv)


@pytest.mark.parametrize("kwargs, name", [
    (dict(regular="magnetometer"), "regular"),
    (dict(regular="Gyroscope"), "regular"),
    (dict(features="fft"), "features"),
    (dict(features=None), "features"),
])
def test_basic_motions_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        load_basic_motions(**kwargs)


def test_basic_motions_without_sktime_names_the_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "sktime", None)
    monkeypatch.setitem(sys.modules, "sktime.datasets", None)
    with pytest.raises(ImportError, match="pip install sktime"):
        load_basic_motions()
