"""Impact detection: known answers from simulated signals, the scipy test ladder, chunk invariance."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from impactlab import DetectionConfig, ImpactDetector, classify_impacts, detect_impacts
from impactlab.errors import DataError
from impactlab.recording import Recording
from impactlab.schema import IMPACTS, check_frame
from impactlab.simulate import Walk, simulate_recording

from .reference import reference_impacts


@pytest.fixture(scope="module")
def mixed() -> Recording:
    return simulate_recording(
        duration_s=1800, fs=100,
        walks=[Walk(60, 360, 110, 0.75), Walk(600, 780, 120, 1.25)],
        jumps=[(900 + 3 * i, 2.5) for i in range(10)],
        heel_drops=[(1000 + 5 * i, 1.2) for i in range(5)],
        seed=7,
    )


class TestClassify:
    def test_edges_are_half_open(self) -> None:
        bands = classify_impacts(np.array([0.5, 0.999, 1.0, 1.499, 1.5, 12.0]))
        assert list(bands) == ["low", "low", "medium", "medium", "high", "high"]

    def test_below_floor_is_nan(self) -> None:
        assert pd.isna(classify_impacts(np.array([0.49]))[0])

    def test_ordered(self) -> None:
        b = classify_impacts(np.array([0.6, 1.6]))
        assert b.ordered and b.codes[0] < b.codes[1]
        assert pd.Series(b).max() == "high"


class TestDetectImpacts:
    def test_known_counts(self, mixed: Recording) -> None:
        imp = detect_impacts(mixed)
        check_frame(imp, IMPACTS)
        counts = imp["band"].value_counts()
        walk1 = int((360 - 60) / (60 / 110))
        walk2 = int((780 - 600) / (60 / 120))
        assert counts["low"] == walk1
        assert counts["medium"] == walk2 + 5
        assert counts["high"] == 10
        jumps = imp[imp["peak_g"] > 2.0]
        np.testing.assert_allclose(jumps["peak_g"], 2.5, atol=0.02)

    def test_matches_whole_signal_reference(self, mixed: Recording) -> None:
        imp = detect_impacts(mixed)
        ref = reference_impacts(mixed)
        assert len(imp) == len(ref)
        np.testing.assert_array_equal(imp["sample"].to_numpy(), ref["sample"].to_numpy())
        np.testing.assert_allclose(imp["peak_g"].to_numpy(), ref["peak_g"].to_numpy(), atol=1e-6)

    def test_times_are_local_and_sorted(self, mixed: Recording) -> None:
        imp = detect_impacts(mixed)
        assert str(imp["time"].dt.tz) == "Europe/London"
        assert imp["time"].is_monotonic_increasing
        first = mixed.data.index[imp["sample"].iloc[0]]
        assert abs((imp["time"].iloc[0] - first).total_seconds()) < 0.011

    def test_vertical_sign(self) -> None:
        kw: dict[str, Any] = dict(duration_s=120, jumps=[(30.0, 2.0), (60.0, 1.2)], seed=3)
        up = detect_impacts(simulate_recording(vertical_axis="+y", **kw))
        down = detect_impacts(simulate_recording(vertical_axis="-y", **kw))
        wrong = simulate_recording(vertical_axis="-y", **kw)
        wrong = Recording(wrong.data, wrong.meta.replace(vertical_axis="+y"))
        assert list(up["band"]) == list(down["band"]) == ["high", "medium"]
        assert len(detect_impacts(wrong)) == 0

    def test_50hz_input_is_not_resampled(self) -> None:
        rec = simulate_recording(duration_s=120, fs=50, jumps=[(30.0, 2.0)], seed=1)
        imp = detect_impacts(rec)
        assert len(imp) == 1 and imp["peak_g"].iloc[0] == pytest.approx(2.0, abs=0.02)

    def test_empty(self, mixed: Recording) -> None:
        rec = Recording(mixed.data.iloc[:0], mixed.meta)
        imp = detect_impacts(rec)
        check_frame(imp, IMPACTS)
        assert len(imp) == 0

    def test_constant(self, mixed: Recording) -> None:
        data = mixed.data.iloc[:3000].copy()
        data[["x", "y", "z"]] = np.float32(0.0)
        data["y"] = np.float32(1.0)
        assert len(detect_impacts(Recording(data, mixed.meta))) == 0

    def test_single_sample_and_tiny(self, mixed: Recording) -> None:
        assert len(detect_impacts(Recording(mixed.data.iloc[:1], mixed.meta))) == 0
        assert len(detect_impacts(Recording(mixed.data.iloc[:5], mixed.meta))) == 0

    def test_impact_near_edges(self) -> None:
        rec = simulate_recording(duration_s=10, jumps=[(1.0, 2.0), (9.5, 3.0)], seed=2)
        imp = detect_impacts(rec)
        assert list(imp["band"]) == ["high", "high"]

    def test_min_distance_keeps_higher(self) -> None:
        rec = simulate_recording(duration_s=20, heel_drops=[(10.0, 1.2), (10.2, 2.0)], seed=4)
        imp = detect_impacts(rec)
        assert len(imp) == 1 and imp["peak_g"].iloc[0] == pytest.approx(2.0, abs=0.05)

    def test_gap_splits_segments(self, mixed: Recording) -> None:
        rec = simulate_recording(duration_s=600, walks=[Walk(10, 590, 100, 0.75)], gaps=[(200, 300)], seed=5)
        det = ImpactDetector(rec.meta)
        imp = pd.concat([det.update(rec.data), det.flush()])
        assert len(det.gaps) == 1
        assert det.gaps[0][2] - det.gaps[0][1] == pytest.approx(100e9, rel=1e-3)
        in_gap = imp["time"].between(rec.data.index[0] + pd.Timedelta(200, "s"), rec.data.index[0] + pd.Timedelta(300, "s"))
        assert not in_gap.any()
        steps = len(np.round(np.arange(10 + 0.3, 590, 0.6) / 0.02))
        assert abs(len(imp) - (steps - 100 / 0.6)) <= 3

    def test_clipped_flag(self) -> None:
        rec = simulate_recording(duration_s=60, jumps=[(30.0, 9.0)], range_g=8.0, seed=6)
        imp = detect_impacts(rec)
        assert imp["clipped"].tolist() == [True]

    def test_out_of_order_chunks_refused(self, mixed: Recording) -> None:
        det = ImpactDetector(mixed.meta)
        det.update(mixed.data.iloc[1000:2000])
        with pytest.raises(DataError, match="not later"):
            det.update(mixed.data.iloc[:1000])

    def test_rate_below_25_hz_refused(self) -> None:
        rec = simulate_recording(duration_s=60, fs=20, seed=1)
        with pytest.raises(DataError, match="below 25 Hz"):
            detect_impacts(rec)


@given(cuts=st.lists(st.integers(min_value=1, max_value=179_999), min_size=1, max_size=12, unique=True))
def test_chunked_equals_whole(cuts: list[int]) -> None:
    rec = _CHUNK_REC
    cfg = DetectionConfig(block_s=20.0)
    whole = detect_impacts(rec, config=cfg)
    det = ImpactDetector(rec.meta, cfg)
    bounds = [0, *sorted(cuts), len(rec.data)]
    parts = [det.update(rec.data.iloc[a:b]) for a, b in itertools.pairwise(bounds)]
    parts.append(det.flush())
    got = pd.concat(parts, ignore_index=True)
    assert len(got) == len(whole)
    np.testing.assert_array_equal(got["time"].to_numpy(), whole["time"].to_numpy())
    np.testing.assert_allclose(got["peak_g"].to_numpy(), whole["peak_g"].to_numpy(), atol=1e-6)
    np.testing.assert_array_equal(got["sample"].to_numpy(), whole["sample"].to_numpy())


_CHUNK_REC = simulate_recording(
    duration_s=1800, fs=100, walks=[Walk(20, 600, 115, 0.9, 0.3), Walk(700, 900, 170, 1.6, 0.4)],
    jumps=[(1000 + 2.5 * i, 2.2 + 0.1 * i) for i in range(8)], gaps=[(1200, 1260)], seed=11,
)


def _rise_start_by_scan(x: np.ndarray, k: int) -> int:
    """The rising curve's start by walking left from the peak (pracma::findpeaks' begin index)."""
    j = k
    while j > 0 and x[j - 1] == x[j]:  # to the left edge of a flat top
        j -= 1
    while j > 0 and x[j - 1] < x[j]:  # down the strictly rising run
        j -= 1
    return j


@given(xs=st.lists(st.integers(0, 4), min_size=1, max_size=40), data=st.data())
def test_rise_starts_match_a_walk_left_from_each_peak(xs: list[int], data: st.DataObject) -> None:
    from impactlab.impacts import _rise_starts

    x = np.array(xs, float)
    idx = np.array(sorted(data.draw(st.lists(st.integers(0, len(xs) - 1), max_size=10))), np.int64)
    assert _rise_starts(x, idx).tolist() == [_rise_start_by_scan(x, int(k)) for k in idx]
