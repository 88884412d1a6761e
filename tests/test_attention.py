"""Tests of skseqattn.nn._attention: each score is the one its paper names, and masking."""

import pickle

import numpy as np
import pytest
import torch

from skseqattn.nn import (
    ATTENTIONS,
    AdditiveAttention,
    DotAttention,
    GeneralAttention,
    ScaledDotAttention,
    SequenceClassifierModule,
)


def _batch(seed=0, batch=3, time=5, dim=6):
    gen = torch.Generator().manual_seed(seed)
    outputs = torch.randn(batch, time, dim, generator=gen)
    mask = torch.ones(batch, time, dtype=torch.bool)
    mask[1, 3:] = False
    final = torch.randn(batch, dim, generator=gen)
    return outputs, mask, final


def _softmax_rows(scores, mask):
    """Softmax over each row's real steps, in numpy: the reference."""
    out = np.zeros_like(scores)
    for i in range(scores.shape[0]):
        real = mask[i]
        e = np.exp(scores[i, real] - scores[i, real].max())
        out[i, real] = e / e.sum()
    return out


def test_dot_attention_is_luong_dot_with_the_final_state():
    outputs, mask, final = _batch()
    pool = DotAttention(6)
    assert list(pool.parameters()) == []  # Luong's dot score has no parameters
    pooled, weights = pool(outputs, mask, final)
    scores = np.einsum("btd,bd->bt", outputs.numpy(), final.numpy())  # h_t . s, unscaled
    expected = _softmax_rows(scores, mask.numpy())
    np.testing.assert_allclose(weights[..., 0].numpy(), expected, atol=1e-6)
    np.testing.assert_allclose(
        pooled.numpy(), np.einsum("bt,btd->bd", expected, outputs.numpy()), atol=1e-5
    )


def test_general_attention_is_luong_general_with_the_final_state():
    outputs, mask, final = _batch(1)
    pool = GeneralAttention(6)
    W = pool.bilinear.weight.detach().numpy()  # (dim, dim): keys = W s
    scores = np.einsum("btd,bd->bt", outputs.numpy(), final.numpy() @ W.T) / np.sqrt(6)
    weights = pool.weights(outputs, mask, final)[..., 0].detach().numpy()
    np.testing.assert_allclose(weights, _softmax_rows(scores, mask.numpy()), atol=1e-6)


def test_scaled_dot_attention_uses_a_learned_query():
    outputs, mask, final = _batch(2)
    pool = ScaledDotAttention(6, heads=2)
    q = pool.query.detach().numpy()  # (heads, dim)
    scores = np.einsum("btd,hd->bth", outputs.numpy(), q) / np.sqrt(6)
    # the final state plays no part: any query state gives the same weights
    weights = pool.weights(outputs, mask, torch.zeros_like(final)).detach().numpy()
    for head in range(2):
        expected = _softmax_rows(scores[..., head], mask.numpy())
        np.testing.assert_allclose(weights[..., head], expected, atol=1e-6)


def test_additive_attention_is_bahdanau_concat_score():
    outputs, mask, final = _batch(3)
    pool = AdditiveAttention(6)
    W, b = pool.project.weight.detach().numpy(), pool.project.bias.detach().numpy()
    v = pool.context.weight.detach().numpy()[0]
    scores = np.tanh(outputs.numpy() @ W.T + b) @ v
    weights = pool.weights(outputs, mask, final)[..., 0].detach().numpy()
    np.testing.assert_allclose(weights, _softmax_rows(scores, mask.numpy()), atol=1e-6)


def test_dot_attention_has_one_head():
    with pytest.raises(ValueError, match="has no parameters, so its 2 heads would be copies"):
        DotAttention(6, heads=2)


def test_pickled_learned_query_dot_attention_unpickles_as_scaled_dot():
    """An object pickled when DotAttention was the learned-query product stays one."""
    old = ScaledDotAttention(6)
    old.__class__ = DotAttention  # what such a pickle holds: that class name, a query
    restored = pickle.loads(pickle.dumps(old))
    assert type(restored) is ScaledDotAttention
    outputs, mask, final = _batch()
    old.__class__ = ScaledDotAttention
    torch.testing.assert_close(restored(outputs, mask, final), old(outputs, mask, final))


@pytest.mark.parametrize("name", ["bahdanau", "luong"])
def test_module_names_the_papers_attention(name):
    assert ATTENTIONS == ("additive", "dot", "general", "scaled_dot")
    with pytest.raises(ValueError, match="Bahdanau's attention is 'additive'; Luong's scores"):
        SequenceClassifierModule(n_classes=2, vocab_size=5, attention=name)


def test_the_estimator_and_the_module_name_the_same_attentions():
    # both read the names and the papers' mapping from the torch-free _options module
    from skseqattn import _classifier, _options
    from skseqattn.nn import _module

    assert _classifier._ATTENTIONS == _module.ATTENTIONS
    assert _classifier._ATTENTION_HINT.rstrip(".") == _module.ATTENTION_NAMES_HINT.rstrip(".")
    assert _classifier._ATTENTIONS is _module.ATTENTIONS is _options.ATTENTIONS
    assert _classifier._ATTENTION_HINT is _module.ATTENTION_NAMES_HINT
