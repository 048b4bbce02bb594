"""File-system helpers shared by the batch's workers, scheduler side and collation.

Every folder and table a batch writes appears whole or not at all: files are written under a
temporary name and renamed (:func:`atomic_write_text`), folders are built under ``.tmp-*`` and
swapped into place (:func:`swap_in`).
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

from .._private import write_private_text

#: Name of the collated tables' folder inside OUT (reserved: no recording may be called so).
COLLATED = "collated"
MANIFEST = "manifest.json"
ERRORS = "errors.csv"


def read_info(path: Path) -> dict[str, Any] | None:
    """The JSON object in ``path``, or None when it is missing or not JSON."""
    try:
        return json.loads(path.read_text())  # type: ignore[no-any-return]
    except (OSError, ValueError):
        return None


def swap_in(tmp: Path, final: Path) -> None:
    """Replace folder ``final`` by the finished folder ``tmp`` (renames only; the old one is removed last)."""
    if final.exists():
        old = final.parent / f".old-{final.name}-{uuid.uuid4().hex[:12]}"
        final.rename(old)
        tmp.rename(final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        tmp.rename(final)


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` (0600) through a temporary file in the same folder and a rename."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}")
    write_private_text(tmp, text)
    os.replace(tmp, path)
