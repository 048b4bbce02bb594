"""``impactlab history --client ID``: week by week, impacts, valid days, targets met and the trend."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .._common import make_table, stdout_console
from ..options import add_format_option, add_week_option
from .clients import add_store_option

if TYPE_CHECKING:  # the store loads pandas: imported when the command runs
    from impactlab.plan import Plan
    from impactlab.store import Store

HELP = "a client's weeks: impacts per week, targets met, trend"
EPILOG = """\
examples:
  impactlab import sample_data/sim-day.parquet --client c01 --store clinic.sqlite
  impactlab history --client c01 --store clinic.sqlite
  impactlab history --client c01 --weeks 26 --format json --store clinic.sqlite
  impactlab history --client c01 --week 2026-W10 --weeks 4 --store clinic.sqlite   # the 4 weeks up to W10

Weekly figures are the mean per valid day (>= 10 h wear) x 7, shown with the number of valid days.
The trend compares each week's high impacts with the week before (up / down / same within 5 %).
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the subcommand."""
    p = sub.add_parser("history", help=HELP, description=HELP, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--client", metavar="ID", required=True, help="client id")
    p.add_argument("--weeks", type=int, default=12, metavar="N", help="how many weeks up to the last (default 12)")
    add_week_option(p, help="last week shown, e.g. 2026-W10 (default: the client's last week with data)",
                    old="--until", command="history")
    add_store_option(p, read_only=True)
    add_format_option(p)
    p.set_defaults(func=run)


def weeks_of(st: Store, client_id: str, n: int, until: str | None) -> list[dict[str, object]]:
    """Per ISO week (oldest first): days, valid days, impacts per week, targets met, trend."""
    from impactlab.report import adherence, iso_week, parse_week, weekly_counts

    info = st.client(client_id)
    if until:
        last = parse_week(until)
    elif info.last_date:
        d = dt.date.fromisoformat(info.last_date)
        last = d - dt.timedelta(days=d.weekday())
    else:
        return []
    first = last - dt.timedelta(weeks=max(1, n) - 1)
    daily = st.daily(client_id, first.isoformat(), (last + dt.timedelta(days=6)).isoformat())
    checks = st.plan_checks(client_id, first.isoformat(), (last + dt.timedelta(days=6)).isoformat())
    versions = st.plan_history(client_id)
    rows: list[dict[str, object]] = []
    prev = None
    for k in range(max(1, n)):
        m = first + dt.timedelta(weeks=k)
        s, e = str(m), str(m + dt.timedelta(days=7))
        dd = daily[(daily["date"] >= s) & (daily["date"] < e)]
        if dd.empty:
            continue
        a = adherence(checks[(checks["date"] >= s) & (checks["date"] < e)])
        w = weekly_counts(dd)
        trend = None
        if w["high"] is not None and prev is not None:
            h0, h1 = float(prev), float(w["high"])
            trend = "same" if abs(h1 - h0) <= 0.05 * max(h0, 1.0) else "up" if h1 > h0 else "down"
        if w["high"] is not None:
            prev = w["high"]
        rows.append({"week": iso_week(m), "days_recorded": len(dd), "valid_days": w["valid_days"], "low": w["low"],
                     "medium": w["medium"], "high": w["high"], "targets_met": a["met"], "targets_checked": a["checked"],
                     "targets_no_data": a["no_data"], "targets_not_scheduled": a["not_scheduled"],
                     "adherence": a["rate"],
                     "trend": trend, **_plan_in_week(versions, m)})
    return rows


def _plan_in_week(versions: Sequence[tuple[str, Plan]], monday: dt.date) -> dict[str, object]:
    """Name of the plan in force at the week's end and the days a new version started in the week."""
    from impactlab.plan.versions import plan_changes, plan_in_force

    sunday = monday + dt.timedelta(days=6)
    plan = plan_in_force(versions, sunday)
    changes = plan_changes(versions, monday, sunday)
    return {"plan": plan.name if plan is not None else None, "plan_changed": bool(changes),
            "plan_changes": [{"from": c["from"].isoformat(), "name": c["name"], "previous": c["previous"]}
                             for c in changes]}


def run(args: argparse.Namespace) -> int:
    """Print a client's weeks; returns the exit code."""
    from impactlab.store import Store

    with Store(args.store) as st:
        info = st.client(args.client)
        rows = weeks_of(st, args.client, args.weeks, args.week)
    if args.format == "json":
        json.dump({"client": {"id": info.client_id, "name": info.name}, "weeks": rows}, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    from rich.markup import escape

    con = stdout_console()
    if not rows:
        con.print(f"No data stored for {escape(info.name or info.client_id)} yet.")
        return 0
    t = make_table(f"{escape(info.name or info.client_id)}: weeks (per valid day x 7)")
    for col in ("week", "days", "valid", "low", "medium", "high", "targets met", "trend", "plan"):
        t.add_column(col, justify="left" if col in ("week", "trend") else "right")
    arrows = {"up": "up", "down": "down", "same": "same", None: ""}
    for r in rows:
        t.add_row(str(r["week"]), str(r["days_recorded"]), str(r["valid_days"]),
                  *("-" if r[b] is None else str(r[b]) for b in ("low", "medium", "high")),
                  f"{r['targets_met']} of {r['targets_checked']} ({100 * r['adherence']:.0f} %)"  # type: ignore[operator]
                  if r["targets_checked"] else "-",
                  arrows[r["trend"]],  # type: ignore[index]
                  escape(str(r["plan"] or "")) + "".join(
                      f" (new from {dt.date.fromisoformat(c['from']):%a %d %b})" for c in r["plan_changes"]))  # type: ignore[attr-defined]
    con.print(t)
    return 0
