"""The §9 JSON and CSV forms of the analysis tables (``days``, ``plan_check``, plain JSON values)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .isotime import isoformat_series
from .schema import SESSION_KINDS

__all__ = ["days_json", "plan_check_json"]


def days_json(daily: pd.DataFrame) -> list[dict[str, Any]]:
    """DAILY rows as the §9 ``days`` list (loading indices included when present)."""
    days = []
    for r in daily.itertuples(index=False):
        days.append({
            "date": r.date.strftime("%Y-%m-%d"), "wear_h": round(float(r.wear_h), 3), "valid": bool(r.valid),
            "n_low": int(r.n_low), "n_medium": int(r.n_medium), "n_high": int(r.n_high),
            **{c: (int(getattr(r, c)) if spec.unit == "count" else round(float(getattr(r, c)), 2))
               for spec in SESSION_KINDS.values() for c in (spec.column, *spec.extra)},
            **{k: _jsonable(getattr(r, k)) for k in daily.columns if k in ("dss", "oi", "peak_grf_bw_max")},
        })
    return days


def plan_check_json(plan_check: pd.DataFrame) -> list[dict[str, Any]]:
    """PLAN_CHECK rows as the §9 ``plan_check`` list (``met`` true/false/null, dates ``YYYY-MM-DD``)."""
    out = []
    for r in plan_check.to_dict("records"):
        d = {k: _jsonable(v) for k, v in r.items()}
        d["date"] = pd.Timestamp(r["date"]).strftime("%Y-%m-%d")
        out.append(d)
    return out


def _csv_frame(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for c in out.columns:
        if isinstance(out[c].dtype, pd.DatetimeTZDtype):
            out[c] = isoformat_series(out[c])  # as Timestamp.isoformat, whole column at once
        elif c == "date":
            out[c] = pd.to_datetime(out[c]).dt.strftime("%Y-%m-%d")
    return out


def _jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_jsonable(x) for x in v]
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, pd.Timestamp):
        return v.isoformat()
    if isinstance(v, np.bool_ | bool):
        return bool(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating | float):
        return None if not np.isfinite(v) else round(float(v), 6)
    return v
