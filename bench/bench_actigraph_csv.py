"""Benchmark (DESIGN §10): ``impactlab analyze`` on a 24 h, 100 Hz ActiLife raw CSV vs a bare pass.

The bare pass is a process that parses the CSV with pyarrow, runs one ``sosfiltfilt`` over the
vertical axis and one ``find_peaks``. Usage: ``python bench/bench_actigraph_csv.py [--hours 24]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from impactlab.simulate import Walk, simulate_recording

BARE = """
import sys, numpy as np, pyarrow.csv as pc
from scipy import signal
t = pc.read_csv(sys.argv[1], read_options=pc.ReadOptions(skip_rows=10))
y = -t.column(1).to_numpy().astype(np.float64)
sos = signal.butter(4, 20, fs=100, output="sos")
f = signal.sosfiltfilt(sos, y)
p, _ = signal.find_peaks(f - 1, height=0.5, distance=25)
print(len(p))
"""

HEADER = (
    "------------ Data File Created By ActiGraph GT3X+ ActiLife v6.13.4 Firmware v1.7.2 "
    "date format dd/MM/yyyy at 100 Hz  Filter Normal -----------\n"
    """Serial Number: BENCH0000001
Start Time 00:00:00
Start Date 02/03/2026
Epoch Period (hh:mm:ss) 00:00:00
Download Time 00:00:00
Download Date 03/03/2026
Current Memory Address: 0
Current Battery Voltage: 4.13     Mode = 12
--------------------------------------------------
Accelerometer X,Accelerometer Y,Accelerometer Z
"""
)


def build(path: Path, hours: float) -> int:
    n = 0
    with open(path, "w") as fh:
        fh.write(HEADER)
        for h in range(int(hours)):
            rec = simulate_recording(duration_s=3600, fs=100.0, start=f"2026-03-02 {h:02d}:00", vertical_axis="-y",
                                     walks=[Walk(600, 1800, 110, 0.8)], jumps=[(2400 + 3 * i, 2.5) for i in range(20)],
                                     seed=h)
            arr = np.round(rec.data[["x", "y", "z"]].to_numpy(np.float64), 3)
            np.savetxt(fh, arr, fmt="%.3f", delimiter=",")
            n += len(arr)
    return n


def run(cmd: list[str]) -> tuple[float, float, float]:
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{cmd} failed")
    cpu = usage.ru_utime + usage.ru_stime  # the child's CPU seconds: steadier than wall on a loaded machine
    return time.perf_counter() - t0, usage.ru_maxrss / 1024 / 1024, cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hours", type=float, default=24)
    ap.add_argument("--file", type=Path, help="use this recording instead of building one (kept)")
    ap.add_argument("--rounds", type=int, default=1, help="floor and analyze in turn, this many times")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="impactlab-bench-"))
    path = args.file or tmp / "day.csv"
    if args.file is None:
        n = build(path, args.hours)
        print(f"built {n:,} samples ({path.stat().st_size / 1e6:.0f} MB)")
    bare, ana = [], []
    for _ in range(args.rounds):  # in turn, so that the machine's drift hits both alike
        bare.append(run([sys.executable, "-c", BARE, str(path)]))
        ana.append(run([sys.executable, "-m", "impactlab", "-q", "analyze", str(path), "--tz", "UTC",
                        "--format", "json"]))
    med = statistics.median
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; medians of {args.rounds} round(s)")
    print(f"bare pass (pyarrow parse + filtfilt + find_peaks): {med(b[0] for b in bare):6.1f} s, "
          f"peak RSS {med(b[1] for b in bare):.2f} GiB")
    print(f"impactlab analyze (CLI):                           {med(a[0] for a in ana):6.1f} s, "
          f"peak RSS {med(a[1] for a in ana):.2f} GiB")
    pairs = [a[0] / b[0] for a, b in zip(ana, bare, strict=True)]
    print(f"ratio: {med(pairs):.2f} x the bare pass (target <= 1.3; median of the per-round ratios, "
          f"{min(pairs):.2f}-{max(pairs):.2f})")
    print(f"CPU time: bare pass {med(b[2] for b in bare):.1f} s, analyze {med(a[2] for a in ana):.1f} s, "
          f"ratio {med(a[2] / b[2] for a, b in zip(ana, bare, strict=True)):.2f} x")
    if args.file is None:
        path.unlink()
    tmp.rmdir()

if __name__ == "__main__":
    main()
