"""The Recording: triaxial acceleration in g on a tz-aware time index, plus its metadata.

A :class:`Recording` is what every reader returns and what every stage takes (docs/cli.md, Tables):

* ``data``: :class:`pandas.DataFrame` indexed by a tz-aware :class:`~pandas.DatetimeIndex` named
  ``time`` (strictly increasing, unique), columns ``x``, ``y``, ``z`` (float32, g, in the device's
  own axes) and optionally ``temperature_c`` (float32, °C) and ``wear`` (bool). Gaps are missing rows,
  never NaN rows.
* ``meta``: a frozen :class:`RecordingMeta`.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .errors import DataError

__all__ = ["AXES", "Recording", "RecordingMeta", "canonical_vertical_axis", "parse_vertical_axis"]

AXES = ("x", "y", "z")
_OPTIONAL = {"temperature_c": np.float32, "wear": np.bool_}
_AXIS_RE = re.compile(r"^([+-]?)([xyz])$")


def parse_vertical_axis(spec: str) -> tuple[str, float]:
    """Split an axis spec such as ``"+y"`` or ``"-x"`` into ``(column, sign)``.

    Parameters
    ----------
    spec : str
        ``[+|-]x|y|z``; the sign says which way the axis points when the wearer stands upright
        (``+`` when standing still reads about +1 g).

    Returns
    -------
    tuple of (str, float)
        Column name and ``+1.0`` or ``-1.0``.
    """
    m = _AXIS_RE.match(str(spec).strip().lower())
    if not m:
        raise DataError(
            f"vertical axis {spec!r} is not one of +x, -x, +y, -y, +z, -z",
            hint="Give the axis that points up when the wearer stands, e.g. --vertical-axis -y",
        )
    return m.group(2), (-1.0 if m.group(1) == "-" else 1.0)


def canonical_vertical_axis(spec: str) -> str:
    """The canonical spelling of an axis spec: ``"y"``, ``"+Y"`` -> ``"+y"``; ``"-x"`` -> ``"-x"``.

    ``impactlab analyze`` and ``impactlab batch`` both pass ``--vertical-axis`` through this, so the
    same flag reads a file the same way (and hashes to the same batch settings).

    Raises
    ------
    DataError
        ``spec`` is not one of ``[+|-]x|y|z``.

    Examples
    --------
    >>> canonical_vertical_axis("Y"), canonical_vertical_axis(" -z ")
    ('+y', '-z')
    """
    col, sign = parse_vertical_axis(spec)
    return ("-" if sign < 0 else "+") + col


@dataclass(frozen=True, slots=True)
class RecordingMeta:
    """What is known about a recording besides its samples.

    Attributes
    ----------
    source : str
        File path, or ``"ble:<address>"``, or ``"simulated"``.
    device : str
        ``"actigraph"``, ``"axivity"``, ``"geneactiv"``, ``"table"``, ``"simulated"``, ``"ble:<profile>"``.
    sample_rate_hz : float
        Nominal sample rate in Hz (the real one is in the index).
    timezone : str
        IANA zone name; the index is in this zone and days are cut at its midnight.
    vertical_axis : str
        Which column points up when the wearer stands and its sign, e.g. ``"+y"`` or ``"-y"``.
    range_g : float or None
        Sensor range in g (±); samples at this magnitude are clipped.
    serial, subject_id, firmware_profile : str or None
        Device serial number, study subject, BLE firmware profile name.
    """

    source: str
    device: str
    sample_rate_hz: float
    timezone: str = "UTC"
    vertical_axis: str = "+y"
    range_g: float | None = None
    serial: str | None = None
    subject_id: str | None = None
    firmware_profile: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def replace(self, **changes: object) -> RecordingMeta:
        """Return a copy with ``changes`` applied."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    def to_dict(self) -> dict[str, object]:
        """Metadata as a JSON-ready dict."""
        d = dataclasses.asdict(self)
        return d


@dataclass(frozen=True, slots=True)
class Recording:
    """Triaxial acceleration in g with metadata (docs/cli.md, Tables). Validated on construction.

    Parameters
    ----------
    data : pandas.DataFrame
        See the module docstring for the columns and index.
    meta : RecordingMeta
        Metadata.
    validate : bool, default True
        Check the contract (O(n), vectorised). Readers that built the frame themselves may skip it.

    Raises
    ------
    DataError
        Naive or unsorted or duplicated times, missing columns, NaN values, wrong dtypes.
    """

    data: pd.DataFrame
    meta: RecordingMeta
    validate: dataclasses.InitVar[bool] = True

    def __post_init__(self, validate: bool) -> None:
        if validate:
            _validate(self.data, self.meta)

    @classmethod
    def from_arrays(
        cls,
        time: pd.DatetimeIndex | np.ndarray,
        x: np.ndarray,
        y: np.ndarray,
        z: np.ndarray,
        meta: RecordingMeta,
        **optional: np.ndarray,
    ) -> Recording:
        """Build a Recording from arrays (times tz-aware, or UTC datetime64 localised to ``meta.timezone``)."""
        idx = pd.DatetimeIndex(time)
        if idx.tz is None:
            idx = idx.tz_localize("UTC").tz_convert(meta.timezone)
        idx.name = "time"
        cols: dict[str, np.ndarray] = {
            "x": np.asarray(x, dtype=np.float32),
            "y": np.asarray(y, dtype=np.float32),
            "z": np.asarray(z, dtype=np.float32),
        }
        for k, v in optional.items():
            cols[k] = np.asarray(v, dtype=_OPTIONAL.get(k, None))
        return cls(pd.DataFrame(cols, index=idx, copy=False), meta)

    @property
    def n_samples(self) -> int:
        """Number of samples."""
        return len(self.data)

    def __len__(self) -> int:
        return len(self.data)

    def slice_time(self, start: object = None, end: object = None) -> Recording:
        """Samples with ``start <= time < end`` as a new Recording."""
        idx = self.data.index
        i0 = 0 if start is None else int(idx.searchsorted(pd.Timestamp(start)))
        i1 = len(idx) if end is None else int(idx.searchsorted(pd.Timestamp(end)))
        return Recording(self.data.iloc[i0:i1], self.meta, validate=False)


def concat_recordings(parts: Iterable[Recording]) -> Recording:
    """Concatenate chunks of one recording (in time order) into one Recording."""
    parts = list(parts)
    if not parts:
        raise DataError("no samples to concatenate")
    data = pd.concat([p.data for p in parts]) if len(parts) > 1 else parts[0].data
    return Recording(data, parts[0].meta)


def _validate(data: pd.DataFrame, meta: RecordingMeta, *, row_offset: int = 0) -> None:
    where = meta.source
    if not isinstance(data, pd.DataFrame):
        raise DataError("Recording.data must be a pandas DataFrame", path=where)
    idx = data.index
    if not isinstance(idx, pd.DatetimeIndex):
        raise DataError("the index is not a DatetimeIndex", path=where, hint="Index the samples by time")
    if idx.tz is None:
        raise DataError(
            "times have no time zone", path=where,
            hint="Give the zone the device clock was set to, e.g. --tz Europe/London",
        )
    missing = [c for c in AXES if c not in data.columns]
    if missing:
        raise DataError(f"missing column(s) {', '.join(missing)}", path=where, hint="A recording needs x, y and z in g")
    for c in AXES:
        if data[c].dtype != np.float32:
            raise DataError(f"column {c} is {data[c].dtype}, expected float32 g", path=where)
    for c, dt in _OPTIONAL.items():
        if c in data.columns and data[c].dtype != dt:
            raise DataError(f"column {c} is {data[c].dtype}, expected {np.dtype(dt)}", path=where)
    if len(idx) == 0:
        return
    arr = data[list(AXES)].to_numpy()
    if not np.isfinite(arr).all():
        bad = ~np.isfinite(arr).all(axis=1)
        row = int(np.argmax(bad))
        raise DataError(
            f"sample {row + row_offset + 1} (counted from 1; {idx[row]}) has a missing or non-finite value",
            path=where, hint="Gaps must be missing rows, not NaN; remove or repair those rows",
        )
    t = idx.asi8
    d = np.diff(t)
    if (d <= 0).any():
        row = int(np.argmax(d <= 0)) + 1
        what = "repeats the previous time" if d[row - 1] == 0 else "goes back in time"
        raise DataError(
            f"sample {row + row_offset + 1} (counted from 1; {idx[row]}) {what}",
            path=where, hint="Times must be strictly increasing; check the export or remove duplicated rows",
        )
