"""Device-format registration, shared helpers, and the command line over every real device file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from impactlab.cli.main import main

from impactlab.io import READERS, open_recording, read_recording, write_parquet
from impactlab.io.cwa import write_cwa
from impactlab.io.devices import clock_offset, describe_content, detect_vertical_axis, fixed_offset_zone
from impactlab.simulate import simulate_recording

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
pytestmark = pytest.mark.filterwarnings("ignore::impactlab.errors.DataQualityWarning")

#: every real file of a device format: (path, samples, rate Hz, device)
DEVICE_FILES = [
    ("skdh/ax3_sample.cwa", 58800, 200.0, "axivity"),
    ("skdh/ax6_sample.cwa", 10360, 100.0, "axivity"),
    ("GGIRread/ax3_testfile.cwa", 17400, 100.0, "axivity"),
    ("GGIRread/ax3_testfile_corrupt_blocks_0_13_14_142_143_144.cwa", 16680, 100.0, "axivity"),
    ("GGIRread/ax6_testfile.cwa", 11320, 100.0, "axivity"),
    ("GGIRread/GENEActiv_testfile.bin", 4800, 600 / 7, "geneactiv"),
    ("read.gt3x/TAS1H30182785_2019-09-17.gt3x", 33000, 100.0, "actigraph"),
    ("pygt3x/neo.gt3x", 18004, 30.0, "actigraph"),
    ("pygt3x/ISM_Enabled.gt3x", 2190, 30.0, "actigraph"),
    ("pygt3x/ISM_Disabled.gt3x", 9000, 30.0, "actigraph"),
    ("pygt3x/small.gt3x", 810270, 30.0, "actigraph"),
    ("pygt3x/WRIST_rawLSB_032Hz_test.agdc", 1920, 32.0, "actigraph"),
    ("GGIR/actigraph_testfile.gt3x", 17640, 30.0, "actigraph"),
]


def test_registered() -> None:
    assert {"gt3x", "cwa", "geneactiv"} <= set(READERS)


@pytest.mark.parametrize(("head", "words"), [
    (b"", "empty"), (b"MD\xfc\x03", "Axivity .cwa"), (b"Device Identity\r\n", "GENEActiv .bin"),
    (b"PK\x03\x04....log.bin", "ActiGraph .gt3x"), (b"PK\x03\x04....other", "not an ActiGraph"),
    (b"PAR1", "Parquet"), (b"\x1e\x1a\x00", "bare ActiGraph log.bin"),
    (b"------------ Data File Created By ActiGraph GT3X+", "ActiLife CSV"), (b"\x00\x01\x02\xff", "unknown"),
])
def test_describe_content(head: bytes, words: str) -> None:
    assert words in describe_content(head)


def test_zones() -> None:
    assert fixed_offset_zone(60) == "Etc/GMT-1" and fixed_offset_zone(-300) == "Etc/GMT+5"
    assert fixed_offset_zone(0) == "UTC" and fixed_offset_zone(330) is None
    notes: list[str] = []
    assert clock_offset(None, 120, 0, "f", notes) == ("Etc/GMT-2", 120 * 60_000_000_000)
    # a given zone: its offset at the first sample holds for the whole file (device clocks ignore DST)
    t = pd.Timestamp("2026-07-01 12:00").value
    assert clock_offset("Europe/London", 0, t, "f", notes) == ("Europe/London", 3600 * 10**9)
    zone, off = clock_offset(None, 330, t, "f", notes)
    assert (zone, off) == ("UTC", 330 * 60 * 10**9) and "UTC+5.50" in notes[-1]


def test_detect_vertical_axis() -> None:
    xyz = np.tile([0.1, -0.98, 0.05], (500, 1)) + np.random.default_rng(0).normal(0, 0.005, (500, 3))
    axis, note = detect_vertical_axis(xyz, 50)
    assert axis == "-y" and "pass --vertical-axis" in note


@pytest.mark.real_data
@pytest.mark.skipif(not SHARED.exists(), reason="../shared/data is not present")
@pytest.mark.parametrize(("name", "n", "fs", "device"), DEVICE_FILES)
def test_every_real_device_file_reads(name: str, n: int, fs: float, device: str) -> None:
    src = open_recording(SHARED / name, tz="UTC")
    assert src.meta.device == device and src.meta.sample_rate_hz == pytest.approx(fs)
    assert src.meta.serial and src.meta.range_g and src.meta.timezone == "UTC"
    total = 0
    last = None
    for chunk in src.chunks():
        t = chunk.data.index.as_unit("ns").asi8
        assert last is None or t[0] > last
        last = int(t[-1])
        total += len(chunk)
    assert total == n


@pytest.mark.real_data
@pytest.mark.skipif(not SHARED.exists(), reason="../shared/data is not present")
@pytest.mark.parametrize("name", [f[0] for f in DEVICE_FILES if "small" not in f[0]])
def test_cli_analyze_json(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze", str(SHARED / name), "--format", "json", "--tz", "UTC"]) == 0
    out = json.loads(capsys.readouterr().out)
    n, fs = next((f[1], f[2]) for f in DEVICE_FILES if f[0] == name)
    rec = out["recording"]
    assert rec["n_samples"] == n and rec["sample_rate_hz"] == pytest.approx(fs) and rec["start"]


@pytest.mark.real_data
@pytest.mark.skipif(not SHARED.exists(), reason="../shared/data is not present")
def test_cli_reject_messages(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "notes.gt3x"
    bad.write_bytes((SHARED / "GGIRread" / "GENEActiv_testfile.bin").read_bytes()[:3000])
    assert main(["analyze", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "notes.gt3x: this is not an ActiGraph .gt3x/.agdc archive: it looks like a GENEActiv .bin recording" in err
    assert "export raw data in g from ActiLife" in err


def test_cli_convert_round_trip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rec = simulate_recording(duration_s=300, fs=50, tz="Europe/London", vertical_axis="-y", jumps=[(100.0, 2.0)], seed=4)
    cwa = write_cwa(tmp_path / "sim.cwa", rec)
    out = tmp_path / "sim.parquet"
    assert main(["convert", cwa, "--output", str(out), "--tz", "Europe/London", "--vertical-axis=-y",
                 "--row-group-rows", "4000"]) == 0
    assert "wrote 15000 samples (axivity, 50 Hz, Europe/London)" in capsys.readouterr().err
    pf = pq.ParquetFile(out)
    assert pf.num_row_groups >= 4 and not (tmp_path / "sim.parquet.part").exists()
    meta = json.loads(pf.schema_arrow.metadata[b"impactlab.meta"])
    assert meta["device"] == "axivity" and meta["vertical_axis"] == "-y" and meta["range_g"] == 16.0
    # the same columns and metadata keys as write_parquet
    ref = write_parquet(read_recording(cwa, tz="Europe/London", vertical_axis="-y"), tmp_path / "ref.parquet")
    assert pq.ParquetFile(ref).schema_arrow.names == pf.schema_arrow.names
    back = read_recording(out)
    direct = read_recording(cwa, tz="Europe/London", vertical_axis="-y")
    pd.testing.assert_frame_equal(back.data, direct.data)
    assert back.meta.timezone == "Europe/London" and back.meta.serial == direct.meta.serial


def test_cli_convert_refuses_empty_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = tmp_path / "empty.cwa"
    p.write_bytes(b"")
    assert main(["convert", str(p), "--output", str(tmp_path / "x.parquet")]) == 1
    assert "empty" in capsys.readouterr().err and not (tmp_path / "x.parquet").exists()
