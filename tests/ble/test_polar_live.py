"""Polar Verity Sense live streams through the real bleak: modes, MTU, the sensor's clock.

The simulated sensor checks START settings as a Verity Sense does (normal mode 52 Hz / ±8 g
only; SDK mode 26-416 Hz / ±2-16 g; status 10 when the MTU is too small) and logs every
control-point op it answered, so the tests see exactly what impactlab asked for.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from impactlab.ble.profile import load_profile
from impactlab.ble.sim import Faults
from impactlab.ble.stream import stream_sensor
from impactlab.config import DetectionConfig
from impactlab.errors import DeviceError
from impactlab.impacts import detect_impacts
from impactlab.simulate import simulate_recording

pytestmark = pytest.mark.ble
POLAR = load_profile("polar-verity-sense")
LIVE_CFG = DetectionConfig().replace(block_s=10.0)
START, STOP, ACC, SDK = 2, 3, 2, 9


def _ops(fake, s):
    return fake.run(lambda: list(s.log.pmd_ops))


async def test_normal_mode_is_the_default_52hz_8g(fake_bluez, add_sensor, short_rec) -> None:
    s = add_sensor(short_rec, profile="polar-verity-sense")
    live = await stream_sensor(POLAR, address=s.address, config=LIVE_CFG, duration_s=120, idle_stop_s=3.0)
    assert _ops(fake_bluez, s) == [(START, ACC, 0), (STOP, ACC, 0)]  # no SDK mode asked for
    rec = live.recording()
    assert rec is not None and rec.meta.sample_rate_hz == 52.0 and rec.meta.range_g == 8.0
    assert live.status.samples == len(rec) == 120 * 52 and live.status.packets == len(s.live)
    assert live.status.packets_lost == 0


async def test_sdk_mode_only_when_asked_and_always_stopped(fake_bluez, add_sensor, short_rec) -> None:
    s = add_sensor(short_rec, profile="polar-verity-sense")
    live = await stream_sensor(POLAR, address=s.address, config=LIVE_CFG, duration_s=60, idle_stop_s=3.0, sdk_mode=True)
    assert _ops(fake_bluez, s) == [(START, SDK, 0), (START, ACC, 0), (STOP, ACC, 0), (STOP, SDK, 0)]
    assert fake_bluez.run(lambda: s.sdk_mode) is False
    rec = live.recording()
    assert rec is not None and rec.meta.sample_rate_hz == 104.0 and rec.meta.range_g == 16.0
    assert live.status.samples == 60 * 104


async def test_sdk_mode_is_stopped_after_a_refused_start(fake_bluez, add_sensor, short_rec) -> None:
    s = add_sensor(short_rec, profile="polar-verity-sense", faults=Faults(refuse={"start_stream_sdk": -1}))
    with pytest.raises(DeviceError, match="refused start_stream_sdk: invalid parameter"):
        await stream_sensor(POLAR, address=s.address, config=LIVE_CFG, duration_s=10, idle_stop_s=3.0, sdk_mode=True)
    assert _ops(fake_bluez, s) == [(START, SDK, 0), (START, ACC, 5), (STOP, SDK, 0)]
    assert fake_bluez.run(lambda: s.sdk_mode) is False


async def test_a_start_outside_the_mode_is_refused_by_the_sensor(fake_bluez, add_sensor, short_rec) -> None:
    # SDK-mode settings without SDK mode: the sensor answers "invalid sample rate" (status 8)
    prof = dataclasses.replace(POLAR, commands={**POLAR.commands, "start_stream": POLAR.commands["start_stream_sdk"]})
    s = add_sensor(short_rec, profile="polar-verity-sense")
    with pytest.raises(DeviceError, match=r"refused start_stream: invalid sample rate \(status 8\)"):
        await stream_sensor(prof, address=s.address, config=LIVE_CFG, duration_s=10, idle_stop_s=3.0)
    assert _ops(fake_bluez, s) == [(START, ACC, 8)]


async def test_an_mtu_too_small_for_the_frames_is_refused_before_start(fake_bluez, add_sensor, short_rec) -> None:
    s = add_sensor(short_rec, profile="polar-verity-sense", mtu=185)
    with pytest.raises(DeviceError, match="ATT MTU is 185 bytes; polar-verity-sense frames need at least 232"):
        await stream_sensor(POLAR, address=s.address, config=LIVE_CFG, duration_s=10, idle_stop_s=3.0)
    assert _ops(fake_bluez, s) == []  # nothing started that would have to be stopped


async def test_sample_times_follow_the_sensor_clock(fake_bluez, add_sensor) -> None:
    """A sensor whose rate is 0.06 % below nominal: 20 min end 0.72 s later than a 52 Hz grid would."""
    rec = simulate_recording(duration_s=1200, fs=52, jumps=[(100.0, 2.0)], seed=3)
    err = 6e-4
    s = add_sensor(rec, profile="polar-verity-sense", clock_error=err)
    live = await stream_sensor(POLAR, address=s.address, config=LIVE_CFG, idle_stop_s=3.0)
    out = live.recording()
    assert out is not None and len(out) == len(rec) and live.status.packets_lost == 0
    t = out.data.index.as_unit("ns").asi8
    span = (t[-1] - t[0]) / 1e9
    assert abs(span - (len(rec) - 1) / 52 * (1 + err)) < 1e-3  # the sensor's own timestamps
    assert span - (len(rec) - 1) / 52 > 0.7
    # evenly spaced by the sensor clock (the first frame, with no previous timestamp, at the nominal 1/52 s)
    assert np.abs(np.diff(t[35:]) - 1e9 / 52 * (1 + err)).max() < 2  # ns
    assert np.abs(np.diff(t[:36]) - 1e9 / 52).max() < 2


async def test_polar_impacts_equal_a_whole_run_of_what_arrived(fake_bluez, add_sensor, short_rec) -> None:
    s = add_sensor(short_rec, profile="polar-verity-sense", faults=Faults(drop_rate=0.05, seed=2))
    live = await stream_sensor(POLAR, address=s.address, config=LIVE_CFG, duration_s=120, idle_stop_s=3.0)
    n_drop = len(fake_bluez.run(lambda: list(s.log.dropped_live)))
    st = live.status
    assert n_drop and st.packets_lost == n_drop and st.packets == len(s.live) - n_drop
    rec = live.recording()
    assert rec is not None
    whole = detect_impacts(rec, config=LIVE_CFG)
    assert st.impacts["total"] == len(whole) == 3  # the three jumps of short_rec; no drop hit one
    assert (st.impacts["medium"], st.impacts["high"]) == (1, 2)

