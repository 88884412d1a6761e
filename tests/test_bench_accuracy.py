"""benchmarks/bench_accuracy.py: the dna task's oracle, the table's reference rows, a run."""

import json

import numpy as np
import pytest

BENCHMARK = "bench_accuracy"  # imported by the bench fixture of conftest.py


def test_dna_task_has_splice_proportions_and_jittered_motifs(bench):
    X, y = bench.make_task("dna", 400, seed=0)
    assert np.bincount(y).tolist() == [200, 100, 100]
    assert {len(x) for x in X} == {bench.DNA_LENGTH}


def test_dna_oracle_knows_the_generator(bench):
    # exact motifs without decoys: the oracle finds each one wherever the jitter put it
    from skseqattn.datasets import make_dna_windows

    X, y = make_dna_windows(
        300,
        length=bench.DNA_LENGTH,
        motif=bench.DNA_MOTIFS,
        motif_start=bench.DNA_START,
        motif_jitter=bench.DNA_JITTER,
        weights=bench.DNA_WEIGHTS,
        conservation=1.0,
        random_state=0,
    )
    assert (bench.DnaOracle().fit(X, y).predict(X) == y).mean() > 0.95
    X, y = bench.make_task("dna", 600, seed=1)  # the task itself: well above chance
    accuracy = (bench.DnaOracle().predict(X) == y).mean()
    assert 0.7 < accuracy < 0.95


def test_summary_excludes_the_oracle_from_the_baselines(bench):
    records = [
        {
            "task": "dna",
            "model": m,
            "seed": 0,
            "n_train": 9,
            "accuracy": a,
            "macro_f1": a,
            "fit_s": 1.0,
        }
        for m, a in [("skseqattn", 0.7), ("hgb-onehot", 0.6), ("oracle", 0.9)]
    ]
    rows = {r["model"]: r for r in bench.summarise(records)}
    assert rows["skseqattn"]["vs_best_baseline"] == pytest.approx(0.1)
    assert rows["oracle"]["vs_best_baseline"] == pytest.approx(0.3)


def test_quick_run_writes_the_table(bench, tmp_path, capsys):
    out = tmp_path / "acc.json"
    bench.main(["--quick", "--tasks", "dna", "--models", "lr-onehot", "oracle", "--out", str(out)])
    payload = json.loads(out.read_text())
    rows = {r["model"]: r for r in payload["summary"]}
    assert set(rows) == {"lr-onehot", "oracle"}
    assert rows["oracle"]["accuracy"] > rows["lr-onehot"]["accuracy"] > 0.4
    assert "vs best baseline" in capsys.readouterr().out


def test_domain_word_bound_decides_word_names_by_the_generator(bench):
    X = [
        "boatunionautomoney.com",  # four words: only the DGA family makes those
        "www.bookhouse.com",  # a subdomain: only benign names have one
        "blog-news.de",  # a hyphen and a benign-only TLD
        "kingtown.com",  # two words under .com: benign is the likelier family
        "kingtown.xyz",  # .xyz is a DGA-only TLD
        "tjspaezpcx.xyz",  # not a word name: its true label is kept
    ]
    y = np.array([1, 0, 0, 0, 1, 1])
    families = ["dga-words", "benign-words", "benign-words", "dga-words", "dga-words", "x"]
    pred = bench.domain_word_bound(X, y, families)
    assert pred.tolist() == [1, 0, 0, 0, 1, 1]
