"""Tests of the input checks: containers users have, non-finite numbers, a loss that diverges."""

import re
from functools import partial

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted
from skorch.callbacks import Callback

import skseqattn
from skseqattn import BiLSTMAttentionClassifier, CharSequenceVectorizer, NonFiniteLossError

from conftest import tiny_classifier

PRIVATE = re.compile(r"_FeatureRecord|RaggedSequences|TokenInput|FeatureInput|InputKind")

IDS = np.array([[2, 3, 0], [4, 2, 3], [3, 3, 0], [2, 0, 0], [4, 4, 0], [3, 2, 4]] * 2)
Y = np.array([0, 1, 0, 1, 1, 0] * 2)


_clf = partial(tiny_classifier, max_epochs=1, batch_size=4, validation_fraction=None)


def _ragged_features(n=8, seed=0):
    rng = np.random.RandomState(seed)
    return [rng.rand(rng.randint(1, 5), 2) for _ in range(n)]


def _rows(X):
    return [row[row != 0] for row in X]


# ------------------------------------------------------------------ containers
@pytest.fixture(scope="module")
def fitted_ids():
    return _clf().fit(IDS, Y)


@pytest.mark.parametrize(
    "make",
    [
        torch.tensor,
        pd.DataFrame,
        lambda X: X.tolist(),
        lambda X: tuple(map(tuple, X.tolist())),
        lambda X: np.array([*_rows(X), np.array([2])], dtype=object)[:-1],
        lambda X: pd.Series(_rows(X)),
        lambda X: pd.DataFrame({"ids": _rows(X)}),
        lambda X: [torch.tensor(row) for row in _rows(X)],
    ],
    ids=["tensor", "frame", "list", "tuple", "object-array", "series", "frame-column", "tensors"],
)
def test_inputs_id_containers_predict_as_the_array(fitted_ids, make):
    expected = fitted_ids.predict_proba(IDS)
    np.testing.assert_allclose(fitted_ids.predict_proba(make(IDS)), expected, atol=1e-6)


def test_inputs_fit_on_a_tensor_equals_fit_on_the_array(fitted_ids):
    clf = _clf().fit(torch.tensor(IDS), Y)
    np.testing.assert_allclose(clf.predict_proba(IDS), fitted_ids.predict_proba(IDS), atol=1e-6)


def test_inputs_ragged_features_in_every_form():
    rows = _ragged_features()
    y = np.arange(len(rows)) % 2
    clf = _clf().fit(rows, y)
    expected = clf.predict_proba(rows)
    forms = {
        "object array": np.array(rows, dtype=object),
        "series": pd.Series(rows),
        "tuple": tuple(rows),
        "frame column": pd.DataFrame({"series": rows}),
        "tensors": [torch.tensor(r) for r in rows],
    }
    for label, X in forms.items():
        np.testing.assert_allclose(clf.predict_proba(X), expected, atol=1e-6, err_msg=label)
    refit = _clf().fit(np.array(rows, dtype=object), y)  # the form loaders produce
    np.testing.assert_allclose(refit.predict_proba(rows), expected, atol=1e-6)


def test_inputs_sparse_matrix_is_refused_with_the_fix():
    match = r"scipy sparse matrix \(csr_matrix of shape \(12, 3\)\)"
    with pytest.raises(TypeError, match=match) as e:
        _clf().fit(sp.csr_matrix(IDS), Y)
    assert "X.toarray()" in str(e.value) and "CharSequenceVectorizer" in str(e.value)
    with pytest.raises(TypeError, match="scipy sparse matrix.*pass the strings themselves"):
        CharSequenceVectorizer().fit(sp.csr_matrix(np.eye(2)))


def test_inputs_ids_beyond_int64_and_negative_ids_are_refused(fitted_ids):
    huge = IDS.astype(np.uint64)
    huge[1, 0] = np.uint64(2**63)
    msg = r"got token id 9223372036854775808 in row 1, which does not fit int64"
    clf = _clf()
    with pytest.raises(ValueError, match=msg):
        clf.fit(huge, Y)
    assert not hasattr(clf, "classes_")
    with pytest.raises(ValueError, match=msg):
        fitted_ids.predict(huge)
    with pytest.raises(ValueError, match=r"does not fit int64"):
        _clf(input_type="tokens").fit(np.array([[2.0, 1e19], [3.0, 0.0]]), [0, 1])
    with pytest.raises(ValueError, match=r"negative token id \(-3\) in row 0; ids must be >= 0"):
        fitted_ids.predict(np.array([[2, -3]]))


def test_inputs_strings_and_empty_input_say_what_arrived(fitted_ids):
    for call in (_clf().fit, fitted_ids.predict):
        args = (Y[:2],) if call.__name__ == "fit" else ()
        with pytest.raises(TypeError, match="got strings; turn text into ids first") as e:
            call(["anna", "bob"], *args)
        assert "features input" not in str(e.value)
        with pytest.raises(TypeError, match="got strings"):
            call(pd.Series(["anna", None]), *args)
        with pytest.raises(ValueError, match=r"got an empty list \(0 sequences\)") as e:
            call([], *(([],) if args else ()))
        assert not PRIVATE.search(str(e.value))


def test_inputs_missing_value_inside_input_names_its_position():
    with pytest.raises(TypeError, match=r"missing value \(None\) at position 1 instead of"):
        _clf().fit([np.array([2, 3]), None, np.array([4])], [0, 1, 0])
    with pytest.raises(TypeError, match=r"got None in row 1, position 1; sequences hold"):
        _clf().fit([[2, 3, 0], [4, None, 0]], [0, 1])
    with pytest.raises(TypeError, match=r"missing value \(None\) at position 0"):
        _clf().fit([None, None], [0, 1])
    with pytest.raises(TypeError, match=r"missing value \(nan\) at position 2"):
        CharSequenceVectorizer().fit(pd.Series(["ab", "c", np.nan]))


def test_inputs_all_empty_ragged_list_predicts_the_prior():
    y = np.array([0, 0, 0, 1] * 5)
    # one full batch, no logit adjustment: the bias alone learns the class prior
    clf = _clf(max_epochs=100, lr=0.05, batch_size=len(y), logit_adjustment=0.0)
    clf.fit([[] for _ in y], y)
    assert clf.n_ids_ == 2
    proba = clf.predict_proba([[], [], np.array([2, 3])])
    np.testing.assert_allclose(proba[0], proba[1])
    np.testing.assert_allclose(proba[0], [0.75, 0.25], atol=0.03)


@pytest.mark.parametrize(
    "make",
    [pd.Series, lambda s: pd.DataFrame({"name": s}), tuple, lambda s: np.array(s, dtype=object)],
    ids=["series", "frame-column", "tuple", "object-array"],
)
def test_inputs_vectorizer_accepts_string_containers(make):
    texts = ["anna", "bob", "cy"]
    vec = CharSequenceVectorizer().fit(texts)
    expected = vec.transform(texts)
    np.testing.assert_array_equal(
        CharSequenceVectorizer().fit(make(texts)).transform(texts), expected
    )
    np.testing.assert_array_equal(vec.transform(make(texts)), expected)
    assert vec.inverse_transform(torch.tensor(expected)) == texts


# ------------------------------------------------------------------ non-finite numbers
@pytest.mark.parametrize(
    "params, fit_kw, match",
    [
        ({}, dict(sample_weight=[1.0, np.nan] + [1.0] * 10), "sample_weight contains NaN"),
        ({}, dict(sample_weight=[np.inf] + [1.0] * 11), "sample_weight contains infinity"),
        (dict(class_weight={0: np.nan, 1: 1.0}), {}, r"class_weight nan for class 0; class"),
        (dict(class_weight={0: 1.0, 1: np.inf}), {}, r"class_weight inf for class 1"),
        (
            dict(embedding_weights=np.where(np.eye(5, 8) > 0, np.nan, 0.0)),
            {},
            r"NaN, infinity or a value too large for float32 in embedding_weights \(first at "
            r"index \(0, 0\)\)",
        ),
        (dict(embedding_weights=np.full((5, 8), 1e39)), {}, "in embedding_weights"),
    ],
    ids=["sw-nan", "sw-inf", "cw-nan", "cw-inf", "emb-nan", "emb-float32-overflow"],
)
def test_inputs_non_finite_numbers_refused_before_training(params, fit_kw, match):
    clf = _clf(**params)
    with pytest.raises(ValueError, match=match):
        clf.fit(IDS, Y, **fit_kw)
    assert not hasattr(clf, "net_")


def test_inputs_infinite_features_refused():
    X = np.random.RandomState(0).rand(6, 4, 2)
    X[3, 1, 0] = np.inf
    with pytest.raises(ValueError, match=r"got infinity .* in X, row 3; real-valued input"):
        _clf().fit(X, Y[:6])
    rows = _ragged_features(6)
    rows[2][0, 1] = -np.inf
    with pytest.raises(ValueError, match="got infinity"):
        _clf().fit(rows, Y[:6])


def test_inputs_huge_finite_weights_do_not_overflow():
    w = np.linspace(1.0, 2.0, len(Y))
    expected = _clf().fit(IDS, Y, sample_weight=w).predict_proba(IDS)
    huge = _clf().fit(IDS, Y, sample_weight=w * 1e307 * 5).predict_proba(IDS)  # up to 1e308
    assert np.isfinite(huge).all()
    # only the weights' ratios matter (equal up to rounding: Adam's first steps amplify it)
    np.testing.assert_allclose(huge, expected, atol=1e-3)
    both = _clf(class_weight={0: 1e308, 1: 1e308}).fit(IDS, Y, sample_weight=w * 5e307)
    np.testing.assert_allclose(both.predict_proba(IDS), expected, atol=1e-3)


# ------------------------------------------------------------------ a loss that diverges
POISON = {"epoch": None}


class _PoisonWeights(Callback):
    """Set the head's weights to NaN at the start of epoch ``POISON['epoch']``."""

    def on_epoch_begin(self, net, **kwargs):
        if POISON["epoch"] == len(net.history):
            with torch.no_grad():
                net.module_.head.weight.fill_(float("nan"))


@pytest.fixture
def poison():
    yield POISON
    POISON["epoch"] = None


def test_inputs_non_finite_loss_stops_training_unfitted_stays_unfitted(poison):
    poison["epoch"] = 2
    clf = _clf(max_epochs=3, callbacks=[_PoisonWeights()])
    with pytest.raises(NonFiniteLossError, match=r"loss became nan in epoch 2, batch 1;") as e:
        clf.fit(IDS, Y)
    message = str(e.value)
    assert "smaller lr (e.g. 0.0003; it is 0.003)" in message
    assert "clip_grad_norm=1.0" in message and "mixed_precision" in message
    assert isinstance(e.value, ValueError) and isinstance(e.value, FloatingPointError)
    assert not [k for k in vars(clf) if k.endswith("_")]
    with pytest.raises(NotFittedError):
        check_is_fitted(clf)


@pytest.mark.parametrize("warm_start", [False, True])
def test_inputs_non_finite_loss_keeps_the_previous_fit(poison, warm_start):
    clf = _clf(max_epochs=2, callbacks=[_PoisonWeights()], warm_start=warm_start).fit(IDS, Y)
    proba = clf.predict_proba(IDS)
    state = {k: v.clone() for k, v in clf.module_.state_dict().items()}
    net, n_epochs = clf.net_, clf.n_epochs_
    poison["epoch"] = 3 if warm_start else 1  # warm start: epochs count on from the first fit
    with pytest.raises(NonFiniteLossError, match=f"epoch {poison['epoch']}, batch 1"):
        clf.fit(IDS, Y)
    assert clf.net_ is net and clf.n_epochs_ == n_epochs == len(clf.history_)
    for key, value in clf.module_.state_dict().items():
        torch.testing.assert_close(value, state[key])
    np.testing.assert_array_equal(clf.predict_proba(IDS), proba)


def test_inputs_diverging_sgd_raises_instead_of_fitting_nan():
    with pytest.raises(NonFiniteLossError, match="training loss became"):
        _clf(optimizer="sgd", lr=1e30, max_epochs=5).fit(IDS, Y)


@pytest.mark.parametrize("lr", [1e31, 1e38])
def test_inputs_absurd_learning_rates_are_refused_before_training(lr):
    clf = _clf(lr=lr)
    with pytest.raises(ValueError, match=r"got lr=.*, far beyond any learning rate that trains"):
        clf.fit(IDS, Y)
    assert not hasattr(clf, "net_")


def test_inputs_non_finite_loss_error_is_public():
    assert "NonFiniteLossError" in skseqattn.__all__
    assert skseqattn.NonFiniteLossError is NonFiniteLossError
    assert NonFiniteLossError.__module__ == "skseqattn._errors"


@pytest.mark.parametrize("X", [np.empty((0, 3)), np.empty((4, 0))], ids=["no-rows", "no-cols"])
def test_empty_tables_are_reported_under_the_estimators_name(X):
    # scikit-learn's checks name the object they validate: never a private stand-in
    with pytest.raises(ValueError) as info:
        BiLSTMAttentionClassifier(max_epochs=1).fit(X, ["a", "b", "a", "b"][: len(X)])
    assert "BiLSTMAttentionClassifier" in str(info.value)
    assert "_FeatureRecord" not in str(info.value)


# ------------------------------------------------------------------ the kinds' contract
def test_inputs_kind_contract_is_declared_and_a_missing_method_fails_clearly():
    from skseqattn._inputs import FeatureInput, InputKind, TokenInput

    declared = InputKind.__abstractmethods__
    assert {"check_fitted", "encode", "fitted", "from_fitted", "check_saved"} <= declared
    assert all(getattr(InputKind, m).__doc__ for m in declared)  # each says what it must do
    for kind in (TokenInput, FeatureInput):
        assert not kind.__abstractmethods__
        assert kind() == kind()  # both instantiate
    members = {m: vars(TokenInput)[m] for m in declared - {"encode"}}

    Broken = type("Broken", (InputKind,), {"name": "broken", **members})
    with pytest.raises(TypeError, match=r"Broken.*abstract method.*encode"):
        Broken()
