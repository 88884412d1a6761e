"""The MiniRocket-style series branch and the downsampling front-end (skseqattn.nn._rocket)."""

import numpy as np
import pytest
import torch

from skseqattn.nn._rocket import SeriesRocketLinear, downsample, stride_for, upsample_weights


def _task(n=40, length=60, seed=0):
    rng = np.random.RandomState(seed)
    y = rng.randint(0, 2, n)
    t = np.linspace(0, 1, length)
    X = np.sin(2 * np.pi * (2 + 3 * y[:, None]) * t) + 0.3 * rng.randn(n, length)
    return torch.tensor(X, dtype=torch.float32)[:, :, None], torch.tensor(y)


def test_rocket_fit_separates_and_is_deterministic():
    X, y = _task()
    mask = torch.ones(X.shape[:2], dtype=torch.bool)
    a = SeriesRocketLinear(1, 2, X.shape[1], n_outputs=2000)
    b = SeriesRocketLinear(1, 2, X.shape[1], n_outputs=2000)
    a.fit(X, mask, y, 2, seed=3)
    b.fit(X, mask, y, 2, seed=3)
    assert torch.equal(a.biases, b.biases) and torch.equal(a.weight, b.weight)
    Xt, yt = _task(seed=1)
    with torch.no_grad():
        pred = a(Xt, torch.ones(Xt.shape[:2], dtype=torch.bool)).argmax(1)
    assert (pred == yt).float().mean() > 0.9


def test_rocket_ignores_padding_and_shares_add_up():
    X, y = _task(n=20)
    full = torch.ones(X.shape[:2], dtype=torch.bool)
    r = SeriesRocketLinear(1, 2, X.shape[1], n_outputs=1000)
    r.fit(X, full, y, 2)
    short = full.clone()
    short[:, 45:] = False
    padded = torch.cat([X, torch.randn(20, 7, 1)], dim=1)
    pmask = torch.cat([short, torch.zeros(20, 7, dtype=torch.bool)], dim=1)
    with torch.no_grad():
        a = r(X, short)
        b = r(padded, pmask)
        steps, base = r.step_scores(padded, pmask)
    assert torch.allclose(a, b, atol=1e-5)
    assert torch.allclose(steps.sum(1) + base, b, atol=1e-3)
    assert float(steps[:, 45:].abs().max()) == 0.0


@pytest.mark.parametrize("length", [0, 1, 3, 7, 8, 9, 20])
def test_downsample_lengths_and_weights_map_back(length):
    stride = 4
    x = torch.randn(1, 20, 2)
    lengths = torch.tensor([length])
    pooled, new_lengths, mask = downsample(x, lengths, stride)
    assert int(new_lengths) == -(-length // stride)
    assert int(mask.sum()) == int(new_lengths)
    if length:
        assert torch.allclose(pooled[0, 0], x[0, : min(stride, length)].mean(0))
    w = torch.zeros(1, pooled.shape[1], 1)
    w[0, : int(new_lengths)] = 1.0 / max(int(new_lengths), 1)
    back = upsample_weights(w, lengths, stride, 20)
    assert back.shape == (1, 20, 1)
    assert float(back[0, length:].abs().sum()) == 0.0
    assert float(back.sum()) == pytest.approx(1.0 if length else 0.0, abs=1e-6)


def test_stride_for_bounds_the_steps():
    assert stride_for(100, 128) == 1 and stride_for(1460, 128) == 12
    assert stride_for(1460, None) == 1


# ----------------------------------------------------------------- the estimator's branch
from skseqattn import BiLSTMAttentionClassifier  # noqa: E402
from skseqattn._net import MIN_STEPS, passes_for  # noqa: E402


def _series(n=40, length=30, seed=0):
    X, y = _task(n=n, length=length, seed=seed)
    return X[:, :, 0].numpy(), np.where(y.numpy() == 1, "b", "a")


def _tiny(**params):
    base = dict(hidden_size=8, max_epochs=2, rocket_features=500, random_state=0)
    return BiLSTMAttentionClassifier(**{**base, **params})


@pytest.fixture(scope="module")
def series_clf():
    X, y = _series()
    return _tiny().fit(X, y), X, y


def test_rocket_branch_is_on_for_series_and_carries_the_prediction(series_clf):
    clf, X, y = series_clf
    assert clf.series_length_ == 30 and clf.module_.rocket is not None
    assert clf.module_.contribution_parts == ("recurrent", "rocket")
    Xt, yt = _series(seed=1)
    assert (clf.predict(Xt) == yt).mean() > 0.9  # two epochs of the RNN alone do not


def test_rocket_branch_is_off_for_tokens_and_with_zero():
    rng = np.random.RandomState(0)
    ids = rng.randint(2, 6, size=(60, 8))
    y = (ids[:, 0] == 2).astype(int)
    clf = _tiny().fit(ids, y)
    assert clf.series_length_ == 0 and clf.module_.rocket is None
    X, y = _series()
    off = _tiny(rocket_features=0).fit(X, y)
    assert off.series_length_ == 0 and off.module_.rocket is None and off.module_.stride == 1


def test_rocket_fit_is_deterministic(series_clf):
    clf, X, y = series_clf
    again = _tiny().fit(X, y)
    np.testing.assert_array_equal(clf.predict_proba(X), again.predict_proba(X))


def test_rocket_predictions_ignore_nan_padding_and_list_form(series_clf):
    clf, X, _ = series_clf
    rows = [X[0, :30], X[1, :20], X[2, :7], X[3, :1]]
    padded = np.full((4, 35), np.nan, dtype=np.float32)
    for i, r in enumerate(rows):
        padded[i, : len(r)] = r
    from_list = clf.predict_proba(rows)
    np.testing.assert_allclose(clf.predict_proba(padded[:, :, None]), from_list, atol=1e-5)
    one = np.stack([clf.predict_proba(r[None, :, None])[0] for r in rows])
    np.testing.assert_allclose(one, from_list, atol=1e-5)


def test_rocket_contributions_add_up_to_the_score(series_clf):
    clf, X, _ = series_clf
    rows = [X[0], X[1, :12], X[2, :3]]
    _, _, _, found = clf._predict_with_contributions(rows)
    assert found["parts"] == ("recurrent", "rocket")
    offsets = np.cumsum([0] + [len(r) for r in rows])
    for i in range(len(rows)):
        steps = found["steps"][offsets[i] : offsets[i + 1]]
        total = found["baselines"][i].sum() + steps.sum()
        assert total == pytest.approx(found["score"][i], abs=1e-3)
        assert np.abs(steps[:, 1]).max() > 0  # the branch's exact shares are there
    scores = clf.decision_function(rows)
    signed = np.where(clf.predict(rows) == clf.classes_[1], scores, -scores)
    np.testing.assert_allclose(found["score"], signed, atol=1e-4)


def test_rocket_branch_survives_save_and_load(series_clf, tmp_path):
    from skseqattn.persistence import load, save

    clf, X, _ = series_clf
    path = save(clf, tmp_path / "series.skseqattn")
    back = load(path)
    assert back.series_length_ == 30
    np.testing.assert_allclose(back.predict_proba(X), clf.predict_proba(X), atol=1e-6)


def test_rocket_branch_exports_to_onnx(series_clf, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    from skseqattn.onnx import export_onnx

    clf, X, _ = series_clf
    path = export_onnx(clf, tmp_path / "series.onnx")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    padded = np.full((3, 34, 1), np.nan, dtype=np.float32)
    padded[0, :30, 0] = X[0]
    padded[1, 4:20, 0] = X[1, :16]  # padding before and after
    padded[2, :5, 0] = X[2, :5]
    _, proba = session.run(None, {"features": padded})
    expected = clf.predict_proba([X[0], X[1, :16], X[2, :5]])
    np.testing.assert_allclose(proba, expected, atol=1e-4)


def test_front_end_maps_attention_to_input_steps():
    X, y = _series(n=30, length=300)
    clf = _tiny(max_epochs=1).fit(X, y)
    assert clf.module_.stride == 5  # 300 steps read as 60 windows
    rows = [X[0], X[1, :200], X[2, :2], X[3, :1]]
    weights = clf.attention_weights(rows)
    assert weights.shape == (4, 300)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-5)
    assert np.abs(weights[1, 200:]).max() == 0 and np.abs(weights[2, 2:]).max() == 0
    assert weights[3, 0] == pytest.approx(1.0)


# ------------------------------------------------------------------------- the budget
def test_budget_passes_reach_the_fewest_steps_and_leave_big_sets_alone():
    for n in (1, 36, 50, 100, 200, 576):
        passes = passes_for("auto", n, 64)
        assert 30 * -(-passes * n // 64) >= MIN_STEPS  # 30 epochs of ceil(rows / 64) steps
    assert passes_for("auto", 50, 64) == 13  # 650 rows an epoch: 11 batches, 330 steps
    assert passes_for("auto", 577, 64) == 1 and passes_for("auto", 20_000, 64) == 1
    assert passes_for(30, 50, 64) == 1  # an int max_epochs is epochs of one pass


def test_budget_auto_trains_a_tiny_set_for_the_fewest_steps():
    rng = np.random.RandomState(0)
    ids = rng.randint(2, 6, size=(40, 6))
    y = (ids[:, 0] == 2).astype(int)
    clf = BiLSTMAttentionClassifier(hidden_size=8, embedding_dim=8, random_state=0)
    clf.fit(ids, y)
    steps = sum(len(epoch["batches"]) for epoch in clf.history_)
    assert clf.n_epochs_ == 30 and steps >= MIN_STEPS
    assert (clf.predict(ids) == y).mean() == 1.0


def test_rocket_export_convolution_is_the_same_exact_sums():
    from skseqattn.nn._rocket import _dilated_taps

    x = torch.randn(3, 50, 2)
    r = SeriesRocketLinear(2, 2, 50, n_outputs=500)
    mask = torch.ones(3, 50, dtype=torch.bool)
    for i, d in enumerate(r.dilations):
        out, _ = r._conv(x, mask, i, d)
        picked = x.double().index_select(2, r.channels).transpose(1, 2)
        half = 4 * d
        assert torch.equal(out, _dilated_taps(picked, r.kernels.double(), half, d))


def test_rocket_features_do_not_depend_on_the_batch():
    X, y = _task(n=30)
    mask = torch.ones(X.shape[:2], dtype=torch.bool)
    r = SeriesRocketLinear(1, 2, X.shape[1], n_outputs=1000)
    r.fit(X, mask, y, 2)
    with torch.no_grad():
        whole = r(X, mask)
        one = torch.cat([r(X[i : i + 1], mask[i : i + 1]) for i in range(len(X))])
    assert torch.equal(whole, one)


def test_recurrent_part_is_trained_where_the_branch_is_weak_and_judged_on_validation():
    X, y = _series(n=40)
    alone = _tiny().fit(X, y)  # 40 rows: no validation split, the branch predicts alone
    assert alone.n_epochs_ == 1 and alone.history_[-1, "recurrent_kept"] is False
    assert alone.history_[-1, "batches"] == [] and alone.history_[-1, "train_acc"] > 0.9
    assert float(alone.module_.head.weight.abs().sum()) == 0.0
    # labels the branch cannot read (leave-one-out near chance): the RNN trains on top
    noise = np.where(np.random.RandomState(1).rand(40) < 0.5, "a", "b")
    on_top = _tiny().fit(X, noise)
    assert on_top.n_epochs_ == 2 and "recurrent_kept" not in on_top.history_[-1]
    assert float(on_top.module_.head.weight.abs().sum()) > 0
    X, y = _series(n=120)
    clf = _tiny(validation_fraction=0.5).fit(X, y)  # 60 validation rows
    kept = clf.history_[-1, "recurrent_kept"]
    assert clf.n_epochs_ == 2 and kept in (True, False)
    assert (float(clf.module_.head.weight.abs().sum()) > 0) == kept


# ------------------------------------------------------------------------- the layout
def test_layout_channels_first_reads_aeon_arrays_as_their_transpose(series_clf):
    import warnings

    clf, X, y = series_clf
    aeon_like = X[:, None, :]  # (n_cases, n_channels, n_timepoints)
    with pytest.warns(UserWarning, match=r"layout='channels_first'"):
        _tiny(max_epochs=1, rocket_features=0).fit(aeon_like, y)  # 40 series of 1 step?
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # said explicitly: no warning
        fitted = _tiny(layout="channels_first", validation_fraction=None).fit(aeon_like, y)
    assert fitted.series_length_ == 30 and fitted.n_features_in_ == 1
    np.testing.assert_allclose(
        fitted.predict_proba(aeon_like), clf.predict_proba(X[:, :, None]), atol=1e-6
    )
    rows = [X[0, None, :20], X[1, None, :]]  # a list of (n_channels, T_i)
    expected = clf.predict_proba([X[0, :20], X[1]])
    np.testing.assert_allclose(fitted.predict_proba(rows), expected, atol=1e-6)


def test_layout_is_validated():
    from sklearn.utils._param_validation import InvalidParameterError

    X, y = _series()
    with pytest.raises(InvalidParameterError, match="'layout' parameter"):
        _tiny(layout="ncw").fit(X, y)


def test_rocket_fit_weighs_rows():
    X, y = _task(n=40)
    mask = torch.ones(X.shape[:2], dtype=torch.bool)
    plain = SeriesRocketLinear(1, 2, X.shape[1], n_outputs=500)
    plain.fit(X, mask, y, 2)
    ones = SeriesRocketLinear(1, 2, X.shape[1], n_outputs=500)
    ones.fit(X, mask, y, 2, sample_weight=np.full(40, 3.0))  # only ratios count
    torch.testing.assert_close(ones.weight, plain.weight, atol=1e-5, rtol=1e-4)
    # weight 0 is leaving the row out: the same fit as without it
    w = np.ones(40)
    w[:5] = 0.0
    zero = SeriesRocketLinear(1, 2, X.shape[1], n_outputs=500)
    _, loo = zero.fit(X, mask, y, 2, sample_weight=w)
    with torch.no_grad():
        assert torch.allclose(loo[:5], zero(X[:5], mask[:5]), atol=1e-4)


def test_explain_series_picks_contributions_that_add_up(series_clf):
    from skseqattn import explain

    clf, X, _ = series_clf
    rows = [X[0], X[1, :9], X[2, :0]]  # an empty series too
    (first, short, empty) = explain(clf, rows)
    assert first.method == "contributions" and sorted(first.parts) == ["recurrent", "rocket"]
    for item in (first, short, empty):
        total = item.baseline + item.contributions.sum()
        assert total == pytest.approx(item.score, abs=1e-3)
    assert len(short.contributions) == 9 and empty.contributions.shape == (0,)
    assert np.abs(first.parts["rocket"]).max() > 0


def test_front_end_exports_to_onnx(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    from skseqattn.onnx import export_onnx

    X, y = _series(n=30, length=130)
    clf = _tiny(max_epochs=1, rocket_features=0).fit(X, y)  # no branch: the RNN is trained
    clf_stride = clf.module_.stride
    clf = _tiny(max_epochs=1).fit(X, y, sample_weight=np.linspace(1, 2, 30))
    assert clf_stride == 1 and clf.module_.stride == 3  # 130 steps: windows of 3
    path = export_onnx(clf, tmp_path / "front.onnx")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    padded = np.full((3, 140, 1), np.nan, dtype=np.float32)
    padded[0, :130, 0] = X[0]
    padded[1, 10:61, 0] = X[1, :51]
    padded[2, :2, 0] = X[2, :2]
    _, proba = session.run(None, {"features": padded})
    expected = clf.predict_proba([X[0], X[1, :51], X[2, :2]])
    np.testing.assert_allclose(proba, expected, atol=1e-4)
