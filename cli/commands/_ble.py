"""Options and helpers shared by ``scan``, ``stream`` and ``sync`` (Bluetooth LE sensors)."""

from __future__ import annotations

import argparse
import contextlib
import re
import sys
from collections.abc import Iterator
from typing import Any

from impactlab.errors import ConfigError

from ..options import add_sensor_choice

SIM_EPILOG = """\
Without hardware, --simulate FILE plays a recording through a simulated sensor (a child process
on a private D-Bus; needs the dbus-daemon package); the real bleak talks to it exactly as to a
sensor in range.
Faults: --fault-drop-rate R and --fault-duplicate-rate R (0-1, per notification) and
--fault-link-loss N (lose the link N times at random packets); --simulate-link 1.4mbps,30ms paces
the radio (throughput, latency) so the progress bar and ETA show a real link's pace.
"""


def add_sensor_options(p: argparse.ArgumentParser, *, which: bool = True,
                       name_help: str = "sensor's advertised name, e.g. IMPL-0001") -> None:
    """``--profile``, ``--address``/``--sensor``, and the simulation options."""
    g = p.add_argument_group("sensor")
    g.add_argument("--profile", default="impactlab-hip-v1", metavar="NAME|FILE",
                   help="sensor profile: impactlab-hip-v1 (default), polar-verity-sense, or a .toml path")
    if which:
        add_sensor_choice(g, command=p.prog.split()[-1], name_help=name_help)
    s = p.add_argument_group("simulated sensor (no hardware needed)")
    s.add_argument("--simulate", metavar="FILE", help="play FILE through a simulated sensor in range")
    s.add_argument("--speed", type=float, default=None, metavar="X",
                   help="simulated live playback speed: 1 real time (default for the live view), 0 as fast as possible")
    s.add_argument("--fault-drop-rate", type=float, default=0.0, metavar="R", help="lose this fraction of notifications")
    s.add_argument("--fault-duplicate-rate", type=float, default=0.0, metavar="R", help="send this fraction twice")
    s.add_argument("--fault-link-loss", type=int, default=0, metavar="N", help="lose the link N times at random packets")
    s.add_argument("--fault-seed", type=int, default=0, metavar="N", help="seed of the fault generator (default 0)")
    s.add_argument("--simulate-link", metavar="RATE,LATENCY",
                   help="pace the simulated radio, e.g. 1.4mbps,30ms (2M PHY with DLE) or 270kbps,30ms (1M PHY, no DLE)")


def parse_duration(text: str | None) -> float | None:
    """``"90"``, ``"90s"``, ``"10m"``, ``"1h"`` → seconds."""
    if text is None:
        return None
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", str(text))
    if not m or float(m.group(1)) <= 0:
        raise ConfigError(f"duration {text!r} is not like 60, 90s, 10m or 1h", key="--duration")
    return float(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[m.group(2)]


@contextlib.contextmanager
def maybe_simulate(args: argparse.Namespace, *, default_speed: float) -> Iterator[Any]:
    """Start the simulated sensor when ``--simulate`` was given; yields the Simulation or None."""
    if not getattr(args, "simulate", None):
        if any(getattr(args, f, 0) for f in ("fault_drop_rate", "fault_duplicate_rate", "fault_link_loss", "simulate_link")):
            raise ConfigError("fault options only apply to a simulated sensor", key="--fault-*",
                              hint="Add --simulate FILE")
        yield None
        return
    from impactlab.ble.sim import Faults, LinkModel, simulated_sensor_process

    faults = Faults(drop_rate=args.fault_drop_rate, duplicate_rate=args.fault_duplicate_rate,
                    link_loss=args.fault_link_loss, seed=args.fault_seed)
    speed = default_speed if args.speed is None else args.speed
    read = {"tz": getattr(args, "tz", None), "vertical_axis": getattr(args, "vertical_axis", None),
            "units": getattr(args, "units", "g")}
    link = LinkModel.parse(args.simulate_link) if getattr(args, "simulate_link", None) else None
    # in a child process: the sensor's work runs beside the host's, not under its interpreter lock
    with simulated_sensor_process(args.simulate, profile=args.profile, faults=faults, speed=speed, read_options=read,
                                  link=link) as sim:
        if not args.quiet:
            print(f"simulated sensor {sim.name} ({sim.address}) is playing {args.simulate}", file=sys.stderr)
        yield sim


def zone_and_axis(args: argparse.Namespace, sim: Any, profile: Any) -> tuple[str, str]:
    """Time zone and vertical axis: the options, else the simulated file's, else this computer's / the profile's."""
    from impactlab.io._common import check_zone, local_zone

    tz = getattr(args, "tz", None) or (sim.timezone if sim is not None else None) or local_zone()
    axis = getattr(args, "vertical_axis", None) or (sim.vertical_axis if sim is not None else None) or profile.vertical_axis
    return check_zone(tz), axis
