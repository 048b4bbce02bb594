"""The store's SQLite file: schema and migrations, opening, transactions and crash clean-up (docs/cli.md).

Atomicity: one import is one SQLite transaction (``BEGIN IMMEDIATE`` ... ``COMMIT``, see
:func:`transaction`). A crash or ``kill -9`` in the middle leaves the store as it was. Temporary
Parquet files (``raw/.tmp-<pid>-*.parquet``) of processes that no longer run are removed when a
store is opened (:func:`clean_temp_files`).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from .._version import __version__
from ..errors import StoreError

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "clean_temp_files", "connect", "default_store_path", "migrate", "now",
           "transaction"]

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
    # version 4: plans over time: each version is in force from its first day (local date) until the next
    (
        """CREATE TABLE plan_versions (
            client_id TEXT NOT NULL REFERENCES clients(client_id) ON DELETE CASCADE,
            valid_from TEXT NOT NULL,
            plan_toml TEXT NOT NULL,
            plan_path TEXT,
            note TEXT,
            created_at TEXT NOT NULL,
            PRIMARY KEY (client_id, valid_from))""",
        "INSERT INTO plan_versions SELECT client_id, '0000-01-01', plan_toml, plan_path, NULL, created_at "
        "FROM clients WHERE plan_toml IS NOT NULL",
    ),
    # version 5: running minutes per day (the ``run`` session kind, schema.SESSION_KINDS)
    (
        "ALTER TABLE daily_loads ADD COLUMN run_min REAL NOT NULL DEFAULT 0",
    ),
    # version 6: sensors move between clients: each assignment from its first day (local date)
    (
        """CREATE TABLE device_assignments (
            device_id TEXT NOT NULL REFERENCES devices(device_id),
            valid_from TEXT NOT NULL,
            client_id TEXT NOT NULL REFERENCES clients(client_id) ON DELETE CASCADE,
            created_at TEXT NOT NULL,
            PRIMARY KEY (device_id, valid_from))""",
        "INSERT INTO device_assignments SELECT device_id, '0000-01-01', client_id, first_seen FROM devices",
    ),
    # version 7: each impact's activity from analyze (walk, run, jump, other), which chooses its force model;
    # NULL for impacts stored before: they take the activity of their session's kind
    (
        "ALTER TABLE impacts ADD COLUMN activity TEXT",
    ),
    # version 8: per day, whether its high band is comparable with Hannam's norms (0 when a recording of
    # the day was sampled below the preset's rate); days built before read 1 until an import rebuilds
    # their week
    (
        "ALTER TABLE daily_loads ADD COLUMN comparable_to_hannam INTEGER NOT NULL DEFAULT 1",
    ),
]
#: The schema version this code writes.
SCHEMA_VERSION = len(MIGRATIONS)


def now() -> str:
    """The current UTC time, ISO 8601 to the second (the store's timestamps)."""
    return str(pd.Timestamp.now(tz="UTC").isoformat(timespec="seconds"))


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


def connect(path: Path, raw_dir: Path) -> sqlite3.Connection:
    """Create (owner-only) or open the SQLite file and ``raw_dir``; WAL, foreign keys, full sync.

    Raises
    ------
    StoreError
        The file or folder cannot be created or opened.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not path.exists():
            fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
            os.close(fd)
        raw_dir.mkdir(exist_ok=True, mode=0o700)
        db = sqlite3.connect(path, isolation_level=None, timeout=30.0)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA foreign_keys=ON")
        db.execute("PRAGMA synchronous=FULL")
    except (OSError, sqlite3.Error) as err:
        raise StoreError(f"cannot open the store ({err})", path=path,
                         hint="Check the path and its permissions, or pass --store PATH") from None
    return db


def migrate(db: sqlite3.Connection, path: Path) -> None:
    """Bring the file to :data:`SCHEMA_VERSION` in one transaction (a new file gets every migration).

    Raises
    ------
    StoreError
        Not an impactlab store, a newer schema than this impactlab, or a damaged file.
    """
    try:
        db.execute("BEGIN IMMEDIATE")
        has = db.execute("SELECT name FROM sqlite_master WHERE type='table' AND name='schema_version'").fetchone()
        if not has:
            others = db.execute("SELECT count(*) FROM sqlite_master WHERE type='table'").fetchone()[0]
            if others:
                raise StoreError("this SQLite file is not an impactlab store (no schema_version table)",
                                 path=path, hint="Pass --store with a new or impactlab-made file")
            db.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")
        current = int(db.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()[0])
        if current > SCHEMA_VERSION:
            raise StoreError(
                f"the store has schema version {current}, newer than this impactlab ({__version__}, "
                f"schema {SCHEMA_VERSION})", path=path, hint="Upgrade impactlab to open it")
        for version in range(current, SCHEMA_VERSION):
            for stmt in MIGRATIONS[version]:
                db.execute(stmt)
            db.execute("INSERT INTO schema_version VALUES (?, ?)", (version + 1, now()))
        db.execute("COMMIT")
    except sqlite3.DatabaseError as err:
        rollback(db)
        raise StoreError(f"cannot open or migrate the store ({err})", path=path,
                         hint="Is it an impactlab store? Restore it from a backup or use a new --store") from None
    except BaseException:
        rollback(db)
        raise


def rollback(db: sqlite3.Connection) -> None:
    """Roll back the open transaction, if any (errors while doing so are ignored)."""
    with contextlib.suppress(sqlite3.Error):
        if db.in_transaction:
            db.execute("ROLLBACK")


@contextlib.contextmanager
def transaction(db: sqlite3.Connection, path: Path) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``; any error rolls back and nothing is changed.

    Raises
    ------
    StoreError
        The store is busy (another writer) or cannot be written.
    """
    try:
        db.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as err:
        raise StoreError(f"the store is busy ({err})", path=path,
                         hint="Another impactlab process is writing; try again when it has finished") from None
    try:
        yield db
        db.execute("COMMIT")
    except sqlite3.Error as err:
        rollback(db)
        raise StoreError(f"cannot write to the store ({err})", path=path,
                         hint="Nothing was changed; check free disk space and permissions, then run again") from None
    except BaseException:
        rollback(db)
        raise


def clean_temp_files(raw_dir: Path) -> None:
    """Remove temporary Parquet files left in ``raw_dir`` by processes that no longer run."""
    for tmp in raw_dir.glob(".tmp-*.parquet"):
        try:
            pid = int(tmp.name.split("-")[1])
        except (IndexError, ValueError):
            continue
        if pid == os.getpid() or not _pid_alive(pid):
            with contextlib.suppress(OSError):
                tmp.unlink()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
