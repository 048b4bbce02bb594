"""Benchmark (DESIGN §10): ``impactlab batch`` throughput with 1 and with 2 local worker processes.

The same set of simulated recordings (default 8 files of 24 h at 100 Hz, as Parquet) goes through
``impactlab batch FILES -o OUT --jobs N`` as a whole separate process for N = 1 and N = 2, into a
fresh output folder each time; runs alternate and repeat, and the best time of each is kept.
Throughput is recordings (and hours of data) per minute, and recording-days per core-hour (from
the CPU time of the whole batch process tree, so a busy machine does not lower it; and from the
processing phase's wall time × workers). Two figures are printed: whole processes
(Python start, cluster start, analysis, collation) and the processing phase alone (first task start
to last task end, from the manifest's per-recording timings). The figure of merit is the ratio of
the 2-worker to the 1-worker throughput of the processing phase (target ≥ 1.7 on a 2-core machine);
the whole-process ratio also carries the fixed start-up of about 3 s. Usage, from the repository
root::

    python bench/bench_batch.py [--files 8] [--hours 24] [--repeat 2] [--keep]
    python bench/bench_batch.py --hours 168 --repeat 1 --recordings W1.parquet W2.cwa ...  # week-long files

The recordings are built once into ``bench/out/batch/`` (about 100 MB per 24 h) and reused while their
number and length match; ``--keep`` also keeps the batch outputs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

from impactlab.io import write_parquet
from impactlab.simulate import Walk, simulate_recording

H = 3600.0
ROOT = Path(__file__).resolve().parent / "out" / "batch"
CPU_S: dict[int, float] = {}  #: least CPU seconds (user + system) of a whole batch run, by worker count


def build(folder: Path, files: int, hours: float) -> list[Path]:
    """Simulated recordings with walks, jumps and non-wear; reused when already built."""
    folder.mkdir(parents=True, exist_ok=True)
    stamp = folder / "built.json"
    want = {"files": files, "hours": hours}
    paths = [folder / f"rec{i:02d}.parquet" for i in range(files)]
    if stamp.exists() and json.loads(stamp.read_text()) == want and all(p.exists() for p in paths):
        return paths
    for i, p in enumerate(paths):
        d = hours * H
        rec = simulate_recording(
            duration_s=d, fs=100.0, start="2026-03-02 00:00", tz="Europe/London", vertical_axis="+y",
            walks=[Walk(0.3 * d, 0.32 * d, 110, 0.75), Walk(0.6 * d, 0.62 * d, 95, 0.6)],
            jumps=[(0.45 * d + 3 * j, 2.5) for j in range(50)], nonwear=[(0, 0.1 * d)], seed=200 + i,
            source=f"bench-batch-{i}",
        )
        write_parquet(rec, p)
        del rec
    stamp.write_text(json.dumps(want))
    return paths


def run(files: list[Path], out: Path, jobs: int) -> tuple[float, float]:
    """Wall time (s) of one whole ``impactlab batch`` process, and of its processing phase."""
    shutil.rmtree(out, ignore_errors=True)
    cmd = [sys.executable, "-m", "impactlab", "-q", "batch", *map(str, files), "-o", str(out), "--jobs", str(jobs)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)  # CPU time of the batch process and its reaped workers
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"batch with --jobs {jobs} failed")
    CPU_S[jobs] = min(CPU_S.get(jobs, float("inf")), usage.ru_utime + usage.ru_stime)
    m = json.loads((out / "manifest.json").read_text())
    bad = [r["recording_id"] for r in m["recordings"] if r["status"] != "done"]
    if bad:
        raise SystemExit(f"batch with --jobs {jobs} did not analyse {bad}")
    ends = [datetime.fromisoformat(r["finished"]).timestamp() for r in m["recordings"]]
    starts = [e - r["seconds"] for e, r in zip(ends, m["recordings"], strict=True)]
    return wall, max(ends) - min(starts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=8, help="recordings (default 8)")
    ap.add_argument("--hours", type=float, default=24.0, help="hours per recording at 100 Hz (default 24)")
    ap.add_argument("--repeat", type=int, default=2, help="runs per worker count; the best is kept (default 2)")
    ap.add_argument("--keep", action="store_true", help="keep the batch output folders")
    ap.add_argument("--recordings", nargs="+", type=Path, metavar="FILE",
                    help="use these recordings (each --hours long) instead of building them")
    a = ap.parse_args()
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    t0 = time.perf_counter()
    files = a.recordings or build(ROOT / "recordings", a.files, a.hours)
    mb = sum(p.stat().st_size for p in files) / 1e6
    print(f"{len(files)} recordings x {a.hours:g} h at 100 Hz ({mb:.0f} MB Parquet, built/reused in "
          f"{time.perf_counter() - t0:.1f} s); {cpus} CPUs")
    best: dict[int, float] = {}
    best_proc: dict[int, float] = {}
    n = len(files)
    for r in range(a.repeat):
        for jobs in (1, 2):
            wall, proc = run(files, ROOT / f"out-{jobs}", jobs)
            best[jobs] = min(best.get(jobs, wall), wall)
            best_proc[jobs] = min(best_proc.get(jobs, proc), proc)
            print(f"  run {r + 1}: --jobs {jobs}: whole process {wall:6.2f} s ({n / wall * 60:5.1f} recordings/min), "
                  f"processing {proc:6.2f} s ({n / proc * 60:5.1f} recordings/min, {n * a.hours / proc * 60:5.0f} h of data/min)")
    print(f"best whole process: 1 worker {best[1]:.2f} s, 2 workers {best[2]:.2f} s: ratio {best[1] / best[2]:.2f}")
    print(f"best processing:    1 worker {best_proc[1]:.2f} s, 2 workers {best_proc[2]:.2f} s: "
          f"ratio {best_proc[1] / best_proc[2]:.2f}")
    print(f"throughput ratio 2 workers / 1 worker = {best_proc[1] / best_proc[2]:.2f} (processing; target >= 1.7), "
          f"{best[1] / best[2]:.2f} (whole processes)")
    days = n * a.hours / 24.0
    for jobs in (1, 2):
        print(f"recording-days per core-hour (--jobs {jobs}): {days / (CPU_S[jobs] / 3600):.0f} "
              f"from CPU time ({CPU_S[jobs]:.1f} s for {days:g} recording-days, process start-up included); "
              f"{days / (best_proc[jobs] * jobs / 3600):.0f} from the processing phase's wall time x {jobs} core(s)")
    if not a.keep:
        for jobs in (1, 2):
            shutil.rmtree(ROOT / f"out-{jobs}", ignore_errors=True)


if __name__ == "__main__":
    main()
