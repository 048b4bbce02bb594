"""Sessions on real recordings by others (../shared/data; see its README for each file's provenance).

The passing tests pin what the current jump rule gets right on real data; the ``xfail(strict=True)``
tests are the targets of issue #12 that it does not meet yet (running strides with flight taken for
jumps). Strict: when the detector is fixed they fail as XPASS and must become plain tests.
Measured with the current rule (hannam2017): adept run 3 jumps, 14.5 min "jumps" overlapping 9.1 min
brisk_walk; impactr hip-raw 2 jumps; SisFall D03 12 and D04_SA15 6 jumps; UMAFall jogging 9 and 12;
UMAFall hopping 25 of 31 and 21 of 24.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest

import impactlab
from impactlab.io import read_recording

from .conftest import SHARED

pytestmark = pytest.mark.skipif(not SHARED.exists(), reason="../shared/data is absent")

TRIALS = SHARED / "waist-trials"


def _expect() -> list[tuple[str, str, str]]:
    if not (TRIALS / "expect.txt").exists():
        return []
    rows = []
    for line in (TRIALS / "expect.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            f, ax, exp = line.split("|")
            rows.append((f, ax, exp))
    return rows


def _sessions(path: Path, vertical: str | None = None) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rec = read_recording(path, vertical_axis=vertical) if vertical else read_recording(path)
        return impactlab.analyze(rec).sessions


def _jumps(s: pd.DataFrame) -> int:
    return int(s.loc[s["kind"] == "jumps", "n_jumps"].fillna(0).sum())


def _overlaps(s: pd.DataFrame) -> int:
    s = s.sort_values("start")
    return int((s["start"].iloc[1:].to_numpy() < s["end"].iloc[:-1].to_numpy()).sum()) if len(s) > 1 else 0


@pytest.mark.parametrize(("name", "vertical", "expect"), [r for r in _expect() if r[2] == "jumps:2"])
def test_sisfall_jump_trials_give_their_two_jumps(name: str, vertical: str, expect: str) -> None:
    # SisFall D19 (waist belt, 200 Hz): two gentle jumps each, counted by eye by the data's curator
    s = _sessions(TRIALS / name, vertical)
    assert _jumps(s) == 2


@pytest.mark.parametrize(("name", "vertical"), [("sisfall_D01_SA10_R01.csv", "-y"), ("sisfall_D02_SA12_R01.csv", "-y"),
                                                ("sisfall_D04_SA07_R01.csv", "-y")])
def test_walking_and_fast_jogging_without_flight_give_no_jumps(name: str, vertical: str) -> None:
    assert _jumps(_sessions(TRIALS / name, vertical)) == 0


@pytest.mark.xfail(strict=True, reason="#12: running strides with flight pass the jump rule (3 jumps, overlapping sessions)")
def test_adept_run_has_no_jumps_and_no_overlaps() -> None:
    s = _sessions(SHARED / "adeptdata" / "acc_running_left_hip.csv.gz")
    assert _jumps(s) == 0
    assert _overlaps(s) == 0


@pytest.mark.xfail(strict=True, reason="#12: 2 false jumps in impactr's walking example")
def test_impactr_hip_walk_has_no_jumps() -> None:
    assert _jumps(_sessions(SHARED / "impactr" / "hip-raw.csv")) == 0


@pytest.mark.xfail(strict=True, reason="#12: jogging strides with flight are taken for jumps (6-12 per trial)")
@pytest.mark.parametrize(("name", "vertical"), [("sisfall_D03_SA06_R01.csv", "-y"), ("sisfall_D04_SA15_R01.csv", "-y"),
                                                ("umafall_s15_jogging_1.csv", "+y"), ("umafall_s17_jogging_1.csv", "+y")])
def test_jogging_trials_give_no_jumps(name: str, vertical: str) -> None:
    assert _jumps(_sessions(TRIALS / name, vertical)) == 0


@pytest.mark.xfail(strict=True, reason="#12: in the pocket flight |a| hovers at 0.2-0.5 g: 25 of 31 hops found")
def test_umafall_hopping_within_15_percent() -> None:
    assert abs(_jumps(_sessions(TRIALS / "umafall_s04_hopping_3.csv", "+y")) - 31) <= 0.15 * 31
