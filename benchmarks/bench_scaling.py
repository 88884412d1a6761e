"""How the cost of fit and predict grows: with sequences, sequence length and classes.

Three axes, each varied alone from a base of token sequences (ids drawn from 28 tokens,
label a function of the first tokens, so the task is learnable), each point in a fresh
worker process on one torch thread (so that its peak memory is its own):

- n sequences: 10k, 30k, 100k (``--large`` adds 300k and 1M), length 8, 2 classes;
- sequence length: 10, 50, 200 (``--large`` adds 500 and 2,000), 2,000 sequences;
- n classes: 2, 50, 500, 5,000 (``--large`` adds 20,000), 20,000 sequences of length 8.

Each point is one epoch of ``fit`` (``max_epochs=1``, no validation split, hidden 32,
embedding 32, batch 256, the n-gram term on with ``ngram_buckets='auto'``), then
``predict_proba`` over the same rows (at most 100k). It reports the epoch's time (skorch's
``dur``), the whole fit's wall time, predict throughput, the peak RSS growth during fit
(over the RSS before it), and the n-gram table's rows and size; then the fitted growth
exponent of each axis: the slope of log(time) and of log(peak memory) on log(size).

``--ddp`` adds the data-parallel speed-up (1 vs 2 processes of one thread each
on the same data, issue 16): it runs when the classifier has a ``distributed`` parameter,
and is reported as not measured otherwise.

Run from the repository root (a few minutes on two shared CPU cores)::

    PYTHONPATH=. python benchmarks/bench_scaling.py            # default sizes
    PYTHONPATH=. python benchmarks/bench_scaling.py --large    # up to 1M sequences
    PYTHONPATH=. python benchmarks/bench_scaling.py --device cuda --large

Writes ``benchmarks/results/bench_scaling.json`` (``--out`` to change).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    MIB,
    RESULTS_DIR,
    MemoryProbe,
    format_table,
    machine_info,
    run_worker,
    write_json,
)

DEFAULT_OUT = RESULTS_DIR / "bench_scaling.json"
BASE = {"n": 20_000, "length": 8, "classes": 2}
AXES = {
    "n": ([10_000, 30_000, 100_000], [300_000, 1_000_000], {"length": 8, "classes": 2}),
    "length": ([10, 50, 200], [500, 2_000], {"n": 2_000, "classes": 2}),
    "classes": ([2, 50, 500, 5_000], [20_000], {"n": 20_000, "length": 8}),
}
PREDICT_ROWS = 100_000
N_TOKENS = 28


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--large", action="store_true", help="add the largest sizes")
    parser.add_argument("--axes", default="n,length,classes", help="which axes (all three)")
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    parser.add_argument("--ngram-order", type=int, default=4, help="0 leaves the n-grams out")
    parser.add_argument("--ddp", action="store_true", help="also DDP, 1 vs 2 processes")
    parser.add_argument("--out", default=str(DEFAULT_OUT), help="JSON output path")
    parser.add_argument("--timeout", type=float, default=900, help="per point, seconds")
    parser.add_argument("--worker-config", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--worker-out", default=None, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def make_data(n, length, classes, seed=0):
    """Token ids of shape (n, length) and labels that depend on the first three tokens."""
    import numpy as np

    rng = np.random.RandomState(seed)
    X = rng.randint(2, 2 + N_TOKENS, size=(n, length)).astype(np.int64)
    key = X[:, 0] * N_TOKENS * N_TOKENS + X[:, 1] * N_TOKENS + X[:, min(2, length - 1)]
    y = key % classes
    y[:classes] = np.arange(classes)  # every class present
    return X, y


def worker(config, out):
    import numpy as np
    import torch

    torch.set_num_threads(1)
    from skseqattn import BiLSTMAttentionClassifier

    X, y = make_data(config["n"], config["length"], config["classes"])
    clf = BiLSTMAttentionClassifier(
        embedding_dim=32,
        hidden_size=32,
        batch_size=256,
        max_epochs=1,
        validation_fraction=None,
        ngram_order=config.get("ngram_order", 4),
        device=config["device"],
        random_state=0,
    )
    probe = MemoryProbe()
    probe.start()
    start = time.perf_counter()
    clf.fit(X, y)
    fit_s = time.perf_counter() - start
    peak = probe.peak()
    rows = min(len(X), PREDICT_ROWS)
    clf.predict_proba(X[: min(rows, 1024)])  # warm-up
    start = time.perf_counter()
    clf.predict_proba(X[:rows])
    predict_s = time.perf_counter() - start
    table = clf.module_.ngrams.table.weight if clf.module_.ngrams is not None else None
    result = {
        "status": "ok",
        **config,
        "epoch_s": float(clf.history_[-1, "dur"]),
        "fit_s": fit_s,
        "train_seq_per_s": config["n"] / float(clf.history_[-1, "dur"]),
        "predict_rows": rows,
        "predict_seq_per_s": rows / predict_s,
        "peak_fit_mib": (peak - probe.rss_before) / MIB,
        "rss_before_mib": probe.rss_before / MIB,
        "memory_method": probe.method,
        "ngram_rows": int(table.shape[0]) if table is not None else 0,
        "ngram_mib": table.numel() * 4 / MIB if table is not None else 0.0,
        "train_acc": float(np.mean(clf.predict(X[:rows]) == y[:rows])),
    }
    Path(out).write_text(json.dumps(result), encoding="utf-8")


def slope(xs, ys):
    """Least-squares slope of log(y) on log(x): the growth exponent."""
    import numpy as np

    pairs = [(x, y) for x, y in zip(xs, ys) if y and y > 0]
    if len(pairs) < 2:
        return None
    lx, ly = np.log([p[0] for p in pairs]), np.log([p[1] for p in pairs])
    return float(np.polyfit(lx, ly, 1)[0])


def ddp_slot(args):
    """The DDP 1-vs-2-process speed-up, when the classifier supports ``distributed=True``."""
    from skseqattn import BiLSTMAttentionClassifier

    if "distributed" not in BiLSTMAttentionClassifier().get_params():
        return {
            "status": "not measured",
            "reason": "BiLSTMAttentionClassifier has no distributed parameter on this branch",
        }
    # The measurement itself is bench_ddp.py's (torchrun, gloo, one thread per process, the
    # same data for 1 and 2 processes): run it and report its rows.
    here = Path(__file__).resolve().parent
    env = {**os.environ, "PYTHONPATH": str(here.parent)}
    done = subprocess.run(
        [sys.executable, str(here / "bench_ddp.py")], env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        return {"status": "failed", "reason": done.stderr[-2000:]}
    print(done.stdout, end="")
    rows = json.loads((here / "results" / "bench_ddp.json").read_text())["rows"]
    one, two = rows[0], rows[1]
    return {
        "status": "ok",
        "seconds_1": one["fit_s"],
        "seconds_2": two["fit_s"],
        "speedup": one["fit_s"] / two["fit_s"],
    }


def main(argv=None):
    args = parse_args(argv)
    if args.worker_config:
        worker(json.loads(args.worker_config), args.worker_out)
        return 0
    points, exponents = [], {}
    for axis in args.axes.split(","):
        sizes, large, fixed = AXES[axis]
        sizes = sizes + (large if args.large else [])
        rows = []
        for size in sizes:
            config = {**fixed, axis: size, "axis": axis, "device": args.device}
            config["ngram_order"] = args.ngram_order
            print(f"{axis}={size} ...", flush=True)
            result = run_worker(
                __file__, ["--worker-config", json.dumps(config)], threads=1, timeout=args.timeout
            )
            result.setdefault("axis", axis)
            result.setdefault(axis, size)
            if result.get("status") != "ok":
                print(f"  failed: {result.get('reason')}", flush=True)
            rows.append(result)
        ok = [r for r in rows if r.get("status") == "ok"]
        exponents[axis] = {
            "epoch_time": slope([r[axis] for r in ok], [r["epoch_s"] for r in ok]),
            "peak_memory": slope([r[axis] for r in ok], [r["peak_fit_mib"] for r in ok]),
            # predict runs on at most PREDICT_ROWS rows: along n, its size is the rows predicted
            "predict_time": slope(
                [r["predict_rows"] if axis == "n" else r[axis] for r in ok],
                [r["predict_rows"] / r["predict_seq_per_s"] for r in ok],
            ),
        }
        points.extend(rows)
    columns = [
        ("axis", "axis", "s"),
        ("n", "n seqs", ",d"),
        ("length", "length", ",d"),
        ("classes", "classes", ",d"),
        ("epoch_s", "epoch s", ".2f"),
        ("train_seq_per_s", "train seq/s", ",.0f"),
        ("predict_seq_per_s", "predict seq/s", ",.0f"),
        ("peak_fit_mib", "peak MiB", ",.0f"),
        ("ngram_rows", "ngram rows", ",d"),
        ("ngram_mib", "table MiB", ",.1f"),
    ]
    print()
    print(format_table([p for p in points if p.get("status") == "ok"], columns))
    print()
    print("growth exponents (slope of log cost on log size):")
    for axis, slopes in exponents.items():
        text = ", ".join(
            f"{what} {value:.2f}" if value is not None and math.isfinite(value) else f"{what} -"
            for what, value in slopes.items()
        )
        print(f"  {axis:8s} {text}")
    ddp = ddp_slot(args) if args.ddp else {"status": "not run", "reason": "pass --ddp"}
    print(f"DDP 1 vs 2 processes: {ddp['status']} ({ddp.get('reason', '')})")
    payload = {
        "benchmark": "bench_scaling",
        "note": "one torch thread per worker; the machine may be shared (noisy timings)",
        "large": args.large,
        "device": args.device,
        "ngram_order": args.ngram_order,
        "machine": machine_info(torch_threads=1),
        "points": points,
        "exponents": exponents,
        "ddp": ddp,
    }
    print(f"wrote {write_json(args.out, payload)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
