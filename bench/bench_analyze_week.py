"""Benchmark (DESIGN §10): ``impactlab analyze`` on a 7-day 100 Hz Parquet recording vs the floor.

The floor is a bare process that reads the Parquet file and runs one ``scipy.signal.sosfiltfilt``
over one axis. Both run as separate processes; wall time and peak RSS (``wait4``) are printed with
their ratio. Usage (from the repository root)::

    python bench/bench_analyze_week.py [--days 7] [--keep]

The recording (60.48 M samples) is built day by day with :mod:`impactlab.simulate` and written
row group by row group, so building it needs about 2 GB.
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

import pyarrow as pa
import pyarrow.parquet as pq

from impactlab.simulate import Walk, simulate_recording

H = 3600.0
FLOOR = """
import sys, numpy as np, pyarrow.parquet as pq
from scipy import signal
t = pq.read_table(sys.argv[1])
y = t.column("y").to_numpy().astype(np.float64)
sos = signal.butter(4, 20, fs=100, output="sos")
out = signal.sosfiltfilt(sos, y)
print(out[:1].sum())
"""


def build(path: Path, days: int) -> int:
    writer = None
    n = 0
    for d in range(days):
        rec = simulate_recording(
            duration_s=24 * H, fs=100.0, start=f"2026-03-{2 + d:02d} 00:00", tz="Europe/London",
            vertical_axis="-y", range_g=8.0,
            walks=[Walk(8 * H, 8.5 * H, 112, 0.75), Walk(12 * H, 12.4 * H, 95, 0.6), Walk(17 * H, 17.5 * H, 105, 1.1)],
            jumps=[(10 * H + 3 * i, 2.5) for i in range(50)], nonwear=[(0, 7 * H), (22.5 * H, 24 * H)],
            seed=100 + d, source="bench-week",
        )
        table = pa.Table.from_pandas(rec.data.tz_convert("UTC"), preserve_index=True)
        if writer is None:
            import json

            meta = rec.meta.to_dict()
            meta.pop("extra")
            schema = table.schema.with_metadata({b"impactlab.meta": json.dumps(meta).encode()})
            writer = pq.ParquetWriter(path, schema, compression="zstd", use_dictionary=False,
                                      column_encoding={"time": "DELTA_BINARY_PACKED"})
        writer.write_table(table.cast(writer.schema), row_group_size=1_000_000)
        n += len(rec)
        del rec, table
    assert writer is not None
    writer.close()
    return n


def run(cmd: list[str]) -> tuple[float, float, float]:
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{cmd} failed")
    cpu = usage.ru_utime + usage.ru_stime  # the child's CPU seconds: steadier than wall on a loaded machine
    return wall, usage.ru_maxrss / 1024 / 1024, cpu  # GiB (ru_maxrss is KiB on Linux)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=7)
    ap.add_argument("--keep", action="store_true", help="keep the Parquet file")
    ap.add_argument("--file", type=Path, help="use this recording instead of building one (kept)")
    ap.add_argument("--rounds", type=int, default=1, help="floor and analyze in turn, this many times")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="impactlab-bench-"))
    path = args.file or tmp / "week.parquet"
    if args.file is None:
        t0 = time.perf_counter()
        n = build(path, args.days)
        print(f"built {n:,} samples ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t0:.0f} s")
    floor, ana = [], []
    for _ in range(args.rounds):  # in turn, so that the machine's drift hits both alike
        floor.append(run([sys.executable, "-c", FLOOR, str(path)]))
        ana.append(run([sys.executable, "-m", "impactlab", "-q", "analyze", str(path), "--format", "json"]))
    med = statistics.median
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; medians of {args.rounds} round(s)")
    print(f"floor (read + one sosfiltfilt): {med(f[0] for f in floor):6.1f} s, peak RSS {med(f[1] for f in floor):.2f} GiB")
    print(f"impactlab analyze (CLI):        {med(a[0] for a in ana):6.1f} s, peak RSS {med(a[1] for a in ana):.2f} GiB")
    pairs = [a[0] / f[0] for a, f in zip(ana, floor, strict=True)]
    print(f"ratio: {med(pairs):.2f} x the floor (target <= 1.2; median of the per-round ratios, "
          f"{min(pairs):.2f}-{max(pairs):.2f}), "
          f"peak memory {med(a[1] for a in ana):.2f} GiB (target <= 2.5)")
    print(f"CPU time: floor {med(f[2] for f in floor):.1f} s, analyze {med(a[2] for a in ana):.1f} s, "
          f"ratio {med(a[2] / f[2] for a, f in zip(ana, floor, strict=True)):.2f} x")
    if args.file is None and not args.keep:
        path.unlink()
    if not any(tmp.iterdir()):
        tmp.rmdir()

if __name__ == "__main__":
    main()
