"""``impactlab sync --client ID``: download a sensor's stored data into the store, then import it."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from .._common import HelpFormatter, progress_bar, stdout_console
from ..options import add_client_name_option, add_client_option, add_format_option, analysis_config
from ._ble import SIM_EPILOG, add_sensor_options, maybe_simulate, zone_and_axis
from .clients import add_store_option
from .import_ import add_client_analysis_options

HELP = "download a sensor's stored data (lossless, resumable) and add it to a client's store"
EPILOG = """\
examples:
  impactlab sync --simulate sample_data/sim-day.parquet --client c01
  impactlab sync --simulate sample_data/sim-day.parquet --client c01 --fault-link-loss 5 --fault-drop-rate 0.01
  impactlab sync --address F0:1A:B2:00:00:01 --client c01 --plan sample_data/plan.toml --store clinic.sqlite   # needs a sensor

Packets are committed to the store as they arrive, each once (by sequence number). A dropped link
reconnects with backoff and resumes; an interrupted sync resumes when run again. The sensor is told
to erase only what the store has committed. A range the sensor no longer holds is reported as a
gap, never filled. Then the session is analysed as impactlab import would (same options).
""" + "\n" + SIM_EPILOG


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sync", help=HELP, description=HELP, epilog=EPILOG,
                       formatter_class=HelpFormatter)
    g = p.add_argument_group("client store")
    add_client_option(g, help="client id (created when new), e.g. c01")
    add_client_name_option(g)
    add_store_option(g)
    add_format_option(g)
    g.add_argument("-v", "--verbose", action="store_true",
                   help="also list each day's plan checks (met / not met / no data) above the answer")
    g.add_argument("--raw-log", metavar="FILE", help="write every GATT write and notification as CSV "
                   "time,direction,uuid,hex (replay with analyze/convert --profile)")
    add_sensor_options(p)
    add_client_analysis_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from impactlab.ble.profile import load_profile
    from impactlab.ble.rawlog import raw_log
    from impactlab.ble.sync import sync_sensor
    from impactlab.store import Store

    from .import_ import client_inputs

    profile = load_profile(args.profile)
    kwargs = client_inputs(args)
    cfg = analysis_config(args)
    with maybe_simulate(args, default_speed=0.0) as sim, Store(args.store) as st:
        tz, axis = zone_and_axis(args, sim, profile)
        address = args.address or (sim.address if sim is not None else None)
        st.add_client(args.client, name=args.client_name, body_mass_kg=getattr(args, "body_mass", None))
        with progress_bar(10**7, "syncing", quiet=args.quiet) as update, raw_log(getattr(args, "raw_log", None)):
            res = asyncio.run(sync_sensor(
                st, args.client, profile, address=address, name=getattr(args, "sensor_name", None), timezone=tz,
                vertical_axis=axis, plan=kwargs.pop("plan", None), markers=kwargs.pop("markers", None), config=cfg,
                progress=lambda done, held: update(int(10**7 * done / max(1, held))), **kwargs))
        summary = None
        if res.import_result is not None:
            from impactlab.report import daily_summary

            summary = daily_summary(st, res.import_result)
    for w in res.warnings:
        print(f"warning: {w}", file=sys.stderr)
    for a, b in res.missing:
        print(f"warning: packets {a}-{b} were no longer on the sensor; that gap is reported, not filled",
              file=sys.stderr)
    ir = res.import_result
    if args.format == "json":
        out = {"client": args.client, "device": res.device_id, "held": res.held, "new_packets": res.new,
               "received": res.received, "duplicates": res.duplicates, "decode_errors": res.decode_errors,
               "reconnects": res.reconnects, "rerequests": res.rerequests, "last_seq": res.last_seq,
               "erased_upto": res.erased_upto, "missing": [list(m) for m in res.missing], "warnings": res.warnings,
               "import": None if ir is None else {
                   "recording_id": ir.recording_id, "already_imported": ir.already_imported,
                   "added": {"impacts": ir.n_impacts_added, "sessions": ir.n_sessions_added,
                             "wear_blocks": ir.n_blocks_added}, "dates": ir.dates}}
        json.dump(out, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    con = stdout_console()
    con.print(f"Synced {res.device_id}: {res.new} new packet(s) of {res.held} held; {res.duplicates} duplicate(s) "
              f"ignored, {res.reconnects} reconnect(s), {res.decode_errors} malformed; "
              + (f"sensor told to erase up to seq {res.erased_upto}" if res.erased_upto is not None else "nothing erased"))
    if ir is not None and summary is not None:
        from .import_ import print_summary

        print_summary(summary, ir, verbose=args.verbose)
        from ..render import print_answer_after_sync

        print_answer_after_sync(args.store, args.client)  # the client's answer for the last day with data
    return 0
