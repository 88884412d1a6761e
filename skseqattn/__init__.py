"""Sequence classification with a bidirectional LSTM and attention, the scikit-learn way.

- :class:`CharSequenceVectorizer` turns strings into padded id matrices.
- :class:`BiLSTMAttentionClassifier` classifies token-id or real-valued sequences.
- :func:`explain`, :class:`AttentionDisplay` and :class:`TrainingCurveDisplay` show why a
  prediction was made and how training went.
- :func:`save` / :func:`load` store estimators safely (safetensors + JSON);
  :func:`export_onnx` writes the classifier as ONNX.

Names are imported on first use (PEP 562): ``import skseqattn`` is instant and imports
neither torch nor scikit-learn; torch is imported when a model is fitted, loaded or
exported.
"""

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("skseqattn")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

# public name -> the module that defines it
_EXPORTS = {
    "PAD_ID": "._ids",
    "UNK_ID": "._ids",
    "AttentionDisplay": ".plotting",
    "BiLSTMAttentionClassifier": "._classifier",
    "CharSequenceVectorizer": "._vectorizer",
    "Explanation": "._explanations",
    "Explanations": "._explanations",
    "FormatError": ".persistence",
    "NonFiniteLossError": "._errors",
    "TrainingCurveDisplay": ".plotting",
    "explain": "._explain",
    "export_onnx": ".onnx",
    "load": ".persistence",
    "save": ".persistence",
}

__all__ = [*_EXPORTS, "__version__"]


def __getattr__(name):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(module, __name__), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__():
    return sorted({*globals(), *_EXPORTS})
