"""Sinkhorn divergence between two point clouds of equal size.

The PKDOT loss needs the debiased entropic OT divergence between two clouds
of B points at a small regularisation (epsilon = 0.01), once per mini-batch.
The solver below is written for that case:

* log domain: at epsilon = 0.01 the Gibbs kernel ``exp(-C / eps)`` underflows
  and a plain Sinkhorn silently returns 0;
* one batched update: the cross potentials (x->y, y->x) and the two
  self-transport potentials (x->x, y->y) are four rows of one (4, B, B)
  log-sum-exp, so an iteration is a single tensor operation;
* symmetric (averaged) updates ``f <- (f + T(f)) / 2``: alternating Sinkhorn
  (POT's ``sinkhorn_log``) stalls on the self-transport terms of near
  duplicate points, still off by 1e-6 in marginal after 20 000 iterations;
  the averaged fixed point converges in a few steps;
* epsilon-scaling: the first stage uses the clouds' squared diameter as
  epsilon, each stage divides it by ``1 / decay``, warm-started from the
  previous potentials, then at most ``max_iter`` iterations at the target
  epsilon, stopping once the potentials move less than ``tol * eps``;
* envelope gradients: the loop runs without autograd; one last update is
  replayed with autograd on, so backpropagation costs one iteration, not the
  whole loop.

POT (``ot.solve`` with ``method="sinkhorn_log"``) is the reference the tests
compare against.
"""

import math

import torch

__all__ = ["half_squared_euclidean", "sinkhorn_divergence"]


def half_squared_euclidean(x, y):
    """Cost matrix ``C[..., i, j] = |x_i - y_j|^2 / 2`` (differentiable, batched)."""
    x_sq = (x * x).sum(dim=-1, keepdim=True)
    y_sq = (y * y).sum(dim=-1, keepdim=True).transpose(-1, -2)
    # The expansion can dip slightly below 0 through rounding.
    return (0.5 * (x_sq + y_sq) - x @ y.transpose(-1, -2)).clamp_min(0.0)


def _epsilon_schedule(diameter_sq, reg, decay):
    """Decreasing epsilons from the squared diameter down to ``reg`` (inclusive)."""
    if diameter_sq <= reg:
        return [reg]
    n_stages = int(math.ceil(math.log(diameter_sq / reg) / math.log(1.0 / decay)))
    return [diameter_sq * decay**i for i in range(n_stages)] + [reg]


def _soft_c_transform(cost, other, log_weight, eps):
    """``-eps * log sum_j w_j exp((other_j - cost_ij) / eps)`` for each row i."""
    return -eps * torch.logsumexp(log_weight + (other.unsqueeze(-2) - cost) / eps, dim=-1)


# Row r of the stacked potentials is updated from row _PARTNER[r]:
# f (x, from y) <- g, g (y, from x) <- f, p (x, self) <- p, q (y, self) <- q.
_PARTNER = [1, 0, 2, 3]


def sinkhorn_divergence(x, y, reg, *, decay=0.25, max_iter=10, tol=0.1):
    """Debiased entropic OT divergence between uniform clouds of equal size.

    ``S(x, y) = OT(x, y) - OT(x, x) / 2 - OT(y, y) / 2``, where
    ``OT(x, y) = min_P <C, P> + reg * KL(P | a b^T)`` with cost
    ``C_ij = |x_i - y_j|^2 / 2`` and uniform weights ``a``, ``b``. It is
    non-negative, zero when the clouds coincide and tends to ``W_2^2 / 2`` as
    ``reg`` goes to 0.

    Parameters
    ----------
    x, y : torch.Tensor of shape (n, d)
        The two clouds (same number of points and dimension).
    reg : float
        Entropic regularisation epsilon (> 0).
    decay : float, default=0.25
        Ratio between successive epsilons of the epsilon-scaling schedule.
    max_iter : int, default=10
        Maximum averaged iterations at the target epsilon. A training signal
        needs no more: measured on batches of a real fit, 10 iterations stay
        within 0.5 % of the converged value early in training and within
        about 1.5 % (under 1e-3 absolute) on the near-degenerate clouds of
        late training, where full convergence takes hundreds.
    tol : float, default=0.1
        Stop when no potential moves more than ``tol * reg`` in an iteration
        (0.1 measured within 2e-4 relative of the converged value at B=128,
        k=30; smaller values converge further at more iterations).

    Returns
    -------
    divergence : torch.Tensor
        Differentiable scalar (gradients by the envelope theorem).

    References
    ----------
    .. [1] Feydy, J., Sejourne, T., Vialard, F.-X., Amari, S., Trouve, A., and
       Peyre, G. "Interpolating between Optimal Transport and MMD using
       Sinkhorn Divergences." AISTATS 2019.
    .. [2] Peyre, G., and Cuturi, M. "Computational Optimal Transport."
       Foundations and Trends in Machine Learning, 2019 (log-domain Sinkhorn,
       epsilon-scaling).
    """
    if x.shape != y.shape or x.ndim != 2:
        raise ValueError(
            f"x and y must be 2-D clouds of the same shape; got {tuple(x.shape)} and "
            f"{tuple(y.shape)}."
        )
    n = x.shape[0]
    log_weight = -math.log(n)
    # One side of each cost is detached so that the replayed update gives each
    # point the envelope gradient of the term it belongs to exactly once.
    firsts = torch.stack([x, y, x, y])
    seconds = torch.stack([y, x, x, y]).detach()
    cost = half_squared_euclidean(firsts, seconds)

    with torch.no_grad():
        fixed_cost = cost.detach()
        schedule = _epsilon_schedule(float(fixed_cost.max()), reg, decay)
        potentials = _soft_c_transform(
            fixed_cost, torch.zeros_like(fixed_cost[:, 0]), log_weight, schedule[0]
        )
        for eps in schedule[1:-1]:
            update = _soft_c_transform(fixed_cost, potentials[_PARTNER], log_weight, eps)
            potentials = 0.5 * (potentials + update)
        for _ in range(max_iter):
            update = _soft_c_transform(fixed_cost, potentials[_PARTNER], log_weight, reg)
            step = (update - potentials).abs().max()
            potentials = 0.5 * (potentials + update)
            if step < tol * reg:
                break

    # Replay one (non-averaged) update with autograd: envelope gradient.
    final = _soft_c_transform(cost, potentials[_PARTNER].detach(), log_weight, reg)
    f, g, p, q = final.mean(dim=1)
    return (f - p) + (g - q)
