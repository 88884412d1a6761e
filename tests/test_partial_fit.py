"""partial_fit: streaming training chunk by chunk, and the bound on the n-gram table."""

from functools import partial

import numpy as np
import pytest
import torch

from skseqattn import CharSequenceVectorizer
from skseqattn._net import ngram_buckets_for
from skseqattn.datasets import make_motif_sequences

from conftest import tiny_classifier

_small = partial(tiny_classifier, hidden_size=16, batch_size=32)


@pytest.fixture(scope="module")
def motifs():
    """Train and test ids of the 3-class motif task, through a fixed vocabulary."""
    vec = CharSequenceVectorizer(vocabulary=list("ACGT"))
    X, y = make_motif_sequences(600, random_state=0)
    X_test, y_test = make_motif_sequences(300, random_state=1)
    return vec.fit_transform(X), y, vec.transform(X_test), y_test


def _stream(clf, X, y, *, passes, chunk, classes):
    for _ in range(passes):
        for start in range(0, len(X), chunk):
            clf.partial_fit(X[start : start + chunk], y[start : start + chunk], classes=classes)
    return clf


def _weights(clf):
    return {k: v.clone() for k, v in clf.module_.state_dict().items()}


def test_partial_fit_over_chunks_reaches_the_accuracy_of_one_fit(motifs):
    X, y, X_test, y_test = motifs
    fitted = _small(max_epochs=3, validation_fraction=None)
    fit_acc = fitted.fit(X, y).score(X_test, y_test)
    streamed = _stream(_small(), X, y, passes=3, chunk=200, classes=np.unique(y))
    stream_acc = streamed.score(X_test, y_test)
    assert fit_acc >= 0.9
    assert stream_acc >= fit_acc - 0.03
    assert streamed.n_epochs_ == 9 == len(streamed.history_)  # one epoch per call
    assert "valid_loss" not in streamed.history_[-1]  # no validation split inside
    assert streamed.best_epoch_ is None


def test_partial_fit_first_call_needs_classes(motifs):
    X, y, *_ = motifs
    clf = _small()
    with pytest.raises(ValueError, match=r"partial_fit needs classes on its first call, got "):
        clf.partial_fit(X[:50], y[:50])
    assert not hasattr(clf, "net_")
    with pytest.raises(ValueError, match=r"needs at least 2 classes, got classes=\[0\]"):
        clf.partial_fit(X[:50], y[:50], classes=[0])


def test_partial_fit_classes_come_from_classes_not_the_chunk(motifs):
    X, y, X_test, _ = motifs
    only_zero = y == 0
    clf = _small()
    clf.partial_fit(X[only_zero][:40], y[only_zero][:40], classes=[2, 0, 1, 3])
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2, 3])
    proba = clf.predict_proba(X_test[:5])
    assert proba.shape == (5, 4)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-6)
    clf.partial_fit(X[y == 1][:40], y[y == 1][:40])  # one class per chunk is fine later too
    assert clf.n_epochs_ == 2


def test_partial_fit_unknown_label_or_classes_fails_and_leaves_the_estimator(motifs):
    X, y, X_test, _ = motifs
    clf = _small().partial_fit(X[:100], y[:100], classes=[0, 1, 2])
    before, proba = _weights(clf), clf.predict_proba(X_test[:20])
    bad_y = y[100:200].copy()
    bad_y[[3, 7]] = [5, 9]
    with pytest.raises(
        ValueError, match=r"got labels \[5, 9\] that are not in classes \[0, 1, 2\]"
    ):
        clf.partial_fit(X[100:200], bad_y)
    with pytest.raises(ValueError, match=r"classes=\[0, 1\], but classes_ is \[0, 1, 2\]"):
        clf.partial_fit(X[100:200], y[100:200], classes=[0, 1])
    with pytest.raises(ValueError, match="was fitted on tokens but got features input"):
        clf.partial_fit(np.random.RandomState(0).rand(10, 5, 2), y[:10])
    assert clf.n_epochs_ == 1
    for key, value in _weights(clf).items():
        assert torch.equal(value, before[key]), key
    np.testing.assert_array_equal(clf.predict_proba(X_test[:20]), proba)


def test_partial_fit_keeps_the_optimizer_state_between_calls(motifs):
    X, y, *_ = motifs
    clf = _small().partial_fit(X[:96], y[:96], classes=[0, 1, 2])
    steps = [float(s["step"]) for s in clf.net_.optimizer_.state.values()]
    assert set(steps) == {3.0}  # 96 rows / 32 per batch
    clf.partial_fit(X[96:192], y[96:192])
    steps = [float(s["step"]) for s in clf.net_.optimizer_.state.values()]
    assert set(steps) == {6.0}
    sparse = [float(s["step"]) for s in clf.net_.sparse_optimizer_.state.values()]
    assert set(sparse) == {6.0}


def test_partial_fit_after_fit_continues_and_a_fresh_fit_starts_anew(motifs):
    X, y, X_test, _ = motifs
    clf = _small(max_epochs=2, validation_fraction=None).fit(X, y)
    clf.partial_fit(X[:100], y[:100])
    assert clf.n_epochs_ == 3
    clf.fit(X[:200], y[:200])
    assert clf.n_epochs_ == 2


def test_partial_fit_is_repeatable_with_an_int_random_state(motifs):
    X, y, X_test, _ = motifs
    runs = [
        _stream(
            _small(),
            X[:300],
            y[:300],
            passes=1,
            chunk=100,
            classes=[0, 1, 2],
        ).predict_proba(X_test[:30])
        for _ in range(2)
    ]
    np.testing.assert_array_equal(runs[0], runs[1])


def test_partial_fit_features_standardised_from_the_first_chunk():
    rng = np.random.RandomState(0)
    first = rng.normal(5.0, 2.0, size=(40, 6, 3)).astype(np.float32)
    later = rng.normal(-5.0, 1.0, size=(40, 6, 3)).astype(np.float32)
    y = np.arange(40) % 2
    clf = _small().partial_fit(first, y, classes=[0, 1])
    mean = first.reshape(-1, 3).astype(np.float64).mean(axis=0)
    np.testing.assert_allclose(clf.feature_mean_, mean, rtol=1e-6)
    clf.partial_fit(later, y)
    np.testing.assert_allclose(clf.feature_mean_, mean, rtol=1e-6)
    with pytest.raises(ValueError, match="X has 2 features per step, but .* expecting 3"):
        clf.partial_fit(later[:, :, :2], y)


def test_partial_fit_refuses_balanced_class_weight(motifs):
    X, y, *_ = motifs
    clf = _small(class_weight="balanced")
    with pytest.raises(ValueError, match="does not support class_weight='balanced'"):
        clf.partial_fit(X[:50], y[:50], classes=[0, 1, 2])
    weighted = _small(class_weight={0: 1.0, 1: 2.0, 2: 1.0})
    assert weighted.partial_fit(X[:50], y[:50], classes=[0, 1, 2]).n_epochs_ == 1


@pytest.mark.parametrize(
    "n_classes, rows",
    [(2, 65536), (256, 65536), (257, 65280), (1000, 16777), (10_000, 1677), (20_000, 1024)],
)
def test_ngram_buckets_auto_bounds_the_table(n_classes, rows):
    assert ngram_buckets_for("auto", n_classes) == rows
    if n_classes <= 16_384:
        assert rows * n_classes <= 1 << 24
    assert ngram_buckets_for(65536, n_classes) == 65536  # an int is used as given


def test_ngram_buckets_auto_in_a_fitted_model(motifs):
    X, y, *_ = motifs
    classes = np.arange(1000)
    clf = _small().partial_fit(X[:20], y[:20], classes=classes)
    assert clf.module_.ngrams.table.weight.shape == (16777, 1000)
    clf = _small(ngram_buckets=512)
    clf.partial_fit(X[:20], y[:20], classes=classes)
    assert clf.module_.ngrams.table.weight.shape == (512, 1000)
