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
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from zoneinfo import available_timezones

from ..config import BODY_MASS_RANGE_KG, PLACEMENTS
from ..errors import ConfigError
from ..io._common import clip

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


def _body_mass(cell: str | None, path: Path, line: int) -> float | None:
    """The ``body_mass_kg`` cell as kg (None when empty), within :data:`~impactlab.config.BODY_MASS_RANGE_KG`.

    Parameters
    ----------
    cell : str or None
        The stripped cell text (None: empty).
    path, line : pathlib.Path, int
        The subjects file and the line of the row (the error's ``path`` and ``line``).

    Returns
    -------
    float or None
        The body mass in kg; None for an empty cell (the recording is analysed without one, or with
        ``--body-mass``).

    Raises
    ------
    ConfigError
        Not a number, not finite, or outside the plausible range (the same as ``--body-mass``).
    """
    if cell is None:
        return None
    lo, hi = BODY_MASS_RANGE_KG
    try:
        kg = float(cell)
    except ValueError:
        raise ConfigError(f"body_mass_kg {clip(cell)} is not a body mass in kg (a number, {lo:g}-{hi:g})",
                          path=path, line=line, hint="Give a number such as 61.5, or leave the cell empty") from None
    if not lo <= kg <= hi:  # NaN and inf fail too
        raise ConfigError(f"body_mass_kg {clip(cell)} is not a plausible body mass: the allowed range is "
                          f"{lo:g}-{hi:g} kg (as for --body-mass)", path=path, line=line,
                          hint="Correct the cell (in kg; 1 lb = 0.454 kg), or leave it empty to analyse this recording "
                          "without a body mass")
    return kg


def read_subjects(path: str | os.PathLike[str]) -> SubjectTable:
    """Read a subjects CSV (see the module docstring).

    Raises
    ------
    ConfigError
        Missing columns, a row naming neither path nor recording id, a key given twice, a body
        mass that is not a number in :data:`~impactlab.config.BODY_MASS_RANGE_KG` (10-300 kg, as
        for ``--body-mass``; an empty cell is allowed), an unknown zone or placement; a file that is
        not UTF-8 text or not well-formed CSV (an unclosed quote), or has a header but no rows. The
        error's ``path`` and ``line`` say where (the header is line 1).
    """
    import csv

    p = Path(path)
    reader = None
    try:
        with open(p, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh, strict=True)
            fields = reader.fieldnames  # read even when no row follows
            # the line each row ends on, as an editor counts (header = 1; blank lines, which the
            # reader skips, and line breaks inside quoted cells counted)
            rows = [(reader.line_num, raw) for raw in reader]
    except OSError as err:
        raise ConfigError(f"cannot read the subjects file: {err.strerror or err}", path=p, key="subjects",
                          hint="Give a CSV with columns path (or recording_id) and subject_id") from None
    except UnicodeDecodeError:
        blob = p.read_bytes().removeprefix(b"\xef\xbb\xbf")
        try:  # the whole file, to name the line and byte (the text reader decodes in blocks)
            blob.decode("utf-8")
            bad_line, byte = None, ""
        except UnicodeDecodeError as e:
            bad_line, byte = blob.count(b"\n", 0, e.start) + 1, f" (byte 0x{blob[e.start]:02x})"
        raise ConfigError(f"the subjects file is not UTF-8 text{byte}", path=p, line=bad_line,
                          hint="Save it as CSV UTF-8 (in Excel: File > Save As > CSV UTF-8)") from None
    except csv.Error as err:
        # the broken record starts on the line after the last one read whole
        raise ConfigError(f"the subjects file is not a well-formed CSV ({err})", path=p,
                          line=reader.line_num + 1 if reader is not None else None,
                          hint="Check the quotes from this line on: a cell that holds a comma or a quote is written "
                          "\"like \"\"this\"\", here\"") from None
    header = [h.strip() for h in (fields or [])]
    if "subject_id" not in header or not ({"path", "recording_id"} & set(header)):
        raise ConfigError(f"the subjects file needs a subject_id column and a path or recording_id column "
                          f"(its first line has {', '.join(h for h in header if h) or 'no columns'})", path=p, line=1,
                          key="subjects", hint="First line for example: path,subject_id,body_mass_kg,tz")
    if not rows:
        raise ConfigError("the subjects file has a header but no rows: no recording is assigned a subject", path=p,
                          key="subjects", hint="Add one row per recording (path or recording_id, subject_id), "
                          "or leave out --subjects")
    zones = available_timezones()
    by_path: dict[str, Subject] = {}
    by_id: dict[str, Subject] = {}
    for line, raw in rows:
        row = {k.strip(): v for k, v in raw.items() if k is not None}
        kg = _body_mass(_cell(row, "body_mass_kg"), p, line)
        tz = _cell(row, "tz")
        if tz is not None and tz not in zones:
            raise ConfigError(f"unknown time zone {tz!r}", path=p, line=line, hint="Use an IANA name such as Europe/London")
        placement = _cell(row, "placement")
        if placement is not None and placement not in PLACEMENTS:
            raise ConfigError(f"unknown placement {placement!r}", path=p, line=line,
                              hint=f"Use one of: {', '.join(PLACEMENTS)}")
        subject = Subject(_cell(row, "subject_id"), kg, tz, placement)
        keyed = False
        if (f := _cell(row, "path")) is not None:
            for base in {p.parent.absolute(), Path.cwd()}:
                key = os.path.normpath(os.path.join(base, os.path.expanduser(f)))
                if by_path.get(key, subject) != subject:
                    raise ConfigError(f"{f} is given twice", path=p, line=line, hint="Keep one row per recording")
                by_path[key] = subject
            keyed = True
        if (r := _cell(row, "recording_id")) is not None:
            if r in by_id:
                raise ConfigError(f"recording_id {r} is given twice", path=p, line=line, hint="Keep one row per recording")
            by_id[r] = subject
            keyed = True
        if not keyed:
            raise ConfigError("the row names neither a path nor a recording_id", path=p, line=line,
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
