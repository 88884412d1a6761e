"""A MiniRocket-style linear branch for real-valued series, and a downsampling front-end.

:class:`SeriesRocketLinear` is the series counterpart of the hashed n-gram term: fixed
dilated convolution kernels (the 84 kernels of length 9 with weights -1 and 2 of Dempster
et al., 2021), proportion-of-positive-values (PPV) pooling over each row's real steps,
standardisation with training statistics and a linear map to class scores, all held in
buffers. The biases, the standardisation and the linear map are fitted once, in closed form,
by :meth:`SeriesRocketLinear.fit` (ridge regression with leave-one-out choice of the
penalty, as MiniRocket's ``RidgeClassifierCV``), so the branch carries a strong prediction
from the first epoch and the recurrent part learns what it adds.

A PPV feature is a mean over steps of indicators, so the branch's score splits exactly into
per-step shares (:meth:`SeriesRocketLinear.step_scores`).

:func:`downsample` is the front-end for long series: masked mean pooling over windows of
``stride`` steps, so the recurrent layer and attention work on at most a few hundred steps.
"""

from __future__ import annotations

import itertools
import math

import torch
from torch import nn

__all__ = ["SeriesRocketLinear", "downsample", "upsample_weights", "stride_for"]

KERNEL_LENGTH = 9
_KERNELS = [
    [2.0 if j in picked else -1.0 for j in range(KERNEL_LENGTH)]
    for picked in itertools.combinations(range(KERNEL_LENGTH), 3)
]  # the 84 kernels: weight 2 at three of the nine taps, -1 elsewhere
N_KERNELS = len(_KERNELS)
_GOLDEN = (math.sqrt(5) - 1) / 2
RIDGE_ALPHAS = tuple(10.0**k for k in range(-3, 4))
"""Penalties the closed-form ridge fit chooses from by leave-one-out error."""


def stride_for(length: int, max_steps: int | None) -> int:
    """Window of :func:`downsample` for training series of ``length`` steps: at most
    ``max_steps`` steps reach the recurrent layer (1: no downsampling)."""
    if not max_steps or length <= max_steps:
        return 1
    return int(math.ceil(length / max_steps))


def downsample(inputs: torch.Tensor, lengths: torch.Tensor, stride: int):
    """Masked mean over windows of ``stride`` steps: (inputs, lengths, mask) at the new scale.

    ``inputs`` (batch, time, features) are left-aligned; window ``j`` averages the real steps
    ``j * stride .. (j + 1) * stride - 1`` of its row, so a row of length ``L`` gives
    ``ceil(L / stride)`` steps (1 for ``0 < L < stride``; 0 for an empty row). Two average
    poolings (of the masked values and of the mask) share their divisor, so their ratio is
    the mean over real steps; no shape is computed in Python, so the function exports.
    """
    lengths = lengths.to(torch.int64)
    steps = torch.arange(inputs.shape[1], device=inputs.device)
    mask = steps.unsqueeze(0) < lengths.to(inputs.device).unsqueeze(1)  # (batch, time)
    m = mask.unsqueeze(1).to(inputs.dtype)  # (batch, 1, time)
    x = inputs.masked_fill(~mask.unsqueeze(2), 0.0).transpose(1, 2)  # (batch, features, time)
    total = nn.functional.avg_pool1d(x, stride, stride, ceil_mode=True)
    count = nn.functional.avg_pool1d(m, stride, stride, ceil_mode=True)  # (batch, 1, out)
    pooled = (total / count.clamp(min=1e-12)).transpose(1, 2)  # (batch, out, features)
    new_mask = count[:, 0] > 0
    pooled = pooled.masked_fill(~new_mask.unsqueeze(2), 0.0)
    new_lengths = torch.div(lengths + stride - 1, stride, rounding_mode="floor")
    return pooled, new_lengths, new_mask


def upsample_weights(weights: torch.Tensor, lengths: torch.Tensor, stride: int, width: int):
    """Per-step weights (batch, time / stride, heads) spread back over the input's steps.

    Each window's weight is shared evenly by the real steps it averaged, so a row's weights
    still sum to what they summed to, and padding gets exactly zero.
    """
    if stride == 1:
        return weights[:, :width]
    lengths = lengths.to(weights.device, torch.int64)
    steps = torch.arange(width, device=weights.device)
    window = torch.div(steps, stride, rounding_mode="floor")  # (time,)
    start = window * stride
    real = steps.unsqueeze(0) < lengths.unsqueeze(1)  # (batch, time)
    count = (lengths.unsqueeze(1) - start.unsqueeze(0)).clamp(min=1, max=stride)
    spread = weights[:, window] / count.unsqueeze(2).to(weights.dtype)
    return spread * real.unsqueeze(2).to(weights.dtype)


def _dilated_taps(picked, kernels, half, dilation):
    """The grouped convolution of :meth:`SeriesRocketLinear._conv` as a sum of nine shifted
    copies times their weights: the same exact sums, from slices with constant bounds."""
    padded = nn.functional.pad(picked, (half, half))  # (batch, 84, half + time + half)
    out = 0
    for j in range(KERNEL_LENGTH):
        end = (j - KERNEL_LENGTH + 1) * dilation
        tap = padded[:, :, j * dilation : end if end else None]  # (batch, 84, time)
        out = out + tap * kernels[:, 0, j].view(1, -1, 1)
    return out


def _dilations(length: int, per_kernel: int):
    """Exponentially spaced dilations up to ``(length - 1) / 8`` and features of each."""
    max_exponent = math.log2(max((length - 1) / (KERNEL_LENGTH - 1), 1.0))
    n = min(per_kernel, 32)
    raw = [int(2 ** (max_exponent * i / max(n - 1, 1))) for i in range(n)]
    dilations = sorted(set(raw))
    counts = [raw.count(d) for d in dilations]
    total = sum(counts)
    per = [(per_kernel * c) // total for c in counts]
    for j in range(per_kernel - sum(per)):  # the remainder to the smallest dilations
        per[j % len(per)] += 1
    keep = [j for j, p in enumerate(per) if p]
    return [dilations[j] for j in keep], [per[j] for j in keep]


class SeriesRocketLinear(nn.Module):
    """Class scores from MiniRocket features of each series (all state in buffers).

    Parameters
    ----------
    n_features : int
        Channels per step; kernel ``k`` of a dilation reads channel ``k mod n_features``
        (for one channel, every kernel reads it).
    n_classes : int
    length : int
        Length of the training series (the longest): sets the dilations, up to
        ``(length - 1) / 8``.
    n_outputs : int, default=10000
        About how many features (kernels x dilations x biases).

    Notes
    -----
    Half of the (kernel, dilation) pairs are padded with zeros (their output exists at every
    real step), the other half are not (only steps whose whole receptive field lies inside
    the row). PPV is the share of those steps where the convolution exceeds the bias; rows
    too short for any step have PPV 0. Until :meth:`fit` runs, the branch outputs zeros.
    """

    def __init__(self, n_features: int, n_classes: int, length: int, n_outputs: int = 10000):
        super().__init__()
        self.n_features = int(n_features)
        self.length = int(length)
        self.dilations, self.per_dilation = _dilations(self.length, max(1, n_outputs // N_KERNELS))
        # a constant, rebuilt with the module (also on the meta device, for module_shapes)
        self.register_buffer("kernels", torch.tensor(_KERNELS).unsqueeze(1), persistent=False)
        # the three taps of weight 2 of each kernel: (84, 3)
        taps = [[j for j, w in enumerate(k) if w > 0] for k in _KERNELS]
        self.register_buffer("taps", torch.tensor(taps), persistent=False)
        # kernel k reads channel k mod n_features: (84,)
        self.register_buffer(
            "channels", torch.arange(N_KERNELS) % max(self.n_features, 1), persistent=False
        )
        n = N_KERNELS * sum(self.per_dilation)
        self.n_outputs = n
        self.register_buffer("biases", torch.zeros(n))
        self.register_buffer("mean", torch.zeros(n))
        self.register_buffer("scale", torch.ones(n))
        self.register_buffer("weight", torch.zeros(n_classes, n))
        self.register_buffer("bias", torch.zeros(n_classes))

    def _conv(self, x: torch.Tensor, mask: torch.Tensor, index: int, dilation: int):
        """Convolution outputs (batch, 84, time) of one dilation and its step mask."""
        width = x.shape[1]
        half = (KERNEL_LENGTH - 1) // 2 * dilation
        # In float64: the weights are -1 and 2, so the sums of nine float32 inputs are exact,
        # and a step's comparison with a bias cannot depend on the batch it came in.
        if torch.onnx.is_in_onnx_export():  # ONNX Runtime has no float64 Conv
            picked = x.double().index_select(2, self.channels).transpose(1, 2)
            out = _dilated_taps(picked, self.kernels.double(), half, dilation)
        else:  # weights -1 and 2: 3 * (three taps) - (all nine), each tap computed once
            xt = nn.functional.pad(x.double().transpose(1, 2), (half, half))
            taps = torch.stack(
                [xt[:, :, j * dilation : j * dilation + width] for j in range(KERNEL_LENGTH)]
            )  # (9, batch, features, time)
            ch = self.channels
            chosen = sum(taps[self.taps[:, m], :, ch] for m in range(3))  # (84, batch, time)
            out = (3 * chosen - taps.sum(dim=0)[:, ch].transpose(0, 1)).transpose(0, 1)
            # out: (batch, 84, time)
        # half of the (dilation, kernel) pairs are padded, half see valid steps only
        steps = torch.arange(width, device=x.device).unsqueeze(0)
        lengths = mask.sum(dim=1, keepdim=True)
        valid = (steps >= half) & (steps < lengths - half)  # (batch, time)
        padded = ((torch.arange(N_KERNELS, device=x.device) + index) % 2 == 0).view(1, N_KERNELS, 1)
        step_mask = (padded & mask.unsqueeze(1)) | (~padded & valid.unsqueeze(1))  # no Where
        return out, step_mask  # (batch, 84, time) each

    def indicators(self, x: torch.Tensor, mask: torch.Tensor):
        """Yield (feature slice, indicators (batch, n, time), step counts (batch, n))."""
        x = x.masked_fill(~mask.unsqueeze(2), 0.0)
        first = 0
        for i, (d, n_b) in enumerate(zip(self.dilations, self.per_dilation, strict=True)):
            out, step_mask = self._conv(x, mask, i, d)
            count = N_KERNELS * n_b
            b = self.biases[first : first + count].view(1, N_KERNELS, n_b, 1).to(x.dtype)
            ind = (out.unsqueeze(2) > b) & step_mask.unsqueeze(2)
            ind = ind.reshape(len(x), count, -1).to(x.dtype)  # (batch, count, time)
            steps = step_mask.sum(dim=2).to(x.dtype)  # (batch, 84)
            steps = steps.unsqueeze(2).expand(-1, -1, n_b).reshape(len(x), count)
            yield slice(first, first + count), ind, steps
            first += count

    def features(self, x: torch.Tensor, mask: torch.Tensor, chunk: int = 8) -> torch.Tensor:
        """PPV features (batch, n_outputs) of left-aligned ``x`` (batch, time, features).

        Rows are taken ``chunk`` at a time: each (kernel, dilation) output is compared with
        all of its biases at once, a (chunk, 84, biases, time) tensor of booleans.
        """
        if len(x) > chunk:
            parts = [
                self.features(x[s : s + chunk], mask[s : s + chunk])
                for s in range(0, len(x), chunk)
            ]
            return torch.cat(parts)
        if x.shape[1] == 0:  # only empty rows: one padding step, PPV 0 everywhere
            x, mask = x.new_zeros(len(x), 1, x.shape[2]), mask.new_zeros(len(x), 1)
        x = x.masked_fill(~mask.unsqueeze(2), 0.0)
        parts, first = [], 0
        for i, (d, n_b) in enumerate(zip(self.dilations, self.per_dilation, strict=True)):
            out, step_mask = self._conv(x, mask, i, d)  # (batch, 84, time) each
            b = self.biases[first : first + N_KERNELS * n_b].view(1, N_KERNELS, n_b, 1)
            out = out.masked_fill(~step_mask, float("-inf"))  # steps outside count as below
            above = torch.gt(out.unsqueeze(2), b.double()).sum(dim=3)  # (batch, 84, n_b)
            n = step_mask.sum(dim=2, keepdim=True).clamp(min=1).double()  # (batch, 84, 1)
            parts.append((above.double() / n).flatten(1))
            first += N_KERNELS * n_b
        return torch.cat(parts, dim=1)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Scores (batch, n_classes), computed in float64 and returned in ``x``'s dtype."""
        z = (self.features(x, mask) - self.mean.double()) / self.scale.double()
        return (z @ self.weight.double().t() + self.bias.double()).to(x.dtype)

    def step_scores(self, x: torch.Tensor, mask: torch.Tensor):
        """The scores of :meth:`forward` split exactly among the steps.

        Returns (steps (batch, time, n_classes), baseline (batch, n_classes)): each step's
        share is that of the indicators centred on it, ``weight / scale / count``.
        """
        steps = x.new_zeros(x.shape[0], x.shape[1], self.weight.shape[0])
        if x.shape[1] == 0:  # only empty rows: the whole score is baseline
            return steps, self.forward(x, mask)
        coef = self.weight / self.scale  # (n_classes, n)
        baseline = self.bias - (self.mean / self.scale) @ self.weight.t()
        for part, ind, count in self.indicators(x, mask):
            share = ind / count.clamp(min=1).unsqueeze(2)  # (batch, n, time)
            steps = steps + torch.einsum("bnt,cn->btc", share, coef[:, part].to(x.dtype))
        return steps, baseline.expand(x.shape[0], -1)

    @torch.no_grad()
    def fit(self, x, mask, y, n_classes, *, seed=0, chunk=8, sample_weight=None):
        """Fit biases, standardisation and the ridge map on training series.

        Returns the chosen penalty and the leave-one-out scores (n, n_classes) of the
        training rows: what the branch would give each of them had it not seen it.

        ``x`` (n, time, features) left-aligned and ``mask`` (n, time) are the training
        rows, ``y`` (n,) their class indices. Biases are quantiles (low-discrepancy levels)
        of one training row's convolution output per (dilation, kernel). The ridge map
        regresses +-1 targets on the standardised features, with the penalty of
        :data:`RIDGE_ALPHAS` of least leave-one-out error; its outputs are then scaled so
        that the leave-one-out cross-entropy is least (logits, not just a ranking).
        ``n_classes`` is that of the module (the rows of :attr:`weight`).
        ``sample_weight`` (n,), when given, weighs the rows in the ridge loss, in its
        leave-one-out error and in the cross-entropy of the scale.
        """
        gen = torch.Generator().manual_seed(int(seed))
        x = x.masked_fill(~mask.unsqueeze(2), 0.0)
        n = len(x)
        first = 0
        q = 0
        for i, (d, n_b) in enumerate(zip(self.dilations, self.per_dilation, strict=True)):
            # one random training row per kernel, as MiniRocket
            rows = torch.randint(n, (N_KERNELS,), generator=gen).to(x.device)
            out, _ = self._conv(x[rows], mask[rows], i, d)  # (84 rows, 84, time)
            k = torch.arange(N_KERNELS, device=x.device)
            out = out[k, k]  # (84, time): kernel k on its row
            real = mask[rows]  # (84, time)
            levels = torch.tensor(
                [((q + j) * _GOLDEN) % 1.0 for j in range(N_KERNELS * n_b)], dtype=out.dtype
            ).view(N_KERNELS, n_b)
            q += N_KERNELS * n_b
            # the row's real steps, sorted (padding last, as +inf); every step, as MiniRocket
            ordered = out.masked_fill(~real, float("inf")).sort(dim=1).values
            last = (real.sum(dim=1, keepdim=True) - 1).clamp(min=0).to(out.dtype)  # (84, 1)
            index = (levels.to(out.device) * last).round().long()
            qs = torch.gather(ordered, 1, index)  # (84, n_b): one level per bias
            qs = torch.where(torch.isinf(qs), torch.zeros_like(qs), qs)  # an empty row
            self.biases[first : first + N_KERNELS * n_b] = qs.reshape(-1).to(self.biases.dtype)
            first += N_KERNELS * n_b
        feats = self.features(x, mask, chunk=chunk).double()
        mean = feats.mean(dim=0)
        scale = feats.std(dim=0, unbiased=False)
        scale = torch.where(scale > 1e-8, scale, torch.ones_like(scale))
        z = (feats - mean) / scale
        targets = -torch.ones(n, n_classes, dtype=torch.float64, device=z.device)
        targets[torch.arange(n, device=z.device), y.long().to(z.device)] = 1.0
        w = None
        if sample_weight is not None:
            w = torch.as_tensor(sample_weight, dtype=torch.float64, device=z.device)
        coef, intercept, loo, alpha = _ridge_loo(z, targets, w)
        temperature = _best_temperature(loo, y.long().to(z.device), w)
        self.mean.copy_(mean.float())
        self.scale.copy_(scale.float())
        self.weight.copy_((coef.t() * temperature).float())
        self.bias.copy_((intercept * temperature).float())
        return alpha, (loo * temperature).float()


def _ridge_loo(z, targets, w=None):
    """Ridge with intercept, penalty chosen by exact leave-one-out error (via the SVD).

    Rows weigh ``w`` (n,) in the loss (None: 1 each). The problem is solved on the rows
    centred by their weighted means and scaled by ``sqrt(w)``, where the intercept's
    direction (``sqrt(w)``) is unpenalised and drops out. With more features than rows the
    fit interpolates as the penalty goes to 0: ``1 - hat`` and the residuals are then both
    tiny, and are computed as sums of non-negative terms ``alpha / (s**2 + alpha)`` rather
    than as differences, which would leave only rounding errors. Returns the coefficients
    (n_features, n_classes), the intercept, the leave-one-out scores (n, n_classes) and the
    penalty; a row of weight 0 gets its plain prediction (it is left out anyway).
    """
    n = len(z)
    w = torch.ones(n, dtype=z.dtype, device=z.device) if w is None else w.to(z.dtype)
    total = w.sum()
    z_mean = (w @ z) / total
    y_mean = (w @ targets) / total
    root = w.sqrt().unsqueeze(1)
    zs = root * (z - z_mean)  # (n, n_features)
    ys = root * (targets - y_mean)  # (n, n_classes)
    u, s, _ = torch.linalg.svd(zs, full_matrices=False)
    keep = s**2 > 1e-10 * float((s**2).max().clamp(min=1e-300))
    u, s = u[:, keep], s[keep]  # the intercept's direction (s = 0 after centring) goes
    uty = u.t() @ ys  # (k, n_classes)
    outside = ys - u @ uty  # the part of the targets no feature direction holds
    rest = (1.0 - w / total - (u**2).sum(dim=1)).clamp(min=0)  # (n,): leverage left outside
    best = None
    for alpha in RIDGE_ALPHAS:
        keep_frac = alpha / (s**2 + alpha)  # (k,): what the fit leaves of each direction
        residual = u @ (keep_frac.unsqueeze(1) * uty) + outside  # (n, n_classes), scaled
        one_minus_hat = u**2 @ keep_frac + rest  # (n,)
        scaled = residual / one_minus_hat.clamp(min=1e-12).unsqueeze(1)
        error = float((scaled**2).mean())  # the weighted leave-one-out squared error
        if best is None or error < best[0] - 1e-12:
            best = (error, alpha, scaled)
    _, alpha, scaled = best
    # coef = V diag(s / (s^2 + alpha)) U^T y, from the normal equations in feature space
    eye = torch.eye(min(zs.shape), dtype=z.dtype, device=z.device)
    if zs.shape[1] <= n:
        coef = torch.linalg.lstsq(zs.t() @ zs + alpha * eye, zs.t() @ ys).solution
    else:
        coef = zs.t() @ torch.linalg.solve(zs @ zs.t() + alpha * eye, ys)
    intercept = y_mean - z_mean @ coef
    plain = z @ coef + intercept  # (n, n_classes)
    positive = (w > 0).unsqueeze(1)
    loo = torch.where(positive, targets - scaled / root.clamp(min=1e-150), plain)
    return coef, intercept, loo, alpha


def _best_temperature(loo, y, w=None):
    """The factor on the ridge outputs of least (weighted) leave-one-out cross-entropy."""
    best = (float("inf"), 1.0)
    w = torch.ones(len(y), dtype=loo.dtype, device=loo.device) if w is None else w
    for t in (0.5, 1, 2, 3, 5, 8, 12, 20, 30, 50):
        losses = nn.functional.cross_entropy(loo * t, y, reduction="none")
        loss = float((losses * w).sum() / w.sum())
        if loss < best[0]:
            best = (loss, float(t))
    return best[1]
