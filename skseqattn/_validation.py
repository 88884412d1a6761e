"""Input checks shared by the estimators of skseqattn.

Every helper takes the name of the calling estimator so that its error messages say who
complained, what was expected, what arrived and how to fix it.
"""

import math
from collections.abc import Iterable, Mapping, Set

import numpy as np

__all__ = ["check_string_collection"]


def _short_repr(obj, limit=40):
    """Return ``repr(obj)`` cut to at most `limit` characters.

    Parameters
    ----------
    obj : object
        Any object.
    limit : int, default=40
        Maximum length of the returned text.

    Returns
    -------
    text : str
        The representation, ending in ``'...'`` when it was cut.

    Examples
    --------
    >>> _short_repr("abc")
    "'abc'"
    >>> _short_repr("x" * 100, limit=10)
    "'xxxxxx..."
    """
    text = repr(obj)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _is_missing(value):
    """Tell whether `value` is a missing-value marker (None, NaN, ``pd.NA``, ``pd.NaT``).

    Parameters
    ----------
    value : object
        One element of a collection.

    Returns
    -------
    missing : bool

    Examples
    --------
    >>> _is_missing(None), _is_missing(float("nan")), _is_missing("nan")
    (True, True, False)
    """
    if value is None:
        return True
    if isinstance(value, float | np.floating):
        return math.isnan(value)
    return type(value).__name__ in {"NAType", "NaTType"}


def _reject_scalars_and_unordered(raw, estimator_name):
    """Raise a TypeError for inputs that are not an ordered collection of strings.

    Parameters
    ----------
    raw : object
        What the user passed as ``X``.
    estimator_name : str
        Name of the estimator, used in the messages.

    Raises
    ------
    TypeError
        For a single str or bytes, None, a mapping, a set or a non-iterable object.

    Examples
    --------
    >>> _reject_scalars_and_unordered(["a"], "Est")  # no error: returns None
    >>> _reject_scalars_and_unordered("abc", "Est")
    Traceback (most recent call last):
    ...
    TypeError: Est expected an iterable of str, got a single str; wrap it in a list: ['abc']
    """
    prefix = f"{estimator_name} expected an iterable of str"
    if isinstance(raw, str):
        raise TypeError(f"{prefix}, got a single str; wrap it in a list: [{_short_repr(str(raw))}]")
    if isinstance(raw, bytes | bytearray):
        raise TypeError(
            f"{prefix}, got a single {type(raw).__name__} object; decode it and wrap it in a "
            f"list: [{_short_repr(bytes(raw))}.decode('utf-8')]"
        )
    if raw is None:
        raise TypeError(f"{prefix}, got None; pass a list of str such as ['anna', 'bob']")
    if isinstance(raw, Mapping):
        raise TypeError(
            f"{prefix}, got a {type(raw).__name__}; pass its values or keys explicitly, "
            "e.g. list(d.values())"
        )
    if isinstance(raw, Set):
        raise TypeError(
            f"{prefix}, got a {type(raw).__name__}, which has no order, so rows could not be "
            "matched to samples; pass a list, e.g. sorted(s)"
        )
    if not isinstance(raw, Iterable) and not hasattr(raw, "__array__"):
        raise TypeError(
            f"{prefix}, got {type(raw).__name__} ({_short_repr(raw)}), which is not iterable; "
            "pass a list of str"
        )


def _array_to_list(raw, estimator_name):
    """Turn an array-like with an ``ndim`` (numpy array, pandas Series, ...) into a list.

    Parameters
    ----------
    raw : array-like
        An object with an ``ndim`` attribute or an ``__array__`` method.
    estimator_name : str
        Name of the estimator, used in the messages.

    Returns
    -------
    items : list
        The elements, in order. Elements are not checked here.

    Raises
    ------
    TypeError
        For a 0-d array (a single string), an array of bytes or a numeric array.
    ValueError
        For an array or data frame with more than one dimension.

    Examples
    --------
    >>> _array_to_list(np.array(["ab", "c"]), "Est")
    ['ab', 'c']
    """
    prefix = f"{estimator_name} expected a 1-D collection of str"
    ndim = getattr(raw, "ndim", None)
    if ndim is not None and ndim != 1 and hasattr(raw, "columns"):
        n_columns = len(raw.columns)
        raise ValueError(
            f"{prefix}, got a {type(raw).__name__} with {n_columns} column(s); select the "
            "text column, e.g. df['name']"
        )
    arr = raw if isinstance(raw, np.ndarray) else np.asarray(raw)
    if arr.ndim == 0:
        raise TypeError(
            f"{estimator_name} expected an iterable of str, got a 0-d array holding a single "
            f"value; wrap it in a list: [{_short_repr(arr.item())}]"
        )
    if arr.ndim != 1:
        raise ValueError(
            f"{prefix}, got a {arr.ndim}-D array of shape {arr.shape}; pass one column, "
            "e.g. X[:, 0], or flatten it with X.ravel()"
        )
    kind = arr.dtype.kind
    if kind == "S":
        raise TypeError(
            f"{prefix}, got an array of bytes (dtype {arr.dtype}); decode it first, "
            "e.g. X.astype(str)"
        )
    if kind not in "UO":
        raise TypeError(
            f"{prefix}, got an array of dtype {arr.dtype}; convert it with X.astype(str) if "
            "the values are meant as text"
        )
    return arr.tolist()


def _check_elements(items, estimator_name):
    """Raise a TypeError naming the first element of `items` that is not a str.

    Parameters
    ----------
    items : list
        The materialised collection.
    estimator_name : str
        Name of the estimator, used in the messages.

    Raises
    ------
    TypeError
        If any element is not a str (None and NaN included); the message gives its
        0-based position and its type.

    Examples
    --------
    >>> _check_elements(["a", None], "Est")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    TypeError: Est expected str elements, got a missing value (None) at position 1; drop or...
    """
    types = set(map(type, items))
    if all(issubclass(t, str) for t in types):
        return
    position, value = next((i, x) for i, x in enumerate(items) if not isinstance(x, str))
    prefix = f"{estimator_name} expected str elements, got"
    where = f"at position {position}"
    if _is_missing(value):
        raise TypeError(
            f"{prefix} a missing value ({_short_repr(value)}) {where}; drop or fill missing "
            "values first, e.g. Series.fillna('')"
        )
    if isinstance(value, bytes | bytearray):
        raise TypeError(
            f"{prefix} {type(value).__name__} ({_short_repr(value)}) {where}; decode it "
            "first, e.g. [b.decode('utf-8') for b in X]"
        )
    raise TypeError(
        f"{prefix} {type(value).__name__} ({_short_repr(value)}) {where}; convert the "
        "elements to str first, e.g. [str(x) for x in X]"
    )


def check_string_collection(raw, *, estimator_name):
    """Validate a 1-D collection of strings and return it as a list.

    Lists, tuples, 1-D numpy arrays of dtype str or object, pandas Series and any other
    ordered iterable (a generator included, which is consumed exactly once) are accepted.

    Parameters
    ----------
    raw : iterable of str
        The collection to check.
    estimator_name : str
        Name of the calling estimator, used as the first word of every error message.

    Returns
    -------
    strings : list of str
        The elements in their original order. A list passed in is returned as is (not
        copied), so callers must not modify the result.

    Raises
    ------
    TypeError
        If `raw` is a single str or bytes, None, a mapping, a set, not iterable, an array
        of bytes or numbers, or if any element is not a str (None, NaN and bytes
        included; the message names the element's 0-based position and type).
    ValueError
        If `raw` has more than one dimension (2-D array, data frame) or is empty.

    Examples
    --------
    >>> check_string_collection(("ab", "c"), estimator_name="Est")
    ['ab', 'c']
    >>> check_string_collection([], estimator_name="Est")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: Est expected at least one string, got an empty collection; pass a non-empty...
    """
    _reject_scalars_and_unordered(raw, estimator_name)
    if hasattr(raw, "ndim") or (hasattr(raw, "__array__") and not isinstance(raw, list | tuple)):
        items = _array_to_list(raw, estimator_name)
    elif isinstance(raw, list):
        items = raw
    else:
        items = list(raw)
    if not items:
        raise ValueError(
            f"{estimator_name} expected at least one string, got an empty collection; pass a "
            "non-empty list of str"
        )
    _check_elements(items, estimator_name)
    return items


def resolve_device(device, *, who: str) -> str:
    """Turn a ``device`` setting ('cpu', 'cuda', 'cuda:N' or 'auto') into a torch device name.

    ``who`` names the caller in error messages. 'auto' picks CUDA when it is available; a
    CUDA device on a machine without one is a ValueError that says what to use instead.
    """
    import torch

    device = str(device)
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(
            f"{who} was given device={device!r} but no CUDA device is available; use "
            "device='cpu' or device='auto'."
        )
    try:
        return str(torch.device(device))
    except RuntimeError as exc:
        raise ValueError(
            f"{who} got device={device!r}; expected 'cpu', 'cuda', 'cuda:N' or 'auto'."
        ) from exc
