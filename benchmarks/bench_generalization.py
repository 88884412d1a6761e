"""Do the defaults generalise beyond surnames? skseqattn defaults vs TF-IDF + LR elsewhere.

Each task is generated (``skseqattn.datasets``), split 75/25 (stratified, seeded), and both
contenders are fitted with no tuning:

- ``skseqattn``: ``make_pipeline(CharSequenceVectorizer(), BiLSTMAttentionClassifier())``;
- ``tfidf``: ``TfidfVectorizer(analyzer='char_wb', ngram_range=(1, 4), sublinear_tf=True)``
  + ``LogisticRegression(C=10)``.

The tasks differ in length and size: short first names, 60-letter DNA windows, domain names
of up to 70 characters with a few hundred and with tens of thousands of samples.

Run::

    python benchmarks/bench_generalization.py            # full
    python benchmarks/bench_generalization.py --quick    # smoke run

Prints a table and writes JSON (``--out``, default
``benchmarks/results/bench_generalization.json``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TASKS = {
    # name: (generator name, n_samples, quick n_samples)
    "first_names": ("make_first_names", 4000, 400),
    "dna_windows": ("make_dna_windows", 4000, 400),
    "domains_small": ("make_domain_names", 400, 200),
    "domains_large": ("make_domain_names", 30000, 600),
}


def run_task(name, generator, n_samples, seed, quick):
    import torch
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline

    import skseqattn.datasets as ds
    from skseqattn import BiLSTMAttentionClassifier, CharSequenceVectorizer

    X, y = getattr(ds, generator)(n_samples, random_state=seed)
    X = np.asarray(X, dtype=object)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, stratify=y, random_state=seed)
    clf_params = {"random_state": seed}
    if quick:
        clf_params["max_epochs"] = 2
    contenders = {
        "skseqattn": make_pipeline(
            CharSequenceVectorizer(), BiLSTMAttentionClassifier(**clf_params)
        ),
        "tfidf": make_pipeline(
            TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 4), sublinear_tf=True),
            LogisticRegression(C=10, max_iter=2000),
        ),
    }
    rows = []
    for contender, model in contenders.items():
        start = time.perf_counter()
        model.fit(X_tr, y_tr)
        fit_s = time.perf_counter() - start
        pred = model.predict(X_te)
        row = {
            "task": name,
            "n_samples": int(n_samples),
            "mean_length": float(np.mean([len(s) for s in X])),
            "contender": contender,
            "fit_s": round(fit_s, 2),
            "accuracy": round(float(accuracy_score(y_te, pred)), 4),
            "macro_f1": round(float(f1_score(y_te, pred, average="macro")), 4),
        }
        if contender == "skseqattn":
            row["epochs"] = int(model[-1].n_epochs_)
        rows.append(row)
    del torch
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small data, 2 epochs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None, help="torch threads")
    parser.add_argument("--tasks", default=",".join(TASKS), help="comma-separated task names")
    parser.add_argument(
        "--out",
        default=str(Path(__file__).parent / "results" / "bench_generalization.json"),
    )
    args = parser.parse_args(argv)
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    rows = []
    for name in args.tasks.split(","):
        generator, n_full, n_quick = TASKS[name]
        rows.extend(
            run_task(name, generator, n_quick if args.quick else n_full, args.seed, args.quick)
        )
        last = rows[-2:]
        print(
            f"{name:<14} n={last[0]['n_samples']:<6} "
            + "  ".join(
                f"{r['contender']}: acc {r['accuracy']:.3f} F1 {r['macro_f1']:.3f} "
                f"fit {r['fit_s']:.1f}s"
                for r in last
            ),
            flush=True,
        )
    header = f"{'task':<14} {'n':>6} {'len':>5} {'contender':<10} {'epochs':>6} {'fit s':>7} "
    header += f"{'accuracy':>8} {'macro-F1':>8}"
    print()
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r['task']:<14} {r['n_samples']:>6} {r['mean_length']:>5.1f} {r['contender']:<10} "
            f"{r.get('epochs', '-'):>6} {r['fit_s']:>7.1f} {r['accuracy']:>8.3f} "
            f"{r['macro_f1']:>8.3f}"
        )
    result = {
        "rows": rows,
        "quick": args.quick,
        "seed": args.seed,
        "machine": {
            "cpu_count": os.cpu_count(),
            "torch": torch.__version__,
            "torch_threads": torch.get_num_threads(),
            "platform": platform.platform(),
        },
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
