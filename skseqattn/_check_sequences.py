"""Turn what a user passes to the classifier into :class:`RaggedSequences`, or say why not.

Accepted inputs (see :class:`~skseqattn.BiLSTMAttentionClassifier`):

- a 2-D integer array of token ids, 0 = padding, padded on either side;
- a 3-D float array (n_samples, T, n_features) whose padded steps are all NaN;
- a 2-D float array, read as univariate sequences (NaN marks padded steps);
- a list of arrays of different lengths: 1-D integer ids, 1-D floats or 2-D (T_i, n_features).

A list that forms a rectangular array is read as that array.
"""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.utils import check_array

from ._sequences import RaggedSequences

__all__ = ["check_sequences", "is_ragged_list", "resolve_input_type"]


def is_ragged_list(X) -> bool:
    """True for a list of sequences that does not form a rectangular array."""
    if isinstance(X, np.ndarray) or not isinstance(X, (list, tuple)) or len(X) == 0:
        return False
    if any(isinstance(x, np.ndarray) for x in X):
        shapes = {np.shape(x) for x in X}
        return len(shapes) > 1
    try:
        np.asarray(X, dtype=float)
    except (ValueError, TypeError):
        return all(isinstance(x, (list, tuple, np.ndarray)) for x in X)
    return False


def _dtype_kind(X) -> str:
    """'tokens' for integer data, 'features' for anything else numeric."""
    if X.dtype.kind in "iu":
        return "tokens"
    return "features"


def resolve_input_type(X, input_type: str, name: str) -> str:
    """Decide between 'tokens' and 'features' for raw input ``X``."""
    if input_type != "auto":
        return input_type
    if is_ragged_list(X):
        kinds = {_dtype_kind(np.asarray(x)) for x in X if np.size(x) > 0}
        return "features" if "features" in kinds else "tokens"
    arr = X if hasattr(X, "dtype") and getattr(X, "ndim", 0) else None
    if arr is None:
        try:
            arr = np.asarray(X)
        except (ValueError, TypeError):
            return "features"
    if arr.ndim == 3:
        return "features"
    return _dtype_kind(arr) if arr.dtype.kind in "iuf" else "features"


def _strings_hint(X, name: str):
    arr = np.asarray(X, dtype=object) if not hasattr(X, "dtype") else X
    if getattr(arr, "ndim", 0) >= 1 and arr.size and isinstance(arr.flat[0], str):
        raise TypeError(
            f"{name} expected token ids or real-valued sequences, got strings; turn text into "
            "ids first, e.g. make_pipeline(CharSequenceVectorizer(), "
            f"{name}())."
        )


def _check_token_values(values: np.ndarray, rows_of, name: str) -> np.ndarray:
    """Check ids are finite, integral and non-negative; return them as int64."""
    if values.dtype.kind == "f":
        bad = ~np.isfinite(values)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"{name} got NaN or infinity inside token input (row {rows_of(i)}); token ids "
                "must be integers with 0 for padding. Pass input_type='features' if these are "
                "real-valued sequences."
            )
        if (values != np.round(values)).any():
            raise ValueError(
                f"{name} got non-integer values with input_type='tokens'; token ids must be "
                "integers. Pass input_type='features' for real-valued sequences."
            )
    if values.size and values.min() < 0:
        i = int(np.flatnonzero(values < 0)[0])
        raise ValueError(
            f"{name} got a negative token id ({values.flat[i]:g}) in row {rows_of(i)}; ids "
            "must be >= 0, with 0 for padding and 1 for unknown tokens."
        )
    return values.astype(np.int64, copy=False)


def _tokens_from_array(X: np.ndarray, name: str) -> RaggedSequences:
    if X.ndim != 2:
        raise ValueError(
            f"{name} expected token ids as a 2-D array (n_samples, width), got an array with "
            f"{X.ndim} dimension(s) of shape {X.shape}."
        )
    ids = _check_token_values(X, lambda i: i // max(X.shape[1], 1), name)
    return RaggedSequences.from_padded(ids, ids != 0)


def _features_from_array(X: np.ndarray, name: str) -> RaggedSequences:
    X = X.astype(np.float32, copy=False)
    if X.ndim == 2:
        X = X[:, :, None]
    if X.ndim != 3:
        raise ValueError(
            f"{name} expected real-valued sequences as a 3-D array (n_samples, T, n_features) "
            f"or a 2-D array of univariate sequences, got shape {X.shape}."
        )
    nan = np.isnan(X)
    padded = nan.all(axis=2)
    partial = nan.any(axis=2) & ~padded
    if partial.any():
        row, step = map(int, np.argwhere(partial)[0])
        raise ValueError(
            f"{name} found NaN in some but not all features of row {row}, step {step}; a "
            "padded step must be NaN in every feature, a real step in none. Impute missing "
            "values first."
        )
    if np.isinf(X).any():
        row = int(np.argwhere(np.isinf(X))[0][0])
        raise ValueError(f"{name} got infinity in row {row}; real-valued input must be finite.")
    return RaggedSequences.from_padded(X, ~padded)


def _ragged(X, input_type: str, name: str) -> RaggedSequences:
    rows = []
    n_features = None
    for i, x in enumerate(X):
        arr = np.asarray(x)
        if arr.dtype.kind not in "iufb":
            try:
                arr = arr.astype(np.float64)
            except (ValueError, TypeError) as exc:
                raise TypeError(
                    f"{name} expected numeric sequences; row {i} has dtype {arr.dtype}."
                ) from exc
        if input_type == "tokens":
            if arr.ndim != 1:
                raise ValueError(
                    f"{name} expected each token sequence to be 1-D; row {i} has shape {arr.shape}."
                )
            ids = _check_token_values(arr, lambda _, row=i: row, name)
            rows.append(ids[ids != 0])
        else:
            if arr.ndim == 1:
                arr = arr[:, None]
            if arr.ndim != 2:
                raise ValueError(
                    f"{name} expected each real-valued sequence to be 1-D (T,) or 2-D "
                    f"(T, n_features); row {i} has shape {arr.shape}."
                )
            if arr.shape[0] and n_features is not None and arr.shape[1] != n_features:
                raise ValueError(
                    f"{name} expected every sequence to have {n_features} features; row {i} "
                    f"has {arr.shape[1]}."
                )
            if arr.shape[0]:
                n_features = arr.shape[1]
            seq = _features_from_array(arr[None].astype(np.float32), name)
            rows.append(seq.values)
    if input_type == "tokens":
        return RaggedSequences.from_list(rows)
    n_features = n_features or 1
    rows = [r.reshape(-1, n_features) for r in rows]
    return RaggedSequences.from_list(rows)


def check_sequences(X, *, input_type: str, name: str) -> RaggedSequences:
    """Validate raw input and return it as :class:`RaggedSequences`.

    Parameters
    ----------
    X : array-like or list of array-like
        See the module docstring for the accepted forms.
    input_type : {'tokens', 'features'}
        Already resolved (see :func:`resolve_input_type`).
    name : str
        The estimator's class name, for error messages.
    """
    if isinstance(X, (str, bytes)) or X is None or isinstance(X, numbers.Number):
        raise TypeError(f"{name} expected a collection of sequences, got {type(X).__name__}.")
    if is_ragged_list(X):
        if len(X) == 0:
            raise ValueError(f"{name} got an empty collection of sequences.")
        return _ragged(X, input_type, name)
    _strings_hint(X, name)
    dtype = "numeric" if input_type == "tokens" else np.float32
    X = check_array(
        X,
        dtype=dtype,
        allow_nd=True,
        ensure_all_finite=False,
        ensure_min_samples=1,
        ensure_min_features=1,
        input_name="X",
    )
    if input_type == "tokens":
        return _tokens_from_array(X, name)
    return _features_from_array(X, name)
