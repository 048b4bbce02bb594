"""Signal preparation: vertical axis, anti-aliased resampling, zero-phase low-pass, blockwise.

Everything here is vectorised over whole blocks (``scipy.signal``); no Python loop runs per sample.
Long recordings are processed in fixed blocks of each contiguous segment, each block filtered with
``overlap_s`` of context on both sides that is trimmed afterwards (actipy's "leeway"). Block
positions depend only on the position in the segment, never on how the input was chunked, so a
recording fed in any chunks gives exactly the same samples as one fed whole (docs/method.md §6.5).
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pandas as pd
from scipy import signal as sps

from .config import DetectionConfig
from .errors import DataError
from .recording import parse_vertical_axis

__all__ = [
    "ALIGN_MAX_DEG",
    "MIN_RATE_HZ",
    "GravityAligner",
    "SegmentFilter",
    "lowpass",
    "plan_rate",
    "signal_of_interest",
]

#: Below this rate (Hz) a jump landing (~20–50 ms) is not resolved; analysis is refused.
MIN_RATE_HZ = 25.0


def plan_rate(fs_in: float, config: DetectionConfig) -> tuple[float, int, int]:
    """Output rate and polyphase factors for input at ``fs_in`` Hz.

    Parameters
    ----------
    fs_in : float
        Input sample rate in Hz.
    config : DetectionConfig
        ``target_rate_hz`` (None keeps the native rate).

    Returns
    -------
    tuple of (float, int, int)
        ``(fs_out, up, down)``; ``up == down == 1`` when no resampling is done (input at or
        below the target rate).

    Raises
    ------
    DataError
        If ``fs_in`` is below :data:`MIN_RATE_HZ`.
    """
    if not np.isfinite(fs_in) or fs_in < MIN_RATE_HZ:
        raise DataError(
            f"sample rate {fs_in:g} Hz is below {MIN_RATE_HZ:g} Hz",
            hint="Impacts last tens of milliseconds; record at 50 Hz or more (Hannam 2017 used 50 Hz)",
        )
    target = config.target_rate_hz
    if target is None or fs_in <= target * (1 + 1e-9):
        return float(fs_in), 1, 1
    ratio = Fraction(target / fs_in).limit_denominator(1000)
    return fs_in * ratio.numerator / ratio.denominator, ratio.numerator, ratio.denominator


def design_lowpass(fs: float, config: DetectionConfig) -> np.ndarray | None:
    """Second-order sections of the preset's Butterworth low-pass at ``fs`` Hz, or None.

    None when the cutoff is at or above the Nyquist frequency (the sampled signal is already
    band-limited there, so there is nothing to remove).
    """
    if config.lowpass_hz is None or config.lowpass_hz >= 0.5 * fs:
        return None
    return np.asarray(sps.butter(config.filter_order, config.lowpass_hz, btype="lowpass", fs=fs, output="sos"))


def lowpass(x: np.ndarray, fs: float, *, cutoff_hz: float = 20.0, order: int = 4) -> np.ndarray:
    """Zero-phase Butterworth low-pass of a 1-D signal (``scipy.signal.sosfiltfilt``).

    Parameters
    ----------
    x : numpy.ndarray
        Signal (any unit), shape (N,).
    fs : float
        Sample rate in Hz.
    cutoff_hz : float, default 20.0
        -3 dB cutoff in Hz (each pass; zero-phase doubles the attenuation).
    order : int, default 4
        Butterworth order.

    Returns
    -------
    numpy.ndarray
        Filtered signal, float64, same shape. Signals shorter than 3 samples are returned as is.
    """
    x = np.asarray(x, dtype=np.float64)
    if cutoff_hz >= 0.5 * fs or x.size < 3:
        return x.copy()
    sos = sps.butter(order, cutoff_hz, btype="lowpass", fs=fs, output="sos")
    return _filtfilt(sos, x)


def _filtfilt(sos: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``scipy.signal.sosfiltfilt(sos, x, padlen=3 * ntaps)`` (odd extension), with the initial
    state of the sections computed once per filter rather than on every block (the same values)."""
    padlen = _padlen(sos, x.size)
    if padlen < 1:
        return np.asarray(sps.sosfiltfilt(sos, x, padlen=padlen))
    zi = _sos_zi(sos)
    ext = np.concatenate([2 * x[:1] - x[padlen:0:-1], x, 2 * x[-1:] - x[-2 : -padlen - 2 : -1]])
    y, _ = sps.sosfilt(sos, ext, zi=zi * ext[:1])
    y, _ = sps.sosfilt(sos, y[::-1], zi=zi * y[-1:])
    return np.asarray(y[::-1][padlen:-padlen])


def _ntaps(sos: np.ndarray) -> int:
    """scipy's filter length for ``sosfiltfilt``'s default pad: 2 × sections + 1, less the zero
    trailing coefficients (= order + 1 for a Butterworth low-pass)."""
    return 2 * len(sos) + 1 - min(int((sos[:, 2] == 0).sum()), int((sos[:, 5] == 0).sum()))


def _padlen(sos: np.ndarray, n: int) -> int:
    """The odd-extension pad of a zero-phase pass over ``n`` samples: 3 × :func:`_ntaps`, at most n - 1."""
    return min(3 * _ntaps(sos), n - 1)


_ZI: dict[bytes, np.ndarray] = {}


def _sos_zi(sos: np.ndarray) -> np.ndarray:
    """``scipy.signal.sosfilt_zi(sos)``, kept per filter (a linear solve per section)."""
    key = np.ascontiguousarray(sos, np.float64).tobytes()
    zi = _ZI.get(key)
    if zi is None:
        zi = _ZI[key] = np.asarray(sps.sosfilt_zi(sos))
        zi.setflags(write=False)
    return zi


def _filtfilt_zero_edges(sos: np.ndarray, x: np.ndarray, *, start: bool, end: bool) -> np.ndarray:
    """Zero-phase filter whose true segment ends behave as R ``signal::filtfilt``.

    At a true start (``start``) the forward pass begins from a zero state with no padding; at a
    true end (``end``) 2·(order + 1) zeros are appended and the backward pass begins from a zero
    state. Ends that are block boundaries inside a segment use :func:`_filtfilt`'s odd extension
    (their effect decays within the block overlap).
    """
    ntaps = _ntaps(sos)  # = order + 1
    padlen = _padlen(sos, x.size)
    zi = _sos_zi(sos)
    left = np.empty(0) if start else 2 * x[0] - x[padlen:0:-1]
    right = np.zeros(2 * ntaps) if end else 2 * x[-1] - x[-2 : -padlen - 2 : -1]
    ext = np.concatenate([left, x, right])
    if start:
        y = sps.sosfilt(sos, ext)
    else:
        y, _ = sps.sosfilt(sos, ext, zi=zi * ext[0])
    if end:
        y = sps.sosfilt(sos, y[::-1])
    else:
        y, _ = sps.sosfilt(sos, y[::-1], zi=zi * y[-1])
    return np.asarray(y[::-1][left.size : left.size + x.size])


def signal_of_interest(data: pd.DataFrame, vertical_axis: str, vector: str) -> np.ndarray:
    """The signal whose peaks are counted, in g (gravity included), float64.

    Parameters
    ----------
    data : pandas.DataFrame
        Columns ``x, y, z`` in g.
    vertical_axis : str
        ``"+y"``, ``"-y"``, ...; the sign makes standing still read about +1 g.
    vector : {"vertical", "resultant"}
        Signed vertical axis, or the magnitude sqrt(x² + y² + z²).
    """
    if vector == "resultant":
        xyz = data[["x", "y", "z"]].to_numpy(dtype=np.float64)
        mag: np.ndarray = np.sqrt(np.einsum("ij,ij->i", xyz, xyz))
        return mag
    col, sign = parse_vertical_axis(vertical_axis)
    v: np.ndarray = data[col].to_numpy(dtype=np.float64)
    return v * sign if sign < 0 else v


#: Still windows whose gravity is further than this (degrees) from the declared vertical axis are
#: posture (lying, reclining), not a tilted belt, and are not used to align (project decision [P]).
ALIGN_MAX_DEG = 45.0


class GravityAligner:
    """The acceleration along the measured gravity direction (``--align-gravity``), in any chunks.

    Samples are cut into 1 s windows on the recording's sample grid (positions count from the first
    sample, so the windows do not depend on how the input is chunked). A window is *still* when
    every axis has SD < ``still_sd_g`` and its mean vector is 0.9–1.1 g long and within
    :data:`ALIGN_MAX_DEG` of the declared vertical axis. Each sample is projected on the unit
    vector of the latest still window that ended before it — so every bout of movement is read
    along the gravity direction measured in the still period before it — and, before the first
    still window, on the declared vertical axis. At rest the aligned signal reads |g| (about
    +1 g), as the declared axis does.

    Parameters
    ----------
    vertical_axis : str
        The declared vertical axis, ``"+y"``, ``"-y"``, ...
    fs : float
        Nominal sample rate (Hz); the window is ``max(2, round(fs))`` samples.
    still_sd_g : float, default 0.05
        Per-axis SD below which a 1 s window is still (g); the same 0.05 g the pipeline's still
        test and tilt use.

    Notes
    -----
    Vectorised per chunk: window statistics by reshaping, the latest still window per sample by
    ``numpy.maximum.accumulate`` over window indices, the projection by ``einsum``. Time gaps do
    not reset the direction (the sensor on a belt keeps its orientation while it does not record).
    Counting along gravity removes the cosine loss and the horizontal cross-talk of a tilted
    sensor; docs/method.md §7 gives the effect on the adept run.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.radians(30.0)
    >>> still = np.tile([0.0, np.cos(a), np.sin(a)], (200, 1))   # 2 s at rest, tilted 30° about x
    >>> al = GravityAligner("+y", 100.0)
    >>> v = al.push(np.vstack([still, [[0.0, 3 * np.cos(a), 3 * np.sin(a)]]]))
    >>> round(float(v[-1]), 6), round(al.angle_deg, 1)
    (3.0, 30.0)
    """

    def __init__(self, vertical_axis: str, fs: float, *, still_sd_g: float = 0.05) -> None:
        col, sign = parse_vertical_axis(vertical_axis)
        self.axis = np.zeros(3)
        self.axis["xyz".index(col)] = float(sign)
        self.win = max(2, int(round(fs)))
        self.still_sd_g = still_sd_g
        self.direction: np.ndarray | None = None  # unit gravity vector in use, None = declared axis
        self.n_still = 0
        self._carry = np.empty((0, 3))
        self._cos_max = math.cos(math.radians(ALIGN_MAX_DEG))

    @property
    def angle_deg(self) -> float | None:
        """Angle (degrees) between the declared vertical axis and the direction in use (None before any)."""
        if self.direction is None:
            return None
        return float(np.degrees(np.arccos(np.clip(float(self.direction @ self.axis), -1.0, 1.0))))

    def push(self, xyz: np.ndarray) -> np.ndarray:
        """Project the next samples (shape (N, 3), g) on the gravity direction; returns (N,) g, float64."""
        xyz = np.asarray(xyz, dtype=np.float64)
        n = xyz.shape[0]
        if n == 0:
            return np.empty(0)
        buf = np.concatenate([self._carry, xyz]) if self._carry.size else xyz
        off = self._carry.shape[0]  # buf position of xyz[0]
        w = self.win
        k = buf.shape[0] // w
        before = self.axis if self.direction is None else self.direction
        dirs = np.vstack([before, self.axis])  # row 0: direction from before this chunk
        idx = np.zeros(n, np.intp)
        if k:
            win = buf[: k * w].reshape(k, w, 3)
            mean = win.mean(axis=1)
            norm = np.linalg.norm(mean, axis=1)
            unit = mean / np.maximum(norm, 1e-12)[:, None]
            still = ((win.std(axis=1) < self.still_sd_g).all(axis=1) & (norm > 0.9) & (norm < 1.1)
                     & (unit @ self.axis >= self._cos_max))
            if still.any():
                dirs = np.vstack([before, unit])
                latest = np.maximum.accumulate(np.where(still, np.arange(k), -1))  # per window
                q = (off + np.arange(n)) // w - 1  # latest window that ended before each sample
                has = q >= 0
                src = np.full(n, -1)
                src[has] = latest[np.minimum(q[has], k - 1)]
                idx = np.where(src >= 0, src + 1, 0)
                self.direction = unit[int(latest[-1])]
                self.n_still += int(still.sum())
        self._carry = buf[k * w :].copy()
        g = dirs[idx]
        return np.asarray(np.einsum("ij,ij->i", xyz, g), dtype=np.float64)


class SegmentFilter:
    """Resample and low-pass one contiguous segment, block by block, in any chunks.

    ``push(x)`` takes the next input samples and returns every output sample that is settled;
    ``finish()`` returns the rest. Outputs are in order and contiguous; output ``k`` lies at input
    position ``k * down / up``.

    Parameters
    ----------
    fs_in : float
        Input rate (Hz).
    config : DetectionConfig
        Target rate, low-pass, ``block_s`` and ``overlap_s``.
    """

    def __init__(self, fs_in: float, config: DetectionConfig) -> None:
        self.fs_out, self.up, self.down = plan_rate(fs_in, config)
        self.sos = design_lowpass(self.fs_out, config)
        self.zero_edges = getattr(config, "filter_edges", "odd") == "zero"
        self._final = False
        d = self.down
        self.block = d * max(1, math.ceil(config.block_s * fs_in / d))
        self.overlap = d * max(1, math.ceil(config.overlap_s * fs_in / d))
        # resample_poly's own anti-alias FIR (its default Kaiser beta 5 design, 10 taps per side per
        # rate step), designed once here rather than again on every block
        r = max(self.up, self.down)
        self._fir = sps.firwin(2 * 10 * r + 1, 1.0 / r, window=("kaiser", 5.0)) if r > 1 else None
        self._raw = np.empty(0)
        self._raw_start = 0  # input index of _raw[0]
        self._next = 0  # input index where the next block starts
        self.n_in = 0

    @property
    def lag(self) -> int:
        """Input samples that may be held back before output is settled."""
        return self.block + self.overlap

    def push(self, x: np.ndarray) -> np.ndarray:
        """Add input samples; return newly settled output samples (float64)."""
        if x.size:
            self._raw = np.concatenate([self._raw, x]) if self._raw.size else np.asarray(x, np.float64)
            self.n_in += x.size
        outs = []
        while self._next + self.block + self.overlap <= self.n_in:
            outs.append(self._run(self._next, self._next + self.block))
            self._next += self.block
            self._trim()
        return np.concatenate(outs) if outs else np.empty(0)

    def finish(self) -> np.ndarray:
        """Process what is left (blocks with whatever right context exists)."""
        outs = []
        self._final = True
        while self._next < self.n_in:
            b = min(self._next + self.block, self.n_in)
            outs.append(self._run(self._next, b))
            self._next = b
        self._trim()
        return np.concatenate(outs) if outs else np.empty(0)

    def _trim(self) -> None:
        keep_from = max(0, self._next - self.overlap)
        if keep_from > self._raw_start:
            self._raw = self._raw[keep_from - self._raw_start :]
            self._raw_start = keep_from

    def _run(self, a: int, b: int) -> np.ndarray:
        c0 = max(0, a - self.overlap)
        c1 = min(self.n_in, b + self.overlap)
        seg = self._raw[c0 - self._raw_start : c1 - self._raw_start]
        up, down = self.up, self.down
        if up != 1 or down != 1:
            y = sps.resample_poly(seg, up, down, window=self._fir)
        else:
            y = seg
        if self.sos is not None and y.size >= 3:
            if self.zero_edges:
                y = _filtfilt_zero_edges(self.sos, y, start=c0 == 0, end=self._final and c1 == self.n_in)
            else:
                y = _filtfilt(self.sos, y)
        out0 = c0 * up // down
        lo = a * up // down - out0
        hi = -(-b * up // down) - out0
        return np.asarray(y[lo:hi], dtype=np.float64)


class StillWindows:
    """The still 1 s windows of a recording, fed chunk by chunk: the gravity check and the tilt.

    A window is still when the SD of the vertical signal over it is under ``still_sd_g``. For
    each still window the start time, the vertical mean and the mean (x, y, z) are kept. Windows
    are counted from the recording's first sample, not each chunk's: the samples after a chunk's
    last whole window wait for the next chunk, so the windows (and the median and tilt taken from
    them) do not depend on where the reader cut its chunks.

    Parameters
    ----------
    win : int
        Samples per window (the rate in Hz for 1 s windows).
    still_sd_g : float, default 0.05
        SD (g) under which a window is still.
    """

    def __init__(self, win: int, *, still_sd_g: float = 0.05) -> None:
        self.win = int(win)
        self.var_max = float(still_sd_g) ** 2
        self._t: list[np.ndarray] = []
        self._v: list[np.ndarray] = []
        self._g: list[np.ndarray] = []
        # samples after the last whole window so far: (times ns, vertical g, (x, y, z) g)
        self._tail: tuple[np.ndarray, np.ndarray, np.ndarray] = (np.empty(0, np.int64), np.empty(0),
                                                                  np.empty((0, 3)))

    def update(self, t: np.ndarray, v: np.ndarray, xyz: np.ndarray) -> None:
        """Add samples: ``t`` int64 ns, ``v`` the vertical signal (g), ``xyz`` (N, 3) g."""
        w = self.win
        tail_t, tail_v, tail_x = self._tail
        if tail_t.size:  # complete the window begun in the previous chunk
            need = w - tail_t.size
            if v.size < need:
                self._tail = (np.concatenate([tail_t, t]), np.concatenate([tail_v, v]), np.concatenate([tail_x, xyz]))
                return
            self._add(np.concatenate([tail_t, t[:need]]), np.concatenate([tail_v, v[:need]]),
                      np.concatenate([tail_x, xyz[:need]]))
            t, v, xyz = t[need:], v[need:], xyz[need:]
        k = v.size // w
        self._add(t[: k * w], v[: k * w], xyz[: k * w])
        self._tail = (t[k * w:].copy(), v[k * w:].copy(), xyz[k * w:].copy())

    def windows(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The still windows so far: start times (ns), vertical means (g), (x, y, z) means (g, (K, 3))."""
        if not self._t:
            return np.empty(0, np.int64), np.empty(0), np.empty((0, 3))
        return np.concatenate(self._t), np.concatenate(self._v), np.concatenate(self._g)

    def _add(self, t: np.ndarray, v: np.ndarray, xyz: np.ndarray) -> None:
        w = self.win
        k = v.size // w
        if not k:
            return
        vw = v.reshape(k, w)
        # the SD test from the window sums (float64; |v| is a few g, so the cancellation error is
        # ~1e-15 g^2 against the 2.5e-3 g^2 threshold): 4x faster than std's two passes
        mean = vw.sum(axis=1) / w
        still = np.einsum("ij,ij->i", vw, vw) / w - mean * mean < self.var_max
        self._t.append(t[::w][still])
        self._v.append(mean[still])
        # the mean (x, y, z) of the still windows as one matrix product (BLAS); a mean over the
        # middle axis of (k, w, 3) is a strided reduction, 10x slower
        xs = xyz.reshape(k, w, 3)[still]
        self._g.append(np.ones(w, xs.dtype) @ xs / w)
