"""The one skorch net behind both estimators.

Per-sample extras travel *inside* X as a :class:`skorch.helper.SliceDict` so
that skorch batches and shuffles them with the rows (extra ``fit`` params
would be passed whole to every batch):

* ``REGULAR_INPUT`` (``"x"``), ``PRIVILEGED_INPUT`` (``"x_priv"``) and
  ``PRESENT_INPUT`` (``"priv_present"``: which privileged modalities each row
  has, only when some row lacks one) are module inputs: skorch passes them to
  ``forward`` by name;
* ``"distilled_rows"`` (1 for the rows with privileged data, 0 for those
  without; only when some row has none) restricts the distillation term to
  the rows that have a teacher embedding worth distilling;
* ``"z_teacher"`` (the frozen teacher's embeddings, or its outputs for
  output-matching methods, computed once per fit) is a loss target: it is
  kept away from the module and read in ``get_loss``;
* ``"z_priv_teacher"`` (a hallucinating student's targets: the teacher's
  privileged-modality embeddings, concatenated along the columns) is a loss
  target too;
* ``"sample_weight"`` (each row's weight in the task loss, normalised to
  mean 1 over the training rows; absent when every row weighs the same) is
  passed to the criterion in ``get_loss``;
* ``"teacher_task_loss"`` (several teachers with per-batch selection: each
  teacher's task loss on each sample, shape (n_samples, n_teachers),
  computed once per fit) is read in ``get_loss`` as well: summed over the
  rows of the batch, it picks the one teacher distilled on that batch
  (recorded per batch as ``"teacher_index"``, per epoch as
  ``"teacher_share"``, the fraction of the epoch's training batches that
  used each teacher).

The module returns ``(output, embedding)``, or ``(output, embedding,
hallucinated)`` for a hallucinating student (plain tuples: skorch rebuilds
them by type when it moves them between devices); the net reads them as a
:class:`NetworkOutput`. The task criterion sees the output, the distillation
loss the embedding, the hallucination loss the hallucinated embeddings.
"""

from collections.abc import Mapping
from typing import NamedTuple, Optional

import numpy as np
import torch
from skorch import NeuralNet
from skorch.dataset import Dataset
from skorch.helper import SliceDict
from skorch.utils import multi_indexing, to_tensor
from torch.utils.data import (BatchSampler, DataLoader, RandomSampler, SequentialSampler,
                              default_convert)

from .losses import best_teacher_index

# The networks' forward parameter names (tests/test_net.py checks them).
REGULAR_INPUT = "x"
PRIVILEGED_INPUT = "x_priv"
PRESENT_INPUT = "priv_present"
TEACHER_EMBEDDING_KEY = "z_teacher"
DISTILLATION_LOSS_KEY = "distillation_loss"
TASK_LOSS_KEY = "task_loss"
HALLUCINATION_TARGET_KEY = "z_priv_teacher"
HALLUCINATION_LOSS_KEY = "hallucination_loss"
TEACHER_TASK_LOSS_KEY = "teacher_task_loss"
TEACHER_INDEX_KEY = "teacher_index"
TEACHER_SHARE_KEY = "teacher_share"
VALID_SCORE_KEY = "valid_score"
SAMPLE_WEIGHT_KEY = "sample_weight"
DISTILLED_ROWS_KEY = "distilled_rows"
_TARGET_KEYS = (TEACHER_EMBEDDING_KEY, HALLUCINATION_TARGET_KEY, TEACHER_TASK_LOSS_KEY,
                SAMPLE_WEIGHT_KEY, DISTILLED_ROWS_KEY)


class NetworkOutput(NamedTuple):
    """A network's outputs, by name (tensors in training, arrays after
    :func:`forward_numpy`)."""

    output: object
    """Task output: logits, or standardised regression values."""
    embedding: object
    """The (fused) embedding that distillation compares."""
    hallucinated: Optional[object] = None
    """A hallucinating student's privileged embeddings, side by side; else None."""


class BatchSlicingDataset(Dataset):
    """skorch ``Dataset`` that slices a whole batch at once.

    torch's ``DataLoader`` calls ``__getitems__`` with the batch's indices when
    it exists; slicing the arrays once per batch instead of once per row and
    collating is measured several times faster on 10 000 rows with three
    inputs. Use with ``collate_fn=default_convert`` (arrays to tensors, no
    stacking).
    """

    def __getitems__(self, indices):
        indices = np.asarray(indices)
        X, y = self.X, self.y
        if self.X_is_ndframe:
            X = {k: X[k].values.reshape(-1, 1) for k in X}
        return self.transform(_take_rows(X, indices, self.X_indexing),
                              _take_rows(y, indices, self.y_indexing))


def _take_rows(data, indices, indexing):
    # skorch's multi_indexing turns the index array into a list, which
    # scikit-learn's _safe_indexing then inspects element by element (0.3 ms
    # per batch of 128 for y alone); arrays and SliceDicts index directly.
    if isinstance(data, (np.ndarray, SliceDict)):
        return data[indices]
    return multi_indexing(data, indices, indexing)


class _BatchesWithoutSingleton(BatchSampler):
    """Batches of ``batch_size`` indices, a last batch of one index merged
    into the batch before it."""

    def __init__(self, sampler, batch_size):
        super().__init__(sampler, batch_size, drop_last=False)

    def __iter__(self):
        # A generator, as BatchSampler's: nothing is drawn before the loader
        # draws its own seed, so the random stream is the default loader's.
        previous = None
        for batch in super().__iter__():
            # With batch_size > 1 only the last batch can hold one index.
            if previous is not None and len(batch) == 1 and self.batch_size > 1:
                batch = previous + batch
            elif previous is not None:
                yield previous
            previous = batch
        if previous is not None:
            yield previous

    def __len__(self):
        n_batches = super().__len__()
        # x % batch_size == 1 never holds for batch_size == 1.
        merged = n_batches > 1 and len(self.sampler) % self.batch_size == 1
        return n_batches - int(merged)


class MergeSingletonLoader(DataLoader):
    """Training ``DataLoader`` whose last batch of one row joins the batch
    before it (``batch_size + 1`` rows).

    For networks with BatchNorm layers, which cannot normalise a batch of
    one row in training mode (torch: "Expected more than 1 value per
    channel"). It shuffles and draws random numbers exactly as the default
    loader does, so the batches are the same whenever the number of rows
    does not leave one over.
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, generator=None, **kwargs):
        sampler = (RandomSampler(dataset, generator=generator) if shuffle
                   else SequentialSampler(dataset))
        super().__init__(dataset, batch_sampler=_BatchesWithoutSingleton(sampler, batch_size),
                         generator=generator, **kwargs)


def has_batch_norm(module):
    """Whether ``module`` holds a BatchNorm layer."""
    return any(isinstance(sub, torch.nn.modules.batchnorm._BatchNorm)
               for sub in module.modules())


BATCH_LOADING = {
    "dataset": BatchSlicingDataset,
    "iterator_train__collate_fn": default_convert,
    "iterator_valid__collate_fn": default_convert,
}


class PrivilegedNet(NeuralNet):
    """skorch ``NeuralNet`` adding a distillation term to the task loss.

    Parameters
    ----------
    *args, **kwargs
        As :class:`skorch.NeuralNet`.
    distillation_loss : callable or None, default=None
        ``loss(student_tensor, teacher_target) -> scalar``; None trains on the
        task loss alone. When X holds ``"teacher_task_loss"`` it is called
        as ``loss(student_tensor, teacher_target, teacher_losses)`` with the
        batch's per-teacher totals, shape (n_teachers,) (e.g.
        :func:`pkdot_sk.losses.best_teacher_loss`).
    distillation_weight : float, default=0.0
        Weight of the distillation term in the training loss.
    distillation_input : {"embedding", "output", "adapted"}, default="embedding"
        The student tensor the distillation loss sees: the embedding, the
        task output, or the embedding through the module's ``adapter``
        (a projection trained with the student, unused at prediction).
    task_weight : float, default=1.0
        Weight of the task loss in the training loss (generalized
        distillation mixes the two as ``1 - imitation`` and ``imitation``).
    distillation_warmup : int, default=0
        Epochs over which the distillation weight grows linearly to its
        value: epoch ``e`` (from 1) uses ``min(1, e / distillation_warmup)``
        of it. 0 uses the full weight from the first batch.
    hallucination_weight : float, default=0.0
        Weight of the hallucination term: the mean squared error between
        each hallucinated embedding (the module's third output, split by
        its ``hallucination_dims``) and the teacher's embedding of that
        privileged modality (``"z_priv_teacher"`` in X), summed over the
        modalities. Used only when both are present.
    task : task object of :mod:`pkdot_sk._tasks` or None, default=None
        Turns the outputs into predictions for :meth:`predict` and
        :meth:`predict_proba`, so that scikit-learn scorers (skorch's
        ``EpochScoring("accuracy")``, the per-epoch ``valid_score``) work on
        the net. Predictions are in the net's target encoding, as the
        targets the net is fitted on: class or level indices, standardised
        regression values.
    regression_loss : {"mse", "ccc"}, default="mse"
        Which score ``valid_score`` reports for regression: R^2 or the CCC.
    """

    def __init__(self, *args, distillation_loss=None, distillation_weight=0.0,
                 distillation_input="embedding", task_weight=1.0, distillation_warmup=0,
                 hallucination_weight=0.0, task=None, regression_loss="mse", **kwargs):
        super().__init__(*args, **kwargs)
        self.task = task
        self.regression_loss = regression_loss
        self.distillation_loss = distillation_loss
        self.distillation_weight = distillation_weight
        self.distillation_input = distillation_input
        self.task_weight = task_weight
        self.distillation_warmup = distillation_warmup
        self.hallucination_weight = hallucination_weight

    def infer(self, x, **fit_params):
        if isinstance(x, Mapping) and any(key in x for key in _TARGET_KEYS):
            x = {key: value for key, value in x.items() if key not in _TARGET_KEYS}
        return super().infer(x, **fit_params)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        y_pred = NetworkOutput(*y_pred)
        output, embedding = y_pred.output, y_pred.embedding
        if isinstance(X, Mapping) and SAMPLE_WEIGHT_KEY in X:
            weights = to_tensor(X[SAMPLE_WEIGHT_KEY], device=self.device)
            loss = self.criterion_(output, to_tensor(y_true, device=self.device), weights)
        else:
            loss = super().get_loss(output, y_true, X=X, training=training)
        if training and (self.distillation_loss is not None or self.hallucination_weight):
            # The training loss adds other terms: the task's own, for the log.
            self.history.record_batch(TASK_LOSS_KEY, loss.item())
        if (
            training
            and self.distillation_loss is not None
            # A non-finite task loss means the network has diverged: the
            # batch's loss is non-finite whatever the distillation term adds,
            # and the divergence check (on_batch_end) explains it, where the
            # distillation loss would only fail on non-finite embeddings.
            and bool(torch.isfinite(loss))
            and isinstance(X, Mapping)
            and TEACHER_EMBEDDING_KEY in X
        ):
            target = to_tensor(X[TEACHER_EMBEDDING_KEY], device=self.device)
            if self.distillation_input == "output":
                student = output
            elif self.distillation_input == "adapted":
                student = self.module_.adapter(embedding)
            else:
                student = embedding
            teacher_losses = (to_tensor(X[TEACHER_TASK_LOSS_KEY], device=self.device)
                              if TEACHER_TASK_LOSS_KEY in X else None)
            if DISTILLED_ROWS_KEY in X:
                # Rows without privileged data have nothing to distil.
                rows = to_tensor(X[DISTILLED_ROWS_KEY], device=self.device).bool()
                student, target = student[rows], target[rows]
                teacher_losses = None if teacher_losses is None else teacher_losses[rows]
            if len(target) == 0:
                distillation = student.sum() * 0.0  # no row of the batch to distil
            elif teacher_losses is not None:
                # One teacher per batch: the lowest total task loss on its rows.
                totals = teacher_losses.sum(dim=0)
                self.history.record_batch(TEACHER_INDEX_KEY, best_teacher_index(totals))
                distillation = self.distillation_loss(student, target, totals)
            else:
                distillation = self.distillation_loss(student, target)
            self.history.record_batch(DISTILLATION_LOSS_KEY, distillation.item())
            loss = self.task_weight * loss + self._warmup_factor() * (
                self.distillation_weight * distillation)
        if (
            training
            and y_pred.hallucinated is not None
            and isinstance(X, Mapping)
            and HALLUCINATION_TARGET_KEY in X
        ):
            target = to_tensor(X[HALLUCINATION_TARGET_KEY], device=self.device)
            dims = self.module_.hallucination_dims
            hallucination = sum(
                torch.nn.functional.mse_loss(h, t)
                for h, t in zip(y_pred.hallucinated.split(dims, dim=1), target.split(dims, dim=1))
            )
            self.history.record_batch(HALLUCINATION_LOSS_KEY, hallucination.item())
            # Outside generalized distillation's task/imitation mix.
            loss = loss + self.hallucination_weight * hallucination
        return loss

    def predict_proba(self, X):
        """Class (or level) probabilities; the outputs for regression."""
        outputs = forward_numpy(self, X).output
        return self.task.proba(outputs) if self.task.has_labels else outputs

    def predict(self, X):
        """Predictions in the net's target encoding (see ``task``)."""
        return self.task.net_predictions(forward_numpy(self, X).output)

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        super().on_train_begin(net, X=X, y=y, **kwargs)
        self._n_selectable_teachers = None
        if isinstance(X, Mapping) and TEACHER_TASK_LOSS_KEY in X:
            self._n_selectable_teachers = np.shape(X[TEACHER_TASK_LOSS_KEY])[1]

    def on_epoch_end(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        super().on_epoch_end(net, dataset_train=dataset_train, dataset_valid=dataset_valid,
                             **kwargs)
        n_teachers = getattr(self, "_n_selectable_teachers", None)
        if n_teachers:
            chosen = [batch[TEACHER_INDEX_KEY] for batch in self.history[-1]["batches"]
                      if TEACHER_INDEX_KEY in batch]
            if chosen:
                counts = np.bincount(chosen, minlength=n_teachers)
                self.history.record(TEACHER_SHARE_KEY, (counts / len(chosen)).tolist())

    def _warmup_factor(self):
        if self.distillation_warmup <= 0:
            return 1.0
        # The net opens the epoch's history row before its first batch.
        return min(1.0, len(self.history) / self.distillation_warmup)


def regular_inputs(x, **targets):
    """The SliceDict a student's net batches: regular input ``x`` and the
    loss ``targets`` (keys above)."""
    return SliceDict(**{REGULAR_INPUT: x}, **targets)


def forward_numpy(net, X_net):
    """The fitted ``net``'s outputs on every row of ``X_net``: a
    :class:`NetworkOutput` of float32 numpy arrays."""
    # DataLoader iterators draw a seed from torch's global RNG: keep the
    # caller's stream untouched by predictions.
    with torch.random.fork_rng(devices=[]):
        results = net.forward(X_net, training=False, device="cpu")
    return NetworkOutput(*(result.numpy() for result in results))


def valid_score(net, X, y):
    """The task's score of the net on held-out rows (an ``EpochScoring``
    scoring): accuracy, minus the mean absolute error in levels (ordinal),
    R^2 or the CCC; higher is better."""
    return net.task.net_score(np.asarray(y), net.predict(X), net.regression_loss)
