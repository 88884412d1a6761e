"""The two reserved token ids, shared by the vectorizer, the classifier and the exporters.

Free of imports, so that :mod:`skseqattn.nn` can use them without scikit-learn.
"""

PAD_ID = 0
"""Id of the padding token; padding positions in a transformed matrix hold this value."""

UNK_ID = 1
"""Id given to every token that is not in the vocabulary."""
