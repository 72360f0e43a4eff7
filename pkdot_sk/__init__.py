"""pkdot_sk: models that use extra modalities at training time only.

PKDOT (privileged knowledge distillation by optimal transport) as
scikit-learn estimators: a :class:`PrivilegedTeacher` trained on regular and
privileged data, and a :class:`PKDOTStudent` that needs only the regular
data at prediction time.
"""

import importlib

__version__ = "0.1.0"
# Public names and the modules that define them, imported on first use: the
# command line answers --help without loading torch (about 2 s).
_LAZY = {
    "PKDOTStudent": "._student",
    "PrivilegedTeacher": "._teacher",
    "PrivilegedDataWarning": "._base",
    "TrainingDivergedError": "._divergence",
    "load_student": "._export",
}
_SUBMODULES = ("datasets", "losses", "metrics", "modules", "plotting")
__all__ = ["PKDOTStudent", "PrivilegedTeacher", "PrivilegedDataWarning", "TrainingDivergedError",
           "load_student", "__version__"]


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f".{name}", __name__)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY) | set(_SUBMODULES))
