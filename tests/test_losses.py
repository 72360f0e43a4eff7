"""pkdot_loss: value against an independent computation, stability, properties; the
baseline losses at their edges (empty batches, extreme scales, half precision)."""

import numpy as np
import pytest
import torch

from pkdot_sk import losses
from pkdot_sk._ot import MAX_ITER, TOL
from pkdot_sk.losses import cosine_similarity_matrix, pkdot_loss
from helpers import reference_divergence


def reference_pkdot(student, teacher, top_k, anchors, reg):
    """Independent float64 numpy computation of the PKDOT loss."""
    def shifted_cosine(z):
        unit = z / np.linalg.norm(z, axis=1, keepdims=True)
        sim = unit @ unit.T
        return sim - sim.min()

    s_s, s_t = shifted_cosine(student), shifted_cosine(teacher)
    k = min(top_k, len(student))
    order = np.argsort(s_t, axis=1, kind="stable")
    if anchors == "all":
        cols = np.tile(np.arange(len(student)), (len(student), 1))
    elif anchors == "least_similar":
        cols = order[:, :k]
    else:
        cols = order[:, ::-1][:, :k]
    return reference_divergence(
        np.take_along_axis(s_s, cols, 1), np.take_along_axis(s_t, cols, 1), reg
    )


def embeddings(n=20, seed=0, dtype=torch.float64):
    rng = np.random.RandomState(seed)
    teacher = rng.normal(size=(n, 8))
    student = teacher[:, :6] + rng.normal(scale=1.0, size=(n, 6))
    return torch.tensor(student, dtype=dtype), torch.tensor(teacher, dtype=dtype)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("anchors", ["least_similar", "most_similar", "all"])
def test_value_matches_independent_float64_computation(dtype, anchors):
    student, teacher = embeddings(dtype=dtype)
    expected = reference_pkdot(student.double().numpy(), teacher.double().numpy(), 5, anchors, 0.01)
    value = pkdot_loss(student, teacher, top_k=5, anchors=anchors, reg=0.01, max_iter=300)
    assert torch.isfinite(value) and value.item() > 0
    np.testing.assert_allclose(value.item(), expected, rtol=1e-3)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_defaults_are_stable_and_differentiable(dtype):
    student, teacher = embeddings(n=64, dtype=dtype)
    student.requires_grad_(True)
    value = pkdot_loss(student, teacher)
    value.backward()
    assert value.item() > 1e-4  # no silent 0 at reg=0.01
    assert torch.isfinite(student.grad).all() and student.grad.abs().sum() > 0


def test_top_k_above_batch_size_is_capped_at_the_batch():
    student, teacher = embeddings(n=10)
    big = pkdot_loss(student, teacher, top_k=500, max_iter=300)
    whole = pkdot_loss(student, teacher, top_k=10, max_iter=300)
    np.testing.assert_allclose(big.item(), whole.item(), rtol=1e-12)


def test_anchor_strategies_pick_different_columns():
    student, teacher = embeddings(n=30)
    least = pkdot_loss(student, teacher, top_k=5, anchors="least_similar")
    most = pkdot_loss(student, teacher, top_k=5, anchors="most_similar")
    assert abs(least.item() - most.item()) > 1e-6


def test_zero_norm_embeddings_give_no_nan():
    student, teacher = embeddings(n=16)
    student = student.clone()
    student[3] = 0.0
    teacher = teacher.clone()
    teacher[5] = 0.0
    student.requires_grad_(True)
    value = pkdot_loss(student, teacher)
    value.backward()
    assert torch.isfinite(value)
    assert torch.isfinite(student.grad).all()
    assert torch.all(cosine_similarity_matrix(torch.zeros(2, 3)) == 0)
    # A zero row has no direction: a zero gradient (it was 1e12 times the
    # others', inf in float16), in the fused CPU node and in torch.
    assert torch.all(student.grad[3] == 0) and student.grad.abs().sum() > 0
    rows = student.detach().clone().requires_grad_(True)
    cosine_similarity_matrix(rows).sum().backward()
    assert torch.all(rows.grad[3] == 0) and rows.grad.abs().sum() > 0


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_cosine_similarities_hold_at_extreme_scales(dtype):
    # The squared norms of rows near 1e20 overflow float32, near 1e-20 they
    # underflow: rows are scaled by a power of two first.
    student, _ = embeddings(n=12)
    expected = cosine_similarity_matrix(student.to(dtype))
    for scale in (1e-20, 1e20):
        np.testing.assert_allclose(cosine_similarity_matrix((student * scale).to(dtype)),
                                   expected, rtol=1e-6, atol=1e-6)


def test_invariant_to_rotation_and_scaling_of_embeddings():
    student, teacher = embeddings(n=24)
    rotation, _ = torch.linalg.qr(torch.randn(6, 6, dtype=torch.float64,
                                              generator=torch.Generator().manual_seed(0)))
    base = pkdot_loss(student, teacher, max_iter=300)
    moved = pkdot_loss(3.0 * student @ rotation, 0.5 * teacher, max_iter=300)
    np.testing.assert_allclose(moved.item(), base.item(), rtol=1e-6)


def test_centering_matches_reference_on_centred_input_and_ignores_shifts():
    student, teacher = embeddings(n=24)
    centred = pkdot_loss(student, teacher, center=True, max_iter=300).item()
    expected = reference_pkdot((student - student.mean(0)).numpy(),
                               (teacher - teacher.mean(0)).numpy(), 30, "least_similar", 0.01)
    np.testing.assert_allclose(centred, expected, rtol=1e-4)
    # A common offset on every student row moves the plain loss, not the centred one.
    offset = torch.full((1, student.shape[1]), 2.0, dtype=student.dtype)
    assert abs(pkdot_loss(student + offset, teacher, max_iter=300).item()
               - pkdot_loss(student, teacher, max_iter=300).item()) > 1e-3
    np.testing.assert_allclose(
        pkdot_loss(student + offset, teacher, center=True, max_iter=300).item(), centred,
        rtol=1e-6)


def test_centred_gradient_reaches_the_student():
    student, teacher = embeddings(n=24)
    student.requires_grad_(True)
    pkdot_loss(student, teacher, center=True).backward()
    # Centring removes the batch mean: the gradient sums to zero over rows.
    assert student.grad.abs().max() > 0
    np.testing.assert_allclose(student.grad.sum(0).numpy(), 0.0, atol=1e-10)


def test_zero_when_student_equals_teacher():
    _, teacher = embeddings(n=24)
    # Zero up to the solver's tolerance (see test_ot).
    assert abs(pkdot_loss(teacher.clone(), teacher).item()) < 1e-5


def test_teacher_is_a_constant_target():
    student, teacher = embeddings(n=12)
    student.requires_grad_(True)
    teacher.requires_grad_(True)
    pkdot_loss(student, teacher).backward()
    assert student.grad is not None
    assert teacher.grad is None


def test_single_sample_batch_gives_zero():
    student, teacher = embeddings(n=1)
    assert pkdot_loss(student, teacher).item() == 0.0


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(top_k=0), "top_k"),
        (dict(top_k=2.5), "top_k"),
        (dict(anchors="random"), "anchors"),
        (dict(reg=0.0), "reg"),
        (dict(reg=-1.0), "reg"),
        (dict(max_iter=0), "max_iter"),
        (dict(max_iter=-5), "max_iter"),
        (dict(max_iter=2.5), "max_iter"),
        (dict(tol=0.0), "tol"),
        (dict(tol=float("nan")), "tol"),
    ],
)
def test_bad_arguments(kwargs, match):
    student, teacher = embeddings(n=8)
    with pytest.raises(ValueError, match=match):
        pkdot_loss(student, teacher, **kwargs)


def test_rows_must_agree():
    with pytest.raises(ValueError, match="teacher_emb has 5 rows"):
        pkdot_loss(torch.zeros(4, 3), torch.zeros(5, 3))
    with pytest.raises(ValueError, match="2-D"):
        pkdot_loss(torch.zeros(4), torch.zeros(4))


def test_numpy_integer_top_k_is_accepted():
    student, teacher = embeddings(n=12)
    np.testing.assert_allclose(pkdot_loss(student, teacher, top_k=np.int64(4)).item(),
                               pkdot_loss(student, teacher, top_k=4).item())


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("anchors", ["least_similar", "most_similar", "all"])
@pytest.mark.parametrize("top_k", [5, 200])
def test_cpu_node_matches_torch_composition(dtype, anchors, top_k):
    # On CPU pkdot_loss runs a hand-written forward/backward; it must give the
    # value and gradient that autograd gives through the torch operations.
    from pkdot_sk._pkdot import pkdot_loss_torch

    student, teacher = embeddings(n=40, seed=3, dtype=dtype)
    student[7] *= 1e-14  # below F.normalize's floor on the norm: scaled, not normalised
    student.requires_grad_(True)
    k = 40 if anchors == "all" else min(top_k, 40)
    fused = pkdot_loss(student, teacher, top_k=top_k, anchors=anchors)
    (grad_fused,) = torch.autograd.grad(fused, student)
    composed = pkdot_loss_torch(student, teacher, k, anchors, reg=0.01, max_iter=MAX_ITER,
                                 tol=TOL)
    (grad_composed,) = torch.autograd.grad(composed, student)
    assert "PKDOTLossCPU" in type(fused.grad_fn).__name__
    tol = 1e-4 if dtype == torch.float32 else 1e-10
    np.testing.assert_allclose(fused.item(), composed.item(), rtol=tol)
    # Row by row: the tiny row's gradient is ~1e12 times the others (norm floor).
    for fused_row, composed_row in zip(grad_fused.numpy(), grad_composed.numpy()):
        np.testing.assert_allclose(fused_row, composed_row, rtol=tol * 10,
                                   atol=tol * np.abs(composed_row).max())


@pytest.mark.parametrize("anchors", ["least_similar", "all"])
def test_cpu_node_matches_torch_composition_on_large_batches(anchors):
    # From 256^3 multiply-adds the CPU node's products go through torch.mm
    # (B x B x d similarities, B x B x B costs and gradients): same values.
    from pkdot_sk import _ot
    from pkdot_sk._pkdot import pkdot_loss_torch

    rng = np.random.RandomState(0)
    n, dim = 300, 200
    assert n * n * dim >= _ot._TORCH_MATMUL_SIZE
    teacher = torch.tensor(rng.normal(size=(n, dim)))
    student = (teacher @ torch.tensor(rng.normal(scale=0.3, size=(dim, dim)))
               + torch.tensor(rng.normal(size=(n, dim)))).requires_grad_(True)
    fused = pkdot_loss(student, teacher, top_k=n, anchors=anchors)
    (grad_fused,) = torch.autograd.grad(fused, student)
    composed = pkdot_loss_torch(student, teacher, n, anchors, reg=0.01, max_iter=MAX_ITER,
                                 tol=TOL)
    (grad_composed,) = torch.autograd.grad(composed, student)
    np.testing.assert_allclose(fused.item(), composed.item(), rtol=1e-9)
    np.testing.assert_allclose(grad_fused.numpy(), grad_composed.numpy(), rtol=1e-7,
                               atol=1e-9 * np.abs(grad_composed.numpy()).max())


@pytest.mark.parametrize("anchors", ["least_similar", "all"])
def test_normalized_cost_is_the_divergence_at_k_reg_divided_by_k(anchors):
    # Dividing the cost by the k anchor coordinates is the same problem as
    # multiplying epsilon by k, with the value divided by k.
    student, teacher = embeddings(n=24, seed=5)
    k = 24 if anchors == "all" else 6
    normalized = pkdot_loss(student, teacher, top_k=6, anchors=anchors, normalize=True)
    rescaled = pkdot_loss(student, teacher, top_k=6, anchors=anchors, reg=0.01 * k) / k
    np.testing.assert_allclose(normalized.item(), rescaled.item(), rtol=1e-9)
    expected = reference_pkdot(student.numpy(), teacher.numpy(), 6, anchors, 0.01 * k) / k
    np.testing.assert_allclose(normalized.item(), expected, rtol=1e-3)


def batch_of(n, seed):
    """A batch of n samples drawn from one fixed teacher/student relation."""
    rng = np.random.RandomState(seed)
    teacher = rng.normal(size=(n, 16))
    student = np.tanh(teacher @ np.random.RandomState(99).normal(size=(16, 16)) / 4) + rng.normal(
        scale=0.5, size=(n, 16))
    return torch.tensor(student), torch.tensor(teacher)


def test_normalized_value_does_not_grow_with_the_batch():
    # The same relation seen through batches of 16 and 512: with all anchors
    # the plain cost sums B coordinates and grows with B; normalised, it does
    # not (it shrinks somewhat: OT between small samples is biased upwards).
    values = {}
    for normalize in (False, True):
        small = np.mean([pkdot_loss(*batch_of(16, s), anchors="all", normalize=normalize).item()
                         for s in range(8)])
        large = pkdot_loss(*batch_of(512, 0), anchors="all", normalize=normalize).item()
        values[normalize] = large / small
    assert values[False] > 5
    assert 0.2 < values[True] < 1.5


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("anchors", ["all", "least_similar"])
def test_half_precision_is_computed_in_float32(dtype, anchors):
    # float16 gave NaN, bfloat16 a TypeError: both are solved in float32 and
    # the loss and gradient come back in the input dtype.
    student, teacher = (e.to(dtype) for e in embeddings(n=24, dtype=torch.float32))
    student.requires_grad_(True)
    value = pkdot_loss(student, teacher, top_k=8, anchors=anchors, normalize=True)
    value.backward()
    reference = student.detach().float().requires_grad_(True)
    expected = pkdot_loss(reference, teacher.float(), top_k=8, anchors=anchors,
                          normalize=True)
    expected.backward()
    assert value.dtype == dtype and student.grad.dtype == dtype
    assert value.item() == pytest.approx(expected.item(), rel=1e-2)
    assert torch.isfinite(student.grad).all()
    np.testing.assert_allclose(student.grad.float().numpy(), reference.grad.numpy(),
                               rtol=0.05, atol=1e-3 * reference.grad.abs().max().item())


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_solver(dtype):
    from pkdot_sk._ot import sinkhorn_divergence

    x, y = (torch.rand(16, 4, generator=torch.Generator().manual_seed(i)) for i in (0, 1))
    value = sinkhorn_divergence(x.to(dtype), y.to(dtype), 0.1)
    expected = sinkhorn_divergence(x.to(dtype).float(), y.to(dtype).float(), 0.1)
    assert value.dtype == dtype
    assert value.item() == pytest.approx(expected.item(), rel=1e-2)


# ------------------------------------------------ the baselines at the edges

def _pair(n=12, width=5, seed=0, scale=1.0, dtype=torch.float32):
    generator = torch.Generator().manual_seed(seed)
    student = torch.randn(n, width, generator=generator, dtype=torch.float64)
    teacher = torch.randn(n, width, generator=generator, dtype=torch.float64)
    return (student * scale).to(dtype), (teacher * scale).to(dtype)


@pytest.mark.parametrize("loss", [losses.logit_kd_loss, losses.generalized_distillation_loss,
                                  losses.feature_distillation_loss, losses.rkd_loss,
                                  losses.similarity_preserving_loss, losses.pkt_loss])
def test_a_batch_of_zero_rows_is_refused(loss):
    # It gave NaN (the mean of nothing).
    student, teacher = _pair(n=0)
    with pytest.raises(ValueError, match="have 0 rows; expected a batch of at least one"):
        loss(student, teacher)


@pytest.mark.parametrize("loss", [losses.rkd_loss, losses.similarity_preserving_loss])
@pytest.mark.parametrize("scale", [1e20, 1e-20, 1e30, 1e-30])
def test_scale_free_baselines_hold_at_extreme_scales(loss, scale):
    # They gave NaN at 1e20 and 0 at 1e-20 in float32 (squares over- or underflow).
    student, teacher = _pair()
    extreme = loss(*(t * scale for t in (student, teacher)))
    assert extreme.item() == pytest.approx(loss(student, teacher).item(), rel=1e-4)


@pytest.mark.parametrize("loss", [losses.rkd_loss, losses.similarity_preserving_loss])
def test_scale_free_baselines_keep_their_gradient_at_extreme_scales(loss):
    student, teacher = _pair()
    grads = []
    for scale in (1.0, 1e20):
        scaled = (student * scale).requires_grad_(True)
        loss(scaled, teacher).backward()
        grads.append(scaled.grad * scale)  # d/d(scaled) is d/d(student) / scale
    torch.testing.assert_close(grads[1], grads[0], rtol=1e-3, atol=1e-6)


def test_ccc_loss_ignores_a_common_scale():
    y_pred, y_true = _pair(n=30, width=1)
    for scale in (1e20, 1e-20):
        assert losses.ccc_loss(y_pred * scale, y_true * scale).item() == pytest.approx(
            losses.ccc_loss(y_pred, y_true).item(), rel=1e-5)


def test_feature_loss_that_overflows_float32_is_an_error():
    student, teacher = _pair(scale=1e20)
    with pytest.raises(ValueError, match="loss of student_projected and teacher_emb "
                                         "overflows torch.float32"):
        losses.feature_distillation_loss(student, teacher)
    # float64 holds it.
    value = losses.feature_distillation_loss(*_pair(scale=1e20, dtype=torch.float64))
    assert torch.isfinite(value)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_rkd_loss_in_half_precision_is_computed_in_float32(dtype):
    # torch.cdist has no half-precision kernel: it raised NotImplementedError.
    student, teacher = _pair(dtype=dtype)
    value = losses.rkd_loss(student, teacher)
    assert value.dtype == dtype
    assert value.item() == pytest.approx(
        losses.rkd_loss(student.float(), teacher.float()).item(), rel=1e-2)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [1, 2, 7, 512, 1500])
def test_row_order_sorts_every_row_as_argsort_does(dtype, n):
    # The anchors' row sort: one sort of keys that pack each value with its column.
    from pkdot_sk._pkdot import _row_order

    rng = np.random.RandomState(n)
    values = rng.uniform(0, 2, size=(6, n)).astype(dtype)
    values[0] = 0.0
    values[1, ::2] = values[1, 0]  # ties
    values[2, -1] = np.finfo(dtype).max
    values[3, 0] = np.finfo(dtype).tiny
    order = _row_order(values)
    assert order.dtype == np.intp and order.shape == values.shape
    np.testing.assert_array_equal(np.sort(order, axis=1), np.broadcast_to(np.arange(n), (6, n)))
    np.testing.assert_array_equal(np.take_along_axis(values, order, axis=1),
                                  np.sort(values, axis=1))


@pytest.mark.parametrize("anchors", ["least_similar", "most_similar"])
@pytest.mark.parametrize("n", [50, 300])  # full row sort, torch.topk
def test_anchor_columns_are_torch_topk_in_its_order(anchors, n):
    from pkdot_sk._pkdot import _anchor_columns

    rng = np.random.RandomState(n)
    sim = rng.uniform(0, 2, size=(n, n)).astype(np.float32)
    columns = _anchor_columns(sim, 7, anchors)
    expected = torch.topk(torch.from_numpy(sim), 7, dim=1, largest=anchors == "most_similar")
    assert columns.shape == (n, 7) and columns.flags.c_contiguous
    np.testing.assert_array_equal(np.take_along_axis(sim, columns, axis=1),
                                  expected.values.numpy())
