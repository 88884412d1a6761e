"""Training on data that does not fit in memory: a CSV read in chunks, and partial_fit.

The task is the detection of machine-generated domain names (DGA domains, which malware uses
to find its command servers) among benign ones, from ``make_domain_names``. The script first
writes a CSV of labelled domains (or reads the one given with ``--csv``), then reads it back
with pandas in chunks of ``--chunksize`` rows and calls ``partial_fit`` once per chunk: one
epoch over the chunk, with the network's weights and the optimizer's state kept between
calls. Only one chunk is in memory at a time. After each pass over the file it reports the
accuracy on a held-out set.

Two things stay fixed from the first chunk on, and the script fixes them on purpose:

- the characters: a ``CharSequenceVectorizer`` with a fixed ``vocabulary`` maps every chunk
  to the same ids (a vectorizer fitted on each chunk anew would renumber them);
- the labels: ``classes`` lists every label of the stream on the first call, since the first
  chunk need not hold them all.

Run from the repository root (a minute or two on two CPU cores)::

    python examples/streaming.py                 # 100,000 rows, chunks of 10,000, 2 passes
    python examples/streaming.py --rows 1000000  # a larger file
    python examples/streaming.py --csv my.csv    # an existing file with columns domain, label

``SKSEQATTN_EXAMPLES_TINY=1`` shrinks data and model to a smoke test.
"""

import argparse
import os
import string
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from skseqattn import BiLSTMAttentionClassifier, CharSequenceVectorizer
from skseqattn.datasets import make_domain_names

TINY = os.environ.get("SKSEQATTN_EXAMPLES_TINY", "") not in ("", "0")  # smoke-test mode
VOCABULARY = list(string.ascii_lowercase + string.digits + "-.")
WRITE_BLOCK = 50_000  # rows generated and appended to the CSV at a time

torch.set_num_threads(1)  # a model this small trains fastest on one thread


def write_csv(path, n_rows, *, random_state=0):
    """Append ``n_rows`` labelled domains to ``path`` in blocks, never all in memory."""
    rng = np.random.RandomState(random_state)
    for start in range(0, n_rows, WRITE_BLOCK):
        n = min(WRITE_BLOCK, n_rows - start)
        domains, labels = make_domain_names(n, random_state=rng.randint(2**31 - 1))
        block = pd.DataFrame({"domain": domains, "label": np.where(labels == 1, "dga", "benign")})
        block.to_csv(path, mode="a", header=start == 0, index=False)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=3_000 if TINY else 100_000)
    parser.add_argument("--chunksize", type=int, default=500 if TINY else 10_000)
    parser.add_argument("--passes", type=int, default=2)
    parser.add_argument("--csv", type=Path, default=None, help="read this file, do not write")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        path = args.csv
        if path is None:
            path = Path(tmp) / "domains.csv"
            start = time.perf_counter()
            write_csv(path, args.rows)
            size = path.stat().st_size / 1e6
            print(
                f"wrote {args.rows} rows to {path.name} ({size:.1f} MB) in "
                f"{time.perf_counter() - start:.1f} s"
            )
        train(path, args)


def train(path, args):
    domains, labels = make_domain_names(500 if TINY else 5_000, random_state=12345)
    test_X, test_y = domains, np.where(labels == 1, "dga", "benign")
    # A fixed vocabulary: fit learns nothing from the data, every chunk gets the same ids.
    vectorizer = CharSequenceVectorizer(vocabulary=VOCABULARY).fit(test_X)
    test_ids = vectorizer.transform(test_X)
    clf = BiLSTMAttentionClassifier(
        embedding_dim=16 if TINY else 32,
        hidden_size=16 if TINY else 32,
        batch_size=64,
        lr=3e-3,
        random_state=0,
    )
    classes = ["benign", "dga"]
    for n_pass in range(1, args.passes + 1):
        start, rows, chunks = time.perf_counter(), 0, 0
        for chunk in pd.read_csv(path, chunksize=args.chunksize):
            ids = vectorizer.transform(chunk["domain"].astype(str).tolist())
            clf.partial_fit(ids, chunk["label"].to_numpy(), classes=classes)
            rows, chunks = rows + len(chunk), chunks + 1
        seconds = time.perf_counter() - start
        accuracy = clf.score(test_ids, test_y)
        print(
            f"pass {n_pass}: {rows} rows in {chunks} chunks, {seconds:.1f} s, "
            f"held-out accuracy {accuracy:.3f} ({len(test_y)} domains)"
        )
    print(
        f"classes_ {clf.classes_.tolist()}, n_ids_ {clf.n_ids_}, epochs {clf.n_epochs_}, "
        f"n-gram table rows {clf.module_.ngrams.table.num_embeddings}"
    )


if __name__ == "__main__":
    main()
