"""Bad input and extreme settings: one clear error naming the argument.

Tables of cases (input -> exception type and a regex the message must
match), then the behaviours around them: a diverging training is stopped,
a fit that raises leaves the estimator as it was.
"""

import copy
import warnings
from collections import namedtuple

import numpy as np
import pandas as pd
import pytest
import torch
from skorch.callbacks import Callback
from skorch.helper import SliceDict
from sklearn.decomposition import PCA
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.utils.validation import check_is_fitted
from torch.utils.data import DataLoader

# One epoch; batch_size is left to the cases that set it.
from helpers import ONE_EPOCH
from pkdot_sk import (PKDOTStudent, PrivilegedDataWarning, PrivilegedTeacher,
                      TrainingDivergedError, losses)
from pkdot_sk._divergence import DivergenceCheck
from pkdot_sk._net import BATCH_LOADING, MergeSingletonLoader, PrivilegedNet
from pkdot_sk._ot import sinkhorn_divergence
from pkdot_sk.losses import pkdot_loss
from pkdot_sk.modules import MLPEncoder, StudentNetwork


@pytest.fixture
def data(clf_data):
    X, X_priv, y, _ = clf_data
    return X.copy(), X_priv.copy(), y.copy()


@pytest.mark.parametrize("Estimator", [PKDOTStudent, PrivilegedTeacher])
def test_row_counts_must_agree(Estimator, data):
    X, X_priv, y = data
    with pytest.raises(ValueError, match="X_priv has 119 rows but X has 120"):
        Estimator(**ONE_EPOCH).fit(X, y, X_priv=X_priv[:-1])
    with pytest.raises(ValueError, match="y has 119 rows but X has 120"):
        Estimator(**ONE_EPOCH).fit(X, y[:-1], X_priv=X_priv)


@pytest.mark.parametrize("Estimator", [PKDOTStudent, PrivilegedTeacher])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_values_are_rejected(Estimator, data, bad):
    X, X_priv, y = data
    X_bad = X.copy()
    X_bad[3, 1] = bad
    with pytest.raises(ValueError, match="Input X contains"):
        Estimator(**ONE_EPOCH).fit(X_bad, y, X_priv=X_priv)
    X_priv_bad = X_priv.copy()
    X_priv_bad[0, 0] = bad
    # NaN marks a modality a row lacks, as a whole (tests/test_modalities.py):
    # one NaN among a modality's values is refused, as is infinity.
    match = ("X_priv has NaN in some but not all values" if np.isnan(bad)
             else "Input X_priv contains")
    with pytest.raises(ValueError, match=match):
        Estimator(**ONE_EPOCH).fit(X, y, X_priv=X_priv_bad)


@pytest.mark.parametrize("Estimator", [PKDOTStudent, PrivilegedTeacher])
def test_wrong_number_of_dimensions(Estimator, data):
    X, X_priv, y = data
    with pytest.raises(ValueError, match="X must be a 2-D array"):
        Estimator(**ONE_EPOCH).fit(X[:, 0], y, X_priv=X_priv)
    # 3-D arrays are sequences (tests/test_sequences.py); 4-D is refused.
    with pytest.raises(ValueError, match="X must be a 2-D array"):
        Estimator(**ONE_EPOCH).fit(X[:, :, None, None], y, X_priv=X_priv)
    with pytest.raises(ValueError, match="X_priv must be a 2-D array"):
        Estimator(**ONE_EPOCH).fit(X, y, X_priv=X_priv[:, 0])


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
        PKDOTStudent(**{**ONE_EPOCH, **params}).fit(X, y, X_priv=X_priv)


def test_predict_checks_feature_count(data):
    X, X_priv, y = data
    student = PKDOTStudent(**ONE_EPOCH).fit(X, y, X_priv=X_priv)
    with pytest.raises(ValueError, match="features"):
        student.predict(X[:, :3])


# ------------------------------------------------------- estimators: the table
DIVERGING = dict(max_epochs=3, batch_size=32, random_state=0)


@pytest.fixture(scope="module")
def frozen_teacher(clf_data):
    X, X_priv, y, _ = clf_data
    return FrozenEstimator(PrivilegedTeacher(**DIVERGING).fit(X, y, X_priv=X_priv))


def _nan_weights(frozen):
    """A frozen teacher that diverged elsewhere: NaN weights."""
    teacher = copy.deepcopy(frozen.estimator)
    with torch.no_grad():
        for parameter in teacher.net_.module_.parameters():
            parameter.fill_(float("nan"))
    return FrozenEstimator(teacher)


def _set(name, row, column, value):
    """Data with one cell of X, X_priv or y replaced."""
    def mutate(X, X_priv, y):
        arrays = {"X": X, "X_priv": X_priv, "y": y.astype(float) if name == "y" else y}
        arrays[name] = arrays[name].copy()
        arrays[name][(row, column) if arrays[name].ndim == 2 else row] = value
        return arrays["X"], arrays["X_priv"], arrays["y"]
    return mutate


def _same(X, X_priv, y):
    return X, X_priv, y


def _with(**changes):
    """Data with X, X_priv or y replaced: ``changes[name](X, X_priv, y)``."""
    def mutate(X, X_priv, y):
        arrays = {"X": X, "X_priv": X_priv, "y": y}
        for name, change in changes.items():
            arrays[name] = change(X, X_priv, y)
        return arrays["X"], arrays["X_priv"], arrays["y"]
    return mutate


def _cell(array, row, column, value):
    """An object copy of ``array`` with one cell replaced."""
    array = array.astype(object)
    array[row, column] = value
    return array


def _priv_frame(X, X_priv, y):
    frame = pd.DataFrame(X_priv, columns=["p0", "p1", "p2"])
    frame["p2"] = frame["p2"].astype(object)
    frame.loc[4, "p2"] = "high"
    return frame


# make(frozen_teacher) -> estimator; mutate(X, X_priv, y) -> the bad data;
# stage: "validation" (rejected before any network is trained), "training"
# (stopped during training) or "predict" (fit on good data, predict on bad).
Case = namedtuple("Case", "make mutate stage error match")
OVERFLOW = (r"^{name} has values that overflow once scaled for the network \(float32\) in "
            r"column\(s\) \[{column}\] \(largest \|value\| {value}\): {why}\. Expected values "
            r"whose scaled float32 form is finite")
VARIANCE = "their variance overflows float64 when standardised"
ESTIMATOR_CASES = {
    # Training that diverges: the message names the estimator, the epoch, lr.
    "teacher lr=1e30": Case(
        lambda t: PrivilegedTeacher(lr=1e30, **DIVERGING), _same, "training",
        TrainingDivergedError,
        r"^PrivilegedTeacher: training diverged at epoch 1, batch \d+: the training loss is "
        r"nan.*Likely causes: the learning rate lr=1e\+30 is too large"),
    "student distillation='none' lr=1e30": Case(
        lambda t: PKDOTStudent(distillation="none", lr=1e30, **DIVERGING), _same, "training",
        TrainingDivergedError,
        r"^PKDOTStudent: training diverged at epoch 1, batch \d+: the training loss is nan"
        r".*lr=1e\+30"),
    # The student's own PKDOT training (its frozen teacher is sound).
    "PKDOT student lr=1e30": Case(
        lambda t: PKDOTStudent(t, lr=1e30, safeguard=None, **DIVERGING), _same, "training",
        TrainingDivergedError,
        r"^PKDOTStudent: training diverged at epoch 1.*lr=1e\+30.*ot_reg=0\.01"),
    # A default teacher shares the student's lr: it diverges first.
    "PKDOT student lr=1e30, default teacher": Case(
        lambda t: PKDOTStudent(lr=1e30, safeguard=None, **DIVERGING), _same, "training",
        TrainingDivergedError,
        r"^PKDOTStudent: its teacher could not be trained\. PrivilegedTeacher: training "
        r"diverged at epoch 1.*lr=1e\+30"),
    "PKDOT student lr=1e30, safeguard": Case(
        lambda t: PKDOTStudent(t, lr=1e30, **DIVERGING), _same, "training",
        TrainingDivergedError,
        r"^PKDOTStudent \(safeguard: the distilled student of inner split 1 of \d\): training "
        r"diverged.*lr=1e\+30"),
    # Finite but exploding: lr=1e6 gives losses of 1e19 and more.
    "teacher lr=1e6": Case(
        lambda t: PrivilegedTeacher(lr=1e6, **DIVERGING), _same, "training",
        TrainingDivergedError,
        r"^PrivilegedTeacher: training diverged at epoch 1.*the training loss reached "
        r"\S+e\+\d\d, more than 1e\+10 times the first batch's.*lr=1e\+06"),
    "PKDOT student lr=1e6": Case(
        lambda t: PKDOTStudent(t, lr=1e6, safeguard=None, **DIVERGING), _same, "training",
        TrainingDivergedError,
        r"^PKDOTStudent: training diverged at epoch 1.*more than 1e\+10 times.*lr=1e\+06"),
    # A teacher that diverged elsewhere, frozen: refused before training.
    "frozen teacher with NaN weights": Case(
        lambda t: PKDOTStudent(_nan_weights(t), safeguard=None, **DIVERGING), _same,
        "validation", ValueError,
        r"^teacher \(FrozenEstimator\) gives non-finite values \(NaN or inf\) on 120 of the "
        r"training rows; expected finite embeddings"),
    # Finite values that overflow once scaled (1e300 passes check_array).
    "student X 1e300": Case(
        lambda t: PKDOTStudent(**DIVERGING), _set("X", 3, 1, 1e300), "validation",
        ValueError, OVERFLOW.format(name="X", column=1, value=r"1e\+300", why=VARIANCE)),
    "student X_priv 1e300": Case(
        lambda t: PKDOTStudent(**DIVERGING), _set("X_priv", 3, 2, -1e300), "validation",
        ValueError, OVERFLOW.format(name="X_priv", column=2, value=r"1e\+300", why=VARIANCE)),
    "teacher X 1e300": Case(
        lambda t: PrivilegedTeacher(**DIVERGING), _set("X", 0, 0, 1e300), "validation",
        ValueError, OVERFLOW.format(name="X", column=0, value=r"1e\+300", why=VARIANCE)),
    "teacher X_priv 1e300": Case(
        lambda t: PrivilegedTeacher(**DIVERGING), _set("X_priv", 3, 1, 1e300), "validation",
        ValueError, OVERFLOW.format(name="X_priv", column=1, value=r"1e\+300", why=VARIANCE)),
    "student X 1e39, standardize=False": Case(
        lambda t: PKDOTStudent(distillation="none", standardize=False, **DIVERGING),
        _set("X", 3, 4, 1e39), "validation", ValueError,
        OVERFLOW.format(name="X", column=4, value=r"1e\+39",
                        why=r"they exceed float32's range \(about 3\.4e38\) with "
                            r"standardize=False")),
    "regression y 1e300": Case(
        lambda t: PKDOTStudent(task="regression", distillation="none", **DIVERGING),
        _set("y", 0, None, 1e300), "validation", ValueError,
        OVERFLOW.format(name="y", column=0, value=r"1e\+300", why=VARIANCE)),
    "student predict X 1e300": Case(
        lambda t: PKDOTStudent(distillation="none", **DIVERGING), _set("X", 3, 1, 1e300),
        "predict", ValueError,
        OVERFLOW.format(name="X", column=1, value=r"1e\+300",
                        why=r"their standardised values exceed float32's range "
                            r"\(about 3\.4e38\)")),
    "teacher predict X_priv 1e300": Case(
        lambda t: PrivilegedTeacher(**DIVERGING), _set("X_priv", 3, 1, 1e300), "predict",
        ValueError,
        OVERFLOW.format(name="X_priv", column=1, value=r"1e\+300",
                        why=r"their standardised values exceed float32's range "
                            r"\(about 3\.4e38\)")),
    # Settings that cannot train: the loss or the term is constant.
    "student ccc batch_size=1": Case(
        lambda t: PKDOTStudent(task="regression", regression_loss="ccc", batch_size=1,
                               distillation="none", **ONE_EPOCH), _same, "validation", ValueError,
        r"^regression_loss='ccc' needs batch_size >= 2: .* constant \(1\) with a zero "
        r"gradient.*got batch_size=1"),
    "teacher ccc batch_size=1": Case(
        lambda t: PrivilegedTeacher(task="regression", regression_loss="ccc", batch_size=1,
                                    **ONE_EPOCH), _same, "validation", ValueError,
        r"^regression_loss='ccc' needs batch_size >= 2"),
    "PKDOT batch_size=1": Case(
        lambda t: PKDOTStudent(batch_size=1, **ONE_EPOCH), _same, "validation", ValueError,
        r"^distillation='pkdot' compares the samples of each mini-batch.*needs "
        r"batch_size >= 2.*got batch_size=1"),
    "rkd batch_size=1": Case(
        lambda t: PKDOTStudent(distillation="rkd", batch_size=1, **ONE_EPOCH), _same,
        "validation", ValueError, r"^distillation='rkd' compares .*batch_size >= 2"),
    "hidden_units=(0,)": Case(
        lambda t: PKDOTStudent(hidden_units=(0,), **ONE_EPOCH), _same, "validation", ValueError,
        r"^The 'hidden_units' parameter of PKDOTStudent must be a tuple or list of positive "
        r"ints.*got \(0,\), where 0 is not"),
    "hidden_units=(64, -3)": Case(
        lambda t: PrivilegedTeacher(hidden_units=(64, -3), **ONE_EPOCH), _same, "validation",
        ValueError, r"^The 'hidden_units' parameter of PrivilegedTeacher must be .*got "
        r"\(64, -3\), where -3 is not"),
    "hidden_units=(2.5,)": Case(
        lambda t: PKDOTStudent(hidden_units=(2.5,), **ONE_EPOCH), _same, "validation", TypeError,
        r"^The 'hidden_units' parameter .*where 2\.5 is not"),
    "hidden_units='64'": Case(
        lambda t: PKDOTStudent(hidden_units="64", **ONE_EPOCH), _same, "validation", ValueError,
        r"^The 'hidden_units' parameter of PKDOTStudent must be an instance of 'tuple' or "
        r"an instance of 'list'"),
    "teacher_weights 3 for one teacher": Case(
        lambda t: PKDOTStudent(teacher_weights=[1, 2, 3], **ONE_EPOCH), _same, "validation",
        ValueError, r"^teacher_weights must hold 1 finite non-negative number\(s\), one for "
        r"the single teacher.*got \[1, 2, 3\]"),
    "teacher_weights 1 for two teachers": Case(
        lambda t: PKDOTStudent([t, t], teacher_weights=[1], **ONE_EPOCH), _same, "validation",
        ValueError, r"^teacher_weights must hold 2 .*each of the 2 teachers"),
    # Arrays that scikit-learn or numpy reject without naming them.
    "X_priv with 0 rows": Case(
        lambda t: PKDOTStudent(**ONE_EPOCH), _with(X_priv=lambda X, P, y: P[:0]), "validation",
        ValueError, r"^X_priv has 0 rows but X has 120; expected one row of privileged data"),
    "X_priv with 0 features": Case(
        lambda t: PrivilegedTeacher(**ONE_EPOCH), _with(X_priv=lambda X, P, y: P[:, :0]),
        "validation", ValueError,
        r"^X_priv has 0 feature\(s\) \(shape=\(120, 0\)\) while a minimum of 1 is required: "
        r"expected at least one column \(fit with X_priv=None"),
    "X with 0 rows": Case(
        lambda t: PKDOTStudent(**ONE_EPOCH),
        _with(X=lambda X, P, y: X[:0], X_priv=lambda X, P, y: P[:0], y=lambda X, P, y: y[:0]),
        "validation", ValueError, r"^X has 0 samples \(shape \(0, 6\)\); expected at least one"),
    "X with 0 features": Case(
        lambda t: PKDOTStudent(**ONE_EPOCH), _with(X=lambda X, P, y: X[:, :0]), "validation",
        ValueError, r"^X has 0 feature\(s\) \(shape=\(120, 0\)\) while a minimum of 1"),
    "3-D y": Case(
        lambda t: PKDOTStudent(task="regression", **ONE_EPOCH),
        _with(y=lambda X, P, y: np.zeros((len(y), 2, 2))), "validation", ValueError,
        r"^y has shape \(120, 2, 2\); task='regression' expects a 1-D array of shape "
        r"\(n_samples,\) or 2-D \(n_samples, n_outputs\)"),
    "2-D labels": Case(
        lambda t: PrivilegedTeacher(**ONE_EPOCH), _with(y=lambda X, P, y: np.column_stack([y, y])),
        "validation", ValueError,
        r"^y has shape \(120, 2\); task='classification' expects a 1-D array of one label "
        r"per sample \(several outputs need task='regression'\)"),
    "complex X": Case(
        lambda t: PKDOTStudent(**ONE_EPOCH), _with(X=lambda X, P, y: X + 1j), "validation",
        ValueError, r"^Complex data not supported: X has complex values; expected real"),
    "complex X_priv": Case(
        lambda t: PrivilegedTeacher(**ONE_EPOCH), _with(X_priv=lambda X, P, y: P * (1 + 2j)),
        "validation", ValueError, r"^Complex data not supported: X_priv has complex values"),
    "complex regression y": Case(
        lambda t: PKDOTStudent(task="regression", **ONE_EPOCH), _with(y=lambda X, P, y: y + 1j),
        "validation", ValueError, r"^Complex data not supported: y has complex values"),
    "a string in X": Case(
        lambda t: PKDOTStudent(**ONE_EPOCH), _with(X=lambda X, P, y: _cell(X, 3, 1, "a")),
        "validation", ValueError,
        r"^X has a value that is not a number, 'a' \(row 3, column 1\): could not convert "
        r"string to float: 'a'\. Expected numbers; encode categorical columns"),
    "a string in a DataFrame X_priv": Case(
        lambda t: PKDOTStudent(**ONE_EPOCH), _with(X_priv=_priv_frame), "validation", ValueError,
        r"^X_priv has a value that is not a number, 'high' \(row 4, column 'p2'\)"),
    "a dict in X": Case(
        lambda t: PrivilegedTeacher(**ONE_EPOCH),
        _with(X=lambda X, P, y: _cell(X, 0, 0, {"foo": "bar"})), "validation", TypeError,
        r"^X has a value that is not a number, \{'foo': 'bar'\} \(row 0, column 0\): float\(\) "
        r"argument must be a string or a real number"),
    "ragged X_priv": Case(
        lambda t: PKDOTStudent(**ONE_EPOCH),
        _with(X_priv=lambda X, P, y: [list(row[:1 + i % 2]) for i, row in enumerate(P)]),
        "validation", ValueError,
        r"^X_priv is a ragged nested sequence: its rows have different lengths \(1, 2\); "
        r"expected one 2-D array or DataFrame of shape \(n_samples, n_priv_features\)"),
    "X_priv as a list of per-modality arrays": Case(
        lambda t: PKDOTStudent(**ONE_EPOCH), _with(X_priv=lambda X, P, y: [P[:, :2], P[:, 2:]]),
        "validation", TypeError,
        r"^X_priv is a list of 2 arrays of 120 rows \(widths \[2, 1\]\), one per privileged "
        r"modality; expected one array or DataFrame\. .*np\.hstack.*priv_groups="
        r"\{'priv_0': \[0, 1\], 'priv_1': \[2\]\}"),
    "X_priv of equal-width modalities": Case(  # np.asarray would make it 3-D
        lambda t: PrivilegedTeacher(**ONE_EPOCH),
        _with(X_priv=lambda X, P, y: [P[:, :1], P[:, 1:2], P[:, 2:]]), "validation",
        TypeError, r"^X_priv is a list of 3 arrays of 120 rows"),
    "X_priv as a dict": Case(
        lambda t: PKDOTStudent(**ONE_EPOCH),
        _with(X_priv=lambda X, P, y: {"ecg": P[:, :2], "eda": P[:, 2:]}), "validation",
        TypeError, r"^X_priv is a dict \(2 entries\); expected one 2-D array or DataFrame.*"
        r"declare the modalities with the teacher's priv_groups"),
    "labels of mixed types": Case(
        lambda t: PKDOTStudent(**ONE_EPOCH),
        _with(y=lambda X, P, y: np.array([1, "a"] * 60, dtype=object)), "validation",
        ValueError, r"^Unknown label type: y mixes labels of different types \(number 1, "
        r"str 'a'\); expected labels of one type"),
    "labels with None": Case(
        lambda t: PrivilegedTeacher(**ONE_EPOCH),
        _with(y=lambda X, P, y: np.array(["a", None] * 60, dtype=object)), "validation",
        ValueError, r"^y has missing labels \(None\) in 60 of its 120 rows, e\.g\. row 1; "
        r"expected a label for every sample"),
    "labels as objects holding numbers": Case(
        lambda t: PKDOTStudent(**ONE_EPOCH), _with(y=lambda X, P, y: y.astype(object)),
        "validation", ValueError, r"^Unknown label type: y is an array of dtype object "
        r"holding numbers \(e\.g\. 0\); expected a numeric array"),
    "continuous labels": Case(
        lambda t: PKDOTStudent(task="ordinal", **ONE_EPOCH), _with(y=lambda X, P, y: y + 0.5),
        "validation", ValueError, r"^Unknown label type: y has continuous values \(e\.g\. "
        r"\d\.5\), but task='ordinal' needs discrete labels; use "
        r"task='regression'"),
    "strings as regression targets": Case(
        lambda t: PKDOTStudent(task="regression", **ONE_EPOCH),
        _with(y=lambda X, P, y: np.array(["low", "high"] * 60)), "validation", ValueError,
        r"^y has a value that is not a number, 'low' \(row 0\): could not convert"
        r".*task='regression' needs numeric targets\. For labels use task='classification'"),
    # Settings found late, by scikit-learn's splitter or by torch.
    "validation_fraction=0.99": Case(
        lambda t: PrivilegedTeacher(validation_fraction=0.99, **ONE_EPOCH), _same, "validation",
        ValueError, r"^validation_fraction=0\.99 holds out 119 of the 120 training rows and "
        r"trains on 1; expected at least 3 on each side \(the split is stratified"),
    "validation_fraction=0.999, regression": Case(
        lambda t: PKDOTStudent(task="regression", distillation="none",
                               validation_fraction=0.999, **ONE_EPOCH), _same, "validation",
        ValueError, r"^validation_fraction=0\.999 holds out 120 of the 120 training rows and "
        r"trains on 0; expected at least 1 on each side\. Use a fraction"),
    "validation_fraction, a class of one row": Case(
        lambda t: PrivilegedTeacher(validation_fraction=0.2, **ONE_EPOCH),
        _with(y=lambda X, P, y: np.where(np.arange(len(y)) == 7, 9, y)), "validation",
        ValueError, r"^validation_fraction=0\.2 needs at least 2 rows of every class for its "
        r"stratified split, but class 9 has 1 of the 120 training rows"),
    "teacher=PrivilegedTeacher, a class": Case(
        lambda t: PKDOTStudent(teacher=PrivilegedTeacher, **ONE_EPOCH), _same, "validation",
        TypeError, r"^teacher is the class PrivilegedTeacher, not an estimator; expected an "
        r"instance, e.g\. teacher=PrivilegedTeacher\(\)"),
    "a class in a teacher list": Case(
        lambda t: PKDOTStudent(teacher=[t, PrivilegedTeacher], **ONE_EPOCH), _same, "validation",
        ValueError, r"^teacher\[1\] is the class PrivilegedTeacher"),
    "teacher=PCA(2)": Case(
        lambda t: PKDOTStudent(teacher=PCA(2), **ONE_EPOCH), _same, "validation", ValueError,
        r"^teacher \(PCA\) does not take privileged data: its fit\(X, y=None\) cannot be "
        r"called as fit\(X, y, X_priv=X_priv\)\. Expected a teacher with"),
    "teacher=FrozenEstimator(PCA)": Case(
        lambda t: PKDOTStudent(teacher=FrozenEstimator(PCA(2)), **ONE_EPOCH), _same, "validation",
        TypeError, r"^teacher \(PCA\) does not take privileged data: its transform\(X\)"),
    "device='bogus'": Case(
        lambda t: PKDOTStudent(device="bogus", **ONE_EPOCH), _same, "validation", ValueError,
        r"^device='bogus' is not a torch device \(.*\); expected e\.g\. 'cpu', 'cuda'"),
    "device='meta'": Case(
        lambda t: PrivilegedTeacher(device="meta", **ONE_EPOCH), _same, "validation", ValueError,
        r"^device='meta' holds shapes but no data"),
}
if not torch.cuda.is_available():
    ESTIMATOR_CASES["device='cuda' without CUDA"] = Case(
        lambda t: PKDOTStudent(device="cuda", **ONE_EPOCH), _same, "validation", ValueError,
        r"^device='cuda' is not available here \(torch\.cuda\.is_available\(\) is False")
    ESTIMATOR_CASES["teacher device='cuda:0' without CUDA"] = Case(
        lambda t: PrivilegedTeacher(device="cuda:0", **ONE_EPOCH), _same, "validation", ValueError,
        r"^device='cuda:0' is not available here")


@pytest.mark.parametrize("case", ESTIMATOR_CASES)
def test_estimator_bad_input(case, data, frozen_teacher, monkeypatch):
    make, mutate, stage, error, match = ESTIMATOR_CASES[case]
    estimator = make(frozen_teacher)
    X, X_priv, y = data
    if stage == "predict":
        estimator.fit(X, y, X_priv=X_priv)
    X_bad, X_priv_bad, y_bad = mutate(X, X_priv, y)
    trained = []
    original_fit = PrivilegedNet.fit
    monkeypatch.setattr(PrivilegedNet, "fit",
                        lambda net, *a, **k: trained.append(net) or original_fit(net, *a, **k))
    with warnings.catch_warnings():
        # One error, not RuntimeWarnings from the scaler or the solver first.
        warnings.simplefilter("error", RuntimeWarning)
        with pytest.raises(error, match=match):
            if stage == "predict":
                if isinstance(estimator, PrivilegedTeacher):
                    estimator.predict(X_bad, X_priv_bad)
                else:
                    estimator.predict(X_bad)
            else:
                estimator.fit(X_bad, y_bad, X_priv=X_priv_bad)
    assert (len(trained) == 0) == (stage != "training")


# ---------------------------------------------------------------- divergence
class _PoisonAfterLastBatch(Callback):
    """Turns a weight to NaN after the batch, as a diverging step would."""

    def on_batch_end(self, net, training=None, **kwargs):
        if training:
            with torch.no_grad():
                next(net.module_.parameters()).view(-1)[0] = float("nan")


def test_divergence_after_the_last_batch_is_caught(data):
    # One batch, one epoch: the loss is finite, the weights are not afterwards.
    X, X_priv, y = data
    teacher = PrivilegedTeacher(max_epochs=1, batch_size=len(X), random_state=0,
                                callbacks=[_PoisonAfterLastBatch()])
    with pytest.raises(TrainingDivergedError, match=r"^PrivilegedTeacher: training diverged "
                       r"at epoch 1: 1 of the network's \d+ parameter and buffer tensors "
                       r"became non-finite"):
        teacher.fit(X, y, X_priv=X_priv)


def test_non_finite_distillation_term_names_its_causes_first(data):
    # A distillation term that is NaN while the task loss is finite.
    X, _, y = data
    check = DivergenceCheck("Owner", ["general cause"], ["term cause"])
    net = PrivilegedNet(
        StudentNetwork(MLPEncoder(X.shape[1], (8,), 4, 0.0), 4, 2),
        criterion=torch.nn.CrossEntropyLoss, max_epochs=2, batch_size=40, callbacks=[check],
        distillation_loss=lambda student, teacher: student.sum() * float("nan"),
        distillation_weight=1.0, **BATCH_LOADING)
    inputs = SliceDict(x=X.astype(np.float32), z_teacher=np.zeros((len(X), 4), np.float32))
    with pytest.raises(TrainingDivergedError,
                       match=r"^Owner: training diverged at epoch 1, batch 1: the training "
                       r"loss is nan \(its distillation term: nan\).*Likely causes: term "
                       r"cause; general cause\.$"):
        net.fit(inputs, (y > 0).astype(np.int64))


@pytest.mark.parametrize("weight", [
    dict(ot_weight=0.0), dict(distillation="rkd", distillation_weight=0.0)])
def test_a_term_of_weight_zero_fits_as_distillation_none(weight, data, monkeypatch):
    # Nothing is distilled: no teacher is fitted, and distilled_ says so.
    X, X_priv, y = data
    fitted = []
    monkeypatch.setattr(PrivilegedTeacher, "fit", lambda *a, **k: fitted.append(a))
    student = PKDOTStudent(**weight, **DIVERGING).fit(X, y, X_priv=X_priv)
    assert not fitted
    assert not student.distilled_ and student.teacher_ is None and student.teachers_ == []
    assert student.safeguard_ is None
    none = PKDOTStudent(distillation="none", **DIVERGING).fit(X, y, X_priv=X_priv)
    np.testing.assert_array_equal(student.predict_proba(X), none.predict_proba(X))


def test_valid_fits_are_not_stopped(data):
    X, X_priv, y = data
    student = PKDOTStudent(lr=1e-2, safeguard=None, **DIVERGING).fit(X, y, X_priv=X_priv)
    assert np.isfinite(student.net_.history[:, "train_loss"]).all()


# ---------------------------------------------------------- exception safety
def _fitted_state(estimator):
    params = estimator.get_params(deep=False)
    return {key: value for key, value in vars(estimator).items() if key not in params}


def _other_data(data):
    """Late-failing refit data: other features, other classes, other rows."""
    X, X_priv, y = data
    return X[:90, :4] * 3.0, X_priv[:90, :2].copy(), np.where(y[:90] == 0, "a", "b")


@pytest.mark.parametrize("failure", ["diverging lr", "overflow found late"])
@pytest.mark.parametrize("make", [
    lambda: PrivilegedTeacher(**DIVERGING),
    lambda: PKDOTStudent(distillation="none", **DIVERGING),
    lambda: PKDOTStudent(safeguard=None, **DIVERGING),
    lambda: PKDOTStudent(**DIVERGING),
], ids=["teacher", "student-none", "student-pkdot", "student-safeguard"])
def test_failed_refit_leaves_the_estimator_as_it_was(make, failure, data):
    # The case: fit(good); fit(bad) raised, then predict_proba gave NaN
    # (new scaler and teacher, old net).
    X, X_priv, y = data
    estimator = make().fit(X, y, X_priv=X_priv)
    args = (X, X_priv) if isinstance(estimator, PrivilegedTeacher) else (X,)
    proba = estimator.predict_proba(*args)
    before = _fitted_state(estimator)
    X_bad, X_priv_bad, y_bad = _other_data(data)
    if failure == "diverging lr":
        estimator.set_params(lr=1e30)  # passes validation, fails in training
        expected = TrainingDivergedError
    else:
        # Passes check_array; found once the targets, features and scalers
        # of the new fit are set (by the student's teacher, when it has one).
        uses_priv = getattr(estimator, "distillation", "pkdot") != "none"
        (X_priv_bad if uses_priv else X_bad)[5, 1] = 1e300
        expected = ValueError
    with pytest.raises(expected):
        estimator.fit(X_bad, y_bad, X_priv=X_priv_bad)
    after = _fitted_state(estimator)
    assert after.keys() == before.keys()
    assert all(after[key] is before[key] for key in before)
    np.testing.assert_array_equal(estimator.predict_proba(*args), proba)


@pytest.mark.parametrize("Estimator", [PKDOTStudent, PrivilegedTeacher])
def test_failed_first_fit_leaves_the_estimator_unfitted(Estimator, data):
    X, X_priv, y = data
    estimator = Estimator(lr=1e30, **DIVERGING)
    params = dict(vars(estimator))
    with pytest.raises(TrainingDivergedError):
        estimator.fit(X, y, X_priv=X_priv)
    assert vars(estimator) == params
    with pytest.raises(NotFittedError):
        check_is_fitted(estimator)


def test_fit_warnings_point_at_the_caller(data):
    X, _, y = data
    with pytest.warns(PrivilegedDataWarning) as record:
        PrivilegedTeacher(**DIVERGING).fit(X, y)
    assert record[0].filename == __file__
    with pytest.warns(PrivilegedDataWarning) as record:
        PKDOTStudent(**DIVERGING).fit(X, y)
    assert record[0].filename == __file__


# ------------------------------------------------------- the loss and solver
def _cloud(n=8, d=4, seed=0):
    return torch.rand(n, d, generator=torch.Generator().manual_seed(seed))


def _with_nan(tensor, value=float("nan")):
    tensor = tensor.clone()
    tensor[2, 1] = value
    return tensor


# (call, expected exception, regex naming the argument and what was expected)
LOSS_CASES = {
    "pkdot_loss NaN student_emb": (
        lambda: pkdot_loss(_with_nan(_cloud()), _cloud(seed=1)), ValueError,
        r"^student_emb has non-finite values \(NaN\) in 1 of its 8 rows; expected finite "
        r"values\. Likely causes: a diverging training"),
    "pkdot_loss inf teacher_emb": (
        lambda: pkdot_loss(_cloud(), _with_nan(_cloud(seed=1), float("inf"))), ValueError,
        r"^teacher_emb has non-finite values \(inf\) in 1 of its 8 rows.*a teacher that "
        r"diverged"),
    "pkdot_loss numpy student_emb": (
        lambda: pkdot_loss(_cloud().numpy(), _cloud(seed=1)), TypeError,
        r"^student_emb must be a floating-point torch\.Tensor.*got a numpy\.ndarray"),
    "pkdot_loss integer teacher_emb": (
        lambda: pkdot_loss(_cloud(), torch.ones(8, 3, dtype=torch.int64)), TypeError,
        r"^teacher_emb must be a floating-point torch\.Tensor.*got a torch\.Tensor of dtype "
        r"torch\.int64"),
    "pkdot_loss reg=inf": (
        lambda: pkdot_loss(_cloud(), _cloud(seed=1), reg=float("inf")), ValueError,
        r"^reg must be a finite positive float; got inf"),
    "pkdot_loss reg=nan": (
        lambda: pkdot_loss(_cloud(), _cloud(seed=1), reg=float("nan")), ValueError,
        r"^reg must be a finite positive float; got nan"),
    "pkdot_loss reg='0.1'": (
        lambda: pkdot_loss(_cloud(), _cloud(seed=1), reg="0.1"), ValueError,
        r"^reg must be a finite positive float; got '0\.1'"),
    "pkdot_loss max_iter=-5": (
        lambda: pkdot_loss(_cloud(), _cloud(seed=1), max_iter=-5), ValueError,
        r"^max_iter must be a positive integer; got -5"),
    "pkdot_loss tol=inf": (
        lambda: pkdot_loss(_cloud(), _cloud(seed=1), tol=float("inf")), ValueError,
        r"^tol must be a finite positive float; got inf"),
    "sinkhorn_divergence NaN x": (
        lambda: sinkhorn_divergence(_with_nan(_cloud()), _cloud(seed=1), 0.1), ValueError,
        r"^x has non-finite values \(NaN\) in 1 of its 8 rows; expected finite values"),
    "sinkhorn_divergence numpy y": (
        lambda: sinkhorn_divergence(_cloud(), _cloud(seed=1).numpy(), 0.1), TypeError,
        r"^y must be a floating-point torch\.Tensor"),
    "sinkhorn_divergence reg=inf": (
        lambda: sinkhorn_divergence(_cloud(), _cloud(seed=1), float("inf")), ValueError,
        r"^reg must be a finite positive float"),
    "sinkhorn_divergence max_iter=-5": (
        lambda: sinkhorn_divergence(_cloud(), _cloud(seed=1), 0.1, max_iter=-5), ValueError,
        r"^max_iter must be a positive integer; got -5"),
    "sinkhorn_divergence inner_iter=0": (
        lambda: sinkhorn_divergence(_cloud(), _cloud(seed=1), 0.1, inner_iter=0), ValueError,
        r"^inner_iter must be a positive integer; got 0"),
    "sinkhorn_divergence tol=0": (
        lambda: sinkhorn_divergence(_cloud(), _cloud(seed=1), 0.1, tol=0.0), ValueError,
        r"^tol must be a finite positive float; got 0\.0"),
    "sinkhorn_divergence decay=1": (
        lambda: sinkhorn_divergence(_cloud(), _cloud(seed=1), 0.1, decay=1.0), ValueError,
        r"^decay must be a float in \(0, 1\); got 1\.0"),
    # The baselines and the CCC loss check their tensors as pkdot_loss does.
    "rkd_loss numpy student_emb": (
        lambda: losses.rkd_loss(_cloud().numpy(), _cloud(seed=1)), TypeError,
        r"^student_emb must be a floating-point torch\.Tensor.*got a numpy\.ndarray"),
    "rkd_loss rows differ": (
        lambda: losses.rkd_loss(_cloud(), _cloud(n=7, seed=1)), ValueError,
        r"^teacher_emb has 7 rows but student_emb has 8; expected the same samples"),
    "similarity_preserving_loss integer teacher_emb": (
        lambda: losses.similarity_preserving_loss(_cloud(), torch.ones(8, 3, dtype=torch.int64)),
        TypeError, r"^teacher_emb must be a floating-point torch\.Tensor.*torch\.int64"),
    "pkt_loss NaN student_emb": (
        lambda: losses.pkt_loss(_with_nan(_cloud()), _cloud(seed=1)), ValueError,
        r"^student_emb has non-finite values \(NaN\) in 1 of its 8 rows; expected finite"),
    "feature_distillation_loss numpy student_projected": (
        lambda: losses.feature_distillation_loss(_cloud().numpy(), _cloud(seed=1)), TypeError,
        r"^student_projected must be a floating-point torch\.Tensor"),
    "logit_kd_loss inf teacher_logits": (
        lambda: losses.logit_kd_loss(_cloud(), _with_nan(_cloud(seed=1), float("inf"))),
        ValueError, r"^teacher_logits has non-finite values \(inf\) in 1 of its 8 rows"),
    "logit_kd_loss temperature=inf": (
        lambda: losses.logit_kd_loss(_cloud(), _cloud(seed=1), temperature=float("inf")),
        ValueError, r"^temperature must be a finite positive float; got inf"),
    "generalized_distillation_loss integer student_output": (
        lambda: losses.generalized_distillation_loss(torch.ones(8, 4, dtype=torch.int64),
                                                     _cloud()),
        TypeError, r"^student_output must be a floating-point torch\.Tensor"),
    "ccc_loss numpy y_pred": (
        lambda: losses.ccc_loss(np.ones(8), torch.ones(8)), TypeError,
        r"^y_pred must be a floating-point torch\.Tensor"),
    "ccc_loss NaN y_true": (
        lambda: losses.ccc_loss(torch.ones(8), _with_nan(_cloud())[:, 1]), ValueError,
        r"^y_true has non-finite values \(NaN\) in 1 of its 8 rows"),
    "ccc_loss eps a string": (
        lambda: losses.ccc_loss(torch.ones(8), torch.ones(8), eps="x"), ValueError,
        r"^eps must be a finite non-negative float; got 'x'"),
    "cosine_similarity_matrix numpy embeddings": (
        lambda: losses.cosine_similarity_matrix(_cloud().numpy()), TypeError,
        r"^embeddings must be a floating-point torch\.Tensor"),
    "cosine_similarity_matrix 1-D embeddings": (
        lambda: losses.cosine_similarity_matrix(_cloud()[0]), ValueError,
        r"^embeddings must have shape \(B, d\); got shape \(\d+,\)"),
    "rkd_loss distance_weight NaN": (
        lambda: losses.rkd_loss(_cloud(), _cloud(seed=1), distance_weight=float("nan")),
        ValueError, r"^distance_weight must be a finite non-negative float; got nan"),
    "rkd_loss angle_weight negative": (
        lambda: losses.rkd_loss(_cloud(), _cloud(seed=1), angle_weight=-1.0),
        ValueError, r"^angle_weight must be a finite non-negative float; got -1\.0"),
    "pkt_loss eps negative": (
        lambda: losses.pkt_loss(_cloud(), _cloud(seed=1), eps=-1.0), ValueError,
        r"^eps must be a finite positive float; got -1\.0"),
    "multi_teacher_loss numpy teachers": (
        lambda: losses.multi_teacher_loss(_cloud(), _cloud(seed=1).numpy(),
                                          loss=losses.rkd_loss, widths=[4], weights=[1.0]),
        TypeError, r"^teachers must be a floating-point torch\.Tensor"),
    "multi_teacher_loss loss not callable": (
        lambda: losses.multi_teacher_loss(_cloud(), _cloud(seed=1), loss="pkdot",
                                          widths=[4], weights=[1.0]),
        TypeError, r"^loss must be a callable loss\(student, teacher\)"),
    "multi_teacher_loss negative width": (
        lambda: losses.multi_teacher_loss(_cloud(), _cloud(seed=1), loss=losses.rkd_loss,
                                          widths=[-3, 7], weights=[1.0, 1.0]),
        ValueError, r"^widths must be non-negative integers; got \(-3, 7\)"),
    "multi_teacher_loss NaN weight": (
        lambda: losses.multi_teacher_loss(_cloud(), _cloud(seed=1), loss=losses.rkd_loss,
                                          widths=[4], weights=[float("nan")]),
        ValueError, r"^weights must be finite non-negative floats; got \(nan,\)"),
    "best_teacher_index numpy teacher_losses": (
        lambda: losses.best_teacher_index(np.ones(3)), TypeError,
        r"^teacher_losses must be a floating-point torch\.Tensor"),
}


@pytest.mark.parametrize("case", LOSS_CASES)
def test_loss_and_solver_bad_input(case):
    call, error, match = LOSS_CASES[case]
    with pytest.raises(error, match=match):
        call()


# -------------------------------------------------------------- the student
def test_student_predicts_from_X_alone(data):
    X, X_priv, y = data
    student = PKDOTStudent(distillation="none", **ONE_EPOCH).fit(X, y)
    for method in ("predict", "predict_proba"):
        with pytest.raises(TypeError, match=rf"^PKDOTStudent\.{method} takes X alone: the "
                           r"student predicts from the regular modality.*got X_priv of type "
                           rf"ndarray\. Call {method}\(X\)\.$"):
            getattr(student, method)(X, X_priv)
    np.testing.assert_array_equal(student.predict(X, None), student.predict(X))
    # Never routed to predict: metadata routing does not ask for X_priv there.
    routing = student.get_metadata_routing()
    assert "X_priv" not in routing.predict.requests
    assert "X_priv" not in routing.predict_proba.requests


# ------------------------------------------------------------------ batches
class _BatchNormEncoder(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(6, 8)
        self.norm = torch.nn.BatchNorm1d(8)

    def forward(self, x):
        return torch.relu(self.norm(self.linear(x)))


@pytest.mark.parametrize("Estimator", [PKDOTStudent, PrivilegedTeacher])
def test_batch_norm_never_sees_a_batch_of_one_row(Estimator, data):
    # 35 rows in batches of 17 leave one row: torch's BatchNorm raised
    # "Expected more than 1 value per channel when training".
    X, X_priv, y = data
    estimator = Estimator(module=_BatchNormEncoder(), batch_size=17, max_epochs=2,
                          random_state=0).fit(X[:35], y[:35], X_priv=X_priv[:35])
    for epoch in estimator.net_.history:
        assert [batch["train_batch_size"] for batch in epoch["batches"]] == [17, 18]


def _batches(loader):
    return [batch.tolist() for batch in loader]


@pytest.mark.parametrize("n_rows", [33, 34, 35, 1])
def test_merge_singleton_loader_draws_as_the_default_loader(n_rows):
    rows = torch.arange(n_rows)
    torch.manual_seed(0)
    default = _batches(DataLoader(rows, batch_size=16, shuffle=True))
    torch.manual_seed(0)
    merged = _batches(MergeSingletonLoader(rows, batch_size=16, shuffle=True))
    if n_rows % 16 == 1 and n_rows > 1:
        default[-2:] = [default[-2] + default[-1]]
    assert merged == default
    assert len(MergeSingletonLoader(rows, batch_size=16)) == len(merged)


@pytest.mark.parametrize("Estimator", [PKDOTStudent, PrivilegedTeacher])
def test_numpy_integer_batch_size_fits_like_an_int(Estimator, data):
    # A GridSearchCV grid built with numpy hands np.int64 values to set_params.
    X, X_priv, y = data
    as_numpy = Estimator(**ONE_EPOCH, batch_size=np.int64(16)).fit(X, y, X_priv=X_priv)
    as_int = Estimator(**ONE_EPOCH, batch_size=16).fit(X, y, X_priv=X_priv)
    np.testing.assert_array_equal(as_numpy.predict(X, *(
        [X_priv] if Estimator is PrivilegedTeacher else [])), as_int.predict(X, *(
        [X_priv] if Estimator is PrivilegedTeacher else [])))


# ------------------------------------------- campaign findings (issue 14, round 3)
@pytest.mark.parametrize("Estimator", [PKDOTStudent, PrivilegedTeacher])
@pytest.mark.parametrize("callbacks", [[1], ["progress"], [("name", 3)], [(1, Callback())]])
def test_callbacks_that_are_not_callbacks_are_refused(Estimator, callbacks, data):
    # skorch failed late with "'int' object has no attribute 'set_params'".
    X, X_priv, y = data
    with pytest.raises(TypeError, match=r"callbacks\[0\] is .*expected a skorch callback"):
        Estimator(**ONE_EPOCH, callbacks=callbacks).fit(X, y, X_priv=X_priv)


@pytest.mark.parametrize("callbacks", [[None], [("unused", None)], [Callback]])
def test_what_skorch_takes_as_a_callback_is_accepted(callbacks, data):
    X, X_priv, y = data
    PrivilegedTeacher(**ONE_EPOCH, callbacks=callbacks).fit(X, y, X_priv=X_priv)


def test_a_safeguard_fraction_that_leaves_no_training_rows_is_refused(data):
    X, X_priv, y = data
    with pytest.raises(ValueError, match=r"safeguard_fraction=0.999 holds out all 120 "
                                         r"training rows.*expected a fraction below 0.99"):
        PKDOTStudent(**ONE_EPOCH, safeguard_fraction=0.999).fit(X, y, X_priv=X_priv)
    groups = np.repeat(np.arange(4), 30)
    with pytest.raises(ValueError, match="holds out all 4 groups"):
        PKDOTStudent(**ONE_EPOCH, safeguard_fraction=0.8).fit(X, y, X_priv=X_priv, groups=groups)


def test_an_unfitted_frozen_teacher_is_named(data):
    X, X_priv, y = data
    student = PKDOTStudent(**ONE_EPOCH, teacher=FrozenEstimator(PrivilegedTeacher()))
    with pytest.raises(NotFittedError, match="teacher is a FrozenEstimator of an unfitted "
                                             "PrivilegedTeacher"):
        student.fit(X, y, X_priv=X_priv)


class _LogOfNegative(torch.nn.Module):
    """An encoder whose forward is NaN on every input: log of a negative."""

    def __init__(self, n_features):
        super().__init__()
        self.linear = torch.nn.Linear(n_features, 4)

    def forward(self, x):
        return torch.log(-torch.abs(self.linear(x)) - 1.0)


def test_an_encoder_emitting_nan_is_named_as_the_cause(data):
    X, X_priv, y = data
    teacher = PrivilegedTeacher(**ONE_EPOCH, priv_groups={"ecg": [0, 1], "eda": [2]},
                                priv_module={"eda": _LogOfNegative(1)})
    with pytest.raises(TrainingDivergedError,
                       match=r"before any update, priv_module\['eda'\] \(_LogOfNegative\) "
                             r"returned non-finite values.*Likely causes: priv_module\['eda'\]"):
        teacher.fit(X, y, X_priv=X_priv)
    # The watch is over after the first batch: the net keeps no hook.
    fitted = PrivilegedTeacher(**ONE_EPOCH).fit(X, y, X_priv=X_priv)
    assert not any(module._forward_hooks for module in fitted.net_.module_.modules())


def _constant_model_warnings(record):
    return [w for w in record if "gives the same output" in str(w.message)]


def test_a_model_that_learnt_nothing_is_reported(data):
    X, X_priv, y = data
    # A one-unit embedding that is off for every row (this seed) is a constant model.
    seeds = range(8)
    reported = []
    for seed in seeds:
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            teacher = PrivilegedTeacher(max_epochs=1, embedding_dim=1,
                                        random_state=seed).fit(X, y, X_priv=X_priv)
        constant = np.ptp(teacher.predict_proba(X, X_priv), axis=0).max() == 0
        found = _constant_model_warnings(record)
        assert bool(found) == constant, seed
        if found:
            reported.append(str(found[0].message))
    assert reported, "no seed gave a dead one-unit embedding: pick other seeds"
    assert "embedding_dim=1 is narrow" in reported[0]


def test_a_constant_target_is_not_reported_as_a_constant_model(data):
    X, X_priv, y = data
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        PrivilegedTeacher(**ONE_EPOCH, task="regression", standardize=False).fit(
            X, np.zeros(len(X)), X_priv=X_priv)
    assert not _constant_model_warnings(record)
