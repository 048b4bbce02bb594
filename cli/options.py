"""The command line's analysis vocabulary, written once: flags → AnalysisConfig, Plan, Markers, a source.

Every subcommand that reads a recording (``analyze``, ``import``, ``sync``, ``stream``, ``batch``,
``convert``) adds its flags from here, and turns the parsed arguments into the library's typed
inputs with :func:`analysis_config`, :func:`analysis_inputs` and :func:`open_source`; the library
never sees an ``argparse.Namespace``.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, TypedDict

from impactlab import presets
from impactlab.config import PLACEMENTS, AnalysisConfig, DetectionConfig
from impactlab.presets import PRESETS

if TYPE_CHECKING:  # the readers, markers and plans load numpy and pandas: imported when a command runs
    from impactlab.io import RecordingSource
    from impactlab.markers import Markers
    from impactlab.plan import Plan

__all__ = [
    "AnalysisInputs",
    "add_analysis_options",
    "add_reading_options",
    "analysis_config",
    "analysis_inputs",
    "detection_config",
    "open_source",
]


class AnalysisInputs(TypedDict):
    """What :func:`impactlab.analyze` takes beside the recording and its settings."""

    plan: Plan | None
    markers: Markers | None
    body_mass_kg: float | None


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
    g.add_argument("--range-g", type=float, metavar="G", dest="range_g", default=None,
                   help="sensor range in ± g, for files that do not say it (default: the file's, else "
                   "inferred from plateaus at ±2/4/8/16 g with a warning); samples at it are clipped")


def add_calibrate_option(p: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """``--calibrate``."""
    p.add_argument("--calibrate", action="store_true",
                   help="auto-calibrate on still periods (sphere fit, van Hees et al. 2014); diagnostics go to -Info.json")


def add_analysis_options(p: argparse.ArgumentParser) -> None:
    """``--markers``, ``--plan``, ``--calibrate`` and the loading group (body mass, vest, placement, vector)."""
    p.add_argument("--markers", metavar="FILE", help="labelled periods, a CSV start,end,label (vest, jumps, "
                   "vibration, walk), e.g. sample_data/markers-week.csv; write one with 'impactlab mark'")
    p.add_argument("--plan", metavar="PLAN", help="exercise plan (TOML, DESIGN §5) to check each day against, "
                   "e.g. sample_data/plan.toml")
    add_calibrate_option(p)
    g = p.add_argument_group("loading (GRF, loading rate, DSS, OI; Veras et al.)")
    g.add_argument("--body-mass", type=float, metavar="KG", dest="body_mass",
                   help="body mass in kg: predicts GRF (N, BW) and loading rate (N/s) per impact "
                   "(default: the client's from the store, else indices use peak g as a proxy)")
    g.add_argument("--vest-mass", type=float, metavar="KG", dest="vest_mass",
                   help="weighted-vest mass in kg, added to body mass in vest walks (extension)")
    g.add_argument("--placement", choices=PLACEMENTS, default="hip",
                   help="accelerometer placement for the GRF equations (default hip)")
    g.add_argument("--vector", choices=("vertical", "resultant"), default=None,
                   help="count peaks on the vertical axis or the resultant (default: the preset's)")
    g.add_argument("--include-extrapolated", action="store_true", dest="include_extrapolated",
                   help="keep GRF predictions outside their equation's calibration in DSS and OI "
                   "(default: left out; -Info.json gives both)")


def detection_config(args: argparse.Namespace) -> DetectionConfig:
    """The method preset from ``--preset``, ``--native-rate`` and ``--vector``."""
    return analysis_config(args).detection


def analysis_config(args: argparse.Namespace) -> AnalysisConfig:
    """Every analysis setting given on the command line."""
    return presets.analysis_config(args.preset, native_rate=getattr(args, "native_rate", False),
                                   vector=getattr(args, "vector", None), vest_mass_kg=getattr(args, "vest_mass", None),
                                   placement=getattr(args, "placement", None), range_g=getattr(args, "range_g", None),
                                   include_extrapolated=bool(getattr(args, "include_extrapolated", False)))


def analysis_inputs(args: argparse.Namespace) -> AnalysisInputs:
    """The plan (``--plan``), markers (``--markers``) and body mass (``--body-mass``) given."""
    from impactlab.markers import read_markers
    from impactlab.plan import load_plan

    plan_path = getattr(args, "plan", None)
    markers_path = getattr(args, "markers", None)
    return AnalysisInputs(plan=load_plan(plan_path) if plan_path else None,
                          markers=read_markers(markers_path) if markers_path else None,
                          body_mass_kg=getattr(args, "body_mass", None))


def open_source(path: str, args: argparse.Namespace) -> RecordingSource:
    """Open ``path`` with the reading options in ``args`` (auto-calibrated with ``--calibrate``)."""
    from impactlab.io import open_recording
    from impactlab.recording import parse_vertical_axis

    axis = args.vertical_axis
    if axis:  # "y", "+Y", "-y" -> the canonical "+y" / "-y"
        col, sign = parse_vertical_axis(axis)
        axis = ("-" if sign < 0 else "+") + col
    profile = getattr(args, "profile", None)
    if profile is not None:  # a raw BLE log, decoded with the sensor profile
        src = open_recording(path, tz=args.tz, vertical_axis=axis, profile=profile)
    else:
        src = open_recording(path, tz=args.tz, vertical_axis=axis, units=args.units)
    if getattr(args, "calibrate", False):
        from impactlab.calibrate import calibrate_source

        src = calibrate_source(src)
    return src
