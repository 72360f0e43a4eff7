"""PrivilegedTeacher: a multimodal network trained on X and X_priv."""

import warnings

import numpy as np
import torch
from skorch.helper import SliceDict
from sklearn.utils._param_validation import StrOptions
from sklearn.utils._tags import TransformerTags
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted
from torch import nn

from ._base import (PrivilegedDataWarning, _PrivilegedEstimator, _replaces_state_on_success,
                    weight_entry)
from ._modalities import (is_drop, normalise_priv_groups, present_modalities,
                          priv_module_entries, select_priv_columns, string_columns)
from ._net import PRESENT_INPUT, PRIVILEGED_INPUT, REGULAR_INPUT
from ._parameters import document_shared_parameters
from .modules import FUSIONS, TeacherNetwork, _measure, prepare_encoder, prepare_fusion


@document_shared_parameters
class PrivilegedTeacher(_PrivilegedEstimator):
    """Multimodal teacher: regular and privileged encoders, fusion, task head.

    The teacher sees both modalities at training time. Its fused embedding
    (:meth:`transform`) is what :class:`PKDOTStudent` distils into a model
    that needs only the regular modality.

    Parameters
    ----------
    <shared parameters: task, module, module_weights>
    priv_module : None, torch.nn.Module, dict or list, default=None
        Encoders of the privileged modalities, same protocol as ``module``
        (each receives the columns of its modality). None builds the default
        encoder per modality (MLP, or temporal convolution for 3-D X_priv). One module is
        only valid with a single privileged modality (``priv_groups=None``
        or one group). With several, pass a dict ``{modality_name:
        module}`` (modalities left out get the default encoder; the name of
        the single modality of ``priv_groups=None`` is ``"priv"``) or a
        list aligned with ``priv_groups``, None entries meaning the default.
        An entry ``"drop"`` (as in scikit-learn's ``ColumnTransformer``)
        declares that this teacher does not use that modality: its columns
        stay in X_priv but are never read, e.g. for per-modality teachers of
        a multi-teacher :class:`PKDOTStudent` sharing one X_priv. At least
        one privileged modality must remain.
        Every fit trains copies of the modules, their weights kept or
        re-initialised as ``module_weights`` says.
    priv_groups : None, dict or list, default=None
        How the columns of X_priv split into privileged modalities, one
        encoder each. None: X_priv is one modality. A dict ``{name:
        columns}`` or a list of ``columns`` (modalities named ``"priv_0"``,
        ``"priv_1"``, ...), where ``columns`` is a list of integer column
        positions, a slice, or a list of column names (names need X_priv to
        be a pandas DataFrame with string column names). Every column of
        X_priv must belong to exactly one group: drop unused columns from
        X_priv rather than leaving them out of the groups.
    fusion : {"concat", "attention"} or torch.nn.Module, default="concat"
        How the modality embeddings are fused. "concat":
        :class:`~pkdot_sk.modules.ConcatFusion`, concatenation then
        Linear + ReLU to ``embedding_dim``. "attention":
        :class:`~pkdot_sk.modules.AttentionFusion`, cross-attention between
        the modalities and a gated sum (4 heads, fewer when
        ``embedding_dim`` is not a multiple of 4). A module follows the
        fusion protocol of :mod:`pkdot_sk.modules` (it receives the list of
        modality embeddings, regular modality first, and returns a 2-D
        fused embedding); every fit trains a copy of it, its weights kept or
        re-initialised as ``module_weights`` says.
    <shared parameters: hidden_units, embedding_dim, dropout, max_epochs, batch_size, lr,
        weight_decay, optimizer, optimizer_params, encoder_lr, validation_fraction,
        early_stopping, n_iter_no_change, callbacks, class_weight, standardize, regression_loss,
        device, n_threads, random_state, verbose>

    Attributes
    ----------
    net_ : pkdot_sk._net.PrivilegedNet
        The fitted skorch net. ``net_.history`` holds ``train_loss`` per
        epoch and, with ``validation_fraction`` or ``early_stopping``,
        ``valid_loss`` and ``valid_score`` (the task's score on the held-out
        rows: accuracy, minus the mean absolute error in levels, R^2 or the
        CCC; higher is better).
    classes_ : ndarray of shape (n_classes,)
        Class labels (classification only).
    n_features_in_ : int
        Number of regular features (per step for 3-D X).
    n_steps_in_ : int or None
        Number of steps of 3-D X; None for 2-D X.
    n_priv_features_in_ : int
        Number of privileged features (per step for 3-D X_priv); 0 when
        fitted without X_priv.
    n_priv_steps_in_ : int or None
        Number of steps of 3-D X_priv; None for 2-D X_priv or without it.
    priv_groups_ : dict of str to ndarray of int
        The privileged modalities in the order their embeddings reach the
        fusion block, each with the positions of its X_priv columns. Empty
        when fitted without X_priv. Modalities dropped by ``priv_module``
        are not in it.
    priv_dropped_ : list of str
        Modalities declared by ``priv_groups`` that ``priv_module`` drops
        (their columns are never read).
    priv_feature_names_in_ : ndarray of str
        Column names of X_priv, set only when fit got a DataFrame with
        string column names. ``predict``, ``predict_proba``, ``transform``
        and ``score`` then select these columns by name from a DataFrame
        X_priv (in any order).
    fitted_with_privileged_ : bool
        False when ``fit`` got ``X_priv=None`` and trained on X alone.
    embedding_dim_ : int
        Width of the fused embedding returned by :meth:`transform`,
        measured on the fusion block's output.

    See Also
    --------
    PKDOTStudent : distils this teacher into a regular-modality model.

    References
    ----------
    .. [1] Aslam, M. H., Pedersoli, M., Koerich, A. L., and Granger, E.
       "Distilling Privileged Multimodal Information for Expression
       Recognition using Optimal Transport." IEEE FG 2024.

    Examples
    --------
    Two privileged modalities, the first 2 and the last column of X_priv,
    fused by cross-attention:

    >>> from pkdot_sk import PrivilegedTeacher
    >>> from pkdot_sk.datasets import make_privileged_classification
    >>> X, X_priv, y, groups = make_privileged_classification(
    ...     n_priv_features=3, random_state=0)
    >>> teacher = PrivilegedTeacher(priv_groups={"ecg": [0, 1], "eda": [2]},
    ...                             fusion="attention", max_epochs=5, random_state=0)
    >>> teacher.fit(X, y, X_priv=X_priv).transform(X, X_priv).shape
    (600, 64)
    >>> {name: cols.tolist() for name, cols in teacher.priv_groups_.items()}
    {'ecg': [0, 1], 'eda': [2]}
    """

    # Routed with metadata routing on, so cross_val_score(teacher, ...,
    # params={"X_priv": ...}) scores each test fold with its own X_priv.
    __metadata_request__predict = {"X_priv": True}
    __metadata_request__predict_proba = {"X_priv": True}
    __metadata_request__transform = {"X_priv": True}
    __metadata_request__score = {"X_priv": True}

    _parameter_constraints = {
        **_PrivilegedEstimator._parameter_constraints,
        "priv_module": [None, nn.Module, dict, list, tuple],
        "priv_groups": [None, dict, list, tuple],
        "fusion": [StrOptions(set(FUSIONS)), nn.Module],
    }

    def __init__(
        self,
        task="classification",
        *,
        module=None,
        module_weights="keep",
        priv_module=None,
        priv_groups=None,
        fusion="concat",
        hidden_units=(128,),
        embedding_dim=64,
        dropout=0.1,
        max_epochs=100,
        batch_size=128,
        lr=1e-3,
        weight_decay=0.0,
        optimizer="adam",
        optimizer_params=None,
        encoder_lr=None,
        validation_fraction=None,
        early_stopping=False,
        n_iter_no_change=10,
        callbacks=None,
        class_weight=None,
        standardize=True,
        regression_loss="mse",
        device="cpu",
        n_threads=None,
        random_state=None,
        verbose=0,
    ):
        self.task = task
        self.module = module
        self.module_weights = module_weights
        self.priv_module = priv_module
        self.priv_groups = priv_groups
        self.fusion = fusion
        self.hidden_units = hidden_units
        self.embedding_dim = embedding_dim
        self.dropout = dropout
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.optimizer = optimizer
        self.optimizer_params = optimizer_params
        self.encoder_lr = encoder_lr
        self.validation_fraction = validation_fraction
        self.early_stopping = early_stopping
        self.n_iter_no_change = n_iter_no_change
        self.callbacks = callbacks
        self.class_weight = class_weight
        self.standardize = standardize
        self.regression_loss = regression_loss
        self.device = device
        self.n_threads = n_threads
        self.random_state = random_state
        self.verbose = verbose

    @_replaces_state_on_success
    def fit(self, X, y, X_priv=None, groups=None, sample_weight=None):
        """Train on the regular and privileged modalities.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or \
(n_samples, n_steps, n_features)
            Regular modality: one row of features, or one sequence, per
            sample. Prediction needs the same shape per sample.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets (several outputs for regression only).
        X_priv : array-like or DataFrame of shape (n_samples, n_priv_features), \
(n_samples, n_priv_steps, n_priv_features) or None
            Privileged modalities, one row or sequence per sample of X (2-D
            or 3-D whatever X is; its number of steps may differ from X's),
            split into modalities along the feature axis by ``priv_groups``.
            A modality that a row lacks (a sensor failed, a subject refused
            electrodes) is marked by NaN in all its values for that row: its
            embedding is zero there, so the fusion uses what the row has and
            that modality's encoder learns from the other rows (NaN in only
            part of a modality's values, or a modality missing from every
            row, is a ``ValueError``). None trains a regular-only network (with a
            :class:`PrivilegedDataWarning`) and sets
            ``fitted_with_privileged_ = False``.
        groups : array-like of shape (n_samples,) or None, default=None
            Subject (or session) of each row: the rows held out by
            ``validation_fraction`` / ``early_stopping`` are then whole
            groups. Routed like X_priv with metadata routing on (no
            ``set_fit_request`` needed).
        sample_weight : array-like of shape (n_samples,) or None, default=None
            Weight of each row in the task loss (times ``class_weight``);
            ``valid_loss`` is weighted too, ``valid_score`` is not. With
            metadata routing on, request it with
            ``set_fit_request(sample_weight=True)``, as in scikit-learn.

        Returns
        -------
        self : PrivilegedTeacher

        Raises
        ------
        TrainingDivergedError
            When the training diverges: a non-finite training loss or
            weights, or a loss more than 1e10 times the first batch's. Its
            message names the estimator, the epoch and the likely causes.
            A subclass of ValueError.
        ValueError
            On invalid parameters or data; the message names the argument
            and says what was expected.
        TypeError
            On inputs of the wrong kind: a dict or a list of per-modality
            arrays as X_priv, objects, dates or durations where numbers are
            expected, callbacks that are not skorch callbacks.

        Warns
        -----
        ConvergenceWarning
            When the trained model gives every training row the same output
            although the targets vary (it learnt nothing: e.g. every unit of
            a one-unit embedding inactive); the message names the likely
            causes.

        A fit that raises leaves the estimator as it was before the call.
        """
        self._validate_params()
        X, y = self._validate_X_y(X, y)
        priv_names = string_columns(X_priv)
        X_priv = self._validate_X_priv(X_priv, X.shape[0])
        groups = self._validate_groups(groups, X.shape[0])
        if X_priv is None:
            warnings.warn(
                "PrivilegedTeacher.fit got X_priv=None: training on X alone, a teacher "
                "without privileged information (fitted_with_privileged_=False).",
                PrivilegedDataWarning,
                stacklevel=3,
            )
        y_net = self._task.encode_targets(self, y)
        weights = self._row_weights(y, y_net, sample_weight)
        self.fitted_with_privileged_ = X_priv is not None
        self.n_priv_features_in_ = 0 if X_priv is None else X_priv.shape[-1]
        self.n_priv_steps_in_ = (X_priv.shape[1] if X_priv is not None and X_priv.ndim == 3
                                 else None)
        if priv_names is not None and X_priv is not None:
            self.priv_feature_names_in_ = priv_names
        elif hasattr(self, "priv_feature_names_in_"):
            del self.priv_feature_names_in_
        modalities = {}
        if X_priv is not None:
            modalities = normalise_priv_groups(self.priv_groups, self.n_priv_features_in_,
                                               priv_names)
        priv_modules = priv_module_entries(self.priv_module, list(modalities))
        self.priv_dropped_ = [name for name, module in zip(modalities, priv_modules)
                              if is_drop(module)]
        if modalities and len(self.priv_dropped_) == len(modalities):
            raise ValueError(
                f"priv_module drops every privileged modality {list(modalities)}; keep at "
                "least one, or fit with X_priv=None for a teacher without privileged data."
            )
        self.priv_groups_ = {name: columns for name, columns in modalities.items()
                             if name not in self.priv_dropped_}
        priv_modules = [module for module in priv_modules if not is_drop(module)]
        present = (None if X_priv is None else present_modalities(
            X_priv, self.priv_groups_, require_each=True,
            hint=(" With priv_groups=None, X_priv is one modality: declare its modalities "
                  "with priv_groups (a student: teacher=PrivilegedTeacher(priv_groups=...)) "
                  "so that each can be missing on its own.") if self.priv_groups is None else ""))
        self.x_scaler_ = self._fit_scaler(X)
        self.priv_scaler_ = None if X_priv is None else self._fit_scaler(X_priv)
        inputs = self._inputs(X, X_priv, present, **weight_entry(weights))

        seed = self._seed()
        with self._seeded_torch(seed):
            module = self._build_module(inputs, priv_modules)
            data = (f"X and X_priv ({len(self.priv_groups_)} privileged "
                    f"modalit{'y' if len(self.priv_groups_) == 1 else 'ies'})"
                    if self.fitted_with_privileged_ else "X alone")
            self.net_ = self._fit_network(
                module, inputs, y_net, groups=groups, split_seed=seed,
                label=f"PrivilegedTeacher: training on {len(y_net)} rows of {data}")
        self._check_learnt(inputs, y_net)
        return self

    def _build_module(self, inputs, priv_modules):
        common = dict(hidden_units=self.hidden_units, embedding_dim=self.embedding_dim,
                      dropout=self.dropout, weights=self.module_weights)
        sample = torch.from_numpy(inputs[REGULAR_INPUT][:2])
        encoder, width = prepare_encoder(
            self.module, self.n_features_in_, sample, name="module", **common
        )
        widths, samples = [width], [_measure(encoder, sample)]
        priv_encoders, priv_columns = [], []
        for (name, columns), priv_module in zip(self.priv_groups_.items(), priv_modules):
            # Modalities split the feature axis (the last one for sequences).
            sample_priv = torch.from_numpy(inputs[PRIVILEGED_INPUT][:2][..., columns])
            priv_encoder, priv_width = prepare_encoder(
                priv_module, len(columns), sample_priv, name=self._priv_module_name(name),
                **common,
            )
            priv_encoders.append(priv_encoder)
            widths.append(priv_width)
            samples.append(_measure(priv_encoder, sample_priv))
            # The whole of X_priv, in order, needs no column selection.
            whole = np.array_equal(columns, np.arange(self.n_priv_features_in_))
            priv_columns.append(None if whole else columns)
        fusion, fused_width = prepare_fusion(self.fusion, widths, samples,
                                             embedding_dim=self.embedding_dim,
                                             weights=self.module_weights)
        self.embedding_dim_ = fused_width
        return TeacherNetwork(encoder, priv_encoders, fusion, fused_width, self.n_outputs_,
                              head=self._task.make_head(fused_width, self.n_outputs_), priv_columns=priv_columns)

    def _priv_module_name(self, modality):
        """How errors name the privileged encoder of ``modality``."""
        return "priv_module" if self.priv_groups is None else f"priv_module[{modality!r}]"

    def _module_sources(self, module):
        return super()._module_sources(module) + [
            (f"priv_encoders.{index}", self._priv_module_name(name))
            for index, name in enumerate(self.priv_groups_)]

    def _inputs(self, X, X_priv, present=None, **targets):
        """Scaled float32 inputs in the SliceDict the net batches, with the
        loss ``targets`` (the training rows' weights). The values of missing
        modalities (NaN) become 0, and ``present`` (see
        :func:`._modalities.present_modalities`) tells the network which."""
        inputs = {REGULAR_INPUT: self._as_float32(self.x_scaler_, X, "X"), **targets}
        if X_priv is not None:
            inputs[PRIVILEGED_INPUT] = np.nan_to_num(
                self._as_float32(self.priv_scaler_, X_priv, "X_priv"), nan=0.0)
        if present is not None:
            inputs[PRESENT_INPUT] = present.astype(np.float32)
        return SliceDict(**inputs)

    def _predict_inputs(self, X, X_priv):
        check_is_fitted(self, "net_")
        X = self._validate_X(X, reset=False)
        X_priv = select_priv_columns(X_priv, getattr(self, "priv_feature_names_in_", None))
        if self.fitted_with_privileged_ and X_priv is None:
            raise ValueError(
                "X_priv is required: this teacher was fitted with privileged data "
                f"({self.n_priv_features_in_} features)."
            )
        if not self.fitted_with_privileged_ and X_priv is not None:
            raise ValueError(
                "X_priv must be None: this teacher was fitted without privileged data."
            )
        X_priv = self._validate_X_priv(X_priv, X.shape[0])
        if X_priv is not None:
            self._check_input_shape(X_priv, "X_priv", self.n_priv_features_in_,
                                    getattr(self, "n_priv_steps_in_", None))
        if (X_priv is not None and X_priv.ndim == 2
                and X_priv.shape[1] != self.n_priv_features_in_):
            raise ValueError(
                f"X_priv has {X_priv.shape[1]} features, but this teacher was fitted with "
                f"{self.n_priv_features_in_}."
            )
        present = None if X_priv is None else present_modalities(X_priv, self.priv_groups_)
        return self._inputs(X, X_priv, present)

    def transform(self, X, X_priv=None):
        """Fused embedding of each sample: what a student distils.

        Returns
        -------
        Z : ndarray of shape (n_samples, embedding_dim_), float32
        """
        return self._forward(self._predict_inputs(X, X_priv)).embedding

    def transform_modalities(self, X, X_priv=None):
        """Per-modality embeddings, as they reach the fusion block.

        A hallucinating :class:`PKDOTStudent` learns to predict the
        privileged ones from the regular modality.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        X_priv : array-like or DataFrame of shape (n_samples, n_priv_features) or None
            As in :meth:`transform`.

        Returns
        -------
        embeddings : list of ndarray, float32
            The regular modality's encoder output first, then one
            ``(n_samples, d_m)`` array per privileged modality, in the order
            of ``priv_groups_`` (only the regular one for a teacher fitted
            without X_priv). A row that lacks a modality (NaN in X_priv) has
            NaN for its embedding.
        """
        inputs = self._predict_inputs(X, X_priv)
        module, device = self.net_.module_, self.net_.device
        n_samples = len(inputs[REGULAR_INPUT])
        chunks = []
        was_training = module.training
        module.eval()
        try:
            with torch.no_grad():
                for start in range(0, n_samples, self.batch_size):
                    rows = slice(start, start + self.batch_size)
                    x = torch.as_tensor(inputs[REGULAR_INPUT][rows], device=device)
                    x_priv = None
                    if PRIVILEGED_INPUT in inputs:
                        x_priv = torch.as_tensor(inputs[PRIVILEGED_INPUT][rows], device=device)
                    chunks.append([e.cpu() for e in module.embeddings(x, x_priv)])
        finally:
            module.train(was_training)
        embeddings = [torch.cat(parts).numpy().astype(np.float32, copy=False)
                      for parts in zip(*chunks)]
        if PRESENT_INPUT in inputs:
            for embedding, present in zip(embeddings[1:], inputs[PRESENT_INPUT].T):
                embedding[present == 0] = np.nan
        return embeddings

    def fit_transform(self, X, y, X_priv=None, groups=None, sample_weight=None):
        """Fit, then return the fused embeddings of the training rows."""
        return self.fit(X, y, X_priv=X_priv, groups=groups,
                        sample_weight=sample_weight).transform(X, X_priv)

    def predict(self, X, X_priv=None):
        """Labels (classification) or values (regression)."""
        return self._task.decode(self, self._forward(self._predict_inputs(X, X_priv)).output)

    @available_if(lambda self: self._has_labels)
    def predict_proba(self, X, X_priv=None):
        """Class (or level) probabilities, columns ordered as ``classes_``."""
        return self._task.proba(self._forward(self._predict_inputs(X, X_priv)).output)

    def score(self, X, y, X_priv=None, sample_weight=None):
        """Accuracy (classification) or R^2 (regression)."""
        y_pred = self.predict(X, X_priv)
        y, sample_weight = self._score_inputs(y, sample_weight, len(y_pred))
        return self._score(y, y_pred, sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # transform returns float32 embeddings whatever the input dtype.
        tags.transformer_tags = TransformerTags(preserves_dtype=[])
        return tags

