"""Exceptions of skseqattn that are not scikit-learn's own."""

__all__ = ["NonFiniteLossError"]


class NonFiniteLossError(ValueError, FloatingPointError):
    """The training loss became NaN or infinite, so training stopped.

    Raised by :meth:`BiLSTMAttentionClassifier.fit` at the first training batch whose
    loss is not finite; the message names the epoch and the batch and what to try (a
    smaller ``lr``, ``clip_grad_norm``, ``mixed_precision=False``). The estimator is left
    exactly as it was before the call: an unfitted one stays unfitted, a fitted one keeps
    its previous fit. A subclass of both :class:`ValueError` and
    :class:`FloatingPointError`, so either ``except`` clause catches it.

    Examples
    --------
    >>> from skseqattn import NonFiniteLossError
    >>> issubclass(NonFiniteLossError, ValueError)
    True
    >>> issubclass(NonFiniteLossError, FloatingPointError)
    True
    """
