"""The data of the surname examples: the real surnames, else a synthetic stand-in.

Not part of skseqattn: the example scripts and the notebook import it from this folder, so
that each of them still runs to the end on a machine with no network and no copy of the
data, and says so. If you copy an example elsewhere, copy this file with it, or call
:func:`skseqattn.datasets.fetch_surnames` directly.
"""

from skseqattn.datasets import fetch_surnames, make_first_names

N_SYNTHETIC = 6000  # enough names for the synthetic task to be learnt as well as it can be


def load_surnames_or_synthetic(**fetch_kwargs):
    """Return ``(X, y, what)``: the surnames and their languages, or synthetic first names.

    The surnames come from ``fetch_surnames(return_X_y=True, **fetch_kwargs)``: the folder
    ``names/`` in the data home (``$SKSEQATTN_DATA``, else ``~/skseqattn_data``), the cache of
    an earlier download, or a download (about 1 MB, once). When that fails with an OSError
    (offline, and no copy), one line says why and how to get the real data, and the names of
    :func:`~skseqattn.datasets.make_first_names` stand in: labels 'F' and 'M' decided by the
    ending of the name, which the attention should find. `what` names the data in the
    examples' output: ``"surnames"`` or ``"synthetic first names"``.
    """
    try:
        X, y = fetch_surnames(return_X_y=True, **fetch_kwargs)
        return X, y, "surnames"
    except OSError as exc:
        # The loader's first sentence says what failed and where it looked; the rest of its
        # message (how to place a copy by hand) is summed up by the advice below.
        reason = str(exc).split(". ", 1)[0].rstrip(".")
        print(
            f"Could not load the surname data ({reason}); using synthetic first names "
            "(skseqattn.datasets.make_first_names, labels F/M) instead. To use the real data, "
            "run once with network (the download is cached) or set SKSEQATTN_DATA to a folder "
            "that holds names/*.txt."
        )
    X, y = make_first_names(N_SYNTHETIC, random_state=0)
    return X, y, "synthetic first names"
