"""The benchmarks' harness: data, seeds, isolation, timing, memory, tables and JSON.

Each ``bench_*.py`` holds its experiment (what is compared, on what, and the table it
prints); what every benchmark needs lives here, once:

- **The checkout.** Importing this module puts the repository first on ``sys.path``, so a
  benchmark measures the ``skseqattn`` of its checkout, not one installed elsewhere.
- **Data.** :func:`data_folder` finds the shared data sets at ``../shared/data`` beside the
  checkout (:data:`DATA_ROOT`), or where ``--data`` says; no benchmark defaults to an
  absolute path. :func:`load_labelled_folder` reads a folder of ``<Label>.txt`` files and
  :func:`split_sequences` makes the stratified split.
- **Command line.** :func:`add_harness_arguments` adds the options benchmarks share
  (``--data``, ``--out``, ``--seed``, ``--threads``) and :func:`add_worker_arguments` the
  hidden ones of a worker; :func:`choose` expands a comma-separated list of names and
  aliases (``--contenders a,b``); :func:`below_one` checks counts.
- **Seeds.** :func:`seed_everything` seeds Python, NumPy and (if imported) torch.
- **Isolation.** :func:`run_worker` runs one measurement in a fresh interpreter (the script
  re-invoked with ``--worker-out FILE``), so no run's allocations or allocator caches reach
  another's; the worker's side is :func:`worker_main`, which turns an exception into a
  ``"failed"`` result instead of a crash. With ``threads`` the worker's OpenMP and BLAS
  pools are sized from the start: on a machine shared with other work use one thread, since
  OpenMP threads that spin-wait for a core another process holds slow runs unevenly.
- **Timing.** :func:`time_call` and :func:`best_of` give wall and process-CPU seconds (CPU
  seconds are far less disturbed by other work); :func:`load_average` and
  :func:`busy_warning` say when the machine was busy.
- **Memory.** :class:`MemoryProbe` measures the RSS before a block of work and the block's
  own peak: it resets the kernel's high-water mark (``/proc/self/clear_refs``, Linux), or
  reports the lifetime peak (an upper bound) and says so.
- **Output.** :func:`format_table` prints an aligned table, :func:`ratio`, :func:`ratios` and
  :func:`mean_std` compare runs, :func:`run_header` and :func:`machine_info` describe the
  run, and :func:`write_json` writes it (through :func:`finite`: NaN is not JSON).

Nothing here imports torch, scikit-learn or skseqattn at module level, so a parent process that
only orchestrates workers stays small, and each worker pays for exactly the imports it needs.
"""

from __future__ import annotations

import json
import math
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
RESULTS_DIR = REPO_ROOT / "benchmarks" / "results"
DATA_ROOT = REPO_ROOT.parent / "shared" / "data"
"""Where the shared data sets are found by default: ``../shared/data`` beside the checkout."""

# Benchmark the checkout, not whatever skseqattn may be installed elsewhere.
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

# Lines scraped from a web page's navigation, not surnames (compared after collapsing
# whitespace: Russian.txt holds both "To The First Page" and "To The First  Page").
JUNK_LINES = frozenset({"To The First Page"})

MIB = 1024.0 * 1024.0


# --------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------
def load_labelled_folder(folder: str | os.PathLike) -> tuple[list[str], list[str], dict]:
    """Read a folder of ``<Label>.txt`` files, one sequence per line.

    Each line is stripped; empty lines and known junk lines are dropped, then duplicate
    (sequence, label) pairs are removed, keeping the first occurrence. Files may or may not end
    with a newline. Returns the sequences, their labels and a dict of counts.
    """
    folder = Path(folder)
    files = sorted(folder.glob("*.txt"))
    if not files:
        raise FileNotFoundError(
            f"load_labelled_folder expected a folder of <Label>.txt files, found none in "
            f"{str(folder)!r}; pass the folder that holds e.g. Russian.txt and English.txt."
        )
    seen: dict[tuple[str, str], None] = {}
    n_lines = n_junk = n_empty = 0
    for path in files:
        label = path.stem
        for line in path.read_text(encoding="utf-8").split("\n"):
            n_lines += 1
            text = line.strip()
            if not text:
                n_empty += 1
                continue
            if " ".join(text.split()) in JUNK_LINES:
                n_junk += 1
                continue
            seen.setdefault((text, label), None)
    sequences = [text for text, _ in seen]
    labels = [label for _, label in seen]
    n_kept_lines = n_lines - n_junk - n_empty
    stats = {
        "folder": str(folder.resolve()),
        "n_files": len(files),
        "n_lines_read": n_lines,
        "n_empty_dropped": n_empty,
        "n_junk_dropped": n_junk,
        "n_duplicates_dropped": n_kept_lines - len(sequences),
        "n_sequences": len(sequences),
        "n_labels": len({label for label in labels}),
    }
    return sequences, labels, stats


def data_folder(option: str | os.PathLike | None = None, *parts: str) -> Path:
    """The data folder: ``option`` (a ``--data`` value) if given, else :data:`DATA_ROOT`.

    ``parts`` name a data set inside the root (``data_folder(None, "names")``); an
    ``option`` is used as given, since it names the folder the user means.
    """
    if option:
        return Path(option)
    return DATA_ROOT.joinpath(*parts)


def split_sequences(
    sequences: Sequence[str],
    y: Sequence[int],
    *,
    seed: int,
    test_size: float = 0.2,
    max_samples: int | None = None,
) -> tuple[list[str], list[str], Any, Any]:
    """Stratified train/test split, after an optional stratified subsample to ``max_samples``."""
    import numpy as np
    from sklearn.model_selection import train_test_split

    sequences = list(sequences)
    y = np.asarray(y, dtype=np.int64)
    if max_samples is not None and max_samples < len(sequences):
        sequences, _, y, _ = train_test_split(
            sequences, y, train_size=max_samples, stratify=y, random_state=seed
        )
    x_train, x_test, y_train, y_test = train_test_split(
        sequences, y, test_size=test_size, stratify=y, random_state=seed
    )
    return list(x_train), list(x_test), y_train, y_test


# --------------------------------------------------------------------------------------------
# Command line and seeds
# --------------------------------------------------------------------------------------------
def add_harness_arguments(
    parser,
    *,
    out: str | os.PathLike,
    data: str | None = None,
    seed: int | None = 0,
    threads: bool = True,
) -> None:
    """Add the options benchmarks share to an ``argparse`` parser.

    ``--out`` (default ``out``); ``--data`` when ``data`` names the data set looked for
    under :data:`DATA_ROOT` (read it with ``data_folder(args.data, data)``); ``--seed``
    unless ``seed`` is None; ``--threads`` (torch and OpenMP/BLAS threads per worker).
    """
    parser.add_argument("--out", default=str(out), help="JSON output path")
    if data is not None:
        shown = Path("..", DATA_ROOT.relative_to(REPO_ROOT.parent), data)
        parser.add_argument(
            "--data", default=None, help=f"data folder (default: {shown} beside the checkout)"
        )
    if seed is not None:
        parser.add_argument("--seed", type=int, default=seed, help="seed of the first run")
    if threads:
        parser.add_argument(
            "--threads",
            type=int,
            default=None,
            help="torch.set_num_threads and OpenMP/BLAS pool size in every worker",
        )


def add_worker_arguments(parser) -> None:
    """The hidden options of a worker process: ``--worker NAME``, ``--worker-config JSON``
    and ``--worker-out FILE`` (the file :func:`run_worker` reads back)."""
    import argparse

    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--worker-config", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--worker-out", default=None, help=argparse.SUPPRESS)


def below_one(args, names: Iterable[str]) -> list[str]:
    """A problem for each of the integer options ``names`` set below 1 (None is unset)."""
    problems = []
    for name in names:
        value = getattr(args, name)
        if value is not None and value < 1:
            problems.append(f"--{name.replace('_', '-')} must be >= 1, got {value}")
    return problems


def choose(
    spec: str,
    names: Sequence[str],
    aliases: Mapping[str, Sequence[str]] | None = None,
    *,
    option: str = "--contenders",
) -> list[str]:
    """Expand a comma-separated list of ``names`` and ``aliases``, in the order of ``names``.

    Raises ValueError naming the unknown entries and the choices, or an empty selection.
    """
    aliases = dict(aliases or {})
    wanted: set[str] = set()
    unknown = []
    for token in (t.strip() for t in spec.split(",")):
        if not token:
            continue
        if token in names:
            wanted.add(token)
        elif token in aliases:
            wanted.update(aliases[token])
        else:
            unknown.append(token)
    if unknown:
        also = f" or the aliases {', '.join(aliases)}" if aliases else ""
        raise ValueError(
            f"unknown {option.lstrip('-')} {', '.join(map(repr, unknown))}; choose from "
            f"{', '.join(names)}{also}"
        )
    if not wanted:
        raise ValueError(f"{option} selected nothing; try {option} all")
    return [name for name in names if name in wanted]


def seed_everything(seed: int) -> None:
    """Seed Python's and NumPy's global generators, and torch's if torch is imported."""
    random.seed(seed)
    if "numpy" in sys.modules:
        sys.modules["numpy"].random.seed(seed)
    if "torch" in sys.modules:
        sys.modules["torch"].manual_seed(seed)


# --------------------------------------------------------------------------------------------
# Timing and memory (Linux-first, with portable fallbacks)
# --------------------------------------------------------------------------------------------
def time_call(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """Run ``fn`` once; return (wall seconds, process CPU seconds, result).

    CPU seconds count every thread of this process; with one thread they are much less
    disturbed than wall seconds by other work on the machine.
    """
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def best_of(fn: Callable[[], Any], repeat: int = 3) -> tuple[float, float, Any]:
    """Run ``fn`` ``repeat`` times; return the fastest wall and CPU times and the first result."""
    walls, cpus, first = [], [], None
    for i in range(repeat):
        wall, cpu, result = time_call(fn)
        walls.append(wall)
        cpus.append(cpu)
        if i == 0:
            first = result
    return min(walls), min(cpus), first


def _proc_status_kib(field: str) -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def current_rss_bytes() -> int:
    """Resident set size of this process now."""
    kib = _proc_status_kib("VmRSS")
    if kib is not None:
        return kib * 1024
    import psutil

    return int(psutil.Process().memory_info().rss)


def peak_rss_bytes() -> int:
    """High-water mark of this process's RSS (since start, or since the last reset)."""
    kib = _proc_status_kib("VmHWM")
    if kib is not None:
        return kib * 1024
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(maxrss if sys.platform == "darwin" else maxrss * 1024)


def reset_peak_rss() -> bool:
    """Reset the RSS high-water mark to the current RSS (Linux >= 4.0); False if unsupported."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
            fh.write("5")
    except OSError:
        return False
    return _proc_status_kib("VmHWM") is not None


class MemoryProbe:
    """Measure RSS before a block of work, its peak during it, and the process's lifetime peak.

    ``start()`` records the RSS and the lifetime peak so far (imports, data), then resets the
    kernel's high-water mark so that ``peak()`` afterwards is the peak of the block alone. Where
    the reset is unsupported, ``peak()`` is the lifetime peak (an upper bound) and ``method``
    says so.
    """

    def __init__(self) -> None:
        self.rss_before = 0
        self.peak_before = 0
        self.method = "unstarted"

    def start(self) -> None:
        self.peak_before = peak_rss_bytes()
        self.rss_before = current_rss_bytes()
        self.method = "VmHWM reset" if reset_peak_rss() else "lifetime ru_maxrss"

    def peak(self) -> int:
        return max(peak_rss_bytes(), self.rss_before)

    def lifetime_peak(self) -> int:
        return max(self.peak(), self.peak_before)


# --------------------------------------------------------------------------------------------
# Isolation
# --------------------------------------------------------------------------------------------
THREAD_ENV_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def run_worker(
    script: str | os.PathLike,
    args: Sequence[str],
    *,
    threads: int | None = None,
    timeout: float | None = None,
) -> dict:
    """Run ``python script *args --worker-out FILE`` in a fresh interpreter; return its JSON.

    The worker must write one JSON object to the file named by ``--worker-out``. A crash, a
    timeout or a missing file comes back as ``{"status": "failed", "reason": ...}``. With
    ``threads``, OpenMP and BLAS pools in the worker are sized by environment variables from
    the start (the worker should still call ``torch.set_num_threads``).
    """
    env = dict(os.environ)
    if threads:
        env.update({var: str(threads) for var in THREAD_ENV_VARS})
    with tempfile.TemporaryDirectory(prefix="bench-worker-") as tmp:
        out = Path(tmp) / "result.json"
        cmd = [sys.executable, str(script), *args, "--worker-out", str(out)]
        try:
            proc = subprocess.run(
                cmd, capture_output=True, text=True, timeout=timeout, check=False, env=env
            )
        except subprocess.TimeoutExpired:
            return {"status": "failed", "reason": f"worker timed out after {timeout} s"}
        if out.exists():
            result = json.loads(out.read_text(encoding="utf-8"))
            if proc.returncode != 0 and result.get("status") == "ok":
                result = {"status": "failed", "reason": f"exit code {proc.returncode}"}
        else:
            tail = (proc.stderr or proc.stdout or "").strip().splitlines()[-8:]
            result = {
                "status": "failed",
                "reason": f"exit code {proc.returncode}, no result; stderr tail:\n"
                + "\n".join(tail),
            }
        result["worker_stderr_tail"] = "\n".join((proc.stderr or "").splitlines()[-20:])
        return result


def worker_main(
    measure: Callable[[], dict],
    out: str | os.PathLike,
    *,
    name: str | None = None,
    skip: tuple[type[BaseException], ...] = (),
) -> int:
    """A worker's side of :func:`run_worker`: run ``measure`` and write its result to ``out``.

    The result gets ``"status": "ok"``; an exception in ``skip`` gives ``"skipped"`` with
    its message as the reason, any other one ``"failed"`` with the reason and traceback, so
    one failing run never crashes the benchmark. Returns the exit code (0).
    """
    result: dict = {"status": "failed"} if name is None else {"name": name, "status": "failed"}
    try:
        result.update(measure())
        result["status"] = "ok"
    except skip as exc:
        result.update(status="skipped", reason=str(exc))
    except Exception as exc:  # report, don't crash the whole benchmark
        result["reason"] = f"{type(exc).__name__}: {exc}"
        result["traceback"] = traceback.format_exc()
    write_json(out, result)
    return 0


# --------------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------------
def ok(result: Mapping | None) -> bool:
    """Whether a worker's result is a finished measurement."""
    return bool(result) and result.get("status") == "ok"


def ratio(a: float | None, b: float | None) -> float | None:
    """``a / b``, or None when either is missing or ``b`` is 0."""
    if a is None or b is None or b == 0:
        return None
    return a / b


def ratios(a: Mapping, b: Mapping, keys: Mapping[str, str]) -> dict:
    """``{label: a[key] / b[key]}`` for each ``label: key`` of ``keys`` (see :func:`ratio`)."""
    return {label: ratio(a.get(key), b.get(key)) for label, key in keys.items()}


def mean_std(values: Iterable[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value)."""
    values = list(values)
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def busy_warning(threads: int | None) -> str | None:
    """A warning when other work already keeps the CPUs busy (timings will be disturbed)."""
    load = load_average()
    cpus = os.cpu_count() or 1
    if not load or load[0] < 0.5 * cpus:
        return None
    advice = "" if threads == 1 else "; --threads 1 is far less sensitive to it"
    return (
        f"WARNING: load average {load[0]:.1f} on {cpus} CPUs before starting: other work is "
        f"running and will disturb the timings{advice}"
    )


def run_header(benchmark: str, started: float) -> dict:
    """The first fields of a benchmark's JSON: its name, when, how long and the command."""
    return {
        "benchmark": benchmark,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "wall_seconds": time.time() - started,
        "command": [Path(sys.executable).name, *sys.argv],
    }


def finite(obj):
    """``obj`` with NaN and infinities (not valid JSON) replaced by None, recursively."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [finite(v) for v in obj]
    return obj


def load_average() -> list[float] | None:
    """1, 5 and 15 minute load averages (other work on the machine skews timings)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):  # pragma: no cover - not Unix
        return None


def thread_pools() -> list[dict]:
    """OpenMP / BLAS pools loaded in this process and their sizes (via threadpoolctl)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        return []
    return [
        {"api": pool.get("internal_api"), "threads": pool.get("num_threads")}
        for pool in threadpool_info()
    ]


def machine_info(torch_threads: int | None = None) -> dict:
    """CPU, platform and library versions, for the JSON."""
    info: dict[str, Any] = {
        "load_average": load_average(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor() or None,
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
    }
    try:
        info["cpu_affinity"] = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        info["cpu_affinity"] = None
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    info["cpu_model"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    for module in ("torch", "sklearn", "skorch", "numpy"):
        try:
            info[f"{module}_version"] = __import__(module).__version__
        except ImportError:
            info[f"{module}_version"] = None
    try:
        import torch

        info["torch_default_threads"] = torch.get_num_threads()
        info["torch_threads"] = torch_threads or torch.get_num_threads()
        # the vector kernels torch dispatches to: an AVX2-only CPU trains the LSTM about
        # 2.5-3x slower than an AVX-512 one, so fit times are read against it
        capability = getattr(getattr(torch.backends, "cpu", None), "get_cpu_capability", None)
        info["torch_cpu_capability"] = capability() if capability is not None else None
        info["cuda_available"] = torch.cuda.is_available()
        if torch.cuda.is_available():
            info["cuda_device"] = torch.cuda.get_device_name(0)
    except ImportError:
        pass
    return info


def format_table(rows: Sequence[dict], columns: Sequence[tuple[str, str, str]]) -> str:
    """Aligned plain-text table.

    ``columns`` holds (key, header, format) triples; the format is a ``str.format`` spec such
    as ``",.0f"``, or ``"s"`` for text (left-aligned). Missing or None values print as "-".
    """
    header = [title for _, title, _ in columns]
    body = []
    for row in rows:
        cells = []
        for key, _, spec in columns:
            value = row.get(key)
            cells.append("-" if value is None else format(value, spec))
        body.append(cells)
    widths = [max(len(str(c)) for c in col) for col in zip(header, *body)]
    left = [spec == "s" for _, _, spec in columns]

    def line(cells: Sequence[str]) -> str:
        parts = [
            c.ljust(w) if is_left else c.rjust(w) for c, w, is_left in zip(cells, widths, left)
        ]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), rule, *(line(cells) for cells in body)])


def write_json(path: str | os.PathLike, payload: dict) -> Path:
    """Write ``payload`` as indented JSON, creating parent folders."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    return path
