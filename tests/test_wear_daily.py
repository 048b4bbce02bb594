"""Non-wear (van Hees), wear hours per local day, valid days and weekly figures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from impactlab import analyze
from impactlab.config import WearConfig
from impactlab.daily import weekly_summary
from impactlab.simulate import Walk, simulate_recording
from impactlab.wear import WearAccumulator

H = 3600.0


@pytest.fixture(scope="module")
def afternoon_off():
    return simulate_recording(
        duration_s=14 * H, fs=25.0 * 2, start="2026-06-01 07:00", tz="Europe/London",
        walks=[Walk(1 * H, 1.5 * H, 110, 0.75)], nonwear=[(6 * H + 600, 10 * H + 1200)], seed=3,
    )


def test_nonwear_afternoon_within_half_hour(afternoon_off) -> None:
    res = analyze(afternoon_off)
    truth_h = 14 - (4 + 600 / 3600)
    assert res.qc["wear_h"] == pytest.approx(truth_h, abs=0.5)
    assert res.daily["wear_h"].iloc[0] == pytest.approx(res.qc["wear_h"])
    assert bool(res.daily["valid"].iloc[0]) is (res.qc["wear_h"] >= 10)


def test_wear_is_chunk_invariant(afternoon_off) -> None:
    t = afternoon_off.data.index.as_unit("ns").asi8
    xyz = afternoon_off.data[["x", "y", "z"]].to_numpy()
    whole = WearAccumulator(WearConfig(), 50.0)
    whole.update(t, xyz)
    parts = WearAccumulator(WearConfig(), 50.0)
    for a, b in ((0, 12345), (12345, 12346), (12346, 1_000_001), (1_000_001, len(t))):
        parts.update(t[a:b], xyz[a:b])
    pd.testing.assert_frame_equal(whole.blocks(), parts.blocks(), rtol=1e-9)


def test_days_cut_at_local_midnight() -> None:
    rec = simulate_recording(
        duration_s=4 * H, start="2026-07-01 22:00", tz="America/New_York",
        walks=[Walk(600, 1200, 100, 0.75), Walk(3 * H, 3 * H + 600, 100, 1.2)], seed=4,
    )
    res = analyze(rec)
    d = res.daily
    assert list(d["date"].dt.strftime("%Y-%m-%d")) == ["2026-07-01", "2026-07-02"]
    assert list(d["n_low"]) == [1000, 0] and list(d["n_medium"]) == [0, 1000]
    assert d["wear_h"].sum() == pytest.approx(4.0, abs=0.01)


def test_valid_day_rule_and_weekly() -> None:
    daily = pd.DataFrame({"valid": [True, True, False], "n_low": [100, 300, 5000], "n_medium": [10, 30, 0],
                          "n_high": [1, 3, 0]})
    w = weekly_summary(daily)
    assert w == {"valid_days": 2, "low": 1400.0, "medium": 140.0, "high": 14.0}
    assert weekly_summary(daily.assign(valid=False))["high"] is None


@given(off_start=st.integers(1, 5), off_len=st.integers(2, 6))
def test_still_period_found_where_it_is(off_start: int, off_len: int) -> None:
    fs = 25.0
    n = int(12 * H * fs)
    rng = np.random.default_rng(off_start * 10 + off_len)
    xyz = np.column_stack([rng.normal(0, 0.05, n), 1 + rng.normal(0, 0.05, n), rng.normal(0, 0.05, n)])
    a, b = int(off_start * H * fs), int((off_start + off_len) * H * fs)
    xyz[a:b] = [0.0, 0.0, 1.0]
    xyz[a:b] += rng.normal(0, 0.002, (b - a, 3))
    t = (pd.Timestamp("2026-01-05", tz="UTC").value + np.arange(n) * int(1e9 / fs)).astype(np.int64)
    acc = WearAccumulator(WearConfig(), fs)
    acc.update(t, xyz)
    blocks = acc.blocks()
    assert blocks["wear_s"].sum() / H == pytest.approx(12 - off_len, abs=1e-6)


def test_minus_row_equals_broadcasting() -> None:
    from impactlab.wear import _minus_row

    rng = np.random.default_rng(5)
    for n in (0, 1, 1023, 1024, 5000):
        x = rng.standard_normal((n, 3)).astype(np.float32)
        row = x[0] if n else np.zeros(3, np.float32)
        np.testing.assert_array_equal(_minus_row(x, row), x - row)
        np.testing.assert_array_equal(_minus_row(np.asfortranarray(x), row), x - row)
