"""Start-up time of the command line: ``--help``, ``--version``, every ``SUBCOMMAND --help``, usage errors.

Run: ``python bench/bench_startup.py [-n 5]``. Prints the median wall time of each (whole processes,
``python -m impactlab``) and the machine's load average; the target is 0.3 s for every case on the
project's 2-core machine. The script exits 1 when a median is over the target (it is a benchmark,
not a test: load from other processes moves the numbers).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

from impactlab.cli.commands import COMMANDS

TARGET_S = 0.3
CASES = {
    "impactlab --help": ["--help"],
    "impactlab --version": ["--version"],
    "impactlab analyse (usage error)": ["analyse"],
    "impactlab history --clinet (usage error)": ["history", "--clinet", "c01"],
    "impactlab convert --preset (usage error)": ["convert", "x.csv", "--output", "x.parquet", "--preset", "oulu"],
    **{f"impactlab {c.name} --help": [c.name, "--help"] for c in COMMANDS},
    "impactlab plan check --help": ["plan", "check", "--help"],
    "impactlab device assign --help": ["device", "assign", "--help"],
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("-n", type=int, default=5, help="runs per case (default 5)")
    n = ap.parse_args().n
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} CPUs)")
    slow = []
    for label, argv in CASES.items():
        times = []
        for _ in range(n + 1):  # the first run warms the file cache and is not counted
            t = time.perf_counter()
            subprocess.run([sys.executable, "-m", "impactlab", *argv], capture_output=True)
            times.append(time.perf_counter() - t)
        med = statistics.median(times[1:])
        if med > TARGET_S:
            slow.append(label)
        print(f"{label:<44} median {med:.3f} s  (min {min(times[1:]):.3f}, max {max(times[1:]):.3f})")
    print(f"load average after:  {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"over {TARGET_S} s: {', '.join(slow) if slow else 'none'}")
    raise SystemExit(1 if slow else 0)


if __name__ == "__main__":
    main()
