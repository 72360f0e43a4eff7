"""Default encoders, fusion blocks and networks of pkdot_sk.modules, as plain torch modules."""

import numpy as np
import pytest
import torch
from torch import nn

from pkdot_sk.modules import (AttentionFusion, ConcatFusion, GRUEncoder,
                              HallucinatingStudentNetwork, MLPEncoder, StudentNetwork,
                              TeacherNetwork, TemporalConvEncoder, default_encoder,
                              prepare_encoder, prepare_fusion)

ENCODERS = {
    "mlp": (lambda: MLPEncoder(4, (16, 8), embedding_dim=6, dropout=0.5), (9, 4)),
    "tcn": (lambda: TemporalConvEncoder(4, (16,), embedding_dim=6, dropout=0.5), (9, 7, 4)),
    "gru": (lambda: GRUEncoder(4, (16,), embedding_dim=6, dropout=0.5), (9, 7, 4)),
}


# ----------------------------------------------------------------- encoders
@pytest.mark.parametrize("name", ENCODERS)
def test_encoder_maps_rows_to_a_non_negative_embedding_of_its_width(name):
    make, shape = ENCODERS[name]
    torch.manual_seed(0)
    encoder = make().eval()
    with torch.no_grad():
        z = encoder(torch.randn(*shape))
    assert z.shape == (shape[0], 6)
    assert torch.all(z >= 0) and z.abs().sum() > 0  # ReLU output, not all dead


@pytest.mark.parametrize("name", ENCODERS)
def test_encoder_output_depends_on_each_row_of_input(name):
    make, shape = ENCODERS[name]
    torch.manual_seed(0)
    encoder = make().eval()
    x = torch.randn(*shape)
    changed = x.clone()
    changed[0] += 1.0
    with torch.no_grad():
        z, z_changed = encoder(x), encoder(changed)
    # Row 0 moves; the other rows are encoded independently of it.
    assert not torch.allclose(z[0], z_changed[0])
    torch.testing.assert_close(z[1:], z_changed[1:])


@pytest.mark.parametrize("name", ENCODERS)
def test_dropout_is_random_in_training_and_off_in_eval_mode(name):
    make, shape = ENCODERS[name]
    torch.manual_seed(0)
    encoder = make()
    x = torch.randn(*shape)
    with torch.no_grad():
        assert not torch.equal(encoder.train()(x), encoder(x))
        encoder.eval()
        torch.testing.assert_close(encoder(x), encoder(x), rtol=0, atol=0)


@pytest.mark.parametrize("make_encoder", [
    lambda: TemporalConvEncoder(2, (8, 8), kernel_size=3, embedding_dim=16),
    lambda: TemporalConvEncoder(2, (8,), embedding_dim=16, norm="batch"),
    lambda: GRUEncoder(2, (8,), embedding_dim=16),
    lambda: GRUEncoder(2, (8, 8), embedding_dim=16, pooling="mean"),
], ids=["tcn", "tcn-batchnorm", "gru-last", "gru-mean"])
def test_encoders_map_any_length_to_an_embedding_and_depend_on_order(make_encoder):
    torch.manual_seed(0)
    encoder = make_encoder().eval()
    x = torch.randn(5, 7, 2)
    with torch.no_grad():
        z = encoder(x)
        assert z.shape == (5, 16) and encoder(torch.randn(5, 30, 2)).shape == (5, 16)
        assert z.abs().sum() > 0
        # A permutation of the steps changes the embedding (mean pooling of
        # the outputs does not make the convolution or the recurrence
        # order-blind).
        permuted = x[:, torch.randperm(7, generator=torch.Generator().manual_seed(1))]
        assert not torch.allclose(z, encoder(permuted))


def test_default_encoder_by_input_dimensions():
    assert type(default_encoder(3, 2)) is MLPEncoder
    encoder = default_encoder(3, 3, hidden_units=(16, 32), embedding_dim=8, dropout=0.0)
    assert type(encoder) is TemporalConvEncoder
    convolutions = [m for m in encoder.modules() if isinstance(m, torch.nn.Conv1d)]
    assert [c.out_channels for c in convolutions] == [16, 32]
    assert [c.dilation for c in convolutions] == [(1,), (2,)]
    assert any(isinstance(m, torch.nn.GroupNorm) for m in encoder.modules())
    plain = TemporalConvEncoder(3, norm=None)
    assert not any(isinstance(m, (torch.nn.GroupNorm, torch.nn.BatchNorm1d))
                   for m in plain.modules())
    with pytest.raises(ValueError, match="norm"):
        TemporalConvEncoder(3, norm="instance")
    with pytest.raises(ValueError, match="pooling"):
        GRUEncoder(3, pooling="max")


def test_mlp_hidden_layers_follow_hidden_units():
    encoder = MLPEncoder(5, (12, 7), embedding_dim=3)
    linears = [m for m in encoder.modules() if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(5, 12), (12, 7), (7, 3)]


# ------------------------------------------------------------------- fusion
def test_concat_fusion_reads_every_modality():
    torch.manual_seed(0)
    fusion = ConcatFusion([3, 5], embedding_dim=8)
    embeddings = [torch.randn(4, 3), torch.randn(4, 5)]
    out = fusion(embeddings)
    assert out.shape == (4, 8) and torch.all(out >= 0)
    for m in range(2):
        changed = [e.clone() for e in embeddings]
        changed[m] += 1.0
        assert not torch.allclose(out, fusion(changed))


def test_attention_fusion_module():
    torch.manual_seed(0)
    fusion = AttentionFusion([3, 5, 2], embedding_dim=8, n_heads=2)
    embeddings = [torch.randn(4, 3), torch.randn(4, 5), torch.randn(4, 2)]
    out = fusion(embeddings)
    assert out.shape == (4, 8) and torch.all(out >= 0)
    out.sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all()
               for p in fusion.parameters())
    with pytest.raises(ValueError, match="built for 3 modalities; got 2"):
        fusion(embeddings[:2])
    with pytest.raises(ValueError, match="multiple of n_heads"):
        AttentionFusion([3, 5], embedding_dim=10, n_heads=4)
    # One modality: no other token to attend to, and no NaN.
    single = AttentionFusion([3], embedding_dim=8, n_heads=2)
    out = single([torch.randn(4, 3)])
    assert out.shape == (4, 8) and torch.isfinite(out).all()


def test_attention_fusion_mixes_rows_of_one_sample_only():
    torch.manual_seed(0)
    fusion = AttentionFusion([3, 5], embedding_dim=8, n_heads=2).eval()
    embeddings = [torch.randn(4, 3), torch.randn(4, 5)]
    changed = [embeddings[0], embeddings[1].clone()]
    changed[1][2] += 1.0
    with torch.no_grad():
        out, out_changed = fusion(embeddings), fusion(changed)
    assert not torch.allclose(out[2], out_changed[2])
    torch.testing.assert_close(out[[0, 1, 3]], out_changed[[0, 1, 3]])


# ----------------------------------------------------------------- networks
def test_student_network_returns_the_head_output_and_the_encoder_embedding():
    torch.manual_seed(0)
    encoder = MLPEncoder(4, (8,), embedding_dim=6, dropout=0.0)
    net = StudentNetwork(encoder, 6, n_outputs=3)
    x = torch.randn(5, 4)
    output, embedding = net(x)
    assert output.shape == (5, 3)
    torch.testing.assert_close(embedding, encoder(x))
    torch.testing.assert_close(output, net.head(embedding))
    assert net.adapter is None
    assert StudentNetwork(encoder, 6, 3, adapter_dim=11).adapter.out_features == 11
    head = nn.Linear(6, 1)
    assert StudentNetwork(encoder, 6, 3, head=head).head is head


def test_teacher_network_routes_its_columns_to_each_privileged_encoder():
    torch.manual_seed(0)
    net = TeacherNetwork(MLPEncoder(4, (8,), 6, 0.0),
                         [MLPEncoder(2, (8,), 5, 0.0), MLPEncoder(1, (8,), 3, 0.0)],
                         ConcatFusion([6, 5, 3], 7), 7, n_outputs=2,
                         priv_columns=[[0, 2], [1]])
    x, x_priv = torch.randn(5, 4), torch.randn(5, 3)
    embeddings = net.embeddings(x, x_priv)
    assert [e.shape for e in embeddings] == [(5, 6), (5, 5), (5, 3)]
    torch.testing.assert_close(embeddings[2], net.priv_encoders[1](x_priv[:, [1]]))
    # Column 1 reaches the second privileged encoder only.
    changed = x_priv.clone()
    changed[:, 1] += 1.0
    moved = net.embeddings(x, changed)
    torch.testing.assert_close(moved[1], embeddings[1])
    assert not torch.allclose(moved[2], embeddings[2])
    output, fused = net(x, x_priv)
    assert output.shape == (5, 2) and fused.shape == (5, 7)
    with pytest.raises(ValueError, match="priv_columns has 1 entries for 2"):
        TeacherNetwork(MLPEncoder(4), [MLPEncoder(2), MLPEncoder(1)], ConcatFusion([64] * 3),
                       64, 2, priv_columns=[[0]])


def test_teacher_network_without_privileged_encoders_fuses_x_alone():
    torch.manual_seed(0)
    net = TeacherNetwork(MLPEncoder(4, (8,), 6, 0.0), None, ConcatFusion([6], 7), 7, 2)
    output, fused = net(torch.randn(5, 4))
    assert output.shape == (5, 2) and fused.shape == (5, 7)


def test_hallucinating_student_returns_the_hallucinated_embeddings_side_by_side():
    torch.manual_seed(0)
    encoder = MLPEncoder(4, (8,), 6, 0.0)
    transformations = [nn.Linear(6, 5), nn.Linear(6, 3)]
    net = HallucinatingStudentNetwork(encoder, transformations, [5, 3],
                                      ConcatFusion([6, 5, 3], 7), 7, n_outputs=2)
    x = torch.randn(5, 4)
    output, fused, hallucinated = net(x)
    assert output.shape == (5, 2) and fused.shape == (5, 7)
    z = encoder(x)
    torch.testing.assert_close(hallucinated, torch.cat([t(z) for t in transformations], dim=1))
    with pytest.raises(ValueError, match="hallucination_dims has 1 entries for 2"):
        HallucinatingStudentNetwork(encoder, transformations, [5], ConcatFusion([6, 5, 3], 7),
                                    7, 2)


# ------------------------------------------------------ prepare and measure
def test_prepare_encoder_measures_the_default_width():
    encoder, width = prepare_encoder(None, 4, torch.randn(3, 4), hidden_units=(8,),
                                     embedding_dim=5, dropout=0.1, name="module")
    assert type(encoder) is MLPEncoder and width == 5
    assert encoder.training  # the measuring pass restores the mode
    encoder, width = prepare_encoder(None, 4, torch.randn(3, 7, 4), hidden_units=(8,),
                                     embedding_dim=5, dropout=0.1, name="module")
    assert type(encoder) is TemporalConvEncoder and width == 5


def test_prepare_encoder_copies_and_reinitialises_a_user_module():
    torch.manual_seed(0)
    user = nn.Sequential(nn.Linear(4, 9), nn.Tanh())
    before = [p.detach().clone() for p in user.parameters()]
    encoder, width = prepare_encoder(user, 4, torch.randn(3, 4), hidden_units=(8,),
                                     embedding_dim=5, dropout=0.1, name="module")
    assert width == 9 and encoder is not user
    for old, kept, new in zip(before, user.parameters(), encoder.parameters()):
        assert torch.equal(old, kept) and not torch.equal(old, new)


def test_prepare_encoder_rejects_a_non_2d_embedding():
    with pytest.raises(ValueError, match=r"priv_module must map a \(batch, 4\) float tensor "
                                         r"to a 2-D \(batch, d\) embedding; got \(3, 4, 1\)"):
        prepare_encoder(nn.Unflatten(1, (4, 1)), 4, torch.randn(3, 4), hidden_units=(8,),
                        embedding_dim=5, dropout=0.1, name="priv_module")


@pytest.mark.parametrize("embedding_dim, heads", [(8, 4), (6, 2), (5, 1)])
def test_prepare_fusion_attention_heads_divide_the_width(embedding_dim, heads):
    block, width = prepare_fusion("attention", [3, 4], [torch.randn(2, 3), torch.randn(2, 4)],
                                  embedding_dim=embedding_dim)
    assert isinstance(block, AttentionFusion) and width == embedding_dim
    assert block.attention.num_heads == heads


def test_prepare_fusion_concat_and_bad_name():
    block, width = prepare_fusion("concat", [3, 4], [torch.randn(2, 3), torch.randn(2, 4)],
                                  embedding_dim=6)
    assert isinstance(block, ConcatFusion) and width == 6
    with pytest.raises(ValueError, match="fusion must be one of"):
        prepare_fusion("sum", [3], [np.zeros((2, 3))], embedding_dim=6)
