"""Adherence, one definition: targets met ÷ (met + not met).

Checks with status ``no data`` (a day too short to judge, or a target the recording cannot show)
and ``not scheduled`` are left out of the rate and counted beside it. ``history``, the weekly
report (grid summary, 8-week table, trend chart) and every JSON use :func:`adherence`.
"""

from __future__ import annotations

from typing import TypedDict

import pandas as pd

__all__ = ["Adherence", "adherence"]


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
