"""Labelled periods ("markers"): a weighted vest worn, a jump set, a vibration-plate session (docs/cli.md, Sessions).

A hip accelerometer cannot tell a walk with a weighted vest from one without, so impactlab does not
guess: the wearer (or the therapist) says when the vest was on. Markers come from

* a markers CSV given with ``--markers FILE``: a header ``start,end,label`` (any order, other columns
  ignored), one period per line, times in ISO-8601 (``2026-03-03T10:00:00+00:00``; without an offset
  they are read in the recording's time zone), ``#`` starts a comment line;
* ``impactlab mark LABEL --start ISO --end ISO [--file markers.csv]``, which appends a checked line
  to such a file;
* a sensor's marker events (firmware_config/README.md), passed to :func:`impactlab.analyze` as a DataFrame with a
  ``source`` column (e.g. ``sensor``).

Labels: ``vest`` (walking bouts that overlap become ``vest_walk``), ``vibration`` (a plate session;
it also stands in for detection when the plate cannot be seen at the sample rate), ``jumps`` and
``walk`` (periods the wearer declares; detection still decides what counts, and a declared period in
which nothing was detected is warned about). Every session records where its label came from
(``label_source``).

Rules: the end must be after the start; two markers with the same label must not overlap (that
would count the same minutes twice); markers outside the recording are ignored with a warning.
"""

from __future__ import annotations

import csv
import io
import itertools
import os
import re
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd

from ._textfile import TextFileKind, read_text_file
from .errors import ConfigError, DataQualityWarning
from .io._common import clip

__all__ = [
    "KNOWN_LABELS",
    "Marker",
    "Markers",
    "append_marker",
    "as_markers",
    "parse_time",
    "read_markers",
]

#: Labels impactlab acts on (see the module docstring).
KNOWN_LABELS: tuple[str, ...] = ("vest", "jumps", "vibration", "walk")
_HEADER = ("start", "end", "label")


@dataclass(frozen=True, slots=True)
class Marker:
    """One labelled period.

    Attributes
    ----------
    start, end : pandas.Timestamp
        Start and end (``end > start``); tz-aware, or naive = in the recording's time zone.
    label : str
        ``vest``, ``jumps``, ``vibration`` or ``walk`` (lower case).
    source : str
        Where the label came from: ``markers:<file>``, ``sensor``, ...
    line : int or None
        1-based line in the markers file.
    """

    start: pd.Timestamp
    end: pd.Timestamp
    label: str
    source: str
    line: int | None = None

    def where(self) -> str:
        """``file line N`` (or the source) for messages."""
        return f"{self.source} line {self.line}" if self.line is not None else self.source

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (ISO-8601 times)."""
        return {"label": self.label, "start": self.start.isoformat(), "end": self.end.isoformat(),
                "source": self.source, "line": self.line}


@dataclass(frozen=True, slots=True)
class Markers:
    """A checked set of markers (sorted by start).

    Attributes
    ----------
    items : tuple of Marker
        The markers.
    path : str or None
        The file they were read from.
    """

    items: tuple[Marker, ...] = ()
    path: str | None = None

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.items)

    def with_label(self, label: str) -> list[Marker]:
        """Markers with ``label``."""
        return [m for m in self.items if m.label == label]

    def resolve(self, tz: str) -> Markers:
        """Markers with every time tz-aware in ``tz`` (naive times are read as local times in ``tz``).

        Raises
        ------
        ConfigError
            A naive time that does not exist or is ambiguous in ``tz`` (daylight-saving change).
        """
        out = []
        for m in self.items:
            s, e = (_localize(t, tz, m, key) for t, key in ((m.start, "start"), (m.end, "end")))
            out.append(replace(m, start=s, end=e))
        res = Markers(tuple(out), self.path)
        _check(res.items, self.path)
        return res

    def clip(self, first_ns: int, last_ns: int, *, tz: str) -> tuple[Markers, list[str]]:
        """Markers restricted to a recording from ``first_ns`` to ``last_ns`` (UTC ns).

        Returns
        -------
        tuple of (Markers, list of str)
            The markers inside (partly outside ones clipped) and one warning text per marker that
            lay wholly or partly outside.
        """
        lo = pd.Timestamp(first_ns, tz="UTC").tz_convert(tz)
        hi = pd.Timestamp(last_ns, tz="UTC").tz_convert(tz)
        keep, notes = [], []
        for m in self.items:
            if m.end <= lo or m.start >= hi:
                notes.append(f"{m.where()}: marker '{m.label}' {m.start.isoformat()} to {m.end.isoformat()} lies outside "
                             f"the recording ({lo.isoformat()} to {hi.isoformat()}); ignored. Check the date and zone")
                continue
            if m.start < lo or m.end > hi:
                notes.append(f"{m.where()}: marker '{m.label}' extends outside the recording; only "
                             f"{max(m.start, lo).isoformat()} to {min(m.end, hi).isoformat()} is used")
                m = replace(m, start=max(m.start, lo), end=min(m.end, hi))
            keep.append(m)
        return Markers(tuple(keep), self.path), notes

    def to_frame(self) -> pd.DataFrame:
        """``start``, ``end``, ``label``, ``source``, ``line`` (one row per marker)."""
        return pd.DataFrame({
            "start": [m.start for m in self.items], "end": [m.end for m in self.items],
            "label": pd.Series([m.label for m in self.items], dtype="string"),
            "source": pd.Series([m.source for m in self.items], dtype="string"),
            "line": pd.array([m.line for m in self.items], dtype="Int64"),
        })

    def to_dict(self) -> list[dict[str, Any]]:
        """JSON-ready list."""
        return [m.to_dict() for m in self.items]


def parse_time(text: str, *, path: str | None = None, line: int | None = None, key: str = "start") -> pd.Timestamp:
    """Parse an ISO-8601 time (with or without a UTC offset).

    Raises
    ------
    ConfigError
        Not an ISO-8601 time (the message names file, line and column).
    """
    s = str(text).strip()
    if not s:
        raise ConfigError(f"{key} is empty", path=path, line=line, hint="Give a start and an end time")
    try:
        if not _DATE.match(s) or len(s) > 64:
            raise ValueError(s)
        t = pd.Timestamp(s)
    except (ValueError, TypeError, OverflowError):
        raise ConfigError(f"{key} {clip(text)} is not an ISO-8601 date and time", path=path, line=line,
                          hint="Write times as 2026-03-03T10:00:00+00:00 (the offset is optional)") from None
    if t is pd.NaT:
        raise ConfigError(f"{key} is empty", path=path, line=line, hint="Give a start and an end time")
    if not 1970 <= t.year <= 2200:
        raise ConfigError(f"{key} {clip(text)} is in the year {t.year}, before or long after any recording", path=path,
                          line=line, hint="Check the year")
    return t.as_unit("ns")


# A full calendar date (2026-03-03 or 20260303) first; the time and offset may follow.
_DATE = re.compile(r"^\d{4}-?\d{2}-?\d{2}(?:$|[T ])")


def _localize(t: pd.Timestamp, tz: str, m: Marker, key: str) -> pd.Timestamp:
    if t.tzinfo is not None:
        return t.tz_convert(tz)
    try:
        return t.tz_localize(tz, ambiguous="raise", nonexistent="raise")
    except Exception:
        raise ConfigError(f"{key} {t.isoformat()} does not exist or is ambiguous in {tz} (clock change)",
                          path=m.source if m.line is None else _src_path(m), line=m.line,
                          hint="Add the UTC offset, e.g. 2026-10-25T01:30:00+01:00") from None


def _src_path(m: Marker) -> str:
    return m.source.split(":", 1)[1] if m.source.startswith("markers:") else m.source


def _check(items: Sequence[Marker], path: str | None) -> None:
    """End after start; no two markers with the same label overlap."""
    for m in items:
        if m.end <= m.start:
            what = "equals" if m.end == m.start else "is before"
            raise ConfigError(f"marker '{m.label}': end {m.end.isoformat()} {what} start {m.start.isoformat()}",
                              path=path or m.source, line=m.line, hint="Swap start and end, or fix the times")
    aware = all(m.start.tzinfo is not None for m in items) or all(m.start.tzinfo is None for m in items)
    if not aware:  # overlaps are checked again once every time is in one zone (resolve)
        return
    by_label: dict[str, list[Marker]] = {}
    for m in items:
        by_label.setdefault(m.label, []).append(m)
    for label, ms in by_label.items():
        ms = sorted(ms, key=lambda m: m.start)
        for a, b in itertools.pairwise(ms):
            if b.start < a.end:
                raise ConfigError(
                    f"marker '{label}' from {b.start.isoformat()} overlaps the one on {a.where()} "
                    f"({a.start.isoformat()} to {a.end.isoformat()})",
                    path=path or b.source, line=b.line,
                    hint="Merge the two lines into one period, or correct the times",
                )


def _label(text: str, *, path: str | None, line: int | None) -> str:
    lab = str(text).strip().lower()
    if not lab:
        raise ConfigError("label is empty", path=path, line=line, hint=f"Use one of: {', '.join(KNOWN_LABELS)}")
    if lab not in KNOWN_LABELS:
        import difflib

        close = difflib.get_close_matches(lab, KNOWN_LABELS, n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        warnings.warn(f"{path or 'markers'}:line {line}: label {clip(lab)} is not one impactlab acts on ({hint}known: "
                      f"{', '.join(KNOWN_LABELS)}); the line is kept but has no effect", DataQualityWarning, stacklevel=3)
    return lab


def _rows(text: str, path: str) -> Iterable[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(text))
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as err:
            raise ConfigError(f"not a CSV line ({clip(err)[1:-1]})", path=path, line=start,
                              hint="Each line is start,end,label; check for a stray quote") from None
        if not row or all(not c.strip() for c in row) or row[0].lstrip().startswith("#"):
            continue
        yield start, [c.strip() for c in row]


_MARKERS_FILE = TextFileKind(
    noun="markers file", max_bytes=16 << 20,  # ~200,000 markers; a bigger file is not a markers file
    size_note="a markers file is one short line per period", check_hint="Check that this is the markers file (start,end,label)",
    missing_hint="Check the path, or create it with impactlab mark", give_hint="Give the markers CSV file",
    binary_what="a markers CSV", utf8_hint="Save the file as CSV UTF-8",
)


def _read_text(p: str) -> str:
    """The markers file's text: a regular file of at most 16 MB, UTF-8 (a leading BOM dropped)."""
    return read_text_file(p, _MARKERS_FILE)


def read_markers(path: str | os.PathLike[str], *, source: str | None = None) -> Markers:
    """Read and check a markers CSV (``start,end,label``).

    Parameters
    ----------
    path : str or os.PathLike
        The file.
    source : str, optional
        Label source recorded on each marker (default ``markers:<file name>``).

    Returns
    -------
    Markers
        Sorted by start.

    Raises
    ------
    ConfigError
        Missing file or header, a bad time, an end not after its start, overlapping markers with the
        same label (the message names the file and line).

    Warns
    -----
    DataQualityWarning
        A label impactlab does not act on.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "m.csv"
    >>> _ = p.write_text("start,end,label\\n2026-03-03T10:00:00+00:00,2026-03-03T10:40:00+00:00,vest\\n")
    >>> [m.label for m in read_markers(p)]
    ['vest']
    """
    p = os.fspath(path)
    text = _read_text(p)
    src = source or f"markers:{Path(p).name}"
    rows = iter(_rows(text, p))
    first = next(rows, None)
    if first is None:
        return Markers((), p)
    n0, header = first
    cols = [c.lower() for c in header]
    if not all(h in cols for h in _HEADER):
        missing = ", ".join(h for h in _HEADER if h not in cols)
        what = "the first line" if n0 == 1 else "the first line that is not a comment"
        raise ConfigError(f"{what} should be the header start,end,label (it lacks {missing}); got {clip(','.join(header))}",
                          path=p, line=n0, hint="Add the line 'start,end,label' above the markers")
    ix = {h: cols.index(h) for h in _HEADER}
    items = []
    for n, row in rows:
        if len(row) < len(cols):
            raise ConfigError(f"expected {len(cols)} fields ({','.join(header)}), got {len(row)}", path=p, line=n,
                              hint="Each line is start,end,label")
        start = parse_time(row[ix["start"]], path=p, line=n, key="start")
        end = parse_time(row[ix["end"]], path=p, line=n, key="end")
        label = _label(row[ix["label"]], path=p, line=n)
        items.append(Marker(start, end, label, src, n))
    items.sort(key=lambda m: (_sort_key(m.start), m.line or 0))
    _check(items, p)
    return Markers(tuple(items), p)


def _sort_key(t: pd.Timestamp) -> pd.Timestamp:
    return t.tz_convert("UTC").tz_localize(None) if t.tzinfo is not None else t


def as_markers(obj: Any, *, source: str = "markers") -> Markers | None:
    """Markers from a :class:`Markers`, a path, or a DataFrame (``start``, ``end``, ``label``, optional ``source``).

    Raises
    ------
    ConfigError
        The same checks as :func:`read_markers`.
    """
    if obj is None:
        return None
    if isinstance(obj, Markers):
        return obj
    if isinstance(obj, str | os.PathLike):
        return read_markers(obj)
    if isinstance(obj, pd.DataFrame):
        missing = [c for c in _HEADER if c not in obj.columns]
        if missing:
            raise ConfigError(f"markers table lacks column(s) {', '.join(missing)}", key="markers",
                              hint="Give start, end and label columns")
        items = []
        for i, r in enumerate(obj.to_dict("records")):
            s = r.get("source")
            items.append(Marker(pd.Timestamp(r["start"]), pd.Timestamp(r["end"]),
                                _label(r["label"], path=source, line=i + 1),
                                str(s) if isinstance(s, str) and s else source, None))
        items.sort(key=lambda m: _sort_key(m.start))
        _check(items, None)
        return Markers(tuple(items), None)
    raise ConfigError(f"markers must be a file, a DataFrame or Markers, not {type(obj).__name__}", key="markers")


def append_marker(path: str | os.PathLike[str], label: str, start: str | pd.Timestamp, end: str | pd.Timestamp) -> Marker:
    """Append one checked marker to a markers CSV (created owner-only with its header when missing).

    The new line is written the way the file's last marker is (``T`` or space, seconds or not, ``Z`` or
    ``+00:00``); a file whose times all carry a UTC offset takes only times with one, and a file of
    local times (no offset, read in the recording's zone) only local times.

    Parameters
    ----------
    path : str or os.PathLike
        Markers file.
    label : str
        ``vest``, ``jumps``, ``vibration`` or ``walk``.
    start, end : str or pandas.Timestamp
        ISO-8601 times.

    Returns
    -------
    Marker
        The marker written (its ``line`` is the line it was written on).

    Raises
    ------
    ConfigError
        A bad time or label, end not after start, a time with (or without) a UTC offset unlike the
        file's, an overlap with a marker already in the file with the same label, or a file that
        cannot be read or written; nothing is written then.
    """
    ps = os.fspath(path)
    s = start if isinstance(start, pd.Timestamp) else parse_time(str(start), key="start")
    e = end if isinstance(end, pd.Timestamp) else parse_time(str(end), key="end")
    lab = str(label).strip().lower()
    if lab not in KNOWN_LABELS:
        import difflib

        close = difflib.get_close_matches(lab[:20], KNOWN_LABELS, n=1)
        raise ConfigError(f"unknown label {clip(label)}", path=ps, key="label",
                          hint=(f"Did you mean '{close[0]}'? " if close else "") + f"Use one of: {', '.join(KNOWN_LABELS)}")
    if (s.tzinfo is None) != (e.tzinfo is None):
        raise ConfigError(f"start {s.isoformat()} and end {e.isoformat()}: one has a UTC offset and the other not; "
                          "nothing was written", path=ps, hint="Write both with an offset or both without")
    if e <= s:
        what = "equals" if e == s else "is before"
        raise ConfigError(f"the end {e.isoformat()} {what} the start {s.isoformat()}; nothing was written", path=ps,
                          hint="Swap the start and the end, or fix the times")
    text = _read_text(ps) if os.path.lexists(ps) else ""
    existing = read_markers(ps) if text.strip() else Markers((), ps)
    sep, seconds, zulu = _style(text)
    aware = {m.start.tzinfo is not None for m in existing}
    if aware == {True} and s.tzinfo is None:
        raise ConfigError(f"the times in this file have a UTC offset and {s.isoformat()} has none; nothing was written",
                          path=ps, hint="Give the zone (impactlab mark --tz Europe/London) or write the offset, "
                          "e.g. 2026-03-03T10:00:00+00:00")
    if aware == {False} and s.tzinfo is not None:
        raise ConfigError(f"the times in this file have no UTC offset (they are read in the recording's zone) and "
                          f"{s.isoformat()} has one; nothing was written", path=ps,
                          hint="Write the times without an offset too (and without --tz)")
    for m in existing.with_label(lab):
        if (m.start.tzinfo is None) == (s.tzinfo is None) and m.start < e and s < m.end:
            raise ConfigError(f"this '{lab}' marker ({m.start.isoformat()} to {m.end.isoformat()}) overlaps the new one "
                              f"({s.isoformat()} to {e.isoformat()}); nothing was written", path=ps, line=m.line,
                              hint="Choose times outside it, or edit that line to cover both periods")
    head = "" if text.strip() else ",".join(_HEADER) + "\n"
    sep_nl = "\n" if text and not text.endswith(("\n", "\r")) else ""
    row = f"{_format_like(s, sep, seconds, zulu)},{_format_like(e, sep, seconds, zulu)},{lab}\n"
    line = (len(text.splitlines()) if text.strip() else 1) + 1
    try:
        fd = os.open(ps, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)  # client data: owner-only, like the store
        with os.fdopen(fd, "a", encoding="utf-8", newline="") as fh:
            fh.write(head + sep_nl + row)
    except OSError as err:
        raise ConfigError(f"cannot write the markers file ({err.strerror or type(err).__name__})", path=ps,
                          hint="Check that the folder exists and that you may write to it") from None
    return Marker(s, e, lab, f"markers:{Path(ps).name}", line)


def _style(text: str) -> tuple[str, bool, bool]:
    """(date-time separator, seconds written, ``Z`` for UTC) of the file's last marker; ISO defaults."""
    last = None
    rows = list(_rows(text, "")) if text.strip() else []
    if len(rows) > 1:
        cols = [c.lower() for c in rows[0][1]]
        if "start" in cols and len(rows[-1][1]) > cols.index("start"):
            last = rows[-1][1][cols.index("start")]
    if not last or len(last) < 11:
        return "T", True, False
    body = re.sub(r"(Z|[+-]\d{2}:?\d{2})$", "", last[11:])
    return last[10], body.count(":") >= 2, last.endswith("Z")


def _format_like(t: pd.Timestamp, sep: str, seconds: bool, zulu: bool) -> str:
    """``t`` in ISO-8601 with the separator, seconds and UTC notation of the file."""
    short = not seconds and t.second == 0 and t.microsecond == 0 and t.nanosecond == 0
    out = str(t.isoformat(sep=sep, timespec="minutes" if short else "auto"))
    if zulu and t.tzinfo is not None and t.utcoffset() == pd.Timedelta(0):
        out = out.removesuffix("+00:00") + "Z"
    return out
