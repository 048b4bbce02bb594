"""Registration points for optional stages (sessions, loading indices, plan checks).

``ENGINE_HOOKS``: callables ``(meta, config, plan=, markers=) -> stage | None``; a stage has
``update(chunk)`` and ``finish(impacts, sessions, engine) -> (impacts, sessions, extra_dict)``.
``PLAN_HOOKS``: callables ``(analysis, plan) -> analysis``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

ENGINE_HOOKS: list[Callable[..., Any]] = []
PLAN_HOOKS: list[Callable[..., Any]] = []

#: CLI: ``hook(parser)`` adds options to ``analyze``/``import``/``batch``.
CLI_OPTION_HOOKS: list[Callable[..., Any]] = []
#: CLI: ``hook(args) -> dict`` of extra keyword arguments for :func:`impactlab.analyze`.
CLI_ARGS_HOOKS: list[Callable[..., Any]] = []
#: CLI: ``hook(analysis, console)`` prints extra sections of the terminal view.
TABLE_HOOKS: list[Callable[..., Any]] = []
#: CLI: ``hook(args, source) -> source`` wraps the opened source (e.g. auto-calibration).
SOURCE_HOOKS: list[Callable[..., Any]] = []
