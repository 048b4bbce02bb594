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
    assert f"the first at sample {int(np.argmax(over)) + 1} (counted from 1" in w[0]  # = its line: no header


def test_file_declared_range_contradicted_names_both() -> None:
    rec = open_recording(JUMPS).read()
    declared = Recording(rec.data, rec.meta.replace(range_g=8.0))
    res = _run(declared)
    assert any("exceed the file's declared range ±8 g" in m and "first at sample" in m for m in res.qc["warnings"])
    res2 = _run(declared, 4.0)
    assert any("--range-g 4" in m and "±8 g" in m for m in res2.qc["warnings"])


def test_cli_flag_reaches_the_settings() -> None:
    from cli.options import add_reading_options, analysis_config

    p = argparse.ArgumentParser()
    add_reading_options(p)
    assert analysis_config(p.parse_args(["--range-g", "16"])).range_g == 16.0
    assert analysis_config(p.parse_args([])).range_g is None


# -- ranges the device files declare (.cwa header rate code, GENEActiv header) -------------------

SKDH = ROOT.parent / "shared" / "data" / "skdh"
GENEA = ROOT.parent / "shared" / "data" / "GGIRread" / "GENEActiv_testfile.bin"


def _rate_byte_range(path: Path) -> float:
    """The range by the Open Movement .cwa spec, read here from the raw header: byte 36 is the
    sample-rate code, its top two bits n give ±16 >> n g."""
    code = path.read_bytes()[36]
    return float(16 >> (code >> 6))


@pytest.mark.parametrize(("name", "want"), [("ax3", 8.0), ("ax6", 16.0)])
def test_cwa_header_range_is_used_and_nothing_is_inferred(name: str, want: float) -> None:
    path = SKDH / f"{name}_sample.cwa"
    truth = np.load(SKDH / f"{name}_data.npz")["accel"]  # skdh's decoded samples (g)
    res = _run(open_recording(path, tz="UTC"))
    assert _rate_byte_range(path) == want
    assert (res.qc["range_g"], res.qc["range_source"]) == (want, "file")
    assert res.qc["clipped_samples"] == int((np.abs(truth) >= want * 0.995).any(axis=1).sum()) == 0
    assert not any("inferred" in m or "exceed" in m for m in res.qc["warnings"])


def test_cwa_declaring_a_smaller_range_than_its_data_warns_and_clips(tmp_path: Path) -> None:
    """skdh's AX3 file (±8 g, peaks 5.86 g) with its header's range bits set to ±4 g."""
    raw = bytearray((SKDH / "ax3_sample.cwa").read_bytes())
    raw[36] = (raw[36] & 0x3F) | (2 << 6)  # 16 >> 2 = ±4 g
    path = tmp_path / "ax3_4g.cwa"
    path.write_bytes(bytes(raw))
    truth = np.load(SKDH / "ax3_data.npz")["accel"]
    over = (np.abs(truth) > 4 * 1.001).any(axis=1)
    clipped = int((np.abs(truth) >= 4 * 0.995).any(axis=1).sum())
    res = _run(open_recording(path, tz="UTC"))
    assert (res.qc["range_g"], res.qc["range_source"]) == (4.0, "file")
    assert res.qc["clipped_samples"] == clipped > 0
    msg = [m for m in res.qc["warnings"] if "exceed the file's declared range ±4 g" in m]
    assert msg and f"{int(over.sum())} sample(s)" in msg[0] and f"sample {int(np.argmax(over)) + 1} (counted from 1" in msg[0]
    given = _run(open_recording(path, tz="UTC"), range_g=8.0)
    assert (given.qc["range_g"], given.qc["range_source"]) == (8.0, "option")
    assert any("--range-g 8 overrides the file's declared range ±4 g" in m for m in given.qc["warnings"])


def test_geneactiv_header_range_is_used() -> None:
    head = GENEA.read_bytes()[:4000].decode("latin-1")
    assert "Accelerometer Range:-8 to 8" in head  # what the header says, read here as text
    res = _run(open_recording(GENEA))
    assert (res.qc["range_g"], res.qc["range_source"]) == (8.0, "file")
    assert not any("inferred" in m for m in res.qc["warnings"])


LINK = ROOT.parent / "shared" / "data" / "read.gt3x"


def test_actilife_export_of_a_link_has_the_links_range() -> None:
    """ActiLife writes "GT3X+" (±6 g) in the header of a GT9X Link's export; the serial (TAS...) and
    the .gt3x itself say ±8 g, so the CSV must not call samples of 6-8 g clipped."""
    import warnings

    from impactlab.io import open_recording

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        csv = open_recording(LINK / "TAS1H30182785_2019-09-17.csv.gz")
        gt3x = open_recording(LINK / "TAS1H30182785_2019-09-17.gt3x")
    assert "GT3X+" in str(csv.meta.extra.get("model")) and csv.meta.serial == "TAS1H30182785"
    assert csv.meta.range_g == gt3x.meta.range_g == 8.0
