"""GENEActiv ``.bin`` recordings: text header and hex pages decoded with numpy, device calibration applied.

Layout (Activinsights' documented format): a text header (``Device Identity``, ``Device
Capabilities``, ``Configuration Info`` with ``Measurement Frequency`` and ``Time Zone: GMT +01:00``,
``Calibration Data`` with ``x gain``, ``x offset``... and ``Memory Status`` with ``Number of
Pages``), then pages of ten lines: ``Recorded Data``, serial code, ``Sequence Number``, ``Page
Time:YYYY-MM-DD hh:mm:ss:mmm``, ``Unassigned``, ``Temperature`` (°C), ``Battery voltage``, ``Device
Status``, ``Measurement Frequency`` and one line of 3600 hexadecimal digits: 300 samples of 48 bits,
each x, y, z as 12-bit two's complement, then light (10 bits), button and a spare bit.

Acceleration in g is ``(raw · 100 − offset) / gain`` per axis with the device's own calibration
from the header. Sample ``i`` of a page is at ``page time + i / rate``, where the rate is the
GENEActiv clock's exact 600 / n Hz (85.7 means 600 / 7 = 85.714 Hz, so a page lasts 3.5 s).
Page times are device-local; the header's ``Time Zone`` is used unless ``tz`` is given.

The hex lines are gathered per chunk, turned to bytes with :meth:`bytes.fromhex` and decoded with
vectorised bit operations; the per-page work in Python is one regular-expression match.
A page whose header or hex line is damaged or cut short is reported (page number and byte offset)
with a :class:`~impactlab.errors.DataQualityWarning` and skipped.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import datetime

import numpy as np
import pandas as pd

from ..errors import CorruptFileError, UnsupportedFormatError
from ..recording import Recording, RecordingMeta
from ._common import RecordingSource, clip, clock_offset, describe_content, detect_vertical_axis, export_hint, make_chunk, quality_note

__all__ = ["open_geneactiv", "read_geneactiv", "read_geneactiv_header"]

SAMPLES_PER_PAGE = 300
HEX_CHARS = SAMPLES_PER_PAGE * 12
#: Bytes read per chunk (about 4 000 pages, 1.2 M samples).
CHUNK_BYTES = 16 << 20

_PAGE = re.compile(
    rb"Recorded Data\r?\n"
    rb"[^\r\n]*\r?\n"  # Device Unique Serial Code
    rb"Sequence Number:\s*(\d+)\s*\r?\n"
    rb"Page Time:\s*(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d:\d{3})\s*\r?\n"
    rb"[^\r\n]*\r?\n"  # Unassigned
    rb"Temperature:\s*(-?[\d.]+)\s*\r?\n"
    rb"[^\r\n]*\r?\n"  # Battery voltage
    rb"[^\r\n]*\r?\n"  # Device Status
    rb"Measurement Frequency:\s*([\d.]+)[^\r\n]*\r?\n"
    rb"([0-9A-Fa-f]{3600})\r?\n?"
)
_START = b"Recorded Data"


def _field(text: str, key: str) -> str | None:
    m = re.search(rf"^{re.escape(key)}:(.*)$", text, flags=re.MULTILINE)
    return m.group(1).replace("\x00", "").strip() if m else None


def read_geneactiv_header(path: str | os.PathLike[str]) -> dict[str, object]:
    """Decode the text header of a GENEActiv .bin file.

    Returns
    -------
    dict
        ``serial``, ``model``, ``firmware``, ``sample_rate_hz`` (exact 600/n Hz), ``range_g``,
        ``gain`` and ``offset`` (3-tuples, x, y, z), ``time_zone_min`` (or None), ``pages`` (as the
        header says), ``data_offset`` (byte offset of the first page).

    Raises
    ------
    CorruptFileError
        Empty file, header cut short, calibration missing or zero gain.
    UnsupportedFormatError
        Not a GENEActiv .bin file (the message says what it looks like).
    """
    path = os.fspath(path)
    with open(path, "rb") as fh:
        head = fh.read(1 << 16)
    if not head:
        raise CorruptFileError("the file is empty (0 bytes)", path=path, offset=0, hint=export_hint("geneactiv"))
    if not head.startswith(b"Device Identity"):
        raise UnsupportedFormatError(
            f"this is not a GENEActiv .bin file: it looks like {describe_content(head)}", path=path,
            hint=export_hint("geneactiv"),
        )
    end = head.find(_START)
    if end < 0:
        raise CorruptFileError(
            f"the header has no 'Recorded Data' page within the first {len(head)} bytes", path=path,
            offset=len(head), hint="The file was cut short or holds no data; download it again",
        )
    text = head[:end].decode("latin-1")
    try:
        gain = tuple(float(_field(text, f"{a} gain") or "nan") for a in "xyz")
        offset = tuple(float(_field(text, f"{a} offset") or "nan") for a in "xyz")
    except ValueError:
        gain = offset = (float("nan"),) * 3
    if not all(np.isfinite(gain + offset)) or any(g == 0 for g in gain):
        raise CorruptFileError(
            "the 'Calibration Data' section (x/y/z gain and offset) is missing or invalid", path=path,
            offset=0, hint="The header is damaged; download the file again with GENEActiv PC software",
        )
    freq_txt = _field(text, "Measurement Frequency") or ""
    m = re.match(r"([\d.]+)", freq_txt)
    if not m or float(m.group(1)) <= 0:
        raise CorruptFileError(f"'Measurement Frequency' {clip(freq_txt)} is not a rate", path=path, offset=0,
                               hint="The header is damaged; download the file again")
    fs = exact_rate(float(m.group(1)))
    rng_txt = _field(text, "Accelerometer Range") or ""
    rm = re.search(r"(\d+(?:\.\d+)?)\s*$", rng_txt)
    tz_txt = _field(text, "Time Zone") or ""
    tm = re.search(r"([+-])\s*(\d\d):(\d\d)", tz_txt)
    tz_min = (1 if tm.group(1) == "+" else -1) * (int(tm.group(2)) * 60 + int(tm.group(3))) if tm else None
    pages = _field(text, "Number of Pages")
    return {
        "serial": _field(text, "Device Unique Serial Code"), "model": _field(text, "Device Model"),
        "firmware": _field(text, "Device Firmware Version"), "sample_rate_hz": fs,
        "range_g": float(rm.group(1)) if rm else 8.0, "gain": gain, "offset": offset, "time_zone_min": tz_min,
        "pages": int(pages) if pages and pages.isdigit() else None, "data_offset": end,
    }


def exact_rate(freq_hz: float) -> float:
    """GENEActiv rates are 600 / n Hz; the header rounds them (85.7 for 600/7)."""
    n = max(1, round(600.0 / freq_hz))
    exact = 600.0 / n
    return exact if abs(exact - freq_hz) < 0.06 else float(freq_hz)


def decode_pages(hex_lines: bytes, n_pages: int) -> np.ndarray:
    """Raw 12-bit x, y, z counts of ``n_pages`` concatenated hex lines: int16 array (n_pages · 300, 3)."""
    b = np.frombuffer(bytes.fromhex(hex_lines.decode("ascii")), np.uint8).reshape(n_pages * SAMPLES_PER_PAGE, 6)
    b = b.astype(np.int32)
    x = (b[:, 0] << 4) | (b[:, 1] >> 4)
    y = ((b[:, 1] & 0x0F) << 8) | b[:, 2]
    z = (b[:, 3] << 4) | (b[:, 4] >> 4)
    out = np.stack([x, y, z], axis=1)
    return np.where(out >= 2048, out - 4096, out).astype(np.int16)


def _page_ok(groups: tuple[bytes, ...]) -> bool:
    """A matched page whose time, temperature and rate are values (bit errors can break them)."""
    ts = groups[1]
    try:
        datetime(int(ts[0:4]), int(ts[5:7]), int(ts[8:10]), int(ts[11:13]), int(ts[14:16]), int(ts[17:19]))
        float(groups[2])
        float(groups[3])
    except ValueError:
        return False
    return 1990 <= int(ts[0:4]) <= 2200


def _parse(
    buf: bytes, base: int, first_page: int, *, final: bool
) -> tuple[list[tuple[bytes, ...]], list[tuple[int, int]], int]:
    """Complete pages in ``buf``: matches, bad (page number, byte offset), and bytes consumed.

    Unless ``final``, the last page is left for the next read when it may be incomplete.
    """
    starts = [m.start() for m in re.finditer(re.escape(_START), buf)]
    good: list[tuple[bytes, ...]] = []
    bad: list[tuple[int, int]] = []
    used = 0
    for k, s in enumerate(starts):
        nxt = starts[k + 1] if k + 1 < len(starts) else None
        m = _PAGE.match(buf, s)
        if nxt is None and not final and (m is None or m.end() == len(buf)):
            break  # maybe incomplete: wait for more bytes
        if m is not None and (nxt is None or m.end() <= nxt) and _page_ok(m.groups()):
            good.append(m.groups())
            used = nxt if nxt is not None else m.end()
        else:
            bad.append((first_page + k, base + s))
            used = nxt if nxt is not None else len(buf)
    return good, bad, used


def open_geneactiv(
    path: str | os.PathLike[str],
    *,
    tz: str | None = None,
    vertical_axis: str | None = None,
    units: str = "g",
    chunk_bytes: int = CHUNK_BYTES,
) -> RecordingSource:
    """Open a GENEActiv .bin file for chunked reading, with the device's calibration applied.

    Parameters
    ----------
    path : str or os.PathLike
        The .bin file.
    tz : str, optional
        IANA zone of the device clock (default: the header's ``Time Zone`` as a fixed offset).
    vertical_axis : str, optional
        Default: the axis carrying gravity at rest in the first pages (a note says so).
    units : str
        Ignored (the file holds calibrated counts); kept for the common reader signature.
    chunk_bytes : int
        Bytes read at a time.

    Returns
    -------
    RecordingSource
        ``meta.device == "geneactiv"``; chunks carry ``x, y, z`` (g) and ``temperature_c`` (°C, per
        page). ``extra["geneactiv"]`` (filled while reading) counts pages and bad pages.

    Raises
    ------
    CorruptFileError
        Empty, header damaged, no complete page.
    UnsupportedFormatError
        Not a GENEActiv .bin file.
    """
    path = os.fspath(path)
    h = read_geneactiv_header(path)
    gain = np.asarray(h["gain"], np.float64)
    offset = np.asarray(h["offset"], np.float64)
    fs = float(h["sample_rate_hz"])  # type: ignore[arg-type]
    data_offset = int(h["data_offset"])  # type: ignore[call-overload]
    with open(path, "rb") as fh:
        fh.seek(data_offset)
        want = min(chunk_bytes, 64 * 4000)
        first = fh.read(want)
    good, _, _ = _parse(first, data_offset, 0, final=len(first) < want)
    if not good:
        raise CorruptFileError(
            f"no complete data page after the header (byte {data_offset})", path=path, offset=data_offset,
            hint="The file was cut short; download it again with GENEActiv PC software",
        )
    notes: list[str] = []
    t_first = pd.Timestamp(good[0][1].decode().replace(" ", "T")[:19] + "." + good[0][1].decode()[-3:])
    zone, off_ns = clock_offset(tz, h["time_zone_min"], t_first.value, path, notes)  # type: ignore[arg-type]
    if vertical_axis is None:
        raw = decode_pages(b"".join(g[4] for g in good), len(good))
        vertical_axis, note = detect_vertical_axis((raw * 100.0 - offset) / gain, fs)
        notes.append(f"{path}: {note}")
    meta = RecordingMeta(
        source=path, device="geneactiv", sample_rate_hz=fs, timezone=zone, vertical_axis=vertical_axis,
        range_g=float(h["range_g"]), serial=h["serial"],  # type: ignore[arg-type]
        extra={"model": h["model"], "firmware": h["firmware"], "pages_in_header": h["pages"]},
    )
    report: dict[str, object] = {"pages": 0, "bad_pages": 0, "bad_page_list": []}
    step = np.rint(np.arange(SAMPLES_PER_PAGE) * (1e9 / fs)).astype(np.int64)

    def _pages_to_chunk(pages: list[tuple[bytes, ...]], last_ns: int | None) -> tuple[Recording | None, int | None]:
        n = len(pages)
        times = pd.to_datetime([p[1].decode() for p in pages], format="%Y-%m-%d %H:%M:%S:%f").as_unit("ns").asi8
        temp = np.array([p[2] for p in pages]).astype(np.float32)
        counts = decode_pages(b"".join(p[4] for p in pages), n)
        xyz = ((counts.astype(np.float64) * 100.0 - offset) / gain).astype(np.float32)
        t = (times - off_ns)[:, None] + step[None, :]
        prev = np.maximum.accumulate(np.r_[last_ns if last_ns is not None else np.iinfo(np.int64).min, t[:-1, -1]])
        keep = t[:, 0] > prev
        if not keep.all():
            drop = np.flatnonzero(~keep)
            quality_note(f"{path}: {drop.size} page(s) start before the previous page ends (clock set back?); "
                         "skipped", [], stacklevel=4)
            report["bad_pages"] = int(report["bad_pages"]) + drop.size  # type: ignore[call-overload]
        if not keep.any():
            return None, last_ns
        t, xyz3, temp = t[keep], xyz.reshape(n, SAMPLES_PER_PAGE, 3)[keep], temp[keep]
        rec = make_chunk(t.ravel(), xyz3.reshape(-1, 3), meta, first_line=0,
                         extra={"temperature_c": np.repeat(temp, SAMPLES_PER_PAGE)})
        return rec, int(t[-1, -1])

    def chunks() -> Iterator[Recording]:
        report.update(pages=0, bad_pages=0, bad_page_list=[])
        last_ns: int | None = None
        page_no = 0
        with open(path, "rb") as fh:
            fh.seek(data_offset)
            pos = data_offset
            rest = b""
            while True:
                more = fh.read(chunk_bytes)
                buf = rest + more
                at_end = len(more) < chunk_bytes
                good, bad, used = _parse(buf, pos, page_no, final=at_end)
                if at_end:
                    # whatever is left after the last complete page is a cut-off page
                    tail = buf[used:]
                    if tail.strip():
                        bad = [*bad, (page_no + len(good) + len(bad), pos + used)]
                        used = len(buf)
                if bad:
                    lst = report["bad_page_list"]
                    assert isinstance(lst, list)
                    lst.extend({"page": p, "offset": o} for p, o in bad[: max(0, 1000 - len(lst))])
                    report["bad_pages"] = int(report["bad_pages"]) + len(bad)  # type: ignore[call-overload]
                    first_bad = ", ".join(f"{p} (byte {o})" for p, o in bad[:5])
                    quality_note(f"{path}: skipped {len(bad)} damaged or cut-off page(s): {first_bad}"
                                 f"{' ...' if len(bad) > 5 else ''}; their samples are a gap, not filled", [],
                                 stacklevel=3)
                page_no += len(good) + len(bad)
                report["pages"] = int(report["pages"]) + len(good)  # type: ignore[call-overload]
                if good:
                    rec, last_ns = _pages_to_chunk(good, last_ns)
                    if rec is not None:
                        yield rec
                pos += used
                rest = buf[used:]
                if at_end:
                    break
        listed = h["pages"]
        if isinstance(listed, int) and int(report["pages"]) < listed:  # type: ignore[call-overload]
            quality_note(f"{path}: the header lists {listed} pages but the file holds {report['pages']} complete "
                         "page(s): it was cut short or only partly downloaded", [], stacklevel=3)

    return RecordingSource(meta=meta, chunks=chunks, n_rows_hint=(h["pages"] or 0) * SAMPLES_PER_PAGE,  # type: ignore[operator]
                           notes=notes, extra={"geneactiv": report})


def read_geneactiv(path: str | os.PathLike[str], *, tz: str | None = None, vertical_axis: str | None = None) -> Recording:
    """Read a whole GENEActiv .bin file into memory (see :func:`open_geneactiv`).

    Examples
    --------
    >>> rec = read_geneactiv("../shared/data/GGIRread/GENEActiv_testfile.bin")  # doctest: +SKIP
    >>> rec.meta.timezone  # doctest: +SKIP
    'Etc/GMT-1'
    """
    return open_geneactiv(path, tz=tz, vertical_axis=vertical_axis).read()
