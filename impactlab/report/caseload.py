"""The caseload overview: one row per client for one ISO week (``impactlab report --all``).

Each row: this week's adherence (:func:`~impactlab.report.adherence.adherence`) and the week
before's, days with valid data, flags (short wear, no plan, no new data for N days, plan
changed this week) and the file name of the client's weekly report written beside the page.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..isotime import today_in
from ..plan.versions import plan_changes
from .adherence import adherence
from .tables import iso_week, parse_week

if TYPE_CHECKING:
    from ..store import Store

__all__ = ["CaseloadRow", "caseload", "render_caseload_html"]


@dataclass(frozen=True)
class CaseloadRow:
    """One client in the caseload overview (``rate``/``rate_before``: met ÷ (met + not met), or None)."""

    client_id: str
    client_name: str | None
    rate: float | None
    rate_before: float | None
    met: int
    checked: int
    no_data: int
    not_scheduled: int
    valid_days: int
    days_recorded: int
    flags: list[str]
    report_file: str

    def to_json_dict(self) -> dict[str, Any]:
        """The row as JSON-ready values."""
        return {"client": {"id": self.client_id, "name": self.client_name},
                "adherence": {"rate": self.rate, "met": self.met, "checked": self.checked, "no_data": self.no_data,
                              "not_scheduled": self.not_scheduled, "rate_week_before": self.rate_before},
                "valid_days": self.valid_days, "days_recorded": self.days_recorded, "flags": list(self.flags),
                "report": self.report_file}


def caseload(store: Store, week: str, *, today: dt.date | None = None) -> list[CaseloadRow]:
    """One :class:`CaseloadRow` per stored client for ISO week ``week``.

    Parameters
    ----------
    store : Store
        The client store.
    week : str
        ISO week, ``YYYY-Www``.
    today : datetime.date, optional
        The date the plan checks are completed up to and stale data are counted to (default: now
        in each client's own zone, as :meth:`Store.plan_checks` and the weekly report take it).
    """
    monday = parse_week(week)
    wk = iso_week(monday)
    sunday = monday + dt.timedelta(days=6)
    before = monday - dt.timedelta(days=7)
    rows = []
    for info in store.clients():
        cid = info.client_id
        day = today if today is not None else today_in(info.timezone)
        daily = store.daily(cid, monday.isoformat(), sunday.isoformat())
        a = adherence(store.plan_checks(cid, monday.isoformat(), sunday.isoformat(), today=day))
        b = adherence(store.plan_checks(cid, before.isoformat(), (monday - dt.timedelta(days=1)).isoformat(), today=day))
        flags = []
        short = int((~daily["valid"].astype(bool)).sum()) if len(daily) else 0
        if short:
            flags.append(f"short wear on {short} day(s)")
        versions = store.plan_history(cid)
        if not versions and not info.plan_toml:
            flags.append("no plan")
        changes = plan_changes(versions, monday, sunday)
        if changes:
            flags.append("plan changed this week (" + ", ".join(f"{c['from']:%a %d %b}" for c in changes) + ")")
        if info.last_date:
            gap = (min(day, sunday) - dt.date.fromisoformat(info.last_date)).days
            if gap > 0:
                flags.append(_stale_flag(gap, store.last_arrival(cid)))
        else:
            flags.append("no data yet")
        rows.append(CaseloadRow(cid, info.name, a["rate"], b["rate"], a["met"], a["checked"], a["no_data"],
                                a["not_scheduled"],
                                int(daily["valid"].astype(bool).sum()) if len(daily) else 0, len(daily), flags,
                                f"{cid}-{wk}.html"))
    return rows


def _stale_flag(gap: int, arrival: tuple[str, str] | None) -> str:
    """The flag for ``gap`` days without new data, worded by how the latest data arrived.

    Parameters
    ----------
    gap : int
        Days from the client's last day with data to the week's end (or today, if earlier).
    arrival : tuple of (str, str) or None
        ``(origin, imported_at)`` of the recording with the latest data (:meth:`Store.last_arrival`).

    Returns
    -------
    str
        ``sensor not synced for N day(s)`` when the latest data came from a sensor sync (``ble``);
        otherwise ``no new data for N day(s) (last import Tue 03 Mar)``: a client whose data come from
        imported files never syncs a sensor.
    """
    if arrival is not None and arrival[0] == "ble":
        return f"sensor not synced for {gap} day(s)"
    when = ""
    if arrival is not None:
        try:
            when = f" (last import {dt.datetime.fromisoformat(arrival[1]):%a %d %b})"
        except ValueError:
            when = ""
    return f"no new data for {gap} day(s){when}"


def render_caseload_html(rows: list[CaseloadRow], week: str) -> str:
    """The caseload page as one self-contained HTML document (no script, no network)."""
    from .html import _env

    return _env().get_template("caseload.html.j2").render(rows=rows, week=week)
