# ruff: noqa: F722, F821
"""BlueZ's D-Bus objects as bleak reads them: ``Adapter1``, ``Device1``, ``GattService1``, ``GattCharacteristic1``.

dbus-fast takes the D-Bus signature of a property or method from its annotation strings
(``"s"``, ``"a{sv}"``, ...), which a type checker cannot read; pyproject's mypy override for this
module only lifts the checks those strings break. Property types follow BlueZ exactly (a wrong
one makes bleak's scanner drop the device silently, see BLE_TESTING.md).
"""

import asyncio
import time
from typing import TYPE_CHECKING

from dbus_fast import Variant
from dbus_fast.constants import PropertyAccess
from dbus_fast.errors import DBusError
from dbus_fast.service import ServiceInterface, dbus_property, method

from .gatt import AttError, Peripheral

if TYPE_CHECKING:
    from .fakebluez import FakeBluez

__all__ = ["AdapterObject", "CharObject", "DeviceObject", "ServiceObject"]


class AdapterObject(ServiceInterface):
    def __init__(self, fake: "FakeBluez") -> None:
        super().__init__("org.bluez.Adapter1")
        self.fake = fake
        self.powered = True
        self.discovering = False

    @dbus_property(access=PropertyAccess.READ)
    def Address(self) -> "s":
        return "00:1A:7D:DA:71:13"

    @dbus_property(access=PropertyAccess.READ)
    def AddressType(self) -> "s":
        return "public"

    @dbus_property(access=PropertyAccess.READ)
    def Name(self) -> "s":
        return "impactlab-sim"

    @dbus_property(access=PropertyAccess.READ)
    def Alias(self) -> "s":
        return "impactlab-sim"

    @dbus_property(access=PropertyAccess.READ)
    def Powered(self) -> "b":
        return self.powered

    @dbus_property(access=PropertyAccess.READ)
    def Discovering(self) -> "b":
        return self.discovering

    @dbus_property(access=PropertyAccess.READ)
    def Roles(self) -> "as":
        return ["central", "peripheral"]

    @dbus_property(access=PropertyAccess.READ)
    def UUIDs(self) -> "as":
        return []

    @method()
    def SetDiscoveryFilter(self, properties: "a{sv}") -> None:
        return None

    @method()
    def GetDiscoveryFilters(self) -> "as":
        return ["UUIDs", "RSSI", "Pathloss", "Transport", "DuplicateData", "Discoverable", "Pattern"]

    @method()
    def StartDiscovery(self) -> None:
        if not self.powered:
            raise DBusError("org.bluez.Error.NotReady", "Resource Not Ready")
        self.fake._start_advertising()
        self.discovering = True
        self.emit_properties_changed({"Discovering": True})

    @method()
    def StopDiscovery(self) -> None:
        self.fake._stop_advertising()
        self.discovering = False
        self.emit_properties_changed({"Discovering": False})

    @method()
    def RemoveDevice(self, device: "o") -> None:
        return None


class DeviceObject(ServiceInterface):
    def __init__(self, fake: "FakeBluez", path: str, p: Peripheral) -> None:
        super().__init__("org.bluez.Device1")
        self.fake = fake
        self.path = path
        self.p = p
        self.connected = False
        self.resolved = False
        self.rssi = -58
        self.owner: str | None = None
        self.connect_faults: list[tuple[str, str]] = []  # D-Bus errors the next Connect calls raise, in order
        self.connect_log: list[float] = []  # time.monotonic() of every Connect call

    @dbus_property(access=PropertyAccess.READ)
    def Address(self) -> "s":
        return self.p.address

    @dbus_property(access=PropertyAccess.READ)
    def AddressType(self) -> "s":
        return "random"

    @dbus_property(access=PropertyAccess.READ)
    def Name(self) -> "s":
        return self.p.name

    @dbus_property(access=PropertyAccess.READ)
    def Alias(self) -> "s":
        return self.p.name

    @dbus_property(access=PropertyAccess.READ)
    def Adapter(self) -> "o":
        return "/org/bluez/hci0"

    @dbus_property(access=PropertyAccess.READ)
    def Connected(self) -> "b":
        return self.connected

    @dbus_property(access=PropertyAccess.READ)
    def ServicesResolved(self) -> "b":
        return self.resolved

    @dbus_property(access=PropertyAccess.READ)
    def Paired(self) -> "b":
        return False

    @dbus_property(access=PropertyAccess.READ)
    def Bonded(self) -> "b":
        return False

    @dbus_property(access=PropertyAccess.READ)
    def Trusted(self) -> "b":
        return False

    @dbus_property(access=PropertyAccess.READ)
    def Blocked(self) -> "b":
        return False

    @dbus_property(access=PropertyAccess.READ)
    def LegacyPairing(self) -> "b":
        return False

    @dbus_property(access=PropertyAccess.READ)
    def UUIDs(self) -> "as":
        return list(self.p.service_uuids)

    @dbus_property(access=PropertyAccess.READ)
    def RSSI(self) -> "n":
        return self.rssi

    @dbus_property(access=PropertyAccess.READ)
    def TxPower(self) -> "n":
        return 4

    @dbus_property(access=PropertyAccess.READ)
    def ManufacturerData(self) -> "a{qv}":
        return {k: Variant("ay", v) for k, v in self.p.manufacturer_data.items()}

    @dbus_property(access=PropertyAccess.READ)
    def ServiceData(self) -> "a{sv}":
        return {}

    @method()
    async def Connect(self) -> None:
        self.connect_log.append(time.monotonic())
        sender = self.fake._connect_sender.get(self.path)
        if not self.fake.adapter.powered:
            raise DBusError("org.bluez.Error.NotReady", "Resource Not Ready")
        if self.connected:
            return
        await asyncio.sleep(0.005)
        if self.connect_faults:
            name, text = self.connect_faults.pop(0)
            if text == "le-connection-abort-by-local":  # BlueZ connected at the HCI level, then the controller
                self.emit_properties_changed({"Connected": True})  # aborted: Connected flips before the error reply
                await asyncio.sleep(0.005)
                self.emit_properties_changed({"Connected": False})
            raise DBusError(name, text)
        self.owner = sender
        self.connected = True
        self.emit_properties_changed({"Connected": True})
        self.p.on_connect(self.fake._open_link(self))
        await asyncio.sleep(0.005)
        self.resolved = True
        self.emit_properties_changed({"ServicesResolved": True})

    @method()
    async def Disconnect(self) -> None:
        self.fake._drop(self.path)

    @method()
    def Pair(self) -> None:
        raise DBusError("org.bluez.Error.AuthenticationFailed", "the simulated sensor does not pair")

    @method()
    def CancelPairing(self) -> None:
        return None


class ServiceObject(ServiceInterface):
    def __init__(self, uuid: str, device: str) -> None:
        super().__init__("org.bluez.GattService1")
        self.uuid = uuid
        self.device = device

    @dbus_property(access=PropertyAccess.READ)
    def UUID(self) -> "s":
        return self.uuid

    @dbus_property(access=PropertyAccess.READ)
    def Primary(self) -> "b":
        return True

    @dbus_property(access=PropertyAccess.READ)
    def Device(self) -> "o":
        return self.device


class CharObject(ServiceInterface):
    def __init__(self, fake: "FakeBluez", dev: DeviceObject, key: str, uuid: str, service: str, flags: list[str],
                 path_tail: str) -> None:
        super().__init__("org.bluez.GattCharacteristic1")
        self.fake = fake
        self.dev = dev
        self.key = key
        self.uuid = uuid
        self.service = service
        self.flags = flags
        self.path_tail = path_tail  # "/serviceHHHH/charHHHH" below the device path
        self.value = b""
        self.sessions: set[str] = set()

    @dbus_property(access=PropertyAccess.READ)
    def UUID(self) -> "s":
        return self.uuid

    @dbus_property(access=PropertyAccess.READ)
    def Service(self) -> "o":
        return self.service

    @dbus_property(access=PropertyAccess.READ)
    def Value(self) -> "ay":
        return self.value

    @dbus_property(access=PropertyAccess.READ)
    def Notifying(self) -> "b":
        return bool(self.sessions)

    @dbus_property(access=PropertyAccess.READ)
    def Flags(self) -> "as":
        return self.flags

    @dbus_property(access=PropertyAccess.READ)
    def MTU(self) -> "q":
        return int(self.dev.p.mtu)

    def _check(self) -> None:
        if not self.dev.connected:
            raise DBusError("org.bluez.Error.Failed", "Not connected")

    @method()
    def ReadValue(self, options: "a{sv}") -> "ay":
        self._check()
        try:
            self.value = bytes(self.dev.p.read(self.key))
        except AttError as err:
            raise DBusError("org.bluez.Error.Failed", f"Operation failed with ATT error: 0x{err.code:02x}") from None
        return self.value

    @method()
    def WriteValue(self, value: "ay", options: "a{sv}") -> None:
        self._check()
        try:
            self.dev.p.write(self.key, bytes(value))
        except AttError as err:
            raise DBusError("org.bluez.Error.Failed", f"Operation failed with ATT error: 0x{err.code:02x}") from None

    @method()
    def StartNotify(self) -> None:
        self._check()
        first = not self.sessions
        self.sessions.add(self.fake._sender or "")
        if first:
            self.emit_properties_changed({"Notifying": True})
            self.dev.p.notify_changed(self.key, True)

    @method()
    def StopNotify(self) -> None:
        self.sessions.discard(self.fake._sender or "")
        if not self.sessions:
            self.emit_properties_changed({"Notifying": False})
            self.dev.p.notify_changed(self.key, False)

    def end_sessions(self, owner: str | None = None) -> None:
        before = bool(self.sessions)
        if owner is None:
            self.sessions.clear()
        else:
            self.sessions.discard(owner)
        if before and not self.sessions:
            self.emit_properties_changed({"Notifying": False})
