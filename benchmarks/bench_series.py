"""Real-valued series on real data: the UCR sets in ``../shared/data/ucr`` against baselines.

Every set folder ``<Name>/`` holding ``<Name>_TRAIN.ts`` and ``<Name>_TEST.ts`` (the sktime
``.ts`` format: ``#`` comments, ``@`` headers, then after ``@data`` one series per line,
channels separated by ``:``, values by ``,``, ``?`` for a missing value, the class label
last) is read with its given train/test split, and scored by test accuracy, fit seconds
and prediction throughput (test series per second) for

- ``skseqattn``: ``BiLSTMAttentionClassifier`` with its defaults (``random_state=seed``;
  extra parameters through ``--params '{"name": value}'``),
- ``1nn-euclidean``: 1-nearest neighbour, Euclidean distance (series zero-padded at the
  end to the longest, for unequal lengths),
- ``minirocket``: aeon's ``MiniRocketClassifier(random_state=seed)`` (a benchmark-only
  dependency, installed aside; skipped with a note when aeon does not import).

It prints one table (per set and model: mean accuracy over ``--seeds`` seeds 0, 1, ...,
its spread min-max, mean fit seconds, predicted series per second and, for skseqattn, the
``normalization_`` its fits used, e.g. what ``normalization='auto'`` picked; then the mean
over sets per model) and writes JSON to ``benchmarks/results/bench_series.json``. Timings are
wall-clock on whatever machine runs it (here a shared 2-core CPU): compare within one run.

``--rescale`` multiplies each series (training and test) by a random factor in [0.1, 10] and
shifts it by a random offset in [-10, 10] (the same draws for every model): the UCR sets are
z-normalised per series, so this is how they look to a model when each series' level and
scale are nuisance, as with raw sensor readings.

Usage: ``PYTHONPATH=.:/tmp/aeonenv SKSEQATTN_NUM_THREADS=1 python benchmarks/bench_series.py
[--data DIR] [--sets GunPoint ...] [--seeds 3] [--models skseqattn minirocket] [--rescale]``
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS_DIR, format_table, machine_info, write_json  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "ucr"
MODELS = ("skseqattn", "1nn-euclidean", "minirocket")


def read_ts(path) -> tuple[list[np.ndarray], np.ndarray]:
    """Series (each (T, channels) float64; NaN for ``?``) and their labels (str) of a .ts file."""
    X, y, in_data = [], [], False
    with open(path, encoding="utf-8") as handle:
        for number, raw in enumerate(handle, 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("@"):
                in_data = in_data or line.lower().startswith("@data")
                continue
            if not in_data:
                raise ValueError(f"{path}, line {number}: a series before @data.")
            *channels, label = line.split(":")
            if not channels:
                raise ValueError(f"{path}, line {number}: no ':' before the class label.")
            values = [
                np.array([np.nan if v.strip() == "?" else float(v) for v in c.split(",")])
                for c in channels
            ]
            if len({len(v) for v in values}) != 1:
                raise ValueError(f"{path}, line {number}: channels of different lengths.")
            X.append(np.stack(values, axis=1))
            y.append(label.strip())
    return X, np.asarray(y)


def find_sets(folder) -> list[str]:
    """Names of the set folders under ``folder`` that hold both split files, sorted."""
    folder = Path(folder)
    return sorted(
        d.name
        for d in folder.iterdir()
        if d.is_dir() and (d / f"{d.name}_TRAIN.ts").exists() and (d / f"{d.name}_TEST.ts").exists()
    )


def as_model_input(X):
    """A 2-D array (n, T) for univariate series of one length, else a list of (T, C)."""
    if len({x.shape for x in X}) == 1 and X[0].shape[1] == 1:
        return np.stack([x[:, 0] for x in X]).astype(np.float32)
    return [x.astype(np.float32) for x in X]


def rescale(X, rng):
    """Each series times ``10 ** U(-1, 1)`` plus ``U(-10, 10)`` (one draw per series)."""
    return [x * 10 ** rng.uniform(-1, 1) + rng.uniform(-10, 10) for x in X]


def pad_end(X, length=None):
    """(n, channels, time) zero-padded at the end, NaN read as 0 (aeon's layout)."""
    length = length or max(len(x) for x in X)
    out = np.zeros((len(X), X[0].shape[1], length))
    for i, x in enumerate(X):
        out[i, :, : min(len(x), length)] = np.nan_to_num(x[:length].T)
    return out


class NearestNeighbour:
    """1-NN with the Euclidean distance on series zero-padded at the end."""

    def fit(self, X, y):
        self.length_ = max(len(x) for x in X)
        self.X_ = pad_end(X, self.length_).reshape(len(X), -1)
        self.y_ = np.asarray(y)
        return self

    def predict(self, X):
        Z = pad_end(X, self.length_).reshape(len(X), -1)
        d = (Z**2).sum(1)[:, None] - 2 * Z @ self.X_.T + (self.X_**2).sum(1)[None, :]
        return self.y_[np.argmin(d, axis=1)]


def models_for(names, params):
    models = {}
    if "skseqattn" in names:
        from skseqattn import BiLSTMAttentionClassifier

        models["skseqattn"] = (
            lambda seed: BiLSTMAttentionClassifier(random_state=seed, **params),
            as_model_input,
        )
    if "1nn-euclidean" in names:
        models["1nn-euclidean"] = (lambda seed: NearestNeighbour(), list)
    if "minirocket" in names:
        try:
            from aeon.classification.convolution_based import MiniRocketClassifier
        except Exception as exc:  # noqa: BLE001 - any import failure means "not available"
            print(f"note: aeon does not import ({type(exc).__name__}: {exc}); no MiniRocket")
        else:
            models["minirocket"] = (lambda seed: MiniRocketClassifier(random_state=seed), pad_end)
    return models


def summarize(records) -> list[dict]:
    """One row per (set, model) over seeds, then one ``mean`` row per model over sets."""
    rows = []
    keys = list(dict.fromkeys((r["set"], r["model"]) for r in records))
    for name, model in keys:
        group = [r for r in records if r["set"] == name and r["model"] == model]
        acc = np.array([r["accuracy"] for r in group])
        picked = [r["normalization"] for r in group if r.get("normalization")]
        rows.append(
            {
                "set": name,
                "model": model,
                "seeds": len(group),
                "accuracy": float(acc.mean()),
                "spread": float(acc.max() - acc.min()),
                "fit_s": float(np.mean([r["fit_s"] for r in group])),
                "predict_per_s": float(np.mean([r["predict_per_s"] for r in group])),
                "normalization": "/".join(dict.fromkeys(picked)) or None,
            }
        )
    n_sets = len({r["set"] for r in rows})
    for model in dict.fromkeys(r["model"] for r in rows):
        mine = [r for r in rows if r["model"] == model]
        if len(mine) != n_sets:
            continue  # a model missing on some set has no comparable mean
        rows.append(
            {
                "set": "mean",
                "model": model,
                "seeds": min(r["seeds"] for r in mine),
                "accuracy": float(np.mean([r["accuracy"] for r in mine])),
                "spread": None,
                "fit_s": float(np.mean([r["fit_s"] for r in mine])),
                "predict_per_s": None,
            }
        )
    return rows


COLUMNS = [
    ("set", "set", "s"),
    ("model", "model", "s"),
    ("seeds", "seeds", "d"),
    ("accuracy", "accuracy", ".3f"),
    ("spread", "spread", ".3f"),
    ("fit_s", "fit s", ".1f"),
    ("predict_per_s", "predict series/s", ",.0f"),
    ("normalization", "normalization", "s"),
]


def run(args) -> dict:
    import warnings

    data = Path(args.data)
    if not data.is_dir() or not find_sets(data):
        print(f"skipped: no UCR sets under {data} (pass --data DIR)")
        return {}
    names = args.sets or find_sets(data)
    models = models_for(args.models, args.params)
    records = []
    for name in names:
        X_train, y_train = read_ts(data / name / f"{name}_TRAIN.ts")
        X_test, y_test = read_ts(data / name / f"{name}_TEST.ts")
        if args.rescale:
            rng = np.random.RandomState(0)
            X_train, X_test = rescale(X_train, rng), rescale(X_test, rng)
        for model, (make, convert) in models.items():
            for seed in range(args.seeds):
                est = make(seed)
                A_train, A_test = convert(X_train), convert(X_test)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", UserWarning)  # "no validation" notes
                    start = time.perf_counter()
                    est.fit(A_train, y_train)
                    fit_s = time.perf_counter() - start
                    start = time.perf_counter()
                    pred = est.predict(A_test)
                    predict_s = time.perf_counter() - start
                record = {
                    "set": name,
                    "model": model,
                    "seed": seed,
                    "n_train": len(X_train),
                    "n_test": len(X_test),
                    "length": max(len(x) for x in X_train),
                    "classes": len(set(y_train)),
                    "accuracy": float(np.mean(np.asarray(pred) == y_test)),
                    "fit_s": fit_s,
                    "predict_per_s": len(X_test) / max(predict_s, 1e-9),
                    "normalization": getattr(est, "normalization_", None),
                }
                records.append(record)
                print(
                    f"{name} {model} seed {seed}: accuracy {record['accuracy']:.3f}, "
                    f"fit {fit_s:.1f} s",
                    flush=True,
                )
    rows = summarize(records)
    print(format_table(rows, COLUMNS))
    import skseqattn

    payload = {
        "benchmark": "bench_series",
        "skseqattn": str(Path(skseqattn.__file__).resolve().parent),
        "data": str(data),
        "params": args.params,
        "rescale": bool(args.rescale),
        "machine": machine_info(),
        "records": records,
        "summary": rows,
    }
    if args.output:
        write_json(args.output, payload)
    return payload


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--sets", nargs="*", default=None)
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--models", nargs="*", default=list(MODELS), choices=MODELS)
    parser.add_argument("--params", type=json.loads, default={})
    parser.add_argument("--rescale", action="store_true")
    parser.add_argument("--output", default=str(RESULTS_DIR / "bench_series.json"))
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    main()
