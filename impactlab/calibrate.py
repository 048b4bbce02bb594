"""Auto-calibration of a triaxial accelerometer on still periods (sphere fit, van Hees et al. 2014).

When the sensor is still it measures gravity only, so the calibrated vector magnitude should be
1 g whatever the orientation. The means of still windows (10 s, SD < 13 mg on every axis) are
fitted to the unit sphere with a per-axis offset and scale, ``a_cal = offset + scale · a_raw``,
by iteratively re-weighted least squares: each iteration projects the current calibrated points
onto the sphere (their closest points), regresses those targets on the raw values axis by axis with
weights ``min(1 / |error|, 100)``, and stops when the mean error changes by less than 1e-10 g (at
most 1000 iterations).

The fit is refused (the data stay as they are, with a
:class:`~impactlab.errors.DataQualityWarning` saying why) when there are fewer than
``min_points`` still windows, when the still orientations do not cover the sphere (each axis must
read below −0.3 g and above +0.3 g in some window, as GGIR requires), or when the error after the
fit is above 10 mg or not lower than before.

Diagnostics (offsets, scales, number of still points, mean error before and after in g) are
returned as :class:`CalibrationResult`; through the command line (``--calibrate``) they go to
``-Info.json`` under ``calibration``.

References
----------
.. [1] van Hees VT, Fang Z, Langford J, et al. (2014) Autocalibration of accelerometer data for
   free-living physical activity assessment using local gravity and temperature: an evaluation on
   four continents. J Appl Physiol 117(7):738-744. doi:10.1152/japplphysiol.00421.2014
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .errors import DataQualityWarning
from .io._common import RecordingSource
from .recording import Recording

__all__ = ["CalibrationResult", "StillWindows", "apply_calibration", "calibrate_source", "fit_calibration"]

#: Still-window length (s) and SD threshold (g), van Hees et al. 2014.
WINDOW_S = 10.0
STILL_SD_G = 0.013
#: Sphere coverage: every axis must read below -SPHERE_G and above +SPHERE_G in some still window.
SPHERE_G = 0.3
#: Fewest still windows accepted.
MIN_POINTS = 20
#: Largest mean error (g) accepted after the fit.
MAX_ERROR_AFTER_G = 0.01


@dataclass(frozen=True)
class CalibrationResult:
    """Outcome of the sphere fit.

    Attributes
    ----------
    offset_g, scale : tuple of 3 floats
        ``a_cal = offset_g + scale · a_raw`` per axis (x, y, z); (0, 0, 0) and (1, 1, 1) when not applied.
    n_still : int
        Still windows (10 s, SD < 13 mg) used.
    error_before_g, error_after_g : float or None
        Mean absolute deviation of the still windows' vector magnitude from 1 g, before and after.
    applied : bool
        Whether the calibration is used.
    reason : str or None
        Why it was refused.
    iterations : int
        Iterations of the fit.
    """

    offset_g: tuple[float, float, float] = (0.0, 0.0, 0.0)
    scale: tuple[float, float, float] = (1.0, 1.0, 1.0)
    n_still: int = 0
    error_before_g: float | None = None
    error_after_g: float | None = None
    applied: bool = False
    reason: str | None = None
    iterations: int = 0
    method: str = field(default="sphere fit on still 10 s windows (van Hees et al. 2014)")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready diagnostics."""
        d = asdict(self)
        for k in ("error_before_g", "error_after_g"):
            if d[k] is not None:
                d[k] = round(float(d[k]), 6)
        d["offset_g"] = [round(float(v), 6) for v in self.offset_g]
        d["scale"] = [round(float(v), 6) for v in self.scale]
        return d


class StillWindows:
    """Collect the means of still windows chunk by chunk (windows aligned to 10 s of UTC time).

    Parameters
    ----------
    fs : float
        Nominal sample rate (Hz); a window needs 90 % of its samples.
    window_s, sd_g : float
        Window length (s) and per-axis SD threshold (g).
    """

    def __init__(self, fs: float, *, window_s: float = WINDOW_S, sd_g: float = STILL_SD_G) -> None:
        self.win_ns = int(round(window_s * 1e9))
        self.need = 0.9 * window_s * fs
        self.sd_g = sd_g
        self._means: list[np.ndarray] = []
        self._pending: tuple[int, np.ndarray] | None = None  # (window id, [n, sum(3), sumsq(3)])

    def update(self, chunk: Recording | pd.DataFrame) -> None:
        """Add the next chunk (time order)."""
        data = chunk.data if isinstance(chunk, Recording) else chunk
        if not len(data):
            return
        t = data.index.as_unit("ns").asi8
        x = data[["x", "y", "z"]].to_numpy(np.float64)
        wid = t // self.win_ns
        starts = np.flatnonzero(np.r_[True, np.diff(wid) != 0])
        stats = np.column_stack([
            np.diff(np.r_[starts, t.size]).astype(np.float64),
            np.add.reduceat(x, starts, axis=0),
            np.add.reduceat(x * x, starts, axis=0),
        ])
        ids = wid[starts]
        if self._pending is not None:
            pid, pst = self._pending
            if ids[0] == pid:
                stats[0] += pst
            else:
                self._finish(np.array([pid]), pst[None, :])
        self._finish(ids[:-1], stats[:-1])
        self._pending = (int(ids[-1]), stats[-1])

    def _finish(self, ids: np.ndarray, st: np.ndarray) -> None:
        if not ids.size:
            return
        n = st[:, 0]
        mean = st[:, 1:4] / n[:, None]
        var = np.maximum(st[:, 4:7] / n[:, None] - mean * mean, 0.0)
        ok = (n >= self.need) & (np.sqrt(var) < self.sd_g).all(axis=1)
        if ok.any():
            self._means.append(mean[ok])

    def points(self) -> np.ndarray:
        """Still-window means (n, 3) in g, including the last window when complete."""
        if self._pending is not None:
            pid, pst = self._pending
            self._finish(np.array([pid]), pst[None, :])
            self._pending = None
        return np.concatenate(self._means) if self._means else np.empty((0, 3))


def _error(p: np.ndarray) -> float:
    return float(np.mean(np.abs(np.sqrt((p * p).sum(axis=1)) - 1.0)))


def fit_calibration(
    points: np.ndarray, *, min_points: int = MIN_POINTS, sphere_g: float = SPHERE_G,
    max_error_after_g: float = MAX_ERROR_AFTER_G, max_iter: int = 1000, tol_g: float = 1e-10,
) -> CalibrationResult:
    """Fit offset and scale per axis so that still-window means lie on the unit sphere.

    Parameters
    ----------
    points : numpy.ndarray
        (n, 3) means of still windows in g.
    min_points : int
        Fewest windows accepted.
    sphere_g : float
        Each axis must have a window below −``sphere_g`` and one above +``sphere_g`` g.
    max_error_after_g : float
        Largest mean error (g) accepted after the fit.
    max_iter : int
        Iteration limit.
    tol_g : float
        Stop when the mean error changes by less than this (g).

    Returns
    -------
    CalibrationResult
        ``applied`` is False (with ``reason``) when refused.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> u = rng.normal(size=(200, 3)); u /= np.linalg.norm(u, axis=1, keepdims=True)
    >>> raw = (u - [0.02, -0.03, 0.01]) / [1.02, 0.98, 1.01]
    >>> res = fit_calibration(raw)
    >>> res.applied, [round(v, 3) for v in res.offset_g]
    (True, [0.02, -0.03, 0.01])
    """
    p = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    n = p.shape[0]
    before = _error(p) if n else None
    if n < min_points:
        return CalibrationResult(n_still=n, error_before_g=before,
                                 reason=f"only {n} still 10 s window(s); at least {min_points} are needed")
    lacking = [f"{a} never {'below' if lo else 'above'} {'-' if lo else '+'}{sphere_g:g} g"
               for j, a in enumerate("xyz") for lo in (True, False)
               if (lo and p[:, j].min() > -sphere_g) or (not lo and p[:, j].max() < sphere_g)]
    if lacking:
        return CalibrationResult(n_still=n, error_before_g=before,
                                 reason="the still orientations do not cover the sphere (" + "; ".join(lacking) + ")")
    off = np.zeros(3)
    scale = np.ones(3)
    w = np.ones(n)
    err_old = before if before is not None else 0.0
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007 - reported
        cal = off + p * scale
        norm = np.sqrt((cal * cal).sum(axis=1))
        target = cal / norm[:, None]
        for j in range(3):  # weighted least squares target_j = a + b * raw_j
            sw = w.sum()
            xm = (w * p[:, j]).sum() / sw
            ym = (w * target[:, j]).sum() / sw
            sxx = (w * (p[:, j] - xm) ** 2).sum()
            b = (w * (p[:, j] - xm) * (target[:, j] - ym)).sum() / sxx if sxx > 0 else 1.0
            off[j], scale[j] = ym - b * xm, b
        cal = off + p * scale
        resid = np.sqrt((cal * cal).sum(axis=1)) - 1.0
        w = np.minimum(1.0 / np.maximum(np.abs(resid), 1e-12), 100.0)
        err = float(np.mean(np.abs(resid)))
        if abs(err - err_old) < tol_g:
            break
        err_old = err
    after = _error(off + p * scale)
    res = dict(offset_g=tuple(float(v) for v in off), scale=tuple(float(v) for v in scale), n_still=n,
               error_before_g=before, error_after_g=after, iterations=it)
    if after > max_error_after_g:
        return CalibrationResult(n_still=n, error_before_g=before, error_after_g=after, iterations=it,
                                 reason=f"the error after fitting is {after * 1000:.1f} mg (limit "
                                        f"{max_error_after_g * 1000:.0f} mg)")
    if before is not None and after >= before:
        return CalibrationResult(n_still=n, error_before_g=before, error_after_g=after, iterations=it,
                                 reason="the fit does not lower the error")
    return CalibrationResult(applied=True, **res)  # type: ignore[arg-type]


def apply_calibration(rec: Recording, result: CalibrationResult) -> Recording:
    """``rec`` with ``x, y, z`` replaced by ``offset_g + scale · value`` (a copy; unchanged if not applied)."""
    if not result.applied:
        return rec
    data = rec.data.copy()
    for j, a in enumerate("xyz"):
        data[a] = (result.offset_g[j] + result.scale[j] * data[a].to_numpy(np.float64)).astype(np.float32)
    return Recording(data, rec.meta, validate=False)


def calibrate_source(source: RecordingSource, **fit_options: Any) -> RecordingSource:
    """Fit on a first chunked pass over ``source`` and return a source whose chunks are calibrated.

    Parameters
    ----------
    source : RecordingSource
        Any opened recording.
    **fit_options
        Passed to :func:`fit_calibration`.

    Returns
    -------
    RecordingSource
        Same metadata; ``extra["calibration"]`` holds :meth:`CalibrationResult.to_dict`.

    Warns
    -----
    DataQualityWarning
        When the calibration is refused (the data are then used as recorded).
    """
    still = StillWindows(source.meta.sample_rate_hz)
    for chunk in source.chunks():
        still.update(chunk)
    result = fit_calibration(still.points(), **fit_options)
    notes = list(source.notes)
    if result.applied:
        notes.append(f"{source.meta.source}: auto-calibrated on {result.n_still} still windows (van Hees 2014): "
                     f"error {result.error_before_g * 1000:.1f} mg -> {result.error_after_g * 1000:.1f} mg")  # type: ignore[operator]
    else:
        msg = (f"{source.meta.source}: auto-calibration refused: {result.reason}. The data are used as recorded; "
               "record a few minutes with the sensor still in several orientations, or drop --calibrate")
        notes.append(msg)
        warnings.warn(msg, DataQualityWarning, stacklevel=2)

    def chunks() -> Iterator[Recording]:
        for chunk in source.chunks():
            yield apply_calibration(chunk, result)

    return RecordingSource(meta=source.meta, chunks=chunks, n_rows_hint=source.n_rows_hint, notes=notes,
                           extra={**source.extra, "calibration": result.to_dict()})
