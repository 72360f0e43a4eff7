"""PKDOT's similarity / anchor step and the divergence of the anchor clouds, in
its two implementations side by side.

Per batch: cosine-similarity matrices of the student's and the teacher's
embeddings, each shifted non-negative; ``k`` anchor columns per row picked on
the teacher's matrix (least or most similar, or all); the same columns
gathered from both give two clouds of B points in R^k, compared by the
Sinkhorn divergence of :mod:`._ot`.

* :func:`pkdot_loss_torch`: torch operations, any device and dtype, autograd
  through them.
* :func:`pkdot_loss_cpu`: the same computation on CPU as a single autograd
  node with NumPy views. Built from torch operations, the similarity part
  (normalise, two B x B products, shifts, top-k, gathers) and its backward
  are a dozen small operations at ~8 microseconds of dispatch and autograd
  bookkeeping each: about 1 ms per batch at B=128, as much as the whole OT
  solve. Here forward and backward are written out by hand and the solver
  is called directly.

``losses.pkdot_loss`` validates its arguments and picks one; the tests check
that both give the same values and gradients.
"""

import math

import numpy as np
import torch
import torch.nn.functional as F

from . import _ot
from ._checks import check_float_tensor


def cosine_similarity_matrix(embeddings):
    """Pairwise cosine similarities of the rows of a (B, d) tensor.

    A zero row has similarity 0 with every row, and a zero gradient (its
    direction, hence its similarities, is undefined). The similarities do
    not depend on the scale of the rows, from the smallest to the largest
    normal float of the dtype.
    """
    check_float_tensor(embeddings, "embeddings", upcast=False)
    if embeddings.ndim != 2:
        raise ValueError(f"embeddings must have shape (B, d); got shape "
                         f"{tuple(embeddings.shape)}.")
    # Each row scaled by a power of two (exact, a constant for autograd)
    # that brings its largest entry into [0.5, 1): its squared norm then
    # neither overflows (rows near 1e20 in float32) nor underflows (1e-20).
    with torch.no_grad():
        largest = embeddings.abs().amax(dim=1, keepdim=True)
        exponent = torch.frexp(largest).exponent
        info = torch.finfo(embeddings.dtype)
        # Within the dtype's exponents, so that the factor is finite.
        exponent = exponent.clamp(int(math.log2(info.tiny)), int(math.log2(info.max)))
        factor = torch.exp2(-exponent.to(embeddings.dtype))
    unit = F.normalize(embeddings * factor, dim=1, eps=1e-12)
    # A zero row is divided by eps: its gradient would be 1e12 times
    # another's (inf in float16), for a direction that does not exist.
    unit = torch.where(largest > 0, unit, unit.detach())
    return unit @ unit.T


def pkdot_loss_torch(student_emb, teacher_emb, k, anchors, *, reg, max_iter, tol):
    """The PKDOT loss from torch operations (any device and dtype; arguments
    validated by the caller): autograd differentiates it."""
    sim_student = cosine_similarity_matrix(student_emb)
    sim_teacher = cosine_similarity_matrix(teacher_emb)
    sim_student = sim_student - sim_student.min()
    sim_teacher = sim_teacher - sim_teacher.min()

    if anchors == "all":
        cloud_student, cloud_teacher = sim_student, sim_teacher
    else:
        columns = torch.topk(sim_teacher, k, dim=1, largest=anchors == "most_similar").indices
        cloud_student = torch.gather(sim_student, 1, columns)
        cloud_teacher = torch.gather(sim_teacher, 1, columns)
    # The clouds are finite similarities and the arguments checked: no second check.
    return _ot._sinkhorn_divergence(cloud_student, cloud_teacher, reg, max_iter=max_iter,
                                    tol=tol)


# F.normalize's floor on the row norm: a zero row has similarity 0 with all
# (and a zero gradient, as in cosine_similarity_matrix above).
_NORM_EPS = 1e-12


def _unit_rows(z):
    """Rows divided by their norms, the norms, and which rows are zero.

    Each row is first scaled by a power of two that brings its largest
    entry into [0.5, 1): exact (the same unit rows bit for bit), and its
    squared norm then neither overflows (rows near 1e20 in float32) nor
    underflows (near 1e-20), which broke the cosines' scale invariance.
    """
    exponents = np.frexp(np.abs(z).max(axis=1))[1]  # 0 for a zero row
    scaled = np.ldexp(z, -exponents[:, None]).astype(z.dtype, copy=False)
    norms = np.sqrt(np.einsum("ij,ij->i", scaled, scaled))
    zero = norms <= _NORM_EPS
    np.maximum(norms, _NORM_EPS, out=norms)
    unit = scaled / norms[:, None]
    return unit, np.ldexp(norms, exponents).astype(z.dtype, copy=False), zero


def _shifted_similarity(unit):
    """``S - S.min()`` and the flat index of the minimum."""
    sim = _ot._matmul(unit, unit.T)
    argmin = int(sim.argmin())
    sim -= sim.flat[argmin]
    return sim, argmin


def _row_order(values):
    """Per row, the columns that sort the non-negative ``values`` ascending.

    One sort of 64-bit keys, each the value's float64 bits with the column
    index in the lowest mantissa bits (a non-negative float's bits order as
    the float does): a plain SIMD sort of integers, faster than
    ``np.argsort`` at every B measured (docs/performance.md, sixth pass).
    From float32 the keys are exact (float64 has 29 spare mantissa bits);
    float64 values that differ by less than ``2**-(52 - log2 B)`` relative
    (1e-13 at B = 512) sort as ties, by column, and ties are in any order
    anyway (as torch.topk leaves them).
    """
    n = values.shape[1]
    index_bits = max(1, (n - 1).bit_length())
    low = np.uint64((1 << index_bits) - 1)
    keys = values.astype(np.float64).view(np.uint64)  # a copy, sorted in place
    keys &= ~low
    keys |= np.arange(n, dtype=np.uint64)
    keys.sort(axis=1)
    keys &= low
    return keys.view(np.int64)


# Up to this batch size the k anchors are the first k columns of a full row
# sort, which inside the loss beats torch.topk (5x at B = 128); above it the
# sort grows faster than torch.topk (docs/performance.md, sixth pass).
_FULL_SORT_UP_TO = 256


def _anchor_columns(sim_teacher, k, anchors):
    """Per row, the k anchor columns, ordered as torch.topk orders them."""
    n = sim_teacher.shape[0]
    if anchors == "all" or k >= n or n <= _FULL_SORT_UP_TO:
        order = _row_order(sim_teacher)
        order = order[:, ::-1] if anchors == "most_similar" else order
        return order if k >= n else np.ascontiguousarray(order[:, :k])
    # Coordinate j of every point must be "the row's j-th anchor": a sorted
    # top-k, which torch computes 1.2-3x faster than NumPy's argpartition
    # followed by a sort of the kept columns.
    return torch.topk(torch.from_numpy(sim_teacher), k, dim=1,
                      largest=anchors == "most_similar").indices.numpy()


class _PKDOTLossCPU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, student_emb, teacher_emb, k, anchors, reg, max_iter, tol, scale):
        # All of it single-threaded BLAS: its spinning threads slow torch's exp.
        with _ot._host_context(True):
            z_student = student_emb.detach().numpy()
            z_teacher = teacher_emb.detach().numpy()
            unit_student, norms, zero_rows = _unit_rows(z_student)
            sim_student, argmin = _shifted_similarity(unit_student)
            sim_teacher, _ = _shifted_similarity(_unit_rows(z_teacher)[0])
            if anchors == "all":
                flat_columns = None
                cloud_student, cloud_teacher = sim_student, sim_teacher
            else:
                # Flat indices into the (contiguous) B x B matrices: one index
                # for both gathers and the backward's scatter, ~2x
                # take_along_axis and put_along_axis.
                n = sim_teacher.shape[0]
                flat_columns = _anchor_columns(sim_teacher, k, anchors)
                flat_columns += np.arange(0, n * n, n)[:, None]
                cloud_student = sim_student.ravel()[flat_columns]
                cloud_teacher = sim_teacher.ravel()[flat_columns]
            value, state = _ot._divergence(
                cloud_student, cloud_teacher, reg, decay=_ot.DECAY,
                inner_iter=_ot.INNER_ITER, max_iter=max_iter, omega=None, tol=tol,
                check_every=1,
            )
        ctx.saved = (state, flat_columns, unit_student, norms, zero_rows, argmin, scale)
        return torch.tensor(scale * float(value), dtype=student_emb.dtype)

    @staticmethod
    def backward(ctx, grad_output):
        if not ctx.needs_input_grad[0]:
            return (None,) * 8
        state, flat_columns, unit, norms, zero_rows, argmin, scale = ctx.saved
        with _ot._host_context(True):
            grad_cloud = _ot._divergence_gradient(state, 0)
            n = unit.shape[0]
            if flat_columns is None:
                grad_sim = grad_cloud
            else:
                # Anchor columns are distinct within a row: plain assignment.
                grad_sim = np.zeros((n, n), grad_cloud.dtype)
                grad_sim.ravel()[flat_columns] = grad_cloud
            # The shift by the minimum: d(-S.min()) sends -sum(grad) to it.
            grad_sim.flat[argmin] -= grad_cloud.sum()
            # S = U U^T, then U = Z / |Z| row by row.
            grad_unit = _ot._matmul(grad_sim + grad_sim.T, unit)
            radial = np.einsum("ij,ij->i", grad_unit, unit)
            grad_z = (grad_unit - unit * radial[:, None]) / norms[:, None]
            # Zero rows have no direction: a zero gradient, not 1e12 times
            # another row's (their norm is the floor).
            grad_z[zero_rows] = 0.0
        return (grad_output * scale) * torch.from_numpy(grad_z), *(None,) * 7


def pkdot_loss_cpu(student_emb, teacher_emb, k, anchors, *, reg, max_iter, tol, scale=1.0):
    """``scale`` times the PKDOT loss of two CPU tensors of the same dtype
    (validated by the caller), as one autograd node."""
    return _PKDOTLossCPU.apply(student_emb, teacher_emb, k, anchors, reg, max_iter, tol, scale)
