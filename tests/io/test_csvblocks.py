"""CSV text read in pieces of whole lines: the same rows as one ``pyarrow.csv.read_csv``, at any piece size."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from impactlab.io import _csvblocks, read_recording
from impactlab.io._csvblocks import csv_pieces

NAMES = ["t", "x", "y", "z"]
CONVERT = pacsv.ConvertOptions(column_types={n: pa.float64() for n in NAMES})


def _whole(text: bytes, skip: int) -> pa.Table:
    return pacsv.read_csv(pa.py_buffer(text), read_options=pacsv.ReadOptions(column_names=NAMES, skip_rows=skip),
                          convert_options=CONVERT)


def _pieces(text: bytes, skip: int, size: int | None) -> list[pa.Table]:
    return list(csv_pieces(pa.BufferReader(text), skip_rows=skip, column_names=NAMES, convert_options=CONVERT,
                           piece_bytes=size))


values = st.floats(-16, 16, allow_nan=False, width=32)
rows = st.lists(st.tuples(st.integers(0, 10**12), values, values, values), max_size=60)


@settings(max_examples=150, deadline=None)
@given(rows=rows, header=st.lists(st.text("abc,: -", max_size=12), max_size=4), size=st.integers(1, 200),
       newline=st.sampled_from(["\n", "\r\n"]), final=st.booleans(), blank=st.booleans())
def test_any_piece_size_gives_the_rows_of_one_read(rows: list[tuple[int, float, float, float]], header: list[str],
                                                   size: int, newline: str, final: bool, blank: bool) -> None:
    lines = [h.replace("\n", " ") for h in header] + [f"{t},{x!r},{y!r},{z!r}" for t, x, y, z in rows]
    if blank and rows:
        lines.insert(len(header) + len(rows) // 2, "")  # an empty line is skipped, as by read_csv
    text = newline.join(lines) + (newline if final else "")
    if not rows:
        text += "1,0,0,1" + newline  # read_csv refuses a file with no row; so would the readers
    data = text.encode()
    whole = _whole(data, len(header))
    got = _pieces(data, len(header), size)
    assert all(p.num_rows for p in got)
    joined = pa.concat_tables(got) if got else whole.slice(0, 0)
    assert joined.equals(whole)


def test_pieces_are_bounded_and_no_line_is_cut() -> None:
    text = b"".join(b"%d,0.5,-1.0,0.25\n" % i for i in range(10_000))
    got = _pieces(text, 0, 4096)
    assert len(got) > 30  # bounded: many pieces, not one
    assert pa.concat_tables(got)["t"].to_pylist() == list(range(10_000))


def test_a_line_longer_than_a_piece_is_kept_whole() -> None:
    long = b"1," + b"0" * 5000 + b".5,2,3\n"
    got = _pieces(b"h\n" + long + b"2,1,1,1\n", 1, 64)
    t = pa.concat_tables(got)
    assert t["t"].to_pylist() == [1.0, 2.0] and t["x"][0].as_py() == 0.5


def test_a_bad_row_in_a_later_piece_raises() -> None:
    text = b"".join(b"%d,0,0,1\n" % i for i in range(1000)) + b"999,zero,0,1\n"
    with pytest.raises(pa.ArrowInvalid):
        _pieces(text, 0, 256)


def test_the_stream_is_closed_when_left_early() -> None:
    stream = pa.BufferReader(b"".join(b"%d,0,0,1\n" % i for i in range(1000)))
    gen = csv_pieces(stream, skip_rows=0, column_names=NAMES, convert_options=CONVERT, piece_bytes=100)
    next(gen)
    gen.close()
    assert stream.closed


def _plain_csv(tmp_path: Path, n: int = 20_000) -> Path:
    t0 = pd.Timestamp("2026-03-02T08:00:00+00:00")
    rng = np.random.default_rng(3)
    v = 1 + 0.3 * rng.standard_normal(n)
    t = [(t0 + pd.Timedelta(10 * i, "ms")).isoformat() for i in range(n)]
    df = pd.DataFrame({"time": t, "x": np.round(0.02 * rng.standard_normal(n), 4), "y": np.round(v, 4), "z": 0.01})
    p = tmp_path / "rec.csv"
    df.to_csv(p, index=False)
    return p


def test_plain_csv_reads_alike_at_any_piece_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = _plain_csv(tmp_path)
    whole = read_recording(p)
    monkeypatch.setattr(_csvblocks, "PIECE_BYTES", 3001)  # ~70 rows a piece, no piece ends on a second
    small = read_recording(p)
    pd.testing.assert_frame_equal(whole.data, small.data)
    assert whole.meta == small.meta


def test_gzipped_actilife_csv_reads_alike_at_any_piece_size(shared_data: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    src = shared_data / "impactr" / "hip-raw.csv"  # an ActiLife export (see ../shared/data/README.md)
    gz = tmp_path / (src.name + ".gz")
    gz.write_bytes(gzip.compress(src.read_bytes()))
    whole = read_recording(src)
    monkeypatch.setattr(_csvblocks, "PIECE_BYTES", 777)
    small = read_recording(gz)
    pd.testing.assert_frame_equal(whole.data, small.data)
