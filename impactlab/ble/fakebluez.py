# ruff: noqa: F722, F821
"""A fake BlueZ (``org.bluez``) on a private D-Bus daemon, for the unmodified bleak to talk to.

bleak's Linux backend speaks to ``bluetoothd`` over the system D-Bus. This module serves the part
of BlueZ's D-Bus API that bleak uses (``/BLE_TESTING.md`` of the project notes): an adapter
``/org/bluez/hci0`` (``Adapter1``), one ``Device1`` per simulated peripheral, and its GATT
services and characteristics at BlueZ-shaped paths, through ``ObjectManager``. Notifications are
``PropertiesChanged {"Value": ay}`` signals on the characteristic's path (bleak's default
``StartNotify`` mode). Peripherals (the behaviour behind the GATT objects) implement
:class:`Peripheral`; :mod:`impactlab.ble.simulator` provides impactlab's sensors.

:class:`PrivateBus` runs a throw-away ``dbus-daemon`` (``<type>system</type>``) and
:class:`FakeBluez` runs the service on its own thread and event loop, so bleak can run unmodified
in the caller's loop with ``DBUS_SYSTEM_BUS_ADDRESS`` pointing at the private bus. No root, no
kernel Bluetooth, no ``bluetoothd``.
"""

import asyncio
import contextlib
import logging
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

from dbus_fast import BusType, Message, MessageType, Variant
from dbus_fast.aio import MessageBus
from dbus_fast.errors import DBusError
from dbus_fast.service import PropertyAccess, ServiceInterface, dbus_property, method

from ..errors import DeviceError

__all__ = ["AttError", "FakeBluez", "GattLayout", "Link", "Peripheral", "PrivateBus", "dbus_daemon_path"]

log = logging.getLogger(__name__)
T = TypeVar("T")

_BUS_CONF = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_type="method_return"/>
    <allow send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="signal"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
  </policy>
  <limit name="max_incoming_bytes">1000000000</limit>
  <limit name="max_outgoing_bytes">1000000000</limit>
  <limit name="max_message_size">33554432</limit>
</busconfig>
"""


def dbus_daemon_path() -> str | None:
    """Path of the ``dbus-daemon`` executable, or None when it is not installed."""
    return shutil.which("dbus-daemon") or (
        "/usr/bin/dbus-daemon" if os.access("/usr/bin/dbus-daemon", os.X_OK) else None
    )


def _pdeathsig() -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes Linux end the child when the starting thread dies (even when killed).

    ``prctl`` is looked up here, in the parent, so the child only makes one foreign call.
    """
    try:
        import ctypes
        import signal

        prctl = ctypes.CDLL(None, use_errno=True).prctl
        sig = int(signal.SIGTERM)
    except (OSError, AttributeError):
        return None

    def _set() -> None:
        prctl(1, sig)  # PR_SET_PDEATHSIG

    return _set


class PrivateBus:
    """A throw-away ``dbus-daemon`` acting as the system bus, in a temporary folder.

    Use as a context manager; :attr:`address` is the value for ``DBUS_SYSTEM_BUS_ADDRESS``.

    Raises
    ------
    DeviceError
        ``dbus-daemon`` is not installed or did not start.
    """

    def __init__(self) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        self.dir: str | None = None
        self.address = ""

    def start(self) -> "PrivateBus":
        exe = dbus_daemon_path()
        if exe is None:
            raise DeviceError("the simulated sensor needs dbus-daemon, which is not installed",
                              hint="Install it (Debian/Ubuntu: apt-get install dbus-daemon)")
        self.dir = tempfile.mkdtemp(prefix="impactlab-bus-")
        sock = Path(self.dir) / "system_bus_socket"
        conf = Path(self.dir) / "bus.conf"
        conf.write_text(_BUS_CONF.format(socket=sock))
        self.proc = subprocess.Popen(
            [exe, f"--config-file={conf}", "--nofork", "--nopidfile", "--print-address=1"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, preexec_fn=_pdeathsig(), start_new_session=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().decode().strip()
        if not line:
            self.stop()
            raise DeviceError("dbus-daemon did not start", hint="Run dbus-daemon --version to check the install")
        self.address = line.split(",")[0] if line.startswith("unix:path=") else f"unix:path={sock}"
        return self

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            if self.proc.stdout:
                self.proc.stdout.close()
            self.proc = None
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def __enter__(self) -> "PrivateBus":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class AttError(Exception):
    """Raised by a peripheral to reject a read or write with an ATT error code (0x80-0x9F: application)."""

    def __init__(self, code: int = 0x80) -> None:
        self.code = code
        super().__init__(f"ATT error 0x{code:02x}")


@dataclass
class GattLayout:
    """What a peripheral exposes: services → characteristics ``(key, uuid, flags)``."""

    services: list[tuple[str, list[tuple[str, str, list[str]]]]] = field(default_factory=list)


class Link(Protocol):
    """The connection handed to a peripheral while a central is connected."""

    def notify(self, key: str, data: bytes) -> bool: ...
    def notifying(self, key: str) -> bool: ...
    def drop(self) -> None: ...
    async def drain(self) -> None: ...
    @property
    def up(self) -> bool: ...


class Peripheral(Protocol):
    """Behaviour of a simulated BLE peripheral (called on the fake's event loop)."""

    address: str
    name: str
    service_uuids: list[str]
    manufacturer_data: dict[int, bytes]
    layout: GattLayout

    def on_connect(self, link: Link) -> None: ...
    def on_disconnect(self) -> None: ...
    def read(self, key: str) -> bytes: ...
    def write(self, key: str, data: bytes) -> None: ...
    def notify_changed(self, key: str, on: bool) -> None: ...


# -- D-Bus interfaces ----------------------------------------------------------------------------

class _Adapter(ServiceInterface):
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


class _Device(ServiceInterface):
    def __init__(self, fake: "FakeBluez", path: str, p: Peripheral) -> None:
        super().__init__("org.bluez.Device1")
        self.fake = fake
        self.path = path
        self.p = p
        self.connected = False
        self.resolved = False
        self.rssi = -58
        self.owner: str | None = None

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
        sender = self.fake._connect_sender.get(self.path)
        if not self.fake.adapter.powered:
            raise DBusError("org.bluez.Error.NotReady", "Resource Not Ready")
        if self.connected:
            return
        await asyncio.sleep(0.005)
        self.owner = sender
        self.connected = True
        self.emit_properties_changed({"Connected": True})
        self.fake._links[self.path] = _LinkImpl(self.fake, self)
        self.p.on_connect(self.fake._links[self.path])
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


class _Service(ServiceInterface):
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


class _Char(ServiceInterface):
    def __init__(self, fake: "FakeBluez", dev: _Device, key: str, uuid: str, service: str, flags: list[str]) -> None:
        super().__init__("org.bluez.GattCharacteristic1")
        self.fake = fake
        self.dev = dev
        self.key = key
        self.uuid = uuid
        self.service = service
        self.flags = flags
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
        return 247

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


class _LinkImpl:
    """The live connection between the fake central side and one peripheral."""

    def __init__(self, fake: "FakeBluez", dev: _Device) -> None:
        self.fake = fake
        self.dev = dev
        self.chars = fake._chars[dev.path]
        self._up = True
        self._last: Any = None

    @property
    def up(self) -> bool:
        return self._up and self.dev.connected

    def notifying(self, key: str) -> bool:
        c = self.chars.get(key)
        return bool(c and c.sessions)

    def notify(self, key: str, data: bytes) -> bool:
        """Send one notification; False (nothing sent) when the link is down or nobody listens."""
        if not self.up:
            return False
        c = self.chars[key]
        if not c.sessions:
            return False
        msg = Message.new_signal(
            f"{self.dev.path}{c.path_tail}", "org.freedesktop.DBus.Properties", "PropertiesChanged", "sa{sv}as",
            ["org.bluez.GattCharacteristic1", {"Value": Variant("ay", data)}, []],
        )
        assert self.fake.bus is not None
        self._last = self.fake.bus.send(msg)
        return True

    async def drain(self) -> None:
        """Wait until every notification sent so far is written to the bus (backpressure)."""
        fut = self._last
        if fut is not None and not fut.done():
            with contextlib.suppress(Exception):
                await fut
        await asyncio.sleep(0)

    def drop(self) -> None:
        """The remote end loses the link (out of range, battery)."""
        self.fake._drop(self.dev.path)


# -- the service ---------------------------------------------------------------------------------

class FakeBluez:
    """``org.bluez`` on a private bus, served from a background thread with its own event loop.

    Parameters
    ----------
    bus_address : str
        D-Bus address of the private system bus (see :class:`PrivateBus`).

    Examples
    --------
    >>> with PrivateBus() as bus, FakeBluez(bus.address) as fake:  # doctest: +SKIP
    ...     fake.add(peripheral)
    """

    def __init__(self, bus_address: str) -> None:
        self.bus_address = bus_address
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread: threading.Thread | None = None
        self.bus: MessageBus | None = None
        self.adapter = _Adapter(self)
        self._devices: dict[str, _Device] = {}
        self._chars: dict[str, dict[str, _Char]] = {}
        self._exports: dict[str, list[tuple[str, ServiceInterface]]] = {}
        self._links: dict[str, _LinkImpl] = {}
        self._adv_task: asyncio.Task[None] | None = None
        self._adv_count = 0
        self._sender: str | None = None
        self._connect_sender: dict[str, str] = {}
        self._ready = threading.Event()
        self._error: BaseException | None = None

    # -- lifecycle, from any thread
    def start(self) -> "FakeBluez":
        self.thread = threading.Thread(target=self._run, name="impactlab-fake-bluez", daemon=True)
        self.thread.start()
        if not self._ready.wait(10) or self._error is not None:
            raise DeviceError(f"the fake BlueZ did not start ({self._error})")
        return self

    def stop(self) -> None:
        if self.loop is None or self.thread is None:
            return
        with contextlib.suppress(Exception):
            self.call(self._shutdown(), timeout=5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.thread = None

    def __enter__(self) -> "FakeBluez":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        """Run ``coro`` on the fake's loop and return its result (from another thread)."""
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def run(self, fn: Callable[[], T], timeout: float = 30) -> T:
        """Run the plain callable ``fn`` on the fake's loop (thread-safe access to peripherals)."""

        async def _c() -> T:
            return fn()

        return self.call(_c(), timeout)

    def add(self, p: Peripheral) -> str:
        """Publish a peripheral; returns its D-Bus path."""
        return self.run(lambda: self._add(p))

    def remove(self, p: Peripheral) -> None:
        """Withdraw a peripheral (drops its link)."""
        self.run(lambda: self._remove(p))

    def set_powered(self, on: bool) -> None:
        """Switch the simulated adapter on or off (``Powered``)."""

        def _set() -> None:
            self.adapter.powered = on
            self.adapter.emit_properties_changed({"Powered": on})

        self.run(_set)

    # -- on the loop
    def _run(self) -> None:
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self._setup())
        except BaseException as err:
            self._error = err
            self._ready.set()
            return
        self._ready.set()
        try:
            self.loop.run_forever()
        finally:
            with contextlib.suppress(Exception):
                pending = asyncio.all_tasks(self.loop)
                for t in pending:
                    t.cancel()
                self.loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            self.loop.close()

    async def _setup(self) -> None:
        self.bus = await MessageBus(bus_address=self.bus_address, bus_type=BusType.SYSTEM).connect()
        sock = getattr(self.bus, "_sock", None)
        if sock is not None:  # room for bursts of notifications (dbus-fast fails on a full socket buffer)
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8 << 20)
        self.bus.add_message_handler(self._snoop)
        await self.bus.call(Message(
            destination="org.freedesktop.DBus", path="/org/freedesktop/DBus", interface="org.freedesktop.DBus",
            member="AddMatch", signature="s",
            body=["type='signal',sender='org.freedesktop.DBus',member='NameOwnerChanged'"],
        ))
        self.bus.export("/org/bluez/hci0", self.adapter)
        await self.bus.request_name("org.bluez")

    async def _shutdown(self) -> None:
        for path in list(self._links):
            self._drop(path)
        self._stop_advertising(force=True)
        if self.bus is not None:
            self.bus.disconnect()

    def _snoop(self, msg: Message) -> None:
        if msg.message_type == MessageType.METHOD_CALL:
            self._sender = msg.sender
            if msg.member == "Connect" and msg.path is not None:
                self._connect_sender[msg.path] = msg.sender
        elif (msg.message_type == MessageType.SIGNAL and msg.member == "NameOwnerChanged"
              and msg.sender == "org.freedesktop.DBus"):
            name, _old, new = msg.body
            if not new and name.startswith(":"):
                self._client_gone(name)
        return None

    def _client_gone(self, name: str) -> None:
        for path, dev in list(self._devices.items()):
            for c in self._chars[path].values():
                if name in c.sessions:
                    c.end_sessions(name)
                    dev.p.notify_changed(c.key, bool(c.sessions))
            if dev.owner == name and dev.connected:
                self._drop(path)

    def _add(self, p: Peripheral) -> str:
        assert self.bus is not None
        path = "/org/bluez/hci0/dev_" + p.address.upper().replace(":", "_")
        dev = _Device(self, path, p)
        exports: list[tuple[str, ServiceInterface]] = [(path, dev)]
        chars: dict[str, _Char] = {}
        handle = 0x0010
        for s_uuid, clist in p.layout.services:
            s_path = f"{path}/service{handle:04x}"
            exports.append((s_path, _Service(s_uuid, path)))
            handle += 1
            for key, c_uuid, flags in clist:
                tail = f"/service{int(s_path[-4:], 16):04x}/char{handle:04x}"
                c = _Char(self, dev, key, c_uuid, s_path, flags)
                c.path_tail = tail  # type: ignore[attr-defined]
                chars[key] = c
                exports.append((path + tail, c))
                handle += 2
            handle += 1
        self._devices[path] = dev
        self._chars[path] = chars
        self._exports[path] = exports
        for obj_path, iface in exports:
            self.bus.export(obj_path, iface)
        return path

    def _remove(self, p: Peripheral) -> None:
        assert self.bus is not None
        path = "/org/bluez/hci0/dev_" + p.address.upper().replace(":", "_")
        if path not in self._devices:
            return
        self._drop(path)
        for obj_path, iface in reversed(self._exports.pop(path)):
            self.bus.unexport(obj_path, iface)
        del self._devices[path]
        del self._chars[path]

    def _drop(self, path: str) -> None:
        dev = self._devices.get(path)
        link = self._links.pop(path, None)
        if link is not None:
            link._up = False
        if dev is None or not dev.connected:
            return
        for c in self._chars[path].values():
            c.end_sessions()
        dev.connected = False
        dev.resolved = False
        dev.owner = None
        dev.emit_properties_changed({"ServicesResolved": False})
        dev.emit_properties_changed({"Connected": False})
        dev.p.on_disconnect()

    def _start_advertising(self) -> None:
        self._adv_count += 1
        if self._adv_task is None:
            self._adv_task = asyncio.get_running_loop().create_task(self._advertise())

    def _stop_advertising(self, force: bool = False) -> None:
        self._adv_count = 0 if force else max(0, self._adv_count - 1)
        if self._adv_count == 0 and self._adv_task is not None:
            self._adv_task.cancel()
            self._adv_task = None

    async def _advertise(self) -> None:
        """While discovering, every device "advertises": its RSSI changes every 50 ms."""
        k = 0
        while True:
            k += 1
            for dev in list(self._devices.values()):
                if not getattr(dev.p, "advertising", True):
                    continue
                dev.rssi = -58 - (k % 3)
                dev.emit_properties_changed({"RSSI": dev.rssi})
            await asyncio.sleep(0.05)


def wait_for(pred: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Poll ``pred`` until true or ``timeout`` (s); used by tests that look into the fake."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.01)
    return pred()
