"""``--simulate`` runs the simulated sensor in a child process: it syncs exactly, passes faults through,
reports errors as the command line's own, and leaves no process behind (also when the host is killed)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from impactlab.cli.main import main

from impactlab.ble.profile import load_profile
from impactlab.ble.sim import Faults, SimulatedSensor, dbus_daemon_path, simulated_sensor_process
from impactlab.ble.sync import sync_sensor
from impactlab.io import write_parquet
from impactlab.simulate import simulate_recording
from impactlab.store import Store

pytestmark = [
    pytest.mark.ble,
    pytest.mark.skipif(dbus_daemon_path() is None and not os.environ.get("CI"),
                       reason="dbus-daemon is not installed (apt-get install dbus-daemon)"),
]
HIP = load_profile("impactlab-hip-v1")


def procs_with(text: str) -> list[tuple[int, str]]:
    """Live processes (not zombies) whose command line mentions ``text``."""
    found = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit() or int(d.name) == os.getpid():
            continue
        try:
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (d / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if text in cmd and state != "Z":
            found.append((int(d.name), cmd[:200]))
    return found


def gone_within(texts: list[str], timeout: float) -> list[tuple[int, str]]:
    end = time.monotonic() + timeout
    while True:
        left = [p for t in texts for p in procs_with(t)]
        if not left or time.monotonic() > end:
            return left
        time.sleep(0.1)


@pytest.fixture
def short_tmp(monkeypatch):
    """A short TMPDIR for the child (its bus socket path must be < 108 bytes, and it names the bus's folder)."""
    d = Path(tempfile.mkdtemp(prefix="ilp-"))
    monkeypatch.setenv("TMPDIR", str(d))
    yield d
    for p in d.iterdir():
        p.rmdir() if p.is_dir() else p.unlink()
    d.rmdir()


@pytest.fixture(scope="module")
def rec_and_file(tmp_path_factory):
    rec = simulate_recording(duration_s=600, fs=50, jumps=[(30.0, 2.4), (300.0, 2.6)], seed=3)
    path = tmp_path_factory.mktemp("simproc") / "rec.parquet"
    write_parquet(rec, path)
    return rec, path


def test_cli_sync_uses_a_child_that_is_gone_afterwards(capsys, caplog, short_tmp, rec_and_file, tmp_path) -> None:
    rec, src = rec_and_file
    held = len(SimulatedSensor(HIP, rec).stored)
    caplog.set_level(logging.INFO, logger="impactlab.ble.sim.process")
    bus_before = os.environ.get("DBUS_SYSTEM_BUS_ADDRESS")
    assert main(["-q", "sync", "--simulate", str(src), "--client", "c1", "--store", str(tmp_path / "s.db"),
                 "--format", "json", "--fault-drop-rate", "0.2", "--fault-seed", "5"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["held"] == held and res["new_packets"] == held and res["missing"] == [] and res["rerequests"] > 0
    # the sensor ran in another process and said so when it stopped: every request the host sent was answered there
    msg = [r.getMessage() for r in caplog.records if "simulated sensor stopped" in r.getMessage()]
    assert len(msg) == 1
    sent = int(msg[0].split(": ")[1].split()[0])
    assert sent > held  # 20 % of the notifications were lost and sent again
    assert procs_with(str(src)) == [] and procs_with(str(short_tmp)) == []  # no sensor, no dbus-daemon left
    assert list(short_tmp.iterdir()) == []  # the private bus's folder was removed
    assert os.environ.get("DBUS_SYSTEM_BUS_ADDRESS") == bus_before  # pointed back


def test_python_api_passes_faults_and_reports_what_the_sensor_did(short_tmp, rec_and_file, tmp_path) -> None:
    rec, src = rec_and_file
    lost = frozenset({3, 4, 5, 100, 250})
    with simulated_sensor_process(src, faults=Faults(drop_seqs=lost), speed=0.0, address="F0:1A:B2:00:09:01") as sim:
        assert procs_with(str(src))  # the sensor is a process of its own
        assert sim.timezone == rec.meta.timezone and sim.vertical_axis == rec.meta.vertical_axis
        with Store(tmp_path / "s.db") as st:
            res = asyncio.run(sync_sensor(st, "c1", HIP, address=sim.address, import_recording=False))
            assert [s for s, _ in st.sync_packets("c1", res.device_id)] == list(range(sim.stored))
    assert sorted(sim.log["dropped_stored"]) == sorted(lost)  # lost once each, then fetched again
    assert sim.log["requests"] == res.requests and sim.log["erased_upto"] == sim.stored - 1
    assert 0 < sim.log["peak_rss_kb"]
    assert procs_with(str(src)) == [] and procs_with(str(short_tmp)) == []


def test_unreadable_file_is_the_command_lines_error_and_nothing_is_left(capsys, short_tmp, tmp_path) -> None:
    bad = tmp_path / "notes.csv"
    bad.write_text("this is not a recording\n")
    assert main(["sync", "--simulate", str(bad), "--client", "c1", "--store", str(tmp_path / "s.db")]) == 1
    err = capsys.readouterr().err
    assert "impactlab: error:" in err and "notes.csv" in err and "Traceback" not in err, err
    assert procs_with(str(bad)) == [] and procs_with(str(short_tmp)) == []


def _committed(db: Path) -> int:
    if not db.exists():
        return 0
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        return int(con.execute("SELECT count(*) FROM sync_packets").fetchone()[0])
    except sqlite3.OperationalError:
        return 0
    finally:
        con.close()


def test_killed_host_takes_the_sensor_and_its_bus_with_it(rec_and_file, tmp_path) -> None:
    _, src = rec_and_file
    bus_tmp = Path(tempfile.mkdtemp(prefix="ilk-"))
    env = {**os.environ, "TMPDIR": str(bus_tmp)}
    env.pop("DBUS_SYSTEM_BUS_ADDRESS", None)
    db = tmp_path / "s.db"
    proc = subprocess.Popen([sys.executable, "-m", "impactlab", "-q", "sync", "--simulate", str(src), "--client", "c1",
                             "--store", str(db), "--simulate-link", "100kbps,20ms"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        end = time.monotonic() + 60
        while _committed(db) < 50 and time.monotonic() < end and proc.poll() is None:
            time.sleep(0.1)
        assert proc.poll() is None and procs_with(str(src)) and procs_with(str(bus_tmp))
        proc.kill()  # SIGKILL: no clean-up code of the host runs
        proc.wait(10)
        assert gone_within([str(src), str(bus_tmp)], 15) == []  # the sensor saw its stdin close, and stopped its bus
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        if proc.stderr:
            proc.stderr.close()
    assert list(bus_tmp.iterdir()) == []
    bus_tmp.rmdir()
