"""Benchmark: the library's defaults against TF-IDF + logistic regression on real texts.

Texts, names and domains (real data, from ``../shared/data``): the pipeline
``make_pipeline(CharSequenceVectorizer(), BiLSTMAttentionClassifier())`` with its defaults
(only ``random_state`` is set) against ``TfidfVectorizer(sublinear_tf=True)`` +
``LogisticRegression(C=10)`` with word 1-2-grams and with char_wb 1-4-grams; the better of
the two TF-IDF models (by mean accuracy) is the baseline each margin is measured against.

Sets (each skipped with a message when its folder is absent):

``trec``
    TREC question classification, 6 coarse classes, the given 5,452 / 500 split
    (``train_5500.label`` / ``TREC_10.label``, read as latin-1: one line is not UTF-8).
``movie_reviews``
    Sentence polarity v1.0 (``rt-polarity.pos`` / ``.neg``, latin-1), stratified 80/20.
``names``
    Surnames, 18 languages: ``load_labelled_folder`` (junk lines dropped, (name, language)
    pairs deduplicated), stratified 80/20, as ``bench_surnames.py`` splits them.
``first_names_de``
    German first names by gender (``dict.csv``, ``name;gender``): names that occur only as
    ``M`` or only as ``F``, one row each, stratified 80/20.
``dga_families``
    Domain names, 9 classes (``alexa.txt`` and eight malware families; ``opendns_top.txt``
    is not used), (domain, label) pairs deduplicated, stratified 80/20.

With ``--seeds K`` each set runs with seeds 0..K-1 (``--seed`` first): the seed is the split's
``random_state`` (trec's split is fixed) and the model's. Fit seconds are wall clock from raw
strings (vectorising included); predict rows/s is ``predict`` on the test strings. Run with
``SKSEQATTN_NUM_THREADS=1`` on a shared machine::

    SKSEQATTN_NUM_THREADS=1 python benchmarks/bench_texts.py
    SKSEQATTN_NUM_THREADS=1 python benchmarks/bench_texts.py --seeds 3 --sets trec,names

``--classifier-params`` / ``--vectorizer-params`` (JSON) change the defaults, for
experiments; the JSON records them. ``--token-pattern REGEX`` gives the vectorizer
``analyzer=RegexTokens(REGEX)`` (``re.findall`` of the pattern on each string), for
comparing tokenizations of sentences with the default whitespace split; the names and
domains are then split by it too, so use it with ``--sets trec,movie_reviews``.
The table is printed and written with every run's figures and machine information to
``--out`` (default ``benchmarks/results/bench_texts.json``).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import statistics
import sys
import time
from pathlib import Path

# the harness; importing it puts this checkout first on sys.path
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    DATA_ROOT,
    RESULTS_DIR,
    format_table,
    load_labelled_folder,
    machine_info,
    split_sequences,
    write_json,
)

DEFAULT_DATA = DATA_ROOT
DEFAULT_OUT = RESULTS_DIR / "bench_texts.json"
SETS = ("trec", "movie_reviews", "names", "first_names_de", "dga_families")
MODELS = ("skseqattn", "tfidf-word", "tfidf-char")
TFIDF = {
    "tfidf-word": {"analyzer": "word", "ngram_range": (1, 2)},
    "tfidf-char": {"analyzer": "char_wb", "ngram_range": (1, 4)},
}
LOGREG_C = 10.0
DGA_FAMILIES = (
    "alexa",
    "conficker",
    "cryptolocker",
    "matsnu",
    "pushdo",
    "ramdo",
    "rovnix",
    "tinba",
    "zeus",
)


# --------------------------------------------------------------------------------------------
# Loaders: each returns (x_train, x_test, y_train, y_test) of str lists for one seed
# --------------------------------------------------------------------------------------------
def _lines(path: Path, encoding: str = "utf-8") -> list[str]:
    """Stripped non-empty lines of a file (with or without a final newline)."""
    text = path.read_text(encoding=encoding)
    return [line.strip() for line in text.split("\n") if line.strip()]


def _split(sequences, labels, seed):
    classes = sorted(set(labels))
    code = {label: i for i, label in enumerate(classes)}
    x_train, x_test, y_train, y_test = split_sequences(
        sequences, [code[label] for label in labels], seed=seed
    )
    return x_train, x_test, [classes[i] for i in y_train], [classes[i] for i in y_test]


def _dedup(pairs):
    """(text, label) pairs without repeats, first occurrence kept."""
    return list(dict.fromkeys(pairs))


def read_trec_file(path: Path) -> tuple[list[str], list[str]]:
    """Questions and coarse labels of one TREC file (``COARSE:fine question``)."""
    texts, labels = [], []
    for line in _lines(path, encoding="latin-1"):
        tag, _, question = line.partition(" ")
        coarse, colon, _ = tag.partition(":")
        if not colon or not question.strip():
            raise ValueError(
                f"bench_texts: {path} holds a line that is not 'COARSE:fine question': "
                f"{line[:60]!r}"
            )
        texts.append(question.strip())
        labels.append(coarse)
    return texts, labels


def load_trec(folder: Path, seed: int):
    x_train, y_train = read_trec_file(folder / "train_5500.label")
    x_test, y_test = read_trec_file(folder / "TREC_10.label")
    return x_train, x_test, y_train, y_test


def load_movie_reviews(folder: Path, seed: int):
    pos = _lines(folder / "rt-polarity.pos", encoding="latin-1")
    neg = _lines(folder / "rt-polarity.neg", encoding="latin-1")
    return _split(pos + neg, ["pos"] * len(pos) + ["neg"] * len(neg), seed)


def load_names(folder: Path, seed: int):
    sequences, labels, _ = load_labelled_folder(folder)
    return _split(sequences, labels, seed)


def read_first_names(path: Path) -> tuple[list[str], list[str]]:
    """Names that occur only as ``M`` or only as ``F`` in a ``name;gender`` file, one each."""
    genders: dict[str, set[str]] = collections.defaultdict(set)
    for number, line in enumerate(_lines(path)):
        name, sep, gender = line.rpartition(";")
        if number == 0 and line.lower() == "name;gender":
            continue
        if not sep or not name.strip():
            raise ValueError(
                f"bench_texts: {path} holds a line that is not 'name;gender': {line!r}"
            )
        genders[name.strip()].add(gender.strip())
    names = [name for name, found in genders.items() if found in ({"M"}, {"F"})]
    return names, [next(iter(genders[name])) for name in names]


def load_first_names_de(folder: Path, seed: int):
    return _split(*read_first_names(folder / "dict.csv"), seed)


def read_dga(folder: Path) -> tuple[list[str], list[str]]:
    """Domains of the nine classes, (domain, label) pairs deduplicated."""
    pairs = []
    for family in DGA_FAMILIES:
        pairs.extend((domain, family) for domain in _lines(folder / f"{family}.txt"))
    pairs = _dedup(pairs)
    return [d for d, _ in pairs], [f for _, f in pairs]


def load_dga_families(folder: Path, seed: int):
    return _split(*read_dga(folder), seed)


LOADERS = {
    "trec": (load_trec, "trec", ("train_5500.label", "TREC_10.label")),
    "movie_reviews": (load_movie_reviews, "movie_reviews", ("rt-polarity.pos", "rt-polarity.neg")),
    "names": (load_names, "names", ()),
    "first_names_de": (load_first_names_de, "first_names_de", ("dict.csv",)),
    "dga_families": (load_dga_families, "dga_families", tuple(f"{f}.txt" for f in DGA_FAMILIES)),
}


def missing_reason(data: Path, name: str) -> str | None:
    """Why set ``name`` cannot run from ``data`` (None when it can)."""
    _, sub, files = LOADERS[name]
    folder = data / sub
    if not folder.is_dir():
        return f"folder {str(folder)!r} not found"
    absent = [f for f in files if not (folder / f).is_file()]
    if absent:
        return f"{', '.join(absent)} missing in {str(folder)!r}"
    if name == "names" and not any(folder.glob("*.txt")):
        return f"no <Label>.txt files in {str(folder)!r}"
    return None


def load_set(data: Path, name: str, seed: int):
    loader, sub, _ = LOADERS[name]
    return loader(data / sub, seed)


# --------------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------------
class RegexTokens:
    """A picklable analyzer: the tokens are ``re.findall(pattern, text)``."""

    def __init__(self, pattern: str):
        self.pattern = pattern
        self._compiled = re.compile(pattern)

    def __call__(self, text: str) -> list[str]:
        return self._compiled.findall(text)

    def __repr__(self):
        return f"RegexTokens({self.pattern!r})"


def make_model(name: str, seed: int, classifier_params: dict, vectorizer_params: dict):
    from sklearn.pipeline import make_pipeline

    if name == "skseqattn":
        from skseqattn import BiLSTMAttentionClassifier, CharSequenceVectorizer

        return make_pipeline(
            CharSequenceVectorizer(**vectorizer_params),
            BiLSTMAttentionClassifier(random_state=seed, **classifier_params),
        )
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    return make_pipeline(
        TfidfVectorizer(sublinear_tf=True, **TFIDF[name]),
        LogisticRegression(C=LOGREG_C, max_iter=2000),
    )


def run_one(name, x_train, x_test, y_train, y_test, seed, classifier_params, vectorizer_params):
    import numpy as np
    from sklearn.metrics import accuracy_score, f1_score

    model = make_model(name, seed, classifier_params, vectorizer_params)
    start = time.perf_counter()
    model.fit(x_train, y_train)
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    predicted = model.predict(x_test)
    predict_s = time.perf_counter() - start
    y_test = np.asarray(y_test)
    record = {
        "model": name,
        "seed": seed,
        "accuracy": float(accuracy_score(y_test, predicted)),
        "macro_f1": float(f1_score(y_test, predicted, average="macro")),
        "fit_s": fit_s,
        "predict_rows_per_s": len(x_test) / max(predict_s, 1e-9),
    }
    if name == "skseqattn":
        vectorizer, classifier = model[0], model[-1]
        record["analyzer"] = str(getattr(vectorizer, "analyzer_", vectorizer.analyzer))
        record["epochs"] = int(classifier.n_epochs_)
        record["ngram_blend"] = classifier.history_[-1].get("ngram_blend")
        record["ngram_buckets"] = int(getattr(classifier, "ngram_buckets_", 0))
    return record


# --------------------------------------------------------------------------------------------
# Summary
# --------------------------------------------------------------------------------------------
def _spread(values):
    return statistics.stdev(values) if len(values) > 1 else 0.0


def summarise(records: list[dict]) -> list[dict]:
    """One row per (set, model): means and spreads over seeds, margin vs the better TF-IDF.

    The baseline of a set is the TF-IDF model with the higher mean accuracy; every model's
    ``vs_baseline`` is its mean accuracy minus the baseline's.
    """
    groups: dict[tuple[str, str], list[dict]] = {}
    for r in records:
        groups.setdefault((r["set"], r["model"]), []).append(r)
    rows = []
    for (set_name, model), runs in groups.items():
        acc = [r["accuracy"] for r in runs]
        f1 = [r["macro_f1"] for r in runs]
        row = {
            "set": set_name,
            "model": model,
            "n_seeds": len(runs),
            "accuracy": statistics.fmean(acc),
            "accuracy_spread": _spread(acc),
            "macro_f1": statistics.fmean(f1),
            "macro_f1_spread": _spread(f1),
            "fit_s": statistics.fmean(r["fit_s"] for r in runs),
            "fit_s_max": max(r["fit_s"] for r in runs),
            "predict_rows_per_s": statistics.fmean(r["predict_rows_per_s"] for r in runs),
        }
        if "analyzer" in runs[0]:
            row["analyzer"] = runs[0]["analyzer"]
        blends = [r["ngram_blend"]["weight"] for r in runs if r.get("ngram_blend")]
        if "ngram_blend" in runs[0]:
            row["blend"] = "/".join(f"{b:.2f}" for b in blends) if blends else "-"
        rows.append(row)
    for set_name in dict.fromkeys(r["set"] for r in rows):
        tfidf = [r for r in rows if r["set"] == set_name and r["model"] in TFIDF]
        if not tfidf:
            continue
        best = max(tfidf, key=lambda r: r["accuracy"])
        for r in rows:
            if r["set"] == set_name:
                r["baseline"] = best["model"]
                r["vs_baseline"] = r["accuracy"] - best["accuracy"]
    return rows


TABLE_COLUMNS = (
    ("set", "set", "s"),
    ("model", "model", "s"),
    ("n_seeds", "seeds", "d"),
    ("accuracy", "accuracy", ".3f"),
    ("accuracy_spread", "+-", ".3f"),
    ("macro_f1", "macro-F1", ".3f"),
    ("macro_f1_spread", "+-", ".3f"),
    ("fit_s", "fit s", ".1f"),
    ("fit_s_max", "max fit s", ".1f"),
    ("predict_rows_per_s", "predict rows/s", ",.0f"),
    ("vs_baseline", "vs TF-IDF", "+.3f"),
    ("analyzer", "analyzer", "s"),
    ("blend", "blend weights", "s"),
)


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------
def _names(spec: str, allowed: tuple[str, ...], what: str) -> list[str]:
    wanted = [s.strip() for s in spec.split(",") if s.strip()]
    unknown = [s for s in wanted if s not in allowed]
    if unknown or not wanted:
        raise SystemExit(
            f"bench_texts: unknown {what} {', '.join(map(repr, unknown)) or '(none given)'}; "
            f"choose from {', '.join(allowed)}"
        )
    return [s for s in allowed if s in wanted]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA), help="folder of the data sets")
    parser.add_argument("--sets", default=",".join(SETS), help="comma-separated set names")
    parser.add_argument("--models", default=",".join(MODELS), help="comma-separated models")
    parser.add_argument("--seeds", type=int, default=1, help="number of seeds (splits)")
    parser.add_argument("--seed", type=int, default=0, help="first seed")
    parser.add_argument("--classifier-params", type=json.loads, default={})
    parser.add_argument("--vectorizer-params", type=json.loads, default={})
    parser.add_argument(
        "--token-pattern",
        default=None,
        help="split strings into the re.findall matches of this regex instead of the defaults",
    )
    parser.add_argument("--out", default=str(DEFAULT_OUT), help="JSON output path")
    args = parser.parse_args(argv)
    args.analyzer = None
    if args.token_pattern is not None:
        try:
            args.analyzer = RegexTokens(args.token_pattern)
        except re.error as exc:
            parser.error(f"--token-pattern is not a valid regular expression: {exc}")
    args.set_list = _names(args.sets, SETS, "set(s)")
    args.model_list = _names(args.models, MODELS, "model(s)")
    if args.seeds < 1:
        parser.error(f"--seeds must be >= 1, got {args.seeds}")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    data = Path(args.data).resolve()
    threads = os.environ.get("SKSEQATTN_NUM_THREADS")
    started = time.time()
    records, skipped = [], {}
    vectorizer_params = dict(args.vectorizer_params)
    if args.analyzer is not None:
        vectorizer_params["analyzer"] = args.analyzer
    for set_name in args.set_list:
        reason = missing_reason(data, set_name)
        if reason:
            print(f"skipping {set_name}: {reason}", flush=True)
            skipped[set_name] = reason
            continue
        for seed in range(args.seed, args.seed + args.seeds):
            x_train, x_test, y_train, y_test = load_set(data, set_name, seed)
            for model in args.model_list:
                record = run_one(
                    model,
                    x_train,
                    x_test,
                    y_train,
                    y_test,
                    seed,
                    args.classifier_params,
                    vectorizer_params,
                )
                record.update(set=set_name, n_train=len(x_train), n_test=len(x_test))
                records.append(record)
                extra = f", {record['analyzer']}" if "analyzer" in record else ""
                print(
                    f"{set_name} seed {seed} {model}: accuracy {record['accuracy']:.3f}, "
                    f"macro-F1 {record['macro_f1']:.3f}, fit {record['fit_s']:.1f} s{extra}",
                    flush=True,
                )
    rows = summarise(records)
    if rows:
        print()
        print(format_table(rows, TABLE_COLUMNS))
    payload = {
        "benchmark": "texts",
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "wall_seconds": time.time() - started,
        "command": [Path(sys.executable).name, *(sys.argv if argv is None else argv)],
        "data": str(data),
        "classifier_params": args.classifier_params,
        "vectorizer_params": args.vectorizer_params,
        "token_pattern": args.token_pattern,
        "tfidf": {
            name: f"TfidfVectorizer(sublinear_tf=True, {spec}) + LogisticRegression(C={LOGREG_C:g})"
            for name, spec in TFIDF.items()
        },
        "skseqattn_num_threads": threads,
        "machine": machine_info(int(threads) if threads else None),
        "skipped": skipped,
        "records": records,
        "summary": rows,
    }
    out = write_json(args.out, payload)
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
