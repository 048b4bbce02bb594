"""A deliberately plain reference of DESIGN §2 for checking the vectorised, blockwise code.

One ``resample_poly`` over the whole signal, one ``sosfiltfilt``, one ``find_peaks``: what the
method says, with no chunking, no gaps and no cleverness.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import signal as sps

from impactlab.recording import Recording


def reference_impacts(rec: Recording) -> pd.DataFrame:
    """Impacts by the plain hannam2017 rule: ``sample`` (native row), ``peak_g``, ``band``."""
    col, sign = rec.meta.vertical_axis[-1], (-1.0 if rec.meta.vertical_axis[0] == "-" else 1.0)
    v = rec.data[col].to_numpy(np.float64) * sign
    fs = rec.meta.sample_rate_hz
    down = int(round(fs / 50)) if fs > 50 else 1
    y = sps.resample_poly(v, 1, down) if down > 1 else v
    sos = sps.butter(4, 20, fs=fs / down, output="sos")
    y = sps.sosfiltfilt(sos, y)
    idx, props = sps.find_peaks(y - 1.0, height=0.5, distance=int(np.ceil(0.25 * fs / down)))
    h = props["peak_heights"]
    band = np.where(h >= 1.5, "high", np.where(h >= 1.0, "medium", "low"))
    return pd.DataFrame({"sample": idx * down, "peak_g": h, "band": band})
