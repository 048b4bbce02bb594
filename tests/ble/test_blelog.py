"""Raw BLE logs (time,direction,uuid,hex) replayed through ``impactlab convert/analyze --profile``.

The log holds Polar's ACC START request (52 Hz, 16 bit, ±8 g), a START request and response
(with the FACTOR of that SDK vector) before each vector, and the SDK's own AccDataTest.kt frames (raw 0x01, delta 0x80, delta
0x81; ``tests/ble/data/polar_sdk_acc_vectors.json``). Expected values are the SDK's.
"""

from __future__ import annotations

import json
import struct
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from impactlab.cli.main import main

from impactlab.io import open_recording

VEC = {v["name"]: v for v in json.loads((Path(__file__).parent / "data" / "polar_sdk_acc_vectors.json").read_text())["vectors"]}
CP = "fb005c81-02e7-f387-1cad-8acd2d8df0c8"
DATA = "fb005c82-02e7-f387-1cad-8acd2d8df0c8"
# START ACC: sample rate 52 (id 0), resolution 16 (id 1), range 8 g (id 2): Polar's settings TLVs.
START_52_16_8 = "02 02 00 01 34 00 01 01 10 00 02 01 08 00"


def _start_response(factor: float) -> str:
    return (bytes([0xF0, 0x02, 0x02, 0x00, 0x00, 0x05, 0x01]) + struct.pack("<f", factor)).hex(" ")


def _log(path: Path, extra: list[str] | None = None) -> Path:
    raw, d0, d1 = (VEC[k] for k in ("process acc raw data frame type 1", "process acc compressed data type 0",
                                    "process acc compressed data type 1"))
    lines = [
        "# captured for a test: Polar SDK AccDataTest vectors",
        "time,direction,uuid,hex",
        f"2026-12-01T10:00:00.000+01:00,tx,{CP},{START_52_16_8}",
        f"2026-12-01T10:00:00.100+01:00,rx,{CP},{_start_response(raw['factor'])}",
        f"2026-12-01T10:00:01.000+01:00,rx,{DATA},{raw['hex']}",
        f"2026-12-01T10:00:02.000+01:00,tx,{CP},{START_52_16_8}",
        f"2026-12-01T10:00:02.100+01:00,rx,{CP},{_start_response(d0['factor'])}",
        f"2026-12-01T10:00:03.000+01:00,rx,{DATA},{d0['hex']}",
        f"2026-12-01T10:00:04.000+01:00,tx,{CP},{START_52_16_8}",
        f"2026-12-01T10:00:04.100+01:00,rx,{CP},{_start_response(d1['factor'])}",
        f"2026-12-01T10:00:06.000+01:00,rx,{DATA},{d1['hex']}",
    ] + (extra or [])
    path.write_text("\n".join(lines) + "\n")
    return path


def _expected_g() -> np.ndarray:
    raw, d0, d1 = (VEC[k] for k in ("process acc raw data frame type 1", "process acc compressed data type 0",
                                    "process acc compressed data type 1"))
    return np.array([np.array(raw["expected_mg"]["0"]) / 1000, np.array(raw["expected_mg"]["1"]) / 1000,
                     np.array(d0["expected_counts"]["0"]) * d0["factor"], np.array(d0["expected_counts"]["1"]) * d0["factor"],
                     np.array(d1["expected_mg"]["0"]) / 1000, np.array(d1["expected_mg"]["1"]) / 1000])


def test_convert_log_gives_sdk_values_in_g(tmp_path: Path) -> None:
    log = _log(tmp_path / "raw.csv")
    out = tmp_path / "rec.parquet"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a clean log decodes without a single warning
        assert main(["convert", str(log), "--profile", "polar-verity-sense", "--output", str(out), "--quiet"]) == 0
    df = pd.read_parquet(out)
    if "time" in df.columns:
        df = df.set_index("time")
    n_raw, n_d0, n_d1 = (VEC[k]["expected_n"] for k in ("process acc raw data frame type 1",
                                                         "process acc compressed data type 0",
                                                         "process acc compressed data type 1"))
    assert len(df) == n_raw + n_d0 + n_d1 == 95
    got = df[["x", "y", "z"]].to_numpy(np.float64)[[0, 1, n_raw, n_raw + 1, n_raw + n_d0, n_raw + n_d0 + 1]]
    np.testing.assert_allclose(got, _expected_g(), rtol=1e-6, atol=1e-6)   # float32 storage
    assert abs(got[2, 1] - 6.68) < 0.005                                        # not 27.4 g
    # The first frame's last sample is at its host receive time; samples are 1/52 s apart.
    t = pd.DatetimeIndex(df.index)
    t = t.tz_convert("UTC") if t.tz is not None else t.tz_localize("UTC")
    assert t[n_raw - 1] == pd.Timestamp("2026-12-01T09:00:01Z")
    assert np.all(np.abs(np.diff(t[:n_raw].asi8) - 1e9 / 52) <= 1)


def test_open_recording_with_profile_reads_rate_from_the_start_request(tmp_path: Path) -> None:
    src = open_recording(_log(tmp_path / "raw.csv"), profile="polar-verity-sense")
    assert src.meta.sample_rate_hz == 52.0
    assert len(src.read().data) == 95


@pytest.mark.parametrize("bad, what", [
    ("2026-12-01T10:00:08+01:00,rx,{DATA},02 00 00", "shorter than the 10-byte PMD header"),
    ("2026-12-01T10:00:08+01:00,rx,{DATA},02 00 00 00 00 00 00 00 00 07 01 02 03", "unknown ACC frame type 0x07"),
    ("2026-12-01T10:00:08+01:00,rx,{DATA},zz top", "is not hex"),
])
def test_bad_line_warns_once_naming_the_line_and_the_rest_decodes(tmp_path: Path, bad: str, what: str) -> None:
    log = _log(tmp_path / "raw.csv", [bad.format(DATA=DATA)])
    with pytest.warns(UserWarning) as rec:
        src = open_recording(log, profile="polar-verity-sense")
        n = len(src.read().data)
    msgs = [str(w.message) for w in rec]
    assert len(msgs) == 1 and "line 12" in msgs[0] and what in msgs[0]
    assert n == 95


def test_start_error_status_skips_delta_frames_never_a_wrong_scale(tmp_path: Path) -> None:
    raw, d0 = VEC["process acc raw data frame type 1"], VEC["process acc compressed data type 0"]
    log = tmp_path / "raw.csv"
    log.write_text("\n".join([
        "time,direction,uuid,hex",
        f"2026-12-01T10:00:00+01:00,tx,{CP},{START_52_16_8}",
        f"2026-12-01T10:00:00.1+01:00,rx,{CP},F0 02 02 08 00",     # 8 = invalid sample rate
        f"2026-12-01T10:00:01+01:00,rx,{DATA},{raw['hex']}",
        f"2026-12-01T10:00:03+01:00,rx,{DATA},{d0['hex']}",
    ]) + "\n")
    with pytest.warns(UserWarning) as rec:
        data = open_recording(log, profile="polar-verity-sense").read().data
    msgs = [str(w.message) for w in rec]
    assert any("line 3" in m and "invalid sample rate" in m for m in msgs)
    assert any("line 5" in m and "no FACTOR" in m for m in msgs)
    assert len(data) == raw["expected_n"]      # the raw frame (mG, no FACTOR needed) is kept


def test_analyze_log_with_profile_reads_the_log(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze", str(_log(tmp_path / "raw.csv")), "--profile", "polar-verity-sense", "--format", "json"]) == 0
    out = capsys.readouterr().out
    assert "ble:polar-verity-sense" in out
