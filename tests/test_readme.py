"""The README's Python API section is run as a doctest, so what it shows stays true."""

from __future__ import annotations

import doctest
import json
import shlex
from pathlib import Path

import pytest
from impactlab.cli.main import main

ROOT = Path(__file__).resolve().parents[1]


def test_readme_python_api_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    res = doctest.testfile(str(ROOT / "README.md"), module_relative=False, optionflags=doctest.ELLIPSIS,
                           raise_on_error=False, verbose=False)
    assert res.attempted >= 7
    assert res.failed == 0


def _what_it_does() -> list[list[str]]:
    """The commands of the README's 'What it does' block, each as argv without 'impactlab' (comments dropped)."""
    text = (ROOT / "README.md").read_text()
    block = text.split("## What it does", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    return [shlex.split(line, comments=True)[1:] for line in block.splitlines() if line.startswith("impactlab ")]


@pytest.mark.slow
def test_readme_what_it_does_runs_as_written_from_an_empty_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """A new user copies the block line by line into an empty folder, after 'impactlab sample-data' (a wheel install)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("IMPACTLAB_STORE", str(tmp_path / "default.sqlite"))
    assert main(["-q", "sample-data"]) == 0
    ran = []
    for argv in _what_it_does():
        if argv[0] == "sync":  # a day over simulated Bluetooth takes a minute: .ci/wheel-smoke runs it; here, the same data
            assert argv[1:3] == ["--simulate", "sample_data/sim-day.parquet"], argv
            argv = ["import", "sample_data/sim-day.parquet", *argv[3:]]
        capsys.readouterr()
        try:
            code = main(["-q", *argv])
        except SystemExit as exc:  # --help
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        assert code == 0, f"impactlab {' '.join(argv)} exited {code}: {err}"
        ran.append((argv, out))
    assert len(ran) >= 10
    as_json = next(out for argv, out in ran if "--format" in argv)
    assert json.loads(as_json)["impacts"] == {"low": 5260, "medium": 3160, "high": 50, "total": 8470}
    assert (tmp_path / "results" / "sim-day-Daily.csv").exists()
    html = (tmp_path / "week.html").read_text(encoding="utf-8")
    assert "Hip loading, sample programme" in html and "not met" in html  # the plan set before the report is in it
    today = next(out for argv, out in ran if argv[0] == "today")
    assert "high impacts: 50 of 60" in today


def test_every_sample_file_an_example_names_ships_in_the_wheel() -> None:
    """Each ``sample_data/NAME`` of the README, docs and --help is in what the wheel installs and ``sample-data`` copies."""
    import fnmatch
    import re
    import tomllib

    from impactlab.cli.commands import COMMANDS
    from impactlab.cli.main import build_parser

    from impactlab import sample_data

    texts = [(ROOT / p).read_text() for p in ("README.md", "sample_data/README.md", "docs/cli.md", "docs/batch.md")]
    for c in COMMANDS:
        texts.append(c.example)
        texts.append(build_parser(c.name).commands[c.name].format_help())
    named = {m for t in texts for m in re.findall(r"sample_data/([\w.-]+\.\w+)", t)}
    built = {"sim-week.parquet"}  # written by make_sample_week.py, too large to ship
    assert {"sim-day.parquet", "plan.toml", "actigraph-hip-5min.csv"} <= named
    assert named - built <= set(sample_data.FILES), "add these to impactlab.sample_data.FILES"
    globs = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["impactlab.sample_data"]
    for name in sample_data.FILES:
        assert (ROOT / "sample_data" / name).is_file(), name
        assert name.endswith(".py") or any(fnmatch.fnmatch(name, g) for g in globs), f"{name}: not in package-data"


def test_a_missing_sample_file_says_how_to_get_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)  # a wheel install: no sample_data/ here
    assert main(["analyze", "sample_data/sim-day.parquet"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "sample_data/sim-day.parquet: no such file" in err and "impactlab sample-data" in err
    assert main(["plan", "check", "sample_data/plan.toml"]) == 1
    assert "impactlab sample-data" in capsys.readouterr().err
    assert main(["analyze", "other.csv"]) == 1  # not a sample file: no such hint
    assert "sample-data" not in capsys.readouterr().err
    assert main(["sample-data"]) == 0
    assert "wrote 9 file(s)" in capsys.readouterr().out
    (tmp_path / "sample_data" / "plan.toml").write_text("# mine\n")
    assert main(["sample-data"]) == 0  # a second run keeps what is there, even a file the user changed
    assert "kept 9" in capsys.readouterr().out and (tmp_path / "sample_data" / "plan.toml").read_text() == "# mine\n"
    assert main(["-q", "analyze", "sample_data/sim-day.parquet", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["impacts"]["total"] == 8470
