"""What a simulated peripheral is, as the fake BlueZ sees it: its GATT layout, its link, ATT errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

__all__ = ["AttError", "GattLayout", "Link", "Peripheral"]


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
    mtu: int  # the ATT MTU negotiated with this peripheral (BlueZ's ``MTU`` property)

    def on_connect(self, link: Link) -> None: ...
    def on_disconnect(self) -> None: ...
    def read(self, key: str) -> bytes: ...
    def write(self, key: str, data: bytes) -> None: ...
    def notify_changed(self, key: str, on: bool) -> None: ...
