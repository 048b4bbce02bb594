"""``impactlab plan check PLAN``: validate an exercise plan (TOML, docs/cli.md) and pretty-print it; ``plan set``."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from .._common import make_table, stdout_console
from ..options import add_format_option, date_value

if TYPE_CHECKING:  # plans load pandas: imported when the command runs
    from impactlab.plan import Plan

HELP = "validate and show an exercise plan"
EPILOG = """\
examples:
  impactlab plan check sample_data/plan.toml
  impactlab plan check sample_data/plan.toml --format json
  impactlab plan set sample_data/plan.toml --client c01 --from 2026-03-02 --store clinic.sqlite
  impactlab analyze sample_data/sim-day.parquet --plan sample_data/plan.toml

A week to check a plan against: python sample_data/make_sample_week.py writes sample_data/sim-week.parquet
(sample_data/README.md gives the expected verdicts of impactlab analyze sample_data/sim-week.parquet
--plan sample_data/plan.toml --markers sample_data/markers-week.csv).

A plan names targets per day or per week: jumps (per_day, min_sets, days), high_impacts (per_day,
min_band), brisk_walk, run, vest_walk and vibration (minutes_per_day and/or minutes_per_week). Errors name
the file and the dotted key (e.g. targets.jumps.per_day); the exit code is then 1.
"""

SET_EPILOG = """\
examples:
  impactlab import sample_data/sim-day.parquet --client c01 --store clinic.sqlite
  impactlab plan set sample_data/plan.toml --client c01 --store clinic.sqlite
  impactlab plan set sample_data/plan.toml --client c01 --from 2026-03-02 --store clinic.sqlite

An invalid plan is refused and nothing is stored. Every stored week is checked again against the
version in force on each day; the report and history show which version applied.
"""

def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("plan", help=HELP, description=HELP, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    psub = p.add_subparsers(dest="plan_command", metavar="ACTION", required=True)
    c = psub.add_parser("check", help="validate a plan file and print its targets", epilog=EPILOG,
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    c.add_argument("plan", help="plan file (TOML)")
    add_format_option(c)
    c.set_defaults(func=run)
    st = psub.add_parser("set", help="store a new plan version for a client (each day is checked against "
                         "the version in force that day)", epilog=SET_EPILOG,
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    st.add_argument("plan", help="plan file (TOML)")
    st.add_argument("--client", metavar="ID", required=True, help="client id")
    st.add_argument("--from", dest="valid_from", metavar="YYYY-MM-DD", type=date_value, help="first day in force (default today)")
    from .clients import add_store_option

    add_store_option(st)
    st.set_defaults(func=run_set)


def describe(plan: Plan) -> list[tuple[str, str, str]]:
    """(target, requirement, when) for each of the plan's first targets, in words."""
    from impactlab.report.plan_text import describe_targets

    return describe_targets(plan.targets)


def run(args: argparse.Namespace) -> int:
    from impactlab.plan import load_plan

    plan = load_plan(args.plan)
    if args.format == "json":
        json.dump(plan.to_dict(), sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    con = stdout_console()
    con.print(f"[bold]{plan.name}[/bold]  ({args.plan}: valid, schema {plan.schema}"
              + (f", days in {plan.timezone}" if plan.timezone else "") + ")")
    t = make_table()
    for col in ("target", "requirement", "when"):
        t.add_column(col)
    for row in describe(plan):
        t.add_row(*row)
    con.print(t)
    from rich.markup import escape

    from impactlab.report.plan_text import describe_targets

    for ph in plan.phases:
        t = make_table(title=f"from {ph.start:%a %d %b %Y}: {escape(ph.name)}", title_justify="left")
        for col in ("target", "requirement", "when"):
            t.add_column(col)
        for row in describe_targets(ph.targets):
            t.add_row(*row)
        con.print(t)
    con.print("[dim]A day with less than 10 h wear is 'no data', not 'not met'; a day a target skips is "
              "'not scheduled'. Neither counts in adherence.[/dim]")
    return 0


def run_set(args: argparse.Namespace) -> int:
    """``plan set``: validate the plan (nothing stored when invalid), store it as a new version."""
    from impactlab.plan import load_plan
    from impactlab.store import Store

    plan = load_plan(args.plan)
    with Store(args.store) as st:
        note = st.set_plan(args.client, plan, valid_from=args.valid_from)
        versions = st.plan_history(args.client)
    if not args.quiet:
        print(f"{args.client}: plan '{plan.name}' stored, in force from {args.valid_from or 'today'} "
              f"({len(versions)} version(s)); stored weeks checked again", file=sys.stderr)
        if note:
            print(f"note: {note}", file=sys.stderr)
    return 0
