"""Are the explanations faithful? ERASER comprehensiveness and sufficiency of each method.

For every test sequence the model predicts a class with probability ``p``. Each method ranks
the tokens (``explain(..., method=...)``: signed contributions to the predicted class's
score, attention weights, or a random order); then, for the top ``k`` tokens
(k = 1, 2, 3 and 20% of the sequence, at least 1):

- comprehensiveness = ``p - p(predicted class | the sequence without the top k)``: high
  when the tokens the method names are the ones the decision rests on;
- sufficiency = ``p - p(predicted class | only the top k, in order)``: low when they are
  enough on their own (DeYoung et al., 2020, "ERASER").

Two tasks:

- a synthetic motif task (``make_motif_sequences``: the class is decided by one inserted
  7-letter motif), where the true tokens are known: also the share of each method's
  importance (``|value|``) on the motif and the top-3 hit rate (share of the top 3 tokens
  inside the motif);
- the surname data (``../shared/data/names`` beside the checkout, or ``$SKSEQATTN_DATA/names``,
  or ``--data``; split seed 0, default model, 8 epochs),
  ERASER on 1,000 test names, with the accuracy of the recurrent part alone (the n-gram
  table zeroed) next to the full model, their agreement, and the spread of each part's
  logits; then the same for n-gram dropout (the whole n-gram term dropped for a random
  share ``p`` of the training rows, so the recurrent part must decide those alone).

Run from the repository root: ``PYTHONPATH=. python benchmarks/bench_explain.py``; prints a
table and writes ``benchmarks/results/bench_explain.json``. ``--quick`` runs a smaller
version. Timings are wall seconds on whatever machine runs it (noisy when it is shared).
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
from skorch.callbacks import Callback

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import data_folder, load_labelled_folder, split_sequences  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "bench_explain.json"
KS = (1, 2, 3, "20%")
METHODS = ("contributions", "attention", "random")


# --------------------------------------------------------------------------- measuring


def _k_tokens(k, n):
    if k == "20%":
        return max(1, math.ceil(0.2 * n))
    return min(int(k), n)


def rankings(model, X, method, rng):
    """Per sequence: (tokens, separator, token order best first, values) of one method."""
    from skseqattn import explain

    explain_as = "attention" if method == "random" else method  # random needs the tokens
    explanations = explain(model, X, method=explain_as)
    out = []
    for item in explanations:
        n = len(item.tokens)
        values = rng.uniform(size=n) if method == "random" else np.asarray(item.values)
        order = np.argsort(-values, kind="stable")
        out.append((item.tokens, item.separator, order, values))
    return explanations, out


def eraser(model, X, explanations, ranked):
    """Comprehensiveness and sufficiency at each k, means over the sequences."""
    classes = list(model.classes_)
    target = np.array([classes.index(item.label) for item in explanations])
    p_full = explanations.proba[np.arange(len(X)), target]
    removed, kept = [], []
    for k in KS:
        for tokens, sep, order, _ in ranked:
            top = set(order[: _k_tokens(k, len(tokens))].tolist())
            removed.append(sep.join(t for j, t in enumerate(tokens) if j not in top))
            kept.append(sep.join(t for j, t in enumerate(tokens) if j in top))
    proba_removed = model.predict_proba(removed)
    proba_kept = model.predict_proba(kept)
    comp, suff = {}, {}
    n = len(X)
    for i, k in enumerate(KS):
        rows = slice(i * n, (i + 1) * n)
        comp[str(k)] = float(np.mean(p_full - proba_removed[rows][np.arange(n), target]))
        suff[str(k)] = float(np.mean(p_full - proba_kept[rows][np.arange(n), target]))
    return {"comprehensiveness": comp, "sufficiency": suff}


def motif_scores(ranked, positions):
    """Share of |value| on the motif, and the share of the top 3 tokens inside it."""
    shares, hits = [], []
    for (_, _, order, values), (start, end) in zip(ranked, positions):
        mass = np.abs(values)
        total = mass.sum()
        shares.append(mass[start:end].sum() / total if total > 0 else 0.0)
        top = order[:3]
        hits.append(np.mean((top >= start) & (top < end)))
    return {"motif_share": float(np.mean(shares)), "top3_hit_rate": float(np.mean(hits))}


def evaluate(model, X, *, positions=None, seed=0):
    """ERASER (and motif) scores of each method on the sequences X."""
    result = {}
    for method in METHODS:
        rng = np.random.RandomState(seed)
        start = time.perf_counter()
        explanations, ranked = rankings(model, X, method, rng)
        seconds = time.perf_counter() - start
        scores = eraser(model, X, explanations, ranked)
        if positions is not None:
            scores.update(motif_scores(ranked, positions))
        if method == "contributions":
            scores["max_residual"] = float(max(item.residual for item in explanations))
        scores["explain_seconds"] = seconds
        result[method] = scores
    return result


def recurrent_alone(model, X):
    """Accuracy-ready predictions of the model without its n-gram term, and logit spreads."""
    import torch

    clf = model[-1]
    alone = copy.deepcopy(clf)
    with torch.no_grad():
        alone.module_.ngrams.table.weight.zero_()
    ids = model[0].transform(X)
    full_logits = clf.decision_function(ids)
    rec_logits = alone.decision_function(ids)
    return {
        "predictions": clf.classes_[np.argmax(rec_logits, axis=1)],
        "recurrent_logit_std": float(np.std(rec_logits)),
        "ngram_logit_std": float(np.std(full_logits - rec_logits)),
    }


class NgramDropout(Callback):
    """Drop the whole n-gram term for a random share `p` of the training rows.

    No rescaling: a kept row sees the model as it predicts; a dropped row trains the
    recurrent part to decide alone.
    """

    def __init__(self, p):
        self.p = p

    def on_train_begin(self, net, **kwargs):
        import torch

        p = self.p

        def hook(module, inputs, output):
            if not module.training:
                return output
            keep = torch.rand(output.shape[0], 1, device=output.device) >= p
            return output * keep.to(output.dtype)

        self.handle_ = net.module_.ngrams.register_forward_hook(hook)

    def on_train_end(self, net, **kwargs):
        self.handle_.remove()
        del self.handle_


# --------------------------------------------------------------------------- tasks


def motif_criterion(n_samples=1500, max_epochs=8, random_state=0, n_test=500):
    """Train the default model on the motif task; ERASER and motif scores of each method."""
    from sklearn.pipeline import make_pipeline

    from skseqattn import BiLSTMAttentionClassifier, CharSequenceVectorizer
    from skseqattn.datasets import make_motif_sequences

    X, y, positions = make_motif_sequences(
        n_samples, return_motif_positions=True, random_state=random_state
    )
    n_train = n_samples - min(n_test, n_samples // 3)
    model = make_pipeline(
        CharSequenceVectorizer(),
        BiLSTMAttentionClassifier(
            embedding_dim=16, hidden_size=32, max_epochs=max_epochs, random_state=random_state
        ),
    )
    start = time.perf_counter()
    model.fit(X[:n_train], y[:n_train])
    fit_seconds = time.perf_counter() - start
    X_test, y_test, pos_test = X[n_train:], y[n_train:], positions[n_train:]
    result = evaluate(model, X_test, positions=pos_test, seed=random_state)
    alone = recurrent_alone(model, X_test)
    full = model.predict(X_test)
    result["model"] = {
        "n_train": n_train,
        "n_test": len(X_test),
        "fit_seconds": fit_seconds,
        "accuracy": float(np.mean(full == y_test)),
        "recurrent_alone_accuracy": float(np.mean(alone["predictions"] == y_test)),
        "agreement": float(np.mean(alone["predictions"] == full)),
        "recurrent_logit_std": alone["recurrent_logit_std"],
        "ngram_logit_std": alone["ngram_logit_std"],
    }
    return result


def surnames(folder, *, n_explain=1000, max_epochs=8, dropouts=(0.25, 0.5, 0.75), seed=0):
    """The default model on the surnames, then n-gram dropout variants."""
    from sklearn.pipeline import make_pipeline

    from skseqattn import BiLSTMAttentionClassifier, CharSequenceVectorizer

    sequences, labels, _ = load_labelled_folder(folder)
    names = sorted(set(labels))
    y = np.array([names.index(label) for label in labels])
    X_train, X_test, y_train, y_test = split_sequences(sequences, y, seed=seed)
    rng = np.random.RandomState(seed)
    pick = rng.choice(len(X_test), size=min(n_explain, len(X_test)), replace=False)
    X_explain = [X_test[i] for i in pick]
    out = {}
    for p in (0.0, *dropouts):
        callbacks = [("ngram_dropout", NgramDropout(p))] if p else None
        model = make_pipeline(
            CharSequenceVectorizer(),
            BiLSTMAttentionClassifier(
                max_epochs=max_epochs, random_state=seed, callbacks=callbacks
            ),
        )
        start = time.perf_counter()
        model.fit(X_train, y_train)
        fit_seconds = time.perf_counter() - start
        full = model.predict(X_test)
        alone = recurrent_alone(model, X_test)
        entry = {
            "fit_seconds": fit_seconds,
            "accuracy": float(np.mean(full == y_test)),
            "recurrent_alone_accuracy": float(np.mean(alone["predictions"] == y_test)),
            "agreement": float(np.mean(alone["predictions"] == full)),
            "recurrent_logit_std": alone["recurrent_logit_std"],
            "ngram_logit_std": alone["ngram_logit_std"],
            "n_test": len(X_test),
            "n_explained": len(X_explain),
        }
        # the dropout variants on fewer names: they are compared with each other
        n = len(X_explain) if not p else max(1, len(X_explain) // 3)
        entry["n_explained"] = n
        entry.update(evaluate(model, X_explain[:n], seed=seed))
        out[f"ngram_dropout={p:g}"] = entry
        print(f"  surnames, n-gram dropout {p:g}: done in {time.perf_counter() - start:.0f} s")
    return out


# --------------------------------------------------------------------------- output


def _table(title, result):
    lines = [title]
    head = f"  {'method':<14}" + "".join(f"  comp@{k:<4}" for k in KS)
    head += "".join(f"  suff@{k:<4}" for k in KS)
    if "motif_share" in result["contributions"]:
        head += "  motif share  top-3 hits"
    lines.append(head)
    for method in METHODS:
        r = result[method]
        row = f"  {method:<14}"
        row += "".join(f"  {r['comprehensiveness'][str(k)]:>9.3f}" for k in KS)
        row += "".join(f"  {r['sufficiency'][str(k)]:>9.3f}" for k in KS)
        if "motif_share" in r:
            row += f"  {r['motif_share']:>11.3f}  {r['top3_hit_rate']:>10.3f}"
        lines.append(row)
    return "\n".join(lines)


def _model_line(m):
    return (
        f"  accuracy full {m['accuracy']:.3f}, recurrent part alone "
        f"{m['recurrent_alone_accuracy']:.3f}, agreement {m['agreement']:.3f}; logit std "
        f"recurrent {m['recurrent_logit_std']:.2f}, n-grams {m['ngram_logit_std']:.2f}"
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_data = data_folder(os.environ.get("SKSEQATTN_DATA")) / "names"
    parser.add_argument("--data", default=str(default_data), help="folder of <Label>.txt")
    parser.add_argument("--quick", action="store_true", help="smaller, for a smoke test")
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args(argv)
    start = time.perf_counter()
    result = {"benchmark": "explain", "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    quick = args.quick
    print("motif task ...")
    motif = motif_criterion(n_samples=600 if quick else 1500, max_epochs=3 if quick else 8)
    result["motif"] = motif
    folder = Path(args.data)
    if folder.is_dir():
        print("surnames ...")
        result["surnames"] = surnames(
            folder,
            n_explain=200 if quick else 1000,
            max_epochs=2 if quick else 8,
            dropouts=(0.5,) if quick else (0.25, 0.5, 0.75),
        )
    else:
        result["surnames"] = None
        print(f"surnames skipped: no folder {folder}")
    result["wall_seconds"] = time.perf_counter() - start
    result["machine"] = {"cpu_count": os.cpu_count(), "load_average": list(os.getloadavg())}

    print()
    print(_table("Motif task (motif known; comprehensiveness high, sufficiency low)", motif))
    print(_model_line(motif["model"]))
    if result["surnames"]:
        base = result["surnames"]["ngram_dropout=0"]
        print(_table(f"Surnames (default model, {base['n_explained']} test names)", base))
        print(_model_line(base))
        print("N-gram dropout on the surnames")
        for name, entry in result["surnames"].items():
            c, a = entry["contributions"], entry["attention"]
            print(
                f"  {name:<18} acc {entry['accuracy']:.3f}  recurrent alone "
                f"{entry['recurrent_alone_accuracy']:.3f}  agreement {entry['agreement']:.3f}"
                f"  comp@3 contributions {c['comprehensiveness']['3']:.3f} attention "
                f"{a['comprehensiveness']['3']:.3f}"
            )
    print(f"wall {result['wall_seconds']:.0f} s (load average {result['machine']['load_average']})")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
