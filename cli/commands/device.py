"""``impactlab device assign SENSOR --client ID``: give a sensor to another client."""

from __future__ import annotations

import argparse
import sys

from .clients import add_store_option

HELP = "manage sensors: give one to another client"
EPILOG = """\
examples:
  impactlab import sample_data/sim-day.parquet --client c01 --store clinic.sqlite
  impactlab import sample_data/actigraph-hip-5min.csv --tz Europe/Lisbon --client c02 --store clinic.sqlite
  impactlab device assign TAS1F25160319 --client c01 --store clinic.sqlite
  impactlab device assign F0:1A:B2:00:00:01 --client c02             # needs a synced BLE sensor (by address)

Data already stored stay with the client they were recorded for; what the sensor records and
syncs from now on is filed under the new client.
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the subcommand."""
    p = sub.add_parser("device", help=HELP, description=HELP, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    dsub = p.add_subparsers(dest="device_command", metavar="ACTION", required=True)
    a = dsub.add_parser("assign", help="give a sensor to another client", epilog=EPILOG,
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    a.add_argument("sensor", help="sensor id as stored (serial, or BLE device id)")
    a.add_argument("--client", metavar="ID", required=True, help="the new client")
    add_store_option(a)
    a.set_defaults(func=run_assign)


def run_assign(args: argparse.Namespace) -> int:
    """Move the sensor; returns the exit code."""
    from impactlab.store import Store

    with Store(args.store) as st:
        before = st.assign_device(args.sensor, args.client)
    if not args.quiet:
        print(f"sensor {args.sensor}: {before} -> {args.client}", file=sys.stderr)
    return 0
