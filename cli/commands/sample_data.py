"""``impactlab sample-data``: copy the installed sample files into ``./sample_data`` (what every example names)."""

from __future__ import annotations

import argparse
import os

HELP = "copy the sample recordings and plans the examples use into ./sample_data"
EPILOG = """\
examples:
  impactlab sample-data
  impactlab analyze sample_data/sim-day.parquet --plan sample_data/plan.toml
  impactlab sample-data try-impactlab        # then: cd try-impactlab

Every example in impactlab's README and --help names sample_data/...: in a source checkout that
folder is already there; after pip install, run this once in the folder you work in. Files already
in DIR/sample_data are kept, never overwritten. sample_data/README.md gives each file's expected
answers; python sample_data/make_sample_week.py builds the simulated week (about 150 MB, 40 s).
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the subcommand."""
    p = sub.add_parser("sample-data", help=HELP, description=HELP, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("dir", nargs="?", default=".", metavar="DIR",
                   help="the folder to create sample_data/ in (default: the current folder)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Copy the files; returns the exit code."""
    from impactlab.sample_data import copy_to

    from impactlab.errors import ImpactlabError

    dest = os.path.join(args.dir, "sample_data")
    try:
        written, kept = copy_to(dest)
    except FileNotFoundError as err:
        raise ImpactlabError("a sample file is missing from this installation", path=str(err),
                             hint="Reinstall impactlab (pip install --force-reinstall impactlab)") from None
    except OSError as err:
        raise ImpactlabError(f"cannot write the sample files ({err.strerror})", path=err.filename or dest,
                             hint="Give a folder you can write to: impactlab sample-data DIR") from None
    if not args.quiet:
        said = f"wrote {len(written)} file(s) to {dest}"
        if kept:
            said += f"; kept {len(kept)} already there ({', '.join(p.name for p in kept)})"
        print(said)
        cd = "" if os.path.abspath(args.dir) == os.getcwd() else f"cd {args.dir} && "
        print(f"try: {cd}impactlab analyze sample_data/sim-day.parquet --plan sample_data/plan.toml")
    return 0
