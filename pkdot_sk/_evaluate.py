"""Leave-one-subject-out evaluation of several students on one data set, and
its report: what ``pkdot-sk evaluate`` (and ``pkdot-sk demo --out``) run.

Per held-out subject: the teacher (regular and privileged data: the upper
bound), then each student configuration (no distillation, PKDOT, the
baselines, PKDOT at each point of a grid), all on the same training rows with
the subjects passed to ``fit``. The report folder holds ``report.md`` and
``report.html`` (the table: mean +- std over subjects, the share of the
teacher's lead over no distillation that each recovers, a paired Wilcoxon
test against no distillation), ``folds.csv`` (one row per subject and
model), ``subject_scores.png`` (with matplotlib) and the command and versions.
"""

import csv
import html
import itertools
import platform
import sys
import time
from pathlib import Path

import numpy as np

TEACHER = "teacher (X + X_priv)"
NONE = "none"


def candidates(methods, grid):
    """(label, student parameters) per configuration: one per method, and
    PKDOT once per point of ``grid`` ({parameter: [values]})."""
    configurations = []
    for method in methods:
        if method == "pkdot" and grid:
            names = list(grid)
            for values in itertools.product(*(grid[name] for name in names)):
                point = dict(zip(names, values))
                label = "pkdot (" + ", ".join(f"{k}={v:g}" if isinstance(v, float) else
                                               f"{k}={v}" for k, v in point.items()) + ")"
                configurations.append((label, {"distillation": "pkdot", **point}))
        else:
            configurations.append((method, {"distillation": method}))
    return configurations


def evaluate_fold(data, train, test, configurations, settings):
    """Scores of the teacher and every configuration on one held-out subject."""
    from . import PKDOTStudent, PrivilegedTeacher

    X, X_priv, y, groups = data["X"], data["X_priv"], data["y"], data["groups"]
    teacher_params = dict(task=settings["task"], priv_groups=data["priv_groups"],
                          max_epochs=settings["max_epochs"], n_threads=1,
                          random_state=settings["random_state"],
                          verbose=settings.get("verbose", 0))
    rows = []
    start = time.perf_counter()
    teacher = PrivilegedTeacher(**teacher_params).fit(X[train], y[train], X_priv=X_priv[train],
                                                      groups=groups[train])
    subject = groups[test][0]
    rows.append({"subject": subject, "model": TEACHER,
                 "score": float(teacher.score(X[test], y[test], X_priv[test])),
                 "distilled": "", "seconds": time.perf_counter() - start})
    for label, params in configurations:
        start = time.perf_counter()
        student = PKDOTStudent(
            teacher=PrivilegedTeacher(**teacher_params) if data["priv_groups"] else None,
            task=settings["task"], max_epochs=settings["max_epochs"], n_threads=1,
            random_state=settings["random_state"], verbose=settings.get("verbose", 0),
            **params)
        student.fit(X[train], y[train], X_priv=X_priv[train], groups=groups[train])
        rows.append({"subject": subject, "model": label,
                     "score": float(student.score(X[test], y[test])),
                     "distilled": bool(student.distilled_),
                     "seconds": time.perf_counter() - start})
        if settings.get("figures") and subject == settings["figures"]["subject"] and (
                label == settings["figures"]["model"]):
            _fold_figures(student, X[test], X_priv[test], y[test], settings["figures"]["folder"])
    return rows


# The pictures of one fold's student (the first subject held out, the first
# distilling configuration), on the held-out subject's rows.
FOLD_FIGURES = {
    "similarity.png": lambda plots, student, X, X_priv, labels:
        plots.SimilarityDisplay.from_estimator(student, X, X_priv, labels),
    "training_curves.png": lambda plots, student, X, X_priv, labels:
        plots.TrainingCurvesDisplay.from_estimator(student),
    "embeddings.png": lambda plots, student, X, X_priv, labels:
        plots.EmbeddingDisplay.from_estimator(student, X, X_priv, labels),
}


def _fold_figures(student, X, X_priv, y, folder):
    if getattr(student, "teacher_", None) is None:
        return
    labels = y if y.ndim == 1 and len(np.unique(y)) <= 20 else None
    for name, draw in FOLD_FIGURES.items():
        _save_figure(lambda plots: draw(plots, student, X, X_priv, labels),
                     Path(folder) / name, dpi=90)


def _save_figure(draw, path, dpi=100):
    """Draw off screen (``draw(pkdot_sk.plotting)`` returns a Display) and
    save the figure; False without matplotlib."""
    try:
        import matplotlib
    except ImportError:
        return False
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from . import plotting

    display = draw(plotting)
    display.figure_.savefig(path, dpi=dpi)
    plt.close(display.figure_)
    return True


def run(data, configurations, settings, *, n_jobs=1, out=None):
    """Every fold, in parallel processes, with a progress line per fold."""
    from joblib import Parallel, delayed
    from sklearn.model_selection import LeaveOneGroupOut

    out = sys.stdout if out is None else out
    splits = list(LeaveOneGroupOut().split(data["X"], data["y"], data["groups"]))
    jobs = (delayed(evaluate_fold)(data, train, test, configurations, settings)
            for train, test in splits)
    rows = []
    for done, fold in enumerate(Parallel(n_jobs=n_jobs, return_as="generator_unordered")(jobs),
                                start=1):
        rows += fold
        bar = "#" * round(20 * done / len(splits))
        scores = ", ".join(f"{row['model']} {row['score']:.3f}" for row in fold)
        print(f"[{bar:<20}] {done}/{len(splits)} folds: subject {fold[0]['subject']} "
              f"held out: {scores}", file=out, flush=True)
    return rows


def summarise(rows):
    """Per model: mean, std over subjects, share of the teacher's lead over
    no distillation, Wilcoxon p against no distillation, folds distilled."""
    from scipy.stats import wilcoxon

    models = list(dict.fromkeys(row["model"] for row in rows))
    by_model = {model: {row["subject"]: row for row in rows if row["model"] == model}
                for model in models}
    subjects = sorted(by_model[models[0]])
    scores = {model: np.array([by_model[model][s]["score"] for s in subjects])
              for model in models}
    table = []
    for model in models:
        entry = {"model": model, "mean": scores[model].mean(), "std": scores[model].std(),
                 "gap share": None, "p vs none": None, "distilled": None}
        if NONE in scores and model not in (NONE, TEACHER):
            lead = scores[TEACHER].mean() - scores[NONE].mean()
            if lead > 0:
                entry["gap share"] = (scores[model].mean() - scores[NONE].mean()) / lead
            differences = scores[model] - scores[NONE]
            entry["p vs none"] = (1.0 if not np.any(differences) else
                                  float(wilcoxon(scores[model], scores[NONE]).pvalue))
        flags = [by_model[model][s]["distilled"] for s in subjects]
        if model != TEACHER:
            entry["distilled"] = f"{sum(bool(flag) for flag in flags)}/{len(flags)}"
        table.append(entry)
    return table, subjects, scores


def _cell(value, fmt):
    return "n/a" if value is None else fmt.format(value)


def write_report(folder, rows, *, metric, title, command, details="", fold_caption=""):
    """The report folder (see the module)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    table, subjects, scores = summarise(rows)
    header = ["model", f"{metric} (mean +- std)", "share of the teacher's lead",
              "Wilcoxon p vs none", "folds distilled"]
    lines = [[entry["model"], f"{entry['mean']:.3f} +- {entry['std']:.3f}",
              _cell(entry["gap share"], "{:+.0%}"), _cell(entry["p vs none"], "{:.3g}"),
              _cell(entry["distilled"], "{}")] for entry in table]
    markdown = ("| " + " | ".join(header) + " |\n|" + "---|" * len(header) + "\n"
                + "".join("| " + " | ".join(line) + " |\n" for line in lines))
    with (folder / "folds.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, ["subject", "model", "score", "distilled", "seconds"])
        writer.writeheader()
        writer.writerows(rows)
    figure = _plot(folder, scores, subjects, metric)
    fold_figures = [name for name in FOLD_FIGURES if (folder / name).exists()]
    versions = _versions()
    text = (f"# {title}\n\n{details}Leave-one-subject-out over {len(subjects)} subjects. "
            f"Per fold: the teacher on X and X_priv, then each student on X alone, trained "
            f"on the other subjects.\n\n{markdown}\n"
            + (f"![per-subject scores]({figure})\n\n" if figure else "")
            + (f"{fold_caption}\n\n" + "".join(f"![{name}]({name})\n" for name in fold_figures)
               + "\n" if fold_figures else "")
            + f"Per-fold scores: `folds.csv`.\n\nCommand: `{command}`\n\nVersions: {versions}\n")
    (folder / "report.md").write_text(text)
    cells = "".join("<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in line)
                    + "</tr>" for line in lines)
    (folder / "report.html").write_text(
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
        f"</title></head><body><h1>{html.escape(title)}</h1><p>{html.escape(details)}"
        f"Leave-one-subject-out over {len(subjects)} subjects.</p><table border='1'><tr>"
        + "".join(f"<th>{html.escape(cell)}</th>" for cell in header) + f"</tr>{cells}</table>"
        + (f"<p><img src='{figure}' alt='per-subject scores'></p>" if figure else "")
        + (f"<p>{html.escape(fold_caption)}</p>" + "".join(
            f"<p><img src='{name}' alt='{name}'></p>" for name in fold_figures)
           if fold_figures else "")
        + f"<p>Command: <code>{html.escape(command)}</code></p><p>Versions: "
        f"{html.escape(versions)}</p></body></html>\n")
    return markdown


def _plot(folder, scores, subjects, metric):
    saved = _save_figure(lambda plots: plots.SubjectScoresDisplay(
        scores, subjects, score_name=metric).plot(), folder / "subject_scores.png")
    return "subject_scores.png" if saved else None


def _versions():
    import sklearn
    import torch

    from . import __version__

    return (f"pkdot_sk {__version__}, python {platform.python_version()}, torch "
            f"{torch.__version__}, scikit-learn {sklearn.__version__}, numpy {np.__version__}")
