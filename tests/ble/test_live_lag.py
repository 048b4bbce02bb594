"""Live impacts on screen within 2 s of the jump (DESIGN §3), final counts exact."""

from __future__ import annotations

import numpy as np
import pytest

from impactlab.ble.decode import encode_packets
from impactlab.ble.profile import load_profile
from impactlab.ble.stream import LiveCounter
from impactlab.config import DetectionConfig
from impactlab.impacts import detect_impacts
from impactlab.simulate import simulate_recording

HIP = load_profile("impactlab-hip-v1")


@pytest.mark.parametrize("fs", [50])  # the worst case: a 38-sample packet holds 0.76 s
def test_impacts_show_within_2_s_and_end_exact(fs: int) -> None:
    rec = simulate_recording(duration_s=60, fs=fs, jumps=[(12.0 + 6 * k, 1.0 + 0.3 * (k % 5)) for k in range(7)], seed=4)
    t = rec.data.index.as_unit("ns").asi8
    idx = np.rint((t - t[0]) * fs / 1e9).astype(np.int64)
    counts = np.rint(rec.data[["x", "y", "z"]].to_numpy(np.float64) * HIP.counts_per_g).astype(np.int64)
    cfg = DetectionConfig()  # the method's own settings: 600 s blocks, 2 s overlap for the exact result
    live = LiveCounter(HIP, rec.meta, start_ns=int(t[0]), config=cfg)
    shown_at: dict[int, float] = {}
    totals = []
    for pkt in encode_packets(HIP, counts, idx, kind="live"):  # one notification at a time, as they arrive
        live.feed([pkt])
        now_s = (live.last_index + 1) / fs  # sensor time of the newest sample received
        for tt in (live._preview_parts[0]["time"] if live._preview_parts else []):
            shown_at.setdefault(tt.value, now_s)
        assert live.status.provisional
        totals.append(live.status.impacts["total"])
    live.flush()
    rec_in = live.recording()
    assert rec_in is not None
    exact = detect_impacts(rec_in, config=cfg)
    assert not live.status.provisional and live.status.impacts["total"] == len(exact) == 7
    lags = [shown - (tt - t[0]) / 1e9 for tt, shown in shown_at.items()]
    assert len(lags) == 7 and max(lags) <= 2.0, lags
    assert totals[-1] == 7 and np.all(np.diff(totals) >= 0)  # shown once, never taken back
