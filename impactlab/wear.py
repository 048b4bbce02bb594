"""Non-wear detection after van Hees et al. (2013), from statistics that merge across chunks.

Samples are summarised per half-step sub-block (7.5 min for the default 15 min step) aligned to the
clock (multiples of the step since the Unix epoch, which are also local quarter hours in every
zone), as count, mean, M2 (sum of squared deviations), min and max per axis. Those merge exactly
across chunk boundaries (Chan et al.'s parallel variance), so wear is the same whatever the
chunking. A 60 min window starts at every 15 min boundary; a window whose data have, on at least
two axes, SD < 13 mg and range < 50 mg is non-wear, and every 15 min block it covers is non-wear
(the union of non-wear windows).

Device-declared still periods (ActiGraph idle sleep: the device stops sampling while still) are
still data for wear: :meth:`WearAccumulator.add_still` adds them as samples at the last value
(zero movement), the way ActiLife's CSV export and GGIR see them, while impact detection keeps
them missing. A second, plausibility stage (GGIR ``g.weardec``, on by default there) turns short
wear islands between non-wear periods into non-wear (:func:`wear_islands`).

References
----------
.. [1] van Hees VT et al. (2013) Separating movement and gravity components in an acceleration
   signal and implications for the assessment of human daily physical activity. PLoS One
   8(4):e61691.
.. [2] van Hees VT et al. (2011) Estimation of daily energy expenditure in pregnant and
   non-pregnant women using a wrist-worn tri-axial accelerometer. PLoS One 6(7):e22922; rules as
   in GGIR's ``R/g.weardec.R`` (wadpac/GGIR).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .config import WearConfig

__all__ = ["WearAccumulator", "declared_still_periods", "merge_periods", "wear_islands"]


def _minus_row(x: np.ndarray, row: np.ndarray, rows_per_line: int = 1024) -> np.ndarray:
    """``x - row`` for ``x`` of shape (N, 3): the same values, computed on lines of 3 × 1024 values.

    Broadcasting a 3-vector over (N, 3) runs numpy's inner loop 3 values at a time; on lines of
    ``rows_per_line`` rows against the tiled row it runs 3,072 at a time (2.5 × faster here).
    """
    if not x.flags.c_contiguous or x.ndim != 2:
        return np.asarray(x - row)
    out = np.empty_like(x)
    m = (x.shape[0] // rows_per_line) * rows_per_line
    if m:
        w = x.shape[1] * rows_per_line
        np.subtract(x[:m].reshape(-1, w), np.tile(row, rows_per_line), out=out[:m].reshape(-1, w))
    np.subtract(x[m:], row, out=out[m:])
    return out


class WearAccumulator:
    """Collect per-sub-block statistics chunk by chunk; :meth:`blocks` gives wear per block.

    Parameters
    ----------
    config : WearConfig
        Window, step and thresholds.
    fs : float
        Nominal sample rate (Hz); wear time is counted as samples / ``fs``.
    """

    def __init__(self, config: WearConfig, fs: float) -> None:
        self.config = config
        self.fs = fs
        self.sub_ns = int(round(config.step_min * 60e9 / 2))
        self._parts: list[dict[str, np.ndarray]] = []

    def update(self, t_ns: np.ndarray, xyz: np.ndarray, flagged_nonwear: np.ndarray | None = None) -> None:
        """Add samples: ``t_ns`` int64 UTC ns, ``xyz`` (N, 3) g, optional bool non-wear flags."""
        if t_ns.size == 0:
            return
        sub = t_ns // self.sub_ns
        starts = np.flatnonzero(np.r_[True, np.diff(sub) != 0])
        ids = sub[starts]
        cnt = np.diff(np.r_[starts, t_ns.size]).astype(np.float64)
        # shifted sums: exact enough in float64 (|x - x0| <= 2 x range, n <= 10^6 per sub-block)
        x0 = xyz[0].astype(np.float64)
        d = _minus_row(xyz, xyz[0])
        # reduced along the samples of the (3, N) views: the same sums, faster than axis 0 of (N, 3)
        s1 = np.add.reduceat(d.T, starts, axis=1, dtype=np.float64).T
        s2 = np.add.reduceat((d * d).T, starts, axis=1, dtype=np.float64).T
        mean = x0 + s1 / cnt[:, None]
        m2 = np.maximum(s2 - s1 * s1 / cnt[:, None], 0.0)
        mn = np.minimum.reduceat(xyz.T, starts, axis=1).T.astype(np.float64)
        mx = np.maximum.reduceat(xyz.T, starts, axis=1).T.astype(np.float64)
        flagged = (
            np.add.reduceat(flagged_nonwear.astype(np.float64), starts)
            if flagged_nonwear is not None
            else np.zeros(ids.size)
        )
        self._parts.append({"id": ids, "n": cnt, "mean": mean, "m2": m2, "min": mn, "max": mx, "flag": flagged})

    def add_still(self, start_ns: np.ndarray, end_ns: np.ndarray, xyz: np.ndarray) -> None:
        """Add still data: ``xyz[i]`` (g) held from ``start_ns[i]`` to ``end_ns[i]`` (UTC ns).

        Counted as ``duration × fs`` samples per sub-block with zero spread, without building the
        samples (a night of idle sleep at 100 Hz would be millions of rows).
        """
        a = np.asarray(start_ns, np.int64)
        b = np.asarray(end_ns, np.int64)
        keep = b > a
        a, b, v = a[keep], b[keep], np.asarray(xyz, np.float64).reshape(-1, 3)[keep]
        if not a.size:
            return
        first = a // self.sub_ns
        last = (b - 1) // self.sub_ns
        k = (last - first + 1).astype(np.int64)
        rep = np.repeat(np.arange(a.size), k)
        ids = first[rep] + (np.arange(rep.size) - np.repeat(np.cumsum(k) - k, k))
        lo = np.maximum(ids * self.sub_ns, a[rep])
        hi = np.minimum((ids + 1) * self.sub_ns, b[rep])
        cnt = (hi - lo) / 1e9 * self.fs
        val = v[rep]
        self._parts.append({"id": ids, "n": cnt, "mean": val, "m2": np.zeros_like(val), "min": val.copy(),
                            "max": val.copy(), "flag": np.zeros(ids.size)})

    def _merged(self) -> dict[str, np.ndarray]:
        p = self._parts
        cat = {k: np.concatenate([q[k] for q in p]) for k in p[0]}
        if (np.diff(cat["id"]) < 0).any():  # still fills come after the samples
            order = np.argsort(cat["id"], kind="stable")
            cat = {k: v[order] for k, v in cat.items()}
        ids = cat["id"]
        first = np.flatnonzero(np.r_[True, np.diff(ids) != 0])
        if first.size == ids.size:
            return cat
        # merge sub-blocks split across chunks (Chan's parallel algorithm)
        n = np.add.reduceat(cat["n"], first)
        tot = np.add.reduceat(cat["mean"] * cat["n"][:, None], first, axis=0)
        mean = tot / n[:, None]
        rep = np.repeat(np.arange(first.size), np.diff(np.r_[first, ids.size]))
        d = cat["mean"] - mean[rep]
        m2 = np.add.reduceat(cat["m2"] + cat["n"][:, None] * d * d, first, axis=0)
        return {
            "id": ids[first], "n": n, "mean": mean, "m2": m2,
            "min": np.minimum.reduceat(cat["min"], first, axis=0),
            "max": np.maximum.reduceat(cat["max"], first, axis=0),
            "flag": np.add.reduceat(cat["flag"], first),
        }

    def blocks(self) -> pd.DataFrame:
        """Wear per step block.

        Returns
        -------
        pandas.DataFrame
            ``start_ns`` (int64, UTC ns), ``n`` (samples), ``wear_s`` (seconds of worn samples),
            ``nonwear`` (bool), one row per step block that has samples.
        """
        if not self._parts:
            return pd.DataFrame({"start_ns": np.empty(0, np.int64), "n": [], "wear_s": [], "nonwear": np.empty(0, bool)})
        m = self._merged()
        cfg = self.config
        per_win = int(round(cfg.window_min / (cfg.step_min / 2)))  # sub-blocks per window (8)
        step = 2  # sub-blocks per step block
        lo = int(m["id"][0]) // step * step
        hi = int(m["id"][-1]) + 1
        size = hi - lo
        pos = m["id"] - lo
        n = np.zeros(size)
        sm = np.zeros((size, 3))
        m2 = np.zeros((size, 3))
        mn = np.full((size, 3), np.inf)
        mx = np.full((size, 3), -np.inf)
        flag = np.zeros(size)
        n[pos] = m["n"]
        sm[pos] = m["mean"] * m["n"][:, None]
        m2[pos] = m["m2"]
        mn[pos] = m["min"]
        mx[pos] = m["max"]
        flag[pos] = m["flag"]
        # windows start at every step boundary: sub-blocks [w, w + per_win)
        starts = np.arange(0, size, step)
        cn = np.r_[0, np.cumsum(n)]
        cs = np.vstack([np.zeros((1, 3)), np.cumsum(sm, axis=0)])
        end = np.minimum(starts + per_win, size)
        wn = cn[end] - cn[starts]
        wmean = (cs[end] - cs[starts]) / np.maximum(wn, 1)[:, None]
        # M2 of the window = sum of sub-block M2 + n_i (mean_i - mean)^2
        sub_mean = np.divide(sm, n[:, None], out=np.zeros_like(sm), where=n[:, None] > 0)
        wm2 = np.zeros((starts.size, 3))
        wmin = np.full((starts.size, 3), np.inf)
        wmax = np.full((starts.size, 3), -np.inf)
        for k in range(per_win):  # loop over the 8 sub-blocks of a window, vectorised over windows
            j = starts + k
            ok = j < size
            jj = np.where(ok, j, 0)
            d = sub_mean[jj] - wmean
            add = m2[jj] + n[jj][:, None] * d * d
            wm2 += np.where(ok[:, None], add, 0.0)
            wmin = np.where(ok[:, None], np.minimum(wmin, mn[jj]), wmin)
            wmax = np.where(ok[:, None], np.maximum(wmax, mx[jj]), wmax)
        sd = np.sqrt(wm2 / np.maximum(wn - 1, 1)[:, None])
        still = (sd < cfg.sd_g) & ((wmax - wmin) < cfg.range_g)
        win_nonwear = (still.sum(axis=1) >= cfg.min_axes) & (wn > 1)
        nblocks = starts.size
        per_win_blocks = per_win // step
        block_nonwear = np.zeros(nblocks, bool)
        for k in range(per_win_blocks):  # a block is non-wear when any window covering it is
            block_nonwear[k:] |= win_nonwear[: nblocks - k]
        bn = n.reshape(-1, step).sum(axis=1) if size % step == 0 else np.add.reduceat(n, starts)
        if cfg.islands:
            has0 = bn > 0
            block_nonwear[has0] = wear_islands(block_nonwear[has0], cfg.step_min)
        bflag = np.add.reduceat(flag, starts)
        wear_s = np.where(block_nonwear, 0.0, (bn - bflag) / self.fs)
        has = bn > 0
        start_ns = (lo + starts) * self.sub_ns
        return pd.DataFrame(
            {"start_ns": start_ns[has].astype(np.int64), "n": bn[has], "wear_s": wear_s[has], "nonwear": block_nonwear[has]}
        )


def wear_islands(nonwear: np.ndarray, step_min: float = 15.0) -> np.ndarray:
    """GGIR's second, plausibility stage: short wear islands between non-wear become non-wear.

    Rules of GGIR ``g.weardec`` (after van Hees et al. 2011), for a wear period between two
    non-wear periods, lengths in blocks: non-wear when it lasts < 6 h and is < 0.3 of the non-wear
    before plus after; or < 3 h and < 0.8 of it; or, when it starts in the last 24 h of the data,
    < 3 h after more than 1 h of non-wear. The rules run once on the van Hees blocks and twice more
    on the result. Edge correction (GGIR's ``nonWearEdgeCorrection``) is not applied.

    Parameters
    ----------
    nonwear : numpy.ndarray
        Bool per block (consecutive blocks that hold data), True = non-wear.
    step_min : float
        Block length in minutes.

    Returns
    -------
    numpy.ndarray
        Bool per block, the van Hees non-wear plus the reclassified islands.
    """
    r1 = np.asarray(nonwear, bool)
    n = r1.size
    per_h = 60.0 / step_min
    extra = np.zeros(n, bool)

    def _pass(s1: np.ndarray) -> None:
        d = np.diff(np.r_[0, s1.astype(np.int8), 0])
        nw_start = np.flatnonzero(d == 1)  # first block of each non-wear run
        nw_end = np.flatnonzero(d == -1)  # first block after it
        if nw_start.size < 2:
            return
        wear_len = nw_start[1:] - nw_end[:-1]
        before = nw_end[:-1] - nw_start[:-1]
        after = nw_end[1:] - nw_start[1:]
        ratio = wear_len / (before + after)
        turn = ((wear_len < 6 * per_h) & (ratio < 0.3)) | ((wear_len < 3 * per_h) & (ratio < 0.8))
        late = nw_start[:-1] > n - 24 * per_h
        turn |= late & (wear_len < 3 * per_h) & (before > 1 * per_h)
        for a, b in zip(nw_end[:-1][turn], nw_start[1:][turn], strict=True):  # per island, not per sample
            extra[a:b] = True

    _pass(r1)
    for _ in range(2):
        _pass(r1 | extra)
    return r1 | extra


def merge_periods(periods: list[dict[str, object]]) -> list[dict[str, object]]:
    """Sort ``{"start", "end", "duration_s"}`` periods (ISO-8601 times) and merge overlapping ones."""
    if not periods:
        return []
    rows = sorted(periods, key=lambda p: pd.Timestamp(str(p["start"])))
    out: list[dict[str, object]] = []
    ends: list[pd.Timestamp] = []
    for p in rows:
        a, b = pd.Timestamp(str(p["start"])), pd.Timestamp(str(p["end"]))
        if out and a <= ends[-1]:
            if b > ends[-1]:
                ends[-1] = b
                out[-1] = {**out[-1], "end": p["end"]}
            s0 = pd.Timestamp(str(out[-1]["start"]))
            out[-1]["duration_s"] = float((ends[-1] - s0).total_seconds())
            continue
        out.append(dict(p))
        ends.append(b)
    return out


def declared_still_periods(extra: dict[str, object]) -> tuple[np.ndarray, np.ndarray]:
    """Reader-declared still spans in a source's ``extra`` as (start_ns, end_ns) int64 UTC arrays.

    Any list under a key ``idle_sleep`` (ActiGraph idle sleep mode) or ``still_periods`` (any
    reader's "no movement" span), at any depth, of ``{"start", "end"}`` ISO-8601 times.
    """
    found: list[dict[str, object]] = []

    def _walk(d: object) -> None:
        if isinstance(d, dict):
            for k, v in d.items():
                if k in ("idle_sleep", "still_periods") and isinstance(v, list):
                    found.extend(p for p in v if isinstance(p, dict) and "start" in p and "end" in p)
                else:
                    _walk(v)

    _walk(extra)
    merged = merge_periods(found)
    a = np.array([pd.Timestamp(str(p["start"])).value for p in merged], np.int64)
    b = np.array([pd.Timestamp(str(p["end"])).value for p in merged], np.int64)
    return a, b
