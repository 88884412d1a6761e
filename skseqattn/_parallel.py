"""How many threads torch uses while a model trains or predicts, inside and outside workers.

Grid searches and cross-validation run many fits at once: in joblib's worker processes
(``GridSearchCV(n_jobs=...)``), in joblib's threads (``prefer='threads'``), or in the tasks
of a Dask cluster. PyTorch sizes its intra-op thread pool for the whole machine, so each of
the concurrent fits would start as many threads as there are cores, and the fits would fight
over them. :func:`limit_torch_threads` makes fit and predict use one thread per worker,
unless the user says otherwise with the environment variable ``SKSEQATTN_NUM_THREADS``.

What the parallel back-ends do on their own (torch reads ``MKL_NUM_THREADS``, else
``OMP_NUM_THREADS``, when it starts):

- joblib's loky processes (the default of ``n_jobs``) get ``cpu_count() // n_jobs`` threads
  (joblib sets those variables for its workers), so on a machine with more cores than jobs
  each fit still runs several threads;
- Dask workers started by a nanny (``LocalCluster(processes=True)``, ``dask worker``) get one,
  from the nanny's ``pre-spawn-environ``;
- joblib's threading and multiprocessing back-ends and Dask's in-process workers
  (``LocalCluster(processes=False)``) set nothing: every concurrent fit runs on all cores.
"""

from __future__ import annotations

import contextlib
import os
import sys
import warnings

import torch

__all__ = ["NUM_THREADS_ENV", "in_parallel_worker", "limit_torch_threads", "torch_threads_target"]

NUM_THREADS_ENV = "SKSEQATTN_NUM_THREADS"
"""Environment variable: the number of torch threads fit and predict use, in every process."""

WORKER_NUM_THREADS = 1
"""Torch threads per fit inside a parallel worker, unless :data:`NUM_THREADS_ENV` is set."""


def in_parallel_worker() -> bool:
    """Whether the calling code runs as a task of a joblib or Dask worker.

    True inside a call dispatched by ``joblib.Parallel`` to any back-end other than the
    sequential one (loky or multiprocessing processes, threads), which includes the fits of
    scikit-learn's searches and cross-validation with ``n_jobs`` other than 1, and inside any
    task run by a ``dask.distributed`` worker (including joblib's ``'dask'`` back-end).
    """
    try:
        from joblib.parallel import get_active_backend

        backend, _ = get_active_backend()
        # joblib runs each dispatched batch under its back-end's nested back-end, whose
        # nesting_level is at least 1; the caller's own process stays at 0.
        if (getattr(backend, "nesting_level", 0) or 0) > 0:
            return True
    except Exception:  # pragma: no cover - a joblib without these internals
        pass
    distributed = sys.modules.get("distributed")  # only if the user's code imported it
    if distributed is not None:
        try:
            distributed.get_worker()
        except Exception:  # ValueError outside a worker task
            return False
        return True
    return False


def torch_threads_target() -> int | None:
    """The number of torch threads for the fit or predict that is about to run.

    Returns
    -------
    n_threads : int or None
        The value of ``SKSEQATTN_NUM_THREADS`` when set; else :data:`WORKER_NUM_THREADS`
        (1) inside a parallel worker (see :func:`in_parallel_worker`); else None, meaning
        "leave torch's setting alone" (torch's default, or whatever ``torch.set_num_threads``
        set).

    Raises
    ------
    ValueError
        If ``SKSEQATTN_NUM_THREADS`` is set to something other than a positive integer.
    """
    value = os.environ.get(NUM_THREADS_ENV, "").strip()
    if value:
        try:
            n_threads = int(value)
        except ValueError:
            n_threads = 0
        if n_threads < 1:
            raise ValueError(
                f"skseqattn read the environment variable {NUM_THREADS_ENV}={value!r}, "
                "expected a positive integer (the number of torch threads per fit); set it "
                f"to e.g. 1, or unset it for the default (1 thread inside parallel workers, "
                "torch's own setting elsewhere)."
            )
        return n_threads
    if in_parallel_worker():
        return WORKER_NUM_THREADS
    return None


@contextlib.contextmanager
def limit_torch_threads():
    """Run the body with torch's intra-op threads set by :func:`torch_threads_target`.

    Inside a joblib or Dask worker the body runs on one thread, so that ``n_jobs``
    concurrent fits use ``n_jobs`` cores rather than ``n_jobs`` times all of them;
    ``SKSEQATTN_NUM_THREADS=N`` asks for N threads everywhere instead (main process
    included). Outside workers, with the variable unset, nothing changes. The previous
    setting is restored on exit, also when the body raises.

    With torch's OpenMP back-end (the Linux and Windows builds) the setting is per thread,
    so fits running concurrently in threads of one process each get their own limit and
    restore their own. The native back-end (some macOS builds) cannot resize its pool once
    it has run parallel work; there the call is best effort, and torch's warning about it
    is silenced.

    Examples
    --------
    >>> import torch
    >>> from skseqattn._parallel import limit_torch_threads
    >>> before = torch.get_num_threads()
    >>> with limit_torch_threads():  # not in a worker, variable unset: no change
    ...     torch.get_num_threads() == before
    True
    """
    target = torch_threads_target()
    if target is None:
        yield
        return
    previous = torch.get_num_threads()
    if previous == target:
        yield
        return
    _set_torch_threads(target)
    try:
        yield
    finally:
        _set_torch_threads(previous)


def _set_torch_threads(n_threads: int) -> None:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*Cannot set number of intraop threads.*")
        torch.set_num_threads(n_threads)
