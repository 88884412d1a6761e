"""Benchmark: surname -> language with skseqattn, a hand-written loop, plain skorch and TF-IDF.

A user picks skseqattn over writing their own PyTorch loop only if it costs nothing in speed,
and over a TF-IDF baseline only if it is more accurate. This script shows both in one run, on
the 18-language surname collection (a folder of ``<Language>.txt`` files, one name per line).

Run from the repository root::

    python benchmarks/bench_surnames.py /work/shared/data/names        # full run (a few minutes)
    python benchmarks/bench_surnames.py --quick                        # smoke run (< 1 min)
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

Memory: each contender runs in its own fresh interpreter (this script re-invoked with a hidden
``--worker NAME`` flag), so no contender's allocations or allocator caches reach another's. The
worker records its RSS just before ``fit`` (after imports, data and split), then resets the
kernel's RSS high-water mark (``/proc/self/clear_refs``) so that ``VmHWM`` after ``fit`` is the
fit's own peak; the lifetime peak RSS of the worker is reported too. Without that Linux feature
the lifetime ``ru_maxrss`` is used and the JSON says so.

Threads: every worker uses the same ``torch.set_num_threads`` (``--threads``; default torch's
own choice, one per core) and, with ``--threads``, the same OpenMP/BLAS pool size. On a machine
shared with other work use ``--threads 1``: OpenMP threads that spin-wait for a core another
process holds can make a 2-thread run many times slower, and not equally for each contender.
The load average before each fit is stored in the JSON so a disturbed run can be recognised.

The table is printed and the same numbers, with machine information, are written as JSON to
``--out`` (default ``benchmarks/results/bench_surnames.json``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import statistics
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
    MIB,
    RESULTS_DIR,
    MemoryProbe,
    best_of,
    format_table,
    load_average,
    load_labelled_folder,
    machine_info,
    run_worker,
    split_sequences,
    thread_pools,
    time_call,
    write_json,
)

SCRIPT = Path(__file__).resolve()
DEFAULT_DATA = (REPO_ROOT / ".." / "shared" / "data" / "names").resolve()
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
        "data_folder",
        nargs="?",
        default=None,
        help=f"folder of <Language>.txt files (default: {DEFAULT_DATA})",
    )
    parser.add_argument("--data", default=None, help="same as the positional argument")
    parser.add_argument("--out", default=str(DEFAULT_OUT), help="JSON output path")
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
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch.set_num_threads and OpenMP/BLAS pool size in every worker",
    )
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument(
        "--default-params",
        type=json.loads,
        default=None,
        help="JSON parameters for skseqattn-default beside the defaults, e.g. "
        "'{\"conv_kernel\": 0}'",
    )
    # Hidden: one contender in this (fresh) process.
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--worker-config", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--worker-out", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker is None:
        _check_args(parser, args)
    return args


def _check_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    problems = []
    if args.data_folder and args.data and Path(args.data_folder) != Path(args.data):
        problems.append("give the data folder once, either positionally or with --data")
    folder = Path(args.data_folder or args.data or DEFAULT_DATA)
    if not folder.is_dir():
        problems.append(
            f"data folder {str(folder)!r} not found; pass the folder of <Language>.txt files, "
            "e.g. python benchmarks/bench_surnames.py /work/shared/data/names"
        )
    for name in (
        "epochs",
        "batch_size",
        "predict_batch_size",
        "hidden_size",
        "embedding_dim",
        "splits",
    ):
        value = getattr(args, name)
        if value is not None and value < 1:
            problems.append(f"--{name.replace('_', '-')} must be >= 1, got {value}")
    try:
        args.contender_list = resolve_contenders(args.contenders)
    except ValueError as exc:
        problems.append(str(exc))
    if args.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            problems.append("--device cuda was asked for but torch sees no CUDA device")
    if problems:
        parser.error("; ".join(problems))
    args.data_folder = str(folder.resolve())


def resolve_contenders(spec: str) -> list[str]:
    """Expand a comma-separated list of names and aliases, keeping the canonical order."""
    wanted: set[str] = set()
    unknown = []
    for token in (t.strip() for t in spec.split(",")):
        if not token:
            continue
        if token in CONTENDERS:
            wanted.add(token)
        elif token in ALIASES:
            wanted.update(ALIASES[token])
        else:
            unknown.append(token)
    if unknown:
        raise ValueError(
            f"unknown contender(s) {', '.join(map(repr, unknown))}; choose from "
            f"{', '.join(CONTENDERS)} or the aliases {', '.join(ALIASES)}"
        )
    if not wanted:
        raise ValueError("--contenders selected nothing; try --contenders all")
    return [name for name in CONTENDERS if name in wanted]


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


class FixedWidthIds:
    """What a typical skorch user writes: ids padded to the longest name of the data given."""

    def fit(self, sequences):
        from _handwritten import FIRST_CHAR_ID, build_vocabulary

        self.vocabulary_ = build_vocabulary(sequences)
        self.vocab_size_ = len(self.vocabulary_) + FIRST_CHAR_ID
        return self

    def transform(self, sequences):
        from _handwritten import encode_padded

        ids, _ = encode_padded(sequences, self.vocabulary_)
        return ids


class NaiveSkorchClassifier:
    """The reference module through a plain ``skorch.NeuralNetClassifier``.

    Fixed-width int64 ids and int labels, skorch's default DataLoader with shuffling, no
    validation split, logits + ``nn.CrossEntropyLoss`` (skorch then applies a softmax in
    ``predict_proba``).
    """

    def __init__(self, cfg: dict, seed: int) -> None:
        self.cfg = cfg
        self.seed = seed

    def fit(self, sequences, y):
        import numpy as np
        import torch
        from _handwritten import AdditiveAttentionBiLSTM
        from skorch import NeuralNetClassifier
        from torch import nn

        cfg = self.cfg
        torch.manual_seed(self.seed)
        self.vectorizer_ = FixedWidthIds().fit(sequences)
        ids = self.vectorizer_.transform(sequences)
        y = np.asarray(y, dtype=np.int64)
        self.net_ = NeuralNetClassifier(
            AdditiveAttentionBiLSTM,
            module__vocab_size=self.vectorizer_.vocab_size_,
            module__n_classes=int(y.max()) + 1,
            module__embedding_dim=cfg["embedding_dim"],
            module__hidden_size=cfg["hidden_size"],
            module__attention_dim=cfg["attention_dim"],
            module__dropout=cfg["dropout"],
            criterion=nn.CrossEntropyLoss,
            optimizer=torch.optim.Adam,
            lr=cfg["lr"],
            max_epochs=cfg["epochs"],
            batch_size=cfg["batch_size"],
            iterator_train__shuffle=True,
            train_split=None,
            device=cfg["device"],
            verbose=0,
        )
        self.net_.fit(ids, y)
        return self

    def predict_proba(self, sequences):
        return self.net_.predict_proba(self.vectorizer_.transform(sequences))


def find_torch_module(estimator):
    """The fitted ``nn.Module`` inside an estimator, pipeline or skorch net, or None."""
    from torch import nn

    if hasattr(estimator, "steps"):
        estimator = estimator.steps[-1][1]
    candidates = [estimator]
    for attr in ("module_", "net_", "model_", "estimator_"):
        candidates.append(getattr(estimator, attr, None))
    candidates.extend(vars(estimator).values())
    for obj in candidates:
        if isinstance(obj, nn.Module):
            return obj
        inner = getattr(obj, "module_", None)
        if isinstance(inner, nn.Module):
            return inner
    return None


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
    from _handwritten import count_parameters

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
    random.seed(seed)
    cuda = cfg["device"] == "cuda"
    neural = name in NEURAL_CONTENDERS
    if neural:
        import torch

        if cfg["threads"]:
            torch.set_num_threads(cfg["threads"])
        torch.manual_seed(seed)
    else:
        torch = None
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


def worker_main(args: argparse.Namespace) -> int:
    cfg = json.loads(args.worker_config)
    result: dict = {"name": args.worker, "status": "failed"}
    try:
        result.update(measure(args.worker, cfg))
        result["status"] = "ok"
    except SkseqattnUnavailable as exc:
        result.update(status="skipped", reason=str(exc))
    except Exception as exc:  # report, don't crash the whole benchmark
        result["reason"] = f"{type(exc).__name__}: {exc}"
        result["traceback"] = traceback.format_exc()
    write_json(args.worker_out, result)
    return 0


# --------------------------------------------------------------------------------------------
# Parent: orchestrate, compare, report
# --------------------------------------------------------------------------------------------
def _ok(result: dict | None) -> bool:
    return bool(result) and result.get("status") == "ok"


def _ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return a / b


def compute_ratios(results: dict[str, dict]) -> dict:
    """Ratios between contenders on one split (> 1 means the first is slower / bigger)."""
    ratios = {}
    pairs = (
        ("skseqattn-explicit", "handwritten"),
        ("skseqattn-explicit", "skorch"),
        ("skorch", "handwritten"),
        ("skseqattn-default", "handwritten"),
    )
    for first, second in pairs:
        a, b = results.get(first), results.get(second)
        if not (_ok(a) and _ok(b)):
            continue
        ratios[f"{first} vs {second}"] = {
            "train_time": _ratio(a["fit_seconds"], b["fit_seconds"]),
            "train_cpu_time": _ratio(a["fit_cpu_seconds"], b["fit_cpu_seconds"]),
            "seconds_per_epoch": _ratio(a["seconds_per_epoch"], b["seconds_per_epoch"]),
            "predict_throughput": _ratio(
                a["predict_sequences_per_second"], b["predict_sequences_per_second"]
            ),
            "peak_memory": _ratio(a["peak_rss_mb"], b["peak_rss_mb"]),
            "fit_memory_increment": _ratio(a["fit_increment_mb"], b["fit_increment_mb"]),
        }
    return ratios


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


def format_ratios(ratios: dict) -> list[str]:
    lines = []
    for pair, values in ratios.items():
        parts = [f"{label} x{values[key]:.2f}" for key, label in RATIO_LABELS if values.get(key)]
        lines.append(f"  {pair}: " + ", ".join(parts))
    return lines


def summarise(splits: list[dict], contenders: list[str]) -> dict:
    summary = {}
    for name in contenders:
        runs = [s["results"][name] for s in splits if _ok(s["results"].get(name))]
        if not runs:
            continue
        entry = {"n_splits": len(runs)}
        for key in ("accuracy", "macro_f1", "fit_seconds", "predict_sequences_per_second"):
            values = [r[key] for r in runs]
            entry[f"{key}_mean"] = statistics.fmean(values)
            entry[f"{key}_std"] = statistics.stdev(values) if len(values) > 1 else 0.0
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
        name: results[name].get("params") for name in SAME_ARCHITECTURE if _ok(results.get(name))
    }
    if len(set(counts.values())) > 1:
        listing = ", ".join(f"{k} {v:,}" for k, v in counts.items() if v is not None)
        return f"WARNING: the same-architecture contenders differ in parameter count: {listing}"
    return None


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


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker is not None:
        return worker_main(args)

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
            if _ok(result):
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
            r if _ok(r) else {"name": r["name"], "status": r.get("status")}
            for r in split["results"].values()
        ]
        ok_runs = [r for r in split["results"].values() if _ok(r)]
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
            if not _ok(result):
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
        "benchmark": "surnames",
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "wall_seconds": time.time() - started,
        "command": [Path(sys.executable).name, *sys.argv],
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
    out = write_json(args.out, _finite(payload))
    print(f"\nwrote {out}")
    return 0


def _finite(obj):
    """Replace NaN/inf (not valid JSON) with None, recursively."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    return obj


if __name__ == "__main__":
    sys.exit(main())
