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
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import ConfigError, DataQualityWarning

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
    try:
        if not s or s[0] not in "0123456789":
            raise ValueError(s)
        t = pd.Timestamp(s)
    except (ValueError, TypeError):
        raise ConfigError(f"{key} {text!r} is not an ISO-8601 time", path=path, line=line,
                          hint="Write times as 2026-03-03T10:00:00+00:00 (the offset is optional)") from None
    if t is pd.NaT:
        raise ConfigError(f"{key} is empty", path=path, line=line, hint="Give a start and an end time")
    return t


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
        warnings.warn(f"{path or 'markers'}:line {line}: label '{lab}' is not one impactlab acts on ({hint}known: "
                      f"{', '.join(KNOWN_LABELS)}); the line is kept but has no effect", DataQualityWarning, stacklevel=3)
    return lab


def _rows(text: str, path: str) -> Iterable[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(text))
    for n, row in enumerate(reader, start=1):
        if not row or all(not c.strip() for c in row) or row[0].lstrip().startswith("#"):
            continue
        yield n, [c.strip() for c in row]


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
    try:
        text = Path(p).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError("markers file not found", path=p, hint="Check the path, or create it with impactlab mark") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"cannot read the markers file ({err})", path=p) from None
    src = source or f"markers:{Path(p).name}"
    rows = iter(_rows(text, p))
    first = next(rows, None)
    if first is None:
        return Markers((), p)
    n0, header = first
    cols = [c.lower() for c in header]
    if not all(h in cols for h in _HEADER):
        raise ConfigError(f"the first line must be a header with start,end,label; got {','.join(header)!r}",
                          path=p, line=n0, hint="Add the line 'start,end,label' at the top")
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
    """Append one checked marker to a markers CSV (created with its header when missing).

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
        The marker written.

    Raises
    ------
    ConfigError
        A bad time or label, end not after start, or an overlap with a marker already in the file
        with the same label; nothing is written then.
    """
    p = Path(path)
    s = parse_time(str(start), path=os.fspath(p), key="start") if not isinstance(start, pd.Timestamp) else start
    e = parse_time(str(end), path=os.fspath(p), key="end") if not isinstance(end, pd.Timestamp) else end
    lab = str(label).strip().lower()
    if lab not in KNOWN_LABELS:
        import difflib

        close = difflib.get_close_matches(lab, KNOWN_LABELS, n=1)
        raise ConfigError(f"unknown label {label!r}", key="label",
                          hint=(f"Did you mean '{close[0]}'? " if close else "") + f"Use one of: {', '.join(KNOWN_LABELS)}")
    existing = read_markers(p) if p.exists() and p.stat().st_size else Markers((), os.fspath(p))
    n_lines = len(p.read_text(encoding="utf-8-sig").splitlines()) if p.exists() else 0
    line = max(n_lines + 1, 2)
    new = Marker(s, e, lab, f"markers:{p.name}", line)
    items = list(existing.items)
    if all((m.start.tzinfo is None) == (s.tzinfo is None) for m in items):
        _check([*items, new], os.fspath(p))
    else:
        _check([new], os.fspath(p))
    text = p.read_text(encoding="utf-8-sig") if p.exists() else ""
    with open(p, "a", encoding="utf-8", newline="") as fh:
        if not text.strip():
            fh.write(",".join(_HEADER) + "\n")
        elif not text.endswith("\n"):
            fh.write("\n")
        fh.write(f"{s.isoformat()},{e.isoformat()},{lab}\n")
    return new
