"""Is the default student ever worse than no distillation? Every data set x regime (issue 13).

A regime is a training budget a user may have: the number of training rows
(about 10 to thousands), ``max_epochs`` (10, 30, 100) and ``batch_size`` (16 to
512). For each data set, regime and fold, one teacher is fitted on the
training rows with the regime's budget and frozen; the student without
distillation (``distillation="none"``) and every configuration under test
learn from it on the same rows and are scored on the test rows (X alone).

For each configuration and cell the table gives the mean test score, the
difference with "none", a paired two-sided Wilcoxon test over folds and the
share of the teacher-vs-none gap recovered. A cell is **harmed** when the
configuration is below "none" by more than the tolerance (1 point of
accuracy, 0.01 CCC, 0.02 R^2) or significantly below it (p < 0.05).

Run: ``python benchmarks/regimes.py`` (the library defaults; about an hour on
2 cores), or choose: ``--datasets``, ``--regimes``, ``--configs default
released``, ``--grid ot_weight=3,30 anchors=all,least_similar`` (the product of
the values, each a configuration), ``--draw 1`` for the tuning data (other
subjects, another cross-validation partition). Writes
``results/regimes[_TAG].md`` and ``_folds.csv`` with ``--tag``.
"""

import argparse
import itertools
import json
import sys
import time
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed

from _common import DATASETS, HARM_TOLERANCE, METRICS, folds, machine, markdown, subsample

RESULTS = Path(__file__).parent / "results"

REGIMES = {
    "base": {},
    "epochs=10": dict(max_epochs=10),
    "epochs=30": dict(max_epochs=30),
    # Batches of 16 on at most 300 rows: on the larger sets a fold would take
    # minutes (tens of thousands of steps) for what rows=300 already shows.
    "rows=300,batch=16": dict(n_rows=300, batch_size=16),
    "batch=512": dict(batch_size=512),
    "rows=50": dict(n_rows=50),
    "rows=12": dict(n_rows=12),
    "rows=50,epochs=10": dict(n_rows=50, max_epochs=10),
}
BASE = dict(n_rows=None, max_epochs=100, batch_size=128)

# Named configurations; anything else comes from --grid.
CONFIGS = {
    "default": {},
    "released": dict(ot_weight=0.6, anchors="least_similar", top_k=30, ot_reg=0.01,
                     ot_normalize=False, safeguard=None),
}


def _value(text):
    try:
        return json.loads(text)  # numbers, null, true/false
    except json.JSONDecodeError:
        return text  # names such as all, least_similar, gd


def parse_grid(items):
    grid = {}
    for item in items:
        name, _, values = item.partition("=")
        grid[name] = [_value(v) for v in values.split(",")]
    if not grid:
        return {}
    names = sorted(grid)
    return {" ".join(f"{n}={v}" for n, v in zip(names, combo)): dict(zip(names, combo))
            for combo in itertools.product(*(grid[n] for n in names))}


def run_fold(name, regime, fold, train, test, configs, draw, frozen_teacher=False):
    import torch

    from sklearn.frozen import FrozenEstimator

    from pkdot_sk import PKDOTStudent, PrivilegedTeacher

    torch.set_num_threads(1)  # folds run in parallel processes
    dataset = DATASETS[name]
    X, X_priv, y, groups = dataset.load(draw)
    budget = {**BASE, **REGIMES[regime]}
    seed = 1000 + fold
    train = subsample(train, y, budget["n_rows"], dataset.task, seed)
    params = dict(task=dataset.task, max_epochs=budget["max_epochs"],
                  batch_size=budget["batch_size"], random_state=seed, **dataset.params)
    metric = METRICS[dataset.metric]
    fit = dict(X=X[train], y=y[train], X_priv=X_priv[train])
    student_fit = dict(fit, groups=None if groups is None else groups[train])
    rows = []

    def record(method, model, seconds, *priv):
        row = {"dataset": name, "regime": regime, "fold": fold, "n_train": len(train),
               "method": method, "score": metric(y[test], model.predict(X[test], *priv)),
               "seconds": seconds}
        if hasattr(model, "distilled_"):
            row["distilled"] = bool(model.distilled_)
        rows.append(row)

    start = time.perf_counter()
    teacher = PrivilegedTeacher(**params).fit(**fit)
    record("teacher", teacher, time.perf_counter() - start, X_priv[test])
    start = time.perf_counter()
    none = PKDOTStudent(distillation="none", **params).fit(X[train], y[train])
    record("none", none, time.perf_counter() - start)
    for config, extra in configs.items():
        if not _method_fits(extra.get("distillation", "pkdot"), dataset.task):
            continue
        start = time.perf_counter()
        # A safeguarded student gets the teacher unfitted, as a user's does:
        # its safeguard fits teachers on its inner training rows, and its
        # final teacher equals `teacher` (same rows, parameters and seed).
        safeguarded = extra.get("safeguard", "validation") is not None
        given = (PrivilegedTeacher(**params) if safeguarded and not frozen_teacher
                 else FrozenEstimator(teacher))
        student = PKDOTStudent(teacher=given, **{**params, **extra})
        student.fit(**student_fit)
        record(config, student, time.perf_counter() - start)
    print(f"{name} {regime} fold {fold}: " + " ".join(
        f"{r['method']}={r['score']:.3f}" for r in rows), flush=True)
    return rows


def _method_fits(method, task):
    # "logit" matches class probabilities; "gd" has no ordinal form (both raise).
    return not ((method == "logit" and task != "classification")
                or (method == "gd" and task == "ordinal"))


def summarise(frame, configs):
    from scipy.stats import wilcoxon

    cells = []
    for (name, regime), part in frame.groupby(["dataset", "regime"], sort=False):
        scores = part.pivot(index="fold", columns="method", values="score")
        metric = DATASETS[name].metric
        tolerance = HARM_TOLERANCE[metric]
        gap = scores["teacher"].mean() - scores["none"].mean()
        for config in configs:
            if config not in scores:
                continue
            # Rounded so that equal differences are ties for the test however
            # the scores were summed (a run, or its _folds.csv read back).
            diff = (scores[config] - scores["none"]).round(12)
            p_value = float(wilcoxon(diff).pvalue) if np.any(diff != 0) else 1.0
            distilled = part[part.method == config]["distilled"]
            cells.append({
                "dataset": name, "regime": regime, "config": config, "metric": metric,
                "n_train": int(part["n_train"].iloc[0]), "teacher": scores["teacher"].mean(),
                "none": scores["none"].mean(), "score": scores[config].mean(),
                "diff": diff.mean(), "p_value": p_value,
                "gap_share": diff.mean() / gap if gap >= 5 * tolerance else None,
                "distilled_share": float(distilled.mean()),
                "harmed": bool(diff.mean() < -tolerance or (p_value < 0.05 and diff.mean() < 0)),
                "seconds": float(part[part.method == config]["seconds"].mean()),
                "seconds_none": float(part[part.method == "none"]["seconds"].mean()),
            })
    return cells


def _ranks(cells):
    """Rank of each configuration and of "none" in each cell where the teacher
    is ahead (1 = best mean score; ties share the mean rank)."""
    from scipy.stats import rankdata

    ranks = {}
    by_cell = {}
    for cell in cells:
        if cell["gap_share"] is not None:
            by_cell.setdefault((cell["dataset"], cell["regime"]), []).append(cell)
    for mine in by_cell.values():
        names = [c["config"] for c in mine] + ["none"]
        scores = [c["score"] for c in mine] + [mine[0]["none"]]
        for name, rank in zip(names, rankdata([-s for s in scores])):
            ranks.setdefault(name, []).append(rank)
    return ranks


def overview(cells, configs):
    rows = []
    ranks = _ranks(cells)
    for config in configs:
        mine = [c for c in cells if c["config"] == config]
        shares = [c["gap_share"] for c in mine if c["gap_share"] is not None]
        rows.append({
            "config": config, "cells": len(mine),
            "harmed": sum(c["harmed"] for c in mine),
            "worst": min(mine, key=lambda c: c["diff"] / HARM_TOLERANCE[c["metric"]]),
            "mean_diff_points": float(np.mean([c["diff"] / HARM_TOLERANCE[c["metric"]]
                                               for c in mine])),
            "mean_gap_share": float(np.mean(shares)) if shares else None,
            "n_gap_cells": len(shares),
            "mean_rank": float(np.mean(ranks[config])) if config in ranks else None,
            "distilled_share": float(np.mean([c["distilled_share"] for c in mine])),
        })
    for row in rows:
        worst = row.pop("worst")
        row["worst_cell"] = (f"{worst['dataset']} {worst['regime']} {worst['diff']:+.3f}"
                             f" (p={worst['p_value']:.3f})")
    return rows


def matrix(cells):
    """One row per data set, one column per regime."""
    regimes = list(dict.fromkeys(c["regime"] for c in cells))
    rows = {}
    for cell in cells:
        text = f"{cell['diff']:+.3f} ({cell['distilled_share']:.0%})"
        rows.setdefault(cell["dataset"], {"dataset": cell["dataset"]})[cell["regime"]] = (
            f"**{text}**" if cell["harmed"] else text)
    return markdown(list(rows.values()), ["dataset"] + regimes, ["{}"] * (len(regimes) + 1))


def report(cells, overview_rows, command, minutes):
    text = (f"# Regimes: default student against no distillation\n\nCommand: `{command}` "
            f"({minutes:.0f} min). Machine: {machine()}.\n\n")
    text += ("## Overview\n\n`harmed`: cells where the configuration is below `none` by "
             "more than the tolerance (1 point of accuracy, 0.01 CCC, 0.02 R²) or "
             "significantly below it (paired Wilcoxon, p < 0.05). `mean_diff_points`: mean "
             "difference with `none` in units of that tolerance. `mean_gap_share`: mean share "
             "of the teacher-vs-none gap recovered over the cells where the teacher is ahead "
             "by at least 5 tolerances. `distilled_share`: share of fits that kept "
             "distillation.\n\n")
    n_methods = len(overview_rows) + 1
    text += (f"`mean_rank`: mean rank among the {n_methods} students (these configurations "
             "and `none`; 1 = best) over the same cells.\n\n")
    text += markdown(overview_rows, ["config", "cells", "harmed", "worst_cell",
                                     "mean_diff_points", "mean_gap_share", "n_gap_cells",
                                     "mean_rank", "distilled_share"],
                     ["{}", "{}", "{}", "{}", "{:+.2f}", "{:+.0%}", "{}", "{:.2f}", "{:.0%}"])
    for config in dict.fromkeys(c["config"] for c in cells):
        text += (f"\n## {config}: difference with `none`, data set x regime\n\n"
                 "Mean test score minus that of `none`; **bold**: harmed; in brackets: "
                 "share of fits that kept distillation.\n\n")
        text += matrix([c for c in cells if c["config"] == config])
    text += "\n## Every cell\n\n"
    text += markdown(cells, ["dataset", "regime", "n_train", "config", "teacher", "none",
                             "score", "diff", "p_value", "gap_share", "distilled_share",
                             "harmed", "seconds_none", "seconds"],
                     ["{}", "{}", "{}", "{}", "{:.3f}", "{:.3f}", "{:.3f}", "{:+.3f}",
                      "{:.3f}", "{:+.0%}", "{:.0%}", "{}", "{:.1f}", "{:.1f}"])
    return text


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    parser.add_argument("--regimes", nargs="+", default=list(REGIMES), choices=list(REGIMES))
    parser.add_argument("--configs", nargs="*", default=["default"], choices=list(CONFIGS))
    parser.add_argument("--grid", nargs="*", default=[],
                        help="PKDOTStudent parameters as name=v1,v2 (JSON values)")
    parser.add_argument("--draw", type=int, default=0, help="0: evaluation data, 1: tuning")
    parser.add_argument("--n-folds", type=int, default=10)
    parser.add_argument("--n-jobs", type=int, default=-1)
    parser.add_argument("--tag", default=None, help="write results/regimes_<tag>.md")
    parser.add_argument("--frozen-teacher", action="store_true",
                        help="give every configuration the fold's teacher frozen, so that "
                             "the safeguard's inner trainings use it too (fitted on their "
                             "held-out rows: the safeguard before it fitted its own)")
    parser.add_argument("--from-folds", nargs="+", default=None, metavar="CSV",
                        help="rebuild the tables from the _folds.csv of earlier runs "
                             "(same draw and folds) instead of training")
    args = parser.parse_args()
    configs = {name: CONFIGS[name] for name in args.configs}
    configs.update(parse_grid(args.grid))
    start = time.perf_counter()
    if args.from_folds:
        frame = _merge_folds(args.from_folds)
        frame = frame[frame.dataset.isin(args.datasets) & frame.regime.isin(args.regimes)]
        configs = [m for m in frame["method"].unique() if m not in ("teacher", "none")]
    else:
        frame = _train_all(args, configs)
    cells = summarise(frame, configs)
    rows_overview = overview(cells, configs)
    command = " ".join(["python benchmarks/regimes.py"] + sys.argv[1:])
    text = report(cells, rows_overview, command, (time.perf_counter() - start) / 60)
    print("\n" + text)
    if args.tag:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / f"regimes_{args.tag}.md").write_text(text)
        frame.to_csv(RESULTS / f"regimes_{args.tag}_folds.csv", index=False)


def _merge_folds(paths):
    import pandas as pd

    frame = pd.concat([pd.read_csv(path, float_precision="round_trip") for path in paths],
                      ignore_index=True)
    # Every run fits the same seeded teacher and "none" student on each fold.
    return frame.drop_duplicates(["dataset", "regime", "fold", "method"])


def _train_all(args, configs):
    import pandas as pd

    jobs = []
    for name in args.datasets:
        dataset = DATASETS[name]
        data = dataset.load(args.draw)
        for regime in args.regimes:
            for fold, (train, test) in enumerate(folds(data, dataset.task, args.draw,
                                                       args.n_folds)):
                jobs.append(delayed(run_fold)(name, regime, fold, train, test, configs,
                                              args.draw, args.frozen_teacher))
    rows = [row for fold_rows in Parallel(n_jobs=args.n_jobs)(jobs) for row in fold_rows]
    return pd.DataFrame(rows)


if __name__ == "__main__":
    main()
