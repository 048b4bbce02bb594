"""Non-wear detection after van Hees et al. (2013), from statistics that merge across chunks.

Samples are summarised per half-step sub-block (7.5 min for the default 15 min step) aligned to the
clock (multiples of the step since the Unix epoch, which are also local quarter hours in every
zone), as count, mean, M2 (sum of squared deviations), min and max per axis. Those merge exactly
across chunk boundaries (Chan et al.'s parallel variance), so wear is the same whatever the
chunking. A 60 min window starts at every 15 min boundary; a window whose data have, on at least
two axes, SD < 13 mg and range < 50 mg is non-wear, and every 15 min block it covers is non-wear
(the union of non-wear windows).

References
----------
.. [1] van Hees VT et al. (2013) Separating movement and gravity components in an acceleration
   signal and implications for the assessment of human daily physical activity. PLoS One
   8(4):e61691.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .config import WearConfig

__all__ = ["WearAccumulator"]


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
        d = xyz - xyz[0]
        s1 = np.add.reduceat(d, starts, axis=0, dtype=np.float64)
        s2 = np.add.reduceat(d * d, starts, axis=0, dtype=np.float64)
        mean = x0 + s1 / cnt[:, None]
        m2 = np.maximum(s2 - s1 * s1 / cnt[:, None], 0.0)
        mn = np.minimum.reduceat(xyz, starts, axis=0).astype(np.float64)
        mx = np.maximum.reduceat(xyz, starts, axis=0).astype(np.float64)
        flagged = (
            np.add.reduceat(flagged_nonwear.astype(np.float64), starts)
            if flagged_nonwear is not None
            else np.zeros(ids.size)
        )
        self._parts.append({"id": ids, "n": cnt, "mean": mean, "m2": m2, "min": mn, "max": mx, "flag": flagged})

    def _merged(self) -> dict[str, np.ndarray]:
        p = self._parts
        cat = {k: np.concatenate([q[k] for q in p]) for k in p[0]}
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
        bflag = np.add.reduceat(flag, starts)
        wear_s = np.where(block_nonwear, 0.0, (bn - bflag) / self.fs)
        has = bn > 0
        start_ns = (lo + starts) * self.sub_ns
        return pd.DataFrame(
            {"start_ns": start_ns[has].astype(np.int64), "n": bn[has], "wear_s": wear_s[has], "nonwear": block_nonwear[has]}
        )
