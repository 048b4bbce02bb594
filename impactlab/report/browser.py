"""Headless Chromium: print a report to PDF, take a screenshot, read the rendered page.

Chromium runs with a fresh profile, no network features and no sandbox-dependent GPU path, so it
works in containers and on CI machines (``--headless --no-sandbox --disable-gpu ...``).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import ImpactlabError
from .html import REPORT_MODE

__all__ = ["BrowserRun", "find_chromium", "print_pdf", "render_page"]

_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
          "--disable-background-networking", "--disable-component-update", "--disable-sync",
          "--disable-extensions", "--hide-scrollbars", "--mute-audio")
_CONSOLE = re.compile(r"CONSOLE\((\d+)\)\]?\s*\"?(.*)|:CONSOLE:?(\d*)\]\s*\"?(.*)")


def find_chromium() -> str | None:
    """Path of a Chromium/Chrome binary (``$IMPACTLAB_CHROMIUM`` first), or None."""
    env = os.environ.get("IMPACTLAB_CHROMIUM")
    if env:
        return env if Path(env).exists() else shutil.which(env)
    for name in _NAMES:
        p = shutil.which(name)
        if p:
            return p
    return None


@dataclass(frozen=True)
class BrowserRun:
    """What one headless run produced: ``stdout`` (e.g. the DOM) and console messages."""

    stdout: str
    console: list[str]
    returncode: int


def _run(args: list[str], *, timeout_s: float) -> BrowserRun:
    exe = find_chromium()
    if exe is None:
        raise ImpactlabError("no Chromium or Chrome browser found", hint="Install it (Debian: apt-get install chromium) "
                             "or set IMPACTLAB_CHROMIUM to its path")
    with tempfile.TemporaryDirectory(prefix="impactlab-chromium-") as profile:
        cmd = [exe, *_FLAGS, f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", *args]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, check=False)
        except subprocess.TimeoutExpired:
            raise ImpactlabError(f"the browser did not finish within {timeout_s:g} s",
                                 hint="Try again; a very long report may need more time") from None
    console = [ln for ln in proc.stderr.splitlines() if "CONSOLE" in ln]
    return BrowserRun(proc.stdout, console, proc.returncode)


def print_pdf(html_path: str | os.PathLike[str], pdf_path: str | os.PathLike[str], *, timeout_s: float = 120.0) -> Path:
    """Print an HTML file to PDF with headless Chromium (A4, the page's print styles).

    Raises
    ------
    ImpactlabError
        No browser, or the PDF was not written.
    """
    src = Path(html_path).resolve()
    out = Path(pdf_path).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    # the browser writes into an owner-only folder beside the PDF (same file system for the rename)
    with tempfile.TemporaryDirectory(prefix=f".{out.name}.", dir=out.parent) as private:
        tmp = Path(private) / "report.pdf"
        run = _run([f"--print-to-pdf={tmp}", "--no-pdf-header-footer", src.as_uri()], timeout_s=timeout_s)
        if not tmp.exists() or tmp.stat().st_size == 0:
            raise ImpactlabError(f"the browser wrote no PDF (exit code {run.returncode})", path=out,
                                 hint="Run with --debug, or open the HTML and print it from a browser")
        os.chmod(tmp, REPORT_MODE)  # owner-only, like the HTML report and the store
        os.replace(tmp, out)
    return out


def render_page(html_path: str | os.PathLike[str], *, screenshot: str | os.PathLike[str] | None = None,
                window: tuple[int, int] = (1280, 2400), timeout_s: float = 120.0) -> BrowserRun:
    """Load an HTML file headless; return the rendered DOM and console messages (and a screenshot)."""
    src = Path(html_path).resolve()
    args = [f"--window-size={window[0]},{window[1]}"]
    if screenshot is not None:
        args.append(f"--screenshot={Path(screenshot).resolve()}")
    else:
        args.append("--dump-dom")
    return _run([*args, src.as_uri()], timeout_s=timeout_s)
