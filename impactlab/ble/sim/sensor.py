"""A simulated sensor that plays a recording through a profile, with fault injection.

:class:`SimulatedSensor` is the firmware side of a profile: it answers ``info`` and ``battery``
reads, obeys the ``control`` commands (start/stop stream, ``sync_from``, ``erase_acked``, markers;
for Polar the PMD start/stop ops) and sends packets built by the same profile the host decodes
with. Faults are injected on the air side (:class:`Faults`): dropped and duplicated notifications,
link losses at chosen or random packets, refused commands.

:func:`simulated_sensor` starts a private ``dbus-daemon``, the fake BlueZ
(:mod:`impactlab.ble.sim.fakebluez`) and one sensor, and points ``DBUS_SYSTEM_BUS_ADDRESS`` at it, so
the unmodified bleak in this process finds the sensor as if it were in range (tests use it to
look into the sensor). ``--simulate FILE`` of ``impactlab scan``, ``stream`` and ``sync`` runs
the same in a child process (:mod:`impactlab.ble.sim.process`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import struct
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np

from ...errors import ConfigError, DataError
from ...io._common import RecordingSource
from ...recording import Recording
from ..decode import DecodeError, encode_end_of_sync, encode_info, encode_marker, encode_packets, packet_samples
from ..pmd import parse_settings
from ..profile import SensorProfile, load_profile
from .bus import PrivateBus
from .fakebluez import FakeBluez
from .gatt import AttError, GattLayout, Link
from .polar import check_start, pmd_frames

__all__ = ["Faults", "LinkModel", "SimulatedSensor", "Simulation", "simulated_sensor"]

log = logging.getLogger(__name__)
T = TypeVar("T")

#: ATT application error codes the simulated firmware uses.
ATT_REFUSED = 0x80
ATT_UNKNOWN_COMMAND = 0x81
ATT_BAD_LENGTH = 0x82
ATT_BUSY = 0x83
ATT_ERASE_REFUSED = 0x84  # not this connection's erase token, or beyond the packets held
#: ``info.status`` bit: the sensor's clock was set (``session_start_us`` is valid)
STATUS_CLOCK_SET = 0x01


@dataclass
class Faults:
    """Faults injected by the simulated sensor.

    Attributes
    ----------
    drop_rate : float
        Probability (0-1) that a data notification is lost on the air.
    duplicate_rate : float
        Probability (0-1) that a data notification arrives twice.
    link_loss : int
        Lose the link this many times, each at a random data packet.
    link_loss_at : tuple of int
        Lose the link right after the data notification with this running number (1-based,
        counted over the sensor's lifetime), in addition to ``link_loss``.
    drop_seqs : frozenset of int
        Stored packets lost the first time they are sent (deterministic drops).
    refuse : dict of str to int
        Command name → how many times to refuse it with ATT error 0x80 (-1: always).
    vanish_on_link_loss : bool
        After an injected link loss the sensor stops advertising (carried out of range), so
        reconnecting fails.
    seed : int
        Seed of the fault generator.
    """

    drop_rate: float = 0.0
    duplicate_rate: float = 0.0
    link_loss: int = 0
    link_loss_at: tuple[int, ...] = ()
    drop_seqs: frozenset[int] = frozenset()
    refuse: dict[str, int] = field(default_factory=dict)
    vanish_on_link_loss: bool = False
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("drop_rate", "duplicate_rate"):
            v = getattr(self, name)
            if not 0.0 <= v < 1.0:
                raise DataError(f"{name.replace('_', '-')} must be in [0, 1), got {v}", key=name)
        if self.link_loss < 0:
            raise DataError("link-loss must be >= 0", key="link_loss")


@dataclass(frozen=True)
class LinkModel:
    """The pace of a simulated radio link.

    Attributes
    ----------
    bitrate_bps : float
        Payload throughput in bit/s (e.g. 1.4e6 for 2M PHY with Data Length Extension, about
        0.27e6 for 1M PHY without it).
    latency_s : float
        Time from a request to its first notification in s (a connection interval or two).
    """

    bitrate_bps: float
    latency_s: float = 0.0

    @classmethod
    def parse(cls, text: str) -> LinkModel:
        """``"1.4mbps,30ms"`` → LinkModel(1.4e6, 0.03); units bps/kbps/mbps and s/ms."""
        import re

        m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(bps|kbps|mbps)\s*(?:,\s*(\d+(?:\.\d+)?)\s*(ms|s))?\s*", text.lower())
        if not m or float(m.group(1)) <= 0:
            raise ConfigError(f"link {text!r} is not like 1.4mbps,30ms (throughput bps/kbps/mbps, latency ms/s)",
                              key="simulate-link")
        bps = float(m.group(1)) * {"bps": 1.0, "kbps": 1e3, "mbps": 1e6}[m.group(2)]
        lat = 0.0 if m.group(3) is None else float(m.group(3)) * (1e-3 if m.group(4) == "ms" else 1.0)
        return cls(bps, lat)


@dataclass
class FaultLog:
    """What the simulated sensor did to the data (for tests and the CLI summary)."""

    sent: int = 0
    dropped_live: list[int] = field(default_factory=list)
    dropped_stored: list[int] = field(default_factory=list)
    duplicated: int = 0
    link_losses: int = 0
    refused: list[str] = field(default_factory=list)
    erased_upto: int = -1
    #: ``set_time`` values received (Unix µs)
    time_set: list[int] = field(default_factory=list)
    #: stored-packet requests answered (``sync_from`` and ``sync_bitmap``)
    requests: int = 0
    #: Polar: every control-point op answered, as ``(op, measurement type, status)``
    pmd_ops: list[tuple[int, int, int]] = field(default_factory=list)


class SimulatedSensor:
    """A BLE sensor playing ``recording`` through ``profile`` (a :class:`~impactlab.ble.sim.gatt.Peripheral`).

    Parameters
    ----------
    profile : SensorProfile
        ``impactlab-v1`` (live and sync) or ``polar-pmd`` (live only).
    recording : Recording or RecordingSource
        What the sensor measured; impactlab-v1 needs a whole-number rate in Hz. From a
        RecordingSource (:func:`impactlab.io.open_recording`) an impactlab-v1 sensor reads it
        chunk by chunk and keeps only its packets (:attr:`recording` is then None).
    address : str
        Bluetooth address, e.g. ``"F0:1A:B2:00:00:01"``.
    name : str, optional
        Advertised name (default: the profile's prefix and the address's last 4 hex digits).
    faults : Faults, optional
        Fault injection.
    speed : float
        Live playback speed: 1 is real time, 10 ten times faster, 0 as fast as the link allows.
    battery : int
        Battery level in percent.
    session_id : int
        Recording session number reported in ``info``.
    first_seq : int
        First stored packet still held (packets before it were erased earlier).
    markers : list of (int, int)
        ``(sample index, code)`` button presses sent on ``marker`` while streaming live.
    mtu : int, optional
        ATT MTU the link negotiates, in bytes (default: the profile's ``mtu``, else 247).
    clock_error : float
        Polar: the sensor's sample spacing by its own clock is ``(1 + clock_error)`` times nominal.
    link : LinkModel, optional
        The radio's pace (throughput and latency); None: as fast as the fake bus carries.
    clock_set : bool
        impactlab-v1: whether the sensor's clock was set before this session (else ``info``
        reports ``session_start_us = 0`` until the host's ``set_time``; the session is then taken
        to have recorded until that moment).
    """

    def __init__(
        self, profile: SensorProfile, recording: Recording | RecordingSource, *, address: str = "F0:1A:B2:00:00:01",
        name: str | None = None,
        faults: Faults | None = None, speed: float = 1.0, battery: int = 87, session_id: int = 1, first_seq: int = 0,
        markers: list[tuple[int, int]] | None = None, mtu: int | None = None, clock_error: float = 0.0,
        link: LinkModel | None = None, clock_set: bool = True,
    ) -> None:
        self.profile = profile
        self.address = address.upper()
        tail = self.address.replace(":", "")[-4:]
        self.name = name or (f"{profile.name_prefix}{tail}" if profile.protocol == "impactlab-v1"
                             else f"{profile.name_prefix} {self.address.replace(':', '')[-8:]}")
        self.service_uuids = [profile.service_uuid] + ([profile.battery_service] if profile.battery_service else [])
        self.faults = faults or Faults()
        self.speed = speed
        self.battery = battery
        self.session_id = session_id
        self.markers = sorted(markers or [])
        self.advertising = True
        self.mtu = int(mtu or profile.mtu or 247)
        self.link_model = link
        self._air_free = 0.0
        self.log = FaultLog()
        self._rng = np.random.default_rng(self.faults.seed)
        self._refuse = dict(self.faults.refuse)
        self.link: Link | None = None
        self.token = 0
        self._live_t0: float | None = None  # loop time the live playback started
        self._live_next = 0  # next live packet to play
        self._markers_left = list(self.markers)
        self._task: asyncio.Task[None] | None = None
        self._live_task: asyncio.Task[None] | None = None
        self._sent_once: set[int] = set()
        if isinstance(recording, RecordingSource) and profile.protocol != "impactlab-v1":
            recording = recording.read()  # Polar frames are resampled from the whole recording
        self.meta = recording.meta
        #: the recording played (None when built from a RecordingSource: its samples are not kept)
        self.recording: Recording | None = recording if isinstance(recording, Recording) else None
        fs = float(self.meta.sample_rate_hz)
        self.fs = fs
        layout: list[tuple[str, str, list[str]]] = [
            (c.key, c.uuid, list(c.properties)) for c in profile.characteristics.values()
        ]
        services = [(profile.service_uuid, layout)]
        if profile.battery_service and profile.battery_level:
            services.append((profile.battery_service, [("battery", profile.battery_level, ["read", "notify"])]))
        self.layout = GattLayout(services)
        self._live: list[bytes] | None = None
        if profile.protocol == "impactlab-v1":
            if abs(fs - round(fs)) > 1e-9 or not 1 <= fs <= 65535:
                raise DataError(f"the simulated {profile.id} sensor needs a whole-number rate in Hz, the recording has {fs:g} Hz",
                                path=self.meta.source, hint="Resample the recording or simulate another profile")
            self.packet_n = packet_samples(profile, self.mtu)  # fewer samples per packet below MTU 247
            chunks = recording.chunks() if isinstance(recording, RecordingSource) else iter([recording])
            self.start_ns, runs, self._span, samp = _sample_arrays(profile, chunks, fs,
                                                                   getattr(recording, "n_rows_hint", None))
            # the samples are dropped once packed: a 100 Hz day is 227,369 packets (62 MB) but
            # 8.6 M samples (52 MB as int16, 207 MB as int64 counts, 69 MB more for their index)
            self.stored = encode_packets(profile, samp, None, runs=runs, kind="stored", max_samples=self.packet_n)
            del samp
            self.first_held = max(0, first_seq)
            self.clock_set = clock_set
            self.manufacturer_data = {0xFFFF: self.advert()}
        else:  # Polar: normal mode until SDK mode is started; frames as the profile's normal START asks
            assert self.recording is not None
            t = self.recording.data.index.as_unit("ns").asi8
            self.start_ns = int(t[0]) if len(t) else 0
            self.clock_error = clock_error
            self.sdk_mode = False
            start = profile.command("start_stream")
            assert isinstance(start, bytes)
            self.pmd_settings = parse_settings(start[2:])
            self.live_rate = self.pmd_settings["sample_rate"][0]
            self.stored = []
            self.live, self.live_first_sample = pmd_frames(profile, self.recording, rate_hz=self.live_rate,
                                                           range_g=self.pmd_settings["range"][0], clock_error=clock_error)
            self.first_held = 0
            self.manufacturer_data = {0x006B: b"\x01"}
        n_live = len(self.live) if profile.protocol == "polar-pmd" else len(self.stored)
        picks = set(self.faults.link_loss_at)
        if self.faults.link_loss and n_live > 2:
            picks |= set(self._rng.choice(np.arange(1, n_live - 1), size=min(self.faults.link_loss, n_live - 2),
                                          replace=False).tolist())
        self.link_loss_points = sorted(picks)

    # -- packet material
    @property
    def live(self) -> list[bytes]:
        """The live packets (impactlab-v1: the stored packets with the live type, made when first asked for)."""
        if self._live is None:
            p = self.profile
            hd = p.header_dtype
            off = hd.fields["type"][1]  # type: ignore[index]
            kind = bytes([p.packet_types["live"]])
            self._live = [b[:off] + kind + b[off + 1:] for b in self.stored]
            fs_off = hd.fields["first_sample"][1]  # type: ignore[index]
            self.live_first_sample = [int.from_bytes(b[fs_off:fs_off + 4], "little") for b in self.stored]
        return self._live

    @live.setter
    def live(self, packets: list[bytes]) -> None:
        self._live = packets

    @property
    def n_stored(self) -> int:
        """Stored packets the sensor still holds."""
        return max(0, len(self.stored) - self.first_held)

    def info_bytes(self) -> bytes:
        """The ``info`` value."""
        p = self.profile
        return encode_info(p, {
            "fw_major": 1, "fw_minor": 0, "sample_rate_hz": int(round(self.fs)),
            "range_g": int(round(self.meta.range_g or p.range_g)), "counts_per_g": int(p.counts_per_g),
            "status": STATUS_CLOCK_SET if self.clock_set else 0,
            "session_id": self.session_id, "stored_packets": self.n_stored, "first_seq": self.first_held,
            "session_start_us": self.start_ns // 1000 if self.clock_set else 0,
        })

    def advert(self) -> bytes:
        """Manufacturer data (company 0xFFFF): ``version u8, battery u8, status u8, session_id u32, unsynced u32``.

        Status bits: 0 unsynced data present, 1 recording, 2 clock set.
        """
        unsynced = self.n_stored
        status = (1 if unsynced else 0) | 2 | (4 if self.clock_set else 0)
        return struct.pack("<BBBII", 1, self.battery, status, self.session_id, unsynced)

    # -- Peripheral interface (on the fake's loop)
    def on_connect(self, link: Link) -> None:
        self.link = link
        self.token = int(self._rng.integers(1, 1 << 32))  # this connection's erase token

    def on_disconnect(self) -> None:
        self.link = None
        for t in (self._task, self._live_task):
            if t is not None:
                t.cancel()
        self._task = self._live_task = None

    def read(self, key: str) -> bytes:
        if key == "info":
            return self.info_bytes()
        if key == "battery":
            return bytes([self.battery])
        if key == "control" and self.profile.protocol == "polar-pmd":
            features = 1 << self.profile.options["measurement_type"] | 1 << 9  # ACC and SDK mode
            return bytes([0x0F]) + int(features).to_bytes(2, "little")
        raise AttError(0x02)  # read not permitted

    def notify_changed(self, key: str, on: bool) -> None:
        return None

    def write(self, key: str, data: bytes) -> None:
        if key != "control" or not data:
            raise AttError(0x03)  # write not permitted
        if self.profile.protocol == "polar-pmd":
            self._pmd_command(data)
            return
        cmds = {v: k for k, v in self.profile.commands.items()}
        name = cmds.get(data[0])
        if name is None:
            raise AttError(ATT_UNKNOWN_COMMAND)
        left = self._refuse.get(name, 0)
        if left:
            self._refuse[name] = left - 1 if left > 0 else left
            self.log.refused.append(name)
            raise AttError(ATT_REFUSED)
        payload = data[1:]
        if name == "sync_bitmap":
            if not 5 <= len(payload) <= self.mtu - 3 - 1:
                raise AttError(ATT_BAD_LENGTH)
        else:
            want = {"sync_from": 8, "erase_acked": 8, "set_marker": 1, "set_time": 8}.get(name, 0)
            if len(payload) != want:
                raise AttError(ATT_BAD_LENGTH)
        loop = asyncio.get_running_loop()
        if name == "start_stream":
            if self._live_task is None:
                self._live_task = loop.create_task(self._play_live())
        elif name == "stop_stream":
            if self._live_task is not None:
                self._live_task.cancel()
                self._live_task = None
        elif name == "sync_from":
            if self._task is not None:
                self._task.cancel()
            start, count = struct.unpack("<II", payload)
            end = len(self.stored) if count == 0 else min(len(self.stored), start + count)
            self.log.requests += 1
            self._task = loop.create_task(self._play_stored(range(start, end)))
        elif name == "sync_bitmap":
            if self._task is not None:
                self._task.cancel()
            (first,) = struct.unpack_from("<I", payload)
            seqs = first + np.flatnonzero(np.unpackbits(np.frombuffer(payload[4:], np.uint8), bitorder="little"))
            self.log.requests += 1
            self._task = loop.create_task(self._play_stored(seqs[seqs < len(self.stored)].tolist()))
        elif name == "sync_abort":
            if self._task is not None:
                self._task.cancel()
                self._task = None
        elif name == "erase_acked":
            upto, token = struct.unpack("<II", payload)
            # only with this connection's token (issued in end_of_sync), only packets the sensor holds
            if token != self.token or upto >= len(self.stored):
                self.log.refused.append(name)
                raise AttError(ATT_ERASE_REFUSED)
            self.first_held = max(self.first_held, upto + 1)
            self.log.erased_upto = max(self.log.erased_upto, upto)
            self.manufacturer_data[0xFFFF] = self.advert()
        elif name == "set_time":
            (unix_us,) = struct.unpack("<q", payload)
            self.log.time_set.append(unix_us)
            if not self.clock_set:  # the session's start becomes known: now minus what was recorded since
                span_ns = int(round(self._span * 1e9 / self.fs))
                self.start_ns = unix_us * 1000 - span_ns
                self.clock_set = True
                self.manufacturer_data[0xFFFF] = self.advert()
        elif name == "set_marker" and self.link is not None:
            self.link.notify("marker", encode_marker(self.profile, 0, payload[0]))

    def _pmd_command(self, data: bytes) -> None:
        p = self.profile
        op = data[0]
        mtype = data[1] if len(data) > 1 else 0xFF
        name = next((k for k, v in p.commands.items() if v == data), None) or next(
            (k for k, v in p.commands.items() if isinstance(v, bytes) and data[:2] == v[:2]), None)
        left = self._refuse.get(name or "", 0)
        status = 0
        if left:
            self._refuse[name or ""] = left - 1 if left > 0 else left
            self.log.refused.append(name or "")
            status = 5  # INVALID PARAMETER
        elif op not in (1, 2, 3):
            status = 1
        elif mtype not in (p.options["measurement_type"], 9):
            status = 2
        elif mtype == 9 and op in (2, 3):  # SDK mode on / off
            status = 6 if self.sdk_mode == (op == 2) else 0
            self.sdk_mode = op == 2
        elif op == 2:
            try:
                settings = parse_settings(data[2:])
            except DecodeError:
                settings = {}
            status = check_start(settings, sdk_mode=self.sdk_mode, mtu=self.mtu, min_mtu=p.mtu)
            if status == 0 and settings != self.pmd_settings:
                self.pmd_settings = settings
                self.live_rate = settings["sample_rate"][0]
                assert self.recording is not None
                self.live, self.live_first_sample = pmd_frames(p, self.recording, rate_hz=self.live_rate,
                                                               range_g=settings["range"][0], clock_error=self.clock_error)
                self._live_t0, self._live_next = None, 0
        loop = asyncio.get_running_loop()
        if status == 0 and mtype == p.options["measurement_type"]:
            if op == 2 and self._live_task is None:
                self._live_task = loop.create_task(self._play_live())
            elif op == 3 and self._live_task is not None:
                self._live_task.cancel()
                self._live_task = None
        reply = bytes([0xF0, op, mtype, status, 0])
        self.log.pmd_ops.append((op, mtype, status))
        if status == 0 and op == 2 and mtype == p.options["measurement_type"]:
            # START response carries FACTOR (setting 5, float32), as Polar's sensors do: the
            # simulated 0x80 delta frames hold mG, i.e. g = count x 0.001 (BlePMDClient/AccData.kt).
            reply += bytes([5, 1]) + struct.pack("<f", 1e-3)
        if self.link is not None:
            self.link.notify("control", reply)

    # -- data
    async def _send(self, key: str, pkt: bytes, *, seq: int | None) -> bool:
        """Send one data notification through the fault model; False when the link went down."""
        link = self.link
        if link is None or not link.up:
            return False
        f = self.faults
        self.log.sent += 1
        n = self.log.sent
        drop = False
        if seq is not None and key == "sync_data" and seq in f.drop_seqs and seq not in self._sent_once:
            drop = True
        elif f.drop_rate and self._rng.random() < f.drop_rate:
            drop = True
        if seq is not None and key == "sync_data":
            self._sent_once.add(seq)
        if drop:
            (self.log.dropped_stored if key == "sync_data" else self.log.dropped_live).append(-1 if seq is None else seq)
        else:
            link.notify(key, pkt)
            if f.duplicate_rate and self._rng.random() < f.duplicate_rate:
                link.notify(key, pkt)
                self.log.duplicated += 1
        if self.link_model is not None:  # the radio's pace: a dropped packet took its air time too
            loop = asyncio.get_running_loop()
            now = loop.time()
            self._air_free = max(self._air_free, now) + len(pkt) * 8 / self.link_model.bitrate_bps
            if self._air_free - now > 0.002:
                await asyncio.sleep(self._air_free - now)
        if n % 16 == 0:
            await link.drain()
        if self.link_loss_points and n >= self.link_loss_points[0]:
            self.link_loss_points.pop(0)
            await link.drain()
            self.log.link_losses += 1
            if f.vanish_on_link_loss:
                self.advertising = False
            link.drop()
            return False
        return True

    async def _play_stored(self, seqs: Sequence[int]) -> None:
        """Send the stored packets ``seqs`` (ascending) still held, then one end_of_sync."""
        if self.link_model is not None and self.link_model.latency_s:
            await asyncio.sleep(self.link_model.latency_s)  # the request's trip and the first packet's
        last = seqs[0] - 1 if len(seqs) else -1
        for seq in seqs:
            if seq < self.first_held:
                continue
            if not await self._send("sync_data", self.stored[seq], seq=seq):
                return
            last = seq
        if self.link is not None:
            self.link.notify("sync_data", encode_end_of_sync(self.profile, last, self.token))
            await self.link.drain()
        self._task = None

    async def _play_live(self) -> None:
        """Play the live packets in (scaled) real time; a restart (after a link loss) goes on from now.

        The recording runs on while nobody listens: at speed > 0, packets that fell due while the
        link was down are never sent (the host counts them as lost); at speed 0 it resumes where it was.
        """
        loop = asyncio.get_running_loop()
        if self._live_t0 is None:
            self._live_t0 = loop.time()
        t0 = self._live_t0
        v1 = self.profile.protocol == "impactlab-v1"
        mk = self._markers_left
        for k in range(self._live_next, len(self.live)):
            if self.speed > 0:
                due = t0 + self.live_first_sample[k] / (self.fs if v1 else self.live_rate) / self.speed
                delay = due - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                elif delay < -0.5:  # measured while the link was down
                    self._live_next = k + 1
                    continue
            if v1:
                while mk and mk[0][0] <= self.live_first_sample[k] and self.link is not None:
                    s, code = mk.pop(0)
                    self.link.notify("marker", encode_marker(self.profile, s, code))
            self._live_next = k + 1
            if not await self._send("stream", self.live[k], seq=k if v1 else None):
                return
        self._live_task = None


def _sample_arrays(profile: SensorProfile, chunks: Iterator[Recording], fs: float,
                   n_hint: int | None) -> tuple[int, tuple[np.ndarray, np.ndarray], int, np.ndarray]:
    """``(start_ns, runs, span, samples)`` of a recording read chunk by chunk.

    ``runs`` are the position and sample index of each run of consecutive samples (for
    :func:`~impactlab.ble.decode.encode_packets`), ``span`` the samples the session spans, and
    ``samples`` are in the profile's sample dtype (counts clipped to its range): the whole
    recording is never held as floats nor with a per-sample index, only these and one chunk.
    """
    sdt = profile.sample_dtype
    samp = np.empty(max(int(n_hint or 0), 1), sdt)
    n = 0
    start_ns: int | None = None
    last = -2  # index of the previous sample
    run_pos: list[np.ndarray] = []
    run_first: list[np.ndarray] = []
    for chunk in chunks:
        data = chunk.data
        m = len(data)
        if not m:
            continue
        t = data.index.as_unit("ns").asi8
        if start_ns is None:
            start_ns = int(t[0])
        if n + m > samp.size:  # the hint was short: grow by half
            samp = np.resize(samp, max(n + m, samp.size + samp.size // 2))
        idx = np.rint((t - start_ns) * fs / 1e9).astype(np.int64)
        br = np.flatnonzero(np.diff(np.r_[last, idx]) != 1)  # runs starting in this chunk
        run_pos.append(n + br)
        run_first.append(idx[br])
        last = int(idx[-1])
        for ax in "xyz":
            lim = np.iinfo(sdt[ax])
            samp[ax][n:n + m] = np.clip(np.rint(data[ax].to_numpy(np.float64) * profile.counts_per_g), lim.min, lim.max)
        n += m
    runs = (np.concatenate(run_pos or [np.zeros(0, np.int64)]), np.concatenate(run_first or [np.zeros(0, np.int64)]))
    return start_ns or 0, runs, last + 1 if n else 0, samp[:n]


@dataclass
class Simulation:
    """A running simulation: the sensor, the fake BlueZ and the private bus."""

    sensor: SimulatedSensor
    fake: FakeBluez
    bus: PrivateBus

    @property
    def address(self) -> str:
        """The simulated sensor's Bluetooth address."""
        return self.sensor.address

    @property
    def timezone(self) -> str | None:
        """The time zone of the recording played."""
        return self.sensor.meta.timezone

    @property
    def vertical_axis(self) -> str | None:
        """The vertical axis of the recording played."""
        return self.sensor.meta.vertical_axis

    def run(self, fn: Callable[[], T]) -> T:
        """Call ``fn()`` on the fake's loop (safe access to the sensor's state)."""
        return self.fake.run(fn)


@contextlib.contextmanager
def simulated_sensor(
    source: str | os.PathLike[str] | Recording, *, profile: str | SensorProfile = "impactlab-hip-v1",
    faults: Faults | None = None, speed: float = 1.0, address: str = "F0:1A:B2:00:00:01",
    read_options: dict[str, object] | None = None, **sensor_kw: object,
) -> Iterator[Simulation]:
    """Run a simulated sensor in range of this process's bleak for the duration of a ``with``.

    Starts a private ``dbus-daemon`` and the fake BlueZ, publishes one :class:`SimulatedSensor`
    and sets ``DBUS_SYSTEM_BUS_ADDRESS`` (restored on exit). Everything is stopped on exit, also
    after an error or Ctrl-C.

    Parameters
    ----------
    source : path or Recording
        The recording the sensor plays (any file ``impactlab analyze`` reads).
    profile : str or SensorProfile
        Profile name or object.
    faults : Faults, optional
        Fault injection.
    speed : float
        Live playback speed (1 = real time, 0 = as fast as possible).
    address : str
        The sensor's address.
    read_options : dict, optional
        ``tz``, ``vertical_axis``, ``units`` for reading ``source`` (as ``impactlab analyze``).
    **sensor_kw
        More :class:`SimulatedSensor` options.

    Raises
    ------
    DeviceError
        ``dbus-daemon`` is missing or did not start.
    """
    prof = profile if isinstance(profile, SensorProfile) else load_profile(profile)
    rec: Recording | RecordingSource
    if isinstance(source, Recording):
        rec = source
    else:
        from ...io import open_recording

        rec = open_recording(Path(source), **(read_options or {}))  # type: ignore[arg-type]
    sensor = SimulatedSensor(prof, rec, address=address, faults=faults, speed=speed, **sensor_kw)  # type: ignore[arg-type]
    del rec  # an impactlab-v1 sensor keeps its packets, not the samples
    old = os.environ.get("DBUS_SYSTEM_BUS_ADDRESS")
    vlog = logging.getLogger("bleak.backends.bluezdbus.version")
    old_level = vlog.level
    with PrivateBus() as bus:
        with FakeBluez(bus.address) as fake:
            fake.add(sensor)
            os.environ["DBUS_SYSTEM_BUS_ADDRESS"] = bus.address
            vlog.setLevel(logging.ERROR)  # no bluetoothctl beside a fake BlueZ: bleak's version warning is noise
            try:
                yield Simulation(sensor, fake, bus)
            finally:
                vlog.setLevel(old_level)
                if old is None:
                    os.environ.pop("DBUS_SYSTEM_BUS_ADDRESS", None)
                else:
                    os.environ["DBUS_SYSTEM_BUS_ADDRESS"] = old
