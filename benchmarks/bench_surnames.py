"""Benchmark: surname -> language with skseqattn, a hand-written loop, plain skorch and TF-IDF.

A user picks skseqattn over writing their own PyTorch loop only if it costs nothing in speed,
and over a TF-IDF baseline only if it is more accurate. This script shows both in one run, on
the 18-language surname collection (a folder of ``<Language>.txt`` files, one name per line).

Run from the repository root::

    python benchmarks/bench_surnames.py                  # full run (a few minutes)
    python benchmarks/bench_surnames.py --quick          # smoke run (< 1 min)
    python benchmarks/bench_surnames.py --splits 3 --contenders default,tfidf

The data folder defaults to ``../shared/data/names`` next to the repository. Lines are
stripped; empty lines and the "To The First Page" junk lines (Russian.txt) are dropped;
(name, language) pairs are deduplicated; then a stratified 80/20 split with ``random_state``
equal to the split's seed (``--seed``, ``--seed + 1``, ... for ``--splits``).

Contenders, trained and evaluated on the same split:

``skseqattn-default``
    ``make_pipeline(CharSequenceVectorizer(), BiLSTMAttentionClassifier())`` with the library's
    defaults (only ``random_state`` and ``device`` are set). Skipped with a message when
    skseqattn does not import.
``skseqattn-explicit``
    The same pipeline with the reference architecture set explicitly (so without the default
    hashed n-gram term and logit adjustment) and no validation split or early stopping, so it
    trains exactly ``--epochs`` epochs like the two below.
``handwritten``
    The reference architecture in a careful plain PyTorch loop (``benchmarks/_handwritten.py``):
    ids built once, length-bucketed batches padded per batch, packed BiLSTM, masked attention;
    prediction in batches of a single length each, of at most ``--predict-batch-size`` (512).
``skorch``
    The same ``nn.Module`` through a plain ``skorch.NeuralNetClassifier`` on ids padded to the
    longest name, with skorch's default DataLoader: what a typical skorch user writes (it
    also predicts in batches of ``--batch-size``, skorch's default).
``tfidf-logreg``, ``tfidf-logreg-balanced``
    ``TfidfVectorizer(analyzer='char_wb', ngram_range=(1, 4), sublinear_tf=True)`` +
    ``LogisticRegression(C=10)``, without and with ``class_weight='balanced'``.

Reference architecture: embedding (``--embedding-dim``, 64) -> one bidirectional LSTM layer
(``--hidden-size``, 64 per direction) -> additive attention ``score_t = v . tanh(W h_t + b)``
with ``W`` of size (2 * hidden) x (2 * hidden), i.e. attention dimension = 2 * hidden_size, and
the softmax masked to real steps -> weighted sum -> dropout 0.2 -> linear head; cross-entropy,
Adam (``--lr`` 3e-3, no weight decay, no gradient clipping), ``--batch-size`` 64, ``--epochs``
10. Every neural contender prints its parameter count so a mismatch is visible.

Measured per contender: fit seconds (from raw strings, vectorising included; wall clock, and
process CPU seconds, which other work on the machine disturbs less), seconds per epoch,
training tokens per second (characters in the training set x epochs / fit seconds),
``predict_proba`` sequences per second on the test set (best of 3), memory, test accuracy and
macro-F1. Ratios: skseqattn-explicit vs handwritten (train time, predict throughput, peak
memory) and vs skorch (train time), plus skorch vs handwritten.

Each contender runs in its own fresh interpreter (``_common.run_worker``; memory as
``_common.MemoryProbe`` measures it: the RSS just before ``fit``, the fit's own peak and the
worker's lifetime peak). Every worker uses the same ``torch.set_num_threads`` (``--threads``;
default torch's own choice) and, with ``--threads``, the same OpenMP/BLAS pool size: on a
shared machine use ``--threads 1``. The load average before each fit is stored in the JSON.

The table is printed and the same numbers, with machine information, are written as JSON to
``--out`` (default ``benchmarks/results/bench_surnames.json``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from _common import (
    MIB,
    RESULTS_DIR,
    MemoryProbe,
    add_harness_arguments,
    add_worker_arguments,
    below_one,
    best_of,
    busy_warning,
    choose,
    data_folder,
    finite,
    format_table,
    load_average,
    load_labelled_folder,
    machine_info,
    mean_std,
    ok,
    ratios,
    run_header,
    run_worker,
    seed_everything,
    split_sequences,
    thread_pools,
    time_call,
    worker_main,
    write_json,
)

SCRIPT = Path(__file__).resolve()
DEFAULT_OUT = RESULTS_DIR / "bench_surnames.json"

CONTENDERS = (
    "skseqattn-default",
    "skseqattn-explicit",
    "handwritten",
    "skorch",
    "tfidf-logreg",
    "tfidf-logreg-balanced",
)
SKSEQATTN_CONTENDERS = ("skseqattn-default", "skseqattn-explicit")
NEURAL_CONTENDERS = ("skseqattn-default", "skseqattn-explicit", "handwritten", "skorch")
SAME_ARCHITECTURE = ("skseqattn-explicit", "handwritten", "skorch")
ALIASES = {
    "all": CONTENDERS,
    "skseqattn": SKSEQATTN_CONTENDERS,
    "default": ("skseqattn-default",),
    "explicit": ("skseqattn-explicit",),
    "hand": ("handwritten",),
    "torch": ("handwritten",),
    "tfidf": ("tfidf-logreg", "tfidf-logreg-balanced"),
    "balanced": ("tfidf-logreg-balanced",),
}

FULL = {"epochs": 10, "hidden_size": 64, "embedding_dim": 64, "max_samples": None}
QUICK = {"epochs": 2, "hidden_size": 16, "embedding_dim": 16, "max_samples": 2000}
LOGREG_C = 10.0
LOGREG_MAX_ITER = 1000
PREDICT_REPEATS = 3


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "data_folder", nargs="?", default=None, help="folder of <Language>.txt files (= --data)"
    )
    add_harness_arguments(parser, out=DEFAULT_OUT, data="names", seed=None)
    parser.add_argument("--epochs", type=int, default=None, help="10 (full) or 2 (--quick)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--hidden-size", type=int, default=None, help="64 (full) or 16 (quick)")
    parser.add_argument("--embedding-dim", type=int, default=None, help="64 (full) or 16 (quick)")
    parser.add_argument(
        "--predict-batch-size",
        type=int,
        default=512,
        help="largest inference batch of the hand-written reference (skorch: --batch-size)",
    )
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--dropout", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=0, help="seed of the first split and model")
    parser.add_argument(
        "--splits", type=int, default=1, help="repeat over K stratified splits (seeds seed..)"
    )
    parser.add_argument(
        "--contenders",
        default="all",
        help="comma-separated names or aliases: "
        + ", ".join(CONTENDERS)
        + "; aliases: "
        + ", ".join(ALIASES),
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: 2 epochs, 2000 names")
    parser.add_argument(
        "--max-samples", type=int, default=None, help="stratified subsample before splitting"
    )
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument(
        "--default-params",
        type=json.loads,
        default=None,
        help="JSON parameters for skseqattn-default beside the defaults, e.g. "
        "'{\"conv_kernel\": 0}'",
    )
    add_worker_arguments(parser)  # --worker NAME: one contender in this (fresh) process
    args = parser.parse_args(argv)
    if args.worker is None:
        _check_args(parser, args)
    return args


def _check_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    problems = []
    if args.data_folder and args.data and Path(args.data_folder) != Path(args.data):
        problems.append("give the data folder once, either positionally or with --data")
    folder = data_folder(args.data_folder or args.data, "names")
    if not folder.is_dir():
        problems.append(
            f"data folder {str(folder)!r} not found; pass the folder of <Language>.txt files, "
            "e.g. python benchmarks/bench_surnames.py ../shared/data/names"
        )
    counts = ("epochs", "batch_size", "predict_batch_size", "hidden_size", "embedding_dim")
    problems += below_one(args, (*counts, "splits"))
    try:
        args.contender_list = choose(args.contenders, CONTENDERS, ALIASES)
    except ValueError as exc:
        problems.append(str(exc))
    if args.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            problems.append("--device cuda was asked for but torch sees no CUDA device")
    if problems:
        parser.error("; ".join(problems))
    args.data_folder = str(folder.resolve())


def resolve_config(args: argparse.Namespace) -> dict:
    """Settings every worker receives (the --quick defaults filled in)."""
    preset = QUICK if args.quick else FULL

    def pick(name: str):
        value = getattr(args, name)
        return preset[name] if value is None else value

    return {
        "data": args.data_folder,
        "quick": args.quick,
        "epochs": pick("epochs"),
        "batch_size": args.batch_size,
        "predict_batch_size": args.predict_batch_size,
        "hidden_size": pick("hidden_size"),
        "embedding_dim": pick("embedding_dim"),
        "attention_dim": 2 * pick("hidden_size"),
        "lr": args.lr,
        "dropout": args.dropout,
        "max_samples": pick("max_samples"),
        "threads": args.threads,
        "device": args.device,
        "seed": args.seed,
        "default_params": args.default_params,
    }


# --------------------------------------------------------------------------------------------
# Data, as every worker sees it
# --------------------------------------------------------------------------------------------
def load_split(cfg: dict, seed: int):
    sequences, labels, stats = load_labelled_folder(cfg["data"])
    languages = sorted(set(labels))
    code = {language: i for i, language in enumerate(languages)}
    y = [code[label] for label in labels]
    x_train, x_test, y_train, y_test = split_sequences(
        sequences, y, seed=seed, max_samples=cfg["max_samples"]
    )
    return x_train, x_test, y_train, y_test, languages, stats


# --------------------------------------------------------------------------------------------
# Contenders (built inside the worker)
# --------------------------------------------------------------------------------------------
class SkseqattnUnavailable(RuntimeError):
    """skseqattn (or the part of it this benchmark needs) does not import yet."""


def import_skseqattn():
    try:
        from skseqattn import BiLSTMAttentionClassifier, CharSequenceVectorizer
    except Exception as exc:  # ImportError, or a half-written module failing in any way
        raise SkseqattnUnavailable(
            f"could not import skseqattn's CharSequenceVectorizer and "
            f"BiLSTMAttentionClassifier ({type(exc).__name__}: {exc})"
        ) from exc
    return CharSequenceVectorizer, BiLSTMAttentionClassifier


def explicit_skseqattn_params(cfg: dict, seed: int) -> dict:
    """Keyword arguments that give skseqattn the reference architecture and training."""
    return {
        "embedding_dim": cfg["embedding_dim"],
        "hidden_size": cfg["hidden_size"],
        "num_layers": 1,
        "bidirectional": True,
        "cell": "lstm",
        "pooling": "attention",
        "attention": "additive",
        "attention_heads": 1,
        "dropout": cfg["dropout"],
        "max_epochs": cfg["epochs"],
        "batch_size": cfg["batch_size"],
        "lr": cfg["lr"],
        "optimizer": "adam",
        "weight_decay": 0.0,
        "clip_grad_norm": None,
        "class_weight": None,
        "logit_adjustment": 0.0,
        "ngram_order": 0,
        "conv_kernel": 0,
        "position_encoding": False,
        # the vectorizer's unknown id, as the hand-written loop reads it: no extra row
        "unknown_id": 1,
        "validation_fraction": None,
        "early_stopping": False,
        "device": cfg["device"],
        "random_state": seed,
        "verbose": 0,
    }


def build_contender(name: str, cfg: dict, seed: int):
    """Return (estimator, notes) for one contender."""
    notes: dict = {}
    if name in SKSEQATTN_CONTENDERS:
        from sklearn.pipeline import make_pipeline

        vectorizer_cls, classifier_cls = import_skseqattn()
        import skseqattn

        notes["skseqattn_file"] = getattr(skseqattn, "__file__", None)
        notes["skseqattn_version"] = getattr(skseqattn, "__version__", None)
        supported = set(classifier_cls().get_params())
        if name == "skseqattn-default":
            extra = cfg.get("default_params") or {}
            wanted = {"random_state": seed, "device": cfg["device"], **extra}
        else:
            wanted = explicit_skseqattn_params(cfg, seed)
        params = {k: v for k, v in wanted.items() if k in supported}
        unsupported = sorted(set(wanted) - supported)
        if unsupported:
            notes["params_not_supported"] = unsupported
        notes["classifier_params"] = params
        estimator = make_pipeline(vectorizer_cls(), classifier_cls(**params))
        return estimator, notes
    if name == "handwritten":
        from _handwritten import HandwrittenClassifier

        estimator = HandwrittenClassifier(
            embedding_dim=cfg["embedding_dim"],
            hidden_size=cfg["hidden_size"],
            attention_dim=cfg["attention_dim"],
            dropout=cfg["dropout"],
            max_epochs=cfg["epochs"],
            batch_size=cfg["batch_size"],
            predict_batch_size=cfg["predict_batch_size"],
            lr=cfg["lr"],
            device=cfg["device"],
            random_state=seed,
        )
        return estimator, notes
    if name == "skorch":
        from _handwritten import NaiveSkorchClassifier

        return NaiveSkorchClassifier(cfg, seed), notes
    if name.startswith("tfidf-logreg"):
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline

        class_weight = "balanced" if name.endswith("balanced") else None
        estimator = make_pipeline(
            TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 4), sublinear_tf=True),
            LogisticRegression(C=LOGREG_C, max_iter=LOGREG_MAX_ITER, class_weight=class_weight),
        )
        return estimator, notes
    raise ValueError(f"unknown contender {name!r}")


def describe_fitted(name: str, estimator, cfg: dict) -> dict:
    """Parameter count, epochs run and vocabulary size of a fitted contender."""
    out: dict = {"params": None, "epochs": None, "vocab_size": None}
    if name.startswith("tfidf-logreg"):
        logreg = estimator.steps[-1][1]
        out["params"] = int(logreg.coef_.size + logreg.intercept_.size)
        out["n_features"] = int(logreg.coef_.shape[1])
        out["n_iter"] = int(max(logreg.n_iter_))
        return out
    from _handwritten import count_parameters, find_torch_module

    module = find_torch_module(estimator)
    if module is not None:
        out["params"] = count_parameters(module)
    if name == "handwritten":
        out["epochs"] = estimator.n_epochs_
        out["vocab_size"] = module.embedding.num_embeddings
        out["epoch_losses"] = estimator.epoch_losses_
    elif name == "skorch":
        history = estimator.net_.history_
        out["epochs"] = len(history)
        out["vocab_size"] = estimator.vectorizer_.vocab_size_
        out["epoch_losses"] = [float(v) for v in history[:, "train_loss"]]
        out["epoch_seconds"] = [float(v) for v in history[:, "dur"]]
    else:
        vectorizer, classifier = estimator.steps[0][1], estimator.steps[-1][1]
        history = getattr(classifier, "history_", None)
        if history is not None:
            out["epochs"] = len(history)
        else:
            out["epochs"] = getattr(classifier, "n_epochs_", None)
        out["vocab_size"] = getattr(vectorizer, "vocab_size_", None)
    return out


# --------------------------------------------------------------------------------------------
# Worker: one contender, one split, in a fresh process
# --------------------------------------------------------------------------------------------
def measure(name: str, cfg: dict) -> dict:
    seed = cfg["seed"]
    cuda = cfg["device"] == "cuda"
    neural = name in NEURAL_CONTENDERS
    torch = None
    if neural:
        import torch

        if cfg["threads"]:
            torch.set_num_threads(cfg["threads"])
    seed_everything(seed)
    import gc

    import numpy as np
    from sklearn.metrics import accuracy_score, f1_score

    x_train, x_test, y_train, y_test, languages, _ = load_split(cfg, seed)
    estimator, notes = build_contender(name, cfg, seed)
    gc.collect()

    def fit():
        estimator.fit(x_train, y_train)
        if cuda:
            torch.cuda.synchronize()

    load_before_fit = load_average()
    probe = MemoryProbe()
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    probe.start()
    fit_seconds, fit_cpu_seconds, _ = time_call(fit)
    fit_peak = probe.peak()
    result: dict = {"name": name, **notes}
    if cuda:
        result["cuda_fit_peak_allocated_mb"] = torch.cuda.max_memory_allocated() / MIB
    predict_seconds, predict_cpu_seconds, proba = best_of(
        lambda: estimator.predict_proba(x_test), PREDICT_REPEATS
    )
    proba = np.asarray(proba, dtype=np.float64)
    y_pred = proba.argmax(axis=1)
    fitted = describe_fitted(name, estimator, cfg)
    epochs = fitted.get("epochs")
    train_chars = sum(map(len, x_train))
    result.update(
        {
            "seed": seed,
            "n_train": len(x_train),
            "n_test": len(x_test),
            "n_classes": len(languages),
            "train_chars": train_chars,
            "fit_seconds": fit_seconds,
            "fit_cpu_seconds": fit_cpu_seconds,
            "seconds_per_epoch": fit_seconds / epochs if epochs else None,
            "train_tokens_per_second": train_chars * epochs / fit_seconds if epochs else None,
            "predict_seconds_best": predict_seconds,
            "predict_cpu_seconds_best": predict_cpu_seconds,
            "predict_sequences_per_second": len(x_test) / predict_seconds,
            "rss_before_fit_mb": probe.rss_before / MIB,
            "fit_peak_rss_mb": fit_peak / MIB,
            "fit_increment_mb": (fit_peak - probe.rss_before) / MIB,
            "peak_rss_mb": probe.lifetime_peak() / MIB,
            "memory_method": probe.method,
            "accuracy": float(accuracy_score(y_test, y_pred)),
            "macro_f1": float(f1_score(y_test, y_pred, average="macro")),
            "proba_shape": list(proba.shape),
            "proba_row_sum_max_error": float(np.abs(proba.sum(axis=1) - 1.0).max()),
            "torch_threads": torch.get_num_threads() if neural else None,
            "thread_pools": thread_pools(),
            "load_average_before_fit": load_before_fit,
            **fitted,
        }
    )
    return result


# --------------------------------------------------------------------------------------------
# Parent: orchestrate, compare, report
# --------------------------------------------------------------------------------------------
RATIO_KEYS = {
    "train_time": "fit_seconds",
    "train_cpu_time": "fit_cpu_seconds",
    "seconds_per_epoch": "seconds_per_epoch",
    "predict_throughput": "predict_sequences_per_second",
    "peak_memory": "peak_rss_mb",
    "fit_memory_increment": "fit_increment_mb",
}


def compute_ratios(results: dict[str, dict]) -> dict:
    """Ratios between contenders on one split (> 1 means the first is slower / bigger)."""
    out = {}
    pairs = (
        ("skseqattn-explicit", "handwritten"),
        ("skseqattn-explicit", "skorch"),
        ("skorch", "handwritten"),
        ("skseqattn-default", "handwritten"),
    )
    for first, second in pairs:
        a, b = results.get(first), results.get(second)
        if ok(a) and ok(b):
            out[f"{first} vs {second}"] = ratios(a, b, RATIO_KEYS)
    return out


def skseqattn_skip_reason() -> str | None:
    try:
        import_skseqattn()
    except SkseqattnUnavailable as exc:
        return str(exc)
    return None


TABLE_COLUMNS = (
    ("name", "contender", "s"),
    ("params", "params", ",d"),
    ("epochs", "epochs", "d"),
    ("fit_seconds", "fit s", ".1f"),
    ("fit_cpu_seconds", "fit CPU s", ".1f"),
    ("seconds_per_epoch", "s/epoch", ".2f"),
    ("train_tokens_per_second", "train tok/s", ",.0f"),
    ("predict_sequences_per_second", "pred seq/s", ",.0f"),
    ("rss_before_fit_mb", "RSS pre-fit MB", ".0f"),
    ("fit_peak_rss_mb", "fit peak MB", ".0f"),
    ("fit_increment_mb", "fit +MB", ".0f"),
    ("peak_rss_mb", "peak MB", ".0f"),
    ("accuracy", "accuracy", ".3f"),
    ("macro_f1", "macro-F1", ".3f"),
    ("status", "status", "s"),
)

RATIO_LABELS = (
    ("train_time", "train time"),
    ("train_cpu_time", "train CPU time"),
    ("predict_throughput", "predict throughput"),
    ("peak_memory", "peak RSS"),
    ("fit_memory_increment", "fit RSS increment"),
)


def format_ratios(by_pair: dict) -> list[str]:
    lines = []
    for pair, values in by_pair.items():
        parts = [f"{label} x{values[key]:.2f}" for key, label in RATIO_LABELS if values.get(key)]
        lines.append(f"  {pair}: " + ", ".join(parts))
    return lines


def summarise(splits: list[dict], contenders: list[str]) -> dict:
    summary = {}
    for name in contenders:
        runs = [s["results"][name] for s in splits if ok(s["results"].get(name))]
        if not runs:
            continue
        entry = {"n_splits": len(runs)}
        for key in ("accuracy", "macro_f1", "fit_seconds", "predict_sequences_per_second"):
            entry[f"{key}_mean"], entry[f"{key}_std"] = mean_std(r[key] for r in runs)
        summary[name] = entry
    ratio_means: dict = {}
    for split in splits:
        for pair, values in split["ratios"].items():
            for key, value in values.items():
                if value is not None:
                    ratio_means.setdefault(pair, {}).setdefault(key, []).append(value)
    summary["ratios_mean"] = {
        pair: {key: statistics.fmean(v) for key, v in values.items()}
        for pair, values in ratio_means.items()
    }
    return summary


def parameter_check(results: dict[str, dict]) -> str | None:
    counts = {
        name: results[name].get("params") for name in SAME_ARCHITECTURE if ok(results.get(name))
    }
    if len(set(counts.values())) > 1:
        listing = ", ".join(f"{k} {v:,}" for k, v in counts.items() if v is not None)
        return f"WARNING: the same-architecture contenders differ in parameter count: {listing}"
    return None


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker is not None:
        cfg = json.loads(args.worker_config)
        return worker_main(
            lambda: measure(args.worker, cfg),
            args.worker_out,
            name=args.worker,
            skip=(SkseqattnUnavailable,),
        )

    cfg = resolve_config(args)
    contenders = args.contender_list
    started = time.time()
    load_at_start = load_average()
    _, _, data_stats = load_labelled_folder(cfg["data"])
    print(
        f"data: {data_stats['folder']}: {data_stats['n_sequences']:,} unique (name, language) "
        f"pairs in {data_stats['n_labels']} languages ({data_stats['n_junk_dropped']} junk, "
        f"{data_stats['n_duplicates_dropped']:,} duplicate lines dropped)"
    )
    print(
        f"config: epochs={cfg['epochs']} batch_size={cfg['batch_size']} "
        f"predict_batch_size={cfg['predict_batch_size']} "
        f"embedding_dim={cfg['embedding_dim']} hidden_size={cfg['hidden_size']} "
        f"attention_dim={cfg['attention_dim']} lr={cfg['lr']} dropout={cfg['dropout']} "
        f"max_samples={cfg['max_samples']} device={cfg['device']} threads={cfg['threads']}; "
        f"load average {load_average()}",
        flush=True,
    )

    busy = busy_warning(args.threads)
    if busy:
        print(busy)

    skip_reason = None
    if any(name in SKSEQATTN_CONTENDERS for name in contenders):
        skip_reason = skseqattn_skip_reason()
        if skip_reason:
            print(f"skipping skseqattn-default and skseqattn-explicit: {skip_reason}")

    splits = []
    for split_index in range(args.splits):
        seed = args.seed + split_index
        worker_cfg = {**cfg, "seed": seed}
        results: dict[str, dict] = {}
        for name in contenders:
            if name in SKSEQATTN_CONTENDERS and skip_reason:
                results[name] = {"name": name, "status": "skipped", "reason": skip_reason}
                continue
            print(f"[split seed {seed}] {name} ...", end=" ", flush=True)
            result = run_worker(
                SCRIPT,
                ["--worker", name, "--worker-config", json.dumps(worker_cfg)],
                threads=cfg["threads"],
            )
            result.setdefault("name", name)
            results[name] = result
            if ok(result):
                print(
                    f"fit {result['fit_seconds']:.1f} s, accuracy {result['accuracy']:.3f}, "
                    f"macro-F1 {result['macro_f1']:.3f}",
                    flush=True,
                )
            else:
                print(f"{result['status']}: {result.get('reason')}", flush=True)
        splits.append({"seed": seed, "results": results, "ratios": compute_ratios(results)})

    # ---- report
    for split in splits:
        rows = [
            r if ok(r) else {"name": r["name"], "status": r.get("status")}
            for r in split["results"].values()
        ]
        ok_runs = [r for r in split["results"].values() if ok(r)]
        heading = f"\nsplit seed {split['seed']}"
        if ok_runs:
            first = ok_runs[0]
            threads = next((r["torch_threads"] for r in ok_runs if r["torch_threads"]), None)
            heading += (
                f": {first['n_train']:,} train / {first['n_test']:,} test names, "
                f"{first['train_chars']:,} training characters, torch threads {threads or '-'}"
            )
        print(heading)
        print(format_table(rows, TABLE_COLUMNS))
        for name, result in split["results"].items():
            if not ok(result):
                print(f"  {name}: {result['status']}: {result.get('reason')}")
        warning = parameter_check(split["results"])
        if warning:
            print("  " + warning)
        if split["ratios"]:
            print("ratios (first / second):")
            print("\n".join(format_ratios(split["ratios"])))

    summary = summarise(splits, contenders)
    if args.splits > 1:
        print(f"\nmean over {args.splits} splits")
        rows = [
            {"name": name, **values} for name, values in summary.items() if name != "ratios_mean"
        ]
        print(
            format_table(
                rows,
                (
                    ("name", "contender", "s"),
                    ("n_splits", "splits", "d"),
                    ("accuracy_mean", "accuracy", ".3f"),
                    ("accuracy_std", "+-", ".3f"),
                    ("macro_f1_mean", "macro-F1", ".3f"),
                    ("macro_f1_std", "+-", ".3f"),
                    ("fit_seconds_mean", "fit s", ".1f"),
                ),
            )
        )
        if summary["ratios_mean"]:
            print("mean ratios (first / second):")
            print("\n".join(format_ratios(summary["ratios_mean"])))

    payload = {
        **run_header("surnames", started),
        "config": cfg,
        "contenders": contenders,
        "architecture": {
            "embedding_dim": cfg["embedding_dim"],
            "hidden_size": cfg["hidden_size"],
            "num_layers": 1,
            "bidirectional": True,
            "cell": "lstm",
            "pooling": "additive attention, softmax masked to real steps",
            "attention_dim": cfg["attention_dim"],
            "dropout_before_head": cfg["dropout"],
            "criterion": "cross-entropy",
            "optimizer": "adam",
            "lr": cfg["lr"],
            "weight_decay": 0.0,
            "clip_grad_norm": None,
            "batch_size": cfg["batch_size"],
            "epochs": cfg["epochs"],
        },
        "tfidf": {
            "vectorizer": "TfidfVectorizer(analyzer='char_wb', ngram_range=(1, 4), "
            "sublinear_tf=True)",
            "logreg": f"LogisticRegression(C={LOGREG_C:g}, max_iter={LOGREG_MAX_ITER})",
        },
        "machine": {**machine_info(args.threads), "load_average_start": load_at_start},
        "data": data_stats,
        "skipped": {name: skip_reason for name in SKSEQATTN_CONTENDERS if skip_reason},
        "splits": splits,
        "summary": summary,
    }
    out = write_json(args.out, finite(payload))
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
