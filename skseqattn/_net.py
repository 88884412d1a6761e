"""The skorch side: a NeuralNet that trains on ragged batches and predicts, and its builders.

:class:`~skseqattn.BiLSTMAttentionClassifier` builds one :class:`SequenceNet` per fit with
:func:`build_net` (and :mod:`skseqattn.persistence` builds a loaded model's net with the
same function). The net receives sequences that are already validated, encoded and split;
it adds per-sample weights to the loss, keeps each batch's lengths on the CPU (packing
needs them there) and records accuracy from the batches it already computed, so no extra
pass over the data is made. :meth:`SequenceNet.predict_sequences` is the one inference path:
predict, decision_function, attention_weights and explain all go through it. Its callbacks
live in :mod:`._callbacks`, the mixed-precision context in :mod:`._precision`.
"""

from __future__ import annotations

import contextlib
import copy
import math
import threading

import numpy as np
import torch
from skorch import NeuralNet
from skorch.dataset import unpack_data
from skorch.helper import predefined_split

from ._batches import BucketBatchIterator, SequenceDataset
from ._callbacks import (
    BatchAccuracy,
    CheckpointAverage,
    DenseGradientNormClipping,
    FiniteLossCheck,
    PlateauLRScheduler,
)
from ._memory import batch_steps, check_lengths
from ._parallel import limit_torch_threads
from ._precision import MixedPrecisionWarning, autocast_for, cpu_bfloat16_unsupported
from ._series_branch import SERIES_MAX_STEPS, rocket_features_for

__all__ = [
    "LR_FLOOR",
    "NGRAM_WORD_IDS",
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
    "epochs_for",
    "passes_for",
    "ngram_buckets_for",
    "ngram_order_for",
    "seeded",
]

OPTIMIZERS = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "sgd": torch.optim.SGD}
"""The optimizers named by the classifier's ``optimizer`` parameter."""

NGRAM_TABLE_BUDGET = 1 << 24
"""Most floats ``ngram_buckets='auto'`` gives the n-gram table: 16,777,216 (64 MiB)."""

NGRAM_BUCKETS_RANGE = (1024, 65536)
"""Fewest and most rows of the rule of ``NGRAM_TABLE_BUDGET``."""

NGRAM_SMALL_BUDGET = 1 << 22
"""Floats of the n-gram table with ``ngram_buckets='auto'`` and few classes (16 MiB)."""

NGRAM_MAX_ROWS = 1 << 20
"""Most rows of the n-gram table with ``ngram_buckets='auto'``."""

PREDICT_BATCH = 512
"""Fewest rows per batch when predicting (the training batch size when it is larger)."""

NGRAM_WORD_IDS = 1000
"""``ngram_order='auto'``: token input with more ids than this (a vocabulary of words or
subwords, not of characters) gets n-grams of orders 1 to 2, other token input 1 to 4."""

LR_FLOOR = 2.0**-5
"""Under ``lr_schedule='plateau'`` with early stopping, training stops once the rate has
been halved five times, to ``lr * LR_FLOOR``: the epochs after it moved the validation loss
of the real texts by less than 0.001 (dga_families: 26 epochs where 14 reach its loss)."""

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
        state.pop("_inference_modules", None)  # copies of module_, rebuilt on use
        if "module_" in self.__dict__ and state.get("module") is self.__dict__["module_"]:
            state["module"] = _SAME_AS_MODULE_
        return state

    def __setstate__(self, state):
        same = isinstance(state.get("module"), str) and state["module"] == _SAME_AS_MODULE_
        super().__setstate__(state)
        if same:
            self.module = self.module_

    def get_iterator(self, dataset, training=False):
        """skorch's iterator, its batches capped at the memory limit (see :mod:`._memory`)."""
        iterator = super().get_iterator(dataset, training=training)
        if isinstance(iterator, BucketBatchIterator) and iterator.max_steps is None:
            mode = "fit" if training else "predict"
            iterator.max_steps = batch_steps(self.module_, mode, itemsize=4)
        return iterator

    def partial_fit(self, X, y=None, classes=None, **fit_params):
        """skorch's ``partial_fit``, after refusing a row too long to train on in memory.

        Training and validation rows alike: one row whose batch would exceed the memory
        limit of :mod:`._memory` even alone stops the fit before its first step.
        """
        if isinstance(X, SequenceDataset):
            lengths = [X.lengths]
            split = getattr(self.train_split, "keywords", {}).get("valid_ds")
            if isinstance(split, SequenceDataset):
                lengths.append(split.lengths)
            # partial_fit on a fresh net initialises it after this check: its module then
            # is the `module` instance
            module = self.module_ if getattr(self, "initialized_", False) else self.module
            check_lengths(np.concatenate(lengths), module, "fit", 4, who=self.who)
        return super().partial_fit(X, y, classes=classes, **fit_params)

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

    who = "BiLSTMAttentionClassifier"
    """The estimator's name, for the messages of :func:`~skseqattn._memory.check_lengths`."""

    def predict_sequences(
        self, sequences, *, attention=False, contributions=False, precision="float64"
    ):
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
        precision : {'float64', 'float32'}, default='float64'
            The layers' precision (the classifier's ``inference_precision``): float64 makes
            a row's scores its own, whatever rows share its batch (see
            :meth:`inference_module`); float32 is faster and batch-dependent by about 1e-7.

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
        # float64 layers (see inference_module) unless half precision runs
        itemsize = 8 if self._scores_dtype(precision) is not None else 4
        # a row too long to fit the memory limit alone is refused before any work; the
        # batches of the others hold fewer rows the longer they are
        check_lengths(sequences.lengths, self.module_, "predict", itemsize, who=self.who)
        if contributions:  # explain's gradient paths: one sequence each, float32
            check_lengths(sequences.lengths, self.module_, "explain", 4, who=self.who)
        kwargs["max_steps"] = batch_steps(self.module_, "predict", itemsize)
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
                sequences, iterator, order, logits, step_weights, attention, precision
            )
        module = self.inference_module(self._scores_dtype(precision))
        start = 0
        with torch.inference_mode(), limit_torch_threads(), self.autocast():
            for Xi, _ in iterator:
                X = Xi["X"].to(self.device, non_blocking=True)
                lengths = Xi["lengths"]
                rows = order[start : start + len(lengths)]
                start += len(lengths)
                if not attention:
                    logits[rows] = module(X, lengths).double().cpu().numpy()
                    continue
                out, weights = module.forward_with_attention(X, lengths)
                logits[rows] = out.double().cpu().numpy()
                weights = weights.double().cpu().numpy()
                _scatter_steps(step_weights, weights, sequences, rows)
        return logits, step_weights

    def _scores_dtype(self, precision="float64"):
        """float64 (see :meth:`inference_module`); None for float32 layers or where half
        precision runs."""
        half = not isinstance(self.autocast(), contextlib.nullcontext)
        return None if half or precision == "float32" else torch.float64

    def inference_module(self, dtype=None):
        """An evaluation-mode copy of ``module_`` for inference, in ``dtype``.

        Inference never switches ``module_`` between training and evaluation mode, so that
        predictions running in several threads at once cannot see each other's mode (and
        dropout). The copy shares ``module_``'s parameters when ``dtype`` is None; with
        ``torch.float64`` its layers hold float64 copies of the weights, and only the
        embedding and n-gram tables stay shared in float32 (a lookup rounds nothing;
        the lookups are cast to float64). The copy is cached and rebuilt when a weight
        of ``module_`` changed (its version counter moved, e.g. by an optimizer step or
        ``load_state_dict``).

        Why float64: the kernels of the recurrent, linear and convolutional layers pick
        their blocking, and so their order of summation, by the batch's shape, so in
        float32 a row's logits depend on which rows share its batch by a few units in
        the last place (about 1e-7, scikit-learn's tolerance for subset invariance). In
        float64 the same effect is about 1e-16: a row's scores are its own to far below
        any tolerance that matters. It costs up to about 4x the float32 time on a CPU;
        ``mixed_precision=True`` keeps the fast half-precision path and with it the
        batch dependence at half precision.
        """
        module = self.module_
        tensors = list(module.parameters()) + list(module.buffers())
        key = (id(module), dtype, tuple((id(t), t._version) for t in tensors))
        cache = self.__dict__.setdefault("_inference_modules", {})
        found = cache.get(dtype)
        if found is not None and found[0] == key:
            return found[1]
        with _INFERENCE_COPY_LOCK:
            found = cache.get(dtype)
            if found is not None and found[0] == key:
                return found[1]
            copied = _eval_copy(module, dtype)
            cache[dtype] = (key, copied)
        return copied

    def _predict_contributions(
        self, sequences, iterator, order, logits, step_weights, attention, precision
    ):
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
        module = self.inference_module()  # evaluation mode, module_ left as it is
        # logits and attention from the pass predict uses, so that they equal its own
        scores = self.inference_module(self._scores_dtype(precision))
        path_steps = batch_steps(module, "explain", 4)
        start = 0
        with limit_torch_threads():
            for Xi, _ in iterator:
                X = Xi["X"].to(self.device, non_blocking=True)
                lengths = Xi["lengths"]
                rows = order[start : start + len(lengths)]
                start += len(lengths)
                result = module.contributions(X, lengths, max_path_steps=path_steps)
                with torch.inference_mode(), self.autocast():
                    out, weights = scores.forward_with_attention(X, lengths)
                logits[rows] = out.double().cpu().numpy()
                for key, values in found.items():
                    values[rows] = result[key].cpu().numpy()
                _scatter_steps(steps, result["steps"].cpu().numpy(), sequences, rows)
                if attention:
                    batch_weights = weights.double().cpu().numpy()
                    _scatter_steps(step_weights, batch_weights, sequences, rows)
                nodes = max(nodes, int(result["nodes"]))
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
        args = (X, x["lengths"])
        if "branch_logits" in x:  # the series branch's fixed scores of these rows
            args += (x["branch_logits"].to(self.device, non_blocking=True),)
        if not self.mixed_precision:
            return module(*args)
        with self.autocast():
            logits = module(*args)
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


def ngram_order_for(ngram_order, n_ids):
    """Orders of the n-gram table: ``ngram_order`` itself, or the rule of ``'auto'``.

    ``'auto'`` is 2 for more than :data:`NGRAM_WORD_IDS` token ids ``n_ids`` (words: on the
    sentences of ``benchmarks/bench_texts.py`` the orders 3 and 4 add rows seen once, which
    blur the table and cost time: trec 0.901 with 4 against 0.909 with 2, movie_reviews
    0.765 against 0.773, over 3 seeds), else 4 (characters, whose 3- and 4-grams are the
    prefixes and suffixes that tell names apart). ``n_ids`` None (real-valued input): 0.
    """
    if n_ids is None:
        return 0
    if ngram_order == "auto":
        return 2 if n_ids > NGRAM_WORD_IDS else 4
    return int(ngram_order)


def build_module(
    est, kind, n_classes, *, positions, series_length=0, ngram_rows=None, ngram_order=None
):
    """A fresh :class:`~skseqattn.nn.SequenceClassifierModule` for the estimator ``est``.

    ``kind`` is the fitted input kind (:mod:`skseqattn._inputs`): it gives the embedding's
    size or the number of features. ``positions`` is the resolved ``position_encoding``;
    ``series_length`` (``series_length_``) the longest training series when the series
    branch is on, else 0; ``ngram_rows`` (``ngram_buckets_``) the rows of the n-gram table,
    by default those of ``ngram_buckets_for``; ``ngram_order`` (``ngram_order_``) its
    orders, by default those of ``ngram_order_for``.
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
        ngram_order=(
            ngram_order_for(est.ngram_order, args["vocab_size"])
            if ngram_order is None
            else ngram_order
        ),
        ngram_buckets=ngram_rows or ngram_buckets_for(est.ngram_buckets, n_classes),
        # Adam cannot take sparse gradients; the net gives the table SparseAdam then.
        ngram_sparse=_adam_like(est),
        embedding_sparse=_sparse_embedding(est, kind),
        position_encoding=positions,
        conv_kernel=est.conv_kernel,
        rocket_features=rocket_features_for(est) if series_length else 0,
        series_length=int(series_length),
        max_steps=SERIES_MAX_STEPS if series_length else None,
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


def module_shapes(est, kind, n_classes, **shape):
    """``{name: (shape, dtype)}`` of the weights :func:`build_module` would make with the
    keyword arguments ``shape``.

    The module is built on torch's meta device, so that nothing is allocated: this is how
    :func:`skseqattn.load` checks a file's weights against its parameters before it builds
    anything real.
    """
    with torch.device("meta"):
        module = build_module(est, kind, n_classes, **shape)
    return {key: (tuple(value.shape), value.dtype) for key, value in module.state_dict().items()}


def ngram_buckets_for(ngram_buckets, n_classes, *, distinct=None, legacy=False):
    """Rows of the n-gram table: ``ngram_buckets`` itself, or the rule of ``'auto'``.

    The rule of ``'auto'`` starts from ``NGRAM_TABLE_BUDGET // n_classes`` rows clipped
    to ``NGRAM_BUCKETS_RANGE`` (65,536 rows up to 256 classes, then fewer, so that the
    table holds at most 16.8M floats, 64 MiB, down to the floor of 1,024 rows reached
    beyond 16,384 classes). Where the training data holds more distinct n-grams than
    half of that (``distinct``, counted by
    :func:`~skseqattn._ngram_blend.count_distinct_ngrams`), the table grows to the
    power of two at or above twice their number, at most ``NGRAM_MAX_ROWS`` rows and
    ``NGRAM_SMALL_BUDGET`` floats (so only up to 64 classes). Word n-grams of a few
    thousand sentences number several hundred thousand: in 65,536 rows each row would
    hold about five, and a linear model over the table loses several points of accuracy
    to the collisions (movie_reviews, logistic regression on the table's features of
    orders 1-4: at most 0.722 in 65,536 rows, 0.768 in 2**20). The real sets of
    ``benchmarks/bench_texts.py`` get 2**20 rows (movie_reviews), 262,144 (trec, 6
    classes; domain families, 9) and 131,072 (surnames, 18; German first names, 2); a
    few hundred names stay at 65,536.
    ``distinct=None`` or ``legacy=True`` gives the starting rule alone, that of models
    saved before ``ngram_buckets_``.
    """
    if ngram_buckets != "auto":
        return int(ngram_buckets)
    n_classes = max(int(n_classes), 1)
    low, high = NGRAM_BUCKETS_RANGE
    rows = int(min(high, max(low, NGRAM_TABLE_BUDGET // n_classes)))
    if legacy or distinct is None:
        return rows
    cap = max(rows, int(min(NGRAM_MAX_ROWS, NGRAM_SMALL_BUDGET // n_classes)))
    wanted = 1 << max(int(2 * distinct - 1).bit_length(), 0)
    return int(min(cap, max(rows, wanted)))


def build_net(
    est, module, *, device, valid_ds, rng, logit_offset=None, net_class=None, verbose=None
):
    """The :class:`SequenceNet` that trains ``module`` with the estimator's settings.

    ``valid_ds`` is the validation :class:`~skseqattn._batches.SequenceDataset` or None
    (then there is no early stopping nor learning-rate schedule); ``rng`` shuffles the
    training batches. ``net_class`` (default :class:`SequenceNet`) and ``verbose`` (default
    the estimator's) are the caller's choice: :func:`skseqattn._distributed.build_distributed_net`
    passes its subclass, so this room never imports the distributed one.
    """
    net_class = SequenceNet if net_class is None else net_class
    verbose = est.verbose if verbose is None else verbose
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
            min_lr=est.lr * LR_FLOOR if est.lr_schedule == "plateau" else None,
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
        max_epochs=epochs_for(est.max_epochs),
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


AUTO_EPOCHS = 30
"""Epochs of ``max_epochs='auto'``."""

MIN_STEPS = 300
"""Fewest optimizer steps of ``max_epochs='auto'``: a small training set is passed over
several times per epoch to reach them."""


def epochs_for(max_epochs) -> int:
    """Epochs of the net: ``max_epochs``, or :data:`AUTO_EPOCHS` for ``'auto'``."""
    return AUTO_EPOCHS if max_epochs == "auto" else int(max_epochs)


def passes_for(max_epochs, n_train, batch_size) -> int:
    """Passes over the training rows per epoch: 1, or with ``max_epochs='auto'`` enough
    that the epochs make at least :data:`MIN_STEPS` optimizer steps.

    An epoch of ``passes`` passes holds ``passes * n_train`` rows (shuffled together), so
    ``ceil(passes * n_train / batch_size)`` batches: 50 rows at batch size 64 take 13
    passes (11 batches an epoch, 330 steps). From ``MIN_STEPS / AUTO_EPOCHS`` batches per
    pass on (577 rows at batch size 64) an epoch is one pass, as with an int ``max_epochs``.
    """
    if max_epochs != "auto" or n_train == 0:
        return 1
    batch_size = max(int(batch_size), 1)
    per_epoch = math.ceil(MIN_STEPS / AUTO_EPOCHS)  # batches each epoch needs
    if math.ceil(n_train / batch_size) >= per_epoch:
        return 1
    return math.ceil(per_epoch * batch_size / n_train)


def validation_split(valid_ds):
    """skorch's ``train_split`` for a fixed validation set (None: no validation)."""
    return predefined_split(valid_ds) if valid_ds is not None else None


_SEEDED_LOCK = threading.RLock()
"""Held by every fit while it trains: torch has one random generator per process."""


@contextlib.contextmanager
def seeded(seed, device):
    """Train under torch seed ``seed`` and the thread limit; the caller's RNG is left alone.

    Weight initialisation and dropout draw from torch's global generator, of which a
    process has one (per device), so two fits in threads of one process (joblib's
    threading backend) would draw from each other's stream. The body therefore holds a
    process-wide lock: such fits take turns, and each gives what it gives alone.
    Re-entrant, so a fit inside a fit (a callback's) does not wait for itself.
    """
    device = torch.device(device)
    fork_devices = [device.index or 0] if device.type == "cuda" else []
    with _SEEDED_LOCK, torch.random.fork_rng(devices=fork_devices), limit_torch_threads():
        torch.manual_seed(seed)
        yield


_INFERENCE_COPY_LOCK = threading.Lock()


def _eval_copy(module, dtype):
    """An evaluation-mode copy of ``module`` sharing its weights, or in ``dtype``.

    With a ``dtype`` the copy's own layers hold that dtype; embedding tables (the token
    embedding, the n-gram table) stay shared as they are. ``module`` is not changed.
    """
    tables = {id(m.weight) for m in module.modules() if isinstance(m, torch.nn.Embedding)}
    memo = {}
    for t in list(module.parameters()) + list(module.buffers()):
        if dtype is None or id(t) in tables or not t.is_floating_point():
            memo[id(t)] = t  # deepcopy hands back the tensor itself: shared
    copied = copy.deepcopy(module, memo)
    if dtype is not None:
        for sub in copied.modules():
            for name, p in list(sub.named_parameters(recurse=False)):
                if id(p) not in memo:
                    # setattr keeps an RNN's list of flat weights in step
                    setattr(sub, name, torch.nn.Parameter(p.detach().to(dtype), False))
            for name, b in list(sub.named_buffers(recurse=False)):
                if id(b) not in memo:
                    sub._buffers[name] = b.to(dtype)
        rnn = getattr(copied, "rnn", None)
        if rnn is not None and hasattr(rnn, "flatten_parameters"):
            rnn.flatten_parameters()
    return copied.eval()


def _noop(*args, **kwargs):
    pass
