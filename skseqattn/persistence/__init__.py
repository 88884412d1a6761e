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

# The package by job (docs/architecture.md): _format (names, versions, bounds, the known
# classes), _writing (save), _signing (HMAC), _archive (the zip and manifest.json, read and
# checked), _values (manifest nodes to values and estimators, typed by each estimator's
# constraints), _restore (what each estimator's stored state must satisfy), _load (load).
# _Members, _Reader and _Writer are private names that the tests reach through here.
from ._archive import _Members as _Members
from ._format import DEFAULT_MAX_BYTES, FORMAT_VERSION, FormatError
from ._load import load
from ._values import _Reader as _Reader
from ._writing import _Writer as _Writer
from ._writing import save

__all__ = ["DEFAULT_MAX_BYTES", "FORMAT_VERSION", "FormatError", "load", "save"]

for _public in (FormatError, load, save):  # documented, shown and pickled under this name
    _public.__module__ = __name__
del _public
