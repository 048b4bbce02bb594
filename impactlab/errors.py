"""Exceptions and warnings raised by impactlab.

Every error a user can cause derives from :class:`ImpactlabError`, so the command line (and user
code) can catch one class. Messages read ``where: what was wrong. What to do.``::

    ImpactlabError(Exception)                 .hint
    ├── ReadError                             cannot read a recording; .path, .line
    │   ├── UnsupportedFormatError            unknown extension or content
    │   └── CorruptFileError                  truncated or inconsistent file; .offset / .block
    ├── DataError (also ValueError)           data breaks the Recording contract
    ├── ConfigError (also ValueError)         plan / profile / settings; .path, .key
    ├── DeviceError                           Bluetooth LE problems
    │   ├── DeviceNotFoundError               .address / .name
    │   └── SyncError                         interrupted transfer; .last_seq
    └── StoreError                            the SQLite client store

    ImpactlabWarning(UserWarning)
    └── DataQualityWarning                    gaps, clipping, low wear, tilted sensor, aliasing
"""

from __future__ import annotations

import os

__all__ = [
    "ConfigError",
    "CorruptFileError",
    "DataError",
    "DataQualityWarning",
    "DeviceError",
    "DeviceNotFoundError",
    "ImpactlabError",
    "ImpactlabWarning",
    "ReadError",
    "StoreError",
    "SyncError",
    "UnsupportedFormatError",
]


def _where(path: str | os.PathLike[str] | None, line: int | None = None, key: str | None = None) -> str:
    parts = []
    if path is not None:
        parts.append(os.fspath(path))
    if line is not None:
        parts.append(f"line {line}")
    if key is not None:
        parts.append(key)
    return ":".join(parts) if parts else ""


class ImpactlabError(Exception):
    """Base class of every impactlab error.

    Parameters
    ----------
    message : str
        What was wrong.
    hint : str, optional
        What the user can do about it.
    path : str or os.PathLike, optional
        The file the problem is in.
    line : int, optional
        1-based line number in ``path``.
    key : str, optional
        Dotted key (configuration files) or column name.
    """

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        path: str | os.PathLike[str] | None = None,
        line: int | None = None,
        key: str | None = None,
    ) -> None:
        self.message = message
        self.hint = hint
        self.path = os.fspath(path) if path is not None else None
        self.line = line
        self.key = key
        super().__init__(str(self))

    def __str__(self) -> str:
        where = _where(self.path, self.line, self.key)
        text = f"{where}: {self.message}" if where else self.message
        if self.hint:
            text = f"{text.rstrip('.')}. {self.hint}"
        return text


class ReadError(ImpactlabError):
    """A recording could not be read."""


class UnsupportedFormatError(ReadError):
    """The file is not in a format impactlab reads (or not a recording at all)."""


class CorruptFileError(ReadError):
    """The file is truncated or inconsistent.

    ``offset`` (bytes) or ``block`` say where, when known.
    """

    def __init__(self, message: str, *, offset: int | None = None, block: int | None = None, **kw: object) -> None:
        self.offset = offset
        self.block = block
        super().__init__(message, **kw)  # type: ignore[arg-type]


class DataError(ImpactlabError, ValueError):
    """The data break the Recording contract (time order, units, rate, NaN, ...)."""


class ConfigError(ImpactlabError, ValueError):
    """A plan, sensor profile or setting is invalid; ``path`` and ``key`` say where."""


class DeviceError(ImpactlabError):
    """A Bluetooth LE sensor could not be used."""


class DeviceNotFoundError(DeviceError):
    """No sensor with the given name or address answered.

    ``address`` and ``name`` are what was looked for (either may be None: the first sensor of a
    profile was wanted).
    """

    def __init__(self, message: str, *, address: str | None = None, name: str | None = None, **kw: object) -> None:
        self.address = address
        self.name = name
        super().__init__(message, **kw)  # type: ignore[arg-type]


class SyncError(DeviceError):
    """A sync was interrupted; ``last_seq`` is the last committed sequence number."""

    def __init__(self, message: str, *, last_seq: int | None = None, **kw: object) -> None:
        self.last_seq = last_seq
        super().__init__(message, **kw)  # type: ignore[arg-type]


class StoreError(ImpactlabError):
    """The client store could not be opened, migrated or written."""


class ImpactlabWarning(UserWarning):
    """Base class of impactlab warnings."""


class DataQualityWarning(ImpactlabWarning):
    """Data problems that do not stop the analysis: gaps, clipping, low wear, tilt, aliasing."""
