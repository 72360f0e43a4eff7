"""What does a default fit cost now, against the defaults of an earlier revision? (issue 13)

``PKDOTStudent().fit(X, y, X_priv=X_priv)`` with every default (the teacher
fitted inside) is timed in this tree and in a git revision checked out in a
temporary worktree (default: 39972fe, the last revision before the
safeguard), side by side: each measurement is a fresh process, the two trees
alternate (A, B, A, B, ...) and the table gives medians, so that a slow spell
of the machine hits both. One torch thread. The student without
distillation is timed the same way for scale.

Run: ``python benchmarks/default_cost.py`` (about 5 minutes; ``--reps``,
``--revision``); writes ``results/default_cost.md``.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from _common import machine, markdown

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).parent / "results"

# (name, built-in generator, its arguments, fit parameters). The regression
# subjects are the demo's data, where the safeguard keeps distillation.
CASES = [
    ("built-in data, 8 subjects x 75 rows, 100 epochs", "classification",
     dict(random_state=0), dict(max_epochs=100)),
    ("10 000 rows (40 subjects x 250), 10 epochs", "classification",
     dict(n_subjects=40, n_samples_per_subject=250, random_state=0), dict(max_epochs=10)),
    ("built-in regression subjects (the demo's), 100 epochs", "regression",
     dict(random_state=0), dict(max_epochs=100, task="regression")),
]

_CHILD = """
import json, sys, time, warnings
import torch
torch.set_num_threads(1)
warnings.simplefilter("ignore")
from pkdot_sk import PKDOTStudent
from pkdot_sk import datasets
kind, data, params = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
distillation = sys.argv[4]
X, X_priv, y, groups = getattr(datasets, f"make_privileged_{kind}")(**data)
student = PKDOTStudent(random_state=0, distillation=distillation, **params)
start = time.perf_counter()
student.fit(X, y, X_priv=X_priv)
print(json.dumps({"seconds": time.perf_counter() - start,
                  "distilled": bool(getattr(student, "distilled_", False))}))
"""


def timed(tree, kind, data, params, distillation):
    env = dict(os.environ, PYTHONPATH=str(tree), OMP_NUM_THREADS="1")
    out = subprocess.run([sys.executable, "-c", _CHILD, kind, json.dumps(data),
                          json.dumps(params), distillation], capture_output=True, text=True,
                         check=True, env=env, cwd=tree)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--revision", default="39972fe")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--only", default="", help="the cases whose name contains this")
    args = parser.parse_args()
    start = time.perf_counter()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        old_tree = Path(tmp) / "old"
        subprocess.run(["git", "worktree", "add", "--detach", str(old_tree), args.revision],
                       cwd=ROOT, check=True, capture_output=True)
        try:
            trees = {"this tree": ROOT, args.revision: old_tree}
            for name, kind, data, params in (c for c in CASES if args.only in c[0]):
                times = {(tree, d): [] for tree in trees for d in ("pkdot", "none")}
                distilled = []
                for _ in range(args.reps):
                    for tree_name, tree in trees.items():
                        for distillation in ("pkdot", "none"):
                            result = timed(tree, kind, data, params, distillation)
                            times[(tree_name, distillation)].append(result["seconds"])
                            if tree_name == "this tree" and distillation == "pkdot":
                                distilled.append(result["distilled"])
                new = float(np.median(times[("this tree", "pkdot")]))
                old = float(np.median(times[(args.revision, "pkdot")]))
                rows.append({"case": name, "default_now_s": new,
                             f"default_{args.revision}_s": old, "ratio": new / old,
                             "none_now_s": float(np.median(times[("this tree", "none")])),
                             "kept_distillation": f"{sum(distilled)}/{len(distilled)}"})
                print(rows[-1], flush=True)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(old_tree)], cwd=ROOT,
                           capture_output=True)
    command = " ".join(["python benchmarks/default_cost.py", *sys.argv[1:]])
    text = (f"# Cost of a default fit\n\nCommand: `{command}` "
            f"({(time.perf_counter() - start) / 60:.0f} min). Machine: {machine()}.\n\n"
            + __doc__.split("\n\n", 1)[1].split("\n\nRun:")[0] + "\n\n")
    text += markdown(rows, ["case", "default_now_s", f"default_{args.revision}_s", "ratio",
                            "none_now_s", "kept_distillation"],
                     ["{}", "{:.2f}", "{:.2f}", "{:.2f}", "{:.2f}", "{}"])
    print("\n" + text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "default_cost.md").write_text(text)


if __name__ == "__main__":
    main()
