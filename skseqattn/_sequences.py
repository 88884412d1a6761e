"""Sequences as one flat array plus offsets, and the batches the module trains on.

Every input the classifier accepts (a padded id matrix, a NaN-padded 3-D array, a list of
arrays of different lengths) is turned into :class:`RaggedSequences`: the real steps of all
rows, concatenated, and where each row starts. Padding is dropped on the way in, so nothing
downstream can mistake it for data: the width of the user's matrix and the side the padding
was on are forgotten, except for ``positions``, which maps each real step back to its column
so that attention weights can be returned in the user's layout.

Batches are built from this form on demand: each is padded to its own longest row, never to
the data set's, and :class:`BucketBatchIterator` groups rows of similar length.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

__all__ = ["RaggedSequences", "SequenceDataset", "BucketBatchIterator"]


@dataclass
class RaggedSequences:
    """Variable-length sequences stored flat.

    Attributes
    ----------
    values : ndarray
        Token ids of shape (total_steps,) (int64) or feature vectors of shape
        (total_steps, n_features) (float32).
    offsets : ndarray of shape (n_samples + 1,)
        Row ``i`` is ``values[offsets[i]:offsets[i + 1]]``.
    positions : ndarray of shape (total_steps,)
        The column each real step came from in the caller's input.
    width : int
        The caller's width (number of columns, or the longest sequence of a list).
    """

    values: np.ndarray
    offsets: np.ndarray
    positions: np.ndarray
    width: int

    @property
    def is_tokens(self) -> bool:
        return self.values.ndim == 1

    @property
    def lengths(self) -> np.ndarray:
        cached = self.__dict__.get("_lengths")
        if cached is None or len(cached) != len(self.offsets) - 1:
            cached = self.__dict__["_lengths"] = np.diff(self.offsets)
        return cached

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @classmethod
    def from_padded(cls, X: np.ndarray, valid: np.ndarray) -> RaggedSequences:
        """Keep the steps where ``valid`` (n_samples, width) is True, in their order."""
        rows, cols = np.nonzero(valid)
        lengths = np.bincount(rows, minlength=X.shape[0])
        offsets = np.zeros(X.shape[0] + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        return cls(X[rows, cols], offsets, cols.astype(np.int64), X.shape[1])

    @classmethod
    def from_list(cls, seqs: list[np.ndarray]) -> RaggedSequences:
        """Concatenate per-row arrays whose steps are all real."""
        lengths = np.array([len(s) for s in seqs], dtype=np.int64)
        offsets = np.zeros(len(seqs) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        values = np.concatenate(seqs) if len(seqs) else np.zeros(0)
        positions = np.arange(offsets[-1]) - np.repeat(offsets[:-1], lengths)
        width = int(lengths.max()) if len(seqs) else 0
        return cls(values, offsets, positions, width)

    def subset(self, indices: np.ndarray) -> RaggedSequences:
        """Rows ``indices``, in that order."""
        indices = np.asarray(indices, dtype=np.int64)
        lengths = self.lengths[indices]
        offsets = np.zeros(len(indices) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        source = _gather_index(self.offsets[indices], lengths)
        return RaggedSequences(self.values[source], offsets, self.positions[source], self.width)

    def pad(self, indices: np.ndarray, *, width: int | None = None):
        """Left-aligned batch of rows ``indices`` padded to their longest row.

        Returns ``(X, lengths)`` as numpy arrays: ``X`` of shape (batch, width) or
        (batch, width, n_features), zeros after each row's real steps.
        """
        lengths = self.lengths[indices]
        if width is None:
            width = int(lengths.max()) if len(indices) else 0
        shape = (len(indices), width) + self.values.shape[1:]
        out = np.zeros(shape, dtype=self.values.dtype)
        rows = np.repeat(np.arange(len(indices)), lengths)
        source = _gather_index(self.offsets[indices], lengths)
        cols = source - np.repeat(self.offsets[indices], lengths)
        out[rows, cols] = self.values[source]
        return out, lengths


def _gather_index(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Concatenation of ``arange(s, s + n)`` for each start ``s`` and length ``n``."""
    total = int(lengths.sum())
    ends = np.cumsum(lengths)
    return np.arange(total, dtype=np.int64) + np.repeat(starts - (ends - lengths), lengths)


def _cut(order: np.ndarray, sorted_lengths: np.ndarray, batch_size: int) -> list[np.ndarray]:
    """Cut length-sorted indices into batches of at most ``batch_size`` rows of one length.

    Batches without padding run the RNN's fused kernel (see
    ``SequenceClassifierModule.encode``); a length with fewer rows than a batch makes a
    smaller batch rather than a padded one.
    """
    cuts = np.flatnonzero(np.diff(sorted_lengths)) + 1
    batches = []
    for group in np.split(order, cuts):
        batches.extend(group[i : i + batch_size] for i in range(0, len(group), batch_size))
    return batches


class SequenceDataset(torch.utils.data.Dataset):
    """A torch Dataset over :class:`RaggedSequences` with optional labels and weights.

    Items are whole batches: :meth:`batch` pads the rows it is given. Indexing one item
    returns the row unpadded, which keeps the class usable with a plain DataLoader.
    """

    def __init__(self, sequences: RaggedSequences, y=None, sample_weight=None):
        self.sequences = sequences
        self.y = None if y is None else np.asarray(y, dtype=np.int64)
        self.sample_weight = (
            None if sample_weight is None else np.asarray(sample_weight, dtype=np.float32)
        )

    def __len__(self) -> int:
        return len(self.sequences)

    def __getitem__(self, i):
        X, lengths = self.batch(np.array([i]))
        return X, (self.y[i] if self.y is not None else 0)

    @property
    def lengths(self) -> np.ndarray:
        return self.sequences.lengths

    def batch(self, indices: np.ndarray):
        """Return ``(Xi, yi)``: ``Xi`` a dict of tensors for the module, ``yi`` a tensor."""
        X, lengths = self.sequences.pad(indices)
        Xi = {"X": torch.from_numpy(X), "lengths": torch.from_numpy(lengths)}
        if self.sample_weight is not None:
            Xi["sample_weight"] = torch.from_numpy(self.sample_weight[indices])
        yi = torch.from_numpy(self.y[indices]) if self.y is not None else None
        return Xi, yi


class BucketBatchIterator:
    """Batches of rows of similar length, each padded to its own longest row.

    Used by the skorch net as ``iterator_train`` and ``iterator_valid``. For training
    (``shuffle=True``) the rows are shuffled, cut into chunks of ``bucket_batches``
    batches, sorted by length within each chunk and cut into batches of ``batch_size``
    whose order is then shuffled: batches are nearly free of padding (most hold a single
    length) yet still random. Without shuffling, all
    rows are sorted by length and batches are cut where the length changes, so they hold no
    padding at all; :attr:`order` says which row each output belongs to.

    Parameters
    ----------
    dataset : SequenceDataset
    batch_size : int
    shuffle : bool, default=False
    random_state : numpy.random.RandomState, default=None
        Drawn from on each pass when shuffling; one object kept across epochs gives a
        reproducible sequence of epochs.
    bucket_batches : int, default=50
        Batches per sorting chunk; 1 means no bucketing.
    device : str or torch.device, default=None
        When a CUDA device, batches are pinned and copied asynchronously.
    """

    def __init__(
        self,
        dataset: SequenceDataset,
        batch_size: int = 64,
        shuffle: bool = False,
        random_state=None,
        bucket_batches: int = 50,
        device=None,
        **kwargs,
    ):
        self.dataset = dataset
        self.batch_size = max(int(batch_size), 1)
        self.shuffle = shuffle
        self.random_state = random_state
        self.bucket_batches = bucket_batches
        self.device = device

    def _batches(self) -> list[np.ndarray]:
        n = len(self.dataset)
        lengths = self.dataset.lengths
        if not self.shuffle:
            # Sorted by length and cut where the length changes: batches without padding run
            # the RNN's fused kernel (see SequenceClassifierModule.encode).
            order = np.argsort(lengths, kind="stable")
            return _cut(order, lengths[order], self.batch_size)
        rng = self.random_state if self.random_state is not None else np.random
        order = rng.permutation(n)
        chunk = self.batch_size * max(self.bucket_batches, 1)
        batches = []
        for start in range(0, n, chunk):
            part = order[start : start + chunk]
            part = part[np.argsort(lengths[part], kind="stable")]
            # Fixed-size batches, not cut at length changes: batches of a single length
            # would be faster still, but cost about 0.01 accuracy on the surname task.
            batches.extend(
                part[i : i + self.batch_size] for i in range(0, len(part), self.batch_size)
            )
        return [batches[i] for i in rng.permutation(len(batches))]

    @property
    def order(self) -> np.ndarray:
        """Row indices in the order batches are produced (only without shuffling)."""
        return np.argsort(self.dataset.lengths, kind="stable")

    def __len__(self) -> int:
        lengths = self.dataset.lengths
        if not self.shuffle:
            return len(_cut(np.arange(len(lengths)), np.sort(lengths), self.batch_size))
        return -(-len(self.dataset) // self.batch_size)

    def __iter__(self):
        cuda = self.device is not None and torch.device(self.device).type == "cuda"
        for indices in self._batches():
            Xi, yi = self.dataset.batch(indices)
            if cuda:
                Xi = {
                    k: (v if k == "lengths" else v.pin_memory().to(self.device, non_blocking=True))
                    for k, v in Xi.items()
                }
                if yi is not None:
                    yi = yi.pin_memory().to(self.device, non_blocking=True)
            yield Xi, yi
