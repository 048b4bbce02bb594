"""``impactlab analyze FILE``: impacts per band per day, as a table or the JSON contract."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from .._common import HelpFormatter, doc_path, progress_bar
from ..options import (
    add_analysis_options,
    add_format_option,
    add_out_dir_option,
    add_reading_options,
    analysis_config,
    analysis_inputs,
    open_source,
)

if TYPE_CHECKING:
    from impactlab.pipeline import Analysis

HELP = "count impacts per g-band per day in one recording"
EPILOG = """\
examples:
  impactlab analyze sample_data/sim-day.parquet
  impactlab analyze sample_data/sim-day.parquet --format json
  impactlab analyze sample_data/actigraph-hip-5min.csv --tz Europe/Lisbon -o results/
  impactlab analyze sample_data/sim-day.parquet --plan sample_data/plan.toml --body-mass 70

Reads (by content, whatever the name): ActiGraph .gt3x and .agdc, Axivity .cwa (AX3/AX6),
GENEActiv .bin, ActiGraph ActiLife .csv exports, plain .csv (time,x,y,z in g; .csv.gz too),
.parquet (as written by impactlab convert), and raw BLE logs from stream/sync --raw-log (with
--profile). Peaks of the vertical axis
are counted in Hannam et al. (2017) bands: low 0.5-1.0 g, medium 1.0-1.5 g, high >= 1.5 g above
gravity, at 50 Hz after a 20 Hz low-pass. Days with >= 10 h wear are valid; weekly figures are the
mean per valid day x 7.
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("analyze", help=HELP, description=HELP, epilog=EPILOG,
                       formatter_class=HelpFormatter)
    p.add_argument("file", help="recording file")
    add_reading_options(p)
    p.add_argument("--profile", metavar="NAME", help="FILE is a raw BLE log (time,direction,uuid,hex) decoded "
                   f"with this sensor profile, e.g. polar-verity-sense (see {doc_path('firmware_config/README.md')})")
    add_analysis_options(p)
    add_format_option(p)
    add_out_dir_option(p, help="also write <stem>-Impacts.csv, -Daily.csv, -Sessions.csv, -Info.json (and "
                       "-PlanCheck.csv) into DIR")
    p.set_defaults(func=run)


def run_analysis(args: argparse.Namespace) -> Analysis:
    """Open, analyse and return (shared with ``import``)."""
    from impactlab.pipeline import analyze

    src = open_source(args.file, args)
    inputs = analysis_inputs(args)
    with progress_bar(src.n_rows_hint, f"analysing {Path(args.file).name}", quiet=args.quiet) as update:
        return analyze(src, config=analysis_config(args), progress=update, **inputs)


def run(args: argparse.Namespace) -> int:
    res = run_analysis(args)
    if args.out:
        files = res.write(args.out, Path(args.file).name.split(".")[0])
        if not args.quiet:
            print(f"wrote {len(files)} files to {args.out}", file=sys.stderr)
    if args.format == "json":
        json.dump(res.to_json_dict(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        from ..render import print_table

        print_table(res)
    return 0
