"""Does privileged distillation help? Every method on the same folds (issue 4).

For each dataset and each cross-validation fold, one teacher is fitted on the
training rows (regular + privileged data) and frozen; then every student
method is trained on the same rows with that teacher and scored on the test
rows from the regular data alone. The teacher is scored with the privileged
data of the test rows: it is the ceiling, not a deployable model.

Prints and writes ``benchmarks/results/quality.md``: mean +- std of the test
score per method and dataset, the share of the teacher-vs-regular gap each
method recovers, ``(method - none) / (teacher - none)``, and a paired
two-sided Wilcoxon signed-rank test over folds of PKDOT against each other
method; ``quality_folds.csv`` (every fold's score) and ``quality.png`` (bar
chart) next to it.

Run: ``python benchmarks/quality.py`` (about 15 minutes on 2 cores;
``--quick`` for a smoke run; ``--datasets`` / ``--methods`` to select).
BasicMotions needs sktime (``pip install -e ".[benchmarks]"``).
"""

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed
from scipy.stats import wilcoxon
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import GroupKFold, RepeatedStratifiedKFold

from _tables import markdown  # benchmarks/ is on sys.path when run as a script

RESULTS = Path(__file__).parent / "results"
METHODS = ("none", "logit", "gd", "feature", "rkd", "sp", "pkt", "pkdot")
# Not students: the teacher (X and X_priv, the ceiling) and a linear model on X
# (scaled logistic regression / RidgeCV: is the MLP student a fair baseline?).
REFERENCES = ("teacher", "linear")


# ---------------------------------------------------------------- datasets
def _basic_motions(regular):
    from pkdot_sk.datasets import load_basic_motions

    # Raw series: on the summary statistics either sensor alone already scores
    # ~100 % (nothing for privileged data to add); raw, the gap is real
    # (logistic regression: gyroscope 0.53, accelerometer 0.76, both 0.70).
    X, X_priv, y = load_basic_motions(regular=regular, features="raw")
    return X, X_priv, y, None, "classification"


def _digits():
    from pkdot_sk.datasets import load_pooled_digits

    X, X_priv, y = load_pooled_digits()
    return X, X_priv, y, None, "classification"


def _synthetic(kind):
    from pkdot_sk import datasets

    make, task = {
        "classification": (datasets.make_privileged_classification, "classification"),
        "regression": (datasets.make_privileged_regression, "regression"),
        "ordinal": (datasets.make_privileged_ordinal, "ordinal"),
        "valence_arousal": (datasets.make_privileged_valence_arousal, "regression"),
    }[kind]
    X, X_priv, y, groups = make(n_subjects=10, n_samples_per_subject=100, random_state=0)
    return X, X_priv, y, groups, task


def _ccc(y_true, y_pred):
    from pkdot_sk.metrics import concordance_correlation_coefficient

    return concordance_correlation_coefficient(y_true, y_pred)


def _accuracy(y_true, y_pred):
    from sklearn.metrics import accuracy_score

    return accuracy_score(y_true, y_pred)


def _mae(y_true, y_pred):
    from sklearn.metrics import mean_absolute_error

    return mean_absolute_error(y_true, y_pred)


def _r2(y_true, y_pred):
    from sklearn.metrics import r2_score

    return r2_score(y_true, y_pred)


# The first metric of a dataset is its score (table, gap, Wilcoxon); the
# others are reported beside it. Default: the estimators' own score.
METRICS = {
    "synthetic_ordinal": {"accuracy": _accuracy, "MAE": _mae},
    "synthetic_valence_arousal": {"CCC": _ccc, "R2": _r2},
}


DATASETS = {
    "basic_motions_gyro": ("BasicMotions (raw 3 x 100 series, flattened): gyroscope -> "
                           "student, accelerometer privileged",
                           lambda: _basic_motions("gyroscope")),
    "basic_motions_acc": ("BasicMotions (raw, flattened): accelerometer -> student, "
                          "gyroscope privileged",
                          lambda: _basic_motions("accelerometer")),
    "digits_pooled": ("digits: 4x4 pooled image -> student, 8x8 image privileged", _digits),
    "synthetic_classification": ("make_privileged_classification, 10 subjects",
                                 lambda: _synthetic("classification")),
    "synthetic_regression": ("make_privileged_regression, 10 subjects (R^2)",
                             lambda: _synthetic("regression")),
    "synthetic_ordinal": ("make_privileged_ordinal, 5 ordered levels, 10 subjects; "
                          "task='ordinal' (accuracy; MAE beside)",
                          lambda: _synthetic("ordinal")),
    "synthetic_valence_arousal": ("make_privileged_valence_arousal, 10 subjects: valence "
                                  "and arousal together (CCC averaged over the two; R^2 "
                                  "beside)", lambda: _synthetic("valence_arousal")),
}


def folds(y, groups, n_repeats, seed):
    """Subject-grouped folds where subjects exist, repeated stratified otherwise."""
    if groups is not None:
        # Leave-one-subject-out up to 10 subjects: 10 paired folds, enough for
        # a Wilcoxon test to reach p < 0.05 (5 folds cannot go below 0.0625).
        n_splits = min(10, len(np.unique(groups)))
        return list(GroupKFold(n_splits=n_splits).split(y, y, groups))
    cv = RepeatedStratifiedKFold(n_splits=5, n_repeats=n_repeats, random_state=seed)
    return list(cv.split(y, y))


# ----------------------------------------------------------------- one fold
def _linear(task):
    """A linear model on X alone: a reference for what the regular view holds."""
    from sklearn.linear_model import LogisticRegression, RidgeCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = RidgeCV() if task == "regression" else LogisticRegression(max_iter=5000)
    return make_pipeline(StandardScaler(), model)


def run_fold(name, data, fold, train, test, methods, params):
    import torch

    from pkdot_sk import PKDOTStudent, PrivilegedTeacher

    torch.set_num_threads(1)  # folds run in parallel processes
    X, X_priv, y, _, task = data
    if task != "regression":
        params = {k: v for k, v in params.items() if k != "regression_loss"}
    seed = 1000 + fold
    start = time.perf_counter()
    teacher = PrivilegedTeacher(task=task, random_state=seed, **params).fit(
        X[train], y[train], X_priv=X_priv[train])
    metrics = METRICS.get(name)

    def row(method, model, *priv):
        scores = {"score": model.score(X[test], y[test], *priv)} if metrics is None else {
            metric: fn(y[test], model.predict(X[test], *priv)) for metric, fn in metrics.items()}
        if metrics is not None:
            scores["score"] = scores[next(iter(metrics))]
        return {"dataset": name, "fold": fold, "method": method, **scores}

    rows = [row("teacher", teacher, X_priv[test]),
            row("linear", _linear(task).fit(X[train], y[train]))]
    frozen = FrozenEstimator(teacher)
    for method in methods:
        if method == "logit" and task != "classification":
            continue  # class probabilities only; "gd" is its regression form
        if method == "gd" and task == "ordinal":
            continue  # no ordinal form (the estimator raises)
        student = PKDOTStudent(teacher=frozen, task=task, distillation=method,
                               random_state=seed, **params)
        student.fit(X[train], y[train], X_priv=X_priv[train])
        rows.append(row(method, student))
    print(f"{name} fold {fold}: {time.perf_counter() - start:.0f} s "
          + " ".join(f"{r['method']}={r['score']:.3f}" for r in rows), flush=True)
    return rows


# ------------------------------------------------------------------ summary
def summarise(rows, datasets, methods):
    import pandas as pd

    frame = pd.DataFrame(rows)
    table, tests = [], []
    for name in datasets:
        part = frame[frame.dataset == name].pivot(index="fold", columns="method",
                                                  values="score")
        gap = part["teacher"].mean() - part["none"].mean()
        for method in REFERENCES + tuple(methods):
            if method not in part:
                continue
            scores = part[method]
            row = {"dataset": name, "method": method, "mean": scores.mean(),
                   "std": scores.std(ddof=1), "n_folds": len(scores)}
            if method not in ("teacher", "none"):
                row["gap_recovered"] = (scores.mean() - part["none"].mean()) / gap
            table.append(row)
        if "pkdot" in part:
            for method in ("linear",) + tuple(methods):
                if method == "pkdot" or method not in part:
                    continue
                diff = part["pkdot"] - part[method]
                p_value = (float(wilcoxon(part["pkdot"], part[method]).pvalue)
                           if np.any(diff != 0) else 1.0)
                tests.append({"dataset": name, "baseline": method,
                              "pkdot_minus_baseline": diff.mean(),
                              "pkdot_wins": int((diff > 0).sum()),
                              "ties": int((diff == 0).sum()),
                              "losses": int((diff < 0).sum()), "p_value": p_value})
    return frame, table, tests


def wide_table(table, datasets, methods):
    """Methods as rows, datasets as columns: 'mean +- std (gap%)'."""
    by_key = {(r["dataset"], r["method"]): r for r in table}
    lines = "| method | " + " | ".join(datasets) + " |\n|---|" + "---|" * len(datasets) + "\n"
    for method in REFERENCES + tuple(methods):
        cells = []
        for name in datasets:
            r = by_key.get((name, method))
            if r is None:
                cells.append("n/a")
                continue
            cell = f"{r['mean']:.3f} ± {r['std']:.3f}"
            if r.get("gap_recovered") is not None:
                cell += f" ({r['gap_recovered']:+.0%})"
            cells.append(cell)
        lines += f"| {method} | " + " | ".join(cells) + " |\n"
    return lines


def other_metrics_table(frame, datasets, methods):
    """Mean ± std of each dataset's secondary metrics (e.g. ordinal MAE)."""
    text = ""
    for name in datasets:
        extra = list(METRICS.get(name, {}))[1:]
        if not extra:
            continue
        part = frame[frame.dataset == name]
        text += f"\n`{name}`:\n\n| method | " + " | ".join(extra) + " |\n|---|"
        text += "---|" * len(extra) + "\n"
        for method in REFERENCES + tuple(methods):
            scores = part[part.method == method]
            if len(scores):
                text += f"| {method} | " + " | ".join(
                    f"{scores[m].mean():.3f} ± {scores[m].std(ddof=1):.3f}" for m in extra) + " |\n"
    return text


def bar_chart(table, datasets, methods, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    by_key = {(r["dataset"], r["method"]): r for r in table}
    fig, axes = plt.subplots(1, len(datasets), figsize=(3.2 * len(datasets), 3.6),
                             squeeze=False)
    for ax, name in zip(axes[0], datasets):
        names = [m for m in REFERENCES + tuple(methods) if (name, m) in by_key]
        means = [by_key[(name, m)]["mean"] for m in names]
        stds = [by_key[(name, m)]["std"] for m in names]
        colors = ["0.6" if m in REFERENCES else "C0" if m == "pkdot" else
                  "C7" if m == "none" else "C1" for m in names]
        ax.bar(range(len(names)), means, yerr=stds, color=colors, capsize=2)
        ax.set_xticks(range(len(names)), names, rotation=60, fontsize=8)
        low = min(m - s for m, s in zip(means, stds))
        ax.set_ylim(max(0.0, low - 0.05), min(1.0, max(means) + 0.05) if low >= 0 else None)
        ax.set_title(name, fontsize=9)
    axes[0][0].set_ylabel("test score (accuracy / R² / CCC)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


# --------------------------------------------------------------------- main
def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    parser.add_argument("--repeats", type=int, default=2,
                        help="repeats of stratified 5-fold CV (datasets without subjects)")
    parser.add_argument("--max-epochs", type=int, default=100)
    parser.add_argument("--n-jobs", type=int, default=-1)
    parser.add_argument("--regression-loss", default="mse", choices=("mse", "ccc"),
                        help="task loss of teacher and students on regression datasets")
    parser.add_argument("--quick", action="store_true",
                        help="2 epochs, one repeat, nothing written")
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args()
    epochs = 2 if args.quick else args.max_epochs
    repeats = 1 if args.quick else args.repeats
    params = {"max_epochs": epochs, "regression_loss": args.regression_loss}

    start = time.perf_counter()
    jobs = []
    for name in args.datasets:
        data = DATASETS[name][1]()
        for index, (train, test) in enumerate(folds(data[2], data[3], repeats, seed=0)):
            jobs.append(delayed(run_fold)(name, data, index, train, test, args.methods, params))
    rows = [row for fold_rows in Parallel(n_jobs=args.n_jobs)(jobs) for row in fold_rows]
    elapsed = time.perf_counter() - start
    frame, table, tests = summarise(rows, args.datasets, args.methods)

    import sklearn
    import torch

    machine = (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
               f"python {platform.python_version()}, torch {torch.__version__}, "
               f"scikit-learn {sklearn.__version__}")
    command = " ".join(["python benchmarks/quality.py"] + sys.argv[1:])
    text = (f"# Quality benchmark\n\nCommand: `{command}` ({elapsed / 60:.0f} min). "
            f"Machine: {machine}.\n\nEvery method uses the library defaults (`PKDOTStudent` "
            f"and `PrivilegedTeacher`, {epochs} epochs); one teacher per fold, shared by all "
            "students. Folds: subject-grouped (leave-one-subject-out, 10 subjects) where subjects exist, otherwise "
            f"stratified 5-fold repeated {repeats}x. `teacher` sees X and X_priv (the "
            "ceiling, not deployable); `linear` is a standardised logistic regression / "
            "RidgeCV on X alone (how much the regular view holds for a model that cannot "
            "overfit much); every other row is a `PKDOTStudent` on X alone. PKDOT's defaults "
            "were tuned with `benchmarks/tune_pkdot.py` on other folds (other draws of the "
            "synthetic subjects; CV seed 1 instead of 0 on the real datasets, whose samples "
            "tuning and evaluation therefore share).\n\n## Datasets\n\n")
    text += "".join(f"- `{name}`: {DATASETS[name][0]}\n" for name in args.datasets)
    text += ("\n## Test score, mean ± std over folds (share of the teacher-vs-regular gap "
             "recovered)\n\n")
    text += wide_table(table, args.datasets, args.methods)
    other = other_metrics_table(frame, args.datasets, args.methods)
    if other:
        text += "\n## Other metrics, mean ± std over folds\n" + other
    if tests:
        text += ("\n## PKDOT against each method: paired two-sided Wilcoxon over folds\n\n")
        text += markdown(tests, ["dataset", "baseline", "pkdot_minus_baseline", "pkdot_wins",
                                 "ties", "losses", "p_value"],
                         ["{}", "{}", "{:+.4f}", "{}", "{}", "{}", "{:.3f}"])
    print("\n" + text)
    if not args.quick:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "quality.md").write_text(text)
        frame.to_csv(out / "quality_folds.csv", index=False)
        bar_chart(table, args.datasets, args.methods, out / "quality.png")
        print(f"written to {out}/quality.md, quality_folds.csv, quality.png")


if __name__ == "__main__":
    main()
