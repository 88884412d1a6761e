"""Grid search on a Dask cluster through joblib's dask back-end.

One local cluster of two worker processes (one thread each) serves the whole module; the fits
are tiny, so most of the time is the cluster's start.
"""

import os

import joblib
import numpy as np
import pytest
import torch
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline

from skseqattn import CharSequenceVectorizer
from skseqattn._parallel import NUM_THREADS_ENV, in_parallel_worker
from skseqattn.datasets import make_motif_sequences

from conftest import tiny_classifier

distributed = pytest.importorskip("distributed")

from test_parallel import tiny_data, tiny_search  # noqa: E402  (after the importorskip)

TIME_KEYS = ("mean_fit_time", "std_fit_time", "mean_score_time", "std_score_time")


@pytest.fixture(scope="module")
def client():
    saved = os.environ.pop(NUM_THREADS_ENV, None)  # workers inherit this process's variables
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()
        if saved is not None:
            os.environ[NUM_THREADS_ENV] = saved


def pipeline_search():
    """A Pipeline searched over a vectorizer and a classifier parameter: 4 candidates."""
    pipeline = make_pipeline(
        CharSequenceVectorizer(),
        tiny_classifier(),
    )
    return GridSearchCV(
        pipeline,
        {
            "charsequencevectorizer__lowercase": [False, True],
            "bilstmattentionclassifier__hidden_size": [8, 12],
        },
        cv=StratifiedKFold(n_splits=2, shuffle=True, random_state=0),
        scoring="neg_log_loss",  # continuous: differs if any bit of a fit differs
    )


def test_dask_grid_search_cv_results_equal_serial(client):
    X, y = make_motif_sequences(n_samples=80, min_len=8, max_len=14, random_state=0)
    X = [x.lower() if i % 2 else x for i, x in enumerate(X)]  # so that lowercase matters
    before = torch.get_num_threads()
    # The workers train on one thread; so must the serial run (and the refits) to agree to
    # the last bit.
    torch.set_num_threads(1)
    try:
        serial = pipeline_search().fit(X, y)
        with joblib.parallel_backend("dask"):
            on_dask = pipeline_search().fit(X, y)
    finally:
        torch.set_num_threads(before)

    assert serial.cv_results_["params"] == on_dask.cv_results_["params"]
    for key, values in serial.cv_results_.items():
        if key == "params" or key in TIME_KEYS:
            continue
        np.testing.assert_array_equal(values, on_dask.cv_results_[key], err_msg=key)
    # A score that ignored the data or the parameters would tie every candidate.
    assert len(np.unique(serial.cv_results_["mean_test_score"])) > 1
    assert serial.best_params_ == on_dask.best_params_
    np.testing.assert_array_equal(serial.predict_proba(X), on_dask.predict_proba(X))


def test_dask_workers_fit_on_one_thread(client):
    X, y = tiny_data()
    with joblib.parallel_backend("dask"):
        search = tiny_search(n_jobs=None).fit(X, y)
    results = search.cv_results_
    pids = set()
    for split in range(2):
        assert results[f"split{split}_test_threads"].tolist() == [1, 1]
        pids.update(results[f"split{split}_test_pid"].tolist())
    assert os.getpid() not in pids  # the fits ran in the worker processes
    assert pids <= set(client.run(os.getpid).values())


def test_in_parallel_worker_true_in_dask_tasks(client):
    assert client.submit(in_parallel_worker, pure=False).result() is True
    assert not in_parallel_worker()
