"""Tests of skseqattn.explain(): tokens aligned with weights, reprs, HTML, frames, errors."""

import sys
from functools import partial
from html.parser import HTMLParser

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer

from skseqattn import (
    BiLSTMAttentionClassifier,
    CharSequenceVectorizer,
    Explanation,
    Explanations,
    explain,
)
from skseqattn.datasets import make_motif_sequences

from conftest import tiny_classifier

MOTIFS = ("GATT", "CCGA", "TTAG")
# Labels that must be escaped in HTML.
LABELS = np.array(["<b>zero</b>", "one & two", '"three\'s"'])


_tiny_classifier = partial(tiny_classifier, batch_size=32)


@pytest.fixture(scope="module")
def data():
    X, y = make_motif_sequences(150, min_len=6, max_len=14, motifs=MOTIFS, random_state=0)
    return X, LABELS[y]


@pytest.fixture(scope="module")
def pipeline(data):
    X, y = data
    return make_pipeline(CharSequenceVectorizer(), _tiny_classifier()).fit(X, y)


@pytest.fixture(scope="module")
def pre_padded_two_heads(data):
    """Pre-padding, truncation to 10 columns (keeping the end), two attention heads."""
    X, y = data
    vec = CharSequenceVectorizer(padding="pre", max_len=10, truncating="pre")
    return make_pipeline(vec, _tiny_classifier(attention_heads=2)).fit(X, y)


def _non_padding_weights(pipe, X):
    ids = pipe[0].transform(X)
    weights = pipe[-1].attention_weights(ids)
    return ids, weights


def test_explain_weights_sum_to_one_and_match_attention_weights(pipeline, data):
    X = data[0][:20]
    explanations = explain(pipeline, X)
    ids, weights = _non_padding_weights(pipeline, X)
    assert isinstance(explanations, Explanations)
    assert len(explanations) == len(X)
    for i, item in enumerate(explanations):
        columns = np.flatnonzero(ids[i])
        np.testing.assert_allclose(item.weights, weights[i, columns])
        np.testing.assert_allclose(item.weights.sum(), 1.0, atol=1e-5)
        assert item.tokens == list(X[i])
        assert item.text == X[i]
        assert item.head_weights is None
    np.testing.assert_array_equal(explanations.labels, pipeline.predict(X))
    np.testing.assert_allclose(explanations.proba, pipeline.predict_proba(X))
    for item, proba in zip(explanations, pipeline.predict_proba(X)):
        assert item.probability == pytest.approx(proba.max())
        np.testing.assert_array_equal(item.classes, pipeline.classes_)


def test_explain_labels_are_python_objects(pipeline, data):
    item = explain(pipeline, data[0][:1])[0]
    assert type(item.label) is str
    assert item.label in LABELS


def test_explain_pre_padding_and_truncation_align_tokens_and_weights(pre_padded_two_heads):
    pipe = pre_padded_two_heads
    X = ["GA", "ACGTACGTACGTAC", "TTAGC", "GATTACAGAT"]  # shorter, longer and exactly 10
    explanations = explain(pipe, X)
    ids, weights = _non_padding_weights(pipe, X)
    expected = [list(x[-10:]) for x in X]  # truncating='pre' keeps the last 10
    for i, item in enumerate(explanations):
        assert item.tokens == expected[i]
        columns = np.arange(10 - len(expected[i]), 10)  # padding='pre': the last columns
        np.testing.assert_array_equal(item.columns, columns)
        np.testing.assert_array_equal(np.flatnonzero(ids[i]), columns)
        np.testing.assert_allclose(item.head_weights, weights[i, columns, :])
        assert weights[i, : 10 - len(expected[i])].sum() == 0

    # The same fitted model with the other truncation keeps the first 10 tokens instead.
    vec = pipe[0]
    vec.set_params(truncating="post")
    try:
        item = explain(pipe, ["ACGTACGTACGTAC"])[0]
        ids, weights = _non_padding_weights(pipe, ["ACGTACGTACGTAC"])
    finally:
        vec.set_params(truncating="pre")
    assert item.tokens == list("ACGTACGTAC")
    np.testing.assert_allclose(item.head_weights, weights[0])


def test_explain_several_heads_mean_and_head_weights(pre_padded_two_heads, data):
    explanations = explain(pre_padded_two_heads, data[0][:10])
    for item in explanations:
        assert item.head_weights.shape == (len(item.tokens), 2)
        np.testing.assert_allclose(item.head_weights.sum(axis=0), [1.0, 1.0], atol=1e-5)
        np.testing.assert_allclose(item.weights, item.head_weights.mean(axis=1))
        np.testing.assert_allclose(item.weights.sum(), 1.0, atol=1e-5)


def test_explain_unknown_tokens_keep_their_text(pipeline):
    item = explain(pipeline, ["GA?TZ"])[0]
    assert item.tokens == ["G", "A", "?", "T", "Z"]
    np.testing.assert_array_equal(item.unknown, [False, False, True, False, True])


def test_explain_lowercase_shows_the_tokens_the_model_saw(data):
    X, y = data
    pipe = make_pipeline(
        CharSequenceVectorizer(lowercase=True), _tiny_classifier(max_epochs=1)
    ).fit(X[:60], y[:60])
    item = explain(pipe, ["GAtt"])[0]
    assert item.tokens == ["g", "a", "t", "t"]
    assert not item.unknown.any()


def test_explain_classifier_alone_with_ids_vectorizer_or_tokens(pipeline):
    vec, clf = pipeline[0], pipeline[-1]
    X = ["GATTA", "C?G"]
    ids = vec.transform(X)
    by_id = explain(clf, ids)
    assert by_id[0].tokens == [str(i) for i in ids[0] if i != 0]
    # without the vectorizer, id 1 is a token like any other (unknown_id=None) ...
    assert by_id[1].unknown.tolist() == [False, False, False]
    # ... unless the classifier was told that 1 is unknown
    told = (
        clone(clf).set_params(unknown_id=1).fit(vec.transform(["GATTA", "CAT"] * 30), [0, 1] * 30)
    )
    assert explain(told, ids)[1].unknown.tolist() == [False, True, False]

    named = explain(clf, ids, vectorizer=vec)
    assert named[0].tokens == list("GATTA")
    assert named[1].tokens == ["C", vec.unk_token, "G"]  # unknown text is lost in the ids
    assert named[1].unknown.tolist() == [False, True, False]  # the vectorizer's unknown id
    np.testing.assert_allclose(named[0].weights, by_id[0].weights)

    from_strings = explain(clf, X, vectorizer=vec)
    assert from_strings[1].tokens == ["C", "?", "G"]

    labelled = explain(clf, ids, tokens=[list("gatta"), ["c", "<unk>", "g"]])
    assert labelled[1].tokens == ["c", "<unk>", "g"]

    ragged = explain(clf, [ids[0][ids[0] != 0], np.array([4, 0, 3])])
    assert len(ragged[1].tokens) == 2
    np.testing.assert_allclose(ragged[1].weights.sum(), 1.0, atol=1e-5)


def test_explain_empty_string_has_no_tokens(pipeline):
    item = explain(pipeline, ["", "GATT"])[0]
    assert item.tokens == []
    assert item.weights.shape == (0,)
    assert "(no tokens)" in repr(item)
    assert "(empty)" in item._repr_html_()


@pytest.mark.parametrize("method", ["attention", "contributions"])
def test_explanation_top_orders_by_value(pipeline, method):
    item = explain(pipeline, ["CCGATTAG"], method=method)[0]
    top = item.top(3)
    assert len(top) == 3
    values = [w for _, _, w in top]
    assert values == sorted(values, reverse=True)
    expected = item.weights if method == "attention" else item.contributions
    assert values[0] == pytest.approx(expected.max())
    assert [item.tokens[i] for i, _, _ in top] == [t for _, t, _ in top]


def test_explanations_repr_is_readable(pipeline, data):
    explanations = explain(pipeline, data[0][:12], method="attention")
    text = repr(explanations)
    assert text.startswith("Explanations of 12 sequences (attention weights)")
    first = explanations[0]
    assert repr(first).startswith(f"Explanation {first.text!r} -> {first.label!r} (p=")
    assert repr(first).splitlines()[0].endswith("[attention]")
    # tokens above their weights, aligned
    token_line, weight_line = repr(first).splitlines()[1:3]
    assert token_line.split() == first.tokens
    assert [float(w) for w in weight_line.split()] == pytest.approx(first.weights, abs=0.006)
    assert "... and 2 more" in text
    sliced = explanations[:3]
    assert isinstance(sliced, Explanations) and len(sliced) == 3


def test_repr_wraps_long_sequences():
    tokens = ["token"] * 60
    item = Explanation(
        tokens=tokens,
        weights=np.full(60, 1 / 60),
        label="a",
        proba=np.array([1.0, 0.0]),
        classes=np.array(["a", "b"]),
        separator=" ",
    )
    lines = repr(item).splitlines()
    assert len(lines) > 3
    assert max(len(line) for line in lines[1:]) <= 100


class _TextAndTags(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags = []
        self.text = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)

    def handle_data(self, data):
        self.text.append(data)


def _parse(markup):
    parser = _TextAndTags()
    parser.feed(markup)
    parser.close()
    return parser


def test_explain_html_escapes_tokens_and_labels(pipeline):
    clf = pipeline[-1]
    ids = pipeline[0].transform(["GATTACA"])
    nasty = ["<script>", "&amp;", '"', "'", "<", ">", "&"]
    explanations = explain(clf, ids, tokens=[nasty])
    for markup in (explanations._repr_html_(), explanations[0]._repr_html_()):
        assert "<script>" not in markup
        parsed = _parse(markup)
        assert "script" not in parsed.tags
        assert set(parsed.tags) <= {"div", "table", "tr", "th", "td", "span", "b", "p"}
        text = "".join(parsed.text)
        for token in nasty:
            assert token in text  # rendered as text, not as markup
        assert explanations[0].label in text  # labels such as "<b>zero</b>" are text too


def test_explain_html_shades_each_token_by_its_weight(pipeline):
    item = explain(pipeline, ["CCGATTAG"], method="attention")[0]
    markup = item._repr_html_()
    alphas = [float(a) for a in _alphas(markup)]
    assert len(alphas) == len(item.tokens)
    np.testing.assert_allclose(alphas, item.weights / item.weights.max(), atol=1e-3)
    assert f"{item.probability:.3f}" in markup


def _alphas(markup):
    import re

    return re.findall(r"rgba\(\d+,\d+,\d+,([0-9.]+)\)", markup)


def test_explanations_html_caps_rows(pipeline, data):
    explanations = explain(pipeline, data[0][:7])
    markup = explanations.to_html(max_rows=5)
    assert markup.count("<tr>") == 6  # header + 5 rows
    assert "2 more sequences" in markup


def test_explain_works_without_ipython(pipeline, monkeypatch):
    monkeypatch.setitem(sys.modules, "IPython", None)  # any import of IPython now fails
    explanations = explain(pipeline, ["GATT", "CCGA"])
    assert "skseqattn-explanations" in explanations._repr_html_()
    assert "Explanations of 2" in repr(explanations)


def test_explain_to_frame(pre_padded_two_heads, data):
    pd = pytest.importorskip("pandas")
    X = data[0][:5]
    explanations = explain(pre_padded_two_heads, X, method="attention")
    frame = explanations.to_frame()
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == [
        "sequence",
        "position",
        "column",
        "token",
        "weight",
        "head_0",
        "head_1",
        "unknown",
        "label",
        "probability",
    ]
    assert len(frame) == sum(len(e.tokens) for e in explanations)
    np.testing.assert_allclose(frame.groupby("sequence")["weight"].sum(), 1.0, atol=1e-5)
    assert frame.loc[frame.sequence == 1, "token"].tolist() == explanations[1].tokens
    assert set(frame["label"]) <= set(LABELS)
    one = explanations[2].to_frame()
    assert list(one.columns) == [
        "position",
        "column",
        "token",
        "weight",
        "head_0",
        "head_1",
        "unknown",
    ]
    np.testing.assert_allclose(one["weight"], explanations[2].weights)


def test_to_frame_without_pandas_names_the_extra(pipeline, monkeypatch):
    explanations = explain(pipeline, ["GATT"])
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match=r"skseqattn\[pandas\]"):
        explanations.to_frame()
    with pytest.raises(ImportError, match=r"Explanation.to_frame needs pandas"):
        explanations[0].to_frame()


# ---------------------------------------------------------------------- errors


def test_explain_rejects_pipelines_with_other_steps(pipeline):
    pipe = Pipeline(
        [("vec", pipeline[0]), ("identity", FunctionTransformer()), ("clf", pipeline[-1])]
    )
    with pytest.raises(
        ValueError, match=r"exactly a CharSequenceVectorizer and a .*FunctionTransformer"
    ):
        explain(pipe, ["GATT"])


def test_explain_ignores_passthrough_steps(pipeline):
    pipe = Pipeline([("vec", pipeline[0]), ("skip", "passthrough"), ("clf", pipeline[-1])])
    assert explain(pipe, ["GATT"])[0].tokens == list("GATT")


def test_explain_rejects_non_attention_pooling(data):
    X, y = data
    pipe = make_pipeline(
        CharSequenceVectorizer(), _tiny_classifier(pooling="mean", max_epochs=1)
    ).fit(X[:40], y[:40])
    with pytest.raises(
        ValueError,
        match=r"method='attention'\) needs .* pooling='attention'.*pooling='mean'.*"
        r"use method='contributions'",
    ):
        explain(pipe, ["GATT"], method="attention")
    # contributions need no attention: 'auto' picks them, and they still add up
    item = explain(pipe, ["GATT"])[0]
    assert item.method == "contributions"
    assert item.weights is None
    assert item.baseline + item.contributions.sum() == pytest.approx(item.score, abs=1e-4)


def test_explain_rejects_other_estimators_and_bad_arguments(pipeline):
    with pytest.raises(TypeError, match="got LogisticRegression"):
        explain(LogisticRegression(), ["GATT"])
    with pytest.raises(ValueError, match="drop the vectorizer argument"):
        explain(pipeline, ["GATT"], vectorizer=pipeline[0])
    with pytest.raises(TypeError, match="vectorizer to be a fitted CharSequenceVectorizer"):
        explain(pipeline[-1], [[2, 3]], vectorizer=object())
    with pytest.raises(TypeError, match="wrap it in a list"):
        explain(pipeline, "GATT")
    ids = pipeline[0].transform(["GATT"])
    with pytest.raises(ValueError, match="got 2 tokens for sequence 0, which has 4"):
        explain(pipeline[-1], ids, tokens=[["a", "b"]])
    with pytest.raises(ValueError, match="tokens for 2 sequences but X has 1"):
        explain(pipeline[-1], ids, tokens=[["a"], ["b"]])
    with pytest.raises(ValueError, match="knows ids up to"):
        explain(pipeline[-1], np.array([[2, 3, 999]]), vectorizer=pipeline[0])


def test_explain_not_fitted():
    pipe = make_pipeline(CharSequenceVectorizer(), BiLSTMAttentionClassifier())
    with pytest.raises(NotFittedError):
        explain(pipe, ["GATT"])


def test_explain_word_tokens():
    X = ["the cat sat", "a dog ran", "the dog sat", "a cat ran"] * 10
    y = ["cat", "dog", "dog", "cat"] * 10
    pipe = make_pipeline(
        CharSequenceVectorizer(analyzer="word"), _tiny_classifier(max_epochs=1)
    ).fit(X, y)
    item = explain(pipe, ["the  bird   sat"])[0]
    assert item.tokens == ["the", "bird", "sat"]
    assert item.unknown.tolist() == [False, True, False]
    assert item.text == "the bird sat"
    assert "</span> <span" in item._repr_html_()  # words are separated by spaces


def test_explain_real_valued_sequences_pre_padded():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 7, 2))
    y = (X[:, -1, 0] > 0).astype(int)
    X[::2, :3] = np.nan  # every other sequence is padded at the start
    clf = _tiny_classifier(max_epochs=1).fit(X, y)
    explanations = explain(clf, X[:4])
    weights = clf.attention_weights(X[:4])
    for i, item in enumerate(explanations):
        columns = np.flatnonzero(~np.isnan(X[i, :, 0]))
        np.testing.assert_array_equal(item.columns, columns)
        assert item.tokens == [str(k) for k in range(len(columns))]
        np.testing.assert_allclose(item.weights, weights[i, columns])
        np.testing.assert_allclose(item.weights.sum(), 1.0, atol=1e-5)


def test_explain_runs_the_encoder_once_per_batch(pipeline, data, monkeypatch):
    from skseqattn.nn import SequenceClassifierModule

    X = data[0][:40]
    calls = []
    encode = SequenceClassifierModule.encode

    def counting(self, ids, lengths):
        calls.append(len(ids))
        return encode(self, ids, lengths)

    monkeypatch.setattr(SequenceClassifierModule, "encode", counting)
    explanations = explain(pipeline, X, method="attention")
    # one pass: a batch per distinct length, every row once (not once for the weights and
    # again for the probabilities)
    assert sum(calls) == len(X) == len(explanations)
    assert len(calls) == len({len(x) for x in X})
    calls.clear()
    proba = pipeline.predict_proba(X)
    np.testing.assert_allclose(explanations.proba, proba, rtol=0, atol=1e-12)


# ---------------------------------------------------------------------- contributions


def _predicted_score(clf, X):
    """The score contributions explain, from decision_function."""
    scores = clf.decision_function(X)
    predicted = clf.predict(X)
    if scores.ndim == 1:  # two classes: signed towards the prediction
        return np.where(predicted == clf.classes_[1], scores, -scores)
    return scores.max(axis=1)


def _without_ngrams(clf):
    import copy

    import torch

    alone = copy.deepcopy(clf)
    with torch.no_grad():
        alone.module_.ngrams.table.weight.zero_()
    return alone


@pytest.mark.parametrize("n_classes", [2, 3])
def test_explain_contributions_add_up_to_the_score(data, n_classes):
    X, y = data
    y = y if n_classes == 3 else np.where(y == LABELS[0], "first", "other")
    pipe = make_pipeline(CharSequenceVectorizer(), _tiny_classifier(max_epochs=3)).fit(X, y)
    assert pipe[-1].module_.ngrams is not None  # the default model has the n-gram term
    Xe = X[:40] + ["", "G"]
    explanations = explain(pipe, Xe)
    assert explanations.method == "contributions"
    score = _predicted_score(pipe, Xe)
    np.testing.assert_array_equal(explanations.labels, pipe.predict(Xe))
    # what the recurrent part alone would score for the predicted class
    alone = _without_ngrams(pipe[-1])
    ids = pipe[0].transform(Xe)
    logits = alone.decision_function(ids)
    for i, item in enumerate(explanations):
        assert item.method == "contributions"
        assert item.score == pytest.approx(score[i], abs=1e-5)
        assert item.baseline + item.contributions.sum() == pytest.approx(item.score, abs=1e-4)
        assert item.residual < 1e-4
        assert list(item.parts) == ["recurrent", "ngrams"]
        np.testing.assert_allclose(sum(item.parts.values()), item.contributions, atol=1e-6)
        assert sum(item.part_baselines.values()) == pytest.approx(item.baseline, abs=1e-6)
        if logits.ndim == 1:
            recurrent = logits[i] if item.label == pipe.classes_[1] else -logits[i]
        else:
            recurrent = logits[i, list(pipe.classes_).index(item.label)]
        total = item.part_baselines["recurrent"] + item.parts["recurrent"].sum()
        assert total == pytest.approx(recurrent, abs=1e-4)
        np.testing.assert_allclose(item.values, item.contributions)
        if item.tokens:  # attention of the same pass comes along
            assert item.weights.sum() == pytest.approx(1.0, abs=1e-5)
    empty = explanations[40]
    assert empty.tokens == [] and empty.contributions.shape == (0,)
    assert empty.baseline == pytest.approx(empty.score, abs=1e-5)


def test_explain_contributions_probabilities_match_predict_proba(data):
    """The contributions pass (float32, with gradients) predicts what predict_proba does."""
    X, y = data
    pipe = make_pipeline(CharSequenceVectorizer(), _tiny_classifier(max_epochs=1)).fit(X, y)
    explanations = explain(pipe, X[:30], method="contributions")
    np.testing.assert_allclose(explanations.proba, pipe.predict_proba(X[:30]), atol=1e-6)


def test_explain_auto_picks_attention_without_ngrams(data):
    X, y = data
    pipe = make_pipeline(
        CharSequenceVectorizer(), _tiny_classifier(ngram_order=0, max_epochs=1)
    ).fit(X[:60], y[:60])
    auto = explain(pipe, ["GATTA"])
    assert auto.method == "attention"
    assert auto[0].contributions is None and auto[0].score is None
    item = explain(pipe, ["GATTA"], method="contributions")[0]
    assert list(item.parts) == ["recurrent"]
    assert item.baseline + item.contributions.sum() == pytest.approx(item.score, abs=1e-4)


def test_explain_rejects_unknown_method(pipeline):
    with pytest.raises(ValueError, match=r"method to be one of .*'contributions'.*got 'ig'"):
        explain(pipeline, ["GATT"], method="ig")


def test_explain_contributions_repr_and_frame(pipeline):
    pd = pytest.importorskip("pandas")
    explanations = explain(pipeline, ["GATTAC", "CCGA"])
    text = repr(explanations)
    assert text.startswith("Explanations of 2 sequences (contributions)")
    first = explanations[0]
    lines = repr(first).splitlines()
    assert lines[0].endswith("[contributions]")
    assert lines[1].strip().startswith(f"score {first.score:.3f} = baseline {first.baseline:.3f}")
    assert lines[2].split() == first.tokens
    assert all(cell[0] in "+-" for cell in lines[3].split())  # signed values
    assert [float(v) for v in lines[3].split()] == pytest.approx(first.contributions, abs=0.006)
    frame = explanations.to_frame()
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == [
        "sequence",
        "position",
        "column",
        "token",
        "contribution",
        "recurrent",
        "ngrams",
        "unknown",
        "label",
        "probability",
    ]
    np.testing.assert_allclose(frame.loc[frame.sequence == 0, "contribution"], first.contributions)
    np.testing.assert_allclose(frame["recurrent"] + frame["ngrams"], frame["contribution"])


def test_ngram_token_scores_split_the_term_exactly():
    import torch

    from skseqattn.nn import HashedNgramLinear

    torch.manual_seed(0)
    term = HashedNgramLinear(3, max_order=4, buckets=97)
    torch.nn.init.normal_(term.table.weight)
    X = torch.randint(2, 20, (5, 7))
    lengths = torch.tensor([7, 3, 0, 1, 2])
    for i, n in enumerate(lengths):
        X[i, n:] = 0
    tokens, baseline = term.token_scores(X, lengths)
    assert tokens.shape == (5, 7, 3)
    expected = term(X, lengths)
    torch.testing.assert_close(tokens.sum(dim=1) + baseline, expected, atol=1e-5, rtol=0)
    assert bool((tokens[1, 3:] == 0).all()) and bool((tokens[2] == 0).all())  # padding
    # only the empty sequence has an n-gram covering no token: its two markers
    assert bool((baseline[[0, 1, 3, 4]] == 0).all())
    torch.testing.assert_close(baseline[2], expected[2])
    # one token: its unigram, bigrams with each marker and the marker trigram are all its own
    torch.testing.assert_close(tokens[3, 0], expected[3])


# ---------------------------------------------------------------------- HTML of contributions


def _token_spans(markup):
    import re

    return re.findall(
        r'class="skseqattn-token" data-value="([^"]+)".*?background:rgba\((\d+),(\d+),(\d+),'
        r"([0-9.]+)\)",
        markup,
    )


def test_explain_html_contributions_diverge_on_a_shared_scale(pipeline, data):
    explanations = explain(pipeline, data[0][:6])
    values = [item.contributions for item in explanations]
    top = max(float(np.abs(v).max()) for v in values)
    markup = explanations.to_html()
    assert "method: contributions" in markup
    assert 'class="skseqattn-legend"' in markup and f"+{top:.3g}" in markup
    assert "font-size:15px" in markup
    spans = _token_spans(markup)
    assert len(spans) == sum(len(v) for v in values)
    flat = np.concatenate(values)
    shown = np.array([float(v) for v, *_ in spans])
    np.testing.assert_allclose(shown, flat, rtol=1e-5, atol=1e-6)
    alphas = np.array([float(a) for *_, a in spans])
    np.testing.assert_allclose(alphas, np.abs(flat) / top, atol=1e-3)  # one shared scale
    colours = {(int(r), int(g), int(b)) for _, r, g, b, _ in spans}
    for value, (_, r, g, b, _) in zip(flat, spans):
        assert (int(r), int(g), int(b)) == ((230, 85, 13) if value >= 0 else (33, 113, 181))
    assert colours == {(230, 85, 13), (33, 113, 181)}  # both signs occur on this data

    rows = explanations.to_html(scale="row")
    assert "each row scaled to its own largest value" in rows
    alphas = np.array([float(a) for *_, a in _token_spans(rows)])
    start = 0
    for v in values:
        np.testing.assert_allclose(
            alphas[start : start + len(v)], np.abs(v) / np.abs(v).max(), atol=1e-3
        )
        start += len(v)
    with pytest.raises(ValueError, match=r"scale to be one of \('shared', 'row'\), got 'rows'"):
        explanations.to_html(scale="rows")


def test_explain_html_names_the_method_in_the_title(pipeline):
    attention = explain(pipeline, ["GATT"], method="attention")
    for markup in (attention.to_html(), attention[0]._repr_html_()):
        assert "method: attention" in markup and "method: contributions" not in markup
        assert 'class="skseqattn-legend"' in markup
    contributions = explain(pipeline, ["GATT"])
    assert "method: contributions" in contributions[0]._repr_html_()
    parsed = _parse(contributions.to_html())
    assert set(parsed.tags) <= {"div", "table", "tr", "th", "td", "span", "b", "p"}
    assert "score" in parsed.text


@pytest.mark.slow
def test_explain_contributions_find_the_motif(monkeypatch):
    """ERASER comprehensiveness at k=3 on a motif task: contributions are faithful."""
    from pathlib import Path

    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from bench_explain import motif_criterion

    result = motif_criterion(n_samples=1200, max_epochs=6, random_state=0)
    comp = {
        m: result[m]["comprehensiveness"]["3"] for m in ("contributions", "attention", "random")
    }
    assert comp["contributions"] >= 0.3
    assert comp["contributions"] >= comp["attention"]
    assert comp["contributions"] >= 3 * comp["random"]


@pytest.mark.gpu
def test_explain_contributions_add_up_on_cuda(data):
    X, y = data
    pipe = make_pipeline(
        CharSequenceVectorizer(), _tiny_classifier(max_epochs=1, device="cuda")
    ).fit(X, y)
    explanations = explain(pipe, X[:30] + [""])
    score = _predicted_score(pipe, X[:30] + [""])
    for i, item in enumerate(explanations):
        assert item.score == pytest.approx(score[i], abs=1e-4)
        assert item.baseline + item.contributions.sum() == pytest.approx(item.score, abs=1e-4)
