"""A progression plan's vest mass follows its phases: each vest-walk impact is loaded with the vest
in force on its local day (analyze --plan, store import, batch --plan), checked against the Veras
walking equation (impactlab.loading.predict_grf)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from impactlab.cli.main import main

from impactlab.io import write_parquet
from impactlab.loading import GRAVITY_MS2, predict_grf
from impactlab.simulate import Walk, simulate_recording

BODY = 70.0
# base vest 3 kg (Tue 3 Mar), 8 kg from Wed 4 Mar: the recording crosses midnight (UTC) inside the walks
PLAN = """schema = 1
name = "vest progression"
timezone = "UTC"
[targets.vest_walk]
minutes_per_week = 60
vest_mass_kg = 3
[[phases]]
name = "heavier vest"
from = 2026-03-04
[phases.targets.vest_walk]
vest_mass_kg = 8
"""
MARKERS = ("start,end,label\n2026-03-03T23:40:30+00:00,2026-03-03T23:51:00+00:00,vest\n"
           "2026-03-04T00:04:00+00:00,2026-03-04T00:20:00+00:00,vest\n")


def _files(tmp_path: Path) -> tuple[Path, Path, Path]:
    rec = simulate_recording(duration_s=2400.0, fs=50, start="2026-03-03 23:40", tz="UTC", seed=3,
                             walks=[Walk(60.0, 600.0, 112.0, 0.5, 0.05), Walk(1500.0, 2300.0, 112.0, 0.55, 0.05)])
    f = tmp_path / "cross.parquet"
    write_parquet(rec, f)
    plan = tmp_path / "plan.toml"
    plan.write_text(PLAN)
    markers = tmp_path / "markers.csv"
    markers.write_text(MARKERS)
    return f, plan, markers


def _expected(imp: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Vest mass by local day and the walking-equation GRF (N) with body + vest."""
    day = pd.to_datetime(imp["time"], utc=True).dt.strftime("%Y-%m-%d")
    vest = np.where(day == "2026-03-03", 3.0, 8.0)
    return vest, predict_grf(imp["peak_g"].to_numpy(float) + 1.0, BODY + vest, model="walking", placement="hip",
                             vector="vertical")


def test_analyze_plan_loads_each_day_with_its_phase_vest(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f, plan, markers = _files(tmp_path)
    out = tmp_path / "out"
    assert main(["analyze", str(f), "--plan", str(plan), "--markers", str(markers), "--body-mass", str(BODY),
                 "-o", str(out), "-q"]) == 0
    imp = pd.read_csv(out / "cross-Impacts.csv")
    vest_walk = imp[imp["loading_flags"].fillna("").str.contains("vest")]
    days = pd.to_datetime(vest_walk["time"], utc=True).dt.strftime("%Y-%m-%d")
    assert (days == "2026-03-03").sum() > 100 and (days == "2026-03-04").sum() > 100
    vest, grf = _expected(vest_walk)
    np.testing.assert_allclose(vest_walk["load_mass_kg"], BODY + vest)
    np.testing.assert_allclose(vest_walk["grf_n"], grf, rtol=1e-9)
    np.testing.assert_allclose(vest_walk["grf_bw"], grf / (BODY * GRAVITY_MS2), rtol=1e-9)
    # the 8 kg vest gives more force than the 3 kg one would have at the same acceleration
    wed = (days == "2026-03-04").to_numpy()
    old = predict_grf(vest_walk["peak_g"].to_numpy(float)[wed] + 1.0, BODY + 3.0, model="walking", placement="hip",
                      vector="vertical")
    assert (vest_walk["grf_n"].to_numpy()[wed] > old + 1.0).all()
    capsys.readouterr()
    assert main(["analyze", str(f), "--plan", str(plan), "--markers", str(markers), "--body-mass", str(BODY),
                 "--format", "json", "-q"]) == 0
    info = json.loads(capsys.readouterr().out)["loading"]
    assert info["vest_mass_by_phase"] == [{"from": None, "vest_mass_kg": 3.0}, {"from": "2026-03-04", "vest_mass_kg": 8.0}]
    assert any("3 kg from the start, 8 kg from 2026-03-04" in n for n in info["notes"])


def test_store_and_batch_use_the_vest_in_force(tmp_path: Path) -> None:
    f, plan, markers = _files(tmp_path)
    out = tmp_path / "out"
    assert main(["analyze", str(f), "--plan", str(plan), "--markers", str(markers), "--body-mass", str(BODY),
                 "-o", str(out), "-q"]) == 0
    daily = pd.read_csv(out / "cross-Daily.csv")
    imp = pd.read_csv(out / "cross-Impacts.csv")
    _, grf = _expected(imp)
    is_vest = imp["loading_flags"].fillna("").str.contains("vest").to_numpy()
    day = pd.to_datetime(imp["time"], utc=True).dt.strftime("%Y-%m-%d").to_numpy()
    for d in ("2026-03-03", "2026-03-04"):  # the day's peak is a vest-walk step, with that day's vest
        sel = (day == d) & is_vest
        want = grf[sel].max() / (BODY * GRAVITY_MS2)
        assert daily.loc[daily["date"] == d, "peak_grf_bw_max"].iloc[0] == pytest.approx(want, rel=1e-9)
    store = tmp_path / "s.sqlite"
    assert main(["import", str(f), "--client", "c1", "--plan", str(plan), "--markers", str(markers),
                 "--body-mass", str(BODY), "--store", str(store), "-q"]) == 0
    rows = dict(sqlite3.connect(store).execute("SELECT date, peak_grf_bw_max FROM daily_loads").fetchall())
    for d in ("2026-03-03", "2026-03-04"):
        assert rows[d] == pytest.approx(daily.loc[daily["date"] == d, "peak_grf_bw_max"].iloc[0], rel=1e-9)
    bout = tmp_path / "batch"
    assert main(["batch", str(f), "--plan", str(plan), "--markers", str(markers), "--body-mass", str(BODY),
                 "-o", str(bout), "-q"]) == 0
    bimp = pd.read_parquet(bout / "collated" / "Impacts")
    bv = bimp[bimp["loading_flags"].fillna("").str.contains("vest")]
    vest, grf_b = _expected(bv)
    np.testing.assert_allclose(bv["load_mass_kg"], BODY + vest)
    np.testing.assert_allclose(bv["grf_n"], grf_b, rtol=1e-9)
