"""Defects a new-user walkthrough found, each driven through the command line as the user typed it.

convert into a folder that does not exist yet, batch given a path that does not exist, implausible
--body-mass / --vest-mass, the analyze table's first line and wrapped notes, and the documents
--help names (they must exist where impactlab is installed). Exit codes as docs/cli.md says:
0 ok, 1 impactlab error, 2 usage.
"""

from __future__ import annotations

import fnmatch
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
from impactlab.cli.commands import COMMANDS
from impactlab.cli.main import build_parser, main

ROOT = Path(__file__).resolve().parents[1]
DAY = str(ROOT / "sample_data" / "sim-day.parquet")
HIP = str(ROOT / "sample_data" / "actigraph-hip-5min.csv")
PLAN = str(ROOT / "sample_data" / "plan.toml")


def test_convert_creates_the_missing_output_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from impactlab.io import read_recording

    out = tmp_path / "missing_dir" / "deeper" / "x.parquet"
    assert main(["convert", HIP, "--tz", "Europe/Lisbon", "--output", str(out)]) == 0
    assert f"wrote 30000 samples (actigraph, 100 Hz, Europe/Lisbon) to {out}" in capsys.readouterr().err
    back, src = read_recording(out), read_recording(HIP, tz="Europe/Lisbon")
    assert len(back.data) == len(src.data) == 30000
    np.testing.assert_allclose(back.data[["x", "y", "z"]].to_numpy(), src.data[["x", "y", "z"]].to_numpy(), atol=1e-6)
    assert [p.name for p in out.parent.iterdir()] == ["x.parquet"]  # no .part left beside it


@pytest.mark.parametrize("given", [["missing_path"], ["missing_path", DAY], [DAY, "also/missing.csv", "gone.cwa"]])
def test_batch_refuses_a_path_that_does_not_exist(given: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["batch", *given, "-o", "r/", "--scheduler", "sync"]) == 2
    out, err = capsys.readouterr()
    absent = [g for g in given if g != DAY]
    assert err.count("\n") == 1 and err.startswith("impactlab batch: error: no such file or folder: ")
    assert all(a in err for a in absent) and DAY not in err and "nothing was analysed" in err
    assert "found" not in out  # refused before the inputs are sniffed
    assert not (tmp_path / "r").exists()  # nothing written


def test_run_batch_refuses_a_missing_path_too(tmp_path: Path) -> None:
    from impactlab.batch import run_batch
    from impactlab.errors import ConfigError

    with pytest.raises(ConfigError, match=r"no such file or folder: .*nope\.csv"):
        run_batch([DAY, tmp_path / "nope.csv"], tmp_path / "out", scheduler="sync")
    assert not (tmp_path / "out").exists()


def test_a_glob_that_matches_nothing_stays_a_warning_and_the_batch_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["-q", "batch", DAY, "nothing-*.cwa", "-o", "r", "--scheduler", "sync", "--tz", "Europe/London"]) == 0
    assert "found 1 recording (1 parquet)" in capsys.readouterr().out
    assert (tmp_path / "r" / "sim-day" / "sim-day-Daily.csv").is_file()


@pytest.mark.parametrize("command", ["analyze", "batch", "import", "sync"])
@pytest.mark.parametrize(("flag", "value", "accepted"), [("--body-mass", "-70", "10-300 kg"), ("--body-mass", "7000", "10-300 kg"),
                                                         ("--body-mass", "nan", "10-300 kg"), ("--body-mass", "9.9", "10-300 kg"),
                                                         ("--vest-mass", "-1", "0-50 kg"), ("--vest-mass", "80", "0-50 kg")])
def test_implausible_masses_are_usage_errors_when_read(command: str, flag: str, value: str, accepted: str, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    argv = {"analyze": ["analyze", DAY], "batch": ["batch", DAY, "-o", str(tmp_path / "r")],
            "import": ["import", DAY, "--store", str(tmp_path / "s.sqlite"), "--client", "c1"],
            "sync": ["sync", "--simulate", DAY, "--store", str(tmp_path / "s.sqlite"), "--client", "c1"]}[command]
    with pytest.raises(SystemExit) as exc:
        main([*argv, flag, value])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {flag}: '{value}' is not a plausible mass: {flag} takes {accepted}" in err
    assert list(tmp_path.iterdir()) == []  # refused before anything ran or was written


def test_masses_at_the_range_edges_are_taken(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    assert main(["-q", "analyze", DAY, "--body-mass", "300", "--vest-mass", "0", "--format", "json"]) == 0
    loading = json.loads(capsys.readouterr().out)["loading"]
    assert loading["body_mass_kg"] == 300 and loading["vest_mass_kg"] == 0
    with pytest.raises(SystemExit) as exc:
        main(["analyze", DAY, "--body-mass", "seventy"])
    assert exc.value.code == 2 and "'seventy' is not a number: --body-mass takes 10-300 kg" in capsys.readouterr().err


def test_analyze_table_header_and_wrapped_notes(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.chdir(ROOT)
    assert main(["-q", "analyze", "sample_data/sim-day.parquet", "--plan", "sample_data/plan.toml", "--body-mass", "70"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "sample_data/sim-day.parquet  simulated, 50 Hz, vertical -y"  # no empty trailing field
    assert lines[1] == "2026-03-02T00:00:00+00:00 to 2026-03-02T23:59:59.980000+00:00 (Europe/London)"
    start = next(i for i, line in enumerate(lines) if line.startswith("Bone-loading indices"))
    end = next(i for i, line in enumerate(lines) if line.startswith("Method:"))
    block = lines[start + 1:end]
    assert block[0] == "  Mon 2026-03-02: DSS 14.81, OI 51.57, peak GRF 2.77 BW"
    assert len(block) >= 5 and all(line.startswith("  ") and len(line) <= 80 and line == line.rstrip() for line in block)
    joined = " ".join(line.strip() for line in block)
    assert "GRF per impact (Veras, hip, vertical, 70 kg): median 1026 N, max 1898 N; outside calibration 0" in joined
    assert "calibrated on 100 Hz peaks (--preset veras2020), so predictions here run low" in joined
    wrapped = [line for line in block if line.startswith("    ")]
    assert wrapped, "the long notes wrap at 80 columns, each continuation indented under its note"


def _help_texts() -> list[str]:
    texts = [build_parser().format_help()]
    for c in COMMANDS:
        texts.append(build_parser(c.name).commands[c.name].format_help())
    return texts


_DOC = re.compile(r"(\S*(?:docs|firmware_config)/[\w.-]*)")


def test_every_document_help_names_exists_where_impactlab_is_installed(tmp_path: Path) -> None:
    """Run from a folder outside the checkout (as a wheel user): every docs/... path --help prints opens."""
    code = ("import contextlib, io, sys\nfrom impactlab.cli.commands import COMMANDS\nfrom impactlab.cli.main import main\n"
            "for argv in [['--help'], *([c.name, '--help'] for c in COMMANDS)]:\n"
            "    with contextlib.suppress(SystemExit):\n        main(argv)\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, check=True)
    named = {m.strip("(.,)") for m in _DOC.findall(res.stdout)}
    assert len(named) >= 5, named
    assert {Path(p).name for p in named} >= {"cli.md", "method.md", "batch.md", "README.md", "docs", "firmware_config"}
    for p in named:
        assert Path(p).is_absolute() and Path(p).exists(), p  # outside the checkout: the installed path, whole
    assert not re.search(r"(?<![\w/.])docs/\w+\.md", res.stdout), "a bare docs/X.md does not exist for a wheel user"


def test_the_documents_help_names_ship_in_the_wheel() -> None:
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    for text in _help_texts():
        for p in {m.strip("(.,)") for m in _DOC.findall(text)}:
            where = Path(p).resolve().relative_to(ROOT)  # this checkout's docs/ and firmware_config/
            package = "impactlab." + where.parts[0]
            assert package in cfg["packages"] and cfg["package-dir"][package] == where.parts[0], package
            if len(where.parts) > 1:
                assert any(fnmatch.fnmatch(where.name, g) for g in cfg["package-data"][package]), f"{p}: not package data"
