"""impactlab-hip-v1 as docs/hip-v1.md specifies it, through the real bleak: set-time, erase token, MTU, advertising."""

from __future__ import annotations

import struct
import time

import numpy as np
import pytest
from bleak import BleakScanner

from impactlab.ble.client import SensorClient, find_sensor
from impactlab.ble.decode import FLAG_BOOT, FLAG_CLIPPED, decode_batch, decode_info
from impactlab.ble.profile import load_profile
from impactlab.ble.stream import stream_sensor
from impactlab.ble.sync import sync_sensor
from impactlab.config import DetectionConfig
from impactlab.errors import DeviceError
from impactlab.simulate import simulate_recording
from tests.ble.test_sim import MemoryJournal

pytestmark = pytest.mark.ble
HIP = load_profile("impactlab-hip-v1")


async def test_a_sensor_without_the_time_gets_it_and_reports_its_session_start(fake_bluez, add_sensor, short_rec) -> None:
    s = add_sensor(short_rec, clock_set=False)
    dev = await find_sensor(HIP, address=s.address, scan_s=5)
    async with SensorClient(dev, HIP) as sc:
        before = decode_info(HIP, await sc.read("info"))
    assert before["status"] & 1 == 0 and before["session_start_us"] == 0
    t0 = time.time_ns() // 1000
    res = await sync_sensor(MemoryJournal(), "c1", HIP, address=s.address, import_recording=False)
    t1 = time.time_ns() // 1000
    sent = fake_bluez.run(lambda: list(s.log.time_set))
    assert len(sent) == 1 and t0 <= sent[0] <= t1  # set_time once per connection, the host's Unix µs
    span_us = len(short_rec) * 1_000_000 // 50
    assert res.info["status"] & 1 == 1 and res.info["session_start_us"] == sent[0] - span_us


async def test_erase_needs_this_connections_token(fake_bluez, add_sensor, short_rec) -> None:
    s = add_sensor(short_rec)
    dev = await find_sensor(HIP, address=s.address, scan_s=5)
    async with SensorClient(dev, HIP) as sc:  # a central that downloaded nothing on this link
        with pytest.raises(DeviceError, match="ATT error 0x84"):
            await sc.command("erase_acked", len(s.stored) - 1, 0)
    assert fake_bluez.run(lambda: (s.first_held, s.log.erased_upto)) == (0, -1)
    res = await sync_sensor(MemoryJournal(), "c1", HIP, address=s.address, import_recording=False)
    assert res.erased_upto == len(s.stored) - 1 == fake_bluez.run(lambda: s.log.erased_upto)


async def test_below_mtu_247_packets_shrink_and_the_sync_is_exact(fake_bluez, add_sensor, short_rec) -> None:
    s = add_sensor(short_rec, mtu=100)  # (100 - 3 - 12) // 6 = 14 samples per packet
    j = MemoryJournal()
    res = await sync_sensor(j, "c1", HIP, address=s.address, import_recording=False)
    b = decode_batch(HIP, [p for _, p in j.sync_packets("c1", "")])
    assert b.n.max() == 14 and int(b.n.sum()) == len(short_rec) == 6000 and res.held == -(-6000 // 14)


def test_flags_mark_clipped_packets_and_the_first_after_boot() -> None:
    from impactlab.ble.sim import SimulatedSensor

    rec = simulate_recording(duration_s=10, fs=50, jumps=[(5.0, 20.0)], seed=1)  # 20 g clips at ±16 g
    s = SimulatedSensor(HIP, rec)
    b = decode_batch(HIP, s.stored)
    assert b.flags[0] & FLAG_BOOT and not (b.flags[1:] & FLAG_BOOT).any()
    clipped = np.flatnonzero(b.flags & FLAG_CLIPPED)
    assert clipped.size and all(np.abs(decode_batch(HIP, [s.stored[k]]).counts).max() >= 32767 for k in clipped)


async def test_advertising_carries_the_manufacturer_data_of_the_spec(fake_bluez, add_sensor, short_rec) -> None:
    s = add_sensor(short_rec, battery=64, session_id=7)
    found = await BleakScanner.discover(timeout=0.5, return_adv=True)
    _dev, adv = found[s.address]
    ver, battery, status, session, unsynced = struct.unpack("<BBBII", adv.manufacturer_data[0xFFFF])
    assert (ver, battery, session, unsynced) == (1, 64, 7, len(s.stored)) and status == 0b111
    assert adv.local_name == s.name and HIP.service_uuid in adv.service_uuids


async def test_battery_is_read_again_while_streaming(fake_bluez, add_sensor, short_rec) -> None:
    s = add_sensor(short_rec, battery=80, speed=20.0)  # 60 s of sensor time (3000 samples) in 3 s
    seen: list[int | None] = []

    def on_update(status) -> None:
        seen.append(status.battery)
        # the battery drops once a third of the samples are in, so 2 s of streaming (four
        # reads at battery_s=0.5) remain whatever the machine's load delayed before
        if status.samples >= 1000 and s.battery == 80:
            fake_bluez.run(lambda: setattr(s, "battery", 41))

    live = await stream_sensor(HIP, address=s.address, config=DetectionConfig().replace(block_s=10.0), duration_s=60,
                               battery_s=0.5, on_update=on_update)
    assert seen[0] == 80 and live.status.battery == 41 and live.status.samples == 3000


async def test_live_stream_reconnects_after_link_losses(fake_bluez, add_sensor, short_rec) -> None:
    from impactlab.ble.sim import Faults
    from impactlab.impacts import detect_impacts

    cfg = DetectionConfig().replace(block_s=10.0)
    s = add_sensor(short_rec, faults=Faults(link_loss_at=(50, 100)))
    live = await stream_sensor(HIP, address=s.address, config=cfg, duration_s=120, idle_stop_s=3.0)
    st = live.status
    assert st.reconnects == 2 == fake_bluez.run(lambda: s.log.link_losses) and st.ended == "duration reached"
    assert st.packets + st.packets_lost == len(s.live)  # every packet received or counted as lost
    rec = live.recording()
    assert rec is not None and st.samples == len(rec)
    assert st.impacts["total"] == len(detect_impacts(rec, config=cfg)) == 3
