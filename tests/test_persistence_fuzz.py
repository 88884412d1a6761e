"""Hostile files: each crafted file of issue 14, and a seeded fuzz loop over manifests and
entry sizes, must end in FormatError (or a valid model) within a time and memory budget."""

import copy
import hashlib
import importlib.util
import json
import random
import re
import struct
import time
import tracemalloc
import zipfile
import zlib
from pathlib import Path

import pytest

from skseqattn.persistence import FormatError, load

REPO_ROOT = Path(__file__).resolve().parents[1]
SECONDS = 2.0  # per load, on a shared 2-core machine
TRACED_MIB = 64  # peak of Python allocations (numpy included) during one load
RSS_MIB = 300  # the bound on the peak RSS above the RSS before the load


def _bench():
    path = REPO_ROOT / "benchmarks" / "bench_hostile_files.py"
    spec = importlib.util.spec_from_file_location("bench_hostile_files", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bench = _bench()


def _budgeted_load(path, **kwargs):
    """(error or None, seconds, traced peak MiB) of one load."""
    tracemalloc.start()
    start = time.perf_counter()
    try:
        load(path, **kwargs)
        error = None
    except FormatError as exc:
        error = exc
    finally:
        seconds = time.perf_counter() - start
        traced = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return error, seconds, traced


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    return {name: (path, match) for name, path, match in bench.build_cases(folder)}


@pytest.fixture(scope="module")
def good(hostile):
    return Path(next(iter(hostile.values()))[0]).with_name("clf.skseqattn")


CASES = [
    "hidden_size=8000",
    "num_layers=5000",
    "embedding_dim=1e8",
    "hidden_size=10**12",
    "2.5 GiB zeros weights",
    "192 MiB of [] manifest",
    "160k duplicate keys",
    "dtype <U250000000",
    "4300-digit int",
    "max_len_=10**15",
    "ngram_order=100000",
    "vectorizer max_len=1e6",
    "feature_scale_ = 0",
    "NaN head weights",
    "duplicate classes_",
    "analyzer tagged as a class",
]


@pytest.mark.parametrize("name", CASES)
def test_hostile_file_is_refused_fast_and_small(hostile, name):
    path, match = hostile[name]
    result = bench.measure(path)
    assert result["error_type"] == "FormatError", result
    assert result["seconds"] < SECONDS, result
    assert result["traced_peak_mib"] < TRACED_MIB, result
    if result["rss_method"] == "VmHWM reset":
        assert result["peak_rss_mib"] < RSS_MIB, result
    with pytest.raises(FormatError, match=match):
        load(path)


def test_zeros_entry_is_refused_by_its_ratio_when_max_bytes_allows_it(hostile):
    path, _ = hostile["2.5 GiB zeros weights"]
    error, seconds, traced = _budgeted_load(path, max_bytes=8 * 2**30)
    assert re.search(r"module-0.safetensors expands \d+ times .*at most 50", str(error)), error
    assert seconds < SECONDS and traced < TRACED_MIB


def test_the_good_file_loads_within_the_budget(good):
    error, seconds, traced = _budgeted_load(good)
    assert error is None and seconds < SECONDS and traced < TRACED_MIB


# ---------------------------------------------------------------------- the fuzz loop
_HOSTILE_VALUES = [
    -1,
    0,
    1,
    2**31,
    10**6,
    10**9,
    10**12,
    2**63,
    10**19,
    -(10**19),
    1.5,
    -0.0,
    1e308,
    "x",
    "",
    None,
    True,
    [],
    {},
    [[[[[]]]]],
    {"__tuple__": [1, 2]},
    {"__float__": "nan"},
    {"__dict__": {"a": 1}},
    {"__ndarray__": {"dtype": "<f4", "shape": [10**9], "data": []}},
    {"__ndarray__": {"dtype": "<U65536", "shape": [2], "data": ["a", "b"]}},
    {"__ndarray__": {"dtype": "<i8", "shape": [2], "blob": "arrays.safetensors", "key": "a0"}},
    {"__scalar__": {"dtype": "<U99999", "value": "x"}},
    {"__dtype__": "<U4294967295"},
    {"__random_state__": [[0] * 3, 0, 0, 0.0]},
    {"__device__": "warp:7"},
    {"__optimizer__": "Adam"},
    {"__mapping__": [[1, 2], [1, 3]]},
]


def _safetensors_parts(data):
    (length,) = struct.unpack("<Q", data[:8])
    return json.loads(data[8 : 8 + length]), data[8 + length :]


def _safetensors(header, body):
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + body


def _mutate(rng, doc, weights):
    """One random change to a parsed manifest or to the weights; returns (doc, weights)."""
    node = doc["estimator"]["__estimator__"]
    kind = rng.choice(["param", "fitted", "size", "header", "body", "history", "files"])
    if kind == "param":
        node["params"][rng.choice(sorted(node["params"]))] = copy.deepcopy(
            rng.choice(_HOSTILE_VALUES)
        )
    elif kind == "fitted":
        fitted = node["fitted"]
        key = rng.choice(sorted(fitted))
        if rng.random() < 0.5 or not isinstance(fitted[key], dict):
            fitted[key] = copy.deepcopy(rng.choice(_HOSTILE_VALUES))
        else:
            inner = next(iter(fitted[key].values()))
            if isinstance(inner, dict):
                field = rng.choice(sorted(inner))
                inner[field] = copy.deepcopy(rng.choice(_HOSTILE_VALUES))
    elif kind == "size":
        meta = doc["files"].get("module-0.safetensors")
        if isinstance(meta, dict):
            meta["size"] = rng.choice([0, 7, len(weights) - 1, len(weights) + 1, 2**40, -1, "9"])
    elif kind == "header":
        try:
            header, body = _safetensors_parts(weights)
        except (ValueError, struct.error):  # an earlier mutation broke it already
            return doc, weights
        key = rng.choice(sorted(k for k in header if k != "__metadata__"))
        field = rng.choice(["dtype", "shape", "data_offsets"])
        header[key][field] = rng.choice(
            [
                "F64",
                "X9",
                [10**9],
                [2**62, 2**62],
                [0, 10**12],
                [-1, 4],
                None,
                [int(n) + 1 for n in header[key][field]]
                if isinstance(header[key][field], list)
                else 1,
            ]
        )
        weights = _safetensors(header, body)
    elif kind == "body":
        choice = rng.randrange(3)
        if choice == 0:
            weights = struct.pack("<Q", rng.choice([2**63, 10**9, 0, len(weights)])) + weights[8:]
        elif choice == 1:
            weights = weights[: rng.randrange(len(weights))]
        else:
            weights = weights + bytes(rng.randrange(1, 64))
    elif kind == "history":
        node["history"] = rng.choice(
            [[{"__dict__": {"epoch": 10**30}}], [[]] * 3, "x", [{"__dict__": {}}] * 100]
        )
    else:
        doc["files"][rng.choice(["module-0.safetensors", "../x.safetensors"])] = rng.choice(
            [{"size": 1, "sha256": "0"}, {}, None, {"size": True, "sha256": 1}]
        )
    return doc, weights


def test_fuzzed_manifests_and_sizes_raise_only_format_error(good, tmp_path):
    with zipfile.ZipFile(good) as zf:
        base_doc = json.loads(zf.read("manifest.json"))
        base_weights = zf.read("module-0.safetensors")
    rng = random.Random(14)
    refused, slowest, largest = 0, 0.0, 0.0
    n = 150
    for i in range(n):
        doc, weights = copy.deepcopy(base_doc), base_weights
        for _ in range(rng.choice([1, 1, 2, 3])):
            doc, weights = _mutate(rng, doc, weights)
        if weights is not base_weights and rng.random() < 0.7:  # usually a consistent checksum
            meta = doc["files"].get("module-0.safetensors")
            if isinstance(meta, dict) and "sha256" in meta:
                meta.update(sha256=hashlib.sha256(weights).hexdigest(), size=len(weights))
        path = tmp_path / f"fuzz-{i}.skseqattn"
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("manifest.json", json.dumps(doc))
            zf.writestr("module-0.safetensors", weights)
        try:
            error, seconds, traced = _budgeted_load(path)
        except Exception as exc:  # anything but FormatError fails the test, with the case
            raise AssertionError(f"mutation {i} raised {type(exc).__name__}: {exc}") from exc
        refused += error is not None
        slowest, largest = max(slowest, seconds), max(largest, traced)
        assert seconds < SECONDS, (i, seconds, error)
        assert traced < TRACED_MIB, (i, traced, error)
        path.unlink()
    assert refused >= 0.7 * n, refused  # the mutations mostly make files that must be refused


def test_fuzzed_vectorizer_manifests_raise_only_format_error(hostile, tmp_path):
    vec = Path(next(iter(hostile.values()))[0]).with_name("vec.skseqattn")
    with zipfile.ZipFile(vec) as zf:
        base_doc = json.loads(zf.read("manifest.json"))
    rng = random.Random(15)
    refused, n = 0, 60
    for i in range(n):
        doc = copy.deepcopy(base_doc)
        node = doc["estimator"]["__estimator__"]
        part = node[rng.choice(["params", "fitted"])]
        key = rng.choice(sorted(part))
        part[key] = copy.deepcopy(rng.choice(_HOSTILE_VALUES))
        path = tmp_path / f"vec-{i}.skseqattn"
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("manifest.json", json.dumps(doc))
        try:
            error, seconds, traced = _budgeted_load(path)
        except Exception as exc:
            raise AssertionError(
                f"mutation {i} ({key}) raised {type(exc).__name__}: {exc}"
            ) from exc
        refused += error is not None
        assert seconds < SECONDS and traced < TRACED_MIB, (i, key, seconds, traced)
    assert refused >= 0.5 * n, refused


# ---------------------------------------------------------------------- the zip layer
@pytest.fixture(scope="module")
def tiny_file():
    """(bytes of a tiny saved classifier, the rows it predicts, its probabilities)."""
    import io

    import numpy as np

    from skseqattn import BiLSTMAttentionClassifier, save

    rng = np.random.RandomState(0)
    X = rng.randint(2, 6, size=(40, 5))
    y = np.where(X[:, 0] == 2, "a", "b")
    clf = BiLSTMAttentionClassifier(
        embedding_dim=4,
        hidden_size=4,
        max_epochs=1,
        validation_fraction=None,
        ngram_order=0,
        conv_kernel=0,
        random_state=0,
    ).fit(X, y)
    return save(clf, io.BytesIO()).getvalue(), X[:4], clf.predict_proba(X[:4])


def _zip_structure(data):
    """Byte offsets of every local header (with its name), the central directory and the
    end record of the zip ``data``: the bytes that zipfile itself parses."""
    import io

    offsets = []
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for info in zf.infolist():
            begin = info.header_offset
            name_length, extra = struct.unpack_from("<HH", data, begin + 26)
            offsets.extend(range(begin, begin + 30 + name_length + extra))
        offsets.extend(range(zf.start_dir, len(data)))
    return offsets


def test_every_bit_flip_of_the_zip_structure_raises_format_error_or_loads_intact(tiny_file):
    import io

    import numpy as np

    data, X, proba = tiny_file
    offsets = _zip_structure(data)
    assert len(offsets) > 200  # two local headers, two central entries, the end record
    outcomes = {"FormatError": 0, "loaded": 0}
    checked = set()
    start = time.perf_counter()
    for offset in offsets:
        for bit in range(8):
            flipped = bytearray(data)
            flipped[offset] ^= 1 << bit
            try:
                loaded = load(io.BytesIO(bytes(flipped)))
            except FormatError:
                outcomes["FormatError"] += 1
                continue
            except Exception as exc:
                raise AssertionError(
                    f"flipping bit {bit} of byte {offset} raised {type(exc).__name__}: {exc}"
                ) from exc
            # Fields zipfile does not read (dates, versions, attributes): the model is intact
            # (checked once per byte, to keep the sweep fast).
            outcomes["loaded"] += 1
            if offset not in checked:
                checked.add(offset)
                np.testing.assert_array_equal(loaded.predict_proba(X), proba)
    seconds = time.perf_counter() - start
    assert outcomes["FormatError"] > 0.3 * 8 * len(offsets), outcomes
    assert seconds < 60, seconds  # ~2,000 loads; a few seconds on an idle core


def test_zip_error_while_reading_an_entry_is_a_format_error(tiny_file):
    """The three errors of issue 29's bit flips: a damaged local header's magic, a name
    that differs from the table's, an entry offset that points before the file."""
    import io

    data, _, _ = tiny_file
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        info = zf.getinfo("module-0.safetensors")
        directory = zf.start_dir
    begin = info.header_offset
    magic = bytearray(data)
    magic[begin] ^= 0x01
    with pytest.raises(FormatError, match="module-0.safetensors has no local file header"):
        load(io.BytesIO(bytes(magic)))
    name = bytearray(data)
    name[begin + 30] ^= 0x02  # 'm' -> 'o'
    with pytest.raises(FormatError, match="module-0.safetensors is named b'oodule-0"):
        load(io.BytesIO(bytes(name)))
    # The central entry's offset field (42 bytes into it) made huge: the start lies beyond.
    entries, at = [], data.find(b"PK\x01\x02", directory)
    while at >= 0:
        entries.append(at)
        at = data.find(b"PK\x01\x02", at + 4)
    assert len(entries) == 2
    for entry in entries:
        moved = bytearray(data)
        moved[entry + 42 : entry + 46] = struct.pack("<L", 0xFFFF0000)
        with pytest.raises(FormatError, match="outside the archive|not a skseqattn model"):
            load(io.BytesIO(bytes(moved)))


def test_overlapping_entries_are_refused(tiny_file, tmp_path):
    """An entry whose local header lies inside another entry's bytes (one way to make one
    file's bytes count twice, or a zip bomb) is refused before either is read."""
    import io

    data, _, _ = tiny_file
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        manifest = zf.read("manifest.json")
        weights = zf.read("module-0.safetensors")

    def local(name, content, size=None):
        size = len(content) if size is None else size
        crc = zlib.crc32(content[:size]) if size <= len(content) else 0
        head = struct.pack(
            "<4s2B4HL2L2H", b"PK\x03\x04", 20, 0, 0, 0, 0, 33, crc, size, size, len(name), 0
        )
        return head + name

    def central(name, size, crc, offset):
        return (
            struct.pack(
                "<4s4B4HL2L5HLL",
                b"PK\x01\x02",
                20,
                0,
                20,
                0,
                0,
                0,
                0,
                33,
                crc,
                size,
                size,
                len(name),
                0,
                0,
                0,
                0,
                0,
                offset,
            )
            + name
        )

    inner = local(b"module-0.safetensors", weights) + weights
    outer_content = manifest + inner  # the manifest's bytes run over the weights entry
    outer = local(b"manifest.json", outer_content) + outer_content
    inner_offset = len(outer) - len(inner)
    directory = central(
        b"manifest.json", len(outer_content), zlib.crc32(outer_content), 0
    ) + central(b"module-0.safetensors", len(weights), zlib.crc32(weights), inner_offset)
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 2, 2, len(directory), len(outer), 0)
    path = tmp_path / "overlap.skseqattn"
    path.write_bytes(outer + directory + end)
    with zipfile.ZipFile(path) as zf:  # zipfile itself reads both entries
        assert zf.read("module-0.safetensors") == weights
    with pytest.raises(FormatError, match="manifest.json and module-0.safetensors overlap"):
        load(path)


@pytest.mark.parametrize("kind", ["device", "fifo", "directory", "device file object"])
def test_non_regular_files_are_refused_without_reading(kind, tmp_path):
    import os

    if kind == "device" or kind == "device file object":
        if not os.path.exists("/dev/zero"):
            pytest.skip("no /dev/zero")
        path = "/dev/zero"
    elif kind == "fifo":
        if not hasattr(os, "mkfifo"):
            pytest.skip("no FIFOs here")
        path = tmp_path / "pipe"
        os.mkfifo(path)  # opening it for reading would block until a writer came
    else:
        path = tmp_path
    start = time.perf_counter()
    if kind == "device file object":
        with open(path, "rb") as f, pytest.raises(FormatError, match="not a regular file"):
            load(f)
    else:
        expected = "is a directory" if kind == "directory" else "is not a regular file"
        with pytest.raises(FormatError, match=expected):
            load(path)
    assert time.perf_counter() - start < 0.5


# ---------------------------------------------------------------------- values a file sets
def _unfitted_files(folder):
    """{class name: path} of each estimator saved unfitted: a manifest and nothing else."""
    from skseqattn import BiLSTMAttentionClassifier, CharSequenceVectorizer, save

    return {
        cls.__name__: save(cls(), Path(folder) / f"{cls.__name__}.skseqattn")
        for cls in (BiLSTMAttentionClassifier, CharSequenceVectorizer)
    }


def _constraints(name):
    from skseqattn import BiLSTMAttentionClassifier, CharSequenceVectorizer

    cls = {c.__name__: c for c in (BiLSTMAttentionClassifier, CharSequenceVectorizer)}[name]
    return cls, cls._parameter_constraints


def _takes_a_class(constraints):
    return isinstance(constraints, list) and any(c is type for c in constraints)


_CODE_VALUES = [
    {"__optimizer__": "Adam"},
    {"__dtype_type__": "<i8"},
    {"__callable__": "os:system"},
]


@pytest.mark.parametrize("name", ["BiLSTMAttentionClassifier", "CharSequenceVectorizer"])
def test_a_class_or_function_loads_only_where_the_constraints_take_one(name, tmp_path):
    """Every parameter of get_params (so parameters added later too): a tagged class or
    function loads only where _parameter_constraints names classes or callables."""
    path = _unfitted_files(tmp_path)[name]
    cls, constraints = _constraints(name)
    loaded_as = {}
    for key in cls().get_params(deep=False):
        for value in _CODE_VALUES:
            tag = next(iter(value))
            out = bench.rebuild(
                path, tmp_path / "p.skseqattn", manifest=bench._params(**{key: value})
            )
            try:
                est = load(out)
            except FormatError as exc:
                assert re.search(rf"estimator\.{key}: ", str(exc)), exc
                continue
            except ValueError as exc:  # a callable the caller did not hand over
                assert tag == "__callable__" and "never imports code" in str(exc), exc
                loaded_as[key, tag] = "asked for the callable"
                continue
            loaded_as[key, tag] = getattr(est, key)
    expected = {}
    for key, allowed in constraints.items():
        if _takes_a_class(allowed):
            expected[key, "__optimizer__"] = __import__("torch").optim.Adam
        if _takes_a_class(allowed) or (isinstance(allowed, list) and callable in allowed):
            expected[key, "__callable__"] = "asked for the callable"
        if allowed == "no_validation" and key == "dtype":
            expected[key, "__dtype_type__"] = __import__("numpy").int64
    assert loaded_as == expected


def test_a_class_inside_another_value_never_loads(hostile, tmp_path):
    vec = Path(next(iter(hostile.values()))[0]).with_name("vec.skseqattn")
    clf = vec.with_name("clf.skseqattn")
    cases = [
        (clf, "class_weight", {"__dict__": {"no": {"__optimizer__": "Adam"}}}),
        (clf, "class_weight", {"__dict__": {"no": {"__callable__": "os:system"}}}),
        (vec, "vocabulary", [{"__dtype_type__": "<i8"}]),
        (vec, "vocabulary", {"__mapping__": [[{"__optimizer__": "SGD"}, 2]]}),
    ]
    for path, key, value in cases:
        out = bench.rebuild(path, tmp_path / "n.skseqattn", manifest=bench._params(**{key: value}))
        with pytest.raises(FormatError, match=rf"estimator\.{key}.*where only plain values"):
            load(out)
    fitted = bench.rebuild(
        clf, tmp_path / "f.skseqattn", manifest=bench._fitted(n_epochs_={"__optimizer__": "Adam"})
    )
    with pytest.raises(FormatError, match=r"estimator\.n_epochs_: the file puts a torch.optim"):
        load(fitted)


_PLAIN_VALUES = [-1, 0, 1, 10**18, 0.5, -0.5, "x", "", None, True, [], {"__dict__": {}}]


@pytest.mark.parametrize("name", ["BiLSTMAttentionClassifier", "CharSequenceVectorizer"])
def test_every_parameter_of_a_wrong_type_or_range_is_a_format_error(name, tmp_path):
    """A plain value of the wrong type or range, for every parameter: FormatError, or a
    value the estimator's own constraints accept."""
    path = _unfitted_files(tmp_path)[name]
    cls, _ = _constraints(name)
    refused = 0
    for key in cls().get_params(deep=False):
        for value in _PLAIN_VALUES:
            out = bench.rebuild(
                path, tmp_path / "p.skseqattn", manifest=bench._params(**{key: value})
            )
            try:
                est = load(out)
            except FormatError:
                refused += 1
                continue
            est._validate_params()  # what loaded is a value fit accepts
            assert repr(getattr(est, key)) == repr(value if value != {"__dict__": {}} else {})
    assert refused > len(cls().get_params()) * 4, refused


def test_work_sizing_values_are_bounded_by_max_bytes(hostile, tmp_path):
    import numpy as np

    clf = Path(next(iter(hostile.values()))[0]).with_name("clf.skseqattn")
    X = np.random.RandomState(0).randint(2, 9, size=(5, 6))

    def orders(value):  # the parameter, and the fitted orders the network is built with
        def edit(doc):
            bench._params(ngram_order=value)(doc)
            bench._fitted(ngram_order_=value)(doc)

        return edit

    at_limit = bench.rebuild(clf, tmp_path / "a.skseqattn", manifest=orders(256))
    assert load(at_limit).module_.ngrams.max_order == 256
    assert load(at_limit).predict_proba(X).shape == (5, 2)
    over = bench.rebuild(clf, tmp_path / "o.skseqattn", manifest=bench._params(ngram_order=257))
    with pytest.raises(
        FormatError, match=r"ngram_order=257 exceeds max\(max_bytes // 4194304, 16\)"
    ):
        load(over)
    assert load(over, max_bytes=2**31).ngram_order == 257  # the caller trusts the file
    fitted = bench.rebuild(clf, tmp_path / "f.skseqattn", manifest=orders(257))
    with pytest.raises(FormatError, match=r"ngram_order_?=257 exceeds"):
        load(fitted)
    assert load(fitted, max_bytes=2**31).module_.ngrams.max_order == 257
    # a small max_bytes still takes the orders any n-gram model uses
    assert load(clf, max_bytes=10**6).ngram_order_ == 4


def test_non_finite_fitted_values_and_weights_are_refused(hostile, tmp_path):
    clf = Path(next(iter(hostile.values()))[0]).with_name("clf.skseqattn")
    features = clf.with_name("features.skseqattn")
    nan = {"__float__": "nan"}
    cases = [
        (
            clf,
            dict(manifest=bench._fitted(logit_offset_=bench._array("<f4", [nan, 0.0]))),
            r"estimator\.logit_offset_: holds NaN or infinity",
        ),
        (
            features,
            dict(
                manifest=bench._fitted(
                    feature_mean_=bench._array("<f8", [0.0, {"__float__": "inf"}, 0.0])
                )
            ),
            r"estimator\.feature_mean_: holds NaN or infinity",
        ),
        (
            features,
            dict(manifest=bench._fitted(feature_scale_=bench._array("<f8", [1.0, -2.0, 1.0]))),
            r"feature_scale_ must be positive",
        ),
        (
            clf,
            dict(entries=bench.nan_weights(clf, prefix="embedding")),
            r"weight 'embedding\.weight' holds NaN or infinity",
        ),
        (
            clf,
            dict(
                manifest=bench._fitted(
                    classes_={
                        "__ndarray__": {"dtype": "|O", "shape": [3], "data": ["no", "yes", "no"]}
                    }
                )
            ),
            r"classes_ must hold distinct",
        ),
    ]
    for i, (path, edits, match) in enumerate(cases):
        out = bench.rebuild(path, tmp_path / f"c{i}.skseqattn", **edits)
        error, seconds, traced = _budgeted_load(out)
        assert error is not None and re.search(match, str(error)), (i, error)
        assert seconds < SECONDS and traced < TRACED_MIB, (i, seconds, traced)


def test_classifier_values_fit_refuses_are_refused_by_load(hostile, tmp_path):
    """What the classifier checks in fit beyond its constraints holds for a file too."""
    clf = Path(next(iter(hostile.values()))[0]).with_name("clf.skseqattn")
    nan = {"__float__": "nan"}
    cases = [
        (dict(class_weight={"__dict__": {"no": nan, "yes": 1.0}}), r"class_weight nan for"),
        (dict(lr=1e300), r"lr=1e\+300, far beyond"),
        (dict(conv_kernel=4), r"conv_kernel=4, .*needs an odd width"),
        (
            dict(embedding_weights=bench._array("<f8", [nan, 0.0])),
            r"NaN, infinity or a value too large for float32 in embedding_weights",
        ),
    ]
    for i, (params, match) in enumerate(cases):
        out = bench.rebuild(clf, tmp_path / f"v{i}.skseqattn", manifest=bench._params(**params))
        with pytest.raises(
            FormatError, match=r"^estimator: BiLSTMAttentionClassifier got " + match
        ):
            load(out)


def test_work_limits_apply_to_a_classifiers_fitted_attributes_too(hostile, monkeypatch):
    """A fitted attribute that sizes work (none yet) is bounded as a parameter is: adding
    it to _WORK_LIMITS is enough."""
    from skseqattn.persistence import _restore

    clf = Path(next(iter(hostile.values()))[0]).with_name("clf.skseqattn")
    limits = {**_restore._WORK_LIMITS["BiLSTMAttentionClassifier"]}
    limits["n_epochs_"] = (2**40, 0, "epochs")  # a bound of 0 at any max_bytes below 1 TiB
    monkeypatch.setitem(_restore._WORK_LIMITS, "BiLSTMAttentionClassifier", limits)
    with pytest.raises(FormatError, match=r"BiLSTMAttentionClassifier.n_epochs_=1 exceeds"):
        load(clf)
