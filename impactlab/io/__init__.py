"""Readers: one :func:`read_recording` / :func:`open_recording` that dispatch on content and extension.

=====================  ===========================================  =====================
format                 recognised by                                reader
=====================  ===========================================  =====================
ActiGraph CSV export   first line "... Created By ActiGraph ..."    :func:`open_actigraph_csv`
plain CSV              ``.csv``/``.txt`` (``.gz``) with time,x,y,z  :func:`open_csv`
Parquet                ``PAR1`` magic                               :func:`open_parquet`
=====================  ===========================================  =====================

Device formats (.gt3x, .cwa, .bin) register themselves in :data:`READERS` when their modules exist.
"""

from __future__ import annotations

import gzip
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from ..errors import ReadError, UnsupportedFormatError
from ..recording import Recording
from ._common import RecordingSource
from .actigraph_csv import is_actigraph_csv, open_actigraph_csv
from .table import open_csv, open_parquet, write_parquet

__all__ = [
    "READERS",
    "RecordingSource",
    "open_actigraph_csv",
    "open_csv",
    "open_parquet",
    "open_recording",
    "read_recording",
    "write_parquet",
]

#: name -> (sniff(head_bytes, suffix) -> bool, opener(path, **options) -> RecordingSource)
READERS: dict[str, tuple[Callable[[bytes, str], bool], Callable[..., RecordingSource]]] = {}


def register_reader(name: str, sniff: Callable[[bytes, str], bool], opener: Callable[..., RecordingSource]) -> None:
    """Register a reader; later registrations are tried first."""
    READERS[name] = (sniff, opener)


def _is_text(head: bytes) -> bool:
    return b"\x00" not in head[:4096]


register_reader("parquet", lambda h, s: h[:4] == b"PAR1", open_parquet)
register_reader(
    "csv", lambda h, s: _is_text(h) and s in (".csv", ".txt", ".tsv", ""), lambda p, **kw: open_csv(p, **kw)
)
register_reader(
    "actigraph_csv",
    lambda h, s: _is_text(h) and is_actigraph_csv(h[:2000].decode("utf-8", "replace")),
    lambda p, units="g", tz=None, vertical_axis=None, **kw: open_actigraph_csv(p, tz=tz, vertical_axis=vertical_axis, units=units),
)

try:  # device formats, when present
    from . import devices as _devices  # noqa: F401
except ImportError:  # pragma: no cover - optional module
    pass


def open_recording(
    path: str | os.PathLike[str],
    *,
    tz: str | None = None,
    vertical_axis: str | None = None,
    units: str = "g",
    profile: str | None = None,
) -> RecordingSource:
    """Open a recording of any supported format for chunked reading.

    Parameters
    ----------
    path : str or os.PathLike
        The file (``.gz`` CSVs are decompressed to a temporary file first).
    tz : str, optional
        IANA zone of device-local times (default: this computer's zone, with a warning).
    vertical_axis : str, optional
        ``"+y"``, ``"-y"``...; default from the device, or detected from the data.
    units : {"g", "ms2"}
        Units of text files.
    profile : str, optional
        BLE sensor profile: ``path`` is a raw BLE log (:mod:`impactlab.io.blelog`) decoded with it.

    Returns
    -------
    RecordingSource
        ``.meta``, ``.chunks()`` (iterator of Recording chunks) and ``.read()``.

    Raises
    ------
    UnsupportedFormatError
        Not a recording impactlab can read (the message lists the formats).
    """
    p = Path(path)
    if not p.exists():
        raise ReadError("no such file", path=p, hint="Check the path")
    if profile is not None:
        from .blelog import open_ble_log

        return open_ble_log(p, profile=profile, tz=tz, vertical_axis=vertical_axis)
    if p.is_dir():
        raise ReadError("this is a folder, not a recording", path=p)
    with open(p, "rb") as fh:
        head = fh.read(1 << 16)
    if head[:2] == b"\x1f\x8b":
        tmp = Path(tempfile.mkdtemp(prefix="impactlab-")) / p.name.removesuffix(".gz")
        with gzip.open(p, "rb") as src, open(tmp, "wb") as dst:
            shutil.copyfileobj(src, dst)
        src_ = open_recording(tmp, tz=tz, vertical_axis=vertical_axis, units=units)
        return src_
    if not head:
        raise ReadError("the file is empty", path=p, hint="Export the recording again")
    suffix = p.suffix.lower()
    for _name, (sniff, opener) in reversed(list(READERS.items())):
        if sniff(head, suffix):
            return opener(os.fspath(p), tz=tz, vertical_axis=vertical_axis, units=units)
    raise UnsupportedFormatError(
        "not a recording impactlab can read",
        path=p,
        hint="Supported: ActiGraph CSV export, plain CSV (time,x,y,z in g), Parquet"
        + ("".join(f", {n}" for n in READERS if n not in ("csv", "parquet", "actigraph_csv"))),
    )


def read_recording(
    path: str | os.PathLike[str],
    *,
    tz: str | None = None,
    vertical_axis: str | None = None,
    units: str = "g",
) -> Recording:
    """Read a whole recording into memory (see :func:`open_recording` for the parameters).

    Examples
    --------
    >>> rec = read_recording("sample_data/actigraph-hip-5min.csv", tz="Europe/London")  # doctest: +SKIP
    """
    return open_recording(path, tz=tz, vertical_axis=vertical_axis, units=units).read()
