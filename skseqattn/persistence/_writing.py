"""Writing: estimators to JSON-able nodes and safetensors blobs, the zip, and replacing the
target file in one rename."""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import re
import secrets
import socket
import sys
import warnings
import zipfile

import numpy as np
import torch

from ._format import (
    _ARRAY_KINDS,
    _ARRAYS_BLOB,
    _CLASSIFIER_RUNTIME,
    _DROPPED,
    _FITTED_NAME,
    _JSON_ARRAY_LIMIT,
    _MANIFEST,
    _SIGNATURE,
    _ZIP_DATE,
    FORMAT_NAME,
    FORMAT_VERSION,
    _callable_name,
    _import_safetensors,
    _known_classes,
    _torch_optimizers,
)
from ._signing import _check_key, _signature


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
        Where to write. An existing file is replaced only once the whole file is written
        (by a rename), so a failed or killed save leaves it as it was. Any name works;
        ``.skseqattn`` is a good suffix. On Linux the content is written to an unnamed
        file that vanishes with a killed process; elsewhere a killed save leaves a
        ``<path>.<host>-<pid>-<random>.tmp`` file, which the next save to ``path`` on the
        same host removes once that process has ended.
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
    from .. import __version__

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
    _write_replacing(os.fspath(path), write)
    return path


# ---------------------------------------------------------------------- replacing a file
def _write_replacing(target, write):
    """Write a file with ``write(fileobj)`` and put it at ``target`` in one rename, so that
    an existing file is never left half-written and a process killed meanwhile leaves as
    little as the system allows.

    Where the system has unnamed files (Linux's ``O_TMPFILE``) the content is written to
    one in the target's folder, which vanishes with the process if it dies, and only the
    finished file gets a temporary name (a link) just before the rename over the target:
    a kill can leave a temporary file only in the instant between the two. Elsewhere a
    named sibling temporary file is written. Either way the temporary name says the host
    and process, and the next save to the same target removes those of this host whose
    process no longer runs.
    """
    _remove_stale_temporaries(target)
    tmp = _temporary_name(target)
    fd = _unnamed_file(os.path.dirname(os.path.abspath(target)))
    linked = False
    if fd is not None:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            try:
                os.link(f"/proc/self/fd/{f.fileno()}", tmp)
                linked = True
            except OSError:  # no /proc, or a file system that cannot link it: write again
                pass
    try:
        if not linked:
            with open(tmp, "xb") as f:
                write(f)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


def _unnamed_file(folder):
    """A descriptor of an unnamed file in ``folder`` open for writing, or None where the
    system or file system has none."""
    flag = getattr(os, "O_TMPFILE", None)
    if flag is None or not os.path.isdir("/proc/self/fd"):
        return None
    try:
        return os.open(folder, flag | os.O_WRONLY, 0o666)  # the umask applies, as for open
    except OSError:  # e.g. EOPNOTSUPP, or EISDIR from a kernel that predates O_TMPFILE
        return None


def _host_tag():
    return hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]


def _temporary_name(target):
    return f"{target}.{_host_tag()}-{os.getpid()}-{secrets.token_hex(4)}.tmp"


def _remove_stale_temporaries(target):
    """Remove the temporary files that saves to ``target`` from processes of this host
    that no longer run left behind (a process killed while saving)."""
    if os.name != "posix":  # only POSIX can ask whether a process runs without harm
        return
    folder, base = os.path.split(os.path.abspath(target))
    pattern = re.compile(re.escape(base) + r"\.([0-9a-f]{8})-([0-9]+)-[0-9a-f]{8}\.tmp")
    host = _host_tag()
    try:
        names = [e.name for e in os.scandir(folder) if e.name.startswith(base + ".")]
    except OSError:
        return
    for name in names:
        match = pattern.fullmatch(name)
        if match is None or match[1] != host or _process_runs(int(match[2])):
            continue
        with contextlib.suppress(OSError):
            os.remove(os.path.join(folder, name))


def _process_runs(pid):
    if pid == os.getpid() or pid <= 0:
        return True  # this process's own saves may be running in other threads
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True  # another user's process, or not a pid: leave it
    return True
