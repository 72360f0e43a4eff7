"""Displays: what each draws (artists, labels, data), on a headless backend."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from sklearn.decomposition import PCA  # noqa: E402
from sklearn.model_selection import LeaveOneGroupOut, cross_validate  # noqa: E402

from helpers import DISTIL  # noqa: E402
from pkdot_sk import PKDOTStudent  # noqa: E402
from pkdot_sk.plotting import (EmbeddingDisplay, SimilarityDisplay,  # noqa: E402
                               SubjectScoresDisplay, TrainingCurvesDisplay,
                               TransportPlanDisplay)


@pytest.fixture(scope="module")
def fitted():
    from pkdot_sk.datasets import make_privileged_classification

    X, X_priv, y, groups = make_privileged_classification(
        n_subjects=3, n_samples_per_subject=30, n_features=6, n_priv_features=3,
        random_state=0)
    student = PKDOTStudent(validation_fraction=0.2, **DISTIL).fit(X, y, X_priv=X_priv)
    return student, X, X_priv, y, groups


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_similarity_display_shows_both_matrices_sorted_by_class(fitted):
    student, X, X_priv, y, groups = fitted
    display = SimilarityDisplay.from_estimator(student, X, X_priv, y, groups)
    assert len(display.ax_) == 3 and len(display.images_) == 3
    teacher, mine, difference = (np.asarray(image.get_array()) for image in display.images_)
    np.testing.assert_allclose(difference, mine - teacher)
    # Sorted by class: the labels shown are non-decreasing, one line per change.
    assert np.all(np.diff(display.labels) >= 0)
    n_changes = int((np.diff(display.labels) != 0).sum())
    assert len(display.ax_[0].lines) == 2 * n_changes == 2 * (len(np.unique(y)) - 1)
    assert np.allclose(np.diag(teacher), 1.0) and teacher.min() >= -1.0 - 1e-9
    assert display.ax_[1].get_title() == "cosine similarity: student"
    # Row i of the teacher's matrix: the cosines of row i's embedding.
    order = np.lexsort((groups, y))
    z = student.teacher_.transform(X[order], X_priv[order]).astype(np.float64)
    z /= np.linalg.norm(z, axis=1, keepdims=True)
    np.testing.assert_allclose(teacher[3], z @ z[3], atol=1e-5)


def test_transport_plan_display_marks_the_anchors_and_plots_a_plan(fitted):
    student, X, X_priv, y, _ = fitted
    student = PKDOTStudent(**DISTIL, anchors="least_similar", top_k=5).fit(X, y, X_priv=X_priv)
    display = TransportPlanDisplay.from_estimator(student, X, X_priv, batch_size=24)
    assert display.anchors.shape == (24, 5) and display.plan.shape == (24, 24)
    # Anchors: each row's 5 least similar columns on the teacher's matrix.
    for row, columns in enumerate(display.anchors):
        others = np.setdiff1d(np.arange(24), columns)
        assert display.teacher_similarity[row, columns].max() <= (
            display.teacher_similarity[row, others].min() + 1e-12)
    assert len(display.anchor_points_.get_offsets()) == 24 * 5
    # A transport plan: uniform marginals.
    np.testing.assert_allclose(display.plan.sum(axis=0), 1 / 24, rtol=1e-3)
    np.testing.assert_allclose(display.plan.sum(axis=1), 1 / 24, rtol=1e-3)
    np.testing.assert_allclose(display.plan_image_.get_array(), display.plan * 24)


def test_training_curves_display_draws_every_recorded_epoch(fitted):
    student = fitted[0]
    display = TrainingCurvesDisplay.from_estimator(student)
    titles = [axis.get_title() for axis in display.ax_]
    assert titles == ["loss", "distillation loss", "validation score"]
    history = student.net_.history
    for key in ("train_loss", "task_loss", "distillation_loss", "valid_score"):
        np.testing.assert_allclose(display.lines_[("student", key)].get_ydata(),
                                   history[:, key])
    np.testing.assert_allclose(display.lines_[("teacher", "train_loss")].get_ydata(),
                               student.teacher_.net_.history[:, "train_loss"])
    assert ("teacher", "distillation_loss") not in display.lines_
    assert display.lines_[("student", "valid_score")].get_xdata()[-1] == len(history)


def test_subject_scores_display_groups_the_models_per_held_out_subject(fitted):
    student, X, X_priv, y, groups = fitted
    cv = LeaveOneGroupOut()
    results = {
        "none": cross_validate(PKDOTStudent(distillation="none", **DISTIL), X, y,
                               groups=groups, cv=cv),
        "PKDOT": cross_validate(PKDOTStudent(**DISTIL), X, y, groups=groups, cv=cv,
                                params={"X_priv": X_priv}),
    }
    display = SubjectScoresDisplay.from_cv_results(results, groups, score_name="accuracy")
    axis = display.ax_[0]
    for name, result in results.items():
        heights = [bar.get_height() for bar in display.bars_[name]]
        np.testing.assert_allclose(heights, result["test_score"])
    assert [label.get_text() for label in axis.get_xticklabels()] == ["0", "1", "2"]
    assert axis.get_ylabel() == "accuracy"
    assert [text.get_text().split(" (")[0] for text in axis.get_legend().get_texts()] == [
        "none", "PKDOT"]
    with pytest.raises(ValueError, match=r"results\['none'\] has 2 scores for 3 subjects"):
        SubjectScoresDisplay.from_cv_results({"none": [0.5, 0.6]}, groups)


def test_embedding_display_projects_each_embedding_on_its_own_components(fitted):
    student, X, X_priv, y, _ = fitted
    display = EmbeddingDisplay.from_estimator(student, X, X_priv, y)
    expected = PCA(n_components=2).fit_transform(student.transform(X).astype(np.float64))
    np.testing.assert_allclose(display.student_points, expected, atol=1e-6)
    n_classes = len(np.unique(y))
    assert len(display.scatters_) == 2 * n_classes
    drawn = np.vstack([scatter.get_offsets() for scatter in display.scatters_[n_classes:]])
    assert len(drawn) == len(X)
    legend = [text.get_text() for text in display.ax_[1].get_legend().get_texts()]
    assert legend == [str(label) for label in np.unique(y)]


def test_displays_draw_on_given_axes_and_refuse_a_student_without_teacher(fitted):
    student, X, X_priv, y, _ = fitted
    figure, axes = plt.subplots(1, 2)
    display = EmbeddingDisplay.from_estimator(student, X, X_priv, y, ax=axes)
    assert display.figure_ is figure and list(display.ax_) == list(axes)
    with pytest.raises(ValueError, match="ax must hold 3 axes"):
        SimilarityDisplay.from_estimator(student, X, X_priv, y, ax=axes)
    alone = PKDOTStudent(distillation="none", **DISTIL).fit(X, y)
    with pytest.raises(ValueError, match="has no fitted teacher"):
        SimilarityDisplay.from_estimator(alone, X, X_priv, y)
