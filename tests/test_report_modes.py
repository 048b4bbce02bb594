"""Every report impactlab writes names a client and holds health data: the weekly HTML and PDF, the
caseload page (and the weekly reports beside it) and today's page are owner-only (0600), like the
store, whatever the umask, also when they replace a file that was readable by others."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from impactlab.cli.main import main

from impactlab.io import write_parquet
from impactlab.report.browser import find_chromium

from .test_store import _rec


@pytest.fixture
def open_umask() -> Iterator[None]:
    old = os.umask(0o022)  # the usual default: new files 0644
    try:
        yield
    finally:
        os.umask(old)


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def test_reports_are_owner_only(tmp_path: Path, open_umask: None) -> None:
    store = tmp_path / "s.sqlite"
    f = tmp_path / "mon.parquet"
    write_parquet(_rec(seed=3), f)
    assert main(["import", str(f), "--client", "c1", "--store", str(store), "-q"]) == 0
    s = ["--store", str(store), "-q"]
    week = tmp_path / "week.html"
    week.write_text("old")
    os.chmod(week, 0o644)  # a report written by an older version, readable by all
    assert main(["report", "--client", "c1", "--week", "2026-W10", "--html", str(week), *s]) == 0
    today = tmp_path / "today.html"
    assert main(["today", "--client", "c1", "--html", str(today), *s]) == 0
    case = tmp_path / "all" / "caseload.html"
    assert main(["report", "--all", "--week", "2026-W10", "--html", str(case), *s]) == 0
    written = [week, today, *sorted(case.parent.glob("*.html"))]
    assert len(written) == 4 and "c1" in week.read_text()
    assert {p.name: _mode(p) for p in written} == {p.name: 0o600 for p in written}
    assert _mode(store) == 0o600  # the store's own mode, for comparison
    assert not [p for p in tmp_path.rglob(".*tmp*")]  # no temporary file left beside them


@pytest.mark.skipif(find_chromium() is None and not os.environ.get("CI"), reason="headless Chromium is not installed")
def test_pdf_report_is_owner_only(tmp_path: Path, open_umask: None) -> None:
    store = tmp_path / "s.sqlite"
    f = tmp_path / "mon.parquet"
    write_parquet(_rec(seed=3), f)
    assert main(["import", str(f), "--client", "c1", "--store", str(store), "-q"]) == 0
    pdf = tmp_path / "week.pdf"
    assert main(["report", "--client", "c1", "--week", "2026-W10", "--pdf", str(pdf), "--store", str(store), "-q"]) == 0
    assert pdf.read_bytes()[:5] == b"%PDF-" and _mode(pdf) == 0o600
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".week.pdf")]  # the private folder is gone
