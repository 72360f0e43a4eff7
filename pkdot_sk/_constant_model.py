"""Notice a trained model that gives every row the same output.

A network whose embedding units are all inactive (ReLU at 0) on every
training row passes no gradient to its encoder and ends where it started: a
constant prediction, the head's bias. It happens from the first batch with a
very narrow embedding (``embedding_dim=1``: one unit, off for every row about
half the time) or features far below unit scale left unscaled. The fit
finishes without a non-finite value, so nothing else reports it.
"""

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

# Below this width a whole embedding can be inactive from the start.
_NARROW_EMBEDDING = 8


def warn_if_constant(estimator, outputs, embeddings, y_net, x_net, *, stacklevel=4):
    """A ConvergenceWarning naming the likely causes when ``outputs`` (the
    model's, on its training rows) are the same for every row although the
    targets ``y_net`` vary. ``embeddings`` and the scaled inputs ``x_net``
    of those rows word the diagnosis."""
    n_rows = len(outputs)
    targets = np.asarray(y_net).reshape(n_rows, -1)
    if n_rows < 2 or np.ptp(targets, axis=0).max() == 0:
        return  # one row, or constant targets: a constant model is the right one
    if np.ptp(outputs.reshape(n_rows, -1), axis=0).max() > 0:
        return
    state = ("0 (every unit inactive)" if not np.any(embeddings)
             else "the same")
    causes = []
    if embeddings.shape[1] < _NARROW_EMBEDDING:
        causes.append(f"embedding_dim={estimator.embedding_dim} is narrow: all of its ReLU "
                      "units can be inactive on every row from the start (use 16 or more; "
                      "the default is 64)")
    if not estimator.standardize:
        scale = float(np.std(x_net, axis=0).max())
        causes.append(f"X is left unscaled (standardize=False) and its largest feature "
                      f"standard deviation is {scale:.2g}: set standardize=True, or scale X")
    causes.append("a hidden layer too narrow (hidden_units), or a custom module whose "
                  "output does not depend on its input")
    warnings.warn(
        f"{type(estimator).__name__}: the trained model gives the same output to all "
        f"{n_rows} training rows although their targets vary: its "
        f"{embeddings.shape[1]}-unit embedding is {state} on every row, so it learnt "
        f"nothing from the features. Likely causes: {'; '.join(causes)}.",
        ConvergenceWarning,
        stacklevel=stacklevel,
    )
