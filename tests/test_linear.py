"""Tests of the closed-form refit of the n-gram table (skseqattn._linear, ngram_refit)."""

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from skseqattn import BiLSTMAttentionClassifier, CharSequenceVectorizer, explain
from skseqattn._linear import (
    choose_mixture,
    fit_regression,
    fold_mixture,
    ngram_features,
)
from skseqattn._sequences import RaggedSequences
from skseqattn.nn import SequenceClassifierModule

TINY = dict(embedding_dim=8, hidden_size=8, max_epochs=2, random_state=0)


def _rows(seed=0, n=40, max_len=7, high=9):
    rng = np.random.RandomState(seed)
    lengths = rng.randint(0, max_len + 1, size=n)
    lengths[:2] = [0, max_len]
    return [rng.randint(2, high, size=k).astype(np.int64) for k in lengths]


def _module(n_classes=3, buckets=64, seed=0):
    torch.manual_seed(seed)
    module = SequenceClassifierModule(
        n_classes=n_classes,
        vocab_size=10,
        embedding_dim=4,
        hidden_size=4,
        ngram_order=3,
        ngram_buckets=buckets,
    )
    with torch.no_grad():
        module.ngrams.table.weight.normal_()
    return module.eval()


def test_features_reproduce_the_table_scores_whatever_the_padding():
    module = _module()
    rows = _rows()
    seqs = RaggedSequences.from_list(rows)
    features = ngram_features(module.ngrams, seqs)
    assert features.shape == (len(rows), 64)
    table = module.ngrams.table.weight.detach().double().numpy()
    expected = module.ngrams.gain * (features @ table)
    for width in (7, 12):  # the module's own scores, on two paddings
        X = np.zeros((len(rows), width), dtype=np.int64)
        for i, r in enumerate(rows):
            X[i, : len(r)] = r
        lengths = torch.tensor([len(r) for r in rows])
        with torch.no_grad():
            scores = module.ngrams(torch.as_tensor(X), lengths).double().numpy()
        np.testing.assert_allclose(scores, expected, atol=1e-5)
    # row independence: each row's features alone are its features in the batch
    for i in (0, 1, 5):
        alone = ngram_features(module.ngrams, RaggedSequences.from_list([rows[i]]))
        np.testing.assert_array_equal(alone.toarray()[0], features[i].toarray()[0])
    # an empty row has only the pair of markers; every row sums to count / sqrt(count)
    counts = np.asarray((features > 0).sum(axis=1)).ravel()
    assert counts[0] == 1
    np.testing.assert_allclose(features[0].sum(), 1.0)
    n = 7 + 8 + 7  # a row of 7: 7 unigrams, 8 bigrams and 7 trigrams with the markers
    np.testing.assert_allclose(features[1].sum(), n / np.sqrt(n))


def test_fit_regression_is_logistic_regression_in_the_tables_layout():
    rng = np.random.RandomState(0)
    F = rng.rand(60, 5)
    y = np.r_[np.zeros(30, int), np.ones(30, int)]
    F[y == 1, 0] += 1.0
    coef, intercept = fit_regression(F, y, 2, C=10)
    ref = LogisticRegression(C=10, max_iter=300, tol=1e-3).fit(F, y)
    margin = F @ (coef[1] - coef[0]) + intercept[1] - intercept[0]
    np.testing.assert_allclose(margin, ref.decision_function(F), atol=1e-8)
    np.testing.assert_allclose(coef[0], -coef[1])
    # a class absent from the training rows: zero weights, a very low intercept
    coef, intercept = fit_regression(F, y * 2, 3)
    np.testing.assert_array_equal(coef[1], 0.0)
    assert intercept[1] == -30.0 and intercept[0] > -30.0


def test_choose_mixture_keeps_a_network_the_regression_cannot_help():
    rng = np.random.RandomState(0)
    y = rng.randint(0, 3, size=200)
    network = np.eye(3)[y] * 4.0  # right and confident
    noise = rng.randn(200, 3) * 3.0
    assert choose_mixture(network, noise, y)[1] == 0.0
    # a network that knows nothing: the regression that does gets weight
    a, b = choose_mixture(np.zeros((200, 3)), network, y)
    assert b == 2.0
    # weights count: rows of weight 0 cannot move the choice
    w = np.r_[np.ones(100), np.zeros(100)]
    network2 = network.copy()
    network2[100:] = -network2[100:]  # wrong only where the weight is 0
    assert choose_mixture(network2, noise, y, w)[1] == 0.0


def test_fold_mixture_computes_the_mixture():
    module = _module(n_classes=3)
    rows = _rows(seed=1)
    seqs = RaggedSequences.from_list(rows)
    X, lengths = seqs.pad(np.arange(len(rows)))
    X, lengths = torch.as_tensor(X), torch.as_tensor(lengths)
    with torch.no_grad():
        before = module(X, lengths).double().numpy()
    features = ngram_features(module.ngrams, seqs)
    rng = np.random.RandomState(0)
    coef, intercept = rng.randn(3, 64), rng.randn(3)
    fold_mixture(module, 0.5, 1.5, coef, intercept)
    with torch.no_grad():
        after = module(X, lengths).double().numpy()
    np.testing.assert_allclose(
        after, 0.5 * before + 1.5 * (features @ coef.T + intercept), atol=1e-4
    )


# ---------------------------------------------------------------------- the classifier


@pytest.fixture(scope="module")
def refitted():
    rng = np.random.RandomState(0)
    letters = list("abcdefgh")
    X = ["".join(rng.choice(letters, rng.randint(2, 9))) for _ in range(240)]
    y = np.where(["ab" in s or "hc" in s for s in X], "yes", "no")
    pipe = make_pipeline(
        CharSequenceVectorizer(), BiLSTMAttentionClassifier(validation_fraction=0.25, **TINY)
    )
    return pipe.fit(X, y), X, y


def test_refit_mixes_a_regression_in_and_says_so(refitted):
    pipe, X, y = refitted
    clf = pipe[-1]
    a, b = clf.ngram_mixture_
    assert b > 0  # two epochs of a tiny network: the regression helps
    plain = make_pipeline(
        CharSequenceVectorizer(),
        BiLSTMAttentionClassifier(validation_fraction=0.25, ngram_refit=False, **TINY),
    ).fit(X, y)
    assert plain[-1].ngram_mixture_ is None
    assert pipe.score(X, y) > plain.score(X, y)
    # the same network underneath: only the head and the table moved
    fitted, base = clf.module_.state_dict(), plain[-1].module_.state_dict()
    moved = {k for k in fitted if not torch.equal(fitted[k], base[k])}
    assert moved == {"head.weight", "head.bias", "ngrams.table.weight"}
    np.testing.assert_allclose(fitted["head.weight"], a * base["head.weight"], rtol=1e-6)


def test_refit_without_validation_adds_the_regression():
    X = np.array([[2, 3, 4, 0], [3, 2, 0, 0], [4, 4, 2, 3], [2, 2, 2, 0]] * 10)
    y = np.array([0, 1, 0, 1] * 10)
    clf = BiLSTMAttentionClassifier(validation_fraction=None, **TINY).fit(X, y)
    assert clf.ngram_mixture_ == (1.0, 1.0)
    np.testing.assert_array_equal(clf.predict(X), y)  # the regression alone separates them
    # no n-gram term, no refit
    assert BiLSTMAttentionClassifier(ngram_order=0, **TINY).fit(X, y).ngram_mixture_ is None


def test_refitted_explanations_add_up(refitted):
    pipe, X, _ = refitted
    for item in explain(pipe, X[:6]):
        assert list(item.parts) == ["recurrent", "ngrams"]
        assert item.baseline + item.contributions.sum() == pytest.approx(item.score, abs=1e-4)


def test_refitted_save_load_round_trip(refitted, tmp_path):
    from skseqattn.persistence import load, save

    pipe, X, _ = refitted
    loaded = load(save(pipe, tmp_path / "p.skseqattn"))
    assert tuple(loaded[-1].ngram_mixture_) == pipe[-1].ngram_mixture_
    assert loaded[-1].ngram_refit is True
    np.testing.assert_allclose(loaded.predict_proba(X), pipe.predict_proba(X), atol=1e-7)


def test_refitted_onnx_parity(refitted, tmp_path):
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    from skseqattn.onnx import export_onnx

    pipe, X, _ = refitted
    session = ort.InferenceSession(
        export_onnx(pipe, tmp_path / "p.onnx"), providers=["CPUExecutionProvider"]
    )
    ids = pipe[:-1].transform(X[:50]).astype(np.int64)
    logits, proba = session.run(["logits", "probabilities"], {"ids": ids})
    np.testing.assert_allclose(proba, pipe.predict_proba(X[:50]), atol=1e-5, rtol=0)
    np.testing.assert_allclose(logits, pipe[-1]._logits(ids), atol=1e-5, rtol=0)
