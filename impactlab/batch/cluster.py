"""Scheduling a batch: Dask distributed's, never home-made (:func:`run_batch`, :func:`open_client`).

By default a private ``LocalCluster`` of ``jobs`` single-threaded worker processes;
``scheduler="local"`` a LocalCluster with its dashboard; ``scheduler="tcp://host:8786"`` (or
``scheduler_file=``) a running scheduler; ``scheduler="sync"`` runs in this process, one file after
another (debugging). A file that fails is listed in ``errors.csv`` and never stops the batch, even
when it kills its worker process (the task is re-run up to ``retries`` times).

A cluster can fail in ways a local run cannot, and each is said in one line instead of being
reported as bad recordings:

- no worker connected: "waiting for workers (N s)..." until ``worker_timeout``, then a set-up error;
- a worker that cannot see the inputs, or cannot write the output folder, or writes it on a
  filesystem this computer does not see: found by a probe task on every worker before any work,
  and refused naming the worker (:class:`~impactlab.errors.ConfigError`);
- a folder a worker reports finished that this computer cannot find: that recording fails saying so;
- the scheduler lost mid-batch: the batch stops, ``manifest.json`` says ``interrupted: true``,
  finished folders stay, and a re-run analyses only the missing recordings.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import ConfigError, ReadError
from ._files import read_info
from .collate import collate
from .inputs import Inputs, find_inputs, recording_ids
from .options import BatchOptions, TableFormat
from .results import BatchProgress, BatchResult, _clean_stale, _Manifest, _write_errors
from .subjects import Subject, assign_subjects, read_subjects
from .worker import analyze_file, leaf

__all__ = ["BatchProgress", "BatchResult", "SchedulerLost", "open_client", "run_batch"]

log = logging.getLogger(__name__)
_LOST = "scheduler-connection-lost"


def _lost(err: BaseException, client: Any) -> bool:
    """Whether a future's error means the scheduler went away, not that the recording failed.

    ``analyze_file`` never raises (every error becomes a failed record), so the only genuine
    failure a future reports is ``KilledWorker``; a cancelled future or a closed comm (an
    ``OSError``) seen while the scheduler is being lost is not the recording's fault, even in the
    moment before ``client.status`` leaves ``"running"``.
    """
    import asyncio
    import concurrent.futures

    if type(err).__name__ == "KilledWorker":
        return False
    return (_LOST in str(err) or client.status != "running"
            or isinstance(err, (asyncio.CancelledError, concurrent.futures.CancelledError, OSError)))


class SchedulerLost(Exception):
    """The Dask scheduler went away mid-batch (internal: :func:`run_batch` turns it into ``interrupted``)."""


def _cpus() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1  # pragma: no cover - not Linux


@contextmanager
def open_client(scheduler: str | None = None, jobs: int | None = None, *,
                scheduler_file: str | os.PathLike[str] | None = None) -> Iterator[Any]:
    """A Dask distributed client for a batch; closes what it started.

    Parameters
    ----------
    scheduler : str, optional
        ``None``: a private LocalCluster of ``jobs`` single-threaded worker processes, no
        dashboard. ``"local"``: a LocalCluster with the dashboard (``client.dashboard_link``).
        Anything else: the address of a running scheduler (``tcp://host:8786``).
    jobs : int, optional
        Worker processes for local clusters (default: the CPUs available).
    scheduler_file : str or os.PathLike, optional
        The JSON file a running scheduler wrote (``dask scheduler --scheduler-file F``; on SLURM
        the usual way to find it); used instead of ``scheduler``.

    Yields
    ------
    distributed.Client

    Raises
    ------
    ConfigError
        ``jobs`` below 1, or the scheduler cannot be reached.
    """
    try:
        from distributed import Client, LocalCluster
    except ImportError as err:  # pragma: no cover - dask is an optional dependency
        raise ConfigError("batch needs Dask distributed", hint='Install it: pip install "impactlab[cluster]"') from err
    if jobs is not None and jobs < 1:
        raise ConfigError(f"jobs must be at least 1, got {jobs}", key="jobs")
    n = jobs or _cpus()
    if scheduler_file is None and (scheduler is None or scheduler == "local"):
        kw: dict[str, Any] = {"dashboard_address": ":0"} if scheduler is None else {}
        # worker log noise (e.g. heartbeats failing at Ctrl-C) stays off the terminal; failures are in errors.csv
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,  # type: ignore[no-untyped-call]
                               silence_logs=logging.CRITICAL, **kw)
        try:
            with Client(cluster) as client:  # type: ignore[no-untyped-call]
                yield client
        finally:
            cluster.close()
        return
    where = f"the scheduler file {os.fspath(scheduler_file)}" if scheduler_file is not None else f"the Dask scheduler at {scheduler}"
    if scheduler_file is not None and not os.path.isfile(scheduler_file):
        raise ConfigError(f"no scheduler file at {os.fspath(scheduler_file)}", key="scheduler_file",
                          hint="Start the scheduler with `dask scheduler --scheduler-file FILE` on a shared folder")
    try:
        if scheduler_file is not None:
            client = Client(scheduler_file=os.fspath(scheduler_file), timeout="20s")  # type: ignore[no-untyped-call]
        else:
            client = Client(scheduler, timeout="20s")  # type: ignore[no-untyped-call]
    except (OSError, ValueError) as err:
        raise ConfigError(f"cannot reach {where}: {err}", key="scheduler",
                          hint="Start one with `dask scheduler` (and workers with `dask worker ADDRESS`), "
                               "or use --scheduler local") from None
    try:
        yield client
    finally:
        if client.status == "running":
            client.close()  # type: ignore[no-untyped-call]
        else:  # the scheduler is gone: do not wait out the client's reconnection attempts
            client.close(timeout=1)  # type: ignore[no-untyped-call]


# --------------------------------------------------------------------------- checks before any work


def _probe(paths: list[str], out: str, token: str) -> dict[str, Any]:
    """Run on each worker: which inputs it cannot see, and whether it can write ``out`` (a test file)."""
    import socket

    missing = [p for p in paths if not os.path.isfile(p)]
    name = f".probe-{token}-{socket.gethostname()}-{os.getpid()}"
    error = None
    try:
        with open(os.path.join(out, name), "w") as fh:
            fh.write("impactlab batch probe\n")
    except OSError as err:
        error = err.strerror or str(err)
    return {"host": socket.gethostname(), "pid": os.getpid(), "n_missing": len(missing), "missing": missing[:3],
            "write_error": error, "probe": name}


def _unprobe(out: str, name: str) -> None:
    try:
        os.unlink(os.path.join(out, name))
    except OSError:
        pass


def _workers(client: Any) -> dict[str, int]:
    return dict(client.nthreads())


def _wait_for_workers(client: Any, timeout: float, tell: Callable[[str], None]) -> dict[str, int]:
    t0 = time.monotonic()
    shown = -1
    while not (workers := _workers(client)):
        waited = time.monotonic() - t0
        if waited >= timeout:
            raise ConfigError(f"no Dask worker connected to the scheduler within {timeout:g} s", key="worker_timeout",
                              hint="Start workers with `dask worker ADDRESS --nthreads 1` (or wait longer: "
                                   "--worker-timeout SECONDS)")
        if int(waited) // 5 != shown:
            shown = int(waited) // 5
            tell(f"waiting for workers ({int(waited)} s)...")
        time.sleep(0.25)
    return workers


def check_workers(client: Any, paths: Sequence[Path], out: Path, *, timeout: float = 60.0,
                  tell: Callable[[str], None] = lambda _m: None) -> list[str]:
    """Check, before any work, that every worker sees the inputs and writes ``out`` where this computer reads it.

    Parameters
    ----------
    client : distributed.Client
    paths : sequence of pathlib.Path
        The inputs (those this computer sees are checked on every worker).
    out : pathlib.Path
        The output folder (exists).
    timeout : float
        Seconds to wait for a first worker.
    tell : callable
        Receives "waiting for workers (N s)..." lines.

    Returns
    -------
    list of str
        Notes (a worker with several threads: recordings run one at a time in each worker process).

    Raises
    ------
    ConfigError
        No worker within ``timeout``; a worker that cannot see an input this computer sees, cannot
        write ``out``, or writes it on a filesystem this computer does not see (each naming the worker).
    """
    workers = _wait_for_workers(client, timeout, tell)
    token = uuid.uuid4().hex[:8]
    seen = [os.fspath(p) for p in paths if p.is_file()]
    # a worker that left since it was listed does not answer: it gets no task either, so it is skipped
    results: dict[str, dict[str, Any]] = client.run(_probe, seen, os.fspath(out), token, on_error="ignore")
    if not results:
        raise ConfigError("no Dask worker answered the check before the batch", key="scheduler",
                          hint="Check that the workers are running (dask worker ADDRESS --nthreads 1)")
    try:
        for addr, r in sorted(results.items()):
            who = f"worker {addr} (host {r['host']}, pid {r['pid']})"
            if r["n_missing"]:
                raise ConfigError(f"{who} cannot see {r['n_missing']} of the {len(seen)} input files that this computer "
                                  f"sees, e.g. {r['missing'][0]}", key="scheduler",
                                  hint="Workers must see the inputs at the same paths (a shared filesystem)")
            if r["write_error"]:
                raise ConfigError(f"{who} cannot write the output folder {out}: {r['write_error']}", key="scheduler",
                                  hint="Give -o a folder every worker can write")
            if not (out / r["probe"]).is_file():
                raise ConfigError(f"{who} writes the output folder {out} on a filesystem this computer does not see "
                                  "(its test file did not appear here)", key="scheduler",
                                  hint="Give -o a folder shared by the workers and this computer")
    finally:
        for r in results.values():
            (out / r["probe"]).unlink(missing_ok=True)
        for addr, r in results.items():
            client.run(_unprobe, os.fspath(out), r["probe"], workers=[addr], on_error="ignore")
    return [f"worker {addr} runs {n} threads; impactlab analyses one recording at a time per worker process "
            "(start workers with --nthreads 1 and more processes, --nworkers N)" for addr, n in sorted(workers.items()) if n > 1]


# --------------------------------------------------------------------------- the batch


def run_batch(
    paths: Iterable[str | os.PathLike[str]] | Inputs,
    out: str | os.PathLike[str],
    *,
    options: Mapping[str, Any] | None = None,
    jobs: int | None = None,
    scheduler: str | None = None,
    scheduler_file: str | os.PathLike[str] | None = None,
    client: Any = None,
    force: bool = False,
    table_format: TableFormat = "parquet",
    progress: Callable[[BatchProgress], None] | None = None,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    subjects: str | os.PathLike[str] | None = None,
    subject_pattern: str | None = None,
    retries: int = 2,
    worker_timeout: float = 60.0,
) -> BatchResult:
    """Analyse many recordings in parallel and collate their tables.

    Parameters
    ----------
    paths : iterable of str or os.PathLike, or Inputs
        Recording files, folders (walked recursively) or globs (:func:`~impactlab.batch.inputs.find_inputs`),
        or what ``find_inputs`` returned.
    out : str or os.PathLike
        Output folder (created).
    options : mapping, optional
        Options of ``impactlab analyze`` by name (:func:`~impactlab.batch.options.analysis_option_defaults`).
    jobs : int, optional
        Worker processes of a local cluster (default: the CPUs available).
    scheduler : str, optional
        ``None`` (a private LocalCluster), ``"local"`` (LocalCluster with dashboard), ``"sync"`` (in
        this process, one file after another) or a scheduler address (``tcp://host:8786``).
    scheduler_file : str or os.PathLike, optional
        A running scheduler's ``--scheduler-file`` (instead of ``scheduler``).
    client : distributed.Client, optional
        Use this client instead (``scheduler`` and ``jobs`` are then ignored).
    force : bool
        Re-analyse recordings that are up to date.
    table_format : {"parquet", "csv"}
        Format of the collated tables.
    progress : callable, optional
        Called with a :class:`BatchProgress` before the first and after every recording, and with
        a ``message`` while waiting for workers.
    include, exclude : sequence of str
        Glob patterns narrowing the files found in folders and globs (``find_inputs``).
    subjects : str or os.PathLike, optional
        A subjects CSV (:mod:`impactlab.batch.subjects`): subject ids and per-subject body mass,
        zone and placement.
    subject_pattern : str, optional
        A regular expression taking the subject id from each path.
    retries : int
        Times a recording whose worker died is re-run on another (Dask ``retries``).
    worker_timeout : float
        Seconds to wait for a first worker of a running scheduler.

    Returns
    -------
    BatchResult
        Records, counts, errors, the collated tables' paths, files skipped as not recordings, and
        ``interrupted`` (why the batch stopped early, or None).

    Raises
    ------
    ImpactlabError
        Set-up problems, before any recording is analysed: no input found, invalid options or
        subjects file (:class:`ConfigError`), no worker, a worker that cannot see the inputs or
        write the output. Problems with single recordings never raise; they are in ``errors.csv``.
    KeyboardInterrupt
        Re-raised after the manifest has been written (``interrupted: true``); finished folders stay.

    Examples
    --------
    >>> res = run_batch(["data/"], "results", options={"tz": "Europe/London"}, jobs=2)  # doctest: +SKIP
    >>> res.n_done, res.n_failed, res.collated["Summary"]  # doctest: +SKIP
    """
    if table_format not in ("csv", "parquet"):
        raise ConfigError(f"unknown table format {table_format!r}", key="format", hint="Use csv or parquet")
    if retries < 0:
        raise ConfigError(f"retries must be 0 or more, got {retries}", key="retries")
    out_p = Path(out)
    found = paths if isinstance(paths, Inputs) else find_inputs(paths, include=include, exclude=exclude, out=out_p)
    files = found.recordings
    absent = [str(f) for f in files if found.formats.get(f) == "missing"]
    if absent:
        raise ConfigError(f"no such file or folder: {', '.join(absent)}; nothing was analysed", key="paths",
                          hint="Check the path, or quote globs such as 'data/**/*.gt3x'")
    if not files:
        skipped = f" ({len(found.skipped)} files found, none a recording)" if found.skipped else ""
        raise ReadError(f"no recording matches the given paths{skipped}",
                        hint="Check the paths, or quote globs such as 'data/**/*.gt3x'")
    opts = BatchOptions.build(out_p, options, force=force)
    table = read_subjects(subjects) if subjects is not None else None
    out_p.mkdir(parents=True, exist_ok=True)
    _clean_stale(out_p)
    kind = "client" if client is not None else (
        f"file:{os.fspath(scheduler_file)}" if scheduler_file is not None else (scheduler or f"processes:{jobs or 'auto'}"))
    manifest = _Manifest(out_p, opts, kind)
    ids = _stable_ids(files, manifest.previous)
    who, notes = assign_subjects(files, ids, table=table, pattern=subject_pattern)
    manifest.not_recordings = [{"path": str(p), "reason": why} for p, why in found.skipped]
    results: dict[str, dict[str, Any]] = {}
    counts = {"failed": 0, "skipped": 0}

    def _previous(rid: str) -> dict[str, Any] | None:
        prev = manifest.previous.get(rid)
        return prev if prev and prev.get("status") == "failed" else None

    def _tell(message: str, link: str | None = None) -> None:
        if progress is not None:
            progress(BatchProgress(len(files), len(results), counts["failed"], counts["skipped"], None, link, message))

    def _finish(rec: dict[str, Any], link: str | None) -> None:
        rec = _check_visible(rec, out_p)
        results[rec["recording_id"]] = rec
        manifest.add(rec)
        counts["failed"] += rec["status"] == "failed"
        counts["skipped"] += rec["status"] == "skipped"
        if progress is not None:
            progress(BatchProgress(len(files), len(results), counts["failed"], counts["skipped"], rec, link))

    interrupted: str | None = None
    try:
        if scheduler == "sync" and client is None and scheduler_file is None:
            _tell("")
            for p in files:
                _finish(analyze_file(str(p), opts, recording_id=ids[p], previous_failure=_previous(ids[p]),
                                     subject=who.get(p)), None)
        else:
            run = _Run(files, ids, who, opts, _previous, _finish, _tell, retries, worker_timeout, notes)
            if client is not None:
                interrupted = run.on(client, getattr(client, "dashboard_link", None))
            else:
                n = min(jobs or _cpus(), len(files)) if scheduler is None and scheduler_file is None else jobs
                with open_client(scheduler, n, scheduler_file=scheduler_file) as own:
                    has_dashboard = scheduler is not None and importlib.util.find_spec("bokeh") is not None
                    interrupted = run.on(own, own.dashboard_link if has_dashboard else None)
    except KeyboardInterrupt:
        manifest.write(interrupted=True, reason="interrupted by the user (Ctrl-C)")
        _write_errors(out_p, manifest.records.values())
        raise
    if interrupted is None:  # every task has ended: what a killed worker left half-written can go
        _clean_stale(out_p)
    manifest.write(interrupted=interrupted is not None, reason=interrupted)
    _write_errors(out_p, manifest.records.values())
    collated = collate(out_p, table_format=table_format)
    return BatchResult(out=out_p, records=[results[ids[p]] for p in files if ids[p] in results], collated=collated,
                       not_recordings=list(found.skipped), notes=notes, interrupted=interrupted)


def _stable_ids(files: list[Path], previous: Mapping[str, Mapping[str, Any]]) -> dict[Path, str]:
    """:func:`recording_ids`, except that a file keeps the id an earlier run in this folder gave it
    (a batch over part of a cohort finds the cohort's folders), as long as ids stay unique."""
    ids = recording_ids(files)
    before = {str(r.get("path")): rid for rid, r in previous.items()}
    taken = set(ids.values())
    for p in files:
        old = before.get(str(p))
        if old is None or old == ids[p] or old in taken:
            continue
        parts = old.split("/")
        if any("/".join(parts[:i]) in taken for i in range(1, len(parts))) or \
                any(v.startswith(old + "/") for v in taken):
            continue
        taken.discard(ids[p])
        ids[p] = old
        taken.add(old)
    return ids


def _check_visible(rec: dict[str, Any], out: Path) -> dict[str, Any]:
    """A recording a worker reports finished must be in ``out`` as this computer sees it."""
    if rec["status"] not in ("done", "skipped"):
        return rec
    info = read_info(out / rec["recording_id"] / f"{leaf(rec['recording_id'])}-Info.json")
    if info is not None and info.get("batch", {}).get("input_sha256") == rec["input_sha256"]:
        return rec
    return {**rec, "status": "failed", "cacheable": False, "error_type": "ConfigError",
            "error": f"worker {rec['worker']} reports {rec['path']} finished, but its folder is not in {out} as this "
                     "computer sees it: workers must write to a folder shared with this computer"}


class _Run:
    """One batch on a Dask client: checks, submission with retries, results as they come."""

    def __init__(self, files: list[Path], ids: dict[Path, str], who: dict[Path, Subject], opts: BatchOptions,
                 previous: Callable[[str], dict[str, Any] | None], finish: Callable[[dict[str, Any], str | None], None],
                 tell: Callable[..., None], retries: int, worker_timeout: float, notes: list[str]) -> None:
        self.files, self.ids, self.who, self.opts = files, ids, who, opts
        self.previous, self.finish, self.tell = previous, finish, tell
        self.retries, self.worker_timeout, self.notes = retries, worker_timeout, notes

    def on(self, client: Any, link: str | None) -> str | None:
        """Run every file on ``client``; the reason when the scheduler was lost, else None."""
        from distributed import as_completed

        self.notes.extend(check_workers(client, self.files, Path(self.opts.out), timeout=self.worker_timeout,
                                        tell=lambda m: self.tell(m, link)))
        self.tell("", link)
        token = uuid.uuid4().hex[:8]
        futures = {}
        for p in self.files:
            rid = self.ids[p]
            size = p.stat().st_size if p.exists() else 0
            fut = client.submit(analyze_file, str(p), self.opts, recording_id=rid, previous_failure=self.previous(rid),
                                subject=self.who.get(p), key=f"impactlab-batch-{rid.replace('/', '~')}-{token}",
                                priority=size // (1 << 20), retries=self.retries)
            futures[fut] = p
        try:
            for fut in as_completed(list(futures)):  # type: ignore[no-untyped-call]
                p = futures[fut]
                try:
                    rec = fut.result()
                except Exception as err:  # the worker died every time (KilledWorker), or the scheduler went away
                    if _lost(err, client):
                        raise SchedulerLost(str(err)) from None
                    rec = self._failed(p, err)
                fut.release()
                self.finish(rec, link)
        except SchedulerLost:
            return (f"the Dask scheduler was lost ({getattr(client.scheduler, 'address', None) or 'address unknown'}); "
                    "finished recordings are kept: run the same command again to analyse the rest")
        except BaseException:
            client.cancel(list(futures))
            raise
        return None

    def _failed(self, p: Path, err: BaseException) -> dict[str, Any]:
        name = type(err).__name__
        text = str(err) or repr(err)
        if name == "KilledWorker":
            text = (f"{p}: the worker process analysing it died {self.retries + 1} time(s) (out of memory, or killed); "
                    "other recordings were not affected")
        return {"recording_id": self.ids[p], "path": str(p), "status": "failed", "analysed": True,
                "subject_id": (self.who.get(p) or Subject()).subject_id, "input_sha256": None, "input_bytes": None,
                "settings_sha256": self.opts.settings_sha256, "error_type": name, "error": text, "cacheable": False,
                "traceback": None, "n_warnings": 0, "seconds": None, "hash_seconds": None, "worker": None,
                "finished": pd.Timestamp.now(tz="UTC").isoformat()}
