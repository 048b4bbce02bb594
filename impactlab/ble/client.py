"""The only module that talks to bleak: scanning, connecting with retries, reads, commands, notify.

Connections go through ``bleak-retry-connector``'s :func:`~bleak_retry_connector.establish_connection`
(the retry layer Home Assistant uses for its Bluetooth integrations): BlueZ's transient failures
(``org.bluez.Error.InProgress``, ``Failed``, D-Bus socket EOF, time-outs, a device object that
vanished) are retried with its backoff. Errors no retry can clear (no BlueZ, Bluetooth off, D-Bus
access denied, pairing refused, the sensor not seen) leave at once instead (:class:`_FailFastClient`).

bleak errors are mapped to :mod:`impactlab.errors` with one-line messages and a hint, on bleak's
exception types and enums and bleak-retry-connector's types, never on message text:
no adapter or Bluetooth off (:class:`~impactlab.errors.DeviceError`), sensor not found
(:class:`~impactlab.errors.DeviceNotFoundError`), a command refused by the sensor (ATT error).
Notification callbacks only queue ``bytes``; decoding happens elsewhere (bleak runs async
callbacks as unordered tasks, so the callback is synchronous and never awaits).
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
import time
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
from bleak_retry_connector import (
    MAX_CONNECT_ATTEMPTS,
    BleakAbortedError,
    BleakConnectionError,
    BleakNotFoundError,
    BleakOutOfConnectionSlotsError,
    establish_connection,
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


_HINT_PAIR = "Remove the old pairing (bluetoothctl remove ADDRESS), put the sensor in pairing mode and retry"
_HINT_RETRY = "Retry; if it persists, switch the sensor off and on"
#: D-Bus errors that no retry can clear → (error class, what is wrong, hint). The names are D-Bus's and
#: BlueZ's own error names (``org.bluez.Error.*``, bluez ``src/error.c``); the rest is retried.
_NO_BLUEZ = "no Bluetooth service (BlueZ) is running on this computer"
_FATAL_DBUS: dict[str, tuple[type[DeviceError], str, str]] = {
    "org.freedesktop.DBus.Error.ServiceUnknown": (BluetoothUnavailableError, _NO_BLUEZ, _HINT_ADAPTER),
    "org.freedesktop.DBus.Error.NameHasNoOwner": (BluetoothUnavailableError, _NO_BLUEZ, _HINT_ADAPTER),
    "org.freedesktop.DBus.Error.AccessDenied": (
        BluetoothUnavailableError, "this user may not use Bluetooth (D-Bus refused access to BlueZ)",
        "Add the user to the bluetooth group (sudo usermod -aG bluetooth $USER) and log in again"),
    "org.bluez.Error.NotReady": (BluetoothUnavailableError, "the Bluetooth adapter is not ready (switched off?)",
                                 "Switch it on (bluetoothctl power on) and retry"),
    "org.bluez.Error.NotAuthorized": (DeviceError, "BlueZ refused the connection (not authorised)", _HINT_PAIR),
    "org.bluez.Error.AuthenticationFailed": (DeviceError, "pairing with the sensor failed", _HINT_PAIR),
    "org.bluez.Error.AuthenticationRejected": (DeviceError, "the sensor rejected pairing", _HINT_PAIR),
    "org.bluez.Error.AuthenticationCanceled": (DeviceError, "pairing with the sensor was cancelled", _HINT_PAIR),
    "org.bluez.Error.NotSupported": (DeviceError, "the adapter or BlueZ does not support this",
                                     "Update BlueZ (5.55 or later is needed)"),
}
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


def is_fatal(err: BaseException) -> bool:
    """Whether retrying a connection cannot help: an :class:`ImpactlabError` already, Bluetooth
    unavailable (:class:`BleakBluetoothNotAvailableError`), a D-Bus error of ``_FATAL_DBUS``, or the
    device gone from BlueZ (:class:`BleakDeviceNotFoundError`: only a new scan brings it back, which
    :func:`connect_with_backoff` does; bleak-retry-connector would wait up to 9 × 4 s for it).
    No D-Bus socket at all (``FileNotFoundError``) is not a :class:`BleakError` and is never retried.
    """
    return (isinstance(err, DeviceError | BleakBluetoothNotAvailableError | BleakDeviceNotFoundError)
            or (isinstance(err, BleakDBusError) and err.dbus_error in _FATAL_DBUS))


class _FailFastClient(BleakClient):
    """The :class:`bleak.BleakClient` that :func:`establish_connection` makes and retries.

    ``establish_connection`` retries every :class:`BleakError` (and ``EOFError``, ``BrokenPipeError``,
    ``TimeoutError``); a fatal one (:func:`is_fatal`) is raised here as its :class:`DeviceError`,
    which it does not catch, so it fails at the first attempt. ``attempt_times`` (a list) receives
    the ``time.monotonic()`` of each attempt.
    """

    def __init__(self, *args: Any, attempt_times: list[float], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.attempt_times = attempt_times

    async def connect(self, **kwargs: Any) -> None:
        self.attempt_times.append(time.monotonic())
        try:
            await super().connect(**kwargs)
        except Exception as err:
            if is_fatal(err):
                raise bleak_error(err, f"connect to {self.address}") from err
            raise


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
    if isinstance(err, BleakOutOfConnectionSlotsError):  # bleak-retry-connector's verdicts after its retries
        return DeviceError(f"{what}: the Bluetooth adapter has no free connection slot",
                           hint="Disconnect other Bluetooth LE devices (bluetoothctl disconnect) and retry")
    if isinstance(err, BleakAbortedError):
        return DeviceError(f"{what}: the radio link was aborted at every attempt ({_cause(err, what)})",
                           hint="Interference or range: move the sensor closer to the adapter, away from USB 3 ports and Wi-Fi")
    if isinstance(err, BleakNotFoundError):
        return DeviceNotFoundError(f"{what}: the sensor is out of reach ({_cause(err, what)})", hint=(
            "Is it charged, advertising and within a few metres? Run impactlab scan to see what is in range"))
    if isinstance(err, BleakConnectionError) and err.__cause__ is not None:
        return bleak_error(err.__cause__, what)
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
    if isinstance(err, BleakDBusError) and err.dbus_error in _FATAL_DBUS:
        cls, text, hint = _FATAL_DBUS[err.dbus_error]
        return cls(f"{what}: {text}", hint=hint)
    if isinstance(err, FileNotFoundError | ConnectionRefusedError):
        return BluetoothUnavailableError(f"{what}: {_NO_BLUEZ}", hint=_HINT_ADAPTER)
    if isinstance(err, TimeoutError):
        return DeviceError(f"{what}: the sensor did not answer in time", hint="Move closer to the sensor and retry")
    if isinstance(err, BleakDBusError):
        detail = f"{err.dbus_error}" + (f": {err.dbus_error_details}" if err.dbus_error_details else "")
        return DeviceError(f"{what}: BlueZ reported {detail}", hint=_HINT_RETRY)
    if isinstance(err, BleakError | OSError | EOFError):
        return DeviceError(f"{what}: {err or type(err).__name__}", hint=_HINT_RETRY)
    return DeviceError(f"{what}: {type(err).__name__}: {err}")


def _cause(err: BaseException, what: str) -> str:
    """The mapped message of what caused ``err`` (bleak-retry-connector raises its errors ``from`` bleak's)."""
    return bleak_error(err.__cause__, what).message.removeprefix(f"{what}: ") if err.__cause__ is not None else type(err).__name__


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
        From :func:`find_sensor` or :func:`scan`; for a bare address the sensor is scanned for
        (for ``timeout`` s) on connect.
    profile : SensorProfile
        The sensor's profile.
    on_disconnect : callable, optional
        Called (no arguments) when an established link drops (not for failed connection attempts).
    timeout : float
        Scan time in s when ``device`` is an address. Each connection attempt has
        bleak-retry-connector's time-out (20 s).
    backend : type, optional
        bleak backend class (a ``BaseBleakClient`` subclass) passed to :class:`bleak.BleakClient`;
        None: bleak's own choice for this platform (BlueZ on Linux).
    attempts : int
        Connection attempts that failed outright or timed out before giving up (bleak-retry-connector's
        ``max_attempts``; it also allows up to 9 transient failures such as an aborted link).
    """

    def __init__(self, device: BLEDevice | str, profile: SensorProfile, *, on_disconnect: Callable[[], None] | None = None,
                 timeout: float = 10.0, backend: type[BaseBleakClient] | None = None,
                 attempts: int = MAX_CONNECT_ATTEMPTS) -> None:
        self.device = device
        self.profile = profile
        self._on_disconnect = on_disconnect
        self.timeout = timeout
        self.backend = backend
        self.attempts = attempts
        self.attempt_times: list[float] = []  # time.monotonic() of each connection attempt (bleak's connect calls)
        self._client: BleakClient | None = None
        self._up = False

    def _disconnected(self) -> None:
        if self._up:  # a failed attempt of establish_connection also "disconnects": not a link loss
            self._up = False
            if self._on_disconnect is not None:
                self._on_disconnect()

    @property
    def client(self) -> BleakClient:
        """bleak's client of the established connection."""
        if self._client is None:
            raise DeviceError(f"not connected to {self.address}", hint="Call connect() first")
        return self._client

    @property
    def address(self) -> str:
        """The sensor's address."""
        return self.device if isinstance(self.device, str) else str(self.device.address)

    @property
    def is_connected(self) -> bool:
        """Whether the link is up."""
        return self._client is not None and bool(self._client.is_connected)

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
        """Connect through bleak-retry-connector's ``establish_connection`` (transient errors retried).

        Raises
        ------
        DeviceNotFoundError
            A bare address that nobody advertises within ``timeout`` s, or a device BlueZ forgot.
        DeviceError
            A fatal error at once (see :func:`is_fatal`), or the last error once the attempts are spent.
        """
        what = f"connect to {self.address}"
        dev = self.device
        if isinstance(dev, str):
            try:
                found = await BleakScanner.find_device_by_address(dev, timeout=self.timeout)
            except Exception as err:
                raise bleak_error(err, what) from err
            if found is None:
                raise bleak_error(BleakDeviceNotFoundError(dev), what)
            dev = self.device = found
        try:
            self._client = await establish_connection(
                _FailFastClient, dev, dev.name or dev.address, disconnected_callback=lambda _c: self._disconnected(),
                max_attempts=self.attempts, backend=self.backend, attempt_times=self.attempt_times)
        except Exception as err:
            n = len(self.attempt_times)
            raise bleak_error(err, what + (f" ({n} attempts)" if n > 1 else "")) from err
        self._up = True

    async def disconnect(self) -> None:
        """Disconnect, never raising."""
        self._up = False
        if self._client is not None:
            with contextlib.suppress(Exception):
                await self._client.disconnect()

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
    """Find ``address`` again and connect (the reconnect path after a link loss).

    Each round scans for the sensor (BlueZ forgets unpaired devices, so the object bleak knew may
    be gone) and connects through :meth:`SensorClient.connect`, where bleak-retry-connector retries
    BlueZ's transient errors with its own backoff. Only a sensor not (yet) back in range
    (:class:`DeviceNotFoundError`) starts another round, after ``first_delay`` s doubling up to
    ``max_delay`` s; any other error is final (fatal ones at the first attempt, see :func:`is_fatal`).
    ``backend`` is passed to :class:`bleak.BleakClient` (None: the platform's).

    Raises
    ------
    DeviceNotFoundError
        The sensor did not reappear in ``attempts`` rounds.
    DeviceError
        A fatal error, or bleak-retry-connector's attempts were spent.
    """
    delay = first_delay
    for k in range(attempts):
        try:
            dev = await find_sensor(profile, address=address, scan_s=scan_timeout)
            sc = SensorClient(dev, profile, on_disconnect=on_disconnect, backend=backend)
            await sc.connect()
            return sc
        except DeviceNotFoundError:
            if k == attempts - 1:
                raise
        await asyncio.sleep(delay)
        delay = min(max_delay, delay * 2)
    raise DeviceError(f"connect to {address}: no attempt was made (attempts={attempts})", hint="Use attempts >= 1")
