"""Build ``sim-week.parquet``: one simulated week with jumps, walks, vest walks and a vibration plate.

The week is Monday 2 to Sunday 8 March 2026 (Europe/London, GMT that week), a hip sensor at 50 Hz,
±8 g, vertical axis ``-y``. What happens each day is in :data:`SCHEDULE` (times are local hours);
``README.md`` here lists the sessions and the plan verdicts that ``sample_data/plan.toml`` must give,
and ``markers-week.csv`` holds the vest (and one jumps) markers.

The file is about 30 M samples (too large to commit), so it is rebuilt deterministically:

    python sample_data/make_sample_week.py                # all 7 days -> sample_data/sim-week.parquet
    python sample_data/make_sample_week.py --days 0 3 -o /tmp/two-days.parquet

Each day is simulated separately (:func:`impactlab.simulate.simulate_recording`, seed 2026 + day) and
written as its own Parquet row groups, so memory stays at about one day.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from impactlab.recording import Recording
from impactlab.simulate import Walk, simulate_recording

H = 3600.0
M = 60.0
HERE = Path(__file__).resolve().parent
FIRST_DAY = pd.Timestamp("2026-03-02")
TZ = "Europe/London"
FS = 50.0


def jump_sets(
    start_h: float, n_sets: int, per_set: int = 10, *, peak_g: float = 2.5, rest_s: float = 60.0
) -> list[tuple[float, float]]:
    """``n_sets`` sets of ``per_set`` jumps 3 s apart with ``rest_s`` between sets (times in s of the day)."""
    out = []
    for s in range(n_sets):
        for j in range(per_set):
            out.append((start_h * H + s * (per_set * 3 + rest_s) + j * 3.0, peak_g + 0.05 * (j % 5)))
    return out


#: What each day holds. Walks are (start h, end h, steps/min, step peak g); vibration (start h,
#: end h, Hz, amplitude g); heel drops (start h, n, peak g); worn (from h, to h).
SCHEDULE: list[dict[str, Any]] = [
    {  # Mon: a full day of the programme
        "worn": (7, 22),
        "walks": [(8, 8 + 35 / M, 112, 0.75), (12, 12 + 20 / M, 95, 0.6)],
        "jumps": jump_sets(10, 5),
        "heel_drops": (10.5, 10, 2.0),
        "vibration": [(18, 18 + 16 / M, 30.0, 0.3)],
    },
    {  # Tue: vest walk (marked), short brisk walk, plate
        "worn": (7, 22),
        "walks": [(10, 10 + 40 / M, 105, 1.1), (15, 15 + 20 / M, 115, 0.8)],
        "vibration": [(18, 18 + 16 / M, 30.0, 0.3)],
    },
    {  # Wed: only 4 sets, short plate session
        "worn": (7, 22),
        "walks": [(8, 8 + 32 / M, 108, 0.7)],
        "jumps": jump_sets(10, 4),
        "vibration": [(18, 18 + 10 / M, 30.0, 0.3)],
    },
    {  # Thu: worn 6 h only -> no valid data, whatever was done
        "worn": (8, 14),
        "walks": [(9, 9 + 30 / M, 110, 0.75)],
        "jumps": jump_sets(11, 5),
    },
    {  # Fri: the programme again
        "worn": (7, 22),
        "walks": [(16, 16 + 45 / M, 118, 0.8)],
        "jumps": jump_sets(9, 5),
        "heel_drops": (9.5, 10, 2.0),
        "vibration": [(18, 18 + 18 / M, 30.0, 0.3)],
    },
    {  # Sat: long vest walk at a gentle pace (marked), plate
        "worn": (7, 22),
        "walks": [(10, 10 + 55 / M, 98, 1.1)],
        "vibration": [(18, 18 + 20 / M, 30.0, 0.3)],
    },
    {  # Sun: jumps spread over the day (two sessions), two brisk walks, no plate
        "worn": (7, 22),
        "walks": [(8, 8 + 16 / M, 110, 0.75), (12, 12 + 16 / M, 104, 0.7)],
        "jumps": jump_sets(10, 3) + jump_sets(16, 3),
    },
]


def build_day(day: int, *, fs: float = FS) -> Recording:
    """The simulated recording of day ``day`` (0 = Monday 2 March 2026), 00:00 to 24:00 local."""
    s = SCHEDULE[day]
    w0, w1 = s["worn"]
    hd = s.get("heel_drops")
    rec = simulate_recording(
        duration_s=24 * H, fs=fs, start=str(FIRST_DAY + pd.Timedelta(days=day)), tz=TZ, vertical_axis="-y",
        range_g=8.0,
        walks=[Walk(a * H, b * H, c, p) for a, b, c, p in s.get("walks", [])],
        jumps=s.get("jumps", []),
        heel_drops=[(hd[0] * H + 5 * i, hd[2]) for i in range(hd[1])] if hd else [],
        vibration=[(a * H, b * H, f, g) for a, b, f, g in s.get("vibration", [])],
        nonwear=[(0, w0 * H), (w1 * H, 24 * H)],
        noise_g=0.002, seed=2026 + day, source="sim-week",
    )
    data = rec.data.copy()
    for c in ("x", "y", "z"):  # 1 mg resolution, as ActiGraph exports
        data[c] = (np.round(data[c].to_numpy() * 1000) / 1000).astype(np.float32)
    return Recording(data, rec.meta)


def write_week(path: str | Path, days: Iterable[int] = range(7), *, fs: float = FS) -> Path:
    """Write the chosen days (in order) into one Parquet file readable by ``impactlab analyze``."""
    path = Path(path)
    writer = None
    try:
        for d in days:
            rec = build_day(d, fs=fs)
            table = pa.Table.from_pandas(rec.data.tz_convert("UTC"), preserve_index=True)
            if writer is None:
                meta = rec.meta.to_dict()
                meta.pop("extra", None)
                schema = table.schema.with_metadata({b"impactlab.meta": json.dumps(meta).encode()})
                writer = pq.ParquetWriter(path, schema, compression="zstd", compression_level=9,
                                          use_dictionary=["x", "y", "z"])
            writer.write_table(table.replace_schema_metadata(writer.schema.metadata), row_group_size=1_000_000)
    finally:
        if writer is not None:
            writer.close()
    return path


def main(argv: Sequence[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--days", type=int, nargs="+", default=list(range(7)), help="days to include (0 = Monday)")
    p.add_argument("-o", "--out", default=str(HERE / "sim-week.parquet"), help="output Parquet file")
    args = p.parse_args(argv)
    out = write_week(args.out, args.days)
    print(out, out.stat().st_size)


if __name__ == "__main__":
    main()
