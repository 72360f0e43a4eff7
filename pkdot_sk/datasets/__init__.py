"""Built-in data: synthetic subjects and small real data sets, each with a privileged view.

See :mod:`pkdot_sk.datasets._samples_generator` for the generative model of
the synthetic data and :mod:`pkdot_sk.datasets._real` for the real data sets.
"""

from ._real import load_basic_motions, load_pooled_digits
from ._samples_generator import (
    __doc__ as _generative_model,
    make_privileged_classification,
    make_privileged_ordinal,
    make_privileged_regression,
    make_privileged_valence_arousal,
)

__doc__ = (__doc__ or "") + "\n" + _generative_model
__all__ = [
    "make_privileged_classification",
    "make_privileged_regression",
    "make_privileged_ordinal",
    "make_privileged_valence_arousal",
    "load_pooled_digits",
    "load_basic_motions",
]
