"""The store keeps, per day, whether its high band is comparable with Hannam's norms (#13): a day
recorded below the preset's 50 Hz is not, and the weekly report flags it; a 50 Hz day is."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from impactlab.cli.main import main

from impactlab.io import write_parquet
from impactlab.simulate import Walk, simulate_recording
from impactlab.store import Store


def _file(tmp_path: Path, name: str, start: str, fs: float) -> Path:
    rec = simulate_recording(duration_s=1200.0, fs=fs, start=start, tz="UTC", seed=7,
                             jumps=[(120.0, 2.2), (125.0, 1.8)], walks=[Walk(300.0, 900.0, 112.0, 0.8)])
    f = tmp_path / name
    write_parquet(rec, f)
    return f


def test_store_days_carry_comparable_to_hannam(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "s.sqlite"
    s = ["--store", str(store), "-q"]
    ok, low = _file(tmp_path, "mon.parquet", "2026-03-02 09:00", 50.0), _file(tmp_path, "tue.parquet", "2026-03-03 09:00", 30.0)
    capsys.readouterr()
    assert main(["analyze", str(low), "--format", "json", "-q"]) == 0
    analysed = json.loads(capsys.readouterr().out)
    assert analysed["qc"]["comparable_to_hannam"]["high"] is False
    assert main(["import", str(ok), "--client", "c1", *s]) == 0
    assert main(["import", str(low), "--client", "c1", *s]) == 0
    rows = dict(sqlite3.connect(store).execute("SELECT date, comparable_to_hannam FROM daily_loads").fetchall())
    assert rows == {"2026-03-02": 1, "2026-03-03": 0}
    with Store(store) as st:
        daily = st.daily("c1")
    assert daily["comparable_to_hannam"].dtype == bool
    assert daily["comparable_to_hannam"].tolist() == [True, False]
    # re-importing the 50 Hz file rebuilds the week and keeps Tuesday's verdict
    assert main(["import", str(ok), "--client", "c1", *s]) == 0
    with Store(store) as st:
        assert st.daily("c1")["comparable_to_hannam"].tolist() == [True, False]
    capsys.readouterr()
    assert main(["report", "--client", "c1", "--week", "2026-W10", "--format", "json", "--store", str(store)]) == 0
    rep = json.loads(capsys.readouterr().out)
    flag = [f for f in rep["flags"] if f.startswith("High-band counts not comparable")]
    assert flag and flag[0].endswith(": Tue 03 Mar")
    html = tmp_path / "r.html"
    assert main(["report", "--client", "c1", "--week", "2026-W10", "--html", str(html), "--store", str(store)]) == 0
    assert ("High-band counts not comparable with Hannam&#39;s norms (a recording sampled below the preset&#39;s rate): "
            "Tue 03 Mar") in html.read_text()
    # history is unaffected: it counts targets, not bands
    capsys.readouterr()
    assert main(["history", "--client", "c1", "--format", "json", "--store", str(store)]) == 0
    assert json.loads(capsys.readouterr().out)["weeks"]
