"""The estimators' array inputs (pkdot_sk/_inputs.py): what is read as an
array, what is refused with an error naming the argument."""

import numpy as np
import pandas as pd
import pytest
import torch

from helpers import ONE_EPOCH
from pkdot_sk import PKDOTStudent, PrivilegedTeacher


@pytest.fixture
def data(clf_data):
    X, X_priv, y, _ = clf_data
    return X.copy(), X_priv.copy(), y.copy()


def _predictions(estimator, X, X_priv):
    if isinstance(estimator, PrivilegedTeacher):
        return estimator.predict_proba(X, X_priv)
    return estimator.predict_proba(X)


@pytest.mark.parametrize("Estimator", [PKDOTStudent, PrivilegedTeacher])
@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")  # np.matrix itself
@pytest.mark.parametrize("convert", [torch.from_numpy, np.asmatrix],
                         ids=["torch tensor", "np.matrix"])
def test_tensors_and_matrices_fit_and_predict_as_their_arrays(Estimator, convert, data):
    # A tensor crashed in the dtype check ("'torch.dtype' object has no
    # attribute 'kind'"); np.matrix got scikit-learn's error, naming no argument.
    X, X_priv, y = data
    plain = Estimator(**ONE_EPOCH).fit(X, y, X_priv=X_priv)
    converted = Estimator(**ONE_EPOCH).fit(convert(X), y, X_priv=convert(X_priv))
    np.testing.assert_array_equal(_predictions(converted, convert(X), convert(X_priv)),
                                  _predictions(plain, X, X_priv))


def test_a_target_tensor_is_read_as_its_array(data):
    X, X_priv, y = data
    plain = PrivilegedTeacher(**ONE_EPOCH).fit(X, y, X_priv=X_priv)
    tensor = PrivilegedTeacher(**ONE_EPOCH).fit(X, torch.from_numpy(y), X_priv=X_priv)
    np.testing.assert_array_equal(tensor.classes_, plain.classes_)


@pytest.mark.parametrize("Estimator", [PKDOTStudent, PrivilegedTeacher])
@pytest.mark.parametrize("dtype", ["datetime64[s]", "timedelta64[ms]"])
def test_dates_and_durations_are_refused(Estimator, dtype, data):
    # They were read as numbers (seconds since 1970): a constant model, no word.
    X, X_priv, y = data
    with pytest.raises(TypeError, match=r"^X holds dates or durations"):
        Estimator(**ONE_EPOCH).fit(X.astype(np.int64).astype(dtype), y, X_priv=X_priv)
    frame = pd.DataFrame(X_priv, columns=[f"p{i}" for i in range(X_priv.shape[1])])
    frame["start"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(np.arange(len(X)), "s")
    with pytest.raises(TypeError, match=r"^columns \['start'\] of X_priv hold dates"):
        Estimator(**ONE_EPOCH).fit(X, y, X_priv=frame)


@pytest.fixture(scope="module")
def fitted(clf_data):
    X, X_priv, y, _ = clf_data
    return (PKDOTStudent(**ONE_EPOCH).fit(X, y, X_priv=X_priv),
            PrivilegedTeacher(**ONE_EPOCH).fit(X, y, X_priv=X_priv))


@pytest.mark.parametrize("which", ["student", "teacher"])
def test_score_names_a_bad_y_or_sample_weight(which, fitted, clf_data):
    X, X_priv, y, _ = clf_data
    estimator = fitted[which == "teacher"]
    priv = {} if which == "student" else {"X_priv": X_priv}

    def score(y, sample_weight=None):
        return estimator.score(X, y, sample_weight=sample_weight, **priv)

    with pytest.raises(ValueError, match="y has 119 rows but X has 120"):
        score(y[:-1])
    with pytest.raises(ValueError, match=r"sample_weight has shape \(119,\); expected \(120,\)"):
        score(y, np.ones(119))
    with pytest.raises(TypeError, match="sample_weight has values that are not numbers"):
        score(y, np.array(["a"] * 120))
    with pytest.raises(ValueError, match="sample_weight has negative or non-finite values"):
        score(y, np.full(120, -1.0))
    # Weights that are all equal leave the score as it is; a scalar is one per row.
    assert score(y, np.full(120, 3.0)) == pytest.approx(score(y))
    assert score(y, 2.0) == pytest.approx(score(y))


def test_x_priv_passed_to_the_students_score_is_explained(fitted, clf_data):
    X, X_priv, y, _ = clf_data
    with pytest.raises(ValueError, match="PKDOTStudent.score takes X alone: was X_priv "
                                         "passed as its third argument"):
        fitted[0].score(X, y, X_priv)
