"""Checking days against a plan: one PlanCheck row per day and per-day target, one per ISO week and weekly target."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..schema import BANDS, PLAN_CHECK, SESSION_KINDS, coerce, empty
from .model import DAY_NAMES, Plan

_COLUMN = {k.target: k.column for k in SESSION_KINDS.values() if k.target is not None}


def _achieved(daily: pd.DataFrame, name: str, target: Any) -> np.ndarray:
    if name == "high_impacts":
        bands = BANDS[BANDS.index(target.min_band):]
        return np.asarray(daily[[f"n_{b}" for b in bands]].to_numpy(np.float64).sum(axis=1), dtype=np.float64)
    return np.asarray(daily[_COLUMN[name]].to_numpy(np.float64), dtype=np.float64)


def check_plan(daily: pd.DataFrame, plan: Plan, *, unobservable: Iterable[str] = ()) -> pd.DataFrame:
    """Check each day (and ISO week) of a DailyLoad table against a plan.

    Parameters
    ----------
    daily : pandas.DataFrame
        DAILY table (:mod:`impactlab.schema`): ``date``, ``valid`` and the counts and minutes.
    plan : Plan
        The plan.
    unobservable : iterable of str, optional
        Targets the recording cannot show (e.g. ``vibration`` when the plate aliases to 0 Hz): such a
        target can be met (from markers) but is ``no data`` rather than ``not met``.

    Returns
    -------
    pandas.DataFrame
        PLAN_CHECK table, sorted by date and target: ``date`` (the day, or the ISO week's Monday),
        ``target``, ``period`` (``day``/``week``), ``required``, ``achieved``, ``unit``
        (``count``/``min``), ``met`` (boolean, NA unless judged), ``status`` (``met``, ``not met``,
        ``no data`` = the day is too short to judge or the recording cannot show the target,
        ``not scheduled`` = a day target on a weekday outside its ``days``: ``required`` is NaN and
        ``achieved`` what was done anyway), ``partial`` (the week has fewer than 7 valid days), plus
        ``detail`` (text).

    Examples
    --------
    >>> import pandas as pd
    >>> from impactlab.schema import DAILY, coerce
    >>> from impactlab.plan import JumpsTarget, Plan, Targets
    >>> d = pd.DataFrame({"date": pd.to_datetime(["2026-03-02", "2026-03-03"]), "wear_h": [14.0, 3.0],
    ...                   "valid": [True, False], "n_low": 0, "n_medium": 0, "n_high": [60, 0], "n_jumps": [50, 0],
    ...                   "jump_sets": [5, 0], "brisk_walk_min": 0.0, "walk_min": 0.0, "run_min": 0.0, "vest_walk_min": 0.0,
    ...                   "vibration_min": 0.0})
    >>> plan = Plan("p", Targets(jumps=JumpsTarget(per_day=50, min_sets=5)))
    >>> list(check_plan(coerce(d, DAILY), plan)["status"])
    ['met', 'no data']
    """
    if plan.phases:
        segs = [(pd.Timestamp(d) if d is not None else None, p) for d, p in plan.segments()]
        return check_segments(daily, segs, unobservable)
    skip = set(unobservable)
    rows: list[dict[str, Any]] = []
    dates = pd.to_datetime(daily["date"]).dt.tz_localize(None) if len(daily) else pd.Series([], dtype="datetime64[ns]")
    valid = daily["valid"].to_numpy(bool) if len(daily) else np.empty(0, bool)
    wd = dates.dt.day_of_week.to_numpy() if len(daily) else np.empty(0, int)
    for name, t in plan.targets.items():
        unit = "count" if name in ("jumps", "high_impacts") else "min"
        ach = _achieved(daily, name, t) if len(daily) else np.empty(0)
        per_day = getattr(t, "per_day", None) if unit == "count" else t.minutes_per_day
        if per_day is not None:
            on = np.isin(wd, [DAY_NAMES.index(d) for d in t.days])
            sets = daily["jump_sets"].to_numpy(np.int64) if name == "jumps" and len(daily) else None
            for i in np.flatnonzero(~on):  # the target does not apply that weekday: not judged
                rows.append(_row(dates.iloc[i], name, "day", np.nan, ach[i], unit, pd.NA, False,
                                 f"scheduled on {', '.join(t.days)}", status="not scheduled"))
            for i in np.flatnonzero(on):
                detail = ""
                if not valid[i]:
                    met: Any = pd.NA
                    detail = f"{float(daily['wear_h'].iloc[i]):.1f} h wear (a valid day needs more)"
                else:
                    met = bool(ach[i] + 1e-9 >= per_day)
                    if sets is not None and t.min_sets:
                        detail = f"{int(sets[i])} of {t.min_sets} sets"
                        if met and sets[i] < t.min_sets:
                            met = False
                            detail = f"{int(ach[i])} jumps but only {int(sets[i])} of {t.min_sets} sets"
                    if not met and name in skip:
                        met = pd.NA
                        detail = "cannot be seen in this recording (see warnings) and no marker covers it"
                rows.append(_row(dates.iloc[i], name, "day", per_day, ach[i], unit, met, False, detail))
        per_week = getattr(t, "minutes_per_week", None)
        if per_week is not None and len(daily):
            monday = (dates - pd.to_timedelta(wd, unit="D")).dt.normalize()
            for mon in sorted(set(monday)):
                sel = (monday == mon).to_numpy()
                nv = int((sel & valid).sum())
                total = float(ach[sel & valid].sum())
                partial = nv < 7
                if nv == 0:
                    met, detail = pd.NA, "no valid day in this week"
                else:
                    met = bool(total + 1e-9 >= per_week)
                    detail = f"{nv} valid day(s) of 7" if partial else ""
                    if not met and name in skip:
                        met, detail = pd.NA, "cannot be seen in this recording (see warnings)"
                rows.append(_row(mon, name, "week", per_week, total, unit, met, partial, detail))
    if not rows:
        out = empty(PLAN_CHECK)
        out["detail"] = pd.Series([], dtype="string")
        return out
    df = pd.DataFrame(rows)
    df["met"] = pd.array(df["met"].tolist(), dtype="boolean")
    df["date"] = pd.to_datetime(df["date"]).astype("datetime64[ns]")
    df = df.sort_values(["date", "period", "target"], kind="stable").reset_index(drop=True)
    out = coerce(df, PLAN_CHECK)
    out["detail"] = out["detail"].astype("string")
    return out


def _row(date: Any, target: str, period: str, required: float, achieved: float, unit: str, met: Any,
         partial: bool, detail: str, *, status: str | None = None) -> dict[str, Any]:
    if status is None:
        status = "no data" if met is pd.NA else ("met" if met else "not met")
    return {"date": pd.Timestamp(date).normalize(), "target": target, "period": period, "required": float(required),
            "achieved": round(float(achieved), 2), "unit": unit, "met": met, "status": status,
            "partial": bool(partial), "detail": detail}


def check_segments(daily: pd.DataFrame, segments: Sequence[tuple[pd.Timestamp | None, Plan]],
                   unobservable: Iterable[str] = ()) -> pd.DataFrame:
    """PLAN_CHECK rows with each day checked against the plan (segment) in force that day.

    ``segments``: each plan with its first day (None: from the start), oldest first: a progression's
    phases (:meth:`Plan.segments`) or a client's stored plan versions. A weekly target's row (dated
    the Monday) comes from the segment in force on that Monday, over the days of the week it covers;
    a first segment starting mid-week judges its week.
    """
    skip = tuple(unobservable)
    starts = [pd.Timestamp("1900-01-01") if d is None else pd.Timestamp(d) for d, _ in segments]
    dates = pd.to_datetime(daily["date"]).dt.tz_localize(None) if len(daily) else pd.Series([], dtype="datetime64[ns]")

    def _owner(monday: pd.Timestamp) -> int:
        in_force = [i for i, s0 in enumerate(starts) if s0 <= monday]
        if in_force:
            return in_force[-1]
        later = [i for i, s0 in enumerate(starts) if s0 < monday + pd.Timedelta(days=7)]
        return min(later) if later else -1

    parts = []
    for i, (_, plan) in enumerate(segments):
        end = starts[i + 1] if i + 1 < len(starts) else pd.Timestamp("2999-12-31")
        sel = ((dates >= starts[i]) & (dates < end)).to_numpy()
        if not sel.any():
            continue
        chk = check_plan(daily[sel].reset_index(drop=True), plan, unobservable=skip)
        keep = [(p != "week") or _owner(pd.Timestamp(d)) == i for p, d in zip(chk["period"], chk["date"], strict=True)]
        parts.append(chk[np.asarray(keep, dtype=bool)])
    if not parts:
        return check_plan(daily.iloc[:0], segments[0][1])
    out = pd.concat(parts, ignore_index=True)
    return out.sort_values(["date", "period", "target"], kind="stable").reset_index(drop=True)
