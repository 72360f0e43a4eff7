"""PrivilegedTeacher and PKDOTStudent: fitting, predicting, tasks, persistence."""

import pickle

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.frozen import FrozenEstimator

from helpers import DISTIL, FAST, TINY
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


def _filled_encoder(value, frozen_first=False):
    torch.manual_seed(0)
    encoder = torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.ReLU(),
                                  torch.nn.Linear(16, 8), torch.nn.ReLU())
    with torch.no_grad():
        for parameter in encoder.parameters():
            parameter.fill_(value)
    if frozen_first:
        encoder[0].requires_grad_(False)
    return encoder


@pytest.mark.parametrize("estimator", [PrivilegedTeacher, PKDOTStudent])
def test_a_modules_weights_are_kept_and_its_frozen_layers_stay_as_given(estimator, clf_data):
    X, X_priv, y, _ = clf_data
    user = _filled_encoder(0.123, frozen_first=True)
    fitted = estimator(module=user, **DISTIL if estimator is PKDOTStudent else FAST)
    fitted.fit(X, y, X_priv=X_priv)
    trained = fitted.net_.module_.encoder
    assert trained is not user
    # The frozen layer is the given one bit for bit; the trainable one started
    # from 0.123 and learnt; the user's instance is untouched.
    assert torch.equal(trained[0].weight.cpu(), torch.full((16, 6), 0.123))
    assert not trained[0].weight.requires_grad and trained[2].weight.requires_grad
    assert not torch.equal(trained[2].weight.cpu(), torch.full((8, 16), 0.123))
    assert all(torch.equal(p, torch.full_like(p, 0.123)) for p in user.parameters())


@pytest.mark.parametrize("estimator", [PrivilegedTeacher, PKDOTStudent])
def test_module_weights_reset_reinitialises_them_from_random_state(estimator, clf_data):
    X, X_priv, y, _ = clf_data
    user = _filled_encoder(0.123, frozen_first=True)
    settings = dict(DISTIL if estimator is PKDOTStudent else FAST, module_weights="reset")
    first = [estimator(module=user, **{**settings, "random_state": seed}).fit(X, y, X_priv=X_priv)
             for seed in (0, 0, 1)]
    weights = [model.net_.module_.encoder[0].weight.detach().cpu() for model in first]
    # Frozen but re-initialised: no longer 0.123, the same for the same seed.
    assert not torch.equal(weights[0], torch.full((16, 6), 0.123))
    assert torch.equal(weights[0], weights[1]) and not torch.equal(weights[0], weights[2])


def test_kept_weights_do_not_take_random_state_but_the_new_head_does(clf_data):
    X, X_priv, y, _ = clf_data
    user = _filled_encoder(0.05)
    heads = [PKDOTStudent(module=user, **{**DISTIL, "max_epochs": 1, "lr": 1e-12,
                                          "random_state": seed}).fit(X, y, X_priv=X_priv)
             for seed in (0, 1)]
    encoders = [h.net_.module_.encoder[0].weight.detach().cpu() for h in heads]
    # lr=1e-12: what the fit started from, within rounding.
    torch.testing.assert_close(encoders[0], encoders[1])
    assert not torch.allclose(heads[0].net_.module_.head.weight, heads[1].net_.module_.head.weight)


def test_epoch_scoring_with_a_scikit_learn_metric_works_on_the_nets_predictions(clf_data):
    from skorch.callbacks import EpochScoring

    X, X_priv, y, _ = clf_data
    student = PKDOTStudent(validation_fraction=0.25, **DISTIL,
                           callbacks=[EpochScoring("accuracy", lower_is_better=False)])
    history = student.fit(X, y, X_priv=X_priv).net_.history
    # The built-in per-epoch task score and skorch's scorer agree.
    assert history[:, "valid_score"] == history[:, "accuracy"]
    assert all(0.0 <= score <= 1.0 for score in history[:, "valid_score"])
    assert "valid_score" not in PKDOTStudent(**DISTIL).fit(X, y, X_priv=X_priv).net_.history[-1]


@pytest.mark.parametrize("task, regression_loss", [("ordinal", "mse"), ("regression", "mse"),
                                                   ("regression", "ccc")])
def test_valid_score_is_the_tasks_metric(task, regression_loss):
    from skorch.callbacks import EpochScoring
    from sklearn.metrics import r2_score

    from pkdot_sk.datasets._by_task import SYNTHETIC_BY_TASK
    from pkdot_sk.metrics import concordance_correlation_coefficient

    metric = {"ordinal": lambda y, out: -np.mean(np.abs(y - (out > 0).sum(axis=1))),
              "mse": r2_score, "ccc": concordance_correlation_coefficient}[
        "ordinal" if task == "ordinal" else regression_loss]

    def expected(net, X, y):  # from the raw outputs on the same held-out rows
        return metric(np.asarray(y), net.forward(X, training=False)[0].numpy())

    X, X_priv, y, _ = SYNTHETIC_BY_TASK[task].make(n_subjects=4, n_samples_per_subject=30,
                                                   random_state=0)
    teacher = PrivilegedTeacher(task, validation_fraction=0.25, regression_loss=regression_loss,
                                callbacks=[EpochScoring(expected, name="expected")], **FAST)
    history = teacher.fit(X, y, X_priv=X_priv).net_.history
    np.testing.assert_allclose(history[:, "valid_score"], history[:, "expected"], rtol=1e-5)


def test_teacher_parameters_need_an_explicit_teacher_in_a_grid_search(clf_data):
    from sklearn.model_selection import GridSearchCV

    X, X_priv, y, _ = clf_data
    with pytest.raises(ValueError, match=r"teacher__max_epochs .*teacher=None.*"
                                         r"PKDOTStudent\(teacher=PrivilegedTeacher"):
        PKDOTStudent().set_params(teacher__max_epochs=5)
    search = GridSearchCV(PKDOTStudent(**TINY), {"teacher__max_epochs": [1, 2]}, cv=2,
                          error_score="raise")
    with pytest.raises(ValueError, match="teacher__max_epochs"):
        search.fit(X, y, X_priv=X_priv)
    # With an explicit teacher the same grid runs and reaches the teacher.
    search.set_params(estimator__teacher=PrivilegedTeacher(**TINY)).fit(X, y, X_priv=X_priv)
    assert [params["teacher__max_epochs"] for params in search.cv_results_["params"]] == [1, 2]
    assert search.best_estimator_.teacher_.max_epochs == search.best_params_["teacher__max_epochs"]


def test_optimizer_by_name_or_class_with_its_arguments(clf_data):
    X, X_priv, y, _ = clf_data
    sgd = PKDOTStudent(optimizer="sgd", optimizer_params={"momentum": 0.9}, weight_decay=1e-3,
                       **DISTIL).fit(X, y, X_priv=X_priv)
    optimizer = sgd.net_.optimizer_
    assert type(optimizer) is torch.optim.SGD
    assert optimizer.param_groups[0]["momentum"] == 0.9
    assert optimizer.param_groups[0]["weight_decay"] == 1e-3
    # The default teacher takes the student's optimiser.
    assert type(sgd.teacher_.net_.optimizer_) is torch.optim.SGD
    rmsprop = PrivilegedTeacher(optimizer=torch.optim.RMSprop, **FAST).fit(X, y, X_priv=X_priv)
    assert type(rmsprop.net_.optimizer_) is torch.optim.RMSprop


@pytest.mark.parametrize("params, match", [
    ({"optimizer": "lbfgs"}, "'optimizer' parameter"),
    ({"optimizer": dict}, "optimizer must be one of .* got the class dict"),
    ({"optimizer_params": {"lr": 0.1}}, r"optimizer_params sets \['lr'\]"),
    ({"encoder_lr": 0.0}, "'encoder_lr' parameter"),
])
def test_bad_optimizer_settings_name_the_argument(clf_data, params, match):
    X, X_priv, y, _ = clf_data
    with pytest.raises(ValueError, match=match):
        PrivilegedTeacher(**params, **FAST).fit(X, y, X_priv=X_priv)


def test_encoder_lr_trains_the_encoders_at_their_own_rate(clf_data):
    X, X_priv, y, _ = clf_data
    teacher = PrivilegedTeacher(encoder_lr=1e-12, **FAST)
    module = teacher.fit(X, y, X_priv=X_priv).net_.module_
    groups = teacher.net_.optimizer_.param_groups
    slow = {id(p) for group in groups if group["lr"] == 1e-12 for p in group["params"]}
    encoders = {id(p) for name, p in module.named_parameters()
                if name.startswith(("encoder.", "priv_encoders."))}
    assert slow == encoders and len(encoders) < len(list(module.parameters()))
    # Fitted from the same seed without encoder_lr, the encoders moved; with
    # it they stayed where the seed put them (within Adam's step of 1e-12).
    reference = PrivilegedTeacher(**{**FAST, "max_epochs": 1, "lr": 1e-12}).fit(
        X, y, X_priv=X_priv).net_.module_
    torch.testing.assert_close(module.encoder.layers[0].weight,
                               reference.encoder.layers[0].weight)
    assert not torch.allclose(module.head.weight, reference.head.weight)


def test_n_threads_holds_for_the_whole_fit_and_is_restored(clf_data):
    from skorch.callbacks import Callback

    class ThreadsSeen(Callback):
        seen = []

        def on_epoch_end(self, net, **kwargs):
            ThreadsSeen.seen.append(torch.get_num_threads())

    X, X_priv, y, _ = clf_data
    before = torch.get_num_threads()
    wanted = 1 if before > 1 else 2
    student = PKDOTStudent(n_threads=wanted, callbacks=[ThreadsSeen()], **DISTIL)
    student.fit(X, y, X_priv=X_priv)
    # The student's epochs ran on `wanted` threads, its default teacher got the
    # same setting, and the caller's is back after the fit, and after a failed one.
    assert ThreadsSeen.seen and set(ThreadsSeen.seen) == {wanted}
    assert student.teacher_.n_threads == wanted
    assert torch.get_num_threads() == before
    ThreadsSeen.seen = []
    with pytest.raises(ValueError):
        PKDOTStudent(n_threads=wanted, callbacks=[ThreadsSeen()], lr=1e30, **DISTIL).fit(
            X, y, X_priv=X_priv)
    assert torch.get_num_threads() == before


def test_verbose_labels_each_phase_and_shows_the_task_and_distillation_losses(clf_data, capsys):
    X, X_priv, y, _ = clf_data
    student = PKDOTStudent(verbose=1, **DISTIL).fit(X, y, X_priv=X_priv)
    out = capsys.readouterr().out
    phases = ["PKDOTStudent: fitting its teacher(s) on 120 rows",
              "PrivilegedTeacher: training on 120 rows of X and X_priv",
              "PKDOTStudent: training the student on 120 rows of X with the 'pkdot' term "
              "(weight 300)"]
    assert [out.index(phase) for phase in phases] == sorted(out.index(p) for p in phases)
    student_table = out[out.index(phases[2]):].splitlines()[1]
    assert {"train_loss", "task_loss", "distillation_loss"} <= set(student_table.split())
    # The documented relation between the logged columns, on the last epoch.
    last = student.net_.history[-1]
    assert last["train_loss"] == pytest.approx(
        last["task_loss"] + 300 * last["distillation_loss"], rel=1e-4)
    # Safeguard on: its decision is said; its inner teachers are silent.
    PKDOTStudent(verbose=1, **FAST).fit(X, y, X_priv=X_priv)
    out = capsys.readouterr().out
    assert "PKDOTStudent safeguard: on " in out and out.count("PrivilegedTeacher:") == 1


@pytest.mark.parametrize("estimator", [PrivilegedTeacher, PKDOTStudent])
def test_equal_sample_weights_give_the_unweighted_fit_bit_for_bit(estimator, clf_data):
    X, X_priv, y, _ = clf_data
    settings = DISTIL if estimator is PKDOTStudent else FAST
    plain = estimator(**settings).fit(X, y, X_priv=X_priv)
    weighted = estimator(**settings).fit(X, y, X_priv=X_priv, sample_weight=np.full(len(y), 2.5))
    np.testing.assert_array_equal(plain.predict_proba(X, X_priv) if estimator is
                                  PrivilegedTeacher else plain.predict_proba(X),
                                  weighted.predict_proba(X, X_priv) if estimator is
                                  PrivilegedTeacher else weighted.predict_proba(X))


def test_balanced_class_weight_changes_the_decision_on_imbalanced_data():
    from pkdot_sk.datasets import make_privileged_classification

    X, X_priv, y, _ = make_privileged_classification(n_subjects=4, n_samples_per_subject=100,
                                                     n_classes=2, noise=2.0, random_state=1)
    rare = np.flatnonzero(y == 1)[:40]  # 40 of about 240 rows: class 1 is rare
    keep = np.concatenate([np.flatnonzero(y == 0), rare])
    X, X_priv, y = X[keep], X_priv[keep], y[keep]
    settings = dict(distillation="none", max_epochs=20, random_state=0)
    plain = PKDOTStudent(**settings).fit(X, y)
    balanced = PKDOTStudent(class_weight="balanced", **settings).fit(X, y)
    # Balanced weights predict the rare class more often, recalling more of it.
    assert (balanced.predict(X) == 1).sum() > 1.5 * (plain.predict(X) == 1).sum()
    assert (balanced.predict(X)[y == 1] == 1).mean() > (plain.predict(X)[y == 1] == 1).mean()
    # The same as passing those weights to fit.
    from sklearn.utils.class_weight import compute_sample_weight
    by_hand = PKDOTStudent(**settings).fit(X, y,
                                           sample_weight=compute_sample_weight("balanced", y))
    np.testing.assert_array_equal(by_hand.predict_proba(X), balanced.predict_proba(X))


def test_sample_weight_reaches_the_default_teacher_and_the_safeguard(clf_data, monkeypatch):
    X, X_priv, y, groups = clf_data
    seen = []
    fit = PrivilegedTeacher.fit

    def spy(self, X, y, X_priv=None, groups=None, sample_weight=None):
        seen.append(None if sample_weight is None else np.asarray(sample_weight).copy())
        return fit(self, X, y, X_priv=X_priv, groups=groups, sample_weight=sample_weight)

    monkeypatch.setattr(PrivilegedTeacher, "fit", spy)
    weights = np.linspace(0.5, 2.0, len(y))
    student = PKDOTStudent(**FAST).fit(X, y, X_priv=X_priv, groups=groups,
                                       sample_weight=weights)
    # The student's teacher got every weight, the safeguard's inner teachers
    # their rows' weights.
    assert len(seen) == student.safeguard_["n_splits"] + 1
    np.testing.assert_array_equal(seen[0], weights)
    assert all(len(w) < len(y) and set(w) <= set(weights) for w in seen[1:])


@pytest.mark.parametrize("task, kwargs, match", [
    ("classification", {"sample_weight": "zeros"}, "zero for every row"),
    ("classification", {"sample_weight": "one class"}, r"single class .* at least 2 classes"),
    ("regression", {"class_weight": "balanced"}, "class_weight='balanced' needs labels"),
    ("classification", {"sample_weight": "short"}, r"sample_weight has shape \(5,\)"),
])
def test_bad_weights_raise_naming_the_argument(task, kwargs, match, clf_data):
    X, X_priv, y, _ = clf_data
    weights = {"zeros": np.zeros(len(y)), "one class": (y == y[0]).astype(float),
               "short": np.ones(5)}
    fit_params = {}
    params = dict(FAST)
    if "sample_weight" in kwargs:
        fit_params["sample_weight"] = weights[kwargs["sample_weight"]]
    else:
        params.update(kwargs)
    with pytest.raises(ValueError, match=match):
        PrivilegedTeacher(task, **params).fit(X, y.astype(float), X_priv=X_priv, **fit_params)
