"""One flag vocabulary: every subcommand spells a shared flag the same way, and old spellings still work.

The old spellings (one release) are each driven as a user types them: they do what the new one does
and leave one line on stderr saying what to type instead.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import pytest
from impactlab.cli.commands import COMMANDS
from impactlab.cli.main import build_parser, main
from impactlab.cli.options import REMOVED_IN, VOCABULARY

ROOT = Path(__file__).resolve().parents[1]
DAY = str(ROOT / "sample_data" / "sim-day.parquet")
HIP = str(ROOT / "sample_data" / "actigraph-hip-5min.csv")


def _parsers() -> dict[str, argparse.ArgumentParser]:
    """Every (sub-)subcommand parser by its full name (``plan check``, ``device assign``, ...)."""
    out: dict[str, argparse.ArgumentParser] = {}
    for c in COMMANDS:
        sp = build_parser(c.name).commands[c.name]
        subs = [a for a in sp._actions if isinstance(a, argparse._SubParsersAction)]
        if subs:
            for name, ssp in subs[0].choices.items():
                out[f"{c.name} {name}"] = ssp
        else:
            out[c.name] = sp
    return out


def _visible(p: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    return {s: a for a in p._actions if a.help is not argparse.SUPPRESS for s in a.option_strings}


def test_every_command_speaks_the_vocabulary() -> None:
    parsers = _parsers()
    assert len(parsers) == 17
    for name, p in parsers.items():
        flags = _visible(p)
        if "--client" in flags:
            assert flags["--client"].metavar == "ID" and flags["--client"].dest == "client", name
        assert "--name" not in flags, f"{name}: --name is ambiguous; use --client-name or --sensor"
        if "--client-name" in flags:
            assert flags["--client-name"].dest == "client_name", name
        if "--sensor" in flags:
            assert flags["--sensor"].dest == "sensor_name" and "--address" in flags, name
        if "-o" in flags:
            assert flags["-o"].metavar == "DIR" and flags["-o"] is flags.get("--out"), f"{name}: -o/--out is a folder"
        if "--output" in flags:
            assert flags["--output"].dest == "output", name
        if "--format" in flags:
            assert list(flags["--format"].choices or ()) == ["table", "json"], f"{name}: --format is for stdout"
        if "--table-format" in flags:
            assert list(flags["--table-format"].choices or ()) == ["parquet", "csv"], name
    assert "--table-format" in _visible(parsers["batch"]) and "--table-format" in _visible(parsers["collate"])
    assert "--output" in _visible(parsers["convert"]) and "--output" in _visible(parsers["stream"])
    for name in ("sync", "scan", "stream"):
        assert "--sensor" in _visible(parsers[name])


def test_readme_tables_the_vocabulary() -> None:
    readme = (ROOT / "README.md").read_text()
    docs = (ROOT / "docs" / "cli.md").read_text()
    for f in VOCABULARY:
        flag = f.flag.replace("|", "\\|")  # a pipe inside a Markdown table cell
        assert f"| `{flag}` | {f.meaning} |" in readme, f.flag
        assert f"| `{flag}` |" in docs, f.flag


@pytest.mark.parametrize(
    ("argv", "dest", "value", "note"),
    [
        (["import", DAY, "--client", "c1", "--name", "Ann"], "client_name", "Ann", "'import --name'.*--client-name NAME"),
        (["import", DAY, "-o", "x.parquet"], "save_parquet", "x.parquet", "'import -o'.*--save-parquet FILE"),
        (["sync", "--client", "c1", "--name", "IMPL-0001"], "sensor_name", "IMPL-0001", "'sync --name'.*--sensor NAME"),
        (["scan", "--name", "IMPL"], "sensor_name", "IMPL", "'scan --name'.*--sensor NAME"),
        (["stream", "--name", "IMPL-0001"], "sensor_name", "IMPL-0001", "'stream --name'.*--sensor NAME"),
        (["stream", "--out", "s.parquet"], "output", "s.parquet", "'stream --out'.*--output FILE.parquet"),
        (["convert", DAY, "-o", "x.parquet"], "output", "x.parquet", "'convert -o'.*--output OUT.parquet"),
        (["convert", DAY, "--out", "x.parquet"], "output", "x.parquet", "'convert --out'.*--output OUT.parquet"),
        (["batch", DAY, "-o", "res", "--format", "csv"], "table_format", "csv", "'batch --format'.*--table-format"),
        (["collate", "res", "--format", "csv"], "table_format", "csv", "'collate --format'.*--table-format"),
    ],
)
def test_old_spelling_parses_like_the_new_one_with_a_note(argv: list[str], dest: str, value: str, note: str) -> None:
    args = build_parser(argv[0]).parse_args(argv)
    assert getattr(args, dest) == value
    assert len(args.deprecated_notes) == 1 and re.search(note, args.deprecated_notes[0])
    assert f"impactlab {REMOVED_IN}" in args.deprecated_notes[0]


def test_new_spellings_leave_no_note_and_keep_defaults() -> None:
    args = build_parser("batch").parse_args(["batch", DAY, "-o", "res"])
    assert args.table_format == "parquet" and not hasattr(args, "deprecated_notes")
    args = build_parser("stream").parse_args(["stream", "--sensor", "IMPL-0001", "--output", "s.parquet"])
    assert (args.sensor_name, args.output) == ("IMPL-0001", "s.parquet")


def test_old_spellings_work_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = str(tmp_path / "s.sqlite")
    # import --name (old) stores the display name like --client-name, with one line on stderr
    assert main(["import", DAY, "--client", "c1", "--name", "Ann", "--store", store, "--format", "json", "-q"]) == 0
    capsys.readouterr()
    assert main(["import", DAY, "--client", "c2", "--name", "Bob", "--store", store, "--format", "json"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert [e for e in err if "deprecated" in e] == [
        f"impactlab: warning: 'import --name' is deprecated: use --client-name NAME (the old spelling stops working "
        f"in impactlab {REMOVED_IN})"]
    assert main(["import", DAY, "--client", "c3", "--client-name", "Cy", "--store", store, "--format", "json"]) == 0
    assert "deprecated" not in capsys.readouterr().err
    assert main(["clients", "--store", store, "--format", "json"]) == 0
    names = {c["id"]: c["name"] for c in json.loads(capsys.readouterr().out)["clients"]}
    assert names == {"c1": "Ann", "c2": "Bob", "c3": "Cy"}
    # convert -o FILE (old) and --output FILE write the same file
    for flag, name in (("-o", "old.parquet"), ("--output", "new.parquet")):
        assert main(["convert", HIP, flag, str(tmp_path / name), "--tz", "UTC", "-q"]) == 0
    assert (tmp_path / "old.parquet").read_bytes() == (tmp_path / "new.parquet").read_bytes()
    # import -o FILE (old) is --save-parquet FILE: without --client it converts only
    assert main(["import", HIP, "-o", str(tmp_path / "imp.parquet"), "--tz", "UTC"]) == 0
    assert "'import -o' is deprecated: use --save-parquet FILE" in capsys.readouterr().err
    assert (tmp_path / "imp.parquet").read_bytes() == (tmp_path / "new.parquet").read_bytes()
    # collate --format (old) is --table-format
    assert main(["analyze", HIP, "--tz", "UTC", "-o", str(tmp_path / "res" / "hip"), "-q"]) == 0
    capsys.readouterr()
    assert main(["collate", str(tmp_path / "res"), "--format", "csv"]) == 0
    cap = capsys.readouterr()
    assert "'collate --format' is deprecated: use --table-format parquet|csv" in cap.err
    assert (tmp_path / "res" / "collated" / "Summary.csv").exists()


def test_import_save_parquet_with_a_client_imports_and_saves(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "hip.parquet"
    assert main(["import", HIP, "--tz", "UTC", "--client", "c1", "--store", str(tmp_path / "s.sqlite"),
                 "--save-parquet", str(out), "--format", "json", "-q"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["client"] == "c1" and res["added"]["impacts"] == 209
    assert main(["analyze", str(out), "--format", "json", "-q"]) == 0
    assert json.loads(capsys.readouterr().out)["impacts"]["total"] == 209


@pytest.mark.parametrize("flag", ["--preset=oulu", "--native-rate", "--range-g=8", "--plan=p.toml", "--body-mass=70"])
def test_convert_refuses_method_options(flag: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["convert", HIP, "--output", str(tmp_path / "x.parquet"), flag])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: impactlab convert")
    assert f"{flag.split('=')[0]} is an analysis option: convert writes the samples as they were read" in err
    assert not (tmp_path / "x.parquet").exists()
    help_text = build_parser("convert").commands["convert"].format_help()
    assert flag.split("=")[0] not in help_text


def test_convert_needs_output(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["convert", HIP])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: impactlab convert") and "required: --output OUT.parquet" in err


@pytest.mark.parametrize(
    ("argv", "usage", "hint"),
    [
        (["history", "--clinet", "c1"], "usage: impactlab history", "--client"),
        (["report", "--client", "c1", "--weke", "2026-W10"], "usage: impactlab report", "--week"),
        (["plan", "check", "sample_data/plan.toml", "--formt", "json"], "usage: impactlab plan check", "--format"),
        (["sync", "--client", "c1", "--sensr", "IMPL"], "usage: impactlab sync", "--sensor"),
        (["batch", DAY, "-o", "r", "--table-formt", "csv"], "usage: impactlab batch", "--table-format"),
        (["convert", DAY, "--outpt", "x.parquet"], "usage: impactlab convert", "--output"),
    ],
)
def test_wrong_flag_prints_the_subcommands_usage_and_the_near_miss(argv: list[str], usage: str, hint: str,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(usage) and f"Did you mean '{hint}'?" in err


def test_near_miss_never_suggests_a_hidden_spelling(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["import", DAY, "--nme", "Ann"])
    err = capsys.readouterr().err
    assert "Did you mean '--note'?" in err and "'--name'" not in err
    with pytest.raises(SystemExit):
        main(["convert", DAY, "--ot", "x.parquet"])
    assert "Did you mean '--out'?" not in capsys.readouterr().err


@pytest.mark.parametrize("command", [["report", "--client", "c1", "--week", "2026-W10"], ["history", "--client", "c1"],
                                     ["clients"], ["today", "--client", "c1"]])
def test_read_only_commands_refuse_a_store_that_does_not_exist(command: list[str], tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "clinc.sqlite"
    assert main([*command, "--store", str(missing)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"impactlab: error: {missing}: no client store here")
    assert "impactlab import FILE --client ID --store PATH" in err[0]
    assert not missing.exists() and not (tmp_path / "raw").exists()
    # the default store, when there is none yet, is not created either
    monkeypatch.setenv("IMPACTLAB_STORE", str(tmp_path / "default" / "store.sqlite"))
    assert main(command) == 1
    assert "no client store yet at the default path" in capsys.readouterr().err
    assert not (tmp_path / "default").exists()


def test_global_flags_work_after_a_sub_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "check", str(ROOT / "sample_data" / "plan.toml"), "-q", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["schema"] == 1
