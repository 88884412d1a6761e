"""benchmarks/_common.py, the benchmarks' harness: data root, names, workers, output."""

import json
import math
import re
from pathlib import Path

import pytest

BENCHMARK = "_common"  # imported by the bench fixture of conftest.py
BENCH_DIR = Path(__file__).resolve().parents[1] / "benchmarks"


def test_bench_common_data_is_found_beside_the_checkout_or_where_data_says(bench, tmp_path):
    assert bench.DATA_ROOT == bench.REPO_ROOT.parent / "shared" / "data"
    assert bench.data_folder(None, "names") == bench.DATA_ROOT / "names"
    assert bench.data_folder(str(tmp_path)) == tmp_path  # --data is used as given
    assert bench.data_folder(tmp_path, "names") == tmp_path


def test_bench_no_benchmark_defaults_to_an_absolute_data_path():
    absolute = re.compile(r"""["'](/work|/home|/data|/mnt)/""")
    offenders = [p.name for p in BENCH_DIR.glob("*.py") if absolute.search(p.read_text("utf-8"))]
    assert offenders == []


def test_bench_common_choose_expands_aliases_in_canonical_order(bench):
    names = ("a", "b", "c")
    assert bench.choose("c, a", names) == ["a", "c"]
    assert bench.choose("all", names, {"all": names}) == ["a", "b", "c"]
    with pytest.raises(ValueError, match=r"unknown contenders 'x'; choose from a, b, c or the"):
        bench.choose("a,x", names, {"all": names})
    with pytest.raises(ValueError, match="--tasks selected nothing"):
        bench.choose(" , ", names, option="--tasks")


def test_bench_common_worker_main_reports_instead_of_crashing(bench, tmp_path):
    def failing():
        raise RuntimeError("boom")

    def skipped():
        raise KeyError("not installed")

    outcomes = {}
    for name, measure in [("ok", lambda: {"x": 1}), ("bad", failing), ("skip", skipped)]:
        out = tmp_path / f"{name}.json"
        assert bench.worker_main(measure, out, name=name, skip=(KeyError,)) == 0
        outcomes[name] = json.loads(out.read_text())
    assert outcomes["ok"] == {"name": "ok", "status": "ok", "x": 1}
    assert outcomes["bad"]["status"] == "failed"
    assert outcomes["bad"]["reason"] == "RuntimeError: boom"
    assert "RuntimeError: boom" in outcomes["bad"]["traceback"]
    assert outcomes["skip"] == {"name": "skip", "status": "skipped", "reason": "'not installed'"}


def test_bench_common_output_helpers(bench):
    assert bench.finite({"a": [1.0, math.nan], "b": (math.inf, "x")}) == {
        "a": [1.0, None],
        "b": [None, "x"],
    }
    assert bench.ratios({"t": 6.0, "m": None}, {"t": 2.0, "m": 1.0}, {"time": "t", "mem": "m"}) == {
        "time": 3.0,
        "mem": None,
    }
    assert bench.ratio(1.0, 0) is None
    assert bench.mean_std([1.0, 2.0, 3.0]) == (2.0, 1.0)
    assert bench.mean_std([4.0]) == (4.0, 0.0)
    assert bench.ok({"status": "ok"}) and not bench.ok({"status": "failed"}) and not bench.ok(None)
    header = bench.run_header("demo", started=0.0)
    assert header["benchmark"] == "demo" and header["wall_seconds"] > 0
    assert list(header) == ["benchmark", "created", "wall_seconds", "command"]


def test_bench_common_worker_options_are_hidden_and_counts_checked(bench):
    import argparse

    parser = argparse.ArgumentParser()
    bench.add_harness_arguments(parser, out="x.json", data="names")
    bench.add_worker_arguments(parser)
    args = parser.parse_args(["--worker", "w", "--worker-out", "o.json", "--threads", "0"])
    assert (args.worker, args.worker_out, args.out, args.data, args.seed) == (
        "w",
        "o.json",
        "x.json",
        None,
        0,
    )
    assert "--worker" not in parser.format_help()
    (data,) = [a for a in parser._actions if a.dest == "data"]
    shown = Path("..", bench.DATA_ROOT.relative_to(bench.REPO_ROOT.parent), "names")
    assert data.help == f"data folder (default: {shown} beside the checkout)"
    assert str(shown).endswith("names") and str(shown).startswith("..")
    assert bench.below_one(args, ["threads", "data"]) == [
        "--threads must be >= 1, got 0"
    ]  # None: unset
