"""Who each recording belongs to: a subjects CSV or a pattern on the path.

A subjects CSV has a ``subject_id`` column and, per row, a ``path`` (the recording file, relative
to the CSV's folder or to the working folder, or absolute) or a ``recording_id``; optional
per-subject columns feed that recording's analysis: ``body_mass_kg`` (GRF and loading rate),
``tz`` (the zone of a file whose clock has none, such as a plain or ActiGraph CSV) and
``placement`` (hip, back, ankle). Other columns (age, group, ...) are allowed and ignored. A
``--subject-pattern`` regular expression takes the id from the path instead: its group named
``subject``, else its first group, else the whole match.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from zoneinfo import available_timezones

from ..config import PLACEMENTS
from ..errors import ConfigError

__all__ = ["Subject", "SubjectTable", "assign_subjects", "read_subjects"]

_COLUMNS = ("subject_id", "body_mass_kg", "tz", "placement")


@dataclass(frozen=True)
class Subject:
    """What a batch knows about one recording's wearer.

    Attributes
    ----------
    subject_id : str or None
        The subject's identifier (None: the one in the file's metadata, if any).
    body_mass_kg : float or None
        Body mass (kg) for this recording, instead of ``--body-mass``.
    tz : str or None
        IANA zone of the recording's clock, instead of ``--tz``.
    placement : str or None
        Sensor placement for the force equations, instead of ``--placement``.
    """

    subject_id: str | None = None
    body_mass_kg: float | None = None
    tz: str | None = None
    placement: str | None = None

    def settings_key(self, settings_sha256: str) -> str:
        """The recording's settings hash: the batch's, combined with this subject's columns when any is set."""
        fields = {k: v for k, v in asdict(self).items() if v is not None}
        if not fields:
            return settings_sha256
        return hashlib.sha256(json.dumps({"batch": settings_sha256, "subject": fields}, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class SubjectTable:
    """A parsed subjects CSV: rows keyed by absolute path and by recording id."""

    source: str
    by_path: Mapping[str, Subject]
    by_id: Mapping[str, Subject]


def _cell(row: Mapping[str, str], name: str) -> str | None:
    v = (row.get(name) or "").strip()
    return v or None


def read_subjects(path: str | os.PathLike[str]) -> SubjectTable:
    """Read a subjects CSV (see the module docstring).

    Raises
    ------
    ConfigError
        Missing columns, a row naming neither path nor recording id, a key given twice, a body
        mass that is not a positive number, an unknown zone or placement (file and line named).
    """
    import csv

    p = Path(path)
    try:
        with open(p, newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.DictReader(fh))
            header = [h.strip() for h in (rows[0].keys() if rows else [])]
    except OSError as err:
        raise ConfigError(f"cannot read the subjects file {p}: {err.strerror or err}", key="subjects",
                          hint="Give a CSV with columns path (or recording_id) and subject_id") from None
    if "subject_id" not in header or not ({"path", "recording_id"} & set(header)):
        raise ConfigError(f"{p}: the subjects file needs a subject_id column and a path or recording_id column "
                          f"(it has {', '.join(header) or 'none'})", key="subjects",
                          hint="First line for example: path,subject_id,body_mass_kg,tz")
    zones = available_timezones()
    by_path: dict[str, Subject] = {}
    by_id: dict[str, Subject] = {}
    for line, raw in enumerate(rows, start=2):
        row = {k.strip(): v for k, v in raw.items() if k is not None}
        where = f"{p}, line {line}"
        mass = _cell(row, "body_mass_kg")
        try:
            kg = float(mass) if mass is not None else None
        except ValueError:
            kg = math.nan
        if kg is not None and not (math.isfinite(kg) and 0 < kg < 500):
            raise ConfigError(f"{where}: body_mass_kg {mass!r} is not a body mass in kg", key="subjects",
                              hint="Give a number such as 61.5, or leave the cell empty")
        tz = _cell(row, "tz")
        if tz is not None and tz not in zones:
            raise ConfigError(f"{where}: unknown time zone {tz!r}", key="subjects", hint="Use an IANA name such as Europe/London")
        placement = _cell(row, "placement")
        if placement is not None and placement not in PLACEMENTS:
            raise ConfigError(f"{where}: unknown placement {placement!r}", key="subjects",
                              hint=f"Use one of: {', '.join(PLACEMENTS)}")
        subject = Subject(_cell(row, "subject_id"), kg, tz, placement)
        keyed = False
        if (f := _cell(row, "path")) is not None:
            for base in {p.parent.absolute(), Path.cwd()}:
                key = os.path.normpath(os.path.join(base, os.path.expanduser(f)))
                if by_path.get(key, subject) != subject:
                    raise ConfigError(f"{where}: {f} is given twice", key="subjects", hint="Keep one row per recording")
                by_path[key] = subject
            keyed = True
        if (r := _cell(row, "recording_id")) is not None:
            if r in by_id:
                raise ConfigError(f"{where}: recording_id {r} is given twice", key="subjects", hint="Keep one row per recording")
            by_id[r] = subject
            keyed = True
        if not keyed:
            raise ConfigError(f"{where}: the row names neither a path nor a recording_id", key="subjects",
                              hint="Fill the path or recording_id cell")
    return SubjectTable(os.fspath(p), by_path, by_id)


def assign_subjects(
    paths: Sequence[Path],
    ids: Mapping[Path, str],
    *,
    table: SubjectTable | None = None,
    pattern: str | None = None,
) -> tuple[dict[Path, Subject], list[str]]:
    """Each recording's :class:`Subject`, from the subjects table (by path, then id) or the pattern.

    Parameters
    ----------
    paths : sequence of pathlib.Path
        The batch's recordings (absolute, as named).
    ids : mapping
        Path -> recording id.
    table : SubjectTable, optional
        A parsed subjects CSV.
    pattern : str, optional
        A regular expression searched in each path (``/``-separated).

    Returns
    -------
    (dict, list of str)
        Path -> Subject for the recordings matched, and the problems a user should hear about
        (rows of the table that match no recording; recordings the pattern does not match).

    Raises
    ------
    ConfigError
        ``pattern`` is not a valid regular expression.
    """
    out: dict[Path, Subject] = {}
    notes: list[str] = []
    rx = None
    if pattern is not None:
        try:
            rx = re.compile(pattern)
        except re.error as err:
            raise ConfigError(f"--subject-pattern {pattern!r} is not a regular expression: {err}", key="subject_pattern",
                              hint=r"For example 'sub-(?P<subject>\w+)/'") from None
    used: set[int] = set()
    missed = []
    for p in paths:
        s = None
        if table is not None:
            s = table.by_path.get(os.path.normpath(os.path.abspath(p))) or table.by_id.get(ids[p])
            if s is not None:
                used.add(id(s))
        if s is None and rx is not None:
            m = rx.search(Path(p).as_posix())
            if m is None:
                missed.append(ids[p])
            else:
                named = m.groupdict().get("subject")
                s = Subject(named if named is not None else (m.group(1) if m.groups() else m.group(0)))
        if s is not None:
            out[p] = s
    if table is not None:
        rows = {id(v): v for v in [*table.by_path.values(), *table.by_id.values()]}
        unused = sorted({v.subject_id or "?" for k, v in rows.items() if k not in used})
        if unused:
            notes.append(f"{table.source}: {len(unused)} row(s) match no recording of this batch "
                         f"(subjects {', '.join(unused[:10])}{' ...' if len(unused) > 10 else ''})")
    if missed:
        notes.append(f"--subject-pattern matches no subject in {len(missed)} recording path(s): "
                     f"{', '.join(missed[:10])}{' ...' if len(missed) > 10 else ''}")
    return out, notes
