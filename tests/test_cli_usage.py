"""The command line as a new user meets it: fast help, near-miss suggestions, axis spellings, 80-column tables."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from impactlab.cli.commands import COMMANDS
from impactlab.cli.main import main

ROOT = Path(__file__).resolve().parents[1]
DAY = str(ROOT / "sample_data" / "sim-day.parquet")


def test_every_command_module_is_listed() -> None:
    mods = {p.stem for p in (ROOT / "cli" / "commands").glob("*.py") if not p.stem.startswith("_")}
    assert mods == {c.module for c in COMMANDS}


def test_top_help_groups_every_command_with_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for group in ("everyone", "clients", "therapists", "researchers"):
        assert f"  {group}:" in out
    for c in COMMANDS:
        assert f"    {c.name:<9} {c.help}" in out and f"e.g. {c.example}" in out


def test_help_and_usage_errors_do_not_import_the_science_stack() -> None:
    code = ("import sys\nfrom impactlab.cli.main import main\n"
            "for argv in (['--help'], ['--version'], ['analyse']):\n"
            "    try:\n        main(argv)\n    except SystemExit:\n        pass\n"
            "heavy = [m for m in ('pandas', 'scipy', 'pyarrow', 'numpy', 'rich') if m in sys.modules]\n"
            "assert not heavy, heavy\n")
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, cwd=ROOT.parent)


def test_near_miss_command_and_flag(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["analyse", DAY])
    assert exc.value.code == 2
    assert "Did you mean 'analyze'?" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["analyze", DAY, "--formt", "json"])
    err = capsys.readouterr().err
    assert "Did you mean '--format'?" in err and err.startswith("usage: impactlab analyze")


@pytest.mark.parametrize("axis", ["-y", "Y", "+Y", "-Y", "y"])
def test_vertical_axis_spellings(axis: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze", DAY, "--vertical-axis", axis, "--format", "json", "-q"]) == 0
    out = json.loads(capsys.readouterr().out)
    want = "-y" if axis.startswith("-") else "+y"
    assert out["recording"]["vertical_axis"] == want
    assert out["impacts"]["total"] == (8470 if want == "-y" else out["impacts"]["total"])


def test_piped_table_fits_80_columns() -> None:
    env = {**os.environ, "COLUMNS": "80"}
    res = subprocess.run([sys.executable, "-m", "impactlab", "analyze", DAY, "--plan", str(ROOT / "sample_data" / "plan.toml"),
                          "-q"], capture_output=True, text=True, env=env, check=True)
    assert "…" not in res.stdout
    assert max(len(line) for line in res.stdout.splitlines()) <= 80
    assert "5260" in res.stdout and "3160" in res.stdout
