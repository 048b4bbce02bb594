"""``impactlab`` entry point: argparse subcommands, errors to exit codes, warnings to stderr."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
import traceback
import warnings
from collections.abc import Sequence
from typing import Any, NoReturn

from impactlab._version import __version__
from impactlab.errors import ImpactlabError, ImpactlabWarning

from . import commands
from ._common import doc_path
from .commands import BY_NAME, COMMANDS
from .options import deprecation_notes


def _epilog() -> str:
    lines = ["commands by who uses them (impactlab COMMAND --help for each one's options and examples):"]
    for group in dict.fromkeys(c.group for c in COMMANDS):
        lines.append(f"  {group}:")
        for c in COMMANDS:
            if c.group == group:
                lines.append(f"    {c.name:<9} {c.help}")
                lines.append(f"              e.g. {c.example}")
    lines.append("")
    lines.append("Documentation, installed with impactlab: cli.md (every command, file and exit code), method.md "
                 "(the method and its sources), batch.md (cohorts and clusters) in")
    lines.append(f"  {doc_path('docs')}{os.sep}")
    lines.append("Exit codes: 0 ok, 1 impactlab error (message names the file, line or key), 2 usage, "
                 "70 internal error (a crash report is written to $XDG_STATE_HOME/impactlab), 130 interrupted.")
    return "\n".join(lines) + "\n"


def _flags(parser: argparse.ArgumentParser, *, hidden: bool = False) -> list[str]:
    """The option strings of ``parser`` (without the hidden ones: deprecated or refused spellings)."""
    return [s for a in parser._actions if hidden or a.help is not argparse.SUPPRESS for s in a.option_strings]


class _Parser(argparse.ArgumentParser):
    """Usage errors name the near miss ("did you mean ...?") for commands and options."""

    commands: dict[str, argparse.ArgumentParser] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # no prefix matching: 'history --week' must never silently mean '--weeks', nor a prefix another flag
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        import difflib
        import re

        m = re.search(r"invalid choice: '([^']*)' \(choose from ([^)]*)\)", message)
        if m:
            choices = re.findall(r"'([^']*)'", m.group(2)) or [c.name for c in COMMANDS]
            close = difflib.get_close_matches(m.group(1), choices, n=1)
            if close:
                message += f". Did you mean '{close[0]}'?"
        m = re.search(r"unrecognized arguments: (\S+)", message)
        if m:
            close = difflib.get_close_matches(m.group(1).split("=")[0], _flags(self), n=1)
            if close:
                message += f". Did you mean '{close[0]}'?"
        super().error(message)


def _deepest(parser: argparse.ArgumentParser, argv: Sequence[str]) -> argparse.ArgumentParser:
    """The (sub-)subcommand parser that ``argv`` names: ``plan check`` → the parser of ``check``."""
    words = [a for a in argv if not a.startswith("-")]
    for w in words:
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs or w not in subs[0].choices:
            break
        parser = subs[0].choices[w]
    return parser


def _unknown_flag(parser: argparse.ArgumentParser, argv: Sequence[str]) -> str | None:
    """The first option in ``argv`` that ``parser`` does not know (spelled in full: no prefixes)."""
    import re

    known = _flags(parser, hidden=True)
    for a in argv:
        if a == "--":
            break
        if not a.startswith("-") or a == "-" or re.fullmatch(r"-\d.*", a):
            continue
        flag = a.split("=")[0]
        if flag in known:
            continue
        if not flag.startswith("--") and len(flag) > 2 and flag[:2] in known:  # -j2
            continue
        return flag
    return None


def _join_axis_values(argv: list[str]) -> list[str]:
    """``--vertical-axis -y`` as people type it: argparse would read ``-y`` as an option."""
    out: list[str] = []
    it = iter(range(len(argv)))
    for i in it:
        a = argv[i]
        if a == "--vertical-axis" and i + 1 < len(argv) and argv[i + 1][:1] in "+-" and argv[i + 1][1:].lower() in ("x", "y", "z"):
            out.append(f"{a}={argv[i + 1]}")
            next(it, None)
        else:
            out.append(a)
    return out


def _command_of(argv: Sequence[str]) -> str | None:
    """The subcommand named in ``argv`` (the first word that is not an option), if any."""
    for a in argv:
        if not a.startswith("-"):
            return a
    return None


def build_parser(command: str | None = None) -> _Parser:
    """The argument parser; the full options of ``command`` (every command's when None)."""
    p = _Parser(
        prog="impactlab",
        description="Count potentially osteogenic impacts from a hip-worn accelerometer "
        "(Hannam et al. 2017 g-bands), find exercise sessions and check them against a plan.",
        epilog=_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"impactlab {__version__}")
    p.add_argument("--debug", action="store_true", help="show the traceback of errors")
    p.add_argument("-q", "--quiet", action="store_true", help="no warnings or progress on stderr")
    p.add_argument("--wide", action="store_true", help="terminal tables at full width with every column "
                   "(default: fit the terminal, 80 columns when piped)")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for c in COMMANDS:
        if command is None or c.name == command:
            importlib.import_module(f"{commands.__name__}.{c.module}").add_parser(sub)
        else:  # listed for --help and choices; its options are loaded only when it runs
            sub.add_parser(c.name, help=c.help, add_help=False)
    nested = [ssp for sp in sub.choices.values() for a in sp._actions
              if isinstance(a, argparse._SubParsersAction) for ssp in a.choices.values()]
    for sp in [*sub.choices.values(), *nested]:  # the global flags also work after the (sub-)subcommand
        for flags, text in ((("-q", "--quiet"), "no warnings or progress on stderr"),
                            (("--debug",), "show the traceback of errors"),
                            (("--wide",), "terminal tables at full width with every column")):
            try:
                sp.add_argument(*flags, action="store_true", default=argparse.SUPPRESS, help=text)
            except argparse.ArgumentError:
                pass
    p.commands = dict(sub.choices)
    return p


def _check_store(path: str | None) -> None:
    """Read-only commands never create a store: a path that does not exist is an error that says what to do."""
    from impactlab.errors import StoreError

    if path is not None:
        if not os.path.exists(path):
            raise StoreError("no client store here (the file does not exist)", path=path,
                             hint="Check the --store path (see 'impactlab clients --store PATH'), or create it "
                             "by importing a recording: impactlab import FILE --client ID --store PATH")
        return
    from impactlab.store import default_store_path

    default = default_store_path()
    if not default.exists():
        raise StoreError("no client store yet at the default path", path=str(default),
                         hint="Give --store PATH, set $IMPACTLAB_STORE, or import a recording first: "
                         "impactlab import FILE --client ID")


def _sample_data_hint(err: ImpactlabError) -> str:
    """What to do when an example's ``sample_data/...`` file is missing: the wheel ships them, copied out on request."""
    path = getattr(err, "path", None)
    if not path or os.path.exists(path) or os.path.isdir("sample_data"):
        return ""
    if os.path.normpath(path).split(os.sep)[0] != "sample_data":
        return ""
    return ". The sample files the examples use are not in this folder: 'impactlab sample-data' copies them into ./sample_data"


def _os_error(err: OSError) -> str:
    """One line for an error the system gave on a path the user named: the path, what was wrong, what to do."""
    what = err.strerror or type(err).__name__
    if isinstance(err, FileExistsError | NotADirectoryError):
        todo = "A file stands where a folder is needed: give another path, or move that file away"
    elif isinstance(err, PermissionError):
        todo = "You may not use that path: give one in a folder you own, or change its permissions"
    elif isinstance(err, FileNotFoundError):
        todo = "Check the path, and that its folder exists"
    else:
        todo = "Check the path and that the disk has room"
    return f"{err.filename}: {what}. {todo}"


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


#: optional dependencies (pyproject [project.optional-dependencies]) by the module a command imports
_EXTRAS = {"jinja2": "report", "markupsafe": "report", "matplotlib": "report", "dask": "cluster",
           "distributed": "cluster", "dbus_fast": "ble"}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    argv = _join_axis_values(list(sys.argv[1:] if argv is None else argv))
    name = _command_of(argv)
    parser = build_parser(name if name in BY_NAME else "")
    if name in BY_NAME:  # a mistyped flag: the subcommand's usage and its near miss, before anything else
        sp = _deepest(parser, argv)
        bad = _unknown_flag(sp, argv[argv.index(name) + 1:])
        if bad is not None and not {"-h", "--help"} & set(argv):
            sp.error(f"unrecognized arguments: {bad}")
    args, extra = parser.parse_known_args(argv)
    if extra:  # the subcommand's own usage, not the top level's
        _deepest(parser, argv).error(f"unrecognized arguments: {' '.join(extra)}")
    if not getattr(args, "command", None):
        parser.print_help(sys.stderr)
        return 2
    for dest, flag in getattr(args, "required_flags", []):
        if getattr(args, dest, None) is None:
            _deepest(parser, argv).error(f"the following arguments are required: {flag}")
    if not args.quiet:
        for note in deprecation_notes(args):
            print(f"impactlab: warning: {note}", file=sys.stderr)
    from . import _common

    _common.WIDE = bool(getattr(args, "wide", False))
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
            if getattr(args, "store_must_exist", False):
                _check_store(args.store)
            return int(args.func(args) or 0)
    except ImpactlabError as err:
        if args.debug:
            traceback.print_exc()
        hint = _sample_data_hint(err)
        print(f"impactlab: error: {str(err).rstrip('.') if hint else err}{hint}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("impactlab: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as err:  # a bug, or an input a reader did not foresee: one line, report on disk
        missing = (err.name or "") if isinstance(err, ModuleNotFoundError) else ""
        needed = _EXTRAS.get(missing.split(".")[0])
        if needed:  # an optional dependency this command needs is not installed
            print(f"impactlab: error: this needs {missing}, which impactlab installs with its [{needed}] extra: "
                  f'pip install "impactlab[{needed}]" (or "impactlab[all]")', file=sys.stderr)
            return 1
        if args.debug:
            traceback.print_exc()
        if isinstance(err, OSError) and err.filename is not None:  # no such folder, no permission, disk full: the user's to fix
            print(f"impactlab: error: {_os_error(err)}", file=sys.stderr)
            return 1
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
