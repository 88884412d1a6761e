"""Data sets: a loader for the surname collection and generators of synthetic tasks.

Loaders (``fetch_*``) read a local copy, a cached download, or download and verify the data;
generators (``make_*``) draw synthetic tasks whose signal is known exactly.
"""

from ._base import clear_data_home, get_data_home
from ._series import make_variable_length_series, pad_sequences
from ._strings import make_domain_names, make_first_names
from ._surnames import fetch_surnames
from ._tokens import make_dna_windows, make_last_token_sequences, make_motif_sequences

__all__ = [
    "clear_data_home",
    "fetch_surnames",
    "get_data_home",
    "make_dna_windows",
    "make_domain_names",
    "make_first_names",
    "make_last_token_sequences",
    "make_motif_sequences",
    "make_variable_length_series",
    "pad_sequences",
]
