"""Accuracy beyond names: positional DNA, domain names and sensor series against baselines.

Three synthetic tasks of the shapes in issue 17, generated with :mod:`skseqattn.datasets`:

- ``dna``: 3,200 windows of 60 letters (the size of the classic splice-junction set), 3
  classes in the proportions of splice data (half the windows without a junction, a quarter
  donor-like, a quarter acceptor-like), the class motif planted near the centre (start 24,
  moved by up to 3 letters either way, as splice signals sit at varying distances from the
  junction) and two decoy copies of either motif at random positions in every window
  (``make_dna_windows`` with ``motif_start``, ``motif_jitter``, ``n_decoys``, ``weights``):
  only a model that knows roughly *where* a motif sits can separate the classes, and one that
  reads each position on its own must learn every shift.
- ``domains``: benign vs machine-generated domain names (``make_domain_names``).
- ``series``: ragged 12-dimensional series, 4 classes, each holding its class's local template
  at a random position in unit noise (``make_variable_length_series(signal='local_pattern')``).

Each task is split 75/25 (stratified, per seed) and scored by accuracy and macro-F1 on the
test part, with the fit time, for

- ``BiLSTMAttentionClassifier`` with its defaults (``--max-epochs`` aside; extra parameters
  through ``--params '{"name": value}'``),
- TF-IDF char 1-4-grams + ``LogisticRegression`` (string tasks),
- ``HistGradientBoostingClassifier`` and ``LogisticRegression`` on one-hot positions
  (fixed-length tasks: ``dna``),
- for series: MiniRocket (``aeon``, a benchmark-only dependency, series zero-padded at the end
  to the longest; skipped with a note when aeon does not import) and
  ``HistGradientBoostingClassifier`` on per-feature summary statistics (mean, std, min, max,
  argmax/length, first-difference std) with the length.

For ``dna`` and ``domains`` the table also shows ``oracle``, not a baseline but a reference
for how much a learner can still gain. For ``dna`` it is the classifier that knows the
generator (the motifs, their conservation, the background, the shifts and the class
proportions) and ignores the decoys. For ``domains`` it is the generator's Bayes rule on
its word-based names (``domain_word_bound``), with the other names counted as right: an
upper bound.

It prints the mean over ``--seeds`` seeds and writes JSON to benchmarks/results/. Timings are
wall-clock on whatever machine runs it (here a shared 2-core CPU): compare within one run.

Usage: ``PYTHONPATH=. python benchmarks/bench_accuracy.py [--quick] [--seeds 3]``
(aeon: ``PYTHONPATH=.:/path/to/aeon/site`` if installed aside).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS_DIR, format_table, machine_info, write_json  # noqa: E402

# Donor-like (exon|intron, "CAG|GTAAGT") and acceptor-like (pyrimidine tract + "AG|G") motifs.
DNA_MOTIFS = ("CAGGTAAGT", "TTTCCCTTTCAGG")
DNA_LENGTH = 60
DNA_START = 24
DNA_JITTER = 3
DNA_CONSERVATION = 0.8
DNA_GC = 0.41  # make_dna_windows' default, the human genome's share
DNA_WEIGHTS = (2, 1, 1)  # half the windows hold no junction, as in splice-junction data
SIZES = {"full": {"dna": 3200, "domains": 10000, "series": 600}}
SIZES["quick"] = {"dna": 900, "domains": 2000, "series": 240}


def make_task(name, n, seed):
    from skseqattn.datasets import make_dna_windows, make_domain_names, make_variable_length_series

    if name == "dna":
        return make_dna_windows(
            n,
            length=DNA_LENGTH,
            motif=DNA_MOTIFS,
            motif_start=DNA_START,
            n_decoys=2,
            conservation=DNA_CONSERVATION,
            gc_content=DNA_GC,
            motif_jitter=DNA_JITTER,
            weights=DNA_WEIGHTS,
            random_state=seed,
        )
    if name == "domains":
        return make_domain_names(n, random_state=seed)
    if name == "series":
        return make_variable_length_series(
            n,
            n_features=12,
            min_len=15,
            max_len=30,
            signal="local_pattern",
            n_classes=4,
            pattern_len=8,
            pattern_scale=1.0,
            random_state=seed,
        )
    raise ValueError(name)


def one_hot_positions(X):
    codes = np.array([[ord(c) for c in x] for x in X])
    letters = np.unique(codes)
    return (codes[:, :, None] == letters[None, None, :]).reshape(len(X), -1).astype(np.float32)


class DnaOracle:
    """The Bayes rule of the dna task's generator, decoys aside (a reference, not a learner).

    Class k > 0 holds motif k at a start drawn uniformly around ``DNA_START``; its likelihood
    ratio against background is the mean over those starts of the motif's position-weight
    ratio. ``fit`` learns nothing: it knows the generator.
    """

    def fit(self, X, y):
        return self

    def predict(self, X):
        letters = "ACGT"
        codes = np.array([[letters.index(c) for c in x] for x in X])
        background = np.array([1 - DNA_GC, DNA_GC, DNA_GC, 1 - DNA_GC]) / 2  # A, C, G, T
        starts = range(DNA_START - DNA_JITTER, DNA_START + DNA_JITTER + 1)
        scores = [np.zeros(len(X))]
        for motif in DNA_MOTIFS:
            consensus = np.array([letters.index(c) for c in motif])
            ratios = []
            for start in starts:
                window = codes[:, start : start + consensus.size]
                p = np.where(window == consensus, DNA_CONSERVATION, (1 - DNA_CONSERVATION) / 3)
                ratios.append(np.log(p / background[window]).sum(1))
            scores.append(np.log(np.exp(np.stack(ratios, 1)).mean(1)))
        prior = np.asarray(DNA_WEIGHTS, dtype=float)
        return (np.stack(scores, 1) + np.log(prior / prior.sum())).argmax(1)


def domain_word_bound(X, y, families):
    """Predictions of the domain generator's Bayes rule for its word-based names.

    Benign names of dictionary words and DGA concatenations of dictionary words are told
    apart by their likelihoods under the generator: the number of words (every split of
    the name into dictionary words counts), separators, numbers, subdomains and top-level
    domains, with the families' shares as priors. The other families (pronounceable
    pseudo-words, random letters, digits, hex) are given their true label, so the accuracy
    of these predictions bounds what any learner can reach from above.
    """
    import functools
    from collections import Counter

    from skseqattn.datasets import _strings as gen

    word_counts = Counter(gen._WORDS)
    n_words = len(gen._WORDS)
    prefixes = dict(zip(*gen._BENIGN_SUBDOMAINS))
    benign_tlds, dga_tlds = dict(zip(*gen._BENIGN_TLDS)), dict(zip(*gen._DGA_TLDS))
    benign_k = dict(zip(*gen._BENIGN_N_WORDS))
    hyphen, numbered = gen._BENIGN_HYPHEN, gen._BENIGN_NUMBERED
    p_number = numbered / len(gen._BENIGN_NUMBERS)  # each suffix is equally likely
    # priors of the two word families: shares of benign and of DGA names (classes balanced)
    p_benign_words = 0.5 * gen._BENIGN_WORDS_SHARE
    p_dga_words = 0.5 / len(gen._DOMAIN_FAMILIES[2:])

    def splits(text):
        """{number of words: ways (weighted by word multiplicity)} to split ``text``."""

        @functools.lru_cache(None)
        def from_(i):
            if i == len(text):
                return Counter({0: 1})
            out = Counter()
            for j in range(i + 1, len(text) + 1):
                if text[i:j] in word_counts:
                    for k, c in from_(j).items():
                        out[k + 1] += c * word_counts[text[i:j]]
            return out

        return from_(0)

    def likelihoods(name):
        benign = dga = 0.0
        for prefix, p_prefix in prefixes.items():
            if not name.startswith(prefix):
                continue
            base, _, tld = name[len(prefix) :].partition(".")
            if tld in benign_tlds:
                for number in (None, *gen._BENIGN_NUMBERS):
                    if number is not None and not base.endswith(number):
                        continue
                    core = base if number is None else base[: -len(number)]
                    p = p_prefix * benign_tlds[tld] * (1 - numbered if number is None else p_number)
                    parts = core.split("-")
                    if len(parts) > 1:  # hyphenated: every part one word
                        k = len(parts)
                        if k in benign_k and all(w in word_counts for w in parts):
                            ways = np.prod([word_counts[w] for w in parts])
                            benign += p * benign_k[k] * hyphen * ways / n_words**k
                        continue
                    for k, ways in splits(core).items():
                        sep = 1.0 if k == 1 else 1 - hyphen  # one word has no separator
                        benign += p * benign_k.get(k, 0) * sep * ways / n_words**k
            if prefix == "" and tld in dga_tlds and "-" not in base:
                for k, ways in splits(base).items():
                    if k in gen._DGA_N_WORDS:
                        p_k = 1 / len(gen._DGA_N_WORDS)
                        dga += dga_tlds[tld] * p_k * ways / n_words**k
        return benign, dga

    pred = np.asarray(y).copy()
    for i, (name, family) in enumerate(zip(X, families)):
        if family in ("benign-words", "dga-words"):
            benign, dga = likelihoods(name)
            pred[i] = int(p_dga_words * dga > p_benign_words * benign)
    return pred


def summary_features(X):
    rows = []
    for x in X:
        diff = np.diff(x, axis=0)
        stats = [
            x.mean(0),
            x.std(0),
            x.min(0),
            x.max(0),
            x.argmax(0) / len(x),
            diff.std(0),
        ]
        rows.append(np.concatenate([*stats, [len(x)]]))
    return np.asarray(rows)


def pad_end(X):
    length = max(len(x) for x in X)
    out = np.zeros((len(X), X[0].shape[1], length))  # (n, channels, time) for aeon
    for i, x in enumerate(X):
        out[i, :, : len(x)] = x.T
    return out


def models_for(task, args):
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    from skseqattn import BiLSTMAttentionClassifier, CharSequenceVectorizer

    def ours(seed):
        params = {"max_epochs": args.max_epochs, **args.params}
        clf = BiLSTMAttentionClassifier(random_state=seed, **params)
        return clf if task == "series" else make_pipeline(CharSequenceVectorizer(), clf)

    models = {"skseqattn": ours}
    if task in ("dna", "domains"):
        models["tfidf+lr"] = lambda seed: make_pipeline(
            TfidfVectorizer(analyzer="char", ngram_range=(1, 4), sublinear_tf=True),
            LogisticRegression(max_iter=2000, C=10.0),
        )
    if task == "dna":
        models["hgb-onehot"] = lambda seed: make_pipeline(
            FunctionTransformer(one_hot_positions),
            HistGradientBoostingClassifier(random_state=seed),
        )
        models["lr-onehot"] = lambda seed: make_pipeline(
            FunctionTransformer(one_hot_positions),
            LogisticRegression(C=0.1, max_iter=3000),
        )
        models["oracle"] = lambda seed: DnaOracle()
    if task == "series":
        models["hgb-summary"] = lambda seed: make_pipeline(
            FunctionTransformer(summary_features),
            HistGradientBoostingClassifier(random_state=seed),
        )
        try:
            from aeon.classification.convolution_based import MiniRocketClassifier
        except Exception as exc:  # noqa: BLE001 - any import failure means "not available"
            print(f"note: aeon does not import ({type(exc).__name__}: {exc}); no MiniRocket")
        else:
            models["minirocket"] = lambda seed: make_pipeline(
                FunctionTransformer(pad_end),
                MiniRocketClassifier(random_state=seed),
            )
    return models


def run(args):
    from sklearn.model_selection import train_test_split

    sizes = SIZES["quick" if args.quick else "full"]
    records = []
    for task in args.tasks:
        for seed in range(args.seeds):
            X, y = make_task(task, sizes[task], seed)
            idx_train, idx_test = train_test_split(
                np.arange(len(y)), test_size=0.25, stratify=y, random_state=seed
            )
            X_train = [X[i] for i in idx_train]
            X_test = [X[i] for i in idx_test]
            y_train, y_test = y[idx_train], y[idx_test]
            for name, factory in models_for(task, args).items():
                if args.models and name not in args.models:
                    continue
                model = factory(seed)
                start = time.perf_counter()
                model.fit(X_train, y_train)
                fit_s = time.perf_counter() - start
                rec = _record(task, name, seed, len(y_train), y_test, model.predict(X_test), fit_s)
                if name == "skseqattn":
                    clf = model if task == "series" else model[-1]
                    rec["epochs_run"] = len(clf.history_)
                records.append(rec)
                _print(rec)
            if task == "domains" and (not args.models or "oracle" in args.models):
                from skseqattn.datasets import make_domain_names

                _, _, families = make_domain_names(
                    sizes[task], return_families=True, random_state=seed
                )
                pred = domain_word_bound(X_test, y_test, families[idx_test])
                rec = _record(task, "oracle", seed, len(y_train), y_test, pred, 0.0)
                records.append(rec)
                _print(rec)
    return records


def _record(task, model, seed, n_train, y_test, pred, fit_s):
    from sklearn.metrics import accuracy_score, f1_score

    return {
        "task": task,
        "model": model,
        "seed": seed,
        "n_train": n_train,
        "n_test": len(y_test),
        "accuracy": float(accuracy_score(y_test, pred)),
        "macro_f1": float(f1_score(y_test, pred, average="macro")),
        "fit_s": fit_s,
    }


def _print(rec):
    print(
        f"  {rec['task']:8s} seed={rec['seed']} {rec['model']:12s} acc={rec['accuracy']:.4f} "
        f"f1={rec['macro_f1']:.4f} fit={rec['fit_s']:.1f}s",
        flush=True,
    )


def summarise(records):
    rows = []
    keys = dict.fromkeys((r["task"], r["model"]) for r in records)
    for task, model in keys:
        group = [r for r in records if r["task"] == task and r["model"] == model]
        rows.append(
            {
                "task": task,
                "model": model,
                "n_seeds": len(group),
                "n_train": group[0]["n_train"],
                "accuracy": float(np.mean([r["accuracy"] for r in group])),
                "accuracy_std": float(np.std([r["accuracy"] for r in group])),
                "macro_f1": float(np.mean([r["macro_f1"] for r in group])),
                "fit_s": float(np.mean([r["fit_s"] for r in group])),
            }
        )
    for task in dict.fromkeys(r["task"] for r in rows):
        group = [r for r in rows if r["task"] == task]
        baselines = [r for r in group if r["model"] not in ("skseqattn", "oracle")]
        best = max((r["accuracy"] for r in baselines), default=float("nan"))
        for r in group:
            r["vs_best_baseline"] = r["accuracy"] - best
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 seed, small sizes")
    parser.add_argument("--seeds", type=int, default=None, help="default 3 (1 with --quick)")
    parser.add_argument("--tasks", nargs="+", default=["dna", "domains", "series"])
    parser.add_argument(
        "--models", nargs="+", default=None, help="run only these (e.g. skseqattn hgb-onehot)"
    )
    parser.add_argument("--max-epochs", type=int, default=30, help="the library default: 30")
    parser.add_argument(
        "--params", type=json.loads, default={}, help="extra classifier parameters, JSON"
    )
    parser.add_argument("--out", default=None, help="JSON path (default results/...)")
    args = parser.parse_args(argv)
    if args.seeds is None:
        args.seeds = 1 if args.quick else 3

    start = time.perf_counter()
    records = run(args)
    rows = summarise(records)
    columns = [
        ("task", "task", "s"),
        ("model", "model", "s"),
        ("n_train", "n_train", "d"),
        ("accuracy", "accuracy", ".4f"),
        ("accuracy_std", "± std", ".4f"),
        ("macro_f1", "macro-F1", ".4f"),
        ("vs_best_baseline", "vs best baseline", "+.4f"),
        ("fit_s", "fit s", ".1f"),
    ]
    print()
    print(format_table(rows, columns))
    total = time.perf_counter() - start
    print(f"\ntotal {total:.0f} s; mean of {args.seeds} seed(s); params {args.params}")
    out = args.out or RESULTS_DIR / (
        "bench_accuracy_quick.json" if args.quick else "bench_accuracy.json"
    )
    payload = {
        "args": {k: v for k, v in vars(args).items() if k != "out"},
        "sizes": SIZES["quick" if args.quick else "full"],
        "summary": rows,
        "records": records,
        "total_s": total,
        "machine": machine_info(),
        "note": "shared 2-core CPU: timings are noisy, compare within one run",
    }
    print(f"wrote {write_json(out, payload)}")


if __name__ == "__main__":
    main()
