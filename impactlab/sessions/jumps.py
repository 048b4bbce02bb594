"""Jumps: a landing (medium band or above) after a flight phase, outside steady gait or inside a jumping bout.

See :mod:`impactlab.sessions` for the rule.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pandas as pd

from ..daily import grouped_band_codes
from ..markers import Markers
from ..schema import BANDS
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



class _Airborne:
    """Per half-second counts of samples and of samples whose magnitude is below ``thr`` (epoch-aligned
    bins, so the counts are the same whatever the chunking)."""

    BIN_NS = _NS // 2

    def __init__(self, thr: float) -> None:
        self.thr = thr
        self.ids: list[np.ndarray] = []
        self.n: list[np.ndarray] = []
        self.low: list[np.ndarray] = []

    def update(self, t: np.ndarray, mag: np.ndarray) -> None:
        if not t.size:
            return
        b = t // self.BIN_NS
        first = np.flatnonzero(np.r_[True, np.diff(b) != 0])
        self.ids.append(b[first])
        self.n.append(np.diff(np.r_[first, b.size]))
        self.low.append(np.add.reduceat((mag < self.thr).astype(np.int64), first))

    def _bins(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if not self.ids:
            return np.empty(0, np.int64), np.empty(0), np.empty(0)
        ids, inv = np.unique(np.concatenate(self.ids), return_inverse=True)
        n = np.bincount(inv, np.concatenate(self.n).astype(np.float64))
        low = np.bincount(inv, np.concatenate(self.low).astype(np.float64))
        return ids, n, low

    def per_window(self, win_ids: np.ndarray, win_ns: int) -> np.ndarray:
        """Share of samples below ``thr`` in each window ``win_ids`` of ``win_ns`` (0 without samples)."""
        ids, n, low = self._bins()
        if not ids.size or not win_ids.size:
            return np.zeros(win_ids.size)
        w = (ids * self.BIN_NS) // win_ns
        uw, inv = np.unique(w, return_inverse=True)
        tot, lo = np.bincount(inv, n), np.bincount(inv, low)
        pos = np.clip(np.searchsorted(uw, win_ids), 0, uw.size - 1)
        hit = uw[pos] == win_ids
        return np.where(hit, lo[pos] / np.maximum(tot[pos], 1), 0.0)

    def share(self, centre_ns: np.ndarray, half_ns: float) -> np.ndarray:
        """Share of samples below ``thr`` in the bins covering ``centre ± half`` (NaN without samples)."""
        ids, n, low = self._bins()
        if not ids.size or not centre_ns.size:
            return np.full(centre_ns.size, np.nan)
        cn, cl = np.r_[0.0, np.cumsum(n)], np.r_[0.0, np.cumsum(low)]
        a = np.searchsorted(ids, (centre_ns - half_ns) // self.BIN_NS, "left")
        b = np.searchsorted(ids, (centre_ns + half_ns) // self.BIN_NS, "right")
        tot = cn[b] - cn[a]
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(tot > 0, (cl[b] - cl[a]) / np.maximum(tot, 1), np.nan)


def _landings(t_high: np.ndarray, f_start: np.ndarray, f_last: np.ndarray, window_ns: float) -> tuple[np.ndarray, np.ndarray]:
    """Index into ``t_high`` of the first high peak within ``window_ns`` after each flight, and that flight's start."""
    if not (t_high.size and f_last.size):
        return np.empty(0, np.int64), np.empty(0, np.int64)
    j = np.searchsorted(f_last, t_high, side="left") - 1  # last flight ending before the peak
    ok = j >= 0
    jj = np.where(ok, j, 0)
    ok &= (t_high - f_last[jj]) <= window_ns
    cand = np.flatnonzero(ok)
    _, first = np.unique(jj[cand], return_index=True)  # one landing per flight: the first high peak after it
    cand = cand[np.sort(first)]
    return cand, f_start[jj[cand]]


class _JumpSessions(_DetectorBase):
    """Jumps sessions from the flight runs and the impacts (part of the session detector)."""

    jump_ns: np.ndarray  # the jump landings (UTC ns), set by _jumps

    def _long_flights(self, f_start: np.ndarray, f_last: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Runs of low magnitude lasting at least ``flight_min_s`` (free fall)."""
        period = _NS / self.fs
        keep = f_last - f_start + period >= self.cfg.flight_min_s * _NS - 1e-3 * period
        return f_start[keep], f_last[keep]

    def _jumps(self, impacts: pd.DataFrame, flights: tuple[np.ndarray, np.ndarray],
               bout_flights: tuple[np.ndarray, np.ndarray], airborne: _Airborne,
               markers: Markers | None) -> list[dict[str, Any]]:
        jt, takeoff = self._jump_landings(impacts, flights, bout_flights, airborne)
        self.jump_ns = jt
        cfg = self.cfg
        out: list[dict[str, Any]] = []
        if jt.size:
            gaps = np.diff(jt)
            new_set = np.r_[True, gaps >= cfg.set_gap_s * _NS]
            new_ses = np.r_[True, gaps >= cfg.session_gap_s * _NS]
            bounds = np.r_[np.flatnonzero(new_ses), jt.size]
            set_bounds = np.r_[np.flatnonzero(new_set), jt.size]
            for a, b in itertools.pairwise(bounds):
                sb = set_bounds[(set_bounds >= a) & (set_bounds <= b)]
                sets = [(int(takeoff[i]), int(jt[k - 1]), int(k - i)) for i, k in itertools.pairwise(sb)]
                out.append({"kind": "jumps", "_s": int(takeoff[a]), "_e": int(jt[b - 1]), "_sets": sets,
                            "n_jumps": int(b - a), "n_sets": len(sets), "label_source": "detected"})
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

    def _jump_landings(self, impacts: pd.DataFrame, flights: tuple[np.ndarray, np.ndarray],
                       bout_flights: tuple[np.ndarray, np.ndarray], airborne: _Airborne) -> tuple[np.ndarray, np.ndarray]:
        """Landing times and take-off times (UTC ns) of the jumps.

        A high landing after a flight (``flight_max_g``) with fewer than ``gait_min_impacts`` impacts
        within ``gait_window_s`` is a jump on its own. A landing inside such a rhythm (steps or hops)
        is judged with its bout: landings after a relaxed flight (``bout_flight_max_g``) less than
        ``gait_window_s`` apart form a bout, and the bout is continuous jumping only when the median
        share of airborne samples (``airborne_g``) around its landings reaches ``jump_bout_airborne``;
        otherwise its flights are running strides (or walking) and none of them is a jump.
        """
        cfg = self.cfg
        empty = np.empty(0, np.int64)
        if not len(impacts):
            return empty, empty
        t = impacts["time"].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy().astype("datetime64[ns]").astype(np.int64)
        th = t[grouped_band_codes(impacts, self.config) >= BANDS.index(cfg.jump_min_band)]  # codes follow BANDS
        win = cfg.flight_window_s * _NS
        half = cfg.gait_window_s * _NS
        # impacts (any band) around each high peak: the rhythm of steps or hops
        lo, hi = np.searchsorted(t, th - half, "left"), np.searchsorted(t, th + half, "right")
        n_near = hi - lo
        # regular steps: the intervals before and after an impact agree, or (a limp, a harder side) the
        # strides of two steps do; push-off, landing and recoil of a single jump agree in neither
        tol = cfg.gait_interval_tolerance
        d = np.diff(t).astype(np.float64)
        regular = np.zeros(t.size, bool)
        if d.size >= 2:
            regular[1:-1] = np.abs(d[1:] - d[:-1]) <= tol * np.maximum(d[1:], d[:-1])
        if d.size >= 3:
            s = d[1:] + d[:-1]  # s[j]: impacts j -> j + 2
            regular[2:-1] |= np.abs(s[1:] - s[:-1]) <= tol * np.maximum(s[1:], s[:-1])
        c = np.r_[0, np.cumsum(regular)]
        share = (c[hi] - c[lo]) / np.maximum(n_near, 1)
        rhythmic = (n_near >= cfg.gait_min_impacts) & (share >= cfg.gait_regular_share)
        s_i, s_take = _landings(th, *self._long_flights(*flights), win)
        alone = ~rhythmic[s_i]
        r_i, r_take = _landings(th, *self._long_flights(*bout_flights), win)
        inside = rhythmic[r_i]
        r_i, r_take = r_i[inside], r_take[inside]
        keep = np.zeros(r_i.size, bool)
        if r_i.size:
            share = airborne.share(th[r_i], cfg.airborne_window_s * _NS)
            bout = np.r_[0, np.cumsum(np.diff(th[r_i]) >= half)]
            med = pd.Series(share).groupby(bout).transform("median").fillna(0.0).to_numpy()
            keep = med >= cfg.jump_bout_airborne
        idx = np.r_[s_i[alone], r_i[keep]]
        take = np.r_[s_take[alone], r_take[keep]]
        idx, first = np.unique(idx, return_index=True)
        return th[idx], take[first]

