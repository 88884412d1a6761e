"""Tests of average_checkpoints: the fitted weights are the mean of the k best epochs'."""

import numpy as np
import pytest
import torch
from sklearn.utils._param_validation import InvalidParameterError
from skorch.callbacks import Callback

from skseqattn import BiLSTMAttentionClassifier

TINY = dict(embedding_dim=8, hidden_size=8, max_epochs=6, random_state=0, patience=6)


class Recorder(Callback):
    """Keeps a copy of the module's weights after every epoch."""

    def initialize(self):
        self.states = []
        return self

    def on_epoch_end(self, net, **kwargs):
        self.states.append({k: v.detach().clone() for k, v in net.module_.state_dict().items()})


def _data(n=240, seed=0):
    rng = np.random.RandomState(seed)
    X = np.zeros((n, 8), dtype=np.int64)
    for i, length in enumerate(rng.randint(1, 9, size=n)):
        X[i, :length] = rng.randint(2, 12, size=length)
    y = np.where((X == 3).any(axis=1) ^ (X[:, 0] > 7), "a", "b")
    return X, y


def _fit(k, **params):
    """Fit with ``average_checkpoints=k``; no blend after it, which would change the
    averaged weights (tests/test_ngram_blend.py)."""
    recorder = Recorder()
    params = {"ngram_blend": None, **params}
    clf = BiLSTMAttentionClassifier(
        average_checkpoints=k, validation_fraction=0.25, callbacks=[recorder], **TINY, **params
    )
    return clf.fit(*_data()), recorder.states


def test_weights_are_the_mean_of_the_k_best_epochs():
    clf, states = _fit(3)
    losses = np.array(clf.history_[:, "valid_loss"])
    best3 = np.argsort(losses, kind="stable")[:3]
    fitted = clf.module_.state_dict()
    for key, value in fitted.items():
        expected = sum(states[i][key].double() for i in best3) / 3
        torch.testing.assert_close(value.double(), expected, atol=1e-6, rtol=0)
    # the same training underneath: k=1 keeps the best epoch's weights, unaveraged
    plain, plain_states = _fit(1)
    np.testing.assert_allclose(plain.history_[:, "valid_loss"], losses, rtol=1e-6)
    best = int(np.argmin(losses))
    assert plain.best_epoch_ == best + 1
    for key, value in plain.module_.state_dict().items():
        torch.testing.assert_close(value, plain_states[best][key], atol=0, rtol=0)
    assert not torch.equal(fitted["head.weight"], plain.module_.state_dict()["head.weight"])
    # nothing is left behind in the fitted net
    callback = dict(clf.net_.callbacks_)["checkpoint_average"]
    assert callback.kept_ == []


def test_more_checkpoints_than_epochs_averages_them_all():
    clf, states = _fit(50)
    n = len(clf.history_)
    fitted = clf.module_.state_dict()
    expected = sum(s["head.bias"].double() for s in states) / n
    torch.testing.assert_close(fitted["head.bias"].double(), expected, atol=1e-6, rtol=0)


def test_without_validation_the_last_epoch_is_kept():
    X, y = _data()
    recorder = Recorder()
    clf = BiLSTMAttentionClassifier(
        validation_fraction=None, callbacks=[recorder], **{**TINY, "max_epochs": 2}
    ).fit(X, y)
    assert "checkpoint_average" not in dict(clf.net_.callbacks_)
    for key, value in clf.module_.state_dict().items():
        torch.testing.assert_close(value, recorder.states[-1][key], atol=0, rtol=0)


def test_average_checkpoints_must_be_positive():
    with pytest.raises(InvalidParameterError, match="average_checkpoints"):
        BiLSTMAttentionClassifier(average_checkpoints=0).fit(*_data(n=60))


def test_averaged_model_round_trips(tmp_path):
    from skseqattn.persistence import load, save

    clf = BiLSTMAttentionClassifier(validation_fraction=0.25, **TINY).fit(*_data())
    X, _ = _data(seed=1)
    loaded = load(save(clf, tmp_path / "m.skseqattn"))
    assert loaded.average_checkpoints == 3
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
