"""Auto-calibration (van Hees et al. 2014): known answers, refusals, chunk invariance, CLI hook."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from impactlab.cli.main import main

from impactlab.calibrate import (
    StillWindows,
    apply_calibration,
    calibrate_source,
    fit_calibration,
)
from impactlab.errors import DataQualityWarning
from impactlab.io import RecordingSource, write_parquet
from impactlab.recording import Recording, RecordingMeta

OFFSET = np.array([0.03, -0.05, 0.02])
SCALE = np.array([1.04, 0.97, 1.01])


def _unit_vectors(n: int, seed: int) -> np.ndarray:
    u = np.random.default_rng(seed).normal(size=(n, 3))
    return u / np.linalg.norm(u, axis=1, keepdims=True)


def distorted(n_orient: int = 40, still_s: float = 30.0, fs: float = 50.0, seed: int = 0) -> Recording:
    """Still periods in ``n_orient`` orientations, seen through a sensor with known offset and scale.

    raw = (true - OFFSET) / SCALE, so the calibration to find is ``OFFSET + SCALE · raw``.
    """
    rng = np.random.default_rng(seed)
    k = int(still_s * fs)
    true = np.repeat(_unit_vectors(n_orient, seed), k, axis=0) + rng.normal(0, 0.003, size=(n_orient * k, 3))
    raw = (true - OFFSET) / SCALE
    t = pd.date_range("2026-03-02 08:00", periods=raw.shape[0], freq=pd.Timedelta(seconds=1 / fs), tz="UTC")
    meta = RecordingMeta(source="distorted", device="simulated", sample_rate_hz=fs, timezone="UTC")
    return Recording.from_arrays(t, raw[:, 0], raw[:, 1], raw[:, 2], meta)


def _source(rec: Recording, chunk: int = 7000) -> RecordingSource:
    def chunks() -> Iterator[Recording]:
        for i in range(0, len(rec), chunk):
            yield Recording(rec.data.iloc[i: i + chunk], rec.meta, validate=False)

    return RecordingSource(meta=rec.meta, chunks=chunks)


def test_fit_recovers_known_offset_and_scale() -> None:
    raw = (_unit_vectors(300, 1) - OFFSET) / SCALE
    res = fit_calibration(raw)
    assert res.applied and res.reason is None and res.n_still == 300
    np.testing.assert_allclose(res.offset_g, OFFSET, atol=1e-6)
    np.testing.assert_allclose(res.scale, SCALE, atol=1e-6)
    assert res.error_before_g is not None and res.error_after_g is not None
    assert res.error_before_g > 0.02 and res.error_after_g < 1e-6


def test_refused_with_too_few_points() -> None:
    res = fit_calibration(_unit_vectors(10, 2))
    assert not res.applied and res.n_still == 10 and res.reason is not None
    assert "only 10 still 10 s window(s); at least 20" in res.reason


def test_refused_when_sphere_not_covered() -> None:
    u = _unit_vectors(200, 3)
    u[:, 2] = np.abs(u[:, 2])  # never upside down
    res = fit_calibration(u / np.linalg.norm(u, axis=1, keepdims=True))
    assert not res.applied and res.reason is not None and "z never below -0.3 g" in res.reason
    assert res.to_dict()["offset_g"] == [0.0, 0.0, 0.0]


def test_source_is_calibrated_with_diagnostics() -> None:
    rec = distorted()
    src = calibrate_source(_source(rec))
    cal = src.extra["calibration"]
    assert cal["applied"] and cal["n_still"] >= 40 * 2  # at least two full 10 s windows per 30 s still period
    np.testing.assert_allclose(cal["offset_g"], OFFSET, atol=2e-3)
    np.testing.assert_allclose(cal["scale"], SCALE, atol=2e-3)
    assert cal["error_before_g"] > 0.02 > 0.002 > cal["error_after_g"]
    out = src.read()
    mag = np.sqrt((out.data[["x", "y", "z"]].to_numpy(np.float64) ** 2).sum(axis=1))
    assert abs(np.median(mag) - 1.0) < 0.002
    assert any("auto-calibrated" in n for n in src.notes)


def test_refusal_warns_and_keeps_the_data() -> None:
    rec = distorted(n_orient=1, still_s=60)
    with pytest.warns(DataQualityWarning, match="auto-calibration refused: only 6 still"):
        src = calibrate_source(_source(rec))
    assert not src.extra["calibration"]["applied"]
    pd.testing.assert_frame_equal(src.read().data, rec.data)


@given(st.lists(st.integers(1, 15000), min_size=1, max_size=8))
def test_still_windows_do_not_depend_on_chunks(cuts: list[int]) -> None:
    rec = _CACHE.setdefault("rec", distorted(n_orient=6, still_s=25, fs=100, seed=5))
    whole = StillWindows(100.0)
    whole.update(rec)
    parts = StillWindows(100.0)
    edges = sorted({0, len(rec), *[c % len(rec) for c in cuts]})
    for a, b in itertools.pairwise(edges):
        parts.update(rec.data.iloc[a:b])
    np.testing.assert_allclose(parts.points(), whole.points(), atol=1e-12)


_CACHE: dict[str, Recording] = {}


def test_apply_not_applied_is_identity() -> None:
    rec = distorted(n_orient=2, still_s=10)
    assert apply_calibration(rec, fit_calibration(np.empty((0, 3)))) is rec


def test_calibrate_flag_wraps_the_source(tmp_path: Path) -> None:
    import argparse

    from impactlab.cli.options import add_analysis_options, add_reading_options, open_source

    p = argparse.ArgumentParser()
    add_reading_options(p)
    add_analysis_options(p)
    path = str(write_parquet(distorted(n_orient=2, still_s=10), tmp_path / "d.parquet"))
    assert "calibration" not in open_source(path, p.parse_args([])).extra
    assert "calibration" in open_source(path, p.parse_args(["--calibrate"])).extra


def test_cli_analyze_writes_diagnostics_to_info_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_parquet(distorted(n_orient=30, still_s=40), tmp_path / "distorted.parquet")
    code = main(["analyze", str(path), "--calibrate", "--native-rate", "-o", str(tmp_path / "out"), "--format", "json"])
    assert code == 0
    info = json.loads((tmp_path / "out" / "distorted-Info.json").read_text())
    cal = info["calibration"]
    assert cal["applied"] and cal["n_still"] > 60 and cal["error_after_g"] < cal["error_before_g"]
    assert "van Hees" in cal["method"]
    capsys.readouterr()
