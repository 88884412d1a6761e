"""Explain predictions of a sequence model: what each token did, and what it said.

:func:`explain` turns a fitted model and some sequences into one :class:`Explanation` per
sequence (its tokens, one value per token, the predicted label and the class
probabilities), gathered in an :class:`Explanations` collection. The value is either each
token's signed contribution to the predicted class's score (``method='contributions'``:
the whole model, n-gram term included, adding up to the score) or its attention weight
(``method='attention'``: what the recurrent part looked at). Both print as aligned text in
a terminal, render as shaded HTML in a notebook and convert to a pandas DataFrame.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ._classifier import BiLSTMAttentionClassifier
from ._ids import PAD_ID, UNK_ID
from ._inputs import TokenInput
from ._validation import check_string_collection
from ._vectorizer import CharSequenceVectorizer

__all__ = ["Explanation", "Explanations", "explain"]

_REPR_MAX_SEQUENCES = 10
_REPR_MAX_TOKENS = 200
_REPR_LINE_WIDTH = 100
_HTML_MAX_ROWS = 50
_SHADE_RGB = (230, 85, 13)  # an orange that reads on light and dark backgrounds
_NEGATIVE_RGB = (33, 113, 181)  # a blue, the other end of the diverging scale
_HTML_FONT_PX = 15
METHODS = ("auto", "attention", "contributions")
SCALES = ("shared", "row")
_TITLES = {
    "attention": "method: attention - weight of each token in the recurrent part's "
    "attention (the n-gram term is not shown)",
    "contributions": "method: contributions - signed share of each token in the predicted "
    "class's score (baseline + tokens = score)",
}


def explain(estimator, X, *, method="auto", vectorizer=None, tokens=None):
    """Explain the predictions of a fitted model, one sequence at a time.

    Parameters
    ----------
    estimator : Pipeline or BiLSTMAttentionClassifier
        Either a fitted :class:`~sklearn.pipeline.Pipeline` of exactly a
        :class:`~skseqattn.CharSequenceVectorizer` followed by a
        :class:`~skseqattn.BiLSTMAttentionClassifier` (``'passthrough'`` steps are
        ignored), or a fitted classifier alone. ``method='attention'`` needs a classifier
        fitted with ``pooling='attention'``.
    X : iterable of str, or the classifier's input
        With a pipeline, or with a classifier and a `vectorizer`: the strings to explain.
        With a classifier alone, also what it takes: a 2-D array of token ids (padded with
        0 on either side), a list of id arrays, or real-valued sequences.
    method : {'auto', 'contributions', 'attention'}, default='auto'
        What each token's value is:

        - ``'contributions'``: its signed contribution to the predicted class's score,
          from the whole model; ``baseline + contributions.sum() == score`` (see Notes).
        - ``'attention'``: its attention weight in the recurrent part (weights sum to 1);
          the n-gram term's part of the decision is not shown.
        - ``'auto'``: ``'contributions'`` when the model has an n-gram term
          (``ngram_order > 0``, the default for token input) or no attention pooling,
          else ``'attention'``. On the benchmark in ``benchmarks/bench_explain.py``,
          contributions are the more faithful of the two (ERASER comprehensiveness).
    vectorizer : CharSequenceVectorizer, default=None
        Only with a classifier alone: the fitted vectorizer that made its ids. It names the
        tokens of id input, and turns str input into ids.
    tokens : list of list of str, default=None
        Names for the real (non-padding) steps of each sequence, overriding the ones
        found otherwise; e.g. the words of your own tokenizer when the classifier was fed
        its ids. ``tokens[i]`` must have one entry per real step of ``X[i]``.

    Returns
    -------
    explanations : Explanations
        One :class:`Explanation` per sequence of `X`, in order.

    Raises
    ------
    TypeError
        If `estimator` is neither a pipeline nor a BiLSTMAttentionClassifier.
    ValueError
        If `method` is not one of the above, the pipeline has other steps,
        ``method='attention'`` meets a classifier not fitted with attention pooling,
        `vectorizer` is combined with a pipeline, or `tokens` does not match the
        sequences.
    sklearn.exceptions.NotFittedError
        If the classifier (or the vectorizer) is not fitted.

    See Also
    --------
    skseqattn.plotting.AttentionDisplay : The same explanations as a heatmap.
    BiLSTMAttentionClassifier.attention_weights : The raw weights, in X's column layout.

    Notes
    -----
    Tokens are what the classifier saw, one per non-padding column of the id matrix, in
    order: characters or words after the vectorizer's `lowercase` and `strip_accents`,
    without the tokens cut by `max_len`. Whatever the side of the padding
    (``padding='pre'`` or ``'post'``), each token gets the weight of its own column.

    A token that is not in the vocabulary keeps its text when the strings are known (a
    pipeline, or a `vectorizer` given str input) and is flagged in
    :attr:`Explanation.unknown`; from ids alone it is shown as the vectorizer's
    `unk_token`. Without a vectorizer, token ids are shown as numbers (``'7'``) and the
    steps of real-valued sequences by their index (``'0'``, ``'1'``, ...).

    With several attention heads, :attr:`Explanation.weights` is the mean over the heads
    (which still sums to 1) and :attr:`Explanation.head_weights` holds each head's.

    Attention shows what the recurrent part looked at. With ``ngram_order > 0`` (the
    default for token input) the logits also hold the scores of the sequence's hashed
    n-grams, which attention does not show: on the surname data the recurrent part alone
    agrees with the full model on about half of the names. Contributions explain the
    whole score:

    - the score is the logit of the predicted class; with two classes it is
      ``decision_function`` signed towards the prediction (the predicted class's logit
      minus the other's);
    - the n-gram term is linear: each n-gram's score is split evenly among the tokens it
      covers (exact; :attr:`Explanation.parts` ``['ngrams']``);
    - the recurrent part (encoder, pooling, head) gets Integrated Gradients over the
      embedded tokens against the all-zero input (the padding embedding; for real-valued
      input the training mean), computed by adaptive Gauss-Legendre quadrature: 32 nodes
      on the path, and where a sequence's completeness residual is not yet below 5e-5,
      its worst panels halved (twice the nodes there), up to 2048 nodes
      (:attr:`Explanation.parts` ``['recurrent']``); :attr:`Explanation.residual`
      reports what is left. Most sequences of a trained model need 32-64 nodes; a few
      in a thousand, with a steep turn along the path, many more. ``pooling='max'`` is
      not smooth and may keep a larger residual;
    - each part's score at the baseline input is in :attr:`Explanation.part_baselines`,
      their sum in :attr:`Explanation.baseline`.

    Contributions run a forward and backward pass per quadrature node: some 100 times
    the cost of a prediction (about 10 ms per surname on a CPU core), in float32 even
    with ``mixed_precision=True``.

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from skseqattn import BiLSTMAttentionClassifier, CharSequenceVectorizer
    >>> from skseqattn import explain
    >>> X = ["xxab", "abxx", "xxcd", "cdxx"] * 10
    >>> y = ["ab", "ab", "cd", "cd"] * 10
    >>> model = make_pipeline(
    ...     CharSequenceVectorizer(),
    ...     BiLSTMAttentionClassifier(hidden_size=4, embedding_dim=4, max_epochs=2,
    ...                               validation_fraction=None, random_state=0),
    ... ).fit(X, y)
    >>> explanations = explain(model, ["xab", "c?d"])
    >>> len(explanations), explanations.method
    (2, 'contributions')
    >>> first = explanations[0]
    >>> first.tokens
    ['x', 'a', 'b']
    >>> bool(abs(first.baseline + first.contributions.sum() - first.score) < 1e-4)
    True
    >>> sorted(first.parts)
    ['ngrams', 'recurrent']
    >>> first.label in model.classes_, first.proba.shape
    (True, (2,))
    >>> explanations[1].tokens, explanations[1].unknown.tolist()
    (['c', '?', 'd'], [False, True, False])
    >>> attention = explain(model, ["xab"], method="attention")[0]
    >>> round(float(attention.values.sum()), 6)
    1.0
    """
    vec, clf = _resolve_estimator(estimator, vectorizer)
    if isinstance(method, str) and method in METHODS:
        pass
    else:
        raise ValueError(
            f"explain expected method to be one of {METHODS}, got {method!r}; use "
            "'contributions' (the whole model's score), 'attention' (the recurrent part's "
            "weights) or 'auto'."
        )
    check_is_fitted(clf)
    if vec is not None:
        check_is_fitted(vec)
    module = getattr(clf, "module_", None)
    pooling = getattr(module, "pooling_name", clf.pooling)
    if method == "auto":
        has_ngrams = getattr(module, "ngrams", None) is not None
        method = "contributions" if has_ngrams or pooling != "attention" else "attention"
    if method == "attention" and pooling != "attention":
        raise ValueError(
            f"explain(method='attention') needs a {type(clf).__name__} fitted with "
            f"pooling='attention', but this one was fitted with pooling={pooling!r}, which "
            "gives the steps no weights; use method='contributions', or refit it with "
            "pooling='attention'."
        )

    strings = None
    if vec is not None and (estimator is not clf or _looks_like_strings(X)):
        strings = check_string_collection(X, estimator_name="explain")
        X_model = vec.transform(strings)
    else:
        X_model = X

    found = None
    if method == "attention":
        seqs, proba, step_weights = clf._predict_with_attention(X_model)
    else:
        seqs, proba, step_weights, found = clf._predict_with_contributions(X_model)
    kind = clf._input
    classes = clf.classes_

    n_samples = len(seqs)
    step_tokens = _step_tokens(seqs, kind, vec, strings)
    if tokens is not None:
        step_tokens = _check_tokens(tokens, seqs)
    separator = "" if vec is not None and vec._analyzer() == "char" else " "

    items = []
    for i in range(n_samples):
        start, stop = seqs.offsets[i], seqs.offsets[i + 1]
        columns = seqs.positions[start:stop]
        weights = head_weights = None
        if step_weights is not None:
            row_weights = step_weights[start:stop]  # (n_tokens, heads)
            weights = row_weights.mean(axis=1)
            head_weights = row_weights if row_weights.shape[1] > 1 else None
        unknown = kind.unknown_steps(seqs.values[start:stop])
        if vec is not None:  # the vectorizer's own unknown id, whatever the model reads it as
            unknown = unknown | (seqs.values[start:stop] == UNK_ID)
        row_proba = proba[i]
        extra = {}
        if found is not None:
            steps = found["steps"][start:stop]  # (n_tokens, n_parts)
            names = found["parts"]
            extra = dict(
                contributions=steps.sum(axis=1),
                baseline=float(found["baselines"][i].sum()),
                score=float(found["score"][i]),
                parts={name: steps[:, j].copy() for j, name in enumerate(names)},
                part_baselines={
                    name: float(found["baselines"][i, j]) for j, name in enumerate(names)
                },
                residual=float(found["residual"][i]),
            )
        items.append(
            Explanation(
                tokens=step_tokens[i],
                weights=weights,
                label=_python_scalar(classes[int(np.argmax(row_proba))]),
                proba=row_proba,
                classes=classes,
                head_weights=head_weights,
                unknown=unknown,
                columns=columns.copy(),
                separator=separator,
                method=method,
                **extra,
            )
        )
    return Explanations(items, classes=classes, method=method)


@dataclass(eq=False, repr=False)
class Explanation:
    """Why one sequence got its prediction: its tokens and one value per token.

    Made by :func:`explain`; not meant to be built by hand.

    Attributes
    ----------
    tokens : list of str
        The tokens the classifier saw, padding excluded (see :func:`explain`, Notes).
    weights : ndarray of shape (n_tokens,) or None
        Attention weight of each token; they sum to 1 (an empty sequence has none). With
        several heads, the mean over the heads. None for a model without attention pooling.
    label : object
        The predicted class, one of `classes`.
    proba : ndarray of shape (n_classes,)
        Probability of each class, in the order of `classes`.
    classes : ndarray of shape (n_classes,)
        The classifier's ``classes_``.
    head_weights : ndarray of shape (n_tokens, n_heads) or None
        Each head's weights, when the classifier has more than one head.
    unknown : ndarray of bool, shape (n_tokens,)
        True for tokens missing from the vocabulary (read by the model as the unknown id).
    columns : ndarray of int, shape (n_tokens,)
        Column of each token in the id matrix the classifier was given (it differs from
        the token's index with ``padding='pre'``).
    separator : str
        ``''`` between characters, ``' '`` between words; used to print the text.
    method : {'attention', 'contributions'}
        What :attr:`values` holds.
    contributions : ndarray of shape (n_tokens,) or None
        With ``method='contributions'``: each token's signed contribution to `score`
        (positive pushes towards `label`), the sum over :attr:`parts`.
    baseline : float or None
        The score of the baseline input (the sum of `part_baselines`);
        ``baseline + contributions.sum()`` equals `score` up to `residual`.
    score : float or None
        The predicted class's logit; with two classes the logit difference signed towards
        the prediction (``decision_function`` times -1 when ``classes_[0]`` is predicted).
    parts : dict of str to ndarray, or None
        Each component's contributions per token: ``'recurrent'`` and, with an n-gram
        term, ``'ngrams'``.
    part_baselines : dict of str to float, or None
        Each component's share of `baseline`.
    residual : float or None
        ``|score - baseline - contributions.sum()|``, the quadrature error.
    """

    tokens: list
    weights: np.ndarray | None
    label: object
    proba: np.ndarray
    classes: np.ndarray
    head_weights: np.ndarray | None = None
    unknown: np.ndarray = field(default=None)
    columns: np.ndarray = field(default=None)
    separator: str = ""
    method: str = "attention"
    contributions: np.ndarray | None = None
    baseline: float | None = None
    score: float | None = None
    parts: dict | None = None
    part_baselines: dict | None = None
    residual: float | None = None

    def __post_init__(self):
        if self.unknown is None:
            self.unknown = np.zeros(len(self.tokens), dtype=bool)
        if self.columns is None:
            self.columns = np.arange(len(self.tokens))

    @property
    def values(self) -> np.ndarray:
        """The value shown for each token: `contributions` or `weights`, after `method`."""
        values = self.contributions if self.method == "contributions" else self.weights
        return np.zeros(len(self.tokens)) if values is None else values

    @property
    def signed(self) -> bool:
        """True when the values can be negative (contributions)."""
        return self.method == "contributions"

    @property
    def probability(self) -> float:
        """Probability of the predicted label."""
        return float(np.max(self.proba)) if len(self.proba) else float("nan")

    @property
    def text(self) -> str:
        """The tokens joined back into text."""
        return self.separator.join(self.tokens)

    def top(self, k=3):
        """The `k` tokens with the largest values, largest first.

        Parameters
        ----------
        k : int, default=3
            How many tokens to return (fewer if the sequence is shorter).

        Returns
        -------
        top : list of (int, str, float)
            ``(index, token, value)`` of each: the largest attention weights, or the
            contributions that push the most towards the prediction (the most negative
            come last); ties keep the order of the sequence.
        """
        order = np.argsort(-self.values, kind="stable")[: max(int(k), 0)]
        return [(int(i), self.tokens[i], float(self.values[i])) for i in order]

    def to_frame(self):
        """One row per token, as a pandas DataFrame.

        Returns
        -------
        frame : pandas.DataFrame
            Columns ``position`` (index of the token), ``column`` (its column in the id
            matrix), ``token``; then with ``method='attention'``, ``weight``, ``head_0``,
            ``head_1``, ... (with several heads); with ``method='contributions'``,
            ``contribution`` and one column per part (``recurrent``, ``ngrams``); and
            ``unknown``.
        """
        pd = _import_pandas("Explanation.to_frame")
        return pd.DataFrame(self._columns_dict())

    def _columns_dict(self):
        data = {
            "position": np.arange(len(self.tokens)),
            "column": np.asarray(self.columns, dtype=np.int64),
            "token": list(self.tokens),
        }
        if self.method == "contributions":
            data["contribution"] = np.asarray(self.values, dtype=np.float64)
            for name, values in (self.parts or {}).items():
                data[name] = np.asarray(values, dtype=np.float64)
        else:
            data["weight"] = np.asarray(self.values, dtype=np.float64)
            if self.head_weights is not None:
                for h in range(self.head_weights.shape[1]):
                    data[f"head_{h}"] = self.head_weights[:, h]
        data["unknown"] = np.asarray(self.unknown, dtype=bool)
        return data

    def _headline(self):
        return f"{self.text!r} -> {self.label!r} (p={self.probability:.3f})"

    def _score_line(self, indent="  "):
        if self.method != "contributions" or self.score is None:
            return None
        parts = ", ".join(
            f"{name} {float(np.sum(v)) + self.part_baselines.get(name, 0.0):+.3f}"
            for name, v in (self.parts or {}).items()
        )
        return (
            f"{indent}score {self.score:.3f} = baseline {self.baseline:.3f} + tokens "
            f"{float(np.sum(self.values)):.3f}  ({parts})"
        )

    def _token_table(self, indent="  "):
        return _text_table(self.tokens, self.values, indent=indent, signed=self.signed)

    def __repr__(self):
        lines = [f"Explanation {self._headline()} [{self.method}]"]
        score = self._score_line()
        if score is not None:
            lines.append(score)
        lines.append(self._token_table())
        return "\n".join(lines)

    def _html_tokens(self, top=None):
        if not self.tokens:
            return '<span style="opacity:0.6">(empty)</span>'
        values = np.asarray(self.values, dtype=np.float64)
        if top is None:
            top = float(np.max(np.abs(values))) if len(values) else 0.0
        spans = []
        for token, value, unknown in zip(self.tokens, values, self.unknown):
            spans.append(_html_token(token, float(value), top, bool(unknown), self.method))
        joiner = "" if self.separator == "" else " "
        return joiner.join(spans)

    def _repr_html_(self):
        label = html.escape(str(self.label), quote=True)
        values = np.asarray(self.values, dtype=np.float64)
        top = float(np.max(np.abs(values))) if len(values) else 0.0
        score = "" if self.score is None else f"&ensp;score={self.score:.3f}"
        return (
            f'<div class="skseqattn-explanation" style="font-size:{_HTML_FONT_PX}px;'
            'line-height:2.2">'
            f'<div class="skseqattn-title" style="opacity:0.8">'
            f"{html.escape(_TITLES[self.method])}</div>"
            f"<b>{label}</b> "
            f'<span style="opacity:0.7">p={self.probability:.3f}{score}</span>&ensp;'
            f'<span style="font-family:monospace">{self._html_tokens(top)}</span>'
            f"{_html_legend(self.method, top, 'row')}</div>"
        )


class Explanations(Sequence):
    """The explanations of several sequences, in the order they were given.

    A read-only sequence of :class:`Explanation` (index it, slice it, iterate over it)
    made by :func:`explain`. In a terminal it prints each sequence's tokens above their
    values; in a notebook it renders as a table that shades each token by its value.

    Parameters
    ----------
    explanations : list of Explanation
    classes : ndarray of shape (n_classes,)
        The classifier's ``classes_``.
    method : {'attention', 'contributions'}, default='attention'
        What the explanations' values are.

    Attributes
    ----------
    classes : ndarray of shape (n_classes,)
    method : str
    """

    def __init__(self, explanations, *, classes, method="attention"):
        self._items = list(explanations)
        self.classes = classes
        self.method = method

    def __len__(self):
        return len(self._items)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return Explanations(self._items[index], classes=self.classes, method=self.method)
        return self._items[index]

    @property
    def labels(self) -> np.ndarray:
        """Predicted label of each sequence."""
        return np.asarray([e.label for e in self._items], dtype=self.classes.dtype)

    @property
    def proba(self) -> np.ndarray:
        """Class probabilities, shape (n_sequences, n_classes)."""
        if not self._items:
            return np.zeros((0, len(self.classes)))
        return np.vstack([e.proba for e in self._items])

    def to_frame(self):
        """One row per token of every sequence, as a pandas DataFrame.

        Returns
        -------
        frame : pandas.DataFrame
            Columns ``sequence`` (index into this collection), then those of
            :meth:`Explanation.to_frame`, then ``label`` (the sequence's prediction) and
            ``probability`` (of that prediction). A sequence without tokens has no rows.
        """
        pd = _import_pandas("Explanations.to_frame")
        frames = []
        for i, item in enumerate(self._items):
            data = {"sequence": np.full(len(item.tokens), i, dtype=np.int64)}
            data.update(item._columns_dict())
            frame = pd.DataFrame(data)
            frame["label"] = pd.Series([item.label] * len(item.tokens), dtype=object)
            frame["probability"] = item.probability
            frames.append(frame)
        if not frames:
            value = "contribution" if self.method == "contributions" else "weight"
            return pd.DataFrame(
                columns=["sequence", "position", "column", "token", value, "unknown"]
                + ["label", "probability"]
            )
        return pd.concat(frames, ignore_index=True)

    def __repr__(self):
        n = len(self._items)
        what = {"attention": "attention weights", "contributions": "contributions"}
        lines = [
            f"Explanations of {n} sequence{'s' if n != 1 else ''} "
            f"({what.get(self.method, self.method)})"
        ]
        for i, item in enumerate(self._items[:_REPR_MAX_SEQUENCES]):
            lines.append(f"[{i}] {item._headline()}")
            score = item._score_line()
            if score is not None:
                lines.append(score)
            lines.append(item._token_table())
        if n > _REPR_MAX_SEQUENCES:
            lines.append(f"... and {n - _REPR_MAX_SEQUENCES} more; index or iterate to see them")
        return "\n".join(lines)

    def to_html(self, max_rows=_HTML_MAX_ROWS, *, scale="shared"):
        """An HTML table with one row per sequence, each token shaded by its value.

        Parameters
        ----------
        max_rows : int or None, default=50
            Show at most this many sequences (None: all).
        scale : {'shared', 'row'}, default='shared'
            ``'shared'``: one colour scale for all the rows shown (the largest absolute
            value among them is the darkest), so rows compare; ``'row'``: each row by its
            own largest absolute value.

        Returns
        -------
        html : str
            A title naming the method, the table and a legend of the colour scale.
            Contributions are diverging (orange towards the prediction, blue against),
            attention weights sequential; hover a token for its exact value. Tokens and
            labels are HTML-escaped.

        Raises
        ------
        ValueError
            If `scale` is not ``'shared'`` or ``'row'``.
        """
        if not (isinstance(scale, str) and scale in SCALES):
            raise ValueError(
                f"Explanations.to_html expected scale to be one of {SCALES}, got {scale!r}; "
                "use 'shared' to compare rows, or 'row' to scale each row by itself."
            )
        items = self._items if max_rows is None else self._items[: int(max_rows)]
        shared = max(
            (float(np.max(np.abs(item.values))) for item in items if len(item.tokens)),
            default=0.0,
        )
        cell = 'style="text-align:left;padding:4px 10px;vertical-align:middle"'
        signed = self.method == "contributions"
        rows = [
            f"<tr><th {cell}>#</th><th {cell}>prediction</th><th {cell}>p</th>"
            + (f"<th {cell}>score</th>" if signed else "")
            + f"<th {cell}>{'contributions' if signed else 'attention'}</th></tr>"
        ]
        for i, item in enumerate(items):
            label = html.escape(str(item.label), quote=True)
            top = shared if scale == "shared" else None
            score = ""
            if signed:
                score = f"<td {cell}>{item.score:.3f}</td>" if item.score is not None else ""
            rows.append(
                f"<tr><td {cell}>{i}</td><td {cell}><b>{label}</b></td>"
                f"<td {cell}>{item.probability:.3f}</td>{score}"
                f'<td {cell}><span style="font-family:monospace">{item._html_tokens(top)}'
                "</span></td></tr>"
            )
        more = ""
        if len(items) < len(self._items):
            more = f"<p>... and {len(self._items) - len(items)} more sequences</p>"
        return (
            f'<div class="skseqattn-explanations" style="font-size:{_HTML_FONT_PX}px">'
            f'<div class="skseqattn-title" style="font-weight:bold;margin-bottom:4px">'
            f"{html.escape(_TITLES.get(self.method, self.method))}</div>"
            '<table style="line-height:2.2;border-collapse:collapse">'
            + "".join(rows)
            + "</table>"
            + _html_legend(self.method, shared, scale)
            + more
            + "</div>"
        )

    def _repr_html_(self):
        return self.to_html()


# ---------------------------------------------------------------------- resolving input


def _resolve_estimator(estimator, vectorizer):
    """Return ``(vectorizer or None, classifier)`` from what the user passed."""
    from sklearn.pipeline import Pipeline

    if isinstance(estimator, Pipeline):
        if vectorizer is not None:
            raise ValueError(
                "explain got both a Pipeline and vectorizer=; the pipeline's own "
                "CharSequenceVectorizer names the tokens, so drop the vectorizer argument."
            )
        steps = [(n, s) for n, s in estimator.steps if s is not None and s != "passthrough"]
        kinds = [type(s).__name__ for _, s in steps]
        if (
            len(steps) != 2
            or not isinstance(steps[0][1], CharSequenceVectorizer)
            or not isinstance(steps[1][1], BiLSTMAttentionClassifier)
        ):
            raise ValueError(
                "explain expected a Pipeline of exactly a CharSequenceVectorizer and a "
                f"BiLSTMAttentionClassifier, got the steps {kinds}; other steps change "
                "the tokens the weights belong to. Explain the classifier alone instead: "
                "explain(pipeline[-1], ids, vectorizer=..., tokens=...)."
            )
        return steps[0][1], steps[1][1]
    if isinstance(estimator, BiLSTMAttentionClassifier):
        if vectorizer is not None and not isinstance(vectorizer, CharSequenceVectorizer):
            raise TypeError(
                "explain expected vectorizer to be a fitted CharSequenceVectorizer, got "
                f"{type(vectorizer).__name__}; pass the vectorizer that made the ids, or "
                "None to show the ids themselves."
            )
        return vectorizer, estimator
    raise TypeError(
        "explain expected a fitted Pipeline(CharSequenceVectorizer, "
        f"BiLSTMAttentionClassifier) or a BiLSTMAttentionClassifier, got "
        f"{type(estimator).__name__}; build one with make_pipeline(CharSequenceVectorizer(), "
        "BiLSTMAttentionClassifier())."
    )


def _looks_like_strings(X):
    if isinstance(X, str):
        return True
    if isinstance(X, np.ndarray):
        if X.dtype.kind in "US":
            return True
        return X.dtype.kind == "O" and X.size > 0 and isinstance(X.flat[0], str)
    if hasattr(X, "dtype") and hasattr(X, "iloc"):  # a pandas Series
        return len(X) > 0 and isinstance(X.iloc[0], str)
    if isinstance(X, list | tuple):
        return len(X) > 0 and isinstance(X[0], str)
    return False


def _step_tokens(seqs, kind, vec, strings):
    """One list of token names per sequence, aligned with its real steps."""
    n = len(seqs)
    lengths = seqs.lengths
    if not isinstance(kind, TokenInput):
        return [[str(k) for k in range(int(lengths[i]))] for i in range(n)]
    if vec is None:
        return [
            [str(t) for t in seqs.values[seqs.offsets[i] : seqs.offsets[i + 1]].tolist()]
            for i in range(n)
        ]
    if strings is not None:
        analysed = vec.tokenize(strings)
        if all(len(a) == int(k) for a, k in zip(analysed, lengths)):
            return analysed
    # From ids alone (or if the analysis disagreed): look the ids up.
    ids = seqs.values
    if ids.size and int(ids.max()) >= vec.vocab_size_:
        bad = int(ids.max())
        raise ValueError(
            f"explain got token id {bad}, but the vectorizer knows ids up to "
            f"{vec.vocab_size_ - 1}; pass the vectorizer that made these ids."
        )
    names = vec.id_to_token_.copy()
    names[UNK_ID] = vec.unk_token
    names[PAD_ID] = ""
    names = names[ids].tolist()
    return [names[seqs.offsets[i] : seqs.offsets[i + 1]] for i in range(n)]


def _check_tokens(tokens, seqs):
    if isinstance(tokens, str) or not isinstance(tokens, Sequence | np.ndarray):
        raise TypeError(
            f"explain expected tokens to be a list with one list of str per sequence, got "
            f"{type(tokens).__name__}; pass e.g. tokens=[['the', 'cat'], ['a', 'dog']]."
        )
    if len(tokens) != len(seqs):
        raise ValueError(
            f"explain got tokens for {len(tokens)} sequences but X has {len(seqs)}; give "
            "one list of tokens per sequence."
        )
    rows = []
    for i, (row, length) in enumerate(zip(tokens, seqs.lengths)):
        if isinstance(row, str):
            row = list(row)
        row = [str(t) for t in row]
        if len(row) != int(length):
            raise ValueError(
                f"explain got {len(row)} tokens for sequence {i}, which has {int(length)} "
                "real (non-padding) steps; give one token per non-padding step, in order."
            )
        rows.append(row)
    return rows


# ---------------------------------------------------------------------- rendering


def _display_token(token):
    """A token as printed in a terminal: visible whitespace, escaped control codes."""
    if token == "":
        return "''"
    if token.isspace():
        return "\u2423" * len(token)  # OPEN BOX, the visible space
    if not token.isprintable():
        return repr(token)[1:-1]
    return token


def _text_table(tokens, weights, *, indent="  ", width=_REPR_LINE_WIDTH, signed=False):
    """Tokens above their values, aligned, wrapped at `width` characters."""
    if not tokens:
        return f"{indent}(no tokens)"
    shown = [_display_token(t) for t in tokens[:_REPR_MAX_TOKENS]]
    fmt = "{:+.2f}" if signed else "{:.2f}"
    cells = [fmt.format(float(w)) for w in weights[:_REPR_MAX_TOKENS]]
    lines = []
    top, bottom = [], []
    used = len(indent)
    for token, cell in zip(shown, cells):
        size = max(len(token), len(cell))
        if top and used + size + 1 > width:
            lines += [indent + " ".join(top), indent + " ".join(bottom)]
            top, bottom, used = [], [], len(indent)
        top.append(token.ljust(size))
        bottom.append(cell.ljust(size))
        used += size + 1
    lines += [indent + " ".join(top).rstrip(), indent + " ".join(bottom).rstrip()]
    if len(tokens) > _REPR_MAX_TOKENS:
        lines.append(f"{indent}... and {len(tokens) - _REPR_MAX_TOKENS} more tokens")
    return "\n".join(lines)


def _html_token(token, value, top, unknown, method="attention"):
    """One token as a span shaded by ``|value| / top``: orange if positive, blue if not."""
    alpha = min(abs(value) / top, 1.0) if top > 0 else 0.0
    r, g, b = _SHADE_RGB if value >= 0 else _NEGATIVE_RGB
    text = html.escape(token, quote=True)
    if token.isspace():
        text = "&nbsp;" * len(token)
    name = "contribution" if method == "contributions" else "weight"
    shown = f"{value:+.4f}" if method == "contributions" else f"{value:.4f}"
    title = f"{token!r}: {name} {shown}" + (" (unknown to the vocabulary)" if unknown else "")
    style = (
        f"background:rgba({r},{g},{b},{alpha:.3f});padding:2px 2px;margin:0 1px;border-radius:3px"
    )
    if alpha > 0.6:
        style += ";color:#fff"
    if unknown:
        style += ";text-decoration:underline dotted"
    return (
        f'<span class="skseqattn-token" data-value="{value:.6g}" '
        f'title="{html.escape(title, quote=True)}" style="{style}">{text}</span>'
    )


def _html_legend(method, top, scale):
    """A small colour bar with its end values; per-row scales are named instead."""
    r, g, b = _SHADE_RGB
    orange = f"rgb({r},{g},{b})"
    r, g, b = _NEGATIVE_RGB
    blue = f"rgb({r},{g},{b})"
    if method == "contributions":
        gradient = f"linear-gradient(to right,{blue},#fff,{orange})"
        low, high = ("-max", "+max") if scale == "row" else (f"{-top:.3g}", f"+{top:.3g}")
        ends = (low, "0", high)
        note = "against the prediction / towards it"
    else:
        gradient = f"linear-gradient(to right,#fff,{orange})"
        ends = ("0", "max" if scale == "row" else f"{top:.3g}")
        note = "attention weight"
    where = "each row scaled to its own largest value" if scale == "row" else "one scale"
    labels = "".join(f"<span>{html.escape(e)}</span>" for e in ends)
    return (
        '<div class="skseqattn-legend" style="display:flex;align-items:center;gap:8px;'
        'margin-top:6px;font-size:12px;opacity:0.85">'
        f'<span style="display:inline-block;width:120px;height:10px;background:{gradient};'
        'border:1px solid #999"></span>'
        '<span style="display:inline-flex;justify-content:space-between;width:120px">'
        f"{labels}</span>"
        f"<span>{html.escape(note)} ({where})</span></div>"
    )


def _python_scalar(value):
    """A numpy scalar as the Python object it holds (``np.int64(1)`` -> ``1``)."""
    return value.item() if isinstance(value, np.generic) else value


def _import_pandas(caller):
    try:
        import pandas as pd
    except ImportError as exc:
        raise ImportError(
            f"{caller} needs pandas, which is not installed; install it with "
            "pip install 'skseqattn[pandas]' (or pip install pandas)."
        ) from exc
    return pd
