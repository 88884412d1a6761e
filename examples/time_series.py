"""Real-valued sequences of different lengths: gestures from a 3-axis accelerometer.

Each recording is an array of shape (T_i, 3), one row per time step (x, y, z acceleration in
g, sampled at 25 Hz) and T_i between 40 and 100 steps: a list of such arrays goes into
BiLSTMAttentionClassifier as it is, with no padding or resampling. Five gestures are
simulated on top of gravity, a slow tilt drift and sensor noise, each at a random moment,
speed and strength:

- ``circle``: the hand draws circles, x and y oscillate a quarter turn apart;
- ``shake``: fast back-and-forth along x;
- ``tap-tap``: two short knocks on z;
- ``push-pull`` and ``pull-push``: one push and one pull along y, in either order.

The baseline is what one often does with series of different lengths: summarise each one by
hand-made features (per axis: mean, standard deviation, minimum, maximum, mean absolute step;
plus the length) and train a random forest on them. Such summaries keep the "what" but lose the
"when": push-pull and pull-push have the same statistics and differ only in order, which the
recurrent network reads directly. The attention weights then show where in each recording the
network looked, compared with where the gesture actually was.

Run from the repository root (under a minute on two CPU cores)::

    python examples/time_series.py

``SKSEQATTN_EXAMPLES_TINY=1`` shrinks data and model to a smoke test.
"""

import os
import time

import numpy as np
import torch
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import accuracy_score, confusion_matrix
from sklearn.model_selection import train_test_split

from skseqattn import BiLSTMAttentionClassifier
from skseqattn.datasets import pad_sequences

TINY = os.environ.get("SKSEQATTN_EXAMPLES_TINY", "") not in ("", "0")  # smoke-test mode
GESTURES = np.array(["circle", "shake", "tap-tap", "push-pull", "pull-push"])

# Models this small train fastest on one CPU thread per process.
torch.set_num_threads(1)


def make_gestures(n_samples, *, random_state=None):
    """Simulated accelerometer recordings of five gestures.

    Returns
    -------
    X : list of ndarray of shape (T_i, 3)
    y : ndarray of str of shape (n_samples,)
    windows : ndarray of shape (n_samples, 2)
        First and last-plus-one step of the gesture in each recording.
    """
    rng = np.random.RandomState(random_state)
    y = GESTURES[rng.permutation(np.arange(n_samples) % len(GESTURES))]
    X, windows = [], []
    for label in y:
        n_steps = rng.randint(40, 101)
        t = np.arange(n_steps)
        signal = rng.normal(scale=0.35, size=(n_steps, 3))  # sensor noise
        signal[:, 2] += 1.0  # gravity
        drift = rng.uniform(0.05, 0.5) * np.sin(2 * np.pi * t / rng.uniform(80, 200))
        signal[:, rng.randint(2)] += drift  # the hand slowly tilts
        length = rng.randint(20, 36)  # the gesture lasts 0.8 to 1.4 s
        start = rng.randint(0, n_steps - length + 1)
        u = np.linspace(0, 1, length)
        strength = rng.uniform(0.3, 1.2)
        envelope = strength * np.sin(np.pi * u)
        gesture = signal[start : start + length]  # a view: adding to it changes `signal`
        if label == "circle":
            turns = rng.uniform(1.5, 3)
            gesture[:, 0] += envelope * np.cos(2 * np.pi * turns * u)
            gesture[:, 1] += envelope * np.sin(2 * np.pi * turns * u)
        elif label == "shake":
            gesture[:, 0] += 1.2 * envelope * np.sin(2 * np.pi * rng.uniform(5, 8) * u)
        elif label == "tap-tap":
            for centre in (rng.uniform(0.15, 0.35), rng.uniform(0.65, 0.85)):
                gesture[:, 2] += 2 * strength * np.exp(-0.5 * ((u - centre) / 0.03) ** 2)
        else:  # push then pull (or the reverse): one period of a sine along y
            sign = 1.0 if label == "push-pull" else -1.0
            gesture[:, 1] += sign * strength * np.sin(2 * np.pi * u)
        X.append(signal)
        windows.append((start, start + length))
    return X, y, np.array(windows)


def summary_features(X):
    """Hand-made features of each recording: order-free summaries per axis, and its length."""
    rows = []
    for x in X:
        steps = np.abs(np.diff(x, axis=0)).mean(axis=0)
        rows.append(np.concatenate([x.mean(0), x.std(0), x.min(0), x.max(0), steps, [len(x)]]))
    return np.array(rows)


def print_confusion(y_true, y_pred):
    matrix = confusion_matrix(y_true, y_pred, labels=GESTURES)
    corner = "true \\ predicted"
    print(f"{corner:<16}" + "".join(f"{g:>10}" for g in GESTURES))
    for gesture, row in zip(GESTURES, matrix):
        print(f"{gesture:<16}" + "".join(f"{v:>10}" for v in row))


def main():
    X, y, windows = make_gestures(250 if TINY else 2000, random_state=0)
    indices = np.arange(len(X))
    train, test = train_test_split(indices, test_size=0.25, stratify=y, random_state=0)
    X_train, X_test = [X[i] for i in train], [X[i] for i in test]
    y_train, y_test = y[train], y[test]
    lengths = [len(x) for x in X]
    print(
        f"{len(X)} recordings of shape (T_i, 3), T_i from {min(lengths)} to {max(lengths)}; "
        f"{len(train)} to train, {len(test)} to test\n"
    )

    forest = RandomForestClassifier(n_estimators=50 if TINY else 300, random_state=0)
    clf = BiLSTMAttentionClassifier(
        hidden_size=8 if TINY else 32, max_epochs=2 if TINY else 40, random_state=0
    )
    runs = [
        ("summary features + random forest", forest, summary_features),
        ("BiLSTM + attention on the raw series", clf, lambda X: X),
    ]
    predictions = {}
    for name, model, prepare in runs:
        start = time.perf_counter()
        model.fit(prepare(X_train), y_train)
        seconds = time.perf_counter() - start
        predictions[name] = y_pred = model.predict(prepare(X_test))
        print(f"{name:<38} accuracy {accuracy_score(y_test, y_pred):.3f}  (fit {seconds:.1f} s)")
    kept = "" if clf.best_epoch_ is None else f", weights of epoch {clf.best_epoch_} kept"
    print(f"(BiLSTM: {clf.n_epochs_} epochs trained{kept})")

    for name, y_pred in predictions.items():
        print(f"\nConfusion matrix, {name}:")
        print_confusion(y_test, y_pred)

    # The same recordings stacked into one NaN-padded 3-D array give the same predictions.
    padded = pad_sequences(X_test)  # (n_test, longest, 3), NaN after each recording's end
    same = np.array_equal(clf.predict(padded), predictions[runs[1][0]])
    print(f"\nsame predictions from a NaN-padded array of shape {padded.shape}: {same}")

    # Where did the network look? Attention weight that falls inside the gesture's window,
    # against the share of the recording the window covers.
    weights = clf.attention_weights(X_test)  # (n_test, longest): one weight per step
    if weights.ndim == 3:  # several attention heads: average them
        weights = weights.mean(axis=2)
    inside, share = [], []
    for row, i in zip(weights, test):
        start, stop = windows[i]
        inside.append(row[start:stop].sum())
        share.append((stop - start) / len(X[i]))
    inside, share = np.array(inside), np.array(share)
    print(
        f"attention on the gesture: {inside.mean():.2f} of the weight on average, in a window "
        f"that covers {share.mean():.2f} of the steps"
    )
    print(
        f"\n{'gesture':<10} {'predicted':<10} {'steps':>5} {'window':>9} {'peak':>5} {'inside':>7}"
    )
    for k in range(min(6, len(test))):
        i = test[k]
        start, stop = windows[i]
        print(
            f"{y[i]:<10} {predictions[runs[1][0]][k]:<10} {len(X[i]):>5} "
            f"{f'{start}-{stop}':>9} {int(weights[k].argmax()):>5} {inside[k]:>7.2f}"
        )


if __name__ == "__main__":
    main()
