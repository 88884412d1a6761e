"""Smoke test of benchmarks/bench_surnames.py on a tiny synthetic surname folder.

The folder is written into tmp_path: the real surname data is never needed. The helper
tests check the pieces the benchmark's fairness rests on: the loader's cleaning, the masked
attention, the bucketing and the order of predictions.
"""

import importlib
import json
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

REPO_ROOT = Path(__file__).resolve().parents[1]
BENCH_DIR = REPO_ROOT / "benchmarks"
SCRIPT = BENCH_DIR / "bench_surnames.py"

# Each synthetic language draws from its own letters and ends in its own suffix, so a
# character model can separate them and accuracy has something to say.
LANGUAGES = {
    "Alphan": ("abcde", "ov"),
    "Betic": ("fghij", "son"),
    "Gammish": ("klmno", "ez"),
    "Deltese": ("pqrst", "ki"),
    "Russian": ("uvwxy", "in"),
}
NAMES_PER_LANGUAGE = 60
JUNK = ["To The First Page", "To The First  Page", "  To The First Page  "]
ALWAYS_RUN = ("handwritten", "skorch", "tfidf-logreg", "tfidf-logreg-balanced")
SKSEQATTN = ("skseqattn-default", "skseqattn-explicit")


def _write_folder(folder: Path) -> int:
    """Write <Language>.txt files with the real data's quirks; return the unique pair count."""
    folder.mkdir()
    rng = random.Random(0)
    n_unique = 0
    for i, (language, (letters, suffix)) in enumerate(LANGUAGES.items()):
        names: list[str] = []
        while len(names) < NAMES_PER_LANGUAGE:
            stem = "".join(rng.choice(letters) for _ in range(rng.randint(2, 6)))
            name = stem.capitalize() + suffix
            if name not in names:
                names.append(name)
        n_unique += len(names)
        lines = names + names[:5]  # duplicate (name, language) pairs
        lines += ["", "   ", f"  {names[0]}  "]  # blank lines, padded duplicate
        if language == "Russian":
            lines[10:10] = JUNK
        text = "\n".join(lines)
        # Half the files end without a newline, like the data set's description says.
        (folder / f"{language}.txt").write_text(text + ("\n" if i % 2 else ""), "utf-8")
    return n_unique


@pytest.fixture
def bench(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH_DIR))
    return (
        importlib.import_module("_common"),
        importlib.import_module("_handwritten"),
    )


def test_load_labelled_folder_drops_junk_blanks_and_duplicates(tmp_path, bench):
    common, _ = bench
    n_unique = _write_folder(tmp_path / "names")

    sequences, labels, stats = common.load_labelled_folder(tmp_path / "names")

    assert len(sequences) == len(labels) == n_unique == stats["n_sequences"]
    assert stats["n_junk_dropped"] == len(JUNK)
    assert stats["n_duplicates_dropped"] == 6 * len(LANGUAGES)
    assert not any("First" in s for s in sequences)
    assert all(s == s.strip() and s for s in sequences)
    assert len(set(zip(sequences, labels))) == len(sequences)
    assert sorted(set(labels)) == sorted(LANGUAGES)


def test_attention_gives_padding_zero_weight_and_ignores_extra_padding(bench):
    torch = pytest.importorskip("torch")
    _, hand = bench
    torch.manual_seed(0)
    module = hand.AdditiveAttentionBiLSTM(10, 3, embedding_dim=8, hidden_size=8).eval()
    ids = torch.tensor([[2, 3, 4, 0, 0], [5, 6, 7, 8, 9], [3, 0, 0, 0, 0]])
    wider = torch.cat([ids, torch.zeros(3, 4, dtype=torch.long)], dim=1)

    with torch.no_grad():
        logits, weights = module(ids, return_attention=True)
        logits_wider = module(wider)

    assert torch.all(weights[ids == 0] == 0)
    torch.testing.assert_close(weights.sum(dim=1), torch.ones(3))
    torch.testing.assert_close(logits, logits_wider)
    assert hand.count_parameters(module) > 0


def test_bucketed_batches_cover_each_index_once_with_similar_lengths(bench):
    torch = pytest.importorskip("torch")
    _, hand = bench
    lengths = torch.randint(1, 21, (1000,), generator=torch.Generator().manual_seed(0))

    batches = hand.bucketed_batches(lengths, 16, torch.Generator().manual_seed(1), 10)
    again = hand.bucketed_batches(lengths, 16, torch.Generator().manual_seed(1), 10)

    flat = torch.cat(batches)
    assert sorted(flat.tolist()) == list(range(1000))
    assert all(torch.equal(a, b) for a, b in zip(batches, again))
    spread = [int(lengths[b].max() - lengths[b].min()) for b in batches]
    assert np.mean(spread) < 5  # random batches of 16 from 1..20 would spread ~16


def test_handwritten_predict_proba_keeps_the_callers_order(bench):
    pytest.importorskip("torch")
    _, hand = bench
    names = ["Ab", "Abcdefgh", "Xyz", "Q", "Longername", "Mid"] * 5
    y = [0, 1, 0, 1, 0, 1] * 5
    clf = hand.HandwrittenClassifier(
        embedding_dim=4, hidden_size=4, max_epochs=1, batch_size=4
    ).fit(names, y)

    proba = clf.predict_proba(names)
    proba_reversed = clf.predict_proba(names[::-1])

    assert proba.shape == (30, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(proba_reversed[::-1], proba, rtol=1e-5, atol=1e-6)


def test_bench_surnames_quick_writes_every_contender(tmp_path):
    data = tmp_path / "names"
    n_unique = _write_folder(data)
    out = tmp_path / "results" / "bench.json"

    proc = subprocess.run(
        [sys.executable, str(SCRIPT), str(data), "--quick", "--threads", "1", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=tmp_path,
    )

    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "handwritten" in proc.stdout and "macro-F1" in proc.stdout
    payload = json.loads(out.read_text())
    assert payload["data"]["n_sequences"] == n_unique
    assert payload["data"]["n_junk_dropped"] == len(JUNK)
    assert payload["machine"]["cpu_count"] >= 1
    assert payload["machine"]["torch_version"]
    # the kernels torch uses (e.g. 'AVX2', 'AVX512'), which the fit times depend on
    assert payload["machine"]["torch_cpu_capability"] == torch.backends.cpu.get_cpu_capability()
    assert payload["config"]["epochs"] == 2
    (split,) = payload["splits"]
    results = split["results"]
    assert set(results) == set(ALWAYS_RUN) | set(SKSEQATTN)

    for name in ALWAYS_RUN:
        result = results[name]
        assert result["status"] == "ok", (name, result.get("reason"), result.get("traceback"))
        assert result["n_train"] + result["n_test"] == n_unique
        assert result["n_test"] == pytest.approx(0.2 * n_unique, abs=1)
        assert 0.0 <= result["accuracy"] <= 1.0
        assert 0.0 <= result["macro_f1"] <= 1.0
        assert result["fit_seconds"] > 0 and result["fit_cpu_seconds"] > 0
        assert result["predict_sequences_per_second"] > 0
        assert result["proba_shape"] == [result["n_test"], len(LANGUAGES)]
        assert result["proba_row_sum_max_error"] < 1e-4
        assert 0 < result["rss_before_fit_mb"] <= result["fit_peak_rss_mb"]
        assert result["fit_peak_rss_mb"] <= result["peak_rss_mb"]
        assert result["params"] > 0

    for name in ("handwritten", "skorch"):
        assert results[name]["epochs"] == 2
        assert results[name]["torch_threads"] == 1
        assert results[name]["train_tokens_per_second"] > 0
    assert results["handwritten"]["params"] == results["skorch"]["params"]
    # The letters and suffixes separate the languages: TF-IDF must all but solve it.
    assert results["tfidf-logreg"]["accuracy"] > 0.9
    assert split["ratios"]["skorch vs handwritten"]["train_time"] > 0

    for name in SKSEQATTN:
        result = results[name]
        if result["status"] == "skipped":
            assert "skseqattn" in result["reason"]
            assert name in payload["skipped"]
        else:
            assert result["status"] == "ok", (name, result.get("reason"))
            assert 0.0 <= result["accuracy"] <= 1.0
    if results["skseqattn-explicit"]["status"] == "ok":
        assert results["skseqattn-explicit"]["epochs"] == 2
        assert "skseqattn-explicit vs handwritten" in split["ratios"]
