"""Zip archives (.gt3x, .agdc): refuse a member that would unpack to far more than the recording holds.

A .gt3x is a zip of ``info.txt`` and ``log.bin`` (or ``activity.bin``). A damaged or crafted archive
can declare (or hold) gigabytes of ``log.bin`` in a megabyte: decoding it would take minutes and
memory for nothing. Before any decoding, the member's uncompressed size from the zip header is
checked against what ``info.txt`` implies (recording length × sample rate × at most 8 bytes a
sample: 12-bit ACTIVITY records take 4.5 bytes a sample and int16 ACTIVITY2 records 6, plus record
headers; the real test files take 0.9-6.5 bytes a sample per Hz-second), and against the compression
ratio of real recordings: 1-3:1 in the test files; even a sensor lying perfectly still compresses
no more than about 50:1, because every record's header and checksum differ. More than 200:1 (zeros
deflate about 1000:1) over 4 MiB is a zip bomb.
"""

from __future__ import annotations

import zipfile
import zlib

from ..errors import CorruptFileError

__all__ = ["BOMB_RATIO", "RATIO_MIN_BYTES", "SLACK_BYTES", "check_member_size", "member_sizes"]

BYTES_PER_SAMPLE = 8  # upper bound of log.bin bytes per sample (see the module docstring)
SLACK_BYTES = 64 << 20  # headroom for other records
BOMB_RATIO = 200  # uncompressed / compressed above this (and above RATIO_MIN_BYTES): not a recording
RATIO_MIN_BYTES = 4 << 20
_MAX_DAYS = 400  # when info.txt gives no length: the longest a device logs on one charge, generously


def member_sizes(path: str, name: str) -> tuple[int, int] | None:
    """(uncompressed, compressed) size in bytes of ``name`` from the central directory, if readable."""
    try:
        with zipfile.ZipFile(path) as zf:
            i = zf.getinfo(name)
            return i.file_size, i.compress_size
    except (zipfile.BadZipFile, zlib.error, KeyError, ValueError, OSError, EOFError, NotImplementedError):
        return None


def _size(n: float) -> str:
    for unit, k in (("GiB", 1 << 30), ("MiB", 1 << 20), ("kiB", 1 << 10)):
        if n >= k:
            return f"{n / k:.1f} {unit}"
    return f"{int(n)} bytes"


def check_member_size(path: str, name: str, rate_hz: float, span_s: float | None,
                      sizes: tuple[int, int] | None = None) -> int:
    """Refuse ``name`` when its declared size cannot be a recording; return the most bytes it may hold.

    Parameters
    ----------
    path : str
        The archive (named in the error).
    name : str
        Member, e.g. ``log.bin``.
    rate_hz : float
        Sample rate from ``info.txt`` (Hz).
    span_s : float or None
        Recording length from ``info.txt`` (s: last sample or download time minus start), if known.
    sizes : tuple of int, optional
        (uncompressed, compressed) bytes; read from the archive's central directory when None.

    Returns
    -------
    int
        Upper bound of the member's uncompressed size (bytes).

    Raises
    ------
    CorruptFileError
        The header says the member unpacks to more than the bound, or compresses more than 200:1.
    """
    known = span_s is not None and 0 < span_s <= _MAX_DAYS * 86400
    span = span_s if known and span_s is not None else _MAX_DAYS * 86400.0
    cap = int(span * rate_hz * BYTES_PER_SAMPLE) + SLACK_BYTES
    sizes = sizes if sizes is not None else member_sizes(path, name)
    if sizes is None:
        return cap
    usize, csize = sizes
    hint = "The archive is damaged or was altered; download the device again in ActiLife"
    if usize > cap:
        what = f"info.txt's {span / 3600:.1f} h at {rate_hz:g} Hz" if known else f"{_MAX_DAYS} days at {rate_hz:g} Hz"
        raise CorruptFileError(f"{name} would unpack to {_size(usize)}, but {what} fill at most {_size(cap)}",
                               path=path, hint=hint)
    if usize > RATIO_MIN_BYTES and usize > BOMB_RATIO * max(csize, 1):
        raise CorruptFileError(f"{name} would unpack to {_size(usize)} from {_size(csize)} ({usize / max(csize, 1):.0f}:1; "
                               "recordings compress about 2:1, at most 50:1)", path=path, hint=hint)
    return cap
