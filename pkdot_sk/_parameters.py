"""The parameters both estimators share, each declared once.

One entry per parameter: its default, its validation constraints, its
numpydoc entry and whether the student's default teacher takes it. The
entries feed both estimators' ``_parameter_constraints``, their docstrings
(:func:`document_shared_parameters`) and the default teacher. The
``__init__`` signatures still spell the parameters out, as scikit-learn
reads them from there (``get_params``, ``clone``) and readers and editors
expect them there; ``tests/test_estimators.py`` checks that their defaults
are these.
"""

import re
from numbers import Integral, Real
from typing import NamedTuple

import torch
from sklearn.utils._param_validation import Interval, StrOptions
from torch import nn

from ._tasks import TASKS

# Optimisers by name; any torch.optim.Optimizer subclass is accepted too.
OPTIMIZERS = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "sgd": torch.optim.SGD}
from .modules import MODULE_WEIGHTS


class SharedParameter(NamedTuple):
    default: object
    constraints: list
    doc: str
    """The numpydoc entry after ``name : ``: the type line, then the
    description indented by four spaces."""
    default_teacher: bool
    """Whether the student's default teacher (``teacher=None``) takes the
    student's value."""


def _positive_int():
    return [Interval(Integral, 1, None, closed="left")]


SHARED_PARAMETERS = {
    "task": SharedParameter("classification", [StrOptions(set(TASKS))], """\
{"classification", "regression", "ordinal"}, default="classification"
    Classification (binary or multiclass, any label type, cross-entropy),
    regression (single or multi-output, mean squared error on
    standardised targets) or ordinal classification: numeric labels
    whose sorted order is the order of the levels (pain 0..4). Ordinal
    models use a rank-consistent cumulative-link head (CORAL, Cao et al.
    2020): K - 1 binary "above level j?" logits sharing one weight
    vector, trained by binary cross-entropy. ``predict`` returns the
    level all thresholds below it vote for (the median of the predicted
    distribution), ``predict_proba`` the level probabilities, ``score``
    accuracy; use ``scoring="neg_mean_absolute_error"`` for MAE.""", True),
    # The student's encoder reads X only; the teacher's is its own.
    "module": SharedParameter(None, [None, nn.Module], """\
torch.nn.Module or None, default=None
    Encoder of the regular modality X (see :mod:`pkdot_sk.modules` for
    the protocol). None builds an :class:`~pkdot_sk.modules.MLPEncoder`
    for 2-D X and a :class:`~pkdot_sk.modules.TemporalConvEncoder` for
    3-D X (sequences). Every fit trains a copy of the instance (never
    the instance itself), starting from its weights or re-initialised as
    ``module_weights`` says. With BatchNorm layers in the network, a last
    training batch of one row (which BatchNorm cannot normalise) is
    merged into the batch before it.""", False),
    "module_weights": SharedParameter("keep", [StrOptions(set(MODULE_WEIGHTS))], """\
{"keep", "reset"}, default="keep"
    What a fit starts from in the modules passed as instances (``module``,
    and a teacher's ``priv_module`` entries and ``fusion`` module):
    "keep" their weights as they are, e.g. pretrained ones (every fit
    starts again from them; parameters with ``requires_grad=False`` stay
    frozen); "reset" re-initialises them (each layer's
    ``reset_parameters``), seeded by ``random_state``. What the
    estimator builds itself (default encoders, heads, fusion blocks,
    adapters, transformation nets) is always new and seeded by
    ``random_state``. A module that was not pretrained keeps the random
    weights torch drew when it was built (from torch's global generator,
    not ``random_state``): seed torch before building it, or use
    "reset", for fits that repeat.""", False),
    "hidden_units": SharedParameter((128,), [tuple, list], """\
tuple of int, default=(128,)
    Hidden layers of the default encoders (the convolution channels of
    the temporal one): positive ints, ``()`` for none.""", True),
    "embedding_dim": SharedParameter(64, _positive_int(), """\
int, default=64
    Width of the default encoders' embeddings and of the fused embedding.""", True),
    "dropout": SharedParameter(0.1, [Interval(Real, 0, 1, closed="left")], """\
float, default=0.1
    Dropout of the default encoders.""", True),
    "max_epochs": SharedParameter(100, _positive_int(), """\
int, default=100
    Training epochs.""", True),
    "batch_size": SharedParameter(128, _positive_int(), """\
int, default=128
    Mini-batch size (training and inference). PKDOT compares the samples
    of each mini-batch (as do "rkd", "sp" and "pkt"), so a student with
    these needs at least 2, as does ``regression_loss="ccc"`` (a
    ``ValueError`` otherwise).""", True),
    "lr": SharedParameter(1e-3, [Interval(Real, 0, None, closed="neither")], """\
float, default=1e-3
    Learning rate. (The released PKDOT code used 1e-4 with
    pretrained backbones; 1e-3 suits networks trained from scratch.)""", True),
    "weight_decay": SharedParameter(0.0, [Interval(Real, 0, None, closed="left")], """\
float, default=0.0
    Weight decay of the optimiser.""", True),
    "optimizer": SharedParameter("adam", [StrOptions(set(OPTIMIZERS)), type], """\
{"adam", "adamw", "sgd"} or torch.optim.Optimizer subclass, default="adam"
    The torch optimiser (by name, or its class), built with ``lr``,
    ``weight_decay`` and ``optimizer_params``.""", True),
    "optimizer_params": SharedParameter(None, [None, dict], """\
dict or None, default=None
    Further keyword arguments of the optimiser, e.g. ``{"momentum": 0.9}``
    for "sgd" or ``{"betas": (0.9, 0.98)}`` for "adam"; ``lr`` and
    ``weight_decay`` are parameters of their own.""", True),
    # A default teacher's encoders are built new: the student's lr suits them.
    "encoder_lr": SharedParameter(None, [None, Interval(Real, 0, None, closed="neither")], """\
float or None, default=None
    Learning rate of the encoders (``module``, and a teacher's privileged
    encoders); the rest of the network (heads, fusion, adapters,
    transformation nets) trains at ``lr``. A smaller one fine-tunes a
    pretrained encoder gently while its new head learns at ``lr``. None:
    ``lr`` everywhere.""", False),
    # A default teacher holds out the student's rows and stops by its rule.
    "validation_fraction": SharedParameter(
        None, [None, Interval(Real, 0, 1, closed="neither")], """\
float or None, default=None
    None trains on every row (0.1 is used with ``early_stopping=True``). A
    fraction holds out that share of the training rows, or of the groups
    when ``groups`` reach ``fit`` (whole subjects on one side, as in
    leave-one-subject-out evaluation; otherwise stratified by class where
    every class can be), and records ``valid_loss`` and ``valid_score``
    (the task's score: accuracy, minus the mean absolute error in levels
    for ordinal, R^2, or the CCC with ``regression_loss="ccc"``) per
    epoch in ``net_.history``. The rows are drawn from ``random_state``; a
    student and its default teacher hold out the same ones. Without
    groups both sides must keep a row of each class (a ``ValueError``
    otherwise).""", True),
    "early_stopping": SharedParameter(False, ["boolean"], """\
bool, default=False
    Stop training when ``valid_score`` has not improved for
    ``n_iter_no_change`` epochs, and keep the weights of its best epoch
    (scikit-learn's ``MLPClassifier`` names). Holds out
    ``validation_fraction`` of the rows (0.1 when None).""", True),
    "n_iter_no_change": SharedParameter(10, [Interval(Integral, 1, None, closed="left")], """\
int, default=10
    Epochs without a better ``valid_score`` after which
    ``early_stopping`` stops.""", True),
    "callbacks": SharedParameter(None, [None, list], """\
list of skorch callbacks or None, default=None
    Extra skorch callbacks (progress, early stopping, checkpoints); each
    fit uses fresh copies (a student's default teacher too).""", True),
    "class_weight": SharedParameter(None, [None, StrOptions({"balanced"}), dict], """\
None, "balanced" or dict, default=None
    Weights of the classes (or levels) in the task loss, multiplied with
    ``fit``'s ``sample_weight``: a dict ``{label: weight}`` (labels left
    out weigh 1), or "balanced", ``n_samples / (n_classes *
    np.bincount(y))`` as in scikit-learn, so that rare classes (high pain
    levels, rare expressions) count as much as frequent ones. Tasks with
    labels only (a ``ValueError`` for regression).""", True),
    "standardize": SharedParameter(True, ["boolean"], """\
bool, default=True
    Standardise X, X_priv (and regression targets) with training-row
    statistics inside the estimator; for sequences, per feature over
    the samples and steps.""", True),
    "regression_loss": SharedParameter("mse", [StrOptions({"mse", "ccc"})], """\
{"mse", "ccc"}, default="mse"
    Task loss of ``task="regression"``: mean squared error, or
    ``1 - CCC`` per mini-batch averaged over the outputs
    (:func:`pkdot_sk.losses.ccc_loss`), for valence/arousal scored by
    the concordance correlation coefficient. CCC ignores an affine
    change applied to both predictions and targets, so the target
    standardisation does not change it. Other tasks need "mse" (the
    default, unused by them). "ccc" needs ``batch_size >= 2`` (the CCC
    of one row is undefined: a ``ValueError``).""", True),
    "device": SharedParameter("cpu", [str, torch.device], """\
str or torch.device, default="cpu"
    Torch device for training and inference. ``fit`` checks first that
    torch can allocate on it (a ``ValueError`` naming ``device`` for an
    invalid name, ``"meta"``, or ``"cuda"`` without CUDA).""", True),
    # A default teacher gets a seed drawn from the student's random_state.
    "random_state": SharedParameter(None, ["random_state"], """\
int, RandomState instance or None, default=None
    Seeds weight initialisation, shuffling and dropout (a student's also
    seeds its default teacher and its safeguard's splits). An int gives
    identical results on CPU.""", False),
    "n_threads": SharedParameter(None, [None, Interval(Integral, 1, None, closed="left")], """\
int or None, default=None
    Torch's intra-op threads during ``fit`` (``torch.set_num_threads``),
    restored when it returns. None leaves torch's setting. Small networks
    on a shared or busy machine train fastest, and at a steadier speed, on
    1 thread; so do folds run in parallel (``n_jobs``), which otherwise
    compete for the same cores (docs/performance.md).""", True),
    "verbose": SharedParameter(0, ["verbose"], """\
int, default=0
    skorch's per-epoch progress table when > 0 (a student's shows the
    epoch's mean ``distillation_loss`` too).""", True),
}

# The student's parameters that its default teacher takes as they are.
DEFAULT_TEACHER_SETTINGS = tuple(
    name for name, parameter in SHARED_PARAMETERS.items() if parameter.default_teacher)

SHARED_CONSTRAINTS = {name: parameter.constraints
                      for name, parameter in SHARED_PARAMETERS.items()}

# In a docstring, "<shared parameters: task, module>" (its names may run
# over several lines) stands for these entries, in that order.
_MARKER = re.compile(r"^(?P<indent> *)<shared parameters: (?P<names>[\w,\s]+)>$", re.MULTILINE)


def _entries(match):
    indent = match["indent"]
    lines = []
    for name in match["names"].replace(",", " ").split():
        type_line, *description = SHARED_PARAMETERS[name].doc.splitlines()
        lines.append(f"{indent}{name} : {type_line}")
        lines.extend(f"{indent}{line}" if line else "" for line in description)
    return "\n".join(lines)


def document_shared_parameters(cls):
    """Class decorator: write the shared parameters' entries where the
    docstring's markers stand."""
    cls.__doc__ = _MARKER.sub(_entries, cls.__doc__)
    return cls
