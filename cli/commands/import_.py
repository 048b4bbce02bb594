"""``impactlab import FILE --client ID``: analyse a recording and add it to the client store.

Without ``--client``, ``impactlab import FILE -o OUT.parquet`` converts the file to Parquet.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

from impactlab.errors import ImpactlabError

from .._common import HelpFormatter, make_table, progress_bar, stdout_console
from ..options import (
    DeprecatedFlag,
    add_analysis_options,
    add_client_name_option,
    add_client_option,
    add_format_option,
    add_reading_options,
    analysis_config,
    analysis_inputs,
    open_source,
)
from .clients import add_store_option

HELP = "analyse a recording and add it to a client's store (or convert it to Parquet)"
EPILOG = """\
examples:
  impactlab import sample_data/sim-day.parquet --client c01 --client-name "Ann Example" --store clinic.sqlite
  impactlab import sample_data/sim-day.parquet --client c01 --plan sample_data/plan.toml --html today.html --store clinic.sqlite
  impactlab import sample_data/actigraph-hip-5min.csv --client c02 --vertical-axis -y --tz Europe/Lisbon --store clinic.sqlite
  impactlab import sample_data/actigraph-hip-5min.csv --tz Europe/Lisbon --save-parquet hip.parquet   # convert only

Importing the same file (or overlapping data) again changes nothing: impacts, wear blocks and
sessions are stored once per client by time. An interrupted import leaves no trace; run it again.
After the import, a short summary of the days it touched is printed (--html writes it as a page).
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the subcommand."""
    p = sub.add_parser("import", help=HELP, description=HELP, epilog=EPILOG,
                       formatter_class=HelpFormatter)
    p.add_argument("file", help="recording file")
    g = p.add_argument_group("client store")
    add_client_option(g, required=False, help="client id (created when new), e.g. c01")
    add_client_name_option(g, old="--name", command="import")
    g.add_argument("--note", help="free-text note about the client, shown in reports")
    g.add_argument("--device", metavar="ID", help="device id (default: the recording's serial or device kind)")
    add_store_option(g)
    g.add_argument("--html", metavar="OUT", help="write the daily summary as HTML")
    add_format_option(g)
    g.add_argument("-v", "--verbose", action="store_true",
                   help="also list each day's plan checks (met / not met / no data) above the answer")
    p.add_argument("--save-parquet", metavar="FILE", dest="save_parquet",
                   help="also save the recording as read to this Parquet file (without --client: only that)")
    p.add_argument("-o", "--out", dest="save_parquet", metavar="FILE", action=DeprecatedFlag,
                   new="--save-parquet FILE", command="import")
    add_client_analysis_options(p)
    p.set_defaults(func=run)


def add_client_analysis_options(p: argparse.ArgumentParser) -> None:
    """Reading and analysis options plus ``--body-mass``, ``--plan`` and ``--markers`` (shared with ``sync``)."""
    add_reading_options(p)
    add_analysis_options(p)


def run(args: argparse.Namespace) -> int:
    """Import (or convert) one recording; returns the exit code."""
    if not args.client:
        return _convert(args)
    code = _import(args)
    if code == 0 and args.save_parquet:
        return _convert(args)
    return code


def _convert(args: argparse.Namespace) -> int:
    if not args.save_parquet:
        raise ImpactlabError("nothing to do: give --client ID to import into the store, or --save-parquet "
                             "OUT.parquet to convert",
                             path=args.file, hint="e.g. impactlab import FILE --client c01")
    if importlib.util.find_spec("impactlab.cli.commands.convert") is not None:
        from impactlab.cli.main import main

        argv = ["-q"] * bool(args.quiet) + ["convert", args.file, "--output", args.save_parquet]
        for opt, val in (("--tz", args.tz), ("--vertical-axis", args.vertical_axis), ("--units", args.units)):
            if val is not None and not (opt == "--units" and val == "g"):
                argv += [opt, val]
        return main(argv)
    from impactlab.io import write_parquet

    out = write_parquet(open_source(args.file, args).read(), args.save_parquet)
    if not args.quiet:
        print(f"wrote {out}", file=sys.stderr)
    return 0


def client_inputs(args: argparse.Namespace) -> dict[str, Any]:
    """Plan (kept with its TOML text for the store), markers and body mass for an import or sync."""
    from impactlab.store import load_plan_file

    inputs: dict[str, Any] = dict(analysis_inputs(args))
    if getattr(args, "plan", None):
        inputs["plan"] = load_plan_file(args.plan)  # remembers the TOML text for the store
    return inputs


def _import(args: argparse.Namespace) -> int:
    from impactlab.report import daily_summary
    from impactlab.store import Store, file_sha256

    kwargs = client_inputs(args)
    src = open_source(args.file, args)
    cfg = analysis_config(args)
    digest = file_sha256(args.file)
    with Store(args.store) as st:
        existed = st.has_client(args.client)
        st.add_client(args.client, name=args.client_name, body_mass_kg=getattr(args, "body_mass", None), note=args.note)
        try:
            with progress_bar(src.n_rows_hint, f"importing {Path(args.file).name}", quiet=args.quiet) as update:
                res = st.import_recording(args.client, src, config=cfg, device_id=args.device, file_sha256=digest,
                                          plan=kwargs.pop("plan", None), markers=kwargs.pop("markers", None),
                                          progress=update, **kwargs)
        except BaseException:
            if not existed:  # a refused import leaves no client behind
                st.forget_empty_client(args.client)
            raise
        summary = daily_summary(st, res, source=args.file)
        from impactlab.report.today import today_answer

        answer = today_answer(st, args.client)
    if args.html:
        from impactlab.report.html import render_daily_html, write_html

        write_html(render_daily_html(summary), args.html)
        if not args.quiet:
            print(f"wrote {args.html}", file=sys.stderr)
    if args.format == "json":
        out = {"client": res.client_id, "recording_id": res.recording_id, "content_hash": res.content_hash,
               "already_imported": res.already_imported,
               "added": {"impacts": res.n_impacts_added, "sessions": res.n_sessions_added,
                         "wear_blocks": res.n_blocks_added},
               "dates": res.dates, "summary": summary.lines(),
               "today": {"day": str(answer.day) if answer.day else None, "sentence": answer.sentence(),
                         "targets": answer.rows, "week": answer.week}}
        json.dump(out, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        from ..render import print_answer

        print_summary(summary, res, verbose=args.verbose, source=args.file)
        print_answer(answer)
    return 0


def already_imported_message(who: str, source: str, imported_at: str | None) -> str:
    """The sentence for a recording the client's store holds already (plain text, no markup).

    Parameters
    ----------
    who : str
        The client's name or id.
    source : str
        The file as the user gave it (never the store's raw copy).
    imported_at : str or None
        When the stored recording was imported (UTC, ISO 8601), if known.

    Returns
    -------
    str
        E.g. ``Ann: rec.parquet was already imported (2026-03-02 10:15 UTC); nothing was added and
        nothing needs doing.``
    """
    when = ""
    if imported_at:
        try:
            when = f" ({dt.datetime.fromisoformat(imported_at):%Y-%m-%d %H:%M} UTC)"
        except ValueError:
            when = f" ({imported_at})"
    return (f"{who}: {source} was already imported{when}; nothing was added and nothing needs doing "
            "(the store keeps each recording once).")


def print_summary(summary: Any, res: Any, *, verbose: bool = False, source: str | None = None) -> None:
    """The short terminal summary after an import or sync (rich): what was added and the days.

    The client's answer panel (as ``today``) follows it; each day's plan checks are listed only when
    ``verbose`` (``-v``).

    Parameters
    ----------
    summary : DailySummary
        The days the import touched (:func:`impactlab.report.daily_summary`).
    res : ImportResult
        What the import did.
    verbose : bool
        Also list each day's plan checks.
    source : str, optional
        The file as the user gave it, named when it was imported before (default the summary's source).
    """
    from rich.markup import escape

    con = stdout_console()
    who = summary.client_name or summary.client_id
    if res.already_imported:
        con.print(escape(already_imported_message(who, source or summary.source, res.imported_at)),
                  highlight=False)
    else:
        con.print(f"[bold]{escape(who)}[/bold]: added {res.n_impacts_added} impacts, {res.n_sessions_added} sessions, "
                  f"{res.n_blocks_added} quarter-hours of wear from {escape(Path(summary.source).name)}")
    t = make_table("Your days")
    for col in ("day", "worn h", "low", "medium", "high", "jumps"):
        t.add_column(col, justify="left" if col == "day" else "right")
    for r in summary.daily.itertuples(index=False):
        t.add_row(f"{r.date:%a %d %b}", f"{r.wear_h:.1f}" + ("" if r.valid else " (short)"), str(r.n_low),
                  str(r.n_medium), str(r.n_high), str(r.n_jumps))
    con.print(t)
    for r in summary.plan_check.to_dict("records") if verbose else ():
        mark = {"met": "[green]met[/green]", "not met": "[red]not met[/red]"}.get(str(r["status"]), "no data")
        when = "week of " if r["period"] == "week" else ""
        con.print(f"  {when}{r['date']:%a %d %b} {escape(str(r['target']).replace('_', ' '))}: {mark}")
