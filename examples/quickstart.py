"""Quickstart: classify sequences with a Pipeline of CharSequenceVectorizer + BiLSTMAttentionClassifier.

Run: python examples/quickstart.py
"""

from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

from skseqattn import BiLSTMAttentionClassifier, CharSequenceVectorizer
from skseqattn.datasets import make_motif_sequences

X, y = make_motif_sequences(n_samples=600, random_state=0)
X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)

model = make_pipeline(
    CharSequenceVectorizer(),
    BiLSTMAttentionClassifier(hidden_size=32, max_epochs=15, random_state=0),
)
model.fit(X_train, y_train)
print(f"held-out accuracy: {model.score(X_test, y_test):.3f}")
