"""Ground reaction force, loading rate and bone-loading indices from impacts (docs/method.md).

Per impact, from its gravity-included peak acceleration (``peak_g + 1``, g), its peak acceleration
rate (``peak_rate_gps``, g/s) and body mass (kg):

* peak vertical or resultant ground reaction force (GRF, N and body weights) and peak loading rate
  (LR, N/s) with the fixed-effect equations of Veras et al., chosen per impact from its
  ``activity``: walking (2020) for ``walk``, jumping (2023) for a jump's landing (``jump``),
  walking/running (2022) for ``run`` and ``other``;
* per session and per day: the daily stress stimulus ψ = (Σ σᵢ^m)^(1/m) with m = 4
  (Carter; Whalen et al. 1988) and the osteogenic index OI = peak GRF (BW) × ln(n + 1)
  (Turner & Robling 2003), with σ the predicted GRF in body weights when body mass is known,
  else the gravity-included peak acceleration in g (the proxy; every output says which).

Everything is vectorised over impacts. :func:`impactlab.analyze` calls :func:`impact_loading` after
the sessions are found and :func:`daily_loading` after the DailyLoad table is built;
``analyze(..., body_mass_kg=78)`` turns on the GRF prediction.

Status of each number: see ``docs/method.md`` and ``research/science.md`` §3–4, §9.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..config import DSS_EXPONENT, PLACEMENTS, DetectionConfig
from ..errors import ConfigError
from ..sessions.vibration import apparent_frequency_hz
from .indices import daily_stress_stimulus, loading_indices, osteogenic_index

if TYPE_CHECKING:
    from ..plan import Plan
from .models import (
    CALIBRATION,
    GRAVITY_MS2,
    GRF_COEFFICIENTS,
    LR_COEFFICIENTS,
    MODELS,
    _check_mass,
    add_loading,
    fall_time_s,
    flight_time_s,
    landing_speed_ms,
    model_for_activity,
    model_for_kind,
    predict_grf,
    predict_lr,
    sine_rms_g,
)

__all__ = [
    "DSS_EXPONENT",
    "GRAVITY_MS2",
    "GRF_COEFFICIENTS",
    "LR_COEFFICIENTS",
    "MODELS",
    "PLACEMENTS",
    "daily_loading",
    "daily_loading_variants",
    "impact_loading",
    "CALIBRATION",
    "LoadingSettings",
    "add_loading",
    "apparent_frequency_hz",
    "daily_stress_stimulus",
    "fall_time_s",
    "flight_time_s",
    "landing_speed_ms",
    "loading_indices",
    "model_for_activity",
    "model_for_kind",
    "osteogenic_index",
    "plan_vest_schedule",
    "predict_grf",
    "predict_lr",
    "sine_rms_g",
    "vest_mass_by_day",
]


@dataclass(frozen=True)
class LoadingSettings:
    """Inputs of the loading stage.

    Attributes
    ----------
    body_mass_kg : float or None
        Body mass (kg); None uses the acceleration proxy for the indices and predicts no GRF.
    vest_mass_kg : float
        Weighted-vest mass (kg) added to body mass for impacts in ``vest_walk`` sessions (an
        extension: Newton's law, never validated by Veras et al. [P]).
    placement : {"hip", "back", "ankle"}
        Accelerometer placement for the equations (impactlab records at the hip).
    m : float
        Daily stress stimulus exponent (4).
    include_extrapolated : bool
        Keep predictions marked ``outside_calibration`` in the DSS and OI (default: left out).
    vest_schedule : tuple of (datetime.date or None, float)
        A vest mass (kg) that changes over time, as (first local day or None for "from the start", kg),
        oldest first (a progression plan's phases, :func:`plan_vest_schedule`): each
        impact gets the mass in force on its local day. Empty: ``vest_mass_kg`` throughout.
    """

    body_mass_kg: float | None = None
    vest_mass_kg: float = 0.0
    placement: str = "hip"
    m: float = DSS_EXPONENT
    include_extrapolated: bool = False
    vest_schedule: tuple[tuple[dt.date | None, float], ...] = ()


def plan_vest_schedule(plan: Plan) -> tuple[tuple[dt.date | None, float], ...]:
    """The vest mass (kg, 0 when none is given) of each phase of ``plan`` as (first day or None, kg), oldest first.

    ``Plan.vest_mass_kg`` is the first phase's; a progression (``[[phases]]``) may raise it later.
    """
    out = []
    for first, flat in plan.segments():
        v = flat.targets.vest_walk
        out.append((first, float(v.vest_mass_kg or 0.0) if v is not None else 0.0))
    return tuple(out)


def vest_mass_by_day(times: pd.Series, tz: str, schedule: Sequence[tuple[dt.date | None, float]]) -> np.ndarray:
    """The vest mass (kg) in force on each time's local day.

    Parameters
    ----------
    times : pandas.Series
        Timezone-aware impact times.
    tz : str
        IANA zone whose calendar days the schedule's dates are.
    schedule : sequence of (datetime.date or None, float)
        (first day or None for "from the start", kg), oldest first. Days before the first dated entry
        take the first entry's mass.

    Returns
    -------
    numpy.ndarray
        float64 kg, one per time (0 for an empty schedule).
    """
    n = len(times)
    if not schedule:
        return np.zeros(n)
    starts = np.array([np.datetime64("NaT") if d is None else np.datetime64(d, "D") for d, _ in schedule],
                      dtype="datetime64[D]")
    kg = np.array([float(k) for _, k in schedule], dtype=np.float64)
    if n == 0:
        return np.zeros(0)
    local = pd.DatetimeIndex(times).tz_convert(tz).tz_localize(None).normalize().to_numpy().astype("datetime64[D]")
    dated = ~np.isnat(starts)
    idx = np.zeros(n, dtype=np.int64)
    if dated.any():
        pos = np.flatnonzero(dated)
        hit = np.searchsorted(starts[pos], local, side="right") - 1
        idx = np.where(hit >= 0, pos[np.clip(hit, 0, None)], 0)
    return kg[idx]



def impact_loading(
    impacts: pd.DataFrame, sessions: pd.DataFrame, *, tz: str, detection: DetectionConfig, settings: LoadingSettings,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """The loading stage over finished impacts and sessions.

    Parameters
    ----------
    impacts, sessions : pandas.DataFrame
        IMPACTS and SESSIONS tables (:mod:`impactlab.schema`).
    tz : str
        IANA zone of the recording (sessions are summed per local day).
    detection : DetectionConfig
        The preset: its ``vector`` selects the coefficient set, its rate is named in the notes.
    settings : LoadingSettings
        Body mass (kg), vest mass (kg), placement and the DSS exponent.

    Returns
    -------
    impacts : pandas.DataFrame
        With the per-impact GRF (N, BW), loading rate (N/s), model and ``outside_calibration``.
    sessions : pandas.DataFrame
        With ``dss``, ``oi``, ``peak_grf_bw`` and ``load_basis`` per session.
    info : dict
        The ``loading`` section of the JSON and Info.json (basis, models, notes).
    """
    st = settings
    if st.placement not in PLACEMENTS:
        raise ConfigError(f"unknown placement {st.placement!r}", key="placement", hint=f"Use one of: {', '.join(PLACEMENTS)}")
    if st.body_mass_kg is not None:
        _check_mass(st.body_mass_kg)
    vest: float | np.ndarray = st.vest_mass_kg
    if st.vest_schedule:
        vest = vest_mass_by_day(impacts["time"], tz, st.vest_schedule)
    imp = add_loading(
        impacts, sessions=sessions, body_mass_kg=st.body_mass_kg, vest_mass_kg=vest,
        placement=st.placement, vector=detection.vector,  # type: ignore[arg-type]
    )
    _, sess = loading_indices(imp, tz=tz, sessions=sessions, m=st.m, include_extrapolated=st.include_extrapolated)
    basis = "grf_bw" if st.body_mass_kg is not None else "acc_g"
    notes = []
    if st.body_mass_kg is None:
        notes.append("no body mass: DSS and OI use peak acceleration (g, gravity included) as the stimulus")
    if detection.target_rate_hz is not None:
        notes.append(
            f"peaks were found at {detection.target_rate_hz:g} Hz; the Veras equations were calibrated on "
            "100 Hz peaks (--preset veras2020), so predictions here run low"
        )
    n_out = int(imp["outside_calibration"].sum()) if len(imp) else 0
    if n_out:
        notes.append(f"{n_out} GRF prediction(s) outside their equation's calibration are "
                     + ("kept in" if st.include_extrapolated else "left out of")
                     + " DSS and OI (--include-extrapolated to keep them); Info.json 'days' gives the indices both ways")
    steps = [(d, k) for i, (d, k) in enumerate(st.vest_schedule) if i == 0 or k != st.vest_schedule[i - 1][1]]
    if len(steps) > 1:
        said = ", ".join(f"{k:g} kg " + ("from the start" if d is None else f"from {d.isoformat()}") for d, k in steps)
        notes.append(f"vest mass by plan phase ({said}) added to body mass in vest walks on those days "
                     "(extension, not validated)")
    elif (steps[0][1] if steps else st.vest_mass_kg) > 0:
        notes.append(f"vest mass {steps[0][1] if steps else st.vest_mass_kg:g} kg added to body mass in vest walks "
                     "(extension, not validated)")
    info: dict[str, Any] = {
        "body_mass_kg": st.body_mass_kg, "vest_mass_kg": steps[0][1] if steps else st.vest_mass_kg,
        "placement": st.placement,
        "vector": detection.vector, "basis": basis, "dss_exponent": st.m,
        "models": {k: CALIBRATION[k] for k in MODELS},
        "outside_calibration": n_out,
        "include_extrapolated": st.include_extrapolated,
        "daily_oi": "summed over the day's sessions plus its loose impacts as one bout (the Daily oi column, "
                    "shown in the report); 'days' also gives oi_day, the whole day as one bout",
        "notes": notes,
    }
    if len(steps) > 1:
        info["vest_mass_by_phase"] = [{"from": None if d is None else d.isoformat(), "vest_mass_kg": k} for d, k in steps]
    return imp, sess if sess is not None else sessions, info


def daily_loading(daily: pd.DataFrame, impacts: pd.DataFrame, *, tz: str, m: float = DSS_EXPONENT,
                  include_extrapolated: bool = False) -> pd.DataFrame:
    """Add ``dss``, ``oi``, ``peak_grf_bw_max`` and ``load_basis`` to a DailyLoad table.

    Parameters
    ----------
    daily : pandas.DataFrame
        The DAILY table.
    impacts : pandas.DataFrame
        Impacts with the loading columns of :func:`impact_loading`.
    tz : str
        IANA zone of the days.
    m : float
        Daily stress stimulus exponent.
    include_extrapolated : bool
        Keep predictions outside their calibration in DSS and OI (default: left out).
    """
    res, _ = loading_indices(impacts, tz=tz, days=daily["date"], m=m, include_extrapolated=include_extrapolated)
    out = daily.copy()
    for c in ("dss", "oi", "peak_grf_bw_max", "load_basis"):
        out[c] = res[c].to_numpy()
    return out


def daily_loading_variants(daily: pd.DataFrame, impacts: pd.DataFrame, *, tz: str, m: float = DSS_EXPONENT) -> list[dict[str, Any]]:
    """The day's indices every way they can be taken, for Info.json (``loading.days``).

    Returns
    -------
    list of dict
        Per day: ``date``; ``dss``, ``oi`` (summed over sessions) and ``oi_day`` (the whole day as one
        bout) without the extrapolated predictions, the same with them (``*_with_extrapolated``),
        and ``n_extrapolated``.
    """
    out, _ = loading_indices(impacts, tz=tz, days=daily["date"], m=m, include_extrapolated=False)
    both, _ = loading_indices(impacts, tz=tz, days=daily["date"], m=m, include_extrapolated=True)
    rows = []
    for a, b in zip(out.itertuples(index=False), both.itertuples(index=False), strict=True):
        rows.append({"date": pd.Timestamp(a.date).strftime("%Y-%m-%d"), "dss": float(a.dss), "oi": float(a.oi),
                     "oi_day": float(a.oi_day), "dss_with_extrapolated": float(b.dss),
                     "oi_with_extrapolated": float(b.oi), "oi_day_with_extrapolated": float(b.oi_day),
                     "n_extrapolated": int(a.n_extrapolated)})
    return rows
