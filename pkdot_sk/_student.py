"""PKDOTStudent: a regular-modality model distilled from a privileged teacher."""

import inspect
import warnings
from numbers import Integral, Real

import numpy as np
import torch
from skorch.callbacks import PassthroughScoring
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.frozen import FrozenEstimator
from sklearn.utils import _safe_indexing, metadata_routing
from sklearn.utils._param_validation import (HasMethods, Interval, InvalidParameterError,
                                             StrOptions)
from sklearn.utils._tags import TransformerTags
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted, check_memory

from ._base import (PrivilegedDataWarning, _PrivilegedEstimator, _replaces_state_on_success,
                    fit_seed, weight_entry)
from ._inputs import read_sample_weight
from ._distillation import DISTILLATION_METHODS, METHODS
from ._export import export_student
from ._divergence import TrainingDivergedError
from ._net import (DISTILLATION_LOSS_KEY, DISTILLED_ROWS_KEY, HALLUCINATION_LOSS_KEY,
                   HALLUCINATION_TARGET_KEY,
                   REGULAR_INPUT, TASK_LOSS_KEY, TEACHER_EMBEDDING_KEY, TEACHER_TASK_LOSS_KEY,
                   forward_numpy, regular_inputs)
from ._teacher import PrivilegedTeacher
from ._ot import MAX_ITER, TOL, solver_report
from ._parameters import DEFAULT_TEACHER_SETTINGS, document_shared_parameters
from ._splits import held_out_splits, is_grouped
from .losses import ANCHOR_STRATEGIES
from .modules import (HallucinatingStudentNetwork, StudentNetwork, _measure, prepare_encoder,
                      prepare_fusion, transformation_net)

# fit warns when more than this share of its Sinkhorn solves did not converge.
_UNCONVERGED_SHARE = 0.1
# Held-out predictions the safeguard wants for its decision (see
# _safeguard_splits), the distinct rows below which it never distils, and the
# share of bootstrap resamples that distillation must win (benchmarks/regimes.py:
# with about 10 training rows, kept distillations were wrong more often than not).
_SAFEGUARD_MIN_ROWS = 100
_SAFEGUARD_MIN_DISTINCT = 30
_SAFEGUARD_CONFIDENCE = 0.8

TEACHER_SELECTIONS = ("mixture", "best_per_batch")


def _safeguard_summary(report):
    """One line on the safeguard's decision, for ``verbose``."""
    decision = "distil" if report["distilled"] else "train without distillation"
    if report["score"] is None:
        return (f"PKDOTStudent safeguard: {report['n_distinct']} held-out rows are too few to "
                f"tell: {decision}")
    groups = "" if report["n_groups"] is None else f" of {report['n_groups']} group(s)"
    return (f"PKDOTStudent safeguard: on {report['n_validation']} held-out predictions{groups} "
            f"({report['n_splits']} split(s)) the distilled student scored "
            f"{report['score']:.4g}, the student without distillation "
            f"{report['score_none']:.4g}; distillation won {report['win_rate']:.0%} of the "
            f"bootstrap resamples: {decision}")


# What a training without distillation does not read (with verbose: the
# safeguard's inner trainings are silent).
_DISTILLATION_ONLY_PARAMETERS = (
    "teacher", "teacher_weights", "teacher_selection", "distillation", "ot_weight", "top_k",
    "anchors", "ot_reg", "ot_normalize", "ot_max_iter", "ot_tol", "ot_center", "ot_warmup",
    "distillation_weight", "temperature", "hallucinate", "hallucination_weight", "safeguard",
    "safeguard_fraction", "memory", "verbose")


def _undistilled_outputs(student, rows, y_net, groups, seed, x_valid, owner):
    """The outputs on ``x_valid`` of ``student`` trained on ``rows`` without
    distillation: the safeguard's reference, cached by ``memory``."""
    net = student._train(rows, y_net, groups, seed, distil=False, verbose=0, owner=owner)
    return forward_numpy(net, regular_inputs(x_valid)).output


def _fit_teacher_on(teacher, X, y, X_priv, fit_params):
    """``teacher`` (unfitted, the student's own copy) fitted on these rows:
    what the student's ``memory`` caches, keyed by every argument (the
    teacher's parameters, its seed among them, and the rows)."""
    return teacher.fit(X, y, X_priv=X_priv, **fit_params)


def _rows_with_privileged_data(X_priv):
    """Rows whose X_priv is not NaN throughout (some privileged modality
    recorded): those with a teacher embedding worth distilling."""
    values = np.asarray(X_priv, dtype=np.float64)
    return ~np.isnan(values).reshape(len(values), -1).all(axis=1)


def _takes(estimator, name):
    """Whether ``estimator.fit`` has a parameter ``name``."""
    try:
        return name in inspect.signature(estimator.fit).parameters
    except (TypeError, ValueError):
        return False


def _distillation_validates(win_rate, n_rows):
    """The safeguard's rule: keep distillation when the held-out predictions
    cover at least ``_SAFEGUARD_MIN_DISTINCT`` distinct rows and the distilled
    student scores higher than the student without it on at least
    ``_SAFEGUARD_CONFIDENCE`` of their bootstrap resamples (a tie is not a
    win)."""
    return bool(n_rows >= _SAFEGUARD_MIN_DISTINCT and win_rate >= _SAFEGUARD_CONFIDENCE)


def _bootstrap_win_rate(score, y_pred, y_pred_none, rows, seed, n_resamples=200, groups=None):
    """Share of bootstrap resamples on which ``y_pred`` scores strictly higher
    than ``y_pred_none``.

    ``rows[i]`` is the training row that prediction ``i`` was made for; a row
    held out by several splits is one draw of the resample, all its
    predictions weighted by its count (they are not independent evidence).
    With ``groups`` (``groups[i]``: the group of ``rows[i]``) the resample is
    two-stage: groups are drawn, then rows within each drawn group. Rows of
    one subject are correlated; drawing them as if independent made the win
    rate overconfident (``benchmarks/missing_privileged.py``: 13 of 17
    distillations kept that way scored below the student without it on the
    test subject; docs/benchmarks.md). With one group it is the rows'
    bootstrap.
    ``score(y_pred, sample_weight)`` scores predictions with those weights.
    """
    distinct, first_entry, entry_row = np.unique(rows, return_index=True, return_inverse=True)
    n_rows = len(distinct)
    random_state = np.random.RandomState(seed)
    if groups is None:
        counts = random_state.multinomial(n_rows, np.full(n_rows, 1.0 / n_rows),
                                          size=n_resamples)
    else:
        counts = _two_stage_counts(np.asarray(groups)[first_entry], random_state, n_resamples)
    return float(np.mean([score(y_pred, weights[entry_row]) > score(y_pred_none,
                                                                     weights[entry_row])
                          for weights in counts]))


def _two_stage_counts(row_groups, random_state, n_resamples):
    """(n_resamples, n_rows) bootstrap counts of rows whose groups are
    ``row_groups``: each resample draws as many groups as there are, with
    replacement, then for a group drawn c times, c x its size rows from it
    (the sum of c independent draws of its rows)."""
    _, row_group = np.unique(row_groups, return_inverse=True)
    n_groups = row_group.max() + 1
    members = [np.flatnonzero(row_group == g) for g in range(n_groups)]
    group_counts = random_state.multinomial(n_groups, np.full(n_groups, 1.0 / n_groups),
                                            size=n_resamples)
    counts = np.zeros((n_resamples, len(row_groups)), dtype=np.int64)
    for resample, drawn in enumerate(group_counts):
        for group in np.flatnonzero(drawn):
            rows = members[group]
            counts[resample, rows] = random_state.multinomial(
                drawn[group] * len(rows), np.full(len(rows), 1.0 / len(rows)))
    return counts


@document_shared_parameters
class PKDOTStudent(_PrivilegedEstimator):
    """Regular-modality model trained with PKDOT distillation from a teacher.

    ``fit(X, y, X_priv=...)`` fits the teacher on the same rows (so
    cross-validation never shows it a test subject), computes its fused
    embeddings for those rows once, then trains the student on X alone with

        loss = task loss + ot_weight * pkdot_loss(z_student, z_teacher)

    per mini-batch. ``predict(X)`` needs no privileged data. With
    ``hallucinate=True`` the student also predicts the teacher's privileged
    embeddings from its regular one and fuses them as the teacher does
    (see ``hallucinate``).

    Parameters
    ----------
    teacher : estimator, FrozenEstimator, list of them, or None, default=None
        The privileged teacher. A list gives several teachers (MT-PKDOT:
        e.g. a joint teacher and one per privileged modality, or teachers
        with different fusions), each fitted like a single one; see
        ``teacher_weights`` for how they are combined. None builds a :class:`PrivilegedTeacher` with
        this student's ``task``, network and training parameters, which
        treats X_priv as one modality fused by concatenation; for several
        privileged modalities or attention fusion pass a configured
        ``PrivilegedTeacher(priv_groups=..., fusion=...)``. An unfitted
        (or fitted) estimator is cloned and fitted inside :meth:`fit` on the
        student's training rows. A teacher wrapped in
        :class:`sklearn.frozen.FrozenEstimator` is used as already fitted and
        never refitted. The teacher needs ``fit(X, y, X_priv=...)`` and
        ``transform(X, X_priv)``.
    teacher_weights : array-like of shape (n_teachers,) or None, default=None
        Multi-teacher only: on every mini-batch the distillation term is
        ``sum_i w_i * loss(student, teacher_i)`` with the weights normalised
        to sum to 1 (None: equal weights), one per teacher (one for a
        single teacher; another count is a ``ValueError``). Every teacher is
        used on every batch; a weight of 0 drops a teacher. For "feature" the student's
        adapter projects to the teachers' concatenated widths and each block
        is matched to its teacher; "logit" and "gd" imitate each teacher's
        outputs. Hallucination (``hallucinate=True``) learns the first
        teacher's privileged embeddings. Must be None with
        ``teacher_selection="best_per_batch"``.
    teacher_selection : {"mixture", "best_per_batch"}, default="mixture"
        Multi-teacher only (no effect with one teacher). "mixture": the
        fixed weighted sum above, every teacher on every batch.
        "best_per_batch" (the rule of the authors' released MT-PKDOT code):
        on each training mini-batch the distillation term is
        ``loss(student, teacher_i)`` for the single teacher ``i`` whose own
        task loss on the rows of the batch, against their true targets, is
        lowest (ties: the first teacher in list order). The teachers are
        frozen, so each one's task loss per training row is computed once
        per fit: the cross-entropy of its ``predict_proba`` for
        classification; for ``task="ordinal"`` the CORAL loss the networks
        train on (summed binary cross-entropies of "level above j", with
        ``P(y > j)`` the sum of its ``predict_proba`` above level ``j``,
        so a prediction two levels off costs more than one level off); for
        regression the squared error of its ``predict`` in the student's
        standardised target space, averaged over the outputs (also with
        ``regression_loss="ccc"``: the CCC is a batch statistic, not a
        per-sample loss). Classification and ordinal teachers therefore
        need ``predict_proba`` and the student's ``classes_``; regression
        teachers ``predict``. ``teacher_weights`` must be None (a
        ``ValueError`` otherwise). The choice per batch is recorded in
        ``net_.history``: ``teacher_index`` per batch and ``teacher_share``
        per epoch (the fraction of the epoch's training batches that used
        each teacher).
    <shared parameters: task>
    distillation : {"pkdot", "none", "logit", "gd", "feature", "rkd", "sp", \
"pkt"}, default="pkdot"
        "pkdot" adds the PKDOT loss; "none" trains a regular-only student
        (no teacher is fitted, X_priv is ignored). The others are the
        baselines PKDOT is compared with, each a function of
        :mod:`pkdot_sk.losses`: "logit" (Hinton et al.'s softened logits,
        classification only), "gd" (generalized distillation, Lopez-Paz et
        al.: imitate the teacher's soft labels, or its predictions in
        regression), "feature" (student embedding projected to the
        teacher's by a learned linear map, matched by MSE), "rkd" (Park et
        al., distance + angle), "sp" (Tung & Mori, similarity preserving),
        "pkt" (Passalis & Tefas, probabilistic knowledge transfer).
    ot_weight : float, default=300.0
        Weight lambda of the PKDOT term, on the normalised cost
        (``ot_normalize=True``), whose values on real batches are about
        0.001-0.01: the default makes the term comparable to the task loss.
        The defaults (``ot_weight=300``, ``anchors="all"``, ``ot_reg=0.01``,
        normalised cost, ``safeguard="validation"``) were tuned for the worst
        case over data sets and training budgets (``benchmarks/regimes.py``,
        docs/benchmarks.md). The authors' released configuration is
        ``set_params(ot_weight=0.6, anchors="least_similar", top_k=30,
        ot_normalize=False, safeguard=None)``. 0 adds nothing to the task
        loss, so the fit is that of ``distillation="none"``: no teacher is
        fitted and ``distilled_`` is False (with ``hallucinate=True`` the
        teacher is still fitted, for the hallucination term).
    distillation_weight : float or None, default=None
        Weight of the distillation term for the methods other than "pkdot"
        (which uses ``ot_weight``). For "gd" it is the imitation parameter in
        [0, 1]: the loss is ``(1 - w) * task + w * imitation``. None uses the
        reference's value: logit 1, gd 0.5, feature 1, rkd 1 (with the
        paper's 25/50 inside :func:`~pkdot_sk.losses.rkd_loss`), sp 3000,
        pkt 1. 0 trains as ``distillation="none"`` (see ``ot_weight``).
    temperature : float, default=4.0
        Softmax temperature of "logit" and "gd".
    hallucinate : bool, default=False
        Hallucinate the privileged modalities (step 5 of PKDOT [1]_). The
        student network becomes: regular encoder -> ``z``; one
        transformation net per privileged modality of the teacher (Linear,
        ReLU, Linear from ``z``'s width to the width of that modality's
        teacher embedding) -> hallucinated embeddings ``h_m``; a fusion
        block of the teacher's kind (its ``fusion`` parameter: "concat",
        "attention", or a copy of its module, re-initialised) over ``[z,
        h_1, ...]`` -> fused embedding (``embedding_dim`` wide for
        "concat" and "attention") -> task head. The distillation loss uses
        the fused embedding as the student embedding, and the loss gains
        ``hallucination_weight * sum_m MSE(h_m, teacher embedding of
        modality m)``, the targets coming from the teacher's
        ``transform_modalities(X, X_priv)`` once per fit. Prediction still
        needs X alone. Needs distillation (not "none"), X_priv in ``fit``
        and a teacher with ``transform_modalities`` fitted with privileged
        data; otherwise ``fit`` raises a ValueError.
    hallucination_weight : float, default=1.0
        Weight of the hallucination term (``hallucinate=True`` only).
    safeguard : {"validation"} or None, default="validation"
        Guard against negative transfer: privileged data does not always
        help, and a distillation term can slow down or misdirect a student
        that the teacher cannot teach. With "validation", ``fit`` holds out
        ``safeguard_fraction`` of the training rows (whole groups when
        ``groups`` are given, stratified by class otherwise), fits the
        teachers on the rest (a ``FrozenEstimator`` teacher is used as it
        is), trains the distilled student and the student without
        distillation on the rest from the same initial weights, and scores
        both on the held-out rows
        (the task's score: accuracy, R^2, or the CCC with
        ``regression_loss="ccc"``). When that holds out fewer than 100 rows,
        it repeats this on up to 5 independent splits and pools the
        held-out predictions. Distillation is kept only if those cover at
        least 30 distinct rows and the distilled student scores higher than
        the other on at least 80 % of 200 bootstrap resamples of the rows
        (little held-out data is weak evidence, and then the student without
        distillation is the safe choice: below about 45 training rows it is
        always chosen); then, either way, the student is trained on every
        row (its teachers too), and ``distilled_`` and ``safeguard_`` say
        what was decided. A rejected distillation gives exactly the student
        of ``distillation="none"`` with the same ``random_state``. It costs
        a teacher fit and two student trainings on 1 - ``safeguard_fraction``
        of the rows per split (docs/performance.md). None always distils.
    safeguard_fraction : float, default=0.2
        Share of the training rows (or groups) held out by the safeguard.
    memory : None, str or joblib.Memory, default=None
        Caches the fitted teachers (as ``Pipeline(memory=...)`` caches its
        transformers), and the safeguard's students without distillation:
        a folder or a ``joblib.Memory``. A teacher fit is keyed by the
        training rows (X, y, X_priv, groups, sample weights) and the
        teacher's parameters, its seed among them; a student without
        distillation by its rows and the parameters it reads. So a grid
        search over the distillation parameters (``ot_weight``,
        ``anchors``, ...) fits each fold's teachers, and trains the
        safeguard's reference students, once instead of once per
        candidate, with the same results. Give
        the student an int ``random_state`` (a default teacher's seed comes
        from it) or a seeded teacher, else nothing repeats. A shared
        folder serves parallel workers too. None caches nothing.
    top_k : int, default=30
        Anchor columns per row of the similarity matrices (capped at the
        batch size) for ``anchors="least_similar"`` or ``"most_similar"``.
    anchors : {"all", "least_similar", "most_similar"}, default="all"
        How anchors are chosen on the teacher's similarity matrix: every
        column, or the ``top_k`` least / most similar samples of each row
        ("least_similar" is what the authors' released code does).
    ot_reg : float, default=0.01
        Entropic regularisation epsilon of the Sinkhorn divergence (in the
        units of the normalised cost with ``ot_normalize=True``).
    ot_normalize : bool, default=True
        Divide the transport cost by the number of anchor coordinates, so
        that the PKDOT term, and what ``ot_weight`` and ``ot_reg`` mean, do
        not grow with the batch size or ``top_k`` (see
        :func:`~pkdot_sk.losses.pkdot_loss`; False is the released cost).
    ot_max_iter : int, default=200
        Most Sinkhorn iterations at the target epsilon per solve.
    ot_tol : float, default=1e-2
        Tolerance on the marginals of the transport plans at which a solve
        stops. ``fit`` warns (:class:`~sklearn.exceptions.ConvergenceWarning`)
        when more than 10 % of its solves stopped at ``ot_max_iter`` above
        it; occasional ones are harmless (their gradient is a little off on
        one mini-batch).
    ot_center : bool, default=False
        Centre both embeddings on the batch mean before the cosine
        similarities (see :func:`~pkdot_sk.losses.pkdot_loss`).
    ot_warmup : int, default=0
        Epochs over which the PKDOT weight grows linearly from
        ``ot_weight / ot_warmup`` to ``ot_weight``; 0 applies it in full from
        the start.
    <shared parameters: module, module_weights, hidden_units, embedding_dim, dropout,
        max_epochs, batch_size, lr, weight_decay, optimizer, optimizer_params, encoder_lr,
        validation_fraction, early_stopping, n_iter_no_change, callbacks, class_weight,
        standardize, regression_loss, device, n_threads, random_state, verbose>

    Attributes
    ----------
    net_ : pkdot_sk._net.PrivilegedNet
        The fitted student net. ``net_.history`` holds per epoch
        ``train_loss`` (the loss minimised); when distilled also
        ``task_loss`` and ``distillation_loss`` (``train_loss = task_loss +
        weight x distillation_loss``, per batch, averaged over the epoch);
        with ``validation_fraction`` or ``early_stopping``, ``valid_loss``
        and ``valid_score`` (the task's score on the held-out rows, higher
        is better); ``hallucination_loss`` with ``hallucinate=True``;
        ``teacher_index`` per batch and ``teacher_share`` per epoch with
        several teachers and ``teacher_selection="best_per_batch"``.
    teacher_ : estimator or None
        The teacher fitted (fitted clone, or the FrozenEstimator), also when
        the safeguard then trained without it; the first one with several
        teachers; None without X_priv, with ``distillation="none"`` or a term
        of weight 0.
    teachers_ : list of estimators
        Every teacher used (one for a single teacher; empty when no
        distillation took place).
    distilled_ : bool
        True when the student was trained with the distillation term. False
        for ``distillation="none"`` or a term of weight 0 (``ot_weight=0``,
        ``distillation_weight=0``), for ``fit`` without X_priv (which warns
        with :class:`PrivilegedDataWarning` and trains on the task loss
        alone) and when the safeguard found that distillation did not help.
    safeguard_ : dict or None
        What the safeguard measured on its held-out rows: ``"distilled"``
        (the decision), ``"n_splits"``, ``"n_validation"`` (held-out
        predictions pooled over the splits), ``"n_distinct"`` (distinct rows
        among them), ``"n_groups"`` (distinct groups among them, None
        without groups), ``"score"`` of the distilled
        student and ``"score_none"`` of the student without distillation on
        them, and ``"win_rate"`` (the share of bootstrap resamples on which
        the distilled student scored higher; with groups, resamples of the
        held-out groups, then of rows within them); these three are None when the
        held-out rows were too few to train the inner students at all. None
        when it did not run (``safeguard=None``, no teacher).
    classes_ : ndarray of shape (n_classes,)
        Class labels (classification only).
    n_features_in_ : int
        Number of features (per step for 3-D X).
    n_steps_in_ : int or None
        Number of steps of 3-D X; None for 2-D X.
    embedding_dim_ : int
        Width of the student's embedding (:meth:`transform`).
    hallucinated_modalities_ : list of str
        ``hallucinate=True`` only: the privileged modalities hallucinated,
        in the teacher's ``priv_groups_`` order (one transformation net
        each, ``net_.module_.transformations``).

    See Also
    --------
    PrivilegedTeacher
    pkdot_sk.losses.pkdot_loss

    References
    ----------
    .. [1] Aslam, M. H., Pedersoli, M., Koerich, A. L., and Granger, E.
       "Distilling Privileged Multimodal Information for Expression
       Recognition using Optimal Transport." IEEE FG 2024.

    Examples
    --------
    >>> from pkdot_sk import PKDOTStudent
    >>> from pkdot_sk.datasets import make_privileged_classification
    >>> X, X_priv, y, groups = make_privileged_classification(random_state=0)
    >>> student = PKDOTStudent(max_epochs=5, random_state=0).fit(X, y, X_priv=X_priv)
    >>> student.predict(X[:3]).shape
    (3,)
    """

    # predict and predict_proba take X_priv only to say that it is not used:
    # never routed there.
    __metadata_request__predict = {"X_priv": metadata_routing.UNUSED}
    __metadata_request__predict_proba = {"X_priv": metadata_routing.UNUSED}

    _parameter_constraints = {
        **_PrivilegedEstimator._parameter_constraints,
        "teacher": [None, HasMethods(["fit", "transform"]), list],
        "teacher_weights": [None, "array-like"],
        "teacher_selection": [StrOptions(set(TEACHER_SELECTIONS))],
        "distillation": [StrOptions(set(DISTILLATION_METHODS))],
        "ot_weight": [Interval(Real, 0, None, closed="left")],
        "top_k": [Interval(Integral, 1, None, closed="left")],
        "anchors": [StrOptions(set(ANCHOR_STRATEGIES))],
        "ot_reg": [Interval(Real, 0, None, closed="neither")],
        "ot_normalize": ["boolean"],
        "ot_max_iter": [Interval(Integral, 1, None, closed="left")],
        "ot_tol": [Interval(Real, 0, None, closed="neither")],
        "safeguard": [StrOptions({"validation"}), None],
        "safeguard_fraction": [Interval(Real, 0, 1, closed="neither")],
        "ot_center": ["boolean"],
        "ot_warmup": [Interval(Integral, 0, None, closed="left")],
        "distillation_weight": [None, Interval(Real, 0, None, closed="left")],
        "temperature": [Interval(Real, 0, None, closed="neither")],
        "hallucinate": ["boolean"],
        "hallucination_weight": [Interval(Real, 0, None, closed="left")],
        "memory": [None, str, HasMethods(["cache"])],
    }

    def __init__(
        self,
        teacher=None,
        task="classification",
        *,
        teacher_weights=None,
        teacher_selection="mixture",
        distillation="pkdot",
        ot_weight=300.0,
        top_k=30,
        anchors="all",
        ot_reg=0.01,
        ot_normalize=True,
        ot_max_iter=MAX_ITER,
        ot_tol=TOL,
        ot_center=False,
        ot_warmup=0,
        distillation_weight=None,
        temperature=4.0,
        hallucinate=False,
        hallucination_weight=1.0,
        safeguard="validation",
        safeguard_fraction=0.2,
        memory=None,
        module=None,
        module_weights="keep",
        hidden_units=(128,),
        embedding_dim=64,
        dropout=0.1,
        max_epochs=100,
        batch_size=128,
        lr=1e-3,
        weight_decay=0.0,
        optimizer="adam",
        optimizer_params=None,
        encoder_lr=None,
        validation_fraction=None,
        early_stopping=False,
        n_iter_no_change=10,
        callbacks=None,
        class_weight=None,
        standardize=True,
        regression_loss="mse",
        device="cpu",
        n_threads=None,
        random_state=None,
        verbose=0,
    ):
        self.teacher = teacher
        self.teacher_weights = teacher_weights
        self.teacher_selection = teacher_selection
        self.task = task
        self.distillation = distillation
        self.ot_weight = ot_weight
        self.top_k = top_k
        self.anchors = anchors
        self.ot_reg = ot_reg
        self.ot_normalize = ot_normalize
        self.ot_max_iter = ot_max_iter
        self.ot_tol = ot_tol
        self.ot_center = ot_center
        self.ot_warmup = ot_warmup
        self.distillation_weight = distillation_weight
        self.temperature = temperature
        self.hallucinate = hallucinate
        self.hallucination_weight = hallucination_weight
        self.safeguard = safeguard
        self.safeguard_fraction = safeguard_fraction
        self.memory = memory
        self.module = module
        self.module_weights = module_weights
        self.hidden_units = hidden_units
        self.embedding_dim = embedding_dim
        self.dropout = dropout
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.optimizer = optimizer
        self.optimizer_params = optimizer_params
        self.encoder_lr = encoder_lr
        self.validation_fraction = validation_fraction
        self.early_stopping = early_stopping
        self.n_iter_no_change = n_iter_no_change
        self.callbacks = callbacks
        self.class_weight = class_weight
        self.standardize = standardize
        self.regression_loss = regression_loss
        self.device = device
        self.n_threads = n_threads
        self.random_state = random_state
        self.verbose = verbose

    def set_params(self, **params):
        """Set parameters; ``teacher__<name>`` needs an explicit teacher.

        The default teacher (``teacher=None``) is built at ``fit`` from this
        student's own parameters, so it has no parameters of its own to set
        (a ``ValueError`` says so, where scikit-learn would fail on None).
        """
        nested = sorted(name for name in params if name.startswith("teacher__"))
        if nested and params.get("teacher", self.teacher) is None:
            raise ValueError(
                f"{nested[0]} sets a parameter of the teacher, but teacher=None: the default "
                "teacher is built at fit from this student's own parameters "
                f"({', '.join(DEFAULT_TEACHER_SETTINGS)}). To tune the teacher apart from "
                "the student (e.g. in a grid search), pass an explicit one: "
                "PKDOTStudent(teacher=PrivilegedTeacher(...)).")
        return super().set_params(**params)

    @_replaces_state_on_success
    def fit(self, X, y, X_priv=None, groups=None, sample_weight=None):
        """Fit the teacher on these rows, then distil it into the student.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or \
(n_samples, n_steps, n_features)
            Regular modality: all the fitted student will ever need. 3-D X
            holds one sequence per sample; prediction needs the same number
            of steps and features per step.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        X_priv : array-like or DataFrame of shape (n_samples, n_priv_features), \
(n_samples, n_priv_steps, n_priv_features) or None
            Privileged data, one row or sequence per sample of X (its number
            of steps may differ from X's), passed as given to the teacher
            (whose ``priv_groups`` may split 2-D X_priv into several
            modalities). NaN marks what a row lacks, as for the teacher: a
            modality missing as a whole, or the whole row when nothing was
            recorded for it; such a row trains the task loss but not the
            distillation term (it has no teacher embedding worth
            distilling). None trains without distillation
            (:class:`PrivilegedDataWarning`, ``distilled_=False``).
        groups : array-like of shape (n_samples,) or None, default=None
            Subject (or session) of each row. The rows held out by the
            safeguard, ``validation_fraction`` and ``early_stopping`` (the
            student's and its teachers') are then whole groups, as in
            leave-one-subject-out evaluation; without groups they are rows
            stratified by class. With metadata routing on, ``groups``
            reaches ``fit`` without a ``set_fit_request`` call (as X_priv
            does); with it off, pass it in ``params`` (e.g.
            ``cross_val_score(..., params={"X_priv": X_priv, "groups":
            groups})``) so that it is sliced per fold.
        sample_weight : array-like of shape (n_samples,) or None, default=None
            Weight of each row in the task loss (times ``class_weight``),
            also given to teachers whose ``fit`` takes it, and weighing the
            safeguard's held-out score. The distillation term compares the
            rows of a mini-batch with one another and is not weighted: a row
            of weight 0 adds nothing to the task loss but still takes part
            in the similarity structure of its batch. With metadata routing
            on, request it with ``set_fit_request(sample_weight=True)``.

        Returns
        -------
        self : PKDOTStudent

        Raises
        ------
        TrainingDivergedError
            When the training diverges: a non-finite training loss or
            weights, or a loss more than 1e10 times the first batch's. Its
            message names the estimator, the epoch and the likely causes.
            A subclass of ValueError.
        ValueError
            On invalid parameters or data; the message names the argument
            and says what was expected.
        TypeError
            On inputs of the wrong kind: a dict or a list of per-modality
            arrays as X_priv, objects, dates or durations where numbers are
            expected, callbacks that are not skorch callbacks, a teacher
            that is a class or takes no X_priv (an InvalidParameterError,
            also a ValueError).

        Warns
        -----
        ConvergenceWarning
            When more than 10 % of the fit's Sinkhorn solves stop
            unconverged, and, as in :meth:`PrivilegedTeacher.fit`, when the
            trained student gives every training row the same output.

        A fit that raises leaves the estimator as it was before the call.
        """
        self._validate_params()
        self._check_method()
        # The teachers get X as given: a DataFrame's feature names with it.
        X_teacher = X if hasattr(X, "columns") else None
        X, y = self._validate_X_y(X, y)
        X_teacher = X if X_teacher is None else X_teacher
        # The teacher gets X_priv as given (a DataFrame keeps the column
        # names its priv_groups may select); it is checked here all the same.
        X_priv_checked = self._validate_X_priv(X_priv, X.shape[0])
        groups = self._validate_groups(groups, X.shape[0])
        y_net = self._task.encode_targets(self, y)
        weights = self._row_weights(y, y_net, sample_weight)
        if weights is not None:
            # The teachers weigh the same rows (a default one applies
            # class_weight itself).
            sample_weight = read_sample_weight(sample_weight, len(y_net))

        if self.hallucinate and X_priv_checked is None:
            raise ValueError(
                "hallucinate=True needs X_priv in fit: the transformation nets learn to "
                "predict the teacher's privileged embeddings. Pass X_priv, or set "
                "hallucinate=False."
            )

        # Before the teachers: X that overflows once scaled is rejected untrained.
        self.x_scaler_ = self._fit_scaler(X)
        x_net = self._as_float32(self.x_scaler_, X, "X")
        seed = self._seed()
        inputs, hallucination_dims = self._teacher_inputs(X_teacher, y, X_priv, X_priv_checked,
                                                          y_net, groups, sample_weight, seed)
        inputs = regular_inputs(x_net, **inputs, **weight_entry(weights))
        distil = self.teacher_ is not None
        self.safeguard_ = None
        with solver_report() as report:
            if distil and self.safeguard == "validation":
                self.safeguard_ = self._validate_distillation(
                    inputs, X_teacher, y, X_priv, y_net, groups, sample_weight, weights, seed,
                    hallucination_dims)
                distil = self.safeguard_["distilled"]
                if self.verbose:
                    print(_safeguard_summary(self.safeguard_), flush=True)
            if not distil:
                inputs = regular_inputs(inputs[REGULAR_INPUT], **weight_entry(weights))
                hallucination_dims = None
                if hasattr(self, "hallucinated_modalities_"):
                    del self.hallucinated_modalities_
            self.net_ = self._train(inputs, y_net, groups, seed, distil=distil,
                                    hallucination_dims=hallucination_dims,
                                    label=self._training_label(len(y_net), distil))
        self.distilled_ = distil
        self.embedding_dim_ = self._check_learnt(regular_inputs(inputs[REGULAR_INPUT]), y_net)
        # An occasional unconverged solve only blurs one batch's gradient.
        if report.n_unconverged > _UNCONVERGED_SHARE * report.n_solves:
            warnings.warn(
                f"{report.n_unconverged} of {report.n_solves} Sinkhorn solves of this fit "
                f"stopped at ot_max_iter={self.ot_max_iter} with a marginal error of up to "
                f"{report.worst_error:.2g}, above ot_tol={self.ot_tol:g}: their PKDOT values "
                "and gradients are approximate. Raise ot_max_iter, or ot_reg (a larger "
                "epsilon converges faster).",
                ConvergenceWarning,
                stacklevel=3,
            )
        return self

    def _teacher_inputs(self, X, y, X_priv, X_priv_checked, y_net, groups, sample_weight,
                        seed):
        """Fit the teachers (``teachers_``) and compute what the student learns
        from them, once per fit: per-sample arrays keyed as the net expects,
        and the widths of the hallucination targets (None without)."""
        self.teacher_ = None
        self.teachers_ = []
        self._teacher_widths = None
        inputs = {}
        hallucination_dims = None
        if hasattr(self, "hallucinated_modalities_"):
            del self.hallucinated_modalities_
        if not self._uses_teacher():
            return inputs, hallucination_dims
        if X_priv_checked is None:
            warnings.warn(
                "PKDOTStudent.fit got X_priv=None: training on the task loss alone, "
                "without distillation (distilled_=False).",
                PrivilegedDataWarning,
                stacklevel=4,
            )
            return inputs, hallucination_dims
        if self.verbose:
            print(f"PKDOTStudent: fitting its teacher(s) on {len(y_net)} rows", flush=True)
        self.teachers_ = [self._fit_teacher(teacher, X, y, X_priv, groups, sample_weight, seed)
                          for teacher in self._teacher_list()]
        self.teacher_ = self.teachers_[0]
        return self._distillation_targets(self.teachers_, X, X_priv, y_net)

    def _distillation_targets(self, teachers, X, X_priv, y_net):
        """What the student learns from these fitted teachers on these rows:
        per-sample arrays keyed as the net expects, and the widths of the
        hallucination targets (None without). Teachers are frozen: computed
        once per fit, side by side in one array (split again in the loss)."""
        inputs = {}
        hallucination_dims = None
        targets = [self._teacher_targets(teacher, X, X_priv) for teacher in teachers]
        for index, target in enumerate(targets):
            # A frozen or custom teacher may have diverged: say so before training.
            if not np.isfinite(target).all():
                label = "teacher" if len(targets) == 1 else f"teacher[{index}]"
                raise ValueError(
                    f"{label} ({type(teachers[index]).__name__}) gives non-finite "
                    f"values (NaN or inf) on {int((~np.isfinite(target).all(axis=1)).sum())} "
                    "of the training rows; expected finite embeddings (or outputs) to "
                    "distil. Was it trained with a diverging learning rate?")
        self._teacher_widths = tuple(t.shape[1] for t in targets)
        inputs[TEACHER_EMBEDDING_KEY] = np.concatenate(targets, axis=1)
        with_priv = _rows_with_privileged_data(X_priv)
        if not with_priv.all():
            if self.hallucinate:
                raise ValueError(
                    f"hallucinate=True needs privileged data in every row; "
                    f"{int((~with_priv).sum())} training row(s) have none (X_priv all NaN). "
                    "Drop those rows, or set hallucinate=False.")
            inputs[DISTILLED_ROWS_KEY] = with_priv.astype(np.float32)
        if self._selects_teacher():
            # Per-sample task losses, (n_samples, n_teachers): summed over each
            # batch's rows to pick its teacher.
            inputs[TEACHER_TASK_LOSS_KEY] = np.column_stack(
                [self._teacher_task_losses(teacher, X, X_priv, y_net) for teacher in teachers])
        if self.hallucinate:
            hallucination_targets = self._hallucination_targets(teachers[0], X, X_priv)
            hallucination_dims = [target.shape[1] for target in hallucination_targets]
            inputs[HALLUCINATION_TARGET_KEY] = np.concatenate(hallucination_targets, axis=1)
        return inputs, hallucination_dims

    def _training_label(self, n_rows, distil):
        """What the student's progress table is headed with."""
        if distil:
            how = (f"with the {self.distillation!r} term (weight {self._term_weight():g}): "
                   "train_loss = task_loss + weight x distillation_loss")
        elif self.safeguard_ is not None:
            how = "without distillation (the safeguard found it did not help)"
        else:
            how = "without distillation"
        return f"PKDOTStudent: training the student on {n_rows} rows of X {how}"

    def _train(self, inputs, y_net, groups, seed, *, distil, hallucination_dims=None,
               verbose=None, owner=None, label=None):
        """Build the student network (seeded) and train it on these rows.

        ``distil=False`` gives the network and the training of
        ``distillation="none"``, bit for bit for the same seed. ``owner``
        names this training in the error of a diverging one. The rows held
        out by ``validation_fraction`` are those a default teacher seeded
        with ``seed`` holds out (it draws them from ``fit_seed(seed)``).
        """
        with self._seeded_torch(seed):
            sample = torch.from_numpy(inputs[REGULAR_INPUT][:2])
            encoder, width = prepare_encoder(
                self.module, self.n_features_in_, sample,
                hidden_units=self.hidden_units, embedding_dim=self.embedding_dim,
                dropout=self.dropout, name="module", weights=self.module_weights,
            )
            adapter_dim = None
            if distil and METHODS[self.distillation].student == "adapted":
                adapter_dim = inputs[TEACHER_EMBEDDING_KEY].shape[1]
            if hallucination_dims is None:
                module = StudentNetwork(encoder, width, self.n_outputs_,
                                        adapter_dim=adapter_dim, head=self._task.make_head(width, self.n_outputs_))
            else:
                module = self._hallucinating_module(encoder, width, sample, hallucination_dims,
                                                    adapter_dim)
            distillation_kwargs = self._distillation_setup() if distil else {}
            if hallucination_dims is not None:
                distillation_kwargs["hallucination_weight"] = self.hallucination_weight
                distillation_kwargs["extra_callbacks"].append(
                    PassthroughScoring(HALLUCINATION_LOSS_KEY, on_train=True))
            return self._fit_network(module, inputs, y_net, groups=groups,
                                     split_seed=fit_seed(seed), verbose=verbose, owner=owner,
                                     label=label, **distillation_kwargs)

    def _divergence_causes(self, distillation):
        causes, distillation_causes = super()._divergence_causes(distillation)
        if distillation and self.distillation == "pkdot":
            distillation_causes.append(
                f"ot_reg={self.ot_reg:g} too small for the PKDOT term's solver in float32 "
                f"(raise it, e.g. to 0.01-0.1), or ot_weight={self.ot_weight:g} too large")
        elif distillation:
            distillation_causes.append(
                "distillation_weight too large for this distillation method")
        return causes, distillation_causes

    def _validate_distillation(self, inputs, X, y, X_priv, y_net, groups, sample_weight,
                               weights, seed, hallucination_dims):
        """The safeguard: does distillation beat the task loss alone on held-out rows?

        On each of the safeguard's splits, teachers are fitted on the inner
        training rows (a ``FrozenEstimator`` teacher is used as it is), then
        both students are trained on those rows from the same initial
        weights; their predictions on the held-out rows of every split are
        pooled and scored together. A teacher fitted on the held-out rows
        too would pass what it learnt of them on to the distilled student
        alone, which then looks better on them than it is on new rows
        (``benchmarks/results/tuning/7_inner_teachers.md``).
        """
        splits = self._safeguard_splits(y, groups, seed)
        distinct = np.unique(np.concatenate([valid for _, valid in splits]))
        n_distinct = len(distinct)
        grouped = is_grouped(groups)
        n_groups = len(np.unique(groups[distinct])) if grouped else None
        if n_distinct < _SAFEGUARD_MIN_DISTINCT:
            # Too little data to tell: the rule would reject whatever the scores.
            return {"distilled": False, "n_splits": len(splits), "n_validation": None,
                    "n_distinct": n_distinct, "n_groups": n_groups, "score": None,
                    "score_none": None, "win_rate": None}
        held_out = {True: [], False: []}
        # The student without distillation reads none of the distillation
        # parameters: the candidates of a grid search over them share it
        # through ``memory``.
        train_undistilled = check_memory(self.memory).cache(_undistilled_outputs,
                                                            ignore=["owner"])
        undistilled_trainer = self._undistilled_trainer()
        for split, (train, valid) in enumerate(splits, start=1):
            X_train, X_priv_train = _safe_indexing(X, train), _safe_indexing(X_priv, train)
            groups_train = None if groups is None else groups[train]
            sample_weight_train = None if sample_weight is None else sample_weight[train]
            weights_train = weight_entry(None if weights is None else weights[train])
            teachers = [self._fit_teacher(teacher, X_train, _safe_indexing(y, train),
                                          X_priv_train, groups_train, sample_weight_train, seed,
                                          quiet=True)
                        for teacher in self._teacher_list()]
            targets, _ = self._distillation_targets(teachers, X_train, X_priv_train,
                                                    y_net[train])
            x_train, x_valid = inputs[REGULAR_INPUT][train], inputs[REGULAR_INPUT][valid]
            owner = (f"{type(self).__name__} (safeguard: the %s student of inner split "
                     f"{split} of {len(splits)})")
            net = self._train(regular_inputs(x_train, **weights_train, **targets), y_net[train],
                              groups_train, seed, distil=True,
                              hallucination_dims=hallucination_dims, verbose=0,
                              owner=owner % "distilled")
            outputs = forward_numpy(net, regular_inputs(x_valid)).output
            held_out[True].append((valid, self._task.decode(self, outputs)))
            outputs = train_undistilled(undistilled_trainer,
                                        regular_inputs(x_train, **weights_train), y_net[train],
                                        groups_train, seed, x_valid, owner % "undistilled")
            held_out[False].append((valid, self._task.decode(self, outputs)))
        valid = np.concatenate([rows for rows, _ in held_out[True]])
        y_pred, y_pred_none = (np.concatenate([pred for _, pred in held_out[distil]])
                               for distil in (True, False))

        # Held-out rows count by their weight (bootstrap counts times it).
        row_weights = None if weights is None or not weights[valid].any() else weights[valid]

        def score(predictions, counts=None):
            combined = (counts if row_weights is None else row_weights if counts is None
                        else counts * row_weights)
            return self._validation_score(y[valid], predictions, combined)

        win_rate = _bootstrap_win_rate(score, y_pred, y_pred_none, valid, seed,
                                       groups=groups[valid] if grouped else None)
        return {"distilled": _distillation_validates(win_rate, n_distinct),
                "n_splits": len(held_out[True]), "n_validation": int(len(valid)),
                "n_distinct": n_distinct, "n_groups": n_groups,
                "score": score(y_pred), "score_none": score(y_pred_none),
                "win_rate": win_rate}

    def _undistilled_trainer(self):
        """This student with its distillation parameters at their defaults
        and the fitted shapes ``_train`` reads: what a training without
        distillation depends on, and so what caches it."""
        defaults = inspect.signature(type(self).__init__).parameters
        trainer = clone(self).set_params(
            **{name: defaults[name].default for name in _DISTILLATION_ONLY_PARAMETERS})
        for name in ("n_features_in_", "n_steps_in_", "n_outputs_", "classes_"):
            if hasattr(self, name):
                setattr(trainer, name, getattr(self, name))
        return trainer

    def _safeguard_splits(self, y, groups, seed):
        """Inner (training, validation) row splits: whole groups where groups are
        given, stratified by class where every class can be, shuffled otherwise.

        One split when it holds out at least ``_SAFEGUARD_MIN_ROWS`` rows; on
        smaller data, up to 5 independent splits, so that the decision rests on
        about that many held-out predictions (small data is when a single split
        is most often wrong, and when extra trainings cost least).
        """
        n_samples = len(y)
        fraction = self.safeguard_fraction
        n_valid = int(np.ceil(fraction * n_samples))
        n_splits = int(min(5, max(1, np.ceil(_SAFEGUARD_MIN_ROWS / n_valid))))
        grouped = is_grouped(groups)
        # As the splitters count: the held-out side is rounded up.
        n_units = len(np.unique(groups)) if grouped else n_samples
        if np.ceil(fraction * n_units) >= n_units:
            units = "groups" if grouped else "training rows"
            raise ValueError(
                f"safeguard_fraction={fraction:g} holds out all {n_units} {units}, leaving "
                "none to train the safeguard's students on; expected a fraction below "
                f"{1 - 1 / n_units:.2g} (the default is 0.2), or safeguard=None."
            )
        return held_out_splits(y, groups, fraction, n_splits=n_splits, labels=self._has_labels,
                               seed=seed)

    def _teacher_list(self):
        if not isinstance(self.teacher, list):
            return [self.teacher]
        if not self.teacher:
            raise ValueError("teacher is an empty list; expected one or more teachers.")
        for index, teacher in enumerate(self.teacher):
            if not (hasattr(teacher, "fit") and hasattr(teacher, "transform")):
                raise ValueError(
                    f"teacher[{index}] is {type(teacher).__name__}; expected an estimator "
                    "with fit(X, y, X_priv=...) and transform(X, X_priv)."
                )
        return list(self.teacher)

    def _normalised_teacher_weights(self, n_teachers):
        if self.teacher_weights is None:
            return (1.0 / n_teachers,) * n_teachers
        try:
            weights = np.asarray(self.teacher_weights, dtype=np.float64).ravel()
        except (TypeError, ValueError):
            weights = None
        if (weights is None or weights.shape[0] != n_teachers
                or not np.all(np.isfinite(weights)) or np.any(weights < 0)
                or weights.sum() <= 0):
            which = ("the single teacher" if n_teachers == 1
                     else f"each of the {n_teachers} teachers in the teacher list")
            raise ValueError(
                f"teacher_weights must hold {n_teachers} finite non-negative number(s), one "
                f"for {which}, with a positive sum; got {self.teacher_weights!r}."
            )
        return tuple(float(w) for w in weights / weights.sum())

    def _selects_teacher(self):
        """Several teachers, one chosen per batch."""
        return (self.teacher_selection == "best_per_batch" and self._teacher_widths is not None
                and len(self._teacher_widths) > 1)

    def _check_method(self):
        if isinstance(self.teacher, list):
            for index, teacher in enumerate(self.teacher):
                _check_teacher(teacher, f"teacher[{index}]")
        else:
            _check_teacher(self.teacher, "teacher")
        if self.teacher_selection == "best_per_batch" and self.teacher_weights is not None:
            raise ValueError(
                "teacher_weights must be None with teacher_selection='best_per_batch': that "
                "rule distils one teacher per mini-batch (the lowest task loss), so there "
                f"is nothing to weight; got teacher_weights={self.teacher_weights!r}. Use "
                "teacher_selection='mixture' for a weighted sum of the teachers."
            )
        if self.hallucinate and self.distillation == "none":
            raise ValueError(
                "hallucinate=True needs a teacher to hallucinate, but distillation='none' "
                "fits none; choose a distillation method (e.g. 'pkdot') or set "
                "hallucinate=False."
            )
        method = METHODS.get(self.distillation)
        if (method is not None and method.teacher == "output"
                and self.distillation not in self._task.output_methods):
            raise ValueError(self._task.refusal(self.distillation))
        if (method is not None and method.max_weight is not None
                and self.distillation_weight is not None
                and self.distillation_weight > method.max_weight):
            raise ValueError(
                f"distillation_weight is the imitation parameter of distillation="
                f"{method.name!r} and must be in [0, {method.max_weight:g}]; got "
                f"{self.distillation_weight!r}."
            )
        # An error, not a warning: the term asked for would be identically 0
        # and the student trained as with distillation="none", while reporting
        # distilled_=True.
        if (method is not None and method.within_batch and self._term_weight() > 0
                and self.batch_size < 2):
            raise ValueError(
                f"distillation={self.distillation!r} compares the samples of each "
                "mini-batch with one another, so it needs batch_size >= 2 (a batch of one "
                f"row has no structure to transfer: the term would be 0); got batch_size="
                f"{self.batch_size}. Use a batch size of 32 or more, or distillation='none'."
            )
        n_teachers = len(self.teacher) if isinstance(self.teacher, list) else 1
        if self.teacher_weights is not None and n_teachers:
            self._normalised_teacher_weights(n_teachers)  # raises on a wrong count

    def _term_weight(self):
        """Weight of the distillation term: ``ot_weight`` for PKDOT,
        ``distillation_weight`` (or the method's reference value) otherwise."""
        if self.distillation == "none":
            return 0.0
        return METHODS[self.distillation].term_weight(self)

    def _uses_teacher(self):
        """Whether fit fits teachers: a distillation method whose term has a
        positive weight, or hallucination (its term learns from the teacher
        whatever the weight of the other).

        A term of weight 0 changes nothing in training: fitting a teacher for
        it would cost a training and report a distillation that did not take
        place, so such a fit is the fit of ``distillation="none"``.
        """
        if self.distillation == "none":
            return False
        return self.hallucinate or self._term_weight() > 0

    def _distillation_setup(self):
        """Keyword arguments of the net for the chosen method (its record in
        :mod:`._distillation`)."""
        widths = self._teacher_widths
        weights = None if widths is None else self._normalised_teacher_weights(len(widths))
        arguments = METHODS[self.distillation].net_arguments(self, widths, weights,
                                                             self._selects_teacher())
        arguments["extra_callbacks"] = [PassthroughScoring(key, on_train=True)
                                        for key in (TASK_LOSS_KEY, DISTILLATION_LOSS_KEY)]
        return arguments

    def _hallucination_targets(self, teacher, X, X_priv):
        """The teacher's privileged-modality embeddings, one array each."""
        transform_modalities = getattr(teacher, "transform_modalities", None)
        if not callable(transform_modalities):
            raise ValueError(
                "hallucinate=True needs a teacher with transform_modalities(X, X_priv) "
                "returning its per-modality embeddings (as PrivilegedTeacher does); got "
                f"{type(teacher).__name__}."
            )
        embeddings = [np.asarray(e, dtype=np.float32) for e in transform_modalities(X, X_priv)]
        priv = embeddings[1:]
        if not priv:
            raise ValueError(
                "hallucinate=True needs a teacher fitted with privileged modalities; its "
                "transform_modalities returned the regular embedding only."
            )
        names = list(getattr(teacher, "priv_groups_", None) or [])
        if len(names) != len(priv):
            names = [f"priv_{i}" for i in range(len(priv))]
        self.hallucinated_modalities_ = names
        return priv

    def _hallucinating_module(self, encoder, width, sample, dims, adapter_dim):
        """Encoder, one transformation net per modality, the teacher's kind of fusion."""
        transformations = [transformation_net(width, dim) for dim in dims]
        regular = _measure(encoder, sample)
        samples = [regular] + [_measure(t, regular) for t in transformations]
        fusion = getattr(self.teacher_, "fusion", "concat")
        try:
            block, fused_width = prepare_fusion(fusion, [width] + list(dims), samples,
                                                embedding_dim=self.embedding_dim)
        except ValueError as exc:
            raise ValueError(
                f"hallucinate=True: the student could not build the teacher's fusion block "
                f"on its regular embedding (width {width}) and the hallucinated embeddings "
                f"(widths {list(dims)}): {exc}"
            ) from exc
        return HallucinatingStudentNetwork(
            encoder, transformations, dims, block, fused_width, self.n_outputs_,
            adapter_dim=adapter_dim, head=self._task.make_head(fused_width, self.n_outputs_))

    def _teacher_targets(self, teacher, X, X_priv):
        """Teacher embeddings, or its outputs in the student's output space."""
        if METHODS[self.distillation].teacher == "embedding":
            return np.asarray(teacher.transform(X, X_priv), dtype=np.float32)
        return self._task.teacher_outputs(self, teacher, X, X_priv,
                                          f"distillation={self.distillation!r}"
                                          ).astype(np.float32)

    def _teacher_proba(self, teacher, X, X_priv, needed_by):
        """The teacher's ``predict_proba``, its columns checked to be ``classes_``."""
        if not hasattr(teacher, "predict_proba"):
            raise ValueError(f"{needed_by} needs a teacher with predict_proba.")
        teacher_classes = getattr(teacher, "classes_", None)
        if teacher_classes is None or not np.array_equal(teacher_classes, self.classes_):
            raise ValueError(
                f"the teacher's classes_ {teacher_classes!r} differ from the labels of "
                f"y {self.classes_!r}; expected a teacher fitted on the same classes."
            )
        return teacher.predict_proba(X, X_priv)

    def _teacher_predictions(self, teacher, X, X_priv):
        """A regression teacher's predictions in the student's standardised space."""
        predictions = np.asarray(teacher.predict(X, X_priv), dtype=np.float64)
        return self.y_scaler_.transform(predictions.reshape(len(X), -1))

    def _teacher_task_losses(self, teacher, X, X_priv, y_net):
        """The teacher's task loss on each row against its true target, shape
        (n,): see the task's ``teacher_task_losses`` in :mod:`._tasks`."""
        return self._task.teacher_task_losses(self, teacher, X, X_priv, y_net,
                                              "teacher_selection='best_per_batch'")

    def _fit_teacher(self, teacher, X, y, X_priv, groups, sample_weight, seed, *, quiet=False):
        """The fitted teacher of these rows; ``quiet`` silences its progress
        (the safeguard's inner teachers)."""
        if isinstance(teacher, FrozenEstimator):
            check_is_fitted(teacher.estimator, msg=(
                "teacher is a FrozenEstimator of an unfitted %(name)s; expected a fitted "
                "teacher (FrozenEstimator(PrivilegedTeacher().fit(X, y, X_priv=X_priv))), or "
                "the teacher itself unfrozen, so that the student fits it on its own rows."))
            return teacher
        if teacher is None:
            teacher = PrivilegedTeacher(
                **{name: getattr(self, name) for name in DEFAULT_TEACHER_SETTINGS},
                random_state=seed)
        else:
            teacher_task = getattr(teacher, "task", self.task)
            if teacher_task != self.task:
                raise ValueError(
                    f"teacher has task={teacher_task!r} but this student has "
                    f"task={self.task!r}; expected the same task (or a FrozenEstimator "
                    "teacher fitted elsewhere)."
                )
            teacher = clone(teacher)
        if quiet and "verbose" in teacher.get_params(deep=False):
            teacher.set_params(verbose=0)
        # A teacher whose fit takes them holds out whole groups and weighs rows too.
        fit_params = {name: value for name, value in (("groups", groups),
                                                      ("sample_weight", sample_weight))
                      if value is not None and _takes(teacher, name)}
        fit = check_memory(self.memory).cache(_fit_teacher_on)
        try:
            return fit(teacher, X, y, X_priv, fit_params)
        except TrainingDivergedError as exc:
            raise TrainingDivergedError(
                f"{type(self).__name__}: its teacher could not be trained. {exc}") from exc

    def _forward_X(self, X):
        """The fitted network's named outputs on X (validated, scaled)."""
        check_is_fitted(self, "net_")
        X = self._validate_X(X, reset=False)
        return self._forward(self._as_float32(self.x_scaler_, X, "X"))

    def predict(self, X, X_priv=None):
        """Labels (classification) or values (regression) from X alone.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or \
(n_samples, n_steps, n_features)
        X_priv : None
            Not used: the student predicts from X alone. Anything but None
            raises a TypeError saying so (the teacher's ``predict`` takes
            X_priv; the student's does not need it).

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        """
        _check_no_priv(X_priv, "predict")
        return self._task.decode(self, self._forward_X(X).output)

    @available_if(lambda self: self._has_labels)
    def predict_proba(self, X, X_priv=None):
        """Class (or level) probabilities from X alone, columns ordered as ``classes_``.

        Parameters
        ----------
        X, X_priv
            As in :meth:`predict` (X_priv is not used).

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        _check_no_priv(X_priv, "predict_proba")
        return self._task.proba(self._forward_X(X).output)

    def transform(self, X, X_priv=None):
        """The student's embedding of each sample, from X alone: what it
        compares with the teacher's (the fused one for a hallucinating
        student), for plots and downstream models.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or \
(n_samples, n_steps, n_features)
        X_priv : None
            Not used (see :meth:`predict`).

        Returns
        -------
        Z : ndarray of shape (n_samples, embedding_dim_), float32
        """
        _check_no_priv(X_priv, "transform")
        return self._forward_X(X).embedding

    def export(self, path):
        """Write the fitted student to the folder ``path`` for deployment.

        Two files: ``weights.pt``, the student network's weights (a torch
        state dict of tensors), and ``student.json``, what prediction needs
        (task, classes, input and target scaling, shapes, feature names,
        architecture, versions). Neither the teacher nor any statistic of
        the privileged data is written. :func:`pkdot_sk.load_student` reads
        it back without unpickling code; its predictions equal this
        student's.

        Parameters
        ----------
        path : str or path-like
            A folder (created if needed).

        Returns
        -------
        path : pathlib.Path
        """
        return export_student(self, path)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # transform returns float32 embeddings whatever the input dtype.
        tags.transformer_tags = TransformerTags(preserves_dtype=[])
        return tags

    @available_if(lambda self: self.hallucinate)
    def hallucinated_embeddings(self, X):
        """The student's hallucinated privileged embeddings, from X alone.

        Available with ``hallucinate=True``, once a fit has distilled (a
        student whose safeguard rejected distillation has no transformation
        nets: ValueError).

        Returns
        -------
        embeddings : list of ndarray, float32
            One ``(n_samples, d_m)`` array per entry of
            ``hallucinated_modalities_``, each an estimate of the teacher's
            ``transform_modalities`` output for that modality.
        """
        check_is_fitted(self, "net_")
        if not hasattr(self, "hallucinated_modalities_"):
            raise ValueError(
                "this student was trained without distillation (distilled_=False"
                + (": its safeguard found that distillation did not help on held-out rows"
                   if self.safeguard_ is not None else "")
                + "), so it has no transformation nets and hallucinates nothing. Set "
                "safeguard=None to always distil."
            )
        hallucinated = self._forward_X(X).hallucinated
        dims = self.net_.module_.hallucination_dims
        return np.split(hallucinated, np.cumsum(dims)[:-1], axis=1)

    def score(self, X, y, sample_weight=None):
        """Accuracy (classification) or R^2 (regression) from X alone."""
        y_pred = self.predict(X)
        y, sample_weight = self._score_inputs(
            y, sample_weight, len(y_pred),
            hint=" (PKDOTStudent.score takes X alone: was X_priv passed as its third argument?)")
        return self._score(y, y_pred, sample_weight)


def _check_no_priv(X_priv, method):
    if X_priv is not None:
        raise TypeError(
            f"PKDOTStudent.{method} takes X alone: the student predicts from the regular "
            "modality, and privileged data is used in fit only (by its teacher); got "
            f"X_priv of type {type(X_priv).__name__}. Call {method}(X)."
        )


def _check_teacher(teacher, label):
    """A teacher instance that takes privileged data, else an
    InvalidParameterError (a ValueError and a TypeError) naming ``label``."""
    if teacher is None:
        return
    if isinstance(teacher, type):
        raise InvalidParameterError(
            f"{label} is the class {teacher.__name__}, not an estimator; expected an "
            f"instance, e.g. {label}={teacher.__name__}()."
        )
    frozen = isinstance(teacher, FrozenEstimator)
    inner = teacher.estimator if frozen else teacher
    calls = (("fit", lambda sig: sig.bind(None, None, X_priv=None)),
             ("transform", lambda sig: sig.bind(None, None)))
    # A frozen teacher is used as fitted: only its transform is called.
    for method, call in calls[frozen:]:
        function = getattr(inner, method, None)
        if function is None:
            continue  # reported by the parameter constraints and _teacher_list
        try:
            signature = inspect.signature(function)
        except (TypeError, ValueError):
            continue  # no signature to read (a builtin): left to the call
        try:
            call(signature)
        except TypeError:
            raise InvalidParameterError(
                f"{label} ({type(inner).__name__}) does not take privileged data: its "
                f"{method}{signature} cannot be called as "
                f"{'fit(X, y, X_priv=X_priv)' if method == 'fit' else 'transform(X, X_priv)'}"
                ". Expected a teacher with fit(X, y, X_priv=...) and transform(X, X_priv), "
                "such as PrivilegedTeacher (or FrozenEstimator of a fitted one)."
            ) from None
