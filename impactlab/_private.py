"""Files that hold a person's data, created readable and writable by their owner only (0600).

The store, reports and crash reports are written so; so are the tables of ``analyze -o`` and
``batch`` (impacts with their times, days, sessions, the recording's metadata), whatever the
umask: a table is as identifying as the report made from it. Give others access deliberately
(``chmod``) once the tables are pseudonymised.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO, Literal, overload

__all__ = ["PRIVATE_MODE", "open_private", "write_private_text"]

#: Mode of every file impactlab writes with a person's data in it.
PRIVATE_MODE = 0o600


@overload
def open_private(path: str | os.PathLike[str], *, binary: Literal[False] = ...) -> IO[str]: ...
@overload
def open_private(path: str | os.PathLike[str], *, binary: Literal[True]) -> IO[bytes]: ...
def open_private(path: str | os.PathLike[str], *, binary: bool = False) -> IO[str] | IO[bytes]:
    """Open ``path`` for writing (created or truncated) with mode 0600, whatever the umask.

    Parameters
    ----------
    path : str or os.PathLike
        The file.
    binary : bool
        Bytes (Parquet) instead of UTF-8 text (CSV, JSON; newlines written as given).

    Returns
    -------
    file object
        To be closed by the caller (``with``).
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_MODE)
    try:
        os.fchmod(fd, PRIVATE_MODE)  # an existing file, or a umask that took bits away from the owner
    except OSError:
        os.close(fd)
        raise
    if binary:
        return os.fdopen(fd, "wb")
    return os.fdopen(fd, "w", encoding="utf-8", newline="")


def write_private_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` with mode 0600; return the path."""
    with open_private(path) as fh:
        fh.write(text)
    return Path(path)
