"""Loader for the 18-language surname collection of the PyTorch char-RNN tutorial."""

import hashlib
import os
import shutil
import socket
import tempfile
import time
import warnings
import zipfile
from http.client import HTTPException
from numbers import Integral, Real
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit
from urllib.request import urlopen

import numpy as np
from sklearn.utils import Bunch
from sklearn.utils._param_validation import Interval, validate_params

from ._base import DATA_HOME_ENV, _remove_quietly, get_data_home

SURNAMES_URL = "https://download.pytorch.org/tutorial/data.zip"
"""Where :func:`fetch_surnames` downloads the data (a zip holding ``data/names/*.txt``)."""

SURNAMES_SHA256 = {
    "Arabic.txt": "6f424a8dbe51cbbbabab7a57d38b617210125e4e3991f3c657cb79b8f104bafc",
    "Chinese.txt": "49263ef55a8cb1740e841d65cad8214b2f9b5b869bc534c811746422496fa91e",
    "Czech.txt": "145bbbd6d0816578f03388e92c264d39ef1c60df920b081d371fa5c5cc055a8e",
    "Dutch.txt": "924f32b635170eae561f84538632138fc07d4c8bbd70ba3fb980de1ecc4d2af3",
    "English.txt": "9cca037066d3d5989e24bc01801416162de506b5e28e15b7c092a47905d29bf2",
    "French.txt": "81e65b36c60ed5b89a17422f6edcadbb89546f38ad69e960e64e7ba682012a95",
    "German.txt": "7449cd590b97a733e18d613a4155decd77ec35dc5f8aadd7a82204dce4f051db",
    "Greek.txt": "3555b5186de7f401e6d991b088e9e644ca3099116477818c25ab5793801389e6",
    "Irish.txt": "cf8c7013256252a88d2503127b87282a11f21b2ff6db1bded68834c19a1ec058",
    "Italian.txt": "f88414c27d0606a11a678b4859277828c2565d6cc4d9ee932deef6e94f3b35e4",
    "Japanese.txt": "e0e717e114fec3e7eade4d9dabe0067c475f43147e36a22b47902ee76ad9e67f",
    "Korean.txt": "cd54221ccb362a6cba4c78828838cf3268a0e59744767a37cf6ec4b74036b136",
    "Polish.txt": "45bab898af2f60ed3a728bbf6980e28821011a7caa53227553b5785903a40826",
    "Portuguese.txt": "50a8735f41f4f73757c8ce5b16cb0275cd86b2b214bcbc8c9805f508cb131c53",
    "Russian.txt": "43b3e64ce351f77f1ac9e0cdf7566012d127f4371875fd25208845b5c9d6f7c3",
    "Scottish.txt": "78d0252711d87d948ea86fe34826c51d2d794a8e52d15b5d6f7b6244d45d62dd",
    "Spanish.txt": "1bcb462ed3316756a85781d68232bddae04498fdddd5d9219c53fd1fbdeba7a7",
    "Vietnamese.txt": "f3f9e4164ab47601178a6e45b216464a64122f49d05541f24bf18a757253281d",
}
"""SHA-256 of each ``names/<Language>.txt`` file inside :data:`SURNAMES_URL`.

The zip itself is not checked (its other contents may change); after extraction every one of
these files must be present and match, else the download is deleted and an error raised.
"""

DOWNLOAD_TIMEOUT = 60.0
"""Seconds :func:`fetch_surnames` waits on the server before giving up on an attempt."""

_CACHE_DIR = "surnames"  # listed in _base.CACHE_FOLDERS, so clear_data_home removes it
_LOCAL_DIR = "names"
_ZIP_PREFIXES = ("data/names/", "names/")  # the tutorial zip uses data/names/
_MAX_MEMBER_BYTES = 16 * 2**20  # refuse absurd members before reading them into memory
_JUNK_LINES = frozenset({"to the first page"})  # compared after collapsing whitespace, casefold

DESCR = """\
.. _surnames_dataset:

Surnames of 18 languages
------------------------

Surnames labelled with the language (or country) they come from, as used by the PyTorch
tutorial "Classifying names with a character-level RNN" (Sean Robertson). Each file
``names/<Language>.txt`` of ``https://download.pytorch.org/tutorial/data.zip`` holds one
surname per line, UTF-8; the file name is the label.

**Data set characteristics (reference copy):**

=================================  ===========================================
Classes                            18 (Arabic, Chinese, Czech, Dutch, English,
                                   French, German, Greek, Irish, Italian,
                                   Japanese, Korean, Polish, Portuguese,
                                   Russian, Scottish, Spanish, Vietnamese)
Lines in the files                 20,074
After dropping junk lines          20,050
Unique (name, language) pairs      18,013 (the default, ``deduplicate=True``)
Names under several languages      469 names, in 1,031 pairs
Without them (``drop_ambiguous``)  16,982 pairs
Name length                        2 to 20 characters (mean 7.3, unique pairs)
Characters                         ASCII letters, accented Latin letters,
                                   space, apostrophe, hyphen, comma, and a
                                   few stray ``1``, ``/`` and ``:``
=================================  ===========================================

Unique pairs per language (``deduplicate=True``): Russian 9,340; English 3,668;
Japanese 990; German 706; Italian 701; Czech 503; Spanish 296; Dutch 286; French 273;
Chinese 246; Irish 226; Greek 193; Polish 138; Arabic 108; Scottish 100; Korean 94;
Portuguese 74; Vietnamese 71.

**Quirks, and what the loader does about them:**

- Russian.txt holds 24 junk lines "To The First Page" (one with a no-break space), left from
  the web page the list was scraped from. They are always dropped (compared after collapsing
  whitespace, ignoring case).
- Duplicates: Arabic.txt has 2,000 lines but only 108 distinct names, and other files repeat
  names too (2,037 repeated lines in all). Unless they are removed, copies of one name land in
  both the training and the test split and inflate the score. ``deduplicate=True`` (the
  default) keeps each (name, language) pair once, at its first occurrence.
- Irreducible ambiguity: 469 names occur under more than one language (85 under both English
  and Scottish, 51 English and Irish, 31 English and French, ...; one under 6 languages). By
  default such a name is kept once under each of its languages, so no classifier can get all
  of them right and an accuracy around 0.8 is already good. ``drop_ambiguous=True`` removes
  every such name; note that this leaves only 1 of Scottish's 100 names, and 32 of
  Portuguese's 74.
- Heavy class imbalance: Russian is about half of the data. Report macro-F1 beside accuracy
  and stratify splits.
- Leading and trailing whitespace (10 lines) is stripped and empty lines are dropped. Names
  that differ only in case (``An`` and ``an`` in Vietnamese.txt) are kept as distinct names.

Samples are ordered by language file (sorted by name), then by first occurrence in the file.

**Provenance and licence:** the 18 files are those of ``data/names/`` in
``https://download.pytorch.org/tutorial/data.zip``, the data of the PyTorch tutorial cited
below, unchanged: a downloaded (or cached) copy is checked against the SHA-256 sum of each
file in that zip. The names were collected from public web pages (the junk lines above are
left from one). No licence is stated for the data itself; it is distributed by the PyTorch
project with its tutorials, whose repository (https://github.com/pytorch/tutorials) is under
the BSD 3-Clause licence. Check that this suits your use before you redistribute it.

**Where the data comes from, in this order:** a folder ``<data_home>/names/`` that you placed
there yourself (read as is; a warning is issued when files of the reference copy are missing
or differ from it), a copy cached by an earlier download in ``<data_home>/surnames/names/``,
else a download of the zip whose 18 files are checked against SHA-256 sums before they are
cached. ``data_home`` defaults to the environment variable ``SKSEQATTN_DATA``, else
``~/skseqattn_data``.

"""

_REFERENCES = """
.. rubric:: References

Sean Robertson. "NLP From Scratch: Classifying Names with a Character-Level RNN". PyTorch
Tutorials. https://pytorch.org/tutorials/intermediate/char_rnn_classification_tutorial.html
"""


@validate_params(
    {
        "data_home": [str, os.PathLike, None],
        "download_if_missing": ["boolean"],
        "deduplicate": ["boolean"],
        "drop_ambiguous": ["boolean"],
        "return_X_y": ["boolean"],
        "as_frame": ["boolean"],
        "n_retries": [Interval(Integral, 0, None, closed="left")],
        "delay": [Interval(Real, 0, None, closed="left")],
    },
    prefer_skip_nested_validation=True,
)
def fetch_surnames(
    *,
    data_home=None,
    download_if_missing=True,
    deduplicate=True,
    drop_ambiguous=False,
    return_X_y=False,
    as_frame=False,
    n_retries=3,
    delay=1.0,
):
    """Load the surname data set (18 languages), downloading it if needed.

    The classic data set of the PyTorch tutorial "Classifying names with a character-level
    RNN": about 18,000 surnames labelled with one of 18 languages. Read more in the
    description returned as ``DESCR``.

    =================  ==================
    Classes                            18
    Samples (default)              18,013
    Features           str, 2-20 characters
    =================  ==================

    The data is looked for, in this order, in:

    1. ``<data_home>/names/*.txt``, a folder you placed there yourself (for example the
       ``names/`` folder of the unzipped download). It is read as is, so you may add or
       remove languages; a warning is issued when some of the 18 reference files are
       missing or differ from the reference copy.
    2. ``<data_home>/surnames/names/``, the copy an earlier download left; its checksums are
       checked again and a damaged copy is replaced.
    3. A download of :data:`SURNAMES_URL` (if `download_if_missing`). The 18 files are
       extracted and checked against known SHA-256 sums before they are cached; the zip is
       then deleted.

    Parameters
    ----------
    data_home : str or path-like, default=None
        Folder to look for and keep the data in. If None, the environment variable
        ``SKSEQATTN_DATA``, else ``~/skseqattn_data``. See :func:`get_data_home`.

    download_if_missing : bool, default=True
        If False, raise an OSError instead of downloading when no copy is found.

    deduplicate : bool, default=True
        Keep each (name, language) pair once, at its first occurrence. Without this, the
        2,037 repeated lines (1,892 of them in Arabic.txt) leak between train and test
        splits.

    drop_ambiguous : bool, default=False
        Remove every name that occurs under more than one language (469 names on the
        reference copy). This removes the irreducible error, but also almost all of the
        Scottish class.

    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.

    as_frame : bool, default=False
        If True, `data` and `target` are pandas Series (``name`` and ``language``) and the
        Bunch holds both in the DataFrame `frame`. Needs pandas.

    n_retries : int, default=3
        Number of retries when the download fails with a network error. A host name that
        does not resolve (the machine is offline) and an HTTP 4xx error are not retried:
        the error is raised at once.

    delay : float, default=1.0
        Seconds to wait between download attempts.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the following attributes.

        data : list of str, or pandas Series if `as_frame`
            The surnames, ordered by language, then by first occurrence in its file. With
            `as_frame`, a Series named ``name`` rather than a one-column DataFrame, so that
            it can be passed to :class:`~skseqattn.CharSequenceVectorizer` as is.
        target : ndarray of str of shape (n_samples,), or pandas Series if `as_frame`
            The language of each surname (a Series named ``language``).
        frame : pandas DataFrame of shape (n_samples, 2), or None
            The columns ``name`` and ``language`` if `as_frame`, else None.
        target_names : ndarray of str
            The languages, sorted.
        DESCR : str
            Description of the data set: source, licence, figures, quirks, and where this
            copy was read from.

    (data, target) : tuple if ``return_X_y`` is True
        The surnames (list of str, or Series) and their languages (ndarray of str, or
        Series).

    Raises
    ------
    OSError
        If no copy is found and `download_if_missing` is False, if the download fails, or
        if the downloaded files do not match their checksums. The message says where the
        loader looked and how to provide a copy by hand.

    See Also
    --------
    get_data_home : Where the data is looked for and kept.
    clear_data_home : Remove the cached download.

    Notes
    -----
    Lines are decoded as UTF-8 and stripped of surrounding whitespace; empty lines and the
    24 junk lines "To The First Page" of Russian.txt are always dropped. On the reference
    copy the stages give 20,074 lines, 20,050 after junk removal, 18,013 unique (name,
    language) pairs, and 16,982 pairs once the 469 ambiguous names are dropped.

    Examples
    --------
    The default call downloads the data once and reads the cache afterwards:

    >>> from skseqattn.datasets import fetch_surnames
    >>> surnames = fetch_surnames()  # doctest: +SKIP
    >>> len(surnames.data), len(surnames.target_names)  # doctest: +SKIP
    (18013, 18)

    A folder ``names/`` in the data home is read instead, whatever languages it holds:

    >>> import os, tempfile
    >>> home = tempfile.mkdtemp()
    >>> os.makedirs(os.path.join(home, "names"))
    >>> for language, lines in [("Basque", "Etxeberria\\nAguirre\\nEtxeberria\\n"),
    ...                         ("Welsh", "Jones\\nAguirre\\n")]:
    ...     path = os.path.join(home, "names", language + ".txt")
    ...     with open(path, "w", encoding="utf-8") as f:
    ...         _ = f.write(lines)
    >>> surnames = fetch_surnames(data_home=home)
    >>> surnames.data
    ['Etxeberria', 'Aguirre', 'Jones', 'Aguirre']
    >>> surnames.target.tolist()
    ['Basque', 'Basque', 'Welsh', 'Welsh']
    >>> surnames.target_names.tolist()
    ['Basque', 'Welsh']
    >>> X, y = fetch_surnames(data_home=home, drop_ambiguous=True, return_X_y=True)
    >>> X, y.tolist()
    (['Etxeberria', 'Jones'], ['Basque', 'Welsh'])
    """
    data_home = get_data_home(data_home)
    contents, folder, origin = _load_contents(
        data_home, download_if_missing=download_if_missing, n_retries=n_retries, delay=delay
    )
    return _make_bunch(
        contents,
        folder,
        origin,
        deduplicate=deduplicate,
        drop_ambiguous=drop_ambiguous,
        return_X_y=return_X_y,
        as_frame=as_frame,
    )


def _make_bunch(contents, folder, origin, *, deduplicate, drop_ambiguous, return_X_y, as_frame):
    """Parse {file name: bytes} into what fetch_surnames returns (a Bunch, or X and y)."""
    names, languages, stats = _parse(contents, deduplicate=deduplicate)
    if drop_ambiguous:
        names, languages, stats = _drop_ambiguous(names, languages, stats)
    else:
        stats["ambiguous_names"] = _count_ambiguous(names, languages)

    target = np.asarray(languages, dtype=str)
    target_names = np.unique(target)
    data, frame = names, None
    if as_frame:
        pd = _import_pandas()
        data = pd.Series(names, name="name", dtype=object)
        target = pd.Series(languages, name="language", dtype=object)
        frame = pd.concat([data, target], axis=1)
    if return_X_y:
        return data, target
    copy = _describe_copy(folder, origin, stats, deduplicate, drop_ambiguous)
    return Bunch(
        data=data,
        target=target,
        frame=frame,
        target_names=target_names,
        DESCR=DESCR + copy + _REFERENCES,
    )


def _import_pandas():
    try:
        import pandas as pd
    except ImportError as exc:
        raise ImportError(
            "fetch_surnames(as_frame=True) needs pandas, which is not installed; install it with "
            "pip install 'skseqattn[pandas]' (or pip install pandas), or pass as_frame=False."
        ) from exc
    return pd


# --------------------------------------------------------------------------- locating


def _load_contents(data_home, *, download_if_missing, n_retries, delay):
    """Return ({file name: bytes}, folder, origin) from the first place that has the data."""
    local = Path(data_home) / _LOCAL_DIR
    cache = Path(data_home) / _CACHE_DIR / _LOCAL_DIR

    local_files = sorted(local.glob("*.txt")) if local.is_dir() else []
    if local_files:
        contents = {path.name: path.read_bytes() for path in local_files}
        problems = _checksum_problems(contents, user_folder=True)
        if problems:
            warnings.warn(
                f"fetch_surnames read the folder {local} as is, but it differs from the "
                f"reference copy of the surname data: {'; '.join(problems)}. Figures will "
                "differ from the documented ones. To use the reference copy instead, rename "
                "that folder; fetch_surnames will then download and verify it.",
                UserWarning,
                stacklevel=3,
            )
        return contents, local, "a folder placed in the data home"

    if cache.is_dir():
        contents = {path.name: path.read_bytes() for path in sorted(cache.glob("*.txt"))}
        problems = _checksum_problems(contents)
        if not problems:
            return contents, cache, "the cache of an earlier download"
        _remove_quietly(cache)
        if not download_if_missing:
            raise OSError(
                f"fetch_surnames found a damaged cached copy of the surname data in {cache} "
                f"({'; '.join(problems)}) and removed it; download_if_missing=False forbids "
                f"downloading a fresh one. {_advice(data_home)}"
            )
        warnings.warn(
            f"fetch_surnames found a damaged cached copy of the surname data in {cache} "
            f"({'; '.join(problems)}); it was removed and will be downloaded again.",
            UserWarning,
            stacklevel=3,
        )

    if not download_if_missing:
        raise OSError(
            f"fetch_surnames found no copy of the surname data: it looked for a folder "
            f"{local} and for a cached download in {cache}, and download_if_missing=False "
            f"forbids downloading it. {_advice(data_home)}"
        )
    contents = _download_and_cache(data_home, n_retries=n_retries, delay=delay)
    return contents, cache, f"a download of {SURNAMES_URL}"


def _advice(data_home):
    """How to provide a copy by hand; shared by every error message."""
    english = Path(data_home) / _LOCAL_DIR / "English.txt"
    return (
        f"To provide a copy by hand, download {SURNAMES_URL}, unzip it and place its names/ "
        f"folder (18 files such as English.txt) so that {english} exists; or set the "
        f"environment variable {DATA_HOME_ENV} (or pass data_home=) to a folder that holds "
        "names/."
    )


def _sha256(data):
    return hashlib.sha256(data).hexdigest()


def _checksum_problems(contents, *, user_folder=False):
    """List how `contents` ({file name: bytes}) differ from :data:`SURNAMES_SHA256`.

    For a user's folder, extra files are fine and missing ones are reported only when the
    folder holds at least one reference file (a folder of other languages is no copy of it).
    """
    expected = SURNAMES_SHA256
    problems = []
    present = [name for name in expected if name in contents]
    if not user_folder or present:
        missing = [name for name in expected if name not in contents]
        if missing:
            problems.append(f"missing {', '.join(missing)}")
    for name in present:
        digest = _sha256(contents[name])
        if digest != expected[name]:
            problems.append(f"{name} has SHA-256 {digest}, expected {expected[name]}")
    return problems


# --------------------------------------------------------------------------- downloading


_NETWORK_ERRORS = (URLError, TimeoutError, ConnectionError, HTTPException, socket.gaierror)


def _is_dns_failure(exc):
    """Whether `exc` says the host name did not resolve (no network, or no DNS)."""
    return isinstance(exc, socket.gaierror) or (
        isinstance(exc, URLError) and isinstance(exc.reason, socket.gaierror)
    )


def _is_final(exc):
    """Whether a failed download attempt is not worth retrying: an HTTP 4xx or a DNS failure."""
    return (isinstance(exc, HTTPError) and exc.code < 500) or _is_dns_failure(exc)


def _download(url, path, *, n_retries, delay):
    """Download `url` to `path` through a temporary file in the same folder, then rename."""
    folder = os.path.dirname(path)
    fd, tmp_path = tempfile.mkstemp(dir=folder, prefix=".download-", suffix=".part")
    os.close(fd)
    try:
        for attempt in range(n_retries + 1):
            try:
                with urlopen(url, timeout=DOWNLOAD_TIMEOUT) as response:
                    with open(tmp_path, "wb") as f:
                        shutil.copyfileobj(response, f)
                break
            except _NETWORK_ERRORS as exc:
                # Retrying cannot help a 404, nor a host name that does not resolve (offline).
                if _is_final(exc) or attempt == n_retries:
                    raise
                time.sleep(delay)
        os.replace(tmp_path, path)
    finally:
        _remove_quietly(tmp_path)


def _download_and_cache(data_home, *, n_retries, delay):
    """Download the zip, check its 18 files, cache them; return {file name: bytes}."""
    cache_root = Path(data_home) / _CACHE_DIR
    cache = cache_root / _LOCAL_DIR
    try:
        cache_root.mkdir(parents=True, exist_ok=True)
        probe, probe_path = tempfile.mkstemp(dir=cache_root, prefix=".probe-")
        os.close(probe)
        os.remove(probe_path)
    except OSError as exc:
        raise OSError(
            f"fetch_surnames needs to download the surname data but cannot write to "
            f"{cache_root} ({exc}); pass data_home= a writable folder or set "
            f"{DATA_HOME_ENV}. {_advice(data_home)}"
        ) from exc
    zip_path = cache_root / "data.zip"
    try:
        _download(SURNAMES_URL, zip_path, n_retries=n_retries, delay=delay)
    except _NETWORK_ERRORS as exc:
        reason = getattr(exc, "reason", None) or exc
        attempts = 1 if _is_final(exc) else n_retries + 1
        offline = (
            f"The host {urlsplit(SURNAMES_URL).hostname} did not resolve, so this machine "
            "looks offline (or its DNS is blocked); the download was not retried. "
            if _is_dns_failure(exc)
            else ""
        )
        raise OSError(
            f"fetch_surnames could not download the surname data from {SURNAMES_URL} "
            f"({type(exc).__name__}: {reason}) after {attempts} attempt(s), and found "
            f"no copy in {Path(data_home) / _LOCAL_DIR} nor in {cache}. {offline}If this "
            "machine is offline or behind a firewall, fetch the file on another one. "
            f"{_advice(data_home)}"
        ) from exc

    try:
        contents = _extract(zip_path)
        problems = _checksum_problems(contents)
        if problems:
            raise OSError(
                f"fetch_surnames downloaded {SURNAMES_URL}, but its content does not match "
                f"the reference copy of the surname data: {'; '.join(problems)}. The download "
                "is corrupt or was tampered with, so it was deleted. Try again later; if the "
                "error persists, check the file by hand. " + _advice(data_home)
            )
        tmp_dir = Path(tempfile.mkdtemp(dir=cache_root, prefix=".names-"))
        try:
            for name, data in contents.items():
                (tmp_dir / name).write_bytes(data)
            try:
                os.replace(tmp_dir, cache)
            except OSError:
                if not cache.is_dir():  # pragma: no cover - a concurrent call got there first
                    raise
        finally:
            _remove_quietly(tmp_dir)
    finally:
        _remove_quietly(zip_path)
    return contents


def _extract(zip_path):
    """Read the reference files from `zip_path`, under ``data/names/`` or ``names/``."""
    try:
        with zipfile.ZipFile(zip_path) as archive:
            members = {info.filename: info for info in archive.infolist() if not info.is_dir()}
            contents = {}
            for name in SURNAMES_SHA256:
                for prefix in _ZIP_PREFIXES:
                    info = members.get(prefix + name)
                    if info is None:
                        continue
                    if info.file_size > _MAX_MEMBER_BYTES:
                        raise OSError(
                            f"fetch_surnames downloaded {SURNAMES_URL}, but its member "
                            f"{info.filename} is {info.file_size} bytes, far more than the "
                            "surname files hold; the download was deleted."
                        )
                    contents[name] = archive.read(info)
                    break
    except zipfile.BadZipFile as exc:
        raise OSError(
            f"fetch_surnames downloaded {SURNAMES_URL}, but it is not a valid zip file "
            f"({exc}); the download is corrupt or was tampered with, so it was deleted. Try "
            "again later."
        ) from exc
    return contents


# --------------------------------------------------------------------------- parsing


def _parse(contents, *, deduplicate):
    """Turn {file name: bytes} into names, languages and per-stage counts."""
    names, languages = [], []
    seen = set()
    stats = {"files": 0, "lines": 0, "empty": 0, "junk": 0, "duplicates": 0}
    for file_name in sorted(contents):
        language = Path(file_name).stem
        try:
            text = contents[file_name].decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ValueError(
                f"fetch_surnames expected {file_name} to be UTF-8 text, but byte "
                f"{exc.start} is not valid UTF-8; save the file as UTF-8."
            ) from exc
        lines = text.split("\n")
        if lines[-1] == "":  # a final newline ends the last line; it opens no new one
            lines.pop()
        stats["files"] += 1
        stats["lines"] += len(lines)
        for line in lines:
            name = line.strip()
            if not name:
                stats["empty"] += 1
            elif " ".join(name.split()).casefold() in _JUNK_LINES:
                stats["junk"] += 1
            elif deduplicate and (name, language) in seen:
                stats["duplicates"] += 1
            else:
                seen.add((name, language))
                names.append(name)
                languages.append(language)
    return names, languages, stats


def _languages_by_name(names, languages):
    by_name = {}
    for name, language in zip(names, languages):
        by_name.setdefault(name, set()).add(language)
    return by_name


def _count_ambiguous(names, languages):
    return sum(len(langs) > 1 for langs in _languages_by_name(names, languages).values())


def _drop_ambiguous(names, languages, stats):
    by_name = _languages_by_name(names, languages)
    keep = [len(by_name[name]) == 1 for name in names]
    stats = {
        **stats,
        "ambiguous_names": sum(len(langs) > 1 for langs in by_name.values()),
        "ambiguous_dropped": len(keep) - sum(keep),
    }
    names = [name for name, k in zip(names, keep) if k]
    languages = [language for language, k in zip(languages, keep) if k]
    return names, languages, stats


def _describe_copy(folder, origin, stats, deduplicate, drop_ambiguous):
    """The part of DESCR about the copy that was actually read."""
    n_kept = stats["lines"] - stats["empty"] - stats["junk"] - stats["duplicates"]
    lines = [
        "",
        "**This copy:**",
        "",
        f"- Read from {folder} ({origin}): {stats['files']} files, {stats['lines']:,} lines.",
        f"- Dropped {stats['empty']:,} empty and {stats['junk']:,} junk lines.",
    ]
    if deduplicate:
        lines.append(
            f"- Dropped {stats['duplicates']:,} repeated (name, language) pairs "
            f"(deduplicate=True), leaving {n_kept:,}."
        )
    else:
        lines.append(f"- Kept repeated lines (deduplicate=False): {n_kept:,} samples.")
    if drop_ambiguous:
        lines.append(
            f"- Dropped the {stats['ambiguous_names']:,} names found under several languages "
            f"({stats['ambiguous_dropped']:,} samples; drop_ambiguous=True), leaving "
            f"{n_kept - stats['ambiguous_dropped']:,}."
        )
    else:
        lines.append(
            f"- Kept the {stats['ambiguous_names']:,} names found under several languages "
            "under each of them (drop_ambiguous=False)."
        )
    return "\n".join(lines) + "\n"
