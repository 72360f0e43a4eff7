"""What the benchmark scripts share: data sets with a privileged view, folds, metrics, tables.

Each data set is a ``Dataset`` record: a loader returning ``(X, X_priv, y,
groups)`` (groups None where the data record no subjects), the estimators'
``task``, the metric it is scored by and, for regression, the training loss.
``draw`` selects independent data for tuning (1) and evaluation (0): fresh
subjects for the synthetic generators, another cross-validation partition for
the real sets (which have no second draw).

The scripts run as ``python benchmarks/<script>.py``, which puts this folder
on ``sys.path``; they import what they share from here only.
"""

import os
import platform
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from sklearn.model_selection import (GroupKFold, RepeatedKFold, RepeatedStratifiedKFold,
                                     StratifiedShuffleSplit, ShuffleSplit)

from pkdot_sk.datasets._by_task import SYNTHETIC_BY_TASK


# ------------------------------------------------------------------ metrics
def accuracy(y_true, y_pred):
    return float(np.mean(np.asarray(y_true) == np.asarray(y_pred)))


def r2(y_true, y_pred):
    from sklearn.metrics import r2_score

    return float(r2_score(y_true, y_pred))


def ccc(y_true, y_pred):
    from pkdot_sk.metrics import concordance_correlation_coefficient

    return float(concordance_correlation_coefficient(y_true, y_pred))


def mae(y_true, y_pred):
    return float(np.mean(np.abs(np.asarray(y_true, dtype=float) - np.asarray(y_pred, dtype=float))))


# By the metric names of the built-in data's table (SYNTHETIC_BY_TASK).
METRICS = {"accuracy": accuracy, "R^2": r2, "CCC": ccc}


def linear_model(task):
    """A linear model on X alone (scaled logistic regression / RidgeCV): how much
    the regular view holds for a model that cannot overfit much."""
    from sklearn.linear_model import LogisticRegression, RidgeCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = RidgeCV() if task == "regression" else LogisticRegression(max_iter=5000)
    return make_pipeline(StandardScaler(), model)
# "No harm" tolerance per metric (issue 13): 1 point of accuracy, 0.01 CCC, 0.02 R^2.
HARM_TOLERANCE = {"accuracy": 0.01, "CCC": 0.01, "R^2": 0.02}


# ---------------------------------------------------------------- data sets
@dataclass
class Dataset:
    description: str
    load: Callable  # draw -> (X, X_priv, y, groups)
    task: str
    metric: str
    params: dict = field(default_factory=dict)  # estimator parameters the data needs


def _synthetic(name, description, **params):
    data = SYNTHETIC_BY_TASK[name]

    def load(draw):
        # Evaluation: random_state=0, 10 subjects; tuning: other subjects.
        return data.make(n_subjects=10, n_samples_per_subject=100, random_state=draw)
    return Dataset(description, load, data.task, data.metric, params)


def _sklearn_split(loader, regular, privileged=None):
    def load(draw):
        data = loader()
        X = data.data[:, regular]
        rest = [c for c in range(data.data.shape[1]) if c not in regular]
        X_priv = data.data[:, rest if privileged is None else privileged]
        return X, X_priv, data.target, None
    return load


def _basic_motions(regular, features):
    def load(draw):
        from pkdot_sk.datasets import load_basic_motions

        X, X_priv, y = load_basic_motions(regular=regular, features=features)
        return X, X_priv, y, None
    return load


def _digits(draw):
    from pkdot_sk.datasets import load_pooled_digits

    return (*load_pooled_digits(), None)


def _datasets():
    from sklearn import datasets as sk

    return {
        "synthetic_classification": _synthetic(
            "classification", "make_privileged_classification, 10 subjects of 100 rows"),
        "synthetic_ordinal": _synthetic(
            "ordinal", "make_privileged_ordinal, 5 levels, 10 subjects"),
        "synthetic_regression": _synthetic(
            "regression", "make_privileged_regression, 10 subjects (MSE loss, R^2)"),
        "valence_arousal_ccc": _synthetic(
            "valence-arousal", "make_privileged_valence_arousal, 10 subjects, CCC loss (CCC)",
            regression_loss="ccc"),
        "basic_motions_gyro": Dataset(
            "BasicMotions raw series flattened: gyroscope -> student, accelerometer "
            "privileged", _basic_motions("gyroscope", "raw"), "classification", "accuracy"),
        "basic_motions_gyro_seq": Dataset(
            "BasicMotions series as sequences (3-D, temporal convolution): gyroscope -> "
            "student", _basic_motions("gyroscope", "series"), "classification", "accuracy"),
        "digits_pooled": Dataset(
            "digits: 4x4 pooled -> student, 8x8 privileged", _digits, "classification",
            "accuracy"),
        "iris": Dataset(
            "iris: sepal length and width -> student, petal privileged",
            _sklearn_split(sk.load_iris, [0, 1]), "classification", "accuracy"),
        "wine": Dataset(
            "wine: alcohol, malic acid, ash, alcalinity, magnesium -> student, the 8 "
            "other measurements privileged", _sklearn_split(sk.load_wine, [0, 1, 2, 3, 4]),
            "classification", "accuracy"),
        "breast_cancer": Dataset(
            "breast cancer: texture, smoothness, symmetry and fractal dimension (mean, "
            "error, worst) -> student, size and shape privileged",
            _sklearn_split(sk.load_breast_cancer, [1, 4, 8, 9, 11, 14, 18, 19, 21, 24, 28, 29]),
            "classification", "accuracy"),
        "diabetes": Dataset(
            "diabetes: age, sex, BMI, blood pressure -> student, six blood serum "
            "measurements privileged (R^2)", _sklearn_split(sk.load_diabetes, [0, 1, 2, 3]),
            "regression", "R^2"),
    }


DATASETS = _datasets()

# The affect data of capabilities.py and hallucination_weight.py: two privileged
# modalities, each a partial view of the latent state.
AFFECT_GROUPS = {"ecg": [0, 1], "eda": [2, 3]}
AFFECT = {"pain": SYNTHETIC_BY_TASK["ordinal"],
          "valence_arousal": SYNTHETIC_BY_TASK["valence-arousal"]}


def load_affect(name):
    return AFFECT[name].make(n_subjects=10, n_samples_per_subject=100, n_priv_features=4,
                             random_state=0)


# -------------------------------------------------------------------- folds
def folds(data, task, draw, n_folds=10):
    """(train, test) index pairs: leave-one-subject-out (10 subjects) with groups,
    else 5-fold cross-validation repeated twice, stratified for labels."""
    _, _, y, groups = data
    if groups is not None:
        n_splits = min(n_folds, len(np.unique(groups)))
        return list(GroupKFold(n_splits=n_splits).split(y, y, groups))
    repeats = max(1, n_folds // 5)
    if task == "regression":
        cv = RepeatedKFold(n_splits=5, n_repeats=repeats, random_state=draw)
        return list(cv.split(y))
    cv = RepeatedStratifiedKFold(n_splits=5, n_repeats=repeats, random_state=draw)
    return list(cv.split(y, y))


def subsample(train, y, n_rows, task, seed):
    """``n_rows`` of the training rows (stratified by class where possible)."""
    if n_rows is None or n_rows >= len(train):
        return train
    if task != "regression":
        labels = np.asarray(y)[train]
        _, counts = np.unique(labels, return_counts=True)
        if counts.min() >= 2 and n_rows >= len(counts):
            split = StratifiedShuffleSplit(n_splits=1, train_size=n_rows, random_state=seed)
            return train[next(split.split(train, labels))[0]]
    split = ShuffleSplit(n_splits=1, train_size=n_rows, random_state=seed)
    return train[next(split.split(train))[0]]


def machine():
    import sklearn
    import torch

    return (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores; python "
            f"{platform.python_version()}, torch {torch.__version__}, scikit-learn "
            f"{sklearn.__version__}")


# ------------------------------------------------------------------- tables
def markdown(rows, columns, formats):
    """A markdown table of dict rows; a missing or None value prints as n/a."""
    head = "| " + " | ".join(columns) + " |\n|" + "---|" * len(columns) + "\n"
    body = ""
    for row in rows:
        cells = []
        for column, fmt in zip(columns, formats):
            value = row.get(column)
            cells.append("n/a" if value is None or value == "" else fmt.format(value))
        body += "| " + " | ".join(cells) + " |\n"
    return head + body

