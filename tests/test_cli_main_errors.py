"""What ``impactlab`` prints when the system refuses a path: one line and exit 1, never a traceback or exit 70."""

from __future__ import annotations

import argparse
import errno
from pathlib import Path

import pytest
from impactlab.cli import main as cli_main


def _run_raising(monkeypatch: pytest.MonkeyPatch, exc: BaseException, tmp_path: Path) -> int:
    from impactlab.cli.commands import sample_data

    def boom(args: argparse.Namespace) -> int:
        raise exc

    monkeypatch.setattr(sample_data, "run", boom)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    return cli_main.main(["sample-data", str(tmp_path)])


@pytest.mark.parametrize(("exc", "says"), [
    (PermissionError(errno.EACCES, "Permission denied", "/srv/clinic/week.html"), "a folder you own"),
    (NotADirectoryError(errno.ENOTDIR, "Not a directory", "notes.txt/week.html"), "move that file away"),
    (FileNotFoundError(errno.ENOENT, "No such file or directory", "gone/week.html"), "its folder exists"),
    (OSError(errno.ENOSPC, "No space left on device", "results/x.csv"), "the disk has room"),
])
def test_an_os_error_on_a_path_is_one_line_exit_1(exc: OSError, says: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert _run_raising(monkeypatch, exc, tmp_path) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"impactlab: error: {exc.filename}: {exc.strerror}. ") and says in err
    assert not (tmp_path / "state").exists()  # no crash report: not a bug


def test_an_os_error_without_a_path_is_still_an_internal_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert _run_raising(monkeypatch, OSError("socket closed"), tmp_path) == 70
    err = capsys.readouterr().err
    assert "internal error" in err and "crash report" in err
    assert list((tmp_path / "state" / "impactlab").glob("crash-*.txt"))
