"""``impactlab report --client ID --week YYYY-Www``: the weekly therapist report (HTML, PDF, JSON)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
from pathlib import Path

from impactlab.errors import ImpactlabError

from .._common import make_table, stdout_console
from ..options import add_format_option, add_week_option
from .clients import add_store_option

HELP = "weekly therapist report for one client: HTML, PDF or JSON"
EPILOG = """\
examples:
  impactlab import sample_data/sim-day.parquet --client c01 --client-name "Ann Example" --store clinic.sqlite
  impactlab report --client c01 --week 2026-W10 --html c01-W10.html --store clinic.sqlite
  impactlab report --client c01 --week 2026-W10 --format json --store clinic.sqlite
  impactlab report --all --week 2026-W10 --html caseload.html --store clinic.sqlite
  impactlab report --client c01 --week 2026-W10 --pdf c01-W10.pdf --store clinic.sqlite   # needs Chromium

The HTML is one self-contained file (plots inline as SVG, no network, no script): the plan, a
day x target grid (met / not met / no data), impacts per day and band against the target, a
timeline of each day's sessions and wear, data-quality flags, the last 8 weeks and the method.
--pdf prints it with headless Chromium. --format json prints the week's days and plan_check rows
with the same keys as 'impactlab analyze --format json'.
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the subcommand."""
    p = sub.add_parser("report", help=HELP, description=HELP, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--client", metavar="ID", help="client id")
    who.add_argument("--all", action="store_true", help="caseload overview: one row per client (needs --week); "
                     "with --html, each client's weekly report is written beside the page")
    add_week_option(p, help="ISO week, e.g. 2026-W10 (default: the client's last week with data)")
    p.add_argument("--html", metavar="OUT.html", help="write the report as one HTML file")
    p.add_argument("--pdf", metavar="OUT.pdf", help="also print it to PDF (needs Chromium)")
    add_store_option(p, read_only=True)
    p.add_argument("--allow-empty", action="store_true", help="write the report even when the week has no data")
    add_format_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Write or print one client's weekly report (or the caseload); returns the exit code."""
    from impactlab.report import iso_week, weekly_report
    from impactlab.store import Store

    if args.all:
        return _run_all(args)
    with Store(args.store) as st:
        info = st.client(args.client)
        week = args.week
        if not week:
            if not info.last_date:
                raise ImpactlabError(f"client {args.client!r} has no data yet", key="week",
                                     hint="Import a recording first, or give --week YYYY-Www")
            week = iso_week(dt.date.fromisoformat(info.last_date))
        tables = st.week_tables(args.client, week)
        if not len(tables.daily) and not args.allow_empty:
            raise ImpactlabError(f"client {args.client!r} has no data in week {tables.week}", key="week",
                                 hint="Pick a week with data (see 'impactlab history'), or pass --allow-empty")
        try:  # the version in force at the week's end (a later 'plan set' does not rewrite past weeks' text)
            plan = st.plan_on(args.client, tables.monday + dt.timedelta(days=6))
        except ImpactlabError:  # a stored plan that no longer parses still leaves its checks readable
            plan = None
        rep = weekly_report(tables, plan)
    if args.html or args.pdf:
        from impactlab.report.html import render_weekly_html, write_html

        html = render_weekly_html(rep)
        with tempfile.TemporaryDirectory(prefix="impactlab-report-") as tmp:
            html_path = Path(args.html) if args.html else Path(tmp) / f"{args.client}-{rep.week}.html"
            write_html(html, html_path)
            if args.html and not args.quiet:
                print(f"wrote {html_path}", file=sys.stderr)
            if args.pdf:
                from impactlab.report.browser import print_pdf

                print_pdf(html_path, args.pdf)
                if not args.quiet:
                    print(f"wrote {args.pdf}", file=sys.stderr)
    if args.format == "json":
        json.dump(rep.to_json_dict(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    elif not (args.html or args.pdf):
        print_week(rep)
    return 0


def print_week(rep: object) -> None:
    """The week's grid and days in the terminal."""
    from rich.markup import escape

    r = rep  # WeeklyReport
    con = stdout_console()
    con.print(f"[bold]{escape(r.client_name or r.client_id)}[/bold], week {r.week} "  # type: ignore[attr-defined]
              f"({r.days[0]:%d %b} to {r.days[-1]:%d %b})")  # type: ignore[attr-defined]
    for c in r.plan_changes:  # type: ignore[attr-defined]
        con.print(f"The plan changed on {c['from']:%a %d %b}: checked from then on against '{escape(c['name'])}', "
                  f"the days before against '{escape(c['previous'])}'.")
    if r.grid:  # type: ignore[attr-defined]
        t = make_table("Targets")
        t.add_column("target")
        for d in r.days:  # type: ignore[attr-defined]
            t.add_column(f"{d:%a}", justify="center")
        for target, cells in r.grid.items():  # type: ignore[attr-defined]
            texts = [c.status for c in cells]
            t.add_row(escape(target.replace("_", " ")), *(texts if len(texts) == 7 else [f"week: {texts[0]}"] + [""] * 6))
        con.print(t)
    else:
        con.print("No plan stored for this client: no targets to check. Add one with: "
                  f"impactlab plan set --client {escape(r.client_id)} PLAN.toml")  # type: ignore[attr-defined]
    t = make_table("Days")
    for col in ("day", "worn h", "valid", "low", "medium", "high", "jumps"):
        t.add_column(col, justify="left" if col == "day" else "right")
    for d in r.days:  # type: ignore[attr-defined]
        row = r.day_row(d)  # type: ignore[attr-defined]
        if row is None:
            t.add_row(f"{d:%a %d %b}", "no data", "", "", "", "", "")
        else:
            t.add_row(f"{d:%a %d %b}", f"{row['wear_h']:.1f}", "yes" if row["valid"] else "no", str(row["n_low"]),
                      str(row["n_medium"]), str(row["n_high"]), str(row["n_jumps"]))
    con.print(t)


def _run_all(args: argparse.Namespace) -> int:
    """``report --all --week W``: the caseload overview as HTML (with each client's report) or JSON."""
    from impactlab.report import iso_week, parse_week, weekly_report
    from impactlab.report.caseload import caseload
    from impactlab.store import Store

    if not args.week:
        raise ImpactlabError("--all needs --week", key="week", hint="e.g. impactlab report --all --week 2026-W10")
    with Store(args.store) as st:
        if not st.clients():
            raise ImpactlabError("no clients in the store", path=st.path,
                                 hint="Import a recording with --client ID first")
        rows = caseload(st, args.week)
        week = iso_week(parse_week(args.week))
        reports = []
        if args.html:  # HTML needs the [report] extra (jinja2); the JSON and the table do not
            from impactlab.report.caseload import render_caseload_html
            from impactlab.report.html import render_weekly_html, write_html

            for r in rows:
                tables = st.week_tables(r.client_id, week)
                try:
                    plan = st.plan_on(r.client_id, tables.monday + dt.timedelta(days=6))
                except ImpactlabError:
                    plan = None
                reports.append((r.report_file, render_weekly_html(weekly_report(tables, plan))))
    if args.html:
        out = Path(args.html)
        for name, html in reports:
            write_html(html, out.parent / name)
        write_html(render_caseload_html(rows, week), out)  # owner-only, like the store (REPORT_MODE)
        if not args.quiet:
            print(f"wrote {out} and {len(reports)} weekly report(s) beside it", file=sys.stderr)
    if args.format == "json":
        json.dump({"week": week, "clients": [r.to_json_dict() for r in rows]}, sys.stdout, indent=2)
        sys.stdout.write("\n")
    elif not args.html:
        t = make_table(f"Caseload, week {week}")
        for col in ("client", "adherence", "valid days", "flags"):
            t.add_column(col)
        for r in rows:
            rate = "-" if r.rate is None else f"{100 * r.rate:.0f} % ({r.met} of {r.checked})"
            t.add_row(r.client_id, rate, f"{r.valid_days} of {r.days_recorded}", "; ".join(r.flags))
        stdout_console().print(t)
    return 0
