"""Adding an analysis's facts (impacts, wear blocks, sessions) under their natural keys.

* ``impacts``: UNIQUE (client, time); an impact within the preset's minimum peak spacing of one
  already stored is the same impact seen again (overlapping files) and is not added. Each impact
  keeps the (kind, start) of the session analyze put it in, for the GRF model and the OI.
* ``wear_blocks``: UNIQUE (client, 15 min block start); a block seen twice keeps its larger wear
  time (a block cut by the end of one file is completed by the next).
* ``sessions``: UNIQUE (client, kind, start); a session overlapping a stored one of the same kind
  replaces it only when longer.

Every function runs inside the caller's transaction and returns the number of rows that were new.
"""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pandas as pd

from ..config import DetectionConfig
from .raw import jsonable

__all__ = ["add_blocks", "add_impacts", "add_sessions"]


def add_impacts(db: sqlite3.Connection, client_id: str, rid: int, impacts: pd.DataFrame, config: DetectionConfig,
                sessions: pd.DataFrame | None = None) -> int:
    """Insert impacts not within ``config.min_distance_s`` of a stored one; returns how many were new."""
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
    act: list[str | None] = ([None if a is None else str(a) for a in impacts["activity"].to_numpy(dtype=object, na_value=None)]
                             if "activity" in impacts.columns else [None] * t.size)
    rows = [(client_id, int(tt), float(pk), str(b), int(bool(c)), rid, sk, ss, a)
            for tt, pk, b, c, k, sk, ss, a in zip(t, impacts["peak_g"], impacts["band"].astype(str), impacts["clipped"],
                                                  keep, s_kind, s_start, act, strict=True) if k]
    before = db.total_changes
    db.executemany("INSERT OR IGNORE INTO impacts (client_id, time_ns, peak_g, band, clipped, recording_id, "
                   "session_kind, session_start_ns, activity) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    return db.total_changes - before


def add_blocks(db: sqlite3.Connection, client_id: str, rid: int, blocks: pd.DataFrame | None) -> int:
    """Insert 15-min wear blocks, keeping the larger wear time of a block seen twice; returns how many were new."""
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


def add_sessions(db: sqlite3.Connection, client_id: str, rid: int, sessions: pd.DataFrame) -> int:
    """Insert sessions; one overlapping a stored session of its kind replaces it only when longer."""
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
        fields = {str(k): jsonable(v) for k, v in r.items() if k not in base}
        db.execute("INSERT INTO sessions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   (client_id, kind, s_ns, e_ns, dur, int(r["n_impacts"]), int(r["n_low"]), int(r["n_medium"]),
                    int(r["n_high"]), json.dumps(fields), rid))
        added += 1 - len(overl)
    return added
