"""
What distillation did: similarity structure, transport plan, curves, subjects
=============================================================================

The pictures of :mod:`pkdot_sk.plotting` on the built-in regression subjects
(``make_privileged_regression``), where the privileged view reads the target
almost cleanly and distillation has something to transfer.

1. A PKDOT student is fitted with its default teacher on the 8 subjects
   (``validation_fraction=0.2`` records a validation score per epoch).
2. :class:`~pkdot_sk.plotting.SimilarityDisplay`: the teacher's and the
   student's cosine similarities on the same rows, sorted by subject, and
   their difference: the structure the PKDOT term transfers.
3. :class:`~pkdot_sk.plotting.TransportPlanDisplay`: one batch's anchors on
   the teacher's matrix and the transport plan between the two anchor clouds.
4. :class:`~pkdot_sk.plotting.TrainingCurvesDisplay`: teacher and student
   losses per epoch (task and distillation terms apart), validation score.
5. :class:`~pkdot_sk.plotting.EmbeddingDisplay`: both embeddings on their
   first two principal components, coloured by the sign of the target.
6. :class:`~pkdot_sk.plotting.SubjectScoresDisplay`: leave-one-subject-out
   R^2 per held-out subject of the teacher, the student without
   distillation and the PKDOT student (default safeguard on).

It prints (the default 100 epochs, ``n_threads=1``)::

    R^2 per held-out subject, mean: teacher 0.818, none 0.565, PKDOT 0.647

the figures of the demo (``python -m pkdot_sk demo``). Run with ``python
examples/plot_distillation.py`` (about 48 s on 2 CPU cores, folds in 2
processes of one torch thread); the figures open in a window, or are drawn
off screen on a headless machine.
"""

import numpy as np
import sklearn
from sklearn.model_selection import LeaveOneGroupOut, cross_validate

from pkdot_sk import PKDOTStudent, PrivilegedTeacher
from pkdot_sk.datasets import make_privileged_regression
from pkdot_sk.plotting import (EmbeddingDisplay, SimilarityDisplay, SubjectScoresDisplay,
                               TrainingCurvesDisplay, TransportPlanDisplay)

X, X_priv, y, groups = make_privileged_regression(random_state=0)  # 8 subjects x 75 rows
common = dict(task="regression", n_threads=1, random_state=0)

# %%
# A student that distils (``safeguard=None``: always), with a validation
# split for the per-epoch score.
student = PKDOTStudent(validation_fraction=0.2, safeguard=None, **common)
student.fit(X, y, X_priv=X_priv, groups=groups)

# %%
# The similarity structure on the same rows, sorted by subject.
SimilarityDisplay.from_estimator(student, X, X_priv, y=None, groups=groups, max_rows=200)

# %%
# One batch: each row's anchors (here every column: ``anchors="all"``) and the
# transport plan, near the diagonal where the student's structure matches.
TransportPlanDisplay.from_estimator(student, X, X_priv, batch_size=64)

# %%
# Training curves of the teacher and the student.
TrainingCurvesDisplay.from_estimator(student)

# %%
# The two embeddings, coloured by the sign of the target.
EmbeddingDisplay.from_estimator(student, X, X_priv, np.where(y > 0, "y > 0", "y <= 0"))

# %%
# Leave-one-subject-out: teacher, no distillation, PKDOT (default safeguard).
cv = LeaveOneGroupOut()
# The teacher needs X_priv to predict too: routed to its score with routing on.
with sklearn.config_context(enable_metadata_routing=True):
    teacher_scores = cross_validate(PrivilegedTeacher(**common), X, y, cv=cv,
                                    params={"X_priv": X_priv, "groups": groups})
results = {
    "teacher": teacher_scores,
    "none": cross_validate(PKDOTStudent(distillation="none", **common), X, y,
                           groups=groups, cv=cv, n_jobs=2),
    "PKDOT": cross_validate(PKDOTStudent(**common), X, y, groups=groups, cv=cv,
                            params={"X_priv": X_priv, "groups": groups}, n_jobs=2),
}
SubjectScoresDisplay.from_cv_results(results, groups, score_name="R^2")
print("R^2 per held-out subject, mean: " + ", ".join(
    f"{name} {result['test_score'].mean():.3f}" for name, result in results.items()))
