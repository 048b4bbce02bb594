"""One clock in every collated table: local wall time, its UTC offset, and UTC beside it.

A cohort mixes recordings from several zones (and from both sides of a DST change), so a single
zoned column cannot hold them, and UTC alone loses the local clock that days are cut by. Every
collated time column ``T`` therefore becomes three:

- ``T``: local wall time of the recording's zone, without a zone (Parquet ``timestamp``; CSV
  ``2026-03-02T08:00:00``);
- ``T_utc``: the same instant in UTC (Parquet ``timestamp[UTC]``; CSV ``…+00:00``);
- ``utc_offset``: the offset of local time from UTC at the row's first time column (``+01:00``),
  one per row; ``T_utc`` is exact for every column.

A calendar ``date`` (Daily, PlanCheck) stays the local day, with ``date_start_utc`` (the UTC
instant of its local midnight) and ``utc_offset`` at that midnight.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["format_times", "offset_text", "with_clock"]

_NS_PER_MIN = 60_000_000_000


def offset_text(minutes: pd.Series) -> pd.Series:
    """``+01:00`` / ``-04:00`` / ``+05:45`` from offsets in minutes (``<NA>`` stays missing)."""
    m = minutes.astype("Float64").round().astype("Int64")
    known = [int(v) for v in m.dropna().unique()]  # a few distinct offsets: formatted once each
    names = pd.Series({v: f"{'-' if v < 0 else '+'}{abs(v) // 60:02d}:{abs(v) % 60:02d}" for v in known}, dtype="string")
    return m.map(names).astype("string")


def _zoned(values: pd.Series, tz: str) -> tuple[pd.Series, pd.Series, pd.Series]:
    utc = pd.to_datetime(values, utc=True, format="ISO8601").astype(pd.DatetimeTZDtype("ns", "UTC"))
    local = utc.dt.tz_convert(tz).dt.tz_localize(None)
    minutes = (local - utc.dt.tz_localize(None)).dt.total_seconds() / 60
    return local.astype("datetime64[ns]"), utc, minutes.round()


def _dated(values: pd.Series, tz: str) -> tuple[pd.Series, pd.Series, pd.Series]:
    local = pd.to_datetime(values, format="ISO8601").astype("datetime64[ns]")
    start = local.dt.tz_localize(tz, ambiguous=np.zeros(len(local), dtype=bool), nonexistent="shift_forward")
    utc = start.dt.tz_convert("UTC").astype(pd.DatetimeTZDtype("ns", "UTC"))
    minutes = (start.dt.tz_localize(None) - utc.dt.tz_localize(None)).dt.total_seconds() / 60
    return local, utc, minutes.round()


def with_clock(df: pd.DataFrame, tz: str | None, *, zoned: Sequence[str] = (), dates: Sequence[str] = ()) -> pd.DataFrame:
    """``df`` with each time column as local wall time, ``<col>_utc`` beside it and one ``utc_offset``.

    Parameters
    ----------
    df : pandas.DataFrame
        One recording's table: zoned columns as tz-aware datetimes or ISO-8601 text with an offset,
        date columns as naive dates or ``YYYY-MM-DD`` text.
    tz : str or None
        The recording's IANA zone (None: UTC).
    zoned : sequence of str
        Columns holding instants (``start``, ``end``, ``time``).
    dates : sequence of str
        Columns holding local calendar days (``date``); their UTC column is ``<col>_start_utc``.

    Returns
    -------
    pandas.DataFrame
        A copy with the columns replaced and inserted; ``utc_offset`` follows the first time column's UTC column.
    """
    out = df.copy()
    zone = tz or "UTC"
    first: pd.Series | None = None
    anchor = None
    for col in [*zoned, *dates]:
        if col not in out.columns:
            continue
        s = out[col]
        blank = s.isna() | (s.astype("string") == "")
        local, utc, minutes = (_zoned if col in zoned else _dated)(s.mask(blank), zone)
        name = f"{col}_utc" if col in zoned else f"{col}_start_utc"
        at = out.columns.get_loc(col)
        out[col] = local
        out.insert(int(at) + 1, name, utc)
        if first is None:
            first, anchor = minutes, name
    if first is not None and anchor is not None:
        out.insert(int(out.columns.get_loc(anchor)) + 1, "utc_offset", offset_text(first))
    return out


def _iso(s: pd.Series) -> pd.Series:
    """Naive times as ``YYYY-MM-DDTHH:MM:SS[.ffffff]``: microseconds on every row when any row has them,
    so one column has one format."""
    whole = bool((s.dropna().dt.microsecond == 0).all())
    return s.dt.strftime("%Y-%m-%dT%H:%M:%S" if whole else "%Y-%m-%dT%H:%M:%S.%f").astype("string")


def format_times(df: pd.DataFrame) -> pd.DataFrame:
    """Datetime columns as ISO-8601 text for CSV: local ``2026-03-02T08:00:00``, UTC ``…+00:00``; a
    ``date`` of local midnights as ``2026-03-02``."""
    out = df.copy()
    for c in out.columns:
        s = out[c]
        if isinstance(s.dtype, pd.DatetimeTZDtype):
            out[c] = (_iso(s.dt.tz_convert("UTC").dt.tz_localize(None)) + "+00:00").astype("string")
        elif pd.api.types.is_datetime64_dtype(s.dtype):
            if c == "date" or c.endswith("_date"):
                out[c] = s.dt.strftime("%Y-%m-%d").astype("string")
            else:
                out[c] = _iso(s)
    return out
