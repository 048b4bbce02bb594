"""Write raw BLE logs: every GATT write sent and every notification received, as CSV.

Format ``time,direction,uuid,hex`` (documented in ``firmware_config/README.md``; read back by
:mod:`impactlab.io.blelog`). :func:`raw_log` sets the log for the current context, and every
:class:`~impactlab.ble.client.SensorClient` created inside it records its traffic there.
"""

from __future__ import annotations

import contextvars
import datetime as _dt
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

__all__ = ["RawLog", "current_raw_log", "raw_log"]

_CURRENT: contextvars.ContextVar[RawLog | None] = contextvars.ContextVar("impactlab_raw_log", default=None)


class RawLog:
    """An open raw log; :meth:`record` appends one line (host time with its UTC offset)."""

    def __init__(self, fh: TextIO) -> None:
        self.fh = fh
        self.lines = 0
        fh.write("time,direction,uuid,hex\n")

    def record(self, direction: str, uuid: str, data: bytes | bytearray) -> None:
        """Append ``direction`` (``tx``/``rx``), the characteristic ``uuid`` and ``data``."""
        t = _dt.datetime.now(_dt.UTC).astimezone().isoformat(timespec="microseconds")
        self.fh.write(f"{t},{direction},{uuid},{bytes(data).hex(' ')}\n")
        self.lines += 1


def current_raw_log() -> RawLog | None:
    """The raw log of the current context, if any."""
    return _CURRENT.get()


@contextmanager
def raw_log(path: str | os.PathLike[str] | None) -> Iterator[RawLog | None]:
    """Record BLE traffic to ``path`` inside the ``with`` block (no-op for ``None``)."""
    if path is None:
        yield None
        return
    with open(path, "w", encoding="utf-8", newline="") as fh:
        log = RawLog(fh)
        token = _CURRENT.set(log)
        try:
            yield log
        finally:
            _CURRENT.reset(token)
