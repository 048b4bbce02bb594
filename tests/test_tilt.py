"""Tilt as an angle: the adept hip run (ActiGraph GT9X, left hip, vertical -y) rotated 30° about x.

Reference: the angle between -y and the mean gravity vector over still 2 s windows (every axis SD
< 0.03 g), computed here with numpy on the rotated samples, independently of impactlab's still test.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from impactlab import analyze
from impactlab.io import open_recording
from impactlab.recording import Recording

ROOT = Path(__file__).resolve().parents[1]
RUN = ROOT.parent / "shared" / "data" / "adeptdata" / "acc_running_left_hip.csv.gz"
pytestmark = pytest.mark.skipif(not RUN.exists(), reason="adeptdata run absent")


def _rotated(deg: float) -> tuple[Recording, np.ndarray]:
    rec = open_recording(RUN, vertical_axis="-y").read()
    a = np.radians(deg)
    rot = np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])
    xyz = rec.data[["x", "y", "z"]].to_numpy(np.float64) @ rot.T
    df = pd.DataFrame(xyz.astype(np.float32), columns=["x", "y", "z"], index=rec.data.index)
    return Recording(df, rec.meta), xyz


def _reference_tilt(xyz: np.ndarray, fs: float = 100.0) -> float:
    w = int(2 * fs)
    k = xyz.shape[0] // w
    win = xyz[: k * w].reshape(k, w, 3)
    still = (win.std(axis=1) < 0.03).all(axis=1)
    assert still.sum() >= 10
    g = win[still].mean(axis=1).mean(axis=0)
    return float(np.degrees(np.arccos(-g[1] / np.linalg.norm(g))))


def test_tilt_of_rotated_run_matches_still_gravity_and_warns() -> None:
    rec, xyz = _rotated(30.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = analyze(rec)
    ref = _reference_tilt(xyz)
    print(f"adept run rotated 30 deg: tilt {res.qc['tilt_deg']} deg, reference {ref:.2f} deg")
    assert res.qc["tilt_deg"] == pytest.approx(ref, abs=5.0)
    assert res.to_json_dict()["qc"]["tilt_deg"] == res.qc["tilt_deg"]
    assert any("degrees from gravity" in m and "bands" in m for m in res.qc["warnings"])


def test_tilt_is_a_report_quality_flag() -> None:
    from impactlab.report import weekly_report
    from impactlab.report.tables import WeekTables

    rec, _ = _rotated(30.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = analyze(rec)
    flags = weekly_report(WeekTables.from_analysis(res, client_id="c1"), None).flags
    assert any(f"{res.qc['tilt_deg']:.0f} degrees from gravity" in f for f in flags)
    upright = weekly_report(WeekTables.from_analysis(analyze(open_recording(RUN, vertical_axis="-y").read()),
                                                     client_id="c1"), None).flags
    assert not any("degrees from gravity" in f for f in upright)  # 12.5 deg as recorded: under 15
