"""Readers: one :func:`read_recording` / :func:`open_recording` that dispatch on content and extension.

=====================  ===========================================  ==============================================
format                 recognised by                                reader
=====================  ===========================================  ==============================================
ActiGraph CSV export   first line "... Created By ActiGraph ..."    :func:`open_actigraph_csv`
plain CSV              ``.csv``/``.txt`` (``.gz``) with time,x,y,z  :func:`open_csv`
Parquet                ``PAR1`` magic                               :func:`open_parquet`
ActiGraph .gt3x/.agdc  zip holding ``log.bin``/``activity.bin``     :func:`impactlab.io.gt3x.open_gt3x`
Axivity .cwa           ``MD`` metadata sector, or ``.cwa``          :func:`impactlab.io.cwa.open_cwa`
GENEActiv .bin         ``Device Identity`` header, or ``.bin``      :func:`impactlab.io.geneactiv.open_geneactiv`
=====================  ===========================================  ==============================================

Every reader is registered here in :data:`READERS`; the device readers are imported lazily (the
readers import only :mod:`impactlab.io._common`, so there is no import cycle).

Only regular files are read (a FIFO, device or folder is refused before it is opened). A ``.gz``
file is decompressed as a stream for the text formats (nothing is written to disk); the binary
formats need random access, so they are decompressed into a private (0700) temporary folder with a
size cap against the free space, removed when the source is closed or garbage-collected and at exit.
Any exception a library raises on bad bytes is translated into an :class:`~impactlab.errors.ImpactlabError`
naming the file (:func:`impactlab.io._common.translate_error`).
"""

from __future__ import annotations

import atexit
import dataclasses
import gzip
import os
import shutil
import tempfile
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ..errors import ImpactlabError, ReadError, UnsupportedFormatError
from ..recording import Recording
from ._common import GZIP_MAGIC, RecordingSource, check_regular_file, translate_error
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
    "register_reader",
    "write_parquet",
]

Sniff = Callable[[bytes, str], bool]
Opener = Callable[..., RecordingSource]

#: name -> (sniff(head_bytes, suffix) -> bool, opener(path, **options) -> RecordingSource)
READERS: dict[str, tuple[Sniff, Opener]] = {}

#: readers that decode a ``.gz`` file as a stream (the others get a private temporary copy)
STREAMING_GZIP = {"csv", "actigraph_csv"}

_ZIP = b"PK\x03\x04"


def register_reader(name: str, sniff: Sniff, opener: Opener) -> None:
    """Register a reader; later registrations are tried first."""
    READERS[name] = (sniff, opener)


def _is_text(head: bytes) -> bool:
    return b"\x00" not in head[:4096]


def _open_gt3x(path: str, **kw: Any) -> RecordingSource:
    from .gt3x import open_gt3x

    return open_gt3x(path, tz=kw.get("tz"), vertical_axis=kw.get("vertical_axis"))


def _open_cwa(path: str, **kw: Any) -> RecordingSource:
    from .cwa import open_cwa

    return open_cwa(path, tz=kw.get("tz"), vertical_axis=kw.get("vertical_axis"))


def _open_geneactiv(path: str, **kw: Any) -> RecordingSource:
    from .geneactiv import open_geneactiv

    return open_geneactiv(path, tz=kw.get("tz"), vertical_axis=kw.get("vertical_axis"))


def _open_actigraph(path: str, **kw: Any) -> RecordingSource:
    return open_actigraph_csv(path, tz=kw.get("tz"), vertical_axis=kw.get("vertical_axis"), units=kw.get("units", "g"))


def _open_csv(path: str, **kw: Any) -> RecordingSource:
    return open_csv(path, **kw)


register_reader("parquet", lambda h, s: h[:4] == b"PAR1", open_parquet)
register_reader("csv", lambda h, s: _is_text(h) and s in (".csv", ".txt", ".tsv", ""), _open_csv)
register_reader(
    "actigraph_csv", lambda h, s: _is_text(h) and is_actigraph_csv(h[:2000].decode("utf-8", "replace").lstrip("\ufeff")),
    _open_actigraph,
)
register_reader("geneactiv", lambda h, s: h.startswith(b"Device Identity") or s == ".bin", _open_geneactiv)
register_reader("cwa", lambda h, s: s == ".cwa" or (h[:2] == b"MD" and h[2:4] == b"\xfc\x03"), _open_cwa)
register_reader(
    "gt3x", lambda h, s: s in (".gt3x", ".agdc") or (h[:4] == _ZIP and (b"log.bin" in h or b"activity.bin" in h)),
    _open_gt3x,
)


def _gunzip_head(p: Path, n: int) -> bytes:
    try:
        with gzip.open(p, "rb") as fh:
            return fh.read(n)
    except Exception as err:
        raise translate_error(err, p) from err


def _private_copy(p: Path) -> tuple[Path, Path]:
    """Decompress ``p`` into a new 0700 folder (file 0600), capped at the free space less 1 GiB."""
    folder = Path(tempfile.mkdtemp(prefix="impactlab-"))  # mkdtemp makes it 0700
    dst = folder / p.name.removesuffix(".gz")
    try:
        room = shutil.disk_usage(folder).free - (1 << 30)
        written = 0
        fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with gzip.open(p, "rb") as src, os.fdopen(fd, "wb") as out:
            while piece := src.read(1 << 22):
                written += len(piece)
                if written > room:
                    raise ReadError(
                        f"decompressed, the file would not fit in the free space of {folder.parent}", path=p,
                        hint="Decompress it yourself onto a disk with room (gunzip -k FILE), then give that file",
                    )
                out.write(piece)
    except BaseException as err:
        shutil.rmtree(folder, ignore_errors=True)
        if isinstance(err, ImpactlabError) or not isinstance(err, Exception):
            raise
        raise translate_error(err, p) from err
    return folder, dst


def _repath(err: ImpactlabError, tmp: Path, user: Path) -> ImpactlabError:
    """The same error naming the user's file instead of the temporary copy."""
    if err.path is not None and Path(err.path) == tmp:
        err.path = os.fspath(user)
        err.message = err.message.replace(os.fspath(tmp), os.fspath(user))
        err.args = (str(err),)
    return err


def _guarded(src: RecordingSource, path: Path, tmp: Path | None = None, cleanup: Callable[[], None] | None = None
             ) -> RecordingSource:
    """Wrap ``src.chunks`` so that library errors are translated and the user's file is named."""
    inner = src.chunks
    meta = dataclasses.replace(src.meta, source=os.fspath(path)) if tmp is not None else src.meta

    def chunks() -> Iterator[Recording]:
        try:
            for rec in inner():
                yield rec if tmp is None else Recording(rec.data, meta, validate=False)
        except ImpactlabError as err:
            raise (_repath(err, tmp, path) if tmp is not None else err) from None
        except Exception as err:
            raise translate_error(err, path) from err

    out = dataclasses.replace(src, meta=meta, chunks=chunks)
    if tmp is not None:
        out.notes[:] = [n.replace(os.fspath(tmp), os.fspath(path)) for n in out.notes]
    if cleanup is not None:
        weakref.finalize(out, cleanup)
    return out


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
        The file (``.gz`` is decompressed as a stream; see the module docstring).
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
    ReadError
        Missing, unreadable or not a regular file; damaged content (every library error is
        translated into an :class:`~impactlab.errors.ImpactlabError` naming the file).
    """
    p = Path(path)
    st = check_regular_file(p)
    if profile is not None:
        from .blelog import open_ble_log

        return open_ble_log(p, profile=profile, tz=tz, vertical_axis=vertical_axis)
    try:
        with open(p, "rb") as fh:
            head = fh.read(1 << 16)
    except Exception as err:
        raise translate_error(err, p) from err
    if not head or st.st_size == 0:
        raise ReadError("the file is empty", path=p, hint="Export the recording again")
    gz = head[:2] == GZIP_MAGIC
    suffix = p.suffix.lower()
    if gz:
        head = _gunzip_head(p, 1 << 16)
        if not head:
            raise ReadError("the gzip file decompresses to nothing", path=p, hint="Export the recording again")
        suffix = Path(p.name.removesuffix(".gz").removesuffix(".GZ")).suffix.lower()
        if head[:2] == GZIP_MAGIC:
            raise UnsupportedFormatError("the file is gzip-compressed twice", path=p, hint="Decompress it once (gunzip)")
    opts: dict[str, Any] = {"tz": tz, "vertical_axis": vertical_axis, "units": units}
    for name, (sniff, opener) in reversed(list(READERS.items())):
        if not sniff(head, suffix):
            continue
        if gz and name not in STREAMING_GZIP:
            folder, tmp = _private_copy(p)

            def _rm(folder: Path = folder) -> None:
                shutil.rmtree(folder, ignore_errors=True)

            atexit.register(_rm)
            try:
                src = opener(os.fspath(tmp), **opts)
            except ImpactlabError as err:
                _rm()
                raise _repath(err, tmp, p) from None
            except Exception as err:
                _rm()
                raise translate_error(err, p) from err
            return _guarded(src, p, tmp, _rm)
        try:
            src = opener(os.fspath(p), **opts)
        except ImpactlabError:
            raise
        except Exception as err:
            raise translate_error(err, p) from err
        return _guarded(src, p)
    raise UnsupportedFormatError(
        "not a recording impactlab can read",
        path=p,
        hint="Supported: ActiGraph CSV export, plain CSV (time,x,y,z in g), Parquet, ActiGraph .gt3x, "
        "Axivity .cwa, GENEActiv .bin (each optionally .gz)",
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
