"""Start-up time of the command line: ``--help``, ``--version``, a subcommand's ``--help``, a usage error.

Run: ``python bench/bench_startup.py [-n 5]``. Prints the median wall time of each (whole processes);
the target is 0.3 s for ``impactlab --help`` and ``--version`` on the project's 2-core machine.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

CASES = {
    "impactlab --help": ["--help"],
    "impactlab --version": ["--version"],
    "impactlab analyse (usage error)": ["analyse"],
    "impactlab analyze --help": ["analyze", "--help"],
    "impactlab report --help": ["report", "--help"],
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("-n", type=int, default=5, help="runs per case (default 5)")
    n = ap.parse_args().n
    for label, argv in CASES.items():
        times = []
        for _ in range(n + 1):  # the first run warms the file cache and is not counted
            t = time.perf_counter()
            subprocess.run([sys.executable, "-m", "impactlab", *argv], capture_output=True)
            times.append(time.perf_counter() - t)
        print(f"{label:<36} median {statistics.median(times[1:]):.3f} s  (min {min(times[1:]):.3f}, max {max(times[1:]):.3f})")


if __name__ == "__main__":
    main()
