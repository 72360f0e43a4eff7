"""Ordered labels (pain 0..4): a rank-consistent cumulative-link head (CORAL).

With K ordered levels the network outputs K - 1 logits, ``logit_j`` for the
binary question "is the level above j?". CORAL shares one weight vector
between the K - 1 questions and gives each its own bias, so the answers are
ordered for every input (P(y > 0) >= P(y > 1) >= ...) as soon as the biases
are, and a mistake of two levels costs about twice one of a single level,
which a softmax over unordered classes ignores.
"""

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["CoralHead", "CoralLoss", "coral_loss", "ordinal_levels", "ordinal_proba"]


class CoralHead(nn.Module):
    """``embedding -> K - 1`` cumulative logits: one shared weight vector,
    one bias per threshold.

    Parameters
    ----------
    in_features : int
        Embedding width.
    n_thresholds : int
        K - 1 for K ordered levels.
    """

    def __init__(self, in_features, n_thresholds):
        super().__init__()
        self.linear = nn.Linear(in_features, 1, bias=False)
        # Decreasing initial biases: the thresholds start ordered.
        self.bias = nn.Parameter(torch.linspace(1.0, -1.0, n_thresholds))

    def forward(self, embedding):
        return self.linear(embedding) + self.bias


def coral_loss(logits, levels):
    """Sum over thresholds of the binary cross-entropies, mean over the batch.

    Parameters
    ----------
    logits : torch.Tensor of shape (B, K - 1)
    levels : torch.Tensor of shape (B,), integer levels in ``0..K-1``

    Returns
    -------
    loss : torch.Tensor, scalar

    References
    ----------
    .. [1] Cao, W., Mirjalili, V., and Raschka, S. "Rank consistent ordinal
       regression for neural networks with application to age estimation."
       Pattern Recognition Letters 140, 2020.
    """
    thresholds = torch.arange(logits.shape[1], device=logits.device)
    targets = (levels.reshape(-1, 1) > thresholds).to(logits.dtype)
    per_threshold = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    return per_threshold.sum(dim=1).mean()


class CoralLoss(nn.Module):
    """:func:`coral_loss` as a skorch criterion."""

    def forward(self, logits, levels):
        return coral_loss(logits, levels)


def ordinal_levels(logits):
    """Predicted level indices: how many thresholds the sample is above."""
    return (np.asarray(logits) > 0).sum(axis=1)


def ordinal_proba(logits):
    """Level probabilities from cumulative logits, shape (n, K).

    ``P(y = j) = P(y > j - 1) - P(y > j)``. The cumulative probabilities are
    made non-increasing first (a running minimum), so no probability is
    negative even before the biases have learned their order.
    """
    above = 1.0 / (1.0 + np.exp(-np.asarray(logits, dtype=np.float64)))
    above = np.minimum.accumulate(above, axis=1)
    ones = np.ones((above.shape[0], 1))
    zeros = np.zeros((above.shape[0], 1))
    return np.hstack([ones, above]) - np.hstack([above, zeros])
