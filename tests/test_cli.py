"""The command line driven as a user would: exit codes, stdout, files written."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from impactlab.cli.main import main

from impactlab.io import write_parquet
from impactlab.simulate import Walk, simulate_recording

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DAY = ROOT / "sample_data" / "sim-day.parquet"

JSON_KEYS = {"impactlab_version", "recording", "qc", "impacts", "sessions", "days", "plan_check"}


def test_sample_day_matches_its_readme(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze", str(SAMPLE_DAY), "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert JSON_KEYS <= out.keys()
    assert {"source", "device", "sample_rate_hz", "start", "end", "n_samples", "timezone", "vertical_axis"} <= out["recording"].keys()
    assert {"wear_h", "valid_days", "gaps", "clipped_samples"} <= out["qc"].keys()
    # the numbers sample_data/README.md promises
    assert out["impacts"] == {"low": 5260, "medium": 3160, "high": 50, "total": 8470}
    assert out["recording"]["n_samples"] == 4_320_000
    assert out["recording"]["start"] == "2026-03-02T00:00:00+00:00"
    assert out["qc"]["valid_days"] == 1 and out["qc"]["gaps"] == 0
    day = out["days"][0]
    assert day["date"] == "2026-03-02" and day["valid"] is True
    assert day["wear_h"] == pytest.approx(15.0, abs=0.01)
    assert (day["n_low"], day["n_medium"], day["n_high"]) == (5260, 3160, 50)


def test_table_output_and_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rec = simulate_recording(duration_s=900, walks=[Walk(100, 400, 110, 0.75)], jumps=[(600, 2.0)], seed=1)
    p = write_parquet(rec, tmp_path / "walk.parquet")
    assert main(["analyze", str(p), "-o", str(tmp_path / "out")]) == 0
    text = capsys.readouterr().out
    assert "Impacts per day" in text and "550" in text
    names = sorted(f.name for f in (tmp_path / "out").iterdir())
    assert names == ["walk-Daily.csv", "walk-Impacts.csv", "walk-Info.json", "walk-Sessions.csv"]
    info = json.loads((tmp_path / "out" / "walk-Info.json").read_text())
    assert info["settings"]["min_height_g"] == 0.5 and info["settings"]["target_rate_hz"] == 50.0
    impacts = (tmp_path / "out" / "walk-Impacts.csv").read_text().splitlines()
    assert impacts[0].startswith("time,peak_g,band,sample") and len(impacts) == 552


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "empty"),
        ("time,x,y,z\n", "no samples"),
        ("time,x,y,z\n2026-01-01T00:00:00+00:00,0,1,0\n2026-01-01T00:00:00.01+00:00,0,1\n", "line 3"),
        ("hello world\n", "not a recording|time,x,y,z"),
    ],
)
def test_bad_input_exit_1_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, message: str) -> None:
    p = tmp_path / "bad.csv"
    p.write_text(content)
    assert main(["analyze", str(p)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("impactlab: error: ") and str(p) in err[0]
    import re

    assert re.search(message, err[0])


def test_constant_signal_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = "".join(f"{1_700_000_000 + i / 100:.2f},0,1,0\n" for i in range(500))
    p = tmp_path / "flat.csv"
    p.write_text("time,x,y,z\n" + lines)
    assert main(["analyze", str(p)]) == 1
    assert "same value" in capsys.readouterr().err


def test_gap_is_warned_and_counted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rec = simulate_recording(duration_s=4 * 3600, walks=[Walk(60, 600, 110, 0.75)], gaps=[(3600, 3 * 3600)], seed=2)
    p = write_parquet(rec, tmp_path / "gap.parquet")
    assert main(["analyze", str(p), "--format", "json"]) == 0
    cap = capsys.readouterr()
    out = json.loads(cap.out)
    assert out["qc"]["gaps"] == 1 and out["qc"]["gap_list"][0]["duration_s"] == pytest.approx(7200.01, abs=0.02)
    assert "gap" in cap.err


def test_usage_error_exit_2() -> None:
    with pytest.raises(SystemExit) as e:
        main(["analyze"])
    assert e.value.code == 2


def test_installed_entry_points() -> None:
    r = subprocess.run([sys.executable, "-m", "impactlab", "--help"], capture_output=True, text=True, check=False)
    assert r.returncode == 0 and "analyze" in r.stdout
    r = subprocess.run(["impactlab", "analyze", "--help"], capture_output=True, text=True, check=False)
    assert r.returncode == 0 and "examples" in r.stdout


def test_quiet_after_subcommand(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rec = simulate_recording(duration_s=600, walks=[Walk(100, 400, 110, 0.75)], seed=3)
    p = write_parquet(rec, tmp_path / "short.parquet")
    assert main(["analyze", str(p), "--format", "json"]) == 0
    assert "no day has 10 h of wear" in capsys.readouterr().err
    assert main(["analyze", str(p), "-q", "--format", "json"]) == 0
    cap = capsys.readouterr()
    assert cap.err == "" and json.loads(cap.out)["impacts"]["low"] == 550
