"""``impactlab analyze FILE``: impacts per band per day, as a table or the JSON contract."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from impactlab.io import open_recording
from impactlab.pipeline import Analysis, analyze

from .._common import add_reading_options, config_from_args, progress_bar, source_from_args, stdout_console

HELP = "count impacts per g-band per day in one recording"
EPILOG = """\
examples:
  impactlab analyze sample_data/sim-day.parquet
  impactlab analyze sample_data/sim-day.parquet --format json
  impactlab analyze sample_data/actigraph-hip-5min.csv --tz Europe/London -o results/

Reads ActiGraph CSV exports, plain CSV (time,x,y,z in g) and Parquet. Peaks of the vertical axis
are counted in Hannam et al. (2017) bands: low 0.5-1.0 g, medium 1.0-1.5 g, high >= 1.5 g above
gravity, at 50 Hz after a 20 Hz low-pass. Days with >= 10 h wear are valid; weekly figures are the
mean per valid day x 7.
"""


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("analyze", help=HELP, description=HELP, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("file", help="recording file")
    add_reading_options(p)
    p.add_argument("--profile", metavar="NAME", help="FILE is a raw BLE log (time,direction,uuid,hex) decoded "
                   "with this sensor profile, e.g. polar-verity-sense (see firmware_config/README.md)")
    add_analysis_options(p)
    p.add_argument("--format", choices=["table", "json"], default="table", help="stdout format (default table)")
    p.add_argument("-o", "--out", metavar="DIR", help="also write <stem>-Impacts.csv, -Daily.csv, "
                   "-Sessions.csv, -Info.json (and -PlanCheck.csv) into DIR")
    p.set_defaults(func=run)


def add_analysis_options(p: argparse.ArgumentParser) -> None:
    """Options added by later stages (plan, markers, body mass) register here."""
    from impactlab import _hooks

    for hook in getattr(_hooks, "CLI_OPTION_HOOKS", []):
        hook(p)


def run_analysis(args: argparse.Namespace) -> Analysis:
    """Open, analyse and return (shared with ``import`` and ``batch``)."""
    from impactlab import _hooks

    src = (source_from_args(args.file, args) if getattr(args, "profile", None) is None else
           open_recording(args.file, tz=args.tz, vertical_axis=args.vertical_axis, profile=args.profile))
    for wrap in getattr(_hooks, "SOURCE_HOOKS", []):
        src = wrap(args, src)
    cfg = config_from_args(args)
    kwargs: dict[str, object] = {}
    for hook in getattr(_hooks, "CLI_ARGS_HOOKS", []):
        kwargs.update(hook(args))
    with progress_bar(src.n_rows_hint, f"analysing {Path(args.file).name}", quiet=args.quiet) as update:
        return analyze(src, config=cfg, progress=update, **kwargs)  # type: ignore[arg-type]


def run(args: argparse.Namespace) -> int:
    res = run_analysis(args)
    if args.out:
        files = res.write(args.out, Path(args.file).name.split(".")[0])
        if not args.quiet:
            print(f"wrote {len(files)} files to {args.out}", file=sys.stderr)
    if args.format == "json":
        json.dump(res.to_json_dict(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print_table(res)
    return 0


def print_table(res: Analysis) -> None:
    """The terminal view: recording line, per-day table, weekly line, plan grid when present."""
    from rich.table import Table

    con = stdout_console()
    q = res.qc
    m = res.meta
    con.print(f"[bold]{m.source}[/bold]  {m.device}, {m.sample_rate_hz:g} Hz, vertical {m.vertical_axis}, "
              f"{q['start']} to {q['end']} ({m.timezone})")
    show_sessions = bool(len(res.sessions))
    t = Table(title="Impacts per day (g above gravity)", title_justify="left")
    for col, just in (("date", "left"), ("wear h", "right"), ("valid", "center"), ("low\n0.5-1.0", "right"),
                      ("medium\n1.0-1.5", "right"), ("high\n>=1.5", "right")):
        t.add_column(col, justify=just)  # type: ignore[arg-type]
    if show_sessions:
        for col in ("jumps", "sets", "brisk min", "vest min", "vibr. min"):
            t.add_column(col, justify="right")
    for r in res.daily.itertuples(index=False):
        row = [r.date.strftime("%a %Y-%m-%d"), f"{r.wear_h:.1f}", "yes" if r.valid else "no",
               str(r.n_low), str(r.n_medium), str(r.n_high)]
        if show_sessions:
            row += [str(r.n_jumps), str(r.jump_sets), f"{r.brisk_walk_min:.0f}", f"{r.vest_walk_min:.0f}",
                    f"{r.vibration_min:.0f}"]
        t.add_row(*row)
    con.print(t)
    w = res.weekly
    if w["valid_days"]:
        con.print(f"Per week (mean of {w['valid_days']} valid day(s) x 7): low {w['low']}, medium {w['medium']}, "
                  f"high {w['high']}")
    else:
        con.print("Per week: no valid day (>= 10 h wear), so no weekly figures")
    tot = res.band_totals()
    con.print(f"Total: {tot['total']} impacts (low {tot['low']}, medium {tot['medium']}, high {tot['high']}); "
              f"wear {q['wear_h']:.1f} h; gaps {q['gaps']}; clipped samples {q['clipped_samples']}")
    from impactlab import _hooks

    for hook in getattr(_hooks, "TABLE_HOOKS", []):
        hook(res, con)
    con.print(f"[dim]Method: {res.config.name}. {res.config.conventions}[/dim]")
