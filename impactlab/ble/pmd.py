"""Polar Measurement Data (PMD) accelerometer frames and control-point replies, per Polar's SDK.

Facts (not code) from Polar's public BLE SDK, ``polarofficial/polar-ble-sdk``:
``sources/Android/.../pmd/model/AccData.kt`` (frame types and units),
``.../pmd/PmdDataFrame.kt`` (header layout), ``.../pmd/BlePMDClient.kt`` (delta blocks,
LSB-first bit packing; control-point ops and status codes), ``.../pmd/PmdSetting.kt`` (setting
ids and widths), and its unit test ``AccDataTest.kt`` whose vectors are in
``tests/ble/data/polar_sdk_acc_vectors.json``.

Frame: ``measurement type u8 | timestamp u64 LE (ns since 2000-01-01, of the last sample) |
frame type u8 | payload``. Bit 7 of the frame type marks a compressed (delta) frame.

Units, as the SDK converts them to mG:

========  ============================  ==========================
frame     payload                       g per count
========  ============================  ==========================
``0x00``  raw int8 x, y, z              0.001 (counts are mG)
``0x01``  raw int16 x, y, z             0.001
``0x02``  raw int24 x, y, z             0.001
``0x80``  16-bit ref + delta blocks     FACTOR (counts are in units of FACTOR g)
``0x81``  16-bit ref + delta blocks     FACTOR / 1000 (FACTOR mG per count)
========  ============================  ==========================

FACTOR is the float32 setting (id 5) that the sensor returns in its START response.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

from .decode import DecodeError

__all__ = [
    "PMD_EPOCH_UNIX_NS",
    "PMD_STATUS",
    "AccFrame",
    "ControlResponse",
    "decode_acc_frame",
    "parse_control_response",
    "parse_settings",
    "sample_times_ns",
]

#: 2000-01-01T00:00:00Z in ns since the Unix epoch (PMD timestamps count from here).
PMD_EPOCH_UNIX_NS = 946_684_800 * 10**9

#: Control-point status codes (BlePMDClient / PmdControlPointResponse).
PMD_STATUS = {
    0: "success", 1: "invalid op code", 2: "invalid measurement type", 3: "not supported",
    4: "invalid length", 5: "invalid parameter", 6: "already in state", 7: "invalid resolution",
    8: "invalid sample rate", 9: "invalid range", 10: "invalid MTU", 11: "invalid number of channels",
    12: "invalid state", 13: "device in charger",
}

# setting id -> (name, bytes per value); PmdSetting: 0 SAMPLE_RATE, 1 RESOLUTION, 2 RANGE,
# 3 RANGE_MILLIUNIT, 4 CHANNELS, 5 FACTOR (float32).
_SETTINGS = {0: ("sample_rate", 2), 1: ("resolution", 2), 2: ("range", 2),
             3: ("range_milliunit", 4), 4: ("channels", 1), 5: ("factor", 4)}

_HEADER = 10
_RAW_WIDTH = {0x00: 1, 0x01: 2, 0x02: 3}


@dataclass(frozen=True, slots=True)
class AccFrame:
    """One decoded ACC frame.

    Attributes
    ----------
    timestamp_ns : int
        Device time of the last sample, ns since 2000-01-01.
    frame_type : int
        The frame-type byte (``0x00``-``0x02`` raw, ``0x80``/``0x81`` delta).
    counts : numpy.ndarray
        ``(n, 3)`` int64 raw values as sent.
    g : numpy.ndarray
        ``(n, 3)`` float64 acceleration in g (counts times the frame type's scale).
    """

    timestamp_ns: int
    frame_type: int
    counts: np.ndarray
    g: np.ndarray


def _signed(values: np.ndarray, bits: int) -> np.ndarray:
    out: np.ndarray = values - (values >= (1 << (bits - 1))) * (1 << bits)
    return out


def _delta_blocks(body: bytes, where: str) -> np.ndarray:
    """Reference sample (3 × int16) then blocks ``bits u8, count u8, 3·count·bits packed bits``."""
    if len(body) < 6:
        raise DecodeError(f"{where}: delta frame without its 6-byte reference sample."
                          f" The notification is truncated; it is skipped.")
    ref = np.frombuffer(body[:6], "<i2").astype(np.int64)
    parts = [ref[None, :]]
    pos = 6
    while pos < len(body):
        if pos + 2 > len(body):
            raise DecodeError(f"{where}: delta block header truncated at payload byte {pos}."
                              f" The notification is truncated; it is skipped.")
        bits, count = body[pos], body[pos + 1]
        if not 1 <= bits <= 32 or count == 0:
            raise DecodeError(f"{where}: impossible delta block ({bits} bits, {count} samples) at payload byte {pos}."
                              f" The frame is corrupt; it is skipped.")
        nbytes = -(-bits * 3 * count // 8)
        pos += 2
        if pos + nbytes > len(body):
            raise DecodeError(f"{where}: delta block needs {nbytes} bytes, {len(body) - pos} left."
                              f" The notification is truncated; it is skipped.")
        raw = np.unpackbits(np.frombuffer(body[pos:pos + nbytes], np.uint8), bitorder="little")
        vals = raw[: bits * 3 * count].reshape(-1, bits).astype(np.int64) @ (np.int64(1) << np.arange(bits, dtype=np.int64))
        deltas = _signed(vals, bits).reshape(count, 3)
        parts.append(parts[-1][-1] + np.cumsum(deltas, axis=0))
        pos += nbytes
    return np.concatenate(parts)


def decode_acc_frame(data: bytes, factor: float | None, *, where: str = "PMD frame") -> AccFrame:
    """Decode one PMD ACC notification into counts and g.

    Parameters
    ----------
    data : bytes
        The whole notification on the PMD data characteristic.
    factor : float or None
        FACTOR from the START response; required for delta frames (``0x80``/``0x81``).
    where : str
        Names the packet in error messages (e.g. ``"raw.csv line 12"``).

    Raises
    ------
    DecodeError
        Shorter than the header, not ACC, unknown frame type, truncated payload, or a delta frame
        without a FACTOR (its scale would be a guess).
    """
    data = bytes(data)
    if len(data) < _HEADER:
        raise DecodeError(f"{where}: {len(data)} bytes is shorter than the {_HEADER}-byte PMD header."
                          f" The notification is truncated; it is skipped.")
    if data[0] != 2:
        raise DecodeError(f"{where}: measurement type {data[0]} is not ACC (2). Only ACC frames are read; it is skipped.")
    ts = int.from_bytes(data[1:9], "little")
    ft = data[9]
    body = data[_HEADER:]
    if ft in _RAW_WIDTH:
        w = _RAW_WIDTH[ft]
        if not body or len(body) % (3 * w):
            raise DecodeError(f"{where}: raw payload of {len(body)} bytes is not whole {3 * w}-byte samples."
                              f" The notification is truncated; it is skipped.")
        b = np.frombuffer(body, np.uint8).reshape(-1, w).astype(np.int64)
        vals = b @ (np.int64(1) << (8 * np.arange(w, dtype=np.int64)))
        counts = _signed(vals, 8 * w).reshape(-1, 3)
        scale = 1e-3
    elif ft in (0x80, 0x81):
        if factor is None:
            raise DecodeError(f"{where}: compressed frame 0x{ft:02x} but no FACTOR is known (no START response seen)."
                              f" Record the control-point exchange too; the frame is skipped.")
        counts = _delta_blocks(body, where)
        scale = float(factor) if ft == 0x80 else float(factor) * 1e-3
    else:
        raise DecodeError(f"{where}: unknown ACC frame type 0x{ft:02x}. Only 0x00-0x02 and 0x80/0x81 are defined; it is skipped.")
    return AccFrame(timestamp_ns=ts, frame_type=ft, counts=counts, g=counts * scale)


def sample_times_ns(frame_ts_ns: int, n: int, previous_ts_ns: int | None, sample_rate_hz: float) -> np.ndarray:
    """Sample times of one frame, ns since 2000-01-01 (the SDK's rule).

    The last sample is at the frame timestamp. With the previous frame's timestamp the spacing is
    ``(ts - previous) / n`` (this follows the device clock, so drift is corrected); without it the
    nominal ``1 / sample_rate_hz``. Times are rounded half to even, as the SDK does.
    """
    if previous_ts_ns is not None and frame_ts_ns > previous_ts_ns:
        dt = (frame_ts_ns - previous_ts_ns) / n
    else:
        dt = 1e9 / sample_rate_hz
    # ns since 2000 exceed float64's exact integers: round ``low - offset`` in float and add the
    # even ``base`` back (with an even base, half-to-even rounding is unchanged)
    base = frame_ts_ns - frame_ts_ns % (1 << 20)
    low = frame_ts_ns - base
    times: np.ndarray = base + np.rint(low - dt * np.arange(n - 1, -1, -1)).astype(np.int64)
    return times


def parse_settings(params: bytes, where: str = "PMD settings") -> dict[str, list[float]]:
    """Parse ``(setting id u8, count u8, count values)…`` into ``{name: [values]}``.

    Integer settings are unsigned little-endian; FACTOR is float32.
    """
    out: dict[str, list[float]] = {}
    pos = 0
    while pos < len(params):
        if pos + 2 > len(params):
            raise DecodeError(f"{where}: setting header truncated at byte {pos}. The control-point message is malformed.")
        sid, count = params[pos], params[pos + 1]
        if sid not in _SETTINGS:
            raise DecodeError(f"{where}: unknown setting id {sid} at byte {pos}. The control-point message is malformed.")
        name, width = _SETTINGS[sid]
        pos += 2
        end = pos + width * count
        if end > len(params):
            raise DecodeError(f"{where}: setting {name} needs {width * count} bytes, {len(params) - pos} left.")
        chunk = params[pos:end]
        if name == "factor":
            out[name] = [float(v) for v in struct.unpack(f"<{count}f", chunk)]
        else:
            out[name] = [float(int.from_bytes(chunk[i:i + width], "little")) for i in range(0, len(chunk), width)]
        pos = end
    return out


@dataclass(frozen=True, slots=True)
class ControlResponse:
    """A PMD control-point indication ``F0 op type status more params``."""

    op: int
    measurement_type: int
    status: int
    settings: dict[str, list[float]]

    @property
    def factor(self) -> float | None:
        """FACTOR setting (START responses), if present."""
        f = self.settings.get("factor")
        return f[0] if f else None


def parse_control_response(data: bytes, *, expect_op: int | None = None, expect_type: int | None = None,
                           where: str = "PMD control point") -> ControlResponse:
    """Parse a control-point indication; raise on an error status or a mismatched op/type.

    Raises
    ------
    DecodeError
        Not a response (first byte not 0xF0), too short, op code or measurement type not the
        ones requested, or a non-zero status (named, e.g. ``invalid sample rate``).
    """
    data = bytes(data)
    if len(data) < 4 or data[0] != 0xF0:
        raise DecodeError(f"{where}: {data.hex(' ')} is not a PMD control-point response (F0 op type status…).")
    op, mtype, status = data[1], data[2], data[3]
    if expect_op is not None and op != expect_op:
        raise DecodeError(f"{where}: response to op {op}, expected {expect_op}.")
    if expect_type is not None and mtype != expect_type:
        raise DecodeError(f"{where}: response for measurement type {mtype}, expected {expect_type}.")
    if status != 0:
        raise DecodeError(f"{where}: sensor refused op {op} for type {mtype}: status {status} ({PMD_STATUS.get(status, 'unknown')})."
                          f" Check the requested settings.")
    params = data[5:] if len(data) > 4 else b""
    return ControlResponse(op=op, measurement_type=mtype, status=status, settings=parse_settings(params, where))
