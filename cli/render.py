"""Every terminal view of an analysis (rich): the daily table, sessions, the plan grid, loading indices.

Presentation only: the numbers come from :class:`impactlab.pipeline.Analysis`.
"""

from __future__ import annotations

import textwrap
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console
from rich.markup import escape

from impactlab.pipeline import Analysis
from impactlab.schema import SESSION_KINDS

from ._common import make_panel, make_table, stdout_console

__all__ = ["print_answer", "print_answer_after_sync", "print_loading", "print_plan_check", "print_sessions", "print_table",
           "today_json"]

#: The session kinds with a plan target get a column in the daily table (walking without one does not).
_TABLE_KINDS = [k for k in SESSION_KINDS.values() if k.target is not None]


def _kind_headings() -> list[str]:
    out = []
    for k in _TABLE_KINDS:
        out.append(k.short)
        out += ["sets" if e == "jump_sets" else e for e in k.extra]
    return out


def _kind_cells(r: dict[str, Any]) -> list[str]:
    out = []
    for k in _TABLE_KINDS:
        out.append(str(int(r[k.column])) if k.unit == "count" else f"{r[k.column]:.0f}")
        out += [str(int(r[e])) for e in k.extra]
    return out


def print_table(res: Analysis) -> None:
    """The terminal view: recording line, per-day table, weekly line, plan grid when present."""
    con = stdout_console()
    q = res.qc
    m = res.meta
    # two lines of their own: one line would wrap at 80 columns after "vertical -y," (an empty field)
    con.print(f"[bold]{escape(str(m.source))}[/bold]  {m.device}, {m.sample_rate_hz:g} Hz, vertical {m.vertical_axis}")
    con.print(f"{q['start']} to {q['end']} ({m.timezone})")
    show_sessions = bool(len(res.sessions))
    t = make_table("Impacts per day")
    for col in ("date", "day", "wear h", "valid", "low", "medium", "high"):
        t.add_column(col, justify="left" if col in ("date", "day", "valid") else "right", no_wrap=True)
    if show_sessions:
        for col in _kind_headings():
            t.add_column(col, justify="right", no_wrap=True)
    for r in res.daily.itertuples(index=False):
        row = [r.date.strftime("%Y-%m-%d"), r.date.strftime("%a"), f"{r.wear_h:.1f}", "yes" if r.valid else "no",
               str(r.n_low), str(r.n_medium), str(r.n_high)]
        if show_sessions:
            row += _kind_cells(r._asdict())
        t.add_row(*row)
    con.print(t)
    cfg = res.config
    edges = [e for _, e in cfg.grouped_bands] if cfg.grouped_bands else list(cfg.band_edges_g[:3])
    legend = (f"Bands in g above gravity: low {edges[0]:.1f}-{edges[1]:.1f}, medium {edges[1]:.1f}-{edges[2]:.1f}, "
              f"high >= {edges[2]:.1f}.")
    if show_sessions:
        legend += " Jumps and sets counted; " + ", ".join(
            f"{k.short} ({k.what.split(' (')[0]})" for k in _TABLE_KINDS if k.unit == "min") + " in minutes."
    con.print(legend, soft_wrap=False)
    w = res.weekly
    if w["valid_days"]:
        con.print(f"Per week (mean of {w['valid_days']} valid day(s) x 7): low {w['low']:.0f}, medium {w['medium']:.0f}, "
                  f"high {w['high']:.0f}")
    else:
        con.print("Per week: no valid day (>= 10 h wear), so no weekly figures")
    tot = res.band_totals()
    con.print(f"Total: {tot['total']} impacts (low {tot['low']}, medium {tot['medium']}, high {tot['high']}); "
              f"wear {q['wear_h']:.1f} h; gaps {q['gaps']}; clipped samples {q['clipped_samples']}")
    print_sessions(res, con)
    print_plan_check(res, con)
    print_loading(res, con)
    con.print(f"[dim]Method: {res.config.name}. {res.config.conventions}[/dim]")


def _describe(r: Any) -> str:
    if r.kind == "jumps":
        return f"{r.n_jumps} jumps in {r.n_sets} set(s)"
    if r.kind == "vibration":
        if np.isfinite(r.rms_g):
            return f"{r.frequency_hz:.1f} Hz, {r.rms_g:.2f} g RMS"
        return "declared by a marker"
    return f"{r.cadence_spm:.0f} steps/min"


def print_sessions(analysis: Analysis, console: Console) -> None:
    """The sessions of each day, and the markers with where they came from."""
    ses = analysis.sessions
    if len(ses):
        console.print("Sessions:")
        tz = analysis.meta.timezone
        days = ses["start"].dt.tz_convert(tz).dt.normalize()
        for day, grp in ses.groupby(days, sort=True):
            console.print(f"  [bold]{pd.Timestamp(day):%a %Y-%m-%d}[/bold]")
            for r in grp.itertuples(index=False):
                s, e = r.start.tz_convert(tz), r.end.tz_convert(tz)
                what = _describe(r)
                src = "" if r.label_source == "detected" else f" [dim](label: {r.label_source})[/dim]"
                console.print(f"    {s:%H:%M:%S}-{e:%H:%M:%S}  {r.kind!s:<10} {r.duration_s / 60:6.1f} min  "
                              f"{what}; {r.n_impacts} impacts{src}")
    info = analysis.extra.get("sessions", {})
    marks = info.get("markers", [])
    if marks:
        console.print("Markers used:")
        for m in marks:
            line = f", line {m['line']}" if m.get("line") else ""
            console.print(f"  {m['label']:<9} {m['start']} to {m['end']}  (from {m['source']}{line})")


_MARK = {"met": "[green]met[/green]", "not met": "[red]not met[/red]", "no data": "[yellow]no valid data[/yellow]",
         "not scheduled": "[dim]not scheduled[/dim]"}


def print_plan_check(analysis: Analysis, console: Console) -> None:
    """Day × target grid (met / not met / no valid data) and the weekly rows."""
    pc = analysis.plan_check
    if pc is None:
        return
    plan = analysis.plan
    title = f"Plan: {plan.name}" if plan is not None else "Plan"
    if not len(pc):
        console.print(f"{title}: no target applies to the days recorded")
        return
    daily = pc[pc["period"] == "day"]
    if len(daily):
        order = [n for n, _ in plan.targets.items()] if plan is not None else []
        targets = sorted(dict.fromkeys(daily["target"]), key=lambda n: order.index(n) if n in order else len(order))
        t = make_table(f"{title} (per day)")
        t.add_column("date")
        for name in targets:
            rows = daily.loc[daily["target"] == name, ["required", "unit"]]
            req = rows.dropna(subset=["required"]).iloc[0] if rows["required"].notna().any() else rows.iloc[0]
            t.add_column(f"{name}\n>= {req['required']:g} {'min' if req['unit'] == 'min' else ''}".rstrip(), justify="center")
        for d, grp in daily.groupby("date", sort=True):
            cells = []
            for name in targets:
                r = grp[grp["target"] == name]
                if not len(r):
                    cells.append("[dim]-[/dim]")
                    continue
                r0 = r.iloc[0]
                ach = f"{r0['achieved']:g}" if r0["status"] in ("met", "not met") else ""
                cells.append(f"{_MARK[r0['status']]} {ach}".strip())
            t.add_row(pd.Timestamp(d).strftime("%a %Y-%m-%d"), *cells)
        console.print(t)
    weekly = pc[pc["period"] == "week"]
    for r in weekly.itertuples(index=False):
        week = pd.Timestamp(r.date).isocalendar()
        part = " (partial week: " + r.detail + ")" if r.partial and r.detail else ""
        console.print(f"{r.target} week {week.year}-W{week.week:02d}: {_MARK[r.status]}, {r.achieved:g} of "
                      f"{r.required:g} {r.unit}{part}")


def print_loading(analysis: Analysis, console: Console) -> None:
    """Daily DSS, OI and peak GRF, and the GRF per impact with a body mass."""
    loading = analysis.extra.get("loading")
    if not loading:
        return
    d = analysis.daily
    basis = "GRF in body weights" if loading["basis"] == "grf_bw" else "peak acceleration in g (no body mass)"
    parts = []
    for r in d.itertuples(index=False):
        peak = "" if not np.isfinite(getattr(r, "peak_grf_bw_max", np.nan)) else f", peak GRF {r.peak_grf_bw_max:.2f} BW"
        parts.append(f"{r.date:%a %Y-%m-%d}: DSS {r.dss:.2f}, OI {r.oi:.2f}{peak}")
    console.print(f"Bone-loading indices (stimulus: {basis}; DSS m = {loading['dss_exponent']:g}):")
    for p in parts:
        console.print(f"  {p}")
    imp = analysis.impacts
    if loading["body_mass_kg"] is not None and len(imp):
        print_indented(
            console,
            f"GRF per impact (Veras, {loading['placement']}, {loading['vector']}, {loading['body_mass_kg']:g} kg): "
            f"median {np.nanmedian(imp['grf_n']):.0f} N, max {np.nanmax(imp['grf_n']):.0f} N; "
            f"outside calibration {loading['outside_calibration']}",
        )
    for note in loading.get("notes", []):
        print_indented(console, note, style="dim")


def print_indented(console: Console, text: str, *, indent: int = 2, style: str | None = None) -> None:
    """``text`` (plain, no markup) indented by ``indent`` spaces, wrapped to the console's width.

    Continuation lines hang two spaces deeper, so a wrapped note still reads as one item of its
    list; no line ends in a space.
    """
    lines = textwrap.wrap(text, width=max(console.width, indent + 20), initial_indent=" " * indent,
                          subsequent_indent=" " * (indent + 2), break_on_hyphens=False) or [""]
    for line in lines:
        console.print(line, style=style, markup=False, highlight=False, soft_wrap=True)


# ------------------------------------------------------------------------------ the client's answer
def _amount(v: Any, unit: str) -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "-"
    return f"{float(v):.0f}{' min' if unit == 'min' else ''}"


def print_answer(ans: Any, console: Console | None = None) -> None:
    """The client's answer panel (:class:`impactlab.report.today.TodayAnswer`): one sentence, then each
    target of the day with done / needed and a verdict, then the week so far."""
    lines = [escape(ans.sentence())]
    for r in ans.rows:
        name = escape(str(r["target"]).replace("_", " "))
        if r["status"] == "not scheduled":
            when = "today" if ans.day == ans.today else "that day"
            lines.append(f"{name}: {_amount(r['achieved'], r['unit'])} done, {_MARK['not scheduled']} {when}")
        else:
            lines.append(f"{name}: {_amount(r['achieved'], r['unit'])} of {_amount(r['required'], r['unit'])}: "
                         f"{_MARK.get(r['status'], r['status'])}")
    w = ans.week
    if w.get("checked"):
        lines.append(f"{ans.week_label()}: {w['met']} of {w['checked']} targets met ({100 * w['rate']:.0f} %)")
    title = escape(ans.client_name or ans.client_id) + (f": {ans.day_label()}" if ans.day is not None else "")
    (console or stdout_console()).print(make_panel("\n".join(lines), title=title))


def today_json(ans: Any) -> dict[str, Any]:
    """The answer as JSON-ready values (``day``, ``sentence``, ``targets``, ``week``)."""
    return {"day": str(ans.day) if ans.day else None, "sentence": ans.sentence(), "targets": ans.rows,
            "week": ans.week}


def print_answer_after_sync(store_path: Any, client_id: str) -> None:
    """After a sync: what the client sees at once, the answer for the last day with data (as ``today``)."""
    from impactlab.report.today import today_answer
    from impactlab.store import Store

    with Store(store_path) as st:
        ans = today_answer(st, client_id)
    print_answer(ans)
