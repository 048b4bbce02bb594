"""The README's Python API section is run as a doctest, so what it shows stays true."""

from __future__ import annotations

import doctest
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_readme_python_api_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    res = doctest.testfile(str(ROOT / "README.md"), module_relative=False, optionflags=doctest.ELLIPSIS,
                           raise_on_error=False, verbose=False)
    assert res.attempted >= 7
    assert res.failed == 0
