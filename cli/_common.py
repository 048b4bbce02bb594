"""Helpers shared by subcommands: progress on stderr, and terminal output that fits.

Terminal tables (:func:`make_table`) and panels (:func:`make_panel`) fit the terminal, and 80
columns when stdout is piped: cells wrap or fold, never end in ``…``. They are plain ASCII when
stdout is not a terminal or ``NO_COLOR`` is set. ``--wide`` (:data:`WIDE`) prints them at full
width, every column on one line.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from contextlib import contextmanager
from typing import Any

#: set by ``--wide``: terminal output at full width (tables never wrap)
WIDE = False
#: the console width used with ``--wide``
WIDE_COLUMNS = 250


@contextmanager
def progress_bar(total: int | None, label: str, *, quiet: bool = False) -> Any:
    """A rich progress bar on stderr (only on a terminal and for long inputs); yields ``update(done, total=0)``."""
    if quiet or not sys.stderr.isatty() or not total or total < 2_000_000:
        yield lambda n, t=0: None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                  TimeRemainingColumn(), transient=True, console=_stderr_console()) as prog:
        task = prog.add_task(label, total=total)
        update: Callable[..., None] = lambda n, t=0: prog.update(task, completed=min(n, total))  # noqa: E731
        yield update


def _stderr_console() -> Any:
    from rich.console import Console

    return Console(stderr=True)


def plain_output() -> bool:
    """True when stdout is not a terminal or ``NO_COLOR`` is set: tables in ASCII, no colour."""
    return not sys.stdout.isatty() or bool(os.environ.get("NO_COLOR"))


def stdout_console() -> Any:
    """A rich console on stdout (plain text when not a terminal or with ``NO_COLOR``)."""
    from rich.console import Console

    plain = plain_output()
    return Console(highlight=False, soft_wrap=False, no_color=plain, emoji=False, width=WIDE_COLUMNS if WIDE else None)


def make_table(title: str | None = None, **kw: Any) -> Any:
    """A rich table that fits 80 columns: light rules, one space between cells, ASCII when piped.

    Its columns fold text that does not fit instead of cutting it with ``…`` (``overflow="fold"``
    unless the caller says otherwise).
    """
    from rich import box
    from rich.table import Table

    class _FitTable(Table):
        def add_column(self, *args: Any, **kwargs: Any) -> None:
            kwargs.setdefault("overflow", "fold")
            super().add_column(*args, **kwargs)

    rule = box.Box("    \n    \n -- \n    \n    \n    \n    \n    \n", ascii=True) if plain_output() else box.SIMPLE_HEAD
    kw.setdefault("title_justify", "left")
    return _FitTable(title=title, box=rule, pad_edge=False, padding=(0, 0), collapse_padding=True, **kw)


def make_panel(body: str, title: str | None = None) -> Any:
    """A rich panel (a framed block of text), ASCII when piped or with ``NO_COLOR``."""
    from rich import box
    from rich.panel import Panel

    return Panel(body, title=title, box=box.ASCII if plain_output() else box.ROUNDED, expand=False)


def doc_path(name: str) -> str:
    """Where ``name`` (``docs/cli.md``, ``firmware_config/README.md``) is on this computer, for ``--help``.

    The wheel installs ``docs/`` as ``impactlab/docs/`` and ``firmware_config/`` as
    ``impactlab/firmware_config/``; a source checkout (or an editable install) has them beside
    ``impactlab/``. The path is given relative to the working folder when it lies below it (in a
    checkout's root: ``docs/cli.md`` as written), else absolute, so it can be opened as printed.
    """
    import impactlab

    pkg = os.path.dirname(os.path.abspath(impactlab.__file__))
    installed = os.path.join(pkg, name)
    path = installed if os.path.exists(installed) else os.path.join(os.path.dirname(pkg), name)
    rel = os.path.relpath(path)
    return path if rel.startswith(os.pardir) else rel


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """``--help`` as argparse writes it, but an option's help never breaks a word or path at a hyphen.

    The option help names installed files (:func:`doc_path`, e.g. ``.../site-packages/...``): a
    path is kept whole on one line so it can be copied as printed.
    """

    def _split_lines(self, text: str, width: int) -> list[str]:
        import re
        import textwrap

        return textwrap.wrap(re.sub(r"\s+", " ", text).strip(), width, break_on_hyphens=False, break_long_words=False)
