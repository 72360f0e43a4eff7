"""Sequences: 3-D X and X_priv of shape (n_samples, n_steps, n_features)."""

import pickle
import warnings

import numpy as np
import pytest
import sklearn
import torch
from sklearn.model_selection import GridSearchCV, LeaveOneGroupOut, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from helpers import DISTIL, FAST
from pkdot_sk import PKDOTStudent, PrivilegedDataWarning, PrivilegedTeacher
from pkdot_sk.modules import GRUEncoder, MLPEncoder, TemporalConvEncoder

N_STEPS, N_PRIV_STEPS = 8, 5


@pytest.fixture(scope="module")
def seq_data(clf_data):
    """clf_data's rows held over steps with noise: X (120, 8, 6), X_priv (120, 5, 3)."""
    X, X_priv, y, groups = clf_data
    rng = np.random.RandomState(0)
    X_seq = X[:, None, :] + 0.3 * rng.normal(size=(len(X), N_STEPS, X.shape[1]))
    X_priv_seq = X_priv[:, None, :] + 0.1 * rng.normal(size=(len(X), N_PRIV_STEPS,
                                                              X_priv.shape[1]))
    return X_seq, X_priv_seq, y, groups


def _trend_data(n=80, n_steps=10, seed=0):
    """Class 1 rises, class 0 falls through the same values: only the order tells them apart.

    Feature 0 is a ramp from -1 to 1 (or 1 to -1) plus a per-sample offset
    and noise; feature 1 is noise. Per-feature statistics pooled over the
    steps (mean, spread, extremes) have the same distribution in both classes.
    """
    rng = np.random.RandomState(seed)
    y = np.arange(n) % 2
    ramp = np.linspace(-1.0, 1.0, n_steps)
    trend = np.where(y[:, None] == 1, ramp, ramp[::-1])
    X = np.stack([trend + rng.normal(size=(n, 1)) + 0.2 * rng.normal(size=(n, n_steps)),
                  rng.normal(size=(n, n_steps))], axis=-1)
    return X, y


def _encoders(net):
    module = net.module_
    return [module.encoder] + list(getattr(module, "priv_encoders", []))


# ------------------------------------------------------------------ fitting
def test_teacher_and_student_fit_sequences_with_different_lengths(seq_data):
    X, X_priv, y, _ = seq_data
    student = PKDOTStudent(**DISTIL).fit(X, y, X_priv=X_priv)
    assert student.distilled_
    teacher = student.teacher_
    assert [type(e) for e in _encoders(teacher.net_)] == [TemporalConvEncoder] * 2
    assert type(student.net_.module_.encoder) is TemporalConvEncoder
    # n_features_in_ counts features per step; n_steps_in_ the steps.
    assert (student.n_features_in_, student.n_steps_in_) == (6, N_STEPS)
    assert (teacher.n_features_in_, teacher.n_steps_in_) == (6, N_STEPS)
    assert (teacher.n_priv_features_in_, teacher.n_priv_steps_in_) == (3, N_PRIV_STEPS)
    assert not hasattr(student, "feature_names_in_")
    pred = student.predict(X)
    assert pred.shape == y.shape and set(pred) <= set(y)
    np.testing.assert_allclose(student.predict_proba(X).sum(axis=1), 1.0, rtol=1e-6)
    assert teacher.transform(X, X_priv).shape == (len(X), teacher.embedding_dim_)
    assert teacher.predict(X, X_priv).shape == y.shape


@pytest.mark.parametrize("x_is_seq", [True, False], ids=["3d-X_2d-priv", "2d-X_3d-priv"])
def test_one_modality_sequential_the_other_tabular(clf_data, seq_data, x_is_seq):
    X2, X_priv2, y, _ = clf_data
    X3, X_priv3, _, _ = seq_data
    X, X_priv = (X3, X_priv2) if x_is_seq else (X2, X_priv3)
    teacher = PrivilegedTeacher(**FAST).fit(X, y, X_priv=X_priv)
    expected = [TemporalConvEncoder, MLPEncoder] if x_is_seq else [MLPEncoder, TemporalConvEncoder]
    assert [type(e) for e in _encoders(teacher.net_)] == expected
    assert teacher.n_steps_in_ == (N_STEPS if x_is_seq else None)
    assert teacher.n_priv_steps_in_ == (None if x_is_seq else N_PRIV_STEPS)
    assert teacher.predict(X, X_priv).shape == y.shape
    student = PKDOTStudent(**FAST).fit(X, y, X_priv=X_priv)
    assert type(student.net_.module_.encoder) is expected[0]
    assert student.predict(X).shape == y.shape


def test_regression_and_float32_sequences(seq_data, reg_data):
    _, _, y, _ = reg_data
    X, X_priv, _, _ = seq_data
    student = PKDOTStudent(task="regression", **FAST).fit(
        X.astype(np.float32), y, X_priv=X_priv.astype(np.float32))
    assert student.predict(X).shape == y.shape


def test_standardisation_per_feature_over_samples_and_steps(seq_data):
    X, X_priv, y, _ = seq_data
    teacher = PrivilegedTeacher(**FAST).fit(X, y, X_priv=X_priv)
    np.testing.assert_allclose(teacher.x_scaler_.mean_, X.reshape(-1, 6).mean(axis=0))
    np.testing.assert_allclose(teacher.x_scaler_.scale_, X.reshape(-1, 6).std(axis=0))
    np.testing.assert_allclose(teacher.priv_scaler_.mean_, X_priv.reshape(-1, 3).mean(axis=0))
    scaled = teacher._inputs(X, X_priv)["x"]
    assert scaled.shape == X.shape and scaled.dtype == np.float32
    np.testing.assert_allclose(scaled.reshape(-1, 6).mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(scaled.reshape(-1, 6).std(axis=0), 1, atol=1e-4)


def test_refit_switches_between_tabular_and_sequences(clf_data, seq_data):
    X2, X_priv2, y, _ = clf_data
    X3, X_priv3, _, _ = seq_data
    teacher = PrivilegedTeacher(**FAST).fit(X3, y, X_priv=X_priv3)
    teacher.fit(X2, y, X_priv=X_priv2)
    assert teacher.n_steps_in_ is None and teacher.n_priv_steps_in_ is None
    assert teacher.n_features_in_ == 6
    assert [type(e) for e in _encoders(teacher.net_)] == [MLPEncoder] * 2
    teacher.fit(X3, y, X_priv=X_priv3)
    assert teacher.n_steps_in_ == N_STEPS


def test_custom_module_on_sequences(seq_data):
    X, X_priv, y, _ = seq_data
    gru = GRUEncoder(6, hidden_units=(16,), embedding_dim=8)
    student = PKDOTStudent(module=gru, **FAST).fit(X, y, X_priv=X_priv)
    assert type(student.net_.module_.encoder) is GRUEncoder
    assert student.net_.module_.encoder is not gru  # copied, never trained in place
    assert student.predict(X).shape == y.shape

    class NoPooling(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = torch.nn.Linear(6, 4)

        def forward(self, x):
            return self.linear(x)  # (batch, steps, 4): not an embedding

    with pytest.raises(ValueError, match=r"module must map a \(batch, 8, 6\) float tensor"):
        PKDOTStudent(module=NoPooling(), distillation="none", **FAST).fit(X, y)


# ------------------------------------------------------- temporal, not pooled
def test_temporal_encoder_reads_the_order_of_steps():
    X, y = _trend_data()
    student = PKDOTStudent(distillation="none", max_epochs=30, batch_size=16,
                           random_state=0).fit(X, y)
    X_test, y_test = _trend_data(n=60, seed=1)
    assert student.score(X_test, y_test) > 0.9
    # Reversing time turns a rise into a fall: the predictions flip.
    assert np.mean(student.predict(X_test[:, ::-1]) != y_test) > 0.9
    # The same values, pooled over time, hold no signal: an MLP on the
    # per-feature mean, std, min and max stays near chance.
    def pooled(S):
        return np.concatenate([S.mean(1), S.std(1), S.min(1), S.max(1)], axis=1)

    mlp = PKDOTStudent(distillation="none", max_epochs=30, batch_size=16,
                       random_state=0).fit(pooled(X), y)
    assert mlp.score(pooled(X_test), y_test) < 0.75


# ----------------------------------------------------------------- bad input
@pytest.mark.parametrize("Estimator", [PKDOTStudent, PrivilegedTeacher])
def test_bad_shapes_at_fit_name_the_argument(Estimator, seq_data):
    X, X_priv, y, _ = seq_data
    with pytest.raises(ValueError, match="X_priv has 119 rows but X has 120"):
        Estimator(**FAST).fit(X, y, X_priv=X_priv[:-1])
    with pytest.raises(ValueError, match="y has 119 rows but X has 120"):
        Estimator(**FAST).fit(X, y[:-1], X_priv=X_priv)
    with pytest.raises(ValueError, match="X must be a 2-D array .* or a 3-D array"):
        Estimator(**FAST).fit(X[..., None], y, X_priv=X_priv)
    with pytest.raises(ValueError, match="X_priv must be a 2-D array .* or a 3-D array"):
        Estimator(**FAST).fit(X, y, X_priv=X_priv[..., None])
    with pytest.raises(ValueError, match="X must be a 2-D array"):
        Estimator(**FAST).fit(X[:, 0, 0], y, X_priv=X_priv)
    with pytest.raises(ValueError, match="X_priv has shape \\(120, 0, 3\\)"):
        Estimator(**FAST).fit(X, y, X_priv=X_priv[:, :0])
    X_bad = X.copy()
    X_bad[3, 2, 1] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        Estimator(**FAST).fit(X_bad, y, X_priv=X_priv)
    X_priv_bad = X_priv.copy()
    X_priv_bad[0, 0, 0] = np.inf
    with pytest.raises(ValueError, match="Input X_priv contains infinity"):
        Estimator(**FAST).fit(X, y, X_priv=X_priv_bad)


def test_student_predict_checks_the_fitted_shape(clf_data, seq_data):
    X, X_priv, y, _ = seq_data
    student = PKDOTStudent(**FAST).fit(X, y, X_priv=X_priv)
    with pytest.raises(ValueError, match="X has 5 features per step, but this PKDOTStudent "
                                         "was fitted with 6"):
        student.predict(X[:, :, :5])
    # Same features, other length: the model was trained on windows of 8
    # steps; a different length is refused rather than silently extrapolated.
    with pytest.raises(ValueError, match="X has 12 steps, .* sequences of 8 steps"):
        student.predict(np.concatenate([X, X[:, :4]], axis=1))
    with pytest.raises(ValueError, match="X is 2-D, but this PKDOTStudent was fitted on "
                                         r"sequences: 3-D X of shape \(n_samples, 8, 6\)"):
        student.predict(X[:, 0])
    with pytest.raises(ValueError, match="X must be a 2-D array .* or a 3-D array"):
        student.predict(X[..., None])
    tabular = PKDOTStudent(**FAST).fit(*clf_data[:1], y, X_priv=clf_data[1])
    with pytest.raises(ValueError, match="X is 3-D \\(sequences\\), but this PKDOTStudent "
                                         "was fitted on 2-D X with 6 features"):
        tabular.predict(X)


def test_teacher_predict_checks_both_fitted_shapes(seq_data):
    X, X_priv, y, _ = seq_data
    teacher = PrivilegedTeacher(**FAST).fit(X, y, X_priv=X_priv)
    with pytest.raises(ValueError, match="X_priv has 2 features per step, but this "
                                         "PrivilegedTeacher was fitted with 3"):
        teacher.predict(X, X_priv[:, :, :2])
    with pytest.raises(ValueError, match="X_priv has 4 steps, .* sequences of 5 steps"):
        teacher.transform(X, X_priv[:, :4])
    with pytest.raises(ValueError, match="X_priv is 2-D, but this PrivilegedTeacher"):
        teacher.predict(X, X_priv[:, 0])
    with pytest.raises(ValueError, match="X has 7 steps"):
        teacher.predict_proba(X[:, :7], X_priv)
    with pytest.raises(ValueError, match="X_priv has 119 rows but X has 120"):
        teacher.predict(X, X_priv[:-1])


# ------------------------------------------------------------------ sklearn
def test_cross_val_score_loso_and_grid_search_on_sequences(seq_data):
    X, X_priv, y, groups = seq_data
    tiny = dict(max_epochs=2, batch_size=32, random_state=0)
    scores = cross_val_score(PKDOTStudent(**tiny), X, y, groups=groups, cv=LeaveOneGroupOut(),
                             params={"X_priv": X_priv})
    assert scores.shape == (4,) and np.all((scores >= 0) & (scores <= 1))
    search = GridSearchCV(PKDOTStudent(safeguard=None, **tiny), {"ot_weight": [0.6, 6.0]},
                          cv=LeaveOneGroupOut())
    search.fit(X, y, groups=groups, X_priv=X_priv)
    assert len(search.cv_results_["params"]) == 2
    assert search.best_estimator_.distilled_
    assert search.best_estimator_.n_steps_in_ == N_STEPS


def test_pipeline_with_a_temporal_step_and_routing_on(seq_data):
    X, X_priv, y, groups = seq_data
    tiny = dict(max_epochs=2, batch_size=32, random_state=0)
    with sklearn.config_context(enable_metadata_routing=True):
        # First differences along time: (n, 8, 6) -> (n, 7, 6).
        pipe = make_pipeline(FunctionTransformer(np.diff, kw_args={"axis": 1}),
                             PKDOTStudent(safeguard=None, **tiny))
        pipe.fit(X, y, X_priv=X_priv)
        assert pipe[-1].distilled_ and pipe[-1].n_steps_in_ == N_STEPS - 1
        scores = cross_val_score(pipe, X, y, cv=LeaveOneGroupOut(),
                                 params={"X_priv": X_priv, "groups": groups})
        assert scores.shape == (4,)
        teacher_scores = cross_val_score(PrivilegedTeacher(**tiny), X, y, cv=LeaveOneGroupOut(),
                                         params={"X_priv": X_priv, "groups": groups})
        assert teacher_scores.shape == (4,)


def test_pickle_round_trip(seq_data):
    X, X_priv, y, _ = seq_data
    student = PKDOTStudent(**FAST).fit(X, y, X_priv=X_priv)
    restored = pickle.loads(pickle.dumps(student))
    np.testing.assert_array_equal(restored.predict_proba(X), student.predict_proba(X))
    assert restored.n_steps_in_ == N_STEPS
    teacher = pickle.loads(pickle.dumps(student.teacher_))
    np.testing.assert_array_equal(teacher.transform(X, X_priv),
                                  student.teacher_.transform(X, X_priv))


def test_fit_without_X_priv_on_sequences_warns(seq_data):
    X, _, y, _ = seq_data
    with pytest.warns(PrivilegedDataWarning):
        teacher = PrivilegedTeacher(**FAST).fit(X, y)
    assert teacher.n_priv_steps_in_ is None and teacher.n_priv_features_in_ == 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert teacher.predict(X).shape == y.shape


def test_privileged_groups_split_the_feature_axis_of_sequences():
    from pkdot_sk.modules import TemporalConvEncoder

    rng = np.random.RandomState(0)
    X = rng.normal(size=(40, 12, 3))
    X_priv = rng.normal(size=(40, 8, 3))
    y = np.repeat([0, 1], 20)
    teacher = PrivilegedTeacher(priv_groups={"ecg": [0, 1], "eda": [2]}, max_epochs=2,
                                batch_size=16, random_state=0).fit(X, y, X_priv=X_priv)
    encoders = teacher.net_.module_.priv_encoders
    assert len(encoders) == 2 and all(isinstance(e, TemporalConvEncoder) for e in encoders)
    # Each modality sees only its own features: changing eda moves only eda's embedding.
    changed = X_priv.copy()
    changed[..., 2] += 5.0
    before = teacher.transform_modalities(X, X_priv)
    after = teacher.transform_modalities(X, changed)
    np.testing.assert_allclose(after[1], before[1])
    assert not np.allclose(after[2], before[2])
