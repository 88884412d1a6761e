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
:class:`FormatError`.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import secrets
import sys
import warnings
import zipfile
import zlib
from collections.abc import Mapping
from numbers import Integral

import numpy as np
import torch

from ._validation import resolve_device

__all__ = ["FORMAT_VERSION", "FormatError", "load", "save"]

FORMAT_NAME = "skseqattn"
FORMAT_VERSION = 1
"""Version of the file layout written by :func:`save`; :func:`load` reads up to this one."""

_MANIFEST = "manifest.json"
_ARRAYS_BLOB = "arrays.safetensors"
_MAX_MANIFEST_BYTES = 512 * 2**20
_JSON_ARRAY_LIMIT = 1024  # numeric arrays larger than this go to arrays.safetensors
_BLOB_NAME = re.compile(r"^[A-Za-z0-9_-]+\.safetensors$")
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


def save(estimator, path):
    """Write an estimator to a file that :func:`load` can read without running its code.

    Parameters
    ----------
    estimator : BiLSTMAttentionClassifier, CharSequenceVectorizer or Pipeline
        Fitted or not. A Pipeline may hold these estimators, ``'passthrough'`` and
        other Pipelines.
    path : str, path-like or writable binary file
        Where to write. An existing file is replaced only once the whole file is written.
        Any name works; ``.skseqattn`` is a good suffix.

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
    """
    from . import __version__

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
    text = json.dumps(manifest, ensure_ascii=True, allow_nan=False, indent=1)

    def write(fileobj):
        with zipfile.ZipFile(fileobj, "w") as zf:
            info = zipfile.ZipInfo(_MANIFEST, date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, text.encode("ascii"))
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
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        duplicated = sorted({k for k in keys if keys.count(k) > 1})
        raise FormatError(f"manifest.json repeats the keys {duplicated}.")
    return dict(pairs)


def _reject_constant(name):
    raise FormatError(f"manifest.json holds the non-JSON number {name}.")


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

    def __init__(self, blobs, safetensors, callables, device):
        self.blobs = blobs
        self.safetensors = safetensors
        self.callables = callables
        self.device = device
        self._arrays = None

    def arrays(self):
        if self._arrays is None:
            if _ARRAYS_BLOB not in self.blobs:
                raise FormatError(f"manifest.json refers to {_ARRAYS_BLOB}, which is missing.")
            try:
                self._arrays = self.safetensors.numpy.load(self.blobs[_ARRAYS_BLOB])
            except Exception as exc:  # the parser's own error types vary
                raise FormatError(f"{_ARRAYS_BLOB} is not a valid safetensors file: {exc}") from exc
        return self._arrays

    def value(self, node, where):
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if isinstance(node, list):
            return [self.value(v, f"{where}[{i}]") for i, v in enumerate(node)]
        if not isinstance(node, dict) or len(node) != 1:
            raise FormatError(f"{where}: expected a value, got {_short(node)}.")
        ((tag, body),) = node.items()
        handler = self._TAGS.get(tag)
        if handler is None:
            raise FormatError(f"{where}: unknown tag {_short(tag)}.")
        return getattr(self, handler)(body, where)

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
        return torch.device(_expect(body, str, where))

    def tag_random_state(self, body, where):
        keys, pos, has_gauss, cached = _expect(body, list, where)
        state = ("MT19937", np.asarray(keys, dtype=np.uint32), int(pos), int(has_gauss), cached)
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
        return np.array(value, dtype=dtype)[()]

    def tag_ndarray(self, body, where):
        body = _expect(body, dict, where)
        dtype = _dtype(body.get("dtype"), where)
        shape = body.get("shape")
        if not isinstance(shape, list) or not all(
            isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape
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
        return np.array(data, dtype=dtype).reshape(shape)

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
            _check_vectorizer(est, where)
        return est

    def restore_classifier(self, est, fitted, body, where):
        """Check the stored parts, then let the classifier rebuild itself as ``fit`` does."""
        classes = _check_classifier(fitted, where)
        blob = body.get("module")
        if blob not in self.blobs:
            raise FormatError(f"{where}: the weights entry {_short(blob)} is missing.")
        try:
            state = self.safetensors.torch.load(self.blobs[blob])
        except Exception as exc:  # the parser's own error types vary
            raise FormatError(f"{blob} is not a valid safetensors file: {exc}") from exc
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

        def check_weights(expected):
            missing = sorted(set(expected) - set(state))
            unexpected = sorted(set(state) - set(expected))
            if missing or unexpected:
                raise FormatError(
                    f"{blob} does not fit {where}: missing weights {missing}, unexpected "
                    f"{unexpected}."
                )
            for key, tensor in state.items():
                if tensor.shape != expected[key].shape or tensor.dtype != expected[key].dtype:
                    raise FormatError(
                        f"{blob}: weight {key!r} has shape {tuple(tensor.shape)} and dtype "
                        f"{tensor.dtype}, but {where} needs {tuple(expected[key].shape)} and "
                        f"{expected[key].dtype}."
                    )

        est._restore(
            classes=classes,
            fitted=fitted,
            state_dict=state,
            history=history,
            device=self.device,
            check_weights=check_weights,
        )


def _short(value, limit=60):
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _expect(value, kind, where):
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise FormatError(f"{where}: expected {kind.__name__}, got {_short(value)}.")
    return value


def _dtype(name, where):
    if not isinstance(name, str):
        raise FormatError(f"{where}: bad dtype {_short(name)}.")
    try:
        dtype = np.dtype(name)
    except TypeError as exc:
        raise FormatError(f"{where}: bad dtype {name!r}.") from exc
    if dtype.kind not in _ARRAY_KINDS or dtype.fields is not None or dtype.shape:
        raise FormatError(f"{where}: dtype {name!r} is not one skseqattn stores.")
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


def _check_vectorizer(est, where):
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


def _read_archive(path):
    """(manifest, blobs) from the zip at ``path`` after structural and checksum checks."""
    where = path if isinstance(path, (str, bytes, os.PathLike)) else "the file"
    source = os.fspath(path) if isinstance(path, os.PathLike) else path
    try:
        zf = zipfile.ZipFile(source)
    except zipfile.BadZipFile as exc:
        hint = ""
        try:
            if isinstance(source, (str, bytes)):
                with open(source, "rb") as f:
                    head = f.read(2)
            else:
                source.seek(0)
                head = source.read(2)
            if head[:1] == b"\x80":
                hint = " It looks like a pickle: load it with joblib only if you trust its source."
        except OSError:  # pragma: no cover
            pass
        raise FormatError(
            f"{where} is not a skseqattn model file (not a zip archive, or truncated: {exc}).{hint}"
        ) from exc
    with zf:
        names = [info.filename for info in zf.infolist()]
        if len(set(names)) != len(names):
            raise FormatError(f"{where} holds the same entry twice; it was altered.")
        if _MANIFEST not in names:
            raise FormatError(
                f"{where} is a zip archive without {_MANIFEST}: not written by skseqattn.save."
            )
        manifest = _parse_manifest(_read_entry(zf, _MANIFEST, _MAX_MANIFEST_BYTES, where), where)
        files = _expect(manifest.get("files"), dict, f"{where}: manifest.json 'files'")
        unexpected = sorted(set(names) - set(files) - {_MANIFEST})
        missing = sorted(set(files) - set(names))
        if unexpected or missing:
            raise FormatError(
                f"{where} does not match its manifest: unexpected entries {unexpected}, "
                f"missing entries {missing}."
            )
        blobs = {}
        for name, meta in files.items():
            meta = _expect(meta, dict, f"{where}: manifest entry {name!r}")
            size, digest = meta.get("size"), meta.get("sha256")
            sized = isinstance(size, int) and not isinstance(size, bool) and size >= 0
            if not _BLOB_NAME.match(name) or not sized or not isinstance(digest, str):
                raise FormatError(f"{where}: bad manifest entry {name!r}: {_short(meta)}.")
            data = _read_entry(zf, name, size, where)
            if len(data) != size or hashlib.sha256(data).hexdigest() != digest:
                raise FormatError(
                    f"{where}: the checksum or size of {name} does not match the manifest; the "
                    "file is corrupt or was altered."
                )
            blobs[name] = data
    return manifest, blobs


def _read_entry(zf, name, limit, where):
    info = zf.getinfo(name)
    if info.file_size > limit:
        raise FormatError(f"{where}: {name} is larger ({info.file_size} bytes) than expected.")
    try:
        with zf.open(info) as f:
            return f.read(limit + 1)
    except (zipfile.BadZipFile, EOFError, zlib.error, NotImplementedError, RuntimeError) as exc:
        raise FormatError(f"{where}: cannot read {name} ({exc}); the file is damaged.") from exc


def _parse_manifest(data, where):
    try:
        manifest = json.loads(
            data.decode("utf-8"),
            object_pairs_hook=_strict_object,
            parse_constant=_reject_constant,
        )
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise FormatError(f"{where}: {_MANIFEST} is not valid JSON ({exc}).") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
        raise FormatError(f"{where}: {_MANIFEST} does not describe a skseqattn model.")
    version = manifest.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise FormatError(f"{where}: bad format_version {_short(version)} in {_MANIFEST}.")
    if version > FORMAT_VERSION:
        raise FormatError(
            f"{where} was written by format version {version} (skseqattn "
            f"{manifest.get('skseqattn_version')!s}); this skseqattn reads up to "
            f"{FORMAT_VERSION}; upgrade skseqattn."
        )
    return manifest


def load(path, *, device="cpu", callables=None):
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

    Returns
    -------
    estimator : BiLSTMAttentionClassifier, CharSequenceVectorizer or Pipeline

    Raises
    ------
    FormatError
        The file is not a skseqattn model file (a pickle, another zip, a truncated or
        altered file), a checksum does not match, or it was written by a newer format.
    ValueError
        The file refers to a callable that was not passed in ``callables``.

    Notes
    -----
    A loaded classifier predicts exactly as the saved one did (``predict``,
    ``predict_proba``, ``decision_function``, ``attention_weights``): the network is
    rebuilt from the parameters and filled with the saved weights. Its ``net_`` is a fresh
    skorch net around those weights with the saved ``history_``, so ``warm_start=True``
    training continues from them, with a fresh optimizer state. Nothing in the file is
    unpickled or executed: values are JSON and safetensors, and estimators are built from
    a fixed list of classes.

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
    manifest, blobs = _read_archive(path)
    reader = _Reader(blobs, safetensors, reader_callables, resolved)
    tree = manifest.get("estimator")
    if not isinstance(tree, dict) or set(tree) != {"__estimator__"}:
        raise FormatError(f"{_MANIFEST} has no estimator.")
    try:
        return reader.value(tree, "estimator")
    except (FormatError, _CallableNeededError):
        raise
    except (TypeError, ValueError, KeyError, IndexError, AttributeError, OverflowError) as exc:
        raise FormatError(
            f"{_MANIFEST} describes an estimator that cannot be rebuilt "
            f"({type(exc).__name__}: {exc})."
        ) from exc
    except RecursionError as exc:
        raise FormatError(f"{_MANIFEST} is nested too deeply.") from exc
