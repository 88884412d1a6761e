"""Sequences as one flat array plus offsets, and the batches the module trains on.

Every input the classifier accepts (a padded id matrix, a NaN-padded 3-D array, a list of
arrays of different lengths) is turned into :class:`RaggedSequences`: the real steps of all
rows, concatenated, and where each row starts. Padding is dropped on the way in, so nothing
downstream can mistake it for data: the width of the user's matrix and the side the padding
was on are forgotten, except for ``positions``, which maps each real step back to its column
so that attention weights can be returned in the user's layout.

Batches are built from this form on demand (:mod:`skseqattn._batches`): each is padded to
its own longest row, never to the data set's, and rows of similar length are grouped. This
module needs numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["RaggedSequences"]


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
