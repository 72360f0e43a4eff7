"""pkdot-sk evaluate / fit / predict on the user's own files, and the demo's report."""

import csv
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from pkdot_sk.__main__ import DEMO_TASKS, main
from pkdot_sk.datasets import make_privileged_classification, make_privileged_regression


def _study(n_subjects=3, regression=False):
    make = make_privileged_regression if regression else make_privileged_classification
    X, X_priv, y, groups = make(n_subjects=n_subjects, n_samples_per_subject=30, n_features=5,
                                n_priv_features=4, random_state=0)
    frame = pd.DataFrame(X, columns=[f"au_{i}" for i in range(5)])
    for j in range(2):
        frame[f"ecg_{j}"] = X_priv[:, j]
        frame[f"eda_{j}"] = X_priv[:, 2 + j]
    frame["pain"] = y
    frame["subject"] = [f"s{g}" for g in groups]
    return frame


@pytest.fixture
def study_csv(tmp_path):
    path = tmp_path / "study.csv"
    _study().to_csv(path, index=False)
    return path


def _evaluate(path, out, *extra):
    return main(["evaluate", str(path), "--target", "pain", "--groups", "subject",
                 "--regular", "au_0:au_4", "--privileged", "ecg=ecg_*", "--privileged",
                 "eda=eda_0,eda_1", "--max-epochs", "2", "--out", str(out), *extra])


def test_help_loads_no_torch():
    code = ("import sys\nfrom pkdot_sk.__main__ import main\ntry:\n    main(['--help'])\n"
            "except SystemExit:\n    pass\nprint('torch' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert "evaluate" in result.stdout and result.stdout.strip().endswith("False")


def test_demo_tasks_are_the_built_in_data():
    from pkdot_sk.datasets._by_task import SYNTHETIC_BY_TASK

    assert DEMO_TASKS == tuple(SYNTHETIC_BY_TASK)


def test_evaluate_writes_the_report_of_every_model_and_subject(study_csv, tmp_path, capsys):
    assert _evaluate(study_csv, tmp_path / "report", "--grid", "ot_weight=30,300") == 0
    printed = capsys.readouterr().out
    assert "in 2 modalities" in printed and "[####################] 3/3 folds" in printed
    folder = tmp_path / "report"
    with (folder / "folds.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    models = ["teacher (X + X_priv)", "none", "pkdot (ot_weight=30)", "pkdot (ot_weight=300)"]
    assert sorted({row["model"] for row in rows}) == sorted(models)
    assert sorted({row["subject"] for row in rows}) == ["s0", "s1", "s2"]
    assert len(rows) == 3 * 4
    report = (folder / "report.md").read_text()
    for model in models:
        assert f"| {model} |" in report
    means = {model: np.mean([float(r["score"]) for r in rows if r["model"] == model])
             for model in models}
    assert f"| none | {means['none']:.3f} +-" in report
    assert "Wilcoxon p vs none" in report and "Command: `pkdot-sk" in report
    assert "<table" in (folder / "report.html").read_text()
    assert (folder / "subject_scores.png").stat().st_size > 1000
    # One fold's pictures: the first subject's, of the first distilling student.
    for name in ("similarity.png", "training_curves.png", "embeddings.png"):
        assert (folder / name).stat().st_size > 1000 and f"]({name})" in report
    assert "Fold of subject 's0', student 'pkdot (ot_weight=30)'" in report
    # --epochs: the per-epoch tables of every training, labelled.
    _evaluate(study_csv, tmp_path / "again", "--methods", "none", "--epochs")
    printed = capsys.readouterr().out
    assert "PrivilegedTeacher: training on" in printed and "train_loss" in printed


@pytest.mark.parametrize("fmt", ["parquet", "npz"])
def test_evaluate_reads_parquet_and_npz(fmt, tmp_path, capsys):
    frame = _study()
    if fmt == "parquet":
        path = tmp_path / "study.parquet"
        frame.to_parquet(path)
        regular = "au_*"
    else:
        path = tmp_path / "study.npz"
        np.savez(path, au=frame[[f"au_{i}" for i in range(5)]].to_numpy(),
                 ecg=frame[["ecg_0", "ecg_1"]].to_numpy(), eda=frame[["eda_0", "eda_1"]].to_numpy(),
                 pain=frame["pain"].to_numpy(), subject=frame["subject"].to_numpy().astype(str))
        regular = "au_0:au_4"  # a 2-D array "au" is the columns au_0 .. au_4
    assert main(["evaluate", str(path), "--target", "pain", "--groups", "subject", "--regular",
                 regular, "--privileged", "ecg_*,eda_*", "--max-epochs", "2", "--out",
                 str(tmp_path / "out"), "--methods", "none"]) == 0
    assert "| none |" in (tmp_path / "out" / "report.md").read_text()


@pytest.mark.parametrize("change, options, message", [
    (None, ["--regular", "au_*,missing"], "--regular: column 'missing' is not in the file"),
    (None, ["--regular", "au_*,ecg_0"], "--regular and --privileged share column(s) ['ecg_0']"),
    ("text", [], "--regular: column(s) ['au_0'] are not numeric"),
    ("one subject", [], "--groups: one subject only"),
    ("continuous", [], "look continuous; expected class labels, or --task regression"),
    (None, ["--methods", "none,magic"], "--methods: unknown ['magic']"),
    (None, ["--regular", "zz_*"], "--regular: pattern 'zz_*' matches no column"),
])
def test_bad_input_exits_with_one_clear_message(change, options, message, tmp_path, capsys):
    frame = _study()
    if change == "text":
        frame["au_0"] = "high"
    elif change == "one subject":
        frame["subject"] = "s0"
    elif change == "continuous":
        frame["pain"] = np.linspace(0.1, 9.9, len(frame))
    path = tmp_path / "study.csv"
    frame.to_csv(path, index=False)
    arguments = ["evaluate", str(path), "--target", "pain", "--groups", "subject",
                 "--regular", "au_*", "--privileged", "ecg_*,eda_*", "--max-epochs", "1"]
    for option, value in zip(options[::2], options[1::2]):
        if option in arguments:
            arguments[arguments.index(option) + 1] = value
        else:
            arguments += [option, value]
    with pytest.raises(SystemExit) as exit_info:
        main(arguments)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_fit_export_then_predict_from_the_regular_columns(tmp_path, capsys):
    from pkdot_sk import load_student

    frame = _study(regression=True)
    path = tmp_path / "study.csv"
    frame.to_csv(path, index=False)
    assert main(["fit", str(path), "--target", "pain", "--groups", "subject", "--task",
                 "regression", "--regular", "au_*", "--privileged", "ecg_*,eda_*",
                 "--max-epochs", "2", "--export", str(tmp_path / "model")]) == 0
    # In the wild: the regular columns only, in another order.
    wild = frame[[f"au_{i}" for i in (4, 2, 0, 1, 3)]]
    wild.to_csv(tmp_path / "wild.csv", index=False)
    assert main(["predict", str(tmp_path / "model"), str(tmp_path / "wild.csv"), "--out",
                 str(tmp_path / "predictions.csv")]) == 0
    predictions = pd.read_csv(tmp_path / "predictions.csv")["prediction"].to_numpy()
    expected = load_student(tmp_path / "model").predict(frame[[f"au_{i}" for i in range(5)]])
    np.testing.assert_allclose(predictions, expected, rtol=1e-12)


def test_demo_writes_the_same_report(tmp_path, capsys):
    assert main(["demo", "--task", "classification", "--max-epochs", "1", "--n-subjects", "2",
                 "--n-jobs", "1", "--out", str(tmp_path / "demo")]) == 0
    report = (tmp_path / "demo" / "report.md").read_text()
    assert "| none |" in report and "| pkdot |" in report and "| teacher (X + X_priv) |" in report
