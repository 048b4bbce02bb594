"""Matplotlib figures of the weekly report, rendered as inline SVG strings (Agg backend).

Each function returns ``(svg, alt)``: the ``<svg>`` element (no XML prolog, ``role="img"`` and an
``aria-label``) and a text alternative saying what the plot shows in words and numbers.
"""

from __future__ import annotations

import io
import re
from typing import TYPE_CHECKING, Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from markupsafe import escape
from matplotlib.figure import Figure

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

    from . import WeeklyReport

__all__ = ["daily_bands_svg", "timeline_svg", "trend_svg"]

# colour-blind safe (Okabe-Ito); print-friendly with hatching for the target line
BAND_COLORS = {"low": "#56B4E9", "medium": "#E69F00", "high": "#D55E00"}
KIND_COLORS = {"jumps": "#D55E00", "brisk_walk": "#009E73", "walk": "#56B4E9", "run": "#0072B2",
               "vest_walk": "#CC79A7", "vibration": "#E69F00"}
_RC: dict[RcKeyType, Any] = {"svg.hashsalt": "impactlab", "svg.fonttype": "path", "font.size": 9, "axes.spines.top": False,
       "axes.spines.right": False}


def _svg(fig: Figure, alt: str) -> str:
    buf = io.StringIO()
    with plt.rc_context(_RC):
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None}, bbox_inches="tight")
    plt.close(fig)
    text = buf.getvalue()
    start = text.index("<svg")
    svg = text[start:]
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, count=1, flags=re.S)
    label = str(escape(alt))
    return svg.replace("<svg ", f'<svg role="img" aria-label="{label}" focusable="false" ', 1)


def daily_bands_svg(rep: WeeklyReport) -> tuple[str, str]:
    """Impacts per day and band (three panels), with the plan's daily impact target."""
    labels = [d.strftime("%a\n%d") for d in rep.days]
    rows = [rep.day_row(d) for d in rep.days]
    target = next((t for t in rep.plan_targets if t["target"] == "high_impacts" and t["period"] == "day"), None)
    with plt.rc_context(_RC):
        fig, axes = plt.subplots(1, 3, figsize=(9.0, 2.6), sharex=True)
        parts = []
        for ax, band in zip(axes, ("low", "medium", "high"), strict=True):
            vals = [0 if r is None else int(r[f"n_{band}"]) for r in rows]
            bars = ax.bar(range(7), vals, color=BAND_COLORS[band], edgecolor="#333333", linewidth=0.4)
            for i, r in enumerate(rows):
                if r is None:
                    ax.text(i, 0, rep.missing_label(rep.days[i]).replace(" ", "\n"), ha="center", va="bottom", fontsize=6,
                            color="#555555")
                elif not r["valid"]:
                    bars[i].set_hatch("///")
            ax.set_title({"low": "low 0.5-1.0 g", "medium": "medium 1.0-1.5 g", "high": "high >= 1.5 g"}[band])
            ax.set_xticks(range(7), labels, fontsize=7)
            ax.set_ylabel("impacts per day" if band == "low" else "")
            parts.append(f"{band}: " + ", ".join(f"{d:%a} {rep.missing_label(d) if r is None else v}" for d, r, v in
                                                  zip(rep.days, rows, vals, strict=True)))
            if band == "high" and target is not None and target["required"] is not None:
                ax.axhline(float(target["required"]), color="#000000", linestyle="--", linewidth=1.0)
                ax.text(6.4, float(target["required"]), f"target {target['required']:g}", ha="right", va="bottom", fontsize=7)
        fig.tight_layout()
    alt = "Impacts per day by band, Monday to Sunday (hatched bars: days short of the valid-day wear time). " + "; ".join(parts)
    if target is not None and target["required"] is not None:
        alt += f". Daily target for high impacts: {target['required']:g}."
    return _svg(fig, alt), alt


def timeline_svg(rep: WeeklyReport) -> tuple[str, str]:
    """One row per day, 0-24 h: worn time (grey) and sessions (coloured by kind)."""
    with plt.rc_context(_RC):
        fig, ax = plt.subplots(figsize=(9.0, 2.8))
        parts = []
        for i, (day, worn) in enumerate(zip(rep.days, rep.wear, strict=True)):
            y = 6 - i
            if worn:
                ax.broken_barh([(a, b - a) for a, b in worn], (y - 0.35, 0.7), facecolors="#DDDDDD", edgecolor="none")
            hours = sum(b - a for a, b in worn)
            parts.append(f"{day:%a}: {rep.missing_label(day)}" if rep.day_row(day) is None else f"{day:%a}: worn {hours:.1f} h")
        seen: set[str] = set()
        s = rep.sessions
        for r in s.to_dict("records"):
            start = r["start"].tz_convert(rep.timezone)
            end = r["end"].tz_convert(rep.timezone)
            try:
                i = rep.days.index(start.date())
            except ValueError:
                continue
            h0 = start.hour + start.minute / 60 + start.second / 3600
            h1 = h0 + max((end - start).total_seconds(), 60.0) / 3600
            kind = str(r["kind"])
            ax.broken_barh([(h0, h1 - h0)], (6 - i - 0.25, 0.5), facecolors=KIND_COLORS.get(kind, "#000000"),
                           label=None if kind in seen else kind.replace("_", " "))
            seen.add(kind)
            parts.append(f"{start:%a %H:%M} {kind.replace('_', ' ')} {r['duration_s'] / 60:.0f} min")
        ax.set_yticks(range(7), [d.strftime("%a %d") for d in reversed(rep.days)], fontsize=7)
        ax.set_xlim(0, 24)
        ax.set_xticks(range(0, 25, 3), [f"{h:02d}:00" for h in range(0, 25, 3)], fontsize=7)
        ax.set_xlabel(f"local time ({rep.timezone}); grey = sensor worn")
        ax.set_ylim(-0.6, 6.6)
        if seen:
            ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.25), ncol=len(seen), frameon=False, fontsize=7)
        fig.tight_layout()
    alt = "Timeline of each day: " + "; ".join(parts) + ("" if len(s) else "; no exercise sessions found")
    return _svg(fig, alt), alt


def trend_svg(rep: WeeklyReport) -> tuple[str, str]:
    """The last 8 weeks: high impacts per week and the share of targets met."""
    tr = rep.trend
    labels = [t["week"][-3:] for t in tr]
    high = [t["high"] if t["high"] is not None else 0 for t in tr]
    with plt.rc_context(_RC):
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9.0, 2.4))
        bars = ax1.bar(range(8), high, color=BAND_COLORS["high"], edgecolor="#333333", linewidth=0.4)
        for i, t in enumerate(tr):
            if t["high"] is None:
                bars[i].set_hatch("///")
                ax1.text(i, 0, "no\nvalid\nday", ha="center", va="bottom", fontsize=6, color="#555555")
        ax1.set_xticks(range(8), labels, fontsize=7)
        ax1.set_ylim(0, max(max(high) * 1.15, 1.0))
        ax1.set_title("high impacts per week (valid-day mean x 7)")
        share = [100 * t["adherence"] if t["adherence"] is not None else float("nan") for t in tr]
        ax2.plot(range(8), share, marker="o", color="#0072B2")
        if not any(t["targets_checked"] for t in tr):
            ax2.text(3.5, 50, "no targets checked", ha="center", va="center", fontsize=8, color="#555555")
        ax2.set_xlim(-0.5, 7.5)
        ax2.set_ylim(0, 105)
        ax2.set_xticks(range(8), labels, fontsize=7)
        ax2.set_title("adherence: % met of targets met or not met")
        fig.tight_layout()
    parts = []
    for t in tr:
        hi = "no valid day" if t["high"] is None else f"{t['high']:.0f} high impacts/week from {t['valid_days']} valid day(s)"
        tg = f"{t['targets_met']} of {t['targets_checked']} targets met" if t["targets_checked"] else "no targets checked"
        parts.append(f"{t['week']}: {hi}, {tg}")
    alt = "Trend over the last 8 weeks: " + "; ".join(parts)
    return _svg(fig, alt), alt


def figure_data(rep: WeeklyReport) -> list[dict[str, Any]]:
    """The three figures as ``{"id", "title", "svg", "alt"}`` dicts, in report order."""
    out = []
    for fid, title, fn in (("fig-bands", "Daily impacts per band against the target", daily_bands_svg),
                           ("fig-timeline", "Sessions and wear time per day", timeline_svg),
                           ("fig-trend", "High impacts per week and adherence, week by week", trend_svg)):
        svg, alt = fn(rep)
        out.append({"id": fid, "title": title, "svg": svg, "alt": alt})
    return out
