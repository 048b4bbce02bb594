"""Options and helpers shared by subcommands (reading options, progress, output)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from contextlib import contextmanager
from typing import Any

from impactlab.config import PRESETS, DetectionConfig, get_preset
from impactlab.io import RecordingSource, open_recording


def add_reading_options(p: argparse.ArgumentParser) -> None:
    """``--tz``, ``--vertical-axis``, ``--units``, ``--preset``, ``--native-rate``."""
    g = p.add_argument_group("reading and method")
    g.add_argument("--tz", metavar="ZONE", help="IANA zone of the device clock, e.g. Europe/London "
                   "(default: the file's, else this computer's)")
    g.add_argument("--vertical-axis", metavar="AXIS", help="axis pointing up when standing, with sign: "
                   "+y, -y, +x, ... (default: the device's, or detected from the data)")
    g.add_argument("--units", choices=["g", "ms2"], default="g", help="units of text files (default g)")
    g.add_argument("--preset", default="hannam2017", choices=sorted(PRESETS),
                   help="method preset (default hannam2017: 50 Hz, 0.5/1.0/1.5 g above gravity)")
    g.add_argument("--native-rate", action="store_true",
                   help="count peaks at the file's own rate instead of resampling to the preset's")


def source_from_args(path: str, args: argparse.Namespace) -> RecordingSource:
    """Open ``path`` with the reading options in ``args``."""
    return open_recording(path, tz=args.tz, vertical_axis=args.vertical_axis, units=args.units)


def config_from_args(args: argparse.Namespace) -> DetectionConfig:
    """Method settings from ``--preset`` and ``--native-rate``."""
    cfg = get_preset(args.preset)
    if getattr(args, "native_rate", False):
        cfg = cfg.replace(target_rate_hz=None)
    return cfg


@contextmanager
def progress_bar(total: int | None, label: str, *, quiet: bool = False) -> Any:
    """A rich progress bar on stderr (only on a terminal and for long inputs); yields ``update(n)``."""
    if quiet or not sys.stderr.isatty() or not total or total < 2_000_000:
        yield lambda n: None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                  TimeRemainingColumn(), transient=True, console=_stderr_console()) as prog:
        task = prog.add_task(label, total=total)
        update: Callable[[int], None] = lambda n: prog.update(task, completed=min(n, total))  # noqa: E731
        yield update


def _stderr_console() -> Any:
    from rich.console import Console

    return Console(stderr=True)


def stdout_console() -> Any:
    """A rich console on stdout (plain text when not a terminal)."""
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)
