"""Tests of skseqattn._progress: verbose levels, and output free of control codes."""

import contextlib
import io
import os
import pickle
import subprocess
import sys
import textwrap
import types
from functools import partial

import numpy as np
import pytest
from skorch.callbacks import PrintLog
from skorch.history import History
from tqdm.std import tqdm as tqdm_std

from skseqattn import _progress
from skseqattn._progress import BatchProgress, PlainPrintLog, progress_callbacks

from conftest import tiny_classifier

ESC = "\x1b["


class _TTY(io.StringIO):
    def isatty(self):
        return True


def _data(n=136):
    rng = np.random.RandomState(0)
    X = rng.randint(2, 6, size=(n, 6))
    y = (X[:, 0] == 2).astype(int)
    return X, y


# 51 validation rows (enough to validate on) and 85 training rows: 6 batches of 16
_tiny = partial(
    tiny_classifier, embedding_dim=4, hidden_size=4, batch_size=16, validation_fraction=0.37
)


def test_net_print_log_is_plain():
    from skseqattn._net import SequenceNet
    from skseqattn._progress import PlainPrintLog

    defaults = dict(SequenceNet(module=None, criterion=None).get_default_callbacks())
    assert type(defaults["print_log"]) is PlainPrintLog


def test_progress_callbacks_levels():
    assert progress_callbacks(0) == []
    assert progress_callbacks(False) == []
    assert progress_callbacks(1) == []  # the net's own print_log is already plain
    two = dict(progress_callbacks(2))
    assert list(two) == ["batch_progress"]
    assert isinstance(two["batch_progress"], BatchProgress)
    assert list(dict(progress_callbacks(5))) == list(two)


def test_fit_verbose_0_prints_nothing(capsys):
    X, y = _data(48)
    _tiny(max_epochs=1).fit(X, y)
    captured = capsys.readouterr()
    assert captured.out == ""


def test_fit_verbose_1_one_plain_line_per_epoch(capsys):
    X, y = _data()
    user_log = PrintLog(sink=lambda text: None)
    clf = _tiny(verbose=1, callbacks=[("my_log", user_log)]).fit(X, y)
    out = capsys.readouterr().out
    assert ESC not in out and "\r" not in out
    lines = out.splitlines()
    assert "epoch" in lines[0] and "train_loss" in lines[0] and "valid_acc" in lines[0]
    rows = [line.split() for line in lines[2:]]
    assert [row[0] for row in rows] == ["1", "2"]  # one row per epoch, no batch lines
    callbacks = dict(clf.net_.callbacks_)
    assert type(callbacks["print_log"]) is PlainPrintLog  # skorch's default was swapped
    assert callbacks["my_log"] is user_log  # the user's own PrintLog is left alone


def test_fit_verbose_2_redirected_output_has_no_control_codes(capsys):
    X, y = _data()
    _tiny(verbose=2).fit(X, y)
    out = capsys.readouterr().out
    assert ESC not in out and "\r" not in out
    lines = out.splitlines()
    batch_lines = [line for line in lines if line.startswith("epoch 1: batch")]
    # 86 training rows / 16 per batch = 6 batches, and 1 validation batch: a line at each
    # tenth that a batch crosses, the last one after the epoch's table header
    assert batch_lines[-1].startswith("epoch 1: batch 7/7 (100%), valid_loss=")
    assert batch_lines[0].startswith("epoch 1: batch 1/7 (14%), train_loss=")
    assert 3 <= len(batch_lines) <= 7
    assert any(line.startswith("epoch 2: batch 7/7") for line in lines)
    table = [line for line in lines if not line.startswith("epoch ")]
    assert "train_loss" in table[0] and [row.split()[0] for row in table[2:]] == ["1", "2"]


def test_script_with_redirected_stdout_writes_a_clean_log(tmp_path):
    script = textwrap.dedent(
        """
        import numpy as np
        from skseqattn import BiLSTMAttentionClassifier

        rng = np.random.RandomState(0)
        X = rng.randint(2, 6, size=(107, 6))
        y = (X[:, 0] == 2).astype(int)
        BiLSTMAttentionClassifier(
            embedding_dim=4, hidden_size=4, max_epochs=2, batch_size=16, random_state=0,
            validation_fraction=0.47, verbose=2,
        ).fit(X, y)
        """
    )
    log = tmp_path / "fit.log"
    with open(log, "wb") as out:
        subprocess.run(
            [sys.executable, "-c", script],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "OMP_NUM_THREADS": "1"},
            check=True,
        )
    text = log.read_bytes().decode()
    assert "\x1b[" not in text
    assert "\r" not in text
    assert "epoch 2: batch 5/5 (100%)" in text  # 4 training batches and 1 validation batch
    assert "train_loss" in text


def test_plain_print_log_colours_only_on_a_terminal(monkeypatch):
    row = {"epoch": 1, "train_loss": 0.5, "train_loss_best": True, "dur": 0.1}
    net = types.SimpleNamespace(history=[row], verbose=1)

    def printed(stream, color="auto"):
        with contextlib.redirect_stdout(stream):
            PlainPrintLog(color=color).initialize().on_epoch_end(net)
        return stream.getvalue()

    monkeypatch.delenv("NO_COLOR", raising=False)
    assert ESC in printed(_TTY())
    assert ESC not in printed(io.StringIO())
    assert ESC in printed(io.StringIO(), color=True)
    assert ESC not in printed(_TTY(), color=False)
    monkeypatch.setenv("NO_COLOR", "1")
    assert ESC not in printed(_TTY())
    plain = printed(io.StringIO())
    assert plain.splitlines()[2].split() == ["1", "0.5000", "0.1000"]


def test_plain_print_log_rejects_bad_color():
    with pytest.raises(ValueError, match="color to be 'auto', True or False, got 'yes'"):
        PlainPrintLog(color="yes").initialize()


def _net(n_train, n_valid):
    """Enough of a skorch net for BatchProgress: a history, and iterators of known length."""
    sizes = {True: n_train, False: n_valid or 0}

    def get_iterator(dataset, training=False):
        return range(sizes[training]) if sizes[training] is not None else iter(())

    return types.SimpleNamespace(history=History(), get_iterator=get_iterator)


def _drive(progress, n_train=8, n_valid=2, epochs=1):
    net = _net(n_train, n_valid)
    for _ in range(epochs):
        net.history.new_epoch()
        progress.on_epoch_begin(net, dataset_train="train", dataset_valid=n_valid and "valid")
        for training, n in ((True, n_train or 120), (False, n_valid or 0)):
            for _ in range(n):
                progress.on_batch_begin(net, training=training)
                net.history.new_batch()
                prefix, loss = ("train", 0.25) if training else ("valid", 0.5)
                net.history.record_batch(f"{prefix}_loss", loss)
                progress.on_batch_end(net, training=training)
        progress.on_epoch_end(net)
    return net


def _updates(out):
    """The states of a line rewritten in place with '\\r', blanks (erasures) dropped."""
    return [part for part in out.split("\r") if part.strip()]


def test_batch_progress_tty_rewrites_one_line():
    stream = _TTY()
    progress = BatchProgress(stream=stream, min_interval=0).initialize()
    progress.on_train_begin(net=None)
    assert progress.mode_ == "tty"
    _drive(progress)
    out = stream.getvalue()
    assert "\n" not in out and ESC not in out
    updates = _updates(out)
    # the empty bar, 8 training batches, the switch to validation, 2 validation batches
    assert len(updates) == 12
    assert updates[0].startswith("epoch 1:   0%|") and "0/10" in updates[0]
    assert "epoch 1:  80%|" in updates[8] and "8/10" in updates[8]
    assert "train_loss=0.25" in updates[8]
    assert "8/10" in updates[9] and "validating" in updates[9]
    assert "10/10" in updates[-1] and "valid_loss=0.5" in updates[-1]
    assert out.endswith("\r") and out.split("\r")[-2].strip() == ""  # the line is erased


def test_batch_progress_tty_throttles_updates():
    stream = _TTY()
    progress = BatchProgress(stream=stream, min_interval=3600).initialize()
    _drive(progress, n_train=50, n_valid=None)
    assert progress.mode_ == "tty"
    updates = _updates(stream.getvalue())
    assert len(updates) == 1 and "0/50" in updates[0]  # nothing more within the hour


def test_batch_progress_interrupted_epoch_is_erased():
    stream = _TTY()
    progress = BatchProgress(stream=stream, min_interval=0).initialize()
    net = _net(4, None)
    net.history.new_epoch()
    progress.on_epoch_begin(net, dataset_train="train")
    net.history.new_batch()
    progress.on_batch_end(net, training=True)
    progress.on_train_end(net)  # what skorch calls after a KeyboardInterrupt
    assert stream.getvalue().endswith("\r") and stream.getvalue().split("\r")[-2].strip() == ""
    _drive(progress, n_train=2, n_valid=None)  # the next bar is not pushed down a row
    assert ESC not in stream.getvalue() and "\n" not in stream.getvalue()


def test_batch_progress_lines_when_redirected():
    stream = io.StringIO()
    progress = BatchProgress(stream=stream).initialize()
    progress.on_train_begin(net=None)
    assert progress.mode_ == "lines"
    _drive(progress, n_train=20, n_valid=None, epochs=2)
    lines = stream.getvalue().splitlines()
    assert [line.split(", ")[0] for line in lines] == [
        f"epoch {e}: batch {b}/20 ({5 * b}%)" for e in (1, 2) for b in range(2, 21, 2)
    ]
    assert all(", train_loss=0.25, 00:0" in line for line in lines)
    assert "\r" not in stream.getvalue() and ESC not in stream.getvalue()


def test_batch_progress_lines_count_validation_batches():
    stream = io.StringIO()
    progress = BatchProgress(stream=stream).initialize()
    _drive(progress, n_train=3, n_valid=2)
    lines = stream.getvalue().splitlines()
    assert [line.split(", ")[0] for line in lines] == [
        f"epoch 1: batch {b}/5 ({20 * b}%)" for b in range(1, 6)
    ]
    assert "valid_loss=0.5" in lines[-1]


def test_batch_progress_unknown_number_of_batches():
    stream = io.StringIO()
    progress = BatchProgress(stream=stream).initialize()
    progress.on_train_begin(net=None)
    _drive(progress, n_train=None, n_valid=None)  # 120 batches from an iterator without len
    lines = stream.getvalue().splitlines()
    assert [line.split(", ")[0] for line in lines] == ["epoch 1: batch 50", "epoch 1: batch 100"]


def test_batch_progress_pickles_without_its_bar():
    progress = BatchProgress(stream=io.StringIO()).initialize()
    _drive(progress)
    assert not hasattr(pickle.loads(pickle.dumps(progress)), "pbar_")


class _FakeWidgetBar(tqdm_std):
    """Stands in for tqdm.notebook.tqdm, which needs ipywidgets and a live notebook."""

    made = []

    def __init__(self, *args, **kwargs):
        self.kwargs = kwargs
        self.made.append(self)
        super().__init__(*args, file=io.StringIO(), **kwargs)


def test_batch_progress_in_a_notebook_uses_the_widget(monkeypatch, capsys):
    monkeypatch.setattr(_progress, "_in_ipython_kernel", lambda: True)
    monkeypatch.setattr(_progress, "_notebook_tqdm", lambda: _FakeWidgetBar)
    monkeypatch.setattr(_FakeWidgetBar, "made", [])
    progress = BatchProgress(min_interval=0).initialize()
    progress.on_train_begin(net=None)
    assert progress.mode_ == "notebook"
    _drive(progress, n_train=4, n_valid=1, epochs=2)
    bars = _FakeWidgetBar.made
    assert len(bars) == 2  # one widget per epoch, updated in place
    assert [bar.desc for bar in bars] == ["epoch 1", "epoch 2"]
    assert all(bar.n == bar.total == 5 for bar in bars)
    assert all(bar.kwargs["leave"] is False and bar.disable for bar in bars)  # closed
    assert bars[0].postfix == "valid_loss=0.5"
    assert capsys.readouterr().out == ""  # the widget is all there is


def test_notebook_widget_only_with_ipywidgets(monkeypatch):
    from tqdm import notebook

    monkeypatch.setattr(notebook, "IProgress", None)
    assert _progress._notebook_tqdm() is None
    monkeypatch.setattr(notebook, "IProgress", object)  # as if ipywidgets were installed
    assert _progress._notebook_tqdm() is notebook.tqdm


def test_batch_progress_notebook_without_ipywidgets_writes_text(monkeypatch, capsys):
    monkeypatch.setattr(_progress, "_in_ipython_kernel", lambda: True)
    monkeypatch.setattr(_progress, "_notebook_tqdm", lambda: None)
    progress = BatchProgress(min_interval=0).initialize()
    progress.on_train_begin(net=None)
    assert progress.mode_ == "tty"  # tqdm's text bar, which Jupyter updates in place
    assert BatchProgress(mode="notebook").initialize()._resolve_mode() == "tty"
    _drive(progress, n_train=4, n_valid=None)
    out = capsys.readouterr().out  # sys.stdout, as a notebook's cell output
    assert "\n" not in out and ESC not in out
    assert "epoch 1: 100%|" in _updates(out)[-1] and "4/4" in _updates(out)[-1]


def test_in_ipython_kernel_detection(monkeypatch):
    monkeypatch.setitem(sys.modules, "IPython", None)
    assert _progress._in_ipython_kernel() is False
    fake = types.ModuleType("IPython")
    fake.get_ipython = lambda: types.SimpleNamespace(kernel=object())
    monkeypatch.setitem(sys.modules, "IPython", fake)
    assert _progress._in_ipython_kernel() is True
    fake.get_ipython = lambda: types.SimpleNamespace()  # terminal IPython: no kernel
    assert _progress._in_ipython_kernel() is False
    fake.get_ipython = lambda: None
    assert _progress._in_ipython_kernel() is False


def test_batch_progress_rejects_bad_mode():
    with pytest.raises(ValueError, match="mode to be one of .* got 'bar'"):
        BatchProgress(mode="bar").initialize()


# --------------------------------------------------------------------------- issue 19
def test_plain_print_log_colours_best_values_green():
    row = {"epoch": 1, "train_loss": 0.5, "train_loss_best": True, "valid_loss": 0.4}
    row.update(valid_loss_best=True, valid_acc=0.9, valid_acc_best=True, dur=0.1)
    net = types.SimpleNamespace(history=[row], verbose=1)
    stream = io.StringIO()
    with contextlib.redirect_stdout(stream):
        PlainPrintLog(color=True).initialize().on_epoch_end(net)
    values = stream.getvalue().splitlines()[2]
    green, red = "\x1b[32m", "\x1b[31m"
    # the best validation loss read as "bad" in red (skorch's colour for its column)
    assert red not in values
    for value in ("0.5000", "0.4000", "0.9000"):
        assert f"{green}{value}\x1b[0m" in values


def _ragged_ids(n, seed=0):
    rng = np.random.RandomState(seed)
    X = np.zeros((n, 9), dtype=np.int64)
    for i, k in enumerate(rng.randint(1, 10, size=n)):
        X[i, :k] = rng.randint(2, 6, size=k)
    return X, (X[:, 0] == 2).astype(int)


def test_batch_progress_validation_phase_shows_validation_loss():
    X, y = _ragged_ids(160)
    stream = _TTY()
    bar = BatchProgress(mode="tty", stream=stream, min_interval=0)
    clf = _tiny(max_epochs=1, callbacks=[("bar", bar)], validation_fraction=0.4).fit(X, y)
    n_valid = sum(1 for b in clf.history_[-1, "batches"] if "valid_loss" in b)
    assert n_valid >= 3  # one validation batch per length: several
    updates = _updates(stream.getvalue())
    start = next(i for i, u in enumerate(updates) if "validating" in u)
    assert "train_loss=" in updates[start - 1]
    # from the first validation batch on, the bar no longer shows the training loss ...
    assert not any("train_loss" in u for u in updates[start:])
    # ... and it ends on the epoch's validation loss (the running mean the table shows)
    assert f"valid_loss={clf.history_[-1, 'valid_loss']:.3g}" in updates[-1]
    training = [u for u in updates if "train_loss=" in u]
    assert f"train_loss={clf.history_[-1, 'train_loss']:.3g}" in training[-1]


def test_fit_early_stopping_prints_the_last_epoch_row(capsys):
    rng = np.random.RandomState(0)
    X = rng.randint(2, 6, size=(136, 6))
    y = rng.randint(0, 2, size=136)  # nothing to learn: the validation loss soon rises
    clf = _tiny(verbose=1, max_epochs=30, patience=1, lr=0.05, lr_schedule=None).fit(X, y)
    assert clf.n_epochs_ < 30  # it stopped early
    lines = capsys.readouterr().out.splitlines()
    rows = [line.split()[0] for line in lines[2:] if line.split()[0].isdigit()]
    assert rows == [str(e) for e in range(1, clf.n_epochs_ + 1)]
    stop = next(i for i, line in enumerate(lines) if line.startswith("Stopping since"))
    assert lines[stop - 1].split()[0] == str(clf.n_epochs_)  # the row, then the message
    assert lines[stop + 1].startswith("Restoring best model")
