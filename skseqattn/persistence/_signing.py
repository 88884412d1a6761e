"""Signing: the HMAC-SHA256 of manifest.json that save(key=) writes and load(key=) checks."""

from __future__ import annotations

import hashlib
import hmac

_SIGNATURE_PREFIX = b"hmac-sha256:"
_MAC_CONTEXT = b"skseqattn signature v1\n"


def _check_key(key, who):
    """``key`` as bytes, or None."""
    if key is None:
        return None
    if isinstance(key, str):
        key = key.encode("utf-8")
    if not isinstance(key, (bytes, bytearray, memoryview)):
        raise TypeError(
            f"{who} expected key to be bytes or str (e.g. secrets.token_bytes(32)), got "
            f"{type(key).__name__}."
        )
    key = bytes(key)
    if not key:
        raise ValueError(f"{who} got an empty key; use a secret of 32 random bytes.")
    return key


def _signature(key, manifest_bytes):
    """The content of signature.hmac: an HMAC-SHA256 of manifest.json, which holds the size
    and SHA-256 of every other entry, so that it authenticates the whole archive."""
    mac = hmac.new(key, _MAC_CONTEXT + manifest_bytes, hashlib.sha256).hexdigest()
    return _SIGNATURE_PREFIX + mac.encode("ascii")
