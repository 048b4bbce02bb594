"""Rebuild ``sim-day.parquet``: one simulated day with known impacts (see README.md here).

Run from the repository root: ``python sample_data/make_sample_day.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from impactlab.io import write_parquet
from impactlab.recording import Recording
from impactlab.simulate import Walk, simulate_recording

H = 3600.0
HERE = Path(__file__).resolve().parent


def jump_sets(start_s: float, n_sets: int, per_set: int, peak_g: float) -> list[tuple[float, float]]:
    """``n_sets`` sets of ``per_set`` jumps 3 s apart, 60 s between sets."""
    out = []
    for s in range(n_sets):
        for j in range(per_set):
            out.append((start_s + s * (per_set * 3 + 60) + j * 3.0, peak_g + 0.05 * (j % 5)))
    return out


def build() -> Recording:
    rec = simulate_recording(
        duration_s=24 * H, fs=50.0, start="2026-03-02 00:00:00", tz="Europe/London", vertical_axis="-y",
        range_g=8.0,
        walks=[Walk(8 * H, 8.5 * H, 112, 0.75), Walk(12 * H, 12 * H + 1200, 95, 0.6),
               Walk(17 * H, 17.5 * H, 105, 1.1)],
        jumps=jump_sets(10 * H, 5, 10, 2.5),
        heel_drops=[(10.5 * H + 5 * i, 1.2) for i in range(10)],
        vibration=[(15 * H, 15.25 * H, 30.0, 0.3)],
        nonwear=[(0, 7 * H), (22 * H, 24 * H)],
        noise_g=0.001, seed=2026, source="sim-day",
    )
    data = rec.data.copy()
    for c in ("x", "y", "z"):  # 1 mg resolution, as ActiGraph exports
        data[c] = (np.round(data[c].to_numpy() * 1000) / 1000).astype(np.float32)
    return Recording(data, rec.meta)


if __name__ == "__main__":
    out = write_parquet(build(), HERE / "sim-day.parquet", compression_level=19)
    print(out, out.stat().st_size)
