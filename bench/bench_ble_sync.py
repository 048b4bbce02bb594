"""Sync of a simulated 100 Hz day through the real bleak: host memory and time, loss-free vs. 30 % loss.

Run: ``python bench/bench_ble_sync.py [--hours 24] [--drop 0.3] [--link 1.4mbps,30ms] [--no-import]``.

The simulated sensor (private dbus-daemon, fake BlueZ, the day's 227,369 packets) runs in a
child process, so the peak resident memory measured (``ru_maxrss`` of this process) is the host
side alone: bleak, the sync client, the store and the import. Targets (issue #15): peak
≤ 400 MB for a 100 Hz day, and a sync at 30 % packet loss within 2 × the loss-free time. Each
case syncs into a fresh store; the result is checked (every packet held, none missing).

With ``--link`` the simulated radio is paced (throughput, latency), as a real link is: the
round trips that re-requests cost then count as they would on air. Without it the fake bus runs
as fast as the two cores allow (~11 Mbit/s), so only host-side costs show.

Measured on the project's 2-core machine (shared with other jobs, so times are noisy):

* 2026-12-02 05:30 UTC, load average 11-14, 24 h, unpaced, with import: peak 374 MB; clean
  51.1 s, 30 % loss 44.0 s (**0.86 ×**; 1,151 requests for 74,542 lost ranges, 96,954
  notifications lost). Before the store's per-commit ``count(*)`` was dropped
  (impactlab/store/journal.py): clean 56-98 s, 30 % loss 242 s (2.46 ×) at peak 371 MB.
* earlier, 4 h, ``--link 1.4mbps,30ms``, download only: clean 144 s, 30 % loss 246 s: 1.71 ×
  (199 requests; one request per lost range would have been 12,561).

``bench/bench_ble_cli.py`` measures the same through the command line (``impactlab sync
--simulate``), the sensor's own process included.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = r"""
import json, sys, threading
from impactlab.ble.profile import load_profile
from impactlab.ble.sim import FakeBluez, Faults, LinkModel, PrivateBus, SimulatedSensor
from impactlab.simulate import Walk, simulate_recording
hours, drop, link = float(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
rec = simulate_recording(duration_s=hours * 3600, fs=100, walks=[Walk(600, 2400, 110, 0.8)],
                         jumps=[(300.0 + 60 * k, 2.0 + (k % 3) * 0.4) for k in range(20)], seed=1)
sensor = SimulatedSensor(load_profile("impactlab-hip-v1"), rec, faults=Faults(drop_rate=drop, seed=3),
                         link=LinkModel.parse(link) if link != "-" else None)
with PrivateBus() as bus, FakeBluez(bus.address) as fake:
    fake.add(sensor)
    print(json.dumps({"bus": bus.address, "address": sensor.address, "packets": len(sensor.stored)}), flush=True)
    sys.stdin.readline()  # the parent closes stdin when done
    print(json.dumps({"dropped": len(sensor.log.dropped_stored), "requests": sensor.log.requests}), flush=True)
"""


def run_case(hours: float, drop: float, link: str | None, do_import: bool) -> dict[str, float]:
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(hours), str(drop), link or "-"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None and child.stdin is not None
    hello = json.loads(child.stdout.readline())
    os.environ["DBUS_SYSTEM_BUS_ADDRESS"] = hello["bus"]
    from impactlab.ble.profile import load_profile
    from impactlab.ble.sync import sync_sensor
    from impactlab.store import Store

    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "store.sqlite") as st:
        t0 = time.perf_counter()
        res = asyncio.run(sync_sensor(st, "bench", load_profile("impactlab-hip-v1"), address=hello["address"],
                                      import_recording=do_import, timezone="Europe/London"))
        wall = time.perf_counter() - t0
    child.stdin.close()
    tail = json.loads(child.stdout.readline())
    child.wait(30)
    assert res.held == hello["packets"] and res.missing == [] and res.last_seq == hello["packets"] - 1, res
    return {"wall_s": wall, "packets": res.held, "requests": res.requests, "rerequested_ranges": res.rerequests,
            "dropped": tail["dropped"], "reconnects": res.reconnects}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hours", type=float, default=24.0, help="recording length at 100 Hz (default 24)")
    ap.add_argument("--drop", type=float, default=0.3, help="packet loss of the lossy case (default 0.3)")
    ap.add_argument("--link", default=None, help="pace the radio, e.g. 1.4mbps,30ms (default: unpaced)")
    ap.add_argument("--no-import", action="store_true", help="download only (no decode and analysis)")
    ap.add_argument("--case", choices=["both", "clean", "lossy"], default="both")
    a = ap.parse_args()
    out = {}
    for name, drop in (("clean", 0.0), ("lossy", a.drop)):
        if a.case in ("both", name):
            out[name] = run_case(a.hours, drop, a.link, not a.no_import)
            print(f"{name:>5}: {json.dumps(out[name])}", flush=True)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak host memory {peak_mb:.0f} MB (target <= 400 MB)")
    if "clean" in out and "lossy" in out:
        r = out["lossy"]["wall_s"] / out["clean"]["wall_s"]
        print(f"lossy / clean time {r:.2f} (target <= 2)")


if __name__ == "__main__":
    main()
