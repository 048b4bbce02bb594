"""``impactlab batch`` / ``collate`` (DESIGN §8): per-file results equal ``analyze``, errors listed,
re-runs skip, Dask LocalCluster gives identical tables, Ctrl-C keeps finished folders."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from impactlab.cli.main import main

from impactlab import batch
from impactlab.config import BODY_MASS_RANGE_KG
from impactlab.errors import ConfigError, ImpactlabWarning
from impactlab.io import write_parquet
from impactlab.recording import Recording
from impactlab.simulate import Walk, simulate_recording

ROOT = Path(__file__).resolve().parents[1]
H = 3600.0
GOOD = ("long", "walk", "jumps")
BAD = {"corrupt": "corrupt.parquet", "empty": "empty.csv"}
TABLES = ("Daily", "Sessions", "PlanCheck", "Summary", "Warnings")


def _make_files(d: Path) -> list[Path]:
    """Three short recordings (one 10.5 h at 25 Hz, with a subject id, so it has a valid day), a
    truncated Parquet file and an empty CSV."""
    d.mkdir(parents=True, exist_ok=True)
    long = simulate_recording(duration_s=10.5 * H, fs=25, walks=[Walk(600, 1200, 110, 0.75)],
                              jumps=[(2000 + 3 * i, 2.2) for i in range(10)], seed=1)
    long = Recording(long.data, dataclasses.replace(long.meta, subject_id="S01"))
    walk = simulate_recording(duration_s=600, walks=[Walk(60, 300, 110, 0.75)], seed=2)
    jumps = simulate_recording(duration_s=300, jumps=[(60 + 5 * i, 2.0) for i in range(6)] + [(200, 1.2)], seed=3)
    paths = [write_parquet(r, d / f"{n}.parquet") for n, r in zip(GOOD, (long, walk, jumps), strict=True)]
    (d / BAD["corrupt"]).write_bytes(paths[1].read_bytes()[:4000])
    (d / BAD["empty"]).write_bytes(b"")
    return [*paths, d / BAD["corrupt"], d / BAD["empty"]]


def _batch(argv: list[str], capsys: pytest.CaptureFixture[str], code: int | None = None) -> str:
    """Run ``impactlab -q batch ARGV``; the exit status must be ``code`` (default: 1 when a bad file is in, else 0)."""
    if code is None:
        code = 1 if any(os.path.basename(a) in BAD.values() for a in argv) else 0
    assert main(["-q", "batch", *argv]) == code
    return capsys.readouterr().out


def _manifest(out: Path) -> dict[str, dict]:
    return {r["recording_id"]: r for r in json.loads((out / "manifest.json").read_text())["recordings"]}


def _folder_files(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.glob("*/*")) if p.parent.name != "collated"}


def _assert_same_tables(a: Path, b: Path, fmt: str = "parquet") -> None:
    for name in TABLES:
        pa, pb = a / "collated" / f"{name}.{fmt}", b / "collated" / f"{name}.{fmt}"
        if fmt == "parquet":
            pd.testing.assert_frame_equal(pd.read_parquet(pa), pd.read_parquet(pb))
        else:
            assert pa.read_bytes() == pb.read_bytes(), name
    pd.testing.assert_frame_equal(pd.read_parquet(a / "collated" / "Impacts"), pd.read_parquet(b / "collated" / "Impacts"))
    assert (a / "errors.csv").read_text() == (b / "errors.csv").read_text()
    assert _folder_files(a) == _folder_files(b)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return _make_files(tmp_path_factory.mktemp("recordings"))


@pytest.fixture(scope="module")
def sync_out(files: list[Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One batch in this process (``--scheduler sync``), the reference for the others."""
    out = tmp_path_factory.mktemp("batch") / "out"
    assert main(["-q", "batch", *map(str, files), "-o", str(out), "--scheduler", "sync"]) == 1  # 2 bad files
    return out


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """A real Dask LocalCluster with two single-threaded worker processes, shared by the module."""
    import distributed  # the [cluster] extra is part of [test]: missing is a failure, not a skip

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                                  silence_logs=logging.ERROR) as c:
        yield c.scheduler_address


def test_per_file_results_equal_analyze(files: list[Path], sync_out: Path, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    for f in files[:3]:
        ref = tmp_path / f.stem
        assert main(["-q", "analyze", str(f), "-o", str(ref)]) == 0
        got = sync_out / f.stem
        names = sorted(p.name for p in got.iterdir())
        assert names == sorted(p.name for p in ref.iterdir())
        assert names == [f"{f.stem}-{k}" for k in ("Daily.csv", "Impacts.csv", "Info.json", "Sessions.csv")]
        for name in names:
            if name.endswith(".csv"):
                assert (got / name).read_bytes() == (ref / name).read_bytes(), name
        info = json.loads((got / f"{f.stem}-Info.json").read_text())
        b = info.pop("batch")
        assert info == json.loads((ref / f"{f.stem}-Info.json").read_text())
        assert b["recording_id"] == f.stem and b["input_path"] == str(f)
        assert len(b["input_sha256"]) == 64 and b["settings_sha256"] == _manifest(sync_out)[f.stem]["settings_sha256"]
    capsys.readouterr()


def test_errors_listed_and_manifest(sync_out: Path) -> None:
    err = pd.read_csv(sync_out / "errors.csv")
    assert list(err.columns) == ["recording_id", "path", "error_type", "error"]
    assert list(err["recording_id"]) == ["corrupt", "empty"]
    assert err.set_index("recording_id").loc["empty", "error_type"] == "ReadError"
    assert "empty" in err.set_index("recording_id").loc["empty", "error"]
    assert err.set_index("recording_id").loc["corrupt", "error_type"] in ("UnsupportedFormatError", "CorruptFileError")
    assert not (sync_out / "corrupt").exists() and not (sync_out / "empty").exists()
    m = _manifest(sync_out)
    assert {k: v["status"] for k, v in m.items()} == {**dict.fromkeys(GOOD, "done"), **dict.fromkeys(BAD, "failed")}
    assert all(v["analysed"] and v["seconds"] is not None for v in m.values())
    assert [p.name for p in sync_out.iterdir() if p.name.startswith(".")] == []


def test_collated_tables(sync_out: Path) -> None:
    col = sync_out / "collated"
    assert sorted(p.name for p in col.iterdir()) == sorted([f"{t}.parquet" for t in TABLES]
                                                           + ["Summary-Dictionary.csv", "Dictionary.csv", "Impacts"])
    daily = pd.read_parquet(col / "Daily.parquet")
    assert list(daily.columns[:3]) == ["recording_id", "subject_id", "date"]
    for rid in GOOD:
        own = pd.read_csv(sync_out / rid / f"{rid}-Daily.csv")
        mine = daily[daily["recording_id"] == rid]
        assert list(mine["n_low"]) == list(own["n_low"]) and list(mine["n_high"]) == list(own["n_high"])
    assert set(daily.loc[daily["recording_id"] == "long", "subject_id"]) == {"S01"}
    assert daily.loc[daily["recording_id"] == "walk", "subject_id"].isna().all()

    summary = pd.read_parquet(col / "Summary.parquet").set_index("recording_id")
    assert list(summary.index) == sorted(GOOD)
    info = json.loads((sync_out / "long" / "long-Info.json").read_text())
    long = summary.loc["long"]
    assert long["subject_id"] == "S01" and long["valid_days"] == info["weekly"]["valid_days"] == 1
    for band in ("low", "medium", "high"):  # Hannam's weekly figure: mean per valid day x 7
        assert round(long[f"{band}_per_week"], 1) == info["weekly"][band]
        assert long[f"n_{band}"] == info["impacts"][band]
    assert long["high_per_week"] == 70.0  # 10 jumps of 2.2 g on the one valid day
    assert pd.isna(summary.loc["walk", "low_per_week"]) and summary.loc["walk", "valid_days"] == 0

    dictionary = pd.read_csv(col / "Summary-Dictionary.csv")
    assert list(dictionary.columns) == ["column", "dtype", "unit", "description"]
    assert list(dictionary["column"]) == [*summary.reset_index().columns]
    assert dictionary["description"].str.len().min() > 10


def test_rerun_processes_nothing_and_force_redoes(files: list[Path], sync_out: Path, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    shutil.copytree(sync_out, out)
    before = _folder_files(out)
    text = _batch([*map(str, files), "-o", str(out), "--scheduler", "sync"], capsys)
    assert "0 analysed, 3 up to date, 2 failed" in text
    m = _manifest(out)
    assert not any(r["analysed"] for r in m.values())
    assert {k: v["status"] for k, v in m.items()} == {**dict.fromkeys(GOOD, "skipped"), **dict.fromkeys(BAD, "failed")}
    assert _folder_files(out) == before
    _assert_same_tables(out, sync_out)

    # a changed setting re-analyses; an unchanged one after it skips again
    text = _batch([str(files[1]), "-o", str(out), "--scheduler", "sync", "--native-rate"], capsys)
    assert "1 analysed" in text
    assert json.loads((out / "walk" / "walk-Info.json").read_text())["settings"]["target_rate_hz"] is None
    text = _batch([str(files[1]), "-o", str(out), "--scheduler", "sync", "--native-rate", "--force"], capsys)
    assert "1 analysed" in text

    # a fixed file is retried even though its failure was remembered
    shutil.copy(files[2], tmp_path / "empty.csv")
    text = _batch([str(tmp_path / "empty.csv"), "-o", str(out), "--scheduler", "sync"], capsys, code=0)
    assert "1 analysed, 0 up to date, 0 failed" in text
    assert "empty" not in pd.read_csv(out / "errors.csv")["recording_id"].tolist()


def test_same_tables_on_dask_local_cluster(files: list[Path], sync_out: Path, cluster: str, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    text = _batch([*map(str, files), "-o", str(out), "--scheduler", cluster], capsys)
    assert "3 analysed, 0 up to date, 2 failed" in text
    _assert_same_tables(out, sync_out)
    workers = {r["worker"] for r in _manifest(out).values()}
    assert len(workers) >= 1 and all(w and not w.endswith(f":{os.getpid()}") for w in workers)
    text = _batch([*map(str, files), "-o", str(out), "--scheduler", cluster], capsys)
    assert "0 analysed, 3 up to date, 2 failed" in text


def test_default_local_processes_and_csv(files: list[Path], sync_out: Path, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    text = _batch([str(files[0].parent / "*.parquet"), str(files[-1]), "-o", str(out), "--jobs", "2", "--table-format", "csv"],
                  capsys)
    assert "3 analysed, 0 up to date, 2 failed" in text
    ref = tmp_path / "ref"
    shutil.copytree(sync_out, ref)
    assert main(["-q", "collate", str(ref), "--table-format", "csv"]) == 0
    capsys.readouterr()
    _assert_same_tables(out, ref, fmt="csv")
    daily = (out / "collated" / "Daily.csv").read_text().splitlines()
    assert daily[0].startswith("recording_id,subject_id,date,date_start_utc,utc_offset,wear_h,valid,")
    assert daily[1].startswith("jumps,,2026-03-02,2026-03-02T00:00:00+00:00,+00:00,")  # sorted by recording id


def test_interrupt_keeps_finished_folders(tmp_path: Path) -> None:
    files = _make_files(tmp_path / "rec")[1:3]
    out = tmp_path / "out"
    seen: list[str] = []

    def stop_after_first(ev: batch.BatchProgress) -> None:
        if ev.record is not None:
            seen.append(ev.record["recording_id"])
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        batch.run_batch(files, out, scheduler="sync", progress=stop_after_first)
    first = seen[0]
    assert sorted(p.name for p in (out / first).iterdir())[-1] == f"{first}-Sessions.csv"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["interrupted"] is True and [r["recording_id"] for r in manifest["recordings"]] == [first]
    assert not (out / "collated").exists()
    (out / f".tmp-{first}-0123abcd").mkdir()  # what a worker killed mid-write leaves behind
    res = batch.run_batch(files, out, scheduler="sync", table_format="csv")
    assert first == "walk"  # in this process, files run in the order given
    assert {r["recording_id"]: r["status"] for r in res.records} == {"walk": "skipped", "jumps": "done"}
    assert res.n_failed == 0 and res.errors.empty
    assert not list(out.glob(".*")) and res.collated["Summary"].is_file()

    # a recording that now fails loses its old folder, so stale results are never collated
    files[0].write_bytes(b"time,x,y,z\n")
    res = batch.run_batch(files, out, scheduler="sync", table_format="csv")
    assert [r["status"] for r in res.records] == ["failed", "skipped"] and not (out / "walk").exists()
    assert pd.read_csv(res.collated["Summary"])["recording_id"].tolist() == ["jumps"]
    assert res.errors["recording_id"].tolist() == ["walk"] and "walk.parquet" in res.errors.loc[0, "error"]


def test_folder_swap_is_restored(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / ".old-p01-deadbeef0000").mkdir(parents=True)
    (out / ".old-p01-deadbeef0000" / "p01-Info.json").write_text("{}")
    batch.cluster._clean_stale(out)  # type: ignore[attr-defined]
    assert (out / "p01" / "p01-Info.json").is_file() and not list(out.glob(".*"))


def test_recording_ids_are_unique_and_readable(tmp_path: Path) -> None:
    paths = [tmp_path / "a" / "p01.csv", tmp_path / "b" / "p01.csv.gz", tmp_path / "p02.cwa",
             tmp_path / "collated.csv", tmp_path / "x" / "a-p01.csv", tmp_path / "c" / "P03_2024.03.01.gt3x",
             tmp_path / "s1" / "day1" / "acc.cwa", tmp_path / "s2" / "day1" / "acc.cwa",
             tmp_path / "d" / "q.csv", tmp_path / "d" / "q.cwa"]
    ids = batch.recording_ids(paths)
    assert list(ids.values()) == ["a/p01", "b/p01", "p02", f"{tmp_path.name}/collated", "a-p01", "P03_2024.03.01",
                                  "s1/day1/acc", "s2/day1/acc", "q.csv", "q.cwa"]  # never a hash


def test_expand_paths(files: list[Path], tmp_path: Path) -> None:
    d = files[0].parent
    got = batch.expand_paths([d / "*.parquet", d, str(d / "walk.parquet")], exclude=d / "out")
    assert [p.name for p in got] == ["corrupt.parquet", "jumps.parquet", "long.parquet", "walk.parquet", "empty.csv"]
    assert batch.expand_paths([d], exclude=d) == []
    assert batch.expand_paths([tmp_path / "missing.csv"]) == [tmp_path / "missing.csv"]
    with pytest.warns(ImpactlabWarning, match="no file matches"):
        assert batch.expand_paths([str(tmp_path / "*.cwa")]) == []


REAL = ROOT.parent / "shared" / "data"
#: tests that build their cohort from the real recordings beside the checkout
needs_real = pytest.mark.skipif(not REAL.is_dir(), reason="../shared/data is not present")


def _cohort(tmp: Path) -> Path:
    """A nested cohort folder as researchers keep one: real recordings behind symlinks named by
    participant, a README, a .npz of reference values and a markers CSV."""
    c = tmp / "cohort"
    for rel, target in {"site-a/P01/week1.gt3x": "pygt3x/ISM_Enabled.gt3x",
                        "site-a/P02/week1.gt3x": "pygt3x/ISM_Disabled.gt3x",
                        "site-b/P03.cwa": "GGIRread/ax3_testfile.cwa",
                        "site-b/deep/er/P04.csv": "impactr/hip-raw.csv"}.items():
        (c / rel).parent.mkdir(parents=True, exist_ok=True)
        (c / rel).symlink_to(REAL / target)
    (c / "README.md").write_text("# cohort\nWear protocol v2.\n")
    (c / "site-b" / "truth.npz").symlink_to(REAL / "skdh" / "ax3_data.npz")
    (c / "site-a" / "markers.csv").write_text("start,end,label\n2026-03-02T16:58:00+00:00,2026-03-02T17:32:00+00:00,vest\n")
    (c / ".DS_Store").write_bytes(b"\0\1")
    return c


@needs_real
def test_folders_walked_symlink_names_kept_non_recordings_skipped(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    c = _cohort(tmp_path)
    out = tmp_path / "out"
    text = _batch([str(c), "-o", str(out), "--scheduler", "sync", "--tz", "UTC"], capsys)
    lines = text.splitlines()
    assert lines[0] == "found 4 recordings (2 gt3x, 1 cwa, 1 actigraph_csv); 3 files skipped (not recordings)"
    assert sorted(ln.split(": ")[1] for ln in lines[1:4]) == sorted(str(c / x) for x in
                                                                     ("README.md", "site-a/markers.csv", "site-b/truth.npz"))
    assert "4 recordings: 4 analysed, 0 up to date, 0 failed" in text
    m = json.loads((out / "manifest.json").read_text())
    assert sorted(r["recording_id"] for r in m["recordings"]) == ["P01/week1", "P02/week1", "P03", "P04"]
    assert {r["status"] for r in m["recordings"]} == {"done"}
    assert [Path(x["path"]).name for x in m["not_recordings"]] == ["README.md", "markers.csv", "truth.npz"]
    assert (out / "P01" / "week1" / "week1-Info.json").is_file() and (out / "P04" / "P04-Daily.csv").is_file()
    summary = pd.read_parquet(out / "collated" / "Summary.parquet")
    assert list(summary["recording_id"]) == ["P01/week1", "P02/week1", "P03", "P04"]
    p04 = json.loads((out / "P04" / "P04-Info.json").read_text())
    assert p04["batch"]["input_path"] == str(c / "site-b" / "deep" / "er" / "P04.csv")  # the link, not its target
    # a re-run finds the nested folders up to date; --include / --exclude narrow what is found
    assert "0 analysed, 4 up to date" in _batch([str(c), "-o", str(out), "--scheduler", "sync", "--tz", "UTC"], capsys)
    text = _batch([str(c), "-o", str(out), "--scheduler", "sync", "--tz", "UTC", "--include", "*.gt3x",
                   "--exclude", "P02"], capsys)
    # P01/week1 keeps the id it got in the whole cohort (from the manifest), so it is up to date
    assert text.startswith("found 1 recording (1 gt3x)\n") and "1 recordings: 0 analysed, 1 up to date" in text
    text = _batch([str(c), "-o", str(out), "--scheduler", "sync", "--tz", "UTC", "--exclude", "site-a/*"], capsys)
    assert text.startswith("found 2 recordings (1 cwa, 1 actigraph_csv); 2 files skipped")


@needs_real
def test_subjects_csv_feeds_the_analysis(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    c = _cohort(tmp_path)
    subjects = tmp_path / "subjects.csv"
    subjects.write_text("path,recording_id,subject_id,body_mass_kg,tz,placement,age\n"
                        "cohort/site-b/deep/er/P04.csv,,S-004,70,America/New_York,,12\n"
                        ",P03,S-003,,,back,13\n"
                        ",P99,S-099,,,,14\n")
    out = tmp_path / "out"
    args = [str(c / "site-b"), "-o", str(out), "--scheduler", "sync", "--subjects", str(subjects), "--tz", "UTC"]
    assert main(["-q", "batch", *args]) == 0
    err = capsys.readouterr().err
    assert "1 row(s) match no recording of this batch (subjects S-099)" in err
    summary = pd.read_parquet(out / "collated" / "Summary.parquet").set_index("recording_id")
    assert summary["subject_id"].to_dict() == {"P03": "S-003", "P04": "S-004"}
    p04 = json.loads((out / "P04" / "P04-Info.json").read_text())
    assert p04["recording"]["timezone"] == "America/New_York"  # the subject's zone, not --tz
    assert p04["batch"]["subject"] == {"subject_id": "S-004", "body_mass_kg": 70.0, "tz": "America/New_York"}
    ref = tmp_path / "ref"
    assert main(["-q", "analyze", str(c / "site-b" / "deep" / "er" / "P04.csv"), "--tz", "America/New_York",
                 "--body-mass", "70", "-o", str(ref)]) == 0
    assert (out / "P04" / "P04-Impacts.csv").read_bytes() == (ref / "P04-Impacts.csv").read_bytes()
    assert "grf_n" in (ref / "P04-Impacts.csv").read_text().splitlines()[0]  # body mass reached the GRF
    p03 = json.loads((out / "P03" / "P03-Info.json").read_text())
    assert p03["loading"]["placement"] == "back"
    # a changed subject row re-analyses only that recording
    subjects.write_text(subjects.read_text().replace(",70,", ",71,"))
    assert "1 analysed, 1 up to date" in _batch(args, capsys)

    out2 = tmp_path / "out2"
    text = _batch([str(c / "site-a"), "-o", str(out2), "--scheduler", "sync", "--subject-pattern", r"/(P\d+)/"],
                  capsys)
    assert "2 analysed" in text
    assert pd.read_parquet(out2 / "collated" / "Summary.parquet")["subject_id"].tolist() == ["P01", "P02"]
    bad = tmp_path / "bad.csv"
    bad.write_text("path,subject_id,body_mass_kg\nx.csv,S1,seventy\n")
    assert main(["batch", str(c), "-o", str(out2), "--subjects", str(bad)]) == 2
    assert "bad.csv:line 2: body_mass_kg 'seventy' is not a body mass in kg" in capsys.readouterr().err


def _subjects(tmp_path: Path, mass: str) -> Path:
    """A subjects CSV whose second row (line 4: a blank line 3 comes before it) has ``body_mass_kg`` ``mass``."""
    f = tmp_path / "subjects.csv"
    f.write_text(f"recording_id,subject_id,body_mass_kg\nr1,S1,70\n\nr2,S2,{mass}\n")
    return f


@pytest.mark.parametrize("mass", ["9.99", "0", "-70", "300.01", "7000", "nan", "NaN", "inf", "-inf", "1e400"])
def test_subjects_body_mass_outside_the_range_names_file_line_and_range(tmp_path: Path, mass: str) -> None:
    """A body mass in a subjects CSV is held to the ``--body-mass`` range: file, line as an editor counts
    it (header = 1, blank lines counted), the value, the range and what to do."""
    f = _subjects(tmp_path, mass)
    with pytest.raises(ConfigError) as err:
        batch.read_subjects(f)
    text = str(err.value)
    lo, hi = BODY_MASS_RANGE_KG
    assert f"{f}:line 4: body_mass_kg '{mass}' is not a plausible body mass" in text
    assert f"the allowed range is {lo:g}-{hi:g} kg" in text and "10-300 kg" in text
    assert "leave it empty" in text and "\n" not in text
    assert (err.value.path, err.value.line) == (str(f), 4)  # where, as fields too (an editor or a GUI can jump there)


def test_subjects_body_mass_not_a_number_names_the_range(tmp_path: Path) -> None:
    f = _subjects(tmp_path, "70kg")
    with pytest.raises(ConfigError, match=r"subjects.csv:line 4: body_mass_kg '70kg' is not a body mass in kg "
                                          r"\(a number, 10-300\)\. Give a number such as 61\.5"):
        batch.read_subjects(f)


@pytest.mark.parametrize(("mass", "kg"), [("10", 10.0), ("300", 300.0), ("300.0", 300.0), (" 61.5 ", 61.5), ("", None)])
def test_subjects_body_mass_boundaries_and_empty_accepted(tmp_path: Path, mass: str, kg: float | None) -> None:
    """The range is inclusive, like ``--body-mass``; an empty cell still means no body mass."""
    table = batch.read_subjects(_subjects(tmp_path, mass))
    assert table.by_id["r2"].body_mass_kg == kg and table.by_id["r1"].body_mass_kg == 70.0


@pytest.mark.parametrize(("content", "line", "words"), [
    # Excel's plain "CSV" on Windows is cp1252: é is byte 0xe9 on the second data row
    ("recording_id,subject_id\nr1,S1\nr2,Ségolène\n".encode("cp1252"), 3, "not UTF-8 text (byte 0xe9)"),
    # a quote opened on line 3 and never closed swallows the rest of the file
    (b'recording_id,subject_id\nr1,S1\n"r2,S2\nr3,S3\n', 3, "not a well-formed CSV"),
    (b"recording_id,subject_id\n", None, "has a header but no rows"),
    (b"", 1, "its first line has no columns"),
    (b"file,who\nr1,S1\n", 1, "its first line has file, who"),
])
def test_subjects_file_that_cannot_be_read_says_where_and_what_to_do(tmp_path: Path, content: bytes, line: int | None,
                                                                    words: str) -> None:
    f = tmp_path / "subjects.csv"
    f.write_bytes(content)
    with pytest.raises(ConfigError) as err:
        batch.read_subjects(f)
    assert words in str(err.value) and err.value.path == str(f) and err.value.line == line
    assert err.value.hint and "\n" not in str(err.value)


def test_subjects_file_with_a_bom_and_crlf_is_read(tmp_path: Path) -> None:
    f = tmp_path / "subjects.csv"
    f.write_bytes("\ufeffrecording_id,subject_id,body_mass_kg\r\nr1,Ségolène,61.5\r\n".encode())
    assert batch.read_subjects(f).by_id["r1"] == batch.Subject("Ségolène", 61.5)


def test_subjects_line_counts_quoted_line_breaks(tmp_path: Path) -> None:
    """A cell with a line break inside quotes: the error names the line the row ends on, as an editor shows."""
    f = tmp_path / "subjects.csv"
    f.write_text('recording_id,subject_id,note,body_mass_kg\nr1,S1,"two\nlines",700\n')
    with pytest.raises(ConfigError, match=r"subjects.csv:line 3: body_mass_kg '700'"):
        batch.read_subjects(f)


def test_cli_batch_refuses_a_subjects_body_mass_out_of_range(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``impactlab batch ... --subjects F`` as a user runs it: a set-up error (exit 2) on one line, before any
    analysis, naming the file, line, value and range; the upper boundary is analysed with that mass."""
    rec = ROOT / "sample_data" / "actigraph-hip-5min.csv"
    bad = tmp_path / "subjects.csv"
    bad.write_text("recording_id,subject_id,body_mass_kg\nactigraph-hip-5min,S1,700\n")
    out = tmp_path / "out"
    assert main(["batch", str(rec), "-o", str(out), "--scheduler", "sync", "--subjects", str(bad)]) == 2
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert len(err) == 1 and "Traceback" not in err[0], err
    assert f"{bad}:line 2: body_mass_kg '700' is not a plausible body mass: the allowed range is 10-300 kg" in err[0]
    assert not (out / "actigraph-hip-5min").exists()
    bad.write_text("recording_id,subject_id,body_mass_kg\nactigraph-hip-5min,S1,300\n")
    assert main(["-q", "batch", str(rec), "-o", str(out), "--scheduler", "sync", "--subjects", str(bad)]) == 0
    info = json.loads((out / "actigraph-hip-5min" / "actigraph-hip-5min-Info.json").read_text())
    assert info["batch"]["subject"]["body_mass_kg"] == 300.0 and info["loading"]["body_mass_kg"] == 300.0


def test_options(tmp_path: Path) -> None:
    defaults = batch.analysis_option_defaults()
    assert {"tz", "vertical_axis", "units", "preset", "native_rate"} <= defaults.keys()
    a = batch.BatchOptions.build(tmp_path, {"tz": "UTC"})
    assert a.analysis["tz"] == "UTC" and a.out == str(tmp_path) and len(a.settings_sha256) == 64
    assert batch.BatchOptions.build(tmp_path, {"tz": "UTC"}).settings_sha256 == a.settings_sha256
    assert batch.BatchOptions.build(tmp_path).settings_sha256 != a.settings_sha256
    with pytest.raises(ConfigError, match=r"unknown analysis option.*'vertical'"):
        batch.BatchOptions.build(tmp_path, {"vertical": "+y"})


def test_cli_errors_and_collate_of_analyze_folders(files: list[Path], tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["batch", str(tmp_path / "none-*.csv"), "-o", str(tmp_path / "o")]) == 2  # set-up error
    assert "no recording matches" in capsys.readouterr().err
    assert main(["batch", str(files[1]), "-o", str(tmp_path / "o"), "--jobs", "0"]) == 2
    assert main(["collate", str(tmp_path / "nothing")]) == 1
    out = tmp_path / "analyze-out"
    assert main(["-q", "analyze", str(files[2]), "-o", str(out / "p07")]) == 0
    capsys.readouterr()
    assert main(["collate", str(out), "--format", "csv"]) == 0  # the old spelling still works, with a warning
    got = capsys.readouterr()
    assert "Summary:" in got.out and "'collate --format' is deprecated: use --table-format" in got.err
    summary = pd.read_csv(out / "collated" / "Summary.csv")
    assert list(summary["recording_id"]) == ["p07"] and summary.loc[0, "n_high"] == 6


def test_help_has_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    for cmd in ("batch", "collate"):
        with pytest.raises(SystemExit):
            main([cmd, "--help"])
        assert "sample_data/" in capsys.readouterr().out


PLAN = """schema = 1
name = "batch test"
timezone = "Europe/London"

[targets.high_impacts]
per_day = {n}
min_band = "high"
"""


def test_plan_checks_and_plan_content_in_settings(files: list[Path], tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    if "plan" not in batch.analysis_option_defaults():
        pytest.skip("no plan stage registered")
    plan = tmp_path / "plan.toml"
    plan.write_text(PLAN.format(n=5))
    out = tmp_path / "out"
    args = [str(files[0]), str(files[2]), "-o", str(out), "--plan", str(plan), "--scheduler", "sync", "--table-format", "csv"]
    assert "2 analysed" in _batch(args, capsys)
    ref = tmp_path / "ref"
    assert main(["-q", "analyze", str(files[0]), "--plan", str(plan), "-o", str(ref)]) == 0
    capsys.readouterr()
    assert (out / "long" / "long-PlanCheck.csv").read_bytes() == (ref / "long-PlanCheck.csv").read_bytes()
    summary = pd.read_csv(out / "collated" / "Summary.csv").set_index("recording_id")
    assert summary.loc["long", "plan_met"] == 1  # 10 high impacts on the one valid day, 5 required
    checks = pd.read_csv(out / "collated" / "PlanCheck.csv")
    assert set(checks["recording_id"]) == {"long", "jumps"} and set(checks["target"]) == {"high_impacts"}
    assert "0 analysed" in _batch(args, capsys)
    plan.write_text(PLAN.format(n=50))  # same path, new content: the settings changed
    assert "2 analysed" in _batch(args, capsys)
    assert pd.read_csv(out / "collated" / "Summary.csv").set_index("recording_id").loc["long", "plan_not_met"] == 1


def test_range_g_and_vertical_axis_reach_the_analysis(files: list[Path], tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """--range-g reaches every recording (it was dropped), and --vertical-axis is read as analyze reads it."""
    base = batch.BatchOptions.build(tmp_path)
    assert "range_g" not in base.analysis  # unset: the settings hash of earlier batches is unchanged
    ranged = batch.BatchOptions.build(tmp_path, {"range_g": 8.0})
    assert ranged.settings_sha256 != base.settings_sha256 and ranged.config.range_g == 8.0
    assert (batch.BatchOptions.build(tmp_path, {"vertical_axis": "Y"}).settings_sha256
            == batch.BatchOptions.build(tmp_path, {"vertical_axis": "+y"}).settings_sha256)
    assert batch.BatchOptions.build(tmp_path, {"vertical_axis": "-Z"}).analysis["vertical_axis"] == "-z"

    out, ref = tmp_path / "out", tmp_path / "ref"
    f = files[2]
    _batch([str(f), "-o", str(out), "--scheduler", "sync", "--range-g", "8", "--vertical-axis", "Y"], capsys)
    assert main(["-q", "analyze", str(f), "-o", str(ref), "--range-g", "8", "--vertical-axis", "+y"]) == 0
    capsys.readouterr()
    got = json.loads((out / f.stem / f"{f.stem}-Info.json").read_text())
    want = json.loads((ref / f"{f.stem}-Info.json").read_text())
    assert got["batch"]["options"]["range_g"] == 8.0 and got["batch"]["options"]["vertical_axis"] == "+y"
    got.pop("batch")
    assert got == want and got["qc"]["range_g"] == 8.0
    for name in ("Impacts", "Daily", "Sessions"):
        assert (out / f.stem / f"{f.stem}-{name}.csv").read_bytes() == (ref / f"{f.stem}-{name}.csv").read_bytes()


def _offset(text: pd.Series) -> pd.Series:
    sign = text.str[0].map({"+": 1, "-": -1}).astype(float)
    return pd.to_timedelta(sign * (text.str[1:3].astype(float) * 60 + text.str[4:6].astype(float)), unit="min")


@needs_real
def test_one_clock_in_every_collated_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The same recording from the .gt3x (zone in info.txt) and its ActiLife CSV export (no zone):
    the CSV is named in one warning, every time column is local + utc_offset + UTC (and in the data
    dictionary), source is the user's path even for a .gz decompressed to a temporary copy."""
    import gzip

    d = tmp_path / "in"
    d.mkdir()
    gt3x = REAL / "read.gt3x" / "TAS1H30182785_2019-09-17.gt3x"
    (d / "tas.gt3x").symlink_to(gt3x)
    (d / "tas.csv.gz").symlink_to(REAL / "read.gt3x" / "TAS1H30182785_2019-09-17.csv.gz")
    (d / "ax3.cwa.gz").write_bytes(gzip.compress((REAL / "GGIRread" / "ax3_testfile.cwa").read_bytes()))
    out = tmp_path / "out"
    plan = str(ROOT / "sample_data" / "plan.toml")
    assert main(["-q", "batch", str(d), "-o", str(out), "--scheduler", "sync", "--plan", plan]) == 0
    err = capsys.readouterr().err
    assert "warning: 2 recording(s) had no time zone in the file, so this computer's was assumed: ax3, tas.csv.gz." in err
    col = out / "collated"
    summary = pd.read_parquet(col / "Summary.parquet").set_index("recording_id")
    assert summary["source"].to_dict() == {"ax3": str(d / "ax3.cwa.gz"), "tas.csv.gz": str(d / "tas.csv.gz"),
                                           "tas.gt3x": str(d / "tas.gt3x")}  # never a temporary copy
    assert summary["zone_assumed"].to_dict() == {"ax3": True, "tas.csv.gz": True, "tas.gt3x": False}
    assert str(summary.loc["tas.gt3x", "start"]) == "2019-09-17 18:40:00"  # local wall time, as the device showed
    assert summary.loc["tas.gt3x", "utc_offset"] == "-04:00"
    assert str(summary.loc["tas.gt3x", "start_utc"]) == "2019-09-17 22:40:00+00:00"

    tables = {n: pd.read_parquet(col / f"{n}.parquet") for n in ("Daily", "Sessions", "PlanCheck", "Summary", "Warnings")}
    tables["Impacts"] = pd.read_parquet(col / "Impacts")
    dictionary = pd.read_csv(col / "Dictionary.csv")
    checked = 0
    for name, df in tables.items():
        assert len(df), name
        documented = set(dictionary.loc[dictionary["table"] == name, "column"])
        for c in df.columns:
            base = c.removesuffix("_start_utc").removesuffix("_utc")
            if c == base or base not in df.columns:
                continue
            assert {base, c, "utc_offset"} <= documented, (name, c)
            assert str(df[c].dtype) == "datetime64[ns, UTC]" and str(df[base].dtype) == "datetime64[ns]", (name, c)
            rows = df[df[base].notna()]
            local_from_utc = rows[c].dt.tz_localize(None) + _offset(rows["utc_offset"].astype(str))
            if c != "end_utc":  # utc_offset is the row's first time column's; end_utc is exact in any case
                assert (local_from_utc == rows[base]).all(), (name, c)
            checked += 1
    assert checked >= 7
    impacts = tables["Impacts"]
    assert sorted(impacts["recording_id"].astype(str).unique()) == ["ax3", "tas.csv.gz", "tas.gt3x"]
    own = pd.read_csv(out / "tas.gt3x" / "tas.gt3x-Impacts.csv")
    mine = impacts[impacts["recording_id"] == "tas.gt3x"]
    assert len(mine) == len(own) and (mine["peak_g"].to_numpy() == own["peak_g"].to_numpy()).all()
    assert (mine["time_utc"].to_numpy() == pd.to_datetime(own["time"], utc=True, format="ISO8601").to_numpy()).all()

    w = tables["Warnings"]
    gap = w[(w["recording_id"] == "tas.gt3x") & w["warning"].str.contains("gap(s) in the samples", regex=False)].iloc[0]
    assert gap["warning"].startswith("6 gap(s) in the samples") and gap["count"] == 1
    assert str(gap["first_occurrence"]) == "2019-09-17 18:55:44.990000" and gap["utc_offset"] == "-04:00"
    zone = w[(w["recording_id"] == "tas.csv.gz") & w["warning"].str.contains("without a zone")]
    assert len(zone) == 1 and not zone["warning"].iloc[0].startswith(str(d)) and zone["count"].iloc[0] == 1

    # the subject's zone makes the two readings of one recording agree
    subjects = tmp_path / "subjects.csv"
    subjects.write_text("recording_id,subject_id,tz\ntas.csv.gz,TAS,Etc/GMT+4\ntas.gt3x,TAS,\nax3,AX,UTC\n")
    assert main(["-q", "batch", str(d), "-o", str(out), "--scheduler", "sync", "--subjects", str(subjects),
                 "--plan", plan]) == 0
    assert "no time zone" not in capsys.readouterr().err
    summary = pd.read_parquet(col / "Summary.parquet").set_index("recording_id")
    assert summary.loc["tas.csv.gz", "start_utc"] == summary.loc["tas.gt3x", "start_utc"]
    assert not summary["zone_assumed"].any()

    assert main(["-q", "collate", str(out), "--table-format", "csv"]) == 0
    capsys.readouterr()
    text = (col / "Sessions.csv").read_text().splitlines()
    assert text[0].startswith("recording_id,subject_id,session_id,kind,start,start_utc,utc_offset,end,end_utc,")


def test_summary_adherence_counts_not_scheduled(files: list[Path], tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    """Summary's plan columns are report.adherence's: Monday's jumps target (Tuesdays only) is 'not
    scheduled', left out of plan_adherence = met / (met + not met) and counted in plan_not_scheduled."""
    plan = tmp_path / "plan.toml"
    plan.write_text(PLAN.format(n=5) + '[targets.jumps]\nper_day = 5\ndays = ["tue"]\n'
                    "[targets.brisk_walk]\nminutes_per_day = 30\n")
    out = tmp_path / "out"
    assert "1 analysed" in _batch([str(files[0]), "-o", str(out), "--plan", str(plan), "--scheduler", "sync",
                                   "--table-format", "csv"], capsys)
    checks = pd.read_csv(out / "collated" / "PlanCheck.csv")
    assert dict(zip(checks["target"], checks["status"], strict=True)) == {
        "high_impacts": "met", "jumps": "not scheduled", "brisk_walk": "not met"}
    row = pd.read_csv(out / "collated" / "Summary.csv").set_index("recording_id").loc["long"]
    assert (row["plan_met"], row["plan_not_met"], row["plan_no_data"], row["plan_not_scheduled"]) == (1, 1, 0, 1)
    assert row["plan_adherence"] == 0.5
    dic = pd.read_csv(out / "collated" / "Summary-Dictionary.csv").set_index("column")
    assert "not scheduled" in dic.loc["plan_not_scheduled", "description"]
    assert dic.loc["plan_adherence", "description"].startswith("Adherence: met / (met + not met)")
    assert list(dic.index).index("plan_adherence") == list(dic.index).index("plan_met") + 4


def test_warnings_table_counts_a_file_note_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The reader's 'no zone in the file' note is warned when the file is opened and again when the
    analysis starts; the collated Warnings table says it once (count 1), like every other warning."""
    out = tmp_path / "out"
    assert main(["-q", "batch", str(ROOT / "sample_data" / "actigraph-hip-5min.csv"), "-o", str(out),
                 "--scheduler", "sync", "--table-format", "csv"]) == 0
    w = pd.read_csv(out / "collated" / "Warnings.csv")
    assert w["warning"].str.contains("device-local without a zone").sum() == 1
    assert w["count"].tolist() == [1] * len(w) and len(w) == 2  # the zone note and 'no day has 10 h of wear'
    info = json.loads((out / "actigraph-hip-5min" / "actigraph-hip-5min-Info.json").read_text())
    assert [x["count"] for x in info["batch"]["warnings"]] == [1, 1]


@settings(max_examples=60, deadline=None)
@given(cells=st.lists(st.tuples(st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00\r"),
                                        min_size=1, max_size=12).filter(str.strip),
                                st.text(max_size=12), st.one_of(st.none(), st.floats(10, 300))),
                      min_size=1, max_size=6, unique_by=lambda c: c[0].strip()))
def test_subjects_csv_round_trips_any_cell_text(cells: list[tuple[str, str, float | None]]) -> None:
    """Whatever a spreadsheet writes (commas, quotes, line breaks, accents in cells), as written by
    Python's csv module (not ours), is read back cell for cell."""
    import csv
    import io
    import tempfile

    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["recording_id", "subject_id", "body_mass_kg", "group"])
    for rid, sid, kg in cells:
        w.writerow([rid, sid, "" if kg is None else repr(kg), "a,b \"c\""])
    with tempfile.TemporaryDirectory() as d:
        f = Path(d) / "subjects.csv"
        f.write_text(buf.getvalue(), encoding="utf-8", newline="")
        table = batch.read_subjects(f)
    for rid, sid, kg in cells:
        assert table.by_id[rid.strip()] == batch.Subject(sid.strip() or None, kg)
