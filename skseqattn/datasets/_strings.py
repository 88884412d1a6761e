"""Synthetic strings: domain names (benign and generated, by family) and first names by gender."""

import string
from numbers import Integral

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, validate_params

from ._generation import (
    _LENGTH,
    _N_SAMPLES,
    _balanced_labels,
    _check_lengths,
    _choice,
    _codes_to_strings,
    _uniform_lengths,
)

__all__ = ["make_domain_names", "make_first_names"]

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
