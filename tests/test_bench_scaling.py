"""benchmarks/bench_scaling.py: its data, its growth exponents, one worker point, the DDP slot."""

import json

import numpy as np
import pytest

BENCHMARK = "bench_scaling"  # imported by the bench fixture of conftest.py


def test_bench_scaling_slope_is_the_log_log_exponent(bench):
    sizes = [10, 100, 1000]
    assert bench.slope(sizes, [3 * s**2 for s in sizes]) == pytest.approx(2.0)
    assert bench.slope(sizes, [5.0, 5.0, 5.0]) == pytest.approx(0.0, abs=1e-12)
    assert bench.slope([10], [1.0]) is None  # one point has no slope


def test_bench_scaling_data_has_every_class(bench):
    X, y = bench.make_data(200, 6, 50)
    assert X.shape == (200, 6) and X.min() >= 2 and X.max() < 2 + bench.N_TOKENS
    np.testing.assert_array_equal(np.unique(y), np.arange(50))


def test_bench_scaling_worker_measures_one_point(bench, tmp_path):
    out = tmp_path / "point.json"
    config = {"n": 300, "length": 5, "classes": 3, "axis": "n", "device": "cpu"}
    bench.worker(config, out)
    point = json.loads(out.read_text())
    assert point["status"] == "ok" and point["n"] == 300 and point["predict_rows"] == 300
    assert point["epoch_s"] > 0 and point["predict_seq_per_s"] > 0
    assert point["ngram_rows"] == 65536 and point["ngram_mib"] == pytest.approx(0.75)
