"""How much memory a batch takes, and the limit that keeps one long sequence from taking all.

The module's memory grows with the number of (row, step) cells of a batch: every layer
keeps a few vectors per step. Batches of short sequences hold hundreds of rows; one
sequence of a million steps would need gigabytes by itself and end in torch's raw
out-of-memory error, or in the kernel's killer. So the library

- caps the rows of a batch at what fits the limit (:func:`batch_steps`), so a batch of
  long rows holds fewer of them and memory stays bounded however long the rows are;
- refuses, before any work, a single sequence that would not fit the limit even alone
  (:func:`check_lengths`), with an error that names the row, its length, the memory it
  would take and the fix.

The limit is per batch, 2 GiB by default; the environment variable
``SKSEQATTN_MAX_BATCH_MEMORY`` sets another (bytes, or a number with ``KB``, ``MB``, ``GB``,
``KiB``, ``MiB`` or ``GiB``). The estimates are deliberately generous: measured peaks on a
CPU were 0.35 to 0.9 times them (``benchmarks/bench_huge_inputs.py``).
"""

from __future__ import annotations

import os
import re

import numpy as np

__all__ = [
    "MEMORY_ENV",
    "memory_limit",
    "step_bytes",
    "batch_steps",
    "check_lengths",
    "refuse_or_warn",
    "format_bytes",
]

MEMORY_ENV = "SKSEQATTN_MAX_BATCH_MEMORY"
DEFAULT_LIMIT = 2 * 2**30
MODES = ("predict", "explain", "fit")
"""What a batch is for: inference without autograd, a gradient path of ``explain``, training."""

_UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}
_UNITS.update({"KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40})
_TRAIN_FACTOR = 4
"""Activations kept for the backward pass and their gradients, against one forward pass."""


def memory_limit() -> int:
    """The per-batch memory limit in bytes: ``SKSEQATTN_MAX_BATCH_MEMORY`` or 2 GiB."""
    raw = os.environ.get(MEMORY_ENV, "").strip()
    if not raw:
        return DEFAULT_LIMIT
    match = re.fullmatch(r"([0-9]+(?:\.[0-9]*)?)\s*([A-Za-z]*)", raw)
    unit = match and _UNITS.get(match.group(2).upper())
    if not unit or float(match.group(1)) * unit < 1:
        raise ValueError(
            f"{MEMORY_ENV}={raw!r} is not a memory size; give bytes or a number with a unit, "
            "e.g. 8GiB or 500MB."
        )
    return int(float(match.group(1)) * unit)


def step_bytes(module, mode: str, itemsize: int) -> int:
    """Estimated peak bytes per (row, step) cell of a batch through ``module``.

    ``itemsize`` is that of the floats the layers compute in (8 for the float64 inference
    copy, 4 in training). The estimate counts the step vectors of the embedding, the
    convolution, the position features, every recurrent layer's gates and outputs and
    the attention, and the n-gram term's hashes; training and ``explain``'s gradient
    paths keep their activations and gradients too.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}.")
    rnn = module.rnn
    directions = 2 if rnn.bidirectional else 1
    floats = 3 * rnn.input_size + 5 * directions * rnn.hidden_size * rnn.num_layers
    ngrams = getattr(module, "ngrams", None)
    fixed = 256 + (320 * ngrams.max_order if ngrams is not None else 0)
    per_step = itemsize * floats + fixed
    return per_step * (1 if mode == "predict" else _TRAIN_FACTOR)


def batch_steps(module, mode: str, itemsize: int, limit: int | None = None) -> int:
    """How many (row, step) cells one batch may hold: at least one row's worth."""
    limit = memory_limit() if limit is None else limit
    return max(1, limit // step_bytes(module, mode, itemsize))


def check_lengths(lengths, module, mode: str, itemsize: int, *, who: str, rows=None) -> None:
    """Refuse a sequence too long to process within the limit even alone.

    Parameters
    ----------
    lengths : ndarray of int
        Length of each sequence.
    module : SequenceClassifierModule
    mode : {'predict', 'explain', 'fit'}
    itemsize : int
        See :func:`step_bytes`.
    who : str
        The estimator's name, for the message.
    rows : ndarray of int, default=None
        The row of the caller's input each length belongs to (default ``0..n-1``).

    Raises
    ------
    ValueError
        Naming the longest such row, its length, the memory it would take, the limit and
        the fix.
    """
    lengths = np.asarray(lengths)
    if not lengths.size:
        return
    limit = memory_limit()
    per_step = step_bytes(module, mode, itemsize)
    longest = int(np.argmax(lengths))
    length = int(lengths[longest])
    need = length * per_step
    if need <= limit:
        return
    row = int(rows[longest]) if rows is not None else longest
    fits = max(1, limit // per_step)
    doing = {"predict": "predicting", "explain": "explaining", "fit": "training on"}[mode]
    raise ValueError(
        f"{who}: row {row} has {length:,} steps; {doing} it would take about "
        f"{format_bytes(need)}, over the limit of {format_bytes(limit)} per batch (about "
        f"{fits:,} steps for this model). Cut long sequences first "
        f"(CharSequenceVectorizer(max_len=...), or windows of at most {fits:,} steps), or "
        f"raise the limit with the environment variable {MEMORY_ENV} (e.g. "
        f"{MEMORY_ENV}=8GiB) if the machine has the memory."
    )


def refuse_or_warn(message: str, n_bytes: int, *, what: str, stacklevel: int = 4) -> None:
    """Raise ``message`` as a ValueError when ``n_bytes`` exceed the limit, else warn it.

    ``what`` names what was not allocated, for the error (e.g. ``'the matrix'``).
    """
    import warnings

    if n_bytes > memory_limit():
        raise ValueError(
            f"{message} This is over the memory limit ({MEMORY_ENV} raises it) and was "
            f"refused before {what} was allocated."
        )
    warnings.warn(message, UserWarning, stacklevel=stacklevel + 1)


def format_bytes(n_bytes: float) -> str:
    """``n_bytes`` as a short text in GiB, MiB, KiB or bytes, for messages."""
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n_bytes >= scale:
            return f"{n_bytes / scale:.1f} {unit}"
    return f"{int(n_bytes)} bytes"
