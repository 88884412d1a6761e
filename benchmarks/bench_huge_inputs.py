"""Benchmark: huge inputs, in bounded memory or refused up front (issue 29).

Two tables, each case in a fresh interpreter (one torch thread) so that its peak RSS is its
own:

- **estimates**: the default classifier (fitted for one epoch on small random ids) predicts
  one long sequence, explains one, or trains with one long row among 200 (one epoch, no
  validation split); the measured peak above the RSS before the call against the estimate
  of :mod:`skseqattn._memory` that the limit is checked with (length times bytes per step;
  for training, the padded cells of the long row's batch). A ratio below 1 means the
  estimate is safe.
- **attacks**: the huge inputs of the issue (one sequence of 1e6 ids in ``predict_proba``,
  1e5 in ``explain``, one 1e6-character string among 1,000 names in the vectorizer, one such
  string among 200 in a pipeline's ``fit``, one id of 5e7 among 40 rows), with the default
  limit of 2 GiB: what happened, in how long, at what peak.

Run from the repository root (a few minutes)::

    PYTHONPATH=. python benchmarks/bench_huge_inputs.py
    PYTHONPATH=. python benchmarks/bench_huge_inputs.py --out benchmarks/results/huge_inputs.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import MemoryProbe, format_table, machine_info, run_worker, write_json  # noqa: E402

MIB = 2**20
ESTIMATES = [
    ("predict", 20_000),
    ("predict", 100_000),
    ("explain", 1_000),
    ("explain", 4_000),
    ("fit", 4_000),
    ("fit", 20_000),
]
ATTACKS = ["predict_1e6", "explain_1e5", "vectorizer_1e6", "pipeline_fit_1e6", "huge_id_5e7"]


def _model(rng):
    from skseqattn import BiLSTMAttentionClassifier

    X = rng.randint(2, 60, size=(200, 10))
    y = rng.randint(0, 5, 200)
    return BiLSTMAttentionClassifier(max_epochs=1, random_state=0).fit(X, y), X, y


def _estimate_case(what: str, length: int) -> dict:
    import numpy as np

    from skseqattn import BiLSTMAttentionClassifier, explain
    from skseqattn._memory import batch_steps, step_bytes

    rng = np.random.RandomState(0)
    est, X, y = _model(rng)
    long = rng.randint(2, 60, size=(1, length))
    module = est.module_
    probe = MemoryProbe()
    probe.start()
    start = time.perf_counter()
    if what == "predict":
        est.predict_proba(long)
        estimate = length * step_bytes(module, "predict", 8)
    elif what == "explain":
        explain(est, long)
        # one sequence per batch: its float64 pass, and the gradient paths in passes
        estimate = length * step_bytes(module, "predict", 8) + min(
            34 * length, batch_steps(module, "explain", 4)
        ) * step_bytes(module, "explain", 4)
    else:
        rows = [x for x in X] + [long[0]]
        # no validation split, so that the long row is trained on, in the last batch of
        # its sorting chunk: the rows left over after full batches, padded to it
        est2 = BiLSTMAttentionClassifier(max_epochs=1, validation_fraction=None, random_state=0)
        est2.fit(rows, np.r_[y, 0])
        in_batch = len(rows) % est2.batch_size or est2.batch_size
        if in_batch * length > batch_steps(module, "fit", 4):
            in_batch = 1  # capped: the longest row, last of its batch, goes alone
        cells = in_batch * length
        estimate = cells * step_bytes(module, "fit", 4)
    seconds = time.perf_counter() - start
    peak = probe.peak() - probe.rss_before
    return {
        "case": f"{what} 1 x {length:,}",
        "seconds": seconds,
        "peak_mib": peak / MIB,
        "estimate_mib": estimate / MIB,
        "ratio": peak / estimate,
        "method": probe.method,
    }


def _attack_case(name: str) -> dict:
    import warnings

    import numpy as np
    from sklearn.pipeline import make_pipeline

    from skseqattn import BiLSTMAttentionClassifier, CharSequenceVectorizer, explain

    warnings.simplefilter("ignore")
    rng = np.random.RandomState(0)
    names = ["anna", "bob", "carla", "dmitri"]
    setup = {}
    if name in ("predict_1e6", "explain_1e5"):
        setup["est"] = _model(rng)[0]

    def run():
        if name == "predict_1e6":
            setup["est"].predict_proba(rng.randint(2, 60, size=(1, 10**6)))
        elif name == "explain_1e5":
            explain(setup["est"], rng.randint(2, 60, size=(1, 10**5)))
        elif name == "vectorizer_1e6":
            vec = CharSequenceVectorizer().fit(names)
            vec.transform(names * 250 + ["x" * 10**6])
        elif name == "pipeline_fit_1e6":
            X = [names[i % 4] for i in range(200)] + ["y" * 10**6]
            make_pipeline(CharSequenceVectorizer(), BiLSTMAttentionClassifier(max_epochs=1)).fit(
                X, [i % 2 for i in range(201)]
            )
        else:
            X = np.tile(np.arange(2, 10), (40, 1))
            X[3, 2] = 5 * 10**7
            BiLSTMAttentionClassifier(max_epochs=1).fit(X, np.arange(40) % 2)

    probe = MemoryProbe()
    probe.start()
    start = time.perf_counter()
    try:
        run()
        outcome = "ran"
    except Exception as exc:  # noqa: BLE001 - the outcome is what the table reports
        outcome = f"{type(exc).__name__}: {exc}"
    return {
        "case": name,
        "seconds": time.perf_counter() - start,
        "peak_mib": (probe.peak() - probe.rss_before) / MIB,
        "outcome": outcome,
        "method": probe.method,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None, help="write the results as JSON here")
    parser.add_argument("--worker-out", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--case", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker_out:  # inside a worker: one case, its result as JSON
        import torch

        torch.set_num_threads(1)
        kind, _, rest = args.case.partition(":")
        if kind == "estimate":
            what, length = rest.split(",")
            result = _estimate_case(what, int(length))
        else:
            result = _attack_case(rest)
        Path(args.worker_out).write_text(json.dumps({"status": "ok", **result}))
        return 0

    script = Path(__file__).resolve()
    estimates = []
    for what, length in ESTIMATES:
        result = run_worker(script, ["--case", f"estimate:{what},{length}"], threads=1)
        estimates.append(result)
        print(f"{what} {length:,}: {result.get('status')}", file=sys.stderr)
    attacks = []
    for name in ATTACKS:
        result = run_worker(script, ["--case", f"attack:{name}"], threads=1, timeout=600)
        if "outcome" in result:
            result["short"] = result["outcome"][:110]
        attacks.append(result)
        print(f"{name}: {result.get('status')}", file=sys.stderr)
    print("Estimates of skseqattn._memory against measured peaks (default model, 1 thread)")
    print(
        format_table(
            estimates,
            [
                ("case", "case", "s"),
                ("seconds", "s", ".1f"),
                ("peak_mib", "peak MiB", ",.0f"),
                ("estimate_mib", "estimate MiB", ",.0f"),
                ("ratio", "peak / estimate", ".2f"),
            ],
        )
    )
    print()
    print("The issue's huge inputs, default memory limit (2 GiB per batch)")
    print(
        format_table(
            attacks,
            [
                ("case", "case", "s"),
                ("seconds", "s", ".2f"),
                ("peak_mib", "peak MiB", ",.0f"),
                ("short", "outcome", "s"),
            ],
        )
    )
    if args.out:
        payload = {
            "benchmark": "huge_inputs",
            "machine": machine_info(1),
            "estimates": estimates,
            "attacks": attacks,
        }
        print(f"wrote {write_json(args.out, payload)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
