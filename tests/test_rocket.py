"""The MiniRocket-style series branch and the downsampling front-end (skseqattn.nn._rocket)."""

import numpy as np
import pytest
import torch

from skseqattn.nn._rocket import SeriesRocketLinear, downsample, stride_for, upsample_weights


def _task(n=40, length=60, seed=0):
    rng = np.random.RandomState(seed)
    y = rng.randint(0, 2, n)
    t = np.linspace(0, 1, length)
    X = np.sin(2 * np.pi * (2 + 3 * y[:, None]) * t) + 0.3 * rng.randn(n, length)
    return torch.tensor(X, dtype=torch.float32)[:, :, None], torch.tensor(y)


def test_rocket_fit_separates_and_is_deterministic():
    X, y = _task()
    mask = torch.ones(X.shape[:2], dtype=torch.bool)
    a = SeriesRocketLinear(1, 2, X.shape[1], n_outputs=2000)
    b = SeriesRocketLinear(1, 2, X.shape[1], n_outputs=2000)
    a.fit(X, mask, y, 2, seed=3)
    b.fit(X, mask, y, 2, seed=3)
    assert torch.equal(a.biases, b.biases) and torch.equal(a.weight, b.weight)
    Xt, yt = _task(seed=1)
    with torch.no_grad():
        pred = a(Xt, torch.ones(Xt.shape[:2], dtype=torch.bool)).argmax(1)
    assert (pred == yt).float().mean() > 0.9


def test_rocket_ignores_padding_and_shares_add_up():
    X, y = _task(n=20)
    full = torch.ones(X.shape[:2], dtype=torch.bool)
    r = SeriesRocketLinear(1, 2, X.shape[1], n_outputs=1000)
    r.fit(X, full, y, 2)
    short = full.clone()
    short[:, 45:] = False
    padded = torch.cat([X, torch.randn(20, 7, 1)], dim=1)
    pmask = torch.cat([short, torch.zeros(20, 7, dtype=torch.bool)], dim=1)
    with torch.no_grad():
        a = r(X, short)
        b = r(padded, pmask)
        steps, base = r.step_scores(padded, pmask)
    assert torch.allclose(a, b, atol=1e-5)
    assert torch.allclose(steps.sum(1) + base, b, atol=1e-3)
    assert float(steps[:, 45:].abs().max()) == 0.0


@pytest.mark.parametrize("length", [0, 1, 3, 7, 8, 9, 20])
def test_downsample_lengths_and_weights_map_back(length):
    stride = 4
    x = torch.randn(1, 20, 2)
    lengths = torch.tensor([length])
    pooled, new_lengths, mask = downsample(x, lengths, stride)
    assert int(new_lengths) == -(-length // stride)
    assert int(mask.sum()) == int(new_lengths)
    if length:
        assert torch.allclose(pooled[0, 0], x[0, : min(stride, length)].mean(0))
    w = torch.zeros(1, pooled.shape[1], 1)
    w[0, : int(new_lengths)] = 1.0 / max(int(new_lengths), 1)
    back = upsample_weights(w, lengths, stride, 20)
    assert back.shape == (1, 20, 1)
    assert float(back[0, length:].abs().sum()) == 0.0
    assert float(back.sum()) == pytest.approx(1.0 if length else 0.0, abs=1e-6)


def test_stride_for_bounds_the_steps():
    assert stride_for(100, 128) == 1 and stride_for(1460, 128) == 12
    assert stride_for(1460, None) == 1
