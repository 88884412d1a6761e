"""Quickstart: which language does a surname come from?

A Pipeline of CharSequenceVectorizer (characters -> ids) and BiLSTMAttentionClassifier learns
the 18-language surname collection of the PyTorch char-RNN tutorial, and is compared on a
held-out 20% with a strong classical baseline: TF-IDF of character 1-4-grams + logistic
regression. It then shows which characters the attention looked at for a few held-out names.

Run from the repository root::

    python examples/quickstart.py                                # downloads the data once
    SKSEQATTN_DATA=/path/to/data python examples/quickstart.py   # or read a local names/

The data (about 18,000 names, 1 MB) is downloaded on first use and cached in the data home
(``SKSEQATTN_DATA``, else ``~/skseqattn_data``); a folder ``names/`` placed there by hand is
read instead. With neither, offline, the script says so and runs on synthetic first names
(``make_first_names``: 'F' or 'M' from the ending) instead, through ``examples/_data.py``.

Expect accuracy around 0.8 for both models: some names occur under several languages
(English, Scottish, Irish), so no model can get them all right. Russian is half of the data,
so macro-F1 (every language counts the same) is the harder number. Takes about a minute on two
CPU cores. ``SKSEQATTN_EXAMPLES_TINY=1`` shrinks data and model to a smoke test.
"""

import os
import time

import numpy as np
import torch
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

from skseqattn import BiLSTMAttentionClassifier, CharSequenceVectorizer

from _data import load_surnames_or_synthetic  # examples/_data.py

TINY = os.environ.get("SKSEQATTN_EXAMPLES_TINY", "") not in ("", "0")  # smoke-test mode
N_EXPLAINED = 8

# Models this small train fastest on one CPU thread per process: on a 2-core machine an
# epoch of this script took about 2 s on one thread and 6 to 10 s on two.
torch.set_num_threads(1)


def shade(weights):
    """One character per weight, darker for more attention (relative to the row's maximum)."""
    levels = " .:-=+*#%@"
    top = weights.max() if weights.size and weights.max() > 0 else 1.0
    return "".join(
        levels[min(int(w / top * (len(levels) - 1) + 0.5), len(levels) - 1)] for w in weights
    )


def explain(model, names, true_labels):
    """Print, for each name, the prediction and the characters the attention weighted most."""
    vectorizer, classifier = model[0], model[-1]
    ids = vectorizer.transform(names)
    proba = classifier.predict_proba(ids)
    weights = classifier.attention_weights(ids)  # (n_names, width): one weight per character
    if weights.ndim == 3:  # several attention heads: average them
        weights = weights.mean(axis=2)
    width = max(len(name) for name in names)
    print(f"{'name':<{width}}  {'predicted (p)':<22} {'true':<12} top characters")
    for name, label, p, w in zip(names, true_labels, proba, weights):
        w = w[: len(name)]  # padding columns carry exactly zero weight
        best = np.argsort(-w, kind="stable")[:3]
        top = "  ".join(f"{name[i]!r} {w[i]:.2f}" for i in best)
        predicted = f"{classifier.classes_[p.argmax()]} ({p.max():.2f})"
        print(f"{name:<{width}}  {predicted:<22} {label:<12} {top}")
        print(f"{shade(w):<{width}}")


def main():
    X, y, what = load_surnames_or_synthetic()
    if TINY:  # the first 30 names of each class
        keep = np.concatenate([np.flatnonzero(y == label)[:30] for label in np.unique(y)])
        X, y = [X[i] for i in keep], y[keep]
    print(f"{len(X)} {what}, {len(np.unique(y))} classes")
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.2, stratify=y, random_state=0
    )

    baseline = make_pipeline(
        TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 4), sublinear_tf=True),
        # solver="sag" reaches the same optimum as the default "lbfgs" here, ten times faster.
        LogisticRegression(C=10, solver="sag", max_iter=1000, random_state=0),
    )
    model = make_pipeline(
        CharSequenceVectorizer(),
        BiLSTMAttentionClassifier(
            random_state=0,
            **({"embedding_dim": 8, "hidden_size": 8, "max_epochs": 2} if TINY else {}),
        ),
    )

    predictions = {}
    print(f"\n{'model':<28} {'accuracy':>8} {'macro-F1':>8} {'fit (s)':>8}")
    for label, estimator in [("TF-IDF + logistic", baseline), ("BiLSTM + attention", model)]:
        start = time.perf_counter()
        estimator.fit(X_train, y_train)
        seconds = time.perf_counter() - start
        predictions[label] = y_pred = estimator.predict(X_test)
        accuracy = accuracy_score(y_test, y_pred)
        macro_f1 = f1_score(y_test, y_pred, average="macro")
        print(f"{label:<28} {accuracy:>8.3f} {macro_f1:>8.3f} {seconds:>8.1f}")
    classifier = model[-1]
    kept = (
        ""
        if classifier.best_epoch_ is None
        else f", weights of epoch {classifier.best_epoch_} kept"
    )
    print(f"(BiLSTM: {classifier.n_epochs_} epochs trained{kept})")

    # The classification report of both models side by side: precision, recall and F1 of
    # each class (language) on the held-out names.
    classes = np.unique(y_train)
    reports = {
        label: precision_recall_fscore_support(y_test, y_pred, labels=classes, zero_division=0)
        for label, y_pred in predictions.items()
    }
    print(f"\n{'':<12} {'':>7}  {'TF-IDF + logistic':^20}  {'BiLSTM + attention':^20}")
    print(f"{'class':<12} {'support':>7}  " + "  ".join([f"{'prec':>6}{'rec':>7}{'F1':>7}"] * 2))
    for i, label in enumerate(classes):
        cells = "  ".join(
            f"{report[0][i]:>6.2f}{report[1][i]:>7.2f}{report[2][i]:>7.2f}"
            for report in reports.values()
        )
        print(f"{label:<12} {reports['BiLSTM + attention'][3][i]:>7}  {cells}")

    # A few held-out names, taken in turn from each class, and where the attention went.
    rng = np.random.RandomState(0)
    by_class = [np.flatnonzero(y_test == label) for label in rng.permutation(np.unique(y_test))]
    chosen = [
        int(rows[k]) for k in range(max(map(len, by_class))) for rows in by_class if k < len(rows)
    ][:N_EXPLAINED]
    print("\nWhat the attention looked at (darker = more weight):")
    explain(model, [X_test[i] for i in chosen], [y_test[i] for i in chosen])


if __name__ == "__main__":
    main()
