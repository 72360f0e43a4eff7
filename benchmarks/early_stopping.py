"""Early stopping against fixed epochs: held-out score and training time (issue 16).

The default ``PKDOTStudent`` (its default teacher fitted inside, the
safeguard on) with ``early_stopping=True`` against the same student
trained for a fixed number of epochs (100, the default ``max_epochs``, and
30), leave-one-subject-out on the built-in synthetic data at the
generators' default size (8 subjects of 75 rows: 8 folds). ``groups``
reach ``fit``, so the validation split of early stopping holds out whole
training subjects (one of the seven: ``validation_fraction`` 0.1 rounded
up), as do the safeguard's splits; a default teacher stops by the same
rule. Early stopping keeps ``max_epochs=100`` as its ceiling and
``n_iter_no_change=10``.

The three configurations are fitted side by side, fold by fold (their
order rotating from fold to fold, so that a slow spell of the machine hits
all of them), each with ``n_threads=1`` and ``random_state=0``. The table
gives the mean and standard deviation of the score over the held-out
subjects, the epochs the student and its teacher trained (mean over
folds: the length of ``net_.history``), the folds in which the safeguard
kept distillation, and the total wall time of the fits (one per fold).

Run: ``python benchmarks/early_stopping.py`` (about 6 minutes; ``--only``
one data set, ``--subjects``, ``--rows``); writes
``results/early_stopping.md``.
"""

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.model_selection import LeaveOneGroupOut

from pkdot_sk import PKDOTStudent
from pkdot_sk.datasets._by_task import SYNTHETIC_BY_TASK

from _common import machine, markdown

RESULTS = Path(__file__).parent / "results"

# Built-in data (SYNTHETIC_BY_TASK) and the estimator parameters they need
# (as in _common.DATASETS: valence and arousal are trained with the CCC loss).
DATA = {"classification": {}, "regression": {}, "ordinal": {},
        "valence-arousal": {"regression_loss": "ccc"}}
CONFIGS = {"early_stopping=True": dict(early_stopping=True),
           "max_epochs=100": dict(max_epochs=100),
           "max_epochs=30": dict(max_epochs=30)}


def run(name, n_subjects, n_rows):
    data = SYNTHETIC_BY_TASK[name]
    X, X_priv, y, groups = data.make(n_subjects=n_subjects, n_samples_per_subject=n_rows,
                                     random_state=0)
    results = {config: {"score": [], "seconds": 0.0, "epochs": [], "teacher_epochs": [],
                        "distilled": []} for config in CONFIGS}
    splits = LeaveOneGroupOut().split(X, y, groups)
    for fold, (train, test) in enumerate(splits):
        configs = list(CONFIGS)
        configs = configs[fold % len(configs):] + configs[:fold % len(configs)]
        for config in configs:
            student = PKDOTStudent(task=data.task, n_threads=1, random_state=0,
                                   **DATA[name], **CONFIGS[config])
            start = time.perf_counter()
            student.fit(X[train], y[train], X_priv=X_priv[train], groups=groups[train])
            seconds = time.perf_counter() - start
            result = results[config]
            result["seconds"] += seconds
            result["score"].append(float(data.score(y[test], student.predict(X[test]))))
            result["epochs"].append(len(student.net_.history))
            result["teacher_epochs"].append(len(student.teacher_.net_.history))
            result["distilled"].append(bool(student.distilled_))
        print(f"{name} fold {fold}: " + ", ".join(
            f"{c} {results[c]['score'][-1]:.3f}" for c in CONFIGS), flush=True)
    rows = []
    fixed = np.mean(results["max_epochs=100"]["score"])
    for config, result in results.items():
        scores = np.array(result["score"])
        rows.append({"data": name, "metric": data.metric, "configuration": config,
                     "mean": scores.mean(), "std": scores.std(),
                     "vs_100_epochs": scores.mean() - fixed,
                     "student_epochs": np.mean(result["epochs"]),
                     "teacher_epochs": np.mean(result["teacher_epochs"]),
                     "kept_distillation": f"{sum(result['distilled'])}/{len(scores)}",
                     "fit_s": result["seconds"]})
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="the data sets whose name contains this")
    parser.add_argument("--subjects", type=int, default=8)
    parser.add_argument("--rows", type=int, default=75, help="rows per subject")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    start = time.perf_counter()
    rows = []
    for name in (n for n in DATA if args.only in n):
        rows += run(name, args.subjects, args.rows)
    columns = ["data", "metric", "configuration", "mean", "std", "vs_100_epochs",
               "student_epochs", "teacher_epochs", "kept_distillation", "fit_s"]
    formats = ["{}", "{}", "{}", "{:.3f}", "{:.3f}", "{:+.3f}", "{:.1f}", "{:.1f}", "{}",
               "{:.1f}"]
    command = "python benchmarks/early_stopping.py"
    if args.only or args.subjects != 8 or args.rows != 75:
        command += f" --only '{args.only}' --subjects {args.subjects} --rows {args.rows}"
    text = (f"# Early stopping against fixed epochs\n\nCommand: `{command}` "
            f"({(time.perf_counter() - start) / 60:.0f} min; {args.subjects} subjects x "
            f"{args.rows} rows). Machine: {machine()}.\n\n"
            + __doc__.split("\n\n", 1)[1].split("\n\nRun:")[0] + "\n\n")
    text += markdown(rows, columns, formats)
    print("\n" + text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "early_stopping.md").write_text(text)


if __name__ == "__main__":
    main()
