"""(Re)build the surname data that skseqattn bundles: skseqattn/datasets/data/surnames.tar.gz.

``load_surnames`` reads that file. It holds the 18 files ``names/<Language>.txt`` of the
PyTorch tutorial's data.zip, byte for byte; this script refuses a folder whose files differ
from the SHA-256 sums in ``skseqattn.datasets._surnames.SURNAMES_SHA256``. The output depends
only on the files (no dates or owners in it), so a rebuild from the same files gives the same
bytes::

    python tools/build_surnames_bundle.py ../shared/data/names
    python tools/build_surnames_bundle.py PATH/TO/data/names --out /tmp/surnames.tar.gz

The folder is the ``data/names/`` of https://download.pytorch.org/tutorial/data.zip, unzipped
(or the cache ``~/skseqattn_data/surnames/names/`` that ``fetch_surnames`` leaves).
"""

import argparse
import hashlib
import sys
from pathlib import Path

# The checkout's own package, whatever skseqattn is installed: the bundle belongs to it.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from skseqattn.datasets import _surnames  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", type=Path, help="folder holding the 18 <Language>.txt files")
    parser.add_argument(
        "--out",
        type=Path,
        default=_surnames.SURNAMES_BUNDLE,
        help=f"where to write the bundle (default: {_surnames.SURNAMES_BUNDLE})",
    )
    args = parser.parse_args(argv)
    try:
        path = _surnames._build_bundle(args.names, args.out)
    except ValueError as exc:
        sys.exit(f"build_surnames_bundle: {exc}")
    data = path.read_bytes()
    print(f"wrote {path} ({len(data):,} bytes, SHA-256 {hashlib.sha256(data).hexdigest()})")
    bunch = _surnames._make_bunch(
        _surnames._read_bundle(path),
        path,
        "check",
        deduplicate=True,
        drop_ambiguous=False,
        return_X_y=False,
        as_frame=False,
        caller="build_surnames_bundle",
    )
    print(f"it reads back as {len(bunch.data):,} surnames of {len(bunch.target_names)} languages")


if __name__ == "__main__":
    main()
