"""A plan in words: one row or sentence per target, and per phase of a progression.

Used by ``impactlab plan check`` and the weekly report, so both say the same thing.
"""

from __future__ import annotations

from typing import Any

from ..plan import DAY_NAMES, Plan, Targets
from ..schema import SESSION_KINDS

__all__ = ["describe_targets", "plan_sentences"]

#: how each target reads; the minutes targets in the session kinds' own words (schema.SESSION_KINDS)
_WHAT = {
    "jumps": "jumps (landing after a flight phase)",
    "high_impacts": "impacts in band {min_band} or above",
    **{k.target: k.what for k in SESSION_KINDS.values() if k.target and k.target not in ("jumps", "high_impacts") and k.what},
}
_DAY = {"mon": "Monday", "tue": "Tuesday", "wed": "Wednesday", "thu": "Thursday", "fri": "Friday",
        "sat": "Saturday", "sun": "Sunday"}


def _days(days: tuple[str, ...]) -> str:
    if tuple(days) == DAY_NAMES:
        return "every day"
    names = [_DAY[d] for d in days]
    return "on " + (names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1])


def describe_targets(targets: Targets) -> list[tuple[str, str, str]]:
    """(target, requirement, when) for each target, in words (``when``: ``per day, every day`` …)."""
    rows = []
    for name, t in targets.items():
        what = _WHAT.get(name, name.replace("_", " ")).format(min_band=getattr(t, "min_band", ""))
        if name == "jumps":
            req = f"{t.per_day} {what}" + (f" in at least {t.min_sets} set{'' if t.min_sets == 1 else 's'}" if t.min_sets else "")
            rows.append((name, req, f"per day, {_days(t.days)}"))
        elif name == "high_impacts":
            rows.append((name, f"{t.per_day} {what}", f"per day, {_days(t.days)}"))
        else:
            extra = ""
            if getattr(t, "frequency_hz", None):
                extra = f" ({t.frequency_hz:g} Hz" + (f", {t.amplitude_g:g} g" if t.amplitude_g else "") + ")"
            if getattr(t, "vest_mass_kg", None):
                extra = f" ({t.vest_mass_kg:g} kg vest)"
            if t.minutes_per_day is not None:
                rows.append((name, f"{t.minutes_per_day:g} min of {what}{extra}", f"per day, {_days(t.days)}"))
            if t.minutes_per_week is not None:
                rows.append((name, f"{t.minutes_per_week:g} min of {what}{extra}", "per ISO week (Mon-Sun)"))
    return rows


def _sentence(row: tuple[str, str, str]) -> str:
    _, req, when = row
    per, _, days = when.partition(", ")
    if per == "per day":
        return f"{req} a day, {days}." if days != "every day" else f"{req} every day."
    return f"{req} a week (Monday to Sunday)."


def plan_sentences(plan: Plan) -> list[dict[str, Any]]:
    """The plan as sentences: ``[{"from": date or None, "name": str, "sentences": [str]}]``, one entry
    for the plan's first targets and one per phase (only the phase's changes are new, but every
    target in force is said)."""
    out: list[dict[str, Any]] = []
    for first, flat in plan.segments():
        sents = [s[0].upper() + s[1:] for s in map(_sentence, describe_targets(flat.targets))]
        out.append({"from": first if first is not None else plan.start, "name": flat.name, "sentences": sents})
    return out
