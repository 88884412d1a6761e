"""Tests for skseqattn.datasets: the surname loader and the synthetic task generators.

No test needs the network or a copy of the real data: they build tiny folders and zips in
``tmp_path`` and point the loader at them through a ``file://`` URL and a matching checksum
table. One test checks the figures of the real data; it runs only when the environment
variable ``SKSEQATTN_DATA`` names a folder that holds ``names/``.
"""

import collections
import hashlib
import os
import socket
import string
import sys
import urllib.request
import warnings
import zipfile
from urllib.error import HTTPError, URLError

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.utils._param_validation import InvalidParameterError

from skseqattn.datasets import (
    _surnames,
    clear_data_home,
    fetch_surnames,
    get_data_home,
    make_dna_windows,
    make_domain_names,
    make_first_names,
    make_last_token_sequences,
    make_motif_sequences,
    make_variable_length_series,
    pad_sequences,
)

# Tiny stand-in for the 18 files: duplicates, junk lines (one with a no-break space), a blank
# line, surrounding whitespace, a name under two languages, accented letters, and files with
# and without a final newline.
TINY_FILES = {
    "English.txt": "Smith\nSmith\nO'Neal\nMacDonald\n",
    "Russian.txt": "Ivanov\nTo The First Page\nTo The First\u00a0 Page\n  \nPetrov\nIvanov",
    "Scottish.txt": "MacDonald\nCampbell",
    "Spanish.txt": "Muñoz\nPeña\n  Núñez \n",
}
TINY_NAMES = [
    "Smith",
    "O'Neal",
    "MacDonald",
    "Ivanov",
    "Petrov",
    "MacDonald",
    "Campbell",
    "Muñoz",
    "Peña",
    "Núñez",
]
TINY_TARGET = ["English"] * 3 + ["Russian"] * 2 + ["Scottish"] * 2 + ["Spanish"] * 3


def _sha256_table(files):
    return {name: hashlib.sha256(text.encode("utf-8")).hexdigest() for name, text in files.items()}


def _write_folder(folder, files):
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_bytes(text.encode("utf-8"))
    return folder


def _write_zip(path, files, prefix="data/names/"):
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("data/eng-fra.txt", "unrelated\n")
        for name, text in files.items():
            archive.writestr(prefix + name, text.encode("utf-8"))
    return path


class _CountingUrlopen:
    """Stands in for urlopen: counts calls, then opens the URL or raises `error`."""

    def __init__(self, error=None):
        self.calls = 0
        self.error = error

    def __call__(self, url, *args, **kwargs):
        self.calls += 1
        if self.error is not None:
            raise self.error
        return urllib.request.urlopen(url, *args, **kwargs)


@pytest.fixture
def remote(tmp_path, monkeypatch):
    """A tiny data.zip served through a file:// URL, with a matching checksum table."""
    zip_path = _write_zip(tmp_path / "remote.zip", TINY_FILES)
    monkeypatch.setattr(_surnames, "SURNAMES_URL", zip_path.as_uri())
    monkeypatch.setattr(_surnames, "SURNAMES_SHA256", _sha256_table(TINY_FILES))
    opener = _CountingUrlopen()
    monkeypatch.setattr(_surnames, "urlopen", opener)
    return zip_path, opener


@pytest.fixture
def home(tmp_path, monkeypatch):
    """An empty data home; SKSEQATTN_DATA is unset so that nothing else leaks in."""
    monkeypatch.delenv("SKSEQATTN_DATA", raising=False)
    folder = tmp_path / "home"
    folder.mkdir()
    return folder


def _leftovers(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


# --------------------------------------------------------------------------- data home


def test_get_data_home_argument_env_and_default(tmp_path, monkeypatch):
    monkeypatch.delenv("SKSEQATTN_DATA", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert get_data_home() == str(tmp_path / "skseqattn_data")
    assert (tmp_path / "skseqattn_data").is_dir()

    monkeypatch.setenv("SKSEQATTN_DATA", str(tmp_path / "from_env"))
    assert get_data_home() == str(tmp_path / "from_env")
    assert get_data_home(tmp_path / "explicit") == str(tmp_path / "explicit")
    assert get_data_home("~/tilde") == str(tmp_path / "tilde")


def test_get_data_home_rejects_non_path():
    with pytest.raises(TypeError, match="expected data_home to be a str.*got int"):
        get_data_home(3)


def test_clear_data_home_removes_only_the_cache(home, remote):
    _write_folder(home / "names", {"Basque.txt": "Etxeberria\n"})
    (home / "notes.txt").write_text("mine")
    (home / "surnames" / "names").mkdir(parents=True)
    removed = clear_data_home(home)
    assert removed == [str(home / "surnames")]
    assert _leftovers(home) == ["names", "names/Basque.txt", "notes.txt"]
    assert clear_data_home(home) == []


# --------------------------------------------------------------------------- local folder


def test_fetch_surnames_reads_local_folder(home, monkeypatch):
    _write_folder(home / "names", TINY_FILES)
    monkeypatch.setattr(_surnames, "SURNAMES_SHA256", _sha256_table(TINY_FILES))
    monkeypatch.setattr(_surnames, "urlopen", _CountingUrlopen(AssertionError("no download")))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        surnames = fetch_surnames(data_home=home)
    assert surnames.data == TINY_NAMES
    assert surnames.target.tolist() == TINY_TARGET
    assert surnames.target.dtype.kind == "U"
    assert surnames.target_names.tolist() == ["English", "Russian", "Scottish", "Spanish"]
    assert str(home / "names") in surnames.DESCR
    assert not (home / "surnames").exists()


def test_fetch_surnames_local_folder_that_differs_from_reference_warns(home):
    # The real checksum table: a hand-made English.txt differs from the reference copy.
    files = {"English.txt": "Smith\n", "Basque.txt": "Etxeberria\n"}
    _write_folder(home / "names", files)
    with pytest.warns(UserWarning, match=r"read the folder .* as is.*English\.txt has SHA-256"):
        surnames = fetch_surnames(data_home=home, download_if_missing=False)
    assert surnames.data == ["Etxeberria", "Smith"]  # read as is, not rejected


def test_fetch_surnames_local_folder_of_other_languages_is_silent(home):
    _write_folder(home / "names", {"Basque.txt": "Etxeberria\n", "Welsh.txt": "Jones"})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        X, y = fetch_surnames(data_home=home, download_if_missing=False, return_X_y=True)
    assert X == ["Etxeberria", "Jones"]
    assert y.tolist() == ["Basque", "Welsh"]


def test_fetch_surnames_uses_env_var(home, tmp_path, monkeypatch):
    monkeypatch.setattr(_surnames, "SURNAMES_SHA256", _sha256_table(TINY_FILES))
    _write_folder(tmp_path / "elsewhere" / "names", TINY_FILES)
    monkeypatch.setenv("SKSEQATTN_DATA", str(tmp_path / "elsewhere"))
    X, y = fetch_surnames(download_if_missing=False, return_X_y=True)
    assert X == TINY_NAMES


def test_fetch_surnames_return_X_y_matches_bunch(home, remote):
    surnames = fetch_surnames(data_home=home)
    X, y = fetch_surnames(data_home=home, return_X_y=True)
    assert X == surnames.data
    np.testing.assert_array_equal(y, surnames.target)
    assert isinstance(X, list) and isinstance(y, np.ndarray)


# --------------------------------------------------------------------------- cleaning


def test_fetch_surnames_deduplicates_pairs(home, remote):
    deduplicated = fetch_surnames(data_home=home)
    everything = fetch_surnames(data_home=home, deduplicate=False)
    assert deduplicated.data == TINY_NAMES
    assert everything.data.count("Smith") == 2
    assert everything.data.count("Ivanov") == 2
    assert len(everything.data) == len(TINY_NAMES) + 2
    # a name under two languages is one pair per language, not a duplicate
    assert deduplicated.data.count("MacDonald") == 2
    assert "Dropped 2 repeated (name, language) pairs" in deduplicated.DESCR


def test_fetch_surnames_drops_junk_blank_lines_and_whitespace(home, remote):
    surnames = fetch_surnames(data_home=home, deduplicate=False)
    assert not any("page" in name.lower() for name in surnames.data)
    assert all(name == name.strip() and name for name in surnames.data)
    assert "Núñez" in surnames.data
    assert "Dropped 1 empty and 2 junk lines" in surnames.DESCR


def test_fetch_surnames_drop_ambiguous(home, remote):
    surnames = fetch_surnames(data_home=home, drop_ambiguous=True)
    assert "MacDonald" not in surnames.data
    assert len(surnames.data) == len(TINY_NAMES) - 2
    counts = collections.Counter(surnames.target.tolist())
    assert counts == {"English": 2, "Russian": 2, "Scottish": 1, "Spanish": 3}
    assert "Dropped the 1 names found under several languages" in surnames.DESCR


def test_fetch_surnames_keeps_utf8_accents(home, remote):
    X, y = fetch_surnames(data_home=home, return_X_y=True)
    spanish = [name for name, language in zip(X, y) if language == "Spanish"]
    assert spanish == ["Muñoz", "Peña", "Núñez"]


def test_fetch_surnames_rejects_non_utf8_file(home):
    (home / "names").mkdir()
    (home / "names" / "Basque.txt").write_bytes("Etxeberría\n".encode("latin-1"))
    with pytest.raises(ValueError, match=r"expected Basque\.txt to be UTF-8.*save the file"):
        fetch_surnames(data_home=home)


def test_fetch_surnames_descr_cites_tutorial(home, remote):
    descr = fetch_surnames(data_home=home).DESCR
    assert "Classifying Names with a Character-Level RNN" in descr
    assert "18,013" in descr and "To The First Page" in descr
    assert "download.pytorch.org/tutorial/data.zip" in descr
    assert "No licence is stated for the data itself" in descr
    assert "BSD 3-Clause" in descr


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"deduplicate": "yes"}, "'deduplicate' {} must be an instance of 'bool'.*Got 'yes'"),
        ({"return_X_y": 1}, "'return_X_y' {} .* Got 1 instead"),
        ({"as_frame": None}, "'as_frame' {} .* Got None instead"),
        ({"n_retries": -1}, r"'n_retries' {} must be an int in the range \[0, inf\)\. Got -1 "),
        ({"n_retries": 1.5}, "'n_retries' {} .* Got 1.5 instead"),
        ({"delay": -1.0}, r"'delay' {} .* range \[0.0, inf\)\. Got -1.0 instead"),
        ({"delay": float("nan")}, "'delay' {} .* Got nan instead"),
        ({"data_home": 3}, "'data_home' {} .* Got 3 instead"),
    ],
)
def test_fetch_surnames_validates_arguments(home, kwargs, match):
    kwargs = {"data_home": home, **kwargs}
    with pytest.raises(InvalidParameterError, match=match.format("parameter of fetch_surnames")):
        fetch_surnames(**kwargs)


# --------------------------------------------------------------------------- download


@pytest.mark.parametrize("prefix", ["data/names/", "names/"])
def test_fetch_surnames_downloads_both_zip_layouts(home, remote, prefix):
    zip_path, opener = remote
    _write_zip(zip_path, TINY_FILES, prefix=prefix)
    surnames = fetch_surnames(data_home=home)
    assert surnames.data == TINY_NAMES
    assert opener.calls == 1
    assert "a download of file://" in surnames.DESCR


def test_fetch_surnames_caches_download(home, remote):
    _, opener = remote
    first = fetch_surnames(data_home=home)
    # the zip is gone, only the 4 verified files are kept, no temporary files are left
    assert _leftovers(home) == ["surnames", "surnames/names"] + sorted(
        f"surnames/names/{name}" for name in TINY_FILES
    )
    second = fetch_surnames(data_home=home, download_if_missing=False)
    assert opener.calls == 1
    assert second.data == first.data
    assert "the cache of an earlier download" in second.DESCR


def test_fetch_surnames_checksum_mismatch_deletes_download(home, remote, monkeypatch):
    table = dict(_surnames.SURNAMES_SHA256, **{"Spanish.txt": "0" * 64})
    monkeypatch.setattr(_surnames, "SURNAMES_SHA256", table)
    with pytest.raises(OSError, match=r"does not match.*Spanish\.txt has SHA-256.*deleted"):
        fetch_surnames(data_home=home)
    assert _leftovers(home) == ["surnames"]


def test_fetch_surnames_download_missing_a_file(home, remote):
    zip_path, _ = remote
    _write_zip(zip_path, {k: v for k, v in TINY_FILES.items() if k != "Russian.txt"})
    with pytest.raises(OSError, match=r"missing Russian\.txt"):
        fetch_surnames(data_home=home)
    assert _leftovers(home) == ["surnames"]


def test_fetch_surnames_download_not_a_zip(home, remote):
    zip_path, _ = remote
    zip_path.write_bytes(b"<html>Service unavailable</html>")
    with pytest.raises(OSError, match="not a valid zip file"):
        fetch_surnames(data_home=home)
    assert _leftovers(home) == ["surnames"]


def test_fetch_surnames_offline_error_gives_advice(home, monkeypatch):
    opener = _CountingUrlopen(URLError("[Errno -3] Temporary failure in name resolution"))
    monkeypatch.setattr(_surnames, "urlopen", opener)
    with pytest.raises(OSError) as excinfo:
        fetch_surnames(data_home=home, n_retries=2, delay=0)
    message = str(excinfo.value)
    assert "could not download" in message and "name resolution" in message
    assert _surnames.SURNAMES_URL in message
    assert str(home / "names" / "English.txt") in message
    assert "SKSEQATTN_DATA" in message
    assert isinstance(excinfo.value.__cause__, URLError)
    assert opener.calls == 3
    assert _leftovers(home) == ["surnames"]


def _failing_download(monkeypatch, error):
    """Make every download attempt raise `error`; return the opener and the list of sleeps."""
    opener = _CountingUrlopen(error)
    monkeypatch.setattr(_surnames, "urlopen", opener)
    sleeps = []
    monkeypatch.setattr(_surnames.time, "sleep", sleeps.append)
    return opener, sleeps


@pytest.mark.parametrize(
    "error",
    [
        URLError(socket.gaierror(socket.EAI_NONAME, "Name or service not known")),
        socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution"),
    ],
    ids=["URLError(gaierror)", "gaierror"],
)
def test_fetch_surnames_dns_failure_fails_fast(home, monkeypatch, error):
    # A host that does not resolve means no network: one attempt, no back-off, clear advice.
    opener, sleeps = _failing_download(monkeypatch, error)
    with pytest.raises(OSError, match=r"after 1 attempt\(s\)") as excinfo:
        fetch_surnames(data_home=home, n_retries=5, delay=30.0)
    assert opener.calls == 1
    assert sleeps == []
    message = str(excinfo.value)
    assert "did not resolve" in message and "not retried" in message
    assert "download.pytorch.org" in message and "SKSEQATTN_DATA" in message
    assert excinfo.value.__cause__ is error
    assert _leftovers(home) == ["surnames"]


def test_fetch_surnames_retries_other_network_errors(home, monkeypatch):
    refused = URLError(ConnectionRefusedError(111, "Connection refused"))
    opener, sleeps = _failing_download(monkeypatch, refused)
    with pytest.raises(OSError, match=r"after 3 attempt\(s\)") as excinfo:
        fetch_surnames(data_home=home, n_retries=2, delay=0.5)
    assert opener.calls == 3
    assert sleeps == [0.5, 0.5]
    assert "did not resolve" not in str(excinfo.value)


def test_fetch_surnames_http_client_error_is_not_retried(home, monkeypatch):
    error = HTTPError(_surnames.SURNAMES_URL, 404, "Not Found", {}, None)
    opener = _CountingUrlopen(error)
    monkeypatch.setattr(_surnames, "urlopen", opener)
    with pytest.raises(OSError, match=r"HTTPError: Not Found\) after 1 attempt"):
        fetch_surnames(data_home=home, n_retries=3, delay=0)
    assert opener.calls == 1


def test_fetch_surnames_unwritable_data_home(home, monkeypatch):
    (home / "surnames").write_text("a file where the cache folder should be")
    monkeypatch.setattr(_surnames, "urlopen", _CountingUrlopen(AssertionError("no download")))
    with pytest.raises(OSError, match="cannot write to .*pass data_home= a writable folder"):
        fetch_surnames(data_home=home)


def test_fetch_surnames_no_copy_and_no_download(home, monkeypatch):
    opener = _CountingUrlopen(AssertionError("must not download"))
    monkeypatch.setattr(_surnames, "urlopen", opener)
    with pytest.raises(OSError, match="found no copy") as excinfo:
        fetch_surnames(data_home=home, download_if_missing=False)
    message = str(excinfo.value)
    assert str(home / "names") in message and str(home / "surnames" / "names") in message
    assert "download_if_missing=False" in message and "SKSEQATTN_DATA" in message
    assert _surnames.SURNAMES_URL in message
    assert opener.calls == 0


def test_fetch_surnames_replaces_damaged_cache(home, remote):
    _, opener = remote
    fetch_surnames(data_home=home)
    (home / "surnames" / "names" / "English.txt").write_text("Tampered\n")
    with pytest.raises(OSError, match=r"damaged cached copy.*English\.txt"):
        fetch_surnames(data_home=home, download_if_missing=False)
    assert not (home / "surnames" / "names").exists()

    fetch_surnames(data_home=home)
    (home / "surnames" / "names" / "English.txt").write_text("Tampered\n")
    with pytest.warns(UserWarning, match="damaged cached copy"):
        surnames = fetch_surnames(data_home=home)
    assert surnames.data == TINY_NAMES
    assert opener.calls == 3


def test_fetch_surnames_local_folder_wins_over_cache(home, remote):
    fetch_surnames(data_home=home)
    _write_folder(home / "names", {"Basque.txt": "Etxeberria\n"})
    assert fetch_surnames(data_home=home).data == ["Etxeberria"]


# --------------------------------------------------------------------------- as_frame


def test_fetch_surnames_bunch_has_no_frame_by_default(home, remote):
    surnames = fetch_surnames(data_home=home)
    assert sorted(surnames) == ["DESCR", "data", "frame", "target", "target_names"]
    assert surnames.frame is None
    assert surnames.data == TINY_NAMES and surnames.target.dtype.kind == "U"


def test_fetch_surnames_as_frame(home, remote):
    pd = pytest.importorskip("pandas")
    surnames = fetch_surnames(data_home=home, as_frame=True)
    assert isinstance(surnames.data, pd.Series) and surnames.data.name == "name"
    assert isinstance(surnames.target, pd.Series) and surnames.target.name == "language"
    assert surnames.data.tolist() == TINY_NAMES
    assert surnames.target.tolist() == TINY_TARGET
    assert list(surnames.frame.columns) == ["name", "language"]
    assert surnames.frame.shape == (len(TINY_NAMES), 2)
    assert surnames.frame["name"].tolist() == TINY_NAMES
    assert surnames.target_names.tolist() == ["English", "Russian", "Scottish", "Spanish"]

    X, y = fetch_surnames(data_home=home, as_frame=True, return_X_y=True)
    pd.testing.assert_series_equal(X, surnames.data)
    pd.testing.assert_series_equal(y, surnames.target)


def test_fetch_surnames_as_frame_without_pandas_names_the_extra(home, remote, monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match=r"fetch_surnames\(as_frame=True\) needs pandas.*"):
        fetch_surnames(data_home=home, as_frame=True)
    # without as_frame, pandas is not needed
    assert fetch_surnames(data_home=home).data == TINY_NAMES


# --------------------------------------------------------------------------- real data

_REAL_HOME = os.environ.get("SKSEQATTN_DATA")


@pytest.mark.skipif(
    not (_REAL_HOME and os.path.isdir(os.path.join(_REAL_HOME, "names"))),
    reason="set SKSEQATTN_DATA to a folder holding the real names/ to check its figures",
)
def test_fetch_surnames_reference_figures():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the copy must match the checksum table
        surnames = fetch_surnames(data_home=_REAL_HOME, download_if_missing=False)
    assert len(surnames.target_names) == 18
    assert len(surnames.data) == 18013
    counts = collections.Counter(surnames.target.tolist())
    assert counts["Russian"] == 9340 and counts["Arabic"] == 108
    assert counts["Vietnamese"] == 71 and counts["English"] == 3668
    assert "18 files, 20,074 lines" in surnames.DESCR
    assert "Dropped 0 empty and 24 junk lines" in surnames.DESCR

    X, _ = fetch_surnames(data_home=_REAL_HOME, deduplicate=False, return_X_y=True)
    assert len(X) == 20050
    unambiguous = fetch_surnames(data_home=_REAL_HOME, drop_ambiguous=True)
    assert len(unambiguous.data) == 16982
    assert "Dropped the 469 names" in unambiguous.DESCR
    assert collections.Counter(unambiguous.target.tolist())["Scottish"] == 1


# --------------------------------------------------------------------------- generators

GENERATORS = [
    make_motif_sequences,
    make_last_token_sequences,
    make_dna_windows,
    make_domain_names,
    make_first_names,
    make_variable_length_series,
]


def _same(a, b):
    X_a, y_a = a
    X_b, y_b = b
    if isinstance(X_a[0], np.ndarray):
        return len(X_a) == len(X_b) and all(np.array_equal(p, q) for p, q in zip(X_a, X_b))
    return X_a == X_b and np.array_equal(y_a, y_b)


@pytest.mark.parametrize("generator", GENERATORS, ids=lambda f: f.__name__)
def test_generators_shapes_and_determinism(generator):
    X, y = generator(60, random_state=0)
    assert isinstance(X, list) and len(X) == 60
    assert isinstance(y, np.ndarray) and y.shape == (60,)
    assert _same((X, y), generator(60, random_state=0))
    assert _same((X, y), generator(60, random_state=np.random.RandomState(0)))
    assert not _same((X, y), generator(60, random_state=1))
    assert len(np.unique(y)) >= 2


@pytest.mark.parametrize("generator", GENERATORS, ids=lambda f: f.__name__)
def test_generators_reject_bad_n_samples(generator):
    match = rf"'n_samples' parameter of {generator.__name__} must be .*Got 0 instead"
    with pytest.raises(InvalidParameterError, match=match):
        generator(0)


@pytest.mark.parametrize(
    "generator, kwargs, error, match",
    [
        (
            make_first_names,
            {"max_len": 5},
            InvalidParameterError,
            r"'max_len' parameter of {} must be an int in the range \[6, inf\)\. Got 5 instead",
        ),
        (
            make_first_names,
            {"min_len": 8, "max_len": 7},
            ValueError,
            "{} expected min_len <= max_len, got min_len=8 and max_len=7",
        ),
        (
            make_domain_names,
            {"max_len": 23},
            InvalidParameterError,
            r"'max_len' parameter of {} must be an int in the range \[24, inf\)\. Got 23",
        ),
        (
            make_domain_names,
            {"return_families": 1},
            InvalidParameterError,
            "'return_families' parameter of {} .* Got 1 instead",
        ),
        (
            make_variable_length_series,
            {"n_features": 0},
            InvalidParameterError,
            "'n_features' parameter of {} .* Got 0 instead",
        ),
        (
            make_variable_length_series,
            {"min_len": 9, "max_len": 3},
            ValueError,
            "{} expected min_len <= max_len, got min_len=9",
        ),
        (
            make_dna_windows,
            {"gc_content": -0.1},
            InvalidParameterError,
            "'gc_content' parameter of {} .* Got -0.1 instead",
        ),
        (
            make_dna_windows,
            {"motif": "GATXACA"},
            ValueError,
            "{} expected motif to be a non-empty str.*'GATXACA'",
        ),
        (
            make_last_token_sequences,
            {"random_state": "seed"},
            InvalidParameterError,
            "'random_state' parameter of {} .* Got 'seed'",
        ),
    ],
)
def test_generators_reject_bad_parameters(generator, kwargs, error, match):
    with pytest.raises(error, match=match.format(generator.__name__)):
        generator(10, **kwargs)


@pytest.mark.parametrize(
    "generator",
    [
        make_motif_sequences,
        make_last_token_sequences,
        make_dna_windows,
        make_domain_names,
        make_variable_length_series,
    ],
    ids=lambda f: f.__name__,
)
def test_generators_balance_classes(generator):
    _, y = generator(301, random_state=0)
    counts = collections.Counter(y.tolist()).values()
    assert max(counts) - min(counts) <= 1


def test_make_motif_sequences_motif_lies_where_reported():
    motifs = ("GATTACA", "CCGTTGC", "TGGACGT")
    X, y, positions = make_motif_sequences(
        600, min_len=10, max_len=30, motifs=motifs, return_motif_positions=True, random_state=0
    )
    for text, label, (start, end) in zip(X, y, positions):
        assert 10 <= len(text) <= 30
        assert text[start:end] == motifs[label]
        assert text.find(motifs[label]) == start
        assert text.find(motifs[label], start + 1) == -1  # exactly once
        assert not any(m in text for k, m in enumerate(motifs) if k != label)


def test_make_motif_sequences_motif_is_the_only_signal():
    X, y, positions = make_motif_sequences(
        3000, motifs=("AAC", "GTT"), return_motif_positions=True, random_state=0
    )
    lengths = np.array([len(x) for x in X])
    background = {0: collections.Counter(), 1: collections.Counter()}
    for text, label, (start, end) in zip(X, y, positions):
        background[label].update(text[:start] + text[end:])
    freq = [
        np.array([background[k][c] for c in "ACGT"]) / sum(background[k].values()) for k in (0, 1)
    ]
    # letters outside the motif: near uniform in both classes (the rejection of chance
    # motifs removes a little of A/C in class 1 and G/T in class 0, nothing more)
    np.testing.assert_allclose(freq[0], 0.25, atol=0.03)
    np.testing.assert_allclose(freq[1], 0.25, atol=0.03)
    assert abs(lengths[y == 0].mean() - lengths[y == 1].mean()) < 1.0


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"motifs": ("GATTACA",)}, "at least 2 motifs"),
        ({"motifs": ("GATTACA", "GATXACA")}, "letters of alphabet"),
        ({"motifs": ("ACGTACGTACGT", "CCC")}, "fit in the shortest string"),
        ({"motifs": ("GATTACA", "ATTA")}, "do not contain one another"),
        ({"motifs": "GATTACA"}, "'motifs' parameter of make_motif_sequences must be an array-like"),
        ({"motifs": ("GATTACA", 7)}, r"sequence of str .*\('GATTACA', 7\)"),
        ({"alphabet": 4}, "'alphabet' parameter of make_motif_sequences must be .*str.*Got 4"),
        ({"min_len": 0}, "'min_len' parameter of make_motif_sequences must be .*Got 0 instead"),
        (
            {"return_motif_positions": "yes"},
            "'return_motif_positions' parameter of make_motif_sequences .*Got 'yes'",
        ),
        ({"alphabet": "AAC"}, "distinct characters"),
        ({"min_len": 20, "max_len": 10}, "min_len <= max_len"),
        ({"alphabet": "AB", "motifs": ("A", "B")}, "could not draw strings"),
    ],
)
def test_make_motif_sequences_errors(kwargs, match):
    with pytest.raises((TypeError, ValueError), match=match):
        make_motif_sequences(50, random_state=0, **kwargs)


def test_make_last_token_sequences_label_is_last_character():
    X, y = make_last_token_sequences(
        500, n_classes=3, alphabet="xyzw!", min_len=2, max_len=9, random_state=0
    )
    assert all(text[-1] == label for text, label in zip(X, y))
    assert set(y.tolist()) == {"x", "y", "z"}
    assert all(2 <= len(text) <= 9 for text in X)
    assert {"w", "!"} <= set("".join(text[:-1] for text in X))
    # the step before the last carries no information about the label
    before = collections.Counter((text[-2], label) for text, label in zip(X, y))
    share = [before[("w", k)] / sum(before[(c, k)] for c in "xyzw!") for k in "xyz"]
    assert max(share) - min(share) < 0.12


def test_make_last_token_sequences_errors():
    with pytest.raises(ValueError, match="n_classes <= len\\(alphabet\\)=2"):
        make_last_token_sequences(10, n_classes=3, alphabet="ab")
    with pytest.raises(
        InvalidParameterError,
        match=r"'n_classes' parameter of make_last_token_sequences must be an int in the "
        r"range \[2, inf\)\. Got 1 instead",
    ):
        make_last_token_sequences(10, n_classes=1)


def test_make_dna_windows_properties():
    X, y, positions = make_dna_windows(
        2000, length=60, gc_content=0.41, return_motif_positions=True, random_state=0
    )
    assert all(len(x) == 60 and set(x) <= set("ACGT") for x in X)
    assert all((p is None) == (label == 0) for p, label in zip(positions, y))
    negatives = "".join(x for x, label in zip(X, y) if label == 0)
    gc = (negatives.count("G") + negatives.count("C")) / len(negatives)
    assert abs(gc - 0.41) < 0.01
    planted = [X[i][s:e] for i, p in enumerate(positions) if p is not None for s, e in [p]]
    matches = np.array([[a == b for a, b in zip(m, "GGGACTTTCC")] for m in planted])
    assert abs(matches.mean() - 0.85) < 0.02  # position-wise conservation
    exact = matches.all(axis=1).mean()
    assert 0.1 < exact < 0.35  # most planted motifs are mutated: 0.85 ** 10 = 0.20


def test_make_dna_windows_exact_motif_with_full_conservation():
    X, y, positions = make_dna_windows(
        50,
        length=12,
        motif="TATAAA",
        conservation=1.0,
        return_motif_positions=True,
        random_state=0,
    )
    assert all(X[i][p[0] : p[1]] == "TATAAA" for i, p in enumerate(positions) if p)
    with pytest.raises(ValueError, match=r"length >= len\(motif\)=6.*got length=5"):
        make_dna_windows(5, length=5, motif="TATAAA")
    with pytest.raises(
        InvalidParameterError,
        match=r"'conservation' parameter of make_dna_windows must be a float in the range "
        r"\[0.0, 1.0\]\. Got 1.5 instead",
    ):
        make_dna_windows(5, conservation=1.5)


@pytest.mark.parametrize("max_len", [24, 70])
def test_make_domain_names_properties(max_len):
    X, y, families = make_domain_names(3000, max_len=max_len, return_families=True, random_state=0)
    allowed = set(string.ascii_lowercase + string.digits + ".-")
    assert all(set(x) <= allowed and len(x) <= max_len for x in X)
    assert all("." in x and not x.startswith(("-", ".")) for x in X)
    assert all(("-." not in x) for x in X)
    assert set(families.tolist()) == {
        "benign-words",
        "benign-syllables",
        "dga-letters",
        "dga-alphanumeric",
        "dga-hex",
        "dga-words",
    }
    np.testing.assert_array_equal(y, np.char.startswith(families, "dga").astype(int))
    hex_bases = [x.split(".")[0] for x, f in zip(X, families) if f == "dga-hex"]
    assert all(set(b) <= set("0123456789abcdef") for b in hex_bases)


def test_make_first_names_properties():
    X, y = make_first_names(5000, random_state=0)
    assert all(3 <= len(x) <= 10 and x[0].isupper() and x[1:].islower() for x in X)
    assert set(y.tolist()) == {"F", "M"}
    ends_a = y[[x.endswith("a") for x in X]]
    ends_us = y[[x.endswith("us") for x in X]]
    # the ending decides the label, but only in probability: irreducible error
    assert 0.8 < (ends_a == "F").mean() < 0.99
    assert 0.8 < (ends_us == "M").mean() < 1.0
    short = make_first_names(200, min_len=3, max_len=6, random_state=0)[0]
    assert all(3 <= len(x) <= 6 for x in short)


def test_make_variable_length_series_label_is_sign_of_true_last_step():
    X, y = make_variable_length_series(2000, n_features=3, min_len=4, max_len=20, random_state=0)
    assert all(x.ndim == 2 and x.shape[1] == 3 and 4 <= len(x) <= 20 for x in X)
    assert all(x.dtype == np.float64 for x in X)
    np.testing.assert_array_equal(y, [int(x[-1, 0] > 0) for x in X])
    # earlier steps carry no information
    before = np.array([x[-2, 0] for x in X])
    assert abs(before[y == 1].mean() - before[y == 0].mean()) < 0.15
    lengths = np.array([len(x) for x in X])
    assert abs(lengths[y == 1].mean() - lengths[y == 0].mean()) < 1.0
    # padding at the end hides the label: the padded last column is the same for all
    padded = pad_sequences(X)
    assert padded.shape == (2000, 20, 3)
    assert np.isnan(padded[lengths < 20, -1]).all()


@settings(max_examples=25, deadline=None)
@given(
    n_samples=st.integers(1, 30),
    min_len=st.integers(1, 8),
    extra=st.integers(0, 8),
    n_classes=st.integers(2, 6),
    seed=st.integers(0, 2**31 - 1),
)
def test_make_last_token_sequences_property(n_samples, min_len, extra, n_classes, seed):
    X, y = make_last_token_sequences(
        n_samples,
        n_classes=n_classes,
        min_len=min_len,
        max_len=min_len + extra,
        random_state=seed,
    )
    assert len(X) == n_samples == len(y)
    assert all(min_len <= len(x) <= min_len + extra for x in X)
    assert all(x[-1] == label for x, label in zip(X, y))
    assert set("".join(X)) <= set(string.ascii_lowercase[:n_classes])


# --------------------------------------------------------------------------- padding


def test_pad_sequences_post_pre_and_truncation():
    seqs = [np.arange(6.0).reshape(3, 2), np.array([[9.0, 8.0]])]
    post = pad_sequences(seqs)
    np.testing.assert_array_equal(post[0], seqs[0])
    np.testing.assert_array_equal(post[1, 0], [9.0, 8.0])
    assert np.isnan(post[1, 1:]).all()

    pre = pad_sequences(seqs, padding="pre", value=-1.0)
    np.testing.assert_array_equal(pre[1], [[-1, -1], [-1, -1], [9, 8]])

    np.testing.assert_array_equal(pad_sequences(seqs, max_len=2, truncating="pre")[0], seqs[0][1:])
    np.testing.assert_array_equal(pad_sequences(seqs, max_len=2, truncating="post")[0], seqs[0][:2])
    assert pad_sequences(seqs, max_len=5).shape == (2, 5, 2)


def test_pad_sequences_truncates_as_the_vectorizer_does_by_default():
    from skseqattn import CharSequenceVectorizer

    # the same sequence cut to 2 steps by both: the default keeps its start in each
    assert CharSequenceVectorizer().get_params()["truncating"] == "post"
    ids = CharSequenceVectorizer(max_len=2).fit(["abc"]).transform(["abc"])
    np.testing.assert_array_equal(ids, [[2, 3]])
    padded = pad_sequences([np.array([2.0, 3.0, 4.0])], max_len=2)
    np.testing.assert_array_equal(padded[0, :, 0], [2.0, 3.0])


def test_pad_sequences_dtypes_and_1d_input():
    ints = [np.array([1, 2, 3]), np.array([4])]
    assert pad_sequences(ints).dtype == np.float64  # NaN needs a float
    assert pad_sequences(ints, value=0).dtype.kind == "i"
    assert pad_sequences(ints).shape == (2, 3, 1)
    f32 = [np.ones((2, 1), dtype=np.float32), np.ones((1, 1), dtype=np.float32)]
    assert pad_sequences(f32).dtype == np.float32
    assert pad_sequences([np.zeros((0, 2)), np.ones((1, 2))]).shape == (2, 1, 2)


@pytest.mark.parametrize(
    "sequences, kwargs, match",
    [
        ([], {}, "at least one sequence"),
        ([np.ones((2, 2)), np.ones((2, 3))], {}, r"same number of features, got \[2, 3\]"),
        ([np.ones((2, 2, 2))], {}, r"got shape \(2, 2, 2\) for sequence 0"),
        (
            [np.ones((2, 2))],
            {"padding": "left"},
            r"'padding' parameter of pad_sequences must be a str among .*Got 'left' instead",
        ),
        (
            [np.ones((2, 2))],
            {"max_len": 0},
            "'max_len' parameter of pad_sequences must be an int in the range .*Got 0 instead",
        ),
        ("abc", {}, "'sequences' parameter of pad_sequences must be an array-like. Got 'abc'"),
    ],
)
def test_pad_sequences_errors(sequences, kwargs, match):
    with pytest.raises((TypeError, ValueError), match=match):
        pad_sequences(sequences, **kwargs)


@settings(max_examples=30, deadline=None)
@given(
    lengths=st.lists(st.integers(0, 7), min_size=1, max_size=6),
    n_features=st.integers(1, 3),
    padding=st.sampled_from(["pre", "post"]),
)
def test_pad_sequences_round_trip(lengths, n_features, padding):
    rng = np.random.RandomState(0)
    seqs = [rng.standard_normal((t, n_features)) for t in lengths]
    padded = pad_sequences(seqs, padding=padding)
    assert padded.shape == (len(seqs), max(lengths), n_features)
    for seq, row in zip(seqs, padded):
        steps = row[~np.isnan(row).all(axis=1)]
        np.testing.assert_array_equal(steps, seq)
        if padding == "post":
            np.testing.assert_array_equal(row[: len(seq)], seq)
        else:
            np.testing.assert_array_equal(row[len(row) - len(seq) :], seq)


# --------------------------------------------------------------------------- issue 17 options


def test_make_dna_windows_several_motifs_at_a_fixed_start():
    motifs = ("CAGGTAAGT", "TTTCCCTTTCAGG")
    X, y, positions = make_dna_windows(
        90,
        length=40,
        motif=motifs,
        motif_start=12,
        conservation=1.0,
        return_motif_positions=True,
        random_state=0,
    )
    assert sorted(np.bincount(y).tolist()) == [30, 30, 30]
    for x, label, pos in zip(X, y, positions):
        assert len(x) == 40
        if label == 0:
            assert pos is None
        else:
            motif = motifs[label - 1]
            assert pos == (12, 12 + len(motif))
            assert x[12 : 12 + len(motif)] == motif


def test_make_dna_windows_decoys_copy_motifs_into_every_class():
    X, y = make_dna_windows(
        200, length=40, motif="TATAAAGG", conservation=1.0, n_decoys=1, random_state=0
    )
    # every window, background included, holds an exact decoy copy
    assert all("TATAAAGG" in x for x, label in zip(X, y) if label == 0)
    X0, _ = make_dna_windows(200, length=40, motif="TATAAAGG", conservation=1.0, random_state=0)
    assert not all("TATAAAGG" in x for x in X0)


def test_make_dna_windows_defaults_unchanged_by_the_new_options():
    # the single-motif stream of random numbers is the one of earlier releases
    X, y = make_dna_windows(4, length=20, motif="TATAAA", random_state=0)
    assert X[1] == "CTAGATGCATCTATAAAGCC" and y.tolist() == [0, 1, 1, 0]
    # and a fixed start without jitter draws no shifts: the windows of before the jitter
    kwargs = dict(length=30, motif=("CAGGT", "TTTAG"), motif_start=10, random_state=3)
    assert make_dna_windows(50, **kwargs)[0] == make_dna_windows(50, motif_jitter=0, **kwargs)[0]


def test_make_dna_windows_jitter_moves_the_motif_around_its_start():
    motifs = ("CAGGTAAGT", "TTTCCCTTTCAGG")
    X, y, positions = make_dna_windows(
        600,
        length=40,
        motif=motifs,
        motif_start=20,
        motif_jitter=3,
        conservation=1.0,
        return_motif_positions=True,
        random_state=0,
    )
    starts = {}
    for x, label, pos in zip(X, y, positions):
        if label:
            assert x[pos[0] : pos[1]] == motifs[label - 1]
            starts.setdefault(label, set()).add(pos[0])
    assert starts[1] == set(range(17, 24))  # every shift in [-3, 3] occurs
    # near the end of the window the shifts are kept inside it
    _, _, positions = make_dna_windows(
        300,
        length=20,
        motif="TATAAA",
        motif_start=13,
        motif_jitter=4,
        return_motif_positions=True,
        random_state=0,
    )
    assert {p[0] for p in positions if p} == set(range(9, 15))


def test_make_dna_windows_weights_set_the_class_proportions():
    X, y = make_dna_windows(1000, motif=("CAGGT", "TTTAG"), weights=(2, 1, 1), random_state=0)
    assert np.bincount(y).tolist() == [500, 250, 250] and len(X) == 1000
    _, y = make_dna_windows(7, motif="TATAAA", weights=[2, 1], random_state=0)
    assert np.bincount(y).tolist() == [5, 2]  # rounded shares that add up to n_samples
    _, y = make_dna_windows(10, motif="TATAAA", weights=np.array([0, 3]), random_state=0)
    assert np.bincount(y, minlength=2).tolist() == [0, 10]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            {"length": 20, "motif": "TATAAA", "motif_start": 15},
            r"make_dna_windows expected motif_start \+ len\(motif\) <= length=20 .* got "
            r"motif_start=15 with a motif of 6 letters; pass motif_start <= 14 or None\.",
        ),
        (
            {"motif": ("TATAAA", "")},
            r"make_dna_windows expected motif to be a non-empty str of the letters 'ACGT' or",
        ),
        (
            {"motif": ("TATAAA", "XYZ")},
            r"got \('TATAAA', 'XYZ'\); pass for example",
        ),
        (
            {"motif": "TATAAA", "motif_jitter": 2},
            r"make_dna_windows got motif_jitter=2 without motif_start: the jitter moves the "
            r"motif around a fixed start; pass an int motif_start, or motif_jitter=0\.",
        ),
        (
            {"motif": ("TATAAA", "CCAAT"), "weights": (1, 1)},
            r"make_dna_windows expected weights to hold 3 finite, non-negative proportions "
            r"\(one per class: background, then each motif\) with a positive sum, got "
            r"\[1\.0, 1\.0\]\.",
        ),
        ({"weights": (1, -1)}, r"got \[1\.0, -1\.0\]"),
        ({"weights": (0, 0)}, r"got \[0\.0, 0\.0\]"),
        ({"weights": (1, float("nan"))}, r"got \[1\.0, nan\]"),
    ],
)
def test_make_dna_windows_new_options_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_dna_windows(10, **kwargs)


def test_make_variable_length_series_local_pattern():
    shape = dict(n_features=3, min_len=10, max_len=20, n_classes=3, pattern_len=6)
    X, y = make_variable_length_series(
        120, signal="local_pattern", pattern_scale=0.0, random_state=0, **shape
    )
    assert np.bincount(y).tolist() == [40, 40, 40]
    assert all(x.shape[1] == 3 and 10 <= len(x) <= 20 for x in X)
    # with pattern_scale=0 nothing is added: the values are pure unit noise
    values = np.concatenate(X)
    assert abs(values.mean()) < 0.1 and abs(values.std() - 1) < 0.1
    X2, y2 = make_variable_length_series(
        120, signal="local_pattern", pattern_scale=5.0, random_state=0, **shape
    )
    # same noise and positions, so the difference is the class template, the same per class
    diffs = [b - a for a, b in zip(X, X2)]
    assert np.array_equal(y, y2)
    templates = {}
    for d, label in zip(diffs, y):
        rows = np.flatnonzero(np.abs(d).sum(1) > 1e-9)
        assert rows.size <= 6 and rows.size > 0
        block = d[rows[0] : rows[0] + 6]
        templates.setdefault(label, block)
        np.testing.assert_allclose(block, templates[label])
    assert not np.allclose(templates[0], templates[1])


def test_make_variable_length_series_new_options_errors():
    with pytest.raises(ValueError, match=r"expected n_classes=2 with signal='last_step'"):
        make_variable_length_series(10, n_classes=3)
    with pytest.raises(ValueError, match=r"expected pattern_len <= min_len=5 .* got pattern_len=8"):
        make_variable_length_series(10, signal="local_pattern")
