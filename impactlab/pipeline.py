"""``analyze()``: readers → Recording → impacts → sessions → loading → daily load → plan check.

The orchestrator names its stages and calls them in that order (docs/architecture.md); nothing registers itself.
It consumes a recording chunk by chunk, so memory stays bounded whatever the length; a whole
in-memory :class:`Recording` is simply one chunk. Chunk-wise stages (impact detection, wear,
session features) see every chunk; the table stages run once on the finished tables.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._prefetch import prefetch
from ._private import open_private, write_private_text
from ._tables_json import _csv_frame
from ._tables_json import _jsonable as _jsonable  # re-exported: report and store import these from here
from ._tables_json import days_json as days_json
from ._tables_json import plan_check_json as plan_check_json
from ._version import __version__
from .config import AnalysisConfig, DetectionConfig, check_mass_kg
from .daily import daily_load, grouped_band_codes, weekly_summary
from .errors import ConfigError, DataError, DataQualityWarning
from .impacts import ImpactDetector
from .io._common import RecordingSource
from .loading import LoadingSettings, daily_loading, daily_loading_variants, impact_loading, plan_vest_schedule
from .markers import Markers
from .plan import Plan, check_plan
from .recording import Recording, RecordingMeta
from .schema import IMPACTS, coerce
from .sessions import SessionDetector
from .signal import StillWindows, plan_rate, signal_of_interest
from .wear import WearAccumulator, declared_still_periods

__all__ = ["Analysis", "analyze"]


@dataclass(frozen=True)
class Analysis:
    """Everything ``analyze`` found for one recording.

    Attributes
    ----------
    meta : RecordingMeta
        The recording's metadata.
    config : DetectionConfig
        Effective method preset (impact detection, bands, wear).
    impacts, sessions, daily : pandas.DataFrame
        The IMPACTS, SESSIONS and DAILY tables (:mod:`impactlab.schema`).
    plan_check : pandas.DataFrame or None
        PLAN_CHECK table when a plan was given.
    qc : dict
        Quality control: ``n_samples``, ``start``/``end`` (ISO-8601 local), ``gaps`` (count),
        ``gap_list``, ``clipped_samples``, ``wear_h``, ``valid_days``, ``vertical_still_median_g``,
        ``effective_rate_hz``, ``analysis_rate_hz``, ``warnings``.
    plan : Plan or None
        The plan checked.
    extra : dict
        Stage reports for the JSON and Info.json: ``sessions`` (markers used, notes), ``loading``
        (basis, models, notes) and what the reader added (e.g. ``calibration``).
    wear_blocks : pandas.DataFrame or None
        Wear per 15 min block (:meth:`impactlab.wear.WearAccumulator.blocks`: ``start_ns``, ``n``,
        ``wear_s``, ``nonwear``), the facts the client store keeps to rebuild days.
    settings : AnalysisConfig or None
        Every setting the analysis ran with (``settings.detection`` is ``config``).
    """

    meta: RecordingMeta
    config: DetectionConfig
    impacts: pd.DataFrame
    sessions: pd.DataFrame
    daily: pd.DataFrame
    qc: dict[str, Any]
    plan_check: pd.DataFrame | None = None
    plan: Plan | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    wear_blocks: pd.DataFrame | None = None
    settings: AnalysisConfig | None = None

    @property
    def weekly(self) -> dict[str, object]:
        """Mean per valid day × 7 for each band, with the number of valid days."""
        return weekly_summary(self.daily)

    def band_totals(self) -> dict[str, int]:
        """Impacts per (grouped) band and in total."""
        codes = grouped_band_codes(self.impacts, self.config) if len(self.impacts) else np.empty(0, int)
        res = {b: int((codes == k).sum()) for k, b in enumerate(("low", "medium", "high"))}
        res["total"] = len(self.impacts)
        return res

    def to_json_dict(self) -> dict[str, Any]:
        """The JSON contract of docs/cli.md (JSON output) (more keys may be added)."""
        q = self.qc
        days = days_json(self.daily)
        sessions = [{k: _jsonable(v) for k, v in r.items()} for r in self.sessions.to_dict("records")]
        plan_check = plan_check_json(self.plan_check) if self.plan_check is not None else []
        return {
            "impactlab_version": __version__,
            "recording": {
                "source": self.meta.source, "device": self.meta.device,
                "sample_rate_hz": float(self.meta.sample_rate_hz), "start": q.get("start"), "end": q.get("end"),
                "n_samples": int(q.get("n_samples", 0)), "timezone": self.meta.timezone,
                "vertical_axis": self.meta.vertical_axis, "serial": self.meta.serial,
            },
            "qc": {
                "wear_h": round(float(q.get("wear_h", 0.0)), 3), "valid_days": int(q.get("valid_days", 0)),
                "gaps": int(q.get("gaps", 0)), "clipped_samples": int(q.get("clipped_samples", 0)),
                "clipped_impacts": int(self.impacts["clipped"].sum()) if len(self.impacts) else 0,
                "gap_list": q.get("gap_list", []), "vertical_still_median_g": q.get("vertical_still_median_g"),
                "analysis_rate_hz": q.get("analysis_rate_hz"), "warnings": q.get("warnings", []),
                **{k: _jsonable(q[k]) for k in ("range_g", "range_source", "impossible_samples",
                                                "declared_still_h", "tilt_deg", "comparable_to_hannam") if k in q},
            },
            "impacts": self.band_totals(),
            **({"high_band": {"comparable_to_hannam": False, "reason": q["comparable_to_hannam"]["reason"]}}
               if not q.get("comparable_to_hannam", {}).get("high", True) else {}),
            "weekly": self.weekly,
            "sessions": sessions,
            "days": days,
            "plan_check": plan_check,
            "method": {"preset": self.config.name, "conventions": self.config.conventions},
            **({"loading": _jsonable(self.extra["loading"])} if "loading" in self.extra else {}),
            **({"markers": _jsonable(self.extra["sessions"].get("markers", []))} if "sessions" in self.extra else {}),
        }

    def info(self) -> dict[str, Any]:
        """The ``-Info.json`` content: version, metadata, effective settings, QC, weekly figures."""
        meta = self.meta.to_dict()
        return {
            "impactlab_version": __version__,
            "recording": {k: _jsonable(v) for k, v in meta.items()},
            "settings": _jsonable(self.config.to_dict()),
            "qc": _jsonable(self.qc),
            "weekly": self.weekly,
            "impacts": self.band_totals(),
            **({"plan": self.plan.to_dict()} if self.plan is not None else {}),
            **_jsonable(self.extra),
        }

    def write(self, out_dir: str | Path, stem: str | None = None) -> list[Path]:
        """Write ``<stem>-Impacts.csv``, ``-Sessions.csv``, ``-Daily.csv``, ``-PlanCheck.csv`` (with a
        plan) and ``-Info.json`` into ``out_dir``, readable by their owner only (0600); return the paths."""
        out = Path(out_dir)
        try:
            out.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise ConfigError("is a file, not a folder for the outputs", path=out,
                              hint="Give a folder (it is created when missing), or move the file away") from None
        except OSError as err:
            raise ConfigError(f"cannot create the output folder ({err.strerror or type(err).__name__})", path=out,
                              hint="Check the path and that you may write there") from None
        stem = stem or Path(self.meta.source).name.split(".")[0]
        files = []
        tables = {"Impacts": self.impacts, "Sessions": self.sessions, "Daily": self.daily}
        if self.plan_check is not None:
            tables["PlanCheck"] = self.plan_check
        for name, df in tables.items():
            p = out / f"{stem}-{name}.csv"
            with open_private(p) as fh:  # 0600, like the reports made from them
                _csv_frame(df).to_csv(fh, index=False)
            files.append(p)
        files.append(write_private_text(out / f"{stem}-Info.json", json.dumps(self.info(), indent=2) + "\n"))
        return files


_RANGES = (2.0, 4.0, 8.0, 16.0)  #: usual accelerometer ranges (± g) looked for as plateaus
_CLIP = 0.995  #: a sample within 0.5 % of the range sits on its plateau (as impacts.py)
_OVER = 1.001  #: beyond 0.1 % over the range a sample contradicts it


class _Engine:
    """Streams chunks through the chunk-wise stages; ``finish`` runs the table stages and builds the Analysis."""

    def __init__(self, meta: RecordingMeta, settings: AnalysisConfig, notes: list[str], *,
                 plan: Plan | None, markers: Markers | pd.DataFrame | None, body_mass_kg: float | None) -> None:
        config = settings.detection
        self.file_range_g = meta.range_g  # what the file declares
        if settings.range_g is not None:
            meta = replace(meta, range_g=float(settings.range_g))
        self.range_known = meta.range_g is not None
        self.max_abs = 0.0
        self.over = 0  # samples beyond the known range
        self.over_row: int | None = None
        self.plateau = {r: 0 for r in _RANGES}  # samples on a ±r g plateau (identical values at ±r)
        self.plateau_t: dict[float, list[np.ndarray]] = {r: [] for r in _RANGES}
        self.meta = meta
        # beyond this |value| (g) a sample is impossible: twice the range, or 200 g (the largest
        # wearable accelerometer range, e.g. ADXL377) when the range is unknown
        self.impossible_g = 2.0 * meta.range_g if meta.range_g else 200.0
        self.impossible = 0
        self.impossible_max = 0.0
        self.impossible_row: int | None = None
        self.rows_in = 0
        self.settings = settings
        self.config = config
        self.plan = plan
        self.detector = ImpactDetector(meta, config)
        self.wear = WearAccumulator(config.wear, meta.sample_rate_hz)
        plate = plan.targets.vibration.frequency_hz if plan is not None and plan.targets.vibration is not None else None
        self.sessions = SessionDetector(meta, config, settings.sessions, markers=markers, plate_hz=plate)
        vest = settings.loading.vest_mass_kg
        schedule = plan_vest_schedule(plan) if vest is None and plan is not None else ()  # the phase in force each day
        self.loading = LoadingSettings(body_mass_kg=body_mass_kg, vest_mass_kg=float(vest or 0.0),
                                       placement=settings.loading.placement, m=settings.loading.dss_exponent,
                                       include_extrapolated=settings.loading.include_extrapolated,
                                       vest_schedule=schedule)
        self.parts: list[pd.DataFrame] = []
        self.still = StillWindows(max(2, int(round(meta.sample_rate_hz))))  # 1 s windows at rest
        self.tilt_deg: float | None = None
        self.n = 0
        self.first_ns: int | None = None
        self.last_ns: int | None = None
        self.first_row: np.ndarray | None = None
        self.varies = False
        self.warnings: list[str] = list(notes)
        for note in notes:
            warnings.warn(note, DataQualityWarning, stacklevel=3)
        self.source_extra: dict[str, Any] = {}  # the reader's report, read at finish (declared still spans)
        self._gap_t0: list[np.ndarray] = []  # last sample time before each gap (UTC ns)
        self._gap_t1: list[np.ndarray] = []  # first sample time after it
        self._gap_v: list[np.ndarray] = []  # value (g) of the last sample before it
        self._last_xyz: np.ndarray | None = None
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="impactlab-stages")

    def update(self, chunk: Recording) -> None:
        data = chunk.data
        if not len(data):
            return
        xyz = data[["x", "y", "z"]].to_numpy()
        rows0 = self.rows_in
        self.rows_in += len(data)
        a = np.abs(xyz)
        a_max = float(a.max())  # NaN if any value is NaN, inf if any is infinite: one pass checks both
        if not np.isfinite(a_max):
            k0 = int(np.flatnonzero(~np.isfinite(xyz).all(axis=1))[0])
            raise DataError(f"sample {rows0 + k0 + 1} (counted from 1; {data.index[k0]}) holds a non-finite value "
                            f"({xyz[k0].tolist()})",
                            path=self.meta.source, hint="Remove or repair the row and run again")
        bound = self.impossible_g
        bad = (a > bound).any(axis=1) if a_max > bound else None
        absxyz = a if bad is None else None  # reused by _note_range while no row is dropped
        if bad is not None:
            bad_idx = np.flatnonzero(bad)
            self.impossible += int(bad_idx.size)
            self.impossible_max = max(self.impossible_max, float(np.abs(xyz[bad_idx]).max()))
            if self.impossible_row is None:
                self.impossible_row = rows0 + int(bad_idx[0])
            # runs of at most 2 samples are a short gap, bridged on the sample grid by linear
            # interpolation (dropping them would put a step in the filtered signal: +0.2 g peaks
            # on hip-raw.csv); longer runs are dropped and are a gap like any other
            d = np.diff(np.r_[0, bad.astype(np.int8), 0])
            a, b = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
            short = np.zeros(bad.size, bool)
            for s0, s1 in zip(a[(b - a) <= 2], b[(b - a) <= 2], strict=True):  # per run, not per sample
                short[s0:s1] = True
            good = np.flatnonzero(~bad)
            if good.size:
                xyz = xyz.copy()
                fill = np.flatnonzero(short)
                for c in range(3):
                    xyz[fill, c] = np.interp(fill, good, xyz[good, c])
                data = data.copy()
                data[["x", "y", "z"]] = xyz
            keep = ~bad | short if good.size else ~bad
            data = data[keep]
            xyz = xyz[keep]
            chunk = Recording(data, chunk.meta, validate=False)
            if not len(data):
                return
        idx = data.index
        t = (idx if idx.unit == "ns" else idx.as_unit("ns")).asi8
        flags = ~data["wear"].to_numpy(dtype=bool) if "wear" in data.columns else None
        # wear and the session features run on the other core while impacts are detected here; each
        # stage keeps its own state and sees the chunks in order, so the results are those of one thread
        side = self._pool.submit(self._side_stages, chunk, t, xyz, flags)
        try:
            self.parts.append(self.detector.update(data))
            if self.first_row is None:
                self.first_row = xyz[0].copy()
            if not self.varies:  # elementwise compare + flat any: numpy's fast path, unlike axis=0 min/max
                self.varies = bool((xyz != self.first_row).any())
            self.still.update(t, signal_of_interest(data, self.meta.vertical_axis, "vertical"), xyz)
            self._note_gaps(t, xyz)
            self._note_range(t, xyz, absxyz)
        finally:
            err = side.exception()  # waits: the side stages finish this chunk before the next (bounded memory)
        if err is not None:
            raise err
        self.first_ns = int(t[0]) if self.first_ns is None else self.first_ns
        self.last_ns = int(t[-1])
        self.n += len(data)

    def _side_stages(self, chunk: Recording, t: np.ndarray, xyz: np.ndarray, flags: np.ndarray | None) -> None:
        self.wear.update(t, xyz, flags)
        self.sessions.update(chunk)

    def close(self) -> None:
        """Stop the side-stage thread."""
        self._pool.shutdown(wait=True)

    def _note_gaps(self, t: np.ndarray, xyz: np.ndarray) -> None:
        """Remember where samples stop and resume (with the last value) for declared still spans."""
        step = 1.5e9 / self.meta.sample_rate_hz
        if self.last_ns is not None and self._last_xyz is not None and t[0] - self.last_ns > step:
            self._gap_t0.append(np.array([self.last_ns], np.int64))
            self._gap_t1.append(t[:1].astype(np.int64))
            self._gap_v.append(self._last_xyz[None, :].astype(np.float64))
        k = np.flatnonzero(np.diff(t) > step)
        if k.size:
            self._gap_t0.append(t[k].astype(np.int64))
            self._gap_t1.append(t[k + 1].astype(np.int64))
            self._gap_v.append(xyz[k].astype(np.float64))
        self._last_xyz = xyz[-1].copy()

    def _note_range(self, t: np.ndarray, xyz: np.ndarray, absxyz: np.ndarray | None = None) -> None:
        """Largest |value|, samples beyond the known range, and plateaus at the usual ranges."""
        a = np.abs(xyz) if absxyz is None else absxyz
        m = float(a.max())
        self.max_abs = max(self.max_abs, m)
        if self.meta.range_g is not None and m > self.meta.range_g * _OVER:
            over = (a > self.meta.range_g * _OVER).any(axis=1)
            if self.over_row is None:
                self.over_row = self.n + int(np.argmax(over))
            self.over += int(over.sum())
        if self.range_known:
            return
        for r in _RANGES:
            if m < r * _CLIP:
                break
            on = ((a >= r * _CLIP) & (a <= r * _OVER)).any(axis=1)
            self.plateau[r] += int(on.sum())
            self.plateau_t[r].append(t[on])

    def _range_stage(self, impacts: pd.DataFrame) -> tuple[pd.DataFrame, int]:
        """Warnings on the range (given, declared, contradicted, inferred); clipped samples, impacts flagged."""
        src, meta = self.meta.source, self.meta
        clipped = self.detector.clipped_samples
        given = self.settings.range_g
        if given is not None and self.file_range_g is not None and abs(given - self.file_range_g) > 1e-9:
            self.warn(f"{src}: --range-g {given:g} overrides the file's declared range ±{self.file_range_g:g} g")
        if self.over and meta.range_g is not None:
            who = f"--range-g {given:g}" if given is not None else f"the file's declared range ±{meta.range_g:g} g"
            also = (f" (the file declares ±{self.file_range_g:g} g)"
                    if given is not None and self.file_range_g is not None else "")
            self.warn(f"{src}: {self.over} sample(s) exceed {who}{also}, up to {self.max_abs:g} g, the first at "
                      f"sample {(self.over_row or 0) + 1} (counted from 1, header lines not counted); check the range setting")
        if not self.range_known:
            found = [r for r in _RANGES if self.plateau[r] >= 2 and self.max_abs <= r * _OVER]
            if found:
                r = found[0]
                ts = np.concatenate(self.plateau_t[r]) if self.plateau_t[r] else np.empty(0, np.int64)
                clipped = int(ts.size)
                if len(impacts) and ts.size:
                    it = impacts["time"].dt.tz_convert("UTC").astype("int64").to_numpy()
                    win = int(self.config.distance_samples(self.detector.fs_out) / self.detector.fs_out * 1e9)
                    k = np.searchsorted(ts, it)
                    near = np.minimum(np.abs(it - ts[np.clip(k, 0, ts.size - 1)]),
                                      np.abs(it - ts[np.clip(k - 1, 0, ts.size - 1)])) <= win
                    impacts = impacts.assign(clipped=impacts["clipped"].to_numpy(bool) | near)
                self.meta = replace(meta, range_g=float(r))
                self.warn(f"{src}: the sensor range is not in the file; inferred ±{r:g} g from {clipped} sample(s) "
                          f"on a plateau at ±{r:g} g, which are clipped (give --range-g to set it); "
                          f"{int(impacts['clipped'].sum()) if len(impacts) else 0} impact(s) touch them")
        return impacts, clipped

    def _fill_declared_still(self) -> float:
        """Add the reader-declared still spans to wear as still data at the last value; return their hours."""
        s, e = declared_still_periods(self.source_extra)
        if not s.size or self.last_ns is None or self._last_xyz is None:
            return 0.0
        dt = int(round(1e9 / self.meta.sample_rate_hz))
        g0 = np.concatenate([*self._gap_t0, np.array([self.last_ns], np.int64)])
        g1 = np.concatenate([*self._gap_t1, np.array([np.iinfo(np.int64).max], np.int64)])
        gv = np.vstack([*self._gap_v, self._last_xyz[None, :].astype(np.float64)])
        a = g0 + dt  # first missing sample time
        lo = np.searchsorted(e, a, side="right")  # first period ending after the gap starts
        hi = np.searchsorted(s, g1, side="left")  # periods starting before the gap ends
        k = np.maximum(hi - lo, 0)
        gi = np.repeat(np.arange(g0.size), k)
        pi = np.repeat(lo, k) + (np.arange(gi.size) - np.repeat(np.cumsum(k) - k, k))
        fa = np.maximum(s[pi], a[gi])
        fb = np.minimum(e[pi], g1[gi])
        ok = fb > fa
        self.wear.add_still(fa[ok], fb[ok], gv[gi[ok]])
        return float((fb[ok] - fa[ok]).sum() / 3.6e12)

    def warn(self, msg: str) -> None:
        self.warnings.append(msg)
        warnings.warn(msg, DataQualityWarning, stacklevel=4)

    def finish(self) -> Analysis:
        meta, cfg = self.meta, self.config
        src = meta.source
        if self.n == 0 or self.first_ns is None or self.last_ns is None:
            raise DataError("the recording has no samples", path=src, hint="Check the export")
        first_ns, last_ns = self.first_ns, self.last_ns
        if self.n > 1 and not self.varies and self.first_row is not None:
            raise DataError(
                f"every sample has the same value on all three axes ({self.first_row[0]:g}, {self.first_row[1]:g}, "
                f"{self.first_row[2]:g} g)",
                path=src, hint="The sensor recorded nothing; check the device and export again",
            )
        self.parts.append(self.detector.flush())
        impacts = pd.concat([p for p in self.parts if len(p)] or [self.parts[-1]], ignore_index=True)
        impacts = coerce(impacts, {**IMPACTS, "band": impacts["band"].dtype}, tz=meta.timezone)
        still_h = self._fill_declared_still()
        blocks = self.wear.blocks()
        wear_h = float(blocks["wear_s"].sum() / 3600.0) if len(blocks) else 0.0
        fs_out = plan_rate(meta.sample_rate_hz, cfg)[0]
        comparable: dict[str, Any] = {"high": True, "reason": None}
        if cfg.target_rate_hz and meta.sample_rate_hz < cfg.target_rate_hz * 0.99:
            skipped = cfg.lowpass_hz is not None and cfg.lowpass_hz >= 0.5 * meta.sample_rate_hz
            lp = (f"the {cfg.lowpass_hz:g} Hz low-pass was skipped (at or above the Nyquist frequency "
                  f"{0.5 * meta.sample_rate_hz:g} Hz)" if skipped else "the low-pass was applied")
            reason = (f"sample rate {meta.sample_rate_hz:g} Hz is below the preset's {cfg.target_rate_hz:g} Hz: "
                      "short impact peaks are undersampled")
            comparable = {"high": False, "reason": reason}
            self.warn(
                f"{src}: {reason}; impacts are counted at the native rate and {lp}. Measured on impactr/hip-raw.csv "
                "resampled from 100 to 30 Hz: high band 25 -> 3 (-88 %), medium 69 -> 65, low 115 -> 135 (+17 %). "
                "High-band counts are not comparable with Hannam's norms (comparable_to_hannam: false)"
            )
        gaps = self.detector.gaps
        gap_list = [
            {"row": r, "start": _iso(a, meta.timezone), "end": _iso(b, meta.timezone), "duration_s": round((b - a) / 1e9, 3)}
            for r, a, b in gaps
        ]
        if gaps:
            longest = max(gaps, key=lambda g: g[2] - g[1])
            self.warn(
                f"{src}: {len(gaps)} gap(s) in the samples, the longest {(longest[2] - longest[1]) / 1e9:.1f} s from "
                f"{_iso(longest[1], meta.timezone)} (sample {longest[0]}); gaps are not filled, days with gaps have less wear time"
            )
        if self.impossible:
            self.warn(
                f"{src}: {self.impossible} sample(s) beyond ±{self.impossible_g:g} g (up to {self.impossible_max:g} g, "
                f"the first at sample {(self.impossible_row or 0) + 1}, counted from 1 without header lines) cannot be "
                f"accelerations of a worn sensor "
                f"({'twice its range' if self.range_known else 'no wearable sensor reads beyond 200 g'}); their values "
                "were dropped (runs of 1-2 samples bridged by linear interpolation, longer runs left as gaps), so "
                "they are never counted as impacts"
            )
        impacts, clipped_samples = self._range_stage(impacts)
        meta = self.meta
        n_clip = int(impacts["clipped"].sum())
        if n_clip and self.range_known:
            self.warn(
                f"{src}: {n_clip} impact(s) reached the sensor range (±{meta.range_g:g} g); "
                "their heights are lower bounds"
            )
        med = self._still_median(blocks)
        if med is not None and not 0.9 <= med <= 1.1:
            hint = ""
            col = meta.vertical_axis.lstrip("+-")
            if med < -0.5:
                flip = ("+" if meta.vertical_axis.startswith("-") else "-") + col
                hint = f" The axis looks upside down: try --vertical-axis {flip}."
            elif abs(med) < 0.5:
                hint = " The vertical may be another axis: check --vertical-axis."
            else:
                hint = " The sensor may be tilted on the belt."
            self.warn(
                f"{src}: at rest the vertical axis ({meta.vertical_axis}) reads {med:.2f} g, outside 0.9-1.1 g.{hint}"
            )
        if self.tilt_deg is not None and self.tilt_deg > 15.0 and (med is None or med > 0.5):
            self.warn(
                f"{src}: at rest the vertical axis ({meta.vertical_axis}) is {self.tilt_deg:.0f} degrees from gravity "
                "(over 15); the vertical signal then reads a cos-scaled mix of vertical and horizontal acceleration, "
                "which moves impacts between bands (a 15-30 degree tilt of a hip run: high -19 % to +9 %, "
                "low -36 % to +122 %). " + ("Impacts were counted along the measured gravity (--align-gravity)"
                                            if cfg.align_gravity and cfg.vector == "vertical" else
                                            "Straighten the sensor on the belt, or count along gravity with --align-gravity")
            )
        sessions, impacts, session_info = self.sessions.finish(impacts)
        self.warnings.extend(session_info["notes"])
        impacts, sessions, loading_info = impact_loading(impacts, sessions, tz=meta.timezone, detection=cfg,
                                                         settings=self.loading)
        daily = daily_load(
            impacts, blocks, tz=meta.timezone, first_ns=first_ns, last_ns=last_ns, config=cfg,
            sessions=sessions, comparable_to_hannam=bool(comparable["high"]),
        )
        daily = daily_loading(daily, impacts, tz=meta.timezone, m=self.loading.m,
                              include_extrapolated=self.loading.include_extrapolated)
        loading_info["days"] = daily_loading_variants(daily, impacts, tz=meta.timezone, m=self.loading.m)
        valid_days = int(daily["valid"].sum())
        if valid_days == 0:
            self.warn(
                f"{src}: no day has {cfg.wear.valid_day_h:g} h of wear (most: {daily['wear_h'].max():.1f} h); "
                "daily counts are shown but weekly figures need valid days"
            )
        span = (last_ns - first_ns) / 1e9 - sum((b - a) / 1e9 for _, a, b in gaps)
        qc = {
            "n_samples": self.n,
            "start": _iso(self.first_ns, meta.timezone),
            "end": _iso(self.last_ns, meta.timezone),
            "gaps": len(gaps),
            "gap_list": gap_list,
            "clipped_samples": clipped_samples,
            "impossible_samples": self.impossible,
            "range_g": meta.range_g,
            "range_source": ("option" if self.settings.range_g is not None else "file" if self.range_known
                             else "inferred" if meta.range_g is not None else None),
            "wear_h": wear_h,
            **({"declared_still_h": round(still_h, 4)} if still_h else {}),
            "valid_days": valid_days,
            "vertical_still_median_g": None if med is None else round(med, 4),
            "tilt_deg": None if self.tilt_deg is None else round(self.tilt_deg, 2),
            "effective_rate_hz": round((self.n - 1 - len(gaps)) / span, 4) if span > 0 else None,
            "analysis_rate_hz": fs_out,
            "comparable_to_hannam": comparable,
            "warnings": self.warnings,
        }
        return Analysis(meta=meta, config=cfg, impacts=impacts, sessions=sessions, daily=daily, qc=qc,
                        extra={"sessions": session_info, "loading": loading_info}, wear_blocks=blocks,
                        settings=self.settings)

    def _still_median(self, blocks: pd.DataFrame) -> float | None:
        t, v, gv = self.still.windows()
        if not t.size:
            return None
        if len(blocks):
            sub = self.wear.sub_ns * 2
            worn = set(blocks.loc[~blocks["nonwear"], "start_ns"].to_numpy().tolist())
            keep = np.isin((t // sub) * sub, np.fromiter(worn, np.int64, len(worn)))
            t, v, gv = t[keep], v[keep], gv[keep]
        if v.size < 30:
            return None
        # tilt: angle between the (signed) vertical axis and the median gravity vector at rest
        g = np.median(gv, axis=0)
        axis = self.meta.vertical_axis
        e = np.zeros(3)
        e["xyz".index(axis.lstrip("+-"))] = -1.0 if axis.startswith("-") else 1.0
        norm = float(np.linalg.norm(g))
        if norm > 0.5:
            self.tilt_deg = float(np.degrees(np.arccos(np.clip(float(e @ g) / norm, -1.0, 1.0))))
        return float(np.median(v))


def _iso(t_ns: int | None, tz: str) -> str | None:
    if t_ns is None:
        return None
    return str(pd.Timestamp(int(t_ns), tz="UTC").tz_convert(tz).isoformat())


def _plan_stage(res: Analysis, plan: Plan) -> Analysis:
    """Check each day (and ISO week) of ``res`` against ``plan``."""
    skip = [] if res.extra.get("sessions", {}).get("vibration_detectable", True) else ["vibration"]
    if plan.timezone and plan.timezone != res.meta.timezone:
        msg = (f"{plan.path or plan.name}: the plan's time zone {plan.timezone} differs from the recording's "
               f"{res.meta.timezone}; days are cut at the recording's midnight (give --tz {plan.timezone} to use the plan's)")
        warnings.warn(msg, DataQualityWarning, stacklevel=3)
        res.qc.setdefault("warnings", []).append(msg)
    return replace(res, plan_check=check_plan(res.daily, plan, unobservable=skip), plan=plan)


def analyze(
    recording: Recording | RecordingSource | Iterable[Recording],
    *,
    config: AnalysisConfig | DetectionConfig | None = None,
    plan: Plan | None = None,
    markers: Markers | pd.DataFrame | None = None,
    body_mass_kg: float | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Analysis:
    """Analyse a recording: impacts by band, sessions, loading indices, wear, days and the plan check.

    The stages run in this order: impact detection and wear (chunk by chunk) → sessions
    (:mod:`impactlab.sessions`) → loading indices (:mod:`impactlab.loading`) → daily load
    (:mod:`impactlab.daily`) → plan check (:mod:`impactlab.plan`, with a plan).

    Parameters
    ----------
    recording : Recording, RecordingSource or iterable of Recording
        A whole recording, a source opened with :func:`impactlab.io.open_recording` (read in
        chunks, bounded memory), or chunks of one recording in time order.
    config : AnalysisConfig or DetectionConfig, optional
        Every setting (:class:`~impactlab.config.AnalysisConfig`), or just the method preset
        (:func:`impactlab.presets.get_preset`; default ``hannam2017``).
    plan : Plan, optional
        Exercise plan to check each day against (:func:`impactlab.plan.load_plan`).
    markers : Markers or pandas.DataFrame, optional
        Labelled periods (``start``, ``end``, ``label``), e.g. a weighted vest.
    body_mass_kg : float, optional
        Body mass in kg (10-300, :data:`~impactlab.config.BODY_MASS_RANGE_KG`; else ConfigError):
        turns on the GRF and loading-rate prediction; without it the indices use peak acceleration
        (g) as the stimulus.
    progress : callable, optional
        Called as ``progress(done, total)`` with the samples processed so far and the expected
        total (0 when unknown).

    Returns
    -------
    Analysis
        Tables, QC and settings.

    Examples
    --------
    >>> from impactlab.simulate import simulate_recording
    >>> rec = simulate_recording(duration_s=120, jumps=[(30.0, 2.0), (60.0, 1.2)], seed=0)
    >>> analyze(rec).band_totals()
    {'low': 0, 'medium': 1, 'high': 1, 'total': 2}
    """
    settings = AnalysisConfig.of(config)
    body_mass_kg = check_mass_kg(body_mass_kg, "body", key="body_mass_kg")
    notes: list[str] = []
    source_extra: dict[str, Any] = {}
    total = 0
    if isinstance(recording, Recording):
        meta = recording.meta
        chunks: Iterator[Recording] = iter([recording])
        total = len(recording)
    elif isinstance(recording, RecordingSource):
        meta = recording.meta
        notes = list(recording.notes)
        source_extra = dict(recording.extra)
        chunks = prefetch(recording.chunks())  # the next chunk is read while this one is analysed
        total = int(recording.n_rows_hint or 0)
    else:
        it = iter(recording)
        try:
            first = next(it)
        except StopIteration:
            raise DataError("no chunks to analyse") from None
        meta = first.meta

        def _chain() -> Iterator[Recording]:
            yield first
            yield from it

        chunks = _chain()
    engine = _Engine(meta, settings, notes, plan=plan, markers=markers, body_mass_kg=body_mass_kg)
    done = 0
    try:
        for chunk in chunks:
            engine.update(chunk)
            done += len(chunk)
            if progress is not None:
                progress(done, total)
        if isinstance(recording, RecordingSource):
            engine.source_extra = dict(recording.extra)  # filled while reading (e.g. idle-sleep periods)
        res = engine.finish()
    finally:  # an error in a stage stops the threads now, not when the traceback is freed
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
        engine.close()
    if source_extra:
        res.extra.update(source_extra)
    if plan is not None:
        res = _plan_stage(res, plan)
    return res
