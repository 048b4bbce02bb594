"""The simulated Polar Verity Sense's side of PMD: START settings checked as the sensor checks them, frames at the asked rate.

Facts from Polar's public BLE SDK and its documentation (no code): the Verity Sense streams ACC at
52 Hz / ±8 g in normal mode; SDK mode (measurement type 9 started first) unlocks 26-416 Hz and
±2-16 g. A START with settings the mode does not allow is answered with status 8 (invalid sample
rate) or 9 (invalid range); an ATT MTU too small for the frames with status 10 (invalid MTU).
Frames carry up to 36 samples, time-stamped with the device time of the last sample (ns since
2000-01-01) and delta-compressed (``0x80``); the START response's FACTOR says the counts are mG.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from ...recording import Recording
from ..decode import encode_pmd_frame, pmd_epoch_ns
from ..profile import SensorProfile

__all__ = ["FRAME_SAMPLES", "NORMAL_MODE", "SDK_MODE", "check_start", "pmd_frames"]

#: Samples per simulated frame (36 raw int16 samples fill 226 of the 229 bytes an MTU of 232 carries).
FRAME_SAMPLES = 36
#: ``(sample rates in Hz, ranges in ± g)`` each mode accepts.
NORMAL_MODE = (frozenset({52}), frozenset({8}))
SDK_MODE = (frozenset({26, 52, 104, 208, 416}), frozenset({2, 4, 8, 16}))


def check_start(settings: dict[str, list[float]], *, sdk_mode: bool, mtu: int, min_mtu: int) -> int:
    """PMD status of a START ACC with ``settings``: 0 success, 8 rate, 9 range, 10 MTU, 5 missing setting."""
    rates, ranges = SDK_MODE if sdk_mode else NORMAL_MODE
    if "sample_rate" not in settings or "range" not in settings:
        return 5  # INVALID PARAMETER
    if int(settings["sample_rate"][0]) not in rates:
        return 8  # INVALID SAMPLE RATE
    if int(settings["range"][0]) not in ranges:
        return 9  # INVALID RANGE
    if mtu < min_mtu:
        return 10  # INVALID MTU
    return 0


def pmd_frames(profile: SensorProfile, recording: Recording, *, rate_hz: float, range_g: float,
               clock_error: float = 0.0) -> tuple[list[bytes], list[int]]:
    """The recording as PMD ACC frames measured at ``rate_hz`` and ``range_g``.

    Parameters
    ----------
    profile : SensorProfile
        A polar-pmd profile.
    recording : Recording
        What the sensor measures (resampled to ``rate_hz`` with a polyphase filter; each run
        between gaps on its own, a gap starts a new frame).
    rate_hz, range_g : float
        The START settings (values beyond ``±range_g`` clip, as a real accelerometer's do).
    clock_error : float
        The sensor's sample spacing is ``(1 + clock_error) / rate_hz`` by its own clock (its
        timestamps), e.g. ``6e-4`` for a rate 0.06 % below nominal.

    Returns
    -------
    frames : list of bytes
        The notifications.
    first_sample : list of int
        Index (at ``rate_hz``) of each frame's first sample, for real-time playback.
    """
    fs = float(recording.meta.sample_rate_hz)
    t = recording.data.index.as_unit("ns").asi8
    if not len(t):
        return [], []
    start_ns = int(t[0])
    idx = np.rint((t - start_ns) * fs / 1e9).astype(np.int64)
    g = recording.data[["x", "y", "z"]].to_numpy(np.float64)
    ratio = Fraction(rate_hz / fs).limit_denominator(1000)
    epoch = pmd_epoch_ns(profile)
    spacing = 1e9 / rate_hz * (1.0 + clock_error)
    frames: list[bytes] = []
    firsts: list[int] = []
    breaks = np.flatnonzero(np.diff(idx) != 1) + 1
    for a, b in zip([0, *breaks.tolist()], [*breaks.tolist(), idx.size], strict=True):
        run = g[a:b] if ratio == 1 else _resample_poly(g[a:b], ratio.numerator, ratio.denominator, axis=0)
        counts = np.rint(np.clip(run, -range_g, range_g) * 1000.0).astype(np.int64)  # mG: FACTOR 1e-3
        k0 = int(round(idx[a] * rate_hz / fs))
        for s in range(0, counts.shape[0], FRAME_SAMPLES):
            e = min(s + FRAME_SAMPLES, counts.shape[0])
            ts = start_ns - epoch + int(round((k0 + e - 1) * spacing))
            frames.append(encode_pmd_frame(profile, ts, counts[s:e], delta=True))
            firsts.append(k0 + s)
    return frames, firsts


def _resample_poly(x: np.ndarray, up: int, down: int, axis: int = 0) -> np.ndarray:
    from scipy.signal import resample_poly  # here: SciPy costs the hip-v1 simulator 65 MB it never uses

    return np.asarray(resample_poly(x, up, down, axis=axis))
