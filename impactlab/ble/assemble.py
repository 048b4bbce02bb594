"""Packets → ordered samples: drop duplicates, record gaps, build Recording chunks.

:class:`SeqAssembler` orders impactlab-v1 packets by sequence number within a small reorder
window, ignores duplicates and records every missing sequence range as lost (never filled).
:class:`PmdAssembler` does the same for Polar frames, which carry no sequence number: gaps are
found from the frame timestamps and sample counts, and sample times come from those timestamps.
Both return ``(sample_index, counts)`` runs (Polar with the device times too) that
:func:`samples_to_recording` turns into a :class:`~impactlab.recording.Recording` (gaps are
missing rows, docs/cli.md, Tables).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..recording import Recording, RecordingMeta
from .decode import Packet
from .pmd import sample_times_ns

__all__ = ["AssemblyStats", "PmdAssembler", "SeqAssembler", "samples_to_recording"]


@dataclass
class AssemblyStats:
    """Counters of one live stream.

    Attributes
    ----------
    packets : int
        Distinct packets accepted.
    samples : int
        Samples accepted.
    duplicates : int
        Packets ignored because they arrived before.
    lost_packets : int
        Packets never received (sum of the gap lengths; estimated for Polar).
    lost_samples : int
        Samples missing between received packets.
    gaps : list of (int, int)
        Missing ranges (sequence numbers for impactlab-v1, sample indices for Polar), inclusive.
    late : int
        Packets that arrived after their gap had been given up (still counted as lost).
    decode_errors : int
        Malformed notifications (counted by the caller).
    """

    packets: int = 0
    samples: int = 0
    duplicates: int = 0
    lost_packets: int = 0
    lost_samples: int = 0
    gaps: list[tuple[int, int]] = field(default_factory=list)
    late: int = 0
    decode_errors: int = 0


class SeqAssembler:
    """Orders sequenced packets, ignores duplicates and records gaps.

    Parameters
    ----------
    first_seq : int
        The sequence number the stream starts at (a live stream starts at 0).
    window : int
        Packets held back waiting for a missing one before its gap is given up.
    """

    def __init__(self, first_seq: int = 0, window: int = 8) -> None:
        self.next = first_seq
        self.window = window
        self.pending: dict[int, Packet] = {}
        self.stats = AssemblyStats()

    def add(self, pkt: Packet) -> list[Packet]:
        """Accept one packet; return the packets now ready, in order."""
        seq = pkt.seq
        assert seq is not None
        if seq in self.pending:
            self.stats.duplicates += 1
            return []
        if seq < self.next:
            if any(a <= seq <= b for a, b in reversed(self.stats.gaps)):
                self.stats.late += 1  # its gap was already given up and reported
            else:
                self.stats.duplicates += 1
            return []
        self.pending[seq] = pkt
        return self._release(force=False)

    def flush(self) -> list[Packet]:
        """Give up on every missing packet and return all held ones."""
        return self._release(force=True)

    def _release(self, force: bool) -> list[Packet]:
        out = []
        while self.pending:
            if self.next in self.pending:
                pkt = self.pending.pop(self.next)
                out.append(pkt)
                self.stats.packets += 1
                self.stats.samples += pkt.n
                self.next += 1
            elif force or len(self.pending) > self.window:
                nxt = min(self.pending)
                self.stats.gaps.append((self.next, nxt - 1))
                self.stats.lost_packets += nxt - self.next
                self.next = nxt
            else:
                break
        return out


class PmdAssembler:
    """Places Polar PMD frames on a sample grid; gaps from timestamp jumps; times from the sensor's clock.

    Parameters
    ----------
    fs : float
        Sample rate in Hz, from the settings of the START request (never guessed from frames:
        a lost second frame would otherwise halve it).

    Notes
    -----
    A frame's timestamp is the device time of its last sample (ns since 2000-01-01). Sample
    times follow Polar's SDK rule: spaced ``(ts - previous ts) / n`` after a contiguous frame,
    so they follow the sensor's own clock and a rate that is off its nominal value (a 0.06 %
    error is 2 s per hour) does not drift; after a gap or for the first frame, ``1 / fs`` back
    from the timestamp. Gaps are where the timestamp advanced by more samples than the frame
    holds (in units of ``1 / fs``; the sample indices of a gap are estimates, its times are not).
    """

    def __init__(self, fs: float) -> None:
        if not fs > 0:
            raise ValueError(f"sample rate must be > 0 Hz, got {fs}")
        self.fs = float(fs)
        self.last_ts: int | None = None
        self.last_index = -1
        self.typical_n = 0
        self.stats = AssemblyStats()

    def add(self, pkt: Packet) -> list[tuple[int, np.ndarray, np.ndarray]]:
        """Accept one frame; return ``[(first_sample_index, counts, device_times_ns)]`` ready to use.

        ``device_times_ns`` are the samples' device times (ns since 2000-01-01).
        """
        ts = pkt.timestamp_ns
        assert ts is not None
        n = pkt.n
        self.typical_n = max(self.typical_n, n)
        prev: int | None = None
        if self.last_ts is None:
            first = 0
        else:
            step = (ts - self.last_ts) * self.fs / 1e9
            if step < 0.5:
                self.stats.duplicates += 1
                return []
            missing = int(round(step)) - n
            if missing > 0:
                a = self.last_index + 1
                self.stats.gaps.append((a, a + missing - 1))
                self.stats.lost_samples += missing
                self.stats.lost_packets += max(1, int(round(missing / max(1, self.typical_n))))
            else:
                prev = self.last_ts
            first = self.last_index + 1 + max(0, missing)
        times = sample_times_ns(ts, n, prev, self.fs)
        self.last_ts = ts
        self.last_index = first + n - 1
        self.stats.packets += 1
        self.stats.samples += n
        return [(first, pkt.counts, times)]

    def flush(self) -> list[tuple[int, np.ndarray, np.ndarray]]:
        """End of stream (nothing is held back: frames are placed as they come)."""
        return []


def samples_to_recording(
    first_samples: np.ndarray, ns: np.ndarray, counts: np.ndarray, *, start_ns: int, fs: float, counts_per_g: float,
    meta: RecordingMeta, times_ns: np.ndarray | None = None,
) -> Recording:
    """Build a Recording from packet runs (vectorised).

    Parameters
    ----------
    first_samples : numpy.ndarray
        Index of each packet's first sample since the session start.
    ns : numpy.ndarray
        Samples per packet.
    counts : numpy.ndarray
        All samples, ``(sum(ns), 3)`` raw counts, in packet order.
    start_ns : int
        Unix time (ns) of sample index 0.
    fs : float
        Sample rate in Hz.
    counts_per_g : float
        Scale.
    meta : RecordingMeta
        Metadata of the result.
    times_ns : numpy.ndarray, optional
        Unix time (ns) of every sample, in the order of ``counts``: used instead of
        ``start_ns + index / fs`` (Polar: times from the sensor's timestamps).

    Returns
    -------
    Recording
        Samples sorted by index with repeated indices dropped; gaps are missing rows.
    """
    ns = np.asarray(ns, np.int64)
    total = int(ns.sum())
    idx = np.repeat(np.asarray(first_samples, np.int64), ns) + (np.arange(total) - np.repeat(np.cumsum(ns) - ns, ns))
    order = np.argsort(idx, kind="stable")
    idx = idx[order]
    keep = np.r_[True, np.diff(idx) > 0] if idx.size else np.zeros(0, bool)
    idx = idx[keep]
    c = np.asarray(counts)[order][keep]
    if times_ns is None:
        t = start_ns + np.rint(idx * (1e9 / fs)).astype(np.int64)
    else:
        t = np.asarray(times_ns, np.int64)[order][keep]
    tindex = pd.DatetimeIndex(t.view("datetime64[ns]")).tz_localize("UTC").tz_convert(meta.timezone)
    tindex.name = "time"
    g = (c / counts_per_g).astype(np.float32)
    df = pd.DataFrame({"x": g[:, 0], "y": g[:, 1], "z": g[:, 2]}, index=tindex)
    return Recording(df, meta)
