"""Benchmark: read the same 7-day 100 Hz Axivity .cwa with impactlab, actipy and scikit-digital-health.

Each reader runs in its own process, the readers in turn (impactlab, actipy, skdh, impactlab, ...)
for ``--rounds`` rounds, so that the machine's drift hits them alike; wall time and peak RSS come
from ``wait4``. Printed: the median per reader and the median of the per-round ratios
impactlab / peer. The peers are optional (``pip install -e .[bench]``; actipy needs Java): a
missing one is reported and skipped. actipy runs with its processing off (no low-pass,
calibration, non-wear detection or resampling) so that it only reads.

Usage (from the repository root)::

    python bench/bench_readers.py [--file week.cwa] [--days 7] [--rounds 3]

Without ``--file`` the recording is simulated (``bench_cwa_month.build``, packed format, about
258 MB) in a temporary folder and removed afterwards.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

READERS = {
    "impactlab": (None, """
import sys, warnings
warnings.simplefilter("ignore")
from impactlab.io import read_recording
rec = read_recording(sys.argv[1], tz="UTC")
print(len(rec))
"""),
    "analyze": (None, """
import sys, subprocess
sys.exit(subprocess.call([sys.executable, "-m", "impactlab", "-q", "analyze", sys.argv[1], "--tz", "UTC",
                          "--format", "json"], stdout=subprocess.DEVNULL))
"""),
    "actipy": ("actipy", """
import sys, actipy
data, info = actipy.read_device(sys.argv[1], lowpass_hz=None, calibrate_gravity=False, detect_nonwear=False,
                                resample_hz=None, verbose=False)
print(len(data))
"""),
    "skdh": ("skdh", """
import sys, warnings
warnings.simplefilter("ignore")
from skdh.io import ReadCwa
res = ReadCwa().predict(file=sys.argv[1], tz_name="UTC")
print(len(res["time"]))
"""),
}


def run(code: str, path: Path) -> tuple[float, float, str]:
    """Run ``code`` on ``path`` in a new process: wall time (s), peak RSS (GiB), stdout."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code, str(path)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"the reader failed on {path}")
    return wall, usage.ru_maxrss / 1024 / 1024, out.strip()


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--file", type=Path, help="an existing .cwa file (default: simulate one)")
    ap.add_argument("--days", type=int, default=7, help="days to simulate without --file")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--analyze", action="store_true", help="also time 'impactlab analyze' against reading")
    args = ap.parse_args()
    tmp: Path | None = None
    path = args.file
    if path is None:
        tmp = Path(tempfile.mkdtemp(prefix="impactlab-bench-readers-"))
        path = tmp / "week.cwa"
        here = Path(__file__).resolve().parent
        subprocess.run([sys.executable, str(here / "bench_cwa_month.py"), "--days", str(args.days), "--build-only",
                        str(path)], check=True, capture_output=True)
    print(f"file: {path} ({path.stat().st_size / 1e6:.0f} MB); machine: {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    names = []
    for name, (module, _code) in READERS.items():
        if name == "analyze" and not args.analyze:
            continue
        if module is None or importlib.util.find_spec(module) is not None:
            names.append(name)
        else:
            print(f"{name}: not installed (pip install -e .[bench]), skipped")
    res: dict[str, list[tuple[float, float]]] = {n: [] for n in names}
    rows: dict[str, str] = {}
    try:
        for _ in range(args.rounds):
            for n in names:
                wall, rss, out = run(READERS[n][1], path)
                res[n].append((wall, rss))
                rows[n] = out
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"{'reader':10s} {'samples':>12s} {'wall s':>8s} {'peak GiB':>9s}   (median of {args.rounds})")
    for n in names:
        print(f"{n:10s} {rows[n]:>12s} {statistics.median(w for w, _ in res[n]):8.2f} "
              f"{statistics.median(m for _, m in res[n]):9.2f}")
    for n in names[1:]:
        if n == "analyze":
            tr = statistics.median(b[0] / a[0] for a, b in zip(res["impactlab"], res[n], strict=True))
            print(f"impactlab analyze / read_recording: wall {tr:.2f} x (median of per-round ratios)")
            continue
        tr = statistics.median(a[0] / b[0] for a, b in zip(res["impactlab"], res[n], strict=True))
        mr = statistics.median(a[1] / b[1] for a, b in zip(res["impactlab"], res[n], strict=True))
        print(f"impactlab / {n}: wall {tr:.2f} x, peak memory {mr:.2f} x (median of per-round ratios)")


if __name__ == "__main__":
    main()
