"""The public API of ``import impactlab``: exactly these names, each importable and documented."""

from __future__ import annotations

import impactlab

PUBLIC = [
    "Analysis", "AnalysisConfig", "ConfigError", "CorruptFileError", "DataError", "DataQualityWarning",
    "DetectionConfig", "DeviceError", "DeviceNotFoundError", "ImpactDetector", "ImpactlabError", "ImpactlabWarning",
    "LoadingConfig", "Markers", "PRESETS", "Plan", "ReadError", "Recording", "RecordingMeta", "SessionConfig",
    "StoreError", "SyncError", "UnsupportedFormatError", "WearConfig", "__version__", "analyze", "check_plan",
    "classify_impacts", "daily_load", "detect_impacts", "find_sessions", "get_preset", "load_plan",
    "open_recording", "read_markers", "read_recording", "simulate_recording", "weekly_summary", "write_parquet",
]


def test_all_is_exactly_the_public_api() -> None:
    assert sorted(impactlab.__all__) == sorted(PUBLIC)
    assert len(set(impactlab.__all__)) == len(impactlab.__all__)


def test_every_public_name_exists_and_is_documented() -> None:
    for name in PUBLIC:
        obj = getattr(impactlab, name)
        if callable(obj) and not isinstance(obj, dict):
            assert (obj.__doc__ or "").strip(), f"impactlab.{name} has no docstring"


def test_star_import_gives_exactly_all() -> None:
    ns: dict[str, object] = {}
    exec("from impactlab import *", ns)
    assert sorted(k for k in ns if k != "__builtins__") == sorted(PUBLIC)
