"""The unmodified bleak (real BlueZ backend) against the simulated sensor on a private D-Bus."""

from __future__ import annotations

import numpy as np
import pytest

from impactlab.ble.client import BluetoothUnavailableError, SensorClient, bleak_error, find_sensor, scan
from impactlab.ble.decode import decode_info
from impactlab.ble.profile import load_profile
from impactlab.ble.sim import Faults
from impactlab.ble.stream import stream_sensor
from impactlab.ble.sync import sync_sensor
from impactlab.config import DetectionConfig
from impactlab.errors import DeviceError, DeviceNotFoundError, SyncError
from impactlab.impacts import detect_impacts

pytestmark = pytest.mark.ble
HIP = load_profile("impactlab-hip-v1")
POLAR = load_profile("polar-verity-sense")
LIVE_CFG = DetectionConfig().replace(block_s=10.0)


class MemoryJournal:
    """The store's BLE journal in memory (for the many-cut sync test; the real store is used elsewhere)."""

    def __init__(self) -> None:
        self.p: dict[int, bytes] = {}
        self.commits = 0

    def sync_last_seq(self, c, d):
        return max(self.p, default=-1)

    def sync_commit_packets(self, c, d, seqs, payloads):
        self.commits += 1
        new = [s for s in np.asarray(seqs).tolist() if s not in self.p]
        for s, b in zip(np.asarray(seqs).tolist(), payloads, strict=True):
            self.p.setdefault(s, b)
        return len(new)

    def sync_packets(self, c, d, since_seq=-1):
        return sorted((s, b) for s, b in self.p.items() if s > since_seq)

    def sync_gaps(self, c, d):
        if not self.p:
            return []
        have = np.array(sorted(self.p))
        full = np.r_[-1, have]
        j = np.flatnonzero(np.diff(full) > 1)
        return [(int(full[i] + 1), int(full[i + 1] - 1)) for i in j]


async def test_scan_by_name_and_by_service(add_sensor, short_rec) -> None:
    s = add_sensor(short_rec)
    dev = await find_sensor(HIP, name=s.name, scan_s=5)
    assert dev.address == s.address
    dev = await find_sensor(HIP, scan_s=5)
    assert dev.address.startswith("F0:1A:B2")
    found = await scan([HIP, POLAR], scan_s=0.3, service=HIP.service_uuid)
    mine = [f for f in found if f.address == s.address]
    assert mine and mine[0].profile == "impactlab-hip-v1" and mine[0].name == s.name and mine[0].rssi < 0


async def test_device_not_found_is_one_line_with_a_hint(fake_bluez) -> None:
    with pytest.raises(DeviceNotFoundError, match=r"was not found within 0\.3 s.*impactlab scan") as ei:
        await find_sensor(HIP, address="11:22:33:44:55:66", scan_s=0.3)
    assert (ei.value.address, ei.value.name) == ("11:22:33:44:55:66", None)
    with pytest.raises(DeviceNotFoundError) as ei:
        await find_sensor(HIP, name="IMPL-FFFF", scan_s=0.3)
    assert (ei.value.address, ei.value.name) == (None, "IMPL-FFFF")


async def test_bleak_not_found_on_connect_maps_to_device_not_found(fake_bluez, add_sensor, short_rec) -> None:
    """Connecting by an address nobody advertises: bleak's own scan raises BleakDeviceNotFoundError."""
    sc = SensorClient("11:22:33:44:55:77", HIP, timeout=0.5)
    with pytest.raises(DeviceNotFoundError, match="11:22:33:44:55:77 is no longer in range") as ei:
        await sc.connect()
    assert ei.value.address == "11:22:33:44:55:77"


async def test_sensor_client_uses_the_backend_it_is_given(add_sensor, short_rec) -> None:
    from bleak.backends.bluezdbus.client import BleakClientBlueZDBus

    calls: list[str] = []

    class Recorded(BleakClientBlueZDBus):
        async def connect(self, *a, **kw):
            calls.append("connect")
            return await super().connect(*a, **kw)

    s = add_sensor(short_rec)
    dev = await find_sensor(HIP, address=s.address, scan_s=5)
    async with SensorClient(dev, HIP, backend=Recorded) as sc:
        assert isinstance(sc.client._backend, Recorded) and sc.is_connected
        assert decode_info(HIP, await sc.read("info"))["stored_packets"] == len(s.stored)
    assert calls == ["connect"]


def test_bleak_errors_map_on_their_types_and_enums() -> None:
    from bleak.exc import (
        BleakBluetoothNotAvailableError,
        BleakBluetoothNotAvailableReason,
        BleakDBusError,
        BleakGATTProtocolError,
    )

    off = bleak_error(BleakBluetoothNotAvailableError("whatever text", BleakBluetoothNotAvailableReason.POWERED_OFF), "scan")
    assert isinstance(off, BluetoothUnavailableError) and str(off).startswith("scan: Bluetooth is switched off")
    none = bleak_error(BleakBluetoothNotAvailableError("", BleakBluetoothNotAvailableReason.NO_BLUETOOTH), "scan")
    assert "no Bluetooth adapter found" in str(none)
    app = bleak_error(BleakGATTProtocolError(0x83), "command sync_from")
    assert str(app).startswith("command sync_from: the sensor refused (application error, ATT error 0x83)")
    std = bleak_error(BleakGATTProtocolError(0x03), "write control")
    assert "write not permitted, ATT error 0x03" in str(std)
    nobluez = bleak_error(BleakDBusError("org.freedesktop.DBus.Error.ServiceUnknown", ["any words"]), "scan")
    assert isinstance(nobluez, BluetoothUnavailableError)
    busy = bleak_error(BleakDBusError("org.bluez.Error.InProgress", ["Operation already in progress"]), "connect")
    assert type(busy) is DeviceError and "org.bluez.Error.InProgress" in str(busy)


async def test_bluetooth_off(fake_bluez, short_rec) -> None:
    fake_bluez.set_powered(False)
    try:
        with pytest.raises(BluetoothUnavailableError, match="Bluetooth is switched off"):
            await scan([HIP], scan_s=0.2)
    finally:
        fake_bluez.set_powered(True)


async def test_stream_reports_every_drop_exactly_and_equals_whole_run(fake_bluez, add_sensor, short_rec) -> None:
    s = add_sensor(short_rec, faults=Faults(drop_rate=0.05, duplicate_rate=0.05, seed=11))
    live = await stream_sensor(HIP, address=s.address, timezone="Europe/London", config=LIVE_CFG, duration_s=120, idle_stop_s=3.0)
    dropped = fake_bluez.run(lambda: list(s.log.dropped_live))
    st = live.status
    assert dropped, "the fault model dropped nothing; pick another seed"
    assert [a for a, b in st.gaps for a in range(a, b + 1)] == dropped
    assert st.packets_lost == len(dropped) and st.packets + st.packets_lost == len(s.live)
    assert st.duplicates == fake_bluez.run(lambda: s.log.duplicated)
    rec = live.recording()
    assert rec is not None
    assert st.samples == len(rec) == len(short_rec) - int(sum(decode_n(s.live[k]) for k in dropped))
    whole = detect_impacts(rec, config=LIVE_CFG)
    assert st.impacts["total"] == len(whole)


def decode_n(pkt: bytes) -> int:
    return pkt[1]


async def test_stream_without_faults_finds_the_known_impacts(add_sensor, short_rec) -> None:
    s = add_sensor(short_rec)
    live = await stream_sensor(HIP, address=s.address, config=LIVE_CFG, duration_s=60)
    assert live.status.samples == 3000 and live.status.packets_lost == 0
    assert live.status.impacts == {"low": 0, "medium": 1, "high": 1, "total": 2}


async def test_sync_with_duplicates_stores_each_packet_once(fake_bluez, add_sensor, short_rec) -> None:
    s = add_sensor(short_rec, faults=Faults(duplicate_rate=0.2, seed=5))
    j = MemoryJournal()
    res = await sync_sensor(j, "c1", HIP, address=s.address, import_recording=False)
    assert res.duplicates >= fake_bluez.run(lambda: s.log.duplicated) > 0
    assert j.sync_packets("c1", "") == list(enumerate(s.stored))
    assert res.erased_upto == len(s.stored) - 1 == fake_bluez.run(lambda: s.log.erased_upto)


async def test_sync_cut_at_50_random_positions_is_exact(fake_bluez, add_sensor, short_rec) -> None:
    rng = np.random.default_rng(2026)
    rec = short_rec.slice_time(None, short_rec.data.index[0] + np.timedelta64(80, "s"))  # 106 packets
    n = len(add_sensor(rec).stored)
    cuts = rng.choice(np.arange(1, n), size=50, replace=True)
    for k, cut in enumerate(cuts.tolist()):
        s = add_sensor(rec, faults=Faults(link_loss_at=(cut,), drop_rate=0.02, duplicate_rate=0.02, seed=k))
        j = MemoryJournal()
        res = await sync_sensor(j, "c1", HIP, address=s.address, import_recording=False, window=32)
        assert res.reconnects == 1
        assert j.sync_packets("c1", "") == list(enumerate(s.stored)), f"cut at packet {cut}"
        assert res.new == n


async def test_sync_given_up_then_resumed_commits_each_packet_once(fake_bluez, add_sensor, short_rec) -> None:
    s = add_sensor(short_rec, faults=Faults(link_loss_at=(40, 90), seed=1))
    j = MemoryJournal()
    with pytest.raises(SyncError) as ei:
        await sync_sensor(j, "c1", HIP, address=s.address, import_recording=False, max_reconnects=0)
    assert ei.value.last_seq == max(j.p) and fake_bluez.run(lambda: s.log.erased_upto) == -1
    first = len(j.p)
    assert 0 < first < len(s.stored) and sorted(j.p) == list(range(first))
    res = await sync_sensor(j, "c1", HIP, address=s.address, import_recording=False)
    assert j.sync_packets("c1", "") == list(enumerate(s.stored))
    assert res.new == len(s.stored) - first  # the re-run fetched only what the first run had not committed


async def test_sync_reports_a_gap_the_sensor_no_longer_holds(add_sensor, short_rec) -> None:
    s = add_sensor(short_rec, first_seq=10)
    j = MemoryJournal()
    res = await sync_sensor(j, "c1", HIP, address=s.address, import_recording=False)
    assert res.missing == [(0, 9)]
    assert sorted(j.p) == list(range(10, len(s.stored)))


async def test_refused_erase_is_a_warning_not_a_failure(add_sensor, short_rec) -> None:
    s = add_sensor(short_rec, faults=Faults(refuse={"erase_acked": -1}))
    j = MemoryJournal()
    res = await sync_sensor(j, "c1", HIP, address=s.address, import_recording=False)
    assert res.erased_upto is None and "refused (application error, ATT error 0x80)" in res.warnings[0]
    assert len(j.p) == len(s.stored)


async def test_polar_cannot_be_synced(short_rec) -> None:
    with pytest.raises(DeviceError, match="live only"):
        await sync_sensor(MemoryJournal(), "c1", POLAR)


async def test_no_bluez_is_one_line_with_a_hint(fake_bluez, monkeypatch) -> None:
    from impactlab.ble.sim import PrivateBus

    with PrivateBus() as empty:
        monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", empty.address)
        with pytest.raises(BluetoothUnavailableError, match=r"no Bluetooth service \(BlueZ\).*--simulate"):
            await scan([HIP], scan_s=0.2)


async def test_malformed_notifications_are_counted_not_fatal(fake_bluez, add_sensor, short_rec) -> None:
    s = add_sensor(short_rec)

    def corrupt() -> None:  # the firmware sends three broken packets among the good ones
        s.live[5] = s.live[5][:-1]
        s.live[6] = bytes([77]) + s.live[6][1:]
        s.live[7] = s.live[7][:1] + bytes([200]) + s.live[7][2:]

    fake_bluez.run(corrupt)
    live = await stream_sensor(HIP, address=s.address, config=LIVE_CFG, duration_s=120, idle_stop_s=3.0)
    assert live.status.decode_errors == 3 and live.status.gaps == [(5, 7)]
    assert live.status.packets == len(s.live) - 3


async def test_sensor_gone_after_link_loss_raises_sync_error_with_last_seq(fake_bluez, add_sensor, short_rec) -> None:
    s = add_sensor(short_rec, faults=Faults(link_loss_at=(60,), vanish_on_link_loss=True))
    j = MemoryJournal()
    with pytest.raises(SyncError, match="did not come back") as ei:
        await sync_sensor(j, "c1", HIP, address=s.address, import_recording=False, reconnect_attempts=2, scan_s=0.3)
    assert ei.value.last_seq == max(j.p) and sorted(j.p) == list(range(len(j.p))) and 0 < len(j.p) <= 60
    assert fake_bluez.run(lambda: s.log.erased_upto) == -1  # nothing erased that the store might not have


async def test_polar_refused_start_is_one_line(add_sensor, short_rec) -> None:
    s = add_sensor(short_rec, profile="polar-verity-sense", faults=Faults(refuse={"start_stream": -1}))
    with pytest.raises(DeviceError, match="refused start_stream: invalid parameter"):
        await stream_sensor(POLAR, address=s.address, config=LIVE_CFG, duration_s=10, idle_stop_s=3.0)


async def test_loss_is_re_requested_as_bitmaps_a_few_round_trips_per_pass(fake_bluez, add_sensor, short_rec) -> None:
    s = add_sensor(short_rec, faults=Faults(drop_rate=0.3, seed=8))
    j = MemoryJournal()
    res = await sync_sensor(j, "c1", HIP, address=s.address, import_recording=False)
    assert j.sync_packets("c1", "") == list(enumerate(s.stored))
    dropped = fake_bluez.run(lambda: list(s.log.dropped_stored))
    assert len(dropped) > 40 and res.rerequests >= 30  # dozens of lost ranges...
    assert res.requests == fake_bluez.run(lambda: s.log.requests)
    passes = res.requests - 1  # ...one request for the 158 packets, then one bitmap per pass
    assert 1 <= passes <= 8 and res.received == len(s.stored) + res.requests  # each packet once, one end_of_sync each
