"""PrivilegedTeacher and PKDOTStudent: fitting, predicting, tasks, persistence."""

import pickle

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.frozen import FrozenEstimator

from helpers import DISTIL, FAST
from pkdot_sk import PKDOTStudent, PrivilegedDataWarning, PrivilegedTeacher
from pkdot_sk._net import DISTILLATION_LOSS_KEY


def test_student_distils_and_predicts_from_X_alone(clf_data):
    X, X_priv, y, _ = clf_data
    student = PKDOTStudent(**DISTIL).fit(X, y, X_priv=X_priv)
    assert student.distilled_
    assert isinstance(student.teacher_, PrivilegedTeacher)
    assert student.teacher_.fitted_with_privileged_
    pred = student.predict(X)
    assert pred.shape == y.shape and set(pred) <= set(y)
    proba = student.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    distill = student.net_.history[:, DISTILLATION_LOSS_KEY]
    assert len(distill) == FAST["max_epochs"] and all(v > 0 for v in distill)


def test_distillation_changes_the_student(clf_data):
    X, X_priv, y, _ = clf_data
    plain = PKDOTStudent(distillation="none", **FAST).fit(X, y, X_priv=X_priv)
    assert plain.teacher_ is None and not plain.distilled_
    distilled = PKDOTStudent(ot_weight=5.0, **DISTIL).fit(X, y, X_priv=X_priv)
    assert not np.allclose(plain.predict_proba(X), distilled.predict_proba(X))


def test_student_learns(clf_data):
    X, X_priv, y, _ = clf_data
    student = PKDOTStudent(max_epochs=40, batch_size=32, random_state=0).fit(X, y, X_priv=X_priv)
    chance = np.bincount(y).max() / len(y)
    assert student.score(X, y) > chance + 0.2


def test_fit_without_X_priv_warns_and_trains_without_distillation(clf_data):
    X, _, y, _ = clf_data
    with pytest.warns(PrivilegedDataWarning, match="without distillation"):
        student = PKDOTStudent(**FAST).fit(X, y)
    assert not student.distilled_ and student.teacher_ is None
    with pytest.warns(PrivilegedDataWarning, match="X alone"):
        teacher = PrivilegedTeacher(**FAST).fit(X, y)
    assert not teacher.fitted_with_privileged_ and teacher.n_priv_features_in_ == 0
    assert teacher.transform(X).shape == (len(X), teacher.embedding_dim_)


def test_teacher_needs_X_priv_it_was_fitted_with(clf_data):
    X, X_priv, y, _ = clf_data
    teacher = PrivilegedTeacher(**FAST).fit(X, y, X_priv=X_priv)
    with pytest.raises(ValueError, match="X_priv is required"):
        teacher.predict(X)
    with pytest.raises(ValueError, match="X_priv has 2 features"):
        teacher.predict(X, X_priv[:, :2])
    assert teacher.transform(X, X_priv).shape == (len(X), 64)
    assert teacher.predict_proba(X, X_priv).shape == (len(X), len(np.unique(y)))


def test_frozen_teacher_is_used_as_fitted(clf_data):
    X, X_priv, y, _ = clf_data
    teacher = PrivilegedTeacher(**FAST).fit(X, y, X_priv=X_priv)
    weights = [p.detach().clone() for p in teacher.net_.module_.parameters()]
    student = PKDOTStudent(teacher=FrozenEstimator(teacher), **FAST).fit(
        X[:60], y[:60], X_priv=X_priv[:60]
    )
    assert student.teacher_.estimator is teacher
    for before, after in zip(weights, teacher.net_.module_.parameters()):
        assert torch.equal(before, after)


def test_unfitted_teacher_is_cloned_not_mutated(clf_data):
    X, X_priv, y, _ = clf_data
    teacher = PrivilegedTeacher(**FAST)
    student = PKDOTStudent(teacher=teacher, **FAST).fit(X, y, X_priv=X_priv)
    assert student.teacher_ is not teacher and not hasattr(teacher, "net_")


def test_teacher_task_must_match(reg_data):
    X, X_priv, y, _ = reg_data
    student = PKDOTStudent(teacher=PrivilegedTeacher(), task="regression", **FAST)
    with pytest.raises(ValueError, match="teacher has task='classification'"):
        student.fit(X, y, X_priv=X_priv)


@pytest.mark.parametrize("Estimator", [PKDOTStudent, PrivilegedTeacher])
def test_task_sets_estimator_type(Estimator):
    assert is_classifier(Estimator()) and not is_regressor(Estimator())
    assert is_regressor(Estimator(task="regression"))
    assert not is_classifier(Estimator(task="regression"))


def test_regression_single_and_multi_output(reg_data):
    X, X_priv, y, _ = reg_data
    student = PKDOTStudent(task="regression", **FAST).fit(X, y, X_priv=X_priv)
    assert student.predict(X).shape == (len(X),)
    assert not hasattr(student, "predict_proba")
    Y = np.column_stack([y, -2 * y + 100])
    multi = PKDOTStudent(task="regression", **FAST).fit(X, Y, X_priv=X_priv)
    pred = multi.predict(X)
    assert pred.shape == Y.shape
    # Targets are standardised inside: predictions come back on the data's scale.
    assert abs(pred[:, 1].mean() - Y[:, 1].mean()) < 5 * Y[:, 1].std()


def test_string_and_binary_labels(clf_data):
    X, X_priv, y, _ = clf_data
    labels = np.where(y == 0, "pain", "no pain")
    student = PKDOTStudent(**FAST).fit(X, labels, X_priv=X_priv)
    assert list(student.classes_) == ["no pain", "pain"]
    assert set(student.predict(X)) <= {"pain", "no pain"}
    assert student.predict_proba(X).shape == (len(X), 2)


def test_same_random_state_same_predictions(clf_data):
    X, X_priv, y, _ = clf_data
    a = PKDOTStudent(**FAST).fit(X, y, X_priv=X_priv).predict_proba(X)
    b = PKDOTStudent(**FAST).fit(X, y, X_priv=X_priv).predict_proba(X)
    np.testing.assert_array_equal(a, b)
    c = PKDOTStudent(**{**FAST, "random_state": 1}).fit(X, y, X_priv=X_priv).predict_proba(X)
    assert not np.array_equal(a, c)


def test_fit_leaves_global_torch_rng_alone(clf_data):
    X, X_priv, y, _ = clf_data
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    PKDOTStudent(**FAST).fit(X, y, X_priv=X_priv)
    assert torch.equal(torch.rand(3), expected)


def test_clone_and_params():
    student = PKDOTStudent(teacher=PrivilegedTeacher(max_epochs=3), ot_weight=0.3, top_k=7)
    params = student.get_params()
    assert params["teacher__max_epochs"] == 3 and params["top_k"] == 7
    student.set_params(teacher__max_epochs=9, ot_reg=0.05)
    cloned = clone(student)
    assert cloned.teacher.max_epochs == 9 and cloned.ot_reg == 0.05
    assert cloned.teacher is not student.teacher


def test_ot_center_and_warmup_reach_the_pkdot_term(clf_data):
    X, X_priv, y, _ = clf_data
    teacher = FrozenEstimator(PrivilegedTeacher(**FAST).fit(X, y, X_priv=X_priv))
    plain = PKDOTStudent(teacher=teacher, **DISTIL).fit(X, y, X_priv=X_priv)
    warm = PKDOTStudent(teacher=teacher, ot_warmup=3, **DISTIL).fit(X, y, X_priv=X_priv)
    centred = PKDOTStudent(teacher=teacher, ot_center=True, **DISTIL).fit(X, y, X_priv=X_priv)
    assert plain.net_.distillation_warmup == 0 and warm.net_.distillation_warmup == 3
    assert not np.allclose(warm.predict_proba(X), plain.predict_proba(X))
    assert not np.allclose(centred.predict_proba(X), plain.predict_proba(X))
    # The warm-up belongs to the PKDOT term only.
    rkd = PKDOTStudent(teacher=teacher, distillation="rkd", ot_warmup=3, **DISTIL)
    assert rkd.fit(X, y, X_priv=X_priv).net_.distillation_warmup == 0


@pytest.mark.parametrize("dump, load", [
    (pickle.dumps, pickle.loads),
    (lambda est: joblib_roundtrip(est), lambda obj: obj),
])
def test_pickle_and_joblib_round_trip(clf_data, dump, load):
    X, X_priv, y, _ = clf_data
    student = PKDOTStudent(**FAST).fit(X, y, X_priv=X_priv)
    restored = load(dump(student))
    np.testing.assert_array_equal(restored.predict_proba(X), student.predict_proba(X))
    np.testing.assert_array_equal(
        restored.teacher_.transform(X, X_priv), student.teacher_.transform(X, X_priv)
    )


def joblib_roundtrip(estimator, tmp=[]):
    import tempfile, os
    path = os.path.join(tempfile.mkdtemp(), "student.joblib")
    joblib.dump(estimator, path)
    return joblib.load(path)


def test_custom_encoder_module(clf_data):
    X, X_priv, y, _ = clf_data
    encoder = torch.nn.Sequential(torch.nn.Linear(X.shape[1], 16), torch.nn.Tanh())
    initial = encoder[0].weight.detach().clone()
    student = PKDOTStudent(module=encoder, **FAST).fit(X, y, X_priv=X_priv)
    assert student.net_.module_.head.in_features == 16
    # The user's instance is copied, never trained in place.
    assert torch.equal(encoder[0].weight, initial)


def test_custom_module_with_wrong_output_is_rejected(clf_data):
    X, X_priv, y, _ = clf_data

    class Flat(torch.nn.Module):
        def forward(self, x):
            return x.sum(dim=1)

    with pytest.raises(ValueError, match="module must map"):
        PKDOTStudent(module=Flat(), **FAST).fit(X, y, X_priv=X_priv)


def test_verbose_prints_progress_with_distillation_loss(clf_data, capsys):
    X, X_priv, y, _ = clf_data
    PKDOTStudent(teacher=PrivilegedTeacher(max_epochs=2), verbose=1, **{**DISTIL, "max_epochs": 2}
                 ).fit(X, y, X_priv=X_priv)
    out = capsys.readouterr().out
    assert "distillation_loss" in out and "train_loss" in out


def test_validation_fraction_records_valid_loss(clf_data):
    X, X_priv, y, _ = clf_data
    student = PKDOTStudent(validation_fraction=0.25, **FAST).fit(X, y, X_priv=X_priv)
    assert len(student.net_.history[:, "valid_loss"]) == FAST["max_epochs"]


def test_fit_warns_when_its_sinkhorn_solves_do_not_converge(clf_data):
    import warnings

    X, X_priv, y, _ = clf_data
    with pytest.warns(ConvergenceWarning, match="ot_max_iter=1 "):
        PKDOTStudent(ot_max_iter=1, **DISTIL).fit(X, y, X_priv=X_priv)
    with pytest.warns(ConvergenceWarning, match="ot_tol=1e-12"):
        PKDOTStudent(ot_max_iter=3, ot_tol=1e-12, **DISTIL).fit(X, y, X_priv=X_priv)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        PKDOTStudent(**DISTIL).fit(X, y, X_priv=X_priv)


def test_the_default_teacher_takes_the_students_shared_settings(clf_data):
    X, X_priv, y, _ = clf_data
    settings = dict(hidden_units=(16,), embedding_dim=8, dropout=0.2, max_epochs=2,
                    batch_size=16, lr=2e-3, weight_decay=1e-4, standardize=False)
    student = PKDOTStudent(random_state=0, safeguard=None, **settings)
    student.fit(X, y, X_priv=X_priv)
    params = student.teacher_.get_params()
    assert {name: params[name] for name in settings} == settings
    assert params["task"] == "classification" and params["validation_fraction"] is None


@pytest.mark.parametrize("estimator", [PrivilegedTeacher, PKDOTStudent])
def test_shared_parameters_have_one_default_and_one_entry_each(estimator):
    # The signatures spell the shared parameters out (scikit-learn reads
    # them there): their defaults must be the single declaration's, and the
    # docstring must document each parameter of the signature once.
    import inspect
    import re

    from pkdot_sk._parameters import SHARED_PARAMETERS

    signature = inspect.signature(estimator.__init__).parameters
    for name, parameter in SHARED_PARAMETERS.items():
        assert signature[name].default == parameter.default, name
    documented = re.findall(r"^    (\w+) : ", estimator.__doc__, flags=re.MULTILINE)
    parameters_section = documented[:documented.index("net_")]  # Attributes start there
    assert sorted(parameters_section) == sorted(set(signature) - {"self"})
    assert "<shared parameters" not in estimator.__doc__
