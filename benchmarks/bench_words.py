"""Word-level input at speed: a frozen 30k x 300 pretrained table against a learned one.

A word-level :class:`~skseqattn.CharSequenceVectorizer` with a fixed vocabulary of
``--vocab`` synthetic words turns ``--n`` short synthetic sentences (4 to 12 words, the
label carried by a few marker words) into ids; the classifier (hidden 32) trains
``--epochs`` epochs with

- a learned embedding of the same vocabulary and width (``embedding_dim=--dim``),
- a frozen ``vocab_size_ x --dim`` matrix from :meth:`CharSequenceVectorizer.embedding_matrix`,

each with the default n-gram term (order 4) and without it (``ngram_order=0``). It prints
the mean per-epoch time (skorch's ``dur``, epochs after the first) and the ratio to the
learned embedding of the same n-gram setting, and writes JSON to benchmarks/results/.
Timings are wall-clock on whatever machine runs it: compare the ratios of one run.

Usage: ``PYTHONPATH=. python benchmarks/bench_words.py [--n 2000] [--epochs 2]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

from skseqattn import BiLSTMAttentionClassifier, CharSequenceVectorizer


def make_data(n, vocab, seed=0):
    rng = np.random.RandomState(seed)
    words = [f"w{i}" for i in range(vocab)]
    # Zipf-like word frequencies, as in real text
    p = 1.0 / np.arange(1, vocab + 1)
    p /= p.sum()
    texts, labels = [], []
    for _ in range(n):
        label = int(rng.randint(2))
        length = int(rng.randint(4, 13))
        sent = list(rng.choice(vocab, size=length, p=p))
        sent[int(rng.randint(length))] = 10 + label  # a marker word carries the label
        texts.append(" ".join(words[i] for i in sent))
        labels.append(label)
    return words, texts, np.asarray(labels)


def run(config, X, y, matrix, args):
    params = dict(
        hidden_size=32,
        max_epochs=args.epochs,
        random_state=0,
        embedding_dim=args.dim,
        ngram_order=config["ngram_order"],
    )
    if config["frozen"]:
        params.update(embedding_weights=matrix, freeze_embeddings=True)
    clf = BiLSTMAttentionClassifier(**params)
    start = time.perf_counter()
    clf.fit(X, y)
    total = time.perf_counter() - start
    durs = [row["dur"] for row in clf.history_]
    later = durs[1:] or durs
    return {**config, "epoch_s": float(np.mean(later)), "fit_s": total, "durs": durs}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--vocab", type=int, default=30000)
    parser.add_argument("--dim", type=int, default=300)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--out", default="benchmarks/results/bench_words.json")
    args = parser.parse_args()

    words, texts, y = make_data(args.n, args.vocab)
    vec = CharSequenceVectorizer(analyzer="word", vocabulary=words).fit(texts)
    rng = np.random.RandomState(1)
    vectors = {w: rng.normal(size=args.dim).astype(np.float32) for w in words}
    matrix = vec.embedding_matrix(vectors)
    X = vec.transform(texts)

    configs = [
        {"name": "learned", "frozen": False, "ngram_order": 4},
        {"name": "frozen", "frozen": True, "ngram_order": 4},
        {"name": "learned", "frozen": False, "ngram_order": 0},
        {"name": "frozen", "frozen": True, "ngram_order": 0},
    ]
    rows = [run(c, X, y, matrix, args) for c in configs]
    base = {r["ngram_order"]: r["epoch_s"] for r in rows if not r["frozen"]}
    print(f"word-level: {args.n} sentences, vocab {vec.vocab_size_} ids x {args.dim}, hidden 32")
    print(f"{'embedding':<10} {'ngram_order':>11} {'s/epoch':>9} {'vs learned':>11}")
    for r in rows:
        r["ratio"] = r["epoch_s"] / base[r["ngram_order"]]
        print(f"{r['name']:<10} {r['ngram_order']:>11} {r['epoch_s']:>9.2f} {r['ratio']:>10.2f}x")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {"args": vars(args), "machine": platform.platform(), "cpus": os.cpu_count()}
    out.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
