"""Render the README's attention heatmap: docs/images/attention_surnames.png.

Trains a Pipeline(CharSequenceVectorizer, BiLSTMAttentionClassifier) on the surname data set
(about 18,000 surnames of 18 languages) and draws which characters it attends to in a
handful of surnames that were held out of training.

Run (from the repository root)::

    python examples/plot_attention_readme.py /path/to/data_home

where ``/path/to/data_home`` holds ``names/<Language>.txt``. Without the argument the
folder comes from the environment variable ``SKSEQATTN_DATA`` (else ``~/skseqattn_data``),
and :func:`~skseqattn.datasets.fetch_surnames` downloads the data if it is not there. Offline
and without a copy, the script says so and trains on synthetic first names instead
(``examples/_data.py``); it then draws held-out synthetic names, and writes
``attention_synthetic.png`` in the current folder unless ``--out`` is given, so that the
README's figure is never replaced by another task's.
Options: ``--out`` (where to write the PNG), ``--epochs``, ``--device`` and ``--seed``.
"""

import argparse
import os
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np
from sklearn.metrics import f1_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

from skseqattn import BiLSTMAttentionClassifier, CharSequenceVectorizer
from skseqattn.plotting import AttentionDisplay

from _data import load_surnames_or_synthetic  # examples/_data.py

# One surname per language, kept out of the training data so that the figure shows
# predictions on names the model has never seen.
SHOWCASE = {
    "Nakamura": "Japanese",
    "Papadopoulos": "Greek",
    "Kowalski": "Polish",
    "O'Connor": "Irish",
    "Esposito": "Italian",
    "Nguyen": "Vietnamese",
    "Hoffmann": "German",
    "Gutierrez": "Spanish",
    "Svoboda": "Czech",
    "Ivanov": "Russian",
}

REPO = Path(__file__).resolve().parents[1]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "data_home",
        nargs="?",
        default=os.environ.get("SKSEQATTN_DATA"),
        help="folder holding names/*.txt (default: $SKSEQATTN_DATA)",
    )
    parser.add_argument(
        "--out", help="where to write the PNG (default: the README's figure, for the surnames)"
    )
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--device", default="cpu", help="'cpu', 'cuda' or 'auto'")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    names, labels, what = load_surnames_or_synthetic(data_home=args.data_home)
    names, labels = np.asarray(names, dtype=object), np.asarray(labels, dtype=object)
    if what == "surnames":
        showcase = SHOWCASE
        out = args.out or REPO / "docs" / "images" / "attention_surnames.png"
    else:  # the last ten synthetic names (drawn at random), held out likewise
        showcase = dict(zip(names[-10:].tolist(), labels[-10:].tolist()))
        out = args.out or "attention_synthetic.png"
    held_out = np.isin(names, list(showcase))
    X, y = names[~held_out].tolist(), labels[~held_out]
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.1, stratify=y, random_state=args.seed
    )

    model = make_pipeline(
        CharSequenceVectorizer(),
        BiLSTMAttentionClassifier(
            embedding_dim=32,
            hidden_size=64,
            max_epochs=args.epochs,
            batch_size=128,
            class_weight="balanced",
            device=args.device,
            random_state=args.seed,
            verbose=1,
        ),
    )
    start = time.perf_counter()
    model.fit(X_train, y_train)
    predicted = model.predict(X_test)
    print(
        f"trained in {time.perf_counter() - start:.0f} s; held-out accuracy "
        f"{np.mean(predicted == y_test):.3f}, macro-F1 "
        f"{f1_score(y_test, predicted, average='macro'):.3f}"
    )

    # The figure shows attention (as its caption says); explain() and the displays default
    # to per-token contributions, which are the more faithful view (see the README).
    display = AttentionDisplay.from_estimator(
        model, list(showcase), list(showcase.values()), method="attention"
    )
    display.ax_.set_title(f"Which characters the model attends to (held-out {what})")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    display.figure_.savefig(out, dpi=110)
    print(f"wrote {out} ({out.stat().st_size / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
