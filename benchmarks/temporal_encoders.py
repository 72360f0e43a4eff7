"""Which encoder should sequences (3-D X) get by default? (issue: sequences)

BasicMotions raw series (80 recordings, 100 steps at 10 Hz): the gyroscope's
3 channels are the student's X, the accelerometer's 3 channels the
privileged X_priv, both as (n, 100, 3) sequences. For every fold of a
stratified 5-fold cross-validation repeated twice and every encoder, one
``PrivilegedTeacher`` is fitted (both modalities with that encoder), then a
``PKDOTStudent`` with ``distillation="none"`` and one with PKDOT (the same
teacher, frozen), each with the student's encoder of the same kind. All other
parameters are the library defaults (100 epochs, ``hidden_units=(128,)``,
``embedding_dim=64``, ``dropout=0.1``). One more PKDOT student per fold
trains for ``--long-epochs`` (300) epochs: with 64 training rows an epoch is
a single optimiser step, and the PKDOT term slows the fit of the labels.

Encoders (``--encoders`` picks among them):

- ``tcn``: :class:`~pkdot_sk.modules.TemporalConvEncoder`, one 128-channel
  convolution of 5 steps, layer normalisation, ReLU, global average pooling,
  Linear + ReLU; ``tcn_plain`` without the normalisation, ``tcn_batchnorm``
  with batch normalisation instead (not run by default);
- ``gru``: :class:`~pkdot_sk.modules.GRUEncoder`, one 128-unit GRU, its last
  hidden state, Linear + ReLU (``gru_mean``, mean over the steps instead, is
  not run by default);
- ``mlp_flat``: the 2-D default, :class:`~pkdot_sk.modules.MLPEncoder` on the
  flattened (n, 300) series (what the estimators did before sequences).

Prints markdown tables (accuracy mean +- std over folds, seconds per fit)
and writes ``benchmarks/results/temporal_encoders.md`` and the per-fold
scores in ``temporal_encoders_folds.csv``.

Run: ``python benchmarks/temporal_encoders.py`` (about 10 minutes on 2
cores shared with other jobs; ``--quick`` for a smoke run that writes nothing). Needs sktime.
"""

import argparse
import time
from pathlib import Path

from joblib import Parallel, delayed
from sklearn.model_selection import RepeatedStratifiedKFold

from _common import machine, markdown

RESULTS = Path(__file__).parent / "results"
ENCODERS = ("tcn", "tcn_plain", "tcn_batchnorm", "gru", "gru_mean", "mlp_flat")
DEFAULT_ENCODERS = ("tcn", "tcn_plain", "gru", "mlp_flat")
DESCRIPTIONS = {
    "tcn": "TemporalConvEncoder: Conv1d(3->128, k=5), layer norm (GroupNorm(1, 128)), ReLU, "
           "mean over steps, Linear+ReLU",
    "tcn_plain": "TemporalConvEncoder(norm=None): the same without the normalisation",
    "tcn_batchnorm": "TemporalConvEncoder(norm='batch'): BatchNorm1d instead of the layer norm",
    "gru": "GRUEncoder: GRU(3->128), last hidden state, Linear+ReLU",
    "gru_mean": "GRUEncoder(pooling='mean'): GRU(3->128), mean of the outputs, Linear+ReLU",
    "mlp_flat": "MLPEncoder on the flattened series (300 features): the 2-D default",
}


def load():
    from pkdot_sk.datasets import load_basic_motions

    X, X_priv, y = load_basic_motions(regular="gyroscope", features="raw")
    # Flattened channel-major: (n, 300) -> (n, 3 channels, 100 steps) -> (n, 100, 3).
    to_series = lambda flat: flat.reshape(len(flat), 3, 100).transpose(0, 2, 1)  # noqa: E731
    return to_series(X), to_series(X_priv), X, X_priv, y


def make_encoder(kind, n_features):
    """The encoder module for ``kind`` (None: the 2-D default MLP)."""
    from pkdot_sk.modules import GRUEncoder, TemporalConvEncoder

    if kind.startswith("tcn"):
        norm = {"tcn": "layer", "tcn_plain": None, "tcn_batchnorm": "batch"}[kind]
        return TemporalConvEncoder(n_features, (128,), kernel_size=5, embedding_dim=64,
                                   dropout=0.1, norm=norm)
    if kind == "gru":
        return GRUEncoder(n_features, (128,), embedding_dim=64, dropout=0.1, pooling="last")
    if kind == "gru_mean":
        return GRUEncoder(n_features, (128,), embedding_dim=64, dropout=0.1, pooling="mean")
    return None


class _Clock:
    """Wall and CPU seconds since creation. CPU time (this process, one torch
    thread) is the fairer cost when other jobs share the machine."""

    def __init__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def read(self):
        return {"wall_s": time.perf_counter() - self.wall,
                "cpu_s": time.process_time() - self.cpu}


def run(kind, fold, train, test, data, max_epochs, long_epochs):
    import torch
    from sklearn.frozen import FrozenEstimator

    from pkdot_sk import PKDOTStudent, PrivilegedTeacher

    torch.set_num_threads(1)  # folds run in parallel processes
    X_seq, X_priv_seq, X_flat, X_priv_flat, y = data
    X, X_priv = (X_flat, X_priv_flat) if kind == "mlp_flat" else (X_seq, X_priv_seq)
    encoder = make_encoder(kind, X.shape[-1])
    seed = 1000 + fold
    common = dict(max_epochs=max_epochs, random_state=seed, module=encoder)
    rows = []

    clock = _Clock()
    teacher = PrivilegedTeacher(priv_module=encoder, **common).fit(
        X[train], y[train], X_priv=X_priv[train])
    rows.append({"encoder": kind, "fold": fold, "model": "teacher", **clock.read(),
                 "accuracy": teacher.score(X[test], y[test], X_priv[test])})
    students = [("none", "none", max_epochs), ("pkdot", "pkdot", max_epochs)]
    if long_epochs and not kind.startswith("gru"):  # too slow for the GRU
        students.append(("pkdot_long", "pkdot", long_epochs))
    for model, method, epochs in students:
        student = PKDOTStudent(teacher=FrozenEstimator(teacher), distillation=method,
                               **{**common, "max_epochs": epochs})
        clock = _Clock()
        student.fit(X[train], y[train], X_priv=X_priv[train])
        rows.append({"encoder": kind, "fold": fold, "model": model, **clock.read(),
                     "accuracy": student.score(X[test], y[test]),
                     "train_accuracy": student.score(X[train], y[train])})
    encoder_module = student.net_.module_.encoder  # the last student's
    n_params = sum(p.numel() for p in encoder_module.parameters())
    for row in rows:
        row["student_encoder"] = type(encoder_module).__name__
        row["encoder_parameters"] = n_params
    print(f"{kind} fold {fold}: " + " ".join(
        f"{r['model']}={r['accuracy']:.3f} ({r['cpu_s']:.1f} s)" for r in rows), flush=True)
    return rows


def summarise(frame, encoders):
    table = []
    for kind in encoders:
        part = frame[frame.encoder == kind]
        row = {"encoder": kind, "parameters": int(part.encoder_parameters.iloc[0])}
        for model in ("teacher", "none", "pkdot", "pkdot_long"):
            scores = part[part.model == model]
            if not len(scores):
                continue
            row[model] = (f"{scores.accuracy.mean():.3f} ± {scores.accuracy.std(ddof=1):.3f}")
            row[f"{model}_s"] = scores.cpu_s.mean()
            if model != "teacher":
                row[f"{model}_train"] = scores.train_accuracy.mean()
        row["wall_s"] = part[part.model != "pkdot_long"].wall_s.mean()
        table.append(row)
    return table


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoders", nargs="+", default=list(DEFAULT_ENCODERS),
                        choices=list(ENCODERS))
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--max-epochs", type=int, default=100)
    parser.add_argument("--long-epochs", type=int, default=300,
                        help="epochs of an extra PKDOT student (not for the GRUs); 0: none")
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--quick", action="store_true",
                        help="2 epochs, one repeat, nothing written")
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args()
    epochs = 2 if args.quick else args.max_epochs
    long_epochs = (3 if args.long_epochs else 0) if args.quick else args.long_epochs
    repeats = 1 if args.quick else args.repeats

    data = load()
    y = data[-1]
    cv = RepeatedStratifiedKFold(n_splits=5, n_repeats=repeats, random_state=0)
    splits = list(cv.split(y, y))
    # Slowest encoders first: the pool stays busy to the end.
    order = sorted(args.encoders, key=lambda kind: not kind.startswith("gru"))
    start = time.perf_counter()
    jobs = [delayed(run)(kind, fold, train, test, data, epochs, long_epochs)
            for kind in order for fold, (train, test) in enumerate(splits)]
    rows = [row for job_rows in Parallel(n_jobs=args.n_jobs)(jobs) for row in job_rows]
    elapsed = time.perf_counter() - start

    import pandas as pd

    frame = pd.DataFrame(rows)
    table = summarise(frame, args.encoders)
    command = (f"python benchmarks/temporal_encoders.py --max-epochs {epochs} "
               f"--long-epochs {long_epochs} --repeats {repeats} --n-jobs {args.n_jobs} "
               "--encoders "
               + " ".join(args.encoders))
    text = (
        "# Default temporal encoder\n\n"
        f"Command: `{command}` ({elapsed / 60:.1f} min). Machine: {machine()}.\n\n"
        "BasicMotions raw series: gyroscope (3 channels x 100 steps) is the student's X, "
        "accelerometer the privileged X_priv. Stratified 5-fold CV repeated "
        f"{repeats}x ({len(splits)} folds). Per fold and encoder: a `PrivilegedTeacher` "
        "(X and X_priv, both encoded by that kind of encoder; scored with the test rows' "
        "X_priv, the ceiling), a `PKDOTStudent(distillation=\"none\")` and a PKDOT student "
        "with that teacher frozen; all library defaults otherwise "
        f"({epochs} epochs, hidden_units=(128,), embedding_dim=64).\n\n"
        "Encoders:\n\n"
        + "".join(f"- `{kind}`: {DESCRIPTIONS[kind]}\n" for kind in args.encoders)
        + f"\n## Accuracy\n\nTest accuracy, mean ± std over folds; `*_train`: the "
        "students' mean accuracy on their own training rows. `pkdot_long`: PKDOT student "
        f"trained for {long_epochs} epochs instead of {epochs} (same teacher; not run for "
        "the GRUs, too slow).\n\n"
    )
    text += markdown(table, ["encoder", "teacher", "none", "pkdot", "pkdot_long", "none_train",
                             "pkdot_train", "pkdot_long_train"],
                     ["{}", "{}", "{}", "{}", "{}", "{:.3f}", "{:.3f}", "{:.3f}"])
    text += (
        "\n## Cost\n\n`parameters`: the student encoder's parameter count. `teacher_s`, "
        f"`none_s`, `pkdot_s`: mean CPU seconds of one {epochs}-epoch `fit` on 64 rows (the "
        "process's CPU time, one torch thread: what the fit costs, whatever else loads the "
        "machine); `wall_s`: mean wall seconds of those fits, which other jobs on the "
        "machine inflate. Compare them between encoders, not with other machines.\n\n"
    )
    text += markdown(table, ["encoder", "parameters", "teacher_s", "none_s", "pkdot_s",
                             "wall_s"], ["{}", "{}", "{:.1f}", "{:.1f}", "{:.1f}", "{:.1f}"])
    print("\n" + text)
    if not args.quick:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "temporal_encoders.md").write_text(text)
        frame.to_csv(out / "temporal_encoders_folds.csv", index=False)
        print(f"written to {out}/temporal_encoders.md and temporal_encoders_folds.csv")


if __name__ == "__main__":
    main()
