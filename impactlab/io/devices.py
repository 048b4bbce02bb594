"""Device binary formats: the helpers the device readers share (defined in :mod:`impactlab.io._common`).

The readers are registered in :data:`impactlab.io.READERS` by :mod:`impactlab.io` itself, so no
reader imports this module back.

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

from ._common import clock_offset, describe_content, detect_vertical_axis, export_hint, fixed_offset_zone, quality_note

__all__ = ["clock_offset", "describe_content", "detect_vertical_axis", "export_hint", "fixed_offset_zone", "quality_note"]
