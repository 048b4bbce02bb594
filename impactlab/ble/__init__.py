"""Bluetooth LE sensors: profiles, decoders, live streaming, resumable sync, a simulated sensor.

Layers (docs/architecture.md), each importable on its own:

* :mod:`~impactlab.ble.profile` — ``firmware_config/*.toml`` → :class:`SensorProfile`;
* :mod:`~impactlab.ble.decode` — pure bytes ↔ numpy decoders (``np.frombuffer``, structured dtypes);
* :mod:`~impactlab.ble.assemble` — ordering, duplicates, gaps, Recording chunks;
* :mod:`~impactlab.ble.client` — the only module using bleak (scan, connect with backoff, GATT);
* :mod:`~impactlab.ble.stream` — live view data path into the stateful impact detector;
* :mod:`~impactlab.ble.sync` — lossless resumable download into the client store;
* :mod:`~impactlab.ble.sim` — a fake BlueZ on a private D-Bus and a simulated sensor, so the
  unmodified bleak runs without hardware (``--simulate``).
"""

from .decode import DecodeError, Packet
from .profile import SensorProfile, list_profiles, load_profile

__all__ = ["DecodeError", "Packet", "SensorProfile", "list_profiles", "load_profile"]
