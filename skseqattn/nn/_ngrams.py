"""A linear model over hashed token n-grams: the 'wide' part next to the recurrent encoder.

Character n-grams with word-boundary markers are what makes TF-IDF + logistic regression
strong on names: a suffix such as ``-ov`` or ``-escu`` is one feature with one weight. A
recurrent network can learn such patterns too, but from a few thousand examples it learns
them more slowly than it starts to overfit elsewhere. :class:`HashedNgramLinear` gives the
network that linear model directly (as fastText and Wide & Deep do): every n-gram of orders
1 to ``max_order`` of the sequence framed by start and end markers is hashed into one of
``buckets`` rows of a table of class scores; the scores are summed and divided by the square
root of the number of n-grams (the L2 norm of the binary n-gram vector), and added to the
logits of the attention head.

It reads left-aligned token ids and lengths like the rest of the module, uses only integer
arithmetic that runs the same on every device and exports to ONNX, and depends on nothing
but the ids: no vocabulary of n-grams is stored.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["HashedNgramLinear", "ngram_hashes"]

_MOD = 2_147_483_647  # 2**31 - 1: hashes stay below 2**31, products below 2**52
_MULT = 1_000_003
_MARKER = 1 << 30  # start / end of sequence; real ids are far below


def ngram_hashes(X: torch.Tensor, lengths: torch.Tensor, max_order: int):
    """Hashes below ``2**31 - 1`` (batch, time + 2, max_order) of every n-gram of orders 1
    to ``max_order`` of the left-aligned ids ``X`` framed by start and end markers, and a
    mask of the real ones (unigrams leave out the markers). An n-gram's bucket is its hash
    modulo the number of buckets: see :meth:`HashedNgramLinear.ngram_ids`."""
    batch, width = X.shape[0], X.shape[1]
    X = X.long()
    lengths = lengths.to(X.device, torch.int64).unsqueeze(1)  # (batch, 1)
    pos = torch.arange(width + 2, device=X.device).unsqueeze(0)  # (1, time + 2)
    framed = torch.cat([X.new_zeros(batch, 1), X, X.new_zeros(batch, 1)], dim=1)
    marker = (pos == 0) | (pos == lengths + 1)
    framed = torch.where(marker, torch.full_like(framed, _MARKER), framed)
    h = torch.zeros_like(framed)
    hashes, masks = [], []
    for n in range(1, max_order + 1):
        back = torch.nn.functional.pad(framed, (n - 1, 0))[:, : width + 2]
        h = (h * _MULT + back + 1) % _MOD
        valid = (pos >= n - 1) & (pos <= lengths + 1)
        if n == 1:
            valid = valid & ~marker
        hashes.append(h)
        masks.append(valid)
    return torch.stack(hashes, dim=2), torch.stack(masks, dim=2)


class HashedNgramLinear(nn.Module):
    """Class scores from the hashed n-grams of each sequence.

    Parameters
    ----------
    n_classes : int
        Number of output scores.
    max_order : int, default=4
        Longest n-gram; orders 1 to ``max_order`` are used. Unigrams leave out the markers.
    buckets : int, default=65536
        Rows of the hashed table. Fewer rows are faster but make more n-grams share a row.
    gain : float, default=10.0
        Fixed factor on the table's output. Adam moves every weight by about the learning
        rate per step whatever the gradient's scale, so this multiplies the table's
        effective learning rate: a rare n-gram's weight must grow within the few epochs the
        recurrent part needs.
    sparse : bool, default=False
        Sparse gradients for the table (see :class:`torch.nn.Embedding`): a batch touches a
        few thousand of its rows, and an optimizer for sparse gradients
        (:class:`torch.optim.SparseAdam`) updates only those, where a dense one would
        update all ``buckets * n_classes`` weights at every step.

    Notes
    -----
    The table starts at zero, so an untrained model's logits are those of the recurrent
    part alone.
    """

    def __init__(
        self,
        n_classes: int,
        max_order: int = 4,
        buckets: int = 65536,
        gain: float = 10.0,
        sparse: bool = False,
    ):
        super().__init__()
        if max_order < 1:
            raise ValueError(f"max_order must be >= 1, got {max_order}.")
        if buckets < 1:
            raise ValueError(f"buckets must be >= 1, got {buckets}.")
        self.max_order = max_order
        self.buckets = buckets
        self.gain = gain
        self.table = nn.Embedding(buckets, n_classes, sparse=sparse)
        nn.init.zeros_(self.table.weight)

    def ngram_ids(self, X: torch.Tensor, lengths: torch.Tensor):
        """Bucket ids (batch, time + 2, max_order) and a mask of the real n-grams.

        Position ``p`` of order ``n`` holds the n-gram that ends at step ``p`` of the
        sequence framed by markers (step 0 is the start marker, ``lengths + 1`` the end).
        """
        hashes, valid = ngram_hashes(X, lengths, self.max_order)
        return hashes % self.buckets, valid

    def forward(self, X: torch.Tensor, lengths: torch.Tensor, dtype=None) -> torch.Tensor:
        """Scores of shape (batch, n_classes), summed in ``dtype`` (the table's by default)."""
        ids, valid = self.ngram_ids(X, lengths)
        dtype = self.table.weight.dtype if dtype is None else dtype
        weights = self.table(ids).to(dtype) * valid.unsqueeze(-1).to(dtype)
        total = weights.sum(dim=(1, 2))  # (batch, n_classes)
        count = valid.sum(dim=(1, 2)).clamp(min=1).to(total.dtype)
        return self.gain * total / count.sqrt().unsqueeze(1)

    def token_scores(self, X: torch.Tensor, lengths: torch.Tensor):
        """The scores of :meth:`forward` split exactly among the tokens.

        The term is linear in its n-grams, so each n-gram's share of the score (its row of
        the table times ``gain / sqrt(count)``) is split evenly among the real tokens it
        covers; start and end markers are not tokens. An n-gram that covers none (the
        pair of markers of an empty sequence) goes to the baseline. Per row,
        ``tokens.sum(dim=1) + baseline`` equals ``forward(X, lengths)``.

        Returns
        -------
        tokens : Tensor of shape (batch, time, n_classes)
            Each token's share of each class score; zero on padding.
        baseline : Tensor of shape (batch, n_classes)
            The share of n-grams that cover no token.
        """
        batch, width = X.shape[0], X.shape[1]
        ids, valid = self.ngram_ids(X, lengths)  # (batch, time + 2, max_order) each
        count = valid.sum(dim=(1, 2)).clamp(min=1).to(self.table.weight.dtype)  # (batch,)
        scale = (self.gain / count.sqrt()).view(batch, 1, 1, 1)
        scores = self.table(ids) * valid.unsqueeze(-1).to(scale.dtype) * scale
        # scores: (batch, time + 2, max_order, n_classes)
        lengths = lengths.to(X.device, torch.int64).unsqueeze(1)  # (batch, 1)
        pos = torch.arange(width + 2, device=X.device).unsqueeze(0)  # (1, time + 2)
        real = (pos >= 1) & (pos <= lengths)  # framed positions holding a token
        tokens = scores.new_zeros(batch, width + 2, scores.shape[-1])
        baseline = scores.new_zeros(batch, scores.shape[-1])
        for n in range(1, self.max_order + 1):
            # the n-gram ending at framed position p covers positions p - n + 1 .. p
            covered = [torch.nn.functional.pad(real, (j, 0))[:, : width + 2] for j in range(n)]
            n_covered = torch.stack(covered, dim=0).sum(dim=0)  # (batch, time + 2)
            order_scores = scores[:, :, n - 1]  # (batch, time + 2, n_classes)
            share = order_scores / n_covered.clamp(min=1).unsqueeze(-1).to(scores.dtype)
            baseline = baseline + (order_scores * (n_covered == 0).unsqueeze(-1)).sum(dim=1)
            for j in range(n):
                # the position j steps back from p receives a share if it is a token
                moved = torch.nn.functional.pad(share, (0, 0, 0, j))[:, j:]  # share of p + j
                tokens = tokens + moved * real.unsqueeze(-1).to(scores.dtype)
        return tokens[:, 1 : width + 1], baseline
