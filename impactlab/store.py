"""The client store: one SQLite file per practice, raw samples as Parquet beside it (DESIGN §8).

What is stored
--------------
The store keeps, per client, the *facts* an analysis found, each under a natural key, and derives
the days and plan checks from them:

* ``impacts``: UNIQUE (client, time); an impact within the preset's minimum peak spacing of one
  already stored is the same impact seen again (overlapping files) and is not added.
* ``wear_blocks``: UNIQUE (client, 15 min block start); a block seen twice keeps its larger wear
  time (a block cut by the end of one file is completed by the next).
* ``sessions``: UNIQUE (client, kind, start); a session overlapping a stored one of the same kind
  replaces it only when longer.
* ``daily_loads`` and ``plan_checks`` are rebuilt for every ISO week an import touches, by running
  :func:`impactlab.daily.daily_load` (and ``check_plan`` when the client has a plan) over the union
  of the stored facts. Re-importing a file, or importing overlapping data, therefore never counts an
  impact or a minute twice. When :mod:`impactlab.loading` is installed the rebuilt days also get
  the bone-loading indices ``dss``, ``oi``, ``peak_grf_bw_max`` and ``load_basis``, computed from the
  stored impacts and sessions as ``analyze`` does (``add_loading`` then ``loading_indices``), with the
  client's stored body mass (GRF in body weights) or, without one, the acceleration proxy. Each
  impact keeps the (kind, start) of the session analyze put it in, for the GRF model and the OI.

Atomicity: one import is one SQLite transaction (``BEGIN IMMEDIATE`` ... ``COMMIT``). The recording
row, its facts and the rebuilt days become visible together or not at all; a crash or ``kill -9``
in the middle leaves the store as it was and the next run completes the import. The raw samples are
written to a temporary Parquet file while the recording is read, renamed to ``raw/<sha256>.parquet``
(the hash of the samples) before the commit; a file without a recording row is harmless and reused.

Layout::

    store.sqlite            WAL mode, foreign keys on, schema_version table
    raw/<sha256>.parquet    samples of each recording (UTC time, x, y, z float32 in g)

Bluetooth LE sync journal (used by :mod:`impactlab.ble`): packets are kept by (device, sequence
number) until they are decoded into a recording; see :meth:`Store.sync_commit_packets`.

Examples
--------
>>> from impactlab.simulate import simulate_recording
>>> with Store(tmp / "store.sqlite") as st:  # doctest: +SKIP
...     st.add_client("c01", name="Ann")
...     res = st.import_recording("c01", simulate_recording(duration_s=600, jumps=[(30, 2.0)]))
...     res.n_impacts_added
1
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ._version import __version__
from .config import DetectionConfig
from .daily import daily_load
from .errors import ImpactlabError, StoreError
from .io._common import RecordingSource
from .recording import Recording
from .schema import DAILY, PLAN_CHECK, SESSIONS, coerce, empty

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "ClientInfo", "ImportResult", "Store", "default_store_path", "file_sha256",
           "load_plan_file"]

#: Schema migrations, in order; ``MIGRATIONS[k]`` brings a store from version k to k + 1.
MIGRATIONS: list[tuple[str, ...]] = [
    # version 1: clients, devices, recordings, syncs, facts and derived days
    (
        """CREATE TABLE clients (
            client_id TEXT PRIMARY KEY,
            name TEXT,
            body_mass_kg REAL CHECK (body_mass_kg IS NULL OR body_mass_kg > 0),
            plan_path TEXT,
            plan_toml TEXT,
            timezone TEXT,
            created_at TEXT NOT NULL)""",
        """CREATE TABLE devices (
            device_id TEXT PRIMARY KEY,
            client_id TEXT NOT NULL REFERENCES clients(client_id) ON DELETE CASCADE,
            kind TEXT,
            serial TEXT,
            first_seen TEXT NOT NULL)""",
        """CREATE TABLE recordings (
            recording_id INTEGER PRIMARY KEY,
            client_id TEXT NOT NULL REFERENCES clients(client_id) ON DELETE CASCADE,
            device_id TEXT REFERENCES devices(device_id),
            content_hash TEXT NOT NULL,
            file_sha256 TEXT,
            origin TEXT NOT NULL,
            source TEXT NOT NULL,
            device TEXT,
            sample_rate_hz REAL,
            timezone TEXT NOT NULL,
            vertical_axis TEXT,
            start_ns INTEGER NOT NULL,
            end_ns INTEGER NOT NULL,
            n_samples INTEGER NOT NULL,
            raw_path TEXT NOT NULL,
            preset TEXT NOT NULL,
            settings_json TEXT NOT NULL,
            qc_json TEXT NOT NULL,
            impactlab_version TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status = 'complete'),
            imported_at TEXT NOT NULL,
            UNIQUE (client_id, content_hash))""",
        "CREATE INDEX recordings_file ON recordings(client_id, file_sha256)",
        """CREATE TABLE syncs (
            sync_id INTEGER PRIMARY KEY,
            client_id TEXT NOT NULL REFERENCES clients(client_id) ON DELETE CASCADE,
            device_id TEXT NOT NULL REFERENCES devices(device_id),
            recording_id INTEGER REFERENCES recordings(recording_id),
            content_hash TEXT,
            last_seq INTEGER NOT NULL DEFAULT -1,
            n_packets INTEGER NOT NULL DEFAULT 0,
            committed_at TEXT NOT NULL)""",
        """CREATE TABLE impacts (
            client_id TEXT NOT NULL REFERENCES clients(client_id) ON DELETE CASCADE,
            time_ns INTEGER NOT NULL,
            peak_g REAL NOT NULL,
            band TEXT NOT NULL,
            clipped INTEGER NOT NULL,
            recording_id INTEGER NOT NULL REFERENCES recordings(recording_id),
            PRIMARY KEY (client_id, time_ns)) WITHOUT ROWID""",
        """CREATE TABLE wear_blocks (
            client_id TEXT NOT NULL REFERENCES clients(client_id) ON DELETE CASCADE,
            block_start_ns INTEGER NOT NULL,
            n INTEGER NOT NULL,
            wear_s REAL NOT NULL,
            nonwear INTEGER NOT NULL,
            recording_id INTEGER NOT NULL REFERENCES recordings(recording_id),
            PRIMARY KEY (client_id, block_start_ns)) WITHOUT ROWID""",
        """CREATE TABLE sessions (
            client_id TEXT NOT NULL REFERENCES clients(client_id) ON DELETE CASCADE,
            kind TEXT NOT NULL,
            start_ns INTEGER NOT NULL,
            end_ns INTEGER NOT NULL,
            duration_s REAL NOT NULL,
            n_impacts INTEGER NOT NULL,
            n_low INTEGER NOT NULL,
            n_medium INTEGER NOT NULL,
            n_high INTEGER NOT NULL,
            fields_json TEXT NOT NULL,
            recording_id INTEGER NOT NULL REFERENCES recordings(recording_id),
            PRIMARY KEY (client_id, kind, start_ns))""",
        """CREATE TABLE daily_loads (
            client_id TEXT NOT NULL REFERENCES clients(client_id) ON DELETE CASCADE,
            date TEXT NOT NULL,
            wear_h REAL NOT NULL,
            valid INTEGER NOT NULL,
            n_low INTEGER NOT NULL,
            n_medium INTEGER NOT NULL,
            n_high INTEGER NOT NULL,
            n_jumps INTEGER NOT NULL,
            jump_sets INTEGER NOT NULL,
            brisk_walk_min REAL NOT NULL,
            walk_min REAL NOT NULL,
            vest_walk_min REAL NOT NULL,
            vibration_min REAL NOT NULL,
            PRIMARY KEY (client_id, date))""",
        """CREATE TABLE plan_checks (
            client_id TEXT NOT NULL REFERENCES clients(client_id) ON DELETE CASCADE,
            date TEXT NOT NULL,
            target TEXT NOT NULL,
            period TEXT NOT NULL,
            required REAL,
            achieved REAL,
            unit TEXT,
            met INTEGER,
            status TEXT NOT NULL,
            partial INTEGER NOT NULL,
            PRIMARY KEY (client_id, date, target))""",
    ),
    # version 2: a free-text note per client, the BLE packet journal, the plan check's explanation
    (
        "ALTER TABLE clients ADD COLUMN note TEXT",
        """CREATE TABLE sync_packets (
            device_id TEXT NOT NULL REFERENCES devices(device_id),
            seq INTEGER NOT NULL CHECK (seq >= 0),
            client_id TEXT NOT NULL REFERENCES clients(client_id) ON DELETE CASCADE,
            payload BLOB NOT NULL,
            received_at TEXT NOT NULL,
            PRIMARY KEY (device_id, seq)) WITHOUT ROWID""",
        "CREATE INDEX syncs_device ON syncs(client_id, device_id)",
        "ALTER TABLE plan_checks ADD COLUMN detail TEXT",
    ),
    # version 3: bone-loading indices per day (impactlab.loading) and, per impact, the natural key of the
    # session analyze put it in (the GRF model and the osteogenic index depend on it)
    (
        "ALTER TABLE daily_loads ADD COLUMN dss REAL",
        "ALTER TABLE daily_loads ADD COLUMN oi REAL",
        "ALTER TABLE daily_loads ADD COLUMN peak_grf_bw_max REAL",
        "ALTER TABLE daily_loads ADD COLUMN load_basis TEXT",
        "ALTER TABLE impacts ADD COLUMN session_kind TEXT",
        "ALTER TABLE impacts ADD COLUMN session_start_ns INTEGER",
    ),
]
#: The schema version this code writes.
SCHEMA_VERSION = len(MIGRATIONS)

_DAILY_COLS = list(DAILY)
#: Loading-index columns of ``daily_loads`` (schema 3; NULL for days built before, or without impactlab.loading).
_LOADING_COLS = ["dss", "oi", "peak_grf_bw_max", "load_basis"]
_PLAN_COLS = [*(c for c in PLAN_CHECK if c != "date"), "detail"]


def default_store_path() -> Path:
    """The store used when ``--store`` is not given.

    ``$IMPACTLAB_STORE`` when set, else ``impactlab/store.sqlite`` in the user's data directory
    (``$XDG_DATA_HOME``, default ``~/.local/share``; ``%APPDATA%`` on Windows).
    """
    env = os.environ.get("IMPACTLAB_STORE")
    if env:
        return Path(env).expanduser()
    if os.name == "nt":  # pragma: no cover - not tested on this platform
        base = Path(os.environ.get("APPDATA", Path.home() / "AppData" / "Roaming"))
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "impactlab" / "store.sqlite"


@dataclass(frozen=True)
class ImportResult:
    """What :meth:`Store.import_recording` did.

    Attributes
    ----------
    client_id : str
        The client.
    recording_id : int
        Row id of the recording (the existing one when ``already_imported``).
    content_hash : str
        SHA-256 of the samples (UTC ns times and float32 x, y, z), names the raw Parquet file.
    already_imported : bool
        The same samples (or the same file) were imported before; nothing changed.
    n_impacts_added, n_sessions_added, n_blocks_added : int
        Facts that were new to the store.
    dates : list of str
        Local days (``YYYY-MM-DD``) the recording covers.
    raw_path : pathlib.Path
        The Parquet file with the samples.
    analysis : Analysis or None
        The analysis of this recording (None when skipped by its file hash).
    """

    client_id: str
    recording_id: int
    content_hash: str
    already_imported: bool
    n_impacts_added: int
    n_sessions_added: int
    n_blocks_added: int
    dates: list[str]
    raw_path: Path
    analysis: Any = None


@dataclass(frozen=True)
class ClientInfo:
    """One client as stored (see :meth:`Store.client`)."""

    client_id: str
    name: str | None
    body_mass_kg: float | None
    plan_path: str | None
    plan_toml: str | None
    timezone: str | None
    note: str | None
    created_at: str
    n_recordings: int = 0
    first_date: str | None = None
    last_date: str | None = None


def _now() -> str:
    return pd.Timestamp.now(tz="UTC").isoformat(timespec="seconds")


class Store:
    """A client store: SQLite file plus ``raw/`` Parquet files beside it.

    Opening creates the file (owner-only permissions) or migrates an older schema to
    :data:`SCHEMA_VERSION`. Use it as a context manager, or call :meth:`close`.

    Parameters
    ----------
    path : str or os.PathLike, optional
        The SQLite file (default :func:`default_store_path`).

    Raises
    ------
    StoreError
        The file is not an impactlab store, is newer than this impactlab, or cannot be written.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path is not None else default_store_path()
        self.raw_dir = self.path.parent / "raw"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            if not self.path.exists():
                fd = os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600)
                os.close(fd)
            self.raw_dir.mkdir(exist_ok=True, mode=0o700)
            self.db = sqlite3.connect(self.path, isolation_level=None, timeout=30.0)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA foreign_keys=ON")
            self.db.execute("PRAGMA synchronous=FULL")
        except (OSError, sqlite3.Error) as err:
            raise StoreError(f"cannot open the store ({err})", path=self.path,
                             hint="Check the path and its permissions, or pass --store PATH") from None
        self._migrate()
        self._clean_temp_files()

    # -- lifecycle -------------------------------------------------------------------------------
    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the database connection."""
        self.db.close()

    @property
    def schema_version(self) -> int:
        """The schema version of the open file."""
        return int(self.db.execute("SELECT max(version) FROM schema_version").fetchone()[0] or 0)

    def _migrate(self) -> None:
        try:
            self.db.execute("BEGIN IMMEDIATE")
            has = self.db.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name='schema_version'").fetchone()
            if not has:
                others = self.db.execute("SELECT count(*) FROM sqlite_master WHERE type='table'").fetchone()[0]
                if others:
                    raise StoreError("this SQLite file is not an impactlab store (no schema_version table)",
                                     path=self.path, hint="Pass --store with a new or impactlab-made file")
                self.db.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")
            current = int(self.db.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()[0])
            if current > SCHEMA_VERSION:
                raise StoreError(
                    f"the store has schema version {current}, newer than this impactlab ({__version__}, "
                    f"schema {SCHEMA_VERSION})", path=self.path, hint="Upgrade impactlab to open it")
            for version in range(current, SCHEMA_VERSION):
                for stmt in MIGRATIONS[version]:
                    self.db.execute(stmt)
                self.db.execute("INSERT INTO schema_version VALUES (?, ?)", (version + 1, _now()))
            self.db.execute("COMMIT")
        except sqlite3.DatabaseError as err:
            self._rollback()
            raise StoreError(f"cannot open or migrate the store ({err})", path=self.path,
                             hint="Is it an impactlab store? Restore it from a backup or use a new --store") from None
        except BaseException:
            self._rollback()
            raise

    def _rollback(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as err:
            raise StoreError(f"the store is busy ({err})", path=self.path,
                             hint="Another impactlab process is writing; try again when it has finished") from None
        try:
            yield self.db
            self.db.execute("COMMIT")
        except sqlite3.Error as err:
            self._rollback()
            raise StoreError(f"cannot write to the store ({err})", path=self.path,
                             hint="Nothing was changed; check free disk space and permissions, then run again") from None
        except BaseException:
            self._rollback()
            raise

    def _clean_temp_files(self) -> None:
        """Remove temporary Parquet files left by processes that no longer run."""
        for tmp in self.raw_dir.glob(".tmp-*.parquet"):
            try:
                pid = int(tmp.name.split("-")[1])
            except (IndexError, ValueError):
                continue
            if pid == os.getpid() or not _pid_alive(pid):
                with contextlib.suppress(OSError):
                    tmp.unlink()

    # -- clients and devices ---------------------------------------------------------------------
    def add_client(
        self,
        client_id: str,
        *,
        name: str | None = None,
        body_mass_kg: float | None = None,
        plan_path: str | os.PathLike[str] | None = None,
        note: str | None = None,
    ) -> ClientInfo:
        """Create a client, or update the fields given for an existing one.

        Parameters
        ----------
        client_id : str
            Short identifier chosen by the therapist (letters, digits, ``-``, ``_``, ``.``).
        name : str, optional
            Display name (shown as text in reports; never interpreted as HTML).
        body_mass_kg : float, optional
            Body mass in kg, for loading indices.
        plan_path : str or os.PathLike, optional
            Plan TOML (DESIGN §5); its text is kept in the store so reports show the plan in force.
        note : str, optional
            Free text for the therapist.

        Returns
        -------
        ClientInfo
            The stored client.
        """
        _check_client_id(client_id)
        if body_mass_kg is not None and not body_mass_kg > 0:
            raise StoreError(f"body mass must be positive, got {body_mass_kg}", key="body_mass_kg",
                             hint="Give the body mass in kg, e.g. --body-mass 68")
        plan_text = None
        if plan_path is not None:
            load_plan_file(plan_path)  # validate before storing
            plan_text = Path(plan_path).read_text(encoding="utf-8")
        with self._transaction() as db:
            db.execute("INSERT OR IGNORE INTO clients (client_id, created_at) VALUES (?, ?)", (client_id, _now()))
            sets = {"name": name, "body_mass_kg": body_mass_kg, "note": note}
            if plan_path is not None:
                sets.update(plan_path=os.fspath(plan_path), plan_toml=plan_text)
            for col, val in sets.items():
                if val is not None:
                    db.execute(f"UPDATE clients SET {col} = ? WHERE client_id = ?", (val, client_id))
        return self.client(client_id)

    def client(self, client_id: str) -> ClientInfo:
        """The stored client ``client_id``.

        Raises
        ------
        StoreError
            No such client (the message lists how to see the known ones).
        """
        row = self.db.execute(
            "SELECT client_id, name, body_mass_kg, plan_path, plan_toml, timezone, note, created_at "
            "FROM clients WHERE client_id = ?", (client_id,)).fetchone()
        if row is None:
            raise StoreError(f"no client {client_id!r} in the store", path=self.path,
                             hint="List them with 'impactlab clients', or import a recording with --client ID")
        n, = self.db.execute("SELECT count(*) FROM recordings WHERE client_id = ?", (client_id,)).fetchone()
        d0, d1 = self.db.execute("SELECT min(date), max(date) FROM daily_loads WHERE client_id = ?",
                                 (client_id,)).fetchone()
        return ClientInfo(*row, n_recordings=int(n), first_date=d0, last_date=d1)

    def clients(self) -> list[ClientInfo]:
        """All clients, by id."""
        ids = [r[0] for r in self.db.execute("SELECT client_id FROM clients ORDER BY client_id")]
        return [self.client(i) for i in ids]

    def client_plan(self, client_id: str) -> Any:
        """The client's plan (a ``Plan`` from :mod:`impactlab.plan`), or None without one."""
        info = self.client(client_id)
        if not info.plan_toml:
            return None
        return _plan_from_text(info.plan_toml, info.plan_path or f"{client_id}-plan.toml")

    def _ensure_device(self, db: sqlite3.Connection, client_id: str, device_id: str, kind: str | None = None,
                       serial: str | None = None) -> None:
        row = db.execute("SELECT client_id FROM devices WHERE device_id = ?", (device_id,)).fetchone()
        if row is None:
            db.execute("INSERT INTO devices VALUES (?, ?, ?, ?, ?)", (device_id, client_id, kind, serial, _now()))
        elif row[0] != client_id:
            raise StoreError(f"device {device_id!r} belongs to client {row[0]!r}, not {client_id!r}",
                             path=self.path, hint="Check the --client, or give the device to the new client first")

    # -- import ----------------------------------------------------------------------------------
    def import_recording(
        self,
        client_id: str,
        source: Recording | RecordingSource,
        *,
        plan: Any = None,
        markers: Any = None,
        config: DetectionConfig | None = None,
        device_id: str | None = None,
        origin: str = "file",
        file_sha256: str | None = None,
        **analyze_kwargs: Any,
    ) -> ImportResult:
        """Analyse a recording and store its facts for ``client_id`` in one transaction.

        Parameters
        ----------
        client_id : str
            The client (created when new).
        source : Recording or RecordingSource
            The recording (read once, in chunks).
        plan : Plan, optional
            Plan to check days against; becomes the client's plan when given. Without it the
            client's stored plan is used.
        markers : pandas.DataFrame, optional
            Labelled periods passed to :func:`impactlab.analyze`.
        config : DetectionConfig, optional
            Method preset (default ``hannam2017``).
        device_id : str, optional
            Device identifier (default: the recording's serial, else its device kind).
        origin : str
            ``"file"`` or ``"ble"``.
        file_sha256 : str, optional
            Hash of the file's bytes; a file imported before is skipped without reading it again.
        **analyze_kwargs
            Further keyword arguments for :func:`impactlab.analyze` (e.g. ``progress``,
            ``body_mass_kg``: default the client's stored body mass when the loading stage is installed).

        Returns
        -------
        ImportResult
            What was added (nothing when the samples were imported before).

        Raises
        ------
        StoreError
            The store cannot be written (nothing was changed).
        """
        from .pipeline import analyze

        _check_client_id(client_id)
        config = config or DetectionConfig()
        meta = source.meta
        device_id = device_id or meta.serial or meta.device or "unknown"
        if file_sha256:
            row = self.db.execute(
                "SELECT recording_id, content_hash, raw_path, start_ns, end_ns, timezone FROM recordings "
                "WHERE client_id = ? AND file_sha256 = ?", (client_id, file_sha256)).fetchone()
            if row is not None:
                return ImportResult(client_id, row[0], row[1], True, 0, 0, 0, _dates(row[3], row[4], row[5]),
                                    self.raw_dir / row[2])
        if analyze_kwargs.get("body_mass_kg") is None and _has_module("impactlab.loading"):
            row = self.db.execute("SELECT body_mass_kg FROM clients WHERE client_id = ?", (client_id,)).fetchone()
            if row is not None and row[0] is not None:
                analyze_kwargs["body_mass_kg"] = float(row[0])  # the client's stored mass for GRF indices
        writer = _RawWriter(self.raw_dir)
        try:
            wrapped = RecordingSource(meta=meta, chunks=lambda: writer.tap(_chunks_of(source)),
                                      n_rows_hint=getattr(source, "n_rows_hint", None),
                                      notes=list(getattr(source, "notes", [])),
                                      extra=dict(getattr(source, "extra", {})))
            res = analyze(wrapped, config=config, plan=plan, markers=markers, **analyze_kwargs)
            content_hash = writer.finish()
            config = res.config  # the effective settings (stages may override, e.g. the vector)
        except BaseException:
            writer.discard()
            raise
        raw_name = f"{content_hash}.parquet"
        existing = self.db.execute(
            "SELECT recording_id FROM recordings WHERE client_id = ? AND content_hash = ?",
            (client_id, content_hash)).fetchone()
        if existing is not None:
            writer.discard()
            start_ns, end_ns = writer.first_ns, writer.last_ns
            return ImportResult(client_id, existing[0], content_hash, True, 0, 0, 0,
                                _dates(start_ns, end_ns, meta.timezone), self.raw_dir / raw_name, res)
        writer.commit(self.raw_dir / raw_name)
        qc = dict(res.qc)
        if not res.extra.get("sessions", {}).get("vibration_detectable", True):
            qc["plan_unobservable"] = ["vibration"]  # the plate cannot be seen at this rate (see warnings)
        with self._transaction() as db:
            db.execute("INSERT OR IGNORE INTO clients (client_id, created_at) VALUES (?, ?)", (client_id, _now()))
            remembered = plan_text(plan) if plan is not None else None
            old_plan = db.execute("SELECT plan_toml FROM clients WHERE client_id = ?", (client_id,)).fetchone()[0]
            plan_changed = remembered is not None and remembered[0] != old_plan
            if remembered is not None:
                db.execute("UPDATE clients SET plan_toml = ?, plan_path = ? WHERE client_id = ?",
                           (remembered[0], remembered[1], client_id))
            tz_row = db.execute("SELECT timezone FROM clients WHERE client_id = ?", (client_id,)).fetchone()
            tz = tz_row[0] or meta.timezone  # days are cut at the recording's midnight, as analyze does
            db.execute("UPDATE clients SET timezone = ? WHERE client_id = ?", (tz, client_id))
            self._ensure_device(db, client_id, device_id, meta.device, meta.serial)
            cur = db.execute(
                "INSERT INTO recordings (client_id, device_id, content_hash, file_sha256, origin, source, device, "
                "sample_rate_hz, timezone, vertical_axis, start_ns, end_ns, n_samples, raw_path, preset, "
                "settings_json, qc_json, impactlab_version, status, imported_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'complete', ?)",
                (client_id, device_id, content_hash, file_sha256, origin, meta.source, meta.device,
                 float(meta.sample_rate_hz), meta.timezone, meta.vertical_axis, writer.first_ns, writer.last_ns,
                 writer.n_rows, raw_name, config.name, json.dumps(_jsonable(config.to_dict())),
                 json.dumps(_jsonable(qc)), __version__, _now()))
            rid = int(cur.lastrowid or 0)
            n_imp = self._add_impacts(db, client_id, rid, res.impacts, config, res.sessions)
            n_blk = self._add_blocks(db, client_id, rid, res.wear_blocks)
            n_ses = self._add_sessions(db, client_id, rid, res.sessions)
            if origin == "ble":
                last = db.execute("SELECT max(seq) FROM sync_packets WHERE device_id = ?", (device_id,)).fetchone()[0]
                db.execute("INSERT INTO syncs (client_id, device_id, recording_id, content_hash, last_seq, n_packets, "
                           "committed_at) VALUES (?, ?, ?, ?, ?, 0, ?)",
                           (client_id, device_id, rid, content_hash, -1 if last is None else int(last), _now()))
            lo_ns, hi_ns = writer.first_ns, writer.last_ns
            if plan_changed:  # a new plan: check every stored week against it
                lo_ns, hi_ns = db.execute("SELECT min(start_ns), max(end_ns) FROM recordings WHERE client_id = ?",
                                          (client_id,)).fetchone()
            self._rebuild_weeks(db, client_id, lo_ns, hi_ns, tz, config,
                                plan if plan is not None else self._stored_plan(db, client_id))
        return ImportResult(client_id, rid, content_hash, False, n_imp, n_ses, n_blk,
                            _dates(writer.first_ns, writer.last_ns, tz), self.raw_dir / raw_name, res)

    def _stored_plan(self, db: sqlite3.Connection, client_id: str) -> Any:
        row = db.execute("SELECT plan_toml, plan_path FROM clients WHERE client_id = ?", (client_id,)).fetchone()
        if not row or not row[0]:
            return None
        return _plan_from_text(row[0], row[1] or f"{client_id}-plan.toml")

    def _add_impacts(self, db: sqlite3.Connection, client_id: str, rid: int, impacts: pd.DataFrame,
                     config: DetectionConfig, sessions: pd.DataFrame | None = None) -> int:
        if not len(impacts):
            return 0
        t = impacts["time"].dt.tz_convert("UTC").astype("datetime64[ns, UTC]").array.asi8
        near_ns = int(config.min_distance_s * 1e9)
        old = np.array([r[0] for r in db.execute(
            "SELECT time_ns FROM impacts WHERE client_id = ? AND time_ns BETWEEN ? AND ? ORDER BY time_ns",
            (client_id, int(t.min()) - near_ns, int(t.max()) + near_ns))], dtype=np.int64)
        keep = np.ones(t.size, bool)
        if old.size:
            i = np.searchsorted(old, t)
            lo = np.abs(t - old[np.clip(i - 1, 0, old.size - 1)]) < near_ns
            hi = np.abs(old[np.clip(i, 0, old.size - 1)] - t) < near_ns
            keep = ~(lo | hi)
        s_kind: list[str | None] = [None] * t.size
        s_start: list[int | None] = [None] * t.size
        if sessions is not None and len(sessions) and "session_id" in impacts.columns:
            key = {int(i): (str(k), pd.Timestamp(s).value)
                   for i, k, s in zip(sessions["session_id"], sessions["kind"].astype(str), sessions["start"], strict=True)}
            for j, sid in enumerate(impacts["session_id"].to_numpy(dtype=object, na_value=None)):
                if sid is not None and int(sid) in key:
                    s_kind[j], s_start[j] = key[int(sid)]
        rows = [(client_id, int(tt), float(pk), str(b), int(bool(c)), rid, sk, ss)
                for tt, pk, b, c, k, sk, ss in zip(t, impacts["peak_g"], impacts["band"].astype(str), impacts["clipped"],
                                                   keep, s_kind, s_start, strict=True) if k]
        before = db.total_changes
        db.executemany("INSERT OR IGNORE INTO impacts (client_id, time_ns, peak_g, band, clipped, recording_id, "
                       "session_kind, session_start_ns) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
        return db.total_changes - before

    def _add_blocks(self, db: sqlite3.Connection, client_id: str, rid: int, blocks: pd.DataFrame | None) -> int:
        if blocks is None or not len(blocks):
            return 0
        (n_before,) = db.execute("SELECT count(*) FROM wear_blocks WHERE client_id = ?", (client_id,)).fetchone()
        db.executemany(
            "INSERT INTO wear_blocks VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (client_id, block_start_ns) DO UPDATE SET "
            "n = excluded.n, wear_s = excluded.wear_s, nonwear = excluded.nonwear, recording_id = excluded.recording_id "
            "WHERE excluded.wear_s > wear_blocks.wear_s OR (excluded.wear_s = wear_blocks.wear_s AND excluded.n > wear_blocks.n)",
            [(client_id, int(s), int(n), float(w), int(bool(nw)), rid)
             for s, n, w, nw in zip(blocks["start_ns"], blocks["n"], blocks["wear_s"], blocks["nonwear"], strict=True)])
        (n_after,) = db.execute("SELECT count(*) FROM wear_blocks WHERE client_id = ?", (client_id,)).fetchone()
        return int(n_after - n_before)

    def _add_sessions(self, db: sqlite3.Connection, client_id: str, rid: int, sessions: pd.DataFrame) -> int:
        added = 0
        base = {"kind", "start", "end", "duration_s", "n_impacts", "n_low", "n_medium", "n_high", "session_id"}
        for r in sessions.to_dict("records"):
            kind = str(r["kind"])
            s_ns = pd.Timestamp(r["start"]).value
            e_ns = pd.Timestamp(r["end"]).value
            dur = float(r["duration_s"])
            overl = db.execute(
                "SELECT start_ns, duration_s FROM sessions WHERE client_id = ? AND kind = ? AND start_ns < ? "
                "AND end_ns > ?", (client_id, kind, e_ns, s_ns)).fetchall()
            if overl and max(d for _, d in overl) >= dur:
                continue
            for st, _ in overl:
                db.execute("DELETE FROM sessions WHERE client_id = ? AND kind = ? AND start_ns = ?", (client_id, kind, st))
            fields = {k: _jsonable(v) for k, v in r.items() if k not in base}
            db.execute("INSERT INTO sessions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (client_id, kind, s_ns, e_ns, dur, int(r["n_impacts"]), int(r["n_low"]), int(r["n_medium"]),
                        int(r["n_high"]), json.dumps(fields), rid))
            added += 1 - len(overl)
        return added

    def _rebuild_weeks(self, db: sqlite3.Connection, client_id: str, first_ns: int, last_ns: int, tz: str,
                       config: DetectionConfig, plan: Any) -> None:
        """Recompute daily loads and plan checks for the ISO weeks touched by [first_ns, last_ns]."""
        d0 = pd.Timestamp(first_ns, tz="UTC").tz_convert(tz).normalize()
        d1 = pd.Timestamp(last_ns, tz="UTC").tz_convert(tz).normalize()
        w0 = (d0 - pd.Timedelta(days=d0.weekday())).tz_localize(None)
        w1 = (d1 + pd.Timedelta(days=7 - d1.weekday())).tz_localize(None)  # exclusive
        lo = pd.Timestamp(w0).tz_localize(tz, ambiguous=False, nonexistent="shift_forward").value
        hi = pd.Timestamp(w1).tz_localize(tz, ambiguous=False, nonexistent="shift_forward").value
        spans = db.execute("SELECT start_ns, end_ns FROM recordings WHERE client_id = ? AND end_ns >= ? AND start_ns < ?",
                           (client_id, lo, hi)).fetchall()
        daily = self._daily_from_facts(db, client_id, spans, lo, hi, tz, config, plan)
        db.execute("DELETE FROM daily_loads WHERE client_id = ? AND date >= ? AND date < ?",
                   (client_id, w0.strftime("%Y-%m-%d"), w1.strftime("%Y-%m-%d")))
        cols = ["client_id", *_DAILY_COLS, *_LOADING_COLS]
        db.executemany(f"INSERT INTO daily_loads ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                       [(client_id, *_daily_row(r)) for r in daily.to_dict("records")])
        db.execute("DELETE FROM plan_checks WHERE client_id = ? AND date >= ? AND date < ?",
                   (client_id, w0.strftime("%Y-%m-%d"), w1.strftime("%Y-%m-%d")))
        if plan is None:
            return
        skip: set[str] = set()
        for (qc_json,) in db.execute("SELECT qc_json FROM recordings WHERE client_id = ? AND end_ns >= ? AND start_ns < ?",
                                     (client_id, lo, hi)):
            skip.update(json.loads(qc_json).get("plan_unobservable", []))
        check = _check_plan(daily, plan, sorted(skip))
        if check is None:
            return
        db.executemany("INSERT INTO plan_checks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       [(client_id, pd.Timestamp(r["date"]).strftime("%Y-%m-%d"), str(r["target"]), str(r["period"]),
                         _num(r["required"]), _num(r["achieved"]), _str(r["unit"]),
                         None if r["met"] is pd.NA or r["met"] is None else int(bool(r["met"])), str(r["status"]),
                         int(bool(r["partial"])), _str(r.get("detail"))) for r in check.to_dict("records")])

    def _daily_from_facts(self, db: sqlite3.Connection, client_id: str, spans: Sequence[tuple[int, int]], lo: int,
                          hi: int, tz: str, config: DetectionConfig, plan: Any = None) -> pd.DataFrame:
        if not spans:
            return empty(DAILY)
        imp = pd.DataFrame(db.execute(
            "SELECT time_ns, peak_g, clipped, session_kind, session_start_ns FROM impacts WHERE client_id = ? "
            "AND time_ns >= ? AND time_ns < ? ORDER BY time_ns",
            (client_id, lo, hi)).fetchall(), columns=["time_ns", "peak_g", "clipped", "session_kind", "session_start_ns"],
            dtype=object)  # object: ns session starts must stay exact ints beside NULLs
        impacts = pd.DataFrame({
            "time": pd.DatetimeIndex(imp["time_ns"].to_numpy(dtype=np.int64).view("datetime64[ns]")).tz_localize("UTC"),
            "peak_g": imp["peak_g"].to_numpy(dtype=np.float64)})
        blocks = pd.DataFrame(db.execute(
            "SELECT block_start_ns, n, wear_s, nonwear FROM wear_blocks WHERE client_id = ? AND block_start_ns >= ? "
            "AND block_start_ns < ? ORDER BY block_start_ns", (client_id, lo, hi)).fetchall(),
            columns=["start_ns", "n", "wear_s", "nonwear"])
        sessions = self._sessions_frame(db, client_id, lo, hi, tz)
        first = max(lo, min(s for s, _ in spans))
        last = min(hi - 1, max(e for _, e in spans))
        daily = daily_load(impacts, blocks, tz=tz, first_ns=first, last_ns=last, config=config,
                           sessions=sessions if len(sessions) else None)
        covered = set()
        for s, e in spans:
            a = pd.Timestamp(max(s, lo), tz="UTC").tz_convert(tz).normalize().tz_localize(None)
            b = pd.Timestamp(min(e, hi - 1), tz="UTC").tz_convert(tz).normalize().tz_localize(None)
            covered.update(pd.date_range(a, b, freq="D"))
        daily = _add_loading_indices(db, client_id, daily, impacts, imp, sessions, tz, config, plan)
        return daily[daily["date"].isin(covered)].reset_index(drop=True)

    def _sessions_frame(self, db: sqlite3.Connection, client_id: str, lo: int, hi: int, tz: str) -> pd.DataFrame:
        rows = db.execute(
            "SELECT kind, start_ns, end_ns, duration_s, n_impacts, n_low, n_medium, n_high, fields_json FROM sessions "
            "WHERE client_id = ? AND start_ns >= ? AND start_ns < ? ORDER BY start_ns, kind", (client_id, lo, hi)).fetchall()
        if not rows:
            return empty(SESSIONS, tz=tz)
        recs = []
        for i, (kind, s, e, dur, n, nl, nm, nh, fj) in enumerate(rows):
            rec = {"session_id": i, "kind": kind, "start": pd.Timestamp(s, tz="UTC"), "end": pd.Timestamp(e, tz="UTC"),
                   "duration_s": dur, "n_impacts": n, "n_low": nl, "n_medium": nm, "n_high": nh}
            rec.update(json.loads(fj))
            recs.append(rec)
        df = pd.DataFrame(recs)
        for c, dtype in SESSIONS.items():  # columns added to the schema after a session was stored
            if c not in df.columns:
                df[c] = 0 if dtype == "int64" else (np.nan if dtype == "float64" else pd.NA)
        return coerce(df, SESSIONS, tz=tz)

    # -- reading ---------------------------------------------------------------------------------
    def daily(self, client_id: str, start: str | None = None, end: str | None = None) -> pd.DataFrame:
        """Stored daily loads (DAILY schema), days ``start`` ≤ date ≤ ``end`` (``YYYY-MM-DD``).

        The loading indices ``dss``, ``oi``, ``peak_grf_bw_max`` (float, NaN when not known) and
        ``load_basis`` (``grf_bw`` | ``acc_g``) follow when any of these days has them.
        """
        cols = [*_DAILY_COLS, *_LOADING_COLS]
        q = f"SELECT {', '.join(cols)} FROM daily_loads WHERE client_id = ? AND date >= ? AND date <= ? ORDER BY date"
        rows = self.db.execute(q, (client_id, start or "0000", end or "9999")).fetchall()
        if not rows:
            return empty(DAILY)
        df = pd.DataFrame(rows, columns=cols)
        df["date"] = pd.to_datetime(df["date"]).astype("datetime64[ns]")
        if df["load_basis"].isna().all():  # days built before schema 3, or without impactlab.loading
            df = df.drop(columns=_LOADING_COLS)
        else:
            for c in ("dss", "oi", "peak_grf_bw_max"):
                df[c] = pd.to_numeric(df[c], errors="coerce").astype("float64")
            df["load_basis"] = df["load_basis"].astype(object)
        return coerce(df, DAILY)

    def plan_checks(self, client_id: str, start: str | None = None, end: str | None = None) -> pd.DataFrame:
        """Stored plan checks (PLAN_CHECK schema) with ``start`` ≤ date ≤ ``end``."""
        cols = ["date", *_PLAN_COLS]
        rows = self.db.execute(
            f"SELECT {', '.join(cols)} FROM plan_checks WHERE client_id = ? AND date >= ? AND date <= ? "
            "ORDER BY date, period, target",
            (client_id, start or "0000", end or "9999")).fetchall()
        if not rows:
            return empty(PLAN_CHECK)
        df = pd.DataFrame(rows, columns=cols)
        df["date"] = pd.to_datetime(df["date"]).astype("datetime64[ns]")
        df["met"] = pd.array([None if m is None else bool(m) for m in df["met"]], dtype="boolean")
        df["partial"] = df["partial"].astype(bool)
        return coerce(df, PLAN_CHECK)

    def sessions(self, client_id: str, start_ns: int, end_ns: int) -> pd.DataFrame:
        """Stored sessions starting in [start_ns, end_ns) (SESSIONS schema, client's zone)."""
        tz = self.client(client_id).timezone or "UTC"
        return self._sessions_frame(self.db, client_id, start_ns, end_ns, tz)

    def recordings(self, client_id: str, start_ns: int | None = None, end_ns: int | None = None) -> list[dict[str, Any]]:
        """Recordings overlapping [start_ns, end_ns): one dict per row, QC and settings decoded."""
        cur = self.db.execute(
            "SELECT * FROM recordings WHERE client_id = ? AND end_ns >= ? AND start_ns < ? ORDER BY start_ns",
            (client_id, start_ns if start_ns is not None else -(2**62), end_ns if end_ns is not None else 2**62))
        names = [d[0] for d in cur.description]
        out = []
        for row in cur.fetchall():
            d = dict(zip(names, row, strict=True))
            d["qc"] = json.loads(d.pop("qc_json"))
            d["settings"] = json.loads(d.pop("settings_json"))
            out.append(d)
        return out

    def counts(self) -> dict[str, int]:
        """Rows per table (for checks that a re-import changed nothing)."""
        tables = [r[0] for r in self.db.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name != 'schema_version' ORDER BY name")]
        return {t: int(self.db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]) for t in tables}

    # -- BLE sync journal ------------------------------------------------------------------------
    def sync_last_seq(self, client_id: str, device_id: str) -> int:
        """Highest sequence number committed for ``device_id`` (-1 when none)."""
        row = self.db.execute("SELECT max(seq) FROM sync_packets WHERE client_id = ? AND device_id = ?",
                              (client_id, device_id)).fetchone()
        return -1 if row[0] is None else int(row[0])

    def sync_commit_packets(self, client_id: str, device_id: str, seqs: Sequence[int] | np.ndarray,
                            payloads: Sequence[bytes]) -> int:
        """Store received packets in one transaction; packets already stored are ignored.

        Parameters
        ----------
        client_id, device_id : str
            Owner and sensor (both created when new).
        seqs : array of int
            Sequence numbers (≥ 0), same length as ``payloads``.
        payloads : list of bytes
            The packets as received.

        Returns
        -------
        int
            Number of packets that were new.
        """
        seqs = [int(s) for s in np.asarray(seqs, dtype=np.int64).ravel()]
        if len(seqs) != len(payloads):
            raise StoreError(f"{len(seqs)} sequence numbers for {len(payloads)} packets", key="seqs",
                             hint="Pass one sequence number per packet")
        if any(s < 0 for s in seqs):
            raise StoreError("sequence numbers must be >= 0", key="seqs")
        _check_client_id(client_id)
        now = _now()
        with self._transaction() as db:
            db.execute("INSERT OR IGNORE INTO clients (client_id, created_at) VALUES (?, ?)", (client_id, now))
            self._ensure_device(db, client_id, device_id, "ble")
            before = db.total_changes
            db.executemany("INSERT OR IGNORE INTO sync_packets VALUES (?, ?, ?, ?, ?)",
                           [(device_id, s, client_id, bytes(p), now) for s, p in zip(seqs, payloads, strict=True)])
            added = db.total_changes - before
            last = db.execute("SELECT max(seq), count(*) FROM sync_packets WHERE device_id = ?", (device_id,)).fetchone()
            db.execute("INSERT INTO syncs (client_id, device_id, last_seq, n_packets, committed_at) VALUES (?, ?, ?, ?, ?)",
                       (client_id, device_id, -1 if last[0] is None else int(last[0]), added, now))
        return int(added)

    def sync_packets(self, client_id: str, device_id: str, since_seq: int = -1) -> list[tuple[int, bytes]]:
        """Stored packets with ``seq > since_seq``, in sequence order, as ``(seq, payload)``."""
        return [(int(s), bytes(p)) for s, p in self.db.execute(
            "SELECT seq, payload FROM sync_packets WHERE client_id = ? AND device_id = ? AND seq > ? ORDER BY seq",
            (client_id, device_id, since_seq))]

    def sync_gaps(self, client_id: str, device_id: str) -> list[tuple[int, int]]:
        """Missing sequence ranges ``(from_seq, to_seq)`` (inclusive) between 0 and the last stored."""
        seqs = np.array([r[0] for r in self.db.execute(
            "SELECT seq FROM sync_packets WHERE client_id = ? AND device_id = ? ORDER BY seq", (client_id, device_id))],
            dtype=np.int64)
        if not seqs.size:
            return []
        full = np.r_[-1, seqs]
        jumps = np.flatnonzero(np.diff(full) > 1)
        return [(int(full[i] + 1), int(full[i + 1] - 1)) for i in jumps]


# -- helpers ---------------------------------------------------------------------------------------

def _check_client_id(client_id: str) -> None:
    ok = isinstance(client_id, str) and 0 < len(client_id) <= 64 and all(c.isalnum() or c in "-_." for c in client_id)
    if not ok:
        raise StoreError(f"client id {client_id!r} is not a short identifier", key="client",
                         hint="Use letters, digits, '-', '_' or '.', at most 64 characters (e.g. c01)")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _chunks_of(source: Recording | RecordingSource) -> Iterator[Recording]:
    if isinstance(source, Recording):
        yield source
    else:
        yield from source.chunks()


def _dates(first_ns: int | None, last_ns: int | None, tz: str) -> list[str]:
    if first_ns is None or last_ns is None:
        return []
    a = pd.Timestamp(first_ns, tz="UTC").tz_convert(tz).normalize().tz_localize(None)
    b = pd.Timestamp(last_ns, tz="UTC").tz_convert(tz).normalize().tz_localize(None)
    return [d.strftime("%Y-%m-%d") for d in pd.date_range(a, b, freq="D")]


def _num(v: Any) -> float | None:
    if v is None or v is pd.NA:
        return None
    f = float(v)
    return None if not np.isfinite(f) else f


def _str(v: Any) -> str | None:
    return None if v is None or v is pd.NA else str(v)


def _daily_row(r: Mapping[str, Any]) -> tuple[Any, ...]:
    out: list[Any] = []
    for c in _DAILY_COLS:
        v = r[c]
        if c == "date":
            out.append(pd.Timestamp(v).strftime("%Y-%m-%d"))
        elif c == "valid":
            out.append(int(bool(v)))
        elif DAILY[c] == "int64":
            out.append(int(v))
        else:
            out.append(float(v))
    for c in _LOADING_COLS:
        v = r.get(c)
        out.append(_str(v) if c == "load_basis" else _num(v))
    return tuple(out)


def _add_loading_indices(db: sqlite3.Connection, client_id: str, daily: pd.DataFrame, impacts: pd.DataFrame,
                         stored: pd.DataFrame, sessions: pd.DataFrame, tz: str, config: DetectionConfig,
                         plan: Any) -> pd.DataFrame:
    """``daily`` with the loading indices of :class:`impactlab.loading.LoadingStage` (unchanged without it).

    The stored impacts get back the session analyze put them in (by its natural key; a session since
    replaced by a longer one of the same kind is found by time) and go through ``add_loading`` then
    ``loading_indices``, as in ``LoadingStage.finish``/``finish_daily``, with the client's stored body
    mass (None: the acceleration proxy) and the plan's vest mass.
    """
    if not _has_module("impactlab.loading"):
        return daily
    from .loading import DSS_EXPONENT, add_loading, loading_indices

    sid = pd.array([pd.NA] * len(impacts), dtype="Int64")
    if len(sessions) and len(impacts):
        by_key = {(str(k), pd.Timestamp(s).value): int(i)
                  for i, k, s in zip(sessions["session_id"], sessions["kind"].astype(str), sessions["start"], strict=True)}
        starts = sessions["start"].dt.tz_convert("UTC").astype("datetime64[ns, UTC]").array.asi8
        ends = sessions["end"].dt.tz_convert("UTC").astype("datetime64[ns, UTC]").array.asi8
        kinds = sessions["kind"].astype(str).to_numpy()
        ids = sessions["session_id"].to_numpy(dtype=np.int64)
        for j, (t, k, s) in enumerate(zip(stored["time_ns"], stored["session_kind"], stored["session_start_ns"],
                                          strict=True)):
            if k is None or s is None:
                continue
            hit = by_key.get((str(k), int(s)))
            if hit is None:  # replaced by an overlapping longer session of the same kind
                inside = np.flatnonzero((kinds == str(k)) & (starts <= int(t)) & (ends >= int(t)))
                hit = int(ids[inside[0]]) if inside.size else None
            if hit is not None:
                sid[j] = hit
    row = db.execute("SELECT body_mass_kg FROM clients WHERE client_id = ?", (client_id,)).fetchone()
    mass = float(row[0]) if row is not None and row[0] is not None else None
    imp = impacts.assign(session_id=sid, clipped=stored["clipped"].to_numpy(dtype=bool))
    imp = add_loading(imp, sessions=sessions, body_mass_kg=mass, vest_mass_kg=float(getattr(plan, "vest_mass_kg", None) or 0.0),
                      placement="hip", vector=config.vector, range_note=False)  # type: ignore[arg-type]
    res, _ = loading_indices(imp, tz=tz, days=daily["date"], m=DSS_EXPONENT)
    out = daily.copy()
    for c in _LOADING_COLS:
        out[c] = res[c].to_numpy()
    return out


def _jsonable(v: Any) -> Any:
    from .pipeline import _jsonable as jz

    return jz(v)


def file_sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file's bytes (read in 1 MiB blocks)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _has_module(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def _plan_module() -> Any:
    import importlib

    try:
        return importlib.import_module("impactlab.plan")
    except ModuleNotFoundError:
        return None


def load_plan_file(path: str | os.PathLike[str]) -> Any:
    """Load a plan TOML with :func:`impactlab.plan.load_plan`, remembering its text and path.

    Raises
    ------
    ImpactlabError
        Plan support (``impactlab.plan``) is not installed.
    """
    mod = _plan_module()
    if mod is None:
        raise ImpactlabError("plans cannot be read: impactlab.plan is not available in this installation",
                             path=path, hint="Update impactlab, or import without --plan")
    plan = mod.load_plan(path)
    text = Path(path).read_text(encoding="utf-8")
    return _with_source(plan, text, os.fspath(path))


def _with_source(plan: Any, text: str, path: str) -> Any:
    """Attach the plan's TOML text and path (``source_text``/``source_path``) for the store."""
    try:
        object.__setattr__(plan, "source_text", text)
        object.__setattr__(plan, "source_path", path)
    except (AttributeError, TypeError):  # slotted dataclass: keep the text beside it
        _PLAN_TEXT[id(plan)] = (text, path)
    return plan


_PLAN_TEXT: dict[int, tuple[str, str]] = {}


def _plan_from_text(text: str, name: str) -> Any:
    mod = _plan_module()
    if mod is None:
        return None
    with tempfile.TemporaryDirectory(prefix="impactlab-plan-") as d:
        p = Path(d) / Path(name).name
        p.write_text(text, encoding="utf-8")
        plan = mod.load_plan(p)
    return _with_source(plan, text, name)


def _check_plan(daily: pd.DataFrame, plan: Any, unobservable: Sequence[str] = ()) -> pd.DataFrame | None:
    mod = _plan_module()
    if mod is None or plan is None:
        return None
    res = mod.check_plan(daily, plan, unobservable=unobservable) if unobservable else mod.check_plan(daily, plan)
    if isinstance(res, pd.DataFrame):
        return res
    for attr in ("table", "frame", "df"):
        if isinstance(getattr(res, attr, None), pd.DataFrame):
            return getattr(res, attr)
    if hasattr(res, "to_frame"):
        return res.to_frame()
    raise StoreError(f"check_plan returned {type(res).__name__}, not a PLAN_CHECK table",
                     hint="Update impactlab so that its plan and store modules match")


class _RawWriter:
    """Hashes chunks and writes them to a temporary Parquet file while they stream past."""

    def __init__(self, raw_dir: Path) -> None:
        self.raw_dir = raw_dir
        self.tmp = raw_dir / f".tmp-{os.getpid()}-{time.monotonic_ns()}.parquet"
        self.hash = hashlib.sha256()
        self.writer: pq.ParquetWriter | None = None
        self.first_ns: int | None = None
        self.last_ns: int | None = None
        self.n_rows = 0

    def tap(self, chunks: Iterable[Recording]) -> Iterator[Recording]:
        for chunk in chunks:
            data = chunk.data
            if len(data):
                t = data.index.as_unit("ns").asi8
                xyz = np.ascontiguousarray(data[["x", "y", "z"]].to_numpy(dtype=np.float32))
                self.hash.update(t.astype("<i8").tobytes())
                self.hash.update(xyz.astype("<f4").tobytes())
                table = pa.Table.from_pandas(data.tz_convert("UTC"), preserve_index=True)
                if self.writer is None:
                    meta = chunk.meta.to_dict()
                    meta.pop("extra", None)
                    schema = table.schema.with_metadata({b"impactlab.meta": json.dumps(_jsonable(meta)).encode()})
                    self.writer = pq.ParquetWriter(self.tmp, schema, compression="zstd")
                self.writer.write_table(table.replace_schema_metadata(self.writer.schema.metadata))
                self.first_ns = int(t[0]) if self.first_ns is None else self.first_ns
                self.last_ns = int(t[-1])
                self.n_rows += len(data)
            yield chunk

    def finish(self) -> str:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
        return self.hash.hexdigest()

    def commit(self, final: Path) -> None:
        if final.exists():
            self.discard()
            return
        with open(self.tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(self.tmp, 0o600)
        os.replace(self.tmp, final)

    def discard(self) -> None:
        if self.writer is not None:
            with contextlib.suppress(Exception):
                self.writer.close()
            self.writer = None
        with contextlib.suppress(OSError):
            self.tmp.unlink()


def plan_text(plan: Any) -> tuple[str, str] | None:
    """The (TOML text, path) remembered for a plan loaded by :func:`load_plan_file`, if any."""
    t = getattr(plan, "source_text", None)
    if t:
        return t, getattr(plan, "source_path", "")
    return _PLAN_TEXT.get(id(plan))

