"""ActiGraph ActiLife raw CSV export (10-line header, then x, y, z in g).

The header gives the device, the ActiLife date format, the sample rate, the serial number and the
start date and time (device-local, no zone). Times are rebuilt from the start and the rate, as
ActiLife itself does; a ``Timestamp`` column, when present, is not needed. ActiGraph's y axis
points down when the device is worn upright on the hip, so the vertical axis is ``-y`` (as in
the R package impactr).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from datetime import datetime

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from ..errors import ReadError, UnsupportedFormatError
from ..recording import Recording, RecordingMeta
from ._common import (
    RecordingSource,
    arrow_input,
    check_units,
    clip,
    device_zone,
    make_chunk,
    nonfinite_rows,
    raise_bad_line,
    read_lines,
)
from ._csvblocks import csv_pieces, first_piece

__all__ = ["is_actigraph_csv", "open_actigraph_csv"]

_HEADER_LINES = 10
_RANGES = {"GT3X+": 6.0, "wGT3X-BT": 8.0, "wGT3X+": 8.0, "GT9X": 8.0, "Link": 8.0, "CentrePoint": 8.0, "GT3X": 3.0}
#: serial-number prefixes whose device is known whatever the header's device line says: ActiLife writes
#: "GT3X+" for a GT9X Link (TAS...) export, whose .gt3x says ±8 g (read.gt3x's TAS1H30182785)
_SERIAL_RANGES = {"TAS": 8.0, "MOS": 8.0}


def is_actigraph_csv(head: str) -> bool:
    """True when the text starts like an ActiLife export."""
    return "ActiGraph" in head.split("\n", 1)[0] and "Created By" in head.split("\n", 1)[0]


def _java_to_strptime(fmt: str) -> str:
    out = fmt
    for j, p in (("yyyy", "%Y"), ("MM", "%m"), ("dd", "%d"), ("M", "%m"), ("d", "%d")):
        out = re.sub(rf"(?<![%A-Za-z]){j}(?![A-Za-z])", p, out)
    return out


def _parse_header(path: str, lines: list[str]) -> dict[str, object]:
    clean = [ln.rstrip("\r\n").rstrip(",").strip() for ln in lines]
    first = clean[0]
    if "Data Table File" in first or re.search(r"Epoch Period \(hh:mm:ss\) (?!00:00:00)", "\n".join(clean)):
        raise UnsupportedFormatError(
            "this is an ActiLife epoch (activity count) export, not raw acceleration",
            path=path, line=1,
            hint="Export raw data in g from ActiLife (File > Export > Raw data to CSV) or give the .gt3x file",
        )
    m_rate = re.search(r"at (\d+(?:\.\d+)?) Hz", first)
    m_fmt = re.search(r"date format (\S+)", first)
    m_dev = re.search(r"Created By ActiGraph (.+?) ActiLife", first)
    if not m_rate:
        raise UnsupportedFormatError("the header line has no sample rate ('at N Hz')", path=path, line=1,
                                     hint="Export raw data (not epochs) from ActiLife")
    rate = float(m_rate.group(1))
    if not 1.0 <= rate <= 10_000.0:
        raise ReadError(f"the header says the sample rate is {rate:g} Hz", path=path, line=1,
                        hint="Export the file again from ActiLife (the header is damaged)")
    info: dict[str, object] = {"rate": rate, "device": (m_dev.group(1).strip() if m_dev else "ActiGraph")}
    fmt = _java_to_strptime(m_fmt.group(1)) if m_fmt else "%m/%d/%Y"
    fields = {}
    for ln in clean[1:_HEADER_LINES]:
        for key in ("Serial Number:", "Start Time", "Start Date"):
            if ln.startswith(key):
                fields[key] = ln[len(key):].strip()
    try:
        start = datetime.strptime(f"{fields['Start Date']} {fields['Start Time']}", f"{fmt} %H:%M:%S")
    except (KeyError, ValueError):
        # some exports write the start date with another separator than the header's format says
        try:
            start = pd.Timestamp(str(pd.to_datetime(fields.get("Start Date", ""), dayfirst=fmt.startswith("%d")).date())
                                 + " " + fields.get("Start Time", "")).to_pydatetime()
        except Exception:
            raise ReadError(
                f"cannot read the start date/time {clip(fields.get('Start Date'))} {clip(fields.get('Start Time'))} "
                f"with the header's date format {m_fmt.group(1) if m_fmt else '?'}", path=path, line=4,
                hint="Check lines 3-4 of the header",
            ) from None
    if not 1990 <= start.year <= 2100:
        raise ReadError(f"the start date {clip(fields.get('Start Date'))} reads as the year {start.year}",
                        path=path, line=4, hint="Check lines 3-4 of the header, or export the file again")
    info["start"] = start
    info["serial"] = fields.get("Serial Number:")
    return info


def open_actigraph_csv(
    path: str | os.PathLike[str],
    *,
    tz: str | None = None,
    vertical_axis: str | None = None,
    units: str = "g",
) -> RecordingSource:
    """Open an ActiLife raw CSV export for chunked reading.

    Parameters
    ----------
    path : str or os.PathLike
        The export.
    tz : str, optional
        IANA zone the device clock was set to (default: this computer's zone, with a warning).
    vertical_axis : str, optional
        Default ``"-y"`` (ActiGraph orientation on the hip).
    units : {"g", "ms2"}
        Units of the values (ActiLife writes g).

    Raises
    ------
    UnsupportedFormatError
        An epoch (count) export, or a header without a sample rate.
    ReadError
        Header only, malformed line (named).
    """
    path = os.fspath(path)
    head = [ln + "\n" for ln in read_lines(path, _HEADER_LINES + 2)]
    head += [""] * (_HEADER_LINES + 2 - len(head))
    info = _parse_header(path, head)
    colline = head[_HEADER_LINES].rstrip("\r\n")
    names = [c.strip() for c in colline.split(",")]
    while names and names[-1] == "":
        names.pop()
    lower = [n.lower() for n in names]
    if not all(f"accelerometer {a}" in lower for a in "xyz"):
        if _looks_numeric(colline):
            names = ["Accelerometer X", "Accelerometer Y", "Accelerometer Z"][: len(names)]
            skip = _HEADER_LINES
        else:
            raise UnsupportedFormatError(
                f"line 11 {clip(colline)} has no Accelerometer X/Y/Z columns", path=path, line=11,
                hint="Export raw acceleration from ActiLife",
            )
    else:
        skip = _HEADER_LINES + 1
    if not head[skip].strip() if skip < len(head) else True:
        raise ReadError("the file has a header but no samples", path=path, line=skip + 1,
                        hint="Export the recording again")
    ncols = len(colline.split(","))
    all_names = names + [f"_extra{i}" for i in range(ncols - len(names))]
    use = [n for n in names if n.lower() in ("accelerometer x", "accelerometer y", "accelerometer z")]
    use.sort(key=lambda n: n.lower())
    kinds = ["float" if n in use else "any" for n in all_names]
    temp_col = next((n for n in names if n.lower() == "temperature"), None)
    notes: list[str] = []
    zone = device_zone(tz, path, notes)
    fs = float(info["rate"])  # type: ignore[arg-type]
    device = str(info["device"])
    serial_text = str(info.get("serial") or "")
    rng = _SERIAL_RANGES.get(serial_text[:3]) or next((v for k, v in _RANGES.items() if k in device), None)
    include = use + ([temp_col] if temp_col else [])
    convert = pacsv.ConvertOptions(include_columns=include, column_types={u: pa.float64() for u in include})

    def _first_block() -> pa.Table | None:  # ~4 MB: the first half hour or so
        return first_piece(arrow_input(path), skip_rows=skip, column_names=all_names, convert_options=convert,
                           piece_bytes=1 << 22)

    meta = RecordingMeta(
        source=path, device="actigraph", sample_rate_hz=fs, timezone=zone,
        vertical_axis=_probe_axis(_first_block, use, vertical_axis, notes, path), range_g=rng,
        serial=str(info["serial"]) if info["serial"] else None,
        extra={"model": device},
    )
    start_local = pd.Timestamp(info["start"]).tz_localize(zone, ambiguous=True, nonexistent="shift_forward")
    t0 = start_local.tz_convert("UTC").as_unit("ns").value
    step = 1e9 / fs

    def chunks() -> Iterator[Recording]:
        row = 0
        try:
            for batch in csv_pieces(arrow_input(path), skip_rows=skip, column_names=all_names, convert_options=convert):
                xyz = np.column_stack([batch.column(u).to_numpy(zero_copy_only=False) for u in use])
                line = skip + 1 + row
                bad = nonfinite_rows(xyz)
                if bad.size:
                    raise ReadError("a value is missing or not a number", path=path, line=line + int(bad[0]),
                                    hint="Fix or delete that line and run again")
                xyz = check_units(xyz, units, path, line)
                t_ns = t0 + np.rint((row + np.arange(batch.num_rows)) * step).astype(np.int64)
                extra = {}
                if temp_col:
                    extra["temperature_c"] = np.asarray(batch.column(temp_col).to_numpy(zero_copy_only=False), np.float32)
                yield make_chunk(t_ns, xyz, meta, first_line=line, extra=extra)
                row += batch.num_rows
        except pa.ArrowInvalid as err:
            raise_bad_line(path, skip, all_names, kinds, err)

    size = os.path.getsize(path)
    return RecordingSource(meta=meta, chunks=chunks, n_rows_hint=size // max(1, len(head[-1])), notes=notes)


def _probe_axis(first_block: Callable[[], pa.Table | None], use: list[str], spec: str | None,
                notes: list[str], path: str) -> str:
    """The vertical axis: the user's, else ``-y`` with its sign checked on the first block."""
    if spec:
        return spec
    from .table import resolve_vertical_axis

    try:
        batch = first_block()
    except pa.ArrowInvalid:
        return "-y"
    if batch is None:
        return "-y"
    xyz = np.column_stack([batch.column(u).to_numpy(zero_copy_only=False) for u in use]).astype(np.float64)
    xyz = xyz[np.isfinite(xyz).all(axis=1)]
    axis, note = resolve_vertical_axis(None, xyz, default="-y")
    if note:
        notes.append(f"{path}: {note}")
    return axis


def _looks_numeric(line: str) -> bool:
    try:
        [float(c) for c in line.split(",") if c.strip()]
    except ValueError:
        return False
    return True
