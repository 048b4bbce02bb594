"""Plan versions over time: which version rules a day, which versions start in a period.

A client's versions are ``(valid_from, plan)`` pairs, oldest first (``valid_from`` a local day
``YYYY-MM-DD``, or :data:`FROM_START` for a plan given at the first import). The weekly report,
``history`` and the caseload's "plan changed" flag all read :func:`plan_changes`.
:func:`complete_checks` gives every day of a week with data a row per target, so that every count
of "no data" and "not scheduled" (the report's grid, ``history``, the JSON, the caseload) is the same.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import pandas as pd

from ..schema import DAILY, PLAN_CHECK, coerce
from .check import check_segments
from .model import Plan

__all__ = ["FROM_START", "complete_checks", "plan_changes", "plan_in_force"]

#: ``valid_from`` of a plan version in force from the start (a plan given at import)
FROM_START = "0000-01-01"


def plan_in_force(versions: Sequence[tuple[str, Plan]], day: dt.date) -> Plan | None:
    """The version in force on ``day`` (the last one starting on or before it), or None."""
    on = [p for v, p in versions if v <= day.isoformat()]
    return on[-1] if on else None


def plan_changes(versions: Sequence[tuple[str, Plan]], first: dt.date, last: dt.date) -> list[dict[str, Any]]:
    """The versions that start on a day from ``first`` to ``last`` (inclusive) and replace an earlier one, oldest first.

    Each: ``from`` (date), ``name`` (the new version's), ``previous`` (the name of the version it
    replaces), ``plan`` and ``previous_plan`` (the versions). A client's first plan is no change
    (there is nothing it replaces), nor is a version in force "from the start" (a plan given at import).
    """
    out = []
    for i, (v, p) in enumerate(versions):
        if i == 0 or v == FROM_START or not first.isoformat() <= v <= last.isoformat():
            continue
        prev = versions[i - 1][1]
        out.append({"from": dt.date.fromisoformat(v), "name": p.name, "previous": prev.name,
                    "plan": p, "previous_plan": prev})
    return out


def complete_checks(checks: pd.DataFrame, recorded: Sequence[dt.date], versions: Sequence[tuple[str, Plan]],
                    first: dt.date, last: dt.date, today: dt.date) -> pd.DataFrame:
    """The stored PLAN_CHECK rows plus a row for every day target on every day they do not cover.

    Only ISO weeks with a recorded day get rows, from ``first`` to ``last`` and not after ``today``.
    A day without any recording is checked against the version (and phase) in force that day as a
    day too short to judge: ``no data`` (``detail`` "no recording", ``achieved`` NaN) where the
    target is scheduled, ``not scheduled`` where not. A day whose version lacks a target another
    version of the week has gets ``not scheduled`` ("not in that day's plan").

    Parameters
    ----------
    checks : pandas.DataFrame
        Stored PLAN_CHECK rows of ``first`` … ``last`` (with ``detail``).
    recorded : sequence of datetime.date
        Days with a DAILY row.
    versions : sequence of (str, Plan)
        The client's plan versions (``impactlab.store.Store.plan_history``).
    first, last, today : datetime.date
        The period asked for and the current date.

    Returns
    -------
    pandas.DataFrame
        PLAN_CHECK rows (with ``detail``), sorted by date, period and target.
    """
    if not versions or not recorded:
        return checks
    have = set(recorded)
    weeks = {d - dt.timedelta(days=d.weekday()) for d in have}
    days = [m + dt.timedelta(days=k) for m in sorted(weeks) for k in range(7)]
    day_rows = checks[checks["period"] == "day"] if len(checks) else checks
    covered = {pd.Timestamp(d).date() for d in day_rows["date"]}  # rows completed before (idempotent)
    missing = [d for d in days if first <= d <= min(last, today) and d not in have and d not in covered]
    extra = []
    if missing:
        blank = pd.DataFrame({c: [0] * len(missing) for c in DAILY if c not in ("date", "valid")})
        blank.insert(0, "date", pd.to_datetime([d.isoformat() for d in missing]))
        blank["valid"] = False
        rows = check_segments(coerce(blank, DAILY), [(None if v == FROM_START else pd.Timestamp(v), p) for v, p in versions])
        rows = rows[rows["period"] == "day"].copy()
        rows["achieved"] = float("nan")
        rows.loc[rows["status"] == "no data", "detail"] = "no recording"
        extra.append(rows)
    have_rows = pd.concat([checks, *extra], ignore_index=True) if extra else checks
    daily_rows = have_rows[have_rows["period"] == "day"]
    if len(daily_rows):  # a target of one version, on a day of the week whose version lacks it
        d = pd.to_datetime(daily_rows["date"])
        monday = (d - pd.to_timedelta(d.dt.day_of_week, unit="D")).dt.date
        by_week: dict[dt.date, set[str]] = {}
        for m, t in zip(monday, daily_rows["target"].astype(str), strict=True):
            by_week.setdefault(m, set()).add(t)
        seen = set(zip(d.dt.date, daily_rows["target"].astype(str), strict=True))
        lack = [(day, t) for day in days if first <= day <= min(last, today)
                for t in sorted(by_week.get(day - dt.timedelta(days=day.weekday()), ())) if (day, t) not in seen]
        if lack:
            unit = {str(t): str(u) for t, u in zip(daily_rows["target"], daily_rows["unit"], strict=True)}
            extra.append(pd.DataFrame({
                "date": pd.to_datetime([day.isoformat() for day, _ in lack]), "target": [t for _, t in lack],
                "period": "day", "required": float("nan"), "achieved": float("nan"),
                "unit": [unit[t] for _, t in lack], "met": pd.array([pd.NA] * len(lack), dtype="boolean"),
                "status": "not scheduled", "partial": False, "detail": "not in that day's plan"}))
    if not extra:
        return checks
    out = pd.concat([checks, *extra], ignore_index=True)
    out["date"] = pd.to_datetime(out["date"]).astype("datetime64[ns]")
    out["met"] = pd.array([None if pd.isna(m) else bool(m) for m in out["met"]], dtype="boolean")
    out = out.sort_values(["date", "period", "target"], kind="stable").reset_index(drop=True)
    return coerce(out, PLAN_CHECK)
