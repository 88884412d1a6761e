"""The hashed n-gram term and the logit-adjusted loss."""

import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from sklearn.base import clone

from skseqattn._net import cpu_bfloat16_unsupported
from skseqattn.nn import HashedNgramLinear, SequenceClassifierModule
from skseqattn.nn._export import ExportableSequenceModule
from skseqattn.persistence import load, save

from conftest import tiny_classifier


def _randomised(layer, seed=0):
    """The layer with a random table: a fresh one is all zeros."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        layer.table.weight.copy_(torch.randn(layer.table.weight.shape, generator=gen))
    return layer


def _left_aligned(rows, width=None):
    width = max(map(len, rows), default=0) if width is None else width
    X = torch.zeros(len(rows), width, dtype=torch.int64)
    for i, row in enumerate(rows):
        X[i, : len(row)] = torch.tensor(row, dtype=torch.int64)
    return X, torch.tensor([len(r) for r in rows])


# --------------------------------------------------------------------------- the layer
@pytest.mark.parametrize("max_order", [1, 2, 4])
def test_ngram_ids_counts_every_framed_ngram_once(max_order):
    layer = HashedNgramLinear(3, max_order=max_order, buckets=97)
    rows = [[], [5], [2, 3], [4, 4, 4, 9, 2]]
    X, lengths = _left_aligned(rows, width=7)
    ids, valid = layer.ngram_ids(X, lengths)
    assert ids.shape == valid.shape == (4, 9, max_order)
    for i, row in enumerate(rows):
        framed = len(row) + 2  # start and end markers
        # unigrams: the real steps only; order n >= 2: every window of the framed sequence
        expected = len(row) + sum(max(framed - n + 1, 0) for n in range(2, max_order + 1))
        assert int(valid[i].sum()) == expected
    assert int(ids.min()) >= 0 and int(ids.max()) < 97


def test_ngram_ids_hash_the_same_ngram_to_the_same_bucket_anywhere():
    layer = HashedNgramLinear(2, max_order=3, buckets=1 << 16)
    X, lengths = _left_aligned([[7, 8, 9], [3, 7, 8, 9, 5]])
    ids, valid = layer.ngram_ids(X, lengths)
    # the trigram (7, 8, 9) ends at step 3 of row 0 and at step 4 of row 1 (step 0 = start)
    assert ids[0, 3, 2] == ids[1, 4, 2] and valid[0, 3, 2] and valid[1, 4, 2]
    # the bigram (start, 7) of row 0 is not the bigram (3, 7) of row 1
    assert ids[0, 1, 1] != ids[1, 2, 1]
    # and the end of row 0, (9, end), is not (9, 5) in row 1
    assert ids[0, 4, 1] != ids[1, 4, 1]


def test_ngram_layer_starts_at_zero_and_is_finite_on_empty_rows():
    layer = HashedNgramLinear(4)
    X, lengths = _left_aligned([[], [2, 3, 4]])
    assert torch.equal(layer(X, lengths), torch.zeros(2, 4))
    out = _randomised(layer)(X, lengths)
    assert torch.isfinite(out).all() and out.abs().sum() > 0


def test_ngram_layer_ignores_padding_and_batch_neighbours():
    layer = _randomised(HashedNgramLinear(3, max_order=4, buckets=1000))
    rows = [[2, 5, 6, 3], [4], [], [9, 9, 2, 7, 7, 3, 2]]
    X, lengths = _left_aligned(rows)
    together = layer(X, lengths)
    for i, row in enumerate(rows):
        alone = layer(*_left_aligned([row], width=len(row) + 5))
        torch.testing.assert_close(alone[0], together[i], atol=1e-6, rtol=0)


def test_ngram_layer_sees_order_not_only_counts():
    layer = _randomised(HashedNgramLinear(3, max_order=2, buckets=1 << 12))
    X, lengths = _left_aligned([[2, 3, 4], [4, 3, 2]])
    out = layer(X, lengths)
    assert not torch.allclose(out[0], out[1])
    unigrams = _randomised(HashedNgramLinear(3, max_order=1, buckets=1 << 12))
    out = unigrams(X, lengths)
    torch.testing.assert_close(out[0], out[1])  # a bag of characters


def test_ngram_layer_rejects_bad_sizes():
    with pytest.raises(ValueError, match="max_order must be >= 1"):
        HashedNgramLinear(2, max_order=0)
    with pytest.raises(ValueError, match="buckets must be >= 1"):
        HashedNgramLinear(2, buckets=0)


def test_module_adds_the_ngram_scores_to_the_logits():
    torch.manual_seed(0)
    module = SequenceClassifierModule(
        n_classes=3, vocab_size=10, embedding_dim=4, hidden_size=4, ngram_order=3
    ).eval()
    _randomised(module.ngrams)
    X, lengths = _left_aligned([[2, 3], [4, 5, 6, 7]])
    with torch.no_grad():
        outputs, mask, final = module.encode(X, lengths)
        deep = module.head(module.pool(outputs, mask, final)[0])
        torch.testing.assert_close(module(X, lengths), deep + module.ngrams(X, lengths))
    features = SequenceClassifierModule(n_classes=2, n_features=3, ngram_order=4)
    assert features.ngrams is None  # n-grams of real-valued steps do not exist


def test_exportable_module_matches_module_with_ngrams():
    torch.manual_seed(0)
    module = SequenceClassifierModule(
        n_classes=3, vocab_size=9, embedding_dim=6, hidden_size=5, ngram_order=4, ngram_buckets=64
    ).eval()
    _randomised(module.ngrams)
    twin = ExportableSequenceModule(module)
    X = torch.tensor([[0, 2, 3, 0, 4], [5, 0, 0, 6, 7], [0, 0, 0, 0, 0], [11, 8, 2, 2, 2]])
    with torch.no_grad():
        logits, _ = twin(X)
        aligned, lengths = _left_aligned([[2, 3, 4], [5, 6, 7], [], [1, 8, 2, 2, 2]])
        torch.testing.assert_close(logits, module(aligned, lengths), atol=1e-6, rtol=0)


# --------------------------------------------------------------------------- the estimator
def _imbalanced(n=300, seed=0):
    """Class 'rare' (1 in 6) when id 2 starts the row; a noisy cue, so priors matter."""
    rng = np.random.RandomState(seed)
    X = rng.randint(2, 8, size=(n, 6))
    rare = (X[:, 0] == 2) & (rng.rand(n) < 0.8) | (rng.rand(n) < 0.05)
    return X, np.where(rare, "rare", "common")


def test_classifier_ngram_params_build_the_table():
    X, y = _imbalanced(80)
    clf = tiny_classifier(max_epochs=1, ngram_buckets=128).fit(X, y)
    assert clf.module_.ngrams.max_order == 4 and clf.module_.ngrams.buckets == 128
    assert float(clf.module_.ngrams.table.weight.detach().abs().sum()) > 0  # trained
    off = clone(clf).set_params(ngram_order=0).fit(X, y)
    assert off.module_.ngrams is None
    assert not np.allclose(off.predict_proba(X), clf.predict_proba(X))


def test_logit_offset_is_tau_log_prior_of_the_training_rows():
    X, y = _imbalanced()
    clf = tiny_classifier(max_epochs=1, validation_fraction=None, logit_adjustment=0.5).fit(X, y)
    prior = np.array([np.mean(y == c) for c in clf.classes_])
    np.testing.assert_allclose(clf.logit_offset_, 0.5 * np.log(prior), rtol=1e-6)
    assert clf.net_.logit_offset is clf.logit_offset_
    # sample weights count as frequencies
    w = np.where(y == "rare", 3.0, 1.0)
    weighted = clone(clf).fit(X, y, sample_weight=w)
    wprior = np.array([w[y == c].sum() for c in clf.classes_]) / w.sum()
    np.testing.assert_allclose(weighted.logit_offset_, 0.5 * np.log(wprior), rtol=1e-6)


@pytest.mark.parametrize(
    "params",
    [dict(logit_adjustment=0.0), dict(class_weight="balanced"), dict(class_weight={"rare": 2})],
)
def test_logit_adjustment_off(params):
    X, y = _imbalanced(120)
    clf = tiny_classifier(max_epochs=1, **params).fit(X, y)
    assert clf.logit_offset_ is None and clf.net_.logit_offset is None


def test_logit_adjustment_does_nothing_on_balanced_classes():
    X, _ = _imbalanced(120)
    y = np.where(np.arange(120) % 2, "a", "b")
    fits = [tiny_classifier(max_epochs=2, logit_adjustment=tau).fit(X, y) for tau in (0.0, 1.0)]
    assert fits[1].logit_offset_ is None
    np.testing.assert_array_equal(fits[0].predict_proba(X), fits[1].predict_proba(X))


def test_logit_adjustment_moves_decisions_to_the_rare_class():
    X, y = _imbalanced()
    params = dict(max_epochs=6, validation_fraction=None, ngram_order=0)
    plain = tiny_classifier(logit_adjustment=0.0, **params).fit(X, y)
    adjusted = tiny_classifier(logit_adjustment=1.0, **params).fit(X, y)
    rare = list(plain.classes_).index("rare")
    # the adjusted model's own probabilities of the rare class are higher almost everywhere
    assert adjusted.predict_proba(X)[:, rare].mean() > plain.predict_proba(X)[:, rare].mean()
    assert (adjusted.predict(X) == "rare").sum() > (plain.predict(X) == "rare").sum()


def test_logit_offset_survives_save_and_load(tmp_path):
    X, y = _imbalanced(120)
    clf = tiny_classifier(max_epochs=1, warm_start=True).fit(X, y)
    path = tmp_path / "model.skseqattn"
    save(clf, path)
    loaded = load(path)
    np.testing.assert_array_equal(loaded.logit_offset_, clf.logit_offset_)
    np.testing.assert_array_equal(loaded.net_.logit_offset, clf.logit_offset_)
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    # training on continues with the same loss
    loaded.fit(X, y)
    np.testing.assert_array_equal(loaded.logit_offset_, clf.logit_offset_)


def test_adam_trains_the_table_with_sparse_adam_and_others_densely():
    X, y = _imbalanced(120)
    clf = tiny_classifier(max_epochs=3).fit(X, y)
    table = clf.module_.ngrams.table.weight
    sparse = clf.net_.sparse_optimizer_
    assert isinstance(sparse, torch.optim.SparseAdam)
    assert [p for g in sparse.param_groups for p in g["params"]] == [table]
    dense = [p for g in clf.net_.optimizer_.param_groups for p in g["params"]]
    assert all(p is not table for p in dense)
    assert len(dense) == len(list(clf.module_.parameters())) - 1
    # the plateau schedule moves both rates together
    assert sparse.param_groups[0]["lr"] == clf.net_.optimizer_.param_groups[0]["lr"]
    sgd = tiny_classifier(max_epochs=1, optimizer="sgd").fit(X, y)
    assert not hasattr(sgd.net_, "sparse_optimizer_")
    assert not sgd.module_.ngrams.table.sparse
    params = [p for g in sgd.net_.optimizer_.param_groups for p in g["params"]]
    assert any(p is sgd.module_.ngrams.table.weight for p in params)


def test_sparse_table_gradients_pass_clipping_and_warm_start_sets_both_rates():
    X, y = _imbalanced(120)
    clf = tiny_classifier(
        max_epochs=1, clip_grad_norm=1e-3, warm_start=True, validation_fraction=None
    ).fit(X, y)
    assert float(clf.module_.ngrams.table.weight.detach().abs().sum()) > 0
    clf.set_params(lr=1e-4).fit(X, y)
    assert clf.net_.sparse_optimizer_.param_groups[0]["lr"] == 1e-4
    assert clf.net_.optimizer_.param_groups[0]["lr"] == 1e-4


def test_one_forward_pass_per_training_batch_with_two_optimizers(monkeypatch):
    X, y = _imbalanced(130)
    calls = []
    forward = SequenceClassifierModule.forward

    def counting(self, X, lengths):
        calls.append(len(X))
        return forward(self, X, lengths)

    monkeypatch.setattr(SequenceClassifierModule, "forward", counting)
    clf = tiny_classifier(max_epochs=2, batch_size=32, validation_fraction=None).fit(X, y)
    assert clf.net_._optimizers == ["optimizer", "sparse_optimizer"]
    # 130 rows in batches of 32: 5 batches per epoch, 2 epochs, one forward pass each
    assert sorted(calls) == [2, 2] + [32] * 8


# --------------------------------------------------------------------------- mixed precision
def test_mixed_precision_on_the_cpu_trains_in_bfloat16_and_predicts_float():
    reason = cpu_bfloat16_unsupported()
    if reason is not None:
        pytest.skip(f"this CPU has no bfloat16 LSTM kernels: {reason}")
    X, y = _imbalanced(160)
    seen = []
    clf = tiny_classifier(max_epochs=2, mixed_precision=True)
    clf.fit(X, y)
    handle = clf.module_.rnn.register_forward_hook(lambda m, i, o: seen.append(o[0].dtype))
    proba = clf.predict_proba(X)
    handle.remove()
    assert seen and all(d == torch.bfloat16 for d in seen)  # the LSTM ran in bfloat16
    assert proba.dtype == np.float64 and np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    full = tiny_classifier(max_epochs=2).fit(X, y)
    # bfloat16 keeps about 3 significant digits: close to the float32 model, not equal
    assert np.abs(proba - full.predict_proba(X)).max() < 0.1
    assert not np.array_equal(proba, full.predict_proba(X))
    assert clf.net_._grad_scaler() is None  # no loss scaling for bfloat16


_FALLBACK_SCRIPT = """
import warnings
import numpy as np
from skseqattn import BiLSTMAttentionClassifier
from skseqattn._net import MixedPrecisionWarning, cpu_bfloat16_unsupported

rng = np.random.RandomState(0)
X = rng.randint(2, 9, size=(80, 6))
y = (X[:, 0] > 5).astype(int)
kw = dict(hidden_size=8, embedding_dim=8, max_epochs=2, random_state=0)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    clf = BiLSTMAttentionClassifier(mixed_precision=True, **kw).fit(X, y)
    proba = clf.predict_proba(X)
    clf.predict(X)
fallback = [w for w in caught if issubclass(w.category, MixedPrecisionWarning)]
plain = BiLSTMAttentionClassifier(**kw).fit(X, y).predict_proba(X)
print(cpu_bfloat16_unsupported() is not None, len(fallback), np.array_equal(proba, plain))
print(fallback[0].message if fallback else "")
"""


def test_mixed_precision_without_bfloat16_kernels_falls_back_to_float32():
    # oneDNN can be told to use AVX2 only, as on the processors that lack bfloat16: the LSTM
    # under bfloat16 autocast then fails to build. A subprocess, since the setting is read
    # once when oneDNN starts.
    env = dict(os.environ, ONEDNN_MAX_CPU_ISA="AVX2", OMP_NUM_THREADS="1")
    run = subprocess.run(
        [sys.executable, "-c", _FALLBACK_SCRIPT], env=env, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    flags, message = run.stdout.splitlines()[:2]
    if flags.startswith("False"):
        pytest.skip("ONEDNN_MAX_CPU_ISA=AVX2 does not turn bfloat16 off on this CPU")
    # probe said no; one warning for fit and two predicts; the same model as in float32
    assert flags == "True 1 True"
    assert "mixed_precision=True" in message and "float32" in message
    assert "mixed_precision=False" in message  # the fix


@pytest.mark.gpu
def test_mixed_precision_on_cuda_scales_the_loss_and_pickles_without_gpu_state(tmp_path):
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device")
    import pickle

    X, y = _imbalanced(300)
    clf = tiny_classifier(max_epochs=3, mixed_precision=True, device="cuda").fit(X, y)
    scaler = clf.net_._grad_scaler()
    assert isinstance(scaler, torch.amp.GradScaler) and scaler.get_scale() > 0
    proba = clf.predict_proba(X)
    assert np.isfinite(proba).all()
    full = tiny_classifier(max_epochs=3, device="cuda").fit(X, y)
    assert np.mean(clf.predict(X) == full.predict(X)) > 0.9
    state = pickle.dumps(clf)
    assert b"GradScaler" not in state
    np.testing.assert_allclose(pickle.loads(state).predict_proba(X), proba, atol=1e-6)
