"""The files ``analyze -o`` and ``batch`` write: owner-only (0600) whatever the umask, and one ISO-8601
time format (with its UTC offset) on every row of a time column."""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from impactlab.cli.main import main

from impactlab import analyze
from impactlab.io import open_recording

ROOT = Path(__file__).resolve().parents[1]
ACTIGRAPH = ROOT / "sample_data" / "actigraph-hip-5min.csv"
SAMPLE_DAY = ROOT / "sample_data" / "sim-day.parquet"
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6}|\.\d{9})?([+-]\d\d:\d\d)?$")


@pytest.fixture
def open_umask() -> Iterator[None]:
    old = os.umask(0o022)  # the usual default: files 0644, readable by everyone
    try:
        yield
    finally:
        os.umask(old)


def _shape(text: str) -> str:
    """``2021-04-06T15:43:04.940000+00:00`` -> ``dddd-dd-ddTdd:dd:dd.dddddd+dd:dd``."""
    return re.sub(r"\d", "d", text)


def _time_columns(path: Path) -> dict[str, pd.Series]:
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    return {c: df[c][df[c] != ""] for c in df.columns
            if (df[c] != "").any() and df[c][df[c] != ""].str.match(ISO).all()}


def test_analyze_tables_owner_only_and_one_time_format(tmp_path: Path, open_umask: None,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "results"
    out.mkdir()
    stale = out / "actigraph-hip-5min-Daily.csv"
    stale.write_text("from an earlier run\n")
    stale.chmod(0o644)
    assert main(["-q", "analyze", str(ACTIGRAPH), "--tz", "Europe/Lisbon", "-o", str(out)]) == 0
    files = sorted(out.iterdir())
    assert [p.name for p in files] == [f"actigraph-hip-5min-{n}" for n in ("Daily.csv", "Impacts.csv", "Info.json",
                                                                           "Sessions.csv")]
    assert {p.name: stat.S_IMODE(p.stat().st_mode) for p in files} == {p.name: 0o600 for p in files}

    times = _time_columns(out / "actigraph-hip-5min-Impacts.csv")["time"]
    assert len(times) == 209 and {_shape(t) for t in times} == {"dddd-dd-ddTdd:dd:dd.dddddd+dd:dd"}
    # the text is the same instant as the analysis's own times (two of them fall on a whole second)
    with pytest.warns(UserWarning):
        res = analyze(open_recording(ACTIGRAPH, tz="Europe/Lisbon"))
    want = res.impacts["time"]
    assert (want.dt.microsecond == 0).sum() == 2 and (want.dt.nanosecond == 0).all()
    got = pd.to_datetime(times, format="ISO8601", utc=True)
    assert (got.to_numpy() == want.dt.tz_convert("UTC").to_numpy()).all()
    assert times.str.endswith("+01:00").all()  # Lisbon in April (WEST)


def test_batch_files_owner_only_and_one_time_format(tmp_path: Path, open_umask: None) -> None:
    out = tmp_path / "out"
    assert main(["-q", "batch", str(ACTIGRAPH), str(SAMPLE_DAY), "-o", str(out), "--scheduler", "sync",
                 "--table-format", "csv", "--tz", "Europe/Lisbon"]) == 0
    files = [p for p in out.rglob("*") if p.is_file()]
    assert len(files) >= 18 and (out / "manifest.json") in files and (out / "errors.csv") in files
    assert {str(p.relative_to(out)): oct(stat.S_IMODE(p.stat().st_mode)) for p in files} == \
        {str(p.relative_to(out)): oct(0o600) for p in files}
    seen = 0
    for table in [*out.glob("*/*.csv"), *(out / "collated").glob("*.csv")]:
        for col, values in _time_columns(table).items():
            assert len({_shape(t) for t in values}) == 1, (table.name, col, {_shape(t) for t in values})
            seen += 1
    assert seen >= 12
    impacts = pd.read_csv(out / "actigraph-hip-5min" / "actigraph-hip-5min-Impacts.csv")["time"]
    assert impacts.str.match(ISO).all() and impacts.str.contains(r"\.\d{6}\+01:00$").all()
