"""The PyTorch side of skseqattn: encoder, masked pooling and the classifier module.

Nothing here depends on scikit-learn; the estimators in :mod:`skseqattn` build these modules.
"""

from ._attention import (
    AdditiveAttention,
    DotAttention,
    GeneralAttention,
    LastStatePooling,
    MaxPooling,
    MeanPooling,
    ScaledDotAttention,
    masked_softmax,
)
from ._export import ExportableSequenceModule
from ._module import ATTENTIONS, CELLS, POOLINGS, SequenceClassifierModule
from ._ngrams import HashedNgramLinear

__all__ = [
    "ATTENTIONS",
    "CELLS",
    "POOLINGS",
    "AdditiveAttention",
    "DotAttention",
    "ExportableSequenceModule",
    "GeneralAttention",
    "HashedNgramLinear",
    "LastStatePooling",
    "MaxPooling",
    "MeanPooling",
    "ScaledDotAttention",
    "SequenceClassifierModule",
    "masked_softmax",
]
