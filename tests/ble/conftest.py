"""Fixtures for the BLE tests: one private dbus-daemon and fake BlueZ per test session (per xdist worker)."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator

import pytest

from impactlab.ble.profile import load_profile
from impactlab.ble.sim import FakeBluez, Faults, PrivateBus, SimulatedSensor, dbus_daemon_path
from impactlab.simulate import simulate_recording

_addresses = itertools.count(1)


@pytest.fixture(scope="session")
def fake_bluez() -> Iterator[FakeBluez]:
    if dbus_daemon_path() is None and not os.environ.get("CI"):  # CI installs it: there a missing one fails
        pytest.skip("dbus-daemon is not installed (apt-get install dbus-daemon); the simulated sensor needs it")
    old = os.environ.get("DBUS_SYSTEM_BUS_ADDRESS")
    with PrivateBus() as bus, FakeBluez(bus.address) as fake:
        os.environ["DBUS_SYSTEM_BUS_ADDRESS"] = bus.address
        try:
            yield fake
        finally:
            if old is None:
                os.environ.pop("DBUS_SYSTEM_BUS_ADDRESS", None)
            else:
                os.environ["DBUS_SYSTEM_BUS_ADDRESS"] = old


@pytest.fixture(scope="session")
def short_rec():
    """Two minutes at 50 Hz with one medium and two high impacts (158 packets)."""
    return simulate_recording(duration_s=120, fs=50, jumps=[(20.0, 2.0), (50.0, 1.2), (90.0, 2.6)], seed=4)


@pytest.fixture
def add_sensor(fake_bluez):
    """Publish a simulated sensor with a fresh address; withdrawn at teardown."""
    made: list[SimulatedSensor] = []

    def _add(rec, *, profile: str = "impactlab-hip-v1", faults: Faults | None = None, speed: float = 0.0,
             **kw) -> SimulatedSensor:
        k = next(_addresses)
        s = SimulatedSensor(load_profile(profile), rec, address=f"F0:1A:B2:00:{k // 256:02X}:{k % 256:02X}",
                            faults=faults, speed=speed, **kw)
        fake_bluez.add(s)
        made.append(s)
        return s

    yield _add
    for s in made:
        fake_bluez.remove(s)
