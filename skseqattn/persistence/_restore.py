"""What each estimator's stored state must satisfy, and the classifier's restore: weights
checked against the shapes its parameters imply before they are read."""

from __future__ import annotations

import math
from numbers import Integral
from types import SimpleNamespace

import numpy as np
import torch

from ._format import (
    _BLOB_NAME,
    _NGRAM_DIVISOR,
    _TORCH_DTYPES,
    _WIDTH_DIVISOR,
    FormatError,
    _expect,
    _is_int,
    _short,
)


def restore_classifier(reader, est, fitted, body, where):
    """Check the stored parts, then let the classifier rebuild itself as ``fit`` does.

    The weights' safetensors header is read first and compared with the shapes the
    parameters imply (computed on torch's meta device, without memory); only then are
    the tensors read.
    """
    classes = _check_classifier(fitted, where)
    _check_work(SimpleNamespace(**fitted), type(est).__name__, where, reader.max_bytes)
    blob = body.get("module")
    if not isinstance(blob, str) or not _BLOB_NAME.match(blob) or blob not in reader.blobs:
        raise FormatError(f"{where}: the weights entry {_short(blob)} is missing.")
    header = reader.blobs.header(blob)
    _check_architecture(est, fitted, len(classes), header, blob, where)
    history = _expect(body.get("history", []), list, f"{where}.history")
    history = [_expect(reader.value(e, f"{where}.history"), dict, where) for e in history]
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
        data = reader.blobs.read(blob)
        try:
            state = reader.safetensors.torch.load(data)
        except Exception as exc:  # the parser's own error types vary
            raise FormatError(f"{blob} is not a valid safetensors file: {exc}") from exc
        for key, tensor in state.items():
            if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
                raise FormatError(
                    f"{blob}: weight {key!r} holds NaN or infinity; the network would "
                    "predict NaN. The file is damaged or was saved from a diverged fit."
                )
        return state

    est._restore(
        classes=classes,
        fitted=fitted,
        state_dict=weights,
        history=history,
        device=reader.device,
        saved=set(header),
    )


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
    from .._inputs import kind_named

    sizes = kind_named(fitted.get("input_type_")).from_fitted(fitted).module_args()
    if sizes["vocab_size"] is not None:  # token ids, through an embedding
        n_ids = sizes["vocab_size"]
        needs.append(("n_ids_", n_ids, n_ids))
        if est.embedding_weights is None:
            dim = est.embedding_dim
            needs.append(("embedding_dim", dim, dim * max(n_ids, hidden)))
        order = fitted.get("ngram_order_", est.ngram_order)  # saved before it: the param
        if order != "auto" and (not _is_int(order) or order < 0):
            raise FormatError(
                f"{where}: ngram_order_ must be an int >= 0, got {_short(order)}; the file "
                "was altered."
            )
        if order:
            rows = fitted.get("ngram_buckets_")
            if rows is None:  # saved before it: 'auto' was the legacy rule on the classes
                from .._net import ngram_buckets_for

                rows = ngram_buckets_for(est.ngram_buckets, n_classes, legacy=True)
            if not _is_int(rows) or rows < 1:
                raise FormatError(
                    f"{where}: ngram_buckets_ must be an int >= 1 with ngram_order > 0, got "
                    f"{_short(rows)}; the file was altered."
                )
            needs.append(("ngram_buckets_", rows, rows * n_classes))
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


def _check_classifier(fitted, where):
    """The checked ``classes_`` of a classifier's fitted attributes (and its input kind's)."""
    from .._inputs import kind_named

    classes = fitted.get("classes_")
    if not isinstance(classes, np.ndarray) or classes.ndim != 1 or len(classes) < 2:
        raise FormatError(f"{where}: classes_ must be a 1-D array of at least 2 labels.")
    try:
        n_distinct = len(np.unique(classes))
    except TypeError:  # an object array of labels that do not compare
        n_distinct = None
    if n_distinct != len(classes):
        raise FormatError(
            f"{where}: classes_ must hold distinct, comparable labels (as fit sets them), got "
            f"{_short(classes.tolist(), 120)}."
        )
    input_type = fitted.get("input_type_")
    kind = kind_named(input_type)
    if kind is None:
        raise FormatError(
            f"{where}: input_type_ must be 'tokens' or 'features', got {_short(input_type)}."
        )
    problem = kind.check_saved(fitted)
    if problem is not None:
        raise FormatError(f"{where}: {problem}.")
    scale = fitted.get("feature_scale_")
    if scale is not None and not bool((scale > 0).all()):
        raise FormatError(
            f"{where}: feature_scale_ must be positive (fit sets at least 1e-12), got "
            f"{_short(scale.tolist(), 120)}; inputs would be divided by it."
        )
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
    _check_work(est, "CharSequenceVectorizer", where, max_bytes)
    _check_integer_dtype(est, where)


# Parameters (and fitted attributes) that size the work of every row without sizing any
# weight, so that the weights cannot justify them: each with the divisor of max_bytes that
# bounds it and what one unit costs. Every parameter that sizes weights is bounded by the
# weights instead (_check_architecture and the shapes of module_shapes); every value is
# typed by the estimator's own _parameter_constraints (_check_param_nodes).
_NGRAM_WORK = (
    _NGRAM_DIVISOR,
    16,  # whatever max_bytes: such orders cost little
    "n-gram orders: every token of every row costs this many hashes and lookups",
)
_WORK_LIMITS = {
    "CharSequenceVectorizer": {
        "max_len": (_WIDTH_DIVISOR, 1, "columns: every row of transform is this wide"),
        "max_len_": (_WIDTH_DIVISOR, 1, "columns: every row of transform is this wide"),
    },
    "BiLSTMAttentionClassifier": {
        "ngram_order": _NGRAM_WORK,
        "ngram_order_": _NGRAM_WORK,
    },
}


def _check_work(est, name, where, max_bytes):
    """Refuse a value of ``_WORK_LIMITS`` above ``max(max_bytes // divisor, floor)``."""
    for key, (divisor, floor, unit) in _WORK_LIMITS.get(name, {}).items():
        value = getattr(est, key, None)
        limit = max(max_bytes // divisor, floor)
        if _is_int(value) and value > limit:
            raise FormatError(
                f"{where}: {name}.{key}={_short(value)} exceeds max(max_bytes // {divisor}, "
                f"{floor}) = {limit} {unit}; pass a larger max_bytes to load if you trust "
                "the file."
            )


def _check_classifier_values(est, where):
    """The checks of the classifier's values that its constraints cannot say (finite class
    weights and embedding vectors, an odd convolution, a learning rate that trains), which
    fit makes: a file must pass them too."""
    from .._classifier import _check_parameter_values

    try:
        _check_parameter_values(est, type(est).__name__)
    except (TypeError, ValueError) as exc:
        raise FormatError(f"{where}: {exc}") from None


def _check_integer_dtype(est, where):
    """The vectorizer's ``dtype`` is 'no_validation' in its constraints: it checks it itself."""
    from .._vectorizer import _resolve_dtype

    try:
        _resolve_dtype(est.dtype, getattr(est, "vocab_size_", None))
    except (TypeError, ValueError) as exc:
        raise FormatError(f"{where}: {exc}") from None
