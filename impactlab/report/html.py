"""Render reports to self-contained HTML with jinja2 (autoescaping on: names and notes are text).

Plots are inline SVG from :mod:`impactlab.report.plots`; the page loads nothing from the network and
runs no script, so it opens the same from an e-mail attachment, a USB stick or a printer queue.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from pathlib import Path
from typing import Any

import jinja2
import markupsafe
import pandas as pd

from .._version import __version__
from . import DailySummary, WeeklyReport, _fmt
from .adherence import adherence
from .tables import weekly_counts

__all__ = ["render_daily_html", "render_weekly_html", "write_html"]


def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("impactlab.report", "templates"),
        autoescape=True,  # every template, whatever its extension
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["fmt"] = _fmt
    env.globals["count"] = _count
    env.globals["version"] = __version__
    return env


def _css_string(text: str) -> str:
    """``text`` safe inside a double-quoted CSS string in a ``<style>`` element (every character that is
    not a letter, digit, space or simple punctuation as a CSS escape, so no quote, backslash or
    ``</style>`` can end it)."""
    return "".join(c if (c.isalnum() and c.isascii()) or c in " ,.()-_:" else f"\\{ord(c):x} " for c in text)


def _count(v: float | None) -> str:
    """A count as a whole number (weekly figures are means × 7), ``-`` when absent."""
    return "-" if v is None else f"{float(v):.0f}"


def _local(t_ns: int | None, tz: str) -> str:
    return pd.Timestamp(t_ns, tz="UTC").tz_convert(tz).strftime("%a %d %b %H:%M") if t_ns is not None else ""


def _source_name(r: dict[str, Any]) -> str:
    """What a recording came from: a file name, or the sensor for a Bluetooth sync (``ble:ADDRESS``)."""
    src = str(r["source"])
    if src.startswith("ble:"):
        return f"Bluetooth sync from {src[4:]}"
    return os.path.basename(src)


def _trend_text(trend: list[dict[str, Any]]) -> str:
    vals = [(t["week"], t["high"]) for t in trend if t["high"] is not None]
    if len(vals) < 2:
        return "not enough weeks with valid days to show a trend."
    (w0, a), (w1, b) = vals[-2], vals[-1]
    if a == 0 and b == 0:
        change = "no high impacts in either week"
    elif a == 0:
        change = "up from none"
    else:
        pct = 100 * (b - a) / a
        word = "up" if pct > 5 else "down" if pct < -5 else "about the same"
        change = f"{word} ({pct:+.0f} %)" if word != "about the same" else f"about the same ({pct:+.0f} %)"
    return f"high impacts per week {b:.0f} in {w1} against {a:.0f} in {w0}: {change}."


def render_weekly_html(rep: WeeklyReport) -> str:
    """The weekly therapist report as one HTML document (str)."""
    from .plots import figure_data

    sessions = []
    for r in rep.sessions.to_dict("records"):
        sessions.append({"start": r["start"].tz_convert(rep.timezone).strftime("%a %d %b %H:%M"),
                         "kind": str(r["kind"]).replace("_", " "), "minutes": f"{r['duration_s'] / 60:.0f}",
                         "n_impacts": int(r["n_impacts"]), "n_high": int(r["n_high"]),
                         "label_source": "" if r.get("label_source") is pd.NA else (r.get("label_source") or "")})
    recordings = []
    for r in rep.recordings:
        q = r["qc"]
        recordings.append({
            "name": _source_name(r), "device": r.get("device") or "unknown",
            "rate": f"{r['sample_rate_hz']:g}" if r.get("sample_rate_hz") else "unknown",
            "start": _local(r.get("start_ns"), rep.timezone), "end": _local(r.get("end_ns"), rep.timezone),
            "wear_h": f"{float(q.get('wear_h', 0.0)):.1f}", "gaps": int(q.get("gaps", 0))})
    return _env().get_template("weekly.html.j2").render(
        rep=rep, figures=figure_data(rep), sessions=sessions, recordings=recordings, loading=rep.method.get("loading"),
        weekly=weekly_counts(rep.daily), trend_text=_trend_text(rep.trend),
        adherence=_adherence_text(rep), change_days={c["from"] for c in rep.plan_changes},
        one_day=dt.timedelta(days=1),
        page_header=markupsafe.Markup(_css_string(f"{rep.client_name or rep.client_id} ({rep.client_id}), "
                                                  f"ISO week {rep.week}")),
    )


def _adherence_text(rep: WeeklyReport) -> str:
    """The grid's summary line: :func:`~impactlab.report.adherence.adherence` of the week's checks (the
    numbers of ``history``, the JSON and the caseload; one check per grid cell)."""
    a = adherence(rep.plan_check)
    rate = f"{100 * a['rate']:.0f} % adherence" if a["rate"] is not None else "no target could be judged"
    missing = rep.days_without_recording
    why = "days too short to judge" + (f", or {missing} day(s) with no recording" if missing else "")
    return (f"{a['met']} of {a['checked']} checks met ({rate}); not counted: {a['no_data']} without data "
            f"({why}) and {a['not_scheduled']} not scheduled.")


def render_daily_html(summary: DailySummary) -> str:
    """The client's daily summary as one HTML document (str)."""
    checks = []
    for r in summary.plan_check.to_dict("records"):
        when = pd.Timestamp(r["date"])
        checks.append({"when": f"week of {when:%a %d %b}" if r["period"] == "week" else f"{when:%a %d %b}",
                       "target": str(r["target"]).replace("_", " "),
                       "achieved": _fmt(None if r["achieved"] is pd.NA else r["achieved"]),
                       "required": _fmt(None if r["required"] is pd.NA else r["required"]), "status": str(r["status"])})
    return _env().get_template("daily.html.j2").render(
        s=summary, days=list(summary.daily.itertuples(index=False)), checks=checks,
        source_name=os.path.basename(summary.source))


#: File mode of every report impactlab writes (weekly HTML and PDF, caseload, today's page): owner-only,
#: like the store, because each names a client and holds their health data.
REPORT_MODE = 0o600


def write_html(html: str, path: str | os.PathLike[str]) -> Path:
    """Write ``html`` to ``path`` (UTF-8, through a temporary file and a rename), owner-only (:data:`REPORT_MODE`).

    The temporary file is created with the mode, so the report is never readable by others, not
    even while it is written; a file it replaces takes the mode too.
    """
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(f".{p.name}.tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()  # left by a crash: it may carry another mode
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, REPORT_MODE)
    try:
        os.fchmod(fd, REPORT_MODE)  # whatever the umask
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(html)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, p)
    return p
