"""A fitted student as a deployable artefact: its weights and a JSON
description of what prediction needs, without the teacher, any privileged
statistic or pickled code.

``PKDOTStudent.export(path)`` writes a folder with two files:

* ``weights.pt``: the student network's state dict (tensors only; read back
  with ``torch.load(..., weights_only=True)``, which refuses code);
* ``student.json``: the format version, the library and torch versions, the
  student's parameters that are plain values, its fitted attributes
  (classes, input and target scaling, shapes, feature names) and the
  architecture (default encoder or a custom one, hallucination widths,
  fusion kind).

:func:`load_student` rebuilds a :class:`~pkdot_sk.PKDOTStudent` that predicts
exactly as the exported one (the same code path on the same weights); a
custom encoder or fusion module is passed by the user at load time, never
unpickled.
"""

import json
from pathlib import Path

import numpy as np
import torch
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

from ._net import BATCH_LOADING, PrivilegedNet
from ._tasks import TASKS
from .modules import (HallucinatingStudentNetwork, StudentNetwork, prepare_encoder,
                      prepare_fusion, transformation_net)

FORMAT = 1
WEIGHTS_FILE = "weights.pt"
SPEC_FILE = "student.json"
# Parameters that hold objects: not part of the artefact (the teacher and the
# training control are not needed to predict; a custom module is passed at load).
_OBJECT_PARAMETERS = ("teacher", "teacher_weights", "callbacks", "module", "memory",
                      "optimizer", "optimizer_params", "device")


def _plain(value):
    """``value`` as JSON (tuples as lists), or a TypeError."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    raise TypeError(f"{type(value).__name__} is not a plain value")


def _scaler_spec(scaler):
    if scaler is None:
        return None
    return {name: (None if getattr(scaler, name, None) is None
                   else np.asarray(getattr(scaler, name)).tolist())
            for name in ("mean_", "scale_", "var_")} | {
        "with_mean": scaler.with_mean, "with_std": scaler.with_std,
        "n_features_in_": int(scaler.n_features_in_)}


def _scaler(spec):
    if spec is None:
        return None
    scaler = StandardScaler(with_mean=spec["with_mean"], with_std=spec["with_std"])
    scaler.set_output(transform="default")
    for name in ("mean_", "scale_", "var_"):
        setattr(scaler, name, None if spec[name] is None else np.asarray(spec[name],
                                                                          dtype=np.float64))
    scaler.n_features_in_ = spec["n_features_in_"]
    return scaler


def export_student(student, path):
    """Write ``student`` (fitted) to the folder ``path``; see the module."""
    check_is_fitted(student, "net_")
    module = student.net_.module_
    encoder_is_default = student.module is None
    hallucinating = isinstance(module, HallucinatingStudentNetwork)
    params = {}
    for name, value in student.get_params(deep=False).items():
        if name in _OBJECT_PARAMETERS:
            continue
        params[name] = _plain(value)
    try:
        classes = None
        if hasattr(student, "classes_"):
            classes = {"values": _plain(student.classes_.tolist()),
                       "dtype": student.classes_.dtype.str}
    except TypeError:
        raise ValueError(
            "export needs class labels that JSON can hold (numbers, strings, booleans); got "
            f"labels of dtype {student.classes_.dtype}.") from None
    spec = {
        "format": FORMAT,
        "pkdot_sk": _library_version(),
        "torch": torch.__version__,
        "params": params,
        "tuples": [name for name, value in student.get_params(deep=False).items()
                   if isinstance(value, tuple) and name in params],
        "fitted": {
            "classes_": classes,
            "n_outputs_": int(student.n_outputs_),
            "n_features_in_": int(student.n_features_in_),
            "n_steps_in_": student.n_steps_in_,
            "feature_names_in_": (student.feature_names_in_.tolist()
                                  if hasattr(student, "feature_names_in_") else None),
            "embedding_dim_": int(student.embedding_dim_),
            "distilled_": bool(student.distilled_),
            "x_scaler_": _scaler_spec(student.x_scaler_),
            "y_scaler_": _scaler_spec(getattr(student, "y_scaler_", None)),
            "y_is_1d": getattr(student, "_y_is_1d", None),
        },
        "architecture": {
            "encoder": "default" if encoder_is_default else "custom",
            "encoder_class": type(module.encoder).__qualname__,
            "hallucination_dims": (list(module.hallucination_dims) if hallucinating else None),
            "fusion": (_fusion_kind(student) if hallucinating else None),
            "fusion_class": (type(module.fusion).__qualname__ if hallucinating else None),
        },
    }
    # The adapter of feature distillation is unused at prediction.
    state = {key: tensor.detach().cpu() for key, tensor in module.state_dict().items()
             if not key.startswith("adapter.")}
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    torch.save(state, path / WEIGHTS_FILE)
    (path / SPEC_FILE).write_text(json.dumps(spec, indent=1))
    return path


def _library_version():
    from . import __version__

    return __version__


def _fusion_kind(student):
    fusion = getattr(student.teacher_, "fusion", "concat")
    return fusion if isinstance(fusion, str) else "custom"


def load_student(path, *, module=None, fusion=None):
    """A :class:`~pkdot_sk.PKDOTStudent` from the folder that
    :meth:`PKDOTStudent.export <pkdot_sk.PKDOTStudent.export>` wrote.

    It predicts (``predict``, ``predict_proba``, ``transform``) exactly as the
    exported student did, from X alone; it holds no teacher and no
    privileged statistic, and loading runs no code from the artefact.

    Parameters
    ----------
    path : str or path-like
        The exported folder.
    module : torch.nn.Module or None, default=None
        The student's encoder when it was a custom module: an instance of
        the same architecture (its weights are replaced by the exported
        ones). None for the default encoder.
    fusion : torch.nn.Module or None, default=None
        Likewise for the fusion block of a hallucinating student whose
        teacher had a custom fusion module.

    Returns
    -------
    student : PKDOTStudent
        Fitted for prediction. Its ``teacher`` is None (refitting it would
        build a default teacher) and ``safeguard_`` is None.
    """
    from ._student import PKDOTStudent

    path = Path(path)
    spec = json.loads((path / SPEC_FILE).read_text())
    if spec.get("format") != FORMAT:
        raise ValueError(f"{path} holds an artefact of format {spec.get('format')!r}; this "
                         f"pkdot_sk reads format {FORMAT}.")
    architecture = spec["architecture"]
    if architecture["encoder"] == "custom" and module is None:
        raise ValueError(
            f"this student's encoder is a custom module ({architecture['encoder_class']}); "
            "pass an instance of the same architecture: load_student(path, module=...).")
    if architecture["fusion"] == "custom" and fusion is None:
        raise ValueError(
            f"this student's fusion block is a custom module ({architecture['fusion_class']}); "
            "pass an instance of the same architecture: load_student(path, fusion=...).")
    params = {name: tuple(value) if name in spec["tuples"] else value
              for name, value in spec["params"].items()}
    student = PKDOTStudent(module=module, **params)
    fitted = spec["fitted"]
    if fitted["classes_"] is not None:
        student.classes_ = np.asarray(fitted["classes_"]["values"],
                                      dtype=np.dtype(fitted["classes_"]["dtype"]))
    for name in ("n_outputs_", "n_features_in_", "n_steps_in_", "embedding_dim_", "distilled_"):
        setattr(student, name, fitted[name])
    if fitted["feature_names_in_"] is not None:
        student.feature_names_in_ = np.asarray(fitted["feature_names_in_"], dtype=object)
    student.x_scaler_ = _scaler(fitted["x_scaler_"])
    if fitted["y_scaler_"] is not None:
        student.y_scaler_ = _scaler(fitted["y_scaler_"])
        student._y_is_1d = fitted["y_is_1d"]
    student.teacher_, student.teachers_, student.safeguard_ = None, [], None
    network = _network(student, architecture, module, fusion)
    network.load_state_dict(torch.load(path / WEIGHTS_FILE, map_location="cpu",
                                       weights_only=True))
    task = TASKS[student.task]
    student.net_ = PrivilegedNet(
        module=network, criterion=task.criterion(student.regression_loss),
        batch_size=int(student.batch_size), predict_nonlinearity=None, device="cpu",
        task=task, regression_loss=student.regression_loss, **BATCH_LOADING,
    ).initialize()
    student.net_.module_.eval()
    return student


def _network(student, architecture, module, fusion):
    """The student network of ``architecture``, weights to be loaded."""
    n_steps = student.n_steps_in_
    shape = (2, student.n_features_in_) if n_steps is None else (2, n_steps,
                                                                   student.n_features_in_)
    sample = torch.zeros(shape)
    encoder, width = prepare_encoder(
        module, student.n_features_in_, sample, hidden_units=student.hidden_units,
        embedding_dim=student.embedding_dim, dropout=student.dropout, name="module",
        weights="keep")
    task = TASKS[student.task]
    dims = architecture["hallucination_dims"]
    if dims is None:
        return StudentNetwork(encoder, width, student.n_outputs_,
                              head=task.make_head(width, student.n_outputs_))
    transformations = [transformation_net(width, dim) for dim in dims]
    samples = [torch.zeros(2, width)] + [torch.zeros(2, dim) for dim in dims]
    block, fused_width = prepare_fusion(
        fusion if architecture["fusion"] == "custom" else architecture["fusion"],
        [width] + list(dims), samples, embedding_dim=student.embedding_dim, weights="keep")
    return HallucinatingStudentNetwork(
        encoder, transformations, dims, block, fused_width, student.n_outputs_,
        head=task.make_head(fused_width, student.n_outputs_))
