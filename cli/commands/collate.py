"""``impactlab collate OUT``: rebuild OUT/collated/ from the per-recording folders."""

from __future__ import annotations

import argparse
import sys

from ..options import add_table_format_option
from .batch import zone_note

HELP = "rebuild the collated tables of a batch output folder"
EPILOG = """\
examples:
  impactlab batch sample_data/sim-day.parquet -o results/
  impactlab collate results/
  impactlab collate results/ --table-format csv

Reads every results/<id>/<id>-Info.json, -Daily.csv, -Sessions.csv and -PlanCheck.csv (folders
written by `impactlab analyze -o results/<id>` count too) and replaces results/collated/ with
Daily, Sessions, PlanCheck (leading recording_id and subject_id columns), Summary (one row per
recording, impacts per band per week = mean per valid day x 7 with the number of valid days),
Warnings and Impacts/ (Parquet partitioned by recording), plus Summary-Dictionary.csv and
Dictionary.csv. Every time column is local wall time with <col>_utc and utc_offset beside it.
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("collate", help=HELP, description=HELP, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out", metavar="OUT", help="output folder of `impactlab batch`")
    add_table_format_option(p, command="collate", help="format of the collated tables (default parquet)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from impactlab.batch import collate

    paths = collate(args.out, table_format=args.table_format)
    for name, path in paths.items():
        print(f"{name}: {path}")
    for note in zone_note(args.out):
        print(f"warning: {note}", file=sys.stderr)
    return 0
