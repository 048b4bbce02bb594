"""Sensors and who wears them when: each sensor's assignments to clients, each from a local date.

``device assign SENSOR --client ID --from DATE`` adds an assignment; data recorded on or after
``DATE`` belong to the new client, data before it to the one before. An import or sync with a
sensor is filed under the client only when that client had the sensor on the recording's days (the
assignment in force on its first day, and no change to another client until its last day).
Without ``--from`` the sensor moves from the day after the last day of data stored from it.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pandas as pd

from ..errors import StoreError
from .db import now, transaction
from .rebuild import FROM_START

__all__ = ["assign_device", "ensure_device", "owner_on"]


def owner_on(db: sqlite3.Connection, device_id: str, day: str) -> str | None:
    """The client the sensor was assigned to on ``day`` (``YYYY-MM-DD``), or None."""
    row = db.execute("SELECT client_id FROM device_assignments WHERE device_id = ? AND valid_from <= ? "
                     "ORDER BY valid_from DESC LIMIT 1", (device_id, day)).fetchone()
    return None if row is None else str(row[0])


def _day(ns: int | None, tz: str) -> str:
    if ns is None:
        return dt.date.today().isoformat()
    return str(pd.Timestamp(ns, tz="UTC").tz_convert(tz).strftime("%Y-%m-%d"))


def assign_device(db: sqlite3.Connection, path: Path, device_id: str, client_id: str,
                  valid_from: str | None = None) -> tuple[str | None, str, str | None]:
    """Give a known sensor to a known client from ``valid_from``; returns (owner before, first day, note).

    Raises
    ------
    StoreError
        Unknown sensor or client, or a malformed date.
    """
    if db.execute("SELECT 1 FROM clients WHERE client_id = ?", (client_id,)).fetchone() is None:
        raise StoreError(f"no client {client_id!r} in the store", path=path, hint="See 'impactlab clients'")
    row = db.execute("SELECT client_id FROM devices WHERE device_id = ?", (device_id,)).fetchone()
    if row is None:
        raise StoreError(f"no sensor {device_id!r} in the store", path=path,
                         hint="Sensors are added by their first import or sync; see 'impactlab clients'")
    last = db.execute("SELECT max(end_ns), max(timezone) FROM recordings WHERE device_id = ?", (device_id,)).fetchone()
    note = None
    if valid_from is None:
        first = ((pd.Timestamp(_day(int(last[0]), str(last[1]))) + pd.Timedelta(days=1)).strftime("%Y-%m-%d")
                 if last[0] is not None else FROM_START)
    else:
        try:
            first = dt.date.fromisoformat(valid_from).isoformat()
        except ValueError:
            raise StoreError(f"not a date: {valid_from!r}", path=path, key="from", hint="Write YYYY-MM-DD") from None
        if last[0] is not None and first <= _day(int(last[0]), str(last[1])):
            note = (f"data from {device_id} on or after {first} already stored stay with the client they were "
                    "imported for")
    before = owner_on(db, device_id, first) or str(row[0])
    with transaction(db, path) as t:
        t.execute("INSERT OR REPLACE INTO device_assignments VALUES (?, ?, ?, ?)", (device_id, first, client_id, now()))
        latest = t.execute("SELECT client_id FROM device_assignments WHERE device_id = ? ORDER BY valid_from DESC "
                           "LIMIT 1", (device_id,)).fetchone()[0]
        t.execute("UPDATE devices SET client_id = ? WHERE device_id = ?", (latest, device_id))
    return before, first, note


def ensure_device(db: sqlite3.Connection, path: Path, client_id: str, device_id: str, kind: str | None = None,
                  serial: str | None = None, span: tuple[int, int] | None = None, tz: str = "UTC") -> None:
    """Add a new sensor (assigned to ``client_id`` from the start), or check that ``client_id`` had it
    over ``span`` (first and last sample, ns; None: today).

    Raises
    ------
    StoreError
        Another client had the sensor then (names who and from when, and the command that moves it).
    """
    if db.execute("SELECT 1 FROM devices WHERE device_id = ?", (device_id,)).fetchone() is None:
        db.execute("INSERT INTO devices VALUES (?, ?, ?, ?, ?)", (device_id, client_id, kind, serial, now()))
        db.execute("INSERT INTO device_assignments VALUES (?, ?, ?, ?)", (device_id, FROM_START, client_id, now()))
        return
    d0 = _day(span[0] if span else None, tz)
    d1 = _day(span[1] if span else None, tz)
    owner = owner_on(db, device_id, d0)
    hint = f"Check the --client, or give the sensor to the client: impactlab device assign {device_id} " \
           f"--client {client_id} --from {d0}"
    if owner != client_id:
        raise StoreError(f"device {device_id!r} belongs to client {owner!r} on {d0}, not {client_id!r}",
                         path=path, hint=hint)
    moved = db.execute("SELECT valid_from, client_id FROM device_assignments WHERE device_id = ? AND valid_from > ? "
                       "AND valid_from <= ? AND client_id != ? ORDER BY valid_from LIMIT 1",
                       (device_id, d0, d1, client_id)).fetchone()
    if moved is not None:
        raise StoreError(f"the recording runs from {d0} to {d1}, but device {device_id!r} went to client "
                         f"{moved[1]!r} on {moved[0]}", path=path,
                         hint="Split the recording at that day, or correct the assignment with impactlab device assign")
