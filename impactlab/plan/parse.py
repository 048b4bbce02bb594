"""Reading and validating plan files: TOML text or a mapping to a :class:`~.model.Plan`.

Errors name the file, the line and the dotted key.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import math
import os
import re
import tomllib
import unicodedata
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from .._textfile import TextFileKind, read_text_file
from ..config import VEST_MASS_RANGE_KG
from ..errors import ConfigError
from ..io._common import clip
from ..schema import BANDS, SESSION_KINDS
from .model import (
    _FULL,
    DAY_NAMES,
    SCHEMA_VERSION,
    HighImpactsTarget,
    JumpsTarget,
    MinutesTarget,
    Phase,
    Plan,
    Targets,
    VibrationTarget,
)

_MINUTES_SPEC = {"minutes_per_day": "min", "minutes_per_week": "min", "days": "days"}
_EXTRA_KEYS: dict[str, dict[str, str]] = {
    "vest_walk": {"vest_mass_kg": "kg"},
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
    "frequency_hz": (500, "vibration plates run at about 12-90 Hz", "Give the plate frequency in Hz"),
    "amplitude_g": (20, "vibration plates reach a few g at most", "Give the plate acceleration in g (1 g = 9.81 m/s²)"),
}
# Plausible ranges in kg (inclusive), by field, the same as the command line's flags (impactlab.config):
# (low, high, what, flag, hint). NaN and inf are outside too.
_RANGES: dict[str, tuple[float, float, str, str, str]] = {
    "vest_mass_kg": (*VEST_MASS_RANGE_KG, "vest mass", "--vest-mass",
                     "Give the vest's mass in kg (1 lb = 0.454 kg); 0 means no vest"),
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
    shown = f"{v:,}" if isinstance(v, int) and abs(v) < 10**30 else (clip(v) if isinstance(v, int) else f"{v:g}")
    field_ = key.rsplit(".", 1)[-1]
    if field_ in _RANGES and not _RANGES[field_][0] <= v <= _RANGES[field_][1]:
        lo, hi, what, flag, hint = _RANGES[field_]
        raise ConfigError(f"{shown} is not a plausible {what}: the allowed range is {lo:g}-{hi:g} kg (as for {flag})",
                          path=path, key=key, hint=hint)
    if isinstance(v, float) and not math.isfinite(v):
        raise ConfigError(f"must be a finite number, got {v!r}", path=path, key=key,
                          hint="Write a plain number, e.g. 30")
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


_PLAN_FILE = TextFileKind(
    noun="plan file", max_bytes=1 << 20,  # a plan is a few hundred bytes; a bigger file is not a plan
    size_note="a plan is a few hundred bytes of TOML", check_hint="Check that this is the plan file (see sample_data/plan.toml)",
    missing_hint="Check the path (see sample_data/plan.toml)", give_hint="Give the plan's .toml file",
    binary_what="a plan", utf8_hint="Save the plan as UTF-8 (e.g. Save As, encoding UTF-8)",
)


def _read_text(p: str) -> str:
    """The plan file's text: a regular file of at most 1 MB, UTF-8 (a leading BOM dropped)."""
    return read_text_file(p, _PLAN_FILE)


def _line_of(text: str, dotted: str) -> int | None:
    """The line (1-based) where ``dotted`` (e.g. ``targets.jumps.per_day``, ``...days[1]`` or
    ``phases[0].targets.jumps.per_day``) is set, if plain.

    Finds ``[table]`` and ``[[array]]`` headers (the n-th ``[[phases]]`` is ``phases[n-1]``, and a
    ``[phases.targets...]`` below it belongs to it) and ``key =`` lines; keys written inline or quoted
    give None.
    """
    parts = re.sub(r"\[\d+\]$", "", dotted).split(".")  # days[1] is on the days line
    whole = dotted.split(".")  # phases[1] is its [[phases]] header
    table: list[str] = []
    header = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\s-]+?)\s*\]\]?\s*(#.*)?$")
    arrays: dict[tuple[str, ...], int] = {}  # [[array]] name -> how many seen so far

    def resolve(raw: list[str]) -> list[str]:
        return [f"{c}[{arrays[tuple(raw[:i + 1])] - 1}]" if tuple(raw[:i + 1]) in arrays else c for i, c in enumerate(raw)]

    for n, line in enumerate(text.splitlines(), 1):
        m = header.match(line)
        if m:
            raw = [x.strip() for x in m.group(2).split(".")]
            if m.group(1) == "[[":
                arrays[tuple(raw)] = arrays.get(tuple(raw), 0) + 1
            table = resolve(raw)
            if table in (parts, whole):
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
