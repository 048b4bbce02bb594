"""Connections through bleak-retry-connector's establish_connection, with the real bleak, against the fake BlueZ.

The fake's ``Device1.Connect`` is made to fail with the D-Bus errors BlueZ returns (``fail_connect``) and
logs when it is called (``connect_calls``), so retries and their spacing are read from the BlueZ side.
"""

from __future__ import annotations

import numpy as np
import pytest
from bleak.exc import BleakDBusError
from bleak_retry_connector import (
    BLEAK_DBUS_BACKOFF_TIME,
    MAX_CONNECT_ATTEMPTS,
    BleakAbortedError,
    BleakConnectionError,
    BleakNotFoundError,
    BleakOutOfConnectionSlotsError,
)

from impactlab.ble.client import BluetoothUnavailableError, SensorClient, bleak_error, connect_with_backoff, find_sensor
from impactlab.ble.decode import decode_info
from impactlab.ble.profile import load_profile
from impactlab.ble.sync import sync_sensor
from impactlab.errors import DeviceError, DeviceNotFoundError
from tests.ble.test_sim import MemoryJournal

pytestmark = pytest.mark.ble
HIP = load_profile("impactlab-hip-v1")
ABORT = ("org.bluez.Error.Failed", "le-connection-abort-by-local")
BUSY = ("org.bluez.Error.InProgress", "Operation already in progress")


async def test_aborted_link_twice_then_connected_without_a_false_link_loss(fake_bluez, add_sensor, short_rec) -> None:
    """BlueZ's le-connection-abort-by-local (Connected flips true then false): bleak 3.x itself retries
    after the disconnection, inside one establish_connection attempt; the flips are not link losses."""
    s = add_sensor(short_rec)
    dev = await find_sensor(HIP, address=s.address, scan_s=5)
    fake_bluez.fail_connect(s.address, [ABORT, ABORT])
    lost: list[int] = []
    async with SensorClient(dev, HIP, on_disconnect=lambda: lost.append(1)) as sc:
        assert sc.is_connected and len(sc.attempt_times) == 1
        assert decode_info(HIP, await sc.read("info"))["stored_packets"] == len(s.stored)
        assert lost == []
    assert len(fake_bluez.connect_calls(s.address)) == 3


async def test_busy_bluez_is_retried_with_backoff_then_connects(fake_bluez, add_sensor, short_rec) -> None:
    """org.bluez.Error.InProgress twice: establish_connection backs off (0.25 s for D-Bus errors) and retries."""
    s = add_sensor(short_rec)
    dev = await find_sensor(HIP, address=s.address, scan_s=5)
    fake_bluez.fail_connect(s.address, [BUSY, BUSY])
    async with SensorClient(dev, HIP) as sc:
        assert sc.is_connected and len(sc.attempt_times) == 3
        assert decode_info(HIP, await sc.read("info"))["stored_packets"] == len(s.stored)
    calls = np.asarray(fake_bluez.connect_calls(s.address))
    assert len(calls) == 3
    assert np.all(np.diff(calls) >= BLEAK_DBUS_BACKOFF_TIME)  # backoff 0.25 s between the attempts


async def test_busy_bluez_for_good_gives_up_after_the_attempts_with_the_last_error(fake_bluez, add_sensor, short_rec) -> None:
    s = add_sensor(short_rec)
    dev = await find_sensor(HIP, address=s.address, scan_s=5)
    fake_bluez.fail_connect(s.address, [BUSY] * 10)
    sc = SensorClient(dev, HIP)
    with pytest.raises(DeviceError) as ei:
        await sc.connect()
    assert type(ei.value) is DeviceError and not sc.is_connected
    assert str(ei.value).startswith(f"connect to {s.address} ({MAX_CONNECT_ATTEMPTS} attempts): "
                                    "BlueZ reported org.bluez.Error.InProgress: Operation already in progress")
    assert ei.value.hint and "switch the sensor off and on" in ei.value.hint
    assert len(fake_bluez.connect_calls(s.address)) == MAX_CONNECT_ATTEMPTS == 4


@pytest.mark.parametrize(("fault", "cls", "text", "hint"), [
    (("org.bluez.Error.NotAuthorized", "Not Authorized"), DeviceError, "BlueZ refused the connection (not authorised)",
     "bluetoothctl remove"),
    (("org.bluez.Error.AuthenticationFailed", "Authentication Failed"), DeviceError, "pairing with the sensor failed",
     "pairing mode"),
    (("org.freedesktop.DBus.Error.AccessDenied", "Rejected send message"), BluetoothUnavailableError,
     "this user may not use Bluetooth", "usermod -aG bluetooth"),
])
async def test_fatal_errors_fail_at_the_first_attempt(fake_bluez, add_sensor, short_rec, fault, cls, text, hint) -> None:
    s = add_sensor(short_rec)
    dev = await find_sensor(HIP, address=s.address, scan_s=5)
    fake_bluez.fail_connect(s.address, [fault] * 5)
    sc = SensorClient(dev, HIP)
    with pytest.raises(cls) as ei:
        await sc.connect()
    assert str(ei.value).startswith(f"connect to {s.address}: {text}") and hint in (ei.value.hint or "")
    assert len(fake_bluez.connect_calls(s.address)) == 1 and len(sc.attempt_times) == 1


async def test_bluetooth_switched_off_fails_at_once(fake_bluez, add_sensor, short_rec) -> None:
    s = add_sensor(short_rec)
    dev = await find_sensor(HIP, address=s.address, scan_s=5)
    fake_bluez.set_powered(False)  # the fake's Connect then answers org.bluez.Error.NotReady, as BlueZ does
    try:
        sc = SensorClient(dev, HIP)
        with pytest.raises(BluetoothUnavailableError, match=r"the Bluetooth adapter is not ready \(switched off\?\)") as ei:
            await sc.connect()
        assert "bluetoothctl power on" in (ei.value.hint or "")
        assert len(sc.attempt_times) == 1 and len(fake_bluez.connect_calls(s.address)) == 1
    finally:
        fake_bluez.set_powered(True)


async def test_a_device_bluez_forgot_is_not_found_after_quick_attempts(fake_bluez, add_sensor, short_rec) -> None:
    """The device object is gone (BlueZ drops unpaired devices once scanning stops): bleak's manager raises a
    plain BleakError, bleak-retry-connector tries its 4 attempts (0.1 s backoff) and calls it BleakNotFoundError."""
    s = add_sensor(short_rec)
    dev = await find_sensor(HIP, address=s.address, scan_s=5)
    fake_bluez.remove(s)
    sc = SensorClient(dev, HIP)
    with pytest.raises(DeviceNotFoundError, match=rf"connect to {s.address} \(4 attempts\): the sensor is out of reach") as ei:
        await sc.connect()
    assert len(sc.attempt_times) == MAX_CONNECT_ATTEMPTS and "impactlab scan" in (ei.value.hint or "")


async def test_a_bare_address_nobody_advertises_fails_after_one_scan(fake_bluez) -> None:
    sc = SensorClient("11:22:33:44:55:99", HIP, timeout=0.3)
    with pytest.raises(DeviceNotFoundError, match="the sensor 11:22:33:44:55:99 is no longer in range") as ei:
        await sc.connect()
    assert ei.value.address == "11:22:33:44:55:99" and sc.attempt_times == []


async def test_reconnect_path_rescans_only_while_the_sensor_is_away(fake_bluez, add_sensor, short_rec) -> None:
    """connect_with_backoff: a transient Connect error is establish_connection's; a fatal one ends it at once."""
    s = add_sensor(short_rec)
    fake_bluez.fail_connect(s.address, [BUSY, ABORT])
    sc = await connect_with_backoff(HIP, address=s.address, scan_timeout=5)
    try:
        assert sc.is_connected and len(sc.attempt_times) == 2
    finally:
        await sc.disconnect()
    assert len(fake_bluez.connect_calls(s.address)) == 3
    fake_bluez.fail_connect(s.address, [("org.bluez.Error.NotAuthorized", "Not Authorized")] * 3)
    with pytest.raises(DeviceError, match="not authorised"):
        await connect_with_backoff(HIP, address=s.address, scan_timeout=5, attempts=3)
    assert len(fake_bluez.connect_calls(s.address)) == 3 + 1
    with pytest.raises(DeviceNotFoundError, match=r"was not found within 0\.3 s"):
        await connect_with_backoff(HIP, address="11:22:33:44:55:88", scan_timeout=0.3, attempts=2, first_delay=0.01)


async def test_sync_survives_a_busy_bluez_on_its_first_connection(fake_bluez, add_sensor, short_rec) -> None:
    s = add_sensor(short_rec)
    fake_bluez.fail_connect(s.address, [BUSY, ABORT, BUSY])
    j = MemoryJournal()
    res = await sync_sensor(j, "c1", HIP, address=s.address, import_recording=False)
    assert res.new == len(s.stored) == len(j.p) == 158 and res.reconnects == 0
    assert len(fake_bluez.connect_calls(s.address)) == 4


def test_bleak_retry_connector_verdicts_map_on_their_types_and_causes() -> None:
    def chained(outer: Exception, cause: BaseException) -> Exception:
        outer.__cause__ = cause
        return outer

    ab = bleak_error(chained(BleakAbortedError("any words"), BleakDBusError(ABORT[0], [ABORT[1]])), "connect to X")
    assert type(ab) is DeviceError and str(ab).startswith(
        "connect to X: the radio link was aborted at every attempt (BlueZ reported org.bluez.Error.Failed: "
        "le-connection-abort-by-local)")
    assert ab.hint and "closer" in ab.hint
    nf = bleak_error(chained(BleakNotFoundError("any words"), TimeoutError()), "connect to X")
    assert isinstance(nf, DeviceNotFoundError)
    assert str(nf).startswith("connect to X: the sensor is out of reach (the sensor did not answer in time)")
    ce = bleak_error(chained(BleakConnectionError("any words"), BleakDBusError(BUSY[0], [BUSY[1]])), "connect to X")
    assert type(ce) is DeviceError and "org.bluez.Error.InProgress" in str(ce)
    slots = bleak_error(BleakOutOfConnectionSlotsError("any words"), "connect to X")
    assert "no free connection slot" in str(slots) and "bluetoothctl disconnect" in (slots.hint or "")
