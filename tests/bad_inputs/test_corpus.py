"""The bad-input corpus (issue 14) through the CLI: one error line naming the file, no traceback, nothing left.

Every case of :mod:`tests.bad_inputs.make_corpus` runs in-process through ``main(argv)`` (fast); a
handful also run as a real ``impactlab`` process with ``TMPDIR`` pointed at an empty folder.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from impactlab.cli.main import main

from tests.bad_inputs.make_corpus import Case, argv_of, build

ROOT = Path(__file__).resolve().parents[2]
SUBPROCESS = ("bomb.gt3x", "fifo.csv", "truncated.csv.gz")


def _problems(case: Case, code: int | None, err: str) -> list[str]:
    """What is wrong with how the CLI handled ``case`` (empty when it is right)."""
    out = []
    lines = [ln for ln in err.splitlines() if ln.strip()]
    if code != case.code:
        out.append(f"exit {code}, expected {case.code}")
    if "Traceback" in err:
        out.append("a traceback")
    if case.code == 1:
        if len(lines) != 1:
            out.append(f"{len(lines)} lines on stderr")
        first = lines[0] if lines else ""
        if not first.startswith("impactlab: error: "):
            out.append("not an 'impactlab: error:' line")
        if str(case.file) not in first:
            out.append("the file is not named")
        if case.line is not None and f":line {case.line}:" not in first:
            out.append(f"line {case.line} is not named")
        if not re.search(r"\. [A-Z]", first.split(str(case.file), 1)[-1]):
            out.append("no advice (a sentence after the problem)")
        if len(first) > 500:
            out.append(f"{len(first)} characters")
    else:
        out += [f"stderr line not naming the file: {ln[:120]}" for ln in lines if str(case.file) not in ln]
        if case.line is not None and not re.search(rf"\bline {case.line}\b", err):
            out.append(f"line {case.line} is not named")
    return [f"{case.name}: {p} | {err.strip()[:300]}" for p in out]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> list[Case]:
    return build(tmp_path_factory.mktemp("corpus"))


def test_corpus_has_every_kind(corpus: list[Case]) -> None:
    """At least 60 cases, covering every reader, plans, markers and ``mark``."""
    names = [c.name for c in corpus]
    assert len(names) >= 60 and len(set(names)) == len(names)
    for kind in (".csv", ".csv.gz", ".parquet", ".gt3x", ".cwa", ".bin", ".toml"):
        assert sum(n.endswith(kind) for n in names) >= 3, kind
    assert sum(n.startswith("markers-") for n in names) >= 5 and sum(n.startswith("mark-") for n in names) >= 3


def test_corpus_in_process(corpus: list[Case], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every case: the right exit code, one line naming the file (and line) with advice, no traceback,
    nothing left in TMPDIR or the working folder, and a markers file untouched by a refused ``mark``."""
    tmpdir, work = tmp_path / "tmp", tmp_path / "work"
    tmpdir.mkdir()
    work.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmpdir))
    monkeypatch.setattr(tempfile, "tempdir", str(tmpdir))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.chdir(work)
    problems: list[str] = []
    ran = 0
    for case in corpus:
        if case.needs is not None and not case.needs.exists():
            continue
        before = case.file.read_bytes() if case.name.startswith("mark-") and case.file.exists() else None
        argv = [a for a in argv_of(case) if a != "-q" or case.code == 1]
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            try:
                code: int | None = main(argv)
            except SystemExit as stop:
                code = stop.code if isinstance(stop.code, int) else None
        problems += _problems(case, code, err.getvalue())
        if before is not None and case.file.read_bytes() != before:
            problems.append(f"{case.name}: the markers file was changed")
        ran += 1
    assert ran >= 60
    assert not problems, "\n".join(problems)
    assert list(tmpdir.iterdir()) == [] and list(work.iterdir()) == []


def test_corpus_as_processes(corpus: list[Case], tmp_path: Path) -> None:
    """A few cases as a user runs them: a real process, within 30 s, TMPDIR empty afterwards."""
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    env = {**os.environ, "TMPDIR": str(tmpdir), "XDG_STATE_HOME": str(tmp_path / "state")}
    problems: list[str] = []
    for case in corpus:
        if case.name not in SUBPROCESS or (case.needs is not None and not case.needs.exists()):
            continue
        r = subprocess.run([sys.executable, "-m", "impactlab.cli.main", *argv_of(case)], capture_output=True,
                           text=True, env=env, cwd=tmp_path, timeout=30)
        problems += _problems(case, r.returncode, r.stderr)
    assert not problems, "\n".join(problems)
    assert list(tmpdir.iterdir()) == []
