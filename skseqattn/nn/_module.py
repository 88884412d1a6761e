"""The PyTorch module: embedding (or raw features) -> bidirectional RNN -> pooling -> head.

This module knows nothing of scikit-learn. It takes a batch whose rows are left-aligned
(real steps first, padding after) together with each row's true length, so that

- the RNN runs on packed sequences: the forward direction ends, and the backward direction
  starts, at each row's real last step, never on padding;
- pooling is masked: padding gets exactly zero weight and an empty row pools to zeros;
- nothing depends on how wide the batch is or which other rows share it.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from .._options import ATTENTION_NAMES_HINT, ATTENTIONS, POOLINGS
from ._attention import (
    AdditiveAttention,
    DotAttention,
    GeneralAttention,
    LastStatePooling,
    MaxPooling,
    MeanPooling,
    ScaledDotAttention,
)
from ._ngrams import HashedNgramLinear
from ._rocket import SeriesRocketLinear, downsample, stride_for, upsample_weights

__all__ = ["SequenceClassifierModule", "CELLS", "POOLINGS", "ATTENTIONS"]


class SinusoidalPosition(nn.Module):
    """A learned linear map of sinusoidal position features, (1, time, input_size).

    Features are sin and cos of ``t * 2 pi / period`` for ``n_frequencies`` periods spaced
    geometrically from 2 to 512 steps; the map starts at zero, so a fresh module computes
    exactly what it would without positions until training moves it.
    """

    def __init__(self, input_size: int, n_frequencies: int = 16):
        super().__init__()
        periods = torch.logspace(1, 9, n_frequencies, base=2.0)
        self.register_buffer("angular", 2 * torch.pi / periods, persistent=False)
        self.proj = nn.Linear(2 * n_frequencies, input_size, bias=False)
        nn.init.zeros_(self.proj.weight)

    def forward(self, width: int, like: torch.Tensor) -> torch.Tensor:
        steps = torch.arange(width, device=like.device, dtype=self.angular.dtype)
        phases = steps[:, None] * self.angular[None, :]  # (time, n_frequencies)
        features = torch.cat([phases.sin(), phases.cos()], dim=1)
        return self.proj(features).to(like.dtype).unsqueeze(0)  # (1, time, input_size)


class LocalConvolution(nn.Module):
    """A residual 1-D convolution over the step inputs: ``x + relu(conv(x))``.

    Each step's input gains features of the `kernel_size` steps around it (odd, centred),
    so that a short pattern (a motif, a syllable, a local shape in a series) is one
    feature the recurrent layer reads rather than a run of steps it must remember. Steps
    outside ``mask`` are set to zero first, so that what follows a row's last real step
    is the same zero padding, however much padding the batch has.
    """

    def __init__(self, input_size: int, kernel_size: int):
        super().__init__()
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be a positive odd int, got {kernel_size!r}.")
        self.conv = nn.Conv1d(input_size, input_size, kernel_size, padding=kernel_size // 2)

    def forward(self, inputs: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = inputs.masked_fill(~mask.unsqueeze(2), 0.0)  # (batch, time, input_size)
        return x + torch.relu(self.conv(x.transpose(1, 2))).transpose(1, 2)


CELLS = {"lstm": nn.LSTM, "gru": nn.GRU}
"""The recurrent layer of each name in ``skseqattn._options.CELLS``: the option lists
(``POOLINGS`` and ``ATTENTIONS`` too) live there, torch-free, for the estimator to check."""
_ATTENTION_CLASSES = {
    "additive": AdditiveAttention,
    "dot": DotAttention,
    "general": GeneralAttention,
    "scaled_dot": ScaledDotAttention,
}
_MAX_DEPTH = 40  # halvings of a quadrature panel: widths down to 2**-40 of the path


class SequenceClassifierModule(nn.Module):
    """Encoder + masked pooling + linear head for one label per sequence.

    Parameters
    ----------
    n_classes : int
        Number of output logits.
    vocab_size : int, default=None
        Number of token ids (padding 0 and unknown 1 included) for token input. Exactly one
        of ``vocab_size`` and ``n_features`` is given.
    n_features : int, default=None
        Size of each step's feature vector for real-valued input.
    embedding_dim : int, default=64
        Size of the token embedding (ignored for real-valued input).
    hidden_size : int, default=64
        Hidden size of the RNN in each direction.
    num_layers : int, default=1
        Number of stacked RNN layers.
    bidirectional : bool, default=True
        Run a backward direction too; outputs have size ``2 * hidden_size`` then.
    cell : {'lstm', 'gru'}, default='lstm'
    pooling : {'attention', 'last', 'mean', 'max'}, default='attention'
    attention : {'additive', 'dot', 'general', 'scaled_dot'}, default='additive'
        The attention score when ``pooling='attention'``: :class:`AdditiveAttention`
        (Bahdanau), :class:`DotAttention` and :class:`GeneralAttention` (Luong's dot and
        general scores against the final state) or :class:`ScaledDotAttention` (a learned
        query).
    attention_heads : int, default=1
        Number of attention heads; their context vectors are concatenated.
    dropout : float, default=0.0
        Dropout on the RNN's inputs (the embedded tokens), between stacked layers and on the
        pooled vector before the head.
    embedding_weights : array-like of shape (vocab_size, embedding_dim), default=None
        Initial embedding (e.g. pretrained vectors aligned with the vocabulary).
    freeze_embeddings : bool, default=False
        Keep the embedding fixed during training.
    ngram_order : int, default=0
        For token input: add to the logits a linear model over the sequence's hashed
        n-grams of orders 1 to ``ngram_order`` (see :class:`HashedNgramLinear`). 0 leaves
        it out; ignored for real-valued input.
    ngram_buckets : int, default=65536
        Rows of the hashed n-gram table.
    ngram_sparse : bool, default=False
        Sparse gradients for the n-gram table, for :class:`torch.optim.SparseAdam`.
    embedding_sparse : bool, default=False
        Sparse gradients for the token embedding, for :class:`torch.optim.SparseAdam`: a
        batch touches a few hundred rows of a large word vocabulary, and a dense optimizer
        would update every row at every step.
    position_encoding : bool, default=False
        Add to each step's input a learned linear map (started at zero) of sinusoidal
        features of its position from the start, so that the RNN and the attention know
        where a step sits (for signals at fixed positions).
    conv_kernel : int, default=0
        Width (odd) of a residual convolution over the step inputs before the RNN (see
        :class:`LocalConvolution`); 0 leaves it out.
    rocket_features : int, default=0
        For real-valued input: add to the logits the MiniRocket-style linear branch of about
        this many features (see :class:`~skseqattn.nn._rocket.SeriesRocketLinear`); 0
        leaves it out. It outputs zeros until its ``fit`` runs on training series.
    series_length : int, default=0
        Length of the longest training series (real-valued input): sets the branch's
        dilations and, with `max_steps`, the front-end's window.
    max_steps : int, default=None
        For real-valued input: average windows of ``ceil(series_length / max_steps)``
        steps before the RNN (:func:`~skseqattn.nn._rocket.downsample`), so that it reads
        at most about ``max_steps`` steps; attention is spread back over the input's steps.
        None reads every step.

    Notes
    -----
    Inputs to :meth:`forward` are ``X`` of shape (batch, time) with integer ids (0 is padding)
    or (batch, time, n_features) floats, and ``lengths`` of shape (batch,). Row ``i`` must hold
    its real steps in ``X[i, :lengths[i]]``; what follows is ignored.
    """

    def __init__(
        self,
        *,
        n_classes: int,
        vocab_size: int | None = None,
        n_features: int | None = None,
        embedding_dim: int = 64,
        hidden_size: int = 64,
        num_layers: int = 1,
        bidirectional: bool = True,
        cell: str = "lstm",
        pooling: str = "attention",
        attention: str = "additive",
        attention_heads: int = 1,
        dropout: float = 0.0,
        embedding_weights=None,
        freeze_embeddings: bool = False,
        ngram_order: int = 0,
        ngram_buckets: int = 65536,
        ngram_sparse: bool = False,
        embedding_sparse: bool = False,
        position_encoding: bool = False,
        conv_kernel: int = 0,
        rocket_features: int = 0,
        series_length: int = 0,
        max_steps: int | None = None,
    ):
        super().__init__()
        if (vocab_size is None) == (n_features is None):
            raise ValueError("Give exactly one of vocab_size (token ids) and n_features.")
        if cell not in CELLS:
            raise ValueError(f"cell must be one of {sorted(CELLS)}, got {cell!r}.")
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}.")
        self.tokens = vocab_size is not None
        self.pooling_name = pooling

        if self.tokens:
            if embedding_weights is not None:
                # a copy: training must never write into the caller's array
                weights = torch.tensor(np.asarray(embedding_weights), dtype=torch.float32)
                self.embedding = nn.Embedding.from_pretrained(
                    weights, freeze=freeze_embeddings, padding_idx=0, sparse=embedding_sparse
                )
            else:
                self.embedding = nn.Embedding(
                    vocab_size, embedding_dim, padding_idx=0, sparse=embedding_sparse
                )
                if freeze_embeddings:
                    self.embedding.weight.requires_grad_(False)
            input_size = self.embedding.embedding_dim
        else:
            self.embedding = None
            input_size = n_features

        self.conv = LocalConvolution(input_size, conv_kernel) if conv_kernel else None
        self.position = SinusoidalPosition(input_size) if position_encoding else None
        self.input_dropout = nn.Dropout(dropout)
        self.rnn = CELLS[cell](
            input_size,
            hidden_size,
            num_layers=num_layers,
            bidirectional=bidirectional,
            batch_first=True,
            dropout=dropout if num_layers > 1 else 0.0,
        )
        self.num_directions = 2 if bidirectional else 1
        self.num_layers = num_layers
        out_dim = hidden_size * self.num_directions

        if pooling == "attention":
            if attention not in _ATTENTION_CLASSES:
                raise ValueError(
                    f"attention must be one of {ATTENTIONS}, got {attention!r}. "
                    + ATTENTION_NAMES_HINT
                )
            self.pool = _ATTENTION_CLASSES[attention](out_dim, heads=attention_heads)
        else:
            self.pool = {"last": LastStatePooling, "mean": MeanPooling, "max": MaxPooling}[pooling](
                out_dim
            )
        self.output_dropout = nn.Dropout(dropout)
        self.head = nn.Linear(self.pool.output_dim, n_classes)
        self.ngrams = None
        if self.tokens and ngram_order:
            self.ngrams = HashedNgramLinear(
                n_classes, max_order=ngram_order, buckets=ngram_buckets, sparse=ngram_sparse
            )
        self.rocket = None
        self.stride = 1 if self.tokens else stride_for(int(series_length), max_steps)
        if not self.tokens and rocket_features and series_length:
            self.rocket = SeriesRocketLinear(
                n_features, n_classes, int(series_length), n_outputs=int(rocket_features)
            )
            # a learned factor on the branch's scores (started at 1): where the branch's
            # leave-one-out scores mislead, training turns it down
            self.branch_scale = nn.Parameter(torch.ones(1))
            # the recurrent part starts at zero: the logits are the branch's until it learns
            nn.init.zeros_(self.head.weight)
            nn.init.zeros_(self.head.bias)
        self._init_forget_gate(cell)

    def _init_forget_gate(self, cell):
        # A forget-gate bias of 1 (Jozefowicz et al., 2015) lets gradients flow through long
        # sequences from the first epoch.
        if cell != "lstm":
            return
        hidden = self.rnn.hidden_size
        for name, param in self.rnn.named_parameters():
            if name.startswith("bias_ih"):
                with torch.no_grad():
                    param[hidden : 2 * hidden].fill_(1.0)

    def encode(self, X: torch.Tensor, lengths: torch.Tensor):
        """Run the RNN; return outputs (batch, time, dirs * hidden), mask, final state."""
        batch, width = X.shape[0], X.shape[1]
        lengths = lengths.to("cpu", torch.int64)
        if width == 0:  # only empty rows: give the RNN one (ignored) padding step
            pad_shape = (batch, 1) + tuple(X.shape[2:])
            X = X.new_zeros(pad_shape)
            width = 1
        steps = torch.arange(width, device=X.device)
        mask = steps.unsqueeze(0) < lengths.to(X.device).unsqueeze(1)  # (batch, time)

        inputs = self.embedding(X) if self.tokens else X  # (batch, time, input_size)
        # In the dtype of the layers: a float64 copy for inference keeps its embedding
        # table in float32 (a lookup rounds nothing) and computes the rest in float64.
        inputs = inputs.to(self.head.weight.dtype)
        return self._encode_inputs(inputs, lengths, mask)

    def _encode_inputs(self, inputs: torch.Tensor, lengths: torch.Tensor, mask: torch.Tensor):
        """:meth:`encode` from the embedded inputs (batch, time, input_size) on."""
        if getattr(self, "stride", 1) > 1:  # the front-end: windows of `stride` steps
            inputs, lengths, mask = downsample(inputs, lengths, self.stride)
        batch, width = inputs.shape[0], inputs.shape[1]
        if self.conv is not None:
            inputs = self.conv(inputs, mask)
        if self.position is not None:
            inputs = inputs + self.position(width, inputs)
        inputs = self.input_dropout(inputs)
        if bool((lengths == width).all()):
            # No padding at all (batches of one length, as the bucketing produces): the plain
            # call is exact and runs the fused oneDNN kernel, which packed input does not.
            outputs, state = self.rnn(inputs)
        else:
            # pack_padded_sequence rejects length 0; an empty row runs over one padding step
            # and everything it produces is masked out below.
            packed = pack_padded_sequence(
                inputs, lengths.clamp(min=1), batch_first=True, enforce_sorted=False
            )
            packed_out, state = self.rnn(packed)
            outputs, _ = pad_packed_sequence(packed_out, batch_first=True, total_length=width)
        # outputs: (batch, time, dirs * hidden)
        h_n = state[0] if isinstance(state, tuple) else state  # (layers * dirs, batch, hidden)
        h_last = h_n.view(self.num_layers, self.num_directions, batch, -1)[-1]
        final = torch.cat(list(h_last), dim=-1)  # (batch, dirs * hidden)
        # pad_packed_sequence fills padding with zeros already; only an empty row, which ran
        # over one padding step, left something behind to clear.
        if bool((lengths == 0).any()):
            empty = (lengths == 0).to(inputs.device).unsqueeze(1)  # (batch, 1)
            final = final.masked_fill(empty, 0.0)
            outputs = outputs.masked_fill(~mask.unsqueeze(-1), 0.0)
        return outputs, mask, final

    def forward(self, X: torch.Tensor, lengths: torch.Tensor, branch_logits=None) -> torch.Tensor:
        """Class logits of shape (batch, n_classes).

        ``branch_logits`` (batch, n_classes), when given, stand in for the series branch's
        output (training passes the branch's leave-one-out scores of the training rows).
        """
        return self.forward_with_attention(X, lengths, branch_logits)[0]

    def forward_with_attention(self, X: torch.Tensor, lengths: torch.Tensor, branch_logits=None):
        """Class logits (batch, n_classes) and attention (batch, time, heads) in one pass.

        The attention is None unless ``pooling='attention'``.
        """
        outputs, mask, final = self.encode(X, lengths)
        pooled, weights = self.pool(outputs, mask, final)
        logits = self.head(self.output_dropout(pooled))
        if self.ngrams is not None:
            logits = logits + self.ngrams(X, lengths, dtype=self.head.weight.dtype)
        if getattr(self, "rocket", None) is not None:
            if branch_logits is None:
                branch_logits = self.rocket(X.to(logits.dtype), self._step_mask(X, lengths))
            logits = logits + self.branch_scale.to(logits.dtype) * branch_logits.to(logits.dtype)
        if weights is not None:
            weights = self._input_steps(weights, lengths, X.shape[1])
        return logits, weights

    @staticmethod
    def _step_mask(X, lengths):
        steps = torch.arange(X.shape[1], device=X.device)
        return steps.unsqueeze(0) < lengths.to(X.device).unsqueeze(1)  # (batch, time)

    def _input_steps(self, weights, lengths, width):
        """Per-step weights (batch, steps read, heads) on the input's own steps."""
        if getattr(self, "stride", 1) > 1:
            return upsample_weights(weights, lengths, self.stride, width)
        return weights[:, :width]

    def attention_weights(self, X: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Attention weights of shape (batch, time, heads); only for attention pooling."""
        if self.pooling_name != "attention":
            raise ValueError(
                f"attention weights exist for pooling='attention' only, not {self.pooling_name!r}."
            )
        outputs, mask, final = self.encode(X, lengths)
        return self._input_steps(self.pool.weights(outputs, mask, final), lengths, X.shape[1])

    def contributions(
        self,
        X: torch.Tensor,
        lengths: torch.Tensor,
        *,
        tol: float = 5e-5,
        min_nodes: int = 32,
        max_nodes: int = 2048,
        max_path_steps: int | None = None,
    ) -> dict:
        """Signed per-step contributions to each row's predicted class score, that add up.

        The score is the logit of the predicted class; with two classes it is the logit of
        the predicted class minus the other's (the binary ``decision_function`` signed
        towards the prediction). It is split into a baseline and one value per step and
        part of the model, with ``baselines.sum(-1) + steps.sum((1, 2)) == score`` up to
        ``residual``:

        - ``'recurrent'`` (encoder, pooling and head): Integrated Gradients (Sundararajan
          et al., 2017) over the embedded steps, against the all-zero input (the padding
          embedding, or the training mean of standardised features), on the same lengths.
          The path integral is computed by adaptive Gauss-Legendre quadrature:
          `min_nodes` nodes on [0, 1], and each panel whose own completeness residual
          is too large halved (twice the nodes there) until the whole residual is below
          `tol` or a sequence would need more than `max_nodes` nodes. A steep turn along
          the path costs a few panels per halving, not a doubling of all of them. Its baseline is
          the score of the all-zero input.
        - ``'ngrams'`` (with an n-gram term): exact, see
          :meth:`HashedNgramLinear.token_scores`.
        - ``'rocket'`` (with the series branch): exact, see
          :meth:`~skseqattn.nn._rocket.SeriesRocketLinear.step_scores`.

        Call it in evaluation mode, outside :func:`torch.inference_mode` (it needs
        gradients with respect to the inputs; the parameters get none).

        Parameters
        ----------
        X : Tensor of shape (batch, time) or (batch, time, n_features)
        lengths : Tensor of shape (batch,)
        tol : float, default=5e-5
            Largest completeness residual accepted before `max_nodes` is reached.
        min_nodes, max_nodes : int, default=32, 2048
            First and largest number of quadrature nodes.
        max_path_steps : int, default=None
            Most (path point, step) cells of one backward pass: the points along the paths
            are taken in passes of at most ``max_path_steps // time`` of them (at least
            one), so memory stays bounded for long sequences. None: about 4096 points.

        Returns
        -------
        result : dict of Tensor
            ``logits`` (batch, n_classes); ``target`` (batch,), the predicted class;
            ``score`` (batch,); ``steps`` (batch, time, n_parts); ``baselines``
            (batch, n_parts); ``residual`` (batch,), ``|score - baselines - steps|``;
            ``attention`` (batch, time, heads) or None; ``nodes``, the quadrature nodes used.
            The parts are named by :attr:`contribution_parts`.
        """
        batch, width = X.shape[0], X.shape[1]
        lengths = lengths.to("cpu", torch.int64)
        with torch.no_grad():
            logits, attention = self.forward_with_attention(X, lengths)  # (batch, n_classes)
            n_classes = logits.shape[1]
            target = logits.argmax(dim=1)  # (batch,)
            signs = nn.functional.one_hot(target, n_classes).to(logits.dtype)
            if n_classes == 2:
                signs = signs - nn.functional.one_hot(1 - target, n_classes).to(logits.dtype)
            score = (logits * signs).sum(dim=1)  # (batch,)
            steps = logits.new_zeros(batch, width, len(self.contribution_parts))
            baselines = logits.new_zeros(batch, len(self.contribution_parts))
            if self.ngrams is not None:
                ngram_steps, ngram_base = self.ngrams.token_scores(X, lengths)
                steps[:, :, 1] = (ngram_steps * signs.unsqueeze(1)).sum(dim=-1)
                baselines[:, 1] = (ngram_base * signs).sum(dim=-1)
            if getattr(self, "rocket", None) is not None:
                x = X.to(logits.dtype)
                rocket_steps, rocket_base = self.rocket.step_scores(x, self._step_mask(X, lengths))
                scale = self.branch_scale.to(logits.dtype)
                steps[:, :, -1] = (rocket_steps * signs.unsqueeze(1)).sum(dim=-1) * scale
                baselines[:, -1] = (rocket_base * signs).sum(dim=-1) * scale
        nodes = 0
        if width == 0:  # only empty rows: the recurrent part is all baseline
            baselines[:, 0] = score - baselines[:, 1:].sum(dim=1)
        else:
            recurrent, baselines[:, 0], nodes = self._integrated_gradients(
                X,
                lengths,
                signs,
                tol=tol,
                min_nodes=min_nodes,
                max_nodes=max_nodes,
                max_path_steps=max_path_steps,
            )
            steps[:, :, 0] = recurrent
        residual = (score - baselines.sum(dim=1) - steps.sum(dim=(1, 2))).abs()
        if attention is not None:
            attention = attention[:, :width]
        return {
            "logits": logits,
            "target": target,
            "score": score,
            "steps": steps,
            "baselines": baselines,
            "residual": residual,
            "attention": attention,
            "nodes": nodes,
        }

    @property
    def contribution_parts(self) -> tuple:
        """Names of the parts :meth:`contributions` splits the score into."""
        parts = ("recurrent",) if self.ngrams is None else ("recurrent", "ngrams")
        return parts + (("rocket",) if getattr(self, "rocket", None) is not None else ())

    def _recurrent_score(self, inputs, lengths, mask, signs):
        """Signed score (batch,) of the recurrent part from embedded inputs."""
        outputs, mask, final = self._encode_inputs(inputs, lengths, mask)
        pooled, _ = self.pool(outputs, mask, final)
        return (self.head(self.output_dropout(pooled)) * signs).sum(dim=1)

    def _integrated_gradients(
        self, X, lengths, signs, *, tol, min_nodes, max_nodes, max_path_steps=None
    ):
        """Per-step IG of the recurrent score (batch, time), its baseline, most nodes used.

        Adaptive Gauss-Legendre quadrature over the path ``t * inputs``, ``t`` in [0, 1]:
        every panel ``[a, b]`` gets a `min_nodes`-node rule, and its own completeness
        residual ``|f(b) - f(a) - IG over [a, b]|`` is known exactly from two forward
        passes; a panel whose residual is at least ``tol * (b - a)`` is halved (twice
        the nodes there), until a sequence would use more than `max_nodes` nodes.
        """
        width = X.shape[1]
        mask = torch.arange(width, device=X.device).unsqueeze(0) < lengths.to(X.device).unsqueeze(
            1
        )  # (batch, time)
        with torch.no_grad():
            inputs = self.embedding(X) if self.tokens else X.to(self.head.weight.dtype)
            inputs = inputs.masked_fill(~mask.unsqueeze(-1), 0.0)  # (batch, time, input_size)
            start = self._recurrent_score(torch.zeros_like(inputs), lengths, mask, signs)
            end = self._recurrent_score(inputs, lengths, mask, signs)  # (batch,)
        gap = (end - start).cpu()  # what each row's contributions must add up to
        steps = inputs.new_zeros(inputs.shape[:2])  # (batch, time)
        # one job per (sequence, panel): row index, panel start and end
        rows = torch.arange(len(inputs))
        lo = torch.zeros(len(inputs), dtype=torch.float64)
        hi = torch.ones(len(inputs), dtype=torch.float64)
        max_panels = max(1, int(max_nodes) // int(min_nodes))
        panels = torch.ones(len(inputs), dtype=torch.int64)  # per sequence
        depth = deepest = 0
        while len(rows):
            part, residual = self._ig_panels(
                inputs, lengths, mask, signs, rows, lo, hi, int(min_nodes), max_path_steps
            )
            # a sequence is done when its whole residual is below tol: float32 noise
            # in tiny panels must not split them further
            total = steps.sum(dim=1).cpu().index_add(0, rows, part.sum(dim=1).cpu())
            open_rows = (gap - total).abs() >= tol  # (batch,)
            split = open_rows[rows] & (residual >= tol * (hi - lo).to(residual.dtype))
            # an open sequence none of whose panels stands out: halve them all
            stuck = open_rows.clone()
            stuck[rows[split]] = False
            split |= stuck[rows]
            # a sequence may at most double its panels in a round, up to max_panels
            split &= (panels[rows] * 2 <= max_panels) & (depth < _MAX_DEPTH)
            done = ~split
            steps.index_add_(0, rows[done].to(steps.device), part[done])
            if not bool(split.any()):
                break
            panels.index_add_(0, rows[split], torch.ones_like(rows[split]))
            deepest = max(deepest, int(panels.max()))
            mid = (lo[split] + hi[split]) / 2
            rows = torch.cat([rows[split], rows[split]])
            lo, hi = torch.cat([lo[split], mid]), torch.cat([mid, hi[split]])
            depth += 1
        return steps, start, int(min_nodes) * max(deepest, 1)

    def _ig_panels(self, inputs, lengths, mask, signs, rows, lo, hi, n, max_path_steps=None):
        """IG per step (jobs, time) of each job's panel, and each panel's residual (jobs,)."""
        t, w = np.polynomial.legendre.leggauss(n)
        t = torch.as_tensor((t + 1) / 2, dtype=torch.float64)
        w = torch.as_tensor(w / 2, dtype=torch.float64)
        jobs = len(rows)
        span = (hi - lo).unsqueeze(1)  # (jobs, 1)
        # nodes of each panel, then its two ends: (jobs, n + 2) points along the path
        points = torch.cat([lo.unsqueeze(1) + span * t, lo.unsqueeze(1), hi.unsqueeze(1)], 1)
        weights = span * w  # (jobs, n)
        device, dtype = inputs.device, inputs.dtype
        dev_rows = rows.to(device)
        x = inputs[dev_rows]  # (jobs, time, input_size)
        grads = torch.zeros_like(x)
        ends = torch.zeros(jobs, 2, dtype=dtype, device=device)
        n_points = n + 2
        # path points per backward pass: ~4096, fewer for long rows (max_path_steps)
        budget = 4096
        if max_path_steps is not None:
            budget = max(1, min(budget, int(max_path_steps) // max(x.shape[1], 1)))

        def score_and_grad(path, r, repeat):
            path.requires_grad_(True)
            with torch.enable_grad():
                out = self._recurrent_score(
                    path,
                    lengths[rows[r]].repeat_interleave(repeat),
                    mask[dev_rows[r]].repeat_interleave(repeat, dim=0),
                    signs[dev_rows[r]].repeat_interleave(repeat, dim=0),
                )
                (g,) = torch.autograd.grad(out.sum(), path)
            return out.detach(), g

        if budget < n_points:  # a row too long for all its points at once: a few per pass
            for j in range(jobs):
                xj = x[j : j + 1]
                tj = points[j].to(device, dtype)
                for first in range(0, n_points, budget):
                    tp = tj[first : first + budget]
                    out, g = score_and_grad(tp.view(-1, 1, 1) * xj, slice(j, j + 1), len(tp))
                    idx = torch.arange(first, first + len(tp))
                    node = idx < n
                    if bool(node.any()):
                        wp = weights[j, idx[node]].to(device, dtype).view(-1, 1, 1)
                        grads[j] += (g[node.to(device)] * wp).sum(dim=0)
                    for i in idx[~node].tolist():
                        ends[j, i - n] = out[i - first]
        else:  # whole jobs (all their points) per pass
            per_pass = max(1, budget // n_points)  # jobs per backward pass
            for first in range(0, jobs, per_pass):
                sel = slice(first, first + per_pass)
                xj = x[sel]
                k = len(xj)
                tj = points[sel].to(device, dtype)  # (k, n + 2)
                path = (tj.view(k, n_points, 1, 1) * xj.unsqueeze(1)).reshape(
                    (k * n_points,) + tuple(xj.shape[1:])
                )
                out, g = score_and_grad(path, sel, n_points)  # (k * (n + 2),)
                g = g.view((k, n_points) + tuple(xj.shape[1:]))[:, :n]
                wj = weights[sel].to(device, dtype).view(k, n, 1, 1)
                grads[sel] = (g * wj).sum(dim=1)
                ends[sel] = out.view(k, n_points)[:, n:]
        part = (x * grads).sum(dim=-1)  # (jobs, time)
        residual = (ends[:, 1] - ends[:, 0] - part.sum(dim=1)).abs().cpu()
        return part.detach(), residual
