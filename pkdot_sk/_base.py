"""What the teacher and the student share: parameters, validation, targets,
the skorch net, prediction decoding and scikit-learn tags."""

import copy
import functools
import math
from contextlib import contextmanager
from numbers import Integral

import numpy as np
import torch
from skorch.callbacks import Callback, EarlyStopping, EpochScoring
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.preprocessing import StandardScaler
from sklearn.utils import check_random_state
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.validation import check_array, check_is_fitted, check_X_y, validate_data

from ._constant_model import warn_if_constant
from ._divergence import DivergenceCheck
from ._inputs import read_array, read_sample_weight, read_targets
from ._net import (BATCH_LOADING, REGULAR_INPUT, SAMPLE_WEIGHT_KEY, VALID_SCORE_KEY,
                   MergeSingletonLoader, PrivilegedNet, forward_numpy, has_batch_norm,
                   valid_score)
from ._parameters import OPTIMIZERS, SHARED_CONSTRAINTS
from ._splits import FixedSplit, held_out_splits, is_grouped
from ._tasks import TASKS


# validation_fraction when early_stopping=True leaves it None (MLPClassifier's).
_EARLY_STOPPING_FRACTION = 0.1


def fit_seed(random_state):
    """The seed a fit with this ``random_state`` runs on (weights, batches,
    its validation split)."""
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


def weight_entry(weights):
    """The net's per-row weights (:data:`._net.SAMPLE_WEIGHT_KEY`) for these
    rows, normalised to mean 1 (so that ``lr`` means what it means without
    weights); empty for None."""
    if weights is None:
        return {}
    return {SAMPLE_WEIGHT_KEY: (weights / weights.mean()).astype(np.float32)}


def _silent(*args, **kwargs):
    """A sink that prints nothing (EarlyStopping's message without verbose)."""


class PrivilegedDataWarning(UserWarning):
    """Raised when a fit runs without the privileged data it was built for."""


def _check_ndim(X, name):
    """Number of dimensions of X: 2 (tabular) or 3 (sequences); else a ValueError."""
    ndim = getattr(X, "ndim", None)
    if ndim is None:
        ndim = np.asarray(X).ndim
    if ndim < 2:
        raise ValueError(
            f"{name} must be a 2-D array of shape (n_samples, n_features); got an array "
            f"with {ndim} dimension(s). Reshape your data, e.g. with "
            f"{name}.reshape(-1, 1) for a single feature or {name}.reshape(1, -1) for a "
            "single sample. (Sequences are 3-D: (n_samples, n_steps, n_features).)"
        )
    if ndim > 3:
        raise ValueError(
            f"{name} must be a 2-D array of shape (n_samples, n_features) or a 3-D array "
            f"of sequences of shape (n_samples, n_steps, n_features); got an array with "
            f"{ndim} dimensions."
        )
    return ndim


def _n_rows(data):
    if hasattr(data, "shape") and len(data.shape) > 0:
        return data.shape[0]
    return len(data) if hasattr(data, "__len__") else None


# The encoders' parameters in the networks of pkdot_sk.modules (fnmatch patterns).
ENCODER_PARAMETERS = ("encoder.*", "priv_encoders.*")


def _is_callback(value):
    """What skorch takes as a callback: an instance, a class (it instantiates
    it) or None (skipped; a pair's None turns a default callback off)."""
    return value is None or isinstance(value, Callback) or (
        isinstance(value, type) and issubclass(value, Callback))


def _check_target_rows(y, n_samples):
    """A ValueError when ``y`` does not hold one row per sample of X."""
    n_targets = _n_rows(y)
    if None not in (n_samples, n_targets) and n_samples != n_targets:
        raise ValueError(
            f"y has {n_targets} rows but X has {n_samples}; expected one target per "
            "sample of X."
        )


@contextmanager
def _torch_threads(n_threads):
    """torch's intra-op thread count set to ``n_threads`` (None: unchanged)
    for the block, restored after it."""
    if n_threads is None:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(int(n_threads))
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _replaces_state_on_success(fit):
    """Decorator of ``fit``: fit a shallow copy of the estimator, and make its
    state the estimator's only once ``fit`` returns. A fit that raises (bad
    data found late, a diverging training) leaves the estimator as it was:
    fitted as before, or unfitted. The fit runs on ``n_threads`` torch threads.

    The copy starts from the whole current state, so a fit still sees (and
    may delete) what an earlier fit or a subclass's ``fit`` set. ``fit`` must
    rebind attributes, never mutate the objects they hold in place. Warnings
    raised inside ``fit`` need one more level of ``stacklevel``.
    """
    @functools.wraps(fit)
    def fit_aside(self, *args, **kwargs):
        work = object.__new__(type(self))
        vars(work).update(vars(self))
        with _torch_threads(getattr(self, "n_threads", None)):
            fit(work, *args, **kwargs)
        vars(self).clear()
        vars(self).update(vars(work))
        return self

    return fit_aside


def _overflow_message(scaler, X, scaled, name):
    """Why ``scaled`` (``X`` through ``scaler``, as float32) is not finite."""
    columns = np.flatnonzero(~(np.isfinite(scaled) | np.isnan(X)).all(axis=0))
    largest = float(np.nanmax(np.abs(X[:, columns])))
    variance = getattr(scaler, "var_", None)
    if variance is not None and not np.isfinite(variance[columns]).all():
        why = "their variance overflows float64 when standardised"
    elif scaler.with_std:
        why = "their standardised values exceed float32's range (about 3.4e38)"
    else:
        why = "they exceed float32's range (about 3.4e38) with standardize=False"
    shown = columns[:10].tolist() + (["..."] if len(columns) > 10 else [])
    return (
        f"{name} has values that overflow once scaled for the network (float32) in "
        f"column(s) {shown} (largest |value| {largest:.3g}): {why}. Expected values whose scaled "
        f"float32 form is finite; rescale {name} (e.g. divide these columns by a power of "
        "ten, or log-transform them)."
    )


class _PrivilegedEstimator(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Base class; subclasses define ``__init__``, ``fit`` and ``transform``
    (embeddings of width ``embedding_dim_``, named by
    ``get_feature_names_out``, a DataFrame under ``set_output``)."""

    @property
    def _n_features_out(self):
        return self.embedding_dim_

    # X_priv and groups reach fit without set_fit_request when metadata
    # routing is enabled.
    __metadata_request__fit = {"X_priv": True, "groups": True}

    _parameter_constraints = dict(SHARED_CONSTRAINTS)

    @property
    def _task(self):
        """The task object of :mod:`._tasks` (``task`` validated)."""
        return TASKS[self.task]

    @property
    def _has_labels(self):
        """Classification and ordinal tasks: discrete labels, ``classes_``."""
        task = TASKS.get(self.task)
        return task is not None and task.has_labels

    # ----------------------------------------------------------- validation
    def _validate_params(self):
        super()._validate_params()
        self._check_hidden_units()
        self._check_optimizer()
        self._check_device()
        self._check_callbacks()
        if self.regression_loss == "ccc" and self._task.has_labels:
            raise ValueError(
                f"regression_loss='ccc' needs task='regression'; got task={self.task!r}."
            )
        # An error, not a warning: the CCC of a single row is undefined, so
        # every batch's loss is exactly 1 with a zero gradient and the
        # network would keep its random initial weights.
        if self.regression_loss == "ccc" and self.batch_size < 2:
            raise ValueError(
                "regression_loss='ccc' needs batch_size >= 2: the concordance correlation "
                "of a batch of one row is undefined, so its loss is constant (1) with a "
                f"zero gradient and nothing would be learnt; got batch_size="
                f"{self.batch_size}. Use a batch size of 32 or more (the CCC of small "
                "batches is noisy), or regression_loss='mse'."
            )

    def _check_optimizer(self):
        """An optimiser class, and keyword arguments that are not parameters
        of the estimator's own (scikit-learn's validation takes any class)."""
        if isinstance(self.optimizer, type) and not issubclass(self.optimizer,
                                                               torch.optim.Optimizer):
            raise ValueError(
                f"optimizer must be one of {sorted(OPTIMIZERS)} or a torch.optim.Optimizer "
                f"subclass; got the class {self.optimizer.__name__}.")
        reserved = sorted(set(self.optimizer_params or {}) & {"lr", "weight_decay", "params",
                                                               "param_groups"})
        if reserved:
            raise ValueError(
                f"optimizer_params sets {reserved}; expected further optimiser arguments only: "
                "lr, weight_decay (and encoder_lr) are parameters of their own, the "
                "parameters to optimise are the network's.")

    def _check_callbacks(self):
        """skorch callbacks or (name, callback) pairs, checked before any
        training (skorch fails on others with an AttributeError)."""
        for index, entry in enumerate(self.callbacks or []):
            if isinstance(entry, tuple):
                valid = len(entry) == 2 and isinstance(entry[0], str) and _is_callback(entry[1])
            else:
                valid = _is_callback(entry)
            if not valid:
                raise TypeError(
                    f"callbacks[{index}] is {entry!r}; expected a skorch callback instance "
                    "(e.g. skorch.callbacks.EarlyStopping(), or ProgressBar() for progress) "
                    "or a (name, callback) pair."
                )

    def _check_device(self):
        """A torch device that this torch can allocate on, checked before any
        training (torch's own errors come late, from inside the teacher's fit,
        and do not name the parameter)."""
        try:
            device = torch.device(self.device)
        except (RuntimeError, TypeError, ValueError) as exc:
            raise ValueError(
                f"device={self.device!r} is not a torch device ({exc}); expected e.g. "
                "'cpu', 'cuda' or 'cuda:0'."
            ) from None
        if device.type == "meta":
            raise ValueError(
                "device='meta' holds shapes but no data, so a network cannot be trained "
                "there; expected a device with memory, e.g. 'cpu' or 'cuda'."
            )
        if device.type == "cpu":
            return
        try:
            torch.empty(1, device=device)
        except (AssertionError, RuntimeError) as exc:
            why = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            hint = (f" (torch.cuda.is_available() is {torch.cuda.is_available()}, "
                    f"{torch.cuda.device_count()} CUDA device(s))" if device.type == "cuda"
                    else "")
            raise ValueError(
                f"device={self.device!r} is not available here{hint}: "
                f"{why}. Expected a device it can use, e.g. device='cpu'."
            ) from None

    def _check_hidden_units(self):
        """Widths of the default encoders' hidden layers: positive integers.

        ``_parameter_constraints`` checks the container only (scikit-learn
        has no constraint on the items of a tuple); a width of 0 gives a
        constant encoder, a negative or float one fails deep inside torch.
        """
        bad = [units for units in self.hidden_units
               if isinstance(units, bool) or not isinstance(units, Integral) or units < 1]
        if bad:
            raise InvalidParameterError(
                f"The 'hidden_units' parameter of {type(self).__name__} must be a tuple or "
                "list of positive ints, the widths of the default encoder's hidden layers "
                f"(e.g. (128,) or (256, 128); () for none); got {self.hidden_units!r}, "
                f"where {', '.join(map(repr, bad))} {'is' if len(bad) == 1 else 'are'} not."
            )

    def _validate_X(self, X, *, reset):
        X = read_array(X, "X")
        if _check_ndim(X, "X") == 3:
            X = self._check_sequences(X, "X")
            if reset:
                self._record_sequence_shape(X)
            else:
                self._check_input_shape(X, "X", self.n_features_in_, self.n_steps_in_)
            return X
        if not reset and getattr(self, "n_steps_in_", None) is not None:
            self._check_input_shape(X, "X", self.n_features_in_, self.n_steps_in_)  # raises
        X = validate_data(self, X, reset=reset, dtype=[np.float64, np.float32])
        if reset:
            self.n_steps_in_ = None
        return X

    def _validate_X_y(self, X, y):
        X = read_array(X, "X")
        ndim = _check_ndim(X, "X")
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None."
            )
        y = read_targets(y, self._task)
        _check_target_rows(y, _n_rows(X))
        if ndim == 3:
            X = self._check_sequences(X, "X")
            _, y = check_X_y(X, y, allow_nd=True, dtype=None, multi_output=not self._has_labels,
                             y_numeric=not self._has_labels, estimator=self)
            self._record_sequence_shape(X)
            return X, y
        X, y = validate_data(
            self,
            X,
            y,
            reset=True,
            dtype=[np.float64, np.float32],
            multi_output=not self._has_labels,
            y_numeric=not self._has_labels,
        )
        self.n_steps_in_ = None
        return X, y

    def _row_weights(self, y, y_net, sample_weight):
        """Each training row's weight in the task loss: ``sample_weight`` times
        the ``class_weight`` of its label, as float64; None when every row
        weighs the same (the unweighted loss, bit for bit)."""
        weights = read_sample_weight(sample_weight, len(y_net))
        if self.class_weight is not None:
            if not self._has_labels:
                raise ValueError(
                    f"class_weight={self.class_weight!r} needs labels; got task={self.task!r}. "
                    "Weigh regression rows with fit's sample_weight instead.")
            by_class = compute_sample_weight(self.class_weight, y)
            weights = by_class if weights is None else weights * by_class
        if weights is None:
            return None
        if not weights.any():
            raise ValueError("sample_weight (times class_weight) is zero for every row; "
                             "expected at least one positive weight.")
        if self._has_labels:
            kept = np.unique(y_net[weights > 0])
            if len(kept) < 2:
                raise ValueError(
                    f"sample_weight leaves rows of a single class with a positive weight "
                    f"(class {self.classes_[kept[0]].tolist()!r}); expected at least 2 classes "
                    "to learn from.")
        return None if np.all(weights == weights[0]) else weights

    @staticmethod
    def _validate_groups(groups, n_samples):
        """A 1-D array of one group label per sample, or None."""
        if groups is None:
            return None
        groups = np.asarray(groups)
        if groups.ndim != 1 or groups.shape[0] != n_samples:
            raise ValueError(
                f"groups must hold one label per sample of X, shape ({n_samples},); got "
                f"shape {groups.shape}."
            )
        return groups

    def _validate_X_priv(self, X_priv, n_samples):
        """Check X_priv; ``None`` passes through. Returns a float array.

        NaN is allowed: it marks a privileged modality that a row lacks (the
        teacher checks that each modality is missing as a whole); infinite
        values are not."""
        if X_priv is None:
            return None
        X_priv = read_array(X_priv, "X_priv", n_samples=n_samples)
        if _check_ndim(X_priv, "X_priv") == 3:
            X_priv = self._check_sequences(X_priv, "X_priv", ensure_all_finite="allow-nan")
        else:
            X_priv = check_array(
                X_priv, dtype=[np.float64, np.float32], input_name="X_priv", estimator=self,
                ensure_all_finite="allow-nan",
            )
        if np.isinf(X_priv).any():
            raise ValueError(
                "X_priv contains infinity; expected finite values, or NaN for all the values "
                "of a modality that a row lacks (a signal that was not recorded).")
        if np.isnan(X_priv).all():
            raise ValueError(
                "X_priv is NaN everywhere: no row has privileged data; expected some rows "
                "recorded, or X_priv=None to train without privileged data.")
        if X_priv.shape[0] != n_samples:
            raise ValueError(
                f"X_priv has {X_priv.shape[0]} rows but X has {n_samples}; expected one "
                "row of privileged data per sample of X."
            )
        return X_priv

    # ------------------------------------------------------------ sequences
    def _check_sequences(self, X, name, ensure_all_finite=True):
        """A finite float array of shape (n_samples, n_steps, n_features)."""
        X = check_array(X, dtype=[np.float64, np.float32], allow_nd=True, input_name=name,
                        estimator=self, ensure_all_finite=ensure_all_finite)
        if X.shape[1] < 1 or X.shape[2] < 1:
            raise ValueError(
                f"{name} has shape {X.shape}: sequences need at least one step and one "
                "feature per step."
            )
        return X

    def _record_sequence_shape(self, X):
        self.n_features_in_ = X.shape[2]
        self.n_steps_in_ = X.shape[1]
        if hasattr(self, "feature_names_in_"):  # left by an earlier fit on a DataFrame
            del self.feature_names_in_

    def _check_input_shape(self, X, name, n_features, n_steps):
        """Prediction-time check of X or X_priv against the fitted shape.

        ``n_steps`` is None when the estimator was fitted on 2-D data. A 2-D
        X fitted on 2-D data is left to ``validate_data``'s own check.
        """
        ndim = _check_ndim(X, name)
        owner = type(self).__name__
        if ndim == 3 and n_steps is None:
            raise ValueError(
                f"{name} is 3-D (sequences), but this {owner} was fitted on 2-D {name} "
                f"with {n_features} features."
            )
        if ndim == 2 and n_steps is not None:
            raise ValueError(
                f"{name} is 2-D, but this {owner} was fitted on sequences: 3-D {name} of "
                f"shape (n_samples, {n_steps}, {n_features})."
            )
        if ndim == 3:
            if X.shape[2] != n_features:
                raise ValueError(
                    f"{name} has {X.shape[2]} features per step, but this {owner} was "
                    f"fitted with {n_features}."
                )
            if X.shape[1] != n_steps:
                raise ValueError(
                    f"{name} has {X.shape[1]} steps, but this {owner} was fitted on "
                    f"sequences of {n_steps} steps; resample or window {name} to "
                    f"{n_steps} steps."
                )

    # --------------------------------------------------------------- inputs
    def _fit_scaler(self, X):
        """Per-feature scaler; for sequences, statistics over samples and steps."""
        # Arrays in, arrays out, whatever the global transform_output says.
        scaler = StandardScaler(with_mean=self.standardize, with_std=self.standardize
                                ).set_output(transform="default")
        # Statistics that overflow are reported by _as_float32, by name.
        with np.errstate(over="ignore", invalid="ignore"):
            return scaler.fit(X.reshape(-1, X.shape[-1]) if X.ndim == 3 else X)

    @staticmethod
    def _as_float32(scaler, X, name):
        """``X`` scaled and cast to float32, the network's input; a ValueError
        naming ``name`` when that is not finite (finite values beyond what
        the scaler or float32 can represent)."""
        flat = X.reshape(-1, X.shape[-1]) if X.ndim == 3 else X
        with np.errstate(over="ignore", invalid="ignore"):
            scaled = scaler.transform(flat).astype(np.float32)
        # NaN in, NaN out: a missing modality of X_priv, masked by the teacher.
        if not (np.isfinite(scaled) | np.isnan(flat)).all():
            raise ValueError(_overflow_message(scaler, flat, scaled, name))
        return scaled.reshape(X.shape)

    # ---------------------------------------------------------------- torch
    def _seed(self):
        """The seed of one fit, drawn from ``random_state``."""
        return fit_seed(self.random_state)

    @contextmanager
    def _seeded_torch(self, seed):
        """Seed torch for this fit only; the caller's RNG state is restored."""
        on_cpu = torch.device(self.device).type == "cpu"
        with torch.random.fork_rng(devices=[] if on_cpu else None):
            torch.manual_seed(seed)
            yield

    def _divergence_causes(self, distillation):
        """Likely causes of a diverging training, for its error: general ones
        (most likely first) and those of the distillation term."""
        causes = [f"the learning rate lr={self.lr:g} is too large (the default is 1e-3)"
                  if self.lr > 1e-3 else
                  f"the learning rate lr={self.lr:g} is too large for this data (try a "
                  "smaller one)"]
        if not self.standardize:
            causes.append("unscaled inputs (standardize=False): scale X and X_priv, or set "
                          "standardize=True")
        else:
            causes.append("features with extreme values (e.g. a unit error or outliers "
                          "many orders of magnitude above the rest): rescale them")
        if self.module is not None or getattr(self, "priv_module", None) is not None:
            causes.append("a custom module producing non-finite values")
        return causes, []

    def _module_sources(self, module):
        """(submodule path, argument) of the network's encoders, for the
        divergence check to name one that emits NaN or inf."""
        return [("encoder", "module")] if hasattr(module, "encoder") else []

    def _fit_network(self, module, X_net, y_net, *, groups=None, split_seed=0,
                     extra_callbacks=(), verbose=None, owner=None, label=None, **distillation):
        """Train a PrivilegedNet; ``distillation`` holds its distillation_*
        and task_weight parameters (none: the task loss alone); ``groups``
        and ``split_seed`` choose the held-out rows of ``validation_fraction``;
        ``verbose`` overrides the estimator's; ``owner`` names the training
        in the error of a diverging one (default: the estimator's class);
        ``label`` heads its progress table."""
        verbose = self.verbose if verbose is None else verbose
        if verbose and label:
            print(label, flush=True)
        criterion = self._task.criterion(self.regression_loss)
        train_split = self._validation_split(y_net, groups, split_seed)
        # BatchNorm cannot normalise one row in training: a last batch of one
        # joins the batch before it. Other networks keep their batches as
        # they were (the same training as before for the same seed).
        loading = dict(BATCH_LOADING)
        if has_batch_norm(module):
            loading["iterator_train"] = MergeSingletonLoader
        # Callbacks keep state: each fit gets its own copies.
        check = DivergenceCheck(owner or type(self).__name__,
                                *self._divergence_causes(distillation),
                                sources=self._module_sources(module))
        scoring = []
        if train_split is not None:
            scoring = [EpochScoring(valid_score, name=VALID_SCORE_KEY, lower_is_better=False)]
        if self.early_stopping:
            # Strictly better scores only; the best epoch's weights are kept.
            scoring.append(EarlyStopping(
                monitor=VALID_SCORE_KEY, lower_is_better=False, patience=self.n_iter_no_change,
                threshold=0.0, threshold_mode="abs", load_best=True,
                sink=print if verbose else _silent))
        callbacks = ([check, *scoring, *extra_callbacks]
                     + copy.deepcopy(list(self.callbacks or [])))
        net = PrivilegedNet(
            module=module,
            criterion=criterion,
            lr=self.lr,
            **self._optimizer_arguments(),
            max_epochs=self.max_epochs,
            # torch's DataLoader refuses numpy integers (a GridSearchCV grid gives them).
            batch_size=int(self.batch_size),
            iterator_train__shuffle=True,
            train_split=train_split,
            callbacks=callbacks,
            predict_nonlinearity=None,
            device=self.device,
            task=self._task,
            regression_loss=self.regression_loss,
            verbose=verbose,
            **distillation,
            **loading,
        )
        return net.fit(X_net, y_net)

    def _optimizer_arguments(self):
        """skorch's optimizer arguments: the class, weight decay, further
        keyword arguments, and the encoders' learning rate as a parameter
        group (skorch matches the parameter names with fnmatch)."""
        arguments = {"optimizer": OPTIMIZERS.get(self.optimizer, self.optimizer),
                     "optimizer__weight_decay": self.weight_decay}
        arguments.update({f"optimizer__{name}": value
                          for name, value in (self.optimizer_params or {}).items()})
        if self.encoder_lr is not None:
            arguments["optimizer__param_groups"] = [
                (pattern, {"lr": self.encoder_lr}) for pattern in ENCODER_PARAMETERS]
        return arguments

    def _validation_split(self, y_net, groups, seed):
        """The held-out rows of ``validation_fraction`` (0.1 with early
        stopping) as a skorch ``train_split``, or None: whole groups when
        ``groups`` are given, see :func:`._splits.held_out_splits`."""
        fraction = self.validation_fraction
        if fraction is None and self.early_stopping:
            fraction = _EARLY_STOPPING_FRACTION
        if fraction is None:
            return None
        if is_grouped(groups):
            n_groups = len(np.unique(groups))
            if math.ceil(fraction * n_groups) >= n_groups:  # as GroupShuffleSplit counts
                raise ValueError(
                    f"validation_fraction={fraction:g} holds out all {n_groups} groups of the "
                    "training rows, leaving none to train on; expected a fraction below "
                    f"{1 - 1 / n_groups:.2g}.")
        else:
            self._check_validation_split(y_net, fraction)
        train, valid = held_out_splits(y_net, groups, fraction, labels=self._has_labels,
                                       seed=seed)[0]
        return FixedSplit(train, valid)

    def _check_validation_split(self, y_net, fraction):
        """The split of ``validation_fraction`` leaves rows on both sides (one
        per class on each when stratified): a ValueError naming the
        parameter, where scikit-learn's splitter speaks of ``test_size``."""
        n_rows = len(y_net)
        n_valid = math.ceil(fraction * n_rows)  # as ShuffleSplit counts
        n_train = n_rows - n_valid
        needed, why = 1, ""
        if self._has_labels:
            labels, counts = np.unique(y_net, return_counts=True)
            needed = len(labels)
            why = f" (the split is stratified: one row of each of the {needed} classes)"
            if counts.min() < 2:
                raise ValueError(
                    f"validation_fraction={fraction:g} needs at least 2 rows "
                    "of every class for its stratified split, but class "
                    f"{self.classes_[labels[counts.argmin()]].tolist()!r} has 1 of the {n_rows} "
                    "training rows; expected validation_fraction=None, or more rows."
                )
        if n_train < needed or n_valid < needed:
            raise ValueError(
                f"validation_fraction={fraction:g} holds out {n_valid} of the "
                f"{n_rows} training rows and trains on {n_train}; expected at least "
                f"{needed} on each side{why}. Use a fraction between "
                f"{needed / n_rows:.2g} and {1 - needed / n_rows:.2g}, or None."
            )

    def _check_learnt(self, X_net, y_net):
        """Warn when the fitted net gives every training row the same output
        (see :mod:`._constant_model`); one forward pass over the rows.
        Returns the width of the embedding."""
        outputs = self._forward(X_net)
        warn_if_constant(self, outputs.output, outputs.embedding, y_net, X_net[REGULAR_INPUT])
        return int(outputs.embedding.shape[1])

    def _forward(self, X_net):
        """The fitted net's named outputs as float32 numpy arrays."""
        check_is_fitted(self, "net_")
        return forward_numpy(self.net_, X_net)

    def _validation_score(self, y, y_pred, sample_weight=None):
        """The task's score of predictions: accuracy for labels, R^2 for
        regression (the CCC when training on it), higher is better."""
        return float(self._task.score(y, y_pred, sample_weight, self.regression_loss))

    def _score_inputs(self, y, sample_weight, n_samples, *, hint=""):
        """``score``'s y and sample_weight, read as in fit and checked against
        the ``n_samples`` rows of X; ``hint`` is added to a sample_weight error."""
        y = read_targets(y, self._task)
        _check_target_rows(y, n_samples)
        return y, read_sample_weight(sample_weight, n_samples, hint=hint)

    def _score(self, y, y_pred, sample_weight):
        """``score``: accuracy for labels, R^2 for regression."""
        return self._task.score(y, y_pred, sample_weight)

    # ----------------------------------------------------------------- tags
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        # Tags are read before fit validates ``task``: a classifier unless known.
        return TASKS.get(self.task, TASKS["classification"]).set_tags(tags)
