"""How many threads torch uses while a model trains or predicts, inside and outside workers.

Grid searches and cross-validation run many fits at once: in joblib's worker processes
(``GridSearchCV(n_jobs=...)``), in joblib's threads (``prefer='threads'``), or in the tasks
of a Dask cluster. PyTorch sizes its intra-op thread pool for the whole machine, so each of
the concurrent fits would start as many threads as there are cores, and the fits would fight
over them. :func:`limit_torch_threads` makes fit and predict use one thread per worker,
unless the user says otherwise with the environment variable ``SKSEQATTN_NUM_THREADS``.

Outside workers a second problem shows: OpenMP threads spin-wait for each other, so a fit on
all cores of a machine where another process keeps one core busy can be 10x slower than on
one thread (a surname fit: 390 s against 32 s). So, unless the user chose a count, fit and
predict run on as many threads as there are free cores right now (at most torch's default).
The rule, first match wins (see :func:`torch_threads_target`):

1. ``SKSEQATTN_NUM_THREADS=N``: N threads;
2. a count the user chose with ``torch.set_num_threads``: left alone. torch cannot say who
   set its count, so a count is taken as the user's when it differs from torch's default,
   :func:`torch_default_threads` (the count torch had when skseqattn was imported, if torch
   could have picked it itself);
3. inside a joblib or Dask worker: 1 thread;
4. otherwise (torch's default): :func:`auto_threads`, the cores idle over the last moment
   (:func:`free_cores`: ``/proc/stat`` on Linux, the load average elsewhere), counted among
   those this process may run on, capped at torch's default.

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
import math
import os
import sys
import threading
import time
import warnings

import torch

__all__ = [
    "NUM_THREADS_ENV",
    "auto_threads",
    "free_cores",
    "in_parallel_worker",
    "limit_torch_threads",
    "torch_default_threads",
    "torch_threads_target",
]

NUM_THREADS_ENV = "SKSEQATTN_NUM_THREADS"
"""Environment variable: the number of torch threads fit and predict use, in every process."""

WORKER_NUM_THREADS = 1
"""Torch threads per fit inside a parallel worker, unless :data:`NUM_THREADS_ENV` is set."""

FREE_CORE_FRACTION = 0.75
"""A core counts as free for :func:`auto_threads` when at least this fraction of it is idle."""

PROBE_WINDOW_S = 0.04
"""How long :func:`free_cores` watches the CPUs when it has no recent reading to compare with."""

PROBE_MAX_AGE_S = 1.0
"""A reading younger than this is compared with a new one instead of watching afresh."""

_TORCH_ENV_VARS = ("MKL_NUM_THREADS", "OMP_NUM_THREADS")  # torch: MKL's wins over OpenMP's


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
        The first that applies: the value of ``SKSEQATTN_NUM_THREADS`` when set; None
        ("leave torch's setting alone") when torch's count is not its default, i.e. the user
        chose it with ``torch.set_num_threads`` (see :func:`torch_default_threads`);
        :data:`WORKER_NUM_THREADS` (1) inside a parallel worker (see
        :func:`in_parallel_worker`); else :func:`auto_threads`, the free cores, or None where
        they cannot be counted.

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
                "as many as there are free cores elsewhere)."
            )
        return n_threads
    default = torch_default_threads()
    if default is None or torch.get_num_threads() != default:
        return None  # the user's choice (or one we cannot tell from theirs)
    if in_parallel_worker():
        return WORKER_NUM_THREADS
    return auto_threads(default)


# --------------------------------------------------------------------- torch's default count


def _env_threads() -> int | None:
    """The count ``MKL_NUM_THREADS`` or ``OMP_NUM_THREADS`` asks torch for, if any."""
    for var in _TORCH_ENV_VARS:
        try:
            n_threads = int(os.environ.get(var, "").strip())
        except ValueError:
            continue
        if n_threads > 0:
            return n_threads
    return None


def _affinity() -> list[int] | None:
    """The CPUs this process may run on, or None where the platform cannot say."""
    try:
        return sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return None


def _physical_cores(cpus: list[int] | None) -> int | None:
    """Distinct (package, core) pairs among ``cpus`` (all CPUs when None), from sysfs."""
    root = "/sys/devices/system/cpu"
    if cpus is None:
        try:
            cpus = [int(n[3:]) for n in os.listdir(root) if n[:3] == "cpu" and n[3:].isdigit()]
        except OSError:
            return None
    cores = set()
    for cpu in cpus:
        try:
            with open(f"{root}/cpu{cpu}/topology/physical_package_id", encoding="ascii") as fh:
                package = fh.read().strip()
            with open(f"{root}/cpu{cpu}/topology/core_id", encoding="ascii") as fh:
                core = fh.read().strip()
        except OSError:
            return None
        cores.add((package, core))
    return len(cores) or None


def _cgroup_cpu_limit() -> float | None:
    """The CPU quota of this process's cgroup in cores (``docker --cpus``), or None."""
    candidates = (
        ("/sys/fs/cgroup/cpu.max", None),  # cgroup v2: "<quota> <period>" or "max <period>"
        ("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", "/sys/fs/cgroup/cpu/cpu.cfs_period_us"),
    )
    for quota_path, period_path in candidates:
        try:
            with open(quota_path, encoding="ascii") as fh:
                fields = fh.read().split()
            if period_path is not None:
                with open(period_path, encoding="ascii") as fh:
                    fields.append(fh.read().strip())
            if fields[0] in ("max", "-1"):
                return None
            quota, period = float(fields[0]), float(fields[1])
        except (OSError, ValueError, IndexError):
            continue
        if quota > 0 and period > 0:
            return quota / period
    return None


def _counts_torch_picks() -> set[int]:
    """Counts torch may choose by itself on this machine, with this environment."""
    env = _env_threads()
    if env is not None:
        return {env}
    cpus = _affinity()
    n_cpus = os.cpu_count() or 1
    counts = {n_cpus}  # torch uses the physical cores (MKL's default, or cpuinfo's)
    if cpus is not None:
        counts.add(len(cpus))
    physical = {_physical_cores(None), _physical_cores(cpus)} - {None}
    counts |= physical or {max(1, n_cpus // 2)}  # no sysfs: guess two-way SMT
    return counts


_IMPORT_THREADS = torch.get_num_threads()
_TORCH_DEFAULT_THREADS = _IMPORT_THREADS if _IMPORT_THREADS in _counts_torch_picks() else None
_CGROUP_CPU_LIMIT = _cgroup_cpu_limit()


def torch_default_threads() -> int | None:
    """Torch's own thread count in this process: the one it had when skseqattn was imported.

    That count is taken as torch's default (rather than one the user set before importing
    skseqattn) only if torch could have picked it itself: the value of ``MKL_NUM_THREADS`` or
    ``OMP_NUM_THREADS`` when either is set, else the number of CPUs, of CPUs in this
    process's affinity mask, or of physical cores. Otherwise it returns None, and
    :func:`torch_threads_target` leaves every count alone, as the user's.

    A later ``torch.set_num_threads(n)`` with ``n`` equal to this default cannot be told
    apart from it; set ``SKSEQATTN_NUM_THREADS=n`` to insist on that count.
    """
    return _TORCH_DEFAULT_THREADS


# --------------------------------------------------------------------- free cores


def usable_cpus() -> int:
    """CPUs this process may use: its affinity mask, capped by its cgroup's CPU quota."""
    cpus = _affinity()
    n_cpus = len(cpus) if cpus is not None else (os.cpu_count() or 1)
    if _CGROUP_CPU_LIMIT is not None:
        n_cpus = min(n_cpus, max(1, math.ceil(_CGROUP_CPU_LIMIT)))
    return max(1, n_cpus)


def _proc_stat_idle_ticks() -> dict[int, int] | None:
    """Idle (plus I/O wait) clock ticks per CPU since boot, from ``/proc/stat``; None if absent."""
    try:
        with open("/proc/stat", encoding="ascii") as fh:
            lines = fh.readlines()
    except OSError:
        return None
    ticks = {}
    for line in lines:
        if line.startswith("cpu") and line[3:4].isdigit():
            fields = line.split()
            # cpuN user nice system idle iowait irq softirq steal ...
            ticks[int(fields[0][3:])] = int(fields[4]) + int(fields[5])
    return ticks or None


def _clock_ticks_per_second() -> float:
    try:
        return float(os.sysconf("SC_CLK_TCK"))
    except (AttributeError, ValueError, OSError):  # pragma: no cover - not Unix
        return 100.0


_TICKS_PER_S = _clock_ticks_per_second()
_probe_lock = threading.Lock()
_last_reading: tuple[float, float, dict[int, int]] | None = None  # (wall, own cpu, idle ticks)
_last_free: float | None = None


def _read() -> tuple[float, float, dict[int, int]] | None:
    ticks = _proc_stat_idle_ticks()
    if ticks is None:
        return None
    return time.monotonic(), time.process_time(), ticks


def _free_between(first, second, n_usable: int) -> float:
    (wall0, own0, idle0), (wall1, own1, idle1) = first, second
    cpus = _affinity()
    cpus = [c for c in (cpus if cpus is not None else idle1) if c in idle0 and c in idle1]
    elapsed = max(wall1 - wall0, 1e-9)
    idle = sum(idle1[c] - idle0[c] for c in cpus) / _TICKS_PER_S
    # This process's own CPU time was spent on cores it is about to use: count it as free,
    # so that a reading spanning our last fit does not see our own threads as a co-tenant.
    own = max(own1 - own0, 0.0)
    return min(max((idle + own) / elapsed, 0.0), float(n_usable))


def free_cores() -> float | None:
    """How many of the CPUs this process may use were idle over the last moment.

    On Linux, from the idle time in ``/proc/stat`` of the CPUs in this process's affinity
    mask, plus the CPU time of this process itself (its own threads are no co-tenant),
    capped at :func:`usable_cpus`. The first call watches for :data:`PROBE_WINDOW_S`
    (40 ms); a later call compares with the previous reading when it is at most
    :data:`PROBE_MAX_AGE_S` (1 s) old and so costs microseconds, and within
    :data:`PROBE_WINDOW_S` of it returns the previous answer. Elsewhere: the CPUs minus the
    1-minute load average beyond this process's own thread (``os.getloadavg``), or None
    where there is no load average either (Windows).

    Returns
    -------
    n_free : float or None
        Between 0 and :func:`usable_cpus`; None where free cores cannot be counted.
    """
    global _last_reading, _last_free
    n_usable = usable_cpus()
    with _probe_lock:
        now = time.monotonic()
        if (
            _last_reading is not None
            and _last_free is not None
            and now - _last_reading[0] < PROBE_WINDOW_S
        ):
            return min(_last_free, float(n_usable))
        reading = _read()
        if reading is None:
            return _free_from_load_average(n_usable)
        previous = _last_reading
        if previous is None or reading[0] - previous[0] > PROBE_MAX_AGE_S:
            time.sleep(PROBE_WINDOW_S)
            previous, reading = reading, _read()
            if reading is None:  # pragma: no cover - /proc/stat vanished
                return _free_from_load_average(n_usable)
        _last_free = _free_between(previous, reading, n_usable)
        _last_reading = reading
        return _last_free


def _free_from_load_average(n_usable: int) -> float | None:
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # Windows
        return None
    # The load average counts this process's running thread too.
    return min(max(n_usable - max(load - 1.0, 0.0), 0.0), float(n_usable))


def auto_threads(default: int | None = None) -> int | None:
    """The number of torch threads for a fit now: the free cores, at least 1, at most ``default``.

    A core counts when :data:`FREE_CORE_FRACTION` (75%) of it is idle, so a co-tenant busy
    on one core of two gives 1 thread, a quiet machine torch's default.

    Parameters
    ----------
    default : int, optional
        The cap, torch's default count (:func:`torch_default_threads`, else the current
        count): never more threads than torch would start by itself.

    Returns
    -------
    n_threads : int or None
        None where free cores cannot be counted (see :func:`free_cores`).
    """
    if default is None:
        default = torch_default_threads() or torch.get_num_threads()
    free = free_cores()
    if free is None:
        return None
    return max(1, min(default, math.floor(free + 1.0 - FREE_CORE_FRACTION)))


@contextlib.contextmanager
def limit_torch_threads():
    """Run the body with torch's intra-op threads set by :func:`torch_threads_target`.

    ``SKSEQATTN_NUM_THREADS=N`` asks for N threads everywhere (main process included); a
    count set with ``torch.set_num_threads`` is left alone; inside a joblib or Dask worker
    the body runs on one thread, so that ``n_jobs`` concurrent fits use ``n_jobs`` cores
    rather than ``n_jobs`` times all of them; otherwise it runs on the free cores
    (:func:`auto_threads`), so that a process busy on one core does not make torch's
    spin-waiting threads wait for it. The previous setting is restored on exit, also when
    the body raises.

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
    >>> with limit_torch_threads():  # between 1 and torch's default, the free cores
    ...     1 <= torch.get_num_threads() <= before
    True
    >>> torch.get_num_threads() == before
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
