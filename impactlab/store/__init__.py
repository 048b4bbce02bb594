"""The client store: one SQLite file per practice, raw samples as Parquet beside it (docs/cli.md).

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

Modules: :mod:`~impactlab.store.db` (DDL, migrations, transactions, crash clean-up),
:mod:`~impactlab.store.ingest` (facts under their natural keys), :mod:`~impactlab.store.rebuild`
(days and plan checks from stored facts), :mod:`~impactlab.store.journal` (BLE packets),
:mod:`~impactlab.store.raw` (raw samples as Parquet); :class:`Store` is the façade over them.

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

import datetime as dt
import json
import os
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .._version import __version__
from ..config import AnalysisConfig, DetectionConfig, check_mass_kg
from ..errors import ConfigError, StoreError
from ..io._common import RecordingSource, clip
from ..isotime import today_in
from ..plan import Plan, load_plan, parse_plan
from ..plan.versions import complete_checks, plan_changes, plan_in_force
from ..recording import Recording
from ..schema import DAILY, PLAN_CHECK, coerce, empty
from . import devices, journal, plans
from .db import MIGRATIONS, SCHEMA_VERSION, clean_temp_files, connect, default_store_path, migrate, now, transaction
from .ingest import add_blocks, add_impacts, add_sessions
from .raw import RawWriter, chunks_of, file_sha256, jsonable
from .rebuild import DAILY_COLS, FROM_START, LOADING_COLS, plan_versions, rebuild_weeks, sessions_frame

if TYPE_CHECKING:
    from ..pipeline import Analysis
    from ..report.tables import WeekTables

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "ClientInfo", "ImportResult", "Store", "default_store_path", "file_sha256",
           "load_plan_file", "plan_text"]

_PLAN_COLS = [*(c for c in PLAN_CHECK if c != "date"), "detail"]


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
    imported_at : str or None
        When ``already_imported``: when the stored recording was imported (UTC, ISO 8601); else None.
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
    analysis: Analysis | None = None
    imported_at: str | None = None


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


def load_plan_file(path: str | os.PathLike[str]) -> Plan:
    """Load a plan TOML with :func:`impactlab.plan.load_plan` (the plan keeps its text and path).

    Raises
    ------
    ConfigError
        File missing, not TOML or not a valid plan.
    """
    return load_plan(path)


def plan_text(plan: Plan) -> tuple[str, str] | None:
    """The (TOML text, path) a plan was parsed from, or None for a plan built in code."""
    if plan.source_text:
        return plan.source_text, plan.path or ""
    return None


def _plan_from_text(text: str, name: str) -> Plan:
    return parse_plan(text, path=name)


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
        self.db = connect(self.path, self.raw_dir)
        migrate(self.db, self.path)
        clean_temp_files(self.raw_dir)

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
            Plan TOML (docs/cli.md, Plan files); its text is kept in the store so reports show the plan in force.
        note : str, optional
            Free text for the therapist.

        Returns
        -------
        ClientInfo
            The stored client.
        """
        _check_client_id(client_id)
        try:
            body_mass_kg = check_mass_kg(body_mass_kg, "body", key="body_mass_kg")
        except ConfigError as err:  # the store's own error class, same words
            raise StoreError(err.message, key="body_mass_kg", hint="Give the body mass in kg, e.g. --body-mass 68") from None
        plan = load_plan(plan_path) if plan_path is not None else None  # validated before storing
        with transaction(self.db, self.path) as db:
            db.execute("INSERT OR IGNORE INTO clients (client_id, created_at) VALUES (?, ?)", (client_id, now()))
            sets: dict[str, Any] = {"name": name, "body_mass_kg": body_mass_kg, "note": note}
            if plan is not None and plan_path is not None:
                sets.update(plan_path=os.fspath(plan_path), plan_toml=plan.source_text)
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
        cid, name, mass, ppath, ptoml, tz, note, created = row
        return ClientInfo(cid, name, mass, ppath, ptoml, tz, note, created, n_recordings=int(n), first_date=d0,
                          last_date=d1)

    def has_client(self, client_id: str) -> bool:
        """Whether ``client_id`` is stored."""
        return self.db.execute("SELECT 1 FROM clients WHERE client_id = ?", (client_id,)).fetchone() is not None

    def forget_empty_client(self, client_id: str) -> bool:
        """Delete a client that holds no recording and no sync packet (after a refused import); True if deleted."""
        with transaction(self.db, self.path) as db:
            cur = db.execute(
                "DELETE FROM clients WHERE client_id = ? AND NOT EXISTS (SELECT 1 FROM recordings WHERE client_id = ?) "
                "AND NOT EXISTS (SELECT 1 FROM sync_packets WHERE client_id = ?) "
                "AND NOT EXISTS (SELECT 1 FROM devices WHERE client_id = ?)", (client_id,) * 4)
            return cur.rowcount > 0

    def clients(self) -> list[ClientInfo]:
        """All clients, by id."""
        ids = [r[0] for r in self.db.execute("SELECT client_id FROM clients ORDER BY client_id")]
        return [self.client(i) for i in ids]

    def client_plan(self, client_id: str) -> Plan | None:
        """The client's plan, or None without one."""
        info = self.client(client_id)
        if not info.plan_toml:
            return None
        return _plan_from_text(info.plan_toml, info.plan_path or f"{client_id}-plan.toml")

    def assign_device(self, device_id: str, client_id: str, valid_from: str | None = None) -> str | None:
        """Give a known sensor to a known client from ``valid_from`` (``YYYY-MM-DD``; default the day after
        the last data stored from it); returns the owner before (see :mod:`impactlab.store.devices`).

        Data already stored stay with the client they were imported for; data recorded from
        ``valid_from`` on are filed under ``client_id``.

        Raises
        ------
        StoreError
            Unknown sensor or unknown client (one line naming it), or a malformed date.
        """
        return devices.assign_device(self.db, self.path, device_id, client_id, valid_from)[0]

    def device_assignments(self, device_id: str) -> list[tuple[str, str]]:
        """The sensor's assignments as (first day, client), oldest first."""
        return [(str(v), str(c)) for v, c in self.db.execute(
            "SELECT valid_from, client_id FROM device_assignments WHERE device_id = ? ORDER BY valid_from", (device_id,))]

    # -- import ----------------------------------------------------------------------------------
    def import_recording(
        self,
        client_id: str,
        source: Recording | RecordingSource,
        *,
        plan: Plan | None = None,
        markers: Any = None,
        config: AnalysisConfig | DetectionConfig | None = None,
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
        config : AnalysisConfig or DetectionConfig, optional
            Method settings (default ``hannam2017``), as for :func:`impactlab.analyze`.
        device_id : str, optional
            Device identifier (default: the recording's serial; a file without one carries no device,
            so any number of clients can import such files).
        origin : str
            ``"file"`` or ``"ble"``.
        file_sha256 : str, optional
            Hash of the file's bytes; a file imported before is skipped without reading it again.
        **analyze_kwargs
            Further keyword arguments for :func:`impactlab.analyze` (e.g. ``progress``,
            ``body_mass_kg``: default the client's stored body mass).

        Returns
        -------
        ImportResult
            What was added (nothing when the samples were imported before).

        Raises
        ------
        StoreError
            The store cannot be written (nothing was changed).
        """
        from ..pipeline import analyze

        _check_client_id(client_id)
        meta = source.meta
        # a file without a serial carries no device (never a shared pseudo-device such as 'table')
        device_id = device_id or meta.serial or ((meta.device or "unknown") if origin == "ble" else None)
        if file_sha256:
            row = self.db.execute(
                "SELECT recording_id, content_hash, raw_path, start_ns, end_ns, timezone, imported_at FROM recordings "
                "WHERE client_id = ? AND file_sha256 = ?", (client_id, file_sha256)).fetchone()
            if row is not None:
                return ImportResult(client_id, row[0], row[1], True, 0, 0, 0, _dates(row[3], row[4], row[5]),
                                    self.raw_dir / row[2], imported_at=row[6])
        if analyze_kwargs.get("body_mass_kg") is None:
            mass = self.body_mass_kg(client_id)
            if mass is not None:
                analyze_kwargs["body_mass_kg"] = mass  # the client's stored mass for GRF indices
        writer = RawWriter(self.raw_dir)
        try:
            wrapped = RecordingSource(meta=meta, chunks=lambda: writer.tap(chunks_of(source)),
                                      n_rows_hint=getattr(source, "n_rows_hint", None),
                                      notes=list(getattr(source, "notes", [])),
                                      extra=dict(getattr(source, "extra", {})))
            res = analyze(wrapped, config=config if config is not None else DetectionConfig(), plan=plan,
                          markers=markers, **analyze_kwargs)
            content_hash = writer.finish()
            detection = res.config  # the effective detection settings (e.g. the vector)
        except BaseException:
            writer.discard()
            raise
        raw_name = f"{content_hash}.parquet"
        existing = self.db.execute(
            "SELECT recording_id, imported_at FROM recordings WHERE client_id = ? AND content_hash = ?",
            (client_id, content_hash)).fetchone()
        if existing is not None:
            writer.discard()
            return ImportResult(client_id, existing[0], content_hash, True, 0, 0, 0,
                                _dates(writer.first_ns, writer.last_ns, meta.timezone), self.raw_dir / raw_name, res,
                                imported_at=existing[1])
        writer.commit(self.raw_dir / raw_name)
        qc = dict(res.qc)
        if not res.extra.get("sessions", {}).get("vibration_detectable", True):
            qc["plan_unobservable"] = ["vibration"]  # the plate cannot be seen at this rate (see warnings)
        first_ns, last_ns = int(writer.first_ns or 0), int(writer.last_ns or 0)
        with transaction(self.db, self.path) as db:
            db.execute("INSERT OR IGNORE INTO clients (client_id, created_at) VALUES (?, ?)", (client_id, now()))
            remembered = plan_text(plan) if plan is not None else None
            old_plan = db.execute("SELECT plan_toml FROM clients WHERE client_id = ?", (client_id,)).fetchone()[0]
            plan_changed = remembered is not None and remembered[0] != old_plan
            if remembered is not None:
                db.execute("UPDATE clients SET plan_toml = ?, plan_path = ? WHERE client_id = ?",
                           (remembered[0], remembered[1], client_id))
            if plan_changed and remembered is not None:  # a plan given at import is in force from the start
                db.execute("DELETE FROM plan_versions WHERE client_id = ?", (client_id,))
                db.execute("INSERT INTO plan_versions VALUES (?, ?, ?, ?, NULL, ?)",
                           (client_id, FROM_START, remembered[0], remembered[1], now()))
            tz_row = db.execute("SELECT timezone FROM clients WHERE client_id = ?", (client_id,)).fetchone()
            tz = str(tz_row[0] or meta.timezone)  # days are cut at the recording's midnight, as analyze does
            db.execute("UPDATE clients SET timezone = ? WHERE client_id = ?", (tz, client_id))
            if device_id is not None:
                devices.ensure_device(db, self.path, client_id, device_id, meta.device, meta.serial,
                                      (int(writer.first_ns or 0), int(writer.last_ns or 0)), meta.timezone)
            cur = db.execute(
                "INSERT INTO recordings (client_id, device_id, content_hash, file_sha256, origin, source, device, "
                "sample_rate_hz, timezone, vertical_axis, start_ns, end_ns, n_samples, raw_path, preset, "
                "settings_json, qc_json, impactlab_version, status, imported_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'complete', ?)",
                (client_id, device_id, content_hash, file_sha256, origin, meta.source, meta.device,
                 float(meta.sample_rate_hz), meta.timezone, meta.vertical_axis, writer.first_ns, writer.last_ns,
                 writer.n_rows, raw_name, detection.name, json.dumps(jsonable(detection.to_dict())),
                 json.dumps(jsonable(qc)), __version__, now()))
            rid = int(cur.lastrowid or 0)
            n_imp = add_impacts(db, client_id, rid, res.impacts, detection, res.sessions)
            n_blk = add_blocks(db, client_id, rid, res.wear_blocks)
            n_ses = add_sessions(db, client_id, rid, res.sessions)
            if origin == "ble":
                last = db.execute("SELECT max(seq) FROM sync_packets WHERE device_id = ?", (device_id,)).fetchone()[0]
                db.execute("INSERT INTO syncs (client_id, device_id, recording_id, content_hash, last_seq, n_packets, "
                           "committed_at) VALUES (?, ?, ?, ?, ?, 0, ?)",
                           (client_id, device_id, rid, content_hash, -1 if last is None else int(last), now()))
            lo_ns, hi_ns = first_ns, last_ns
            if plan_changed:  # a new plan: check every stored week against it
                lo_ns, hi_ns = db.execute("SELECT min(start_ns), max(end_ns) FROM recordings WHERE client_id = ?",
                                          (client_id,)).fetchone()
            rebuild_weeks(db, client_id, lo_ns, hi_ns, tz, detection,
                          plan if plan is not None else self._stored_plan(db, client_id))
        return ImportResult(client_id, rid, content_hash, False, n_imp, n_ses, n_blk,
                            _dates(writer.first_ns, writer.last_ns, tz), self.raw_dir / raw_name, res)

    def _stored_plan(self, db: sqlite3.Connection, client_id: str) -> Plan | None:
        row = db.execute("SELECT plan_toml, plan_path FROM clients WHERE client_id = ?", (client_id,)).fetchone()
        if not row or not row[0]:
            return None
        return _plan_from_text(row[0], row[1] or f"{client_id}-plan.toml")

    def set_plan(self, client_id: str, plan: Plan, *, valid_from: str | None = None,
                 today: dt.date | None = None) -> str | None:
        """Store a new plan version for ``client_id``, in force from ``valid_from`` (default: today).

        Every stored week is checked again: each day against the version in force that day.

        Parameters
        ----------
        client_id : str
            An existing client.
        plan : Plan
            A plan parsed from text (:func:`impactlab.plan.load_plan`; its ``source_text`` is stored).
        valid_from : str, optional
            First local day ``YYYY-MM-DD`` the version is in force.
        today : datetime.date, optional
            The current date (for the future-date note; default the system date).

        Returns
        -------
        str or None
            A note when ``valid_from`` is before the client's first data or in the future (stored anyway).

        Raises
        ------
        StoreError
            Unknown client, a plan without its text, or a malformed date.
        """
        info = self.client(client_id)
        return plans.set_plan(self.db, self.path, client_id, info.first_date, info.timezone, plan, valid_from,
                              today or today_in(info.timezone))

    def plan_history(self, client_id: str) -> list[tuple[str, Plan]]:
        """The client's plan versions as (first day ``YYYY-MM-DD`` or ``0000-01-01`` for "from the start", plan)."""
        return plan_versions(self.db, client_id)

    def plan_on(self, client_id: str, day: dt.date) -> Plan | None:
        """The plan version in force on ``day`` (the stored plan for a client without versions; None without)."""
        versions = self.plan_history(client_id)
        return plan_in_force(versions, day) if versions else self.client_plan(client_id)

    def body_mass_kg(self, client_id: str) -> float | None:
        """The client's stored body mass in kg (None when not stored, or no such client)."""
        row = self.db.execute("SELECT body_mass_kg FROM clients WHERE client_id = ?", (client_id,)).fetchone()
        return float(row[0]) if row is not None and row[0] is not None else None

    # -- reading ---------------------------------------------------------------------------------
    def daily(self, client_id: str, start: str | None = None, end: str | None = None) -> pd.DataFrame:
        """Stored daily loads (DAILY schema), days ``start`` ≤ date ≤ ``end`` (``YYYY-MM-DD``).

        The loading indices ``dss``, ``oi``, ``peak_grf_bw_max`` (float, NaN when not known) and
        ``load_basis`` (``grf_bw`` | ``acc_g``) follow when any of these days has them.
        """
        cols = [*DAILY_COLS, *LOADING_COLS]
        q = f"SELECT {', '.join(cols)} FROM daily_loads WHERE client_id = ? AND date >= ? AND date <= ? ORDER BY date"
        rows = self.db.execute(q, (client_id, start or "0000", end or "9999")).fetchall()
        if not rows:
            return empty(DAILY)
        df = pd.DataFrame(rows, columns=cols)
        df["date"] = pd.to_datetime(df["date"]).astype("datetime64[ns]")
        if df["load_basis"].isna().all():  # days built before schema 3
            df = df.drop(columns=LOADING_COLS)
        else:
            for c in ("dss", "oi", "peak_grf_bw_max"):
                df[c] = pd.to_numeric(df[c], errors="coerce").astype("float64")
            df["load_basis"] = df["load_basis"].astype(object)
        return coerce(df, DAILY)

    def plan_checks(self, client_id: str, start: str | None = None, end: str | None = None, *,
                    today: dt.date | None = None) -> pd.DataFrame:
        """Plan checks (PLAN_CHECK schema, plus ``detail``) with ``start`` ≤ date ≤ ``end``.

        The stored rows of the recorded days, and a row for each day target on each other day of a
        week with data, up to ``today`` (default: now in the client's zone; :func:`~impactlab.plan.versions.complete_checks`):
        ``no data`` ("no recording") or ``not scheduled``, so that every output counts them alike.
        """
        cols = ["date", *_PLAN_COLS]
        lo, hi = start or "0000", end or "9999"
        rows = self.db.execute(
            f"SELECT {', '.join(cols)} FROM plan_checks WHERE client_id = ? AND date >= ? AND date <= ? "
            "ORDER BY date, period, target", (client_id, lo, hi)).fetchall()
        if rows:
            df = pd.DataFrame(rows, columns=cols)
            df["date"] = pd.to_datetime(df["date"]).astype("datetime64[ns]")
            df["met"] = pd.array([bool(m) if m is not None and st in ("met", "not met") else None
                                  for m, st in zip(df["met"], df["status"], strict=True)], dtype="boolean")
            df["partial"] = df["partial"].astype(bool)
            df = coerce(df, PLAN_CHECK)
        else:
            df = empty(PLAN_CHECK).assign(detail=pd.Series([], dtype=object))
        recorded = [dt.date.fromisoformat(str(d)) for d, in self.db.execute(
            "SELECT date FROM daily_loads WHERE client_id = ? AND date >= ? AND date <= ?", (client_id, lo, hi))]
        if not recorded:
            return df
        first = dt.date.fromisoformat(start) if start else min(recorded)
        last = dt.date.fromisoformat(end) if end else max(recorded) + dt.timedelta(days=6)
        if today is None:  # the date where the client lives, as the weekly report takes it
            today = today_in(self.client(client_id).timezone)
        return complete_checks(df, recorded, self.plan_history(client_id), first, last, today)

    def sessions(self, client_id: str, start_ns: int, end_ns: int) -> pd.DataFrame:
        """Stored sessions starting in [start_ns, end_ns) (SESSIONS schema, client's zone)."""
        tz = self.client(client_id).timezone or "UTC"
        return sessions_frame(self.db, client_id, start_ns, end_ns, tz)

    def last_arrival(self, client_id: str) -> tuple[str, str] | None:
        """How the client's most recent data arrived: ``(origin, imported_at)``, or None without recordings.

        The recording whose samples end last is taken (ties: the one stored last).

        Parameters
        ----------
        client_id : str
            The client.

        Returns
        -------
        tuple of (str, str) or None
            ``origin`` is ``"file"`` (``impactlab import``) or ``"ble"`` (a sensor sync); ``imported_at``
            is when that recording was stored (UTC, ISO 8601 to the second).
        """
        row = self.db.execute(
            "SELECT origin, imported_at FROM recordings WHERE client_id = ? "
            "ORDER BY end_ns DESC, imported_at DESC, recording_id DESC LIMIT 1", (client_id,)).fetchone()
        return (str(row[0]), str(row[1])) if row is not None else None

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

    def wear_blocks(self, client_id: str, start_ns: int, end_ns: int) -> list[tuple[int, float]]:
        """Worn 15-min blocks starting in [start_ns, end_ns) as ``(start ns, wear s)``, in time order."""
        return [(int(s), float(w)) for s, w in self.db.execute(
            "SELECT block_start_ns, wear_s FROM wear_blocks WHERE client_id = ? AND block_start_ns >= ? "
            "AND block_start_ns < ? AND nonwear = 0 AND wear_s > 0 ORDER BY block_start_ns",
            (client_id, start_ns, end_ns))]

    def week_tables(self, client_id: str, week: str) -> WeekTables:
        """Everything a weekly report needs for one client's ISO week (``YYYY-Www``), plus the 8 weeks before.

        Raises
        ------
        StoreError
            Unknown client or malformed week.
        """
        from ..report.tables import WeekTables, iso_week, parse_week

        info = self.client(client_id)
        monday = parse_week(week)
        tz = info.timezone or "UTC"
        sunday = (monday + dt.timedelta(days=6)).isoformat()
        lo = pd.Timestamp(monday).tz_localize(tz, ambiguous=False, nonexistent="shift_forward").value
        hi = pd.Timestamp(monday + dt.timedelta(days=7)).tz_localize(tz, ambiguous=False,
                                                                      nonexistent="shift_forward").value
        first = (monday - dt.timedelta(weeks=7)).isoformat()
        today = today_in(info.timezone)  # one date for the week's and the history's checks
        return WeekTables(
            client_id=client_id, client_name=info.name, client_note=info.note, body_mass_kg=info.body_mass_kg,
            week=iso_week(monday), timezone=tz,
            daily=self.daily(client_id, monday.isoformat(), sunday),
            plan_check=self.plan_checks(client_id, monday.isoformat(), sunday, today=today),
            sessions=self.sessions(client_id, lo, hi), recordings=self.recordings(client_id, lo, hi),
            wear_blocks=self.wear_blocks(client_id, lo, hi),
            history_daily=self.daily(client_id, first, sunday),
            history_plan_check=self.plan_checks(client_id, first, sunday, today=today),
            plan_changes=plan_changes(self.plan_history(client_id), monday, monday + dt.timedelta(days=6)))

    def counts(self) -> dict[str, int]:
        """Rows per table (for checks that a re-import changed nothing)."""
        tables = [r[0] for r in self.db.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name != 'schema_version' ORDER BY name")]
        return {t: int(self.db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]) for t in tables}

    # -- BLE sync journal ------------------------------------------------------------------------
    def sync_last_seq(self, client_id: str, device_id: str) -> int:
        """Highest sequence number committed for ``device_id`` (-1 when none)."""
        return journal.last_seq(self.db, client_id, device_id)

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
        checked = journal.commit_packets(seqs, payloads)
        _check_client_id(client_id)
        with transaction(self.db, self.path) as db:
            db.execute("INSERT OR IGNORE INTO clients (client_id, created_at) VALUES (?, ?)", (client_id, now()))
            devices.ensure_device(db, self.path, client_id, device_id, "ble")
            return journal.record_packets(db, client_id, device_id, checked, payloads)

    def sync_packets(self, client_id: str, device_id: str, since_seq: int = -1) -> list[tuple[int, bytes]]:
        """Stored packets with ``seq > since_seq``, in sequence order, as ``(seq, payload)``."""
        return journal.packets(self.db, client_id, device_id, since_seq)

    def sync_gaps(self, client_id: str, device_id: str) -> list[tuple[int, int]]:
        """Missing sequence ranges ``(from_seq, to_seq)`` (inclusive) between 0 and the last stored."""
        return journal.gaps(self.db, client_id, device_id)


# -- helpers ---------------------------------------------------------------------------------------

def _check_client_id(client_id: str) -> None:
    ok = isinstance(client_id, str) and 0 < len(client_id) <= 64 and all(c.isalnum() or c in "-_." for c in client_id)
    if not ok:
        raise StoreError(f"client id {clip(client_id)} is not a short identifier", key="client",
                         hint="Use letters, digits, '-', '_' or '.', at most 64 characters (e.g. c01)")


def _dates(first_ns: int | None, last_ns: int | None, tz: str) -> list[str]:
    if first_ns is None or last_ns is None:
        return []
    a = pd.Timestamp(first_ns, tz="UTC").tz_convert(tz).normalize().tz_localize(None)
    b = pd.Timestamp(last_ns, tz="UTC").tz_convert(tz).normalize().tz_localize(None)
    return [d.strftime("%Y-%m-%d") for d in pd.date_range(a, b, freq="D")]
