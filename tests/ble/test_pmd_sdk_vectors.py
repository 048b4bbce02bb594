"""Polar PMD ACC decoding checked against Polar's own SDK unit-test vectors (AccDataTest.kt).

The hex frames and the expected values are copied as data from polarofficial/polar-ble-sdk into
``tests/ble/data/polar_sdk_acc_vectors.json``; nothing here comes from impactlab's encoder.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest

from impactlab.ble.decode import DecodeError
from impactlab.ble.pmd import decode_acc_frame, parse_control_response, sample_times_ns

VECTORS = {v["name"]: v for v in json.loads((Path(__file__).parent / "data" / "polar_sdk_acc_vectors.json").read_text())["vectors"]}


def _frame(name: str) -> tuple[dict, bytes]:
    v = VECTORS[name]
    return v, bytes.fromhex(v["hex"])


def test_raw_type1_matches_sdk() -> None:
    v, data = _frame("process acc raw data frame type 1")
    f = decode_acc_frame(data, v["factor"])
    assert f.frame_type == 0x01
    assert f.counts.shape == (v["expected_n"], 3)
    for i, mg in v["expected_mg"].items():
        assert f.counts[int(i)].tolist() == mg
        np.testing.assert_allclose(f.g[int(i)], np.array(mg) / 1000.0)
    t = sample_times_ns(f.timestamp_ns, f.counts.shape[0], None, v["sample_rate"])
    assert int(t[-1]) == v["expected_last_timestamp"]
    assert np.all(np.abs(np.diff(t) - 1e9 / 52) <= 1)


def test_delta_type0_matches_sdk_factor_scaling() -> None:
    v, data = _frame("process acc compressed data type 0")
    f = decode_acc_frame(data, v["factor"])
    assert f.frame_type == 0x80
    assert f.counts.shape == (v["expected_n"], 3)
    for i, c in v["expected_counts"].items():
        assert f.counts[int(i)].tolist() == c
        # The SDK reports (factor * count * 1000).toInt() mG: truncation of our g * 1000.
        sdk_mg = [int(np.float32(v["factor"]) * np.float32(x) * np.float32(1000.0)) for x in c]
        assert np.trunc(f.g[int(i)] * 1000).astype(int).tolist() == sdk_mg
    assert abs(f.g[0, 1] - 6.68) < 0.005            # 27376 counts x 2.44e-4 g, not 27.4 g
    assert np.abs(f.g).max() <= v["range_g"]         # the SDK's "data in range" check
    t = sample_times_ns(f.timestamp_ns, f.counts.shape[0], v["previous_timestamp"], 0)
    dt = (v["expected_last_timestamp"] - v["previous_timestamp"]) / v["expected_n"]
    assert int(t[0]) == round(v["previous_timestamp"] + dt)
    assert int(t[-1]) == v["expected_last_timestamp"]


def test_delta_type1_matches_sdk() -> None:
    v, data = _frame("process acc compressed data type 1")
    f = decode_acc_frame(data, v["factor"])
    assert f.frame_type == 0x81
    assert f.counts.shape == (v["expected_n"], 3)
    for i, mg in v["expected_mg"].items():
        assert f.counts[int(i)].tolist() == mg
        np.testing.assert_allclose(f.g[int(i)], np.array(mg) / 1000.0)
    t = sample_times_ns(f.timestamp_ns, 2, v["previous_timestamp"], 0)
    assert t.tolist() == v["expected_timestamps"]


def test_raw_type0_and_type2_widths() -> None:
    # int8 (0x00) and int24 (0x02) raw samples in mG, two's complement little-endian (AccData.kt).
    head = bytes([2]) + (5).to_bytes(8, "little")
    f0 = decode_acc_frame(head + bytes([0x00, 0xFF, 0x80, 0x7F, 1, 2, 3]), None)
    assert f0.counts.tolist() == [[-1, -128, 127], [1, 2, 3]]
    f2 = decode_acc_frame(head + bytes([0x02]) + bytes.fromhex("FFFFFF 000080 FFFF7F"), None)
    assert f2.counts.tolist() == [[-1, -(1 << 23), (1 << 23) - 1]]
    np.testing.assert_allclose(f2.g, f2.counts / 1000.0)


@pytest.mark.parametrize("data, what", [
    (bytes([2, 0, 0]), "shorter than the 10-byte PMD header"),
    (bytes([2]) + bytes(8) + bytes([0x05, 1, 2, 3]), "unknown ACC frame type 0x05"),
    (bytes([2]) + bytes(8) + bytes([0x01, 1, 2, 3]), "not whole 6-byte samples"),
    (bytes([2]) + bytes(8) + bytes([0x80, 1, 2]), "no FACTOR"),
])
def test_bad_frames_raise_decode_error_naming_the_packet(data: bytes, what: str) -> None:
    with pytest.raises(DecodeError, match="log line 7") as e:
        decode_acc_frame(data, None, where="log line 7")
    assert what in str(e.value)


def test_start_response_factor_and_errors() -> None:
    # START (op 2) for ACC (type 2), success, more=0, FACTOR (id 5, 1 value, float32 2.44e-4).
    resp = bytes([0xF0, 0x02, 0x02, 0x00, 0x00, 0x05, 0x01]) + struct.pack("<f", 2.44e-4)
    r = parse_control_response(resp, expect_op=2, expect_type=2)
    assert r.factor == pytest.approx(2.44e-4, rel=1e-6)
    with pytest.raises(DecodeError, match="invalid sample rate"):
        parse_control_response(bytes([0xF0, 0x02, 0x02, 0x08, 0x00]), expect_op=2, expect_type=2)
    with pytest.raises(DecodeError, match="expected 2"):
        parse_control_response(bytes([0xF0, 0x01, 0x02, 0x00, 0x00]), expect_op=2)


def test_simulated_polar_frames_decode_by_the_sdk_rules() -> None:
    # The simulator's 0x80 frames with the FACTOR its START response carries (1e-3) give the
    # recording's samples to the mG (the sensor's resolution), decoded by the SDK-vector-tested code.
    from impactlab.ble.profile import load_profile
    from impactlab.ble.sim import SimulatedSensor
    from impactlab.simulate import simulate_recording

    rec = simulate_recording(duration_s=5, fs=52, jumps=[(2.0, 2.0)], seed=1)
    s = SimulatedSensor(load_profile("polar-verity-sense"), rec, address="F0:1A:B2:00:FF:01")
    g = np.concatenate([decode_acc_frame(fr, 1e-3).g for fr in s.live])
    assert all(fr[9] == 0x80 for fr in s.live)
    want = rec.data[["x", "y", "z"]].to_numpy(np.float64)
    assert g.shape == want.shape
    assert np.abs(g - np.clip(want, -32.767, 32.767)).max() <= 0.0005 + 1e-9
