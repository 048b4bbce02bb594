"""Assemble a recording's chunks into one :class:`~impactlab.recording.Recording` in place.

:meth:`impactlab.io.RecordingSource.read` used to keep every chunk and concatenate them at the end,
so two copies of the samples existed at once (3.6 GiB for a 7-day 100 Hz ``.cwa``). Here each chunk
is copied into a result allocated up front, as large as the reader expects (``n_rows_hint``: from the
header or the file size) and grown geometrically when the reader cannot tell or the file holds more.
The peak is one copy of the samples plus one chunk. Pages of the allocation that no sample reaches
are never touched, so a generous size costs address space, not memory.

The frame is laid out as pandas keeps it (one 2-D block per dtype, a row per column), so building
the :class:`pandas.DataFrame` at the end copies nothing; the values, dtypes, index and column order
are exactly those of :func:`pandas.concat` of the chunks.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from ..errors import DataError
from ..recording import Recording, _validate

__all__ = ["ChunkAssembler", "assemble", "utc_index"]

_GROWTH = 1.5  #: factor by which a full result grows
_FIRST = 8  #: chunks' worth allocated when the reader gives no size


def utc_index(t_ns: np.ndarray, tz: str | pd.DatetimeTZDtype, name: object = "time") -> pd.DatetimeIndex:
    """A DatetimeIndex in zone ``tz`` over the UTC nanoseconds ``t_ns``, sharing their memory.

    ``DatetimeIndex(...).tz_localize("UTC")`` copies the times; wrapping them in a tz-aware
    ``DatetimeArray`` does not (a pandas without that constructor gets the copy).
    """
    dtype = tz if isinstance(tz, pd.DatetimeTZDtype) else pd.DatetimeTZDtype("ns", tz)
    values = t_ns.view(f"M8[{dtype.unit}]")  # the unit of ``dtype`` (ns unless a chunk's index said otherwise)
    try:
        from pandas.core.arrays import DatetimeArray

        arr = DatetimeArray._simple_new(values, dtype=dtype)
        return pd.DatetimeIndex(arr, copy=False, name=name)
    except (ImportError, AttributeError, TypeError, AssertionError):  # pragma: no cover - other pandas versions
        return pd.DatetimeIndex(values, name=name).tz_localize("UTC").tz_convert(dtype.tz)


class ChunkAssembler:
    """Copy chunks, in time order, into one preallocated frame.

    Parameters
    ----------
    capacity : int or None
        Expected number of samples (the reader's ``n_rows_hint``); ``None`` when unknown.

    Notes
    -----
    Every chunk is validated as :class:`~impactlab.recording.Recording` would validate the whole
    (finite x, y, z; float32; strictly increasing times, also across chunk boundaries), with rows
    counted from the start of the recording.
    """

    def __init__(self, capacity: int | None = None) -> None:
        self.capacity = int(capacity) if capacity and capacity > 0 else None
        self.n = 0
        self.first: Recording | None = None  # a lone chunk is returned as it is, without a copy
        self.columns: pd.Index | None = None
        self.groups: list[tuple[np.dtype, list[int]]] = []  # dtype -> column positions
        self.blocks: list[np.ndarray] = []  # per group, (columns, capacity)
        self.t = np.empty(0, np.int64)
        self.index_dtype: pd.DatetimeTZDtype | None = None
        self.index_name: object = None
        self.last_ns: int | None = None  # last time, in the unit of the first chunk's index
        self.unit: str | None = None  # that unit (kept, as pandas.concat keeps it)

    def add(self, rec: Recording) -> None:
        """Validate ``rec`` and copy its samples after those already added."""
        data = rec.data
        if not len(data):
            if self.first is None and self.columns is None:
                self.first = rec  # kept only while nothing else comes (an all-empty recording)
            return
        _validate(data, rec.meta, row_offset=self.n)
        t = data.index.as_unit(self.unit or data.index.unit).asi8
        if self.last_ns is not None and int(t[0]) <= self.last_ns:
            ts = data.index[0]
            what = "repeats the previous time" if int(t[0]) == self.last_ns else "goes back in time"
            raise DataError(f"sample {self.n + 1} (counted from 1; {ts}) {what}", path=rec.meta.source,
                            hint="Times must be strictly increasing; check the export or remove duplicated rows")
        self.last_ns = int(t[-1])
        self.unit = self.unit or data.index.unit
        if self.columns is None and (self.first is None or not len(self.first.data)):
            self.first = rec
            self.n = len(data)
            return
        if self.columns is None:
            assert self.first is not None
            first, self.first, self.n = self.first, None, 0
            self._allocate(first.data, len(first.data) + len(data))
            self._copy(first.data)
        self._copy(data)

    def _allocate(self, data: pd.DataFrame, need: int) -> None:
        self.columns = data.columns
        if not isinstance(data.index.dtype, pd.DatetimeTZDtype):
            raise DataError("times have no time zone")
        self.index_dtype = data.index.dtype
        self.index_name = data.index.name
        by: dict[np.dtype, list[int]] = {}
        for j, dt in enumerate(data.dtypes):
            by.setdefault(np.dtype(dt), []).append(j)
        self.groups = list(by.items())
        cap = self.capacity or 0
        cap = max(cap, need, _FIRST * len(data))
        self.t = np.empty(cap, np.int64)
        self.blocks = [np.empty((len(cols), cap), dt) for dt, cols in self.groups]

    def _grow(self, need: int) -> None:
        cap = max(need, int(self.t.size * _GROWTH) + 1)
        t = np.empty(cap, np.int64)
        t[: self.n] = self.t[: self.n]
        self.t = t
        for g, old in enumerate(self.blocks):
            new = np.empty((old.shape[0], cap), old.dtype)
            new[:, : self.n] = old[:, : self.n]
            self.blocks[g] = new

    def _copy(self, data: pd.DataFrame) -> None:
        assert self.columns is not None and self.index_dtype is not None
        if not data.columns.equals(self.columns):
            raise DataError(f"a chunk has columns {list(data.columns)}, the first had {list(self.columns)}")
        k = len(data)
        if self.n + k > self.t.size:
            self._grow(self.n + k)
        a, b = self.n, self.n + k
        self.t[a:b] = data.index.as_unit(self.index_dtype.unit).asi8
        for (dt, cols), block in zip(self.groups, self.blocks, strict=True):
            for r, j in enumerate(cols):
                block[r, a:b] = data.iloc[:, j].to_numpy(dtype=dt, copy=False)
        self.n = b

    def result(self) -> pd.DataFrame | None:
        """The assembled frame (``None`` when no chunk was added)."""
        if self.columns is None:
            return None if self.first is None else self.first.data
        assert self.index_dtype is not None
        n = self.n
        index = utc_index(self.t[:n], self.index_dtype, self.index_name)
        _dt, first_cols = self.groups[0]
        frame = pd.DataFrame(self.blocks[0][:, :n].T, index=index, columns=self.columns[first_cols], copy=False)
        rest = sorted(((j, block[r, :n]) for (_d, cols), block in zip(self.groups[1:], self.blocks[1:], strict=True)
                       for r, j in enumerate(cols)), key=lambda jv: jv[0])
        for j, values in rest:  # ascending positions: every column before j is already in place
            frame.insert(j, self.columns[j], values)
        return frame


def assemble(chunks: Iterable[Recording], capacity: int | None = None) -> Recording | None:
    """All ``chunks`` as one Recording (``None`` when there are none with samples).

    Parameters
    ----------
    chunks : iterable of Recording
        Chunks of one recording in time order (the first one's metadata is kept).
    capacity : int or None
        Expected number of samples; the result grows by half when they are more.

    Returns
    -------
    Recording or None
        Values, dtypes, index and columns identical to ``pandas.concat`` of the chunks.
    """
    asm = ChunkAssembler(capacity)
    meta = None
    for rec in chunks:
        if meta is None:
            meta = rec.meta
        asm.add(rec)
    data = asm.result()
    if data is None or meta is None:
        return None
    return Recording(data, meta, validate=False)
