"""``impactlab`` entry point: argparse subcommands, errors to exit codes, warnings to stderr."""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
import time
import traceback
import warnings
from collections.abc import Sequence

from impactlab import __version__
from impactlab.errors import ImpactlabError, ImpactlabWarning

from . import commands

EPILOG = """\
examples:
  impactlab analyze sample_data/sim-day.parquet
  impactlab analyze sample_data/sim-day.parquet --format json
  impactlab analyze recording.csv --vertical-axis -y --tz Europe/London -o results/

Exit codes: 0 ok, 1 impactlab error (message names the file, line or key), 2 usage, 70 internal error
(a crash report is written to $XDG_STATE_HOME/impactlab), 130 interrupted.
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
        for flags, kw in ((("-q", "--quiet"), {"help": "no warnings or progress on stderr"}),
                          (("--debug",), {"help": "show the traceback of errors"})):
            try:
                sp.add_argument(*flags, action="store_true", default=argparse.SUPPRESS, **kw)
            except argparse.ArgumentError:
                pass
    return p


def _crash_report(err: BaseException, argv: Sequence[str] | None) -> str | None:
    """Write the traceback to ``$XDG_STATE_HOME/impactlab`` (default ``~/.local/state/impactlab``), 0600."""
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    folder = os.path.join(base, "impactlab")
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        path = os.path.join(folder, f"crash-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}.txt")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(f"impactlab {__version__}\nargv: {list(argv) if argv is not None else sys.argv}\n\n")
            fh.write("".join(traceback.format_exception(type(err), err, err.__traceback__)))
        return path
    except OSError:
        return None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help(sys.stderr)
        return 2
    seen: set[str] = set()

    def _show(message, category, filename, lineno, file=None, line=None):  # type: ignore[no-untyped-def]
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
    except Exception as err:  # a bug, or an input a reader did not foresee: one line, report on disk
        if args.debug:
            traceback.print_exc()
        report = _crash_report(err, argv)
        files = [a for a in (argv if argv is not None else sys.argv[1:]) if os.path.exists(a)]
        where = f" on {files[0]}" if files else ""
        saved = f"; a crash report with the traceback was written to {report}" if report else ""
        print(f"impactlab: internal error{where}: {type(err).__name__}{saved}. Run again with --debug "
              "to see it, and please report it", file=sys.stderr)
        return 70
    finally:
        warnings.showwarning = old


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
