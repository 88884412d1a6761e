"""Torch threads: the precedence rule of skseqattn._parallel, free cores, joblib workers."""

import os
import time

import joblib
import numpy as np
import pytest
import torch
from sklearn.model_selection import GridSearchCV
from skorch.callbacks import Callback

from skseqattn import _parallel
from skseqattn._parallel import (
    NUM_THREADS_ENV,
    auto_threads,
    free_cores,
    in_parallel_worker,
    limit_torch_threads,
    torch_threads_target,
)

from conftest import tiny_classifier


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
    clf = tiny_classifier(validation_fraction=None, callbacks=[ThreadRecorder()], **params)
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
    """Torch on 2 threads set by the user: conftest makes torch's default 1 in the suite."""
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def default_two_threads(monkeypatch):
    """Torch on 2 threads as its own default, as on a quiet 2-core machine."""
    before = torch.get_num_threads()
    monkeypatch.setattr(_parallel, "_TORCH_DEFAULT_THREADS", 2)
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def cpus(monkeypatch):
    """Simulated /proc/stat: ``cpus(busy={0}, n=2)``; returns a dict counting the reads."""
    state = {"busy": set(), "n": 2, "reads": 0}
    start = time.monotonic()

    def fake_idle_ticks():
        state["reads"] += 1
        elapsed = time.monotonic() - start
        # fractional ticks: whole ones would be off by up to one tick per CPU in a 40 ms
        # window (25% at 100 Hz), and a loaded machine stretches the window unevenly
        ticks = elapsed * _parallel._TICKS_PER_S
        return {cpu: 0 if cpu in state["busy"] else ticks for cpu in range(state["n"])}

    def configure(busy=(), n=2):
        state.update(busy=set(busy), n=n, reads=0)
        monkeypatch.setattr(_parallel, "_affinity", lambda: list(range(n)))
        return state

    monkeypatch.setattr(_parallel, "_proc_stat_idle_ticks", fake_idle_ticks)
    monkeypatch.setattr(_parallel, "_CGROUP_CPU_LIMIT", None)
    monkeypatch.setattr(_parallel, "_last_reading", None)
    monkeypatch.setattr(_parallel, "_last_free", None)
    monkeypatch.delenv(NUM_THREADS_ENV, raising=False)
    return configure


def _threads_inside():
    with limit_torch_threads():
        return torch.get_num_threads()


def _threads_outside_and_inside():
    return torch.get_num_threads(), _threads_inside()


# --------------------------------------------------------------------- the context manager


def test_limit_torch_threads_leaves_the_users_count_alone(cpus, two_torch_threads):
    state = cpus(busy={0})  # auto would say 1
    assert not in_parallel_worker()
    assert torch_threads_target() is None
    assert _threads_inside() == 2
    assert torch.get_num_threads() == 2
    assert state["reads"] == 0  # no probe at all


def test_torch_threads_target_env_wins_over_users_count_and_auto(
    monkeypatch, cpus, default_two_threads
):
    cpus(busy={0})
    monkeypatch.setenv(NUM_THREADS_ENV, "2")
    assert torch_threads_target() == 2  # auto would say 1
    torch.set_num_threads(3)  # the user's
    monkeypatch.setenv(NUM_THREADS_ENV, "1")
    assert _threads_inside() == 1
    assert torch.get_num_threads() == 3


@pytest.mark.parametrize("busy, expected", [((), 2), ({0}, 1), ({1}, 1), ({0, 1}, 1)])
def test_limit_torch_threads_auto_runs_on_the_free_cores(cpus, default_two_threads, busy, expected):
    cpus(busy=busy)
    assert _threads_inside() == expected
    assert torch.get_num_threads() == 2  # restored


def test_auto_threads_never_exceeds_torch_default(cpus, default_two_threads):
    cpus(busy={1}, n=8)  # 7 free cores, torch's default is 2
    assert free_cores() == pytest.approx(7, abs=0.5)
    assert auto_threads() == 2
    assert auto_threads(default=4) == 4


def test_auto_threads_counts_only_the_cpus_of_the_affinity_mask(
    monkeypatch, cpus, default_two_threads
):
    cpus(busy={0, 1}, n=4)  # cpus 2 and 3 idle, but this process may use only 0 and 1
    monkeypatch.setattr(_parallel, "_affinity", lambda: [0, 1])
    assert free_cores() == pytest.approx(0, abs=0.3)
    assert auto_threads() == 1


def test_usable_cpus_capped_by_the_cgroup_quota(monkeypatch, cpus):
    cpus(n=4)
    assert _parallel.usable_cpus() == 4
    monkeypatch.setattr(_parallel, "_CGROUP_CPU_LIMIT", 1.5)  # docker --cpus=1.5
    assert _parallel.usable_cpus() == 2
    assert free_cores() <= 2


def test_limit_torch_threads_auto_restores_after_error(cpus, default_two_threads):
    cpus(busy={0})
    with pytest.raises(RuntimeError, match="boom"):
        with limit_torch_threads():
            assert torch.get_num_threads() == 1
            raise RuntimeError("boom")
    assert torch.get_num_threads() == 2


def test_free_cores_on_this_machine_is_a_count_of_its_cores(monkeypatch):
    monkeypatch.setattr(_parallel, "_last_reading", None)
    monkeypatch.setattr(_parallel, "_last_free", None)
    n_usable = _parallel.usable_cpus()
    assert 1 <= n_usable <= (os.cpu_count() or 1)
    free = free_cores()
    if free is not None:  # None only without /proc/stat and load average
        assert 0 <= free <= n_usable
        assert 1 <= auto_threads(default=n_usable) <= n_usable


def test_free_cores_is_cached_and_cheap_after_the_first_probe(monkeypatch, cpus):
    state = cpus(busy={0})
    first = free_cores()
    assert state["reads"] == 2  # a fresh window: read, sleep, read
    assert free_cores() == first
    assert state["reads"] == 2  # within the window: the previous answer
    # Later (but within PROBE_MAX_AGE_S): compared with the previous reading, no sleep.
    wall, own, ticks = _parallel._last_reading
    shift = round(0.2 * _parallel._TICKS_PER_S)  # the idle ticks of 0.2 s
    earlier = {c: t - (0 if c in state["busy"] else shift) for c, t in ticks.items()}
    monkeypatch.setattr(_parallel, "_last_reading", (wall - 0.2, own, earlier))

    def no_sleep(seconds):
        raise AssertionError("free_cores slept with a recent reading at hand")

    monkeypatch.setattr(_parallel.time, "sleep", no_sleep)
    assert free_cores() == pytest.approx(1, abs=0.3)
    assert state["reads"] == 3


def test_free_cores_watches_afresh_when_the_last_reading_is_old(monkeypatch, cpus):
    state = cpus(busy={0})
    free_cores()
    wall, own, ticks = _parallel._last_reading
    old = wall - 2 * _parallel.PROBE_MAX_AGE_S
    state["busy"] = set()  # the co-tenant has gone: an average since then would mislead
    monkeypatch.setattr(_parallel, "_last_reading", (old, own, {0: 0, 1: 0}))
    assert free_cores() == pytest.approx(2, abs=0.3)
    assert state["reads"] == 4


def test_free_cores_falls_back_to_the_load_average(monkeypatch, cpus):
    cpus(n=4)
    monkeypatch.setattr(_parallel, "_proc_stat_idle_ticks", lambda: None)
    monkeypatch.setattr(_parallel.os, "getloadavg", lambda: (2.0, 1.0, 1.0), raising=False)
    assert free_cores() == pytest.approx(3.0)  # 4 CPUs, one busy beyond this process
    monkeypatch.delattr(_parallel.os, "getloadavg", raising=False)
    assert free_cores() is None
    assert auto_threads(default=2) is None


@pytest.mark.parametrize(
    "env, expected",
    [({"OMP_NUM_THREADS": "3"}, {3}), ({"OMP_NUM_THREADS": "3", "MKL_NUM_THREADS": "2"}, {2})],
)
def test_counts_torch_picks_follow_its_environment_variables(monkeypatch, env, expected):
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.delenv(var, raising=False)
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    assert _parallel._counts_torch_picks() == expected


def test_counts_torch_picks_without_variables_include_the_cpu_count(monkeypatch):
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.delenv(var, raising=False)
    counts = _parallel._counts_torch_picks()
    assert os.cpu_count() in counts
    assert all(1 <= n <= os.cpu_count() for n in counts)


def test_torch_threads_target_unknown_default_leaves_torch_alone(monkeypatch, cpus):
    # The count at import was none torch picks itself: the user set it before importing us.
    cpus(busy={0})
    monkeypatch.setattr(_parallel, "_TORCH_DEFAULT_THREADS", None)
    assert torch_threads_target() is None


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


def test_limit_torch_threads_one_thread_in_joblib_threads(cpus, default_two_threads):
    # Threads share the process: without the limit each would run on both cores.
    cpus()  # quiet: auto would say 2
    seen = joblib.Parallel(n_jobs=2, backend="threading")(
        joblib.delayed(_threads_outside_and_inside)() for _ in range(4)
    )
    assert [inside for _, inside in seen] == [1, 1, 1, 1]
    assert torch.get_num_threads() == 2


def test_limit_torch_threads_users_count_wins_in_joblib_threads(cpus, two_torch_threads):
    # Threads start with the count the user set for the process, and keep it.
    cpus()
    seen = joblib.Parallel(n_jobs=2, backend="threading")(
        joblib.delayed(_threads_outside_and_inside)() for _ in range(2)
    )
    assert seen == [(2, 2), (2, 2)]


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
    cpus, default_two_threads, backend, options
):
    cpus()
    X, y = tiny_data()
    with joblib.parallel_backend(backend, **options):
        search = tiny_search(n_jobs=2).fit(X, y)
    for split in range(2):
        assert search.cv_results_[f"split{split}_test_threads"].tolist() == [1, 1]
    assert torch.get_num_threads() == 2  # this process got its setting back
