"""What the generators of synthetic tasks share: checks of parameters and small draws."""

from numbers import Integral

import numpy as np
from sklearn.utils._param_validation import Interval

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
