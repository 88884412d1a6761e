"""Synthetic token tasks: a motif anywhere, the last token, DNA windows with class motifs."""

import string
from numbers import Integral, Real

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, validate_params

from ._generation import (
    _DNA,
    _LENGTH,
    _N_SAMPLES,
    _balanced_labels,
    _check_alphabet,
    _check_lengths,
    _codes_to_strings,
    _uniform_lengths,
)

__all__ = ["make_dna_windows", "make_last_token_sequences", "make_motif_sequences"]

# --------------------------------------------------------------------------- motif task


@validate_params(
    {
        "n_samples": _N_SAMPLES,
        "alphabet": [str],
        "min_len": _LENGTH,
        "max_len": _LENGTH,
        "motifs": ["array-like"],
        "return_motif_positions": ["boolean"],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_motif_sequences(
    n_samples=500,
    *,
    alphabet=_DNA,
    min_len=10,
    max_len=30,
    motifs=("GATTACA", "CCGTTGC", "TGGACGT"),
    return_motif_positions=False,
    random_state=None,
):
    """Generate random strings whose class is decided by one inserted motif.

    Sample ``i`` of class ``k`` is a string of uniformly drawn letters of `alphabet` with
    ``motifs[k]`` written over it at a uniformly drawn position. The motif is the only
    signal: the background letters are uniform and independent of the class, the length is
    drawn independently of the class, and a string is drawn again until it holds its own
    motif exactly once (where reported) and no motif of another class.

    Parameters
    ----------
    n_samples : int, default=500
        Number of strings.

    alphabet : str, default='ACGT'
        Distinct characters the strings are made of.

    min_len, max_len : int, default=10, 30
        Bounds (inclusive) of the uniformly drawn string lengths. `min_len` must be at
        least the length of the longest motif.

    motifs : sequence of str, default=('GATTACA', 'CCGTTGC', 'TGGACGT')
        One motif per class, made of letters of `alphabet`; none may contain another.

    return_motif_positions : bool, default=False
        If True, also return where the motif lies in each string.

    random_state : int, RandomState instance or None, default=None
        Seed or generator for reproducible output.

    Returns
    -------
    X : list of str
        The strings.

    y : ndarray of int of shape (n_samples,)
        The class of each string, the index of its motif in `motifs`. Classes are balanced
        (their sizes differ by at most one).

    positions : list of tuple of (int, int)
        Only if `return_motif_positions`: ``(start, end)`` of the motif in each string, so
        that ``X[i][start:end] == motifs[y[i]]``.

    See Also
    --------
    make_dna_windows : A noisier motif task, with mutated motifs and GC-rich background.

    Examples
    --------
    >>> from skseqattn.datasets import make_motif_sequences
    >>> X, y, positions = make_motif_sequences(
    ...     4, motifs=("AAAA", "CCCC"), alphabet="ACGT", return_motif_positions=True,
    ...     random_state=0)
    >>> X
    ['GACAAAACTGGCA', 'GTTGGCCCCTGCG', 'AACCCCGGTACCTCCTG', 'GCTCAAAACGAGTTGTCCC']
    >>> y
    array([0, 1, 1, 0])
    >>> positions
    [(3, 7), (5, 9), (2, 6), (4, 8)]
    >>> [x[start:end] for x, (start, end) in zip(X, positions)]
    ['AAAA', 'CCCC', 'CCCC', 'AAAA']
    >>> all(10 <= len(x) <= 30 for x in X)
    True
    """
    func = "make_motif_sequences"
    _check_alphabet(func, alphabet)
    _check_lengths(func, min_len, max_len)
    if not all(isinstance(m, str) for m in motifs):
        raise TypeError(
            f"{func} expected motifs to be a sequence of str (one per class), got "
            f"{motifs!r}; pass for example motifs=('GATTACA', 'CCGTTGC')."
        )
    motifs = tuple(motifs)
    if len(motifs) < 2:
        raise ValueError(
            f"{func} expected at least 2 motifs (one per class), got {len(motifs)}; add a motif."
        )
    for motif in motifs:
        unknown = sorted(set(motif) - set(alphabet))
        if not motif or unknown:
            raise ValueError(
                f"{func} expected every motif to be a non-empty str of letters of "
                f"alphabet={alphabet!r}, got {motif!r}; use letters of the alphabet only."
            )
        if len(motif) > min_len:
            raise ValueError(
                f"{func} expected every motif to fit in the shortest string "
                f"(min_len={min_len}), got {motif!r} of length {len(motif)}; raise min_len "
                "or shorten the motif."
            )
    for i, a in enumerate(motifs):
        for j, b in enumerate(motifs):
            if i != j and a in b:
                raise ValueError(
                    f"{func} expected motifs that do not contain one another, got {a!r} "
                    f"inside {b!r}; choose other motifs."
                )
    rng = check_random_state(random_state)

    n_classes = len(motifs)
    motif_len = np.array([len(m) for m in motifs])
    lookup = {c: i for i, c in enumerate(alphabet)}
    motif_codes = np.zeros((n_classes, motif_len.max()), dtype=np.intp)
    for k, motif in enumerate(motifs):
        motif_codes[k, : len(motif)] = [lookup[c] for c in motif]

    y = _balanced_labels(n_samples, n_classes, rng)
    lengths = _uniform_lengths(n_samples, min_len, max_len, rng)
    starts = rng.randint(0, lengths - motif_len[y] + 1)

    def draw(rows):
        codes = rng.randint(len(alphabet), size=(len(rows), max_len))
        for offset in range(motif_codes.shape[1]):
            has = np.flatnonzero(motif_len[y[rows]] > offset)
            codes[has, starts[rows][has] + offset] = motif_codes[y[rows][has], offset]
        return _codes_to_strings(codes, lengths[rows], alphabet)

    def valid(text, k, start):
        own = motifs[k]
        if text.find(own) != start or text.find(own, start + 1) != -1:
            return False
        return not any(m in text for j, m in enumerate(motifs) if j != k)

    X = [None] * n_samples
    pending = np.arange(n_samples)
    for _ in range(100):
        for i, text in zip(pending.tolist(), draw(pending)):
            X[i] = text
        pending = np.array(
            [i for i in pending.tolist() if not valid(X[i], y[i], starts[i])], dtype=np.intp
        )
        if pending.size == 0:
            break
    else:
        raise ValueError(
            f"{func} could not draw strings free of chance occurrences of the motifs "
            f"{motifs!r} in 100 attempts; use longer motifs, a larger alphabet or shorter "
            "strings (max_len)."
        )

    if return_motif_positions:
        ends = starts + motif_len[y]
        return X, y, list(zip(starts.tolist(), ends.tolist()))
    return X, y


# --------------------------------------------------------------------------- last token


@validate_params(
    {
        "n_samples": _N_SAMPLES,
        "n_classes": [Interval(Integral, 2, None, closed="left")],
        "alphabet": [str, None],
        "min_len": _LENGTH,
        "max_len": _LENGTH,
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_last_token_sequences(
    n_samples=500, *, n_classes=4, alphabet=None, min_len=1, max_len=25, random_state=None
):
    """Generate random strings whose label is their last character.

    Every character but the last is drawn uniformly from `alphabet`; the last one is drawn
    from ``alphabet[:n_classes]`` and is the label. Lengths are drawn uniformly and
    independently of the label. A classifier that reads each string's true last step
    (rather than padding) can reach accuracy 1; one that ignores it stays at chance.

    Parameters
    ----------
    n_samples : int, default=500
        Number of strings.

    n_classes : int, default=4
        Number of classes; the labels are the first `n_classes` letters of `alphabet`.

    alphabet : str, default=None
        Distinct characters the strings are made of. If None, the first `n_classes`
        lowercase ASCII letters.

    min_len, max_len : int, default=1, 25
        Bounds (inclusive) of the uniformly drawn string lengths.

    random_state : int, RandomState instance or None, default=None
        Seed or generator for reproducible output.

    Returns
    -------
    X : list of str
        The strings.

    y : ndarray of str of shape (n_samples,)
        The last character of each string. Classes are balanced (their sizes differ by at
        most one).

    See Also
    --------
    make_variable_length_series : The same idea for real-valued sequences.

    Examples
    --------
    >>> from skseqattn.datasets import make_last_token_sequences
    >>> X, y = make_last_token_sequences(5, n_classes=3, max_len=6, random_state=0)
    >>> X
    ['bcac', 'acba', 'bbbb', 'aa', 'abbb']
    >>> y
    array(['c', 'a', 'b', 'a', 'b'], dtype='<U1')
    >>> all(x[-1] == label for x, label in zip(X, y))
    True
    """
    func = "make_last_token_sequences"
    if alphabet is None:
        if n_classes > len(string.ascii_lowercase):
            raise ValueError(
                f"{func} expected n_classes <= 26 when alphabet is None, got "
                f"{n_classes}; pass an alphabet with at least {n_classes} characters."
            )
        alphabet = string.ascii_lowercase[:n_classes]
    _check_alphabet(func, alphabet)
    if n_classes > len(alphabet):
        raise ValueError(
            f"{func} expected n_classes <= len(alphabet)={len(alphabet)}, got "
            f"n_classes={n_classes}; pass a longer alphabet or fewer classes."
        )
    _check_lengths(func, min_len, max_len)
    rng = check_random_state(random_state)

    labels = _balanced_labels(n_samples, n_classes, rng)
    lengths = _uniform_lengths(n_samples, min_len, max_len, rng)
    codes = rng.randint(len(alphabet), size=(n_samples, max_len))
    codes[np.arange(n_samples), lengths - 1] = labels
    X = _codes_to_strings(codes, lengths, alphabet)
    y = np.array(list(alphabet[:n_classes]), dtype="<U1")[labels]
    return X, y


# --------------------------------------------------------------------------- DNA windows


@validate_params(
    {
        "n_samples": _N_SAMPLES,
        "length": _LENGTH,
        "motif": [str, list, tuple],
        "conservation": [Interval(Real, 0, 1, closed="both")],
        "gc_content": [Interval(Real, 0, 1, closed="both")],
        "motif_start": [Interval(Integral, 0, None, closed="left"), None],
        "n_decoys": [Interval(Integral, 0, None, closed="left")],
        "motif_jitter": [Interval(Integral, 0, None, closed="left")],
        "weights": ["array-like", None],
        "return_motif_positions": ["boolean"],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_dna_windows(
    n_samples=1000,
    *,
    length=60,
    motif="GGGACTTTCC",
    conservation=0.85,
    gc_content=0.41,
    motif_start=None,
    n_decoys=0,
    motif_jitter=0,
    weights=None,
    return_motif_positions=False,
    random_state=None,
):
    """Generate DNA windows, some of which hold a mutated binding motif.

    A binary task modelled on transcription-factor binding: each window is `length`
    letters of A, C, G, T drawn independently with the given GC content (the human genome
    has about 41 %). Half of the windows (class 1) also hold one copy of the motif at a
    uniformly drawn position, sampled from a position weight matrix: at each position the
    consensus letter with probability `conservation`, else one of the three others. Because
    motifs mutate and background can resemble a motif by chance, the classes overlap.

    Parameters
    ----------
    n_samples : int, default=1000
        Number of windows.

    length : int, default=60
        Length of every window; at least the length of `motif`.

    motif : str or sequence of str, default='GGGACTTTCC'
        Consensus of the binding motif (the default is the NF-kB site), letters of 'ACGT'.
        A sequence of k motifs makes a task of k + 1 balanced classes: class 0 holds
        background only and class i holds a copy of ``motif[i - 1]``.

    conservation : float, default=0.85
        Probability that a motif position shows its consensus letter; 1 plants exact
        copies, 0.25 plants noise.

    gc_content : float, default=0.41
        Probability that a background letter is G or C.

    motif_start : int or None, default=None
        Where the class motif starts. None draws a uniform start per window; an int plants
        every class motif at that position, so that the signal is positional (as at a
        splice junction, where the window is centred on the boundary).

    n_decoys : int, default=0
        Copies of motifs drawn uniformly from `motif`, planted at uniform positions in
        every window of every class before the class motif. They carry no class
        information, so only a model that knows where the class motif sits can tell a
        decoy from it; use them with an int `motif_start`.

    motif_jitter : int, default=0
        With an int `motif_start`, move each class motif by a uniform shift in
        ``[-motif_jitter, motif_jitter]`` (kept inside the window): the signal sits *near*
        a fixed position, as elements upstream of a splice site sit at varying distances
        from it. A model that reads each position on its own must then learn every shift.

    weights : array-like of shape (len(motif) + 1,), default=None
        Proportions of the classes, in the order of the labels (class 0 first); None makes
        them balanced. They are normalised to sum to 1, and the class sizes are the rounded
        shares of `n_samples`. Splice-junction data, for instance, has about half of its
        windows without a junction: ``weights=(2, 1, 1)``.

    return_motif_positions : bool, default=False
        If True, also return where the motif was planted.

    random_state : int, RandomState instance or None, default=None
        Seed or generator for reproducible output.

    Returns
    -------
    X : list of str
        The windows, each `length` letters long.

    y : ndarray of int of shape (n_samples,)
        1 for windows with a planted motif, 0 for background only; balanced. With k
        motifs, i for windows holding ``motif[i - 1]``.

    positions : list
        Only if `return_motif_positions`: ``(start, end)`` of the planted class motif, or
        None for windows of class 0 (decoys are not listed).

    See Also
    --------
    make_motif_sequences : A noise-free motif task with one motif per class.

    Notes
    -----
    With the defaults, the Bayes classifier (which knows the weight matrix and the
    background) reaches an accuracy of about 0.92; lower `conservation` makes the task
    harder (about 0.84 at 0.75, 0.74 at 0.65).

    Examples
    --------
    >>> from skseqattn.datasets import make_dna_windows
    >>> X, y, positions = make_dna_windows(
    ...     4, length=20, motif="TATAAA", return_motif_positions=True, random_state=0)
    >>> X
    ['GGCGCTTCTGGTAAATTTTT', 'CTAGATGCATCTATAAAGCC', 'GAGGATAAACTAAAGACAAA', 'GAACTATATCTGTAAACACC']
    >>> y
    array([0, 1, 1, 0])
    >>> positions
    [None, (11, 17), (3, 9), None]
    >>> [X[1][11:17], X[2][3:9]]  # the second copy of the motif carries a mutation
    ['TATAAA', 'GATAAA']
    """
    func = "make_dna_windows"
    motifs = (motif,) if isinstance(motif, str) else tuple(motif)
    if not motifs or any(not isinstance(m, str) or not m or set(m) - set(_DNA) for m in motifs):
        raise ValueError(
            f"{func} expected motif to be a non-empty str of the letters 'ACGT' or a "
            f"non-empty sequence of such str, got {motif!r}; pass for example "
            f"motif='GGGACTTTCC' or motif=('CAGGTAAGT', 'TTTCCCTCCAGG')."
        )
    longest = max(len(m) for m in motifs)
    if length < longest:
        raise ValueError(
            f"{func} expected length >= len(motif)={longest} so that a window can hold "
            f"the motif, got length={length}; raise length or shorten the motif."
        )
    if motif_start is not None and motif_start + longest > length:
        raise ValueError(
            f"{func} expected motif_start + len(motif) <= length={length} so that the "
            f"motif fits in the window, got motif_start={motif_start} with a motif of "
            f"{longest} letters; pass motif_start <= {length - longest} or None."
        )
    n_classes = len(motifs) + 1
    if weights is not None:
        weights = np.asarray(weights, dtype=float)
        if (
            weights.shape != (n_classes,)
            or not np.all(np.isfinite(weights))
            or (weights < 0).any()
            or weights.sum() <= 0
        ):
            raise ValueError(
                f"{func} expected weights to hold {n_classes} finite, non-negative "
                f"proportions (one per class: background, then each motif) with a positive "
                f"sum, got {weights.tolist()!r}."
            )
    if motif_jitter and motif_start is None:
        raise ValueError(
            f"{func} got motif_jitter={motif_jitter} without motif_start: the jitter moves "
            "the motif around a fixed start; pass an int motif_start, or motif_jitter=0."
        )
    rng = check_random_state(random_state)

    if weights is None:
        y = _balanced_labels(n_samples, n_classes, rng)
    else:
        shares = weights / weights.sum()
        sizes = np.floor(shares * n_samples).astype(int)
        # the rows left by rounding down go to the classes with the largest remainders
        sizes[np.argsort(sizes - shares * n_samples)[: n_samples - sizes.sum()]] += 1
        y = rng.permutation(np.repeat(np.arange(n_classes), sizes))
    background = np.array([1 - gc_content, gc_content, gc_content, 1 - gc_content]) / 2
    codes = np.searchsorted(np.cumsum(background), rng.random_sample((n_samples, length)))
    codes = np.minimum(codes, 3)  # guard against rounding at the top of the cumsum

    def plant(rows, consensus, starts):
        m = consensus.size
        keep = rng.random_sample((rows.size, m)) < conservation
        other = (consensus + 1 + rng.randint(0, 3, size=(rows.size, m))) % 4
        planted = np.where(keep, consensus, other)
        codes[rows[:, None], starts[:, None] + np.arange(m)] = planted

    consensi = [np.array([_DNA.index(c) for c in m]) for m in motifs]
    all_rows = np.arange(n_samples)
    for _ in range(n_decoys):
        which = rng.randint(0, len(motifs), size=n_samples)
        for k, consensus in enumerate(consensi):
            rows = all_rows[which == k]
            starts = rng.randint(0, length - consensus.size + 1, size=rows.size)
            plant(rows, consensus, starts)

    positions = [None] * n_samples
    for k, consensus in enumerate(consensi, start=1):
        rows = np.flatnonzero(y == k)
        if motif_start is None:
            starts = rng.randint(0, length - consensus.size + 1, size=rows.size)
        else:
            starts = np.full(rows.size, motif_start)
            if motif_jitter:  # no draw without jitter: the same windows as before it
                shift = rng.randint(-motif_jitter, motif_jitter + 1, size=rows.size)
                starts = np.clip(starts + shift, 0, length - consensus.size)
        plant(rows, consensus, starts)
        for i, start in zip(rows.tolist(), starts.tolist()):
            positions[i] = (start, start + consensus.size)

    X = _codes_to_strings(codes, np.full(n_samples, length), _DNA)
    if return_motif_positions:
        return X, y, positions
    return X, y
