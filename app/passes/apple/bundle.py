"""A minimal zip writer for .pkpass bundles.

Template images are the same in every pass of a program, so their SHA-1 (for the
manifest), CRC-32 (for the zip) and bytes are computed once and reused; each pass
only adds its small JSON files. PNGs are already compressed, so they are stored;
JSON is deflated.
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from collections.abc import Iterable
from dataclasses import dataclass

_LOCAL = struct.Struct("<IHHHHHIIIHH")
_CENTRAL = struct.Struct("<IHHHHHHIIIHHHHHII")
_END = struct.Struct("<IHHHHIIH")
_STORED, _DEFLATED = 0, 8
# 1980-01-01 00:00 in DOS format: a fixed time keeps identical passes byte-identical.
_DOS_TIME, _DOS_DATE = 0, (0 << 9) | (1 << 5) | 1
_UTF8_FLAG = 0x800


def _sha1(data: bytes) -> str:
    # Apple's manifest format prescribes SHA-1; the signature over it is SHA-256.
    return hashlib.sha1(data, usedforsecurity=False).hexdigest()


@dataclass(frozen=True, slots=True)
class BundleFile:
    """A file ready to be written into the zip: hashes and payload precomputed."""

    name: str
    sha1: str
    crc32: int
    size: int
    method: int
    payload: bytes

    @classmethod
    def stored(cls, name: str, data: bytes) -> BundleFile:
        return cls(name, _sha1(data), zlib.crc32(data), len(data), _STORED, data)

    @classmethod
    def deflated(cls, name: str, data: bytes) -> BundleFile:
        compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
        payload = compressor.compress(data) + compressor.flush()
        if len(payload) >= len(data):
            return cls.stored(name, data)
        return cls(
            name,
            _sha1(data),
            zlib.crc32(data),
            len(data),
            _DEFLATED,
            payload,
        )


def write_zip(files: Iterable[BundleFile]) -> bytes:
    local_parts: list[bytes] = []
    central_parts: list[bytes] = []
    offset = 0
    count = 0
    for f in files:
        name = f.name.encode("utf-8")
        header = _LOCAL.pack(
            0x04034B50,
            20,
            _UTF8_FLAG,
            f.method,
            _DOS_TIME,
            _DOS_DATE,
            f.crc32,
            len(f.payload),
            f.size,
            len(name),
            0,
        )
        local_parts += (header, name, f.payload)
        central_parts += (
            _CENTRAL.pack(
                0x02014B50,
                20,
                20,
                _UTF8_FLAG,
                f.method,
                _DOS_TIME,
                _DOS_DATE,
                f.crc32,
                len(f.payload),
                f.size,
                len(name),
                0,
                0,
                0,
                0,
                0,
                offset,
            ),
            name,
        )
        offset += len(header) + len(name) + len(f.payload)
        count += 1
    central = b"".join(central_parts)
    end = _END.pack(0x06054B50, 0, 0, count, count, len(central), offset, 0)
    return b"".join(local_parts) + central + end


_PACKED = struct.Struct("<HI")  # name length, data length


def pack_files(files: Iterable[BundleFile]) -> bytes:
    """Files as one blob for storage (their data stored, not deflated)."""
    parts: list[bytes] = []
    for f in files:
        if f.method != _STORED:
            raise ValueError(f"{f.name} is deflated; only stored files are packed")
        name = f.name.encode("utf-8")
        parts += (_PACKED.pack(len(name), len(f.payload)), name, f.payload)
    return b"".join(parts)


def unpack_files(blob: bytes) -> list[BundleFile]:
    files: list[BundleFile] = []
    at = 0
    view = memoryview(blob)
    while at < len(blob):
        name_len, size = _PACKED.unpack_from(blob, at)
        at += _PACKED.size
        name = bytes(view[at : at + name_len]).decode("utf-8")
        at += name_len
        if at + size > len(blob):
            raise ValueError("a packed bundle file ends early")
        files.append(BundleFile.stored(name, bytes(view[at : at + size])))
        at += size
    return files
