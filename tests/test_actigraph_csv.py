"""ActiGraph ActiLife CSV exports: real files from ../shared/data and the reject cases."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from impactlab.errors import DataError, ImpactlabError, UnsupportedFormatError
from impactlab.io import open_recording, read_recording

pytestmark = pytest.mark.real_data


def test_hip_raw_header_and_values(shared_data: Path) -> None:
    rec = read_recording(shared_data / "impactr/hip-raw.csv", tz="Europe/Lisbon")
    assert len(rec) == 30_000
    assert rec.meta.sample_rate_hz == 100.0 and rec.meta.serial == "TAS1F25160319"
    assert rec.meta.vertical_axis == "-y" and rec.meta.range_g == 8.0  # a GT9X Link (TAS serial) though "GT3X+"
    assert rec.data.index[0] == pd.Timestamp("2021-04-06 15:43:00", tz="Europe/Lisbon")
    assert rec.data.index[-1] == pd.Timestamp("2021-04-06 15:47:59.99", tz="Europe/Lisbon")
    np.testing.assert_allclose(rec.data.iloc[0][["x", "y", "z"]].to_numpy(), [0.262, -0.688, 0.063], atol=1e-6)


def test_date_separator_variants_parse_alike(shared_data: Path) -> None:
    a = read_recording(shared_data / "impactr/parser-cases/test-data-hip-imu.csv", tz="UTC")
    b = read_recording(shared_data / "impactr/parser-cases/test-data-date-sep.csv", tz="UTC")
    pd.testing.assert_frame_equal(a.data, b.data)
    assert a.data.index[0] == pd.Timestamp("2017-12-09 15:00", tz="UTC")
    assert "temperature_c" in a.data.columns


def test_us_date_format_30hz(shared_data: Path) -> None:
    rec = read_recording(shared_data / "pygt3x/neo.csv", tz="UTC")
    assert len(rec) == 18_004 and rec.meta.sample_rate_hz == 30.0
    assert rec.data.index[0] == pd.Timestamp("2021-12-20 11:55:00", tz="UTC")


def test_mmss_timestamp_column(shared_data: Path) -> None:
    rec = read_recording(shared_data / "impactr/parser-cases/test-data-hip-raw.csv", tz="UTC")
    assert rec.data.index[0] == pd.Timestamp("2017-12-09 15:00", tz="UTC")
    assert float(rec.data["z"].iloc[0]) == pytest.approx(1.012)


@pytest.mark.parametrize(
    ("name", "err", "what"),
    [
        ("impactr/parser-cases/test-data-epoch.csv", UnsupportedFormatError, "epoch"),
        ("impactr/parser-cases/test-data-no-header.csv", UnsupportedFormatError, "without its 10-line header"),
        ("impactr/parser-cases/test-data-no-actigraph.csv", UnsupportedFormatError, "GENEActiv"),
        ("pygt3x/WRIST_rawLSB_032Hz.csv", DataError, "raw sensor counts"),
    ],
)
def test_reject_cases(shared_data: Path, name: str, err: type, what: str) -> None:
    with pytest.raises(err, match=what) as e:
        open_recording(shared_data / name, tz="UTC").read()
    assert isinstance(e.value, ImpactlabError) and e.value.hint


def test_gzipped_export(shared_data: Path) -> None:
    src = open_recording(shared_data / "read.gt3x/TAS1H30182785_2019-09-17.csv.gz", tz="UTC")
    assert src.meta.sample_rate_hz == 100.0
    first = next(src.chunks())
    assert first.data.index[0] == pd.Timestamp("2019-09-17 18:40:00", tz="UTC")
