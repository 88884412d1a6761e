"""Huge inputs: long sequences in bounded memory or refused up front, huge ids, wide matrices.

Limits are lowered with ``SKSEQATTN_MAX_BATCH_MEMORY`` so that the tests stay small: the
behaviour at 2 GiB and at a few MB is the same code.
"""

import functools
import warnings

import numpy as np
import pytest

from skseqattn import CharSequenceVectorizer, explain
from skseqattn._batches import BucketBatchIterator, SequenceDataset, _capped, _cut
from skseqattn._memory import MEMORY_ENV, batch_steps, memory_limit, step_bytes
from skseqattn._sequences import RaggedSequences

from conftest import tiny_classifier

_tiny = functools.partial(tiny_classifier, validation_fraction=None)


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.RandomState(0)
    X = rng.randint(2, 30, size=(60, 8))
    y = rng.randint(0, 2, 60)
    return _tiny().fit(X, y), rng


# ------------------------------------------------------------------------- the limit


@pytest.mark.parametrize(
    "raw, expected",
    [("", 2 * 2**30), ("1000", 1000), ("500MB", 500 * 10**6), ("8GiB", 8 * 2**30), ("1.5kb", 1500)],
)
def test_memory_limit_reads_the_environment(monkeypatch, raw, expected):
    monkeypatch.setenv(MEMORY_ENV, raw)
    assert memory_limit() == expected


@pytest.mark.parametrize("raw", ["lots", "8 parsecs", "0", "-5GB"])
def test_memory_limit_rejects_what_is_not_a_size(monkeypatch, raw):
    monkeypatch.setenv(MEMORY_ENV, raw)
    with pytest.raises(ValueError, match=f"{MEMORY_ENV}=.*not a memory size.*8GiB"):
        memory_limit()


def test_step_bytes_grow_with_the_model_and_training_costs_more(fitted):
    est, _ = fitted
    small = step_bytes(est.module_, "predict", 8)
    big = _tiny(hidden_size=32).fit(np.ones((4, 3), int), [0, 1, 0, 1]).module_
    assert step_bytes(big, "predict", 8) > small
    assert step_bytes(est.module_, "predict", 4) < small  # float32 layers
    assert step_bytes(est.module_, "fit", 4) > step_bytes(est.module_, "predict", 4)
    with pytest.raises(ValueError, match="mode must be one of"):
        step_bytes(est.module_, "train", 4)


# ------------------------------------------------------------------------- batches


def test_cut_holds_fewer_long_rows_per_batch():
    lengths = np.array([3] * 10 + [50] * 10 + [400] * 3)
    order = np.arange(len(lengths))
    batches = _cut(order, lengths, batch_size=8, max_steps=200)
    for batch in batches:
        assert len(set(lengths[batch])) == 1  # still one length per batch
        assert len(batch) == 1 or len(batch) * lengths[batch[0]] <= 200
    assert sorted(np.concatenate(batches)) == list(order)  # every row exactly once
    by_length = {}
    for batch in batches:
        by_length.setdefault(int(lengths[batch[0]]), []).append(len(batch))
    assert by_length == {3: [8, 2], 50: [4, 4, 2], 400: [1, 1, 1]}
    # without a cap the batches are as they always were
    assert [len(b) for b in _cut(order, lengths, 8)] == [8, 2, 8, 2, 3]


def test_capped_splits_only_a_batch_that_exceeds_the_cap():
    lengths = np.array([2, 3, 3, 4, 90, 100])
    batch = np.arange(6)
    assert [b.tolist() for b in _capped(batch[:4], lengths, 20)] == [[0, 1, 2, 3]]
    parts = _capped(batch, lengths, 200)
    assert [p.tolist() for p in parts] == [[0, 1, 2, 3], [4, 5]]  # 5 x 90 > 200
    for part in parts:
        assert len(part) == 1 or len(part) * lengths[part].max() <= 200
    assert [b.tolist() for b in _capped(batch, lengths, None)] == [batch.tolist()]


def test_training_batches_are_capped_and_keep_every_row():
    rng = np.random.RandomState(0)
    rows = [rng.randint(2, 9, size=n) for n in [5] * 30 + [300, 310]]
    ds = SequenceDataset(RaggedSequences.from_list(rows), np.zeros(32, int))
    iterator = BucketBatchIterator(
        ds, batch_size=16, shuffle=True, random_state=np.random.RandomState(0), max_steps=400
    )
    batches = iterator._batches()
    for batch in batches:
        assert len(batch) == 1 or len(batch) * ds.lengths[batch].max() <= 400
    assert sorted(np.concatenate(batches).tolist()) == list(range(32))
    # ordinary rows are far below the cap: the same batches as without it
    short = SequenceDataset(RaggedSequences.from_list(rows[:30]), np.zeros(30, int))
    capped = BucketBatchIterator(
        short, batch_size=16, shuffle=True, random_state=np.random.RandomState(3), max_steps=400
    )._batches()
    plain = BucketBatchIterator(
        short, batch_size=16, shuffle=True, random_state=np.random.RandomState(3)
    )._batches()
    assert [b.tolist() for b in capped] == [b.tolist() for b in plain]


# ------------------------------------------------------------------------- predict


def test_predict_refuses_a_sequence_too_long_for_the_limit(fitted, monkeypatch):
    est, rng = fitted
    X3 = rng.randint(2, 30, size=(3, 8))
    before = est.predict_proba(X3)
    monkeypatch.setenv(MEMORY_ENV, "4MB")
    per_step = step_bytes(est.module_, "predict", 8)
    fits = 4 * 10**6 // per_step
    rows = [rng.randint(2, 30, size=5), rng.randint(2, 30, size=fits + 10)]
    with pytest.raises(
        ValueError,
        match=rf"row 1 has {fits + 10:,} steps; predicting it would take about .* MiB, over "
        rf"the limit of 3.8 MiB per batch \(about {fits:,} steps.*max_len=.*{MEMORY_ENV}",
    ):
        est.predict_proba(rows)
    # nothing changed: the model predicts as before
    monkeypatch.delenv(MEMORY_ENV)
    np.testing.assert_array_equal(est.predict_proba(X3), before)


def test_prediction_in_capped_batches_equals_the_plain_one(fitted, monkeypatch):
    est, rng = fitted
    X = [rng.randint(2, 30, size=n) for n in rng.randint(1, 400, size=120)]
    plain = est.predict_proba(X)
    monkeypatch.setenv(MEMORY_ENV, "2MB")  # a few rows of 400 steps per batch at most
    assert batch_steps(est.module_, "predict", 8) < 400 * 4
    np.testing.assert_allclose(est.predict_proba(X), plain, rtol=0, atol=1e-12)


def test_explain_a_long_sequence_in_passes_still_adds_up(fitted, monkeypatch):
    est, rng = fitted
    X = rng.randint(2, 30, size=(2, 600))
    whole = explain(est, X)
    # a budget of a few path points per pass: each row's 34 points in several passes
    monkeypatch.setenv(MEMORY_ENV, str(step_bytes(est.module_, "explain", 4) * 600 * 5))
    parts = explain(est, X)
    for a, b in zip(whole, parts):
        total = b.baseline + b.contributions.sum()
        assert total == pytest.approx(b.score, abs=1e-3)
        np.testing.assert_allclose(b.contributions, a.contributions, rtol=1e-3, atol=1e-5)


def test_explain_refuses_a_sequence_too_long_for_the_limit(fitted, monkeypatch):
    est, rng = fitted
    monkeypatch.setenv(MEMORY_ENV, "20MB")  # enough to predict it, not to explain it
    est.predict_proba(rng.randint(2, 30, size=(1, 5000)))
    with pytest.raises(ValueError, match=r"row 0 has 5,000 steps; explaining it would take"):
        explain(est, rng.randint(2, 30, size=(1, 5000)))


# ------------------------------------------------------------------------- fit


def test_fit_refuses_a_row_too_long_and_keeps_the_fitted_state(fitted, monkeypatch):
    est, rng = fitted
    X = [rng.randint(2, 30, size=8) for _ in range(40)] + [rng.randint(2, 30, size=20_000)]
    y = np.r_[rng.randint(0, 2, 40), 1]
    clf = _tiny().fit(X[:40], y[:40])
    before = clf.predict_proba(X[:5])
    monkeypatch.setenv(MEMORY_ENV, "16MB")
    with pytest.raises(ValueError, match=r"row \d+ has 20,000 steps; training on it would take"):
        clf.fit(X, y)
    np.testing.assert_array_equal(clf.predict_proba(X[:5]), before)
    with pytest.raises(ValueError, match="training on it"):
        _tiny().fit(X, y)


def test_fit_with_long_rows_trains_in_capped_batches(monkeypatch):
    rng = np.random.RandomState(1)
    X = [rng.randint(2, 30, size=n) for n in [6] * 50 + [2000, 2100]]
    y = np.r_[rng.randint(0, 2, 50), 0, 1]
    monkeypatch.setenv(MEMORY_ENV, str(step_bytes_for_fit() * 2200))
    clf = _tiny(batch_size=64).fit(X, y)
    proba = clf.predict_proba(X)
    assert proba.shape == (52, 2) and np.isfinite(proba).all()


def step_bytes_for_fit():
    module = _tiny().fit(np.ones((4, 3), int), [0, 1, 0, 1]).module_
    return step_bytes(module, "fit", 4)


# ------------------------------------------------------------------------- huge ids


def test_a_huge_id_among_few_is_refused_naming_the_rows(monkeypatch):
    X = np.tile(np.arange(2, 10), (40, 1))
    X[3, 2] = 50_000_000
    y = np.arange(40) % 2
    clf = _tiny()
    with pytest.raises(
        ValueError,
        match=r"token id 50,000,000 among 9 distinct ids: the embedding would have "
        r"50,000,002 rows .* GiB .*1\.\.n first",
    ):
        clf.fit(X, y)
    assert not hasattr(clf, "net_")


def test_a_big_sparse_table_below_the_limit_gets_a_warning(monkeypatch):
    X = np.tile(np.arange(2, 10), (40, 1))
    X[3, 2] = 2**20 + 5
    with pytest.warns(UserWarning, match=r"would have 1,048,583 rows"):
        _tiny(embedding_dim=2, max_epochs=1).fit(X, np.arange(40) % 2)


def test_dense_large_ids_get_no_warning():
    X = np.arange(1, 2001).reshape(200, 10)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _tiny(max_epochs=1).fit(X, np.arange(200) % 2)


# ------------------------------------------------------------------------- the vectorizer


def test_vectorizer_refuses_a_matrix_made_huge_by_one_outlier(monkeypatch):
    vec = CharSequenceVectorizer().fit(["anna", "bob"])
    names = ["anna", "bob"] * 50 + ["x" * 200_000]
    monkeypatch.setenv(MEMORY_ENV, "64MB")
    with pytest.raises(
        ValueError,
        match=r"row 100 has 200,000 tokens, .* shape \(101, 200,000\) .* max_len=4",
    ):
        vec.transform(names)
    # a max_len gives the matrix the user asked for
    assert vec.set_params(max_len=4).transform(names).shape == (101, 4)


def test_vectorizer_warns_of_a_wide_matrix_below_the_limit(monkeypatch):
    monkeypatch.setattr("skseqattn._vectorizer._OUTLIER_BYTES", 1000)
    names = ["anna", "bob"] * 50 + ["x" * 500]
    with pytest.warns(UserWarning, match=r"row 100 has 500 tokens.*Set max_len"):
        out = CharSequenceVectorizer().fit_transform(names)
    assert out.shape == (101, 500)


def test_vectorizer_is_silent_on_even_lengths(monkeypatch):
    monkeypatch.setattr("skseqattn._vectorizer._OUTLIER_BYTES", 10)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        CharSequenceVectorizer().fit_transform(["anna", "bob", "carla"] * 30)
