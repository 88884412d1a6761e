"""Pretrained embeddings: the matrix layout, the helper that builds it, the fitted width."""

import re
import warnings
from functools import partial

import numpy as np
import pytest
from sklearn.pipeline import make_pipeline

from skseqattn import CharSequenceVectorizer

from conftest import tiny_classifier

tiny = partial(tiny_classifier, max_epochs=1)
TEXTS = ["the cat sat", "a dog ran", "the dog sat", "a cat ran"] * 5
LABELS = ["cat", "dog", "dog", "cat"] * 5


class FakeKeyedVectors:
    """The part of gensim's KeyedVectors that embedding_matrix uses."""

    def __init__(self, table):
        self.key_to_index = {k: i for i, k in enumerate(table)}
        self.vectors = np.asarray(list(table.values()), dtype=np.float64)
        self.vector_size = self.vectors.shape[1]

    def __getitem__(self, key):
        return self.vectors[self.key_to_index[key]]


VECTORS = {
    "the": [1.0, 0.0, 0.0],
    "cat": [0.0, 2.0, 0.0],
    "dog": [0.0, 0.0, 3.0],
    "sat": [4.0, 4.0, 0.0],
    "ran": [0.0, 5.0, 5.0],
    "zebra": [9.0, 9.0, 9.0],  # not in the vocabulary: unused
}


def _vec():
    return CharSequenceVectorizer(analyzer="word").fit(TEXTS)


@pytest.mark.parametrize("source", [dict, FakeKeyedVectors])
def test_embedding_matrix_rows_follow_the_ids(source):
    vec = _vec()
    with pytest.warns(UserWarning, match=r"1 of 6 vocabulary tokens have no vector .*'a'"):
        matrix = vec.embedding_matrix(source(VECTORS))
    assert matrix.shape == (vec.vocab_size_, 3) == (8, 3)
    assert matrix.dtype == np.float32
    assert vec.n_missing_vectors_ == 1
    np.testing.assert_array_equal(matrix[0], [0, 0, 0])  # padding
    np.testing.assert_allclose(matrix[1], [1.0, 2.2, 1.6])  # mean of the 5 found
    for token, index in vec.vocabulary_.items():
        expected = VECTORS.get(token, [0.0, 0.0, 0.0])
        np.testing.assert_array_equal(matrix[index], expected)
    # the ids of transform index the right rows
    ids = vec.transform(["the dog"])[0]
    np.testing.assert_array_equal(matrix[ids[:2]], [VECTORS["the"], VECTORS["dog"]])


def test_embedding_matrix_zeros_for_unknown_and_no_warning_when_complete():
    vec = CharSequenceVectorizer(analyzer="word", vocabulary=["cat", "dog"]).fit(TEXTS)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        matrix = vec.embedding_matrix(VECTORS, unknown="zeros", dtype=np.float64)
    assert vec.n_missing_vectors_ == 0
    np.testing.assert_array_equal(matrix, [[0, 0, 0], [0, 0, 0], [0, 2, 0], [0, 0, 3]])
    assert matrix.dtype == np.float64


def test_embedding_matrix_bad_input():
    vec = _vec()
    with pytest.raises(ValueError, match="unknown must be 'mean' or 'zeros', got 'max'"):
        vec.embedding_matrix(VECTORS, unknown="max")
    with pytest.raises(TypeError, match="expected a mapping of token to vector .* got list"):
        vec.embedding_matrix([[1.0, 2.0]])
    with pytest.raises(ValueError, match=r"the vector of 'dog' has shape \(2,\), expected \(3,\)"):
        vec.embedding_matrix({**VECTORS, "dog": [1.0, 2.0]})
    with pytest.raises(ValueError, match="none of the 6 vocabulary tokens has a vector"):
        vec.embedding_matrix({"zebra": [1.0]})
    assert not hasattr(vec, "n_missing_vectors_")  # failed calls leave it as it was


def test_classifier_uses_the_matrix_frozen_and_reports_its_width():
    vec = _vec()
    with pytest.warns(UserWarning, match="have no vector"):
        matrix = vec.embedding_matrix(VECTORS)
    X = vec.transform(TEXTS)
    clf = tiny(embedding_weights=matrix, freeze_embeddings=True, ngram_order=0).fit(X, LABELS)
    table = clf.module_.embedding.weight.detach().numpy()
    np.testing.assert_array_equal(table[1 : len(matrix)], matrix[1:])
    # unknown_id=None: one row of zeros more, for ids never seen in fit
    assert clf.n_ids_ == vec.vocab_size_ + 1 and clf.unknown_id_ == vec.vocab_size_
    np.testing.assert_array_equal(table[-1], 0.0)
    # embedding_dim=8 is ignored: the fitted width is the matrix's
    assert clf.embedding_dim == 8 and clf.embedding_dim_ == 3
    assert tiny().fit(X, LABELS).embedding_dim_ == 8


def test_a_matrix_without_padding_and_unknown_rows_is_refused():
    vec = _vec()
    X = vec.transform(TEXTS)
    per_word = np.ones((len(vec.vocabulary_), 3), dtype=np.float32)  # 6 rows, 8 ids
    clf = tiny(embedding_weights=per_word)
    msg = (
        "got token id 7 but embedding_weights has only 6 rows; it needs at least 8: one "
        "row per id, row 0 for padding. For a CharSequenceVectorizer that is vocab_size_ "
        "rows (0 padding, 1 unknown, 2.. the vocabulary)"
    )
    with pytest.raises(ValueError, match=re.escape(msg)):
        clf.fit(X, LABELS)
    assert not hasattr(clf, "net_")
    with pytest.raises(ValueError, match=r"shape \(n_ids, embedding_dim\) .* got shape \(8,\)"):
        tiny(embedding_weights=np.ones(8)).fit(X, LABELS)


def test_fixed_vocabulary_pipeline_shares_one_matrix():
    words = sorted(VECTORS)
    vec = CharSequenceVectorizer(analyzer="word", vocabulary=words).fit(TEXTS)
    matrix = vec.embedding_matrix(VECTORS)
    pipe = make_pipeline(
        CharSequenceVectorizer(analyzer="word", vocabulary=words),
        tiny(embedding_weights=matrix, ngram_order=0),
    ).fit(TEXTS[:10], LABELS[:10])  # a fold's subset: the same ids as the whole set
    # vocab_size_ rows (padding, unknown, words), plus one for ids never seen in fit
    assert pipe[-1].n_ids_ == len(words) + 3 == matrix.shape[0] + 1
    np.testing.assert_array_equal(pipe[0].transform(TEXTS), vec.transform(TEXTS))


def test_frozen_table_gets_no_gradient_and_no_weight_decay():
    vec = _vec()
    with pytest.warns(UserWarning, match="have no vector"):
        matrix = vec.embedding_matrix(VECTORS)
    X = vec.transform(TEXTS)
    clf = tiny(
        embedding_weights=matrix,
        freeze_embeddings=True,
        optimizer="adamw",
        weight_decay=0.5,
    ).fit(X, LABELS)
    weight = clf.module_.embedding.weight
    assert not weight.requires_grad and weight.grad is None
    np.testing.assert_array_equal(weight.detach().numpy()[1 : len(matrix)], matrix[1:])


def test_fitted_width_and_missing_count_survive_save_and_load(tmp_path):
    from skseqattn.persistence import load, save

    vec = _vec()
    with pytest.warns(UserWarning, match="have no vector"):
        matrix = vec.embedding_matrix(VECTORS)
    pipe = make_pipeline(vec, tiny(embedding_weights=matrix, ngram_order=0))
    pipe[-1].fit(vec.transform(TEXTS), LABELS)
    save(pipe, tmp_path / "model.zip")
    loaded = load(tmp_path / "model.zip")
    assert loaded[0].n_missing_vectors_ == 1
    assert loaded[-1].embedding_dim_ == 3
    np.testing.assert_array_equal(loaded.predict_proba(TEXTS), pipe.predict_proba(TEXTS))


# ------------------------------------------------------------------- large vocabularies
def test_large_learned_embedding_gets_sparse_updates_of_the_rows_used():
    import torch

    rng = np.random.RandomState(0)
    X = rng.randint(2, 60, size=(64, 5))
    X[0, 0] = 10_001  # 10,002 ids: a word-level vocabulary
    y = (X[:, 1] > 30).astype(int)
    start = rng.normal(size=(10_002, 4)).astype(np.float32)
    start[0] = 0.0
    clf = tiny(embedding_weights=start).fit(X, y)
    assert clf.module_.embedding.sparse
    assert isinstance(clf.net_.sparse_optimizer_, torch.optim.SparseAdam)
    weights = clf.module_.embedding.weight.detach().numpy()
    used = np.unique(X)
    assert (np.abs(weights[used] - start[used]).max(axis=1) > 0).all()  # every used row moved
    np.testing.assert_array_equal(weights[100:10_000], start[100:10_000])  # the others did not
    learned = tiny(embedding_dim=4).fit(X, y)
    assert learned.module_.embedding.sparse and learned.embedding_dim_ == 4
    decayed = tiny(embedding_dim=4, weight_decay=1e-4).fit(X, y)
    assert not decayed.module_.embedding.sparse  # SparseAdam has no weight decay
    small = tiny(embedding_dim=4).fit(X % 60, y)
    assert not small.module_.embedding.sparse  # character vocabularies keep dense Adam


def test_a_per_word_matrix_is_refused_even_when_the_data_misses_the_last_words():
    # the case: one row per word (no padding, no unknown row), and the training
    # texts never reach the last ids, so the row count alone cannot tell
    words = sorted(VECTORS) + ["never", "seen"]
    vec = CharSequenceVectorizer(analyzer="word", vocabulary=words).fit(TEXTS)
    per_word = np.array([VECTORS.get(w, np.ones(3)) for w in words], dtype=np.float32)
    X = vec.transform(TEXTS)
    assert X.max() + 1 <= len(per_word) < vec.vocab_size_
    clf = tiny(embedding_weights=per_word)
    with pytest.raises(ValueError, match=r"row 0 of embedding_weights \(the padding row\)"):
        clf.fit(X, LABELS)
    assert not hasattr(clf, "net_")
