"""Grid search on a Dask cluster: the same code as on one machine, spread over workers.

scikit-learn's searches and cross-validation run their fits through joblib; joblib's
``"dask"`` back-end sends them to the workers of a ``dask.distributed`` cluster instead of
local processes. Nothing else changes: the estimator, the grid and the results are the same,
and with a fixed ``random_state`` so are the scores, fit for fit (when every fit runs on one
torch thread, as in the workers by default).

Run from the repository root, on a local cluster of two worker processes::

    python examples/dask_grid_search.py

or on an existing cluster (every worker needs skseqattn installed; the data travel from this
process)::

    python examples/dask_grid_search.py tcp://scheduler:8786

The surnames are downloaded once and cached (or read from ``$SKSEQATTN_DATA/names/``); offline
and without a copy, the script says so and runs on synthetic first names (``examples/_data.py``).

Needs the ``distributed`` extra: ``pip install skseqattn[distributed]``. About a minute on
two CPU cores. ``SKSEQATTN_EXAMPLES_TINY=1`` shrinks data and model to a smoke test.
"""

import os
import sys
import time

import joblib
import numpy as np
import torch
from dask.distributed import Client, LocalCluster
from sklearn.model_selection import GridSearchCV, StratifiedKFold, train_test_split
from sklearn.pipeline import make_pipeline

from skseqattn import BiLSTMAttentionClassifier, CharSequenceVectorizer

from _data import load_surnames_or_synthetic  # examples/_data.py

TINY = os.environ.get("SKSEQATTN_EXAMPLES_TINY", "") not in ("", "0")  # smoke-test mode
N_SEARCH = 2500

# For the final refit, which runs in this process (the workers train on one thread each).
torch.set_num_threads(1)


def main(address=None):
    X, y, _ = load_surnames_or_synthetic()
    if TINY:  # the first 30 names of each class
        keep = np.concatenate([np.flatnonzero(y == label)[:30] for label in np.unique(y)])
        X, y = [X[i] for i in keep], y[keep]
    if len(X) > N_SEARCH:
        X, _, y, _ = train_test_split(X, y, train_size=N_SEARCH, stratify=y, random_state=0)

    search = GridSearchCV(
        make_pipeline(
            CharSequenceVectorizer(),
            BiLSTMAttentionClassifier(
                random_state=0,
                **({"embedding_dim": 8, "max_epochs": 2} if TINY else {"max_epochs": 15}),
            ),
        ),
        {
            "charsequencevectorizer__lowercase": [False, True],
            "bilstmattentionclassifier__hidden_size": [8, 16] if TINY else [32, 64],
        },
        cv=StratifiedKFold(n_splits=3, shuffle=True, random_state=0),
    )

    if address is None:
        # Worker processes with one thread each; their nannies also set OMP_NUM_THREADS=1.
        cluster = LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        )
    else:
        cluster = None
    with Client(cluster if cluster is not None else address) as client:
        workers = client.run(torch.get_num_threads)
        print(
            f"{len(workers)} workers, torch threads per worker process: {sorted(workers.values())}"
        )
        start = time.perf_counter()
        with joblib.parallel_backend("dask"):
            search.fit(X, y)
        seconds = time.perf_counter() - start
    if cluster is not None:
        cluster.close()

    results = search.cv_results_
    print(f"{len(results['params']) * search.n_splits_} fits and a refit in {seconds:.0f} s\n")
    print(f"{'lowercase':>9} {'hidden':>6}  {'accuracy':>15}  rank")
    for i in np.argsort(results["rank_test_score"], kind="stable"):
        params = results["params"][i]
        print(
            f"{params['charsequencevectorizer__lowercase']!s:>9} "
            f"{params['bilstmattentionclassifier__hidden_size']:>6}  "
            f"{results['mean_test_score'][i]:>7.3f} ± {results['std_test_score'][i]:.3f}  "
            f"{results['rank_test_score'][i]:>4}"
        )
    print(f"\nbest parameters: {search.best_params_}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
