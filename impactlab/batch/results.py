"""What a batch reports: progress events, the result, ``manifest.json`` and ``errors.csv``."""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .._private import open_private
from .._version import __version__
from ._files import COLLATED, ERRORS, MANIFEST, atomic_write_text, read_info
from .options import BatchOptions

__all__ = ["BatchProgress", "BatchResult"]


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
    message : str or None
        A line for the user while nothing finishes (``waiting for workers (10 s)...``).
    """

    total: int
    finished: int
    failed: int
    skipped: int
    record: dict[str, Any] | None = None
    dashboard_link: str | None = None
    message: str | None = None


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
    not_recordings : list of (pathlib.Path, str)
        Files found that are no recording, with the reason (never analysed, never failed).
    notes : list of str
        Things the user should hear about (subjects rows that match nothing, ...).
    interrupted : str or None
        Why the batch stopped before every recording finished (the scheduler was lost); None when
        it ran to the end. ``manifest.json`` then says ``interrupted: true``; a re-run completes it.
    """

    out: Path
    records: list[dict[str, Any]]
    collated: dict[str, Path] = field(default_factory=dict)
    not_recordings: list[tuple[Path, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    interrupted: str | None = None

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
    """Remove temporary folders an interrupted run left, restoring a folder caught mid-swap.

    Looks in ``out`` and in the parent folders of nested recording ids (``OUT/sub01/`` for
    ``sub01/day1``), never inside a recording folder.
    """
    todo = [out]
    while todo:
        d = todo.pop()
        for old in d.glob(".old-*"):
            target = d / old.name[len(".old-"):].rsplit("-", 1)[0]
            if old.is_dir() and not target.exists():
                old.rename(target)
            else:
                shutil.rmtree(old, ignore_errors=True)
        for tmp in [*d.glob(".tmp-*"), *d.glob(".gone-*")]:
            shutil.rmtree(tmp, ignore_errors=True)
        todo.extend(x for x in d.iterdir() if x.is_dir() and not x.name.startswith(".") and x.name != COLLATED
                    and not any(x.glob("*-Info.json")))
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
        self.not_recordings: list[dict[str, str]] = []

    def add(self, rec: dict[str, Any]) -> None:
        self.records[rec["recording_id"]] = rec
        if time.monotonic() - self.last_write > 1.0:
            self.write()

    def write(self, *, interrupted: bool = False, reason: str | None = None) -> None:
        body = {**self.head, "updated": pd.Timestamp.now(tz="UTC").isoformat(), "interrupted": interrupted,
                "interrupted_reason": reason, "not_recordings": self.not_recordings,
                "recordings": [self.records[k] for k in sorted(self.records)]}
        atomic_write_text(self.path, json.dumps(body, indent=2, default=str) + "\n")
        self.last_write = time.monotonic()


def _write_errors(out: Path, records: Iterable[Mapping[str, Any]]) -> None:
    tmp = out / f".{ERRORS}.{uuid.uuid4().hex[:8]}"
    with open_private(tmp) as fh:
        _errors_frame(records).to_csv(fh, index=False)
    os.replace(tmp, out / ERRORS)
