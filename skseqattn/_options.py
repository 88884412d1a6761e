"""The names of the classifier's string options, on neither side of the torch boundary.

The estimator validates its parameters against these lists without importing torch
(``_parameter_constraints``), and the torch side maps the same names to its classes
(``nn.CELLS``, the attention classes, ``_net.OPTIMIZERS``): one list each, so the two sides
cannot disagree. Adding an option means adding its name here and its class there.
"""

CELLS = ("lstm", "gru")
"""Recurrent cells (``cell``)."""

POOLINGS = ("attention", "last", "mean", "max")
"""Ways to pool the steps into one vector (``pooling``)."""

ATTENTIONS = ("additive", "dot", "general", "scaled_dot")
"""Attention scores (``attention``)."""

OPTIMIZERS = ("adam", "adamw", "sgd")
"""Optimizers by name (``optimizer``; a class is accepted too)."""

ATTENTION_NAMES_HINT = (
    "Bahdanau's attention is 'additive'; Luong's scores are 'dot' and 'general' "
    "(both with the final state as the query); 'scaled_dot' is a learned query."
)
"""How the names of the papers map to the ``attention`` options, for error messages."""
