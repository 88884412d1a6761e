"""Tests of skseqattn._progress: verbose levels, and output free of control codes."""

import contextlib
import io
import os
import subprocess
import sys
import textwrap
import types

import numpy as np
import pytest
from skorch.callbacks import PrintLog

from skseqattn import BiLSTMAttentionClassifier, _progress
from skseqattn._progress import BatchProgress, PlainPrintLog, progress_callbacks

ESC = "\x1b["


class _TTY(io.StringIO):
    def isatty(self):
        return True


def _data(n=96):
    rng = np.random.RandomState(0)
    X = rng.randint(2, 6, size=(n, 6))
    y = (X[:, 0] == 2).astype(int)
    return X, y


def _tiny(**params):
    defaults = dict(embedding_dim=4, hidden_size=4, max_epochs=2, batch_size=16, random_state=0)
    defaults.update(params)
    return BiLSTMAttentionClassifier(**defaults)


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
    batch_lines = [line for line in out.splitlines() if line.startswith("epoch 1: batch")]
    # 86 training rows / 16 per batch = 6 batches: a line at each tenth that a batch crosses
    assert batch_lines[-1].startswith("epoch 1: batch 6/6 (100%), loss ")
    assert 3 <= len(batch_lines) <= 6
    assert any(line.startswith("epoch 2: batch 6/6") for line in out.splitlines())


def test_script_with_redirected_stdout_writes_a_clean_log(tmp_path):
    script = textwrap.dedent(
        """
        import numpy as np
        from skseqattn import BiLSTMAttentionClassifier

        rng = np.random.RandomState(0)
        X = rng.randint(2, 6, size=(64, 6))
        y = (X[:, 0] == 2).astype(int)
        BiLSTMAttentionClassifier(
            embedding_dim=4, hidden_size=4, max_epochs=2, batch_size=16, random_state=0,
            verbose=2,
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
    assert "epoch 2: batch 4/4 (100%)" in text
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


def _drive(progress, n_train=8, n_valid=2, epochs=1):
    for epoch in range(1, epochs + 1):
        progress._start_epoch(epoch=epoch, n_train=n_train, n_valid=n_valid)
        for _ in range(n_train):
            progress._batch_done(training=True, loss=0.25)
        for _ in range(n_valid or 0):
            progress._batch_done(training=False, loss=0.5)
        progress._finish_epoch()


def test_batch_progress_tty_rewrites_one_line():
    stream = _TTY()
    progress = BatchProgress(stream=stream, min_interval=0).initialize()
    progress.on_train_begin(net=None)
    assert progress.mode_ == "tty"
    _drive(progress)
    out = stream.getvalue()
    assert "\n" not in out and ESC not in out
    updates = [part for part in out.split("\r") if part.strip()]
    assert len(updates) == 10  # 8 training + 2 validation batches
    assert updates[0].startswith("[##")
    assert "epoch 1  train batch 8/8  loss 0.2500" in updates[7]
    assert "valid batch 2/2" in updates[-1]
    assert out.endswith("\r") and out.split("\r")[-2].strip() == ""  # the line is erased


def test_batch_progress_tty_throttles_updates():
    stream = _TTY()
    progress = BatchProgress(stream=stream, min_interval=3600).initialize()
    _drive(progress, n_train=50, n_valid=None)
    updates = [part for part in stream.getvalue().split("\r") if part.strip()]
    assert len(updates) == 2  # the first batch and the last


def test_batch_progress_lines_when_redirected():
    stream = io.StringIO()
    progress = BatchProgress(stream=stream, n_lines=4).initialize()
    progress.on_train_begin(net=None)
    assert progress.mode_ == "lines"
    _drive(progress, n_train=8, epochs=2)
    lines = stream.getvalue().splitlines()
    assert [line.split(", ")[0] for line in lines] == [
        f"epoch {e}: batch {b}/8 ({100 * b // 8}%)" for e in (1, 2) for b in (2, 4, 6, 8)
    ]
    assert all(", loss 0.2500, " in line for line in lines)
    assert "\r" not in stream.getvalue() and ESC not in stream.getvalue()


def test_batch_progress_unknown_number_of_batches():
    stream = io.StringIO()
    progress = BatchProgress(stream=stream).initialize()
    progress.on_train_begin(net=None)
    progress._start_epoch(epoch=1, n_train=None, n_valid=None)
    for _ in range(120):
        progress._batch_done(training=True, loss=None)
    lines = stream.getvalue().splitlines()
    assert [line.split(", ")[0] for line in lines] == ["epoch 1: batch 50", "epoch 1: batch 100"]


class _FakeHandle:
    def __init__(self, shown):
        self.shown = shown

    def update(self, obj):
        self.shown.append(obj)


def test_batch_progress_in_a_notebook_updates_one_display(monkeypatch):
    shown = []
    handles = []

    def display(obj, display_id=False):
        assert display_id is True
        shown.append(obj)
        handles.append(_FakeHandle(shown))
        return handles[-1]

    monkeypatch.setattr(_progress, "_in_ipython_kernel", lambda: True)
    monkeypatch.setattr(_progress, "_ipython_display", lambda: display)
    progress = BatchProgress(min_interval=0).initialize()
    progress.on_train_begin(net=None)
    assert progress.mode_ == "notebook"
    _drive(progress, n_train=4, n_valid=1, epochs=2)
    assert len(handles) == 2  # one display per epoch, updated in place
    html = shown[3]._repr_html_()
    assert '<progress value="4" max="4"' in html
    assert "epoch 1  train batch 4/4" in repr(shown[3])
    assert shown[5]._repr_html_() == "" and repr(shown[5]) == ""  # cleared at epoch end
    assert "<script" not in "".join(s._repr_html_() for s in shown)


def test_batch_progress_notebook_without_ipython_falls_back_to_lines(monkeypatch):
    monkeypatch.setattr(_progress, "_in_ipython_kernel", lambda: True)
    monkeypatch.setattr(_progress, "_ipython_display", lambda: None)
    progress = BatchProgress().initialize()
    progress.on_train_begin(net=None)
    assert progress.mode_ == "lines"
    assert BatchProgress(mode="notebook").initialize()._resolve_mode() == "lines"


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
