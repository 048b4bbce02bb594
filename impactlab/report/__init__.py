"""Reports for therapists (weekly, per client) and clients (daily summary after an import).

Data first, presentation second: :func:`weekly_report` turns one client's ISO week of tables
(:class:`~impactlab.report.tables.WeekTables`: built by :meth:`impactlab.store.Store.week_tables`,
from an ``Analysis`` or from a batch folder) into a :class:`WeeklyReport`;
:func:`impactlab.report.html.render_weekly_html` turns it into one self-contained HTML file
(plots inline as SVG, no network), :func:`impactlab.report.browser.print_pdf` prints that HTML to
PDF with headless Chromium, and :meth:`WeeklyReport.to_json_dict` gives the same rows as JSON with
the keys of ``impactlab analyze --format json`` (``days`` and ``plan_check``, docs/cli.md, JSON output).

Grid verdicts come from the stored PLAN_CHECK rows: ``met``, ``not met``, ``no data`` (a day too
short to judge, or no recording that day: the cell then says ``no recording``) or ``not scheduled``
(the target does not apply that weekday).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .._version import __version__
from ..isotime import today_in
from ..plan import DAY_NAMES, Plan
from ..plan.versions import FROM_START, complete_checks
from ..schema import DAILY, PLAN_CHECK
from .adherence import adherence
from .plan_text import plan_sentences
from .tables import WeekTables, iso_week, parse_week, weekly_counts

if TYPE_CHECKING:
    from ..store import ImportResult, Store

__all__ = ["DailySummary", "adherence", "GridCell", "WeekTables", "WeeklyReport", "daily_summary", "iso_week", "parse_week",
           "weekly_counts", "weekly_report"]

STATUS = ("met", "not met", "no data", "not scheduled")


@dataclass(frozen=True)
class GridCell:
    """One cell of the day × target grid: ``status`` is one of :data:`STATUS`; ``note`` replaces the
    status in the cell's text (``no recording`` for a day without any recording)."""

    status: str
    required: float | None = None
    achieved: float | None = None
    unit: str | None = None
    partial: bool = False
    note: str | None = None

    @property
    def text(self) -> str:
        """Short text for the cell, e.g. ``met (52/50)``."""
        if self.note:
            return self.note
        if self.status in ("no data", "not scheduled") or self.achieved is None:
            return self.status
        return f"{self.status} ({_fmt(self.achieved)}/{_fmt(self.required)}{' min' if self.unit == 'min' else ''})"


@dataclass(frozen=True)
class WeeklyReport:
    """What the weekly therapist report shows (data only; see :mod:`impactlab.report.html`).

    Attributes
    ----------
    client_id, client_name, client_note : str or None
        The client (name and note are plain text).
    week : str
        ISO week, ``YYYY-Www``.
    monday : datetime.date
        First day of the week.
    days : list of datetime.date
        Monday to Sunday.
    daily : pandas.DataFrame
        DAILY rows stored for the week (days without any recording are absent).
    plan_check : pandas.DataFrame
        PLAN_CHECK rows for the week (empty without a plan).
    plan_name : str or None
        The plan's name.
    plan_targets : list of dict
        ``target``, ``period``, ``required``, ``unit``, ``days`` per target (from the plan).
    plan_text : list of dict
        The plan in words (:func:`~impactlab.report.plan_text.plan_sentences`): ``from``, ``name``,
        ``sentences`` for its first targets and each phase of a progression.
    plan_changes : list of dict
        Plan versions that start in the week (``impactlab plan set --from``): ``from`` (date), ``name``,
        ``previous`` (name of the version before) and ``previous_sentences``
        (what the version before asked on its last day; empty without one).
    grid : dict
        ``{target: [GridCell × 7]}`` for daily targets and ``{target: [GridCell]}`` for weekly ones.
    sessions : pandas.DataFrame
        SESSIONS rows starting in the week.
    wear : list of list of (float, float)
        Per day, worn periods as (start hour, end hour) in local time.
    flags : list of str
        Data-quality flags (gaps, clipping, tilt, low wear) of the recordings in the week.
    trend : list of dict
        The last 8 weeks (oldest first): ``week``, ``valid_days``, ``low``, ``medium``, ``high`` per
        week (mean per valid day × 7), ``targets_met``, ``targets_checked`` (met + not met),
        ``targets_no_data``, ``targets_not_scheduled`` and ``adherence`` (met ÷ checked, :func:`adherence`).
    method : dict
        ``preset``, ``settings`` (short text), ``conventions``, ``impactlab_version``.
    timezone : str
        Zone the days are cut in.
    """

    client_id: str
    client_name: str | None
    client_note: str | None
    week: str
    monday: dt.date
    days: list[dt.date]
    daily: pd.DataFrame
    plan_check: pd.DataFrame
    plan_name: str | None
    plan_targets: list[dict[str, Any]]
    grid: dict[str, list[GridCell]]
    sessions: pd.DataFrame
    wear: list[list[tuple[float, float]]]
    flags: list[str]
    trend: list[dict[str, Any]]
    method: dict[str, Any]
    timezone: str
    recordings: list[dict[str, Any]] = field(default_factory=list)
    plan_text: list[dict[str, Any]] = field(default_factory=list)
    plan_changes: list[dict[str, Any]] = field(default_factory=list)
    today: dt.date | None = None

    def missing_label(self, day: dt.date) -> str:
        """What a day without a recording says: ``to come`` after ``today`` (the week is not over), else ``no recording``."""
        return _missing_note(day, self.today)

    def day_row(self, day: dt.date) -> dict[str, Any] | None:
        """The DAILY row of ``day`` as a dict, or None when nothing was recorded that day."""
        hit = self.daily[self.daily["date"].dt.date == day]
        return None if hit.empty else hit.iloc[0].to_dict()

    @property
    def days_without_recording(self) -> int:
        """Days of the week up to ``today`` with no recording at all.

        Their checks are ``no data`` ("no recording") or ``not scheduled``.
        """
        recorded = {pd.Timestamp(d).date() for d in self.daily["date"]}
        return sum(d not in recorded and self.missing_label(d) == "no recording" for d in self.days)

    @property
    def days_to_come(self) -> int:
        """Days of the week after ``today`` (0 for a past week)."""
        return sum(self.missing_label(d) == "to come" for d in self.days)

    def to_json_dict(self) -> dict[str, Any]:
        """The week's rows with the keys of ``analyze --format json`` (``days``, ``plan_check``)."""
        from ..pipeline import _jsonable, days_json, plan_check_json

        days = days_json(self.daily)
        plan_check = plan_check_json(self.plan_check)
        return {
            "impactlab_version": __version__,
            "client": {"id": self.client_id, "name": self.client_name},
            "week": self.week,
            "start": self.monday.isoformat(),
            "end": (self.monday + dt.timedelta(days=6)).isoformat(),
            "timezone": self.timezone,
            "plan": {"name": self.plan_name, "targets": _jsonable(self.plan_targets),
                     "phases": [{"name": t["name"], "from": t["from"].isoformat() if t["from"] else None,
                                 "sentences": list(t["sentences"])} for t in self.plan_text],
                     "changes": [{"from": c["from"].isoformat(), "name": c["name"], "previous": c["previous"],
                                  "previous_sentences": list(c["previous_sentences"])} for c in self.plan_changes]},
            "days": days,
            "plan_check": plan_check,
            "grid": {t: [c.status for c in cells] for t, cells in self.grid.items()},
            "adherence": dict(adherence(self.plan_check)),
            "days_without_recording": self.days_without_recording,
            "days_to_come": self.days_to_come,
            "weekly": weekly_counts(self.daily),
            "sessions": [{k: _jsonable(v) for k, v in r.items()} for r in self.sessions.to_dict("records")],
            "flags": list(self.flags),
            "trend": _jsonable(self.trend),
            "method": _jsonable(self.method),
        }


def _fmt(v: float | None) -> str:
    if v is None:
        return "-"
    return f"{v:.0f}" if float(v).is_integer() or abs(v) >= 10 else f"{v:.1f}"


def weekly_report(tables: WeekTables, plan: Plan | None, *, today: dt.date | None = None) -> WeeklyReport:
    """Everything the weekly report shows for one client's ISO week.

    Parameters
    ----------
    tables : WeekTables
        The week's tables (:meth:`impactlab.store.Store.week_tables`, :meth:`WeekTables.from_analysis`
        or :meth:`WeekTables.from_batch_folder`).
    plan : Plan or None
        The plan in force at the week's end (its targets' settings are listed; None without a plan).
        Check rows missing for a day of the week (tables from an analysis or a batch folder) are
        completed against it (:func:`impactlab.plan.versions.complete_checks`); the store's are complete.
    today : datetime.date, optional
        The current date where the client lives (default: now in the week's time zone). Days after
        it are ``to come``, not ``no recording``, and get no check rows.

    Returns
    -------
    WeeklyReport
        Everything the weekly report shows.
    """
    monday = tables.monday
    days = [monday + dt.timedelta(days=i) for i in range(7)]
    tz = tables.timezone
    daily = tables.daily
    # one check per day and target (days without a recording included) whatever the tables came from:
    # the store's rows are complete already; an analysis or a batch folder's are completed with the plan
    versions = [(FROM_START, plan)] if plan is not None else []
    today = today or today_in(tz)
    checks = complete_checks(tables.plan_check, _dates(daily), versions, monday, days[-1], today)
    if len(checks) and "detail" in checks.columns:  # rows a store completed on a later date than ``today``
        checks = checks[~((checks["date"] > pd.Timestamp(today)) & (checks["detail"] == "no recording"))]
    plan_name, targets = _plan_summary(plan, checks)
    grid = _grid(checks, days, targets, today)
    wear = _wear_by_day(tables.wear_blocks, tz, days)
    flags = _flags(tables.recordings, daily) + _hints(daily, tables.sessions, plan, tables.body_mass_kg)
    hist_d = tables.history_daily if tables.history_daily is not None else daily
    hist_c = checks
    if tables.history_plan_check is not None:
        hist_c = complete_checks(tables.history_plan_check, _dates(hist_d), versions,
                                 monday - dt.timedelta(weeks=7), days[-1], today)
    trend = _trend(hist_d, hist_c, monday)
    method = _method(tables.recordings)
    loading = _loading_method(daily, tables.body_mass_kg)
    if loading is not None:
        method["loading"] = loading
    return WeeklyReport(
        client_id=tables.client_id, client_name=tables.client_name, client_note=tables.client_note,
        week=tables.week, monday=monday, days=days, daily=daily, plan_check=checks, plan_name=plan_name,
        plan_targets=targets, grid=grid, sessions=tables.sessions, wear=wear, flags=flags, trend=trend, method=method,
        timezone=tz, recordings=tables.recordings, plan_text=plan_sentences(plan) if plan is not None else [],
        plan_changes=[_change(c) for c in tables.plan_changes], today=today,
    )


def _change(c: dict[str, Any]) -> dict[str, Any]:
    """A plan change for the report: the version before said as it stood on its last day."""
    prev = c.get("previous_plan")
    said: list[str] = []
    if prev is not None:
        flat = prev.in_force(c["from"] - dt.timedelta(days=1))
        said = [s for seg in plan_sentences(flat) for s in seg["sentences"]]
    return {"from": c["from"], "name": c["name"], "previous": c["previous"], "previous_sentences": said}


def _dates(daily: pd.DataFrame) -> list[dt.date]:
    return [pd.Timestamp(d).date() for d in daily["date"]]


def _plan_summary(plan: Plan | None, checks: pd.DataFrame) -> tuple[str | None, list[dict[str, Any]]]:
    name = plan.name if plan is not None else None
    targets: list[dict[str, Any]] = []
    seen: set[str] = set()
    spec: dict[str, Any] = dict(plan.to_dict().get("targets", {})) if plan is not None else {}
    # what each target asks at the week's end: the last row that states it (the plan version and phase
    # in force then; rows of a skipped weekday state nothing), in the order the targets first appear
    stated = checks[checks["required"].notna()] if len(checks) else checks
    last = {str(r["target"]): r for r in stated.to_dict("records")}
    order = {t: i for i, t in enumerate(spec)}  # the plan's own order, then targets only earlier days had
    firsts = checks.drop_duplicates("target").to_dict("records")
    firsts.sort(key=lambda r: order.get(str(r["target"]), len(order)))
    for r in firsts:
        t = str(r["target"])
        seen.add(t)
        r = last.get(t, r)
        targets.append({"target": t, "period": str(r["period"]), "required": _plain(r["required"]),
                        "unit": _plain(r["unit"]), "settings": spec.get(t, {})})
    for t, s in spec.items():
        if t not in seen:
            targets.append({"target": t, "period": None, "required": None, "unit": None, "settings": s})
    return name, targets


def _plain(v: Any) -> Any:
    if v is None or v is pd.NA:
        return None
    if isinstance(v, np.generic):
        return v.item()
    return v


def _missing_note(day: dt.date, today: dt.date | None) -> str:
    """The cell text of a day without a recording: ``to come`` after ``today``, else ``no recording``."""
    return "to come" if today is not None and day > today else "no recording"


def _grid(checks: pd.DataFrame, days: list[dt.date], targets: list[dict[str, Any]],
          today: dt.date) -> dict[str, list[GridCell]]:
    grid: dict[str, list[GridCell]] = {}
    by = {(pd.Timestamp(r["date"]).date(), str(r["target"])): r for r in checks.to_dict("records")}
    checked = {d for d, _ in by}  # days with a recording: their plan version was checked
    for t in targets:
        name = t["target"]
        if t["period"] == "week":
            r = by.get((days[0], name))
            grid[name] = [_cell(r)]
        else:
            on = set(t["settings"].get("days") or DAY_NAMES)
            grid[name] = [GridCell("not scheduled", note="not in that day's plan")
                          if (d, name) not in by and d in checked else
                          _cell(by.get((d, name)), DAY_NAMES[d.weekday()] in on, missing=_missing_note(d, today))
                          for d in days]
    return grid


def _cell(r: dict[str, Any] | None, scheduled: bool = True, *, missing: str = "no recording") -> GridCell:
    if r is None:  # no recording that day and no check row (tables without the store's completed rows)
        return GridCell("no data", note=missing) if scheduled else GridCell("not scheduled")
    detail = r.get("detail")
    note = str(detail) if isinstance(detail, str) and detail in ("no recording", "not in that day's plan") else None
    achieved = _plain(r["achieved"])
    return GridCell(str(r["status"]), _plain(r["required"]), None if achieved != achieved else achieved,
                    _plain(r["unit"]), bool(r["partial"]), note=note)


def _wear_by_day(rows: list[tuple[int, float]], tz: str, days: list[dt.date]) -> list[list[tuple[float, float]]]:
    out: list[list[tuple[float, float]]] = [[] for _ in days]
    index = {d: i for i, d in enumerate(days)}
    for start_ns, wear_s in rows:
        t = pd.Timestamp(start_ns, tz="UTC").tz_convert(tz)
        i = index.get(t.date())
        if i is None:
            continue
        h0 = t.hour + t.minute / 60 + t.second / 3600
        h1 = min(24.0, h0 + wear_s / 3600)
        if out[i] and abs(out[i][-1][1] - h0) < 1e-6:
            out[i][-1] = (out[i][-1][0], h1)
        else:
            out[i].append((h0, h1))
    return out


def _flags(recs: list[dict[str, Any]], daily: pd.DataFrame) -> list[str]:
    flags: list[str] = []
    for r in recs:
        q = r["qc"]
        name = str(r["source"]).rsplit("/", 1)[-1]
        if q.get("gaps"):
            flags.append(f"{name}: {q['gaps']} gap(s) in the samples (not filled; less wear time those days)")
        if q.get("clipped_samples"):
            flags.append(f"{name}: {q['clipped_samples']} sample(s) at the sensor range (impact heights are lower bounds)")
        med = q.get("vertical_still_median_g")
        if med is not None and not 0.9 <= float(med) <= 1.1:
            flags.append(f"{name}: vertical axis reads {float(med):.2f} g at rest (expected 0.9-1.1 g): tilted "
                         "sensor or wrong axis")
        tilt = q.get("tilt_deg")
        if tilt is not None and float(tilt) > 15.0:
            flags.append(f"{name}: the vertical axis is {float(tilt):.0f} degrees from gravity at rest (over 15): "
                         "impacts move between bands")
        comp = q.get("comparable_to_hannam") or {}
        if comp.get("high") is False:
            flags.append(f"{name}: high-band counts are not comparable with Hannam's norms ({comp.get('reason')})")
    if "comparable_to_hannam" in daily.columns:
        low = [d.strftime("%a %d %b") for d, c in zip(daily["date"], daily["comparable_to_hannam"], strict=True) if not c]
        if low:
            flags.append("High-band counts not comparable with Hannam's norms (a recording sampled below the "
                         f"preset's rate): {', '.join(low)}")
    short = [d.strftime("%a %d %b") for d, v in zip(daily["date"], daily["valid"], strict=True) if not v]
    if short:
        flags.append(f"Days with less than the valid-day wear time (not counted in weekly figures): {', '.join(short)}")
    return flags


def _hints(daily: pd.DataFrame, sessions: pd.DataFrame, plan: Plan | None, body_mass_kg: float | None) -> list[str]:
    """What the therapist can add to get more from the data: a body mass (GRF), vest-walk markers."""
    out = []
    if body_mass_kg is None and len(daily):
        out.append("No body mass is stored: DSS and OI use peak acceleration (g) as a proxy. Add it with "
                   "--body-mass KG on the next import to get peak GRF in body weights.")
    if plan is not None and plan.targets.vest_walk is not None and len(daily):
        marked = float(daily["vest_walk_min"].sum()) if "vest_walk_min" in daily.columns else 0.0
        walks = int((sessions["kind"].astype(str).isin(["brisk_walk", "walk"])).sum()) if len(sessions) else 0
        if marked == 0 and walks:
            out.append(f"No vest walk is marked this week ({walks} walk(s) counted as walking): walks with a vest "
                       "need a marker (impactlab mark, or --markers CSV on import).")
    return out


def _trend(daily: pd.DataFrame, checks: pd.DataFrame, monday: dt.date) -> list[dict[str, Any]]:
    first = monday - dt.timedelta(weeks=7)
    out = []
    for k in range(8):
        m = first + dt.timedelta(weeks=k)
        s = pd.Timestamp(m)
        e = s + pd.Timedelta(days=7)
        dd = daily[(daily["date"] >= s) & (daily["date"] < e)]
        cc = checks[(checks["date"] >= s) & (checks["date"] < e)]
        w = weekly_counts(dd)
        a = adherence(cc)
        out.append({"week": iso_week(m), "days_recorded": len(dd), "valid_days": w["valid_days"], "low": w["low"],
                    "medium": w["medium"], "high": w["high"], "targets_met": a["met"],
                    "targets_checked": a["checked"], "targets_no_data": a["no_data"],
                    "targets_not_scheduled": a["not_scheduled"], "adherence": a["rate"]})
    return out


def _method(recs: list[dict[str, Any]]) -> dict[str, Any]:
    from ..config import DetectionConfig

    cfg: dict[str, Any]  # a stored settings dict (JSON)
    if not recs:
        cfg = dict(DetectionConfig().to_dict().items())
        versions = [__version__]
    else:
        cfg = recs[-1]["settings"]
        versions = sorted({r["impactlab_version"] for r in recs})
    edges = ", ".join(f"{n} >= {e:g} g" for n, e in zip(cfg.get("band_names", []), cfg.get("band_edges_g", []), strict=False))
    rate = cfg.get("target_rate_hz")
    wear = cfg.get("wear", {}) or {}
    settings = (f"{'resampled to ' + format(rate, 'g') + ' Hz' if rate else 'native rate'}; order-{cfg.get('filter_order')} "
                f"{cfg.get('lowpass_hz'):g} Hz zero-phase low-pass; {cfg.get('vector')} peaks {edges} above gravity, "
                f">= {cfg.get('min_distance_s'):g} s apart; valid day >= {wear.get('valid_day_h', 10):g} h wear")
    return {"preset": cfg.get("name"), "settings": settings, "conventions": cfg.get("conventions"),
            "impactlab_version": __version__, "analysed_with": versions}


def _loading_method(daily: pd.DataFrame, body_mass_kg: float | None) -> dict[str, Any] | None:
    """How the week's bone-loading indices were computed (None when the days have none).

    ``basis`` is ``grf_bw`` (peak GRF in body weights: body mass known), ``acc_g`` (the
    acceleration proxy) or ``mixed`` (days built under both).
    """
    if "load_basis" not in daily.columns:
        return None
    bases = sorted({str(b) for b in daily["load_basis"] if isinstance(b, str)})
    if not bases:
        return None
    basis = bases[0] if len(bases) == 1 else "mixed"
    m = "DSS = (sum of stimulus^4)^(1/4) (Whalen et al. 1988), OI = peak stimulus x ln(n + 1) per session (Turner & Robling 2003)"
    if basis == "grf_bw":
        mass = f", body mass {body_mass_kg:g} kg" if body_mass_kg is not None else ""
        text = (f"{m}, with the stimulus the peak ground reaction force in body weights predicted per impact "
                f"(Veras et al., hip{mass}); peak GRF (BW) is the day's highest.")
        unit = "BW"
    elif basis == "acc_g":
        text = (f"{m}, with the stimulus the peak acceleration in g (gravity included) as a proxy: no body mass "
                "is stored for this client, so no GRF is predicted.")
        unit = "g"
    else:
        text = (f"{m}; days built while a body mass was stored use the predicted peak GRF in body weights, "
                "the others the peak acceleration in g (proxy).")
        unit = "BW or g"
    return {"basis": basis, "body_mass_kg": body_mass_kg if basis != "acc_g" else None, "unit": unit, "text": text}


@dataclass(frozen=True)
class DailySummary:
    """A client's short summary of the days an import touched.

    Attributes
    ----------
    client_id, client_name : str or None
        The client.
    daily : pandas.DataFrame
        DAILY rows of those days (from the store: all data of the day, not only this import).
    plan_check : pandas.DataFrame
        PLAN_CHECK rows of those days and their weeks.
    added : dict
        ``impacts``, ``sessions``, ``wear_blocks`` new in this import; ``already_imported``.
    source : str
        The recording.
    """

    client_id: str
    client_name: str | None
    daily: pd.DataFrame
    plan_check: pd.DataFrame
    added: dict[str, Any]
    source: str

    def lines(self) -> list[str]:
        """The summary as short plain sentences (one per day, then targets)."""
        out = []
        for r in self.daily.itertuples(index=False):
            out.append(f"{r.date:%a %d %b}: {r.n_low + r.n_medium + r.n_high} impacts (low {r.n_low}, medium "
                       f"{r.n_medium}, high {r.n_high}), worn {r.wear_h:.1f} h{'' if r.valid else ' (short day)'}")
        for r in self.plan_check.to_dict("records"):
            if r["status"] == "not scheduled":
                continue
            when = "week of " if r["period"] == "week" else ""
            out.append(f"{when}{pd.Timestamp(r['date']):%a %d %b} {r['target']}: {r['status']}")
        return out


def daily_summary(store: Store, result: ImportResult, source: str | None = None) -> DailySummary:
    """Summary of the days an :class:`~impactlab.store.ImportResult` touched, read from the store.

    Parameters
    ----------
    store : Store
        The open store.
    result : ImportResult
        What the import did.
    source : str, optional
        The file as the user named it; default the recording's source (or, for a file skipped by its
        hash, the store's raw copy).

    Returns
    -------
    DailySummary
        The days, their plan checks, and what was added.
    """
    info = store.client(result.client_id)
    dates = result.dates
    if dates:
        daily = store.daily(result.client_id, dates[0], dates[-1])
        checks = store.plan_checks(result.client_id, dates[0], dates[-1])
        first = pd.Timestamp(dates[0])
        monday = (first - pd.Timedelta(days=first.weekday())).strftime("%Y-%m-%d")
        weekly = store.plan_checks(result.client_id, monday, dates[-1])
        weekly = weekly[weekly["period"] == "week"]
        checks = pd.concat([checks[checks["period"] != "week"], weekly], ignore_index=True) if len(weekly) else checks
        checks = checks[checks["status"] != "not scheduled"]  # the client's summary lists what was asked of them
    else:
        from ..schema import empty

        daily, checks = empty(DAILY), empty(PLAN_CHECK)
    added = {"impacts": result.n_impacts_added, "sessions": result.n_sessions_added,
             "wear_blocks": result.n_blocks_added, "already_imported": result.already_imported}
    if source is not None:
        src = source
    else:
        src = result.analysis.meta.source if result.analysis is not None else str(result.raw_path)
    return DailySummary(result.client_id, info.name, daily, checks.reset_index(drop=True), added, src)
