"""End to end on two-day recordings like the ones a reviewer brings: counts per day against a plain
reference of DESIGN §2, wear hours against the simulated timeline, valid days exactly."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from impactlab.cli.main import main

from impactlab import analyze, open_recording
from impactlab.io import write_parquet
from impactlab.simulate import Walk, simulate_recording

from .reference import reference_impacts

H = 3600.0


def two_days(fs: float, axis: str, seed: int):
    walks, jumps, drops, vib, off = [], [], [], [], []
    for d in (0, 1):
        o = d * 24 * H
        walks += [Walk(o + 8 * H, o + 8.5 * H, 112, 0.7 + 0.1 * d, 0.15), Walk(o + 18 * H, o + 18.3 * H, 125, 1.3, 0.2)]
        jumps += [(o + 10 * H + 4 * i, 1.8 + 0.05 * i) for i in range(20 + 10 * d)]
        drops += [(o + 11 * H + 6 * i, 1.1) for i in range(15)]
        vib += [(o + 12 * H, o + 12.25 * H, 30.0, 0.3)]
        off += [(o, o + 7 * H), (o + 14 * H, o + 16.5 * H), (o + 22.5 * H, o + 24 * H)]
    rec = simulate_recording(duration_s=48 * H, fs=fs, start="2026-04-06 00:00", tz="Europe/Paris", vertical_axis=axis,
                             walks=walks, jumps=jumps, heel_drops=drops, vibration=vib, nonwear=off, seed=seed)
    return rec, 24 - 7 - 2.5 - 1.5


@pytest.mark.slow
@pytest.mark.parametrize(("fs", "axis"), [(50.0, "-y"), (100.0, "+y")])
def test_two_days_counts_wear_valid(tmp_path: Path, capsys: pytest.CaptureFixture[str], fs: float, axis: str) -> None:
    rec, wear_truth = two_days(fs, axis, seed=int(fs))
    ref = reference_impacts(rec)
    ref_day = rec.data.index[ref["sample"].to_numpy()].normalize()
    p = write_parquet(rec, tmp_path / "two.parquet")
    assert main(["analyze", str(p), "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [d["date"] for d in out["days"]] == ["2026-04-06", "2026-04-07"]
    for d, day in zip(sorted(set(ref_day)), out["days"], strict=True):
        for band in ("low", "medium", "high"):
            want = int(((ref_day == d) & (ref["band"] == band).to_numpy()).sum())
            assert day[f"n_{band}"] == pytest.approx(want, rel=0.01, abs=1), (day["date"], band)
        assert day["wear_h"] == pytest.approx(wear_truth, abs=0.5)
        assert day["valid"] is True
    assert out["qc"]["valid_days"] == 2


def test_chunked_source_equals_in_memory(tmp_path: Path) -> None:
    rec = simulate_recording(duration_s=2 * H, walks=[Walk(600, 3000, 110, 0.75)], jumps=[(4000 + 3 * i, 2.0) for i in range(9)],
                             nonwear=[(5000, 2 * H)], seed=9)
    p = write_parquet(rec, tmp_path / "r.parquet", row_group_rows=77_777)
    whole = analyze(rec)
    streamed = analyze(open_recording(p))
    pd.testing.assert_frame_equal(whole.impacts, streamed.impacts)
    pd.testing.assert_frame_equal(whole.daily, streamed.daily)
    pd.testing.assert_frame_equal(whole.sessions, streamed.sessions)
    assert whole.qc["wear_h"] == pytest.approx(streamed.qc["wear_h"])
    assert np.isclose(whole.qc["vertical_still_median_g"], 1.0, atol=0.02)
    # the still 1 s windows run from the recording's first sample, not each chunk's (77,777 rows
    # is no whole number of seconds): the gravity check and the tilt do not depend on the chunks
    assert streamed.qc["vertical_still_median_g"] == whole.qc["vertical_still_median_g"]
    assert streamed.qc["tilt_deg"] == whole.qc["tilt_deg"]


def test_tilted_or_flipped_axis_is_warned(tmp_path: Path) -> None:
    rec = simulate_recording(duration_s=H, walks=[Walk(600, 900, 100, 0.8)], vertical_axis="-y", seed=1)
    from impactlab.recording import Recording

    wrong = Recording(rec.data, rec.meta.replace(vertical_axis="+y"))
    with pytest.warns(Warning, match=r"upside down: try --vertical-axis -y"):
        res = analyze(wrong)
    assert res.band_totals()["total"] == 0
