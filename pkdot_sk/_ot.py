"""Sinkhorn divergence between two point clouds of equal size.

The PKDOT loss needs the debiased entropic OT divergence between two clouds
of B points (B ~ 128) at a small regularisation (epsilon = 0.01), once per
mini-batch, forward and backward, in a few milliseconds at most. Choices,
each measured (docs/performance.md, benchmarks/speed.py):

* on CPU the solver runs on NumPy views of the tensors (no copy): a small
  NumPy operation costs 1-3 microseconds against ~8 for a small torch one, and
  the loop is made of small operations; the B x B exponentials and clamps,
  and products from 256^3 multiply-adds, go through torch (vectorised,
  multithreaded) and NumPy's BLAS is held to one thread;
  on other devices everything runs on the torch tensors;
* scaling (exponential) domain with absorption: at each epsilon the kernel
  ``exp((f_i + g_j - C_ij) / eps)`` is built once from the current potentials
  and iterations are matrix-vector products; scalings that drift out of
  [1e-12, 1e12] are absorbed into the potentials (float32 keeps the entries
  that matter), and the kernel is shifted against overflow; each absorption
  costs a kernel rebuild, so the bound is as wide as float32 allows;
* cross term OT(x, y): epsilon-scaling from the clouds' largest cost down to
  ``reg``, halving epsilon at each stage and iterating at each until the
  marginals are within 1 % (at most ``inner_iter`` iterations), then
  over-relaxed Sinkhorn (Thibault et al.) at the target until the marginal
  error is below ``tol``. Between two intermediate stages the kernel is
  the previous one's square times its scalings (no B x B exponential; it is
  rebuilt from the cost before rounding errors build up, and at the target).
  A float64 cost runs its coarse stages on a float32 copy (see
  ``_FLOAT32_STAGE_MARGIN``).
  Faster schedules (epsilon divided by 10, two
  iterations a stage) were several percent off on the all-anchor clouds of
  real fits (docs/performance.md, "Accuracy on real training batches"),
  whose costs are hundreds of times ``reg``: the early stages then land far
  from the optimum, and no number of target iterations brings it back;
* self terms OT(x, x), OT(y, y): symmetric averaged iterations started from
  the c-transform of zero converge in a few steps without epsilon-scaling;
* envelope-theorem gradients: no backpropagation through the iterations;
  the gradient is read off the transport plans, ``grad_x = (Q x - P y) / n``.

POT (``ot.solve(..., method="sinkhorn_log")``) is the reference the tests
compare against; docs/method.md says why the training-loop solve is not
POT's.
"""

import contextlib
import contextvars
import math
from dataclasses import dataclass
from numbers import Real

import numpy as np
import torch
from threadpoolctl import ThreadpoolController

from ._checks import (check_finite_tensor, check_float_tensor, check_positive_int,
                      check_positive_real, compute_dtype)

__all__ = ["SolverReport", "sinkhorn_divergence", "solver_report"]

# Automatic over-relaxation: the linearised optimum 2 / (1 + sqrt(1 - eta))
# from the rate eta of the first plain iterations; those underestimate the
# asymptotic rate of slow problems, which get the measured-best fixed weight.
_SLOW_RATE, _SLOW_WEIGHT, _N_PROBE = 0.5, 1.8, 3
# Largest kernel exponent and the bound on the scalings (checked every
# _ABSORB_EVERY iterations): K @ v stays below B * exp(30) * 1e12 ~ B * 1e25,
# finite in float32 (the scaled marginals u * K v are ~1 once the first
# update is made; an overflow is caught and redone plainly), and a kernel entry at the floor (exp(-87)) times two
# scalings of 1e12 is a plan entry of 1e-14, far below anything that counts.
# The bound was 1e6 (with exp(60)): on real training batches, 2.75 kernel
# rebuilds per solve, 30 % of the loss time, for the same values.
_MAX_EXPONENT = 30.0
# Marginal error at which an intermediate epsilon-scaling stage stops early:
# the next, smaller epsilon only needs a good start, not a converged one.
_STAGE_TOL = 1e-2
_ABSORB, _ABSORB_EVERY = 1e12, 4


# Below these exponents exp leaves the normal range. torch's vectorised exp
# takes a slow path on such inputs (float32: 130-600 us instead of 30 for a
# 128 x 128 block), so they are raised to it first: the entry becomes the
# smallest normal float instead of 0 or a denormal, an absolute change of
# ~1e-38 (float32) that no marginal can notice (see _ABSORB).
_MIN_EXPONENT = {np.dtype(np.float32): -87.0, np.dtype(np.float64): -708.0,
                 torch.float32: -87.0, torch.float64: -708.0}


def _exp_(a):
    """In-place exp; on NumPy arrays through torch, whose exp is vectorised
    and multithreaded (2-3x NumPy's here, more in float64)."""
    low = _MIN_EXPONENT.get(a.dtype)
    view = torch.from_numpy(a) if isinstance(a, np.ndarray) else a
    if low is not None:
        view.clamp_(min=low)
    view.exp_()
    return a


def _kernel(f, g, cost, eps):
    """``exp((f_i + g_j - C_ij) / eps)`` and ``f``, shifted against overflow.

    If the largest exponent is above ``_MAX_EXPONENT``, ``f`` is lowered by
    the excess (the scalings absorb it). Entries that would underflow become
    the smallest normal float instead of 0 (``_exp_``, for speed).
    """
    expo = f[:, None] + g[None, :]
    expo -= cost
    expo *= 1.0 / eps
    excess = float(expo.max()) - _MAX_EXPONENT
    if excess > 0:
        expo -= excess
        f = f - eps * excess
    return _exp_(expo), f


def _epsilon_schedule(diameter_sq, reg, decay):
    """Decreasing epsilons from the largest cost down to ``reg`` (inclusive)."""
    if diameter_sq <= reg:
        return [reg]
    n_stages = int(math.ceil(math.log(diameter_sq / reg) / math.log(1.0 / decay)))
    return [diameter_sq * decay**i for i in range(n_stages)] + [reg]


# From this many multiply-adds, NumPy products go through torch: its GEMM runs
# on torch's thread pool (1.5-1.8x NumPy's single-threaded BLAS for B x B
# products at B = 256 and 512 on two cores); below, NumPy's is as fast or
# faster (128 x 128 x 128: 67 us against 77-122).
_TORCH_MATMUL_SIZE = 256**3


def _matmul(a, b, out=None):
    """``a @ b`` for 2-D NumPy arrays or tensors, large NumPy ones through torch."""
    if isinstance(a, np.ndarray) and a.shape[0] * a.shape[1] * b.shape[1] >= _TORCH_MATMUL_SIZE:
        result = torch.mm(torch.from_numpy(a), torch.from_numpy(b),
                          out=None if out is None else torch.from_numpy(out))
        return result.numpy()
    if out is None:
        return a @ b
    if isinstance(a, np.ndarray):
        return np.matmul(a, b, out=out)
    return torch.mm(a, b, out=out)


def _cost_blocks(x, y):
    """Cross cost (n, n) and the two self costs (2, n, n), ``|a - b|^2 / 2``.

    With few coordinates (d < n / 4) each block is one product of augmented
    rows, ``[a, |a|^2 / 2, 1] . [-b, 1, |b|^2 / 2]``: the norms enter inside a
    cheap product instead of through passes over the n x n blocks, which
    cost more than the product there (B = 512, k = 30: 3-9 % of the loss).
    With many coordinates the copies into augmented rows cost more than the
    passes (k = B: 3-12 % of the loss), so the norms are added after the
    product (docs/performance.md, fifth pass).
    """
    n, d = x.shape
    numpy = isinstance(x, np.ndarray)
    if numpy:
        half_sq = np.empty((2, n), x.dtype)
        np.einsum("ij,ij->i", x, x, out=half_sq[0])
        np.einsum("ij,ij->i", y, y, out=half_sq[1])
        own = np.empty((2, n, n), x.dtype)
    else:
        half_sq = torch.stack([(x * x).sum(-1), (y * y).sum(-1)])
        own = x.new_empty((2, n, n))
    half_sq *= 0.5
    if 4 * d < n:
        left = np.empty((2, n, d + 2), x.dtype) if numpy else x.new_empty((2, n, d + 2))
        left[0, :, :d] = x
        left[1, :, :d] = y
        left[:, :, d] = half_sq
        left[:, :, d + 1] = 1.0
        right = -left if numpy else left.neg()
        right[:, :, d] = 1.0
        right[:, :, d + 1] = half_sq
        cross = _matmul(left[0], _swap_last(right[1]))
        _matmul(left[0], _swap_last(right[0]), out=own[0])
        _matmul(left[1], _swap_last(right[1]), out=own[1])
    else:
        cross = _matmul(x, y.T)
        cross *= -1.0
        cross += half_sq[0][:, None]
        cross += half_sq[1][None, :]
        _matmul(x, x.T, out=own[0])
        _matmul(y, y.T, out=own[1])
        own *= -1.0
        own += half_sq[:, :, None]
        own += half_sq[:, None, :]
    # A point's cost to itself is 0, which the expansion misses by rounding
    # (~1e-6 of |x|^2 in float32): at a small epsilon that error, over eps,
    # sent the self kernels' diagonals and row sums to the floor and the
    # self iterations to NaN (B=256, reg=1e-7; B=1024, reg=1e-6).
    if numpy:
        own.reshape(2, -1)[:, ::n + 1] = 0.0
    else:
        own.diagonal(dim1=-2, dim2=-1).zero_()
    # The expansion dips slightly below 0 through rounding.
    return _clamp_min_(cross, 0.0), _clamp_min_(own, 0.0)


def _swap_last(a):
    return a.swapaxes(-1, -2) if isinstance(a, np.ndarray) else a.transpose(-1, -2)


def _clamp_min_(a, low):
    # On NumPy arrays through torch: 2-4x np.maximum on B x B blocks.
    (torch.from_numpy(a) if isinstance(a, np.ndarray) else a).clamp_(min=low)
    return a


def _finite_positive(a):
    """``a`` clipped to the positive normal floats of its dtype (0 and inf out)."""
    if isinstance(a, np.ndarray):
        info = np.finfo(a.dtype)
        return np.clip(a, info.tiny, info.max)
    info = torch.finfo(a.dtype)
    return a.clamp(info.tiny, info.max)


def _log(a):
    return np.log(a) if isinstance(a, np.ndarray) else torch.log(a)


def _marginal_error(ratio, n):
    """``max_i |ratio_i / n - 1|`` with two reductions and no temporaries."""
    return max(float(ratio.max()) / n - 1.0, 1.0 - float(ratio.min()) / n)


def _sinkhorn(f, g, cost, eps, n_iter, omega, tol, check_every, kernel=None):
    """Sinkhorn in the scaling domain around the potentials ``(f, g)``.

    Works on ``diag(u) K diag(v)`` with ``K = exp((f_i + g_j - C_ij) / eps)``
    and uniform weights, from u = v = 1. ``omega=None`` chooses the
    over-relaxation weight after ``_N_PROBE`` plain iterations (see
    ``_SLOW_RATE``). Stops once the row marginal error (the columns are exact
    after each v-update) is below ``tol``. Scalings that leave
    ``[1 / _ABSORB, _ABSORB]`` are absorbed into the potentials and the kernel
    rebuilt, so that float32 keeps the entries that matter.

    ``kernel``, when given, is that kernel already built (see
    :func:`_halved_kernel`).

    Returns the potentials, the kernel and the scalings.
    """
    if kernel is None:
        kernel, f = _kernel(f, g, cost, eps)
    n = kernel.shape[0]
    ones = kernel.new_ones(n) if isinstance(kernel, torch.Tensor) else np.ones(n, kernel.dtype)
    u = v = ones
    weight = 1.0 if omega is None else omega
    n_probe = _N_PROBE if omega is None else 0
    errors = []
    for it in range(n_iter):
        # No division: a large drop of epsilon can under- or overflow a
        # float32 scaling to 0 or inf, which _finite_positive turns back
        # into a finite potential for the next iterations to correct.
        if it and it % _ABSORB_EVERY == 0 and _out_of_bounds(u, v):
            f = f + eps * _log(_finite_positive(u))
            g = g + eps * _log(_finite_positive(v))
            kernel, f = _kernel(f, g, cost, eps)
            u = v = ones
        ratio = u * (kernel @ v)  # n * row marginals
        if it and (it <= n_probe or (tol is not None and it % check_every == 0)):
            error = _marginal_error(ratio, n)
            if tol is not None and error < tol:
                break
            if it <= n_probe:
                errors.append(error)
                if it == n_probe:
                    rate = errors[-1] / max(errors[-2], 1e-30)
                    weight = (_SLOW_WEIGHT if rate > _SLOW_RATE
                              else 2.0 / (1.0 + math.sqrt(1.0 - max(rate, 0.0))))
        u = u * (n / ratio) ** weight
        v = v * (n / (v * (u @ kernel))) ** weight
    # The loop checks the bound every _ABSORB_EVERY iterations: scalings that
    # left it since (over-relaxed steps on an ill-conditioned kernel reach
    # 1e37 in float32) are absorbed, so that the value and the gradients
    # read off them never overflow.
    if _out_of_bounds(u, v):
        f = f + eps * _log(_finite_positive(u))
        g = g + eps * _log(_finite_positive(v))
        kernel, f = _kernel(f, g, cost, eps)
        u = v = ones
    return f, g, kernel, u, v


def _out_of_bounds(u, v):
    return (max(float(u.max()), float(v.max())) > _ABSORB
            or min(float(u.min()), float(v.min())) < 1.0 / _ABSORB)


# Largest relative error the squarings may leave in a kernel. Without a
# bound, float32 clouds whose schedule runs over 20 or more halvings (a large
# cost against a tiny reg) reached the target from a kernel that had drifted
# far from the potentials, and returned NaN. Each squaring doubles the
# relative error, so at most log2(_HALVING_DRIFT / machine epsilon) squarings
# in a row: 13 in float32, 42 in float64.
_HALVING_DRIFT = 1e-3
_MAX_HALVINGS = {key: int(math.log2(_HALVING_DRIFT / np.finfo(numpy_dtype).eps))
                 for numpy_dtype, torch_dtype in ((np.float32, torch.float32),
                                                  (np.float64, torch.float64))
                 for key in (np.dtype(numpy_dtype), torch_dtype)}


def _halved_kernel(kernel, u, v):
    """The kernel at half the epsilon, ``(u_i K_ij v_j)^2``, in place.

    With ``f' = f + eps log u`` and ``g' = g + eps log v``,
    ``exp((f'_i + g'_j - C_ij) / (eps / 2)) = (u_i K_ij v_j)^2``: a product and
    a square instead of rebuilding the exponent from the cost and taking its
    exponential (the kernel builds were 80 % of the cross solve's time at
    B = 512). Plain Sinkhorn leaves the columns of
    ``u K v`` summing to n, so no entry exceeds n and the square stays below
    n^2, far under the overflow bound; entries are clamped to the square root
    of the smallest normal float first, so that their square is normal too
    (see ``_MIN_EXPONENT``). Relative rounding errors double with each
    halving: the caller rebuilds the kernel from the cost after
    ``_MAX_HALVINGS`` squarings in a row, and the target epsilon's kernel is
    always built exactly (:func:`_kernel`).
    """
    view, u, v = (torch.from_numpy(a) if isinstance(a, np.ndarray) else a
                  for a in (kernel, u, v))
    low = 0.5 * _MIN_EXPONENT[view.dtype]
    view.mul_(u[:, None]).mul_(v[None, :]).clamp_(math.exp(low), math.exp(_MAX_EXPONENT / 2))
    view.square_()
    return kernel


# An intermediate epsilon-scaling stage only gives the next one a start, so a
# float64 cost runs those stages on a float32 copy (half the bytes in every
# B x B pass; docs/performance.md, sixth pass) as long as epsilon is at least
# (float32 machine epsilon) * diameter / _FLOAT32_STAGE_MARGIN: the rounding
# of costs and potentials to float32 then moves no kernel exponent by more
# than 5e-4. Smaller epsilons and the target run in float64.
_FLOAT32_STAGE_MARGIN = 1e-3
_FLOAT32_STAGE_FLOOR = float(np.finfo(np.float32).eps) / _FLOAT32_STAGE_MARGIN


def _float32_stages(schedule, diameter_sq, dtype):
    """How many of the first intermediate stages may run in float32."""
    if dtype not in (np.dtype(np.float64), torch.float64):
        return 0
    return sum(eps >= _FLOAT32_STAGE_FLOOR * diameter_sq for eps in schedule[:-1])


def _as_float32(a):
    return a.to(torch.float32) if isinstance(a, torch.Tensor) else a.astype(np.float32)


def _as_dtype_of(a, like):
    return a.to(like.dtype) if isinstance(a, torch.Tensor) else a.astype(like.dtype, copy=False)


def _solve_cross(cost, reg, decay, inner_iter, max_iter, omega, tol, check_every):
    """Potentials base (f, g), kernel and scalings of OT(x, y)."""
    n = cost.shape[0]
    diameter_sq = float(cost.max())
    schedule = _epsilon_schedule(diameter_sq, reg, decay)
    n_float32 = _float32_stages(schedule, diameter_sq, cost.dtype)
    stage_cost = _as_float32(cost) if n_float32 else cost
    f = g = (stage_cost.new_zeros(n) if isinstance(cost, torch.Tensor)
             else np.zeros(n, stage_cost.dtype))
    kernel, halvings = None, 0
    for stage, eps in enumerate(schedule[:-1]):
        if stage == n_float32 and stage_cost is not cost:
            stage_cost = cost
            f, g = _as_dtype_of(f, cost), _as_dtype_of(g, cost)
        f, g, kernel, u, v = _sinkhorn(f, g, stage_cost, eps, inner_iter, 1.0,
                                       max(tol, _STAGE_TOL), check_every, kernel)
        f = f + eps * _log(u)
        g = g + eps * _log(v)
        # Between two intermediate stages epsilon halves exactly (decay 0.5):
        # the next kernel is this one's square. The target's is built anew,
        # and so is the first float64 stage's after float32 ones.
        halvings += 1
        next_is_halved = (decay == 0.5 and stage + 2 < len(schedule)
                          and stage + 1 != n_float32)
        if next_is_halved and halvings <= _MAX_HALVINGS[stage_cost.dtype]:
            kernel = _halved_kernel(kernel, u, v)
        else:
            kernel, halvings = None, 0
    f, g = _as_dtype_of(f, cost), _as_dtype_of(g, cost)
    result = _sinkhorn(f, g, cost, reg, max_iter, omega, tol, check_every)
    if not (bool(_isfinite(result[3]).all()) and bool(_isfinite(result[4]).all())):
        # Over-relaxation only converges locally: fall back to plain Sinkhorn.
        result = _sinkhorn(f, g, cost, reg, max_iter, 1.0, tol, check_every)
    return result


def _isfinite(a):
    return np.isfinite(a) if isinstance(a, np.ndarray) else torch.isfinite(a)


def _solve_self(cost, reg, max_iter, tol, check_every):
    """Symmetric problems OT(x, x) and OT(y, y), stacked: (2, n, n).

    Averaged updates ``u <- sqrt(u * n / (K u))`` from the c-transform of the
    zero potential; no epsilon-scaling needed (the diagonal of the kernel is 1).
    The kernels are built in place of ``cost`` (not needed after).
    """
    n = cost.shape[-1]
    view = torch.from_numpy(cost) if isinstance(cost, np.ndarray) else cost
    view.mul_(-1.0 / reg)
    kernel = _exp_(cost)  # in (0, 1]: no overflow
    u = n / kernel.sum(-1)
    for it in range(max_iter):
        # The kernel is symmetric: (K u)_i = (u K)_i, the fast layout.
        ratio = u * (u[:, None, :] @ kernel)[:, 0, :]  # n * marginals
        if it % check_every == 0 and _marginal_error(ratio, n) < tol:
            break
        u = u * (n / ratio) ** 0.5
    return kernel, u


_BLAS = []


def _single_threaded_blas():
    """Context limiting NumPy's BLAS to one thread during a solve.

    BLAS worker threads spin between calls and compete with torch's threads
    (the exponentials run in torch): measured a PKDOT fit 2.8x slower with
    them, and B=512 solves 1.5-2.5x slower, so one thread at every size.
    """
    if not _BLAS:
        _BLAS.append(ThreadpoolController().select(user_api="blas"))
    return _BLAS[0].limit(limits=1)


def _divergence(xa, ya, reg, *, decay, inner_iter, max_iter, omega, tol, check_every):
    """Sinkhorn divergence of two NumPy arrays or two tensors (no autograd).

    Returns the value (0-d) and the state :func:`_divergence_gradient` needs.
    """
    n = xa.shape[0]
    cross_cost, self_cost = _cost_blocks(xa, ya)
    # Over-relaxed iterations that overflow are detected and redone.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        f, g, kernel, u, v = _solve_cross(
            cross_cost, reg, decay, inner_iter, max_iter, omega, tol, check_every
        )
    self_kernel, self_u = _solve_self(self_cost, reg, max_iter, tol, check_every)

    # Values at one last plain c-transform of each potential.
    kernel_v = kernel @ v
    u_kernel = u @ kernel
    self_kernel_u = (self_u[:, None, :] @ self_kernel)[:, 0, :]
    ot_xy = (f - reg * _log(kernel_v * (1.0 / n))).mean() + (
        g - reg * _log(u_kernel * (1.0 / n))).mean()
    half_self = (-reg * _log(self_kernel_u * (1.0 / n))).mean(-1)  # OT(x,x)/2, OT(y,y)/2
    value = ot_xy - half_self[0] - half_self[1]
    report = _REPORT.get()
    if report is not None:
        # The marginals the value and the gradients are read from: the
        # columns of the cross plan are exact after a v-update, its rows and
        # the self plans' rows are not.
        report._add(max(_marginal_error(u * kernel_v, n),
                        _marginal_error(self_u * self_kernel_u, n)), tol)
    state = (xa, ya, kernel, u, v, kernel_v, u_kernel, self_kernel, self_u, self_kernel_u)
    return value, state


def _divergence_gradient(state, index):
    """Gradient of the divergence with respect to x (``index=0``) or y (1).

    d/dx [OT(x,y) - OT(x,x)/2] = (Q x - P y) / n, Q and P the plans with rows
    normalised to 1 (envelope theorem); the same for y with columns.
    """
    xa, ya, kernel, u, v, kernel_v, u_kernel, self_kernel, self_u, self_kernel_u = state
    if index == 0:
        a, b, cross_kernel, b_scaling, cross_norm = xa, ya, kernel, v, kernel_v
    else:
        a, b, cross_kernel, b_scaling, cross_norm = ya, xa, _swap_last(kernel), u, u_kernel
    n = a.shape[0]
    # Row normalisations and 1 / n as one in-place scaling of each product.
    towards_b = _matmul(cross_kernel, b_scaling[:, None] * b)
    towards_b *= (1.0 / (n * cross_norm))[:, None]
    towards_a = _matmul(self_kernel[index], self_u[index][:, None] * a)
    towards_a *= (1.0 / (n * self_kernel_u[index]))[:, None]
    towards_a -= towards_b
    return towards_a


def _host_context(on_cpu):
    return _single_threaded_blas() if on_cpu else contextlib.nullcontext()


class _SinkhornDivergence(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, y, reg, decay, inner_iter, max_iter, omega, tol):
        on_cpu = x.device.type == "cpu"
        # Small NumPy operations cost a few microseconds, small torch ones ~8.
        xa = x.detach().numpy() if on_cpu else x.detach()
        ya = y.detach().numpy() if on_cpu else y.detach()
        # A host sync per check is free on CPU, not on an accelerator.
        check_every = 1 if on_cpu else 5
        with _host_context(on_cpu):
            value, ctx.state = _divergence(
                xa, ya, reg, decay=decay, inner_iter=inner_iter, max_iter=max_iter,
                omega=omega, tol=tol, check_every=check_every,
            )
        ctx.on_cpu = on_cpu
        if on_cpu:
            return torch.tensor(float(value), dtype=x.dtype)
        return value.to(x.dtype)

    @staticmethod
    def backward(ctx, grad_output):
        grads = [None, None]
        with _host_context(ctx.on_cpu):
            for index in (0, 1):
                if ctx.needs_input_grad[index]:
                    grad = _divergence_gradient(ctx.state, index)
                    grads[index] = grad_output * (
                        torch.from_numpy(grad) if ctx.on_cpu else grad)
        return grads[0], grads[1], None, None, None, None, None, None


# Solver defaults, shared with the fused CPU loss (_pkdot.py). Measured
# on the clouds of real fits (benchmarks/speed.py, table 2).
DECAY, INNER_ITER, MAX_ITER, TOL = 0.5, 10, 200, 1e-2


@dataclass
class SolverReport:
    """How the Sinkhorn solves inside a :func:`solver_report` block ended.

    Attributes
    ----------
    n_solves : int
        Divergences computed.
    n_unconverged : int
        Solves whose final marginal error was above their ``tol``: they
        stopped at ``max_iter``.
    worst_error : float
        Largest final marginal error, ``max_i |n * (P 1)_i - 1|`` over the
        cross and self plans (0 when nothing was solved).
    """

    n_solves: int = 0
    n_unconverged: int = 0
    worst_error: float = 0.0

    def _add(self, error, tol):
        self.n_solves += 1
        # NaN counts as not converged.
        if not error <= tol:
            self.n_unconverged += 1
        if not error <= self.worst_error:
            self.worst_error = error


_REPORT = contextvars.ContextVar("pkdot_sk_solver_report", default=None)


@contextlib.contextmanager
def solver_report():
    """Collect a :class:`SolverReport` of every solve in the block (this thread).

    The estimators use it to warn when a fit's solves stopped at
    ``ot_max_iter`` before reaching ``ot_tol``.

    Examples
    --------
    >>> import torch
    >>> from pkdot_sk._ot import sinkhorn_divergence, solver_report
    >>> x, y = torch.rand(8, 3, dtype=torch.float64), torch.rand(8, 3, dtype=torch.float64)
    >>> with solver_report() as report:
    ...     _ = sinkhorn_divergence(x, y, 0.01)
    >>> report.n_solves, report.n_unconverged
    (1, 0)
    """
    report = SolverReport()
    token = _REPORT.set(report)
    try:
        yield report
    finally:
        _REPORT.reset(token)


def sinkhorn_divergence(x, y, reg, *, decay=DECAY, inner_iter=INNER_ITER, max_iter=MAX_ITER,
                        overrelaxation="auto", tol=TOL):
    """Debiased entropic OT divergence between uniform clouds of equal size.

    ``S(x, y) = OT(x, y) - OT(x, x) / 2 - OT(y, y) / 2``, where
    ``OT(x, y) = min_P <C, P> + reg * KL(P | a b^T)`` with cost
    ``C_ij = |x_i - y_j|^2 / 2`` and uniform weights ``a``, ``b``. It is
    non-negative, zero when the clouds coincide and tends to ``W_2^2 / 2`` as
    ``reg`` goes to 0.

    Parameters
    ----------
    x, y : torch.Tensor of shape (n, d)
        The two clouds (same number of points and dimension), finite,
        float32 or float64 (float16 and bfloat16 are computed in float32 and
        the value returned in x's dtype), on any device.
    reg : float
        Entropic regularisation epsilon (finite, > 0). Values and gradients
        are finite for any reg from 1e-12 to 1e6, clouds of 2 to 1024
        points with coordinates up to 1e6 (1e2 in float16) and the dtypes
        above (property-tested in tests/test_properties.py).
    decay : float, default=0.5
        Ratio between successive epsilons of the epsilon-scaling schedule of
        the cross term.
    inner_iter : int, default=10
        Most Sinkhorn iterations at each intermediate epsilon (a stage stops
        earlier once its marginals are within 1 %).
    max_iter : int, default=200
        Most iterations at the target epsilon (cross and self terms). The
        accuracy this buys on the batches of real fits is measured in
        ``benchmarks/speed.py`` (docs/performance.md).
    overrelaxation : "auto" or float, default="auto"
        Over-relaxation weight of the target-epsilon iterations (1 is plain
        Sinkhorn, must stay below 2). "auto" estimates the optimal weight
        from the convergence rate of the first three iterations (1.8 for slow
        problems); plain Sinkhorn is the fallback if the relaxed iterations
        ever leave the finite range.
    tol : float, default=1e-2
        Stop once every row marginal of the plans is within this relative
        error of uniform, ``max_i |n * (P 1)_i - 1| < tol`` (the columns are
        exact after each update). Solves that stop at ``max_iter`` above it
        are counted by :func:`solver_report`.

    Returns
    -------
    divergence : torch.Tensor
        Differentiable scalar (envelope-theorem gradients: the plans at the
        returned potentials, no backpropagation through the iterations).

    Raises
    ------
    TypeError
        If x or y is not a floating-point torch tensor (numpy arrays and
        integer tensors included).
    ValueError
        If x or y holds NaN or inf, their shapes differ, or an argument is
        out of range (the message names it).

    References
    ----------
    .. [1] Feydy, J., Sejourne, T., Vialard, F.-X., Amari, S., Trouve, A., and
       Peyre, G. "Interpolating between Optimal Transport and MMD using
       Sinkhorn Divergences." AISTATS 2019.
    .. [2] Peyre, G., and Cuturi, M. "Computational Optimal Transport."
       Foundations and Trends in Machine Learning, 2019 (scaling algorithm,
       absorption, epsilon-scaling).
    .. [3] Thibault, A., Chizat, L., Dossal, C., and Papadakis, N.
       "Overrelaxed Sinkhorn-Knopp Algorithm for Regularized Optimal
       Transport." Algorithms, 2021.
    """
    check_float_tensor(x, "x")
    check_float_tensor(y, "y")
    if x.ndim != 2 or x.shape != y.shape:
        raise ValueError(
            f"x and y must be 2-D clouds of the same shape; got {tuple(x.shape)} and "
            f"{tuple(y.shape)}."
        )
    reg = check_positive_real(reg, "reg")
    if not (isinstance(decay, Real) and 0.0 < decay < 1.0):
        raise ValueError(f"decay must be a float in (0, 1); got {decay!r}.")
    inner_iter = check_positive_int(inner_iter, "inner_iter")
    max_iter = check_positive_int(max_iter, "max_iter")
    tol = check_positive_real(tol, "tol")
    if overrelaxation != "auto" and not (
            isinstance(overrelaxation, Real) and 0.0 < overrelaxation < 2.0):
        raise ValueError(f"overrelaxation must be 'auto' or in (0, 2); got {overrelaxation!r}.")
    causes = ("embeddings or clouds computed from NaN or overflowing values, e.g. by a "
              "diverging training")
    check_finite_tensor(x, "x", causes)
    check_finite_tensor(y, "y", causes)
    # float16 and bfloat16 are solved in float32, the value returned in x's dtype.
    dtype = x.dtype
    value = _sinkhorn_divergence(x.to(compute_dtype(dtype)), y, reg, decay=float(decay),
                                 inner_iter=inner_iter, max_iter=max_iter,
                                 overrelaxation=overrelaxation, tol=tol)
    return value.to(dtype)


def _sinkhorn_divergence(x, y, reg, *, decay=DECAY, inner_iter=INNER_ITER, max_iter=MAX_ITER,
                         overrelaxation="auto", tol=TOL):
    """:func:`sinkhorn_divergence` on arguments already checked (float32 or float64)."""
    overrelaxation = None if overrelaxation == "auto" else float(overrelaxation)
    y = y.to(x.dtype)
    return _SinkhornDivergence.apply(
        x.contiguous(), y.contiguous(), float(reg), decay, inner_iter, max_iter,
        overrelaxation, tol,
    )
