"""Does ``memory`` spare a grid search its repeated teacher fits? (issue 17)

``GridSearchCV(PKDOTStudent(...), 4 candidates over the student's own
parameters, cv=LeaveOneGroupOut())`` on the built-in data, with and without
``memory`` (a fresh cache folder per run), side by side: each run is a fresh
process, the two settings alternate, and the table gives medians, so that a
slow spell of the machine hits both. Serial (``n_jobs=None``) and with two
parallel jobs (loky processes, one torch thread each). The cross-validation
scores must be identical with and without the cache.

Run: ``python benchmarks/grid_memory.py`` (about 10 minutes; ``--reps``,
``--epochs``); writes ``results/grid_memory.md``.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from _common import machine, markdown

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).parent / "results"
GRID = {"ot_weight": [30.0, 300.0], "anchors": ["all", "least_similar"]}

_CHILD = """
import json, sys, tempfile, time, warnings
warnings.simplefilter("ignore")
from sklearn.model_selection import GridSearchCV, LeaveOneGroupOut
from pkdot_sk import PKDOTStudent
from pkdot_sk.datasets import make_privileged_classification
use_memory, n_jobs, epochs, grid = (sys.argv[1] == "1", json.loads(sys.argv[2]),
                                    int(sys.argv[3]), json.loads(sys.argv[4]))
X, X_priv, y, groups = make_privileged_classification(n_subjects=6, random_state=0)
with tempfile.TemporaryDirectory() as cache:
    student = PKDOTStudent(max_epochs=epochs, n_threads=1, random_state=0,
                           memory=cache if use_memory else None)
    search = GridSearchCV(student, grid, cv=LeaveOneGroupOut(), n_jobs=n_jobs, refit=False)
    start = time.perf_counter()
    search.fit(X, y, groups=groups, X_priv=X_priv)
    seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds,
                  "scores": search.cv_results_["mean_test_score"].tolist()}))
"""


def timed(use_memory, n_jobs, epochs):
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", _CHILD, "1" if use_memory else "0",
                          json.dumps(n_jobs), str(epochs), json.dumps(GRID)],
                         capture_output=True, text=True, check=True, env=env, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=30)
    args = parser.parse_args()
    start = time.perf_counter()
    rows = []
    for n_jobs in (None, 2):
        times = {False: [], True: []}
        scores = {}
        for _ in range(args.reps):
            for use_memory in (False, True):
                result = timed(use_memory, n_jobs, args.epochs)
                times[use_memory].append(result["seconds"])
                scores[use_memory] = result["scores"]
        without, with_memory = (float(np.median(times[flag])) for flag in (False, True))
        rows.append({"jobs": "serial" if n_jobs is None else f"{n_jobs} processes",
                     "without memory (s)": without, "with memory (s)": with_memory,
                     "ratio": with_memory / without,
                     "same scores": "yes" if scores[False] == scores[True] else "NO"})
        print(rows[-1], flush=True)
    table = markdown(rows, ["jobs", "without memory (s)", "with memory (s)", "ratio",
                            "same scores"], ["{}", "{:.1f}", "{:.1f}", "{:.2f}x", "{}"])
    text = (
        "# Grid search with and without the teachers' cache (`memory`)\n\n"
        f"`python benchmarks/grid_memory.py --reps {args.reps} --epochs {args.epochs}`: "
        "built-in classification data (6 subjects x 75 rows), `GridSearchCV` over "
        f"{GRID} (4 candidates), `LeaveOneGroupOut` (6 folds), default student with "
        f"`max_epochs={args.epochs}`, `n_threads=1`, `refit=False`; medians of "
        f"{args.reps} alternating fresh-process runs each. Target (issue 17): with "
        "memory <= 0.7x without.\n\n"
        f"{table}\nMachine: {machine()}. Total {time.perf_counter() - start:.0f} s.\n")
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "grid_memory.md").write_text(text)


if __name__ == "__main__":
    main()
