"""ActiGraph .gt3x / .agdc reader: ActiLife and pygt3x exports, idle sleep, bad input, fuzzing."""

from __future__ import annotations

import io
import struct
import tempfile
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from impactlab.errors import CorruptFileError, DataQualityWarning, ImpactlabError, UnsupportedFormatError
from impactlab.io import open_recording
from impactlab.io.gt3x import decode_sspfloat, open_gt3x, read_gt3x, scan_records, unpack12
from impactlab.recording import Recording

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
real = pytest.mark.skipif(not SHARED.exists(), reason="../shared/data is not present")
pytestmark = pytest.mark.filterwarnings("ignore::impactlab.errors.DataQualityWarning")
READ_GT3X = SHARED / "read.gt3x" / "TAS1H30182785_2019-09-17.gt3x"


def _xyz(rec: Recording) -> np.ndarray:
    return rec.data[["x", "y", "z"]].to_numpy(np.float64)


def _round_away(v: np.ndarray) -> np.ndarray:
    """ActiLife's rounding to 3 decimals (midpoints away from zero)."""
    return np.sign(v) * np.floor(np.abs(v) * 1000 + 0.5) / 1000


def _actilife(path: Path) -> np.ndarray:
    return pd.read_csv(path, skiprows=10).to_numpy(np.float64)


# -- synthetic files ---------------------------------------------------------------------------------------


def record(typ: int, ts: int, payload: bytes) -> bytes:
    """One log.bin record with its checksum (ActiGraph's published layout)."""
    head = struct.pack("<BBIH", 0x1E, typ, ts, len(payload))
    x = int(np.bitwise_xor.reduce(np.frombuffer(head + payload, np.uint8)))
    return head + payload + bytes([(~x) & 0xFF])


def pack12(v: np.ndarray) -> bytes:
    """(n, 3) int values -> 12-bit big-endian packed bytes (the ACTIVITY layout, axes in file order)."""
    u = (np.asarray(v, np.int64).ravel() & 0xFFF)
    nib = np.stack([(u >> 8) & 15, (u >> 4) & 15, u & 15], axis=1).ravel()
    if nib.size % 2:
        nib = np.r_[nib, 0]
    return bytes(((nib[0::2] << 4) | nib[1::2]).astype(np.uint8))


INFO = ("Serial Number: MOS2TEST00001\nDevice Type: wGT3XBT\nFirmware: 1.9.2\nSample Rate: 30\n"
        "Start Date: 637340333400000000\nTimeZone: 01:00:00\nAcceleration Scale: 256.0\n"
        "Acceleration Min: -8.0\nAcceleration Max: 8.0\n")
T0 = 1_600_000_000


def make_gt3x(path: Path, log: bytes, info: str = INFO) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("info.txt", info)
        z.writestr("log.bin", log)
    return path


def activity2(ts: int, seed: int) -> tuple[bytes, np.ndarray]:
    v = np.random.default_rng(seed).integers(-300, 300, size=(30, 3)).astype("<i2")
    v[:, 2] += 256
    return record(0x1A, ts, v.tobytes()), v


# -- real files ---------------------------------------------------------------------------------------------


@real
def test_link_idle_sleep_matches_actilife_and_pygt3x_counts() -> None:
    src = open_gt3x(READ_GT3X)
    rec = src.read()
    m = rec.meta
    assert (m.device, m.serial, m.sample_rate_hz, m.range_g, m.timezone) == (
        "actigraph", "TAS1H30182785", 100.0, 8.0, "Etc/GMT+4")
    assert len(rec) == 33000 and rec.data.index[0] == pd.Timestamp("2019-09-17 18:40:00", tz="Etc/GMT+4")
    rep = src.extra["gt3x"]
    assert len(rep["idle_sleep"]) == 5 and rep["usb_records"] == 2
    # pygt3x 0.7.1 fills idle sleep with the last sample: 215 200 rows; the rows it has beyond ours are exactly
    # the idle-sleep seconds impactlab reports
    assert len(rec) + rep["idle_sleep_s"] * 100 == 215200
    # ActiLife's export (3 decimals) agrees on every sample impactlab has
    csv = _actilife(SHARED / "read.gt3x" / "TAS1H30182785_2019-09-17.csv.gz")
    row = np.rint((rec.data.index.tz_localize(None) - pd.Timestamp("2019-09-17 18:40:00"))
                  .total_seconds().to_numpy() * 100).astype(int)
    np.testing.assert_array_equal(_round_away(_xyz(rec)), csv[row])
    # and repeats the last value over an idle period (which impactlab leaves out)
    first = rep["idle_sleep"][1]
    a = int((pd.Timestamp(first["start"]).tz_localize(None) - pd.Timestamp("2019-09-17 18:40:00")).total_seconds() * 100)
    assert (csv[a: a + 1000] == csv[a - 1]).all()


@real
def test_pygt3x_cross_check() -> None:
    import pygt3x.reader as reader  # in the [test] extra: missing is a failure, not a skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with reader.FileReader(str(READ_GT3X)) as rd:
            df = rd.to_pandas()
    ours = read_gt3x(READ_GT3X, tz="UTC")
    real_rows = df[df["IdleSleepMode"] == 0]
    assert len(real_rows) == len(ours)
    np.testing.assert_array_equal(np.rint(real_rows.index.to_numpy() * 1000).astype(np.int64),
                                  ours.data.index.as_unit("ms").asi8)
    np.testing.assert_allclose(real_rows[["X", "Y", "Z"]].to_numpy(), _xyz(ours), atol=1e-7, rtol=0)


@real
def test_idle_sleep_pair() -> None:
    on = open_gt3x(SHARED / "pygt3x" / "ISM_Enabled.gt3x")
    rec_on = on.read()
    rec_off = read_gt3x(SHARED / "pygt3x" / "ISM_Disabled.gt3x")
    assert len(rec_off) == 9000 and len(rec_on) == 2190
    assert rec_on.data.index.isin(rec_off.data.index).all()
    periods = on.extra["gt3x"]["idle_sleep"]
    assert [p["duration_s"] for p in periods] == [68.0, 38.0, 121.0]
    assert len(rec_on) + on.extra["gt3x"]["idle_sleep_s"] * 30 == len(rec_off)


@real
def test_ggir_waist_file() -> None:
    src = open_gt3x(SHARED / "GGIR" / "actigraph_testfile.gt3x")
    rec = src.read()
    assert len(rec) == 17640 and rec.meta.sample_rate_hz == 30.0 and rec.meta.timezone == "Etc/GMT-2"
    assert rec.meta.extra["limb"] == "Waist" and rec.meta.vertical_axis == "-y"
    # 53 040 = the file's rows with idle sleep filled (GGIR/ActiLife), = ours + idle seconds x 30
    assert len(rec) + src.extra["gt3x"]["idle_sleep_s"] * 30 == 53040
    assert 0.95 < np.median(np.sqrt((_xyz(rec) ** 2).sum(axis=1))) < 1.05


@real
def test_nhanes_activity_bin() -> None:
    rec = read_gt3x(SHARED / "pygt3x" / "neo.gt3x")
    assert len(rec) == 18004 and rec.meta.extra["layout"] == "activity.bin"
    assert rec.data.index[0] == pd.Timestamp("2021-12-20 11:55:00", tz="Etc/GMT+6")  # info.txt ticks, -06:00
    csv = _actilife(SHARED / "pygt3x" / "neo.csv")
    np.testing.assert_allclose(_xyz(rec), csv, atol=0.0005 + 1e-6, rtol=0)
    np.testing.assert_array_equal(_round_away(np.round(_xyz(rec) * 341) / 341), csv)


@real
def test_agdc_calibrated_with_its_calibration_json() -> None:
    rec = read_gt3x(SHARED / "pygt3x" / "WRIST_rawLSB_032Hz_test.agdc", tz="UTC")
    csv = _actilife(SHARED / "pygt3x" / "WRIST_rawCalibrated_032Hz.csv")
    assert len(rec) == len(csv) == 1920 and rec.meta.sample_rate_hz == 32.0
    np.testing.assert_allclose(_xyz(rec), csv, atol=1e-6, rtol=0)


@real
def test_small_link_file_count() -> None:
    src = open_recording(SHARED / "pygt3x" / "small.gt3x", tz="UTC")
    n = sum(len(c) for c in src.chunks())
    assert n == 810270  # pygt3x's rows outside idle sleep


# -- format details -------------------------------------------------------------------------------------------


def test_parameter_float_examples() -> None:
    # examples of ActiGraph's PARAMETERS documentation
    assert decode_sspfloat(0x09400000) == 256.0
    assert decode_sspfloat(0x0C400000) == 2048.0
    assert decode_sspfloat(0x03419581) == pytest.approx(4.1, abs=2e-3)
    assert decode_sspfloat(0) == 0.0


def test_unpack12_documented_example() -> None:
    raw = np.frombuffer(bytes.fromhex("006008EBD007009EBF007008EBF0"), np.uint8)[None, :]
    v = unpack12(raw, 3)[0]  # y, x, z per the NHANES documentation
    assert v.tolist() == [[6, 8, -323], [7, 9, -321], [7, 8, -321]]


def test_activity_12bit_records(tmp_path: Path) -> None:
    v = np.random.default_rng(0).integers(-2048, 2048, size=(30, 3))
    log = record(0x00, T0, pack12(v[:, [1, 0, 2]])) + record(0x00, T0 + 1, pack12(v[:, [1, 0, 2]]))
    rec = read_gt3x(make_gt3x(tmp_path / "a.gt3x", log))
    np.testing.assert_allclose(_xyz(rec)[:30], v / 256.0, atol=1e-7)
    assert rec.meta.timezone == "Etc/GMT-1" and rec.data.index[0].tz_convert("UTC") == pd.Timestamp(T0 - 3600, unit="s", tz="UTC")


def test_padding_usb_and_time_travel(tmp_path: Path) -> None:
    a, va = activity2(T0, 1)
    b, _ = activity2(T0 + 1, 2)
    back, _ = activity2(T0, 3)  # repeats second T0: dropped
    log = a + b"\x00\x00\x00" + record(0x1A, T0 + 1, b"\x5a") + b + back
    src = open_gt3x(make_gt3x(tmp_path / "p.gt3x", log))
    with pytest.warns(DataQualityWarning, match="repeat or go back in time"):
        rec = src.read()
    assert len(rec) == 60 and src.extra["gt3x"]["usb_records"] == 1
    np.testing.assert_allclose(_xyz(rec)[:30], va / 256.0, atol=1e-7)


def test_corrupted_record_in_the_middle(tmp_path: Path) -> None:
    recs = [activity2(T0 + i, i)[0] for i in range(5)]
    log = bytearray(b"".join(recs))
    bad_at = len(recs[0]) + len(recs[1]) + 50  # a payload byte of the third record
    log[bad_at] ^= 0x10
    src = open_gt3x(make_gt3x(tmp_path / "c.gt3x", bytes(log)))
    with pytest.warns(DataQualityWarning, match=rf"skipped 1 damaged log record.*byte offsets {len(recs[0]) + len(recs[1])}"):
        rec = src.read()
    assert len(rec) == 120
    assert np.diff(rec.data.index.as_unit("ns").asi8).max() == pytest.approx(1e9 + 1e9 / 30, abs=10)  # one second lost


def test_garbage_between_records_resyncs(tmp_path: Path) -> None:
    a, _ = activity2(T0, 1)
    b, _ = activity2(T0 + 1, 2)
    src = open_gt3x(make_gt3x(tmp_path / "g.gt3x", a + b"\xff\x13\x1e\x00garbage" + b))
    with pytest.warns(DataQualityWarning, match="damaged log record"):
        rec = src.read()
    assert len(rec) == 60


def test_truncated_archive(tmp_path: Path) -> None:
    log = b"".join(activity2(T0 + i, i)[0] for i in range(200))
    full = make_gt3x(tmp_path / "full.gt3x", log)
    with zipfile.ZipFile(full) as z:
        assert z.getinfo("log.bin").compress_type == zipfile.ZIP_STORED
    # write info.txt first so that a cut keeps it
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("info.txt", INFO)
        z.writestr("log.bin", log)
    cut = tmp_path / "cut.gt3x"
    cut.write_bytes(buf.getvalue()[: len(buf.getvalue()) * 6 // 10])
    with pytest.warns(DataQualityWarning, match="cut short"):
        src = open_gt3x(cut)
    rec = src.read()
    assert 0 < len(rec) < 200 * 30 and len(rec) % 30 == 0
    np.testing.assert_array_equal(_xyz(rec), _xyz(read_gt3x(full))[: len(rec)])


def test_zero_length_and_other_format(tmp_path: Path) -> None:
    p = tmp_path / "empty.gt3x"
    p.write_bytes(b"")
    with pytest.raises(CorruptFileError, match=r"empty\.gt3x: the file is empty"):
        open_gt3x(p)
    q = tmp_path / "renamed.gt3x"
    q.write_bytes(b"MD\xfc\x03" + bytes(2000))
    with pytest.raises(UnsupportedFormatError, match=r"not an ActiGraph .gt3x/.agdc archive: it looks like an Axivity .cwa.*"
                                                     r"export raw data in g from ActiLife"):
        open_recording(q)


def test_archive_without_samples(tmp_path: Path) -> None:
    p = tmp_path / "noact.gt3x"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("info.txt", INFO)
        z.writestr("lux.bin", b"\x00" * 10)
    with pytest.raises(UnsupportedFormatError, match=r"neither log\.bin nor activity\.bin"):
        open_gt3x(p)
    epoch = b"".join(record(0x0C, T0 + 60 * i, bytes(8)) for i in range(5))
    with pytest.raises(UnsupportedFormatError, match=r"no raw acceleration \(epoch counts only\).*raw data"):
        open_gt3x(make_gt3x(tmp_path / "epoch.gt3x", epoch))
    with pytest.raises(CorruptFileError, match="no valid 'Sample Rate'"):
        open_gt3x(make_gt3x(tmp_path / "rate.gt3x", activity2(T0, 0)[0], INFO.replace("Sample Rate: 30", "Sample Rate: x")))


def test_raw_counts_without_calibration_refused(tmp_path: Path) -> None:
    info = INFO.replace("Acceleration Scale: 256.0", "Acceleration Scale: 1")
    with pytest.raises(UnsupportedFormatError, match="raw sensor counts"):
        open_gt3x(make_gt3x(tmp_path / "raw.gt3x", activity2(T0, 0)[0], info))


# -- fuzzing -----------------------------------------------------------------------------------------------------


@given(st.lists(st.tuples(st.integers(0, 5_000), st.integers(0, 7)), min_size=1, max_size=6))
def test_bit_flipped_archive_raises_only_impactlab_errors(flips: list[tuple[int, int]]) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("info.txt", INFO)
        z.writestr("log.bin", b"".join(activity2(T0 + i, i)[0] for i in range(20)))
    raw = bytearray(buf.getvalue())
    for pos, bit in flips:
        raw[pos % len(raw)] ^= 1 << bit
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "z.gt3x"
        p.write_bytes(bytes(raw))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataQualityWarning)
            try:
                rec = open_gt3x(p).read()
            except ImpactlabError:
                return
    assert rec.data.index.is_monotonic_increasing and np.isfinite(_xyz(rec)).all()


@given(st.binary(max_size=2000))
def test_scan_random_bytes(raw: bytes) -> None:
    recs, used, _problems = scan_records(raw)
    assert 0 <= used <= len(raw)
    assert (recs["start"] + 9 + recs["size"] <= len(raw)).all()


@given(st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 7)), min_size=1, max_size=10))
def test_bit_flipped_log_raises_only_impactlab_errors(flips: list[tuple[int, int]]) -> None:
    log = bytearray(b"".join(activity2(T0 + i, i)[0] for i in range(10))
                    + record(0x03, T0 + 10, b"\x08") + record(0x03, T0 + 20, b"\x09") + activity2(T0 + 20, 99)[0])
    for pos, bit in flips:
        log[pos % len(log)] ^= 1 << bit
    with tempfile.TemporaryDirectory() as d:
        p = make_gt3x(Path(d) / "f.gt3x", bytes(log))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataQualityWarning)
            try:
                rec = open_gt3x(p).read()
            except ImpactlabError:
                return
    assert rec.data.index.is_monotonic_increasing and rec.data.index.is_unique
    assert np.isfinite(_xyz(rec)).all()


# -- archives that unpack to far more than a recording (issue 14) ------------------------------------------
def _log_60s() -> bytes:
    return b"".join(activity2(T0 + i, i)[0] for i in range(60))


LAST = f"Last Sample Time: {637340333400000000 + 60 * 10_000_000}\n"


@pytest.mark.parametrize(("info", "match"), [
    (INFO + LAST, r"log.bin would unpack to 1.0 GiB, but info.txt's 0.0 h at 30 Hz fill at most 64.0 MiB"),
    (INFO, r"log.bin would unpack to 1.0 GiB from 1.0 MiB \(\d+:1; recordings compress about 2:1, at most 50:1\)"),
])
def test_gigabyte_log_bin_refused_from_the_header(tmp_path: Path, info: str, match: str) -> None:
    """A 1 MB .gt3x whose log.bin is 1 GiB of zeros is refused before decoding (it used to run > 150 s)."""
    from tests.bad_inputs.zipcraft import deflate_with_zeros, write_zip

    data, usize = deflate_with_zeros(_log_60s(), 1024)
    f = write_zip(tmp_path / "bomb.gt3x", [("info.txt", info.encode(), 0, len(info)), ("log.bin", data, 8, usize)])
    with pytest.raises(CorruptFileError, match=match) as err:
        open_gt3x(f)
    assert str(err.value).startswith(f"{f}: ")


def test_gigabyte_log_bin_without_central_directory(tmp_path: Path) -> None:
    """Cut-off archive: the local header's size is checked; with no size there, unpacking stops after 4 MiB."""
    from tests.bad_inputs.zipcraft import deflate_with_zeros, write_zip

    data, usize = deflate_with_zeros(_log_60s(), 1024)
    members = [("info.txt", INFO.encode(), 0, len(INFO)), ("log.bin", data, 8, usize)]
    with pytest.raises(CorruptFileError, match=r"1\.0 GiB from 1\.0 MiB"):
        open_gt3x(write_zip(tmp_path / "cut.gt3x", members, central=False))
    f = write_zip(tmp_path / "stream.gt3x", members, central=False, descriptor=True)
    with pytest.warns(DataQualityWarning, match="unpacks to over 200 times its size"):
        rec = read_gt3x(f, tz="UTC")
    assert len(rec) == 60 * 30  # the real records before the zeros


def test_oversized_info_txt(tmp_path: Path) -> None:
    from tests.bad_inputs.zipcraft import deflate_with_zeros, write_zip

    data, usize = deflate_with_zeros(INFO.encode(), 8)
    f = write_zip(tmp_path / "info.gt3x", [("info.txt", data, 8, usize), ("log.bin", _log_60s(), 0, 60 * 189)])
    with pytest.raises(CorruptFileError, match=r"info\.txt is over 1 MiB"):
        open_gt3x(f)
