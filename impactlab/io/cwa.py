"""Axivity AX3 / AX6 ``.cwa`` recordings: a numpy decoder of the documented block format, and an encoder.

The format (Open Movement's public ``cwa.h`` description) is a sequence of 512-byte sectors:

* a 1024-byte metadata header, ``"MD"``: hardware type (AX3 ``0x00``/``0x17``/``0xff``, AX6
  ``0x64``), device id (16 bits, plus 16 upper bits), session id, rate code, firmware, time zone;
* then data blocks, ``"AX"``, 512 bytes each, little-endian: packet length 508, device fractional time
  (top bit set: a 15-bit fraction of a second), session id, sequence id, a whole-second timestamp
  packed as ``YYYYYYMM MMDDDDDh hhhhmmmm mmssssss`` (year − 2000), light (bottom 10 bits; for unpacked
  data the top 3 bits give the accelerometer unit 1 / 2^(8 + n) g), temperature (10 bits,
  °C = raw · 75 / 256 − 50), events, battery, rate code (rate = 3200 / 2^(15 − (code & 15)) Hz,
  range = 16 >> (code >> 6) g), axes/format byte (``0x30``: 3 axes packed in 32 bits as three 10-bit
  two's-complement values and a 2-bit left shift, in 1/256 g; ``0x32``: 3 axes int16; ``0x62``:
  gyroscope x, y, z then accelerometer x, y, z as int16 (AX6); ``0x92``: as ``0x62`` plus a
  magnetometer), the sample index at which the timestamp holds, the sample count, 480 bytes of samples
  and a checksum chosen so that the 256 little-endian 16-bit words of the block sum to 0.

Decoding is vectorised over whole chunks of blocks with a numpy structured dtype
(:data:`BLOCK_DTYPE`); there is no Python loop per sample or per block.

Timing. The time of a block's first sample is ``timestamp + fraction − offset / rate``, where the
firmware has already lowered ``offset`` by the whole samples in the fraction ("backwards-compatible
shift") and this is undone first, as Open Movement's reference converter does. Samples of a block are
spread evenly up to the start of the next block when that block follows it (next sequence id, and a
duration within 50 % of the nominal), so the device's real rate is kept; otherwise (last block, a gap,
a skipped block) they are spaced at the nominal rate. scikit-digital-health ignores the fraction, so
its times differ from these by up to about 15 ms (checked on its AX3 and AX6 sample files);
GGIRread's count of rows resampled at 100 Hz equals the span found here.

Bad blocks (wrong checksum, unknown format byte, impossible time, sample count beyond the block)
are reported (block number and byte offset) with a :class:`~impactlab.errors.DataQualityWarning` and
skipped: their samples are never invented, the recording has a gap there. Non-data sectors (erased
``0xFFFF`` flash, other packet types) are ignored. A block whose first sample is not later than the
previous block's last sample (a clock set back) is dropped and reported the same way.

The gyroscope of the AX6 is not used (impact counting needs the accelerometer only).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import CorruptFileError, UnsupportedFormatError
from ..recording import Recording, RecordingMeta
from ._common import RecordingSource, clock_offset, describe_content, detect_vertical_axis, export_hint, make_chunk, quality_note

__all__ = ["BLOCK_DTYPE", "HEADER_DTYPE", "CwaWriter", "open_cwa", "read_cwa", "write_cwa"]

HEADER_BYTES = 1024
BLOCK_BYTES = 512
#: Samples decoded per chunk are about ``CHUNK_BLOCKS`` × 120.
CHUNK_BLOCKS = 8192

HEADER_DTYPE = np.dtype([
    ("header", "<u2"), ("length", "<u2"), ("hardware_type", "u1"), ("device_id", "<u2"), ("session_id", "<u4"),
    ("upper_device_id", "<u2"), ("logging_start", "<u4"), ("logging_end", "<u4"), ("capacity", "<u4"),
    ("reserved1", "u1"), ("flash_led", "u1"), ("reserved2", "V8"), ("sensor_config", "u1"), ("rate_code", "u1"),
    ("last_change", "<u4"), ("firmware", "u1"), ("time_zone", "<i2"), ("reserved3", "V20"),
    ("annotation", "V448"), ("reserved4", "V512"),
])  # fmt: skip
BLOCK_DTYPE = np.dtype([
    ("header", "<u2"), ("length", "<u2"), ("device_fractional", "<u2"), ("session_id", "<u4"),
    ("sequence_id", "<u4"), ("timestamp", "<u4"), ("light", "<u2"), ("temperature", "<u2"), ("events", "u1"),
    ("battery", "u1"), ("rate_code", "u1"), ("axes_bps", "u1"), ("timestamp_offset", "<i2"),
    ("sample_count", "<u2"), ("samples", "V480"), ("checksum", "<u2"),
])  # fmt: skip
assert HEADER_DTYPE.itemsize == HEADER_BYTES and BLOCK_DTYPE.itemsize == BLOCK_BYTES

_MD = 0x444D  # "MD"
_AX = 0x5841  # "AX"
#: axes/format byte -> (axes, bytes per sample)
_FORMATS = {0x30: (3, 4), 0x32: (3, 6), 0x62: (6, 12), 0x92: (9, 18)}
_AX6_HARDWARE = {0x64}


def rate_from_code(code: np.ndarray | int) -> np.ndarray:
    """Sample rate (Hz) from the rate code: 3200 / 2^(15 − (code & 15))."""
    c = np.asarray(code, dtype=np.int64)
    return np.asarray(3200.0 / np.left_shift(1, 15 - (c & 15)), dtype=np.float64)


def range_from_code(code: np.ndarray | int) -> np.ndarray:
    """Accelerometer range (± g) from the rate code: 16 >> (code >> 6)."""
    c = np.asarray(code, dtype=np.int64)
    return np.asarray(np.right_shift(16, (c >> 6) & 3), dtype=np.float64)


def _days_from_civil(y: np.ndarray, m: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 of a proleptic Gregorian date (vectorised; Hinnant's algorithm)."""
    y = y - (m <= 2)
    era = np.floor_divide(y, 400)
    yoe = y - era * 400
    mp = (m + 9) % 12
    doy = (153 * mp + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return np.asarray(era * 146097 + doe - 719468, dtype=np.int64)


def unpack_timestamp(ts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Packed CWA timestamps to device-local seconds since 1970 (as if UTC) and a validity mask."""
    t = np.asarray(ts, dtype=np.int64)
    year = ((t >> 26) & 0x3F) + 2000
    month = (t >> 22) & 0x0F
    day = (t >> 17) & 0x1F
    hour = (t >> 12) & 0x1F
    minute = (t >> 6) & 0x3F
    sec = t & 0x3F
    ok = (month >= 1) & (month <= 12) & (day >= 1) & (day <= 31) & (hour < 24) & (minute < 60) & (sec < 60)
    days = _days_from_civil(year, np.clip(month, 1, 12), np.clip(day, 1, 31))
    return days * 86400 + hour * 3600 + minute * 60 + sec, ok


def pack_timestamp(local_s: np.ndarray) -> np.ndarray:
    """Device-local whole seconds since 1970 to the packed CWA timestamp (years 2000-2063)."""
    dt = pd.DatetimeIndex(np.asarray(local_s, dtype=np.int64).astype("datetime64[s]"))
    y = dt.year.to_numpy(np.int64) - 2000
    if (y < 0).any() or (y > 63).any():
        raise ValueError("CWA timestamps hold years 2000-2063 only")
    return np.asarray(
        (y << 26) | (dt.month.to_numpy(np.int64) << 22) | (dt.day.to_numpy(np.int64) << 17)
        | (dt.hour.to_numpy(np.int64) << 12) | (dt.minute.to_numpy(np.int64) << 6) | dt.second.to_numpy(np.int64)
    ).astype(np.uint32)


@dataclass
class _Blocks:
    """Valid data blocks of one read, as arrays (one row per block)."""

    index: np.ndarray  # block number in the file (0 = first data block)
    seq: np.ndarray  # sequence id
    start_ns: np.ndarray  # device-local time of the first sample, ns
    fs: np.ndarray  # nominal rate of the block, Hz
    count: np.ndarray  # samples in the block
    xyz: np.ndarray  # (n, 120, 3) float32 g (rows beyond count are zero)
    temp: np.ndarray  # °C

    def __len__(self) -> int:
        return int(self.index.size)

    def take(self, sel: slice | np.ndarray) -> _Blocks:
        return _Blocks(*(getattr(self, f)[sel] for f in self.__dataclass_fields__))

    @staticmethod
    def concat(a: _Blocks, b: _Blocks) -> _Blocks:
        return _Blocks(*(np.concatenate([getattr(a, f), getattr(b, f)]) for f in _Blocks.__dataclass_fields__))


def _empty_blocks() -> _Blocks:
    return _Blocks(np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0),
                   np.empty(0, np.int64), np.empty((0, 120, 3), np.float32), np.empty(0, np.float32))


def decode_blocks(raw: np.ndarray | bytes, first_index: int = 0) -> tuple[_Blocks, list[tuple[int, str]]]:
    """Decode data sectors (vectorised).

    Parameters
    ----------
    raw : numpy.ndarray or bytes
        ``n × 512`` bytes of data blocks.
    first_index : int
        Block number of the first one (for reports).

    Returns
    -------
    tuple
        The valid blocks (:class:`_Blocks`: local start time in ns, nominal rate in Hz, samples in g,
        temperature in °C) and a list of ``(block number, reason)`` for bad blocks.
    """
    buf = np.frombuffer(raw, dtype=np.uint8) if isinstance(raw, bytes | bytearray | memoryview) else raw
    n = buf.size // BLOCK_BYTES
    buf = buf[: n * BLOCK_BYTES]
    if n == 0:
        return _empty_blocks(), []
    b = buf.view(BLOCK_DTYPE)
    words = buf.view("<u2").reshape(n, 256)
    is_ax = b["header"] == _AX
    bad: list[tuple[int, str]] = []
    checksum_ok = (words.sum(axis=1, dtype=np.uint64) & 0xFFFF) == 0
    fmt = b["axes_bps"]
    known_fmt = np.isin(fmt, np.fromiter(_FORMATS, np.uint8))
    cap = np.zeros(n, np.int64)
    for code, (_axes, bps) in _FORMATS.items():
        cap[fmt == code] = 480 // bps
    count = b["sample_count"].astype(np.int64)
    sec, time_ok = unpack_timestamp(b["timestamp"])
    rate = b["rate_code"]
    rate_ok = (rate & 15) >= 4  # 0.39 Hz and faster: lower codes are not used by any firmware
    reasons = [
        (~(b["length"] == 508), "packet length is not 508"),
        (~checksum_ok, "checksum error"),
        (~known_fmt, "unknown sample format byte"),
        ((count == 0) | (count > cap), "sample count does not fit the block"),
        (~time_ok, "impossible timestamp"),
        (~rate_ok, "unknown rate code"),
    ]
    valid = is_ax.copy()
    for mask, why in reasons:
        hit = is_ax & valid & mask
        if hit.any():
            bad.extend((first_index + int(i), why) for i in np.flatnonzero(hit))
            valid &= ~mask
    idx = np.flatnonzero(valid)
    if idx.size == 0:
        return _empty_blocks(), bad
    b = b[idx]
    bb = buf.reshape(n, BLOCK_BYTES)[idx]
    sec, count, cap, fmt = sec[idx], count[idx], cap[idx], fmt[idx]
    fs = rate_from_code(b["rate_code"])
    frac_raw = b["device_fractional"].astype(np.int64)
    has_frac = (frac_raw & 0x8000) != 0
    frac = np.where(has_frac, (frac_raw & 0x7FFF) << 1, 0)  # 1/65536 s
    off = b["timestamp_offset"].astype(np.int64) + np.where(has_frac, np.floor(frac * fs / 65536.0), 0).astype(np.int64)
    start_ns = sec * 1_000_000_000 + np.rint((frac / 65536.0 - off / fs) * 1e9).astype(np.int64)
    xyz = np.zeros((idx.size, 120, 3), np.float32)
    data = np.ascontiguousarray(bb[:, 30:510])
    for code, (axes, bps) in _FORMATS.items():
        sel = np.flatnonzero(fmt == code)
        if sel.size == 0:
            continue
        if code == 0x30:
            _unpack_packed(data if sel.size == idx.size else data[sel], xyz, None if sel.size == idx.size else sel)
        else:
            k = 480 // bps
            v = data[sel].view("<i2").reshape(sel.size, 240)[:, : k * axes].reshape(sel.size, k, axes)
            acc = v[:, :, 0:3] if axes == 3 else v[:, :, 3:6]
            unit = np.left_shift(1, 8 + ((b["light"][sel].astype(np.int64) >> 13) & 7)).astype(np.float32)
            xyz[sel, :k] = acc.astype(np.float32) / unit[:, None, None]
    if (count < 120).any():
        xyz[np.arange(120)[None, :] >= count[:, None]] = 0.0
    temp = ((b["temperature"] & 0x3FF).astype(np.float32) * np.float32(75.0 / 256.0) - np.float32(50.0))
    out = _Blocks(first_index + idx.astype(np.int64), b["sequence_id"].astype(np.int64), start_ns, fs, count, xyz, temp)
    return out, bad


_PACKED_SCALE = np.array([1.0, 2.0, 4.0, 8.0], np.float32) / np.float32(256.0)  #: 2^e / 256 g, by exponent e


def _unpack_packed(data: np.ndarray, xyz: np.ndarray, sel: np.ndarray | None) -> None:
    """Packed words (``k × 480`` bytes) into ``xyz[sel]`` (g): 10-bit fields sign-extended by int32 shifts."""
    w = data.view("<i4")  # (k, 120)
    scale = _PACKED_SCALE[(w.view("<u4") >> 30).astype(np.intp)]
    out = xyz if sel is None else np.empty((w.shape[0], 120, 3), np.float32)
    for j, shift in enumerate((0, 10, 20)):  # a · 2^e / 256 is exact in float32
        np.multiply((np.left_shift(w, 22 - shift) >> 22).astype(np.float32), scale, out=out[:, :, j])
    if sel is not None:
        xyz[sel] = out


def _sample_times(blk: _Blocks, next_start: np.ndarray, next_seq: np.ndarray) -> np.ndarray:
    """(n, 120) device-local sample times in ns: spread to the next block when it follows, else nominal."""
    nominal = blk.count / blk.fs * 1e9
    dur = (next_start - blk.start_ns).astype(np.float64)
    follows = (next_seq == blk.seq + 1) & (dur > 0.5 * nominal) & (dur < 1.5 * nominal)
    dur = np.where(follows, dur, nominal)
    k = np.arange(120, dtype=np.float64)[None, :]
    return np.asarray(blk.start_ns[:, None] + np.rint(k * (dur / blk.count)[:, None]).astype(np.int64), dtype=np.int64)


def read_header(path: str | os.PathLike[str]) -> dict[str, object]:
    """Decode the 1024-byte metadata header.

    Returns
    -------
    dict
        ``model`` (``"AX3"``/``"AX6"``), ``hardware_type``, ``serial`` (device id), ``session_id``,
        ``sample_rate_hz``, ``range_g``, ``firmware``, ``time_zone_min`` (None when unknown).

    Raises
    ------
    CorruptFileError
        Empty or shorter than the header.
    UnsupportedFormatError
        Not a .cwa file (the message says what it looks like).
    """
    path = os.fspath(path)
    with open(path, "rb") as fh:
        head = fh.read(HEADER_BYTES)
    if not head:
        raise CorruptFileError("the file is empty (0 bytes)", path=path, offset=0, hint=export_hint("cwa"))
    if head[:2] != b"MD":
        raise UnsupportedFormatError(
            f"this is not an Axivity .cwa file: it looks like {describe_content(head)}", path=path,
            hint=export_hint("cwa"),
        )
    if len(head) < HEADER_BYTES:
        raise CorruptFileError(
            f"the file ends at byte {len(head)}, inside the 1024-byte metadata header", path=path,
            offset=len(head), hint="The download was cut short; download the .cwa again",
        )
    h = np.frombuffer(head, HEADER_DTYPE)[0]
    hw = int(h["hardware_type"])
    upper = int(h["upper_device_id"])
    dev = int(h["device_id"]) | ((upper << 16) if upper != 0xFFFF else 0)
    tzm = int(h["time_zone"])
    return {
        "model": "AX6" if hw in _AX6_HARDWARE else "AX3", "hardware_type": hw, "serial": str(dev),
        "session_id": int(h["session_id"]), "sample_rate_hz": float(rate_from_code(int(h["rate_code"]))),
        "range_g": float(range_from_code(int(h["rate_code"]))), "firmware": int(h["firmware"]),
        "time_zone_min": None if tzm in (-1, 0x7FFF) or abs(tzm) > 16 * 60 else tzm,
    }


def _probe(path: str, n_blocks: int, *, runs: int = 24, run_blocks: int = 16) -> _Blocks:
    """Valid blocks from evenly spaced places in the file (for the first time and the vertical axis)."""
    starts = np.unique(np.linspace(0, max(0, n_blocks - run_blocks), runs).astype(np.int64))
    parts = []
    with open(path, "rb") as fh:
        for s in starts:
            fh.seek(HEADER_BYTES + int(s) * BLOCK_BYTES)
            raw = fh.read(run_blocks * BLOCK_BYTES)
            blk, _ = decode_blocks(np.frombuffer(raw, np.uint8), int(s))
            if len(blk):
                parts.append(blk)
    out = _empty_blocks()
    for p in parts:
        out = _Blocks.concat(out, p)
    return out


def open_cwa(
    path: str | os.PathLike[str],
    *,
    tz: str | None = None,
    vertical_axis: str | None = None,
    units: str = "g",
    chunk_blocks: int = CHUNK_BLOCKS,
) -> RecordingSource:
    """Open an Axivity .cwa file for chunked reading (bounded memory, any length).

    Parameters
    ----------
    path : str or os.PathLike
        The .cwa file.
    tz : str, optional
        IANA zone the device clock was set in (default: the header's offset, else this computer's zone).
    vertical_axis : str, optional
        ``"+x"``, ``"-y"``...; by default the axis carrying gravity at rest, detected from samples
        spread over the file (a note says so).
    units : str
        Ignored (the file holds g); present for the common reader signature.
    chunk_blocks : int
        Blocks per chunk (120 samples each when packed).

    Returns
    -------
    RecordingSource
        ``meta.device == "axivity"``; chunks carry ``x, y, z`` (g) and ``temperature_c`` (°C).
        ``extra["cwa"]`` (filled as the file is read) has ``blocks``, ``bad_blocks`` and their list.

    Raises
    ------
    CorruptFileError
        Empty, truncated inside the header, or no readable data block.
    UnsupportedFormatError
        Not a .cwa file.

    Warns
    -----
    DataQualityWarning
        Bad blocks skipped (with their numbers and byte offsets), a truncated last block.
    """
    path = os.fspath(path)
    info = read_header(path)
    size = os.path.getsize(path)
    n_blocks = (size - HEADER_BYTES) // BLOCK_BYTES
    tail = (size - HEADER_BYTES) % BLOCK_BYTES
    if n_blocks <= 0:
        raise CorruptFileError(
            "the file has a header but no data blocks", path=path, offset=HEADER_BYTES,
            hint="The device recorded nothing, or the download was cut short; download the .cwa again",
        )
    probe = _probe(path, n_blocks)
    if not len(probe):
        with open(path, "rb") as fh:
            fh.seek(HEADER_BYTES)
            first = np.frombuffer(fh.read(BLOCK_BYTES).ljust(BLOCK_BYTES, b"\0"), BLOCK_DTYPE)[0]
        words = np.frombuffer(first.tobytes(), "<u2")
        if (first["header"] == _AX and int(words.sum(dtype=np.uint64)) & 0xFFFF == 0
                and int(first["axes_bps"]) not in _FORMATS):
            raise UnsupportedFormatError(
                f"the data blocks use sample format 0x{int(first['axes_bps']):02x}, which impactlab does not decode "
                f"(known: {', '.join(f'0x{k:02x}' for k in _FORMATS)}); the device firmware may be newer", path=path,
                hint="Export the recording to CSV (time,x,y,z in g) with OmGui",
            )
        raise CorruptFileError(
            f"none of the sampled data blocks is readable (first at byte {HEADER_BYTES})", path=path,
            offset=HEADER_BYTES, block=0, hint="The file is damaged; download the .cwa again",
        )
    notes: list[str] = []
    zone, off_ns = clock_offset(tz, info["time_zone_min"], int(probe.start_ns[0]), path, notes)  # type: ignore[arg-type]
    fs = float(probe.fs[0])
    rng = float(info["range_g"])  # type: ignore[arg-type]
    if vertical_axis is None:
        mask = np.arange(120)[None, :] < probe.count[:, None]
        vertical_axis, note = detect_vertical_axis(probe.xyz[mask], fs)
        notes.append(f"{path}: {note}")
    meta = RecordingMeta(
        source=path, device="axivity", sample_rate_hz=fs, timezone=zone, vertical_axis=vertical_axis,
        range_g=rng, serial=str(info["serial"]),
        extra={"model": info["model"], "firmware": info["firmware"], "session_id": info["session_id"]},
    )
    report: dict[str, object] = {"blocks": n_blocks, "bad_blocks": 0, "bad_block_list": [], "dropped_blocks": 0}

    def _warn_bad(bad: list[tuple[int, str]]) -> None:
        if not bad:
            return
        lst = report["bad_block_list"]
        assert isinstance(lst, list)
        lst.extend({"block": i, "offset": HEADER_BYTES + i * BLOCK_BYTES, "reason": r} for i, r in bad[:1000 - len(lst)])
        report["bad_blocks"] = int(report["bad_blocks"]) + len(bad)  # type: ignore[call-overload]
        first = ", ".join(f"{i} (byte {HEADER_BYTES + i * BLOCK_BYTES}: {r})" for i, r in bad[:5])
        more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
        quality_note(f"{path}: skipped {len(bad)} bad data block(s): {first}{more}; their samples are a gap, "
                     "not filled", [], stacklevel=4)

    def _emit(blk: _Blocks, next_start: np.ndarray, next_seq: np.ndarray, last_ns: int | None) -> tuple[Recording | None, int | None]:
        t = _sample_times(blk, next_start, next_seq)
        first = t[:, 0]
        end = t[np.arange(len(blk)), blk.count - 1]
        prev = np.maximum.accumulate(np.r_[last_ns if last_ns is not None else np.iinfo(np.int64).min, end[:-1]])
        keep = first > prev
        if not keep.all():
            drop = np.flatnonzero(~keep)
            report["dropped_blocks"] = int(report["dropped_blocks"]) + drop.size  # type: ignore[call-overload]
            _warn_bad([(int(blk.index[i]), "time is not later than the block before (clock set back)") for i in drop])
            blk, t = blk.take(keep), t[keep]
            if not len(blk):
                return None, last_ns
        c = int(blk.count[0])
        if (blk.count == c).all():  # the usual case, every block full: slices, no mask
            t_ns, xyz = t[:, :c].reshape(-1) - off_ns, blk.xyz[:, :c].reshape(-1, 3)
        else:
            mask = np.arange(120)[None, :] < blk.count[:, None]
            t_ns = t[mask] - off_ns
            xyz = blk.xyz[mask]
        temp = np.repeat(blk.temp, blk.count)
        rec = make_chunk(t_ns, xyz, meta, first_line=int(blk.index[0]), extra={"temperature_c": temp})
        return rec, int(t[-1][blk.count[-1] - 1])

    def chunks() -> Iterator[Recording]:
        report.update(bad_blocks=0, bad_block_list=[], dropped_blocks=0)
        carry: _Blocks | None = None
        last_ns: int | None = None
        with open(path, "rb") as fh:
            fh.seek(HEADER_BYTES)
            index = 0
            while True:
                raw = fh.read(chunk_blocks * BLOCK_BYTES)
                nb = len(raw) // BLOCK_BYTES
                if nb:
                    blk, bad = decode_blocks(np.frombuffer(raw, np.uint8, count=nb * BLOCK_BYTES), index)
                    _warn_bad(bad)
                    index += nb
                    if carry is not None and len(carry):
                        blk = _Blocks.concat(carry, blk)
                    if len(blk) > 1:
                        body = blk.take(slice(0, len(blk) - 1))
                        rec, last_ns = _emit(body, blk.start_ns[1:], blk.seq[1:], last_ns)
                        if rec is not None:
                            yield rec
                        carry = blk.take(slice(len(blk) - 1, None))
                    else:
                        carry = blk
                if len(raw) < chunk_blocks * BLOCK_BYTES:
                    break
        if tail:
            quality_note(f"{path}: the file ends inside a data block (the last {tail} bytes from byte "
                         f"{HEADER_BYTES + n_blocks * BLOCK_BYTES}); that block is ignored", [], stacklevel=3)
        if carry is not None and len(carry):
            rec, last_ns = _emit(carry, np.array([0]), np.array([-1]), last_ns)
            if rec is not None:
                yield rec
        if last_ns is None:
            raise CorruptFileError("no data block is readable", path=path, offset=HEADER_BYTES, block=0,
                                   hint="The file is damaged; download the .cwa again")

    if tail:
        notes.append(f"{path}: the file ends inside a data block (byte {HEADER_BYTES + n_blocks * BLOCK_BYTES}); "
                     "the download may have been cut short")
    return RecordingSource(meta=meta, chunks=chunks, n_rows_hint=n_blocks * int(probe.count.max()), notes=notes,
                           extra={"cwa": report})


def read_cwa(path: str | os.PathLike[str], *, tz: str | None = None, vertical_axis: str | None = None) -> Recording:
    """Read a whole .cwa file into memory (see :func:`open_cwa`).

    Examples
    --------
    >>> rec = read_cwa("../shared/data/skdh/ax3_sample.cwa", tz="UTC")  # doctest: +SKIP
    >>> len(rec), rec.meta.sample_rate_hz  # doctest: +SKIP
    (58800, 200.0)
    """
    return open_cwa(path, tz=tz, vertical_axis=vertical_axis).read()


# -- encoder (tests, benchmarks, simulated files) ------------------------------------------------------


class CwaWriter:
    """Write a .cwa file block by block from Recording chunks (bounded memory).

    Parameters
    ----------
    path : str or os.PathLike
        Output file.
    sample_rate_hz : float
        One of the AX3 rates 3200 / 2^k (12.5, 25, 50, 100, 200, 400... Hz).
    range_g : {2, 4, 8, 16}
        Accelerometer range written in the rate code.
    packed : bool
        ``True``: 120 samples per block in the packed 10-bit format (1/256 g units, values beyond
        ±2 g lose low bits as the device's own packing does); ``False``: 80 int16 samples per block.
    device_id, session_id : int
        Written to the header and the blocks.
    time_zone_min : int or None
        UTC offset (minutes) written to the header; ``None`` writes "unknown".

    Notes
    -----
    Times are written as device-local wall-clock times in the recording's zone, with a fractional
    second (1/32768 s) per block; a new block starts after each gap longer than 1.5 sample periods.
    """

    def __init__(
        self, path: str | os.PathLike[str], *, sample_rate_hz: float, range_g: float = 8.0, packed: bool = True,
        device_id: int = 12345, session_id: int = 1, time_zone_min: int | None = None,
    ) -> None:
        code_lo = int(round(15 - np.log2(3200.0 / sample_rate_hz)))
        if not 4 <= code_lo <= 15 or abs(float(rate_from_code(code_lo)) - sample_rate_hz) > 1e-9:
            raise ValueError(f"{sample_rate_hz} Hz is not a CWA rate (3200 / 2^k Hz)")
        code_hi = {16: 0, 8: 1, 4: 2, 2: 3}[int(range_g)]
        self.rate_code = (code_hi << 6) | code_lo
        self.fs = float(sample_rate_hz)
        self.packed = packed
        self.per_block = 120 if packed else 80
        self.session_id = session_id
        self.seq = 0
        self.fh = open(path, "wb")
        hdr = np.zeros(1, HEADER_DTYPE)
        hdr_bytes = hdr.view(np.uint8)
        hdr_bytes[:] = 0xFF
        hdr["header"], hdr["length"], hdr["hardware_type"] = _MD, 0x3FC, 0x00
        hdr["device_id"], hdr["upper_device_id"] = device_id & 0xFFFF, (device_id >> 16) & 0xFFFF
        hdr["session_id"], hdr["rate_code"], hdr["firmware"] = session_id, self.rate_code, 45
        hdr["time_zone"] = -1 if time_zone_min is None else time_zone_min
        self.fh.write(hdr.tobytes())
        self._pend_t = np.empty(0, np.int64)
        self._pend_xyz = np.empty((0, 3), np.float32)

    def write(self, rec: Recording) -> None:
        """Append the samples of ``rec`` (later than those already written)."""
        data = rec.data
        local = data.index.tz_convert(rec.meta.timezone).tz_localize(None).as_unit("ns").asi8
        xyz = data[["x", "y", "z"]].to_numpy(np.float32)
        t = np.concatenate([self._pend_t, local])
        v = np.concatenate([self._pend_xyz, xyz])
        runs = np.flatnonzero(np.diff(t) > 1.5e9 / self.fs) + 1
        bounds = np.r_[0, runs, t.size]
        firsts: list[np.ndarray] = []
        for a, b in itertools.pairwise(bounds):
            starts = np.arange(a, b, self.per_block)
            firsts.append(starts)
        starts = np.concatenate(firsts) if firsts else np.empty(0, np.int64)
        ends = np.minimum(starts + self.per_block, np.repeat(bounds[1:], [len(f) for f in firsts]))
        # keep an incomplete last block of the final run for the next call
        if starts.size and ends[-1] - starts[-1] < self.per_block:
            self._pend_t, self._pend_xyz = t[starts[-1]:], v[starts[-1]:]
            starts, ends = starts[:-1], ends[:-1]
        else:
            self._pend_t, self._pend_xyz = np.empty(0, np.int64), np.empty((0, 3), np.float32)
        self._blocks(t, v, starts, ends)

    def close(self) -> None:
        """Write the pending samples and close the file."""
        if self._pend_t.size:
            self._blocks(self._pend_t, self._pend_xyz, np.array([0]), np.array([self._pend_t.size]))
            self._pend_t = np.empty(0, np.int64)
        self.fh.close()

    def __enter__(self) -> CwaWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _blocks(self, t: np.ndarray, v: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> None:
        nb = starts.size
        if nb == 0:
            return
        count = (ends - starts).astype(np.int64)
        blk = np.zeros(nb, BLOCK_DTYPE)
        raw = blk.view(np.uint8).reshape(nb, BLOCK_BYTES)
        t0 = t[starts]
        sec = np.floor_divide(t0, 1_000_000_000)
        frac15 = ((t0 - sec * 1_000_000_000) * 32768) // 1_000_000_000
        frac16 = frac15 << 1
        blk["header"], blk["length"] = _AX, 508
        blk["device_fractional"] = (0x8000 | frac15).astype(np.uint16)
        blk["session_id"], blk["sequence_id"] = self.session_id, self.seq + np.arange(nb)
        blk["timestamp"] = pack_timestamp(sec)
        blk["temperature"] = 256  # 25 °C
        blk["battery"], blk["rate_code"] = 200, self.rate_code
        blk["axes_bps"] = 0x30 if self.packed else 0x32
        blk["timestamp_offset"] = -np.floor(frac16 * self.fs / 65536.0).astype(np.int64)
        blk["sample_count"] = count
        k = np.arange(self.per_block)[None, :]
        take = np.minimum(starts[:, None] + k, ends[:, None] - 1)
        valid = k < count[:, None]
        units = np.rint(v[take].astype(np.float64) * 256.0).astype(np.int64)  # (nb, per_block, 3)
        units[~valid] = 0
        if self.packed:
            e = np.zeros(units.shape[:2], np.int64)
            peak = np.abs(units).max(axis=2)
            for shift in (1, 2, 3):
                e = np.where(peak > (511 << (shift - 1)), shift, e)
            q = np.clip(units >> e[:, :, None], -512, 511) & 0x3FF
            word = (q[:, :, 0] | (q[:, :, 1] << 10) | (q[:, :, 2] << 20) | (e << 30)).astype(np.uint32)
            raw[:, 30:510] = word.view(np.uint8).reshape(nb, 480)
        else:
            raw[:, 30:510] = np.clip(units, -32768, 32767).astype("<i2").view(np.uint8).reshape(nb, 480)
        words = raw.view("<u2")
        s = words[:, :255].sum(axis=1, dtype=np.uint64)
        blk["checksum"] = ((0x10000 - (s & 0xFFFF)) & 0xFFFF).astype(np.uint16)
        self.fh.write(blk.tobytes())
        self.seq += nb


def write_cwa(
    path: str | os.PathLike[str], recording: Recording | Iterable[Recording], *, packed: bool = True,
    range_g: float | None = None, device_id: int = 12345, session_id: int = 1,
) -> str:
    """Write a recording (or its chunks, in time order) as an Axivity .cwa file.

    Parameters
    ----------
    path : str or os.PathLike
        Output file.
    recording : Recording or iterable of Recording
        Samples at a CWA rate (3200 / 2^k Hz), in g.
    packed : bool
        Packed 10-bit format (default, 120 samples per block) or int16 (80 per block).
    range_g : float, optional
        Written range (default the recording's, else 8 g).
    device_id, session_id : int
        Written to the header and blocks.

    Returns
    -------
    str
        The path written.

    Examples
    --------
    >>> from impactlab.simulate import simulate_recording
    >>> rec = simulate_recording(duration_s=60, fs=100, tz="UTC", seed=0)
    >>> import tempfile, os
    >>> p = write_cwa(os.path.join(tempfile.mkdtemp(), "sim.cwa"), rec)
    >>> len(read_cwa(p, tz="UTC"))
    6000
    """
    parts = iter([recording]) if isinstance(recording, Recording) else iter(recording)
    writer: CwaWriter | None = None
    try:
        for rec in parts:
            if writer is None:
                rg = range_g or rec.meta.range_g or 8.0
                rg = min((r for r in (2, 4, 8, 16) if r >= rg), default=16)
                first = rec.data.index[0]
                off = first.tz_convert(rec.meta.timezone).utcoffset()
                writer = CwaWriter(path, sample_rate_hz=rec.meta.sample_rate_hz, range_g=rg, packed=packed,
                                   device_id=device_id, session_id=session_id,
                                   time_zone_min=int(off.total_seconds() // 60) if off is not None else None)
            writer.write(rec)
    finally:
        if writer is not None:
            writer.close()
    if writer is None:
        raise ValueError("no samples to write")
    return os.fspath(path)
