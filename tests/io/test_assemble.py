"""RecordingSource.read(): chunks copied into one preallocated result, identical to concatenating them."""

from __future__ import annotations

import dataclasses
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from impactlab.errors import DataError
from impactlab.io import RecordingSource, open_recording, write_parquet
from impactlab.io._assemble import assemble
from impactlab.io.cwa import open_cwa
from impactlab.io.geneactiv import open_geneactiv
from impactlab.recording import Recording, RecordingMeta
from impactlab.simulate import simulate_recording

pytestmark = pytest.mark.filterwarnings("ignore::impactlab.errors.DataQualityWarning")


def _concat(src: RecordingSource) -> pd.DataFrame:
    parts = [c.data for c in src.chunks()]
    return pd.concat(parts) if len(parts) > 1 else parts[0]


def _same(src: RecordingSource) -> int:
    want = _concat(src)
    got = src.read()
    pd.testing.assert_frame_equal(got.data, want, check_exact=True, check_index_type=True, check_column_type=True)
    assert got.meta == src.meta
    return len(list(src.chunks()))


@pytest.mark.real_data
@pytest.mark.parametrize("name", ["skdh/ax3_sample.cwa", "skdh/ax6_sample.cwa",
                                  "GGIRread/ax3_testfile_corrupt_blocks_0_13_14_142_143_144.cwa"])
def test_cwa_many_chunks_equal_concat(shared_data: Path, name: str) -> None:
    src = open_cwa(shared_data / name, tz="UTC", chunk_blocks=16)
    assert _same(src) >= 10
    src = dataclasses.replace(src, n_rows_hint=None)  # size unknown: grown as the chunks come
    assert _same(src) >= 10


@pytest.mark.real_data
def test_geneactiv_many_chunks_equal_concat(shared_data: Path) -> None:
    src = open_geneactiv(shared_data / "GGIRread" / "GENEActiv_testfile.bin", tz="UTC", chunk_bytes=20_000)
    assert _same(src) > 3


def test_parquet_mixed_dtypes_and_short_hint(tmp_path: Path) -> None:
    rec = simulate_recording(duration_s=120, fs=50, tz="Europe/London", seed=3)
    n = len(rec)
    data = rec.data.assign(wear=np.arange(n) % 7 != 0, temperature_c=np.linspace(20, 30, n).astype(np.float32))
    path = write_parquet(Recording(data, rec.meta), tmp_path / "r.parquet", row_group_rows=700)
    src = open_recording(path)
    assert list(src.read().data.columns) == ["x", "y", "z", "wear", "temperature_c"]
    assert _same(src) > 5
    assert _same(dataclasses.replace(src, n_rows_hint=1000)) > 5  # a short hint: the result grows


def _synthetic(n_chunks: int, rows: int, *, back_at: int | None = None) -> RecordingSource:
    meta = RecordingMeta(source="synthetic", device="simulated", sample_rate_hz=100.0, timezone="UTC")
    def chunks() -> Iterator[Recording]:
        rng = np.random.default_rng(0)
        for k in range(n_chunks):
            t = (np.arange(rows, dtype=np.int64) + k * rows) * 10_000_000
            if back_at is not None and k == back_at:
                t -= 20_000_000  # the first two samples repeat / precede the previous chunk's last
            idx = pd.DatetimeIndex(t.view("M8[ns]")).tz_localize("UTC")
            idx.name = "time"
            xyz = rng.standard_normal((rows, 3)).astype(np.float32)
            yield Recording(pd.DataFrame(xyz, index=idx, columns=["x", "y", "z"]), meta, validate=False)

    return RecordingSource(meta=meta, chunks=chunks, n_rows_hint=n_chunks * rows)


def test_peak_memory_is_one_copy_plus_a_chunk() -> None:
    n_chunks, rows = 40, 20_000
    src = _synthetic(n_chunks, rows)
    result_bytes = n_chunks * rows * (8 + 3 * 4)
    tracemalloc.start()
    try:
        rec = src.read()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(rec) == n_chunks * rows
    # keeping every chunk and concatenating would need two copies (2 x result_bytes)
    assert peak < result_bytes * 1.3, (peak, result_bytes)
    for size_hint in (None, 1000):  # grown geometrically: still identical
        pd.testing.assert_frame_equal(dataclasses.replace(src, n_rows_hint=size_hint).read().data, rec.data)


def test_time_going_back_across_chunks_names_the_sample() -> None:
    with pytest.raises(DataError, match=r"sample 60001 \(counted from 1; 1970-01-01 00:09:59.980000\+00:00\) goes back in time"):
        _synthetic(5, 30_000, back_at=2).read()


def test_no_samples() -> None:
    assert assemble(iter([])) is None
    with pytest.raises(DataError, match="no samples"):
        dataclasses.replace(_synthetic(1, 1), chunks=lambda: iter([])).read()


def test_index_unit_is_kept() -> None:
    src = _synthetic(4, 1000)

    def chunks() -> Iterator[Recording]:
        for c in _synthetic(4, 1000).chunks():
            yield Recording(c.data.set_axis(c.data.index.as_unit("us")), c.meta, validate=False)

    src = dataclasses.replace(src, chunks=chunks)
    got = src.read().data
    assert got.index.unit == "us"
    pd.testing.assert_frame_equal(got, _concat(src), check_exact=True)
