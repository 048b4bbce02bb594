"""impactlab: osteogenic impact loading from a hip-worn accelerometer (Hannam et al. 2017).

Data flow, one way: readers → :class:`Recording` → :func:`detect_impacts` → sessions →
:func:`daily_load` → plan check → reports. :func:`analyze` chains the stages.
"""

from __future__ import annotations

from ._version import __version__
from .config import AnalysisConfig, DetectionConfig, LoadingConfig, SessionConfig, WearConfig
from .daily import daily_load, weekly_summary
from .errors import (
    ConfigError,
    CorruptFileError,
    DataError,
    DataQualityWarning,
    DeviceError,
    DeviceNotFoundError,
    ImpactlabError,
    ImpactlabWarning,
    ReadError,
    StoreError,
    SyncError,
    UnsupportedFormatError,
)
from .impacts import ImpactDetector, classify_impacts, detect_impacts
from .io import open_recording, read_recording, write_parquet
from .markers import Markers, read_markers
from .pipeline import Analysis, analyze
from .plan import Plan, check_plan, load_plan
from .presets import PRESETS, get_preset
from .recording import Recording, RecordingMeta
from .sessions import find_sessions
from .simulate import simulate_recording

__all__ = [
    "Analysis",
    "AnalysisConfig",
    "ConfigError",
    "CorruptFileError",
    "DataError",
    "DataQualityWarning",
    "DetectionConfig",
    "DeviceError",
    "DeviceNotFoundError",
    "ImpactDetector",
    "ImpactlabError",
    "ImpactlabWarning",
    "LoadingConfig",
    "Markers",
    "PRESETS",
    "Plan",
    "ReadError",
    "Recording",
    "RecordingMeta",
    "SessionConfig",
    "StoreError",
    "SyncError",
    "UnsupportedFormatError",
    "WearConfig",
    "__version__",
    "analyze",
    "check_plan",
    "classify_impacts",
    "daily_load",
    "detect_impacts",
    "find_sessions",
    "get_preset",
    "load_plan",
    "open_recording",
    "read_markers",
    "read_recording",
    "simulate_recording",
    "weekly_summary",
    "write_parquet",
]
