"""Scheduling a batch: Dask distributed's, never home-made (:func:`run_batch`, :func:`open_client`).

By default a private ``LocalCluster`` of ``jobs`` single-threaded worker processes;
``scheduler="local"`` a LocalCluster with its dashboard; ``scheduler="tcp://host:8786"`` a running
scheduler (workers must see the same paths); ``scheduler="sync"`` runs in this process, one file
after another (debugging). A file that fails is listed in ``errors.csv`` and never stops the batch,
even when it kills its worker process. ``OUT/manifest.json`` lists every recording with its status,
hashes and timings.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .._version import __version__
from ..errors import ConfigError, ReadError
from ._files import ERRORS, MANIFEST, atomic_write_text, read_info
from .collate import collate
from .inputs import expand_paths, recording_ids
from .options import BatchOptions, TableFormat
from .worker import analyze_file

__all__ = ["BatchProgress", "BatchResult", "open_client", "run_batch"]

log = logging.getLogger(__name__)


def _cpus() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1  # pragma: no cover - not Linux


@contextmanager
def open_client(scheduler: str | None = None, jobs: int | None = None) -> Iterator[Any]:
    """A Dask distributed client for a batch; closes what it started.

    Parameters
    ----------
    scheduler : str, optional
        ``None``: a private LocalCluster of ``jobs`` single-threaded worker processes, no
        dashboard. ``"local"``: a LocalCluster with the dashboard (``client.dashboard_link``).
        Anything else: the address of a running scheduler (``tcp://host:8786``).
    jobs : int, optional
        Worker processes for local clusters (default: the CPUs available).

    Yields
    ------
    distributed.Client
    """
    try:
        from distributed import Client, LocalCluster
    except ImportError as err:  # pragma: no cover - dask is an optional dependency
        raise ConfigError("batch needs Dask distributed", hint='Install it: pip install "impactlab[cluster]"') from err
    if jobs is not None and jobs < 1:
        raise ConfigError(f"jobs must be at least 1, got {jobs}", key="jobs")
    n = jobs or _cpus()
    if scheduler is None or scheduler == "local":
        kw: dict[str, Any] = {"dashboard_address": ":0"} if scheduler is None else {}
        # worker log noise (e.g. heartbeats failing at Ctrl-C) stays off the terminal; failures are in errors.csv
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, silence_logs=logging.CRITICAL, **kw)  # type: ignore[no-untyped-call]
        try:
            with Client(cluster) as client:  # type: ignore[no-untyped-call]
                yield client
        finally:
            cluster.close()
    else:
        try:
            client = Client(scheduler, timeout="20s")  # type: ignore[no-untyped-call]
        except OSError as err:
            raise ConfigError(f"cannot reach the Dask scheduler at {scheduler}: {err}", key="scheduler",
                              hint="Start one with `dask scheduler` (and workers with `dask worker ADDRESS`), "
                                   "or use --scheduler local") from None
        with client:
            yield client


@dataclass(frozen=True)
class BatchProgress:
    """Progress of a batch, passed to the ``progress`` callback of :func:`run_batch`.

    Attributes
    ----------
    total : int
        Recordings in the batch.
    finished : int
        Recordings finished (done, skipped or failed).
    failed : int
        Recordings that failed so far.
    skipped : int
        Recordings found up to date.
    record : dict or None
        The record just finished (:func:`analyze_file`), ``None`` for the first call.
    dashboard_link : str or None
        The Dask dashboard, when there is one.
    """

    total: int
    finished: int
    failed: int
    skipped: int
    record: dict[str, Any] | None = None
    dashboard_link: str | None = None


@dataclass
class BatchResult:
    """What :func:`run_batch` did.

    Attributes
    ----------
    out : pathlib.Path
        Output folder.
    records : list of dict
        One record per input recording (:func:`analyze_file`), in input order.
    collated : dict
        Table name -> path of the collated tables.
    """

    out: Path
    records: list[dict[str, Any]]
    collated: dict[str, Path] = field(default_factory=dict)

    def _count(self, status: str) -> int:
        return sum(r["status"] == status for r in self.records)

    @property
    def n_done(self) -> int:
        """Recordings analysed in this run."""
        return self._count("done")

    @property
    def n_skipped(self) -> int:
        """Recordings already up to date."""
        return self._count("skipped")

    @property
    def n_failed(self) -> int:
        """Recordings that failed."""
        return self._count("failed")

    @property
    def n_analysed(self) -> int:
        """Recordings whose analysis ran in this run (done or failed while analysing)."""
        return sum(bool(r["analysed"]) for r in self.records)

    @property
    def errors(self) -> pd.DataFrame:
        """The failed recordings: ``recording_id``, ``path``, ``error_type``, ``error``."""
        return _errors_frame(self.records)


def _errors_frame(records: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    rows = [{k: r.get(k) for k in ("recording_id", "path", "error_type", "error")} for r in records if r["status"] == "failed"]
    df = pd.DataFrame(rows, columns=["recording_id", "path", "error_type", "error"])
    return df.sort_values("recording_id", kind="stable").reset_index(drop=True).astype("string")

def _clean_stale(out: Path) -> None:
    """Remove temporary folders an interrupted run left, restoring a folder caught mid-swap."""
    for d in out.glob(".old-*"):
        parts = d.name[len(".old-"):].rsplit("-", 1)
        target = out / parts[0]
        if d.is_dir() and not target.exists():
            d.rename(target)
        else:
            shutil.rmtree(d, ignore_errors=True)
    for d in [*out.glob(".tmp-*"), *out.glob(".gone-*")]:
        shutil.rmtree(d, ignore_errors=True)
    for f in [*out.glob(f".{MANIFEST}.*"), *out.glob(f".{ERRORS}.*")]:
        f.unlink(missing_ok=True)


class _Manifest:
    def __init__(self, out: Path, options: BatchOptions, scheduler: str) -> None:
        self.path = out / MANIFEST
        old = read_info(self.path) or {}
        self.previous: dict[str, dict[str, Any]] = {r["recording_id"]: r for r in old.get("recordings", [])
                                                     if isinstance(r, dict) and "recording_id" in r}
        self.records: dict[str, dict[str, Any]] = dict(self.previous)
        self.head = {"impactlab_version": __version__, "out": str(out), "scheduler": scheduler,
                     "settings_sha256": options.settings_sha256,
                     "options": json.loads(json.dumps(options.analysis, default=str)),
                     "started": pd.Timestamp.now(tz="UTC").isoformat()}
        self.last_write = 0.0

    def add(self, rec: dict[str, Any]) -> None:
        self.records[rec["recording_id"]] = rec
        if time.monotonic() - self.last_write > 1.0:
            self.write()

    def write(self, *, interrupted: bool = False) -> None:
        body = {**self.head, "updated": pd.Timestamp.now(tz="UTC").isoformat(), "interrupted": interrupted,
                "recordings": [self.records[k] for k in sorted(self.records)]}
        atomic_write_text(self.path, json.dumps(body, indent=2, default=str) + "\n")
        self.last_write = time.monotonic()


def run_batch(
    paths: Iterable[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    *,
    options: Mapping[str, Any] | None = None,
    jobs: int | None = None,
    scheduler: str | None = None,
    client: Any = None,
    force: bool = False,
    table_format: TableFormat = "parquet",
    progress: Callable[[BatchProgress], None] | None = None,
) -> BatchResult:
    """Analyse many recordings in parallel and collate their tables.

    Parameters
    ----------
    paths : iterable of str or os.PathLike
        Recording files, globs or folders (see :func:`expand_paths`).
    out : str or os.PathLike
        Output folder (created).
    options : mapping, optional
        Options of ``impactlab analyze`` by name (:func:`analysis_option_defaults`).
    jobs : int, optional
        Worker processes of a local cluster (default: the CPUs available).
    scheduler : str, optional
        ``None`` (a private LocalCluster), ``"local"`` (LocalCluster with dashboard), ``"sync"`` (in
        this process, one file after another) or a scheduler address (``tcp://host:8786``).
    client : distributed.Client, optional
        Use this client instead (``scheduler`` and ``jobs`` are then ignored).
    force : bool
        Re-analyse recordings that are up to date.
    table_format : {"parquet", "csv"}
        Format of the collated tables.
    progress : callable, optional
        Called with a :class:`BatchProgress` before the first and after every recording.

    Returns
    -------
    BatchResult
        Records, counts, errors and the collated tables' paths.

    Raises
    ------
    ImpactlabError
        No input matched, or the options are invalid (:class:`ConfigError`). Problems with single
        recordings never raise; they are in ``errors.csv``.
    KeyboardInterrupt
        Re-raised after the manifest has been written; finished folders stay intact.

    Examples
    --------
    >>> res = run_batch(["data/*.parquet"], "results", options={"tz": "Europe/London"}, jobs=2)  # doctest: +SKIP
    >>> res.n_done, res.n_failed, res.collated["Summary"]  # doctest: +SKIP
    """
    if table_format not in ("csv", "parquet"):
        raise ConfigError(f"unknown table format {table_format!r}", key="format", hint="Use csv or parquet")
    out_p = Path(out)
    files = expand_paths(paths, exclude=out_p)
    if not files:
        raise ReadError("no recording matches the given paths", hint="Check the paths or quote globs such as 'data/*.csv'")
    out_p.mkdir(parents=True, exist_ok=True)
    opts = BatchOptions.build(out_p, options, force=force)
    _clean_stale(out_p)
    ids = recording_ids(files)
    manifest = _Manifest(out_p, opts, "client" if client is not None else (scheduler or f"processes:{jobs or 'auto'}"))
    results: dict[str, dict[str, Any]] = {}
    counts = {"failed": 0, "skipped": 0}

    def _previous(rid: str) -> dict[str, Any] | None:
        prev = manifest.previous.get(rid)
        return prev if prev and prev.get("status") == "failed" else None

    def _finish(rec: dict[str, Any], link: str | None) -> None:
        results[rec["recording_id"]] = rec
        manifest.add(rec)
        counts["failed"] += rec["status"] == "failed"
        counts["skipped"] += rec["status"] == "skipped"
        if progress is not None:
            progress(BatchProgress(len(files), len(results), counts["failed"], counts["skipped"], rec, link))

    try:
        if scheduler == "sync" and client is None:
            if progress is not None:
                progress(BatchProgress(len(files), 0, 0, 0))
            for p in files:
                _finish(analyze_file(str(p), opts, recording_id=ids[p], previous_failure=_previous(ids[p])), None)
        elif client is not None:
            _run_on(client, files, ids, opts, _previous, _finish, progress, getattr(client, "dashboard_link", None))
        else:
            n = min(jobs or _cpus(), len(files)) if scheduler is None else jobs
            with open_client(scheduler, n) as own:
                has_dashboard = scheduler is not None and importlib.util.find_spec("bokeh") is not None
                link = own.dashboard_link if has_dashboard else None
                _run_on(own, files, ids, opts, _previous, _finish, progress, link)
    except KeyboardInterrupt:
        manifest.write(interrupted=True)
        _write_errors(out_p, manifest.records.values())
        raise
    manifest.write()
    _write_errors(out_p, manifest.records.values())
    collated = collate(out_p, table_format=table_format)
    return BatchResult(out=out_p, records=[results[ids[p]] for p in files], collated=collated)


def _run_on(
    client: Any,
    files: list[Path],
    ids: dict[Path, str],
    opts: BatchOptions,
    previous: Callable[[str], dict[str, Any] | None],
    finish: Callable[[dict[str, Any], str | None], None],
    progress: Callable[[BatchProgress], None] | None,
    link: str | None,
) -> None:
    from distributed import as_completed

    if progress is not None:
        progress(BatchProgress(len(files), 0, 0, 0, None, link))
    token = uuid.uuid4().hex[:8]
    futures = {}
    for p in files:
        rid = ids[p]
        size = p.stat().st_size if p.exists() else 0
        fut = client.submit(analyze_file, str(p), opts, recording_id=rid, previous_failure=previous(rid),
                            key=f"impactlab-batch-{rid}-{token}", priority=size // (1 << 20), retries=0)
        futures[fut] = p
    try:
        for fut in as_completed(list(futures)):  # type: ignore[no-untyped-call]
            p = futures[fut]
            try:
                rec = fut.result()
            except Exception as err:  # the worker died (KilledWorker) or the task could not run
                rec = {"recording_id": ids[p], "path": str(p), "status": "failed", "analysed": True,
                       "subject_id": None, "input_sha256": None, "input_bytes": None,
                       "settings_sha256": opts.settings_sha256, "error_type": type(err).__name__,
                       "error": str(err) or repr(err), "cacheable": False, "traceback": None, "n_warnings": 0,
                       "seconds": None, "hash_seconds": None, "worker": None,
                       "finished": pd.Timestamp.now(tz="UTC").isoformat()}
            fut.release()
            finish(rec, link)
    except BaseException:
        client.cancel(list(futures))
        raise


def _write_errors(out: Path, records: Iterable[Mapping[str, Any]]) -> None:
    tmp = out / f".{ERRORS}.{uuid.uuid4().hex[:8]}"
    _errors_frame(records).to_csv(tmp, index=False)
    os.replace(tmp, out / ERRORS)

