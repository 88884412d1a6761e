"""The n-gram table refitted in closed form and mixed into the trained network.

Trained by Adam beside the recurrent part, the hashed n-gram table
(:class:`~skseqattn.nn.HashedNgramLinear`) stops when the network's validation loss does,
long before it is the L2-regularised logistic regression over the same n-grams that makes
TF-IDF + logistic regression strong on sentences. After training, :func:`refit_ngrams`
fits that logistic regression (scikit-learn's LBFGS solver) on the training rows, over the
very features the table reads (each n-gram's count divided by the square root of the row's
number of n-grams), and mixes it into the network as

    logits = a * network + b * (features @ coef.T + intercept)

with ``(a, b)`` chosen on a grid by the validation loss. The mixture is folded into the
module's own weights (the head and its bias scaled by ``a``, the table scaled by ``a`` plus
``b * coef.T / gain``), so nothing new is stored: predictions, explanations (the n-gram
part's share is exact as before), save/load and ONNX export are those of the plain module.
``(a, b) = (1, 0)`` is on the grid, so a network the regression cannot help is kept as it
was.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch

REFIT_C = 10.0
"""Inverse L2 strength of the refitted regression, that of the TF-IDF baseline of #28."""

NETWORK_SCALES = (0.5, 0.75, 1.0, 1.25, 1.5)
"""The grid of ``a``: the network's logits times this."""

REGRESSION_SCALES = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0)
"""The grid of ``b``: the regression's logits times this."""

_CHUNK = 2048  # rows per pass when collecting n-gram features


def ngram_features(ngrams, sequences):
    """The table's features of every row, a scipy CSR matrix (n_samples, buckets), float64.

    Entry ``(i, j)`` is the number of row ``i``'s n-grams hashed to bucket ``j`` divided by
    the square root of the row's number of n-grams, so that
    ``gain * features @ table == ngrams(X, lengths)``.
    """
    import scipy.sparse as sp

    n = len(sequences)
    rows, cols, counts = [], [], np.zeros(n, dtype=np.float64)
    order = np.argsort(sequences.lengths, kind="stable")  # similar widths per chunk
    with torch.no_grad():
        for start in range(0, n, _CHUNK):
            idx = order[start : start + _CHUNK]
            X, lengths = sequences.pad(idx)
            ids, valid = ngrams.ngram_ids(torch.as_tensor(X), torch.as_tensor(lengths))
            ids = ids.reshape(len(idx), -1).numpy()
            valid = valid.reshape(len(idx), -1).numpy()
            r, c = np.nonzero(valid)
            rows.append(idx[r])
            cols.append(ids[r, c])
            counts[idx] = valid.sum(axis=1)
    rows = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
    cols = np.concatenate(cols) if cols else np.zeros(0, dtype=np.int64)
    scale = 1.0 / np.sqrt(np.maximum(counts, 1.0))
    matrix = sp.csr_matrix((scale[rows], (rows, cols)), shape=(n, ngrams.buckets), dtype=np.float64)
    matrix.sum_duplicates()
    return matrix


def fit_regression(features, y, n_classes, sample_weight=None, *, C=REFIT_C):
    """Multinomial L2 logistic regression: ``coef`` (n_classes, buckets), ``intercept``.

    Classes are ``0 .. n_classes - 1``; a class absent from ``y`` gets a zero row and a
    very low intercept. Two classes give the symmetric pair ``(-w / 2, w / 2)``.
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    present = np.unique(y)
    coef = np.zeros((n_classes, features.shape[1]))
    intercept = np.full(n_classes, -30.0)
    if len(present) < 2:
        intercept[present] = 0.0
        return coef, intercept
    model = LogisticRegression(C=C, max_iter=300, tol=1e-3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(features, y, sample_weight=sample_weight)
    if len(present) == 2:
        w, b = model.coef_[0] / 2, model.intercept_[0] / 2
        coef[present[0]], coef[present[1]] = -w, w
        intercept[present[0]], intercept[present[1]] = -b, b
    else:
        coef[present] = model.coef_
        intercept[present] = model.intercept_
    return coef, intercept


def choose_mixture(network, regression, y, sample_weight=None, offset=None):
    """``(a, b)`` of the grid with the lowest weighted cross-entropy of ``a*net + b*reg``.

    ``offset`` (the logit adjustment) is added as in the training loss. Ties go to the
    first on the grid in the order (b, then a closest to 1), so ``(1, 0)`` wins a tie.
    """
    weights = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, float)
    best, best_loss = (1.0, 0.0), np.inf
    for b in REGRESSION_SCALES:
        for a in sorted(NETWORK_SCALES, key=lambda s: abs(s - 1.0)):
            z = a * network + b * regression
            if offset is not None:
                z = z + offset
            z = z - z.max(axis=1, keepdims=True)
            log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
            loss = -(weights * log_p[np.arange(len(y)), y]).sum() / max(weights.sum(), 1e-12)
            if loss < best_loss - 1e-9:
                best, best_loss = (a, b), loss
    return best


def fold_mixture(module, a, b, coef, intercept):
    """Make ``module`` compute ``a * module + b * (features @ coef.T + intercept)``."""
    ngrams = module.ngrams
    with torch.no_grad():
        head = module.head
        head.weight.mul_(a)
        head.bias.mul_(a).add_(torch.as_tensor(b * intercept, dtype=head.bias.dtype))
        table = ngrams.table.weight
        table.mul_(a).add_(torch.as_tensor(b * coef.T / ngrams.gain, dtype=table.dtype))


def refit_ngrams(net, train, valid, *, y_train, y_valid, w_train, w_valid, offset, C=REFIT_C):
    """Refit the n-gram table in closed form and mix it in (see the module's docstring).

    ``train`` and ``valid`` are the :class:`~skseqattn._sequences.RaggedSequences` of the
    training and validation rows (``valid`` None: the mixture is ``(1, 1)``, the plain sum).
    Returns ``(a, b)``.
    """
    module = net.module_
    n_classes = module.head.out_features
    features = ngram_features(module.ngrams, train)
    coef, intercept = fit_regression(features, y_train, n_classes, w_train, C=C)
    if valid is None or not len(valid):
        a, b = 1.0, 1.0
    else:
        network = net.predict_sequences(valid)[0]
        regression = ngram_features(module.ngrams, valid) @ coef.T + intercept
        a, b = choose_mixture(network, regression, y_valid, w_valid, offset)
    if (a, b) != (1.0, 0.0):
        fold_mixture(module, a, b, coef, intercept)
    return a, b
