"""Quickstart: which language does a surname come from?

A Pipeline of CharSequenceVectorizer (characters -> ids) and BiLSTMAttentionClassifier learns
the 18-language surname collection of the PyTorch char-RNN tutorial, and is compared on a
held-out 20% with a strong classical baseline: TF-IDF of character 1-4-grams + logistic
regression. It then shows which characters the attention looked at for a few held-out names.

Run from the repository root::

    python examples/quickstart.py                                # the data bundled, offline
    SKSEQATTN_DATA=../shared/data python examples/quickstart.py  # or read a local names/

The data (about 18,000 names) comes with skseqattn: ``load_surnames`` reads it, with no
network and no data folder. With ``SKSEQATTN_DATA`` set, ``fetch_surnames`` reads the folder
``names/`` there instead, or downloads the same data once and caches it there; if it can do
neither, the script stops with the loader's advice.

Expect accuracy around 0.8 for both models: some names occur under several languages
(English, Scottish, Irish), so no model can get them all right. Russian is half of the data,
so macro-F1 (every language counts the same) is the harder number. Takes about a minute on two
CPU cores. ``SKSEQATTN_EXAMPLES_TINY=1`` shrinks data and model to a smoke test.
"""

import os
import sys
import time

import numpy as np
import torch
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

from skseqattn import BiLSTMAttentionClassifier, CharSequenceVectorizer
from skseqattn.datasets import fetch_surnames, load_surnames

TINY = os.environ.get("SKSEQATTN_EXAMPLES_TINY", "") not in ("", "0")  # smoke-test mode
N_EXPLAINED = 8

# Models this small train fastest on one CPU thread per process: on a 2-core machine an
# epoch of this script took about 2 s on one thread and 6 to 10 s on two.
torch.set_num_threads(1)


def load_data():
    """The surnames and their languages, or exit with the loader's advice."""
    try:
        if os.environ.get("SKSEQATTN_DATA"):  # a folder with your own names/*.txt
            return fetch_surnames(return_X_y=True)
        return load_surnames(return_X_y=True)  # the copy bundled with skseqattn
    except OSError as exc:
        # No copy found and no download possible: the message says where the loader looked
        # and how to provide a copy by hand (or through SKSEQATTN_DATA).
        sys.exit(f"quickstart: could not load the surname data.\n{exc}")


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
    X, y = load_data()
    if TINY:  # the first 30 names of each language
        keep = np.concatenate([np.flatnonzero(y == language)[:30] for language in np.unique(y)])
        X, y = [X[i] for i in keep], y[keep]
    print(f"{len(X)} surnames, {len(np.unique(y))} languages")
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
    # each language on the held-out names.
    languages = np.unique(y_train)
    reports = {
        label: precision_recall_fscore_support(y_test, y_pred, labels=languages, zero_division=0)
        for label, y_pred in predictions.items()
    }
    print(f"\n{'':<12} {'':>7}  {'TF-IDF + logistic':^20}  {'BiLSTM + attention':^20}")
    print(f"{'language':<12} {'support':>7}  " + "  ".join([f"{'prec':>6}{'rec':>7}{'F1':>7}"] * 2))
    for i, language in enumerate(languages):
        cells = "  ".join(
            f"{report[0][i]:>6.2f}{report[1][i]:>7.2f}{report[2][i]:>7.2f}"
            for report in reports.values()
        )
        print(f"{language:<12} {reports['BiLSTM + attention'][3][i]:>7}  {cells}")

    # One held-out name from each of a few languages, and where the attention went.
    rng = np.random.RandomState(0)
    chosen = []
    for language in rng.permutation(np.unique(y_test))[:N_EXPLAINED]:
        chosen.append(int(np.flatnonzero(y_test == language)[0]))
    print("\nWhat the attention looked at (darker = more weight):")
    explain(model, [X_test[i] for i in chosen], [y_test[i] for i in chosen])


if __name__ == "__main__":
    main()
