"""``impactlab clients``: the clients in the store (and ``--store``, shared by the store commands)."""

from __future__ import annotations

import argparse
import json
import sys

from .._common import make_table, stdout_console
from ..options import add_format_option

HELP = "list the clients in the store"
EPILOG = """\
examples:
  impactlab import sample_data/sim-day.parquet --client c01 --client-name "Ann Example" --store clinic.sqlite
  impactlab clients --store clinic.sqlite
  impactlab clients --format json --store clinic.sqlite

The store is one SQLite file (default: $IMPACTLAB_STORE, else impactlab/store.sqlite in your
data directory, readable only by you); raw samples are kept beside it in raw/.
"""


def add_store_option(p: argparse.ArgumentParser | argparse._ArgumentGroup, *, read_only: bool = False) -> None:
    """``--store PATH`` (default :func:`impactlab.store.default_store_path`).

    ``read_only`` commands refuse a store that does not exist instead of creating an empty one
    (checked in :func:`impactlab.cli.main.main` before the command runs).
    """
    p.add_argument("--store", metavar="PATH", default=None,
                   help="the client store, a SQLite file (default: $IMPACTLAB_STORE, else "
                   "impactlab/store.sqlite in $XDG_DATA_HOME or ~/.local/share)" + ("; it must exist" if read_only else ""))
    if read_only:
        p.set_defaults(store_must_exist=True)


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the subcommand."""
    p = sub.add_parser("clients", help=HELP, description=HELP, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    add_store_option(p, read_only=True)
    add_format_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the store's clients; returns the exit code."""
    from impactlab.store import Store, default_store_path

    with Store(args.store) as st:
        clients = st.clients()
        plans = {}
        for c in clients:
            try:
                plan = st.client_plan(c.client_id)
            except Exception:  # an unreadable stored plan is shown by its path
                plan = None
            plans[c.client_id] = getattr(plan, "name", None) or (c.plan_path or "")
    if args.format == "json":
        rows = [{"id": c.client_id, "name": c.name, "body_mass_kg": c.body_mass_kg, "plan": plans[c.client_id] or None,
                 "timezone": c.timezone, "recordings": c.n_recordings, "first_date": c.first_date,
                 "last_date": c.last_date} for c in clients]
        json.dump({"store": str(args.store or default_store_path()), "clients": rows}, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    from rich.markup import escape

    con = stdout_console()
    if not clients:
        con.print("No clients yet. Add one with: impactlab import FILE --client ID")
        return 0
    t = make_table(f"Clients in {args.store or default_store_path()}")
    for col in ("id", "name", "plan", "recordings", "first day", "last day"):
        t.add_column(col, justify="right" if col == "recordings" else "left")
    for c in clients:
        t.add_row(escape(c.client_id), escape(c.name or ""), escape(plans[c.client_id]), str(c.n_recordings),
                  c.first_date or "", c.last_date or "")
    con.print(t)
    return 0
