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

from collections.abc import Sequence

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ._classifier import BiLSTMAttentionClassifier
from ._explanations import Explanation, Explanations, _python_scalar
from ._ids import PAD_ID, UNK_ID
from ._inputs import TokenInput
from ._validation import check_string_collection
from ._vectorizer import CharSequenceVectorizer

__all__ = ["Explanation", "Explanations", "explain"]

METHODS = ("auto", "attention", "contributions")


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
        # a linear partner (n-grams, series branch) is part of the score attention misses
        linear = any(getattr(module, part, None) is not None for part in ("ngrams", "rocket"))
        method = "contributions" if linear or pooling != "attention" else "attention"
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
