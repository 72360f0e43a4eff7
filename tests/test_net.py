"""The shared skorch net: whole-batch slicing of the per-sample inputs."""

import numpy as np
import torch
from skorch.dataset import Dataset
from skorch.helper import SliceDict
from torch.utils.data import DataLoader, default_collate, default_convert

from pkdot_sk._net import BatchSlicingDataset


def test_batch_slicing_gives_the_rows_per_row_loading_gives():
    rng = np.random.RandomState(0)
    X = SliceDict(x=rng.randn(50, 3).astype(np.float32),
                  x_priv=rng.randn(50, 2).astype(np.float32),
                  z_teacher=rng.randn(50, 4).astype(np.float32))
    y = rng.randint(0, 3, 50)
    sampler = torch.utils.data.BatchSampler(
        torch.utils.data.SequentialSampler(range(50)), batch_size=16, drop_last=False)
    order = list(sampler)
    per_row = list(DataLoader(Dataset(X, y), batch_sampler=order, collate_fn=default_collate))
    batched = list(DataLoader(BatchSlicingDataset(X, y), batch_sampler=order,
                              collate_fn=default_convert))
    assert len(batched) == len(per_row) == 4
    for (xb, yb), (xr, yr) in zip(batched, per_row):
        assert set(xb) == {"x", "x_priv", "z_teacher"}
        for key in xb:
            assert torch.equal(torch.as_tensor(xb[key]), xr[key])
        assert torch.equal(torch.as_tensor(yb), yr)


def test_batch_slicing_follows_shuffled_indices():
    X = np.arange(20, dtype=np.float32).reshape(10, 2)
    y = np.arange(10)
    indices = [7, 2, 9]
    xb, yb = BatchSlicingDataset(X, y).__getitems__(indices)
    np.testing.assert_array_equal(yb, [7, 2, 9])
    np.testing.assert_array_equal(xb, X[indices])


class LinearHead(torch.nn.Module):
    """A network of one linear layer whose output is also its embedding."""

    def __init__(self, width):
        super().__init__()
        self.linear = torch.nn.Linear(3, width)

    def forward(self, x):
        out = self.linear(x)
        return out, out


def test_distillation_warmup_ramps_the_weight_linearly():
    from skorch.helper import SliceDict

    from pkdot_sk._net import TEACHER_EMBEDDING_KEY, PrivilegedNet

    def unit_loss(student, teacher):
        return student.sum() * 0.0 + 1.0  # constant 1: the loss shows the weight

    rng = np.random.RandomState(0)
    X = SliceDict(x=rng.normal(size=(8, 3)).astype(np.float32),
                  **{TEACHER_EMBEDDING_KEY: np.zeros((8, 1), dtype=np.float32)})
    y = np.zeros((8, 1), dtype=np.float32)
    net = PrivilegedNet(LinearHead, module__width=1, criterion=torch.nn.MSELoss, max_epochs=6,
                        batch_size=8, train_split=None, verbose=0, distillation_loss=unit_loss,
                        distillation_weight=2.0, task_weight=0.0, distillation_warmup=4)
    net.fit(X, y)
    np.testing.assert_allclose(net.history[:, "train_loss"],
                               [0.5, 1.0, 1.5, 2.0, 2.0, 2.0], rtol=1e-6)


def test_input_keys_are_the_networks_forward_parameters():
    # skorch passes the SliceDict's keys to forward by name: a renamed
    # parameter would be a TypeError at the first batch.
    import inspect

    from pkdot_sk._net import PRESENT_INPUT, PRIVILEGED_INPUT, REGULAR_INPUT
    from pkdot_sk.modules import HallucinatingStudentNetwork, StudentNetwork, TeacherNetwork

    assert list(inspect.signature(TeacherNetwork.forward).parameters)[1:] == [
        REGULAR_INPUT, PRIVILEGED_INPUT, PRESENT_INPUT]
    for network in (StudentNetwork, HallucinatingStudentNetwork):
        assert list(inspect.signature(network.forward).parameters)[1:] == [REGULAR_INPUT]


def test_forward_numpy_names_the_outputs_of_both_network_kinds():
    from pkdot_sk._net import PrivilegedNet, forward_numpy, regular_inputs
    from pkdot_sk.modules import (ConcatFusion, HallucinatingStudentNetwork, MLPEncoder,
                                  StudentNetwork)

    torch.manual_seed(0)
    x = np.random.RandomState(0).randn(7, 3).astype(np.float32)
    plain = StudentNetwork(MLPEncoder(3, (), 4), 4, 2)
    hallucinating = HallucinatingStudentNetwork(
        MLPEncoder(3, (), 4), [torch.nn.Linear(4, 5)], [5], ConcatFusion([4, 5], 6), 6, 2)
    for module, widths in ((plain, (2, 4)), (hallucinating, (2, 6, 5))):
        net = PrivilegedNet(module=module, criterion=torch.nn.CrossEntropyLoss,
                            batch_size=3).initialize()
        outputs = forward_numpy(net, regular_inputs(x))
        assert [array.shape for array in outputs if array is not None] == [
            (7, width) for width in widths]
        assert (outputs.hallucinated is None) == (module is plain)
        expected = module.eval()(torch.from_numpy(x))
        np.testing.assert_allclose(outputs.embedding, expected[1].detach().numpy(), rtol=1e-6)


def test_the_distillation_term_sees_only_the_rows_with_privileged_data():
    from skorch.helper import SliceDict

    from pkdot_sk._net import DISTILLED_ROWS_KEY, TEACHER_EMBEDDING_KEY, PrivilegedNet

    seen = []

    def recording_loss(student, teacher):
        seen.append(teacher[:, 0].tolist())
        return (student - teacher).pow(2).mean()

    rng = np.random.RandomState(0)
    rows = np.array([1, 0, 1, 1, 0, 0, 1, 0], dtype=np.float32)
    X = SliceDict(x=rng.normal(size=(8, 3)).astype(np.float32),
                  **{TEACHER_EMBEDDING_KEY: np.arange(16, dtype=np.float32).reshape(8, 2),
                     DISTILLED_ROWS_KEY: rows})
    net = PrivilegedNet(LinearHead, module__width=2, criterion=torch.nn.MSELoss, max_epochs=1,
                        batch_size=4, train_split=None, verbose=0,
                        distillation_loss=recording_loss,
                        distillation_weight=1.0)
    net.fit(X, np.zeros((8, 2), dtype=np.float32))
    # Batches of 4 in order: the teacher rows 0, 2, 3 and then 6 only.
    assert seen == [[0.0, 4.0, 6.0], [12.0]]
