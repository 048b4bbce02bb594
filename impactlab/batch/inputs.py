"""Which files a batch analyses, and the recording id each one gets."""

from __future__ import annotations

import glob
import hashlib
import os
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path

from ..errors import ImpactlabWarning
from ._files import COLLATED

__all__ = ["RECORDING_SUFFIXES", "expand_paths", "recording_ids"]

#: Suffixes taken from a folder given as input (files named explicitly or by a glob are always taken).
RECORDING_SUFFIXES = (".csv", ".gz", ".txt", ".tsv", ".parquet", ".cwa", ".bin", ".gt3x")


def expand_paths(patterns: Iterable[str | os.PathLike[str]], *, exclude: str | os.PathLike[str] | None = None) -> list[Path]:
    """Files named by paths, glob patterns (``**`` recurses) and folders, absolute and deduplicated.

    A folder contributes its files whose suffix is a recording's (:data:`RECORDING_SUFFIXES`), not
    recursively. A path that does not exist is kept (it fails in the batch with a clear error);
    a glob that matches nothing is warned about.

    Parameters
    ----------
    patterns : iterable of str or os.PathLike
        Paths, globs or folders.
    exclude : str or os.PathLike, optional
        A folder whose files are never inputs (the batch's own output).

    Returns
    -------
    list of pathlib.Path
        Absolute paths in the order given (globs and folders sorted).
    """
    ex = Path(exclude).resolve() if exclude is not None else None
    seen: dict[Path, None] = {}
    for pat in patterns:
        s = os.fspath(pat)
        if glob.has_magic(s):
            found = [Path(m) for m in sorted(glob.glob(s, recursive=True)) if os.path.isfile(m)]
            if not found:
                warnings.warn(f"{s}: no file matches this pattern", ImpactlabWarning, stacklevel=2)
        elif os.path.isdir(s):
            found = sorted(p for p in Path(s).iterdir() if p.is_file() and not p.name.startswith(".")
                           and any(p.name.lower().endswith(x) for x in RECORDING_SUFFIXES))
        else:
            found = [Path(s)]
        for p in found:
            a = p.resolve() if p.exists() else Path(os.path.abspath(p))
            if ex is not None and (a == ex or ex in a.parents):
                continue
            seen.setdefault(a, None)
    return list(seen)


def _stem(path: Path) -> str:
    stem = path.name.split(".")[0] or path.name.lstrip(".").split(".")[0] or "recording"
    return stem


def recording_ids(paths: Sequence[Path]) -> dict[Path, str]:
    """A unique, readable recording id for each path: the file name without extensions.

    Files that share a name get their folder's name in front (``p01-day1``); if that is still
    ambiguous, a short hash of the path is appended. ``collated`` is reserved.

    Parameters
    ----------
    paths : sequence of pathlib.Path
        Absolute input paths, no duplicates.

    Returns
    -------
    dict
        Path -> recording id.
    """
    ids = {p: _stem(p) for p in paths}
    for attempt in range(3):
        counts: dict[str, int] = {}
        for v in ids.values():
            counts[v] = counts.get(v, 0) + 1
        clash = {p for p, v in ids.items() if counts[v] > 1 or v == COLLATED}
        if not clash:
            break
        for p in clash:
            if attempt == 0:
                ids[p] = f"{p.parent.name}-{_stem(p)}"
            else:
                ids[p] = f"{ids[p]}-{hashlib.sha1(str(p).encode()).hexdigest()[:8]}"
    return ids

