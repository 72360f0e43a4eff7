"""Bad input: one clear ValueError naming the argument."""

import numpy as np
import pytest

from pkdot_sk import PKDOTStudent, PrivilegedTeacher

TINY = dict(max_epochs=1, random_state=0)


@pytest.fixture
def data(clf_data):
    X, X_priv, y, _ = clf_data
    return X.copy(), X_priv.copy(), y.copy()


@pytest.mark.parametrize("Estimator", [PKDOTStudent, PrivilegedTeacher])
def test_row_counts_must_agree(Estimator, data):
    X, X_priv, y = data
    with pytest.raises(ValueError, match="X_priv has 119 rows but X has 120"):
        Estimator(**TINY).fit(X, y, X_priv=X_priv[:-1])
    with pytest.raises(ValueError, match="y has 119 rows but X has 120"):
        Estimator(**TINY).fit(X, y[:-1], X_priv=X_priv)


@pytest.mark.parametrize("Estimator", [PKDOTStudent, PrivilegedTeacher])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_values_are_rejected(Estimator, data, bad):
    X, X_priv, y = data
    X_bad = X.copy()
    X_bad[3, 1] = bad
    with pytest.raises(ValueError, match="Input X contains"):
        Estimator(**TINY).fit(X_bad, y, X_priv=X_priv)
    X_priv_bad = X_priv.copy()
    X_priv_bad[0, 0] = bad
    with pytest.raises(ValueError, match="Input X_priv contains"):
        Estimator(**TINY).fit(X, y, X_priv=X_priv_bad)


@pytest.mark.parametrize("Estimator", [PKDOTStudent, PrivilegedTeacher])
def test_wrong_number_of_dimensions(Estimator, data):
    X, X_priv, y = data
    with pytest.raises(ValueError, match="X must be a 2-D array"):
        Estimator(**TINY).fit(X[:, 0], y, X_priv=X_priv)
    # 3-D arrays are sequences (tests/test_sequences.py); 4-D is refused.
    with pytest.raises(ValueError, match="X must be a 2-D array"):
        Estimator(**TINY).fit(X[:, :, None, None], y, X_priv=X_priv)
    with pytest.raises(ValueError, match="X_priv must be a 2-D array"):
        Estimator(**TINY).fit(X, y, X_priv=X_priv[:, 0])


@pytest.mark.parametrize("params, name", [
    (dict(anchors="random"), "anchors"),
    (dict(task="ranking"), "task"),
    (dict(top_k=0), "top_k"),
    (dict(top_k=-3), "top_k"),
    (dict(ot_reg=0.0), "ot_reg"),
    (dict(ot_reg=-0.01), "ot_reg"),
    (dict(ot_warmup=-1), "ot_warmup"),
    (dict(ot_warmup=2.5), "ot_warmup"),
    (dict(ot_center="yes"), "ot_center"),
    (dict(distillation="magic"), "distillation"),
    (dict(max_epochs=0), "max_epochs"),
    (dict(lr=0), "lr"),
])
def test_bad_parameters_name_themselves(params, name, data):
    X, X_priv, y = data
    with pytest.raises(ValueError, match=f"'{name}' parameter of PKDOTStudent must be"):
        PKDOTStudent(**{**TINY, **params}).fit(X, y, X_priv=X_priv)


def test_predict_checks_feature_count(data):
    X, X_priv, y = data
    student = PKDOTStudent(**TINY).fit(X, y, X_priv=X_priv)
    with pytest.raises(ValueError, match="features"):
        student.predict(X[:, :3])
