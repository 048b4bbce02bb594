"""Exercise sessions: jumps, walks, brisk walks, vest walks and vibration-plate sessions (DESIGN §4).

Sessions are found on the **native-rate** signal (a 30 Hz plate is gone once the signal is resampled to
the preset's 50 Hz), while impacts are counted at the preset's rate; the two meet at the end.

How each kind is found
----------------------
jumps
    A landing in the ``high`` band preceded within 0.6 s by a flight phase: the acceleration magnitude
    below 0.4 g for at least 80 ms (free fall). A heel drop or a stamp has no flight phase: it is an
    impact, not a jump. Jumps less than 20 s apart form a set; sets less than 10 min apart form one
    jumps session. The flight time of a 5 cm jump is 0.20 s (t = √(8h/g)), so 80 ms catches even
    small jumps; a drop from a box has free fall too and counts (science.md §7).
walk / brisk_walk
    The vertical signal is cut into 10 s windows. A window is walking when its detrended SD is at
    least 0.05 g, its dominant frequency between 0.5 and 5 Hz lies in the step band 1.2–2.6 Hz (72–156
    steps/min), and the step frequency and its harmonics hold at least half of the power in 0.5–5 Hz
    (a periodic gait, not jumps or fidgeting). Cadence = 60 × the step frequency (a zero-padded,
    Hann-windowed spectrum with parabolic interpolation, about ±1 step/min). Consecutive walking
    windows form a bout; bout edges are refined to the second; bouts less than 10 s apart merge; a
    bout lasting at least 60 s is kept. A bout whose median cadence is at least 100 steps/min is
    ``brisk_walk`` (Tudor-Locke et al. 2019: 100 steps/min is the heuristic threshold of moderate
    intensity, 3 METs), else ``walk``.
vest_walk
    A walking bout (brisk or not) that overlaps a ``vest`` marker: vests come from markers only.
vibration
    5 s windows whose spectrum has a narrow peak (± 0.6 Hz) at a plate frequency in 12–60 Hz, or at
    its alias when the sample rate is below twice the plate frequency (f_a = |f − fs·round(f/fs)|),
    above 5 Hz, holding at least 70 % of the power above 5 Hz and half of all power above 0.5 Hz (so
    the step harmonics of walking are not taken for a plate), with an RMS in that peak of at least
    0.05 g. At least 60 s of such windows (breaks under 10 s bridged) form a session that reports
    its frequency and RMS. Peaks inside a vibration session are **not counted as impacts**. A plate
    whose alias falls at or below 5 Hz (for example a 50 Hz plate sampled at 50 Hz, which aliases to
    0 Hz) cannot be seen: this is warned about when the plan names the plate frequency, and a
    ``vibration`` marker then stands in for detection.

Chunked equals whole
--------------------
Window features are computed on windows aligned to multiples of their length since the Unix epoch;
samples of a window that is not complete yet are held back until the next chunk, so each window sees
exactly the same samples whatever the chunking. Runs of low magnitude (flight candidates) carry across
chunk boundaries. Bouts and sessions are decided at the end from these small arrays, so the Sessions
table does not depend on how the input was split.

References
----------
.. [1] Tudor-Locke C et al. (2019) Walking cadence (steps/min) and intensity in 21–40 year olds:
   CADENCE-adults. IJBNPA 16:8. doi:10.1186/s12966-019-0769-6
.. [2] Hannam K et al. (2017) Osteoporos Int 28:1001–1011 (impact bands).
.. [3] Rubin C et al. (2004) J Bone Miner Res 19:343–351 (30 Hz, 0.2 g plate); Gusi N et al. (2006)
   BMC Musculoskelet Disord 7:92 (12.6 Hz side-alternating plate).
"""

from __future__ import annotations

import itertools
import math
import warnings
from typing import Any

import numpy as np
import pandas as pd

from .config import DetectionConfig, SessionConfig
from .daily import grouped_band_codes
from .errors import DataQualityWarning
from .markers import Markers, as_markers
from .recording import Recording, RecordingMeta
from .schema import SESSIONS, coerce, empty
from .signal import signal_of_interest

__all__ = ["SessionConfig", "SessionDetector", "alias_frequency", "find_sessions"]

_NS = 1_000_000_000


def alias_frequency(f_hz: float, fs_hz: float) -> float:
    """Apparent frequency (Hz) of a sinusoid at ``f_hz`` sampled at ``fs_hz``: ``|f − fs·round(f/fs)|``.

    Examples
    --------
    >>> alias_frequency(30.0, 50.0), alias_frequency(30.0, 100.0), alias_frequency(50.0, 50.0)
    (20.0, 30.0, 0.0)
    """
    return float(abs(f_hz - fs_hz * round(f_hz / fs_hz)))


def _plate_candidates(f_a: float, fs: float, band: tuple[float, float]) -> list[float]:
    """Plate frequencies in ``band`` that appear at ``f_a`` when sampled at ``fs``."""
    out = []
    for k in range(0, int(math.ceil(band[1] / fs)) + 2):
        for f in (k * fs - f_a, k * fs + f_a):
            if band[0] - 0.5 <= f <= band[1] + 0.5 and all(abs(f - g) > 0.5 for g in out):
                out.append(round(f, 2))
    return sorted(out)


# --------------------------------------------------------------------------------------------- state
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


class _Windows:
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
            self.feats.append(self._features(ids[a:b], t[i0:i1], v[i0:i1], wid[i0:i1]))

    def _features(self, ids: np.ndarray, t: np.ndarray, v: np.ndarray, wid: np.ndarray) -> dict[str, np.ndarray]:
        nw, n = ids.size, self.n
        row = np.searchsorted(ids, wid)
        pos = np.clip(((t - wid * self.win_ns) * n) // self.win_ns, 0, n - 1)
        m = np.full((nw, n), np.nan)
        m[row, pos] = v
        present = ~np.isnan(m)
        # per-second statistics (edge refinement): range and mean squared first difference
        big = np.where(present, m, -np.inf)
        small = np.where(present, m, np.inf)
        smax = np.maximum.reduceat(big, self.sec_edges, axis=1)
        smin = np.minimum.reduceat(small, self.sec_edges, axis=1)
        scount = np.add.reduceat(present, self.sec_edges, axis=1)
        srange = np.where(scount > 1, smax - smin, 0.0)
        d = np.diff(m, axis=1)
        d = np.concatenate([np.full((nw, 1), np.nan), d], axis=1)
        dd = np.where(np.isnan(d), 0.0, d * d)
        dn = np.add.reduceat(~np.isnan(d), self.sec_edges, axis=1)
        shf = np.add.reduceat(dd, self.sec_edges, axis=1) / np.maximum(dn, 1)
        # vibration on the halves
        vh = m[:, : self.n_half * self.halves].reshape(nw * self.halves, self.n_half)
        vib, vf, vr = self._vibration(vh)
        vib = vib.reshape(nw, self.halves)
        vf = vf.reshape(nw, self.halves)
        vr = vr.reshape(nw, self.halves)
        walk, cad = self._walking(m)
        walk &= ~vib.any(axis=1)
        return {"id": ids.astype(np.int64), "count": present.sum(axis=1), "walk": walk, "cadence": cad,
                "vib": vib, "vib_f": vf, "vib_rms": vr, "sec_range": srange, "sec_hf": shf, "sec_n": scount}

    @staticmethod
    def _detrend(m: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        present = ~np.isnan(m)
        cnt = present.sum(axis=1)
        mean = np.where(cnt > 0, np.nansum(m, axis=1) / np.maximum(cnt, 1), 0.0)
        x = np.where(present, m - mean[:, None], 0.0)
        return x, present, cnt

    def _walking(self, m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        cfg = self.cfg
        nw, n = m.shape
        x, _present, cnt = self._detrend(m)
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
        f0 = f[k] + df * _parabola(spec, k)
        in_band = (f0 >= cfg.step_band_hz[0]) & (f0 <= cfg.step_band_hz[1])
        total = spec[:, band].sum(axis=1)
        harm = np.zeros(act.size)
        for h in range(1, int(5.0 / cfg.step_band_hz[0]) + 1):
            near = (np.abs(f[None, :] - h * f0[:, None]) <= 0.2) & band[None, :]
            harm += np.where(near, spec, 0.0).sum(axis=1)
        periodic = harm >= cfg.walk_periodicity * np.maximum(total, 1e-300)
        ok = in_band & periodic
        walk[act] = ok
        cad[act] = np.where(ok, 60.0 * f0, np.nan)
        return walk, cad

    def _vib_mask(self, nfft: int, f: np.ndarray) -> np.ndarray:
        if nfft not in self._vib_mask_cache:
            cfg = self.cfg
            fs = self.fs_w
            lo, hi = cfg.plate_band_hz
            ok = np.zeros(f.size, bool)
            for k in range(0, int(math.ceil(hi / fs)) + 2):
                for pre in (k * fs - f, k * fs + f):
                    ok |= (pre >= lo) & (pre <= hi)
            self._vib_mask_cache[nfft] = ok & (f > cfg.vib_min_hz)
        return self._vib_mask_cache[nfft]

    def _vibration(self, m: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        cfg = self.cfg
        nr, n = m.shape
        x, present, cnt = self._detrend(m)
        sd = np.sqrt((x * x).sum(axis=1) / np.maximum(cnt, 1))
        vib = np.zeros(nr, bool)
        freq = np.full(nr, np.nan)
        rms = np.full(nr, np.nan)
        act = np.flatnonzero((cnt >= 0.5 * n) & (sd >= 0.9 * cfg.vib_min_rms_g))
        if not act.size:
            return vib, freq, rms
        nfft = 1 << int(math.ceil(math.log2(2 * n)))
        w = np.hanning(n)
        xa = x[act] * w
        spec = np.abs(np.fft.rfft(xa, nfft, axis=1)) ** 2
        f = np.fft.rfftfreq(nfft, 1.0 / self.fs_w)
        mask = self._vib_mask(nfft, f)
        if not mask.any():
            return vib, freq, rms
        k = np.argmax(np.where(mask[None, :], spec, -1.0), axis=1)
        fk = f[k] + f[1] * _parabola(spec, k)
        near = np.abs(f[None, :] - fk[:, None]) <= 0.6
        pk = np.where(near, spec, 0.0).sum(axis=1)
        above = spec[:, f > cfg.vib_min_hz].sum(axis=1)
        total = spec[:, f >= 0.5].sum(axis=1)
        w2 = (np.where(present[act], w[None, :], 0.0) ** 2).sum(axis=1)
        r = np.sqrt(2.0 * pk / (nfft * np.maximum(w2, 1e-12)))
        ok = (pk >= cfg.vib_power_fraction * above) & (pk >= cfg.vib_total_fraction * total) & (r >= cfg.vib_min_rms_g)
        vib[act] = ok
        freq[act] = np.where(ok, fk, np.nan)
        rms[act] = np.where(ok, r, np.nan)
        return vib, freq, rms


def _parabola(spec: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Sub-bin offset of each row's peak at ``k`` by a parabola through the log power."""
    rows = np.arange(spec.shape[0])
    km = np.clip(k - 1, 0, spec.shape[1] - 1)
    kp = np.clip(k + 1, 0, spec.shape[1] - 1)
    y0, y1, y2 = (np.log(np.maximum(spec[rows, j], 1e-300)) for j in (km, k, kp))
    den = y0 - 2 * y1 + y2
    off = np.where(np.abs(den) > 1e-12, 0.5 * (y0 - y2) / np.where(den == 0, 1, den), 0.0)
    return np.clip(off, -0.5, 0.5)


# --------------------------------------------------------------------------------------------- detector
class SessionDetector:
    """Stateful session finder: feed native-rate chunks with :meth:`update`, then :meth:`finish`.

    Parameters
    ----------
    meta : RecordingMeta
        ``sample_rate_hz`` (Hz, the native rate), ``vertical_axis``, ``timezone``.
    config : DetectionConfig, optional
        The impact preset (its grouped ``high`` band is the jump landing band).
    session_config : SessionConfig, optional
        Thresholds (DESIGN §4).
    markers : Markers, DataFrame or path, optional
        Labelled periods (``vest``, ``jumps``, ``vibration``, ``walk``).
    plate_hz : float, optional
        The plate frequency named in the plan (``targets.vibration.frequency_hz``); used to report
        the true frequency of an aliased plate and to warn when it cannot be seen at this rate.

    Examples
    --------
    >>> from impactlab.simulate import Walk, simulate_recording
    >>> from impactlab.impacts import detect_impacts
    >>> rec = simulate_recording(duration_s=300, fs=50, walks=[Walk(20, 200, 110, 0.7)], seed=0)
    >>> s, _ = find_sessions(rec, detect_impacts(rec))
    >>> list(s["kind"]), round(float(s["duration_s"].iloc[0]))
    (['brisk_walk'], 180)
    """

    def __init__(
        self,
        meta: RecordingMeta,
        config: DetectionConfig = DetectionConfig(),
        session_config: SessionConfig = SessionConfig(),
        *,
        markers: Any = None,
        plate_hz: float | None = None,
    ) -> None:
        self.meta = meta
        self.config = config
        self.cfg = session_config
        self.fs = float(meta.sample_rate_hz)
        self.markers = as_markers(markers)
        self.markers = self.markers.resolve(meta.timezone) if self.markers is not None else None
        self.plate_hz = plate_hz
        self.flights = _Flights(session_config.flight_max_g, config.gap_periods * _NS / self.fs)
        self.windows = _Windows(self.fs, session_config)
        self.first_ns: int | None = None
        self.last_ns: int | None = None
        self.notes: list[str] = []

    def update(self, chunk: Recording | pd.DataFrame) -> None:
        """Add the next native-rate samples (in time order)."""
        data = chunk.data if isinstance(chunk, Recording) else chunk
        if not len(data):
            return
        t = data.index.as_unit("ns").asi8
        xyz = data[["x", "y", "z"]].to_numpy(dtype=np.float64)
        mag = np.sqrt(np.einsum("ij,ij->i", xyz, xyz))
        self.flights.update(t, mag)
        v = signal_of_interest(data, self.meta.vertical_axis, "vertical")
        self.windows.update(t, v)
        self.first_ns = int(t[0]) if self.first_ns is None else self.first_ns
        self.last_ns = int(t[-1])

    # ------------------------------------------------------------------------------------------
    def finish(self, impacts: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
        """Decide the sessions and mark the impacts.

        Parameters
        ----------
        impacts : pandas.DataFrame
            The recording's Impacts table (any rate).

        Returns
        -------
        tuple of (Sessions, Impacts, dict)
            The Sessions table; the impacts without those inside vibration sessions and with
            ``session_id`` set; and a summary (``markers``, ``excluded_impacts``, ``notes``,
            ``vibration_detectable``, ``settings``).
        """
        tz = self.meta.timezone
        feats = self.windows.finish()
        f_start, f_last = self.flights.finish()
        markers = self.markers
        if markers is not None and self.first_ns is not None:
            markers, notes = markers.clip(self.first_ns, self.last_ns or self.first_ns, tz=tz)
            for n in notes:
                self._warn(n)
        rows: list[dict[str, Any]] = []
        detectable = self._check_plate()
        vib_rows = self._vibration(feats, markers, detectable)
        rows += vib_rows
        rows += self._jumps(impacts, f_start, f_last, markers)
        rows += self._walks(feats, markers, self._long_flights(f_start, f_last))
        # impacts inside vibration sessions are not counted
        t_imp = impacts["time"].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy().astype("datetime64[ns]").astype(np.int64) \
            if len(impacts) else np.empty(0, np.int64)
        drop = np.zeros(t_imp.size, bool)
        for r in vib_rows:
            drop |= (t_imp >= r["_s"]) & (t_imp <= r["_e"])
        n_excl = int(drop.sum())
        if n_excl:
            self._warn(f"{self.meta.source}: {n_excl} peak(s) inside vibration-plate sessions are not counted as impacts")
        imp = impacts.loc[~drop].reset_index(drop=True)
        t_imp = t_imp[~drop]
        rows.sort(key=lambda r: (r["_s"], r["kind"]))
        sid = pd.array([pd.NA] * t_imp.size, dtype="Int64")
        codes = grouped_band_codes(imp, self.config) if len(imp) else np.empty(0, np.int64)
        # precedence: jumps, then walks (vibration peaks are gone)
        order = sorted(range(len(rows)), key=lambda i: {"jumps": 0, "vibration": 1}.get(rows[i]["kind"], 2))
        taken = np.zeros(t_imp.size, bool)
        for i in range(len(rows)):
            rows[i]["session_id"] = i + 1
        for i in order:
            r = rows[i]
            a, b = np.searchsorted(t_imp, r["_s"], "left"), np.searchsorted(t_imp, r["_e"], "right")
            sel = np.arange(a, b)
            sel = sel[~taken[sel]]
            taken[sel] = True
            sid[sel] = r["session_id"]
            c = codes[sel]
            r.update(n_impacts=int(sel.size), n_low=int((c == 0).sum()), n_medium=int((c == 1).sum()),
                     n_high=int((c == 2).sum()))
        imp = imp.assign(session_id=sid)
        sessions = self._frame(rows, tz)
        summary = {
            "markers": markers.to_dict() if markers is not None else [],
            "excluded_impacts": n_excl,
            "vibration_detectable": detectable,
            "notes": self.notes,
            "settings": self.cfg.to_dict(),
        }
        return sessions, imp, summary

    def _warn(self, text: str) -> None:
        self.notes.append(text)
        warnings.warn(text, DataQualityWarning, stacklevel=3)

    def _check_plate(self) -> bool:
        """Warn about aliasing of the plan's plate frequency; False when it cannot be seen."""
        f = self.plate_hz
        if f is None:
            return True
        fa = alias_frequency(f, self.fs)
        if fa <= self.cfg.vib_min_hz:
            self._warn(
                f"{self.meta.source}: a {f:g} Hz vibration plate sampled at {self.fs:g} Hz appears at {fa:g} Hz "
                f"(aliasing{', the plate frequency equals the sample rate' if abs(f - self.fs) < 1e-9 else ''}) and cannot be "
                "detected; vibration minutes come only from 'vibration' markers, and days without one are 'no data'. "
                "Record at more than twice the plate frequency, or mark the sessions (impactlab mark vibration ...)"
            )
            return False
        if self.fs < 2 * f:
            self._warn(
                f"{self.meta.source}: the sample rate {self.fs:g} Hz is under twice the plate frequency {f:g} Hz; "
                f"the plate appears at {fa:g} Hz (aliased) and is detected there"
            )
        return True

    # -- vibration ------------------------------------------------------------------------------
    def _vibration(self, feats: dict[str, np.ndarray], markers: Markers | None, detectable: bool) -> list[dict[str, Any]]:
        cfg = self.cfg
        out: list[dict[str, Any]] = []
        halves = self.windows.halves
        if feats:
            vib = feats["vib"].ravel()
            hid = (feats["id"][:, None] * halves + np.arange(halves)[None, :]).ravel()
            hf_ = feats["vib_f"].ravel()
            hr_ = feats["vib_rms"].ravel()
            half_ns = self.windows.win_ns // halves
            for a, b in _runs(hid, vib, max_gap=int(cfg.bout_max_break_s * _NS) // half_ns):
                s_ns, e_ns = int(hid[a]) * half_ns, (int(hid[b - 1]) + 1) * half_ns
                s_ns, e_ns = self._refine(feats, s_ns, e_ns, "sec_hf", 0.25)
                if e_ns - s_ns < (cfg.vib_min_s - cfg.edge_tolerance_s) * _NS:
                    continue
                sl = slice(a, b)
                ok = vib[sl]
                fa = float(np.median(hf_[sl][ok]))
                f_true, note = self._true_frequency(fa)
                out.append({"kind": "vibration", "_s": s_ns, "_e": e_ns, "frequency_hz": f_true,
                            "apparent_hz": round(fa, 3), "rms_g": float(np.median(hr_[sl][ok])),
                            "label_source": "detected", "note": note})
        # merge runs bridged by short breaks after refinement
        out = _merge(out, cfg.bout_max_break_s)
        if markers is not None:
            for m in markers.with_label("vibration"):
                ms, me = _ns(m.start), _ns(m.end)
                hit = [r for r in out if r["_s"] < me and r["_e"] > ms]
                for r in hit:
                    r["label_source"] = f"detected+{m.source}"
                if not hit:
                    why = "the plate cannot be seen at this sample rate" if not detectable else \
                        "no narrow 12-60 Hz oscillation (or its alias) with RMS >= 0.05 g was found there"
                    self._warn(f"{m.where()}: vibration marker {m.start.isoformat()} to {m.end.isoformat()}: {why}; "
                               "the marked period is counted as a vibration session")
                    out.append({"kind": "vibration", "_s": ms, "_e": me, "frequency_hz": self.plate_hz or np.nan,
                                "apparent_hz": np.nan, "rms_g": np.nan, "label_source": m.source,
                                "note": "declared by a marker, not detected"})
        return out

    def _true_frequency(self, fa: float) -> tuple[float, str]:
        cfg = self.cfg
        cands = _plate_candidates(fa, self.fs, cfg.plate_band_hz)
        if self.plate_hz is not None and abs(alias_frequency(self.plate_hz, self.fs) - fa) <= 1.0:
            f = float(self.plate_hz)
            return f, "" if abs(f - fa) <= 1.0 else f"aliased: the plan's {f:g} Hz plate appears at {fa:.1f} Hz"
        if self.fs < 2 * cfg.plate_band_hz[1] and len(cands) > 1:
            msg = (f"{self.meta.source}: vibration at an apparent {fa:.1f} Hz: at {self.fs:g} Hz sampling (under twice the "
                   f"highest plate frequency, {cfg.plate_band_hz[1]:g} Hz) it may be a plate at "
                   f"{' or '.join(f'{c:g}' for c in cands)} Hz (aliasing); frequency_hz is the apparent frequency. "
                   "Name the plate in the plan (targets.vibration.frequency_hz) to resolve it")
            if msg not in self.notes:
                self._warn(msg)
            return fa, "apparent frequency (possibly aliased)"
        return fa, ""

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

    # -- jumps ------------------------------------------------------------------------------------
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

    # -- walks ------------------------------------------------------------------------------------
    def _walks(self, feats: dict[str, np.ndarray], markers: Markers | None,
               flights: tuple[np.ndarray, np.ndarray]) -> list[dict[str, Any]]:
        cfg = self.cfg
        if not feats:
            bouts: list[dict[str, Any]] = []
        else:
            ids = feats["id"]
            w = self.windows.win_ns
            walk = feats["walk"].copy()
            # windows with a free-fall phase (hopping, skipping, jump sets) are not walking
            if flights[0].size:
                fw = np.unique(np.r_[flights[0] // w, flights[1] // w])
                walk &= ~np.isin(ids, fw)
            cad = feats["cadence"]
            bouts = []
            for a, b in _runs(ids, walk, max_gap=0):
                s_ns, e_ns = int(ids[a]) * w, (int(ids[b - 1]) + 1) * w
                s_ns, e_ns = self._refine(feats, s_ns, e_ns, "sec_range", 0.3)
                bouts.append({"_s": s_ns, "_e": e_ns, "_cad": cad[a:b][walk[a:b]]})
            merged: list[dict[str, Any]] = []
            for bt in bouts:
                if merged and bt["_s"] - merged[-1]["_e"] < cfg.bout_max_break_s * _NS:
                    merged[-1]["_e"] = bt["_e"]
                    merged[-1]["_cad"] = np.r_[merged[-1]["_cad"], bt["_cad"]]
                else:
                    merged.append(dict(bt))
            bouts = [bt for bt in merged if bt["_e"] - bt["_s"] >= (cfg.bout_min_s - cfg.edge_tolerance_s) * _NS]
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
        return out

    def _frame(self, rows: list[dict[str, Any]], tz: str) -> pd.DataFrame:
        if not rows:
            out = empty(SESSIONS, tz=tz)
            out["apparent_hz"] = pd.Series([], dtype="float64")
            out["note"] = pd.Series([], dtype="string")
            return out

        def ts(ns: list[int]) -> pd.DatetimeIndex:
            return pd.DatetimeIndex(np.asarray(ns, np.int64).view("datetime64[ns]")).tz_localize("UTC").tz_convert(tz)

        s = [r["_s"] for r in rows]
        e = [r["_e"] for r in rows]
        df = pd.DataFrame({
            "session_id": [r["session_id"] for r in rows],
            "kind": [r["kind"] for r in rows],
            "start": ts(s), "end": ts(e),
            "duration_s": (np.asarray(e, np.float64) - np.asarray(s, np.float64)) / 1e9,
            "n_impacts": [r.get("n_impacts", 0) for r in rows],
            "n_low": [r.get("n_low", 0) for r in rows],
            "n_medium": [r.get("n_medium", 0) for r in rows],
            "n_high": [r.get("n_high", 0) for r in rows],
            "cadence_spm": [r.get("cadence_spm", np.nan) for r in rows],
            "frequency_hz": [r.get("frequency_hz", np.nan) for r in rows],
            "rms_g": [r.get("rms_g", np.nan) for r in rows],
            "n_sets": pd.array([r.get("n_sets") for r in rows], dtype="Int64"),
            "label_source": pd.array([r["label_source"] for r in rows], dtype="string"),
            "n_jumps": pd.array([r.get("n_jumps") for r in rows], dtype="Int64"),
            "apparent_hz": [r.get("apparent_hz", np.nan) for r in rows],
            "note": pd.array([r.get("note") or pd.NA for r in rows], dtype="string"),
        })
        return coerce(df, SESSIONS, tz=tz)


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


def find_sessions(
    rec: Recording,
    impacts: pd.DataFrame,
    *,
    config: DetectionConfig = DetectionConfig(),
    session_config: SessionConfig = SessionConfig(),
    markers: Any = None,
    plate_hz: float | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Find jumps, walks, brisk walks, vest walks and vibration-plate sessions in a recording.

    Parameters
    ----------
    rec : Recording
        The recording at its native rate (``x, y, z`` in g).
    impacts : pandas.DataFrame
        Its Impacts table (:func:`impactlab.detect_impacts`).
    config : DetectionConfig, optional
        The impact preset (band edges).
    session_config : SessionConfig, optional
        Session thresholds (see the module docstring).
    markers : Markers, DataFrame or path, optional
        Labelled periods; ``vest`` makes overlapping walking bouts ``vest_walk``.
    plate_hz : float, optional
        Plate frequency (Hz) from the plan, for the aliasing warning and the true frequency.

    Returns
    -------
    tuple of (pandas.DataFrame, pandas.DataFrame)
        The Sessions table (:mod:`impactlab.schema`, plus ``n_jumps``, ``apparent_hz`` and ``note``)
        and the Impacts table with ``session_id`` set and the peaks inside vibration sessions removed.

    Warns
    -----
    DataQualityWarning
        Aliasing, an undetectable plate, markers outside the recording or without a matching session,
        impacts removed inside vibration sessions.
    """
    det = SessionDetector(rec.meta, config, session_config, markers=markers, plate_hz=plate_hz)
    det.update(rec)
    sessions, imp, _ = det.finish(impacts)
    return sessions, imp
