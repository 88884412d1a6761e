"""Time CharSequenceVectorizer against CountVectorizer(analyzer='char') on many short names.

Run from the repository root::

    python benchmarks/bench_vectorizer.py            # 1,000,000 names, best of 3
    python benchmarks/bench_vectorizer.py --quick    # 20,000 names, 1 run

It prints a table of the best wall-clock time of each step and the speed-up of our
``transform`` (and of ``fit`` + ``transform``) over ``CountVectorizer.fit_transform``, and
writes the numbers as JSON to ``--out``. CountVectorizer runs with ``lowercase=False``, like
CharSequenceVectorizer's default, so that both do the same work (its default
``lowercase=True`` would only make it slower).
"""

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import sklearn
from sklearn.feature_extraction.text import CountVectorizer

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from skseqattn import CharSequenceVectorizer  # noqa: E402

# Letter frequencies loosely follow European names: common ASCII letters, a few accents.
_LETTERS = list("aeinorlstmduhckbgjvfpwyzxq") + list("éèáíóúüöäñçøåłšž")
_WEIGHTS = np.array(
    [12, 11, 9, 8, 7, 7, 6, 5, 5, 4, 4, 3, 3, 3, 3, 2, 2, 2, 2, 1.5, 1.5, 1, 1, 1, 0.3, 0.2]
    + [0.4] * 16
)


def make_names(n, *, seed=0):
    """Return `n` random capitalised names of 2 to 14 letters (about 7 on average)."""
    rng = np.random.default_rng(seed)
    lengths = np.clip(rng.poisson(6.0, size=n) + 1, 2, 14)
    letters = rng.choice(len(_LETTERS), size=int(lengths.sum()), p=_WEIGHTS / _WEIGHTS.sum())
    text = "".join(_LETTERS[i] for i in letters.tolist())
    ends = np.cumsum(lengths).tolist()
    starts = [0, *ends[:-1]]
    return [text[a:b].capitalize() for a, b in zip(starts, ends)]


def best_time(func, repeat):
    """Return (best seconds over `repeat` calls of `func`, result of the last call)."""
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = func()
        best = min(best, time.perf_counter() - start)
    return best, result


def run(n, repeat, seed):
    """Time every step and return the results as a dict."""
    names = make_names(n, seed=seed)
    ours = CharSequenceVectorizer()
    fit_s, _ = best_time(lambda: ours.fit(names), repeat)
    transform_s, ids = best_time(lambda: ours.transform(names), repeat)
    count_s, counts = best_time(
        lambda: CountVectorizer(analyzer="char", lowercase=False).fit_transform(names), repeat
    )
    # Sanity: both saw the same number of characters.
    assert int((ids != 0).sum()) == int(counts.sum())
    return {
        "n_samples": n,
        "repeat": repeat,
        "seed": seed,
        "mean_length": float(np.mean([len(s) for s in names])),
        "vocab_size": int(ours.vocab_size_),
        "output_shape": list(ids.shape),
        "seconds": {
            "CharSequenceVectorizer.fit": fit_s,
            "CharSequenceVectorizer.transform": transform_s,
            "CountVectorizer(analyzer='char', lowercase=False).fit_transform": count_s,
        },
        "transform_speedup_vs_countvectorizer": count_s / transform_s,
        "fit_plus_transform_speedup_vs_countvectorizer": count_s / (fit_s + transform_s),
        "versions": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "scikit-learn": sklearn.__version__,
        },
        "machine": platform.machine(),
    }


def print_table(result):
    """Print the timings as a small text table."""
    print(
        f"n_samples={result['n_samples']:,}  mean_length={result['mean_length']:.2f}  "
        f"best of {result['repeat']}"
    )
    width = max(map(len, result["seconds"]))
    print(f"{'step':<{width}}  {'seconds':>9}")
    print(f"{'-' * width}  {'-' * 9}")
    for step, seconds in result["seconds"].items():
        print(f"{step:<{width}}  {seconds:>9.3f}")
    print(
        "transform speed-up (CountVectorizer.fit_transform / ours.transform): "
        f"{result['transform_speedup_vs_countvectorizer']:.1f}x"
    )
    print(
        "fit + transform speed-up (CountVectorizer.fit_transform / ours.fit + transform): "
        f"{result['fit_plus_transform_speedup_vs_countvectorizer']:.1f}x"
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="number of names")
    parser.add_argument("--repeat", type=int, default=3, help="runs per step; the best counts")
    parser.add_argument("--seed", type=int, default=0, help="seed of the name generator")
    parser.add_argument("--quick", action="store_true", help="n=20000, repeat=1")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).resolve().parent / "results" / "bench_vectorizer.json",
        help="where to write the JSON results",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.n, args.repeat = 20_000, 1
    result = run(args.n, args.repeat, args.seed)
    print_table(result)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
