"""The tables a weekly report is made from (:class:`WeekTables`), from the store, an analysis or a batch folder.

:meth:`impactlab.store.Store.week_tables` builds them from a client's stored facts;
:meth:`WeekTables.from_analysis` from one :class:`~impactlab.pipeline.Analysis` (no store needed);
:meth:`WeekTables.from_batch_folder` from one recording's folder written by ``impactlab batch``
(``<id>-Daily.csv``, ``<id>-PlanCheck.csv``, ``<id>-Sessions.csv``, ``<id>-Info.json``).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from ..errors import ImpactlabError, StoreError
from ..schema import DAILY, PLAN_CHECK, SESSIONS, coerce, empty

if TYPE_CHECKING:
    from ..pipeline import Analysis

__all__ = ["WeekTables", "iso_week", "parse_week", "weekly_counts"]

_WEEK_RE = re.compile(r"^(\d{4})-?W(\d{1,2})$", re.IGNORECASE)


def parse_week(week: str) -> dt.date:
    """Monday of an ISO week written ``YYYY-Www`` (e.g. ``2026-W10``).

    Raises
    ------
    StoreError
        Not an ISO week.
    """
    m = _WEEK_RE.match(str(week).strip())
    if not m:
        raise StoreError(f"{week!r} is not an ISO week", key="week",
                         hint="Write it as YYYY-Www, e.g. 2026-W10")
    try:
        return dt.date.fromisocalendar(int(m.group(1)), int(m.group(2)), 1)
    except ValueError:
        raise StoreError(f"{week!r} is not an ISO week that exists", key="week",
                         hint="ISO weeks run from W01 to W52 or W53") from None


def weekly_counts(daily: pd.DataFrame) -> dict[str, int | None]:
    """Impacts per week as whole counts: the mean per valid day × 7 rounded half up
    (:func:`impactlab.daily.per_week_count`, as :func:`impactlab.daily.weekly_summary`), for the report,
    ``history`` and their JSON.

    Returns
    -------
    dict
        ``valid_days`` and ``low``, ``medium``, ``high`` impacts per week (int; None without valid days).

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"valid": [True, True, False], "n_low": [5259, 5260, 1], "n_medium": [1, 2, 0],
    ...                   "n_high": [0, 0, 9]})
    >>> weekly_counts(d)
    {'valid_days': 2, 'low': 36817, 'medium': 11, 'high': 0}
    """
    from ..daily import per_week_count

    valid = daily[daily["valid"].astype(bool)] if len(daily) else daily
    out: dict[str, int | None] = {"valid_days": len(valid)}
    for band in ("low", "medium", "high"):
        out[band] = per_week_count(valid[f"n_{band}"])
    return out


def iso_week(d: dt.date) -> str:
    """``YYYY-Www`` of a date."""
    y, w, _ = d.isocalendar()
    return f"{y}-W{w:02d}"


@dataclass(frozen=True)
class WeekTables:
    """One client's ISO week as tables: what :func:`impactlab.report.weekly_report` reads.

    Attributes
    ----------
    client_id, client_name, client_note : str or None
        The client (name and note are plain text).
    body_mass_kg : float or None
        Stored body mass (kg), for the loading-method line.
    week : str
        ISO week ``YYYY-Www``.
    timezone : str
        Zone the days are cut in.
    daily, plan_check, sessions : pandas.DataFrame
        DAILY, PLAN_CHECK and SESSIONS rows of the week (days without a recording absent).
    recordings : list of dict
        Recordings overlapping the week: ``source``, ``qc``, ``settings``, ``impactlab_version``.
    wear_blocks : list of (int, float)
        Worn 15-min blocks in the week as (start, UTC ns; wear, s).
    history_daily, history_plan_check : pandas.DataFrame
        DAILY and PLAN_CHECK rows of the 8 weeks ending with this one (for the trend).
    plan_changes : list of dict
        Plan versions starting in the week that replace an earlier one
        (:func:`impactlab.plan.versions.plan_changes`): ``from`` (date), ``name``, ``previous`` (the replaced version's name).
    """

    client_id: str
    client_name: str | None
    week: str
    timezone: str
    daily: pd.DataFrame
    plan_check: pd.DataFrame
    sessions: pd.DataFrame
    recordings: list[dict[str, Any]] = field(default_factory=list)
    wear_blocks: list[tuple[int, float]] = field(default_factory=list)
    history_daily: pd.DataFrame | None = None
    history_plan_check: pd.DataFrame | None = None
    client_note: str | None = None
    body_mass_kg: float | None = None
    plan_changes: list[dict[str, Any]] = field(default_factory=list)

    @property
    def monday(self) -> dt.date:
        """First day of the week."""
        return parse_week(self.week)

    @classmethod
    def from_analysis(cls, analysis: Analysis, *, week: str | None = None, client_id: str | None = None,
                      client_name: str | None = None, body_mass_kg: float | None = None) -> WeekTables:
        """The week of one analysis (default: the ISO week of its first day).

        Parameters
        ----------
        analysis : Analysis
            Result of :func:`impactlab.analyze` (with ``plan=`` for plan checks).
        week : str, optional
            ISO week ``YYYY-Www``.
        client_id, client_name : str, optional
            Shown in the report (default: the recording's subject id, else its file name).
        body_mass_kg : float, optional
            The body mass the analysis used.
        """
        from ..pipeline import _jsonable

        meta = analysis.meta
        tz = meta.timezone
        daily = analysis.daily
        if week is None:
            if not len(daily):
                raise ImpactlabError("the analysis has no days", path=meta.source,
                                     hint="Analyse a recording with data, or give the week")
            week = iso_week(pd.Timestamp(daily["date"].iloc[0]).date())
        lo, hi = _week_bounds(week, tz)
        blocks: list[tuple[int, float]] = []
        wb = analysis.wear_blocks
        if wb is not None and len(wb):
            keep = (wb["start_ns"] >= lo) & (wb["start_ns"] < hi) & (~wb["nonwear"].astype(bool)) & (wb["wear_s"] > 0)
            blocks = [(int(s), float(w)) for s, w in zip(wb["start_ns"][keep], wb["wear_s"][keep], strict=True)]
        rec = _recording({"source": meta.source, "device": meta.device, "sample_rate_hz": float(meta.sample_rate_hz)},
                         _jsonable(dict(analysis.qc)), _jsonable(analysis.config.to_dict()), _version())
        checks = analysis.plan_check if analysis.plan_check is not None else empty(PLAN_CHECK)
        who = client_id or meta.subject_id or Path(str(meta.source)).stem
        return cls._cut(who, client_name, week, tz, daily, checks, analysis.sessions, [rec], blocks, body_mass_kg)

    @classmethod
    def from_batch_folder(cls, folder: str | os.PathLike[str], *, week: str | None = None,
                          client_name: str | None = None) -> WeekTables:
        """The week of one recording's batch output folder (``<id>-Daily.csv`` and its siblings).

        Raises
        ------
        ImpactlabError
            The folder holds no ``*-Daily.csv`` or ``*-Info.json``.
        """
        d = Path(folder)
        daily_files = sorted(d.glob("*-Daily.csv"))
        if not daily_files:
            raise ImpactlabError("no per-recording Daily table in this folder", path=d,
                                 hint="Pass one recording's folder written by 'impactlab batch', e.g. OUT/sim-day")
        rid = daily_files[0].name[: -len("-Daily.csv")]
        info_path = d / f"{rid}-Info.json"
        if not info_path.exists():
            raise ImpactlabError("no Info.json beside the Daily table", path=info_path,
                                 hint="Re-run 'impactlab batch' for this recording")
        info = json.loads(info_path.read_text(encoding="utf-8"))
        tz = str(info.get("recording", {}).get("timezone") or "UTC")
        daily = _read_csv(d / f"{rid}-Daily.csv", DAILY)
        checks = _read_csv(d / f"{rid}-PlanCheck.csv", PLAN_CHECK)
        sessions = _read_csv(d / f"{rid}-Sessions.csv", SESSIONS, tz=tz)
        if week is None:
            if not len(daily):
                raise ImpactlabError("the recording has no days", path=d, hint="Give --week YYYY-Www")
            week = iso_week(pd.Timestamp(daily["date"].iloc[0]).date())
        rec = _recording({"source": rid, **info.get("recording", {})}, info.get("qc", {}), info.get("settings", {}),
                         info.get("impactlab_version", _version()))
        subject = info.get("batch", {}).get("subject_id") or rid
        return cls._cut(str(subject), client_name, week, tz, daily, checks, sessions, [rec], [], None)

    @classmethod
    def _cut(cls, client_id: str, client_name: str | None, week: str, tz: str, daily: pd.DataFrame,
             checks: pd.DataFrame, sessions: pd.DataFrame, recs: list[dict[str, Any]],
             blocks: list[tuple[int, float]], body_mass_kg: float | None) -> WeekTables:
        monday = parse_week(week)
        s = pd.Timestamp(monday)
        e = s + pd.Timedelta(days=7)
        first = s - pd.Timedelta(weeks=7)
        lo, hi = _week_bounds(week, tz)

        def _between(df: pd.DataFrame, a: pd.Timestamp, b: pd.Timestamp) -> pd.DataFrame:
            dd = pd.to_datetime(df["date"])
            return df[(dd >= a) & (dd < b)].reset_index(drop=True)

        st = sessions["start"].dt.tz_convert("UTC").astype("datetime64[ns, UTC]").array.asi8 if len(sessions) else None
        ses = sessions[(st >= lo) & (st < hi)].reset_index(drop=True) if st is not None else sessions
        return cls(client_id=client_id, client_name=client_name, week=iso_week(monday), timezone=tz,
                   daily=_between(daily, s, e), plan_check=_between(checks, s, e), sessions=ses, recordings=recs,
                   wear_blocks=blocks, history_daily=_between(daily, first, e),
                   history_plan_check=_between(checks, first, e), body_mass_kg=body_mass_kg)


def _week_bounds(week: str, tz: str) -> tuple[int, int]:
    monday = parse_week(week)
    lo = pd.Timestamp(monday).tz_localize(tz, ambiguous=False, nonexistent="shift_forward").value
    hi = pd.Timestamp(monday + dt.timedelta(days=7)).tz_localize(tz, ambiguous=False, nonexistent="shift_forward").value
    return int(lo), int(hi)


def _read_csv(path: Path, schema: Mapping[str, object], tz: str | None = None) -> pd.DataFrame:
    if not path.exists():
        return empty(schema, tz=tz or "UTC")
    df = pd.read_csv(path)
    if not len(df):
        return empty(schema, tz=tz or "UTC")
    if "date" in df.columns:
        df["date"] = pd.to_datetime(df["date"]).astype("datetime64[ns]")
    for c in ("start", "end"):
        if c in df.columns:
            df[c] = pd.to_datetime(df[c], utc=True, format="ISO8601")
    if "met" in df.columns:
        df["met"] = pd.array([None if pd.isna(m) else bool(m) for m in df["met"]], dtype="boolean")
    return coerce(df, schema, tz=tz or "UTC")


def _version() -> str:
    from .._version import __version__

    return __version__


def _recording(r: dict[str, Any], qc: dict[str, Any], settings: dict[str, Any], version: str) -> dict[str, Any]:
    """A recording as the store lists it (:meth:`impactlab.store.Store.recordings`), from a JSON ``recording``
    object (times from its ``start``/``end``, else the QC's)."""
    def ns(iso: Any) -> int | None:
        return int(pd.Timestamp(iso).as_unit("ns").value) if iso else None

    return {"source": r.get("source"), "device": r.get("device"), "sample_rate_hz": r.get("sample_rate_hz"),
            "start_ns": ns(r.get("start") or qc.get("start")), "end_ns": ns(r.get("end") or qc.get("end")),
            "qc": qc, "settings": settings, "impactlab_version": version}
