"""``impactlab today --client ID [--html OUT]``: the client's answer for the last day with data."""

from __future__ import annotations

import argparse
import sys

from .clients import add_store_option

HELP = "the client's answer for the last day with data: each target, achieved / needed, one sentence"

EPILOG = """\
examples:
  impactlab import sample_data/sim-day.parquet --client c01 --plan sample_data/plan.toml --store clinic.sqlite
  impactlab today --client c01 --store clinic.sqlite
  impactlab today --client c01 --html today.html --store clinic.sqlite

The answer is for the last day with data: each target of the plan in force that day, achieved and
needed, one sentence saying what is missing, and the week's adherence so far. The HTML page is
readable only by you.
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the subcommand."""
    p = sub.add_parser("today", help=HELP, description=HELP, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--client", metavar="ID", required=True, help="client id")
    p.add_argument("--html", metavar="OUT.html", help="also write it as a small HTML page (owner-only)")
    add_store_option(p, read_only=True)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print (and optionally write) the answer; returns the exit code."""
    from impactlab.report.today import render_today_html, today_answer
    from impactlab.store import Store

    with Store(args.store) as st:
        ans = today_answer(st, args.client)
    if args.html:
        from impactlab.report.html import write_html

        write_html(render_today_html(ans), args.html)  # owner-only (REPORT_MODE)
        if not args.quiet:
            print(f"wrote {args.html}", file=sys.stderr)
    from ..render import print_answer

    print_answer(ans)
    return 0
