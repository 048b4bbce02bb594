"""``impactlab device assign SENSOR --client ID``: give a sensor to another client."""

from __future__ import annotations

import argparse
import sys

from ..options import date_value
from .clients import add_store_option

HELP = "manage sensors: give one to another client"
EPILOG = """\
examples:
  impactlab import sample_data/actigraph-hip-5min.csv --tz Europe/Lisbon --client c02 --store clinic.sqlite
  impactlab device assign TAS1F25160319 --client c01 --store clinic.sqlite
  impactlab device assign TAS1F25160319 --client c01 --from 2026-03-09 --store clinic.sqlite
  impactlab device assign F0:1A:B2:00:00:01 --client c02             # needs a synced BLE sensor (by address)

Data recorded from --from on (default: the day after the last data stored from the sensor) are
filed under the new client, data before it under the one before; data already stored stay with
the client they were imported for.
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
    a.add_argument("--from", dest="valid_from", metavar="YYYY-MM-DD", type=date_value,
                   help="first day (local) the new client wears it (default: the day after its last stored data)")
    add_store_option(a)
    a.set_defaults(func=run_assign)


def run_assign(args: argparse.Namespace) -> int:
    """Move the sensor; returns the exit code."""
    from impactlab.store import Store
    from impactlab.store.devices import assign_device

    with Store(args.store) as st:
        before, first, note = assign_device(st.db, st.path, args.sensor, args.client, args.valid_from)
    if not args.quiet:
        when = "from the start" if first == "0000-01-01" else f"from {first}"
        print(f"sensor {args.sensor}: {before} -> {args.client} {when}", file=sys.stderr)
        if note:
            print(f"note: {note}", file=sys.stderr)
    return 0
