"""``impactlab batch PATHS... -o OUT``: many recordings in parallel (Dask), tidy collated tables."""

from __future__ import annotations

import argparse
import sys
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

from .._common import _stderr_console
from ..options import add_analysis_options, add_out_dir_option, add_reading_options, add_table_format_option

if TYPE_CHECKING:  # Dask and pandas: imported when the command runs
    from impactlab.batch import BatchProgress

HELP = "analyse many recordings in parallel (locally or on Dask) into tidy tables"
EPILOG = """\
examples:
  impactlab batch sample_data/sim-day.parquet sample_data/actigraph-hip-5min.csv -o results/ --tz Europe/London
  impactlab batch 'sample_data/*.parquet' -o results/ --jobs 2 --table-format csv
  impactlab batch sample_data/ -o results/ --scheduler tcp://10.0.0.5:8786   # needs a running Dask scheduler
  impactlab collate results/                                                 # rebuild results/collated/

Writes one folder per recording, results/<id>/<id>-Impacts.csv, -Sessions.csv, -Daily.csv,
-PlanCheck.csv (with --plan) and -Info.json (version, settings, QC), exactly as `impactlab analyze
-o` would; then results/collated/: Daily, Sessions, PlanCheck (the same tables with leading
recording_id and subject_id columns) and Summary (one row per recording: impacts per band per week
= mean per valid day x 7, with the number of valid days; its columns are explained in
Summary-Dictionary.csv). Failed recordings are listed in results/errors.csv and never stop the
batch; results/manifest.json lists every recording with its status, hashes and timings.

Run it again and recordings whose file and settings have not changed are skipped (--force
re-analyses them). Ctrl-C keeps every finished folder. By default the files are analysed by
--jobs local worker processes (Dask distributed LocalCluster); --scheduler local adds Dask's
dashboard, --scheduler ADDRESS uses a running cluster whose workers see the same paths, and
--scheduler sync runs in this process, one file after another (for debugging).
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("batch", help=HELP, description=HELP, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("paths", nargs="+", metavar="PATH", help="recording files, folders or quoted globs ('data/**/*.cwa')")
    add_out_dir_option(p, required=True, help="output folder: one folder per recording, collated/, errors.csv, manifest.json")
    add_reading_options(p)
    add_analysis_options(p)
    g = p.add_argument_group("batch")
    how = g.add_mutually_exclusive_group()
    how.add_argument("--jobs", "-j", type=int, metavar="N", help="local worker processes (default: one per CPU)")
    how.add_argument("--scheduler", metavar="ADDRESS", help="'local' (LocalCluster with dashboard), 'sync' "
                     "(this process) or a Dask scheduler address such as tcp://host:8786")
    g.add_argument("--force", action="store_true", help="re-analyse recordings that are up to date")
    add_table_format_option(g, command="batch", help="format of the collated tables (default parquet)")
    p.set_defaults(func=run)


def _analysis_options(args: argparse.Namespace) -> dict[str, Any]:
    from impactlab.batch import analysis_option_defaults

    return {k: getattr(args, k) for k in analysis_option_defaults() if hasattr(args, k)}


def run(args: argparse.Namespace) -> int:
    from impactlab.batch import run_batch

    if args.jobs is not None and args.jobs < 1:
        print("impactlab batch: error: --jobs must be at least 1", file=sys.stderr)
        return 2
    with ExitStack() as stack:
        progress = None if args.quiet else stack.enter_context(_Bar())
        res = run_batch(args.paths, args.out, options=_analysis_options(args), jobs=args.jobs,
                        scheduler=args.scheduler, force=args.force, table_format=args.table_format, progress=progress)
    failed = [r for r in res.records if r["status"] == "failed"]
    if not args.quiet:
        for r in failed[:20]:
            print(f"failed: {r['error']}" if r["path"] in (r["error"] or "") else f"failed: {r['path']}: {r['error']}",
                  file=sys.stderr)
        if len(failed) > 20:
            print(f"... and {len(failed) - 20} more", file=sys.stderr)
    out = res.out
    print(f"{len(res.records)} recordings: {res.n_done} analysed, {res.n_skipped} up to date, {res.n_failed} failed")
    print(f"per recording: {out}/<recording_id>/")
    print(f"collated:      {out / 'collated'}/ (Daily, Sessions, PlanCheck, Summary; Summary-Dictionary.csv)")
    print(f"errors:        {out / 'errors.csv'}")
    print(f"manifest:      {out / 'manifest.json'}")
    return 0


class _Bar:
    """A rich progress bar on stderr: files finished, failed, up to date, elapsed and ETA."""

    def __enter__(self) -> _Bar:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        self.prog = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("failed {task.fields[failed]}, up to date {task.fields[skipped]}"),
            TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), console=_stderr_console(),
        )
        self.prog.__enter__()
        self.task: Any = None
        return self

    def __call__(self, ev: BatchProgress) -> None:
        if self.task is None:
            self.task = self.prog.add_task("batch", total=ev.total, failed=0, skipped=0)
            if ev.dashboard_link:
                self.prog.console.print(f"Dask dashboard: {ev.dashboard_link}")
        self.prog.update(self.task, completed=ev.finished, failed=ev.failed, skipped=ev.skipped)

    def __exit__(self, *exc: object) -> None:
        self.prog.__exit__(None, None, None)
