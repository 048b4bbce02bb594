"""Sensor profiles: ``firmware_config/<id>.toml`` parsed into a frozen :class:`SensorProfile`.

A profile names the GATT service and characteristics of a sensor, the byte layout of its packets
(field lists that map one to one to numpy structured dtypes), its sample rate, range and scale,
and its command bytes (firmware_config/README.md). The decoder, the sync client and the simulated sensor are all
driven by the same profile, so they cannot disagree about a layout. The format is documented in
``firmware_config/README.md``.
"""

from __future__ import annotations

import importlib.resources
import os
import tomllib
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ..errors import ConfigError
from ..recording import parse_vertical_axis

__all__ = ["PROFILE_DIR", "CharacteristicSpec", "SensorProfile", "list_profiles", "load_profile"]

#: Folder holding the profiles shipped with impactlab: ``firmware_config/`` of the source tree, installed
#: as the package data of ``impactlab.firmware_config`` (so a wheel carries them).
PROFILE_DIR = Path(str(importlib.resources.files("impactlab.firmware_config")))

Protocol = Literal["impactlab-v1", "polar-pmd"]
_PROTOCOLS: dict[str, dict[str, tuple[str, ...]]] = {
    # characteristics, header fields, info fields, commands that each protocol needs
    "impactlab-v1": {
        "chars": ("info", "control", "stream", "sync_data"),
        "header": ("type", "n", "seq", "first_sample"),
        "info": ("sample_rate_hz", "range_g", "counts_per_g", "session_id", "stored_packets", "first_seq",
                 "session_start_us"),
        "commands": ("start_stream", "stop_stream", "sync_from", "sync_abort", "erase_acked"),
        "types": ("live", "stored", "end_of_sync"),
    },
    "polar-pmd": {
        "chars": ("control", "stream"),
        "header": ("type", "timestamp_ns", "frame_type"),
        "info": (),
        "commands": ("start_stream", "stop_stream"),
        "types": (),
    },
}
_PROPS = {"read", "write", "write-without-response", "notify", "indicate"}


@dataclass(frozen=True, slots=True)
class CharacteristicSpec:
    """One GATT characteristic of a profile.

    Attributes
    ----------
    key : str
        Role in impactlab (``info``, ``control``, ``stream``, ``sync_data``, ``marker``).
    uuid : str
        128-bit UUID, lower case.
    properties : tuple of str
        BlueZ flags: ``read``, ``write``, ``write-without-response``, ``notify``, ``indicate``.
    """

    key: str
    uuid: str
    properties: tuple[str, ...]


@dataclass(frozen=True)
class SensorProfile:
    """A sensor's GATT layout, packet format and scale (one ``firmware_config/*.toml`` file).

    Attributes
    ----------
    id : str
        Profile name, e.g. ``"impactlab-hip-v1"``.
    protocol : {"impactlab-v1", "polar-pmd"}
        Selects the decoder (a layout table cannot express Polar's delta frames).
    path : str
        The file the profile was read from.
    name_prefix : str
        Advertised local names start with this.
    sample_rate_hz : float
        Default sample rate in Hz (impactlab-v1 sensors report the real one in ``info``).
    range_g : float
        Sensor range (± g).
    counts_per_g : float
        Raw counts per g (2048 for int16 at ±16 g; 1000 for Polar's mG).
    vertical_axis : str
        Axis pointing up when the sensor is worn as marked, e.g. ``"+y"``.
    mtu : int
        ATT MTU the firmware negotiates; a packet holds at most ``mtu - 3`` bytes.
    live_only : bool
        True when the sensor cannot be synced (Polar).
    service_uuid : str
        The primary service advertised by the sensor.
    characteristics : dict of str to CharacteristicSpec
        By role.
    battery_service, battery_level : str or None
        Battery Service and Battery Level UUIDs.
    header_dtype, sample_dtype : numpy.dtype
        Structured dtypes of the packet header and of one sample (byte order applied).
    info_dtype, marker_dtype : numpy.dtype or None
        Structured dtypes of the info value and of a marker notification.
    max_samples : int
        Most samples a packet may hold.
    packet_types : dict of str to int
        Packet type codes (impactlab-v1: ``live``, ``stored``, ``end_of_sync``).
    marker_labels : dict of int to str
        Marker code → label.
    commands : dict of str to int or bytes
        Command opcodes (impactlab-v1) or whole byte strings (polar-pmd).
    options : dict
        Protocol-specific extra keys of ``[packet]`` (e.g. Polar's ``delta_flag``).
    """

    id: str
    protocol: Protocol
    path: str
    name_prefix: str
    sample_rate_hz: float
    range_g: float
    counts_per_g: float
    vertical_axis: str
    mtu: int
    live_only: bool
    service_uuid: str
    characteristics: dict[str, CharacteristicSpec]
    battery_service: str | None
    battery_level: str | None
    header_dtype: np.dtype
    sample_dtype: np.dtype
    info_dtype: np.dtype | None
    marker_dtype: np.dtype | None
    max_samples: int
    packet_types: dict[str, int]
    marker_labels: dict[int, str] = field(default_factory=dict)
    commands: dict[str, int | bytes] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)

    def char(self, key: str) -> CharacteristicSpec:
        """The characteristic with role ``key``.

        Raises
        ------
        ConfigError
            The profile has no such characteristic.
        """
        try:
            return self.characteristics[key]
        except KeyError:
            raise ConfigError(f"the profile has no {key!r} characteristic", path=self.path,
                              key=f"gatt.characteristics.{key}") from None

    @property
    def header_size(self) -> int:
        """Packet header size in bytes."""
        return int(self.header_dtype.itemsize)

    @property
    def sample_size(self) -> int:
        """Size of one sample in bytes."""
        return int(self.sample_dtype.itemsize)

    def command(self, name: str) -> int | bytes:
        """Opcode or byte string of command ``name`` (``ConfigError`` when absent)."""
        try:
            return self.commands[name]
        except KeyError:
            raise ConfigError(f"the profile defines no command {name!r}", path=self.path,
                              key=f"commands.{name}") from None


def list_profiles() -> list[str]:
    """Names of the profiles shipped in :data:`PROFILE_DIR`."""
    return sorted(p.stem for p in PROFILE_DIR.glob("*.toml"))


def load_profile(name_or_path: str | os.PathLike[str]) -> SensorProfile:
    """Read and validate a sensor profile.

    Parameters
    ----------
    name_or_path : str or os.PathLike
        A shipped profile's name (``"impactlab-hip-v1"``, ``"polar-verity-sense"``) or a path to a
        TOML file.

    Returns
    -------
    SensorProfile

    Raises
    ------
    ConfigError
        Unknown name, unreadable TOML, a missing or malformed UUID, an unknown dtype code, or an
        inconsistent layout (e.g. packets larger than the MTU allows); the message names the file
        and the dotted key.
    """
    p = Path(name_or_path)
    if not p.suffix and not p.exists():
        p = PROFILE_DIR / f"{name_or_path}.toml"
    if not p.is_file():
        raise ConfigError(f"no sensor profile {os.fspath(name_or_path)!r}", path=p,
                          hint=f"Use one of: {', '.join(list_profiles())}, or a path to a .toml profile")
    try:
        doc = tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"not valid TOML ({err})", path=p, hint="Fix the syntax; see firmware_config/README.md") from err
    return _parse(doc, os.fspath(p))


class _Reader:
    """Typed access to a TOML document with errors naming the file and the dotted key."""

    def __init__(self, doc: dict[str, Any], path: str) -> None:
        self.doc = doc
        self.path = path

    def err(self, key: str, msg: str, hint: str | None = None) -> ConfigError:
        return ConfigError(msg, path=self.path, key=key, hint=hint or "See firmware_config/README.md")

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
        node: Any = self.doc
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                if default is not ...:
                    return default
                raise self.err(key, "is missing")
            node = node[part]
        if kind is float and isinstance(node, int) and not isinstance(node, bool):
            node = float(node)
        if not isinstance(node, kind) or (isinstance(node, bool) and kind in (int, float)):
            names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            raise self.err(key, f"must be {names}, not {type(node).__name__} {node!r}")
        return node

    def uuid(self, key: str, default: Any = ...) -> Any:
        v = self.get(key, str, default)
        if v is None:
            return None
        try:
            return str(uuid.UUID(v))
        except ValueError:
            raise self.err(key, f"{v!r} is not a UUID",
                           hint="Write 128-bit UUIDs as 8-4-4-4-12 hex digits") from None

    def dtype(self, key: str, order: str) -> np.dtype:
        fields = self.get(key, list)
        if not fields:
            raise self.err(key, "is empty")
        out = []
        names = set()
        for i, f in enumerate(fields):
            if not (isinstance(f, list) and len(f) == 2 and all(isinstance(s, str) for s in f)):
                raise self.err(f"{key}[{i}]", f"must be a [name, code] pair, not {f!r}")
            name, code = f
            if name in names:
                raise self.err(f"{key}[{i}]", f"field {name!r} appears twice")
            names.add(name)
            if code not in {"u1", "u2", "u4", "u8", "i1", "i2", "i4", "i8", "f4", "f8"}:
                raise self.err(f"{key}[{i}]", f"unknown dtype code {code!r}",
                               hint="Use u1/u2/u4/u8, i1/i2/i4/i8 or f4/f8")
            out.append((name, order + code))
        return np.dtype(out)


def _parse(doc: dict[str, Any], path: str) -> SensorProfile:
    r = _Reader(doc, path)
    schema = r.get("schema", int)
    if schema != 1:
        raise r.err("schema", f"unsupported schema {schema}", hint="This impactlab reads schema 1 profiles")
    protocol = r.get("sensor.protocol", str)
    if protocol not in _PROTOCOLS:
        raise r.err("sensor.protocol", f"unknown protocol {protocol!r}", hint=f"Use one of: {', '.join(_PROTOCOLS)}")
    need = _PROTOCOLS[protocol]
    fs = r.get("sensor.sample_rate_hz", float)
    rng = r.get("sensor.range_g", float)
    cpg = r.get("sensor.counts_per_g", float)
    for key, v in (("sensor.sample_rate_hz", fs), ("sensor.range_g", rng), ("sensor.counts_per_g", cpg)):
        if v <= 0:
            raise r.err(key, f"must be positive, not {v}")
    axis = r.get("sensor.vertical_axis", str)
    try:
        parse_vertical_axis(axis)
    except Exception:
        raise r.err("sensor.vertical_axis", f"{axis!r} is not one of +x, -x, +y, -y, +z, -z") from None
    mtu = r.get("sensor.mtu", int, 247)
    if not 23 <= mtu <= 517:
        raise r.err("sensor.mtu", f"{mtu} is outside the ATT range 23-517")
    chars: dict[str, CharacteristicSpec] = {}
    table = r.get("gatt.characteristics", dict)
    for key in need["chars"]:
        if key not in table:
            raise r.err(f"gatt.characteristics.{key}", "is missing",
                        hint=f"A {protocol} profile needs the characteristics {', '.join(need['chars'])}")
    seen_uuids: dict[str, str] = {}
    for key in table:
        u = r.uuid(f"gatt.characteristics.{key}.uuid")
        if u in seen_uuids:
            raise r.err(f"gatt.characteristics.{key}.uuid", f"repeats the UUID of {seen_uuids[u]!r}")
        seen_uuids[u] = key
        props = r.get(f"gatt.characteristics.{key}.properties", list)
        bad = [x for x in props if x not in _PROPS]
        if bad or not props:
            raise r.err(f"gatt.characteristics.{key}.properties", f"unknown or no properties {bad or props!r}",
                        hint=f"Use some of: {', '.join(sorted(_PROPS))}")
        chars[key] = CharacteristicSpec(key, u, tuple(props))
    order = {"little": "<", "big": ">"}.get(r.get("packet.byteorder", str, "little"))
    if order is None:
        raise r.err("packet.byteorder", "must be 'little' or 'big'")
    header = r.dtype("packet.header", order)
    sample = r.dtype("packet.sample", order)
    for f in need["header"]:
        if f not in (header.names or ()):
            raise r.err("packet.header", f"has no field {f!r}", hint=f"A {protocol} header needs {', '.join(need['header'])}")
    for f in ("x", "y", "z"):
        if f not in (sample.names or ()):
            raise r.err("packet.sample", f"has no field {f!r}", hint="A sample needs x, y and z")
    max_samples = r.get("packet.max_samples", int)
    if max_samples < 1:
        raise r.err("packet.max_samples", "must be at least 1")
    if protocol == "impactlab-v1":
        size = header.itemsize + max_samples * sample.itemsize
        if size > mtu - 3:
            raise r.err("packet.max_samples", f"{max_samples} samples make {size}-byte packets, more than the "
                        f"{mtu - 3} bytes an MTU of {mtu} carries",
                        hint=f"Use at most {(mtu - 3 - header.itemsize) // sample.itemsize}")
        if max_samples > np.iinfo(header["n"]).max:
            raise r.err("packet.max_samples", f"{max_samples} does not fit the header field n ({header['n']})")
    info = r.dtype("info.fields", order) if need["info"] else None
    if info is not None:
        for f in need["info"]:
            if f not in (info.names or ()):
                raise r.err("info.fields", f"has no field {f!r}", hint=f"info needs {', '.join(need['info'])}")
    marker = None
    labels: dict[int, str] = {}
    if "marker" in chars:
        marker = r.dtype("marker.fields", order)
        for f in ("sample", "code"):
            if f not in (marker.names or ()):
                raise r.err("marker.fields", f"has no field {f!r}")
        raw = r.get("marker.labels", dict, {})
        for k, v in raw.items():
            if not (k.isdigit() and isinstance(v, str)):
                raise r.err(f"marker.labels.{k}", "must map a code number to a label string")
            labels[int(k)] = v
    types: dict[str, int] = {}
    if need["types"]:
        r.get("packet.types", dict)
        for t in need["types"]:
            types[t] = r.get(f"packet.types.{t}", int)
        if len(set(types.values())) != len(types):
            raise r.err("packet.types", f"type codes must differ, got {types}")
    commands: dict[str, int | bytes] = {}
    ctable = r.get("commands", dict)
    for c in need["commands"]:
        if c not in ctable:
            raise r.err(f"commands.{c}", "is missing")
    for c, v in ctable.items():
        if protocol == "impactlab-v1":
            v = r.get(f"commands.{c}", int)
            if not 0 <= v <= 255:
                raise r.err(f"commands.{c}", f"opcode {v} is not a byte")
            commands[c] = v
        elif isinstance(v, list):
            if not v or not all(isinstance(b, int) and not isinstance(b, bool) and 0 <= b <= 255 for b in v):
                raise r.err(f"commands.{c}", "must be a list of bytes 0-255")
            commands[c] = bytes(v)
        else:
            commands[c] = r.get(f"commands.{c}", int)
    options: dict[str, Any] = {}
    if protocol == "polar-pmd":
        options["measurement_type"] = r.get("packet.measurement_type", int)
        options["delta_flag"] = r.get("packet.delta_flag", int)
        options["timestamp_epoch"] = r.get("packet.timestamp_epoch", str)
        if sample.itemsize != 6 or any(sample[n] != np.dtype(order + "i2") for n in "xyz"):
            raise r.err("packet.sample", "a polar-pmd ACC sample must be three i2 fields x, y, z")
    battery_service = r.uuid("gatt.battery.service", None)
    battery_level = r.uuid("gatt.battery.level", None)
    if (battery_service is None) != (battery_level is None):
        raise r.err("gatt.battery", "needs both service and level UUIDs, or neither")
    return SensorProfile(
        id=r.get("sensor.id", str),
        protocol=protocol,
        path=path,
        name_prefix=r.get("sensor.name_prefix", str),
        sample_rate_hz=fs,
        range_g=rng,
        counts_per_g=cpg,
        vertical_axis=axis,
        mtu=mtu,
        live_only=r.get("sensor.live_only", bool, False),
        service_uuid=r.uuid("gatt.service"),
        characteristics=chars,
        battery_service=battery_service,
        battery_level=battery_level,
        header_dtype=header,
        sample_dtype=sample,
        info_dtype=info,
        marker_dtype=marker,
        max_samples=max_samples,
        packet_types=types,
        marker_labels=labels,
        commands=commands,
        options=options,
    )
