"""Lossless, resumable download of a sensor's stored packets into the client store (docs/cli.md).

The flow (impactlab-v1 sensors):

1. read ``info``: session, rate, scale, first held sequence number and stored packet count;
2. ask the store what it already holds for this sensor session (``sync_last_seq``, ``sync_gaps``);
3. request the missing sequence ranges in windows (``sync_from(seq, count)``), receive the
   ``sync_data`` notifications until ``end_of_sync``, and commit each window to the store in one
   transaction (duplicates ignored by the store and here);
4. re-request what is still missing (dropped notifications) as bitmaps (``sync_bitmap``: one
   request names up to ``window`` missing packets among the next 1,912 at MTU 247), so loss
   costs a few round trips per window, not one per lost packet;
5. on a link loss, reconnect with backoff and resume from what the store has committed;
6. when everything the sensor holds is committed, tell it to erase up to that sequence number
   (never more), then decode every stored packet of the session into a Recording and import it.

A range the sensor no longer holds (erased before it was committed here) is reported as a gap,
never filled.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..config import AnalysisConfig, DetectionConfig
from ..errors import DeviceError, SyncError
from ..io._common import RecordingSource
from ..recording import Recording, RecordingMeta
from .assemble import samples_to_recording
from .client import SensorClient, connect_with_backoff, find_sensor
from .decode import decode_batch, decode_info
from .profile import SensorProfile

__all__ = ["SyncResult", "decode_stored", "stored_source", "sync_sensor"]

log = logging.getLogger(__name__)
_LINK_LOST: Any = object()  # queued by the disconnect callback
#: ``info.status`` bit 0: the sensor's clock is set (its ``session_start_us`` is valid)
STATUS_CLOCK_SET = 0x01


@dataclass
class SyncResult:
    """What a sync did.

    Attributes
    ----------
    client_id, device_id : str
        Store keys (``device_id`` = ``<address>/session-<id>``).
    held : int
        Packets the sensor held when the sync started.
    received : int
        Notifications received (including duplicates and stale re-sends).
    new : int
        Packets committed to the store by this sync.
    duplicates : int
        Notifications ignored because the packet was already committed.
    decode_errors : int
        Malformed notifications (counted, not fatal).
    reconnects : int
        Link losses recovered from.
    rerequests : int
        Ranges requested again after drops.
    requests : int
        Requests sent (``sync_from`` or ``sync_bitmap``; each is one round trip).
    missing : list of (int, int)
        Sequence ranges the sensor no longer holds (reported, never filled).
    last_seq : int
        Highest committed sequence number.
    erased_upto : int or None
        Sequence number the sensor was told to erase up to (None when not erased).
    warnings : list of str
        Problems that did not stop the sync.
    import_result : object
        The store's ImportResult (None when nothing was stored).
    """

    client_id: str
    device_id: str
    held: int = 0
    received: int = 0
    new: int = 0
    duplicates: int = 0
    decode_errors: int = 0
    reconnects: int = 0
    rerequests: int = 0
    requests: int = 0
    missing: list[tuple[int, int]] = field(default_factory=list)
    last_seq: int = -1
    erased_upto: int | None = None
    warnings: list[str] = field(default_factory=list)
    import_result: Any = None
    info: dict[str, int] = field(default_factory=dict)


def _ranges(seqs: np.ndarray) -> list[tuple[int, int]]:
    if not seqs.size:
        return []
    br = np.flatnonzero(np.diff(seqs) != 1)
    starts = np.r_[seqs[0], seqs[br + 1]]
    ends = np.r_[seqs[br], seqs[-1]]
    return [(int(a), int(b)) for a, b in zip(starts, ends, strict=True)]


class _Session:
    def __init__(self, store: Any, client_id: str, profile: SensorProfile, address: str, *, window: int,
                 max_reconnects: int, progress: Callable[[int, int], None] | None, reconnect_attempts: int = 6,
                 scan_s: float = 10.0) -> None:
        self.reconnect_attempts = reconnect_attempts
        self.scan_s = scan_s
        self.store = store
        self.client_id = client_id
        self.profile = profile
        self.address = address
        self.window = window
        self.max_reconnects = max_reconnects
        self.progress = progress
        self.queue: asyncio.Queue[Any] = asyncio.Queue()
        self.sc: SensorClient | None = None
        self.have: set[int] = set()
        self.res: SyncResult | None = None
        hd = profile.header_dtype
        self.type_off = hd.fields["type"][1]  # type: ignore[index]
        self.token_off = hd.fields["first_sample"][1]  # type: ignore[index]  # end_of_sync: the erase token
        self.token: int | None = None
        self.eos = profile.packet_types["end_of_sync"]
        self.bitmap_bytes = 0  # bitmap bytes per sync_bitmap request, from the link's MTU once connected
        self.pending: list[bytes] = []  # received, not yet committed

    def _lost(self) -> None:
        self.queue.put_nowait(_LINK_LOST)

    async def _connect(self) -> SensorClient:
        q: asyncio.Queue[Any] = asyncio.Queue()
        sc = await connect_with_backoff(self.profile, address=self.address, on_disconnect=lambda: q.put_nowait(_LINK_LOST),
                                        attempts=self.reconnect_attempts, scan_timeout=self.scan_s)
        self.queue = q
        await sc.subscribe("sync_data", q.put_nowait)
        self._set_bitmap_size(sc)
        return sc

    async def _info(self, sc: SensorClient) -> dict[str, int]:
        """Set the sensor's clock (``set_time``, every connection) and read ``info``.

        A sensor whose clock was not set when its session began reports ``session_start_us = 0``
        (``status`` bit 0 clear) until it gets the time; ``info`` is then read again.
        """
        info = decode_info(self.profile, await sc.read("info"))
        if "set_time" in self.profile.commands:
            await sc.command("set_time", time.time_ns() // 1000)
            if not info.get("status", STATUS_CLOCK_SET) & STATUS_CLOCK_SET:
                info = decode_info(self.profile, await sc.read("info"))
        return info

    def _set_bitmap_size(self, sc: SensorClient) -> None:
        """Bitmap bytes per ``sync_bitmap``: what one write holds (MTU - 3 - opcode - u32 first seq)."""
        if "sync_bitmap" in self.profile.commands:
            self.bitmap_bytes = max(1, sc.mtu("control") - 3 - 1 - 4)

    async def run(self, first: SensorClient) -> SyncResult:
        self.sc = first
        self._set_bitmap_size(first)
        await first.subscribe("sync_data", self.queue.put_nowait)
        info = await self._info(first)
        device_id = f"{self.address}/session-{info['session_id']}"
        res = self.res = SyncResult(self.client_id, device_id, held=info["stored_packets"], info=info)
        lo, hi = info["first_seq"], info["first_seq"] + info["stored_packets"] - 1
        last = self.store.sync_last_seq(self.client_id, device_id)
        gaps = self.store.sync_gaps(self.client_id, device_id)
        stored = np.arange(0, last + 1, dtype=np.int64)
        if gaps:
            gone = np.concatenate([np.arange(a, b + 1) for a, b in gaps])
            stored = np.setdiff1d(stored, gone)
        self.have = set(stored.tolist())
        if last + 1 < lo:
            res.missing.append((last + 1, lo - 1))
        res.missing.extend((a, min(b, lo - 1)) for a, b in gaps if a < lo)
        want = np.arange(lo, hi + 1, dtype=np.int64)
        todo = np.setdiff1d(want, stored, assume_unique=True)
        stall = 0
        while todo.size:
            before = len(self.have)
            try:
                try:
                    for req in self._plan(todo):
                        await self._request(req)
                finally:
                    self._collect()  # what the last requests left uncommitted
            except _LinkLost:
                res.reconnects += 1
                if res.reconnects > self.max_reconnects:
                    raise SyncError(f"the link dropped {res.reconnects} times; gave up",
                                    last_seq=self.store.sync_last_seq(self.client_id, device_id),
                                    hint="Move the sensor closer and run the same sync again: it resumes") from None
                await self._reconnect(info)
            todo = np.setdiff1d(want, np.fromiter(self.have, np.int64, len(self.have)), assume_unique=True)
            if todo.size:
                res.rerequests += len(_ranges(todo))
            stall = stall + 1 if len(self.have) == before else 0
            if stall >= 5:
                raise SyncError(f"{todo.size} packet(s) never arrived after 5 requests",
                                last_seq=self.store.sync_last_seq(self.client_id, device_id),
                                hint="Run the same sync again: it resumes where it stopped")
        res.last_seq = self.store.sync_last_seq(self.client_id, device_id)
        if info["stored_packets"]:
            assert self.sc is not None
            try:
                if self.token is None:
                    raise DeviceError("no erase token came with the transfer")
                await self.sc.command("erase_acked", hi, self.token)
                res.erased_upto = hi
            except DeviceError as err:
                res.warnings.append(f"the sensor was not told to erase its copy ({err}); the data are safe in the store")
        return res

    async def _reconnect(self, info: dict[str, int]) -> None:
        if self.sc is not None:
            await self.sc.disconnect()
        try:
            self.sc = await self._connect()
        except DeviceError as err:
            assert self.res is not None
            raise SyncError(f"the link dropped and the sensor did not come back ({err.message})",
                            last_seq=self.store.sync_last_seq(self.client_id, self.res.device_id),
                            hint="Bring the sensor close and run the same sync again: it resumes where it stopped") from err
        new = await self._info(self.sc)
        if new["session_id"] != info["session_id"]:
            raise SyncError("the sensor started a new recording session during the sync",
                            hint="Run the sync again to fetch the new session")

    def _plan(self, todo: np.ndarray) -> list[tuple[int, int | bytes]]:
        """Requests for the sequence numbers ``todo`` (sorted), each naming at most ``window`` packets.

        ``(first, count)`` for a contiguous run (``sync_from``); ``(first, bitmap)`` for scattered
        ones (``sync_bitmap``, when the profile has it), so one round trip asks for every
        missing packet among the next ``8 × bitmap_bytes``.
        """
        reqs: list[tuple[int, int | bytes]] = []
        span = 8 * self.bitmap_bytes
        i = 0
        while i < todo.size:
            s0 = int(todo[i])
            j = i + self.window
            if span:
                j = min(j, int(np.searchsorted(todo, s0 + span, "left")))
            chunk = todo[i:j]
            if not span or int(chunk[-1]) - s0 + 1 == chunk.size:  # contiguous: up to the first hole
                run = int(np.flatnonzero(np.diff(np.r_[todo[i:i + self.window], -2]) != 1)[0]) + 1
                reqs.append((s0, run))
                i += run
            else:
                bits = np.zeros(int(chunk[-1]) - s0 + 1, np.uint8)
                bits[chunk - s0] = 1
                reqs.append((s0, np.packbits(bits, bitorder="little").tobytes()))
                i = j
        return reqs

    async def _request(self, req: tuple[int, int | bytes]) -> None:
        """Ask for ``(first, count)`` or ``(first, bitmap)``; commit what arrives until ``end_of_sync`` (or 5 s of silence).

        Whatever arrived is committed also when the sync is cancelled (Ctrl-C) or the link drops.
        """
        assert self.sc is not None and self.res is not None
        res = self.res
        q = self.queue
        buf = self.pending
        while not q.empty():  # stale notifications of an earlier request
            item = q.get_nowait()
            if item is _LINK_LOST:
                raise _LinkLost
            buf.append(item)
        try:
            first, what = req
            if isinstance(what, bytes):
                await self.sc.command("sync_bitmap", first, *what)
            else:
                await self.sc.command("sync_from", first, what)
        except DeviceError as err:
            if not self.sc.is_connected:
                raise _LinkLost from err
            raise
        res.requests += 1
        done = False
        try:
            while not done:
                if q.empty():  # notifications come in bursts: a timed wait only when none is queued
                    try:
                        item = await asyncio.wait_for(q.get(), timeout=5.0)
                    except TimeoutError:
                        break
                else:
                    item = q.get_nowait()
                if item is _LINK_LOST:
                    raise _LinkLost
                res.received += 1
                if len(item) > self.type_off and item[self.type_off] == self.eos:
                    done = True
                    if len(item) >= self.token_off + 4:
                        self.token = int.from_bytes(item[self.token_off:self.token_off + 4], "little")
                else:
                    buf.append(item)
                if len(buf) >= 256:
                    self._collect()
                    buf = self.pending
        except BaseException:  # Ctrl-C (CancelledError), link loss: nothing received is lost
            self._collect()
            raise
        # a short remainder waits for the next request's packets: one commit per 256 packets,
        # not two per request (each commit is a transaction; at 30 % loss requests return ~360)

    def _collect(self) -> None:
        """Commit :attr:`pending` (the notifications received and not yet committed)."""
        buf, self.pending = self.pending, []
        if not buf:
            return
        res = self.res
        assert res is not None
        b = decode_batch(self.profile, buf)
        res.decode_errors += len(b.errors)
        ok = b.type == self.profile.packet_types["stored"]
        seqs = b.seq[ok]
        idx = b.index[ok]
        seqs, first = np.unique(seqs, return_index=True)
        idx = idx[first]
        fresh = np.fromiter((s not in self.have for s in seqs.tolist()), bool, seqs.size)
        res.duplicates += int(len(buf) - len(b.errors) - fresh.sum())
        if fresh.any():
            s_new = seqs[fresh]
            added = self.store.sync_commit_packets(res.client_id, res.device_id, s_new, [buf[i] for i in idx[fresh].tolist()])
            res.new += int(added)
            self.have.update(s_new.tolist())
            if self.progress is not None:
                self.progress(len(self.have), res.held)


class _LinkLost(Exception):
    pass


def decode_stored(profile: SensorProfile, packets: list[tuple[int, bytes]], info: dict[str, int], meta: RecordingMeta) -> Recording:
    """Decode a session's stored packets (from :meth:`Store.sync_packets`) into a Recording.

    Parameters
    ----------
    profile : SensorProfile
        The sensor's profile.
    packets : list of (int, bytes)
        ``(seq, payload)`` in sequence order.
    info : dict
        The sensor's ``info`` (``session_start_us``, ``sample_rate_hz``, ``counts_per_g``).
    meta : RecordingMeta
        Metadata of the result (source, zone, vertical axis...).

    Raises
    ------
    SyncError
        A stored packet cannot be decoded (the store is corrupt).
    """
    b = decode_batch(profile, [p for _, p in packets])
    if b.errors:
        i, err = b.errors[0]
        raise SyncError(f"stored packet seq {packets[i][0]} cannot be decoded ({err})",
                        hint="The store holds a corrupt packet; report this as a bug")
    ok = b.type == profile.packet_types["stored"]
    ns = b.n[ok]
    starts = np.repeat(np.cumsum(b.n) - b.n, b.n)
    keep = np.repeat(ok, b.n)
    counts = b.counts[keep] if starts.size else b.counts
    return samples_to_recording(
        b.first_sample[ok], ns, counts, start_ns=info["session_start_us"] * 1000, fs=float(info["sample_rate_hz"]),
        counts_per_g=float(info.get("counts_per_g") or profile.counts_per_g), meta=meta,
    )


def stored_source(profile: SensorProfile, packets: list[tuple[int, bytes]], info: dict[str, int], meta: RecordingMeta,
                  *, chunk_packets: int = 2048) -> RecordingSource:
    """The stored packets as a :class:`RecordingSource` decoded ``chunk_packets`` at a time (bounded memory).

    A 100 Hz day is 227,369 packets: decoded at once its int64 counts alone are 207 MB, and the
    whole sync peaked at 1.58 GB; in chunks of 2,048 packets (about 13 min) the import streams it
    like a file reader does and the sync peaks at 356 MB (bench/bench_ble_sync.py).
    Chunks are in sequence order, so in time order (``first_sample`` grows with ``seq``).
    """

    def chunks() -> Iterator[Recording]:
        for a in range(0, len(packets), chunk_packets):
            yield decode_stored(profile, packets[a:a + chunk_packets], info, meta)

    fields: dict[str, Any] = dict(profile.header_dtype.fields or {})
    n = sum(p[fields["n"][1]] for _, p in packets) if "n" in fields else None
    return RecordingSource(meta=meta, chunks=chunks, n_rows_hint=n)


async def sync_sensor(
    store: Any, client_id: str, profile: SensorProfile, *, address: str | None = None, name: str | None = None,
    timezone: str = "UTC", vertical_axis: str | None = None, plan: Any = None, markers: Any = None,
    config: AnalysisConfig | DetectionConfig | None = None, window: int = 512, max_reconnects: int = 20,
    progress: Callable[[int, int], None] | None = None, import_recording: bool = True, reconnect_attempts: int = 6,
    scan_s: float = 10.0, **import_kw: Any,
) -> SyncResult:
    """Download a sensor's stored packets into ``store`` and import the session.

    Parameters
    ----------
    store : impactlab.store.Store
        The client store (its BLE journal and ``import_recording``).
    client_id : str
        Whose sensor it is.
    profile : SensorProfile
        An impactlab-v1 profile (Polar sensors are live only).
    address, name : str, optional
        Which sensor (default: the first advertising the profile's service).
    timezone : str
        IANA zone the days are cut in.
    vertical_axis : str, optional
        Default: the profile's.
    plan, markers : optional
        Passed to ``Store.import_recording``.
    config : AnalysisConfig or DetectionConfig, optional
        Method settings of the import (``impactlab sync`` passes the AnalysisConfig its options make).
    window : int
        Packets requested at a time (credit-based flow control).
    max_reconnects : int
        Link losses tolerated before giving up with :class:`~impactlab.errors.SyncError`.
    progress : callable, optional
        ``progress(committed, held)`` after each commit.
    import_recording : bool
        Decode and import the session when the download is complete.
    reconnect_attempts : int
        Connection attempts (exponential backoff from 0.2 s) after each link loss.
    scan_s : float
        How long to look for the sensor on each attempt, in s.

    Returns
    -------
    SyncResult

    Raises
    ------
    DeviceNotFoundError, DeviceError
        Sensor not found, Bluetooth unavailable.
    SyncError
        Gave up after too many link losses (``last_seq`` says what is committed; run again).
    """
    if profile.live_only:
        raise DeviceError(f"{profile.id} sensors stream live only; they cannot be synced",
                          hint="Use impactlab stream --out FILE to record, then impactlab import FILE")
    dev = await find_sensor(profile, address=address, name=name, scan_s=scan_s)
    addr = str(dev.address)
    sess = _Session(store, client_id, profile, addr, window=window, max_reconnects=max_reconnects, progress=progress,
                    reconnect_attempts=reconnect_attempts, scan_s=scan_s)
    first = SensorClient(dev, profile, on_disconnect=sess._lost)
    await first.connect()
    try:
        res = await sess.run(first)
    finally:
        if sess.sc is not None:
            await sess.sc.disconnect()
    if not import_recording:
        return res
    packets = store.sync_packets(client_id, res.device_id)
    if not packets:
        return res
    info = res.info
    meta = RecordingMeta(
        source=f"ble:{addr}", device=f"ble:{profile.id}", sample_rate_hz=float(info["sample_rate_hz"]),
        timezone=timezone, vertical_axis=vertical_axis or profile.vertical_axis,
        range_g=float(info.get("range_g") or profile.range_g), serial=addr, firmware_profile=profile.id,
    )
    rec = stored_source(profile, packets, info, meta)
    res.import_result = store.import_recording(client_id, rec, plan=plan, markers=markers, config=config,
                                               device_id=res.device_id, origin="ble", **import_kw)
    return res
