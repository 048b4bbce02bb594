"""``impactlab`` entry point: argparse subcommands, errors to exit codes, warnings to stderr."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import traceback
import warnings
from collections.abc import Sequence

from impactlab._version import __version__
from impactlab.errors import ImpactlabError, ImpactlabWarning

from . import commands

EPILOG = """\
examples:
  impactlab analyze sample_data/sim-day.parquet
  impactlab analyze sample_data/sim-day.parquet --format json
  impactlab analyze recording.csv --vertical-axis -y --tz Europe/London -o results/

Exit codes: 0 ok, 1 impactlab error (message names the file, line or key), 2 usage, 130 interrupted.
"""


def _command_modules() -> list[object]:
    names = [m.name for m in pkgutil.iter_modules(commands.__path__) if not m.name.startswith("_")]
    order = {n: i for i, n in enumerate(commands.ORDER)}
    names.sort(key=lambda n: (order.get(n, 99), n))
    return [importlib.import_module(f"{commands.__name__}.{n}") for n in names]


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (all subcommands)."""
    p = argparse.ArgumentParser(
        prog="impactlab",
        description="Count potentially osteogenic impacts from a hip-worn accelerometer "
        "(Hannam et al. 2017 g-bands), find exercise sessions and check them against a plan.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"impactlab {__version__}")
    p.add_argument("--debug", action="store_true", help="show the traceback of errors")
    p.add_argument("-q", "--quiet", action="store_true", help="no warnings or progress on stderr")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    for mod in _command_modules():
        mod.add_parser(sub)  # type: ignore[attr-defined]
    for sp in sub.choices.values():  # the global flags also work after the subcommand
        for flags, text in ((("-q", "--quiet"), "no warnings or progress on stderr"),
                            (("--debug",), "show the traceback of errors")):
            try:
                sp.add_argument(*flags, action="store_true", default=argparse.SUPPRESS, help=text)
            except argparse.ArgumentError:
                pass
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help(sys.stderr)
        return 2
    seen: set[str] = set()

    def _show(message, category, filename, lineno, file=None, line=None):
        text = str(message)
        if args.quiet or text in seen:
            return
        seen.add(text)
        if issubclass(category, ImpactlabWarning):
            print(f"warning: {text}", file=sys.stderr)
        elif args.debug:
            print(warnings.formatwarning(message, category, filename, lineno, line), file=sys.stderr, end="")

    old = warnings.showwarning
    warnings.showwarning = _show
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always", ImpactlabWarning)
            return int(args.func(args) or 0)
    except ImpactlabError as err:
        if args.debug:
            traceback.print_exc()
        print(f"impactlab: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("impactlab: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    finally:
        warnings.showwarning = old


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
