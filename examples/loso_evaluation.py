"""
Leave-one-subject-out evaluation: regular-only student vs PKDOT student
=======================================================================

Affective computing datasets are small and grouped by subject, and a model
is expected to work on people it has never seen. The standard protocol is
therefore leave-one-subject-out (LOSO): train on all subjects but one, test
on the held-out one, repeat for every subject.

This example compares, on the built-in synthetic subjects, two students
that both predict from the regular modality X alone:

* a student trained on the task loss only (``distillation="none"``);
* a PKDOT student, whose training also fits a privileged teacher on
  (X, X_priv) and distils the teacher's similarity structure into it.

It uses ``cross_validate`` with metadata routing off (scikit-learn's
default). ``params={"X_priv": X_priv, "groups": groups}`` passes the
privileged data and the subjects to ``fit``; both have one row per sample, so
they are sliced to the training rows of each fold: the teacher never sees the
held-out subject, and the student's safeguard holds out whole subjects of the
training rows when it checks whether distillation helps (``distilled_`` says
what it decided in each fold). Scoring calls ``student.score(X_test,
y_test)``, which needs no privileged data.

Finally, the teacher itself (which needs X_priv at test time too) is scored
with metadata routing switched on inside a ``config_context``: that gives
the "privileged upper bound" the students try to approach.

Run with ``python examples/loso_evaluation.py`` (about 24 s on 2 CPU
cores with ``n_threads=1``, while other jobs kept both busy). It prints,
with the defaults (6 subjects, 30 epochs)::

    student, no distillation (X)       0.751 +- 0.044
    PKDOT student (X)                  0.751 +- 0.044
    teacher (X + X_priv, upper bound)  0.880 +- 0.013

and that the safeguard kept distillation in 0 of 6 folds: on these
classification subjects, with 30 epochs, the distilled student did not beat
the student without distillation on held-out subjects of any fold, so every
fold's PKDOT student is exactly the regular-only one. The teacher's lead
is information the regular view does not hold. ``grid_search_ot.py`` and the
demo (``python -m pkdot_sk demo``) use the regression subjects, where
distillation is kept and helps.
"""

import time

import numpy as np
import sklearn
from sklearn.model_selection import LeaveOneGroupOut, cross_val_score, cross_validate

from pkdot_sk import PKDOTStudent, PrivilegedTeacher
from pkdot_sk.datasets import make_privileged_classification

MAX_EPOCHS = 30
RANDOM_STATE = 0

X, X_priv, y, groups = make_privileged_classification(n_subjects=6, random_state=RANDOM_STATE)
print(
    f"{X.shape[0]} samples from {np.unique(groups).size} subjects; "
    f"X: {X.shape[1]} features, X_priv: {X_priv.shape[1]} features, "
    f"{np.unique(y).size} classes\n"
)

cv = LeaveOneGroupOut()
models = {
    "student, no distillation (X)": PKDOTStudent(
        distillation="none", max_epochs=MAX_EPOCHS, random_state=RANDOM_STATE, n_threads=1
    ),
    "PKDOT student (X)": PKDOTStudent(
        teacher=PrivilegedTeacher(max_epochs=MAX_EPOCHS, random_state=RANDOM_STATE, n_threads=1),
        max_epochs=MAX_EPOCHS,
        random_state=RANDOM_STATE, n_threads=1,
    ),
}

results = {}
for name, model in models.items():
    start = time.perf_counter()
    # Routing off: params go to fit and are sliced per fold. The student
    # without distillation ignores X_priv and groups.
    fitted = cross_validate(model, X, y, groups=groups, cv=cv, return_estimator=True,
                            params={"X_priv": X_priv, "groups": groups})
    results[name] = (fitted["test_score"], time.perf_counter() - start)
    kept = [student.distilled_ for student in fitted["estimator"]]
    if model.distillation != "none":
        print(f"{name}: the safeguard kept distillation in {sum(kept)} of {len(kept)} folds\n")

# The teacher needs X_priv at prediction time as well. With routing on, it
# requests X_priv for fit and score, and LeaveOneGroupOut requests groups.
start = time.perf_counter()
with sklearn.config_context(enable_metadata_routing=True):
    scores = cross_val_score(
        PrivilegedTeacher(max_epochs=MAX_EPOCHS, random_state=RANDOM_STATE, n_threads=1),
        X, y, cv=cv, params={"X_priv": X_priv, "groups": groups},
    )
results["teacher (X + X_priv, upper bound)"] = (scores, time.perf_counter() - start)

print("Accuracy per held-out subject")
width = max(len(name) for name in results)
for name, (scores, seconds) in results.items():
    per_subject = " ".join(f"{score:.2f}" for score in scores)
    print(f"  {name:<{width}}  {per_subject}")

n_folds = cv.get_n_splits(groups=groups)
print(f"\nLeave-one-subject-out accuracy (mean +- std over {n_folds} subjects)")
for name, (scores, seconds) in results.items():
    print(f"  {name:<{width}}  {scores.mean():.3f} +- {scores.std():.3f}   ({seconds:.1f} s)")
