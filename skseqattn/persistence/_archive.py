"""Reading the archive: regular files only, the zip's table and local headers, entry sizes
and checksums, the signature, and manifest.json parsed under bounds; nothing is built here."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import io
import json
import math
import os
import stat
import struct
import warnings
import zipfile

from ._format import (
    _BLOB_NAME,
    _COMPRESSIONS,
    _LOCAL_HEADER,
    _LOCAL_SIGNATURE,
    _MANIFEST,
    _MAX_CENTRAL_DIRECTORY,
    _MAX_FLOAT_CHARS,
    _MAX_HEADER_BYTES,
    _MAX_INT_DIGITS,
    _MAX_JSON_ITEMS,
    _MAX_MANIFEST_BYTES,
    _MAX_MEMBERS,
    _MAX_NDIM,
    _MAX_RATIO,
    _MAX_TENSORS,
    _RATIO_FROM,
    _SAFE_NAME,
    _SIGNATURE,
    _ST_ITEMSIZE,
    _ZIP_ERRORS,
    DEFAULT_MAX_BYTES,
    FORMAT_NAME,
    FORMAT_VERSION,
    FormatError,
    _expect,
    _is_int,
    _short,
)
from ._signing import _signature


# ---------------------------------------------------------------------- reading
def _strict_object(pairs):
    keys = {k for k, _ in pairs}
    if len(keys) != len(pairs):
        seen, duplicated = set(), set()
        for k, _ in pairs:
            (duplicated if k in seen else seen).add(k)
        raise FormatError(f"repeats the keys {_short(sorted(duplicated))}")
    return dict(pairs)


def _reject_constant(name):
    raise FormatError(f"holds the non-JSON number {name}")


def _bounded_int(text):
    if len(text.lstrip("-")) > _MAX_INT_DIGITS:
        raise FormatError(
            f"holds an integer of {len(text)} digits; no number skseqattn stores has more than "
            f"{_MAX_INT_DIGITS}"
        )
    return int(text)


def _finite_float(text):
    value = float(text) if len(text) <= _MAX_FLOAT_CHARS else math.inf
    if not math.isfinite(value):
        raise FormatError(
            f"holds the number {_short(text)}, which is not a finite float of at most "
            f"{_MAX_FLOAT_CHARS} characters"
        )
    return value


def _parse_json(data, what, where):
    """Parse untrusted JSON bytes: bounded size and item count, no duplicate keys, no NaN,
    no huge numbers. Errors name ``what`` (the entry)."""
    items = data.count(b",") + data.count(b"[") + data.count(b"{")
    if items > _MAX_JSON_ITEMS:
        raise FormatError(
            f"{where}: {what} holds more than {_MAX_JSON_ITEMS} values; no file skseqattn.save "
            "writes has so many."
        )
    try:
        return json.loads(
            data.decode("utf-8"),
            object_pairs_hook=_strict_object,
            parse_constant=_reject_constant,
            parse_int=_bounded_int,
            parse_float=_finite_float,
        )
    except FormatError as exc:
        raise FormatError(f"{where}: {what} {exc}.") from None
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        kind = "is nested too deeply" if isinstance(exc, RecursionError) else f"({exc})"
        raise FormatError(f"{where}: {what} is not valid JSON {kind}.") from exc


def _entry_count(fileobj):
    """(entries, central directory size) from the zip's end record, read before zipfile
    builds its table of entries; None when there is no such record (zipfile then says)."""
    fileobj.seek(0, os.SEEK_END)
    size = fileobj.tell()
    start = max(0, size - 22 - 65535)
    fileobj.seek(start)
    tail = fileobj.read(size - start)  # bounded, whatever the file object does at its end
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        return None
    entries, directory_size = struct.unpack_from("<HL", tail, at + 10)
    # A zip64 end record (which zipfile reads in place of the fields above) sits just
    # before the zip64 locator, itself just before the end record.
    if (
        at >= 76
        and tail[at - 20 : at - 16] == b"PK\x06\x07"
        and tail[at - 76 : at - 72] == (b"PK\x06\x06")
    ):
        entries64, size64 = struct.unpack_from("<QQ", tail, at - 76 + 32)
        entries, directory_size = max(entries, entries64), max(directory_size, size64)
    return entries, directory_size


class _Members:
    """The entries of an archive other than manifest.json, read on demand within bounds.

    ``sizes`` and ``digests`` come from the manifest and were checked against the zip's own
    sizes; :meth:`header` reads a safetensors entry's header only, :meth:`read` the entry
    to exactly its declared size, with its checksum checked.
    """

    def __init__(self, open_entry, sizes, digests, where):
        self.open_entry = open_entry
        self.sizes = sizes
        self.digests = digests
        self.where = where
        self.headers = {}

    @classmethod
    def in_memory(cls, blobs):
        blobs = dict(blobs)
        sizes = {name: len(data) for name, data in blobs.items()}
        return cls(lambda name: io.BytesIO(blobs[name]), sizes, None, "the file")

    def __contains__(self, name):
        return name in self.sizes

    @contextlib.contextmanager
    def _open(self, name):
        """The entry ``name`` open for reading; any error of the zip layer (while opening or
        reading it) becomes a FormatError that names the entry."""
        try:
            with self.open_entry(name) as f:
                yield f
        except FormatError:
            raise
        except _ZIP_ERRORS as exc:
            raise FormatError(
                f"{self.where}: cannot read {name} ({type(exc).__name__}: {exc}); the file is "
                "damaged."
            ) from exc

    def _read(self, f, n, name):
        data = f.read(n)
        if len(data) != n:
            raise FormatError(
                f"{self.where}: {name} is shorter than its declared {self.sizes[name]} bytes."
            )
        return data

    def header(self, name):
        """``{tensor name: (shape, dtype)}`` of the safetensors entry ``name``, checked: known
        dtypes, sizes that agree with the offsets, and offsets that tile the entry."""
        if name in self.headers:
            return self.headers[name]
        size = self.sizes[name]
        where = f"{self.where}: {name}"
        with self._open(name) as f:
            if size < 8:
                raise FormatError(f"{where} is not a valid safetensors file (too short).")
            (length,) = struct.unpack("<Q", self._read(f, 8, name))
            if length > min(_MAX_HEADER_BYTES, size - 8):
                raise FormatError(
                    f"{where} is not a valid safetensors file: its header claims {length} bytes."
                )
            raw = self._read(f, length, name)
        header = _parse_json(raw, "header", where)
        if not isinstance(header, dict):
            raise FormatError(f"{where} is not a valid safetensors file: bad header.")
        metadata = header.pop("__metadata__", {})
        ok = isinstance(metadata, dict) and all(isinstance(v, str) for v in metadata.values())
        if not ok or len(header) > _MAX_TENSORS:
            raise FormatError(f"{where} is not a valid safetensors file: bad header.")
        spans, out = [], {}
        for key, info in header.items():
            ok = isinstance(info, dict) and set(info) == {"dtype", "shape", "data_offsets"}
            dtype = info.get("dtype") if ok else None
            shape = info.get("shape") if ok else None
            offsets = info.get("data_offsets") if ok else None
            ok = ok and dtype in _ST_ITEMSIZE and isinstance(shape, list)
            ok = ok and len(shape) <= _MAX_NDIM and all(_is_int(n) and n >= 0 for n in shape)
            ok = ok and isinstance(offsets, list) and len(offsets) == 2
            ok = ok and all(_is_int(n) for n in offsets)
            if not ok:
                raise FormatError(f"{where}: bad header entry {_short(key)}: {_short(info)}.")
            begin, end = offsets
            if end - begin != math.prod(shape) * _ST_ITEMSIZE[dtype]:
                raise FormatError(
                    f"{where}: tensor {_short(key)} of shape {shape} and dtype {dtype} does not "
                    f"take the {end - begin} bytes its offsets say."
                )
            spans.append((begin, end))
            out[key] = (tuple(shape), dtype)
        position = 0
        for begin, end in sorted(spans):
            if begin != position:
                break
            position = end
        if position != size - 8 - length:
            raise FormatError(
                f"{where}: the tensors' offsets do not cover its {size - 8 - length} bytes of "
                "data exactly; the file was altered."
            )
        self.headers[name] = out
        return out

    def read(self, name):
        size = self.sizes[name]
        with self._open(name) as f:
            data = self._read(f, size, name)
        digest = None if self.digests is None else self.digests[name]
        if digest is not None and hashlib.sha256(data).hexdigest() != digest:
            raise FormatError(
                f"{self.where}: the checksum or size of {name} does not match the manifest; the "
                "file is corrupt or was altered."
            )
        return data


def _zip_info(zf, where, max_bytes):
    """The entries of an open zip, after the checks on names, sizes and ratios."""
    infos = zf.infolist()
    if len(infos) > _MAX_MEMBERS:
        raise FormatError(f"{where} holds {len(infos)} entries; a model file holds a few.")
    names = {}
    for info in infos:
        name = info.filename
        if not _SAFE_NAME.match(name) or ".." in name:
            raise FormatError(
                f"{where} holds an entry with an unsafe name {_short(name)}; skseqattn.save "
                "writes plain names only."
            )
        if name in names:
            raise FormatError(f"{where} holds the same entry twice; it was altered.")
        if info.flag_bits & 0x1:
            raise FormatError(f"{where}: entry {name} is encrypted.")
        if info.file_size > max_bytes:
            raise FormatError(
                f"{where}: entry {name} declares {info.file_size} bytes, more than "
                f"max_bytes={max_bytes}; pass a larger max_bytes to load if you trust the file."
            )
        if info.file_size > _RATIO_FROM and info.file_size > _MAX_RATIO * max(
            info.compress_size, 1
        ):
            raise FormatError(
                f"{where}: entry {name} expands {info.file_size // max(info.compress_size, 1)} "
                f"times when decompressed (at most {_MAX_RATIO} allowed); the file was altered."
            )
        names[name] = info
    _check_layout(zf, infos, where)
    return names


def _check_layout(zf, infos, where):
    """Each entry's local header agrees with the zip's table (signature, name, method,
    sizes), and the entries' bytes lie one after the other before the table, without
    overlapping: checked here, up front, so that no entry is read twice as two names and
    zipfile's own errors about damaged headers are never met later."""
    fp, end = zf.fp, zf.start_dir
    spans = []
    for info in infos:
        name = info.filename
        if info.compress_type not in _COMPRESSIONS:
            raise FormatError(
                f"{where}: entry {name} uses compression method {info.compress_type}; "
                "skseqattn.save writes stored and deflated entries only."
            )
        begin = info.header_offset
        if not 0 <= begin <= end - _LOCAL_HEADER.size:
            raise FormatError(
                f"{where}: entry {name} starts at byte {begin}, outside the archive's "
                f"{end} bytes of entries; the file is damaged."
            )
        try:
            fp.seek(begin)
            raw = fp.read(_LOCAL_HEADER.size)
            fields = _LOCAL_HEADER.unpack(raw)
            local_name = fp.read(fields[10])
        except _ZIP_ERRORS as exc:
            raise FormatError(f"{where}: cannot read the header of entry {name} ({exc}).") from exc
        signature, _, _, flags, method, _, _, _, compressed, size, name_length, extra = fields
        data = begin + _LOCAL_HEADER.size + name_length + extra
        problem = None
        if signature != _LOCAL_SIGNATURE:
            problem = "has no local file header"
        elif local_name != name.encode("ascii"):
            problem = f"is named {_short(local_name)} in its local header"
        elif method != info.compress_type or (flags & 0x1):
            problem = "has another compression method or flags in its local header"
        elif not flags & 0x8 and 0xFFFFFFFF not in (compressed, size):
            if (compressed, size) != (info.compress_size, info.file_size):
                problem = "declares other sizes in its local header than in the zip's table"
        if problem is None and data + info.compress_size > end:
            problem = "runs past the start of the zip's table of entries"
        if problem is not None:
            raise FormatError(f"{where}: entry {name} {problem}; the file is damaged or altered.")
        spans.append((begin, data + info.compress_size, name))
    spans.sort()
    for (_, first_end, first), (second_begin, _, second) in zip(spans, spans[1:]):
        if second_begin < first_end:
            raise FormatError(
                f"{where}: entries {first} and {second} overlap in the archive; "
                "skseqattn.save writes each entry's bytes once. The file was altered."
            )


def _check_regular(mode, where):
    """Refuse anything but a regular file (a device such as /dev/zero, a FIFO, a socket,
    a directory) without reading from it."""
    if not stat.S_ISREG(mode):
        kind = (
            "a directory" if stat.S_ISDIR(mode) else "not a regular file (a device, FIFO or socket)"
        )
        raise FormatError(f"{where} is {kind}; skseqattn.load reads model files only.")


def _open_archive(path, stack):
    """An open :class:`zipfile.ZipFile` for ``path``, closed by ``stack``."""
    where = path if isinstance(path, (str, bytes, os.PathLike)) else "the file"
    if isinstance(path, (str, bytes, os.PathLike)):
        _check_regular(os.stat(path).st_mode, where)  # before opening: a FIFO would block
        # Not blocking, in case a FIFO took the file's place since the stat above.
        flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
        fileobj = stack.enter_context(os.fdopen(os.open(path, flags), "rb"))
        _check_regular(os.fstat(fileobj.fileno()).st_mode, where)
    else:
        fileobj = path
        try:
            descriptor = fileobj.fileno()
        except (AttributeError, OSError, ValueError):
            descriptor = None  # an in-memory file
        if descriptor is not None:
            _check_regular(os.fstat(descriptor).st_mode, where)
    try:
        counted = _entry_count(fileobj)
        fileobj.seek(0)
    except (OSError, AttributeError) as exc:
        raise TypeError(
            f"skseqattn.load expected a path or a seekable binary file, got {type(path).__name__}."
        ) from exc
    if counted is not None:
        entries, directory_size = counted
        if entries > _MAX_MEMBERS or directory_size > _MAX_CENTRAL_DIRECTORY:
            raise FormatError(
                f"{where} declares {entries} entries in {directory_size} bytes; a model file "
                f"holds at most {_MAX_MEMBERS}."
            )
    try:
        zf = zipfile.ZipFile(fileobj)
    except _ZIP_ERRORS as exc:
        hint = ""
        fileobj.seek(0)
        if fileobj.read(1) == b"\x80":
            hint = " It looks like a pickle: load it with joblib only if you trust its source."
        raise FormatError(
            f"{where} is not a skseqattn model file (not a zip archive, or truncated: {exc}).{hint}"
        ) from exc
    stack.enter_context(zf)
    return zf, where


def _read_archive(path, stack, *, key=None, max_bytes=DEFAULT_MAX_BYTES):
    """(manifest, members) from the zip at ``path`` after the structural checks (and the
    signature, given a key); members are read later, on demand."""
    zf, where = _open_archive(path, stack)
    infos = _zip_info(zf, where, max_bytes)
    if _MANIFEST not in infos:
        raise FormatError(
            f"{where} is a zip archive without {_MANIFEST}: not written by skseqattn.save."
        )
    limit = min(_MAX_MANIFEST_BYTES, max_bytes)
    raw = _read_entry(zf, infos[_MANIFEST], limit, where)
    _verify(zf, infos, raw, key, where)
    manifest = _parse_manifest(raw, where)
    files = _expect(manifest.get("files"), dict, f"{where}: manifest.json 'files'")
    names = set(infos) - {_MANIFEST, _SIGNATURE}
    unexpected = sorted(names - set(files))
    missing = sorted(set(files) - names)
    if unexpected or missing:
        raise FormatError(
            f"{where} does not match its manifest: unexpected entries {_short(unexpected, 200)}, "
            f"missing entries {_short(missing, 200)}."
        )
    sizes, digests = {}, {}
    for name, meta in files.items():
        meta = _expect(meta, dict, f"{where}: manifest entry {name!r}")
        size, digest = meta.get("size"), meta.get("sha256")
        if (
            not _BLOB_NAME.match(name)
            or not _is_int(size)
            or size < 0
            or not isinstance(digest, str)
        ):
            raise FormatError(f"{where}: bad manifest entry {name!r}: {_short(meta)}.")
        if infos[name].file_size != size:
            raise FormatError(
                f"{where}: the checksum or size of {name} does not match the manifest: the zip "
                f"declares {infos[name].file_size} bytes, the manifest {size}; the file is "
                "corrupt or was altered."
            )
        sizes[name], digests[name] = size, digest
    total = sum(sizes.values()) + len(raw)
    if total > max_bytes:
        raise FormatError(
            f"{where} holds {total} bytes, more than max_bytes={max_bytes}; pass a larger "
            "max_bytes to load if you trust the file."
        )
    return manifest, _Members(lambda name: zf.open(infos[name]), sizes, digests, where)


def _verify(zf, infos, manifest_bytes, key, where):
    """Check the signature, before anything else of the file is parsed."""
    signed = _SIGNATURE in infos
    if key is None:
        if signed:
            warnings.warn(
                f"{where} is signed, but skseqattn.load got no key: it was loaded without "
                "checking who wrote it. Pass key=... to check its signature.",
                UserWarning,
                stacklevel=4,
            )
        return
    if not signed:
        raise FormatError(
            f"{where} is not signed, but skseqattn.load got a key: refusing a file whose "
            "author cannot be checked. Load it without key only if you trust its source."
        )
    stored = _read_entry(zf, infos[_SIGNATURE], 128, where)
    if not hmac.compare_digest(stored, _signature(key, manifest_bytes)):
        raise FormatError(
            f"{where}: the signature does not verify: the file was altered, or signed with "
            "another key."
        )


def _read_entry(zf, info, limit, where):
    name = info.filename
    if info.file_size > limit:
        raise FormatError(
            f"{where}: {name} declares {info.file_size} bytes, more than the {limit} allowed."
        )
    try:
        with zf.open(info) as f:
            data = f.read(limit + 1)
    except _ZIP_ERRORS as exc:
        raise FormatError(
            f"{where}: cannot read {name} ({type(exc).__name__}: {exc}); the file is damaged."
        ) from exc
    if len(data) > limit:  # pragma: no cover - zipfile stops at the declared size
        raise FormatError(f"{where}: {name} is larger than expected.")
    return data


def _parse_manifest(data, where):
    manifest = _parse_json(data, _MANIFEST, where)
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
        raise FormatError(f"{where}: {_MANIFEST} does not describe a skseqattn model.")
    version = manifest.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise FormatError(f"{where}: bad format_version {_short(version)} in {_MANIFEST}.")
    if version > FORMAT_VERSION:
        raise FormatError(
            f"{where} was written by format version {version} (skseqattn "
            f"{_short(manifest.get('skseqattn_version'))}); this skseqattn reads up to "
            f"{FORMAT_VERSION}; upgrade skseqattn."
        )
    return manifest
