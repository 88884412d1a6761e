"""Benchmark: what a crafted file costs ``skseqattn.load`` before it is refused.

Each case of issue 14 is built small on disk from a real saved model (a tiny classifier or
vectorizer): a manifest whose architecture parameters do not fit the weights, a weights entry
of 2.5 GiB of zeros deflated to a few MB, a 192 MiB manifest of ``[]``, 160k repeated keys, a
``<U250000000`` dtype, a 4300-digit integer, a vectorizer with ``max_len_=10**15``; and the
values of issue 29 that loaded and then cost or broke ``predict`` (``ngram_order=100000``, a
vectorizer's ``max_len=1000000``, ``feature_scale_`` of 0, NaN head weights, repeated
``classes_``, a torch optimizer class as the vectorizer's ``analyzer``). Each file
is loaded once in this process; the table gives the wall seconds, the peak RSS above the RSS
before the call (the kernel's high-water mark, reset before each load), the peak of Python
allocations (tracemalloc) and the error. On main (before the bounds) these cases took 13-90 s
and up to 5.4 GB, or raised RuntimeError / ValueError, or hung.

Run from the repository root (about 10-20 s; it writes ~10 MB into a temporary folder)::

    PYTHONPATH=. python benchmarks/bench_hostile_files.py
    PYTHONPATH=. python benchmarks/bench_hostile_files.py --out benchmarks/results/hostile.json

The case builders are imported by ``tests/test_persistence_fuzz.py``, which loads each case
under a time and memory budget.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import struct
import sys
import tempfile
import time
import tracemalloc
import zipfile
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import MemoryProbe, format_table, machine_info, write_json  # noqa: E402

MIB = 2**20
GIB = 2**30
_DOS_DATE = (0 << 9) | (1 << 5) | 1  # 1980-01-01


# ------------------------------------------------------------------ writing zips by hand
class Repeated:
    """An entry's content: ``chunk`` repeated ``times`` times, deflated without holding it.

    With a full flush after each chunk, deflate's output for the second and later copies of
    a chunk is the same bytes, so a 2.5 GiB entry is a few MB on disk and costs only the
    CRC to write.
    """

    def __init__(self, chunk: bytes, times: int):
        self.chunk, self.times = chunk, times
        self.size = len(chunk) * times

    def deflated(self):
        c = zlib.compressobj(9, zlib.DEFLATED, -15)
        first = c.compress(self.chunk) + c.flush(zlib.Z_FULL_FLUSH)
        other = c.compress(self.chunk) + c.flush(zlib.Z_FULL_FLUSH)
        tail = c.flush(zlib.Z_FINISH)
        return first, other, tail

    def crc(self):
        crc = 0
        for _ in range(self.times):
            crc = zlib.crc32(self.chunk, crc)
        return crc


def write_zip(path, entries):
    """Write ``entries`` ({name: bytes or Repeated}) as a zip: bytes are deflated, a
    Repeated entry is written from its repeated deflate block. No zip64: sizes < 4 GiB."""
    central, offset = [], 0
    with open(path, "wb") as f:
        for name, content in entries.items():
            raw = name.encode()
            if isinstance(content, Repeated):
                first, other, tail = content.deflated()
                parts = [first] + [other] * (content.times - 1) + [tail]
                crc, size = content.crc(), content.size
            else:
                parts = [zlib.compress(content, 6)[2:-4]]
                crc, size = zlib.crc32(content), len(content)
            compressed = sum(len(p) for p in parts)
            header = struct.pack(
                "<4s5H3L2H",
                b"PK\x03\x04",
                20,
                0,
                8,
                0,
                _DOS_DATE,
                crc,
                compressed,
                size,
                len(raw),
                0,
            )
            f.write(header + raw)
            for part in parts:
                f.write(part)
            central.append(
                struct.pack(
                    "<4s6H3L5H2L",
                    b"PK\x01\x02",
                    20,
                    20,
                    0,
                    8,
                    0,
                    _DOS_DATE,
                    crc,
                    compressed,
                    size,
                    len(raw),
                    0,
                    0,
                    0,
                    0,
                    0,
                    offset,
                )
                + raw
            )
            offset += len(header) + len(raw) + compressed
        directory = b"".join(central)
        f.write(directory)
        f.write(
            struct.pack(
                "<4s4H2LH",
                b"PK\x05\x06",
                0,
                0,
                len(central),
                len(central),
                len(directory),
                offset,
                0,
            )
        )
    return path


def read_entries(path):
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def rebuild(path, out, *, manifest=None, text=None, entries=None):
    """Copy the model file ``path`` to ``out``; ``manifest(doc)`` edits the manifest (a
    dict), ``text`` replaces it (bytes or Repeated), ``entries`` replace other entries.
    The manifest's size and checksum of a replaced bytes entry are updated."""
    contents = read_entries(path)
    doc = json.loads(contents["manifest.json"])
    for name, data in (entries or {}).items():
        size = data.size if isinstance(data, Repeated) else len(data)
        digest = "0" * 64 if isinstance(data, Repeated) else hashlib.sha256(data).hexdigest()
        doc["files"][name] = {"sha256": digest, "size": size}
        contents[name] = data
    if manifest is not None:
        doc = manifest(doc) or doc
    contents["manifest.json"] = json.dumps(doc).encode() if text is None else text
    return write_zip(out, contents)


# ------------------------------------------------------------------ the cases
def base_models(folder):
    """A tiny fitted classifier and vectorizer saved in ``folder``: (classifier, vectorizer)."""
    import numpy as np

    from skseqattn import BiLSTMAttentionClassifier, CharSequenceVectorizer, save

    rng = np.random.RandomState(0)
    X = rng.randint(2, 9, size=(60, 6))
    y = np.where(X[:, 0] > 4, "yes", "no")
    clf = BiLSTMAttentionClassifier(
        embedding_dim=8,
        hidden_size=8,
        max_epochs=1,
        validation_fraction=None,
        random_state=0,
    )
    clf.fit(X, y)
    vec = CharSequenceVectorizer().fit(["anna", "bob", "eve"])
    folder = Path(folder)
    return save(clf, folder / "clf.skseqattn"), save(vec, folder / "vec.skseqattn")


def feature_model(folder):
    """A tiny classifier fitted on real-valued sequences (it has feature_scale_), saved."""
    import numpy as np

    from skseqattn import BiLSTMAttentionClassifier, save

    rng = np.random.RandomState(0)
    X = rng.randn(40, 5, 3).astype("float32")
    y = np.where(X[:, 0, 0] > 0, "yes", "no")
    clf = BiLSTMAttentionClassifier(
        hidden_size=4, max_epochs=1, validation_fraction=None, random_state=0
    ).fit(X, y)
    return save(clf, Path(folder) / "features.skseqattn")


def _array(dtype, data):
    return {"__ndarray__": {"dtype": dtype, "shape": [len(data)], "data": data}}


def nan_weights(path, prefix="head"):
    """The weights entry of the model file ``path`` with the first weight whose name starts
    with ``prefix`` (the output layer by default) set to NaN: {entry: bytes}."""
    import numpy as np

    data = read_entries(path)["module-0.safetensors"]
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + length])
    key = min(k for k in header if k.startswith(prefix))
    start, end = header[key]["data_offsets"]
    assert header[key]["dtype"] == "F32", header[key]
    body = bytearray(data[8 + length :])
    body[start:end] = np.full((end - start) // 4, np.nan, dtype="<f4").tobytes()
    return {"module-0.safetensors": data[: 8 + length] + bytes(body)}


def _params(**changes):
    def edit(doc):
        doc["estimator"]["__estimator__"]["params"].update(changes)

    return edit


def _fitted(**changes):
    def edit(doc):
        doc["estimator"]["__estimator__"]["fitted"].update(changes)

    return edit


def _duplicate_keys(n):
    body = ",".join(['"k":0'] * n)
    return ('{"format": "skseqattn", "format_version": 1, "x": {' + body + "}}").encode()


def build_cases(folder, *, zeros_bytes=int(2.5 * GIB), brackets_bytes=192 * MIB):
    """The hostile files of issue 14, written into ``folder``.

    Returns a list of (name, path, match): ``match`` is a regular expression the
    FormatError's message must match (it names the field or entry at fault).
    """
    folder = Path(folder)
    clf, vec = base_models(folder)
    features = feature_model(folder)
    big_digits = int("9" * 4300)  # json.dumps writes it; int(str) of it would raise
    chunk = b"[]," * (MIB // 3)
    brackets = Repeated(chunk, max(1, brackets_bytes // len(chunk)))
    zeros = Repeated(bytes(MIB), max(1, zeros_bytes // MIB))
    specs = [
        ("hidden_size=8000", clf, dict(manifest=_params(hidden_size=8000)), "hidden_size=8000"),
        ("num_layers=5000", clf, dict(manifest=_params(num_layers=5000)), "num_layers=5000"),
        (
            "embedding_dim=1e8",
            clf,
            dict(manifest=_params(embedding_dim=10**8)),
            "embedding_dim=100000000",
        ),
        (
            "hidden_size=10**12",
            clf,
            dict(manifest=_params(hidden_size=10**12)),
            "hidden_size=1000000000000",
        ),
        (
            f"{zeros.size / GIB:.3g} GiB zeros weights",
            clf,
            dict(entries={"module-0.safetensors": zeros}),
            "module-0.safetensors (declares|expands)",
        ),
        (
            f"{brackets.size / MIB:.0f} MiB of [] manifest",
            clf,
            dict(text=brackets),
            "manifest.json (expands|declares)",
        ),
        ("160k duplicate keys", clf, dict(text=_duplicate_keys(160_000)), "repeats the keys"),
        (
            "dtype <U250000000",
            clf,
            dict(
                manifest=_fitted(
                    classes_={
                        "__ndarray__": {"dtype": "<U250000000", "shape": [2], "data": ["a", "b"]}
                    }
                )
            ),
            r"estimator\.classes_: dtype '<U250000000'",
        ),
        (
            "4300-digit int",
            clf,
            dict(manifest=_params(hidden_size=big_digits)),
            "integer of 4300 digits",
        ),
        ("max_len_=10**15", vec, dict(manifest=_fitted(max_len_=10**15)), r"max_len_=10+"),
        # Issue 29: values that load but make predict or transform allocate far more than
        # the file justifies, or predict NaN, or fail far from the cause.
        (
            "ngram_order=100000",
            clf,
            dict(manifest=_params(ngram_order=100000)),
            r"ngram_order=100000 exceeds max\(max_bytes // \d+, 16\) = 256",
        ),
        (
            "ngram_order_=100000",
            clf,
            dict(manifest=_fitted(ngram_order_=100000)),
            r"ngram_order_=100000 exceeds max\(max_bytes // \d+, 16\) = 256",
        ),
        (
            "vectorizer max_len=1e6",
            vec,
            dict(manifest=_params(max_len=1000000)),
            r"max_len=1000000 exceeds .* = 65536 columns",
        ),
        (
            "feature_scale_ = 0",
            features,
            dict(manifest=_fitted(feature_scale_=_array("<f8", [0.0, 1.0, 1.0]))),
            r"feature_scale_ must be positive",
        ),
        (
            "NaN head weights",
            clf,
            dict(entries=nan_weights(clf)),
            r"weight 'head\.[a-z]+' holds NaN or infinity",
        ),
        (
            "duplicate classes_",
            clf,
            dict(manifest=_fitted(classes_=_array("<U3", ["no", "no"]))),
            r"classes_ must hold distinct",
        ),
        (
            "analyzer tagged as a class",
            vec,
            dict(manifest=_params(analyzer={"__optimizer__": "Adam"})),
            r"estimator\.analyzer: CharSequenceVectorizer\.analyzer does not take a torch\.optim",
        ),
    ]
    cases = []
    for i, (name, base, edits, match) in enumerate(specs):
        path = rebuild(base, folder / f"hostile-{i}.skseqattn", **edits)
        cases.append((name, path, match))
    return cases


def measure(path, **load_kwargs):
    """Load ``path`` once: seconds, peak RSS and tracemalloc peak above the start, error."""
    from skseqattn import load

    probe = MemoryProbe()
    probe.start()
    tracemalloc.start()
    start = time.perf_counter()
    try:
        load(path, **load_kwargs)
        error = None
    except Exception as exc:  # the benchmark reports whatever happens
        error = exc
    seconds = time.perf_counter() - start
    traced = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {
        "seconds": seconds,
        "peak_rss_mib": (probe.peak() - probe.rss_before) / MIB,
        "rss_method": probe.method,
        "traced_peak_mib": traced / MIB,
        "error_type": None if error is None else type(error).__name__,
        "error": None if error is None else str(error),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="benchmarks/results/hostile_files.json")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        build = time.perf_counter()
        cases = build_cases(tmp)
        build = time.perf_counter() - build
        measure(cases[0][1])  # warm-up: first-use imports are not the file's cost
        good = Path(cases[0][1]).with_name("clf.skseqattn")
        zeros = next(path for name, path, _ in cases if "zeros" in name)
        runs = [("valid model (control)", good, None, {})]
        runs += [(name, path, match, {}) for name, path, match in cases]
        runs.append(("zeros weights, max_bytes=8 GiB", zeros, "expands", {"max_bytes": 8 * GIB}))
        for name, path, match, kwargs in runs:
            row = {"case": name, "file_kib": Path(path).stat().st_size / 1024, "expected": match}
            row.update(measure(path, **kwargs))
            row["message"] = (row["error"] or "")[:90]
            rows.append(row)
    columns = [
        ("case", "case", "s"),
        ("file_kib", "file KiB", ",.0f"),
        ("seconds", "seconds", ".3f"),
        ("peak_rss_mib", "peak RSS MiB", ".1f"),
        ("traced_peak_mib", "traced MiB", ".1f"),
        ("error_type", "error", "s"),
        ("message", "message", "s"),
    ]
    print(format_table(rows, columns))
    print(f"(built the files in {build:.1f} s; machine shared with other work)")
    write_json(args.out, {"machine": machine_info(torch_threads=1), "cases": rows})
    print(f"wrote {args.out}")
    bad = [r["case"] for r in rows if r["error_type"] != ("FormatError" if r["expected"] else None)]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
