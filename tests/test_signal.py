"""impactlab.signal.StillWindows: the still 1 s windows, the same in any chunks, against a direct std."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from impactlab.signal import StillWindows


def _signal(seed: int, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    t = np.arange(n, dtype=np.int64) * 10_000_000
    sd = np.repeat(rng.choice([0.001, 0.03, 0.049, 0.051, 0.3], size=n // 50 + 1), 50)[:n]  # runs of stillness
    xyz = np.column_stack([0.05 + 0.01 * rng.standard_normal(n), -1 + sd * rng.standard_normal(n),
                           0.02 * rng.standard_normal(n)]).astype(np.float32)
    v = -xyz[:, 1].astype(np.float64)
    return t, v, xyz


def test_windows_are_those_of_a_direct_std() -> None:
    t, v, xyz = _signal(1, 10_050)
    sw = StillWindows(100)
    sw.update(t, v, xyz)
    ts, vs, gs = sw.windows()
    k = v.size // 100  # the last 50 samples are no whole window
    still = v[: k * 100].reshape(k, 100).std(axis=1) < 0.05
    assert 0 < still.sum() < k  # both kinds occur
    np.testing.assert_array_equal(ts, t[: k * 100 : 100][still])
    np.testing.assert_allclose(vs, v[: k * 100].reshape(k, 100).mean(axis=1)[still], rtol=0, atol=1e-12)
    ref = xyz[: k * 100].astype(np.float64).reshape(k, 100, 3)[still].mean(axis=1)
    np.testing.assert_allclose(gs, ref, rtol=0, atol=1e-6)  # float32 sums


@settings(max_examples=60, deadline=None)
@given(cuts=st.lists(st.integers(0, 3000), max_size=12), seed=st.integers(0, 2**16))
def test_any_chunking_gives_the_same_windows(cuts: list[int], seed: int) -> None:
    t, v, xyz = _signal(seed, 3000)
    whole = StillWindows(100)
    whole.update(t, v, xyz)
    parts = StillWindows(100)
    edges = [0, *sorted(cuts), 3000]
    for a, b in itertools.pairwise(edges):
        parts.update(t[a:b], v[a:b], xyz[a:b])
    for x, y in zip(whole.windows(), parts.windows(), strict=True):
        np.testing.assert_allclose(x, y, rtol=0, atol=1e-6)


def test_nothing_yet() -> None:
    t, v, g = StillWindows(100).windows()
    assert t.size == v.size == 0 and g.shape == (0, 3)


@settings(max_examples=80, deadline=None)
@given(order=st.sampled_from([2, 4, 6]), fc=st.sampled_from([5.0, 10.0, 20.0]), n=st.integers(2, 400),
       seed=st.integers(0, 2**16))
def test_filtfilt_is_scipys_sosfiltfilt(order: int, fc: float, n: int, seed: int) -> None:
    """The block filter keeps the sections' initial state per filter; the output is scipy's, bit for bit."""
    import scipy.signal as sps

    from impactlab.signal import _filtfilt

    sos = sps.butter(order, fc, fs=50.0, output="sos")
    x = 1 + np.random.default_rng(seed).standard_normal(n)
    padlen = min(3 * (2 * len(sos) + 1 - min(int((sos[:, 2] == 0).sum()), int((sos[:, 5] == 0).sum()))), n - 1)
    np.testing.assert_array_equal(_filtfilt(sos, x), sps.sosfiltfilt(sos, x, padlen=padlen))


def test_still_windows_of_a_real_hip_run_match_pandas_rolling_statistics() -> None:
    """Outside oracle: pandas' rolling std and mean (its own online algorithm, not ours) over the
    adept hip run (ActiGraph GT9X, 100 Hz, still before and after the run), read in chunks."""
    from pathlib import Path

    import pandas as pd
    import pytest

    from impactlab.io import open_recording
    from impactlab.signal import signal_of_interest

    run = Path(__file__).resolve().parents[2] / "shared" / "data" / "adeptdata" / "acc_running_left_hip.csv.gz"
    if not run.exists():
        pytest.skip("../shared/data/adeptdata is not present")
    rec = open_recording(run, vertical_axis="-y").read()
    v = signal_of_interest(rec.data, rec.meta.vertical_axis, "vertical")
    xyz = rec.data[["x", "y", "z"]].to_numpy()
    t = rec.data.index.as_unit("ns").asi8
    sw = StillWindows(100)
    for a in range(0, v.size, 7_777):  # chunks that cut windows
        sw.update(t[a:a + 7_777], v[a:a + 7_777], xyz[a:a + 7_777])
    ts, vs, gs = sw.windows()
    roll = pd.Series(v).rolling(100)
    sd, mean = roll.std(ddof=0).to_numpy()[99::100], roll.mean().to_numpy()[99::100]
    assert np.abs(sd - 0.05).min() > 1e-6  # no window so near the threshold that rounding could decide it
    still = sd < 0.05
    assert 200 < still.sum() < still.size  # the standing before and after the run
    np.testing.assert_array_equal(ts, t[::100][: sd.size][still])
    np.testing.assert_allclose(vs, mean[still], rtol=0, atol=1e-9)
    g = pd.DataFrame(xyz.astype(np.float64)).rolling(100).mean().to_numpy()[99::100][still]
    np.testing.assert_allclose(gs, g, rtol=0, atol=1e-6)
