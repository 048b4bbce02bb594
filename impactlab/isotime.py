"""ISO 8601 text for whole columns of zone-aware times, as :meth:`pandas.Timestamp.isoformat` writes them.

Formatting an Impacts table one timestamp at a time took about 1.3 s per 100 000 rows; this builds
the same strings from numpy arrays (the date and clock by :func:`numpy.datetime_as_string`, the few
distinct UTC offsets once each).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

_NS = 1_000_000_000


def _offset_text(seconds: int) -> str:
    """``+HH:MM`` (``+HH:MM:SS`` when the offset has seconds), as :meth:`datetime.isoformat`."""
    sign = "-" if seconds < 0 else "+"
    hh, rest = divmod(abs(seconds), 3600)
    mm, ss = divmod(rest, 60)
    return f"{sign}{hh:02d}:{mm:02d}" + (f":{ss:02d}" if ss else "")


def isoformat_series(s: pd.Series) -> pd.Series:
    """Each time of a zone-aware ``s`` as ``Timestamp.isoformat()`` text (object dtype, same index).

    Parameters
    ----------
    s : pandas.Series
        A ``datetime64[*, tz]`` column.

    Returns
    -------
    pandas.Series
        ``YYYY-MM-DDTHH:MM:SS[.ffffff|.fffffffff]±HH:MM`` per row: six fraction digits when the
        time has microseconds but no nanoseconds, nine with nanoseconds, none on a whole second.
        Columns holding NaT or years outside 1000-9999 are formatted one by one.
    """
    utc = s.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[ns]").to_numpy()
    local = s.dt.tz_localize(None).astype("datetime64[ns]").to_numpy()
    if s.isna().any() or not len(s):
        return s.map(lambda t: t.isoformat()).astype(object)
    years = local.astype("datetime64[Y]").astype(np.int64) + 1970
    if years.min() < 1000 or years.max() > 9999:
        return s.map(lambda t: t.isoformat()).astype(object)
    li = local.view(np.int64)
    off_s = (li - utc.view(np.int64)) // _NS
    base = np.datetime_as_string(local, unit="s").astype(object)
    frac_ns = li % _NS
    frac = np.full(li.size, "", dtype=object)
    us = (frac_ns % 1000 == 0) & (frac_ns != 0)
    ns = frac_ns % 1000 != 0
    if us.any():
        frac[us] = np.char.add(".", np.char.zfill((frac_ns[us] // 1000).astype(str), 6)).astype(object)
    if ns.any():
        frac[ns] = np.char.add(".", np.char.zfill(frac_ns[ns].astype(str), 9)).astype(object)
    uniq, inv = np.unique(off_s, return_inverse=True)
    offs = np.array([_offset_text(int(o)) for o in uniq], dtype=object)[inv.ravel()]
    return pd.Series(base + frac + offs, index=s.index, dtype=object)
