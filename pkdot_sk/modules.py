"""Default torch modules and the protocols custom modules follow.

Encoder protocol
----------------
An encoder is a ``torch.nn.Module`` whose ``forward`` takes a float tensor of
shape ``(batch, n_features)`` (the rows of X, or the columns of X_priv that
make up one privileged modality), or ``(batch, n_steps, n_features)`` when
that input is 3-D (sequences), and returns a 2-D embedding of shape
``(batch, d)``. The estimators measure ``d`` with one forward pass, put a
task head (and for the teacher a fusion block) on top, and train a copy of
the encoder at every ``fit``: with its weights as given (pretrained ones) by
default, or re-initialised (the estimators' ``module_weights``).

Default encoders: :class:`MLPEncoder` for 2-D inputs and
:class:`TemporalConvEncoder` for 3-D inputs (chosen over
:class:`GRUEncoder` by ``benchmarks/temporal_encoders.py``).

Fusion protocol
---------------
The teacher's fusion block is a ``torch.nn.Module`` whose ``forward`` takes
one argument, ``embeddings``: a Python list of M 2-D float tensors
``[(batch, d_0), (batch, d_1), ...]``. The first is the embedding of the
regular modality X; the others are those of the privileged modalities, in the
order of the teacher's ``priv_groups_`` (M is 1 for a teacher fitted without
X_priv). It returns the fused embedding, a 2-D tensor ``(batch, d)``; ``d``
is measured with one forward pass and the task head is put on it.

For ``fusion="concat"`` and ``fusion="attention"`` the teacher builds
:class:`ConcatFusion` or :class:`AttentionFusion` itself, sized to the
encoders' widths. A module given by the user is deep-copied (the instance
passed in is never trained), its weights kept or re-initialised as the
teacher's ``module_weights`` says; it must already be built for the widths it will receive
(``embedding_dim`` of the default encoders), or use lazy layers such as
``torch.nn.LazyLinear``, which the measuring forward pass materialises.

Networks built by the estimators return ``(output, embedding)``: the task
output (logits or standardised regression values) and the embedding that
distillation compares.
"""

import copy
import math

import torch
from torch import nn

__all__ = [
    "MLPEncoder",
    "TemporalConvEncoder",
    "GRUEncoder",
    "default_encoder",
    "ConcatFusion",
    "AttentionFusion",
    "StudentNetwork",
    "HallucinatingStudentNetwork",
    "TeacherNetwork",
    "prepare_encoder",
    "prepare_fusion",
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
    """Concatenate modality embeddings, then Linear + ReLU to the fused width.

    Parameters
    ----------
    in_dims : sequence of int
        Widths of the modality embeddings, regular modality first.
    embedding_dim : int, default=64
        Width of the fused embedding.
    """

    def __init__(self, in_dims, embedding_dim=64):
        super().__init__()
        self.project = nn.Sequential(nn.Linear(sum(in_dims), embedding_dim), nn.ReLU())

    def forward(self, embeddings):
        return self.project(torch.cat(embeddings, dim=1))


class AttentionFusion(nn.Module):
    """Cross-attention between modalities, then a gated sum.

    1. Each modality embedding is projected to ``embedding_dim`` by its own
       Linear layer: the M modalities become a sequence of M tokens.
    2. Multi-head attention over that sequence, in which each token may
       attend to the *other* modalities only (the diagonal is masked), so
       every modality is refined by what the others carry. A residual
       connection and a LayerNorm keep the token's own content, which the
       mask hides from its query.
    3. A learned gate, ``sigmoid(Linear(concatenation of the M attended
       tokens))``, gives one weight in (0, 1) per modality and sample; the
       fused vector is the gate-weighted sum of the attended tokens.
    4. Linear + ReLU to ``embedding_dim``.

    With a single modality (a teacher fitted without privileged data) there
    is no other token to attend to: the mask is dropped and the token
    attends to itself, a learned linear map of it. A fully masked row would
    give NaN.

    Parameters
    ----------
    in_dims : sequence of int
        Widths of the M modality embeddings, regular modality first.
    embedding_dim : int, default=64
        Width of the tokens and of the fused embedding; a multiple of
        ``n_heads``.
    n_heads : int, default=4
        Attention heads.
    """

    def __init__(self, in_dims, embedding_dim=64, n_heads=4):
        super().__init__()
        in_dims = [int(d) for d in in_dims]
        if not in_dims:
            raise ValueError("AttentionFusion needs at least one modality; got in_dims=[].")
        if embedding_dim % n_heads:
            raise ValueError(
                f"AttentionFusion: embedding_dim={embedding_dim} must be a multiple of "
                f"n_heads={n_heads}."
            )
        self.n_modalities = len(in_dims)
        self.project = nn.ModuleList(nn.Linear(d, embedding_dim) for d in in_dims)
        self.attention = nn.MultiheadAttention(embedding_dim, n_heads, batch_first=True)
        self.norm = nn.LayerNorm(embedding_dim)
        self.gate = nn.Linear(self.n_modalities * embedding_dim, self.n_modalities)
        self.output = nn.Sequential(nn.Linear(embedding_dim, embedding_dim), nn.ReLU())

    def forward(self, embeddings):
        if len(embeddings) != self.n_modalities:
            raise ValueError(
                f"AttentionFusion was built for {self.n_modalities} modalities; got "
                f"{len(embeddings)} embeddings."
            )
        # (batch, M, embedding_dim): one token per modality.
        tokens = torch.stack([proj(e) for proj, e in zip(self.project, embeddings)], dim=1)
        mask = None
        if self.n_modalities > 1:
            # True = may not attend: no modality attends to itself.
            mask = torch.eye(self.n_modalities, dtype=torch.bool, device=tokens.device)
        attended, _ = self.attention(tokens, tokens, tokens, attn_mask=mask,
                                     need_weights=False)
        tokens = self.norm(tokens + attended)
        gates = torch.sigmoid(self.gate(tokens.flatten(start_dim=1)))  # (batch, M)
        fused = (gates.unsqueeze(-1) * tokens).sum(dim=1)
        return self.output(fused)


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


def transformation_net(in_features, out_features):
    """Default hallucination net: Linear, ReLU, Linear (hidden width ``in_features``)."""
    return nn.Sequential(nn.Linear(in_features, in_features), nn.ReLU(),
                         nn.Linear(in_features, out_features))


class HallucinatingStudentNetwork(nn.Module):
    """Student that hallucinates the privileged embeddings and fuses them.

    ``forward(x)`` computes the regular embedding ``z = encoder(x)``, one
    hallucinated embedding per privileged modality ``h_m =
    transformations[m](z)``, the fused embedding ``fusion([z, h_1, ...])``
    and the task output on it. It returns ``(output, fused_embedding,
    hallucinated)``, ``hallucinated`` being the ``h_m`` concatenated along
    the columns (widths in ``hallucination_dims``), which the net matches to
    the teacher's privileged embeddings.

    Parameters
    ----------
    encoder : torch.nn.Module
        Encoder of the regular modality.
    transformations : sequence of torch.nn.Module
        One transformation net per privileged modality, each mapping the
        regular embedding to that modality's embedding width.
    hallucination_dims : sequence of int
        Output widths of ``transformations``.
    fusion : torch.nn.Module
        Fusion block (fusion protocol above), regular embedding first.
    embedding_dim : int
        Width of the fused embedding (input of the default head).
    n_outputs : int
        Outputs of the default linear head.
    adapter_dim : int or None, default=None
        As in :class:`StudentNetwork`, on the fused embedding.
    head : torch.nn.Module or None, default=None
        Replaces the linear head.
    """

    def __init__(self, encoder, transformations, hallucination_dims, fusion, embedding_dim,
                 n_outputs, adapter_dim=None, head=None):
        super().__init__()
        self.encoder = encoder
        self.transformations = nn.ModuleList(transformations)
        self.hallucination_dims = [int(d) for d in hallucination_dims]
        if len(self.hallucination_dims) != len(self.transformations):
            raise ValueError(
                f"hallucination_dims has {len(self.hallucination_dims)} entries for "
                f"{len(self.transformations)} transformation nets."
            )
        self.fusion = fusion
        self.head = nn.Linear(embedding_dim, n_outputs) if head is None else head
        self.adapter = None if adapter_dim is None else nn.Linear(embedding_dim, adapter_dim)

    def forward(self, x):
        regular = self.encoder(x)
        hallucinated = [transformation(regular) for transformation in self.transformations]
        fused = self.fusion([regular] + hallucinated)
        return self.head(fused), fused, torch.cat(hallucinated, dim=1)


class TeacherNetwork(nn.Module):
    """One encoder per modality, a fusion block and a linear head.

    ``forward(x, x_priv=None, priv_present=None)`` returns ``(output,
    fused_embedding)``; the fused embedding is what a student distils. Each
    privileged encoder sees its own columns of ``x_priv``; ``priv_present``
    (batch, n_privileged), when given, zeroes the embeddings of the
    modalities a row lacks. Without privileged encoders (a teacher fitted
    without X_priv) only the regular embedding is fused.

    Parameters
    ----------
    encoder : torch.nn.Module
        Encoder of the regular modality.
    priv_encoders : None, torch.nn.Module or sequence of torch.nn.Module
        Encoders of the privileged modalities (a single module: one modality
        that sees every column of ``x_priv``).
    fusion : torch.nn.Module
        Fusion block (see the fusion protocol above).
    embedding_dim : int
        Width of the fused embedding (input of the default head).
    n_outputs : int
        Outputs of the default linear head.
    head : torch.nn.Module or None, default=None
        Replaces the linear head.
    priv_columns : sequence of (None or sequence of int), default=None
        Columns of ``x_priv`` each privileged encoder receives, aligned with
        ``priv_encoders``; None (whole, or per entry) passes every column.
    """

    def __init__(self, encoder, priv_encoders, fusion, embedding_dim, n_outputs, head=None,
                 priv_columns=None):
        super().__init__()
        self.encoder = encoder
        if priv_encoders is None:
            priv_encoders = []
        elif isinstance(priv_encoders, nn.Module) and not isinstance(priv_encoders,
                                                                     nn.ModuleList):
            priv_encoders = [priv_encoders]
        self.priv_encoders = nn.ModuleList(priv_encoders)
        if priv_columns is None:
            priv_columns = [None] * len(self.priv_encoders)
        if len(priv_columns) != len(self.priv_encoders):
            raise ValueError(
                f"priv_columns has {len(priv_columns)} entries for "
                f"{len(self.priv_encoders)} privileged encoders."
            )
        # Index buffers follow the module across devices and pickling.
        for i, columns in enumerate(priv_columns):
            buffer = None if columns is None else torch.as_tensor(columns, dtype=torch.long)
            self.register_buffer(f"priv_columns_{i}", buffer)
        self.fusion = fusion
        self.head = nn.Linear(embedding_dim, n_outputs) if head is None else head

    def embeddings(self, x, x_priv=None, priv_present=None):
        """The list of modality embeddings the fusion block receives.

        ``priv_present`` (batch, n_privileged) marks with 0 the privileged
        modalities a row lacks: their embeddings are zero for that row, so
        the fusion sees nothing of them and their encoders learn nothing
        from it."""
        embeddings = [self.encoder(x)]
        for i, priv_encoder in enumerate(self.priv_encoders):
            columns = getattr(self, f"priv_columns_{i}")
            # The feature axis is the last one (also for sequences).
            inputs = x_priv if columns is None else x_priv.index_select(-1, columns)
            embedding = priv_encoder(inputs)
            if priv_present is not None:
                embedding = embedding * priv_present[:, i:i + 1].to(embedding.dtype)
            embeddings.append(embedding)
        return embeddings

    def forward(self, x, x_priv=None, priv_present=None):
        fused = self.fusion(self.embeddings(x, x_priv, priv_present))
        return self.head(fused), fused


MODULE_WEIGHTS = ("keep", "reset")


def _copy_for_fit(module, weights):
    """A deep copy of ``module`` (the user's instance is never trained): its
    weights as they are (``weights="keep"``: e.g. pretrained) or
    re-initialised (``"reset"``). Frozen parameters (``requires_grad=False``)
    stay frozen either way."""
    module = copy.deepcopy(module)
    if weights == "keep":
        return module
    submodules = [sub for sub in module.modules() if sub is not module]
    for submodule in submodules:
        if hasattr(submodule, "reset_parameters"):
            submodule.reset_parameters()
    # MultiheadAttention keeps its input projections out of reset_parameters;
    # after its out_proj (reset above) as in its constructor.
    for submodule in submodules:
        if isinstance(submodule, nn.MultiheadAttention):
            submodule._reset_parameters()
    return module


def _measure(module, *inputs):
    """Output of ``module(*inputs)`` in eval mode, without gradients."""
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            return module(*inputs)
    finally:
        module.train(was_training)


def prepare_encoder(module, n_features, sample, *, hidden_units, embedding_dim, dropout, name,
                    weights="reset"):
    """Build or copy an encoder and measure its embedding width.

    Parameters
    ----------
    module : None or torch.nn.Module
        None builds :func:`default_encoder` (an :class:`MLPEncoder` for a 2-D
        ``sample``, a temporal encoder for a 3-D one); a module is
        deep-copied (the user's instance is never trained in place).
    n_features : int
        Input width (features per step for sequences).
    sample : torch.Tensor of shape (n, n_features) or (n, n_steps, n_features)
        A few input rows for the shape check.
    hidden_units, embedding_dim, dropout
        Used by the default encoder only.
    name : str
        Parameter name used in error messages ("module", "priv_module").
    weights : {"keep", "reset"}, default="reset"
        A module's copy keeps its weights (pretrained ones), or is
        re-initialised so that every fit starts afresh from the estimator's
        random state.

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
        encoder = _copy_for_fit(module, weights)
    else:
        raise ValueError(
            f"{name} must be None or a torch.nn.Module instance; got {type(module).__name__}."
        )
    try:
        out = _measure(encoder, sample)
    except Exception as exc:
        raise ValueError(
            f"{name} failed on a (batch, {n_features}) float tensor of its input columns: "
            f"{exc}"
        ) from exc
    if not isinstance(out, torch.Tensor) or out.ndim != 2 or out.shape[0] != sample.shape[0]:
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        in_shape = (f"(batch, {n_features})" if sample.ndim == 2
                    else f"(batch, {sample.shape[1]}, {n_features})")
        raise ValueError(
            f"{name} must map a {in_shape} float tensor to a 2-D (batch, d) "
            f"embedding; got {shape} for a batch of {sample.shape[0]}."
        )
    return encoder, int(out.shape[1])


FUSIONS = ("concat", "attention")


def prepare_fusion(fusion, in_dims, sample_embeddings, *, embedding_dim, weights="reset"):
    """Build or copy a fusion block and measure its fused width.

    Parameters
    ----------
    fusion : {"concat", "attention"} or torch.nn.Module
        "concat" builds a :class:`ConcatFusion`, "attention" an
        :class:`AttentionFusion` (4 heads, or the largest of 2 and 1 that
        divides ``embedding_dim``). A module is deep-copied, its weights
        kept or re-initialised as ``weights`` says.
    in_dims : list of int
        Widths of the modality embeddings, regular modality first.
    sample_embeddings : list of torch.Tensor
        The embeddings of a few rows, one ``(n, d_m)`` tensor per modality,
        for the shape check.
    embedding_dim : int
        Fused width of the default blocks.
    weights : {"keep", "reset"}, default="reset"
        As in :func:`prepare_encoder`.

    Returns
    -------
    block : torch.nn.Module
    width : int
        Fused embedding width ``d``.
    """
    if isinstance(fusion, str) and fusion == "concat":
        block = ConcatFusion(in_dims, embedding_dim)
    elif isinstance(fusion, str) and fusion == "attention":
        block = AttentionFusion(in_dims, embedding_dim, n_heads=math.gcd(4, embedding_dim))
    elif isinstance(fusion, nn.Module):
        block = _copy_for_fit(fusion, weights)
    else:
        raise ValueError(
            f"fusion must be one of {FUSIONS} or a torch.nn.Module instance; got {fusion!r}."
        )
    n = sample_embeddings[0].shape[0]
    widths = ", ".join(f"(batch, {d})" for d in in_dims)
    try:
        out = _measure(block, list(sample_embeddings))
    except Exception as exc:
        raise ValueError(
            f"fusion failed on a list of {len(in_dims)} embeddings [{widths}] (regular "
            f"modality first, then the privileged modalities): {exc}"
        ) from exc
    if not isinstance(out, torch.Tensor) or out.ndim != 2 or out.shape[0] != n:
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ValueError(
            f"fusion must map a list of {len(in_dims)} embeddings [{widths}] to one 2-D "
            f"(batch, d) tensor; got {shape} for a batch of {n}."
        )
    return block, int(out.shape[1])
