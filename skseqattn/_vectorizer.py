"""Turn raw strings into padded matrices of integer token ids."""

import itertools
import re
import warnings
from collections import Counter
from collections.abc import Mapping, Set
from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.feature_extraction.text import strip_accents_ascii, strip_accents_unicode
from sklearn.utils import check_array
from sklearn.utils._param_validation import Interval, InvalidParameterError, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._ids import PAD_ID, UNK_ID
from ._inputs import unwrap_container
from ._validation import check_string_collection

__all__ = ["PAD_ID", "UNK_ID", "CharSequenceVectorizer"]

_FIRST_TOKEN_ID = 2

_ACCENT_STRIPPERS = {"unicode": strip_accents_unicode, "ascii": strip_accents_ascii}

# A row of integer ids written as text: "0 0 12 5", "[ 0  0 12  5]", "0,0,12,5".
_ID_ROW = re.compile(r"[\s\[\](),]*\d+(?:[\s,]+\d+)*[\s\[\](),]*")


class CharSequenceVectorizer(TransformerMixin, BaseEstimator, auto_wrap_output_keys=None):
    """Turn raw strings into a padded matrix of integer token ids.

    Each string becomes one row; each token (a character, a word or whatever a callable
    analyzer yields) becomes one integer id. Id ``0`` (:data:`PAD_ID`) pads short rows,
    id ``1`` (:data:`UNK_ID`) stands for tokens missing from the vocabulary and the real
    tokens get ids from ``2`` on, the most frequent first. The result feeds an embedding
    layer of size :attr:`vocab_size_`.

    Parameters
    ----------
    analyzer : {'auto', 'char', 'word'} or callable, default='auto'
        How a string is split into tokens.

        - ``'auto'``: decided at ``fit`` from the training strings, and kept in
          :attr:`analyzer_`: ``'word'`` for sentences (on average at least
          three whitespace-separated tokens per non-empty string), ``'char'`` otherwise
          (names, domains, codes, anything of one or two words). With a fixed
          `vocabulary`, ``'char'`` if no token is longer than one character, else
          ``'word'``.
        - ``'char'``: one token per Unicode code point. A character beyond the Basic
          Multilingual Plane (most emoji) is one code point; a combining mark is a code
          point of its own, as is each part of an emoji ZWJ sequence.
        - ``'word'``: ``str.split()`` with no argument, i.e. split on runs of any
          Unicode whitespace and drop leading and trailing whitespace.
        - callable: called as ``analyzer(text)`` on each (preprocessed) string; must
          return an iterable of str tokens. It must be picklable for the vectorizer to
          be picklable (a ``lambda`` is not).

    lowercase : bool, default=False
        Convert strings to lowercase (``str.lower``) before tokenizing.

    strip_accents : {'unicode', 'ascii'} or None, default=None
        Remove accents before tokenizing, exactly as
        :class:`~sklearn.feature_extraction.text.CountVectorizer` does: ``'unicode'``
        applies NFKD normalization and drops combining marks, ``'ascii'`` also drops
        every character without an ASCII equivalent. Applied after `lowercase`.

    min_freq : int, default=1
        Keep only tokens that occur at least this many times in the training data.
        Ignored when `vocabulary` is given.

    max_vocab : int or None, default=None
        Keep at most this many tokens (the most frequent ones), not counting the padding
        and unknown ids. ``None`` keeps all. Ignored when `vocabulary` is given.

    vocabulary : mapping, iterable of str or None, default=None
        A fixed vocabulary, for instance to align ids with pretrained embeddings.

        - mapping ``{token: id}``: ids must be integers that cover ``2, 3, ...,
          len(vocabulary) + 1`` exactly once each (``0`` and ``1`` are reserved for
          :data:`PAD_ID` and :data:`UNK_ID`), so that ``vocab_size_`` equals
          ``len(vocabulary_) + 2``.
        - iterable of str (list, tuple, array, ...): tokens get ids ``2, 3, ...`` in the
          given order; a set is sorted first, since it has no order.

        Tokens must be unique str; with ``analyzer='char'`` each must be one character
        and with ``analyzer='word'`` none may be empty or contain whitespace.
        `lowercase` and `strip_accents` are not applied to the vocabulary.

    max_len : int or None, default=None
        Width of the output of :meth:`transform`. ``None`` means no truncation: the width
        is the length of the longest sequence in the batch being transformed (at least
        1, so a batch of empty strings gives one column of padding); set it to bound
        memory when a few strings are very long.

    padding : {'post', 'pre'}, default='post'
        Where short rows are padded with :data:`PAD_ID`: at the end (``'post'``) or at
        the start (``'pre'``).

    truncating : {'post', 'pre'}, default='post'
        Which tokens of a row longer than `max_len` are dropped: those at the end
        (``'post'``, the first `max_len` tokens are kept) or at the start (``'pre'``, the
        last `max_len` tokens are kept).

    dtype : numpy integer dtype, default=np.int64
        Integer type of the output of :meth:`transform`, e.g. ``np.int32`` or
        ``'uint16'``. It must be able to hold ``vocab_size_ - 1``.

    unk_token : str, default='\\ufffd'
        Text written by :meth:`inverse_transform` in place of an :data:`UNK_ID`. The
        default is U+FFFD, the Unicode replacement character.

    Attributes
    ----------
    vocabulary_ : dict of str to int
        Token to id, ordered by id. Ids run from 2 to ``len(vocabulary_) + 1``.

    analyzer_ : {'char', 'word', 'callable'}
        The analyzer in use: `analyzer` itself, what ``'auto'`` chose, or ``'callable'``
        for a callable `analyzer`.

    vocab_size_ : int
        Number of distinct ids, padding and unknown included: ``len(vocabulary_) + 2``,
        which is also the largest id plus one. Use it as the number of embeddings.

    id_to_token_ : ndarray of object, shape (vocab_size_,)
        Id to token: ``id_to_token_[vocabulary_[t]] == t``. The entries at
        :data:`PAD_ID` and :data:`UNK_ID` are ``None``.

    max_len_ : int
        Width of the output of :meth:`fit_transform` when `max_len` is None: the number of
        tokens in the longest training string, or 1 if all training strings are empty.

    fixed_vocabulary_ : bool
        True when the vocabulary came from the `vocabulary` parameter rather than being
        learned from the data.

    n_missing_vectors_ : int
        Set by :meth:`embedding_matrix`: how many vocabulary tokens had no vector.

    See Also
    --------
    sklearn.feature_extraction.text.CountVectorizer : Bag-of-tokens counts, which drop
        the token order this transformer keeps.

    Notes
    -----
    The vocabulary is deterministic: tokens are sorted by decreasing count, ties broken
    by the tokens themselves in ascending order, so the same strings in any order give
    the same ids.

    Every element of ``X`` must be a str; anything else (None, NaN, bytes, numbers)
    raises a ``TypeError`` that names its position, a 2-D input raises a
    ``ValueError``, as does an empty collection.

    With ``analyzer='char'`` the transform works on whole arrays of code points (no
    Python loop over characters), so it is fast on millions of short strings. Text with
    NUL characters or lone surrogates is handled exactly (but note that numpy drops
    trailing NUL characters when it builds an array of dtype str, before the
    vectorizer sees it).

    ``fit`` warns (``UserWarning``) when the training strings look like rows of padded
    ids written as text (``'0 0 12 5'``): padding would become a token. Pass such rows to
    :class:`~skseqattn.BiLSTMAttentionClassifier` as an integer array instead.

    The output width depends on the batch when `max_len` is None, so this transformer
    does not support ``set_output``; :meth:`get_feature_names_out` describes the
    training width (`max_len_`) or `max_len`.

    Examples
    --------
    >>> from skseqattn import CharSequenceVectorizer
    >>> names = ["anna", "bob", ""]
    >>> vec = CharSequenceVectorizer()
    >>> X = vec.fit_transform(names)
    >>> vec.vocabulary_
    {'a': 2, 'b': 3, 'n': 4, 'o': 5}
    >>> vec.analyzer_
    'char'
    >>> X
    array([[2, 4, 4, 2],
           [3, 5, 3, 0],
           [0, 0, 0, 0]])
    >>> vec.inverse_transform(X)
    ['anna', 'bob', '']

    Unknown characters get id 1; `max_len`, `padding` and `truncating` fix the width:

    >>> vec.transform(["bonny"])
    array([[3, 5, 4, 4, 1]])
    >>> vec.set_params(max_len=3, padding="pre", truncating="pre").transform(names)
    array([[4, 4, 2],
           [3, 5, 3],
           [0, 0, 0]])

    Sentences are split into words by default (``analyzer='auto'``):

    >>> CharSequenceVectorizer().fit(["a cat sat here", "the dog ran off"]).analyzer_
    'word'

    Words whatever the input:

    >>> words = CharSequenceVectorizer(analyzer="word", unk_token="<unk>")
    >>> words.fit(["the cat", "the dog"]).vocabulary_
    {'the': 2, 'cat': 3, 'dog': 4}
    >>> words.inverse_transform(words.transform(["the  bird cat"]))
    ['the <unk> cat']
    """

    _parameter_constraints: dict = {
        "analyzer": [StrOptions({"auto", "char", "word"}), callable],
        "lowercase": ["boolean"],
        "strip_accents": [StrOptions({"unicode", "ascii"}), None],
        "min_freq": [Interval(Integral, 1, None, closed="left")],
        "max_vocab": [Interval(Integral, 1, None, closed="left"), None],
        "vocabulary": [Mapping, "array-like", None],
        "max_len": [Interval(Integral, 1, None, closed="left"), None],
        "padding": [StrOptions({"post", "pre"})],
        "truncating": [StrOptions({"post", "pre"})],
        "dtype": "no_validation",  # checked by _resolve_dtype: any numpy integer dtype
        "unk_token": [str],
    }

    def __init__(
        self,
        *,
        analyzer="auto",
        lowercase=False,
        strip_accents=None,
        min_freq=1,
        max_vocab=None,
        vocabulary=None,
        max_len=None,
        padding="post",
        truncating="post",
        dtype=np.int64,
        unk_token="\ufffd",
    ):
        self.analyzer = analyzer
        self.lowercase = lowercase
        self.strip_accents = strip_accents
        self.min_freq = min_freq
        self.max_vocab = max_vocab
        self.vocabulary = vocabulary
        self.max_len = max_len
        self.padding = padding
        self.truncating = truncating
        self.dtype = dtype
        self.unk_token = unk_token

    # ------------------------------------------------------------------ public API

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn the vocabulary (or check the fixed one) from a collection of strings.

        Parameters
        ----------
        X : iterable of str
            Training strings: a list, tuple, 1-D numpy array, pandas Series or any
            other ordered iterable (a generator is consumed once).
        y : None
            Ignored.

        Returns
        -------
        self : CharSequenceVectorizer
            The fitted vectorizer. If fitting fails, the vectorizer keeps the state it
            had before the call.
        """
        strings = check_string_collection(
            unwrap_container(X, type(self).__name__, text=True), estimator_name=type(self).__name__
        )
        self._fit(strings)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_transform(self, X, y=None):
        """Fit to `X`, then transform it; same result as ``fit(X).transform(X)``.

        Parameters
        ----------
        X : iterable of str
            Training strings (a generator is consumed once).
        y : None
            Ignored.

        Returns
        -------
        ids : ndarray of shape (n_samples, width)
            Token ids, see :meth:`transform`.
        """
        strings = check_string_collection(
            unwrap_container(X, type(self).__name__, text=True), estimator_name=type(self).__name__
        )
        tokens, lengths = self._fit(strings)
        return self._encode(tokens, lengths, _resolve_dtype(self.dtype, self.vocab_size_))

    def transform(self, X):
        """Turn strings into a padded matrix of token ids.

        Parameters
        ----------
        X : iterable of str
            Strings to encode (a generator is consumed once).

        Returns
        -------
        ids : ndarray of shape (n_samples, width), dtype `dtype`
            Row ``i`` holds the ids of the tokens of ``X[i]``, padded with
            :data:`PAD_ID` and truncated as set by `padding`, `truncating` and
            `max_len`. Unknown tokens get :data:`UNK_ID`. ``width`` is `max_len`, or the
            longest sequence of this batch (at least 1) when `max_len` is None.
        """
        check_is_fitted(self)
        strings = check_string_collection(
            unwrap_container(X, type(self).__name__, text=True), estimator_name=type(self).__name__
        )
        dtype = _resolve_dtype(self.dtype, self.vocab_size_)
        tokens, lengths = self._analyze(strings)
        return self._encode(tokens, lengths, dtype)

    def tokenize(self, X):
        """The tokens of each string, as :meth:`transform` sees them.

        Tokens come after `lowercase` and `strip_accents`, and are cut by `max_len` and
        `truncating` as :meth:`transform` cuts them; each row lines up with the real
        (non-padding) ids of the same row of :meth:`transform`'s output. Tokens missing
        from the vocabulary are kept as they are (their id is :data:`UNK_ID`).

        Parameters
        ----------
        X : iterable of str
            Strings to split (a generator is consumed once).

        Returns
        -------
        tokens : list of list of str
            One list of tokens per string.

        Examples
        --------
        >>> from skseqattn import CharSequenceVectorizer
        >>> vec = CharSequenceVectorizer(lowercase=True, max_len=3).fit(["Anna", "Bob"])
        >>> vec.tokenize(["Anna", "Bob"])
        [['a', 'n', 'n'], ['b', 'o', 'b']]
        """
        check_is_fitted(self)
        strings = check_string_collection(
            unwrap_container(X, type(self).__name__, text=True), estimator_name=type(self).__name__
        )
        tokens, lengths = self._analyze(strings)
        if self._analyzer() == "char":
            tokens = [chr(cp) for cp in tokens.tolist()]
        ends = np.cumsum(lengths).tolist()
        rows = [tokens[start:end] for start, end in zip([0, *ends[:-1]], ends)]
        keep = self.max_len
        if keep is not None:
            pre = self.truncating == "pre"
            rows = [(r[-keep:] if pre else r[:keep]) if len(r) > keep else r for r in rows]
        return rows

    def inverse_transform(self, X):
        """Turn a matrix of token ids back into strings.

        Padding ids are dropped wherever they are; each :data:`UNK_ID` becomes
        `unk_token`. Tokens are joined with ``''`` for ``analyzer='char'`` and with a
        single space otherwise, so in-vocabulary text that was not truncated comes back
        exactly with ``'char'``, and with ``'word'`` up to runs of whitespace.

        Parameters
        ----------
        X : array-like of int, shape (n_samples, width)
            Token ids in ``[0, vocab_size_)``, such as the output of :meth:`transform`.

        Returns
        -------
        strings : list of str, length n_samples
            One string per row.
        """
        check_is_fitted(self)
        name = type(self).__name__
        ids = check_array(unwrap_container(X, name), dtype=None, input_name="X", estimator=self)
        if ids.dtype.kind not in "iu":
            raise TypeError(
                f"{name}.inverse_transform expected integer token ids, got an array of dtype "
                f"{ids.dtype}; cast it first, e.g. X.astype(np.int64)"
            )
        out_of_range = (ids < 0) | (ids >= self.vocab_size_)
        if out_of_range.any():
            row, column = np.argwhere(out_of_range)[0]
            raise ValueError(
                f"{name}.inverse_transform expected ids in [0, {self.vocab_size_}) "
                f"(vocab_size_={self.vocab_size_}), got {ids[row, column]} at row {row}, "
                f"column {column}; were these ids made by another vectorizer?"
            )
        id_to_text = self.id_to_token_.copy()
        id_to_text[UNK_ID] = self.unk_token
        not_padding = ids != PAD_ID
        tokens = id_to_text[ids[not_padding]].tolist()
        ends = np.cumsum(not_padding.sum(axis=1)).tolist()
        starts = [0, *ends[:-1]]
        separator = "" if self._analyzer() == "char" else " "
        return [separator.join(tokens[start:end]) for start, end in zip(starts, ends)]

    def embedding_matrix(self, vectors, *, unknown="mean", dtype=np.float32):
        """Pretrained vectors laid out as the embedding for this fitted vocabulary.

        Row :data:`PAD_ID` (0) is zeros, row :data:`UNK_ID` (1) is the unknown vector and
        row ``vocabulary_[t]`` the vector of token ``t``, so the result has
        ``vocab_size_`` rows and fits ``BiLSTMAttentionClassifier(embedding_weights=...)``
        for the ids of :meth:`transform`. A matrix with one row per vocabulary word (no
        padding and unknown rows) would pair every word with the vector of another.

        Parameters
        ----------
        vectors : mapping of str to array-like, or KeyedVectors-like
            Token to vector: a dict, or an object with gensim's ``KeyedVectors``
            interface (``key_to_index``, ``__getitem__`` and ``vector_size``). All vectors
            must have the same length.
        unknown : {'mean', 'zeros'}, default='mean'
            Row 1 (tokens not in the vocabulary at transform time): the mean of the
            vectors found, or zeros.
        dtype : dtype, default=np.float32
            Dtype of the result.

        Returns
        -------
        matrix : ndarray of shape (vocab_size_, vector_size)
            Vocabulary tokens that have no vector get zeros; how many there were is in
            :attr:`n_missing_vectors_` (and a ``UserWarning`` names a few).

        Notes
        -----
        The matrix is tied to the vocabulary it was built for. In a ``Pipeline`` searched
        with ``GridSearchCV`` the vectorizer is refitted on each fold, so a vocabulary
        learned from the data differs between folds: give the vectorizer a fixed
        ``vocabulary=`` (e.g. the pretrained vectors' words, or the words of the whole
        training set), fit it once, build the matrix once and pass it to the classifier
        inside the pipeline; every fold then has the same ids.

        Examples
        --------
        >>> import numpy as np
        >>> from skseqattn import CharSequenceVectorizer
        >>> vec = CharSequenceVectorizer(analyzer="word").fit(["a cat", "a dog"])
        >>> m = vec.embedding_matrix({"a": [1.0, 0.0], "cat": [0.0, 1.0]}, unknown="zeros")
        >>> m.shape, vec.n_missing_vectors_
        ((5, 2), 1)
        """
        check_is_fitted(self)
        name = type(self).__name__
        if unknown not in ("mean", "zeros"):
            raise ValueError(
                f"{name}.embedding_matrix: unknown must be 'mean' or 'zeros', got {unknown!r}."
            )
        if hasattr(vectors, "key_to_index") and hasattr(vectors, "__getitem__"):
            keys = vectors.key_to_index
            width = getattr(vectors, "vector_size", None)
        elif isinstance(vectors, Mapping):
            keys = vectors
            width = None
        else:
            raise TypeError(
                f"{name}.embedding_matrix expected a mapping of token to vector or an "
                f"object like gensim's KeyedVectors (key_to_index, __getitem__, "
                f"vector_size), got {type(vectors).__name__}."
            )
        found = {}
        missing = []
        for token, index in self.vocabulary_.items():
            if token in keys:
                vec = np.asarray(vectors[token], dtype=dtype)
                if vec.ndim != 1 or (width is not None and vec.shape[0] != width):
                    raise ValueError(
                        f"{name}.embedding_matrix: the vector of {token!r} has shape "
                        f"{vec.shape}, expected ({width},); give 1-D vectors of one length."
                    )
                width = vec.shape[0]
                found[index] = vec
            else:
                missing.append(token)
        if width is None:
            raise ValueError(
                f"{name}.embedding_matrix: none of the {len(self.vocabulary_)} vocabulary "
                "tokens has a vector, so the vector size is unknown; check that the "
                "tokens match (case, lowercase=, analyzer=)."
            )
        matrix = np.zeros((self.vocab_size_, width), dtype=dtype)
        if found:
            rows = np.fromiter(found, dtype=np.int64, count=len(found))
            matrix[rows] = np.stack(list(found.values()))
            if unknown == "mean":
                matrix[UNK_ID] = matrix[rows].mean(axis=0)
        self.n_missing_vectors_ = len(missing)
        if missing:
            warnings.warn(
                f"{name}.embedding_matrix: {len(missing)} of {len(self.vocabulary_)} "
                f"vocabulary tokens have no vector and get zeros (e.g. "
                f"{', '.join(map(repr, missing[:5]))}).",
                UserWarning,
                stacklevel=2,
            )
        return matrix

    def get_feature_names_out(self, input_features=None):
        """Name the output columns by position.

        Parameters
        ----------
        input_features : None
            Ignored; present for API consistency.

        Returns
        -------
        feature_names_out : ndarray of str objects
            ``['charsequencevectorizer0', 'charsequencevectorizer1', ...]``, one per
            column: `max_len` of them, or `max_len_` when `max_len` is None (the width
            of :meth:`transform` on another batch may then differ).
        """
        check_is_fitted(self)
        width = self.max_len if self.max_len is not None else self.max_len_
        prefix = type(self).__name__.lower()
        return np.asarray([f"{prefix}{i}" for i in range(width)], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        tags.transformer_tags.preserves_dtype = []
        return tags

    # ------------------------------------------------------------------ internals

    def _fit(self, strings):
        """Compute the fitted state from validated strings and set it at the very end.

        Returns the analysed training tokens so that ``fit_transform`` need not redo it.
        """
        name = type(self).__name__
        dtype = _resolve_dtype(self.dtype)
        analyzer = _choose_analyzer(self.analyzer, self.vocabulary, self._preprocess, strings)
        tokens, lengths = self._analyze(strings, analyzer)
        if self.vocabulary is None:
            vocabulary = self._learn_vocabulary(tokens, analyzer)
        else:
            vocabulary = _vocabulary_from_param(self.vocabulary, analyzer, name)
        vocab_size = len(vocabulary) + _FIRST_TOKEN_ID
        _resolve_dtype(dtype, vocab_size)
        _warn_if_padded_ids(strings, vocabulary, name)
        id_to_token = np.full(vocab_size, None, dtype=object)
        id_to_token[list(vocabulary.values())] = list(vocabulary)

        self.analyzer_ = analyzer if isinstance(analyzer, str) else "callable"
        self.vocabulary_ = vocabulary
        self.vocab_size_ = vocab_size
        self.id_to_token_ = id_to_token
        self.max_len_ = max(1, int(lengths.max()))
        self.fixed_vocabulary_ = self.vocabulary is not None
        return tokens, lengths

    def _preprocess(self, strings):
        """Apply `lowercase`, then `strip_accents`, to each string."""
        if self.lowercase:
            strings = [s.lower() for s in strings]
        if self.strip_accents is not None:
            strings = list(map(_ACCENT_STRIPPERS[self.strip_accents], strings))
        return strings

    def _analyzer(self):
        """The analyzer of the fitted vectorizer: 'char', 'word' or the callable."""
        if callable(self.analyzer):
            return self.analyzer
        # a vectorizer fitted (and pickled) before 'auto' existed has no analyzer_
        return getattr(self, "analyzer_", self.analyzer)

    def _analyze(self, strings, analyzer=None):
        """Split preprocessed strings into one flat run of tokens plus a length per string.

        ``analyzer`` is the resolved analyzer ('char', 'word' or a callable); by default
        the fitted one.

        Returns
        -------
        tokens : ndarray of uint32 (code points) for 'char', list of tokens otherwise
        lengths : ndarray of intp, shape (n_samples,)
        """
        analyzer = self._analyzer() if analyzer is None else analyzer
        strings = self._preprocess(strings)
        if analyzer == "char":
            lengths = np.fromiter(map(len, strings), dtype=np.intp, count=len(strings))
            # UTF-32 holds one code point per 4 bytes; 'surrogatepass' keeps lone
            # surrogates, and NUL characters are ordinary code points here.
            encoded = "".join(strings).encode("utf-32-le", "surrogatepass")
            return np.frombuffer(encoded, dtype="<u4"), lengths
        if analyzer == "word":
            token_lists = [s.split() for s in strings]
        else:
            token_lists = _call_analyzer(analyzer, strings, type(self).__name__)
        lengths = np.fromiter(map(len, token_lists), dtype=np.intp, count=len(token_lists))
        return list(itertools.chain.from_iterable(token_lists)), lengths

    def _learn_vocabulary(self, tokens, analyzer):
        """Count tokens and return ``{token: id}``, most frequent first, ties by token."""
        if analyzer == "char":
            counts = np.bincount(tokens) if tokens.size else np.zeros(0, dtype=np.intp)
            code_points = np.flatnonzero(counts >= self.min_freq)
            order = np.lexsort((code_points, -counts[code_points]))
            ranked = [chr(cp) for cp in code_points[order][: self.max_vocab].tolist()]
        else:
            counter = Counter(tokens)
            _check_token_types(counter, type(self).__name__)
            frequent = [(t, c) for t, c in counter.items() if c >= self.min_freq]
            frequent.sort(key=lambda token_count: (-token_count[1], token_count[0]))
            ranked = [token for token, _ in frequent[: self.max_vocab]]
        if not ranked:
            n_tokens = len(tokens)
            reason = (
                "the training strings contain no tokens at all"
                if n_tokens == 0
                else f"no token occurs at least min_freq={self.min_freq} times"
            )
            raise ValueError(
                f"{type(self).__name__} learned an empty vocabulary with "
                f"min_freq={self.min_freq} and max_vocab={self.max_vocab}: {reason}; lower "
                "min_freq, pass more (non-empty) strings, or pass a fixed vocabulary"
            )
        return {token: i + _FIRST_TOKEN_ID for i, token in enumerate(ranked)}

    def _encode(self, tokens, lengths, dtype):
        """Map analysed tokens to ids and lay them out as a padded matrix."""
        if self._analyzer() == "char":
            ids = _char_ids(tokens, self.vocabulary_, dtype)
        else:
            ids = np.fromiter(
                map(self.vocabulary_.get, tokens, itertools.repeat(UNK_ID)),
                dtype=dtype,
                count=len(tokens),
            )
        width = self.max_len if self.max_len is not None else max(1, int(lengths.max()))
        if self.max_len is None:
            _check_outlier_width(lengths, width, ids.dtype, type(self).__name__)
        return _pad_and_truncate(
            ids, lengths, width, padding=self.padding, truncating=self.truncating
        )


# ---------------------------------------------------------------------- helpers

AUTO_MIN_WORDS = 3.0
"""``analyzer='auto'`` splits into words when non-empty training strings have at least this
many whitespace-separated tokens on average: sentences, not names or domains."""


def _choose_analyzer(analyzer, vocabulary, preprocess, strings):
    """Resolve ``analyzer='auto'``: from a fixed vocabulary's tokens if there is one (all
    single characters: 'char'), else from the preprocessed training strings."""
    if analyzer != "auto":
        return analyzer
    if vocabulary is not None and not isinstance(vocabulary, Mapping):
        vocabulary = list(vocabulary)
    if vocabulary is not None and len(vocabulary):
        single = all(not isinstance(t, str) or len(t) <= 1 for t in vocabulary)
        return "char" if single else "word"
    counts = [len(s.split()) for s in preprocess(strings)]
    counts = [c for c in counts if c]
    if counts and sum(counts) / len(counts) >= AUTO_MIN_WORDS:
        return "word"
    return "char"


_OUTLIER_RATIO = 8
"""A row this many times longer than the 99th percentile of the others is an outlier..."""
_OUTLIER_BYTES = 64 * 2**20
"""... that gets a say when padding every row to it takes more than this."""


def _check_outlier_width(lengths, width, dtype, estimator_name):
    """Warn of, or refuse, a matrix made wide by a few outlying rows (``max_len=None``).

    Every row is padded to the longest, so one string of a million characters among
    short names asks for a million columns for each of them. When the longest row is
    more than :data:`_OUTLIER_RATIO` times the 99th percentile and the matrix would take
    more than :data:`_OUTLIER_BYTES`, a warning names the row and the fix; over the
    memory limit of :func:`~skseqattn._memory.memory_limit` the call is refused before
    the matrix is allocated.
    """
    n_bytes = len(lengths) * int(width) * np.dtype(dtype).itemsize
    if n_bytes <= _OUTLIER_BYTES:
        return
    typical = float(np.percentile(lengths, 99))
    if width <= _OUTLIER_RATIO * max(typical, 1.0):
        return
    from ._memory import format_bytes, refuse_or_warn

    row = int(np.argmax(lengths))
    suggested = max(1, int(np.ceil(typical)))
    message = (
        f"{estimator_name}: row {row} has {int(width):,} tokens, "
        f"{width / max(typical, 1.0):,.0f} times the 99th percentile of the rows "
        f"({typical:,.0f}); with max_len=None every row is padded to it, a matrix of shape "
        f"({len(lengths):,}, {int(width):,}) taking {format_bytes(n_bytes)}. Set max_len (e.g. "
        f"max_len={suggested:,}, which truncates the outliers), or transform the long "
        "strings separately."
    )
    refuse_or_warn(message, n_bytes, what="the matrix")


def _warn_if_padded_ids(strings, vocabulary, estimator_name):
    """Warn when the training strings look like rows of padded token ids.

    That is: every non-empty string is a run of integers (separated by spaces or commas,
    perhaps in brackets), at least one of them starts or ends with a separate ``0`` (as
    padding does), and ``'0'`` is in the vocabulary, so that padding would become a token
    of its own. Numbers on their own (``'2020'``, ``'02139'``) are left alone.
    """
    if "0" not in vocabulary:
        return
    rows = [s for s in strings if s.strip()]
    if not rows or not all(_ID_ROW.fullmatch(s) for s in rows):
        return
    numbers = (re.findall(r"\d+", s) for s in rows)
    if not any(len(n) > 1 and "0" in (n[0], n[-1]) for n in numbers):
        return
    warnings.warn(
        f"{estimator_name} got strings that look like rows of padded token ids (e.g. "
        f"{rows[0][:40]!r}): every string is a run of integers and '0' is in the vocabulary, "
        f"so padding becomes a token of its own (id {vocabulary['0']}). If these rows are "
        "ids already, pass them as an integer array to BiLSTMAttentionClassifier directly "
        "(0 is padding there) instead of as text.",
        UserWarning,
        stacklevel=4,
    )


def _resolve_dtype(dtype, vocab_size=None):
    """Return ``np.dtype(dtype)`` if it is an integer dtype able to hold every id.

    Raises sklearn's ``InvalidParameterError`` for a non-integer dtype and a
    ``ValueError`` when the dtype is too narrow for ``vocab_size - 1``.
    """
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        resolved = None
    if resolved is None or resolved.kind not in "iu":
        raise InvalidParameterError(
            "The 'dtype' parameter of CharSequenceVectorizer must be a numpy integer dtype "
            f"such as np.int64, np.int32 or 'uint16'. Got {dtype!r} instead."
        )
    if vocab_size is not None and np.iinfo(resolved).max < vocab_size - 1:
        raise ValueError(
            f"CharSequenceVectorizer dtype={resolved} holds ids up to "
            f"{np.iinfo(resolved).max}, but the vocabulary needs ids up to {vocab_size - 1}; "
            "use a wider integer dtype such as np.int32 or np.int64"
        )
    return resolved


def _call_analyzer(analyzer, strings, estimator_name):
    """Apply a callable analyzer to each string and return a list of token lists."""
    token_lists = []
    for position, text in enumerate(strings):
        tokens = analyzer(text)
        if isinstance(tokens, list):
            token_lists.append(tokens)
            continue
        try:
            token_lists.append(list(tokens))
        except TypeError:
            raise TypeError(
                f"{estimator_name} analyzer must return an iterable of str tokens, got "
                f"{type(tokens).__name__} for the string at position {position}"
            ) from None
    return token_lists


def _check_token_types(counter, estimator_name):
    """Raise a TypeError if a callable analyzer produced a token that is not a str."""
    bad = next((token for token in counter if not isinstance(token, str)), None)
    if bad is not None:
        raise TypeError(
            f"{estimator_name} analyzer must return str tokens, got {type(bad).__name__} "
            f"({bad!r}); convert the tokens to str inside the callable"
        )


def _check_vocabulary_token(token, where, analyzer, estimator_name):
    """Check that one token of a fixed vocabulary can be produced by `analyzer`."""
    prefix = f"{estimator_name} vocabulary"
    if not isinstance(token, str):
        raise TypeError(
            f"{prefix} tokens must be str, got {type(token).__name__} ({token!r}) {where}"
        )
    if analyzer == "char" and len(token) != 1:
        raise ValueError(
            f"{prefix} token {token!r} {where} has {len(token)} characters, but "
            "analyzer='char' produces single characters; use analyzer='word' or a callable "
            "for longer tokens"
        )
    if analyzer == "word" and token.split() != [token]:
        raise ValueError(
            f"{prefix} token {token!r} {where} is empty or contains whitespace, so "
            "analyzer='word' can never produce it; remove it or use a callable analyzer"
        )


def _vocabulary_from_param(vocabulary, analyzer, estimator_name):
    """Validate the `vocabulary` parameter and return ``{token: id}`` ordered by id."""
    prefix = f"{estimator_name} vocabulary"
    if isinstance(vocabulary, Mapping):
        mapping = {}
        token_of_id = {}
        for token, idx in vocabulary.items():
            where = f"(mapped to {idx!r})"
            _check_vocabulary_token(token, where, analyzer, estimator_name)
            if isinstance(idx, bool | np.bool_) or not isinstance(idx, Integral):
                raise TypeError(
                    f"{prefix} ids must be integers, got {type(idx).__name__} ({idx!r}) for "
                    f"token {token!r}"
                )
            idx = int(idx)
            if idx < _FIRST_TOKEN_ID:
                raise ValueError(
                    f"{prefix} maps {token!r} to {idx}, but ids 0 and 1 are reserved for "
                    "PAD_ID and UNK_ID; shift your ids, e.g. {t: i + 2 for t, i in "
                    "vocabulary.items()}, or pass the tokens as a list in id order"
                )
            if idx in token_of_id:
                raise ValueError(
                    f"{prefix} maps both {token_of_id[idx]!r} and {token!r} to id {idx}; "
                    "each id must be used once"
                )
            token_of_id[idx] = token
            mapping[str(token)] = idx
        expected_ids = range(_FIRST_TOKEN_ID, len(mapping) + _FIRST_TOKEN_ID)
        missing = next((i for i in expected_ids if i not in token_of_id), None)
        if missing is not None:
            raise ValueError(
                f"{prefix} ids must be exactly 2..{len(mapping) + 1} for {len(mapping)} "
                f"tokens (0 and 1 are PAD_ID and UNK_ID), but id {missing} is missing and "
                f"the largest is {max(token_of_id)}; renumber the ids without gaps"
            )
        mapping = dict(sorted(mapping.items(), key=lambda token_id: token_id[1]))
    else:
        tokens = sorted(vocabulary) if isinstance(vocabulary, Set) else list(vocabulary)
        mapping = {}
        for position, token in enumerate(tokens):
            _check_vocabulary_token(token, f"at position {position}", analyzer, estimator_name)
            token = str(token)
            if token in mapping:
                raise ValueError(
                    f"{prefix} lists the token {token!r} twice (positions "
                    f"{mapping[token] - _FIRST_TOKEN_ID} and {position}); tokens must be unique"
                )
            mapping[token] = position + _FIRST_TOKEN_ID
    if not mapping:
        raise ValueError(
            f"{prefix} is empty; pass at least one token, or vocabulary=None to learn it"
        )
    return mapping


def _char_ids(code_points, vocabulary, dtype):
    """Map an array of code points to ids with a dense lookup table.

    The table has one entry per code point up to the largest in the vocabulary (at most
    0x110000 entries) plus a final UNK entry that every larger code point is clipped to.
    """
    vocab_code_points = np.fromiter(map(ord, vocabulary), dtype=np.intp, count=len(vocabulary))
    vocab_ids = np.fromiter(vocabulary.values(), dtype=dtype, count=len(vocabulary))
    beyond = int(vocab_code_points.max()) + 1
    table = np.full(beyond + 1, UNK_ID, dtype=dtype)
    table[vocab_code_points] = vocab_ids
    return table[np.minimum(code_points, beyond)]


def _pad_and_truncate(ids, lengths, width, *, padding, truncating):
    """Lay out a flat run of ids as rows of `width`, padded and truncated, without loops.

    Parameters
    ----------
    ids : ndarray of shape (lengths.sum(),)
        The ids of all rows, one row after the other.
    lengths : ndarray of intp, shape (n_rows,)
        Number of ids of each row.
    width : int
        Number of columns of the result.
    padding, truncating : {'post', 'pre'}
        See :class:`CharSequenceVectorizer`.

    Returns
    -------
    out : ndarray of shape (n_rows, width), dtype of `ids`

    Examples
    --------
    >>> _pad_and_truncate(np.array([5, 6, 7, 8]), np.array([3, 0, 1]), 2,
    ...                   padding="pre", truncating="pre")
    array([[6, 7],
           [0, 0],
           [0, 8]])
    """
    kept = np.minimum(lengths, width)
    if (kept < lengths).any():
        starts = np.cumsum(lengths) - lengths
        position = np.arange(ids.shape[0]) - np.repeat(starts, lengths)
        if truncating == "pre":
            keep = position >= np.repeat(lengths - kept, lengths)
        else:
            keep = position < np.repeat(kept, lengths)
        ids = ids[keep]
    columns = np.arange(width)
    if padding == "pre":
        filled = columns >= (width - kept)[:, np.newaxis]
    else:
        filled = columns < kept[:, np.newaxis]
    out = np.zeros((lengths.shape[0], width), dtype=ids.dtype)  # zeros are PAD_ID
    out[filled] = ids  # boolean assignment fills row by row, left to right
    return out
