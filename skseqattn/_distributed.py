"""Data-parallel training on ``torch.distributed``: one model, N processes, one shard each.

``BiLSTMAttentionClassifier(distributed=True)`` in a script launched by ``torchrun
--nproc_per_node=N script.py`` trains one model across the N processes. Every process
holds all the data and the same validation split (same ``random_state``); what differs
is which batches it trains on:

- :class:`ShardedBatches` cuts each epoch's length-bucketed batches (drawn from the same
  seeded permutation on every rank) into N strided shards of equal length, repeating the
  first batches where the count does not divide, so every rank runs the same number of
  steps and no collective waits for a rank that has finished. Validation batches are
  split without repetition.
- :class:`DistributedSequenceNet` runs each training forward through
  :class:`torch.nn.parallel.DistributedDataParallel`, which averages the dense gradients
  during the backward pass. The n-gram table's gradients are sparse, which NCCL cannot
  all-reduce; the table is left out of DDP and its rows are all-gathered and averaged by
  :func:`average_sparse_gradient` on both back-ends, so the same code runs on gloo and NCCL.
- The epoch's losses and accuracies are summed over the ranks (:meth:`all_sum`), so the
  history, early stopping and the learning-rate schedule see the same numbers everywhere
  and stop on the same epoch; with identical averaged gradients all ranks end with
  identical weights.

The DDP wrapper lives only while the net trains: ``module_`` stays the plain module, so
the fitted estimator pickles, saves, exports and predicts (on all rows, in every process)
exactly as one fitted in a single process.

Why DDP around the module and not skorch's ``AccelerateMixin``: no extra dependency
(``accelerate``), and the sharding, the history and early stopping must agree across ranks
in ways the mixin (experimental) leaves to the user.
"""

from __future__ import annotations

import os
import zlib
from dataclasses import dataclass

import numpy as np
import torch
import torch.distributed as dist
from skorch.callbacks import PassthroughScoring

from ._net import SequenceNet, build_net

__all__ = [
    "DistributedSequenceNet",
    "agree",
    "ProcessGroup",
    "ShardedBatches",
    "average_sparse_gradient",
    "build_distributed_net",
    "is_main_process",
    "join_process_group",
]

_LAUNCH_ENV = ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")


@dataclass(frozen=True)
class ProcessGroup:
    """Where this process stands in the default process group."""

    rank: int
    world_size: int
    backend: str
    device: str


def is_main_process() -> bool:
    """True on rank 0, and outside any process group (a loaded model, say)."""
    return not (dist.is_available() and dist.is_initialized()) or dist.get_rank() == 0


def join_process_group(device, *, who) -> ProcessGroup:
    """The default process group, initialised from the launcher's environment if need be.

    ``device`` is the estimator's resolved device: on CUDA each process takes the GPU
    ``LOCAL_RANK`` (when no index was given) and the group uses NCCL; on the CPU, gloo.
    """
    if not dist.is_available():
        raise RuntimeError(
            f"{who} with distributed=True needs torch.distributed, which this PyTorch build "
            "lacks; install a build with distributed support or set distributed=False."
        )
    cuda = torch.device(device).type == "cuda"
    if cuda and torch.device(device).index is None:
        device = f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}"
    if not dist.is_initialized():
        missing = [name for name in _LAUNCH_ENV if name not in os.environ]
        if missing:
            raise RuntimeError(
                f"{who} with distributed=True found no torch.distributed process group and "
                f"no launcher environment (missing {', '.join(missing)}); launch the script "
                "with `torchrun --nproc_per_node=N script.py`, or call "
                "torch.distributed.init_process_group() before fit, or set "
                "distributed=False."
            )
        if cuda:
            torch.cuda.set_device(torch.device(device))
        dist.init_process_group(backend="nccl" if cuda else "gloo")
    return ProcessGroup(dist.get_rank(), dist.get_world_size(), dist.get_backend(), str(device))


def _collective_device():
    """The device collectives take tensors on: the current GPU for NCCL, else the CPU."""
    if dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def check_callbacks(callbacks, *, who) -> None:
    """Refuse skorch's scoring callbacks, which would score one rank's shard only.

    ``EpochScoring`` and ``BatchScoring`` compute their score from the predictions of the
    batches their process saw (and may cache them), so under data parallelism each rank
    would record a different score, and early stopping on it could stop one rank and
    leave the other waiting. The estimator's own metrics (loss, accuracy) are summed over
    the ranks instead.
    """
    from skorch.callbacks import BatchScoring, EpochScoring

    for item in callbacks or ():
        callback = item[1] if isinstance(item, tuple) else item
        if isinstance(callback, (EpochScoring, BatchScoring)):
            raise ValueError(
                f"{who} with distributed=True cannot use the scoring callback "
                f"{type(callback).__name__}: each process scores only its own shard of the "
                "data, so the processes would disagree (and early stopping on it could "
                "hang). Use the metrics the estimator sums over all processes "
                "(train_loss, valid_loss, train_acc, valid_acc in history_), score the "
                "fitted model afterwards, or set distributed=False."
            )


def agree(device, seed, arrays, *, who):
    """Join the group; return this rank's device and rank 0's seed, after checking data."""
    group = join_process_group(device, who=who)
    check_same_data(who, *arrays)
    return group.device, broadcast_seed(seed)


def broadcast_seed(seed: int) -> int:
    """Rank 0's seed on every rank (``random_state=None`` draws one per process)."""
    t = torch.tensor([seed], dtype=torch.int64, device=_collective_device())
    dist.broadcast(t, src=0)
    return int(t.item())


def check_same_data(who, *arrays) -> None:
    """Raise on every rank if the ranks were handed different training data.

    Each rank must pass the same ``X`` and ``y`` (it trains on its own shard of them);
    different data would train on a mix and validate on different rows, silently.
    """
    crc = 0
    for a in arrays:
        crc = zlib.crc32(np.ascontiguousarray(a).tobytes(), crc)
    mine = torch.tensor([len(arrays[0]), crc], dtype=torch.int64, device=_collective_device())
    every = [torch.zeros_like(mine) for _ in range(dist.get_world_size())]
    dist.all_gather(every, mine)
    if any(not torch.equal(other, every[0]) for other in every):
        rows = [int(t[0]) for t in every]
        raise ValueError(
            f"{who} with distributed=True got different training data on different ranks "
            f"(rows per rank: {rows}); every process must pass the same X and y to fit "
            "(each trains on its own shard of them): load the full data set in every process."
        )


def average_sparse_gradient(param) -> None:
    """Replace ``param.grad`` (sparse) by its mean over the ranks, identically on all.

    The coalesced rows of every rank are all-gathered (padded to the largest count) and
    concatenated in rank order, so every rank builds the same sum.
    """
    world = dist.get_world_size()
    device = _collective_device()
    grad = param.grad
    if grad is None:
        grad = torch.sparse_coo_tensor(
            torch.zeros((1, 0), dtype=torch.int64), torch.zeros((0, *param.shape[1:])), param.shape
        )
    grad = grad.coalesce()
    rows = grad.indices()[0].to(device)  # (nnz,)
    values = grad.values().to(device)  # (nnz, n_classes)
    count = torch.tensor([len(rows)], dtype=torch.int64, device=device)
    counts = [torch.zeros_like(count) for _ in range(world)]
    dist.all_gather(counts, count)
    counts = [int(c) for c in counts]
    most = max(counts)
    padded_rows = torch.zeros(most, dtype=torch.int64, device=device)
    padded_rows[: len(rows)] = rows
    padded_values = values.new_zeros((most, *values.shape[1:]))
    padded_values[: len(rows)] = values
    all_rows = [torch.zeros_like(padded_rows) for _ in range(world)]
    all_values = [torch.zeros_like(padded_values) for _ in range(world)]
    dist.all_gather(all_rows, padded_rows)
    dist.all_gather(all_values, padded_values)
    rows = torch.cat([r[:c] for r, c in zip(all_rows, counts)])
    values = torch.cat([v[:c] for v, c in zip(all_values, counts)]) / world
    param.grad = torch.sparse_coo_tensor(
        rows.unsqueeze(0).to(param.device),
        values.to(param.device, param.dtype),
        param.shape,
        check_invariants=False,
    ).coalesce()


class ShardedBatches:
    """This rank's share of a :class:`~skseqattn._batches.BucketBatchIterator`'s batches.

    Parameters
    ----------
    iterator : BucketBatchIterator
        Draws the epoch's batches; the same on every rank (same seeded generator).
    rank, world_size : int
    pad : bool
        Training: every rank gets ``ceil(n_batches / world_size)`` batches, the first
        batches repeated to fill the last round. Validation (False): a disjoint share,
        possibly empty.
    """

    def __init__(self, iterator, rank, world_size, pad):
        self.iterator = iterator
        self.rank = rank
        self.world_size = world_size
        self.pad = pad
        self.dataset = iterator.dataset

    def _share(self, batches):
        n, world = len(batches), self.world_size
        if self.pad and n:
            per_rank = -(-n // world)
            batches = [batches[i % n] for i in range(per_rank * world)]
        return batches[self.rank :: world]

    def __len__(self):
        return len(self._share(range(len(self.iterator))))

    def __iter__(self):
        for indices in self._share(self.iterator._batches()):
            yield self.iterator.load(indices)


class ReducedPassthroughScoring(PassthroughScoring):
    """skorch's epoch loss, averaged over the batches of every rank (sizes as weights)."""

    def on_epoch_end(self, net, **kwargs):
        bs_key = "train_batch_size" if self.on_train else "valid_batch_size"
        total, size = 0.0, 0.0
        for batch in net.history[-1]["batches"]:
            if self.name in batch:
                total += float(batch[self.name]) * batch[bs_key]
                size += batch[bs_key]
        total, size = net.all_sum(np.array([total, size]))
        if not size:  # no validation data on any rank
            return
        score = total / size
        is_best = self._is_best_score(score)
        if is_best:
            self.best_score_ = score
        net.history.record(self.name, score)
        if is_best is not None:
            net.history.record(self.name + "_best", bool(is_best))


class DistributedSequenceNet(SequenceNet):
    """A :class:`~skseqattn._net.SequenceNet` that trains data-parallel across the ranks.

    Built by :func:`build_distributed_net` for ``distributed=True``; it needs the
    default process group only while it trains (:meth:`partial_fit`).
    """

    def get_default_callbacks(self):
        callbacks = []
        for name, cb in super().get_default_callbacks():
            if isinstance(cb, PassthroughScoring):
                cb = ReducedPassthroughScoring(
                    name=cb.name, lower_is_better=cb.lower_is_better, on_train=cb.on_train
                )
            callbacks.append((name, cb))
        return callbacks

    def _group(self):
        if not dist.is_initialized():
            raise RuntimeError(
                "This model was built with distributed=True and trains only inside a "
                "torch.distributed process group; launch the script with torchrun, or set "
                "distributed=False and refit."
            )
        return dist.get_rank(), dist.get_world_size()

    def partial_fit(self, X, y=None, classes=None, **fit_params):
        rank, _ = self._group()
        if rank:
            self.verbose = 0
            # different dropout masks on each rank (the weights come from rank 0 anyway)
            torch.manual_seed(torch.initial_seed() + rank)
        if not self.initialized_:
            self.initialize()
        sparse = {
            id(m.weight)
            for m in self.module_.modules()
            if isinstance(m, torch.nn.Embedding) and m.sparse
        }
        ignored = [n for n, p in self.module_.named_parameters() if id(p) in sparse]
        self.__dict__["_sparse_params"] = [
            p for p in self.module_.parameters() if id(p) in sparse and p.requires_grad
        ]
        torch.nn.parallel.DistributedDataParallel._set_params_and_buffers_to_ignore_for_model(
            self.module_, ignored
        )
        self.__dict__["_ddp"] = torch.nn.parallel.DistributedDataParallel(
            self.module_, device_ids=None
        )
        try:
            return super().partial_fit(X, y, classes=classes, **fit_params)
        finally:
            self.__dict__.pop("_ddp", None)
            self.__dict__.pop("_sparse_params", None)

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_ddp", None)
        state.pop("_sparse_params", None)
        return state

    def training_module(self):
        ddp = self.__dict__.get("_ddp")
        return self.module_ if ddp is None else ddp

    def reduce_gradients(self):
        if "_ddp" not in self.__dict__:
            return
        for param in self.__dict__["_sparse_params"]:
            average_sparse_gradient(param)

    def all_sum(self, values):
        if not dist.is_initialized():
            return values
        t = torch.as_tensor(np.asarray(values, dtype=np.float64), device=_collective_device())
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
        return t.cpu().numpy()

    def get_iterator(self, dataset, training=False):
        iterator = super().get_iterator(dataset, training=training)
        if not dist.is_initialized():
            return iterator
        return ShardedBatches(iterator, dist.get_rank(), dist.get_world_size(), pad=training)


def build_distributed_net(est, module, **kwargs):
    """:func:`~skseqattn._net.build_net` for ``distributed=True``: a
    :class:`DistributedSequenceNet`, and only rank 0 prints.

    The estimator picks this builder; imports flow one way (``_distributed`` -> ``_net``).
    """
    verbose = est.verbose if is_main_process() else 0
    return build_net(est, module, net_class=DistributedSequenceNet, verbose=verbose, **kwargs)
