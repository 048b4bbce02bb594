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
may give ``vest_mass_kg``. Unknown keys, wrong types, negative or non-finite numbers, a target of 0 and
values past a physical limit (more than 1,440 minutes a day or 10,080 a week, more than 100,000 jumps or
impacts a day, more sets than jumps) raise :class:`~impactlab.errors.ConfigError` naming the file and the
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

import dataclasses
import datetime as dt
import difflib
import math
import os
import re
import stat
import tomllib
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .errors import ConfigError
from .io._common import clip
from .schema import BANDS, PLAN_CHECK, SESSION_KINDS, coerce, empty

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

DAY_NAMES: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL = {d: i for i, d in enumerate(("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"))}
SCHEMA_VERSION = 1


@dataclass(frozen=True)
class JumpsTarget:
    """Jumps per day (landings after a flight phase, docs/cli.md, Sessions), optionally in a least number of sets.

    Attributes
    ----------
    per_day : int
        Jumps a day (e.g. 50: Bassey & Ramsdale 1995's 50 heel drops a day; Snow et al. 2000 built up
        to 50 jumps a session).
    min_sets : int
        Least number of sets (jumps < 20 s apart) a day; 0 = any.
    days : tuple of str
        Weekdays the target applies to (``mon`` … ``sun``).
    """

    per_day: int
    min_sets: int = 0
    days: tuple[str, ...] = DAY_NAMES


@dataclass(frozen=True)
class HighImpactsTarget:
    """Impacts a day in band ``min_band`` or above (Hannam bands; Jämsä 2011's 60 a day at > 4 g).

    Attributes
    ----------
    per_day : int
        Impacts a day.
    min_band : str
        ``low``, ``medium`` or ``high``.
    days : tuple of str
        Weekdays the target applies to.
    """

    per_day: int
    min_band: str = "high"
    days: tuple[str, ...] = DAY_NAMES


@dataclass(frozen=True)
class MinutesTarget:
    """Minutes of a session kind a day and/or a week.

    Attributes
    ----------
    minutes_per_day, minutes_per_week : float or None
        Minutes (at least one is given).
    days : tuple of str
        Weekdays the daily target applies to.
    vest_mass_kg : float or None
        ``vest_walk`` only: the vest's mass in kg (Snow et al. 2000: about 5 kg / 11 lb).
    """

    minutes_per_day: float | None = None
    minutes_per_week: float | None = None
    days: tuple[str, ...] = DAY_NAMES
    vest_mass_kg: float | None = None


@dataclass(frozen=True)
class VibrationTarget(MinutesTarget):
    """Vibration-plate minutes; ``frequency_hz`` and ``amplitude_g`` describe the plate (optional).

    Attributes
    ----------
    frequency_hz : float or None
        Plate frequency in Hz (e.g. 30 Hz, Rubin et al. 2004); lets impactlab report the true frequency
        of an aliased plate and warn when the plate cannot be seen at the sample rate.
    amplitude_g : float or None
        Plate acceleration amplitude in g (e.g. 0.3 g, Beck & Norling).
    """

    frequency_hz: float | None = None
    amplitude_g: float | None = None


@dataclass(frozen=True)
class Targets:
    """The plan's targets; absent ones are None."""

    jumps: JumpsTarget | None = None
    high_impacts: HighImpactsTarget | None = None
    brisk_walk: MinutesTarget | None = None
    run: MinutesTarget | None = None
    vest_walk: MinutesTarget | None = None
    vibration: VibrationTarget | None = None

    def items(self) -> list[tuple[str, Any]]:
        """(name, target) of the targets present, in file order of the schema."""
        return [(f.name, getattr(self, f.name)) for f in dataclasses.fields(self) if getattr(self, f.name) is not None]


@dataclass(frozen=True)
class Phase:
    """One step of a progression: from ``start`` (a local date) on, ``targets`` (all targets in force:
    the earlier ones with this phase's changes); ``name`` is ``phase 2``, ``phase 3``, … unless given."""

    start: dt.date
    name: str
    targets: Targets


@dataclass(frozen=True)
class Plan:
    """A validated exercise plan (docs/cli.md, Plan files).

    Attributes
    ----------
    name : str
        Plan name.
    targets : Targets
        The targets.
    timezone : str or None
        IANA zone the plan's days are meant in.
    schema : int
        File schema version (1).
    path : str or None
        The file it was read from.
    source_text : str or None
        The TOML text it was parsed from (kept so a store can save and re-read the plan).
    """

    name: str
    targets: Targets
    timezone: str | None = None
    schema: int = SCHEMA_VERSION
    path: str | None = field(default=None, compare=False)
    source_text: str | None = field(default=None, compare=False, repr=False)
    start: dt.date | None = None
    phases: tuple[Phase, ...] = ()

    def segments(self) -> list[tuple[dt.date | None, Plan]]:
        """The plan as (first day or None for "from the start", flat plan without phases), oldest first.

        A plan without ``[[phases]]`` is one segment; each phase is a flat plan named
        ``"<plan name> (<phase name>)"`` with the phase's targets.
        """
        flat = dataclasses.replace(self, phases=())
        out: list[tuple[dt.date | None, Plan]] = [(None, flat)]
        for ph in self.phases:
            out.append((ph.start, dataclasses.replace(flat, name=f"{self.name} ({ph.name})", targets=ph.targets)))
        return out

    def in_force(self, day: dt.date) -> Plan:
        """The flat plan (targets of the phase) in force on ``day``."""
        cur = self.segments()[0][1]
        for first, plan in self.segments()[1:]:
            if first is not None and first <= day:
                cur = plan
        return cur

    @property
    def vest_mass_kg(self) -> float | None:
        """The vest mass (kg) from ``targets.vest_walk``, if given."""
        v = self.targets.vest_walk
        return v.vest_mass_kg if v is not None else None

    def to_dict(self) -> dict[str, Any]:
        """The plan as a JSON-ready dict in the file's layout (absent keys left out)."""
        targets: dict[str, Any] = {}
        for name, t in self.targets.items():
            d = {}
            for f in dataclasses.fields(t):
                v = getattr(t, f.name)
                if v is None or (f.name == "days" and tuple(v) == DAY_NAMES) or (f.name == "min_sets" and v == 0):
                    continue
                d[f.name] = list(v) if isinstance(v, tuple) else v
            targets[name] = d
        out: dict[str, Any] = {"schema": self.schema, "name": self.name}
        if self.timezone:
            out["timezone"] = self.timezone
        out["targets"] = targets
        if self.start is not None:
            out["start"] = self.start.isoformat()
        if self.phases:
            out["phases"] = [{"name": ph.name, "from": ph.start.isoformat(),
                              "targets": dataclasses.replace(self, targets=ph.targets, phases=()).to_dict()["targets"]}
                             for ph in self.phases]
        return out


# ------------------------------------------------------------------------------------------ parsing
# field -> kind; "count" whole numbers >= 0, "min" minutes >= 0, "pos" numbers > 0
# Every minutes target of schema.SESSION_KINDS takes minutes_per_day / minutes_per_week / days; a few add keys.
_MINUTES_SPEC = {"minutes_per_day": "min", "minutes_per_week": "min", "days": "days"}
_EXTRA_KEYS: dict[str, dict[str, str]] = {
    "vest_walk": {"vest_mass_kg": "pos"},
    "vibration": {"frequency_hz": "pos", "amplitude_g": "pos"},
}
_MINUTE_TARGETS = tuple(k.target for k in SESSION_KINDS.values() if k.target is not None and k.unit == "min")
_SPEC: dict[str, dict[str, str]] = {
    "jumps": {"per_day": "count", "min_sets": "count", "days": "days"},
    "high_impacts": {"per_day": "count", "min_band": "band", "days": "days"},
    **{t: {**_MINUTES_SPEC, **_EXTRA_KEYS.get(t, {})} for t in _MINUTE_TARGETS},
}
_missing = set(_SPEC) - {f.name for f in dataclasses.fields(Targets)}
if _missing:  # a SESSION_KINDS target needs its field in Targets (checked at import, so it cannot drift)
    raise ImportError(f"impactlab.plan.Targets has no field for the session-kind target(s) {sorted(_missing)}")
_REQUIRED = {"jumps": ("per_day",), "high_impacts": ("per_day",)}


def _is_minutes(target: str) -> bool:
    """A target counted in minutes of a session kind (SESSION_KINDS unit ``min``)."""
    return any(k.target == target and k.unit == "min" for k in SESSION_KINDS.values())
_TOP = ("schema", "name", "timezone", "start", "targets", "phases")


def _suggest(word: str, options: Iterable[str]) -> str:
    close = difflib.get_close_matches(word[:40], list(options), n=1)
    return f"Did you mean '{close[0]}'? " if close else ""


# Physical limits of a value, by field: (largest value, why), so that a typo is refused, not "met".
_LIMITS: dict[str, tuple[float, str, str]] = {
    "per_day": (100_000, "more than one a second around the clock", "Check for a typo (a count a day)"),
    "min_sets": (100_000, "more than one a second around the clock", "Check for a typo (sets a day)"),
    "minutes_per_day": (1440, "a day has 1,440 minutes", "Is it a weekly total? Write it as minutes_per_week"),
    "minutes_per_week": (10_080, "a week has 10,080 minutes", "Check for a typo (minutes, not seconds)"),
    "vest_mass_kg": (100, "no one walks in a vest of more than 100 kg", "Give the vest's mass in kg (1 lb = 0.454 kg)"),
    "frequency_hz": (500, "vibration plates run at about 12-90 Hz", "Give the plate frequency in Hz"),
    "amplitude_g": (20, "vibration plates reach a few g at most", "Give the plate acceleration in g (1 g = 9.81 m/s²)"),
}
# A target of 0 is met by doing nothing: refused for these (min_sets = 0 means "any number of sets").
_NOT_ZERO = ("per_day", "minutes_per_day", "minutes_per_week")


def _echo(v: Any) -> str:
    """A value as it may be quoted in a message: type and at most 80 characters, control characters escaped."""
    if isinstance(v, str):
        return f"str {clip(v)}"
    return f"{type(v).__name__} {clip(v.isoformat() if hasattr(v, 'isoformat') else repr(v))[1:-1]}"


def _key(k: str) -> str:
    """A dotted key fit for a message (long or odd keys cut and escaped)."""
    return k if len(k) <= 80 and k.isprintable() else clip(k)[1:-1]


def _number(v: Any, kind: str, path: str, key: str) -> float | int:
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise ConfigError(f"must be a number, got {_echo(v)}", path=path, key=key,
                          hint="Write a plain number, e.g. 30 (no quotes)")
    if isinstance(v, float) and not math.isfinite(v):
        raise ConfigError(f"must be a finite number, got {v!r}", path=path, key=key,
                          hint="Write a plain number, e.g. 30")
    shown = f"{v:,}" if isinstance(v, int) and abs(v) < 10**30 else (clip(v) if isinstance(v, int) else f"{v:g}")
    field_ = key.rsplit(".", 1)[-1]
    if kind == "pos" and v <= 0:
        raise ConfigError(f"must be greater than 0, got {shown}", path=path, key=key,
                          hint="Leave the key out if it is not known")
    if v < 0:
        raise ConfigError(f"must not be negative, got {shown}", path=path, key=key, hint="Write the number without a minus sign")
    if v == 0 and field_ in _NOT_ZERO:
        raise ConfigError("must be greater than 0 (a target of 0 is met by doing nothing)", path=path, key=key,
                          hint="Leave the target out, or limit it to some weekdays with days = [...]")
    if field_ in _LIMITS and v > _LIMITS[field_][0]:
        top, why, hint = _LIMITS[field_]
        raise ConfigError(f"{shown} is too large: at most {top:,g} ({why})", path=path, key=key, hint=hint)
    if kind == "count":
        if float(v) != int(v):
            raise ConfigError(f"must be a whole number, got {shown}", path=path, key=key, hint="Write e.g. 50")
        return int(v)
    return float(v)


def _days(v: Any, path: str, key: str) -> tuple[str, ...]:
    if not isinstance(v, list) or not v:
        raise ConfigError("must be a non-empty list of weekdays" + (f", got {_echo(v)}" if v else ""), path=path, key=key,
                          hint='e.g. days = ["mon", "wed", "fri"]')
    out = []
    for i, d in enumerate(v):
        if not isinstance(d, str):
            raise ConfigError(f"weekday must be a string, got {_echo(d)}", path=path, key=f"{key}[{i}]",
                              hint='e.g. days = ["mon", "wed", "fri"]')
        s = d.strip().lower()
        if s in _FULL:
            s = DAY_NAMES[_FULL[s]]
        if s not in DAY_NAMES:
            raise ConfigError(f"unknown weekday {clip(d)}", path=path, key=f"{key}[{i}]",
                              hint=_suggest(s[:20], DAY_NAMES) + f"Use {', '.join(DAY_NAMES)}")
        if s not in out:
            out.append(s)
    return tuple(d for d in DAY_NAMES if d in out)


def parse_plan(data: str | Mapping[str, Any], *, path: str | os.PathLike[str] = "<plan>") -> Plan:
    """Validate a plan (TOML text, or a TOML document already parsed into a dict) into a :class:`Plan`.

    Parameters
    ----------
    data : str or mapping
        The TOML text (kept as ``Plan.source_text``), or the TOML document as a dict.
    path : str or os.PathLike
        File name used in error messages.

    Raises
    ------
    ConfigError
        Not valid TOML (with the line), missing or unsupported ``schema``, unknown keys or targets,
        wrong types, negative numbers, an unknown time zone, no targets.
    """
    p = os.fspath(path)
    if isinstance(data, str):
        text = data
        try:
            doc = tomllib.loads(text)
        except tomllib.TOMLDecodeError as err:
            raise _toml_error(err, p) from None
        try:
            plan = parse_plan(doc, path=p)
        except ConfigError as err:
            line = _line_of(text, err.key) if err.line is None and err.key else None
            if line is None:
                raise
            raise ConfigError(err.message, hint=err.hint, path=err.path, line=line, key=err.key) from None
        return dataclasses.replace(plan, source_text=text)
    unknown = [k for k in data if k not in _TOP]
    if unknown:
        k = unknown[0]
        raise ConfigError("unknown key", path=p, key=_key(k), hint=_suggest(k, _TOP) + f"Top-level keys are {', '.join(_TOP)}")
    if "schema" not in data:
        raise ConfigError("the plan has no schema version", path=p, key="schema",
                          hint=f"Add 'schema = {SCHEMA_VERSION}' as the first line")
    schema = data["schema"]
    if isinstance(schema, bool) or not isinstance(schema, int):
        raise ConfigError(f"must be a whole number, got {_echo(schema)}", path=p, key="schema",
                          hint=f"Write schema = {SCHEMA_VERSION}")
    if schema != SCHEMA_VERSION:
        raise ConfigError(f"schema {clip(schema)[1:-1]} is not supported (this impactlab reads schema {SCHEMA_VERSION})", path=p,
                          key="schema", hint="Update impactlab, or rewrite the plan for schema 1")
    name = data.get("name", Path(p).stem)
    _check_name(name, p)
    tz = data.get("timezone")
    if tz is not None:
        if not isinstance(tz, str):
            raise ConfigError(f"must be a string, got {_echo(tz)}", path=p, key="timezone",
                              hint='Write e.g. timezone = "Europe/London"')
        try:
            pd.Timestamp("2020-01-01").tz_localize(tz)
        except Exception:
            raise ConfigError(f"unknown time zone {clip(tz)}", path=p, key="timezone",
                              hint="Use an IANA name such as Europe/London") from None
    targets = data.get("targets")
    if not isinstance(targets, Mapping) or not targets:
        raise ConfigError("the plan has no targets" + (f" (targets is {_echo(targets)})" if targets is not None and
                                                      not isinstance(targets, Mapping) else ""), path=p, key="targets",
                          hint=f"Add at least one of [targets.{'], [targets.'.join(_SPEC)}]")
    raw = {t: _target_values(t, b, p, f"targets.{_key(t)}") for t, b in targets.items()}
    base = _build_targets(raw, p, {t: f"targets.{_key(t)}" for t in raw})
    start = _date(data["start"], p, "start") if "start" in data else None
    phases = _phases(data.get("phases"), raw, start, p)
    return Plan(name=name, targets=base, timezone=tz, schema=schema, path=p, start=start, phases=phases)


def _target_values(tname: str, body: Any, p: str, key: str) -> dict[str, Any]:
    """The validated keys of one ``[targets.NAME]`` table (``key`` is its dotted path)."""
    if tname not in _SPEC:
        raise ConfigError("unknown target", path=p, key=key, hint=_suggest(tname, _SPEC) + f"Targets are {', '.join(_SPEC)}")
    if not isinstance(body, Mapping):
        raise ConfigError(f"must be a table, got {_echo(body)}", path=p, key=key, hint=f"Write [{key}] and its keys below it")
    spec = _SPEC[tname]
    vals: dict[str, Any] = {}
    for k, v in body.items():
        dk = f"{key}.{_key(k)}"
        if k not in spec:
            raise ConfigError("unknown key", path=p, key=dk, hint=_suggest(k, spec) + f"Keys of {key} are {', '.join(spec)}")
        kind = spec[k]
        if kind == "days":
            vals[k] = _days(v, p, dk)
        elif kind == "band":
            if not isinstance(v, str) or v.strip().lower() not in BANDS:
                raise ConfigError(f"unknown band {clip(v)}", path=p, key=dk, hint=_suggest(str(v), BANDS) + f"Use {', '.join(BANDS)}")
            vals[k] = v.strip().lower()
        else:
            vals[k] = _number(v, kind, p, dk)
    return vals


def _build_targets(raw: Mapping[str, dict[str, Any]], p: str, keys: Mapping[str, str]) -> Targets:
    """:class:`Targets` from validated values; ``keys`` names where each target was (last) written."""
    built: dict[str, Any] = {}
    for tname, vals in raw.items():
        key = keys[tname]
        for req in _REQUIRED.get(tname, ()):
            if req not in vals:
                raise ConfigError("is required", path=p, key=f"{key}.{req}", hint=f"Add e.g. {req} = 50")
        if _is_minutes(tname) and "minutes_per_day" not in vals and "minutes_per_week" not in vals:
            raise ConfigError("needs minutes_per_day or minutes_per_week", path=p, key=f"{key}.minutes_per_day",
                              hint="Add e.g. minutes_per_day = 30")
        if vals.get("min_sets", 0) > vals.get("per_day", math.inf):
            raise ConfigError(f"{vals['min_sets']} sets a day cannot be met with {vals['per_day']} jumps a day "
                              "(a set has at least one jump)", path=p, key=f"{key}.min_sets",
                              hint="Make min_sets at most per_day")
        cls = {"jumps": JumpsTarget, "high_impacts": HighImpactsTarget, "vibration": VibrationTarget}.get(tname, MinutesTarget)
        built[tname] = cls(**vals)
    return Targets(**built)


def _date(v: Any, p: str, key: str) -> dt.date:
    if isinstance(v, dt.datetime):
        v = v.date()
    if isinstance(v, dt.date):
        return v
    if isinstance(v, str):
        try:
            return dt.date.fromisoformat(v.strip())
        except ValueError:
            pass
    raise ConfigError(f"must be a date, got {_echo(v)}", path=p, key=key, hint="Write a date such as 2026-03-02 (no quotes)")


_PHASE_KEYS = ("name", "from", "week", "targets")


def _phases(data: Any, raw: Mapping[str, dict[str, Any]], start: dt.date | None, p: str) -> tuple[Phase, ...]:
    """``[[phases]]``: each phase changes the keys it names, from its first day until the next phase."""
    if data is None:
        return ()
    if not isinstance(data, list) or not data:
        raise ConfigError("must be a list of [[phases]] tables", path=p, key="phases",
                          hint="Write [[phases]] then week = 3 (or from = 2026-03-16) and [phases.targets.jumps] below it")
    out: list[Phase] = []
    cur = {t: dict(v) for t, v in raw.items()}
    keys = {t: f"targets.{t}" for t in raw}
    for n, ph in enumerate(data):
        pk = f"phases[{n}]"
        if not isinstance(ph, Mapping):
            raise ConfigError(f"must be a table, got {_echo(ph)}", path=p, key=pk)
        bad = [k for k in ph if k not in _PHASE_KEYS]
        if bad:
            raise ConfigError("unknown key", path=p, key=f"{pk}.{bad[0]}",
                              hint=_suggest(bad[0], _PHASE_KEYS) + f"Keys of a phase are {', '.join(_PHASE_KEYS)}")
        if ("from" in ph) == ("week" in ph):
            raise ConfigError("needs either 'from' (a date) or 'week' (programme week, 1 = the week of 'start')",
                              path=p, key=f"{pk}.from", hint="e.g. week = 3, or from = 2026-03-16")
        if "week" in ph:
            week = _number(ph["week"], "count", p, f"{pk}.week")
            if week < 1:
                raise ConfigError(f"must be 1 or more, got {week}", path=p, key=f"{pk}.week")
            if start is None:
                raise ConfigError("a phase given by programme week needs the plan's start date", path=p, key="start",
                                  hint="Add start = 2026-03-02 (the first day of week 1) at the top of the plan")
            first = start + dt.timedelta(weeks=int(week) - 1)
        else:
            first = _date(ph["from"], p, f"{pk}.from")
        if out and first <= out[-1].start:
            raise ConfigError(f"starts on {first}, not after the phase before ({out[-1].start})", path=p, key=pk,
                              hint="List the phases in time order")
        if start is not None and first < start:
            raise ConfigError(f"starts on {first}, before the plan's start ({start})", path=p, key=pk)
        name = ph.get("name", f"phase {n + 2}")
        if not isinstance(name, str):
            raise ConfigError(f"must be a string, got {_echo(name)}", path=p, key=f"{pk}.name")
        changes = ph.get("targets", {})
        if not isinstance(changes, Mapping) or not changes:
            raise ConfigError("a phase changes at least one target", path=p, key=f"{pk}.targets",
                              hint=f"Add e.g. [{pk.split('[')[0]}.targets.jumps] with per_day = 28")
        for t, body in changes.items():
            cur.setdefault(t, {}).update(_target_values(t, body, p, f"{pk}.targets.{t}"))
            keys[t] = f"{pk}.targets.{t}"
        out.append(Phase(first, name, _build_targets(cur, p, keys)))
    return tuple(out)


def load_plan(path: str | os.PathLike[str]) -> Plan:
    """Read and validate a plan TOML file.

    Parameters
    ----------
    path : str or os.PathLike
        The plan file.

    Returns
    -------
    Plan

    Raises
    ------
    ConfigError
        File missing, not TOML (with the line), or an invalid plan (with the dotted key).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "plan.toml"
    >>> _ = p.write_text('schema = 1\\n[targets.jumps]\\nper_day = 50\\nmin_sets = 5\\n')
    >>> load_plan(p).targets.jumps
    JumpsTarget(per_day=50, min_sets=5, days=('mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'))
    """
    p = os.fspath(path)
    return parse_plan(_read_text(p), path=p)


_MAX_PLAN_BYTES = 1 << 20  # a plan is a few hundred bytes; a bigger file is not a plan


def _read_text(p: str) -> str:
    """The plan file's text: a regular file of at most 1 MB, UTF-8 (a leading BOM dropped)."""
    try:
        st = os.stat(p)
        if stat.S_ISDIR(st.st_mode):
            raise ConfigError("this is a folder, not a plan file", path=p, hint="Give the plan's .toml file")
        if not stat.S_ISREG(st.st_mode):
            raise ConfigError("this is not a regular file (a pipe or device?)", path=p, hint="Give the plan's .toml file")
        if st.st_size > _MAX_PLAN_BYTES:
            raise ConfigError(f"the file is {st.st_size / 2**20:.1f} MB; a plan is a few hundred bytes of TOML", path=p,
                              hint="Check that this is the plan file (see sample_data/plan.toml)")
        with open(p, "rb") as fh:
            raw = fh.read(_MAX_PLAN_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError("plan file not found", path=p, hint="Check the path (see sample_data/plan.toml)") from None
    except PermissionError:
        raise ConfigError("permission denied (the file or a folder above it cannot be read)", path=p,
                          hint="Check the permissions") from None
    except OSError as err:
        raise ConfigError(f"cannot read the plan ({err.strerror or err})", path=p) from None
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise ConfigError("the file is UTF-16 text; a plan must be UTF-8", path=p, line=1,
                          hint="Save it again choosing the encoding UTF-8")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        col = err.start - (raw.rfind(b"\n", 0, err.start) + 1) + 1
        binary = b"\0" in raw[:4096]
        raise ConfigError(f"not UTF-8 text (byte 0x{raw[err.start]:02x} at column {col})"
                          + ("; this looks like a binary file, not a plan" if binary else ""), path=p, line=line,
                          hint="Check that this is the plan file (see sample_data/plan.toml)" if binary else
                          "Save the plan as UTF-8 (e.g. Save As, encoding UTF-8)") from None


def _line_of(text: str, dotted: str) -> int | None:
    """The line (1-based) where ``dotted`` (e.g. ``targets.jumps.per_day`` or ``...days[1]``) is set, if plain.

    Finds ``[table]`` headers and ``key =`` lines; keys written inline or quoted give None.
    """
    parts = re.sub(r"\[\d+\]$", "", dotted).split(".")
    table: list[str] = []
    header = re.compile(r"^\s*\[\s*([A-Za-z0-9_.\s-]+?)\s*\]\s*(#.*)?$")
    for n, line in enumerate(text.splitlines(), 1):
        m = header.match(line)
        if m:
            table = [x.strip() for x in m.group(1).split(".")]
            if table == parts:
                return n
            continue
        m = re.match(r"^\s*([A-Za-z0-9_-]+)\s*=", line)
        if m and [*table, m.group(1)] == parts:
            return n
    return None


def _toml_error(err: tomllib.TOMLDecodeError, p: str) -> ConfigError:
    """A ConfigError naming the file, the line and (when it helps) what to write instead."""
    m = re.search(r"\(at line (\d+), column (\d+)\)", str(err))
    msg = re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)", "", str(err))
    hint = "Check quotes, brackets and '=' on that line"
    if "overwrite" in msg.lower():
        hint = "A key or [table] is given twice; keep one of them"
    elif "invalid value" in msg.lower():
        hint = 'Write text in quotes ("...") and numbers plainly (30, 12.5)'
    return ConfigError(f"not valid TOML: {clip(msg, 100)[1:-1]}" + (f" (column {m.group(2)})" if m else ""), path=p,
                       line=int(m.group(1)) if m else None, hint=hint)


_BIDI = ("LRE", "RLE", "LRO", "RLO", "PDF", "LRI", "RLI", "FSI", "PDI")


def _check_name(name: Any, p: str) -> None:
    """A plan name is shown in tables and reports: a string of at most 200 printable characters."""
    if not isinstance(name, str):
        raise ConfigError(f"must be a string, got {_echo(name)}", path=p, key="name", hint='Write e.g. name = "Phase 2"')
    bad = [ch for ch in name if (unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") and ch not in "\u200c\u200d")
           or unicodedata.bidirectional(ch) in _BIDI]
    if bad:
        raise ConfigError(f"{clip(name)} holds a control or text-direction character ({clip(bad[0])[1:-1]})", path=p,
                          key="name", hint="Retype the name with letters, digits and punctuation only")
    if len(name) > 200:
        raise ConfigError(f"is {len(name):,} characters long (at most 200): {clip(name)}", path=p, key="name",
                          hint="Give the plan a short name")


# ------------------------------------------------------------------------------------------ checking
#: plan target -> DailyLoad column, from the session kinds (:data:`impactlab.schema.SESSION_KINDS`)
_COLUMN = {k.target: k.column for k in SESSION_KINDS.values() if k.target is not None}


def _achieved(daily: pd.DataFrame, name: str, target: Any) -> np.ndarray:
    if name == "high_impacts":
        bands = BANDS[BANDS.index(target.min_band):]
        return np.asarray(daily[[f"n_{b}" for b in bands]].to_numpy(np.float64).sum(axis=1), dtype=np.float64)
    return np.asarray(daily[_COLUMN[name]].to_numpy(np.float64), dtype=np.float64)


def check_plan(daily: pd.DataFrame, plan: Plan, *, unobservable: Iterable[str] = ()) -> pd.DataFrame:
    """Check each day (and ISO week) of a DailyLoad table against a plan.

    Parameters
    ----------
    daily : pandas.DataFrame
        DAILY table (:mod:`impactlab.schema`): ``date``, ``valid`` and the counts and minutes.
    plan : Plan
        The plan.
    unobservable : iterable of str, optional
        Targets the recording cannot show (e.g. ``vibration`` when the plate aliases to 0 Hz): such a
        target can be met (from markers) but is ``no data`` rather than ``not met``.

    Returns
    -------
    pandas.DataFrame
        PLAN_CHECK table, sorted by date and target: ``date`` (the day, or the ISO week's Monday),
        ``target``, ``period`` (``day``/``week``), ``required``, ``achieved``, ``unit``
        (``count``/``min``), ``met`` (boolean, NA unless judged), ``status`` (``met``, ``not met``,
        ``no data`` = the day is too short to judge or the recording cannot show the target,
        ``not scheduled`` = a day target on a weekday outside its ``days``: ``required`` is NaN and
        ``achieved`` what was done anyway), ``partial`` (the week has fewer than 7 valid days), plus
        ``detail`` (text).

    Examples
    --------
    >>> import pandas as pd
    >>> from impactlab.schema import DAILY, coerce
    >>> d = pd.DataFrame({"date": pd.to_datetime(["2026-03-02", "2026-03-03"]), "wear_h": [14.0, 3.0],
    ...                   "valid": [True, False], "n_low": 0, "n_medium": 0, "n_high": [60, 0], "n_jumps": [50, 0],
    ...                   "jump_sets": [5, 0], "brisk_walk_min": 0.0, "walk_min": 0.0, "run_min": 0.0, "vest_walk_min": 0.0,
    ...                   "vibration_min": 0.0})
    >>> plan = Plan("p", Targets(jumps=JumpsTarget(per_day=50, min_sets=5)))
    >>> list(check_plan(coerce(d, DAILY), plan)["status"])
    ['met', 'no data']
    """
    if plan.phases:
        segs = [(pd.Timestamp(d) if d is not None else None, p) for d, p in plan.segments()]
        return check_segments(daily, segs, unobservable)
    skip = set(unobservable)
    rows: list[dict[str, Any]] = []
    dates = pd.to_datetime(daily["date"]).dt.tz_localize(None) if len(daily) else pd.Series([], dtype="datetime64[ns]")
    valid = daily["valid"].to_numpy(bool) if len(daily) else np.empty(0, bool)
    wd = dates.dt.day_of_week.to_numpy() if len(daily) else np.empty(0, int)
    for name, t in plan.targets.items():
        unit = "count" if name in ("jumps", "high_impacts") else "min"
        ach = _achieved(daily, name, t) if len(daily) else np.empty(0)
        per_day = getattr(t, "per_day", None) if unit == "count" else t.minutes_per_day
        if per_day is not None:
            on = np.isin(wd, [DAY_NAMES.index(d) for d in t.days])
            sets = daily["jump_sets"].to_numpy(np.int64) if name == "jumps" and len(daily) else None
            for i in np.flatnonzero(~on):  # the target does not apply that weekday: not judged
                rows.append(_row(dates.iloc[i], name, "day", np.nan, ach[i], unit, pd.NA, False,
                                 f"scheduled on {', '.join(t.days)}", status="not scheduled"))
            for i in np.flatnonzero(on):
                detail = ""
                if not valid[i]:
                    met: Any = pd.NA
                    detail = f"{float(daily['wear_h'].iloc[i]):.1f} h wear (a valid day needs more)"
                else:
                    met = bool(ach[i] + 1e-9 >= per_day)
                    if sets is not None and t.min_sets:
                        detail = f"{int(sets[i])} of {t.min_sets} sets"
                        if met and sets[i] < t.min_sets:
                            met = False
                            detail = f"{int(ach[i])} jumps but only {int(sets[i])} of {t.min_sets} sets"
                    if not met and name in skip:
                        met = pd.NA
                        detail = "cannot be seen in this recording (see warnings) and no marker covers it"
                rows.append(_row(dates.iloc[i], name, "day", per_day, ach[i], unit, met, False, detail))
        per_week = getattr(t, "minutes_per_week", None)
        if per_week is not None and len(daily):
            monday = (dates - pd.to_timedelta(wd, unit="D")).dt.normalize()
            for mon in sorted(set(monday)):
                sel = (monday == mon).to_numpy()
                nv = int((sel & valid).sum())
                total = float(ach[sel & valid].sum())
                partial = nv < 7
                if nv == 0:
                    met, detail = pd.NA, "no valid day in this week"
                else:
                    met = bool(total + 1e-9 >= per_week)
                    detail = f"{nv} valid day(s) of 7" if partial else ""
                    if not met and name in skip:
                        met, detail = pd.NA, "cannot be seen in this recording (see warnings)"
                rows.append(_row(mon, name, "week", per_week, total, unit, met, partial, detail))
    if not rows:
        out = empty(PLAN_CHECK)
        out["detail"] = pd.Series([], dtype="string")
        return out
    df = pd.DataFrame(rows)
    df["met"] = pd.array(df["met"].tolist(), dtype="boolean")
    df["date"] = pd.to_datetime(df["date"]).astype("datetime64[ns]")
    df = df.sort_values(["date", "period", "target"], kind="stable").reset_index(drop=True)
    out = coerce(df, PLAN_CHECK)
    out["detail"] = out["detail"].astype("string")
    return out


def _row(date: Any, target: str, period: str, required: float, achieved: float, unit: str, met: Any,
         partial: bool, detail: str, *, status: str | None = None) -> dict[str, Any]:
    if status is None:
        status = "no data" if met is pd.NA else ("met" if met else "not met")
    return {"date": pd.Timestamp(date).normalize(), "target": target, "period": period, "required": float(required),
            "achieved": round(float(achieved), 2), "unit": unit, "met": met, "status": status,
            "partial": bool(partial), "detail": detail}


def check_segments(daily: pd.DataFrame, segments: Sequence[tuple[pd.Timestamp | None, Plan]],
                   unobservable: Iterable[str] = ()) -> pd.DataFrame:
    """PLAN_CHECK rows with each day checked against the plan (segment) in force that day.

    ``segments``: each plan with its first day (None: from the start), oldest first: a progression's
    phases (:meth:`Plan.segments`) or a client's stored plan versions. A weekly target's row (dated
    the Monday) comes from the segment in force on that Monday, over the days of the week it covers;
    a first segment starting mid-week judges its week.
    """
    skip = tuple(unobservable)
    starts = [pd.Timestamp("1900-01-01") if d is None else pd.Timestamp(d) for d, _ in segments]
    dates = pd.to_datetime(daily["date"]).dt.tz_localize(None) if len(daily) else pd.Series([], dtype="datetime64[ns]")

    def _owner(monday: pd.Timestamp) -> int:
        in_force = [i for i, s0 in enumerate(starts) if s0 <= monday]
        if in_force:
            return in_force[-1]
        later = [i for i, s0 in enumerate(starts) if s0 < monday + pd.Timedelta(days=7)]
        return min(later) if later else -1

    parts = []
    for i, (_, plan) in enumerate(segments):
        end = starts[i + 1] if i + 1 < len(starts) else pd.Timestamp("2999-12-31")
        sel = ((dates >= starts[i]) & (dates < end)).to_numpy()
        if not sel.any():
            continue
        chk = check_plan(daily[sel].reset_index(drop=True), plan, unobservable=skip)
        keep = [(p != "week") or _owner(pd.Timestamp(d)) == i for p, d in zip(chk["period"], chk["date"], strict=True)]
        parts.append(chk[np.asarray(keep, dtype=bool)])
    if not parts:
        return check_plan(daily.iloc[:0], segments[0][1])
    out = pd.concat(parts, ignore_index=True)
    return out.sort_values(["date", "period", "target"], kind="stable").reset_index(drop=True)
