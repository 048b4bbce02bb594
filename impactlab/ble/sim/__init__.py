"""A simulated sensor in range of the unmodified bleak: a fake BlueZ on a private D-Bus.

Shipped (not test-only): ``impactlab scan/stream/sync --simulate FILE`` use it, so a new user sees
the live view and a sync without hardware.

* :mod:`~impactlab.ble.sim.bus` — a throw-away ``dbus-daemon`` acting as the system bus;
* :mod:`~impactlab.ble.sim.gatt` — what a peripheral is (GATT layout, link, ATT errors);
* :mod:`~impactlab.ble.sim.dbus_objects` — BlueZ's ``Adapter1``/``Device1``/GATT objects;
* :mod:`~impactlab.ble.sim.fakebluez` — ``org.bluez`` served from its own thread and loop;
* :mod:`~impactlab.ble.sim.sensor` — the simulated firmware (impactlab-hip-v1, Polar PMD) with
  fault injection, and :func:`simulated_sensor` (in this process, for tests that look into the sensor);
* :mod:`~impactlab.ble.sim.process` — :func:`simulated_sensor_process`, the same in a child process:
  what ``--simulate`` runs.
"""

from .bus import PrivateBus, dbus_daemon_path
from .fakebluez import FakeBluez, wait_for
from .gatt import AttError, GattLayout, Link, Peripheral
from .process import SimulationProcess, simulated_sensor_process
from .sensor import Faults, LinkModel, SimulatedSensor, Simulation, simulated_sensor

__all__ = ["AttError", "FakeBluez", "Faults", "GattLayout", "LinkModel", "Link", "Peripheral", "PrivateBus", "SimulatedSensor",
           "Simulation", "SimulationProcess", "dbus_daemon_path", "simulated_sensor", "simulated_sensor_process", "wait_for"]
