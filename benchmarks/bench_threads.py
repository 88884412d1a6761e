"""Benchmark: fit seconds on 1 torch thread, on all cores and on skseqattn's automatic choice.

OpenMP threads spin-wait for each other, so on a machine where another process keeps a core
busy, a fit on all cores can be many times slower than on one; on a quiet machine, a small
LSTM gains little from more threads. ``limit_torch_threads`` therefore runs fit and predict
on the free cores (see ``skseqattn/_parallel.py``). This script checks that the automatic
choice is never much slower than the better of 1 thread and all cores, in two scenarios:

``quiet``
    nothing else of ours runs (other users of the machine may: the load average and the free
    cores seen at the start are printed; ``--wait-quiet`` waits for a calm moment before each
    scenario);
``busy``
    one co-tenant: a separate Python process spinning on one core for the whole scenario
    (``--pin`` pins it to the last CPU; by default the kernel places it), started before
    the fits and killed afterwards, also when the run fails, and bounded in time itself.

Run from the repository root::

    python benchmarks/bench_threads.py                  # ~5-10 min on a 2-core machine
    python benchmarks/bench_threads.py --quick          # smoke run (< 1 min)
    python benchmarks/bench_threads.py --n-samples 3000 --max-epochs 2 --repeat 2

Workload: ``make_pipeline(CharSequenceVectorizer(), BiLSTMAttentionClassifier())`` with the
library's defaults except ``max_epochs`` (``--max-epochs``, 4), ``early_stopping=False`` (every
fit trains the same epochs) and ``random_state=0``, fitted on a stratified subsample of
``--n-samples`` (6000) surnames, 80% of them for training (the data folder defaults to
``../shared/data/names`` next to the repository, read by ``_common.load_labelled_folder``).

Each scenario runs in one fresh interpreter started without ``OMP_NUM_THREADS``,
``MKL_NUM_THREADS`` or ``SKSEQATTN_NUM_THREADS``, so torch starts on its own default (all
cores). After an untimed warm-up fit it times ``--repeat`` rounds of three fits, the order
rotating each round: ``SKSEQATTN_NUM_THREADS=1``, ``SKSEQATTN_NUM_THREADS=<all cores>`` and
the variable unset (the automatic choice). A callback records the torch threads each training
batch ran on. Reported per cell: the median fit seconds (wall clock; min and max in the
JSON), the ratio to the best median of its scenario, the median ``predict_proba`` seconds on
the test set, and the threads used. The cost of the free-core probe is measured too.

The table is printed and written, with machine information, to ``--out`` (default
``benchmarks/results/threads.json``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import traceback
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
# Benchmark the checkout, not whatever skseqattn may be installed elsewhere.
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))
if str(BENCH_DIR) not in sys.path:
    sys.path.insert(0, str(BENCH_DIR))

from _common import (  # noqa: E402
    DATA_ROOT,
    RESULTS_DIR,
    format_table,
    load_average,
    load_labelled_folder,
    machine_info,
    run_worker,
    split_sequences,
    write_json,
)

SCRIPT = Path(__file__).resolve()
DEFAULT_DATA = DATA_ROOT / "names"
DEFAULT_OUT = RESULTS_DIR / "threads.json"
SCENARIOS = ("quiet", "busy")
MODES = ("1", "all", "auto")
CLEARED_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "SKSEQATTN_NUM_THREADS")

# The co-tenant: a pure-Python spin that ends by itself after argv[1] seconds.
SPIN = (
    "import sys, time\n"
    "end = time.monotonic() + float(sys.argv[1])\n"
    "while time.monotonic() < end:\n"
    "    pass\n"
)

TABLE_COLUMNS = (
    ("scenario", "scenario", "s"),
    ("mode", "threads", "s"),
    ("threads_used", "used", "s"),
    ("n_fits", "fits", "d"),
    ("fit_seconds", "fit s", ".2f"),
    ("ratio_to_best", "x best", ".2f"),
    ("predict_seconds", "predict s", ".3f"),
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("data_folder", nargs="?", default=None, help=f"default: {DEFAULT_DATA}")
    parser.add_argument("--out", default=str(DEFAULT_OUT), help="JSON output path")
    parser.add_argument("--n-samples", type=int, default=6000, help="surnames used (6000)")
    parser.add_argument("--max-epochs", type=int, default=4, help="epochs per fit (4)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds of the three fits (3)")
    parser.add_argument(
        "--scenarios", default=",".join(SCENARIOS), help="comma-separated: quiet,busy"
    )
    parser.add_argument("--pin", action="store_true", help="pin the co-tenant to the last CPU")
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=0.0,
        help="wait up to this many seconds for all cores to be idle before each scenario (0)",
    )
    parser.add_argument(
        "--scenario-timeout", type=float, default=420.0, help="seconds per scenario (420)"
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: 1500 names, 1 epoch")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--worker-config", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--worker-out", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.n_samples, args.max_epochs, args.repeat = 1500, 1, 1
    scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = sorted(set(scenarios) - set(SCENARIOS))
    if unknown or not scenarios:
        parser.error(f"--scenarios expected some of {','.join(SCENARIOS)}, got {args.scenarios!r}")
    args.scenarios = scenarios
    return args


# --------------------------------------------------------------------------------------------
# Parent side: the co-tenant and a cheap look at the CPUs (no torch here)
# --------------------------------------------------------------------------------------------
def idle_cores(window: float = 0.5) -> float | None:
    """Cores idle over ``window`` seconds, from /proc/stat (None where it is missing)."""

    def read():
        try:
            with open("/proc/stat", encoding="ascii") as fh:
                fields = fh.readline().split()
        except OSError:
            return None
        return int(fields[4]) + int(fields[5])

    ticks = float(os.sysconf("SC_CLK_TCK")) if hasattr(os, "sysconf") else 100.0
    start, t0 = read(), time.monotonic()
    if start is None:
        return None
    time.sleep(window)
    return (read() - start) / ticks / (time.monotonic() - t0)


def wait_quiet(max_seconds: float, n_cpus: int) -> float | None:
    """Wait until nearly all CPUs are idle, at most ``max_seconds``; return the last reading."""
    deadline = time.monotonic() + max_seconds
    free = idle_cores()
    while free is not None and free < n_cpus - 0.25 and time.monotonic() < deadline:
        time.sleep(2.0)
        free = idle_cores()
    return free


def start_cotenant(seconds: float, pin: bool) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", SPIN, str(seconds)])
    if pin and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(proc.pid, {max(os.sched_getaffinity(0))})
    time.sleep(0.5)  # let it get going
    return proc


def stop_cotenant(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=10)


# --------------------------------------------------------------------------------------------
# Worker side: the fits
# --------------------------------------------------------------------------------------------
def worker_main(args: argparse.Namespace) -> int:
    cfg = json.loads(args.worker_config)
    try:
        result = {"status": "ok", **measure(cfg)}
    except Exception as exc:  # reported by the parent, the run goes on
        result = {"status": "failed", "reason": f"{exc!r}\n{traceback.format_exc()}"}
    Path(args.worker_out).write_text(json.dumps(result), encoding="utf-8")
    return 0 if result["status"] == "ok" else 1


def measure(cfg: dict) -> dict:
    import numpy as np
    import torch
    from sklearn.pipeline import make_pipeline
    from skorch.callbacks import Callback

    from skseqattn import BiLSTMAttentionClassifier, CharSequenceVectorizer, _parallel

    class ThreadRecorder(Callback):
        def on_train_begin(self, net, **kwargs):
            self.seen_ = []

        def on_batch_begin(self, net, batch=None, training=False, **kwargs):
            if training:
                self.seen_.append(torch.get_num_threads())

    sequences, labels, _ = load_labelled_folder(cfg["data"])
    names = sorted(set(labels))
    y = np.array([names.index(label) for label in labels])
    x_train, x_test, y_train, _ = split_sequences(
        sequences, y, seed=0, max_samples=cfg["n_samples"]
    )
    n_all = _parallel.usable_cpus()
    default_threads = torch.get_num_threads()

    def pipeline(epochs):
        recorder = ThreadRecorder()
        clf = BiLSTMAttentionClassifier(
            max_epochs=epochs, early_stopping=False, random_state=0, callbacks=[recorder]
        )
        return make_pipeline(CharSequenceVectorizer(), clf), recorder

    # The probe's cost, cold (a fresh 40 ms window) and warm (compared with that reading).
    _parallel._last_reading = _parallel._last_free = None
    t = time.perf_counter()
    free_at_start = _parallel.free_cores()
    probe_cold = time.perf_counter() - t
    time.sleep(0.1)
    t = time.perf_counter()
    _parallel.free_cores()
    probe_warm = time.perf_counter() - t

    model, _ = pipeline(1)
    model.fit(x_train[:300], y_train[:300])  # warm-up: allocator, OpenMP pool, imports

    fits: dict[str, list[dict]] = {mode: [] for mode in MODES}
    for round_ in range(cfg["repeat"]):
        order = MODES[round_ % 3 :] + MODES[: round_ % 3]
        for mode in order:
            if mode == "auto":
                os.environ.pop(_parallel.NUM_THREADS_ENV, None)
            else:
                os.environ[_parallel.NUM_THREADS_ENV] = str(1 if mode == "1" else n_all)
            model, recorder = pipeline(cfg["max_epochs"])
            load = load_average()
            t = time.perf_counter()
            model.fit(x_train, y_train)
            fit_seconds = time.perf_counter() - t
            t = time.perf_counter()
            model.predict_proba(x_test)
            predict_seconds = time.perf_counter() - t
            fits[mode].append(
                {
                    "round": round_,
                    "fit_seconds": fit_seconds,
                    "predict_seconds": predict_seconds,
                    "threads_min": min(recorder.seen_),
                    "threads_max": max(recorder.seen_),
                    "load_average": load,
                }
            )
            assert torch.get_num_threads() == default_threads, "caller's setting not restored"
    os.environ.pop(_parallel.NUM_THREADS_ENV, None)
    return {
        "fits": fits,
        "n_train": len(x_train),
        "n_test": len(x_test),
        "all_cores": n_all,
        "torch_default_threads": default_threads,
        "skseqattn_default_threads": _parallel.torch_default_threads(),
        "free_cores_at_start": free_at_start,
        "probe_seconds_cold": probe_cold,
        "probe_seconds_warm": probe_warm,
    }


# --------------------------------------------------------------------------------------------
# Parent side: scenarios, table, JSON
# --------------------------------------------------------------------------------------------
def run_scenario(name: str, args: argparse.Namespace, cfg: dict) -> dict:
    n_cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    waited = None
    if args.wait_quiet > 0:  # before the co-tenant starts
        t = time.monotonic()
        wait_quiet(args.wait_quiet, n_cpus or 1)
        waited = time.monotonic() - t
    cotenant = None
    try:
        if name == "busy":
            cotenant = start_cotenant(args.scenario_timeout + 30, args.pin)
        idle = idle_cores()
        load = load_average()
        result = run_worker(
            SCRIPT,
            ["--worker", name, "--worker-config", json.dumps(cfg)],
            timeout=args.scenario_timeout,
        )
    finally:
        if cotenant is not None:
            stop_cotenant(cotenant)
    result.update(
        scenario=name,
        idle_cores_at_start=idle,
        load_average_at_start=load,
        waited_for_quiet_seconds=waited,
        cotenant={"pinned": args.pin} if name == "busy" else None,
    )
    return result


def summarise(result: dict) -> list[dict]:
    if result.get("status") != "ok":
        return []
    rows = []
    for mode, fits in result["fits"].items():
        used = sorted({f["threads_min"] for f in fits} | {f["threads_max"] for f in fits})
        label = {"1": "1", "all": f"{result['all_cores']} (all)", "auto": "auto"}[mode]
        rows.append(
            {
                "scenario": result["scenario"],
                "mode": label,
                "threads_used": "/".join(map(str, used)),
                "n_fits": len(fits),
                "fit_seconds": statistics.median(f["fit_seconds"] for f in fits),
                "fit_seconds_min": min(f["fit_seconds"] for f in fits),
                "fit_seconds_max": max(f["fit_seconds"] for f in fits),
                "predict_seconds": statistics.median(f["predict_seconds"] for f in fits),
            }
        )
    best = min(row["fit_seconds"] for row in rows)
    for row in rows:
        row["ratio_to_best"] = row["fit_seconds"] / best
    return rows


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker:
        return worker_main(args)
    started = time.time()
    folder = Path(args.data_folder or DEFAULT_DATA)
    _, _, data_stats = load_labelled_folder(folder)  # fails early, with advice, if missing
    for var in CLEARED_ENV:  # the workers start on torch's own default
        os.environ.pop(var, None)
    cfg = {
        "data": str(folder),
        "n_samples": args.n_samples,
        "max_epochs": args.max_epochs,
        "repeat": args.repeat,
    }
    results, rows = [], []
    for name in args.scenarios:
        print(f"scenario {name} ...", flush=True)
        result = run_scenario(name, args, cfg)
        results.append(result)
        rows.extend(summarise(result))
        if result.get("status") != "ok":
            print(f"  {name}: {result.get('status')}: {result.get('reason')}")

    print(
        f"\nsurname fits: {args.n_samples} names (80% for training), default model, "
        f"{args.max_epochs} epochs, median of {args.repeat} per cell"
    )
    print(format_table(rows, TABLE_COLUMNS))
    for result in results:
        if result.get("status") == "ok":
            free = result["free_cores_at_start"]
            print(
                f"{result['scenario']}: idle cores at start {result['idle_cores_at_start']:.2f} "
                f"of {result['all_cores']}, load average {result['load_average_at_start']}, "
                f"free-core probe {'-' if free is None else f'{free:.2f}'} "
                f"({result['probe_seconds_cold'] * 1e3:.0f} ms cold, "
                f"{result['probe_seconds_warm'] * 1e3:.2f} ms warm)"
            )

    payload = {
        "benchmark": "threads",
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "wall_seconds": time.time() - started,
        "command": [Path(sys.executable).name, *sys.argv],
        "config": {**cfg, "pin_cotenant": args.pin, "wait_quiet": args.wait_quiet},
        "machine": machine_info(),
        "data": data_stats,
        "table": rows,
        "scenarios": results,
    }
    out = write_json(args.out, payload)
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
