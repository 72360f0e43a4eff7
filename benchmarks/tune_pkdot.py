"""Tune PKDOT's defaults on tuning folds kept apart from the evaluation folds.

``quality.py`` evaluates on the synthetic generators drawn with
``random_state=0`` and on the real datasets split by CV seed 0. Tuning here
uses other data wherever there is other data to use:

* synthetic classification / regression: fresh draws (``random_state=1``:
  other subjects, other mixing matrices), leave-one-subject-out over 5 of them;
* digits and BasicMotions: stratified 5-fold CV with seed 1. These datasets
  have no second draw, so tuning and evaluation folds are different
  partitions of the same samples; quality.md says so.

Every configuration of the grid (the product of the ``--grid`` values) is
trained on the same folds with one frozen teacher per fold, next to the
regular-only student ("none"). The table gives each configuration's mean
score per dataset and the share of the teacher-vs-none gap it recovers, and
ranks configurations by the mean share over the datasets where the teacher
clearly beats "none" (``--gap-min``), flagging those that lose more than
``--harm-tol`` on a dataset where it does not.

Example (the staged search recorded in ``results/tuning.md``)::

    python benchmarks/tune_pkdot.py --grid ot_weight=0.6,2,6,20 ot_center=0,1 \\
        anchors=least_similar,most_similar,all --tag stage1
"""

import argparse
import itertools
import json
import time
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import LeaveOneGroupOut, RepeatedStratifiedKFold

from _tables import markdown  # benchmarks/ is on sys.path when run as a script
from quality import DATASETS, _basic_motions, _digits

RESULTS = Path(__file__).parent / "results"


def _tuning_synthetic(task):
    from pkdot_sk.datasets import make_privileged_classification, make_privileged_regression

    make = make_privileged_classification if task == "classification" else (
        make_privileged_regression)
    # Evaluation uses random_state=0 and 10 subjects; 5 fresh subjects here.
    X, X_priv, y, groups = make(n_subjects=5, n_samples_per_subject=100, random_state=1)
    return X, X_priv, y, groups, task


TUNING_DATA = {
    "basic_motions_gyro": lambda: _basic_motions("gyroscope"),
    "basic_motions_acc": lambda: _basic_motions("accelerometer"),
    "digits_pooled": _digits,
    "synthetic_classification": lambda: _tuning_synthetic("classification"),
    "synthetic_regression": lambda: _tuning_synthetic("regression"),
}


def tuning_folds(y, groups, n_repeats):
    if groups is not None:
        return list(LeaveOneGroupOut().split(y, y, groups))
    cv = RepeatedStratifiedKFold(n_splits=5, n_repeats=n_repeats, random_state=1)
    return list(cv.split(y, y))


def parse_grid(items):
    grid = {}
    for item in items:
        name, _, values = item.partition("=")
        parsed = []
        for value in values.split(","):
            try:
                parsed.append(json.loads(value))
            except json.JSONDecodeError:
                parsed.append(value)
        if name == "ot_center":
            parsed = [bool(v) for v in parsed]
        grid[name] = parsed
    names = sorted(grid)
    return [dict(zip(names, combo)) for combo in itertools.product(*(grid[n] for n in names))]


def config_name(config):
    return " ".join(f"{k}={v}" for k, v in config.items()) or "defaults"


def run_fold(name, data, fold, train, test, configs, params):
    import torch

    from pkdot_sk import PKDOTStudent, PrivilegedTeacher

    torch.set_num_threads(1)
    X, X_priv, y, _, task = data
    seed = 2000 + fold
    start = time.perf_counter()
    teacher = PrivilegedTeacher(task=task, random_state=seed, **params).fit(
        X[train], y[train], X_priv=X_priv[train])
    rows = [{"dataset": name, "fold": fold, "config": "teacher",
             "score": teacher.score(X[test], y[test], X_priv=X_priv[test])}]
    none = PKDOTStudent(task=task, distillation="none", random_state=seed, **params)
    rows.append({"dataset": name, "fold": fold, "config": "none",
                 "score": none.fit(X[train], y[train]).score(X[test], y[test])})
    frozen = FrozenEstimator(teacher)
    for config in configs:
        student = PKDOTStudent(teacher=frozen, task=task, random_state=seed, **params, **config)
        student.fit(X[train], y[train], X_priv=X_priv[train])
        rows.append({"dataset": name, "fold": fold, "config": config_name(config),
                     "score": student.score(X[test], y[test])})
    print(f"{name} fold {fold}: {time.perf_counter() - start:.0f} s", flush=True)
    return rows


def summarise(rows, datasets, gap_min, harm_tol):
    import pandas as pd

    frame = pd.DataFrame(rows)
    means = frame.groupby(["config", "dataset"])["score"].mean().unstack("dataset")
    gaps = means.loc["teacher"] - means.loc["none"]
    helpful = [d for d in datasets if gaps[d] >= gap_min]
    table = []
    for config in means.index:
        row = {"config": config}
        for dataset in datasets:
            row[dataset] = means.loc[config, dataset]
        if config not in ("teacher", "none"):
            shares = [(means.loc[config, d] - means.loc["none", d]) / gaps[d] for d in helpful]
            row["mean_gap_share"] = float(np.mean(shares)) if shares else float("nan")
            row["harms"] = ",".join(
                d for d in datasets
                if d not in helpful and means.loc[config, d] < means.loc["none", d] - harm_tol)
        table.append(row)
    ranked = sorted(table, key=lambda r: -r.get("mean_gap_share", np.inf))
    return frame, ranked, helpful, gaps


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", nargs="*", default=[],
                        help="PKDOTStudent parameters as name=v1,v2 (product of all)")
    parser.add_argument("--datasets", nargs="+", default=list(TUNING_DATA),
                        choices=list(TUNING_DATA))
    parser.add_argument("--repeats", type=int, default=1,
                        help="repeats of stratified 5-fold CV (datasets without subjects)")
    parser.add_argument("--max-epochs", type=int, default=100)
    parser.add_argument("--gap-min", type=float, default=0.02,
                        help="teacher - none margin above which a dataset counts as helped")
    parser.add_argument("--harm-tol", type=float, default=0.01)
    parser.add_argument("--n-jobs", type=int, default=-1)
    parser.add_argument("--tag", default=None, help="write results/tuning_<tag>.md and .csv")
    args = parser.parse_args()
    configs = parse_grid(args.grid)
    params = {"max_epochs": args.max_epochs}

    start = time.perf_counter()
    jobs = []
    for name in args.datasets:
        data = TUNING_DATA[name]()
        for index, (train, test) in enumerate(tuning_folds(data[2], data[3], args.repeats)):
            jobs.append(delayed(run_fold)(name, data, index, train, test, configs, params))
    rows = [row for fold_rows in Parallel(n_jobs=args.n_jobs)(jobs) for row in fold_rows]
    frame, ranked, helpful, gaps = summarise(rows, args.datasets, args.gap_min, args.harm_tol)

    text = (f"Grid: `{' '.join(args.grid) or '(defaults only)'}`, {args.max_epochs} epochs, "
            f"{time.perf_counter() - start:.0f} s. Datasets where the teacher beats 'none' "
            f"by >= {args.gap_min}: {', '.join(helpful) or 'none'} (gaps: "
            + ", ".join(f"{d} {gaps[d]:+.3f}" for d in args.datasets) + ").\n\n")
    columns = ["config"] + list(args.datasets) + ["mean_gap_share", "harms"]
    text += markdown(ranked, columns,
                     ["{}"] + ["{:.3f}"] * len(args.datasets) + ["{:+.2f}", "{}"])
    print("\n" + text)
    if args.tag:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / f"tuning_{args.tag}.md").write_text(f"# Tuning: {args.tag}\n\n" + text)
        frame.to_csv(RESULTS / f"tuning_{args.tag}_folds.csv", index=False)


if __name__ == "__main__":
    main()
