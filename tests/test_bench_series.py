"""benchmarks/bench_series.py: the .ts reader, the summary and a run on tiny data it writes."""

import json

import numpy as np
import pytest

BENCHMARK = "bench_series"  # imported by the bench fixture of conftest.py

TS = """# a comment
@problemName Tiny
@univariate {univariate}
@classLabel true a b
@data
{rows}
"""


def _write_set(folder, name, rows_train, rows_test, univariate="true"):
    (folder / name).mkdir(parents=True)
    for split, rows in (("TRAIN", rows_train), ("TEST", rows_test)):
        text = TS.format(univariate=univariate, rows="\n".join(rows))
        (folder / name / f"{name}_{split}.ts").write_text(text, encoding="utf-8")


def test_read_ts_reads_values_channels_missing_values_and_labels(bench, tmp_path):
    _write_set(tmp_path, "Tiny", ["1,2,3:a", "4,?,6:7,8,9:b"], ["0,0,0:a"], "false")
    X, y = bench.read_ts(tmp_path / "Tiny" / "Tiny_TRAIN.ts")
    assert y.tolist() == ["a", "b"]
    np.testing.assert_array_equal(X[0], [[1], [2], [3]])
    assert X[1].shape == (3, 2) and np.isnan(X[1][1, 0]) and X[1][1, 1] == 8
    assert bench.find_sets(tmp_path) == ["Tiny"]


def test_read_ts_refuses_series_before_data(bench, tmp_path):
    path = tmp_path / "bad.ts"
    path.write_text("1,2:a\n@data\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 1: a series before @data"):
        bench.read_ts(path)


def test_summary_means_over_seeds_and_sets(bench):
    records = [
        {"set": s, "model": m, "accuracy": a, "fit_s": 1.0, "predict_per_s": 10.0}
        for s, m, a in [
            ("A", "x", 0.8),
            ("A", "x", 0.6),
            ("B", "x", 1.0),
            ("A", "y", 0.5),
        ]
    ]
    rows = bench.summarize(records)
    first = rows[0]
    assert (first["set"], first["model"], first["seeds"]) == ("A", "x", 2)
    assert first["accuracy"] == pytest.approx(0.7) and first["spread"] == pytest.approx(0.2)
    means = [r for r in rows if r["set"] == "mean"]
    assert [r["model"] for r in means] == ["x"]  # y lacks set B: no comparable mean
    assert means[0]["accuracy"] == pytest.approx(0.85)


def test_summary_says_which_normalization_the_fits_used(bench):
    records = [
        {"set": "A", "model": m, "accuracy": 1.0, "fit_s": 1.0, "predict_per_s": 1.0, **extra}
        for m, extra in [
            ("skseqattn", {"normalization": "global"}),
            ("skseqattn", {"normalization": "series"}),
            ("skseqattn", {"normalization": "global"}),
            ("minirocket", {"normalization": None}),
        ]
    ]
    rows = bench.summarize(records)
    assert [r.get("normalization") for r in rows] == ["global/series", None, None, None]
    table = bench.format_table(rows, bench.COLUMNS)
    assert table.splitlines()[0].endswith("normalization") and "global/series" in table


def test_run_on_a_tiny_set_writes_json(bench, tmp_path, capsys):
    rng = np.random.RandomState(0)

    def rows(n):
        out = []
        for i in range(n):
            label = "ab"[i % 2]
            values = np.sin(np.linspace(0, 6, 12) * (1 + (label == "b"))) + 0.1 * rng.randn(12)
            out.append(",".join(f"{v:.4f}" for v in values) + f":{label}")
        return out

    _write_set(tmp_path / "ucr", "Tiny", rows(20), rows(10))
    output = tmp_path / "out.json"
    bench.main(
        ["--data", str(tmp_path / "ucr"), "--models", "1nn-euclidean", "--output", str(output)]
    )
    table = capsys.readouterr().out
    assert "1nn-euclidean" in table and "mean" in table
    payload = json.loads(output.read_text())
    (record,) = payload["records"]
    assert record["accuracy"] == 1.0 and record["n_train"] == 20 and record["length"] == 12


def test_rescale_draws_one_factor_and_offset_per_series(bench):
    X = [np.arange(4.0)[:, None], np.ones((2, 1))]
    out = bench.rescale(X, np.random.RandomState(0))
    factor = (out[0][1] - out[0][0])[0]
    assert 0.1 <= factor <= 10 and np.allclose(np.diff(out[0][:, 0]), factor)
    assert -10 <= out[0][0, 0] <= 10 and np.ptp(out[1]) == 0
    again = bench.rescale(X, np.random.RandomState(0))
    assert all(np.array_equal(a, b) for a, b in zip(out, again))


def test_run_skips_without_data(bench, tmp_path, capsys):
    assert bench.main(["--data", str(tmp_path / "absent")]) == {}
    assert "skipped: no UCR sets" in capsys.readouterr().out
