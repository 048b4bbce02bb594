"""Days and plan checks rebuilt from the stored facts.

``daily_loads`` and ``plan_checks`` are rebuilt for every ISO week an import touches, by running
:func:`impactlab.daily.daily_load` (and :func:`impactlab.plan.check_plan` when the client has a
plan) over the union of the stored facts. Re-importing a file, or importing overlapping data,
therefore never counts an impact or a minute twice. The rebuilt days also get the bone-loading
indices ``dss``, ``oi``, ``peak_grf_bw_max`` and ``load_basis``, computed from the stored impacts
and sessions as ``analyze`` does (``add_loading`` then ``loading_indices``), with the client's
stored body mass (GRF in body weights) or, without one, the acceleration proxy.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..config import DetectionConfig
from ..daily import daily_load
from ..loading import DSS_EXPONENT, add_loading, loading_indices, plan_vest_schedule, vest_mass_by_day
from ..plan import Plan, check_segments
from ..plan.versions import FROM_START
from ..schema import ACTIVITIES, DAILY, SESSION_KINDS, SESSIONS, coerce, empty

__all__ = ["DAILY_COLS", "FROM_START", "LOADING_COLS", "check_versions", "daily_from_facts", "num", "plan_versions",
           "rebuild_weeks", "sessions_frame", "text_or_none", "vest_schedule"]

DAILY_COLS = list(DAILY)
#: Loading-index columns of ``daily_loads`` (schema 3; NULL for days built before).
LOADING_COLS = ["dss", "oi", "peak_grf_bw_max", "load_basis"]




def plan_versions(db: sqlite3.Connection, client_id: str) -> list[tuple[str, Plan]]:
    """The client's plan versions as (first day ``YYYY-MM-DD``, plan), oldest first."""
    from ..plan import parse_plan

    rows = db.execute("SELECT valid_from, plan_toml, plan_path FROM plan_versions WHERE client_id = ? "
                      "ORDER BY valid_from", (client_id,)).fetchall()
    return [(str(v), parse_plan(str(t), path=p or f"{client_id}-plan.toml")) for v, t, p in rows]


def vest_schedule(versions: Sequence[tuple[str, Plan]]) -> tuple[tuple[dt.date | None, float], ...]:
    """The vest mass (kg) over time across plan versions and their phases, as (first day or None, kg).

    Each version rules from its ``valid_from`` until the next version; inside it, its phases
    (:func:`impactlab.loading.plan_vest_schedule`) change the mass from their first day.
    """
    out: list[tuple[dt.date | None, float]] = []
    for i, (v, plan) in enumerate(versions):
        start = None if v == FROM_START else dt.date.fromisoformat(v)
        end = dt.date.fromisoformat(versions[i + 1][0]) if i + 1 < len(versions) else None
        steps = plan_vest_schedule(plan)
        if start is None:
            out.append(steps[0])
        else:
            vw = plan.in_force(start).targets.vest_walk
            out.append((start, float(vw.vest_mass_kg or 0.0) if vw is not None else 0.0))
        out.extend((d, k) for d, k in steps[1:]
                   if d is not None and (start is None or d > start) and (end is None or d < end))
    return tuple(out)


def check_versions(daily: pd.DataFrame, versions: Sequence[tuple[str, Plan]],
                   unobservable: Sequence[str] = ()) -> pd.DataFrame:
    """PLAN_CHECK rows with each day checked against the plan version in force that day.

    A weekly target's row (dated the week's Monday) comes from the version in force on that Monday,
    over the days of the week that version covers; a first version starting mid-week judges its week.
    A version that is a progression (``[[phases]]``) checks its days against the phase in force.
    """
    return check_segments(daily, [(None if v == FROM_START else pd.Timestamp(v), p) for v, p in versions], unobservable)


def rebuild_weeks(db: sqlite3.Connection, client_id: str, first_ns: int, last_ns: int, tz: str,
                  config: DetectionConfig, plan: Plan | None) -> None:
    """Recompute daily loads and plan checks for the ISO weeks touched by [first_ns, last_ns].

    ``plan`` (the latest version) gives the vest mass for the loading indices; the checks use the
    client's stored plan versions, each day against the version in force.
    """
    d0 = pd.Timestamp(first_ns, tz="UTC").tz_convert(tz).normalize()
    d1 = pd.Timestamp(last_ns, tz="UTC").tz_convert(tz).normalize()
    w0 = (d0 - pd.Timedelta(days=d0.weekday())).tz_localize(None)
    w1 = (d1 + pd.Timedelta(days=7 - d1.weekday())).tz_localize(None)  # exclusive
    lo = pd.Timestamp(w0).tz_localize(tz, ambiguous=False, nonexistent="shift_forward").value
    hi = pd.Timestamp(w1).tz_localize(tz, ambiguous=False, nonexistent="shift_forward").value
    spans = db.execute("SELECT start_ns, end_ns FROM recordings WHERE client_id = ? AND end_ns >= ? AND start_ns < ?",
                       (client_id, lo, hi)).fetchall()
    daily = daily_from_facts(db, client_id, spans, lo, hi, tz, config, plan)
    db.execute("DELETE FROM daily_loads WHERE client_id = ? AND date >= ? AND date < ?",
               (client_id, w0.strftime("%Y-%m-%d"), w1.strftime("%Y-%m-%d")))
    cols = ["client_id", *DAILY_COLS, *LOADING_COLS]
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
    versions = plan_versions(db, client_id) or [(FROM_START, plan)]
    check = check_versions(daily, versions, sorted(skip))
    db.executemany("INSERT INTO plan_checks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   [(client_id, pd.Timestamp(r["date"]).strftime("%Y-%m-%d"), str(r["target"]), str(r["period"]),
                     num(r["required"]), num(r["achieved"]), text_or_none(r["unit"]),
                     _met(r["met"], str(r["status"])), str(r["status"]),
                     int(bool(r["partial"])), text_or_none(r.get("detail"))) for r in check.to_dict("records")])


def daily_from_facts(db: sqlite3.Connection, client_id: str, spans: Sequence[tuple[int, int]], lo: int, hi: int,
                     tz: str, config: DetectionConfig, plan: Plan | None = None) -> pd.DataFrame:
    """DAILY rows (with loading indices) of the days in [lo, hi) that a recording in ``spans`` covers."""
    if not spans:
        return empty(DAILY)
    imp = pd.DataFrame(db.execute(
        "SELECT time_ns, peak_g, clipped, session_kind, session_start_ns, activity FROM impacts WHERE client_id = ? "
        "AND time_ns >= ? AND time_ns < ? ORDER BY time_ns",
        (client_id, lo, hi)).fetchall(),
        columns=["time_ns", "peak_g", "clipped", "session_kind", "session_start_ns", "activity"],
        dtype=object)  # object: ns session starts must stay exact ints beside NULLs
    impacts = pd.DataFrame({
        "time": pd.DatetimeIndex(imp["time_ns"].to_numpy(dtype=np.int64).view("datetime64[ns]")).tz_localize("UTC"),
        "peak_g": imp["peak_g"].to_numpy(dtype=np.float64)})
    blocks = pd.DataFrame(db.execute(
        "SELECT block_start_ns, n, wear_s, nonwear FROM wear_blocks WHERE client_id = ? AND block_start_ns >= ? "
        "AND block_start_ns < ? ORDER BY block_start_ns", (client_id, lo, hi)).fetchall(),
        columns=["start_ns", "n", "wear_s", "nonwear"])
    sessions = sessions_frame(db, client_id, lo, hi, tz)
    first = max(lo, min(s for s, _ in spans))
    last = min(hi - 1, max(e for _, e in spans))
    daily = daily_load(impacts, blocks, tz=tz, first_ns=first, last_ns=last, config=config,
                       sessions=sessions if len(sessions) else None)
    covered: set[pd.Timestamp] = set()
    for s, e in spans:
        a = pd.Timestamp(max(s, lo), tz="UTC").tz_convert(tz).normalize().tz_localize(None)
        b = pd.Timestamp(min(e, hi - 1), tz="UTC").tz_convert(tz).normalize().tz_localize(None)
        covered.update(pd.date_range(a, b, freq="D"))
    daily = _add_loading_indices(db, client_id, daily, impacts, imp, sessions, tz, config, plan)
    daily["comparable_to_hannam"] = ~daily["date"].isin(sorted(_not_comparable_days(db, client_id, lo, hi, tz, config)))
    return daily[daily["date"].isin(covered)].reset_index(drop=True)


def _not_comparable_days(db: sqlite3.Connection, client_id: str, lo: int, hi: int, tz: str,
                         config: DetectionConfig) -> set[pd.Timestamp]:
    """Local days in [lo, hi) touched by a recording whose high band is not comparable with Hannam's norms.

    A recording's verdict is its ``qc.comparable_to_hannam.high`` (written by analyze); a recording
    stored before that verdict existed is judged by the same rule: sampled below 99 % of the preset's rate.
    """
    out: set[pd.Timestamp] = set()
    for s, e, rate, qc_json in db.execute(
            "SELECT start_ns, end_ns, sample_rate_hz, qc_json FROM recordings WHERE client_id = ? AND end_ns >= ? "
            "AND start_ns < ?", (client_id, lo, hi)):
        verdict = json.loads(qc_json).get("comparable_to_hannam", {}).get("high")
        if verdict is None:
            verdict = not (config.target_rate_hz and rate is not None and float(rate) < config.target_rate_hz * 0.99)
        if verdict:
            continue
        a = pd.Timestamp(max(int(s), lo), tz="UTC").tz_convert(tz).normalize().tz_localize(None)
        b = pd.Timestamp(min(int(e), hi - 1), tz="UTC").tz_convert(tz).normalize().tz_localize(None)
        out.update(pd.date_range(a, b, freq="D"))
    return out


def sessions_frame(db: sqlite3.Connection, client_id: str, lo: int, hi: int, tz: str) -> pd.DataFrame:
    """Stored sessions starting in [lo, hi) as a SESSIONS table in zone ``tz``."""
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


def _met(met: Any, status: str) -> int | None:
    """1/0 for a judged check; NULL whenever the status is not ``met``/``not met`` (no data, not scheduled)."""
    if status not in ("met", "not met") or met is None or met is pd.NA:
        return None
    return int(status == "met")


def num(v: Any) -> float | None:
    """A finite float, or None (NA, None, NaN, inf)."""
    if v is None or v is pd.NA:
        return None
    f = float(v)
    return None if not np.isfinite(f) else f


def text_or_none(v: Any) -> str | None:
    """``str(v)``, or None for None/NA."""
    return None if v is None or v is pd.NA else str(v)


def _daily_row(r: Mapping[str, Any]) -> tuple[Any, ...]:
    out: list[Any] = []
    for c in DAILY_COLS:
        v = r[c]
        if c == "date":
            out.append(pd.Timestamp(v).strftime("%Y-%m-%d"))
        elif DAILY[c] == "bool":
            out.append(int(bool(v)))
        elif DAILY[c] == "int64":
            out.append(int(v))
        else:
            out.append(float(v))
    for c in LOADING_COLS:
        v = r.get(c)
        out.append(text_or_none(v) if c == "load_basis" else num(v))
    return tuple(out)


def _add_loading_indices(db: sqlite3.Connection, client_id: str, daily: pd.DataFrame, impacts: pd.DataFrame,
                         stored: pd.DataFrame, sessions: pd.DataFrame, tz: str, config: DetectionConfig,
                         plan: Plan | None) -> pd.DataFrame:
    """``daily`` with the loading indices computed as the pipeline's loading stage does.

    The stored impacts get back the session analyze put them in (by its natural key; a session since
    replaced by a longer one of the same kind is found by time) and their stored ``activity`` (an impact
    stored before schema 7 takes the activity of its session's kind, ``other`` without one), and go
    through ``add_loading`` then ``loading_indices``, with the client's stored body mass (None: the
    acceleration proxy) and the vest mass in force on each impact's local day (plan version, then its phase).
    """
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
    kind_of = dict(zip(sessions["session_id"].astype(int), sessions["kind"].astype(str), strict=True)) if len(sessions) else {}
    act = [a if a is not None else (SESSION_KINDS[kind_of[int(i)]].activity if i is not pd.NA and int(i) in kind_of
                                    and kind_of[int(i)] in SESSION_KINDS else "other")
           for a, i in zip(stored["activity"], sid, strict=True)]
    imp = impacts.assign(session_id=sid, clipped=stored["clipped"].to_numpy(dtype=bool),
                         activity=pd.Categorical(act, categories=list(ACTIVITIES)))
    vest = vest_mass_by_day(impacts["time"], tz, vest_schedule(plan_versions(db, client_id) or [(FROM_START, plan)])
                            if plan is not None else ())
    imp = add_loading(imp, sessions=sessions, body_mass_kg=mass, vest_mass_kg=vest,
                      placement="hip", vector=config.vector, range_note=False)
    res, _ = loading_indices(imp, tz=tz, days=daily["date"], m=DSS_EXPONENT)
    out = daily.copy()
    for c in LOADING_COLS:
        out[c] = res[c].to_numpy()
    return out
