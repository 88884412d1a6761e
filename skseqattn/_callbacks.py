"""The skorch callbacks of :class:`~skseqattn._net.SequenceNet`.

Accuracy from the batches' own predictions, the stop on a non-finite loss (agreed across
ranks in data-parallel training), gradient clipping that skips sparse gradients, and the
plateau learning-rate schedule.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from skorch.callbacks import Callback, GradientNormClipping, LRScheduler

from ._errors import NonFiniteLossError

__all__ = [
    "BatchAccuracy",
    "CheckpointAverage",
    "DenseGradientNormClipping",
    "FiniteLossCheck",
    "PlateauLRScheduler",
]


class BatchAccuracy(Callback):
    """Record ``train_acc`` and ``valid_acc`` per epoch from the batches' own predictions."""

    def on_epoch_begin(self, net, **kwargs):
        self._counts = {True: [0, 0], False: [0, 0]}

    def on_batch_end(self, net, batch=None, training=False, y_pred=None, **kwargs):
        if y_pred is None or batch is None or batch[1] is None:
            return
        with torch.no_grad():
            y_true = batch[1].to(y_pred.device)
            correct = int((y_pred.argmax(dim=1) == y_true).sum())
        counts = self._counts[training]
        counts[0] += correct
        counts[1] += len(y_true)

    def on_epoch_end(self, net, **kwargs):
        for training, name in ((True, "train_acc"), (False, "valid_acc")):
            correct, total = net.all_sum(np.array(self._counts[training], dtype=np.float64))
            if total:
                net.history.record(name, correct / total)


class FiniteLossCheck(Callback):
    """Stop training with :class:`~skseqattn.NonFiniteLossError` once a batch's loss is not finite.

    Checked after each training batch, before the optimizer's next step, from the loss
    skorch has already read for its history (so no extra device synchronisation). The
    estimator installs a net only after training succeeded, so raising here leaves it as
    it was.

    Parameters
    ----------
    estimator_name : str, default="BiLSTMAttentionClassifier"
        Named in the message.
    """

    def __init__(self, estimator_name="BiLSTMAttentionClassifier"):
        self.estimator_name = estimator_name

    def on_epoch_begin(self, net, **kwargs):
        self._batch = 0

    def on_batch_end(self, net, batch=None, training=False, loss=None, **kwargs):
        if not training:
            return
        self._batch = getattr(self, "_batch", 0) + 1
        if loss is None:
            return
        value = float(loss.detach()) if hasattr(loss, "detach") else float(loss)
        # Under distributed=True every rank must stop on the same batch, or the others
        # would wait for it in the next gradient all-reduce: agree on whether any rank
        # saw a non-finite loss (a no-op in one process).
        all_sum = getattr(net, "all_sum", None)
        bad = float(not math.isfinite(value))
        if all_sum is not None:
            bad = float(all_sum(np.array([bad]))[0])
        if not bad:
            return
        if math.isfinite(value):
            value = "non-finite on another process"
        lr = float(net.lr)
        smaller = min(lr / 10, 3e-4)
        precision = (
            "mixed_precision=False (float16/bfloat16 overflow sooner)"
            if net.mixed_precision
            else "keeping mixed_precision=False"
        )
        raise NonFiniteLossError(
            f"{self.estimator_name}: the training loss became {value} in epoch "
            f"{len(net.history)}, batch {self._batch}; training stopped and the estimator "
            f"was left as it was before this fit. Try a smaller lr (e.g. {smaller:.3g}; it "
            f"is {lr:g}), clip_grad_norm=1.0 and {precision}; also check X, sample_weight "
            "and class_weight for extreme values."
        )


class DenseGradientNormClipping(GradientNormClipping):
    """Clip the norm of the dense gradients; sparse ones (the n-gram table) are left as is.

    ``torch.nn.utils.clip_grad_norm_`` cannot take sparse gradients. The table's gradient
    is a sum of per-class scores, bounded by the loss itself, and SparseAdam normalises
    its steps anyway.
    """

    def on_grad_computed(self, net, named_parameters, **kwargs):
        dense = [(n, p) for n, p in named_parameters if p.grad is None or not p.grad.is_sparse]
        super().on_grad_computed(net, dense, **kwargs)


class PlateauLRScheduler(LRScheduler):
    """Halve the learning rate when the validation loss did not improve for an epoch.

    The torch scheduler holds the optimizer, so pickling it would store the optimizer's
    tensors outside skorch's device-mapped blob, and a model trained on CUDA could not be
    unpickled without a GPU. It is rebuilt at the start of every training run anyway, so it
    is left out of the pickle.
    """

    def __init__(self, monitor="valid_loss", factor=0.5, patience=0, **kwargs):
        super().__init__(
            policy=torch.optim.lr_scheduler.ReduceLROnPlateau,
            monitor=monitor,
            factor=factor,
            patience=patience,
            **kwargs,
        )

    def on_epoch_end(self, net, **kwargs):
        super().on_epoch_end(net, **kwargs)
        # The torch scheduler holds the main optimizer; the sparse one follows its rate.
        sparse = getattr(net, "sparse_optimizer_", None)
        if sparse is not None:
            lr = net.optimizer_.param_groups[0]["lr"]
            for group in sparse.param_groups:
                group["lr"] = lr

    def __getstate__(self):
        state = self.__dict__.copy()
        state["lr_scheduler_"] = None
        return state


class CheckpointAverage(Callback):
    """At the end of training, the weights become the mean of the ``k`` best epochs'.

    After every epoch the module's weights are kept if the epoch's validation loss is among
    the ``k`` lowest so far (at most ``k`` copies are held); when training ends (after
    early stopping has restored the best epoch) the module gets their element-wise mean,
    computed in float64. Neighbouring checkpoints of one run lie in one basin of the loss,
    so their mean is a flatter, better-generalising point than any one of them (Izmailov
    et al., 2018); on the real texts of ``benchmarks/bench_texts.py`` it mostly removes
    the luck of which epoch early stopping kept. Runs only with validation data.
    """

    def __init__(self, k: int = 3):
        self.k = k

    def on_train_begin(self, net, **kwargs):
        self.kept_ = []  # (valid_loss, epoch, state dict), lowest loss first

    def on_epoch_end(self, net, **kwargs):
        loss = net.history[-1].get("valid_loss")
        if loss is None or not math.isfinite(loss):
            return
        kept = getattr(self, "kept_", [])
        if len(kept) >= self.k and loss >= kept[-1][0]:
            return
        state = {key: value.detach().clone() for key, value in net.module_.state_dict().items()}
        kept.append((float(loss), len(net.history), state))
        kept.sort(key=lambda item: (item[0], item[1]))
        self.kept_ = kept[: self.k]

    def on_train_end(self, net, **kwargs):
        kept = getattr(self, "kept_", [])
        if len(kept) > 1:
            states = [state for _, _, state in kept]
            mean = {}
            for key, value in states[0].items():
                if value.is_floating_point():
                    total = sum(s[key].double() for s in states) / len(states)
                    mean[key] = total.to(value.dtype)
                else:  # counters (none today): the best epoch's
                    mean[key] = value
            net.module_.load_state_dict(mean)
        self.kept_ = []  # the copies are not needed (nor pickled) once fitted
