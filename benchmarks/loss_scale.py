"""Does the size of the PKDOT term depend on batch size, anchors or embedding width? (issue 13)

On the batches a real fit sees: a teacher and a student without distillation
are fitted (30 epochs) on the built-in data (40 subjects of 250 rows), and the
PKDOT term between the student's and the teacher's embeddings is computed on
20 random batches of each size, with the released cost (``normalize=False``:
the squared differences summed over the k anchor coordinates) and with the
normalised one (their mean; the estimators' default). The table gives the
mean value and the mean norm of its gradient with respect to the student
network's parameters (what the optimiser sees), each also relative to batch
128, and the same for the task loss (cross-entropy) for comparison. Widths:
students with ``embedding_dim`` 16, 64 and 256 at batch 128.

Run: ``python benchmarks/loss_scale.py`` (about 2 minutes); writes
``results/loss_scale.md``.
"""

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from _common import machine, markdown

RESULTS = Path(__file__).parent / "results"
BATCHES = (16, 64, 128, 512)
ANCHORS = {"least_similar, k=30": dict(anchors="least_similar", top_k=30),
           "most_similar, k=30": dict(anchors="most_similar", top_k=30),
           "all (k=B)": dict(anchors="all")}
N_DRAWS = 20


def fitted(embedding_dim):
    from pkdot_sk import PKDOTStudent, PrivilegedTeacher
    from pkdot_sk.datasets import make_privileged_classification

    X, X_priv, y, _ = make_privileged_classification(
        n_subjects=40, n_samples_per_subject=250, random_state=0)
    teacher = PrivilegedTeacher(max_epochs=30, random_state=0).fit(X, y, X_priv=X_priv)
    students = {dim: PKDOTStudent(distillation="none", max_epochs=30, embedding_dim=dim,
                                  random_state=0).fit(X, y) for dim in embedding_dim}
    z_teacher = torch.from_numpy(np.asarray(teacher.transform(X, X_priv), dtype=np.float32))
    return X, y, z_teacher, students


def measure(student, X, y, z_teacher, batch, loss_kwargs, rng):
    from pkdot_sk.losses import pkdot_loss

    module = student.net_.module_
    # The PKDOT term reaches the encoder (the head only sees the task loss).
    params = [p for p in module.encoder.parameters() if p.requires_grad]
    x_all = torch.from_numpy(student._as_float32(student.x_scaler_, X, "X"))
    y_all = torch.from_numpy(np.searchsorted(student.classes_, y))
    values, grads, task_grads = [], [], []
    module.eval()  # no dropout: the same function on every draw
    for _ in range(N_DRAWS):
        rows = torch.from_numpy(rng.choice(len(X), size=batch, replace=False))
        output, embedding = module(x_all[rows])[:2]
        value = pkdot_loss(embedding, z_teacher[rows], **loss_kwargs)
        grad = torch.autograd.grad(value, params, retain_graph=True)
        task = torch.nn.functional.cross_entropy(output, y_all[rows])
        task_grad = torch.autograd.grad(task, params)
        values.append(float(value))
        grads.append(float(torch.sqrt(sum((g ** 2).sum() for g in grad))))
        task_grads.append(float(torch.sqrt(sum((g ** 2).sum() for g in task_grad))))
    return np.mean(values), np.mean(grads), np.mean(task_grads)


def main():
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()  # --help
    torch.set_num_threads(1)
    start = time.perf_counter()
    X, y, z_teacher, students = fitted((16, 64, 256))
    rows = []
    for normalize in (False, True):
        for anchor_name, anchor_kwargs in ANCHORS.items():
            cells = {}
            for dim, batches in ((64, BATCHES), (16, (128,)), (256, (128,))):
                for batch in batches:
                    rng = np.random.RandomState(batch)
                    cells[(dim, batch)] = measure(students[dim], X, y, z_teacher, batch,
                                                  dict(anchor_kwargs, normalize=normalize),
                                                  rng)
            reference = cells[(64, 128)]
            for (dim, batch), (value, grad, task_grad) in cells.items():
                rows.append({"cost": "normalised (mean)" if normalize else "released (sum)",
                             "anchors": anchor_name, "embedding_dim": dim, "B": batch,
                             "value": value, "value_vs_128": value / reference[0],
                             "grad_norm": grad, "grad_vs_128": grad / reference[1],
                             "task_grad_norm": task_grad})
                print(rows[-1], flush=True)
    text = ("# Scale of the PKDOT term\n\nCommand: `python benchmarks/loss_scale.py` "
            f"({(time.perf_counter() - start) / 60:.0f} min). Machine: {machine()}.\n\n"
            + __doc__.split("\n\n", 1)[1].split("\n\nRun:")[0] + "\n\n")
    text += markdown(rows, ["cost", "anchors", "embedding_dim", "B", "value", "value_vs_128",
                            "grad_norm", "grad_vs_128", "task_grad_norm"],
                     ["{}", "{}", "{}", "{}", "{:.4g}", "{:.2f}", "{:.4g}", "{:.2f}",
                      "{:.3g}"])
    print("\n" + text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "loss_scale.md").write_text(text)


if __name__ == "__main__":
    main()
