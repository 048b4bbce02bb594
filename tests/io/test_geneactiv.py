"""GENEActiv .bin reader: GGIRread's known values, bad pages, bad input, fuzzing."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from impactlab.errors import CorruptFileError, DataQualityWarning, ImpactlabError, UnsupportedFormatError
from impactlab.io import open_recording
from impactlab.io.geneactiv import decode_pages, exact_rate, open_geneactiv, read_geneactiv

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
pytestmark = [
    pytest.mark.real_data,
    pytest.mark.skipif(not SHARED.exists(), reason="../shared/data is not present"),
    pytest.mark.filterwarnings("ignore::impactlab.errors.DataQualityWarning"),
]


@pytest.fixture
def bin_path(shared_data: Path) -> Path:
    return shared_data / "GGIRread" / "GENEActiv_testfile.bin"


def _pages(raw: bytes) -> list[int]:
    out, i = [], raw.find(b"Recorded Data")
    while i >= 0:
        out.append(i)
        i = raw.find(b"Recorded Data", i + 1)
    return out


def test_ggirread_known_values(bin_path: Path) -> None:
    src = open_geneactiv(bin_path)
    with pytest.warns(DataQualityWarning, match=r"header lists 222048 pages but the file holds 16"):
        rec = src.read()
    assert len(rec) == 16 * 300  # 17 pages in the file, the last cut off
    m = rec.meta
    assert m.device == "geneactiv" and m.serial == "012967" and m.range_g == 8.0
    assert m.sample_rate_hz == pytest.approx(600 / 7) and m.timezone == "Etc/GMT-1"  # "GMT +01:00"
    assert rec.data.index[0].value / 1e9 == pytest.approx(1369905174.5)  # GGIRread time[1]
    assert rec.data["temperature_c"].iloc[0] == pytest.approx(21.5)
    assert rec.data["z"].iloc[299] == pytest.approx(-0.808364, abs=1e-6)  # GGIRread z[300]
    # pages are 3.5 s apart and 300 samples long: the samples are evenly spaced across pages
    d = np.diff(rec.data.index.as_unit("ns").asi8)
    assert np.abs(d - 7e9 / 600).max() <= 1
    assert src.extra["geneactiv"]["bad_page_list"] == [{"page": 16, "offset": 62543}]


def test_decode_pages_sign_and_order() -> None:
    # x = 0x800 (-2048), y = 0x7FF (2047), z = 0x001, light/button = 0xABC
    line = ("8007FF001ABC" * 300).encode()
    v = decode_pages(line, 1)
    assert v.shape == (300, 3) and v[0].tolist() == [-2048, 2047, 1]


def test_exact_rates() -> None:
    assert exact_rate(85.7) == pytest.approx(600 / 7)
    assert exact_rate(100.0) == 100.0 and exact_rate(16.7) == pytest.approx(600 / 36) and exact_rate(10) == 10.0


def test_chunk_size_and_tz(bin_path: Path) -> None:
    whole = read_geneactiv(bin_path)
    small = open_geneactiv(bin_path, chunk_bytes=9000, tz="Europe/London")
    parts = list(small.chunks())
    assert len(parts) > 4
    data = pd.concat([p.data for p in parts])
    np.testing.assert_array_equal(data[["x", "y", "z"]].to_numpy(), whole.data[["x", "y", "z"]].to_numpy())
    # London in May is UTC+1 as well: same instants
    np.testing.assert_array_equal(data.index.as_unit("ns").asi8, whole.data.index.as_unit("ns").asi8)


def test_damaged_page_in_the_middle(bin_path: Path, tmp_path: Path) -> None:
    raw = bytearray(bin_path.read_bytes())
    starts = _pages(bytes(raw))
    hex_at = raw.find(b"Measurement Frequency:85.7\r\n", starts[5]) + len(b"Measurement Frequency:85.7\r\n")
    raw[hex_at + 100] = ord("G")
    p = tmp_path / "bad.bin"
    p.write_bytes(bytes(raw))
    src = open_geneactiv(p)
    with pytest.warns(DataQualityWarning, match=rf"skipped 2 damaged or cut-off page\(s\): 5 \(byte {starts[5]}\), 16"):
        rec = src.read()
    assert len(rec) == 15 * 300
    gap = np.diff(rec.data.index.as_unit("ns").asi8).max() / 1e9
    assert gap == pytest.approx(3.5 + 7 / 600, abs=1e-6)  # one page missing, nothing invented


def test_zero_length_and_other_formats(tmp_path: Path, shared_data: Path) -> None:
    p = tmp_path / "empty.bin"
    p.write_bytes(b"")
    with pytest.raises(CorruptFileError, match=r"empty\.bin: the file is empty"):
        open_geneactiv(p)
    q = tmp_path / "cwa_renamed.bin"
    q.write_bytes((shared_data / "skdh" / "ax6_sample.cwa").read_bytes()[:4096])
    with pytest.raises(UnsupportedFormatError, match=r"not a GENEActiv \.bin file: it looks like an Axivity \.cwa"):
        open_geneactiv(q)
    r = tmp_path / "table.bin"
    r.write_bytes(b"time,x,y,z\n0,0,0,1\n")
    with pytest.raises(UnsupportedFormatError, match="it looks like a text file starting 'time,x,y,z'"):
        open_recording(r)


def test_header_without_calibration(bin_path: Path, tmp_path: Path) -> None:
    raw = bin_path.read_bytes().replace(b"x gain:25875", b"x gain:0")
    p = tmp_path / "nocal.bin"
    p.write_bytes(raw)
    with pytest.raises(CorruptFileError, match="Calibration Data"):
        open_geneactiv(p)


def test_header_only(bin_path: Path, tmp_path: Path) -> None:
    raw = bin_path.read_bytes()
    p = tmp_path / "hdr.bin"
    p.write_bytes(raw[: _pages(raw)[0] + 200])
    with pytest.raises(CorruptFileError, match="no complete data page"):
        open_geneactiv(p)


@given(st.lists(st.tuples(st.integers(0, 40_000), st.integers(0, 7)), min_size=1, max_size=20))
def test_bit_flips_raise_only_impactlab_errors(flips: list[tuple[int, int]]) -> None:
    raw = bytearray((SHARED / "GGIRread" / "GENEActiv_testfile.bin").read_bytes()[:40_000])
    for pos, bit in flips:
        raw[pos % len(raw)] ^= 1 << bit
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "f.bin"
        p.write_bytes(bytes(raw))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataQualityWarning)
            try:
                rec = open_geneactiv(p).read()
            except ImpactlabError:
                return
    assert rec.data.index.is_monotonic_increasing and np.isfinite(rec.data[["x", "y", "z"]].to_numpy()).all()
