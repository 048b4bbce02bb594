"""Collation: ``OUT/collated/`` rebuilt from the recording folders (:func:`collate`).

Batch tables are the per-recording tables with leading ``recording_id`` and ``subject_id`` columns
(docs/cli.md, Tables). In Parquet, times with a zone (``start``, ``end``) are stored in UTC, because recordings
may come from several zones; ``date`` is the local calendar day. CSV tables keep each recording's
text exactly as ``impactlab analyze`` wrote it. ``Summary`` has one row per recording, its columns
(:data:`SUMMARY_COLUMNS`) explained in ``Summary-Dictionary.csv``.
"""

from __future__ import annotations

import os
import shutil
import urllib.parse
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._private import open_private
from ..errors import ConfigError, ReadError
from ..report.adherence import ADHERENCE_COLUMNS, adherence_columns
from ..schema import BANDS, DAILY, PLAN_CHECK, SESSION_KINDS, SESSIONS, empty
from ._files import COLLATED, read_info, swap_in
from .clock import format_times, offset_text, with_clock
from .options import TableFormat

__all__ = ["CLOCK", "SUMMARY_COLUMNS", "TABLES", "collate", "dictionary", "zone_assumed", "zone_assumed_recordings"]

#: Tables collated from each recording folder, with their schema (:mod:`impactlab.schema`).
TABLES: dict[str, Mapping[str, object]] = {"Daily": DAILY, "Sessions": SESSIONS, "PlanCheck": PLAN_CHECK}
#: Time columns of each table: (instants, local calendar days), given the one-clock convention (:mod:`.clock`).
CLOCK: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "Daily": ((), ("date",)), "Sessions": (("start", "end"), ()), "PlanCheck": ((), ("date",)),
    "Impacts": (("time",), ()), "Warnings": (("first_occurrence",), ()),
}
#: Impacts columns added by the loading stage, with the dtype every partition gets (so the dataset reads as one).
_IMPACT_EXTRAS = {"peak_rate_gps": "float64", "model": "string", "load_mass_kg": "float64", "grf_n": "float64",
                  "grf_bw": "float64", "lr_nps": "float64", "outside_calibration": "boolean", "loading_flags": "string"}
#: Marks the reader's warning that a file's clock had no zone (impactlab.io._common.device_zone).
ZONE_ASSUMED = "without a zone; assumed"
_ISO_TIME = r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:[+-]\d\d:\d\d|Z))"
_TZ = "datetime64[ns, tz]"

# Prose for the per-week columns of the kinds known when the dictionary was written; a kind added to
# schema.SESSION_KINDS later gets its columns and a generic description by itself.
_KIND_WORDS = {"brisk_walk": "brisk-walking", "walk": "walking", "vest_walk": "weighted-vest walking",
               "vibration": "vibration-plate"}
_KIND_NOTES = {"walk": " (below brisk cadence)"}
_COUNT_WORDS = {"n_jumps": ("jumps/week", "Mean jumps (high impacts after a flight phase) per valid day x 7"),
                "jump_sets": ("sets/week", "Mean jump sets per valid day x 7")}


def _per_week_columns() -> list[tuple[str, str, str, str]]:
    """(Daily column, Summary column, unit, description) of every per-kind weekly figure, in SESSION_KINDS order."""
    out = []
    for kind, k in SESSION_KINDS.items():
        for col in (k.column, *k.extra):
            name = f"{col.removeprefix('n_')}_per_week"
            if k.unit == "min" and col == k.column:
                words = _KIND_WORDS.get(kind, kind.replace("_", " "))
                out.append((col, name, "min/week", f"Mean {words} minutes{_KIND_NOTES.get(kind, '')} per valid day x 7"))
            else:
                unit, desc = _COUNT_WORDS.get(col, (f"{col.removeprefix('n_').replace('_', ' ')}/week",
                                                    f"Mean {col.removeprefix('n_').replace('_', ' ')} per valid day x 7"))
                out.append((col, name, unit, desc))
    return out


_KIND_WEEKLY = _per_week_columns()
# Daily column -> Summary column of its mean per valid day x 7 (Hannam's weekly figure).
_PER_WEEK = {f"n_{b}": f"{b}_per_week" for b in BANDS} | {col: name for col, name, _u, _d in _KIND_WEEKLY}

#: The collated Summary table: (column, dtype, unit, description); written as its data dictionary.
SUMMARY_COLUMNS: tuple[tuple[str, str, str, str], ...] = (
    ("recording_id", "string", "", "Recording identifier: the file name as given, without extensions (files that share "
     "a name get the shortest parent folder path that tells them apart, sub01/day1); also its folder in OUT"),
    ("subject_id", "string", "", "Subject identifier from --subjects or --subject-pattern, else the file's metadata; "
     "empty when none names one"),
    ("source", "string", "", "Path of the recording file as given to the batch (for .gz, the .gz file)"),
    ("device", "string", "", "Device or format the recording came from"),
    ("timezone", "string", "", "IANA time zone of the recording; calendar days are cut at its midnight"),
    ("sample_rate_hz", "float64", "Hz", "Nominal sample rate of the file"),
    ("start", "datetime64[ns]", "local time", "First sample, local wall time of the recording's zone"),
    ("start_utc", "datetime64[ns, UTC]", "UTC", "First sample, UTC"),
    ("utc_offset", "string", "+HH:MM", "Offset of local time from UTC at the first sample"),
    ("end", "datetime64[ns]", "local time", "Last sample, local wall time of the recording's zone"),
    ("end_utc", "datetime64[ns, UTC]", "UTC", "Last sample, UTC"),
    ("n_samples", "Int64", "samples", "Samples read"),
    ("days", "Int64", "days", "Calendar days with at least one sample (rows of the Daily table)"),
    ("valid_days", "Int64", "days", "Days with at least the valid-day wear time (10 h in hannam2017)"),
    ("wear_h", "float64", "h", "Wear time over the whole recording (van Hees non-wear removed)"),
    ("n_low", "Int64", "impacts", "Low-band impacts (0.5-1.0 g above gravity in hannam2017) over all days, valid or not"),
    ("n_medium", "Int64", "impacts", "Medium-band impacts (1.0-1.5 g) over all days"),
    ("n_high", "Int64", "impacts", "High-band impacts (>= 1.5 g) over all days"),
    ("low_per_week", "Float64", "impacts/week", "Hannam's weekly figure: mean low-band impacts per valid day x 7; "
     "empty without a valid day; not rounded"),
    ("medium_per_week", "Float64", "impacts/week", "Mean medium-band impacts per valid day x 7"),
    ("high_per_week", "Float64", "impacts/week", "Mean high-band impacts per valid day x 7"),
    *((name, "Float64", unit, desc) for _col, name, unit, desc in _KIND_WEEKLY),
    ("gaps", "Int64", "gaps", "Gaps in the samples (time steps longer than 2.5 sample periods)"),
    ("clipped_samples", "Int64", "samples", "Samples at the sensor's range"),
    ("n_warnings", "Int64", "warnings", "Data-quality warnings (listed in the Warnings table and the recording's "
     "-Info.json, qc.warnings)"),
    ("zone_assumed", "boolean", "", "True when the file's clock had no zone and this computer's was assumed "
     "(give --tz or a tz column in --subjects)"),
    *ADHERENCE_COLUMNS,  # plan_met … plan_adherence: the one definition (report.adherence)
    ("preset", "string", "", "Method preset (hannam2017 unless --preset)"),
    ("impactlab_version", "string", "", "impactlab version that analysed the recording"),
    ("input_sha256", "string", "", "SHA-256 of the recording file (empty for folders not written by batch)"),
    ("settings_sha256", "string", "", "SHA-256 of the analysis options, files they name (plan, markers) and the "
     "impactlab version; rows with different values were analysed with different settings"),
)


def _folders(out: Path) -> list[tuple[str, Path, str, dict[str, Any]]]:
    """(recording_id, folder, stem, info) of every recording folder under ``out``, sorted by id.

    A recording folder holds one ``<stem>-Info.json``; folders without one are walked further
    (ids such as ``sub01/day1`` live in ``OUT/sub01/day1/``); hidden and ``collated`` are not.
    """
    found = []
    todo = [d for d in sorted(out.iterdir()) if d.is_dir() and not d.name.startswith(".") and d.name != COLLATED] \
        if out.is_dir() else []
    while todo:
        d = todo.pop(0)
        infos = sorted(d.glob("*-Info.json"))
        info = read_info(infos[0]) if len(infos) == 1 else None
        if info is None:
            todo.extend(x for x in sorted(d.iterdir()) if x.is_dir() and not x.name.startswith("."))
            continue
        stem = infos[0].name[: -len("-Info.json")]
        rid = str(info.get("batch", {}).get("recording_id") or d.relative_to(out).as_posix())
        found.append((rid, d, stem, info))
    return sorted(found, key=lambda x: x[0])


def _subject(info: Mapping[str, Any]) -> str | None:
    s = info.get("batch", {}).get("subject_id") or info.get("recording", {}).get("subject_id")
    return None if s is None else str(s)


def _typed(df: pd.DataFrame, schema: Mapping[str, object]) -> pd.DataFrame:
    """Give a per-recording CSV table its schema dtypes; zoned times become UTC."""
    out = df.copy()
    for c, d in schema.items():
        if c not in out.columns:
            continue
        s = out[c]
        if d == _TZ:
            out[c] = pd.to_datetime(s, utc=True, format="ISO8601").astype(pd.DatetimeTZDtype("ns", "UTC"))
        elif str(d).startswith("datetime64"):
            out[c] = pd.to_datetime(s, format="ISO8601").astype("datetime64[ns]")
        elif d == "bool" and s.dtype != bool:
            out[c] = s.astype("boolean").fillna(False).astype(bool)
        else:
            out[c] = s.astype(d)
    return out


def _with_ids(df: pd.DataFrame, rid: str, subject: str | None) -> pd.DataFrame:
    df = df.copy()
    df.insert(0, "subject_id", pd.Series([subject] * len(df), dtype="string", index=df.index))
    df.insert(0, "recording_id", pd.Series([rid] * len(df), dtype="string", index=df.index))
    return df


def _concat(name: str, parts: list[pd.DataFrame], schema: Mapping[str, object], typed: bool) -> pd.DataFrame:
    if typed:
        base = _with_ids(empty(schema, tz="UTC"), "", None)
    else:
        base = pd.DataFrame({c: pd.Series([], dtype="string") for c in ["recording_id", "subject_id", *schema]})
    zoned, dates = CLOCK[name]
    base = with_clock(base, "UTC", zoned=zoned, dates=dates)
    parts = [p for p in parts if len(p)]
    if not parts:
        return base
    res = pd.concat(parts, ignore_index=True)
    if typed:  # keep schema dtypes that an all-empty column would lose, and object columns as strings
        for c in res.columns:
            if res[c].dtype == object:
                res[c] = res[c].astype("string")
    return res


def _instant(text: object) -> tuple[pd.Timestamp | None, pd.Timestamp | None, int | None]:
    """(local wall time, UTC, offset in minutes) of an ISO-8601 time written with its offset."""
    if not isinstance(text, str) or not text:
        return None, None, None
    t = pd.Timestamp(text)
    if t.tzinfo is None:
        return t, None, None
    off = t.utcoffset()
    return t.tz_localize(None), t.tz_convert("UTC"), int(off.total_seconds() // 60) if off is not None else None


def _source(info: Mapping[str, Any]) -> str | None:
    """The recording's path as the user gave it (batch input path; the reader's source otherwise)."""
    src = info.get("batch", {}).get("input_path") or info.get("recording", {}).get("source")
    return None if src is None else str(src)


def zone_assumed(info: Mapping[str, Any]) -> bool:
    """Whether the reader had to assume this computer's zone for the recording's clock."""
    return any(ZONE_ASSUMED in str(w) for w in info.get("qc", {}).get("warnings") or [])


def _summary_row(rid: str, subject: str | None, info: Mapping[str, Any], daily: pd.DataFrame | None,
                 plan: pd.DataFrame | None) -> dict[str, Any]:
    rec = info.get("recording", {})
    qc = info.get("qc", {})
    start, start_utc, offset = _instant(qc.get("start"))
    end, end_utc, _ = _instant(qc.get("end"))
    row: dict[str, Any] = {
        "recording_id": rid, "subject_id": subject, "source": _source(info), "device": rec.get("device"),
        "timezone": rec.get("timezone"), "sample_rate_hz": rec.get("sample_rate_hz"), "start": start,
        "start_utc": start_utc, "utc_offset": offset, "end": end, "end_utc": end_utc,
        "n_samples": qc.get("n_samples"), "wear_h": qc.get("wear_h"),
        "gaps": qc.get("gaps"), "clipped_samples": qc.get("clipped_samples"),
        "n_warnings": len(qc.get("warnings") or []), "zone_assumed": zone_assumed(info),
        "preset": info.get("settings", {}).get("name"),
        "impactlab_version": info.get("impactlab_version"), "input_sha256": info.get("batch", {}).get("input_sha256"),
        "settings_sha256": info.get("batch", {}).get("settings_sha256"),
    }
    if daily is not None:
        valid = daily[daily["valid"].astype(bool)]
        row["days"] = len(daily)
        row["valid_days"] = len(valid)
        for col in (f"n_{b}" for b in BANDS):
            row[col] = int(daily[col].sum()) if col in daily else None
        for col, name in _PER_WEEK.items():
            row[name] = float(valid[col].astype(float).mean() * 7) if len(valid) and col in valid else None
    row.update(adherence_columns(plan))  # the one definition of met / not met / no data (report.adherence)
    return row


def _summary_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    cols = {}
    for name, dtype, _unit, _desc in SUMMARY_COLUMNS:
        values = [r.get(name) for r in rows]
        if dtype in ("Int64", "Float64"):
            values = [pd.NA if v is None or (isinstance(v, float) and not np.isfinite(v)) else v for v in values]
        elif dtype == "float64":
            values = [np.nan if v is None else float(v) for v in values]
        elif dtype.startswith("datetime64"):
            values = [pd.NaT if v is None else v for v in values]
        elif name == "utc_offset":
            cols[name] = offset_text(pd.Series(values, dtype="Float64"))
            continue
        cols[name] = pd.Series(values, dtype=dtype)
    return pd.DataFrame(cols)


def _dictionary_frame() -> pd.DataFrame:
    return pd.DataFrame(list(SUMMARY_COLUMNS), columns=["column", "dtype", "unit", "description"])


_IDS = (("recording_id", "string", "", "Recording identifier (see Summary)"),
        ("subject_id", "string", "", "Subject identifier (see Summary)"))


def _clock_entries(col: str, what: str, *, date: bool = False, offset: bool = True) -> list[tuple[str, str, str, str]]:
    if date:
        rows = [(col, "datetime64[ns]", "local date", f"{what}: the local calendar day (cut at the recording zone's midnight)"),
                (f"{col}_start_utc", "datetime64[ns, UTC]", "UTC", f"{what}: the UTC instant of that day's local midnight")]
        at = "that midnight"
    else:
        rows = [(col, "datetime64[ns]", "local time", f"{what}, local wall time of the recording's zone"),
                (f"{col}_utc", "datetime64[ns, UTC]", "UTC", f"{what}, UTC")]
        at = f"the row's {col}"
    if offset:
        rows.append(("utc_offset", "string", "+HH:MM", f"Offset of local time from UTC at {at}"))
    return rows


def dictionary() -> pd.DataFrame:
    """What every collated table's identifier and time columns mean (``Dictionary.csv``), and the Summary's columns.

    Every table follows one clock (:mod:`impactlab.batch.clock`): a time column is local wall time,
    ``<col>_utc`` beside it is UTC, and ``utc_offset`` is the offset between them.
    """
    rows: list[tuple[str, str, str, str, str]] = []

    def add(table: str, entries: list[tuple[str, str, str, str]]) -> None:
        rows.extend((table, *e) for e in entries)

    add("Daily", [*_IDS, *_clock_entries("date", "Day", date=True)])
    add("Sessions", [*_IDS, *_clock_entries("start", "Session start"), *_clock_entries("end", "Session end", offset=False)])
    add("PlanCheck", [*_IDS, *_clock_entries("date", "Day checked (weekly targets: the ISO week's Monday)", date=True)])
    add("Impacts", [*_IDS, *_clock_entries("time", "Time of the impact's peak sample")])
    add("Warnings", [*_IDS, ("warning", "string", "", "Warning text, without the file's path"),
                     ("count", "Int64", "times", "Times it was raised while the recording was analysed"),
                     *_clock_entries("first_occurrence", "The first time in the recording the warning names (empty "
                                     "when it names none)")])
    add("Summary", list(SUMMARY_COLUMNS))
    return pd.DataFrame(rows, columns=["table", "column", "dtype", "unit", "description"])


def _warnings_frame(rid: str, subject: str | None, info: Mapping[str, Any]) -> pd.DataFrame:
    """One row per distinct warning of a recording: text (path removed), count, first time it names."""
    listed = info.get("batch", {}).get("warnings")
    if listed is None:  # a folder from `impactlab analyze -o`: its qc warnings, once each
        listed = [{"warning": w, "count": 1} for w in info.get("qc", {}).get("warnings") or []]
    prefixes = {f"{x}: " for x in (_source(info), info.get("recording", {}).get("source")) if x}
    texts = []
    for w in listed:
        t = str(w.get("warning", ""))
        for pre in prefixes:
            t = t.removeprefix(pre)
        texts.append(t)
    df = pd.DataFrame({"warning": pd.Series(texts, dtype="string"),
                       "count": pd.Series([int(w.get("count", 1)) for w in listed], dtype="Int64")})
    df["first_occurrence"] = df["warning"].str.extract(_ISO_TIME, expand=False).astype("string")
    df = _with_ids(df, rid, subject)
    return with_clock(df, info.get("recording", {}).get("timezone"), zoned=CLOCK["Warnings"][0])


def _write_impacts(src: Path, dest: Path, rid: str, subject: str | None, tz: str | None) -> None:
    """One recording's impacts as a partition ``recording_id=<id>`` of the Impacts Parquet dataset."""
    from ..schema import IMPACTS

    df = pd.read_csv(src)
    schema = {**IMPACTS, "band": "string", **{c: d for c, d in _IMPACT_EXTRAS.items() if c in df.columns}}
    df = _typed(df, schema)
    for c in df.columns:
        if c not in schema:
            df[c] = df[c].astype("string")
    df.insert(0, "subject_id", pd.Series([subject] * len(df), dtype="string", index=df.index))
    df = with_clock(df, tz, zoned=CLOCK["Impacts"][0])
    part = dest / f"recording_id={urllib.parse.quote(rid, safe='')}"
    part.mkdir(parents=True)
    with open_private(part / "part-0.parquet", binary=True) as fh:
        df.to_parquet(fh, index=False)


def collate(out: str | os.PathLike[str], *, table_format: TableFormat = "parquet") -> dict[str, Path]:
    """Rebuild ``OUT/collated/`` from the recording folders in ``out``.

    Every folder holding one ``<stem>-Info.json`` counts as a recording (folders written by
    ``impactlab analyze -o OUT/<name>`` too). The tables are the per-recording ``Daily``,
    ``Sessions`` and ``PlanCheck`` tables with leading ``recording_id`` and ``subject_id`` columns,
    sorted by recording id; ``Summary`` (one row per recording; columns in :data:`SUMMARY_COLUMNS`,
    written beside it as ``Summary-Dictionary.csv``); ``Warnings`` (recording, warning, count,
    first occurrence); and ``Impacts``, always a Parquet dataset partitioned by recording
    (``Impacts/recording_id=<id>/``, read whole with ``pandas.read_parquet``). Every time column
    follows one clock: local wall time, ``<col>_utc`` and ``utc_offset`` (:mod:`impactlab.batch.clock`),
    explained with the identifiers in ``Dictionary.csv``. The folder is replaced as a whole, so a
    reader never sees half of it.

    Parameters
    ----------
    out : str or os.PathLike
        A batch output folder.
    table_format : {"parquet", "csv"}
        Format of the tables (the dictionaries are always CSV, Impacts always Parquet).

    Returns
    -------
    dict
        ``Daily``, ``Sessions``, ``PlanCheck``, ``Summary``, ``Warnings``, ``Impacts``,
        ``Summary-Dictionary``, ``Dictionary`` -> path.

    Raises
    ------
    ReadError
        ``out`` is not a folder, or a recording's table cannot be read.
    """
    if table_format not in ("csv", "parquet"):
        raise ConfigError(f"unknown table format {table_format!r}", key="format", hint="Use csv or parquet")
    out_p = Path(out)
    if not out_p.is_dir():
        raise ReadError("not a folder", path=out_p, hint="Give the -o folder of `impactlab batch`")
    typed = table_format == "parquet"
    parts: dict[str, list[pd.DataFrame]] = {name: [] for name in TABLES}
    rows = []
    warned = []
    tmp = out_p / f".tmp-{COLLATED}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    final = out_p / COLLATED
    try:
        (tmp / "Impacts").mkdir()
        for rid, folder, stem, info in _folders(out_p):
            subject = _subject(info)
            tz = info.get("recording", {}).get("timezone")
            frames: dict[str, pd.DataFrame] = {}
            for name, schema in TABLES.items():
                p = folder / f"{stem}-{name}.csv"
                if not p.is_file():
                    continue
                try:
                    text = pd.read_csv(p, dtype=str, keep_default_na=False)
                    frames[name] = _typed(pd.read_csv(p), schema)
                except (ValueError, TypeError, OSError) as err:
                    raise ReadError(f"cannot collate this table ({err})", path=p,
                                    hint="Delete the recording's folder and run the batch again") from err
                zoned, dates = CLOCK[name]
                parts[name].append(with_clock(_with_ids(frames[name] if typed else text, rid, subject), tz,
                                              zoned=zoned, dates=dates))
            rows.append(_summary_row(rid, subject, info, frames.get("Daily"), frames.get("PlanCheck")))
            warned.append(_warnings_frame(rid, subject, info))
            impacts = folder / f"{stem}-Impacts.csv"
            if impacts.is_file():
                try:
                    _write_impacts(impacts, tmp / "Impacts", rid, subject, tz)
                except (ValueError, TypeError, OSError) as err:
                    raise ReadError(f"cannot collate this table ({err})", path=impacts,
                                    hint="Delete the recording's folder and run the batch again") from err
        tables = {name: _concat(name, parts[name], schema, typed) for name, schema in TABLES.items()}
        tables["Summary"] = _summary_frame(rows)
        base = with_clock(_with_ids(pd.DataFrame({"warning": pd.Series([], dtype="string"),
                                                  "count": pd.Series([], dtype="Int64"),
                                                  "first_occurrence": pd.Series([], dtype="string")}), "", None),
                          "UTC", zoned=CLOCK["Warnings"][0])
        tables["Warnings"] = pd.concat([base, *[w for w in warned if len(w)]], ignore_index=True)
        paths: dict[str, Path] = {}
        for name, df in tables.items():
            p = tmp / f"{name}.{table_format}"
            if typed:
                with open_private(p, binary=True) as bfh:
                    df.to_parquet(bfh, index=False)
            else:
                with open_private(p) as fh:
                    format_times(df).to_csv(fh, index=False)
            paths[name] = final / p.name
        paths["Impacts"] = final / "Impacts"
        with open_private(tmp / "Summary-Dictionary.csv") as fh:  # every file of OUT is 0600: one rule
            _dictionary_frame().to_csv(fh, index=False)
        paths["Summary-Dictionary"] = final / "Summary-Dictionary.csv"
        with open_private(tmp / "Dictionary.csv") as fh:
            dictionary().to_csv(fh, index=False)
        paths["Dictionary"] = final / "Dictionary.csv"
        swap_in(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return paths


def zone_assumed_recordings(out: str | os.PathLike[str]) -> list[str]:
    """Recording ids in ``out`` whose file had no zone for its clock (this computer's was assumed)."""
    return [rid for rid, _folder, _stem, info in _folders(Path(out)) if zone_assumed(info)]
