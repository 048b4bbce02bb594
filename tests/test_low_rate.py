"""Below 50 Hz: the high band is marked not comparable with Hannam's norms, the skipped low-pass named.

Real file: impactr/hip-raw.csv (ActiGraph GT3X+, hip, 100 Hz) resampled to 30 Hz (ActiGraph's
default rate) with scipy's polyphase resampler, an anti-aliased reference independent of impactlab.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.signal as sps

from impactlab import analyze
from impactlab.io import open_recording
from impactlab.recording import Recording

ROOT = Path(__file__).resolve().parents[1]
HIP = ROOT.parent / "shared" / "data" / "impactr" / "hip-raw.csv"
pytestmark = pytest.mark.skipif(not HIP.exists(), reason="impactr/hip-raw.csv absent")


def test_hip_raw_at_30_hz_marks_high_band_not_comparable() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rec = open_recording(HIP).read()
        base = analyze(rec)
        y = sps.resample_poly(rec.data[["x", "y", "z"]].to_numpy(), 3, 10, axis=0)
        t = rec.data.index[0] + pd.to_timedelta(np.arange(len(y)) / 30.0, unit="s")
        r30 = Recording(pd.DataFrame(y, columns=["x", "y", "z"], index=pd.DatetimeIndex(t)),
                        rec.meta.replace(sample_rate_hz=30.0))
        res = analyze(r30)
    j = res.to_json_dict()
    assert j["high_band"]["comparable_to_hannam"] is False and "30 Hz" in j["high_band"]["reason"]
    assert j["qc"]["comparable_to_hannam"]["high"] is False
    assert "high_band" not in base.to_json_dict()
    w = [m for m in res.qc["warnings"] if "below the preset's 50 Hz" in m]
    assert w and "20 Hz low-pass was skipped" in w[0]
    # the figures the warning quotes are the ones measured here
    assert (base.band_totals()["high"], res.band_totals()["high"]) == (25, 3)
    assert (base.band_totals()["low"], res.band_totals()["low"]) == (115, 135)
    assert "25 -> 3" in w[0] and "115 -> 135" in w[0]
