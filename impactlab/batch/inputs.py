"""Which files a batch analyses, and the recording id each one gets.

Inputs are files, folders (walked recursively, following symlinked files and folders, hidden ones
left out) and glob patterns (``**`` recurses). ``include`` / ``exclude`` patterns narrow them.
Every file found is sniffed by content, as :func:`impactlab.io.open_recording` would dispatch it:
files that are no recording (a README, a ``.npz``, a markers CSV) are *skipped* with the reason,
never counted as failed recordings. A file named on the command line that does not exist stays in
(it fails with "no such file", which the user needs to see).

A recording's id is its file name as the user named it (a symlink's own name, not its target's),
without extensions; files that share a name are told apart by the shortest parent path that
distinguishes them (``sub01/day1`` and ``sub02/day1``), never by a hash.
"""

from __future__ import annotations

import fnmatch
import glob
import gzip
import os
import re
import warnings
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ..errors import ImpactlabWarning
from ._files import COLLATED

__all__ = ["Inputs", "expand_paths", "find_inputs", "recording_ids", "sniff_format"]

_HEAD = 1 << 16
_GZIP = b"\x1f\x8b"
#: suffixes only recordings have: a file so named that no reader recognises is a damaged recording (it fails)
_BINARY_SUFFIXES = (".parquet", ".cwa", ".gt3x", ".agdc", ".bin")
# a header cell naming an acceleration axis: x, acc_x, accel_x, x_g, ax, accelerometer x, accx, ...
_AXIS_CELL = re.compile(r"^(acc(el(eration|erometer)?)?[ _]?)?[xyz]([ _]?\(?g\)?)?$|^a[xyz]$|^acc[xyz]$")
_TIME_CELL = re.compile(r"^\d{4}-\d\d-\d\d[T ]\d")


@dataclass
class Inputs:
    """What a batch found: recordings (with their format) and files that are no recording.

    Attributes
    ----------
    recordings : list of pathlib.Path
        Absolute paths as the user named them (symlinks not resolved), in the order given; folders
        and globs contribute in sorted order.
    formats : dict
        Path -> reader name (``gt3x``, ``cwa``, ``actigraph_csv``, ``csv``, ``parquet``,
        ``geneactiv``), or ``missing`` for a named file that does not exist.
    skipped : list of (pathlib.Path, str)
        Files found that are not recordings, with the reason.
    roots : dict
        Path -> the folder it was found under (for ``include`` / ``exclude`` and ids), when found
        by walking a folder.
    """

    recordings: list[Path] = field(default_factory=list)
    formats: dict[Path, str] = field(default_factory=dict)
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    roots: dict[Path, Path] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        """Recordings per format, most frequent first."""
        return dict(Counter(self.formats[p] for p in self.recordings).most_common())

    def describe(self) -> str:
        """One line: ``12 recordings (8 gt3x, 4 actigraph_csv); 2 files skipped (not recordings)``."""
        n = len(self.recordings)
        text = f"{n} recording{'s' if n != 1 else ''}"
        if n:
            text += " (" + ", ".join(f"{v} {k}" for k, v in self.counts().items()) + ")"
        if self.skipped:
            text += f"; {len(self.skipped)} file{'s' if len(self.skipped) != 1 else ''} skipped (not recordings)"
        return text


def _head(path: Path) -> bytes:
    with open(path, "rb") as fh:
        head = fh.read(_HEAD)
    if head[:2] == _GZIP:
        try:
            with gzip.open(path, "rb") as fh:
                return fh.read(_HEAD)
        except (OSError, EOFError):
            return b""  # a damaged .gz: let the reader say what is wrong
    return head


def _csv_is_recording(head: bytes) -> bool:
    text = head[:4096].decode("utf-8", "replace").lstrip("\ufeff")
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    cells = [c.strip().strip('"').lower() for c in re.split(r"[,;\t]", first)]
    if first.startswith("Device Type"):  # a GENEActiv CSV export: the reader explains what to give instead
        return True
    try:
        float(cells[0])
        return len(cells) >= 4  # headerless time,x,y,z
    except ValueError:
        pass
    if _TIME_CELL.match(cells[0]):
        return len(cells) >= 4
    return sum(bool(_AXIS_CELL.match(c)) for c in cells) >= 3


def sniff_format(path: str | os.PathLike[str]) -> tuple[str | None, str]:
    """The reader that would open ``path``, judged by content as :func:`impactlab.io.open_recording` does.

    Parameters
    ----------
    path : str or os.PathLike
        A regular file.

    Returns
    -------
    (str or None, str)
        The reader name (``None`` when the file is no recording) and, when None, why.
        An empty file with a recording's suffix counts as a recording, and so does a file named
        ``.parquet`` (``.cwa``, ``.gt3x``, ...) that no reader recognises (``damaged``): it then
        fails saying what is wrong, which its owner needs to know.
    """
    from ..io import READERS

    p = Path(path)
    name = p.name.lower()
    suffix = Path(name.removesuffix(".gz")).suffix
    try:
        if p.stat().st_size == 0:
            named = suffix in (".csv", ".txt", ".tsv", *_BINARY_SUFFIXES) or name.endswith(".gz")
            return ("empty", "") if named else (None, "empty file")
        head = _head(p)
    except OSError as err:
        return "unreadable", f"cannot read it ({err.strerror or err})"
    if not head:
        return ("gzip", "") if name.endswith(".gz") else (None, "empty file")
    for reader, (sniff, _open) in reversed(list(READERS.items())):
        if not sniff(head, suffix):
            continue
        if reader == "csv" and not _csv_is_recording(head):
            return None, "a text table without time and x, y, z columns"
        return reader, ""
    if suffix in _BINARY_SUFFIXES:  # named as a recording but not one inside: damaged, and its owner must hear it
        return "damaged", ""
    if b"\x00" not in head[:4096]:
        return None, f"a text file ({suffix or 'no suffix'}), not a recording format"
    return None, f"not a recording format ({suffix or 'no suffix'})"


def _walk(folder: Path) -> list[Path]:
    """Every non-hidden file under ``folder``, following symlinks without looping, sorted."""
    found: list[Path] = []
    seen: set[str] = set()
    for d, dirs, files in os.walk(folder, followlinks=True):
        real = os.path.realpath(d)
        if real in seen:
            dirs[:] = []
            continue
        seen.add(real)
        dirs[:] = sorted(x for x in dirs if not x.startswith("."))
        found.extend(Path(d) / f for f in files if not f.startswith("."))
    return sorted(found)


def _matches(rel: PurePosixPath, patterns: Sequence[str]) -> bool:
    """Whether a path relative to its input root matches a pattern: the file name, a folder on the
    path (patterns without ``/``) or the relative path (``pilot/*``, ``**/day1*``)."""
    for pat in patterns:
        if "/" in pat:
            if fnmatch.fnmatch(str(rel), pat) or fnmatch.fnmatch(str(rel), pat.removeprefix("**/")):
                return True
        elif any(fnmatch.fnmatch(part, pat) for part in rel.parts):
            return True
    return False


def _glob_root(pattern: str) -> Path:
    """The folder part of a glob before its first wildcard: ``data/**/*.cwa`` -> ``data``."""
    parts = Path(pattern).parts
    n = next(i for i, part in enumerate(parts) if glob.has_magic(part))
    return Path(*parts[:n]) if n else Path(".")


def find_inputs(
    patterns: Iterable[str | os.PathLike[str]],
    *,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    out: str | os.PathLike[str] | None = None,
) -> Inputs:
    """The recordings named by paths, folders (walked recursively) and globs, sniffed by content.

    Parameters
    ----------
    patterns : iterable of str or os.PathLike
        Files, folders or glob patterns (``'data/**/*.gt3x'``).
    include : sequence of str
        Glob patterns; when given, only files matching one are taken (matched against the file
        name, each folder on its path below the input folder, or that relative path when the
        pattern has a ``/``). Files named explicitly are always taken.
    exclude : sequence of str
        Glob patterns of files to leave out (matched the same way), applied after ``include``.
    out : str or os.PathLike, optional
        The batch's output folder: nothing under it is an input.

    Returns
    -------
    Inputs
        Recordings with their format, and the files skipped as not recordings.
    """
    ex = Path(os.path.abspath(out)) if out is not None else None
    ex_real = Path(os.path.realpath(out)) if out is not None else None
    res = Inputs()
    seen: set[Path] = set()
    for pat in patterns:
        s = os.fspath(pat)
        explicit = False
        if glob.has_magic(s):
            found = [Path(m) for m in sorted(glob.glob(s, recursive=True)) if os.path.isfile(m)]
            root = _glob_root(s)
            if not found:
                warnings.warn(f"{s}: no file matches this pattern", ImpactlabWarning, stacklevel=2)
        elif os.path.isdir(s):
            root = Path(s)
            found = _walk(root)
        else:
            root, found, explicit = Path(s).parent, [Path(s)], True
        for p in found:
            a = Path(os.path.abspath(p))
            if a in seen:
                continue
            if ex is not None and ex_real is not None and (
                    ex in a.parents or a == ex or ex_real in Path(os.path.realpath(a)).parents):
                continue
            rel = PurePosixPath(Path(os.path.relpath(a, os.path.abspath(root))).as_posix())
            if not explicit and ((include and not _matches(rel, include)) or (exclude and _matches(rel, exclude))):
                continue
            if explicit and exclude and _matches(rel, exclude):
                continue
            seen.add(a)
            if not a.exists():
                res.recordings.append(a)
                res.formats[a] = "missing"
                continue
            if not a.is_file():
                res.skipped.append((a, "not a regular file"))
                continue
            fmt, why = sniff_format(a)
            if fmt is None:
                res.skipped.append((a, why))
            else:
                res.recordings.append(a)
                res.formats[a] = fmt
                res.roots[a] = Path(os.path.abspath(root))
    return res


def expand_paths(patterns: Iterable[str | os.PathLike[str]], *, exclude: str | os.PathLike[str] | None = None) -> list[Path]:
    """The recording files named by paths, folders (recursively) and globs (:func:`find_inputs`).

    Parameters
    ----------
    patterns : iterable of str or os.PathLike
        Paths, globs or folders.
    exclude : str or os.PathLike, optional
        A folder whose files are never inputs (the batch's own output).

    Returns
    -------
    list of pathlib.Path
        Absolute paths as named (symlinks not resolved), in the order given; files that are not
        recordings are left out.
    """
    return find_inputs(patterns, out=exclude).recordings


def _stem(path: Path) -> str:
    """The file name without its extensions: ``p01.csv.gz`` -> ``p01``, ``P01_2024.03.01.gt3x`` -> ``P01_2024.03.01``."""
    name = path.name
    if name.lower().endswith(".gz"):
        name = name[:-3]
    stem = Path(name).stem if Path(name).suffix else name
    return stem.lstrip(".") or "recording"


def recording_ids(paths: Sequence[Path]) -> dict[Path, str]:
    """A unique, readable recording id for each path: the file name without extensions.

    Files that share a name are told apart by the shortest run of parent folders that makes every
    id unique (``sub01/day1``, ``sub02/day1``); two files of one folder that differ only by
    extension keep theirs (``p01.csv``, ``p01.cwa``). An id is also lengthened when it would be
    ``collated`` or a folder of another id's path, so every recording gets its own output folder.
    Symlinks are not resolved: a link named by participant gives the participant's id.

    Parameters
    ----------
    paths : sequence of pathlib.Path
        Absolute input paths, no duplicates.

    Returns
    -------
    dict
        Path -> recording id (``/``-separated when parent folders are needed).

    Examples
    --------
    >>> from pathlib import Path
    >>> ids = recording_ids([Path("/c/sub01/day1.gt3x"), Path("/c/sub02/day1.gt3x"), Path("/c/sub03.gt3x")])
    >>> list(ids.values())
    ['sub01/day1', 'sub02/day1', 'sub03']
    """
    parents = {p: Path(os.path.abspath(p)).parent.parts[1:] for p in paths}
    depth = dict.fromkeys(paths, 0)
    full = dict.fromkeys(paths, False)

    def rid(p: Path) -> str:
        leaf = p.name if full[p] else _stem(p)
        up = parents[p][len(parents[p]) - depth[p]:] if depth[p] else ()
        return "/".join([*up, leaf])

    for _ in range(max((len(v) for v in parents.values()), default=0) + 2):
        ids = {p: rid(p) for p in paths}
        groups: dict[str, list[Path]] = {}
        for p, v in ids.items():
            groups.setdefault(v, []).append(p)
        folders = {"/".join(v.split("/")[:i]) for v in ids.values() for i in range(1, v.count("/") + 1)}
        changed = False
        for v, group in groups.items():
            clash = len(group) > 1 or v.split("/")[0] == COLLATED or v in folders
            if not clash:
                continue
            if len(group) > 1 and len({parents[p] for p in group}) == 1:  # same folder: the extensions tell
                for p in group:
                    changed |= not full[p]
                    full[p] = True
                continue
            for p in group:
                if depth[p] < len(parents[p]):
                    depth[p] += 1
                    changed = True
        if not changed:
            break
    return {p: rid(p) for p in paths}
