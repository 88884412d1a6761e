"""Save and load estimators in a format that is safe to load from people you do not trust.

pickle and joblib files can run any code when they are loaded; only load them from sources
you trust. :func:`save` writes a :class:`~skseqattn.BiLSTMAttentionClassifier`, a
:class:`~skseqattn.CharSequenceVectorizer` or a scikit-learn ``Pipeline`` of them as one zip
file holding

- ``manifest.json``: the format and library versions, the class names, parameters, fitted
  attributes (vocabulary, ``classes_`` with their dtype, standardisation, ...) and the
  training history, with a SHA-256 checksum and the size of every other entry;
- ``module-<i>.safetensors``: the weights of each classifier's network;
- ``arrays.safetensors`` (when needed): numeric arrays with more than 1024 elements, such
  as an ``embedding_weights`` parameter, and float arrays holding NaN.

:func:`load` rebuilds the objects from this data only. It never unpickles, never calls
``torch.load``, never evaluates or imports anything named in the file: classes come from a
fixed list of the ones this library knows, and a callable parameter (a custom ``analyzer``, an
optimizer class outside ``torch.optim``) must be handed over by the caller. A file that is
not a skseqattn model, is truncated, has wrong checksums or unexpected content raises
:class:`FormatError`, in bounded time and memory: the Notes of :func:`load` list what is
checked before what. ``save(..., key=...)`` signs a file and ``load(..., key=...)`` checks
the signature; without a key the checksums give integrity, not authenticity.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import io
import json
import math
import os
import re
import secrets
import struct
import sys
import warnings
import zipfile
import zlib
from collections.abc import Mapping
from numbers import Integral

import numpy as np
import torch

from ._validation import resolve_device

__all__ = ["DEFAULT_MAX_BYTES", "FORMAT_VERSION", "FormatError", "load", "save"]

FORMAT_NAME = "skseqattn"
FORMAT_VERSION = 1
"""Version of the file layout written by :func:`save`; :func:`load` reads up to this one."""

DEFAULT_MAX_BYTES = 2**30
"""Default ``max_bytes`` of :func:`load`: 1 GiB of archive content."""

_MANIFEST = "manifest.json"
_SIGNATURE = "signature.hmac"
_SIGNATURE_PREFIX = b"hmac-sha256:"
_MAC_CONTEXT = b"skseqattn signature v1\n"
_ARRAYS_BLOB = "arrays.safetensors"
_JSON_ARRAY_LIMIT = 1024  # numeric arrays larger than this go to arrays.safetensors
_BLOB_NAME = re.compile(r"^[A-Za-z0-9_-]+\.safetensors$")
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,99}$")
# Bounds on what load reads, whatever the file says (see the module docstring).
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
# Parameters that are arbitrary objects (or, for a Pipeline's memory, a cache directory
# that joblib would read pickles from): saved as None, and must be None in a file.
_DROPPED = {
    ("BiLSTMAttentionClassifier", "callbacks"): "callbacks (arbitrary objects)",
    ("Pipeline", "memory"): "a cache (whose directory joblib reads pickles from)",
}
# Held by the network and rebuilt from the weights, not stored as attributes.
_CLASSIFIER_RUNTIME = ("net_", "module_", "history_")
# Parameters that files from earlier versions lack, with the value those versions behaved as.
_ADDED_PARAMS = {
    "BiLSTMAttentionClassifier": {
        "ngram_order": 0,
        "ngram_buckets": 65536,
        "logit_adjustment": 0.0,
        "mixed_precision": False,
        "unknown_id": 1,  # ids above those seen in fit were read as 1
        "position_encoding": False,
        "conv_kernel": 0,
        "average_checkpoints": 1,
    }
}


class FormatError(ValueError):
    """A file that :func:`load` cannot read: not a skseqattn model file, truncated, altered,
    or written by a newer format version. The message names the problem."""


class _CallableNeededError(ValueError):
    """The file names a callable that the caller did not hand to :func:`load`."""


# ---------------------------------------------------------------------- the known classes
def _known_classes():
    from sklearn.pipeline import Pipeline

    from ._classifier import BiLSTMAttentionClassifier
    from ._vectorizer import CharSequenceVectorizer

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


# ---------------------------------------------------------------------- writing
class _Writer:
    """Turns estimators into JSON-able nodes; weights and large arrays become blobs."""

    def __init__(self, safetensors):
        self.safetensors = safetensors
        self.blobs: dict[str, bytes] = {}
        self.arrays: dict[str, np.ndarray] = {}

    def value(self, value, where):
        from sklearn.base import BaseEstimator

        if isinstance(value, np.generic):  # before float and str: np.float64 is a float
            return self.scalar(value, where)
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, int):
            return int(value)
        if isinstance(value, float):
            return value if math.isfinite(value) else {"__float__": repr(value)}
        if isinstance(value, BaseEstimator):
            return self.estimator(value, where)
        if isinstance(value, list):
            return [self.value(v, f"{where}[{i}]") for i, v in enumerate(value)]
        if isinstance(value, tuple):
            return {"__tuple__": [self.value(v, f"{where}[{i}]") for i, v in enumerate(value)]}
        if isinstance(value, (set, frozenset)):
            tag = "__set__" if isinstance(value, set) else "__frozenset__"
            items = sorted(value, key=repr)
            return {tag: [self.value(v, f"{where}{{{v!r}}}") for v in items]}
        if isinstance(value, dict):
            if all(isinstance(k, str) for k in value):
                return {"__dict__": {k: self.value(v, f"{where}[{k!r}]") for k, v in value.items()}}
            return {
                "__mapping__": [
                    [self.value(k, f"{where} key {k!r}"), self.value(v, f"{where}[{k!r}]")]
                    for k, v in value.items()
                ]
            }
        if isinstance(value, torch.Tensor):
            value = value.detach().cpu().numpy()
        if type(value) is np.ndarray:
            return self.array(value, where)
        if isinstance(value, np.dtype):
            return {"__dtype__": self.dtype_name(value, where)}
        if isinstance(value, type) and issubclass(value, np.generic):
            return {"__dtype_type__": self.dtype_name(np.dtype(value), where)}
        if isinstance(value, torch.device):
            return {"__device__": str(value)}
        if isinstance(value, np.random.RandomState):
            _, keys, pos, has_gauss, cached = value.get_state(legacy=True)
            return {"__random_state__": [keys.tolist(), int(pos), int(has_gauss), float(cached)]}
        if isinstance(value, type) and _torch_optimizers().get(value.__name__) is value:
            return {"__optimizer__": value.__name__}
        if callable(value):
            name = _callable_name(value)
            if name is None:
                raise TypeError(
                    f"skseqattn.save cannot store {where}={value!r}: a callable is stored by "
                    "name and must be a module-level function or class (not a lambda, a "
                    "nested function or a bound method); use one, or pickle/joblib for a "
                    "reader you trust."
                )
            return {"__callable__": name}
        raise TypeError(
            f"skseqattn.save cannot store {where} of type {type(value).__name__}; it stores "
            "None, bool, int, float, str, lists, tuples, sets, dicts, numpy arrays and "
            "scalars, dtypes, torch devices, RandomState, torch.optim classes, named "
            "functions, and the estimators of skseqattn."
        )

    @staticmethod
    def dtype_name(dtype, where):
        dtype = np.dtype(dtype)
        if dtype.kind not in _ARRAY_KINDS or dtype.fields is not None or dtype.shape:
            raise TypeError(
                f"skseqattn.save cannot store {where} of dtype {dtype}; supported dtypes are "
                "bool, integers, floats, str and object (holding None, bool, int, float, str)."
            )
        return dtype.str

    def scalar(self, value, where):
        dtype = self.dtype_name(value.dtype, where)
        item = value.item()
        if isinstance(item, float):
            item = self.value(float(item), where)
        return {"__scalar__": {"dtype": dtype, "value": item}}

    def array(self, value, where):
        dtype = self.dtype_name(value.dtype, where)
        node = {"dtype": dtype, "shape": list(value.shape)}
        # Large arrays, and float arrays with NaN (whose payload bits JSON cannot hold), go to
        # safetensors, byte for byte.
        has_nan = value.dtype.kind == "f" and bool(np.isnan(value).any())
        if value.dtype.kind in "biuf" and (value.size > _JSON_ARRAY_LIMIT or has_nan):
            key = f"a{len(self.arrays)}"
            self.arrays[key] = np.array(value, dtype=value.dtype.newbyteorder("<"), order="C")
            node.update(blob=_ARRAYS_BLOB, key=key)
        elif value.dtype.kind == "O":
            flat = value.ravel().tolist()
            for i, item in enumerate(flat):
                if item is not None and not isinstance(item, (bool, int, float, str)):
                    raise TypeError(
                        f"skseqattn.save cannot store {where}: an object array may hold None, "
                        f"bool, int, float and str, got {type(item).__name__} at {i}."
                    )
            node["data"] = [self.value(item, f"{where}[{i}]") for i, item in enumerate(flat)]
        else:
            flat = value.ravel().tolist()
            if value.dtype.kind == "f":
                flat = [self.value(float(item), where) for item in flat]
            node["data"] = flat
        return {"__ndarray__": node}

    def estimator(self, est, where):
        classes = _known_classes()
        name = type(est).__name__
        if classes.get(name) is not type(est):
            raise TypeError(
                f"skseqattn.save stores {', '.join(sorted(classes))} (Pipelines made of "
                f"them); {where} is a {type(est).__module__}.{name}. Save other objects "
                "with joblib, and load such files only from sources you trust."
            )
        params = {}
        for key, value in est.get_params(deep=False).items():
            if (name, key) in _DROPPED and value is not None:
                warnings.warn(
                    f"skseqattn.save dropped {where}.{key}: {_DROPPED[name, key]} cannot be "
                    f"stored safely, so the loaded estimator has {key}=None; set it again "
                    "before training further.",
                    UserWarning,
                    stacklevel=4,
                )
                value = None
            params[key] = self.value(value, f"{where}.{key}")
        node = {"class": name, "params": params, "fitted": None}
        attrs = [k for k in vars(est) if _FITTED_NAME.match(k) and k not in _CLASSIFIER_RUNTIME]
        fitted_classifier = name == "BiLSTMAttentionClassifier" and hasattr(est, "module_")
        if attrs or fitted_classifier:
            node["fitted"] = {k: self.value(getattr(est, k), f"{where}.{k}") for k in attrs}
        if fitted_classifier:
            state = {
                k: v.detach().to("cpu").contiguous() for k, v in est.module_.state_dict().items()
            }
            blob = f"module-{sum(n.startswith('module-') for n in self.blobs)}.safetensors"
            self.blobs[blob] = self.safetensors.torch.save(state)
            node["module"] = blob
            node["history"] = self.history(est.history_, where)
        return {"__estimator__": node}

    def history(self, history, where):
        entries, dropped = [], set()
        for epoch in history:
            entry = {}
            for key, value in epoch.items():
                try:
                    entry[key] = self.value(value, f"{where}.history_")
                except TypeError:
                    dropped.add(key)
            entries.append({"__dict__": entry})
        if dropped:
            warnings.warn(
                f"skseqattn.save left out the history keys {sorted(dropped)} of {where}: "
                "their values are not plain numbers, strings or lists.",
                UserWarning,
                stacklevel=5,
            )
        return entries

    def finish(self):
        if self.arrays:
            self.blobs[_ARRAYS_BLOB] = self.safetensors.numpy.save(self.arrays)
        return self.blobs


def _library_versions():
    from importlib.metadata import PackageNotFoundError, version

    versions = {"python": sys.version.split()[0]}
    for package in ("numpy", "scikit-learn", "torch", "skorch", "safetensors"):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:  # pragma: no cover
            versions[package] = None
    return versions


def save(estimator, path, *, key=None):
    """Write an estimator to a file that :func:`load` can read without running its code.

    Parameters
    ----------
    estimator : BiLSTMAttentionClassifier, CharSequenceVectorizer or Pipeline
        Fitted or not. A Pipeline may hold these estimators, ``'passthrough'`` and
        other Pipelines.
    path : str, path-like or writable binary file
        Where to write. An existing file is replaced only once the whole file is written.
        Any name works; ``.skseqattn`` is a good suffix.
    key : bytes or str, default=None
        A secret to sign the file with: an HMAC-SHA256 of its manifest, which records the
        SHA-256 of every other entry, is stored in the archive, and ``load(path, key=key)``
        then refuses any file not signed with this key. Use at least 32 random bytes
        (``secrets.token_bytes(32)``) shared only with those who may write models.

    Returns
    -------
    path : str or file
        What was passed as ``path``.

    Notes
    -----
    What is stored: every constructor parameter, every fitted attribute (those ending in
    ``_``), the classifier's network weights (in safetensors) and its training history.
    What is not stored, because it cannot be stored safely:

    - ``callbacks`` (arbitrary objects) are dropped with a warning: the loaded classifier
      has ``callbacks=None``; so is a Pipeline's ``memory`` (joblib reads pickles from the
      cache directory, so a file must not choose it);
    - the optimizer's internal state (e.g. Adam's moments): further training with
      ``warm_start=True`` starts with a fresh optimizer;
    - a callable parameter (a custom ``analyzer``, an optimizer class outside
      ``torch.optim``) is stored by its name only; :func:`load` asks for the object.
      Lambdas and nested functions cannot be saved.

    Array-like parameters (``embedding_weights``) come back as numpy arrays. Strings, ints,
    bools and floats in ``classes_`` and elsewhere come back with their numpy dtype.

    Examples
    --------
    >>> import os, tempfile
    >>> from skseqattn import CharSequenceVectorizer
    >>> from skseqattn.persistence import load, save
    >>> vec = CharSequenceVectorizer().fit(["anna", "bob"])
    >>> path = save(vec, os.path.join(tempfile.mkdtemp(), "vec.skseqattn"))
    >>> load(path).vocabulary_
    {'a': 2, 'b': 3, 'n': 4, 'o': 5}

    Signed with a key, the file loads only with that key:

    >>> key = b"a secret of 32 random bytes here"
    >>> signed = save(vec, os.path.join(tempfile.mkdtemp(), "signed.skseqattn"), key=key)
    >>> load(signed, key=key).vocabulary_ == vec.vocabulary_
    True
    """
    from . import __version__

    key = _check_key(key, "skseqattn.save")
    safetensors = _import_safetensors()
    writer = _Writer(safetensors)
    tree = writer.value(estimator, "estimator")
    if not (isinstance(tree, dict) and "__estimator__" in tree):
        raise TypeError(
            "skseqattn.save expected an estimator (BiLSTMAttentionClassifier, "
            f"CharSequenceVectorizer or Pipeline), got {type(estimator).__name__}."
        )
    blobs = writer.finish()
    manifest = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "skseqattn_version": __version__,
        "library_versions": _library_versions(),
        "files": {
            name: {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
            for name, data in blobs.items()
        },
        "estimator": tree,
    }
    text = json.dumps(manifest, ensure_ascii=True, allow_nan=False, indent=1).encode("ascii")

    def write(fileobj):
        with zipfile.ZipFile(fileobj, "w") as zf:
            info = zipfile.ZipInfo(_MANIFEST, date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, text)
            if key is not None:
                info = zipfile.ZipInfo(_SIGNATURE, date_time=_ZIP_DATE)
                zf.writestr(info, _signature(key, text))
            for name, data in blobs.items():
                info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
                info.compress_type = zipfile.ZIP_STORED
                zf.writestr(info, data)

    if hasattr(path, "write"):
        write(path)
        return path
    target = os.fspath(path)
    # A sibling temporary file (created with the usual permissions), renamed over the
    # target once complete: an existing file is never left half-written.
    tmp = f"{target}.{os.getpid()}-{secrets.token_hex(4)}.tmp"
    try:
        with open(tmp, "xb") as f:
            write(f)
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return path


# ---------------------------------------------------------------------- reading
def _strict_object(pairs):
    keys = {k for k, _ in pairs}
    if len(keys) != len(pairs):
        seen, duplicated = set(), set()
        for k, _ in pairs:
            (duplicated if k in seen else seen).add(k)
        raise FormatError(f"repeats the keys {_short(sorted(duplicated))}")
    return dict(pairs)


def _reject_constant(name):
    raise FormatError(f"holds the non-JSON number {name}")


def _bounded_int(text):
    if len(text.lstrip("-")) > _MAX_INT_DIGITS:
        raise FormatError(
            f"holds an integer of {len(text)} digits; no number skseqattn stores has more than "
            f"{_MAX_INT_DIGITS}"
        )
    return int(text)


def _finite_float(text):
    value = float(text) if len(text) <= _MAX_FLOAT_CHARS else math.inf
    if not math.isfinite(value):
        raise FormatError(
            f"holds the number {_short(text)}, which is not a finite float of at most "
            f"{_MAX_FLOAT_CHARS} characters"
        )
    return value


def _parse_json(data, what, where):
    """Parse untrusted JSON bytes: bounded size and item count, no duplicate keys, no NaN,
    no huge numbers. Errors name ``what`` (the entry)."""
    items = data.count(b",") + data.count(b"[") + data.count(b"{")
    if items > _MAX_JSON_ITEMS:
        raise FormatError(
            f"{where}: {what} holds more than {_MAX_JSON_ITEMS} values; no file skseqattn.save "
            "writes has so many."
        )
    try:
        return json.loads(
            data.decode("utf-8"),
            object_pairs_hook=_strict_object,
            parse_constant=_reject_constant,
            parse_int=_bounded_int,
            parse_float=_finite_float,
        )
    except FormatError as exc:
        raise FormatError(f"{where}: {what} {exc}.") from None
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        kind = "is nested too deeply" if isinstance(exc, RecursionError) else f"({exc})"
        raise FormatError(f"{where}: {what} is not valid JSON {kind}.") from exc


class _Reader:
    """Rebuilds values and estimators from manifest nodes, using only known constructors."""

    _TAGS = {
        "__float__": "tag_float",
        "__tuple__": "tag_tuple",
        "__set__": "tag_set",
        "__frozenset__": "tag_frozenset",
        "__dict__": "tag_dict",
        "__mapping__": "tag_mapping",
        "__dtype__": "tag_dtype",
        "__dtype_type__": "tag_dtype_type",
        "__device__": "tag_device",
        "__random_state__": "tag_random_state",
        "__optimizer__": "tag_optimizer",
        "__callable__": "tag_callable",
        "__scalar__": "tag_scalar",
        "__ndarray__": "tag_ndarray",
        "__estimator__": "tag_estimator",
    }

    def __init__(self, blobs, safetensors, callables, device, *, max_bytes=DEFAULT_MAX_BYTES):
        self.max_bytes = max_bytes
        self.blobs = blobs if isinstance(blobs, _Members) else _Members.in_memory(blobs)
        self.safetensors = safetensors
        self.callables = callables
        self.device = device
        self._arrays = None
        self.expected_arrays = None  # {key: (shape, safetensors dtype)}, from the manifest
        self._depth = 0
        self._json_array_bytes = 0

    def arrays(self):
        if self._arrays is None:
            if _ARRAYS_BLOB not in self.blobs:
                raise FormatError(f"manifest.json refers to {_ARRAYS_BLOB}, which is missing.")
            header = self.blobs.header(_ARRAYS_BLOB)  # checked before the tensors are read
            if self.expected_arrays is not None and header != self.expected_arrays:
                missing = sorted(set(self.expected_arrays) - set(header))
                differ = sorted(k for k in header if self.expected_arrays.get(k) != header[k])
                raise FormatError(
                    f"{_ARRAYS_BLOB} does not hold the arrays manifest.json refers to: missing "
                    f"{_short(missing, 200)}, unexpected or of another shape or dtype "
                    f"{_short(differ, 200)}."
                )
            data = self.blobs.read(_ARRAYS_BLOB)
            try:
                self._arrays = self.safetensors.numpy.load(data)
            except Exception as exc:  # the parser's own error types vary
                raise FormatError(f"{_ARRAYS_BLOB} is not a valid safetensors file: {exc}") from exc
        return self._arrays

    def value(self, node, where):
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if self._depth >= _MAX_DEPTH:
            raise FormatError(f"{where}: values are nested deeper than {_MAX_DEPTH} levels.")
        self._depth += 1
        try:
            if isinstance(node, list):
                return [self.value(v, f"{where}[{i}]") for i, v in enumerate(node)]
            if not isinstance(node, dict) or len(node) != 1:
                raise FormatError(f"{where}: expected a value, got {_short(node)}.")
            ((tag, body),) = node.items()
            handler = self._TAGS.get(tag)
            if handler is None:
                raise FormatError(f"{where}: unknown tag {_short(tag)}.")
            return getattr(self, handler)(body, where)
        finally:
            self._depth -= 1

    def charge(self, nbytes, where):
        """Count the memory of an array built from manifest.json against its bound."""
        self._json_array_bytes += nbytes
        if self._json_array_bytes > _MAX_JSON_ARRAY_BYTES:
            raise FormatError(
                f"{where}: the arrays held in manifest.json would take more than "
                f"{_MAX_JSON_ARRAY_BYTES // 2**20} MiB; skseqattn.save puts large arrays in "
                f"{_ARRAYS_BLOB}."
            )

    # tags -------------------------------------------------------------------------------
    def tag_float(self, body, where):
        if body not in ("nan", "inf", "-inf"):
            raise FormatError(f"{where}: bad float {_short(body)}.")
        return float(body)

    def tag_tuple(self, body, where):
        return tuple(self.value(_expect(body, list, where), where))

    def tag_set(self, body, where):
        return set(self.value(_expect(body, list, where), where))

    def tag_frozenset(self, body, where):
        return frozenset(self.value(_expect(body, list, where), where))

    def tag_dict(self, body, where):
        body = _expect(body, dict, where)
        return {k: self.value(v, f"{where}[{k!r}]") for k, v in body.items()}

    def tag_mapping(self, body, where):
        out = {}
        for pair in _expect(body, list, where):
            if not isinstance(pair, list) or len(pair) != 2:
                raise FormatError(f"{where}: expected [key, value] pairs.")
            key = self.value(pair[0], where)
            out[key] = self.value(pair[1], f"{where}[{key!r}]")
        return out

    def tag_dtype(self, body, where):
        return _dtype(body, where)

    def tag_dtype_type(self, body, where):
        return _dtype(body, where).type

    def tag_device(self, body, where):
        text = _expect(body, str, where)
        try:
            return torch.device(text)
        except RuntimeError as exc:
            raise FormatError(f"{where}: bad torch device {_short(text)}.") from exc

    def tag_random_state(self, body, where):
        body = _expect(body, list, where)
        ok = len(body) == 4 and isinstance(body[0], list) and len(body[0]) == 624
        ok = ok and all(_is_int(k) and 0 <= k < 2**32 for k in body[0])
        ok = ok and _is_int(body[1]) and 0 <= body[1] <= 624 and body[2] in (0, 1)
        ok = ok and isinstance(body[3], (int, float)) and not isinstance(body[3], bool)
        if not ok:
            raise FormatError(f"{where}: bad RandomState {_short(body)}.")
        keys, pos, has_gauss, cached = body
        state = ("MT19937", np.asarray(keys, dtype=np.uint32), pos, has_gauss, float(cached))
        rs = np.random.RandomState()
        rs.set_state(state)
        return rs

    def tag_optimizer(self, body, where):
        cls = _torch_optimizers().get(_expect(body, str, where))
        if cls is None:
            raise FormatError(f"{where}: {body!r} is not an optimizer of torch.optim.")
        return cls

    def tag_callable(self, body, where):
        name = _expect(body, str, where)
        if name not in self.callables:
            raise _CallableNeededError(
                f"The file sets {where} to the callable {name!r}; skseqattn.load never imports "
                "code named in a file. If you trust it, pass it yourself: "
                f"load(path, callables=[{name.split(':')[-1]}])."
            )
        return self.callables[name]

    def tag_scalar(self, body, where):
        body = _expect(body, dict, where)
        dtype = _dtype(body.get("dtype"), where)
        value = self.value(body.get("value"), where)
        if dtype.kind == "O" or not isinstance(value, (bool, int, float, str)):
            raise FormatError(f"{where}: bad scalar {_short(body)}.")
        try:
            return np.array(value, dtype=dtype)[()]
        except (TypeError, ValueError, OverflowError) as exc:
            raise FormatError(f"{where}: {_short(value)} is not a {dtype} scalar.") from exc

    def tag_ndarray(self, body, where):
        body = _expect(body, dict, where)
        dtype = _dtype(body.get("dtype"), where)
        shape = body.get("shape")
        if (
            not isinstance(shape, list)
            or len(shape) > _MAX_NDIM
            or not all(_is_int(n) and 0 <= n < 2**63 for n in shape)
        ):
            raise FormatError(f"{where}: bad array shape {_short(shape)}.")
        size = math.prod(shape)
        if "blob" in body:
            if body["blob"] != _ARRAYS_BLOB or dtype.kind not in "biuf":
                raise FormatError(f"{where}: bad array reference {_short(body)}.")
            array = self.arrays().get(body.get("key"))
            stored = dtype.newbyteorder("<")
            if array is None or list(array.shape) != shape or array.dtype != stored:
                raise FormatError(f"{where}: array {body.get('key')!r} is missing or differs.")
            return array.astype(dtype)
        data = _expect(body.get("data"), list, where)
        if len(data) != size:
            raise FormatError(f"{where}: {len(data)} values for shape {tuple(shape)}.")
        self.charge(size * dtype.itemsize, where)
        if dtype.kind == "O":
            out = np.empty(size, dtype=object)
            for i, item in enumerate(data):
                item = self.value(item, where)
                if item is not None and not isinstance(item, (bool, int, float, str)):
                    raise FormatError(f"{where}: bad object array element {_short(item)}.")
                out[i] = item
            return out.reshape(shape)
        expected = {"b": bool, "i": int, "u": int, "f": (int, float), "U": str}[dtype.kind]
        if dtype.kind == "f":
            data = [self.value(item, where) for item in data]
        for item in data:
            if not isinstance(item, expected) or (dtype.kind != "b" and isinstance(item, bool)):
                raise FormatError(f"{where}: a {dtype} array holds {_short(item)}.")
        try:
            return np.array(data, dtype=dtype).reshape(shape)
        except OverflowError as exc:
            raise FormatError(f"{where}: a value does not fit dtype {dtype}.") from exc

    def tag_estimator(self, body, where):
        body = _expect(body, dict, where)
        classes = _known_classes()
        name = body.get("class")
        cls = classes.get(name) if isinstance(name, str) else None
        if cls is None:
            raise FormatError(
                f"{where}: class {_short(name)} is not one skseqattn.load builds; it builds "
                f"{', '.join(sorted(classes))}."
            )
        params = _expect(body.get("params"), dict, f"{where}.params")
        known = cls._get_param_names()
        unknown = sorted(set(params) - set(known))
        if unknown:
            raise FormatError(
                f"{where}: {name} of this skseqattn has no parameters {unknown}; the file may "
                "come from another version of skseqattn."
            )
        values = {k: self.value(v, f"{where}.{k}") for k, v in params.items()}
        # Parameters added after a file was written get the value that behaves as the
        # writer's version did, not today's default.
        for key, value in _ADDED_PARAMS.get(name, {}).items():
            values.setdefault(key, value)
        for key, value in values.items():
            if (name, key) in _DROPPED and value is not None:
                raise FormatError(f"{where}: {name}.{key} must be None in a saved file.")
        est = cls(**values)
        if hasattr(est, "_validate_params"):
            try:
                est._validate_params()
            except (TypeError, ValueError) as exc:
                raise FormatError(f"{where}: invalid parameters: {exc}") from exc
        if name == "CharSequenceVectorizer":
            _check_width(est, where, self.max_bytes)
        if name == "Pipeline":
            steps = est.steps
            if not all(isinstance(s, tuple) and len(s) == 2 for s in steps):
                raise FormatError(f"{where}.steps: expected (name, estimator) pairs.")
            try:
                est._validate_steps()
            except (TypeError, ValueError) as exc:
                raise FormatError(f"{where}.steps: {exc}") from exc
        fitted = body.get("fitted")
        if fitted is None:
            if "module" in body:
                raise FormatError(f"{where}: weights for an estimator that is not fitted.")
            return est
        fitted = _expect(fitted, dict, f"{where}.fitted")
        values = {}
        for key, node in fitted.items():
            if not _FITTED_NAME.match(key) or key in _CLASSIFIER_RUNTIME:
                raise FormatError(f"{where}: {key!r} is not a fitted attribute name.")
            values[key] = self.value(node, f"{where}.{key}")
        if name == "BiLSTMAttentionClassifier":
            self.restore_classifier(est, values, body, where)
            return est
        for key, value in values.items():
            setattr(est, key, value)
        if name == "CharSequenceVectorizer":
            _check_vectorizer(est, where, self.max_bytes)
        return est

    def restore_classifier(self, est, fitted, body, where):
        """Check the stored parts, then let the classifier rebuild itself as ``fit`` does.

        The weights' safetensors header is read first and compared with the shapes the
        parameters imply (computed on torch's meta device, without memory); only then are
        the tensors read.
        """
        classes = _check_classifier(fitted, where)
        blob = body.get("module")
        if not isinstance(blob, str) or not _BLOB_NAME.match(blob) or blob not in self.blobs:
            raise FormatError(f"{where}: the weights entry {_short(blob)} is missing.")
        header = self.blobs.header(blob)
        if est.attention == "dot" and "pool.query" in header:
            est.set_params(attention="scaled_dot")  # written when 'dot' was the learned query
        _check_architecture(est, fitted, len(classes), header, blob, where)
        history = _expect(body.get("history", []), list, f"{where}.history")
        history = [_expect(self.value(e, f"{where}.history"), dict, where) for e in history]
        offset = fitted.get("logit_offset_")
        is_array = isinstance(offset, np.ndarray)
        if offset is not None and not (
            is_array and offset.dtype.kind == "f" and offset.shape == (len(classes),)
        ):
            raise FormatError(
                f"{where}: logit_offset_ must be None or a float array of shape ({len(classes)},)."
            )

        def weights(expected):
            missing = sorted(set(expected) - set(header))
            unexpected = sorted(set(header) - set(expected))
            if missing or unexpected:
                raise FormatError(
                    f"{blob} does not fit {where}: missing weights {_short(missing, 200)}, "
                    f"unexpected {_short(unexpected, 200)}."
                )
            for key, (shape, dtype) in expected.items():
                stored_shape, stored_dtype = header[key]
                if stored_shape != shape or stored_dtype != _TORCH_DTYPES.get(dtype):
                    raise FormatError(
                        f"{blob}: weight {key!r} has shape {stored_shape} and dtype "
                        f"{stored_dtype}, but {where} needs {shape} and {dtype}."
                    )
            data = self.blobs.read(blob)
            try:
                return self.safetensors.torch.load(data)
            except Exception as exc:  # the parser's own error types vary
                raise FormatError(f"{blob} is not a valid safetensors file: {exc}") from exc

        est._restore(
            classes=classes,
            fitted=fitted,
            state_dict=weights,
            history=history,
            device=self.device,
        )


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


def _blob_arrays(tree):
    """``{key: (shape, safetensors dtype)}`` of every array the manifest keeps in
    arrays.safetensors: what that entry must hold, known before it is read. A node that is
    not well formed is left for the reader to refuse with its own message."""
    found, stack = {}, [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            body = node.get("__ndarray__") if len(node) == 1 else None
            if isinstance(body, dict) and "blob" in body:
                shape, dtype, key = body.get("shape"), body.get("dtype"), body.get("key")
                if isinstance(shape, list) and isinstance(dtype, str) and isinstance(key, str):
                    found[key] = (tuple(shape), _NUMPY_TO_ST.get(dtype.lstrip("<>|=")))
            else:
                stack.extend(node.values())
    return found


def _check_architecture(est, fitted, n_classes, header, blob, where):
    """Refuse parameters that need more weights than ``blob`` holds, before any module is
    built (even on the meta device): each product below is a lower bound on the number of
    weights of such a network, so what is built next is bounded by the file's size."""
    total = sum(math.prod(shape) for shape, _ in header.values())
    hidden = est.hidden_size
    needs = [
        ("hidden_size", hidden, hidden * hidden),
        ("len(classes_)", n_classes, n_classes * hidden),
    ]
    from ._inputs import kind_named

    sizes = kind_named(fitted.get("input_type_")).from_fitted(fitted).module_args()
    if sizes["vocab_size"] is not None:  # token ids, through an embedding
        n_ids = sizes["vocab_size"]
        needs.append(("n_ids_", n_ids, n_ids))
        if est.embedding_weights is None:
            dim = est.embedding_dim
            needs.append(("embedding_dim", dim, dim * max(n_ids, hidden)))
        if est.ngram_order:
            from ._net import ngram_buckets_for  # 'auto' is a rule on the number of classes

            rows = ngram_buckets_for(est.ngram_buckets, n_classes)
            needs.append(("ngram_buckets", est.ngram_buckets, rows * n_classes))
    else:
        n_features = sizes["n_features"]
        needs.append(("len(feature_mean_)", n_features, n_features * hidden))
    if est.pooling == "attention":
        needs.append(("attention_heads", est.attention_heads, est.attention_heads * hidden))
    for name, value, need in needs:
        if need > total:
            raise FormatError(
                f"{where}: {name}={_short(value)} needs at least {need} weights, but {blob} "
                f"holds {total}; the file was altered."
            )
    if est.num_layers > len(header):
        raise FormatError(
            f"{where}: num_layers={est.num_layers} needs at least {est.num_layers} weight "
            f"tensors, but {blob} holds {len(header)}; the file was altered."
        )


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


def _check_classifier(fitted, where):
    """The checked ``classes_`` of a classifier's fitted attributes (and its input kind's)."""
    from ._inputs import kind_named

    classes = fitted.get("classes_")
    if not isinstance(classes, np.ndarray) or classes.ndim != 1 or len(classes) < 2:
        raise FormatError(f"{where}: classes_ must be a 1-D array of at least 2 labels.")
    input_type = fitted.get("input_type_")
    kind = kind_named(input_type)
    if kind is None:
        raise FormatError(
            f"{where}: input_type_ must be 'tokens' or 'features', got {_short(input_type)}."
        )
    problem = kind.check_saved(fitted)
    if problem is not None:
        raise FormatError(f"{where}: {problem}.")
    return classes


def _check_vectorizer(est, where, max_bytes):
    vocabulary = getattr(est, "vocabulary_", None)
    id_to_token = getattr(est, "id_to_token_", None)
    size = getattr(est, "vocab_size_", None)
    ok = (
        isinstance(vocabulary, dict)
        and isinstance(size, Integral)
        and size == len(vocabulary) + 2
        and isinstance(id_to_token, np.ndarray)
        and id_to_token.shape == (size,)
        and all(isinstance(k, str) and isinstance(v, Integral) for k, v in vocabulary.items())
        and sorted(vocabulary.values()) == list(range(2, size))
        and isinstance(getattr(est, "max_len_", None), Integral)
    )
    if not ok:
        raise FormatError(
            f"{where}: the fitted vocabulary_, vocab_size_, id_to_token_ and max_len_ of the "
            "CharSequenceVectorizer do not agree."
        )
    _check_width(est, where, max_bytes)


def _check_width(est, where, max_bytes):
    """A vectorizer's output width costs memory in transform and get_feature_names_out."""
    limit = max(max_bytes // 1024, 1)
    for key in ("max_len", "max_len_"):
        width = getattr(est, key, None)
        if width is not None and width > limit:
            raise FormatError(
                f"{where}: CharSequenceVectorizer.{key}={_short(width)} exceeds max_bytes // 1024 "
                f"= {limit} columns; pass a larger max_bytes to load if you trust the file."
            )


def _callables_by_name(callables):
    if callables is None:
        return {}
    items = callables.items() if isinstance(callables, Mapping) else None
    if items is None:
        items = []
        for obj in callables:
            name = _callable_name(obj)
            if name is None:
                raise TypeError(
                    f"skseqattn.load got {obj!r} in callables, which has no importable name; "
                    "pass a mapping {'module:qualname': obj} instead."
                )
            items.append((name, obj))
    return dict(items)


def _check_key(key, who):
    """``key`` as bytes, or None."""
    if key is None:
        return None
    if isinstance(key, str):
        key = key.encode("utf-8")
    if not isinstance(key, (bytes, bytearray, memoryview)):
        raise TypeError(
            f"{who} expected key to be bytes or str (e.g. secrets.token_bytes(32)), got "
            f"{type(key).__name__}."
        )
    key = bytes(key)
    if not key:
        raise ValueError(f"{who} got an empty key; use a secret of 32 random bytes.")
    return key


def _signature(key, manifest_bytes):
    """The content of signature.hmac: an HMAC-SHA256 of manifest.json, which holds the size
    and SHA-256 of every other entry, so that it authenticates the whole archive."""
    mac = hmac.new(key, _MAC_CONTEXT + manifest_bytes, hashlib.sha256).hexdigest()
    return _SIGNATURE_PREFIX + mac.encode("ascii")


def _entry_count(fileobj):
    """(entries, central directory size) from the zip's end record, read before zipfile
    builds its table of entries; None when there is no such record (zipfile then says)."""
    fileobj.seek(0, os.SEEK_END)
    size = fileobj.tell()
    fileobj.seek(max(0, size - 22 - 65535))
    tail = fileobj.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        return None
    entries, directory_size = struct.unpack_from("<HL", tail, at + 10)
    # A zip64 end record (which zipfile reads in place of the fields above) sits just
    # before the zip64 locator, itself just before the end record.
    if (
        at >= 76
        and tail[at - 20 : at - 16] == b"PK\x06\x07"
        and tail[at - 76 : at - 72] == (b"PK\x06\x06")
    ):
        entries64, size64 = struct.unpack_from("<QQ", tail, at - 76 + 32)
        entries, directory_size = max(entries, entries64), max(directory_size, size64)
    return entries, directory_size


class _Members:
    """The entries of an archive other than manifest.json, read on demand within bounds.

    ``sizes`` and ``digests`` come from the manifest and were checked against the zip's own
    sizes; :meth:`header` reads a safetensors entry's header only, :meth:`read` the entry
    to exactly its declared size, with its checksum checked.
    """

    def __init__(self, open_entry, sizes, digests, where):
        self.open_entry = open_entry
        self.sizes = sizes
        self.digests = digests
        self.where = where
        self.headers = {}

    @classmethod
    def in_memory(cls, blobs):
        blobs = dict(blobs)
        sizes = {name: len(data) for name, data in blobs.items()}
        return cls(lambda name: io.BytesIO(blobs[name]), sizes, None, "the file")

    def __contains__(self, name):
        return name in self.sizes

    def _read(self, f, n, name):
        try:
            data = f.read(n)
        except (zipfile.BadZipFile, EOFError, zlib.error, NotImplementedError) as exc:
            raise FormatError(
                f"{self.where}: cannot read {name} ({exc}); the file is damaged."
            ) from exc
        if len(data) != n:
            raise FormatError(
                f"{self.where}: {name} is shorter than its declared {self.sizes[name]} bytes."
            )
        return data

    def header(self, name):
        """``{tensor name: (shape, dtype)}`` of the safetensors entry ``name``, checked: known
        dtypes, sizes that agree with the offsets, and offsets that tile the entry."""
        if name in self.headers:
            return self.headers[name]
        size = self.sizes[name]
        where = f"{self.where}: {name}"
        with self.open_entry(name) as f:
            if size < 8:
                raise FormatError(f"{where} is not a valid safetensors file (too short).")
            (length,) = struct.unpack("<Q", self._read(f, 8, name))
            if length > min(_MAX_HEADER_BYTES, size - 8):
                raise FormatError(
                    f"{where} is not a valid safetensors file: its header claims {length} bytes."
                )
            raw = self._read(f, length, name)
        header = _parse_json(raw, "header", where)
        if not isinstance(header, dict):
            raise FormatError(f"{where} is not a valid safetensors file: bad header.")
        metadata = header.pop("__metadata__", {})
        ok = isinstance(metadata, dict) and all(isinstance(v, str) for v in metadata.values())
        if not ok or len(header) > _MAX_TENSORS:
            raise FormatError(f"{where} is not a valid safetensors file: bad header.")
        spans, out = [], {}
        for key, info in header.items():
            ok = isinstance(info, dict) and set(info) == {"dtype", "shape", "data_offsets"}
            dtype = info.get("dtype") if ok else None
            shape = info.get("shape") if ok else None
            offsets = info.get("data_offsets") if ok else None
            ok = ok and dtype in _ST_ITEMSIZE and isinstance(shape, list)
            ok = ok and len(shape) <= _MAX_NDIM and all(_is_int(n) and n >= 0 for n in shape)
            ok = ok and isinstance(offsets, list) and len(offsets) == 2
            ok = ok and all(_is_int(n) for n in offsets)
            if not ok:
                raise FormatError(f"{where}: bad header entry {_short(key)}: {_short(info)}.")
            begin, end = offsets
            if end - begin != math.prod(shape) * _ST_ITEMSIZE[dtype]:
                raise FormatError(
                    f"{where}: tensor {_short(key)} of shape {shape} and dtype {dtype} does not "
                    f"take the {end - begin} bytes its offsets say."
                )
            spans.append((begin, end))
            out[key] = (tuple(shape), dtype)
        position = 0
        for begin, end in sorted(spans):
            if begin != position:
                break
            position = end
        if position != size - 8 - length:
            raise FormatError(
                f"{where}: the tensors' offsets do not cover its {size - 8 - length} bytes of "
                "data exactly; the file was altered."
            )
        self.headers[name] = out
        return out

    def read(self, name):
        size = self.sizes[name]
        with self.open_entry(name) as f:
            data = self._read(f, size, name)
        digest = None if self.digests is None else self.digests[name]
        if digest is not None and hashlib.sha256(data).hexdigest() != digest:
            raise FormatError(
                f"{self.where}: the checksum or size of {name} does not match the manifest; the "
                "file is corrupt or was altered."
            )
        return data


def _zip_info(zf, where, max_bytes):
    """The entries of an open zip, after the checks on names, sizes and ratios."""
    infos = zf.infolist()
    if len(infos) > _MAX_MEMBERS:
        raise FormatError(f"{where} holds {len(infos)} entries; a model file holds a few.")
    names = {}
    for info in infos:
        name = info.filename
        if not _SAFE_NAME.match(name) or ".." in name:
            raise FormatError(
                f"{where} holds an entry with an unsafe name {_short(name)}; skseqattn.save "
                "writes plain names only."
            )
        if name in names:
            raise FormatError(f"{where} holds the same entry twice; it was altered.")
        if info.flag_bits & 0x1:
            raise FormatError(f"{where}: entry {name} is encrypted.")
        if info.file_size > max_bytes:
            raise FormatError(
                f"{where}: entry {name} declares {info.file_size} bytes, more than "
                f"max_bytes={max_bytes}; pass a larger max_bytes to load if you trust the file."
            )
        if info.file_size > _RATIO_FROM and info.file_size > _MAX_RATIO * max(
            info.compress_size, 1
        ):
            raise FormatError(
                f"{where}: entry {name} expands {info.file_size // max(info.compress_size, 1)} "
                f"times when decompressed (at most {_MAX_RATIO} allowed); the file was altered."
            )
        names[name] = info
    return names


def _open_archive(path, stack):
    """An open :class:`zipfile.ZipFile` for ``path``, closed by ``stack``."""
    where = path if isinstance(path, (str, bytes, os.PathLike)) else "the file"
    if isinstance(path, (str, bytes, os.PathLike)):
        fileobj = stack.enter_context(open(path, "rb"))
    else:
        fileobj = path
    try:
        counted = _entry_count(fileobj)
        fileobj.seek(0)
    except (OSError, AttributeError) as exc:
        raise TypeError(
            f"skseqattn.load expected a path or a seekable binary file, got {type(path).__name__}."
        ) from exc
    if counted is not None:
        entries, directory_size = counted
        if entries > _MAX_MEMBERS or directory_size > _MAX_CENTRAL_DIRECTORY:
            raise FormatError(
                f"{where} declares {entries} entries in {directory_size} bytes; a model file "
                f"holds at most {_MAX_MEMBERS}."
            )
    try:
        zf = zipfile.ZipFile(fileobj)
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError) as exc:
        hint = ""
        fileobj.seek(0)
        if fileobj.read(1) == b"\x80":
            hint = " It looks like a pickle: load it with joblib only if you trust its source."
        raise FormatError(
            f"{where} is not a skseqattn model file (not a zip archive, or truncated: {exc}).{hint}"
        ) from exc
    stack.enter_context(zf)
    return zf, where


def _read_archive(path, stack, *, key=None, max_bytes=DEFAULT_MAX_BYTES):
    """(manifest, members) from the zip at ``path`` after the structural checks (and the
    signature, given a key); members are read later, on demand."""
    zf, where = _open_archive(path, stack)
    infos = _zip_info(zf, where, max_bytes)
    if _MANIFEST not in infos:
        raise FormatError(
            f"{where} is a zip archive without {_MANIFEST}: not written by skseqattn.save."
        )
    limit = min(_MAX_MANIFEST_BYTES, max_bytes)
    raw = _read_entry(zf, infos[_MANIFEST], limit, where)
    _verify(zf, infos, raw, key, where)
    manifest = _parse_manifest(raw, where)
    files = _expect(manifest.get("files"), dict, f"{where}: manifest.json 'files'")
    names = set(infos) - {_MANIFEST, _SIGNATURE}
    unexpected = sorted(names - set(files))
    missing = sorted(set(files) - names)
    if unexpected or missing:
        raise FormatError(
            f"{where} does not match its manifest: unexpected entries {_short(unexpected, 200)}, "
            f"missing entries {_short(missing, 200)}."
        )
    sizes, digests = {}, {}
    for name, meta in files.items():
        meta = _expect(meta, dict, f"{where}: manifest entry {name!r}")
        size, digest = meta.get("size"), meta.get("sha256")
        if (
            not _BLOB_NAME.match(name)
            or not _is_int(size)
            or size < 0
            or not isinstance(digest, str)
        ):
            raise FormatError(f"{where}: bad manifest entry {name!r}: {_short(meta)}.")
        if infos[name].file_size != size:
            raise FormatError(
                f"{where}: the checksum or size of {name} does not match the manifest: the zip "
                f"declares {infos[name].file_size} bytes, the manifest {size}; the file is "
                "corrupt or was altered."
            )
        sizes[name], digests[name] = size, digest
    total = sum(sizes.values()) + len(raw)
    if total > max_bytes:
        raise FormatError(
            f"{where} holds {total} bytes, more than max_bytes={max_bytes}; pass a larger "
            "max_bytes to load if you trust the file."
        )
    return manifest, _Members(lambda name: zf.open(infos[name]), sizes, digests, where)


def _verify(zf, infos, manifest_bytes, key, where):
    """Check the signature, before anything else of the file is parsed."""
    signed = _SIGNATURE in infos
    if key is None:
        if signed:
            warnings.warn(
                f"{where} is signed, but skseqattn.load got no key: it was loaded without "
                "checking who wrote it. Pass key=... to check its signature.",
                UserWarning,
                stacklevel=4,
            )
        return
    if not signed:
        raise FormatError(
            f"{where} is not signed, but skseqattn.load got a key: refusing a file whose "
            "author cannot be checked. Load it without key only if you trust its source."
        )
    stored = _read_entry(zf, infos[_SIGNATURE], 128, where)
    if not hmac.compare_digest(stored, _signature(key, manifest_bytes)):
        raise FormatError(
            f"{where}: the signature does not verify: the file was altered, or signed with "
            "another key."
        )


def _read_entry(zf, info, limit, where):
    name = info.filename
    if info.file_size > limit:
        raise FormatError(
            f"{where}: {name} declares {info.file_size} bytes, more than the {limit} allowed."
        )
    try:
        with zf.open(info) as f:
            data = f.read(limit + 1)
    except (zipfile.BadZipFile, EOFError, zlib.error, NotImplementedError, RuntimeError) as exc:
        raise FormatError(f"{where}: cannot read {name} ({exc}); the file is damaged.") from exc
    if len(data) > limit:  # pragma: no cover - zipfile stops at the declared size
        raise FormatError(f"{where}: {name} is larger than expected.")
    return data


def _parse_manifest(data, where):
    manifest = _parse_json(data, _MANIFEST, where)
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
        raise FormatError(f"{where}: {_MANIFEST} does not describe a skseqattn model.")
    version = manifest.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise FormatError(f"{where}: bad format_version {_short(version)} in {_MANIFEST}.")
    if version > FORMAT_VERSION:
        raise FormatError(
            f"{where} was written by format version {version} (skseqattn "
            f"{_short(manifest.get('skseqattn_version'))}); this skseqattn reads up to "
            f"{FORMAT_VERSION}; upgrade skseqattn."
        )
    return manifest


def load(path, *, device="cpu", callables=None, key=None, max_bytes=DEFAULT_MAX_BYTES):
    """Read an estimator written by :func:`save`, without running code from the file.

    Parameters
    ----------
    path : str, path-like or readable binary file
        A file written by :func:`save`.
    device : str, default='cpu'
        Where a classifier's network goes: ``'cpu'``, ``'cuda'``, ``'cuda:N'`` or
        ``'auto'``; it becomes the classifier's ``device_`` (the ``device`` parameter keeps
        its saved value).
    callables : iterable of callables or mapping of str to callable, default=None
        Functions or classes the file refers to by name (a custom ``analyzer``, an
        optimizer class outside ``torch.optim``), which you trust. Names are
        ``'module:qualname'``; an iterable is keyed by each object's own name.
    key : bytes or str, default=None
        The secret the file was signed with (``save(..., key=key)``). Given a key, a file
        whose signature does not verify, or that is not signed, raises
        :class:`FormatError`, and this is checked before anything else in the file is
        parsed. Without a key a signed file loads with a ``UserWarning`` that its author
        was not checked.
    max_bytes : int, default=DEFAULT_MAX_BYTES (1 GiB)
        The most archive content (the sizes of its entries, uncompressed) to read; larger
        files raise :class:`FormatError` before they are read. It also bounds a
        vectorizer's width (``max_len``, ``max_len_``) at ``max_bytes // 1024`` columns.
        Raise it for models above 1 GiB that you trust.

    Returns
    -------
    estimator : BiLSTMAttentionClassifier, CharSequenceVectorizer or Pipeline

    Raises
    ------
    FormatError
        The file is not a skseqattn model file (a pickle, another zip, a truncated or
        altered file), a checksum does not match, it exceeds ``max_bytes`` or another bound
        below, its signature does not verify, or it was written by a newer format. The
        message names the entry or field.
    ValueError
        The file refers to a callable that was not passed in ``callables``.

    Notes
    -----
    A loaded classifier predicts exactly as the saved one did (``predict``,
    ``predict_proba``, ``decision_function``, ``attention_weights``): the network is
    rebuilt from the parameters and filled with the saved weights. Its ``net_`` is a fresh
    skorch net around those weights with the saved ``history_``, so ``warm_start=True``
    training continues from them, with a fresh optimizer state.

    What holds for any file, from anyone:

    - **No code execution.** Nothing is unpickled, imported or evaluated: values are JSON
      and safetensors, estimators are built from a fixed list of classes, callables come
      only from ``callables``.
    - **Bounded resources.** Before anything is allocated, the zip's table is checked
      (at most 256 entries, plain names, declared sizes within ``max_bytes`` and equal to
      the manifest's, at most 50x compression for entries above 1 MiB); manifest.json is
      read up to 32 MiB and parsed with at most 2 million values, no repeated keys, no
      integer over 20 digits, no non-finite number, nesting at most 64 levels, dtypes of
      at most 65536 characters and 64 MiB of arrays in JSON; every parameter is checked
      as the estimator checks it; the shapes the parameters imply are computed without
      allocating and compared with the weights' safetensors header before the tensors
      are read or any module is built. Memory is then about three times the file's
      content at most.
    - **Integrity of the weights.** Each entry's SHA-256 and size must match the manifest.
      This detects damage, not tampering: whoever alters a file can update the checksums.
    - **Authenticity only with a key.** ``save(..., key=key)`` adds an HMAC-SHA256 of
      manifest.json (which holds every other entry's SHA-256) and ``load(..., key=key)``
      refuses a file that does not carry a valid one. Keep the key secret; anyone holding
      it can sign.

    Examples
    --------
    >>> import io
    >>> import numpy as np
    >>> from skseqattn import BiLSTMAttentionClassifier
    >>> from skseqattn.persistence import load, save
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randint(2, 6, size=(100, 6))
    >>> y = np.where(X[:, 0] == 2, "two", "other")
    >>> clf = BiLSTMAttentionClassifier(embedding_dim=8, hidden_size=8, max_epochs=2,
    ...                                 random_state=0).fit(X, y)
    >>> buffer = save(clf, io.BytesIO())
    >>> loaded = load(io.BytesIO(buffer.getvalue()))
    >>> loaded.classes_
    array(['other', 'two'], dtype='<U5')
    >>> np.array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    True
    """
    safetensors = _import_safetensors()
    resolved = resolve_device(device, who="skseqattn.load")
    reader_callables = _callables_by_name(callables)
    key = _check_key(key, "skseqattn.load")
    if not _is_int(max_bytes) or max_bytes < 1:
        raise ValueError(
            f"skseqattn.load expected max_bytes to be a positive int, got {max_bytes!r}."
        )
    with contextlib.ExitStack() as stack:
        manifest, members = _read_archive(path, stack, key=key, max_bytes=max_bytes)
        reader = _Reader(members, safetensors, reader_callables, resolved, max_bytes=max_bytes)
        tree = manifest.get("estimator")
        if not isinstance(tree, dict) or set(tree) != {"__estimator__"}:
            raise FormatError(f"{_MANIFEST} has no estimator.")
        reader.expected_arrays = _blob_arrays(tree)
        try:
            return reader.value(tree, "estimator")
        except (FormatError, _CallableNeededError):
            raise
        except (
            TypeError,
            ValueError,
            KeyError,
            IndexError,
            AttributeError,
            OverflowError,
            RuntimeError,
        ) as exc:
            raise FormatError(
                f"{_MANIFEST} describes an estimator that cannot be rebuilt "
                f"({type(exc).__name__}: {exc})."
            ) from exc
