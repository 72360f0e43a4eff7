"""Distillation losses: pure functions, tensors in, differentiable scalar out.

Every function takes the student's tensor first and the teacher's second;
the teacher's is a fixed target (detached). Structure losses (``pkdot_loss``,
``rkd_loss``, ``similarity_preserving_loss``, ``pkt_loss``) compare
relations *within* the batch, so the two embeddings may differ in width;
``feature_distillation_loss`` compares the embeddings point to point (the
student's projected to the teacher's width first); ``logit_kd_loss`` and
``generalized_distillation_loss`` compare outputs.
"""

import math
from numbers import Integral, Real

import torch
import torch.nn.functional as F

from ._checks import (check_finite_tensor, check_float_tensor, check_nonnegative_real,
                      check_positive_int, check_positive_real, compute_dtype)
from ._ot import MAX_ITER, TOL
from ._pkdot import cosine_similarity_matrix, pkdot_loss_cpu, pkdot_loss_torch

__all__ = [
    "ANCHOR_STRATEGIES",
    "best_teacher_index",
    "best_teacher_loss",
    "ccc_loss",
    "cosine_similarity_matrix",
    "feature_distillation_loss",
    "generalized_distillation_loss",
    "logit_kd_loss",
    "multi_teacher_loss",
    "pkdot_loss",
    "pkt_loss",
    "rkd_loss",
    "similarity_preserving_loss",
]

ANCHOR_STRATEGIES = ("least_similar", "most_similar", "all")
# What makes embeddings non-finite, for pkdot_loss's error.
_STUDENT_CAUSES = ("a diverging training (a learning rate too large), inputs too large for "
                   "float32, or an encoder that produces NaN")
_TEACHER_CAUSES = ("a teacher that diverged in training, inputs too large for float32, or "
                   "targets computed from NaN data")


def pkdot_loss(
    student_emb, teacher_emb, *, top_k=30, anchors="least_similar", reg=0.01, center=False,
    normalize=False, max_iter=MAX_ITER, tol=TOL,
):
    """Privileged knowledge distillation by optimal transport (PKDOT loss).

    For one batch of B samples:

    1. cosine-similarity matrices ``S_S`` and ``S_T`` (B x B) of the student's
       and teacher's embeddings, each shifted to be non-negative
       (``S - S.min()``);
    2. for every row, ``k = min(top_k, B)`` anchor columns chosen on the
       *teacher* matrix: its ``k`` least similar samples (as in the authors'
       released code), its ``k`` most similar, or all ``B`` columns;
    3. the same columns gathered from both matrices give two clouds of B
       points in R^k;
    4. the loss is the Sinkhorn divergence between the two clouds (uniform
       weights, cost ``|x - y|^2 / 2``, entropic regularisation ``reg``).

    With the defaults this is the released quantity (the paper's cost,
    epsilon and anchors). Its size grows with the number of anchor
    coordinates ``k`` (the cost sums k squared differences), so with
    ``anchors="all"`` it grows with the batch size, and so do the meanings of
    a weight on it and of ``reg``. ``normalize=True`` divides the cost by
    ``k`` (the mean instead of the sum of the squared differences of
    similarities): the value, its gradient and ``reg`` then mean the same at
    every batch size and number of anchors (table in docs/performance.md).
    It equals the Sinkhorn divergence at ``k * reg`` divided by ``k``.

    The teacher embedding is a fixed target: it is detached. Only relative
    structure is compared, so the two embeddings may have different widths,
    and the loss is unchanged when either embedding is rotated or rescaled.

    Parameters
    ----------
    student_emb : torch.Tensor of shape (B, d_s)
        Student embeddings of the batch: finite, float32 or float64 (float16
        and bfloat16 are computed in float32 and the loss returned in their
        dtype). Only the directions of the rows matter, at any scale from
        1e-20 to 1e20; in float16, from 1e-2 to 1e4 (below, the gradient,
        which grows as 1 / scale, overflows float16).
    teacher_emb : torch.Tensor of shape (B, d_t)
        Teacher (fused) embeddings of the same samples, same order (cast to
        the student's dtype).
    top_k : int, default=30
        Anchors per row. A value above the batch size uses all B columns
        (small last batches are therefore handled without error).
    anchors : {"least_similar", "most_similar", "all"}, default="least_similar"
        How the anchor columns are chosen on the teacher matrix. "all"
        ignores ``top_k``.
    reg : float, default=0.01
        Entropic regularisation epsilon of the Sinkhorn divergence (finite,
        > 0). Values and gradients are finite for any reg from 1e-12 to 1e6,
        batch sizes 2 to 1024 and the dtypes above (property-tested in
        tests/test_properties.py).
    center : bool, default=False
        Subtract the batch mean from each embedding before the cosine
        similarities. Embeddings after a ReLU all lie in the positive orthant,
        where cosine similarities crowd into [0, 1]; centred, they spread over
        [-1, 1] and measure how two samples deviate from the batch alike.
    normalize : bool, default=False
        Divide the transport cost by the number of anchor coordinates (see
        above); the estimators' default.
    max_iter : int, default=200
        Most solver iterations at the target epsilon (after epsilon-scaling);
        see :func:`pkdot_sk._ot.sinkhorn_divergence`. Accuracy on the batches
        of real fits: docs/performance.md.
    tol : float, default=1e-2
        Solver tolerance on the marginals of the transport plans; a solve
        stops earlier once it is reached.

    Returns
    -------
    loss : torch.Tensor
        Non-negative differentiable scalar in the student's dtype; 0 for a
        batch of one sample (a single point has no similarity structure to
        transfer).

    Raises
    ------
    TypeError
        If an embedding is not a floating-point torch tensor (numpy arrays
        and integer tensors included).
    ValueError
        If an embedding holds NaN or inf (the message says which, and the
        likely causes), the shapes disagree, or an argument is out of range
        (the message names it).

    References
    ----------
    .. [1] Aslam, M. H., Pedersoli, M., Koerich, A. L., and Granger, E.
       "Distilling Privileged Multimodal Information for Expression
       Recognition using Optimal Transport." IEEE FG 2024.
    .. [2] Feydy, J. et al. "Interpolating between Optimal Transport and MMD
       using Sinkhorn Divergences." AISTATS 2019.
    """
    check_float_tensor(student_emb, "student_emb")
    check_float_tensor(teacher_emb, "teacher_emb")
    if student_emb.ndim != 2 or teacher_emb.ndim != 2:
        raise ValueError(
            "student_emb and teacher_emb must be 2-D (batch, features); got "
            f"shapes {tuple(student_emb.shape)} and {tuple(teacher_emb.shape)}."
        )
    n_rows = student_emb.shape[0]
    if teacher_emb.shape[0] != n_rows:
        raise ValueError(
            f"teacher_emb has {teacher_emb.shape[0]} rows but student_emb has "
            f"{n_rows}; expected the same samples in the same order."
        )
    # numbers.Integral: numpy integers (e.g. from a GridSearchCV grid) are valid.
    top_k = check_positive_int(top_k, "top_k")
    if anchors not in ANCHOR_STRATEGIES:
        raise ValueError(f"anchors must be one of {ANCHOR_STRATEGIES}; got {anchors!r}.")
    reg = check_positive_real(reg, "reg")
    max_iter = check_positive_int(max_iter, "max_iter")
    tol = check_positive_real(tol, "tol")
    check_finite_tensor(student_emb, "student_emb", _STUDENT_CAUSES)
    check_finite_tensor(teacher_emb, "teacher_emb", _TEACHER_CAUSES)
    if n_rows < 2:
        return student_emb.sum() * 0.0

    # float16 and bfloat16 are solved in float32, the value returned in the input dtype.
    dtype = student_emb.dtype
    student_emb = student_emb.to(compute_dtype(dtype))
    teacher_emb = teacher_emb.detach().to(student_emb.dtype).to(student_emb.device)
    if center:
        student_emb = student_emb - student_emb.mean(dim=0, keepdim=True)
        teacher_emb = teacher_emb - teacher_emb.mean(dim=0, keepdim=True)
    k = n_rows if anchors == "all" else min(top_k, n_rows)
    # S_reg(x / sqrt(k), y / sqrt(k)) = S_{k reg}(x, y) / k: the normalised
    # divergence is the plain one at a larger epsilon, scaled.
    scale = 1.0 / k if normalize else 1.0
    solver = dict(reg=reg / scale, max_iter=max_iter, tol=tol)
    if student_emb.device.type == "cpu" and student_emb.dtype in (torch.float32, torch.float64):
        # The same computation as pkdot_loss_torch in one autograd node: on
        # CPU the dozen small torch operations cost as much as the OT solve.
        value = pkdot_loss_cpu(student_emb, teacher_emb, k, anchors, scale=scale, **solver)
    else:
        value = pkdot_loss_torch(student_emb, teacher_emb, k, anchors, **solver)
        value = value * scale if normalize else value
    return value.to(dtype)


# ------------------------------------------------------------------ baselines
def _check_pair(student, teacher, names, *, same_width=False):
    """The checks of pkdot_loss for a student and a teacher tensor (names in
    the errors): floating torch tensors, 2-D, the same rows, finite."""
    student_name, teacher_name = names
    check_float_tensor(student, student_name, upcast=False)
    check_float_tensor(teacher, teacher_name, upcast=False)
    if student.ndim != 2 or teacher.ndim != 2:
        raise ValueError(
            f"{student_name} and {teacher_name} must be 2-D (batch, features); got shapes "
            f"{tuple(student.shape)} and {tuple(teacher.shape)}."
        )
    if student.shape[0] != teacher.shape[0]:
        raise ValueError(
            f"{teacher_name} has {teacher.shape[0]} rows but {student_name} has "
            f"{student.shape[0]}; expected the same samples in the same order."
        )
    if same_width and student.shape[1] != teacher.shape[1]:
        raise ValueError(
            f"{student_name} and {teacher_name} must have the same width; got "
            f"{student.shape[1]} and {teacher.shape[1]} (project the student's first)."
        )
    if student.shape[0] == 0:
        raise ValueError(
            f"{student_name} and {teacher_name} have 0 rows; expected a batch of at least "
            "one sample."
        )
    check_finite_tensor(student, student_name, _STUDENT_CAUSES)
    check_finite_tensor(teacher, teacher_name, _TEACHER_CAUSES)
    return teacher.detach().to(student.dtype)


_EMBEDDINGS = ("student_emb", "teacher_emb")
# Magnitudes whose squares and products float32 holds without overflow or
# loss of precision. The scale-free losses rescale inputs beyond them by a
# power of two (exact in floating point), and leave all others untouched.
_SAFE_MAGNITUDES = (2.0 ** -20, 2.0 ** 20)
_GRAM_SAFE_MAGNITUDES = (2.0 ** -10, 2.0 ** 10)


def _unit_scale(*tensors, safe=_SAFE_MAGNITUDES):
    """The tensors divided by one common power of two that brings their
    largest magnitude to [0.5, 1) when it lies outside ``safe``; unchanged
    otherwise. The factor is a constant (no gradient flows through
    it): exact for a loss that ignores a common scale."""
    largest = max(float(t.detach().abs().max()) for t in tensors)
    if largest == 0.0 or safe[0] <= largest <= safe[1]:
        return tensors
    factor = 2.0 ** math.frexp(largest)[1]
    return tuple(t / factor for t in tensors)


def _check_finite_result(value, names, advice):
    """A ValueError naming the arguments when a loss overflows its dtype."""
    if not bool(torch.isfinite(value)):
        raise ValueError(
            f"The loss of {' and '.join(names)} overflows {value.dtype} (it is {value.item()}); "
            f"expected inputs of moderate magnitude: {advice}."
        )
    return value


def logit_kd_loss(student_logits, teacher_logits, *, temperature=4.0):
    """Knowledge distillation on softened class probabilities (Hinton et al.).

    ``T^2 * KL(softmax(t / T) || softmax(s / T))``, averaged over the batch.
    The ``T^2`` factor keeps the gradient scale independent of ``T``.

    Parameters
    ----------
    student_logits, teacher_logits : torch.Tensor of shape (B, n_classes)
        Logits (any per-row shift of the teacher's, e.g. log-probabilities,
        gives the same loss).
    temperature : float, default=4.0

    References
    ----------
    .. [1] Hinton, G., Vinyals, O., and Dean, J. "Distilling the Knowledge in
       a Neural Network." NIPS Deep Learning Workshop, 2015.
    """
    teacher_logits = _check_pair(student_logits, teacher_logits,
                                 ("student_logits", "teacher_logits"), same_width=True)
    temperature = check_positive_real(temperature, "temperature")
    log_p_student = F.log_softmax(student_logits / temperature, dim=1)
    log_p_teacher = F.log_softmax(teacher_logits / temperature, dim=1)
    kl = (log_p_teacher.exp() * (log_p_teacher - log_p_student)).sum(dim=1).mean()
    return temperature**2 * kl


def generalized_distillation_loss(student_output, teacher_output, *, temperature=4.0,
                                  task="classification"):
    """Imitation term of generalized distillation (Lopez-Paz et al.).

    Classification: cross-entropy between the teacher's soft labels
    ``softmax(t / T)`` and the student's probabilities ``softmax(s)`` (the
    student at temperature 1, as in the paper). Regression: squared error to
    the teacher's predictions. The estimator mixes it with the task loss as
    ``(1 - imitation) * task + imitation * this``.

    Parameters
    ----------
    student_output, teacher_output : torch.Tensor of shape (B, n_outputs)
        Logits (classification) or predictions (regression).
    temperature : float, default=4.0
        Softening of the teacher's labels (classification only).
    task : {"classification", "regression"}, default="classification"

    References
    ----------
    .. [1] Lopez-Paz, D., Bottou, L., Schoelkopf, B., and Vapnik, V.
       "Unifying distillation and privileged information." ICLR 2016.
    """
    teacher_output = _check_pair(student_output, teacher_output,
                                 ("student_output", "teacher_output"), same_width=True)
    if task == "regression":
        return F.mse_loss(student_output, teacher_output)
    if task != "classification":
        raise ValueError(f"task must be 'classification' or 'regression'; got {task!r}.")
    temperature = check_positive_real(temperature, "temperature")
    soft_labels = F.softmax(teacher_output / temperature, dim=1)
    return -(soft_labels * F.log_softmax(student_output, dim=1)).sum(dim=1).mean()


def feature_distillation_loss(student_projected, teacher_emb, *, metric="mse"):
    """Point-to-point matching of embeddings (hint / feature distillation).

    The student's embedding, projected to the teacher's width by a learned
    linear map (part of the student network, dropped at prediction), is
    matched to the teacher's: mean squared error, or ``1 - cosine``.

    Parameters
    ----------
    student_projected, teacher_emb : torch.Tensor of shape (B, d)
    metric : {"mse", "cosine"}, default="mse"

    References
    ----------
    .. [1] Romero, A. et al. "FitNets: Hints for Thin Deep Nets." ICLR 2015.
    """
    names = ("student_projected", "teacher_emb")
    teacher_emb = _check_pair(student_projected, teacher_emb, names, same_width=True)
    if metric == "mse":
        # Squared errors of values beyond ~1e19 overflow float32.
        return _check_finite_result(F.mse_loss(student_projected, teacher_emb), names,
                                    "rescale them (the estimators standardise their inputs)")
    if metric == "cosine":
        return (1.0 - F.cosine_similarity(student_projected, teacher_emb, dim=1)).mean()
    raise ValueError(f"metric must be 'mse' or 'cosine'; got {metric!r}.")


def _normalised_distances(emb):
    distances = torch.cdist(emb, emb)
    off_diagonal = ~torch.eye(len(emb), dtype=torch.bool, device=emb.device)
    # Divided by the mean pairwise distance: the loss ignores the scale.
    return distances / distances[off_diagonal].mean().clamp_min(1e-12)


def _angles(emb):
    """cos of the angle at j between i and k, for all triplets: (B, B, B)."""
    directions = F.normalize(emb[:, None, :] - emb[None, :, :], dim=2)  # (j, i, d)
    return directions @ directions.transpose(1, 2)


def rkd_loss(student_emb, teacher_emb, *, distance_weight=25.0, angle_weight=50.0):
    """Relational knowledge distillation: distance and angle (Park et al.).

    Huber (smooth L1) losses between the students' and the teacher's
    pairwise distances (each divided by its mean) and between the cosines of
    the angles formed by every triplet of the batch. Default weights are the
    paper's.

    Parameters
    ----------
    student_emb : torch.Tensor of shape (B, d_s)
    teacher_emb : torch.Tensor of shape (B, d_t)
    distance_weight, angle_weight : float, default=25.0, 50.0

    References
    ----------
    .. [1] Park, W., Kim, D., Lu, Y., and Cho, M. "Relational Knowledge
       Distillation." CVPR 2019.
    """
    teacher_emb = _check_pair(student_emb, teacher_emb, _EMBEDDINGS)
    distance_weight = check_nonnegative_real(distance_weight, "distance_weight")
    angle_weight = check_nonnegative_real(angle_weight, "angle_weight")
    if len(student_emb) < 2:
        return student_emb.sum() * 0.0
    dtype = student_emb.dtype
    # torch.cdist has no half-precision kernel on the CPU; distances are
    # divided by their mean and angles ignore scale, so each embedding is
    # brought to unit scale on its own.
    (student,) = _unit_scale(student_emb.to(compute_dtype(dtype)))
    (teacher,) = _unit_scale(teacher_emb.to(compute_dtype(dtype)))
    with torch.no_grad():
        teacher_distances = _normalised_distances(teacher)
        teacher_angles = _angles(teacher)
    distance = F.smooth_l1_loss(_normalised_distances(student), teacher_distances)
    angle = F.smooth_l1_loss(_angles(student), teacher_angles)
    return (distance_weight * distance + angle_weight * angle).to(dtype)


def similarity_preserving_loss(student_emb, teacher_emb):
    """Similarity-preserving distillation (Tung and Mori).

    Gram matrices ``Z Z^T`` of both embeddings, rows L2-normalised, compared
    by the squared Frobenius norm divided by ``B^2``. The paper weights it by
    3000 against the task loss.

    Parameters
    ----------
    student_emb : torch.Tensor of shape (B, d_s)
    teacher_emb : torch.Tensor of shape (B, d_t)

    References
    ----------
    .. [1] Tung, F., and Mori, G. "Similarity-Preserving Knowledge
       Distillation." ICCV 2019.
    """
    teacher_emb = _check_pair(student_emb, teacher_emb, _EMBEDDINGS)
    # Rows of the Gram matrices are normalised: each embedding's scale is
    # irrelevant, so each is brought to unit scale on its own. The Gram is
    # quadratic: beyond 2^±10 its rows near F.normalize's floor (1e-12).
    (student,), (teacher,) = (_unit_scale(emb, safe=_GRAM_SAFE_MAGNITUDES)
                              for emb in (student_emb, teacher_emb))
    gram_student = F.normalize(student @ student.T, dim=1)
    gram_teacher = F.normalize(teacher @ teacher.T, dim=1)
    return ((gram_student - gram_teacher) ** 2).sum() / len(student_emb) ** 2


def pkt_loss(student_emb, teacher_emb, *, eps=1e-7):
    """Probabilistic knowledge transfer (Passalis and Tefas).

    Each embedding defines conditional probabilities between the samples of
    the batch from a cosine-similarity kernel, ``p_{j|i}`` proportional to
    ``(cos(z_i, z_j) + 1) / 2``; the loss is the KL divergence from the
    teacher's to the student's, summed over j and averaged over i.

    Parameters
    ----------
    student_emb : torch.Tensor of shape (B, d_s)
    teacher_emb : torch.Tensor of shape (B, d_t)
    eps : float, default=1e-7
        Floor inside the logarithm.

    References
    ----------
    .. [1] Passalis, N., and Tefas, A. "Learning Deep Representations with
       Probabilistic Knowledge Transfer." ECCV 2018.
    """
    teacher_emb = _check_pair(student_emb, teacher_emb, _EMBEDDINGS)
    eps = check_positive_real(eps, "eps")

    def conditional(emb):
        kernel = (cosine_similarity_matrix(emb) + 1.0) / 2.0
        return kernel / kernel.sum(dim=1, keepdim=True)

    p_student, p_teacher = conditional(student_emb), conditional(teacher_emb)
    return (p_teacher * torch.log((p_teacher + eps) / (p_student + eps))).sum(dim=1).mean()


# -------------------------------------------------------------- several teachers
def multi_teacher_loss(student, teachers, *, loss, widths, weights, split_student=False):
    """Weighted sum of one distillation loss against several teachers.

    ``teachers`` holds the teachers' targets side by side, ``widths[i]``
    columns each; the result is ``sum_i weights[i] * loss(student,
    teacher_i)``, every teacher on every batch (MT-PKDOT with fixed weights;
    :func:`best_teacher_loss` picks one teacher per batch instead).
    With ``split_student`` the student tensor is split the same way, block
    ``i`` matched to teacher ``i`` (point-to-point feature distillation
    through one adapter per teacher block).

    Parameters
    ----------
    student : torch.Tensor of shape (B, d_s)
    teachers : torch.Tensor of shape (B, sum(widths))
    loss : callable
        ``loss(student, teacher) -> scalar``, e.g. :func:`pkdot_loss`.
    widths : sequence of int
    weights : sequence of float
        One per teacher (the estimator normalises them to sum to 1).
    split_student : bool, default=False

    Returns
    -------
    loss : torch.Tensor, scalar

    References
    ----------
    .. [1] Aslam, M. H., Pedersoli, M., Koerich, A. L., and Granger, E.
       Multi-teacher privileged knowledge distillation (MT-PKDOT), 2024: the
       multi-teacher extension of PKDOT by the same authors.
    """
    check_float_tensor(student, "student", upcast=False)
    check_float_tensor(teachers, "teachers", upcast=False)
    if not callable(loss):
        raise TypeError(f"loss must be a callable loss(student, teacher) -> scalar, such as "
                        f"pkdot_loss; got {type(loss).__name__}.")
    if any(isinstance(w, bool) or not isinstance(w, Integral) or w < 0 for w in widths):
        raise ValueError(f"widths must be non-negative integers; got {tuple(widths)}.")
    if any(not (isinstance(w, Real) and math.isfinite(w) and w >= 0) for w in weights):
        raise ValueError(f"weights must be finite non-negative floats; got {tuple(weights)}.")
    if teachers.shape[1] != sum(widths) or len(widths) != len(weights):
        raise ValueError(
            f"teachers has {teachers.shape[1]} columns, expected sum(widths) = {sum(widths)} "
            f"with one weight per width; got widths {tuple(widths)} and weights "
            f"{tuple(weights)}."
        )
    teacher_blocks = torch.split(teachers, list(widths), dim=1)
    student_blocks = (torch.split(student, list(widths), dim=1) if split_student
                      else [student] * len(widths))
    total = student.sum() * 0.0
    for weight, student_block, teacher_block in zip(weights, student_blocks, teacher_blocks):
        if weight:
            total = total + weight * loss(student_block, teacher_block)
    return total


def best_teacher_index(teacher_losses):
    """Index of the teacher with the lowest task loss on a batch.

    Parameters
    ----------
    teacher_losses : torch.Tensor of shape (B, n_teachers) or (n_teachers,)
        Each teacher's task loss on the batch: per sample (summed over the
        rows here) or already totalled per teacher.

    Returns
    -------
    index : int
        ``argmin`` over the teachers of the batch totals; a tie goes to the
        first teacher in list order.
    """
    check_float_tensor(teacher_losses, "teacher_losses", upcast=False)
    if teacher_losses.ndim == 2:
        teacher_losses = teacher_losses.sum(dim=0)
    if teacher_losses.ndim != 1 or teacher_losses.shape[0] < 1:
        raise ValueError(
            "teacher_losses must have shape (B, n_teachers) or (n_teachers,) with at least "
            f"one teacher; got shape {tuple(teacher_losses.shape)}."
        )
    totals = teacher_losses.detach()
    if not bool(torch.isfinite(totals).all()):
        raise ValueError(f"teacher_losses must be finite; got batch totals {totals.tolist()}.")
    # The first-minimum rule made explicit: the lowest index at the minimum.
    return int((totals == totals.min()).nonzero()[0, 0])


def best_teacher_loss(student, teachers, teacher_losses, *, loss, widths, split_student=False):
    """Distillation loss against the one teacher best on the task for this batch.

    The authors' released MT-PKDOT rule: on every mini-batch a single
    teacher is distilled, the one whose own task loss on the rows of the
    batch (``teacher_losses``, summed over the rows) is lowest; ties go to
    the first teacher. The result is ``loss(student, teacher_i)`` for that
    ``i`` (see :func:`best_teacher_index`), with the teachers' targets
    stacked side by side as in :func:`multi_teacher_loss`.

    Parameters
    ----------
    student : torch.Tensor of shape (B, d_s)
    teachers : torch.Tensor of shape (B, sum(widths))
    teacher_losses : torch.Tensor of shape (B, n_teachers) or (n_teachers,)
        Each teacher's task loss against the true targets of the batch, per
        sample or totalled. A fixed quantity (no gradient flows into it).
    loss : callable
        ``loss(student, teacher) -> scalar``, e.g. :func:`pkdot_loss`.
    widths : sequence of int
        Columns of each teacher's block in ``teachers``.
    split_student : bool, default=False
        Split the student tensor by ``widths`` too and match block ``i`` to
        teacher ``i`` (as in :func:`multi_teacher_loss`).

    Returns
    -------
    loss : torch.Tensor, scalar

    See Also
    --------
    multi_teacher_loss : every teacher on every batch, and the reference of
        MT-PKDOT, whose released code distils per mini-batch the teacher
        with the lowest task loss.
    """
    n_teachers = teacher_losses.shape[-1] if teacher_losses.ndim else 0
    if teachers.shape[1] != sum(widths) or n_teachers != len(widths):
        raise ValueError(
            f"teachers has {teachers.shape[1]} columns, expected sum(widths) = {sum(widths)} "
            f"with one task loss per teacher; got widths {tuple(widths)} and teacher_losses "
            f"of shape {tuple(teacher_losses.shape)}."
        )
    index = best_teacher_index(teacher_losses)
    start = sum(widths[:index])
    stop = start + widths[index]
    student_block = student[:, start:stop] if split_student else student
    return loss(student_block, teachers[:, start:stop])


# ------------------------------------------------------------------ regression
def ccc_loss(y_pred, y_true, *, eps=1e-8):
    """One minus the concordance correlation coefficient, for training.

    For each output column, the CCC of the batch (Lin, 1989),
    ``2 cov(p, t) / (var(p) + var(t) + (mean(p) - mean(t))^2 + eps)``, with
    population moments (divided by B); the loss is ``1 - CCC`` averaged over
    the columns. It lies in [0, 2] and is 0 only for predictions equal to
    the targets. It is the differentiable counterpart of
    :func:`pkdot_sk.metrics.concordance_correlation_coefficient` computed
    per batch (without its special case for constant columns, which ``eps``
    replaces), so the batch size matters: the CCC of a mini-batch is not the
    CCC of the data set, and very small batches give noisy gradients.

    The target is a fixed quantity: it is detached and cast to the dtype
    and device of ``y_pred``. A batch of one sample has zero variance and
    covariance; its loss is 1 with a zero gradient (no error).

    Parameters
    ----------
    y_pred : torch.Tensor of shape (B,) or (B, n_outputs)
        Predictions (differentiable).
    y_true : torch.Tensor of shape (B,) or (B, n_outputs)
        Targets, same shape as ``y_pred``.
    eps : float, default=1e-8
        Added to the denominator so that constant columns give a finite
        loss and gradient.

    Returns
    -------
    loss : torch.Tensor
        Differentiable scalar.

    Raises
    ------
    TypeError
        If ``y_pred`` or ``y_true`` is not a floating-point torch tensor.
    ValueError
        If they hold NaN or inf, their shapes differ, or ``eps`` is negative.

    References
    ----------
    .. [1] Lin, L. I.-K. "A concordance correlation coefficient to evaluate
       reproducibility." Biometrics 45(1), 255-268, 1989.
    """
    check_float_tensor(y_pred, "y_pred", upcast=False)
    check_float_tensor(y_true, "y_true", upcast=False)
    if y_pred.ndim not in (1, 2) or y_pred.shape != y_true.shape:
        raise ValueError(
            "y_pred and y_true must have the same shape, (B,) or (B, n_outputs); got "
            f"{tuple(y_pred.shape)} and {tuple(y_true.shape)}."
        )
    eps = check_nonnegative_real(eps, "eps")
    check_finite_tensor(y_pred, "y_pred", _STUDENT_CAUSES)
    check_finite_tensor(y_true, "y_true", "targets computed from NaN or overflowing values")
    # The CCC ignores a scale common to both (but for eps).
    y_pred, y_true = _unit_scale(y_pred, y_true.detach().to(y_pred.dtype))
    return _ccc_loss(y_pred, y_true, eps)


def _ccc_loss(y_pred, y_true, eps, sample_weight=None):
    """:func:`ccc_loss` on arguments already checked; ``sample_weight`` (one
    per row, not all zero) weighs the moments."""
    y_true = y_true.detach().to(dtype=y_pred.dtype, device=y_pred.device)
    if y_pred.ndim == 1:
        y_pred, y_true = y_pred[:, None], y_true[:, None]
    if sample_weight is None:
        def mean(values):
            return values.mean(dim=0)
    else:
        weights = sample_weight.to(y_pred.dtype).reshape(-1, 1)
        weights = weights / weights.sum()

        def mean(values):
            return (weights * values).sum(dim=0)
    mean_pred, mean_true = mean(y_pred), mean(y_true)
    dev_pred, dev_true = y_pred - mean_pred, y_true - mean_true
    var_pred = mean(dev_pred**2)
    var_true = mean(dev_true**2)
    covariance = mean(dev_pred * dev_true)
    ccc = 2.0 * covariance / (var_pred + var_true + (mean_pred - mean_true) ** 2 + eps)
    return (1.0 - ccc).mean()
