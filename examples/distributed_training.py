"""Train one model data-parallel across processes with ``distributed=True``.

Launch with PyTorch's launcher (2 processes on the CPU, gloo)::

    torchrun --nproc_per_node=2 examples/distributed_training.py

or, on a machine with GPUs (NCCL, one GPU per process)::

    torchrun --nproc_per_node=4 examples/distributed_training.py --device cuda

Every process loads the same data; each trains on its own shard of every epoch's batches,
gradients are averaged, and all processes end with the same weights. Only rank 0 prints
and saves.
"""

import argparse
import os

import torch
from sklearn.model_selection import train_test_split

from skseqattn import BiLSTMAttentionClassifier, CharSequenceVectorizer, save
from skseqattn.datasets import make_motif_sequences

parser = argparse.ArgumentParser()
parser.add_argument("--device", default="cpu")
parser.add_argument("--out", default="ddp_model.skseqattn")
args = parser.parse_args()
torch.set_num_threads(1)  # one thread per process: the processes share the cores

X, y = make_motif_sequences(n_samples=2000, min_len=8, max_len=20, random_state=0)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0, stratify=y)
vectorizer = CharSequenceVectorizer().fit(X_train)
clf = BiLSTMAttentionClassifier(
    hidden_size=32,
    max_epochs=8,
    distributed=True,
    device=args.device,
    random_state=0,
    verbose=1,
)
clf.fit(vectorizer.transform(X_train), y_train)
accuracy = clf.score(vectorizer.transform(X_test), y_test)  # every rank: the same number
if int(os.environ.get("RANK", 0)) == 0:
    print(f"test accuracy {accuracy:.3f} after {clf.n_epochs_} epochs")
    save(clf, args.out)  # the plain module: loads anywhere, without a process group
