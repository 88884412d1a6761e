"""A careful hand-written PyTorch reference: BiLSTM + masked additive attention.

This is the speed reference the library is measured against, so it does what an experienced
PyTorch user would do and nothing more:

- the vocabulary and one (n, longest) int64 id matrix plus a lengths vector are built once,
  before the first epoch; no per-sample Python work happens inside the epoch loop;
- each epoch draws a seeded permutation, sorts indices by length inside chunks of
  ``chunk_batches`` batches, cuts them into batches and shuffles the batch order (bucketing),
  so every batch is padded only to its own longest sequence and holds sequences of similar
  length;
- the LSTM runs over ``pack_padded_sequence(..., enforce_sorted=False)`` and the attention
  softmax is masked so padding gets exactly zero weight;
- prediction runs under ``torch.no_grad()`` in eval mode over rows sorted by length, in batches
  of one length each (at most ``predict_batch_size`` rows), and puts the rows back in the
  caller's order. One length per batch means no padding at all, and it matters on the CPU:
  PyTorch runs a packed LSTM through its fused oneDNN kernel (``aten::mkldnn_rnn_layer``) only
  when every sequence in the batch has the same length, and otherwise through a slower
  step-by-step path. Length-sorted training chunks get that for most batches as well.

The module is shared with the plain-skorch contender, :class:`NaiveSkorchClassifier` (what a
typical skorch user writes: ids padded to the longest name, skorch's default DataLoader), so
that both run the same architecture. Nothing here imports skseqattn.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

PAD_ID = 0
UNK_ID = 1
FIRST_CHAR_ID = 2


# --------------------------------------------------------------------------------------------
# Ids
# --------------------------------------------------------------------------------------------
def build_vocabulary(sequences: Sequence[str]) -> dict[str, int]:
    """Map each character seen to an id, in sorted order, starting at ``FIRST_CHAR_ID``."""
    chars = sorted(set().union(*map(set, sequences)))
    return {char: i for i, char in enumerate(chars, start=FIRST_CHAR_ID)}


def encode_padded(
    sequences: Sequence[str], vocabulary: dict[str, int], width: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Encode to a right-padded (n, width) int64 id matrix and an int64 lengths vector.

    ``width`` defaults to the longest sequence; longer sequences are truncated to it.
    """
    lengths = np.fromiter((len(s) for s in sequences), dtype=np.int64, count=len(sequences))
    if width is None:
        width = int(lengths.max()) if len(sequences) else 1
    lengths = np.minimum(lengths, width)
    ids = np.full((len(sequences), width), PAD_ID, dtype=np.int64)
    get = vocabulary.get
    for row, text in enumerate(sequences):
        ids[row, : lengths[row]] = [get(char, UNK_ID) for char in text[:width]]
    return ids, lengths


# --------------------------------------------------------------------------------------------
# Module
# --------------------------------------------------------------------------------------------
class AdditiveAttentionBiLSTM(nn.Module):
    """Embedding -> dropout -> packed BiLSTM -> masked additive attention -> dropout -> head.

    Attention (Bahdanau / HAN style): ``u_t = tanh(W h_t + b)``, ``score_t = v . u_t``,
    ``alpha = softmax(score)`` over the real steps only, ``context = sum_t alpha_t h_t``.
    ``W`` maps the ``2 * hidden_size`` BiLSTM output to ``attention_dim`` (default
    ``2 * hidden_size``); ``v`` has no bias. Returns logits.

    ``forward(ids, lengths=None)``: ``ids`` is (batch, time) int64 with ``PAD_ID`` padding on
    the right; ``lengths`` (a CPU int64 tensor) is computed from ``ids != PAD_ID`` when omitted.
    """

    def __init__(
        self,
        vocab_size: int,
        n_classes: int,
        embedding_dim: int = 64,
        hidden_size: int = 64,
        attention_dim: int | None = None,
        dropout: float = 0.2,
    ) -> None:
        super().__init__()
        attention_dim = 2 * hidden_size if attention_dim is None else attention_dim
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=PAD_ID)
        self.lstm = nn.LSTM(
            embedding_dim, hidden_size, num_layers=1, batch_first=True, bidirectional=True
        )
        self.attention_w = nn.Linear(2 * hidden_size, attention_dim)
        self.attention_v = nn.Linear(attention_dim, 1, bias=False)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(2 * hidden_size, n_classes)

    def forward(
        self,
        ids: torch.Tensor,
        lengths: torch.Tensor | None = None,
        return_attention: bool = False,
    ):
        if lengths is None:
            lengths = (ids != PAD_ID).sum(dim=1)
        lengths = lengths.cpu()
        embedded = self.dropout(self.embedding(ids))  # (batch, time, embedding_dim)
        packed = pack_padded_sequence(embedded, lengths, batch_first=True, enforce_sorted=False)
        packed_out, _ = self.lstm(packed)
        states, _ = pad_packed_sequence(packed_out, batch_first=True)  # (batch, steps, 2 * hidden)
        steps = states.shape[1]
        mask = (
            torch.arange(steps, device=states.device)[None, :] < lengths.to(states.device)[:, None]
        )  # (batch, steps)
        scores = self.attention_v(torch.tanh(self.attention_w(states))).squeeze(-1)
        scores = scores.masked_fill(~mask, float("-inf"))  # (batch, steps)
        weights = torch.softmax(scores, dim=1)  # padding: exp(-inf) = exactly 0
        context = torch.bmm(weights.unsqueeze(1), states).squeeze(1)  # (batch, 2 * hidden)
        logits = self.head(self.dropout(context))  # (batch, n_classes)
        if return_attention:
            return logits, weights
        return logits


def count_parameters(module: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


# --------------------------------------------------------------------------------------------
# Batching
# --------------------------------------------------------------------------------------------
def bucketed_batches(
    lengths: torch.Tensor,
    batch_size: int,
    generator: torch.Generator,
    chunk_batches: int = 50,
) -> list[torch.Tensor]:
    """Shuffled batches of indices whose sequences have similar lengths.

    Indices are permuted, sorted by length inside chunks of ``chunk_batches * batch_size``,
    cut into batches, and the batch order is shuffled. Fully vectorised: one sort per epoch.
    """
    n = lengths.numel()
    perm = torch.randperm(n, generator=generator)
    chunk_id = torch.arange(n) // (batch_size * chunk_batches)
    key = chunk_id * (int(lengths.max()) + 1) + lengths[perm]
    order = perm[torch.argsort(key, stable=True)]
    batches = torch.split(order, batch_size)
    batch_order = torch.randperm(len(batches), generator=generator).tolist()
    return [batches[i] for i in batch_order]


# --------------------------------------------------------------------------------------------
# The loop
# --------------------------------------------------------------------------------------------
class HandwrittenClassifier:
    """Train :class:`AdditiveAttentionBiLSTM` with a plain PyTorch loop.

    ``fit(sequences, y)`` takes strings and integer labels ``0 .. n_classes - 1``;
    ``predict_proba(sequences)`` returns an (n, n_classes) float array of probabilities.
    Adam, cross-entropy, a fixed number of epochs, no validation split, no early stopping.
    """

    def __init__(
        self,
        *,
        embedding_dim: int = 64,
        hidden_size: int = 64,
        attention_dim: int | None = None,
        dropout: float = 0.2,
        max_epochs: int = 10,
        batch_size: int = 64,
        predict_batch_size: int = 512,
        lr: float = 3e-3,
        chunk_batches: int = 50,
        device: str = "cpu",
        random_state: int = 0,
    ) -> None:
        self.embedding_dim = embedding_dim
        self.hidden_size = hidden_size
        self.attention_dim = attention_dim
        self.dropout = dropout
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.predict_batch_size = predict_batch_size
        self.lr = lr
        self.chunk_batches = chunk_batches
        self.device = device
        self.random_state = random_state

    def fit(self, sequences: Sequence[str], y) -> HandwrittenClassifier:
        device = torch.device(self.device)
        torch.manual_seed(self.random_state)
        generator = torch.Generator().manual_seed(self.random_state)

        self.vocabulary_ = build_vocabulary(sequences)
        ids_np, lengths_np = encode_padded(sequences, self.vocabulary_)
        y_np = np.asarray(y, dtype=np.int64)
        self.n_classes_ = int(y_np.max()) + 1
        ids = torch.from_numpy(ids_np).to(device)  # (n, longest)
        targets = torch.from_numpy(y_np).to(device)  # (n,)
        lengths = torch.from_numpy(lengths_np)  # (n,), stays on the CPU for packing

        self.module_ = AdditiveAttentionBiLSTM(
            len(self.vocabulary_) + FIRST_CHAR_ID,
            self.n_classes_,
            embedding_dim=self.embedding_dim,
            hidden_size=self.hidden_size,
            attention_dim=self.attention_dim,
            dropout=self.dropout,
        ).to(device)
        optimizer = torch.optim.Adam(self.module_.parameters(), lr=self.lr)
        criterion = nn.CrossEntropyLoss()

        self.epoch_losses_ = []
        self.module_.train()
        for _ in range(self.max_epochs):
            total = torch.zeros((), device=device)
            for index in bucketed_batches(lengths, self.batch_size, generator, self.chunk_batches):
                batch_lengths = lengths[index]
                width = int(batch_lengths.max())
                index_dev = index.to(device, non_blocking=True)
                batch_ids = ids[index_dev, :width]  # (batch, width)
                optimizer.zero_grad(set_to_none=True)
                loss = criterion(self.module_(batch_ids, batch_lengths), targets[index_dev])
                loss.backward()
                optimizer.step()
                total += loss.detach() * index.numel()
            self.epoch_losses_.append(total)
        # One host sync for all epochs, after training.
        self.epoch_losses_ = [float(t) / len(y_np) for t in self.epoch_losses_]
        self.n_epochs_ = self.max_epochs
        return self

    @torch.no_grad()
    def predict_proba(self, sequences: Sequence[str]) -> np.ndarray:
        device = torch.device(self.device)
        ids_np, lengths_np = encode_padded(sequences, self.vocabulary_)
        ids = torch.from_numpy(ids_np).to(device)
        lengths = torch.from_numpy(lengths_np)
        order = torch.argsort(lengths, stable=True)
        _, counts = torch.unique_consecutive(lengths[order], return_counts=True)
        self.module_.eval()
        chunks = []
        for same_length in torch.split(order, counts.tolist()):
            for index in torch.split(same_length, self.predict_batch_size):
                batch_lengths = lengths[index]
                width = int(batch_lengths[0])
                logits = self.module_(ids[index.to(device), :width], batch_lengths)
                chunks.append(torch.softmax(logits, dim=1))
        sorted_proba = torch.cat(chunks)  # rows in length order
        proba = torch.empty_like(sorted_proba)
        proba[order.to(device)] = sorted_proba  # back to the caller's order
        return proba.cpu().numpy()

    def predict(self, sequences: Sequence[str]) -> np.ndarray:
        return self.predict_proba(sequences).argmax(axis=1)


# --------------------------------------------------------------------------------------------
# The same module through plain skorch
# --------------------------------------------------------------------------------------------
class FixedWidthIds:
    """What a typical skorch user writes: ids padded to the longest name of the data given."""

    def fit(self, sequences):
        self.vocabulary_ = build_vocabulary(sequences)
        self.vocab_size_ = len(self.vocabulary_) + FIRST_CHAR_ID
        return self

    def transform(self, sequences):
        ids, _ = encode_padded(sequences, self.vocabulary_)
        return ids


class NaiveSkorchClassifier:
    """The reference module through a plain ``skorch.NeuralNetClassifier``.

    Fixed-width int64 ids and int labels, skorch's default DataLoader with shuffling, no
    validation split, logits + ``nn.CrossEntropyLoss`` (skorch then applies a softmax in
    ``predict_proba``).
    """

    def __init__(self, cfg: dict, seed: int) -> None:
        self.cfg = cfg
        self.seed = seed

    def fit(self, sequences, y):
        from skorch import NeuralNetClassifier

        cfg = self.cfg
        torch.manual_seed(self.seed)
        self.vectorizer_ = FixedWidthIds().fit(sequences)
        ids = self.vectorizer_.transform(sequences)
        y = np.asarray(y, dtype=np.int64)
        self.net_ = NeuralNetClassifier(
            AdditiveAttentionBiLSTM,
            module__vocab_size=self.vectorizer_.vocab_size_,
            module__n_classes=int(y.max()) + 1,
            module__embedding_dim=cfg["embedding_dim"],
            module__hidden_size=cfg["hidden_size"],
            module__attention_dim=cfg["attention_dim"],
            module__dropout=cfg["dropout"],
            criterion=nn.CrossEntropyLoss,
            optimizer=torch.optim.Adam,
            lr=cfg["lr"],
            max_epochs=cfg["epochs"],
            batch_size=cfg["batch_size"],
            iterator_train__shuffle=True,
            train_split=None,
            device=cfg["device"],
            verbose=0,
        )
        self.net_.fit(ids, y)
        return self

    def predict_proba(self, sequences):
        return self.net_.predict_proba(self.vectorizer_.transform(sequences))


def find_torch_module(estimator):
    """The fitted ``nn.Module`` inside an estimator, pipeline or skorch net, or None."""
    if hasattr(estimator, "steps"):
        estimator = estimator.steps[-1][1]
    candidates = [estimator]
    for attr in ("module_", "net_", "model_", "estimator_"):
        candidates.append(getattr(estimator, attr, None))
    candidates.extend(vars(estimator).values())
    for obj in candidates:
        if isinstance(obj, nn.Module):
            return obj
        inner = getattr(obj, "module_", None)
        if isinstance(inner, nn.Module):
            return inner
    return None
