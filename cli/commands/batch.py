"""``impactlab batch PATHS... -o OUT``: many recordings in parallel (Dask), tidy collated tables."""

from __future__ import annotations

import argparse
import glob
import logging
import os
import sys
from collections.abc import Callable
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

from impactlab.config import BODY_MASS_RANGE_KG

from .._common import HelpFormatter, _stderr_console, doc_path
from ..options import add_analysis_options, add_out_dir_option, add_reading_options, add_table_format_option

if TYPE_CHECKING:  # Dask and pandas: imported when the command runs
    from impactlab.batch import BatchProgress

_LO, _HI = BODY_MASS_RANGE_KG
HELP = "analyse many recordings in parallel (locally or on Dask) into tidy tables"
EPILOG = f"""\
examples:
  impactlab batch sample_data/sim-day.parquet sample_data/actigraph-hip-5min.csv -o results/ --tz Europe/London
  impactlab batch sample_data/ -o results/ --jobs 2 --exclude 'sim-week*'   # folders are walked recursively
  impactlab batch 'sample_data/*.csv' -o results/ --table-format csv
  impactlab batch sample_data/ -o results/ --scheduler tcp://10.0.0.5:8786      # needs a running Dask scheduler
  impactlab batch sample_data/ -o results/ --scheduler-file ~/dask/scheduler.json  # needs a scheduler (SLURM: below)
  impactlab collate results/                                                    # rebuild results/collated/

Inputs are files, folders (walked recursively) and quoted globs; every file is sniffed by content,
and files that are not recordings (a README, a .npz, a markers CSV) are listed as skipped, never as
failed. What was found is printed (recordings by format) before work starts. Recording ids are the
file names as you gave them (a symlink's own name), without extensions; files that share a name
get the shortest parent folder path that tells them apart (sub01/day1).

Writes one folder per recording, results/<id>/<id>-Impacts.csv, -Sessions.csv, -Daily.csv,
-PlanCheck.csv (with --plan) and -Info.json (version, settings, QC), exactly as `impactlab analyze
-o` would; then results/collated/: Daily, Sessions, PlanCheck (the same tables with leading
recording_id and subject_id columns), Summary (one row per recording: impacts per band per week
= mean per valid day x 7, with the number of valid days; its columns are explained in
Summary-Dictionary.csv), Warnings (recording, warning, count, first occurrence) and Impacts/ (every
impact, Parquet partitioned by recording). One clock in every table: a time column is local wall
time, <col>_utc beside it is UTC, utc_offset the offset between them (Dictionary.csv). Failed
recordings are listed in results/errors.csv and never stop the batch; results/manifest.json lists
every recording with its status, hashes and timings.

Run it again and recordings whose file and settings have not changed are skipped (--force
re-analyses them). Ctrl-C keeps every finished folder. By default the files are analysed by
--jobs local worker processes (Dask distributed LocalCluster); --scheduler local adds Dask's
dashboard, --scheduler ADDRESS or --scheduler-file FILE uses a running cluster (each worker is
checked first: it must see the inputs and write the output folder where this computer reads it),
and --scheduler sync runs in this process, one file after another (for debugging).

subjects CSV (--subjects): columns subject_id and path (or recording_id); optional body_mass_kg
({_LO:g}-{_HI:g} kg, as for --body-mass), tz (the zone of files whose clock has none, e.g. CSV
exports) and placement feed that recording's analysis. Or --subject-pattern 'sub-(?P<subject>[^/]+)/'
takes the id from each path.

exit status:
  0  every recording analysed or already up to date
  1  some recordings failed (listed above and in OUT/errors.csv); the others are done
  2  usage or set-up error (bad option, a path that does not exist, nothing found, no worker, a
     worker that cannot see the inputs or write OUT); nothing was analysed
  3  interrupted (Ctrl-C, or the Dask scheduler was lost): OUT/manifest.json says interrupted,
     finished folders are kept, and running the same command again completes the batch
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    guide = f"\nthe full guide (inputs, ids, every output, clusters and SLURM): {doc_path('docs/batch.md')}\n"
    p = sub.add_parser("batch", help=HELP, description=HELP, epilog=EPILOG + guide,
                       formatter_class=HelpFormatter)
    p.add_argument("paths", nargs="+", metavar="PATH", help="recording files, folders or quoted globs ('data/**/*.cwa')")
    add_out_dir_option(p, required=True, help="output folder: one folder per recording, collated/, errors.csv, manifest.json")
    add_reading_options(p)
    add_analysis_options(p)
    i = p.add_argument_group("inputs and subjects")
    i.add_argument("--include", action="append", default=[], metavar="GLOB",
                   help="only files matching (name, a folder on the path, or the path below the input folder "
                   "when it has a /); repeatable")
    i.add_argument("--exclude", action="append", default=[], metavar="GLOB", help="leave out files matching; repeatable")
    i.add_argument("--subjects", metavar="CSV", help="subjects file: path or recording_id -> subject_id, "
                   "body_mass_kg, tz, placement")
    i.add_argument("--subject-pattern", metavar="REGEX", dest="subject_pattern",
                   help="regular expression taking the subject id from each path (group 'subject', else group 1)")
    g = p.add_argument_group("batch")
    how = g.add_mutually_exclusive_group()
    how.add_argument("--jobs", "-j", type=int, metavar="N", help="local worker processes (default: one per CPU)")
    how.add_argument("--scheduler", metavar="ADDRESS", help="'local' (LocalCluster with dashboard), 'sync' "
                     "(this process) or a Dask scheduler address such as tcp://host:8786")
    how.add_argument("--scheduler-file", metavar="FILE", dest="scheduler_file",
                     help="a running scheduler's file (dask scheduler --scheduler-file FILE)")
    g.add_argument("--retries", type=int, default=2, metavar="N",
                   help="re-run a recording whose worker died up to N times (default 2)")
    g.add_argument("--worker-timeout", type=float, default=60.0, metavar="S", dest="worker_timeout",
                   help="seconds to wait for a first worker of a running scheduler (default 60)")
    g.add_argument("--force", action="store_true", help="re-analyse recordings that are up to date")
    add_table_format_option(g, command="batch", help="format of the collated tables (default parquet)")
    p.set_defaults(func=run)


def _analysis_options(args: argparse.Namespace) -> dict[str, Any]:
    from impactlab.batch import analysis_option_defaults

    return {k: getattr(args, k) for k in analysis_option_defaults() if hasattr(args, k)}


def zone_note(out: Any) -> list[str]:
    """One warning naming every recording whose file had no time zone (so this computer's was assumed)."""
    from impactlab.batch.collate import zone_assumed_recordings

    ids = zone_assumed_recordings(out)
    if not ids:
        return []
    return [f"{len(ids)} recording(s) had no time zone in the file, so this computer's was assumed: "
            f"{', '.join(ids[:10])}{' ...' if len(ids) > 10 else ''}. Give --tz ZONE, or a tz column in --subjects "
            "(Summary column zone_assumed)"]


def _quiet_dask() -> Callable[[], None]:
    """Silence Dask's loggers (a lost scheduler is said in one line, not in its tracebacks); returns the undo."""
    try:
        import distributed  # noqa: F401 - configures its loggers on import, so set their levels after it
    except ImportError:  # run_batch says how to install it
        return lambda: None
    names = [n for n in list(logging.root.manager.loggerDict) if n == "distributed" or n.startswith("distributed.")]
    loggers = [logging.getLogger(n) for n in names]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.CRITICAL)

    def restore() -> None:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)

    return restore


def _error(text: str) -> int:
    print(f"impactlab batch: error: {text}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    from impactlab.batch import find_inputs, run_batch
    from impactlab.errors import ImpactlabError

    if args.jobs is not None and args.jobs < 1:
        return _error("--jobs must be at least 1")
    if args.retries < 0:
        return _error("--retries must be 0 or more")
    fmt = args.table_format
    quiet = args.quiet
    absent = [s for s in args.paths if not glob.has_magic(s) and not os.path.exists(s)]
    if absent:  # a typo is a usage error, before anything is written (not a failed recording)
        return _error(f"no such file or folder: {', '.join(absent)}; nothing was analysed "
                      "(check the path, or quote globs such as 'data/**/*.gt3x')")
    try:
        found = find_inputs(args.paths, include=args.include, exclude=args.exclude, out=args.out)
    except ImpactlabError as err:
        return _error(str(err))
    print(f"found {found.describe()}")
    for p, why in found.skipped[:20]:
        print(f"  skipped (not a recording): {p}: {why}")
    if len(found.skipped) > 20:
        print(f"  ... and {len(found.skipped) - 20} more (listed in OUT/manifest.json, not_recordings)")
    restore = (lambda: None) if args.debug or args.scheduler == "sync" else _quiet_dask()
    try:
        with ExitStack() as stack:
            progress = None if quiet else stack.enter_context(_Bar())
            res = run_batch(found, args.out, options=_analysis_options(args), jobs=args.jobs,
                            scheduler=args.scheduler, scheduler_file=args.scheduler_file, force=args.force,
                            table_format=fmt, progress=progress, subjects=args.subjects,
                            subject_pattern=args.subject_pattern, retries=args.retries,
                            worker_timeout=args.worker_timeout)
    except ImpactlabError as err:
        return _error(str(err))
    except KeyboardInterrupt:
        print(f"impactlab batch: interrupted: finished folders are kept in {args.out} (manifest.json says "
              "interrupted); run the same command again to complete the batch", file=sys.stderr)
        return 3
    finally:
        restore()
    for note in [*res.notes, *zone_note(res.out)]:
        print(f"warning: {note}", file=sys.stderr)
    failed = [r for r in res.records if r["status"] == "failed"]
    for r in failed[:20]:
        print(f"failed: {r['error']}" if r["path"] in (r["error"] or "") else f"failed: {r['path']}: {r['error']}",
              file=sys.stderr)
    if len(failed) > 20:
        print(f"... and {len(failed) - 20} more (all in {res.out / 'errors.csv'})", file=sys.stderr)
    out = res.out
    total = len(found.recordings)
    print(f"{total} recordings: {res.n_done} analysed, {res.n_skipped} up to date, {res.n_failed} failed"
          + (f", {total - len(res.records)} not finished" if res.interrupted else ""))
    print(f"per recording: {out}/<recording_id>/")
    print(f"collated:      {out / 'collated'}/ (Daily, Sessions, PlanCheck, Summary, Warnings, Impacts/; Dictionary.csv)")
    print(f"errors:        {out / 'errors.csv'}")
    print(f"manifest:      {out / 'manifest.json'}")
    if res.interrupted:
        print(f"impactlab batch: interrupted: {res.interrupted}", file=sys.stderr)
        return 3
    return 1 if failed else 0


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
        if ev.message:
            self.prog.console.print(ev.message)
            return
        if self.task is None:
            self.task = self.prog.add_task("batch", total=ev.total, failed=0, skipped=0)
            if ev.dashboard_link:
                self.prog.console.print(f"Dask dashboard: {ev.dashboard_link}")
        self.prog.update(self.task, completed=ev.finished, failed=ev.failed, skipped=ev.skipped)

    def __exit__(self, *exc: object) -> None:
        self.prog.__exit__(None, None, None)
