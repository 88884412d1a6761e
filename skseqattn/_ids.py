"""The two reserved token ids, shared by the vectorizer, the classifier and the exporters.

Free of imports, so that :mod:`skseqattn.nn` can use them without scikit-learn.
"""

PAD_ID = 0
"""Id of the padding token; padding positions in a transformed matrix hold this value."""

UNK_ID = 1
"""Id :class:`~skseqattn.CharSequenceVectorizer` gives every token not in its vocabulary.

The classifier reserves only :data:`PAD_ID`: to it, 1 is a token like any other unless
``unknown_id=UNK_ID`` says that 1 means unknown (see ``BiLSTMAttentionClassifier``).
"""
