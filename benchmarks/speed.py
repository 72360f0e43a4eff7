"""Speed of the PKDOT loss and of ``PKDOTStudent.fit`` (issue 3).

Prints four markdown tables and writes them, with the machine, to
``benchmarks/results/speed.md``:

1. ``pkdot_loss`` forward+backward against the released implementation's loss
   (cosine matrices, anchors, then geomloss ``SamplesLoss("sinkhorn", p=2,
   blur=0.1)``) on the same inputs, float32 and float64, with the values of
   both and of a converged solve;
2. accuracy on the batches of a real fit (near-degenerate clouds), against a
   converged float64 solve, ours and geomloss's;
3. ``PKDOTStudent.fit`` against a plain skorch ``NeuralNet`` with the same
   module, epochs and batch size (10 000 samples, frozen pre-fitted teacher);
4. fit time and peak memory against the number of samples (each size in its
   own process, so that the peak is its own).

Every ratio is measured side by side with interleaved repetitions (A, B, A,
B, ...) and medians, so that a slow spell of the machine hits both sides.

Run: ``python benchmarks/speed.py`` (``--quick`` for a short smoke run).
geomloss is optional (``pip install -e ".[benchmarks]"``): without it the
geomloss columns are left out.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

from pkdot_sk import PKDOTStudent, PrivilegedTeacher
from pkdot_sk.datasets import make_privileged_classification
from pkdot_sk.losses import cosine_similarity_matrix, pkdot_loss

try:
    from geomloss import SamplesLoss
except ImportError:  # optional benchmark dependency
    SamplesLoss = None

from _common import markdown

RESULTS = Path(__file__).parent / "results"


# ----------------------------------------------------------------- helpers
def machine_description():
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {"python": platform.python_version(), "torch": torch.__version__,
                "numpy": np.__version__}
    for name in ("ot", "skorch", "geomloss"):
        try:
            versions[name] = __import__(name).__version__
        except ImportError:
            versions[name] = "not installed"
    return (f"{cpu}; {os.cpu_count()} logical cores; torch threads "
            f"{torch.get_num_threads()}; {platform.system()} {platform.release()}; "
            + ", ".join(f"{k} {v}" for k, v in versions.items()))


def interleaved(functions, reps):
    """Median seconds of each function, repetitions interleaved."""
    times = [[] for _ in functions]
    for fn in functions:  # warm-up
        fn()
    for _ in range(reps):
        for index, fn in enumerate(functions):
            start = time.perf_counter()
            fn()
            times[index].append(time.perf_counter() - start)
    return [float(np.median(t)) for t in times]


def embeddings(batch, dtype, seed):
    gen = torch.Generator().manual_seed(seed)
    teacher = torch.randn(batch, 64, generator=gen, dtype=dtype)
    mixing = torch.randn(64, 64, generator=gen, dtype=dtype) * 0.3
    student = teacher @ mixing + torch.randn(batch, 64, generator=gen, dtype=dtype)
    return student, teacher


def released_loss(student, teacher, top_k, geomloss_loss):
    """The released PKDOT loss: same clouds, geomloss Sinkhorn divergence."""
    sim_s = cosine_similarity_matrix(student)
    sim_t = cosine_similarity_matrix(teacher.detach())
    sim_s = sim_s - sim_s.min()
    sim_t = sim_t - sim_t.min()
    columns = torch.topk(sim_t, min(top_k, student.shape[0]), dim=1, largest=False).indices
    return geomloss_loss(torch.gather(sim_s, 1, columns), torch.gather(sim_t, 1, columns))


def forward_backward(loss_fn, student, teacher):
    def run():
        leaf = student.detach().clone().requires_grad_(True)
        value = loss_fn(leaf, teacher)
        value.backward()
        run.value = float(value.detach())
    return run


# ------------------------------------------------------------- table 1
def loss_table(reps, sizes):
    geomloss_loss = SamplesLoss("sinkhorn", p=2, blur=0.1) if SamplesLoss else None
    rows = []
    for dtype in (torch.float32, torch.float64):
        for batch in sizes:
            for top_k in (10, 30, batch):
                student, teacher = embeddings(batch, dtype, seed=batch + top_k)
                ours = forward_backward(lambda s, t: pkdot_loss(s, t, top_k=top_k), student, teacher)
                converged = float(pkdot_loss(student.double(), teacher.double(), top_k=top_k,
                                             max_iter=5000))
                row = {"dtype": str(dtype).replace("torch.", ""), "B": batch, "k": top_k}
                if geomloss_loss is not None:
                    theirs = forward_backward(
                        lambda s, t: released_loss(s, t, top_k, geomloss_loss), student, teacher)
                    t_ours, t_theirs = interleaved([ours, theirs], reps)
                    row.update(ours_ms=1e3 * t_ours, geomloss_ms=1e3 * t_theirs,
                               ratio=t_ours / t_theirs, ours=ours.value, geomloss=theirs.value,
                               diff=abs(ours.value - theirs.value) / abs(theirs.value))
                else:
                    (t_ours,) = interleaved([ours], reps)
                    row.update(ours_ms=1e3 * t_ours, ours=ours.value)
                row.update(converged=converged,
                           ours_err=abs(ours.value - converged) / abs(converged))
                if geomloss_loss is not None:
                    row["geomloss_err"] = abs(theirs.value - converged) / abs(converged)
                rows.append(row)
                print(row, flush=True)
    return rows


# ------------------------------------------------------------- table 2
# The released PKDOT configuration, every column as anchor with the released
# (summed) cost, and this library's defaults (normalised cost). Without the
# safeguard, so that every configuration trains with its term.
CONFIGS = {"released (least similar, k=30, sum, lambda=0.6)":
           dict(anchors="least_similar", top_k=30, ot_weight=0.6, ot_normalize=False,
                safeguard=None),
           "all anchors (k=B), sum, lambda=6":
           dict(anchors="all", ot_weight=6.0, ot_normalize=False, safeguard=None),
           "defaults (normalised cost)": dict(safeguard=None)}


def training_clouds(config, n_batches=40):
    """Anchor clouds of real training batches (PKDOT fit on 10 000 samples),
    each with the epsilon its solve used (``k * ot_reg`` for the normalised
    cost, see ``pkdot_loss``)."""
    from pkdot_sk import _ot

    captured, original = [], _ot._divergence

    def spy(x, y, reg, *args, **kwargs):
        # Every PKDOT batch reaches the solver here, CPU (NumPy) or not.
        spy.calls += 1
        if spy.calls % 40 == 1 and len(captured) < n_batches and x.shape[0] == 128:
            captured.append((torch.as_tensor(x).clone(), torch.as_tensor(y).clone(), reg))
        return original(x, y, reg, *args, **kwargs)

    spy.calls = 0
    _ot._divergence = spy
    try:
        X, X_priv, y, _ = make_privileged_classification(
            n_subjects=40, n_samples_per_subject=250, random_state=0)
        PKDOTStudent(max_epochs=20, random_state=0, **config).fit(X, y, X_priv=X_priv)
    finally:
        _ot._divergence = original
    return captured


def _value_and_gradient(divergence, x, y):
    leaf = x.detach().clone().requires_grad_(True)
    value = divergence(leaf, y)
    value.backward()
    return float(value.detach()), leaf.grad.double().flatten()


def training_accuracy_table(clouds_by_config):
    """Value error and gradient direction against a converged float64 solve."""
    from pkdot_sk._ot import sinkhorn_divergence

    solvers = {"ours (default budget)": lambda x, y, reg: sinkhorn_divergence(x, y, reg),
               "ours, max_iter=300": lambda x, y, reg: sinkhorn_divergence(
                   x, y, reg, max_iter=300, tol=1e-6)}
    if SamplesLoss is not None:
        # blur = reg ** (1 / p): the released configuration's blur=0.1 is reg 0.01.
        solvers["geomloss (released defaults)"] = lambda x, y, reg: SamplesLoss(
            "sinkhorn", p=2, blur=reg ** 0.5)(x, y)
    rows = []
    for config, clouds in clouds_by_config.items():
        errors = {name: [] for name in solvers}
        cosines = {name: [] for name in solvers}
        for x, y, reg in clouds:
            truth, truth_grad = _value_and_gradient(
                lambda a, b: sinkhorn_divergence(a, b, reg, max_iter=20000, tol=1e-10),
                x.double(), y.double())
            for name, solver in solvers.items():
                value, grad = _value_and_gradient(lambda a, b: solver(a, b, reg), x, y)
                errors[name].append(abs(value / truth - 1))
                cosines[name].append(float(grad @ truth_grad / (grad.norm() * truth_grad.norm())))
        for name in solvers:
            errs = np.asarray(errors[name])
            rows.append({"configuration": config, "k": clouds[0][0].shape[1],
                         "epsilon": clouds[0][2], "solver": name,
                         "median": float(np.median(errs)), "p90": float(np.quantile(errs, 0.9)),
                         "max": float(errs.max()), "grad_cos_median": float(np.median(
                             cosines[name])), "grad_cos_min": float(np.min(cosines[name]))})
            print(rows[-1], flush=True)
    return rows


# ------------------------------------------------------------- table 3
class _OutputOnly(torch.nn.Module):
    """The student network returning logits only, for a plain skorch net."""

    def __init__(self, n_features, n_classes):
        super().__init__()
        from pkdot_sk.modules import MLPEncoder, StudentNetwork
        self.net = StudentNetwork(MLPEncoder(n_features), 64, n_classes)

    def forward(self, x):
        return self.net(x)[0]


def fit_table(reps, max_epochs, n_samples=10_000):
    from sklearn.frozen import FrozenEstimator
    from skorch import NeuralNet

    X, X_priv, y, _ = make_privileged_classification(
        n_subjects=n_samples // 250, n_samples_per_subject=250, random_state=0)
    X = X.astype(np.float32)
    teacher = FrozenEstimator(PrivilegedTeacher(max_epochs=5, random_state=0).fit(X, y, X_priv=X_priv))

    def plain():
        torch.manual_seed(0)
        NeuralNet(_OutputOnly, module__n_features=X.shape[1], module__n_classes=4,
                  criterion=torch.nn.CrossEntropyLoss, optimizer=torch.optim.Adam, lr=1e-3,
                  max_epochs=max_epochs, batch_size=128, iterator_train__shuffle=True,
                  train_split=None, verbose=0).fit(X, y.astype(np.int64))

    def student(**params):
        return lambda: PKDOTStudent(teacher=teacher, max_epochs=max_epochs, random_state=0,
                                    **params).fit(X, y, X_priv=X_priv)

    # Every configuration without the safeguard, then the full defaults: the
    # safeguard's two extra trainings included.
    configs = {**CONFIGS, "defaults with the safeguard": {}}
    functions = [plain, student(distillation="none")] + [student(**c) for c in configs.values()]
    t_plain, t_none, *t_pkdot = interleaved(functions, reps)
    rows = []
    for config, seconds in zip(configs, t_pkdot):
        rows.append({"configuration": config, "n_samples": n_samples, "epochs": max_epochs,
                     "batch": 128, "plain_skorch_s": t_plain, "student_none_s": t_none,
                     "pkdot_s": seconds, "ratio_pkdot_vs_plain": seconds / t_plain,
                     "per_batch_overhead_ms": 1e3 * (seconds - t_plain)
                     / (max_epochs * int(np.ceil(n_samples / 128)))})
        print(rows[-1], flush=True)
    return rows


# ------------------------------------------------------------- table 4
_CHILD = """
import json, resource, sys, time, numpy as np, torch
from sklearn.frozen import FrozenEstimator
from pkdot_sk import PKDOTStudent, PrivilegedTeacher
from pkdot_sk.datasets import make_privileged_classification
n = int(sys.argv[1]); epochs = int(sys.argv[2])
X, Xp, y, _ = make_privileged_classification(
    n_subjects=max(n // 250, 2), n_samples_per_subject=min(250, n // 2), random_state=0)
teacher = FrozenEstimator(PrivilegedTeacher(max_epochs=1, random_state=0).fit(X, y, X_priv=Xp))
start = time.perf_counter()
PKDOTStudent(teacher=teacher, max_epochs=epochs, random_state=0).fit(X, y, X_priv=Xp)
elapsed = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB -> MiB
print(json.dumps({"n_samples": len(X), "fit_s": elapsed, "peak_rss_mib": peak}))
"""


def scaling_table(sizes, epochs):
    rows = []
    for n in sizes:
        out = subprocess.run([sys.executable, "-c", _CHILD, str(n), str(epochs)],
                             capture_output=True, text=True, check=True)
        row = json.loads(out.stdout.strip().splitlines()[-1])
        row["ms_per_sample_epoch"] = 1e3 * row["fit_s"] / (row["n_samples"] * epochs)
        rows.append(row)
        print(row, flush=True)
    return rows


# ---------------------------------------------------------------- output
def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few repetitions, small sizes")
    parser.add_argument("--out", default=str(RESULTS / "speed.md"))
    args = parser.parse_args()
    reps = 5 if args.quick else 21
    sizes = (64, 128) if args.quick else (64, 128, 256, 512)

    machine = machine_description()
    print(machine)
    loss_rows = loss_table(reps, sizes)
    accuracy_rows = training_accuracy_table(
        {config: training_clouds(params, 10 if args.quick else 40)
         for config, params in CONFIGS.items()})
    fit_rows = fit_table(reps=1 if args.quick else 3, max_epochs=2 if args.quick else 10)
    scale_rows = scaling_table((1000, 3000) if args.quick else (1000, 3000, 10_000, 30_000, 100_000),
                               epochs=1 if args.quick else 2)

    text = f"# Speed benchmark\n\nMachine: {machine}\n\nCommand: `python benchmarks/speed.py`\n\n"
    text += ("## 1. `pkdot_loss` forward+backward vs the released loss (geomloss)\n\n"
             "Median of interleaved repetitions; `ratio` = ours / geomloss (target <= 0.5). "
             "`diff` = relative difference of the two values; `*_err` = relative error "
             "against a converged float64 solve of the same clouds.\n\n")
    text += markdown(loss_rows, ["dtype", "B", "k", "ours_ms", "geomloss_ms", "ratio", "ours",
                                 "geomloss", "diff", "ours_err", "geomloss_err"],
                     ["{}", "{}", "{}", "{:.2f}", "{:.2f}", "{:.2f}", "{:.5g}", "{:.5g}",
                      "{:.2%}", "{:.2%}", "{:.2%}"])
    text += ("\n## 2. Accuracy on the batches of a real fit (B=128)\n\n"
             "Clouds of 40 training batches of a PKDOT fit in each configuration (`k` = "
             "coordinates per point). Relative error of the divergence (median, p90, max) "
             "and cosine between the gradient and the gradient of a converged float64 "
             "solve.\n\n")
    text += markdown(accuracy_rows, ["configuration", "k", "epsilon", "solver", "median",
                                     "p90", "max", "grad_cos_median", "grad_cos_min"],
                     ["{}", "{}", "{:.3g}", "{}", "{:.2%}", "{:.2%}", "{:.2%}", "{:.4f}",
                      "{:.4f}"])
    text += ("\n## 3. `PKDOTStudent.fit` vs a plain skorch net (same module, epochs, batch)\n\n"
             "Frozen pre-fitted teacher; teacher embeddings computed once per fit (inside the "
             "timed fit). Target ratio <= 1.3.\n\n")
    text += markdown(fit_rows, ["configuration", "n_samples", "epochs", "batch",
                                "plain_skorch_s", "student_none_s", "pkdot_s",
                                "ratio_pkdot_vs_plain", "per_batch_overhead_ms"],
                     ["{}", "{}", "{}", "{}", "{:.2f}", "{:.2f}", "{:.2f}", "{:.2f}", "{:.2f}"])
    text += ("\n## 4. Scaling with n_samples (batch 128, each size in a fresh process)\n\n")
    text += markdown(scale_rows, ["n_samples", "fit_s", "ms_per_sample_epoch", "peak_rss_mib"],
                     ["{}", "{:.2f}", "{:.4f}", "{:.0f}"])
    print("\n" + text)
    if not args.quick:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text)
        print(f"written to {args.out}")


if __name__ == "__main__":
    main()
