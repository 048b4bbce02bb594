"""Exercise sessions: jumps, runs, walks, brisk walks, vest walks and vibration-plate sessions (docs/method.md §6).

Sessions are found on the **native-rate** signal (a 30 Hz plate is gone once the signal is resampled to
the preset's 50 Hz), while impacts are counted at the preset's rate; the two meet at the end.

How each kind is found
----------------------
jumps
    A landing in the ``medium`` band or above (``jump_min_band``) after a flight phase (magnitude below 0.4 g for at least 80 ms,
    ending within 0.6 s before the peak; a heel drop or a stamp has no flight and is an impact, not a
    jump) counts on its own unless it lies in a regular rhythm of steps: at least 5 impacts
    within ±2 s of it, half of them regular (their intervals, or two-step strides, agree within 25 %). A landing inside such a
    rhythm (steps or hops) is judged with its bout: landings after a relaxed flight (below 0.6 g) less
    than 2 s apart form a bout, which is continuous jumping only when the median share of samples
    below 0.5 g in ±1.5 s around its landings reaches 0.375; otherwise its flights are running
    strides (including the first and last strides of a run) and none is a jump (docs/method.md §6.7, §6.8).
    Jumps less than 20 s apart form a set; sets less than 10 min apart form one jumps session, cut
    between two sets where another session lies in the gap. The flight time of a 5 cm jump is
    0.20 s (t = √(8h/g)), so 80 ms catches even small jumps; a drop from a box has free fall too.
run
    A periodic gait window (as walking, step band widened to 3.6 Hz) at 130 steps/min or more with
    at least 5 % of its samples below 0.5 g (flight phases), or at 150 steps/min or more, is running;
    running bouts last at least 20 s. Running is found before walking and is never walking. Running
    bouts less than 60 s apart with no other session between them (a stop at a crossing) are one
    running session: its duration is the elapsed time, pauses included, and its note gives the pauses
    and the moving time.
walk / brisk_walk
    The vertical signal is cut into 10 s windows. A window is walking when its detrended SD is at
    least 0.05 g, its dominant frequency between 0.5 and 5 Hz lies in the step band 1.2–2.6 Hz (72–156
    steps/min), and the step frequency and its harmonics hold at least half of the power in 0.5–5 Hz
    (a periodic gait, not jumps or fidgeting). Cadence = 60 × the step frequency (a zero-padded,
    Hann-windowed spectrum with parabolic interpolation, about ±1 step/min). Consecutive walking
    windows form a bout; bout edges are refined to the second; bouts less than 10 s apart merge; a
    bout lasting at least 60 s is kept. A bout whose median cadence is at least 100 steps/min is
    ``brisk_walk`` (Tudor-Locke et al. 2019: 100 steps/min is the heuristic threshold of moderate
    intensity, 3 METs), else ``walk``.
vest_walk
    A walking bout (brisk or not) that overlaps a ``vest`` marker: vests come from markers only.
vibration
    5 s windows whose spectrum has a narrow peak (± 0.6 Hz) at a plate frequency in 12–60 Hz, or at
    its alias when the sample rate is below twice the plate frequency (f_a = |f − fs·round(f/fs)|),
    above 5 Hz, holding at least 70 % of the power above 5 Hz and half of all power above 0.5 Hz (so
    the step harmonics of walking are not taken for a plate), with an RMS in that peak of at least
    0.05 g. At least 60 s of such windows (breaks under 10 s bridged) form a session that reports
    its frequency and RMS. Peaks inside a vibration session are **not counted as impacts**. A plate
    whose alias falls at or below 5 Hz (for example a 50 Hz plate sampled at 50 Hz, which aliases to
    0 Hz) cannot be seen: this is warned about when the plan names the plate frequency, and a
    ``vibration`` marker then stands in for detection.

One kind per moment
-------------------
Sessions never overlap: a moment claimed by two goes to jumps, then vibration, run, vest_walk and
walking; the lower one is cut around it (a piece shorter than its kind's minimum is dropped), so
every impact belongs to at most one session. Each impact's ``activity`` (walk, run, jump for a
jump's landing, other) comes from its session and chooses its force model.

Chunked equals whole
--------------------
Window features are computed on windows aligned to multiples of their length since the Unix epoch;
samples of a window that is not complete yet are held back until the next chunk, so each window sees
exactly the same samples whatever the chunking. Runs of low magnitude (flight candidates) carry across
chunk boundaries. Bouts and sessions are decided at the end from these small arrays, so the Sessions
table does not depend on how the input was split.

References
----------
.. [1] Tudor-Locke C et al. (2019) Walking cadence (steps/min) and intensity in 21–40 year olds:
   CADENCE-adults. IJBNPA 16:8. doi:10.1186/s12966-019-0769-6
.. [2] Hannam K et al. (2017) Osteoporos Int 28:1001–1011 (impact bands).
.. [3] Rubin C et al. (2004) J Bone Miner Res 19:343–351 (30 Hz, 0.2 g plate); Gusi N et al. (2006)
   BMC Musculoskelet Disord 7:92 (12.6 Hz side-alternating plate).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..config import DetectionConfig, SessionConfig
from ..daily import grouped_band_codes
from ..errors import ConfigError
from ..markers import as_markers
from ..recording import Recording, RecordingMeta
from ..schema import ACTIVITIES, BANDS, SESSION_KINDS, SESSIONS, coerce, empty
from ..signal import signal_of_interest
from ._common import _NS, PRIORITY, bridge_run_pauses, one_kind_per_moment, split_jump_sessions
from .gait import _GaitSessions, _Windows
from .jumps import _Airborne, _Flights, _JumpSessions
from .vibration import _VibrationSessions, alias_frequency, apparent_frequency_hz

__all__ = [
    "SessionConfig",
    "SessionDetector",
    "alias_frequency",
    "apparent_frequency_hz",
    "check_session_config",
    "find_sessions",
]


def check_session_config(cfg: SessionConfig) -> None:
    """Raise :class:`~impactlab.errors.ConfigError` (naming the key) when session settings contradict each other.

    Checked: jumps closer than ``set_gap_s`` are a set and sets closer than ``session_gap_s`` a
    session, so ``set_gap_s`` must not exceed ``session_gap_s``; a flight must fit its window
    (``flight_min_s`` < ``flight_window_s``); a bout's longest break must be shorter than the bout
    (``bout_max_break_s`` < ``bout_min_s``); ``walk_window_s`` is a whole multiple of
    ``vib_window_s``; the step and plate bands are ordered (low < high).

    Examples
    --------
    >>> check_session_config(SessionConfig())
    >>> check_session_config(SessionConfig(set_gap_s=900.0))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    impactlab.errors.ConfigError: sessions.set_gap_s: 900 s is longer than sessions.session_gap_s (600 s)...
    """
    def bad(key: str, what: str, hint: str) -> ConfigError:
        return ConfigError(what, key=f"sessions.{key}", hint=hint)

    if cfg.jump_min_band not in BANDS:
        raise bad("jump_min_band", f"{cfg.jump_min_band!r} is not a band", "Use 'low', 'medium' or 'high'")
    if cfg.set_gap_s > cfg.session_gap_s:
        raise bad("set_gap_s", f"{cfg.set_gap_s:g} s is longer than sessions.session_gap_s ({cfg.session_gap_s:g} s), "
                  "so a set could hold jumps that are in different sessions",
                  "Make set_gap_s at most session_gap_s")
    if not 0 < cfg.flight_min_s < cfg.flight_window_s:
        raise bad("flight_min_s", f"{cfg.flight_min_s:g} s must be positive and shorter than sessions.flight_window_s "
                  f"({cfg.flight_window_s:g} s)", "Lower flight_min_s or raise flight_window_s")
    if not 0 <= cfg.bout_max_break_s < min(cfg.bout_min_s, cfg.run_bout_min_s):
        raise bad("bout_max_break_s", f"{cfg.bout_max_break_s:g} s must be shorter than sessions.bout_min_s "
                  f"({cfg.bout_min_s:g} s) and sessions.run_bout_min_s ({cfg.run_bout_min_s:g} s)", "Lower bout_max_break_s")
    ratio = cfg.walk_window_s / cfg.vib_window_s if cfg.vib_window_s > 0 else 0.0
    if ratio < 1 or abs(ratio - round(ratio)) > 1e-9:
        raise bad("walk_window_s", f"{cfg.walk_window_s:g} s is not a whole multiple of sessions.vib_window_s "
                  f"({cfg.vib_window_s:g} s)", "Use e.g. walk_window_s = 10 and vib_window_s = 5")
    if cfg.bout_flight_max_g < cfg.flight_max_g:
        raise bad("bout_flight_max_g", f"{cfg.bout_flight_max_g:g} g is below sessions.flight_max_g ({cfg.flight_max_g:g} g): "
                  "the flight test inside a bout is the relaxed one", "Make bout_flight_max_g at least flight_max_g")
    for key in ("jump_bout_airborne", "run_airborne"):
        if not 0 < getattr(cfg, key) < 1:
            raise bad(key, f"{getattr(cfg, key):g} is not a share between 0 and 1", "Give e.g. 0.375")
    if cfg.run_min_spm > cfg.run_spm:
        raise bad("run_min_spm", f"{cfg.run_min_spm:g} steps/min is above sessions.run_spm ({cfg.run_spm:g})",
                  "Make run_min_spm at most run_spm")
    if cfg.run_max_hz * 60 < cfg.run_spm:
        raise bad("run_max_hz", f"{cfg.run_max_hz:g} Hz is below sessions.run_spm ({cfg.run_spm:g} steps/min)",
                  "Raise run_max_hz (e.g. 3.6)")
    if not 0 <= cfg.run_pause_max_s < cfg.session_gap_s:
        raise bad("run_pause_max_s", f"{cfg.run_pause_max_s:g} s must be at least 0 and shorter than sessions.session_gap_s "
                  f"({cfg.session_gap_s:g} s)", "Give e.g. 60 (0 keeps every running bout its own session)")
    for key in ("step_band_hz", "plate_band_hz"):
        lo, hi = getattr(cfg, key)
        if not 0 < lo < hi:
            raise bad(key, f"({lo:g}, {hi:g}) Hz is not an ordered band of positive frequencies", "Give (low, high) with low < high")


class SessionDetector(_VibrationSessions, _JumpSessions, _GaitSessions):
    """Stateful session finder: feed native-rate chunks with :meth:`update`, then :meth:`finish`.

    Parameters
    ----------
    meta : RecordingMeta
        ``sample_rate_hz`` (Hz, the native rate), ``vertical_axis``, ``timezone``.
    config : DetectionConfig, optional
        The impact preset (its grouped ``high`` band is the jump landing band).
    session_config : SessionConfig, optional
        Thresholds (docs/cli.md, Sessions).
    markers : Markers, DataFrame or path, optional
        Labelled periods (``vest``, ``jumps``, ``vibration``, ``walk``).
    plate_hz : float, optional
        The plate frequency named in the plan (``targets.vibration.frequency_hz``); used to report
        the true frequency of an aliased plate and to warn when it cannot be seen at this rate.

    Examples
    --------
    >>> from impactlab.simulate import Walk, simulate_recording
    >>> from impactlab.impacts import detect_impacts
    >>> rec = simulate_recording(duration_s=300, fs=50, walks=[Walk(20, 200, 110, 0.7)], seed=0)
    >>> s, _ = find_sessions(rec, detect_impacts(rec))
    >>> list(s["kind"]), round(float(s["duration_s"].iloc[0]))
    (['brisk_walk'], 180)
    """

    def __init__(
        self,
        meta: RecordingMeta,
        config: DetectionConfig = DetectionConfig(),
        session_config: SessionConfig = SessionConfig(),
        *,
        markers: Any = None,
        plate_hz: float | None = None,
    ) -> None:
        check_session_config(session_config)
        self.meta = meta
        self.config = config
        self.cfg = session_config
        self.fs = float(meta.sample_rate_hz)
        self.markers = as_markers(markers)
        self.markers = self.markers.resolve(meta.timezone) if self.markers is not None else None
        self.plate_hz = plate_hz
        gap_ns = config.gap_periods * _NS / self.fs
        self.flights = _Flights(session_config.flight_max_g, gap_ns)
        self.bout_flights = _Flights(session_config.bout_flight_max_g, gap_ns)
        self.airborne = _Airborne(session_config.airborne_g)
        self.windows = _Windows(self.fs, session_config)
        self.first_ns: int | None = None
        self.last_ns: int | None = None
        self.notes: list[str] = []

    def update(self, chunk: Recording | pd.DataFrame) -> None:
        """Add the next native-rate samples (in time order)."""
        data = chunk.data if isinstance(chunk, Recording) else chunk
        if not len(data):
            return
        t = data.index.as_unit("ns").asi8
        xyz = data[["x", "y", "z"]].to_numpy(dtype=np.float64)
        mag = np.sqrt(np.einsum("ij,ij->i", xyz, xyz))
        self.flights.update(t, mag)
        self.bout_flights.update(t, mag)
        self.airborne.update(t, mag)
        v = signal_of_interest(data, self.meta.vertical_axis, "vertical")
        self.windows.update(t, v)
        self.first_ns = int(t[0]) if self.first_ns is None else self.first_ns
        self.last_ns = int(t[-1])

    # ------------------------------------------------------------------------------------------
    def finish(self, impacts: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
        """Decide the sessions and mark the impacts.

        Parameters
        ----------
        impacts : pandas.DataFrame
            The recording's Impacts table (any rate).

        Returns
        -------
        tuple of (Sessions, Impacts, dict)
            The Sessions table; the impacts without those inside vibration sessions and with
            ``session_id`` set; and a summary (``markers``, ``excluded_impacts``, ``notes``,
            ``vibration_detectable``, ``settings``).
        """
        tz = self.meta.timezone
        feats = self.windows.finish()
        f_start, f_last = self.flights.finish()
        bout_flights = self.bout_flights.finish()
        markers = self.markers
        if markers is not None and self.first_ns is not None:
            markers, notes = markers.clip(self.first_ns, self.last_ns or self.first_ns, tz=tz)
            for n in notes:
                self._warn(n)
        rows: list[dict[str, Any]] = []
        detectable = self._check_plate()
        rows += self._vibration(feats, markers, detectable)
        rows += self._jumps(impacts, (f_start, f_last), bout_flights, self.airborne, markers)
        air = self.airborne.per_window(feats["id"], self.windows.win_ns) if feats else np.empty(0)
        rows += self._runs_and_walks(feats, markers, self._long_flights(f_start, f_last), air, self.jump_ns)
        rows = one_kind_per_moment(split_jump_sessions(rows), self._min_s())
        rows = bridge_run_pauses(rows, self.cfg.run_pause_max_s)
        vib_rows = [r for r in rows if r["kind"] == "vibration"]
        # impacts inside vibration sessions are not counted
        t_imp = impacts["time"].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy().astype("datetime64[ns]").astype(np.int64) \
            if len(impacts) else np.empty(0, np.int64)
        drop = np.zeros(t_imp.size, bool)
        for r in vib_rows:
            drop |= (t_imp >= r["_s"]) & (t_imp <= r["_e"])
        n_excl = int(drop.sum())
        if n_excl:
            self._warn(f"{self.meta.source}: {n_excl} peak(s) inside vibration-plate sessions are not counted as impacts")
        imp = impacts.loc[~drop].reset_index(drop=True)
        t_imp = t_imp[~drop]
        rows.sort(key=lambda r: (r["_s"], r["kind"]))
        sid = pd.array([pd.NA] * t_imp.size, dtype="Int64")
        codes = grouped_band_codes(imp, self.config) if len(imp) else np.empty(0, np.int64)
        # sessions do not overlap (one_kind_per_moment), so each impact falls in at most one
        order = sorted(range(len(rows)), key=lambda i: PRIORITY.get(rows[i]["kind"], 9))
        taken = np.zeros(t_imp.size, bool)
        act = np.full(t_imp.size, "other", dtype=object)
        for i in range(len(rows)):
            rows[i]["session_id"] = i + 1
        for i in order:
            r = rows[i]
            a, b = np.searchsorted(t_imp, r["_s"], "left"), np.searchsorted(t_imp, r["_e"], "right")
            sel = np.arange(a, b)
            sel = sel[~taken[sel]]
            taken[sel] = True
            sid[sel] = r["session_id"]
            kind_act = SESSION_KINDS[r["kind"]].activity
            if kind_act == "jump":  # a jumps session: its landings are jumps, its other peaks are not
                act[sel[np.isin(t_imp[sel], self.jump_ns)]] = "jump"
            else:
                act[sel] = kind_act
            c = codes[sel]
            r.update(n_impacts=int(sel.size), n_low=int((c == 0).sum()), n_medium=int((c == 1).sum()),
                     n_high=int((c == 2).sum()))
        imp = imp.assign(session_id=sid, activity=pd.Categorical(act, categories=list(ACTIVITIES)))
        sessions = self._frame(rows, tz)
        summary = {
            "markers": markers.to_dict() if markers is not None else [],
            "excluded_impacts": n_excl,
            "vibration_detectable": detectable,
            "notes": self.notes,
            "settings": self.cfg.to_dict(),
        }
        return sessions, imp, summary

    def _min_s(self) -> dict[str, float]:
        """Shortest piece (s) of each kind left when a session is cut around a higher-priority one."""
        c = self.cfg
        walk = c.bout_min_s - c.edge_tolerance_s
        return {"walk": walk, "brisk_walk": walk, "vest_walk": walk, "run": c.run_bout_min_s - c.edge_tolerance_s,
                "vibration": c.vib_min_s - c.edge_tolerance_s}

    def _frame(self, rows: list[dict[str, Any]], tz: str) -> pd.DataFrame:
        if not rows:
            out = empty(SESSIONS, tz=tz)
            out["apparent_hz"] = pd.Series([], dtype="float64")
            out["note"] = pd.Series([], dtype="string")
            return out

        def ts(ns: list[int]) -> pd.DatetimeIndex:
            return pd.DatetimeIndex(np.asarray(ns, np.int64).view("datetime64[ns]")).tz_localize("UTC").tz_convert(tz)

        s = [r["_s"] for r in rows]
        e = [r["_e"] for r in rows]
        df = pd.DataFrame({
            "session_id": [r["session_id"] for r in rows],
            "kind": [r["kind"] for r in rows],
            "start": ts(s), "end": ts(e),
            "duration_s": (np.asarray(e, np.float64) - np.asarray(s, np.float64)) / 1e9,
            "n_impacts": [r.get("n_impacts", 0) for r in rows],
            "n_low": [r.get("n_low", 0) for r in rows],
            "n_medium": [r.get("n_medium", 0) for r in rows],
            "n_high": [r.get("n_high", 0) for r in rows],
            "cadence_spm": [r.get("cadence_spm", np.nan) for r in rows],
            "frequency_hz": [r.get("frequency_hz", np.nan) for r in rows],
            "rms_g": [r.get("rms_g", np.nan) for r in rows],
            "n_sets": pd.array([r.get("n_sets") for r in rows], dtype="Int64"),
            "label_source": pd.array([r["label_source"] for r in rows], dtype="string"),
            "n_jumps": pd.array([r.get("n_jumps") for r in rows], dtype="Int64"),
            "apparent_hz": [r.get("apparent_hz", np.nan) for r in rows],
            "note": pd.array([r.get("note") or pd.NA for r in rows], dtype="string"),
        })
        return coerce(df, SESSIONS, tz=tz)




def find_sessions(
    rec: Recording,
    impacts: pd.DataFrame,
    *,
    config: DetectionConfig = DetectionConfig(),
    session_config: SessionConfig = SessionConfig(),
    markers: Any = None,
    plate_hz: float | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Find jumps, walks, brisk walks, vest walks and vibration-plate sessions in a recording.

    Parameters
    ----------
    rec : Recording
        The recording at its native rate (``x, y, z`` in g).
    impacts : pandas.DataFrame
        Its Impacts table (:func:`impactlab.detect_impacts`).
    config : DetectionConfig, optional
        The impact preset (band edges).
    session_config : SessionConfig, optional
        Session thresholds (see the module docstring).
    markers : Markers, DataFrame or path, optional
        Labelled periods; ``vest`` makes overlapping walking bouts ``vest_walk``.
    plate_hz : float, optional
        Plate frequency (Hz) from the plan, for the aliasing warning and the true frequency.

    Returns
    -------
    tuple of (pandas.DataFrame, pandas.DataFrame)
        The Sessions table (:mod:`impactlab.schema`, plus ``n_jumps``, ``apparent_hz`` and ``note``)
        and the Impacts table with ``session_id`` set and the peaks inside vibration sessions removed.

    Warns
    -----
    DataQualityWarning
        Aliasing, an undetectable plate, markers outside the recording or without a matching session,
        impacts removed inside vibration sessions.
    """
    det = SessionDetector(rec.meta, config, session_config, markers=markers, plate_hz=plate_hz)
    det.update(rec)
    sessions, imp, _ = det.finish(impacts)
    return sessions, imp
