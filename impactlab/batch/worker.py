"""One recording, analysed on a worker: :func:`analyze_file` (module level, so it pickles).

Workers read the files themselves, so no recording travels through the scheduler, and memory per
worker stays that of one streamed :func:`impactlab.pipeline.analyze`. Each file goes through the same
``analyze`` call, with the same :class:`~impactlab.config.AnalysisConfig`, as ``impactlab analyze``,
so per-recording results are identical by construction.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import socket
import threading
import time
import traceback
import uuid
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from .._private import write_private_text
from ..errors import ImpactlabError, ImpactlabWarning, ReadError
from ._files import read_info, swap_in
from .inputs import _stem
from .options import BatchOptions, _file_sha256
from .subjects import Subject

if TYPE_CHECKING:
    from ..pipeline import Analysis

__all__ = ["analyze_file"]

#: Python's warning filters are process-wide, so recordings run one at a time in a worker process
#: even when the worker has several threads (their warnings would otherwise mix).
_ONE_AT_A_TIME = threading.Lock()


def _run_analysis(path: str, options: BatchOptions, subject: Subject) -> tuple[Analysis, list[str]]:
    """Analyse one file with the batch's options, exactly as ``impactlab analyze`` would, with the
    subject's zone, body mass and placement where the subjects file gives them; also return the
    reader's notes (warned once by the reader and again by the analysis)."""
    from ..calibrate import calibrate_source
    from ..io import open_recording
    from ..markers import read_markers
    from ..pipeline import analyze
    from ..plan import load_plan

    plan, markers = options.option("plan"), options.option("markers")
    src = open_recording(path, tz=subject.tz or options.option("tz"), vertical_axis=options.option("vertical_axis"),
                         units=options.option("units"))
    if options.option("calibrate"):
        src = calibrate_source(src)
    mass = subject.body_mass_kg if subject.body_mass_kg is not None else options.option("body_mass")
    res = analyze(src, config=options.config_for(placement=subject.placement), plan=load_plan(plan) if plan else None,
                  markers=read_markers(markers) if markers else None, body_mass_kg=mass)
    return res, list(src.notes)


def leaf(recording_id: str) -> str:
    """The file stem of a recording's tables: the last part of its id (``sub01/day1`` -> ``day1``)."""
    return recording_id.rsplit("/", 1)[-1]


def _write_folder(res: Analysis, folder: Path, rid: str, batch: dict[str, Any]) -> None:
    """Write the recording's files into a temporary folder, then rename it into place."""
    stem = leaf(rid)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.parent / f".tmp-{stem}-{uuid.uuid4().hex[:12]}"
    try:
        res.write(tmp, stem)
        info_path = tmp / f"{stem}-Info.json"
        info = json.loads(info_path.read_text())
        info["batch"] = batch
        write_private_text(info_path, json.dumps(info, indent=2) + "\n")
        swap_in(tmp, folder)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _counted(caught: list[warnings.WarningMessage], notes: Iterable[str] = ()) -> list[dict[str, Any]]:
    """impactlab's warnings raised while analysing, each once with how many times, in order of first occurrence.

    A reader's note about the whole file (``notes``: no zone in the file, calibration, units) is
    warned when the file is opened and again when the analysis starts; it counts once.
    """
    counts: dict[str, int] = {}
    for w in caught:
        if issubclass(w.category, ImpactlabWarning):
            counts[str(w.message)] = counts.get(str(w.message), 0) + 1
    once = set(notes)
    return [{"warning": k, "count": 1 if k in once else n} for k, n in counts.items()]


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
    subject: Subject | None = None,
) -> dict[str, Any]:
    """Analyse one recording into ``options.out/<recording_id>/``; never raises for a bad file.

    Pure in the sense that matters for a cluster: the result depends only on the arguments and the
    file's content, no state is shared, and running it twice gives the same folder. When the
    analysis fails, an older folder of this recording (other settings or an older file) is removed,
    so ``OUT`` only holds results of the latest settings. It reads the
    file itself and returns a small record, not tables. Warnings are recorded (``n_warnings``; their
    text is in ``-Info.json``); Python's warning filters are process-wide, so calls in one process
    run one at a time.

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
    subject : Subject, optional
        The wearer from a subjects file or pattern: its id replaces the file's, its zone, body mass
        and placement are analysed with (and hashed into the recording's settings hash).

    Returns
    -------
    dict
        ``recording_id``, ``path``, ``status`` (``done``, ``skipped`` = up to date, ``failed``),
        ``analysed`` (bool: the analysis ran now), ``subject_id``, ``input_sha256``,
        ``input_bytes``, ``settings_sha256``, ``error_type``, ``error``, ``cacheable`` (the failure
        came from the data), ``traceback`` (unexpected errors), ``n_warnings``, ``seconds``,
        ``hash_seconds``, ``worker`` (host:pid), ``finished`` (ISO-8601 UTC).
    """
    with _ONE_AT_A_TIME:
        return _analyze_file(os.fspath(path), options, recording_id, previous_failure, subject)


def _analyze_file(path: str, options: BatchOptions, recording_id: str | None,
                  previous_failure: Mapping[str, Any] | None, subject: Subject | None) -> dict[str, Any]:
    t0 = time.perf_counter()
    rid = recording_id or _stem(Path(path))
    folder = Path(options.out) / rid
    who = subject or Subject()
    settings = who.settings_key(options.settings_sha256)
    rec: dict[str, Any] = {
        "recording_id": rid, "path": path, "status": "failed", "analysed": False, "subject_id": who.subject_id,
        "input_sha256": None, "input_bytes": None, "settings_sha256": settings,
        "error_type": None, "error": None, "cacheable": False, "traceback": None, "n_warnings": 0,
        "seconds": None, "hash_seconds": None, "worker": f"{socket.gethostname()}:{os.getpid()}", "finished": None,
    }
    try:
        if not os.path.isfile(path):
            raise ReadError("no such file" if not os.path.exists(path) else "not a file", path=path, hint="Check the path")
        digest, nbytes = _file_sha256(path)
        rec.update(input_sha256=digest, input_bytes=nbytes, hash_seconds=round(time.perf_counter() - t0, 4))
        info = read_info(folder / f"{leaf(rid)}-Info.json")
        done = (info or {}).get("batch", {})
        prev = previous_failure or {}
        if not options.force and done.get("input_sha256") == digest and done.get("settings_sha256") == settings:
            rec.update(status="skipped", subject_id=done.get("subject_id"),
                       n_warnings=len((info or {}).get("qc", {}).get("warnings", []) or []))
        elif (not options.force and prev.get("status") == "failed" and prev.get("cacheable")
              and prev.get("input_sha256") == digest and prev.get("settings_sha256") == settings):
            rec.update(error_type=prev.get("error_type"), error=prev.get("error"), cacheable=True)
        else:
            rec["analysed"] = True
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                res, notes = _run_analysis(path, options, who)
            sid = who.subject_id if who.subject_id is not None else res.meta.subject_id
            batch = {"recording_id": rid, "subject_id": sid, "input_path": path, "input_sha256": digest,
                     "input_bytes": nbytes, "settings_sha256": settings,
                     "options": json.loads(json.dumps(options.analysis, default=str))}
            batch["warnings"] = _counted(caught, notes)
            if subject is not None and subject != Subject():
                batch["subject"] = {k: v for k, v in dataclasses.asdict(subject).items() if v is not None}
            _write_folder(res, folder, rid, batch)
            rec.update(status="done", subject_id=sid,
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

