"""Command line: ``pkdot-sk demo | evaluate | fit | predict`` (also
``python -m pkdot_sk ...``).

``evaluate`` runs leave-one-subject-out evaluation on the user's own table
(CSV, Parquet or NPZ) and writes a report folder (:mod:`._evaluate`);
``fit ... --export PATH`` trains a student on every row and writes it for
deployment, ``predict PATH DATA`` predicts with it from the regular columns
alone. ``--help`` loads no torch.

The demo runs leave-one-subject-out evaluation on the built-in synthetic
subjects and prints, per fold as it finishes and then as a table, the
teacher (regular + privileged data), the student without distillation and
the PKDOT student (both regular data only), and whether the PKDOT student's
safeguard kept distillation.

Its default data, ``--task regression`` (``make_privileged_regression``), are
a case where the privileged view matters: it reads the target almost
cleanly while the regular view is a saturated, noisy, subject-shifted copy,
so the teacher is far ahead of the regular-only student and distillation has
something to transfer. The figures it prints are in the README. On the
classification data the teacher is ahead too, but the regular-only student
already does about as well as distillation can make it, and the safeguard
mostly keeps it as it is.
"""

import argparse
import itertools
import shlex
import sys
import time
from pathlib import Path

import numpy as np

MODELS = ("teacher (X + X_priv)", "student, no distillation (X)", "PKDOT student (X)")
# The built-in data's tasks (pkdot_sk.datasets._by_task.SYNTHETIC_BY_TASK;
# tests/test_cli.py checks they agree), here so that --help imports nothing.
DEMO_TASKS = ("classification", "regression", "ordinal", "valence-arousal")
METHODS = ("none", "pkdot", "logit", "gd", "feature", "rkd", "sp", "pkt")


def _evaluate_fold(X, X_priv, y, groups, train, test, task, max_epochs, random_state):
    import torch

    from . import PKDOTStudent
    from .datasets._by_task import SYNTHETIC_BY_TASK as TASKS

    # One torch thread per worker: folds run in parallel processes instead.
    torch.set_num_threads(1)
    data = TASKS[task]
    common = dict(task=data.task, max_epochs=max_epochs, random_state=random_state)
    start = time.perf_counter()
    plain = PKDOTStudent(distillation="none", **common).fit(X[train], y[train])
    # The subjects reach fit too: the safeguard then holds out whole subjects.
    pkdot = PKDOTStudent(**common).fit(X[train], y[train], X_priv=X_priv[train],
                                       groups=groups[train])
    models = ((pkdot.teacher_, X_priv[test]), (plain,), (pkdot,))
    scores = tuple(data.score(y[test], model.predict(X[test], *priv)) for model, *priv in models)
    return groups[test][0], scores, pkdot.distilled_, time.perf_counter() - start


def run_demo(task="regression", *, max_epochs=100, n_jobs=-1, random_state=0,
             n_subjects=8, out=None, report=None):
    """Leave-one-subject-out comparison on the built-in data; ``report``, a
    folder, also gets the report of ``pkdot-sk evaluate``.

    Returns
    -------
    scores : ndarray of shape (n_subjects, 3)
        Per held-out subject: teacher, student without distillation, PKDOT
        student (accuracy for classification and ordinal levels, R^2 for
        regression, concordance correlation coefficient averaged over
        valence and arousal for "valence-arousal").
    """
    from joblib import Parallel, delayed
    from sklearn.model_selection import LeaveOneGroupOut

    from .datasets._by_task import SYNTHETIC_BY_TASK as TASKS

    out = sys.stdout if out is None else out
    if task not in TASKS:
        raise ValueError(f"task must be one of {sorted(TASKS)}; got {task!r}.")
    metric = TASKS[task].metric
    X, X_priv, y, groups = TASKS[task].make(n_subjects=n_subjects, random_state=random_state)
    print(
        f"pkdot_sk demo: {task}, {len(X)} samples of {n_subjects} subjects, X {X.shape[1]} "
        f"features, X_priv {X_priv.shape[1]} features; leave-one-subject-out, "
        f"{max_epochs} epochs, metric {metric}",
        file=out, flush=True,
    )
    splits = list(LeaveOneGroupOut().split(X, y, groups))
    jobs = (
        delayed(_evaluate_fold)(X, X_priv, y, groups, train, test, task, max_epochs, random_state)
        for train, test in splits
    )
    results = []
    rows = []
    kept = 0
    start = time.perf_counter()
    for done, (subject, scores, distilled, seconds) in enumerate(
        Parallel(n_jobs=n_jobs, return_as="generator_unordered")(jobs), start=1
    ):
        results.append((subject, scores))
        rows += [{"subject": subject, "model": model, "score": float(score),
                  "distilled": "" if model == MODELS[0] else bool(distilled and
                                                                  model == MODELS[2]),
                  "seconds": seconds}
                 for model, score in zip(MODELS, scores)]
        kept += distilled
        print(
            f"  [{done}/{len(splits)}] subject {subject} held out: teacher {scores[0]:.3f}, "
            f"no distillation {scores[1]:.3f}, PKDOT {scores[2]:.3f} "
            f"({'distilled' if distilled else 'safeguard kept the student without it'}, "
            f"{seconds:.1f} s)",
            file=out, flush=True,
        )
    results.sort()
    table = np.array([scores for _, scores in results])
    print(f"\n| model | {metric} (mean +- std over {len(splits)} held-out subjects) |", file=out)
    print("|---|---|", file=out)
    for name, column in zip(MODELS, table.T):
        print(f"| {name} | {column.mean():.3f} +- {column.std():.3f} |", file=out)
    print(f"\nThe safeguard kept distillation in {kept} of {len(splits)} folds.", file=out)
    print(f"total {time.perf_counter() - start:.1f} s", file=out, flush=True)
    if report is not None:
        from ._evaluate import write_report

        # The report compares with the student without distillation by this name.
        renamed = [dict(row, model={MODELS[1]: "none", MODELS[2]: "pkdot"}.get(
            row["model"], row["model"])) for row in rows]
        write_report(report, renamed, metric=metric, title=f"pkdot_sk demo: {task}",
                     command=_command(), details=f"Built-in data, {max_epochs} epochs. ")
        print(f"report: {report}/report.md", file=out, flush=True)
    return table


def _command():
    return "pkdot-sk " + " ".join(shlex.quote(arg) for arg in sys.argv[1:])


# ------------------------------------------------------------ your own data
def _grid(entries):
    """``--grid name=v1,v2`` entries as {name: [values]} (numbers where they parse)."""
    grid = {}
    for entry in entries or []:
        name, sep, values = entry.partition("=")
        if not sep or not name or not values:
            raise ValueError(f"--grid: {entry!r} is not PARAMETER=VALUE,VALUE,...")
        grid[name.strip()] = [_number(value.strip()) for value in values.split(",")]
    return grid


def _number(text):
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _load(args, need_privileged=True):
    """X, X_priv, priv_groups, y, groups and the column names from the options."""
    from ._table_data import DataError, numeric_block, read_table, select_columns

    frame = read_table(args.data)
    regular = select_columns(frame, args.regular, "--regular")
    privileged, priv_groups = [], {}
    for index, entry in enumerate(args.privileged or []):
        name, sep, spec = entry.partition("=")
        if not sep or "," in name or "*" in name or ":" in name:
            name, spec = f"priv_{index}", entry
        columns = select_columns(frame, spec, f"--privileged {name}")
        if name in priv_groups:
            raise DataError(f"--privileged: modality {name!r} is given twice.")
        priv_groups[name] = list(range(len(privileged), len(privileged) + len(columns)))
        privileged += columns
    if need_privileged and not privileged:
        raise DataError("--privileged: no privileged columns; expected at least one group "
                        "(e.g. --privileged ecg=hr_*).")
    target = select_columns(frame, args.target, "--target")
    used = {"--regular": regular, "--privileged": privileged, "--target": target}
    if getattr(args, "groups", None):
        used["--groups"] = select_columns(frame, args.groups, "--groups")
        if len(used["--groups"]) != 1:
            raise DataError(f"--groups: expected one column; got {used['--groups']}.")
    for (first, a), (second, b) in itertools.combinations(used.items(), 2):
        overlap = sorted(set(a) & set(b))
        if overlap:
            raise DataError(f"{first} and {second} share column(s) {overlap}; expected each "
                            "column in one role only.")
    if len(set(privileged)) != len(privileged):
        raise DataError("--privileged: a column is in two modalities.")
    numeric_block(frame, regular, "--regular")  # non-numeric columns: an error naming them
    X = frame[regular]
    X_priv = numeric_block(frame, privileged, "--privileged") if privileged else None
    y = frame[target].to_numpy()
    y = y.ravel() if len(target) == 1 else y
    groups = frame[used["--groups"][0]].to_numpy() if "--groups" in used else None
    return X, X_priv, (priv_groups if len(priv_groups) > 1 else None), y, groups


def _check_task(task, y):
    """A ValueError when the target does not fit the task."""
    from ._table_data import DataError

    if task in ("classification", "ordinal"):
        values = np.unique(y)
        if len(values) < 2:
            raise DataError(f"--target: one value only ({values.tolist()}); a {task} task "
                            "needs at least 2 classes.")
        if task == "classification" and np.issubdtype(values.dtype, np.floating) and (
                len(values) > max(20, len(y) // 5) or not np.all(values == np.round(values))):
            raise DataError(f"--target: {len(values)} distinct non-integer values look "
                            "continuous; expected class labels, or --task regression.")
        if task == "ordinal" and not np.issubdtype(values.dtype, np.number):
            raise DataError("--target: task ordinal needs numeric levels (e.g. pain 0..4).")
    elif not np.issubdtype(np.asarray(y).dtype, np.number):
        raise DataError("--target: task regression needs numbers; got "
                        f"{np.asarray(y).dtype} values (classes? use --task classification).")


def evaluate_command(args, out=None):
    from ._evaluate import candidates, run, write_report
    from ._table_data import DataError

    out = sys.stdout if out is None else out
    X, X_priv, priv_groups, y, groups = _load(args)
    if groups is None:
        raise DataError("--groups: evaluate holds out one subject at a time; give the "
                        "column of subjects (or sessions).")
    subjects = np.unique(groups)
    if len(subjects) < 2:
        raise DataError(f"--groups: one subject only ({subjects[0]!r}); leave-one-subject-out "
                        "needs at least 2.")
    _check_task(args.task, y)
    methods = [method.strip() for method in args.methods.split(",") if method.strip()]
    unknown = sorted(set(methods) - set(METHODS))
    if unknown:
        raise DataError(f"--methods: unknown {unknown}; expected some of {', '.join(METHODS)}.")
    configurations = candidates(methods, _grid(args.grid))
    data = {"X": X.to_numpy(dtype=np.float64), "X_priv": X_priv, "priv_groups": priv_groups,
            "y": y, "groups": groups}
    settings = {"task": args.task, "max_epochs": args.max_epochs,
                "random_state": args.random_state, "verbose": int(args.epochs)}
    distilling = [label for label, params in configurations if params["distillation"] != "none"]
    if distilling:
        # Pictures of one fold: the first subject held out, the first distilling student.
        Path(args.out).mkdir(parents=True, exist_ok=True)
        settings["figures"] = {"subject": subjects[0], "model": distilling[0],
                               "folder": args.out}
    print(f"pkdot-sk evaluate: {len(y)} rows of {len(subjects)} subjects, X {X.shape[1]} "
          f"columns, X_priv {X_priv.shape[1]} columns"
          + (f" in {len(priv_groups)} modalities" if priv_groups else "")
          + f"; {len(configurations)} student configuration(s) and the teacher, "
          f"{args.max_epochs} epochs", file=out, flush=True)
    rows = run(data, configurations, settings, n_jobs=args.jobs, out=out)
    metric = "accuracy" if args.task != "regression" else "R^2"
    caption = (f"Fold of subject {subjects[0]!r}, student {distilling[0]!r}, on that subject's "
               "rows: its teacher's and its similarity structure, its training curves, both "
               "embeddings." if distilling else "")
    table = write_report(args.out, rows, metric=metric, title=f"pkdot-sk evaluate: {args.data}",
                         command=_command(), details=f"Task {args.task}. ",
                         fold_caption=caption)
    print("\n" + table + f"\nreport: {args.out}/report.md", file=out, flush=True)
    return rows


def fit_command(args, out=None):
    from . import PKDOTStudent, PrivilegedTeacher

    out = sys.stdout if out is None else out
    X, X_priv, priv_groups, y, groups = _load(args)
    _check_task(args.task, y)
    student = PKDOTStudent(
        teacher=PrivilegedTeacher(priv_groups=priv_groups) if priv_groups else None,
        task=args.task, max_epochs=args.max_epochs, random_state=args.random_state)
    student.fit(X, y, X_priv=X_priv, groups=groups)
    path = student.export(args.export)
    print(f"fitted on {len(y)} rows (distilled: {student.distilled_}); exported to {path}",
          file=out, flush=True)
    return student


def predict_command(args, out=None):
    import pandas as pd

    from . import load_student
    from ._table_data import DataError, read_table

    out = sys.stdout if out is None else out
    student = load_student(args.model)
    frame = read_table(args.data)
    names = getattr(student, "feature_names_in_", None)
    if names is None:
        raise DataError(f"{args.model}: the student was not fitted on named columns.")
    missing = [name for name in names if name not in frame.columns]
    if missing:
        raise DataError(f"DATA lacks the student's regular column(s) {missing}.")
    predictions = student.predict(frame[list(names)])
    result = pd.DataFrame(np.asarray(predictions).reshape(len(frame), -1))
    result.columns = (["prediction"] if result.shape[1] == 1 else
                      [f"prediction_{j}" for j in range(result.shape[1])])
    if args.out:
        result.to_csv(args.out, index=False)
        print(f"{len(result)} predictions written to {args.out}", file=out, flush=True)
    else:
        result.to_csv(out, index=False)
    return result


def _data_options(parser, *, privileged_required=True):
    parser.add_argument("data", help="CSV, Parquet or NPZ file, one row per sample")
    parser.add_argument("--target", required=True, help="target column(s)")
    parser.add_argument("--regular", required=True,
                        help="regular columns: names, first:last ranges, globs, comma-separated")
    parser.add_argument("--privileged", action="append", required=privileged_required,
                        metavar="[NAME=]COLUMNS",
                        help="privileged columns; repeat for several modalities "
                        "(--privileged ecg=hr_* --privileged eda=eda_*)")
    parser.add_argument("--task", choices=("classification", "regression", "ordinal"),
                        default="classification")
    parser.add_argument("--max-epochs", type=int, default=100)
    parser.add_argument("--random-state", type=int, default=0)


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="pkdot-sk", description="Students that use privileged data at training time "
        "only: the built-in demo, leave-one-subject-out evaluation of your own data, and "
        "a deployable student.")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="leave-one-subject-out demo on built-in data")
    demo.add_argument("--task", choices=DEMO_TASKS, default="regression",
                      help="built-in data: a regression target (default: the privileged "
                      "view matters there), classes, ordinal (pain-like) levels, or valence "
                      "and arousal scored by CCC")
    demo.add_argument("--max-epochs", type=int, default=100)
    demo.add_argument("--n-subjects", type=int, default=8)
    demo.add_argument("--n-jobs", type=int, default=-1,
                      help="parallel folds (joblib); -1 uses every core")
    demo.add_argument("--random-state", type=int, default=0)
    demo.add_argument("--out", help="also write the report of evaluate to this folder")
    evaluate = commands.add_parser("evaluate", help="leave-one-subject-out on your data")
    _data_options(evaluate)
    evaluate.add_argument("--groups", required=True, help="the column of subjects")
    evaluate.add_argument("--methods", default="none,pkdot",
                          help=f"student configurations, some of {','.join(METHODS)}")
    evaluate.add_argument("--grid", action="append", metavar="PARAMETER=V1,V2",
                          help="PKDOT student parameters to try, e.g. ot_weight=0.6,6")
    evaluate.add_argument("--jobs", type=int, default=1, help="parallel folds (processes)")
    evaluate.add_argument("--epochs", action="store_true",
                          help="also print every training's per-epoch table (labelled by "
                          "phase; best with --jobs 1)")
    evaluate.add_argument("--out", default="pkdot_report", help="report folder")
    fit = commands.add_parser("fit", help="fit a student on every row and export it")
    _data_options(fit)
    fit.add_argument("--groups", help="the column of subjects (the safeguard holds them out)")
    fit.add_argument("--export", required=True, help="folder for the exported student")
    predict = commands.add_parser("predict", help="predict with an exported student")
    predict.add_argument("model", help="folder written by fit --export")
    predict.add_argument("data", help="CSV, Parquet or NPZ with the regular columns")
    predict.add_argument("--out", help="CSV of predictions (default: standard output)")
    args = parser.parse_args(argv)
    if getattr(args, "max_epochs", 1) < 1:
        parser.error("--max-epochs must be >= 1")
    if args.command == "demo":
        if args.n_subjects < 2:
            parser.error("--n-subjects must be >= 2")
        run_demo(args.task, max_epochs=args.max_epochs, n_jobs=args.n_jobs,
                 random_state=args.random_state, n_subjects=args.n_subjects, report=args.out)
        return 0
    from ._table_data import DataError

    command = {"evaluate": evaluate_command, "fit": fit_command,
               "predict": predict_command}[args.command]
    try:
        command(args)
    except DataError as exc:
        parser.exit(2, f"pkdot-sk {args.command}: error: {exc}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
