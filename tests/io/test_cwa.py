"""Axivity .cwa reader and encoder: real files with known answers, bad input, fuzzing, chunked = whole."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from impactlab import analyze
from impactlab.errors import CorruptFileError, DataQualityWarning, ImpactlabError, UnsupportedFormatError
from impactlab.io import open_recording
from impactlab.io.cwa import (
    BLOCK_BYTES,
    HEADER_BYTES,
    decode_blocks,
    open_cwa,
    pack_timestamp,
    read_cwa,
    unpack_timestamp,
    write_cwa,
)
from impactlab.recording import Recording
from impactlab.simulate import Walk, simulate_recording

pytestmark = pytest.mark.filterwarnings("ignore::impactlab.errors.DataQualityWarning")


def _xyz(rec: Recording) -> np.ndarray:
    return rec.data[["x", "y", "z"]].to_numpy(np.float64)


# -- real files ---------------------------------------------------------------------------------------


@pytest.mark.real_data
@pytest.mark.parametrize(("name", "fs", "rng_g", "model"), [("ax3", 200.0, 8.0, "AX3"), ("ax6", 100.0, 16.0, "AX6")])
def test_skdh_truth(shared_data: Path, name: str, fs: float, rng_g: float, model: str) -> None:
    truth = np.load(shared_data / "skdh" / f"{name}_data.npz")
    rec = read_cwa(shared_data / "skdh" / f"{name}_sample.cwa", tz="UTC")
    assert len(rec) == truth["accel"].shape[0]  # 58 800 and 10 360
    assert rec.meta.sample_rate_hz == fs == float(truth["fs"][0])
    assert rec.meta.range_g == rng_g and rec.meta.extra["model"] == model and rec.meta.device == "axivity"
    np.testing.assert_allclose(_xyz(rec), truth["accel"], atol=5e-5, rtol=0)  # skdh's own tolerance
    t = rec.data.index.as_unit("ns").asi8 / 1e9
    # skdh ignores the fractional block timestamp; the two agree within two 100 Hz periods
    assert np.abs(t - truth["time"]).max() < 0.02
    assert np.median(np.diff(t)) == pytest.approx(np.median(np.diff(truth["time"])), rel=0.02)
    assert rec.data.index.is_monotonic_increasing and rec.data.index.is_unique


@pytest.mark.real_data
def test_ggirread_ax3(shared_data: Path) -> None:
    rec = read_cwa(shared_data / "GGIRread" / "ax3_testfile.cwa", tz="UTC")
    assert len(rec) == 145 * 120
    # GGIRread resamples to 100 Hz from the first to the last sample time: 17 599 rows
    span_s = (rec.data.index[-1] - rec.data.index[0]).total_seconds() + 0.01
    assert int(np.floor(span_s * 100)) == 17599
    # temp[3] = 26.46484 in GGIRread: the second block's raw 261 -> 261 * 75 / 256 - 50
    assert rec.data["temperature_c"].iloc[120] == pytest.approx(26.46484, abs=1e-5)
    assert rec.data["x"].iloc[132] == pytest.approx(0.765625)


@pytest.mark.real_data
def test_corrupt_blocks_are_reported_and_skipped(shared_data: Path) -> None:
    good = read_cwa(shared_data / "GGIRread" / "ax3_testfile.cwa", tz="UTC")
    src = open_cwa(shared_data / "GGIRread" / "ax3_testfile_corrupt_blocks_0_13_14_142_143_144.cwa", tz="UTC")
    with pytest.warns(DataQualityWarning, match=r"skipped 6 bad data block\(s\): 0 \(byte 1024: checksum error\)"):
        rec = src.read()
    assert len(rec) == (145 - 6) * 120
    rep = src.extra["cwa"]
    assert [b["block"] for b in rep["bad_block_list"]] == [0, 13, 14, 142, 143, 144]
    assert [b["offset"] for b in rep["bad_block_list"]][:2] == [HEADER_BYTES, HEADER_BYTES + 13 * BLOCK_BYTES]
    # the blocks kept are the good file's blocks, same values and times: nothing invented
    keep = np.r_[1:13, 15:142]
    rows = (keep[:, None] * 120 + np.arange(120)).ravel()
    np.testing.assert_array_equal(_xyz(rec), _xyz(good)[rows])
    assert rec.data.index[0] == good.data.index[120]


@pytest.mark.real_data
def test_ax6_ggirread_and_dispatch(shared_data: Path) -> None:
    src = open_recording(shared_data / "GGIRread" / "ax6_testfile.cwa", tz="UTC")
    rec = src.read()
    assert len(rec) == 283 * 40 and rec.meta.extra["model"] == "AX6" and rec.meta.range_g == 16.0
    mag = np.sqrt((_xyz(rec) ** 2).sum(axis=1))
    assert 0.9 < np.median(mag) < 1.1


@pytest.mark.real_data
def test_chunk_size_does_not_change_the_result(shared_data: Path) -> None:
    path = shared_data / "skdh" / "ax3_sample.cwa"
    whole = read_cwa(path, tz="UTC")
    small = open_cwa(path, tz="UTC", chunk_blocks=7)
    parts = list(small.chunks())
    assert len(parts) > 50
    pd.testing.assert_frame_equal(pd.concat([p.data for p in parts]), whole.data)


@pytest.mark.real_data
def test_zone_and_vertical_axis(shared_data: Path) -> None:
    with pytest.warns(DataQualityWarning, match="device-local without a zone"):
        src = open_cwa(shared_data / "skdh" / "ax3_sample.cwa")
    assert src.meta.vertical_axis == "-y" and any("detected from the data" in n for n in src.notes)
    src = open_cwa(shared_data / "skdh" / "ax3_sample.cwa", tz="Europe/Paris", vertical_axis="+x")
    first = next(src.chunks())
    assert str(first.data.index.tz) == "Europe/Paris" and src.meta.vertical_axis == "+x"
    # device-local 09:03:37.48 in Paris (UTC+1 in February)
    assert first.data.index[0].tz_convert("UTC").hour == 8


# -- encoder round trip ----------------------------------------------------------------------------------


@pytest.mark.parametrize("packed", [True, False])
def test_write_read_round_trip(tmp_path: Path, packed: bool) -> None:
    rec = simulate_recording(duration_s=120, fs=100, tz="UTC", range_g=8, jumps=[(60.0, 3.0)], seed=3,
                             gaps=[(30.0, 31.5)])
    path = write_cwa(tmp_path / "sim.cwa", rec, packed=packed)
    back = read_cwa(path, tz="UTC")
    assert len(back) == len(rec)
    # times within the 1/32768 s fraction of the block timestamps
    dt = np.abs(back.data.index.as_unit("ns").asi8 - rec.data.index.as_unit("ns").asi8)
    assert dt.max() < 100_000
    v, w = _xyz(back), _xyz(rec)
    small = (np.abs(w) < 1.99).all(axis=1)  # packed: one shift per sample, set by its largest axis
    assert np.abs(v - w)[small].max() <= 0.5 / 256 + 1e-6
    assert np.abs(v - w).max() <= (8.0 if packed else 0.5) / 256 + 1e-6
    assert back.meta.sample_rate_hz == 100.0 and back.meta.range_g == 8.0


def test_timestamp_packing_round_trip() -> None:
    s = pd.DatetimeIndex(["2000-01-01 00:00:00", "2026-03-02 23:59:59", "2063-12-31 12:30:45"]).as_unit("s").asi8
    back, ok = unpack_timestamp(pack_timestamp(s))
    assert ok.all()
    np.testing.assert_array_equal(back, s)


# -- bad input -------------------------------------------------------------------------------------------


@pytest.fixture
def small_cwa(tmp_path: Path) -> Path:
    rec = simulate_recording(duration_s=30, fs=50, tz="UTC", seed=1)
    return Path(write_cwa(tmp_path / "small.cwa", rec))


def test_zero_length(tmp_path: Path) -> None:
    p = tmp_path / "empty.cwa"
    p.write_bytes(b"")
    with pytest.raises(CorruptFileError, match=r"empty.cwa: the file is empty"):
        open_cwa(p)


def test_truncated_inside_header(small_cwa: Path, tmp_path: Path) -> None:
    p = tmp_path / "cut.cwa"
    p.write_bytes(small_cwa.read_bytes()[:700])
    with pytest.raises(CorruptFileError, match="ends at byte 700, inside the 1024-byte metadata header") as err:
        open_cwa(p, tz="UTC")
    assert err.value.offset == 700


def test_truncated_inside_a_block(small_cwa: Path, tmp_path: Path) -> None:
    data = small_cwa.read_bytes()
    n_blocks = (len(data) - HEADER_BYTES) // BLOCK_BYTES
    p = tmp_path / "cut.cwa"
    p.write_bytes(data[: HEADER_BYTES + 5 * BLOCK_BYTES + 100])
    src = open_cwa(p, tz="UTC")
    with pytest.warns(DataQualityWarning, match=r"ends inside a data block .*byte 3584"):
        rec = src.read()
    assert len(rec) == 5 * 120 < n_blocks * 120


def test_corrupted_block_in_the_middle(small_cwa: Path, tmp_path: Path) -> None:
    data = bytearray(small_cwa.read_bytes())
    data[HEADER_BYTES + 3 * BLOCK_BYTES + 200] ^= 0x40
    p = tmp_path / "bad.cwa"
    p.write_bytes(bytes(data))
    src = open_cwa(p, tz="UTC")
    with pytest.warns(DataQualityWarning, match=r"3 \(byte 2560: checksum error\)"):
        rec = src.read()
    whole = read_cwa(small_cwa, tz="UTC")
    assert len(rec) == len(whole) - 120
    assert src.extra["cwa"]["bad_blocks"] == 1


def test_other_format_with_cwa_extension(shared_data: Path, tmp_path: Path) -> None:
    p = tmp_path / "renamed.cwa"
    p.write_bytes((shared_data / "GGIRread" / "GENEActiv_testfile.bin").read_bytes()[:5000])
    with pytest.raises(UnsupportedFormatError, match=r"not an Axivity \.cwa file: it looks like a GENEActiv \.bin"):
        open_recording(p)


def test_unsupported_sample_format(small_cwa: Path, tmp_path: Path) -> None:
    data = bytearray(small_cwa.read_bytes())
    for i in range(len(data[HEADER_BYTES:]) // BLOCK_BYTES):  # a format byte no firmware writes, checksum fixed
        off = HEADER_BYTES + i * BLOCK_BYTES
        data[off + 25] = 0x35
        words = np.frombuffer(bytes(data[off: off + 510]), "<u2")
        data[off + 510: off + 512] = int((0x10000 - int(words.sum()) % 0x10000) % 0x10000).to_bytes(2, "little")
    p = tmp_path / "fmt.cwa"
    p.write_bytes(bytes(data))
    with pytest.raises(UnsupportedFormatError, match=r"sample format 0x35, which impactlab does not decode.*OmGui"):
        open_cwa(p, tz="UTC")
    data[HEADER_BYTES + 300] ^= 1  # and with a bad checksum too: not decodable, reported as corrupt
    p.write_bytes(bytes(data))
    with pytest.raises(CorruptFileError, match="none of the sampled data blocks is readable"):
        open_cwa(p, tz="UTC")


def test_header_only(small_cwa: Path, tmp_path: Path) -> None:
    p = tmp_path / "hdr.cwa"
    p.write_bytes(small_cwa.read_bytes()[:HEADER_BYTES])
    with pytest.raises(CorruptFileError, match="has a header but no data blocks"):
        open_cwa(p)


# -- fuzzing ----------------------------------------------------------------------------------------------


@given(st.binary(min_size=0, max_size=3 * BLOCK_BYTES))
def test_decode_random_bytes_never_crashes(raw: bytes) -> None:
    blocks, _bad = decode_blocks(np.frombuffer(raw, np.uint8))
    assert len(blocks) <= len(raw) // BLOCK_BYTES
    assert np.isfinite(blocks.xyz).all()


@given(st.lists(st.tuples(st.integers(0, 9 * BLOCK_BYTES - 1), st.integers(0, 7)), min_size=1, max_size=12))
def test_bit_flipped_file_raises_only_impactlab_errors(tmp_path_factory: pytest.TempPathFactory,
                                                       flips: list[tuple[int, int]]) -> None:
    base = _fuzz_base(tmp_path_factory)
    data = bytearray(base.read_bytes())
    for pos, bit in flips:
        data[pos % len(data)] ^= 1 << bit
    p = tmp_path_factory.mktemp("fuzz") / "f.cwa"
    p.write_bytes(bytes(data))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        try:
            rec = open_cwa(p, tz="UTC").read()
        except ImpactlabError:
            return
    assert rec.data.index.is_monotonic_increasing and rec.data.index.is_unique
    assert np.isfinite(_xyz(rec)).all()


_FUZZ: dict[str, Path] = {}


def _fuzz_base(factory: pytest.TempPathFactory) -> Path:
    if "p" not in _FUZZ:
        rec = simulate_recording(duration_s=8, fs=100, tz="UTC", seed=2)
        _FUZZ["p"] = Path(write_cwa(factory.mktemp("base") / "base.cwa", rec))
    return _FUZZ["p"]


# -- chunked analysis equals the in-memory one -----------------------------------------------------------


def test_two_day_file_chunked_equals_in_memory(tmp_path: Path) -> None:
    h = 3600.0
    days = [
        simulate_recording(duration_s=24 * h, fs=25.0, start=pd.Timestamp("2026-03-02") + pd.Timedelta(days=d),
                           tz="UTC", vertical_axis="-y", range_g=8.0, seed=10 + d,
                           walks=[Walk(9 * h, 9.2 * h, 110, 0.8)], jumps=[(11 * h + 3 * i, 2.2) for i in range(10)],
                           nonwear=[(0, 6 * h), (22 * h, 24 * h)])
        for d in range(2)
    ]
    path = write_cwa(tmp_path / "two.cwa", days)
    chunked = analyze(open_cwa(path, tz="UTC", vertical_axis="-y", chunk_blocks=500))
    src = open_cwa(path, tz="UTC", vertical_axis="-y")
    whole = src.read()
    first_day = whole.slice_time(end=pd.Timestamp("2026-03-03", tz="UTC"))
    mem = analyze(first_day)
    got = chunked.impacts[chunked.impacts["time"] < pd.Timestamp("2026-03-03", tz="UTC")]
    assert len(mem.impacts) > 100
    assert len(got) == len(mem.impacts)
    np.testing.assert_array_equal(got["time"].to_numpy(), mem.impacts["time"].to_numpy())
    np.testing.assert_allclose(got["peak_g"].to_numpy(), mem.impacts["peak_g"].to_numpy(), atol=1e-6, rtol=0)
    assert chunked.qc["n_samples"] == 2 * 24 * 3600 * 25
