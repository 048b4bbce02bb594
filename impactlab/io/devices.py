"""Device binary formats: registration in :data:`impactlab.io.READERS` and helpers the readers share.

=====================  =================================================  ==============================
format                 recognised by                                      reader
=====================  =================================================  ==============================
ActiGraph .gt3x/.agdc  zip archive holding ``log.bin`` or ``activity.bin``  :func:`impactlab.io.gt3x.open_gt3x`
Axivity .cwa           ``MD`` metadata sector, or the ``.cwa`` extension  :func:`impactlab.io.cwa.open_cwa`
GENEActiv .bin         ``Device Identity`` text header, or ``.bin``       :func:`impactlab.io.geneactiv.open_geneactiv`
=====================  =================================================  ==============================

A file with one of these extensions is always given to its reader, which refuses content of another
format with an :class:`~impactlab.errors.UnsupportedFormatError` that says what the file looks like
(:func:`describe_content`).

Device clocks
-------------
The three formats store device-local wall-clock times without a zone. The device clock runs on
without daylight-saving changes, so one UTC offset holds for the whole file: the offset of ``tz`` at
the first sample when ``tz`` is given, else the offset the file records (ActiGraph ``TimeZone``,
GENEActiv ``Time Zone``, Axivity header), else this computer's zone (with a warning). See
:func:`clock_offset`.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataQualityWarning
from ._common import RecordingSource, check_zone, local_zone

__all__ = ["clock_offset", "describe_content", "detect_vertical_axis", "fixed_offset_zone", "quality_note"]

_ZIP = b"PK\x03\x04"


def describe_content(head: bytes) -> str:
    """Say in words what a file looks like, from its first bytes (for error messages).

    Parameters
    ----------
    head : bytes
        The first bytes of the file (a few hundred are enough).

    Returns
    -------
    str
        E.g. ``"an Axivity .cwa recording"``, ``"a zip archive"``, ``"a text file (CSV?)"``.
    """
    if not head:
        return "an empty file (0 bytes)"
    if head[:2] == b"MD" and head[2:4] == b"\xfc\x03":
        return "an Axivity .cwa recording"
    if head[:2] == b"AX" and head[2:4] == b"\xfc\x01":
        return "Axivity .cwa data blocks without the metadata header"
    if head.startswith(b"Device Identity"):
        return "a GENEActiv .bin recording"
    if head[:4] == _ZIP:
        if b"log.bin" in head or b"activity.bin" in head or b"info.txt" in head:
            return "an ActiGraph .gt3x/.agdc archive"
        return "a zip archive that is not an ActiGraph .gt3x"
    if head[:4] == b"PAR1":
        return "a Parquet file"
    if head[:2] == b"\x1f\x8b":
        return "a gzip-compressed file"
    if head[:1] == b"\x1e":
        return "a bare ActiGraph log.bin (not inside its .gt3x archive)"
    text = head[:512]
    if b"\x00" not in text:
        first = text.split(b"\n", 1)[0].decode("utf-8", "replace").strip()
        if "ActiGraph" in first:
            return "an ActiGraph ActiLife CSV export"
        if "GENEActiv" in first:
            return "a GENEActiv CSV export"
        return f"a text file starting {first[:40]!r}"
    return "binary data of an unknown format"


def export_hint(kind: str) -> str:
    """What to give impactlab instead, by expected device format."""
    return {
        "gt3x": "Give the .gt3x file as downloaded by ActiLife, or export raw data in g from ActiLife (CSV)",
        "cwa": "Give the .cwa file as downloaded with OmGui, or export it to CSV (time,x,y,z in g) with OmGui",
        "geneactiv": "Give the GENEActiv .bin file as downloaded with GENEActiv PC software",
    }[kind]


def fixed_offset_zone(offset_min: int) -> str | None:
    """IANA name of a fixed UTC offset in whole hours (``Etc/GMT-1`` for UTC+01:00), else None."""
    if offset_min == 0:
        return "UTC"
    if offset_min % 60 or abs(offset_min) > 14 * 60:
        return None
    h = offset_min // 60
    return f"Etc/GMT{'-' if h > 0 else '+'}{abs(h)}"  # IANA Etc zones have the sign inverted


def clock_offset(
    tz: str | None, file_offset_min: int | None, first_local_ns: int | None, path: str, notes: list[str]
) -> tuple[str, int]:
    """Zone of the recording and the UTC offset of its device clock.

    Parameters
    ----------
    tz : str or None
        IANA zone given by the user.
    file_offset_min : int or None
        UTC offset (minutes) written in the file, when known.
    first_local_ns : int or None
        Device-local time of the first sample (ns since 1970 as if UTC), to pick the offset of ``tz``
        at that moment.
    path : str
        For messages.
    notes : list of str
        Decisions are appended here.

    Returns
    -------
    tuple of (str, int)
        ``(zone, offset_ns)``: UTC = device-local − ``offset_ns`` for every sample of the file.
    """
    t0 = pd.Timestamp(first_local_ns if first_local_ns is not None else 0)
    if tz:
        zone = check_zone(tz, path=path)
    elif file_offset_min is not None:
        zone = fixed_offset_zone(file_offset_min) or "UTC"
        off_ns = int(file_offset_min) * 60_000_000_000
        if zone == "UTC" and file_offset_min:
            notes.append(f"{path}: the device clock was UTC{file_offset_min / 60:+.2f} h; times are shown in UTC. "
                         "Pass --tz ZONE to show local times")
        return zone, off_ns
    else:
        zone = local_zone()
        msg = (f"{path}: the file's times are device-local without a zone; assumed {zone} (this computer's "
               "zone). Pass --tz ZONE if the device clock was set elsewhere")
        notes.append(msg)
        warnings.warn(msg, DataQualityWarning, stacklevel=3)
    loc = t0.tz_localize(zone, ambiguous=True, nonexistent="shift_forward")
    off = loc.utcoffset()
    return zone, int(off.total_seconds() * 1e9) if off is not None else 0


def detect_vertical_axis(xyz: np.ndarray, fs: float) -> tuple[str, str]:
    """Axis (with sign) that carries gravity in the still 1 s windows of ``xyz`` (g).

    Returns ``(axis, note)``; the note says that the axis was detected and how to override it.
    """
    w = max(2, int(round(fs)))
    k = xyz.shape[0] // w
    if k == 0:
        return "+y", "vertical axis not detectable (too few samples); +y assumed. Pass --vertical-axis"
    win = xyz[: k * w].astype(np.float64).reshape(k, w, 3)
    means = win.mean(axis=1)
    still = (win.std(axis=1) < 0.05).all(axis=1)
    pick = means[still] if still.sum() >= 5 else means
    med = np.median(pick, axis=0)
    j = int(np.argmax(np.abs(med)))
    axis = ("-" if med[j] < 0 else "+") + "xyz"[j]
    return axis, (f"vertical axis {axis} detected from the data (median at rest {med[0]:+.2f}, {med[1]:+.2f}, "
                  f"{med[2]:+.2f} g on x, y, z); pass --vertical-axis to override")


def quality_note(msg: str, notes: list[str], *, stacklevel: int = 3) -> None:
    """Record a data-quality decision in ``notes`` and warn with :class:`DataQualityWarning`."""
    notes.append(msg)
    warnings.warn(msg, DataQualityWarning, stacklevel=stacklevel)


# -- registration (lazy imports keep `import impactlab` light) ------------------------------------


def _open_gt3x(path: str, **kw: Any) -> RecordingSource:
    from .gt3x import open_gt3x

    return open_gt3x(path, tz=kw.get("tz"), vertical_axis=kw.get("vertical_axis"))


def _open_cwa(path: str, **kw: Any) -> RecordingSource:
    from .cwa import open_cwa

    return open_cwa(path, tz=kw.get("tz"), vertical_axis=kw.get("vertical_axis"))


def _open_geneactiv(path: str, **kw: Any) -> RecordingSource:
    from .geneactiv import open_geneactiv

    return open_geneactiv(path, tz=kw.get("tz"), vertical_axis=kw.get("vertical_axis"))


def _sniff_gt3x(head: bytes, suffix: str) -> bool:
    return suffix in (".gt3x", ".agdc") or (head[:4] == _ZIP and (b"log.bin" in head or b"activity.bin" in head))


def _sniff_cwa(head: bytes, suffix: str) -> bool:
    return suffix == ".cwa" or (head[:2] == b"MD" and head[2:4] == b"\xfc\x03")


def _sniff_geneactiv(head: bytes, suffix: str) -> bool:
    return head.startswith(b"Device Identity") or suffix == ".bin"


def _register() -> None:
    from . import register_reader

    register_reader("geneactiv", _sniff_geneactiv, _open_geneactiv)
    register_reader("cwa", _sniff_cwa, _open_cwa)
    register_reader("gt3x", _sniff_gt3x, _open_gt3x)


_register()
