"""Tests of skseqattn.plotting: the displays render, hold the right data, and fail clearly."""

import io
import sys

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline

from skseqattn import BiLSTMAttentionClassifier, CharSequenceVectorizer, explain
from skseqattn.datasets import make_motif_sequences
from skseqattn.plotting import AttentionDisplay, TrainingCurveDisplay

from conftest import tiny_classifier

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def data():
    X, y = make_motif_sequences(150, min_len=6, max_len=12, motifs=("GATT", "CCGA"), random_state=0)
    return X, np.array(["gatt", "ccga"])[y]


@pytest.fixture(scope="module")
def pipeline(data):
    X, y = data
    clf = tiny_classifier(
        max_epochs=3,
        batch_size=32,
        attention_heads=2,
        validation_fraction=0.34,  # 51 rows: enough for a validation curve
    )
    return make_pipeline(CharSequenceVectorizer(), clf).fit(X, y)


def _png_pixels(figure):
    """Render `figure` to PNG bytes and read them back as an (h, w, channels) array."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=60)
    assert buffer.getvalue().startswith(b"\x89PNG")
    buffer.seek(0)
    return plt.imread(buffer, format="png")


def _assert_not_blank(figure):
    pixels = _png_pixels(figure)[..., :3]
    assert pixels.std() > 0.05  # a blank (or single-colour) figure has ~0
    # several distinct colours, not just text on white
    assert len(np.unique(pixels.reshape(-1, 3).round(2), axis=0)) > 20


def test_attention_display_from_estimator_renders(pipeline, data):
    X, y = data
    display = AttentionDisplay.from_estimator(pipeline, X[:5], y[:5], method="attention")
    assert isinstance(display, AttentionDisplay)
    assert display.figure_ is display.ax_.figure
    assert display.ax_.get_title().startswith("method: attention")
    _assert_not_blank(display.figure_)

    explanations = explain(pipeline, X[:5], method="attention")
    matrix = display.im_.get_array()
    width = max(len(x) for x in X[:5])
    assert matrix.shape == (5, width)
    for i, item in enumerate(explanations):
        n = len(item.tokens)
        np.testing.assert_allclose(matrix[i, :n], item.weights)
        assert matrix.mask[i, n:].all()  # blank past the end of the row
        assert [t.get_text() for t in display.text_[i, :n]] == list(X[i])
        assert all(t is None for t in display.text_[i, n:])

    labels = [t.get_text() for t in display.ax_.get_yticklabels()]
    for text, item, true in zip(labels, explanations, y[:5]):
        assert text == f"{item.label} ({item.probability:.2f}), true: {true}"
    assert display.colorbar_ is not None


def test_attention_display_plot_on_given_axes(pipeline, data):
    fig, ax = plt.subplots()
    display = AttentionDisplay.from_estimator(pipeline, data[0][:3], ax=ax, colorbar=False)
    assert display.ax_ is ax
    assert display.figure_ is fig
    assert display.colorbar_ is None
    again = display.plot(show_tokens=False)  # a second plot on a new figure
    assert again.figure_ is not fig
    assert all(t is None for t in again.text_.ravel())
    _assert_not_blank(again.figure_)


def test_attention_display_head_selection(pipeline, data):
    X = data[0][:3]
    explanations = explain(pipeline, X, method="attention")
    display = AttentionDisplay.from_explanations(explanations, head=1)
    for i, item in enumerate(explanations):
        n = len(item.tokens)
        np.testing.assert_allclose(display.im_.get_array()[i, :n], item.head_weights[:, 1])
    with pytest.raises(ValueError, match=r"head=2, but sequence 0 has 2 attention head"):
        AttentionDisplay.from_explanations(explanations, head=2)


def test_attention_display_of_contributions_is_diverging_and_named(pipeline, data):
    X = data[0][:6]
    display = AttentionDisplay.from_estimator(pipeline, X)  # 'auto': the n-gram model
    assert display.method == "contributions"
    assert display.ax_.get_title().startswith("method: contributions")
    assert display.ax_.get_xlabel() == "tokens, shaded by contribution"
    assert display.colorbar_.ax.get_ylabel() == "contribution to the score"
    explanations = explain(pipeline, X)
    matrix = display.im_.get_array()
    top = max(float(np.abs(item.contributions).max()) for item in explanations)
    assert display.im_.norm.vmin == pytest.approx(-top)  # centred on 0
    assert display.im_.norm.vmax == pytest.approx(top)
    for i, item in enumerate(explanations):
        np.testing.assert_allclose(matrix[i, : len(item.tokens)], item.contributions)
    assert (matrix.compressed() < 0).any() and (matrix.compressed() > 0).any()
    # the ends of the colour map: blue for the most negative, orange for the most positive
    cmap = display.im_.cmap
    np.testing.assert_allclose(cmap(0.0)[:3], (33 / 255, 113 / 255, 181 / 255), atol=0.01)
    np.testing.assert_allclose(cmap(1.0)[:3], (230 / 255, 85 / 255, 13 / 255), atol=0.01)
    np.testing.assert_allclose(cmap(0.5)[:3], (1.0, 1.0, 1.0), atol=0.01)
    _assert_not_blank(display.figure_)
    with pytest.raises(ValueError, match=r"head=0 for explanations by 'contributions'"):
        AttentionDisplay.from_explanations(explanations, head=0)


def test_attention_display_checks_the_method():
    with pytest.raises(ValueError, match=r"method to be one of .*got 'ig'"):
        AttentionDisplay(tokens=[["a"]], weights=[[1.0]], method="ig").plot()
    display = AttentionDisplay(tokens=[["a", "b"]], weights=[[0.2, 0.8]]).plot()
    assert display.ax_.get_title().startswith("method: attention")
    assert display.im_.norm.vmin == 0.0


def test_attention_display_marks_wrong_predictions_in_red():
    display = AttentionDisplay(
        tokens=[list("ab"), list("cd")],
        weights=[[0.3, 0.7], [0.5, 0.5]],
        labels=["x", "y"],
        probabilities=[0.9, 0.6],
        true_labels=["x", "z"],
    ).plot()
    colors = [t.get_color() for t in display.ax_.get_yticklabels()]
    assert colors[0] != "tab:red"
    assert colors[1] == "tab:red"


def test_attention_display_writes_tokens_literally():
    tokens = [["$x$", "a_b", " ", "<&>"]]
    display = AttentionDisplay(tokens=tokens, weights=[[0.1, 0.2, 0.3, 0.4]]).plot()
    texts = [t.get_text() for t in display.text_[0]]
    assert texts == ["$x$", "a_b", "\u2423", "<&>"]
    _png_pixels(display.figure_)  # mathtext would fail or change "$x$"; it must render
    # the darkest cell gets white text, the lightest black
    assert display.text_[0, 3].get_color() == "white"
    assert display.text_[0, 0].get_color() == "black"


def test_attention_display_checks_its_data():
    with pytest.raises(ValueError, match="3 tokens but 2 weights for sequence 0"):
        AttentionDisplay(tokens=[list("abc")], weights=[[0.5, 0.5]]).plot()
    with pytest.raises(ValueError, match="tokens for 1 sequences but weights for 2"):
        AttentionDisplay(tokens=[list("ab")], weights=[[0.5, 0.5], [1.0]]).plot()
    with pytest.raises(ValueError, match="no sequences to plot"):
        AttentionDisplay(tokens=[], weights=[]).plot()


def test_attention_display_true_label_count(pipeline, data):
    with pytest.raises(ValueError, match="2 true labels for 3 sequences"):
        AttentionDisplay.from_estimator(pipeline, data[0][:3], data[1][:2])


def test_training_curve_display_from_estimator(pipeline):
    clf = pipeline[-1]
    display = TrainingCurveDisplay.from_estimator(pipeline)
    assert display.ax_.shape == (2,)
    assert display.figure_ is display.ax_[0].figure
    assert set(display.lines_) == {"train_loss", "valid_loss", "train_acc", "valid_acc"}
    history = clf.history_
    for key, line in display.lines_.items():
        np.testing.assert_allclose(line.get_ydata(), history[:, key])
        np.testing.assert_array_equal(line.get_xdata(), history[:, "epoch"])
    assert display.ax_[0].get_ylabel() == "loss"
    assert display.ax_[1].get_ylabel() == "accuracy"
    _assert_not_blank(display.figure_)

    from_clf = TrainingCurveDisplay.from_estimator(clf)
    np.testing.assert_allclose(from_clf.lines_["train_loss"].get_ydata(), history[:, "train_loss"])


def test_training_curve_display_without_validation_or_accuracy():
    history = [{"epoch": e, "train_loss": 1.0 / e} for e in (1, 2, 3)]
    display = TrainingCurveDisplay.from_history(history)
    assert list(display.lines_) == ["train_loss"]
    assert display.ax_.shape == (1,)

    fig, ax = plt.subplots()
    display = TrainingCurveDisplay.from_history(history, ax=ax)
    assert display.ax_[0] is ax and display.figure_ is fig


def test_training_curve_display_marks_best_epoch():
    history = [
        {"epoch": e, "train_loss": 1.0 / e, "valid_loss": 0.5 + abs(e - 2), "valid_acc": 0.5}
        for e in (1, 2, 3, 4)
    ]
    display = TrainingCurveDisplay.from_history(history, best_epoch=2)
    for ax in display.ax_:
        vertical = [line for line in ax.get_lines() if line.get_label() == "best epoch"]
        assert len(vertical) == 1
        assert list(vertical[0].get_xdata()) == [2, 2]


def test_training_curve_display_errors(data):
    with pytest.raises(ValueError, match="empty history"):
        TrainingCurveDisplay.from_history([])
    with pytest.raises(ValueError, match="no 'train_loss'"):
        TrainingCurveDisplay.from_history([{"epoch": 1}])
    history = [{"epoch": 1, "train_loss": 1.0, "train_acc": 0.5}]
    with pytest.raises(ValueError, match=r"2 panel\(s\) \(loss and accuracy\) but got 1 Axes"):
        TrainingCurveDisplay.from_history(history, ax=plt.subplots()[1])
    with pytest.raises(NotFittedError):
        TrainingCurveDisplay.from_estimator(BiLSTMAttentionClassifier())


def test_plotting_without_matplotlib_names_the_extra(monkeypatch):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(
        ImportError, match=r"AttentionDisplay.plot needs matplotlib.*skseqattn\[plot\]"
    ):
        AttentionDisplay(tokens=[["a"]], weights=[[1.0]]).plot()
    with pytest.raises(ImportError, match=r"skseqattn\[plot\]"):
        TrainingCurveDisplay.from_history([{"epoch": 1, "train_loss": 1.0}])
