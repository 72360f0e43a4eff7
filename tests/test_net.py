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
