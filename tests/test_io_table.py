"""Plain CSV and Parquet readers: formats, round trips, and every bad input named by line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from impactlab.errors import DataError, ReadError, UnsupportedFormatError
from impactlab.io import open_recording, read_recording, write_parquet
from impactlab.simulate import simulate_recording


def _write(tmp_path: Path, text: str, name: str = "rec.csv") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def _rows(n: int = 200, fs: float = 100.0, start: str = "2026-03-02T08:00:00", fmt: str = "iso-offset") -> str:
    t0 = pd.Timestamp(start, tz="UTC")
    lines = []
    for i in range(n):
        t = t0 + pd.Timedelta(i / fs, "s")
        ts = {"iso-offset": t.isoformat(), "iso-naive": t.tz_localize(None).isoformat(), "epoch": f"{t.value / 1e9:.3f}"}[fmt]
        lines.append(f"{ts},0.01,{1.0 + 0.001 * (i % 7):.3f},-0.02")
    return "\n".join(lines) + "\n"


class TestCsv:
    def test_iso_with_offset(self, tmp_path: Path) -> None:
        rec = read_recording(_write(tmp_path, "time,x,y,z\n" + _rows()))
        assert len(rec) == 200 and rec.meta.sample_rate_hz == 100.0
        assert rec.data.index[0] == pd.Timestamp("2026-03-02T08:00:00", tz="UTC")
        assert rec.meta.vertical_axis == "+y"
        assert rec.data["x"].dtype == np.float32

    def test_naive_times_need_zone(self, tmp_path: Path) -> None:
        p = _write(tmp_path, "time,x,y,z\n" + _rows(fmt="iso-naive"))
        rec = read_recording(p, tz="America/New_York")
        assert rec.meta.timezone == "America/New_York"
        assert rec.data.index[0] == pd.Timestamp("2026-03-02 08:00", tz="America/New_York")

    def test_epoch_seconds_headerless(self, tmp_path: Path) -> None:
        rec = read_recording(_write(tmp_path, _rows(fmt="epoch")), tz="Europe/London")
        assert len(rec) == 200
        assert rec.data.index[0] == pd.Timestamp("2026-03-02T08:00:00", tz="UTC")

    def test_negative_vertical_detected(self, tmp_path: Path) -> None:
        text = _rows(2000).replace(",1.0", ",-1.0")
        src = open_recording(_write(tmp_path, "time,x,y,z\n" + text))
        assert src.meta.vertical_axis == "-y"
        assert any("detected" in n for n in src.notes)

    def test_device_default_sign_checked_against_data(self, tmp_path: Path) -> None:
        rec = simulate_recording(duration_s=60, vertical_axis="+y", seed=3)
        from impactlab.io.table import resolve_vertical_axis

        xyz = rec.data[["x", "y", "z"]].to_numpy()
        axis, note = resolve_vertical_axis(None, xyz, default="-y")
        assert axis == "+y" and note is not None and "not the device's usual -y" in note
        assert resolve_vertical_axis("-x", xyz, default="-y") == ("-x", None)

    def test_ms2_refused_then_converted(self, tmp_path: Path) -> None:
        text = _rows().replace(",1.0", ",9.8")
        p = _write(tmp_path, "time,x,y,z\n" + text)
        with pytest.raises(DataError, match=r"m/s².*--units ms2"):
            read_recording(p)
        rec = read_recording(p, units="ms2")
        assert rec.data["y"].iloc[0] == pytest.approx(9.8 / 9.80665, rel=1e-5)

    def test_empty_file(self, tmp_path: Path) -> None:
        with pytest.raises(ReadError, match="empty"):
            read_recording(_write(tmp_path, ""))

    def test_header_only(self, tmp_path: Path) -> None:
        with pytest.raises(ReadError, match="no samples"):
            read_recording(_write(tmp_path, "time,x,y,z\n"))

    def test_garbled_row_names_line(self, tmp_path: Path) -> None:
        lines = ("time,x,y,z\n" + _rows()).splitlines()
        lines[120] = lines[120].replace("0.01", "0.0#1")
        with pytest.raises(ReadError, match=r"line 121.*not a number") as e:
            read_recording(_write(tmp_path, "\n".join(lines) + "\n"))
        assert e.value.line == 121

    def test_short_row_names_line(self, tmp_path: Path) -> None:
        lines = ("time,x,y,z\n" + _rows()).splitlines()
        lines[57] = lines[57].rsplit(",", 1)[0]
        with pytest.raises(ReadError, match=r"line 58: expected 4 fields"):
            read_recording(_write(tmp_path, "\n".join(lines) + "\n"))

    def test_nan_cell(self, tmp_path: Path) -> None:
        lines = ("time,x,y,z\n" + _rows()).splitlines()
        a, _b, c, d = lines[90].split(",")
        lines[90] = f"{a},,{c},{d}"
        with pytest.raises(ReadError, match="line 91"):
            read_recording(_write(tmp_path, "\n".join(lines) + "\n"))

    def test_non_monotonic_and_duplicate(self, tmp_path: Path) -> None:
        lines = ("time,x,y,z\n" + _rows()).splitlines()
        dup = lines.copy()
        dup[31] = dup[30]
        with pytest.raises(DataError, match=r"line 32: .*repeats"):
            read_recording(_write(tmp_path, "\n".join(dup) + "\n", "dup.csv"))
        back = lines.copy()
        back[40], back[41] = back[41], back[40]
        with pytest.raises(DataError, match=r"line 42: .*goes back"):
            read_recording(_write(tmp_path, "\n".join(back) + "\n", "back.csv"))

    def test_not_a_recording(self, tmp_path: Path) -> None:
        with pytest.raises(UnsupportedFormatError):
            read_recording(_write(tmp_path, "name,age\nann,3\n"))
        p = tmp_path / "image.png"
        p.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
        with pytest.raises(UnsupportedFormatError, match="Supported"):
            read_recording(p)

    def test_missing_file(self, tmp_path: Path) -> None:
        with pytest.raises(ReadError, match="no such file"):
            read_recording(tmp_path / "nope.csv")

    @given(vals=st.lists(st.floats(-1.5, 1.5, allow_nan=False, width=32), min_size=30, max_size=60))
    def test_values_round_trip(self, vals: list[float]) -> None:
        import tempfile

        n = len(vals)
        t0 = pd.Timestamp("2026-01-01", tz="UTC")
        text = "time,x,y,z\n" + "".join(
            f"{(t0 + pd.Timedelta(10 * i, 'ms')).isoformat()},{v!r},1.0,{-v!r}\n" for i, v in enumerate(vals)
        )
        with tempfile.TemporaryDirectory() as d:
            rec = read_recording(_write(Path(d), text))
        assert len(rec) == n
        np.testing.assert_array_equal(rec.data["x"].to_numpy(), np.asarray(vals, np.float32))


class TestParquet:
    def test_round_trip_keeps_meta(self, tmp_path: Path) -> None:
        rec = simulate_recording(duration_s=30, vertical_axis="-y", range_g=8.0, seed=1)
        p = write_parquet(rec, tmp_path / "r.parquet", row_group_rows=700)
        src = open_recording(p)
        assert src.meta.vertical_axis == "-y" and src.meta.range_g == 8.0
        assert src.meta.timezone == "Europe/London"
        chunks = list(src.chunks())
        assert len(chunks) == 5
        back = src.read()
        pd.testing.assert_frame_equal(back.data, rec.data, check_freq=False)

    def test_time_order_checked_across_row_groups(self, tmp_path: Path) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        rec = simulate_recording(duration_s=30, seed=1)
        idx = rec.data.index.to_numpy().copy()
        idx[1500] = idx[1499]  # the first row of the second row group repeats the last of the first
        frame = pd.DataFrame(rec.data.to_numpy(), index=pd.DatetimeIndex(idx, name="time"), columns=rec.data.columns)
        pq.write_table(pa.Table.from_pandas(frame.tz_convert("UTC"), preserve_index=True), tmp_path / "b.parquet",
                       row_group_size=1500)
        with pytest.raises(DataError, match=r"row 1501: .*repeats the previous row's time"):
            list(open_recording(tmp_path / "b.parquet").chunks())
