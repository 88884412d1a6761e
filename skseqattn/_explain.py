"""Explain predictions of an attention model: which tokens it looked at, and what it said.

:func:`explain` turns a fitted model and some sequences into one :class:`Explanation` per
sequence (its tokens, their attention weights, the predicted label and the class
probabilities), gathered in an :class:`Explanations` collection. Both print as aligned text
in a terminal, render as shaded HTML in a notebook and convert to a pandas DataFrame.
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


def explain(estimator, X, *, vectorizer=None, tokens=None):
    """Explain the predictions of a fitted attention model, one sequence at a time.

    Parameters
    ----------
    estimator : Pipeline or BiLSTMAttentionClassifier
        Either a fitted :class:`~sklearn.pipeline.Pipeline` of exactly a
        :class:`~skseqattn.CharSequenceVectorizer` followed by a
        :class:`~skseqattn.BiLSTMAttentionClassifier` (``'passthrough'`` steps are
        ignored), or a fitted classifier alone. The classifier must have been fitted with
        ``pooling='attention'``.
    X : iterable of str, or the classifier's input
        With a pipeline, or with a classifier and a `vectorizer`: the strings to explain.
        With a classifier alone, also what it takes: a 2-D array of token ids (padded with
        0 on either side), a list of id arrays, or real-valued sequences.
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
        If the pipeline has other steps, the classifier was not fitted with attention
        pooling, `vectorizer` is combined with a pipeline, or `tokens` does not match the
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
    n-grams, which attention does not show; fit with ``ngram_order=0`` for a model whose
    decision goes through attention alone.

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
    >>> len(explanations)
    2
    >>> first = explanations[0]
    >>> first.tokens
    ['x', 'a', 'b']
    >>> round(float(first.weights.sum()), 6)
    1.0
    >>> first.label in model.classes_, first.proba.shape
    (True, (2,))
    >>> explanations[1].tokens, explanations[1].unknown.tolist()
    (['c', '?', 'd'], [False, True, False])
    """
    vec, clf = _resolve_estimator(estimator, vectorizer)
    check_is_fitted(clf)
    if vec is not None:
        check_is_fitted(vec)
    pooling = getattr(getattr(clf, "module_", None), "pooling_name", clf.pooling)
    if pooling != "attention":
        raise ValueError(
            f"explain needs a {type(clf).__name__} fitted with pooling='attention', but this "
            f"one was fitted with pooling={pooling!r}, which gives the steps no weights; "
            "refit it with pooling='attention'."
        )

    strings = None
    if vec is not None and (estimator is not clf or _looks_like_strings(X)):
        strings = check_string_collection(X, estimator_name="explain")
        X_model = vec.transform(strings)
    else:
        X_model = X

    seqs, proba, step_weights = clf._predict_with_attention(X_model)
    kind = clf._input
    classes = clf.classes_

    n_samples = len(seqs)
    step_tokens = _step_tokens(seqs, kind, vec, strings)
    if tokens is not None:
        step_tokens = _check_tokens(tokens, seqs)
    separator = "" if vec is not None and vec.analyzer == "char" else " "

    items = []
    for i in range(n_samples):
        start, stop = seqs.offsets[i], seqs.offsets[i + 1]
        columns = seqs.positions[start:stop]
        row_weights = step_weights[start:stop]  # (n_tokens, heads)
        unknown = kind.unknown_steps(seqs.values[start:stop])
        if vec is not None:  # the vectorizer's own unknown id, whatever the model reads it as
            unknown = unknown | (seqs.values[start:stop] == UNK_ID)
        row_proba = proba[i]
        items.append(
            Explanation(
                tokens=step_tokens[i],
                weights=row_weights.mean(axis=1),
                label=_python_scalar(classes[int(np.argmax(row_proba))]),
                proba=row_proba,
                classes=classes,
                head_weights=row_weights if row_weights.shape[1] > 1 else None,
                unknown=unknown,
                columns=columns.copy(),
                separator=separator,
            )
        )
    return Explanations(items, classes=classes)


@dataclass(eq=False, repr=False)
class Explanation:
    """Why one sequence got its prediction: its tokens and their attention weights.

    Made by :func:`explain`; not meant to be built by hand.

    Attributes
    ----------
    tokens : list of str
        The tokens the classifier saw, padding excluded (see :func:`explain`, Notes).
    weights : ndarray of shape (n_tokens,)
        Attention weight of each token; they sum to 1 (an empty sequence has none). With
        several heads, the mean over the heads.
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
    """

    tokens: list
    weights: np.ndarray
    label: object
    proba: np.ndarray
    classes: np.ndarray
    head_weights: np.ndarray | None = None
    unknown: np.ndarray = field(default=None)
    columns: np.ndarray = field(default=None)
    separator: str = ""

    def __post_init__(self):
        if self.unknown is None:
            self.unknown = np.zeros(len(self.tokens), dtype=bool)
        if self.columns is None:
            self.columns = np.arange(len(self.tokens))

    @property
    def probability(self) -> float:
        """Probability of the predicted label."""
        return float(np.max(self.proba)) if len(self.proba) else float("nan")

    @property
    def text(self) -> str:
        """The tokens joined back into text."""
        return self.separator.join(self.tokens)

    def top(self, k=3):
        """The `k` tokens with the largest weights, largest first.

        Parameters
        ----------
        k : int, default=3
            How many tokens to return (fewer if the sequence is shorter).

        Returns
        -------
        top : list of (int, str, float)
            ``(index, token, weight)`` of each; ties keep the order of the sequence.
        """
        order = np.argsort(-self.weights, kind="stable")[: max(int(k), 0)]
        return [(int(i), self.tokens[i], float(self.weights[i])) for i in order]

    def to_frame(self):
        """One row per token, as a pandas DataFrame.

        Returns
        -------
        frame : pandas.DataFrame
            Columns ``position`` (index of the token), ``column`` (its column in the id
            matrix), ``token``, ``weight``, ``head_0``, ``head_1``, ... (with several
            heads) and ``unknown``.
        """
        pd = _import_pandas("Explanation.to_frame")
        return pd.DataFrame(self._columns_dict())

    def _columns_dict(self):
        data = {
            "position": np.arange(len(self.tokens)),
            "column": np.asarray(self.columns, dtype=np.int64),
            "token": list(self.tokens),
            "weight": np.asarray(self.weights, dtype=np.float64),
        }
        if self.head_weights is not None:
            for h in range(self.head_weights.shape[1]):
                data[f"head_{h}"] = self.head_weights[:, h]
        data["unknown"] = np.asarray(self.unknown, dtype=bool)
        return data

    def _headline(self):
        return f"{self.text!r} -> {self.label!r} (p={self.probability:.3f})"

    def _token_table(self, indent="  "):
        return _text_table(self.tokens, self.weights, indent=indent)

    def __repr__(self):
        return f"Explanation {self._headline()}\n{self._token_table()}"

    def _html_tokens(self):
        if not self.tokens:
            return '<span style="opacity:0.6">(empty)</span>'
        top = float(np.max(self.weights)) if len(self.weights) else 0.0
        spans = []
        for token, weight, unknown in zip(self.tokens, self.weights, self.unknown):
            spans.append(_html_token(token, float(weight), top, bool(unknown)))
        joiner = "" if self.separator == "" else " "
        return joiner.join(spans)

    def _repr_html_(self):
        label = html.escape(str(self.label), quote=True)
        return (
            '<div class="skseqattn-explanation" style="font-family:monospace;'
            'line-height:1.9">'
            f"<b>{label}</b> "
            f'<span style="opacity:0.7">p={self.probability:.3f}</span>&ensp;'
            f"{self._html_tokens()}</div>"
        )


class Explanations(Sequence):
    """The explanations of several sequences, in the order they were given.

    A read-only sequence of :class:`Explanation` (index it, slice it, iterate over it)
    made by :func:`explain`. In a terminal it prints each sequence's tokens above their
    weights; in a notebook it renders as a table that shades each token by its weight.

    Parameters
    ----------
    explanations : list of Explanation
    classes : ndarray of shape (n_classes,)
        The classifier's ``classes_``.

    Attributes
    ----------
    classes : ndarray of shape (n_classes,)
    """

    def __init__(self, explanations, *, classes):
        self._items = list(explanations)
        self.classes = classes

    def __len__(self):
        return len(self._items)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return Explanations(self._items[index], classes=self.classes)
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
            Columns ``sequence`` (index into this collection), ``position``,
            ``column``, ``token``, ``weight``, ``head_0``, ... (with several heads),
            ``unknown``, ``label`` (the sequence's prediction) and ``probability`` (of
            that prediction). A sequence without tokens has no rows.
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
            return pd.DataFrame(
                columns=["sequence", "position", "column", "token", "weight", "unknown"]
                + ["label", "probability"]
            )
        return pd.concat(frames, ignore_index=True)

    def __repr__(self):
        n = len(self._items)
        lines = [f"Explanations of {n} sequence{'s' if n != 1 else ''}"]
        for i, item in enumerate(self._items[:_REPR_MAX_SEQUENCES]):
            lines.append(f"[{i}] {item._headline()}")
            lines.append(item._token_table())
        if n > _REPR_MAX_SEQUENCES:
            lines.append(f"... and {n - _REPR_MAX_SEQUENCES} more; index or iterate to see them")
        return "\n".join(lines)

    def to_html(self, max_rows=_HTML_MAX_ROWS):
        """An HTML table with one row per sequence, each token shaded by its weight.

        Parameters
        ----------
        max_rows : int or None, default=50
            Show at most this many sequences (None: all).

        Returns
        -------
        html : str
            Shading is relative to each sequence's largest weight; hover a token for its
            exact weight. Tokens and labels are HTML-escaped.
        """
        items = self._items if max_rows is None else self._items[: int(max_rows)]
        cell = 'style="text-align:left;padding:2px 8px"'
        rows = [
            f"<tr><th {cell}>#</th><th {cell}>prediction</th><th {cell}>p</th>"
            f"<th {cell}>attention</th></tr>"
        ]
        for i, item in enumerate(items):
            label = html.escape(str(item.label), quote=True)
            rows.append(
                f"<tr><td {cell}>{i}</td><td {cell}><b>{label}</b></td>"
                f"<td {cell}>{item.probability:.3f}</td>"
                f'<td {cell}><span style="font-family:monospace">{item._html_tokens()}'
                "</span></td></tr>"
            )
        more = ""
        if len(items) < len(self._items):
            more = f"<p>... and {len(self._items) - len(items)} more sequences</p>"
        return (
            '<div class="skseqattn-explanations"><table style="line-height:1.9">'
            + "".join(rows)
            + "</table>"
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


def _text_table(tokens, weights, *, indent="  ", width=_REPR_LINE_WIDTH):
    """Tokens above their weights, aligned, wrapped at `width` characters."""
    if not tokens:
        return f"{indent}(no tokens)"
    shown = [_display_token(t) for t in tokens[:_REPR_MAX_TOKENS]]
    cells = [f"{float(w):.2f}" for w in weights[:_REPR_MAX_TOKENS]]
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


def _html_token(token, weight, top, unknown):
    alpha = weight / top if top > 0 else 0.0
    r, g, b = _SHADE_RGB
    text = html.escape(token, quote=True)
    if token.isspace():
        text = "&nbsp;" * len(token)
    title = f"{token!r}: {weight:.4f}" + (" (unknown to the vocabulary)" if unknown else "")
    style = f"background:rgba({r},{g},{b},{alpha:.3f});padding:1px 0;border-radius:2px"
    if alpha > 0.6:
        style += ";color:#fff"
    if unknown:
        style += ";text-decoration:underline dotted"
    return f'<span title="{html.escape(title, quote=True)}" style="{style}">{text}</span>'


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
