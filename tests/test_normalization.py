"""The `normalization` of real-valued input: per series, global, and the choice of 'auto'."""

import copy
import pickle

import numpy as np
import pytest

from skseqattn._inputs import FeatureInput, series_share_one_scale, standardize_each_series
from skseqattn._sequences import RaggedSequences

from conftest import tiny_classifier


def tiny(**params):
    return tiny_classifier(**{"rocket_features": 500, **params})


def _shapes(n=60, length=30, seed=0, nuisance=True):
    """Class = shape (a slow or a fast sine); each series scaled by a factor in [0.1, 10]
    and shifted by up to +-20 when ``nuisance``."""
    rng = np.random.RandomState(seed)
    y = rng.randint(0, 2, n)
    t = np.linspace(0, 1, length)
    X = np.sin(2 * np.pi * (2 + 2 * y[:, None]) * t + rng.uniform(0, 6, (n, 1)))
    X = X + 0.5 * rng.randn(n, length)
    if nuisance:
        X = X * 10 ** rng.uniform(-1, 1, (n, 1)) + rng.uniform(-20, 20, (n, 1))
    return X.astype(np.float32), np.where(y == 1, "fast", "slow")


def _levels(n=60, length=30, seed=0):
    """Class = the level of the series (noise around 0 or around 1), same shapes."""
    rng = np.random.RandomState(seed)
    y = rng.randint(0, 2, n)
    X = rng.randn(n, length) + 1.0 * y[:, None]
    return X.astype(np.float32), y


@pytest.fixture(scope="module")
def series_clf():
    X, y = _shapes()
    return tiny(normalization="series").fit(X, y), X, y


# ------------------------------------------------------------ the per-series values
def test_standardize_each_series_values_ragged_constant_short_and_empty():
    rows = [
        np.array([[1.0, 5.0], [3.0, 5.0], [8.0, 5.0]]),  # second channel constant
        np.zeros((0, 2)),  # empty
        np.array([[7.0, -2.0]]),  # one step
        np.array([[1.0, 10.0], [2.0, 30.0]]),
    ]
    seqs = RaggedSequences.from_list(rows)
    out = standardize_each_series(seqs.values, seqs.offsets)
    first = (rows[0][:, 0] - 4.0) / np.sqrt(((rows[0][:, 0] - 4.0) ** 2).mean())
    expected = np.concatenate(
        [np.stack([first, np.zeros(3)], axis=1), np.zeros((1, 2)), [[-1.0, -1.0], [1.0, 1.0]]]
    )
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-15)
    assert out.shape == seqs.values.shape and np.isfinite(out).all()
    none = RaggedSequences.from_list([np.zeros((0, 3)), np.zeros((0, 3))])
    assert standardize_each_series(none.values.reshape(0, 3), none.offsets).shape == (0, 3)


def test_series_encoding_is_the_same_for_nan_padding_and_lists():
    rows = [np.array([2.0, 4.0, 9.0]), np.array([]), np.array([5.0]), np.array([3.0, 3.0])]
    padded = np.full((4, 5, 1), np.nan, dtype=np.float32)
    padded[0, 1:4, 0] = rows[0]  # padding on both sides
    padded[2, 4, 0] = 5.0
    padded[3, :2, 0] = 3.0
    raw = FeatureInput().check(padded, "test")
    kind = FeatureInput().fitted(raw, name="test", normalization="series")
    from_padded = kind.encode(raw).values
    from_list = kind.encode(FeatureInput().check(rows, "test")).values
    np.testing.assert_array_equal(from_padded, from_list)
    # 2, 4, 9 -> (-3, -1, 4) / sqrt(26 / 3); 5 -> 0; 3, 3 -> 0, 0: mean 0, std sqrt(1 / 2)
    z = np.array([-3.0, -1.0, 4.0, 0.0, 0.0, 0.0]) / np.sqrt(26 / 3)
    assert kind.normalization == "series" and np.isfinite(from_padded).all()
    np.testing.assert_allclose(kind.mean, [0.0], atol=1e-15)
    np.testing.assert_allclose(kind.scale, [np.sqrt(0.5)], rtol=1e-12)
    np.testing.assert_allclose(from_padded[:, 0], z / np.sqrt(0.5), rtol=1e-6)
    # 'global' is the standardisation of the raw steps, as before the parameter
    plain = FeatureInput().fitted(raw, name="test")
    values = raw.values[:, 0].astype(np.float64)
    assert plain.normalization == "global" and plain.mean == pytest.approx(values.mean())
    assert plain.scale == pytest.approx(values.std())


def test_series_share_one_scale_says_when_series_are_normalised_alike():
    X, _ = _shapes(nuisance=False)
    z = (X - X.mean(axis=1, keepdims=True)) / X.std(axis=1, keepdims=True)
    assert series_share_one_scale(FeatureInput().check(z, "test"))
    assert series_share_one_scale(FeatureInput().check(3 * z + 1, "test"))  # one map for all
    assert not series_share_one_scale(FeatureInput().check(X, "test"))
    z[0] = 0.0  # a constant series is not normalised like the others
    assert not series_share_one_scale(FeatureInput().check(z, "test"))


# ------------------------------------------------------------ the estimator
def test_series_predictions_ignore_each_series_offset_and_scale(series_clf):
    clf, X, _ = series_clf
    Xt, _ = _shapes(n=20, seed=1)
    rng = np.random.RandomState(2)
    moved = Xt * rng.uniform(0.01, 100, (20, 1)) + rng.uniform(-1e3, 1e3, (20, 1))
    scores = clf.decision_function(Xt)
    assert np.ptp(scores) > 1.0  # not saturated: a change would show
    np.testing.assert_allclose(clf.decision_function(moved.astype(np.float32)), scores, atol=1e-4)
    flat = tiny(normalization="global").fit(X, series_clf[2])
    assert (
        np.abs(flat.decision_function(moved.astype(np.float32)) - flat.decision_function(Xt)).max()
        > 0.5
    )


def test_auto_picks_series_where_offset_and_scale_are_nuisance():
    X, y = _shapes()
    clf = tiny().fit(X, y)
    assert clf.normalization == "auto" and clf.normalization_ == "series"
    Xt, yt = _shapes(n=100, seed=1)
    assert clf.score(Xt, yt) > 0.9
    assert tiny(normalization="global").fit(X, y).score(Xt, yt) < clf.score(Xt, yt) - 0.05
    series = tiny(normalization="series").fit(X, y)
    np.testing.assert_array_equal(series.predict_proba(Xt), clf.predict_proba(Xt))


def test_auto_picks_global_where_the_level_is_the_class():
    X, y = _levels()
    clf = tiny().fit(X, y)
    assert clf.normalization_ == "global"
    Xt, yt = _levels(n=100, seed=1)
    assert clf.score(Xt, yt) > 0.9
    glob = tiny(normalization="global").fit(X, y)
    np.testing.assert_array_equal(glob.predict_proba(Xt), clf.predict_proba(Xt))


def test_auto_is_global_without_the_branch_or_for_series_normalised_alike(monkeypatch):
    import skseqattn._series_branch as branch

    X, y = _shapes()
    assert tiny(rocket_features=0, max_epochs=1).fit(X, y).normalization_ == "global"
    fits = []
    real = branch.fit_series_branch
    monkeypatch.setattr(
        branch, "fit_series_branch", lambda *a, **k: fits.append(1) or real(*a, **k)
    )
    z = (X - X.mean(axis=1, keepdims=True)) / X.std(axis=1, keepdims=True)
    clf = tiny().fit(z, y)  # as UCR sets: 'series' would change nothing, one fit only
    assert clf.normalization_ == "global" and len(fits) == 1
    tiny().fit(X, y)
    assert len(fits) == 3  # both normalisations fitted


def test_token_input_ignores_normalization():
    rng = np.random.RandomState(0)
    ids = rng.randint(2, 6, size=(60, 8))
    y = (ids[:, 0] == 2).astype(int)
    a = tiny(normalization="series").fit(ids, y)
    b = tiny(normalization="global").fit(ids, y)
    assert not hasattr(a, "normalization_") and not hasattr(a, "feature_mean_")
    np.testing.assert_array_equal(a.predict_proba(ids), b.predict_proba(ids))


def test_normalization_is_validated_and_set_params_changes_it():
    from sklearn.utils._param_validation import InvalidParameterError

    X, y = _shapes()
    clf = tiny(normalization="median")
    with pytest.raises(InvalidParameterError, match="'normalization' parameter of Bi"):
        clf.fit(X, y)
    assert not hasattr(clf, "net_")  # a failed call leaves it unfitted
    clf.set_params(normalization="global").fit(X, y)
    assert clf.normalization_ == "global"
    assert clf.set_params(normalization="series").fit(X, y).normalization_ == "series"


def test_warm_start_and_partial_fit_keep_the_first_choice(series_clf):
    clf, X, y = series_clf
    warm = copy.deepcopy(clf).set_params(normalization="global", warm_start=True, max_epochs=1)
    warm.fit(X, y)
    assert warm.normalization_ == "series" and warm.n_epochs_ > clf.n_epochs_
    np.testing.assert_array_equal(warm.feature_mean_, clf.feature_mean_)
    stream = tiny(normalization="series")
    stream.partial_fit(X[:30], y[:30], classes=["fast", "slow"])
    first_mean = stream.feature_mean_.copy()
    stream.set_params(normalization="global").partial_fit(X[30:], y[30:])
    assert stream.normalization_ == "series" and np.array_equal(stream.feature_mean_, first_mean)
    assert tiny().partial_fit(X, y, classes=["fast", "slow"]).normalization_ == "global"


def test_explain_and_attention_keep_the_input_steps(series_clf):
    from skseqattn import explain

    clf, X, _ = series_clf
    rows = [X[0], X[1, :9], X[2, :1]]
    weights = clf.attention_weights(rows)  # (3, 30): each row's steps, zeros after
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-5)
    assert (weights[1, 9:] == 0).all() and (weights[2, 1:] == 0).all() and weights[2, 0] > 0.99
    for item in explain(clf, rows):
        assert item.baseline + item.contributions.sum() == pytest.approx(item.score, abs=1e-3)
    assert [len(item.contributions) for item in explain(clf, rows)] == [30, 9, 1]


# ------------------------------------------------------------ save, load, pickle, ONNX
def test_series_normalization_survives_save_load_and_pickle(series_clf, tmp_path):
    from skseqattn.persistence import load, save

    clf, X, _ = series_clf
    for back in (load(save(clf, tmp_path / "m.skseqattn")), pickle.loads(pickle.dumps(clf))):
        assert back.normalization == back.normalization_ == "series"
        np.testing.assert_array_equal(back.predict_proba(X), clf.predict_proba(X))


def test_models_from_before_the_parameter_come_back_global(tmp_path):
    import json
    import zipfile

    from skseqattn.persistence import FormatError, load, save

    X, y = _shapes(nuisance=False)
    clf = tiny(normalization="global").fit(X, y)
    old = copy.deepcopy(clf)
    del old.normalization, old.normalization_, old._input.normalization
    back = pickle.loads(pickle.dumps(old))
    assert back.normalization == back.normalization_ == back._input.normalization == "global"
    np.testing.assert_array_equal(back.predict_proba(X), clf.predict_proba(X))

    path = save(clf, tmp_path / "m.skseqattn")

    def rewritten(out, change):
        with zipfile.ZipFile(path) as zf:
            contents = {name: zf.read(name) for name in zf.namelist()}
        doc = json.loads(contents["manifest.json"])
        change(doc["estimator"]["__estimator__"])
        contents["manifest.json"] = json.dumps(doc).encode()
        with zipfile.ZipFile(out, "w") as zf:
            for name, data in contents.items():
                zf.writestr(name, data)
        return out

    def as_before(body):
        del body["params"]["normalization"], body["fitted"]["normalization_"]

    loaded = load(rewritten(tmp_path / "old.skseqattn", as_before))
    assert loaded.normalization == loaded.normalization_ == "global"
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))

    def unknown(body):
        body["fitted"]["normalization_"] = "median"

    with pytest.raises(FormatError, match=r"normalization_ must be one of \['global', 'series'\]"):
        load(rewritten(tmp_path / "bad.skseqattn", unknown))


def test_series_normalization_exports_to_onnx(series_clf, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    from skseqattn.onnx import export_onnx

    clf, X, _ = series_clf
    path = export_onnx(clf, tmp_path / "series.onnx")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    rows = [X[0] * 7 - 3, X[1, :16], X[2, :1], np.full(5, 4.0, np.float32), X[3, :0]]
    padded = np.full((5, 36, 1), np.nan, dtype=np.float32)
    padded[0, :30, 0] = rows[0]
    padded[1, 4:20, 0] = rows[1]  # padding before and after
    padded[2, 35:, 0] = rows[2]
    padded[3, 10:15, 0] = rows[3]  # a constant series
    _, proba = session.run(None, {"features": padded})  # row 4 is empty
    np.testing.assert_allclose(proba, clf.predict_proba(rows), atol=1e-5)
    assert np.isfinite(proba).all()
