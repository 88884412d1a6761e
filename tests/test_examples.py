"""The scripts in examples/ run, in their tiny mode, and print what they promise.

``SKSEQATTN_EXAMPLES_TINY=1`` makes every example shrink its data, model and epochs. The
surname examples read a made-up ``names/`` folder of four languages written to a temporary
data home (``SKSEQATTN_DATA``), so no test needs the real data or the network; without data
they fall back to synthetic first names (``examples/_data.py``), which one test checks in a
subprocess with every download refused. The other examples run in this process (``runpy``),
which spares a Python start and reuses joblib's workers.
"""

import os
import re
import runpy
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
LANGUAGES = {  # a toy data set: the ending gives the language away
    "Ovian": ("ov", "ova", "enko"),
    "Akian": ("aki", "moto", "yama"),
    "Sonian": ("son", "sen", "ström"),
    "Ezian": ("ez", "es", "ero"),
}
NUMBER = r"([-+]?\d+\.\d+)"


def make_names(n_per_language=36, seed=0):
    """{language: names}, each name a random stem plus one of its language's endings."""
    rng = np.random.RandomState(seed)
    consonants, vowels = "bdfgklmnprstvz", "aeiou"
    names = {}
    for language, endings in LANGUAGES.items():
        found = set()
        while len(found) < n_per_language:
            stem = "".join(
                rng.choice(list(consonants)) + rng.choice(list(vowels))
                for _ in range(rng.randint(1, 4))
            )
            found.add(stem.capitalize() + endings[rng.randint(len(endings))])
        names[language] = sorted(found)
    return names


@pytest.fixture
def data_home(tmp_path, monkeypatch):
    """A data home whose names/ holds the toy languages; SKSEQATTN_DATA points at it."""
    folder = tmp_path / "names"
    folder.mkdir()
    for language, names in make_names().items():
        (folder / f"{language}.txt").write_text("\n".join(names), encoding="utf-8")
    monkeypatch.setenv("SKSEQATTN_DATA", str(tmp_path))
    return tmp_path


def run_example(name, monkeypatch, capsys):
    """Run examples/<name> as a script in tiny mode; return what it printed."""
    monkeypatch.setenv("SKSEQATTN_EXAMPLES_TINY", "1")
    monkeypatch.setattr(sys, "argv", [str(EXAMPLES / name)])
    monkeypatch.syspath_prepend(str(EXAMPLES))  # as `python examples/<name>` does: for _data
    threads = torch.get_num_threads()  # the examples set torch's threads for their process
    try:
        runpy.run_path(str(EXAMPLES / name), run_name="__main__")
    finally:
        torch.set_num_threads(threads)
    return capsys.readouterr().out


def test_quickstart_compares_with_tfidf_and_explains(data_home, monkeypatch, capsys):
    out = run_example("quickstart.py", monkeypatch, capsys)
    assert "120 surnames, 4 classes" in out  # 30 of each language in tiny mode
    assert "Could not load" not in out

    for model in ["TF-IDF + logistic", "BiLSTM + attention"]:
        match = re.search(rf"^{re.escape(model)}\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}$", out, re.M)
        assert match, f"no score line for {model}"
        accuracy, macro_f1, seconds = map(float, match.groups())
        assert 0 <= accuracy <= 1 and 0 <= macro_f1 <= 1
        assert seconds >= 0
    # On this toy set, the endings are found by the TF-IDF baseline at once.
    baseline = re.search(rf"^TF-IDF \+ logistic\s+{NUMBER}", out, re.M)
    assert float(baseline.group(1)) >= 0.75

    # The side-by-side report: one row per language, support 6 (20% of 30).
    for language in LANGUAGES:
        row = re.search(rf"^{language}\s+6\s+((?:\d\.\d\d\s*){{6}})$", out, re.M)
        assert row, f"no report row for {language}"
        assert all(0 <= float(v) <= 1 for v in row.group(1).split())

    # Explanations: 8 held-out names, 2 of each language in turn, their predictions and top
    # characters.
    explained = out.split("What the attention looked at")[1].splitlines()[2:]
    language_of = {name: lang for lang, names in make_names().items() for name in names}
    rows = [line for line in explained if line.split() and line.split()[0] in language_of]
    assert len(rows) == 8
    assert sorted(row.split()[3] for row in rows) == sorted(list(LANGUAGES) * 2)  # true labels
    assert all(language_of[row.split()[0]] == row.split()[3] for row in rows)
    for row in rows:
        name, *_ = row.split()
        top = re.findall(r"'(.)' (\d\.\d\d)", row)
        assert len(top) == min(3, len(name))
        assert all(char in name for char, _ in top)
        weights = [float(w) for _, w in top]
        assert weights == sorted(weights, reverse=True) and 0 < sum(weights) <= 1.02


def _refused_port():
    """A local TCP port that refuses connections (bound, not listening), and its socket."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    return sock, sock.getsockname()[1]


def test_quickstart_without_data_falls_back_to_synthetic_names(tmp_path):
    # README command 1 offline: an empty data home and a download that cannot connect (all
    # HTTP(S) goes through a proxy that refuses connections). The script must say once why it
    # has no surnames and how to get them, then run to the end on synthetic first names.
    sock, port = _refused_port()
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("no_proxy", "all_proxy")}
    # This checkout's package, as in the tests that run in this process (an installed
    # skseqattn elsewhere, e.g. an editable install of another worktree, must not win).
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.update(
        HOME=str(tmp_path / "home"),
        SKSEQATTN_DATA=str(tmp_path / "empty"),
        SKSEQATTN_EXAMPLES_TINY="1",
        http_proxy=f"http://127.0.0.1:{port}",
        https_proxy=f"http://127.0.0.1:{port}",
        HTTP_PROXY=f"http://127.0.0.1:{port}",
        HTTPS_PROXY=f"http://127.0.0.1:{port}",
    )
    try:
        result = subprocess.run(
            [sys.executable, str(EXAMPLES / "quickstart.py")],
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )
    finally:
        sock.close()
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    notices = [line for line in result.stdout.splitlines() if "surname data" in line]
    assert len(notices) == 1
    notice = notices[0]
    assert notice.startswith("Could not load the surname data (fetch_surnames could not download")
    assert "Connection refused" in notice  # why
    assert str(tmp_path / "empty") in notice  # where it looked
    assert "run once with network" in notice and "SKSEQATTN_DATA" in notice  # how to get it
    assert "60 synthetic first names, 2 classes" in result.stdout  # 30 of F and of M
    for model in ["TF-IDF + logistic", "BiLSTM + attention"]:
        assert re.search(rf"^{re.escape(model)}\s+{NUMBER}\s+{NUMBER}", result.stdout, re.M)
    for label in ["F", "M"]:  # the report and the explanations use the data's own labels
        assert re.search(rf"^{label}\s+6\s", result.stdout, re.M)
    explained = result.stdout.split("What the attention looked at")[1].splitlines()[2:]
    assert sum(1 for line in explained if re.search(r" [FM]\s+'.' \d\.\d\d", line)) == 8


def test_data_helper_falls_back_only_on_oserror(data_home, monkeypatch, capsys):
    monkeypatch.syspath_prepend(str(EXAMPLES))
    import _data

    X, y, what = _data.load_surnames_or_synthetic()
    assert what == "surnames" and len(X) == 4 * 36 and set(y) == set(LANGUAGES)
    assert capsys.readouterr().out == ""

    def offline(**kwargs):
        assert kwargs == {"return_X_y": True, "download_if_missing": False}
        raise OSError("fetch_surnames found no copy. To provide a copy by hand, ...")

    monkeypatch.setattr(_data, "fetch_surnames", offline)
    X, y, what = _data.load_surnames_or_synthetic(download_if_missing=False)
    out = capsys.readouterr().out
    assert out.startswith("Could not load the surname data (fetch_surnames found no copy);")
    assert "To provide a copy by hand" not in out and out.count("\n") == 1
    assert what == "synthetic first names" and len(X) == _data.N_SYNTHETIC
    assert set(y) == {"F", "M"}

    def broken(**kwargs):
        raise ValueError("not an offline problem")

    monkeypatch.setattr(_data, "fetch_surnames", broken)
    with pytest.raises(ValueError, match="not an offline problem"):
        _data.load_surnames_or_synthetic()


def test_grid_search_tunes_vectorizer_and_classifier(data_home, monkeypatch, capsys):
    out = run_example("grid_search.py", monkeypatch, capsys)
    assert "12 fits on 60 surnames (4 classes) and a refit" in out
    rows = re.findall(rf"^\s+(True|False)\s+(8|16)\s+{NUMBER} ± {NUMBER}\s+{NUMBER} ±", out, re.M)
    assert sorted((lower, hidden) for lower, hidden, *_ in rows) == [
        ("False", "16"),
        ("False", "8"),
        ("True", "16"),
        ("True", "8"),
    ]
    assert all(0 <= float(r[2]) <= 1 and 0 <= float(r[4]) <= 1 for r in rows)
    best = re.search(r"^best parameters: (\{.*\})$", out, re.M)
    assert "'charsequencevectorizer__lowercase'" in best.group(1)
    held_out = re.search(rf"held-out \(60 names\): accuracy {NUMBER}, macro-F1 {NUMBER}", out)
    assert held_out and all(0 <= float(v) <= 1 for v in held_out.groups())


def test_cross_validation_compares_models_fold_by_fold(data_home, monkeypatch, capsys):
    out = run_example("cross_validation.py", monkeypatch, capsys)
    assert "120 surnames, 4 classes, 3 folds" in out
    for metric in ["accuracy", "macro-F1"]:
        scores = {}
        for model in ["TF-IDF + logistic", "BiLSTM + attention", "BiLSTM - TF-IDF"]:
            pattern = rf"^{metric}\s+{re.escape(model)}\s+{NUMBER} ± {NUMBER}\s+((?:\S+\s*){{3}})"
            match = re.search(pattern, out, re.M)
            assert match, f"no {metric} line for {model}"
            scores[model] = np.array(match.group(3).split()[:3], dtype=float)
            assert float(match.group(1)) == pytest.approx(scores[model].mean(), abs=1e-3)
        difference = scores["BiLSTM + attention"] - scores["TF-IDF + logistic"]
        np.testing.assert_allclose(scores["BiLSTM - TF-IDF"], difference, atol=2e-3)


def test_time_series_beats_nothing_and_checks_padding(monkeypatch, capsys):
    out = run_example("time_series.py", monkeypatch, capsys)
    assert "250 recordings of shape (T_i, 3), T_i from 40 to 100" in out
    forest = re.search(rf"summary features \+ random forest\s+accuracy {NUMBER}", out)
    # The summaries separate three of the five gestures; order-only pairs stay at chance.
    assert 0.5 <= float(forest.group(1)) <= 0.95
    assert re.search(rf"BiLSTM \+ attention on the raw series\s+accuracy {NUMBER}", out)
    assert re.search(r"same predictions from a NaN-padded array of shape \(63, \d+, 3\): True", out)
    share = re.search(rf"attention on the gesture: {NUMBER} of the weight", out)
    assert 0 <= float(share.group(1)) <= 1
    # Confusion matrices: 63 test recordings in each.
    for block in out.split("Confusion matrix, ")[1:]:
        lines = block.splitlines()[2:7]
        assert sum(int(v) for line in lines for v in line.split()[1:]) == 63


def test_dask_grid_search_runs_on_a_local_cluster(data_home, monkeypatch, capsys):
    pytest.importorskip("distributed")
    out = run_example("dask_grid_search.py", monkeypatch, capsys)
    assert "2 workers, torch threads per worker process: [1, 1]" in out
    assert "12 fits and a refit" in out
    rows = re.findall(rf"^\s+(True|False)\s+(8|16)\s+{NUMBER} ± {NUMBER}\s+[1-4]$", out, re.M)
    assert len(rows) == 4


def test_streaming_trains_chunk_by_chunk_from_a_csv(monkeypatch, capsys):
    pytest.importorskip("pandas")
    out = run_example("streaming.py", monkeypatch, capsys)
    assert re.search(r"^wrote 3000 rows to domains\.csv", out, re.M)
    passes = re.findall(
        rf"^pass (\d): 3000 rows in 6 chunks, {NUMBER} s, held-out accuracy {NUMBER} \(500",
        out,
        re.M,
    )
    assert [p[0] for p in passes] == ["1", "2"]
    assert float(passes[-1][2]) >= 0.8  # random-letter and hex DGA domains are easy to spot
    assert "classes_ ['benign', 'dga'], n_ids_ 41, epochs 12" in out  # 6 chunks x 2 passes
