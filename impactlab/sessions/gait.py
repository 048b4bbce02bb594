"""Walking and running bouts: 10 s windows of periodic gait; the window feature extractor.

See :mod:`impactlab.sessions` for the rule.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..config import SessionConfig
from ..markers import Markers
from ._common import _NS, _DetectorBase, _ns, _runs, detrend, parabola
from .vibration import _PlateFeatures


class _Windows(_PlateFeatures):
    """Per-window features on epoch-aligned windows, buffering the incomplete last window."""

    def __init__(self, fs: float, cfg: SessionConfig) -> None:
        self.cfg = cfg
        self.n = max(20, int(round(cfg.walk_window_s * fs)))  # slots per long window
        self.fs_w = self.n / cfg.walk_window_s
        self.win_ns = int(round(cfg.walk_window_s * _NS))
        self.halves = int(round(cfg.walk_window_s / cfg.vib_window_s))
        self.n_half = self.n // self.halves
        self.n_sec = int(round(cfg.walk_window_s))
        self.sec_edges = np.round(np.arange(self.n_sec) * self.n / self.n_sec).astype(np.int64)
        self.buf_t = np.empty(0, np.int64)
        self.buf_v = np.empty(0)
        self.feats: list[dict[str, np.ndarray]] = []
        self._vib_mask_cache: dict[int, np.ndarray] = {}

    def update(self, t: np.ndarray, v: np.ndarray) -> None:
        bt = np.concatenate([self.buf_t, t]) if self.buf_t.size else t
        bv = np.concatenate([self.buf_v, v]) if self.buf_v.size else v
        if not bt.size:
            return
        last = bt[-1] // self.win_ns
        cut = int(np.searchsorted(bt, last * self.win_ns))
        if cut:
            self._process(bt[:cut], bv[:cut])
        self.buf_t, self.buf_v = bt[cut:].copy(), bv[cut:].copy()

    def finish(self) -> dict[str, np.ndarray]:
        if self.buf_t.size:
            self._process(self.buf_t, self.buf_v)
            self.buf_t, self.buf_v = np.empty(0, np.int64), np.empty(0)
        if not self.feats:
            return {}
        return {k: np.concatenate([f[k] for f in self.feats]) for k in self.feats[0]}

    def _process(self, t: np.ndarray, v: np.ndarray) -> None:
        wid = t // self.win_ns
        starts = np.flatnonzero(np.r_[True, np.diff(wid) != 0])
        ids = wid[starts]
        batch = 512  # windows per batch: bounded memory for long single chunks
        for a in range(0, ids.size, batch):
            b = min(a + batch, ids.size)
            i0 = starts[a]
            i1 = starts[b] if b < ids.size else t.size
            # the window row of each sample (wid is sorted: one run per window), without a search
            row = np.repeat(np.arange(b - a), np.diff(np.r_[starts[a:b], i1]))
            self.feats.append(self._features(ids[a:b], t[i0:i1], v[i0:i1], wid[i0:i1], row))

    def _features(self, ids: np.ndarray, t: np.ndarray, v: np.ndarray, wid: np.ndarray,
                  row: np.ndarray) -> dict[str, np.ndarray]:
        nw, n = ids.size, self.n
        pos = np.clip(((t - wid * self.win_ns) * n) // self.win_ns, 0, n - 1)
        m = np.full((nw, n), np.nan)
        m[row, pos] = v
        present = ~np.isnan(m)
        # per-second statistics (edge refinement): range and mean squared first difference
        d = np.full((nw, n), np.nan)
        np.subtract(m[:, 1:], m[:, :-1], out=d[:, 1:])
        d_ok = ~np.isnan(d)
        if n % self.n_sec == 0:  # equal seconds: reduce a (window, second, slot) view, no masked copies
            per = n // self.n_sec
            # fmax/fmin skip the NaN (absent) slots; seconds with under two samples read 0 below
            smax = np.fmax.reduce(m.reshape(nw, self.n_sec, per), axis=2)
            smin = np.fmin.reduce(m.reshape(nw, self.n_sec, per), axis=2)
            scount = present.reshape(nw, self.n_sec, per).sum(axis=2)
            dn = d_ok.reshape(nw, self.n_sec, per).sum(axis=2)
        else:
            smax = np.maximum.reduceat(np.where(present, m, -np.inf), self.sec_edges, axis=1)
            smin = np.minimum.reduceat(np.where(present, m, np.inf), self.sec_edges, axis=1)
            scount = np.add.reduceat(present, self.sec_edges, axis=1)
            dn = np.add.reduceat(d_ok, self.sec_edges, axis=1)
        with np.errstate(invalid="ignore"):
            srange = np.where(scount > 1, smax - smin, 0.0)
        dd = np.where(d_ok, d * d, 0.0)
        shf = np.add.reduceat(dd, self.sec_edges, axis=1) / np.maximum(dn, 1)
        # vibration on the halves
        vh = m[:, : self.n_half * self.halves].reshape(nw * self.halves, self.n_half)
        vib, vf, vr = self._vibration(vh)
        vib = vib.reshape(nw, self.halves)
        vf = vf.reshape(nw, self.halves)
        vr = vr.reshape(nw, self.halves)
        gait, cad = self._walking(m)
        gait &= ~vib.any(axis=1)
        walk = gait & (cad <= 60.0 * self.cfg.step_band_hz[1])
        return {"id": ids.astype(np.int64), "count": present.sum(axis=1), "walk": walk, "gait": gait, "cadence": cad,
                "vib": vib, "vib_f": vf, "vib_rms": vr, "sec_range": srange, "sec_hf": shf, "sec_n": scount}


    def _walking(self, m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        cfg = self.cfg
        nw, n = m.shape
        x, _present, cnt = detrend(m)
        sd = np.sqrt((x * x).sum(axis=1) / np.maximum(cnt, 1))
        walk = np.zeros(nw, bool)
        cad = np.full(nw, np.nan)
        act = np.flatnonzero((cnt >= 0.5 * n) & (sd >= cfg.walk_min_sd_g))
        if not act.size:
            return walk, cad
        nfft = 1 << int(math.ceil(math.log2(4 * n)))
        w = np.hanning(n)
        spec = np.abs(np.fft.rfft(x[act] * w, nfft, axis=1)) ** 2
        f = np.fft.rfftfreq(nfft, 1.0 / self.fs_w)
        df = f[1]
        band = (f >= 0.5) & (f <= 5.0)
        lo_i, hi_i = int(np.argmax(band)), int(np.flatnonzero(band)[-1])
        k = lo_i + np.argmax(spec[:, lo_i : hi_i + 1], axis=1)
        f0 = f[k] + df * parabola(spec, k)
        in_band = (f0 >= cfg.step_band_hz[0]) & (f0 <= max(cfg.step_band_hz[1], cfg.run_max_hz))
        total = spec[:, band].sum(axis=1)
        harm = np.zeros(act.size)
        # the band is one run of bins (f rises): test nearness there only, into a zeroed buffer
        # summed over the whole row, so every sum adds the same numbers in the same order
        fb, sb = f[lo_i : hi_i + 1], spec[:, lo_i : hi_i + 1]
        kept = np.zeros_like(spec)
        for h in range(1, int(5.0 / cfg.step_band_hz[0]) + 1):
            near = np.abs(fb[None, :] - h * f0[:, None]) <= 0.2
            kept[:, lo_i : hi_i + 1] = np.where(near, sb, 0.0)
            harm += kept.sum(axis=1)
        periodic = harm >= cfg.walk_periodicity * np.maximum(total, 1e-300)
        ok = in_band & periodic
        walk[act] = ok
        cad[act] = np.where(ok, 60.0 * f0, np.nan)
        return walk, cad



class _GaitSessions(_DetectorBase):
    """Running, walking, brisk-walking and vest-walking bouts (part of the session detector)."""

    def _bouts(self, feats: dict[str, np.ndarray], flag: np.ndarray, min_s: float) -> list[dict[str, Any]]:
        """Runs of flagged windows, edges refined to the second, breaks under ``bout_max_break_s``
        bridged, at least ``min_s`` long; each with the cadences of its flagged windows."""
        cfg = self.cfg
        ids = feats["id"]
        w = self.windows.win_ns
        cad = feats["cadence"]
        bouts = []
        for a, b in _runs(ids, flag, max_gap=0):
            s_ns, e_ns = int(ids[a]) * w, (int(ids[b - 1]) + 1) * w
            s_ns, e_ns = self._refine(feats, s_ns, e_ns, "sec_range", 0.3)
            bouts.append({"_s": s_ns, "_e": e_ns, "_cad": cad[a:b][flag[a:b]]})
        merged: list[dict[str, Any]] = []
        for bt in bouts:
            if merged and bt["_s"] - merged[-1]["_e"] < cfg.bout_max_break_s * _NS:
                merged[-1]["_e"] = bt["_e"]
                merged[-1]["_cad"] = np.r_[merged[-1]["_cad"], bt["_cad"]]
            else:
                merged.append(dict(bt))
        return [bt for bt in merged if bt["_e"] - bt["_s"] >= (min_s - cfg.edge_tolerance_s) * _NS]

    def _runs_and_walks(self, feats: dict[str, np.ndarray], markers: Markers | None,
                        flights: tuple[np.ndarray, np.ndarray], air: np.ndarray,
                        jump_ns: np.ndarray) -> list[dict[str, Any]]:
        """Running bouts, then walking bouts from the gait windows that are not running.

        Parameters
        ----------
        air : numpy.ndarray
            Airborne share of each window of ``feats`` (samples with magnitude below ``airborne_g``).
        jump_ns : numpy.ndarray
            Jump landings (UTC ns): windows holding one are neither running nor walking.
        """
        cfg = self.cfg
        runs: list[dict[str, Any]] = []
        if not feats:
            bouts: list[dict[str, Any]] = []
        else:
            ids = feats["id"]
            w = self.windows.win_ns
            jumping = np.isin(ids, jump_ns // w) if jump_ns.size else np.zeros(ids.size, bool)
            with np.errstate(invalid="ignore"):
                cad = feats["cadence"]
                fly = (air >= cfg.run_airborne) & (cad >= cfg.run_min_spm)
                run = feats["gait"] & (fly | (cad >= cfg.run_spm)) & ~jumping
            for bt in self._bouts(feats, run, cfg.run_bout_min_s):
                c = round(float(np.median(bt["_cad"])), 1) if bt["_cad"].size else np.nan
                runs.append({"kind": "run", "_s": bt["_s"], "_e": bt["_e"], "cadence_spm": c, "_cad": bt["_cad"],
                             "label_source": "detected"})
            walk = feats["walk"] & ~run & ~jumping
            # windows with a free-fall phase (hopping, skipping, jump sets) are not walking
            if flights[0].size:
                fw = np.unique(np.r_[flights[0] // w, flights[1] // w])
                walk &= ~np.isin(ids, fw)
            # running is never walking: no walking window inside a running bout
            for r in runs:
                walk &= ~((ids * w < r["_e"]) & ((ids + 1) * w > r["_s"]))
            bouts = self._bouts(feats, walk, cfg.bout_min_s)
        vests = markers.with_label("vest") if markers is not None else []
        walks_m = markers.with_label("walk") if markers is not None else []
        out = []
        for bt in bouts:
            c = float(np.median(bt["_cad"])) if bt["_cad"].size else np.nan
            c = round(c, 1)  # the estimate's resolution: 100.0 steps/min is brisk
            kind = "brisk_walk" if c >= cfg.brisk_spm else "walk"
            src = "detected"
            vest = [m for m in vests if _ns(m.start) < bt["_e"] and _ns(m.end) > bt["_s"]]
            if vest:
                kind, src = "vest_walk", vest[0].source
            wm = [m for m in walks_m if _ns(m.start) < bt["_e"] and _ns(m.end) > bt["_s"]]
            if wm and src == "detected":
                src = f"detected+{wm[0].source}"
            elif wm:
                src = f"{src}+{wm[0].source}"
            out.append({"kind": kind, "_s": bt["_s"], "_e": bt["_e"], "cadence_spm": round(c, 2), "label_source": src})
        for m in vests:
            if not any(_ns(m.start) < r["_e"] and _ns(m.end) > r["_s"] for r in out):
                self._warn(f"{m.where()}: vest marker {m.start.isoformat()} to {m.end.isoformat()}: no walking bout of at least "
                           f"{cfg.bout_min_s:g} s overlaps it, so no vest-walk minutes come from it")
        for m in walks_m:
            if not any(_ns(m.start) < r["_e"] and _ns(m.end) > r["_s"] for r in out):
                self._warn(f"{m.where()}: walk marker {m.start.isoformat()} to {m.end.isoformat()}: no walking bout of at least "
                           f"{cfg.bout_min_s:g} s was detected there")
        return runs + out

