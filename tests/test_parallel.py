"""Scaling out: GridSearchCV over VAETransformer in worker processes (joblib, Dask).

Fits in other processes must give the same search as fits in this one, and each worker's
TensorFlow must use the thread count its pool hands out (one thread per worker here), not
one thread per core in every worker.
"""

import os

import joblib
import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV

from skvae import VAETransformer

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

GRID = {"n_components": [1, 2]}


@pytest.fixture(scope="module")
def X(digits01):
    return digits01[0][:240]


def search(X, n_jobs):
    estimator = VAETransformer(
        hidden_layer_sizes=(16,), likelihood="bernoulli", max_iter=3, random_state=0
    )
    return GridSearchCV(estimator, GRID, cv=2, n_jobs=n_jobs).fit(X)


@pytest.fixture(scope="module")
def sequential(X):
    return search(X, n_jobs=1)


def assert_same_search(result, reference, X):
    assert result.best_params_ == reference.best_params_
    # An int random_state gives bitwise-identical fits, whichever process (and however
    # many TensorFlow threads) runs them.
    for key in ("mean_test_score", "split0_test_score", "split1_test_score"):
        np.testing.assert_array_equal(result.cv_results_[key], reference.cv_results_[key])
    # the refit happens here, in this process, either way
    np.testing.assert_array_equal(
        result.best_estimator_.transform(X[:5]), reference.best_estimator_.transform(X[:5])
    )


def tensorflow_threads():
    """In a worker: the thread settings skvae gives TensorFlow there."""
    from skvae._tf import import_keras

    import_keras()
    import tensorflow as tf

    return (
        os.environ.get("OMP_NUM_THREADS"),
        tf.config.threading.get_intra_op_parallelism_threads(),
    )


@pytest.fixture
def no_thread_settings(monkeypatch):
    """Workers inherit the parent's environment: start from one without thread settings."""
    monkeypatch.delenv("SKVAE_NUM_THREADS", raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)


@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip(
        "distributed", reason="the Dask test needs dask[distributed] (skvae[dask])"
    )
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
    ) as cluster, distributed.Client(cluster) as client:
        yield client


@pytest.mark.slow
def test_process_workers_give_the_same_search(X, sequential, no_thread_settings):
    with joblib.parallel_config(backend="loky"):
        parallel = search(X, n_jobs=2)
    assert_same_search(parallel, sequential, X)


def test_process_workers_use_their_share_of_the_cores(no_thread_settings):
    expected = max(joblib.cpu_count() // 2, 1)
    with joblib.parallel_config(backend="loky"):
        seen = joblib.Parallel(n_jobs=2)(joblib.delayed(tensorflow_threads)() for _ in range(4))
    assert set(seen) == {(str(expected), expected)}


@pytest.mark.slow
def test_dask_workers_give_the_same_search(X, sequential, dask_client):
    with joblib.parallel_backend("dask"):
        parallel = search(X, n_jobs=-1)
    assert_same_search(parallel, sequential, X)
    assert len(dask_client.scheduler_info()["workers"]) == 2


@pytest.mark.slow
def test_dask_workers_use_one_tensorflow_thread(dask_client):
    seen = dask_client.run(tensorflow_threads)
    assert len(seen) == 2
    assert set(seen.values()) == {("1", 1)}
