"""Robustness campaign: bad inputs and extreme settings against the public API.

Every case runs in its own process and declares what a good outcome is:

- ``error``: an exception of the expected types (ValueError or TypeError
  unless the case says otherwise) whose message names the argument(s);
- ``ok``: the call succeeds and the result is sane: finite predictions and
  probabilities, outputs that depend on the input, finite training losses,
  inputs left unchanged, and the documented contract of the case
  (``distilled_``, state after a failed refit, ...);
- ``error_or_ok``: extremes that may legitimately be refused: either a clear
  error or a sane result;
- ``warn``: the call succeeds and emits a warning of the given category whose
  message names the argument(s).

Each outcome is classified as

- ``clear``: the expected error (or warning), naming the argument;
- ``ok``: a valid, sane result;
- ``silent``: no error, but a broken result (NaN, a constant model, a broken
  contract), or no error where one was expected;
- ``unclear``: an error whose message does not name the argument, one of an
  unexpected type, or a valid input refused;
- ``crash``: the process died (segfault, abort, out of memory), ran past the
  timeout, or raised an internal error type (AttributeError, IndexError,
  KeyError, ZeroDivisionError, RuntimeError, ...; or a Python TypeError such as
  "object is not subscriptable" that names no argument).

The cases are generated: every constructor parameter of both estimators
crossed with the kinds of bad value its type admits (wrong type, out of range,
NaN, inf, ...); every array argument (X, X_priv, y, groups, sample_weight) of
``fit``, ``predict`` and ``score`` crossed with the kinds of bad array; every
tensor argument of the losses in :mod:`pkdot_sk.losses` crossed with bad and
extreme tensors; plus hand-written extreme-but-valid settings (learning
rates, batch sizes, regularisation, data scaled by 1e-30 or 1e30, constant
columns, one class, one row per class, duplicates, sequences of odd shapes)
and lifecycle cases (predict before fit, refit after a failure, pickling
after a failed fit, wrong feature counts at prediction). Data are tiny (40
rows) and trainings last 2 epochs, so most cases take well under a second
of CPU: the whole campaign (about 1280 cases) takes about 5 minutes on 2
cores. ``--self-test`` checks the harness itself on cases whose class is
known (a segfault, a hang, an internal error, an unclear message, ...).

Processes are forked from a server that has already imported torch and
pkdot_sk (``multiprocessing``'s forkserver), so a case costs its own work,
not a 5-second import; ``--start-method spawn`` starts each from scratch.

Run (from the repository root)::

    python benchmarks/robustness.py              # every case, writes results/robustness.md
    python benchmarks/robustness.py --list       # the case names
    python benchmarks/robustness.py --only 'lr|X_priv' --n-jobs 2
    python benchmarks/robustness.py --limit 20
    python benchmarks/robustness.py --sample 50 --seed 1

Exit status: 0 when every case is clear or ok, 1 otherwise.
"""

import argparse
import copy
import functools
import io
import multiprocessing
import os
import pickle
import platform
import re
import sys
import time
import traceback
import warnings
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import scipy.sparse  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.decomposition import PCA  # noqa: E402
from sklearn.frozen import FrozenEstimator  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from skorch.callbacks import EarlyStopping  # noqa: E402

from pkdot_sk import PKDOTStudent, PrivilegedTeacher, losses, metrics  # noqa: E402
from pkdot_sk.datasets import (make_privileged_classification,  # noqa: E402
                               make_privileged_ordinal, make_privileged_regression)
from pkdot_sk.modules import MLPEncoder  # noqa: E402

RESULTS = Path(__file__).parent / "results"
NAN, INF = float("nan"), float("inf")
CLASSES = ("clear", "ok", "silent", "unclear", "crash")
# Tiny networks and trainings: each case takes about a second.
STUDENT = dict(max_epochs=2, batch_size=16, hidden_units=(8,), embedding_dim=4, random_state=0,
               safeguard=None)
TEACHER = dict(max_epochs=2, batch_size=16, hidden_units=(8,), embedding_dim=4, random_state=0)
N_FEATURES, N_PRIV = 4, 3
# Exceptions that are a clear refusal when they name the argument.
CLEAR_TYPES = ("ValueError", "TypeError")
# scikit-learn's messages say "Sample weights" in words.
SAMPLE_WEIGHT = "sample_weight|sample weights|Sample weights"
# Python's own TypeErrors: a bug inside the library unless they name the argument.
_INTERNAL_TYPE_ERROR = re.compile(
    r"object is not (subscriptable|iterable|callable)|unsupported operand|has no len\(\)|"
    r"takes \d+ positional|missing \d+ required|not supported between instances|"
    r"unhashable type|object cannot be interpreted as an integer|must be real number, not|"
    r"can't multiply|can only concatenate")


# ====================================================================== cases
@dataclass
class Case:
    """One campaign case.

    run : callable
        Runs the case; returns a list of problems found in the result (an
        empty list when it is sane). Steps are marked with :func:`stage`.
    expect : {"error", "ok", "error_or_ok", "warn"}
    names : tuple of str
        What the error (or warning) message must mention, each as a whole
        word; ``"a|b"`` accepts either.
    types : tuple of str
        Exception class names accepted (any class in the exception's MRO);
        empty: ValueError or TypeError. For ``warn``: the warning category.
    """

    name: str
    family: str
    run: object
    expect: str
    names: tuple = ()
    types: tuple = ()


CASES = {}


def add(name, family, run, expect, names=(), types=()):
    if name in CASES:
        raise RuntimeError(f"duplicate case name {name!r}")
    if expect not in ("error", "ok", "error_or_ok", "warn"):
        raise RuntimeError(f"{name}: unknown expectation {expect!r}")
    if isinstance(names, str):
        names = (names,)
    if isinstance(types, str):
        types = (types,)
    CASES[name] = Case(name, family, run, expect, tuple(names), tuple(types))


_STAGE = ["setup"]


@contextmanager
def stage(name):
    """Marks what a case is doing: "setup" (building good data or a fitted
    model: must not fail), "action" (the call under test) or "check" (the
    sanity checks of a result)."""
    previous = _STAGE[0]
    _STAGE[0] = name
    try:
        yield
    except BaseException as exc:
        if not hasattr(exc, "_campaign_stage"):
            exc._campaign_stage = name  # the innermost stage it was raised in
        raise
    finally:
        _STAGE[0] = previous


# ----------------------------------------------------------------------- data
@functools.lru_cache(maxsize=None)
def _dataset(kind):
    common = dict(n_subjects=4, n_samples_per_subject=10, n_features=N_FEATURES,
                  n_priv_features=N_PRIV, random_state=0)
    if kind == "clf":
        return make_privileged_classification(**common)
    if kind == "reg":
        return make_privileged_regression(**common)
    if kind == "ord":
        return make_privileged_ordinal(n_levels=4, **common)
    raise ValueError(kind)


def data(kind="clf"):
    """Fresh copies of a tiny data set: dict of X (40, 4), X_priv (40, 3), y, groups."""
    X, X_priv, y, groups = _dataset(kind)
    return dict(X=X.copy(), X_priv=X_priv.copy(), y=y.copy(), groups=groups.copy())


def sequences(n_steps=5, priv_steps=5, n_features=N_FEATURES, priv_features=N_PRIV):
    """Tiny 3-D data: X (40, n_steps, n_features), X_priv 3-D or 2-D (priv_steps None)."""
    d = data()
    rng = np.random.RandomState(0)
    base = d["y"][:, None, None].astype(float)
    d["X"] = base + rng.randn(len(base), n_steps, n_features)
    d["X_priv"] = (base[:, 0] + rng.randn(len(base), priv_features) if priv_steps is None
                   else base + rng.randn(len(base), priv_steps, priv_features))
    return d


def with_cell(array, index, value):
    """A copy of ``array`` with one cell replaced (object dtype for non-numbers)."""
    if isinstance(value, (str, dict, type(None), list)) or not np.isscalar(value):
        array = array.astype(object)
    elif isinstance(value, complex):
        array = array.astype(complex)
    else:
        array = array.astype(float)
    array = array.copy()
    array[index] = value
    return array


def _same(a, b):
    if a is None or b is None:
        return a is b
    if isinstance(a, (pd.DataFrame, pd.Series)):
        return a.equals(b)
    if scipy.sparse.issparse(a):
        return (a != b).nnz == 0
    try:
        return np.array_equal(np.asarray(a), np.asarray(b), equal_nan=True)
    except (TypeError, ValueError):
        return np.array_equal(np.asarray(a, dtype=object), np.asarray(b, dtype=object))


def _copy(value):
    try:
        return copy.deepcopy(value)
    except Exception:  # noqa: BLE001 - an uncopyable input is compared by identity
        return value


# ----------------------------------------------------------------- estimators
def student(**params):
    return PKDOTStudent(**{**STUDENT, **params})


def teacher(**params):
    return PrivilegedTeacher(**{**TEACHER, **params})


MAKERS = {"student": student, "teacher": teacher}


def fit(estimator, d, problems, **extra):
    """``estimator.fit`` on ``d`` (X, y, X_priv; groups for a student when
    ``d["pass_groups"]``); appends to ``problems`` an input that fit changed."""
    kwargs = dict(X_priv=d.get("X_priv"))
    if isinstance(estimator, PKDOTStudent) and d.get("pass_groups"):
        kwargs["groups"] = d["groups"]
    kwargs.update(extra)
    inputs = dict(X=d["X"], y=d["y"], **kwargs)
    before = {name: _copy(value) for name, value in inputs.items()}
    returned = estimator.fit(d["X"], d["y"], **kwargs)
    for name, value in inputs.items():
        if before[name] is not value and not _same(before[name], value):
            problems.append(f"fit modified its input {name}")
    if returned is not estimator:
        problems.append("fit did not return self")
    return estimator


def _args(estimator, X, X_priv):
    return (X, X_priv) if isinstance(estimator, PrivilegedTeacher) else (X,)


def outputs(estimator, X, X_priv=None):
    """What the estimator predicts for X: probabilities for labels, values otherwise."""
    args = _args(estimator, X, X_priv)
    if estimator.task in ("classification", "ordinal"):
        return estimator.predict_proba(*args)
    return np.asarray(estimator.predict(*args), dtype=float)


def sanity(estimator, X, X_priv=None, *, allow_constant=False):
    """Problems of a fitted estimator: non-finite or invalid predictions, a
    constant model, non-finite training losses."""
    problems = []
    args = _args(estimator, X, X_priv)
    n_rows = len(X)
    pred = np.asarray(estimator.predict(*args))
    if len(pred) != n_rows:
        problems.append(f"predict returned {len(pred)} rows for {n_rows}")
    if estimator.task in ("classification", "ordinal"):
        unknown = set(np.unique(pred).tolist()) - set(np.asarray(estimator.classes_).tolist())
        if unknown:
            problems.append(f"predict returned labels not in classes_: {sorted(unknown)[:3]}")
        proba = np.asarray(estimator.predict_proba(*args), dtype=float)
        if not np.isfinite(proba).all():
            problems.append(f"predict_proba has {int((~np.isfinite(proba)).sum())} non-finite "
                            "values")
        elif not np.allclose(proba.sum(axis=1), 1.0, atol=1e-4):
            problems.append("predict_proba rows do not sum to 1")
        out = proba
    else:
        out = pred.astype(float)
        if not np.isfinite(out).all():
            problems.append(f"predict has {int((~np.isfinite(out)).sum())} non-finite values")
    out = out.reshape(n_rows, -1)
    if (not allow_constant and n_rows > 1 and np.isfinite(out).all()
            and float(np.ptp(out, axis=0).max()) == 0.0):
        problems.append("constant model: every row gets the same output")
    losses_ = np.asarray(estimator.net_.history[:, "train_loss"], dtype=float)
    if not np.isfinite(losses_).all():
        problems.append(f"train_loss not finite: {losses_.tolist()}")
    if isinstance(estimator, PrivilegedTeacher):
        embedding = estimator.transform(*args)
        if not np.isfinite(embedding).all():
            problems.append("transform has non-finite values")
    return problems


def fit_case(make, d, *, allow_constant=False, contract=None, extra=None):
    """A case that fits ``make()`` on ``d()``, then checks the model."""
    def run():
        problems = []
        estimator = make()
        values = d()
        with stage("action"):
            fit(estimator, values, problems, **(extra or {}))
        with stage("check"):
            problems += sanity(estimator, values["X"], values.get("X_priv"),
                               allow_constant=allow_constant)
            if contract is not None:
                problems += contract(estimator)
        return problems
    return run


def call_case(make, d, call):
    """A case that fits ``make()`` on good data, then runs ``call(estimator, d)``;
    what it returns must be finite."""
    def run():
        problems = []
        estimator = make()
        values = d()
        fit(estimator, values, problems)
        with stage("action"):
            result = call(estimator, values)
        with stage("check"):
            problems += _finite(result, "the result")
        return problems
    return run


def _finite(value, what):
    if value is None:
        return []
    if isinstance(value, torch.Tensor):
        value = value.detach().float().numpy()
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        return []
    if not np.isfinite(array).all():
        return [f"{what} is not finite: {np.ravel(array)[:4].tolist()}"]
    return []


def distilled(expected, teacher_fitted=None):
    """The contract of ``distilled_`` (and ``teacher_``)."""
    def check(estimator):
        problems = []
        if estimator.distilled_ is not expected:
            problems.append(f"distilled_ is {estimator.distilled_!r}, expected {expected!r}")
        if teacher_fitted is not None and (estimator.teacher_ is not None) != teacher_fitted:
            problems.append(f"teacher_ is {type(estimator.teacher_).__name__}, expected "
                            f"{'a teacher' if teacher_fitted else 'None'}")
        return problems
    return check


# ====================================================== constructor parameters
def _kinds(*pairs):
    return list(pairs)


POS_INT = _kinds(("0", 0), ("-1", -1), ("2.5", 2.5), ("'2'", "2"), ("None", None),
                 ("nan", NAN), ("inf", INF), ("[2]", [2]))
NONNEG_INT = _kinds(("-1", -1), ("2.5", 2.5), ("'2'", "2"), ("None", None), ("nan", NAN),
                    ("inf", INF))
POS_FLOAT = _kinds(("0", 0.0), ("-0.1", -0.1), ("nan", NAN), ("-inf", -INF), ("'0.1'", "0.1"),
                   ("None", None), ("[0.1]", [0.1]), ("1j", 1j))
NONNEG_FLOAT = _kinds(("-0.1", -0.1), ("nan", NAN), ("-inf", -INF), ("'0.1'", "0.1"),
                      ("None", None), ("[0.1]", [0.1]))
OPEN_FRACTION = _kinds(("0", 0.0), ("1", 1.0), ("-0.1", -0.1), ("1.5", 1.5), ("nan", NAN),
                       ("inf", INF), ("'0.2'", "0.2"))
BOOL = _kinds(("'yes'", "yes"), ("'False'", "False"), ("2", 2), ("None", None), ("nan", NAN))


def _options(valid, allow_none=False):
    """Bad values of a string option: unknown, upper case, wrong types."""
    kinds = [("'bogus'", "bogus"), ("upper case", valid.upper()), ("1", 1), ("''", "")]
    if not allow_none:
        kinds.append(("None", None))
    return kinds


def _nan_encoder(width=N_FEATURES):
    class NaNEncoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(width, 4)

        def forward(self, x):
            return self.linear(x) * float("nan")
    return NaNEncoder()


class _ThreeDEncoder(nn.Module):
    """Returns a 3-D tensor: breaks the encoder protocol."""

    def __init__(self, width=N_FEATURES):
        super().__init__()
        self.linear = nn.Linear(width, 4)

    def forward(self, x):
        return self.linear(x)[:, None, :]


class _NotAFusion(nn.Module):
    """Takes a tensor, not the list of embeddings the fusion protocol gives."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(4, 4)

    def forward(self, embeddings):
        return self.linear(embeddings)


# (param, kinds of bad value, valid values, context)
COMMON_PARAMS = [
    ("task", _options("classification"), [], {}),
    ("hidden_units", _kinds(("(0,)", (0,)), ("(-1,)", (-1,)), ("(2.5,)", (2.5,)),
                            ("'64'", "64"), ("None", None), ("(None,)", (None,)),
                            ("((8,),)", ((8,),)), ("8", 8), ("np.array([8])", np.array([8])),
                            ("(True,)", (True,))),
     [("[8] (list)", [8]), ("()", ()), ("(np.int64(8),)", (np.int64(8),))], {}),
    ("embedding_dim", POS_INT, [("np.int64(4)", np.int64(4)), ("1", 1)], {}),
    ("dropout", _kinds(("1", 1.0), ("-0.1", -0.1), ("1.5", 1.5), ("nan", NAN), ("inf", INF),
                       ("'0.1'", "0.1"), ("None", None)),
     [("0", 0.0), ("0.95", 0.95)], {}),
    ("max_epochs", POS_INT, [("np.int64(1)", np.int64(1))], {}),
    ("batch_size", POS_INT, [("np.int64(8)", np.int64(8))], {}),
    ("lr", POS_FLOAT + [("inf", INF)], [("np.float32(0.01)", np.float32(0.01))], {}),
    ("weight_decay", NONNEG_FLOAT + [("inf", INF)], [("1e-4", 1e-4)], {}),
    ("validation_fraction", OPEN_FRACTION, [("None", None), ("0.25", 0.25)], {}),
    ("callbacks", _kinds(("'progress'", "progress"), ("[1]", [1]), ("['progress']", ["progress"]),
                         ("a tuple", (EarlyStopping(),)), ("{}", {})),
     [("[EarlyStopping()] with validation_fraction", [EarlyStopping(patience=1)]),
      ("[EarlyStopping] (a class, skorch builds it)", [EarlyStopping]),
      ("[None] (skorch skips None)", [None])], {"validation_fraction": 0.25}),
    ("standardize", BOOL, [("np.bool_(False)", np.bool_(False))], {}),
    ("regression_loss", _options("mse"), [], {}),
    ("device", _kinds(("'bogus'", "bogus"), ("'meta'", "meta"), ("0", 0), ("None", None),
                      ("'cpu:x'", "cpu:x")) + ([] if torch.cuda.is_available()
                                               else [("'cuda'", "cuda")]),
     [("torch.device('cpu')", torch.device("cpu")), ("'cpu:0'", "cpu:0")], {}),
    ("random_state", _kinds(("'seed'", "seed"), ("-1", -1), ("2**32", 2**32), ("1.5", 1.5)),
     [("RandomState(0)", np.random.RandomState(0)), ("None", None),
      ("np.int64(3)", np.int64(3))], {}),
    ("verbose", _kinds(("'loud'", "loud"), ("-1", -1), ("1.5", 1.5), ("None", None)),
     [("True", True)], {}),
    ("module", _kinds(("'mlp'", "mlp"), ("MLPEncoder (a class)", MLPEncoder),
                      ("Linear(7, 4) (wrong input width)", nn.Linear(7, 4)),
                      ("an encoder emitting NaN", _nan_encoder()),
                      ("an encoder returning 3-D", _ThreeDEncoder())),
     [("Sequential(Linear(4, 6), ReLU())", nn.Sequential(nn.Linear(4, 6), nn.ReLU()))], {}),
]

STUDENT_PARAMS = [
    ("teacher", _kinds(("'teacher'", "teacher"), ("PrivilegedTeacher (a class)",
                                                  PrivilegedTeacher),
                       ("PCA(2)", PCA(2)), ("LogisticRegression()", LogisticRegression()),
                       ("[]", []), ("5", 5)),
     [("PrivilegedTeacher(...)", teacher())], {}),
    ("teacher_weights", _kinds(("[1, 2, 3]", [1, 2, 3]), ("[-1]", [-1]), ("[nan]", [NAN]),
                               ("[inf]", [INF]), ("'a'", "a"), ("[0]", [0]), ("['a']", ["a"]),
                               ("1.0", 1.0)),
     [("[2.0]", [2.0])], {}),
    ("teacher_selection", _options("mixture"), [], {}),
    ("distillation", _options("pkdot"), [], {}),
    ("ot_weight", NONNEG_FLOAT + [("inf", INF)], [("1e-12", 1e-12)], {}),
    ("top_k", POS_INT, [("1", 1), ("10**9", 10**9)], {"anchors": "least_similar"}),
    ("anchors", _options("all"), [], {}),
    ("ot_reg", POS_FLOAT + [("inf", INF)], [("np.float32(0.05)", np.float32(0.05))], {}),
    ("ot_normalize", BOOL, [("np.bool_(False)", np.bool_(False))], {}),
    ("ot_max_iter", POS_INT, [("1", 1), ("5000", 5000)], {}),
    ("ot_tol", POS_FLOAT + [("inf", INF)], [("1e-9", 1e-9)], {}),
    ("ot_center", BOOL, [("True", True)], {}),
    ("ot_warmup", NONNEG_INT, [("10**6", 10**6)], {}),
    ("distillation_weight", NONNEG_FLOAT[:4] + [("[0.1]", [0.1]), ("inf", INF)],
     [("None", None), ("1e-12", 1e-12)], {"distillation": "logit"}),
    ("temperature", POS_FLOAT + [("inf", INF)], [("1e6", 1e6)], {"distillation": "logit"}),
    ("hallucinate", BOOL, [("np.bool_(True)", np.bool_(True))], {}),
    ("hallucination_weight", NONNEG_FLOAT + [("inf", INF)], [("0", 0.0)],
     {"hallucinate": True}),
    ("safeguard", _options("validation", allow_none=True) + [("True", True)],
     [("'validation'", "validation")], {}),
    ("safeguard_fraction", OPEN_FRACTION, [("0.5", 0.5)], {"safeguard": "validation"}),
]

TEACHER_PARAMS = [
    ("priv_module", _kinds(("'drop'", "drop"), ("'mlp'", "mlp"),
                           ("Linear(5, 4) (wrong input width)", nn.Linear(5, 4)),
                           ("{'bogus': None}", {"bogus": None}), ("[None, None]", [None, None]),
                           ("MLPEncoder (a class)", MLPEncoder), ("5", 5),
                           ("an encoder emitting NaN", _nan_encoder(N_PRIV))),
     [("Linear(3, 4)", nn.Linear(3, 4)), ("{'priv': None}", {"priv": None})], {}),
    ("priv_groups", _kinds(("[[0, 1]] (column 2 left out)", [[0, 1]]),
                           ("[[0, 1], [1, 2]] (overlap)", [[0, 1], [1, 2]]),
                           ("[[0, 1, 2, 3]] (out of range)", [[0, 1, 2, 3]]),
                           ("{'a': ['p0', 'p1', 'p2']} without a DataFrame",
                            {"a": ["p0", "p1", "p2"]}),
                           ("{'a': [], 'b': [0, 1, 2]} (empty group)",
                            {"a": [], "b": [0, 1, 2]}),
                           ("'abc'", "abc"), ("{'a': 0}", {"a": 0}),
                           ("[[0.5], [1, 2]]", [[0.5], [1, 2]])),
     [("[[0, 1], [2]]", [[0, 1], [2]]), ("{'a': slice(0, 2), 'b': [2]}",
                                         {"a": slice(0, 2), "b": [2]})], {}),
    ("fusion", _options("concat") + [("a module taking a tensor", _NotAFusion())],
     [("'attention'", "attention")], {}),
]

def _param_value(value):
    """A fresh copy per case of a mutable value (modules, lists, estimators)."""
    if isinstance(value, type):
        return value
    return _copy(value)


def _param_run(kind, param, value, context):
    def make():
        return MAKERS[kind](**{**context, param: _param_value(value)})

    return fit_case(make, functools.partial(data, "reg") if param == "regression_loss" else data)


def _add_param_cases():
    tables = [("student", COMMON_PARAMS), ("teacher", COMMON_PARAMS),
              ("student", STUDENT_PARAMS), ("teacher", TEACHER_PARAMS)]
    for kind, table in tables:
        owner = "PKDOTStudent" if kind == "student" else "PrivilegedTeacher"
        for param, bad_kinds, valid, context in table:
            for label, value in bad_kinds:
                add(f"param {owner}({param}={label})", "parameters",
                    _param_run(kind, param, value, context), "error", param)
            for label, value in valid:
                # Named: a broken result with a warning naming the parameter is not silent.
                add(f"param {owner}({param}={label}) valid", "parameters",
                    _param_run(kind, param, value, context), "ok", param)
    # Combinations that no single constraint catches.
    # Combinations that no single constraint catches: (kind, params, names, data, expect).
    combos = [
        ("student", dict(regression_loss="ccc"), "regression_loss", "clf", "error"),
        ("teacher", dict(regression_loss="ccc"), "regression_loss", "clf", "error"),
        ("student", dict(hallucinate=True, distillation="none"), "hallucinate", "clf", "error"),
        ("student", dict(distillation="gd", distillation_weight=1.5), "distillation_weight",
         "clf", "error"),
        ("student", dict(distillation="logit", task="regression"), "distillation", "reg",
         "error"),
        ("student", dict(teacher=[teacher(), teacher()], teacher_weights=[1, 1],
                         teacher_selection="best_per_batch"), "teacher_weights", "clf", "error"),
        ("student", dict(teacher=[teacher(), teacher()], teacher_weights=[0, 0]),
         "teacher_weights", "clf", "error"),
        ("student", dict(teacher=[teacher(), teacher()], teacher_weights=[1, NAN]),
         "teacher_weights", "clf", "error"),
        ("student", dict(teacher=[teacher(), "x"]), "teacher", "clf", "error"),
        ("student", dict(teacher=[teacher(), PrivilegedTeacher]), "teacher", "clf", "error"),
        ("student", dict(teacher=teacher(task="regression")), "teacher|task", "clf",
         "error_or_ok"),
        ("student", dict(teacher=FrozenEstimator(teacher())), "teacher", "clf", "error"),
        ("student", dict(teacher=FrozenEstimator(PCA(2))), "teacher", "clf", "error"),
        ("student", dict(task="regression", regression_loss="ccc", batch_size=1,
                         distillation="none"), "batch_size", "reg", "error"),
        ("teacher", dict(task="regression", regression_loss="ccc", batch_size=1),
         "batch_size", "reg", "error"),
        ("student", dict(batch_size=1), "batch_size", "clf", "error"),
        ("student", dict(distillation="rkd", batch_size=1), "batch_size", "clf", "error"),
        ("student", dict(distillation="sp", batch_size=1), "batch_size", "clf", "error"),
        ("student", dict(distillation="pkt", batch_size=1), "batch_size", "clf", "error"),
        ("student", dict(distillation="logit", batch_size=1), "", "clf", "ok"),
        ("teacher", dict(priv_groups=[[0, 1], [2]], priv_module=[nn.Linear(2, 4)]),
         "priv_module", "clf", "error"),
        ("teacher", dict(priv_groups=[[0, 1], [2]], priv_module=["drop", "drop"]),
         "priv_module", "clf", "error"),
        ("teacher", dict(priv_groups={"a": [0, 1], "b": [2]}, priv_module={"c": None}),
         "priv_module", "clf", "error"),
        ("teacher", dict(priv_groups=[[0, 1], [2]], priv_module=nn.Linear(3, 4)),
         "priv_module", "clf", "error"),
    ]
    for kind, params, names, dataset, expect in combos:
        label = ", ".join(f"{k}={_short(v)}" for k, v in params.items())
        owner = "PKDOTStudent" if kind == "student" else "PrivilegedTeacher"

        def make(kind=kind, params=params):
            return MAKERS[kind](**{k: _param_value(v) for k, v in params.items()})
        add(f"param {owner}({label})", "parameters",
            fit_case(make, functools.partial(data, dataset)), expect,
            names if expect != "ok" else ())


def _short(value):
    if isinstance(value, (PrivilegedTeacher, PKDOTStudent)):
        return f"{type(value).__name__}()"
    if isinstance(value, list):
        return "[" + ", ".join(_short(v) for v in value) + "]"
    if isinstance(value, FrozenEstimator):
        return f"FrozenEstimator({type(value.estimator).__name__}(), unfitted)"
    if isinstance(value, type):
        return value.__name__
    if isinstance(value, nn.Module):
        return repr(value).replace("\n", "")
    return repr(value)


# ================================================================ array inputs
def _mutated(kind, change, dataset="clf"):
    def d():
        values = data(dataset)
        change(values)
        return values
    return d


def _set(name, value):
    def change(d):
        d[name] = value(d) if callable(value) else value
    return change


def _cell(name, index, value):
    def change(d):
        d[name] = with_cell(np.asarray(d[name]), index, value)
    return change


def _ragged(name):
    def change(d):
        d[name] = [list(row[:1 + i % 2]) for i, row in enumerate(d[name])]
    return change


def _bad_arrays(name):
    """(label, change, expect) for X or X_priv."""
    cell = (3, 1)
    kinds = [
        ("a NaN cell", _cell(name, cell, NAN), "error"),
        ("an inf cell", _cell(name, cell, INF), "error"),
        ("a -inf cell", _cell(name, cell, -INF), "error"),
        ("a NaN column", _set(name, lambda d: np.column_stack(
            [d[name][:, :-1], np.full(len(d[name]), NAN)])), "error"),
        ("a 1e300 cell", _cell(name, cell, 1e300), "error"),
        ("1-D", _set(name, lambda d: d[name][:, 0]), "error"),
        ("4-D", _set(name, lambda d: d[name][:, :, None, None]), "error"),
        ("0 rows", _set(name, lambda d: d[name][:0]), "error"),
        ("0 columns", _set(name, lambda d: d[name][:, :0]), "error"),
        ("one row short", _set(name, lambda d: d[name][:-1]), "error"),
        ("complex", _set(name, lambda d: d[name] + 1j), "error"),
        ("a string cell", _cell(name, cell, "a"), "error"),
        ("a dict cell", _cell(name, cell, {"foo": 1}), "error"),
        ("a None cell", _cell(name, cell, None), "error"),
        ("a scalar", _set(name, 5.0), "error"),
        ("a string", _set(name, "abc"), "error"),
        ("a dict of columns", _set(name, lambda d: {"a": d[name][:, 0], "b": d[name][:, 1]}),
         "error"),
        ("a ragged list", _ragged(name), "error"),
        ("datetime64", _set(name, lambda d: np.full(d[name].shape, np.datetime64("2020-01-01"))),
         "error"),
        ("np.matrix", _set(name, lambda d: np.asmatrix(d[name])), "error_or_ok"),
        ("sparse CSR", _set(name, lambda d: scipy.sparse.csr_matrix(d[name])), "error"),
        ("a DataFrame with a NaN", _set(name, lambda d: pd.DataFrame(
            with_cell(d[name], cell, NAN))), "error"),
        ("numbers as strings", _set(name, lambda d: d[name].astype(str)), "error_or_ok"),
        # Valid forms: accepted, and a sane model.
        ("a list of lists", _set(name, lambda d: d[name].tolist()), "ok"),
        ("int", _set(name, lambda d: np.round(d[name] * 3).astype(int)), "ok"),
        ("bool", _set(name, lambda d: d[name] > 0), "ok"),
        ("float32", _set(name, lambda d: d[name].astype(np.float32)), "ok"),
        ("float16", _set(name, lambda d: d[name].astype(np.float16)), "ok"),
        ("a DataFrame with string columns", _set(name, lambda d: pd.DataFrame(
            d[name], columns=[f"c{i}" for i in range(d[name].shape[1])])), "ok"),
        ("a torch tensor", _set(name, lambda d: torch.as_tensor(d[name])), "ok"),
        ("Fortran order", _set(name, lambda d: np.asfortranarray(d[name])), "ok"),
        ("a non-contiguous view", _set(name, lambda d: np.repeat(d[name], 2, axis=1)[:, ::2]),
         "ok"),
    ]
    if name == "X_priv":
        kinds += [
            ("a list of per-modality arrays", _set(name, lambda d: [d[name][:, :2],
                                                                   d[name][:, 2:]]), "error"),
            ("None", _set(name, None), "warn"),
        ]
    else:
        kinds += [("None", _set(name, None), "error")]
    return kinds


def _bad_labels():
    """(label, change, expect) for classification y."""
    return [
        ("a NaN", _cell("y", 3, NAN), "error"),
        ("an inf", _cell("y", 3, INF), "error"),
        ("one row short", _set("y", lambda d: d["y"][:-1]), "error"),
        ("2-D, two columns", _set("y", lambda d: np.column_stack([d["y"], d["y"]])), "error"),
        ("3-D", _set("y", lambda d: d["y"][:, None, None]), "error"),
        ("complex", _set("y", lambda d: d["y"] + 1j), "error"),
        ("None", _set("y", None), "error"),
        ("a scalar", _set("y", 1), "error"),
        ("a dict", _set("y", lambda d: {"y": d["y"]}), "error"),
        ("mixed int and str", _set("y", lambda d: np.array([1, "a"] * 20, dtype=object)),
         "error"),
        ("labels with None", _set("y", lambda d: np.array(["a", None] * 20, dtype=object)),
         "error"),
        ("object array of numbers", _set("y", lambda d: d["y"].astype(object)), "error"),
        ("continuous values", _set("y", lambda d: d["y"] + 0.5), "error"),
        ("one class", _set("y", lambda d: np.zeros_like(d["y"])), "error_or_ok_constant"),
        ("sparse", _set("y", lambda d: scipy.sparse.csr_matrix(d["y"][:, None])), "error"),
        ("a ragged list", _set("y", lambda d: [[v] * (1 + i % 2) for i, v in
                                               enumerate(d["y"])]), "error"),
        # Valid forms.
        ("strings", _set("y", lambda d: np.array(["low", "mid", "high"])[d["y"]]), "ok"),
        ("bools", _set("y", lambda d: d["y"] > 0), "ok"),
        ("floats holding integers", _set("y", lambda d: d["y"].astype(float)), "ok"),
        ("huge integers", _set("y", lambda d: d["y"] * 10**15), "ok"),
        ("negative labels", _set("y", lambda d: d["y"] - 5), "ok"),
        ("a list", _set("y", lambda d: d["y"].tolist()), "ok"),
        ("a Series", _set("y", lambda d: pd.Series(d["y"])), "ok"),
        ("one column", _set("y", lambda d: d["y"][:, None]), "ok"),
        ("pandas categorical", _set("y", lambda d: pd.Categorical(
            np.array(["a", "b", "c"])[d["y"]])), "ok"),
    ]


def _bad_targets():
    """(label, change, expect) for regression y."""
    return [
        ("a NaN", _cell("y", 3, NAN), "error"),
        ("an inf", _cell("y", 3, INF), "error"),
        ("a 1e300 value", _cell("y", 3, 1e300), "error"),
        ("one row short", _set("y", lambda d: d["y"][:-1]), "error"),
        ("3-D", _set("y", lambda d: d["y"][:, None, None]), "error"),
        ("complex", _set("y", lambda d: d["y"] + 1j), "error"),
        ("strings", _set("y", lambda d: np.array(["low", "high"] * 20)), "error"),
        ("None", _set("y", None), "error"),
        ("a string cell", _cell("y", 3, "a"), "error"),
        # Valid forms and extremes.
        ("constant", _set("y", lambda d: np.full(len(d["y"]), 3.0)), "ok_constant"),
        ("2-D, three outputs", _set("y", lambda d: np.column_stack([d["y"], -d["y"],
                                                                    d["y"] ** 2])), "ok"),
        ("scaled by 1e30", _set("y", lambda d: d["y"] * 1e30), "ok"),
        ("scaled by 1e-30", _set("y", lambda d: d["y"] * 1e-30), "ok"),
        ("int", _set("y", lambda d: np.round(d["y"] * 10).astype(int)), "ok"),
        ("float32", _set("y", lambda d: d["y"].astype(np.float32)), "ok"),
    ]


def _bad_groups():
    return [
        ("one row short", _set("groups", lambda d: d["groups"][:-1]), "error"),
        ("2-D", _set("groups", lambda d: d["groups"][:, None].repeat(2, axis=1)), "error"),
        ("a dict", _set("groups", lambda d: {"g": d["groups"]}), "error"),
        ("a scalar", _set("groups", 3), "error"),
        ("a string", _set("groups", "subject"), "error"),
        ("one group for all rows", _set("groups", lambda d: np.zeros(len(d["groups"]))),
         "error_or_ok"),
        ("strings", _set("groups", lambda d: np.array([f"s{g}" for g in d["groups"]])), "ok"),
        ("one group per row", _set("groups", lambda d: np.arange(len(d["groups"]))), "ok"),
        ("with NaN", _set("groups", lambda d: with_cell(d["groups"], 0, NAN)), "error_or_ok"),
    ]


def _fit_expect(expect, name):
    if expect == "warn":
        return "warn", ("X_priv",), ("PrivilegedDataWarning",)
    if expect.endswith("_constant"):  # a constant model is the right one
        expect = expect[:-len("_constant")]
    return expect, ((name,) if expect != "ok" else ()), ()


def _add_array_cases():
    for kind, owner in (("student", "PKDOTStudent"), ("teacher", "PrivilegedTeacher")):
        make = MAKERS[kind]
        for name in ("X", "X_priv"):
            for label, change, expect in _bad_arrays(name):
                expect, names, types = _fit_expect(expect, name)
                add(f"fit {owner}: {name} {label}", f"fit {name}",
                    fit_case(make, _mutated(kind, change)), expect, names, types)
        for label, change, expect in _bad_labels():
            e, names, types = _fit_expect(expect, "y")
            add(f"fit {owner}: y (labels) {label}", "fit y",
                fit_case(make, _mutated(kind, change),
                         allow_constant=expect.endswith("_constant")), e, names, types)
        reg = functools.partial(make, task="regression")
        for label, change, expect in _bad_targets():
            e, names, types = _fit_expect(expect, "y")
            add(f"fit {owner}: y (regression) {label}", "fit y",
                fit_case(reg, _mutated(kind, change, "reg"),
                         allow_constant=expect.endswith("_constant")), e, names, types)
        # fit takes no sample_weight: the TypeError must name it.
        add(f"fit {owner}: sample_weight=ones", "sample_weight",
            fit_case(make, data, extra=dict(sample_weight=np.ones(40))), "error",
            "sample_weight")
    for label, change, expect in _bad_groups():
        make = functools.partial(student, safeguard="validation")

        def with_groups(d, change=change):
            d["pass_groups"] = True
            change(d)
        add(f"fit PKDOTStudent(safeguard='validation'): groups {label}", "fit groups",
            fit_case(make, _mutated("student", with_groups)), expect, "groups")


# ---------------------------------------------------------- prediction inputs
def _predict_case(make, method, bad, d=data):
    """Fit on good data, then ``method`` on ``bad(values)`` (a tuple of arguments)."""
    def call(estimator, values):
        return getattr(estimator, method)(*bad(values))
    return call_case(make, d, call)


def _add_predict_cases():
    bad_X = [
        ("a NaN cell", lambda X: with_cell(X, (0, 0), NAN), "X"),
        ("an inf cell", lambda X: with_cell(X, (0, 0), INF), "X"),
        ("a 1e300 cell", lambda X: with_cell(X, (0, 0), 1e300), "X"),
        ("3 features instead of 4", lambda X: X[:, :3], "X"),
        ("5 features instead of 4", lambda X: np.column_stack([X, X[:, 0]]), "X"),
        ("1-D", lambda X: X[:, 0], "X"),
        ("a single row as 1-D", lambda X: X[0], "X"),
        ("0 rows", lambda X: X[:0], "X"),
        ("3-D after a 2-D fit", lambda X: X[:, None, :], "X"),
        ("a string cell", lambda X: with_cell(X, (0, 0), "a"), "X"),
        ("complex", lambda X: X + 1j, "X"),
        ("None", lambda X: None, "X"),
    ]
    for kind, owner in (("student", "PKDOTStudent"), ("teacher", "PrivilegedTeacher")):
        make = MAKERS[kind]
        for method in ("predict", "predict_proba"):
            for label, change, names in bad_X:
                if method == "predict_proba" and label not in (
                        "a NaN cell", "3 features instead of 4", "1-D", "0 rows"):
                    continue

                def bad(v, change=change, kind=kind):
                    return ((change(v["X"]), v["X_priv"]) if kind == "teacher"
                            else (change(v["X"]),))
                add(f"{method} {owner}: X {label}", "predict",
                    _predict_case(make, method, bad), "error", names)
        add(f"score {owner}: y one row short", "predict",
            _predict_case(make, "score", lambda v, kind=kind: (
                (v["X"], v["y"][:-1], v["X_priv"]) if kind == "teacher"
                else (v["X"], v["y"][:-1]))), "error", "y")
        add(f"predict {owner}: X a DataFrame after a fit on an array", "predict",
            _predict_case(make, "predict", lambda v, kind=kind: (
                (pd.DataFrame(v["X"], columns=list("abcd")), v["X_priv"]) if kind == "teacher"
                else (pd.DataFrame(v["X"], columns=list("abcd")),))), "error_or_ok", "X")
        # sample_weight of score.
        for label, weight, expect in [
            ("one short", lambda n: np.ones(n - 1), "error"),
            # scikit-learn's scores accept negative weights.
            ("negative", lambda n: -np.ones(n), "error_or_ok"),
            ("NaN", lambda n: with_cell(np.ones(n), 0, NAN), "error"),
            ("inf", lambda n: with_cell(np.ones(n), 0, INF), "error"),
            ("all zero", lambda n: np.zeros(n), "error"),
            ("strings", lambda n: np.array(["a"] * n), "error"),
            ("2-D", lambda n: np.ones((n, 2)), "error"),
            ("ones", lambda n: np.ones(n), "ok"),
        ]:
            def call(estimator, v, weight=weight, kind=kind):
                args = (v["X"], v["y"], v["X_priv"]) if kind == "teacher" else (v["X"], v["y"])
                return estimator.score(*args, sample_weight=weight(len(v["X"])))
            add(f"score {owner}: sample_weight {label}", "sample_weight",
                call_case(make, data, call), expect, SAMPLE_WEIGHT)
    # The teacher's X_priv at prediction.
    bad_priv = [
        ("None after a fit with X_priv", lambda P: None),
        ("2 features instead of 3", lambda P: P[:, :2]),
        ("one row short", lambda P: P[:-1]),
        ("a NaN cell", lambda P: with_cell(P, (0, 0), NAN)),
        ("a 1e300 cell", lambda P: with_cell(P, (0, 0), 1e300)),
        ("1-D", lambda P: P[:, 0]),
    ]
    for method in ("predict", "transform", "transform_modalities"):
        for label, change in bad_priv:
            if method != "predict" and label not in ("None after a fit with X_priv",
                                                     "2 features instead of 3"):
                continue
            add(f"{method} PrivilegedTeacher: X_priv {label}", "predict",
                _predict_case(teacher, method,
                              lambda v, change=change: (v["X"], change(v["X_priv"]))),
                "error", "X_priv")
    for method in ("predict", "predict_proba"):
        add(f"{method} PKDOTStudent: with X_priv", "predict",
            _predict_case(student, method, lambda v: (v["X"], v["X_priv"])), "error", "X_priv")
    add("predict_proba PKDOTStudent(task='regression')", "predict",
        _predict_case(functools.partial(student, task="regression"), "predict_proba",
                      lambda v: (v["X"],), functools.partial(data, "reg")),
        "error", "predict_proba", ("AttributeError",))
    add("hallucinated_embeddings PKDOTStudent(hallucinate=False)", "predict",
        _predict_case(student, "hallucinated_embeddings", lambda v: (v["X"],)),
        "error", "hallucinate|hallucinated_embeddings", ("AttributeError",))


# ============================================================ the losses
def _cloud(n=8, d=4, seed=0, dtype=torch.float32):
    return torch.rand(n, d, generator=torch.Generator().manual_seed(seed)).to(dtype)


# (function, names of its two tensor arguments, same width needed, extra kwargs)
PAIR_LOSSES = {
    "pkdot_loss": (losses.pkdot_loss, ("student_emb", "teacher_emb"), False, {}),
    "pkdot_loss normalize=True anchors='all'": (
        losses.pkdot_loss, ("student_emb", "teacher_emb"), False,
        dict(normalize=True, anchors="all")),
    "logit_kd_loss": (losses.logit_kd_loss, ("student_logits", "teacher_logits"), True, {}),
    "generalized_distillation_loss": (losses.generalized_distillation_loss,
                                      ("student_output", "teacher_output"), True, {}),
    "feature_distillation_loss": (losses.feature_distillation_loss,
                                  ("student_projected", "teacher_emb"), True, {}),
    "rkd_loss": (losses.rkd_loss, ("student_emb", "teacher_emb"), False, {}),
    "similarity_preserving_loss": (losses.similarity_preserving_loss,
                                   ("student_emb", "teacher_emb"), False, {}),
    "pkt_loss": (losses.pkt_loss, ("student_emb", "teacher_emb"), False, {}),
}


def _with_nan(tensor, value=NAN):
    tensor = tensor.clone()
    tensor.view(-1)[5] = value
    return tensor


BAD_TENSORS = [
    ("numpy", lambda t: t.numpy()),
    ("int64 tensor", lambda t: t.to(torch.int64)),
    ("a list", lambda t: t.tolist()),
    ("a NaN", lambda t: _with_nan(t)),
    ("an inf", lambda t: _with_nan(t, INF)),
    ("1-D", lambda t: t[:, 0]),
    ("3-D", lambda t: t.reshape(t.shape[0], 1, -1)),
    ("one row short", lambda t: t[:-1]),
]


def _loss_value_problems(value, inputs, *, dtype=None):
    """A loss must be a finite scalar tensor (of the input dtype), with finite gradients."""
    problems = []
    if not isinstance(value, torch.Tensor):
        return [f"returned {type(value).__name__}, not a tensor"]
    if value.ndim != 0:
        problems.append(f"returned shape {tuple(value.shape)}, not a scalar")
    if dtype is not None and value.dtype != dtype:
        problems.append(f"returned dtype {value.dtype}, expected {dtype}")
    problems += _finite(value, "the value")
    if value.requires_grad and not problems:
        value.sum().backward()
        for index, tensor in enumerate(inputs):
            if tensor.grad is not None:
                problems += _finite(tensor.grad, f"the gradient of argument {index}")
    return problems


def _loss_run(function, args, kwargs, *, dtype=None, grad=True, compare=None):
    def run():
        tensors = args()
        if grad:
            tensors = [t.requires_grad_(True) if isinstance(t, torch.Tensor)
                       and t.is_floating_point() and i == 0 else t
                       for i, t in enumerate(tensors)]
        with stage("action"):
            value = function(*tensors, **kwargs)
        with stage("check"):
            problems = _loss_value_problems(value, tensors, dtype=dtype)
            if compare is not None and not problems:
                reference = function(*compare(), **kwargs)
                if not torch.allclose(value.detach().double(), reference.detach().double(),
                                      rtol=1e-3, atol=1e-6):
                    problems.append(f"value {float(value.detach()):.6g} differs from "
                                    f"{float(reference.detach()):.6g} at scale 1")
        return problems
    return run


def _good_pair(seed=0, n=8, dtype=torch.float32, scale=(1.0, 1.0), width_t=3):
    return [_cloud(n, 4, seed, dtype) * scale[0], _cloud(n, width_t, seed + 1, dtype) * scale[1]]


def _add_loss_cases():
    for label, (function, names, same_width, kwargs) in PAIR_LOSSES.items():
        width_t = 4 if same_width else 3
        good = functools.partial(_good_pair, width_t=width_t)
        for position, name in enumerate(names):
            for kind, change in BAD_TENSORS:
                def args(change=change, position=position, good=good):
                    tensors = good()
                    tensors[position] = change(tensors[position])
                    return tensors
                add(f"losses.{label}: {name} {kind}", "losses",
                    _loss_run(function, args, kwargs, grad=False), "error",
                    name if kind != "one row short" else "|".join(names))
        # Valid extremes: finite values and gradients.
        # Losses of directions or normalised distances: unchanged by a common scale.
        scale_invariant = function in (losses.pkdot_loss, losses.similarity_preserving_loss,
                                       losses.pkt_loss, losses.rkd_loss)
        typed = function is losses.pkdot_loss  # documented: the loss in the input dtype
        extremes = [
            ("float64", functools.partial(good, dtype=torch.float64),
             torch.float64 if typed else None, None),
            ("float16", functools.partial(good, dtype=torch.float16),
             torch.float16 if typed else None, None),
            ("bfloat16", functools.partial(good, dtype=torch.bfloat16),
             torch.bfloat16 if typed else None, None),
            ("2 rows", functools.partial(good, n=2), None, None),
            ("1 row", functools.partial(good, n=1), None, None),
            ("512 rows", functools.partial(good, n=512), None, None),
            ("identical rows", lambda width_t=width_t: [torch.ones(8, 4), torch.ones(8, width_t)],
             None, None),
            ("zero student rows", lambda good=good: [torch.zeros(8, 4), good()[1]], None, None),
            ("scaled by 1e20", functools.partial(good, scale=(1e20, 1e20)), None,
             good if scale_invariant else None),
            ("scaled by 1e-20", functools.partial(good, scale=(1e-20, 1e-20)), None,
             good if scale_invariant else None),
        ]
        for kind, args, dtype, compare in extremes:
            # Scale-free losses must give the value at scale 1; the others a
            # finite value (or a clear refusal for values beyond their range).
            expect = "ok" if compare is not None or kind in (
                "float64", "float16", "bfloat16", "2 rows", "1 row", "512 rows",
                "identical rows", "zero student rows") else "error_or_ok"
            add(f"losses.{label}: {kind}", "losses extremes",
                _loss_run(function, args, kwargs, dtype=dtype, compare=compare), expect,
                "|".join(names))
        add(f"losses.{label}: 0 rows", "losses extremes",
            _loss_run(function, functools.partial(good, n=0), kwargs), "error_or_ok",
            "|".join(names))
    _add_loss_parameter_cases()


def _pair(n=8, seed=0):
    return [_cloud(n, 4, seed), _cloud(n, 4, seed + 1)]


def _add_loss_parameter_cases():
    pk = losses.pkdot_loss
    param_cases = [
        (pk, "top_k", [0, -1, 2.5, None, "3", NAN]),
        (pk, "anchors", ["bogus", None, 1]),
        (pk, "reg", [0.0, -1.0, NAN, INF, "0.1", None]),
        (pk, "max_iter", [0, -5, 2.5, None]),
        (pk, "tol", [0.0, NAN, INF, -1.0]),
        (losses.logit_kd_loss, "temperature", [0.0, -1.0, NAN, INF, "4"]),
        (losses.generalized_distillation_loss, "temperature", [0.0, NAN, INF]),
        (losses.generalized_distillation_loss, "task", ["bogus", None]),
        (losses.feature_distillation_loss, "metric", ["bogus", None]),
        (losses.rkd_loss, "distance_weight", [NAN, INF, -1.0, "25"]),
        (losses.rkd_loss, "angle_weight", [NAN, INF, -1.0]),
        (losses.pkt_loss, "eps", [-1.0, NAN, INF]),
    ]
    for function, param, values in param_cases:
        for value in values:
            add(f"losses.{function.__name__}({param}={value!r})", "losses parameters",
                _loss_run(function, _pair, {param: value}, grad=False), "error", param)
    add("losses.pkt_loss(eps=0.0)", "losses parameters",
        _loss_run(losses.pkt_loss, _pair, dict(eps=0.0)), "error_or_ok", "eps")
    for value in (1e-12, 1e6):
        add(f"losses.pkdot_loss(reg={value:g}) valid", "losses extremes",
            _loss_run(pk, _pair, dict(reg=value)), "ok")
    add("losses.pkdot_loss(reg=1e-6) float32 512 rows", "losses extremes",
        _loss_run(pk, lambda: _pair(512), dict(reg=1e-6)), "ok")
    add("losses.pkdot_loss(max_iter=1) valid", "losses extremes",
        _loss_run(pk, _pair, dict(max_iter=1)), "ok")
    add("losses.pkdot_loss(top_k=10**9) valid", "losses extremes",
        _loss_run(pk, _pair, dict(top_k=10**9)), "ok")

    # ccc_loss: y_pred and y_true of shape (B,) or (B, k).
    def ccc_pair(n=8, change=None, position=0):
        pair = [_cloud(n, 1, 0)[:, 0], _cloud(n, 1, 1)[:, 0]]
        if change is not None:
            pair[position] = change(pair[position])
        return pair
    for position, name in enumerate(("y_pred", "y_true")):
        for kind, change in BAD_TENSORS:
            if kind == "1-D":
                continue
            names = name if kind != "one row short" else "y_pred|y_true"
            add(f"losses.ccc_loss: {name} {kind}", "losses",
                _loss_run(losses.ccc_loss, functools.partial(ccc_pair, change=change,
                                                             position=position), {},
                          grad=False), "error", names)
    for kind, args, expect in [
        ("1 row", lambda: ccc_pair(1), "error_or_ok"),
        ("constant y_pred", lambda: [torch.ones(8), _cloud(8, 1, 1)[:, 0]], "ok"),
        ("scaled by 1e20", lambda: [t * 1e20 for t in ccc_pair()], "error_or_ok"),
        ("float64", lambda: [t.double() for t in ccc_pair()], "ok"),
        ("2-D, 3 outputs", lambda: [_cloud(8, 3, 0), _cloud(8, 3, 1)], "ok"),
    ]:
        add(f"losses.ccc_loss: {kind}", "losses extremes",
            _loss_run(losses.ccc_loss, args, {}), expect, "y_pred|y_true")
    for value in (-1.0, NAN, "x"):
        add(f"losses.ccc_loss(eps={value!r})", "losses parameters",
            _loss_run(losses.ccc_loss, ccc_pair, dict(eps=value), grad=False), "error", "eps")

    # cosine_similarity_matrix (NaN in, NaN out is its documented arithmetic: not a case).
    for kind, change in [k for k in BAD_TENSORS if k[0] in ("numpy", "int64 tensor", "a list",
                                                            "1-D", "3-D")]:
        add(f"losses.cosine_similarity_matrix: embeddings {kind}", "losses",
            _loss_run(lambda e: losses.cosine_similarity_matrix(e).sum(),
                      lambda change=change: [change(_cloud())], {}, grad=False),
            "error", "embeddings")

    # Several teachers.
    mt = losses.multi_teacher_loss
    student_t, teachers_t = _cloud(8, 4, 0), _cloud(8, 6, 1)
    multi = [
        ("widths summing to 5 for 6 columns", dict(widths=[3, 2], weights=[1, 1]), "widths"),
        ("one weight for two widths", dict(widths=[3, 3], weights=[1]), "weights"),
        ("a NaN weight", dict(widths=[3, 3], weights=[1, NAN]), "weights"),
        ("a negative width", dict(widths=[-3, 9], weights=[1, 1]), "widths"),
        ("teachers as numpy", dict(widths=[3, 3], weights=[1, 1], teachers="numpy"),
         "teachers"),
        ("loss not callable", dict(widths=[3, 3], weights=[1, 1], loss="pkdot"), "loss"),
    ]
    for label, kwargs, names in multi:
        kwargs = dict(kwargs)
        teachers_arg = teachers_t.numpy() if kwargs.pop("teachers", None) else teachers_t
        kwargs.setdefault("loss", losses.pkdot_loss)
        add(f"losses.multi_teacher_loss: {label}", "losses parameters",
            _loss_run(mt, lambda t=teachers_arg: [student_t.clone(), t], kwargs, grad=False),
            "error", names)
    add("losses.multi_teacher_loss valid", "losses extremes",
        _loss_run(mt, lambda: [student_t.clone(), teachers_t.clone()],
                  dict(loss=losses.pkdot_loss, widths=[3, 3], weights=[0.5, 0.5])), "ok")
    for label, value in [("a NaN", torch.tensor([1.0, NAN])), ("empty", torch.zeros(0)),
                         ("3-D", torch.zeros(2, 2, 2)), ("numpy", np.array([1.0, 2.0]))]:
        add(f"losses.best_teacher_index: teacher_losses {label}", "losses parameters",
            _loss_run(lambda v: torch.tensor(float(losses.best_teacher_index(v))),
                      lambda value=value: [value], {}, grad=False), "error", "teacher_losses")
    add("losses.best_teacher_loss: 3 teacher losses for 2 widths", "losses parameters",
        _loss_run(losses.best_teacher_loss,
                  lambda: [student_t.clone(), teachers_t, torch.ones(3)],
                  dict(loss=losses.pkdot_loss, widths=[3, 3]), grad=False),
        "error", "teacher_losses|widths")


# ------------------------------------------------------------------ metrics
def _metric_run(call):
    def run():
        with stage("action"):
            value = call()
        with stage("check"):
            return _finite(value, "the score")
    return run


def _add_metric_cases():
    ccc = metrics.concordance_correlation_coefficient
    rng = np.random.RandomState(0)
    t, p = rng.randn(20), rng.randn(20)
    bad = [
        ("a NaN", lambda a: with_cell(a, 3, NAN)),
        ("an inf", lambda a: with_cell(a, 3, INF)),
        ("strings", lambda a: a.astype(str).astype(object) + "x"),
        ("one row short", lambda a: a[:-1]),
        ("3-D", lambda a: a[:, None, None]),
        ("complex", lambda a: a + 1j),
        ("None", lambda a: None),
    ]
    for position, name in enumerate(("y_true", "y_pred")):
        for label, change in bad:
            def call(change=change, position=position):
                args = [t.copy(), p.copy()]
                args[position] = change(args[position])
                return ccc(*args)
            add(f"metrics.concordance_correlation_coefficient: {name} {label}", "metrics",
                _metric_run(call), "error",
                name if label != "one row short" else "y_true|y_pred")
    for label, weight in [("one short", np.ones(19)), ("negative", -np.ones(20)),
                          ("NaN", with_cell(np.ones(20), 0, NAN)),
                          ("all zero", np.zeros(20)), ("strings", np.array(["a"] * 20)),
                          ("2-D", np.ones((20, 2))), ("inf", with_cell(np.ones(20), 0, INF))]:
        add(f"metrics.concordance_correlation_coefficient: sample_weight {label}",
            "sample_weight", _metric_run(lambda w=weight: ccc(t, p, sample_weight=w)),
            "error", SAMPLE_WEIGHT)
    for label, value in [("'bogus'", "bogus"), ("[1, 2] for one output", [1, 2]),
                         ("[nan]", [NAN]), ("None", None)]:
        add(f"metrics.concordance_correlation_coefficient: multioutput={label}", "metrics",
            _metric_run(lambda v=value: ccc(t, p, multioutput=v)), "error", "multioutput")
    for label, args, expect in [
        ("values near 1e200", lambda: ccc(t * 1e200 + 1e200, p * 1e200 + 1e200), "ok"),
        ("values near 1e-200", lambda: ccc(t * 1e-200, p * 1e-200), "ok"),
        ("constant y_pred", lambda: ccc(t, np.ones(20)), "ok"),
        ("both constant", lambda: ccc(np.ones(20), np.ones(20)), "error_or_ok"),
        ("1 row", lambda: ccc(t[:1], p[:1]), "error_or_ok"),
        ("0 rows", lambda: ccc(t[:0], p[:0]), "error_or_ok"),
        ("weights of 1e300", lambda: ccc(t, p, sample_weight=np.full(20, 1e300)), "ok"),
        ("lists", lambda: ccc(t.tolist(), p.tolist()), "ok"),
    ]:
        add(f"metrics.concordance_correlation_coefficient: {label}", "metrics extremes",
            _metric_run(args), expect, "y_true|y_pred")
    for label, value in [("'bogus'", "bogus"), ("5", 5), ("'CCC'", "CCC")]:
        add(f"metrics.get_scorer({label})", "metrics",
            _metric_run(lambda v=value: metrics.get_scorer(v) and None), "error", "scoring")

    def scorer_nan_model():
        from sklearn.dummy import DummyRegressor

        class NaNRegressor(DummyRegressor):
            def predict(self, X):
                return np.full(len(X), NAN)
        X = rng.randn(20, 2)
        model = NaNRegressor().fit(X, t)
        return metrics.ccc_scorer(model, X, t)
    add("metrics.ccc_scorer: a model predicting NaN", "metrics", _metric_run(scorer_nan_model),
        "error", "y_pred")


# ======================================================= extreme settings
def _add_extreme_cases():
    for kind, owner in (("student", "PKDOTStudent"), ("teacher", "PrivilegedTeacher")):
        make = MAKERS[kind]

        def E(label, params=None, d=data, expect="ok", names=(), allow_constant=False,
              contract=None, make=make, owner=owner):
            maker = functools.partial(make, **(params or {}))
            add(f"extreme {owner}: {label}", "extreme settings",
                fit_case(maker, d, allow_constant=allow_constant, contract=contract),
                expect, names)

        E("lr=1e-12", dict(lr=1e-12))
        E("lr=10", dict(lr=10.0), expect="error_or_ok", names="lr")
        E("lr=1e6", dict(lr=1e6), expect="error", names="lr")
        E("lr=1e30", dict(lr=1e30), expect="error", names="lr")
        E("weight_decay=1e30", dict(weight_decay=1e30), expect="error_or_ok",
          names="weight_decay")
        E("batch_size=2", dict(batch_size=2))
        E("batch_size=10**9", dict(batch_size=10**9))
        E("batch_size=39 (a last batch of one row)", dict(batch_size=39))
        E("max_epochs=1, batch_size=40 (one step)", dict(max_epochs=1, batch_size=40))
        E("hidden_units=()", dict(hidden_units=()))
        E("hidden_units=(4096,)", dict(hidden_units=(4096,)))
        E("hidden_units=(4, 4, 4, 4, 4, 4)", dict(hidden_units=(4,) * 6))
        E("embedding_dim=1", dict(embedding_dim=1), names="embedding_dim")
        E("embedding_dim=1024", dict(embedding_dim=1024))
        E("dropout=0.99", dict(dropout=0.99))
        E("standardize=False", dict(standardize=False))
        E("validation_fraction=0.5", dict(validation_fraction=0.5))
        E("validation_fraction=0.01 (holds out 0 rows)", dict(validation_fraction=0.01),
          expect="error", names="validation_fraction")
        E("X scaled by 1e-30", d=_mutated(kind, _set("X", lambda v: v["X"] * 1e-30)))
        E("X scaled by 1e30", d=_mutated(kind, _set("X", lambda v: v["X"] * 1e30)))
        E("X scaled by 1e30, standardize=False", dict(standardize=False),
          d=_mutated(kind, _set("X", lambda v: v["X"] * 1e30)), expect="error_or_ok",
          names="X|standardize")
        E("X scaled by 1e-30, standardize=False", dict(standardize=False),
          d=_mutated(kind, _set("X", lambda v: v["X"] * 1e-30)), expect="error_or_ok",
          names="X|standardize")
        E("X_priv scaled by 1e30", d=_mutated(kind, _set("X_priv", lambda v: v["X_priv"] * 1e30)))
        E("X_priv scaled by 1e-30",
          d=_mutated(kind, _set("X_priv", lambda v: v["X_priv"] * 1e-30)))
        E("X columns of scales 1e-10 to 1e10", d=_mutated(kind, _set(
            "X", lambda v: v["X"] * np.logspace(-10, 10, N_FEATURES))))
        E("a constant column in X", d=_mutated(kind, _set(
            "X", lambda v: np.column_stack([v["X"][:, :-1], np.full(40, 7.0)]))))
        E("X constant", d=_mutated(kind, _set("X", lambda v: np.ones_like(v["X"]))),
          allow_constant=True)
        E("X_priv constant", d=_mutated(kind, _set("X_priv", lambda v: np.ones_like(v["X_priv"]))))
        E("X_priv all zero", d=_mutated(kind, _set("X_priv", lambda v: np.zeros_like(
            v["X_priv"]))))
        E("one feature in X", d=_mutated(kind, _set("X", lambda v: v["X"][:, :1])))
        E("one feature in X_priv", d=_mutated(kind, _set("X_priv", lambda v: v["X_priv"][:, :1])))
        E("2000 features in X", d=_mutated(kind, _set(
            "X", lambda v: np.tile(v["X"], 500) + np.random.RandomState(0).randn(40, 2000))))
        E("every row duplicated 10 times", d=_mutated(kind, lambda v: v.update(
            {k: np.repeat(v[k][:4], 10, axis=0) for k in ("X", "X_priv", "y", "groups")})),
          expect="error_or_ok", names="y")
        E("identical rows, different labels", d=_mutated(kind, lambda v: v.update(
            X=np.ones_like(v["X"]), X_priv=np.ones_like(v["X_priv"]))), allow_constant=True)
        E("one row per class (3 rows)", d=_mutated(kind, lambda v: v.update(
            {k: v[k][[0, 1, 5]] for k in ("X", "X_priv", "y", "groups")})),
          expect="error_or_ok", names="y|X")
        E("two rows", d=_mutated(kind, lambda v: v.update(
            {k: v[k][[0, 1]] for k in ("X", "X_priv", "y", "groups")})),
          expect="error_or_ok", names="y|X")
        E("one row", d=_mutated(kind, lambda v: v.update(
            {k: v[k][:1] for k in ("X", "X_priv", "y", "groups")})),
          expect="error_or_ok", names="y|X")
        E("40 classes of one row", d=_mutated(kind, _set("y", lambda v: np.arange(40))),
          expect="error_or_ok", names="y")
        E("a class of one row", d=_mutated(kind, _set(
            "y", lambda v: np.where(np.arange(40) == 7, 9, v["y"]))))
        E("a class of one row, validation_fraction=0.2", dict(validation_fraction=0.2),
          d=_mutated(kind, _set("y", lambda v: np.where(np.arange(40) == 7, 9, v["y"]))),
          expect="error", names="validation_fraction")
        E("ordinal, 4 levels", dict(task="ordinal"), d=functools.partial(data, "ord"))
        E("ordinal, levels 0, 5, 10", dict(task="ordinal"), d=_mutated(
            kind, _set("y", lambda v: v["y"] * 5), "ord"))
        E("ordinal, 2 levels", dict(task="ordinal"), d=_mutated(
            kind, _set("y", lambda v: (v["y"] > 1).astype(int)), "ord"))
        E("ordinal, string levels", dict(task="ordinal"), d=_mutated(
            kind, _set("y", lambda v: np.array(list("abcd"))[v["y"]]), "ord"),
          expect="error", names="y")
        E("ordinal, one level", dict(task="ordinal"), d=_mutated(
            kind, _set("y", lambda v: np.zeros(40, int)), "ord"), expect="error", names="y")
        E("regression ccc, batch_size=2", dict(task="regression", regression_loss="ccc",
                                                batch_size=2), d=functools.partial(data, "reg"))
        # Sequences of odd shapes.
        E("sequences (40, 5, 4) and (40, 5, 3)", d=sequences)
        E("sequences of one step", d=functools.partial(sequences, 1, 1))
        E("sequences of 60 steps, one feature", d=functools.partial(sequences, 60, 60, 1, 1))
        E("3-D X with 2-D X_priv", d=functools.partial(sequences, 5, None))
        E("2-D X with 3-D X_priv", d=_mutated(kind, lambda v: v.update(
            X_priv=sequences()["X_priv"])))
        E("X_priv sequences of 7 steps, X of 5", d=functools.partial(sequences, 5, 7))
        E("sequences of 0 steps", d=functools.partial(sequences, 0, 0), expect="error",
          names="X")
        E("sequences of 0 features", d=functools.partial(sequences, 5, 5, 0), expect="error",
          names="X")
        E("sequences with a NaN", d=lambda: {**sequences(), "X": with_cell(
            sequences()["X"], (0, 0, 0), NAN)}, expect="error", names="X")
        E("sequences, batch_size=1", dict(batch_size=1, distillation="none")
          if kind == "student" else dict(batch_size=1), d=sequences)
        E("DataFrames with string columns", d=_mutated(kind, lambda v: v.update(
            X=pd.DataFrame(v["X"], columns=list("abcd")),
            X_priv=pd.DataFrame(v["X_priv"], columns=["p0", "p1", "p2"]))))

    # The teacher's modalities and fusion.
    def T(label, params, d=data, expect="ok", names=()):
        add(f"extreme PrivilegedTeacher: {label}", "extreme settings",
            fit_case(functools.partial(teacher, **params), d), expect, names)
    T("fusion='attention', embedding_dim=3", dict(fusion="attention", embedding_dim=3),
      names="embedding_dim")
    T("priv_groups of one column each", dict(priv_groups=[[0], [1], [2]], fusion="attention"))
    T("priv_groups by name on a DataFrame", dict(priv_groups={"a": ["p0", "p1"], "b": ["p2"]}),
      d=_mutated("teacher", _set("X_priv", lambda v: pd.DataFrame(
          v["X_priv"], columns=["p0", "p1", "p2"]))))
    T("a modality dropped", dict(priv_groups={"a": [0, 1], "b": [2]}, priv_module={"b": "drop"}))

    # The student's distillation settings.
    def S(label, params, d=data, expect="ok", names=(), contract=None, allow_constant=False):
        add(f"extreme PKDOTStudent: {label}", "extreme settings",
            fit_case(functools.partial(student, **params), d, contract=contract,
                     allow_constant=allow_constant), expect, names)
    for method in ("pkdot", "logit", "gd", "feature", "rkd", "sp", "pkt"):
        S(f"distillation='{method}', batch_size=2", dict(distillation=method, batch_size=2),
          contract=distilled(True, True))
    S("ot_reg=1e-8", dict(ot_reg=1e-8), expect="error_or_ok", names="ot_reg")
    S("ot_reg=1e-4, batch_size=40", dict(ot_reg=1e-4, batch_size=40), expect="error_or_ok",
      names="ot_reg")
    S("ot_reg=1e6", dict(ot_reg=1e6))
    S("ot_weight=1e6", dict(ot_weight=1e6), expect="error_or_ok", names="ot_weight")
    S("ot_weight=1e30", dict(ot_weight=1e30), expect="error_or_ok", names="ot_weight")
    S("ot_max_iter=1, ot_tol=1e-12", dict(ot_max_iter=1, ot_tol=1e-12))
    S("top_k=1, anchors='least_similar'", dict(top_k=1, anchors="least_similar"))
    S("top_k=1, anchors='most_similar'", dict(top_k=1, anchors="most_similar"))
    S("ot_center=True, ot_normalize=False", dict(ot_center=True, ot_normalize=False))
    S("ot_warmup=10**6", dict(ot_warmup=10**6))
    S("temperature=1e-6, logit", dict(distillation="logit", temperature=1e-6),
      expect="error_or_ok", names="temperature")
    S("temperature=1e6, logit", dict(distillation="logit", temperature=1e6))
    S("distillation_weight=1e30, sp", dict(distillation="sp", distillation_weight=1e30),
      expect="error_or_ok", names="distillation_weight")
    S("hallucinate=True", dict(hallucinate=True), contract=lambda s: [] if getattr(
        s, "hallucinated_modalities_", None) else ["hallucinated_modalities_ missing"])
    S("hallucinate=True, hallucination_weight=1e30", dict(hallucinate=True,
                                                         hallucination_weight=1e30),
      expect="error_or_ok", names="hallucination_weight")
    S("hallucinate=True without X_priv", dict(hallucinate=True),
      d=_mutated("student", _set("X_priv", None)), expect="error", names="X_priv|hallucinate")
    S("two teachers, best_per_batch", dict(teacher=[teacher(), teacher(fusion="attention")],
                                          teacher_selection="best_per_batch"),
      contract=distilled(True, True))
    S("two teachers, weights [0, 1]", dict(teacher=[teacher(), teacher()],
                                          teacher_weights=[0, 1]),
      contract=distilled(True, True))
    S("regression, gd", dict(task="regression", distillation="gd"),
      d=functools.partial(data, "reg"))
    S("ordinal, best_per_batch", dict(task="ordinal", teacher=[teacher(task="ordinal")] * 2,
                                      teacher_selection="best_per_batch"),
      d=functools.partial(data, "ord"))
    S("safeguard='validation' on 40 rows", dict(safeguard="validation"),
      contract=lambda s: [] if isinstance(s.safeguard_, dict) else ["safeguard_ is not a dict"])
    S("safeguard='validation', regression ccc", dict(safeguard="validation", task="regression",
                                                     regression_loss="ccc"),
      d=functools.partial(data, "reg"))
    S("safeguard='validation' on 6 rows", dict(safeguard="validation"),
      d=_mutated("student", lambda v: v.update(
          {k: v[k][[0, 1, 2, 5, 6, 7]] for k in ("X", "X_priv", "y", "groups")})),
      expect="error_or_ok", names="y|safeguard|safeguard_fraction")
    S("safeguard_fraction=0.99", dict(safeguard="validation", safeguard_fraction=0.99),
      expect="error_or_ok", names="safeguard_fraction")
    S("safeguard_fraction=0.01", dict(safeguard="validation", safeguard_fraction=0.01),
      expect="error_or_ok", names="safeguard_fraction")
    # Documented contracts of distilled_ and teacher_.
    S("contract: safeguard=None distils", dict(), contract=distilled(True, True))
    S("contract: distillation='none'", dict(distillation="none"),
      contract=distilled(False, False))
    S("contract: ot_weight=0", dict(ot_weight=0.0), contract=distilled(False, False))
    S("contract: distillation_weight=0, rkd", dict(distillation="rkd", distillation_weight=0),
      contract=distilled(False, False))
    S("contract: teacher_weights=[0] for one teacher", dict(teacher_weights=[0]),
      expect="error_or_ok", names="teacher_weights", contract=distilled(False, False))
    add("extreme PKDOTStudent: fit without X_priv warns", "extreme settings",
        fit_case(student, _mutated("student", _set("X_priv", None)),
                 contract=distilled(False, False)), "warn", "X_priv", "PrivilegedDataWarning")
    add("extreme PrivilegedTeacher: fit without X_priv warns", "extreme settings",
        fit_case(teacher, _mutated("teacher", _set("X_priv", None))), "warn", "X_priv",
        "PrivilegedDataWarning")
    add("extreme PKDOTStudent: ot_max_iter=1 warns of unconverged solves", "extreme settings",
        fit_case(functools.partial(student, ot_max_iter=1, ot_tol=1e-9, ot_reg=1e-3), data),
        "warn", "ot_max_iter", "ConvergenceWarning")


# ================================================================ lifecycle
def _lifecycle(label, run, expect="ok", names=(), types=()):
    add(f"lifecycle: {label}", "lifecycle", run, expect, names, types)


def _predictions(estimator, d):
    return outputs(estimator, d["X"], d["X_priv"])


def _failed_refit(kind, failure):
    """fit(good); fit(bad) raises; the model must be the one of the first fit."""
    def run():
        problems = []
        d = data()
        estimator = MAKERS[kind]()
        fit(estimator, d, problems)
        before = _predictions(estimator, d)
        with stage("action"):
            bad = data()
            if failure == "lr=1e30":
                estimator.set_params(lr=1e30)
            elif failure == "X_priv with 1e300":
                bad["X_priv"] = with_cell(bad["X_priv"], (5, 1), 1e300)
            elif failure == "other features and classes":
                bad = dict(X=d["X"][:30, :3], X_priv=d["X_priv"][:30, :2],
                           y=np.where(d["y"][:30] == 0, "a", "b").astype(object),
                           groups=None)
                bad["y"][4] = None
            try:
                fit(estimator, bad, [])
                problems.append(f"the refit with {failure} did not raise")
            except (ValueError, TypeError):
                pass
            estimator.set_params(lr=1e-3)
        with stage("check"):
            after = _predictions(estimator, d)
            if not np.array_equal(before, after, equal_nan=True):
                problems.append("predictions changed after the failed refit "
                                f"(finite: {bool(np.isfinite(after).all())})")
            problems += sanity(estimator, d["X"], d["X_priv"])
            fit(estimator, data(), problems)
            problems += sanity(estimator, d["X"], d["X_priv"])
        return problems
    return run


def _failed_fit_then(kind, then):
    """A first fit that raises, then ``then(estimator, d)`` -> problems."""
    def run():
        d = data()
        estimator = MAKERS[kind](lr=1e30)
        problems = []
        try:
            fit(estimator, d, [])
            problems.append("the fit with lr=1e30 did not raise")
        except (ValueError, TypeError):
            pass
        estimator.set_params(lr=1e-3)
        with stage("action"):
            problems += then(estimator, d)
        return problems
    return run


def _pickle_then_fit(estimator, d):
    restored = pickle.loads(pickle.dumps(estimator))
    problems = []
    fit(restored, d, problems)
    return problems + sanity(restored, d["X"], d["X_priv"])


def _clone_then_fit(estimator, d):
    problems = []
    cloned = clone(estimator)
    fit(cloned, d, problems)
    return problems + sanity(cloned, d["X"], d["X_priv"])


def _predict_unfitted(estimator, d):
    estimator.predict(*_args(estimator, d["X"], d["X_priv"]))
    return ["predict after a failed first fit did not raise"]


def _pickle_fitted(kind):
    def run():
        problems = []
        d = data()
        estimator = fit(MAKERS[kind](), d, problems)
        with stage("action"):
            restored = pickle.loads(pickle.dumps(estimator))
        with stage("check"):
            if not np.array_equal(_predictions(estimator, d), _predictions(restored, d)):
                problems.append("predictions differ after a pickle round trip")
        return problems
    return run


def _deterministic(kind):
    def run():
        problems = []
        d = data()
        with stage("action"):
            first = _predictions(fit(MAKERS[kind](), d, problems), d)
            second = _predictions(fit(MAKERS[kind](), d, problems), d)
        with stage("check"):
            if not np.array_equal(first, second):
                problems.append("two fits with random_state=0 differ")
        return problems
    return run


def _refit_other_shape(kind):
    def run():
        problems = []
        d = data()
        estimator = fit(MAKERS[kind](), d, problems)
        small = dict(X=d["X"][:, :2], X_priv=d["X_priv"][:, :1], y=d["y"], groups=d["groups"])
        with stage("action"):
            fit(estimator, small, problems)
        with stage("check"):
            problems += sanity(estimator, small["X"], small["X_priv"])
            if estimator.n_features_in_ != 2:
                problems.append(f"n_features_in_ is {estimator.n_features_in_} after a refit on "
                                "2 features")
        return problems
    return run


def _unfitted_call(kind, method):
    def run():
        d = data()
        estimator = MAKERS[kind]()
        with stage("action"):
            args = _args(estimator, d["X"], d["X_priv"])
            if method == "score":
                estimator.score(*(args[:1] + (d["y"],) + args[1:]))
            elif method == "hallucinated_embeddings":
                estimator.set_params(hallucinate=True)
                estimator.hallucinated_embeddings(d["X"])
            else:
                getattr(estimator, method)(*args)
        return [f"{method} before fit did not raise"]
    return run


def _add_lifecycle_cases():
    for kind, owner in (("student", "PKDOTStudent"), ("teacher", "PrivilegedTeacher")):
        methods = ["predict", "predict_proba", "score"] + (
            ["transform", "transform_modalities"] if kind == "teacher"
            else ["hallucinated_embeddings"])
        for method in methods:
            _lifecycle(f"{owner}.{method} before fit", _unfitted_call(kind, method), "error",
                       "fit", ("NotFittedError",))
        for failure in ("lr=1e30", "X_priv with 1e300", "other features and classes"):
            _lifecycle(f"{owner} refit failing with {failure} keeps the first model",
                       _failed_refit(kind, failure))
        _lifecycle(f"{owner} pickled after a failed first fit, then fitted",
                   _failed_fit_then(kind, _pickle_then_fit))
        _lifecycle(f"{owner} cloned after a failed first fit, then fitted",
                   _failed_fit_then(kind, _clone_then_fit))
        _lifecycle(f"{owner} predict after a failed first fit",
                   _failed_fit_then(kind, _predict_unfitted), "error", "fit",
                   ("NotFittedError",))
        _lifecycle(f"{owner} deepcopy after a failed first fit, then fitted",
                   _failed_fit_then(kind, lambda e, d: _pickle_then_fit(copy.deepcopy(e), d)))
        _lifecycle(f"{owner} pickle round trip of a fitted model", _pickle_fitted(kind))
        _lifecycle(f"{owner} two fits with random_state=0 agree", _deterministic(kind))
        _lifecycle(f"{owner} refit on fewer features", _refit_other_shape(kind))
        _lifecycle(f"{owner}.set_params(bogus=1)",
                   _metric_run(lambda kind=kind: MAKERS[kind]().set_params(bogus=1) and None),
                   "error", "bogus")
    # A frozen teacher fitted on other data, or broken.
    def frozen(make_teacher, d_teacher=data):
        def make():
            fitted = fit(make_teacher(), d_teacher(), [])
            return student(teacher=FrozenEstimator(fitted))
        return make
    _lifecycle("PKDOTStudent with a frozen teacher fitted on 3 features",
               fit_case(frozen(teacher, _mutated("teacher", _set("X", lambda v: v["X"][:, :3]))),
                        data), "error", "teacher|X")
    _lifecycle("PKDOTStudent with a frozen teacher fitted on 2 privileged features",
               fit_case(frozen(teacher, _mutated("teacher", _set(
                   "X_priv", lambda v: v["X_priv"][:, :2]))), data), "error",
               "teacher|X_priv")

    def nan_teacher():
        fitted = fit(teacher(), data(), [])
        with torch.no_grad():
            for parameter in fitted.net_.module_.parameters():
                parameter.fill_(NAN)
        return student(teacher=FrozenEstimator(fitted))
    _lifecycle("PKDOTStudent with a frozen teacher of NaN weights", fit_case(nan_teacher, data),
               "error", "teacher")
    _lifecycle("PKDOTStudent with a frozen teacher fitted with other classes",
               fit_case(frozen(teacher, _mutated("teacher", _set(
                   "y", lambda v: np.where(v["y"] == 2, 1, v["y"])))), data),
               "error_or_ok", "teacher|classes")
    _lifecycle("PKDOTStudent with a frozen regression teacher for classification",
               fit_case(frozen(functools.partial(teacher, task="regression"),
                               functools.partial(data, "reg")), data),
               "error_or_ok", "teacher|task")


# ------------------------------------------------- the harness's own checks
def _self_test_cases():
    """Cases whose class is known, to check the harness (``--self-test``)."""
    def action(effect):
        def run():
            with stage("action"):
                return effect()
        return run

    def segfault():
        import ctypes
        ctypes.string_at(0)  # reads address 0: SIGSEGV

    def hang():
        time.sleep(10**6)

    def internal():
        return [][1]

    def unclear():
        raise ValueError("something went wrong")

    def clear():
        raise ValueError("X is wrong")

    def divide():
        return 1 / 0
    known = [
        ("segfault", segfault, "error", "crash"),
        ("hang past the timeout", hang, "error", "crash"),
        ("os._exit(3)", lambda: os._exit(3), "error", "crash"),
        ("IndexError", internal, "error", "crash"),
        ("ZeroDivisionError", divide, "ok", "crash"),
        ("a message without the name", unclear, "error", "unclear"),
        ("a message with the name", clear, "error", "clear"),
        ("a broken result", lambda: ["predictions are NaN"], "ok", "silent"),
        ("no error where one is expected", lambda: [], "error", "silent"),
        ("a sane result", lambda: [], "ok", "ok"),
    ]
    for label, effect, expect, expected_class in known:
        add(f"self-test: {label}", "self-test", action(effect), expect, "X")
        SELF_TEST[f"self-test: {label}"] = expected_class


SELF_TEST = {}


def build_cases():
    if CASES:
        return CASES
    _self_test_cases()
    _add_param_cases()
    _add_array_cases()
    _add_predict_cases()
    _add_loss_cases()
    _add_metric_cases()
    _add_extreme_cases()
    _add_lifecycle_cases()
    return CASES


# ================================================================ execution
def _where(tb):
    """Innermost frame of a traceback, and the innermost one in pkdot_sk."""
    def short(frame):
        path = frame.filename.replace(os.sep, "/")
        for marker in ("site-packages/", "/pkdot_sk/", "/benchmarks/"):
            if marker in path:
                path = path.split(marker, 1)[1]
                path = (marker.strip("/") + "/" + path) if marker != "site-packages/" else path
                break
        return f"{path}:{frame.lineno}"
    if not tb:
        return ""
    where = short(tb[-1])
    library = [f for f in tb if "/pkdot_sk/" in f.filename.replace(os.sep, "/")]
    if library and library[-1] is not tb[-1]:
        where += f" (from {short(library[-1])})"
    return where


def run_case(name):
    """Runs one case in this process; returns its report (a dict of plain values)."""
    case = build_cases()[name]
    torch.set_num_threads(1)
    report = dict(name=name, raised=False, problems=[], stage=None)
    start = time.perf_counter()
    stdout = sys.stdout
    sys.stdout = io.StringIO()  # verbose=1 tables
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            _STAGE[0] = "setup"
            try:
                report["problems"] = [str(p) for p in (case.run() or [])]
            except BaseException as exc:  # noqa: BLE001 - everything is reported
                if isinstance(exc, KeyboardInterrupt):
                    raise
                report.update(
                    raised=True, stage=getattr(exc, "_campaign_stage", _STAGE[0]),
                    type=type(exc).__name__,
                    mro=[c.__name__ for c in type(exc).__mro__], message=str(exc),
                    where=_where(traceback.extract_tb(exc.__traceback__)))
        seen = []
        for w in caught:
            item = (w.category.__name__, [c.__name__ for c in w.category.__mro__],
                    str(w.message))
            if item not in seen:
                seen.append(item)
        report["warnings"] = seen[:20]
    finally:
        sys.stdout = stdout
    report["seconds"] = time.perf_counter() - start
    return report


def _child(name, conn):
    try:
        report = run_case(name)
    except BaseException as exc:  # noqa: BLE001
        report = dict(name=name, raised=True, stage="harness", type=type(exc).__name__,
                      mro=[type(exc).__name__], message=str(exc), where="", warnings=[],
                      problems=[], seconds=0.0)
    conn.send(report)
    conn.close()


def run_isolated(name, context, timeout):
    """Runs a case in its own process: a dead or hung process is a report too."""
    receive, send = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(name, send), daemon=True)
    start = time.perf_counter()
    process.start()
    send.close()
    report, answered = None, False
    try:
        answered = receive.poll(timeout)  # a report, or end-of-file when the process died
        if answered:
            report = receive.recv()
    except (EOFError, OSError):
        report = None
    finally:
        receive.close()
    if report is None:
        if answered:
            process.join(30)  # died: wait until its exit status is known
        if process.is_alive():
            process.kill()
            process.join()
            died = (f"no answer within the timeout of {timeout:g} s (killed)" if not answered
                    else "the process closed its pipe without a report and did not exit "
                         "(killed)")
        else:
            code = process.exitcode
            died = (f"the process died with signal {-code}" if code is not None and code < 0
                    else f"the process exited with status {code} without a report")
        report = dict(name=name, died=died, seconds=time.perf_counter() - start,
                      warnings=[], problems=[])
    else:
        process.join(30)
        if process.is_alive():
            process.kill()
            process.join()
    report["wall"] = time.perf_counter() - start
    return report


def _mentions(message, names):
    """Whether ``message`` names every entry of ``names`` ("a|b": either)."""
    missing = []
    for entry in names:
        alternatives = entry.split("|")
        if not any(re.search(rf"(?<![A-Za-z0-9_]){re.escape(alt)}(?![A-Za-z0-9_])", message)
                   for alt in alternatives):
            missing.append(" or ".join(alternatives))
    return missing


def classify(case, report):
    """(class, detail) of a case's report."""
    if "died" in report:
        return "crash", report["died"]
    warned = "; ".join(f"{w[0]}: {w[2]}" for w in report.get("warnings", []))
    if report["raised"]:
        etype, mro, message = report["type"], report["mro"], report["message"]
        text = f"{etype}: {message}"
        if report.get("where"):
            text += f" [at {report['where']}]"
        if report["stage"] == "setup":
            return "crash", f"the case's setup failed (harness bug?): {text}"
        if report["stage"] == "harness":
            return "crash", f"harness error: {text}"
        declared = case.types if case.expect != "warn" else ()
        if declared:
            expected_type = any(t in mro for t in declared)
        else:
            expected_type = any(t in mro for t in CLEAR_TYPES)
        internal = not any(t in mro for t in CLEAR_TYPES + declared) or (
            etype == "TypeError" and _INTERNAL_TYPE_ERROR.search(message)
            and _mentions(message, case.names))
        if internal and not (declared and expected_type):
            return "crash", f"internal error: {text}"
        if report["stage"] == "check":
            return "silent", f"the call returned, then checking its result raised: {text}"
        if case.expect in ("ok", "warn"):
            return "unclear", f"a valid input was refused: {text}"
        if not expected_type:
            wanted = " or ".join(declared or CLEAR_TYPES)
            return "unclear", f"{etype} where {wanted} was expected: {text}"
        missing = _mentions(message, case.names)
        if missing:
            return "unclear", f"the message does not name {' and '.join(missing)}: {text}"
        return "clear", text
    problems = report.get("problems", [])
    if case.expect == "error":
        detail = "no error raised"
        if problems:
            detail += "; " + "; ".join(problems)
        if warned:
            detail += f" (warnings: {warned})"
        return "silent", detail
    if problems:
        # A broken result that a warning naming the argument reports is not silent.
        named = [w for w in report.get("warnings", [])
                 if case.names and not _mentions(w[2], case.names)]
        if named and case.expect in ("ok", "error_or_ok"):
            return "clear", (f"{'; '.join(problems)}, reported by {named[0][0]}: "
                             f"{named[0][2]}")
        return "silent", "; ".join(problems) + (f" (warnings: {warned})" if warned else "")
    if case.expect == "warn":
        matching = [w for w in report.get("warnings", [])
                    if (not case.types or any(t in w[1] for t in case.types))]
        if not matching:
            return "silent", f"no {' or '.join(case.types) or 'warning'} was emitted" + (
                f" (warnings: {warned})" if warned else "")
        named = [w for w in matching if not _mentions(w[2], case.names)]
        if not named:
            return "unclear", f"the warning does not name {case.names}: {matching[0][2]}"
        return "clear", f"{named[0][0]}: {named[0][2]}"
    return "ok", warned


def _context(method):
    if method == "inline":
        return None
    context = multiprocessing.get_context(method)
    if method == "forkserver":
        # Children fork from a server that imported these once.
        context.set_forkserver_preload(["numpy", "pandas", "scipy.sparse", "sklearn", "skorch",
                                        "torch", "torch._dynamo", "pkdot_sk", "pkdot_sk.datasets",
                                        "__main__"])
    return context


def run_campaign(names, n_jobs, timeout, method, progress=True):
    context = _context(method)
    results = {}
    done = 0

    def one(name):
        if context is None:
            report = run_case(name)
            report["wall"] = report["seconds"]
            return report
        return run_isolated(name, context, timeout)

    with ThreadPoolExecutor(max_workers=max(1, n_jobs)) as pool:
        futures = {pool.submit(one, name): name for name in names}
        for future in as_completed(futures):
            name = futures[future]
            report = future.result()
            case = CASES[name]
            report["class"], report["detail"] = classify(case, report)
            results[name] = report
            done += 1
            if progress:
                print(f"[{done}/{len(names)}] {report['class']:7s} {report['wall']:5.1f}s  "
                      f"{name}", file=sys.stderr, flush=True)
    return [results[name] for name in names]


# ================================================================== report
def _cell_text(text, limit=400):
    text = " ".join(str(text).split())
    if len(text) > limit:
        text = text[:limit - 3] + "..."
    return text.replace("|", "\\|")


def _expected(case, form):
    """The expectation in words, e.g. "error naming X_priv"."""
    if not case.names or case.expect == "ok":
        return case.expect
    names = ", ".join(entry.replace("|", " or ") for entry in case.names)
    return f"{case.expect} {form.format(names)}"


def summary(results, elapsed, args):
    counts = {c: 0 for c in CLASSES}
    families = {}
    for r in results:
        counts[r["class"]] += 1
        family = CASES[r["name"]].family
        families.setdefault(family, {c: 0 for c in CLASSES})[r["class"]] += 1
    lines = ["## Summary", "",
             "| class | cases |", "|---|---|"]
    lines += [f"| {c} | {counts[c]} |" for c in CLASSES]
    lines += [f"| total | {len(results)} |", ""]
    lines += ["## By family", "", "| family | " + " | ".join(CLASSES) + " | total |",
              "|---|" + "---|" * (len(CLASSES) + 1)]
    for family, row in families.items():
        lines.append(f"| {family} | " + " | ".join(str(row[c]) for c in CLASSES)
                     + f" | {sum(row.values())} |")
    lines.append("")
    bad = [r for r in results if r["class"] not in ("clear", "ok")]
    lines += ["## Cases neither clear nor ok", ""]
    if bad:
        lines += ["| case | class | expected | what happened |", "|---|---|---|---|"]
        for r in bad:
            case = CASES[r["name"]]
            expected = _expected(case, "naming {}")
            lines.append(f"| {_cell_text(r['name'], 200)} | {r['class']} | "
                         f"{_cell_text(expected, 80)} | {_cell_text(r['detail'])} |")
    else:
        lines.append("None.")
    lines.append("")
    slowest = sorted(results, key=lambda r: -r["wall"])[:5]
    lines += [f"{len(results)} cases in {elapsed:.0f} s with --n-jobs {args.n_jobs} "
              f"({args.start_method}); slowest: "
              + ", ".join(f"{r['name']} ({r['wall']:.1f} s)" for r in slowest) + ".", ""]
    return "\n".join(lines)


def full_table(results):
    lines = ["## Every case", "", "| case | expected | class | outcome |", "|---|---|---|---|"]
    for r in results:
        case = CASES[r["name"]]
        expected = _expected(case, "({})")
        lines.append(f"| {_cell_text(r['name'], 200)} | {_cell_text(expected, 80)} | "
                     f"{r['class']} | {_cell_text(r['detail'], 240)} |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-jobs", type=int, default=2, help="cases run at once (default 2)")
    parser.add_argument("--limit", type=int, default=None, help="run the first N cases only")
    parser.add_argument("--only", default=None, help="run the cases whose name matches REGEX")
    parser.add_argument("--sample", type=int, default=None,
                        help="run N cases drawn at random (after --only), seeded by --seed")
    parser.add_argument("--seed", type=int, default=0, help="seed of --sample (default 0)")
    parser.add_argument("--timeout", type=float, default=120.0,
                        help="seconds before a case counts as hung (default 120)")
    parser.add_argument("--start-method", default="forkserver",
                        choices=["forkserver", "spawn", "fork", "inline"],
                        help="how case processes start; 'inline' runs in this process "
                             "(debugging only: a crash ends the campaign)")
    parser.add_argument("--details", action="store_true",
                        help="also print the outcome of every case")
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    parser.add_argument("--self-test", action="store_true",
                        help="run only the harness's own cases (a segfault, a hang, an "
                             "internal error, ...) and check their classes")
    parser.add_argument("--output", default=None,
                        help="markdown file to write (default: results/robustness.md for a "
                             "full run, nothing for a subset)")
    args = parser.parse_args(argv)
    if args.start_method == "forkserver" and "forkserver" not in \
            multiprocessing.get_all_start_methods():
        args.start_method = "spawn"

    cases = build_cases()
    if args.self_test:
        names = list(SELF_TEST)
        results = run_campaign(names, args.n_jobs, min(args.timeout, 10.0), args.start_method)
        wrong = [r for r in results if r["class"] != SELF_TEST[r["name"]]]
        for r in results:
            print(f"{'FAIL' if r in wrong else 'ok  '} {r['name']}: {r['class']} "
                  f"(expected {SELF_TEST[r['name']]}) {_cell_text(r['detail'], 160)}")
        print(f"{len(results) - len(wrong)} of {len(results)} self-test cases classified "
              "as expected")
        return 1 if wrong else 0
    names = [name for name in cases if name not in SELF_TEST]
    if args.only:
        pattern = re.compile(args.only)
        names = [n for n in names if pattern.search(n)]
    if args.sample is not None and args.sample < len(names):
        keep = set(np.random.RandomState(args.seed).choice(len(names), args.sample,
                                                           replace=False).tolist())
        names = [n for i, n in enumerate(names) if i in keep]
    if args.limit is not None:
        names = names[:args.limit]
    if args.list:
        for name in names:
            case = cases[name]
            print(f"{case.expect:11s} {name}")
        print(f"{len(names)} cases", file=sys.stderr)
        return 0
    subset = args.only is not None or args.limit is not None or args.sample is not None
    start = time.perf_counter()
    results = run_campaign(names, args.n_jobs, args.timeout, args.start_method)
    elapsed = time.perf_counter() - start
    text = summary(results, elapsed, args)
    print(text)
    if args.details:
        print(full_table(results))
    output = args.output or (None if subset else RESULTS / "robustness.md")
    if output is not None:
        header = (
            "# Robustness campaign\n\n"
            "Generated by `python benchmarks/robustness.py`: bad inputs and extreme settings "
            "against the public API, each case in its own process. Classes: clear (the "
            "expected error naming the argument), ok (a sane result), silent (no error but a "
            "broken result, or no error where one was expected), unclear (an error that does "
            "not name the argument, or a valid input refused), crash (the process died or "
            "hung, or an internal error type).\n\n"
            f"Machine: {platform.platform()}, Python {platform.python_version()}, torch "
            f"{torch.__version__}, {os.cpu_count()} CPUs.\n\n")
        Path(output).parent.mkdir(parents=True, exist_ok=True)
        Path(output).write_text(header + text + "\n" + full_table(results))
        print(f"wrote {output}", file=sys.stderr)
    return 0 if all(r["class"] in ("clear", "ok") for r in results) else 1


if __name__ == "__mp_main__":
    # This module imported in the forkserver (or a spawned child): the cases
    # and data are built once there, and every forked case inherits them.
    build_cases()
    for _kind in ("clf", "reg", "ord"):
        _dataset(_kind)

if __name__ == "__main__":
    sys.exit(main())
