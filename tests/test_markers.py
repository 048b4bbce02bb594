"""Markers (DESIGN §4): the CSV, ``impactlab mark``, and the rules (reversed, overlapping, outside)."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from impactlab.cli.main import main

from impactlab import analyze
from impactlab.errors import ConfigError, DataQualityWarning
from impactlab.markers import KNOWN_LABELS, append_marker, read_markers
from impactlab.simulate import Walk, simulate_recording

HEADER = "start,end,label\n"


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "markers.csv"
    p.write_text(text)
    return p


def test_read_sorted_with_comments_and_local_times(tmp_path: Path) -> None:
    p = _write(tmp_path, HEADER + "# vest on the morning walk\n"
               "2026-03-03T15:00:00,2026-03-03T15:20:00,Walk\n"
               "\n2026-03-03T10:00:00+00:00,2026-03-03T10:40:00+00:00,vest\n")
    m = read_markers(p)
    assert [x.label for x in m] == ["vest", "walk"]
    assert [x.line for x in m] == [5, 3]
    assert m.items[0].source == "markers:markers.csv"
    r = m.resolve("Europe/Helsinki")  # naive times are local times of the recording's zone
    assert r.items[1].start == pd.Timestamp("2026-03-03 15:00", tz="Europe/Helsinki")


def test_extra_columns_are_ignored(tmp_path: Path) -> None:
    p = _write(tmp_path, "label,start,end,note\nvest,2026-03-03T10:00Z,2026-03-03T10:30Z,5 kg\n")
    assert read_markers(p).items[0].label == "vest"


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (HEADER + "2026-03-03T10:40:00Z,2026-03-03T10:00:00Z,vest\n", r"markers.csv:line 2: .*end .* is before start"),
        (HEADER + "2026-03-03T10:00:00Z,2026-03-03T10:00:00Z,vest\n", "equals start"),
        (HEADER + "2026-03-03T10:00:00Z,2026-03-03T10:40:00Z,vest\n2026-03-03T10:30:00Z,2026-03-03T11:00:00Z,vest\n",
         r"line 3: marker 'vest' .* overlaps the one on markers:markers.csv line 2"),
        (HEADER + "yesterday,2026-03-03T10:00:00Z,vest\n", r"line 2: start 'yesterday' is not an ISO-8601 date and time"),
        ("2026-03-03T10:00:00Z,2026-03-03T10:40:00Z,vest\n",
         r"markers.csv:line 1: the first line should be the header start,end,label \(it lacks start, end, label\)"),
        (HEADER + "2026-03-03T10:00:00Z,vest\n", "line 2: expected 3 fields"),
        (HEADER + "2026-03-03T10:00:00Z,2026-03-03T10:40:00Z,\n", "label is empty"),
    ],
)
def test_bad_markers_are_clear_errors(tmp_path: Path, text: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        read_markers(_write(tmp_path, text))


def test_overlap_of_different_labels_is_fine(tmp_path: Path) -> None:
    p = _write(tmp_path, HEADER + "2026-03-03T10:00Z,2026-03-03T10:40Z,vest\n2026-03-03T10:00Z,2026-03-03T10:40Z,walk\n")
    assert len(read_markers(p)) == 2


def test_unknown_label_warns(tmp_path: Path) -> None:
    p = _write(tmp_path, HEADER + "2026-03-03T10:00Z,2026-03-03T10:40Z,vset\n")
    with pytest.warns(DataQualityWarning, match="did you mean 'vest'"):
        read_markers(p)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        read_markers(tmp_path / "nope.csv")


def test_markers_outside_the_recording_warn(tmp_path: Path) -> None:
    rec = simulate_recording(duration_s=600, fs=50, start="2026-03-03 10:00", tz="UTC", walks=[Walk(60, 400, 110, 0.8)], seed=1)
    p = _write(tmp_path, HEADER + "2026-03-01T10:00Z,2026-03-01T11:00Z,vest\n"  # two days before
               "2026-03-03T09:50Z,2026-03-03T10:05Z,vest\n")  # starts before the recording
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = analyze(rec, markers=read_markers(p))
    msgs = [str(w.message) for w in caught]
    assert any("line 2" in m and "outside the recording" in m and "ignored" in m for m in msgs)
    assert any("line 3" in m and "extends outside the recording" in m for m in msgs)
    assert list(res.sessions["kind"]) == ["vest_walk"]
    assert [m["line"] for m in res.extra["sessions"]["markers"]] == [3]


def test_vest_marker_without_walking_warns(tmp_path: Path) -> None:
    rec = simulate_recording(duration_s=600, fs=50, start="2026-03-03 10:00", tz="UTC", seed=2)
    p = _write(tmp_path, HEADER + "2026-03-03T10:01Z,2026-03-03T10:05Z,vest\n")
    with pytest.warns(DataQualityWarning, match="no walking bout"):
        analyze(rec, markers=read_markers(p))


# -- impactlab mark -------------------------------------------------------------------------------
def test_mark_creates_and_appends(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "m.csv"
    assert main(["mark", "vest", "--start", "2026-03-03T10:00:00+00:00", "--end", "2026-03-03T10:40:00+00:00",
                 "--file", str(f)]) == 0
    assert "added vest" in capsys.readouterr().out
    assert main(["mark", "vibration", "--start", "2026-03-03T18:00", "--end", "2026-03-03T18:15",
                 "--tz", "Europe/London", "--file", str(f)]) == 0
    lines = f.read_text().splitlines()
    assert lines[0] == "start,end,label" and len(lines) == 3
    m = read_markers(f)
    assert [x.label for x in m] == ["vest", "vibration"]
    assert m.items[1].start == pd.Timestamp("2026-03-03T18:00:00+00:00")


def test_mark_refuses_overlap_and_reversed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "m.csv"
    append_marker(f, "vest", "2026-03-03T10:00:00+00:00", "2026-03-03T10:40:00+00:00")
    before = f.read_text()
    assert main(["mark", "vest", "--start", "2026-03-03T10:30:00+00:00", "--end", "2026-03-03T11:00:00+00:00",
                 "--file", str(f)]) == 1
    assert "overlaps" in capsys.readouterr().err
    assert main(["mark", "walk", "--start", "2026-03-03T12:00:00+00:00", "--end", "2026-03-03T11:00:00+00:00",
                 "--file", str(f)]) == 1
    assert f"{f}: the end 2026-03-03T11:00:00+00:00 is before the start" in capsys.readouterr().err
    assert f.read_text() == before
    with pytest.raises(SystemExit) as err:
        main(["mark", "weights", "--start", "2026-03-03T12:00", "--end", "2026-03-03T13:00", "--file", str(f)])
    assert err.value.code == 2


# -- property tests -------------------------------------------------------------------------------
_t0 = pd.Timestamp("2026-03-02T00:00:00+00:00")
periods = st.lists(
    st.tuples(st.integers(0, 10_000), st.integers(-100, 3_000), st.sampled_from(KNOWN_LABELS)), min_size=1, max_size=6
)


@given(periods)
def test_parser_accepts_exactly_the_valid_files(tmp_path_factory: pytest.TempPathFactory, rows: list[tuple[int, int, str]]) -> None:
    p = tmp_path_factory.mktemp("m") / "markers.csv"
    items = [(_t0 + pd.Timedelta(minutes=a), _t0 + pd.Timedelta(minutes=a + d), lab) for a, d, lab in rows]
    p.write_text(HEADER + "".join(f"{s.isoformat()},{e.isoformat()},{lab}\n" for s, e, lab in items))
    reversed_ = any(e <= s for s, e, _ in items)
    overlap = any(
        a[2] == b[2] and a[0] < b[1] and b[0] < a[1] for i, a in enumerate(items) for b in items[i + 1 :]
    )
    if reversed_ or overlap:
        with pytest.raises(ConfigError):
            read_markers(p)
    else:
        got = read_markers(p)
        assert sorted((m.start, m.end, m.label) for m in got) == sorted(items)


# -- bad markers files and `mark` keeping the file's style (issue 14) -----------------------------
@pytest.mark.parametrize(
    ("raw", "line", "match"),
    [
        (b"# vest log\n\nstart;end;label\n", 3, r"the first line that is not a comment should be the header .*got 'start;end;label'"),
        (b"start,end,label\n2026-03-03T10:00Z,2026-03-03T10:40Z,v\xe9st\n", 2, r"not UTF-8 text \(byte 0xe9 at column 38\)"),
        (b"\x00\x01PK\x03\x04" + bytes(range(256)), 2, "binary file, not a markers CSV"),  # a newline at byte 16
        (b"start,end,label\n" + b"2026-03-03T10:00Z,2026-03-03T10:40Z," + b"x" * 200_000 + b"\n", 2, "not a CSV line"),
        (b"start,end,label\n0001-03-03T10:00,2026-03-03T10:40,vest\n", 2, "in the year 1, before or long after"),
        (b"start,end,label\n2026,2027,vest\n", 2, "start '2026' is not an ISO-8601 date and time"),
        (b"start,end,label\n" + b"2026-03-03T10:00Z" * 500 + b",2026-03-03T10:40Z,vest\n", 2, "is not an ISO-8601"),
    ],
)
def test_bad_markers_files_name_file_and_line(tmp_path: Path, raw: bytes, line: int, match: str) -> None:
    p = tmp_path / "markers.csv"
    p.write_bytes(raw)
    with pytest.raises(ConfigError, match=match) as err:
        read_markers(p)
    assert str(err.value).startswith(f"{p}:line {line}: ") and len(str(err.value)) < 400


def test_markers_folder_and_fifo_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="this is a folder, not a markers file"):
        read_markers(tmp_path)
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "pipe.csv")
        with pytest.raises(ConfigError, match="not a regular file"):
            read_markers(tmp_path / "pipe.csv")


def test_mark_needs_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """No silent ./markers.csv in whatever folder the user happens to be in."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as err:
        main(["mark", "vest", "--start", "2026-03-03T10:00Z", "--end", "2026-03-03T10:40Z"])
    assert err.value.code == 2 and "--file" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_mark_keeps_the_files_style(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = _write(tmp_path, HEADER + "2026-03-03 10:00Z,2026-03-03 10:40Z,vest")  # no final newline
    assert main(["mark", "walk", "--start", "2026-03-04T09:00:00+00:00", "--end", "2026-03-04T09:30:00+00:00",
                 "--file", str(f)]) == 0
    assert f"{f}:line 3: added walk" in capsys.readouterr().out
    assert f.read_text().splitlines()[2] == "2026-03-04 09:00Z,2026-03-04 09:30Z,walk"
    assert main(["mark", "vest", "--start", "2026-03-05T09:00:20", "--end", "2026-03-05T09:30", "--tz", "Europe/Paris",
                 "--file", str(f)]) == 0
    assert f.read_text().splitlines()[3] == "2026-03-05 09:00:20+01:00,2026-03-05 09:30+01:00,vest"
    assert [m.line for m in read_markers(f)] == [2, 3, 4]


def test_mark_refuses_mixing_local_and_offset_times(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    aware = _write(tmp_path, HEADER + "2026-03-03T10:00:00+00:00,2026-03-03T10:40:00+00:00,vest\n")
    before = aware.read_text()
    assert main(["mark", "walk", "--start", "2026-03-04T09:00", "--end", "2026-03-04T09:30", "--file", str(aware)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"{aware}: the times in this file have a UTC offset" in err[0] and "--tz" in err[0]
    assert aware.read_text() == before
    local = tmp_path / "local.csv"
    local.write_text(HEADER + "2026-03-03T10:00:00,2026-03-03T10:40:00,vest\n")
    assert main(["mark", "walk", "--start", "2026-03-04T09:00Z", "--end", "2026-03-04T09:30Z", "--file", str(local)]) == 1
    assert "have no UTC offset" in capsys.readouterr().err
    assert main(["mark", "walk", "--start", "2026-03-04T09:00", "--end", "2026-03-04T09:30", "--file", str(local)]) == 0
    assert local.read_text().splitlines()[-1] == "2026-03-04T09:00:00,2026-03-04T09:30:00,walk"


def test_mark_errors_blame_the_right_place(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = _write(tmp_path, HEADER + "# morning\n2026-03-03T10:00Z,2026-03-03T10:40Z,vest\n")
    cases = [
        (["vest", "--start", "2026-03-03T10:30Z", "--end", "2026-03-03T11:00Z"],
         f"{f}:line 3: this 'vest' marker (2026-03-03T10:00:00+00:00 to 2026-03-03T10:40:00+00:00) overlaps the new one"),
        (["vest", "--start", "2026-03-03T12:00Z", "--end", "2026-03-03T11:00Z"], f"{f}: the end 2026-03-03T11:00:00+00:00 is before"),
        (["vest", "--start", "2026-03-29T01:30", "--end", "2026-03-29T03:00", "--tz", "Europe/London"],
         "--start 2026-03-29T01:30:00 does not exist or is ambiguous in Europe/London"),
        (["vest", "--start", "x" * 10_000, "--end", "2026-03-03T11:00Z"], "--start 'xxxxx"),
    ]
    for args, want in cases:
        assert main(["mark", *args, "--file", str(f)]) == 1
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and want in err[0] and len(err[0]) < 400, err
    assert f.read_text() == HEADER + "# morning\n2026-03-03T10:00Z,2026-03-03T10:40Z,vest\n"
    assert main(["mark", "vest", "--start", "2026-03-03T10:00Z", "--end", "2026-03-03T11:00Z",
                 "--file", str(tmp_path / "no-such-folder" / "m.csv")]) == 1
    assert "cannot write the markers file (No such file or directory)" in capsys.readouterr().err


def test_mark_creates_the_file_owner_only(tmp_path: Path) -> None:
    f = tmp_path / "new.csv"
    m = append_marker(f, "vest", "2026-03-03T10:00:00+00:00", "2026-03-03T10:40:00+00:00")
    assert m.line == 2 and f.read_text() == HEADER + "2026-03-03T10:00:00+00:00,2026-03-03T10:40:00+00:00,vest\n"
    if os.name == "posix":
        assert f.stat().st_mode & 0o777 == 0o600


def test_mark_names_a_utf16_markers_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A markers file saved as UTF-16 (Excel's "Unicode Text") is named as such by the reader it shares
    with plan files (impactlab._textfile), instead of 'not UTF-8 text (byte 0xff ...)'."""
    f = tmp_path / "m.csv"
    f.write_bytes("start,end,label\n2026-03-03T10:00Z,2026-03-03T10:40Z,vest\n".encode("utf-16"))
    before = f.read_bytes()
    assert main(["mark", "walk", "--start", "2026-03-04T09:00:00+00:00", "--end", "2026-03-04T09:30:00+00:00",
                 "--file", str(f)]) == 1
    err = capsys.readouterr().err
    assert f"{f}:line 1: the file is UTF-16 text; a markers file must be UTF-8" in err
    assert "Save it again choosing the encoding UTF-8" in err
    assert f.read_bytes() == before
