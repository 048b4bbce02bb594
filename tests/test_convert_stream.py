"""``impactlab convert`` writes chunks as they are decoded: same samples, no file left on failure."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from impactlab.cli.commands.convert import write_parquet_source

from impactlab.errors import DataError
from impactlab.io import open_recording
from impactlab.io.cwa import open_cwa
from impactlab.recording import Recording

pytestmark = [pytest.mark.real_data, pytest.mark.filterwarnings("ignore::impactlab.errors.DataQualityWarning")]


def test_many_chunks_round_trip(shared_data: Path, tmp_path: Path) -> None:
    src = open_cwa(shared_data / "skdh" / "ax3_sample.cwa", tz="UTC", chunk_blocks=32)
    seen: list[int] = []
    n = write_parquet_source(src, tmp_path / "a.parquet", progress=seen.append)
    assert n == 58800 and seen[-1] == n and len(seen) > 10
    assert pq.ParquetFile(tmp_path / "a.parquet").num_row_groups == len(seen)
    back = open_recording(tmp_path / "a.parquet").read()
    pd.testing.assert_frame_equal(back.data, src.read().data, check_exact=True)


def test_failure_midway_leaves_no_file(shared_data: Path, tmp_path: Path) -> None:
    src = open_cwa(shared_data / "skdh" / "ax3_sample.cwa", tz="UTC", chunk_blocks=32)

    def chunks() -> Iterator[Recording]:
        for k, c in enumerate(src.chunks()):
            if k == 5:
                raise DataError("damaged block", path=src.meta.source)
            yield c

    with pytest.raises(DataError, match="damaged block"):
        write_parquet_source(dataclasses.replace(src, chunks=chunks), tmp_path / "b.parquet")
    assert list(tmp_path.iterdir()) == []
