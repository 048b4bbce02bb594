"""Odd-but-valid inputs read right, bad inputs refused in one line, nothing left behind (issue 14)."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from impactlab.cli.main import main

from impactlab.errors import ImpactlabError
from impactlab.io import read_recording

ROOT = Path(__file__).resolve().parents[1]


def _frame(n: int = 3000, fs: float = 50.0) -> pd.DataFrame:
    t = pd.date_range("2026-03-02 08:00", periods=n, freq=pd.Timedelta(seconds=1 / fs))
    rng = np.random.default_rng(0)
    xyz = rng.normal(0, 0.01, (n, 3)) + np.array([0.0, 1.0, 0.0])
    return pd.DataFrame({"time": t, "x": xyz[:, 0], "y": xyz[:, 1], "z": xyz[:, 2]})


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_naive_parquet_any_unit(tmp_path: Path, unit: str) -> None:
    """pandas' to_parquet of local times (naive, µs by default): 60 s at 50 Hz on the right day."""
    df = _frame()
    if unit == "s":  # whole seconds only: 60 samples at 1 Hz
        df = _frame(60, 1.0)
    df["time"] = df["time"].astype(f"datetime64[{unit}]")
    f = tmp_path / "local.parquet"
    df.to_parquet(f, index=False)
    rec = read_recording(f, tz="Europe/London")
    assert rec.meta.sample_rate_hz == (1.0 if unit == "s" else 50.0)
    span = (rec.data.index[-1] - rec.data.index[0]).total_seconds()
    assert span == pytest.approx(59.0 if unit == "s" else 59.98)
    assert str(rec.data.index[0].date()) == "2026-03-02" and rec.data.index[0].hour == 8


@pytest.mark.parametrize(("mult", "fmt"), [(1, "{:.2f}"), (1_000, "{:.0f}"), (1_000_000, "{:.0f}"),
                                            (1_000_000_000, "{:.0f}")])
def test_epoch_csv_unit_by_magnitude(tmp_path: Path, mult: int, fmt: str) -> None:
    t0 = 1_772_438_400  # 2026-03-02 08:00 UTC
    n = 500
    lines = ["time,x,y,z"] + [f"{fmt.format((t0 + i / 50) * mult)},0,1,0" for i in range(n)]
    f = tmp_path / "epoch.csv"
    f.write_text("\n".join(lines) + "\n")
    rec = read_recording(f)
    assert rec.meta.sample_rate_hz == 50.0
    assert rec.data.index[0] == pd.Timestamp("2026-03-02 08:00", tz="UTC")


def test_utf8_bom_header(tmp_path: Path) -> None:
    f = tmp_path / "bom.csv"
    df = _frame(500)
    f.write_bytes(b"\xef\xbb\xbf" + df.assign(time=df["time"].dt.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00"))
                  .to_csv(index=False).encode())
    assert len(read_recording(f)) == 500


def test_dst_nonexistent_time_names_its_line(tmp_path: Path) -> None:
    t = pd.date_range("2026-03-29 00:59:50", periods=1000, freq="20ms")  # 01:00-02:00 does not exist in London
    f = tmp_path / "dst.csv"
    pd.DataFrame({"time": t.strftime("%Y-%m-%dT%H:%M:%S.%f"), "x": 0.0, "y": 1.0, "z": 0.0}).to_csv(f, index=False)
    with pytest.raises(ImpactlabError) as ei:
        read_recording(f, tz="Europe/London")
    assert ei.value.line == 2 + 500 and "--tz" in str(ei.value) and "does not exist" in str(ei.value)


def _cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cli.main", *args], capture_output=True, text=True,
                          env={**os.environ, **env}, cwd=ROOT, timeout=60)


def test_gz_leaves_nothing_in_tmpdir(tmp_path: Path) -> None:
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    df = _frame()
    good = tmp_path / "good.csv.gz"
    good.write_bytes(gzip.compress(df.assign(time=df["time"].dt.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00"))
                                   .to_csv(index=False).encode()))
    pq_gz = tmp_path / "good.parquet.gz"
    df.to_parquet(tmp_path / "p.parquet", index=False)
    pq_gz.write_bytes(gzip.compress((tmp_path / "p.parquet").read_bytes()))
    garbage = tmp_path / "bad.csv.gz"
    garbage.write_bytes(b"\x1f\x8b" + os.urandom(2000))
    truncated = tmp_path / "trunc.csv.gz"
    truncated.write_bytes(good.read_bytes()[:300])
    env = {"TMPDIR": str(tmpdir), "XDG_STATE_HOME": str(tmp_path / "state")}
    for f, code in ((good, 0), (pq_gz, 0), (garbage, 1), (truncated, 1)):
        r = _cli(["analyze", str(f), "--tz", "UTC", "-q"], env)
        assert r.returncode == code, (f, r.stderr)
        if code:
            lines = r.stderr.strip().splitlines()
            assert len(lines) == 1 and str(f) in lines[0] and "Traceback" not in r.stderr
    assert list(tmpdir.iterdir()) == []


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX only")
def test_fifo_and_folder_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    for target in (fifo, tmp_path):
        assert main(["analyze", str(target)]) == 1
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and str(target) in err[0]


def test_internal_error_exit_70_with_crash_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    import impactlab.cli.commands.analyze as analyze

    def boom(*a: object, **k: object) -> None:
        raise RuntimeError("unforeseen")

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    monkeypatch.setattr(analyze, "open_source", boom)
    f = ROOT / "sample_data" / "sim-day.parquet"
    assert main(["analyze", str(f)]) == 70
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "RuntimeError" in err[0] and str(f) in err[0]
    reports = list((tmp_path / "impactlab").iterdir())
    assert len(reports) == 1 and "unforeseen" in reports[0].read_text()
