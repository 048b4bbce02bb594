"""impactlab.isotime: ISO text for whole columns, and "today" where the client lives."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from impactlab.isotime import isoformat_series, today_in


@pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "Pacific/Pago_Pago", "Europe/Lisbon", "UTC"])
def test_today_in_a_zone_is_the_standard_library_s_date_there(zone: str) -> None:
    before = dt.datetime.now(ZoneInfo(zone)).date()
    got = today_in(zone)
    after = dt.datetime.now(ZoneInfo(zone)).date()
    assert got in (before, after)


def test_today_on_both_sides_of_the_date_line_and_without_a_zone() -> None:
    # UTC+14 and UTC-11 are 25 h apart: their dates always differ by one day
    kiritimati, pago = today_in("Pacific/Kiritimati"), today_in("Pacific/Pago_Pago")
    assert (kiritimati - pago).days == 1 or today_in("Pacific/Kiritimati") != kiritimati  # unless midnight passed
    fixed = today_in("+14:00")
    assert fixed in (kiritimati, today_in("Pacific/Kiritimati"))
    assert today_in(None) in (dt.date.today() - dt.timedelta(days=1), dt.date.today())


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=4_000_000_000_000_000_000), min_size=1, max_size=20),
       st.sampled_from(["UTC", "Europe/Lisbon", "America/St_Johns", "Asia/Kathmandu"]),
       st.sampled_from([1, 1_000, 1_000_000_000]))
def test_isoformat_series_is_pandas_isoformat_in_one_precision(ns: list[int], zone: str, step: int) -> None:
    s = pd.Series(pd.to_datetime([n // step * step for n in ns], unit="ns", utc=True)).dt.tz_convert(zone)
    got = isoformat_series(s)
    values = [t.value for t in s]
    digits = 9 if any(v % 1_000 for v in values) else 6 if any(v % 1_000_000_000 for v in values) else 0
    for text, t in zip(got, s, strict=True):
        base = t.isoformat(timespec="seconds")
        frac = f".{t.value % 1_000_000_000:09d}"[:digits + 1] if digits else ""
        assert text == base[:19] + frac + base[19:]
        if len(t.isoformat()) == len(text):  # a row at the column's precision: exactly pandas' own text
            assert text == t.isoformat()
