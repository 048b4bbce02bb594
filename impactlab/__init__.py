"""impactlab: osteogenic impact loading from a hip-worn accelerometer (Hannam et al. 2017).

Data flow, one way: readers → :class:`Recording` → :func:`detect_impacts` → sessions →
:func:`daily_load` → plan check → reports. :func:`analyze` chains the stages.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._version import __version__

# Names are loaded on first use (PEP 562), so ``import impactlab`` and the command line's ``--help``
# do not pay for numpy, pandas, scipy and pyarrow until a stage runs.
_LAZY = {
    "AnalysisConfig": "config", "DetectionConfig": "config", "LoadingConfig": "config", "SessionConfig": "config",
    "WearConfig": "config",
    "daily_load": "daily", "weekly_summary": "daily",
    "ConfigError": "errors", "CorruptFileError": "errors", "DataError": "errors", "DataQualityWarning": "errors",
    "DeviceError": "errors", "DeviceNotFoundError": "errors", "ImpactlabError": "errors",
    "ImpactlabWarning": "errors", "ReadError": "errors", "StoreError": "errors", "SyncError": "errors",
    "UnsupportedFormatError": "errors",
    "ImpactDetector": "impacts", "classify_impacts": "impacts", "detect_impacts": "impacts",
    "open_recording": "io", "read_recording": "io", "write_parquet": "io",
    "Markers": "markers", "read_markers": "markers",
    "Analysis": "pipeline", "analyze": "pipeline",
    "Plan": "plan", "check_plan": "plan", "load_plan": "plan",
    "PRESETS": "presets", "get_preset": "presets",
    "Recording": "recording", "RecordingMeta": "recording",
    "find_sessions": "sessions",
    "simulate_recording": "simulate",
}

if TYPE_CHECKING:  # pragma: no cover - what the lazy names are, for type checkers and IDEs
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


def __getattr__(name: str) -> Any:
    """Import the module that defines ``name`` on first use."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'impactlab' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


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
