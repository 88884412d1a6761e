"""Torch batches from :class:`~skseqattn._sequences.RaggedSequences`, grouped by length.

:class:`SequenceDataset` pads the rows of one batch to their own longest row;
:class:`BucketBatchIterator` chooses which rows share a batch. The skorch net uses both for
training, validation and prediction.
"""

from __future__ import annotations

import numpy as np
import torch

from ._sequences import RaggedSequences

__all__ = ["BucketBatchIterator", "SequenceDataset"]


def _cut(
    order: np.ndarray, sorted_lengths: np.ndarray, batch_size: int, max_steps: int | None = None
) -> list[np.ndarray]:
    """Cut length-sorted indices into batches of at most ``batch_size`` rows of one length.

    Batches without padding run the RNN's fused kernel (see
    ``SequenceClassifierModule.encode``); a length with fewer rows than a batch makes a
    smaller batch rather than a padded one. With ``max_steps``, a batch of rows of length
    ``L`` holds at most ``max_steps // L`` of them (at least one).
    """
    cuts = np.flatnonzero(np.diff(sorted_lengths)) + 1
    batches = []
    for start, group in zip(np.r_[0, cuts].astype(int), np.split(order, cuts)):
        if not len(group):
            continue
        size = _rows_for(batch_size, max_steps, int(sorted_lengths[start]))
        batches.extend(group[i : i + size] for i in range(0, len(group), size))
    return batches


def _rows_for(batch_size: int, max_steps: int | None, width: int) -> int:
    """Rows of width ``width`` a batch may hold: ``batch_size``, or fewer for long rows."""
    if max_steps is None or width <= 0:
        return batch_size
    return max(1, min(batch_size, int(max_steps) // int(width)))


def _capped(batch: np.ndarray, lengths: np.ndarray, max_steps: int | None) -> list[np.ndarray]:
    """``batch`` split so that each part's rows times its longest row fit ``max_steps``.

    A batch of short rows comes back whole; only one holding rows so long that the
    padded batch would exceed the cap is cut, into parts of consecutive rows.
    """
    if max_steps is None or not len(batch):
        return [batch]
    widths = lengths[batch]
    if len(batch) * int(widths.max()) <= max_steps:
        return [batch]
    parts, start = [], 0
    while start < len(batch):
        stop, widest = start, 0
        while stop < len(batch):
            widest_next = max(widest, int(widths[stop]))
            if stop > start and (stop - start + 1) * widest_next > max_steps:
                break
            widest, stop = widest_next, stop + 1
        parts.append(batch[start:stop])
        start = stop
    return parts


class SequenceDataset(torch.utils.data.Dataset):
    """A torch Dataset over :class:`RaggedSequences` with optional labels and weights.

    Items are whole batches: :meth:`batch` pads the rows it is given. Indexing one item
    returns the row unpadded, which keeps the class usable with a plain DataLoader.
    ``branch_logits`` (n, n_classes), when set, are the series branch's scores of the rows,
    fixed for the whole fit: batches carry them so the module need not recompute them.
    """

    def __init__(self, sequences: RaggedSequences, y=None, sample_weight=None):
        self.sequences = sequences
        self.y = None if y is None else np.asarray(y, dtype=np.int64)
        self.sample_weight = (
            None if sample_weight is None else np.asarray(sample_weight, dtype=np.float32)
        )
        self.branch_logits = None

    def repeated(self, passes: int) -> SequenceDataset:
        """The rows ``passes`` times over (one epoch of the result is ``passes`` epochs)."""
        if passes <= 1:
            return self
        index = np.tile(np.arange(len(self)), passes)
        out = SequenceDataset(
            self.sequences.subset(index),
            None if self.y is None else self.y[index],
            None if self.sample_weight is None else self.sample_weight[index],
        )
        out.branch_logits = None if self.branch_logits is None else self.branch_logits[index]
        return out

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
        if getattr(self, "branch_logits", None) is not None:
            Xi["branch_logits"] = torch.from_numpy(self.branch_logits[indices])
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
    max_steps : int, default=None
        Most (row, step) cells of a padded batch, from
        :func:`~skseqattn._memory.batch_steps`: a batch whose rows times its longest row
        would exceed it holds fewer rows (at least one), so memory stays bounded however
        long the rows are. Batches of ordinary rows are far below it and stay as they are.
    """

    def __init__(
        self,
        dataset: SequenceDataset,
        batch_size: int = 64,
        shuffle: bool = False,
        random_state=None,
        bucket_batches: int = 50,
        device=None,
        max_steps: int | None = None,
        **kwargs,
    ):
        self.dataset = dataset
        self.batch_size = max(int(batch_size), 1)
        self.shuffle = shuffle
        self.random_state = random_state
        self.bucket_batches = bucket_batches
        self.device = device
        self.max_steps = max_steps

    def _batches(self) -> list[np.ndarray]:
        n = len(self.dataset)
        lengths = self.dataset.lengths
        if not self.shuffle:
            # Sorted by length and cut where the length changes: batches without padding run
            # the RNN's fused kernel (see SequenceClassifierModule.encode).
            order = np.argsort(lengths, kind="stable")
            return _cut(order, lengths[order], self.batch_size, self.max_steps)
        rng = self.random_state if self.random_state is not None else np.random
        order = rng.permutation(n)
        chunk = self.batch_size * max(self.bucket_batches, 1)
        batches = []
        for start in range(0, n, chunk):
            part = order[start : start + chunk]
            part = part[np.argsort(lengths[part], kind="stable")]
            # Fixed-size batches, not cut at length changes: batches of a single length
            # would be faster still, but cost about 0.01 accuracy on the surname task.
            for i in range(0, len(part), self.batch_size):
                batches.extend(_capped(part[i : i + self.batch_size], lengths, self.max_steps))
        return [batches[i] for i in rng.permutation(len(batches))]

    @property
    def order(self) -> np.ndarray:
        """Row indices in the order batches are produced (only without shuffling)."""
        return np.argsort(self.dataset.lengths, kind="stable")

    def __len__(self) -> int:
        lengths = self.dataset.lengths
        if not self.shuffle:
            sorted_lengths = np.sort(lengths)
            return len(
                _cut(np.arange(len(lengths)), sorted_lengths, self.batch_size, self.max_steps)
            )
        return -(-len(self.dataset) // self.batch_size)

    def __iter__(self):
        for indices in self._batches():
            yield self.load(indices)

    def load(self, indices: np.ndarray):
        """The batch ``(Xi, yi)`` of rows ``indices``, on the device."""
        cuda = self.device is not None and torch.device(self.device).type == "cuda"
        Xi, yi = self.dataset.batch(indices)
        if cuda:
            Xi = {
                k: (v if k == "lengths" else v.pin_memory().to(self.device, non_blocking=True))
                for k, v in Xi.items()
            }
            if yi is not None:
                yi = yi.pin_memory().to(self.device, non_blocking=True)
        return Xi, yi
