"""An export-friendly twin of :class:`SequenceClassifierModule`: no packing, raw padded input.

:class:`SequenceClassifierModule` runs its RNN on packed sequences, which ONNX exporters do
not support, and it expects rows that are already left-aligned. :class:`ExportableSequenceModule`
computes the same function from what a user holds: an id matrix (or a NaN-padded float array)
with padding anywhere in each row. It reuses the trained weights and gives the same logits
up to float rounding:

1. the mask of real steps is read from the input (id 0, or an all-NaN step, is padding);
2. each row is left-aligned inside the graph: the real step with rank ``r`` in its row goes to
   column ``r`` (``cumsum(mask) - 1``), padding goes after the real steps (a permutation, so a
   plain scatter);
3. the forward direction runs over the left-aligned batch: its outputs at real steps are exact
   since all padding comes after them;
4. the backward direction runs over each row's reversed valid prefix (column ``t`` reads step
   ``length - 1 - t`` for ``t < length``), and its outputs are put back in order with the same
   permutation;
5. final states, masking and pooling are those of the trained module.

Stacked layers feed the concatenation of both directions' outputs to the next layer, as
``nn.LSTM`` does. One padding column is always appended, so a batch of width 0 (or of empty
rows only) needs no special case; an empty row gets the same finite logits as in PyTorch.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from .._ids import UNK_ID
from ._module import CELLS, SequenceClassifierModule
from ._rocket import downsample

__all__ = ["ExportableSequenceModule"]


class ExportableSequenceModule(nn.Module):
    """Same logits as a trained :class:`SequenceClassifierModule`, from raw padded input.

    Parameters
    ----------
    module : SequenceClassifierModule
        The trained module; its weights are copied (later changes to it are not seen).
    n_ids : int, default=None
        For token input: ids at or above ``n_ids`` (and negative ids) are read as
        ``unknown_id``, as the estimator does. Defaults to the embedding's size.
    unknown_id : int, default=1
        For token input: the id unseen ids are read as (the estimator's ``unknown_id_``).
    feature_mean, feature_scale : array-like of shape (n_features,), default=None
        For real-valued input: the standardisation the estimator applies before the module.
        It is computed in float64, as in the estimator, then cast to float32.
    normalize_series : bool, default=False
        For real-valued input: z-normalise each channel of each row over its real steps
        before that standardisation (the estimator's ``normalization_='series'``), in
        float64, a std of at most ``1e-12`` read as 1.

    Notes
    -----
    :meth:`forward` takes ``X`` of shape (batch, width) int64 ids (0 = padding, anywhere in a
    row) or (batch, width, n_features) floats whose padded steps are NaN in every feature,
    and returns ``(logits, probabilities)``, both of shape (batch, n_classes). Dropout is
    left out: this module only predicts.

    Examples
    --------
    >>> import torch
    >>> from skseqattn.nn import SequenceClassifierModule
    >>> from skseqattn.nn._export import ExportableSequenceModule
    >>> _ = torch.manual_seed(0)
    >>> module = SequenceClassifierModule(n_classes=2, vocab_size=6, embedding_dim=4,
    ...                                   hidden_size=4).eval()
    >>> export = ExportableSequenceModule(module)
    >>> ids = torch.tensor([[0, 2, 3, 0], [4, 5, 0, 0]])  # pre- and post-padded
    >>> aligned, lengths = torch.tensor([[2, 3], [4, 5]]), torch.tensor([2, 2])
    >>> torch.allclose(export(ids)[0], module(aligned, lengths), atol=1e-6)
    True
    """

    def __init__(
        self,
        module: SequenceClassifierModule,
        *,
        n_ids: int | None = None,
        unknown_id: int = UNK_ID,
        feature_mean=None,
        feature_scale=None,
        normalize_series: bool = False,
    ):
        super().__init__()
        if not isinstance(module, SequenceClassifierModule):
            raise TypeError(
                "ExportableSequenceModule expected a SequenceClassifierModule, got "
                f"{type(module).__name__}."
            )
        rnn = module.rnn
        cell = next((name for name, cls in CELLS.items() if type(rnn) is cls), None)
        if cell is None:
            raise TypeError(
                f"ExportableSequenceModule supports the cells {sorted(CELLS)}; the module's "
                f"RNN is a {type(rnn).__name__}."
            )
        if getattr(rnn, "proj_size", 0):
            raise NotImplementedError("ExportableSequenceModule does not support proj_size.")
        self.tokens = module.tokens
        self.normalize_series = bool(normalize_series) and not self.tokens
        self.num_layers = rnn.num_layers
        self.num_directions = 2 if rnn.bidirectional else 1
        self.hidden_size = rnn.hidden_size
        if self.tokens:
            self.embedding = copy.deepcopy(module.embedding)
            self.n_ids = int(n_ids if n_ids is not None else self.embedding.num_embeddings)
            self.unknown_id = int(unknown_id)
            self.register_buffer("feature_mean", None)
            self.register_buffer("feature_scale", None)
        else:
            self.embedding = None
            self.n_ids = 0
            self.unknown_id = 0
            n_features = rnn.input_size
            mean = torch.zeros(n_features) if feature_mean is None else feature_mean
            scale = torch.ones(n_features) if feature_scale is None else feature_scale
            self.register_buffer("feature_mean", torch.as_tensor(mean, dtype=torch.float64))
            self.register_buffer("feature_scale", torch.as_tensor(scale, dtype=torch.float64))

        # One single-layer, one-direction RNN per (layer, direction), sharing nothing with
        # the trained module: weight_ih_l{k} and weight_ih_l{k}_reverse become two modules.
        cells = []
        for layer in range(self.num_layers):
            input_size = rnn.input_size if layer == 0 else self.hidden_size * self.num_directions
            for direction in range(self.num_directions):
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                one = CELLS[cell](
                    input_size, self.hidden_size, num_layers=1, batch_first=True, bias=rnn.bias
                )
                with torch.no_grad():
                    for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                        if hasattr(rnn, kind + suffix):
                            getattr(one, kind + "_l0").copy_(getattr(rnn, kind + suffix))
                cells.append(one)
        self.cells = nn.ModuleList(cells)
        self.pool = copy.deepcopy(module.pool)
        self.head = copy.deepcopy(module.head)
        self.ngrams = copy.deepcopy(module.ngrams)
        self.position = copy.deepcopy(getattr(module, "position", None))
        self.conv = copy.deepcopy(getattr(module, "conv", None))
        self.rocket = copy.deepcopy(getattr(module, "rocket", None))
        self.branch_scale = copy.deepcopy(getattr(module, "branch_scale", None))
        self.stride = int(getattr(module, "stride", 1))
        self.eval()

    def _inputs(self, X: torch.Tensor):
        """Left-aligned step inputs (batch, time, input_size), their mask, lengths, steps
        and, for token input, the left-aligned ids (for real-valued input None, or with the
        series branch the standardised steps and their mask before the front-end)."""
        batch = X.shape[0]
        if self.tokens:
            # One extra padding column: width >= 1 always (the module's own rule for width 0).
            X = torch.cat([X, X.new_zeros(batch, 1)], dim=1)  # (batch, time)
            mask = X != 0
            unseen = (X >= self.n_ids) | (X < 0)
            ids = torch.where(unseen, torch.full_like(X, self.unknown_id), X)
        else:
            X = torch.cat([X, X.new_full((batch, 1, X.shape[2]), float("nan"))], dim=1)
            mask = ~torch.isnan(X).all(dim=2)  # (batch, time)
            values = torch.where(torch.isnan(X), torch.zeros_like(X), X).double()
            if self.normalize_series:
                values = _standardize_each_row(values, mask)
            # As the estimator: standardise in float64, then cast to float32.
            values = ((values - self.feature_mean) / self.feature_scale).float()
            values = values.masked_fill(~mask.unsqueeze(2), 0.0)  # (batch, time, n_features)
        mask_i = mask.long()
        lengths = mask_i.sum(dim=1)  # (batch,)
        # Real step of rank r goes to column r; the p-th padding step to column length + p.
        target = torch.where(
            mask,
            torch.cumsum(mask_i, dim=1) - 1,
            lengths.unsqueeze(1) + torch.cumsum(1 - mask_i, dim=1) - 1,
        )  # (batch, time), a permutation of each row
        if self.tokens:
            aligned = torch.zeros_like(ids).scatter(1, target, ids * mask_i)
            inputs = self.embedding(aligned)  # (batch, time, embedding_dim)
        else:
            aligned = None
            index = target.unsqueeze(2).expand(-1, -1, values.shape[2])
            inputs = torch.zeros_like(values).scatter(1, index, values)
        steps = torch.arange(X.shape[1], device=X.device).unsqueeze(0)  # (1, time)
        valid = steps < lengths.unsqueeze(1)  # (batch, time), left-aligned mask
        if self.rocket is not None:  # the series branch reads the standardised steps
            aligned = (inputs, valid)
        if self.stride > 1:  # the module's front-end: windows of `stride` steps
            inputs, lengths, valid = downsample(inputs, lengths, self.stride)
            steps = torch.arange(inputs.shape[1], device=X.device).unsqueeze(0)
        if self.conv is not None:  # as the module: on the left-aligned steps, zeros after
            inputs = self.conv(inputs, valid)
        if self.position is not None:  # positions count real steps from each row's first
            inputs = inputs + self.position(inputs.shape[1], inputs)
        return inputs, valid, lengths, steps, aligned

    def encode(self, X: torch.Tensor):
        """Left-aligned outputs (batch, time, dirs * hidden), their mask and the final state.

        The same triple as :meth:`SequenceClassifierModule.encode`, with one more padding
        column.
        """
        return self._encode(*self._inputs(X))[:3]

    def _encode(self, inputs, valid, lengths, steps, aligned):
        """:meth:`encode` from :meth:`_inputs`; also passes on the aligned ids and lengths."""
        # Column t of the reversed prefix reads step length - 1 - t (t < length); padding
        # columns read themselves. The map is its own inverse.
        reverse = torch.where(valid, lengths.unsqueeze(1) - 1 - steps, steps)  # (batch, time)
        last = (lengths - 1).clamp(min=0).view(-1, 1, 1)
        finals = []
        for layer in range(self.num_layers):
            size = inputs.shape[2]
            out_f, _ = self.cells[layer * self.num_directions](inputs)
            outputs = [out_f]  # (batch, time, hidden)
            if self.num_directions == 2:
                rev_index = reverse.unsqueeze(2)
                rev_in = torch.gather(inputs, 1, rev_index.expand(-1, -1, size))
                rev_out, _ = self.cells[layer * 2 + 1](rev_in)
                out_b = torch.gather(rev_out, 1, rev_index.expand(-1, -1, self.hidden_size))
                outputs.append(out_b)
            inputs = torch.cat(outputs, dim=2) if len(outputs) > 1 else out_f
        out_f = outputs[0]
        finals.append(torch.gather(out_f, 1, last.expand(-1, 1, self.hidden_size))[:, 0])
        if self.num_directions == 2:
            finals.append(outputs[1][:, 0])
        final = torch.cat(finals, dim=1) if len(finals) > 1 else finals[0]  # (batch, dirs * h)
        nonempty = (lengths > 0).unsqueeze(1)
        final = final.masked_fill(~nonempty, 0.0)
        outputs = inputs.masked_fill(~valid.unsqueeze(2), 0.0)
        return outputs, valid, final, aligned, lengths

    def forward(self, X: torch.Tensor):
        """``(logits, probabilities)``, each of shape (batch, n_classes)."""
        outputs, valid, final, aligned, lengths = self._encode(*self._inputs(X))
        pooled, _ = self.pool(outputs, valid, final)
        logits = self.head(pooled)
        if self.ngrams is not None:
            logits = logits + self.ngrams(aligned, lengths)
        if self.rocket is not None:
            logits = logits + self.branch_scale * self.rocket(*aligned)
        return logits, torch.softmax(logits, dim=1)


SERIES_STD_FLOOR = 1e-12
"""As :data:`skseqattn._inputs.SERIES_STD_FLOOR` (the module room cannot import it)."""


def _standardize_each_row(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Each channel of each row z-normalised over its real steps, as the estimator's
    ``standardize_each_series``: population std, one at most :data:`SERIES_STD_FLOOR` read
    as 1 (a multiply and an add, exact, rather than a float64 Where), padding zeros."""
    m = mask.unsqueeze(2).to(values.dtype)  # (batch, time, 1)
    count = m.sum(dim=1, keepdim=True).clamp(min=1.0)  # (batch, 1, 1)
    mean = (values * m).sum(dim=1, keepdim=True) / count  # (batch, 1, features)
    centred = (values - mean) * m
    std = torch.sqrt((centred * centred).sum(dim=1, keepdim=True) / count)
    keep = (std > SERIES_STD_FLOOR).to(values.dtype)
    return centred / (std * keep + (1.0 - keep))
