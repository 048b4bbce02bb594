"""Columns and dtypes of every table impactlab produces (docs/cli.md, Tables), defined once.

Each table is valid even when empty: :func:`empty` builds one with the right dtypes and
:func:`check_frame` verifies a producer's output. Batch tables are these tables with leading
``recording_id`` and ``subject_id`` columns.

IMPACTS (one row per impact, sorted by time)
    ``time`` datetime64[ns, tz] time of the peak sample; ``peak_g`` float64, filtered vertical
    acceleration minus 1 g (g above gravity); ``band`` ordered categorical (preset bands, for
    ``hannam2017`` ``low < medium < high``); ``sample`` int64 row position in the Recording of the
    sample nearest the peak; ``session_id`` Int64 (``<NA>`` outside sessions); ``clipped`` bool, a
    sample within ±2 rows reached the sensor's range; ``activity`` categorical {walk, run, jump,
    other}: what the body was doing at the impact (``jump`` only for a jump's landing, ``walk``/``run``
    inside walking/running sessions, ``other`` elsewhere, including the impacts of a jumps session
    that are not landings; set by :mod:`impactlab.sessions`, it chooses the force model);
    ``peak_rate_gps`` float64, peak acceleration
    rate in g/s (NaN for a one-sample rise). Added by :mod:`impactlab.loading` (after ``analyze``):
    ``model`` str, ``load_mass_kg``, ``grf_n``, ``grf_bw``, ``lr_nps`` float64 (NaN without body
    mass), ``outside_calibration`` bool, ``loading_flags`` string.
SESSIONS
    ``session_id`` int64; ``kind`` categorical {jumps, brisk_walk, walk, run, vest_walk, vibration};
    ``start``/``end`` datetime64[ns, tz]; ``duration_s`` float64; ``n_impacts``, ``n_low``,
    ``n_medium``, ``n_high`` int64; ``cadence_spm`` float64 (walks, steps/min); ``frequency_hz``,
    ``rms_g`` float64 (vibration); ``n_sets`` Int64 (jumps); ``label_source`` string (``detected``,
    ``markers:<file>``, ``sensor``); ``n_jumps``
    Int64 (jumps sessions: landings after a flight phase).
DAILY (one row per local calendar day)
    ``date`` datetime64[ns] local midnight; ``wear_h`` float64 hours; ``valid`` bool (≥ 10 h wear);
    ``n_low``, ``n_medium``, ``n_high``, ``n_jumps``, ``jump_sets`` int64; ``brisk_walk_min``,
    ``walk_min``, ``run_min``, ``vest_walk_min``, ``vibration_min`` float64 minutes (one column per
    :data:`SESSION_KINDS` entry). Added by
    :mod:`impactlab.loading`: ``dss``, ``oi`` float64, ``peak_grf_bw_max`` float64 (NaN without body
    mass), ``load_basis`` str (``grf_bw`` | ``acc_g``); Sessions likewise get ``dss``, ``oi``,
    ``peak_grf_bw``, ``load_basis``. ``comparable_to_hannam`` bool: False when a recording of the
    day was sampled below the preset's rate, so its high band is undersampled (the reason is in the
    JSON's ``qc.comparable_to_hannam``); the store keeps it per day (False when any recording of the
    day was not comparable). A table without it (made before it, or by hand) gets True
    (:data:`DEFAULTS`).
PLAN_CHECK (long)
    ``date`` datetime64[ns] (weekly targets: the ISO week's Monday); ``target`` string; ``period``
    ``day``|``week``; ``required``, ``achieved`` float64; ``unit`` ``count``|``min``; ``met`` boolean
    (``<NA>`` unless the status is ``met`` or ``not met``); ``status`` ``met``|``not met``|``no data``
    (the day is too short to judge, or the recording cannot show the target)|``not scheduled`` (a day
    target on a weekday outside its ``days``: ``required`` NaN, ``achieved`` what was done anyway);
    ``no data`` and ``not scheduled`` are left out of adherence (:mod:`impactlab.report.adherence`);
    ``partial`` bool (a week row whose week has fewer than 7 valid days: its total counts the valid
    days only and it is judged all the same).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .errors import DataError

__all__ = [
    "ACTIVITIES",
    "BANDS",
    "DAILY",
    "DEFAULTS",
    "IMPACTS",
    "PLAN_CHECK",
    "SESSIONS",
    "SESSION_KINDS",
    "SessionKind",
    "band_dtype",
    "check_frame",
    "empty",
]

BANDS = ("low", "medium", "high")
#: Per-impact activity (Impacts ``activity``), which chooses the GRF/loading-rate model.
ACTIVITIES = ("walk", "run", "jump", "other")



@dataclass(frozen=True)
class SessionKind:
    """What one session kind adds to the DailyLoad table and the plan (one entry of :data:`SESSION_KINDS`).

    Attributes
    ----------
    column : str
        The DailyLoad column the kind fills: a count for ``jumps`` (``n_jumps``), minutes otherwise.
    unit : {"count", "min"}
        Unit of ``column``: ``count`` sums ``n_jumps`` of the kind's sessions per day, ``min`` sums
        their ``duration_s`` / 60 (minutes) per day, both by the session's start day.
    target : str or None
        The plan target (``[targets.<name>]``) that checks ``column``, or None when no target exists.
    extra : tuple of str
        Further DailyLoad columns the kind fills (``jump_sets`` for jumps: sets summed per day).
    short : str
        Column heading in terminal tables (at most 5 characters).
    noun : str
        What a number of the column counts, in a sentence ("47 more *jumps*", "12 more *min of running*").
    what : str
        One-line description of the kind (plan listings, legends).
    activity : str
        The ``activity`` (:data:`ACTIVITIES`) of the session's impacts; for ``jumps`` only its
        landings, its other impacts are ``other``.
    """

    column: str
    unit: str
    target: str | None
    extra: tuple[str, ...] = ()
    short: str = ""
    noun: str = ""
    what: str = ""
    activity: str = "other"


#: Session kinds, in the order of the Sessions ``kind`` categories, each with its DailyLoad column,
#: unit and plan target. This is the one place that pipeline, daily, store, batch, report and CLI take
#: the per-kind columns from: adding a kind is its detector (``impactlab.sessions``), one entry here
#: (and its DAILY column below), and tests.
SESSION_KINDS: dict[str, SessionKind] = {
    "jumps": SessionKind("n_jumps", "count", "jumps", ("jump_sets",), "jumps", "jumps",
                         "jumps (landing after a flight phase)", "jump"),
    "brisk_walk": SessionKind("brisk_walk_min", "min", "brisk_walk", (), "brisk", "min of brisk walking",
                              "brisk walking (>= 100 steps/min)", "walk"),
    "walk": SessionKind("walk_min", "min", None, (), "walk", "min of walking", "walking (< 100 steps/min)", "walk"),
    "run": SessionKind("run_min", "min", "run", (), "run", "min of running",
                       "running (periodic gait with flight phases, about 130 steps/min or more)", "run"),
    "vest_walk": SessionKind("vest_walk_min", "min", "vest_walk", (), "vest", "min of vest walking",
                             "walking with a weighted vest (from markers)", "walk"),
    "vibration": SessionKind("vibration_min", "min", "vibration", (), "vibr.", "min on the plate", "vibration plate", "other"),
}
_TZ = "datetime64[ns, tz]"


def band_dtype(names: tuple[str, ...] = BANDS) -> pd.CategoricalDtype:
    """Ordered categorical dtype of the impact bands."""
    return pd.CategoricalDtype(list(names), ordered=True)


IMPACTS: dict[str, object] = {
    "time": _TZ,
    "peak_g": "float64",
    "band": band_dtype(),
    "sample": "int64",
    "session_id": "Int64",
    "clipped": "bool",
    "activity": pd.CategoricalDtype(list(ACTIVITIES)),
}
SESSIONS: dict[str, object] = {
    "session_id": "int64",
    "kind": pd.CategoricalDtype(list(SESSION_KINDS)),
    "start": _TZ,
    "end": _TZ,
    "duration_s": "float64",
    "n_impacts": "int64",
    "n_low": "int64",
    "n_medium": "int64",
    "n_high": "int64",
    "cadence_spm": "float64",
    "frequency_hz": "float64",
    "rms_g": "float64",
    "n_sets": "Int64",
    "label_source": "string",
    "n_jumps": "Int64",
}
DAILY: dict[str, object] = {
    "date": "datetime64[ns]",
    "wear_h": "float64",
    "valid": "bool",
    "n_low": "int64",
    "n_medium": "int64",
    "n_high": "int64",
    "n_jumps": "int64",
    "jump_sets": "int64",
    "brisk_walk_min": "float64",
    "walk_min": "float64",
    "run_min": "float64",
    "vest_walk_min": "float64",
    "vibration_min": "float64",
    "comparable_to_hannam": "bool",
}
#: Values :func:`coerce` gives a column a table lacks (tables written before the column existed, or
#: built by hand): a day is comparable with Hannam's norms unless a low sample rate says otherwise.
DEFAULTS: dict[str, object] = {"comparable_to_hannam": True}
PLAN_CHECK: dict[str, object] = {
    "date": "datetime64[ns]",
    "target": "string",
    "period": "string",
    "required": "float64",
    "achieved": "float64",
    "unit": "string",
    "met": "boolean",
    "status": "string",
    "partial": "bool",
}


def _resolve(dtype: object, tz: str) -> object:
    if dtype == _TZ:
        return pd.DatetimeTZDtype("ns", tz)
    return dtype


def empty(schema: Mapping[str, object], *, tz: str = "UTC") -> pd.DataFrame:
    """An empty table with the columns and dtypes of ``schema``."""
    return pd.DataFrame({c: pd.Series([], dtype=_resolve(d, tz)) for c, d in schema.items()})


def coerce(df: pd.DataFrame, schema: Mapping[str, object], *, tz: str = "UTC") -> pd.DataFrame:
    """Return ``df`` with the schema's columns first, cast to their dtypes (extra columns kept after).

    A column in :data:`DEFAULTS` that ``df`` lacks is filled with its default; any other missing
    column raises :class:`DataError`.
    """
    out = {}
    for c, d in schema.items():
        if c not in df.columns and c in DEFAULTS:
            df = df.assign(**{c: DEFAULTS[c]})
        if c not in df.columns:
            raise DataError(f"table is missing column {c!r}")
        want = _resolve(d, tz)
        s = df[c]
        if isinstance(want, pd.DatetimeTZDtype) and isinstance(s.dtype, pd.DatetimeTZDtype):
            s = s.dt.tz_convert(tz).astype(want)
        elif str(s.dtype) != str(want):
            s = s.astype(want)
        out[c] = s
    res = pd.DataFrame(out)
    extra = [c for c in df.columns if c not in schema]
    for c in extra:
        res[c] = df[c].to_numpy()
    return res.reset_index(drop=True)


def check_frame(df: pd.DataFrame, schema: Mapping[str, object]) -> None:
    """Raise :class:`DataError` unless ``df`` has the schema's columns with its dtypes."""
    for c, d in schema.items():
        if c not in df.columns:
            raise DataError(f"table is missing column {c!r}")
        got = df[c].dtype
        if d == _TZ:
            ok = isinstance(got, pd.DatetimeTZDtype) and got.unit == "ns"
        elif isinstance(d, pd.CategoricalDtype):
            ok = isinstance(got, pd.CategoricalDtype) and list(got.categories) == list(d.categories)
        else:
            ok = str(got) == str(np.dtype(d) if d in ("int64", "float64", "bool") else d)
        if not ok:
            raise DataError(f"column {c!r} has dtype {got}, expected {d}")
