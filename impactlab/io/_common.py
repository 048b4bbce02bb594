"""Helpers shared by the readers: sources, units, time zones, error location."""

from __future__ import annotations

import csv
import math
import os
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataError, DataQualityWarning, ReadError
from ..recording import Recording, RecordingMeta

STANDARD_GRAVITY = 9.80665  # m/s² per g


@dataclass
class RecordingSource:
    """A recording that can be read in chunks by time order (bounded memory).

    Attributes
    ----------
    meta : RecordingMeta
        Metadata known after reading the header.
    chunks : callable
        Returns an iterator of :class:`Recording` chunks, in time order.
    n_rows_hint : int or None
        Expected number of samples, for progress bars.
    notes : list of str
        What the reader decided (assumed zone, detected axis...), echoed into outputs.
    extra : dict
        Reader or wrapper diagnostics (e.g. calibration), copied into ``-Info.json``.
    """

    meta: RecordingMeta
    chunks: Callable[[], Iterator[Recording]]
    n_rows_hint: int | None = None
    notes: list[str] = field(default_factory=list)
    extra: dict[str, object] = field(default_factory=dict)

    def read(self) -> Recording:
        """The whole recording in memory."""
        parts = list(self.chunks())
        if not parts:
            raise DataError("the recording has no samples", path=self.meta.source)
        data = pd.concat([p.data for p in parts]) if len(parts) > 1 else parts[0].data
        return Recording(data, parts[0].meta)


def local_zone() -> str:
    """IANA name of this computer's time zone (``UTC`` when it cannot be told)."""
    tz = os.environ.get("TZ")
    if tz and "/" in tz:
        return tz.lstrip(":")
    try:
        link = os.readlink("/etc/localtime")
        if "zoneinfo/" in link:
            return link.split("zoneinfo/", 1)[1]
    except OSError:
        pass
    try:
        name = Path("/etc/timezone").read_text().strip()
        if name:
            return name
    except OSError:
        pass
    return "UTC"


def check_zone(tz: str, *, path: str | None = None) -> str:
    """Validate an IANA zone name."""
    try:
        pd.Timestamp("2020-01-01").tz_localize(tz)
    except Exception:
        raise DataError(
            f"unknown time zone {tz!r}", path=path, hint="Use an IANA name such as Europe/London or UTC"
        ) from None
    return tz


def device_zone(tz: str | None, path: str, notes: list[str]) -> str:
    """Zone for device-local (naive) times: the caller's, else this computer's, with a note."""
    if tz:
        return check_zone(tz, path=path)
    zone = local_zone()
    msg = (
        f"{path}: the file's times are device-local without a zone; assumed {zone} (this computer's "
        "zone). Pass --tz ZONE if the device clock was set elsewhere"
    )
    notes.append(msg)
    warnings.warn(msg, DataQualityWarning, stacklevel=3)
    return zone


def nominal_rate(median_dt_ns: float) -> float:
    """Nominal sample rate (Hz) from the median time step: a whole number when within 0.5 %."""
    fs = 1e9 / median_dt_ns
    r = round(fs)
    return float(r) if r and abs(fs - r) / r < 0.005 else round(fs, 3)


def check_units(xyz: np.ndarray, units: str, path: str, first_line: int) -> np.ndarray:
    """Convert to g and refuse data that are clearly not in g (m/s² or raw counts)."""
    if units == "ms2":
        return (xyz / STANDARD_GRAVITY).astype(np.float32)
    if units != "g":
        raise DataError(f"unknown units {units!r}", hint="Use --units g or --units ms2")
    if xyz.size:
        head = xyz[:200_000].astype(np.float64)
        mag = float(np.median(np.sqrt((head**2).sum(axis=1))))
        if 7.0 < mag < 12.5:
            raise DataError(
                f"the data look like m/s², not g (median |a| = {mag:.2f} from line {first_line}; "
                "at rest |a| is 1 g = 9.81 m/s²)",
                path=path, hint="Pass --units ms2 to convert, or export in g",
            )
        if mag > 2.5:
            raise DataError(
                f"the data are not in g (median |a| = {mag:.4g} at rest where 1 g is expected from line "
                f"{first_line}); they look like raw sensor counts",
                path=path, hint="Export calibrated acceleration in g (e.g. ActiLife 'raw' in g)",
            )
    return xyz.astype(np.float32, copy=False)


def locate_bad_csv_line(
    path: str, skip: int, names: list[str], kinds: list[str], *, delimiter: str = ","
) -> tuple[int, str]:
    """Find the first malformed data line (error path only; a plain scan of the file).

    ``kinds`` per column: ``"float"``, ``"time"`` or ``"any"``. Returns ``(line, reason)``.
    """
    with open(path, newline="", encoding="utf-8", errors="replace") as fh:
        reader = csv.reader(fh, delimiter=delimiter)
        for lineno, row in enumerate(reader, start=1):
            if lineno <= skip:
                continue
            while row and row[-1] == "" and len(row) > len(names):
                row = row[:-1]
            if len(row) != len(names):
                return lineno, f"expected {len(names)} fields ({', '.join(names)}), found {len(row)}"
            for name, kind, cell in zip(names, kinds, row, strict=True):
                cell = cell.strip()
                if kind == "float":
                    try:
                        v = float(cell)
                    except ValueError:
                        return lineno, f"{name} = {cell!r} is not a number"
                    if not math.isfinite(v):
                        return lineno, f"{name} = {cell!r} is not a finite number"
                elif kind == "time":
                    try:
                        pd.Timestamp(float(cell), unit="s") if _is_number(cell) else pd.Timestamp(cell)
                    except Exception:
                        return lineno, f"{name} = {cell!r} is not a time"
    return -1, "unknown problem"


def _is_number(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


def raise_bad_line(path: str, skip: int, names: list[str], kinds: list[str], err: Exception) -> None:
    """Turn a parser error into a ReadError naming the line."""
    line, reason = locate_bad_csv_line(path, skip, names, kinds)
    raise ReadError(
        reason if line > 0 else f"cannot parse the data ({err})",
        path=path, line=line if line > 0 else None,
        hint="Fix or delete that line (a garbled or truncated row) and run again",
    ) from err


def nonfinite_rows(xyz: np.ndarray) -> np.ndarray:
    """Row positions holding NaN or infinite values."""
    if np.isfinite(xyz).all():  # the usual case, on numpy's fast flat path
        return np.empty(0, np.int64)
    return np.flatnonzero(~np.isfinite(xyz).all(axis=1))


def make_chunk(
    t_ns: np.ndarray, xyz: np.ndarray, meta: RecordingMeta, *, first_line: int, extra=None,
    prev_ns: int | None = None, unit: str = "line",
) -> Recording:
    """Build a chunk; a time-order problem is reported with its file line (or row).

    ``prev_ns`` is the last time of the previous chunk, so the boundary between chunks is checked
    as well. ``unit`` is ``"line"`` for text files (the error carries ``line``) or ``"row"``.
    """
    d = np.diff(t_ns, prepend=prev_ns) if prev_ns is not None else np.diff(t_ns)
    if (d <= 0).any():
        k = int(np.argmax(d <= 0))
        i = k + (0 if prev_ns is not None else 1)  # position in t_ns of the offending sample
        what = f"repeats the previous {unit}'s time" if d[k] == 0 else "goes back in time"
        ts = pd.Timestamp(int(t_ns[i]), tz="UTC").tz_convert(meta.timezone)
        pos = first_line + i
        raise DataError(
            f"time {ts} {what}" if unit == "line" else f"row {pos}: time {ts} {what}",
            path=meta.source, line=pos if unit == "line" else None,
            hint="Times must be strictly increasing; remove duplicated rows or re-export the file",
        )
    idx = pd.DatetimeIndex(t_ns.view("datetime64[ns]")).tz_localize("UTC").tz_convert(meta.timezone)
    idx.name = "time"
    frame = pd.DataFrame(np.ascontiguousarray(xyz, dtype=np.float32), index=idx, columns=["x", "y", "z"], copy=False)
    for k, v in (extra or {}).items():
        frame[k] = v
    return Recording(frame, meta, validate=False)
