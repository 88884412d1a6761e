"""The convex linear model blended into the n-gram table (``ngram_blend``)."""

import numpy as np
import pytest
import torch
from scipy import sparse
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.utils._param_validation import InvalidParameterError

from skseqattn import explain
from skseqattn._net import ngram_buckets_for
from skseqattn._ngram_blend import (
    BLEND_WEIGHTS,
    _nb_ratios,
    count_distinct_ngrams,
    ngram_features,
    rows_within_budget,
)
from skseqattn._sequences import RaggedSequences
from skseqattn.nn import HashedNgramLinear
from skseqattn.persistence import load, save

from conftest import tiny_classifier


def _task(n=240, seed=0, classes=2):
    """Ragged id sequences; the class is which of `classes` marker ids occurs most."""
    rng = np.random.RandomState(seed)
    X = np.zeros((n, 12), dtype=np.int64)
    y = np.zeros(n, dtype=np.int64)
    for i in range(n):
        length = rng.randint(3, 13)
        row = rng.randint(3 + classes, 20, size=length)
        label = rng.randint(classes)
        row[rng.randint(length)] = 3 + label
        X[i, :length] = row
        y[i] = label
    return X, y


def _rows(X):
    lengths = (X != 0).sum(axis=1)
    return RaggedSequences.from_list([r[:k] for r, k in zip(X, lengths)])


# --------------------------------------------------------------------------- the features
def test_ngram_features_reproduce_the_table_exactly():
    layer = HashedNgramLinear(3, max_order=3, buckets=101)
    with torch.no_grad():
        layer.table.weight.copy_(torch.randn(101, 3, generator=torch.Generator().manual_seed(0)))
    X = np.array([[5, 6, 7, 0], [9, 0, 0, 0], [0, 0, 0, 0], [4, 4, 4, 4]])
    seqs = _rows(X)
    features = ngram_features(layer, seqs)
    assert features.shape == (4, 101)
    expected = layer(torch.from_numpy(X), torch.from_numpy(seqs.lengths)).detach().double().numpy()
    got = features @ layer.table.weight.detach().double().numpy() * layer.gain
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)
    # a repeated n-gram counts each time it occurs: row 3 holds 4 + 5 + 4 n-grams, the
    # unigram 4 four times, each n-gram at 1 / sqrt(13)
    assert features[3].sum() == pytest.approx(13 / np.sqrt(13))
    assert features[3].max() >= 4 / np.sqrt(13) - 1e-12
    assert features[2].nnz == 1 and features[2].sum() == pytest.approx(1.0)  # (start, end)


def test_nb_ratios_are_log_count_ratios_of_binarised_features():
    features = sparse.csr_matrix(np.array([[2.0, 0.0, 1.0], [0.0, 1.0, 1.0], [3.0, 0.0, 0.0]]))
    y = np.array([1, 0, 1])
    r = _nb_ratios(features, y, None)
    pos = 1 + np.array([2.0, 0.0, 1.0])  # presence counts in class 1, smoothed
    neg = 1 + np.array([0.0, 1.0, 1.0])
    np.testing.assert_allclose(r, np.log(pos / pos.sum()) - np.log(neg / neg.sum()))


# --------------------------------------------------------------------------- in fit
def test_auto_records_its_choice_and_the_weight_is_one_of_the_grid():
    X, y = _task()
    clf = tiny_classifier(validation_fraction=0.25).fit(X, y)
    chosen = clf.history_[-1]["ngram_blend"]
    assert set(chosen) == {"weight", "C", "nb"}
    assert clf.ngram_blend_ == chosen["weight"]
    assert np.isclose(BLEND_WEIGHTS, clf.ngram_blend_).any()


@pytest.mark.parametrize("imbalanced", [False, True])
def test_weight_one_leaves_exactly_the_logistic_regression(imbalanced):
    """With ``ngram_blend=1.0`` the head is zero and the table holds the linear model,
    refitted on the training and validation rows: the scores are its decision values,
    less the loss's logit adjustment (post-hoc, as the network learned it)."""
    X, y = _task(seed=1)
    if imbalanced:
        keep = (y == 0) | (np.arange(len(y)) % 3 == 0)  # about 3 to 1
        X, y = X[keep], y[keep]
    clf = tiny_classifier(ngram_blend=1.0, validation_fraction=0.25).fit(X, y)
    offset = np.zeros(2) if clf.logit_offset_ is None else clf.logit_offset_
    assert clf.ngram_blend_ == 1.0
    module = clf.module_
    assert torch.count_nonzero(module.head.weight) == 0
    features = ngram_features(module.ngrams, _rows(X))
    C, nb = clf.history_[-1]["ngram_blend"]["C"], clf.history_[-1]["ngram_blend"]["nb"]
    scaled = features @ sparse.diags(_nb_ratios(features, y, None)) if nb else features
    reference = LogisticRegression(C=C, solver="newton-cg", max_iter=100, tol=1e-4)
    reference.fit(scaled, y)
    margin = clf.decision_function(X)
    expected = reference.decision_function(scaled) - (offset[1] - offset[0])
    np.testing.assert_allclose(margin, expected, atol=2e-3)
    if imbalanced:  # the adjustment leans towards the rare class
        assert clf.logit_offset_ is not None
        assert clf.logit_offset_[0] > clf.logit_offset_[1]
        assert (margin > reference.decision_function(scaled)).all()


def test_none_and_zero_leave_the_network_as_trained():
    X, y = _task(seed=2)
    plain = tiny_classifier(ngram_blend=None).fit(X, y)
    zero = tiny_classifier(ngram_blend=0.0).fit(X, y)
    np.testing.assert_array_equal(plain.predict_proba(X), zero.predict_proba(X))
    assert plain.ngram_blend_ == zero.ngram_blend_ == 0.0
    assert "ngram_blend" not in plain.history_[-1]


def test_blend_is_the_weighted_sum_of_network_and_linear_scores():
    X, y = _task(seed=3)
    net_only = tiny_classifier(ngram_blend=None).fit(X, y)
    half = tiny_classifier(ngram_blend=0.5).fit(X, y)
    alone = tiny_classifier(ngram_blend=1.0).fit(X, y)
    # one seed, one split: the same network, the same linear model
    assert half.history_[-1]["ngram_blend"] == {**alone.history_[-1]["ngram_blend"], "weight": 0.5}
    np.testing.assert_allclose(
        half._logits(X),
        0.5 * net_only._logits(X) + 0.5 * alone._logits(X),
        atol=1e-5,
    )


def test_auto_without_validation_rows_blends_nothing():
    X, y = _task(seed=4)
    clf = tiny_classifier(validation_fraction=None).fit(X, y)
    assert clf.ngram_blend_ == 0.0
    reference = tiny_classifier(validation_fraction=None, ngram_blend=None).fit(X, y)
    np.testing.assert_array_equal(clf.predict_proba(X), reference.predict_proba(X))


def test_a_fixed_weight_without_validation_uses_the_default_penalty():
    X, y = _task(seed=5)
    clf = tiny_classifier(validation_fraction=None, ngram_blend=0.3).fit(X, y)
    assert clf.history_[-1]["ngram_blend"] == {"weight": 0.3, "C": 10.0, "nb": False}


def test_multiclass_blend_and_no_nb_weighting():
    X, y = _task(seed=6, n=300, classes=4)
    clf = tiny_classifier(ngram_blend=1.0, validation_fraction=0.25).fit(X, y)
    assert clf.history_[-1]["ngram_blend"]["nb"] is False  # NB weights are for two classes
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
    assert (clf.predict(X) == y).mean() > 0.8  # the marker id is a unigram


@pytest.mark.parametrize("value", [1.5, -0.1, "always"])
def test_invalid_ngram_blend_is_refused(value):
    X, y = _task(n=40)
    with pytest.raises(InvalidParameterError, match="ngram_blend"):
        tiny_classifier(ngram_blend=value).fit(X, y)


def test_real_valued_input_ignores_it():
    rng = np.random.RandomState(0)
    X = rng.randn(60, 10, 2).astype(np.float32)
    y = (X[:, :, 0].mean(axis=1) > 0).astype(int)
    clf = tiny_classifier(ngram_blend=1.0, rocket_features=0).fit(X, y)
    assert clf.ngram_blend_ == 0.0


# --------------------------------------------------------------------------- the fitted model
def test_explanations_add_up_and_save_load_round_trips(tmp_path):
    X, y = _task(seed=7)
    clf = tiny_classifier(ngram_blend=0.6, validation_fraction=0.25).fit(X, y)
    exp = explain(clf, X[:6], method="contributions")
    margin = clf.decision_function(X[:6])  # two classes: the score is signed towards it
    score = np.where(clf.predict(X[:6]) == clf.classes_[1], margin, -margin)
    for i, row in enumerate(exp):
        assert row.score == pytest.approx(score[i], abs=1e-5)
        assert row.baseline + row.contributions.sum() == pytest.approx(row.score, abs=1e-4)
    path = tmp_path / "blend.skseqattn"
    save(clf, path)
    back = load(path)
    assert back.ngram_blend_ == clf.ngram_blend_
    np.testing.assert_array_equal(back.predict_proba(X), clf.predict_proba(X))
    assert clone(clf).get_params()["ngram_blend"] == 0.6


# --------------------------------------------------------------------------- the table's size
def test_count_distinct_ngrams_counts_each_framed_ngram_once():
    X = np.array([[5, 6, 5, 6], [5, 6, 0, 0], [0, 0, 0, 0]])
    seqs = _rows(X)
    S, E = "start", "end"
    grams = set()
    for row in ([5, 6, 5, 6], [5, 6], []):
        framed = [S, *row, E]
        grams |= {(t,) for t in row}
        for n in (2, 3):
            grams |= {tuple(framed[i : i + n]) for i in range(len(framed) - n + 1)}
    assert count_distinct_ngrams(seqs, 3, stop_at=10**6) == len(grams)
    assert count_distinct_ngrams(seqs, 3, stop_at=2) == len(grams)  # one chunk: all of it


@pytest.mark.parametrize(
    "distinct, n_classes, rows",
    [
        (None, 2, 65536),  # the legacy rule
        (1000, 2, 65536),
        (32768, 18, 65536),
        (32769, 2, 131072),
        (300_000, 2, 1 << 20),
        (300_000, 18, (1 << 22) // 18),  # 16 MiB of floats at most
        (300_000, 100, 65536),
        (300_000, 1000, 16777),  # beyond 256 classes: the legacy rule
    ],
)
def test_auto_rows_grow_with_the_distinct_ngrams_within_a_budget(distinct, n_classes, rows):
    assert ngram_buckets_for("auto", n_classes, distinct=distinct) == rows
    assert ngram_buckets_for(4096, n_classes, distinct=distinct) == 4096
    assert ngram_buckets_for("auto", n_classes, distinct=distinct, legacy=True) == (
        ngram_buckets_for("auto", n_classes)
    )


def test_fit_sizes_the_table_by_its_ngrams_and_records_it():
    rng = np.random.RandomState(0)
    X = rng.randint(2, 3000, size=(1500, 12))  # about 57,000 distinct n-grams
    y = rng.randint(2, size=1500)
    clf = tiny_classifier(max_epochs=1, ngram_blend=None, ngram_order=4).fit(X, y)
    assert clf.ngram_buckets_ == clf.module_.ngrams.buckets == 1 << 17
    small = tiny_classifier(max_epochs=1, ngram_blend=None).fit(X[:50], y[:50])
    assert small.ngram_buckets_ == 65536
    fixed = tiny_classifier(max_epochs=1, ngram_buckets=1024).fit(X[:50], y[:50])
    assert fixed.ngram_buckets_ == 1024
    streamed = tiny_classifier(ngram_blend=None).partial_fit(X[:50], y[:50], classes=[0, 1])
    streamed.partial_fit(X, y)  # the first chunk sized it
    assert streamed.ngram_buckets_ == streamed.module_.ngrams.buckets == 65536
    assert tiny_classifier(ngram_order=0, max_epochs=1).fit(X[:50], y[:50]).ngram_buckets_ == 0


def test_ngram_order_auto_follows_the_number_of_ids(tmp_path):
    import pickle

    rng = np.random.RandomState(0)
    y = rng.randint(2, size=80)
    chars = rng.randint(2, 60, size=(80, 10))  # an alphabet: orders 1 to 4
    words = rng.randint(2, 3000, size=(80, 10))  # a vocabulary: orders 1 to 2
    c = tiny_classifier(max_epochs=1).fit(chars, y)
    assert c.ngram_order_ == c.module_.ngrams.max_order == 4
    w = tiny_classifier(max_epochs=1).fit(words, y)
    assert w.ngram_order_ == w.module_.ngrams.max_order == 2
    # its n-grams of orders 1 and 2, with the markers, are what the table counts
    counted = count_distinct_ngrams(_rows(words), 2, 10**9)
    assert w.ngram_buckets_ == ngram_buckets_for("auto", 2, distinct=counted)
    assert tiny_classifier(max_epochs=1, ngram_order=3).fit(words, y).ngram_order_ == 3
    none = tiny_classifier(max_epochs=1, ngram_order=0).fit(words, y)
    assert none.ngram_order_ == 0 and none.module_.ngrams is None
    series = tiny_classifier(max_epochs=1).fit(rng.randn(80, 10, 1).astype(np.float32), y)
    assert series.ngram_order_ == 0
    # a warm start and partial_fit keep the fitted orders, whatever the parameter says
    w.set_params(warm_start=True, ngram_order=4).fit(words, y)
    assert w.ngram_order_ == w.module_.ngrams.max_order == 2
    streamed = tiny_classifier().partial_fit(words[:40], y[:40], classes=[0, 1])
    streamed.set_params(ngram_order=4).partial_fit(words[40:], y[40:])
    assert streamed.ngram_order_ == streamed.module_.ngrams.max_order == 2
    # saved and pickled; a pickle from before the attribute reads it off the table
    exp = explain(w, words[:4], method="contributions")  # the bigram table adds up too
    for row in exp:
        assert row.baseline + row.contributions.sum() == pytest.approx(row.score, abs=1e-4)
    back = load(save(w, tmp_path / "w.skseqattn"))
    assert back.ngram_order_ == back.module_.ngrams.max_order == 2
    np.testing.assert_array_equal(back.predict_proba(words), w.predict_proba(words))
    state = w.__getstate__()
    del state["ngram_order_"]
    old = pickle.loads(pickle.dumps(w))
    old.__dict__.pop("ngram_order_")
    old.__setstate__(pickle.loads(pickle.dumps(state)))
    assert old.ngram_order_ == 2
    with pytest.raises(InvalidParameterError, match="ngram_order"):
        tiny_classifier(ngram_order="words").fit(words, y)


# --------------------------------------------------------------------------- bounded work
def test_rows_within_budget_counts_the_ngrams_each_row_has():
    layer = HashedNgramLinear(2, max_order=4, buckets=97)
    X = np.array([[3, 4, 5, 6, 7], [3, 4, 0, 0, 0], [3, 0, 0, 0, 0], [0, 0, 0, 0, 0]])
    seqs = _rows(X)
    _, valid = layer.ngram_ids(torch.from_numpy(X), torch.from_numpy(seqs.lengths))
    total = int(valid.sum())
    assert rows_within_budget(seqs.lengths, 4, 2, seed=0) is None
    # one entry short of everything, or a budget of classes that shrinks it: a sample
    import skseqattn._ngram_blend as blend

    original = blend.MAX_FEATURE_ENTRIES
    try:
        blend.MAX_FEATURE_ENTRIES = total - 1
        rows = rows_within_budget(seqs.lengths, 4, 2, seed=0)
        kept = valid[torch.from_numpy(rows)].sum()
        assert len(rows) < 4 and int(kept) <= total - 1
        assert list(rows) == sorted(rows)
        np.testing.assert_array_equal(rows, rows_within_budget(seqs.lengths, 4, 2, seed=0))
    finally:
        blend.MAX_FEATURE_ENTRIES = original


def test_a_training_set_over_the_budget_is_fitted_on_a_sample(monkeypatch):
    import skseqattn._ngram_blend as blend

    X, y = _task(seed=8, n=300)
    monkeypatch.setattr(blend, "MAX_FEATURE_ENTRIES", 2000)  # about a third of the rows
    seen = []
    fit_linear = blend._fit_linear
    monkeypatch.setattr(
        blend, "_fit_linear", lambda A, *args: seen.append(A.shape[0]) or fit_linear(A, *args)
    )
    clf = tiny_classifier(ngram_blend=1.0, validation_fraction=0.25).fit(X, y)
    assert clf.ngram_blend_ == 1.0 and seen and max(seen) < 150
    assert (clf.predict(X) == y).mean() > 0.7


def test_partial_fit_blends_nothing_and_warm_start_blends_again():
    X, y = _task(seed=9)
    streamed = tiny_classifier().partial_fit(X, y, classes=[0, 1])
    assert streamed.ngram_blend_ == 0.0
    clf = tiny_classifier(ngram_blend=0.5, validation_fraction=0.25, warm_start=True)
    clf.fit(X, y)
    first = clf.n_epochs_
    clf.fit(X, y)
    assert clf.n_epochs_ > first and clf.ngram_blend_ == 0.5
    assert clf.history_[-1]["ngram_blend"]["weight"] == 0.5
    assert np.isfinite(clf.predict_proba(X)).all()


def test_the_sample_holds_every_class_even_a_rare_one(monkeypatch):
    """Reviewer's case: 4 classes plus 3 rows of a fifth, a budget of a fifth of the rows;
    an unstratified sample lost the rare class and the fold raised a shape mismatch."""
    import skseqattn._ngram_blend as blend

    X, y = _task(seed=10, n=400, classes=4)
    rare, _ = _task(seed=11, n=3, classes=1)
    X, y = np.vstack([X, rare]), np.concatenate([y, [4, 4, 4]])
    monkeypatch.setattr(blend, "MAX_FEATURE_ENTRIES", 800)
    lengths = _rows(X).lengths
    for seed in range(5):
        rows = rows_within_budget(lengths, 4, 5, seed=seed, y=y)
        assert set(y[rows]) == {0, 1, 2, 3, 4}
    for seed in (0, 1, 2):
        clf = tiny_classifier(ngram_blend=1.0, validation_fraction=0.25, random_state=seed)
        clf.fit(X, y)
        assert clf.ngram_blend_ == 1.0
        np.testing.assert_allclose(clf.predict_proba(X).sum(axis=1), 1.0, atol=1e-6)


def test_ngram_blend_attribute_survives_later_partial_fit():
    X, y = _task(seed=12)
    clf = tiny_classifier(ngram_blend=0.4, validation_fraction=0.25).fit(X, y)
    clf.partial_fit(X, y)  # trains on; the blend stays folded in the weights
    assert clf.ngram_blend_ == 0.4
