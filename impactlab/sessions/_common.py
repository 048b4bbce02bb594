"""Helpers shared by the session detectors: time conversion, runs of flagged windows, spectra."""

from __future__ import annotations

import itertools
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..config import DetectionConfig, SessionConfig
from ..errors import DataQualityWarning
from ..recording import RecordingMeta

if TYPE_CHECKING:
    from .gait import _Windows

_NS = 1_000_000_000


def detrend(m: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows of ``m`` (NaN = no sample) minus their mean, zero where absent; the presence mask and count."""
    present = ~np.isnan(m)
    cnt = present.sum(axis=1)
    mean = np.where(cnt > 0, np.nansum(m, axis=1) / np.maximum(cnt, 1), 0.0)
    x = np.where(present, m - mean[:, None], 0.0)
    return x, present, cnt



def parabola(spec: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Sub-bin offset of each row's peak at ``k`` by a parabola through the log power."""
    rows = np.arange(spec.shape[0])
    km = np.clip(k - 1, 0, spec.shape[1] - 1)
    kp = np.clip(k + 1, 0, spec.shape[1] - 1)
    y0, y1, y2 = (np.log(np.maximum(spec[rows, j], 1e-300)) for j in (km, k, kp))
    den = y0 - 2 * y1 + y2
    off = np.where(np.abs(den) > 1e-12, 0.5 * (y0 - y2) / np.where(den == 0, 1, den), 0.0)
    return np.clip(off, -0.5, 0.5)



def _ns(t: pd.Timestamp) -> int:
    return int(t.tz_convert("UTC").as_unit("ns").value)


def _runs(ids: np.ndarray, flag: np.ndarray, *, max_gap: int) -> list[tuple[int, int]]:
    """Index ranges [a, b) of flagged entries whose ids are consecutive (gaps up to ``max_gap`` ids bridged)."""
    idx = np.flatnonzero(flag)
    if not idx.size:
        return []
    brk = np.flatnonzero(np.diff(ids[idx]) > max_gap + 1) + 1
    starts = np.r_[0, brk]
    ends = np.r_[brk, idx.size]
    return [(int(idx[a]), int(idx[b - 1]) + 1) for a, b in zip(starts, ends, strict=True)]


def _merge(rows: list[dict[str, Any]], max_break_s: float) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for r in sorted(rows, key=lambda r: r["_s"]):
        if out and r["_s"] - out[-1]["_e"] < max_break_s * _NS:
            out[-1]["_e"] = max(out[-1]["_e"], r["_e"])
        else:
            out.append(r)
    return out



#: Which kind holds a moment claimed by two sessions (lower wins): a jump set over the gait around it,
#: a plate over anything, running over walking, a marked vest walk over plain walking.
PRIORITY = {"jumps": 0, "vibration": 1, "run": 2, "vest_walk": 3, "brisk_walk": 4, "walk": 4}


def split_jump_sessions(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A jumps session is its sets: cut it between two sets where another session lies in the gap."""
    others = [r for r in rows if r["kind"] != "jumps"]
    out = list(others)
    for r in rows:
        if r["kind"] != "jumps" or len(r.get("_sets", ())) < 2:
            if r["kind"] == "jumps":
                out.append(r)
            continue
        groups: list[list[tuple[int, int, int]]] = [[r["_sets"][0]]]
        for prev, nxt in itertools.pairwise(r["_sets"]):
            if any(o["_s"] < nxt[0] and o["_e"] > prev[1] for o in others):
                groups.append([])
            groups[-1].append(nxt)
        for g in groups:
            out.append({**r, "_s": g[0][0], "_e": g[-1][1], "_sets": g, "n_jumps": sum(x[2] for x in g), "n_sets": len(g)})
    return out


def one_kind_per_moment(rows: list[dict[str, Any]], min_s: dict[str, float]) -> list[dict[str, Any]]:
    """Sessions that never overlap: each moment goes to the session of the highest :data:`PRIORITY`.

    A lower-priority session is cut around the moments already taken; a piece shorter than its kind's
    ``min_s`` (s) is dropped (its time belongs to the other session).
    """
    taken: list[tuple[int, int]] = []
    out: list[dict[str, Any]] = []
    for r in sorted(rows, key=lambda r: (PRIORITY.get(r["kind"], 9), r["_s"])):
        pieces = [(r["_s"], r["_e"])]
        for a, b in taken:
            nxt = []
            for s, e in pieces:
                if b <= s or a >= e:
                    nxt.append((s, e))
                    continue
                if s < a:
                    nxt.append((s, a))
                if b < e:
                    nxt.append((b, e))
            pieces = nxt
        whole = pieces == [(r["_s"], r["_e"])]
        for s, e in pieces:
            if whole or e - s >= min_s.get(r["kind"], 0.0) * _NS:
                out.append(r if whole else {**r, "_s": s, "_e": e})
                taken.append((s, e))
    return out


def bridge_run_pauses(rows: list[dict[str, Any]], max_pause_s: float) -> list[dict[str, Any]]:
    """Running bouts less than ``max_pause_s`` (s) apart with no other session between them are one session.

    The session's duration is then its elapsed time, pauses included (standing at a crossing); its
    cadence the median over the gait windows of its bouts, and its ``note`` says how many pauses of how
    many seconds it holds, so the moving time is the duration less the pauses. Call it on sessions that
    no longer overlap (after :func:`one_kind_per_moment`).
    """
    if max_pause_s <= 0:
        return rows
    others = [r for r in rows if r["kind"] != "run"]
    out: list[dict[str, Any]] = []
    for r in sorted((r for r in rows if r["kind"] == "run"), key=lambda r: r["_s"]):
        prev = out[-1] if out else None
        if (prev is not None and r["_s"] - prev["_e"] < max_pause_s * _NS
                and not any(o["_s"] < r["_s"] and o["_e"] > prev["_e"] for o in others)):
            pauses = [*prev.get("_pauses", []), r["_s"] - prev["_e"]]
            cad = np.r_[prev.get("_cad", np.empty(0)), r.get("_cad", np.empty(0))]
            c = round(float(np.median(cad)), 1) if cad.size else prev["cadence_spm"]
            out[-1] = {**prev, "_e": r["_e"], "_cad": cad, "_pauses": pauses, "cadence_spm": c,
                       "note": f"elapsed time; {len(pauses)} pause{'s' if len(pauses) > 1 else ''} ({sum(pauses) / _NS:.0f} s) "
                               f"included, moving {(r['_e'] - prev['_s'] - sum(pauses)) / _NS / 60:.1f} min"}
        else:
            out.append(r)
    return others + out


class _DetectorBase:
    """State and helpers the per-kind parts of :class:`~impactlab.sessions.SessionDetector` share."""

    meta: RecordingMeta
    config: DetectionConfig
    cfg: SessionConfig
    fs: float
    plate_hz: float | None
    windows: _Windows
    notes: list[str]

    def _warn(self, text: str) -> None:
        self.notes.append(text)
        warnings.warn(text, DataQualityWarning, stacklevel=3)

    def _refine(self, feats: dict[str, np.ndarray], s_ns: int, e_ns: int, key: str, rel: float) -> tuple[int, int]:
        """Move the edges of [s_ns, e_ns) to the second: trim inactive edge seconds, or extend into the
        neighbouring window while its seconds are active (contiguously)."""
        ids = feats["id"]
        w = self.windows.win_ns
        n_sec = self.windows.n_sec
        step = w // n_sec
        a = int(np.searchsorted(ids, (s_ns - w) // w))
        b = int(np.searchsorted(ids, (e_ns + w - 1) // w, "right"))
        if b <= a:
            return s_ns, e_ns
        sec = feats[key][a:b].ravel()
        sec_n = feats["sec_n"][a:b].ravel()
        t_sec = (ids[a:b, None] * w + np.arange(n_sec)[None, :] * step).ravel()
        core = (t_sec >= s_ns) & (t_sec < e_ns) & (sec_n > 0)
        if not core.any():
            return s_ns, e_ns
        active = (sec >= rel * float(np.median(sec[core]))) & (sec_n > 0)
        near = (t_sec >= s_ns - w) & (t_sec < e_ns + w)
        active &= near
        ci = np.flatnonzero(core)
        lo, hi = int(ci[0]), int(ci[-1])
        if active[core].any():
            first = lo if active[lo] else int(ci[np.argmax(active[ci])])
            last = hi if active[hi] else int(ci[ci.size - 1 - np.argmax(active[ci][::-1])])
        else:
            return s_ns, e_ns
        if first == lo:
            while first > 0 and active[first - 1] and t_sec[first - 1] == t_sec[first] - step:
                first -= 1
        if last == hi:
            while last + 1 < t_sec.size and active[last + 1] and t_sec[last + 1] == t_sec[last] + step:
                last += 1
        return int(t_sec[first]), int(t_sec[last] + step)

