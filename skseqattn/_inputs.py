"""The two kinds of input the classifier reads, each as one object that knows its rules.

:class:`BiLSTMAttentionClassifier` picks the kind once in ``fit`` (:func:`input_kind_for`)
and keeps the fitted :class:`TokenInput` or :class:`FeatureInput`; everything downstream
asks that object instead of comparing ``input_type`` strings (this is the only module that
does). A kind object:

- checks raw ``X`` and turns it into :class:`~skseqattn._sequences.RaggedSequences`
  (:meth:`~InputKind.check`), dropping padding on the way in;
- learns what it needs from the training data (:meth:`~InputKind.fitted`): the number of
  ids for tokens, the standardisation for features;
- encodes sequences for the module (:meth:`~InputKind.encode`, a new object): unknown ids become
  :data:`~skseqattn.UNK_ID`, features are standardised;
- describes itself: the module's input size, the fitted attributes persistence stores, and
  the arguments of the ONNX export wrapper.

Accepted forms of ``X``:

- a 2-D integer array of token ids, 0 = padding, padded on either side;
- a 3-D float array (n_samples, T, n_features) whose padded steps are all NaN;
- a 2-D float array, read as univariate sequences (NaN marks padded steps);
- a list of arrays of different lengths: 1-D integer ids, 1-D floats or 2-D (T_i, n_features).

A list that forms a rectangular array is read as that array.
"""

from __future__ import annotations

import numbers
from dataclasses import replace

import numpy as np

from ._ids import UNK_ID
from ._sequences import RaggedSequences

__all__ = ["FeatureInput", "InputKind", "TokenInput", "input_kind_for", "is_ragged_list"]


def is_ragged_list(X) -> bool:
    """True for a list of sequences that does not form a rectangular array."""
    if isinstance(X, np.ndarray) or not isinstance(X, list | tuple) or len(X) == 0:
        return False
    if any(isinstance(x, np.ndarray) for x in X):
        shapes = {np.shape(x) for x in X}
        return len(shapes) > 1
    try:
        np.asarray(X, dtype=float)
    except (ValueError, TypeError):
        return all(isinstance(x, list | tuple | np.ndarray) for x in X)
    return False


def _kind_of_dtype(dtype) -> type[InputKind]:
    return TokenInput if dtype.kind in "iu" else FeatureInput


def input_kind_for(X, input_type: str) -> type[InputKind]:
    """The kind class for raw ``X`` and the ``input_type`` parameter ('auto' reads dtypes)."""
    if input_type != "auto":
        return _KINDS[input_type]
    if is_ragged_list(X):
        kinds = {_kind_of_dtype(np.asarray(x).dtype) for x in X if np.size(x) > 0}
        return FeatureInput if FeatureInput in kinds else TokenInput
    arr = X if hasattr(X, "dtype") and getattr(X, "ndim", 0) else None
    if arr is None:
        try:
            arr = np.asarray(X)
        except (ValueError, TypeError):
            return FeatureInput
    if arr.ndim == 3 or arr.dtype.kind not in "iuf":
        return FeatureInput
    return _kind_of_dtype(arr.dtype)


def _as_numeric_rows(X, name):
    """Each row of a ragged list as a numeric array."""
    for i, x in enumerate(X):
        arr = np.asarray(x)
        if arr.dtype.kind not in "iufb":
            try:
                arr = arr.astype(np.float64)
            except (ValueError, TypeError) as exc:
                raise TypeError(
                    f"{name} expected numeric sequences; row {i} has dtype {arr.dtype}."
                ) from exc
        yield i, arr


def _strings_hint(X, name: str):
    arr = np.asarray(X, dtype=object) if not hasattr(X, "dtype") else X
    if getattr(arr, "ndim", 0) >= 1 and arr.size and isinstance(arr.flat[0], str):
        raise TypeError(
            f"{name} expected token ids or real-valued sequences, got strings; turn text into "
            "ids first, e.g. make_pipeline(CharSequenceVectorizer(), "
            f"{name}())."
        )


class InputKind:
    """What one kind of input is; subclasses fill in the rules.

    An unfitted kind (made with no arguments) only checks input; :meth:`fitted` returns one
    that also encodes it.
    """

    name: str = ""
    """The value of ``input_type`` and of the fitted ``input_type_``."""

    def check(self, X, name: str) -> RaggedSequences:
        """Validate raw ``X`` and return its real steps as :class:`RaggedSequences`.

        Parameters
        ----------
        X : array-like or list of array-like
            See the module docstring for the accepted forms.
        name : str
            The estimator's class name, for error messages.
        """
        if isinstance(X, str | bytes) or X is None or isinstance(X, numbers.Number):
            raise TypeError(f"{name} expected a collection of sequences, got {type(X).__name__}.")
        if is_ragged_list(X):
            return self._from_rows(X, name)
        _strings_hint(X, name)
        from sklearn.utils import check_array

        X = check_array(
            X,
            dtype=self._check_dtype,
            allow_nd=True,
            ensure_all_finite=False,
            ensure_min_samples=1,
            ensure_min_features=1,
            input_name="X",
        )
        return self._from_array(X, name)

    def __eq__(self, other):
        return type(self) is type(other) and _same_state(vars(self), vars(other))

    __hash__ = None


class TokenInput(InputKind):
    """Token ids: integers, 0 for padding, ids at or above ``n_ids`` read as unknown."""

    name = "tokens"
    _check_dtype = "numeric"

    def __init__(self, n_ids: int | None = None):
        self.n_ids = n_ids

    def _from_array(self, X, name):
        if X.ndim != 2:
            raise ValueError(
                f"{name} expected token ids as a 2-D array (n_samples, width), got an array "
                f"with {X.ndim} dimension(s) of shape {X.shape}."
            )
        ids = _check_ids(X, lambda i: i // max(X.shape[1], 1), name)
        return RaggedSequences.from_padded(ids, ids != 0)

    def _from_rows(self, X, name):
        rows = []
        for i, arr in _as_numeric_rows(X, name):
            if arr.ndim != 1:
                raise ValueError(
                    f"{name} expected each token sequence to be 1-D; row {i} has shape {arr.shape}."
                )
            ids = _check_ids(arr, lambda _, row=i: row, name)
            rows.append(ids[ids != 0])
        return RaggedSequences.from_list(rows)

    def fitted(self, seqs, *, name, embedding_weights=None, previous=None) -> TokenInput:
        """The kind fitted on training sequences: the embedding's number of ids."""
        if previous is not None:  # warm start: the embedding keeps its size
            return previous
        seen = int(seqs.values.max()) + 1 if seqs.values.size else 2
        if embedding_weights is not None:
            shape = np.shape(embedding_weights)
            if len(shape) != 2 or shape[0] < 2 or shape[1] < 1:
                raise ValueError(
                    f"{name} expected embedding_weights of shape (n_ids, embedding_dim) "
                    f"with n_ids >= 2 (row 0 padding, row 1 unknown), got shape {shape}."
                )
            n_ids = shape[0]
            if seen > n_ids:
                raise ValueError(
                    f"{name} got token id {seen - 1} but embedding_weights has only "
                    f"{n_ids} rows; it needs at least {seen}: one row per id, row 0 for "
                    "padding, row 1 for unknown tokens and rows 2.. for the vocabulary "
                    "(a CharSequenceVectorizer's vocab_size_ rows). Build it with "
                    "CharSequenceVectorizer.embedding_matrix(vectors)."
                )
            return TokenInput(n_ids)
        return TokenInput(max(seen, 2))

    def check_fitted(self, seqs, name):
        """Nothing to check: any width and any id are accepted after fitting."""

    def encode(self, seqs: RaggedSequences) -> RaggedSequences:
        """The sequences with ids the embedding has no row for read as the unknown id."""
        values = seqs.values
        if values.size and values.max() >= self.n_ids:
            return replace(seqs, values=np.where(values >= self.n_ids, UNK_ID, values))
        return seqs

    def unknown_steps(self, ids: np.ndarray) -> np.ndarray:
        """True for ids the model reads as unknown."""
        return (ids == UNK_ID) | (ids >= self.n_ids)

    def module_args(self) -> dict:
        return {"vocab_size": self.n_ids, "n_features": None}

    def fitted_attributes(self) -> dict:
        return {"n_ids_": self.n_ids}

    @classmethod
    def from_fitted(cls, fitted) -> TokenInput:
        """The kind described by fitted attributes (a mapping, as :meth:`fitted_attributes`)."""
        return cls(fitted["n_ids_"])

    def export_args(self) -> dict:
        """Keyword arguments of :class:`~skseqattn.nn.ExportableSequenceModule`."""
        return {"n_ids": self.n_ids}

    def example_input(self):
        """A small batch to trace the exported graph with, and its input name."""
        return np.array([[2, 3, 0], [0, 0, 2]], dtype=np.int64), "ids"

    @staticmethod
    def check_saved(fitted) -> str | None:
        """What is wrong with stored fitted attributes (a mapping), or None."""
        n_ids = fitted.get("n_ids_")
        if not isinstance(n_ids, numbers.Integral) or isinstance(n_ids, bool) or n_ids < 2:
            return f"n_ids_ must be an int >= 2, got {n_ids!r}"
        return None


class FeatureInput(InputKind):
    """Real-valued sequences: NaN marks padded steps; standardised with the training data."""

    name = "features"
    _check_dtype = np.float32

    def __init__(self, mean: np.ndarray | None = None, scale: np.ndarray | None = None):
        self.mean = mean
        self.scale = scale

    def _from_array(self, X, name):
        X = X.astype(np.float32, copy=False)
        if X.ndim == 2:
            X = X[:, :, None]
        if X.ndim != 3:
            raise ValueError(
                f"{name} expected real-valued sequences as a 3-D array (n_samples, T, "
                f"n_features) or a 2-D array of univariate sequences, got shape {X.shape}."
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

    def _from_rows(self, X, name):
        rows = []
        n_features = None
        for i, arr in _as_numeric_rows(X, name):
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
            rows.append(self._from_array(arr[None].astype(np.float32), name).values)
        n_features = n_features or 1
        return RaggedSequences.from_list([r.reshape(-1, n_features) for r in rows])

    def fitted(self, seqs, *, name, embedding_weights=None, previous=None) -> FeatureInput:
        """The kind fitted on training sequences: mean and scale over their real steps."""
        if previous is not None:  # warm start: keep the first fit's standardisation
            return previous
        values = seqs.values.astype(np.float64)
        mean = values.mean(axis=0) if len(values) else np.zeros(values.shape[1])
        scale = values.std(axis=0) if len(values) else np.ones(values.shape[1])
        return FeatureInput(mean, np.where(scale > 1e-12, scale, 1.0))

    def check_fitted(self, seqs, name):
        """The number of features per step must be the one seen in fit."""
        got, expected = seqs.values.shape[1], self.mean.shape[0]
        if got != expected:
            raise ValueError(
                f"X has {got} features per step, but {name} is expecting {expected} features "
                "per step as input."
            )

    def encode(self, seqs: RaggedSequences) -> RaggedSequences:
        """The sequences with their real steps standardised."""
        return replace(seqs, values=((seqs.values - self.mean) / self.scale).astype(np.float32))

    def unknown_steps(self, values: np.ndarray) -> np.ndarray:
        return np.zeros(len(values), dtype=bool)

    def module_args(self) -> dict:
        return {"vocab_size": None, "n_features": int(self.mean.shape[0])}

    def fitted_attributes(self) -> dict:
        return {"feature_mean_": self.mean, "feature_scale_": self.scale}

    @classmethod
    def from_fitted(cls, fitted) -> FeatureInput:
        return cls(fitted["feature_mean_"], fitted["feature_scale_"])

    def export_args(self) -> dict:
        return {
            "feature_mean": np.asarray(self.mean, dtype=np.float64),
            "feature_scale": np.asarray(self.scale, dtype=np.float64),
        }

    def example_input(self):
        example = np.zeros((2, 3, len(self.mean)), dtype=np.float32)
        example[1, 0] = np.nan
        return example, "features"

    @staticmethod
    def check_saved(fitted) -> str | None:
        mean = fitted.get("feature_mean_")
        scale = fitted.get("feature_scale_")
        ok = all(
            isinstance(a, np.ndarray) and a.ndim == 1 and a.dtype.kind == "f" for a in (mean, scale)
        )
        if not ok or mean.shape != scale.shape or not len(mean):
            return "feature_mean_ and feature_scale_ must be 1-D float arrays of one length"
        return None


_KINDS = {kind.name: kind for kind in (TokenInput, FeatureInput)}


def kind_named(name) -> type[InputKind] | None:
    """The kind class whose ``name`` is ``name`` (a fitted ``input_type_``), or None."""
    return _KINDS.get(name) if isinstance(name, str) else None


def _check_ids(values: np.ndarray, rows_of, name: str) -> np.ndarray:
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


def _same_state(a: dict, b: dict) -> bool:
    if a.keys() != b.keys():
        return False
    return all(np.array_equal(a[k], b[k]) if a[k] is not None else b[k] is None for k in a)
