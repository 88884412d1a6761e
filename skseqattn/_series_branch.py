"""Training around the series branch: its closed-form fit, and whether the RNN is kept.

For real-valued input the module carries a MiniRocket-style branch
(:class:`~skseqattn.nn._rocket.SeriesRocketLinear`) whose ridge map is fitted in closed form
before the recurrent part trains (:func:`fit_series_branch`); without validation rows the
branch may predict alone (:func:`branch_carries`, :func:`record_branch_only`), and with them
the recurrent part is kept only where it lowers the validation loss
(:func:`keep_recurrent_if_it_helps`). With ``normalization='auto'`` the branch is fitted
once per candidate normalisation of the input, and the one whose fit has the lower
leave-one-out loss is kept (:func:`choose_normalization`).
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = [
    "BRANCH_ALONE_SKILL",
    "ROCKET_FEATURES",
    "SERIES_MAX_STEPS",
    "branch_carries",
    "branch_loo_loss",
    "choose_normalization",
    "weighted_cross_entropy",
    "fit_series_branch",
    "keep_recurrent_if_it_helps",
    "record_branch_only",
    "rocket_features_for",
]


SERIES_MAX_STEPS = 64
"""Most steps the RNN reads of a series with the branch on (the front-end's window)."""

ROCKET_FEATURES = 10_000
"""Features of the series branch with ``rocket_features='auto'``."""


def rocket_features_for(est) -> int:
    """The branch's number of features: ``rocket_features``, or the rule of ``'auto'``."""
    value = getattr(est, "rocket_features", 0)
    return ROCKET_FEATURES if value == "auto" else int(value)


def fit_series_branch(module, train_ds, valid_ds, *, seed, device):
    """Fit the module's series branch on the training rows, in closed form; set the scores.

    The branch's kernels' biases, standardisation and ridge map are fitted on
    ``train_ds`` (:meth:`~skseqattn.nn._rocket.SeriesRocketLinear.fit`). The training rows
    then carry the branch's leave-one-out scores and the validation rows its plain scores
    (``branch_logits``), so that the recurrent part, trained on top, learns what the branch
    gets wrong on series it has not seen rather than its fit to the training rows. Returns
    the ridge penalty chosen (None without a branch).
    """
    rocket = getattr(module, "rocket", None)
    if rocket is None:
        return None
    n_classes = module.head.out_features
    rows = np.arange(len(train_ds))
    X, lengths = train_ds.sequences.pad(rows)
    x = torch.from_numpy(X).to(device)
    mask = (
        torch.arange(x.shape[1], device=device)[None]
        < torch.from_numpy(lengths).to(device)[:, None]
    )
    y = torch.from_numpy(train_ds.y).to(device)
    rocket.to(device)
    weights = train_ds.sample_weight
    alpha, loo = rocket.fit(x, mask, y, n_classes, seed=seed, sample_weight=weights)
    train_ds.branch_logits = loo.cpu().numpy().astype(np.float32)
    if valid_ds is not None and len(valid_ds):
        Xv, lv = valid_ds.sequences.pad(np.arange(len(valid_ds)))
        xv = torch.from_numpy(Xv).to(device)
        mv = (
            torch.arange(xv.shape[1], device=device)[None]
            < torch.from_numpy(lv).to(device)[:, None]
        )
        with torch.no_grad():
            valid_ds.branch_logits = rocket(xv, mv).cpu().numpy().astype(np.float32)
    return alpha


def choose_normalization(module, candidates, *, seed, device):
    """Fit the series branch on each candidate's training rows; keep the best; its name.

    ``candidates`` maps each normalisation to try to its (training, validation or None)
    datasets, in order of preference. The branch is fitted on each
    (:func:`fit_series_branch`: same seed, so the same kernels' rows) and scored by its
    leave-one-out cross-entropy on the training rows (:func:`branch_loo_loss`); the first
    of least loss is kept (one that beats it by no more than a relative ``1e-6``, rounding,
    does not count), and the branch's state is that fit's. Every candidate's datasets keep
    their own branch scores. With one candidate, or without a branch, it is fitted (or
    not) as :func:`fit_series_branch` does and its name returned.
    """
    names = list(candidates)
    rocket = getattr(module, "rocket", None)
    if rocket is None or len(names) == 1:
        fit_series_branch(module, *candidates[names[0]], seed=seed, device=device)
        return names[0]
    best = None
    for name in names:
        train_ds, valid_ds = candidates[name]
        fit_series_branch(module, train_ds, valid_ds, seed=seed, device=device)
        loss = branch_loo_loss(train_ds)
        if best is None or loss < best[0] - 1e-6 * abs(best[0]):
            state = {k: v.detach().clone() for k, v in rocket.state_dict().items()}
            best = (loss, name, state)
    rocket.load_state_dict(best[2])
    return best[1]


def weighted_cross_entropy(logits, y, weights=None) -> float:
    """Mean cross-entropy of ``logits`` (n, n_classes) against labels ``y``, in float64,
    each row weighted by ``weights`` (None: alike)."""
    logits = torch.as_tensor(np.asarray(logits), dtype=torch.float64)
    y = torch.as_tensor(np.asarray(y), dtype=torch.int64)
    losses = torch.nn.functional.cross_entropy(logits, y, reduction="none")
    if weights is None:
        return float(losses.mean())
    w = torch.as_tensor(np.asarray(weights), dtype=torch.float64)
    return float((losses * w).sum() / w.sum())


def branch_loo_loss(train_ds) -> float:
    """The (weighted) cross-entropy of the branch's leave-one-out scores on the training
    rows (``branch_logits``, as :func:`fit_series_branch` sets them)."""
    return weighted_cross_entropy(train_ds.branch_logits, train_ds.y, train_ds.sample_weight)


BRANCH_ALONE_SKILL = 0.5
"""Without validation rows, the series branch predicts alone from this leave-one-out skill
on: accuracy halfway from chance (the largest class's share) to 1."""


def branch_carries(module, train_ds) -> bool:
    """Whether the fitted series branch is to predict alone, with no validation rows to
    judge the RNN by: its leave-one-out accuracy on the training rows (``branch_logits``)
    is at least :data:`BRANCH_ALONE_SKILL` of the way from chance to 1. On the five UCR
    sets it is 0.71-1.0 (the RNN on top of it, trained on 36-200 series, cost up to 0.06
    accuracy); on a generated task where MiniRocket's features are weak, 0.12."""
    if getattr(module, "rocket", None) is None or train_ds.branch_logits is None:
        return False
    y = train_ds.y
    chance = np.bincount(y).max() / len(y)
    accuracy = float((train_ds.branch_logits.argmax(axis=1) == y).mean())
    return bool(accuracy - chance >= BRANCH_ALONE_SKILL * (1.0 - chance))


def record_branch_only(net, train_ds):
    """The history of a fit where the series branch predicts alone (no RNN training): one
    epoch with the branch's leave-one-out ``train_loss`` and ``train_acc`` on the training
    rows and ``recurrent_kept`` False."""
    logits = torch.from_numpy(train_ds.branch_logits).double()
    y = torch.from_numpy(train_ds.y)
    net.history.new_epoch()
    net.history.record("epoch", 1)
    net.history.record("batches", [])
    net.history.record("train_loss", branch_loo_loss(train_ds))
    net.history.record("train_acc", float((logits.argmax(1) == y).double().mean()))
    net.history.record("recurrent_kept", False)


def keep_recurrent_if_it_helps(net, valid_ds) -> bool | None:
    """After training on top of the series branch: keep the recurrent part, or drop it.

    On the validation rows, the cross-entropy of the module's logits is compared with that
    of the branch's scores alone; where the branch alone does as well, the head is set to
    zero and the branch's factor to 1, so that the module predicts what the branch does.
    The verdict is recorded in the last epoch of the history as ``recurrent_kept``.
    Returns it (None without a branch or validation rows).
    """
    module = net.module_
    if getattr(module, "rocket", None) is None or valid_ds is None or not len(valid_ds):
        return None
    was_training = module.training
    module.eval()
    rows = np.arange(len(valid_ds))
    X, lengths = valid_ds.sequences.pad(rows)
    y = torch.from_numpy(valid_ds.y)
    branch = torch.from_numpy(valid_ds.branch_logits).double()
    with torch.no_grad():
        X = torch.from_numpy(X).to(net.device)
        logits = module(X, torch.from_numpy(lengths), branch.to(net.device, torch.float32))
        both = float(torch.nn.functional.cross_entropy(logits.double().cpu(), y))
        alone = float(torch.nn.functional.cross_entropy(branch, y))
        kept = both < alone
        if not kept:
            module.head.weight.zero_()
            module.head.bias.zero_()
            module.branch_scale.fill_(1.0)
    module.train(was_training)
    if len(net.history):
        net.history.record("recurrent_kept", kept)
    return kept
