"""What several test files share: estimator settings and independent reference computations.

Tests import it as ``from helpers import ...``: pytest's default import mode
puts this directory on ``sys.path`` (the fixtures stay in ``conftest.py``).
"""

import numpy as np
from scipy.special import logsumexp

# Small, fast settings: the tests check behaviour, the benchmarks check quality.
FAST = dict(max_epochs=5, batch_size=32, random_state=0)
# The safeguard may rightly reject distillation on these tiny fits; mechanics tests opt out.
DISTIL = dict(FAST, safeguard=None)
# Workflow tests (cross-validation, grid search, pipelines) need a fit, not a good one.
TINY = dict(max_epochs=2, batch_size=32, random_state=0)
# Bad-input cases: one epoch, and batch_size left free for the cases that set it.
ONE_EPOCH = dict(max_epochs=1, random_state=0)


def reference_entropic_ot(x, y, eps, n_iter=3000):
    """Float64 alternating log-domain Sinkhorn, dual value <a, f> + <b, g>."""
    cost = 0.5 * ((x[:, None, :] - y[None, :, :]) ** 2).sum(-1)
    n, m = cost.shape
    log_a, log_b = np.full(n, -np.log(n)), np.full(m, -np.log(m))
    f, g = np.zeros(n), np.zeros(m)
    for _ in range(n_iter):
        f = -eps * logsumexp(log_b[None, :] + (g[None, :] - cost) / eps, axis=1)
        g = -eps * logsumexp(log_a[:, None] + (f[:, None] - cost) / eps, axis=0)
    return f.mean() + g.mean()


def reference_divergence(x, y, eps):
    """Debiased Sinkhorn divergence from :func:`reference_entropic_ot`."""
    return (
        reference_entropic_ot(x, y, eps)
        - 0.5 * reference_entropic_ot(x, x, eps)
        - 0.5 * reference_entropic_ot(y, y, eps)
    )
