"""ActiGraph ``.gt3x`` / ``.agdc`` recordings: a numpy decoder of ActiGraph's published file format.

A .gt3x (or CentrePoint .agdc) file is a zip archive. ``info.txt`` holds ``key: value`` lines
(``Serial Number``, ``Sample Rate`` in Hz, ``Start Date`` and ``Last Sample Time`` in .NET ticks of
device-local time, ``TimeZone`` as ``±hh:mm:ss``, ``Acceleration Scale`` in LSB per g, ``Acceleration
Min/Max`` in g). Two layouts carry the samples:

* **log.bin** (current devices, ActiGraph's "GT3X File Format"): records of separator ``0x1E``, type,
  timestamp (uint32, device-local Unix seconds), payload size (uint16), payload and a checksum byte
  (one's complement of the XOR of header and payload). ``ACTIVITY`` (0x00) holds one second of samples
  as 12-bit two's-complement values in y, x, z order; ``ACTIVITY2`` (0x1A) as int16 x, y, z;
  ``ACTIVITY3`` (0x1B, CentrePoint) as 12-bit x, y, z. Values divided by the acceleration scale are
  in g. ``PARAMETERS`` (0x15) may give the scale (key 0/55, ActiGraph's 24-bit-fraction float).
  ``EVENT`` (0x03) records with payload ``0x08``/``0x09`` mark the start and end of idle sleep mode.
  An activity record with a one-byte payload marks a USB connection and holds no sample.
  Zero bytes between records are padding.
* **activity.bin** (legacy "NHANES" GT3X+ files, firmware ≤ 2.5.0): one stream of 12-bit y, x, z
  samples at 341 LSB/g from ``Start Date`` at ``Sample Rate``.

Idle sleep mode. While the device lies still with idle sleep enabled it stops sampling and writes
no activity records. impactlab leaves those periods **as missing rows** (gaps) and lists them in
``source.extra["gt3x"]["idle_sleep"]`` (start, end, duration) with a note; it never invents samples
there. ActiLife's CSV export (and pygt3x) instead repeat the last sample over the whole period and
fill to the ``Last Sample Time``, so an export has more rows than impactlab reads; the rows both
have agree to the export's 3 decimals. For wear time the periods count as not worn (no samples).

Records are parsed with one Python step per record (their sizes vary), then checksums and samples
are decoded vectorised over all records of a chunk. A record with a bad checksum, or bytes that are
not a record, are reported (byte offset) and skipped; a cut-off archive is read as far as it goes.
CentrePoint files marked uncalibrated with calibration method 2 are calibrated with the offsets and
sensitivity matrix of their ``calibration.json`` for the recording's rate.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from ..errors import CorruptFileError, UnsupportedFormatError
from ..recording import Recording, RecordingMeta
from ..wear import merge_periods
from ._common import RecordingSource, clip, clock_offset, describe_content, export_hint, make_chunk, quality_note
from ._zipguard import BOMB_RATIO, RATIO_MIN_BYTES, check_member_size

__all__ = ["open_gt3x", "read_gt3x", "read_info"]

TICKS_AT_UNIX_EPOCH = 621_355_968_000_000_000  # .NET ticks (100 ns) at 1970-01-01
READ_BYTES = 8 << 20
ACTIVITY, EVENT, PARAMETERS, ACTIVITY2, ACTIVITY3 = 0x00, 0x03, 0x15, 0x1A, 0x1B
_ACTIVITY_TYPES = (ACTIVITY, ACTIVITY2, ACTIVITY3)
_HEAD = struct.Struct("<BBIH")
_KNOWN_TYPES = set(range(0x00, 0x20))
#: what a damaged zip archive makes the standard library raise
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, ValueError,
               OverflowError, struct.error, OSError)
_EPOCH_TYPES = {0x09, 0x0C, 0x0F, 0x10}


def read_info(text: str) -> dict[str, str]:
    """``key: value`` lines of ``info.txt`` (BOM and blank lines ignored)."""
    out = {}
    for line in text.lstrip("\ufeff").splitlines():
        if ":" in line:
            k, v = line.split(":", 1)
            out[k.strip()] = v.strip()
    return out


def _num(text: str | None) -> float | None:
    if text is None or not text.strip():
        return None
    try:
        return float(text.replace(",", "."))
    except ValueError:
        return None


def decode_sspfloat(value: int) -> float:
    """ActiGraph parameter float: 24-bit two's-complement fraction (/2^23) times 2^(8-bit exponent)."""
    if value == 0x007FFFFF:
        return float("inf")
    if value == 0x00800000:
        return float("-inf")
    exp = (value >> 24) & 0xFF
    exp = exp - 256 if exp & 0x80 else exp
    sig = value & 0xFFFFFF
    sig = sig - (1 << 24) if sig & 0x800000 else sig
    return sig / 8388608.0 * 2.0**exp


def unpack12(payload: np.ndarray, n_samples: int) -> np.ndarray:
    """12-bit big-endian two's-complement triplets: (k, bytes) uint8 -> (k, n_samples, 3) int16 in file order."""
    k = payload.shape[0]
    nib = np.empty((k, payload.shape[1] * 2), np.int16)
    nib[:, 0::2] = payload >> 4
    nib[:, 1::2] = payload & 0x0F
    nib = nib[:, : 9 * n_samples].reshape(k, 3 * n_samples, 3)
    v = (nib[:, :, 0] << 8) | (nib[:, :, 1] << 4) | nib[:, :, 2]
    v = np.where(v >= 2048, v - 4096, v).astype(np.int16)
    return v.reshape(k, n_samples, 3)


class _Member:
    """Bytes of one archive member, read in pieces; survives a cut-off archive (local headers only)."""

    def __init__(self, path: str, name: str) -> None:
        self.path, self.name = path, name
        self.truncated = False
        self.problem: str | None = None

    def pieces(self, size: int = READ_BYTES) -> Iterator[bytes]:
        try:
            zf = zipfile.ZipFile(self.path)
        except _ZIP_ERRORS:
            yield from self._salvage(size)
            return
        with zf:
            try:
                fh = zf.open(self.name)
            except KeyError:
                return
            except _ZIP_ERRORS:
                yield from self._salvage(size)
                return
            try:
                while True:
                    piece = fh.read(size)
                    if not piece:
                        break
                    yield piece
            except _ZIP_ERRORS as err:
                self.truncated = True
                self.problem = f"{self.name} is damaged inside the archive ({clip(err)[1:-1]})"

    def _salvage(self, size: int) -> Iterator[bytes]:
        """Read a member from its local header when the archive's central directory is missing."""
        self.truncated = True
        entry = _local_entries(self.path).get(self.name)
        if entry is None:
            return
        method, start, csize, usize = entry
        check_member_size(self.path, self.name, 1e3, None, (usize, csize) if usize else None)  # ratio check only
        if method not in (0, 8):
            self.problem = f"{self.name} uses zip compression method {method}, which impactlab does not read"
            return
        with open(self.path, "rb") as fh:
            fh.seek(start)
            remaining = csize if csize > 0 else None
            dec = zlib.decompressobj(-15) if method == 8 else None
            n_in = n_out = 0
            while True:
                want = size if remaining is None else min(size, remaining)
                if want <= 0:
                    break
                raw = fh.read(want)
                if not raw:
                    break
                if remaining is not None:
                    remaining -= len(raw)
                if dec is None:
                    yield raw
                else:
                    n_in += len(raw)
                    while raw and not dec.eof:
                        try:
                            out = dec.decompress(raw, size)  # at most `size` bytes out per call: bounded memory
                        except zlib.error as err:
                            self.problem = f"{self.name} is damaged inside the archive ({clip(err)[1:-1]})"
                            return
                        raw, n_out = dec.unconsumed_tail, n_out + len(out)
                        if out:
                            yield out
                        if n_out > RATIO_MIN_BYTES and n_out > BOMB_RATIO * (n_in - len(raw)):
                            self.problem = f"{self.name} unpacks to over {BOMB_RATIO} times its size (not a recording)"
                            return
                    if dec.eof:
                        break
        self.problem = f"the archive is cut short; {self.name} was read as far as it goes"


def _local_entries(path: str) -> dict[str, tuple[int, int, int, int]]:
    """name -> (compression method, data offset, compressed size, uncompressed size) from the local headers."""
    out: dict[str, tuple[int, int, int, int]] = {}
    size = os.path.getsize(path)
    with open(path, "rb") as fh:
        pos = 0
        while pos + 30 <= size:
            fh.seek(pos)
            hdr = fh.read(30)
            if hdr[:4] != b"PK\x03\x04":
                break
            _, _, flags, method, _, _, _, csize, usize, nlen, elen = struct.unpack("<4sHHHHHIIIHH", hdr)
            name = fh.read(nlen).decode("utf-8", "replace")
            start = pos + 30 + nlen + elen
            if flags & 0x08 and csize == 0:
                csize = size - start  # size in a trailing descriptor: read to the end
            out[name] = (method, start, csize, usize)
            pos = start + csize
    return out


def _names(path: str) -> tuple[list[str], bool]:
    try:
        with zipfile.ZipFile(path) as zf:
            return zf.namelist(), False
    except _ZIP_ERRORS:
        return list(_local_entries(path)), True


def _read_small(path: str, name: str) -> bytes | None:
    m = _Member(path, name)
    data = b"".join(itertools.islice(m.pieces(1 << 20), 2))
    if len(data) > 1 << 20:
        raise CorruptFileError(f"{name} is over 1 MiB (a few hundred bytes in a real file)", path=path, hint=export_hint("gt3x"))
    return data if data or name in _names(path)[0] else None


def scan_records(buf: bytes, base: int = 0) -> tuple[np.ndarray, int, list[tuple[int, str]]]:
    """Find the log records in ``buf``.

    Parameters
    ----------
    buf : bytes
        Part of ``log.bin`` starting at a record boundary.
    base : int
        Byte offset of ``buf`` in ``log.bin`` (for reports).

    Returns
    -------
    tuple
        ``(records, consumed, problems)``: a structured array (``start``, ``type``, ``ts``, ``size``,
        ``ok`` = checksum valid), the bytes consumed (an incomplete last record is left), and
        ``(offset, reason)`` for bytes that are not records.
    """
    n = len(buf)
    starts: list[int] = []
    types: list[int] = []
    tss: list[int] = []
    sizes: list[int] = []
    problems: list[tuple[int, str]] = []
    pos = 0
    unpack = _HEAD.unpack_from
    arr = np.frombuffer(buf, np.uint8)
    resync = False
    while pos + 8 <= n:
        c = buf[pos]
        if c == 0x1E:
            _, typ, ts, size = unpack(buf, pos)
            end = pos + 9 + size
            if end > n:
                nxt = buf.find(b"\x1e", pos + 1) if resync else -1
                if nxt < 0:
                    break  # an incomplete record: wait for more bytes
                pos = nxt  # after garbage, a false start that runs past the buffer
                continue
            if resync:  # after garbage, accept only a record whose checksum holds
                if typ not in _KNOWN_TYPES or int(np.bitwise_xor.reduce(arr[pos:end])) != 0xFF:
                    pos = buf.find(b"\x1e", pos + 1)
                    pos = n if pos < 0 else pos
                    continue
                resync = False
            starts.append(pos)
            types.append(typ)
            tss.append(ts)
            sizes.append(size)
            pos = end
        elif c == 0:
            pos += 1
        else:
            if not resync:
                problems.append((base + pos, "bytes that are not a log record"))
            resync = True
            nxt = buf.find(b"\x1e", pos + 1)
            pos = n if nxt < 0 else nxt
    rec = np.zeros(len(starts), dtype=[("start", np.int64), ("type", np.uint8), ("ts", np.int64),
                                       ("size", np.int64), ("ok", bool)])
    if starts:
        rec["start"], rec["type"], rec["ts"], rec["size"] = starts, types, tss, sizes
        ends = rec["start"] + 9 + rec["size"]
        padded = np.concatenate([arr, np.zeros(1, np.uint8)])
        idx = np.empty(2 * len(starts), np.int64)
        idx[0::2], idx[1::2] = rec["start"], ends
        rec["ok"] = np.bitwise_xor.reduceat(padded, idx)[0::2] == 0xFF
    return rec, min(pos, n), problems


def _parameters(payload: bytes) -> dict[tuple[int, int], int]:
    items = np.frombuffer(payload[: len(payload) // 8 * 8], dtype=[("space", "<u2"), ("id", "<u2"), ("value", "<u4")])
    return {(int(a), int(b)): int(v) for a, b, v in zip(items["space"], items["id"], items["value"], strict=True)}


def _calibration_matrix(cal: dict[str, Any], rate: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Offsets and sensitivity matrix of CentrePoint calibration method 2 at ``rate`` Hz."""
    try:
        off = np.array([float(cal[f"offset{a}_{rate}"]) for a in "XYZ"])
        sxx, syy, szz = (float(cal[f"sensitivity{a}{a}_{rate}"]) for a in "XYZ")
        sxy, sxz, syz = (float(cal[f"sensitivity{k}_{rate}"]) for k in ("XY", "XZ", "YZ"))
    except (KeyError, TypeError, ValueError):
        return None

    def cross(s: float) -> float:
        return 1.0 / (s * 0.01 + 250.0) - 0.004

    m = np.array([
        [1.0 / (sxx * 0.01), cross(sxy), cross(sxz)],
        [cross(sxy), 1.0 / (syy * 0.01), cross(syz)],
        [cross(sxz), cross(syz), 1.0 / (szz * 0.01)],
    ])
    return off, m


def open_gt3x(
    path: str | os.PathLike[str],
    *,
    tz: str | None = None,
    vertical_axis: str | None = None,
    units: str = "g",
) -> RecordingSource:
    """Open an ActiGraph .gt3x / .agdc file for chunked reading (bounded memory, any length).

    Parameters
    ----------
    path : str or os.PathLike
        The .gt3x or .agdc file.
    tz : str, optional
        IANA zone of the device clock (default: ``TimeZone`` from ``info.txt`` as a fixed offset).
    vertical_axis : str, optional
        Default ``"-y"`` (ActiGraph's y axis points down when worn upright on the hip).
    units : str
        Ignored (the file holds counts with their scale); kept for the common reader signature.

    Returns
    -------
    RecordingSource
        ``meta.device == "actigraph"``. ``extra["gt3x"]`` (filled while reading) holds ``layout``,
        ``records``, ``bad_records``, ``usb_records``, ``idle_sleep`` (list of periods) and
        ``idle_sleep_s``.

    Raises
    ------
    UnsupportedFormatError
        Not a .gt3x archive (says what it is), or no raw acceleration in it (epoch-only files).
    CorruptFileError
        Empty, no ``info.txt``, no sample rate, or nothing readable.

    Warns
    -----
    DataQualityWarning
        Idle-sleep periods left as gaps, damaged records skipped, a cut-off archive.
    """
    path = os.fspath(path)
    with open(path, "rb") as fh:
        head = fh.read(4096)
    if not head:
        raise CorruptFileError("the file is empty (0 bytes)", path=path, offset=0, hint=export_hint("gt3x"))
    if head[:4] != b"PK\x03\x04":
        raise UnsupportedFormatError(
            f"this is not an ActiGraph .gt3x/.agdc archive: it looks like {describe_content(head)}", path=path,
            hint=export_hint("gt3x"),
        )
    names, broken = _names(path)
    notes: list[str] = []
    if broken:
        quality_note(f"{path}: the zip archive is cut short (no central directory); reading what is there", notes)
    if "info.txt" not in names:
        raise CorruptFileError(
            "the archive has no info.txt (sample rate, start time)", path=path, offset=0,
            hint="This is not a complete .gt3x; download the device again in ActiLife",
        )
    info = read_info((_read_small(path, "info.txt") or b"").decode("utf-8", "replace"))
    rate = _num(info.get("Sample Rate"))
    if not rate or rate <= 0:
        raise CorruptFileError(f"info.txt has no valid 'Sample Rate' ({clip(info.get('Sample Rate'))})", path=path,
                               offset=0, hint="Download the device again in ActiLife")
    serial = info.get("Serial Number") or None
    layout = "log.bin" if "log.bin" in names else "activity.bin" if "activity.bin" in names else None
    if layout is None:
        raise UnsupportedFormatError(
            f"the archive holds neither log.bin nor activity.bin (members: {', '.join(names[:8])})", path=path,
            hint=export_hint("gt3x"),
        )
    ends = [t for k in ("Last Sample Time", "Download Date") if (t := _num(info.get(k)) or 0) > (_num(info.get("Start Date")) or 0)]
    check_member_size(path, layout, fs := float(rate), (max(ends) - (_num(info.get("Start Date")) or 0)) / 1e7 if ends else None)
    tz_txt = info.get("TimeZone", "")
    tm = re.match(r"^\s*(-?)(\d{1,2}):(\d\d)", tz_txt)
    tz_min = (-1 if tm.group(1) else 1) * (int(tm.group(2)) * 60 + int(tm.group(3))) if tm else None
    prefix = (serial or "")[:3].upper()
    default_scale = 341.0 if prefix in ("NEO", "CLE", "MRA") else 256.0
    scale = _num(info.get("Acceleration Scale"))
    amax = _num(info.get("Acceleration Max"))
    rng = amax if amax else (6.0 if default_scale == 341.0 else 8.0)
    report: dict[str, object] = {"layout": layout, "records": 0, "bad_records": 0, "bad_record_list": [],
                                 "usb_records": 0, "idle_sleep": [], "idle_sleep_s": 0.0}
    irate = int(round(fs))
    calib: tuple[np.ndarray, np.ndarray] | None = None
    cal_raw = _read_small(path, "calibration.json") if "calibration.json" in names else None
    if cal_raw:
        try:
            cal = json.loads(cal_raw.decode("utf-8-sig"))
        except (ValueError, UnicodeDecodeError):
            cal = {}
        if cal and cal.get("isCalibrated") is False:
            if cal.get("calibrationMethod") != 2 or (calib := _calibration_matrix(cal, irate)) is None:
                raise UnsupportedFormatError(
                    f"the samples are uncalibrated and calibration method {clip(cal.get('calibrationMethod'))} at "
                    f"{irate} Hz is not one impactlab applies", path=path,
                    hint="Export calibrated raw data in g from ActiLife or CentrePoint (CSV)",
                )
            notes.append(f"{path}: samples calibrated with calibration.json (method 2, {irate} Hz)")

    if layout == "activity.bin":
        start_ticks = int(_num(info.get("Start Date")) or 0)
        if start_ticks <= TICKS_AT_UNIX_EPOCH:
            raise CorruptFileError(f"info.txt has no valid 'Start Date' ({clip(info.get('Start Date'))})", path=path,
                                   offset=0, hint="Download the device again in ActiLife")
        t0_local = (start_ticks - TICKS_AT_UNIX_EPOCH) * 100
        zone, off_ns = clock_offset(tz, tz_min, t0_local, path, notes)
        nhanes_scale: float = scale or 341.0
        meta = RecordingMeta(source=path, device="actigraph", sample_rate_hz=fs, timezone=zone,
                             vertical_axis=vertical_axis or "-y", range_g=rng, serial=serial,
                             extra={"model": info.get("Device Type"), "firmware": info.get("Firmware"),
                                    "layout": layout})
        return RecordingSource(meta=meta, chunks=lambda: _nhanes_chunks(path, meta, t0_local - off_ns, fs, nhanes_scale, report),
                               n_rows_hint=None, notes=notes, extra={"gt3x": report})

    # log.bin: find the first activity record (its time and, if needed, the scale from PARAMETERS)
    member = _Member(path, "log.bin")
    first_ts = None
    seen: set[int] = set()
    params: dict[tuple[int, int], int] = {}
    got = b""
    for piece in member.pieces():
        got += piece
        recs, _, _ = scan_records(got)
        seen.update(int(t) for t in np.unique(recs["type"]))
        for r in recs[(recs["type"] == PARAMETERS) & recs["ok"]]:
            params.update(_parameters(got[r["start"] + 8: r["start"] + 8 + r["size"]]))
        act = recs[np.isin(recs["type"], _ACTIVITY_TYPES) & recs["ok"] & (recs["size"] > 1)]
        if act.size:
            first_ts = int(act["ts"][0])
            break
        if len(got) > 4 * READ_BYTES:
            break
    if first_ts is None:
        kinds = "epoch counts only" if seen & _EPOCH_TYPES else (
            f"record types {sorted(seen)}" if seen else "no log records")
        raise UnsupportedFormatError(
            f"log.bin holds no raw acceleration ({kinds})", path=path,
            hint="Initialise the device with raw data logging, or export raw data in g from ActiLife",
        )
    if not scale:
        if (0, 55) in params:
            scale = decode_sspfloat(params[(0, 55)])
            notes.append(f"{path}: acceleration scale {scale:g} LSB/g from the PARAMETERS record")
        else:
            scale = default_scale
            notes.append(f"{path}: no acceleration scale in the file; {scale:g} LSB/g assumed for serial {serial}")
    if calib is None and scale <= 1.0:
        raise UnsupportedFormatError(
            "the samples are raw sensor counts (Acceleration Scale 1) without a calibration impactlab applies",
            path=path, hint="Export calibrated raw data in g from ActiLife or CentrePoint (CSV)",
        )
    zone, off_ns = clock_offset(tz, tz_min, first_ts * 1_000_000_000, path, notes)
    last_ticks = _num(info.get("Last Sample Time"))
    last_local_s = (int((int(last_ticks) - TICKS_AT_UNIX_EPOCH) // 10_000_000)
                    if last_ticks and last_ticks > TICKS_AT_UNIX_EPOCH else None)
    meta = RecordingMeta(source=path, device="actigraph", sample_rate_hz=fs, timezone=zone,
                         vertical_axis=vertical_axis or "-y", range_g=rng, serial=serial,
                         extra={"model": info.get("Device Type"), "firmware": info.get("Firmware"), "layout": layout,
                                "limb": info.get("Limb")})
    return RecordingSource(
        meta=meta,
        chunks=lambda: _log_chunks(path, meta, off_ns, fs, float(scale), calib, last_local_s, report),
        n_rows_hint=None, notes=notes, extra={"gt3x": report},
    )


def _nhanes_chunks(path: str, meta: RecordingMeta, t0_ns: int, fs: float, scale: float,
                   report: dict[str, object]) -> Iterator[Recording]:
    member = _Member(path, "activity.bin")
    row = 0
    rest = b""
    step = 1e9 / fs
    for piece in member.pieces(READ_BYTES // 9 * 9):
        buf = rest + piece
        nbytes = len(buf) // 9 * 9
        rest = buf[nbytes:]
        if nbytes == 0:
            continue
        v = unpack12(np.frombuffer(buf[:nbytes], np.uint8)[None, :], nbytes * 2 // 9)[0]
        xyz = (v[:, [1, 0, 2]].astype(np.float64) / scale).astype(np.float32)
        t = t0_ns + np.rint((row + np.arange(xyz.shape[0])) * step).astype(np.int64)
        yield make_chunk(t, xyz, meta, first_line=row)
        row += xyz.shape[0]
    if len(rest) >= 5:  # an odd last sample: 4.5 bytes
        v = unpack12(np.frombuffer(rest[:5], np.uint8)[None, :], 1)[0]
        xyz = (v[:, [1, 0, 2]].astype(np.float64) / scale).astype(np.float32)
        yield make_chunk(np.array([t0_ns + int(round(row * step))]), xyz, meta, first_line=row)
        row += 1
    report["records"] = row
    if member.problem:
        quality_note(f"{path}: {member.problem}; {row} samples read", [], stacklevel=3)
    if row == 0:
        raise CorruptFileError("activity.bin holds no samples", path=path, offset=0,
                               hint="Download the device again in ActiLife")


def _decode_activity(buf: bytes, recs: np.ndarray, scale: float, calib: tuple[np.ndarray, np.ndarray] | None,
                     fs: float) -> tuple[np.ndarray, np.ndarray]:
    """Samples of activity records (vectorised per record type and size): local ns times, g."""
    arr = np.frombuffer(buf, np.uint8)
    out_t: list[np.ndarray] = []
    out_v: list[np.ndarray] = []
    order: list[np.ndarray] = []
    for (typ, size) in {(int(a), int(b)) for a, b in zip(recs["type"], recs["size"], strict=True)}:
        sel = np.flatnonzero((recs["type"] == typ) & (recs["size"] == size))
        n = size // 6 if typ == ACTIVITY2 else size * 2 // 9
        if n == 0:
            continue
        idx = recs["start"][sel][:, None] + 8 + np.arange(size)[None, :]
        payload = arr[idx]
        if typ == ACTIVITY2:
            v = np.ascontiguousarray(payload[:, : 6 * n]).view("<i2").reshape(sel.size, n, 3)
        else:
            v = unpack12(payload, n)
            if typ == ACTIVITY:
                v = v[:, :, [1, 0, 2]]
        g = v.reshape(-1, 3).astype(np.float64)
        if calib is not None:
            off, m = calib
            g = (g - off) @ m.T
        else:
            g = g / scale
        t = recs["ts"][sel][:, None] * 1_000_000_000 + np.rint(np.arange(n) * (1e9 / fs)).astype(np.int64)[None, :]
        out_t.append(t.ravel())
        out_v.append(g.astype(np.float32))
        order.append(np.repeat(sel, n))
    if not out_t:
        return np.empty(0, np.int64), np.empty((0, 3), np.float32)
    t = np.concatenate(out_t)
    v = np.concatenate(out_v)
    o = np.argsort(np.concatenate(order), kind="stable")
    return t[o], v[o]


def _activity_between(act_idx: np.ndarray, lo: int, hi: int) -> int | None:
    """First activity record position in (lo, hi), if any."""
    k = int(np.searchsorted(act_idx, lo, side="right"))
    return int(act_idx[k]) if k < act_idx.size and act_idx[k] < hi else None


def _log_chunks(path: str, meta: RecordingMeta, off_ns: int, fs: float, scale: float,
                calib: tuple[np.ndarray, np.ndarray] | None, last_local_s: int | None,
                report: dict[str, object]) -> Iterator[Recording]:
    report.update(records=0, bad_records=0, bad_record_list=[], usb_records=0, idle_sleep=[], idle_sleep_s=0.0)
    member = _Member(path, "log.bin")
    base = 0
    rest = b""
    last_ts: int | None = None  # last activity record second (local)
    sleep_from: int | None = None
    sleep_pos = -1
    last_any_ts: int | None = None
    periods: list[dict[str, object]] = []
    bad_list = report["bad_record_list"]
    assert isinstance(bad_list, list)
    n_samples = 0
    zone = meta.timezone

    def _iso(local_s: int) -> str:
        return str(pd.Timestamp((local_s * 1_000_000_000) - off_ns, tz="UTC").tz_convert(zone).isoformat())

    def _close_sleep(end_s: int) -> None:
        nonlocal sleep_from
        if sleep_from is not None and end_s > sleep_from:
            periods.append({"start": _iso(sleep_from), "end": _iso(end_s), "duration_s": float(end_s - sleep_from)})
        sleep_from = None

    for piece in member.pieces():
        buf = rest + piece
        recs, used, problems = scan_records(buf, base)
        bad_list.extend({"offset": off, "reason": why} for off, why in problems[: max(0, 1000 - len(bad_list))])
        bad = recs[~recs["ok"]]
        if bad.size or problems:
            report["bad_records"] = int(report["bad_records"]) + int(bad.size) + len(problems)  # type: ignore[call-overload]
            for r in bad[: max(0, 1000 - len(bad_list))]:
                bad_list.append({"offset": base + int(r["start"]), "reason": "checksum error"})
            where = [base + int(r["start"]) for r in bad[:5]] + [o for o, _ in problems[:5]]
            quality_note(f"{path}: skipped {int(bad.size) + len(problems)} damaged log record(s) or stretch(es) of "
                         f"log.bin (byte offsets {', '.join(map(str, sorted(where)[:5]))}); their samples are a gap",
                         [], stacklevel=3)
        recs = recs[recs["ok"]]
        report["records"] = int(report["records"]) + int(recs.size)  # type: ignore[call-overload]
        if recs.size:
            last_any_ts = int(recs["ts"][-1]) if last_any_ts is None else max(last_any_ts, int(recs["ts"].max()))
        # idle sleep events, in record order
        is_ev = recs["type"] == EVENT
        ev_pos = np.flatnonzero(is_ev & (recs["size"] == 1))
        codes = np.frombuffer(buf, np.uint8)[recs["start"][ev_pos] + 8] if ev_pos.size else np.empty(0, np.uint8)
        act_mask = np.isin(recs["type"], _ACTIVITY_TYPES)
        usb = act_mask & (recs["size"] <= 1)
        report["usb_records"] = int(report["usb_records"]) + int(usb.sum())  # type: ignore[call-overload]
        act_mask &= ~usb
        # split the activity records at each sleep event so that periods are closed in order
        marks = [(int(p), int(c)) for p, c in zip(ev_pos, codes, strict=True) if c in (0x08, 0x09)]
        act_idx = np.flatnonzero(act_mask)
        if act_idx.size:
            ts = recs["ts"][act_idx]
            prev = np.r_[last_ts if last_ts is not None else np.iinfo(np.int64).min, np.maximum.accumulate(ts)[:-1]]
            back = ts <= prev
            if back.any():
                quality_note(f"{path}: {int(back.sum())} activity record(s) repeat or go back in time (device clock "
                             "reset?); skipped", [], stacklevel=3)
                act_idx = act_idx[~back]
        ts_all = recs["ts"]


        for p, code in marks:
            if sleep_from is not None:
                resumed = _activity_between(act_idx, sleep_pos, p)
                if resumed is not None:  # the exit event is missing: sleep ended when samples resumed
                    _close_sleep(int(ts_all[resumed]))
            if code == 0x08:
                if sleep_from is None:
                    # the device stops sampling after the last activity second; the event may come later
                    k = int(np.searchsorted(act_idx, p)) - 1
                    prev_act = int(ts_all[act_idx[k]]) if k >= 0 else last_ts
                    start = int(ts_all[p]) if prev_act is None else min(int(ts_all[p]), prev_act + 1)
                    sleep_from, sleep_pos = start, p
            elif sleep_from is not None:
                _close_sleep(int(ts_all[p]))
        if sleep_from is not None:
            resumed = _activity_between(act_idx, sleep_pos, recs.size)
            if resumed is not None:
                _close_sleep(int(ts_all[resumed]))
            else:
                sleep_pos = -1
        if act_idx.size:
            t_local, xyz = _decode_activity(buf, recs[act_idx], scale, calib, fs)
            last_ts = int(recs["ts"][act_idx[-1]])
            if t_local.size:
                yield make_chunk(t_local - off_ns, xyz, meta, first_line=n_samples)
                n_samples += t_local.size
        base += used
        rest = buf[used:]
    if sleep_from is not None:
        end = max(v for v in (last_local_s, last_any_ts, sleep_from) if v is not None)
        _close_sleep(end if end > sleep_from else sleep_from + 1)
    if rest.strip(b"\x00"):
        report["bad_records"] = int(report["bad_records"]) + 1  # type: ignore[call-overload]
        bad_list.append({"offset": base, "reason": "cut-off record at the end"})
        quality_note(f"{path}: log.bin ends inside a record (byte {base}); that record is ignored", [], stacklevel=3)
    if member.problem:
        quality_note(f"{path}: {member.problem}; {n_samples} samples read", [], stacklevel=3)
    periods = merge_periods(periods)  # an exit event missing and a later one can give overlapping spans
    report["idle_sleep"] = periods
    report["idle_sleep_s"] = float(sum(float(p["duration_s"]) for p in periods))  # type: ignore[misc, arg-type]
    if periods:
        quality_note(
            f"{path}: {len(periods)} idle-sleep period(s), {report['idle_sleep_s']:.0f} s in all, are left as gaps "
            "(the device was still and stopped sampling; ActiLife's export repeats the last sample there)",
            [], stacklevel=3,
        )
    if n_samples == 0:
        raise CorruptFileError("log.bin holds no readable activity record", path=path, offset=0,
                               hint="Download the device again in ActiLife")


def read_gt3x(path: str | os.PathLike[str], *, tz: str | None = None, vertical_axis: str | None = None) -> Recording:
    """Read a whole .gt3x / .agdc file into memory (see :func:`open_gt3x`).

    Examples
    --------
    >>> rec = read_gt3x("../shared/data/pygt3x/neo.gt3x")  # doctest: +SKIP
    >>> len(rec), rec.meta.sample_rate_hz  # doctest: +SKIP
    (18004, 30.0)
    """
    return open_gt3x(path, tz=tz, vertical_axis=vertical_axis).read()
