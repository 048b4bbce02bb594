"""``--align-gravity``: peaks counted along the gravity direction measured at rest.

Generated: a recording with known impacts, tilted by known angles, gives the untilted impacts when
aligned (and not when read on the raw axis). Real: the adept hip run (ActiGraph GT9X, left hip,
vertical -y) rotated 30° about x, against an independent reference — the unrotated run turned by
one rotation (Rodrigues, numpy) that puts the mean gravity of its still 2 s windows (every axis SD
< 0.03 g) exactly on -y, then counted on the raw axis.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from impactlab import analyze
from impactlab.config import DetectionConfig
from impactlab.io import open_recording
from impactlab.presets import analysis_config
from impactlab.recording import Recording
from impactlab.signal import GravityAligner
from impactlab.simulate import Walk, simulate_recording

ROOT = Path(__file__).resolve().parents[1]
RUN = ROOT.parent / "shared" / "data" / "adeptdata" / "acc_running_left_hip.csv.gz"
ALIGNED = DetectionConfig(align_gravity=True)


def _rot(ax_deg: float, az_deg: float) -> np.ndarray:
    a, b = np.radians(ax_deg), np.radians(az_deg)
    rx = np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])
    rz = np.array([[np.cos(b), -np.sin(b), 0], [np.sin(b), np.cos(b), 0], [0, 0, 1]])
    return rz @ rx


def _turned(rec: Recording, rot: np.ndarray) -> Recording:
    xyz = rec.data[["x", "y", "z"]].to_numpy(np.float64) @ rot.T
    data = rec.data.copy()
    data[["x", "y", "z"]] = xyz.astype(np.float32)
    return Recording(data, rec.meta)


def _quiet(rec: Recording | list[Recording], config: DetectionConfig | None = None) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return analyze(rec, config=config)


def _sim() -> Recording:
    return simulate_recording(duration_s=240, walks=[Walk(20, 80, 110, 1.7), Walk(120, 170, 100, 0.8)],
                              jumps=[(200.0, 2.5), (215.0, 1.2)], seed=3)


@pytest.mark.parametrize(("ax", "az"), [(20.0, 0.0), (30.0, 0.0), (25.0, 20.0)])
def test_tilted_simulation_aligned_gives_the_untilted_impacts(ax: float, az: float) -> None:
    rec = _sim()
    flat = _quiet(rec).impacts
    tilted = _turned(rec, _rot(ax, az))
    raw = _quiet(tilted).impacts
    al = _quiet(tilted, ALIGNED).impacts
    bands = lambda t: t["band"].value_counts().sort_index().to_dict()  # noqa: E731
    print(f"tilt {ax}/{az} deg: flat {bands(flat)}, raw {bands(raw)}, aligned {bands(al)}")
    assert bands(raw) != bands(flat)  # the tilt moves impacts between bands on the raw axis
    assert bands(al) == bands(flat) and len(al) == len(flat)
    assert np.abs(al["time"].to_numpy() - flat["time"].to_numpy()).max() <= np.timedelta64(20, "ms")
    np.testing.assert_allclose(al["peak_g"], flat["peak_g"], atol=0.02)


def test_aligner_is_chunk_invariant_and_keeps_upright_untouched() -> None:
    rec = _turned(_sim(), _rot(25.0, 20.0))
    xyz = rec.data[["x", "y", "z"]].to_numpy(np.float64)
    whole = GravityAligner("+y", 100.0).push(xyz)
    al = GravityAligner("+y", 100.0)
    cuts = np.sort(np.random.default_rng(1).choice(xyz.shape[0], 40, replace=False))
    parts = [al.push(p) for p in np.split(xyz, cuts)]
    np.testing.assert_array_equal(np.concatenate(parts), whole)
    assert al.angle_deg == pytest.approx(np.degrees(np.arccos(_rot(25.0, 20.0)[1, 1])), abs=1.5)
    chunks = [Recording(rec.data.iloc[a:b], rec.meta) for a, b in zip([0, *cuts], [*cuts, len(rec)], strict=True)]
    pd.testing.assert_frame_equal(_quiet(chunks, ALIGNED).impacts, _quiet(rec, ALIGNED).impacts)
    # before the first still second the declared axis is used; a lying-down still window is ignored
    lying = np.tile([0.0, 0.0, 1.0], (300, 1))
    g = GravityAligner("+y", 100.0)
    np.testing.assert_array_equal(g.push(lying), lying[:, 1])
    assert g.direction is None and g.angle_deg is None


@pytest.fixture(scope="module")
def run() -> Recording:
    if not RUN.exists():
        pytest.skip("adeptdata run absent")
    return open_recording(RUN, vertical_axis="-y").read()


def _reference(rec: Recording) -> Recording:
    xyz = rec.data[["x", "y", "z"]].to_numpy(np.float64)
    w = 200
    win = xyz[: xyz.shape[0] // w * w].reshape(-1, w, 3)
    still = (win.std(axis=1) < 0.03).all(axis=1)
    g = win[still].mean(axis=1).mean(axis=0)
    g /= np.linalg.norm(g)
    v = np.cross(g, [0.0, -1.0, 0.0])
    k = np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]])
    rot = np.eye(3) + k + k @ k / (1.0 + g @ [0.0, -1.0, 0.0])
    return _turned(rec, rot)


def test_adept_run_tilted_30_deg_aligned_matches_gravity_reference(run: Recording) -> None:
    ref = _quiet(_reference(run)).band_totals()
    tilted = _turned(run, _rot(30.0, 0.0))
    raw = _quiet(tilted)
    al = _quiet(tilted, ALIGNED)
    upright = _quiet(run, ALIGNED).band_totals()
    print(f"adept run +30 deg (tilt {raw.qc['tilt_deg']} deg): raw {raw.band_totals()}, aligned "
          f"{al.band_totals()}, reference {ref}")
    assert raw.qc["tilt_deg"] == pytest.approx(24.65, abs=0.5)
    assert any("degrees from gravity" in m and "count along gravity with --align-gravity" in m for m in raw.qc["warnings"])
    assert any("counted along the measured gravity (--align-gravity)" in m for m in al.qc["warnings"])
    for band in ("low", "medium", "high"):
        assert al.band_totals()[band] == pytest.approx(ref[band], rel=0.06)
        assert abs(raw.band_totals()[band] - ref[band]) > 3 * abs(al.band_totals()[band] - ref[band])
        assert al.band_totals()[band] == pytest.approx(upright[band], rel=0.01)  # the rotation is undone


def test_cli_align_gravity_flag(run: Recording, tmp_path: Path) -> None:
    from cli.main import main

    assert analysis_config(align_gravity=True).detection.align_gravity
    out = tmp_path / "o"
    assert main(["-q", "analyze", str(RUN), "--vertical-axis", "-y", "--align-gravity", "-o", str(out)]) == 0
    info = json.loads(next(out.glob("*Info.json")).read_text())
    assert info["settings"]["align_gravity"] is True
    assert info["impacts"] == _quiet(run, ALIGNED).band_totals()  # {'low': 335, 'medium': 720, 'high': 1998}
