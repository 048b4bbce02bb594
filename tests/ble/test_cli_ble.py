"""``impactlab scan``, ``stream`` and ``sync`` with ``--simulate``: the issue's end-to-end checks."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from impactlab.cli.main import main

from impactlab.ble.sim import dbus_daemon_path
from impactlab.io import write_parquet
from impactlab.recording import Recording
from impactlab.simulate import Walk, simulate_recording

pytestmark = [
    pytest.mark.ble,
    pytest.mark.skipif(dbus_daemon_path() is None and not os.environ.get("CI"),
                       reason="dbus-daemon is not installed (apt-get install dbus-daemon)"),
]


def _quantised(rec: Recording, counts_per_g: float = 2048.0) -> Recording:
    """The same recording as a 2048 counts/g sensor delivers it (the simulator sends int16 counts)."""
    data = rec.data.copy()
    for c in "xyz":
        data[c] = (np.rint(data[c].to_numpy(np.float64) * counts_per_g) / counts_per_g).astype(np.float32)
    return Recording(data, rec.meta)


@pytest.fixture(scope="module")
def rec_file(tmp_path_factory):
    rec = simulate_recording(duration_s=1800, fs=50, vertical_axis="-y", walks=[Walk(200, 800, 112, 0.75)],
                             jumps=[(30.0, 2.4), (45.0, 1.2), (1000.0, 2.6)], seed=7)
    path = tmp_path_factory.mktemp("ble") / "rec.parquet"
    write_parquet(_quantised(rec), path)
    return path


def _json(capsys, argv: list[str]) -> dict:
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_scan_simulated(capsys, rec_file) -> None:
    out = _json(capsys, ["scan", "--simulate", str(rec_file), "--format", "json"])
    assert out["sensors"] == [{"name": "IMPL-0001", "address": "F0:1A:B2:00:00:01", "rssi": out["sensors"][0]["rssi"],
                               "profile": "impactlab-hip-v1"}]


def test_sync_with_faults_then_report_equals_import(capsys, tmp_path, rec_file) -> None:
    s_ble, s_file = tmp_path / "ble.db", tmp_path / "file.db"
    res = _json(capsys, ["-q", "sync", "--simulate", str(rec_file), "--client", "c1", "--store", str(s_ble),
                         "--fault-link-loss", "5", "--fault-drop-rate", "0.01", "--fault-duplicate-rate", "0.01",
                         "--format", "json"])
    assert res["reconnects"] == 5 and res["new_packets"] == res["held"] and res["missing"] == []
    assert res["erased_upto"] == res["held"] - 1
    _json(capsys, ["-q", "import", str(rec_file), "--client", "c1", "--store", str(s_file), "--format", "json"])
    week = ["report", "--client", "c1", "--week", "2026-W10", "--format", "json"]
    a = _json(capsys, ["-q", *week, "--store", str(s_ble)])
    b = _json(capsys, ["-q", *week, "--store", str(s_file)])
    assert a["days"] == b["days"] and a["plan_check"] == b["plan_check"] and a["weekly"] == b["weekly"]
    assert a["days"][0]["n_high"] == 2 and a["days"][0]["n_medium"] == 1 and a["days"][0]["n_low"] > 300
    # a second sync finds nothing new and imports nothing twice
    again = _json(capsys, ["-q", "sync", "--simulate", str(rec_file), "--client", "c1", "--store", str(s_ble),
                           "--format", "json"])
    assert again["new_packets"] == 0 or again["import"]["added"]["impacts"] == 0


def test_stream_minute_equals_analyze_of_that_minute(capsys, tmp_path, rec_file) -> None:
    out = _json(capsys, ["-q", "stream", "--simulate", str(rec_file), "--duration", "60", "--format", "json"])
    from impactlab.io import read_recording

    rec = read_recording(rec_file)
    minute = tmp_path / "minute.parquet"
    write_parquet(rec.slice_time(None, rec.data.index[0] + np.timedelta64(60, "s")), minute)
    ref = _json(capsys, ["-q", "analyze", str(minute), "--format", "json"])
    assert out["samples"] == ref["recording"]["n_samples"] == 3000
    assert out["packets_lost"] == 0 and out["gaps"] == [] and out["ended"] == "duration reached"
    assert out["impacts"] == ref["impacts"] == {"low": 0, "medium": 1, "high": 1, "total": 2}


def test_stream_with_drops_saves_what_it_counted(capsys, tmp_path, rec_file) -> None:
    saved = tmp_path / "live.parquet"
    out = _json(capsys, ["-q", "stream", "--simulate", str(rec_file), "--duration", "600", "--format", "json",
                         "--fault-drop-rate", "0.05", "--fault-seed", "3", "--output", str(saved)])
    assert out["packets_lost"] == sum(b - a + 1 for a, b in out["gaps"]) > 0
    ref = _json(capsys, ["-q", "analyze", str(saved), "--format", "json"])
    assert out["samples"] == ref["recording"]["n_samples"]
    assert out["impacts"] == ref["impacts"]


def test_fault_options_need_simulate(capsys) -> None:
    assert main(["stream", "--fault-drop-rate", "0.1"]) == 1
    assert "--simulate" in capsys.readouterr().err


def test_polar_stream_raw_log_replays_to_the_same_samples(capsys, tmp_path, rec_file) -> None:
    log, live, back = tmp_path / "raw.csv", tmp_path / "live.parquet", tmp_path / "back.parquet"
    out = _json(capsys, ["-q", "stream", "--simulate", str(rec_file), "--profile", "polar-verity-sense",
                         "--duration", "20", "--format", "json", "--raw-log", str(log), "--output", str(live)])
    lines = log.read_text().splitlines()
    assert lines[0] == "time,direction,uuid,hex"
    assert any(",tx,fb005c81-02e7-f387-1cad-8acd2d8df0c8,02 02 " in ln for ln in lines)   # START ACC
    assert any(",rx,fb005c81-02e7-f387-1cad-8acd2d8df0c8,f0 02 02 00 00 05 01 " in ln for ln in lines)  # FACTOR
    assert main(["-q", "convert", str(log), "--profile", "polar-verity-sense", "--output", str(back)]) == 0
    import pandas as pd

    a, b = pd.read_parquet(live), pd.read_parquet(back)
    assert len(b) >= out["samples"] == len(a)
    # same mG counts (the log applies the float32 FACTOR 1e-3, the live path 1/1000: 1 ulp apart)
    np.testing.assert_array_equal(np.rint(b[["x", "y", "z"]].to_numpy(np.float64)[: len(a)] * 1000),
                                  np.rint(a[["x", "y", "z"]].to_numpy(np.float64) * 1000))


def test_polar_sdk_mode_from_the_command_line(capsys, tmp_path, rec_file) -> None:
    log = tmp_path / "raw.csv"
    out = _json(capsys, ["-q", "stream", "--simulate", str(rec_file), "--profile", "polar-verity-sense", "--polar-sdk-mode",
                         "--duration", "10", "--format", "json", "--raw-log", str(log)])
    assert out["recording"]["sample_rate_hz"] == 104.0 and out["samples"] == 1040 and out["packets_lost"] == 0
    tx = [ln.split(",")[3] for ln in log.read_text().splitlines()[1:] if ",tx,fb005c81" in ln]
    assert tx == ["02 09", "02 02 00 01 68 00 01 01 10 00 02 01 10 00 04 01 03", "03 02", "03 09"]


def test_sync_shows_the_clients_answer_at_once(capsys, tmp_path, rec_file) -> None:
    """After a sync the client sees the day's targets with done / needed and one sentence, as `today` says."""
    plan = tmp_path / "plan.toml"
    plan.write_text("schema = 1\n[targets.high_impacts]\nper_day = 2\nmin_band = \"high\"\n")
    store = tmp_path / "s.db"
    assert main(["-q", "sync", "--simulate", str(rec_file), "--client", "c1", "--store", str(store),
                 "--plan", str(plan)]) == 0
    out = capsys.readouterr().out
    assert main(["today", "--client", "c1", "--store", str(store)]) == 0
    today = capsys.readouterr().out
    # 30 min of data: the day is too short to judge, and the panel says so with the numbers
    assert "not enough wear time to judge the targets." in out
    assert "high impacts: 2 of 2: no valid data" in out
    assert today.strip() and today.strip() in out  # the same panel as `impactlab today`
