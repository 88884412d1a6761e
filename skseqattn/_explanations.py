"""What :func:`~skseqattn.explain` returns: one :class:`Explanation` per sequence, and
:class:`Explanations`, their collection; each prints as aligned text in a terminal, renders
as shaded HTML in a notebook and converts to a pandas DataFrame.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Explanation", "Explanations"]

_REPR_MAX_SEQUENCES = 10
_REPR_MAX_TOKENS = 200
_REPR_LINE_WIDTH = 100
_HTML_MAX_ROWS = 50
_SHADE_RGB = (230, 85, 13)  # an orange that reads on light and dark backgrounds
_NEGATIVE_RGB = (33, 113, 181)  # a blue, the other end of the diverging scale
_HTML_FONT_PX = 15
SCALES = ("shared", "row")
_TITLES = {
    "attention": "method: attention - weight of each token in the recurrent part's "
    "attention (the n-gram term is not shown)",
    "contributions": "method: contributions - signed share of each token in the predicted "
    "class's score (baseline + tokens = score)",
}


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
        term, ``'ngrams'``, with the series branch, ``'rocket'``.
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
