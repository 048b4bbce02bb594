"""impactlab: osteogenic impact loading from a hip-worn accelerometer (Hannam et al. 2017).

Data flow, one way: readers → :class:`Recording` → :func:`detect_impacts` → sessions →
:func:`daily_load` → plan check → reports. :func:`analyze` chains the stages.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("impactlab")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0+unknown"

from .config import PRESETS, DetectionConfig, WearConfig, get_preset
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
from .pipeline import Analysis, analyze
from .recording import Recording, RecordingMeta


def _load_stages() -> None:
    """Import the optional stage modules that register hooks (sessions, plan, loading...)."""
    import importlib
    import importlib.util

    for name in ("sessions", "plan", "markers", "loading", "presets", "calibrate"):
        if importlib.util.find_spec(f"{__name__}.{name}") is not None:
            importlib.import_module(f"{__name__}.{name}")


_load_stages()

__all__ = [
    "Analysis",
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
    "PRESETS",
    "ReadError",
    "Recording",
    "RecordingMeta",
    "StoreError",
    "SyncError",
    "UnsupportedFormatError",
    "WearConfig",
    "__version__",
    "analyze",
    "classify_impacts",
    "daily_load",
    "detect_impacts",
    "get_preset",
    "open_recording",
    "read_recording",
    "weekly_summary",
    "write_parquet",
]
