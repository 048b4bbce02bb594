"""Helpers shared by the readers: sources, units, time zones, error location."""

from __future__ import annotations

import csv
import gzip
import io
import math
import os
import stat
import unicodedata
import warnings
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, cast

import numpy as np
import pandas as pd

from ..errors import CorruptFileError, DataError, DataQualityWarning, ImpactlabError, ReadError
from ..recording import Recording, RecordingMeta
from ._assemble import assemble, utc_index

STANDARD_GRAVITY = 9.80665  # m/s² per g
GZIP_MAGIC = b"\x1f\x8b"
MAX_LINE_BYTES = 1 << 20  # a text line longer than 1 MB is refused (bounded memory)


def clip(value: object, limit: int = 80) -> str:
    """``repr``-like echo of a value for messages: at most ``limit`` characters, control and bidi escaped.

    Parameters
    ----------
    value : object
        What to echo (``str()`` of it).
    limit : int
        Maximum length of the result, quotes included.

    Returns
    -------
    str
        E.g. ``'abc…'`` with ``\\u202e`` for a right-to-left override.
    """
    text = str(value)
    out = []
    for ch in text[: limit * 2]:
        cat = unicodedata.category(ch)
        if cat in ("Cc", "Cf", "Zl", "Zp") or unicodedata.bidirectional(ch) in (
            "LRE", "RLE", "LRO", "RLO", "PDF", "LRI", "RLI", "FSI", "PDI"
        ):
            out.append(ch.encode("unicode_escape").decode("ascii"))
        else:
            out.append(ch)
    body = "".join(out)
    if len(body) > limit - 2 or len(text) > limit * 2:
        body = body[: limit - 3] + "…"
    return f"'{body}'"


def check_regular_file(path: str | os.PathLike[str]) -> os.stat_result:
    """Refuse what is not a readable regular file (missing, folder, FIFO, device, no permission).

    Raises
    ------
    ReadError
        Naming the file and what it is instead.
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise ReadError("no such file", path=path, hint="Check the path") from None
    except PermissionError:
        raise ReadError("permission denied (the file or a folder above it cannot be read)", path=path,
                        hint="Check the permissions, or copy the file somewhere readable") from None
    except OSError as err:
        raise ReadError(f"cannot open the file ({err.strerror or err})", path=path) from None
    mode = st.st_mode
    if stat.S_ISDIR(mode):
        raise ReadError("this is a folder, not a recording", path=path, hint="Give one recording file")
    if not stat.S_ISREG(mode):
        kind = ("a named pipe (FIFO)" if stat.S_ISFIFO(mode) else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
                else "a socket" if stat.S_ISSOCK(mode) else "not a regular file")
        raise ReadError(f"this is {kind}, not a recording file", path=path, hint="Give a regular file")
    if not os.access(path, os.R_OK):
        raise ReadError("permission denied", path=path, hint="Check the file's permissions")
    return st


def is_gzip(path: str | os.PathLike[str]) -> bool:
    """True when the file starts with the gzip magic bytes."""
    with open(path, "rb") as fh:
        return fh.read(2) == GZIP_MAGIC


def open_binary(path: str | os.PathLike[str]) -> IO[bytes]:
    """The file's bytes, decompressed as a stream when it is gzip (no temporary copy)."""
    if is_gzip(path):
        return cast(IO[bytes], gzip.open(path, "rb"))
    return open(path, "rb")


def open_text(path: str | os.PathLike[str]) -> IO[str]:
    """The file as UTF-8 text (a BOM is dropped, bad bytes replaced), gzip decompressed as a stream."""
    return io.TextIOWrapper(open_binary(path), encoding="utf-8-sig", errors="replace", newline="")


def read_lines(path: str, n: int) -> list[str]:
    """The first ``n`` lines (without line ends), each read with a bounded buffer.

    Raises
    ------
    ReadError
        A line longer than :data:`MAX_LINE_BYTES`, with its number.
    """
    out: list[str] = []
    with open_text(path) as fh:
        for k in range(1, n + 1):
            line = fh.readline(MAX_LINE_BYTES + 1)
            if len(line) > MAX_LINE_BYTES and not line.endswith("\n"):
                raise ReadError(f"line {k} is longer than 1 MB", path=path, line=k,
                                hint="This is not a recording with one sample per line; check the file")
            if not line:
                break
            out.append(line.rstrip("\r\n"))
    return out


def arrow_input(path: str) -> Any:
    """A pyarrow input stream of the file (gzip decompressed as a stream)."""
    import pyarrow as pa

    return pa.input_stream(path, compression="gzip" if is_gzip(path) else None)


def translate_error(err: BaseException, path: str | os.PathLike[str] | None) -> ImpactlabError:
    """An :class:`ImpactlabError` naming ``path`` for an exception raised by a library on bad bytes.

    pyarrow, gzip/zlib, zipfile, struct, pandas and OS errors are mapped here, at the reader
    boundary, so that only impactlab's own errors leave a reader.
    """
    if isinstance(err, ImpactlabError):
        return err
    name = type(err).__name__
    text = clip(str(err).splitlines()[0] if str(err) else name, 80)
    if isinstance(err, PermissionError):
        return ReadError("permission denied", path=path, hint="Check the file's permissions")
    if isinstance(err, (gzip.BadGzipFile, zlib.error, EOFError)):
        return CorruptFileError(f"the gzip data are damaged or truncated ({name}: {text})", path=path,
                                hint="Download or copy the file again")
    if isinstance(err, MemoryError):
        return ReadError("the file needs more memory than is available", path=path,
                         hint="Split the recording or use a computer with more memory")
    if isinstance(err, OSError) and err.errno is not None:
        return ReadError(f"cannot read the file ({err.strerror or name})", path=path)
    return CorruptFileError(f"the file is damaged or not in the format it claims ({name}: {text})", path=path,
                            hint="Export or copy the file again")


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
    extra: dict[str, Any] = field(default_factory=dict)

    def read(self) -> Recording:
        """The whole recording in memory.

        The chunks are copied one by one into a result sized from :attr:`n_rows_hint` (grown when
        that is unknown or short), so the peak is one copy of the samples plus one chunk
        (:mod:`impactlab.io._assemble`).
        """
        rec = assemble(self.chunks(), self.n_rows_hint)
        if rec is None:
            raise DataError("the recording has no samples", path=self.meta.source)
        return rec


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
            f"unknown time zone {clip(tz)}", path=path, hint="Use an IANA name such as Europe/London or UTC"
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
        raise DataError(f"unknown units {clip(units)}", hint="Use --units g or --units ms2")
    if xyz.size:
        head = xyz[:200_000:10].astype(np.float64)  # every 10th of the first 200,000 rows: the same span, 10x cheaper
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
    with open_text(path) as fh:
        lineno = 0
        while True:
            text = fh.readline(MAX_LINE_BYTES + 1)
            if not text:
                break
            lineno += 1
            if len(text) > MAX_LINE_BYTES and not text.endswith("\n"):
                return lineno, "the line is longer than 1 MB (not one sample per line)"
            if lineno <= skip:
                continue
            row = next(csv.reader([text.rstrip("\r\n")], delimiter=delimiter), [])
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
                        return lineno, f"{name} = {clip(cell)} is not a number"
                    if not math.isfinite(v):
                        return lineno, f"{name} = {clip(cell)} is not a finite number"
                elif kind == "time":
                    try:
                        pd.Timestamp(float(cell), unit="s") if _is_number(cell) else pd.Timestamp(cell)
                    except Exception:
                        return lineno, f"{name} = {clip(cell)} is not a time"
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
        reason if line > 0 else f"cannot parse the data ({clip(str(err).splitlines()[0] if str(err) else err)})",
        path=path, line=line if line > 0 else None,
        hint="Fix or delete that line (a garbled or truncated row) and run again",
    ) from err


def nonfinite_rows(xyz: np.ndarray) -> np.ndarray:
    """Row positions holding NaN or infinite values."""
    if np.isfinite(xyz).all():  # the usual case, on numpy's fast flat path
        return np.empty(0, np.int64)
    return np.flatnonzero(~np.isfinite(xyz).all(axis=1))


def make_chunk(
    t_ns: np.ndarray, xyz: np.ndarray, meta: RecordingMeta, *, first_line: int, extra: Mapping[str, np.ndarray] | None = None,
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
    idx = utc_index(np.ascontiguousarray(t_ns, dtype=np.int64), meta.timezone)
    frame = pd.DataFrame(np.ascontiguousarray(xyz, dtype=np.float32), index=idx, columns=["x", "y", "z"], copy=False)
    for name, column in (extra or {}).items():
        frame[name] = column
    return Recording(frame, meta, validate=False)


# -- helpers of the device readers (.gt3x, .cwa, .bin) ----------------------------------------

_ZIP = b"PK\x03\x04"


def describe_content(head: bytes) -> str:
    """Say in words what a file looks like, from its first bytes (for error messages).

    Parameters
    ----------
    head : bytes
        The first bytes of the file (a few hundred are enough).

    Returns
    -------
    str
        E.g. ``"an Axivity .cwa recording"``, ``"a zip archive"``, ``"a text file (CSV?)"``.
    """
    if not head:
        return "an empty file (0 bytes)"
    if head[:2] == b"MD" and head[2:4] == b"\xfc\x03":
        return "an Axivity .cwa recording"
    if head[:2] == b"AX" and head[2:4] == b"\xfc\x01":
        return "Axivity .cwa data blocks without the metadata header"
    if head.startswith(b"Device Identity"):
        return "a GENEActiv .bin recording"
    if head[:4] == _ZIP:
        if b"log.bin" in head or b"activity.bin" in head or b"info.txt" in head:
            return "an ActiGraph .gt3x/.agdc archive"
        return "a zip archive that is not an ActiGraph .gt3x"
    if head[:4] == b"PAR1":
        return "a Parquet file"
    if head[:2] == b"\x1f\x8b":
        return "a gzip-compressed file"
    if head[:1] == b"\x1e":
        return "a bare ActiGraph log.bin (not inside its .gt3x archive)"
    text = head[:512]
    if b"\x00" not in text:
        first = text.split(b"\n", 1)[0].decode("utf-8", "replace").strip()
        if "ActiGraph" in first:
            return "an ActiGraph ActiLife CSV export"
        if "GENEActiv" in first:
            return "a GENEActiv CSV export"
        return f"a text file starting {first[:40]!r}"
    return "binary data of an unknown format"


def export_hint(kind: str) -> str:
    """What to give impactlab instead, by expected device format."""
    return {
        "gt3x": "Give the .gt3x file as downloaded by ActiLife, or export raw data in g from ActiLife (CSV)",
        "cwa": "Give the .cwa file as downloaded with OmGui, or export it to CSV (time,x,y,z in g) with OmGui",
        "geneactiv": "Give the GENEActiv .bin file as downloaded with GENEActiv PC software",
    }[kind]


def fixed_offset_zone(offset_min: int) -> str | None:
    """IANA name of a fixed UTC offset in whole hours (``Etc/GMT-1`` for UTC+01:00), else None."""
    if offset_min == 0:
        return "UTC"
    if offset_min % 60 or abs(offset_min) > 14 * 60:
        return None
    h = offset_min // 60
    return f"Etc/GMT{'-' if h > 0 else '+'}{abs(h)}"  # IANA Etc zones have the sign inverted


def clock_offset(
    tz: str | None, file_offset_min: int | None, first_local_ns: int | None, path: str, notes: list[str]
) -> tuple[str, int]:
    """Zone of the recording and the UTC offset of its device clock.

    Parameters
    ----------
    tz : str or None
        IANA zone given by the user.
    file_offset_min : int or None
        UTC offset (minutes) written in the file, when known.
    first_local_ns : int or None
        Device-local time of the first sample (ns since 1970 as if UTC), to pick the offset of ``tz``
        at that moment.
    path : str
        For messages.
    notes : list of str
        Decisions are appended here.

    Returns
    -------
    tuple of (str, int)
        ``(zone, offset_ns)``: UTC = device-local − ``offset_ns`` for every sample of the file.
    """
    t0 = pd.Timestamp(first_local_ns if first_local_ns is not None else 0)
    if tz:
        zone = check_zone(tz, path=path)
    elif file_offset_min is not None:
        zone = fixed_offset_zone(file_offset_min) or "UTC"
        off_ns = int(file_offset_min) * 60_000_000_000
        if zone == "UTC" and file_offset_min:
            notes.append(f"{path}: the device clock was UTC{file_offset_min / 60:+.2f} h; times are shown in UTC. "
                         "Pass --tz ZONE to show local times")
        return zone, off_ns
    else:
        zone = local_zone()
        msg = (f"{path}: the file's times are device-local without a zone; assumed {zone} (this computer's "
               "zone). Pass --tz ZONE if the device clock was set elsewhere")
        notes.append(msg)
        warnings.warn(msg, DataQualityWarning, stacklevel=3)
    loc = t0.tz_localize(zone, ambiguous=True, nonexistent="shift_forward")
    off = loc.utcoffset()
    return zone, int(off.total_seconds() * 1e9) if off is not None else 0


def detect_vertical_axis(xyz: np.ndarray, fs: float) -> tuple[str, str]:
    """Axis (with sign) that carries gravity in the still 1 s windows of ``xyz`` (g).

    Returns ``(axis, note)``; the note says that the axis was detected and how to override it.
    """
    w = max(2, int(round(fs)))
    k = xyz.shape[0] // w
    if k == 0:
        return "+y", "vertical axis not detectable (too few samples); +y assumed. Pass --vertical-axis"
    win = xyz[: k * w].astype(np.float64).reshape(k, w, 3)
    means = win.mean(axis=1)
    still = (win.std(axis=1) < 0.05).all(axis=1)
    pick = means[still] if still.sum() >= 5 else means
    med = np.median(pick, axis=0)
    j = int(np.argmax(np.abs(med)))
    axis = ("-" if med[j] < 0 else "+") + "xyz"[j]
    return axis, (f"vertical axis {axis} detected from the data (median at rest {med[0]:+.2f}, {med[1]:+.2f}, "
                  f"{med[2]:+.2f} g on x, y, z); pass --vertical-axis to override")


def quality_note(msg: str, notes: list[str], *, stacklevel: int = 3) -> None:
    """Record a data-quality decision in ``notes`` and warn with :class:`DataQualityWarning`."""
    notes.append(msg)
    warnings.warn(msg, DataQualityWarning, stacklevel=stacklevel)
