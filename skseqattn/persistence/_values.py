"""Rebuilding values and estimators from manifest nodes, each typed by the estimator's own
_parameter_constraints before anything is built from it."""

from __future__ import annotations

import math

import numpy as np
import torch

from ._archive import _Members
from ._format import (
    _ARRAYS_BLOB,
    _CLASSIFIER_RUNTIME,
    _DROPPED,
    _FITTED_NAME,
    _MAX_DEPTH,
    _MAX_JSON_ARRAY_BYTES,
    _MAX_NDIM,
    _NUMPY_TO_ST,
    DEFAULT_MAX_BYTES,
    FormatError,
    _CallableNeededError,
    _dtype,
    _expect,
    _is_int,
    _known_classes,
    _short,
    _torch_optimizers,
)
from ._restore import (
    _check_classifier_values,
    _check_integer_dtype,
    _check_vectorizer,
    _check_work,
    restore_classifier,
)


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
        _check_param_nodes(cls, params, where)
        values = {k: self.value(v, f"{where}.{k}") for k, v in params.items()}
        # Parameters added after a file was written: the estimator's one table of them
        # (shared with its pickles) gives the value that behaves as the writer's version did.
        if hasattr(cls, "_fill_added_params"):
            values = cls._fill_added_params(values)
        for key, value in values.items():
            if (name, key) in _DROPPED and value is not None:
                raise FormatError(f"{where}: {name}.{key} must be None in a saved file.")
        est = cls(**values)
        if hasattr(est, "_validate_params"):
            try:
                est._validate_params()
            except (TypeError, ValueError) as exc:
                raise FormatError(f"{where}: invalid parameters: {exc}") from exc
        _check_work(est, name, where, self.max_bytes)
        if name == "CharSequenceVectorizer":
            _check_integer_dtype(est, where)
        if name == "BiLSTMAttentionClassifier":
            _check_classifier_values(est, where)
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
            _check_data_node(node, f"{where}.{key}")
            values[key] = self.value(node, f"{where}.{key}")
            _check_finite(values[key], f"{where}.{key}")
        if name == "BiLSTMAttentionClassifier":
            restore_classifier(self, est, values, body, where)
            return est
        for key, value in values.items():
            setattr(est, key, value)
        if name == "CharSequenceVectorizer":
            _check_vectorizer(est, where, self.max_bytes)
        return est


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


# Tags whose value is a class or a function. scikit-learn's "callable" and ``type``
# constraints accept any of them (torch.optim.Adam is callable, np.int64 is a type), so a
# tagged value must also be of the kind the parameter's constraints name, and such values
# never sit inside other values. Estimators sit only in a Pipeline's steps.
_CODE_TAGS = {
    "__optimizer__": "a torch.optim class",
    "__callable__": "a named callable",
    "__dtype_type__": "a numpy scalar type",
    "__estimator__": "an estimator",
}


def _tag(node):
    """The tag of a tagged manifest node, or None."""
    if isinstance(node, dict) and len(node) == 1:
        (tag,) = node
        return tag if isinstance(tag, str) else None
    return None


def _tag_fits(tag, constraints):
    """Whether a parameter with ``constraints`` (from ``_parameter_constraints``) may hold
    the value of a node tagged ``tag``."""
    if constraints == "no_validation":  # the estimator checks the value itself
        return tag == "__dtype_type__"
    if not isinstance(constraints, list):
        return False
    takes_class = any(c is type for c in constraints)
    takes_function = any(
        c is callable or (isinstance(c, str) and c == "callable") for c in constraints
    )
    if tag == "__optimizer__":
        return takes_class
    if tag == "__callable__":
        return takes_class or takes_function
    return False  # a numpy type where no_validation is not said, an estimator


def _check_data_node(node, where):
    """Refuse classes, functions and estimators anywhere inside ``node``."""
    stack = [(node, where)]
    while stack:
        node, at = stack.pop()
        if isinstance(node, list):
            stack.extend((v, f"{at}[{i}]") for i, v in enumerate(node))
        elif isinstance(node, dict):
            tag = _tag(node)
            if tag in _CODE_TAGS:
                raise FormatError(
                    f"{at}: the file puts {_CODE_TAGS[tag]} ({_short(node[tag])}) where only "
                    "plain values (numbers, strings, arrays, containers of them) belong."
                )
            stack.extend((v, f"{at}.{k}") for k, v in node.items())


def _check_param_nodes(cls, params, where):
    """Type every parameter node against the estimator's own ``_parameter_constraints``
    before anything is built from it: a tagged class or function only where the
    constraints ask for one, and nothing of the kind inside other values.
    ``_validate_params`` then checks the rebuilt values themselves."""
    constraints = getattr(cls, "_parameter_constraints", {})
    name = cls.__name__
    for key, node in params.items():
        at = f"{where}.{key}"
        if name == "Pipeline" and key == "steps":
            _check_steps_node(node, at)
            continue
        tag = _tag(node)
        if tag in _CODE_TAGS:
            allowed = constraints.get(key)
            if not _tag_fits(tag, allowed):
                raise FormatError(
                    f"{at}: {name}.{key} does not take {_CODE_TAGS[tag]}, but the file sets it "
                    f"to {_short(node)}; {name} accepts {_describe(allowed)}."
                )
            continue
        _check_data_node(node, at)


def _check_steps_node(node, where):
    """A Pipeline's steps: a list of (name, step) pairs, where a step is an estimator (its
    node is checked when it is built) or a plain value (that _validate_steps judges)."""
    if not isinstance(node, list):
        raise FormatError(f"{where}: expected a list of (name, estimator) pairs.")
    for i, step in enumerate(node):
        body = step.get("__tuple__") if _tag(step) == "__tuple__" else None
        if not (isinstance(body, list) and len(body) == 2 and isinstance(body[0], str)):
            raise FormatError(f"{where}[{i}]: expected a (name, estimator) pair.")
        if _tag(body[1]) != "__estimator__":
            _check_data_node(body[1], f"{where}[{i}]")


def _describe(constraints):
    if not isinstance(constraints, list):
        return "no such value"
    return " or ".join(
        "a callable" if c is callable else getattr(c, "__name__", None) or str(c)
        for c in constraints
    )


def _check_finite(value, where):
    """Refuse NaN and infinities anywhere in a fitted attribute: fit sets none."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, (list, tuple, set, frozenset)):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, np.ndarray):
            if item.dtype.kind == "f":
                finite = bool(np.isfinite(item).all())
            elif item.dtype.kind == "O":
                stack.extend(item.ravel().tolist())
                continue
            else:
                continue
            if not finite:
                raise FormatError(
                    f"{where}: holds NaN or infinity; a fitted estimator holds finite numbers only."
                )
        elif isinstance(item, (float, np.floating)) and not math.isfinite(item):
            raise FormatError(
                f"{where}: holds {item!r}; a fitted estimator holds finite numbers only."
            )
