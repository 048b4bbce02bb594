"""Options and helpers shared by subcommands (reading options, progress, output)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from contextlib import contextmanager
from typing import Any


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
    return Console(highlight=False, soft_wrap=False, no_color=plain, emoji=False)


def make_table(title: str, **kw: Any) -> Any:
    """A rich table that fits 80 columns: light rules, one space between cells, ASCII when piped."""
    from rich import box
    from rich.table import Table

    rule = box.Box("    \n    \n -- \n    \n    \n    \n    \n    \n", ascii=True) if plain_output() else box.SIMPLE_HEAD
    return Table(title=title, title_justify="left", box=rule, pad_edge=False, padding=(0, 0), collapse_padding=True, **kw)
