"""The skorch side: a NeuralNet that trains on ragged batches and predicts, and its callbacks.

:class:`~skseqattn.BiLSTMAttentionClassifier` builds one :class:`SequenceNet` per fit with
:func:`build_net` (and :mod:`skseqattn.persistence` builds a loaded model's net with the
same function). The net receives sequences that are already validated, encoded and split;
it adds per-sample weights to the loss, keeps each batch's lengths on the CPU (packing
needs them there) and records accuracy from the batches it already computed, so no extra
pass over the data is made. :meth:`SequenceNet.predict_sequences` is the one inference path:
predict, decision_function, attention_weights and explain all go through it.
"""

from __future__ import annotations

import contextlib
import math
import warnings

import numpy as np
import torch
from skorch import NeuralNet
from skorch.callbacks import Callback, GradientNormClipping, LRScheduler
from skorch.dataset import unpack_data
from skorch.helper import predefined_split

from ._batches import BucketBatchIterator, SequenceDataset
from ._errors import NonFiniteLossError
from ._parallel import limit_torch_threads

__all__ = [
    "OPTIMIZERS",
    "BatchAccuracy",
    "CheckpointAverage",
    "DenseGradientNormClipping",
    "FiniteLossCheck",
    "MixedPrecisionWarning",
    "PlateauLRScheduler",
    "SequenceNet",
    "autocast_for",
    "build_module",
    "module_shapes",
    "build_net",
    "cpu_bfloat16_unsupported",
    "ngram_buckets_for",
    "seeded",
]

OPTIMIZERS = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "sgd": torch.optim.SGD}
"""The optimizers named by the classifier's ``optimizer`` parameter."""

NGRAM_TABLE_BUDGET = 1 << 24
"""Most floats ``ngram_buckets='auto'`` gives the n-gram table: 16,777,216 (64 MiB)."""

NGRAM_BUCKETS_RANGE = (1024, 65536)
"""Fewest and most rows ``ngram_buckets='auto'`` gives the n-gram table."""

PREDICT_BATCH = 512
"""Fewest rows per batch when predicting (the training batch size when it is larger)."""

_SAME_AS_MODULE_ = "<the module_ attribute>"


class SequenceNet(NeuralNet):
    """NeuralNet whose batches are dicts ``{'X', 'lengths'[, 'sample_weight']}``.

    The criterion must return one loss per sample (``reduction='none'``); the batch loss is
    the mean of the per-sample losses times the sample weights, whose mean over the training
    set is 1, so weights scale each sample's share of the gradient without changing the
    learning rate's meaning.

    Parameters
    ----------
    logit_offset : array-like of shape (n_classes,), default=None
        Added to the logits inside the loss only (training and validation), not to the
        predictions: with ``tau * log(class prior)`` this is the logit-adjusted loss of
        Menon et al. (2021), which moves decisions towards rare classes.
    mixed_precision : bool, default=False
        Run the module under :func:`torch.autocast`: float16 with a gradient scaler on
        CUDA, bfloat16 elsewhere. Logits come back as float32 for the loss.
    **kwargs
        Passed to :class:`skorch.NeuralNet`.
    """

    def __init__(self, *args, logit_offset=None, mixed_precision=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.logit_offset = logit_offset
        self.mixed_precision = mixed_precision

    # The `module` parameter is the very instance that became `module_`. skorch pickles
    # `module_` inside a blob that maps CUDA tensors to the CPU where no GPU is present; the
    # parameter would be pickled a second time as a plain object, which cannot be loaded
    # without CUDA. Store a marker instead and point it back at `module_` on loading.
    def __getstate__(self):
        state = super().__getstate__()
        # caches that may hold CUDA tensors; rebuilt when needed
        state.pop("_offset_tensor", None)
        state.pop("_scaler", None)
        if "module_" in self.__dict__ and state.get("module") is self.__dict__["module_"]:
            state["module"] = _SAME_AS_MODULE_
        return state

    def __setstate__(self, state):
        same = isinstance(state.get("module"), str) and state["module"] == _SAME_AS_MODULE_
        super().__setstate__(state)
        if same:
            self.module = self.module_

    def initialize_optimizer(self, *args, **kwargs):
        """The configured optimizer for the dense parameters; SparseAdam for sparse ones.

        Parameters of embeddings created with ``sparse=True`` (the n-gram table) get sparse
        gradients, which Adam rejects; :class:`torch.optim.SparseAdam` updates just the rows
        a batch touched. It is registered with skorch as ``sparse_optimizer_``, so it takes
        part in every step, is saved with the net and moves with it between devices.
        """
        sparse_ids = {
            id(m.weight)
            for m in self.module_.modules()
            if isinstance(m, torch.nn.Embedding) and m.sparse
        }
        named = list(self.get_all_learnable_params())
        dense = [(name, p) for name, p in named if id(p) not in sparse_ids]
        sparse = [p for _, p in named if id(p) in sparse_ids]
        args, kwargs = self.get_params_for_optimizer("optimizer", dense)
        self.optimizer_ = self.optimizer(*args, **kwargs)
        if sparse:
            self.sparse_optimizer_ = torch.optim.SparseAdam(sparse, lr=self.lr)
        return self

    def _step_optimizer(self, step_fn):
        """Run the forward-backward closure once, then step every optimizer.

        skorch's ``train_step`` hands the closure (zero grads, forward, backward, the
        ``on_grad_computed`` callbacks) to each optimizer's ``step``, so with the sparse
        optimizer as a second one every batch would run forward and backward twice. Neither
        Adam nor SparseAdam needs the closure.
        """
        scaler = self._grad_scaler()
        if len(self._optimizers) == 1 and scaler is None:
            return super()._step_optimizer(step_fn)
        step_fn()
        for name in self._optimizers:
            optimizer = getattr(self, name + "_")
            if scaler is None:
                optimizer.step()
            else:  # skips the step when float16 overflowed
                scaler.step(optimizer)
        if scaler is not None:
            scaler.update()

    def predict_sequences(self, sequences, *, attention=False, contributions=False):
        """Logits, and optionally attention weights, of every row of ``sequences``.

        The one inference path of the library: rows are cut into batches of one length
        (no padding, the fused RNN kernel), run in evaluation mode without autograd, under
        the ``mixed_precision`` autocast and the thread limit of
        :func:`~skseqattn._parallel.limit_torch_threads`, and put back in input order.

        Parameters
        ----------
        sequences : RaggedSequences
            Validated and encoded sequences.
        attention : bool, default=False
            Also return the attention weights, from the same pass.
        contributions : bool, default=False
            Also return each step's contribution to the predicted class's score, from
            :meth:`~skseqattn.nn.SequenceClassifierModule.contributions` (gradients
            with respect to the inputs, in float32 whatever ``mixed_precision``; the logits
            then come from this pass too).

        Returns
        -------
        logits : ndarray of shape (n_samples, n_classes), float64
        step_weights : ndarray of shape (total_steps, heads) or None
            The weight of each real step, aligned with ``sequences.values``.
        step_contributions : dict, only with ``contributions=True``
            ``parts`` (tuple of str); ``steps`` (total_steps, n_parts), aligned with
            ``sequences.values``; ``baselines`` (n_samples, n_parts); ``score``,
            ``target`` (the predicted class index) and ``residual``, each (n_samples,);
            ``nodes``, the most quadrature nodes a batch needed.
        """
        dataset = SequenceDataset(sequences)
        kwargs = self.get_params_for("iterator_valid")
        kwargs["device"] = self.device  # a net unpickled without CUDA predicts on the CPU
        kwargs.setdefault("batch_size", self.batch_size)
        iterator = self.iterator_valid(dataset, **kwargs)
        order = iterator.order
        module = self.module_
        n_classes = module.head.out_features
        logits = np.zeros((len(sequences), n_classes), dtype=np.float64)
        step_weights = None
        if attention:
            step_weights = np.zeros((len(sequences.values), module.pool.heads), dtype=np.float64)
        if contributions:
            return self._predict_contributions(
                sequences, iterator, order, logits, step_weights, attention
            )
        was_training = module.training
        module.eval()
        start = 0
        try:
            with torch.inference_mode(), limit_torch_threads(), self.autocast():
                for Xi, _ in iterator:
                    X = Xi["X"].to(self.device, non_blocking=True)
                    lengths = Xi["lengths"]
                    rows = order[start : start + len(lengths)]
                    start += len(lengths)
                    if not attention:
                        logits[rows] = module(X, lengths).float().cpu().numpy()
                        continue
                    out, weights = module.forward_with_attention(X, lengths)
                    logits[rows] = out.float().cpu().numpy()
                    _scatter_steps(step_weights, weights.float().cpu().numpy(), sequences, rows)
        finally:
            module.train(was_training)
        return logits, step_weights

    def _predict_contributions(self, sequences, iterator, order, logits, step_weights, attention):
        """:meth:`predict_sequences` with ``contributions=True``: the same batches, with grad."""
        module = self.module_
        n = len(sequences)
        parts = module.contribution_parts
        steps = np.zeros((len(sequences.values), len(parts)), dtype=np.float64)
        found = {
            "baselines": np.zeros((n, len(parts)), dtype=np.float64),
            "score": np.zeros(n, dtype=np.float64),
            "target": np.zeros(n, dtype=np.int64),
            "residual": np.zeros(n, dtype=np.float64),
        }
        nodes = 0
        was_training = module.training
        module.eval()
        start = 0
        try:
            with limit_torch_threads():
                for Xi, _ in iterator:
                    X = Xi["X"].to(self.device, non_blocking=True)
                    lengths = Xi["lengths"]
                    rows = order[start : start + len(lengths)]
                    start += len(lengths)
                    result = module.contributions(X, lengths)
                    logits[rows] = result["logits"].cpu().numpy()
                    for key, values in found.items():
                        values[rows] = result[key].cpu().numpy()
                    _scatter_steps(steps, result["steps"].cpu().numpy(), sequences, rows)
                    if attention:
                        batch_weights = result["attention"].float().cpu().numpy()
                        _scatter_steps(step_weights, batch_weights, sequences, rows)
                    nodes = max(nodes, int(result["nodes"]))
        finally:
            module.train(was_training)
        found.update(parts=parts, steps=steps, nodes=nodes)
        return logits, step_weights, found

    def set_lr(self, lr):
        """Set the learning rate of every optimizer (the sparse one too)."""
        self.lr = lr
        for name in self._optimizers:
            for group in getattr(self, name + "_").param_groups:
                group["lr"] = lr

    def get_default_callbacks(self):
        # skorch's PrintLog colours its table with ANSI codes wherever it prints; ours does
        # so only on a terminal, so logs and CI output stay clean.
        from ._progress import PlainPrintLog

        return [
            (name, PlainPrintLog() if name == "print_log" else cb)
            for name, cb in super().get_default_callbacks()
        ]

    def autocast(self):
        """The autocast context of ``mixed_precision`` (a no-op without it)."""
        return autocast_for(self.device, self.mixed_precision)

    def infer(self, x, **fit_params):
        X = x["X"].to(self.device, non_blocking=True)
        module = self.training_module() if torch.is_grad_enabled() else self.module_
        if not self.mixed_precision:
            return module(X, x["lengths"])
        with self.autocast():
            logits = module(X, x["lengths"])
        return logits.float()

    # Hooks for data-parallel training (skseqattn._distributed.DistributedSequenceNet); in
    # one process they are the identity.
    def training_module(self):
        """The module a training step runs forward (``module_``; its DDP wrapper there)."""
        return self.module_

    def reduce_gradients(self):
        """Called after each backward pass, before unscaling and clipping; no-op here."""

    def all_sum(self, values):
        """Sum of ``values`` (a float64 array) over all processes that train: ``values``."""
        return values

    def _grad_scaler(self):
        """A GradScaler for float16 training on CUDA, else None (bfloat16 needs none)."""
        if not self.mixed_precision or torch.device(self.device).type != "cuda":
            return None
        scaler = self.__dict__.get("_scaler")
        if scaler is None:
            scaler = self.__dict__["_scaler"] = torch.amp.GradScaler("cuda")
        return scaler

    def train_step_single(self, batch, **fit_params):
        scaler = self._grad_scaler()
        self._set_training(True)
        Xi, yi = unpack_data(batch)
        y_pred = self.infer(Xi, **fit_params)
        loss = self.get_loss(y_pred, yi, X=Xi, training=True)
        (loss if scaler is None else scaler.scale(loss)).backward()
        self.reduce_gradients()
        if scaler is not None:
            # unscaled before the on_grad_computed callbacks: clipping must see true values
            for name in self._optimizers:
                scaler.unscale_(getattr(self, name + "_"))
        return {"loss": loss, "y_pred": y_pred}

    def get_loss(self, y_pred, y_true, X=None, training=False):
        y_true = y_true.to(y_pred.device, non_blocking=True)
        if self.logit_offset is not None:
            y_pred = y_pred + self._offset_on(y_pred)
        losses = self.criterion_(y_pred, y_true)  # (batch,)
        weights = X.get("sample_weight") if isinstance(X, dict) else None
        if weights is not None:
            losses = losses * weights.to(losses.device, non_blocking=True)
        return losses.mean()

    def _offset_on(self, y_pred):
        cached = self.__dict__.get("_offset_tensor")
        if cached is None or cached.device != y_pred.device or cached.dtype != y_pred.dtype:
            cached = torch.as_tensor(self.logit_offset, dtype=y_pred.dtype, device=y_pred.device)
            self.__dict__["_offset_tensor"] = cached
        return cached


def _scatter_steps(flat, batch_weights, sequences, rows):
    """Copy each left-aligned batch row's real steps to its place in ``flat``."""
    lens = sequences.lengths[rows]
    r = np.repeat(np.arange(len(rows)), lens)
    c = np.arange(lens.sum()) - np.repeat(np.cumsum(lens) - lens, lens)
    flat[np.repeat(sequences.offsets[rows], lens) + c] = batch_weights[r, c]


def build_module(est, kind, n_classes, *, positions):
    """A fresh :class:`~skseqattn.nn.SequenceClassifierModule` for the estimator ``est``.

    ``kind`` is the fitted input kind (:mod:`skseqattn._inputs`): it gives the embedding's
    size or the number of features. ``positions`` is the resolved ``position_encoding``.
    """
    from .nn import SequenceClassifierModule

    weights = None
    args = kind.module_args()
    if est.embedding_weights is not None:
        weights = np.asarray(est.embedding_weights, dtype=np.float32)
        missing = (args["vocab_size"] or 0) - len(weights)
        if missing > 0:  # the row for unseen ids (unknown_id=None): zeros
            weights = np.vstack([weights, np.zeros((missing, weights.shape[1]), np.float32)])
    module = SequenceClassifierModule(
        n_classes=n_classes,
        **args,
        embedding_dim=est.embedding_dim,
        hidden_size=est.hidden_size,
        num_layers=est.num_layers,
        bidirectional=est.bidirectional,
        cell=est.cell,
        pooling=est.pooling,
        attention=est.attention,
        attention_heads=est.attention_heads,
        dropout=est.dropout,
        embedding_weights=weights,
        freeze_embeddings=est.freeze_embeddings,
        ngram_order=est.ngram_order,
        ngram_buckets=ngram_buckets_for(est.ngram_buckets, n_classes),
        # Adam cannot take sparse gradients; the net gives the table SparseAdam then.
        ngram_sparse=_adam_like(est),
        embedding_sparse=_sparse_embedding(est, kind),
        position_encoding=positions,
        conv_kernel=est.conv_kernel,
    )
    unknown_row = getattr(kind, "unknown_id", None)
    if weights is None and module.embedding is not None and unknown_row == args["vocab_size"] - 1:
        # No id of the training data is this row (unknown_id=None, or an unknown id above
        # them): start it at zeros, a neutral input, rather than at random.
        with torch.no_grad():
            module.embedding.weight[unknown_row].zero_()
    return module


SPARSE_EMBEDDING_MIN_IDS = 10_000
"""From this many ids on, a learned embedding trained with Adam gets sparse gradients."""


def _adam_like(est) -> bool:
    return est.optimizer in ("adam", "adamw", torch.optim.Adam, torch.optim.AdamW)


def _sparse_embedding(est, kind) -> bool:
    """Sparse (SparseAdam, 'lazy Adam') updates for a large learned word embedding.

    With dense Adam every step updates all ``n_ids * embedding_dim`` weights of a 30,000-word
    table, although a batch touches a few hundred rows: that step dominated training time
    (benchmarks/bench_words.py). SparseAdam updates only the rows a batch touched. It has no
    weight decay, so with ``weight_decay > 0`` the embedding stays dense; a frozen table has
    no gradient at all; small (character) vocabularies keep dense Adam, as before.
    """
    n_ids = kind.module_args()["vocab_size"]
    return bool(
        n_ids is not None
        and n_ids >= SPARSE_EMBEDDING_MIN_IDS
        and _adam_like(est)
        and not est.freeze_embeddings
        and est.weight_decay == 0
    )


def module_shapes(est, kind, n_classes, *, positions):
    """``{name: (shape, dtype)}`` of the weights :func:`build_module` would make.

    The module is built on torch's meta device, so that nothing is allocated: this is how
    :func:`skseqattn.load` checks a file's weights against its parameters before it builds
    anything real.
    """
    with torch.device("meta"):
        module = build_module(est, kind, n_classes, positions=positions)
    return {key: (tuple(value.shape), value.dtype) for key, value in module.state_dict().items()}


def ngram_buckets_for(ngram_buckets, n_classes):
    """Rows of the n-gram table: ``ngram_buckets`` itself, or the rule of ``'auto'``.

    ``'auto'`` gives ``NGRAM_TABLE_BUDGET // n_classes`` rows, clipped to
    ``NGRAM_BUCKETS_RANGE``: 65,536 rows up to 256 classes, then fewer, so that the table
    holds at most 16.8M floats (64 MiB) down to the floor of 1,024 rows (reached beyond
    16,384 classes, where the table grows as ``1024 * n_classes``).
    """
    if ngram_buckets != "auto":
        return int(ngram_buckets)
    low, high = NGRAM_BUCKETS_RANGE
    return int(min(high, max(low, NGRAM_TABLE_BUDGET // max(int(n_classes), 1))))


def build_net(est, module, *, device, valid_ds, rng, logit_offset=None):
    """The :class:`SequenceNet` that trains ``module`` with the estimator's settings.

    ``valid_ds`` is the validation :class:`~skseqattn._batches.SequenceDataset` or None
    (then there is no early stopping nor learning-rate schedule); ``rng`` shuffles the
    training batches.
    """
    net_class, verbose = SequenceNet, est.verbose
    if getattr(est, "distributed", False):
        from ._distributed import DistributedSequenceNet, is_main_process

        net_class = DistributedSequenceNet
        verbose = verbose if is_main_process() else 0  # only rank 0 prints
    callbacks = [
        ("finite_loss", FiniteLossCheck(type(est).__name__)),
        ("accuracy", BatchAccuracy()),
    ]
    if est.clip_grad_norm is not None:
        callbacks.append(
            ("clip", DenseGradientNormClipping(gradient_clip_value=est.clip_grad_norm))
        )
    if valid_ds is not None and est.lr_schedule == "plateau":
        callbacks.append(
            ("lr_schedule", PlateauLRScheduler(monitor="valid_loss", factor=0.5, patience=0))
        )
    if valid_ds is not None and est.early_stopping:
        from ._progress import RowFirstEarlyStopping  # its message after the epoch's row

        stopping = RowFirstEarlyStopping(
            monitor="valid_loss",
            patience=est.patience,
            load_best=True,
            sink=print if verbose else _noop,
        )
        callbacks.append(("early_stopping", stopping))
    if valid_ds is not None and getattr(est, "average_checkpoints", 1) > 1:
        # after early stopping, whose own end restores the best epoch first
        callbacks.append(("checkpoint_average", CheckpointAverage(est.average_checkpoints)))
    from ._progress import progress_callbacks

    callbacks.extend(progress_callbacks(verbose))
    for i, cb in enumerate(est.callbacks or []):
        if isinstance(cb, tuple):
            callbacks.append(cb)
        else:
            callbacks.append((f"user_{i}_{type(cb).__name__}", cb))
    optimizer = est.optimizer
    if isinstance(optimizer, str):
        optimizer = OPTIMIZERS[optimizer]
    return net_class(
        module=module,
        criterion=torch.nn.CrossEntropyLoss,
        criterion__reduction="none",
        optimizer=optimizer,
        optimizer__weight_decay=est.weight_decay,
        lr=est.lr,
        max_epochs=est.max_epochs,
        batch_size=est.batch_size,
        iterator_train=BucketBatchIterator,
        iterator_train__shuffle=True,
        iterator_train__random_state=rng,
        iterator_train__device=device,
        iterator_valid=BucketBatchIterator,
        iterator_valid__batch_size=max(est.batch_size, PREDICT_BATCH),
        iterator_valid__device=device,
        train_split=validation_split(valid_ds),
        callbacks=callbacks,
        device=device,
        verbose=verbose,
        logit_offset=logit_offset,
        mixed_precision=est.mixed_precision,
    )


def validation_split(valid_ds):
    """skorch's ``train_split`` for a fixed validation set (None: no validation)."""
    return predefined_split(valid_ds) if valid_ds is not None else None


@contextlib.contextmanager
def seeded(seed, device):
    """Train under torch seed ``seed`` and the thread limit; the caller's RNG is left alone."""
    device = torch.device(device)
    fork_devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=fork_devices), limit_torch_threads():
        torch.manual_seed(seed)
        yield


def _noop(*args, **kwargs):
    pass


def autocast_for(device, enabled):
    """``torch.autocast`` for ``device``: float16 on CUDA, bfloat16 elsewhere; or a no-op.

    On a CPU whose oneDNN build has no bfloat16 RNN kernels (AVX2-only processors, for
    one) autocast would crash inside the LSTM; there the body runs in float32 instead, and
    a :class:`MixedPrecisionWarning` says so once per process.
    """
    if not enabled:
        return contextlib.nullcontext()
    kind = torch.device(device).type
    if kind == "cuda":
        return torch.autocast(device_type=kind, dtype=torch.float16)
    reason = cpu_bfloat16_unsupported()
    if reason is not None:
        _warn_float32_fallback(reason)
        return contextlib.nullcontext()
    return torch.autocast(device_type=kind, dtype=torch.bfloat16)


class MixedPrecisionWarning(UserWarning):
    """``mixed_precision=True`` ran in float32 because this CPU has no bfloat16 RNN kernels."""


_BF16_PROBE: dict = {}


def cpu_bfloat16_unsupported() -> str | None:
    """Why bfloat16 autocast cannot run the recurrent layers on this CPU, or None if it can.

    A one-time probe, cached for the process: a tiny bidirectional LSTM and GRU run forward
    and backward, padded and packed, under bfloat16 autocast (a few milliseconds). oneDNN
    refuses such primitives on processors without bfloat16 support with a RuntimeError.
    """
    if "reason" not in _BF16_PROBE:
        _BF16_PROBE["reason"] = _probe_bfloat16_rnn()
    return _BF16_PROBE["reason"]


def _probe_bfloat16_rnn() -> str | None:
    from torch.nn.utils.rnn import pack_padded_sequence

    x = torch.linspace(-1.0, 1.0, 24).reshape(2, 3, 4)
    lengths = torch.tensor([3, 2])
    try:
        with torch.random.fork_rng(devices=[]):  # the layers' initialisation draws
            for cell in (torch.nn.LSTM, torch.nn.GRU):
                rnn = cell(4, 4, batch_first=True, bidirectional=True)
                with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
                    out, _ = rnn(x)
                    packed, _ = rnn(pack_padded_sequence(x, lengths, batch_first=True))
                (out.float().sum() + packed.data.float().sum()).backward()
    except RuntimeError as exc:
        return str(exc).split(". ")[0]
    return None


def _warn_float32_fallback(reason: str) -> None:
    if _BF16_PROBE.get("warned"):
        return
    _BF16_PROBE["warned"] = True
    warnings.warn(
        "mixed_precision=True: this CPU cannot run the LSTM/GRU in bfloat16 "
        f"({reason}), so skseqattn trains and predicts in float32 instead; results are "
        "the same as with mixed_precision=False. Set mixed_precision=False to silence this "
        "warning, or use device='cuda' for float16.",
        MixedPrecisionWarning,
        stacklevel=3,
    )


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
