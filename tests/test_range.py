"""Sensor range: given, declared by the file, contradicted by the data, or inferred from plateaus.

Real file: an Axivity AX3 at ±16 g on the wrist (jumps-ax3-wrist/24_11_g.csv, plain CSV without a
header, so the file cannot say its range); its Y axis saturates on arm-swing jumps (61 samples read
15.94-16 g, 59 of them exactly 16 g; counted independently here with numpy on the raw CSV).
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from impactlab import analyze
from impactlab.config import AnalysisConfig
from impactlab.io import open_recording
from impactlab.recording import Recording

ROOT = Path(__file__).resolve().parents[1]
JUMPS = ROOT.parent / "shared" / "data" / "jumps-ax3-wrist" / "24_11_g.csv"
pytestmark = pytest.mark.skipif(not JUMPS.exists(), reason="jumps-ax3-wrist file absent")


def _run(rec: object, range_g: float | None = None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return analyze(rec, config=AnalysisConfig(range_g=range_g))  # type: ignore[arg-type]


def _raw_at_full_scale() -> int:
    raw = pd.read_csv(JUMPS, header=None).iloc[:, 1:4].to_numpy()
    return int((np.abs(raw) >= 16 * 0.995).any(axis=1).sum())


def test_range_given_counts_clipped_samples() -> None:
    res = _run(open_recording(JUMPS), 16.0)
    assert _raw_at_full_scale() == 61
    assert res.qc["clipped_samples"] >= 61
    assert res.qc["range_g"] == 16.0 and res.qc["range_source"] == "option"
    assert res.to_json_dict()["qc"]["clipped_impacts"] > 0


def test_range_inferred_with_warning() -> None:
    res = _run(open_recording(JUMPS))
    assert res.qc["range_source"] == "inferred" and res.qc["range_g"] == 16.0
    assert res.qc["clipped_samples"] == 61
    w = [m for m in res.qc["warnings"] if "inferred ±16 g" in m]
    assert w and "clipped" in w[0]
    assert int(res.impacts["clipped"].sum()) > 0


def test_range_option_contradicted_by_data() -> None:
    res = _run(open_recording(JUMPS), 8.0)
    w = [m for m in res.qc["warnings"] if "exceed --range-g 8" in m]
    assert w, res.qc["warnings"]
    raw = pd.read_csv(JUMPS, header=None).iloc[:, 1:4].to_numpy()
    over = (np.abs(raw) > 8 * 1.001).any(axis=1)
    assert f"{int(over.sum())} sample(s)" in w[0]
    assert f"row {int(np.argmax(over))}" in w[0]


def test_file_declared_range_contradicted_names_both() -> None:
    rec = open_recording(JUMPS).read()
    declared = Recording(rec.data, rec.meta.replace(range_g=8.0))
    res = _run(declared)
    assert any("exceed the file's declared range ±8 g" in m and "first at row" in m for m in res.qc["warnings"])
    res2 = _run(declared, 4.0)
    assert any("--range-g 4" in m and "±8 g" in m for m in res2.qc["warnings"])


def test_cli_flag_reaches_the_settings() -> None:
    from cli.options import add_reading_options, analysis_config

    p = argparse.ArgumentParser()
    add_reading_options(p)
    assert analysis_config(p.parse_args(["--range-g", "16"])).range_g == 16.0
    assert analysis_config(p.parse_args([])).range_g is None
