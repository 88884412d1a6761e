"""Masked pooling layers: they turn RNN outputs of shape (batch, time, dim) into one vector.

Every layer takes a boolean ``mask`` of shape (batch, time) that is True on real steps. Padding
never receives weight, and a row with no real step (an empty sequence) pools to a vector of
zeros instead of NaN.
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = [
    "AdditiveAttention",
    "DotAttention",
    "GeneralAttention",
    "ScaledDotAttention",
    "LastStatePooling",
    "MaxPooling",
    "MeanPooling",
    "masked_softmax",
]


def masked_softmax(scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Softmax over the time axis (dim 1) that gives padded steps exactly zero weight.

    Parameters
    ----------
    scores : Tensor of shape (batch, time, heads)
    mask : bool Tensor of shape (batch, time)

    Returns
    -------
    weights : Tensor of shape (batch, time, heads)
        Each row sums to 1 over its real steps, is exactly 0 on padding, and is all zeros
        for a row without any real step.

    Examples
    --------
    >>> import torch
    >>> scores = torch.zeros(2, 3, 1)
    >>> mask = torch.tensor([[True, True, False], [False, False, False]])
    >>> masked_softmax(scores, mask)[..., 0]
    tensor([[0.5000, 0.5000, 0.0000],
            [0.0000, 0.0000, 0.0000]])
    """
    m = mask.unsqueeze(-1)  # (batch, time, 1)
    # A finite fill value (rather than -inf) keeps all-padding rows free of NaN; multiplying by
    # the mask afterwards zeroes them, and on mixed rows exp(min - max) underflows to exact 0.
    filled = scores.masked_fill(~m, torch.finfo(scores.dtype).min)
    weights = torch.softmax(filled, dim=1)
    return weights * m.to(weights.dtype)


def _pool(outputs: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Weighted sums of ``outputs`` (batch, time, dim) by ``weights`` (batch, time, heads).

    Returns (batch, heads * dim), heads concatenated.
    """
    context = torch.einsum("bth,btd->bhd", weights, outputs)  # (batch, heads, dim)
    return context.reshape(context.shape[0], -1)


class _Attention(nn.Module):
    """Base class: subclasses implement ``scores``; pooling and masking are shared."""

    def __init__(self, input_dim: int, heads: int = 1):
        super().__init__()
        if heads < 1:
            raise ValueError(f"heads must be >= 1, got {heads}.")
        self.input_dim = input_dim
        self.heads = heads

    @property
    def output_dim(self) -> int:
        return self.input_dim * self.heads

    def scores(self, outputs, mask, final_state):  # pragma: no cover - abstract
        raise NotImplementedError

    def weights(self, outputs, mask, final_state=None):
        """Attention weights of shape (batch, time, heads)."""
        return masked_softmax(self.scores(outputs, mask, final_state), mask)

    def forward(self, outputs, mask, final_state=None):
        """Return (pooled, weights): (batch, heads * input_dim) and (batch, time, heads)."""
        weights = self.weights(outputs, mask, final_state)
        return _pool(outputs, weights), weights


class AdditiveAttention(_Attention):
    """Bahdanau (additive, concat) / HAN-style attention against learned context vectors.

    ``score_t = v_k . tanh(W h_t + b)`` for each head ``k``; with several heads this is the
    structured self-attention of Lin et al. (2017): one hidden projection, one context vector
    per head.

    Parameters
    ----------
    input_dim : int
        Size of each time step's vector ``h_t``.
    attention_dim : int, default=None
        Size of the hidden projection ``W h_t``; ``input_dim`` when None.
    heads : int, default=1
        Number of context vectors; their pooled vectors are concatenated.
    """

    def __init__(self, input_dim: int, attention_dim: int | None = None, heads: int = 1):
        super().__init__(input_dim, heads)
        attention_dim = attention_dim or input_dim
        self.project = nn.Linear(input_dim, attention_dim)
        self.context = nn.Linear(attention_dim, heads, bias=False)

    def scores(self, outputs, mask, final_state):
        return self.context(torch.tanh(self.project(outputs)))  # (batch, time, heads)


class DotAttention(_Attention):
    """Luong's dot score with the final hidden state as the query (Luong et al., 2015).

    ``score_t = h_t . s``, unscaled, as in the paper, where ``s`` is the sequence's final
    state (the forward direction's last real step and the backward direction's first). It
    has no parameters, hence a single head.

    Notes
    -----
    Before this class was Luong's dot, ``DotAttention`` was the learned-query scaled dot
    product, now :class:`ScaledDotAttention`; an object of that kind unpickles as one.
    """

    def __init__(self, input_dim: int, heads: int = 1):
        super().__init__(input_dim, heads)
        if heads != 1:
            raise ValueError(
                f"DotAttention (Luong's dot score) has no parameters, so its {heads} heads "
                "would be copies of one head; use heads=1, or GeneralAttention or "
                "ScaledDotAttention for several heads."
            )

    def scores(self, outputs, mask, final_state):
        if final_state is None:
            raise ValueError("DotAttention needs the final state as its query.")
        return torch.einsum("btd,bd->bt", outputs, final_state).unsqueeze(-1)  # (b, t, 1)

    def __setstate__(self, state):
        super().__setstate__(state)
        if "query" in self._parameters:  # pickled when DotAttention had a learned query
            self.__class__ = ScaledDotAttention


class ScaledDotAttention(_Attention):
    """Scaled dot-product attention with learned queries: ``score_t = q_k . h_t / sqrt(d)``.

    One learned query vector ``q_k`` per head (the context vector of :class:`AdditiveAttention`
    without its hidden layer), scaled as in Vaswani et al. (2017).
    """

    def __init__(self, input_dim: int, heads: int = 1):
        super().__init__(input_dim, heads)
        self.query = nn.Parameter(torch.empty(heads, input_dim))
        nn.init.normal_(self.query, std=1.0 / math.sqrt(input_dim))

    def scores(self, outputs, mask, final_state):
        return torch.einsum("btd,hd->bth", outputs, self.query) / math.sqrt(self.input_dim)


class GeneralAttention(_Attention):
    """Luong's general score with the final hidden state as the query (Luong et al., 2015).

    ``score_t = h_t^T W_k s / sqrt(d)``, where ``s`` is the sequence's final state (the
    forward direction's last real step and the backward direction's first), ``W_k`` one
    matrix per head and ``d`` the size of ``h_t`` (a scale the paper does not have, which
    keeps the softmax from saturating at the start of training).
    """

    def __init__(self, input_dim: int, query_dim: int | None = None, heads: int = 1):
        super().__init__(input_dim, heads)
        query_dim = query_dim or input_dim
        self.bilinear = nn.Linear(query_dim, heads * input_dim, bias=False)

    def scores(self, outputs, mask, final_state):
        if final_state is None:
            raise ValueError("GeneralAttention needs the final state as its query.")
        batch = outputs.shape[0]
        keys = self.bilinear(final_state).view(batch, self.heads, self.input_dim)
        return torch.einsum("btd,bhd->bth", outputs, keys) / math.sqrt(self.input_dim)


class LastStatePooling(nn.Module):
    """The final state: forward direction at the last real step, backward at the first."""

    def __init__(self, input_dim: int):
        super().__init__()
        self.output_dim = input_dim

    def forward(self, outputs, mask, final_state=None):
        return final_state, None


class MeanPooling(nn.Module):
    """Mean of the real steps; zeros for an empty sequence."""

    def __init__(self, input_dim: int):
        super().__init__()
        self.output_dim = input_dim

    def forward(self, outputs, mask, final_state=None):
        m = mask.unsqueeze(-1).to(outputs.dtype)  # (batch, time, 1)
        total = (outputs * m).sum(dim=1)
        count = m.sum(dim=1).clamp(min=1.0)
        return total / count, None


class MaxPooling(nn.Module):
    """Element-wise maximum over the real steps; zeros for an empty sequence."""

    def __init__(self, input_dim: int):
        super().__init__()
        self.output_dim = input_dim

    def forward(self, outputs, mask, final_state=None):
        m = mask.unsqueeze(-1)  # (batch, time, 1)
        filled = outputs.masked_fill(~m, torch.finfo(outputs.dtype).min)
        if filled.shape[1] == 0:
            return outputs.new_zeros(outputs.shape[0], outputs.shape[2]), None
        pooled = filled.max(dim=1).values
        empty = ~mask.any(dim=1, keepdim=True)
        return pooled.masked_fill(empty, 0.0), None
