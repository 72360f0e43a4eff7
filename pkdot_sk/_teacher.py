"""PrivilegedTeacher: a multimodal network trained on X and X_priv."""

import warnings

import torch
from skorch.helper import SliceDict
from sklearn.utils._tags import TransformerTags
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted
from torch import nn

from ._base import PrivilegedDataWarning, _PrivilegedEstimator
from .modules import ConcatFusion, TeacherNetwork, prepare_encoder


class PrivilegedTeacher(_PrivilegedEstimator):
    """Multimodal teacher: regular and privileged encoders, fusion, task head.

    The teacher sees both modalities at training time. Its fused embedding
    (:meth:`transform`) is what :class:`PKDOTStudent` distils into a model
    that needs only the regular modality.

    Parameters
    ----------
    task : {"classification", "regression", "ordinal"}, default="classification"
        Classification (binary or multiclass, any label type, cross-entropy),
        regression (single or multi-output, mean squared error on
        standardised targets) or ordinal classification: numeric labels
        whose sorted order is the order of the levels (pain 0..4). Ordinal
        models use a rank-consistent cumulative-link head (CORAL, Cao et al.
        2020): K - 1 binary "above level j?" logits sharing one weight
        vector, trained by binary cross-entropy. ``predict`` returns the
        level all thresholds below it vote for (the median of the predicted
        distribution), ``predict_proba`` the level probabilities, ``score``
        accuracy; use ``scoring="neg_mean_absolute_error"`` for MAE.
    module : torch.nn.Module or None, default=None
        Encoder of the regular modality X (see :mod:`pkdot_sk.modules` for
        the protocol). None builds an :class:`~pkdot_sk.modules.MLPEncoder`
        for 2-D X and a :class:`~pkdot_sk.modules.TemporalConvEncoder` for
        3-D X (sequences). The instance is copied and re-initialised at
        every fit.
    priv_module : torch.nn.Module or None, default=None
        Encoder of the privileged modality X_priv, same protocol.
    hidden_units : tuple of int, default=(128,)
        Hidden layers of the default encoders (the convolution channels of
        the temporal one).
    embedding_dim : int, default=64
        Width of the default encoders' embeddings and of the fused embedding.
    dropout : float, default=0.1
        Dropout of the default encoders.
    max_epochs : int, default=100
        Training epochs.
    batch_size : int, default=128
        Mini-batch size (training and inference).
    lr : float, default=1e-3
        Adam learning rate.
    weight_decay : float, default=0.0
        Adam weight decay.
    validation_fraction : float or None, default=None
        None trains on every row. A fraction holds out that share of the rows
        (stratified for classification) and records ``valid_loss`` in
        ``net_.history``, e.g. for a skorch ``EarlyStopping`` callback.
    callbacks : list of skorch callbacks or None, default=None
        Extra skorch callbacks (progress, early stopping, checkpoints); each
        fit uses fresh copies.
    standardize : bool, default=True
        Standardise X, X_priv (and regression targets) with training-row
        statistics inside the estimator; for sequences, per feature over
        the samples and steps.
    device : str or torch.device, default="cpu"
        Torch device for training and inference.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling and dropout. An int gives
        identical results on CPU.
    verbose : int, default=0
        skorch's per-epoch progress table when > 0.

    Attributes
    ----------
    net_ : pkdot_sk._net.PrivilegedNet
        The fitted skorch net (``net_.history`` holds the losses).
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
    fitted_with_privileged_ : bool
        False when ``fit`` got ``X_priv=None`` and trained on X alone.
    embedding_dim_ : int
        Width of the fused embedding returned by :meth:`transform`.

    See Also
    --------
    PKDOTStudent : distils this teacher into a regular-modality model.

    References
    ----------
    .. [1] Aslam, M. H., Pedersoli, M., Koerich, A. L., and Granger, E.
       "Distilling Privileged Multimodal Information for Expression
       Recognition using Optimal Transport." IEEE FG 2024.
    """

    # Routed with metadata routing on, so cross_val_score(teacher, ...,
    # params={"X_priv": ...}) scores each test fold with its own X_priv.
    __metadata_request__predict = {"X_priv": True}
    __metadata_request__predict_proba = {"X_priv": True}
    __metadata_request__transform = {"X_priv": True}
    __metadata_request__score = {"X_priv": True}

    _parameter_constraints = {
        **_PrivilegedEstimator._parameter_constraints,
        "priv_module": [None, nn.Module],
    }

    def __init__(
        self,
        task="classification",
        *,
        module=None,
        priv_module=None,
        hidden_units=(128,),
        embedding_dim=64,
        dropout=0.1,
        max_epochs=100,
        batch_size=128,
        lr=1e-3,
        weight_decay=0.0,
        validation_fraction=None,
        callbacks=None,
        standardize=True,
        device="cpu",
        random_state=None,
        verbose=0,
    ):
        self.task = task
        self.module = module
        self.priv_module = priv_module
        self.hidden_units = hidden_units
        self.embedding_dim = embedding_dim
        self.dropout = dropout
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.validation_fraction = validation_fraction
        self.callbacks = callbacks
        self.standardize = standardize
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def fit(self, X, y, X_priv=None):
        """Train on the regular and privileged modalities.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or \
(n_samples, n_steps, n_features)
            Regular modality: one row of features, or one sequence, per
            sample. Prediction needs the same shape per sample.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets (several outputs for regression only).
        X_priv : array-like of shape (n_samples, n_priv_features), \
(n_samples, n_priv_steps, n_priv_features) or None
            Privileged modality, one row or sequence per sample of X; 2-D or
            3-D whatever X is, and its number of steps may differ from X's.
            None trains a regular-only network (with a
            :class:`PrivilegedDataWarning`) and sets
            ``fitted_with_privileged_ = False``.

        Returns
        -------
        self : PrivilegedTeacher
        """
        self._validate_params()
        X, y = self._validate_X_y(X, y)
        X_priv = self._validate_X_priv(X_priv, X.shape[0])
        if X_priv is None:
            warnings.warn(
                "PrivilegedTeacher.fit got X_priv=None: training on X alone, a teacher "
                "without privileged information (fitted_with_privileged_=False).",
                PrivilegedDataWarning,
                stacklevel=2,
            )
        y_net = self._encode_targets(y)
        self.fitted_with_privileged_ = X_priv is not None
        self.n_priv_features_in_ = 0 if X_priv is None else X_priv.shape[-1]
        self.n_priv_steps_in_ = (X_priv.shape[1] if X_priv is not None and X_priv.ndim == 3
                                 else None)
        self.embedding_dim_ = self.embedding_dim
        self.x_scaler_ = self._fit_scaler(X)
        self.priv_scaler_ = None if X_priv is None else self._fit_scaler(X_priv)
        inputs = self._inputs(X, X_priv)

        with self._seeded_torch(self._seed()):
            module = self._build_module(inputs)
            self.net_ = self._fit_network(module, inputs, y_net)
        return self

    def _build_module(self, inputs):
        common = dict(
            hidden_units=self.hidden_units, embedding_dim=self.embedding_dim, dropout=self.dropout
        )
        sample = torch.from_numpy(inputs["x"][:2])
        encoder, width = prepare_encoder(
            self.module, self.n_features_in_, sample, name="module", **common
        )
        widths = [width]
        priv_encoder = None
        if self.fitted_with_privileged_:
            sample_priv = torch.from_numpy(inputs["x_priv"][:2])
            priv_encoder, priv_width = prepare_encoder(
                self.priv_module, self.n_priv_features_in_, sample_priv,
                name="priv_module", **common,
            )
            widths.append(priv_width)
        fusion = ConcatFusion(widths, self.embedding_dim)
        return TeacherNetwork(encoder, priv_encoder, fusion, self.embedding_dim, self.n_outputs_,
                              head=self._make_head(self.embedding_dim))

    def _inputs(self, X, X_priv):
        """Scaled float32 inputs in the SliceDict the net batches."""
        inputs = {"x": self._as_float32(self.x_scaler_, X)}
        if X_priv is not None:
            inputs["x_priv"] = self._as_float32(self.priv_scaler_, X_priv)
        return SliceDict(**inputs)

    def _predict_inputs(self, X, X_priv):
        check_is_fitted(self, "net_")
        X = self._validate_X(X, reset=False)
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
        return self._inputs(X, X_priv)

    def transform(self, X, X_priv=None):
        """Fused embedding of each sample: what a student distils.

        Returns
        -------
        Z : ndarray of shape (n_samples, embedding_dim_), float32
        """
        return self._forward(self._predict_inputs(X, X_priv))[1]

    def fit_transform(self, X, y, X_priv=None):
        """Fit, then return the fused embeddings of the training rows."""
        return self.fit(X, y, X_priv=X_priv).transform(X, X_priv)

    def predict(self, X, X_priv=None):
        """Labels (classification) or values (regression)."""
        return self._decode_outputs(self._forward(self._predict_inputs(X, X_priv))[0])

    @available_if(lambda self: self.task in ("classification", "ordinal"))
    def predict_proba(self, X, X_priv=None):
        """Class (or level) probabilities, columns ordered as ``classes_``."""
        return self._proba(self._forward(self._predict_inputs(X, X_priv))[0])

    def score(self, X, y, X_priv=None, sample_weight=None):
        """Accuracy (classification) or R^2 (regression)."""
        return self._score(y, self.predict(X, X_priv), sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # transform returns float32 embeddings whatever the input dtype.
        tags.transformer_tags = TransformerTags(preserves_dtype=[])
        return tags
