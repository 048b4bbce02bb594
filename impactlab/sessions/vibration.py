"""Vibration-plate sessions: narrow 12–60 Hz spectral peaks (or their aliases) on 5 s windows.

Holds the one aliasing formula of the package (:func:`apparent_frequency_hz`, :func:`alias_frequency`),
also used by :mod:`impactlab.loading`. See :mod:`impactlab.sessions` for the rule.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..config import SessionConfig
from ..errors import DataError
from ..markers import Markers
from ._common import _NS, _DetectorBase, _merge, _ns, _runs, detrend, parabola

__all__ = ["alias_frequency", "apparent_frequency_hz"]


def apparent_frequency_hz(frequency_hz: Any, sample_rate_hz: float) -> np.ndarray:
    """Frequency at which a sinusoid appears after sampling (aliasing), in Hz.

    ``f_a = |f − fs · round(f / fs)|``: a vibration plate above the Nyquist frequency shows up
    folded below it, and a plate at exactly ``fs`` appears at 0 Hz (a constant offset, undetectable).
    [D, science.md §6] Whether a device filters before sampling is device-specific.

    Parameters
    ----------
    frequency_hz : array_like
        True frequency (Hz).
    sample_rate_hz : float
        Sampling rate (Hz).

    Returns
    -------
    numpy.ndarray
        Apparent frequency (Hz), same shape as ``frequency_hz``.

    Raises
    ------
    DataError
        When the sample rate is not positive.

    Examples
    --------
    >>> apparent_frequency_hz([30, 35, 50, 90], 50).tolist()
    [20.0, 15.0, 0.0, 10.0]
    """
    f = np.asarray(frequency_hz, dtype=np.float64)
    if not sample_rate_hz > 0:
        raise DataError(f"sample rate must be positive, got {sample_rate_hz!r}")
    out: np.ndarray = np.abs(f - sample_rate_hz * np.floor(f / sample_rate_hz + 0.5))
    return out


def alias_frequency(f_hz: float, fs_hz: float) -> float:
    """Apparent frequency (Hz) of a sinusoid at ``f_hz`` sampled at ``fs_hz`` (scalar :func:`apparent_frequency_hz`).

    Examples
    --------
    >>> alias_frequency(30.0, 50.0), alias_frequency(30.0, 100.0), alias_frequency(50.0, 50.0)
    (20.0, 30.0, 0.0)
    """
    return float(apparent_frequency_hz(f_hz, fs_hz))


def _plate_candidates(f_a: float, fs: float, band: tuple[float, float]) -> list[float]:
    """Plate frequencies in ``band`` that appear at ``f_a`` when sampled at ``fs``."""
    out: list[float] = []
    for k in range(0, int(math.ceil(band[1] / fs)) + 2):
        for f in (k * fs - f_a, k * fs + f_a):
            if band[0] - 0.5 <= f <= band[1] + 0.5 and all(abs(f - g) > 0.5 for g in out):
                out.append(round(f, 2))
    return sorted(out)



class _PlateFeatures:
    """Per-half-window plate features (mixed into the window feature extractor)."""

    cfg: SessionConfig
    fs_w: float
    _vib_mask_cache: dict[int, np.ndarray]

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
        x, present, cnt = detrend(m)
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
        fk = f[k] + f[1] * parabola(spec, k)
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




class _VibrationSessions(_DetectorBase):
    """Vibration-plate sessions from the window features (part of the session detector)."""

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

