"""Partly recorded privileged data: keep the rows that lack it (NaN-marked) or drop them? (issue 16)

In real studies some sessions lack a physiological signal. Since issue 16, a
privileged modality that a row lacks is marked by NaN in all its X_priv
values: the teacher masks it out of its fusion, and rows with no privileged
data at all train the student's task loss but not the distillation term.
Before, users had to drop those rows. Two scenarios, on the built-in
synthetic data (``SYNTHETIC_BY_TASK``: classification scored by accuracy,
regression by R^2; 10 subjects of 100 rows, leave-one-subject-out):

- ``rows``: one privileged modality (8 columns, the default teacher). In
  0 %, 30 % or 60 % of the training rows nothing privileged was recorded
  (X_priv all NaN there). ``keep``: the default ``PKDOTStudent`` on every
  training row, those rows NaN-marked; ``drop``: the default student on the
  recorded rows only.
- ``modality``: two privileged modalities ``ecg`` (X_priv columns 0-1) and
  ``eda`` (columns 2-3), each a partial view of the 4-D latent state (the
  affect layout of ``_common.AFFECT_GROUPS``), the teacher
  ``PrivilegedTeacher(priv_groups=AFFECT_GROUPS)`` (default settings
  otherwise). ``eda`` failed in 0 %, 30 % or 60 % of the training rows (its
  two columns NaN there, ``ecg`` recorded): ``keep`` marks them, ``drop``
  fits on the rows with both modalities.

In both, ``none`` is ``distillation="none"`` on every training row (it never
reads X_priv) and at 0 % ``keep`` and ``drop`` are one and the same fit
(``pkdot``). The rows that lack privileged data are drawn per training fold
with a fixed seed (``1000 + fold``), nested (the 60 % contain the 30 %);
the held-out subject is never touched (the students predict from X alone).
Every student of a fold has the same ``random_state`` and gets ``groups``
(the safeguard and the teacher hold out whole subjects).

Run: ``python benchmarks/missing_privileged.py`` (about 11 minutes, one job,
one torch thread; ``--quick`` for a 2-epoch, 2-fold smoke run that writes
nothing). Writes ``results/missing_privileged.md`` and
``missing_privileged_folds.csv``; ``--safeguard none`` forces distillation
(about 5 minutes) and writes ``missing_privileged_safeguard_none.*``.
"""

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed
from scipy.stats import wilcoxon
from sklearn.model_selection import LeaveOneGroupOut

from _common import AFFECT_GROUPS, METRICS, SYNTHETIC_BY_TASK, machine, markdown

RESULTS = Path(__file__).parent / "results"
DATASETS = ("classification", "regression")
SCENARIOS = {
    "rows": "no privileged data in the row (X_priv all NaN)",
    "modality": "`eda` failed (its columns NaN), `ecg` recorded",
}
MISSING_MODALITY = "eda"
FRACTIONS = (0.0, 0.3, 0.6)


def load(scenario, name):
    data = SYNTHETIC_BY_TASK[name]
    extra = dict(n_priv_features=4) if scenario == "modality" else {}
    return data.make(n_subjects=10, n_samples_per_subject=100, random_state=0, **extra)


def run_fold(scenario, name, data, fold, train, test, epochs, fractions, safeguard):
    import torch

    from pkdot_sk import PKDOTStudent, PrivilegedTeacher

    torch.set_num_threads(1)
    X, X_priv, y, groups = data
    task = SYNTHETIC_BY_TASK[name].task
    metric = SYNTHETIC_BY_TASK[name].metric
    seed = 1000 + fold
    common = dict(task=task, max_epochs=epochs, n_threads=1, random_state=seed)
    missing_columns = (AFFECT_GROUPS[MISSING_MODALITY] if scenario == "modality"
                       else list(range(X_priv.shape[1])))
    # Nested draws: the first 30 % of this permutation lack privileged data
    # at 30 %, the first 60 % at 60 %.
    order = np.random.RandomState(seed).permutation(len(train))
    rows = []

    def fit(method, fraction, X_priv_train, kept, **params):
        if scenario == "modality" and params.get("distillation") != "none":
            params["teacher"] = PrivilegedTeacher(priv_groups=AFFECT_GROUPS, **common)
        if params.get("distillation") != "none":
            params["safeguard"] = safeguard
        student = PKDOTStudent(**common, **params)
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            student.fit(X[train][kept], y[train][kept], X_priv=X_priv_train[kept],
                        groups=groups[train][kept])
        seconds = time.perf_counter() - start
        rows.append({"scenario": scenario, "dataset": name, "fold": fold,
                     "missing": fraction, "method": method, "n_train": int(kept.sum()),
                     "score": METRICS[metric](y[test], student.predict(X[test])),
                     "distilled": bool(student.distilled_),
                     "win_rate": (student.safeguard_ or {}).get("win_rate"),
                     "seconds": seconds})

    every = np.ones(len(train), dtype=bool)
    fit("none", None, X_priv[train], every, distillation="none")
    for fraction in fractions:
        lacking = np.zeros(len(train), dtype=bool)
        lacking[order[:int(round(fraction * len(train)))]] = True
        if not lacking.any():
            fit("pkdot", fraction, X_priv[train], every)
            continue
        marked = X_priv[train].copy()
        marked[np.ix_(lacking, missing_columns)] = np.nan
        fit("keep", fraction, marked, every)
        fit("drop", fraction, marked, ~lacking)
    print(f"{scenario} {name} fold {fold}: "
          + " ".join(f"{r['method']}{'' if r['missing'] is None else int(100 * r['missing'])}"
                     f"={r['score']:.3f}{'*' if r['distilled'] else ''}" for r in rows),
          flush=True)
    return rows


def _paired(a, b):
    """Mean paired difference a - b over folds, with the two-sided Wilcoxon p-value."""
    diff = a - b
    p_value = float(wilcoxon(a, b).pvalue) if np.any(diff != 0) else 1.0
    return f"{diff.mean():+.3f} (p={p_value:.2f})"


def summarise(frame):
    table = []
    for (scenario, name), part in frame.groupby(["scenario", "dataset"], sort=False):
        metric = SYNTHETIC_BY_TASK[name].metric
        none = part[part.method == "none"].set_index("fold").score
        configurations = [(None, "none")] + [
            (fraction, method) for fraction in sorted(part.missing.dropna().unique())
            for method in ("pkdot", "keep", "drop")]
        for fraction, method in configurations:
            rows = part[(part.method == method) & (part.missing.isna() if fraction is None
                                                   else part.missing == fraction)]
            if rows.empty:
                continue
            scores = rows.set_index("fold").score
            entry = {"scenario": scenario, "dataset": f"{name} ({metric})",
                     "missing": "all recorded" if method == "pkdot" else (
                         "n/a" if fraction is None else f"{fraction:.0%}"),
                     "method": method, "train rows": f"{rows.n_train.mean():.0f}",
                     "score": f"{scores.mean():.3f} ± {scores.std(ddof=1):.3f}",
                     "distilled": f"{int(rows.distilled.sum())}/{len(rows)}",
                     "win rate": (f"{rows.win_rate.mean():.2f}" if rows.win_rate.notna().any()
                                  else None),
                     "s/fit": f"{rows.seconds.mean():.1f}"}
            if method != "none":
                entry["vs none"] = _paired(scores, none[scores.index])
            if method == "keep":
                drop = part[(part.method == "drop") & (part.missing == fraction)]
                entry["keep - drop"] = _paired(scores, drop.set_index("fold").score[scores.index])
            table.append(entry)
    columns = ["scenario", "dataset", "missing", "method", "train rows", "score",
               "vs none", "keep - drop", "distilled", "win rate", "s/fit"]
    return markdown(table, columns, ["{}"] * len(columns))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=DATASETS)
    parser.add_argument("--scenarios", nargs="+", default=list(SCENARIOS),
                        choices=list(SCENARIOS))
    parser.add_argument("--max-epochs", type=int, default=30)
    parser.add_argument("--n-jobs", type=int, default=1)
    parser.add_argument("--safeguard", choices=["validation", "none"], default="validation",
                        help="the distilling students' safeguard; 'none' forces distillation "
                             "(writes missing_privileged_safeguard_none.*)")
    parser.add_argument("--quick", action="store_true",
                        help="2 epochs, 2 folds per data set, nothing written")
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args()
    epochs = 2 if args.quick else args.max_epochs
    safeguard = None if args.safeguard == "none" else args.safeguard
    stem = "missing_privileged" + ("_safeguard_none" if safeguard is None else "")

    import pandas as pd

    start = time.perf_counter()
    jobs = []
    for scenario in args.scenarios:
        for name in args.datasets:
            data = load(scenario, name)
            splits = list(LeaveOneGroupOut().split(data[0], data[2], data[3]))
            for fold, (train, test) in enumerate(splits[:2] if args.quick else splits):
                jobs.append(delayed(run_fold)(scenario, name, data, fold, train, test, epochs,
                                              FRACTIONS, safeguard))
    rows = [r for fold_rows in Parallel(n_jobs=args.n_jobs)(jobs) for r in fold_rows]
    elapsed = time.perf_counter() - start
    frame = pd.DataFrame(rows)

    command = " ".join(["python benchmarks/missing_privileged.py"] + sys.argv[1:])
    n_folds = frame.groupby(["scenario", "dataset"]).fold.nunique().max()
    text = (f"# Partly recorded privileged data: keep the rows (NaN-marked) or drop them\n\n"
            f"Command: `{command}` ({elapsed / 60:.0f} min, {args.n_jobs} job(s), one torch "
            f"thread per fit). Machine: {machine()}.\n\n"
            + __doc__.split("\n\n", 1)[1].split("\n\nRun:")[0] + "\n\n"
            f"Library defaults otherwise, except **max_epochs={epochs}** for the students "
            "and their teachers (the default is 100), to keep the run short"
            + ("" if safeguard else ", and **safeguard=None** for every distilling student "
               "(distillation forced: `keep` then distils from the recorded rows only, "
               "`pkdot`/`keep`/`drop` never fall back to `none`)")
            + ". Mean ± std "
            f"over {n_folds} held-out subjects. `missing`: share of the training rows "
            "lacking privileged data (scenario `rows`) or the `eda` modality (scenario "
            "`modality`). `vs none` / `keep - drop`: mean paired difference in the score "
            "over folds, two-sided Wilcoxon p-value. `distilled`: folds in which the "
            "safeguard kept distillation (`distilled_`); `win rate`: mean share of the "
            "bootstrap resamples of its held-out subjects (then of rows within them) on "
            "which distillation scored higher "
            "(it keeps distillation at 0.8 and above). `s/fit`: mean wall time of one fit "
            "(teacher, safeguard and student).\n\n")
    text += summarise(frame)
    print("\n" + text)
    if not args.quick:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / f"{stem}.md").write_text(text)
        frame.to_csv(out / f"{stem}_folds.csv", index=False)
        print(f"written to {out}/{stem}.md, {stem}_folds.csv")


if __name__ == "__main__":
    main()
