"""load: the archive read and checked, then the estimator rebuilt from it."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping

from .._validation import resolve_device
from ._archive import _read_archive
from ._format import (
    _MANIFEST,
    DEFAULT_MAX_BYTES,
    FormatError,
    _callable_name,
    _CallableNeededError,
    _import_safetensors,
    _is_int,
)
from ._signing import _check_key
from ._values import _blob_arrays, _Reader


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
        files raise :class:`FormatError` before they are read. It also bounds the values
        that size each row's work without sizing any weight: a vectorizer's width
        (``max_len``, ``max_len_``) at ``max_bytes // 16384`` columns (65,536 by default)
        and a classifier's ``ngram_order`` at ``max(max_bytes // 4194304, 16)`` (256 by
        default). Raise it for models above 1 GiB, or beyond these bounds, that you trust.

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
      at most 65536 characters and 64 MiB of arrays in JSON; every parameter is typed
      by the estimator's own ``_parameter_constraints`` (a class or function only where
      they take one, never inside another value) and then checked as the estimator
      checks it; the shapes the parameters imply are computed without allocating and
      compared with the weights' safetensors header before the tensors are read or any
      module is built, and the values that size work without sizing weights are bounded
      by ``max_bytes``. Memory is then about three times the file's content at most.
    - **Sound fitted state.** Fitted attributes and weights hold finite numbers only
      (no NaN or infinite weight, mean or scale), ``feature_scale_`` is positive and
      ``classes_`` distinct, as ``fit`` leaves them.
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
