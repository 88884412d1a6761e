"""The two kinds of input the classifier reads, each as one object that knows its rules.

:class:`BiLSTMAttentionClassifier` picks the kind once in ``fit`` (:func:`input_kind_for`)
and keeps the fitted :class:`TokenInput` or :class:`FeatureInput`; everything downstream
asks that object instead of comparing ``input_type`` strings (this is the only module that
does). A kind object:

- checks raw ``X`` and turns it into :class:`~skseqattn._sequences.RaggedSequences`
  (:meth:`~InputKind.check`), dropping padding on the way in;
- learns what it needs from the training data (:meth:`~InputKind.fitted`): the number of
  ids for tokens, the normalisation for features;
- encodes sequences for the module (:meth:`~InputKind.encode`, a new object): ids above those
  seen in fit become the unknown id (see :class:`TokenInput`), features are normalised (each
  series on its own first, with ``normalization='series'``, then standardised);
- describes itself: the module's input size, the fitted attributes persistence stores, and
  the arguments of the ONNX export wrapper.

Accepted forms of ``X``:

- a 2-D integer array of token ids, 0 = padding, padded on either side;
- a 3-D float array (n_samples, T, n_features) whose padded steps are all NaN;
- a 2-D float array, read as univariate sequences (NaN marks padded steps);
- a list of arrays of different lengths: 1-D integer ids, 1-D floats or 2-D (T_i, n_features).

A list that forms a rectangular array is read as that array; a list of empty sequences is
ragged (every sequence empty). :func:`as_sequences` turns the containers users have into
these forms first: tuples, pandas Series and one-column DataFrames of sequences, numpy
object arrays of sequences and torch tensors; scipy sparse matrices are refused with a
TypeError that says how to densify them.
"""

from __future__ import annotations

import numbers
from abc import ABC, abstractmethod
from dataclasses import replace

import numpy as np

from ._ids import UNK_ID
from ._sequences import RaggedSequences

__all__ = [
    "FeatureInput",
    "InputKind",
    "NORMALIZATIONS",
    "TokenInput",
    "as_sequences",
    "input_kind_for",
    "is_ragged_list",
    "series_share_one_scale",
    "standardize_each_series",
    "unwrap_container",
]

_INT64_MAX = np.iinfo(np.int64).max

NORMALIZATIONS = ("global", "series")
"""What a fitted :class:`FeatureInput` does before the module (``normalization_``):
``'global'`` standardises each channel with the training steps' mean and std; ``'series'``
first z-normalises each channel of each series over its own real steps."""

SERIES_STD_FLOOR = 1e-12
"""A channel of a series whose std over its real steps is at most this is only centred
(std read as 1): a constant channel, or a series of one step, becomes zeros."""


def _is_sparse(X) -> bool:
    return type(X).__module__.startswith("scipy.sparse")


def _is_tensor(x) -> bool:
    return type(x).__module__.split(".")[0] == "torch" and hasattr(x, "detach")


def _tensor_to_numpy(t) -> np.ndarray:
    t = t.detach().cpu()
    if t.is_floating_point() and t.element_size() < 4:  # float16 / bfloat16
        t = t.float()
    return t.numpy()


def _holds_sequences(items) -> bool:
    return any(isinstance(x, np.ndarray | list | tuple) or _is_tensor(x) for x in items)


def unwrap_container(X, name: str, *, text: bool = False):
    """``X`` with the containers users have turned into plain ones (numpy arrays, lists).

    A torch tensor becomes a numpy array, a one-column DataFrame of strings or sequences
    its column, a pandas Series a numpy array; anything else is returned as it is.

    Parameters
    ----------
    X : object
        What the user passed.
    name : str
        The estimator's class name, for error messages.
    text : bool, default=False
        ``X`` should hold strings (the vectorizer): only the fix in the sparse message and
        the unwrapping of one-column DataFrames differ.

    Raises
    ------
    TypeError
        For a scipy sparse matrix: sequences are read densely.
    """
    if _is_sparse(X):
        fix = (
            "pass the strings themselves, e.g. a list of str"
            if text
            else "densify it with X.toarray() if it holds token ids, or turn text into ids "
            "with CharSequenceVectorizer"
        )
        raise TypeError(
            f"{name} got a scipy sparse matrix ({type(X).__name__} of shape {X.shape}), but "
            f"sequences are read densely; {fix}."
        )
    if _is_tensor(X):
        return _tensor_to_numpy(X)
    if hasattr(X, "columns") and getattr(X, "ndim", 0) == 2 and X.shape[1] == 1:
        column = X.iloc[:, 0]
        if text or (column.dtype == object and _holds_sequences(column)):
            X = column
    if hasattr(X, "to_numpy") and getattr(X, "ndim", 0) == 1 and not isinstance(X, np.ndarray):
        X = X.to_numpy()  # a pandas Series (of numbers, strings or arrays)
    return X


def _reject_none(rows: list, name: str) -> None:
    """A TypeError naming the first None in a list of sequences (numpy would make it NaN)."""
    for i, row in enumerate(rows):
        if row is None:
            raise TypeError(
                f"{name} got a missing value (None) at position {i} instead of a sequence; "
                "drop that sample or pass an empty sequence, e.g. []."
            )
        if isinstance(row, list | tuple) and any(v is None for v in row):
            j = next(j for j, v in enumerate(row) if v is None)
            raise TypeError(
                f"{name} got None in row {i}, position {j}; sequences hold numbers: mark "
                "padding with 0 (token ids) or NaN (real values), or impute missing values "
                "first."
            )


def as_sequences(X, name: str):
    """Raw ``X`` in one of the forms of the module docstring, or a clear error.

    Parameters
    ----------
    X : object
        What the user passed as ``X``.
    name : str
        The estimator's class name, for error messages.

    Returns
    -------
    X : ndarray, DataFrame or list
        A numpy array or DataFrame (a rectangular table) or a list of sequences, each a
        numpy array or a list.

    Raises
    ------
    TypeError
        For a single value, a sparse matrix and strings (which need a vectorizer first).
    ValueError
        For an empty collection.
    """
    if isinstance(X, str | bytes) or X is None or isinstance(X, numbers.Number):
        raise TypeError(f"{name} expected a collection of sequences, got {type(X).__name__}.")
    X = unwrap_container(X, name)
    if isinstance(X, np.ndarray) and X.dtype == object and X.ndim == 1 and _holds_sequences(X):
        X = list(X)
    elif isinstance(X, tuple):
        X = list(X)
    if isinstance(X, list):
        if not X:
            raise ValueError(f"{name} got an empty list (0 sequences); pass at least one sequence.")
        if any(_is_tensor(x) for x in X):
            X = [_tensor_to_numpy(x) if _is_tensor(x) else x for x in X]
        _reject_none(X, name)
    if getattr(X, "ndim", None) is not None and len(getattr(X, "shape", (1,))) and not len(X):
        raise ValueError(
            f"{name} got an empty array of shape {X.shape} (0 sequences); pass at least one "
            "sequence."
        )
    _strings_hint(X, name)
    return X


def is_ragged_list(X) -> bool:
    """True for a list of sequences that does not form a rectangular array."""
    if isinstance(X, np.ndarray) or not isinstance(X, list | tuple) or len(X) == 0:
        return False
    if any(isinstance(x, np.ndarray) for x in X):
        shapes = {np.shape(x) for x in X}
        return len(shapes) > 1 or np.size(X[0]) == 0  # or every sequence empty
    try:
        arr = np.asarray(X, dtype=float)
    except (ValueError, TypeError):
        return all(isinstance(x, list | tuple | np.ndarray) for x in X)
    return arr.ndim == 2 and arr.shape[1] == 0  # every sequence empty


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
        if x is None or (isinstance(x, float) and x != x):
            raise TypeError(
                f"{name} got a missing value ({x!r}) at position {i} instead of a sequence; "
                "drop that sample or pass an empty sequence, e.g. []."
            )
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
    if isinstance(X, list):
        text = any(isinstance(x, str) for x in X)
    else:
        arr = np.asarray(X) if not hasattr(X, "dtype") else X
        dtypes = getattr(arr, "dtypes", None)  # a DataFrame: its columns' dtypes
        kinds = {d.kind for d in dtypes} if dtypes is not None else {arr.dtype.kind}
        text = bool(kinds & set("US"))
        if not text and "O" in kinds and getattr(arr, "size", 0):
            values = arr.to_numpy() if dtypes is not None else arr
            text = any(isinstance(x, str | bytes) for x in values.flat)
    if text:
        raise TypeError(
            f"{name} expected token ids or real-valued sequences, got strings; turn text into "
            "ids first, e.g. make_pipeline(CharSequenceVectorizer(), "
            f"{name}())."
        )


class InputKind(ABC):
    """What one kind of input is; subclasses fill in the rules.

    An unfitted kind (made with no arguments) only checks input; :meth:`fitted` returns one
    that also encodes it. The abstract methods below are what a kind must provide; a
    subclass that leaves one out cannot be instantiated (``TypeError`` naming it).
    """

    name: str = ""
    """The value of ``input_type`` and of the fitted ``input_type_``."""

    _check_dtype = None
    """The ``dtype`` that :meth:`check` asks ``check_array`` for on array input."""

    @abstractmethod
    def _from_array(self, X, name: str) -> RaggedSequences:
        """The real steps of an array ``X`` already passed through ``check_array``."""

    @abstractmethod
    def _from_rows(self, X, name: str) -> RaggedSequences:
        """The real steps of a ragged list ``X`` (one array-like per sequence)."""

    @abstractmethod
    def fitted(
        self,
        seqs,
        *,
        name,
        embedding_weights=None,
        previous=None,
        unknown_id=None,
        normalization="global",
    ) -> InputKind:
        """The kind fitted on training ``seqs`` (``previous`` for a warm start, unchanged).

        ``embedding_weights``, ``unknown_id`` and ``normalization`` (one of
        :data:`NORMALIZATIONS`, already resolved from ``'auto'``) are the classifier's
        parameters; a kind that has no use for them ignores them.
        """

    @abstractmethod
    def check_fitted(self, seqs: RaggedSequences, name: str) -> None:
        """Raise ``ValueError`` if ``seqs`` does not fit what was seen in fit."""

    @abstractmethod
    def encode(self, seqs: RaggedSequences) -> RaggedSequences:
        """The sequences as the module reads them (a new object; ``seqs`` is unchanged)."""

    @abstractmethod
    def unknown_steps(self, values: np.ndarray) -> np.ndarray:
        """A boolean per step of ``values`` (raw, not encoded): True where the model reads
        the step as unknown."""

    @abstractmethod
    def module_args(self) -> dict:
        """The input-size arguments of ``build_module``: ``vocab_size`` and ``n_features``."""

    @abstractmethod
    def fitted_attributes(self) -> dict:
        """The estimator's public fitted attributes that describe this kind, by name."""

    @classmethod
    @abstractmethod
    def from_fitted(cls, fitted) -> InputKind:
        """The kind described by fitted attributes (a mapping, as :meth:`fitted_attributes`)."""

    @abstractmethod
    def export_args(self) -> dict:
        """Keyword arguments of :class:`~skseqattn.nn.ExportableSequenceModule`."""

    @abstractmethod
    def example_input(self) -> tuple[np.ndarray, str]:
        """A small batch to trace the exported graph with, and its input name."""

    @staticmethod
    @abstractmethod
    def check_saved(fitted) -> str | None:
        """What is wrong with stored fitted attributes (a mapping), or None."""

    def check(self, X, name: str) -> RaggedSequences:
        """Validate raw ``X`` and return its real steps as :class:`RaggedSequences`.

        Parameters
        ----------
        X : array-like or list of array-like
            See the module docstring for the accepted forms.
        name : str
            The estimator's class name, for error messages.
        """
        X = as_sequences(X, name)
        if is_ragged_list(X):
            return self._from_rows(X, name)
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
    """Token ids: integers, 0 for padding, ids at or above ``n_ids`` read as ``unknown_id``.

    Only 0 is reserved. Which id stands for "unknown" follows the classifier's
    ``unknown_id`` parameter (:meth:`fitted`): None gives the embedding one row more than
    the largest id seen in fit, ``n_ids - 1``, that later unseen ids share; an int (1 for
    a :class:`~skseqattn.CharSequenceVectorizer` vocabulary) reads unseen ids as that id.
    """

    name = "tokens"
    _check_dtype = "numeric"
    unknown_id: int = UNK_ID
    """Id that ids at or above ``n_ids`` are read as (1 in objects from before the rule)."""

    def __init__(self, n_ids: int | None = None, unknown_id: int | None = None):
        self.n_ids = n_ids
        if unknown_id is not None:
            self.unknown_id = unknown_id

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

    def fitted(
        self,
        seqs,
        *,
        name,
        embedding_weights=None,
        previous=None,
        unknown_id=None,
        embedding_dim=64,
        normalization="global",
    ) -> TokenInput:
        """The kind fitted on training sequences: the embedding's size and its unknown id.

        ``unknown_id`` is the classifier's parameter; ``normalization`` concerns real-valued
        input and is ignored. None: ids ``0 .. max`` seen in fit
        (or the rows of ``embedding_weights``) plus one row for unseen ids, which is
        ``n_ids - 1``. An int: unseen ids are read as that id, which gets a row too.
        """
        if previous is not None:  # warm start: the embedding keeps its size
            return previous
        seen = int(seqs.values.max()) + 1 if seqs.values.size else 1
        if embedding_weights is not None:
            shape = np.shape(embedding_weights)
            if len(shape) != 2 or shape[0] < 1 or shape[1] < 1:
                raise ValueError(
                    f"{name} expected embedding_weights of shape (n_ids, embedding_dim) "
                    f"with one row per id (row 0 padding), got shape {shape}."
                )
            rows = shape[0]
            if seen > rows:
                reserved = (
                    "row 0 for padding"
                    if unknown_id is None
                    else f"row 0 for padding, row {unknown_id} for unknown tokens"
                )
                raise ValueError(
                    f"{name} got token id {seen - 1} but embedding_weights has only "
                    f"{rows} rows; it needs at least {seen}: one row per id, {reserved}. "
                    "For a CharSequenceVectorizer that is vocab_size_ rows (0 padding, "
                    "1 unknown, 2.. the vocabulary): build it with "
                    "CharSequenceVectorizer.embedding_matrix(vectors)."
                )
            if np.asarray(embedding_weights[0]).any():
                raise ValueError(
                    f"{name} expected row 0 of embedding_weights (the padding row) to be "
                    f"zeros; a vector there usually means the rows are shifted, one row per "
                    f"vocabulary token without the padding and unknown rows ({rows} rows "
                    "given). Row i is id i: for a CharSequenceVectorizer that is vocab_size_ "
                    "rows (0 padding, 1 unknown, 2.. the vocabulary); build it with "
                    "CharSequenceVectorizer.embedding_matrix(vectors), or set row 0 to zeros."
                )
            if unknown_id is None:  # a row for unseen ids after the given ones
                return TokenInput(rows + 1, rows)
            if unknown_id >= rows:
                raise ValueError(
                    f"{name} got unknown_id={unknown_id} but embedding_weights has only "
                    f"{rows} rows; the unknown id needs a row of its own."
                )
            return TokenInput(rows, unknown_id)
        kind = (
            TokenInput(seen + 1, seen)
            if unknown_id is None
            else TokenInput(max(seen, unknown_id + 1, 2), unknown_id)
        )
        _check_embedding_rows(seqs.values, kind.n_ids, embedding_dim, name)
        return kind

    def check_fitted(self, seqs, name):
        """Nothing to check: any width and any id are accepted after fitting."""

    def encode(self, seqs: RaggedSequences) -> RaggedSequences:
        """The sequences with ids the embedding has no row for read as the unknown id."""
        values = seqs.values
        if values.size and values.max() >= self.n_ids:
            return replace(seqs, values=np.where(values >= self.n_ids, self.unknown_id, values))
        return seqs

    def unknown_steps(self, ids: np.ndarray) -> np.ndarray:
        """True for ids the model reads as unknown."""
        return (ids == self.unknown_id) | (ids >= self.n_ids)

    def module_args(self) -> dict:
        return {"vocab_size": self.n_ids, "n_features": None}

    def fitted_attributes(self) -> dict:
        return {"n_ids_": self.n_ids, "unknown_id_": self.unknown_id}

    @classmethod
    def from_fitted(cls, fitted) -> TokenInput:
        """The kind described by fitted attributes (a mapping, as :meth:`fitted_attributes`).

        Without ``unknown_id_`` (saved before it existed) unseen ids are read as 1.
        """
        return cls(fitted["n_ids_"], fitted.get("unknown_id_", UNK_ID))

    def export_args(self) -> dict:
        """Keyword arguments of :class:`~skseqattn.nn.ExportableSequenceModule`."""
        return {"n_ids": self.n_ids, "unknown_id": self.unknown_id}

    def example_input(self):
        """A small batch to trace the exported graph with, and its input name."""
        return np.array([[2, 3, 0], [0, 0, 2]], dtype=np.int64), "ids"

    @staticmethod
    def check_saved(fitted) -> str | None:
        """What is wrong with stored fitted attributes (a mapping), or None."""
        n_ids = fitted.get("n_ids_")
        if not isinstance(n_ids, numbers.Integral) or isinstance(n_ids, bool) or n_ids < 2:
            return f"n_ids_ must be an int >= 2, got {n_ids!r}"
        unknown = fitted.get("unknown_id_", UNK_ID)
        if not isinstance(unknown, numbers.Integral) or isinstance(unknown, bool):
            return f"unknown_id_ must be an int, got {unknown!r}"
        if not 1 <= unknown < n_ids:
            return f"unknown_id_ must be between 1 and n_ids_ - 1 = {n_ids - 1}, got {unknown}"
        return None


class FeatureInput(InputKind):
    """Real-valued sequences: NaN marks padded steps; standardised with the training data.

    With ``normalization='series'`` each channel of each series is first z-normalised over
    its own real steps (:func:`standardize_each_series`); ``mean`` and ``scale`` are then
    those of the normalised training steps.
    """

    name = "features"
    _check_dtype = np.float32
    normalization: str = "global"
    """One of :data:`NORMALIZATIONS` ('global' in objects from before the parameter)."""

    def __init__(
        self,
        mean: np.ndarray | None = None,
        scale: np.ndarray | None = None,
        normalization: str = "global",
    ):
        self.mean = mean
        self.scale = scale
        self.normalization = normalization

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
            raise ValueError(
                f"{name} got infinity (or a value too large for float32) in X, row {row}; "
                "real-valued input must be finite: replace or clip such values first."
            )
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

    def fitted(
        self,
        seqs,
        *,
        name,
        embedding_weights=None,
        previous=None,
        unknown_id=None,
        embedding_dim=None,
        normalization="global",
    ) -> FeatureInput:
        """The kind fitted on training sequences: mean and scale over their real steps.

        ``normalization`` is one of :data:`NORMALIZATIONS`: with ``'series'`` the mean and
        scale are those of the steps after each series' own z-normalisation.
        ``embedding_weights``, ``unknown_id`` and ``embedding_dim`` concern token input;
        they are ignored.
        """
        if previous is not None:  # warm start: keep the first fit's normalisation
            return previous
        if normalization not in NORMALIZATIONS:
            raise ValueError(
                f"{name} expected normalization among {list(NORMALIZATIONS)} here, got "
                f"{normalization!r}."
            )
        values = seqs.values.astype(np.float64)
        if normalization == "series":
            values = standardize_each_series(values, seqs.offsets)
        mean = values.mean(axis=0) if len(values) else np.zeros(values.shape[1])
        scale = values.std(axis=0) if len(values) else np.ones(values.shape[1])
        return FeatureInput(mean, np.where(scale > 1e-12, scale, 1.0), normalization)

    def check_fitted(self, seqs, name):
        """The number of features per step must be the one seen in fit."""
        got, expected = seqs.values.shape[1], self.mean.shape[0]
        if got != expected:
            raise ValueError(
                f"X has {got} features per step, but {name} is expecting {expected} features "
                "per step as input."
            )

    def encode(self, seqs: RaggedSequences) -> RaggedSequences:
        """The sequences with their real steps normalised (in float64, then float32)."""
        values = seqs.values
        if self.normalization == "series":
            values = standardize_each_series(values.astype(np.float64), seqs.offsets)
        return replace(seqs, values=((values - self.mean) / self.scale).astype(np.float32))

    def unknown_steps(self, values: np.ndarray) -> np.ndarray:
        return np.zeros(len(values), dtype=bool)

    def module_args(self) -> dict:
        return {"vocab_size": None, "n_features": int(self.mean.shape[0])}

    def fitted_attributes(self) -> dict:
        return {
            "feature_mean_": self.mean,
            "feature_scale_": self.scale,
            "normalization_": self.normalization,
        }

    @classmethod
    def from_fitted(cls, fitted) -> FeatureInput:
        """The kind described by fitted attributes (a mapping, as :meth:`fitted_attributes`).

        Without ``normalization_`` (saved before it existed) the standardisation is global.
        """
        normalization = fitted.get("normalization_", "global")
        return cls(fitted["feature_mean_"], fitted["feature_scale_"], normalization)

    def export_args(self) -> dict:
        return {
            "feature_mean": np.asarray(self.mean, dtype=np.float64),
            "feature_scale": np.asarray(self.scale, dtype=np.float64),
            "normalize_series": self.normalization == "series",
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
        normalization = fitted.get("normalization_", "global")
        if not isinstance(normalization, str) or normalization not in NORMALIZATIONS:
            return f"normalization_ must be one of {list(NORMALIZATIONS)}, got {normalization!r}"
        return None


_KINDS = {kind.name: kind for kind in (TokenInput, FeatureInput)}


def kind_named(name) -> type[InputKind] | None:
    """The kind class whose ``name`` is ``name`` (a fitted ``input_type_``), or None."""
    return _KINDS.get(name) if isinstance(name, str) else None


def _series_moments(values: np.ndarray, offsets: np.ndarray):
    """(mean, std, row) of each non-empty series' channels over its real steps: mean and
    population std of shape (non-empty rows, n_features), and for each step the index of
    its row among the non-empty ones."""
    lengths = np.diff(offsets)
    starts = offsets[:-1][lengths > 0]
    counts = lengths[lengths > 0][:, None].astype(values.dtype)
    row = np.repeat(np.arange(len(starts)), lengths[lengths > 0])
    if not len(starts):
        empty = np.zeros((0, values.shape[1]), dtype=values.dtype)
        return empty, empty, row
    # reduceat over the starts of the non-empty rows: an empty row between two owns no step
    mean = np.add.reduceat(values, starts, axis=0) / counts
    centred = values - mean[row]
    std = np.sqrt(np.add.reduceat(centred * centred, starts, axis=0) / counts)
    return mean, std, row


def standardize_each_series(values: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Each channel of each series z-normalised over its own real steps (a new array).

    ``values`` (total_steps, n_features) are the real steps of all series, row ``i`` being
    ``values[offsets[i]:offsets[i + 1]]`` (as :class:`RaggedSequences` holds them). Each
    row's channel gets mean 0 and population std 1 over its steps; a channel whose std is
    at most :data:`SERIES_STD_FLOOR` (constant, or a row of one step) is only centred, to
    zeros. Empty rows have no steps and stay empty: no NaN, whatever the input. Computed
    in the dtype of ``values`` (the estimator passes float64).
    """
    mean, std, row = _series_moments(values, offsets)
    std = np.where(std > SERIES_STD_FLOOR, std, 1.0)
    return (values - mean[row]) / std[row]


SHARED_SCALE_RTOL = 1e-4
"""Series whose channels' means and stds differ by at most this much (relative to the
channel's std over all steps) are read as already normalised alike."""


def series_share_one_scale(seqs: RaggedSequences) -> bool:
    """Whether every non-empty series has, per channel, the mean and std of the others
    (within :data:`SHARED_SCALE_RTOL`): z-normalised already, as UCR sets are. For such
    series ``normalization='series'`` gives what ``'global'`` gives (each series' own map
    is then one map for all, which the global standardisation is)."""
    values = seqs.values.astype(np.float64)
    mean, std, _ = _series_moments(values, seqs.offsets)
    if len(mean) < 2:
        return len(mean) == 1 and bool((std[0] > SERIES_STD_FLOOR).all())
    overall = np.maximum(values.std(axis=0), SERIES_STD_FLOOR)
    means_agree = (np.ptp(mean, axis=0) <= SHARED_SCALE_RTOL * overall).all()
    stds_agree = (np.ptp(std, axis=0) <= SHARED_SCALE_RTOL * overall).all()
    return bool(means_agree and stds_agree and (std > SERIES_STD_FLOOR).all())


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
        if values.size and np.abs(values).max() > _INT64_MAX:
            i = int(np.argmax(np.abs(values)))
            raise ValueError(
                f"{name} got token id {values.flat[i]:g} in row {rows_of(i)}, which does not "
                f"fit int64 (at most {_INT64_MAX}); ids must be integers in [0, 2**63), "
                "usually below the vocabulary size."
            )
        if (values != np.round(values)).any():
            raise ValueError(
                f"{name} got non-integer values with input_type='tokens'; token ids must be "
                "integers. Pass input_type='features' for real-valued sequences."
            )
    if values.dtype.kind == "u" and values.size and values.max() > _INT64_MAX:
        i = int(np.argmax(values))
        raise ValueError(
            f"{name} got token id {values.flat[i]} in row {rows_of(i)}, which does not fit "
            f"int64 (at most {_INT64_MAX}); ids must be integers in [0, 2**63), usually "
            "below the vocabulary size."
        )
    if values.size and values.min() < 0:
        i = int(np.flatnonzero(values < 0)[0])
        raise ValueError(
            f"{name} got a negative token id ({values.flat[i]:g}) in row {rows_of(i)}; ids "
            "must be >= 0, with 0 for padding."
        )
    return values.astype(np.int64, copy=False)


def _same_state(a: dict, b: dict) -> bool:
    if a.keys() != b.keys():
        return False
    return all(np.array_equal(a[k], b[k]) if a[k] is not None else b[k] is None for k in a)


_HUGE_TABLE_ROWS = 2**20
"""An embedding of more rows than this, for far fewer distinct ids, gets a say."""
_SPARSE_IDS = 64
"""... when it has more than this many rows per distinct id seen."""


def _check_embedding_rows(ids: np.ndarray, n_rows: int, embedding_dim: int, name: str) -> None:
    """Refuse, or warn of, an embedding made huge by a few large ids.

    The embedding has a row per id up to the largest seen, so one id of 5e7 among a
    few dozen builds 50 million rows. Beyond :data:`_HUGE_TABLE_ROWS` rows and
    :data:`_SPARSE_IDS` rows per distinct id, a table whose training state (weights,
    gradients and Adam's two moments) exceeds the memory limit of
    :func:`~skseqattn._memory.memory_limit` is refused; a smaller one gets a warning.
    """
    if n_rows <= _HUGE_TABLE_ROWS:
        return
    distinct = int(np.unique(ids).size)
    if n_rows <= _SPARSE_IDS * max(distinct, 1):
        return
    from ._memory import format_bytes, refuse_or_warn

    need = n_rows * embedding_dim * 4 * 4  # float32 weights, gradients, 2 Adam moments
    message = (
        f"{name} got token id {int(ids.max()):,} among {distinct:,} distinct ids: the "
        f"embedding would have {n_rows:,} rows (one per id up to the largest), about "
        f"{format_bytes(need)} to train with embedding_dim={embedding_dim}. Map the distinct "
        "ids to 1..n first, keeping 0 for padding (np.unique(X, return_inverse=True) gives "
        "the mapping), or encode strings with CharSequenceVectorizer, whose ids are dense."
    )
    refuse_or_warn(message, need, what="anything")
