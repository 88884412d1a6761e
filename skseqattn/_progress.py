"""Progress reporting for long fits, tied to the estimators' ``verbose`` parameter.

The levels of ``verbose``:

``0``
    Silent.
``1``
    One line per epoch: skorch's table of epoch, training and validation loss and
    accuracy, and duration (the first epoch also prints the table's header). Best values
    are coloured only when standard output is an interactive terminal and the ``NO_COLOR``
    environment variable is unset; written to a file, a pipe or a Jupyter notebook the
    table is plain text, with no ANSI escape codes.
``2`` (or more)
    As ``1``, plus progress over the batches of each epoch, shaped to where the output
    goes:

    - an interactive terminal: one line rewritten in place (``'\\r'``) as batches end,
      erased before the epoch's row of the table is printed;
    - redirected output (a log file, a pipe, a CI job): a plain line at every tenth of
      the epoch's training batches, never a carriage return or an escape code;
    - a Jupyter notebook (an IPython kernel): one display updated in place, an HTML
      progress bar with a plain-text fallback, through ``IPython.display``; neither
      ipywidgets nor tqdm is needed.

:func:`progress_callbacks` returns the skorch callbacks for a level; the classifier adds
them to the ones it builds in ``fit``.
"""

from __future__ import annotations

import os
import sys
import time
from numbers import Number

from skorch.callbacks import Callback, PrintLog

__all__ = ["BatchProgress", "PlainPrintLog", "progress_callbacks"]

_MODES = ("auto", "tty", "lines", "notebook")
_BAR_WIDTH = 20


def progress_callbacks(verbose: int) -> list:
    """Named skorch callbacks that report training progress for ``verbose``.

    Parameters
    ----------
    verbose : int or bool
        The estimator's ``verbose``; see the module docstring for what each level prints.

    Returns
    -------
    callbacks : list of (str, skorch.callbacks.Callback)
        Empty below ``2``: the per-epoch table of ``verbose=1`` is the net's own
        ``'print_log'``, a :class:`PlainPrintLog` (see :class:`skseqattn._net.SequenceNet`).
        From ``2`` on, a :class:`BatchProgress`.

    Examples
    --------
    >>> from skseqattn._progress import progress_callbacks
    >>> progress_callbacks(0)
    []
    >>> [name for name, _ in progress_callbacks(2)]
    ['batch_progress']
    """
    level = int(verbose)
    callbacks = []
    if level >= 2:
        callbacks.append(("batch_progress", BatchProgress()))
    return callbacks


# ---------------------------------------------------------------------- epoch table


class PlainPrintLog(PrintLog):
    """skorch's :class:`~skorch.callbacks.PrintLog`, coloured only on a terminal.

    skorch's PrintLog wraps the best value of each column in ANSI colour codes wherever
    it prints, which leaves ``'\\x1b[...m'`` garbage in log files and CI output. This one
    prints the same table and decides at each epoch whether to colour it.

    Parameters
    ----------
    color : {'auto', True, False}, default='auto'
        ``'auto'`` colours the best values only when `sink` is :func:`print`, standard
        output is an interactive terminal and the ``NO_COLOR`` environment variable is
        unset. ``True`` always colours, ``False`` never does.
    **kwargs
        Passed to :class:`~skorch.callbacks.PrintLog` (``keys_ignored``, ``sink``,
        ``tablefmt``, ``floatfmt``, ``stralign``).

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
        return self

    def on_epoch_end(self, net, **kwargs):
        if self.color == "auto":
            self.use_color_ = self.sink is print and _stdout_wants_color()
        super().on_epoch_end(net, **kwargs)

    def format_row(self, row, key, color):
        """Format one cell; colour it only if it is a best value and colours are on."""
        if getattr(self, "use_color_", False):
            return super().format_row(row, key, color)
        value = row[key]
        if isinstance(value, bool) or value is None:
            return "+" if value else ""
        if not isinstance(value, Number):
            return value
        template = "{}" if float(value).is_integer() else "{:" + self.floatfmt + "}"
        return template.format(value)


def _stdout_wants_color() -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    return _isatty(sys.stdout)


def _isatty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):  # no isatty, or a closed stream
        return False


# ---------------------------------------------------------------------- batch progress


class BatchProgress(Callback):
    """Report progress over the batches of each epoch, without control-code garbage.

    Parameters
    ----------
    mode : {'auto', 'tty', 'lines', 'notebook'}, default='auto'
        Where the progress goes:

        - ``'tty'``: one line rewritten in place with ``'\\r'``, erased at the end of the
          epoch (for an interactive terminal);
        - ``'lines'``: a plain line at every ``1 / n_lines`` of the training batches (for
          output redirected to a file or a pipe);
        - ``'notebook'``: one ``IPython.display`` output updated in place (an HTML
          progress bar with a text fallback), falling back to ``'lines'`` when IPython
          cannot be imported;
        - ``'auto'``: ``'notebook'`` inside an IPython kernel writing to ``sys.stdout``,
          else ``'tty'`` if `stream` is an interactive terminal, else ``'lines'``.

    stream : file-like or None, default=None
        Where ``'tty'`` and ``'lines'`` write; None is ``sys.stdout`` at the time of
        writing.
    n_lines : int, default=10
        Lines per epoch in ``'lines'`` mode.
    min_interval : float, default=0.1
        Seconds between two updates in ``'tty'`` and ``'notebook'`` modes.

    Examples
    --------
    >>> import io
    >>> from skseqattn._progress import BatchProgress
    >>> out = io.StringIO()
    >>> progress = BatchProgress(mode="lines", stream=out, n_lines=2).initialize()
    >>> progress._start_epoch(epoch=1, n_train=4, n_valid=None)
    >>> for _ in range(4):
    ...     progress._batch_done(training=True, loss=0.5)
    >>> for line in out.getvalue().splitlines():
    ...     print(line.rsplit(", ", 1)[0])  # drop the elapsed time
    epoch 1: batch 2/4 (50%), loss 0.5000
    epoch 1: batch 4/4 (100%), loss 0.5000
    """

    def __init__(self, mode="auto", stream=None, n_lines=10, min_interval=0.1):
        self.mode = mode
        self.stream = stream
        self.n_lines = n_lines
        self.min_interval = min_interval

    def initialize(self):
        if self.mode not in _MODES:
            raise ValueError(
                f"BatchProgress expected mode to be one of {_MODES}, got {self.mode!r}; "
                "use 'auto' to pick from where the output goes."
            )
        self.mode_ = None
        self._display = None
        self._shown = 0
        return self

    # -- skorch hooks

    def on_train_begin(self, net, **kwargs):
        self.mode_ = self._resolve_mode()

    def on_epoch_begin(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        epoch = len(net.history)
        n_train = _n_batches(net, dataset_train, training=True)
        n_valid = _n_batches(net, dataset_valid, training=False)
        self._start_epoch(epoch=epoch, n_train=n_train, n_valid=n_valid)

    def on_batch_end(self, net, training=False, loss=None, **kwargs):
        value = None
        if loss is not None:
            try:
                value = float(loss.item() if hasattr(loss, "item") else loss)
            except (TypeError, ValueError):
                value = None
        self._batch_done(training=training, loss=value)

    def on_epoch_end(self, net, **kwargs):
        self._finish_epoch()

    def on_train_end(self, net, **kwargs):
        self._finish_epoch()

    # -- the state machine, separate from skorch so that it can be tested alone

    def _resolve_mode(self):
        mode = self.mode if self.mode != "auto" else None
        if mode is None:
            if self.stream is None and _in_ipython_kernel():
                mode = "notebook"
            elif _isatty(self._out()):
                mode = "tty"
            else:
                mode = "lines"
        if mode == "notebook" and _ipython_display() is None:
            mode = "lines"
        return mode

    def _out(self):
        return self.stream if self.stream is not None else sys.stdout

    def _start_epoch(self, *, epoch, n_train, n_valid):
        if getattr(self, "mode_", None) is None:
            self.mode_ = self._resolve_mode()
        self._epoch = epoch
        self._n = {True: n_train, False: n_valid}
        self._done = {True: 0, False: 0}
        self._loss_sum = 0.0
        self._loss_count = 0
        self._milestone = 0
        self._t0 = time.monotonic()
        self._last_update = float("-inf")
        self._display = None
        self._shown = 0

    def _batch_done(self, *, training, loss):
        if not hasattr(self, "_done"):  # a batch outside an epoch: nothing to report
            return
        self._done[training] += 1
        if training and loss is not None:
            self._loss_sum += loss
            self._loss_count += 1
        if self.mode_ == "lines":
            self._maybe_write_line(training)
            return
        total = self._n[training]
        last = total is not None and self._done[training] >= total
        now = time.monotonic()
        if not last and now - self._last_update < self.min_interval:
            return
        self._last_update = now
        if self.mode_ == "tty":
            self._write_tty(training)
        else:
            self._update_display(training)

    def _finish_epoch(self):
        if self.mode_ == "tty" and self._shown:
            out = self._out()
            out.write("\r" + " " * self._shown + "\r")
            out.flush()
            self._shown = 0
        elif self.mode_ == "notebook" and self._display is not None:
            self._display.update(_ProgressView("", "", None, None))
            self._display = None

    # -- rendering

    def _loss_text(self):
        if not self._loss_count:
            return ""
        return f"loss {self._loss_sum / self._loss_count:.4f}"

    def _elapsed_text(self):
        return f"{time.monotonic() - self._t0:.1f}s"

    def _status(self, training):
        phase = "train" if training else "valid"
        done, total = self._done[training], self._n[training]
        count = f"{done}/{total}" if total else f"{done}"
        parts = [f"epoch {self._epoch}", f"{phase} batch {count}", self._loss_text()]
        parts.append(self._elapsed_text())
        return "  ".join(p for p in parts if p)

    def _maybe_write_line(self, training):
        if not training:
            return
        done, total = self._done[True], self._n[True]
        n_lines = max(int(self.n_lines), 1)
        if total:
            milestone = done * n_lines // total
            if milestone <= self._milestone:
                return
            self._milestone = milestone
            where = f"batch {done}/{total} ({100 * done // total}%)"
        else:
            if done % 50:
                return
            where = f"batch {done}"
        parts = [f"epoch {self._epoch}: {where}", self._loss_text(), self._elapsed_text()]
        out = self._out()
        out.write(", ".join(p for p in parts if p) + "\n")
        out.flush()

    def _write_tty(self, training):
        total = self._n[training]
        done = self._done[training]
        bar = ""
        if total:
            filled = min(_BAR_WIDTH, done * _BAR_WIDTH // total)
            bar = "[" + "#" * filled + "." * (_BAR_WIDTH - filled) + "] "
        text = bar + self._status(training)
        out = self._out()
        out.write("\r" + text + " " * max(self._shown - len(text), 0))
        out.flush()
        self._shown = max(self._shown, len(text))

    def _update_display(self, training):
        view = _ProgressView(
            self._status(training),
            "train" if training else "valid",
            self._done[training],
            self._n[training],
        )
        if self._display is None:
            display = _ipython_display()
            self._display = display(view, display_id=True)
        else:
            self._display.update(view)


class _ProgressView:
    """What a notebook shows: an HTML progress bar, or the same words as plain text."""

    def __init__(self, text, phase, done, total):
        self.text = text
        self.phase = phase
        self.done = done
        self.total = total

    def __repr__(self):
        return self.text

    def _repr_html_(self):
        import html

        if not self.text:
            return ""
        bar = ""
        if self.total:
            value = f'value="{self.done}" max="{self.total}"'
            bar = f'<progress {value} style="width:12em"></progress> '
        return f"<div><code>{bar}{html.escape(self.text)}</code></div>"


def _n_batches(net, dataset, *, training):
    """Number of batches of one pass over `dataset`, or None if it cannot be known."""
    if dataset is None:
        return None
    try:
        return len(net.get_iterator(dataset, training=training))
    except TypeError:  # an iterator without __len__
        return None


def _in_ipython_kernel() -> bool:
    """True inside a Jupyter (IPython) kernel; never imports IPython to find out."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    get_ipython = getattr(ipython, "get_ipython", None)
    shell = get_ipython() if get_ipython is not None else None
    return getattr(shell, "kernel", None) is not None


def _ipython_display():
    """``IPython.display.display``, or None when IPython cannot be imported."""
    try:
        from IPython.display import display
    except ImportError:
        return None
    return display
