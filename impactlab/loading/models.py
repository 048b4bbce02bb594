"""GRF and loading-rate prediction: the Veras et al. coefficient tables, per-impact predictions, and
the jump/drop physics helpers (docs/method.md). See :mod:`impactlab.loading`."""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
import pandas as pd

from ..errors import ConfigError, DataQualityWarning
from ..schema import SESSION_KINDS

Model = Literal["walking", "walking/running", "jumping"]
Placement = Literal["hip", "back", "ankle"]
Vector = Literal["vertical", "resultant"]

#: Standard gravity (m/s²): one body weight = body mass × 9.80665 N.
GRAVITY_MS2 = 9.80665
MODELS: tuple[str, ...] = ("walking", "walking/running", "jumping")

# (b0, b1, b2, b3, b4). Form A (b4 == 0): y = b0 + b1·x + b2·BM + b3·x·BM.
# Form B (walking):                      y = b0 + b1·x + b2·x² + b3·BM + b4·x·BM.
# Fixed effects of the mixed models, as published in impactr 0.4.1 R/predict.R (commit 30edf50).
_Coef = tuple[float, float, float, float, float]

#: Peak GRF (N) from peak acceleration (g, gravity included): Veras 2020 (walking), 2022
#: (walking/running), 2023 (jumping). [C-code: impactr ``get_grf_coefficients``]
GRF_COEFFICIENTS: dict[tuple[str, str, str], _Coef] = {
    ("walking/running", "ankle", "resultant"): (890.673, -131.889, 7.155, 2.027, 0.0),
    ("walking/running", "back", "resultant"): (701.358, -167.229, 9.642, 2.667, 0.0),
    ("walking/running", "hip", "resultant"): (814.888, -229.459, 7.036, 3.934, 0.0),
    ("walking/running", "ankle", "vertical"): (984.419, -221.505, 6.133, 3.201, 0.0),
    ("walking/running", "back", "vertical"): (692.456, -179.912, 9.736, 2.760, 0.0),
    ("walking/running", "hip", "vertical"): (767.553, -244.689, 7.153, 4.258, 0.0),
    ("walking", "back", "resultant"): (-698.7031, 1047.5129, -345.2605, 3.8294, 6.0219),
    ("walking", "hip", "resultant"): (-300.9909, 522.6850, -171.5606, 3.9596, 5.3671),
    ("walking", "back", "vertical"): (-776.8934, 1042.9052, -336.2115, 6.2132, 5.0805),
    ("walking", "hip", "vertical"): (-435.7365, 586.6627, -188.9689, 5.8047, 4.9544),
    ("jumping", "ankle", "resultant"): (1551.020, -132.384, 7.927, 2.415, 0.0),
    ("jumping", "back", "resultant"): (-350.125, 152.952, 22.618, 0.654, 0.0),
    ("jumping", "hip", "resultant"): (-493.877, 188.759, 18.008, 1.279, 0.0),
    ("jumping", "ankle", "vertical"): (1662.525, -196.301, 8.515, 3.169, 0.0),
    ("jumping", "back", "vertical"): (-287.919, 131.396, 24.338, 0.642, 0.0),
    ("jumping", "hip", "vertical"): (-786.169, 177.403, 23.953, 1.355, 0.0),
}

#: Peak loading rate (N/s) from peak acceleration rate (g/s). [C-code: impactr ``get_lr_coefficients``;
#: the hip walking/running resultant b2, b3 equal the back row's, possibly a slip in impactr: U]
LR_COEFFICIENTS: dict[tuple[str, str, str], _Coef] = {
    ("walking/running", "ankle", "resultant"): (13629.698, -94.093, 77.299, 1.447, 0.0),
    ("walking/running", "back", "resultant"): (13947.266, -129.739, 86.996, 1.721, 0.0),
    ("walking/running", "hip", "resultant"): (13656.930, -168.415, 86.996, 1.721, 0.0),
    ("walking/running", "ankle", "vertical"): (12387.216, -68.583, 75.546, 1.327, 0.0),
    ("walking/running", "back", "vertical"): (14522.460, -112.291, 91.448, 1.469, 0.0),
    ("walking/running", "hip", "vertical"): (13683.896, -159.441, 63.910, 2.752, 0.0),
    ("walking", "back", "resultant"): (-287.0209, 572.7967, -9.8958, 18.1178, 3.4078),
    ("walking", "hip", "resultant"): (-3510.410, 514.898, -8.639, 51.937, 2.929),
    ("walking", "back", "vertical"): (-324.0761, 552.8242, -11.9453, 18.1405, 3.9586),
    ("walking", "hip", "vertical"): (-2687.8662, 407.8434, -7.6603, 45.8905, 3.8995),
    ("jumping", "ankle", "resultant"): (71932.438, -218.268, 74.463, 3.474, 0.0),
    ("jumping", "back", "resultant"): (-1161.976, 22.804, 624.413, 2.135, 0.0),
    ("jumping", "hip", "resultant"): (5118.300, 33.054, 346.667, 2.835, 0.0),
    ("jumping", "ankle", "vertical"): (58864.225, -194.575, 142.545, 3.733, 0.0),
    ("jumping", "back", "vertical"): (8303.550, -19.708, 685.299, 1.900, 0.0),
    ("jumping", "hip", "vertical"): (-11471.926, 15.332, 691.269, 2.670, 0.0),
}

#: What each model was calibrated on (Veras 2020, 2022, 2023) [C], echoed in reports.
CALIBRATION: dict[str, str] = {
    "walking": "treadmill walking, normal weight to severe obesity (Veras 2020)",
    "walking/running": "treadmill walking 2-6 km/h and running 7-14 km/h (Veras 2022)",
    "jumping": "drop, box and continuous jumps from 5-40 cm (Veras 2023)",
}

_ACTIVITY_MODEL = {"jump": "jumping", "walk": "walking", "run": "walking/running", "other": "walking/running"}


def model_for_activity(activity: object) -> str:
    """Prediction model for an impact of ``activity`` (the Impacts ``activity`` column, docs/method.md).

    ``jump`` (a jump's landing) → ``"jumping"`` (Veras 2023); ``walk`` → ``"walking"`` (Veras 2020);
    ``run`` and ``other`` (including impacts outside sessions and the non-landing peaks of a jumps
    session) → ``"walking/running"`` (Veras 2022). [P: the mapping; the models are C-code]

    Examples
    --------
    >>> model_for_activity("jump"), model_for_activity("walk"), model_for_activity("run"), model_for_activity(None)
    ('jumping', 'walking', 'walking/running', 'walking/running')
    """
    return _ACTIVITY_MODEL.get(str(activity), "walking/running") if isinstance(activity, str) else "walking/running"


def model_for_kind(kind: object) -> str:
    """Prediction model for the impacts of a session of ``kind``: that of its activity
    (:data:`impactlab.schema.SESSION_KINDS`); a jumps session's landings (its other peaks use
    ``walking/running``).

    Examples
    --------
    >>> model_for_kind("jumps"), model_for_kind("brisk_walk"), model_for_kind("run"), model_for_kind(None)
    ('jumping', 'walking', 'walking/running', 'walking/running')
    """
    spec = SESSION_KINDS.get(kind) if isinstance(kind, str) else None
    return model_for_activity(spec.activity if spec is not None else None)


def _coefficients(table: Mapping[tuple[str, str, str], _Coef], model: str, placement: str, vector: str) -> _Coef:
    if model not in MODELS:
        raise ConfigError(f"unknown loading model {model!r}", key="model", hint=f"Use one of: {', '.join(MODELS)}")
    if vector not in ("vertical", "resultant"):
        raise ConfigError(f"unknown vector {vector!r}", key="vector", hint="Use 'vertical' or 'resultant'")
    try:
        return table[(model, placement, vector)]
    except KeyError:
        have = sorted({p for m, p, _ in table if m == model})
        raise ConfigError(
            f"the {model} model (Veras et al.) has no equation for a {placement!r} accelerometer",
            key="placement",
            hint=f"It was calibrated at: {', '.join(have)}. Choose one of those or another model",
        ) from None


def _evaluate(c: _Coef, x: np.ndarray, bm: np.ndarray) -> np.ndarray:
    b0, b1, b2, b3, b4 = c
    if b4 == 0.0:
        y: np.ndarray = b0 + b1 * x + b2 * bm + b3 * x * bm
    else:
        y = b0 + b1 * x + b2 * x**2 + b3 * bm + b4 * x * bm
    return y


def _check_mass(body_mass_kg: Any) -> np.ndarray:
    bm = np.asarray(body_mass_kg, dtype=np.float64)
    if not np.all(np.isfinite(bm)) or np.any(bm <= 0):
        raise ConfigError(
            f"body mass must be a positive number of kg, got {body_mass_kg!r}", key="body_mass_kg",
            hint="Pass --body-mass KG (e.g. --body-mass 70)",
        )
    return bm


def predict_grf(
    peak_acc_g: Any,
    body_mass_kg: Any,
    *,
    model: Model = "walking/running",
    placement: Placement = "hip",
    vector: Vector = "vertical",
) -> np.ndarray:
    """Peak ground reaction force (N) predicted from peak acceleration and body mass.

    Parameters
    ----------
    peak_acc_g : array_like
        Peak acceleration in g **with gravity included** (impactlab's ``peak_g + 1``).
    body_mass_kg : array_like
        Body mass in kg (broadcast against ``peak_acc_g``).
    model : {"walking", "walking/running", "jumping"}
        Veras et al. 2020 (walking, quadratic), 2022 (walking and running) or 2023 (jumping).
    placement : {"hip", "back", "ankle"}
        Accelerometer placement; the walking model has no ankle equation.
    vector : {"vertical", "resultant"}
        Which acceleration the peaks were found on.

    Returns
    -------
    numpy.ndarray
        Peak GRF in N, float64.

    Raises
    ------
    ConfigError
        Unknown model or vector, a placement the model lacks, or a body mass that is not positive.

    References
    ----------
    .. [1] Veras L et al. (2020) Osteoporos Int 31:1239–1250. doi:10.1007/s00198-020-05295-2
    .. [2] Veras L et al. (2022) Eur J Sport Sci. doi:10.1080/17461391.2022.2102437
    .. [3] Veras L et al. (2023) Sensors 23(4):2246. doi:10.3390/s23042246

    Examples
    --------
    >>> round(float(predict_grf(1.3, 70, model="walking")), 1)
    864.7
    """
    c = _coefficients(GRF_COEFFICIENTS, model, placement, vector)
    return np.asarray(_evaluate(c, np.asarray(peak_acc_g, np.float64), _check_mass(body_mass_kg)), np.float64)


def predict_lr(
    peak_rate_gps: Any,
    body_mass_kg: Any,
    *,
    model: Model = "walking/running",
    placement: Placement = "hip",
    vector: Vector = "vertical",
) -> np.ndarray:
    """Peak loading rate (N/s) predicted from peak acceleration rate and body mass.

    Parameters
    ----------
    peak_rate_gps : array_like
        Peak acceleration rate in g/s (centred derivative on the rising curve, Veras 2022 eq. 1–2;
        see :func:`impactlab.impacts.peak_rates`). NaN gives NaN.
    body_mass_kg : array_like
        Body mass in kg.
    model, placement, vector
        As in :func:`predict_grf`.

    Returns
    -------
    numpy.ndarray
        Peak loading rate in N/s, float64.

    Raises
    ------
    ConfigError
        As :func:`predict_grf`.

    References
    ----------
    .. [1] Veras L et al. (2020, 2022, 2023), as in :func:`predict_grf`.

    Examples
    --------
    >>> round(float(predict_lr(10, 70, model="jumping")), 1)
    38939.2
    """
    c = _coefficients(LR_COEFFICIENTS, model, placement, vector)
    return np.asarray(_evaluate(c, np.asarray(peak_rate_gps, np.float64), _check_mass(body_mass_kg)), np.float64)


def _walking_vertex(table: Mapping[tuple[str, str, str], _Coef], placement: str, vector: str, bm: np.ndarray) -> np.ndarray:
    """Input at which the quadratic walking equation turns over (beyond it, more acceleration
    predicts less force): −(b1 + b4·BM) / (2·b2). [D]"""
    key = ("walking", placement, vector)
    if key not in table:
        return np.full(bm.shape, np.inf)
    _, b1, b2, _, b4 = table[key]
    return -(b1 + b4 * bm) / (2.0 * b2)



def sine_rms_g(amplitude_g: Any, *, peak_to_peak: bool = False) -> np.ndarray:
    """RMS (g) of a sinusoid of peak amplitude ``amplitude_g`` (or of that peak-to-peak): A/√2. [D]

    Examples
    --------
    >>> round(float(sine_rms_g(0.3)), 2), round(float(sine_rms_g(0.2, peak_to_peak=True)), 2)
    (0.21, 0.07)
    """
    a = np.asarray(amplitude_g, dtype=np.float64)
    return (a / 2.0 if peak_to_peak else a) / math.sqrt(2.0)


def flight_time_s(jump_height_m: Any) -> np.ndarray:
    """Flight time (s) of a vertical jump of height ``h`` (m), take-off to landing: √(8h/g). [D]

    Examples
    --------
    >>> np.round(flight_time_s([0.05, 0.10, 0.15, 0.20]), 2).tolist()
    [0.2, 0.29, 0.35, 0.4]
    """
    h = np.asarray(jump_height_m, dtype=np.float64)
    return np.sqrt(8.0 * h / GRAVITY_MS2)


def fall_time_s(drop_height_m: Any) -> np.ndarray:
    """Free-fall time (s) of a drop from height ``h`` (m): √(2h/g). [D]"""
    h = np.asarray(drop_height_m, dtype=np.float64)
    return np.sqrt(2.0 * h / GRAVITY_MS2)


def landing_speed_ms(drop_height_m: Any) -> np.ndarray:
    """Landing speed (m/s) after a fall of ``h`` (m): √(2gh). [D]

    Examples
    --------
    >>> np.round(landing_speed_ms([0.05, 0.10, 0.15, 0.20]), 2).tolist()
    [0.99, 1.4, 1.72, 1.98]
    """
    h = np.asarray(drop_height_m, dtype=np.float64)
    return np.sqrt(2.0 * GRAVITY_MS2 * h)


def add_loading(
    impacts: pd.DataFrame,
    *,
    sessions: pd.DataFrame | None = None,
    body_mass_kg: float | None = None,
    vest_mass_kg: float | np.ndarray = 0.0,
    placement: Placement = "hip",
    vector: Vector = "vertical",
    range_note: bool = True,
) -> pd.DataFrame:
    """Add per-impact GRF and loading-rate columns to an Impacts table.

    Parameters
    ----------
    impacts : pandas.DataFrame
        Impacts table with ``peak_g`` (g above gravity), ``peak_rate_gps`` (g/s, optional),
        ``session_id`` and ``clipped``.
    sessions : pandas.DataFrame, optional
        Sessions table (``session_id``, ``kind``): vest walks add the vest mass; impacts without a
        session are flagged ``no_session``. The model of each impact comes from its ``activity``
        (:func:`model_for_activity`); an Impacts table without one takes the activity of its
        session's kind (every impact of a jumps session then counts as a landing).
    body_mass_kg : float, optional
        Body mass in kg. Without it the GRF/LR columns are NaN (the indices use the proxy).
    vest_mass_kg : float or numpy.ndarray, default 0
        Added to body mass (kg) for impacts in ``vest_walk`` sessions (extension, flagged ``vest``);
        an array gives one mass per impact (a vest that changes by plan phase).
    placement : {"hip", "back", "ankle"}
        Accelerometer placement.
    vector : {"vertical", "resultant"}
        The preset's vector (which coefficient set applies).
    range_note : bool
        Warn (DataQualityWarning) when predictions fall outside the calibration.

    Returns
    -------
    pandas.DataFrame
        A copy with these columns added:

        * ``model`` : str, ``walking`` | ``walking/running`` | ``jumping``.
        * ``load_mass_kg`` : float64, mass used (body + vest), NaN without body mass.
        * ``grf_n`` : float64, predicted peak GRF in N.
        * ``grf_bw`` : float64, the same in body weights (of the body mass, vest excluded).
        * ``lr_nps`` : float64, predicted peak loading rate in N/s (NaN without a rate).
        * ``outside_calibration`` : bool, the prediction extrapolates (see ``loading_flags``).
        * ``loading_flags`` : str, ``;``-separated: ``clipped`` (peak at the sensor range, a lower
          bound), ``beyond_walking_curve`` (peak past the turning point of the quadratic walking
          equation), ``rate_beyond_walking_curve`` (same for LR), ``negative`` (a negative
          prediction), ``vest`` (vest mass added: extension), ``no_session`` (model chosen by
          default, activity not classified).

    Raises
    ------
    ConfigError
        A placement a needed model lacks (``ankle`` with walking sessions) or a bad body mass.
    """
    out = impacts.copy()
    n = len(out)
    kinds = pd.Series([None] * n, dtype=object, index=out.index)
    if sessions is not None and len(sessions) and "session_id" in out.columns:
        kind_of = pd.Series(sessions["kind"].astype(str).to_numpy(), index=sessions["session_id"].astype("int64").to_numpy())
        sid = out["session_id"]
        has = sid.notna().to_numpy()
        if has.any():
            kinds[has] = sid[has].astype("int64").map(kind_of).to_numpy(dtype=object)
    no_session = kinds.isna().to_numpy()
    if "activity" in out.columns:
        activity = out["activity"].astype(object).to_numpy()
    else:
        act_of = {k: v.activity for k, v in SESSION_KINDS.items()}
        activity = kinds.map(act_of).fillna("other").to_numpy(dtype=object)
    model = pd.Series(activity, dtype=object).map(_ACTIVITY_MODEL).fillna("walking/running").to_numpy(dtype=object)
    out["model"] = pd.Series(model, index=out.index, dtype=object)
    acc = out["peak_g"].to_numpy(np.float64) + 1.0
    rate = out["peak_rate_gps"].to_numpy(np.float64) if "peak_rate_gps" in out.columns else np.full(n, np.nan)
    grf = np.full(n, np.nan)
    lr = np.full(n, np.nan)
    mass = np.full(n, np.nan)
    past = np.zeros(n, bool)
    past_rate = np.zeros(n, bool)
    neg = np.zeros(n, bool)
    is_vest = kinds.to_numpy() == "vest_walk"
    vest = np.broadcast_to(np.asarray(vest_mass_kg, dtype=np.float64), (n,))
    if body_mass_kg is not None:
        bm = float(_check_mass(body_mass_kg))
        if vest.size and (not np.isfinite(vest).all() or (vest < 0).any()):
            bad = vest[~np.isfinite(vest) | (vest < 0)][0]
            raise ConfigError(f"vest mass must be >= 0 kg, got {bad!r}", key="vest_mass_kg")
        mass[:] = bm
        mass[is_vest] += vest[is_vest]
        for m in MODELS:
            sel = model == m
            if not sel.any():
                continue
            grf[sel] = predict_grf(acc[sel], mass[sel], model=m, placement=placement, vector=vector)  # type: ignore[arg-type]
            lr[sel] = predict_lr(rate[sel], mass[sel], model=m, placement=placement, vector=vector)  # type: ignore[arg-type]
            if m == "walking":
                past[sel] = acc[sel] > _walking_vertex(GRF_COEFFICIENTS, placement, vector, mass[sel])
                past_rate[sel] = rate[sel] > _walking_vertex(LR_COEFFICIENTS, placement, vector, mass[sel])
        neg = (grf < 0) | (lr < 0)
    clipped = out["clipped"].to_numpy(bool) if "clipped" in out.columns else np.zeros(n, bool)
    outside = past | past_rate | neg | (clipped & (body_mass_kg is not None))
    text = np.full(n, "", dtype=object)
    for flag, cond in (("beyond_walking_curve", past), ("rate_beyond_walking_curve", past_rate), ("negative", neg),
                       ("clipped", clipped), ("vest", is_vest & (vest > 0)), ("no_session", no_session)):
        text = np.where(cond, text + flag + ";", text)
    out["load_mass_kg"] = mass
    out["grf_n"] = grf
    out["grf_bw"] = grf / (body_mass_kg * GRAVITY_MS2) if body_mass_kg is not None else np.full(n, np.nan)
    out["lr_nps"] = lr
    out["outside_calibration"] = outside
    out["loading_flags"] = pd.Series(text, index=out.index, dtype="string").str.removesuffix(";")
    if range_note and outside.any():
        warnings.warn(
            f"{int(outside.sum())} of {n} GRF/LR prediction(s) lie outside the equations' calibration "
            "(see the impacts' loading_flags); treat them as extrapolations",
            DataQualityWarning, stacklevel=2,
        )
    return out


