"""DailyLoad: one row per local calendar day (docs/cli.md, Tables)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .config import DetectionConfig
from .schema import DAILY, SESSION_KINDS, coerce, empty

__all__ = ["daily_load", "grouped_band_codes", "per_week_count", "weekly_summary"]


def grouped_band_codes(impacts: pd.DataFrame, config: DetectionConfig) -> np.ndarray:
    """0 = low, 1 = medium, 2 = high for each impact (the preset's grouped bands when it has them)."""
    peak = impacts["peak_g"].to_numpy(dtype=np.float64)
    if config.grouped_bands:
        edges = np.array([e for _, e in config.grouped_bands])
    else:
        edges = np.asarray(config.band_edges_g)[:3]
    codes: np.ndarray = np.clip(np.searchsorted(edges, peak, side="right") - 1, -1, 2)
    return codes


def daily_load(
    impacts: pd.DataFrame,
    wear_blocks: pd.DataFrame,
    *,
    tz: str,
    first_ns: int,
    last_ns: int,
    config: DetectionConfig = DetectionConfig(),
    sessions: pd.DataFrame | None = None,
    comparable_to_hannam: bool | None = None,
) -> pd.DataFrame:
    """Per local calendar day: wear hours, validity and impact counts by band.

    Parameters
    ----------
    impacts : pandas.DataFrame
        Impacts table.
    wear_blocks : pandas.DataFrame
        From :meth:`impactlab.wear.WearAccumulator.blocks` (``start_ns``, ``wear_s``).
    tz : str
        IANA zone whose midnight cuts the days.
    first_ns, last_ns : int
        First and last sample times (UTC ns): every day between them gets a row.
    config : DetectionConfig
        Band edges and the valid-day rule (``config.wear.valid_day_h``, hours).
    sessions : pandas.DataFrame, optional
        Sessions table; adds jumps, sets and minutes per kind (by the session's start day).
    comparable_to_hannam : bool, optional
        Whether the recording's high-band counts are comparable with Hannam's norms (False below
        the preset's rate; the reason is in ``qc.comparable_to_hannam``). Given, it is written to
        every day as the ``comparable_to_hannam`` column (after the schema's columns).

    Returns
    -------
    pandas.DataFrame
        DAILY table (:mod:`impactlab.schema`).
    """
    if first_ns is None or last_ns is None:
        return empty(DAILY)
    d0 = pd.Timestamp(first_ns, tz="UTC").tz_convert(tz).normalize().tz_localize(None)
    d1 = pd.Timestamp(last_ns, tz="UTC").tz_convert(tz).normalize().tz_localize(None)
    days = pd.date_range(d0, d1, freq="D")
    out = pd.DataFrame({"date": days.as_unit("ns")})
    if len(wear_blocks):
        bdays = pd.DatetimeIndex(wear_blocks["start_ns"].to_numpy().view("datetime64[ns]")).tz_localize("UTC")
        bdays = bdays.tz_convert(tz).normalize().tz_localize(None)
        wear = pd.Series(wear_blocks["wear_s"].to_numpy() / 3600.0).groupby(bdays.as_unit("ns")).sum()
        out["wear_h"] = out["date"].map(wear).fillna(0.0).to_numpy()
    else:
        out["wear_h"] = 0.0
    out["valid"] = out["wear_h"] >= config.wear.valid_day_h - 1e-9
    if len(impacts):
        idays = impacts["time"].dt.tz_convert(tz).dt.normalize().dt.tz_localize(None).dt.as_unit("ns")
        codes = grouped_band_codes(impacts, config)
        for k, name in enumerate(("n_low", "n_medium", "n_high")):
            counts = pd.Series(codes == k).groupby(idays.to_numpy()).sum()
            out[name] = out["date"].map(counts).fillna(0).astype("int64").to_numpy()
    else:
        for name in ("n_low", "n_medium", "n_high"):
            out[name] = 0
    for spec in SESSION_KINDS.values():
        for name in (spec.column, *spec.extra):
            out[name] = 0 if spec.unit == "count" else 0.0
    if sessions is not None and len(sessions):
        sdays = sessions["start"].dt.tz_convert(tz).dt.normalize().dt.tz_localize(None).dt.as_unit("ns").to_numpy()
        s = sessions.assign(_day=sdays)
        for kind, spec in SESSION_KINDS.items():
            part = s[s["kind"] == kind]
            if not len(part):
                continue
            if spec.unit == "count":  # jumps: landings and sets per day
                nj = part.groupby("_day")["n_jumps"].sum() if "n_jumps" in part else part.groupby("_day")["n_high"].sum()
                out[spec.column] = out["date"].map(nj).fillna(0).astype("int64").to_numpy()
                for name in spec.extra:
                    ns = part.groupby("_day")["n_sets"].sum()
                    out[name] = out["date"].map(ns).fillna(0).astype("int64").to_numpy()
            else:
                mins = part.groupby("_day")["duration_s"].sum() / 60.0
                out[spec.column] = out["date"].map(mins).fillna(0.0).to_numpy()
    if comparable_to_hannam is not None:
        out["comparable_to_hannam"] = bool(comparable_to_hannam)
    return coerce(out, DAILY)


def per_week_count(per_day: pd.Series) -> int | None:
    """A weekly count (impacts, jumps) from the counts of the valid days: their mean × 7 as a whole number.

    The one rounding of every weekly count impactlab prints (``analyze``, its JSON and ``-Info.json``,
    the weekly report, ``history``): half up, so 6626.5 is 6627 (Python's ``round`` would give 6626).

    Parameters
    ----------
    per_day : pandas.Series
        The count on each valid day (events/day).

    Returns
    -------
    int or None
        Events per week; None without a valid day.

    Examples
    --------
    >>> import pandas as pd
    >>> per_week_count(pd.Series([946, 947]))  # mean 946.5 x 7 = 6625.5
    6626
    >>> per_week_count(pd.Series([], dtype=int)) is None
    True
    """
    if not len(per_day):
        return None
    return int(np.floor(float(per_day.astype(float).mean()) * 7 + 0.5))


def weekly_summary(daily: pd.DataFrame) -> dict[str, object]:
    """Weekly figures: mean per valid day × 7, with the number of valid days (docs/method.md).

    Returns
    -------
    dict
        ``valid_days`` and ``low``, ``medium``, ``high`` impacts per week as whole numbers
        (:func:`per_week_count`; None without valid days).
    """
    valid = daily[daily["valid"].astype(bool)] if len(daily) else daily
    res: dict[str, object] = {"valid_days": len(valid)}
    for band in ("low", "medium", "high"):
        res[band] = per_week_count(valid[f"n_{band}"])
    return res
