import io

import numpy as np
import pytest

from pkdot_sk.__main__ import main, run_demo


def test_demo_prints_progress_and_table():
    out = io.StringIO()
    table = run_demo("classification", max_epochs=2, n_jobs=1, n_subjects=3, out=out)
    text = out.getvalue()
    assert table.shape == (3, 3)
    assert "[3/3]" in text and "| PKDOT student (X) |" in text and "teacher (X + X_priv)" in text
    assert "The safeguard kept distillation in" in text


def test_cli_regression(capsys):
    assert main(["demo", "--task", "regression", "--max-epochs", "1", "--n-subjects", "2",
                 "--n-jobs", "1"]) == 0
    assert "R^2" in capsys.readouterr().out


def test_demo_affect_tasks_use_their_metrics(capsys):
    assert main(["demo", "--task", "valence-arousal", "--max-epochs", "2", "--n-subjects", "2",
                 "--n-jobs", "1"]) == 0
    assert "metric CCC" in capsys.readouterr().out
    out = io.StringIO()
    table = run_demo("ordinal", max_epochs=2, n_jobs=1, n_subjects=2, out=out)
    # Accuracies of predicted levels.
    assert table.shape == (2, 3) and np.all((table >= 0) & (table <= 1))
    assert "ordinal" in out.getvalue()


def test_demo_rejects_an_unknown_task():
    with pytest.raises(ValueError, match="task must be one of"):
        run_demo("pain", max_epochs=1, n_jobs=1, n_subjects=2, out=io.StringIO())
