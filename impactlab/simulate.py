"""Simulated hip-worn recordings with known impacts, for tests, examples and sample data.

The signals are built from a few vectorised parts (no loop per sample):

* **rest** (worn, standing or sitting): gravity on the vertical axis plus slow postural sway
  (SD about 20 mg on the two horizontal axes, so the van Hees rule sees wear) and sensor noise;
* **walk**: one smooth heel-strike pulse per step (Gaussian, σ = 40 ms) whose height above
  gravity is the step's ``peak_g``, plus trunk sway at stride and step frequency on x and z;
* **run**: as walk, one landing pulse per step (``peak_g``) and stride/step sway, plus a flight
  phase before each landing (all axes scaled to 10 % for ``flight_s`` up to 20 ms before the
  landing: the body falls freely between steps);
* **jump**: countermovement, a push below the counting floor (0.35 g above gravity), a flight
  phase of free fall (all axes near 0 g) of ``flight_s``, and a landing pulse of ``peak_g``;
* **heel drop**: rise on the toes, a small dip (no free fall), then an impact pulse of ``peak_g``;
* **vibration**: a sinusoid of ``amplitude_g`` at ``frequency_hz`` on the vertical axis;
* **nonwear**: the sensor lying on its side (vertical axis horizontal), noise 2 mg;
* **gaps**: rows removed.

Event times are rounded to 20 ms so that the pulse tops fall on samples at 50 Hz and 100 Hz; each
walk step, jump and heel drop then gives exactly one peak of the given height (± 1 %) after the
``hannam2017`` filter, so tests can name the number they expect.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import signal as sps

from .recording import Recording, RecordingMeta, parse_vertical_axis

__all__ = ["Run", "Walk", "simulate_recording", "step_times"]

_GRID_S = 0.02


@dataclass(frozen=True)
class Walk:
    """A walking bout: ``start_s``/``end_s`` in s from the recording start, cadence in steps/min,
    per-step peak in g above gravity (``peak_g``, jittered by ``peak_sd_g``)."""

    start_s: float
    end_s: float
    cadence_spm: float = 110.0
    peak_g: float = 0.75
    peak_sd_g: float = 0.0


@dataclass(frozen=True)
class Run:
    """A running bout: ``start_s``/``end_s`` in s from the recording start, cadence in steps/min, per-step
    landing peak in g above gravity (``peak_g``), and the flight before each landing (``flight_s``, s)."""

    start_s: float
    end_s: float
    cadence_spm: float = 160.0
    peak_g: float = 2.0
    flight_s: float = 0.08
    peak_sd_g: float = 0.0


def step_times(walk: Walk | Run) -> np.ndarray:
    """Times (s) of the steps of ``walk`` (or a run), on the 20 ms grid."""
    period = 60.0 / walk.cadence_spm
    n = int(np.floor((walk.end_s - walk.start_s) / period))
    t = walk.start_s + period / 2 + period * np.arange(n)
    return np.round(t / _GRID_S) * _GRID_S


def _pulses(t: np.ndarray, centers: np.ndarray, heights: np.ndarray, sigma: float, fs: float) -> np.ndarray:
    """Sum of Gaussian pulses (vectorised through an impulse train and a short convolution)."""
    out = np.zeros_like(t)
    if centers.size == 0:
        return out
    t0 = t[0]
    idx = np.rint((centers - t0) * fs).astype(np.int64)
    ok = (idx >= 0) & (idx < t.size)
    train = np.zeros_like(t)
    np.add.at(train, idx[ok], heights[ok])
    half = int(np.ceil(5 * sigma * fs))
    k = np.exp(-0.5 * (np.arange(-half, half + 1) / (sigma * fs)) ** 2)
    return np.asarray(sps.oaconvolve(train, k, mode="same"))


def simulate_recording(
    *,
    duration_s: float = 3600.0,
    fs: float = 100.0,
    start: str | pd.Timestamp = "2026-03-02 08:00:00",
    tz: str = "Europe/London",
    vertical_axis: str = "+y",
    range_g: float = 16.0,
    walks: Sequence[Walk | tuple[float, ...]] = (),
    runs: Sequence[Run] = (),
    jumps: Sequence[tuple[float, float] | tuple[float, float, float]] = (),
    heel_drops: Sequence[tuple[float, float]] = (),
    vibration: Sequence[tuple[float, float, float, float]] = (),
    nonwear: Sequence[tuple[float, float]] = (),
    gaps: Sequence[tuple[float, float]] = (),
    noise_g: float = 0.003,
    sway_g: float = 0.02,
    seed: int = 0,
    source: str = "simulated",
) -> Recording:
    """Build a recording with known impacts.

    Parameters
    ----------
    duration_s : float
        Length in s.
    fs : float
        Sample rate in Hz.
    start : str or pandas.Timestamp
        Local start time (in ``tz``).
    tz : str
        IANA time zone.
    vertical_axis : str
        Device axis that points up, with sign (``"+y"``, ``"-y"``, ``"+z"``...).
    range_g : float
        Sensor range (±g); the signal is clipped there, as a real sensor does.
    walks : sequence of Walk or (start_s, end_s, cadence_spm, peak_g)
        Walking bouts.
    runs : sequence of Run
        Running bouts (steps with a flight phase before each landing).
    jumps : sequence of (t_s, peak_g) or (t_s, peak_g, flight_s)
        Landing time (s) and landing peak (g above gravity); flight 0.3 s by default.
    heel_drops : sequence of (t_s, peak_g)
        Heel-drop impact time and peak (g above gravity); no flight phase.
    vibration : sequence of (start_s, end_s, frequency_hz, amplitude_g)
        Vibration-plate sessions (sinusoid amplitude in g, peak).
    nonwear : sequence of (start_s, end_s)
        Sensor off the body, lying on its side.
    gaps : sequence of (start_s, end_s)
        No samples at all.
    noise_g, sway_g : float
        White sensor noise SD and postural sway SD (g).
    seed : int
        Random seed.

    Returns
    -------
    Recording
        ``meta.device == "simulated"``, ``meta.vertical_axis`` as given.

    Examples
    --------
    >>> rec = simulate_recording(duration_s=60, jumps=[(30.0, 2.5)], seed=0)
    >>> len(rec), rec.meta.sample_rate_hz
    (6000, 100.0)
    """
    rng = np.random.default_rng(seed)
    n = int(round(duration_s * fs))
    t = np.arange(n) / fs
    vert = np.ones(n)
    # postural sway: low-pass filtered noise, SD sway_g, on both horizontal axes
    sos = sps.butter(2, 0.7, fs=fs, output="sos")
    h1 = sps.sosfiltfilt(sos, rng.standard_normal(n)) if n > 20 else np.zeros(n)
    h2 = sps.sosfiltfilt(sos, rng.standard_normal(n)) if n > 20 else np.zeros(n)
    h1 *= sway_g / (h1.std() or 1.0)
    h2 *= sway_g / (h2.std() or 1.0)
    vert += 0.005 * np.sin(2 * np.pi * 0.25 * t)

    centers: list[np.ndarray] = []
    heights: list[np.ndarray] = []
    for w in walks:
        w = w if isinstance(w, Walk) else Walk(*w)
        st = step_times(w)
        pk = np.full(st.size, w.peak_g) + (rng.normal(0, w.peak_sd_g, st.size) if w.peak_sd_g else 0.0)
        centers.append(st)
        heights.append(pk)
        m = (t >= w.start_s) & (t < w.end_s)
        f_step = w.cadence_spm / 60.0
        h1[m] += 0.12 * np.sin(np.pi * f_step * t[m])  # stride (medio-lateral)
        h2[m] += 0.15 * np.sin(2 * np.pi * f_step * t[m] + 1.0)  # step (antero-posterior)
    flying = np.zeros(n + 1, np.int64)  # +1 at a flight's first sample, -1 after its last
    for r in runs:
        st = step_times(r)
        pk = np.full(st.size, r.peak_g) + (rng.normal(0, r.peak_sd_g, st.size) if r.peak_sd_g else 0.0)
        centers.append(st)
        heights.append(pk)
        np.add.at(flying, np.searchsorted(t, st - r.flight_s), 1)
        np.add.at(flying, np.searchsorted(t, st - 0.02), -1)
        m = (t >= r.start_s) & (t < r.end_s)
        f_step = r.cadence_spm / 60.0
        h1[m] += 0.2 * np.sin(np.pi * f_step * t[m])
        h2[m] += 0.25 * np.sin(2 * np.pi * f_step * t[m] + 1.0)
    if centers:
        vert += _pulses(t, np.concatenate(centers), np.concatenate(heights), 0.040, fs)
    if runs:
        air = np.cumsum(flying[:n]) > 0
        vert[air] *= 0.1
        h1[air] *= 0.1
        h2[air] *= 0.1

    # jumps: gravity scaled to 0 during flight, push below the floor, landing pulse
    gscale = np.ones(n)
    land_c, land_h, push_c, dip_c = [], [], [], []
    for j in jumps:
        tl = round(j[0] / _GRID_S) * _GRID_S
        flight = j[2] if len(j) > 2 else 0.3
        land_c.append(tl)
        land_h.append(j[1] + 1.0)  # rises from ~0 g (flight) to 1 + peak_g
        push_c.append(tl - flight - 0.08)
        dip_c.append(tl - flight - 0.35)
        a, b = tl - flight, tl - 0.08
        m = (t >= a - 0.03) & (t <= b + 0.03)
        ramp = np.clip(np.minimum(t[m] - (a - 0.03), (b + 0.03) - t[m]) / 0.03, 0, 1)
        gscale[m] = np.minimum(gscale[m], 1 - ramp)
    for hd in heel_drops:
        tl = round(hd[0] / _GRID_S) * _GRID_S
        land_c.append(tl)
        land_h.append(hd[1] + 1.0)
        dip_c.append(tl - 0.12)
    if land_c:
        lc, lh = np.asarray(land_c), np.asarray(land_h)
        vert = vert * gscale
        h1 *= gscale
        h2 *= gscale
        vert += _pulses(t, np.asarray(push_c), np.full(len(push_c), 0.35), 0.05, fs)
        vert -= _pulses(t, np.asarray(dip_c), np.full(len(dip_c), 0.4), 0.06, fs)
        # landing pulses, scaled so that the total at the landing sample is 1 + peak_g
        idx = np.clip(np.rint((lc - t[0]) * fs).astype(np.int64), 0, max(n - 1, 0))
        scale = np.zeros(n)
        np.add.at(scale, idx, lh - vert[idx])
        half = int(np.ceil(5 * 0.03 * fs))
        k = np.exp(-0.5 * (np.arange(-half, half + 1) / (0.03 * fs)) ** 2)
        vert += sps.oaconvolve(scale, k, mode="same")

    for s0, s1, f, amp in vibration:
        m = (t >= s0) & (t < s1)
        vert[m] += amp * np.sin(2 * np.pi * f * t[m])
        h2[m] += 0.2 * amp * np.sin(2 * np.pi * f * t[m] + 0.5)

    col, sign = parse_vertical_axis(vertical_axis)
    others = [c for c in ("x", "y", "z") if c != col]
    axes = {col: sign * vert, others[0]: h1, others[1]: h2}
    noise = noise_g * rng.standard_normal((3, n))
    for i, c in enumerate(("x", "y", "z")):
        axes[c] = np.clip(axes[c] + noise[i], -range_g, range_g)
    for s0, s1 in nonwear:
        m = (t >= s0) & (t < s1)
        n_off = int(m.sum())
        for c in ("x", "y", "z"):
            axes[c][m] = (1.0 if c == others[1] else 0.0) + 0.002 * rng.standard_normal(n_off)
    keep = np.ones(n, bool)
    for s0, s1 in gaps:
        keep &= ~((t >= s0) & (t < s1))
    t0 = pd.Timestamp(start)
    t0 = t0.tz_localize(tz) if t0.tz is None else t0.tz_convert(tz)
    time = t0.tz_convert("UTC").as_unit("ns") + pd.to_timedelta(np.rint(t[keep] * 1e9).astype(np.int64), unit="ns")
    meta = RecordingMeta(
        source=source, device="simulated", sample_rate_hz=float(fs), timezone=tz,
        vertical_axis=vertical_axis, range_g=range_g,
    )
    return Recording.from_arrays(
        pd.DatetimeIndex(time).tz_convert(tz), axes["x"][keep], axes["y"][keep], axes["z"][keep], meta
    )
