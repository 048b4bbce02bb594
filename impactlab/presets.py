"""Method presets beside ``hannam2017``: ``deere2012``, ``oulu`` and ``veras2020`` (docs/method.md).

Each preset is a frozen :class:`~impactlab.config.DetectionConfig` whose ``conventions`` text (shown
in every report's method line) states what about it could not be verified. Importing this module
holds them in :data:`PRESETS` (no registration: the table below is the whole list), which ``--preset`` offers.

All heights are on impactlab's gravity-removed scale: ``peak_g`` = filtered signal − 1 g. A
gravity-included threshold ``h`` is ``min_height_g = h − 1``.
"""

from __future__ import annotations

from .config import AnalysisConfig, DetectionConfig, LoadingConfig
from .errors import ConfigError

__all__ = ["DEERE2012", "HANNAM2017", "OULU", "PRESETS", "VERAS2020", "analysis_config", "get_preset"]

#: Hannam K et al. (2017) Osteoporos Int 28:1001–1011: the default (see :class:`DetectionConfig`).
HANNAM2017 = DetectionConfig()

#: Deere K, Sayers A, Rittweger J, Tobias JH (2012) Habitual levels of high, but not moderate or
#: low, impact activity are positively related to hip BMD and geometry: results from a
#: population-based study of adolescents. J Bone Miner Res 27(9):1887–1895.
#: Six bands 0.5–1.1, 1.1–2.1, 2.1–3.1, 3.1–4.2, 4.2–5.1, > 5.1 g, grouped low 0.5–2.1, medium
#: 2.1–4.2, high > 4.2 g [C, abstract]. The Newtest device counted peaks in firmware; its rate,
#: filter, peak rule and gravity convention are [U]. This preset applies the edges to g above
#: gravity with the hannam2017 signal chain (50 Hz, 20 Hz low-pass, ≥ 0.25 s apart) [P].
DEERE2012 = DetectionConfig(
    name="deere2012",
    target_rate_hz=50.0,
    min_height_g=0.5,
    min_distance_s=0.25,
    band_edges_g=(0.5, 1.1, 2.1, 3.1, 4.2, 5.1),
    band_names=("0.5-1.1g", "1.1-2.1g", "2.1-3.1g", "3.1-4.2g", "4.2-5.1g", ">5.1g"),
    grouped_bands=(("low", 0.5), ("medium", 2.1), ("high", 4.2)),
    conventions=(
        "Deere 2012 bands (0.5/1.1/2.1/3.1/4.2/5.1 g; high > 4.2 g) are Newtest-equivalent, convention "
        "unverified: the Newtest firmware's rate, filter, peak rule and gravity handling are unknown; edges "
        "are applied here to g above gravity at 50 Hz after a 20 Hz low-pass, peaks >= 0.25 s apart (project decisions)."
    ),
)

#: The Oulu approach: Vainionpää A et al. (2006) Osteoporos Int 17(3):455–463, five levels
#: 0.3–1.0, 1.1–2.4, 2.5–3.8, 3.9–5.3, 5.4–9.2 g, hip BMD gains with impacts > 3.9 g [C, abstract];
#: Jämsä T et al. (2011) Front Physiol 2:73, impacts > 4 g (or slope > 100 g/s), 60 per day [C].
#: The Oulu monitor's rate, axis and gravity handling are [U]; edges are applied to g above
#: gravity, at the native rate (short high-g peaks are not resampled away) [P].
OULU = DetectionConfig(
    name="oulu",
    target_rate_hz=None,
    min_height_g=0.3,
    min_distance_s=0.25,
    band_edges_g=(0.3, 1.1, 2.5, 3.9, 5.4),
    band_names=("0.3-1.0g", "1.1-2.4g", "2.5-3.8g", "3.9-5.3g", ">=5.4g"),
    grouped_bands=(("low", 0.3), ("medium", 1.1), ("high", 3.9)),
    conventions=(
        "Oulu levels (Vainionpaa 2006: 0.3/1.1/2.5/3.9/5.4 g; high = > 3.9 g; Jamsa 2011: 60 impacts/day > 4 g). "
        "The Oulu monitor's rate, axis and gravity convention are unverified; edges are applied here to g above "
        "gravity at the native rate after a 20 Hz low-pass, peaks >= 0.25 s apart (project decisions)."
    ),
)

#: The R package impactr's peak settings (Veras L et al. 2020, Osteoporos Int 31:1239–1250;
#: impactr 0.4.1 ``filter_acc``/``find_peaks`` defaults) [C-code]: native rate, Butterworth
#: order 4, 20 Hz low-pass, zero-phase; peaks of the vertical (−Y on ActiGraph) or resultant
#: acceleration ≥ 1.3 g **gravity included** (``min_height_g = 0.3``), at least 0.4 s apart.
#: The resultant is the magnitude of the per-axis filtered signals, as impactr computes it, and the
#: filter's ends behave as R ``signal::filtfilt`` (``filter_edges="zero"``).
#: Peaks 1.3–1.5 g fall below Hannam's low band; they are counted in the ``below_low`` band so that
#: every detected peak is in the total. 0.4 s counts strides, not steps, in running.
VERAS2020 = DetectionConfig(
    name="veras2020",
    target_rate_hz=None,
    lowpass_hz=20.0,
    filter_order=4,
    vector="vertical",
    min_height_g=0.3,
    min_distance_s=0.4,
    filter_edges="zero",
    band_edges_g=(0.3, 0.5, 1.0, 1.5),
    band_names=("below_low", "low", "medium", "high"),
    grouped_bands=(("low", 0.5), ("medium", 1.0), ("high", 1.5)),
    conventions=(
        "impactr's peak settings (Veras 2020/2022): native rate, order-4 20 Hz zero-phase low-pass with R "
        "signal::filtfilt's edges, peaks >= 1.3 g gravity included, >= 0.4 s apart (strides, not steps, in running). "
        "Known differences from impactr: flat-topped peaks are counted here (pracma skips them); gaps split the "
        "signal into separately filtered segments (impactr filters across them)."
    ),
)

#: Every method preset by name.
PRESETS: dict[str, DetectionConfig] = {c.name: c for c in (HANNAM2017, DEERE2012, OULU, VERAS2020)}


def get_preset(name: str) -> DetectionConfig:
    """The :class:`~impactlab.config.DetectionConfig` of a named preset.

    Raises
    ------
    ConfigError
        Unknown name (the message lists the known ones).

    Examples
    --------
    >>> get_preset("veras2020").min_distance_s
    0.4
    """
    try:
        return PRESETS[name]
    except KeyError:
        raise ConfigError(
            f"unknown preset {name!r}", key="preset", hint=f"Use one of: {', '.join(sorted(PRESETS))}"
        ) from None


def analysis_config(preset: str = "hannam2017", *, native_rate: bool = False, vector: str | None = None,
                    vest_mass_kg: float | None = None, placement: str | None = None,
                    range_g: float | None = None, align_gravity: bool = False,
                    include_extrapolated: bool = False) -> AnalysisConfig:
    """The settings of a run from the method choices a user makes (what ``impactlab analyze``'s flags name).

    Parameters
    ----------
    preset : str
        Method preset name (:data:`PRESETS`).
    native_rate : bool
        Count peaks at the input's own rate instead of the preset's (no resampling).
    vector : {"vertical", "resultant"}, optional
        Overrides the preset's vector.
    vest_mass_kg : float, optional
        Weighted-vest mass (kg); None takes the plan's.
    placement : {"hip", "back", "ankle"}, optional
        Sensor placement for the force equations (default hip).
    range_g : float, optional
        The sensor's range (±g) when the file does not say it.
    align_gravity : bool
        Count peaks along the gravity direction measured at rest instead of the vertical axis
        (:attr:`~impactlab.config.DetectionConfig.align_gravity`).
    include_extrapolated : bool
        Keep GRF predictions outside their equation's calibration in the DSS and OI.

    Examples
    --------
    >>> cfg = analysis_config("veras2020", vector="resultant")
    >>> cfg.detection.name, cfg.detection.vector, cfg.loading.placement
    ('veras2020', 'resultant', 'hip')
    """
    detection = get_preset(preset)
    if native_rate:
        detection = detection.replace(target_rate_hz=None)
    if vector:
        detection = detection.replace(vector=vector)
    if align_gravity:
        detection = detection.replace(align_gravity=True)
    return AnalysisConfig(detection=detection, loading=LoadingConfig(vest_mass_kg=vest_mass_kg, placement=placement or "hip",
                                                                   include_extrapolated=include_extrapolated),
                          range_g=range_g)
