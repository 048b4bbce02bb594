"""Ctrl-C during ``impactlab sync --simulate``: a real process, a real SIGINT, then a re-run that completes."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from impactlab.ble.profile import load_profile
from impactlab.ble.sim import SimulatedSensor, dbus_daemon_path
from impactlab.io import write_parquet
from impactlab.simulate import simulate_recording

from .test_sim_process import gone_within

pytestmark = [
    pytest.mark.ble,
    pytest.mark.skipif(dbus_daemon_path() is None and not os.environ.get("CI"),
                       reason="dbus-daemon is not installed (apt-get install dbus-daemon)"),
]


def _committed(db: str) -> list[int]:
    if not os.path.exists(db):
        return []
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        return [r[0] for r in con.execute("SELECT seq FROM sync_packets ORDER BY seq")]
    except sqlite3.OperationalError:  # the schema is not there yet
        return []
    finally:
        con.close()


def test_ctrl_c_exits_130_keeps_what_was_committed_and_a_rerun_completes(tmp_path) -> None:
    rec = simulate_recording(duration_s=1800, fs=50, jumps=[(30.0, 2.4), (1000.0, 2.6)], seed=7)
    src = tmp_path / "rec.parquet"
    write_parquet(rec, src)
    store = tmp_path / "store.sqlite"
    db = str(store)
    bus_tmp = Path(tempfile.mkdtemp(prefix="il-"))  # short: a unix socket path has at most 107 bytes
    env = {**os.environ, "TMPDIR": str(bus_tmp)}
    env.pop("DBUS_SYSTEM_BUS_ADDRESS", None)
    argv = [sys.executable, "-m", "impactlab", "sync", "--simulate", str(src), "--client", "c1", "--store", str(store),
            "--format", "json"]
    # a slow radio (200 kbit/s: about 25 s for these 2,369 packets) so that Ctrl-C lands mid-transfer
    proc = subprocess.Popen([*argv, "--simulate-link", "200kbps,20ms"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        end = time.monotonic() + 60
        while len(_committed(db)) < 300 and time.monotonic() < end and proc.poll() is None:
            time.sleep(0.1)
        assert proc.poll() is None, proc.communicate()
        os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the whole foreground group
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "interrupted" in err and "error" not in err, err
    assert out == ""
    assert gone_within([str(src), str(bus_tmp)], 5) == []  # no simulated sensor (a child process), no dbus-daemon left
    assert list(bus_tmp.iterdir()) == []  # the simulator's private bus was torn down
    bus_tmp.rmdir()
    first = _committed(db)
    held = len(SimulatedSensor(load_profile("impactlab-hip-v1"), rec).stored)
    assert 300 <= len(first) < held and first == list(range(len(first)))  # every packet received is kept

    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    res = json.loads(done.stdout)
    assert res["held"] == held and res["new_packets"] == held - len(first) and res["missing"] == []
    assert res["erased_upto"] == held - 1 and _committed(db) == list(range(held))
    assert res["import"]["added"]["impacts"] > 0
    assert gone_within([str(src), str(bus_tmp)], 5) == []
