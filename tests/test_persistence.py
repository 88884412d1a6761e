"""Tests of pickling and of skseqattn.persistence: safe save/load, tampered and foreign files."""

import copy
import hashlib
import io
import json
import os
import pickle
import struct
import subprocess
import sys
import time
import warnings
import zipfile
from pathlib import Path

import joblib
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.base import clone
from sklearn.pipeline import make_pipeline
from sklearn.utils.validation import check_is_fitted
from skorch.callbacks import Callback

from skseqattn import BiLSTMAttentionClassifier, CharSequenceVectorizer
from skseqattn.persistence import FORMAT_VERSION, FormatError, _Reader, _Writer, load, save

from conftest import tiny_classifier

tiny = tiny_classifier


def bigrams(text):
    """A module-level analyzer: save stores it by name."""
    return [text[i : i + 2] for i in range(len(text) - 1)]


def _ids(n=120, width=10, seed=0):
    rng = np.random.RandomState(seed)
    lengths = rng.randint(0, width + 1, size=n)
    X = np.zeros((n, width), dtype=np.int64)
    for i, length in enumerate(lengths):
        X[i, :length] = rng.randint(2, 9, size=length)
    return X


def _series(n=120, width=9, n_features=2, seed=0):
    rng = np.random.RandomState(seed)
    X = np.full((n, width, n_features), np.nan, dtype=np.float32)
    for i, length in enumerate(rng.randint(1, width + 1, size=n)):
        X[i, :length] = rng.randn(length, n_features) * 2 + 1
    return X


def _labels(kind, signal):
    if kind == "str":
        return np.where(signal, "yes", "no")
    if kind == "int":
        return np.where(signal, 7, -3)
    return signal.astype(bool)


NAMES = ["anna", "bob", "hannah", "otto", "eve", "x", "", "emma"] * 15
NAME_LABELS = np.array([n[:1] in "aeiou" for n in NAMES])


@pytest.fixture(scope="module")
def token_clf():
    X = _ids()
    return tiny(attention_heads=2).fit(X, _labels("str", X[:, 0] > 4)), X


@pytest.fixture(scope="module")
def pipeline():
    pipe = make_pipeline(CharSequenceVectorizer(), tiny())
    return pipe.fit(NAMES, NAME_LABELS)


def _rebuild(path, out, *, manifest=None, entries=None, drop=()):
    """Copy the zip at ``path`` to ``out``, replacing the manifest and entries as asked."""
    with zipfile.ZipFile(path) as zf:
        contents = {name: zf.read(name) for name in zf.namelist()}
    doc = json.loads(contents["manifest.json"])
    if manifest is not None:
        doc = manifest(doc) or doc
        contents["manifest.json"] = json.dumps(doc).encode()
    contents.update(entries or {})
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in contents.items():
            if name not in drop:
                zf.writestr(name, data)
    return out


class _Payload:
    """Unpickling this creates ``path``: a stand-in for arbitrary code execution."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


# --------------------------------------------------------------------------- pickle / joblib
@pytest.mark.parametrize("dumper", ["pickle", "joblib"])
def test_pickle_round_trip_gives_identical_predictions(token_clf, pipeline, dumper, tmp_path):
    clf, X = token_clf
    for est, data in ((clf, X), (pipeline, NAMES)):
        if dumper == "pickle":
            loaded = pickle.loads(pickle.dumps(est))
        else:
            joblib.dump(est, tmp_path / "model.joblib")
            loaded = joblib.load(tmp_path / "model.joblib")
        assert np.array_equal(loaded.predict_proba(data), est.predict_proba(data))
        assert np.array_equal(loaded.predict(data), est.predict(data))
        inner = loaded[-1] if hasattr(loaded, "steps") else loaded
        # One module, shared by the estimator and its net, as after fit.
        assert inner.module_ is inner.net_.module_ is inner.net_.module


def test_pickle_stores_every_tensor_inside_skorchs_device_mapped_blob(token_clf):
    """Tensors pickled outside skorch's blob could not be loaded without CUDA."""
    clf, _ = token_clf

    class TensorSpy(pickle.Pickler):
        seen = 0

        def reducer_override(self, obj):
            if isinstance(obj, torch.Tensor):
                TensorSpy.seen += 1
            return NotImplemented

    TensorSpy(io.BytesIO()).dump(clf)
    assert TensorSpy.seen == 0
    TensorSpy(io.BytesIO()).dump(clf.module_)  # the spy does see tensors
    assert TensorSpy.seen > 0


def test_pickle_of_cuda_net_loads_on_cpu_without_gpu(token_clf, monkeypatch):
    """A net pickled with device='cuda' maps to the CPU where CUDA is absent (simulated)."""
    clf, X = token_clf
    expected = clf.predict_proba(X)
    gpu_like = pickle.loads(pickle.dumps(clf))
    gpu_like.set_params(device="cuda")
    gpu_like.net_.device = "cuda"
    gpu_like.device_ = "cuda"
    payload = pickle.dumps(gpu_like)

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.warns(Warning, match="(?i)cuda"):
        loaded = pickle.loads(payload)
    assert loaded.device_ == "cpu"
    assert str(loaded.net_.device) == "cpu"
    assert all(p.device.type == "cpu" for p in loaded.module_.parameters())
    assert np.array_equal(loaded.predict_proba(X), expected)
    assert loaded.get_params()["device"] == "cuda"  # the parameter is the user's; kept


@pytest.mark.gpu
def test_pickle_of_gpu_trained_model_predicts_in_a_process_without_gpu(tmp_path):
    X = _ids()
    y = _labels("int", X[:, 0] > 4)
    clf = tiny(device="cuda").fit(X, y)
    expected = clf.predict_proba(X)
    joblib.dump(clf, tmp_path / "gpu.joblib")
    np.save(tmp_path / "X.npy", X)
    code = (
        "import joblib, numpy as np, warnings; warnings.simplefilter('ignore');"
        f"clf = joblib.load({str(tmp_path / 'gpu.joblib')!r});"
        f"np.save({str(tmp_path / 'p.npy')!r}, clf.predict_proba(np.load("
        f"{str(tmp_path / 'X.npy')!r})));"
        "print(clf.device_)"
    )
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "cpu"
    np.testing.assert_allclose(np.load(tmp_path / "p.npy"), expected, atol=1e-5)


@pytest.mark.gpu
def test_save_load_of_gpu_trained_model_on_cpu_and_gpu(tmp_path):
    X = _ids()
    clf = tiny(device="cuda").fit(X, _labels("str", X[:, 0] > 4))
    save(clf, tmp_path / "m.skseqattn")
    on_gpu = load(tmp_path / "m.skseqattn", device="cuda")
    assert np.array_equal(on_gpu.predict_proba(X), clf.predict_proba(X))
    on_cpu = load(tmp_path / "m.skseqattn")
    assert on_cpu.device_ == "cpu"
    np.testing.assert_allclose(on_cpu.predict_proba(X), clf.predict_proba(X), atol=1e-5)


# --------------------------------------------------------------------------- safe format
@pytest.mark.parametrize("input_type", ["tokens", "features"])
@pytest.mark.parametrize("label_kind", ["str", "int", "bool"])
def test_save_load_classifier_is_bit_identical(input_type, label_kind, tmp_path):
    if input_type == "tokens":
        X = _ids()
        y = _labels(label_kind, X[:, 0] > 4)
        clf = tiny(attention="general", cell="gru").fit(X, y)
    else:
        X = _series()
        y = _labels(label_kind, X[:, 0, 0] > 1)
        clf = tiny(num_layers=2, attention="dot").fit(X, y)
    path = save(clf, tmp_path / "model.skseqattn")
    loaded = load(path)

    assert type(loaded) is BiLSTMAttentionClassifier
    assert loaded.classes_.dtype == clf.classes_.dtype
    assert np.array_equal(loaded.classes_, clf.classes_)
    assert np.array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    assert np.array_equal(loaded.predict(X), clf.predict(X))
    assert np.array_equal(loaded.attention_weights(X), clf.attention_weights(X))
    assert loaded.get_params() == clf.get_params()
    assert loaded.input_type_ == clf.input_type_
    assert (loaded.n_epochs_, loaded.best_epoch_) == (clf.n_epochs_, clf.best_epoch_)
    assert loaded.history_[:, "train_loss"] == clf.history_[:, "train_loss"]
    assert type(loaded.history_[-1, "train_loss"]) is type(clf.history_[-1, "train_loss"])
    if input_type == "features":
        assert loaded.feature_mean_.dtype == clf.feature_mean_.dtype
        assert np.array_equal(loaded.feature_scale_, clf.feature_scale_)
        assert loaded.n_features_in_ == clf.n_features_in_
    else:
        assert loaded.n_ids_ == clf.n_ids_


def test_save_load_pipeline_is_bit_identical(pipeline, tmp_path):
    loaded = load(save(pipeline, tmp_path / "pipe.skseqattn"))
    assert [name for name, _ in loaded.steps] == [name for name, _ in pipeline.steps]
    assert np.array_equal(loaded.predict_proba(NAMES), pipeline.predict_proba(NAMES))
    assert loaded[0].vocabulary_ == pipeline[0].vocabulary_
    assert loaded[0].id_to_token_.tolist() == pipeline[0].id_to_token_.tolist()
    assert loaded.classes_.dtype == np.bool_


def test_save_load_to_file_objects(token_clf):
    clf, X = token_clf
    buffer = save(clf, io.BytesIO())
    loaded = load(io.BytesIO(buffer.getvalue()))
    assert np.array_equal(loaded.predict_proba(X), clf.predict_proba(X))


def test_save_load_vectorizer_params_and_fitted_state(tmp_path):
    vec = CharSequenceVectorizer(
        vocabulary={"b", "a", "\udc80", "\x00"},
        dtype=np.int32,
        lowercase=True,
        padding="pre",
        max_len=5,
    ).fit(["ab", "BA"])
    loaded = load(save(vec, tmp_path / "vec.skseqattn"))
    assert loaded.get_params() == vec.get_params()
    assert loaded.get_params()["dtype"] is np.int32
    assert loaded.vocabulary_ == vec.vocabulary_
    assert list(loaded.vocabulary_) == list(vec.vocabulary_)
    texts = ["abba", "\udc80a", "zz", ""]
    assert np.array_equal(loaded.transform(texts), vec.transform(texts))
    assert loaded.transform(texts).dtype == np.int32


def test_save_load_unfitted_estimators(tmp_path):
    pipe = make_pipeline(CharSequenceVectorizer(analyzer="word"), tiny(optimizer="sgd"))
    loaded = load(save(pipe, tmp_path / "p.skseqattn"))
    assert repr(loaded) == repr(pipe)
    with pytest.raises(Exception, match="not fitted"):
        check_is_fitted(loaded[-1])
    assert clone(loaded).get_params(deep=False).keys() == pipe.get_params(deep=False).keys()


def test_save_load_array_and_special_parameters(tmp_path):
    n_ids, dim = 200, 8  # 1600 values: stored in arrays.safetensors
    weights = np.random.RandomState(0).randn(n_ids, dim)
    weights[0] = 0.0  # the padding row
    X = _ids()
    clf = tiny(
        embedding_weights=weights,
        freeze_embeddings=True,
        optimizer=torch.optim.AdamW,
        random_state=np.random.RandomState(3),
        class_weight={"yes": 2.0, "no": 1.0},
    ).fit(X, _labels("str", X[:, 0] > 4))
    path = save(clf, tmp_path / "m.skseqattn")
    with zipfile.ZipFile(path) as zf:
        assert sorted(zf.namelist()) == [
            "arrays.safetensors",
            "manifest.json",
            "module-0.safetensors",
        ]
    loaded = load(path)
    params = loaded.get_params()
    assert params["embedding_weights"].dtype == np.float64
    assert np.array_equal(params["embedding_weights"], weights)
    assert params["optimizer"] is torch.optim.AdamW
    assert params["class_weight"] == {"yes": 2.0, "no": 1.0}
    rs = params["random_state"]
    assert isinstance(rs, np.random.RandomState)
    assert rs.randint(1 << 30) == clf.random_state.randint(1 << 30)
    assert np.array_equal(loaded.predict_proba(X), clf.predict_proba(X))


def test_save_load_int_keyed_dicts_and_non_finite_floats(tmp_path):
    X = _ids()
    y = _labels("int", X[:, 0] > 4)
    clf = tiny(class_weight={7: 2.0, -3: 0.5}, max_epochs=1).fit(X, y)
    clf.history_.record("odd", float("nan"))
    loaded = load(save(clf, tmp_path / "m.skseqattn"))
    assert loaded.class_weight == {7: 2.0, -3: 0.5}
    assert np.isnan(loaded.history_[-1, "odd"])


def test_loaded_classifier_trains_further_with_warm_start(token_clf, tmp_path):
    clf, X = token_clf
    y = clf.predict(X)
    loaded = load(save(clf, tmp_path / "m.skseqattn"))
    before = loaded.predict_proba(X)
    loaded.set_params(warm_start=True, max_epochs=1).fit(X, y)
    assert loaded.n_epochs_ == clf.n_epochs_ + 1
    assert len(loaded.history_) == clf.n_epochs_ + 1
    assert not np.array_equal(loaded.predict_proba(X), before)
    assert np.array_equal(clf.predict_proba(X), before)  # the original is untouched


def test_save_drops_callbacks_with_a_warning(tmp_path):
    X = _ids()
    clf = tiny(callbacks=[Callback()], max_epochs=1).fit(X, _labels("int", X[:, 0] > 4))
    with pytest.warns(UserWarning, match="dropped estimator.callbacks"):
        path = save(clf, tmp_path / "m.skseqattn")
    loaded = load(path)
    assert loaded.callbacks is None
    assert np.array_equal(loaded.predict_proba(X), clf.predict_proba(X))


def test_save_drops_pipeline_memory_and_load_refuses_one(tmp_path):
    pipe = make_pipeline(CharSequenceVectorizer(), memory=str(tmp_path / "cache"))
    with pytest.warns(UserWarning, match="dropped estimator.memory: a cache"):
        path = save(pipe, tmp_path / "p.skseqattn")
    assert load(path).memory is None

    def memory(doc):
        doc["estimator"]["__estimator__"]["params"]["memory"] = "/tmp/somewhere"

    with pytest.raises(FormatError, match="Pipeline.memory must be None"):
        load(_rebuild(path, tmp_path / "bad", manifest=memory))


def test_callable_analyzer_must_be_handed_to_load(tmp_path):
    vec = CharSequenceVectorizer(analyzer=bigrams).fit(["abc", "bcd"])
    path = save(vec, tmp_path / "vec.skseqattn")
    with pytest.raises(ValueError, match="never imports code.*callables=\\[bigrams\\]"):
        load(path)
    loaded = load(path, callables=[bigrams])
    assert loaded.analyzer is bigrams
    assert np.array_equal(loaded.transform(["abcd"]), vec.transform(["abcd"]))
    name = f"{bigrams.__module__}:bigrams"
    assert load(path, callables={name: bigrams}).vocabulary_ == vec.vocabulary_


def test_save_refuses_lambdas_and_foreign_objects(tmp_path):
    vec = CharSequenceVectorizer(analyzer=lambda s: s.split())
    with pytest.raises(TypeError, match="analyzer=.*module-level function"):
        save(vec, tmp_path / "v.skseqattn")
    with pytest.raises(TypeError, match="save stores .*LogisticRegression"):
        from sklearn.linear_model import LogisticRegression

        save(make_pipeline(CharSequenceVectorizer(), LogisticRegression()), tmp_path / "p")
    with pytest.raises(TypeError, match="expected an estimator"):
        save([1, 2], tmp_path / "x")
    assert not any(tmp_path.iterdir())  # nothing half-written


def test_load_device_without_cuda_is_a_clear_error(token_clf, tmp_path):
    if torch.cuda.is_available():
        pytest.skip("CUDA is available")
    clf, _ = token_clf
    path = save(clf, tmp_path / "m.skseqattn")
    with pytest.raises(ValueError, match="no CUDA device.*device='cpu'"):
        load(path, device="cuda")
    assert load(path, device="auto").device_ == "cpu"


def _same(a, b):
    """Equal values of equal types, recursively (NaN equals NaN)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (float, np.floating)):
        return a == b or (np.isnan(a) and np.isnan(b))
    return a == b


_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(alphabet=st.characters(), max_size=5),
)
_arrays = st.one_of(
    *(
        hnp.arrays(dtype, hnp.array_shapes(min_dims=0, max_dims=2, min_side=0, max_side=3))
        for dtype in ("<f4", "<f8", ">f8", "<f2", "<i8", "<u2", "|i1", "|b1", "<U3")
    )
)
_values = st.recursive(
    st.one_of(_scalars, _arrays, _arrays.map(lambda a: a[()] if a.ndim == 0 else a)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.lists(inner, max_size=3).map(tuple),
        st.dictionaries(st.text(max_size=3), inner, max_size=3),
        st.dictionaries(st.integers(-5, 5), inner, max_size=3),
    ),
    max_leaves=8,
)


@settings(max_examples=150, deadline=None)
@given(_values)
def test_value_encoding_round_trips_types_and_bits(value):
    import safetensors.numpy

    class Lib:  # what _Writer and _Reader use of the safetensors package
        numpy = safetensors.numpy

    writer = _Writer(Lib)
    node = writer.value(value, "value")
    text = json.dumps(node, ensure_ascii=True, allow_nan=False)
    reader = _Reader(writer.finish(), Lib, {}, "cpu")
    back = reader.value(json.loads(text), "value")
    assert _same(back, value), (value, back)


# --------------------------------------------------------------------------- hostile files
@pytest.fixture
def saved(token_clf, tmp_path):
    clf, _ = token_clf
    return save(clf, tmp_path / "good.skseqattn")


def test_payload_check_would_execute_if_unpickled(tmp_path):
    """The payload used below really runs code when unpickled: the tests can fail."""
    marker = tmp_path / "pwned-control"
    pickle.loads(pickle.dumps(_Payload(marker)))
    assert marker.exists()


@pytest.mark.parametrize("entry", ["manifest.json", "module-0.safetensors"])
@pytest.mark.parametrize("fix_checksum", [False, True])
def test_load_refuses_pickle_payloads_without_running_them(saved, tmp_path, entry, fix_checksum):
    marker = tmp_path / "pwned"
    payload = pickle.dumps(_Payload(marker))

    def manifest(doc):
        if fix_checksum and entry != "manifest.json":
            doc["files"][entry] = {
                "sha256": hashlib.sha256(payload).hexdigest(),
                "size": len(payload),
            }

    bad = _rebuild(saved, tmp_path / "bad.skseqattn", manifest=manifest, entries={entry: payload})
    with pytest.raises(FormatError, match="JSON|checksum|safetensors"):
        load(bad)
    assert not marker.exists()


def test_load_refuses_torch_save_weights(saved, tmp_path):
    marker = tmp_path / "pwned"
    buffer = io.BytesIO()
    torch.save({"weights": torch.zeros(2), "x": _Payload(marker)}, buffer)
    blob = buffer.getvalue()

    def manifest(doc):
        doc["files"]["module-0.safetensors"] = {
            "sha256": hashlib.sha256(blob).hexdigest(),
            "size": len(blob),
        }

    bad = _rebuild(
        saved, tmp_path / "bad", manifest=manifest, entries={"module-0.safetensors": blob}
    )
    with pytest.raises(FormatError, match="module-0.safetensors is not a valid safetensors"):
        load(bad)
    assert not marker.exists()


def test_load_refuses_a_pickle_or_joblib_file(token_clf, tmp_path):
    clf, _ = token_clf
    joblib.dump(clf, tmp_path / "m.joblib")
    with pytest.raises(FormatError, match="not a zip archive.*looks like a pickle.*trust"):
        load(tmp_path / "m.joblib")


def test_load_does_not_import_names_from_the_file(saved, tmp_path):
    marker = tmp_path / "pwned"

    def callable_analyzer(doc):
        doc["estimator"] = {
            "__estimator__": {
                "class": "CharSequenceVectorizer",
                "params": {"analyzer": {"__callable__": "os:system"}},
                "fitted": None,
            }
        }

    def foreign_class(doc):
        doc["estimator"]["__estimator__"]["class"] = "os.system"

    def optimizer(doc):
        params = doc["estimator"]["__estimator__"]["params"]
        params["optimizer"] = {"__optimizer__": "os.system"}

    path = _rebuild(saved, tmp_path / "a", manifest=callable_analyzer)
    with pytest.raises(ValueError, match="'os:system'.*never imports"):
        load(path)
    with pytest.raises(FormatError, match="class 'os.system' is not one skseqattn.load builds"):
        load(_rebuild(saved, tmp_path / "b", manifest=foreign_class))
    with pytest.raises(FormatError, match="not an optimizer of torch.optim"):
        load(_rebuild(saved, tmp_path / "c", manifest=optimizer))
    assert not marker.exists()


@pytest.mark.parametrize("keep", [0.5, 0.98, 40])
def test_load_truncated_file(saved, tmp_path, keep):
    data = open(saved, "rb").read()
    cut = int(len(data) * keep) if isinstance(keep, float) else keep
    (tmp_path / "cut").write_bytes(data[:cut])
    with pytest.raises(FormatError, match="not a zip archive, or truncated|damaged"):
        load(tmp_path / "cut")


def test_load_corrupted_bytes_inside_the_archive(saved, tmp_path):
    data = bytearray(open(saved, "rb").read())
    with zipfile.ZipFile(saved) as zf:
        info = zf.getinfo("manifest.json")
    start = info.header_offset + 30 + len(info.filename)  # the compressed manifest
    data[start + 20 : start + 40] = b"\x00" * 20
    (tmp_path / "corrupt").write_bytes(bytes(data))
    with pytest.raises(FormatError, match="cannot read manifest.json .*damaged"):
        load(tmp_path / "corrupt")


def test_load_foreign_zip_and_other_files(tmp_path):
    with zipfile.ZipFile(tmp_path / "foreign.zip", "w") as zf:
        zf.writestr("README.txt", "hello")
    with pytest.raises(FormatError, match="without manifest.json: not written by skseqattn"):
        load(tmp_path / "foreign.zip")
    with zipfile.ZipFile(tmp_path / "other.zip", "w") as zf:
        zf.writestr("manifest.json", json.dumps({"format": "something-else"}))
    with pytest.raises(FormatError, match="does not describe a skseqattn model"):
        load(tmp_path / "other.zip")
    (tmp_path / "text").write_text("just text")
    with pytest.raises(FormatError, match="not a skseqattn model file"):
        load(tmp_path / "text")
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "missing")


def test_load_newer_format_version_says_upgrade(saved, tmp_path):
    def newer(doc):
        doc["format_version"] = FORMAT_VERSION + 1

    path = _rebuild(saved, tmp_path / "new", manifest=newer)
    match = (
        f"written by format version {FORMAT_VERSION + 1} .*reads up to {FORMAT_VERSION}; "
        "upgrade skseqattn"
    )
    with pytest.raises(FormatError, match=match):
        load(path)


@pytest.mark.parametrize("version", ["1", 0, None, True])
def test_load_bad_format_version(saved, tmp_path, version):
    def bad(doc):
        doc["format_version"] = version

    with pytest.raises(FormatError, match="bad format_version"):
        load(_rebuild(saved, tmp_path / "bad", manifest=bad))


def test_load_wrong_checksum_and_size(saved, tmp_path):
    with zipfile.ZipFile(saved) as zf:
        blob = bytearray(zf.read("module-0.safetensors"))
    blob[-1] ^= 1  # one bit of one weight
    path = _rebuild(saved, tmp_path / "flip", entries={"module-0.safetensors": bytes(blob)})
    with pytest.raises(FormatError, match="checksum or size of module-0.safetensors"):
        load(path)

    def wrong_digest(doc):
        doc["files"]["module-0.safetensors"]["sha256"] = "0" * 64

    with pytest.raises(FormatError, match="checksum"):
        load(_rebuild(saved, tmp_path / "digest", manifest=wrong_digest))


def test_load_entries_must_match_the_manifest(saved, tmp_path):
    extra = _rebuild(saved, tmp_path / "extra", entries={"evil.pkl": b"x"})
    with pytest.raises(FormatError, match=r"unexpected entries \['evil.pkl'\]"):
        load(extra)
    missing = _rebuild(saved, tmp_path / "missing", drop=("module-0.safetensors",))
    with pytest.raises(FormatError, match=r"missing entries \['module-0.safetensors'\]"):
        load(missing)


def _edit_params(**changes):
    def edit(doc):
        doc["estimator"]["__estimator__"]["params"].update(changes)

    return edit


@pytest.mark.parametrize(
    "edit, match",
    [
        (_edit_params(hidden_size=16), "weight .* has shape"),
        (_edit_params(hidden_size=-3), "invalid parameters"),
        (_edit_params(not_a_param=1), r"no parameters \['not_a_param'\]"),
        (_edit_params(cell={"__eval__": "1"}), "unknown tag '__eval__'"),
        (_edit_params(cell={"a": 1, "b": 2}), "expected a value"),
    ],
)
def test_load_manifest_that_does_not_fit(saved, tmp_path, edit, match):
    with pytest.raises(FormatError, match=match):
        load(_rebuild(saved, tmp_path / "bad", manifest=edit))


@pytest.mark.parametrize("attention", ["additive", "dot", "general", "scaled_dot"])
def test_save_load_every_attention(attention, tmp_path):
    X = _ids()
    y = _labels("str", X[:, 0] > 4)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", ".*attention='dot' is Luong", FutureWarning)
        clf = tiny(attention=attention, max_epochs=1).fit(X, y)
    loaded = load(save(clf, tmp_path / "model.skseqattn"))
    assert loaded.attention == attention
    assert type(loaded.module_.pool) is type(clf.module_.pool)
    assert np.array_equal(loaded.predict_proba(X), clf.predict_proba(X))


def test_load_file_from_when_dot_was_the_learned_query(tmp_path):
    X = _ids()
    y = _labels("str", X[:, 0] > 4)
    clf = tiny(attention="scaled_dot", attention_heads=2, max_epochs=1).fit(X, y)
    path = save(clf, tmp_path / "model.skseqattn")
    old = _rebuild(path, tmp_path / "old.skseqattn", manifest=_edit_params(attention="dot"))
    with pytest.warns(FutureWarning, match="saved when attention='dot' named a learned query"):
        loaded = load(old)  # weights with a learned query: read as what 'dot' meant then
    assert loaded.attention == "scaled_dot"
    assert np.array_equal(loaded.predict_proba(X), clf.predict_proba(X))


def test_load_and_unpickle_fill_missing_parameters_from_one_table(tmp_path):
    """Files and pickles from before a parameter existed read the classifier's one table
    of added parameters, so they come back alike (and as the older version behaved)."""
    from skseqattn._classifier import _ADDED_PARAMS

    clf = tiny(max_epochs=1)
    path = save(clf, tmp_path / "model.skseqattn")

    def lacking(doc):
        params = doc["estimator"]["__estimator__"]["params"]
        for key in _ADDED_PARAMS:
            del params[key]

    from_file = load(_rebuild(path, tmp_path / "old.skseqattn", manifest=lacking))
    old = copy.deepcopy(clf)
    for key in _ADDED_PARAMS:
        delattr(old, key)
    from_pickle = pickle.loads(pickle.dumps(old))
    expected = {**clf.get_params(), **_ADDED_PARAMS}
    assert from_file.get_params() == from_pickle.get_params() == expected
    assert from_file.get_params()["ngram_order"] == 0 != clf.ngram_order  # not the default


def test_loading_leaves_dot_attention_of_another_pooling_as_it_is(tmp_path):
    X = _ids()
    clf = tiny(pooling="mean", attention="dot", max_epochs=1).fit(X, _labels("str", X[:, 0] > 4))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = load(save(clf, tmp_path / "model.skseqattn"))
        unpickled = pickle.loads(pickle.dumps(clf))
    assert loaded.attention == unpickled.attention == "dot"


@pytest.mark.parametrize("unknown_id", [None, 1])
def test_save_load_keeps_the_unknown_id(unknown_id, tmp_path):
    X = _ids()
    clf = tiny(unknown_id=unknown_id, max_epochs=1).fit(X, _labels("str", X[:, 0] > 4))
    loaded = load(save(clf, tmp_path / "model.skseqattn"))
    assert (loaded.unknown_id, loaded.unknown_id_) == (unknown_id, clf.unknown_id_)
    beyond = np.where(X == 5, 999, X)
    assert np.array_equal(loaded.predict_proba(beyond), clf.predict_proba(beyond))


def test_load_file_from_before_unknown_id_reads_unseen_ids_as_1(tmp_path):
    X = _ids()
    clf = tiny(unknown_id=1, max_epochs=1).fit(X, _labels("str", X[:, 0] > 4))
    path = save(clf, tmp_path / "model.skseqattn")

    def as_before(doc):
        body = doc["estimator"]["__estimator__"]
        del body["params"]["unknown_id"], body["fitted"]["unknown_id_"]

    loaded = load(_rebuild(path, tmp_path / "old.skseqattn", manifest=as_before))
    assert (loaded.unknown_id, loaded.unknown_id_) == (1, 1)
    beyond = np.where(X == 5, 999, X)
    assert np.array_equal(loaded.predict_proba(beyond), clf.predict_proba(beyond))


def test_load_file_from_before_conv_kernel_and_positions_builds_the_old_network(tmp_path):
    X = _ids()
    clf = tiny(conv_kernel=0, position_encoding=False).fit(X, _labels("str", X[:, 0] > 4))
    path = save(clf, tmp_path / "model.skseqattn")

    def as_before(doc):
        body = doc["estimator"]["__estimator__"]
        del body["params"]["conv_kernel"], body["params"]["position_encoding"]
        del body["fitted"]["position_encoding_"]

    loaded = load(_rebuild(path, tmp_path / "old.skseqattn", manifest=as_before))
    assert (loaded.conv_kernel, loaded.position_encoding) == (0, False)
    assert loaded.module_.conv is None and loaded.module_.position is None
    assert loaded.position_encoding_ is False
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))


def test_load_bad_fitted_attributes(saved, tmp_path):
    def classes(doc):
        fitted = doc["estimator"]["__estimator__"]["fitted"]
        fitted["classes_"] = {"__ndarray__": {"dtype": "<U3", "shape": [3], "data": ["a", 1]}}

    with pytest.raises(FormatError, match="2 values for shape"):
        load(_rebuild(saved, tmp_path / "a", manifest=classes))

    def attribute(doc):
        doc["estimator"]["__estimator__"]["fitted"]["predict"] = 1

    with pytest.raises(FormatError, match="'predict' is not a fitted attribute name"):
        load(_rebuild(saved, tmp_path / "b", manifest=attribute))

    def dtype(doc):
        fitted = doc["estimator"]["__estimator__"]["fitted"]
        fitted["classes_"]["__ndarray__"]["dtype"] = "V8"

    with pytest.raises(FormatError, match="dtype 'V8' is not one skseqattn stores"):
        load(_rebuild(saved, tmp_path / "c", manifest=dtype))


def test_load_invalid_json(saved, tmp_path):
    with zipfile.ZipFile(saved) as zf:
        text = zf.read("manifest.json").decode()
    cases = {
        "broken": text[: len(text) // 2],
        "duplicate": '{"format": "skseqattn", "format": "x"}',
        "nan": text.replace('"format_version": 1', '"format_version": NaN'),
    }
    for name, content in cases.items():
        path = _rebuild(saved, tmp_path / name, entries={"manifest.json": content.encode()})
        with pytest.raises(FormatError, match="not valid JSON|repeats the keys|non-JSON"):
            load(path)


def test_format_error_is_a_value_error():
    assert issubclass(FormatError, ValueError)


def test_save_replaces_existing_file_atomically(token_clf, tmp_path):
    clf, X = token_clf
    path = tmp_path / "m.skseqattn"
    path.write_bytes(b"old")
    save(clf, path)
    assert np.array_equal(load(path).predict_proba(X), clf.predict_proba(X))
    assert [p.name for p in tmp_path.iterdir()] == ["m.skseqattn"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        save(CharSequenceVectorizer(), path)  # no warning for plain estimators


_KILLED_SAVE = """
import sys, time, zipfile
import skseqattn.persistence._writing as persistence
from skseqattn import CharSequenceVectorizer

if sys.argv[2] == "named":  # as on a system without unnamed files
    persistence._unnamed_file = lambda folder: None
write = zipfile.ZipFile.writestr

def stalled(self, *args, **kwargs):  # write the first entry, then wait to be killed
    write(self, *args, **kwargs)
    print("writing", flush=True)
    time.sleep(120)

zipfile.ZipFile.writestr = stalled
persistence.save(CharSequenceVectorizer().fit(["anna", "bob"]), sys.argv[1])
"""


def _kill_while_saving(path, mode):
    """Run a save to ``path`` in a subprocess and SIGKILL it in the middle of the write."""
    env = {**os.environ, "SKSEQATTN_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    root = str(Path(__file__).resolve().parents[1])  # this checkout's skseqattn
    env["PYTHONPATH"] = os.pathsep.join([root, env.get("PYTHONPATH", "")])
    child = subprocess.Popen(
        [sys.executable, "-c", _KILLED_SAVE, str(path), mode],
        stdout=subprocess.PIPE,
        env=env,
    )
    try:
        assert child.stdout.readline() == b"writing\n"
    finally:
        child.kill()
        child.wait(timeout=30)
    assert child.returncode == -9


@pytest.mark.parametrize("mode", ["unnamed", "named"])
def test_a_save_killed_midway_leaves_the_old_file_and_no_temporary_one(mode, tmp_path):
    from skseqattn.persistence._writing import _unnamed_file

    if mode == "unnamed":
        fd = _unnamed_file(str(tmp_path))
        if fd is None:
            pytest.skip("this file system has no unnamed files (O_TMPFILE)")
        os.close(fd)
    path = tmp_path / "v.skseqattn"
    old = CharSequenceVectorizer().fit(["old"])
    save(old, path)
    _kill_while_saving(path, mode)
    left = sorted(p.name for p in tmp_path.iterdir())
    assert load(path).vocabulary_ == old.vocabulary_  # the old file is whole
    if mode == "unnamed":
        assert left == ["v.skseqattn"]  # the unnamed file died with the process
        return
    # Without unnamed files the killed process's temporary file stays until the next save
    # to the same target, which removes it; one of a running process (here this one) stays.
    assert len(left) == 2 and left[1].startswith("v.skseqattn.") and left[1].endswith(".tmp")
    from skseqattn.persistence._writing import _temporary_name

    running = Path(_temporary_name(str(path)))
    running.write_bytes(b"in progress")
    unrelated = tmp_path / "v.skseqattn.1234.tmp"  # not a name save writes
    unrelated.write_bytes(b"x")
    save(CharSequenceVectorizer().fit(["new"]), path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["v.skseqattn", running.name, unrelated.name]
    )
    assert load(path).vocabulary_ == {"e": 2, "n": 3, "w": 4}


def test_a_failed_write_leaves_no_temporary_file(token_clf, tmp_path, monkeypatch):
    import skseqattn.persistence._writing as persistence

    path = tmp_path / "m.skseqattn"
    path.write_bytes(b"old")
    for unnamed in (persistence._unnamed_file, lambda folder: None):
        monkeypatch.setattr(persistence, "_unnamed_file", unnamed)

        def full(*args, **kwargs):
            raise OSError(28, "No space left on device")

        with monkeypatch.context() as m:
            m.setattr(zipfile.ZipFile, "writestr", full)
            with pytest.raises(OSError, match="No space left"):
                save(token_clf[0], path)
        assert [p.name for p in tmp_path.iterdir()] == ["m.skseqattn"]
        assert path.read_bytes() == b"old"


def test_load_file_written_before_the_ngram_and_precision_params(tmp_path):
    # A file of the previous version has no ngram_order, ngram_buckets, logit_adjustment
    # or mixed_precision: it loads as the model it was (no n-gram table, plain loss), not
    # with today's defaults, which would not fit its weights.
    X = _ids()
    y = _labels("str", X[:, 0] > 4)
    clf = tiny(ngram_order=0, logit_adjustment=0.0).fit(X, y)
    path = save(clf, tmp_path / "new.skseqattn")
    added = ("ngram_order", "ngram_buckets", "logit_adjustment", "mixed_precision")

    def drop_added(doc):
        params = doc["estimator"]["__estimator__"]["params"]
        for key in added:
            del params[key]

    old = load(_rebuild(path, tmp_path / "old.skseqattn", manifest=drop_added))
    assert old.ngram_order == 0 and old.logit_adjustment == 0.0 and not old.mixed_precision
    assert old.module_.ngrams is None
    np.testing.assert_array_equal(old.predict_proba(X), clf.predict_proba(X))


# --------------------------------------------------------------------------- bounds and signing
def test_save_load_with_key_round_trips_and_refuses_other_keys(token_clf, tmp_path):
    clf, X = token_clf
    path = save(clf, tmp_path / "signed.skseqattn", key=b"k" * 32)
    with zipfile.ZipFile(path) as zf:
        assert zf.read("signature.hmac").startswith(b"hmac-sha256:")
    loaded = load(path, key=b"k" * 32)
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    assert load(path, key="k" * 32).hidden_size == clf.hidden_size  # str keys are UTF-8
    with pytest.raises(FormatError, match="signature does not verify.*another key"):
        load(path, key=b"other key")
    with pytest.warns(UserWarning, match="is signed, but skseqattn.load got no key"):
        load(path)


def test_load_with_key_refuses_unsigned_and_resigned_files(token_clf, tmp_path):
    clf, _ = token_clf
    unsigned = save(clf, tmp_path / "plain.skseqattn")
    with pytest.raises(FormatError, match="is not signed, but skseqattn.load got a key"):
        load(unsigned, key=b"k" * 32)
    signed = save(clf, tmp_path / "signed.skseqattn", key=b"k" * 32)

    # An attacker who changes a weight and updates the checksum, keeping the signature.
    with zipfile.ZipFile(signed) as zf:
        blob = bytearray(zf.read("module-0.safetensors"))
    blob[-1] ^= 1

    def fix_checksum(doc):
        doc["files"]["module-0.safetensors"]["sha256"] = hashlib.sha256(blob).hexdigest()

    altered = _rebuild(
        signed, tmp_path / "altered", manifest=fix_checksum, entries={"module-0.safetensors": blob}
    )
    with pytest.warns(UserWarning, match="is signed"):
        load(altered)  # the checksums match: without a key the change goes unseen
    with pytest.raises(FormatError, match="signature does not verify"):
        load(altered, key=b"k" * 32)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(key=b""), ValueError, "empty key"),
        (dict(key=123), TypeError, "expected key to be bytes or str.*got int"),
        (dict(max_bytes=0), ValueError, "max_bytes to be a positive int, got 0"),
        (dict(max_bytes=1.5), ValueError, "max_bytes to be a positive int, got 1.5"),
    ],
)
def test_load_checks_key_and_max_bytes(saved, kwargs, error, match):
    with pytest.raises(error, match=match):
        load(saved, **kwargs)


def test_save_checks_key(token_clf, tmp_path):
    with pytest.raises(TypeError, match="skseqattn.save expected key to be bytes or str"):
        save(token_clf[0], tmp_path / "x", key=["k"])
    assert not (tmp_path / "x").exists()


def test_load_refuses_files_above_max_bytes(saved):
    size = sum(info.file_size for info in zipfile.ZipFile(saved).infolist())
    assert load(saved, max_bytes=size).hidden_size == 8
    with pytest.raises(FormatError, match=r"more than max_bytes=1000; pass a larger max_bytes"):
        load(saved, max_bytes=1000)


@pytest.mark.parametrize("name", ["../evil.safetensors", "a/b.safetensors", "/abs", ".hidden"])
def test_load_refuses_unsafe_entry_names(saved, tmp_path, name):
    path = _rebuild(saved, tmp_path / "names", entries={name: b"x"})
    with pytest.raises(FormatError, match="holds an entry with an unsafe name"):
        load(path)


def test_load_refuses_too_many_entries_before_reading_them(saved, tmp_path):
    path = _rebuild(saved, tmp_path / "many", entries={f"e{i}": b"" for i in range(300)})
    with pytest.raises(FormatError, match="declares 302 entries .* at most 256"):
        load(path)


def test_load_refuses_zip_sizes_that_disagree_with_the_manifest(saved, tmp_path):
    def bigger(doc):
        doc["files"]["module-0.safetensors"]["size"] += 1

    with pytest.raises(FormatError, match="the zip declares \\d+ bytes, the manifest \\d+"):
        load(_rebuild(saved, tmp_path / "size", manifest=bigger))


def _weights_with_header(saved, edit):
    with zipfile.ZipFile(saved) as zf:
        blob = zf.read("module-0.safetensors")
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8 : 8 + n])
    raw = edit(header, blob[8 + n :])
    return raw if isinstance(raw, bytes) else None


@pytest.mark.parametrize(
    "edit, match",
    [
        (lambda h, body: struct.pack("<Q", 2**40) + body, "its header claims 1099511627776"),
        (
            lambda h, body: h["head.bias"].update(shape=[10**6]) or None,
            "tensor 'head.bias' of shape \\[1000000\\] and dtype F32 does not take",
        ),
        (
            lambda h, body: h["head.bias"].update(dtype="F64") or None,
            "tensor 'head.bias' of shape \\[2\\] and dtype F64 does not take",
        ),
        (lambda h, body: h["head.bias"].update(dtype="PY") or None, "bad header entry 'head.bias'"),
    ],
)
def test_load_checks_the_weights_header_before_the_tensors(saved, tmp_path, edit, match):
    with zipfile.ZipFile(saved) as zf:
        blob = zf.read("module-0.safetensors")
    (n,) = struct.unpack("<Q", blob[:8])
    header, body = json.loads(blob[8 : 8 + n]), blob[8 + n :]
    new = edit(header, body)
    if new is None:
        raw = json.dumps(header).encode()
        new = struct.pack("<Q", len(raw)) + raw + body

    def checksum(doc):
        doc["files"]["module-0.safetensors"] = {
            "sha256": hashlib.sha256(new).hexdigest(),
            "size": len(new),
        }

    path = _rebuild(saved, tmp_path / "h", manifest=checksum, entries={"module-0.safetensors": new})
    with pytest.raises(FormatError, match=match):
        load(path)


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(hidden_size=8000), "hidden_size=8000 needs at least 64000000 weights"),
        (dict(num_layers=50), "num_layers=50 needs at least 50 weight tensors"),
        # ids 2..8 and the row for unseen ids: n_ids_ = 10
        (dict(embedding_dim=10**6), "embedding_dim=1000000 needs at least 10000000 weights"),
        (dict(attention_heads=10**6), "attention_heads=1000000 needs at least 8000000"),
        (dict(num_layers=2), r"missing weights \['rnn.bias_hh_l1"),
    ],
)
def test_load_compares_parameters_with_the_weights_before_building(saved, tmp_path, params, match):
    with pytest.raises(FormatError, match=match):
        load(_rebuild(saved, tmp_path / "p", manifest=_edit_params(**params)))


def _edit_fitted(**changes):
    def edit(doc):
        fitted = doc["estimator"]["__estimator__"]["fitted"]
        for key, value in changes.items():
            if value is None:
                del fitted[key]
            else:
                fitted[key] = value

    return edit


@pytest.mark.parametrize(
    "attr, value, match",
    [
        ("ngram_buckets_", 10**6, "ngram_buckets_=1000000 needs at least"),
        ("ngram_buckets_", 0, "ngram_buckets_ must be an int >= 1"),
        ("ngram_buckets_", "65536", "ngram_buckets_ must be an int >= 1"),
        ("ngram_order_", -1, "ngram_order_ must be an int >= 0"),
        ("ngram_order_", "4", "ngram_order_ must be an int >= 0"),
        ("ngram_order_", 10**6, "ngram_order_=1000000 exceeds"),
    ],
)
def test_load_sizes_the_ngram_table_by_its_fitted_attributes_and_checks_them(
    saved, tmp_path, attr, value, match
):
    with pytest.raises(FormatError, match=match):
        load(_rebuild(saved, tmp_path / "r", manifest=_edit_fitted(**{attr: value})))


@pytest.mark.parametrize(
    "attr, part",
    [
        ("ngram_buckets_", "buckets"),  # 'auto' meant 65,536 rows for these classes
        ("ngram_order_", "max_order"),  # the parameter, an int then, gave the orders
    ],
)
def test_a_file_without_a_table_attribute_gets_the_rule_of_its_time(saved, tmp_path, attr, part):
    """Saved before ``ngram_buckets_`` or ``ngram_order_``: the table comes back alike."""
    original = load(saved)
    expected = {"buckets": 65536, "max_order": 4}[part]
    assert getattr(original, attr) == getattr(original.module_.ngrams, part) == expected
    older = load(_rebuild(saved, tmp_path / "o", manifest=_edit_fitted(**{attr: None})))
    assert getattr(older, attr) == getattr(older.module_.ngrams, part) == expected
    X = np.array([[2, 3, 4], [5, 6, 0]])
    np.testing.assert_array_equal(older.predict_proba(X), original.predict_proba(X))


def test_load_bounds_numbers_keys_depth_and_dtypes(saved, tmp_path):
    with zipfile.ZipFile(saved) as zf:
        text = zf.read("manifest.json").decode()

    def entry(content):
        return _rebuild(saved, tmp_path / "m", entries={"manifest.json": content.encode()})

    digits = text.replace('"hidden_size": 8', '"hidden_size": ' + "9" * 4300)
    assert digits != text
    with pytest.raises(FormatError, match="holds an integer of 4300 digits"):
        load(entry(digits))
    huge = text.replace('"lr": 0.003', '"lr": 1e999')
    assert huge != text
    with pytest.raises(FormatError, match="holds the number '1e999', which is not a finite float"):
        load(entry(huge))
    start = time.perf_counter()
    keys = '{"format": "skseqattn", "x": {' + ",".join(['"k": 0'] * 100_000) + "}}"
    with pytest.raises(FormatError, match=r"repeats the keys \['k'\]"):
        load(entry(keys))
    assert time.perf_counter() - start < 2  # linear: the quadratic check took minutes

    def deep(doc):
        doc["estimator"]["__estimator__"]["params"]["callbacks"] = json.loads("[" * 100 + "]" * 100)

    with pytest.raises(FormatError, match="nested deeper than 64 levels"):
        load(_rebuild(saved, tmp_path / "deep", manifest=deep))

    def dtype(doc):
        fitted = doc["estimator"]["__estimator__"]["fitted"]
        fitted["classes_"]["__ndarray__"]["dtype"] = "<U250000000"

    with pytest.raises(FormatError, match="'<U250000000' holds strings of more than 65536"):
        load(_rebuild(saved, tmp_path / "dtype", manifest=dtype))


def test_load_bounds_a_vectorizers_width_by_max_bytes(tmp_path):
    vec = CharSequenceVectorizer().fit(["anna", "bob"])
    path = save(vec, tmp_path / "vec.skseqattn")

    def wide(doc):
        doc["estimator"]["__estimator__"]["fitted"]["max_len_"] = 10**15

    bad = _rebuild(path, tmp_path / "wide", manifest=wide)
    expected = r"max_len_=1000000000000000 exceeds max\(max_bytes // 16384, 1\)"
    with pytest.raises(FormatError, match=expected):
        load(bad)
    wide_ok = _rebuild(path, tmp_path / "ok", manifest=_edit_params(max_len=5000))
    with pytest.raises(FormatError, match=r"CharSequenceVectorizer.max_len=5000 exceeds"):
        load(wide_ok, max_bytes=2**20)
    assert load(wide_ok).max_len == 5000


def test_load_compares_shapes_before_reading_tensors_or_building(saved, tmp_path, monkeypatch):
    import skseqattn._net
    from skseqattn import persistence

    calls = []
    real_read, real_build = persistence._Members.read, skseqattn._net.build_module

    def read(self, name):
        calls.append(("read", name))
        return real_read(self, name)

    def build(*args, **kwargs):
        module = real_build(*args, **kwargs)
        calls.append(("build", next(module.parameters()).device.type))
        return module

    monkeypatch.setattr(persistence._Members, "read", read)
    monkeypatch.setattr(skseqattn._net, "build_module", build)
    with pytest.raises(FormatError, match="weight 'embedding.weight' has shape"):
        load(_rebuild(saved, tmp_path / "p", manifest=_edit_params(embedding_dim=9)))
    assert calls == [("build", "meta")]  # no tensor read, no real module
    calls.clear()
    load(saved)
    assert calls == [("build", "meta"), ("read", "module-0.safetensors"), ("build", "cpu")]


def test_load_reads_the_entry_count_of_a_zip64_end_record_too(saved, tmp_path, monkeypatch):
    # zipfile takes the count from a zip64 end record when there is one: the bound must too.
    monkeypatch.setattr(zipfile, "ZIP_FILECOUNT_LIMIT", 1)  # makes zipfile write zip64 records
    path = _rebuild(saved, tmp_path / "zip64")
    monkeypatch.undo()
    data = bytearray(path.read_bytes())
    at = data.rfind(b"PK\x06\x06")
    assert at > 0 and load(path).hidden_size == 8
    struct.pack_into("<Q", data, at + 32, 10**6)  # entries in the zip64 record
    path.write_bytes(bytes(data))
    with pytest.raises(FormatError, match="declares 1000000 entries"):
        load(path)


def test_load_checks_the_arrays_entry_against_the_manifest_before_reading(tmp_path):
    weights = np.arange(1200, dtype=np.float32).reshape(40, 30)
    path = save(tiny(embedding_weights=weights), tmp_path / "arrays.skseqattn")
    np.testing.assert_array_equal(load(path).embedding_weights, weights)

    def transposed(doc):
        node = doc["estimator"]["__estimator__"]["params"]["embedding_weights"]["__ndarray__"]
        assert node["blob"] == "arrays.safetensors"
        node["shape"] = [30, 40]

    with pytest.raises(FormatError, match=r"does not hold the arrays .*of another shape.*\['a0'\]"):
        load(_rebuild(path, tmp_path / "t", manifest=transposed))


def test_load_refuses_pipeline_steps_that_are_not_estimators(pipeline, tmp_path):
    path = save(pipeline, tmp_path / "pipe.skseqattn")

    def steps(doc):
        doc["estimator"]["__estimator__"]["params"]["steps"] = [{"__tuple__": ["a", 1]}]

    with pytest.raises(FormatError, match=r"estimator\.steps: Last step of Pipeline should"):
        load(_rebuild(path, tmp_path / "s", manifest=steps))


def test_save_load_keeps_position_encoding(tmp_path):
    X = _ids()
    y = (X[:, 0] == 3).astype(int)
    clf = tiny(position_encoding=True).fit(X, y)
    save(clf, tmp_path / "model.zip")
    loaded = load(tmp_path / "model.zip")
    assert loaded.position_encoding and loaded.module_.position is not None
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))


def test_save_load_keeps_the_convolution(tmp_path):
    X = _ids()
    y = (X[:, 0] == 3).astype(int)
    clf = tiny(conv_kernel=3).fit(X, y)
    save(clf, tmp_path / "model.zip")
    loaded = load(tmp_path / "model.zip")
    assert loaded.conv_kernel == 3 and loaded.module_.conv.conv.kernel_size == (3,)
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))


@pytest.mark.parametrize("fixed", [True, False])
def test_save_load_keeps_what_position_encoding_auto_chose(tmp_path, fixed):
    X = np.array([[2, 3, 4, 5], [5, 4, 3, 2], [3, 3, 4, 4], [2, 5, 5, 3]] * 10)
    if not fixed:
        X[1::4, 2:] = 0  # some rows padded: ragged
    y = (X[:, 0] == 3).astype(int)
    clf = tiny(position_encoding="auto").fit(X, y)
    assert clf.position_encoding_ is fixed
    save(clf, tmp_path / "model.zip")
    loaded = load(tmp_path / "model.zip")
    assert loaded.position_encoding == "auto" and loaded.position_encoding_ is fixed
    assert (loaded.module_.position is not None) is fixed
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
