"""The Recording contract (DESIGN §3) and the public API surface."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from impactlab.errors import DataError, ImpactlabError
from impactlab.recording import Recording, RecordingMeta, parse_vertical_axis

META = RecordingMeta(source="t", device="table", sample_rate_hz=100.0, timezone="UTC")


def _frame(n: int = 10) -> pd.DataFrame:
    idx = pd.date_range("2026-01-01", periods=n, freq="10ms", tz="UTC", name="time")
    return pd.DataFrame({"x": np.zeros(n, np.float32), "y": np.ones(n, np.float32), "z": np.zeros(n, np.float32)}, index=idx)


def test_valid() -> None:
    assert len(Recording(_frame(), META)) == 10


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda d: d.tz_localize(None), "no time zone"),
        (lambda d: d.iloc[[0, 2, 1, 3]], r"sample 3 \(counted from 1; .*\) goes back"),
        (lambda d: d.iloc[[0, 1, 1, 2]], "repeats"),
        (lambda d: d.assign(x=d["x"].astype("float64")), "expected float32"),
        (lambda d: d.drop(columns="z"), "missing column"),
        (lambda d: d.assign(y=np.where(np.arange(len(d)) == 4, np.nan, 1.0).astype(np.float32)), r"sample 5 \(counted from 1; "),
    ],
)
def test_contract_violations(mutate, match: str) -> None:
    with pytest.raises(DataError, match=match) as e:
        Recording(mutate(_frame()), META)
    assert isinstance(e.value, ImpactlabError) and isinstance(e.value, ValueError)


def test_parse_vertical_axis() -> None:
    assert parse_vertical_axis("-y") == ("y", -1.0)
    assert parse_vertical_axis("Z") == ("z", 1.0)
    with pytest.raises(DataError, match="not one of"):
        parse_vertical_axis("up")
