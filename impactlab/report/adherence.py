"""Adherence, one definition: targets met ÷ (met + not met).

Checks with status ``no data`` (a day too short to judge, or a target the recording cannot show)
and ``not scheduled`` are left out of the rate and counted beside it. ``history``, the weekly
report (grid summary, 8-week table, trend chart) and every JSON use :func:`adherence`; a table with
one row per recording (batch's Summary) takes its columns from :func:`adherence_columns`.
"""

from __future__ import annotations

from typing import TypedDict

import pandas as pd

__all__ = ["ADHERENCE_COLUMNS", "Adherence", "adherence", "adherence_columns"]


class Adherence(TypedDict):
    """Counts of plan checks by status and the rate met ÷ (met + not met) (None when nothing was judged)."""

    met: int
    not_met: int
    no_data: int
    not_scheduled: int
    checked: int
    rate: float | None


def adherence(checks: pd.DataFrame) -> Adherence:
    """Adherence of a PLAN_CHECK table, counted by ``status``.

    Parameters
    ----------
    checks : pandas.DataFrame
        PLAN_CHECK rows (any period); only ``status`` is read.

    Returns
    -------
    Adherence
        ``met``, ``not_met``, ``no_data``, ``not_scheduled``, ``checked`` (= met + not met) and
        ``rate`` (met ÷ checked, rounded to 4 decimals; None when checked is 0).

    Examples
    --------
    >>> import pandas as pd
    >>> adherence(pd.DataFrame({"status": ["met"] * 15 + ["not met"] * 8 + ["no data"] * 3}))["rate"]
    0.6522
    """
    status = checks["status"].astype(str) if len(checks) else pd.Series([], dtype=str)
    met = int((status == "met").sum())
    not_met = int((status == "not met").sum())
    checked = met + not_met
    return Adherence(met=met, not_met=not_met, no_data=int((status == "no data").sum()),
                     not_scheduled=int((status == "not scheduled").sum()), checked=checked,
                     rate=round(met / checked, 4) if checked else None)


#: (column, dtype, unit, description) of :func:`adherence_columns`, for a data dictionary
ADHERENCE_COLUMNS: tuple[tuple[str, str, str, str], ...] = (
    ("plan_met", "Int64", "targets", "Plan check rows met (empty without a plan)"),
    ("plan_not_met", "Int64", "targets", "Plan check rows not met (empty without a plan)"),
    ("plan_no_data", "Int64", "targets", "Plan check rows too short to judge or not observable (empty without a plan)"),
    ("plan_not_scheduled", "Int64", "targets", "Plan check rows on days the target is not scheduled (empty without a plan)"),
    ("plan_adherence", "Float64", "fraction", "Adherence: met / (met + not met); empty when nothing was judged"),
)


def adherence_columns(checks: pd.DataFrame | None) -> dict[str, int | float | None]:
    """The :data:`ADHERENCE_COLUMNS` of one recording's PLAN_CHECK rows (all None without a plan).

    Parameters
    ----------
    checks : pandas.DataFrame or None
        PLAN_CHECK rows (only ``status`` is read), or None when no plan was checked.

    Returns
    -------
    dict
        ``plan_met``, ``plan_not_met``, ``plan_no_data``, ``plan_not_scheduled`` and
        ``plan_adherence`` (:func:`adherence`'s rate).

    Examples
    --------
    >>> import pandas as pd
    >>> adherence_columns(pd.DataFrame({"status": ["met", "not met", "no data", "not scheduled", "met"]}))
    {'plan_met': 2, 'plan_not_met': 1, 'plan_no_data': 1, 'plan_not_scheduled': 1, 'plan_adherence': 0.6667}
    >>> adherence_columns(None)["plan_adherence"] is None
    True
    """
    if checks is None or "status" not in checks:
        return {name: None for name, *_ in ADHERENCE_COLUMNS}
    a = adherence(checks)
    return {"plan_met": a["met"], "plan_not_met": a["not_met"], "plan_no_data": a["no_data"],
            "plan_not_scheduled": a["not_scheduled"], "plan_adherence": a["rate"]}
