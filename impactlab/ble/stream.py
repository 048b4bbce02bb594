"""Live streaming: notifications → decoder → assembler → stateful impact detector.

:class:`LiveCounter` is the pure, synchronous part (testable without Bluetooth): it takes raw
notification values, decodes them (malformed ones are counted, never fatal), orders them, builds
Recording chunks and feeds :class:`~impactlab.impacts.ImpactDetector`, which returns exactly the
impacts a whole-recording run finds (docs/method.md §6.5). :func:`stream_sensor` connects with bleak,
starts the stream and drives a :class:`LiveCounter` until a duration is reached or it is stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..config import DetectionConfig
from ..daily import grouped_band_codes
from ..errors import DeviceError
from ..impacts import ImpactDetector
from ..recording import Recording, RecordingMeta
from .assemble import AssemblyStats, PmdAssembler, SeqAssembler, samples_to_recording
from .client import SensorClient, connect_with_backoff, find_sensor
from .decode import DecodeError, Packet, decode_info, decode_marker, decode_packet
from .pmd import PMD_STATUS, decode_acc_frame, parse_control_response, parse_settings
from .profile import SensorProfile

__all__ = ["PREVIEW_BLOCK_S", "PREVIEW_OVERLAP_S", "LiveCounter", "LiveStatus", "stream_sensor"]

#: Block and overlap (s) of the live preview detector: a packet of 38 samples at 50 Hz (0.76 s)
#: plus one block plus the overlap keeps impacts on screen within 2 s of the jump (docs/cli.md).
PREVIEW_BLOCK_S = 0.85
PREVIEW_OVERLAP_S = 0.2


@dataclass
class LiveStatus:
    """A snapshot of a live stream (what the terminal view shows).

    Attributes
    ----------
    elapsed_s : float
        Sensor time covered by the samples received, in s.
    samples, packets, packets_lost, duplicates, decode_errors : int
        Counters.
    impacts : dict of str to int
        ``low``, ``medium``, ``high``, ``total`` settled so far.
    recent_impacts : int
        Impacts in the last 10 s.
    provisional : bool
        True while the stream runs: the counts come from the preview detector (≤ 2 s behind the
        sensor); when it ends they are the exact detector's, equal to ``impactlab analyze``.
    battery : int or None
        Battery level in percent.
    markers : list of (str, str)
        ``(time ISO-8601, label)`` of button presses.
    gaps : list of (int, int)
        Missing ranges (sequence numbers, or sample indices for Polar).
    current_session : str or None
        Kind and length of the session under way (e.g. ``"brisk_walk, 4.5 min"``), from the last
        10 minutes of samples; None when there is none.
    sessions : list of dict
        Sessions of the whole stream (filled when it ends, as ``impactlab analyze`` finds them).
    reconnects : int
        Link losses recovered from.
    ended : str
        Why the stream ended: ``running``, ``duration reached``, ``stopped``, ``link lost`` or
        ``sensor went quiet``.
    last_error : str or None
        Why the stream ended early, or the last malformed packet.
    """

    elapsed_s: float = 0.0
    samples: int = 0
    packets: int = 0
    packets_lost: int = 0
    duplicates: int = 0
    decode_errors: int = 0
    impacts: dict[str, int] = field(default_factory=lambda: {"low": 0, "medium": 0, "high": 0, "total": 0})
    recent_impacts: int = 0
    provisional: bool = False
    reconnects: int = 0
    battery: int | None = None
    markers: list[tuple[str, str]] = field(default_factory=list)
    gaps: list[tuple[int, int]] = field(default_factory=list)
    current_session: str | None = None
    ended: str = "running"
    sessions: list[dict[str, Any]] = field(default_factory=list)
    last_error: str | None = None


class LiveCounter:
    """Decode, order and count a live stream chunk by chunk.

    Parameters
    ----------
    profile : SensorProfile
        The sensor's profile.
    meta : RecordingMeta
        Metadata of the recording being built (rate, zone, vertical axis, range).
    start_ns : int
        Unix time (ns) of sample index 0. impactlab-v1: the session start; Polar: the host time
        the stream started, given to the first sample (later ones follow the sensor's clock).
    config : DetectionConfig
        Method settings; a short ``block_s`` keeps the live lag small without changing results.
    duration_s : float, optional
        Keep only samples within this many seconds of sensor time from index 0.
    keep : bool
        Keep the samples (for ``--out``).
    """

    def __init__(self, profile: SensorProfile, meta: RecordingMeta, *, start_ns: int, config: DetectionConfig,
                 duration_s: float | None = None, keep: bool = True) -> None:
        self.profile = profile
        self.meta = meta
        self.start_ns = start_ns
        self.config = config
        self.fs = float(meta.sample_rate_hz)
        self.duration_s = duration_s
        self.limit = None if duration_s is None else int(round(duration_s * self.fs))
        self.v1 = profile.protocol == "impactlab-v1"
        self.detector: ImpactDetector | None = ImpactDetector(meta, config) if self.v1 else None
        #: the preview: the same method over short blocks (PREVIEW_BLOCK_S, PREVIEW_OVERLAP_S), so
        #: impacts show within 2 s; its peaks differ from the exact detector's by < 0.001 g
        self.preview: ImpactDetector | None = None
        self._preview_parts: list[pd.DataFrame] = []
        self.asm: SeqAssembler | PmdAssembler = (
            SeqAssembler(0) if self.v1 else PmdAssembler(self.fs))
        self.status = LiveStatus()
        self.impacts: list[pd.DataFrame] = []
        self.chunks: list[Recording] = []
        self.keep = keep
        self.last_index = -1
        self.done = False
        self._pmd_anchor: int | None = None
        #: FACTOR from the PMD START response (None until one is seen: delta frames are refused).
        self.pmd_factor: float | None = None

    @property
    def stats(self) -> AssemblyStats:
        """Counters of the assembler."""
        return self.asm.stats

    def feed(self, values: list[bytes]) -> None:
        """Take raw notification values (in arrival order)."""
        runs: list[tuple[int, np.ndarray]] = []
        times: list[np.ndarray] = []
        for v in values:
            try:
                if self.v1:
                    pkt = decode_packet(self.profile, v)
                else:  # Polar PMD per the SDK: FACTOR from START; counts back to the profile's mG
                    f = decode_acc_frame(v, self.pmd_factor, where="PMD notification")
                    pkt = Packet(kind="frame", counts=np.rint(f.g * self.profile.counts_per_g).astype(np.int32),
                                 timestamp_ns=f.timestamp_ns)
            except DecodeError as err:
                self.status.decode_errors += 1
                self.status.last_error = str(err)
                continue
            if self.v1:
                if pkt.kind != "live":
                    continue
                assert isinstance(self.asm, SeqAssembler)
                for p in self.asm.add(pkt):
                    assert p.first_sample is not None
                    runs.append((p.first_sample, p.counts))
            else:
                assert isinstance(self.asm, PmdAssembler)
                for first, counts, dev_t in self.asm.add(pkt):
                    if self._pmd_anchor is None:
                        self._pmd_anchor = int(dev_t[0])
                    runs.append((first, counts))
                    times.append(self.start_ns + (dev_t - self._pmd_anchor))
        self._push(runs, times if not self.v1 else None)

    def flush(self) -> None:
        """End of stream: release held packets and held impacts, then find the sessions.

        With ``keep``, sessions are found on the whole stream exactly as :func:`impactlab.analyze`
        does, and impacts inside vibration-plate sessions are dropped as it drops them, so the final
        counts equal an analysis of the saved recording.
        """
        if isinstance(self.asm, SeqAssembler):
            self._push([(p.first_sample or 0, p.counts) for p in self.asm.flush()])
        if self.detector is not None:
            self.impacts.append(self.detector.flush())
        self._count()
        rec = self.recording()
        if rec is None or not self.keep:
            return
        try:
            from ..sessions import find_sessions
        except ImportError:  # pragma: no cover - sessions are an optional stage
            return
        imp = self.impacts[0] if self.impacts else pd.DataFrame()
        if not len(imp):
            imp = ImpactDetector(self.meta, self.config).flush()
        sessions, imp = find_sessions(rec, imp, config=self.config)
        self.impacts = [imp]
        self._count(all_sessions=sessions)

    def refresh_session(self, window_s: float = 600.0) -> None:
        """Update ``status.current_session`` from the last ``window_s`` of samples."""
        if not self.chunks:
            return
        try:
            from ..sessions import find_sessions
        except ImportError:  # pragma: no cover
            return
        end = self.chunks[-1].data.index[-1]
        parts = []
        for c in reversed(self.chunks):
            parts.append(c.data)
            if c.data.index[0] <= end - pd.Timedelta(seconds=window_s):
                break
        data = pd.concat(parts[::-1]) if len(parts) > 1 else parts[0]
        data = data[data.index > end - pd.Timedelta(seconds=window_s)]
        imp = self.impacts[0] if self.impacts and len(self.impacts[0]) else ImpactDetector(self.meta, self.config).flush()
        imp = imp[imp["time"] > data.index[0]]
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sessions, _ = find_sessions(Recording(data, self.meta, validate=False), imp.reset_index(drop=True),
                                        config=self.config)
        cur = sessions[sessions["end"] >= end - pd.Timedelta(seconds=15)] if len(sessions) else sessions
        if len(cur):
            r = cur.iloc[-1]
            self.status.current_session = f"{r['kind']}, {float(r['duration_s']) / 60:.1f} min"
        else:
            self.status.current_session = None

    def _push(self, runs: list[tuple[int, np.ndarray]], times: list[np.ndarray] | None = None) -> None:
        if not runs or self.done:
            self._sync_status()
            return
        if self.detector is None:
            self.detector = ImpactDetector(self.meta, self.config)
        if self.preview is None:
            self.preview = ImpactDetector(self.meta, self.config.replace(block_s=PREVIEW_BLOCK_S, overlap_s=PREVIEW_OVERLAP_S))
        firsts = np.array([r[0] for r in runs], np.int64)
        ns = np.array([r[1].shape[0] for r in runs], np.int64)
        counts = np.concatenate([r[1] for r in runs])
        t_ns = np.concatenate(times) if times else None
        if self.limit is not None:
            idx = np.repeat(firsts, ns) + (np.arange(int(ns.sum())) - np.repeat(np.cumsum(ns) - ns, ns))
            inside = idx < self.limit
            if not inside.all():
                self.done = True
                counts = counts[inside]
                t_ns = None if t_ns is None else t_ns[inside]
                ns = np.array([int(((idx >= f) & (idx < f + n) & inside).sum()) for f, n in zip(firsts, ns, strict=True)])
        if counts.shape[0] == 0:
            self._sync_status()
            return
        chunk = samples_to_recording(firsts, ns, counts, start_ns=self.start_ns, fs=self.fs,
                                     counts_per_g=self.profile.counts_per_g, meta=self.meta, times_ns=t_ns)
        t_idx = chunk.data.index.as_unit("ns").asi8
        if self.chunks and t_idx[0] <= self.chunks[-1].data.index.as_unit("ns").asi8[-1]:
            keep = t_idx > self.chunks[-1].data.index.as_unit("ns").asi8[-1]
            chunk = Recording(chunk.data[keep], self.meta, validate=False)
            if not len(chunk):
                return
        self.last_index = (self.asm.last_index if isinstance(self.asm, PmdAssembler)
                           else int(np.rint((chunk.data.index[-1].value - self.start_ns) * self.fs / 1e9)))
        if self.limit is not None and self.last_index >= self.limit - 1:
            self.done = True
        self.status.samples += len(chunk)
        if self.keep:
            self.chunks.append(chunk)
        self.impacts.append(self.detector.update(chunk.data))
        self._preview_parts.append(self.preview.update(chunk.data))
        self._show_preview()

    def _show_preview(self) -> None:
        parts = [p for p in self._preview_parts if len(p)]
        st = self.status
        st.provisional = True
        if parts:
            imp = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
            self._preview_parts = [imp]
            self._set_counts(imp)
        self._sync_status()

    def _set_counts(self, imp: pd.DataFrame) -> None:
        st = self.status
        codes = grouped_band_codes(imp, self.config)
        st.impacts = {b: int((codes == k).sum()) for k, b in enumerate(("low", "medium", "high"))}
        st.impacts["total"] = len(imp)
        t_end = imp["time"].iloc[-1]
        st.recent_impacts = int((imp["time"] > t_end - pd.Timedelta(seconds=10)).sum())

    def _count(self, all_sessions: pd.DataFrame | None = None) -> None:
        parts = [p for p in self.impacts if len(p)]
        st = self.status
        if all_sessions is not None:
            st.sessions = [
                {"kind": str(r["kind"]), "start": pd.Timestamp(r["start"]).isoformat(),
                 "end": pd.Timestamp(r["end"]).isoformat(), "duration_s": round(float(r["duration_s"]), 3),
                 "n_impacts": int(r["n_impacts"])}
                for r in all_sessions.to_dict("records")]
        st.provisional = False
        if parts:
            imp = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
            self.impacts = [imp]
            self._set_counts(imp)
        elif all_sessions is not None:
            st.impacts = {"low": 0, "medium": 0, "high": 0, "total": 0}
        self._sync_status()

    def _sync_status(self) -> None:
        st = self.status
        s = self.asm.stats
        st.packets = s.packets
        st.duplicates = s.duplicates
        st.packets_lost = s.lost_packets
        st.gaps = list(s.gaps)
        st.elapsed_s = (self.last_index + 1) / self.fs if self.last_index >= 0 else 0.0

    def recording(self) -> Recording | None:
        """Every sample received so far as one Recording (None when nothing came)."""
        if not self.chunks:
            return None
        data = pd.concat([c.data for c in self.chunks]) if len(self.chunks) > 1 else self.chunks[0].data
        return Recording(data, self.meta)


async def stream_sensor(
    profile: SensorProfile, *, address: str | None = None, name: str | None = None, timezone: str = "UTC",
    vertical_axis: str | None = None, config: DetectionConfig = DetectionConfig(), duration_s: float | None = None,
    stop: asyncio.Event | None = None, on_update: Callable[[LiveStatus], Any] | None = None, interval_s: float = 0.25,
    keep: bool = True, idle_stop_s: float | None = None, sdk_mode: bool = False, battery_s: float = 60.0,
    max_reconnects: int = 20, reconnect_attempts: int = 6, scan_s: float = 10.0,
) -> LiveCounter:
    """Stream from a sensor until ``duration_s`` of sensor time is received or ``stop`` is set.

    Parameters
    ----------
    profile : SensorProfile
        The sensor's profile.
    address, name : str, optional
        Which sensor (default: the first advertising the profile's service).
    timezone : str
        IANA zone of the times.
    vertical_axis : str, optional
        Default: the profile's.
    config : DetectionConfig
        Method settings (use a short ``block_s`` for a responsive view).
    duration_s : float, optional
        Stop after this much sensor time.
    stop : asyncio.Event, optional
        Set it to end the stream cleanly (Ctrl-C).
    on_update : callable, optional
        Called with the :class:`LiveStatus` every ``interval_s`` s.
    keep : bool
        Keep the samples for saving.
    idle_stop_s : float, optional
        End the stream when no notification arrived for this many seconds (a simulated sensor
        at the end of its recording).
    battery_s : float
        Read the battery level again every this many seconds.
    max_reconnects : int
        Link losses recovered from (reconnect with backoff, restart the stream; what was lost
        meanwhile is counted as lost packets) before the stream ends with ``ended = "link lost"``.
    reconnect_attempts, scan_s
        Connection attempts after each link loss, and how long each looks for the sensor (s).
    sdk_mode : bool
        Polar only: switch the sensor to SDK mode and send the profile's ``start_stream_sdk``
        (Verity Sense: 104 Hz, ±16 g) instead of the normal-mode ``start_stream`` (52 Hz,
        ±8 g). SDK mode is always switched off again when the stream ends, also after an error.

    Raises
    ------
    DeviceError
        Sensor not found, Bluetooth unavailable, the link's MTU below what the profile needs,
        a START refused (its PMD status named).

    Returns
    -------
    LiveCounter
        Final counts (``.status``), impacts and the received samples (``.recording()``).
    """
    dev = await find_sensor(profile, address=address, name=name)
    q: asyncio.Queue[Any] = asyncio.Queue()
    lost = object()
    markers: list[bytes] = []
    sc = SensorClient(dev, profile, on_disconnect=lambda: q.put_nowait(lost))
    polar = profile.protocol == "polar-pmd"
    start_cmd = "start_stream_sdk" if polar and sdk_mode else "start_stream"
    if start_cmd not in profile.commands:
        raise DeviceError(f"the profile {profile.id!r} has no {start_cmd} command (SDK mode)",
                          hint="Stream in normal mode, or add commands.start_stream_sdk to the profile")
    await sc.connect()
    sdk_on = False
    try:
        battery = None
        if profile.battery_level:
            battery = (await sc.read("battery"))[0]
        if profile.protocol == "impactlab-v1":
            info = decode_info(profile, await sc.read("info"))
            fs = float(info["sample_rate_hz"])
            range_g = float(info["range_g"] or profile.range_g)
            start_ns = info["session_start_us"] * 1000  # sample indices count from the session start
        else:  # Polar: rate and range are the settings impactlab's START asks for; times follow the sensor's clock
            start = profile.command(start_cmd)
            assert isinstance(start, bytes)
            settings = parse_settings(start[2:], where=f"the profile's commands.{start_cmd}")
            fs = settings.get("sample_rate", [profile.sample_rate_hz])[0]
            range_g = settings.get("range", [profile.range_g])[0]
            mtu = sc.mtu("stream")
            if mtu < profile.mtu:
                raise DeviceError(f"the link's ATT MTU is {mtu} bytes; {profile.id} frames need at least {profile.mtu}",
                                  hint="BlueZ negotiates the largest MTU both sides allow: update BlueZ (>= 5.55) or the "
                                       "adapter, or use another Bluetooth adapter")
            start_ns = time.time_ns()
        meta = RecordingMeta(
            source=f"ble:{dev.address}", device=f"ble:{profile.id}", sample_rate_hz=fs, timezone=timezone,
            vertical_axis=vertical_axis or profile.vertical_axis, range_g=range_g, serial=str(dev.address),
            firmware_profile=profile.id,
        )
        live = LiveCounter(profile, meta, start_ns=start_ns, config=config, duration_s=duration_s, keep=keep)
        live.status.battery = battery

        async def begin(sc: SensorClient) -> None:
            """Subscribe and start the stream on this connection (again after a reconnect)."""
            nonlocal sdk_on
            await sc.subscribe("stream", q.put_nowait)
            if "marker" in profile.characteristics:
                await sc.subscribe("marker", markers.append)
            if polar:
                replies: asyncio.Queue[bytes] = asyncio.Queue()
                await sc.subscribe("control", replies.put_nowait)
                if sdk_mode:
                    sdk_on = True  # from the write on: if anything fails, SDK mode is switched off again
                    await sc.command("start_sdk_mode")
                    await _pmd_reply(profile, replies, "start_sdk_mode")
                await sc.command(start_cmd)
                live.pmd_factor = await _pmd_reply(profile, replies, start_cmd)
            else:
                await sc.command("start_stream")

        async def reconnect() -> bool:
            """The link dropped: connect again with backoff and restart the stream; False when it failed."""
            nonlocal sc
            live.status.reconnects += 1
            await sc.disconnect()
            try:
                sc = await connect_with_backoff(profile, address=str(dev.address), attempts=reconnect_attempts,
                                                on_disconnect=lambda: q.put_nowait(lost), scan_timeout=scan_s)
                await begin(sc)
            except DeviceError as err:
                live.status.last_error = f"the link was lost and the sensor did not come back ({err.message})"
                return False
            return True

        await begin(sc)
        last_ui = 0.0
        last_rx = time.monotonic()
        last_session = 0.0
        last_battery = time.monotonic()
        stopped_by_link = False
        went_quiet = False
        while not live.done and not (stop is not None and stop.is_set()):
            try:
                item = await asyncio.wait_for(q.get(), timeout=interval_s)
            except TimeoutError:
                item = None
            batch: list[bytes] = []
            if item is lost:
                if live.status.reconnects < max_reconnects and await reconnect():
                    continue
                stopped_by_link = True
                break
            if item is not None:
                batch.append(item)
                last_rx = time.monotonic()
            elif idle_stop_s is not None and time.monotonic() - last_rx > idle_stop_s:
                went_quiet = True
                break
            while not q.empty():
                x = q.get_nowait()
                if x is lost:
                    q.put_nowait(lost)  # handled (reconnect) at the top of the loop, after this batch
                    break
                batch.append(x)
            live.feed(batch)
            for m in markers:
                with contextlib.suppress(DecodeError):
                    s, label = decode_marker(profile, m)
                    ts = pd.Timestamp(start_ns + int(round(s * 1e9 / fs)), tz="UTC").tz_convert(timezone)
                    live.status.markers.append((ts.isoformat(), label))
            markers.clear()
            if stopped_by_link:
                break
            now = time.monotonic()
            if profile.battery_level and now - last_battery >= battery_s:
                last_battery = now
                with contextlib.suppress(DeviceError):
                    live.status.battery = (await sc.read("battery"))[0]
            if on_update is not None and now - last_ui >= interval_s:
                if now - last_session >= 2.0:
                    live.refresh_session()
                    last_session = now
                on_update(live.status)
                last_ui = now
        st = live.status
        if stopped_by_link:
            st.ended = "link lost"
            st.last_error = st.last_error or "the link was lost; the stream ended"
        elif went_quiet:
            st.ended, st.last_error = "sensor went quiet", f"the sensor sent nothing for {idle_stop_s:g} s; the stream ended"
        else:
            st.ended = "duration reached" if live.done else "stopped"
        if not stopped_by_link and sc.is_connected:
            with contextlib.suppress(DeviceError):
                await sc.command("stop_stream")
        live.flush()
        if on_update is not None:
            on_update(live.status)
        return live
    finally:
        if sdk_on and sc.is_connected:
            with contextlib.suppress(DeviceError):
                await sc.command("stop_sdk_mode")
        await sc.disconnect()


async def _pmd_reply(profile: SensorProfile, replies: asyncio.Queue[bytes], cmd: str) -> float | None:
    """Wait for the PMD control-point response to ``cmd`` (op and type matched); return its FACTOR.

    A non-zero status (other than 6, already in state) is a DeviceError naming the status.
    """
    sent = profile.command(cmd)
    assert isinstance(sent, bytes)
    try:
        async with asyncio.timeout(5):
            while True:
                r = await replies.get()
                if len(r) >= 4 and r[0] == 0xF0 and r[1] == sent[0] and r[2] == sent[1]:
                    break
    except TimeoutError:
        raise DeviceError(f"the sensor did not answer {cmd}", hint="Switch the sensor off and on, then retry") from None
    if r[3] == 6:  # already in that state
        return None
    if r[3] != 0:
        raise DeviceError(f"the sensor refused {cmd}: {PMD_STATUS.get(r[3], 'unknown status')} (status {r[3]})",
                          hint="Check the profile's command bytes against the sensor's firmware (SDK mode, rate, range)")
    try:
        return parse_control_response(r, expect_op=sent[0], expect_type=sent[1], where=f"PMD {cmd}").factor
    except DecodeError as err:
        raise DeviceError(f"the sensor's answer to {cmd} is malformed: {err}",
                          hint="Record it with --raw-log and report it") from None
