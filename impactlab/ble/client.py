"""The only module that talks to bleak: scanning, connecting with backoff, reads, commands, notify.

bleak errors are mapped to :mod:`impactlab.errors` with one-line messages and a hint:
no adapter or Bluetooth off (:class:`~impactlab.errors.DeviceError`), sensor not found
(:class:`~impactlab.errors.DeviceNotFoundError`), a command refused by the sensor (ATT error).
Notification callbacks only queue ``bytes``; decoding happens elsewhere (bleak runs async
callbacks as unordered tasks, so the callback is synchronous and never awaits).
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bleak import BleakClient, BleakScanner
from bleak.backends.client import BaseBleakClient
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from bleak.exc import (
    BleakBluetoothNotAvailableError,
    BleakBluetoothNotAvailableReason,
    BleakDBusError,
    BleakDeviceNotFoundError,
    BleakError,
    BleakGATTProtocolError,
    BleakGATTProtocolErrorCode,
)

from ..errors import DeviceError, DeviceNotFoundError
from .profile import SensorProfile
from .rawlog import current_raw_log

__all__ = ["BluetoothUnavailableError", "FoundSensor", "SensorClient", "connect_with_backoff", "find_sensor", "scan"]

_HINT_ADAPTER = ("Check that Bluetooth is switched on (bluetoothctl power on) and that bluetoothd runs; "
                 "or try the simulated sensor: --simulate sample_data/sim-day.parquet")


@dataclass(frozen=True, slots=True)
class FoundSensor:
    """A sensor seen in a scan.

    Attributes
    ----------
    name : str or None
        Advertised local name.
    address : str
        Bluetooth address.
    rssi : int
        Signal strength in dBm.
    profile : str or None
        Id of the matching profile (by service UUID, else by name prefix), or None.
    device : BLEDevice
        bleak's handle for connecting.
    """

    name: str | None
    address: str
    rssi: int
    profile: str | None
    device: BLEDevice


class BluetoothUnavailableError(DeviceError):
    """This computer cannot use Bluetooth LE at all (no adapter, switched off, denied, no BlueZ).

    Retrying does not help, so :func:`connect_with_backoff` gives up at once.
    """


#: D-Bus error names meaning there is no BlueZ on the system bus.
_NO_BLUEZ = frozenset({"org.freedesktop.DBus.Error.ServiceUnknown", "org.freedesktop.DBus.Error.NameHasNoOwner"})
_UNAVAILABLE = {
    BleakBluetoothNotAvailableReason.POWERED_OFF: ("Bluetooth is switched off", "Switch it on (bluetoothctl power on) and retry"),
    BleakBluetoothNotAvailableReason.NO_BLUETOOTH: ("no Bluetooth adapter found", _HINT_ADAPTER),
    BleakBluetoothNotAvailableReason.NO_BLE_CENTRAL_ROLE: ("the Bluetooth adapter cannot act as an LE central",
                                                           "Use an adapter with Bluetooth LE (4.0 or later)"),
    BleakBluetoothNotAvailableReason.DENIED_BY_USER: ("this program may not use Bluetooth",
                                                      "Allow Bluetooth access for it in the system settings"),
    BleakBluetoothNotAvailableReason.DENIED_BY_SYSTEM: ("the system does not allow Bluetooth access",
                                                        "Ask the administrator for Bluetooth access"),
}


def bleak_error(err: BaseException, what: str) -> DeviceError:
    """Translate a bleak or D-Bus failure into a one-line :class:`DeviceError` with a hint.

    The mapping is on bleak's exception types and their enums (``reason``, ``code``,
    ``dbus_error``), never on message text: :class:`BleakBluetoothNotAvailableError` by its
    :class:`~bleak.exc.BleakBluetoothNotAvailableReason`; :class:`BleakDeviceNotFoundError` to
    :class:`DeviceNotFoundError` with its ``identifier`` as ``address``;
    :class:`BleakGATTProtocolError` by its ATT code (0x80-0x9F: the firmware's application errors);
    :class:`BleakDBusError` by the D-Bus error name (no BlueZ on the bus, or a transient BlueZ error).
    """
    if isinstance(err, DeviceError):
        return err
    if isinstance(err, BleakBluetoothNotAvailableError):
        text, hint = _UNAVAILABLE.get(err.reason, (f"Bluetooth is not available ({err.reason.name.lower()})", _HINT_ADAPTER))
        return BluetoothUnavailableError(f"{what}: {text}", hint=hint)
    if isinstance(err, BleakDeviceNotFoundError):
        return DeviceNotFoundError(f"{what}: the sensor {err.identifier} is no longer in range", address=err.identifier,
                                   hint="Is it charged, advertising and within a few metres?")
    if isinstance(err, BleakGATTProtocolError):
        code = int(err.code)
        named = {int(c): c.name for c in BleakGATTProtocolErrorCode}  # the enum makes pseudo-members of other codes
        label = ("application error" if 0x80 <= code <= 0x9F
                 else named[code].lower().replace("_", " ") if code in named else "unknown ATT error")
        return DeviceError(f"{what}: the sensor refused ({label}, ATT error 0x{code:02x})",
                           hint="Check the sensor's state (busy, or the command is not supported by its firmware)")
    no_bluez = isinstance(err, BleakDBusError) and err.dbus_error in _NO_BLUEZ
    if no_bluez or isinstance(err, FileNotFoundError | ConnectionRefusedError):
        return BluetoothUnavailableError(f"{what}: no Bluetooth service (BlueZ) is running on this computer", hint=_HINT_ADAPTER)
    if isinstance(err, TimeoutError):
        return DeviceError(f"{what}: the sensor did not answer in time", hint="Move closer to the sensor and retry")
    if isinstance(err, BleakDBusError):
        detail = f"{err.dbus_error}" + (f": {err.dbus_error_details}" if err.dbus_error_details else "")
        return DeviceError(f"{what}: BlueZ reported {detail}", hint="Retry; if it persists, switch the sensor off and on")
    if isinstance(err, BleakError | OSError | EOFError):
        return DeviceError(f"{what}: {err}", hint="Retry; if it persists, switch the sensor off and on")
    return DeviceError(f"{what}: {type(err).__name__}: {err}")


def _match_profile(adv: AdvertisementData, name: str | None, profiles: list[SensorProfile]) -> str | None:
    uuids = {u.lower() for u in adv.service_uuids}
    for p in profiles:
        if p.service_uuid in uuids:
            return p.id
    for p in profiles:
        if name and name.startswith(p.name_prefix):
            return p.id
    return None


async def scan(
    profiles: list[SensorProfile], *, scan_s: float = 5.0, name: str | None = None, service: str | None = None,
    all_devices: bool = False,
) -> list[FoundSensor]:
    """Sensors in range, strongest first.

    Parameters
    ----------
    profiles : list of SensorProfile
        Profiles to recognise sensors by (service UUID, then name prefix).
    scan_s : float
        Scan time in s.
    name : str, optional
        Keep only devices whose name contains this (case-insensitive).
    service : str, optional
        Keep only devices advertising this service UUID.
    all_devices : bool
        Also list devices no profile recognises.

    Raises
    ------
    DeviceError
        No adapter, Bluetooth off, no BlueZ.
    """
    try:
        found = (await BleakScanner.discover(timeout=scan_s, return_adv=True, service_uuids=[service]) if service
                 else await BleakScanner.discover(timeout=scan_s, return_adv=True))
    except Exception as err:
        raise bleak_error(err, "scan") from err
    out = []
    for dev, adv in found.values():
        nm = adv.local_name or dev.name
        if name and (not nm or name.lower() not in nm.lower()):
            continue
        prof = _match_profile(adv, nm, profiles)
        if prof is None and not all_devices and not (name or service):
            continue
        out.append(FoundSensor(nm, dev.address, int(adv.rssi), prof, dev))
    out.sort(key=lambda f: -f.rssi)
    return out


async def find_sensor(
    profile: SensorProfile, *, address: str | None = None, name: str | None = None, scan_s: float = 10.0,
) -> BLEDevice:
    """Find one sensor by address, by name, or the first advertising the profile's service.

    Raises
    ------
    DeviceNotFoundError
        Nothing matching answered within ``scan_s`` s.
    DeviceError
        No adapter, Bluetooth off, no BlueZ.
    """
    svc = profile.service_uuid
    try:
        if address:
            dev = await BleakScanner.find_device_by_address(address, timeout=scan_s)
        elif name:
            dev = await BleakScanner.find_device_by_filter(
                lambda d, a: bool((a.local_name or d.name or "") == name), timeout=scan_s)
        else:
            dev = await BleakScanner.find_device_by_filter(
                lambda d, a: svc in {u.lower() for u in a.service_uuids}, timeout=scan_s)
    except Exception as err:
        raise bleak_error(err, "scan") from err
    if dev is None:
        who = address or name or f"a {profile.id} sensor"
        raise DeviceNotFoundError(f"{who} was not found within {scan_s:g} s", address=address, name=name, hint=(
            "Is it charged, advertising and within a few metres? Run impactlab scan to see what is in range"))
    return dev


class SensorClient:
    """A connection to one sensor (a thin wrapper of :class:`bleak.BleakClient`).

    Parameters
    ----------
    device : BLEDevice or str
        From :func:`find_sensor` or :func:`scan`; an address makes bleak scan for it on connect.
    profile : SensorProfile
        The sensor's profile.
    on_disconnect : callable, optional
        Called (no arguments) when the link drops.
    timeout : float
        Connect timeout in s.
    backend : type, optional
        bleak backend class (a ``BaseBleakClient`` subclass) passed to :class:`bleak.BleakClient`;
        None: bleak's own choice for this platform (BlueZ on Linux).
    """

    def __init__(self, device: BLEDevice | str, profile: SensorProfile, *, on_disconnect: Callable[[], None] | None = None,
                 timeout: float = 10.0, backend: type[BaseBleakClient] | None = None) -> None:
        self.device = device
        self.profile = profile
        self._on_disconnect = on_disconnect
        self.backend = backend
        self.client = BleakClient(device, disconnected_callback=lambda _c: self._disconnected(), timeout=timeout,
                                  backend=backend)

    def _disconnected(self) -> None:
        if self._on_disconnect is not None:
            self._on_disconnect()

    @property
    def address(self) -> str:
        """The sensor's address."""
        return self.device if isinstance(self.device, str) else str(self.device.address)

    @property
    def is_connected(self) -> bool:
        """Whether the link is up."""
        return bool(self.client.is_connected)

    def mtu(self, key: str) -> int:
        """The ATT MTU of the link in bytes, from BlueZ's ``MTU`` of the characteristic ``key``.

        bleak's ``max_write_without_response_size`` is that MTU minus the 3-byte ATT header
        (bleak's ``mtu_size`` would need a private call on BlueZ).
        """
        char = self.client.services.get_characteristic(self.profile.char(key).uuid)
        if char is None:
            raise DeviceError(f"the sensor has no {key} characteristic ({self.profile.char(key).uuid})",
                              hint=f"Is it a {self.profile.id} sensor? Check --profile")
        return int(char.max_write_without_response_size) + 3

    async def connect(self) -> None:
        """Connect (one attempt; see :func:`connect_with_backoff`)."""
        try:
            await self.client.connect()
        except Exception as err:
            raise bleak_error(err, f"connect to {self.address}") from err

    async def disconnect(self) -> None:
        """Disconnect, never raising."""
        with contextlib.suppress(Exception):
            await self.client.disconnect()

    async def read(self, key: str) -> bytes:
        """Read the characteristic with role ``key`` (``info``, ``battery``, ``control``)."""
        uuid = self.profile.battery_level if key == "battery" else self.profile.char(key).uuid
        if uuid is None:
            raise DeviceError(f"the profile {self.profile.id!r} has no battery characteristic",
                              hint="Add [gatt.battery] to the profile, or do not read the battery")
        try:
            async with asyncio.timeout(10):
                return bytes(await self.client.read_gatt_char(uuid))
        except Exception as err:
            raise bleak_error(err, f"read {key}") from err

    async def write(self, key: str, data: bytes, *, what: str | None = None) -> None:
        """Write with response to the characteristic with role ``key``."""
        log = current_raw_log()
        if log is not None:
            log.record("tx", self.profile.char(key).uuid, data)
        try:
            async with asyncio.timeout(10):
                await self.client.write_gatt_char(self.profile.char(key).uuid, data, response=True)
        except Exception as err:
            raise bleak_error(err, what or f"write {key}") from err

    async def command(self, name: str, *args: int) -> None:
        """Send a profile command: impactlab-v1 opcodes with u32 arguments, or Polar byte strings.

        ``sync_bitmap`` takes the first sequence number then the bitmap's bytes.
        """
        op = self.profile.command(name)
        if isinstance(op, bytes):
            data = op
        elif name == "set_marker":
            data = bytes([op, *args])
        elif name == "set_time":  # i64 Unix time in µs
            data = bytes([op]) + struct.pack("<q", *args)
        elif name == "sync_bitmap":  # first seq u32, then the bitmap bytes
            data = bytes([op]) + struct.pack("<I", args[0]) + bytes(args[1:])
        else:
            data = bytes([op]) + b"".join(struct.pack("<I", a & 0xFFFFFFFF) for a in args)
        await self.write("control", data, what=f"command {name}")

    async def subscribe(self, key: str, sink: Callable[[bytes], Any]) -> None:
        """Start notifications of ``key``; ``sink(bytes)`` is called synchronously for each."""
        try:
            uuid = self.profile.char(key).uuid
            log = current_raw_log()
            if log is None:
                await self.client.start_notify(uuid, lambda _c, data: sink(bytes(data)))
            else:
                def _logged(_c: Any, data: bytearray) -> Any:
                    log.record("rx", uuid, data)
                    return sink(bytes(data))

                await self.client.start_notify(uuid, _logged)
        except Exception as err:
            raise bleak_error(err, f"subscribe to {key}") from err

    async def __aenter__(self) -> SensorClient:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.disconnect()


async def connect_with_backoff(
    profile: SensorProfile, *, address: str, on_disconnect: Callable[[], None] | None = None,
    attempts: int = 6, first_delay: float = 0.2, max_delay: float = 5.0, scan_timeout: float = 10.0,
    backend: type[BaseBleakClient] | None = None,
) -> SensorClient:
    """Connect to ``address``, re-scanning and retrying with exponential backoff.

    A new :class:`bleak.BleakClient` is made for each attempt (bleak's advice after a link
    loss), and the device is looked up again first (BlueZ forgets unpaired devices). Every
    failure is retried (BlueZ's ``InProgress``/``Failed``, a sensor not yet back in range, a
    timeout) except :class:`BluetoothUnavailableError`, which no retry can clear.
    ``backend`` is passed to :class:`bleak.BleakClient` (None: the platform's).

    Raises
    ------
    DeviceNotFoundError
        The sensor never reappeared.
    DeviceError
        Every attempt failed; the message is the last failure.
    """
    delay = first_delay
    last: DeviceError | None = None
    for k in range(attempts):
        try:
            dev = await find_sensor(profile, address=address, scan_s=scan_timeout)
            sc = SensorClient(dev, profile, on_disconnect=on_disconnect, backend=backend)
            await sc.connect()
            return sc
        except BluetoothUnavailableError:
            raise
        except DeviceError as err:
            last = err
        if k < attempts - 1:
            await asyncio.sleep(delay)
            delay = min(max_delay, delay * 2)
    assert last is not None
    raise last
