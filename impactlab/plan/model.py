"""Plan objects: targets, phases and the plan (frozen dataclasses); parsing is in :mod:`.parse`."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

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
