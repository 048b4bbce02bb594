"""What a batch analyses with: the options of ``impactlab analyze`` by name, and the settings hash.

A recording's folder is up to date when the SHA-256 of its file and the settings hash recorded in
its ``-Info.json`` match the current ones. The settings hash covers the options, the content of
the files they name (a plan, markers) and the impactlab version, so editing a plan in place
re-analyses every recording.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from .._version import __version__
from ..config import AnalysisConfig
from ..errors import ConfigError
from ..recording import canonical_vertical_axis

__all__ = ["ANALYSIS_OPTIONS", "BatchOptions", "TableFormat", "analysis_option_defaults"]

TableFormat = Literal["csv", "parquet"]
_HASH_BLOCK = 1 << 20

ANALYSIS_OPTIONS: dict[str, Any] = {
    "tz": None, "vertical_axis": None, "units": "g", "preset": "hannam2017", "native_rate": False,
    "markers": None, "plan": None, "calibrate": False, "body_mass": None, "vest_mass": None,
    "placement": "hip", "vector": None, "range_g": None, "align_gravity": False,
}
#: Options added after batch outputs existed: left out of the settings hash (and of the options
#: recorded in -Info.json and the manifest) while they hold their default, so folders analysed
#: before the option existed stay up to date; any other value is hashed like every option.
_HASHED_WHEN_SET = frozenset({"range_g", "align_gravity"})


def analysis_option_defaults() -> dict[str, Any]:
    """The analysis options of ``impactlab analyze`` and their defaults.

    Reading options (``tz``, ``vertical_axis``, ``units``), the method (``preset``,
    ``native_rate``, ``vector``, ``range_g``: the sensor's range in ±g for files that do not say
    it), the inputs (``plan``, ``markers``: paths; ``body_mass``: kg), ``calibrate``, the
    loading settings (``vest_mass``: kg, ``placement``) and ``align_gravity`` (count peaks along the
    measured gravity direction).

    Returns
    -------
    dict
        Option name -> default value.
    """
    return dict(ANALYSIS_OPTIONS)


def _file_sha256(path: str | os.PathLike[str]) -> tuple[str, int]:
    h = hashlib.sha256()
    n = 0
    with open(path, "rb") as fh:
        while block := fh.read(_HASH_BLOCK):
            h.update(block)
            n += len(block)
    return h.hexdigest(), n


def _is_file(v: object) -> bool:
    return isinstance(v, str | os.PathLike) and bool(os.fspath(v)) and os.path.isfile(v)


def _absolute_files(v: Any) -> Any:
    if _is_file(v):
        return os.path.abspath(os.fspath(v))
    if isinstance(v, list | tuple):
        return [_absolute_files(x) for x in v]
    if isinstance(v, os.PathLike):
        return os.fspath(v)
    return v


def _hashable(v: Any) -> Any:
    if _is_file(v):
        return {"file_sha256": _file_sha256(v)[0]}
    if isinstance(v, list | tuple):
        return [_hashable(x) for x in v]
    return v


@dataclass(frozen=True)
class BatchOptions:
    """What every worker needs to analyse one file (picklable; shipped with each task).

    Build it with :meth:`build`, which fills defaults and computes the settings hash.

    Attributes
    ----------
    out : str
        Output folder (absolute path).
    analysis : dict
        Options of ``impactlab analyze`` (see :func:`analysis_option_defaults`); values naming
        files (a plan, markers) are absolute paths, ``vertical_axis`` is canonical (``+y``).
        :attr:`config` turns them into the :class:`~impactlab.config.AnalysisConfig` analysed with.
    force : bool
        Analyse even when the recording's folder is up to date.
    settings_sha256 : str
        SHA-256 of the options, the content of the files they name and the impactlab version.
    """

    out: str
    analysis: dict[str, Any]
    force: bool = False
    settings_sha256: str = ""

    @classmethod
    def build(
        cls, out: str | os.PathLike[str], analysis: Mapping[str, Any] | None = None, *, force: bool = False
    ) -> BatchOptions:
        """Options for a batch writing into ``out``.

        Parameters
        ----------
        out : str or os.PathLike
            Output folder.
        analysis : mapping, optional
            Analysis options by name (``{"tz": "Europe/London", "plan": "plan.toml"}``);
            missing ones take their defaults.
        force : bool
            Re-analyse up-to-date recordings.

        Raises
        ------
        ConfigError
            An option that ``impactlab analyze`` does not have.
        """
        defaults = analysis_option_defaults()
        given = dict(analysis or {})
        unknown = sorted(set(given) - set(defaults))
        if unknown:
            raise ConfigError(
                f"unknown analysis option(s) {', '.join(map(repr, unknown))}", key="options",
                hint=f"Known options: {', '.join(sorted(defaults))}",
            )
        if given.get("vertical_axis"):  # "y", "+Y" -> "+y", as `impactlab analyze` reads it
            given["vertical_axis"] = canonical_vertical_axis(given["vertical_axis"])
        merged = {k: _absolute_files(given.get(k, v)) for k, v in sorted(defaults.items())
                  if not (k in _HASHED_WHEN_SET and given.get(k, v) in (None, v))}
        canon = json.dumps({"impactlab_version": __version__, "options": {k: _hashable(v) for k, v in merged.items()}},
                           sort_keys=True, default=str)
        digest = hashlib.sha256(canon.encode()).hexdigest()
        return cls(out=os.path.abspath(os.fspath(out)), analysis=merged, force=force, settings_sha256=digest)

    def option(self, name: str) -> Any:
        """The value of analysis option ``name`` (its default when not given)."""
        return self.analysis.get(name, ANALYSIS_OPTIONS[name])

    @property
    def config(self) -> AnalysisConfig:
        """The typed settings every recording is analysed with (:func:`impactlab.presets.analysis_config`)."""
        return self.config_for()

    def config_for(self, *, placement: str | None = None) -> AnalysisConfig:
        """The settings of one recording: :attr:`config`, with its wearer's sensor placement when known."""
        from ..presets import analysis_config

        return analysis_config(self.option("preset"), native_rate=self.option("native_rate"),
                               vector=self.option("vector"), vest_mass_kg=self.option("vest_mass"),
                               placement=placement or self.option("placement"), range_g=self.option("range_g"),
                               align_gravity=self.option("align_gravity"))

