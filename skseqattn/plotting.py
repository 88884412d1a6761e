"""Plots of what a model attends to and of how its training went.

Both classes follow scikit-learn's Display convention (see
:class:`sklearn.metrics.ConfusionMatrixDisplay`): build one with ``from_estimator`` (or from
the data it needs), which also plots it; call :meth:`plot` again to draw it elsewhere; read
the matplotlib objects from the attributes ending in ``_``. matplotlib is an optional
dependency (``pip install 'skseqattn[plot]'``), imported only when something is drawn.
"""

from __future__ import annotations

import numpy as np

__all__ = ["AttentionDisplay", "TrainingCurveDisplay"]

_VISIBLE_SPACE = "\u2423"  # OPEN BOX
_METHODS = ("attention", "contributions")
_TITLES = {
    "attention": "method: attention (weights of the recurrent part; n-grams not shown)",
    "contributions": "method: contributions (signed, to the predicted class's score)",
}
_VALUE_NAMES = {"attention": "attention weight", "contributions": "contribution"}
# the colours of the HTML explanations: blue against the prediction, orange towards it
_DIVERGING = ((33 / 255, 113 / 255, 181 / 255), (1.0, 1.0, 1.0), (230 / 255, 85 / 255, 13 / 255))


class AttentionDisplay:
    """Explanation heatmap: one row per sequence, one cell per token, shaded by its value.

    The value is the token's attention weight (``method='attention'``, a sequential
    colour map from 0) or its signed contribution to the predicted class's score
    (``method='contributions'``, a diverging map centred on 0: orange towards the
    prediction, blue against it); the title names the method. Each cell holds its token
    written in it; each row is labelled with the predicted class and its probability (and
    the true class, when given). Build it with :meth:`from_estimator` or
    :meth:`from_explanations`; both plot it.

    Parameters
    ----------
    tokens : list of list of str
        The tokens of each sequence.
    weights : list of array-like
        The value of each token, ``weights[i]`` aligned with ``tokens[i]``: attention
        weights, or contributions with ``method='contributions'``.
    labels : list, default=None
        Predicted label of each sequence.
    probabilities : array-like of shape (n_sequences,), default=None
        Probability of each predicted label.
    true_labels : array-like of shape (n_sequences,), default=None
        True label of each sequence; rows whose prediction differs are labelled in red.
    method : {'attention', 'contributions'}, default='attention'
        What `weights` holds; it sets the colour map, its range and the title.

    Attributes
    ----------
    im_ : matplotlib.image.AxesImage
        The heatmap.
    text_ : ndarray of shape (n_sequences, width), dtype=object
        The :class:`~matplotlib.text.Text` of each cell, None where a row has no token (or
        when `show_tokens` is False).
    colorbar_ : matplotlib.colorbar.Colorbar or None
        The colour bar, if drawn.
    ax_ : matplotlib.axes.Axes
        The axes of the heatmap.
    figure_ : matplotlib.figure.Figure
        The figure holding it.

    See Also
    --------
    skseqattn.explain : The same information as text, HTML or a DataFrame.
    TrainingCurveDisplay : Loss and accuracy per epoch.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from skseqattn.plotting import AttentionDisplay
    >>> display = AttentionDisplay(
    ...     tokens=[list("Nakamura"), list("Novak")],
    ...     weights=[[.05, .05, .1, .1, .1, .2, .2, .2], [.1, .1, .2, .3, .3]],
    ...     labels=["Japanese", "Czech"], probabilities=[0.97, 0.64],
    ... ).plot()
    >>> display.im_.get_array().shape
    (2, 8)
    >>> [t.get_text() for t in display.ax_.get_yticklabels()]
    ['Japanese (0.97)', 'Czech (0.64)']
    >>> import matplotlib.pyplot as plt
    >>> plt.close("all")
    """

    def __init__(
        self,
        tokens,
        weights,
        *,
        labels=None,
        probabilities=None,
        true_labels=None,
        method="attention",
    ):
        self.tokens = tokens
        self.weights = weights
        self.labels = labels
        self.probabilities = probabilities
        self.true_labels = true_labels
        self.method = method

    @classmethod
    def from_estimator(
        cls,
        estimator,
        X,
        y=None,
        *,
        method="auto",
        vectorizer=None,
        tokens=None,
        head=None,
        ax=None,
        cmap=None,
        vmax=None,
        colorbar=True,
        show_tokens=True,
        text_kw=None,
        imshow_kw=None,
    ):
        """Explain `X` with a fitted model and plot the heatmap.

        Parameters
        ----------
        estimator : Pipeline or BiLSTMAttentionClassifier
            A fitted Pipeline of CharSequenceVectorizer and BiLSTMAttentionClassifier, or
            the classifier alone; see :func:`~skseqattn.explain`.
        X : iterable of str, or the classifier's input
            The sequences, one row each; keep it to a handful for a readable plot.
        y : array-like of shape (n_sequences,), default=None
            True labels, written beside the predictions.
        method : {'auto', 'contributions', 'attention'}, default='auto'
            Passed to :func:`~skseqattn.explain`: 'auto' shows contributions for a model
            with an n-gram term (the default) or without attention pooling.
        vectorizer, tokens
            Passed to :func:`~skseqattn.explain`.
        head : int, default=None
            With several attention heads, plot this head's weights instead of their mean.
        ax, cmap, vmax, colorbar, show_tokens, text_kw, imshow_kw
            Passed to :meth:`plot`.

        Returns
        -------
        display : AttentionDisplay
        """
        from ._explain import explain

        explanations = explain(estimator, X, method=method, vectorizer=vectorizer, tokens=tokens)
        return cls.from_explanations(
            explanations,
            y,
            head=head,
            ax=ax,
            cmap=cmap,
            vmax=vmax,
            colorbar=colorbar,
            show_tokens=show_tokens,
            text_kw=text_kw,
            imshow_kw=imshow_kw,
        )

    @classmethod
    def from_explanations(
        cls,
        explanations,
        y=None,
        *,
        head=None,
        ax=None,
        cmap=None,
        vmax=None,
        colorbar=True,
        show_tokens=True,
        text_kw=None,
        imshow_kw=None,
    ):
        """Plot the heatmap of explanations made by :func:`~skseqattn.explain`.

        Parameters
        ----------
        explanations : Explanations or list of Explanation
            Their method (contributions or attention) is the display's.
        y : array-like of shape (n_sequences,), default=None
            True labels, written beside the predictions.
        head : int, default=None
            With several attention heads, plot this head's weights instead of their mean
            (attention only).
        ax, cmap, vmax, colorbar, show_tokens, text_kw, imshow_kw
            Passed to :meth:`plot`.

        Returns
        -------
        display : AttentionDisplay
        """
        items = list(explanations)
        if y is not None and len(y) != len(items):
            raise ValueError(
                f"AttentionDisplay got {len(y)} true labels for {len(items)} sequences; pass "
                "one label per sequence, or y=None."
            )
        methods = {getattr(item, "method", "attention") for item in items}
        method = getattr(explanations, "method", None) or (
            methods.pop() if len(methods) == 1 else "attention"
        )
        if len(methods) > 1:
            raise ValueError(
                f"AttentionDisplay got explanations of several methods {sorted(methods)}; "
                "plot the explanations of one method at a time."
            )
        if head is not None and method != "attention":
            raise ValueError(
                f"AttentionDisplay got head={head} for explanations by {method!r}, which have "
                "no heads; pass head=None, or explain with method='attention'."
            )
        weights = []
        for i, item in enumerate(items):
            if head is None:
                weights.append(np.asarray(item.values))
                continue
            heads = item.head_weights
            n_heads = 1 if heads is None else heads.shape[1]
            if not 0 <= int(head) < n_heads:
                raise ValueError(
                    f"AttentionDisplay got head={head}, but sequence {i} has {n_heads} "
                    f"attention head(s); pass head in [0, {n_heads}) or head=None for the "
                    "mean over heads."
                )
            weights.append(np.asarray(item.weights if heads is None else heads[:, int(head)]))
        display = cls(
            tokens=[list(item.tokens) for item in items],
            weights=weights,
            labels=[item.label for item in items],
            probabilities=[item.probability for item in items],
            true_labels=None if y is None else list(y),
            method=method,
        )
        return display.plot(
            ax=ax,
            cmap=cmap,
            vmax=vmax,
            colorbar=colorbar,
            show_tokens=show_tokens,
            text_kw=text_kw,
            imshow_kw=imshow_kw,
        )

    def plot(
        self,
        ax=None,
        *,
        cmap=None,
        vmax=None,
        colorbar=True,
        show_tokens=True,
        text_kw=None,
        imshow_kw=None,
    ):
        """Draw the heatmap.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Where to draw; None makes a new figure sized to the number and length of the
            sequences.
        cmap : str or matplotlib Colormap, default=None
            Colour map of the values; cells past the end of a row are left blank. None is
            ``'Oranges'`` for attention and a blue-white-orange diverging map (the HTML
            explanations' colours) for contributions.
        vmax : float, default=None
            Value of the darkest colour; None is the largest (absolute) value shown, so
            that the colours compare across rows (the colour bar gives the scale).
            Contributions use the range ``[-vmax, vmax]``, centred on 0.
        colorbar : bool, default=True
            Draw a colour bar.
        show_tokens : bool, default=True
            Write each token in its cell (in white on dark cells).
        text_kw : dict, default=None
            Passed to :meth:`matplotlib.axes.Axes.text` for the tokens.
        imshow_kw : dict, default=None
            Passed to :meth:`matplotlib.axes.Axes.imshow`.

        Returns
        -------
        display : AttentionDisplay
            This object, with `im_`, `text_`, `colorbar_`, `ax_` and `figure_` set.
        """
        method = self.method
        if not (isinstance(method, str) and method in _METHODS):
            raise ValueError(
                f"AttentionDisplay expected method to be one of {_METHODS}, got {method!r}; "
                "use the method the explanations were made with."
            )
        plt = _import_pyplot("AttentionDisplay.plot")
        tokens, matrix = self._matrix()
        n_rows, width = matrix.shape
        if ax is None:
            longest = max((len(t) for row in tokens for t in row), default=1)
            cell_w = 0.3 if longest <= 2 else 0.15 + 0.09 * longest
            label_w = 0.08 * max((len(s) for s in self._row_labels()), default=0)
            fig_w = min(max(3.0, 0.6 + label_w + cell_w * width + (1.0 if colorbar else 0)), 20)
            fig_h = min(max(1.6, 0.8 + 0.34 * n_rows), 20)
            _, ax = plt.subplots(figsize=(fig_w, fig_h), layout="constrained")
        fig = ax.figure

        finite = np.abs(matrix[np.isfinite(matrix)])
        top = float(vmax) if vmax is not None else (float(finite.max()) if finite.size else 1.0)
        top = top if top > 0 else 1.0
        signed = method == "contributions"
        if cmap is None and signed:
            from matplotlib.colors import LinearSegmentedColormap

            cmap = LinearSegmentedColormap.from_list("skseqattn_diverging", _DIVERGING)
        colormap = plt.get_cmap(cmap or "Oranges").with_extremes(bad=(0, 0, 0, 0))
        low = -top if signed else 0.0
        kwargs = {"cmap": colormap, "vmin": low, "vmax": top, "aspect": "auto"}
        kwargs["interpolation"] = "nearest"
        kwargs.update(imshow_kw or {})
        self.im_ = ax.imshow(np.ma.masked_invalid(matrix), **kwargs)

        self.text_ = np.full((n_rows, width), None, dtype=object)
        if show_tokens:
            norm = self.im_.norm
            for i, row in enumerate(tokens):
                for j, token in enumerate(row):
                    shade = float(norm(matrix[i, j]))
                    dark = abs(shade - 0.5) > 0.3 if signed else shade > 0.55
                    options = {
                        "ha": "center",
                        "va": "center",
                        "color": "white" if dark else "black",
                        "fontsize": "medium" if len(token) <= 2 else "small",
                        "parse_math": False,
                    }
                    options.update(text_kw or {})
                    self.text_[i, j] = ax.text(j, i, _visible(token), **options)

        ax.set_yticks(np.arange(n_rows), self._row_labels())
        for tick, wrong in zip(ax.get_yticklabels(), self._wrong_rows()):
            tick.set_parse_math(False)
            if wrong:
                tick.set_color("tab:red")
        ax.set_xticks([])
        ax.set_xticks(np.arange(-0.5, width, 1), minor=True)
        ax.set_yticks(np.arange(-0.5, n_rows, 1), minor=True)
        ax.grid(which="minor", color="white", linewidth=1.5)
        ax.tick_params(which="minor", length=0)
        ax.tick_params(axis="y", length=0)
        for spine in ax.spines.values():
            spine.set_visible(False)
        name = _VALUE_NAMES[method]
        ax.set_xlabel(f"tokens, shaded by {name}")
        ax.set_title(_TITLES[method], fontsize="medium")

        self.colorbar_ = None
        if colorbar:
            label = "contribution to the score" if signed else name
            self.colorbar_ = fig.colorbar(self.im_, ax=ax, label=label)
        self.ax_ = ax
        self.figure_ = fig
        return self

    # -- helpers

    def _matrix(self):
        tokens = [list(row) for row in self.tokens]
        weights = [np.asarray(w, dtype=np.float64).ravel() for w in self.weights]
        if len(tokens) != len(weights):
            raise ValueError(
                f"AttentionDisplay got tokens for {len(tokens)} sequences but weights for "
                f"{len(weights)}; give both for the same sequences."
            )
        if not tokens:
            raise ValueError(
                "AttentionDisplay got no sequences to plot; pass at least one sequence."
            )
        for i, (row, w) in enumerate(zip(tokens, weights)):
            if len(row) != len(w):
                raise ValueError(
                    f"AttentionDisplay got {len(row)} tokens but {len(w)} weights for "
                    f"sequence {i}; each token needs exactly one weight."
                )
        width = max(1, max(len(row) for row in tokens))
        matrix = np.full((len(tokens), width), np.nan)
        for i, w in enumerate(weights):
            matrix[i, : len(w)] = w
        return tokens, matrix

    def _row_labels(self):
        n = len(self.tokens)
        labels = list(self.labels) if self.labels is not None else [None] * n
        probs = list(self.probabilities) if self.probabilities is not None else [None] * n
        trues = list(self.true_labels) if self.true_labels is not None else [None] * n
        out = []
        for label, p, true in zip(labels, probs, trues):
            text = "" if label is None else str(label)
            if p is not None:
                text = f"{text} ({float(p):.2f})" if text else f"p={float(p):.2f}"
            if true is not None:
                text = f"{text}, true: {true}" if text else f"true: {true}"
            out.append(text)
        return out

    def _wrong_rows(self):
        if self.true_labels is None or self.labels is None:
            return [False] * len(self.tokens)
        return [str(a) != str(b) for a, b in zip(self.labels, self.true_labels)]


class TrainingCurveDisplay:
    """Loss and accuracy per epoch, on the training and the validation data.

    One panel for the loss and, when the history records it, one for the accuracy; a
    dashed line marks the epoch whose weights early stopping restored. Build it with
    :meth:`from_estimator` or :meth:`from_history`; both plot it.

    Parameters
    ----------
    epochs : array-like of shape (n_epochs,)
        Epoch numbers.
    train_loss : array-like of shape (n_epochs,)
    valid_loss, train_acc, valid_acc : array-like of shape (n_epochs,), default=None
        Missing values (NaN) are left out of the lines.
    best_epoch : int, default=None
        The epoch restored by early stopping.

    Attributes
    ----------
    lines_ : dict of str to matplotlib.lines.Line2D
        The drawn lines, keyed ``'train_loss'``, ``'valid_loss'``, ``'train_acc'``,
        ``'valid_acc'`` (only those with data).
    ax_ : ndarray of matplotlib Axes, shape (n_panels,)
        The loss axes, then the accuracy axes when drawn; ``ax_[0]`` is the loss.
    figure_ : matplotlib.figure.Figure

    See Also
    --------
    AttentionDisplay : What the trained model attends to.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from skseqattn.plotting import TrainingCurveDisplay
    >>> history = [
    ...     {"epoch": 1, "train_loss": 0.9, "valid_loss": 0.8, "train_acc": 0.5, "valid_acc": 0.6},
    ...     {"epoch": 2, "train_loss": 0.6, "valid_loss": 0.7, "train_acc": 0.7, "valid_acc": 0.7},
    ... ]
    >>> display = TrainingCurveDisplay.from_history(history, best_epoch=2)
    >>> sorted(display.lines_)
    ['train_acc', 'train_loss', 'valid_acc', 'valid_loss']
    >>> display.ax_.shape
    (2,)
    >>> import matplotlib.pyplot as plt
    >>> plt.close("all")
    """

    _KEYS = ("train_loss", "valid_loss", "train_acc", "valid_acc")

    def __init__(
        self,
        *,
        epochs,
        train_loss,
        valid_loss=None,
        train_acc=None,
        valid_acc=None,
        best_epoch=None,
    ):
        self.epochs = epochs
        self.train_loss = train_loss
        self.valid_loss = valid_loss
        self.train_acc = train_acc
        self.valid_acc = valid_acc
        self.best_epoch = best_epoch

    @classmethod
    def from_estimator(cls, estimator, *, ax=None, loss_kw=None):
        """Plot the training history of a fitted classifier (or a pipeline ending in one).

        Parameters
        ----------
        estimator : BiLSTMAttentionClassifier or Pipeline
            Fitted; its (last step's) ``history_`` and ``best_epoch_`` are plotted.
        ax, loss_kw
            Passed to :meth:`plot`.

        Returns
        -------
        display : TrainingCurveDisplay
        """
        from sklearn.utils.validation import check_is_fitted

        final = estimator
        steps = getattr(estimator, "steps", None)
        if steps:
            final = steps[-1][1]
        check_is_fitted(final)
        history = getattr(final, "history_", None)
        if history is None:
            raise TypeError(
                f"TrainingCurveDisplay expected a fitted BiLSTMAttentionClassifier (or a "
                f"Pipeline ending in one) with a history_, got {type(final).__name__}, which "
                "has none; use TrainingCurveDisplay.from_history for other histories."
            )
        return cls.from_history(
            history, best_epoch=getattr(final, "best_epoch_", None), ax=ax, loss_kw=loss_kw
        )

    @classmethod
    def from_history(cls, history, *, best_epoch=None, ax=None, loss_kw=None):
        """Plot a skorch ``History`` (or any list of per-epoch dicts).

        Parameters
        ----------
        history : skorch.History or list of dict
            One dict per epoch, with ``'train_loss'`` and optionally ``'epoch'``,
            ``'valid_loss'``, ``'train_acc'`` and ``'valid_acc'``.
        best_epoch : int, default=None
            Epoch to mark as restored by early stopping.
        ax, loss_kw
            Passed to :meth:`plot`.

        Returns
        -------
        display : TrainingCurveDisplay
        """
        rows = list(history)
        if not rows:
            raise ValueError(
                "TrainingCurveDisplay got an empty history; fit the estimator for at least "
                "one epoch first."
            )
        if not all(isinstance(row, dict) for row in rows):
            raise TypeError(
                "TrainingCurveDisplay expected a history of per-epoch dicts (a skorch "
                f"History), got items of type {type(rows[0]).__name__}; pass "
                "estimator.history_."
            )
        if not any("train_loss" in row for row in rows):
            raise ValueError(
                "TrainingCurveDisplay found no 'train_loss' in the history (keys: "
                f"{sorted(rows[0])}); pass the history_ of a fitted classifier."
            )
        columns = {
            key: np.array([_number(row.get(key)) for row in rows], dtype=np.float64)
            for key in cls._KEYS
        }
        epochs = np.array([row.get("epoch", i + 1) for i, row in enumerate(rows)])
        display = cls(
            epochs=epochs,
            **{k: (v if np.isfinite(v).any() else None) for k, v in columns.items()},
            best_epoch=best_epoch,
        )
        return display.plot(ax=ax, loss_kw=loss_kw)

    def plot(self, ax=None, *, loss_kw=None):
        """Draw the curves.

        Parameters
        ----------
        ax : matplotlib Axes or sequence of Axes, default=None
            Where to draw: one Axes per panel (loss, then accuracy when there is any).
            A single Axes is accepted when there is only the loss panel. None makes a new
            figure with the panels side by side.
        loss_kw : dict, default=None
            Passed to :meth:`matplotlib.axes.Axes.plot` for every line.

        Returns
        -------
        display : TrainingCurveDisplay
            This object, with `lines_`, `ax_` and `figure_` set.
        """
        plt = _import_pyplot("TrainingCurveDisplay.plot")
        from matplotlib.ticker import MaxNLocator

        series = {key: getattr(self, key) for key in self._KEYS}
        series = {k: np.asarray(v, dtype=np.float64) for k, v in series.items() if v is not None}
        if "train_loss" not in series and "valid_loss" not in series:
            raise ValueError(
                "TrainingCurveDisplay has no loss to plot; give train_loss (and valid_loss)."
            )
        panels = [("loss", ("train_loss", "valid_loss"))]
        if "train_acc" in series or "valid_acc" in series:
            panels.append(("accuracy", ("train_acc", "valid_acc")))

        if ax is None:
            _, axes = plt.subplots(
                1, len(panels), figsize=(4.5 * len(panels), 3.2), layout="constrained"
            )
            axes = np.atleast_1d(axes)
        else:
            axes = np.atleast_1d(np.asarray(ax, dtype=object)).ravel()
            if len(axes) != len(panels):
                names = " and ".join(name for name, _ in panels)
                raise ValueError(
                    f"TrainingCurveDisplay draws {len(panels)} panel(s) ({names}) but got "
                    f"{len(axes)} Axes; pass one Axes per panel, e.g. "
                    f"plt.subplots(1, {len(panels)})[1], or ax=None."
                )

        epochs = np.asarray(self.epochs)
        self.lines_ = {}
        for axis, (name, keys) in zip(axes, panels):
            for key in keys:
                if key not in series:
                    continue
                values = series[key]
                keep = np.isfinite(values)
                style = {"marker": "o", "markersize": 3}
                style.update(loss_kw or {})
                phase = "training" if key.startswith("train") else "validation"
                (self.lines_[key],) = axis.plot(
                    epochs[keep], values[keep], label=phase, linestyle="-", **style
                )
            if self.best_epoch is not None:
                axis.axvline(
                    self.best_epoch, color="0.4", linestyle="--", linewidth=1, label="best epoch"
                )
            axis.set_xlabel("epoch")
            axis.set_ylabel(name)
            axis.xaxis.set_major_locator(MaxNLocator(integer=True))
            axis.grid(alpha=0.3)
            axis.legend(fontsize="small")
        self.ax_ = axes
        self.figure_ = axes[0].figure
        return self


def _number(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return np.nan


def _visible(token):
    if token.isspace():
        return _VISIBLE_SPACE * len(token)
    return token


def _import_pyplot(caller):
    """``matplotlib.pyplot``, or an ImportError that names the extra to install."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            f"{caller} needs matplotlib, which is not installed; install it with "
            "pip install 'skseqattn[plot]' (or pip install matplotlib)."
        ) from exc
    return plt
