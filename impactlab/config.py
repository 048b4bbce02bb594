"""Method settings as frozen dataclasses, each number with its source (docs/method.md).

Tags in the field documentation: **[C]** confirmed in the cited paper, **[P]** a project decision
(see ``docs/method.md`` and ``../shared/research/science.md``).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Literal

from .errors import ConfigError

__all__ = [
    "BODY_MASS_RANGE_KG",
    "VEST_MASS_RANGE_KG",
    "check_mass_kg",
    "AnalysisConfig",
    "DetectionConfig",
    "LoadingConfig",
    "SessionConfig",
    "WearConfig",
]


@dataclass(frozen=True, slots=True)
class WearConfig:
    """Non-wear detection and the valid-day rule.

    Non-wear after van Hees et al. (2013) PLoS One 8(4):e61691, as implemented in GGIR and impactr:
    a 60 min window stepped by 15 min; a 15 min block is non-wear when the 60 min window centred on
    it has, on at least 2 axes, SD < 13 mg and range < 50 mg. [C-code: GGIR / impactr defaults]

    Attributes
    ----------
    window_min : float
        Window length in minutes (60).
    step_min : float
        Step (block) length in minutes (15).
    sd_g : float
        SD threshold per axis in g (0.013).
    range_g : float
        Range threshold per axis in g (0.050).
    min_axes : int
        Axes that must be below both thresholds (2).
    valid_day_h : float
        Wear hours that make a day valid (10 h, the usual convention, e.g. Kocherginsky 2017;
        not confirmed for Hannam 2017). [P]
    islands : bool
        Second, plausibility stage as GGIR's ``g.weardec`` applies it by default (van Hees et al.
        2011 PLoS One 6(7):e22922): a wear period between two non-wear periods becomes non-wear
        when it lasts < 6 h and < 30 % of the non-wear around it, or < 3 h and < 80 %, or (in the
        last 24 h) < 3 h after > 1 h of non-wear; two further passes (True). GGIR's edge
        correction (first/last 3 h) is not applied.
    """

    window_min: float = 60.0
    step_min: float = 15.0
    sd_g: float = 0.013
    range_g: float = 0.050
    min_axes: int = 2
    valid_day_h: float = 10.0
    islands: bool = True


@dataclass(frozen=True, slots=True)
class DetectionConfig:
    """Impact detection settings (a method preset).

    The default is the ``hannam2017`` preset: Hannam K et al. (2017) Osteoporos Int 28:1001–1011,
    "y-axis peaks ... sampling frequency 50 Hz ... classified as low (0.5–1.0 g), medium
    (1.0–1.5 g) or higher (≥ 1.5 g)", g above gravity (Hartley A et al. 2018, J Gerontol A 73:652).

    Attributes
    ----------
    name : str
        Preset name, written into every output.
    target_rate_hz : float or None
        Resample faster input to this rate (Hz) with an anti-aliased polyphase resampler before
        filtering. 50 Hz is Hannam's rate [C]; resampling faster input is [P] (peak heights grow
        with the sampling rate). ``None`` keeps the native rate.
    lowpass_hz : float
        Butterworth low-pass cutoff in Hz (20 Hz, the setting of Veras et al. 2020/2022 [C]; Hannam's
        own filter could not be read [P]). Not applied when the rate is ≤ 2 × the cutoff.
    filter_order : int
        Butterworth order (4), applied forward and backward (zero phase).
    vector : {"vertical", "resultant"}
        Signal whose peaks are counted: the signed vertical axis, or the magnitude of x, y, z.
    min_height_g : float
        Lowest peak counted, in g above gravity (0.5 g, the floor of Hannam's low band [C]).
    min_distance_s : float
        Minimum spacing between counted peaks in s; within it the higher peak wins (0.25 s [P],
        allows 240 steps/min and removes double peaks within one stance).
    band_edges_g : tuple of float
        Lower edges of the bands in g above gravity; the last band is open above.
    band_names : tuple of str
        Band names, same length as ``band_edges_g``.
    grouped_bands : tuple of (str, float) or None
        For presets with fine bands: (name, lower edge) of the low/medium/high groups reported in
        summaries.
    conventions : str
        What about the preset is unverified, echoed in reports.
    block_s : float
        Processing block in seconds (memory bound; results do not depend on it).
    filter_edges : {"odd", "zero"}
        How the zero-phase filter treats the ends of a contiguous segment. ``"odd"`` (default):
        ``scipy.signal.sosfiltfilt``'s odd extension with steady-state initial conditions.
        ``"zero"``: as R ``signal::filtfilt`` (used by impactr): zero initial state at the start
        and 2·(order + 1) zeros appended at the end. Only samples within about 0.3 s of a
        segment's ends differ. [C-code for R's; the choice per preset is P]
    overlap_s : float
        Context on each side of a block, trimmed after zero-phase filtering (2 s; the transient of
        the 20 Hz low-pass decays within a few samples, so blockwise equals whole to < 1e-9 g).
    gap_periods : float
        A step in time longer than this many nominal sample periods is a gap (2.5).
    align_gravity : bool
        Count peaks along the gravity direction measured in the latest still 1 s window instead of
        the declared vertical axis (``--align-gravity``; :class:`impactlab.signal.GravityAligner`).
        Off by default: Hannam's method reads the device's y axis [P]. No effect on ``"resultant"``.
    """

    name: str = "hannam2017"
    target_rate_hz: float | None = 50.0
    lowpass_hz: float = 20.0
    filter_order: int = 4
    vector: Literal["vertical", "resultant"] = "vertical"
    min_height_g: float = 0.5
    min_distance_s: float = 0.25
    band_edges_g: tuple[float, ...] = (0.5, 1.0, 1.5)
    band_names: tuple[str, ...] = ("low", "medium", "high")
    grouped_bands: tuple[tuple[str, float], ...] | None = None
    conventions: str = (
        "Bands and 50 Hz from Hannam 2017; filter (order-4 20 Hz zero-phase Butterworth), "
        "peak rule (find_peaks, >= 0.5 g, >= 0.25 s apart) and wear rules (van Hees, >= 10 h/day) "
        "are project decisions: Hannam's Methods could not be verified."
    )
    filter_edges: Literal["odd", "zero"] = "odd"
    block_s: float = 600.0
    overlap_s: float = 2.0
    gap_periods: float = 2.5
    align_gravity: bool = False
    wear: WearConfig = field(default_factory=WearConfig)

    def __post_init__(self) -> None:
        if len(self.band_edges_g) != len(self.band_names):
            raise ConfigError("band_edges_g and band_names differ in length", key="band_edges_g")
        if list(self.band_edges_g) != sorted(self.band_edges_g):
            raise ConfigError("band edges must increase", key="band_edges_g")
        if self.min_distance_s <= 0 or self.block_s <= 4 * self.overlap_s:
            raise ConfigError("min_distance_s must be > 0 and block_s > 4 x overlap_s", key="block_s")
        if self.filter_edges not in ("odd", "zero"):
            raise ConfigError(f"filter_edges must be 'odd' or 'zero', got {self.filter_edges!r}", key="filter_edges")
        if self.vector not in ("vertical", "resultant"):
            raise ConfigError(f"vector must be 'vertical' or 'resultant', got {self.vector!r}", key="vector")

    def distance_samples(self, fs: float) -> int:
        """Minimum peak spacing in samples at rate ``fs`` (Hz): ``ceil(min_distance_s * fs)``."""
        return max(1, math.ceil(self.min_distance_s * fs - 1e-9))

    def replace(self, **changes: object) -> DetectionConfig:
        """Return a copy with ``changes`` applied."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    def to_dict(self) -> dict[str, object]:
        """Settings as a JSON-ready dict."""
        return dataclasses.asdict(self)


@dataclass(frozen=True, slots=True)
class SessionConfig:
    """Settings of session detection (docs/cli.md, Sessions). [P] = project decision, [C] = cited.

    Attributes
    ----------
    flight_max_g : float
        Magnitude below which the body is in free fall (0.4 g) [P].
    flight_min_s : float
        Shortest flight phase (0.08 s; a 5 cm jump flies 0.20 s, science.md §7) [P].
    flight_window_s : float
        The flight must end within this time before the landing peak (0.6 s) [P].
    jump_min_band : str
        Lowest band of a jump landing: ``"medium"`` (≥ 1.0 g above gravity, about 2 g of total
        acceleration). A gentle jump lands at 2-2.5 g; requiring the high band missed 1 jump in 10 of
        the SisFall D19 and UMAFall hopping trials, while running is kept out by the step rhythm, not
        by the band [P, measured: docs/method.md §6.8].
    gait_window_s : float
        Half-width (s) of the neighbourhood of a landing in which the step rhythm is read (2 s) [P].
    gait_min_impacts : int
        A landing with at least this many impacts (itself included) within ``gait_window_s`` lies in a
        rhythmic bout of steps or hops (5: at least 75 per minute) [P].
    gait_regular_share : float
        ... and at least this share of them are regular steps (0.5): an impact is regular when the
        intervals before and after it, or the two-step strides ending at it and after it, differ by at
        most ``gait_interval_tolerance`` of the longer one (strides: left and right steps often differ).
        A countermovement jump gives a push-off, a landing and a recoil at uneven intervals, so two
        jumps two seconds apart are not a rhythm, while strides (even with a missed step) are [P,
        measured on SisFall D19 jumps against D03/D04 jogging].
    gait_interval_tolerance : float
        Relative difference of consecutive impact intervals still counted as one rhythm (0.25) [P].
    bout_flight_max_g : float
        Inside a rhythmic bout the flight test is relaxed to a magnitude below this (0.6 g: in a
        trouser pocket the thigh's rotation keeps flight at 0.2-0.5 g) [P, measured on UMAFall].
    airborne_g : float
        Magnitude below which a sample counts towards the airborne share (0.5 g) [P].
    airborne_window_s : float
        Half-width (s) of the window around a landing over which the airborne share is taken (1.5 s) [P].
    jump_bout_airborne : float
        A rhythmic bout whose median airborne share reaches this is continuous jumping; below it, it is
        running or walking and its flights are strides, not jumps (0.375; measured hopping 0.44-0.53,
        jogging at most 0.31 on the development trials; hopping 0.37-0.56, jogging at most 0.34 on 145
        further trials, docs/method.md §6.8: a thin margin) [P].
    set_gap_s : float
        Jumps closer than this (s) are one set (20 s) [P].
    session_gap_s : float
        Sets closer than this (s) are one session (600 s) [P].
    walk_window_s : float
        Cadence window (10 s); a multiple of ``vib_window_s``.
    step_band_hz : tuple of float
        Step frequencies of walking (1.2–2.6 Hz = 72–156 steps/min) [P].
    walk_min_sd_g : float
        Least vertical SD of a walking window (0.05 g) [P].
    walk_periodicity : float
        Least share of 0.5–5 Hz power at the step frequency and its harmonics (0.5) [P].
    brisk_spm : float
        Brisk walking cadence, steps/min (100: Tudor-Locke 2019, moderate intensity) [C].
    run_max_hz : float
        Highest step frequency of running (3.6 Hz = 216 steps/min; elite sprinters reach about
        4.5 Hz) [P].
    run_airborne : float
        A periodic gait window at ``run_min_spm`` or more with at least this share of samples below
        ``airborne_g`` has flight phases: running (0.05; measured walking at most 0.044, jogging at
        least 0.064 on the development trials, docs/method.md) [P].
    run_min_spm : float
        Least cadence of running with flight (130 steps/min: impactr's hip walk dips below 0.5 g at
        126 steps/min; jogging on the development trials runs at 136 or more) [P].
    run_spm : float
        A periodic gait window at or above this cadence is running even when its flights do not show
        at the sensor (150 steps/min; walking above 140 is race walking) [P].
    run_bout_min_s : float
        Shortest running bout (20 s: interval efforts of 30 s are running; a gait this fast with
        flight is not incidental) [P].
    run_pause_max_s : float
        Running bouts less than this apart (s), with no other session between them, are one running
        session whose duration is its elapsed time, pauses included (60 s: a wait at a signalised
        crossing; pedestrian delays above 60 s are the worst service level of the Highway Capacity
        Manual; Troiano et al. 2008 allow 1-2 min interruptions inside activity bouts; and a pause this
        short cannot hold a walking bout of ``bout_min_s``). 0 keeps every bout its own session [P].
    bout_min_s : float
        Shortest walking bout (60 s) [P].
    bout_max_break_s : float
        Longest break inside a bout (< 10 s) [P].
    vib_window_s : float
        Vibration spectrum window (5 s) [P].
    plate_band_hz : tuple of float
        Plate frequencies looked for (12–60 Hz; Gusi 12.6 Hz, Rubin 30 Hz) [C for the examples].
    vib_min_hz : float
        Apparent frequencies at or below this are not separable from movement (5 Hz) [P].
    vib_power_fraction : float
        Share of the power above 5 Hz in the narrow peak (0.7) [P].
    vib_total_fraction : float
        Share of all power above 0.5 Hz in the narrow peak (0.5) [P].
    vib_min_rms_g : float
        Least RMS of the plate oscillation (0.05 g; a 0.2 g peak-to-peak LIV plate is 0.07 g RMS) [P].
    vib_min_s : float
        Shortest vibration session (60 s) [P].
    edge_tolerance_s : float
        Bout and session edges are found to about a second; a bout this much shorter than the
        minimum still counts (2 s) [P].
    """

    flight_max_g: float = 0.4
    flight_min_s: float = 0.08
    flight_window_s: float = 0.6
    jump_min_band: str = "medium"
    gait_window_s: float = 2.0
    gait_min_impacts: int = 5
    gait_regular_share: float = 0.5
    gait_interval_tolerance: float = 0.25
    bout_flight_max_g: float = 0.6
    airborne_g: float = 0.5
    airborne_window_s: float = 1.5
    jump_bout_airborne: float = 0.375
    set_gap_s: float = 20.0
    session_gap_s: float = 600.0
    walk_window_s: float = 10.0
    step_band_hz: tuple[float, float] = (1.2, 2.6)
    walk_min_sd_g: float = 0.05
    walk_periodicity: float = 0.5
    brisk_spm: float = 100.0
    run_max_hz: float = 3.6
    run_airborne: float = 0.05
    run_min_spm: float = 130.0
    run_spm: float = 150.0
    run_bout_min_s: float = 20.0
    run_pause_max_s: float = 60.0
    bout_min_s: float = 60.0
    bout_max_break_s: float = 10.0
    vib_window_s: float = 5.0
    plate_band_hz: tuple[float, float] = (12.0, 60.0)
    vib_min_hz: float = 5.0
    vib_power_fraction: float = 0.7
    vib_total_fraction: float = 0.5
    vib_min_rms_g: float = 0.05
    vib_min_s: float = 60.0
    edge_tolerance_s: float = 2.0

    def to_dict(self) -> dict[str, Any]:
        """Settings as a JSON-ready dict."""
        return dataclasses.asdict(self)


#: Exponent m of the daily stress stimulus (Carter & Beaupré; Whalen et al. 1988 use m = 4).
DSS_EXPONENT = 4.0
#: Placements the Veras et al. equations were calibrated for.
PLACEMENTS = ("hip", "back", "ankle")
#: Plausible body mass (kg, inclusive): a young child to the heaviest adults; outside it is a typo [P].
#: A plausibility check, not the calibration range of the force equations. Checked for ``--body-mass``,
#: the ``body_mass_kg`` column of a batch subjects CSV, ``analyze(body_mass_kg=...)`` and a store client.
BODY_MASS_RANGE_KG: tuple[float, float] = (10.0, 300.0)
#: Plausible weighted-vest mass (kg, inclusive): commercial vests weigh up to about 40 kg [P].
#: Checked for ``--vest-mass``, a plan's ``vest_mass_kg`` and :class:`LoadingConfig`.
VEST_MASS_RANGE_KG: tuple[float, float] = (0.0, 50.0)


def check_mass_kg(value: float | None, kind: Literal["body", "vest"], *, key: str) -> float | None:
    """Return ``value`` (kg) as a float, or raise :class:`~impactlab.errors.ConfigError` naming ``key``.

    Parameters
    ----------
    value : float or None
        A body or vest mass in kg; None (not given) passes through.
    kind : {"body", "vest"}
        Which range applies: :data:`BODY_MASS_RANGE_KG` or :data:`VEST_MASS_RANGE_KG` (inclusive).
    key : str
        The setting's name in the message (e.g. ``body_mass_kg``).

    Examples
    --------
    >>> check_mass_kg(68, "body", key="body_mass_kg")
    68.0
    >>> check_mass_kg(680, "body", key="body_mass_kg")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    impactlab.errors.ConfigError: body_mass_kg: 680 kg is outside the plausible body mass of 10-300 kg...
    """
    if value is None:
        return None
    lo, hi = BODY_MASS_RANGE_KG if kind == "body" else VEST_MASS_RANGE_KG
    try:
        kg = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{value!r} is not a mass in kg", key=key,
                          hint=f"Give the {kind} mass as a number of kg ({lo:g}-{hi:g})") from None
    if not lo <= kg <= hi:  # NaN fails too
        raise ConfigError(f"{kg:g} kg is outside the plausible {kind} mass of {lo:g}-{hi:g} kg", key=key,
                          hint=f"Give the {kind} mass in kg (not pounds or grams)")
    return kg


@dataclass(frozen=True, slots=True)
class LoadingConfig:
    """Settings of the loading stage (GRF, loading rate, DSS, OI; docs/method.md).

    Attributes
    ----------
    vest_mass_kg : float or None
        Weighted-vest mass (kg) added to body mass for impacts in ``vest_walk`` sessions (an
        extension: Newton's law, never validated by Veras et al. [P]). ``None`` takes the plan's
        ``vest_mass_kg`` when a plan is given, else 0.
    placement : {"hip", "back", "ankle"}
        Accelerometer placement for the Veras et al. equations (impactlab records at the hip).
    dss_exponent : float
        Daily stress stimulus exponent m (4) [C: Carter/Whalen].
    include_extrapolated : bool
        Keep the predictions marked ``outside_calibration`` in the DSS and OI (default False: they
        are left out, and Info.json gives the indices both ways) [P].
    """

    vest_mass_kg: float | None = None
    placement: str = "hip"
    dss_exponent: float = DSS_EXPONENT
    include_extrapolated: bool = False

    def __post_init__(self) -> None:
        check_mass_kg(self.vest_mass_kg, "vest", key="loading.vest_mass_kg")
        if self.placement not in PLACEMENTS:
            raise ConfigError(f"unknown placement {self.placement!r}", key="placement",
                              hint=f"Use one of: {', '.join(PLACEMENTS)}")

    def to_dict(self) -> dict[str, Any]:
        """Settings as a JSON-ready dict."""
        return dataclasses.asdict(self)


@dataclass(frozen=True, slots=True)
class AnalysisConfig:
    """Every setting of :func:`impactlab.analyze`: the method preset and the later stages.

    Attributes
    ----------
    detection : DetectionConfig
        The method preset (impact detection, bands, wear); see :mod:`impactlab.presets`.
    sessions : SessionConfig
        Session detection thresholds (docs/cli.md, Sessions).
    loading : LoadingConfig
        Loading-index settings (docs/method.md).
    range_g : float or None
        Sensor range (± g) given by the user (``--range-g``); overrides the file's. None: the
        file's, else inferred from plateaus of identical values at ±2/4/8/16 g.

    Examples
    --------
    >>> AnalysisConfig().detection.name
    'hannam2017'
    >>> AnalysisConfig.of(DetectionConfig(min_height_g=0.6)).detection.min_height_g
    0.6
    """

    detection: DetectionConfig = field(default_factory=lambda: DetectionConfig())
    sessions: SessionConfig = field(default_factory=lambda: SessionConfig())
    loading: LoadingConfig = field(default_factory=lambda: LoadingConfig())
    range_g: float | None = None

    @classmethod
    def of(cls, config: AnalysisConfig | DetectionConfig | None) -> AnalysisConfig:
        """``config`` as an AnalysisConfig (a bare preset gets default session and loading settings)."""
        if config is None:
            return cls()
        if isinstance(config, DetectionConfig):
            return cls(detection=config)
        return config

    def replace(self, **changes: Any) -> AnalysisConfig:
        """Return a copy with ``changes`` applied (``detection=``, ``sessions=``, ``loading=``)."""
        return dataclasses.replace(self, **changes)
