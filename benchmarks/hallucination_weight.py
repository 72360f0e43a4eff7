"""Why does ``hallucinate=True`` not help? The loss term or the architecture?

The valence/arousal data of ``benchmarks/capabilities.py`` (two privileged
modalities, ecg and eda), its first ``--folds`` leave-one-subject-out folds.
Per fold one concat teacher, then students: regular-only, plain PKDOT, and
PKDOT with ``hallucinate=True`` at ``hallucination_weight`` 0 (the
hallucinating architecture, its transformation nets never pulled towards the
teacher), 0.1 and 1 (the default). Prints the CCC per fold and the mean, and
writes ``benchmarks/results/hallucination_weight.md``.

Run: ``python benchmarks/hallucination_weight.py`` (about 4 minutes on 2 cores).
"""

import argparse
import sys
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import LeaveOneGroupOut

from _common import AFFECT_GROUPS, load_affect

RESULTS = Path(__file__).parent / "results"
STUDENTS = {
    "none": dict(distillation="none"),
    "pkdot": {},
    "hallucinate, weight 0": dict(hallucinate=True, hallucination_weight=0.0),
    "hallucinate, weight 0.1": dict(hallucinate=True, hallucination_weight=0.1),
    "hallucinate, weight 1": dict(hallucinate=True),
}


def run_fold(data, fold, train, test, epochs):
    import torch

    from pkdot_sk import PKDOTStudent, PrivilegedTeacher
    from pkdot_sk.metrics import concordance_correlation_coefficient

    torch.set_num_threads(1)  # folds run in parallel processes
    X, X_priv, y, _ = data
    common = dict(task="regression", max_epochs=epochs, random_state=1000 + fold)
    teacher = FrozenEstimator(PrivilegedTeacher(priv_groups=AFFECT_GROUPS, **common).fit(
        X[train], y[train], X_priv=X_priv[train]))
    scores = {}
    for name, params in STUDENTS.items():
        student = PKDOTStudent(teacher=teacher, **common, **params)
        student.fit(X[train], y[train], X_priv=X_priv[train])
        scores[name] = concordance_correlation_coefficient(y[test], student.predict(X[test]))
    return scores


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=6)
    parser.add_argument("--max-epochs", type=int, default=100)
    parser.add_argument("--n-jobs", type=int, default=-1)
    args = parser.parse_args()
    data = load_affect("valence_arousal")
    splits = list(LeaveOneGroupOut().split(data[0], data[2], data[3]))[:args.folds]
    results = Parallel(n_jobs=args.n_jobs)(
        delayed(run_fold)(data, fold, train, test, args.max_epochs)
        for fold, (train, test) in enumerate(splits))
    command = " ".join(["python benchmarks/hallucination_weight.py"] + sys.argv[1:])
    text = (f"# Hallucination: loss weight or architecture?\n\nCommand: `{command}`. "
            f"Valence/arousal data of `capabilities.py`, first {len(splits)} held-out "
            f"subjects, {args.max_epochs} epochs; CCC averaged over the two outputs.\n\n"
            "| student | " + " | ".join(f"fold {i}" for i in range(len(splits)))
            + " | mean |\n|---|" + "---|" * (len(splits) + 1) + "\n")
    for name in STUDENTS:
        values = [r[name] for r in results]
        text += (f"| {name} | " + " | ".join(f"{v:.3f}" for v in values)
                 + f" | {np.mean(values):.3f} |\n")
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "hallucination_weight.md").write_text(text)


if __name__ == "__main__":
    main()
