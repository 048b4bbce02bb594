"""``impactlab stream``: live impacts from a sensor in a terminal view (rich)."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from typing import TYPE_CHECKING, Any

from impactlab._version import __version__

from .._common import make_table, stdout_console
from ..options import add_format_option, add_output_file_option, add_reading_options, detection_config
from ._ble import SIM_EPILOG, add_sensor_options, maybe_simulate, parse_duration, zone_and_axis

if TYPE_CHECKING:  # bleak, numpy and pandas: imported when the command runs
    from impactlab.ble.stream import LiveStatus

HELP = "stream live impacts from a sensor (terminal view)"
EPILOG = """\
examples:
  impactlab stream --simulate sample_data/sim-day.parquet
  impactlab stream --simulate sample_data/sim-day.parquet --duration 60 --format json
  impactlab stream --simulate sample_data/sim-day.parquet --duration 30 --output live.parquet --format json
  impactlab stream --address F0:1A:B2:00:00:01 --duration 10m --output session.parquet   # needs a sensor
  impactlab stream --profile polar-verity-sense --sensor "Polar Sense 0A1B2C3D"          # needs a sensor
  impactlab stream --profile polar-verity-sense --polar-sdk-mode --duration 10m --output run.parquet   # needs a sensor

The view shows elapsed sensor time, samples, packets lost (every missing sequence number is
counted; Polar gaps are found from timestamps), impacts per band, recent impacts, markers and
battery. Ctrl-C ends the stream cleanly and still saves --output. Impacts equal those of
impactlab analyze on the saved file: while streaming, a preview detector shows impacts within 2 s
of the jump; when the stream ends the exact detector's counts replace it.
A simulated sensor plays in real time for the terminal view and as fast as it can for
--format json or when stdout is not a terminal (set --speed to choose).
""" + "\n" + SIM_EPILOG


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("stream", help=HELP, description=HELP, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--duration", metavar="T", help="stop after T of sensor time: 60, 90s, 10m, 1h (default: Ctrl-C)")
    add_output_file_option(p, metavar="FILE.parquet", help="save the raw recording (Parquet) when the stream ends",
                           old=("--out",), command="stream")
    add_format_option(p, help="final output format (default table)")
    p.add_argument("--raw-log", metavar="FILE", help="write every GATT write and notification as CSV "
                   "time,direction,uuid,hex (replay with analyze/convert --profile)")
    p.add_argument("--polar-sdk-mode", action="store_true",
                   help="Polar: stream in SDK mode (104 Hz, ±16 g; switched off again at the end) instead of normal "
                        "mode (52 Hz, ±8 g)")
    add_sensor_options(p)
    add_reading_options(p)
    p.set_defaults(func=run)


def _view(st: LiveStatus, title: str) -> Any:
    t = make_table(title, show_header=False)
    t.add_column("what")
    t.add_column("value", justify="right")
    mins, secs = divmod(st.elapsed_s, 60)
    t.add_row("elapsed", f"{int(mins)}:{secs:04.1f}")
    t.add_row("samples", f"{st.samples:,}")
    t.add_row("packets lost", f"{st.packets_lost} of {st.packets + st.packets_lost}")
    if st.duplicates or st.decode_errors:
        t.add_row("duplicates / malformed", f"{st.duplicates} / {st.decode_errors}")
    for band, rng in (("low", "0.5-1.0 g"), ("medium", "1.0-1.5 g"), ("high", ">= 1.5 g")):
        t.add_row(f"impacts {band} ({rng})", str(st.impacts[band]))
    t.add_row("impacts in the last 10 s", str(st.recent_impacts))
    t.add_row("current session", st.current_session or "none")
    if st.markers:
        t.add_row("last marker", f"{st.markers[-1][1]} at {st.markers[-1][0][11:19]}")
    t.add_row("battery", "-" if st.battery is None else f"{st.battery} %")
    return t


def run(args: argparse.Namespace) -> int:
    from impactlab.ble.profile import load_profile
    from impactlab.ble.rawlog import raw_log

    profile = load_profile(args.profile)
    duration = parse_duration(args.duration)
    cfg = detection_config(args).replace(block_s=10.0)
    realtime = args.format == "table" and sys.stdout.isatty()
    with maybe_simulate(args, default_speed=1.0 if realtime else 0.0) as sim:
        tz, axis = zone_and_axis(args, sim, profile)
        address = args.address or (sim.address if sim is not None else None)
        with raw_log(getattr(args, "raw_log", None)):
            live = asyncio.run(_stream(args, profile, address, tz, axis, cfg, duration))
    st = live.status
    rec = live.recording()
    if args.output and rec is not None:
        from impactlab.io import write_parquet

        write_parquet(rec, args.output)
        if not args.quiet:
            print(f"saved {len(rec):,} samples to {args.output}", file=sys.stderr)
    if args.format == "json":
        out = {
            "impactlab_version": __version__,
            "sensor": {"address": rec.meta.serial if rec is not None else address, "profile": profile.id,
                       "battery": st.battery},
            "recording": None if rec is None else {
                "start": rec.data.index[0].isoformat(), "end": rec.data.index[-1].isoformat(),
                "sample_rate_hz": rec.meta.sample_rate_hz, "timezone": tz, "vertical_axis": axis},
            "elapsed_s": round(st.elapsed_s, 3), "samples": st.samples, "packets": st.packets,
            "packets_lost": st.packets_lost, "duplicates": st.duplicates, "decode_errors": st.decode_errors,
            "gaps": [list(g) for g in st.gaps], "impacts": st.impacts, "sessions": st.sessions,
            "markers": [list(m) for m in st.markers],
            "ended": st.ended, "error": st.last_error, "out": args.output,
        }
        json.dump(out, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        con = stdout_console()
        con.print(_view(st, f"Stream from {address or profile.id} ({profile.id})"))
        for ses in st.sessions:
            con.print(f"session: {ses['kind']} {ses['start'][11:19]}-{ses['end'][11:19]}, {ses['n_impacts']} impacts")
        if st.last_error:
            con.print(f"[yellow]{st.last_error}[/yellow]")
    return 0


async def _stream(args: argparse.Namespace, profile: Any, address: str | None, tz: str, axis: str, cfg: Any,
                  duration: float | None) -> Any:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    try:
        loop.add_signal_handler(signal.SIGINT, stop.set)
    except (NotImplementedError, RuntimeError):  # not the main thread
        pass
    from impactlab.ble.stream import LiveStatus, stream_sensor

    live_view = None
    if args.format == "table" and sys.stdout.isatty() and not args.quiet:
        from rich.live import Live

        live_view = Live(_view(LiveStatus(), "connecting..."), console=stdout_console(), refresh_per_second=4,
                         transient=True)
        live_view.start()
    title = f"Stream from {address or profile.id} ({profile.id}) - Ctrl-C ends"
    try:
        return await stream_sensor(
            profile, address=address, name=getattr(args, "sensor_name", None), timezone=tz, vertical_axis=axis,
            config=cfg, duration_s=duration, stop=stop, idle_stop_s=5.0 if args.simulate else None,
            sdk_mode=bool(getattr(args, "polar_sdk_mode", False)),
            on_update=(lambda st: live_view.update(_view(st, title))) if live_view is not None else None,
        )
    finally:
        if live_view is not None:
            live_view.stop()
        try:
            loop.remove_signal_handler(signal.SIGINT)
        except (NotImplementedError, RuntimeError):
            pass
