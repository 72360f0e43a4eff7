"""Several privileged modalities: priv_groups, one encoder each, fusion blocks."""

import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, LeaveOneGroupOut, cross_val_score, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from helpers import FAST, TINY
from pkdot_sk import PKDOTStudent, PrivilegedDataWarning, PrivilegedTeacher
from pkdot_sk.datasets import make_privileged_classification
from pkdot_sk.modules import AttentionFusion, ConcatFusion

NAMES = ["ecg_hr", "ecg_hrv", "eda"]


@pytest.fixture
def data(clf_data):
    # X: 6 features, X_priv: 3 columns (two "ECG" and one "EDA" column).
    X, X_priv, y, groups = clf_data
    return X, X_priv, y, groups


def first_linear(module):
    return next(m for m in module.modules() if isinstance(m, torch.nn.Linear))


def shuffled_columns(X_priv, columns, seed=0):
    """X_priv with the rows of ``columns`` permuted, the other columns intact."""
    out = X_priv.copy()
    perm = np.random.RandomState(seed).permutation(len(X_priv))
    out[:, columns] = X_priv[perm][:, columns]
    return out


# ------------------------------------------------------------ declaring groups
@pytest.mark.parametrize("priv_groups, expected", [
    ([[0, 1], [2]], {"priv_0": [0, 1], "priv_1": [2]}),
    ({"ecg": [0, 1], "eda": [2]}, {"ecg": [0, 1], "eda": [2]}),
    ({"eda": [-1], "ecg": [1, 0]}, {"eda": [2], "ecg": [1, 0]}),
    ({"ecg": slice(0, 2), "eda": slice(2, None)}, {"ecg": [0, 1], "eda": [2]}),
    (None, {"priv": [0, 1, 2]}),
], ids=["list", "dict", "negative-reordered", "slices", "none"])
def test_groups_by_positions_and_slices(data, priv_groups, expected):
    X, X_priv, y, _ = data
    teacher = PrivilegedTeacher(priv_groups=priv_groups, **TINY).fit(X, y, X_priv=X_priv)
    assert list(teacher.priv_groups_) == list(expected)
    for name, columns in expected.items():
        np.testing.assert_array_equal(teacher.priv_groups_[name], columns)
    # One encoder per privileged modality, each as wide as its group.
    encoders = teacher.net_.module_.priv_encoders
    assert len(encoders) == len(expected)
    for encoder, columns in zip(encoders, expected.values()):
        assert first_linear(encoder).in_features == len(columns)
    assert teacher.transform(X, X_priv).shape == (len(X), teacher.embedding_dim_)


def test_each_encoder_receives_its_own_columns(data):
    X, X_priv, y, _ = data
    teacher = PrivilegedTeacher(priv_groups={"eda": [2], "ecg": [1, 0]}, **TINY)
    teacher.fit(X, y, X_priv=X_priv)
    seen = {}

    def recorder(name):
        def hook(module, args, output):
            seen.setdefault(name, args[0].clone())  # first batch; None keeps the output
        return hook

    hooks = [encoder.register_forward_hook(recorder(name))
             for name, encoder in zip(teacher.priv_groups_, teacher.net_.module_.priv_encoders)]
    try:
        teacher.transform(X, X_priv)
    finally:
        for hook in hooks:
            hook.remove()
    scaled = teacher.priv_scaler_.transform(X_priv).astype(np.float32)
    batch = len(seen["eda"])
    np.testing.assert_allclose(seen["eda"].numpy(), scaled[:batch, [2]])
    np.testing.assert_allclose(seen["ecg"].numpy(), scaled[:batch, [1, 0]])


@pytest.mark.parametrize("fusion", ["concat", "attention"])
def test_every_modality_reaches_the_output(data, fusion):
    X, X_priv, y, _ = data
    teacher = PrivilegedTeacher(priv_groups={"ecg": [0, 1], "eda": [2]}, fusion=fusion, **FAST)
    teacher.fit(X, y, X_priv=X_priv)
    reference = teacher.transform(X, X_priv)
    np.testing.assert_array_equal(teacher.transform(X, X_priv), reference)
    for columns in ([0, 1], [2]):
        changed = teacher.transform(X, shuffled_columns(X_priv, columns))
        assert not np.allclose(changed, reference, atol=1e-5)


def test_one_group_of_every_column_is_the_single_modality(data):
    X, X_priv, y, _ = data
    single = PrivilegedTeacher(**FAST).fit(X, y, X_priv=X_priv)
    grouped = PrivilegedTeacher(priv_groups=[slice(None)], **FAST).fit(X, y, X_priv=X_priv)
    np.testing.assert_array_equal(single.transform(X, X_priv), grouped.transform(X, X_priv))


def test_groups_by_dataframe_column_names(data):
    X, X_priv, y, _ = data
    frame = pd.DataFrame(X_priv, columns=NAMES)
    teacher = PrivilegedTeacher(priv_groups={"ecg": ["ecg_hr", "ecg_hrv"], "eda": ["eda"]},
                                **FAST).fit(X, y, X_priv=frame)
    assert list(teacher.priv_feature_names_in_) == NAMES
    np.testing.assert_array_equal(teacher.priv_groups_["ecg"], [0, 1])
    np.testing.assert_array_equal(teacher.priv_groups_["eda"], [2])
    expected = teacher.transform(X, X_priv)
    # A DataFrame is read by column name, whatever the column order.
    reordered = frame[["eda", "ecg_hr", "ecg_hrv"]]
    np.testing.assert_array_equal(teacher.transform(X, reordered), expected)
    np.testing.assert_array_equal(teacher.predict(X, reordered), teacher.predict(X, X_priv))
    np.testing.assert_array_equal(teacher.predict_proba(X, reordered),
                                  teacher.predict_proba(X, frame))
    with pytest.raises(ValueError, match=r"missing \['eda'\]"):
        teacher.predict(X, frame.drop(columns="eda"))
    with pytest.raises(ValueError, match=r"unexpected \['resp'\]"):
        teacher.predict(X, frame.assign(resp=0.0))


def test_student_passes_the_dataframe_to_its_teacher(data):
    X, X_priv, y, _ = data
    frame = pd.DataFrame(X_priv, columns=NAMES)
    teacher = PrivilegedTeacher(priv_groups={"ecg": ["ecg_hr", "ecg_hrv"], "eda": ["eda"]},
                                **TINY)
    student = PKDOTStudent(teacher=teacher, safeguard=None, **TINY).fit(X, y, X_priv=frame)
    assert student.distilled_
    assert list(student.teacher_.priv_groups_) == ["ecg", "eda"]


# --------------------------------------------------------------- bad groups
@pytest.mark.parametrize("priv_groups, message", [
    ({"ecg": [0, 1], "eda": [3]}, r"out of range"),
    ({"ecg": [0, 1], "eda": [-4, 2]}, r"out of range"),
    ({"ecg": [0, 1], "eda": []}, r"selects no column"),
    ({"ecg": slice(0, 2), "eda": slice(5, 9)}, r"selects no column"),
    ({"ecg": [0, 1], "eda": [1, 2]}, r"columns \[1\] are in both group 'ecg' and group 'eda'"),
    ({"ecg": [0, 0, 1], "eda": [2]}, r"more than once"),
    ({"ecg": ["ecg_hr", "ecg_hrv"], "eda": ["eda"]}, r"pandas DataFrame"),
    ({"ecg": [0, 1.5], "eda": [2]}, r"column positions, a slice or a list of column names"),
    ({"ecg": [True, False], "eda": [2]}, r"column positions, a slice or a list"),
    ([0, 1, 2], r"nest its list"),
    ({}, r"priv_groups is empty"),
    ({0: [0, 1], 1: [2]}, r"must be strings"),
    ("ecg", r"'priv_groups' parameter of PrivilegedTeacher must be"),
])
def test_bad_priv_groups_name_the_parameter(data, priv_groups, message):
    X, X_priv, y, _ = data
    with pytest.raises(ValueError, match="priv_groups") as info:
        PrivilegedTeacher(priv_groups=priv_groups, **TINY).fit(X, y, X_priv=X_priv)
    assert info.match(message)


def test_unknown_column_names_are_listed(data):
    X, X_priv, y, _ = data
    frame = pd.DataFrame(X_priv, columns=NAMES)
    with pytest.raises(ValueError, match=r"priv_groups: group 'eda' names columns \['gsr'\]"):
        PrivilegedTeacher(priv_groups={"ecg": ["ecg_hr", "ecg_hrv"], "eda": ["gsr"]},
                          **TINY).fit(X, y, X_priv=frame)


def test_uncovered_columns_raise_instead_of_being_dropped(data):
    X, X_priv, y, _ = data
    with pytest.raises(ValueError, match=r"priv_groups leaves the X_priv columns \[2\]"):
        PrivilegedTeacher(priv_groups={"ecg": [0, 1]}, **TINY).fit(X, y, X_priv=X_priv)
    frame = pd.DataFrame(X_priv, columns=NAMES)
    with pytest.raises(ValueError, match=r"columns \['ecg_hrv'\] in no group"):
        PrivilegedTeacher(priv_groups=[["ecg_hr"], ["eda"]], **TINY).fit(X, y, X_priv=frame)
    # Dropping the column explicitly is the way to leave it out.
    teacher = PrivilegedTeacher(priv_groups=[["ecg_hr"], ["eda"]], **TINY)
    teacher.fit(X, y, X_priv=frame.drop(columns="ecg_hrv"))
    assert teacher.n_priv_features_in_ == 2


# ---------------------------------------------------------------- encoders
def test_priv_module_per_modality(data):
    X, X_priv, y, _ = data
    ecg = torch.nn.Sequential(torch.nn.Linear(2, 5), torch.nn.Tanh())
    teacher = PrivilegedTeacher(priv_groups={"ecg": [0, 1], "eda": [2]},
                                priv_module={"ecg": ecg}, **TINY).fit(X, y, X_priv=X_priv)
    custom, default = teacher.net_.module_.priv_encoders
    assert isinstance(custom, torch.nn.Sequential) and custom is not ecg
    assert custom[0].out_features == 5
    assert type(default).__name__ == "MLPEncoder"
    as_list = PrivilegedTeacher(priv_groups={"ecg": [0, 1], "eda": [2]},
                                priv_module=[None, torch.nn.Linear(1, 3)], **TINY)
    assert as_list.fit(X, y, X_priv=X_priv).net_.module_.priv_encoders[1].out_features == 3


def test_dropped_modality_is_never_read(data):
    X, X_priv, y, _ = data
    teacher = PrivilegedTeacher(priv_groups={"ecg": [0, 1], "eda": [2]},
                                priv_module={"eda": "drop"}, **FAST).fit(X, y, X_priv=X_priv)
    assert list(teacher.priv_groups_) == ["ecg"] and teacher.priv_dropped_ == ["eda"]
    assert len(teacher.net_.module_.priv_encoders) == 1
    assert len(teacher.transform_modalities(X, X_priv)) == 2  # regular + ecg
    reference = teacher.transform(X, X_priv)
    np.testing.assert_array_equal(teacher.transform(X, shuffled_columns(X_priv, [2])),
                                  reference)
    assert not np.allclose(teacher.transform(X, shuffled_columns(X_priv, [0, 1])), reference,
                           atol=1e-5)
    # Still the whole X_priv at prediction: dropping is not a narrower input.
    with pytest.raises(ValueError, match="X_priv has 2 features"):
        teacher.transform(X, X_priv[:, :2])


def test_per_modality_teachers_share_one_X_priv_in_a_multi_teacher_student(data):
    X, X_priv, y, groups = data
    grouping = {"ecg": [0, 1], "eda": [2]}
    teachers = [PrivilegedTeacher(priv_groups=grouping, **FAST),
                PrivilegedTeacher(priv_groups=grouping, priv_module={"eda": "drop"}, **FAST),
                PrivilegedTeacher(priv_groups=grouping, priv_module={"ecg": "drop"}, **FAST)]
    student = PKDOTStudent(teacher=teachers, **FAST)
    scores = cross_val_score(student, X, y, groups=groups, cv=LeaveOneGroupOut(),
                             params={"X_priv": X_priv})
    assert scores.shape == (len(np.unique(groups)),) and np.all(np.isfinite(scores))
    student.fit(X, y, X_priv=X_priv)
    assert [list(t.priv_groups_) for t in student.teachers_] == [["ecg", "eda"], ["ecg"],
                                                                 ["eda"]]


@pytest.mark.parametrize("priv_module, message", [
    (torch.nn.Linear(2, 4), r"single torch.nn.Module, but priv_groups declares 2"),
    ({"ekg": torch.nn.Linear(2, 4)}, r"\['ekg'\] that are not privileged modalities"),
    ([None], r"list of 1 entries but priv_groups declares 2"),
    ([None, "mlp"], r"entry 'eda' must be None, a torch.nn.Module instance or 'drop'"),
    (["drop", "drop"], r"drops every privileged modality \['ecg', 'eda'\]"),
    ({"eda": torch.nn.Linear(3, 4)}, r"priv_module\['eda'\] failed on a \(batch, 1\) float tensor"),
])
def test_bad_priv_module(data, priv_module, message):
    X, X_priv, y, _ = data
    teacher = PrivilegedTeacher(priv_groups={"ecg": [0, 1], "eda": [2]},
                                priv_module=priv_module, **TINY)
    with pytest.raises(ValueError, match=message):
        teacher.fit(X, y, X_priv=X_priv)


# ------------------------------------------------------------------ fusion
def test_attention_fusion_learns():
    X, X_priv, y, groups = make_privileged_classification(
        n_subjects=5, n_samples_per_subject=60, n_features=6, n_priv_features=4, random_state=0)
    # Scored on a subject the teachers never saw (with its privileged data).
    train, test = groups != 4, groups == 4
    params = dict(priv_groups={"a": [0, 1], "b": [2, 3]}, max_epochs=20, lr=1e-2,
                  batch_size=32, random_state=0)
    scores = {}
    for fusion in ("attention", "concat"):
        teacher = PrivilegedTeacher(fusion=fusion, **params)
        teacher.fit(X[train], y[train], X_priv=X_priv[train])
        scores[fusion] = teacher.score(X[test], y[test], X_priv[test])
    assert isinstance(teacher.net_.module_.fusion, ConcatFusion)
    chance = np.bincount(y[test]).max() / test.sum()
    assert scores["attention"] > chance + 0.25
    assert scores["attention"] > scores["concat"] - 0.15


def test_attention_teacher_without_privileged_data(data):
    X, _, y, _ = data
    with pytest.warns(PrivilegedDataWarning):
        teacher = PrivilegedTeacher(fusion="attention", **FAST).fit(X, y)
    assert teacher.priv_groups_ == {}
    assert len(teacher.net_.module_.priv_encoders) == 0
    Z = teacher.transform(X)
    assert Z.shape == (len(X), 64) and np.isfinite(Z).all()
    assert np.isfinite(teacher.predict_proba(X)).all()


def test_attention_heads_fit_any_embedding_dim(data):
    X, X_priv, y, _ = data
    teacher = PrivilegedTeacher(fusion="attention", embedding_dim=6, **TINY)
    teacher.fit(X, y, X_priv=X_priv)
    assert teacher.net_.module_.fusion.attention.num_heads == 2
    assert teacher.embedding_dim_ == 6


class MeanFusion(torch.nn.Module):
    """Mean of the modality embeddings, each projected to 16 columns."""

    calls = 0

    def __init__(self, in_dims, width=16):
        super().__init__()
        self.project = torch.nn.ModuleList(torch.nn.Linear(d, width) for d in in_dims)

    def forward(self, embeddings):
        MeanFusion.calls += 1
        return torch.stack([p(e) for p, e in zip(self.project, embeddings)]).mean(dim=0)


def test_custom_fusion_module_is_used(data):
    X, X_priv, y, _ = data
    fusion = MeanFusion([64, 64, 64])
    initial = fusion.project[0].weight.detach().clone()
    MeanFusion.calls = 0
    teacher = PrivilegedTeacher(priv_groups=[[0, 1], [2]], fusion=fusion, module_weights="reset",
                                **FAST)
    teacher.fit(X, y, X_priv=X_priv)
    trained = teacher.net_.module_.fusion
    assert isinstance(trained, MeanFusion) and trained is not fusion
    # The measuring pass, then one call per training batch.
    assert MeanFusion.calls > FAST["max_epochs"]
    assert teacher.embedding_dim_ == 16 and teacher.transform(X, X_priv).shape == (len(X), 16)
    assert torch.equal(fusion.project[0].weight, initial)
    # Re-initialised, then trained: not the user's weights.
    assert not torch.equal(trained.project[0].weight.cpu(), initial)


def test_custom_fusion_user_attention_is_reinitialised(data):
    X, X_priv, y, _ = data
    fusion = AttentionFusion([64, 64], embedding_dim=8, n_heads=1)
    in_proj = fusion.attention.in_proj_weight.detach().clone()
    a = PrivilegedTeacher(fusion=fusion, module_weights="reset", **TINY).fit(X, y, X_priv=X_priv)
    b = PrivilegedTeacher(fusion=fusion, module_weights="reset", **{**TINY, "random_state": 1}
                          ).fit(X, y, X_priv=X_priv)
    assert a.embedding_dim_ == 8
    assert torch.equal(fusion.attention.in_proj_weight, in_proj)
    assert not torch.equal(a.net_.module_.fusion.attention.in_proj_weight,
                           b.net_.module_.fusion.attention.in_proj_weight)


def test_fusion_protocol_violations_are_clear(data):
    X, X_priv, y, _ = data

    class Stack(torch.nn.Module):
        def forward(self, embeddings):
            return torch.stack(embeddings, dim=1)  # (batch, M, d): 3-D

    with pytest.raises(ValueError, match=r"fusion must map a list of 3 embeddings .* 2-D"):
        PrivilegedTeacher(priv_groups=[[0, 1], [2]], fusion=Stack(), **TINY).fit(
            X, y, X_priv=X_priv)
    # Built for the wrong widths: the error names what the block received.
    with pytest.raises(ValueError, match=r"fusion failed on a list of 3 embeddings"):
        PrivilegedTeacher(priv_groups=[[0, 1], [2]], fusion=MeanFusion([64, 32, 64]),
                          **TINY).fit(X, y, X_priv=X_priv)
    with pytest.raises(ValueError, match="'fusion' parameter of PrivilegedTeacher"):
        PrivilegedTeacher(fusion="sum", **TINY).fit(X, y, X_priv=X_priv)


# ------------------------------------------------ scikit-learn integration
def test_cross_val_score_loso_slices_X_priv_per_fold(data):
    X, X_priv, y, groups = data

    class SpyTeacher(PrivilegedTeacher):
        def fit(self, X, y, X_priv=None):
            self.seen_X_priv_ = X_priv
            return super().fit(X, y, X_priv=X_priv)

    teacher = SpyTeacher(priv_groups={"ecg": [0, 1], "eda": [2]}, fusion="attention", **TINY)
    result = cross_validate(
        PKDOTStudent(teacher=teacher, **TINY), X, y, groups=groups, cv=LeaveOneGroupOut(),
        params={"X_priv": X_priv}, return_estimator=True, return_indices=True,
    )
    assert result["test_score"].shape == (4,)
    for student, train in zip(result["estimator"], result["indices"]["train"]):
        seen = student.teacher_.seen_X_priv_
        assert isinstance(seen, np.ndarray)
        np.testing.assert_array_equal(seen, X_priv[train])
        assert isinstance(student.teacher_.net_.module_.fusion, AttentionFusion)
    scores = cross_val_score(PKDOTStudent(teacher=clone(teacher), **TINY), X, y, groups=groups,
                             cv=LeaveOneGroupOut(), params={"X_priv": X_priv})
    np.testing.assert_allclose(scores, result["test_score"])


def test_cross_val_score_with_a_dataframe_X_priv(data):
    X, X_priv, y, groups = data
    frame = pd.DataFrame(X_priv, columns=NAMES)
    teacher = PrivilegedTeacher(priv_groups={"ecg": ["ecg_hr", "ecg_hrv"], "eda": ["eda"]},
                                **TINY)
    scores = cross_val_score(PKDOTStudent(teacher=teacher, **TINY), X, y, groups=groups,
                             cv=LeaveOneGroupOut(), params={"X_priv": frame})
    assert scores.shape == (4,)


def test_pipeline_with_grouped_teacher(data):
    X, X_priv, y, _ = data
    teacher = PrivilegedTeacher(priv_groups=[[0, 1], [2]], fusion="attention", **TINY)
    pipe = make_pipeline(StandardScaler(), PKDOTStudent(teacher=teacher, safeguard=None, **TINY))
    pipe.fit(X, y, pkdotstudent__X_priv=X_priv)
    assert pipe[-1].distilled_ and pipe.predict(X).shape == y.shape


def test_grid_search_over_teacher_fusion(data):
    X, X_priv, y, groups = data
    teacher = PrivilegedTeacher(priv_groups={"ecg": [0, 1], "eda": [2]}, **TINY)
    grid = {"teacher__fusion": ["concat", "attention"]}
    search = GridSearchCV(PKDOTStudent(teacher=teacher, **TINY), grid, cv=LeaveOneGroupOut())
    search.fit(X, y, groups=groups, X_priv=X_priv)
    assert [p["teacher__fusion"] for p in search.cv_results_["params"]] == ["concat",
                                                                             "attention"]
    best = search.best_estimator_.teacher_
    assert best.fusion == search.best_params_["teacher__fusion"]
    expected = AttentionFusion if best.fusion == "attention" else ConcatFusion
    assert isinstance(best.net_.module_.fusion, expected)


def test_clone_and_get_params_round_trip():
    fusion = MeanFusion([64, 64, 64])
    priv_groups = {"ecg": [0, 1], "eda": slice(2, 3)}
    teacher = PrivilegedTeacher(priv_groups=priv_groups, fusion=fusion,
                                priv_module={"eda": torch.nn.Linear(1, 4)})
    student = PKDOTStudent(teacher=teacher)
    params = student.get_params()
    assert params["teacher__priv_groups"] == priv_groups
    assert params["teacher__fusion"] is fusion
    cloned = clone(student)
    assert cloned.teacher.priv_groups == priv_groups
    assert isinstance(cloned.teacher.fusion, MeanFusion) and cloned.teacher.fusion is not fusion
    assert set(cloned.teacher.priv_module) == {"eda"}
    cloned.set_params(teacher__fusion="attention", teacher__priv_groups=None)
    assert cloned.teacher.fusion == "attention" and cloned.teacher.priv_groups is None
    assert student.teacher.fusion is fusion
    assert clone(teacher).get_params(deep=False).keys() == teacher.get_params(deep=False).keys()


def test_refit_without_names_forgets_them(data):
    X, X_priv, y, _ = data
    teacher = PrivilegedTeacher(**TINY).fit(X, y, X_priv=pd.DataFrame(X_priv, columns=NAMES))
    assert hasattr(teacher, "priv_feature_names_in_")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        teacher.fit(X, y, X_priv=X_priv)
    assert not hasattr(teacher, "priv_feature_names_in_")


def test_pickle_round_trip_keeps_the_column_routing(data):
    import pickle

    X, X_priv, y, _ = data
    teacher = PrivilegedTeacher(priv_groups={"eda": [2], "ecg": [1, 0]}, fusion="attention",
                                **TINY).fit(X, y, X_priv=X_priv)
    restored = pickle.loads(pickle.dumps(teacher))
    np.testing.assert_array_equal(restored.transform(X, X_priv), teacher.transform(X, X_priv))
    np.testing.assert_array_equal(restored.net_.module_.priv_columns_1.numpy(), [1, 0])


# ------------------------------------------------ partly recorded modalities
def _missing(X_priv, rows, columns):
    X_priv = X_priv.copy()
    X_priv[np.ix_(rows, columns)] = np.nan
    return X_priv


def test_a_modality_missing_from_some_rows_is_masked_in_the_fusion(data):
    X, X_priv, y, _ = data
    rows = np.arange(0, len(y), 3)  # EDA not recorded in a third of the rows
    partial = _missing(X_priv, rows, [2])
    teacher = PrivilegedTeacher(priv_groups={"ecg": [0, 1], "eda": [2]}, **FAST)
    teacher.fit(X, y, X_priv=partial)
    regular, ecg, eda = teacher.transform_modalities(X, partial)
    # No EDA embedding where EDA is missing; the others everywhere.
    np.testing.assert_array_equal(np.isnan(eda).any(axis=1), np.isin(np.arange(len(y)), rows))
    assert np.isfinite(regular).all() and np.isfinite(ecg).all()
    # The fused embedding of those rows is the fusion of X's and ECG's
    # embeddings with a zero EDA embedding, whatever EDA's encoder would say.
    module = teacher.net_.module_.eval()
    with torch.no_grad():
        by_hand = module.fusion([torch.from_numpy(regular[rows]), torch.from_numpy(ecg[rows]),
                                 torch.zeros(len(rows), eda.shape[1])]).numpy()
    np.testing.assert_allclose(teacher.transform(X, partial)[rows], by_hand, rtol=1e-5,
                               atol=1e-6)
    recorded = np.setdiff1d(np.arange(len(y)), rows)
    np.testing.assert_array_equal(teacher.transform(X, partial)[recorded],
                                  teacher.transform(X, X_priv)[recorded])


@pytest.mark.parametrize("make_bad, match", [
    (lambda Xp: _missing(Xp, [4], [0]), r"NaN in some but not all values of modality 'ecg' "
                                        r"in 1 row\(s\) \(first: row 4\)"),
    (lambda Xp: _missing(Xp, np.arange(len(Xp)), [2]), "modality 'eda' is missing .* in "
                                                       "every training row"),
    (lambda Xp: np.where(np.arange(Xp.size).reshape(Xp.shape) == 5, np.inf, Xp),
     "X_priv contains infinity"),
    (lambda Xp: np.full_like(Xp, np.nan), "X_priv is NaN everywhere"),
])
def test_missing_privileged_values_other_than_whole_modalities_are_refused(data, make_bad,
                                                                           match):
    X, X_priv, y, _ = data
    with pytest.raises(ValueError, match=match):
        PrivilegedTeacher(priv_groups={"ecg": [0, 1], "eda": [2]}, **TINY).fit(
            X, y, X_priv=make_bad(X_priv))


def test_one_modality_teacher_says_how_to_declare_modalities(data):
    X, X_priv, y, _ = data
    with pytest.raises(ValueError, match=r"priv_groups=None, X_priv is one modality"):
        PrivilegedTeacher(**TINY).fit(X, y, X_priv=_missing(X_priv, [3], [2]))


def test_rows_without_privileged_data_train_the_task_but_not_the_distillation(data):
    X, X_priv, y, _ = data
    without = np.arange(1, len(y), 2)  # half the rows: nothing recorded
    partial = _missing(X_priv, without, [0, 1, 2])
    student = PKDOTStudent(safeguard=None, **FAST).fit(X, y, X_priv=partial)
    assert student.distilled_
    targets, _ = student._distillation_targets(student.teachers_, X, partial,
                                               student._task.encode_targets(student, y))
    np.testing.assert_array_equal(targets["distilled_rows"],
                                  ~np.isin(np.arange(len(y)), without))
    with pytest.raises(ValueError, match=r"hallucinate=True needs privileged data in every "
                                         r"row; 60 training row\(s\) have none"):
        PKDOTStudent(hallucinate=True, safeguard=None, **FAST).fit(X, y, X_priv=partial)
