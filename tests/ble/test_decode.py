"""Profiles and pure decoders: round trips, random bytes, malformed packets, bad profile files."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from impactlab.ble.assemble import PmdAssembler, SeqAssembler
from impactlab.ble.decode import (
    DecodeError,
    Packet,
    decode_batch,
    decode_info,
    decode_marker,
    decode_packet,
    decode_pmd_frame,
    encode_end_of_sync,
    encode_info,
    encode_marker,
    encode_packets,
    encode_pmd_frame,
)
from impactlab.ble.profile import PROFILE_DIR, load_profile
from impactlab.errors import ConfigError

HIP = load_profile("impactlab-hip-v1")
POLAR = load_profile("polar-verity-sense")
counts_arrays = st.integers(1, 200).flatmap(
    lambda n: arrays(np.int64, (n, 3), elements=st.integers(-32768, 32767)))


def test_shipped_profiles_load() -> None:
    assert HIP.header_size == 12 and HIP.sample_size == 6 and HIP.max_samples == 38
    assert HIP.char("sync_data").uuid.startswith("30304e83-0005")
    assert POLAR.live_only and POLAR.protocol == "polar-pmd"


@given(counts_arrays, st.integers(0, 2**31))
def test_v1_round_trip(counts: np.ndarray, first: int) -> None:
    idx = first + np.arange(counts.shape[0])
    pkts = encode_packets(HIP, counts, idx, kind="stored", first_seq=5)
    assert all(len(p) <= HIP.mtu - 3 for p in pkts)
    b = decode_batch(HIP, pkts)
    assert not b.errors
    np.testing.assert_array_equal(b.counts, counts)
    assert b.seq.tolist() == list(range(5, 5 + len(pkts)))
    assert b.first_sample[0] == first
    one = decode_packet(HIP, pkts[-1])
    assert one.kind == "stored" and one.seq == 4 + len(pkts)


def test_v1_gap_starts_a_new_packet() -> None:
    idx = np.r_[np.arange(10), np.arange(100, 105)]
    pkts = encode_packets(HIP, np.zeros((15, 3), int), idx)
    assert [decode_packet(HIP, p).first_sample for p in pkts] == [0, 100]


@given(st.binary(max_size=300))
def test_v1_random_bytes_decode_or_raise_decode_error(data: bytes) -> None:
    try:
        p = decode_packet(HIP, data)
    except DecodeError:
        return
    assert len(data) == 12 + 6 * p.n


@pytest.mark.parametrize(("data", "match"), [
    (b"\x02\x01", "shorter than the 12-byte header"),
    (bytes([9, 0]) + bytes(10), "unknown packet type 9"),
    (bytes([2, 200]) + bytes(10 + 1200), "impossible sample count 200"),
    (bytes([2, 2]) + bytes(10 + 6), "header says 2 samples"),
    (bytes([3, 1]) + bytes(10 + 6), "impossible sample count 1 for a end_of_sync"),
])
def test_v1_malformed(data: bytes, match: str) -> None:
    with pytest.raises(DecodeError, match=match):
        decode_packet(HIP, data)


def test_batch_counts_errors_without_raising() -> None:
    good = encode_packets(HIP, np.ones((50, 3), int), np.arange(50))
    b = decode_batch(HIP, [good[0], b"junk", good[1], encode_end_of_sync(HIP, 1)])
    assert b.index.tolist() == [0, 2, 3] and [i for i, _ in b.errors] == [1]


@given(st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1), st.integers(1, 1000))
def test_info_round_trip(sid: int, stored: int, fs: int) -> None:
    info = decode_info(HIP, encode_info(HIP, {"session_id": sid, "stored_packets": stored, "sample_rate_hz": fs}))
    assert (info["session_id"], info["stored_packets"], info["sample_rate_hz"]) == (sid, stored, fs)
    with pytest.raises(DecodeError):
        decode_info(HIP, b"\x00" * 3)


@given(counts_arrays, st.integers(0, 2**62), st.booleans())
def test_pmd_round_trip(counts: np.ndarray, ts: int, delta: bool) -> None:
    frame = encode_pmd_frame(POLAR, ts, counts, delta=delta)
    p = decode_pmd_frame(POLAR, frame)
    np.testing.assert_array_equal(p.counts, counts)
    assert p.timestamp_ns == ts


@pytest.mark.parametrize("delta", [False, True])
def test_pmd_int16_extremes_round_trip(delta: bool) -> None:
    # -32768 is a valid int16 sample; |x| > 0x7FFF must not refuse it (found by hypothesis)
    counts = np.array([[-32768, 0, 32767], [32767, -32768, 0]])
    p = decode_pmd_frame(POLAR, encode_pmd_frame(POLAR, 0, counts, delta=delta))
    np.testing.assert_array_equal(p.counts, counts)


def test_pmd_delta_frame_known_answer() -> None:
    # reference (1, -2, 3), one block: 2 bits, 2 samples, deltas (+1, 0, -1), (-1, +1, 0)
    bits = [1, 0, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0]
    packed = np.packbits(np.array(bits, np.uint8), bitorder="little").tobytes()
    frame = bytes([2]) + (5).to_bytes(8, "little") + bytes([0x80]) + np.array([1, -2, 3], "<i2").tobytes() + bytes([2, 2]) + packed
    assert decode_pmd_frame(POLAR, frame).counts.tolist() == [[1, -2, 3], [2, -2, 2], [1, -1, 2]]


@given(st.binary(max_size=300))
def test_pmd_random_bytes_decode_or_raise_decode_error(data: bytes) -> None:
    try:
        p = decode_pmd_frame(POLAR, data)
    except DecodeError:
        return
    assert 1 <= p.n <= POLAR.max_samples


@pytest.mark.parametrize(("frame", "match"), [
    (bytes([1]) + bytes(9), "measurement type 1"),
    (bytes([2]) + bytes(8) + bytes([0x05]) + bytes(6), "unknown PMD frame type 0x05"),
    (bytes([2]) + bytes(8) + bytes([0x80]) + bytes(6) + bytes([0, 3]), "impossible PMD delta block"),
    (bytes([2]) + bytes(8) + bytes([0x80]) + bytes(6) + bytes([8, 10, 1]), "needs 30 bytes"),
    (bytes([2]) + bytes(8) + bytes([0x01]) + bytes(7), "not a whole number"),
])
def test_pmd_malformed(frame: bytes, match: str) -> None:
    with pytest.raises(DecodeError, match=match):
        decode_pmd_frame(POLAR, frame)


def test_seq_assembler_orders_dedupes_and_records_gaps() -> None:
    pkts = [decode_packet(HIP, p) for p in encode_packets(HIP, np.zeros((38 * 20, 3), int), np.arange(38 * 20), kind="live")]
    arrive = [pkts[0], pkts[2], pkts[1], pkts[1], *pkts[3:5], *pkts[7:20], pkts[8]]
    asm = SeqAssembler(0, window=4)
    out = [p.seq for x in arrive for p in asm.add(x)] + [p.seq for p in asm.flush()]
    assert out == [0, 1, 2, 3, 4, *range(7, 20)]
    assert asm.stats.gaps == [(5, 6)] and asm.stats.lost_packets == 2 and asm.stats.duplicates == 2


def test_pmd_assembler_finds_gaps_from_timestamps() -> None:
    fs, n = 50.0, 36
    frames = [decode_pmd_frame(POLAR, encode_pmd_frame(POLAR, int((k + 1) * n * 1e9 / fs), np.zeros((n, 3), int)))
              for k in range(10)]
    asm = PmdAssembler(fs)  # the rate of the START settings: losing the second frame cannot change it
    runs = [r for k, f in enumerate(frames) if k not in (1, 4, 5) for r in asm.add(f)]
    assert asm.fs == 50.0 and [r[0] for r in runs] == [0, 72, 108, 216, 252, 288, 324]
    assert asm.stats.gaps == [(36, 71), (144, 215)] and asm.stats.lost_packets == 3
    # after a gap the frame is spaced at 1/fs back from its timestamp, not spread over the gap
    assert np.array_equal(np.diff(runs[1][2]), np.full(n - 1, 20_000_000))


def test_pmd_sample_times_follow_the_sensor_clock_not_the_nominal_rate() -> None:
    """A sensor 0.06 % slow: an hour of frames ends where its timestamps say (2.16 s off a 52 Hz grid)."""
    fs, n, err = 52.0, 36, 6e-4
    k = np.arange(int(3600 * fs) // n)
    ts = np.rint((k + 1) * n * 1e9 / fs * (1 + err)).astype(np.int64) + 10**15
    asm = PmdAssembler(fs)
    runs = [r for t in ts.tolist() for r in asm.add(Packet(kind="frame", counts=np.zeros((n, 3), np.int32), timestamp_ns=t))]
    times = np.concatenate([r[2] for r in runs])
    assert asm.stats.gaps == [] and times.size == k.size * n
    assert np.array_equal(times[n - 1::n], ts)  # every frame's last sample at its timestamp
    span_s = (times[-1] - times[0]) / 1e9
    assert abs(span_s - (times.size - 1) / fs * (1 + err)) < 1e-3 and span_s - (times.size - 1) / fs > 2.1


def _write(tmp_path, text: str):
    p = tmp_path / "bad.toml"
    p.write_text(text)
    return p


@pytest.mark.parametrize(("edit", "key"), [
    (lambda s: s.replace('uuid = "30304e83-0005-4304-8cc1-af67b961ffb9"\n', ""), "gatt.characteristics.sync_data.uuid"),
    (lambda s: s.replace('"30304e83-0002-4304-8cc1-af67b961ffb9"', '"not-a-uuid"'), "gatt.characteristics.info.uuid"),
    (lambda s: s.replace("max_samples = 38", "max_samples = 39"), "packet.max_samples"),
    (lambda s: s.replace('["seq", "u4"], ', ""), "packet.header"),
    (lambda s: s.replace('["x", "i2"]', '["x", "q9"]'), "packet.sample[0]"),
    (lambda s: s.replace("sync_abort = 0x11", ""), "commands.sync_abort"),
    (lambda s: s.replace("[gatt.characteristics.control]", "[gatt.characteristics.kontrol]"), "gatt.characteristics.control"),
])
def test_bad_profiles_are_refused_naming_the_key(tmp_path, edit, key: str) -> None:
    text = edit((PROFILE_DIR / "impactlab-hip-v1.toml").read_text())
    with pytest.raises(ConfigError) as ei:
        load_profile(_write(tmp_path, text))
    assert ei.value.key == key and str(ei.value).startswith(str(tmp_path / "bad.toml"))


def test_unknown_profile_name() -> None:
    with pytest.raises(ConfigError, match="impactlab-hip-v1"):
        load_profile("no-such-sensor")


@given(st.data())
def test_seq_assembler_property(data) -> None:
    """Any drops, duplicates and local reorders: output in order, each packet once, gaps exactly the drops."""
    n = data.draw(st.integers(2, 60))
    pkts = [decode_packet(HIP, p) for p in encode_packets(HIP, np.zeros((38 * n, 3), int), np.arange(38 * n), kind="live")]
    dropped = sorted(data.draw(st.sets(st.integers(0, n - 2), max_size=n // 3)))  # the last one is never dropped
    sent = [p for p in pkts if p.seq not in dropped]
    order = list(range(len(sent)))
    i = 0
    while i < len(order) - 1:  # swap disjoint neighbours: reordering within the window
        if data.draw(st.booleans()):
            order[i], order[i + 1] = order[i + 1], order[i]
            i += 1
        i += 1
    arrive = []
    for i in order:
        arrive.append(sent[i])
        if data.draw(st.integers(0, 9)) == 0:
            arrive.append(sent[i])
    asm = SeqAssembler(0, window=4)
    out = [p.seq for x in arrive for p in asm.add(x)] + [p.seq for p in asm.flush()]
    assert out == [p.seq for p in sent]
    assert [s for a, b in asm.stats.gaps for s in range(a, b + 1)] == dropped
    assert asm.stats.duplicates == len(arrive) - len(sent)


@given(st.binary(max_size=80))
def test_info_and_marker_random_bytes(data: bytes) -> None:
    for fn in (decode_info, decode_marker):
        try:
            out = fn(HIP, data)
        except DecodeError:
            continue
        assert out is not None


@given(st.integers(0, 2**32 - 1), st.sampled_from([1, 2, 3, 42]))
def test_marker_round_trip(sample: int, code: int) -> None:
    s, label = decode_marker(HIP, encode_marker(HIP, sample, code))
    assert s == sample and label == {1: "vest_on", 2: "vest_off", 3: "button"}.get(code, "code-42")
