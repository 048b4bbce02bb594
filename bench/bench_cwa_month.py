"""Benchmark (DESIGN §10): a 28-day 100 Hz Axivity .cwa analysed end to end in bounded memory.

Builds the file day by day (``impactlab.simulate`` + :class:`impactlab.io.cwa.CwaWriter`, packed
format, about 1 GB), then in separate processes:

1. ``impactlab analyze FILE -o OUT`` (chunked; wall time and peak RSS from ``wait4``; target ≤ 1 GiB);
2. an in-memory run: the first 7 days read whole into one Recording, then :func:`impactlab.analyze`.

It prints both, and checks that the chunked run's impacts in the first 7 days are the in-memory
run's (same times, ``peak_g`` within 1e-6 g). Usage (from the repository root)::

    python bench/bench_cwa_month.py [--days 28] [--compare-days 7] [--keep]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

H = 3600.0
TZ = "Europe/London"
START = "2026-03-02 00:00"

IN_MEMORY = r"""
import sys, pandas as pd
from impactlab import analyze
from impactlab.io.cwa import open_cwa
path, days, out = sys.argv[1], float(sys.argv[2]), sys.argv[3]
src = open_cwa(path, tz="Europe/London", vertical_axis="-y")
parts, end = [], None
for c in src.chunks():
    if end is None:
        end = c.data.index[0].normalize() + pd.Timedelta(days=days)
    if c.data.index[0] >= end:
        break
    parts.append(c.data[c.data.index < end])
from impactlab.recording import Recording
rec = Recording(pd.concat(parts), src.meta)
res = analyze(rec)
res.impacts.to_csv(out, index=False)
print(len(rec), len(res.impacts))
"""


def build(path: Path, days: int) -> int:
    """Write the simulated recording (run in a child process so that the parent stays small)."""
    import pandas as pd

    from impactlab.io.cwa import CwaWriter
    from impactlab.simulate import Walk, simulate_recording

    n = 0
    with CwaWriter(path, sample_rate_hz=100.0, range_g=8, packed=True, time_zone_min=0) as w:
        for d in range(days):
            rec = simulate_recording(
                duration_s=24 * H, fs=100.0, start=pd.Timestamp(START) + pd.Timedelta(days=d), tz=TZ, vertical_axis="-y",
                range_g=8.0,
                walks=[Walk(8 * H, 8.5 * H, 112, 0.75), Walk(12 * H, 12.4 * H, 95, 0.6),
                       Walk(17 * H, 17.5 * H, 105, 1.1)],
                jumps=[(10 * H + 3 * i, 2.5) for i in range(50)], nonwear=[(0, 7 * H), (22.5 * H, 24 * H)],
                seed=200 + d, source="bench-month",
            )
            w.write(rec)
            n += len(rec)
            del rec
    return n


def run(cmd: list[str]) -> tuple[float, float, str]:
    """Run ``cmd``; wall time (s), the child's peak RSS (GiB) and its stdout."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{cmd} failed")
    return wall, usage.ru_maxrss / 1024 / 1024, out  # GiB (ru_maxrss is KiB on Linux)


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--days", type=int, default=28)
    ap.add_argument("--compare-days", type=float, default=7)
    ap.add_argument("--keep", action="store_true", help="keep the .cwa file and outputs")
    ap.add_argument("--build-only", metavar="PATH", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.build_only:
        print(build(Path(args.build_only), args.days))
        return
    tmp = Path(tempfile.mkdtemp(prefix="impactlab-bench-cwa-"))
    path = tmp / "month.cwa"
    t0 = time.perf_counter()
    n = int(subprocess.run([sys.executable, __file__, "--days", str(args.days), "--build-only", str(path)],
                           check=True, capture_output=True, text=True).stdout)
    print(f"built {n:,} samples ({path.stat().st_size / 1e9:.2f} GB .cwa) in {time.perf_counter() - t0:.0f} s")
    out_dir = tmp / "out"
    t_chunk, m_chunk, _ = run([sys.executable, "-m", "impactlab", "-q", "analyze", str(path), "--tz", TZ,
                               "--vertical-axis=-y", "--format", "json", "-o", str(out_dir)])
    print(f"impactlab analyze (CLI, chunked, {args.days} d): {t_chunk:6.1f} s, peak RSS {m_chunk:.2f} GiB "
          f"(target <= 1 GiB: {'ok' if m_chunk <= 1.0 else 'OVER'})")
    mem_csv = tmp / "in_memory_impacts.csv"
    t_mem, m_mem, out = run([sys.executable, "-c", IN_MEMORY, str(path), str(args.compare_days), str(mem_csv)])
    print(f"in-memory analyze of the first {args.compare_days:g} d: {t_mem:6.1f} s, peak RSS {m_mem:.2f} GiB "
          f"({out.strip()} samples, impacts)")
    import numpy as np
    import pandas as pd

    a = pd.read_csv(out_dir / "month-Impacts.csv")
    b = pd.read_csv(mem_csv)
    ta = pd.to_datetime(a["time"], utc=True, format="ISO8601")
    cut = (pd.Timestamp(START) + pd.Timedelta(days=args.compare_days)).tz_localize(TZ).tz_convert("UTC")
    a = a[ta < cut].reset_index(drop=True)
    ta, tb = (pd.to_datetime(x["time"], utc=True, format="ISO8601") for x in (a, b))
    same = len(a) == len(b) and bool((ta.to_numpy() == tb.to_numpy()).all()) \
        and np.allclose(a["peak_g"], b["peak_g"], atol=1e-6, rtol=0)
    print(f"impacts in the first {args.compare_days:g} d: chunked {len(a)}, in memory {len(b)}: "
          f"{'identical' if same else 'DIFFERENT'}")
    if not args.keep:
        shutil.rmtree(tmp)
    else:
        print(f"kept {tmp}")
    if not same:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
