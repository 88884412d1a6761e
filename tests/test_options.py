"""Tests of skseqattn._options: one torch-free list per string option, read on both sides."""

import subprocess
import sys

import numpy as np
import pytest
from sklearn.utils._param_validation import InvalidParameterError

from skseqattn import BiLSTMAttentionClassifier, _options

LISTS = {
    "cell": _options.CELLS,
    "pooling": _options.POOLINGS,
    "attention": _options.ATTENTIONS,
    "optimizer": _options.OPTIMIZERS,
}


def test_options_import_neither_torch_nor_scikit_learn():
    code = "import sys, skseqattn._options; print('torch' in sys.modules, 'sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


@pytest.mark.parametrize("param", sorted(LISTS))
def test_options_are_what_the_estimator_accepts(param):
    constraint = BiLSTMAttentionClassifier._parameter_constraints[param][0]
    assert constraint.options == set(LISTS[param])
    with pytest.raises(InvalidParameterError, match=rf"'{param}' parameter.*{LISTS[param][-1]}"):
        BiLSTMAttentionClassifier(**{param: "nope"}).fit(np.array([[2, 3], [3, 2]]), [0, 1])


def test_options_are_what_the_torch_side_builds():
    from skseqattn import _net, nn
    from skseqattn.nn import _module

    assert set(nn.CELLS) == set(_options.CELLS)
    assert nn.POOLINGS is _options.POOLINGS
    assert nn.ATTENTIONS is _options.ATTENTIONS
    assert set(_module._ATTENTION_CLASSES) == set(_options.ATTENTIONS)
    assert set(_net.OPTIMIZERS) == set(_options.OPTIMIZERS)
    for cell in _options.CELLS:
        for pooling in _options.POOLINGS:
            module = nn.SequenceClassifierModule(
                n_classes=2,
                vocab_size=5,
                embedding_dim=4,
                hidden_size=4,
                cell=cell,
                pooling=pooling,
            )
            assert isinstance(module.rnn, nn.CELLS[cell])
    for attention in _options.ATTENTIONS:
        module = nn.SequenceClassifierModule(n_classes=2, vocab_size=5, attention=attention)
        assert isinstance(module.pool, _module._ATTENTION_CLASSES[attention])
    with pytest.raises(ValueError, match=r"cell must be one of \['gru', 'lstm'\], got 'rnn'"):
        nn.SequenceClassifierModule(n_classes=2, vocab_size=5, cell="rnn")
