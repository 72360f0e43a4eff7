"""A student exported without its teacher, and loaded back for prediction."""

import json
import pickle

import numpy as np
import pandas as pd
import pytest
import torch

from helpers import DISTIL
from pkdot_sk import PKDOTStudent, PrivilegedTeacher, load_student
from pkdot_sk.datasets import (make_privileged_classification, make_privileged_ordinal,
                               make_privileged_regression)

SMALL = dict(n_subjects=4, n_samples_per_subject=30, random_state=0)


def _artefact_size(path):
    return sum(file.stat().st_size for file in path.iterdir())


@pytest.mark.parametrize("make, params", [
    (make_privileged_classification, {}),
    (make_privileged_ordinal, {"task": "ordinal"}),
    (make_privileged_regression, {"task": "regression"}),
    (make_privileged_regression, {"task": "regression", "hallucinate": True}),
    (make_privileged_classification, {"distillation": "feature"}),  # its adapter is dropped
])
def test_a_loaded_student_predicts_as_the_exported_one_bit_for_bit(make, params, tmp_path):
    X, X_priv, y, _ = make(**SMALL)
    student = PKDOTStudent(**DISTIL, **params).fit(X, y, X_priv=X_priv)
    loaded = load_student(student.export(tmp_path))
    np.testing.assert_array_equal(loaded.predict(X), student.predict(X))
    np.testing.assert_array_equal(loaded.transform(X), student.transform(X))
    if params.get("task") != "regression":
        np.testing.assert_array_equal(loaded.predict_proba(X), student.predict_proba(X))
    assert loaded.teacher_ is None and loaded.get_params()["teacher"] is None
    # Weights and a description only: a fraction of the pickle, which holds
    # the teacher and the privileged data's scaler.
    assert _artefact_size(tmp_path) <= len(pickle.dumps(student)) / 4
    spec = (tmp_path / "student.json").read_text()
    assert "priv_scaler" not in spec and "X_priv" not in spec


def test_sequences_and_feature_names_survive_the_export(tmp_path):
    X, X_priv, y, _ = make_privileged_classification(**SMALL)
    frame = pd.DataFrame(X, columns=[f"au_{i}" for i in range(X.shape[1])])
    student = PKDOTStudent(**DISTIL).fit(frame, y, X_priv=X_priv)
    loaded = load_student(student.export(tmp_path / "flat"))
    np.testing.assert_array_equal(loaded.predict(frame), student.predict(frame))
    with pytest.raises(ValueError, match="feature names"):
        loaded.predict(frame.rename(columns={"au_0": "other"}))
    sequences = np.repeat(X[:, None, :], 4, axis=1)
    student = PKDOTStudent(**DISTIL).fit(sequences, y, X_priv=X_priv)
    loaded = load_student(student.export(tmp_path / "sequences"))
    np.testing.assert_array_equal(loaded.predict(sequences), student.predict(sequences))


def test_a_custom_encoder_is_passed_at_load_time_not_unpickled(tmp_path):
    X, X_priv, y, _ = make_privileged_classification(**SMALL)

    def encoder():
        return torch.nn.Sequential(torch.nn.Linear(X.shape[1], 12), torch.nn.Tanh())

    student = PKDOTStudent(module=encoder(), **DISTIL).fit(X, y, X_priv=X_priv)
    student.export(tmp_path)
    with pytest.raises(ValueError, match=r"custom module \(Sequential\); pass an instance"):
        load_student(tmp_path)
    loaded = load_student(tmp_path, module=encoder())
    np.testing.assert_array_equal(loaded.predict_proba(X), student.predict_proba(X))
    # The weights file holds tensors only: torch's safe loader reads it.
    state = torch.load(tmp_path / "weights.pt", weights_only=True)
    assert all(isinstance(tensor, torch.Tensor) for tensor in state.values())
    assert json.loads((tmp_path / "student.json").read_text())["format"] == 1


def test_an_unfitted_student_cannot_be_exported(tmp_path):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        PKDOTStudent().export(tmp_path)


def test_the_teacher_is_not_needed_to_load(tmp_path, monkeypatch):
    X, X_priv, y, _ = make_privileged_classification(**SMALL)
    student = PKDOTStudent(**DISTIL).fit(X, y, X_priv=X_priv)
    student.export(tmp_path)

    def no_teacher(*args, **kwargs):
        raise AssertionError("the teacher was used")

    monkeypatch.setattr(PrivilegedTeacher, "__init__", no_teacher)
    np.testing.assert_array_equal(load_student(tmp_path).predict(X), student.predict(X))
