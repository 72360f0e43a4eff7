"""Pictures of what distillation did, in scikit-learn's Display style.

Each Display computes what it shows in a ``from_estimator`` (or
``from_cv_results``) class method, keeps it as attributes, and draws it with
``plot(ax=None)``, which returns the Display with ``figure_`` and ``ax_``
(an array of axes where it draws several panels). matplotlib is an optional
dependency: ``pip install "pkdot-sk[plot]"``; any backend works, headless
ones included.

* :class:`SimilarityDisplay`: the teacher's and the student's
  cosine-similarity matrices on the same rows, sorted by class (or level)
  and subject, side by side with their difference: the structure PKDOT
  transfers.
* :class:`TransportPlanDisplay`: the anchor columns of one batch and the
  optimal transport plan between the student's and the teacher's anchor
  clouds (computed by POT).
* :class:`TrainingCurvesDisplay`: per epoch, the training losses (task and
  distillation terms apart), and the validation score, teacher and student.
* :class:`SubjectScoresDisplay`: leave-one-subject-out scores per held-out
  subject, for several models side by side (e.g. teacher, no distillation,
  PKDOT), from ``cross_validate`` results.
* :class:`EmbeddingDisplay`: 2-D principal-component views of the teacher's
  and the student's embeddings, coloured by class or level.
"""

import numpy as np
import torch
from sklearn.decomposition import PCA
from sklearn.utils import _safe_indexing, check_random_state
from sklearn.utils._optional_dependencies import check_matplotlib_support
from sklearn.utils.validation import check_is_fitted

from ._pkdot import cosine_similarity_matrix

__all__ = ["SimilarityDisplay", "TransportPlanDisplay", "TrainingCurvesDisplay",
           "SubjectScoresDisplay", "EmbeddingDisplay"]


def _axes(ax, n_panels, caller, width=4.2, height=3.6):
    """``ax`` as an array of ``n_panels`` axes, new ones in one figure when None."""
    check_matplotlib_support(caller)
    import matplotlib.pyplot as plt

    if ax is None:
        figure, ax = plt.subplots(1, n_panels, figsize=(width * n_panels, height),
                                  squeeze=False, layout="constrained")
        return figure, ax[0]
    axes = np.atleast_1d(np.asarray(ax, dtype=object)).ravel()
    if len(axes) != n_panels:
        raise ValueError(f"ax must hold {n_panels} axes for this display; got {len(axes)}.")
    return axes[0].figure, axes


def _fitted_teacher(student):
    check_is_fitted(student, "net_")
    teacher = getattr(student, "teacher_", None)
    if teacher is None:
        raise ValueError(
            "this student has no fitted teacher (distillation='none', fit without X_priv, "
            "or a loaded student); the display compares the student with its teacher.")
    return teacher


def _subsample(n_rows, max_rows, random_state):
    if n_rows <= max_rows:
        return np.arange(n_rows)
    return np.sort(check_random_state(random_state).choice(n_rows, max_rows, replace=False))


def _similarity(embeddings):
    return cosine_similarity_matrix(torch.as_tensor(np.asarray(embeddings, dtype=np.float64))
                                    ).numpy()


class SimilarityDisplay:
    """The teacher's and the student's similarity structure on the same rows.

    Parameters
    ----------
    teacher_similarity, student_similarity : ndarray of shape (n, n)
        Cosine similarities of the embeddings, rows and columns in display
        order.
    labels : ndarray of shape (n,) or None
        Class (or level) of each row in display order; lines separate them.
    """

    def __init__(self, teacher_similarity, student_similarity, labels=None):
        self.teacher_similarity = teacher_similarity
        self.student_similarity = student_similarity
        self.labels = labels

    @classmethod
    def from_estimator(cls, student, X, X_priv, y=None, groups=None, *, max_rows=300,
                       random_state=0, ax=None):
        """Compute both matrices on (a sample of at most ``max_rows`` of) these
        rows, sorted by ``y`` then ``groups``, and plot them."""
        teacher = _fitted_teacher(student)
        rows = _subsample(len(X), max_rows, random_state)
        keys = [np.asarray(key)[rows] for key in (groups, y) if key is not None]
        order = rows[np.lexsort(keys)] if keys else rows
        X, priv = _safe_indexing(X, order), _safe_indexing(X_priv, order)
        display = cls(_similarity(teacher.transform(X, priv)),
                      _similarity(student.transform(X)),
                      None if y is None else np.asarray(y)[order])
        return display.plot(ax=ax)

    def plot(self, ax=None):
        """Three panels: teacher, student, student minus teacher."""
        self.figure_, self.ax_ = _axes(ax, 3, "SimilarityDisplay.plot")
        # One colour scale for both, over the range they use (ReLU
        # embeddings have cosines >= 0: -1..1 would waste half of it).
        low = min(self.teacher_similarity.min(), self.student_similarity.min(), 0.0)
        difference = self.student_similarity - self.teacher_similarity
        bound = max(float(np.abs(difference).max()), 1e-6)  # symmetric around 0
        panels = [("teacher", self.teacher_similarity, "viridis", (low, 1)),
                  ("student", self.student_similarity, "viridis", (low, 1)),
                  ("student - teacher", difference, "coolwarm", (-bound, bound))]
        self.images_ = []
        for axis, (title, matrix, cmap, (low, high)) in zip(self.ax_, panels):
            image = axis.imshow(matrix, cmap=cmap, vmin=low, vmax=high, interpolation="nearest")
            self.figure_.colorbar(image, ax=axis, fraction=0.046)
            axis.set_title(f"cosine similarity: {title}")
            axis.set_xlabel("sample")
            axis.set_ylabel("sample")
            if self.labels is not None:
                for edge in np.flatnonzero(self.labels[1:] != self.labels[:-1]) + 0.5:
                    axis.axhline(edge, color="white", linewidth=0.8)
                    axis.axvline(edge, color="white", linewidth=0.8)
            self.images_.append(image)
        return self


class TransportPlanDisplay:
    """One batch's anchors and the transport plan between the anchor clouds.

    Parameters
    ----------
    teacher_similarity : ndarray of shape (B, B)
        The teacher's shifted similarities (``S - S.min()``) of the batch.
    anchors : ndarray of shape (B, k)
        The anchor columns of each row, picked on the teacher's matrix.
    plan : ndarray of shape (B, B)
        Entropic transport plan from the student's cloud (rows) to the
        teacher's (columns), with uniform weights ``1 / B``.
    """

    def __init__(self, teacher_similarity, anchors, plan):
        self.teacher_similarity = teacher_similarity
        self.anchors = anchors
        self.plan = plan

    @classmethod
    def from_estimator(cls, student, X, X_priv, *, batch_size=None, random_state=0, ax=None):
        """Draw one batch (``batch_size`` rows, the student's by default),
        build both anchor clouds as the student's PKDOT term does (its
        ``anchors``, ``top_k``, ``ot_reg``, ``ot_normalize``) and solve the
        transport plan with POT."""
        import ot

        teacher = _fitted_teacher(student)
        rows = _subsample(len(X), batch_size or student.batch_size, random_state)
        X, priv = _safe_indexing(X, rows), _safe_indexing(X_priv, rows)
        sim_teacher = _similarity(teacher.transform(X, priv))
        sim_student = _similarity(student.transform(X))
        sim_teacher -= sim_teacher.min()
        sim_student -= sim_student.min()
        n = len(rows)
        k = n if student.anchors == "all" else min(student.top_k, n)
        order = np.argsort(sim_teacher, axis=1, kind="stable")
        anchors = order[:, ::-1][:, :k] if student.anchors == "most_similar" else order[:, :k]
        cloud_teacher = np.take_along_axis(sim_teacher, anchors, axis=1)
        cloud_student = np.take_along_axis(sim_student, anchors, axis=1)
        cost = 0.5 * ot.dist(cloud_student, cloud_teacher)  # 1/2 squared Euclidean
        reg = student.ot_reg * (k if student.ot_normalize else 1.0)
        weights = np.full(n, 1.0 / n)
        plan = ot.sinkhorn(weights, weights, cost, reg, method="sinkhorn_log",
                           numItermax=10_000)
        return cls(sim_teacher, anchors, plan).plot(ax=ax)

    def plot(self, ax=None):
        """Two panels: the teacher's similarities with each row's anchors
        marked, and the transport plan (rows: student points, columns:
        teacher points)."""
        self.figure_, self.ax_ = _axes(ax, 2, "TransportPlanDisplay.plot")
        self.similarity_image_ = self.ax_[0].imshow(self.teacher_similarity, cmap="viridis",
                                                    interpolation="nearest")
        rows = np.repeat(np.arange(len(self.anchors)), self.anchors.shape[1])
        self.anchor_points_ = self.ax_[0].scatter(self.anchors.ravel(), rows, s=4,
                                                  c="red", marker="s", label="anchors")
        self.ax_[0].set_title(f"teacher similarities, {self.anchors.shape[1]} anchors per row")
        self.ax_[0].set_xlabel("column (sample)")
        self.ax_[0].set_ylabel("row (sample)")
        self.ax_[0].legend(loc="upper right")
        self.plan_image_ = self.ax_[1].imshow(self.plan * len(self.plan), cmap="magma",
                                              vmin=0, vmax=1, interpolation="nearest")
        self.figure_.colorbar(self.plan_image_, ax=self.ax_[1], fraction=0.046)
        self.ax_[1].set_title("transport plan x B (1 on the diagonal: matched)")
        self.ax_[1].set_xlabel("teacher point")
        self.ax_[1].set_ylabel("student point")
        return self


class TrainingCurvesDisplay:
    """Per-epoch curves of the teacher's and the student's trainings.

    Parameters
    ----------
    histories : dict of str to dict of str to list of float
        For each training (e.g. ``"teacher"``, ``"student"``), its per-epoch
        values by key (``train_loss``, ``task_loss``, ``distillation_loss``,
        ``valid_loss``, ``valid_score``).
    """

    _PANELS = (("loss", ("train_loss", "task_loss", "valid_loss")),
               ("distillation loss", ("distillation_loss",)),
               ("validation score", ("valid_score",)))

    def __init__(self, histories):
        self.histories = histories

    @classmethod
    def from_estimator(cls, student, *, ax=None):
        """The student's history and, when it has one, its teacher's."""
        check_is_fitted(student, "net_")
        trainings = {"student": student}
        if getattr(student, "teacher_", None) is not None and hasattr(
                getattr(student.teacher_, "net_", None), "history"):
            trainings = {"teacher": student.teacher_, "student": student}
        histories = {}
        for name, model in trainings.items():
            history = model.net_.history
            keys = {key for row in history for key in row if key not in ("batches", "epoch")}
            histories[name] = {key: [row.get(key, np.nan) for row in history]
                               for key in sorted(keys)
                               if any(key == k for _, ks in cls._PANELS for k in ks)}
        return cls(histories).plot(ax=ax)

    def plot(self, ax=None):
        """One panel per kind of value that any training recorded."""
        panels = [(title, keys) for title, keys in self._PANELS
                  if any(key in history for history in self.histories.values()
                         for key in keys)]
        self.figure_, self.ax_ = _axes(ax, len(panels), "TrainingCurvesDisplay.plot")
        self.lines_ = {}
        for axis, (title, keys) in zip(self.ax_, panels):
            for name, history in self.histories.items():
                for key in keys:
                    if key in history:
                        values = history[key]
                        (line,) = axis.plot(np.arange(1, len(values) + 1), values,
                                            label=f"{name} {key}")
                        self.lines_[(name, key)] = line
            axis.set_title(title)
            axis.set_xlabel("epoch")
            axis.legend()
        return self


class SubjectScoresDisplay:
    """Leave-one-subject-out scores per held-out subject, models side by side.

    Parameters
    ----------
    scores : dict of str to ndarray of shape (n_subjects,)
        Each model's test score per held-out subject.
    subjects : array-like of shape (n_subjects,)
        The held-out subject of each fold.
    score_name : str, default="score"
    """

    def __init__(self, scores, subjects, score_name="score"):
        self.scores = scores
        self.subjects = subjects
        self.score_name = score_name

    @classmethod
    def from_cv_results(cls, results, groups, *, score_name="score", ax=None):
        """``results`` maps each model's name to its ``cross_validate``
        output (or its test scores) under ``LeaveOneGroupOut``; ``groups``
        are the rows' subjects, whose sorted distinct values are the
        folds' held-out subjects."""
        scores = {name: np.asarray(result["test_score"] if isinstance(result, dict)
                                   else result, dtype=float)
                  for name, result in results.items()}
        subjects = np.unique(groups)
        for name, values in scores.items():
            if len(values) != len(subjects):
                raise ValueError(
                    f"results[{name!r}] has {len(values)} scores for {len(subjects)} subjects; "
                    "expected one per held-out subject (LeaveOneGroupOut on these groups).")
        return cls(scores, subjects, score_name).plot(ax=ax)

    def plot(self, ax=None):
        """Grouped bars per subject; the mean of each model in the legend."""
        self.figure_, self.ax_ = _axes(ax, 1, "SubjectScoresDisplay.plot", width=7.0)
        axis = self.ax_[0]
        width = 0.8 / len(self.scores)
        positions = np.arange(len(self.subjects))
        self.bars_ = {}
        for index, (name, values) in enumerate(self.scores.items()):
            self.bars_[name] = axis.bar(positions + (index - (len(self.scores) - 1) / 2) * width,
                                        values, width,
                                        label=f"{name} (mean {np.mean(values):.3f})")
        axis.set_xticks(positions, [str(subject) for subject in self.subjects])
        axis.set_xlabel("held-out subject")
        axis.set_ylabel(self.score_name)
        axis.legend()
        return self


class EmbeddingDisplay:
    """2-D principal-component views of the teacher's and the student's embeddings.

    Parameters
    ----------
    teacher_points, student_points : ndarray of shape (n, 2)
    labels : ndarray of shape (n,) or None
    """

    def __init__(self, teacher_points, student_points, labels=None):
        self.teacher_points = teacher_points
        self.student_points = student_points
        self.labels = labels

    @classmethod
    def from_estimator(cls, student, X, X_priv, y=None, *, max_rows=1000, random_state=0,
                       ax=None):
        """Project each model's embeddings of these rows on its own first two
        principal components."""
        teacher = _fitted_teacher(student)
        rows = _subsample(len(X), max_rows, random_state)
        X, priv = _safe_indexing(X, rows), _safe_indexing(X_priv, rows)
        points = [PCA(n_components=2).fit_transform(np.asarray(z, dtype=np.float64))
                  for z in (teacher.transform(X, priv), student.transform(X))]
        return cls(*points, None if y is None else np.asarray(y)[rows]).plot(ax=ax)

    def plot(self, ax=None):
        """Two scatter panels, one colour per class (or level)."""
        self.figure_, self.ax_ = _axes(ax, 2, "EmbeddingDisplay.plot")
        labels = self.labels if self.labels is not None else np.zeros(len(self.teacher_points))
        self.scatters_ = []
        for axis, (title, points) in zip(self.ax_, (("teacher", self.teacher_points),
                                                   ("student", self.student_points))):
            for label in np.unique(labels):
                chosen = labels == label
                self.scatters_.append(axis.scatter(
                    points[chosen, 0], points[chosen, 1], s=8,
                    label=None if self.labels is None else str(label)))
            axis.set_title(f"{title} embedding (PCA)")
            axis.set_xlabel("component 1")
            axis.set_ylabel("component 2")
            if self.labels is not None:
                axis.legend(title="class", markerscale=2)
        return self
