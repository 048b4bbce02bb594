"""The command line as a new user meets it: fast help, near-miss suggestions, axis spellings, 80-column tables."""

from __future__ import annotations

import argparse
import glob
import json
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from impactlab.cli.commands import COMMANDS
from impactlab.cli.main import _join_axis_values, build_parser, main

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
    groups = [line.strip() for line in out.splitlines() if line.startswith("  ") and line.strip().endswith(":")]
    assert groups == ["start here:", "clients:", "therapists:", "researchers:"]
    for c in COMMANDS:
        assert f"    {c.name:<9} {c.help}" in out and f"e.g. {c.example}" in out


def test_help_and_usage_errors_do_not_import_the_science_stack() -> None:
    argvs = [["--help"], ["--version"], ["analyse"], ["history", "--clinet", "c1"],
             *([c.name, "--help"] for c in COMMANDS), ["plan", "check", "--help"], ["device", "assign", "--help"]]
    code = ("import sys\nfrom impactlab.cli.main import main\n"
            f"for argv in {argvs!r}:\n"
            "    try:\n        main(argv)\n    except SystemExit:\n        pass\n"
            "heavy = [m for m in ('pandas', 'scipy', 'pyarrow', 'numpy', 'rich', 'bleak', 'dask') if m in sys.modules]\n"
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


def _helps() -> dict[str, argparse.ArgumentParser]:
    """Every (sub-)subcommand parser by its full name: ``analyze``, ``plan check``, ``plan set``, ..."""
    out: dict[str, argparse.ArgumentParser] = {}
    for c in COMMANDS:
        sp = build_parser(c.name).commands[c.name]
        subs = [a for a in sp._actions if isinstance(a, argparse._SubParsersAction)]
        for name, ssp in (subs[0].choices.items() if subs else [("", sp)]):
            out[f"{c.name} {name}".strip()] = ssp
    return out


def _examples(p: argparse.ArgumentParser) -> list[tuple[list[str], str]]:
    """The ``examples:`` block of a help: (argv without 'impactlab', the comment after '#')."""
    block = (p.epilog or "").split("examples:\n", 1)[-1].split("\n\n", 1)[0] if "examples:" in (p.epilog or "") else ""
    out = []
    for line in block.splitlines():
        if line.startswith("  impactlab "):
            comment = line.split(" # ", 1)[1].strip() if " # " in line else ""
            out.append((shlex.split(line, comments=True)[1:], comment))
    return out


INPUTS = ("file", "paths", "markers", "simulate")
PRODUCED = ("out", "output", "save_parquet", "html", "pdf", "file")


def _paths(value: object) -> list[str]:
    return [v for v in (value if isinstance(value, list) else [value]) if isinstance(v, str)]


def test_every_subcommand_help_has_two_examples_that_parse_and_name_real_inputs(tmp_path: Path) -> None:
    helps = _helps()
    assert len(helps) == 17
    for name, p in helps.items():
        examples = _examples(p)
        own = [argv for argv, _ in examples if " ".join(argv).startswith(name)]
        assert len(own) >= 2, f"impactlab {name} --help has {len(own)} example(s) of itself"
        made: set[str] = set()
        for argv, comment in examples:
            argv = _join_axis_values(argv)
            try:
                args = build_parser(argv[0]).parse_args(argv)
            except SystemExit:
                pytest.fail(f"impactlab {name} --help: example does not parse: impactlab {' '.join(argv)}")
            assert not getattr(args, "deprecated_notes", None), f"example uses an old spelling: {argv}"
            wanted = [v for k in INPUTS for v in _paths(getattr(args, k, None))]
            if argv[0] == "collate":
                wanted.append(args.out)
            if argv[0] in ("plan", "analyze", "import", "sync", "batch") and getattr(args, "plan", None):
                wanted.append(args.plan)
            if not comment.startswith("needs"):
                for w in wanted:
                    if argv[0] == "mark" and w == args.file:
                        continue  # mark creates its file
                    assert glob.glob(str(ROOT / w)) or w.rstrip("/") in made, f"{name}: {w} in {argv} does not exist"
            made |= {v.rstrip("/") for k in PRODUCED for v in _paths(getattr(args, k, None))}
            made |= {str(Path(v).parent) for v in made}
            for v in list(made):  # analyze -o results/hip and the like
                made |= {str(Path(v).parent)}


RUN = ("sample-data", "import", "plan", "clients", "history", "today", "report", "device", "mark", "convert")


@pytest.mark.slow
def test_store_and_file_examples_run(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Every example of the client, therapist and convert helps runs as printed (in a fresh folder)."""
    (tmp_path / "sample_data").symlink_to(ROOT / "sample_data")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("IMPACTLAB_STORE", str(tmp_path / "default.sqlite"))
    ran = 0
    for name, p in _helps().items():
        if name.split()[0] not in RUN:
            continue
        for argv, comment in _examples(p):
            if comment.startswith("needs") or argv[0] not in RUN:
                continue
            code = main(["-q", *argv])
            err = capsys.readouterr().err
            assert code == 0, f"impactlab {' '.join(argv)} exited {code}: {err}"
            ran += 1
    assert ran >= 25
    assert (tmp_path / "c01-W10.html").stat().st_size > 10_000 and (tmp_path / "hip-cal.parquet").exists()
    assert "vibration" in (tmp_path / "my-markers.csv").read_text()
    copied = tmp_path / "try-impactlab" / "sample_data" / "sim-day.parquet"
    assert copied.read_bytes() == (ROOT / "sample_data" / "sim-day.parquet").read_bytes()


def test_analyze_help_lists_every_readable_format() -> None:
    text = build_parser("analyze").commands["analyze"].format_help()
    for fmt in (".csv", ".parquet", ".gt3x", ".agdc", ".cwa", ".bin", "BLE logs", ".csv.gz"):
        assert fmt in text, fmt


def test_mark_labels_are_the_librarys() -> None:
    from impactlab.cli.commands.mark import LABELS

    from impactlab.markers import KNOWN_LABELS

    assert LABELS == KNOWN_LABELS


def test_no_help_or_doc_points_at_a_document_that_is_not_here() -> None:
    texts = {name: p.format_help() for name, p in _helps().items()}
    texts["impactlab"] = build_parser().format_help()
    # sample_data/plan.toml still says "DESIGN §5" in a comment: its text is stored in the store's goldens
    for path in ["README.md", *glob.glob("docs/*.md", root_dir=ROOT), "firmware_config/README.md",
                 *glob.glob("cli/**/*.py", root_dir=ROOT, recursive=True)]:
        texts[path] = (ROOT / path).read_text()
    for where, text in texts.items():
        assert "DESIGN" not in text, where
        for ref in re.findall(r"\bdocs/[\w-]+\.md", text):
            assert (ROOT / ref).exists(), f"{where} points at {ref}"


@pytest.fixture
def piped(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Callable[[list[str]], str]:
    """Run in this process with stdout captured (not a terminal) at 80 columns; returns stdout."""
    monkeypatch.setenv("COLUMNS", "80")

    def run(argv: list[str]) -> str:
        capsys.readouterr()
        assert main(argv) == 0
        return capsys.readouterr().out

    return run


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = str(tmp_path_factory.mktemp("store") / "s.sqlite")
    main(["-q", "import", DAY, "--client", "c01", "--client-name", "Ann Example", "--plan",
          str(ROOT / "sample_data" / "plan.toml"), "--store", path, "--format", "json"])
    main(["-q", "import", str(ROOT / "sample_data" / "actigraph-hip-5min.csv"), "--tz", "Europe/Lisbon", "--client",
          "c02-a-rather-long-client-identifier", "--client-name", "Bartholomew Longname-Example", "--store", path,
          "--format", "json"])
    return path


@pytest.mark.parametrize("argv", [["history", "--client", "c01"], ["clients"], ["today", "--client", "c01"],
                                  ["report", "--client", "c01"], ["report", "--all", "--week", "2026-W10"],
                                  ["import", DAY, "--client", "c01"]])
def test_store_tables_fit_80_columns_piped_and_wide_shows_them_whole(argv: list[str], store: str,
                                                                    piped: Callable[[list[str]], str]) -> None:
    out = piped([*argv, "--store", store, "-q"])
    assert "…" not in out and out.isascii(), out
    assert max(len(line) for line in out.splitlines()) <= 80, out
    wide = piped([*argv, "--store", store, "-q", "--wide"])
    assert "…" not in wide
    if argv[0] == "clients":
        assert "c02-a-rather-long-client-identifier" not in out  # folded at 80 columns
        row = next(line for line in wide.splitlines() if "c02-a-rather-long-client-identifier" in line)
        assert "Bartholomew Longname-Example" in row and "2021-04-06" in row
    if argv[0] == "history":
        assert "36820" in out and "Hip loading, sample programme" in next(
            line for line in wide.splitlines() if "2026-W10" in line)


def test_batch_output_has_no_cut_cells(tmp_path: Path, piped: Callable[[list[str]], str]) -> None:
    out = piped(["batch", str(ROOT / "sample_data" / "actigraph-hip-5min.csv"), "--tz", "Europe/Lisbon", "-o",
                  str(tmp_path / "res"), "--scheduler", "sync", "-q"])
    assert "…" not in out and "1 recordings: 1 analysed" in out
