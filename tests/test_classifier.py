"""Tests of BiLSTMAttentionClassifier: learning, padding invariance, inputs, errors, sklearn."""

import copy
import pickle
import warnings

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.utils._param_validation import InvalidParameterError

from skseqattn import BiLSTMAttentionClassifier, CharSequenceVectorizer
from skseqattn._batches import BucketBatchIterator, SequenceDataset
from skseqattn._sequences import RaggedSequences
from skseqattn.datasets import (
    make_last_token_sequences,
    make_motif_sequences,
    make_variable_length_series,
    pad_sequences,
)

from conftest import TINY, tiny_classifier

tiny = tiny_classifier


def _shift_right(X, extra):
    """The same rows, pre-padded instead of post-padded, with ``extra`` more columns."""
    lengths = (X != 0).sum(axis=1)
    width = X.shape[1] + extra
    out = np.zeros((len(X), width), dtype=X.dtype)
    for i, n in enumerate(lengths):
        out[i, width - n :] = X[i, :n]
    return out


@pytest.fixture(scope="module")
def ids_data():
    rng = np.random.RandomState(0)
    lengths = rng.randint(0, 12, size=120)
    lengths[:3] = [0, 1, 11]
    X = np.zeros((120, 12), dtype=np.int64)
    for i, n in enumerate(lengths):
        X[i, :n] = rng.randint(2, 9, size=n)
    y = np.where(X[:, 0] > 4, "high", "low")
    return X, y


# --------------------------------------------------------------------------- learning checks
@pytest.mark.parametrize("pooling", ["last", "attention"])
def test_classifier_learns_last_token_of_post_padded_strings(pooling):
    X, y = make_last_token_sequences(2000, n_classes=6, min_len=1, max_len=25, random_state=0)
    vec = CharSequenceVectorizer(padding="post")
    X_ids = vec.fit_transform(X)
    X_tr, X_te, y_tr, y_te = train_test_split(X_ids, y, test_size=0.25, random_state=0)
    clf = BiLSTMAttentionClassifier(
        embedding_dim=16, hidden_size=16, pooling=pooling, max_epochs=12, random_state=0
    )
    accuracy = clf.fit(X_tr, y_tr).score(X_te, y_te)
    print(f"last-token task, pooling={pooling}: held-out accuracy {accuracy:.3f}")
    assert accuracy >= 0.97


@pytest.mark.parametrize(
    "params",
    [
        {},  # the defaults, n-gram term included
        dict(embedding_dim=16, hidden_size=16, max_epochs=15, ngram_order=0),  # recurrent only
    ],
    ids=["defaults", "tiny-recurrent"],
)
def test_classifier_attention_falls_on_the_motif(params):
    X, y, spans = make_motif_sequences(
        900, min_len=12, max_len=30, return_motif_positions=True, random_state=0
    )
    vec = CharSequenceVectorizer()
    X_ids = vec.fit_transform(X)
    clf = BiLSTMAttentionClassifier(random_state=0, **params)
    clf.fit(X_ids[:700], y[:700])
    accuracy = clf.score(X_ids[700:], y[700:])
    weights = clf.attention_weights(X_ids[700:])
    mass = np.mean([w[s:e].sum() for w, (s, e) in zip(weights, spans[700:])])
    print(f"motif task: accuracy {accuracy:.3f}, mean attention mass on the motif {mass:.3f}")
    assert accuracy >= 0.95
    assert mass >= 0.5


def test_classifier_uses_true_last_step_of_real_valued_sequences():
    X, y = make_variable_length_series(800, n_features=2, min_len=3, max_len=30, random_state=0)
    X3 = pad_sequences(X)  # NaN-padded (n, T, 2)
    # the recurrent part's own last step: without the series branch (with it, 0.935)
    clf = BiLSTMAttentionClassifier(
        hidden_size=16, pooling="last", max_epochs=15, random_state=0, rocket_features=0
    )
    clf.fit(X3[:600], y[:600])
    accuracy = clf.score(X3[600:], y[600:])
    print(f"real-valued last-step task: held-out accuracy {accuracy:.3f}")
    assert accuracy >= 0.95
    # the list form and the padded form are the same data
    np.testing.assert_allclose(
        clf.predict_proba(X[600:]), clf.predict_proba(X3[600:]), rtol=0, atol=1e-6
    )


# --------------------------------------------------------------------------- padding invariance
@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize(
    "pooling, attention",
    [
        ("attention", "additive"),
        ("attention", "dot"),
        ("attention", "general"),
        ("attention", "scaled_dot"),
        ("last", "additive"),
        ("mean", "additive"),
        ("max", "additive"),
    ],
)
def test_classifier_predictions_ignore_padding_width_side_and_batch(
    ids_data, cell, pooling, attention
):
    X, y = ids_data
    heads = 1 if attention == "dot" else 2  # Luong's dot score has no parameters
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", ".*attention='dot' is Luong", FutureWarning)
        clf = tiny(cell=cell, pooling=pooling, attention=attention, attention_heads=heads)
        clf.fit(X, y)
    batch = X[:40]
    reference = clf.predict_proba(batch)
    wider = np.pad(batch, ((0, 0), (0, 30)))
    pre = _shift_right(batch, 0)
    pre_wider = _shift_right(batch, 30)
    alone = np.vstack([clf.predict_proba(row[None, : max(1, (row != 0).sum())]) for row in batch])
    for variant in (clf.predict_proba(wider), clf.predict_proba(pre), clf.predict_proba(pre_wider)):
        np.testing.assert_allclose(variant, reference, rtol=0, atol=1e-5)
    np.testing.assert_allclose(alone, reference, rtol=0, atol=1e-5)
    # which other rows share the batch does not matter either
    shuffled = np.random.RandomState(1).permutation(len(batch))
    np.testing.assert_allclose(
        clf.predict_proba(batch[shuffled]), reference[shuffled], rtol=0, atol=1e-5
    )


def test_classifier_empty_sequence_gets_finite_probabilities(ids_data):
    X, y = ids_data
    for pooling in ["attention", "last", "mean", "max"]:
        clf = tiny(pooling=pooling).fit(X, y)
        proba = clf.predict_proba(np.zeros((3, 5), dtype=np.int64))
        assert np.isfinite(proba).all()
        np.testing.assert_allclose(proba.sum(axis=1), 1.0)
        # an empty row next to real rows gets the same answer as alone
        mixed = clf.predict_proba(np.vstack([np.zeros((1, 12), dtype=np.int64), X[:5]]))
        np.testing.assert_allclose(mixed[0], proba[0], atol=1e-6)


# --------------------------------------------------------------------------- attention weights
def test_classifier_attention_weights_sum_to_one_and_skip_padding(ids_data):
    X, y = ids_data
    clf = tiny().fit(X, y)
    pre = _shift_right(X, 3)
    for data in (X, pre):
        w = clf.attention_weights(data)
        assert w.shape == data.shape
        real = data != 0
        assert np.all(w[~real] == 0.0)
        sums = w.sum(axis=1)
        nonempty = real.any(axis=1)
        np.testing.assert_allclose(sums[nonempty], 1.0, atol=1e-6)
        assert np.all(sums[~nonempty] == 0.0)
    # the weights move with the tokens when the padding changes side
    w_post = clf.attention_weights(X)
    w_pre = clf.attention_weights(pre)
    for i in range(len(X)):
        np.testing.assert_allclose(w_pre[i][pre[i] != 0], w_post[i][X[i] != 0], atol=1e-6)


def test_classifier_attention_weights_with_heads_and_lists(ids_data):
    X, y = ids_data
    clf = tiny(attention_heads=3).fit(X, y)
    w = clf.attention_weights(X)
    assert w.shape == X.shape + (3,)
    np.testing.assert_allclose(w[(X != 0).any(axis=1)].sum(axis=1), 1.0, atol=1e-6)
    rows = [row[row != 0] for row in X[:4]]
    w_list = clf.attention_weights(rows)
    assert w_list.shape == (4, max(len(r) for r in rows), 3)
    np.testing.assert_allclose(w_list[1, : len(rows[1])], w[1, : len(rows[1])], atol=1e-6)


def test_classifier_attention_weights_need_attention_pooling(ids_data):
    X, y = ids_data
    clf = tiny(pooling="mean").fit(X, y)
    with pytest.raises(ValueError, match="pooling='attention'"):
        clf.attention_weights(X)


# --------------------------------------------------------------------------- inputs and labels
def test_classifier_accepts_every_real_valued_form():
    X, y = make_variable_length_series(60, n_features=1, min_len=2, max_len=9, random_state=0)
    X3 = pad_sequences(X)
    X2 = X3[:, :, 0]
    ragged_1d = [x[:, 0] for x in X]
    p_list = tiny(random_state=0).fit(X, y).predict_proba(X)
    for form in (X3, X2, ragged_1d):
        clf = tiny(random_state=0).fit(form, y)
        assert clf.input_type_ == "features"
        np.testing.assert_allclose(clf.predict_proba(form), p_list, atol=1e-6)


def test_classifier_ragged_token_lists_equal_padded_matrix(ids_data):
    X, y = ids_data
    rows = [list(row[row != 0]) for row in X]
    a = tiny().fit(X, y).predict_proba(X)
    b = tiny().fit(rows, y).predict_proba(rows)
    np.testing.assert_allclose(a, b, atol=1e-6)


def test_classifier_input_type_makes_ambiguous_dtype_explicit(ids_data):
    X, y = ids_data
    as_float = X.astype(np.float64)
    auto = tiny().fit(as_float, y)
    assert auto.input_type_ == "features"
    explicit = tiny(input_type="tokens").fit(as_float, y)
    assert explicit.input_type_ == "tokens"
    np.testing.assert_array_equal(
        explicit.predict_proba(as_float), tiny().fit(X, y).predict_proba(X)
    )
    with pytest.raises(ValueError, match="fitted on tokens but got features"):
        tiny().fit(X, y).predict(as_float)


@pytest.mark.parametrize(
    "labels",
    [
        np.array(["spam", "ham"]),
        np.array([3, 7]),
        np.array([True, False]),
        np.array(["a", "b", "c"]),
    ],
)
def test_classifier_returns_labels_of_their_own_type(ids_data, labels):
    X, _ = ids_data
    y = labels[np.arange(len(X)) % len(labels)]
    clf = tiny().fit(X, y)
    np.testing.assert_array_equal(clf.classes_, np.sort(labels))
    pred = clf.predict(X)
    assert pred.dtype == y.dtype
    assert set(pred) <= set(labels)
    assert clf.predict_proba(X).shape == (len(X), len(labels))
    np.testing.assert_allclose(
        np.exp(clf.predict_log_proba(X)), clf.predict_proba(X), rtol=1e-6, atol=1e-9
    )


def test_classifier_ids_beyond_vocabulary_share_one_extra_row(ids_data):
    X, y = ids_data
    clf = tiny().fit(X, y)
    assert clf.n_ids_ == X.max() + 2  # ids 0 .. max, and the row for unseen ids
    assert clf.unknown_id_ == clf.n_ids_ - 1
    unseen = X.copy()
    unseen[unseen == 5] = 999
    as_unknown = X.copy()
    as_unknown[as_unknown == 5] = clf.unknown_id_
    np.testing.assert_array_equal(clf.predict_proba(unseen), clf.predict_proba(as_unknown))
    other = X.copy()
    other[other == 5] = 12345  # every unseen id reads as the same row
    np.testing.assert_array_equal(clf.predict_proba(other), clf.predict_proba(unseen))


def test_classifier_unknown_id_int_reads_unseen_ids_as_it(ids_data):
    X, y = ids_data
    clf = tiny(unknown_id=1).fit(X, y)  # a vocabulary with its own unknown id, 1
    assert (clf.n_ids_, clf.unknown_id_) == (X.max() + 1, 1)
    unseen = X.copy()
    unseen[unseen == 5] = 999
    as_unknown = X.copy()
    as_unknown[as_unknown == 5] = 1
    np.testing.assert_array_equal(clf.predict_proba(unseen), clf.predict_proba(as_unknown))


def _token_one_data(n=400, seed=0):
    """Ids 1..9 from a tokenizer that reserves only 0; the label is whether id 1 occurs."""
    rng = np.random.RandomState(seed)
    X = np.zeros((n, 8), dtype=np.int64)
    y = np.arange(n) % 2
    for i in range(n):
        k = rng.randint(3, 9)
        row = rng.randint(2, 10, size=k)
        if y[i]:
            row[rng.randint(k)] = 1
        X[i, :k] = row
    return X, y


def test_classifier_learns_id_1_as_a_token_of_its_own():
    X, y = _token_one_data()
    clf = tiny(max_epochs=8, validation_fraction=None).fit(X[:300], y[:300])
    assert clf.score(X[300:], y[300:]) > 0.9  # token 1 is learned ...
    # ... and an id never seen in fit is not read as token 1: rows without a 1 whose
    # id 9 became 999 (a token unknown to the model) are still "no 1"
    negatives = X[300:][y[300:] == 0]
    changed = np.where(negatives == 9, 999, negatives)
    assert (changed != negatives).any(axis=1).mean() > 0.5
    assert (clf.predict(changed) == 0).mean() > 0.9
    # and explanations do not call token 1 unknown
    from skseqattn import explain

    assert not any(item.unknown.any() for item in explain(clf, X[300:310]))
    marked = [item.unknown.any() for item in explain(clf, changed[:10])]
    assert marked == [999 in row for row in changed[:10]]


def test_classifier_pickled_before_unknown_id_reads_unseen_ids_as_1(ids_data):
    X, y = ids_data
    clf = tiny(unknown_id=1, max_epochs=1).fit(X, y)
    old = copy.deepcopy(clf)  # as pickled before the parameter existed
    del old.unknown_id, old.unknown_id_, old._input.unknown_id
    restored = pickle.loads(pickle.dumps(old))
    assert restored.get_params()["unknown_id"] == 1 and restored.unknown_id_ == 1
    beyond = np.where(X == 5, 999, X)
    np.testing.assert_array_equal(restored.predict_proba(beyond), clf.predict_proba(beyond))


def test_classifier_pickled_before_conv_kernel_and_positions_predicts_the_same(ids_data):
    X, y = ids_data
    clf = tiny(conv_kernel=0, position_encoding=False, max_epochs=1).fit(X, y)
    old = copy.deepcopy(clf)  # as pickled before the parameters existed
    del old.conv_kernel, old.position_encoding, old.position_encoding_
    del old.module_.conv, old.module_.position
    restored = pickle.loads(pickle.dumps(old))
    params = restored.get_params()
    assert (params["conv_kernel"], params["position_encoding"]) == (0, False)
    assert restored.position_encoding_ is False
    assert restored.module_.conv is None and restored.module_.position is None
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))


def test_classifier_bad_unknown_id_names_it(ids_data):
    with pytest.raises(InvalidParameterError, match="'unknown_id' parameter"):
        tiny(unknown_id=0).fit(*ids_data)
    weights = np.zeros((9, 8), dtype=np.float32)
    with pytest.raises(ValueError, match="unknown_id=9 but embedding_weights has only 9 rows"):
        tiny(unknown_id=9, embedding_weights=weights).fit(*ids_data)


# --------------------------------------------------------------------------- training options
def test_classifier_is_bit_reproducible_with_int_random_state(ids_data):
    X, y = ids_data
    a = tiny(dropout=0.3).fit(X, y).predict_proba(X)
    b = tiny(dropout=0.3).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)
    c = tiny(dropout=0.3, random_state=1).fit(X, y).predict_proba(X)
    assert not np.array_equal(a, c)


def test_classifier_fit_leaves_global_torch_rng_alone(ids_data):
    X, y = ids_data
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    tiny().fit(X, y)
    np.testing.assert_array_equal(torch.rand(3), expected)


def test_classifier_grid_search_parallel_equals_serial(ids_data):
    X, y = ids_data
    grid = {"hidden_size": [4, 8], "pooling": ["attention", "mean"]}
    serial = GridSearchCV(tiny(), grid, cv=2, n_jobs=1).fit(X, y)
    parallel = GridSearchCV(tiny(), grid, cv=2, n_jobs=2).fit(X, y)
    for key in ["mean_test_score", "split0_test_score", "split1_test_score", "rank_test_score"]:
        np.testing.assert_array_equal(serial.cv_results_[key], parallel.cv_results_[key])
    np.testing.assert_array_equal(
        serial.best_estimator_.predict_proba(X), parallel.best_estimator_.predict_proba(X)
    )


def test_classifier_history_records_loss_and_accuracy(ids_data):
    X, y = ids_data
    clf = tiny(max_epochs=3, early_stopping=False, validation_fraction=0.5).fit(X, y)
    assert len(clf.history_) == clf.n_epochs_ == 3
    for key in ["train_loss", "train_acc", "valid_loss", "valid_acc"]:
        values = clf.history_[:, key]
        assert len(values) == 3 and all(np.isfinite(values))
    assert all(0 <= a <= 1 for a in clf.history_[:, "valid_acc"])
    no_valid = tiny(max_epochs=2, validation_fraction=None).fit(X, y)
    assert "valid_loss" not in no_valid.history_[-1]
    assert no_valid.best_epoch_ is None


def test_classifier_early_stopping_restores_best_epoch(ids_data):
    X, y = ids_data
    clf = tiny(max_epochs=40, patience=2, lr=0.05, random_state=3, validation_fraction=0.5)
    clf.fit(X, y)
    losses = clf.history_[:, "valid_loss"]
    assert clf.n_epochs_ < 40
    assert clf.best_epoch_ == int(np.argmin(losses)) + 1
    # the restored weights are the best epoch's: recompute its validation loss
    assert clf.n_epochs_ - clf.best_epoch_ == 2


def test_classifier_stops_when_the_plateau_schedule_reaches_its_floor(capsys):
    rng = np.random.RandomState(0)
    X = rng.randint(2, 6, size=(200, 6))
    y = rng.randint(0, 2, size=200)  # nothing to learn: the validation loss stalls
    params = dict(max_epochs=40, patience=40, lr=0.05, validation_fraction=0.5, verbose=1)
    clf = tiny(**params).fit(X, y)
    # patience alone would train all 40 epochs; the rate's fifth halving ends it
    assert clf.n_epochs_ < 40
    assert clf.net_.optimizer_.param_groups[0]["lr"] == pytest.approx(0.05 / 32)
    out = capsys.readouterr().out
    assert f"Stopping since the learning rate fell to {0.05 / 32:.3g}." in out
    assert clf.best_epoch_ == int(np.argmin(clf.history_[:, "valid_loss"])) + 1
    # without the schedule there is no floor: patience decides, and it is not reached
    constant = tiny(**params, lr_schedule=None).fit(X, y)
    assert constant.n_epochs_ == 40
    assert "learning rate fell" not in capsys.readouterr().out


def test_classifier_warm_start_continues_training(ids_data):
    X, y = ids_data
    clf = tiny(max_epochs=2, warm_start=True, early_stopping=False).fit(X, y)
    first = copy.deepcopy(clf.module_.state_dict())
    clf.fit(X, y)
    assert clf.n_epochs_ == 4 and len(clf.history_) == 4
    changed = any(not torch.equal(first[k], v) for k, v in clf.module_.state_dict().items())
    assert changed
    cold = tiny(max_epochs=2, early_stopping=False).fit(X, y)
    cold.fit(X, y)
    assert cold.n_epochs_ == 2


def test_classifier_sample_weight_zero_removes_rows(ids_data):
    X, y = ids_data
    keep = np.arange(len(X)) % 3 != 0
    weights = keep.astype(float)
    params = dict(validation_fraction=None, batch_size=len(X), max_epochs=3)
    weighted = tiny(**params).fit(X, y, sample_weight=weights)
    # with a single full batch the gradients of the zero-weight rows are exactly zero, so
    # the weighted fit differs from an unweighted one
    unweighted = tiny(**params).fit(X, y)
    assert not np.allclose(weighted.predict_proba(X), unweighted.predict_proba(X))
    # and all-zero weights are rejected
    with pytest.raises(ValueError, match="weights.*zero"):
        tiny().fit(X, y, sample_weight=np.zeros(len(X)))


def test_classifier_class_weight_shifts_predictions(ids_data):
    X, y = ids_data
    # Without the n-gram table: with it, the model separates these training rows whatever the
    # weights, and the shift this test looks for would not show on them.
    params = dict(max_epochs=8, validation_fraction=None, batch_size=16, ngram_order=0)
    heavy = tiny(class_weight={"high": 100.0, "low": 0.01}, **params).fit(X, y)
    balanced = tiny(class_weight="balanced", **params).fit(X, y)
    assert (heavy.predict(X) == "high").mean() > 0.9
    assert (heavy.predict(X) == "high").mean() > (balanced.predict(X) == "high").mean()


@pytest.mark.parametrize("optimizer", ["adam", "adamw", "sgd", torch.optim.RMSprop])
def test_classifier_optimizers(ids_data, optimizer):
    X, y = ids_data
    clf = tiny(optimizer=optimizer, weight_decay=1e-4).fit(X, y)
    expected = optimizer if isinstance(optimizer, type) else None
    if expected is not None:
        assert isinstance(clf.net_.optimizer_, expected)
    assert np.isfinite(clf.history_[-1, "train_loss"])


def test_classifier_embedding_weights_and_freezing(ids_data):
    X, y = ids_data
    weights = np.random.RandomState(0).normal(size=(20, 8)).astype(np.float32)
    with pytest.raises(ValueError, match=r"expected row 0 of embedding_weights \(the padding"):
        tiny(embedding_weights=weights).fit(X, y)  # a vector in the padding row: shifted?
    weights[0] = 0.0
    frozen = tiny(embedding_weights=weights, freeze_embeddings=True).fit(X, y)
    learned = frozen.module_.embedding.weight.detach().numpy()
    np.testing.assert_array_equal(learned[1:20], weights[1:])
    np.testing.assert_array_equal(learned[20], 0.0)  # the row added for unseen ids
    assert (frozen.n_ids_, frozen.unknown_id_) == (21, 20)
    own = tiny(embedding_weights=weights, freeze_embeddings=True, unknown_id=1).fit(X, y)
    assert (own.n_ids_, own.unknown_id_) == (20, 1)  # row 1 of the weights is unknown
    original = weights.copy()
    trained = tiny(embedding_weights=weights).fit(X, y)
    assert not np.array_equal(trained.module_.embedding.weight.detach().numpy(), weights)
    np.testing.assert_array_equal(weights, original)  # the parameter itself is untouched
    with pytest.raises(ValueError, match="embedding_weights has only 5 rows"):
        tiny(embedding_weights=weights[:5]).fit(X, y)


def test_classifier_extra_callbacks_run(ids_data):
    from skorch.callbacks import Callback

    class Count(Callback):
        def initialize(self):
            self.epochs = 0
            return self

        def on_epoch_end(self, net, **kwargs):
            self.epochs += 1

    counter = Count()
    X, y = ids_data
    clf = tiny(max_epochs=3, early_stopping=False, callbacks=[counter]).fit(X, y)
    assert dict(clf.net_.callbacks_)["user_0_Count"].epochs == 3
    assert clf.predict(X).shape == (len(X),)


def test_bucket_iterator_pads_each_batch_to_its_own_longest_row():
    lengths = np.array([1, 30, 2, 29, 3, 28, 4, 27])
    rows = [np.arange(2, 2 + n) for n in lengths]
    data = SequenceDataset(RaggedSequences.from_list(rows), y=np.zeros(len(rows)))
    # without shuffling (prediction): sorted by length and cut where the length changes
    widths = [Xi["X"].shape[1] for Xi, _ in BucketBatchIterator(data, batch_size=4)]
    assert widths == [1, 2, 3, 4, 27, 28, 29, 30]
    it = BucketBatchIterator(
        data, batch_size=2, shuffle=True, random_state=np.random.RandomState(0)
    )
    batches = [(Xi["X"].shape[1], Xi["lengths"].tolist()) for Xi, _ in it]
    # training batches: neighbours in length order, each padded to its own longest row
    assert sorted(w for w, _ in batches) == [2, 4, 28, 30]
    assert all(w == max(ls) for w, ls in batches)


# --------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    "X, y, error, match",
    [
        (np.zeros((4, 3, 2, 2)), [0, 1, 0, 1], ValueError, "3"),
        (np.array([[2, 3], [4, 1]]), [0, 1, 0], ValueError, "same length|inconsistent"),
        (np.array([[2, -3], [4, 1]]), [0, 1], ValueError, "negative token id"),
        (np.array([[2.0, np.nan], [4, 1]]), [0, 1], ValueError, "NaN or infinity inside token"),
        (np.array([[2, 3], [4, 1]]), [1, 1], ValueError, "one class"),
        (np.array([[2, 3], [4, 1]]), [0.5, 1.7], ValueError, "Unknown label type"),
        (["abc", "de"], [0, 1], TypeError, "CharSequenceVectorizer"),
        (np.array([[[1.0, np.nan], [2.0, 3.0]]] * 2), [0, 1], ValueError, "some but not all"),
    ],
)
def test_classifier_bad_input_is_rejected_and_changes_nothing(ids_data, X, y, error, match):
    params = dict(TINY)
    if np.asarray(X).dtype.kind == "f" and np.ndim(X) == 2:
        params["input_type"] = "tokens"
    clf = BiLSTMAttentionClassifier(**params).fit(*ids_data)
    before = pickle.dumps(clf)
    proba = clf.predict_proba(ids_data[0])
    with pytest.raises(error, match=match):
        clf.fit(X, y)
    assert pickle.dumps(clf) == before
    np.testing.assert_array_equal(clf.predict_proba(ids_data[0]), proba)


def test_classifier_predict_before_fit_raises_not_fitted(ids_data):
    for method in ["predict", "predict_proba", "attention_weights", "decision_function"]:
        with pytest.raises(NotFittedError):
            getattr(BiLSTMAttentionClassifier(), method)(ids_data[0])


@pytest.mark.parametrize(
    "param, value, match",
    [
        ("pooling", "attn", "'pooling' parameter.*'attention'"),
        ("cell", "rnn", "'cell' parameter"),
        ("hidden_size", 0, "'hidden_size' parameter"),
        ("dropout", 1.5, "'dropout' parameter"),
        ("optimizer", "adagrad", "'optimizer' parameter"),
        ("class_weight", "even", "'class_weight' parameter"),
    ],
)
def test_classifier_bad_parameter_names_the_parameter(ids_data, param, value, match):
    with pytest.raises(InvalidParameterError, match=match):
        BiLSTMAttentionClassifier(**{param: value}).fit(*ids_data)


@pytest.mark.parametrize("name", ["bahdanau", "luong", "Bahdanau"])
def test_classifier_attention_names_of_the_papers_are_mapped(ids_data, name):
    clf = tiny(attention=name)
    match = (
        rf"'attention' parameter of BiLSTMAttentionClassifier must be a str among "
        rf"\['additive', 'dot', 'general', 'scaled_dot'\]. Got '{name}' instead. "
        r"Bahdanau's attention is 'additive'; Luong's scores are 'dot' and 'general'"
    )
    with pytest.raises(InvalidParameterError, match=match):
        clf.fit(*ids_data)
    assert not hasattr(clf, "classes_")


def test_classifier_attention_dot_warns_of_its_new_meaning(ids_data):
    with pytest.warns(FutureWarning, match="'dot' is Luong's dot score.*'scaled_dot'"):
        clf = tiny(attention="dot", max_epochs=1).fit(*ids_data)
    assert type(clf.module_.pool).__name__ == "DotAttention"
    assert not list(clf.module_.pool.parameters())
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the learned query, under its new name: silent
        scaled = tiny(attention="scaled_dot", max_epochs=1, validation_fraction=None)
        scaled.fit(*ids_data)
    assert type(scaled.module_.pool).__name__ == "ScaledDotAttention"


def test_classifier_attention_dot_with_several_heads_is_an_error(ids_data):
    clf = tiny(max_epochs=1).fit(*ids_data)
    proba = clf.predict_proba(ids_data[0])
    clf.set_params(attention="dot", attention_heads=2)
    with pytest.raises(ValueError, match=r"attention='dot' with attention_heads=2.*'scaled_dot'"):
        clf.fit(*ids_data)
    np.testing.assert_array_equal(clf.predict_proba(ids_data[0]), proba)  # left as it was


def test_classifier_pickled_with_old_dot_unpickles_as_scaled_dot(ids_data):
    from skseqattn.nn import DotAttention

    clf = tiny(attention="scaled_dot", max_epochs=1).fit(*ids_data)
    proba = clf.predict_proba(ids_data[0])
    old = copy.deepcopy(clf)  # as pickled before the rename: 'dot' and a learned query
    old.set_params(attention="dot")
    old.module_.pool.__class__ = DotAttention
    with pytest.warns(FutureWarning, match="saved when attention='dot' named a learned query"):
        restored = pickle.loads(pickle.dumps(old))
    assert restored.attention == "scaled_dot"
    assert type(restored.module_.pool).__name__ == "ScaledDotAttention"
    np.testing.assert_array_equal(restored.predict_proba(ids_data[0]), proba)


def test_classifier_cuda_without_gpu_is_a_clear_error(ids_data):
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(ValueError, match="no CUDA device"):
        tiny(device="cuda").fit(*ids_data)
    assert tiny(device="auto").fit(*ids_data).device_ == "cpu"


@pytest.mark.gpu
def test_classifier_trains_and_predicts_on_cuda(ids_data):
    X, y = ids_data
    cpu = tiny().fit(X, y)
    gpu = tiny(device="cuda").fit(X, y)
    assert next(gpu.module_.parameters()).is_cuda
    np.testing.assert_allclose(gpu.predict_proba(X).sum(axis=1), 1.0)
    assert abs(gpu.score(X, y) - cpu.score(X, y)) < 0.2


# --------------------------------------------------------------------------- sklearn integration
def test_classifier_in_pipeline_grid_search_and_cross_validation():
    X, y = make_motif_sequences(240, min_len=8, max_len=16, random_state=0)
    pipe = make_pipeline(CharSequenceVectorizer(), tiny(max_epochs=2))
    grid = GridSearchCV(
        pipe,
        {
            "charsequencevectorizer__padding": ["post", "pre"],
            "bilstmattentionclassifier__hidden_size": [4, 8],
        },
        cv=2,
    ).fit(X, y)
    assert len(grid.cv_results_["params"]) == 4
    assert grid.predict(X[:5]).shape == (5,)
    scores = cross_val_score(pipe, X, y, cv=3)
    assert scores.shape == (3,) and np.all((scores >= 0) & (scores <= 1))


def test_classifier_clone_and_joblib_round_trip(tmp_path, ids_data):
    X, y = ids_data
    clf = tiny(attention_heads=2).fit(X, y)
    fresh = clone(clf)
    assert fresh.get_params() == {**clf.get_params()}
    assert not hasattr(fresh, "module_")
    path = tmp_path / "model.joblib"
    joblib.dump(clf, path)
    loaded = joblib.load(path)
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    np.testing.assert_array_equal(loaded.attention_weights(X), clf.attention_weights(X))


def test_classifier_warm_start_uses_new_lr_and_attention_follows_fitted_pooling(ids_data):
    X, y = ids_data
    clf = tiny(max_epochs=1, warm_start=True).fit(X, y)
    clf.set_params(lr=1e-5, pooling="mean")
    clf.fit(X, y)
    assert all(g["lr"] == 1e-5 for g in clf.net_.optimizer_.param_groups)
    # the fitted model still pools with attention, whatever the parameter says now
    assert clf.attention_weights(X).shape == X.shape


# --------------------------------------------------------------------------- small data
def _forum_data():
    """35 padded id sequences of 15 classes; 5 rows repeat another row with another label.

    The shape of a forum question this library answers: a hand-written model stalled at 20%
    training accuracy. The repeated rows cap training accuracy at 30 / 35 = 0.857.
    """
    rng = np.random.RandomState(0)
    y = np.r_[np.arange(15), rng.permutation(15)]
    X = np.zeros((35, 10), dtype=np.int64)
    for row in X[:30]:
        length = rng.randint(3, 11)
        row[:length] = rng.randint(2, 30, size=length)
    X[30:] = X[:5]
    y = np.r_[y, (y[:5] + 1) % 15]
    return X, y


@pytest.mark.parametrize("ngram_order", [4, 0])
def test_classifier_learns_35_rows_of_15_classes_with_the_defaults(ngram_order):
    X, y = _forum_data()
    clf = BiLSTMAttentionClassifier(
        pooling="last",
        max_epochs=300,
        batch_size=35,
        dropout=0,
        ngram_order=ngram_order,
        random_state=0,
    )
    with pytest.warns(UserWarning, match=r"hold out 4 of 35 rows for 15 classes") as caught:
        clf.fit(X, y)
    assert len([w for w in caught if "validation_fraction" in str(w.message)]) == 1
    assert clf.score(X, y) >= 0.8
    # no validation: all 300 epochs ran, and history_ says why
    assert clf.n_epochs_ == 300 and clf.best_epoch_ is None
    assert "valid_loss" not in clf.history_[-1]
    assert "validation_fraction=None" in clf.history_[0, "validation"]


def test_classifier_never_validates_on_the_only_row_of_a_class():
    rng = np.random.RandomState(1)
    X = rng.randint(2, 9, size=(300, 5))
    y = np.r_[np.zeros(150, dtype=int), np.ones(147, dtype=int), [2, 3, 4]]
    clf = tiny(validation_fraction=0.2)
    train, valid, reason = clf._split(y, np.random.RandomState(0))
    assert reason is None and len(valid) == 60
    assert {297, 298, 299} <= set(train) and not set(valid) & {297, 298, 299}
    assert sorted(np.r_[train, valid]) == list(range(300))
    # both big classes are represented in validation, stratified
    assert abs((y[valid] == 0).sum() - 30) <= 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # enough data: no warning
        clf.fit(X, y)
    assert "valid_loss" in clf.history_[-1] and "validation" not in clf.history_[0]


def test_classifier_skips_validation_with_too_few_rows_per_class():
    y = np.arange(600) % 40  # 60 validation rows for 40 classes: fewer than 2 per class
    clf = tiny()
    _, valid, reason = clf._split(y, np.random.RandomState(0))
    assert len(valid) == 0
    assert "60 of 600 rows for 40 classes, fewer than the 80" in reason
    _, valid, reason = tiny(validation_fraction=0.2)._split(y, np.random.RandomState(0))
    assert reason is None and len(valid) == 120
    _, valid, reason = tiny(validation_fraction=None)._split(y, np.random.RandomState(0))
    assert reason is None and len(valid) == 0  # asked for: no warning


def test_classifier_warm_start_on_too_little_data_trains_without_validation():
    rng = np.random.RandomState(3)
    X = rng.randint(2, 9, size=(400, 5))
    y = (X[:, 0] > 5).astype(int)
    clf = tiny(warm_start=True, max_epochs=2).fit(X, y)  # 40 validation rows: too few
    assert "validation" in clf.history_[0]
    clf = tiny(warm_start=True, max_epochs=2, validation_fraction=0.2).fit(X, y)
    assert "early_stopping" in dict(clf.net_.callbacks_)
    with pytest.warns(UserWarning, match="hold out 3 of 30 rows"):
        clf.set_params(validation_fraction=0.1).fit(X[:30], y[:30])
    assert clf.n_epochs_ == 4 and "valid_loss" not in clf.history_[-1]
    assert clf.best_epoch_ is None  # early stopping sat this fit out
    assert "validation_fraction" in clf.history_[2, "validation"]
    # with enough data again, early stopping takes part again
    assert "early_stopping" in dict(clf.net_.callbacks_)
    clf.set_params(validation_fraction=0.2).fit(X, y)
    assert "valid_loss" in clf.history_[-1]


# --------------------------------------------------------------------------- position_encoding


def test_position_encoding_starts_neutral_and_learns():
    from skseqattn.nn._module import SequenceClassifierModule

    torch.manual_seed(0)
    module = SequenceClassifierModule(
        n_classes=3, vocab_size=6, embedding_dim=4, hidden_size=4, position_encoding=True
    ).eval()
    X = torch.tensor([[2, 3, 4, 5], [5, 4, 0, 0]])
    lengths = torch.tensor([4, 2])
    with_positions = module(X, lengths)
    position, module.position = module.position, None
    # the map starts at zero: a fresh module computes what it would without positions
    torch.testing.assert_close(with_positions, module(X, lengths))
    module.position = position
    features = position(5, torch.zeros(1))
    assert features.shape == (1, 5, 4) and float(features.detach().abs().sum()) == 0.0

    X_str = ["ACGTAC", "CAGTTA", "GGACTA", "TTACGA"] * 10
    y = [0, 1, 0, 1] * 10
    pipe = make_pipeline(
        CharSequenceVectorizer(),
        tiny(position_encoding=True, validation_fraction=None),
    ).fit(X_str, y)
    weight = pipe[-1].module_.position.proj.weight
    assert weight.shape == (8, 32) and float(weight.detach().abs().sum()) > 0
    again = pickle.loads(pickle.dumps(pipe))
    np.testing.assert_array_equal(again.predict_proba(X_str), pipe.predict_proba(X_str))
    assert BiLSTMAttentionClassifier().position_encoding == "auto"
    assert pipe[-1].position_encoding_ is True


@pytest.mark.parametrize(
    "X, param, expected",
    [
        # fixed-length windows: positions mean the same in every row
        (np.array([[2, 3, 4], [4, 3, 2], [3, 3, 3], [2, 2, 4]] * 10), "auto", True),
        # padded rows of varying length: a position from the start means little
        (np.array([[2, 3, 4], [4, 3, 0], [3, 0, 0], [2, 2, 4]] * 10), "auto", False),
        ([np.ones((3, 2)), np.zeros((5, 2))] * 20, "auto", False),
        ([np.ones((4, 2)), np.zeros((4, 2))] * 20, "auto", True),
        # one step: nothing to tell apart
        (np.array([[2], [3]] * 20), "auto", False),
        # the bools are obeyed whatever the lengths
        (np.array([[2, 3, 4], [4, 3, 2]] * 20), False, False),
        (np.array([[2, 3, 4], [4, 3, 0]] * 20), True, True),
    ],
)
def test_position_encoding_auto_follows_the_lengths(X, param, expected):
    y = [0, 1] * (len(X) // 2)
    clf = BiLSTMAttentionClassifier(
        position_encoding=param, hidden_size=4, embedding_dim=4, max_epochs=1, random_state=0
    ).fit(X, y)
    assert clf.position_encoding_ is expected
    assert (clf.module_.position is not None) is expected
    assert clf.position_encoding == param  # the parameter is left as given


def test_position_encoding_auto_is_fixed_by_the_first_fit():
    fixed = np.array([[2, 3, 4], [4, 3, 2]] * 20)
    ragged = np.array([[2, 3, 0], [4, 3, 2]] * 20)
    y = [0, 1] * 20
    clf = BiLSTMAttentionClassifier(
        hidden_size=4, embedding_dim=4, max_epochs=1, warm_start=True, random_state=0
    )
    clf.fit(fixed, y).fit(ragged, y)  # a warm start continues the same module
    assert clf.position_encoding_ is True and clf.module_.position is not None
    stream = BiLSTMAttentionClassifier(hidden_size=4, embedding_dim=4, random_state=0)
    stream.partial_fit(ragged, y, classes=[0, 1]).partial_fit(fixed, y)
    assert stream.position_encoding_ is False and stream.module_.position is None
    clf.set_params(warm_start=False).fit(ragged, y)  # a new fit decides anew
    assert clf.position_encoding_ is False and clf.module_.position is None


def test_position_encoding_rejects_non_booleans():
    clf = BiLSTMAttentionClassifier(position_encoding="yes", max_epochs=1)
    with pytest.raises(
        ValueError,
        match=r"'position_encoding' parameter of BiLSTMAttentionClassifier must be .*bool.* "
        r"or a str among \{'auto'\}. Got 'yes' instead.",
    ):
        clf.fit([[1, 2], [2, 3]], [0, 1])
    assert not hasattr(clf, "module_")


# --------------------------------------------------------------------------- conv_kernel


def test_local_convolution_ignores_what_padding_holds():
    from skseqattn.nn._module import LocalConvolution

    torch.manual_seed(0)
    conv = LocalConvolution(3, 5)
    inputs = torch.randn(2, 6, 3)
    mask = torch.tensor([[True] * 6, [True] * 3 + [False] * 3])
    out = conv(inputs, mask)
    garbage = inputs.clone()
    garbage[1, 3:] = 100.0  # whatever sits beyond the last real step
    torch.testing.assert_close(conv(garbage, mask)[1, :3], out[1, :3])
    # the row alone, without padding, gives the same outputs at its real steps
    alone = conv(inputs[1:, :3], torch.ones(1, 3, dtype=torch.bool))
    torch.testing.assert_close(alone[0], out[1, :3])
    with pytest.raises(ValueError, match="kernel_size must be a positive odd int, got 4"):
        LocalConvolution(3, 4)


@pytest.mark.parametrize("features", [False, True])
def test_conv_kernel_predictions_do_not_depend_on_padding(features):
    rng = np.random.RandomState(0)
    lengths = rng.randint(1, 8, size=60)
    if features:
        X = [rng.randn(k, 2) for k in lengths]
        y = [int(x[:, 0].max() > 1) for x in X]
    else:
        X = np.zeros((60, 7), dtype=int)
        for i, k in enumerate(lengths):
            X[i, :k] = rng.randint(1, 6, size=k)
        y = (X[:, 0] > 2).astype(int)
    clf = BiLSTMAttentionClassifier(
        conv_kernel=3, hidden_size=6, embedding_dim=6, max_epochs=2, random_state=0
    ).fit(X, y)
    assert clf.module_.conv.conv.kernel_size == (3,)
    proba = clf.predict_proba(X)
    if features:
        one_by_one = np.vstack([clf.predict_proba([x]) for x in X[:10]])
    else:
        wide = np.hstack([X, np.zeros((60, 6), dtype=int)])
        np.testing.assert_allclose(clf.predict_proba(wide), proba, atol=1e-6, rtol=0)
        one_by_one = np.vstack([clf.predict_proba(X[i : i + 1, : lengths[i]]) for i in range(10)])
    np.testing.assert_allclose(one_by_one, proba[:10], atol=1e-6, rtol=0)
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(again.predict_proba(X), proba)


def test_conv_kernel_must_be_odd_and_a_failed_fit_changes_nothing():
    X = np.array([[2, 3, 4], [4, 3, 2]] * 20)
    y = [0, 1] * 20
    clf = BiLSTMAttentionClassifier(hidden_size=4, embedding_dim=4, max_epochs=1, random_state=0)
    clf.fit(X, y)
    before = clf.predict_proba(X)
    msg = (
        "BiLSTMAttentionClassifier got conv_kernel=4, but the convolution is centred on each "
        "step and needs an odd width; pass 3 or 5, or 0 to leave it out."
    )
    with pytest.raises(ValueError, match=msg):
        clf.set_params(conv_kernel=4).fit(X, y)
    np.testing.assert_array_equal(clf.predict_proba(X), before)
    with pytest.raises(ValueError, match=msg):
        BiLSTMAttentionClassifier(conv_kernel=4).partial_fit(X, y, classes=[0, 1])
    with pytest.raises(InvalidParameterError, match="'conv_kernel' parameter"):
        BiLSTMAttentionClassifier(conv_kernel=-1).fit(X, y)
