"""PKDOTStudent.fit with the tuned defaults vs the released configuration.

Side by side with a plain skorch net on the same module (as in speed.py's
fit table): 10 000 samples, 10 epochs, batch 128, 3 interleaved
repetitions, medians. Run: ``OMP_NUM_THREADS=1 python benchmarks/fit_configs.py``
(about 1 minute).
"""

import argparse
import time

import numpy as np
import torch
from sklearn.frozen import FrozenEstimator
from skorch import NeuralNet

from _common import OutputOnly
from pkdot_sk import PKDOTStudent, PrivilegedTeacher
from pkdot_sk.datasets import make_privileged_classification


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-epochs", type=int, default=10)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--n-subjects", type=int, default=40, help="of 250 samples each")
    args = parser.parse_args()
    X, Xp, y, _ = make_privileged_classification(n_subjects=args.n_subjects,
                                                 n_samples_per_subject=250, random_state=0)
    X = X.astype(np.float32)
    T = FrozenEstimator(PrivilegedTeacher(max_epochs=5, random_state=0).fit(X, y, X_priv=Xp))
    E = args.max_epochs

    def plain():
        torch.manual_seed(0)
        NeuralNet(OutputOnly, module__n_features=X.shape[1], module__n_classes=4,
                  criterion=torch.nn.CrossEntropyLoss, optimizer=torch.optim.Adam, lr=1e-3,
                  max_epochs=E, batch_size=128, iterator_train__shuffle=True,
                  train_split=None, verbose=0).fit(X, y.astype(np.int64))

    def st(**kw):
        return lambda: PKDOTStudent(teacher=T, max_epochs=E, random_state=0, **kw).fit(
            X, y, X_priv=Xp)

    fns = {"plain": plain, "none": st(distillation="none"), "pkdot_default(all,6)": st(),
           "pkdot_released(least,k30,0.6)": st(anchors="least_similar", ot_weight=0.6)}
    times = {k: [] for k in fns}
    for _ in range(args.reps):
        for k, f in fns.items():
            t = time.perf_counter()
            f()
            times[k].append(time.perf_counter() - t)
    med = {k: float(np.median(v)) for k, v in times.items()}
    for k, v in med.items():
        print(f"{k:32s} {v:6.2f} s  ratio vs plain {v / med['plain']:.2f}")


if __name__ == "__main__":
    main()
