import numpy as np
import pytest

from pkdot_sk.datasets import make_privileged_classification, make_privileged_regression


@pytest.fixture(scope="session")
def clf_data():
    return make_privileged_classification(
        n_subjects=4, n_samples_per_subject=30, n_features=6, n_priv_features=3, random_state=0
    )


@pytest.fixture(scope="session")
def reg_data():
    return make_privileged_regression(
        n_subjects=4, n_samples_per_subject=30, n_features=6, n_priv_features=3, random_state=0
    )


@pytest.fixture
def rng():
    return np.random.RandomState(0)
