"""Exercise plans (TOML, docs/cli.md, Plan files) and the day-by-day check of a recording against them.

A plan file::

    schema = 1
    name = "Hip loading, phase 2"
    timezone = "Europe/London"
    start = 2026-03-02         # optional: day 1 of programme week 1

    [targets.jumps]            # jumps (docs/cli.md, Sessions), not all high impacts
    per_day = 5
    min_sets = 1
    days = ["mon", "wed", "fri", "sun"]   # optional; default every day
    [targets.high_impacts]     # impacts in band min_band or above
    per_day = 60
    min_band = "high"
    [targets.run]              # running minutes (a periodic gait with flight)
    minutes_per_week = 60
    [targets.vest_walk]        # also brisk_walk, run, vibration: minutes_per_day and/or minutes_per_week
    minutes_per_week = 90
    vest_mass_kg = 3

    [[phases]]                 # optional: a progression; each phase changes only the keys it names
    name = "build-up"
    week = 3                   # programme week (needs start), or from = 2026-03-16
    [phases.targets.jumps]
    per_day = 28

Every per-day target takes an optional ``days`` list; the minutes targets (one per session kind of
:data:`impactlab.schema.SESSION_KINDS` with a target: ``brisk_walk``, ``run``, ``vest_walk``,
``vibration``) take ``minutes_per_day`` and/or ``minutes_per_week``; ``vibration`` may name the plate (``frequency_hz``,
``amplitude_g``) so that aliasing can be resolved and an undetectable plate reported; ``vest_walk``
may give ``vest_mass_kg`` (0-50 kg, :data:`impactlab.config.VEST_MASS_RANGE_KG`, as for ``--vest-mass``).
Unknown keys, wrong types, negative or non-finite numbers, a target of 0 and values past a physical limit
(more than 1,440 minutes a day or 10,080 a week, more than 100,000 jumps or impacts a day, more sets than
jumps, a vest mass outside its range) raise :class:`~impactlab.errors.ConfigError` naming the file and the
dotted key; a file that is not UTF-8 or not TOML names the line.

The check (:func:`check_plan`) gives one PlanCheck row per day and per-day target, and one per ISO
week (dated the Monday) and weekly target. A day without valid data (docs/method.md: < 10 h wear) is
``no data`` (``met`` = NA), never ``not met``; a day target on a weekday outside its ``days`` is
``not scheduled`` (``met`` = NA, left out of adherence like ``no data``); a week's total counts its valid days only and the
row is ``partial`` when fewer than 7 of its days are valid. Progression phases (``[[phases]]``)
change the keys they name from their first day; each day is checked against the phase in force, and
an error in a phase names it (``phases[0].targets.jumps.per_day``).
"""

from __future__ import annotations

from .check import check_plan, check_segments
from .model import DAY_NAMES, HighImpactsTarget, JumpsTarget, MinutesTarget, Phase, Plan, Targets, VibrationTarget
from .model import SCHEMA_VERSION as SCHEMA_VERSION
from .parse import load_plan, parse_plan

__all__ = [
    "DAY_NAMES",
    "JumpsTarget",
    "Phase",
    "HighImpactsTarget",
    "MinutesTarget",
    "Plan",
    "Targets",
    "VibrationTarget",
    "check_plan",
    "check_segments",
    "load_plan",
    "parse_plan",
]
