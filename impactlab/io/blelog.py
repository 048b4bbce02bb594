"""Raw BLE logs: CSV ``time,direction,uuid,hex``, decoded with a sensor profile.

One line per GATT write sent (``tx``) or notification/indication received (``rx``):

* ``time``: ISO-8601 with offset (host clock when the packet was sent/received);
* ``direction``: ``tx`` or ``rx``;
* ``uuid``: the characteristic UUID (any case, 16-bit short form allowed);
* ``hex``: the payload as hex, spaces allowed.

Lines starting with ``#`` and an optional header line ``time,direction,uuid,hex`` are skipped.
The format is documented in ``firmware_config/README.md``.

For the ``polar-pmd`` protocol the control-point exchange is taken from the log itself: the ACC
START request (``tx 02 02 …``) gives the sample rate, the START response (``rx F0 02 02 status
…``) gives the status and the FACTOR (:mod:`impactlab.ble.pmd`). Sample times follow the frame
timestamps (so drift is corrected) and are anchored to the log's host time at the first frame of
each stream (after each START); a run restarts, with a warning, when the device clock goes
backwards. A bad line (not hex, short frame, unknown frame type, error
status, delta frame without a FACTOR) gives one warning naming the line and is skipped.
"""

from __future__ import annotations

import csv
import os
import uuid as _uuid
import warnings
from collections.abc import Iterator

import numpy as np
import pandas as pd

from ..ble.decode import DecodeError
from ..ble.pmd import PMD_EPOCH_UNIX_NS, decode_acc_frame, parse_control_response, parse_settings, sample_times_ns
from ..ble.profile import SensorProfile, load_profile
from ..errors import DataQualityWarning, ReadError
from ..recording import Recording, RecordingMeta
from ._common import RecordingSource, clip, make_chunk

__all__ = ["is_ble_log", "open_ble_log"]

_HEADER = "time,direction,uuid,hex"
_BASE = "-0000-1000-8000-00805f9b34fb"


def is_ble_log(head: bytes, suffix: str) -> bool:
    """True when the first non-comment line is the ``time,direction,uuid,hex`` header."""
    for line in head[:4096].decode("utf-8", "replace").splitlines():
        s = line.strip()
        if s and not s.startswith("#"):
            return s.replace(" ", "").lower() == _HEADER
    return False


def _norm_uuid(u: str) -> str:
    u = u.strip().lower()
    if len(u) == 4:
        u = f"0000{u}{_BASE}"
    elif len(u) == 8:
        u = f"{u}{_BASE}"
    return str(_uuid.UUID(u))


def _warn(path: str, line: int, msg: str) -> None:
    warnings.warn(f"{path}, line {line}: {msg}", DataQualityWarning, stacklevel=3)


def _read_lines(path: str) -> Iterator[tuple[int, int, str, str, bytes]]:
    """Yield ``(line, host_time_ns, direction, uuid, payload)``; bad lines warn and are skipped."""
    with open(path, newline="", encoding="utf-8") as fh:
        for lineno, row in enumerate(csv.reader(fh), start=1):
            if not row or row[0].lstrip().startswith("#"):
                continue
            if ",".join(c.strip().lower() for c in row) == _HEADER:
                continue
            if len(row) != 4:
                _warn(path, lineno, f"{len(row)} fields, expected 4 (time,direction,uuid,hex); line skipped")
                continue
            t, d, u, h = (c.strip() for c in row)
            try:
                ts = pd.Timestamp(t)
                if ts.tzinfo is None:
                    raise ValueError("no UTC offset")
                t_ns = int(ts.value)
            except ValueError as e:
                _warn(path, lineno, f"time {clip(t)} is not ISO-8601 with an offset ({clip(e)[1:-1]}); line skipped")
                continue
            if d.lower() not in ("tx", "rx"):
                _warn(path, lineno, f"direction {clip(d)} is neither tx nor rx; line skipped")
                continue
            try:
                uu = _norm_uuid(u)
            except ValueError:
                _warn(path, lineno, f"{clip(u)} is not a UUID; line skipped")
                continue
            try:
                payload = bytes.fromhex(h)
            except ValueError:
                _warn(path, lineno, f"payload {clip(h)} is not hex; line skipped")
                continue
            yield lineno, t_ns, d.lower(), uu, payload


def _pmd_frames(path: str, profile: SensorProfile) -> tuple[list[tuple[np.ndarray, np.ndarray]], float | None]:
    """Decode a PMD log into ``[(t_unix_ns, g)]`` runs and the sample rate from the START request."""
    control = profile.char("control").uuid
    data = profile.char("stream").uuid
    acc = int(profile.options.get("measurement_type", 2))
    factor: float | None = None
    rate: float | None = None
    prev_dev: int | None = None
    offset: int | None = None          # host_unix_ns - device_unix_ns for the current run
    last_t: int | None = None
    out: list[tuple[np.ndarray, np.ndarray]] = []
    for lineno, host_ns, direction, uu, payload in _read_lines(path):
        where = f"{path}, line {lineno}"
        if uu == control and direction == "tx":
            if len(payload) >= 2 and payload[0] == 0x02 and payload[1] == acc:
                try:
                    rate = parse_settings(payload[2:], where).get("sample_rate", [rate or 0.0])[0] or rate
                except DecodeError as e:
                    _warn(path, lineno, str(e).removeprefix(where + ": "))
                factor = None            # a new START: the old FACTOR no longer holds
                prev_dev = None
            continue
        if uu == control and direction == "rx":
            if len(payload) >= 3 and payload[0] == 0xF0 and payload[1] == 0x02 and payload[2] == acc:
                try:
                    r = parse_control_response(payload, expect_op=2, expect_type=acc, where=where)
                    factor = r.factor
                    if factor is None:
                        _warn(path, lineno, "START response has no FACTOR; compressed frames until the next START are skipped")
                except DecodeError as e:
                    factor = None
                    _warn(path, lineno, str(e).removeprefix(where + ": ") + " Frames until the next START are skipped.")
            continue
        if uu != data or direction != "rx":
            continue
        try:
            f = decode_acc_frame(payload, factor, where=where)
        except DecodeError as e:
            _warn(path, lineno, str(e).removeprefix(where + ": "))
            continue
        if f.frame_type & 0x80 and factor is None:
            continue
        n = f.counts.shape[0]
        fs = rate or profile.sample_rate_hz
        dev_unix = PMD_EPOCH_UNIX_NS + f.timestamp_ns
        new_run = prev_dev is None or f.timestamp_ns <= prev_dev or offset is None
        if new_run and prev_dev is not None:
            _warn(path, lineno, "device clock went backwards; times restart from the host time of this packet")
        rel = sample_times_ns(f.timestamp_ns, n, None if new_run else prev_dev, fs)
        if new_run:
            offset = host_ns - dev_unix
        assert offset is not None
        t = rel + PMD_EPOCH_UNIX_NS + offset
        if last_t is not None and t[0] <= last_t:
            _warn(path, lineno, "frame overlaps the previous one in time; skipped")
            continue
        prev_dev = f.timestamp_ns
        last_t = int(t[-1])
        out.append((t, f.g))
    return out, rate


def open_ble_log(path: str | os.PathLike[str], *, profile: str, tz: str | None = None,
                 vertical_axis: str | None = None, **_: object) -> RecordingSource:
    """Open a raw BLE log decoded with ``profile`` (a shipped profile name or a TOML path).

    Parameters
    ----------
    path : str or os.PathLike
        The CSV log (``time,direction,uuid,hex``).
    profile : str
        Sensor profile; only ``protocol = "polar-pmd"`` logs are decoded so far.
    tz : str, optional
        IANA zone for the recording's index (default UTC: log times carry their own offset).
    vertical_axis : str, optional
        Overrides the profile's vertical axis.

    Raises
    ------
    ReadError
        The profile's protocol cannot be decoded from a log, or the log holds no ACC frame.
    """
    p = os.fspath(path)
    prof = load_profile(profile)
    if prof.protocol != "polar-pmd":
        raise ReadError(f"raw logs of protocol {prof.protocol!r} cannot be decoded yet", path=p,
                        hint="Use --profile polar-verity-sense, or sync the sensor and analyze the stored recording")
    runs, rate = _pmd_frames(p, prof)
    if not runs:
        raise ReadError("the log holds no decodable ACC frame", path=p,
                        hint="Check the --profile and that the log has rx lines on the PMD data characteristic")
    meta = RecordingMeta(source=p, device=f"ble:{prof.id}", sample_rate_hz=float(rate or prof.sample_rate_hz),
                         timezone=tz or "UTC", vertical_axis=vertical_axis or prof.vertical_axis,
                         range_g=prof.range_g, firmware_profile=prof.id)
    t = np.concatenate([r[0] for r in runs])
    g = np.concatenate([r[1] for r in runs])

    def chunks() -> Iterator[Recording]:
        yield make_chunk(t, g, meta, first_line=1, unit="row")

    return RecordingSource(meta=meta, chunks=chunks, n_rows_hint=int(t.size))
