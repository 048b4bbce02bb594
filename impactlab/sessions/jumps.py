"""Jumps: a high-band landing within 0.6 s after a flight phase; sets and jumps sessions.

See :mod:`impactlab.sessions` for the rule.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pandas as pd

from ..daily import grouped_band_codes
from ..markers import Markers
from ._common import _NS, _DetectorBase, _ns


class _Flights:
    """Runs of magnitude below a threshold, carried across chunks (UTC ns of first/last sample)."""

    def __init__(self, thr: float, gap_ns: float) -> None:
        self.thr = thr
        self.gap_ns = gap_ns
        self.open: tuple[int, int] | None = None  # (start, last) of a run reaching the chunk end
        self.starts: list[np.ndarray] = []
        self.lasts: list[np.ndarray] = []
        self.prev_t: int | None = None

    def update(self, t: np.ndarray, mag: np.ndarray) -> None:
        if t.size == 0:
            return
        low = mag < self.thr
        brk = np.r_[True, np.diff(t) > self.gap_ns]  # sample i does not follow i - 1 without a gap
        if self.prev_t is not None:
            brk[0] = t[0] - self.prev_t > self.gap_ns
        begin = low & (brk | ~np.r_[False, low[:-1]])
        end = low & (~np.r_[low[1:], False] | np.r_[brk[1:], False])
        s_t = t[begin].astype(np.int64)
        l_t = t[end].astype(np.int64)
        if self.open is not None:
            if low[0] and not brk[0]:  # the open run goes on: begin[0] is set, so s_t[0] is that run
                s_t[0] = self.open[0]
            else:
                self.starts.append(np.array([self.open[0]], np.int64))
                self.lasts.append(np.array([self.open[1]], np.int64))
            self.open = None
        if low[-1]:  # may go on in the next chunk
            self.open = (int(s_t[-1]), int(l_t[-1]))
            s_t, l_t = s_t[:-1], l_t[:-1]
        self.starts.append(s_t)
        self.lasts.append(l_t)
        self.prev_t = int(t[-1])

    def finish(self) -> tuple[np.ndarray, np.ndarray]:
        if self.open is not None:
            self.starts.append(np.array([self.open[0]], np.int64))
            self.lasts.append(np.array([self.open[1]], np.int64))
            self.open = None
        if not self.starts:
            return np.empty(0, np.int64), np.empty(0, np.int64)
        return np.concatenate(self.starts), np.concatenate(self.lasts)



class _JumpSessions(_DetectorBase):
    """Jumps sessions from the flight runs and the impacts (part of the session detector)."""

    def _long_flights(self, f_start: np.ndarray, f_last: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Runs of low magnitude lasting at least ``flight_min_s`` (free fall)."""
        period = _NS / self.fs
        keep = f_last - f_start + period >= self.cfg.flight_min_s * _NS - 1e-3 * period
        return f_start[keep], f_last[keep]

    def _jumps(self, impacts: pd.DataFrame, f_start: np.ndarray, f_last: np.ndarray,
               markers: Markers | None) -> list[dict[str, Any]]:
        cfg = self.cfg
        f_start, f_last = self._long_flights(f_start, f_last)
        out: list[dict[str, Any]] = []
        if len(impacts) and f_last.size:
            high = grouped_band_codes(impacts, self.config) == 2
            t = impacts["time"].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy().astype("datetime64[ns]").astype(np.int64)
            idx = np.flatnonzero(high)
            th = t[idx]
            j = np.searchsorted(f_last, th, side="left") - 1  # last flight ending before the peak
            ok = j >= 0
            jj = np.where(ok, j, 0)
            ok &= (th - f_last[jj]) <= cfg.flight_window_s * _NS
            # one landing per flight: the first high peak after it
            cand = np.flatnonzero(ok)
            _, first = np.unique(jj[cand], return_index=True)
            cand = cand[np.sort(first)]
            jt = th[cand]
            takeoff = f_start[jj[cand]]
        else:
            jt = np.empty(0, np.int64)
            takeoff = jt
        if jt.size:
            gaps = np.diff(jt)
            new_set = np.r_[True, gaps >= cfg.set_gap_s * _NS]
            new_ses = np.r_[True, gaps >= cfg.session_gap_s * _NS]
            bounds = np.r_[np.flatnonzero(new_ses), jt.size]
            for a, b in itertools.pairwise(bounds):
                out.append({"kind": "jumps", "_s": int(takeoff[a]), "_e": int(jt[b - 1]),
                            "n_jumps": int(b - a), "n_sets": int(new_set[a:b].sum()), "label_source": "detected"})
        if markers is not None:
            for m in markers.with_label("jumps"):
                ms, me = _ns(m.start), _ns(m.end)
                hit = [r for r in out if r["_s"] < me and r["_e"] > ms]
                for r in hit:
                    r["label_source"] = f"detected+{m.source}"
                if not hit:
                    self._warn(f"{m.where()}: jumps marker {m.start.isoformat()} to {m.end.isoformat()}: no jump (a high "
                               "landing after a flight phase) was found there; heel drops and stamps count as impacts, not jumps")
        return out

