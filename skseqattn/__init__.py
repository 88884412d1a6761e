"""Sequence classification with a bidirectional LSTM and attention, the scikit-learn way.

- :class:`CharSequenceVectorizer` turns strings into padded id matrices.
- :class:`BiLSTMAttentionClassifier` classifies token-id or real-valued sequences.
- :func:`explain`, :class:`AttentionDisplay` and :class:`TrainingCurveDisplay` show why a
  prediction was made and how training went.
- :func:`save` / :func:`load` store estimators safely (safetensors + JSON);
  :func:`export_onnx` writes the classifier as ONNX.
"""

from importlib.metadata import PackageNotFoundError, version

from ._classifier import BiLSTMAttentionClassifier
from ._vectorizer import PAD_ID, UNK_ID, CharSequenceVectorizer
from .explain import Explanation, Explanations, explain
from .onnx import export_onnx
from .persistence import FormatError, load, save
from .plotting import AttentionDisplay, TrainingCurveDisplay

try:
    __version__ = version("skseqattn")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

__all__ = [
    "PAD_ID",
    "UNK_ID",
    "AttentionDisplay",
    "BiLSTMAttentionClassifier",
    "CharSequenceVectorizer",
    "Explanation",
    "Explanations",
    "FormatError",
    "TrainingCurveDisplay",
    "explain",
    "export_onnx",
    "load",
    "save",
    "__version__",
]
