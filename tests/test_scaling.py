"""Scale-out through joblib's Dask backend (docs/scaling.md): a LOSO grid
search on a 2-worker cluster equals the serial one, and the teachers' cache
on a shared folder serves every worker."""

import joblib
import numpy as np
from distributed import Client, LocalCluster
from sklearn.model_selection import GridSearchCV, LeaveOneGroupOut

from pkdot_sk import PKDOTStudent, PrivilegedTeacher
from pkdot_sk.datasets import make_privileged_classification


def test_loso_grid_search_on_a_dask_cluster_equals_serial(tmp_path, monkeypatch):
    X, X_priv, y, groups = make_privileged_classification(
        n_subjects=3, n_samples_per_subject=30, n_features=6, n_priv_features=3,
        random_state=0)
    grid = {"ot_weight": [30.0, 300.0], "anchors": ["all", "least_similar"]}

    def search(memory=None, n_jobs=None):
        # No safeguard: the point is the cluster, and it triples the fits.
        student = PKDOTStudent(memory=memory, max_epochs=2, batch_size=32, n_threads=1,
                               safeguard=None, random_state=0)
        return GridSearchCV(student, grid, cv=LeaveOneGroupOut(), n_jobs=n_jobs).fit(
            X, y, groups=groups, X_priv=X_priv)

    serial = search()
    cache = str(tmp_path / "teachers")
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster):
        with joblib.parallel_backend("dask"):
            parallel = search(memory=cache, n_jobs=2)
    for key in ("mean_test_score", "std_test_score", "rank_test_score"):
        np.testing.assert_array_equal(parallel.cv_results_[key], serial.cv_results_[key])
    np.testing.assert_array_equal(parallel.predict(X), serial.predict(X))

    # The workers' teacher fits are in the shared folder: the same search here
    # fits no teacher at all.
    fits = []
    fit = PrivilegedTeacher.fit

    def counting(self, *args, **kwargs):
        fits.append(1)
        return fit(self, *args, **kwargs)

    monkeypatch.setattr(PrivilegedTeacher, "fit", counting)
    again = search(memory=cache)
    assert fits == []
    np.testing.assert_array_equal(again.cv_results_["mean_test_score"],
                                  serial.cv_results_["mean_test_score"])
