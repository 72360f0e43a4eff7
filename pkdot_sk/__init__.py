"""pkdot_sk: models that use extra modalities at training time only.

PKDOT (privileged knowledge distillation by optimal transport) as
scikit-learn estimators: a :class:`PrivilegedTeacher` trained on regular and
privileged data, and a :class:`PKDOTStudent` that needs only the regular
data at prediction time.
"""

from . import metrics
from ._base import PrivilegedDataWarning
from ._divergence import TrainingDivergedError
from ._export import load_student
from ._student import PKDOTStudent
from ._teacher import PrivilegedTeacher

__version__ = "0.1.0"
__all__ = ["PKDOTStudent", "PrivilegedTeacher", "PrivilegedDataWarning", "TrainingDivergedError",
           "load_student", "__version__"]
