"""Sensor profiles (GATT UUIDs, packet layout, rate, range), installed as ``impactlab.firmware_config``.

The TOML files beside this module are what the firmware side reads and what
:func:`impactlab.ble.profile.load_profile` loads (as package data, so they travel with the wheel).
"""
