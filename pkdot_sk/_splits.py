"""Held-out rows inside a fit: the validation split of ``validation_fraction``
(early stopping, ``valid_score``) and the safeguard's splits.

Both hold out whole groups (subjects) when ``groups`` reach ``fit``, as in
leave-one-subject-out evaluation: a subject on both sides would let early
stopping or the safeguard choose on rows that look like the training ones.
"""

import numpy as np
import torch
from sklearn.model_selection import GroupShuffleSplit, ShuffleSplit, StratifiedShuffleSplit


def held_out_splits(y, groups, fraction, *, n_splits=1, labels=False, seed):
    """(training, held-out) row indices, ``n_splits`` of them: whole groups
    where more than one group is given, stratified by class where ``labels``
    and every class can be on both sides, shuffled rows otherwise. The
    held-out side is ``fraction`` of the groups or rows, rounded up."""
    n_samples = len(y)
    rows = np.zeros(n_samples)
    if is_grouped(groups):
        splitter = GroupShuffleSplit(n_splits=n_splits, test_size=fraction, random_state=seed)
        return list(splitter.split(rows, groups=groups))
    n_valid = int(np.ceil(fraction * n_samples))
    if labels:
        _, counts = np.unique(y, return_counts=True)
        if counts.min() >= 2 and len(counts) <= n_valid <= n_samples - len(counts):
            splitter = StratifiedShuffleSplit(n_splits=n_splits, test_size=n_valid,
                                              random_state=seed)
            return list(splitter.split(rows, y))
    splitter = ShuffleSplit(n_splits=n_splits, test_size=n_valid, random_state=seed)
    return list(splitter.split(rows))


def is_grouped(groups):
    """Whether ``groups`` can be split by group (more than one)."""
    return groups is not None and len(np.unique(groups)) > 1


class FixedSplit:
    """skorch ``train_split`` with rows chosen beforehand: the same split
    for every net trained on these rows (a student's and its default
    teacher's), whatever the net's own random state."""

    def __init__(self, train, valid):
        self.train = np.asarray(train)
        self.valid = np.asarray(valid)

    def __call__(self, dataset, y=None, groups=None):
        return (torch.utils.data.Subset(dataset, self.train),
                torch.utils.data.Subset(dataset, self.valid))
