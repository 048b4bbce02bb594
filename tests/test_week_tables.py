"""WeekTables: the weekly report from the store, from one Analysis and from a batch folder agree."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from impactlab.cli.main import main

from impactlab.config import DetectionConfig, WearConfig
from impactlab.io import write_parquet
from impactlab.pipeline import analyze
from impactlab.plan import load_plan, parse_plan
from impactlab.recording import Recording
from impactlab.report import WeekTables, weekly_report
from impactlab.simulate import Walk, simulate_recording
from impactlab.store import Store, plan_text

CONFIG = DetectionConfig(wear=WearConfig(valid_day_h=1.0))
PLAN = 'schema = 1\nname = "p"\n[targets.high_impacts]\nper_day = 4\nmin_band = "high"\n[targets.jumps]\nper_day = 3\n'


def _rec() -> Recording:
    return simulate_recording(duration_s=4500.0, fs=50, start="2026-03-03 09:00", seed=3,
                              jumps=[(300.0 + 30 * k, 1.8 + 0.1 * k) for k in range(6)],
                              walks=[Walk(900.0, 1800.0, 112.0, 0.75)], source="day.parquet")


def test_plan_keeps_its_text_and_parses_again(tmp_path: Path) -> None:
    p = tmp_path / "plan.toml"
    p.write_text(PLAN)
    plan = load_plan(p)
    assert plan.source_text == PLAN and plan_text(plan) == (PLAN, str(p))
    again = parse_plan(PLAN, path="stored.toml")
    assert again == plan and again.source_text == PLAN  # equality ignores path and text
    assert dataclasses.replace(plan, source_text=None) == plan


def test_report_from_store_equals_report_from_analysis_and_batch_folder(tmp_path: Path) -> None:
    plan = parse_plan(PLAN, path="plan.toml")
    rec = _rec()
    res = analyze(rec, config=CONFIG, plan=plan)
    with Store(tmp_path / "s.sqlite") as st:
        st.import_recording("c01", rec, config=CONFIG, plan=plan)
        from_store = weekly_report(st.week_tables("c01", "2026-W10"), st.client_plan("c01"))
    from_analysis = weekly_report(WeekTables.from_analysis(res, client_id="c01"), plan)
    a, b = from_store.to_json_dict(), from_analysis.to_json_dict()
    for key in ("week", "days", "plan_check", "grid", "weekly", "flags"):
        assert a[key] == b[key], key
    assert a["grid"]["jumps"][1] == "met" and a["grid"]["high_impacts"][1] == "met"
    assert from_store.wear == from_analysis.wear and sum(h1 - h0 for h0, h1 in from_store.wear[1]) > 1.0
    # the same recording through 'impactlab batch': its folder renders the same days and checks
    src = tmp_path / "day.parquet"
    write_parquet(rec, src)
    (tmp_path / "plan.toml").write_text(PLAN)
    assert main(["batch", str(src), "--plan", str(tmp_path / "plan.toml"), "--scheduler", "sync", "--format", "csv",
                 "-o", str(tmp_path / "out"), "-q"]) == 0
    from_batch = weekly_report(WeekTables.from_batch_folder(tmp_path / "out" / "day"), plan).to_json_dict()
    default = weekly_report(WeekTables.from_analysis(analyze(rec, config=DetectionConfig(), plan=plan)), plan)
    want = default.to_json_dict()  # batch uses the default 10 h valid-day rule: the day is too short to judge
    for key in ("week", "plan_check", "grid", "weekly"):
        assert from_batch[key] == want[key], key
    assert want["grid"]["jumps"][1] == "no data"
    assert [d["n_high"] for d in from_batch["days"]] == [d["n_high"] for d in a["days"]]
    assert len(from_batch["sessions"]) == len(want["sessions"]) > 0


def test_days_after_today_are_to_come_not_missing(tmp_path: Path) -> None:
    """Mid-week (today = Wed 4 Mar), Thu-Sun have not happened yet: 'to come', not 'no recording',
    and not counted as days without a recording; a past Monday and today without data still are."""
    import datetime as dt
    import re

    from impactlab.report.html import render_weekly_html

    plan = parse_plan(PLAN, path="plan.toml")
    rec = _rec()  # Tue 3 Mar
    with Store(tmp_path / "s.sqlite") as st:
        st.import_recording("c01", rec, config=CONFIG, plan=plan)
        tables = st.week_tables("c01", "2026-W10")
    for t in (tables, WeekTables.from_analysis(analyze(rec, config=CONFIG, plan=plan), client_id="c01")):
        mid = weekly_report(t, plan, today=dt.date(2026, 3, 4))
        later = weekly_report(t, plan, today=dt.date(2026, 3, 20))
        j = mid.to_json_dict()
        assert (j["days_without_recording"], j["days_to_come"]) == (2, 4)
        assert (later.days_without_recording, later.days_to_come) == (6, 0)
        assert [c.text for c in mid.grid["jumps"]] == ["no recording", mid.grid["jumps"][1].text, "no recording",
                                                       "to come", "to come", "to come", "to come"]
        assert mid.grid["jumps"][1].status == "met"
        a, b = j["adherence"], later.to_json_dict()["adherence"]
        assert (a["met"], a["checked"], a["rate"]) == (b["met"], b["checked"], b["rate"])  # empty days are not judged
        assert (a["no_data"], b["no_data"]) == (4, 12)  # Mon and Wed x 2 targets; later Thu-Sun too
        html = render_weekly_html(mid)
        rows = re.findall(r'class="no-data left">([^<]+)</td>', html)
        assert rows == ["no recording", "no recording", "to come", "to come", "to come", "to come"]
        assert "2 day(s) with no recording" in html


def test_html_report_renders_from_an_analysis_and_a_batch_folder(tmp_path: Path) -> None:
    """WeekTables.from_analysis / from_batch_folder feed render_weekly_html too (they lacked the
    recording's device, rate and times the report lists, so rendering raised KeyError)."""
    from impactlab.report.html import render_weekly_html

    plan = parse_plan(PLAN, path="plan.toml")
    rec = _rec()
    src = tmp_path / "day.parquet"
    write_parquet(rec, src)
    (tmp_path / "plan.toml").write_text(PLAN)
    assert main(["batch", str(src), "--plan", str(tmp_path / "plan.toml"), "--scheduler", "sync", "--format", "csv",
                 "-o", str(tmp_path / "out"), "-q"]) == 0
    for tables in (WeekTables.from_analysis(analyze(rec, config=CONFIG, plan=plan), client_id="c01"),
                   WeekTables.from_batch_folder(tmp_path / "out" / "day")):
        html = render_weekly_html(weekly_report(tables, plan))
        assert "simulated" in html and "Tue 03 Mar 09:00" in html and "Tue 03 Mar 10:14" in html, tables.recordings
