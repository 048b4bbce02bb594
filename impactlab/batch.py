"""Batch analysis of many recordings, locally or on a Dask cluster, with tidy collated tables (DESIGN §8).

Layout of an output folder ``OUT`` (stepcount's convention, style.md §3.7)::

    OUT/<recording_id>/<recording_id>-Impacts.csv     one folder per recording, written atomically
                      <recording_id>-Sessions.csv     (a temporary folder renamed into place), the same
                      <recording_id>-Daily.csv        files as ``impactlab analyze -o``; -Info.json
                      <recording_id>-PlanCheck.csv    has an extra ``batch`` key: recording and subject
                      <recording_id>-Info.json        id, input and settings hashes, options
    OUT/collated/Daily.parquet, Sessions.parquet, PlanCheck.parquet, Summary.parquet   (or .csv)
    OUT/collated/Summary-Dictionary.csv               what each Summary column means, with units
    OUT/errors.csv                                    failed recordings and why
    OUT/manifest.json                                 every recording: status, hashes, timings

Each file is analysed by :func:`analyze_file`, a module-level (picklable) function of the file's path
and a :class:`BatchOptions`; workers read the files themselves, so no recording travels through the
scheduler, and memory per worker stays that of one streamed ``analyze``. The analysis options are
those of ``impactlab analyze`` (option names such as ``tz``, ``vertical_axis``, ``preset`` and
the plan, markers, body mass and loading settings); each file goes through the same
:func:`impactlab.analyze` call as ``impactlab analyze``, so per-recording results are identical by construction.

Scheduling is Dask distributed's, never home-made: by default a private ``LocalCluster`` of ``jobs``
single-threaded worker processes; ``scheduler="local"`` a LocalCluster with its dashboard;
``scheduler="tcp://host:8786"`` a running scheduler (workers must see the same paths);
``scheduler="sync"`` runs in this process, one file after another (debugging). A file that fails is
listed in ``errors.csv`` and never stops the batch, even when it kills its worker process.

A recording is up to date when its folder holds an ``-Info.json`` whose input hash (SHA-256 of the
file) and settings hash (the options, the content of files they name, such as a plan, and the
impactlab version) match; it is then skipped unless ``force``. Failures caused by the data
(:class:`~impactlab.errors.ImpactlabError`) are remembered the same way in the manifest and not
retried on an unchanged file; other failures are retried.

Batch tables are the per-recording tables with leading ``recording_id`` and ``subject_id`` columns
(DESIGN §3). In Parquet, times with a zone (``start``, ``end``) are stored in UTC, because recordings
may come from several zones; ``date`` is the local calendar day. CSV tables keep each recording's
text exactly as ``impactlab analyze`` wrote it.
"""

from __future__ import annotations

import glob
import hashlib
import importlib.util
import json
import logging
import os
import shutil
import socket
import time
import traceback
import uuid
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from ._version import __version__
from .errors import ConfigError, ImpactlabError, ImpactlabWarning, ReadError
from .schema import DAILY, PLAN_CHECK, SESSIONS, empty

__all__ = [
    "SUMMARY_COLUMNS",
    "BatchOptions",
    "BatchProgress",
    "BatchResult",
    "analysis_option_defaults",
    "analyze_file",
    "collate",
    "expand_paths",
    "open_client",
    "recording_ids",
    "run_batch",
]

log = logging.getLogger(__name__)

TableFormat = Literal["csv", "parquet"]
#: Suffixes taken from a folder given as input (files named explicitly or by a glob are always taken).
RECORDING_SUFFIXES = (".csv", ".gz", ".txt", ".tsv", ".parquet", ".cwa", ".bin", ".gt3x")
COLLATED = "collated"
MANIFEST = "manifest.json"
ERRORS = "errors.csv"
#: Tables collated from each recording folder, with their schema (:mod:`impactlab.schema`).
TABLES: dict[str, Mapping[str, object]] = {"Daily": DAILY, "Sessions": SESSIONS, "PlanCheck": PLAN_CHECK}
_TZ = "datetime64[ns, tz]"
_HASH_BLOCK = 1 << 20

# Daily column -> Summary column of its mean per valid day x 7 (Hannam's weekly figure).
_PER_WEEK = {
    "n_low": "low_per_week",
    "n_medium": "medium_per_week",
    "n_high": "high_per_week",
    "n_jumps": "jumps_per_week",
    "jump_sets": "jump_sets_per_week",
    "brisk_walk_min": "brisk_walk_min_per_week",
    "walk_min": "walk_min_per_week",
    "vest_walk_min": "vest_walk_min_per_week",
    "vibration_min": "vibration_min_per_week",
}

#: The collated Summary table: (column, dtype, unit, description); written as its data dictionary.
SUMMARY_COLUMNS: tuple[tuple[str, str, str, str], ...] = (
    ("recording_id", "string", "", "Recording identifier: the file name without extensions (made unique with its folder name "
     "or a path hash when two files share a name); also the name of its folder in OUT"),
    ("subject_id", "string", "", "Subject identifier from the file's metadata; empty when the file names none"),
    ("source", "string", "", "Path of the recording file as analysed"),
    ("device", "string", "", "Device or format the recording came from"),
    ("timezone", "string", "", "IANA time zone of the recording; calendar days are cut at its midnight"),
    ("sample_rate_hz", "float64", "Hz", "Nominal sample rate of the file"),
    ("start", "string", "ISO-8601", "First sample, local time with UTC offset"),
    ("end", "string", "ISO-8601", "Last sample, local time with UTC offset"),
    ("n_samples", "Int64", "samples", "Samples read"),
    ("days", "Int64", "days", "Calendar days with at least one sample (rows of the Daily table)"),
    ("valid_days", "Int64", "days", "Days with at least the valid-day wear time (10 h in hannam2017)"),
    ("wear_h", "float64", "h", "Wear time over the whole recording (van Hees non-wear removed)"),
    ("n_low", "Int64", "impacts", "Low-band impacts (0.5-1.0 g above gravity in hannam2017) over all days, valid or not"),
    ("n_medium", "Int64", "impacts", "Medium-band impacts (1.0-1.5 g) over all days"),
    ("n_high", "Int64", "impacts", "High-band impacts (>= 1.5 g) over all days"),
    ("low_per_week", "Float64", "impacts/week", "Hannam's weekly figure: mean low-band impacts per valid day x 7; "
     "empty without a valid day; not rounded"),
    ("medium_per_week", "Float64", "impacts/week", "Mean medium-band impacts per valid day x 7"),
    ("high_per_week", "Float64", "impacts/week", "Mean high-band impacts per valid day x 7"),
    ("jumps_per_week", "Float64", "jumps/week", "Mean jumps (high impacts after a flight phase) per valid day x 7"),
    ("jump_sets_per_week", "Float64", "sets/week", "Mean jump sets per valid day x 7"),
    ("brisk_walk_min_per_week", "Float64", "min/week", "Mean brisk-walking minutes per valid day x 7"),
    ("walk_min_per_week", "Float64", "min/week", "Mean walking minutes (below brisk cadence) per valid day x 7"),
    ("vest_walk_min_per_week", "Float64", "min/week", "Mean weighted-vest walking minutes per valid day x 7"),
    ("vibration_min_per_week", "Float64", "min/week", "Mean vibration-plate minutes per valid day x 7"),
    ("gaps", "Int64", "gaps", "Gaps in the samples (time steps longer than 2.5 sample periods)"),
    ("clipped_samples", "Int64", "samples", "Samples at the sensor's range"),
    ("n_warnings", "Int64", "warnings", "Data-quality warnings (listed in the recording's -Info.json, qc.warnings)"),
    ("plan_met", "Int64", "targets", "Plan check rows met (empty without a plan)"),
    ("plan_not_met", "Int64", "targets", "Plan check rows not met (empty without a plan)"),
    ("plan_no_data", "Int64", "targets", "Plan check rows without valid data (empty without a plan)"),
    ("preset", "string", "", "Method preset (hannam2017 unless --preset)"),
    ("impactlab_version", "string", "", "impactlab version that analysed the recording"),
    ("input_sha256", "string", "", "SHA-256 of the recording file (empty for folders not written by batch)"),
    ("settings_sha256", "string", "", "SHA-256 of the analysis options, files they name (plan, markers) and the "
     "impactlab version; rows with different values were analysed with different settings"),
)


# --------------------------------------------------------------------------- options and hashes


#: The analysis options a batch takes, by the names ``impactlab analyze`` gives them, with defaults.
ANALYSIS_OPTIONS: dict[str, Any] = {
    "tz": None, "vertical_axis": None, "units": "g", "preset": "hannam2017", "native_rate": False,
    "markers": None, "plan": None, "calibrate": False, "body_mass": None, "vest_mass": None,
    "placement": "hip", "vector": None, "range_g": None, "align_gravity": False,
}


def analysis_option_defaults() -> dict[str, Any]:
    """The analysis options of ``impactlab analyze`` and their defaults.

    Reading options (``tz``, ``vertical_axis``, ``units``), the method (``preset``,
    ``native_rate``, ``vector``), the inputs (``plan``, ``markers``: paths; ``body_mass``: kg),
    ``calibrate``, the loading settings (``vest_mass``: kg, ``placement``), the sensor range
    (``range_g``: ±g) and ``align_gravity``.

    Returns
    -------
    dict
        Option name -> default value.
    """
    return dict(ANALYSIS_OPTIONS)


def _file_sha256(path: str | os.PathLike[str]) -> tuple[str, int]:
    h = hashlib.sha256()
    n = 0
    with open(path, "rb") as fh:
        while block := fh.read(_HASH_BLOCK):
            h.update(block)
            n += len(block)
    return h.hexdigest(), n


def _is_file(v: object) -> bool:
    return isinstance(v, str | os.PathLike) and bool(os.fspath(v)) and os.path.isfile(v)


def _absolute_files(v: Any) -> Any:
    if _is_file(v):
        return os.path.abspath(os.fspath(v))
    if isinstance(v, list | tuple):
        return [_absolute_files(x) for x in v]
    if isinstance(v, os.PathLike):
        return os.fspath(v)
    return v


def _hashable(v: Any) -> Any:
    if _is_file(v):
        return {"file_sha256": _file_sha256(v)[0]}
    if isinstance(v, list | tuple):
        return [_hashable(x) for x in v]
    return v


@dataclass(frozen=True)
class BatchOptions:
    """What every worker needs to analyse one file (picklable; shipped with each task).

    Build it with :meth:`build`, which fills defaults and computes the settings hash.

    Attributes
    ----------
    out : str
        Output folder (absolute path).
    analysis : dict
        Options of ``impactlab analyze`` (see :func:`analysis_option_defaults`); values naming
        files (a plan, markers) are absolute paths.
    force : bool
        Analyse even when the recording's folder is up to date.
    settings_sha256 : str
        SHA-256 of the options, the content of the files they name and the impactlab version.
    """

    out: str
    analysis: dict[str, Any]
    force: bool = False
    settings_sha256: str = ""

    @classmethod
    def build(
        cls, out: str | os.PathLike[str], analysis: Mapping[str, Any] | None = None, *, force: bool = False
    ) -> BatchOptions:
        """Options for a batch writing into ``out``.

        Parameters
        ----------
        out : str or os.PathLike
            Output folder.
        analysis : mapping, optional
            Analysis options by name (``{"tz": "Europe/London", "plan": "plan.toml"}``);
            missing ones take their defaults.
        force : bool
            Re-analyse up-to-date recordings.

        Raises
        ------
        ConfigError
            An option that ``impactlab analyze`` does not have.
        """
        defaults = analysis_option_defaults()
        given = dict(analysis or {})
        unknown = sorted(set(given) - set(defaults))
        if unknown:
            raise ConfigError(
                f"unknown analysis option(s) {', '.join(map(repr, unknown))}", key="options",
                hint=f"Known options: {', '.join(sorted(defaults))}",
            )
        merged = {k: _absolute_files(given.get(k, v)) for k, v in sorted(defaults.items())}
        canon = json.dumps({"impactlab_version": __version__, "options": {k: _hashable(v) for k, v in merged.items()}},
                           sort_keys=True, default=str)
        digest = hashlib.sha256(canon.encode()).hexdigest()
        return cls(out=os.path.abspath(os.fspath(out)), analysis=merged, force=force, settings_sha256=digest)


# --------------------------------------------------------------------------- inputs


def expand_paths(patterns: Iterable[str | os.PathLike[str]], *, exclude: str | os.PathLike[str] | None = None) -> list[Path]:
    """Files named by paths, glob patterns (``**`` recurses) and folders, absolute and deduplicated.

    A folder contributes its files whose suffix is a recording's (:data:`RECORDING_SUFFIXES`), not
    recursively. A path that does not exist is kept (it fails in the batch with a clear error);
    a glob that matches nothing is warned about.

    Parameters
    ----------
    patterns : iterable of str or os.PathLike
        Paths, globs or folders.
    exclude : str or os.PathLike, optional
        A folder whose files are never inputs (the batch's own output).

    Returns
    -------
    list of pathlib.Path
        Absolute paths in the order given (globs and folders sorted).
    """
    ex = Path(exclude).resolve() if exclude is not None else None
    seen: dict[Path, None] = {}
    for pat in patterns:
        s = os.fspath(pat)
        if glob.has_magic(s):
            found = [Path(m) for m in sorted(glob.glob(s, recursive=True)) if os.path.isfile(m)]
            if not found:
                warnings.warn(f"{s}: no file matches this pattern", ImpactlabWarning, stacklevel=2)
        elif os.path.isdir(s):
            found = sorted(p for p in Path(s).iterdir() if p.is_file() and not p.name.startswith(".")
                           and any(p.name.lower().endswith(x) for x in RECORDING_SUFFIXES))
        else:
            found = [Path(s)]
        for p in found:
            a = p.resolve() if p.exists() else Path(os.path.abspath(p))
            if ex is not None and (a == ex or ex in a.parents):
                continue
            seen.setdefault(a, None)
    return list(seen)


def _stem(path: Path) -> str:
    stem = path.name.split(".")[0] or path.name.lstrip(".").split(".")[0] or "recording"
    return stem


def recording_ids(paths: Sequence[Path]) -> dict[Path, str]:
    """A unique, readable recording id for each path: the file name without extensions.

    Files that share a name get their folder's name in front (``p01-day1``); if that is still
    ambiguous, a short hash of the path is appended. ``collated`` is reserved.

    Parameters
    ----------
    paths : sequence of pathlib.Path
        Absolute input paths, no duplicates.

    Returns
    -------
    dict
        Path -> recording id.
    """
    ids = {p: _stem(p) for p in paths}
    for attempt in range(3):
        counts: dict[str, int] = {}
        for v in ids.values():
            counts[v] = counts.get(v, 0) + 1
        clash = {p for p, v in ids.items() if counts[v] > 1 or v == COLLATED}
        if not clash:
            break
        for p in clash:
            if attempt == 0:
                ids[p] = f"{p.parent.name}-{_stem(p)}"
            else:
                ids[p] = f"{ids[p]}-{hashlib.sha1(str(p).encode()).hexdigest()[:8]}"
    return ids


# --------------------------------------------------------------------------- one file (runs on workers)


def _read_info(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())  # type: ignore[no-any-return]
    except (OSError, ValueError):
        return None


def _run_analysis(path: str, analysis: Mapping[str, Any]) -> Any:
    """Analyse one file with the batch's options, exactly as ``impactlab analyze`` would."""
    from .calibrate import calibrate_source
    from .io import open_recording
    from .markers import read_markers
    from .pipeline import analyze
    from .plan import load_plan
    from .presets import analysis_config

    opt = {**ANALYSIS_OPTIONS, **analysis}
    src = open_recording(path, tz=opt["tz"], vertical_axis=opt["vertical_axis"], units=opt["units"])
    if opt["calibrate"]:
        src = calibrate_source(src)
    config = analysis_config(opt["preset"], native_rate=opt["native_rate"], vector=opt["vector"],
                             vest_mass_kg=opt["vest_mass"], placement=opt["placement"], range_g=opt["range_g"],
                             align_gravity=opt["align_gravity"])
    return analyze(src, config=config, plan=load_plan(opt["plan"]) if opt["plan"] else None,
                   markers=read_markers(opt["markers"]) if opt["markers"] else None, body_mass_kg=opt["body_mass"])


def _write_folder(res: Any, folder: Path, rid: str, batch: dict[str, Any]) -> None:
    """Write the recording's files into a temporary folder, then rename it into place."""
    tmp = folder.parent / f".tmp-{rid}-{uuid.uuid4().hex[:12]}"
    try:
        res.write(tmp, rid)
        info_path = tmp / f"{rid}-Info.json"
        info = json.loads(info_path.read_text())
        info["batch"] = batch
        info_path.write_text(json.dumps(info, indent=2) + "\n")
        _swap_in(tmp, folder)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _swap_in(tmp: Path, final: Path) -> None:
    """Replace folder ``final`` by the finished folder ``tmp`` (renames only; the old one is removed last)."""
    if final.exists():
        old = final.parent / f".old-{final.name}-{uuid.uuid4().hex[:12]}"
        final.rename(old)
        tmp.rename(final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        tmp.rename(final)


def _remove_folder(folder: Path) -> None:
    old = folder.parent / f".gone-{folder.name}-{uuid.uuid4().hex[:12]}"
    folder.rename(old)
    shutil.rmtree(old, ignore_errors=True)


def analyze_file(
    path: str | os.PathLike[str],
    options: BatchOptions,
    *,
    recording_id: str | None = None,
    previous_failure: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Analyse one recording into ``options.out/<recording_id>/``; never raises for a bad file.

    Pure in the sense that matters for a cluster: the result depends only on the arguments and the
    file's content, no state is shared, and running it twice gives the same folder. When the
    analysis fails, an older folder of this recording (other settings or an older file) is removed,
    so ``OUT`` only holds results of the latest settings. It reads the
    file itself and returns a small record, not tables. Warnings are recorded (``n_warnings``; their
    text is in ``-Info.json``), so run it on single-threaded workers: Python's warning filters are
    process-wide.

    Parameters
    ----------
    path : str or os.PathLike
        Recording file (as the worker sees it).
    options : BatchOptions
        Output folder, analysis options and settings hash.
    recording_id : str, optional
        Name of the output folder and file stem (default: the file name without extensions).
    previous_failure : mapping, optional
        The manifest record of an earlier failure of this recording; when the file and settings are
        unchanged and the failure came from the data, it is reported again without re-analysing.

    Returns
    -------
    dict
        ``recording_id``, ``path``, ``status`` (``done``, ``skipped`` = up to date, ``failed``),
        ``analysed`` (bool: the analysis ran now), ``subject_id``, ``input_sha256``,
        ``input_bytes``, ``settings_sha256``, ``error_type``, ``error``, ``cacheable`` (the failure
        came from the data), ``traceback`` (unexpected errors), ``n_warnings``, ``seconds``,
        ``hash_seconds``, ``worker`` (host:pid), ``finished`` (ISO-8601 UTC).
    """
    t0 = time.perf_counter()
    path = os.fspath(path)
    rid = recording_id or _stem(Path(path))
    folder = Path(options.out) / rid
    rec: dict[str, Any] = {
        "recording_id": rid, "path": path, "status": "failed", "analysed": False, "subject_id": None,
        "input_sha256": None, "input_bytes": None, "settings_sha256": options.settings_sha256,
        "error_type": None, "error": None, "cacheable": False, "traceback": None, "n_warnings": 0,
        "seconds": None, "hash_seconds": None, "worker": f"{socket.gethostname()}:{os.getpid()}", "finished": None,
    }
    try:
        if not os.path.isfile(path):
            raise ReadError("no such file" if not os.path.exists(path) else "not a file", path=path, hint="Check the path")
        digest, nbytes = _file_sha256(path)
        rec.update(input_sha256=digest, input_bytes=nbytes, hash_seconds=round(time.perf_counter() - t0, 4))
        info = _read_info(folder / f"{rid}-Info.json")
        done = (info or {}).get("batch", {})
        prev = previous_failure or {}
        if not options.force and done.get("input_sha256") == digest and done.get("settings_sha256") == options.settings_sha256:
            rec.update(status="skipped", subject_id=done.get("subject_id"),
                       n_warnings=len((info or {}).get("qc", {}).get("warnings", []) or []))
        elif (not options.force and prev.get("status") == "failed" and prev.get("cacheable")
              and prev.get("input_sha256") == digest and prev.get("settings_sha256") == options.settings_sha256):
            rec.update(error_type=prev.get("error_type"), error=prev.get("error"), cacheable=True)
        else:
            rec["analysed"] = True
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                res = _run_analysis(path, options.analysis)
            subject = res.meta.subject_id
            batch = {"recording_id": rid, "subject_id": subject, "input_path": path, "input_sha256": digest,
                     "input_bytes": nbytes, "settings_sha256": options.settings_sha256,
                     "options": json.loads(json.dumps(options.analysis, default=str))}
            _write_folder(res, folder, rid, batch)
            rec.update(status="done", subject_id=subject,
                       n_warnings=max(len(res.qc.get("warnings", [])), len({str(w.message) for w in caught})))
    except ImpactlabError as err:
        rec.update(status="failed", error_type=type(err).__name__, error=str(err), cacheable=rec["input_sha256"] is not None)
    except Exception as err:  # one bad file never stops the batch: anything else is reported too
        rec.update(status="failed", error_type=type(err).__name__, error=str(err) or repr(err),
                   traceback=traceback.format_exc())
    if rec["status"] == "failed" and rec["analysed"] and folder.is_dir():
        _remove_folder(folder)  # results of older settings or an older file must not be collated as current
    rec["seconds"] = round(time.perf_counter() - t0, 4)
    rec["finished"] = pd.Timestamp.now(tz="UTC").isoformat()
    return rec


# --------------------------------------------------------------------------- scheduling


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
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, silence_logs=logging.CRITICAL, **kw)
        try:
            with Client(cluster) as client:
                yield client
        finally:
            cluster.close()
    else:
        try:
            client = Client(scheduler, timeout="20s")
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


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}")
    tmp.write_text(text)
    os.replace(tmp, path)


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
        old = _read_info(self.path) or {}
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
        _atomic_write_text(self.path, json.dumps(body, indent=2, default=str) + "\n")
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
        for fut in as_completed(list(futures)):
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


# --------------------------------------------------------------------------- collation


def _folders(out: Path) -> list[tuple[str, Path, str, dict[str, Any]]]:
    """(recording_id, folder, stem, info) of every recording folder in ``out``, sorted by id."""
    found = []
    for d in sorted(out.iterdir()) if out.is_dir() else []:
        if not d.is_dir() or d.name.startswith(".") or d.name == COLLATED:
            continue
        infos = sorted(d.glob("*-Info.json"))
        if len(infos) != 1:
            continue
        info = _read_info(infos[0])
        if info is None:
            continue
        stem = infos[0].name[: -len("-Info.json")]
        rid = str(info.get("batch", {}).get("recording_id") or d.name)
        found.append((rid, d, stem, info))
    return sorted(found, key=lambda x: x[0])


def _subject(info: Mapping[str, Any]) -> str | None:
    s = info.get("batch", {}).get("subject_id") or info.get("recording", {}).get("subject_id")
    return None if s is None else str(s)


def _typed(df: pd.DataFrame, schema: Mapping[str, object]) -> pd.DataFrame:
    """Give a per-recording CSV table its schema dtypes; zoned times become UTC."""
    out = df.copy()
    for c, d in schema.items():
        if c not in out.columns:
            continue
        s = out[c]
        if d == _TZ:
            out[c] = pd.to_datetime(s, utc=True, format="ISO8601").astype(pd.DatetimeTZDtype("ns", "UTC"))
        elif str(d).startswith("datetime64"):
            out[c] = pd.to_datetime(s, format="ISO8601").astype("datetime64[ns]")
        elif d == "bool" and s.dtype != bool:
            out[c] = s.astype("boolean").fillna(False).astype(bool)
        else:
            out[c] = s.astype(d)  # type: ignore[call-overload]
    return out


def _with_ids(df: pd.DataFrame, rid: str, subject: str | None) -> pd.DataFrame:
    df = df.copy()
    df.insert(0, "subject_id", pd.Series([subject] * len(df), dtype="string", index=df.index))
    df.insert(0, "recording_id", pd.Series([rid] * len(df), dtype="string", index=df.index))
    return df


def _concat(parts: list[pd.DataFrame], schema: Mapping[str, object], typed: bool) -> pd.DataFrame:
    if typed:
        base = _with_ids(empty(schema, tz="UTC"), "", None)
    else:
        base = pd.DataFrame({c: pd.Series([], dtype="string") for c in ["recording_id", "subject_id", *schema]})
    parts = [p for p in parts if len(p)]
    if not parts:
        return base
    res = pd.concat(parts, ignore_index=True)
    if typed:  # keep schema dtypes that an all-empty column would lose, and object columns as strings
        for c in res.columns:
            if res[c].dtype == object:
                res[c] = res[c].astype("string")
    return res


def _summary_row(rid: str, subject: str | None, info: Mapping[str, Any], daily: pd.DataFrame | None,
                 plan: pd.DataFrame | None) -> dict[str, Any]:
    rec = info.get("recording", {})
    qc = info.get("qc", {})
    row: dict[str, Any] = {
        "recording_id": rid, "subject_id": subject, "source": rec.get("source"), "device": rec.get("device"),
        "timezone": rec.get("timezone"), "sample_rate_hz": rec.get("sample_rate_hz"), "start": qc.get("start"),
        "end": qc.get("end"), "n_samples": qc.get("n_samples"), "wear_h": qc.get("wear_h"),
        "gaps": qc.get("gaps"), "clipped_samples": qc.get("clipped_samples"),
        "n_warnings": len(qc.get("warnings") or []), "preset": info.get("settings", {}).get("name"),
        "impactlab_version": info.get("impactlab_version"), "input_sha256": info.get("batch", {}).get("input_sha256"),
        "settings_sha256": info.get("batch", {}).get("settings_sha256"),
    }
    if daily is not None:
        valid = daily[daily["valid"].astype(bool)]
        row["days"] = len(daily)
        row["valid_days"] = len(valid)
        for col in ("n_low", "n_medium", "n_high"):
            row[col] = int(daily[col].sum()) if col in daily else None
        for col, name in _PER_WEEK.items():
            row[name] = float(valid[col].astype(float).mean() * 7) if len(valid) and col in valid else None
    if plan is not None and "status" in plan:
        st = plan["status"].astype(str)
        row.update(plan_met=int((st == "met").sum()), plan_not_met=int((st == "not met").sum()),
                   plan_no_data=int((st == "no data").sum()))
    return row


def _summary_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    cols = {}
    for name, dtype, _unit, _desc in SUMMARY_COLUMNS:
        values = [r.get(name) for r in rows]
        if dtype in ("Int64", "Float64"):
            values = [pd.NA if v is None or (isinstance(v, float) and not np.isfinite(v)) else v for v in values]
        elif dtype == "float64":
            values = [np.nan if v is None else float(v) for v in values]
        cols[name] = pd.Series(values, dtype=dtype)
    return pd.DataFrame(cols)


def _dictionary_frame() -> pd.DataFrame:
    return pd.DataFrame(list(SUMMARY_COLUMNS), columns=["column", "dtype", "unit", "description"])


def collate(out: str | os.PathLike[str], *, table_format: TableFormat = "parquet") -> dict[str, Path]:
    """Rebuild ``OUT/collated/`` from the recording folders in ``out``.

    Every sub-folder holding one ``<stem>-Info.json`` counts as a recording (folders written by
    ``impactlab analyze -o OUT/<name>`` too). The tables are the per-recording ``Daily``,
    ``Sessions`` and ``PlanCheck`` tables with leading ``recording_id`` and ``subject_id`` columns,
    sorted by recording id, plus ``Summary`` (one row per recording; columns in
    :data:`SUMMARY_COLUMNS`, written beside it as ``Summary-Dictionary.csv``). The folder is
    replaced as a whole, so a reader never sees half of it.

    Parameters
    ----------
    out : str or os.PathLike
        A batch output folder.
    table_format : {"parquet", "csv"}
        Format of the tables (the dictionary is always CSV).

    Returns
    -------
    dict
        ``Daily``, ``Sessions``, ``PlanCheck``, ``Summary``, ``Summary-Dictionary`` -> path.

    Raises
    ------
    ReadError
        ``out`` is not a folder.
    """
    if table_format not in ("csv", "parquet"):
        raise ConfigError(f"unknown table format {table_format!r}", key="format", hint="Use csv or parquet")
    out_p = Path(out)
    if not out_p.is_dir():
        raise ReadError("not a folder", path=out_p, hint="Give the -o folder of `impactlab batch`")
    typed = table_format == "parquet"
    parts: dict[str, list[pd.DataFrame]] = {name: [] for name in TABLES}
    rows = []
    for rid, folder, stem, info in _folders(out_p):
        subject = _subject(info)
        frames: dict[str, pd.DataFrame] = {}
        for name, schema in TABLES.items():
            p = folder / f"{stem}-{name}.csv"
            if not p.is_file():
                continue
            try:
                text = pd.read_csv(p, dtype=str, keep_default_na=False)
                frames[name] = _typed(pd.read_csv(p), schema)
            except (ValueError, TypeError, OSError) as err:
                raise ReadError(f"cannot collate this table ({err})", path=p,
                                hint="Delete the recording's folder and run the batch again") from err
            parts[name].append(_with_ids(frames[name] if typed else text, rid, subject))
        rows.append(_summary_row(rid, subject, info, frames.get("Daily"), frames.get("PlanCheck")))
    tables = {name: _concat(parts[name], schema, typed) for name, schema in TABLES.items()}
    tables["Summary"] = _summary_frame(rows)
    tmp = out_p / f".tmp-{COLLATED}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    paths: dict[str, Path] = {}
    final = out_p / COLLATED
    try:
        for name, df in tables.items():
            p = tmp / f"{name}.{table_format}"
            if typed:
                df.to_parquet(p, index=False)
            else:
                df.to_csv(p, index=False)
            paths[name] = final / p.name
        _dictionary_frame().to_csv(tmp / "Summary-Dictionary.csv", index=False)
        paths["Summary-Dictionary"] = final / "Summary-Dictionary.csv"
        _swap_in(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return paths
