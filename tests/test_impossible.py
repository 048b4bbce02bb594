"""Impossible values: dropped as missing data with a warning, never impacts; non-finite is an error.

The 60 s base is real: the last minute of impactr's hip-raw.csv (ActiGraph GT3X+, hip, 100 Hz),
rewritten as a plain time,x,y,z CSV (no range in the file), with six -1000 g and thirty 1e30 g samples.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from impactlab.cli.main import main

from impactlab import analyze
from impactlab.errors import ImpactlabError
from impactlab.io import open_recording

ROOT = Path(__file__).resolve().parents[1]
HIP = ROOT.parent / "shared" / "data" / "impactr" / "hip-raw.csv"
pytestmark = pytest.mark.skipif(not HIP.exists(), reason="impactr/hip-raw.csv absent")


def _minute(tmp_path: Path, inject: dict[int, float], name: str = "m.csv") -> Path:
    raw = pd.read_csv(HIP, skiprows=10).iloc[24000:30000, :3].to_numpy(dtype=float)  # the busiest minute
    for row, v in inject.items():
        raw[row, 1] = v
    t = pd.Timestamp("2021-04-06 15:43:00", tz="UTC") + pd.to_timedelta(np.arange(len(raw)) * 10, unit="ms")
    df = pd.DataFrame({"time": [x.isoformat() for x in t], "x": raw[:, 0], "y": raw[:, 1], "z": raw[:, 2]})
    p = tmp_path / name
    df.to_csv(p, index=False)
    return p


def _run(p: Path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return analyze(open_recording(p, vertical_axis="-y"))  # ActiGraph: up is -y


def test_minus_1000_and_1e30_never_impacts(tmp_path: Path) -> None:
    clean = _run(_minute(tmp_path, {}, "clean.csv"))
    rows = {**{r: -1000.0 for r in range(1000, 6000, 1000)}, 5500: -1000.0,
            **{r: 1e30 for r in range(300, 6000, 190)}}
    assert sum(v == -1000.0 for v in rows.values()) == 6 and sum(v == 1e30 for v in rows.values()) == 30
    res = _run(_minute(tmp_path, rows))
    assert res.qc["impossible_samples"] == 36
    assert clean.band_totals()["high"] >= 5
    assert res.band_totals()["high"] == clean.band_totals()["high"]
    assert res.band_totals() == clean.band_totals()
    w = [m for m in res.qc["warnings"] if "cannot be accelerations" in m]
    assert w and "36 sample(s)" in w[0] and "first at sample 301, counted from 1" in w[0] and "never counted as impacts" in w[0]
    assert float(res.impacts["peak_g"].max()) == pytest.approx(float(clean.impacts["peak_g"].max()), abs=0.05)


def test_non_finite_is_an_error(tmp_path: Path) -> None:
    p = _minute(tmp_path, {42: float("inf")})
    with pytest.raises(ImpactlabError, match="line 44"):  # row 42 = line 44 (header, 1-based)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            src = open_recording(p)
            analyze(src)


def test_long_run_is_a_gap(tmp_path: Path) -> None:
    res = _run(_minute(tmp_path, {r: -1000.0 for r in range(3000, 3050)}))
    assert res.qc["impossible_samples"] == 50
    assert res.qc["gaps"] == 1 and res.qc["gap_list"][0]["row"] == 3000
    assert float(res.impacts["peak_g"].max()) < 5.0


def test_impossible_sample_number_is_the_users(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`impactlab analyze` names the first impossible sample by its number counted from 1, header
    lines not counted: in this CSV (one header line) it is on the file line one further."""
    p = _minute(tmp_path, {1234: 1e30, 2000: 1e30})
    assert main(["analyze", str(p), "--vertical-axis", "-y", "--format", "json"]) == 0
    err = capsys.readouterr().err
    assert "2 sample(s) beyond" in err and "the first at sample 1235, counted from 1 without header lines" in err
    lines = p.read_text().splitlines()
    assert lines[0] == "time,x,y,z" and float(lines[1235].split(",")[2]) == 1e30  # file line 1236
