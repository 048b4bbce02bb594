"""Plans over time: each stored version is in force from its first local day until the next.

:func:`set_plan` stores a version (``impactlab plan set``) and checks every stored week again, each
day against the version in force that day (:mod:`impactlab.plan.versions` says which version rules
a day and which versions start in a week).
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path
from typing import Any

from ..config import DetectionConfig
from ..errors import StoreError
from ..plan import Plan
from .db import now, transaction
from .rebuild import rebuild_weeks

__all__ = ["config_from_settings", "set_plan"]


def set_plan(db: sqlite3.Connection, path: Path, client_id: str, first_date: str | None, timezone: str | None,
             plan: Plan, valid_from: str | None, today: dt.date) -> str | None:
    """Store ``plan`` for ``client_id`` from ``valid_from`` (default ``today``) and rebuild the checks.

    Returns the note stored with it: ``valid_from`` before the client's first data (``first_date``)
    or after ``today``; None otherwise. See :meth:`impactlab.store.Store.set_plan`.
    """
    if not plan.source_text:
        raise StoreError("the plan has no source text to store", key="plan",
                         hint="Load it from its file with impactlab.plan.load_plan")
    try:
        start = dt.date.fromisoformat(valid_from) if valid_from else today
    except ValueError:
        raise StoreError(f"{valid_from!r} is not a date", key="valid_from",
                         hint="Write it as YYYY-MM-DD, e.g. 2026-03-04") from None
    note = None
    if first_date and start < dt.date.fromisoformat(first_date):
        note = f"the plan is in force from {start}, before the client's first data ({first_date})"
    elif start > today:
        note = f"the plan is in force from {start}, a date in the future"
    with transaction(db, path) as tx:
        tx.execute("INSERT OR REPLACE INTO plan_versions VALUES (?, ?, ?, ?, ?, ?)",
                   (client_id, start.isoformat(), plan.source_text, plan.path, note, now()))
        tx.execute("UPDATE clients SET plan_toml = ?, plan_path = ? WHERE client_id = ?",
                   (plan.source_text, plan.path, client_id))
        span = tx.execute("SELECT min(start_ns), max(end_ns) FROM recordings WHERE client_id = ?",
                          (client_id,)).fetchone()
        if span[0] is not None:
            rec = tx.execute("SELECT settings_json FROM recordings WHERE client_id = ? ORDER BY start_ns DESC "
                             "LIMIT 1", (client_id,)).fetchone()
            cfg = config_from_settings(json.loads(rec[0]))
            rebuild_weeks(tx, client_id, int(span[0]), int(span[1]), timezone or "UTC", cfg, plan)
    return note


def config_from_settings(settings: dict[str, Any]) -> DetectionConfig:
    """The DetectionConfig a recording was analysed with (from its stored settings)."""
    from ..config import WearConfig

    fields = {f for f in DetectionConfig.__dataclass_fields__}
    kw: dict[str, Any] = {k: (tuple(v) if isinstance(v, list) else v) for k, v in settings.items()
                          if k in fields and k != "wear"}
    wear = settings.get("wear") or {}
    wfields = {f for f in WearConfig.__dataclass_fields__}
    return DetectionConfig(**kw, wear=WearConfig(**{k: v for k, v in wear.items() if k in wfields}))

