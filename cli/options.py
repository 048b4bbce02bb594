"""The command line's vocabulary, written once: every shared flag, and flags → AnalysisConfig, Plan, Markers.

One spelling, one meaning, in every subcommand (tabled in the README and docs/cli.md, checked by
tests/test_cli_flags.py):

* ``--client ID`` names a client; ``--client-name NAME`` is the client's display name.
* ``--sensor NAME`` / ``--address ADDR`` pick a Bluetooth LE sensor.
* ``-o/--out DIR`` is always a folder; ``--output FILE`` is always one file.
* ``--format table|json`` is what goes to stdout; ``--table-format parquet|csv`` is the format of the
  table files that ``batch`` and ``collate`` write.

Old spellings (``import --name``, ``sync/scan/stream --name``, ``convert -o FILE``, ``import -o FILE``,
``stream --out FILE``, ``batch/collate --format``) still work for one release: they are hidden from
the help and leave a one-line deprecation warning on stderr (:class:`DeprecatedFlag`).

Every subcommand that reads a recording (``analyze``, ``import``, ``sync``, ``stream``, ``batch``,
``convert``) adds its reading flags from here, and turns the parsed arguments into the library's
typed inputs with :func:`analysis_config`, :func:`analysis_inputs` and :func:`open_source`; the
library never sees an ``argparse.Namespace``.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, TypedDict

from impactlab import presets
from impactlab.config import BODY_MASS_RANGE_KG, PLACEMENTS, VEST_MASS_RANGE_KG, AnalysisConfig, DetectionConfig
from impactlab.presets import PRESETS

from ._common import doc_path

if TYPE_CHECKING:  # the readers, markers and plans load numpy and pandas: imported when a command runs
    from impactlab.io import RecordingSource
    from impactlab.markers import Markers
    from impactlab.plan import Plan

__all__ = [
    "REMOVED_IN",
    "VOCABULARY",
    "AnalysisInputs",
    "DeprecatedFlag",
    "Flag",
    "add_client_name_option",
    "add_client_option",
    "add_format_option",
    "add_week_option",
    "date_value",
    "week_value",
    "add_output_file_option",
    "add_out_dir_option",
    "add_sensor_choice",
    "add_table_format_option",
    "deprecation_notes",
    "refuse_method_options",
    "add_analysis_options",
    "add_reading_options",
    "analysis_config",
    "analysis_inputs",
    "detection_config",
    "open_source",
]


#: the release in which the old spellings stop working
REMOVED_IN = "0.2"


class Flag(NamedTuple):
    """One word of the vocabulary: its spelling, what it always means, and the old spellings it replaces."""

    flag: str
    meaning: str
    replaces: str


VOCABULARY: tuple[Flag, ...] = (
    Flag("--client ID", "the client's id in the store (created when new by import and sync)", ""),
    Flag("--client-name NAME", "the client's display name", "import --name"),
    Flag("--sensor NAME", "a Bluetooth LE sensor by its advertised name (scan: a name prefix)",
         "sync/scan/stream --name"),
    Flag("--address ADDR", "a Bluetooth LE sensor by its address, e.g. F0:1A:B2:00:00:01", ""),
    Flag("-o, --out DIR", "a folder the command writes its files into", ""),
    Flag("--output FILE", "the one file the command writes", "convert -o, stream --out"),
    Flag("--save-parquet FILE", "also save the recording read as Parquet (import)", "import -o"),
    Flag("--format table|json", "what is printed on stdout", ""),
    Flag("--table-format parquet|csv", "the format of the table files batch and collate write",
         "batch/collate --format"),
    Flag("--store PATH", "the client store (SQLite file); read-only commands refuse one that does not exist", ""),
    Flag("--week YYYY-Www", "an ISO week, e.g. 2026-W10 (report: the week shown; history: the last week shown)",
         "history --until"),
    Flag("--from YYYY-MM-DD", "the first day something is in force (plan set, device assign)", ""),
)


class DeprecatedFlag(argparse.Action):
    """An old spelling that still works for one release: stores its value like ``new``, hidden from the help.

    The note (``'convert -o' is deprecated: use --output FILE ...``) is collected on the namespace and
    printed once on stderr by :func:`impactlab.cli.main.main` (not with ``--quiet``).
    """

    def __init__(self, option_strings: Sequence[str], dest: str, *, new: str, command: str = "",
                 **kwargs: Any) -> None:
        kwargs["help"] = argparse.SUPPRESS
        kwargs.setdefault("default", argparse.SUPPRESS)
        super().__init__(option_strings, dest, **kwargs)
        self.new = new
        self.command = command

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        setattr(namespace, self.dest, values)
        where = f"{self.command} {option_string}".strip()
        note = (f"'{where}' is deprecated: use {self.new} (the old spelling stops working in impactlab "
                f"{REMOVED_IN})")
        notes = list(getattr(namespace, "deprecated_notes", []))
        if note not in notes:
            notes.append(note)
        namespace.deprecated_notes = notes


def deprecation_notes(args: argparse.Namespace) -> list[str]:
    """The deprecation notes the old spellings in ``args`` left (empty when none was used)."""
    return list(getattr(args, "deprecated_notes", []))


Group = argparse.ArgumentParser | argparse._ArgumentGroup


def add_client_option(p: Group, *, required: bool = True, help: str = "client id, e.g. c01") -> None:
    """``--client ID``."""
    p.add_argument("--client", metavar="ID", required=required, help=help)


def add_client_name_option(p: Group, *, old: str | None = None, command: str = "",
                           help: str = "client's display name (stored on first use, or updated)") -> None:
    """``--client-name NAME`` (dest ``client_name``); ``old`` is a deprecated spelling that still works."""
    p.add_argument("--client-name", dest="client_name", metavar="NAME", help=help)
    if old:
        p.add_argument(old, dest="client_name", action=DeprecatedFlag, new="--client-name NAME", command=command)


def add_sensor_choice(p: Group, *, command: str = "",
                      name_help: str = "sensor's advertised name, e.g. IMPL-0001") -> None:
    """``--address ADDR`` or ``--sensor NAME`` (dest ``sensor_name``; the old ``--name`` still works)."""
    w = p.add_mutually_exclusive_group()
    w.add_argument("--address", metavar="ADDR", help="sensor address, e.g. F0:1A:B2:00:00:01 (see impactlab scan)")
    w.add_argument("--sensor", dest="sensor_name", metavar="NAME", help=name_help)
    w.add_argument("--name", dest="sensor_name", action=DeprecatedFlag, new="--sensor NAME", command=command)


def add_out_dir_option(p: Group, *, help: str, required: bool = False) -> None:
    """``-o/--out DIR``: always a folder."""
    p.add_argument("-o", "--out", metavar="DIR", required=required, help=help)


def add_output_file_option(p: Group, *, metavar: str = "FILE", help: str, required: bool = False,
                           old: Sequence[str] = (), command: str = "") -> None:
    """``--output FILE``: always one file; ``old`` are deprecated spellings that still work.

    With ``required``, :func:`impactlab.cli.main.main` checks it after parsing (so that the old spelling
    counts) and prints the subcommand's usage when neither was given.
    """
    p.add_argument("--output", metavar=metavar, default=None, help=help + (" (required)" if required else ""))
    if required:
        p.set_defaults(required_flags=[("output", f"--output {metavar}")])
    if old:
        p.add_argument(*old, dest="output", metavar=metavar, action=DeprecatedFlag, new=f"--output {metavar}",
                       command=command)


def week_value(text: str) -> str:
    """An ISO week flag value (``2026-W10``), checked as it is parsed: a bad one is a usage error (exit 2)."""
    from impactlab.errors import ImpactlabError
    from impactlab.report.tables import parse_week

    try:
        parse_week(text)
    except ImpactlabError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO week: write YYYY-Www, e.g. 2026-W10 "
                                         "(weeks run from W01 to W52 or W53)") from None
    return text.strip()


def date_value(text: str) -> str:
    """A day flag value (``2026-03-02``), checked as it is parsed: a bad one is a usage error (exit 2)."""
    import datetime as dt
    import re

    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text.strip()):
            raise ValueError(text)
        return dt.date.fromisoformat(text.strip()).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date: write YYYY-MM-DD, e.g. 2026-03-02") from None


def add_week_option(p: Group, *, help: str, old: str | None = None, command: str = "") -> None:
    """``--week YYYY-Www`` (dest ``week``); ``old`` is a deprecated spelling that still works."""
    p.add_argument("--week", metavar="YYYY-Www", type=week_value, help=help)
    if old:
        p.add_argument(old, dest="week", type=week_value, action=DeprecatedFlag, new="--week YYYY-Www",
                       command=command)


def add_format_option(p: Group, *, help: str = "stdout format (default table)") -> None:
    """``--format table|json``: what is printed on stdout."""
    p.add_argument("--format", choices=["table", "json"], default="table", help=help)


def add_table_format_option(p: Group, *, command: str = "",
                            help: str = "format of the table files written (default parquet)") -> None:
    """``--table-format parquet|csv`` (dest ``table_format``; the old ``--format`` still works)."""
    p.add_argument("--table-format", dest="table_format", choices=["parquet", "csv"], default="parquet", help=help)
    p.add_argument("--format", dest="table_format", choices=["parquet", "csv"], action=DeprecatedFlag,
                   new="--table-format parquet|csv", command=command)


class AnalysisInputs(TypedDict):
    """What :func:`impactlab.analyze` takes beside the recording and its settings."""

    plan: Plan | None
    markers: Markers | None
    body_mass_kg: float | None


def add_reading_options(p: argparse.ArgumentParser, *, method: bool = True) -> None:
    """``--tz``, ``--vertical-axis``, ``--units`` and, with ``method``, ``--preset``, ``--native-rate``, ``--range-g``.

    Commands that only read samples (``convert``) pass ``method=False``; the method flags are then
    refused by :func:`refuse_method_options` with a line saying why.
    """
    g = p.add_argument_group("reading and method" if method else "reading")
    g.add_argument("--tz", metavar="ZONE", help="IANA zone of the device clock, e.g. Europe/London "
                   "(default: the file's, else this computer's)")
    g.add_argument("--vertical-axis", metavar="AXIS", help="axis pointing up when standing, with sign: "
                   "+y, -y, +x, ... (default: the device's, or detected from the data)")
    g.add_argument("--units", choices=["g", "ms2"], default="g", help="units of text files (default g)")
    if not method:
        return
    g.add_argument("--preset", default="hannam2017", choices=sorted(PRESETS),
                   help="method preset (default hannam2017: 50 Hz, 0.5/1.0/1.5 g above gravity)")
    g.add_argument("--native-rate", action="store_true",
                   help="count peaks at the file's own rate instead of resampling to the preset's")
    g.add_argument("--range-g", type=float, metavar="G", dest="range_g", default=None,
                   help="sensor range in ± g, for files that do not say it (default: the file's, else "
                   "inferred from plateaus at ±2/4/8/16 g with a warning); samples at it are clipped")


class _Refused(argparse.Action):
    """A flag that means nothing in this command: a usage error that says why."""

    def __init__(self, option_strings: Sequence[str], dest: str, *, why: str, **kwargs: Any) -> None:
        kwargs["help"] = argparse.SUPPRESS
        kwargs["default"] = argparse.SUPPRESS
        super().__init__(option_strings, dest, **kwargs)
        self.why = why

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        parser.error(f"{option_string} {self.why}")


#: analysis flags and whether they take a value
METHOD_FLAGS = {"--preset": 1, "--native-rate": 0, "--range-g": 1, "--vector": 1, "--placement": 1,
                "--body-mass": 1, "--vest-mass": 1, "--plan": 1, "--markers": 1}


def refuse_method_options(p: argparse.ArgumentParser, command: str) -> None:
    """Make the analysis flags a usage error in ``command`` that only reads samples (e.g. ``convert``)."""
    why = (f"is an analysis option: {command} writes the samples as they were read, so it would change "
           "nothing. Give it to analyze, import or batch")
    for flag, nargs in METHOD_FLAGS.items():
        p.add_argument(flag, action=_Refused, nargs=None if nargs else 0, why=why, dest=f"refused_{flag[2:]}")


def add_calibrate_option(p: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """``--calibrate``."""
    p.add_argument("--calibrate", action="store_true",
                   help="auto-calibrate on still periods (sphere fit, van Hees et al. 2014); diagnostics go to -Info.json")


# the ranges (BODY_MASS_RANGE_KG, VEST_MASS_RANGE_KG) live in impactlab.config: the same masses arriving
# from files (a batch subjects CSV, a plan's vest_mass_kg) are checked against them too
def _mass_in(flag: str, lo: float, hi: float) -> Callable[[str], float]:
    """An argparse ``type``: a number of kg in ``[lo, hi]``, else a usage error naming ``flag`` and the range."""

    def parse(text: str) -> float:
        try:
            v = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number: {flag} takes {lo:g}-{hi:g} kg") from None
        if not lo <= v <= hi:  # NaN and inf fail too
            raise argparse.ArgumentTypeError(f"{text!r} is not a plausible mass: {flag} takes {lo:g}-{hi:g} kg")
        return v

    parse.__name__ = "kg"
    return parse


def add_analysis_options(p: argparse.ArgumentParser) -> None:
    """``--markers``, ``--plan``, ``--calibrate``, ``--align-gravity`` and the loading group (body mass, vest, placement, vector)."""
    p.add_argument("--markers", metavar="FILE", help="labelled periods, a CSV start,end,label (vest, jumps, "
                   "vibration, walk), e.g. sample_data/markers-week.csv; write one with 'impactlab mark'")
    p.add_argument("--plan", metavar="PLAN", help=f"exercise plan (TOML, see {doc_path('docs/cli.md')}) to check each day "
                   "against, e.g. sample_data/plan.toml")
    add_calibrate_option(p)
    p.add_argument("--align-gravity", action="store_true", dest="align_gravity",
                   help="count peaks along the gravity direction measured in the latest still second, not the "
                   f"vertical axis: for a sensor tilted on the belt ({doc_path('docs/method.md')} §7)")
    g = p.add_argument_group("loading (GRF, loading rate, DSS, OI; Veras et al.)")
    g.add_argument("--body-mass", type=_mass_in("--body-mass", *BODY_MASS_RANGE_KG), metavar="KG", dest="body_mass",
                   help=f"body mass in kg ({BODY_MASS_RANGE_KG[0]:g}-{BODY_MASS_RANGE_KG[1]:g}): predicts GRF (N, BW) "
                   "and loading rate (N/s) per impact (default: the client's from the store, else indices use "
                   "peak g as a proxy)")
    g.add_argument("--vest-mass", type=_mass_in("--vest-mass", *VEST_MASS_RANGE_KG), metavar="KG", dest="vest_mass",
                   help=f"weighted-vest mass in kg ({VEST_MASS_RANGE_KG[0]:g}-{VEST_MASS_RANGE_KG[1]:g}), added to "
                   "body mass in vest walks (extension)")
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
                                   align_gravity=getattr(args, "align_gravity", False),
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
    from impactlab.recording import canonical_vertical_axis

    axis = canonical_vertical_axis(args.vertical_axis) if args.vertical_axis else None  # "y", "+Y" -> "+y"
    profile = getattr(args, "profile", None)
    if profile is not None:  # a raw BLE log, decoded with the sensor profile
        src = open_recording(path, tz=args.tz, vertical_axis=axis, profile=profile)
    else:
        src = open_recording(path, tz=args.tz, vertical_axis=axis, units=args.units)
    if getattr(args, "calibrate", False):
        from impactlab.calibrate import calibrate_source

        src = calibrate_source(src)
    return src
