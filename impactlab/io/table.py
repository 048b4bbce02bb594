"""Plain tables: CSV (``time,x,y,z``) and Parquet, read with pyarrow in chunks.

CSV times may be ISO-8601 with an offset (``2026-03-02T08:00:00.010+00:00``), ISO-8601 without one
(device-local; give ``tz``) or epoch seconds (UTC; ms, µs and ns are told apart by magnitude). A
header line is optional; without one the columns are taken as ``time, x, y, z``. Values are in g
unless ``units="ms2"``. A first time before 2000 (seconds from the start read as since 1970, a clock
never set, a Parquet column of numbers in the wrong unit) is a note naming the file and column.

Parquet files written by :func:`write_parquet` carry the metadata (``impactlab.meta`` key in the
schema metadata); other Parquet files need a ``time`` column (timestamp) and ``x, y, z``.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ..errors import DataError, ReadError, UnsupportedFormatError
from ..recording import Recording, RecordingMeta
from ._common import (
    RecordingSource,
    arrow_input,
    check_units,
    check_zone,
    clip,
    device_zone,
    make_chunk,
    nominal_rate,
    nonfinite_rows,
    raise_bad_line,
    read_lines,
)
from ._csvblocks import csv_pieces, first_piece

__all__ = ["open_csv", "open_parquet", "write_parquet"]

_TIME_NAMES = {"time", "timestamp", "datetime", "date_time", "t", "time_s", "unix", "epoch"}
_AXIS_NAMES = {
    "x": {"x", "acc_x", "accel_x", "x_g", "ax", "accelerometer x", "accx"},
    "y": {"y", "acc_y", "accel_y", "y_g", "ay", "accelerometer y", "accy"},
    "z": {"z", "acc_z", "accel_z", "z_g", "az", "accelerometer z", "accz"},
}
_OFFSET_RE = re.compile(r"(Z|[+-]\d\d:?\d\d)$")
PROBE_BYTES = 1 << 26
"""Bytes of the first block, read once to find the rate, the units and the vertical axis."""


def _first_lines(path: str, n: int = 3) -> list[str]:
    return read_lines(path, n)


#: epoch time units told apart by magnitude: (upper bound of |t| for dates up to ~2100, unit, ns per unit)
_EPOCH_UNITS = ((1e11, "seconds", 1_000_000_000), (1e14, "milliseconds", 1_000_000),
                (1e17, "microseconds", 1_000), (9.2e18, "nanoseconds", 1))


def epoch_unit(t0: float, path: str, line: int) -> tuple[str, int]:
    """Unit of epoch times from the magnitude of the first one: ``(name, ns per unit)``.

    Seconds, milliseconds, microseconds and nanoseconds since 1970 differ by a factor of 1000, so
    a date between 1973 and 2286 tells them apart.

    Raises
    ------
    ReadError
        A negative or too large number.
    """
    if not np.isfinite(t0) or t0 < 0:
        raise ReadError(f"the first time {clip(t0)} is not a time since 1970", path=path, line=line,
                        hint="Give times as ISO 8601 or as seconds, ms, µs or ns since 1970 (UTC)")
    for bound, name, mult in _EPOCH_UNITS:
        if t0 < bound:
            if t0 * mult >= 9.2e18:  # past 2262-04-11, the end of int64 nanoseconds
                raise ReadError(f"the first time {clip(t0)}, read as {name} since 1970, is after the year 2262",
                                path=path, line=line, hint="Check the clock and unit of the times; give times as "
                                "ISO 8601 or as seconds since 1970 (UTC)")
            return name, mult
    raise ReadError(f"the first time {clip(t0)} is too large for a time since 1970 in s, ms, µs or ns",
                    path=path, line=line, hint="Give times as ISO 8601 or as seconds since 1970 (UTC)")


#: First time (ns since 1970, UTC) a recording can plausibly have: 2000-01-01. Raw-data wearables
#: came later; an earlier time is a clock that was never set or a number read in the wrong unit.
PLAUSIBLE_FROM_NS = 946_684_800 * 1_000_000_000


def early_time_note(t0_ns: int, path: str, column: str, how: str, fix: str) -> str | None:
    """A note when the first time ``t0_ns`` is before 2000, else None.

    Parameters
    ----------
    t0_ns : int
        The recording's first time, ns since 1970 (UTC, or device-local as if UTC).
    path, column : str
        For the message: the file and the time column.
    how : str
        How the time was read (``"3600, read as seconds since 1970"``).
    fix : str
        What to do about it.
    """
    import pandas as pd

    if t0_ns >= PLAUSIBLE_FROM_NS:
        return None
    when = pd.Timestamp(int(t0_ns), tz="UTC").isoformat()
    return (f"{path}: the first time in column {column} ({how}) is {when}, before 2000, when no wearable recorded "
            f"raw data: the days, weekdays and plan dates of this analysis are not the real ones. {fix}")


_EPOCH_FIX = ("If the times count from the start of the recording, or are in a larger unit than their size suggests, "
              "write them as ISO 8601 with an offset (2026-03-02T08:00:00+00:00) or as seconds since 1970 of the real "
              "clock (add the start's epoch seconds); impactlab tells s, ms, µs and ns apart by magnitude")
_PARQUET_FIX = ("Write the file again with the real times, e.g. df['time'] = pd.to_datetime(df['time'], unit='s', "
                "utc=True) when the column held epoch seconds (a number taken as nanoseconds gives 1970)")
_CLOCK_FIX = "Check the device's clock (set it before recording) or the time column"


def rate_from_times(t_ns: np.ndarray, path: str, *, unit: str, first: int) -> float:
    """Nominal sample rate from the first times, with a message that says what is wrong."""
    if t_ns.size < 2:
        raise ReadError(f"only {t_ns.size} sample(s) with a time and finite x, y, z at the start; "
                        "cannot tell the sample rate", path=path,
                        hint="Check that the file holds a recording (time and numeric x, y, z per row)")
    d = np.diff(t_ns)
    if (d <= 0).any():
        k = int(np.argmax(d <= 0)) + 1
        what = "repeats the previous time" if d[k - 1] == 0 else "goes back in time"
        raise DataError(f"{unit} {first + k}: the time {what}", path=path,
                        line=first + k if unit == "line" else None,
                        hint="Times must be strictly increasing; remove duplicated rows or re-export the file")
    return nominal_rate(float(np.median(d)))


def _is_float(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


def open_csv(
    path: str | os.PathLike[str],
    *,
    tz: str | None = None,
    vertical_axis: str | None = None,
    units: str = "g",
    sample_rate_hz: float | None = None,
) -> RecordingSource:
    """Open a plain CSV recording (``time, x, y, z``) for chunked reading.

    Parameters
    ----------
    path : str or os.PathLike
        The file.
    tz : str, optional
        IANA zone: the zone of naive (device-local) times, and the display zone otherwise.
    vertical_axis : str, optional
        ``"+y"``, ``"-y"``...; by default the sign of ``y`` is detected from the data.
    units : {"g", "ms2"}
        Units of x, y, z.
    sample_rate_hz : float, optional
        Nominal rate; by default the median time step of the first rows.

    Raises
    ------
    ReadError
        Empty file, header only, malformed line (named), NaN cells.
    DataError
        Times out of order, data in m/s² without ``units="ms2"``.
    """
    path = os.fspath(path)
    if os.path.getsize(path) == 0:
        raise ReadError("the file is empty", path=path, hint="Export the recording again")
    lines = _first_lines(path, 3)
    first = [c.strip().strip('"').lower() for c in lines[0].split(",")]
    has_header = not _is_float(first[0]) and not _looks_like_time(first[0])
    if lines[0].startswith("Device Type,GENEActiv"):
        raise UnsupportedFormatError(
            "this is a GENEActiv PC-software CSV export", path=path, line=1,
            hint="Give the GENEActiv .bin file instead (impactlab reads it with the device calibration)",
        )
    if has_header and {"accelerometer x", "accelerometer y", "accelerometer z"} <= set(first):
        raise UnsupportedFormatError(
            "this looks like an ActiGraph CSV export without its 10-line header, so the start time and "
            "sample rate are unknown", path=path, line=1,
            hint="Export again from ActiLife with the header, or give the .gt3x file",
        )
    if has_header:
        names = first
        try:
            tcol = next(i for i, c in enumerate(names) if c in _TIME_NAMES)
            cols = {a: next(i for i, c in enumerate(names) if c in _AXIS_NAMES[a]) for a in "xyz"}
        except StopIteration:
            raise UnsupportedFormatError(
                f"the header {clip(lines[0])} has no time and x, y, z columns",
                path=path, line=1, hint="A plain CSV recording needs columns time,x,y,z (g)",
            ) from None
        data_lines = lines[1:]
    else:
        names = [f"c{i}" for i in range(len(first))]
        if len(names) < 4:
            raise UnsupportedFormatError(
                f"line 1 has {len(names)} fields; expected time,x,y,z", path=path, line=1,
                hint="A plain CSV recording needs columns time,x,y,z (g)",
            )
        tcol, cols = 0, {"x": 1, "y": 2, "z": 3}
        data_lines = lines
    skip = 1 if has_header else 0
    if not data_lines or not data_lines[0].strip():
        raise ReadError("the file has a header but no samples", path=path, line=2, hint="Export the recording again")
    t0 = data_lines[0].split(",")[tcol].strip().strip('"')
    notes: list[str] = []
    epoch_mult = 1
    if _is_float(t0):
        integral = re.fullmatch(r"\d+", t0) is not None
        ttype: pa.DataType = pa.int64() if integral else pa.float64()
        zone = check_zone(tz, path=path) if tz else "UTC"
        kind = "epoch"
        unit_name, epoch_mult = epoch_unit(float(t0), path, skip + 1)
        if unit_name != "seconds":
            notes.append(f"{path}: times read as {unit_name} since 1970 (UTC), from their magnitude")
    elif _OFFSET_RE.search(t0):
        ttype = pa.timestamp("ns", tz="UTC")
        zone = check_zone(tz, path=path) if tz else _zone_from_offset(t0)
        kind = "iso-offset"
    else:
        ttype = pa.timestamp("ns")
        zone = device_zone(tz, path, notes)
        kind = "iso-naive"
    col_names = names
    use = [col_names[tcol], col_names[cols["x"]], col_names[cols["y"]], col_names[cols["z"]]]
    kinds = ["any"] * len(col_names)
    kinds[tcol] = "time"
    for a in "xyz":
        kinds[cols[a]] = "float"

    convert = pacsv.ConvertOptions(
        column_types={use[0]: ttype, **{u: pa.float64() for u in use[1:]}},
        include_columns=use,
    )

    def _first_block() -> pa.Table | None:  # the first 64 MiB only (rate, units, axis)
        return first_piece(arrow_input(path), skip_rows=skip, column_names=col_names, convert_options=convert,
                           piece_bytes=PROBE_BYTES)

    fs = sample_rate_hz
    probe = _probe(path, skip, col_names, kinds, use, kind, _first_block, epoch_mult)
    if fs is None:
        t_probe = probe[0][:20000]
        if kind == "iso-naive":
            t_probe = _localize(t_probe, zone, path, skip + 1)
        fs = rate_from_times(t_probe, path, unit="line", first=skip + 1)
    xyz_probe = check_units(probe[1], units, path, skip + 1)
    column = f"'{names[tcol]}'" if has_header else "1"
    how = f"{clip(t0)}, read as {unit_name} since 1970" if kind == "epoch" else clip(t0)
    early = early_time_note(int(probe[0][0]), path, column, how, _EPOCH_FIX if kind == "epoch" else _CLOCK_FIX)
    if early:
        notes.append(early)
    vaxis, note = resolve_vertical_axis(vertical_axis, xyz_probe, default=None)
    if note:
        notes.append(f"{path}: {note}")
    meta = RecordingMeta(source=path, device="table", sample_rate_hz=float(fs), timezone=zone, vertical_axis=vaxis)

    def chunks() -> Iterator[Recording]:
        line = skip + 1
        last: int | None = None
        try:
            for batch in csv_pieces(arrow_input(path), skip_rows=skip, column_names=col_names,
                                    convert_options=convert):
                t_ns, xyz = _batch_arrays(batch, use, kind, epoch_mult)
                if kind == "iso-naive":
                    t_ns = _localize(t_ns, zone, path, line)
                bad = nonfinite_rows(xyz)
                if bad.size:
                    raise ReadError(
                        "a value is missing or not a number", path=path, line=line + int(bad[0]),
                        hint="Gaps must be missing rows, not empty cells; fix or delete that line",
                    )
                xyz = check_units(xyz, units, path, line)
                if t_ns.size:
                    yield make_chunk(t_ns, xyz, meta, first_line=line, prev_ns=last)
                    last = int(t_ns[-1])
                line += batch.num_rows
        except pa.ArrowInvalid as err:
            raise_bad_line(path, skip, col_names, kinds, err)

    size = os.path.getsize(path)
    if data_lines[0] and size and lines and path.lower().endswith(".gz"):
        size *= 4  # a rough hint only (progress bars)
    row_bytes = max(1, len(data_lines[0]) + 1)
    return RecordingSource(meta=meta, chunks=chunks, n_rows_hint=size // row_bytes, notes=notes)


def _localize(t_local_ns: np.ndarray, zone: str, path: str, line: int, *, unit: str = "line") -> np.ndarray:
    """Device-local wall-clock times to UTC ns; times that do not exist or are ambiguous (DST) are refused.

    The error names the line (or row) of the first such time: ``line`` is that of ``t_local_ns[0]``.
    """
    import pandas as pd

    idx = pd.DatetimeIndex(t_local_ns.view("datetime64[ns]"))
    amb = idx.tz_localize(zone, ambiguous="NaT", nonexistent="NaT")
    bad = np.flatnonzero(amb.isna() & ~idx.isna())
    if bad.size:
        k = int(bad[0])
        ts = idx[k]
        one = pd.DatetimeIndex([ts]).tz_localize(zone, ambiguous=np.array([True]), nonexistent="NaT")
        why = ("does not exist (the clocks went forward over it)" if one.isna()[0]
               else "is ambiguous (it occurs twice when the clocks go back)")
        where = f"row {line + k}: " if unit == "row" else ""
        raise DataError(
            f"{where}local time {ts} {why} in {zone}", path=path, line=line + k if unit == "line" else None,
            hint="Pass --tz with the zone the device clock really kept (e.g. --tz UTC if it never changed), "
            "or export times with a UTC offset",
        )
    return np.asarray(amb.as_unit("ns").asi8, dtype=np.int64)


def _looks_like_time(s: str) -> bool:
    return bool(re.match(r"^\d{4}-\d\d-\d\d[T ]\d", s))


def _zone_from_offset(t0: str) -> str:
    m = _OFFSET_RE.search(t0)
    assert m
    off = m.group(1)
    if off == "Z":
        return "UTC"
    sign = 1 if off[0] == "+" else -1
    hh, mm = int(off[1:3]), int(off[-2:])
    if mm or hh == 0:
        return "UTC"
    return f"Etc/GMT{'-' if sign > 0 else '+'}{hh}"  # IANA Etc zones have the sign inverted


def _batch_arrays(batch: pa.Table, use: list[str], kind: str, mult: int = 1_000_000_000
                  ) -> tuple[np.ndarray, np.ndarray]:
    tcol = batch.column(use[0])
    if kind == "epoch":
        t = np.asarray(tcol.to_numpy(zero_copy_only=False))
        if t.dtype.kind in "iu":
            if t.size and int(t.max()) > np.iinfo(np.int64).max // mult:
                t = np.full(t.shape, -1, np.int64)  # beyond 2262: refused as out of order by make_chunk
            t_ns = t.astype(np.int64) * mult
        else:
            tf = np.asarray(t, dtype=np.float64) * mult
            t_ns = np.where(np.isfinite(tf) & (np.abs(tf) < 9.2e18), np.rint(tf), 0).astype(np.int64)
    else:
        if tcol.null_count:
            t_ns = np.asarray(tcol.cast(pa.int64()).to_numpy(zero_copy_only=False), dtype=np.float64)
            t_ns = np.where(np.isnan(t_ns), 0, t_ns).astype(np.int64)
        else:
            t_ns = tcol.cast(pa.int64()).to_numpy()
    xyz = np.column_stack(
        [np.asarray(batch.column(u).to_numpy(zero_copy_only=False), dtype=np.float64) for u in use[1:]]
    )
    if tcol.null_count:
        xyz[np.asarray(tcol.is_null().to_numpy(zero_copy_only=False)), 0] = np.nan
    return t_ns, xyz


def _probe(path: str, skip: int, col_names: list[str], kinds: list[str], use: list[str],
           kind: str, first_block: Callable[[], pa.Table | None], mult: int = 1_000_000_000
           ) -> tuple[np.ndarray, np.ndarray]:
    try:
        batch = first_block()
    except pa.ArrowInvalid as err:
        raise_bad_line(path, skip, col_names, kinds, err)
    if batch is None:
        raise ReadError("the file has a header but no samples", path=path, hint="Export the recording again")
    t_ns, xyz = _batch_arrays(batch, use, kind, mult)
    ok = np.isfinite(xyz).all(axis=1)
    if not ok.any():
        raise ReadError("no row of the first block has finite x, y, z values", path=path, line=skip + 1,
                        hint="Check that x, y, z hold numbers in g")
    return t_ns[ok], xyz[ok]


def resolve_vertical_axis(spec: str | None, xyz: np.ndarray, *, default: str | None) -> tuple[str, str | None]:
    """Vertical axis from the user, else detected from the data, else the device default.

    The sign of the default axis (``y`` unless the device says otherwise) is taken from the data:
    the median of that axis over still one-second windows where it carries most of gravity. A
    device worn upside down is thus read the right way up, with a note.

    Parameters
    ----------
    spec : str or None
        The user's choice (always wins).
    xyz : numpy.ndarray
        (N, 3) samples in g from the start of the recording.
    default : str or None
        The device's usual axis, e.g. ``"-y"`` for ActiGraph.

    Returns
    -------
    tuple of (str, str or None)
        The axis and a note saying how it was chosen (None when the user chose it or the data
        agree with the device default).
    """
    if spec:
        return spec, None
    col = (default or "+y").lstrip("+-")
    k = "xyz".index(col)
    v = xyz[:, k].astype(np.float64)
    w = 50
    n = v.size // w * w
    med = None
    if n >= 10 * w:
        vw = v[:n].reshape(-1, w)
        still = (vw.std(axis=1) < 0.05) & (np.abs(vw.mean(axis=1)) > 0.7)
        if still.sum() >= 10:
            med = float(np.median(vw.mean(axis=1)[still]))
    if med is None:
        return default or "+y", None if default else (
            "could not tell the vertical axis from the data (no still upright period at the start); "
            "assumed +y, pass --vertical-axis to set it"
        )
    detected = ("-" if med < 0 else "+") + col
    if default and detected == default:
        return detected, None
    why = f"median {col} at rest {med:+.2f} g"
    if default:
        return detected, (
            f"vertical axis {detected} detected from the data ({why}), not the device's usual {default}; "
            "pass --vertical-axis to override"
        )
    return detected, f"vertical axis {detected} detected from the data ({why}); pass --vertical-axis to override"


def _time_ns(col: pa.ChunkedArray, naive: bool, path: str, row: int) -> np.ndarray:
    """Int64 ns since 1970 of a timestamp column in any unit (s, ms, µs, ns), naive or zoned.

    ``row`` is the number (from 1) of the column's first row, for messages.

    Naive times stay wall-clock (as if UTC); zoned ones become UTC. Casting to the ``ns`` unit
    first is what makes ms and µs columns (pandas' ``to_parquet`` of local times) read right.
    """
    if col.null_count:
        k = int(np.argmax(np.asarray(col.is_null().to_numpy(zero_copy_only=False))))
        raise DataError(f"row {row + k}: the time is missing", path=path, hint="Every row needs a time")
    try:
        ns = col.cast(pa.timestamp("ns", tz=None if naive else "UTC"))
    except pa.ArrowInvalid:
        raise DataError(f"a time in rows {row}.. is outside the years 1677-2262", path=path,
                        hint="Check the time column") from None
    return np.asarray(ns.cast(pa.int64()).to_numpy(zero_copy_only=False), dtype=np.int64)


def write_parquet(
    rec: Recording, path: str | os.PathLike[str], *, row_group_rows: int = 1_000_000, compression_level: int = 9
) -> Path:
    """Write a Recording as Parquet (float32 x, y, z; UTC ns times; metadata in the schema).

    Parameters
    ----------
    rec : Recording
        The recording.
    path : str or os.PathLike
        Output file.
    row_group_rows : int
        Rows per row group (the unit of chunked reading).
    compression_level : int
        zstd level (higher: smaller and slower to write).
    """
    path = Path(path)
    meta = rec.meta.to_dict()
    meta.pop("extra", None)
    table = pa.Table.from_pandas(rec.data.tz_convert("UTC"), preserve_index=True)
    table = table.replace_schema_metadata({b"impactlab.meta": json.dumps(meta).encode()})
    pq.write_table(
        table, path, row_group_size=row_group_rows, compression="zstd", compression_level=compression_level,
        use_dictionary=["x", "y", "z"], column_encoding={"time": "DELTA_BINARY_PACKED"},
    )
    return path


def open_parquet(
    path: str | os.PathLike[str],
    *,
    tz: str | None = None,
    vertical_axis: str | None = None,
    units: str = "g",
    sample_rate_hz: float | None = None,
) -> RecordingSource:
    """Open a Parquet recording for chunked reading (one row group at a time).

    Parameters are those of :func:`open_csv`.
    """
    path = os.fspath(path)
    try:
        pf = pq.ParquetFile(path)
    except Exception as err:
        raise UnsupportedFormatError(f"not a readable Parquet file ({clip(str(err).splitlines()[0] if str(err) else err)})",
                                     path=path, hint="Write the file again, or export the recording as CSV") from None
    schema = pf.schema_arrow
    md = schema.metadata or {}
    try:
        stored = json.loads(md[b"impactlab.meta"]) if b"impactlab.meta" in md else {}
        if not isinstance(stored, dict):
            raise ValueError("not an object")
    except ValueError:
        raise ReadError("the impactlab.meta entry of the schema metadata is not valid JSON", path=path,
                        hint="Write the file again with impactlab convert") from None
    names = set(schema.names)
    if not {"time", "x", "y", "z"} <= names:
        raise UnsupportedFormatError(
            f"columns {sorted(names)} lack time, x, y, z", path=path,
            hint="A Parquet recording needs a timestamp column 'time' and x, y, z in g",
        )
    tt = schema.field("time").type
    if not pa.types.is_timestamp(tt):
        raise UnsupportedFormatError("column 'time' is not a timestamp", path=path,
                                     hint="Write it as one, e.g. df['time'] = pd.to_datetime(df['time']) before to_parquet")
    notes: list[str] = []
    if tt.tz is None and not stored:
        zone = device_zone(tz, path, notes)
        naive = True
    else:
        zone = check_zone(tz, path=path) if tz else stored.get("timezone", tt.tz or "UTC")
        naive = False
    cols = ["time", "x", "y", "z"] + [c for c in ("temperature_c", "wear") if c in names]
    n_rows = pf.metadata.num_rows
    if n_rows == 0:
        raise ReadError("the file has no samples", path=path)
    first = pf.read_row_group(0, columns=["time", "x", "y", "z"])
    t_first = _time_ns(first.column("time"), naive, path, 1)
    early = early_time_note(int(t_first[0]), path, "'time'", f"Parquet {tt}", _PARQUET_FIX)
    if early:
        notes.append(early)
    xyz_first = np.column_stack([first.column(a).to_numpy(zero_copy_only=False).astype(np.float64) for a in "xyz"])
    fs = sample_rate_hz or stored.get("sample_rate_hz")
    if not fs:
        ok = np.isfinite(xyz_first[:20000]).all(axis=1)
        fs = rate_from_times(t_first[:20000][ok], path, unit="row", first=1)
    check_units(xyz_first[:100000], units, path, 1)
    vaxis, note = resolve_vertical_axis(vertical_axis or stored.get("vertical_axis"), xyz_first, default=None)
    if note:
        notes.append(f"{path}: {note}")
    keep = {k: v for k, v in stored.items() if k in {"device", "range_g", "serial", "subject_id", "firmware_profile"}}
    meta = RecordingMeta(
        source=path, device=keep.pop("device", "table"), sample_rate_hz=float(fs), timezone=zone,
        vertical_axis=vaxis, **keep,
    )

    def chunks() -> Iterator[Recording]:
        row = 1  # the row group's first row, counted from 1 (as every message names rows)
        last: int | None = None
        for i in range(pf.num_row_groups):
            tab = pf.read_row_group(i, columns=cols)
            t_ns = _time_ns(tab.column("time"), naive, path, row)
            if naive:
                t_ns = _localize(t_ns, zone, path, row, unit="row")
            xyz = np.column_stack([tab.column(a).to_numpy(zero_copy_only=False) for a in "xyz"]).astype(np.float32)
            bad = nonfinite_rows(xyz)
            if bad.size:
                raise DataError(
                    f"row {row + int(bad[0])} has a missing or non-finite value", path=path,
                    hint="Gaps must be missing rows, not NaN",
                )
            if units != "g":
                xyz = check_units(xyz, units, path, row)
            extra = {}
            if "wear" in tab.column_names:
                extra["wear"] = tab.column("wear").to_numpy(zero_copy_only=False).astype(bool)
            if "temperature_c" in tab.column_names:
                extra["temperature_c"] = tab.column("temperature_c").to_numpy(zero_copy_only=False).astype(np.float32)
            chunk = make_chunk(t_ns, xyz, meta, first_line=row, extra=extra, prev_ns=last, unit="row")
            yield chunk
            last = int(t_ns[-1]) if t_ns.size else last
            row += tab.num_rows

    return RecordingSource(meta=meta, chunks=chunks, n_rows_hint=n_rows, notes=notes)
