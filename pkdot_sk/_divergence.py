"""Stop a training that diverges, with an error that says where and why.

A learning rate far too large, inputs on extreme scales or a PKDOT term whose
solver is pushed past float32 make the training loss non-finite (NaN or inf)
or make it explode; left alone, the fit ends with NaN weights and a model
that predicts one constant class, without a word. :class:`DivergenceCheck`
is the skorch callback both estimators add to every training (the safeguard's
inner ones included).
"""

import math

import torch
from skorch.callbacks import Callback

# A finite training loss this many times the first batch's (at least 1) is
# treated as divergence. Adam's steps are about ``lr`` whatever the gradient,
# so an ``lr`` of 1e6 gives losses of 1e19-1e28 from the first epoch; valid
# fits start near 1 (cross-entropy ~log(K), MSE or 1 - CCC on standardised
# targets, a distillation term sized to the task loss) and decrease, never
# within orders of magnitude of this.
EXPLOSION_FACTOR = 1e10


class TrainingDivergedError(ValueError):
    """A fit stopped because its training diverged.

    A ``ValueError`` (as scikit-learn's ``SGDClassifier`` raises on a
    floating-point overflow during training): the cause is a parameter or
    the data, not the library.
    """


class DivergenceCheck(Callback):
    """Raise :class:`TrainingDivergedError` when a training diverges.

    Checked after every batch: the batch's loss is finite and below
    ``EXPLOSION_FACTOR`` times the first training batch's (at least 1).
    Checked after every epoch: the module's parameters and floating buffers
    are finite (a step can turn them to NaN after a last finite loss).

    Parameters
    ----------
    owner : str
        Names the estimator (and the training) in the error.
    causes : sequence of str
        Likely causes given in the error, most likely first.
    distillation_causes : sequence of str
        Likely causes that concern the distillation term: listed first when
        that term is what became non-finite, last otherwise.
    sources : sequence of (str, str)
        ``(submodule path, argument)`` of the encoders the user may have
        given (``("encoder", "module")``): on the first batch, the first of
        them whose output is non-finite is named in the error, as the cause.
    """

    def __init__(self, owner="the estimator", causes=(), distillation_causes=(), sources=()):
        self.owner = owner
        self.causes = causes
        self.distillation_causes = distillation_causes
        self.sources = sources

    def on_train_begin(self, net, **kwargs):
        self.first_loss_ = None
        self.non_finite_source_ = None
        # Watched on the first batch only: its forward runs on finite,
        # validated inputs and initial weights, so a non-finite output there
        # is the module's own doing.
        self._hooks = [net.module_.get_submodule(path).register_forward_hook(self._watch(name))
                       for path, name in self.sources]

    def _watch(self, name):
        def hook(module, inputs, output):
            outputs = output if isinstance(output, (tuple, list)) else (output,)
            if self.non_finite_source_ is None and any(
                    isinstance(out, torch.Tensor) and not bool(torch.isfinite(out).all())
                    for out in outputs):
                self.non_finite_source_ = f"{name} ({type(module).__name__})"
        return hook

    def _remove_hooks(self):
        for hook in getattr(self, "_hooks", ()):
            hook.remove()
        self._hooks = []

    def on_train_end(self, net, **kwargs):
        self._remove_hooks()

    def on_batch_end(self, net, batch=None, training=None, loss=None, **kwargs):
        self._remove_hooks()
        # skorch has already read the loss (.item()) to record it: no extra sync.
        batch_record = net.history[-1]["batches"][-1]
        value = batch_record.get("train_loss" if training else "valid_loss")
        if value is None:
            return
        if not math.isfinite(value):
            term = batch_record.get("distillation_loss")
            detail = f"the {'training' if training else 'validation'} loss is {value}"
            in_term = term is not None and not math.isfinite(term)
            if in_term:
                detail += f" (its distillation term: {term})"
            source = self.non_finite_source_ if self.first_loss_ is None else None
            if source is not None:
                detail += (f"; on this first batch, before any update, {source} returned "
                           "non-finite values (NaN or inf) from finite inputs")
            self._fail(net, detail, distillation_first=in_term, source=source)
        if not training:
            return
        if self.first_loss_ is None:
            self.first_loss_ = value
        limit = EXPLOSION_FACTOR * max(abs(self.first_loss_), 1.0)
        if value > limit:
            self._fail(net, f"the training loss reached {value:.3g}, more than "
                            f"{EXPLOSION_FACTOR:.0e} times the first batch's "
                            f"({self.first_loss_:.3g})")

    def on_epoch_end(self, net, **kwargs):
        tensors = list(net.module_.parameters()) + [
            b for b in net.module_.buffers() if b.is_floating_point()]
        bad = [t for t in tensors if not bool(torch.isfinite(t).all())]
        if bad:
            self._fail(net, f"{len(bad)} of the network's {len(tensors)} parameter and "
                            "buffer tensors became non-finite (NaN or inf)", in_batch=False)

    def _fail(self, net, detail, in_batch=True, distillation_first=False, source=None):
        self._remove_hooks()
        # The net opens the epoch's history row before its first batch.
        where = f"epoch {len(net.history)}"
        if in_batch:
            where += f", batch {len(net.history[-1]['batches'])}"
        causes = list(self.causes)
        causes = (list(self.distillation_causes) + causes if distillation_first
                  else causes + list(self.distillation_causes))
        if source is not None:
            # Before any update neither lr nor the data's scale is to blame.
            causes = [f"{source} computes NaN or inf (e.g. a log or a division by zero in "
                      "its forward, or non-finite initial weights): fix it"]
        raise TrainingDivergedError(
            f"{self.owner}: training diverged at {where}: {detail}. The fit was stopped; "
            "the estimator keeps the state it had before it. Likely causes: "
            f"{'; '.join(causes) or 'the learning rate lr is too large'}."
        )
