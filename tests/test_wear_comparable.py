"""``comparable_to_hannam`` reaches every output: the Daily table, Info.json and the HTML report's flags.

Real file: impactr/hip-raw.csv (ActiGraph GT3X+, hip, 100 Hz) resampled to 30 Hz (ActiGraph's default
rate) with scipy's polyphase resampler, written as a plain time,x,y,z CSV and run through the CLI the
way a user does (``analyze``, then ``import`` and ``report --html``).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.signal as sps

from cli.main import main
from impactlab.io import open_recording

ROOT = Path(__file__).resolve().parents[1]
HIP = ROOT.parent / "shared" / "data" / "impactr" / "hip-raw.csv"
pytestmark = pytest.mark.skipif(not HIP.exists(), reason="impactr/hip-raw.csv absent")


def _csv(tmp_path: Path, fs: int) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rec = open_recording(HIP).read()
    xyz = rec.data[["x", "y", "z"]].to_numpy()
    y = sps.resample_poly(xyz, fs, 100, axis=0) if fs != 100 else xyz
    t = rec.data.index[0] + pd.to_timedelta(np.arange(len(y)) / fs, unit="s")
    path = tmp_path / f"hip-{fs}hz.csv"
    pd.DataFrame({"time": t.strftime("%Y-%m-%dT%H:%M:%S.%f"), "x": y[:, 0], "y": y[:, 1],
                  "z": y[:, 2]}).to_csv(path, index=False, float_format="%.4f")
    return path


@pytest.mark.parametrize(("fs", "comparable"), [(30, False), (100, True)])
def test_daily_info_and_report_carry_the_mark(tmp_path: Path, fs: int, comparable: bool,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    src = _csv(tmp_path, fs)
    out = tmp_path / "out"
    args = ["--vertical-axis", "-y", "--tz", "Europe/London"]
    assert main(["-q", "analyze", str(src), *args, "-o", str(out)]) == 0
    daily = pd.read_csv(out / f"hip-{fs}hz-Daily.csv")
    assert daily["comparable_to_hannam"].tolist() == [comparable]
    info = json.loads((out / f"hip-{fs}hz-Info.json").read_text())
    assert info["qc"]["comparable_to_hannam"]["high"] is comparable
    html = tmp_path / "r.html"
    store = tmp_path / "s.sqlite"
    assert main(["-q", "import", str(src), *args, "--client", "c1", "--store", str(store)]) == 0
    assert main(["-q", "report", "--client", "c1", "--store", str(store), "--html", str(html)]) == 0
    capsys.readouterr()
    text = html.read_text()
    assert ("not comparable with Hannam" in text) is not comparable
    if not comparable:
        assert "sample rate 30 Hz is below the preset" in text
        assert "sample rate 30 Hz" in info["qc"]["comparable_to_hannam"]["reason"]
