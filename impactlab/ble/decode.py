"""Pure packet decoders and encoders: bytes ↔ numpy arrays, no I/O, no loop per sample.

Every layout comes from a :class:`~impactlab.ble.profile.SensorProfile`: the header and sample
field lists become numpy structured dtypes and packets are read with :func:`numpy.frombuffer`.
A batch of packets is decoded with one ``frombuffer`` over the joined headers and one over the
joined samples. Malformed input (wrong length, unknown type, impossible counts) raises
:class:`DecodeError`, which the stream and sync paths count and report rather than crash on.

The encoders are the inverse (used by the simulated sensor and by the round-trip tests).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import DeviceError
from .profile import SensorProfile

__all__ = [
    "FLAG_BOOT",
    "FLAG_CLIPPED",
    "FLAG_OVERFLOW",
    "FLAG_TIME_SET",
    "DecodeError",
    "Packet",
    "PacketBatch",
    "decode_batch",
    "decode_info",
    "decode_marker",
    "decode_packet",
    "decode_pmd_frame",
    "encode_end_of_sync",
    "encode_info",
    "encode_marker",
    "encode_packets",
    "packet_samples",
    "encode_pmd_frame",
    "pmd_epoch_ns",
]


class DecodeError(DeviceError, ValueError):
    """A packet that does not match the profile's layout (counted and reported, never fatal)."""


@dataclass(frozen=True, slots=True)
class Packet:
    """One decoded notification.

    Attributes
    ----------
    kind : str
        ``"live"``, ``"stored"``, ``"end_of_sync"`` (impactlab-v1) or ``"frame"`` (Polar PMD).
    counts : numpy.ndarray
        Raw samples, shape ``(n, 3)``, int32 counts (divide by the profile's ``counts_per_g``).
    seq : int or None
        Packet sequence number (impactlab-v1).
    first_sample : int or None
        Index of the first sample since the session started (impactlab-v1).
    flags : int
        Header flags (impactlab-v1), 0 otherwise.
    timestamp_ns : int or None
        Polar PMD: device time of the last sample, ns since 2000-01-01.
    """

    kind: str
    counts: np.ndarray
    seq: int | None = None
    first_sample: int | None = None
    flags: int = 0
    timestamp_ns: int | None = None

    @property
    def n(self) -> int:
        """Number of samples."""
        return int(self.counts.shape[0])


@dataclass(frozen=True, slots=True)
class PacketBatch:
    """Many impactlab-v1 packets decoded at once (parallel arrays, one row per good packet).

    Attributes
    ----------
    index : numpy.ndarray
        Position of each good packet in the input list.
    type, n, flags, seq, first_sample : numpy.ndarray
        Header fields per packet (int64).
    counts : numpy.ndarray
        All samples of all good packets in input order, shape ``(sum(n), 3)``, int32.
    errors : list of (int, DecodeError)
        Input position and error of each malformed packet.
    """

    index: np.ndarray
    type: np.ndarray
    n: np.ndarray
    flags: np.ndarray
    seq: np.ndarray
    first_sample: np.ndarray
    counts: np.ndarray
    errors: list[tuple[int, DecodeError]]


def _xyz(samples: np.ndarray) -> np.ndarray:
    out = np.empty((samples.shape[0], 3), np.int32)
    out[:, 0] = samples["x"]
    out[:, 1] = samples["y"]
    out[:, 2] = samples["z"]
    return out


def _v1(profile: SensorProfile) -> None:
    if profile.protocol != "impactlab-v1":
        raise DecodeError(f"profile {profile.id} speaks {profile.protocol}, not impactlab-v1")


def decode_batch(profile: SensorProfile, payloads: Sequence[bytes]) -> PacketBatch:
    """Decode many impactlab-v1 packets with two ``frombuffer`` calls.

    Parameters
    ----------
    profile : SensorProfile
        An ``impactlab-v1`` profile.
    payloads : sequence of bytes
        Notification values.

    Returns
    -------
    PacketBatch
        Good packets as arrays; malformed ones in ``errors`` (never raised).
    """
    _v1(profile)
    hs, ss = profile.header_size, profile.sample_size
    hd = profile.header_dtype
    lens = np.fromiter((len(p) for p in payloads), np.int64, len(payloads))
    errors: list[tuple[int, DecodeError]] = []
    long_enough = np.flatnonzero(lens >= hs)
    for i in np.flatnonzero(lens < hs).tolist():
        errors.append((i, DecodeError(f"packet of {lens[i]} bytes is shorter than the {hs}-byte header")))
    if long_enough.size:
        heads = np.frombuffer(b"".join([payloads[i][:hs] for i in long_enough.tolist()]), hd)
    else:
        heads = np.zeros(0, hd)
    typ = heads["type"].astype(np.int64)
    n = heads["n"].astype(np.int64)
    codes = np.array(sorted(profile.packet_types.values()), np.int64)
    eos = profile.packet_types["end_of_sync"]
    known = np.isin(typ, codes)
    possible = (n <= profile.max_samples) & ((typ != eos) | (n == 0))
    right_len = lens[long_enough] == hs + n * ss
    good = known & possible & right_len
    for j in np.flatnonzero(~good).tolist():
        i = int(long_enough[j])
        if not known[j]:
            msg = f"unknown packet type {typ[j]} (known: {dict(profile.packet_types)})"
        elif not possible[j]:
            msg = f"impossible sample count {n[j]} for a {_kind(profile, int(typ[j]))} packet (at most {profile.max_samples})"
        else:
            msg = f"packet of {lens[i]} bytes, but its header says {n[j]} samples = {hs + n[j] * ss} bytes"
        errors.append((i, DecodeError(msg)))
    gi = long_enough[good]
    gn = n[good]
    body = b"".join([payloads[i][hs:] for i in gi.tolist()])
    samples = np.frombuffer(body, profile.sample_dtype)
    errors.sort(key=lambda e: e[0])
    return PacketBatch(
        index=gi, type=typ[good], n=gn, flags=heads["flags"][good].astype(np.int64) if "flags" in (hd.names or ())
        else np.zeros(gn.size, np.int64), seq=heads["seq"][good].astype(np.int64),
        first_sample=heads["first_sample"][good].astype(np.int64), counts=_xyz(samples), errors=errors,
    )


def _kind(profile: SensorProfile, code: int) -> str:
    for k, v in profile.packet_types.items():
        if v == code:
            return k
    return f"type-{code}"


def decode_packet(profile: SensorProfile, data: bytes) -> Packet:
    """Decode one notification (impactlab-v1 packet or Polar PMD frame, by the profile's protocol).

    Raises
    ------
    DecodeError
        Wrong length, unknown type or an impossible sample count.
    """
    if profile.protocol == "polar-pmd":
        return decode_pmd_frame(profile, data)
    b = decode_batch(profile, [bytes(data)])
    if b.errors:
        raise b.errors[0][1]
    return Packet(kind=_kind(profile, int(b.type[0])), counts=b.counts, seq=int(b.seq[0]),
                  first_sample=int(b.first_sample[0]), flags=int(b.flags[0]))


#: impactlab-v1 header flag bits (docs/hip-v1.md): a sample at full scale; the clock was set
#: (``set_time``) since the previous packet; first packet after the sensor booted; the sensor's
#: FIFO overflowed before this packet (samples lost on the device: ``first_sample`` jumps).
FLAG_CLIPPED, FLAG_TIME_SET, FLAG_BOOT, FLAG_OVERFLOW = 0x0001, 0x0002, 0x0004, 0x0008


def packet_samples(profile: SensorProfile, mtu: int) -> int:
    """Samples per impactlab-v1 packet at ATT MTU ``mtu``: ``(mtu - 3 - header) // sample``, at most ``max_samples``."""
    return max(1, min(profile.max_samples, (mtu - 3 - profile.header_size) // profile.sample_size))


def encode_packets(
    profile: SensorProfile, counts: np.ndarray, sample_index: np.ndarray | None, *, kind: str = "stored", first_seq: int = 0,
    flags: int = 0, max_samples: int | None = None, runs: tuple[np.ndarray, np.ndarray] | None = None,
) -> list[bytes]:
    """Cut samples into impactlab-v1 packets (the simulated sensor's firmware side).

    A packet holds up to ``max_samples`` consecutive samples; a jump in ``sample_index`` (a gap in
    the recording) starts a new packet, so ``first_sample`` always tells where samples belong.

    Parameters
    ----------
    profile : SensorProfile
        An impactlab-v1 profile.
    counts : numpy.ndarray
        ``(n, 3)`` integer counts (clipped to the sample dtype's range), or ``(n,)`` in the
        profile's ``sample_dtype`` (taken as they are).
    sample_index : numpy.ndarray
        Index of each sample since the session start (increasing).
    kind : str
        Packet type name (``live`` or ``stored``).
    first_seq : int
        Sequence number of the first packet.
    flags : int
        Header flags of every packet; :data:`FLAG_CLIPPED` is added to packets with a sample at
        the sample type's limit, :data:`FLAG_BOOT` to sequence number 0.
    max_samples : int, optional
        Samples per packet (default the profile's; less at a smaller MTU, see :func:`packet_samples`).
    runs : (numpy.ndarray, numpy.ndarray), optional
        Instead of ``sample_index`` (None): the position in ``counts`` of each run of consecutive
        samples and its first sample's index (no per-sample index for a long recording).

    Returns
    -------
    list of bytes
    """
    _v1(profile)
    counts = np.asarray(counts)
    m = profile.max_samples if max_samples is None else int(max_samples)
    n = counts.shape[0]
    if n == 0:
        return []
    if runs is None:
        idx = np.asarray(sample_index, np.int64)
        run_start = np.concatenate([[0], np.flatnonzero(np.diff(idx) != 1) + 1])
        run_first = idx[run_start]
    else:
        run_start, run_first = np.asarray(runs[0], np.int64), np.asarray(runs[1], np.int64)
    breaks = run_start[1:]
    run_end = np.concatenate([breaks, [n]])
    lens = run_end - run_start
    per_run = -(-lens // m)
    starts = np.repeat(run_start, per_run) + m * (np.arange(per_run.sum()) - np.repeat(np.cumsum(per_run) - per_run, per_run))
    ends = np.minimum(starts + m, np.repeat(run_end, per_run))
    k = starts.size
    head = np.zeros(k, profile.header_dtype)
    head["type"] = profile.packet_types[kind]
    head["n"] = ends - starts
    if "flags" in (profile.header_dtype.names or ()):
        head["flags"] = flags
    head["seq"] = first_seq + np.arange(k)
    head["first_sample"] = np.repeat(run_first - run_start, per_run) + starts
    if counts.dtype == profile.sample_dtype:  # already the samples as sent (in range), used as they are
        samp = counts
    else:
        samp = np.zeros(n, profile.sample_dtype)
        for j, ax in enumerate("xyz"):
            info = np.iinfo(profile.sample_dtype[ax])
            samp[ax] = np.clip(counts[:, j], info.min, info.max)
    at_limit = np.zeros(n, bool)
    for ax in "xyz":
        info = np.iinfo(profile.sample_dtype[ax])
        at_limit |= (samp[ax] == info.min) | (samp[ax] == info.max)
    if "flags" in (profile.header_dtype.names or ()):
        clipped = np.add.reduceat(at_limit, starts) > 0
        head["flags"] = flags | np.where(clipped, FLAG_CLIPPED, 0) | np.where(head["seq"] == 0, FLAG_BOOT, 0)
    hb = head.tobytes()
    sb = memoryview(np.ascontiguousarray(samp).reshape(-1).view(np.uint8).data)  # no second copy of every sample
    hs, ss = profile.header_size, profile.sample_size
    return [hb[i * hs:(i + 1) * hs] + sb[a * ss:b * ss] for i, (a, b) in enumerate(zip(starts.tolist(), ends.tolist(), strict=True))]


def encode_end_of_sync(profile: SensorProfile, last_seq: int, token: int = 0) -> bytes:
    """The end-of-sync packet: no samples, ``seq`` = the last stored seq sent (``-1`` → 0xFFFFFFFF),
    ``first_sample`` = this connection's erase token."""
    head = np.zeros(1, profile.header_dtype)
    head["type"] = profile.packet_types["end_of_sync"]
    head["seq"] = last_seq & 0xFFFFFFFF
    head["first_sample"] = token & 0xFFFFFFFF
    return head.tobytes()


def decode_info(profile: SensorProfile, data: bytes) -> dict[str, int]:
    """Decode the ``info`` characteristic into a dict of its fields.

    Raises
    ------
    DecodeError
        The value's length differs from the profile's info layout.
    """
    dt = profile.info_dtype
    if dt is None:
        raise DecodeError(f"profile {profile.id} has no info layout")
    if len(data) != dt.itemsize:
        raise DecodeError(f"info value of {len(data)} bytes, the profile's layout has {dt.itemsize}")
    rec = np.frombuffer(bytes(data), dt)[0]
    return {name: int(rec[name]) for name in (dt.names or ())}


def encode_info(profile: SensorProfile, values: dict[str, int]) -> bytes:
    """Encode the ``info`` value (missing fields are 0)."""
    dt = profile.info_dtype
    if dt is None:
        raise DecodeError(f"profile {profile.id} has no info layout")
    rec = np.zeros(1, dt)
    for k, v in values.items():
        if k in (dt.names or ()):
            rec[k] = v
    return rec.tobytes()


def decode_marker(profile: SensorProfile, data: bytes) -> tuple[int, str]:
    """Decode a marker notification into ``(sample index, label)``."""
    dt = profile.marker_dtype
    if dt is None or len(data) != dt.itemsize:
        raise DecodeError(f"marker value of {len(data)} bytes does not match the profile")
    rec = np.frombuffer(bytes(data), dt)[0]
    code = int(rec["code"])
    return int(rec["sample"]), profile.marker_labels.get(code, f"code-{code}")


def encode_marker(profile: SensorProfile, sample: int, code: int) -> bytes:
    """Encode a marker notification."""
    dt = profile.marker_dtype
    if dt is None:
        raise DecodeError(f"profile {profile.id} has no marker layout")
    rec = np.zeros(1, dt)
    rec["sample"] = sample
    rec["code"] = code
    return rec.tobytes()


# -- Polar Measurement Data -----------------------------------------------------------------------

def pmd_epoch_ns(profile: SensorProfile) -> int:
    """Unix time (ns) of the PMD timestamp epoch (2000-01-01 UTC)."""
    return int(pd.Timestamp(profile.options["timestamp_epoch"]).value)


def decode_pmd_frame(profile: SensorProfile, data: bytes) -> Packet:
    """Decode a Polar PMD accelerometer frame (raw int16, or a compressed delta frame).

    Layout: ``type u8 | timestamp u64 (ns since 2000-01-01, last sample) | frame_type u8 |
    payload``. When bit 7 of ``frame_type`` is set the payload is a reference sample (3 × int16)
    followed by blocks of ``delta_bits u8, count u8, count × 3 deltas of delta_bits bits``
    (two's complement, packed least significant bit first), each sample being the previous plus
    its delta. Otherwise ``frame_type`` 1 means raw int16 x, y, z.

    Raises
    ------
    DecodeError
        Wrong measurement type, unknown frame type, truncated blocks, impossible delta widths or
        counts.
    """
    data = bytes(data)
    hd = profile.header_dtype
    hs = hd.itemsize
    if len(data) < hs:
        raise DecodeError(f"PMD frame of {len(data)} bytes is shorter than the {hs}-byte header")
    h = np.frombuffer(data[:hs], hd)[0]
    if int(h["type"]) != profile.options["measurement_type"]:
        raise DecodeError(f"unknown PMD measurement type {int(h['type'])} (expected ACC = {profile.options['measurement_type']})")
    ft = int(h["frame_type"])
    body = data[hs:]
    sdt = profile.sample_dtype
    if ft & profile.options["delta_flag"]:
        if ft & 0x7F != 0:
            raise DecodeError(f"unknown PMD delta frame type 0x{ft:02x}")
        if len(body) < sdt.itemsize:
            raise DecodeError("PMD delta frame without its reference sample")
        parts = [_xyz(np.frombuffer(body[: sdt.itemsize], sdt))]
        pos = sdt.itemsize
        total = 1
        while pos < len(body):
            if pos + 2 > len(body):
                raise DecodeError(f"PMD delta block header truncated at byte {hs + pos}")
            bits, count = body[pos], body[pos + 1]
            if not 1 <= bits <= 16 or count == 0:
                raise DecodeError(f"impossible PMD delta block ({bits} bits, {count} samples) at byte {hs + pos}")
            nbytes = -(-bits * 3 * count // 8)
            pos += 2
            if pos + nbytes > len(body):
                raise DecodeError(f"PMD delta block needs {nbytes} bytes, {len(body) - pos} left")
            total += count
            if total > profile.max_samples:
                raise DecodeError(f"PMD frame claims more than {profile.max_samples} samples")
            raw = np.unpackbits(np.frombuffer(body[pos:pos + nbytes], np.uint8), bitorder="little")
            vals = (raw[: bits * 3 * count].reshape(-1, bits).astype(np.int64) << np.arange(bits)).sum(axis=1)
            vals -= (vals >= (1 << (bits - 1))) * (1 << bits)
            deltas = vals.reshape(count, 3)
            parts.append((parts[-1][-1] + np.cumsum(deltas, axis=0)).astype(np.int32))
            pos += nbytes
        counts = np.concatenate(parts)
        if counts.min() < -0x8000 or counts.max() > 0x7FFF:  # int16 holds -32768 too
            raise DecodeError("PMD delta frame decodes to values outside the int16 range")
    else:
        if ft != 1:
            raise DecodeError(f"unknown PMD frame type 0x{ft:02x} (only raw int16 = 0x01 and delta frames are read)")
        if not body or len(body) % sdt.itemsize:
            raise DecodeError(f"raw PMD payload of {len(body)} bytes is not a whole number of {sdt.itemsize}-byte samples")
        if len(body) // sdt.itemsize > profile.max_samples:
            raise DecodeError(f"PMD frame claims more than {profile.max_samples} samples")
        counts = _xyz(np.frombuffer(body, sdt))
    return Packet(kind="frame", counts=counts, timestamp_ns=int(h["timestamp_ns"]))


def encode_pmd_frame(profile: SensorProfile, timestamp_ns: int, counts: np.ndarray, *, delta: bool = True) -> bytes:
    """Encode samples as a PMD ACC frame (the simulated Polar sensor's side).

    Parameters
    ----------
    profile : SensorProfile
        A polar-pmd profile.
    timestamp_ns : int
        Device time of the last sample, ns since 2000-01-01.
    counts : numpy.ndarray
        ``(n, 3)`` samples in mG (clipped to int16).
    delta : bool
        Write a compressed delta frame (one block) instead of raw int16.
    """
    c = np.clip(np.asarray(counts, np.int64), -0x8000, 0x7FFF)
    head = np.zeros(1, profile.header_dtype)
    head["type"] = profile.options["measurement_type"]
    head["timestamp_ns"] = timestamp_ns
    samp = np.zeros(c.shape[0], profile.sample_dtype)
    for j, ax in enumerate("xyz"):
        samp[ax] = c[:, j]
    if not delta:
        head["frame_type"] = 1
        return head.tobytes() + samp.tobytes()
    d = np.diff(c, axis=0)
    if d.size and int(np.abs(d).max()).bit_length() + 1 > 16:
        return encode_pmd_frame(profile, timestamp_ns, c, delta=False)
    head["frame_type"] = profile.options["delta_flag"]
    out = [head.tobytes(), samp[:1].tobytes()]
    for a in range(0, d.shape[0], 255):
        blk = d[a:a + 255]
        m = int(np.abs(blk).max()) if blk.size else 0
        bits = max(1, int(m).bit_length() + 1)
        vals = (blk.reshape(-1) & ((1 << bits) - 1)).astype(np.int64)
        bitmat = ((vals[:, None] >> np.arange(bits)) & 1).astype(np.uint8).reshape(-1)
        out.append(bytes([bits, blk.shape[0]]) + np.packbits(bitmat, bitorder="little").tobytes())
    return b"".join(out)
