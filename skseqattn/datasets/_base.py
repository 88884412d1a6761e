"""Where the loaders keep their data: the data home folder and its cache."""

import os
import shutil
from pathlib import Path

DATA_HOME_ENV = "SKSEQATTN_DATA"
"""Environment variable that overrides the default data home folder."""

DEFAULT_DATA_HOME = os.path.join("~", "skseqattn_data")
"""Data home used when neither an argument nor :data:`DATA_HOME_ENV` is given."""

CACHE_FOLDERS = ("surnames",)
"""Sub-folders of the data home that the loaders create and own.

:func:`clear_data_home` removes these and nothing else, so that data a user placed in the
data home by hand (such as ``names/``) is never deleted.
"""


def get_data_home(data_home=None):
    """Return the path of the skseqattn data folder, creating it if needed.

    The loaders in :mod:`skseqattn.datasets` look in this folder for a local copy of their
    data and keep what they download there, so that the data is fetched only once.

    The folder is, in this order: `data_home` when given; else the value of the environment
    variable ``SKSEQATTN_DATA``; else ``~/skseqattn_data``. A leading ``~`` is expanded to the
    user's home folder.

    Parameters
    ----------
    data_home : str or path-like, default=None
        The data folder. If None, use ``SKSEQATTN_DATA`` or ``~/skseqattn_data``.

    Returns
    -------
    data_home : str
        The absolute path of the data folder, which exists on return.

    See Also
    --------
    clear_data_home : Remove what the loaders cached in the data folder.

    Examples
    --------
    >>> import os, tempfile
    >>> from skseqattn.datasets import get_data_home
    >>> folder = os.path.join(tempfile.mkdtemp(), "my_data")
    >>> get_data_home(folder) == os.path.abspath(folder)
    True
    >>> os.path.isdir(folder)
    True
    """
    if data_home is None:
        data_home = os.environ.get(DATA_HOME_ENV) or DEFAULT_DATA_HOME
    elif not isinstance(data_home, (str, os.PathLike)):
        raise TypeError(
            f"get_data_home expected data_home to be a str, a path-like object or None, "
            f"got {type(data_home).__name__}; pass the folder as a str or pathlib.Path."
        )
    data_home = os.path.abspath(os.path.expanduser(os.fspath(data_home)))
    os.makedirs(data_home, exist_ok=True)
    return data_home


def clear_data_home(data_home=None):
    """Remove the data the loaders downloaded and cached in the data folder.

    Only the sub-folders that the loaders create (currently ``surnames/``) are removed. Files
    you placed in the data folder yourself, such as a ``names/`` folder read by
    :func:`~skseqattn.datasets.fetch_surnames`, are left alone; unlike
    :func:`sklearn.datasets.clear_data_home`, this never deletes the data folder itself.

    Parameters
    ----------
    data_home : str or path-like, default=None
        The data folder, resolved as in :func:`get_data_home`.

    Returns
    -------
    removed : list of str
        The paths that were removed.

    See Also
    --------
    get_data_home : Where the data folder is.

    Examples
    --------
    >>> import os, tempfile
    >>> from skseqattn.datasets import clear_data_home
    >>> home = tempfile.mkdtemp()
    >>> os.makedirs(os.path.join(home, "surnames", "names"))
    >>> os.makedirs(os.path.join(home, "names"))
    >>> [os.path.basename(p) for p in clear_data_home(home)]
    ['surnames']
    >>> sorted(os.listdir(home))
    ['names']
    """
    data_home = get_data_home(data_home)
    removed = []
    for name in CACHE_FOLDERS:
        path = os.path.join(data_home, name)
        if os.path.lexists(path):
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            else:
                os.remove(path)
            removed.append(path)
    return removed


def _remove_quietly(path):
    """Remove a file or folder if it exists; ignore errors (best-effort clean-up)."""
    path = Path(path)
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        elif path.exists() or path.is_symlink():
            path.unlink()
    except OSError:  # pragma: no cover - clean-up must never hide the real error
        pass
