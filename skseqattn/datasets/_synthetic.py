"""Generators of synthetic sequence classification tasks, and a padding helper.

Each task is built so that the signal a model should find is known exactly (a motif and
where it lies, the last character, the sign of the last step), which makes the tasks useful
for tests of padding and attention and for benchmarks of how default settings generalise.
"""

import string
from numbers import Integral, Real

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

__all__ = [
    "make_dna_windows",
    "make_domain_names",
    "make_first_names",
    "make_last_token_sequences",
    "make_motif_sequences",
    "make_variable_length_series",
    "pad_sequences",
]

_DNA = "ACGT"

# --------------------------------------------------------------------------- validation

# Types and ranges of single parameters are checked by sklearn's validate_params; the
# checks below are the ones it cannot express: relations between parameters and the
# content of strings.


def _check_lengths(func, min_len, max_len):
    if min_len > max_len:
        raise ValueError(
            f"{func} expected min_len <= max_len, got min_len={min_len} and "
            f"max_len={max_len}; raise max_len or lower min_len."
        )


def _check_alphabet(func, alphabet, *, min_size=2):
    if len(set(alphabet)) != len(alphabet) or len(alphabet) < min_size or "\0" in alphabet:
        raise ValueError(
            f"{func} expected alphabet to hold at least {min_size} distinct characters "
            f"(and no NUL), got {alphabet!r}; remove repeated characters or add more."
        )


_N_SAMPLES = [Interval(Integral, 1, None, closed="left")]
_LENGTH = [Interval(Integral, 1, None, closed="left")]


# --------------------------------------------------------------------------- helpers


def _balanced_labels(n_samples, n_classes, rng):
    """Labels 0..n_classes-1 in random order, with class sizes differing by at most one."""
    return rng.permutation(np.arange(n_samples) % n_classes)


def _uniform_lengths(n_samples, min_len, max_len, rng):
    return rng.randint(min_len, max_len + 1, size=n_samples)


def _codes_to_strings(codes, lengths, alphabet):
    """Turn a (n, width) array of indices into `alphabet` into n strings of given lengths.

    Vectorised: characters past each length become NUL, which numpy drops from the end of
    fixed-width unicode strings, so one view turns each row into its string.
    """
    n, width = codes.shape
    if width == 0:
        return [""] * n
    table = np.array([*alphabet, ""], dtype="<U1")  # the last entry, "", is NUL
    past_end = np.arange(width) >= np.asarray(lengths)[:, None]
    chars = table[np.where(past_end, len(alphabet), codes)]
    return np.ascontiguousarray(chars).view(f"<U{width}").ravel().tolist()


def _choice(rng, options, size, p=None):
    """rng.choice over a tuple of str, returning a list of str."""
    idx = rng.choice(len(options), size=size, p=p)
    return np.asarray(options, dtype=object)[idx].tolist()


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


# --------------------------------------------------------------------------- domains

_WORDS = (
    "air app art auto bank bay bear best bet big bio bird bit black blog blue boat book box "
    "brand bright buy cafe camp car card care cash cat city clean click clinic cloud club "
    "coast code coffee cool craft daily data deal dental design dev digital direct dog dream "
    "east easy eco edu energy express farm fashion fast film find fire fit flow fly food "
    "forest fox free fresh fun game garden get global go gold golf good green group guide "
    "health help hill home host hot house hub idea info inn job joy key kids king lab lake "
    "land law learn life light line link live local love mail market media med mind mobile "
    "money moon motor music my net new news next north one online open pay pet photo pixel "
    "plan play plus point post power press pro quick radio red rent river road rock room "
    "safe school sea secure sell shop sky smart social soft solar south space sport star "
    "store studio style sun super sure swift talk taxi team tech the time today top tour "
    "town toy trade travel tree trip true tv union up usa value vision wave way web well west "
    "white wild wine wise wolf work world yoga you zone"
).split()
_CONSONANTS = tuple("bcdfghjklmnprstvz") + ("br", "ch", "cl", "st", "tr", "sh")
_VOWELS = tuple("aeiou") + ("ai", "ea", "ou")
_BENIGN_TLDS = (
    ("com", "org", "net", "de", "co.uk", "io", "fr", "ru", "info", "nl", "it", "es"),
    (0.46, 0.1, 0.08, 0.07, 0.05, 0.04, 0.04, 0.04, 0.03, 0.03, 0.03, 0.03),
)
_BENIGN_SUBDOMAINS = (
    ("", "www.", "mail.", "shop.", "blog.", "m.", "api."),
    (0.72, 0.16, 0.03, 0.03, 0.02, 0.02, 0.02),
)
_DGA_TLDS = (
    ("com", "net", "org", "info", "biz", "ru", "cc", "ws", "xyz", "top"),
    (0.3, 0.15, 0.1, 0.1, 0.08, 0.08, 0.05, 0.04, 0.05, 0.05),
)
# How make_domain_names builds word-based names (benchmarks/bench_accuracy.py derives the
# generator's Bayes rule from the same values).
_BENIGN_WORDS_SHARE = 0.7  # of benign names; the rest are pronounceable pseudo-words
_BENIGN_N_WORDS = ((1, 2, 3), (0.3, 0.5, 0.2))  # words per benign name, and their odds
_BENIGN_HYPHEN = 0.15  # benign word names whose words a hyphen joins
_BENIGN_NUMBERED = 0.08  # benign names followed by one of _BENIGN_NUMBERS
_BENIGN_NUMBERS = ("24", "365", "1", "2", "4u", "360", "99", "2go")
_DGA_N_WORDS = (2, 3, 4)  # words per DGA word name, uniform
_DOMAIN_FAMILIES = (
    "benign-words",
    "benign-syllables",
    "dga-letters",
    "dga-alphanumeric",
    "dga-hex",
    "dga-words",
)


def _pseudo_words(n, rng, min_syllables, max_syllables, *, p_closed=0.25, vowels=_VOWELS):
    """Pronounceable pseudo-words: consonant-vowel syllables, closed with prob `p_closed`."""
    n_syl = rng.randint(min_syllables, max_syllables + 1, size=n)
    width = max_syllables
    onset = np.asarray(_CONSONANTS, dtype=object)[rng.randint(len(_CONSONANTS), size=(n, width))]
    vowel = np.asarray(vowels, dtype=object)[rng.randint(len(vowels), size=(n, width))]
    coda = np.where(
        rng.random_sample((n, width)) < p_closed,
        np.asarray(tuple("nrlst"), dtype=object)[rng.randint(5, size=(n, width))],
        "",
    )
    syllables = (onset + vowel + coda).tolist()
    return ["".join(row[:k]) for row, k in zip(syllables, n_syl.tolist())]


def _random_strings(n, rng, alphabet, min_len, max_len):
    lengths = _uniform_lengths(n, min_len, max_len, rng)
    codes = rng.randint(len(alphabet), size=(n, max_len))
    return _codes_to_strings(codes, lengths, alphabet)


@validate_params(
    {
        "n_samples": _N_SAMPLES,
        "max_len": [Interval(Integral, 24, None, closed="left")],
        "return_families": ["boolean"],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_domain_names(n_samples=1000, *, max_len=70, return_families=False, random_state=None):
    """Generate benign and machine-generated (DGA-like) domain names.

    A binary task modelled on the detection of domain generation algorithms, which malware
    uses to find its command servers. Half of the names (class 0) look benign: one to three
    English word pieces or pronounceable pseudo-words, sometimes joined by hyphens or
    followed by a number, under common top-level domains and sometimes a subdomain such as
    ``www.``. The other half (class 1) come in equal shares from four DGA families: random
    letters, random letters and digits, hexadecimal strings, and concatenations of two to
    four dictionary words (the hard family, which shares its vocabulary with benign names).

    Parameters
    ----------
    n_samples : int, default=1000
        Number of domain names.

    max_len : int, default=70
        Longest name, top-level domain included; longer names are cut before the
        top-level domain. At least 24.

    return_families : bool, default=False
        If True, also return the family of each name.

    random_state : int, RandomState instance or None, default=None
        Seed or generator for reproducible output.

    Returns
    -------
    X : list of str
        The domain names, lowercase.

    y : ndarray of int of shape (n_samples,)
        0 for benign, 1 for machine-generated; balanced.

    families : ndarray of str of shape (n_samples,)
        Only if `return_families`: one of 'benign-words', 'benign-syllables',
        'dga-letters', 'dga-alphanumeric', 'dga-hex', 'dga-words'.

    Examples
    --------
    >>> from skseqattn.datasets import make_domain_names
    >>> X, y, families = make_domain_names(6, return_families=True, random_state=1)
    >>> for name, label, family in zip(X, y, families):
    ...     print(label, family.ljust(16), name)
    0 benign-words     cardtop.com
    1 dga-hex          4e477d490c20da7c1798ac40c1e.com
    0 benign-syllables chergou.net
    0 benign-words     blog.lawroad.com
    1 dga-letters      tjspaezpcxhziwjdhxefz.xyz
    1 dga-alphanumeric 8kxpxzh2k6.info
    """
    rng = check_random_state(random_state)

    y = _balanced_labels(n_samples, 2, rng)
    families = np.empty(n_samples, dtype=object)
    benign = np.flatnonzero(y == 0)
    families[benign] = np.where(
        rng.random_sample(benign.size) < _BENIGN_WORDS_SHARE, "benign-words", "benign-syllables"
    )
    dga = np.flatnonzero(y == 1)
    families[dga] = np.asarray(_DOMAIN_FAMILIES[2:], dtype=object)[
        _balanced_labels(dga.size, 4, rng)
    ]

    bases = np.empty(n_samples, dtype=object)
    words = np.asarray(_WORDS, dtype=object)

    rows = np.flatnonzero(families == "benign-words")
    n_words = rng.choice(list(_BENIGN_N_WORDS[0]), size=rows.size, p=list(_BENIGN_N_WORDS[1]))
    pieces = words[rng.randint(len(words), size=(rows.size, max(_BENIGN_N_WORDS[0])))].tolist()
    seps = np.where(rng.random_sample(rows.size) < _BENIGN_HYPHEN, "-", "").tolist()
    bases[rows] = [sep.join(row[:k]) for row, k, sep in zip(pieces, n_words.tolist(), seps)]

    rows = np.flatnonzero(families == "benign-syllables")
    first = _pseudo_words(rows.size, rng, 2, 3)
    second = _pseudo_words(rows.size, rng, 1, 3)
    two = rng.random_sample(rows.size) < 0.3
    bases[rows] = [a + b if t else a for a, b, t in zip(first, second, two.tolist())]

    benign_rows = np.flatnonzero(y == 0)
    numbered = benign_rows[rng.random_sample(benign_rows.size) < _BENIGN_NUMBERED]
    numbers = rng.choice(list(_BENIGN_NUMBERS), size=numbered.size)
    bases[numbered] = [b + s for b, s in zip(bases[numbered].tolist(), numbers.tolist())]

    rows = np.flatnonzero(families == "dga-letters")
    bases[rows] = _random_strings(rows.size, rng, string.ascii_lowercase, 8, 24)
    rows = np.flatnonzero(families == "dga-alphanumeric")
    bases[rows] = _random_strings(rows.size, rng, string.ascii_lowercase + string.digits, 10, 30)
    rows = np.flatnonzero(families == "dga-hex")
    bases[rows] = _random_strings(rows.size, rng, "0123456789abcdef", 16, 32)
    rows = np.flatnonzero(families == "dga-words")
    n_words = rng.randint(_DGA_N_WORDS[0], _DGA_N_WORDS[-1] + 1, size=rows.size)
    pieces = words[rng.randint(len(words), size=(rows.size, _DGA_N_WORDS[-1]))].tolist()
    bases[rows] = ["".join(row[:k]) for row, k in zip(pieces, n_words.tolist())]

    prefixes = np.full(n_samples, "", dtype=object)
    tlds = np.empty(n_samples, dtype=object)
    prefixes[benign] = _choice(rng, _BENIGN_SUBDOMAINS[0], benign.size, p=_BENIGN_SUBDOMAINS[1])
    tlds[benign] = _choice(rng, _BENIGN_TLDS[0], benign.size, p=_BENIGN_TLDS[1])
    tlds[dga] = _choice(rng, _DGA_TLDS[0], dga.size, p=_DGA_TLDS[1])

    X = []
    for prefix, base, tld in zip(prefixes.tolist(), bases.tolist(), tlds.tolist()):
        room = max_len - len(prefix) - len(tld) - 1
        X.append(f"{prefix}{base[:room].rstrip('-')}.{tld}")
    if return_families:
        return X, y, families.astype(str)
    return X, y


# --------------------------------------------------------------------------- first names

# (ending, probability that a name with this ending is labelled 'F')
_NAME_ENDINGS = (
    ("a", 0.9),
    ("ia", 0.95),
    ("ina", 0.95),
    ("elle", 0.92),
    ("ette", 0.92),
    ("e", 0.7),
    ("ie", 0.8),
    ("i", 0.75),
    ("y", 0.6),
    ("o", 0.15),
    ("us", 0.05),
    ("er", 0.2),
    ("an", 0.3),
    ("en", 0.3),
    ("on", 0.15),
    ("el", 0.35),
    ("is", 0.5),
    ("ard", 0.05),
    ("ik", 0.1),
    ("d", 0.1),
    ("t", 0.15),
    ("n", 0.3),
)


@validate_params(
    {
        "n_samples": _N_SAMPLES,
        "min_len": _LENGTH,
        # names need room for a stem and an ending
        "max_len": [Interval(Integral, 6, None, closed="left")],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_first_names(n_samples=1000, *, min_len=3, max_len=10, random_state=None):
    """Generate first-name-like strings with a noisy, ending-based binary label.

    Each name is a capitalised pronounceable stem of one to three syllables followed by one
    of 22 endings. The label, 'F' or 'M', depends only on the ending, and only in
    probability: a name ending in 'a' is labelled 'F' with probability 0.9, one ending in
    'us' with probability 0.05, one ending in 'is' with probability 0.5, and so on. So the
    task has irreducible error, like the gender-from-name tasks it imitates.

    Parameters
    ----------
    n_samples : int, default=1000
        Number of names.

    min_len, max_len : int, default=3, 10
        Bounds (inclusive) of the name lengths; names outside them are drawn again.
        `max_len` must be at least 6.

    random_state : int, RandomState instance or None, default=None
        Seed or generator for reproducible output.

    Returns
    -------
    X : list of str
        The names.

    y : ndarray of str of shape (n_samples,)
        'F' or 'M'. Classes are not balanced on purpose; about 45 % are 'F'.

    Notes
    -----
    The Bayes classifier (predict 'F' when the ending's probability exceeds 0.5) has an
    accuracy of about 0.81; no model can do better on average.

    Examples
    --------
    >>> from skseqattn.datasets import make_first_names
    >>> X, y = make_first_names(5, random_state=0)
    >>> X
    ['Racian', 'Kateel', 'Hosolan', 'Mea', 'Luette']
    >>> y
    array(['M', 'M', 'F', 'F', 'F'], dtype='<U1')
    """
    func = "make_first_names"
    _check_lengths(func, min_len, max_len)
    rng = check_random_state(random_state)

    endings = np.asarray([e for e, _ in _NAME_ENDINGS], dtype=object)
    p_female = np.array([p for _, p in _NAME_ENDINGS])
    X = [None] * n_samples
    ending_idx = np.empty(n_samples, dtype=np.intp)
    pending = np.arange(n_samples)
    for _ in range(100):
        which = rng.randint(len(endings), size=pending.size)
        stems = _pseudo_words(pending.size, rng, 1, 3, p_closed=0.0, vowels=tuple("aeiou"))
        names = [(s + e).capitalize() for s, e in zip(stems, endings[which].tolist())]
        ok = np.array([min_len <= len(name) <= max_len for name in names], dtype=bool)
        for i, name, k in zip(pending[ok].tolist(), np.asarray(names, dtype=object)[ok], which[ok]):
            X[i] = name
            ending_idx[i] = k
        pending = pending[~ok]
        if pending.size == 0:
            break
    else:
        raise ValueError(
            f"{func} could not draw names with lengths in [{min_len}, {max_len}] in 100 "
            "attempts; widen the bounds."
        )
    female = rng.random_sample(n_samples) < p_female[ending_idx]
    y = np.where(female, "F", "M")
    return X, y


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
