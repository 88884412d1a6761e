"""Data-parallel speed-up: one model trained by 1 and by 2 processes (1 thread each).

Each run is ``torchrun --nproc_per_node=N`` on this very file (as the worker) with the same
data (synthetic motif sequences), the same model and a fixed number of epochs (no early
stopping); rank 0 reports the fit time and the held-out accuracy. Prints a table and writes
``benchmarks/results/bench_ddp.json``. Usage::

    PYTHONPATH=. python benchmarks/bench_ddp.py [--n-samples 6000] [--epochs 3]

On a shared machine the ratio is what to read, not the seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "bench_ddp.json"


def worker(out, n_samples, epochs):
    import torch

    torch.set_num_threads(1)
    from sklearn.model_selection import train_test_split

    from skseqattn import BiLSTMAttentionClassifier, CharSequenceVectorizer
    from skseqattn.datasets import make_motif_sequences

    X, y = make_motif_sequences(n_samples=n_samples, min_len=10, max_len=30, random_state=0)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, random_state=0, stratify=y)
    vec = CharSequenceVectorizer().fit(X_tr)
    clf = BiLSTMAttentionClassifier(
        hidden_size=32,
        max_epochs=epochs,
        early_stopping=False,
        lr_schedule=None,
        distributed=True,
        random_state=0,
    )
    Xtr = vec.transform(X_tr)
    start = time.perf_counter()
    clf.fit(Xtr, y_tr)
    seconds = time.perf_counter() - start
    if int(os.environ["RANK"]) == 0:
        acc = clf.score(vec.transform(X_te), y_te)
        Path(out).write_text(json.dumps({"fit_s": seconds, "accuracy": acc}))


def _port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n-samples", type=int, default=6000)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    rows = []
    for nproc in (1, 2):
        out = RESULTS.parent / f".ddp_{nproc}.json"
        cmd = [
            sys.executable,
            "-m",
            "torch.distributed.run",
            f"--nproc_per_node={nproc}",
            f"--master_port={_port()}",
            __file__,
            "--worker",
            str(out),
            str(args.n_samples),
            str(args.epochs),
        ]
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        subprocess.run(cmd, check=True, env=env, capture_output=True)
        row = {"processes": nproc, **json.loads(out.read_text())}
        out.unlink()
        rows.append(row)
    base = rows[0]["fit_s"]
    for row in rows:
        row["speedup"] = base / row["fit_s"]
    print(f"{'processes':>9}  {'fit s':>7}  {'speed-up':>8}  {'accuracy':>8}")
    for r in rows:
        print(f"{r['processes']:>9}  {r['fit_s']:7.2f}  {r['speedup']:8.2f}  {r['accuracy']:8.3f}")
    RESULTS.write_text(
        json.dumps(
            {
                "n_samples": args.n_samples,
                "epochs": args.epochs,
                "threads_per_process": 1,
                "cpu_count": os.cpu_count(),
                "machine": "shared CPU (other jobs running)",
                "rows": rows,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        main()
