"""Tests for skseqattn.CharSequenceVectorizer and the string-collection checks behind it."""

import copy
import pickle
import unicodedata
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.exceptions import NotFittedError, SkipTestWarning
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import (
    check_do_not_raise_errors_in_init_or_set_params,
    check_estimator_repr,
    check_estimator_tags_renamed,
    check_get_feature_names_out_error,
    check_get_params_invariance,
    check_mixin_order,
    check_no_attributes_set_in_init,
    check_param_validation,
    check_parameters_default_constructible,
    check_set_params,
    check_valid_tag_types,
    parametrize_with_checks,
)

from skseqattn import PAD_ID, UNK_ID, CharSequenceVectorizer
from skseqattn._validation import check_string_collection

NAMES = ["anna", "bob", "", "hannah"]  # a:4 n:4 b:2 h:2 o:1


def _bigrams(text):
    """A picklable callable analyzer: overlapping character pairs."""
    return [text[i : i + 2] for i in range(len(text) - 1)]


# --------------------------------------------------------------------------- constants, fit


def test_constants_pad_and_unk_ids():
    assert (PAD_ID, UNK_ID) == (0, 1)


def test_fit_vocabulary_most_frequent_first_ties_by_token():
    vec = CharSequenceVectorizer().fit(["ba", "ab", "c", "dd", "dd"])
    # d:4, then a:2 and b:2 tied (sorted: a before b), then c:1
    assert vec.vocabulary_ == {"d": 2, "a": 3, "b": 4, "c": 5}
    assert list(vec.vocabulary_.values()) == [2, 3, 4, 5]
    assert type(vec.vocabulary_) is dict


def test_fit_fitted_attributes_values():
    vec = CharSequenceVectorizer().fit(NAMES)
    assert vec.vocabulary_ == {"a": 2, "n": 3, "b": 4, "h": 5, "o": 6}
    assert vec.vocab_size_ == len(vec.vocabulary_) + 2 == 7
    assert vec.id_to_token_.tolist() == [None, None, "a", "n", "b", "h", "o"]
    assert vec.max_len_ == 6
    assert vec.fixed_vocabulary_ is False


def test_fit_returns_self():
    vec = CharSequenceVectorizer()
    assert vec.fit(NAMES) is vec


def test_fit_vocabulary_invariant_to_sample_order():
    data = ["zebra", "apple", "Émile", "über", "", "a b  c"]
    first = CharSequenceVectorizer().fit(data).vocabulary_
    second = CharSequenceVectorizer().fit(data[::-1]).vocabulary_
    assert list(first.items()) == list(second.items())


@settings(max_examples=50, deadline=None)
@given(st.lists(st.text(max_size=12), min_size=1, max_size=15), st.randoms())
def test_fit_vocabulary_order_invariance_property(texts, rng):
    texts = [*texts, "x"]  # guarantee at least one token
    shuffled = texts[:]
    rng.shuffle(shuffled)
    for analyzer in ("char", "word"):
        first = CharSequenceVectorizer(analyzer=analyzer).fit(texts).vocabulary_
        second = CharSequenceVectorizer(analyzer=analyzer).fit(shuffled).vocabulary_
        assert list(first.items()) == list(second.items())


def test_fit_min_freq_drops_rare_tokens():
    vec = CharSequenceVectorizer(min_freq=3).fit(NAMES)
    assert vec.vocabulary_ == {"a": 2, "n": 3}
    np.testing.assert_array_equal(vec.transform(["bob"]), [[UNK_ID, UNK_ID, UNK_ID]])


def test_fit_max_vocab_keeps_most_frequent_tokens():
    vec = CharSequenceVectorizer(max_vocab=2).fit(NAMES)
    assert vec.vocabulary_ == {"a": 2, "n": 3}
    assert vec.vocab_size_ == 4


def test_fit_min_freq_and_max_vocab_combined():
    vec = CharSequenceVectorizer(min_freq=2, max_vocab=10).fit(NAMES)
    assert vec.vocabulary_ == {"a": 2, "n": 3, "b": 4, "h": 5}


def test_fit_empty_vocabulary_error_names_parameters():
    msg = r"empty vocabulary with min_freq=7 and max_vocab=3: no token occurs at least"
    with pytest.raises(ValueError, match=msg):
        CharSequenceVectorizer(min_freq=7, max_vocab=3).fit(NAMES)


def test_fit_only_empty_strings_raises():
    with pytest.raises(ValueError, match="training strings contain no tokens at all"):
        CharSequenceVectorizer().fit(["", ""])
    with pytest.raises(ValueError, match="min_freq=1 and max_vocab=None"):
        CharSequenceVectorizer(analyzer="word").fit([" ", "\t"])


def test_fit_lowercase_and_strip_accents_match_countvectorizer():
    data = ["Émile", "ÅSA", "Ñoño", "ﬁne", "Straße", "Łukasz"]
    for strip in (None, "unicode", "ascii"):
        ours = CharSequenceVectorizer(lowercase=True, strip_accents=strip).fit(data)
        theirs = CountVectorizer(analyzer="char", lowercase=True, strip_accents=strip).fit(data)
        assert set(ours.vocabulary_) == set(theirs.vocabulary_)


def test_transform_lowercase_then_strip_accents():
    vec = CharSequenceVectorizer(lowercase=True, strip_accents="unicode").fit(["ÉE"])
    assert vec.vocabulary_ == {"e": 2}
    np.testing.assert_array_equal(vec.transform(["Eé"]), [[2, 2]])


# --------------------------------------------------------------------------- transform


def test_transform_values_post_padding():
    vec = CharSequenceVectorizer().fit(NAMES)
    expected = [
        [2, 3, 3, 2, 0, 0],
        [4, 6, 4, 0, 0, 0],
        [0, 0, 0, 0, 0, 0],
        [5, 2, 3, 3, 2, 5],
    ]
    np.testing.assert_array_equal(vec.transform(NAMES), expected)


def test_transform_unknown_tokens_get_unk_id():
    vec = CharSequenceVectorizer().fit(["ab"])
    np.testing.assert_array_equal(vec.transform(["axb€"]), [[2, UNK_ID, 3, UNK_ID]])


def test_transform_code_points_beyond_vocabulary_are_unknown():
    vec = CharSequenceVectorizer().fit(["a😀"])
    ids = vec.transform(["😀a\U0010ffff\U0001f601"])
    np.testing.assert_array_equal(ids, [[vec.vocabulary_["😀"], 2, UNK_ID, UNK_ID]])


def test_transform_width_is_longest_sequence_in_batch():
    vec = CharSequenceVectorizer().fit(NAMES)
    assert vec.transform(["ab", "abc"]).shape == (2, 3)
    assert vec.transform(["a" * 40]).shape == (1, 40)


def test_transform_batch_of_empty_strings_has_width_one():
    vec = CharSequenceVectorizer().fit(NAMES)
    np.testing.assert_array_equal(vec.transform(["", ""]), [[PAD_ID], [PAD_ID]])


def test_transform_empty_string_row_is_all_padding():
    vec = CharSequenceVectorizer(max_len=4).fit(NAMES)
    np.testing.assert_array_equal(vec.transform(["", "ab"])[0], [0, 0, 0, 0])


@pytest.mark.parametrize(
    "padding, truncating, expected",
    [
        ("post", "post", [[2, 3, 3], [4, 6, 4], [2, 0, 0]]),  # 'ann', 'bob', 'a'
        ("post", "pre", [[3, 3, 2], [4, 6, 4], [2, 0, 0]]),  # 'nna'
        ("pre", "post", [[2, 3, 3], [4, 6, 4], [0, 0, 2]]),
        ("pre", "pre", [[3, 3, 2], [4, 6, 4], [0, 0, 2]]),
    ],
)
def test_transform_max_len_padding_and_truncating(padding, truncating, expected):
    vec = CharSequenceVectorizer(max_len=3, padding=padding, truncating=truncating)
    vec.fit(NAMES)
    np.testing.assert_array_equal(vec.transform(["anna", "bob", "a"]), expected)


def test_transform_max_len_wider_than_data_pads():
    vec = CharSequenceVectorizer(max_len=5, padding="pre").fit(["ab"])
    np.testing.assert_array_equal(vec.transform(["ab"]), [[0, 0, 0, 2, 3]])


def test_transform_long_outlier_string_is_truncated():
    vec = CharSequenceVectorizer(max_len=4, truncating="pre").fit(["ab"])
    ids = vec.transform(["a", "b" * 200_000 + "a", "ab"])
    np.testing.assert_array_equal(ids, [[2, 0, 0, 0], [3, 3, 3, 2], [2, 3, 0, 0]])


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, "int16", np.dtype("uint32"), np.int64])
def test_transform_dtype(dtype):
    vec = CharSequenceVectorizer(dtype=dtype).fit(NAMES)
    ids = vec.transform(NAMES)
    assert ids.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(ids, CharSequenceVectorizer().fit_transform(NAMES))


def test_transform_default_dtype_is_int64():
    assert CharSequenceVectorizer().fit_transform(NAMES).dtype == np.int64


def test_fit_dtype_too_narrow_raises():
    alphabet = [chr(0x4E00 + i) for i in range(200)]
    with pytest.raises(ValueError, match=r"dtype=int8 holds ids up to 127, but .* up to 201"):
        CharSequenceVectorizer(dtype=np.int8).fit(alphabet)


@pytest.mark.parametrize("dtype", [np.float32, "bool", "not a dtype", None, object])
def test_fit_non_integer_dtype_raises_invalid_parameter_error(dtype):
    with pytest.raises(InvalidParameterError, match="'dtype' parameter .* integer dtype"):
        CharSequenceVectorizer(dtype=dtype).fit(NAMES)


def test_fit_transform_equals_fit_then_transform():
    for params in (
        {},
        {"analyzer": "word"},
        {"analyzer": _bigrams},
        {"max_len": 3, "padding": "pre", "truncating": "pre", "dtype": np.int32},
        {"lowercase": True, "strip_accents": "ascii", "min_freq": 2},
    ):
        data = ["Ann Lee", "bob  bo", "", "Hannah Ann", "Ève"]
        one = CharSequenceVectorizer(**params).fit_transform(data)
        two = CharSequenceVectorizer(**params).fit(data).transform(data)
        np.testing.assert_array_equal(one, two)
        assert one.dtype == two.dtype


def test_fit_transform_consumes_a_generator_once():
    data = ["anna", "bob"]
    ids = CharSequenceVectorizer().fit_transform(s for s in data)
    np.testing.assert_array_equal(ids, CharSequenceVectorizer().fit(data).transform(data))


def test_transform_word_analyzer_splits_on_any_whitespace():
    vec = CharSequenceVectorizer(analyzer="word").fit(["the cat", "the\u3000dog\n"])
    assert vec.vocabulary_ == {"the": 2, "cat": 3, "dog": 4}
    np.testing.assert_array_equal(vec.transform(["  dog\tthe  bird "]), [[4, 2, UNK_ID]])


def test_transform_callable_analyzer():
    vec = CharSequenceVectorizer(analyzer=_bigrams).fit(["abab", "ba", "xa"])
    assert vec.vocabulary_ == {"ab": 2, "ba": 3, "xa": 4}  # ab and ba tie at 2: sorted
    np.testing.assert_array_equal(vec.transform(["abxa", "b"]), [[2, UNK_ID, 4], [0, 0, 0]])


def test_transform_callable_analyzer_may_return_any_iterable():
    vec = CharSequenceVectorizer(analyzer=lambda s: iter(s.split(","))).fit(["a,b", "b"])
    assert vec.vocabulary_ == {"b": 2, "a": 3}


def test_fit_callable_analyzer_bad_output_raises():
    with pytest.raises(TypeError, match="analyzer must return an iterable of str tokens, got int"):
        CharSequenceVectorizer(analyzer=len).fit(["ab"])
    with pytest.raises(TypeError, match=r"analyzer must return str tokens, got int \(97\)"):
        CharSequenceVectorizer(analyzer=lambda s: [ord(c) for c in s]).fit(["ab"])


# --------------------------------------------------------------------------- inverse_transform


UNICODE_SAMPLES = [
    "Zoë Ångström",
    "東京都",
    "👩🏽‍💻 and 🇫🇷",  # beyond the BMP, ZWJ sequence, flags
    "e\u0301 vs \u00e9",  # combining acute accent vs precomposed
    "a\x00b\x00",  # NUL inside and at the end
    "\ud800 lone surrogate",
    "",
    "tab\tnew\nline",
]


def test_inverse_transform_round_trips_unicode():
    vec = CharSequenceVectorizer().fit(UNICODE_SAMPLES)
    ids = vec.transform(UNICODE_SAMPLES)
    assert vec.inverse_transform(ids) == UNICODE_SAMPLES


@pytest.mark.parametrize("padding", ["pre", "post"])
def test_inverse_transform_drops_padding_anywhere(padding):
    vec = CharSequenceVectorizer(padding=padding).fit(NAMES)
    ids = np.array([[0, 3, 0, 2, 0]])
    assert vec.inverse_transform(ids) == ["na"]
    assert vec.inverse_transform(vec.transform(NAMES)) == NAMES


def test_inverse_transform_unknown_ids_become_unk_token():
    vec = CharSequenceVectorizer().fit(["ab"])
    assert vec.inverse_transform(vec.transform(["axb"])) == ["a\ufffdb"]
    vec.set_params(unk_token="<unk>")
    assert vec.inverse_transform([[2, 1, 3, 0]]) == ["a<unk>b"]


def test_inverse_transform_word_joins_with_single_space():
    vec = CharSequenceVectorizer(analyzer="word", unk_token="?").fit(["hello big world"])
    assert vec.inverse_transform(vec.transform(["  hello   new\tworld "])) == ["hello ? world"]


def test_inverse_transform_accepts_lists_and_any_integer_dtype():
    vec = CharSequenceVectorizer().fit(["ab"])
    assert vec.inverse_transform([[3, 2]]) == ["ba"]
    assert vec.inverse_transform(np.array([[3, 2]], dtype=np.uint8)) == ["ba"]


def test_inverse_transform_returns_list_of_str():
    vec = CharSequenceVectorizer().fit(NAMES)
    out = vec.inverse_transform(vec.transform(NAMES))
    assert type(out) is list and all(type(s) is str for s in out)


def test_inverse_transform_out_of_range_id_raises():
    vec = CharSequenceVectorizer().fit(["ab"])
    with pytest.raises(ValueError, match=r"ids in \[0, 4\) .* got 4 at row 1, column 0"):
        vec.inverse_transform([[2, 3], [4, 0]])
    with pytest.raises(ValueError, match=r"got -1 at row 0, column 1"):
        vec.inverse_transform([[2, -1]])


def test_inverse_transform_float_ids_raise():
    vec = CharSequenceVectorizer().fit(["ab"])
    with pytest.raises(TypeError, match="expected integer token ids, got an array of dtype float"):
        vec.inverse_transform(np.array([[2.0, 3.0]]))


def test_inverse_transform_1d_input_raises():
    vec = CharSequenceVectorizer().fit(["ab"])
    with pytest.raises(ValueError, match="Expected 2D array, got 1D array"):
        vec.inverse_transform(np.array([2, 3]))


# --------------------------------------------------------------------------- property tests

# st.text() already excludes surrogates (category Cs); NUL and astral characters do occur.
TEXTS = st.lists(st.text(max_size=20), min_size=1, max_size=20)


@settings(max_examples=60, deadline=None)
@given(
    TEXTS,
    st.one_of(st.none(), st.integers(1, 25)),
    st.sampled_from(["pre", "post"]),
    st.sampled_from(["pre", "post"]),
)
def test_transform_shape_range_padding_side_and_round_trip(texts, max_len, padding, truncating):
    texts = [*texts, "x"]
    # characters, named: 'auto' splits words where whitespace (\r, \x85, ...) makes three
    vec = CharSequenceVectorizer(
        analyzer="char", max_len=max_len, padding=padding, truncating=truncating
    )
    ids = vec.fit_transform(texts)
    width = max_len if max_len is not None else max(1, max(map(len, texts)))
    assert ids.shape == (len(texts), width)
    assert ids.min() >= 0 and ids.max() < vec.vocab_size_
    for text, row in zip(texts, ids):
        kept = min(len(text), width)
        content = row[:kept] if padding == "post" else row[width - kept :]
        pads = row[kept:] if padding == "post" else row[: width - kept]
        assert (content >= 2).all() and (pads == PAD_ID).all()
    expected = [
        t[:width] if truncating == "post" else t[len(t) - min(len(t), width) :] for t in texts
    ]
    assert vec.inverse_transform(ids) == expected


@settings(max_examples=40, deadline=None)
@given(TEXTS)
def test_inverse_transform_word_round_trip_property(texts):
    texts = [*texts, "x"]
    vec = CharSequenceVectorizer(analyzer="word").fit(texts)
    assert vec.inverse_transform(vec.transform(texts)) == [" ".join(t.split()) for t in texts]


@settings(max_examples=40, deadline=None)
@given(TEXTS, TEXTS)
def test_transform_ids_in_range_on_unseen_text(train, test):
    vec = CharSequenceVectorizer(analyzer="char").fit([*train, "x"])  # ids of characters
    ids = vec.transform(test)
    assert ids.min() >= 0 and ids.max() < vec.vocab_size_
    seen = set(vec.vocabulary_)
    for text, row in zip(test, ids):
        expected = [vec.vocabulary_[c] if c in seen else UNK_ID for c in text]
        assert row[: len(text)].tolist() == expected


# --------------------------------------------------------------------------- fixed vocabulary


def test_fixed_vocabulary_mapping_is_used_as_given():
    mapping = {"b": 3, "a": 2, "z": 4}
    vec = CharSequenceVectorizer(vocabulary=mapping, min_freq=50, max_vocab=1).fit(["abc"])
    assert list(vec.vocabulary_.items()) == [("a", 2), ("b", 3), ("z", 4)]
    assert vec.fixed_vocabulary_ is True
    assert vec.vocab_size_ == 5
    np.testing.assert_array_equal(vec.transform(["abcz"]), [[2, 3, UNK_ID, 4]])
    assert vec.vocabulary == {"b": 3, "a": 2, "z": 4}  # the parameter is not modified


def test_fixed_vocabulary_mapping_accepts_numpy_integers():
    vec = CharSequenceVectorizer(vocabulary={"a": np.int32(3), "b": np.uint8(2)}).fit(["a"])
    assert vec.vocabulary_ == {"b": 2, "a": 3}
    assert all(type(i) is int for i in vec.vocabulary_.values())


@pytest.mark.parametrize(
    "vocabulary",
    [["x", "a", "b"], ("x", "a", "b"), np.array(["x", "a", "b"]), pd.Series(list("xab"))],
)
def test_fixed_vocabulary_iterable_gets_ids_in_order(vocabulary):
    vec = CharSequenceVectorizer(vocabulary=vocabulary).fit(["ab"])
    assert vec.vocabulary_ == {"x": 2, "a": 3, "b": 4}
    assert all(type(t) is str for t in vec.vocabulary_)


def test_fixed_vocabulary_set_is_sorted():
    vec = CharSequenceVectorizer(vocabulary={"c", "a", "b"}).fit(["ab"])
    assert vec.vocabulary_ == {"a": 2, "b": 3, "c": 4}


def test_fixed_vocabulary_allows_all_empty_training_strings():
    vec = CharSequenceVectorizer(vocabulary=["a"]).fit(["", ""])
    assert vec.max_len_ == 1
    np.testing.assert_array_equal(vec.transform(["aa"]), [[2, 2]])


def test_fixed_vocabulary_word_tokens():
    vec = CharSequenceVectorizer(analyzer="word", vocabulary=["hello", "world"]).fit(["x"])
    np.testing.assert_array_equal(vec.transform(["world hello you"]), [[3, 2, UNK_ID]])


@pytest.mark.parametrize(
    "params, error, match",
    [
        ({"vocabulary": {"a": 0}}, ValueError, r"maps 'a' to 0, but ids 0 and 1 are reserved"),
        ({"vocabulary": {"a": 1}}, ValueError, r"shift your ids"),
        ({"vocabulary": {"a": 2, "b": 2}}, ValueError, r"maps both 'a' and 'b' to id 2"),
        ({"vocabulary": {"a": 2, "b": 4}}, ValueError, r"exactly 2..3 .* id 3 is missing"),
        ({"vocabulary": {"a": 2.0}}, TypeError, r"ids must be integers, got float"),
        ({"vocabulary": {"a": True}}, TypeError, r"ids must be integers, got bool"),
        ({"vocabulary": {5: 2}}, TypeError, r"tokens must be str, got int \(5\)"),
        ({"vocabulary": ["a", "b", "a"]}, ValueError, r"token 'a' twice \(positions 0 and 2\)"),
        ({"vocabulary": ["a", None]}, TypeError, r"tokens must be str, got NoneType .* position 1"),
        (
            {"analyzer": "char", "vocabulary": ["ab"]},
            ValueError,
            r"'ab' at position 0 has 2 characters",
        ),
        ({"vocabulary": {"": 2}}, ValueError, r"has 0 characters"),
        (
            {"vocabulary": ["a b"], "analyzer": "word"},
            ValueError,
            r"'a b' at position 0 is empty or contains whitespace",
        ),
        ({"vocabulary": []}, ValueError, r"vocabulary is empty; pass at least one token"),
        ({"vocabulary": {}}, ValueError, r"vocabulary is empty"),
    ],
)
def test_fixed_vocabulary_invalid_raises(params, error, match):
    with pytest.raises(error, match=match):
        CharSequenceVectorizer(**params).fit(["ab"])


def test_fixed_vocabulary_callable_analyzer_accepts_any_str_token():
    vec = CharSequenceVectorizer(analyzer=_bigrams, vocabulary=["ab", "b c"]).fit(["x"])
    np.testing.assert_array_equal(vec.transform(["abc"]), [[2, UNK_ID]])


# --------------------------------------------------------------------------- input containers


CONTAINERS = {
    "list": list,
    "tuple": tuple,
    "object array": lambda xs: np.array(xs, dtype=object),
    "str array": np.array,
    "series": lambda xs: pd.Series(xs, index=range(10, 10 + len(xs))),
    "string series": lambda xs: pd.Series(xs, dtype="string"),
    "categorical series": lambda xs: pd.Series(xs, dtype="category"),
    "generator": lambda xs: (x for x in xs),
    "numpy str_ list": lambda xs: [np.str_(x) for x in xs],
}


@pytest.mark.parametrize("container", CONTAINERS.values(), ids=CONTAINERS.keys())
def test_fit_transform_accepts_containers(container):
    expected = CharSequenceVectorizer().fit_transform(NAMES)
    vec = CharSequenceVectorizer()
    np.testing.assert_array_equal(vec.fit_transform(container(NAMES)), expected)
    np.testing.assert_array_equal(vec.fit(container(NAMES)).transform(container(NAMES)), expected)
    assert vec.vocabulary_ == {"a": 2, "n": 3, "b": 4, "h": 5, "o": 6}


NAME = "CharSequenceVectorizer"

BAD_INPUTS = {
    "single str": (
        "abc",
        TypeError,
        rf"^{NAME} expected an iterable of str, got a single str; wrap it in a list: \['abc'\]$",
    ),
    "single bytes": (b"abc", TypeError, r"got a single bytes object; decode it and wrap it"),
    "numpy str_": (np.str_("abc"), TypeError, r"got a single str; wrap it in a list"),
    "0-d array": (np.array("abc"), TypeError, r"got a 0-d array holding a single value; wrap"),
    "None": (None, TypeError, r"expected an iterable of str, got None"),
    "int": (5, TypeError, r"got int \(5\), which is not iterable"),
    "dict": ({"a": "b"}, TypeError, r"got a dict; pass its values or keys explicitly"),
    "set": ({"a", "b"}, TypeError, r"got a set, which has no order"),
    "empty list": ([], ValueError, r"expected at least one string, got an empty collection"),
    "empty array": (np.array([], dtype=str), ValueError, r"got an empty collection"),
    "empty generator": ((x for x in []), ValueError, r"got an empty collection"),
    "None element": (["a", None], TypeError, r"missing value \(None\) at position 1; drop or"),
    "NaN element": (["a", "b", float("nan")], TypeError, r"missing value \(nan\) at position 2"),
    "pd.NA element": (
        pd.Series(["a", None], dtype="string"),
        TypeError,
        r"missing value \(<NA>\) at position 1",
    ),
    "NaN in indexed series": (
        pd.Series(["a", np.nan], index=[7, 3]),
        TypeError,
        r"missing value \(nan\) at position 1",
    ),
    "int element": (["a", 3], TypeError, r"expected str elements, got int \(3\) at position 1"),
    "bytes element": (["a", b"b"], TypeError, r"got bytes \(b'b'\) at position 1; decode it"),
    "nested lists": ([["a"], ["b"]], TypeError, r"got list \(\['a'\]\) at position 0"),
    "2-D array": (np.array([["a", "b"]]), ValueError, r"got a 2-D array of shape \(1, 2\); pass"),
    "data frame": (
        pd.DataFrame({"x": ["a"], "y": ["b"]}),
        ValueError,
        r"got a DataFrame with 2 column",
    ),
    "float array": (np.array([1.5, 2.0]), TypeError, r"got an array of dtype float64; convert"),
    "bytes array": (np.array([b"a"]), TypeError, r"got an array of bytes \(dtype \|S1\); decode"),
}


@pytest.mark.parametrize("raw, error, match", BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
def test_fit_bad_input_raises_clear_error(raw, error, match):
    with pytest.raises(error, match=match):
        CharSequenceVectorizer().fit(raw)


@pytest.mark.parametrize("case", ["single str", "None element", "2-D array", "empty list"])
def test_transform_bad_input_raises_clear_error(case):
    raw, error, match = BAD_INPUTS[case]
    vec = CharSequenceVectorizer().fit(NAMES)
    with pytest.raises(error, match=match):
        vec.transform(raw)


def test_check_string_collection_returns_list_and_names_estimator():
    assert check_string_collection(("a", "b"), estimator_name="Est") == ["a", "b"]
    with pytest.raises(TypeError, match=r"^Est expected an iterable of str, got a single str"):
        check_string_collection("ab", estimator_name="Est")


# --------------------------------------------------------------------------- failed fits


def _fitted():
    return CharSequenceVectorizer().fit(NAMES)


FAILING_FITS = {
    "bad element": (lambda vec: vec, ["ok", None]),
    "single str": (lambda vec: vec, "oops"),
    "empty vocabulary": (lambda vec: vec.set_params(min_freq=99), NAMES),
    "bad fixed vocabulary": (lambda vec: vec.set_params(vocabulary={"a": 0}), NAMES),
    "invalid parameter": (lambda vec: vec.set_params(padding="middle"), NAMES),
    "dtype too narrow": (
        lambda vec: vec.set_params(dtype=np.int8),
        [chr(0x4E00 + i) for i in range(200)],
    ),
    "analyzer raises": (lambda vec: vec.set_params(analyzer=lambda s: 1 / 0), NAMES),
}


@pytest.mark.parametrize("prepare, X", FAILING_FITS.values(), ids=FAILING_FITS.keys())
def test_fit_failure_leaves_fitted_state_unchanged(prepare, X):
    vec = prepare(_fitted())
    before = dict(vec.__dict__)
    deep_before = copy.deepcopy({k: v for k, v in before.items() if k.endswith("_")})
    with pytest.raises((TypeError, ValueError, ZeroDivisionError)):
        vec.fit(X)
    assert vec.__dict__.keys() == before.keys()
    assert all(vec.__dict__[key] is value for key, value in before.items())
    assert vec.vocabulary_ == deep_before["vocabulary_"]
    assert vec.id_to_token_.tolist() == deep_before["id_to_token_"].tolist()
    with pytest.raises((TypeError, ValueError, ZeroDivisionError)):
        vec.fit_transform(X)
    assert all(vec.__dict__[key] is value for key, value in before.items())


def test_fit_failure_on_unfitted_vectorizer_sets_nothing():
    vec = CharSequenceVectorizer(min_freq=99)
    with pytest.raises(ValueError):
        vec.fit(NAMES)
    assert not [key for key in vars(vec) if key.endswith("_")]


# --------------------------------------------------------------------------- not fitted, params


@pytest.mark.parametrize(
    "method, arg",
    [("transform", NAMES), ("inverse_transform", [[2]]), ("get_feature_names_out", None)],
)
def test_methods_before_fit_raise_not_fitted_error(method, arg):
    vec = CharSequenceVectorizer()
    args = () if arg is None else (arg,)
    with pytest.raises(NotFittedError, match="not fitted yet"):
        getattr(vec, method)(*args)


@pytest.mark.parametrize(
    "params, name",
    [
        ({"analyzer": "chars"}, "analyzer"),
        ({"lowercase": "yes"}, "lowercase"),
        ({"strip_accents": "latin"}, "strip_accents"),
        ({"min_freq": 0}, "min_freq"),
        ({"min_freq": 1.5}, "min_freq"),
        ({"max_vocab": 0}, "max_vocab"),
        ({"vocabulary": "abc"}, "vocabulary"),
        ({"vocabulary": 3}, "vocabulary"),
        ({"max_len": 0}, "max_len"),
        ({"padding": "both"}, "padding"),
        ({"truncating": "middle"}, "truncating"),
        ({"unk_token": None}, "unk_token"),
    ],
)
def test_fit_invalid_parameter_raises_invalid_parameter_error(params, name):
    with pytest.raises(InvalidParameterError, match=f"The '{name}' parameter of {NAME}"):
        CharSequenceVectorizer(**params).fit(NAMES)


def test_init_is_keyword_only_and_stores_parameters_as_given():
    vocabulary = {"a": 2}
    vec = CharSequenceVectorizer(vocabulary=vocabulary, dtype="int32", max_len=3)
    assert vec.vocabulary is vocabulary
    assert vec.dtype == "int32"
    with pytest.raises(TypeError):
        CharSequenceVectorizer("word")


def test_get_set_params_and_clone():
    vec = CharSequenceVectorizer(analyzer="word", max_len=7)
    params = vec.get_params()
    assert params["analyzer"] == "word" and params["max_len"] == 7
    assert params["dtype"] is np.int64 and params["unk_token"] == "\ufffd"
    assert vec.set_params(padding="pre") is vec and vec.padding == "pre"
    fitted = vec.fit(["a b"])
    cloned = clone(fitted)
    assert cloned.get_params() == fitted.get_params()
    assert not hasattr(cloned, "vocabulary_")


@pytest.mark.parametrize("params", [{}, {"analyzer": "word"}, {"analyzer": _bigrams}])
def test_pickle_round_trip_gives_equal_transform(params):
    vec = CharSequenceVectorizer(max_len=5, **params).fit(UNICODE_SAMPLES)
    restored = pickle.loads(pickle.dumps(vec))
    assert restored.vocabulary_ == vec.vocabulary_
    np.testing.assert_array_equal(
        restored.transform(UNICODE_SAMPLES), vec.transform(UNICODE_SAMPLES)
    )


@pytest.mark.parametrize("max_len, width", [(None, 6), (3, 3)])
def test_get_feature_names_out_positions(max_len, width):
    vec = CharSequenceVectorizer(max_len=max_len).fit(NAMES)
    names = vec.get_feature_names_out()
    assert names.dtype == object
    assert names.tolist() == [f"charsequencevectorizer{i}" for i in range(width)]
    assert len(names) == vec.fit_transform(NAMES).shape[1]


def test_set_output_is_not_offered():
    # The width varies per batch when max_len is None, so column names could not match.
    assert not hasattr(CharSequenceVectorizer(), "set_output")


def test_sklearn_tags_declare_string_input():
    tags = CharSequenceVectorizer().__sklearn_tags__()
    assert tags.input_tags.string is True
    assert tags.input_tags.two_d_array is False
    assert tags.requires_fit is True


def test_unicode_normalisation_is_not_applied_by_default():
    composed, decomposed = "\u00e9", unicodedata.normalize("NFD", "\u00e9")
    vec = CharSequenceVectorizer().fit([composed, decomposed])
    assert vec.vocab_size_ == 5  # é, e and the combining accent are distinct
    assert vec.inverse_transform(vec.transform([decomposed])) == [decomposed]


# --------------------------------------------------------------------------- sklearn checks

# With input_tags.two_d_array=False, sklearn runs only check_estimator_cloneable (and warns
# that it cannot feed 2-D numeric data); every other common check needs numbers, so no
# check is expected to fail.
EXPECTED_FAILED_CHECKS: dict[str, str] = {}

with warnings.catch_warnings():
    # Materialise the checks here to silence the warning above at collection time.
    warnings.filterwarnings("ignore", category=SkipTestWarning)
    _mark = parametrize_with_checks(
        [CharSequenceVectorizer()],
        expected_failed_checks=lambda estimator: EXPECTED_FAILED_CHECKS,
    )
    SKLEARN_CHECKS = list(_mark.args[1])
    _sklearn_checks_mark = pytest.mark.parametrize(_mark.args[0], SKLEARN_CHECKS, **_mark.kwargs)


def _check_name(check):
    """Name of a check as yielded by sklearn (a function or a functools.partial)."""
    return getattr(check, "func", check).__name__


@_sklearn_checks_mark
def test_sklearn_parametrize_with_checks(estimator, check):
    check(estimator)


def test_sklearn_parametrize_with_checks_collects_cloneable_only():
    names = [_check_name(getattr(param, "values", param)[1]) for param in SKLEARN_CHECKS]
    assert names == ["check_estimator_cloneable"]


# The API checks that need no numeric data, run explicitly since sklearn skips them for
# estimators that do not take 2-D arrays.
API_CHECKS = [
    check_estimator_tags_renamed,
    check_valid_tag_types,
    check_estimator_repr,
    check_no_attributes_set_in_init,
    check_do_not_raise_errors_in_init_or_set_params,
    check_mixin_order,
    check_parameters_default_constructible,
    check_get_params_invariance,
    check_set_params,
    check_param_validation,
    check_get_feature_names_out_error,
]


@pytest.mark.parametrize("check", API_CHECKS, ids=lambda check: check.__name__)
def test_sklearn_api_checks_that_need_no_numeric_data(check):
    check(NAME, CharSequenceVectorizer())


# --------------------------------------------------------------------------- padded ids as text
@pytest.mark.parametrize(
    "rows, analyzer",
    [
        (["0 0 12 5", "0 3 4 7", "1 2 3 4"], "word"),
        (["0 0 12 5", "0 3 4 7"], "char"),
        ([str(np.array([0, 0, 12, 5])), str(np.array([0, 3, 4, 7]))], "word"),
        (["0,0,12,5", "3,4,7,0", ""], "char"),
    ],
)
def test_fit_warns_on_strings_that_look_like_padded_ids(rows, analyzer):
    vec = CharSequenceVectorizer(analyzer=analyzer)
    with pytest.warns(UserWarning, match=r"look like rows of padded token ids.*'0' is in"):
        ids = vec.fit_transform(rows)
    # what the warning is about: padding is a real token with an id of its own
    assert vec.vocabulary_["0"] >= 2 and (ids == vec.vocabulary_["0"]).any()


def test_fit_warns_for_a_fixed_vocabulary_with_zero():
    vec = CharSequenceVectorizer(analyzer="word", vocabulary=["0", "5", "12"])
    with pytest.warns(UserWarning, match=r"padding becomes a token of its own \(id 2\)"):
        vec.fit(["0 0 12 5"])


@pytest.mark.parametrize(
    "rows, analyzer",
    [
        (["1 2 3", "12 5"], "word"),  # ids, but no 0: nothing looks like padding
        (["room 101", "0 0 7"], "word"),  # text among them
        (["anna", "bob"], "char"),
        (["2020", "10 05", "02139"], "char"),  # numbers with 0s, but none padded by 0
        (["2020", "10 05", "02139"], "word"),
    ],
)
def test_fit_is_silent_on_ordinary_strings(rows, analyzer):
    vec = CharSequenceVectorizer(analyzer=analyzer)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        vec.fit(rows)


# ---------------------------------------------------------------------- analyzer='auto'


@pytest.mark.parametrize(
    "texts, expected",
    [
        (["anna", "bob", "José María", ""], "char"),  # names, one or two words
        (["google.com", "xkcd.org"], "char"),  # domains
        (["how far is it ?", "who wrote hamlet", "", "a b"], "word"),  # 3 words on average
        (["two words", "two more", "and three now"], "char"),  # 7 / 3 < 3
        (["", "", "ab"], "char"),  # empty strings do not count
    ],
)
def test_auto_analyzer_picks_words_for_sentences_and_chars_otherwise(texts, expected):
    vec = CharSequenceVectorizer().fit(texts)
    assert vec.analyzer == "auto"  # the parameter is left as given
    assert vec.analyzer_ == expected
    explicit = CharSequenceVectorizer(analyzer=expected).fit(texts)
    assert vec.vocabulary_ == explicit.vocabulary_
    np.testing.assert_array_equal(vec.transform(texts), explicit.transform(texts))
    assert vec.inverse_transform(vec.transform(texts)) == explicit.inverse_transform(
        explicit.transform(texts)
    )
    assert vec.tokenize(texts) == explicit.tokenize(texts)


def test_auto_analyzer_follows_a_fixed_vocabulary():
    sentences = ["the cat sat down", "a dog ran off now"]
    assert CharSequenceVectorizer(vocabulary=["a", "b"]).fit(sentences).analyzer_ == "char"
    words = CharSequenceVectorizer(vocabulary=["cat", "dog"]).fit(["tom", "rex"])
    assert words.analyzer_ == "word"
    np.testing.assert_array_equal(words.transform(["dog cat x"]), [[3, 2, 1]])


def test_explicit_and_callable_analyzers_report_themselves():
    texts = ["a cat sat here", "anna"]
    assert CharSequenceVectorizer(analyzer="char").fit(texts).analyzer_ == "char"
    assert CharSequenceVectorizer(analyzer="word").fit(["anna"]).analyzer_ == "word"
    assert CharSequenceVectorizer(analyzer=str.split).fit(texts).analyzer_ == "callable"


def test_auto_analyzer_decides_again_on_refit():
    vec = CharSequenceVectorizer()
    vec.fit(["one two three four", "five six seven"])
    assert vec.analyzer_ == "word"
    vec.fit(["anna", "bob"])  # a refit decides again
    assert vec.analyzer_ == "char"
    np.testing.assert_array_equal(vec.transform(["bob anna"]), [[3, 5, 3, 1, 2, 4, 4, 2]])


def test_auto_analyzer_survives_pickle_and_old_pickles_read_the_parameter():
    vec = CharSequenceVectorizer().fit(["how far is it ?", "who wrote this play"])
    back = pickle.loads(pickle.dumps(vec))
    assert back.analyzer_ == "word"
    np.testing.assert_array_equal(back.transform(["who is it"]), vec.transform(["who is it"]))
    old = CharSequenceVectorizer(analyzer="word").fit(["a b c"])
    del old.analyzer_  # as fitted before analyzer_ existed
    assert old.inverse_transform(old.transform(["c a"])) == ["c a"]


def test_auto_analyzer_save_load_round_trip(tmp_path):
    from skseqattn.persistence import load, save

    vec = CharSequenceVectorizer().fit(["how far is it ?", "who wrote this play"])
    loaded = load(save(vec, tmp_path / "vec.skseqattn"))
    assert loaded.analyzer_ == "word"
    np.testing.assert_array_equal(loaded.transform(["who is it"]), vec.transform(["who is it"]))
