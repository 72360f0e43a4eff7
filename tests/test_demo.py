import io

from pkdot_sk.__main__ import main, run_demo


def test_demo_prints_progress_and_table():
    out = io.StringIO()
    table = run_demo("classification", max_epochs=2, n_jobs=1, n_subjects=3, out=out)
    text = out.getvalue()
    assert table.shape == (3, 3)
    assert "[3/3]" in text and "| PKDOT student (X) |" in text and "teacher (X + X_priv)" in text


def test_cli_regression(capsys):
    assert main(["demo", "--task", "regression", "--max-epochs", "1", "--n-subjects", "2",
                 "--n-jobs", "1"]) == 0
    assert "R^2" in capsys.readouterr().out
