"""Hand-built zip archives for bad-input tests: a deflated member of many zeros, built fast.

A raw deflate stream of N MiB of zeros is one 1 MiB block compressed after a full flush (no
back-references across it) repeated N times: a 1 GiB member is ~1 MB and built in well under a second.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path


def deflate_with_zeros(prefix: bytes, zero_mib: int) -> tuple[bytes, int]:
    """(raw deflate of ``prefix`` + ``zero_mib`` MiB of zeros, uncompressed size)."""
    co = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = co.compress(prefix) + co.flush(zlib.Z_FULL_FLUSH)
    block = co.compress(b"\0" * (1 << 20)) + co.flush(zlib.Z_FULL_FLUSH)
    return head + block * zero_mib + co.flush(), len(prefix) + (zero_mib << 20)


def write_zip(path: Path, members: list[tuple[str, bytes, int, int]], *, central: bool = True,
              descriptor: bool = False) -> Path:
    """Write ``(name, data, method, uncompressed size)`` members (CRC 0: readers must refuse before it matters).

    ``central=False`` leaves out the central directory (a cut-off download); ``descriptor=True``
    writes sizes of 0 in the deflated members' local headers, as streaming zip writers do.
    """
    out, cd = bytearray(), bytearray()
    for name, data, method, usize in members:
        nb, off = name.encode(), len(out)
        crc = zlib.crc32(data) if method == 0 else 0
        flags, cs, us = (8, 0, 0) if descriptor and method == 8 else (0, len(data), usize)
        out += struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, flags, method, 0, 0x21, crc, cs, us, len(nb), 0) + nb + data
        cd += struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, 0, method, 0, 0x21, crc, len(data), usize,
                          len(nb), 0, 0, 0, 0, 0, off) + nb
    if central:
        out += cd + struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, len(members), len(members), len(cd), len(out), 0)
    path.write_bytes(bytes(out))
    return path
