"""Every affect capability inside scikit-learn's workflows: a Pipeline scored
by leave-one-subject-out ``cross_val_score`` (metadata routing on), and a
leave-one-subject-out ``GridSearchCV`` over a parameter of that capability."""

import numpy as np
import pytest
import sklearn
from sklearn.model_selection import GridSearchCV, LeaveOneGroupOut, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from helpers import TINY
from pkdot_sk import PKDOTStudent, PrivilegedTeacher
from pkdot_sk.datasets import make_privileged_ordinal, make_privileged_valence_arousal
from pkdot_sk.metrics import get_scorer

MODALITIES = {"ecg": [0, 1], "eda": [2, 3]}
SIZE = dict(n_subjects=3, n_samples_per_subject=30, n_features=6, n_priv_features=4,
            random_state=0)


def ordinal():
    data = make_privileged_ordinal(n_levels=4, **SIZE)
    return (PKDOTStudent(task="ordinal", safeguard=None, **TINY), data, "neg_mean_absolute_error",
            {"ot_weight": [0.6, 6.0]})


def valence_arousal_ccc():
    data = make_privileged_valence_arousal(**SIZE)
    teacher = PrivilegedTeacher(task="regression", regression_loss="ccc", **TINY)
    student = PKDOTStudent(teacher=teacher, task="regression", regression_loss="ccc",
                           safeguard=None, **TINY)
    return student, data, get_scorer("ccc"), {"regression_loss": ["mse", "ccc"]}


def hallucination():
    data = make_privileged_ordinal(n_levels=3, **SIZE)
    teacher = PrivilegedTeacher(task="ordinal", priv_groups=MODALITIES, fusion="attention",
                                **TINY)
    student = PKDOTStudent(teacher=teacher, task="ordinal", hallucinate=True, safeguard=None,
                           **TINY)
    return student, data, "accuracy", {"hallucination_weight": [0.0, 1.0]}


def multi_teacher():
    data = make_privileged_valence_arousal(**SIZE)
    teachers = [PrivilegedTeacher(task="regression", priv_groups=MODALITIES, **TINY)] + [
        PrivilegedTeacher(task="regression", priv_groups=MODALITIES,
                          priv_module={other: "drop"}, **TINY) for other in ("eda", "ecg")]
    student = PKDOTStudent(teacher=teachers, task="regression", safeguard=None, **TINY)
    return student, data, get_scorer("ccc"), {"teacher_weights": [None, [1, 0, 0]]}


CAPABILITIES = [ordinal, valence_arousal_ccc, hallucination, multi_teacher]


@pytest.mark.parametrize("capability", CAPABILITIES, ids=lambda c: c.__name__)
def test_pipeline_in_leave_one_subject_out_cross_validation(capability):
    student, (X, X_priv, y, groups), scoring, _ = capability()
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = make_pipeline(StandardScaler(), student)
        result = cross_validate(pipe, X, y, cv=LeaveOneGroupOut(), scoring=scoring,
                                params={"X_priv": X_priv, "groups": groups},
                                return_estimator=True, return_indices=True)
    assert np.all(np.isfinite(result["test_score"]))
    for fitted, train in zip(result["estimator"], result["indices"]["train"]):
        model = fitted[-1]
        assert model.distilled_ and model.n_features_in_ == X.shape[1]
        # Every teacher was fitted on this fold's privileged rows only.
        for teacher in model.teachers_:
            np.testing.assert_allclose(teacher.priv_scaler_.mean_, X_priv[train].mean(axis=0),
                                       rtol=1e-6, atol=1e-9)
            assert teacher.priv_scaler_.n_samples_seen_ == len(train)
        assert fitted.predict(X).shape == np.shape(y)


@pytest.mark.parametrize("capability", CAPABILITIES, ids=lambda c: c.__name__)
def test_grid_search_over_the_capability(capability):
    student, (X, X_priv, y, groups), scoring, grid = capability()
    search = GridSearchCV(student, grid, cv=LeaveOneGroupOut(), scoring=scoring)
    search.fit(X, y, groups=groups, X_priv=X_priv)
    (name, values), = grid.items()
    assert [p[name] for p in search.cv_results_["params"]] == values
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    best = search.best_estimator_
    assert getattr(best, name) == search.best_params_[name] and best.distilled_
    assert best.predict(X).shape == np.shape(y)
