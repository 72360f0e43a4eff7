"""The built-in synthetic data by task: which generator, which ``task`` and which metric.

The one table the demo (``python -m pkdot_sk demo --task ...``) and the
benchmarks (``benchmarks/_common.py``) read.
"""

from collections import namedtuple

from sklearn.metrics import accuracy_score, r2_score

from ..metrics import concordance_correlation_coefficient
from ._samples_generator import (
    make_privileged_classification,
    make_privileged_ordinal,
    make_privileged_regression,
    make_privileged_valence_arousal,
)

#: ``make``: the generator; ``task``: the estimators' ``task``; ``metric``: the
#: metric's name; ``score``: ``score(y_true, y_pred)`` (for classification,
#: ordinal and regression the estimators' own ``score``).
SyntheticData = namedtuple("SyntheticData", "make task metric score")

SYNTHETIC_BY_TASK = {
    "classification": SyntheticData(make_privileged_classification, "classification",
                                    "accuracy", accuracy_score),
    "regression": SyntheticData(make_privileged_regression, "regression", "R^2", r2_score),
    # Pain-like ordered levels 0..4, scored by the accuracy of the predicted levels.
    "ordinal": SyntheticData(make_privileged_ordinal, "ordinal", "accuracy", accuracy_score),
    # Valence and arousal together, scored by the CCC averaged over both, as the
    # affect literature scores them.
    "valence-arousal": SyntheticData(make_privileged_valence_arousal, "regression", "CCC",
                                     concordance_correlation_coefficient),
}
