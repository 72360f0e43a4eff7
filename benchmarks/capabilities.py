"""Rows for the affect capabilities: modalities, fusion, hallucination, several teachers, CCC loss.

Two built-in affect-like tasks, each with two privileged modalities named
``ecg`` and ``eda`` (columns 0-1 and 2-3 of a 4-column ``X_priv``; each
carries a 2-D projection of the 4-D latent state, so each alone is partial
and the two together are complete):

- ``pain``: ``make_privileged_ordinal`` (5 ordered levels), ``task="ordinal"``,
  scored by accuracy (MAE beside);
- ``valence_arousal``: ``make_privileged_valence_arousal`` (two outputs),
  ``task="regression"``, scored by the CCC averaged over the outputs (R^2
  beside).

Leave-one-subject-out over 10 subjects. In every fold the teachers are
fitted once on the training rows and frozen, and every student uses them:

- ``teacher_concat`` / ``teacher_attention``: ``PrivilegedTeacher(priv_groups=
  {"ecg", "eda"}, fusion=...)`` (references, they see X_priv at test time);
- ``teacher_ecg`` / ``teacher_eda``: per-modality teachers (the other
  modality dropped with ``priv_module={...: "drop"}``);
- ``linear``: standardised logistic regression / RidgeCV on X;
- ``none``: student without distillation;
- ``pkdot``: PKDOT from the concat teacher (the library defaults);
- ``pkdot_attention``: PKDOT from the attention teacher;
- ``pkdot_hallucinate``: ``hallucinate=True`` with the concat teacher;
- ``mt_pkdot``: three teachers (joint concat, ecg, eda), equal weights;
- valence/arousal only: ``teacher_ccc``, ``none_ccc`` and ``pkdot_ccc``, the
  same with ``regression_loss="ccc"`` for teacher and students.

Every row reports the mean +- std over folds and the share of the
concat-teacher-vs-none gap recovered; each student is compared with ``none``
and with ``pkdot`` by a paired two-sided Wilcoxon test over folds.

Run: ``python benchmarks/capabilities.py`` (about 20 minutes on 2 cores;
``--quick`` for a 2-epoch smoke run that writes nothing). Writes
``benchmarks/results/capabilities.md`` and ``capabilities_folds.csv``.
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed
from scipy.stats import wilcoxon
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import LeaveOneGroupOut

from _common import (AFFECT, AFFECT_GROUPS, accuracy, ccc, linear_model, load_affect, machine,
                     mae, markdown, r2)

RESULTS = Path(__file__).parent / "results"
# The affect data (_common.AFFECT): description and the metrics reported, the first
# being the one compared.
DATASETS = {
    "pain": ("make_privileged_ordinal (5 levels), task='ordinal'",
             {"accuracy": accuracy, "MAE": mae}),
    "valence_arousal": ("make_privileged_valence_arousal (2 outputs), task='regression'",
                        {"CCC": ccc, "R2": r2}),
}
TEACHERS = ("teacher_concat", "teacher_attention", "teacher_ecg", "teacher_eda", "teacher_ccc")
STUDENTS = ("none", "pkdot", "pkdot_attention", "pkdot_hallucinate", "mt_pkdot",
            "none_ccc", "pkdot_ccc")
ROWS = TEACHERS + ("linear",) + STUDENTS


def run_fold(name, data, fold, train, test, epochs):
    import torch

    from pkdot_sk import PKDOTStudent, PrivilegedTeacher

    torch.set_num_threads(1)  # folds run in parallel processes
    X, X_priv, y, _ = data
    _, metrics = DATASETS[name]
    task = AFFECT[name].task
    seed = 1000 + fold
    common = dict(task=task, max_epochs=epochs, random_state=seed)
    start = time.perf_counter()

    def row(label, model, *priv):
        prediction = model.predict(X[test], *priv)
        scores = {metric: fn(y[test], prediction) for metric, fn in metrics.items()}
        return {"dataset": name, "fold": fold, "row": label,
                "score": scores[next(iter(metrics))], **scores}

    def teacher(**params):
        return PrivilegedTeacher(priv_groups=AFFECT_GROUPS, **common, **params).fit(
            X[train], y[train], X_priv=X_priv[train])

    def student(label, teachers, **params):
        model = PKDOTStudent(teacher=teachers, **common, **params)
        model.fit(X[train], y[train], X_priv=X_priv[train])
        return row(label, model)

    teachers = {"teacher_concat": teacher(),
                "teacher_attention": teacher(fusion="attention"),
                "teacher_ecg": teacher(priv_module={"eda": "drop"}),
                "teacher_eda": teacher(priv_module={"ecg": "drop"})}
    if task == "regression":
        teachers["teacher_ccc"] = teacher(regression_loss="ccc")
    rows = [row(label, model, X_priv[test]) for label, model in teachers.items()]
    rows.append(row("linear", linear_model(task).fit(X[train], y[train])))
    frozen = {label: FrozenEstimator(model) for label, model in teachers.items()}
    concat = frozen["teacher_concat"]
    rows += [
        student("none", concat, distillation="none"),
        student("pkdot", concat),
        student("pkdot_attention", frozen["teacher_attention"]),
        student("pkdot_hallucinate", concat, hallucinate=True),
        student("mt_pkdot", [concat, frozen["teacher_ecg"], frozen["teacher_eda"]]),
    ]
    if task == "regression":
        rows += [student("none_ccc", frozen["teacher_ccc"], distillation="none",
                         regression_loss="ccc"),
                 student("pkdot_ccc", frozen["teacher_ccc"], regression_loss="ccc")]
    print(f"{name} fold {fold}: {time.perf_counter() - start:.0f} s "
          + " ".join(f"{r['row']}={r['score']:.3f}" for r in rows), flush=True)
    return rows


def _paired(part, a, b):
    if a not in part or b not in part or a == b:
        return None
    diff = part[a] - part[b]
    p_value = float(wilcoxon(part[a], part[b]).pvalue) if np.any(diff != 0) else 1.0
    return f"{diff.mean():+.3f} (p={p_value:.3f})"


def summarise(frame, names):
    text = ""
    for name in names:
        description, metrics = DATASETS[name]
        part = frame[frame.dataset == name]
        wide = part.pivot(index="fold", columns="row", values="score")
        gap = wide["teacher_concat"].mean() - wide["none"].mean()
        # The CCC-loss students are compared with their own regular-only student.
        table = []
        for label in ROWS:
            if label not in wide:
                continue
            scores = part[part.row == label]
            entry = {"row": label}
            for metric in metrics:
                entry[metric] = (f"{scores[metric].mean():.3f} ± "
                                 f"{scores[metric].std(ddof=1):.3f}")
            if label in STUDENTS + ("linear",) and label not in ("none",):
                entry["gap"] = f"{(wide[label].mean() - wide['none'].mean()) / gap:+.0%}"
            if label in STUDENTS:
                reference = "none_ccc" if label == "pkdot_ccc" else "none"
                entry["vs none"] = _paired(wide, label, reference)
                if label.startswith("pkdot_") or label == "mt_pkdot":
                    entry["vs pkdot"] = _paired(wide, label, "pkdot")
            table.append(entry)
        columns = ["row", *metrics, "gap", "vs none", "vs pkdot"]
        text += (f"\n## `{name}`: {description}\n\nMean ± std over {wide.shape[0]} "
                 f"held-out subjects. `gap`: share of the teacher_concat-vs-none gap "
                 f"recovered ({next(iter(metrics))}). `vs none` / `vs pkdot`: mean paired "
                 "difference in the first metric and two-sided Wilcoxon p-value "
                 "(`pkdot_ccc` is compared with `none_ccc`).\n\n")
        text += markdown(table, columns, ["{}"] * len(columns))
    return text


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    parser.add_argument("--max-epochs", type=int, default=100)
    parser.add_argument("--n-jobs", type=int, default=-1)
    parser.add_argument("--quick", action="store_true",
                        help="2 epochs, 2 folds per dataset, nothing written")
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args()
    epochs = 2 if args.quick else args.max_epochs

    import pandas as pd

    start = time.perf_counter()
    jobs = []
    for name in args.datasets:
        data = load_affect(name)
        splits = list(LeaveOneGroupOut().split(data[0], data[2], data[3]))
        for fold, (train, test) in enumerate(splits[:2] if args.quick else splits):
            jobs.append(delayed(run_fold)(name, data, fold, train, test, epochs))
    rows = [r for fold_rows in Parallel(n_jobs=args.n_jobs)(jobs) for r in fold_rows]
    elapsed = time.perf_counter() - start
    frame = pd.DataFrame(rows)

    command = " ".join(["python benchmarks/capabilities.py"] + sys.argv[1:])
    text = (f"# Capabilities benchmark\n\nCommand: `{command}` ({elapsed / 60:.0f} min). "
            f"Machine: {machine()}.\n\nTwo privileged modalities `ecg` (X_priv columns 0-1) "
            "and `eda` (columns 2-3), each a partial view of the latent state. Library "
            f"defaults otherwise ({epochs} epochs). See the docstring of "
            "`benchmarks/capabilities.py` for what each row is.\n")
    text += summarise(frame, args.datasets)
    print("\n" + text)
    if not args.quick:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "capabilities.md").write_text(text)
        frame.to_csv(out / "capabilities_folds.csv", index=False)
        print(f"written to {out}/capabilities.md, capabilities_folds.csv")


if __name__ == "__main__":
    main()
