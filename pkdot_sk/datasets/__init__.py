"""Built-in data: synthetic subjects with a privileged view.

See :mod:`pkdot_sk.datasets._samples_generator` for the generative model.
"""

from ._samples_generator import (
    __doc__ as _generative_model,
    make_privileged_classification,
    make_privileged_regression,
)

__doc__ = (__doc__ or "") + "\n" + _generative_model
__all__ = ["make_privileged_classification", "make_privileged_regression"]
