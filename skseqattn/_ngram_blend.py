"""A convex linear model on the n-gram table's features, blended into the fitted network.

The hashed n-gram table (:class:`~skseqattn.nn.HashedNgramLinear`) is trained with the
recurrent part, by the same optimizer, for the few epochs the recurrent part needs. On
sentences that leaves it well short of what a regularised linear model over the same
n-grams reaches (TF-IDF + logistic regression; NB-SVM, Wang and Manning, 2012). After the
network is trained, :func:`blend_ngram_model` fits such a model, L2-regularised logistic
regression on exactly the table's features (each n-gram's count over the square root of
the sequence's number of n-grams), optionally with the naive-Bayes log-count ratios of
NB-SVM as feature weights for two classes, and blends its scores with the network's:

    logits = (1 - a) * network + a * linear

The penalty, the weighting and the blend weight ``a`` are chosen by the validation rows'
cross-entropy; the linear model is then refitted on the training and validation rows. The
blend is folded into the module's own weights (the head scaled by ``1 - a``, the table
replaced by its blend with the linear model's weights), so nothing new is stored, saved or
exported, and explanations still add up.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from scipy import sparse

from ._series_branch import weighted_cross_entropy

__all__ = [
    "BLEND_WEIGHTS",
    "MAX_FEATURE_ENTRIES",
    "MAX_WORK",
    "blend_ngram_model",
    "count_distinct_ngrams",
    "ngram_features",
    "rows_within_budget",
]

BLEND_WEIGHTS = np.round(np.linspace(0.0, 1.0, 21), 2)
"""The blend weights ``a`` tried with ``ngram_blend='auto'``."""

PENALTIES = (3.0, 30.0)
"""Inverse L2 penalties ``C`` of the logistic regression tried with ``'auto'``."""

MAX_FEATURE_ENTRIES = 1 << 23
"""Most n-gram entries the regression's features hold (about 100 MB a copy, and the fit
makes a few): beyond it, a seeded sample of the rows is fitted on."""

MAX_WORK = 1 << 30
"""Most n-gram entries times classes the regression works through per pass over its data:
many classes fit on fewer rows."""

_CHUNK_ROWS = 2048


def count_distinct_ngrams(sequences, max_order: int, stop_at: int) -> int:
    """Distinct n-grams (by hash) of orders 1 to ``max_order`` in ``sequences``.

    Counted chunk by chunk, and no further once more than ``stop_at`` are found (the
    table cannot grow beyond its cap anyway), so a large training set costs little.
    """
    from .nn._ngrams import ngram_hashes

    seen = np.zeros(0, dtype=np.int64)
    for start in range(0, len(sequences), _CHUNK_ROWS):
        rows = np.arange(start, min(len(sequences), start + _CHUNK_ROWS))
        X, lengths = sequences.pad(rows)
        hashes, valid = ngram_hashes(torch.from_numpy(X), torch.from_numpy(lengths), max_order)
        seen = np.union1d(seen, hashes[valid].numpy())
        if len(seen) > stop_at:
            break
    return int(len(seen))


def rows_within_budget(lengths, max_order, n_classes, seed, y=None) -> np.ndarray | None:
    """Row indices to fit the regression on, or None for all of them.

    A row of ``L`` tokens has ``L`` unigrams and ``L + 3 - n`` n-grams of each order ``n``
    from 2 (with the start and end markers); while their total is within
    :data:`MAX_FEATURE_ENTRIES` and :data:`MAX_WORK` ``/ n_classes``, every row is used,
    else a seeded random sample of rows that fits, in their order. With labels ``y`` the
    sample holds at least one row of every class (even beyond the budget), so that the
    regression sees every class.
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    per_row = lengths + sum(np.maximum(lengths + 3 - n, 0) for n in range(2, max_order + 1))
    budget = min(MAX_FEATURE_ENTRIES, MAX_WORK // max(int(n_classes), 1))
    if int(per_row.sum()) <= budget:
        return None
    order = np.random.RandomState(seed).permutation(len(lengths))
    first = 0
    if y is not None:  # one row of each class first: the first of each in the shuffle
        _, at = np.unique(np.asarray(y)[order], return_index=True)
        rest = np.setdiff1d(np.arange(len(order)), at, assume_unique=True)
        order = np.concatenate([order[np.sort(at)], order[rest]])
        first = len(at)
    fits = np.cumsum(per_row[order]) <= budget
    fits[:first] = True
    return np.sort(order[fits])


def _within_budget(ds, max_order, n_classes, seed):
    """``(sequences, y, sample_weight)`` of the dataset's rows the regression fits on."""
    rows = rows_within_budget(ds.sequences.lengths, max_order, n_classes, seed, y=ds.y)
    if rows is None:
        return ds.sequences, ds.y, ds.sample_weight
    weights = None if ds.sample_weight is None else ds.sample_weight[rows]
    return ds.sequences.subset(rows), ds.y[rows], weights


def ngram_features(ngrams, sequences, device="cpu") -> sparse.csr_matrix:
    """The table's features of ``sequences``: (n_rows, buckets), float64.

    Entry ``(i, j)`` is the number of n-grams of row ``i`` hashed to bucket ``j`` divided
    by the square root of the row's number of n-grams, so that for every row
    ``features @ table.weight * gain`` equals ``ngrams(X, lengths)``.
    """
    n = len(sequences)
    buckets = ngrams.buckets
    parts = []
    with torch.no_grad():
        for start in range(0, n, _CHUNK_ROWS):
            rows = np.arange(start, min(n, start + _CHUNK_ROWS))
            X, lengths = sequences.pad(rows)
            ids, valid = ngrams.ngram_ids(torch.from_numpy(X).to(device), torch.from_numpy(lengths))
            ids, valid = ids.cpu().numpy(), valid.cpu().numpy()
            row_of = np.broadcast_to(np.arange(len(rows))[:, None, None], ids.shape)[valid]
            count = valid.sum(axis=(1, 2)).clip(min=1)
            values = 1.0 / np.sqrt(count.astype(np.float64))[row_of]
            part = sparse.csr_matrix(
                (values, (row_of, ids[valid])), shape=(len(rows), buckets), dtype=np.float64
            )
            part.sum_duplicates()
            parts.append(part)
    if not parts:
        return sparse.csr_matrix((0, buckets), dtype=np.float64)
    return sparse.vstack(parts, format="csr")


def _nb_ratios(features, y, weights) -> np.ndarray:
    """NB-SVM's log-count ratios of two classes, over binarised features (smoothing 1)."""
    present = features.copy()
    present.data[:] = 1.0
    w = np.ones(len(y)) if weights is None else np.asarray(weights, dtype=np.float64)
    pos = 1.0 + present.T @ (w * (y == 1))
    neg = 1.0 + present.T @ (w * (y == 0))
    return np.log(pos / pos.sum()) - np.log(neg / neg.sum())


def _fit_linear(features, y, weights, n_classes, C, ratios):
    """L2 logistic regression; returns ``(coef (n_classes, buckets), intercept)``.

    Fitted on the buckets the rows use only (a bucket no row uses gets weight 0 either
    way), by Newton-CG, which is fast on these sparse, well-conditioned problems.
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    used = np.unique(features.indices)
    scaled = features[:, used]
    if ratios is not None:
        scaled = scaled @ sparse.diags(ratios[used])
    model = LogisticRegression(C=C, solver="newton-cg", max_iter=100, tol=1e-4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(scaled, y, sample_weight=weights)
    found, intercept = model.coef_, model.intercept_
    if n_classes == 2:  # one decision function: class 1's score, class 0's at zero
        found = np.vstack([-found / 2, found / 2])
        intercept = np.array([-intercept[0] / 2, intercept[0] / 2])
    if ratios is not None:
        found = found * ratios[used]  # scores of the unscaled features
    coef = np.zeros((n_classes, features.shape[1]))
    coef[:, used] = found
    return coef, intercept


def _network_logits(module, sequences, device) -> np.ndarray:
    was_training = module.training
    module.eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(sequences), _CHUNK_ROWS):
            rows = np.arange(start, min(len(sequences), start + _CHUNK_ROWS))
            X, lengths = sequences.pad(rows)
            logits = module(torch.from_numpy(X).to(device), torch.from_numpy(lengths))
            out.append(logits.double().cpu().numpy())
    module.train(was_training)
    return np.concatenate(out) if out else np.zeros((0, module.head.out_features))


def blend_ngram_model(net, train_ds, valid_ds, *, setting, seed) -> dict | None:
    """Fit the linear model on the table's features and fold its blend into ``net.module_``.

    ``setting`` is the estimator's ``ngram_blend``: ``'auto'`` chooses the blend weight on
    the validation rows (no validation rows: no blend), a float in [0, 1] is the weight
    (the penalty and weighting are still chosen on validation rows where there are some,
    else ``C=10`` without weighting), None or 0 leaves the network as it is. Returns what
    was chosen (``weight``, ``C``, ``nb``), recorded in the history's last epoch as
    ``ngram_blend``, or None where nothing was blended. On a training set of more n-grams
    than the budgets of :func:`rows_within_budget`, the regression is fitted (and judged)
    on a seeded sample of the rows, so its memory and time stay bounded.
    """
    module = net.module_
    ngrams = getattr(module, "ngrams", None)
    if ngrams is None or setting is None or (setting != "auto" and float(setting) == 0.0):
        return None
    has_valid = valid_ds is not None and len(valid_ds) > 0
    if setting == "auto" and not has_valid:
        return None
    n_classes = module.head.out_features
    device = next(module.parameters()).device
    offset = np.zeros(n_classes) if net.logit_offset is None else np.asarray(net.logit_offset)
    seqs, y, w = _within_budget(train_ds, ngrams.max_order, n_classes, seed)
    if np.unique(y).size < n_classes:  # a class without training rows: its scores would
        _record(net, {"weight": 0.0, "C": None, "nb": False})  # have no coefficients
        return None
    A = ngram_features(ngrams, seqs, device)
    candidates = [(C, False) for C in PENALTIES]
    if n_classes == 2:
        candidates += [(C, True) for C in PENALTIES]
    weights = BLEND_WEIGHTS if setting == "auto" else np.array([float(setting)])
    if has_valid:
        vseqs, yv, wv = _within_budget(valid_ds, ngrams.max_order, n_classes, seed)
        V = ngram_features(ngrams, vseqs, device)
        # judged as trained: the network's logits with the loss's logit adjustment, against
        # the plain regression (the adjustment is taken off its intercept when folded)
        network = _network_logits(module, vseqs, device) + offset
        best = None
        for C, nb in candidates:
            ratios = _nb_ratios(A, y, w) if nb else None
            coef, intercept = _fit_linear(A, y, w, n_classes, C, ratios)
            linear = np.asarray(V @ coef.T) + intercept
            for a in weights:
                loss = weighted_cross_entropy((1 - a) * network + a * linear, yv, wv)
                if best is None or loss < best[0] - 1e-12:
                    best = (loss, float(a), C, nb)
        _, a, C, nb = best
        if a == 0.0:
            _record(net, {"weight": 0.0, "C": C, "nb": nb})
            return None
        # the chosen model, refitted on every row the network saw or was judged on
        A = sparse.vstack([A, V], format="csr")
        y = np.concatenate([y, yv])
        if w is not None or wv is not None:
            w = np.concatenate([_ones(w, len(y) - len(yv)), _ones(wv, len(yv))])
    else:
        a, C, nb = float(weights[0]), 10.0, False
    ratios = _nb_ratios(A, y, w) if nb else None
    coef, intercept = _fit_linear(A, y, w, n_classes, C, ratios)
    # post-hoc logit adjustment (Menon et al., 2021): the regression learned the training
    # frequencies, which the network's loss offset by logit_adjustment * log(prior)
    intercept = intercept - offset
    with torch.no_grad():
        table = ngrams.table.weight
        linear = torch.as_tensor(coef.T / ngrams.gain, dtype=table.dtype, device=table.device)
        table.mul_(1.0 - a).add_(a * linear)
        module.head.weight.mul_(1.0 - a)
        module.head.bias.mul_(1.0 - a).add_(
            torch.as_tensor(a * intercept, dtype=module.head.bias.dtype, device=table.device)
        )
    chosen = {"weight": a, "C": C, "nb": nb}
    _record(net, chosen)
    return chosen


def _ones(w, n):
    return np.ones(n, dtype=np.float64) if w is None else np.asarray(w, dtype=np.float64)


def _record(net, chosen):
    if len(net.history):
        net.history.record("ngram_blend", chosen)
