"""Bone-loading indices: daily stress stimulus (DSS) and osteogenic index (OI), per session and per day.

See :mod:`impactlab.loading`."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from ..config import DSS_EXPONENT
from ..errors import DataError


def daily_stress_stimulus(stimulus: Any, cycles: Any = 1, *, m: float = DSS_EXPONENT) -> float:
    """Daily stress stimulus ψ = (Σ nᵢ σᵢ^m)^(1/m).

    Parameters
    ----------
    stimulus : array_like
        Effective stress σᵢ of each loading class: peak GRF in body weights, or peak acceleration
        in g (gravity included) as a proxy.
    cycles : array_like, default 1
        Number of cycles nᵢ at each σᵢ (1 when ``stimulus`` lists single impacts).
    m : float, default 4
        Empirical weighting exponent (Whalen et al. 1988; m = 4 is the usual choice, U in the
        primary source).

    Returns
    -------
    float
        ψ in the unit of ``stimulus``; 0.0 for no loading.

    References
    ----------
    .. [1] Whalen RT, Carter DR, Steele CR (1988) Influence of physical activity on the regulation
       of bone density. J Biomech 21(10):825–837.

    Examples
    --------
    >>> round(daily_stress_stimulus([1.2, 3.0], [5000, 50]), 2)
    10.96
    """
    s = np.asarray(stimulus, dtype=np.float64)
    n = np.broadcast_to(np.asarray(cycles, dtype=np.float64), s.shape)
    ok = np.isfinite(s)
    total = float(np.sum(n[ok] * s[ok] ** m))
    return total ** (1.0 / m) if total > 0 else 0.0


def osteogenic_index(peak_bw: float, n_cycles: int | float) -> float:
    """Osteogenic index of one session: OI = peak GRF (BW) × ln(n + 1).

    Parameters
    ----------
    peak_bw : float
        Peak GRF of the session in body weights (or the proxy, peak acceleration in g).
    n_cycles : int
        Number of loading cycles in the session.

    References
    ----------
    .. [1] Turner CH, Robling AG (2003) Designing exercise regimens to increase bone strength.
       Exerc Sport Sci Rev 31(1):45–50. doi:10.1097/00003677-200301000-00009

    Examples
    --------
    >>> round(osteogenic_index(1.40, 4194), 2)
    11.68
    """
    if n_cycles < 0:
        raise DataError(f"number of loading cycles must be >= 0, got {n_cycles}")
    if n_cycles == 0 or not math.isfinite(peak_bw):
        return 0.0
    return float(peak_bw) * math.log(n_cycles + 1.0)



def loading_indices(
    impacts: pd.DataFrame,
    *,
    tz: str,
    days: pd.Series | None = None,
    sessions: pd.DataFrame | None = None,
    m: float = DSS_EXPONENT,
    include_extrapolated: bool = False,
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Daily stress stimulus and osteogenic index per day (and per session).

    Parameters
    ----------
    impacts : pandas.DataFrame
        Impacts with ``time``, ``peak_g``, ``session_id`` and, when body mass was known, ``grf_bw``
        (from :func:`add_loading`).
    tz : str
        IANA zone whose midnights cut the days.
    days : pandas.Series, optional
        Dates (local midnight, tz-naive) to report; default the days with impacts.
    sessions : pandas.DataFrame, optional
        Sessions table; gets ``dss``, ``oi``, ``peak_grf_bw`` columns.
    m : float, default 4
        DSS exponent.
    include_extrapolated : bool, default False
        Keep the impacts marked ``outside_calibration`` (GRF predicted outside its equation's
        calibration); by default they are left out of DSS, OI and the peaks (not of the counts).

    Returns
    -------
    (pandas.DataFrame, pandas.DataFrame or None)
        Per day: ``date``, ``dss``, ``oi`` (summed over the day's sessions and its loose impacts),
        ``oi_day`` (the whole day as one bout: the day's peak σ × ln(n + 1)), ``peak_grf_bw_max``
        (NaN without body mass), ``load_basis`` (``grf_bw`` | ``acc_g``), ``n_extrapolated``
        (impacts left out); and the sessions table with its indices added.

    Notes
    -----
    σ of an impact is ``grf_bw`` when every impact has one (body mass known), else the
    gravity-included peak acceleration ``peak_g + 1`` in g (the proxy). A day's DSS is over all
    its impacts (each one cycle). A day's OI is the sum of its sessions' OI plus the OI of its
    impacts outside sessions taken as one bout [P: how OI combines over a day is U in the
    literature]; a session's OI uses its peak σ and its number of impacts.
    """
    n = len(impacts)
    grf_bw = impacts["grf_bw"].to_numpy(np.float64) if "grf_bw" in impacts.columns else np.full(n, np.nan)
    use_grf = n > 0 and bool(np.isfinite(grf_bw).all())
    if n == 0:
        use_grf = "grf_bw" in impacts.columns
    sigma = grf_bw if use_grf else impacts["peak_g"].to_numpy(np.float64) + 1.0
    basis = "grf_bw" if use_grf else "acc_g"
    left_out = np.zeros(n, bool)
    if not include_extrapolated and "outside_calibration" in impacts.columns and n:
        left_out = impacts["outside_calibration"].to_numpy(bool)
    sigma = np.where(left_out, np.nan, sigma)
    grf_bw = np.where(left_out, np.nan, grf_bw)
    if n:
        day = impacts["time"].dt.tz_convert(tz).dt.normalize().dt.tz_localize(None).dt.as_unit("ns").to_numpy()
    else:
        day = np.empty(0, "datetime64[ns]")
    sid = impacts["session_id"] if "session_id" in impacts.columns else pd.Series(pd.NA, index=impacts.index, dtype="Int64")
    in_session = sid.notna().to_numpy()
    frame = pd.DataFrame({"day": day, "s4": sigma**m, "sigma": sigma, "grf_bw": grf_bw, "in": in_session,
                          "sid": sid.to_numpy(dtype="float64", na_value=np.nan), "out": left_out})
    n_out = frame.groupby("day")["out"].sum()
    frame = frame[~left_out]
    by_day = frame.groupby("day")
    dss = by_day["s4"].sum() ** (1.0 / m)
    peak_bw = by_day["grf_bw"].max()
    # OI per session, and per day's loose impacts as one bout
    sess_oi = pd.Series(dtype="float64")
    sess_tab = None
    if in_session.any():
        g = frame[frame["in"]].groupby("sid")
        sess_peak = g["sigma"].max()
        sess_n = g["sigma"].size()
        sess_oi = sess_peak * np.log(sess_n + 1.0)
        sess_day = g["day"].min()
    loose = frame[~frame["in"]].groupby("day")
    loose_oi = loose["sigma"].max() * np.log(loose["sigma"].size() + 1.0)
    oi_day = by_day["sigma"].max() * np.log(by_day["sigma"].size() + 1.0)
    oi = loose_oi.reindex(dss.index, fill_value=0.0)
    if len(sess_oi):
        oi = oi.add(sess_oi.groupby(sess_day).sum(), fill_value=0.0)
    if sessions is not None:
        sess_tab = sessions.copy()
        ids = sess_tab["session_id"].astype("float64") if len(sess_tab) else pd.Series([], dtype="float64")
        if len(sess_oi):
            s4 = frame[frame["in"]].groupby("sid")["s4"].sum() ** (1.0 / m)
            sess_tab["dss"] = ids.map(s4).fillna(0.0).to_numpy()
            sess_tab["oi"] = ids.map(sess_oi).fillna(0.0).to_numpy()
            sess_tab["peak_grf_bw"] = ids.map(frame[frame["in"]].groupby("sid")["grf_bw"].max()).to_numpy(np.float64)
        else:
            sess_tab["dss"] = 0.0
            sess_tab["oi"] = 0.0
            sess_tab["peak_grf_bw"] = np.nan
        sess_tab["load_basis"] = basis
    index = pd.DatetimeIndex(days.to_numpy() if days is not None else n_out.index).as_unit("ns")
    res = pd.DataFrame({
        "date": index,
        "dss": dss.reindex(index).fillna(0.0).to_numpy(np.float64),
        "oi": oi.reindex(index).fillna(0.0).to_numpy(np.float64),
        "oi_day": oi_day.reindex(index).fillna(0.0).to_numpy(np.float64),
        "peak_grf_bw_max": peak_bw.reindex(index).to_numpy(np.float64),
        "load_basis": basis,
        "n_extrapolated": n_out.reindex(index).fillna(0).to_numpy(np.int64),
    })
    return res, sess_tab


