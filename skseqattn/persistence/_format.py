"""The file format: names, versions, the bounds load enforces, the classes it builds, and
the small checks every part shares."""

from __future__ import annotations

import re
import struct
import sys
import zipfile
import zlib

import numpy as np
import torch

FORMAT_NAME = "skseqattn"
FORMAT_VERSION = 1
"""Version of the file layout written by :func:`save`; :func:`load` reads up to this one."""

DEFAULT_MAX_BYTES = 2**30
"""Default ``max_bytes`` of :func:`load`: 1 GiB of archive content."""

_MANIFEST = "manifest.json"
_SIGNATURE = "signature.hmac"
_ARRAYS_BLOB = "arrays.safetensors"
_JSON_ARRAY_LIMIT = 1024  # numeric arrays larger than this go to arrays.safetensors
_BLOB_NAME = re.compile(r"^[A-Za-z0-9_-]+\.safetensors$")
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,99}$")


# Bounds on what load reads, whatever the file says (see the Notes of load).
_MAX_MEMBERS = 256  # zip entries
_MAX_CENTRAL_DIRECTORY = 2**20  # bytes of the zip's table of entries
_MAX_MANIFEST_BYTES = 32 * 2**20
_MAX_JSON_ITEMS = 2_000_000  # commas and brackets in manifest.json: an upper bound on values
_MAX_DEPTH = 64  # nesting of values in manifest.json
_MAX_INT_DIGITS = 20  # enough for any int64 or uint64
_MAX_FLOAT_CHARS = 40
_MAX_RATIO = 50  # uncompressed / compressed size of an entry larger than _RATIO_FROM
_RATIO_FROM = 2**20
_MAX_JSON_ARRAY_BYTES = 64 * 2**20  # memory of all arrays built from manifest.json
_MAX_STR_WIDTH = 2**16  # characters of a '<U...' dtype
_MAX_HEADER_BYTES = 2**20  # a safetensors header
_MAX_TENSORS = 10_000
_MAX_NDIM = 32
_WIDTH_DIVISOR = 2**14  # a vectorizer's width: 65,536 columns at the default max_bytes
_NGRAM_DIVISOR = 2**22  # a classifier's ngram_order: 256 at the default max_bytes
_DTYPE_TEXT = re.compile(r"^[<>|=]?[biufUO][0-9]{0,9}$")
_ST_ITEMSIZE = {
    "BOOL": 1,
    "U8": 1,
    "I8": 1,
    "I16": 2,
    "U16": 2,
    "F16": 2,
    "BF16": 2,
    "I32": 4,
    "U32": 4,
    "F32": 4,
    "I64": 8,
    "U64": 8,
    "F64": 8,
}
_FITTED_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*[A-Za-z0-9]_$")
_ARRAY_KINDS = "biufUO"
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


# What zipfile, zlib and the file object raise on a damaged archive (FormatError, a
# ValueError, is re-raised before these are turned into one).
_ZIP_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    EOFError,
    zlib.error,
    NotImplementedError,
    RuntimeError,
    ValueError,
    OverflowError,
    OSError,
    struct.error,
)
_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")  # a zip entry's local file header
_LOCAL_SIGNATURE = b"PK\x03\x04"
_COMPRESSIONS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)  # what save writes


# Parameters that are arbitrary objects (or, for a Pipeline's memory, a cache directory
# that joblib would read pickles from): saved as None, and must be None in a file.
_DROPPED = {
    ("BiLSTMAttentionClassifier", "callbacks"): "callbacks (arbitrary objects)",
    ("Pipeline", "memory"): "a cache (whose directory joblib reads pickles from)",
}


# Held by the network and rebuilt from the weights, not stored as attributes.
_CLASSIFIER_RUNTIME = ("net_", "module_", "history_")


class FormatError(ValueError):
    """A file that :func:`load` cannot read: not a skseqattn model file, truncated, altered,
    or written by a newer format version. The message names the problem."""


class _CallableNeededError(ValueError):
    """The file names a callable that the caller did not hand to :func:`load`."""


# ---------------------------------------------------------------------- the known classes
def _known_classes():
    from sklearn.pipeline import Pipeline

    from .._classifier import BiLSTMAttentionClassifier
    from .._vectorizer import CharSequenceVectorizer

    return {
        "BiLSTMAttentionClassifier": BiLSTMAttentionClassifier,
        "CharSequenceVectorizer": CharSequenceVectorizer,
        "Pipeline": Pipeline,
    }


def _torch_optimizers():
    return {
        name: obj
        for name, obj in vars(torch.optim).items()
        if isinstance(obj, type) and issubclass(obj, torch.optim.Optimizer)
    }


def _import_safetensors():
    try:
        import safetensors.numpy
        import safetensors.torch
    except ImportError as exc:  # pragma: no cover - the test environment has it
        raise ImportError(
            "skseqattn.save and skseqattn.load need the safetensors package; install it with "
            "pip install 'skseqattn[safe]'."
        ) from exc
    return safetensors


def _callable_name(obj) -> str | None:
    """'module:qualname' when ``obj`` is reachable under that name, else None."""
    module, qualname = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
    if not isinstance(module, str) or not isinstance(qualname, str) or "<" in qualname:
        return None
    target = sys.modules.get(module)
    for part in qualname.split("."):
        target = getattr(target, part, None)
    return f"{module}:{qualname}" if target is obj else None


_TORCH_DTYPES = {
    torch.float32: "F32",
    torch.float64: "F64",
    torch.float16: "F16",
    torch.bfloat16: "BF16",
    torch.int64: "I64",
    torch.int32: "I32",
    torch.int16: "I16",
    torch.int8: "I8",
    torch.uint8: "U8",
    torch.bool: "BOOL",
}
_NUMPY_TO_ST = {
    "b1": "BOOL",
    "u1": "U8",
    "i1": "I8",
    "i2": "I16",
    "u2": "U16",
    "f2": "F16",
    "i4": "I32",
    "u4": "U32",
    "f4": "F32",
    "i8": "I64",
    "u8": "U64",
    "f8": "F64",
}


def _short(value, limit=60):
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _expect(value, kind, where):
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise FormatError(f"{where}: expected {kind.__name__}, got {_short(value)}.")
    return value


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _dtype(name, where):
    if not isinstance(name, str):
        raise FormatError(f"{where}: bad dtype {_short(name)}.")
    if not _DTYPE_TEXT.match(name):
        raise FormatError(f"{where}: dtype {_short(name)} is not one skseqattn stores.")
    try:
        dtype = np.dtype(name)
    except TypeError as exc:
        raise FormatError(f"{where}: bad dtype {name!r}.") from exc
    if dtype.kind not in _ARRAY_KINDS or dtype.fields is not None or dtype.shape:
        raise FormatError(f"{where}: dtype {name!r} is not one skseqattn stores.")
    if dtype.kind == "U" and dtype.itemsize // 4 > _MAX_STR_WIDTH:
        raise FormatError(
            f"{where}: dtype {name!r} holds strings of more than {_MAX_STR_WIDTH} characters; "
            "skseqattn.save writes no such dtype."
        )
    return dtype
