"""The sample recordings and plans, installed with impactlab as ``impactlab.sample_data``.

Every example in the README and in ``impactlab COMMAND --help`` names ``sample_data/...``. In a
checkout that is this folder; from an installed wheel, ``impactlab sample-data`` (or
:func:`copy_to`) copies these files into ``./sample_data`` so the same commands run as written.
``README.md`` here gives each file's expected answers, ``PROVENANCE.md`` where it comes from.
"""

from __future__ import annotations

import shutil
from pathlib import Path

#: this folder (inside the installed package, or the checkout's ``sample_data/``)
HERE = Path(__file__).resolve().parent

#: files a user runs or reads; ``sim-week.parquet`` is built by ``make_sample_week.py``, never shipped
FILES = (
    "README.md",
    "PROVENANCE.md",
    "sim-day.parquet",
    "actigraph-hip-5min.csv",
    "plan.toml",
    "plan-progression.toml",
    "markers-week.csv",
    "make_sample_day.py",
    "make_sample_week.py",
)


def copy_to(dest: str | Path) -> tuple[list[Path], list[Path]]:
    """Copy the sample files into the folder ``dest`` (created when missing).

    Parameters
    ----------
    dest
        Destination folder, e.g. ``./sample_data``.

    Returns
    -------
    (written, kept)
        Paths written, and paths left alone because a file of that name was already there
        (identical or not: a file the user changed is never overwritten).

    Raises
    ------
    FileNotFoundError
        When a sample file is missing from the installation (a broken wheel).
    """
    out = Path(dest)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    kept: list[Path] = []
    for name in FILES:
        src, dst = HERE / name, out / name
        if not src.is_file():
            raise FileNotFoundError(src)
        if dst.exists():
            kept.append(dst)
            continue
        shutil.copyfile(src, dst)
        written.append(dst)
    return written, kept

