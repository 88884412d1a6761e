"""Synthetic real-valued series of varying length, and the padding helper for them."""

from numbers import Integral, Real

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

from ._generation import _LENGTH, _N_SAMPLES, _balanced_labels, _check_lengths, _uniform_lengths

__all__ = ["make_variable_length_series", "pad_sequences"]

# --------------------------------------------------------------------------- real-valued


@validate_params(
    {
        "n_samples": _N_SAMPLES,
        "n_features": [Interval(Integral, 1, None, closed="left")],
        "min_len": _LENGTH,
        "max_len": _LENGTH,
        "signal": [StrOptions({"last_step", "local_pattern"})],
        "n_classes": [Interval(Integral, 2, None, closed="left")],
        "pattern_len": [Interval(Integral, 1, None, closed="left")],
        "pattern_scale": [Interval(Real, 0, None, closed="left")],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_variable_length_series(
    n_samples=500,
    *,
    n_features=1,
    min_len=5,
    max_len=40,
    signal="last_step",
    n_classes=2,
    pattern_len=8,
    pattern_scale=1.0,
    random_state=None,
):
    """Generate real-valued sequences of varying length labelled by their last step.

    Every value is drawn independently from a standard normal distribution, except the
    last value of feature 0, whose sign is the label: ``y[i] == int(X[i][-1, 0] > 0)``.
    Lengths are drawn uniformly and independently of the label, and every earlier step
    carries no information. A model that pads the sequences and reads the padded end
    instead of each sequence's true last step stays at chance.

    Parameters
    ----------
    n_samples : int, default=500
        Number of sequences.

    n_features : int, default=1
        Number of features per step.

    min_len, max_len : int, default=5, 40
        Bounds (inclusive) of the uniformly drawn sequence lengths.

    signal : {'last_step', 'local_pattern'}, default='last_step'
        'last_step' labels each sequence by the sign of its last value, as described
        above. 'local_pattern' makes a task modelled on sensor recordings: each class
        owns a template of `pattern_len` steps by `n_features` (smooth waves of random
        frequency and phase per feature), and each sequence of standard normal noise
        holds its class's template, times `pattern_scale`, added at a uniform position.

    n_classes : int, default=2
        Number of balanced classes; more than 2 needs ``signal='local_pattern'``.

    pattern_len : int, default=8
        Steps of a template (``signal='local_pattern'`` only); at most `min_len`.

    pattern_scale : float, default=1.0
        Amplitude of the templates against the unit noise (``signal='local_pattern'``
        only); lower is harder.

    random_state : int, RandomState instance or None, default=None
        Seed or generator for reproducible output.

    Returns
    -------
    X : list of ndarray of shape (T_i, n_features)
        The sequences, float64.

    y : ndarray of int of shape (n_samples,)
        1 if the last value of feature 0 is positive, else 0; balanced. With
        ``signal='local_pattern'``, the class whose template the sequence holds.

    See Also
    --------
    pad_sequences : Stack such sequences into one NaN-padded 3-D array.
    make_last_token_sequences : The same idea for strings.

    Examples
    --------
    >>> from skseqattn.datasets import make_variable_length_series, pad_sequences
    >>> X, y = make_variable_length_series(3, n_features=2, random_state=0)
    >>> [x.shape for x in X]
    [(5, 2), (8, 2), (8, 2)]
    >>> y
    array([0, 1, 0])
    >>> [int(x[-1, 0] > 0) for x in X]
    [0, 1, 0]
    >>> pad_sequences(X).shape
    (3, 8, 2)
    """
    func = "make_variable_length_series"
    _check_lengths(func, min_len, max_len)
    if signal == "local_pattern":
        if pattern_len > min_len:
            raise ValueError(
                f"{func} expected pattern_len <= min_len={min_len} so that every sequence "
                f"can hold the pattern, got pattern_len={pattern_len}; raise min_len or "
                f"lower pattern_len."
            )
        return _local_pattern_series(
            n_samples,
            n_features,
            min_len,
            max_len,
            n_classes,
            pattern_len,
            pattern_scale,
            check_random_state(random_state),
        )
    if n_classes != 2:
        raise ValueError(
            f"{func} expected n_classes=2 with signal='last_step' (the sign of a value "
            f"holds two classes), got n_classes={n_classes}; pass signal='local_pattern' "
            f"for more classes."
        )
    rng = check_random_state(random_state)

    y = _balanced_labels(n_samples, 2, rng)
    lengths = _uniform_lengths(n_samples, min_len, max_len, rng)
    ends = np.cumsum(lengths)
    values = rng.standard_normal((int(ends[-1]), n_features))
    magnitude = np.abs(values[ends - 1, 0]) + np.finfo(np.float64).tiny  # never exactly 0
    values[ends - 1, 0] = np.where(y == 1, magnitude, -magnitude)
    X = np.split(values, ends[:-1])
    return X, y


def _local_pattern_series(
    n_samples, n_features, min_len, max_len, n_classes, pattern_len, scale, rng
):
    """Noise sequences each holding its class's smooth template at a uniform position."""
    steps = np.arange(pattern_len) / pattern_len
    freq = rng.uniform(0.5, 2.0, size=(n_classes, 1, n_features))
    phase = rng.uniform(0, 2 * np.pi, size=(n_classes, 1, n_features))
    window = np.hanning(pattern_len + 2)[1:-1][None, :, None]
    # (n_classes, pattern_len, n_features)
    templates = scale * window * np.sin(2 * np.pi * freq * steps[None, :, None] + phase)

    y = _balanced_labels(n_samples, n_classes, rng)
    lengths = _uniform_lengths(n_samples, min_len, max_len, rng)
    starts = (rng.random_sample(n_samples) * (lengths - pattern_len + 1)).astype(int)
    X = []
    for label, length, start in zip(y.tolist(), lengths.tolist(), starts.tolist()):
        x = rng.standard_normal((length, n_features))
        x[start : start + pattern_len] += templates[label]
        X.append(x)
    return X, y


@validate_params(
    {
        "sequences": ["array-like"],
        "max_len": [Interval(Integral, 1, None, closed="left"), None],
        "padding": [StrOptions({"pre", "post"})],
        "truncating": [StrOptions({"pre", "post"})],
        "value": [Real],
        "dtype": "no_validation",
    },
    prefer_skip_nested_validation=True,
)
def pad_sequences(
    sequences, *, max_len=None, padding="post", truncating="post", value=np.nan, dtype=None
):
    """Stack sequences of different lengths into one padded 3-D array.

    Parameters
    ----------
    sequences : sequence of array-like of shape (T_i, n_features) or (T_i,)
        The sequences; 1-D ones are read as a single feature. All must have the same
        number of features.

    max_len : int, default=None
        Length of the output's time axis. If None, the longest sequence's length. Longer
        sequences are cut as `truncating` says.

    padding : {'post', 'pre'}, default='post'
        Pad after each sequence ('post') or before it ('pre').

    truncating : {'post', 'pre'}, default='post'
        Cut the last steps ('post', which keeps each sequence's start) or the first ones
        ('pre', which keeps its end). The default is the one of
        :class:`~skseqattn.CharSequenceVectorizer` (it used to be 'pre' here); pass
        ``truncating='pre'`` where the end matters, as for
        :func:`make_variable_length_series`, whose gestures come last.

    value : float, default=np.nan
        Fill value for the padding. NaN marks padding unambiguously, since real steps
        should never be NaN.

    dtype : dtype, default=None
        Output dtype. If None, the sequences' common floating dtype (float64 when they
        are integers and `value` is not an integer).

    Returns
    -------
    padded : ndarray of shape (n_sequences, max_len, n_features)
        The padded sequences.

    See Also
    --------
    make_variable_length_series : Variable-length sequences to pad.

    Examples
    --------
    >>> import numpy as np
    >>> from skseqattn.datasets import pad_sequences
    >>> seqs = [np.array([[1.0], [2.0], [3.0]]), np.array([[4.0]])]
    >>> pad_sequences(seqs)[..., 0]
    array([[ 1.,  2.,  3.],
           [ 4., nan, nan]])
    >>> pad_sequences(seqs, padding="pre", value=0.0)[..., 0]
    array([[1., 2., 3.],
           [0., 0., 4.]])
    >>> pad_sequences(seqs, max_len=2)[..., 0]
    array([[ 1.,  2.],
           [ 4., nan]])
    >>> pad_sequences(seqs, max_len=2, truncating="pre")[..., 0]
    array([[ 2.,  3.],
           [ 4., nan]])
    """
    func = "pad_sequences"
    if isinstance(sequences, np.ndarray) and sequences.ndim == 3:
        sequences = list(sequences)
    if len(sequences) == 0:
        raise ValueError(f"{func} expected at least one sequence, got none; pass a non-empty list.")
    arrays = []
    for i, seq in enumerate(sequences):
        arr = np.asarray(seq)
        if arr.ndim == 1:
            arr = arr[:, None]
        if arr.ndim != 2:
            raise ValueError(
                f"{func} expected every sequence to be 1-D (T_i,) or 2-D (T_i, n_features), "
                f"got shape {arr.shape} for sequence {i}; reshape it."
            )
        arrays.append(arr)
    n_features = {arr.shape[1] for arr in arrays}
    if len(n_features) > 1:
        raise ValueError(
            f"{func} expected every sequence to have the same number of features, got "
            f"{sorted(n_features)}; select the same features in each sequence."
        )
    n_features = n_features.pop()
    longest = max(arr.shape[0] for arr in arrays)
    max_len = longest if max_len is None else max_len

    if dtype is None:
        dtype = np.result_type(*[arr.dtype for arr in arrays])
        if not np.issubdtype(dtype, np.inexact):
            value_is_int = float(value).is_integer() if np.isfinite(value) else False
            if not (np.issubdtype(dtype, np.integer) and value_is_int):
                dtype = np.float64
    padded = np.full((len(arrays), max_len, n_features), value, dtype=dtype)
    for i, arr in enumerate(arrays):
        if arr.shape[0] > max_len:
            arr = arr[-max_len:] if truncating == "pre" else arr[:max_len]
        t = arr.shape[0]
        if t == 0:
            continue
        if padding == "post":
            padded[i, :t] = arr
        else:
            padded[i, max_len - t :] = arr
    return padded
