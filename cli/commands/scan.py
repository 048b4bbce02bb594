"""``impactlab scan``: Bluetooth LE sensors in range (name, address, RSSI, profile)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys

from .._common import doc_path, make_table, stdout_console
from ..options import add_format_option
from ._ble import SIM_EPILOG, add_sensor_options, maybe_simulate

HELP = "list Bluetooth LE sensors in range"
EPILOG = """\
examples:
  impactlab scan --simulate sample_data/sim-day.parquet
  impactlab scan --sensor IMPL --simulate sample_data/sim-day.parquet --format json
  impactlab scan --timeout 10 --all                          # needs a sensor in range

Sensors are recognised by the service UUID (or name prefix) of the profiles in {FIRMWARE}.
""" + "\n" + SIM_EPILOG


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("scan", help=HELP, description=HELP, epilog=EPILOG.replace("{FIRMWARE}", doc_path("firmware_config") + os.sep),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--timeout", type=float, default=5.0, metavar="S", help="scan time in s (default 5)")
    p.add_argument("--service", metavar="UUID", help="only devices advertising this service UUID")
    p.add_argument("--all", action="store_true", help="also list devices no profile recognises")
    add_format_option(p)
    add_sensor_options(p, name_help="only sensors whose advertised name starts with NAME, e.g. IMPL")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from impactlab.ble.client import scan
    from impactlab.ble.profile import list_profiles, load_profile

    profiles = [load_profile(n) for n in list_profiles()]
    if args.profile not in list_profiles():
        profiles.insert(0, load_profile(args.profile))
    with maybe_simulate(args, default_speed=1.0):
        timeout = min(args.timeout, 1.0) if args.simulate else args.timeout
        found = asyncio.run(scan(profiles, scan_s=timeout, name=args.sensor_name, service=args.service,
                                 all_devices=args.all))
        if args.address:
            found = [f for f in found if f.address.upper() == args.address.upper()]
    if args.format == "json":
        json.dump({"sensors": [{"name": f.name, "address": f.address, "rssi": f.rssi, "profile": f.profile}
                               for f in found]}, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    from rich.markup import escape

    con = stdout_console()
    if not found:
        con.print("No sensors found. Is the sensor charged and close by? (--all lists every device; "
                  "--simulate FILE tries a simulated one)")
        return 0
    t = make_table("Sensors in range")
    for col in ("name", "address", "RSSI dBm", "profile"):
        t.add_column(col, justify="right" if col == "RSSI dBm" else "left")
    for f in found:
        t.add_row(escape(f.name or "?"), f.address, str(f.rssi), f.profile or "-")
    con.print(t)
    return 0
