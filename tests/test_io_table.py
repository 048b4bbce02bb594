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


# -- times that decode to before 2000 (relative seconds, a unit taken for another) ----------------
def _epoch_csv(path: Path, t0: float, scale: float = 1.0, header: str | None = "time,x,y,z") -> Path:
    """60 s at 50 Hz of a still sensor (y up), times ``t0 + k/50`` s written in units of ``1/scale`` s."""
    rng = np.random.default_rng(7)
    t = (t0 + np.arange(3000) / 50) * scale
    xyz = rng.normal(0, 0.01, (3000, 3)) + np.array([0.0, 1.0, 0.0])
    rows = [f"{ti:.3f},{a:.4f},{b:.4f},{c:.4f}" for ti, (a, b, c) in zip(t, xyz, strict=True)]
    path.write_text("\n".join(([header] if header else []) + rows) + "\n")
    return path


def test_relative_seconds_warned_through_analyze_and_convert(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Seconds since the start (1e5 s = 1970-01-02) are read as epoch seconds, as their magnitude says,
    but the user is told the dates are not real, with the file, the column and what to write instead."""
    from impactlab.cli.main import main

    p = _epoch_csv(tmp_path / "rel.csv", 100_000.0, header="epoch,x,y,z")
    assert main(["analyze", str(p), "--format", "json"]) == 0
    err = capsys.readouterr().err
    assert (f"warning: {p}: the first time in column 'epoch' ('100000.000', read as seconds since 1970) is "
            "1970-01-02T03:46:40+00:00, before 2000") in err
    assert "write them as ISO 8601 with an offset" in err and "seconds since 1970 of the real clock" in err
    out = tmp_path / "rel.parquet"
    assert main(["convert", str(p), "--output", str(out)]) == 0
    assert "1970-01-02T03:46:40+00:00, before 2000" in capsys.readouterr().err  # convert says it too
    assert main(["analyze", str(out), "--format", "json"]) == 0  # and the Parquet file keeps saying it
    assert f"warning: {out}: the first time in column 'time' (Parquet timestamp[ns, tz=UTC]) is 1970-01-02" in \
        capsys.readouterr().err
    # headerless: the column is named by its position
    bare = _epoch_csv(tmp_path / "bare.csv", 3600.0, header=None)
    src = open_recording(bare)
    assert any("first time in column 1 ('3600.000', read as seconds since 1970) is 1970-01-01T01:00:00+00:00" in n
               for n in src.notes)


@pytest.mark.parametrize(("t0", "scale", "unit"), [(1_772_438_400.0, 1.0, "seconds"), (1_772_438_400.0, 1e3, "milliseconds"),
                                                  (946_684_800.0, 1.0, "seconds")])
def test_real_epoch_times_not_warned(tmp_path: Path, t0: float, scale: float, unit: str) -> None:
    """2026-03-02 in s or ms, and 2000-01-01 itself: read in the unit their size says, no early-time note."""
    src = open_recording(_epoch_csv(tmp_path / "e.csv", t0, scale))
    assert src.meta.timezone == "UTC" and not any("before 2000" in n for n in src.notes)
    assert src.read().data.index[0] == pd.Timestamp(int(t0), unit="s", tz="UTC")
    assert (unit == "seconds") != any("read as milliseconds" in n for n in src.notes)


def test_parquet_milliseconds_stored_as_nanoseconds_warned(tmp_path: Path) -> None:
    """A logger's epoch milliseconds made a timestamp with pd.to_datetime but without unit='ms' are
    nanoseconds: 2026-03-02 becomes 1970-01-01T00:29:32; the note names the file, the column and the fix."""
    t_ms = 1_772_438_400_000 + np.arange(3000) * 20  # 50 Hz
    rng = np.random.default_rng(3)
    df = pd.DataFrame({"time": pd.to_datetime(t_ms, utc=True), "x": rng.normal(0, 0.01, 3000),
                       "y": 1 + rng.normal(0, 0.01, 3000), "z": rng.normal(0, 0.01, 3000)})
    p = tmp_path / "ms.parquet"
    df.to_parquet(p)
    src = open_recording(p)
    assert str(src.read().data.index[0]) == "1970-01-01 00:29:32.438400+00:00"
    note = next(n for n in src.notes if "before 2000" in n)
    assert note.startswith(f"{p}: the first time in column 'time' (Parquet timestamp[ns, tz=UTC]) is "
                           "1970-01-01T00:29:32.438400+00:00, before 2000")
    assert "pd.to_datetime(df['time'], unit='s', utc=True)" in note
