"""Default torch modules and the protocol custom encoders follow.

Encoder protocol
----------------
An encoder is a ``torch.nn.Module`` whose ``forward`` takes a float tensor of
shape ``(batch, n_features)`` (the rows of X, or of X_priv), or
``(batch, n_steps, n_features)`` when that input is 3-D (sequences), and
returns a 2-D embedding of shape ``(batch, d)``. The estimators measure ``d``
with one forward pass, put a task head (and for the teacher a fusion block)
on top, and re-initialise the encoder's parameters at every ``fit``.

Default encoders: :class:`MLPEncoder` for 2-D inputs and
:class:`TemporalConvEncoder` for 3-D inputs (chosen over
:class:`GRUEncoder` by ``benchmarks/temporal_encoders.py``).

Networks built by the estimators return ``(output, embedding)``: the task
output (logits or standardised regression values) and the embedding that
distillation compares.
"""

import copy

import torch
from torch import nn

__all__ = [
    "MLPEncoder",
    "TemporalConvEncoder",
    "GRUEncoder",
    "default_encoder",
    "ConcatFusion",
    "StudentNetwork",
    "TeacherNetwork",
    "prepare_encoder",
]


class MLPEncoder(nn.Module):
    """Fully connected encoder: (Linear, ReLU, Dropout) per hidden layer.

    Parameters
    ----------
    in_features : int
        Width of the input rows.
    hidden_units : tuple of int, default=(128,)
        Widths of the hidden layers before the embedding layer.
    embedding_dim : int, default=64
        Width of the output embedding (after a ReLU).
    dropout : float, default=0.1
        Dropout probability after every hidden layer.
    """

    def __init__(self, in_features, hidden_units=(128,), embedding_dim=64, dropout=0.1):
        super().__init__()
        layers = []
        width = in_features
        for units in hidden_units:
            layers += [nn.Linear(width, units), nn.ReLU(), nn.Dropout(dropout)]
            width = units
        layers += [nn.Linear(width, embedding_dim), nn.ReLU()]
        self.layers = nn.Sequential(*layers)

    def forward(self, x):
        return self.layers(x)


class TemporalConvEncoder(nn.Module):
    """Sequence encoder: 1-D convolutions over time, global average pooling.

    Each entry of ``channels`` adds a Conv1d ("same" padding, dilation
    doubling from layer to layer), an optional normalisation, a ReLU and
    dropout; the outputs are then averaged over the steps and mapped to the
    embedding by Linear + ReLU.
    The receptive field is ``1 + (kernel_size - 1) * (2 ** len(channels) - 1)``
    steps; the average makes the encoder accept any number of steps.

    Parameters
    ----------
    in_features : int
        Features per step.
    channels : tuple of int, default=(128,)
        Output channels of the convolution layers.
    kernel_size : int, default=5
        Width of every convolution, in steps.
    embedding_dim : int, default=64
        Width of the output embedding (after a ReLU).
    dropout : float, default=0.1
        Dropout probability after every convolution.
    norm : {"layer", "batch"} or None, default="layer"
        Normalisation after every convolution: "layer" normalises each
        sample over its channels and steps (``GroupNorm(1, channels)``, the
        same in training and prediction, for any batch size), "batch" is
        ``BatchNorm1d``, None none.

    Notes
    -----
    ``forward`` takes ``(batch, n_steps, in_features)``.
    """

    def __init__(self, in_features, channels=(128,), kernel_size=5, embedding_dim=64,
                 dropout=0.1, norm="layer"):
        super().__init__()
        if norm not in ("layer", "batch", None):
            raise ValueError(f"norm must be 'layer', 'batch' or None; got {norm!r}.")
        layers = []
        width = in_features
        for index, units in enumerate(channels):
            layers.append(nn.Conv1d(width, units, kernel_size, padding="same",
                                    dilation=2**index))
            if norm == "layer":
                layers.append(nn.GroupNorm(1, units))
            elif norm == "batch":
                layers.append(nn.BatchNorm1d(units))
            layers += [nn.ReLU(), nn.Dropout(dropout)]
            width = units
        self.convolutions = nn.Sequential(*layers)
        self.project = nn.Sequential(nn.Linear(width, embedding_dim), nn.ReLU())

    def forward(self, x):
        features = self.convolutions(x.transpose(1, 2))  # (batch, channels, steps)
        return self.project(features.mean(dim=2))


class GRUEncoder(nn.Module):
    """Sequence encoder: stacked GRU layers, then Linear + ReLU.

    Parameters
    ----------
    in_features : int
        Features per step.
    hidden_units : tuple of int, default=(128,)
        Hidden size of each GRU layer (one layer per entry).
    embedding_dim : int, default=64
        Width of the output embedding (after a ReLU).
    dropout : float, default=0.1
        Dropout probability on the outputs of every GRU layer.
    pooling : {"last", "mean"}, default="last"
        Summary of the last layer's outputs: its final hidden state or the
        mean over the steps.

    Notes
    -----
    ``forward`` takes ``(batch, n_steps, in_features)``; any number of steps
    works.
    """

    def __init__(self, in_features, hidden_units=(128,), embedding_dim=64, dropout=0.1,
                 pooling="last"):
        super().__init__()
        if pooling not in ("last", "mean"):
            raise ValueError(f"pooling must be 'last' or 'mean'; got {pooling!r}.")
        self.pooling = pooling
        self.layers = nn.ModuleList()
        width = in_features
        for units in hidden_units:
            self.layers.append(nn.GRU(width, units, batch_first=True))
            width = units
        self.dropout = nn.Dropout(dropout)
        self.project = nn.Sequential(nn.Linear(width, embedding_dim), nn.ReLU())

    def forward(self, x):
        for layer in self.layers:
            x = self.dropout(layer(x)[0])  # (batch, steps, units)
        summary = x[:, -1] if self.pooling == "last" else x.mean(dim=1)
        return self.project(summary)


def default_encoder(n_features, ndim, *, hidden_units=(128,), embedding_dim=64, dropout=0.1):
    """The encoder the estimators build when ``module`` is None.

    :class:`MLPEncoder` for 2-D inputs (``ndim=2``) and, for sequences
    (``ndim=3``), a :class:`TemporalConvEncoder` (kernel of 5 steps, layer
    normalisation) whose convolution channels are ``hidden_units``. On
    BasicMotions it beat a :class:`GRUEncoder` of the same width
    at a fifth of the cost (``benchmarks/temporal_encoders.py``).
    """
    if ndim == 3:
        return TemporalConvEncoder(n_features, tuple(hidden_units), embedding_dim=embedding_dim,
                                   dropout=dropout)
    return MLPEncoder(n_features, tuple(hidden_units), embedding_dim, dropout)


class ConcatFusion(nn.Module):
    """Concatenate modality embeddings, then Linear + ReLU to the fused width."""

    def __init__(self, in_dims, embedding_dim=64):
        super().__init__()
        self.project = nn.Sequential(nn.Linear(sum(in_dims), embedding_dim), nn.ReLU())

    def forward(self, embeddings):
        return self.project(torch.cat(embeddings, dim=1))


class StudentNetwork(nn.Module):
    """Regular-modality encoder + linear head; returns ``(output, embedding)``.

    ``adapter_dim`` adds ``adapter``, a linear projection of the embedding to
    that width, trained with the student for point-to-point feature
    distillation and unused at prediction. ``head`` replaces the linear head
    (e.g. the ordinal task's cumulative-link head).
    """

    def __init__(self, encoder, embedding_dim, n_outputs, adapter_dim=None, head=None):
        super().__init__()
        self.encoder = encoder
        self.head = nn.Linear(embedding_dim, n_outputs) if head is None else head
        self.adapter = None if adapter_dim is None else nn.Linear(embedding_dim, adapter_dim)

    def forward(self, x):
        embedding = self.encoder(x)
        return self.head(embedding), embedding


class TeacherNetwork(nn.Module):
    """One encoder per modality, a fusion block and a linear head.

    ``forward(x, x_priv=None)`` returns ``(output, fused_embedding)``; the fused
    embedding is what a student distils. Without a privileged encoder (a
    teacher fitted without X_priv) only the regular embedding is fused.
    """

    def __init__(self, encoder, priv_encoder, fusion, embedding_dim, n_outputs, head=None):
        super().__init__()
        self.encoder = encoder
        self.priv_encoder = priv_encoder
        self.fusion = fusion
        self.head = nn.Linear(embedding_dim, n_outputs) if head is None else head

    def forward(self, x, x_priv=None):
        embeddings = [self.encoder(x)]
        if self.priv_encoder is not None:
            embeddings.append(self.priv_encoder(x_priv))
        fused = self.fusion(embeddings)
        return self.head(fused), fused


def _reset_parameters(module):
    for submodule in module.modules():
        if submodule is not module and hasattr(submodule, "reset_parameters"):
            submodule.reset_parameters()


def prepare_encoder(module, n_features, sample, *, hidden_units, embedding_dim, dropout, name):
    """Build or copy an encoder and measure its embedding width.

    Parameters
    ----------
    module : None or torch.nn.Module
        None builds :func:`default_encoder` (an :class:`MLPEncoder` for a 2-D
        ``sample``, a temporal encoder for a 3-D one); a module is
        deep-copied (the user's instance is never trained in place) and
        re-initialised so that every fit starts afresh from the estimator's
        random state.
    n_features : int
        Input width (features per step for sequences).
    sample : torch.Tensor of shape (n, n_features) or (n, n_steps, n_features)
        A few input rows for the shape check.
    hidden_units, embedding_dim, dropout
        Used by the default encoder only.
    name : str
        Parameter name used in error messages ("module", "priv_module").

    Returns
    -------
    encoder : torch.nn.Module
    width : int
        Embedding width ``d``.
    """
    if module is None:
        encoder = default_encoder(n_features, sample.ndim, hidden_units=hidden_units,
                                  embedding_dim=embedding_dim, dropout=dropout)
    elif isinstance(module, nn.Module):
        encoder = copy.deepcopy(module)
        _reset_parameters(encoder)
    else:
        raise ValueError(
            f"{name} must be None or a torch.nn.Module instance; got {type(module).__name__}."
        )
    was_training = encoder.training
    encoder.eval()
    with torch.no_grad():
        out = encoder(sample)
    encoder.train(was_training)
    if not isinstance(out, torch.Tensor) or out.ndim != 2 or out.shape[0] != sample.shape[0]:
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        in_shape = (f"(batch, {n_features})" if sample.ndim == 2
                    else f"(batch, {sample.shape[1]}, {n_features})")
        raise ValueError(
            f"{name} must map a {in_shape} float tensor to a 2-D (batch, d) "
            f"embedding; got {shape} for a batch of {sample.shape[0]}."
        )
    return encoder, int(out.shape[1])
