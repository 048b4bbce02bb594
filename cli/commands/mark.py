"""``impactlab mark LABEL --start ISO --end ISO``: append a labelled period to a markers file."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

#: impactlab.markers.KNOWN_LABELS, spelled here so that ``mark --help`` does not load pandas
#: (tests/test_cli_usage.py checks that they agree)
LABELS = ("vest", "jumps", "vibration", "walk")

HELP = "record a labelled period (vest, jumps, vibration, walk) in a markers file"
EPILOG = """\
examples:
  impactlab mark vest --start 2026-03-02T16:58:00+00:00 --end 2026-03-02T17:32:00+00:00 --file my-markers.csv
  impactlab analyze sample_data/sim-day.parquet --markers my-markers.csv   # 17:00-17:30 becomes a vest walk
  impactlab mark vibration --start 2026-03-04T18:00 --end 2026-03-04T18:15 --tz Europe/London --file my-markers.csv

The file (--file, required) is a CSV with the header start,end,label, created owner-only when
missing; a new line is written in the style of the file's last one. A file whose times carry a UTC
offset takes only times with one (give --tz or the offset), a file of local times only local times. A walking bout that
overlaps a 'vest' period counts as vest walking: a hip sensor cannot tell a vest from no vest.
A marker is refused (exit 1, nothing written) when its end is not after its start or when it
overlaps a marker with the same label already in the file (that line is named).
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("mark", help=HELP, description=HELP, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("label", choices=LABELS, help="what happened in the period")
    p.add_argument("--start", required=True, metavar="ISO", help="start, ISO-8601 (e.g. 2026-03-03T10:00:00+00:00)")
    p.add_argument("--end", required=True, metavar="ISO", help="end, ISO-8601")
    p.add_argument("--file", required=True, metavar="CSV",
                   help="markers file to append to (created when missing); the client's, e.g. client-042-markers.csv")
    p.add_argument("--tz", metavar="ZONE", help="zone of times written without an offset (default: keep them local; "
                   "they are then read in the recording's zone)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from impactlab.markers import append_marker, parse_time

    start = parse_time(args.start, key="--start")
    end = parse_time(args.end, key="--end")
    if args.tz:
        from impactlab.io._common import check_zone

        check_zone(args.tz)
        start, end = (_localize(t, args.tz, k) for t, k in ((start, "--start"), (end, "--end")))
    m = append_marker(args.file, args.label, start, end)
    if not args.quiet:
        print(f"{args.file}:line {m.line}: added {m.label} {m.start.isoformat()} to {m.end.isoformat()} "
              f"({(m.end - m.start).total_seconds() / 60:g} min)")
    return 0


def _localize(t: pd.Timestamp, tz: str, key: str) -> pd.Timestamp:
    """A time without an offset read in ``tz``; a clock-change gap or repeat is refused."""
    from impactlab.errors import ConfigError

    if t.tzinfo is not None:
        return t
    try:
        return t.tz_localize(tz, ambiguous="raise", nonexistent="raise")
    except Exception:
        raise ConfigError(f"{key} {t.isoformat()} does not exist or is ambiguous in {tz} (clock change); "
                          "nothing was written", key=key, hint="Write the time with its UTC offset, e.g. "
                          "2026-10-25T01:30:00+01:00") from None
