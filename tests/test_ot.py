"""The Sinkhorn divergence solver against independent computations."""

import numpy as np
import ot
import pytest
import torch

from helpers import reference_divergence, reference_entropic_ot
from pkdot_sk._ot import sinkhorn_divergence


def clouds(n=24, d=5, shift=0.3, seed=0):
    rng = np.random.RandomState(seed)
    x = rng.uniform(0, 1, size=(n, d))
    y = rng.uniform(0, 1, size=(n, d)) + shift
    return x, y


def near_degenerate_clouds():
    """Like training clouds late in a fit: near-duplicates in clusters far apart."""
    rng = np.random.RandomState(4)
    centres = rng.uniform(0, 2, size=(6, 30))
    x = centres[rng.randint(0, 6, 128)] + 1e-3 * rng.randn(128, 30)
    y = centres[rng.randint(0, 6, 128)] + 0.2 + 1e-3 * rng.randn(128, 30)
    return x, y


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("reg", [0.01, 0.1])
def test_matches_independent_float64_reference(dtype, reg):
    x, y = clouds()
    expected = reference_divergence(x, y, reg)
    value = sinkhorn_divergence(
        torch.tensor(x, dtype=dtype), torch.tensor(y, dtype=dtype), reg, max_iter=200, tol=1e-3
    )
    assert value.dtype == dtype
    np.testing.assert_allclose(value.item(), expected, rtol=1e-3)


def test_default_budget_is_close_to_converged_value():
    # The default iteration budget trades exactness for speed (documented: ~1.5 %).
    x, y = clouds(seed=1)
    expected = reference_divergence(x, y, 0.01)
    value = sinkhorn_divergence(torch.tensor(x), torch.tensor(y), 0.01)
    np.testing.assert_allclose(value.item(), expected, rtol=2e-2)


def test_cross_term_agrees_with_pot():
    # OT(x, y) of the divergence = POT's log-domain entropic OT (KL regularisation).
    x, y = clouds(seed=2)
    reg = 0.05
    cost = 0.5 * ot.dist(x, y)
    pot_value = ot.solve(cost, reg=reg, method="sinkhorn_log", max_iter=20000, tol=1e-12).value
    np.testing.assert_allclose(reference_entropic_ot(x, y, reg), pot_value, rtol=1e-6)


def test_zero_for_identical_clouds_and_positive_otherwise():
    x, y = clouds()
    x_t = torch.tensor(x)
    # The debiasing cancels up to the solver's tolerance (cross and self terms
    # are solved by different iterations), far below typical values (~0.3 here).
    assert abs(sinkhorn_divergence(x_t, x_t.clone(), 0.01).item()) < 1e-5
    assert sinkhorn_divergence(x_t, torch.tensor(y), 0.01).item() > 1e-3


def test_no_silent_zero_at_small_epsilon_float32():
    # The plain (non-log) Sinkhorn underflows to 0 here.
    x, y = clouds(shift=2.0)
    value = sinkhorn_divergence(torch.tensor(x, dtype=torch.float32),
                                torch.tensor(y, dtype=torch.float32), 0.01)
    assert torch.isfinite(value)
    np.testing.assert_allclose(value.item(), reference_divergence(x, y, 0.01), rtol=1e-2)


def test_envelope_gradient_matches_autodiff_through_converged_loop():
    """The gradient read off the transport plans equals autodiff through a
    fully unrolled, converged float64 Sinkhorn (independent implementation),
    for both clouds."""
    x, y = clouds(n=8, d=3, seed=3)
    reg = 0.1

    def unrolled_ot(a, b, n_iter=2000):
        cost = 0.5 * ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)
        n = cost.shape[0]
        log_w = torch.full((n,), -np.log(n), dtype=cost.dtype)
        f = torch.zeros(n, dtype=cost.dtype)
        g = torch.zeros(n, dtype=cost.dtype)
        for _ in range(n_iter):
            f = -reg * torch.logsumexp(log_w[None, :] + (g[None, :] - cost) / reg, dim=1)
            g = -reg * torch.logsumexp(log_w[:, None] + (f[:, None] - cost) / reg, dim=0)
        return f.mean() + g.mean()

    x_auto = torch.tensor(x, requires_grad=True)
    y_auto = torch.tensor(y, requires_grad=True)
    (unrolled_ot(x_auto, y_auto) - 0.5 * unrolled_ot(x_auto, x_auto)
     - 0.5 * unrolled_ot(y_auto, y_auto)).backward()

    x_env = torch.tensor(x, requires_grad=True)
    y_env = torch.tensor(y, requires_grad=True)
    sinkhorn_divergence(x_env, y_env, reg, max_iter=2000, tol=1e-9).backward()
    np.testing.assert_allclose(x_env.grad.numpy(), x_auto.grad.numpy(), rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(y_env.grad.numpy(), y_auto.grad.numpy(), rtol=1e-5, atol=1e-8)


def test_float32_matches_float64_on_near_degenerate_clouds():
    """Training clouds late in a fit: clusters of near-duplicates far apart.
    float32 must not drift from float64 (absorption of large scalings)."""
    x, y = near_degenerate_clouds()
    for budget in (20, 300):
        double = sinkhorn_divergence(torch.tensor(x), torch.tensor(y), 0.01, max_iter=budget)
        single = sinkhorn_divergence(torch.tensor(x, dtype=torch.float32),
                                     torch.tensor(y, dtype=torch.float32), 0.01,
                                     max_iter=budget)
        assert single.dtype == torch.float32
        np.testing.assert_allclose(single.item(), double.item(), rtol=1e-4)


def test_rejects_bad_overrelaxation():
    x, y = clouds()
    with pytest.raises(ValueError, match="overrelaxation"):
        sinkhorn_divergence(torch.tensor(x), torch.tensor(y), 0.01, overrelaxation=2.5)


def test_rejects_clouds_of_different_shapes():
    with pytest.raises(ValueError, match="same shape"):
        sinkhorn_divergence(torch.zeros(3, 2), torch.zeros(4, 2), 0.01)


def test_absorbed_scalings_that_under_or_overflowed_give_finite_potentials():
    # A large drop of epsilon (coarse schedule, float32) can leave a scaling at
    # exactly 0 or inf; absorbing log(0) would make a potential -inf for good.
    from pkdot_sk._ot import _finite_positive

    for dtype in (np.float32, np.float64):
        scalings = np.array([0.0, np.inf, 1.0, 1e-40], dtype=dtype)
        for clipped in (_finite_positive(scalings),
                        _finite_positive(torch.from_numpy(scalings)).numpy()):
            assert clipped.dtype == dtype and np.all(np.isfinite(np.log(clipped)))
            assert clipped[2] == 1.0 and clipped[0] > 0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("near_degenerate", [False, True])
def test_tensor_path_matches_numpy_path(dtype, near_degenerate):
    # On CUDA (or any non-CPU device) the solver runs the same code on torch
    # tensors, checking convergence every 5 iterations instead of every one.
    # No GPU in the test suite: run that path on CPU tensors.
    from pkdot_sk import _ot

    if near_degenerate:
        x, y = near_degenerate_clouds()
    else:
        x, y = clouds(n=300, d=10)  # 300 rows: NumPy's large products go through torch.mm
    x, y = x.astype(dtype), y.astype(dtype)
    solver = dict(decay=_ot.DECAY, inner_iter=_ot.INNER_ITER, max_iter=500, omega=None,
                  tol=_ot.TOL)
    with _ot._host_context(True):
        value, state = _ot._divergence(x, y, 0.01, check_every=1, **solver)
        grads = [_ot._divergence_gradient(state, index) for index in (0, 1)]
    # Both dtypes run their early epsilon-scaling stages in float32, whose
    # products sum in another order on the two paths: the same iterations
    # agree to float32 rounding carried through the target's iterations.
    # Checked every 5 iterations, the solves (run to the tolerance: max_iter
    # 500) stop at other iterations, so they agree to about the tolerance.
    for check_every, rtol in ((1, 5e-5), (5, 1e-3)):
        t_value, t_state = _ot._divergence(torch.from_numpy(x), torch.from_numpy(y), 0.01,
                                           check_every=check_every, **solver)
        assert isinstance(t_value, torch.Tensor) and t_value.dtype == torch.from_numpy(x).dtype
        np.testing.assert_allclose(float(t_value), float(value), rtol=rtol)
        for index, grad in enumerate(grads):
            t_grad = _ot._divergence_gradient(t_state, index)
            assert isinstance(t_grad, torch.Tensor)
            np.testing.assert_allclose(t_grad.numpy(), grad, rtol=rtol,
                                       atol=rtol * np.abs(grad).max())


def test_solver_report_counts_the_solves_that_stop_above_the_tolerance():
    from pkdot_sk._ot import solver_report

    x, y = (torch.from_numpy(c) for c in clouds())
    with solver_report() as report:
        sinkhorn_divergence(x, y, 0.01, max_iter=500)
        sinkhorn_divergence(x, y, 0.01, max_iter=1)
    assert report.n_solves == 2 and report.n_unconverged == 1
    assert report.worst_error > 1e-4
    # Outside the block nothing is recorded.
    sinkhorn_divergence(x, y, 0.01, max_iter=1)
    assert report.n_solves == 2


def test_halved_kernel_is_the_kernel_rebuilt_at_half_epsilon():
    # Between epsilon-scaling stages the kernel is squared instead of rebuilt:
    # (u_i K_ij v_j)^2 must be exp((f'_i + g'_j - C_ij) / (eps / 2)) with the
    # potentials that absorbed the scalings.
    from pkdot_sk import _ot

    rng = np.random.RandomState(0)
    cost = rng.uniform(0, 1, size=(40, 40))
    f, g = rng.uniform(0, 0.5, size=40), rng.uniform(0, 0.5, size=40)
    u, v = rng.uniform(0.5, 2, size=40), rng.uniform(0.5, 2, size=40)
    eps = 0.2
    kernel, f = _ot._kernel(f, g, cost, eps)
    halved = _ot._halved_kernel(kernel.copy(), u, v)
    rebuilt, shifted_f = _ot._kernel(f + eps * np.log(u), g + eps * np.log(v), cost, eps / 2)
    np.testing.assert_array_equal(shifted_f, f + eps * np.log(u))  # no overflow shift here
    np.testing.assert_allclose(halved, rebuilt, rtol=1e-12)


def test_float32_schedules_longer_than_the_squaring_bound_stay_finite():
    # An anchor cloud of a real float32 batch (two near-identical rows) at
    # reg 1.55e-10: 33 halvings of epsilon. Squared throughout, the kernel
    # drifted from the potentials and the value was NaN; it is rebuilt from
    # the cost after _MAX_HALVINGS squarings.
    from pkdot_sk import _ot

    x = torch.tensor([[0.0, 0.8124766], [0.0, 0.8124764]])
    y = torch.tensor([[0.0, 1.3451414], [0.0, 1.3451412]])
    reg = 1.5501893758113762e-10
    max_halvings = _ot._MAX_HALVINGS[torch.float32]
    largest_cost = float(torch.cdist(x, y).max()) ** 2 / 2
    assert len(_ot._epsilon_schedule(largest_cost, reg, 0.5)) > max_halvings + 2
    value = float(sinkhorn_divergence(x, y, reg))
    # The clouds are 0.53 apart in one coordinate: W_2^2 / 2 = 0.1419.
    np.testing.assert_allclose(value, 0.5 * (1.3451414 - 0.8124766) ** 2, rtol=1e-3)


def test_float64_clouds_run_only_the_coarse_stages_in_float32():
    # A stage runs in float32 only while epsilon is large against the cost's
    # float32 rounding; finer stages and the target stay in float64.
    from pkdot_sk import _ot

    schedule = _ot._epsilon_schedule(10.0, 0.01, 0.5)
    assert _ot._float32_stages(schedule, 10.0, np.dtype(np.float64)) == len(schedule) - 1
    assert _ot._float32_stages(schedule, 10.0, torch.float64) == len(schedule) - 1
    assert _ot._float32_stages(schedule, 10.0, np.dtype(np.float32)) == 0
    # Costs up to 1e6 against reg 1e-3: below epsilon ~119 float32 rounds the
    # cost by more than 5e-4 of epsilon.
    schedule = _ot._epsilon_schedule(1e6, 1e-3, 0.5)
    n_float32 = _ot._float32_stages(schedule, 1e6, np.dtype(np.float64))
    floor = float(np.finfo(np.float32).eps) * 1e6 / _ot._FLOAT32_STAGE_MARGIN
    assert 0 < n_float32 < len(schedule) - 1
    assert schedule[n_float32 - 1] >= floor > schedule[n_float32]


@pytest.mark.parametrize("scale", [1.0, 300.0])
def test_float32_stages_leave_the_float64_solution_unchanged(scale, monkeypatch):
    # The float32 stages only give the target its start: solved to a tight
    # tolerance, the value and gradients are those of float64 stages.
    from pkdot_sk import _ot

    x, y = near_degenerate_clouds()
    x, y = scale * x, scale * y
    solver = dict(decay=_ot.DECAY, inner_iter=_ot.INNER_ITER, max_iter=5000, omega=None,
                  tol=1e-10, check_every=1)

    def solve():
        with _ot._host_context(True):
            value, state = _ot._divergence(x, y, 0.01, **solver)
            return float(value), _ot._divergence_gradient(state, 0)

    mixed = solve()
    diameter_sq = float(0.5 * ot.dist(x, y).max())
    schedule = _ot._epsilon_schedule(diameter_sq, 0.01, 0.5)
    assert _ot._float32_stages(schedule, diameter_sq, np.dtype(np.float64)) > 0
    monkeypatch.setattr(_ot, "_float32_stages", lambda *args: 0)
    float64 = solve()
    # At scale 300 the costs are ~1e5 times reg: both agree to that many ulps.
    np.testing.assert_allclose(mixed[0], float64[0], rtol=1e-8)
    np.testing.assert_allclose(mixed[1], float64[1], rtol=1e-7,
                               atol=1e-9 * np.abs(float64[1]).max())
