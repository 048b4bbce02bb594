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

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from dbus_fast import BusType, Message, MessageType, Variant
from dbus_fast.aio import MessageBus
from dbus_fast.service import ServiceInterface

from ...errors import DeviceError
from .bus import PrivateBus, dbus_daemon_path
from .dbus_objects import AdapterObject, CharObject, DeviceObject, ServiceObject
from .gatt import AttError, GattLayout, Link, Peripheral

__all__ = ["AttError", "FakeBluez", "GattLayout", "Link", "Peripheral", "PrivateBus", "dbus_daemon_path", "wait_for"]

log = logging.getLogger(__name__)
T = TypeVar("T")


class _LinkImpl:
    """The live connection between the fake central side and one peripheral."""

    def __init__(self, fake: FakeBluez, dev: DeviceObject) -> None:
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
        self.adapter = AdapterObject(self)
        self._devices: dict[str, DeviceObject] = {}
        self._chars: dict[str, dict[str, CharObject]] = {}
        self._exports: dict[str, list[tuple[str, ServiceInterface]]] = {}
        self._links: dict[str, _LinkImpl] = {}
        self._adv_task: asyncio.Task[None] | None = None
        self._adv_count = 0
        self._sender: str | None = None
        self._connect_sender: dict[str, str] = {}
        self._ready = threading.Event()
        self._error: BaseException | None = None

    # -- lifecycle, from any thread
    def start(self) -> FakeBluez:
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

    def __enter__(self) -> FakeBluez:
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

    def fail_connect(self, address: str, errors: list[tuple[str, str]]) -> None:
        """Make the next ``Device1.Connect`` calls to ``address`` fail, one per call, then succeed.

        ``errors`` are ``(D-Bus error name, message)`` as BlueZ returns them, e.g.
        ``("org.bluez.Error.Failed", "le-connection-abort-by-local")`` (for that one the device's
        ``Connected`` flips true then false before the reply, as BlueZ does) or
        ``("org.bluez.Error.InProgress", "Operation already in progress")``.
        """
        self.run(lambda: self._devices[_path(address)].connect_faults.extend(errors))

    def connect_calls(self, address: str) -> list[float]:
        """``time.monotonic()`` of every ``Device1.Connect`` call to ``address`` so far."""
        return self.run(lambda: list(self._devices[_path(address)].connect_log))

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
        path = _path(p.address)
        dev = DeviceObject(self, path, p)
        exports: list[tuple[str, ServiceInterface]] = [(path, dev)]
        chars: dict[str, CharObject] = {}
        handle = 0x0010
        for s_uuid, clist in p.layout.services:
            s_path = f"{path}/service{handle:04x}"
            exports.append((s_path, ServiceObject(s_uuid, path)))
            handle += 1
            for key, c_uuid, flags in clist:
                tail = f"/service{int(s_path[-4:], 16):04x}/char{handle:04x}"
                c = CharObject(self, dev, key, c_uuid, s_path, flags, tail)
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
        path = _path(p.address)
        if path not in self._devices:
            return
        self._drop(path)
        for obj_path, iface in reversed(self._exports.pop(path)):
            self.bus.unexport(obj_path, iface)
        del self._devices[path]
        del self._chars[path]

    def _open_link(self, dev: DeviceObject) -> Link:
        link = self._links[dev.path] = _LinkImpl(self, dev)
        return link

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


def _path(address: str) -> str:
    """BlueZ's object path of the device ``address`` on ``hci0``."""
    return "/org/bluez/hci0/dev_" + address.upper().replace(":", "_")


def wait_for(pred: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Poll ``pred`` until true or ``timeout`` (s); used by tests that look into the fake."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.01)
    return pred()
