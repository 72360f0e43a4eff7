"""Concordance correlation coefficient: metric, scorer and training loss."""

import pickle
import warnings

import numpy as np
import pytest
import torch
from sklearn.linear_model import Ridge
from sklearn.metrics import get_scorer_names, r2_score
from sklearn.model_selection import GridSearchCV, KFold, LeaveOneGroupOut, cross_val_score

from pkdot_sk.losses import ccc_loss
from pkdot_sk.metrics import ccc_scorer, concordance_correlation_coefficient, get_scorer


def reference_ccc(y_true, y_pred):
    """Independent computation: numpy's biased covariance matrix and Lin's formula."""
    cov = np.cov(y_true, y_pred, bias=True)
    return 2 * cov[0, 1] / (cov[0, 0] + cov[1, 1] + (np.mean(y_true) - np.mean(y_pred)) ** 2)


def noisy_pair(rng, n=50, scale=1.0, shift=0.0, noise=0.5):
    y_true = rng.normal(size=n)
    return y_true, scale * y_true + shift + noise * rng.normal(size=n)


# ------------------------------------------------------------------ metric
@pytest.mark.parametrize("seed", range(5))
def test_matches_reference(seed):
    rng = np.random.RandomState(seed)
    y_true, y_pred = noisy_pair(rng, scale=rng.uniform(0.3, 2), shift=rng.normal())
    assert concordance_correlation_coefficient(y_true, y_pred) == pytest.approx(
        reference_ccc(y_true, y_pred), rel=1e-12
    )


def test_identical_inputs_give_one(rng):
    y = rng.normal(size=30)
    assert concordance_correlation_coefficient(y, y) == pytest.approx(1.0, abs=1e-15)
    assert concordance_correlation_coefficient(y, y.copy(), sample_weight=rng.rand(30)) == (
        pytest.approx(1.0, abs=1e-15)
    )


@pytest.mark.parametrize("scale, shift", [(1.0, 0.8), (0.5, 0.0), (2.0, -1.0)])
def test_below_pearson_under_location_or_scale_bias(rng, scale, shift):
    y_true, y_pred = noisy_pair(rng, scale=scale, shift=shift, noise=0.3)
    pearson = np.corrcoef(y_true, y_pred)[0, 1]
    ccc = concordance_correlation_coefficient(y_true, y_pred)
    assert 0 < ccc < pearson
    # Without bias (scale 1, no shift, no noise) both are 1.
    assert concordance_correlation_coefficient(y_true, y_true + 0.0) == pytest.approx(1.0)


def test_mirrored_prediction_gives_minus_one(rng):
    y_true = rng.normal(size=40)
    y_true -= y_true.mean()
    assert concordance_correlation_coefficient(y_true, -y_true) == pytest.approx(-1.0, abs=1e-12)


def test_constant_columns():
    assert concordance_correlation_coefficient([0.1] * 5, [0.1] * 5) == 1.0
    assert concordance_correlation_coefficient([2.0] * 5, [3.0] * 5) == 0.0
    assert concordance_correlation_coefficient([1.0, 2.0, 3.0], [2.0, 2.0, 2.0]) == 0.0
    assert concordance_correlation_coefficient([2.0, 2.0, 2.0], [1.0, 2.0, 3.0]) == 0.0


def test_multioutput(rng):
    y_true = rng.normal(size=(60, 2))
    y_pred = y_true * [1.0, 0.5] + [0.0, 0.4] + 0.3 * rng.normal(size=(60, 2))
    raw = concordance_correlation_coefficient(y_true, y_pred, multioutput="raw_values")
    assert raw.shape == (2,)
    for j in range(2):
        assert raw[j] == pytest.approx(reference_ccc(y_true[:, j], y_pred[:, j]), rel=1e-12)
    average = concordance_correlation_coefficient(y_true, y_pred)
    assert isinstance(average, float)
    assert average == pytest.approx(raw.mean(), rel=1e-12)
    assert concordance_correlation_coefficient(y_true, y_pred, multioutput=[1, 0]) == (
        pytest.approx(raw[0], rel=1e-12)
    )
    assert concordance_correlation_coefficient(y_true, y_pred, multioutput=[1, 3]) == (
        pytest.approx((raw[0] + 3 * raw[1]) / 4, rel=1e-12)
    )


def test_one_dimensional_and_single_column_agree(rng):
    y_true, y_pred = noisy_pair(rng)
    flat = concordance_correlation_coefficient(y_true, y_pred)
    assert concordance_correlation_coefficient(y_true[:, None], y_pred) == pytest.approx(flat)
    assert concordance_correlation_coefficient(y_true, y_pred[:, None]) == pytest.approx(flat)


def test_sample_weight_equals_repeated_rows(rng):
    y_true = rng.normal(size=(25, 2))
    y_pred = 0.7 * y_true + 0.2 + 0.4 * rng.normal(size=(25, 2))
    counts = rng.randint(0, 4, size=25)
    counts[0] = 1
    weighted = concordance_correlation_coefficient(
        y_true, y_pred, sample_weight=counts, multioutput="raw_values"
    )
    repeated = concordance_correlation_coefficient(
        np.repeat(y_true, counts, axis=0), np.repeat(y_pred, counts, axis=0),
        multioutput="raw_values",
    )
    np.testing.assert_allclose(weighted, repeated, rtol=1e-12)
    # Uniform weights, of any scale, change nothing.
    assert concordance_correlation_coefficient(
        y_true, y_pred, sample_weight=np.full(25, 3.0)
    ) == pytest.approx(concordance_correlation_coefficient(y_true, y_pred), rel=1e-12)


@pytest.mark.parametrize(
    "y_true, y_pred, kwargs, argument",
    [
        ([1.0, 2.0, 3.0], [1.0, 2.0], {}, "y_pred"),
        ([1.0, np.nan, 3.0], [1.0, 2.0, 3.0], {}, "y_true"),
        ([1.0, 2.0, 3.0], [1.0, np.inf, 3.0], {}, "y_pred"),
        ([[1.0, 2.0], [3.0, 4.0]], [[1.0], [2.0]], {}, "y_pred"),
        ([[[1.0]], [[2.0]]], [1.0, 2.0], {}, "y_true"),
        (["a", "b"], [1.0, 2.0], {}, "y_true"),
        ([1.0], [1.0], {}, "y_true"),
        ([], [], {}, "y_true"),
        ([1.0, 2.0, 3.0], [1.0, 2.0, 4.0], {"sample_weight": [1.0, 1.0]}, "sample_weight"),
        ([1.0, 2.0, 3.0], [1.0, 2.0, 4.0], {"sample_weight": [1.0, -1.0, 1.0]}, "sample_weight"),
        ([1.0, 2.0, 3.0], [1.0, 2.0, 4.0], {"sample_weight": [0.0, 0.0, 0.0]}, "sample_weight"),
        ([1.0, 2.0, 3.0], [1.0, 2.0, 4.0], {"sample_weight": [1.0, np.nan, 1.0]}, "sample_weight"),
        ([1.0, 2.0, 3.0], [1.0, 2.0, 4.0], {"multioutput": "variance_weighted"}, "multioutput"),
        ([1.0, 2.0, 3.0], [1.0, 2.0, 4.0], {"multioutput": [0.5, 0.5]}, "multioutput"),
        ([1.0, 2.0, 3.0], [1.0, 2.0, 4.0], {"multioutput": None}, "multioutput"),
    ],
)
def test_bad_input_raises_naming_argument(y_true, y_pred, kwargs, argument):
    with pytest.raises(ValueError, match=argument):
        concordance_correlation_coefficient(y_true, y_pred, **kwargs)


# ------------------------------------------------------------------ scorer
@pytest.fixture
def regression_data(rng):
    X = rng.normal(size=(60, 4))
    y = X @ [1.0, -0.5, 0.2, 0.0] + 0.5 * rng.normal(size=60)
    groups = np.repeat(np.arange(4), 15)
    return X, y, groups


def by_hand(X, y, cv, groups=None, alpha=10.0):
    scores = []
    for train, test in cv.split(X, y, groups):
        model = Ridge(alpha=alpha).fit(X[train], y[train])
        scores.append(concordance_correlation_coefficient(y[test], model.predict(X[test])))
    return np.array(scores)


@pytest.mark.parametrize("scoring", [ccc_scorer, get_scorer("ccc")], ids=["object", "by_name"])
def test_scorer_in_cross_val_score(regression_data, scoring):
    X, y, groups = regression_data
    cv = KFold(5)
    scores = cross_val_score(Ridge(alpha=10.0), X, y, cv=cv, scoring=scoring)
    np.testing.assert_allclose(scores, by_hand(X, y, cv), rtol=1e-12)
    logo = cross_val_score(
        Ridge(alpha=10.0), X, y, groups=groups, cv=LeaveOneGroupOut(), scoring=scoring
    )
    np.testing.assert_allclose(logo, by_hand(X, y, LeaveOneGroupOut(), groups), rtol=1e-12)


def test_scorer_in_grid_search_with_several_metrics(regression_data):
    X, y, groups = regression_data
    alphas = [0.1, 1000.0]
    search = GridSearchCV(
        Ridge(), {"alpha": alphas}, cv=LeaveOneGroupOut(),
        scoring={"ccc": get_scorer("ccc"), "r2": "r2"}, refit="ccc",
    ).fit(X, y, groups=groups)
    expected = [by_hand(X, y, LeaveOneGroupOut(), groups, alpha).mean() for alpha in alphas]
    np.testing.assert_allclose(search.cv_results_["mean_test_ccc"], expected, rtol=1e-12)
    # Heavy shrinkage towards the mean costs CCC: the small alpha wins.
    assert search.best_params_ == {"alpha": 0.1}


def test_get_scorer_delegates_and_does_not_register(regression_data):
    X, y, _ = regression_data
    model = Ridge().fit(X, y)
    assert get_scorer("r2")(model, X, y) == pytest.approx(r2_score(y, model.predict(X)))
    assert get_scorer(None) is None
    assert get_scorer(ccc_scorer) is ccc_scorer
    assert get_scorer("ccc") is not ccc_scorer  # a copy, as scikit-learn returns
    assert "ccc" not in get_scorer_names()
    with pytest.raises(ValueError, match="'ccc'"):
        get_scorer("not_a_metric")


def test_scorer_pickles(regression_data):
    # Needed for n_jobs > 1 with process-based backends.
    X, y, _ = regression_data
    model = Ridge().fit(X, y)
    restored = pickle.loads(pickle.dumps(ccc_scorer))
    assert restored(model, X, y) == ccc_scorer(model, X, y)


# ------------------------------------------------------------------ loss
@pytest.mark.parametrize("shape", [(40,), (40, 1), (40, 3)])
def test_loss_matches_metric(rng, shape):
    y_true = rng.normal(size=shape)
    y_pred = 0.6 * y_true + 0.3 + 0.5 * rng.normal(size=shape)
    loss = ccc_loss(torch.tensor(y_pred), torch.tensor(y_true))
    assert loss.dtype == torch.float64 and loss.ndim == 0
    assert loss.item() == pytest.approx(
        1 - concordance_correlation_coefficient(y_true, y_pred), abs=1e-7
    )
    exact = ccc_loss(torch.tensor(y_pred), torch.tensor(y_true), eps=0.0)
    assert exact.item() == pytest.approx(
        1 - concordance_correlation_coefficient(y_true, y_pred), rel=1e-12
    )


def test_loss_gradient_step_decreases_it(rng):
    y_true = torch.tensor(rng.normal(size=(32, 2)))
    y_pred = (0.3 * y_true + 1.0 + torch.tensor(rng.normal(size=(32, 2)))).requires_grad_()
    loss = ccc_loss(y_pred, y_true)
    loss.backward()
    assert y_pred.grad is not None and torch.isfinite(y_pred.grad).all()
    assert y_pred.grad.abs().sum() > 0
    with torch.no_grad():
        stepped = ccc_loss(y_pred - 0.05 * y_pred.grad, y_true)
    assert stepped < loss


def test_loss_target_is_detached_and_cast(rng):
    y_true = torch.tensor(rng.normal(size=16), requires_grad=True)
    y_pred = torch.tensor(rng.normal(size=16), dtype=torch.float32, requires_grad=True)
    loss = ccc_loss(y_pred, y_true)
    loss.backward()
    assert loss.dtype == torch.float32
    assert y_true.grad is None


def test_loss_degenerate_batches_are_finite():
    one = torch.tensor([0.5], requires_grad=True)
    loss = ccc_loss(one, torch.tensor([1.0]))
    loss.backward()
    assert loss.item() == pytest.approx(1.0) and one.grad.abs().sum() == 0
    constant = torch.full((8, 2), 3.0, requires_grad=True)
    loss = ccc_loss(constant, torch.full((8, 2), 3.0))
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(constant.grad).all()


@pytest.mark.parametrize(
    "pred_shape, true_shape",
    [((8,), (8, 1)), ((8, 2), (8, 3)), ((8,), (7,)), ((2, 2, 2), (2, 2, 2))],
)
def test_loss_shape_mismatch(pred_shape, true_shape):
    with pytest.raises(ValueError, match="same shape"):
        ccc_loss(torch.zeros(pred_shape), torch.zeros(true_shape))


def test_regression_loss_ccc_trains_both_estimators_on_ccc():
    from pkdot_sk import PKDOTStudent, PrivilegedTeacher
    from pkdot_sk.datasets import make_privileged_valence_arousal

    X, X_priv, y, _ = make_privileged_valence_arousal(n_subjects=4, n_samples_per_subject=50,
                                                      random_state=0)
    fast = dict(max_epochs=30, batch_size=64, lr=1e-2, random_state=0)
    teacher = PrivilegedTeacher(task="regression", regression_loss="ccc", **fast)
    # Both students distil (no safeguard): the CCC criterion is what is tested.
    fast["safeguard"] = None
    assert teacher.fit(X, y, X_priv=X_priv).net_.criterion_.__class__.__name__ == "CCCLoss"
    student = PKDOTStudent(task="regression", regression_loss="ccc", **fast).fit(
        X, y, X_priv=X_priv)
    assert student.net_.criterion_.__class__.__name__ == "CCCLoss"
    # The default teacher inherits the student's task loss.
    assert student.teacher_.regression_loss == "ccc"
    # Training on 1 - CCC raises the training CCC well above an untrained net's.
    untrained = PKDOTStudent(task="regression", regression_loss="ccc",
                             **{**fast, "max_epochs": 1}).fit(X, y, X_priv=X_priv)
    trained = concordance_correlation_coefficient(y, student.predict(X))
    assert trained > 0.5
    assert trained > concordance_correlation_coefficient(y, untrained.predict(X)) + 0.2


def test_regression_loss_ccc_needs_regression():
    from pkdot_sk import PKDOTStudent
    from pkdot_sk.datasets import make_privileged_classification

    X, X_priv, y, _ = make_privileged_classification(n_subjects=2, n_samples_per_subject=20,
                                                     random_state=0)
    with pytest.raises(ValueError, match="regression_loss='ccc' needs task='regression'"):
        PKDOTStudent(regression_loss="ccc", max_epochs=1).fit(X, y, X_priv=X_priv)


@pytest.mark.parametrize("scale", [1e-300, 1e-200, 1e-20, 1e20, 1e200, 1e300])
def test_ccc_is_finite_and_scale_free_at_extreme_magnitudes(scale):
    # Squares of values near 1e200 overflow, of values near 1e-200 underflow.
    y_true = np.array([1.0, 2.0, 3.0, 4.5])
    y_pred = np.array([1.2, 1.9, 3.3, 4.0])
    expected = concordance_correlation_coefficient(y_true, y_pred)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        score = concordance_correlation_coefficient(y_true * scale, y_pred * scale,
                                                    sample_weight=[1e300, 1e300, 2e300, 1e300])
    weighted = concordance_correlation_coefficient(y_true, y_pred, sample_weight=[1, 1, 2, 1])
    assert np.isfinite(score) and expected != weighted
    np.testing.assert_allclose(score, weighted, rtol=1e-12)
