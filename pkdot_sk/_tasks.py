"""The three tasks, one object each: what the estimators do differently for
classification, ordinal levels and regression.

Each task object says how targets are encoded for the network, which head
and criterion train it, how its outputs become probabilities, predictions
and a score, which scikit-learn tags the estimator gets, and which
distillation methods can compare a teacher's outputs with a student's. The
fitted state it reads or sets (``classes_``, ``n_outputs_``, ``y_scaler_``)
lives on the estimator, as scikit-learn expects; a new task is one class
here (and its entry in ``TASKS``).

Ordered labels (pain 0..4) use a rank-consistent cumulative-link head
(CORAL): with K levels the network outputs K - 1 logits, ``logit_j`` for
"is the level above j?", with one weight vector shared between the K - 1
questions and one bias each, so the answers are ordered for every input
(P(y > 0) >= P(y > 1) >= ...) as soon as the biases are, and a mistake of two
levels costs about twice one of a single level, which a softmax over
unordered classes ignores.
"""

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.metrics import accuracy_score, r2_score
from sklearn.preprocessing import LabelEncoder, StandardScaler
from sklearn.utils._tags import ClassifierTags, RegressorTags
from sklearn.utils.multiclass import check_classification_targets
from torch import nn

from .losses import _ccc_loss
from .metrics import concordance_correlation_coefficient


# ---------------------------------------------------------------- ordinal
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
    return _coral_per_sample(logits, levels).mean()


def _coral_per_sample(logits, levels):
    """:func:`coral_loss` of each row, shape (B,)."""
    thresholds = torch.arange(logits.shape[1], device=logits.device)
    targets = (levels.reshape(-1, 1) > thresholds).to(logits.dtype)
    return F.binary_cross_entropy_with_logits(logits, targets, reduction="none").sum(dim=1)


class _WeightedCriterion(nn.Module):
    """A task loss as a skorch criterion, optionally weighted per sample.

    Without weights it is the plain mean loss; with ``sample_weight`` (one
    per row of the batch, normalised by the estimator to mean 1 over the
    training rows) it is the mean of the weighted per-sample losses, so
    that a batch counts in proportion to its rows' weights.
    """

    def forward(self, output, target, sample_weight=None):
        if sample_weight is None:
            return self.mean_loss(output, target)
        return (sample_weight * self.per_sample(output, target)).mean()


class CrossEntropyCriterion(_WeightedCriterion):
    mean_loss = staticmethod(F.cross_entropy)

    @staticmethod
    def per_sample(logits, labels):
        return F.cross_entropy(logits, labels, reduction="none")


class MSECriterion(_WeightedCriterion):
    mean_loss = staticmethod(F.mse_loss)

    @staticmethod
    def per_sample(y_pred, y_true):
        return ((y_pred - y_true) ** 2).reshape(len(y_pred), -1).mean(dim=1)


class CoralLoss(_WeightedCriterion):
    """:func:`coral_loss` as a skorch criterion."""

    mean_loss = staticmethod(coral_loss)
    per_sample = staticmethod(_coral_per_sample)


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


# ------------------------------------------------------------- regression
class CCCLoss(torch.nn.Module):
    """:func:`pkdot_sk.losses.ccc_loss` as a skorch criterion
    (``regression_loss="ccc"``).

    Unchecked: a non-finite loss in training is reported by the divergence
    check, with the estimator, the epoch and the likely causes.
    """

    def forward(self, y_pred, y_true, sample_weight=None):
        # The CCC is a statistic of the batch: weights weigh its moments. A
        # batch of rows of weight 0 teaches nothing.
        if sample_weight is not None and not bool(sample_weight.sum() > 0):
            return y_pred.sum() * 0.0
        return _ccc_loss(y_pred, y_true, 1e-8, sample_weight)


# ------------------------------------------------------------------ tasks
def _clipped_log(values):
    return np.log(np.clip(values, 1e-12, None))


class _Labels:
    """Discrete labels (classification, ordinal): ``classes_``, accuracy,
    ``predict_proba``."""

    has_labels = True

    def encode_targets(self, estimator, y):
        """Fit the label encoding on the estimator; the net's integer targets."""
        check_classification_targets(y)
        encoder = LabelEncoder().fit(y)
        estimator.classes_ = encoder.classes_
        estimator.n_outputs_ = self._n_outputs(encoder.classes_)
        return encoder.transform(y).astype(np.int64)

    def score(self, y, y_pred, sample_weight=None, regression_loss=None):
        return accuracy_score(y, y_pred, sample_weight=sample_weight)

    def set_tags(self, tags):
        tags.estimator_type = "classifier"
        tags.classifier_tags = ClassifierTags()
        return tags


class Classification(_Labels):
    name = "classification"
    # logit: KL between class probabilities; gd: soft labels.
    output_methods = ("logit", "gd")

    def _n_outputs(self, classes):
        return len(classes)

    def make_head(self, width, n_outputs):
        return nn.Linear(width, n_outputs)

    def criterion(self, regression_loss):
        return CrossEntropyCriterion

    def proba(self, outputs):
        return torch.softmax(torch.from_numpy(outputs).double(), dim=1).numpy()

    def decode(self, estimator, outputs):
        return estimator.classes_[self.net_predictions(outputs)]

    def net_predictions(self, outputs):
        """Predictions in the net's target encoding (class indices)."""
        return np.argmax(outputs, axis=1)

    def net_score(self, y_net, predictions, regression_loss):
        """Per-epoch validation score, higher is better: accuracy."""
        return self.score(y_net, predictions)

    def teacher_outputs(self, student, teacher, X, X_priv, needed_by):
        """What output-matching methods distil: the teacher's logits (its
        log-probabilities: logits up to a per-row constant, to which softmax
        at any temperature is blind)."""
        return _clipped_log(student._teacher_proba(teacher, X, X_priv, needed_by))

    def teacher_task_losses(self, student, teacher, X, X_priv, y_net, needed_by):
        """Cross-entropy of the teacher's ``predict_proba`` on each row."""
        proba = np.asarray(student._teacher_proba(teacher, X, X_priv, needed_by),
                           dtype=np.float64)
        return -_clipped_log(proba[np.arange(len(y_net)), y_net])


class Ordinal(_Labels):
    name = "ordinal"
    # Cumulative outputs are neither class probabilities nor values.
    output_methods = ()

    def refusal(self, method):
        """Why an output-matching ``method`` cannot distil this task."""
        return (f"distillation={method!r} imitates class probabilities or regression "
                "values, not the cumulative outputs of task='ordinal'; use an embedding "
                "method: 'pkdot', 'feature', 'rkd', 'sp' or 'pkt'.")

    def encode_targets(self, estimator, y):
        y_net = super().encode_targets(estimator, y)
        classes = estimator.classes_
        if not np.issubdtype(classes.dtype, np.number):
            raise ValueError(
                "task='ordinal' needs numeric labels in y whose order is the order of the "
                f"levels (e.g. pain 0..4); got labels {classes[:5].tolist()!r}. Encode "
                "ordered categories such as 'low' < 'high' as integers first."
            )
        if len(classes) < 2:
            raise ValueError(f"task='ordinal' needs at least 2 levels in y; got {len(classes)}.")
        return y_net

    def _n_outputs(self, classes):
        return len(classes) - 1  # one logit per threshold

    def make_head(self, width, n_outputs):
        return CoralHead(width, n_outputs)

    def criterion(self, regression_loss):
        return CoralLoss

    def proba(self, outputs):
        return ordinal_proba(outputs)

    def decode(self, estimator, outputs):
        return estimator.classes_[self.net_predictions(outputs)]

    def net_predictions(self, outputs):
        """Predictions in the net's target encoding (level indices)."""
        return ordinal_levels(outputs)

    def net_score(self, y_net, predictions, regression_loss):
        """Per-epoch validation score, higher is better: minus the mean
        absolute error in levels."""
        return -float(np.mean(np.abs(np.asarray(y_net) - predictions)))

    def teacher_task_losses(self, student, teacher, X, X_priv, y_net, needed_by):
        """The CORAL loss of each row (:func:`coral_loss`), with ``P(y > j)``
        the teacher's probability mass above level ``j``."""
        proba = np.asarray(student._teacher_proba(teacher, X, X_priv, needed_by),
                           dtype=np.float64)
        above = np.cumsum(proba[:, ::-1], axis=1)[:, ::-1][:, 1:]
        above = np.clip(above, 1e-12, 1.0 - 1e-12)
        is_above = y_net[:, None] > np.arange(above.shape[1])
        return -np.where(is_above, np.log(above), np.log1p(-above)).sum(axis=1)


class Regression:
    name = "regression"
    has_labels = False
    # gd: the squared error to the teacher's predictions.
    output_methods = ("gd",)

    def refusal(self, method):
        return (f"distillation={method!r} needs task='classification' (it matches class "
                "probabilities); use distillation='gd' to imitate a regression teacher.")

    def encode_targets(self, estimator, y):
        """Fit the target scaler on the estimator; the net's float32 targets."""
        y = np.asarray(y, dtype=np.float64)
        estimator._y_is_1d = y.ndim == 1
        y = y.reshape(len(y), -1)
        estimator.n_outputs_ = y.shape[1]
        # Standardised targets keep default learning rates sensible for any scale.
        with np.errstate(over="ignore", invalid="ignore"):
            estimator.y_scaler_ = StandardScaler(
                with_mean=estimator.standardize, with_std=estimator.standardize
            ).set_output(transform="default").fit(y)
        return estimator._as_float32(estimator.y_scaler_, y, "y")

    def make_head(self, width, n_outputs):
        return nn.Linear(width, n_outputs)

    def criterion(self, regression_loss):
        return CCCLoss if regression_loss == "ccc" else MSECriterion

    def decode(self, estimator, outputs):
        values = estimator.y_scaler_.inverse_transform(outputs.astype(np.float64))
        return values.ravel() if estimator._y_is_1d else values

    def net_predictions(self, outputs):
        """Predictions in the net's target encoding (standardised values)."""
        return outputs

    def net_score(self, y_net, predictions, regression_loss):
        """Per-epoch validation score, higher is better: R^2 (or the CCC with
        ``regression_loss="ccc"``); both ignore the target standardisation."""
        return float(self.score(y_net, predictions, regression_loss=regression_loss))

    def score(self, y, y_pred, sample_weight=None, regression_loss=None):
        """R^2, or the CCC for a model trained on it (``regression_loss="ccc"``)."""
        if regression_loss == "ccc":
            return concordance_correlation_coefficient(y, y_pred, sample_weight=sample_weight)
        return r2_score(y, y_pred, sample_weight=sample_weight)

    def set_tags(self, tags):
        tags.estimator_type = "regressor"
        tags.regressor_tags = RegressorTags()
        tags.target_tags.multi_output = True
        return tags

    def teacher_outputs(self, student, teacher, X, X_priv, needed_by):
        """The teacher's predictions in the student's standardised space."""
        return student._teacher_predictions(teacher, X, X_priv)

    def teacher_task_losses(self, student, teacher, X, X_priv, y_net, needed_by):
        """Squared error in the standardised target space, mean over the outputs."""
        errors = student._teacher_predictions(teacher, X, X_priv) - y_net
        return (errors**2).mean(axis=1)


TASKS = {task.name: task for task in (Classification(), Regression(), Ordinal())}
