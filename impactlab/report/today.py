"""The client's answer for one day: each target with achieved/required and a verdict, and one sentence."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from ..isotime import today_in
from ..schema import SESSION_KINDS
from .adherence import adherence

if TYPE_CHECKING:
    from ..store import Store

__all__ = ["TodayAnswer", "today_answer"]

_UNIT = {"count": "", "min": " min"}
_NOUN = {"high_impacts": "high impacts", **{k.target: k.noun for k in SESSION_KINDS.values() if k.target}}


@dataclass(frozen=True)
class TodayAnswer:
    """The last day with data (``day``), its target rows and the week so far (``week``: adherence).

    ``today`` is the current date where the client lives: the labels say "today" and "this week so far"
    only when ``day`` is today or in the current ISO week.
    """

    client_id: str
    client_name: str | None
    day: dt.date | None
    rows: list[dict[str, Any]] = field(default_factory=list)
    week: dict[str, Any] = field(default_factory=dict)
    today: dt.date = field(default_factory=dt.date.today)

    def day_label(self) -> str:
        """``Today, Wed 02 Dec`` or, for an earlier day, ``Last day with data, Mon 02 Mar``."""
        if self.day is None:
            return "No data yet"
        return f"Today, {self.day:%a %d %b}" if self.day == self.today else f"Last day with data, {self.day:%a %d %b}"

    def week_label(self) -> str:
        """``This week so far`` in the current ISO week, else ``Week of Mon 02 Mar (2026-W10)``."""
        if self.day is None:
            return "No data yet"
        monday = self.day - dt.timedelta(days=self.day.weekday())
        if self.today.isocalendar()[:2] == self.day.isocalendar()[:2]:
            return "This week so far"
        y, w, _ = self.day.isocalendar()
        return f"Week of {monday:%a %d %b} ({y}-W{w:02d})"

    def sentence(self) -> str:
        """One plain sentence, e.g. ``2 of 3 targets met today; 20 more jumps reach 50.``"""
        if self.day is None:
            return "No data yet."
        judged = [r for r in self.rows if r["status"] in ("met", "not met")]
        if not self.rows:
            return f"{self.day:%a %d %b}: no target to check."
        if all(r["status"] == "not scheduled" for r in self.rows):
            return f"{self.day:%a %d %b}: no target is scheduled that day."
        if not judged:
            return f"{self.day:%a %d %b}: not enough wear time to judge the targets."
        met = sum(r["status"] == "met" for r in judged)
        text = f"{met} of {len(judged)} targets met on {self.day:%a %d %b}"
        short = [r for r in judged if r["status"] == "not met" and r["achieved"] is not None]
        if short:
            r = short[0]
            gap = max(0.0, float(r["required"]) - float(r["achieved"]))
            text += f"; {gap:.0f} more {_NOUN.get(r['target'], r['target'])} reach {float(r['required']):.0f}"
        return text + "."


def today_answer(store: Store, client_id: str) -> TodayAnswer:
    """The answer for the client's last day with data (and its ISO week so far)."""
    info = store.client(client_id)
    now = today_in(info.timezone)  # one date for the labels and both plan checks
    if not info.last_date:
        return TodayAnswer(client_id, info.name, None, today=now)
    day = dt.date.fromisoformat(info.last_date)
    monday = day - dt.timedelta(days=day.weekday())
    checks = store.plan_checks(client_id, day.isoformat(), day.isoformat(), today=now)
    checks = checks[checks["period"] == "day"]
    rows = [{"target": str(r["target"]), "required": _num(r["required"]), "achieved": _num(r["achieved"]),
             "unit": str(r["unit"]), "status": str(r["status"])} for r in checks.to_dict("records")]
    week = dict(adherence(store.plan_checks(client_id, monday.isoformat(), day.isoformat(), today=now)))
    return TodayAnswer(client_id, info.name, day, rows, week, now)


def _num(v: Any) -> float | None:
    """A finite float, or None (a ``not scheduled`` row has no requirement)."""
    if v is None or v is pd.NA:
        return None
    f = float(v)
    return f if math.isfinite(f) else None


def render_today_html(ans: TodayAnswer) -> str:
    """The answer as a small self-contained HTML page."""
    from .html import _env

    return _env().get_template("today.html.j2").render(a=ans, sentence=ans.sentence(), unit=_UNIT)
