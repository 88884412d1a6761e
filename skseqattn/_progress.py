"""What ``fit`` prints for ``verbose``: skorch's epoch table and a tqdm bar over batches.

``verbose=1``: skorch's table, one row per epoch, coloured only on a terminal
(:class:`PlainPrintLog`). ``verbose>=2`` adds a tqdm bar over each epoch's batches, shaped
to where the output goes (:class:`BatchProgress`).
"""

from __future__ import annotations

import os
import sys

from skorch.callbacks import EarlyStopping, PrintLog, ProgressBar
from skorch.utils import Ansi
from tqdm.std import tqdm  # imported by skorch.callbacks already; tqdm.notebook is lazy

__all__ = ["BatchProgress", "PlainPrintLog", "RowFirstEarlyStopping", "progress_callbacks"]

_MODES = ("auto", "tty", "lines", "notebook")

BEST_COLOR = Ansi.GREEN.value
"""The colour of the best value so far in each column (skorch cycles colours by column,
which made the best validation loss red)."""


def progress_callbacks(verbose: int) -> list:
    """Named skorch callbacks that report training progress for ``verbose``.

    Empty below ``2``: the table of ``verbose=1`` is the net's own ``'print_log'``, a
    :class:`PlainPrintLog` (see :class:`skseqattn._net.SequenceNet`).

    Examples
    --------
    >>> from skseqattn._progress import progress_callbacks
    >>> progress_callbacks(0)
    []
    >>> [name for name, _ in progress_callbacks(2)]
    ['batch_progress']
    """
    return [("batch_progress", BatchProgress())] if int(verbose) >= 2 else []


class PlainPrintLog(PrintLog):
    """skorch's :class:`~skorch.callbacks.PrintLog`, coloured only on a terminal.

    skorch's PrintLog colours the best values wherever it prints, leaving ``'\\x1b[...m'``
    in log files and CI output; this one decides at each epoch whether to colour, and
    colours every best value green (:data:`BEST_COLOR`; skorch gives each column a colour
    of its own, which made the best validation loss red). It prints each epoch's row once,
    also when :class:`RowFirstEarlyStopping` asked for it before its own message.

    Parameters
    ----------
    color : {'auto', True, False}, default='auto'
        ``'auto'`` colours the best values only when `sink` is :func:`print`, standard
        output is a terminal and ``NO_COLOR`` is unset; ``True`` always, ``False`` never.
    **kwargs
        Passed to :class:`~skorch.callbacks.PrintLog`.

    Examples
    --------
    >>> from skseqattn._progress import PlainPrintLog
    >>> log = PlainPrintLog(color=False).initialize()
    >>> row = {"epoch": 1, "train_loss": 0.5, "train_loss_best": True, "dur": 0.25}
    >>> print(log.table(row))
      epoch    train_loss     dur
    -------  ------------  ------
          1        0.5000  0.2500
    """

    def __init__(self, color="auto", **kwargs):
        super().__init__(**kwargs)
        self.color = color

    def initialize(self):
        super().initialize()
        if self.color not in ("auto", True, False):
            raise ValueError(
                f"PlainPrintLog expected color to be 'auto', True or False, got "
                f"{self.color!r}; pass color='auto' to colour only on a terminal."
            )
        self.use_color_ = self.color is True
        self.printed_rows_ = 0
        return self

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) <= getattr(self, "printed_rows_", 0):
            return  # printed already, ahead of an early-stopping message
        if self.color == "auto":
            self.use_color_ = (
                self.sink is print and not os.environ.get("NO_COLOR") and _isatty(sys.stdout)
            )
        super().on_epoch_end(net, **kwargs)
        self.printed_rows_ = len(net.history)

    def format_row(self, row, key, color):
        if not self.use_color_:
            row = {key: row[key]}  # without its '_best' flag, skorch formats it plain
        return super().format_row(row, key, BEST_COLOR)


class RowFirstEarlyStopping(EarlyStopping):
    """skorch's :class:`~skorch.callbacks.EarlyStopping`, printing after the epoch's row.

    It also stops once the learning rate has fallen to ``min_lr`` (None: never), the
    floor :func:`~skseqattn._net.build_net` sets under the ``'plateau'`` schedule.

    skorch's net runs the table's :class:`~skorch.callbacks.PrintLog` after every other
    callback; early stopping ends the epoch from its own ``on_epoch_end``, before that, so
    the last epoch's row was never printed. This one closes the epoch's
    :class:`BatchProgress` bar and has the net's :class:`PlainPrintLog` print the row
    first, then writes its message.
    """

    def __init__(self, *args, min_lr=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.min_lr = min_lr

    def on_epoch_end(self, net, **kwargs):
        self._net = net
        try:
            super().on_epoch_end(net, **kwargs)
            lr = net.optimizer_.param_groups[0]["lr"]
            if self.min_lr is not None and lr <= self.min_lr:
                # the schedule has cut the rate so far that later epochs barely move the
                # weights: they cost time and, at best, a third decimal of the loss
                self._sink(
                    f"Stopping since the learning rate fell to {lr:.3g}.",
                    verbose=net.verbose,
                )
                raise KeyboardInterrupt
        finally:
            del self._net

    def _sink(self, text, verbose):
        net = getattr(self, "_net", None)
        if net is not None:
            callbacks = [cb for _, cb in getattr(net, "callbacks_", [])]
            for callback in callbacks:
                if isinstance(callback, BatchProgress) and getattr(callback, "pbar_", None):
                    callback.pbar_.close()
            for callback in callbacks:
                if isinstance(callback, PlainPrintLog):
                    callback.on_epoch_end(net)
        super()._sink(text, verbose)


class BatchProgress(ProgressBar):
    """skorch's :class:`~skorch.callbacks.ProgressBar`, shaped to where the output goes.

    Parameters
    ----------
    mode : {'auto', 'tty', 'lines', 'notebook'}, default='auto'
        ``'tty'``: tqdm's bar, rewritten in place and erased at the epoch's end.
        ``'lines'``: a plain line at every tenth of the batches, for logs: no ``'\\r'``,
        no escape code. ``'notebook'``: tqdm's widget; ``'tty'`` (which Jupyter updates in
        place too) without ipywidgets. ``'auto'``: ``'notebook'`` in an IPython kernel
        (unless `stream` is set), else ``'tty'`` on a terminal, else ``'lines'``.
    stream : file-like or None, default=None
        Where ``'tty'`` and ``'lines'`` write; None is ``sys.stdout`` at each epoch's start.
    min_interval : float, default=0.1
        Seconds between two updates of the ``'tty'`` and ``'notebook'`` bars.
    """

    def __init__(self, mode="auto", stream=None, min_interval=0.1):
        super().__init__()
        self.mode = mode
        self.stream = stream
        self.min_interval = min_interval

    def initialize(self):
        if self.mode not in _MODES:
            raise ValueError(
                f"BatchProgress expected mode to be one of {_MODES}, got {self.mode!r}; "
                "use 'auto' to pick from where the output goes."
            )
        self.mode_ = None
        return self

    def on_train_begin(self, net, **kwargs):
        self.mode_ = self._resolve_mode()

    def _resolve_mode(self):
        mode = self.mode
        if mode == "auto":
            in_kernel = self.stream is None and _in_ipython_kernel()
            mode = "notebook" if in_kernel else "tty" if _isatty(self._out()) else "lines"
        if mode == "notebook" and _notebook_tqdm() is None:
            mode = "tty"  # no ipywidgets: tqdm's text bar, which Jupyter updates in place
        return mode

    def _out(self):
        return self.stream if self.stream is not None else sys.stdout

    def _get_batches_per_epoch_phase(self, net, dataset, training):
        # skorch's ceil(len / batch_size) misses the validation batches cut at length changes
        if dataset is None:
            return 0
        try:
            return len(net.get_iterator(dataset, training=training))
        except TypeError:  # an iterator without __len__
            return None

    def on_epoch_begin(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        self.mode_ = self.mode_ or self._resolve_mode()
        n_train = self._get_batches_per_epoch_phase(net, dataset_train, True)
        n_valid = self._get_batches_per_epoch_phase(net, dataset_valid, False)
        total = None if None in (n_train, n_valid) else n_train + n_valid
        bar = dict(total=total, desc=f"epoch {len(net.history)}", leave=False)
        if self.mode_ == "notebook":
            self.pbar_ = _notebook_tqdm()(mininterval=self.min_interval, **bar)
        elif self.mode_ == "tty":
            self.pbar_ = tqdm(file=self._out(), mininterval=self.min_interval, **bar)
        else:
            total_fmt = "/{total_fmt} ({percentage:.0f}%)" if total else ""
            fmt = "{desc}: batch {n_fmt}" + total_fmt + "{postfix}, {elapsed}"
            self.pbar_ = _LineTqdm(file=self._out(), bar_format=fmt, **bar)

        self.phase_ = None
        self.phase_loss_ = [0.0, 0]  # the phase's loss summed over rows, and its rows

    def on_batch_begin(self, net, batch=None, training=None, **kwargs):
        phase = "train" if training else "valid"
        if phase != getattr(self, "phase_", None):
            # A new phase: the postfix must not go on showing the other phase's loss.
            self.phase_, self.phase_loss_ = phase, [0.0, 0]
            if phase == "valid":
                self.pbar_.set_postfix_str("validating")

    def on_batch_end(self, net, training=None, **kwargs):
        """Show the running mean loss of the phase (training or validation) so far.

        At the end of the phase it is the value the epoch's table shows.
        """
        phase = getattr(self, "phase_", None) or ("train" if training else "valid")
        batch = net.history[-1, "batches", -1]
        loss, size = batch.get(f"{phase}_loss"), batch.get(f"{phase}_batch_size", 1)
        if loss is not None:
            self.phase_loss_[0] += float(loss) * size
            self.phase_loss_[1] += size
            mean = self.phase_loss_[0] / self.phase_loss_[1]
            self.pbar_.set_postfix({f"{phase}_loss": mean}, refresh=False)
        self.pbar_.update()

    def on_train_end(self, net, **kwargs):
        if getattr(self, "pbar_", None) is not None:  # interrupted mid-epoch
            self.pbar_.close()


class _LineTqdm(tqdm):
    """tqdm for a log: a line at every tenth of the total (or 50 batches), no ``'\\r'``."""

    def __init__(self, *args, **kwargs):
        self.lines_shown = 0
        super().__init__(*args, mininterval=0, miniters=1, position=0, **kwargs)

    def display(self, msg=None, pos=None):
        lines = self.n * 10 // self.total if self.total else self.n // 50
        if msg is None and lines > self.lines_shown:
            self.lines_shown = lines
            self.fp.write(f"{self}\n")
            self.fp.flush()
        return False  # nothing to erase, so close() writes no '\r'

    def clear(self, nolock=False):
        pass  # tqdm.write() would erase the in-place line: there is none


def _notebook_tqdm():
    """``tqdm.notebook.tqdm``, or None without ipywidgets (tqdm's widget needs it)."""
    from tqdm import notebook

    return notebook.tqdm if notebook.IProgress is not None else None


def _in_ipython_kernel() -> bool:
    """True inside a Jupyter (IPython) kernel; never imports IPython to find out."""
    get_ipython = getattr(sys.modules.get("IPython"), "get_ipython", lambda: None)
    return getattr(get_ipython(), "kernel", None) is not None


def _isatty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):  # no isatty, or a closed stream
        return False
