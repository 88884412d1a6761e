"""Grid search over the vectorizer and the classifier together.

The whole Pipeline is one estimator, so GridSearchCV tunes the text preprocessing and the
network in one search, with the usual ``<step>__<parameter>`` names; each candidate is fitted
on the training folds only, vocabulary included, so nothing leaks from the validation fold.

The search runs on a stratified subsample of 2,500 surnames, with 3-fold cross-validation, in
parallel worker processes (``n_jobs=-1``; each worker trains on one torch thread). The best
pipeline, refitted on the whole subsample, is then scored on held-out names it has never seen.
About a minute on two CPU cores. On a Dask cluster the same search runs unchanged
inside ``with joblib.parallel_backend("dask"):`` (see examples/dask_grid_search.py).

Run from the repository root::

    python examples/grid_search.py

The surnames are downloaded once and cached (or read from ``$SKSEQATTN_DATA/names/``); offline
and without a copy, the script says so and runs on synthetic first names (``examples/_data.py``).

``SKSEQATTN_EXAMPLES_TINY=1`` shrinks data and model to a smoke test.
"""

import os
import time

import numpy as np
import torch
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold, train_test_split
from sklearn.pipeline import make_pipeline

from skseqattn import BiLSTMAttentionClassifier, CharSequenceVectorizer

from _data import load_surnames_or_synthetic  # examples/_data.py

TINY = os.environ.get("SKSEQATTN_EXAMPLES_TINY", "") not in ("", "0")  # smoke-test mode
N_SEARCH = 2500  # names the search sees; as many again are held out for the final score

# Models this small train fastest on one CPU thread per process (the workers get one
# anyway; this is for the final refit, which runs in this process).
torch.set_num_threads(1)


def main():
    X, y, what = load_surnames_or_synthetic()
    if TINY:  # the first 30 names of each class
        keep = np.concatenate([np.flatnonzero(y == label)[:30] for label in np.unique(y)])
        X, y = [X[i] for i in keep], y[keep]
    n_search = min(N_SEARCH, len(X) // 2)
    X_search, X_rest, y_search, y_rest = train_test_split(
        X, y, train_size=n_search, stratify=y, random_state=0
    )
    X_test, y_test = X_rest, y_rest
    if len(X_rest) > n_search:
        X_test, _, y_test, _ = train_test_split(
            X_rest, y_rest, train_size=n_search, stratify=y_rest, random_state=0
        )

    pipeline = make_pipeline(
        CharSequenceVectorizer(),
        BiLSTMAttentionClassifier(
            random_state=0,
            **({"embedding_dim": 8, "max_epochs": 2} if TINY else {"max_epochs": 15}),
        ),
    )
    param_grid = {
        "charsequencevectorizer__lowercase": [False, True],
        "bilstmattentionclassifier__hidden_size": [8, 16] if TINY else [32, 64],
    }
    search = GridSearchCV(
        pipeline,
        param_grid,
        scoring={"accuracy": "accuracy", "macro_f1": "f1_macro"},
        refit="accuracy",
        cv=StratifiedKFold(n_splits=3, shuffle=True, random_state=0),
        n_jobs=-1,
    )
    start = time.perf_counter()
    search.fit(X_search, y_search)
    seconds = time.perf_counter() - start
    n_fits = len(search.cv_results_["params"]) * search.n_splits_
    print(
        f"{n_fits} fits on {len(X_search)} {what} ({len(np.unique(y_search))} classes) "
        f"and a refit, in {seconds:.0f} s\n"
    )

    results = search.cv_results_
    print(
        f"{'lowercase':>9} {'hidden':>6}  {'accuracy':>15}  {'macro-F1':>15}  {'fit (s)':>7}  rank"
    )
    for i in np.argsort(results["rank_test_accuracy"], kind="stable"):
        params = results["params"][i]
        print(
            f"{params['charsequencevectorizer__lowercase']!s:>9} "
            f"{params['bilstmattentionclassifier__hidden_size']:>6}  "
            f"{results['mean_test_accuracy'][i]:>7.3f} ± {results['std_test_accuracy'][i]:.3f}  "
            f"{results['mean_test_macro_f1'][i]:>7.3f} ± {results['std_test_macro_f1'][i]:.3f}  "
            f"{results['mean_fit_time'][i]:>7.1f}  {results['rank_test_accuracy'][i]:>4}"
        )

    y_pred = search.predict(X_test)
    print(f"\nbest parameters: {search.best_params_}")
    print(
        f"held-out ({len(X_test)} names): accuracy {accuracy_score(y_test, y_pred):.3f}, "
        f"macro-F1 {f1_score(y_test, y_pred, average='macro'):.3f}"
    )


if __name__ == "__main__":
    main()
