"""Tests of skseqattn.onnx.export_onnx and the export-friendly module behind it."""

import json

import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.utils._param_validation import InvalidParameterError

from skseqattn import BiLSTMAttentionClassifier, CharSequenceVectorizer
from skseqattn.nn import SequenceClassifierModule
from skseqattn.nn._export import ExportableSequenceModule

from conftest import tiny_classifier

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from skseqattn.onnx import export_onnx  # noqa: E402

ATOL = 1e-5
POOLINGS = [
    dict(pooling="attention", attention="additive"),
    dict(pooling="attention", attention="dot"),
    dict(pooling="attention", attention="general", attention_heads=2),
    dict(pooling="attention", attention="scaled_dot", attention_heads=2),
    dict(pooling="last"),
    dict(pooling="mean"),
    dict(pooling="max"),
]


def _place(rows, width, side, rng):
    """Id matrix of ``width`` holding ``rows`` pre-, post- or mid-padded (0 elsewhere)."""
    X = np.zeros((len(rows), width), dtype=np.int64)
    for i, row in enumerate(rows):
        n = len(row)
        if side == "post":
            X[i, :n] = row
        elif side == "pre":
            X[i, width - n :] = row
        else:
            X[i, np.sort(rng.choice(width, n, replace=False))] = row
    return X


def _random_rows(rng, n, max_len, high):
    lengths = rng.randint(0, max_len + 1, size=n)
    lengths[:2] = [0, max_len]  # an empty row and a full one
    return [rng.randint(1, high, size=k) for k in lengths]


def _batches(rng, high, *, n=30, max_len=9):
    """Batches of variable length: post-, pre-, mid-padded, and padded far wider."""
    rows = _random_rows(rng, n, max_len, high)
    return [
        _place(rows, max_len, "post", rng),
        _place(rows, max_len + 3, "pre", rng),
        _place(rows, max_len + 4, "mid", rng),
        _place(rows, 3 * max_len, "pre", rng),
        np.zeros((4, 5), dtype=np.int64),  # only empty rows
        _place(rows[:1], max_len, "post", rng),  # a batch of one (empty) row
    ]


def _aligned(X, n_ids):
    """The module's own input for ``X``: left-aligned rows and their lengths."""
    mask = X != 0
    lengths = mask.sum(axis=1)
    out = np.zeros((len(X), max(int(lengths.max()), 0)), dtype=np.int64)
    for i in range(len(X)):
        row = X[i][mask[i]]
        out[i, : len(row)] = np.where((row >= n_ids) | (row < 0), 1, row)
    return torch.from_numpy(out), torch.from_numpy(lengths)


# --------------------------------------------------------------------------- the torch twin
@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("pool", POOLINGS, ids=lambda p: "-".join(map(str, p.values())))
def test_exportable_module_matches_module_on_any_padding(cell, pool):
    rng = np.random.RandomState(0)
    torch.manual_seed(0)
    for num_layers in (1, 2):
        for bidirectional in (True, False):
            module = SequenceClassifierModule(
                n_classes=3,
                vocab_size=9,
                embedding_dim=6,
                hidden_size=8,
                num_layers=num_layers,
                bidirectional=bidirectional,
                cell=cell,
                dropout=0.3,
                **pool,
            ).eval()
            twin = ExportableSequenceModule(module)
            for X in _batches(rng, high=12):
                with torch.no_grad():
                    logits, proba = twin(torch.from_numpy(X))
                    expected = module(*_aligned(X, 9))
                assert torch.isfinite(proba).all()
                torch.testing.assert_close(logits, expected, atol=1e-6, rtol=0)
                torch.testing.assert_close(proba, torch.softmax(expected, 1), atol=1e-6, rtol=0)


def test_exportable_module_features_match_module():
    rng = np.random.RandomState(1)
    torch.manual_seed(1)
    module = SequenceClassifierModule(n_classes=2, n_features=3, hidden_size=8, num_layers=2)
    mean, scale = rng.randn(3), rng.rand(3) + 0.5
    twin = ExportableSequenceModule(module.eval(), feature_mean=mean, feature_scale=scale)
    X = np.full((6, 7, 3), np.nan, dtype=np.float32)
    rows = [rng.randn(k, 3).astype(np.float32) for k in (0, 1, 3, 7, 5, 2)]
    aligned = np.zeros((6, 7, 3), dtype=np.float32)
    for i, row in enumerate(rows):
        X[i, 7 - len(row) :] = row  # pre-padded
        aligned[i, : len(row)] = ((row - mean) / scale).astype(np.float32)
    lengths = torch.tensor([len(r) for r in rows])
    with torch.no_grad():
        logits, _ = twin(torch.from_numpy(X))
        expected = module(torch.from_numpy(aligned), lengths)
    torch.testing.assert_close(logits, expected, atol=1e-6, rtol=0)


def test_exportable_module_rejects_other_modules():
    with pytest.raises(TypeError, match="expected a SequenceClassifierModule, got Linear"):
        ExportableSequenceModule(torch.nn.Linear(2, 2))


# --------------------------------------------------------------------------- ONNX export
def _session(path):
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _fit_ids(seed=0, n=80, **params):
    rng = np.random.RandomState(seed)
    rows = _random_rows(rng, n, 8, 8)
    X = _place(rows, 8, "post", rng)
    y = np.where([len(r) and r[0] > 4 for r in rows], "hi", "lo")
    return tiny_classifier(**{"max_epochs": 1, **params}).fit(X, y)


def _max_diff(session, clf, batches, input_name="ids"):
    worst = 0.0
    for X in batches:
        logits, proba = session.run(None, {input_name: X})
        expected = clf.predict_proba(X)
        assert proba.shape == expected.shape and proba.dtype == np.float32
        assert np.isfinite(proba).all()
        worst = max(worst, float(np.abs(proba - expected).max()))
        np.testing.assert_allclose(logits, clf._logits(X), atol=ATOL, rtol=0)
    return worst


@pytest.mark.parametrize(
    "params",
    [
        dict(cell="lstm", num_layers=1, bidirectional=True, **POOLINGS[0]),
        dict(cell="gru", num_layers=2, bidirectional=True, **POOLINGS[1]),
        dict(cell="lstm", num_layers=2, bidirectional=False, **POOLINGS[2]),
        dict(cell="gru", num_layers=1, bidirectional=False, **POOLINGS[2]),
        dict(cell="lstm", num_layers=2, bidirectional=True, **POOLINGS[3]),
        dict(cell="gru", num_layers=1, bidirectional=True, **POOLINGS[4]),
        dict(cell="lstm", num_layers=1, bidirectional=False, **POOLINGS[5]),
        dict(cell="gru", num_layers=2, bidirectional=True, **POOLINGS[5]),
    ],
    ids=lambda p: "-".join(str(v) for v in p.values()),
)
def test_export_onnx_matches_predict_proba(params, tmp_path):
    clf = _fit_ids(**params)
    path = export_onnx(clf, tmp_path / "model.onnx")
    assert path == str(tmp_path / "model.onnx")
    onnx.checker.check_model(onnx.load(path))
    worst = _max_diff(_session(path), clf, _batches(np.random.RandomState(5), high=8))
    assert worst < ATOL


def test_export_onnx_matches_predict_proba_with_a_blended_linear_model(tmp_path):
    clf = _fit_ids(ngram_blend=0.5, validation_fraction=0.25)
    assert clf.ngram_blend_ == 0.5
    path = export_onnx(clf, tmp_path / "model.onnx")
    worst = _max_diff(_session(path), clf, _batches(np.random.RandomState(6), high=8))
    assert worst < ATOL


def test_export_onnx_graph_interface_and_metadata(tmp_path):
    clf = _fit_ids(cell="gru")
    model = onnx.load(export_onnx(clf, tmp_path / "m.onnx", opset_version=17))
    assert [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")] == [17]
    (graph_input,) = model.graph.input
    assert graph_input.name == "ids"
    assert graph_input.type.tensor_type.elem_type == onnx.TensorProto.INT64
    dims = graph_input.type.tensor_type.shape.dim
    assert all(d.dim_param and not d.dim_value for d in dims)  # dynamic batch and time
    assert [o.name for o in model.graph.output] == ["logits", "probabilities"]
    assert {n.op_type for n in model.graph.node} >= {"GRU", "ScatterElements"}
    meta = {p.key: p.value for p in model.metadata_props}
    assert json.loads(meta["classes"]) == clf.classes_.tolist()
    assert np.dtype(meta["classes_dtype"]) == clf.classes_.dtype
    assert meta["input_type"] == "tokens"


@pytest.mark.parametrize("unknown_id", [None, 1])
def test_export_onnx_maps_unknown_and_negative_ids_to_unk(tmp_path, unknown_id):
    clf = _fit_ids(unknown_id=unknown_id)
    assert clf.unknown_id_ == (clf.n_ids_ - 1 if unknown_id is None else 1)
    session = _session(export_onnx(clf, tmp_path / "m.onnx"))
    X = np.array([[2, 50, 3, 0], [0, clf.n_ids_, 7, 2], [-4, 2, 0, 0]])
    (proba,) = session.run(["probabilities"], {"ids": X})
    # the estimator rejects negatives: read as the unknown id, as the graph does
    expected = clf.predict_proba(np.where(X < 0, clf.unknown_id_, X))
    np.testing.assert_allclose(proba, expected, atol=ATOL, rtol=0)


def test_export_onnx_pipeline_exports_the_classifier(tmp_path):
    names = ["anna", "bob", "hannah", "otto", "eve", "x", "", "emma"] * 10
    labels = [n[:1] in "aeiou" for n in names]
    pipe = make_pipeline(
        CharSequenceVectorizer(padding="pre"),
        tiny_classifier(max_epochs=1),
    ).fit(names, labels)
    session = _session(export_onnx(pipe, tmp_path / "pipe.onnx"))
    texts = ["annabelle", "", "zoe", "bob"]
    ids = pipe[:-1].transform(texts).astype(np.int64)
    (proba,) = session.run(["probabilities"], {"ids": ids})
    np.testing.assert_allclose(proba, pipe.predict_proba(texts), atol=ATOL, rtol=0)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_export_onnx_features(cell, tmp_path):
    rng = np.random.RandomState(0)
    X = np.full((80, 9, 2), np.nan, dtype=np.float32)
    for i, k in enumerate(rng.randint(1, 10, size=80)):
        X[i, :k] = rng.randn(k, 2) * 3 + 1
    y = (np.nan_to_num(X[:, 0, 0]) > 1).astype(int)
    clf = BiLSTMAttentionClassifier(
        hidden_size=8, max_epochs=1, random_state=0, cell=cell, num_layers=2
    ).fit(X, y)
    session = _session(export_onnx(clf, tmp_path / "f.onnx"))
    lengths = (~np.isnan(X[:, :, 0])).sum(axis=1)
    pre = np.full((80, 14, 2), np.nan, dtype=np.float32)
    for i, k in enumerate(lengths):
        pre[i, 14 - k :] = X[i, :k]
    pre[:3] = np.nan  # empty rows
    worst = _max_diff(session, clf, [X, pre], input_name="features")
    assert worst < ATOL


def test_export_onnx_errors(tmp_path):
    with pytest.raises(NotFittedError):
        export_onnx(BiLSTMAttentionClassifier(), tmp_path / "m.onnx")
    with pytest.raises(TypeError, match="got a Pipeline whose last step is CharSequenceVectorizer"):
        export_onnx(make_pipeline(CharSequenceVectorizer()), tmp_path / "m.onnx")
    with pytest.raises(TypeError, match="got CharSequenceVectorizer"):
        export_onnx(CharSequenceVectorizer(), tmp_path / "m.onnx")
    clf = _fit_ids()
    with pytest.raises(
        InvalidParameterError,
        match=r"'opset_version' parameter of export_onnx must be an int in the range "
        r"\[17, inf\)\. Got 13 instead",
    ):
        export_onnx(clf, tmp_path / "m.onnx", opset_version=13)
    with pytest.raises(
        InvalidParameterError,
        match=r"'exporter' parameter of export_onnx must be a str among .*Got 'jit' instead",
    ):
        export_onnx(clf, tmp_path / "m.onnx", exporter="jit")
    with pytest.raises(InvalidParameterError, match="'path' parameter of export_onnx .*Got 3"):
        export_onnx(clf, 3)
    assert not (tmp_path / "m.onnx").exists()


@pytest.mark.slow
def test_export_onnx_dynamo_exporter(tmp_path):
    pytest.importorskip("onnxscript")
    clf = _fit_ids(num_layers=2, **POOLINGS[2])
    path = export_onnx(clf, tmp_path / "dynamo.onnx", exporter="dynamo")
    worst = _max_diff(_session(path), clf, _batches(np.random.RandomState(2), high=8))
    assert worst < ATOL


def test_export_onnx_keeps_position_encoding(tmp_path):
    clf = _fit_ids(position_encoding=True)
    with torch.no_grad():  # a clearly non-zero map, so that leaving it out would show
        clf.module_.position.proj.weight.normal_(0, 1.0)
    session = _session(export_onnx(clf, tmp_path / "pos.onnx"))
    X = np.array([[2, 5, 3, 0, 0], [0, 0, 4, 7, 2], [6, 6, 6, 6, 6], [0, 0, 0, 0, 0]])
    (proba,) = session.run(["probabilities"], {"ids": X})
    # positions count from each row's first real step, pre- or post-padded alike
    aligned = np.array([[2, 5, 3, 0, 0], [4, 7, 2, 0, 0], [6, 6, 6, 6, 6], [0, 0, 0, 0, 0]])
    np.testing.assert_allclose(proba, clf.predict_proba(aligned), atol=ATOL, rtol=0)
    clf.module_.position = None
    assert not np.allclose(proba[:3], clf.predict_proba(aligned)[:3], atol=1e-3)


def test_export_onnx_keeps_the_convolution(tmp_path):
    clf = _fit_ids(conv_kernel=3, position_encoding=True)
    with torch.no_grad():  # clearly non-zero maps, so that leaving either out would show
        clf.module_.conv.conv.weight.normal_(0, 1.0)
        clf.module_.position.proj.weight.normal_(0, 1.0)
    session = _session(export_onnx(clf, tmp_path / "conv.onnx"))
    worst = _max_diff(session, clf, _batches(np.random.RandomState(3), high=8))
    assert worst < ATOL
    X = np.array([[2, 5, 3, 0, 0], [0, 0, 4, 7, 2]])
    (proba,) = session.run(["probabilities"], {"ids": X})
    clf.module_.conv = None
    assert not np.allclose(proba, clf.predict_proba(X), atol=1e-3)


def test_export_onnx_matches_a_word_vocabulary_model_with_bigrams(tmp_path):
    """Over 1,000 ids, ``ngram_order='auto'`` builds a table of orders 1-2; the graph's
    n-gram hashes must follow the module's orders."""
    rng = np.random.RandomState(0)
    rows = _random_rows(rng, 120, 8, 3000)
    X = _place(rows, 8, "post", rng)
    y = np.where([len(r) and r[0] > 1500 for r in rows], "hi", "lo")
    clf = tiny_classifier(max_epochs=1, ngram_blend=0.5, validation_fraction=0.25).fit(X, y)
    assert clf.ngram_order_ == clf.module_.ngrams.max_order == 2
    path = export_onnx(clf, tmp_path / "model.onnx")
    batches = _batches(np.random.RandomState(7), high=3000)
    worst = _max_diff(_session(path), clf, batches)
    assert worst < ATOL
    # the same rows post-, pre-, mid- and widely padded: the same probabilities
    for padded in batches[1:4]:
        np.testing.assert_array_equal(clf.predict_proba(padded), clf.predict_proba(batches[0]))
