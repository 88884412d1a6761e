"""Torch threads in parallel workers: skseqattn._parallel and fits run by joblib."""

import os

import joblib
import numpy as np
import pytest
import torch
from sklearn.model_selection import GridSearchCV
from skorch.callbacks import Callback

from skseqattn import BiLSTMAttentionClassifier
from skseqattn._parallel import (
    NUM_THREADS_ENV,
    in_parallel_worker,
    limit_torch_threads,
    torch_threads_target,
)


class ThreadRecorder(Callback):
    """Record the torch threads seen by each training batch, and the process, per epoch."""

    def on_epoch_begin(self, net, **kwargs):
        self.seen_ = set()

    def on_batch_begin(self, net, batch=None, training=False, **kwargs):
        if training:
            self.seen_.add(torch.get_num_threads())

    def on_epoch_end(self, net, **kwargs):
        net.history.record("torch_threads", max(self.seen_))
        net.history.record("pid", os.getpid())


def fit_threads(estimator, X, y):
    """Scorer: the most torch threads any training batch of this fit ran on."""
    return max(estimator.history_[:, "torch_threads"])


def fit_pid(estimator, X, y):
    """Scorer: the process the fit ran in."""
    return estimator.history_[-1, "pid"]


def tiny_data(n_samples=60):
    rng = np.random.RandomState(0)
    X = rng.randint(2, 8, size=(n_samples, 6))
    y = (X[:, 0] > 4).astype(int)
    return X, y


def tiny_search(n_jobs, **params):
    clf = BiLSTMAttentionClassifier(
        embedding_dim=8,
        hidden_size=8,
        max_epochs=2,
        validation_fraction=None,
        callbacks=[ThreadRecorder()],
        random_state=0,
        **params,
    )
    return GridSearchCV(
        clf,
        {"hidden_size": [8, 12]},
        cv=2,
        scoring={"log_loss": "neg_log_loss", "threads": fit_threads, "pid": fit_pid},
        refit="log_loss",
        n_jobs=n_jobs,
    )


@pytest.fixture
def two_torch_threads():
    """Run the test with torch on 2 threads in this process, whatever the machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


def _threads_inside():
    with limit_torch_threads():
        return torch.get_num_threads()


def _threads_outside_and_inside():
    return torch.get_num_threads(), _threads_inside()


# --------------------------------------------------------------------- the context manager


def test_limit_torch_threads_outside_workers_changes_nothing(monkeypatch, two_torch_threads):
    monkeypatch.delenv(NUM_THREADS_ENV, raising=False)
    assert not in_parallel_worker()
    assert torch_threads_target() is None
    assert _threads_inside() == 2
    assert torch.get_num_threads() == 2


@pytest.mark.parametrize("value, expected", [("1", 1), (" 3 ", 3)])
def test_limit_torch_threads_follows_env_and_restores(
    monkeypatch, two_torch_threads, value, expected
):
    monkeypatch.setenv(NUM_THREADS_ENV, value)
    assert _threads_inside() == expected
    assert torch.get_num_threads() == 2


def test_limit_torch_threads_restores_after_error(monkeypatch, two_torch_threads):
    monkeypatch.setenv(NUM_THREADS_ENV, "1")
    with pytest.raises(RuntimeError, match="boom"):
        with limit_torch_threads():
            assert torch.get_num_threads() == 1
            raise RuntimeError("boom")
    assert torch.get_num_threads() == 2


@pytest.mark.parametrize("value", ["0", "-2", "two", "1.5"])
def test_limit_torch_threads_rejects_bad_env(monkeypatch, value):
    monkeypatch.setenv(NUM_THREADS_ENV, value)
    with pytest.raises(ValueError, match=f"{NUM_THREADS_ENV}=.*expected a positive integer"):
        with limit_torch_threads():
            pass  # pragma: no cover


def test_limit_torch_threads_empty_env_means_default(monkeypatch, two_torch_threads):
    monkeypatch.setenv(NUM_THREADS_ENV, "")
    assert torch_threads_target() is None
    assert _threads_inside() == 2


@pytest.mark.parametrize("backend", ["threading", "loky"])
def test_in_parallel_worker_true_in_joblib_workers(backend):
    inside = joblib.Parallel(n_jobs=2, backend=backend)(
        joblib.delayed(in_parallel_worker)() for _ in range(2)
    )
    assert inside == [True, True]
    assert not in_parallel_worker()
    # n_jobs=1 runs in this process, without a worker.
    assert joblib.Parallel(n_jobs=1)(joblib.delayed(in_parallel_worker)() for _ in range(2)) == [
        False,
        False,
    ]


def test_limit_torch_threads_one_thread_in_joblib_threads(monkeypatch, two_torch_threads):
    # Threads share the process: without the limit each would run on both cores.
    monkeypatch.delenv(NUM_THREADS_ENV, raising=False)
    seen = joblib.Parallel(n_jobs=2, backend="threading")(
        joblib.delayed(_threads_outside_and_inside)() for _ in range(4)
    )
    assert [inside for _, inside in seen] == [1, 1, 1, 1]
    assert torch.get_num_threads() == 2


def test_limit_torch_threads_env_wins_in_workers(monkeypatch, two_torch_threads):
    # The user's choice beats the default of 1 (worker processes inherit the variable when
    # they start, so set it before the first parallel call).
    monkeypatch.setenv(NUM_THREADS_ENV, "3")
    seen = joblib.Parallel(n_jobs=2, backend="threading")(
        joblib.delayed(_threads_outside_and_inside)() for _ in range(2)
    )
    assert [inside for _, inside in seen] == [3, 3]
    assert torch.get_num_threads() == 2


# --------------------------------------------------------------------- fits in a grid search


@pytest.fixture(scope="module")
def parallel_results():
    """cv_results_ of the tiny search run by GridSearchCV(n_jobs=2) in loky workers."""
    saved = os.environ.pop(NUM_THREADS_ENV, None)
    try:
        X, y = tiny_data()
        return tiny_search(n_jobs=2).fit(X, y).cv_results_
    finally:
        if saved is not None:
            os.environ[NUM_THREADS_ENV] = saved


def test_grid_search_n_jobs_2_fits_on_one_thread_per_worker(parallel_results):
    for split in range(2):
        assert parallel_results[f"split{split}_test_threads"].tolist() == [1, 1]
        assert os.getpid() not in parallel_results[f"split{split}_test_pid"]  # in workers


def test_grid_search_n_jobs_2_matches_serial_bit_for_bit(monkeypatch, parallel_results):
    # Bit-identical when both runs train on one thread: the workers do by default, and the
    # serial run does with SKSEQATTN_NUM_THREADS=1 (or torch.set_num_threads(1)). With more
    # threads in the serial run, scores differ in the last bits.
    monkeypatch.setenv(NUM_THREADS_ENV, "1")
    X, y = tiny_data()
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # the same for a classifier without limit_torch_threads
    try:
        serial = tiny_search(n_jobs=1).fit(X, y).cv_results_
    finally:
        torch.set_num_threads(before)
    assert serial["params"] == parallel_results["params"]
    for key in serial:
        if key == "params" or "time" in key or key.endswith("_pid"):
            continue
        np.testing.assert_array_equal(serial[key], parallel_results[key], err_msg=key)


def test_limit_torch_threads_one_thread_in_loky_workers_given_more(monkeypatch):
    # joblib hands each worker cpu_count() // n_jobs threads; inner_max_num_threads=2 makes
    # that 2 on any machine, so the limit has something to do.
    monkeypatch.delenv(NUM_THREADS_ENV, raising=False)
    with joblib.parallel_backend("loky", inner_max_num_threads=2):
        seen = joblib.Parallel(n_jobs=2)(
            joblib.delayed(_threads_outside_and_inside)() for _ in range(2)
        )
    assert seen == [(2, 1), (2, 1)]


@pytest.mark.parametrize(
    "backend, options",
    [("loky", {"inner_max_num_threads": 2}), ("threading", {})],
    ids=["loky-2-threads-each", "threading"],
)
def test_grid_search_fits_on_one_thread_whatever_the_backend_gives(
    monkeypatch, two_torch_threads, backend, options
):
    monkeypatch.delenv(NUM_THREADS_ENV, raising=False)
    X, y = tiny_data()
    with joblib.parallel_backend(backend, **options):
        search = tiny_search(n_jobs=2).fit(X, y)
    for split in range(2):
        assert search.cv_results_[f"split{split}_test_threads"].tolist() == [1, 1]
    assert torch.get_num_threads() == 2  # this process got its setting back
