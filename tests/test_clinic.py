"""The clinic's answers driven like a user: "not scheduled" beside "no data", progression plans,
sensors assigned by date, the client's answer after a sync."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from impactlab.cli.main import main

from impactlab.config import DetectionConfig, WearConfig
from impactlab.store import Store, load_plan_file

from .test_store import _rec

SHORT_DAY = DetectionConfig(wear=WearConfig(valid_day_h=0.5))  # 40-min simulated days count as valid


def _week(tmp_path: Path, plan_text: str, days: list[str], short: tuple[int, ...] = ()) -> Path:
    store = tmp_path / "s.sqlite"
    plan = tmp_path / "plan.toml"
    plan.write_text(plan_text)
    with Store(store) as st:
        for k, day in enumerate(days):
            st.import_recording("c1", _rec(seed=80 + k, start=f"{day} 09:00", duration_s=900.0 if k in short else 2400.0),
                                config=SHORT_DAY, plan=load_plan_file(plan) if k == 0 else None)
    return store


def _json(capsys: pytest.CaptureFixture[str], argv: list[str]) -> dict[str, Any]:
    capsys.readouterr()
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_not_scheduled_is_its_own_status_everywhere(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Mon-Thu recorded, Wed too short; jumps only on Mon/Wed. Every output gives 3 met of 4 judged."""
    # each simulated day has 3 jumps (landings of 2.2, 1.8 and 1.2 g above gravity: the last in the medium band)
    store = _week(tmp_path, 'schema = 1\n[targets.jumps]\nper_day = 4\ndays = ["mon", "wed"]\n'
                            "[targets.high_impacts]\nper_day = 2\n",
                  ["2026-03-02", "2026-03-03", "2026-03-04", "2026-03-05"], short=(2,))
    s = ["--store", str(store)]
    rep = _json(capsys, ["report", "--client", "c1", "--week", "2026-W10", "--format", "json", *s])
    by = {(r["date"], r["target"]): r for r in rep["plan_check"]}
    assert by[("2026-03-02", "jumps")]["status"] == "not met" and by[("2026-03-02", "jumps")]["achieved"] == 3
    assert by[("2026-03-03", "jumps")]["status"] == "not scheduled"
    assert by[("2026-03-03", "jumps")]["required"] is None and by[("2026-03-03", "jumps")]["met"] is None
    assert by[("2026-03-04", "jumps")]["status"] == "no data"  # scheduled, but 0.25 h wear
    assert by[("2026-03-05", "jumps")]["status"] == "not scheduled"
    assert all(r["met"] is None for r in rep["plan_check"] if r["status"] not in ("met", "not met"))
    # Fri-Sun have no recording: a row each too (high impacts: no data; jumps: not scheduled), as in the grid
    want = {"met": 3, "not_met": 1, "no_data": 5, "not_scheduled": 5, "checked": 4, "rate": 0.75}
    assert rep["adherence"] == want
    # the grid: days without a recording say so, or "not scheduled" on a weekday the target skips
    assert rep["grid"]["jumps"] == ["not met", "not scheduled", "no data"] + ["not scheduled"] * 4
    assert rep["grid"]["high_impacts"] == ["met", "met", "no data", "met", "no data", "no data", "no data"]
    assert rep["trend"][-1]["targets_not_scheduled"] == 5 and rep["trend"][-1]["adherence"] == 0.75
    hist = _json(capsys, ["history", "--client", "c1", "--format", "json", *s])["weeks"][-1]
    assert (hist["targets_met"], hist["targets_checked"], hist["targets_no_data"], hist["targets_not_scheduled"],
            hist["adherence"]) == (3, 4, 5, 5, 0.75)
    case = _json(capsys, ["report", "--all", "--week", "2026-W10", "--format", "json", *s])["clients"][0]
    assert case["adherence"]["rate"] == 0.75 and case["adherence"]["not_scheduled"] == 5
    # today (Thu): the jumps are not asked for, so only the impacts are judged
    capsys.readouterr()
    assert main(["today", "--client", "c1", *s]) == 0
    out = capsys.readouterr().out
    assert "1 of 1 targets met on Thu 05 Mar." in out
    # Thu 05 Mar is long past: "that day" and the week by its Monday, not "today" and "this week so far"
    assert "jumps: 3 done, not scheduled that day" in out and "high impacts: 2 of 2: met" in out
    assert "Week of Mon 02 Mar (2026-W10): 3 of 4 targets met (75 %)" in out
    # the report's sentence under the grid
    page = tmp_path / "w.html"
    assert main(["report", "--client", "c1", "--week", "2026-W10", "--html", str(page), "-q", *s]) == 0
    html = page.read_text()
    assert ("3 of 4 checks met (75 % adherence); not counted: 5 without data (days too short to judge, or 3 "
            "day(s) with no recording) and 5 not scheduled.") in html
    assert '<td class="no-data">no recording</td>' in html and '<td class="not-scheduled">not scheduled</td>' in html


PROGRESSION = """schema = 1
name = "prog"
start = 2026-03-02
[targets.jumps]
per_day = 2
[targets.vest_walk]
minutes_per_week = 30
vest_mass_kg = 3
[[phases]]
name = "more"
from = 2026-03-04
[phases.targets.jumps]
per_day = 50
[phases.targets.vest_walk]
vest_mass_kg = 4.5
"""


def test_progression_plan_checks_each_day_against_its_phase(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = _week(tmp_path, PROGRESSION, ["2026-03-02", "2026-03-03", "2026-03-04", "2026-03-05"])
    rep = _json(capsys, ["report", "--client", "c1", "--week", "2026-W10", "--format", "json", "--store", str(store)])
    jumps = [r for r in rep["plan_check"] if r["target"] == "jumps"]
    assert [(r["date"], r["required"], r["achieved"], r["status"]) for r in jumps] == [
        ("2026-03-02", 2.0, 3.0, "met"), ("2026-03-03", 2.0, 3.0, "met"),
        ("2026-03-04", 50.0, 3.0, "not met"), ("2026-03-05", 50.0, 3.0, "not met"),
        *((f"2026-03-0{d}", 50.0, None, "no data") for d in (6, 7, 8))]  # no recording: the phase's target
    week = [r for r in rep["plan_check"] if r["period"] == "week"]
    assert [(r["target"], r["required"], r["status"]) for r in week] == [("vest_walk", 30.0, "not met")]
    # the plan's JSON says when each phase starts and what it asks
    phases = rep["plan"]["phases"]
    assert [(p["name"], p["from"]) for p in phases] == [("prog", "2026-03-02"), ("prog (more)", "2026-03-04")]
    assert "50 jumps (landing after a flight phase) every day." in phases[1]["sentences"]
    assert any("4.5 kg vest" in s for s in phases[1]["sentences"])


def test_sample_progression_plan_parses_by_programme_week() -> None:
    import datetime as dt

    from impactlab.plan import load_plan

    p = load_plan(Path(__file__).parent.parent / "sample_data" / "plan-progression.toml")
    assert [(d, q.targets.jumps.per_day, q.vest_mass_kg) for d, q in p.segments()] == [  # type: ignore[union-attr]
        (None, 5, 3.0), (dt.date(2026, 3, 16), 28, 4.0), (dt.date(2026, 4, 6), 50, 5.0)]
    assert p.in_force(dt.date(2026, 3, 15)).targets.jumps.per_day == 5  # type: ignore[union-attr]
    assert p.in_force(dt.date(2026, 3, 16)).targets.jumps.min_sets == 3  # type: ignore[union-attr]
    assert p.in_force(dt.date(2026, 4, 6)).targets.jumps.days == ("mon", "wed", "fri", "sun")  # type: ignore[union-attr]


@pytest.mark.parametrize("body, key, words", [
    ("[[phases]]\nweek = 2\n[phases.targets.jumps]\nper_day = 5\n", "start", "needs the plan's start date"),
    ("start = 2026-03-02\n[[phases]]\nweek = 2\n[phases.targets.jumps]\nper_dya = 5\n",
     "phases[0].targets.jumps.per_dya", "unknown key"),
    ("start = 2026-03-02\n[[phases]]\nweek = 2\n[phases.targets.jumps]\nper_day = -5\n",
     "phases[0].targets.jumps.per_day", "must not be negative"),
    ("[[phases]]\n[phases.targets.jumps]\nper_day = 5\n", "phases[0].from", "either 'from'"),
    ("[[phases]]\nfrom = 2026-03-09\n[phases.targets.jumps]\nper_day = 5\n[[phases]]\nfrom = 2026-03-05\n"
     "[phases.targets.jumps]\nper_day = 9\n", "phases[1]", "not after the phase before"),
    ("[[phases]]\nfrom = 2026-03-09\n[phases.targets.high_impacts]\nmin_band = \"high\"\n",
     "phases[0].targets.high_impacts.per_day", "is required"),
    ("[[phases]]\nfrom = \"next week\"\n[phases.targets.jumps]\nper_day = 5\n", "phases[0].from", "must be a date"),
    ("[[phases]]\nfrom = 2026-03-09\nwhen = 1\n", "phases[0].when", "unknown key"),
])
def test_bad_progression_names_file_and_key(tmp_path: Path, capsys: pytest.CaptureFixture[str], body: str, key: str,
                                            words: str) -> None:
    f = tmp_path / "bad.toml"
    f.write_text("schema = 1\n" + body.replace("[[phases]]", "[targets.jumps]\nper_day = 1\n[[phases]]", 1))
    assert main(["plan", "check", str(f)]) == 1
    err = capsys.readouterr().err
    assert str(f) in err and key in err and words in err, err


def test_device_assign_from_a_date_attributes_data_by_day(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """S1 goes from c1 to c2 on Wed 04 Mar: Tuesday's file is c1's, Thursday's c2's, whoever imports them."""
    from impactlab.io import write_parquet

    store = tmp_path / "s.sqlite"
    s = ["--store", str(store), "-q"]
    files = {}
    for k, day in enumerate(["2026-03-02", "2026-03-03", "2026-03-05"]):
        files[day] = tmp_path / f"{day}.parquet"
        write_parquet(_rec(seed=90 + k, start=f"{day} 09:00"), files[day])
    assert main(["import", str(files["2026-03-02"]), "--client", "c1", "--device", "S1", *s]) == 0
    with Store(store) as st:
        st.add_client("c2")
    assert main(["device", "assign", "S1", "--client", "c2", "--from", "2026-03-04", "--store", str(store)]) == 0
    assert "sensor S1: c1 -> c2 from 2026-03-04" in capsys.readouterr().err
    # Thursday's data belong to c2: c1 is refused, naming the owner on that day and the command
    assert main(["import", str(files["2026-03-05"]), "--client", "c1", "--device", "S1", *s]) == 1
    err = capsys.readouterr().err
    assert "belongs to client 'c2' on 2026-03-05, not 'c1'" in err and "--from 2026-03-05" in err
    assert main(["import", str(files["2026-03-05"]), "--client", "c2", "--device", "S1", *s]) == 0
    # Tuesday's (synced late) still belongs to c1, not to the sensor's owner now
    assert main(["import", str(files["2026-03-03"]), "--client", "c2", "--device", "S1", *s]) == 1
    assert "belongs to client 'c1' on 2026-03-03" in capsys.readouterr().err
    assert main(["import", str(files["2026-03-03"]), "--client", "c1", "--device", "S1", *s]) == 0
    with Store(store) as st:
        assert st.device_assignments("S1") == [("0000-01-01", "c1"), ("2026-03-04", "c2")]
        got = {c: [d.strftime("%a") for d in st.daily(c)["date"]] for c in ("c1", "c2")}
    assert got == {"c1": ["Mon", "Tue"], "c2": ["Thu"]}
    # a recording across the change is refused (it would mix two clients' days)
    across = tmp_path / "across.parquet"
    write_parquet(_rec(seed=99, start="2026-03-03 23:30", duration_s=3600.0), across)
    assert main(["import", str(across), "--client", "c1", "--device", "S1", *s]) == 1
    assert "went to client 'c2' on 2026-03-04" in capsys.readouterr().err
    # without --from the sensor moves from the day after its last stored data
    assert main(["device", "assign", "S1", "--client", "c1", "--store", str(store)]) == 0
    assert "c2 -> c1 from 2026-03-06" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:  # a bad flag value is a usage error (docs/cli.md)
        main(["device", "assign", "S1", "--client", "c2", "--from", "2026-13-01", "--store", str(store)])
    assert exc.value.code == 2 and "argument --from: '2026-13-01' is not a date" in capsys.readouterr().err


@pytest.mark.browser
def test_report_reads_for_a_therapist_in_chromium_and_pdf(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Glossary, plan as sentences, hidden chart descriptions, whole counts, one 8-week section, a BLE
    source said in words, and a PDF whose every page has the client, the week and its number."""
    import dataclasses
    import os
    import re

    from impactlab.recording import Recording
    from impactlab.report.browser import find_chromium, print_pdf, render_page

    from .pdftext import page_texts

    if find_chromium() is None and not os.environ.get("CI"):
        pytest.skip("headless Chromium is not installed (apt-get install chromium)")
    store = tmp_path / "s.sqlite"
    plan = tmp_path / "plan.toml"
    plan.write_text('schema = 1\nname = "p"\n[targets.jumps]\nper_day = 2\ndays = ["mon", "thu"]\n')
    rec = _rec(seed=5)
    ble = Recording(rec.data, dataclasses.replace(rec.meta, source="ble:F0:1A:B2:00:00:01", device="impactlab-hip-v1"))
    with Store(store) as st:
        st.import_recording("c1", ble, config=SHORT_DAY, plan=load_plan_file(plan), origin="ble", device_id="F0:1A")
        st.add_client("c1", name='Ann "A" </style>')
    page = tmp_path / "w.html"
    assert main(["report", "--client", "c1", "--week", "2026-W10", "--html", str(page), "-q", "--store", str(store)]) == 0
    html = page.read_text()
    assert html.count(">The last 8 weeks</h2>") == 1 and html.count('id="fig-trend"') == 1
    assert "2 jumps (landing after a flight phase) a day, on Monday and Thursday." in html and "days = [" not in html
    for term in ("DSS</abbr>, daily stress stimulus", "OI</abbr>, osteogenic index", "GRF</abbr>, peak GRF (BW)",
                 "Whalen, Carter &amp; Steele 1988", "Turner &amp; Robling 2003"):
        assert term in html, term
    assert "Bluetooth sync from F0:1A:B2:00:00:01" in html and ">ble:" not in html
    assert re.search(r"Per week \(mean of 1 valid day\(s\) &times; 7\): low \d+, medium \d+, high \d+\.", html)
    assert "Tue: no recording" in html and "worn 0.0 h" not in html
    # the chart descriptions are in the page for screen readers but take no room on screen
    probe = tmp_path / "probe.html"
    probe.write_text(html.replace("</body>", """<script>
      const d = [...document.querySelectorAll('figure')].map(f => {
        const p = document.getElementById(f.getAttribute('aria-describedby')); const r = p.getBoundingClientRect();
        return [f.id, Math.round(r.width), Math.round(r.height), p.textContent.length]; });
      const pre = document.createElement('pre'); pre.id = 'probe'; pre.textContent = JSON.stringify(d);
      document.body.appendChild(pre);</script></body>"""))
    m = re.search(r'<pre id="probe">(.*?)</pre>', render_page(probe).stdout, re.S)
    assert m is not None
    figs = json.loads(m.group(1).replace("&quot;", '"'))
    assert [f[0] for f in figs] == ["fig-bands", "fig-timeline", "fig-trend"]
    assert all(w <= 1 and h <= 1 and n > 50 for _, w, h, n in figs), figs
    shot = tmp_path / "w.png"
    run = render_page(page, screenshot=shot, window=(1280, 3600))
    assert run.console == [] and shot.read_bytes()[:4] == b"\x89PNG"
    pages = [re.sub(r"\s+", "", t) for t in page_texts(print_pdf(page, tmp_path / "w.pdf").read_bytes())]
    assert len(pages) >= 2
    for i, text in enumerate(pages, 1):
        assert 'Ann"A"</style>(c1),ISOweek2026-W10' in text, text[:120]
        assert f"page{i}of{len(pages)}" in text
    assert "Impacts,sessionsandwearperday" in pages[0]  # page 1 is filled, not cut after the grid


def test_report_plan_section_states_the_version_in_force_at_the_weeks_end(tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    """After ``plan set --from`` mid-week the report's plan section gives the new version's targets,
    while each day is still checked against the version in force that day."""
    store = _week(tmp_path, "schema = 1\nname = \"A\"\n[targets.jumps]\nper_day = 50\n",
                  ["2026-03-02", "2026-03-03", "2026-03-04", "2026-03-05"])
    new = tmp_path / "b.toml"
    new.write_text("schema = 1\nname = \"B\"\n[targets.jumps]\nper_day = 3\n[targets.high_impacts]\nper_day = 1\n")
    s = ["--store", str(store)]
    assert main(["-q", "plan", "set", str(new), "--client", "c1", "--from", "2026-03-04", *s]) == 0
    rep = _json(capsys, ["report", "--client", "c1", "--week", "2026-W10", "--format", "json", *s])
    jumps = [(r["date"], r["required"], r["status"]) for r in rep["plan_check"] if r["target"] == "jumps"]
    assert jumps == [("2026-03-02", 50.0, "not met"), ("2026-03-03", 50.0, "not met"),
                     ("2026-03-04", 3.0, "met"), ("2026-03-05", 3.0, "met"),
                     ("2026-03-06", 3.0, "no data"), ("2026-03-07", 3.0, "no data"), ("2026-03-08", 3.0, "no data")]
    assert rep["plan"]["name"] == "B"
    assert [(t["target"], t["required"]) for t in rep["plan"]["targets"]] == [("jumps", 3.0), ("high_impacts", 1.0)]
    # a target only the new version has: recorded days before it are "not in that day's plan", not "no recording"
    assert rep["grid"]["high_impacts"][:4] == ["not scheduled", "not scheduled", "met", "met"]
    assert rep["grid"]["high_impacts"][4:] == ["no data"] * 3


PLAN_A = 'schema = 1\nname = "A"\n[targets.jumps]\nper_day = 4\ndays = ["mon", "tue", "thu"]\n[targets.high_impacts]\nper_day = 2\n'
PLAN_B = ('schema = 1\nname = "B"\n[targets.jumps]\nper_day = 3\ndays = ["wed", "fri"]\n[targets.high_impacts]\n'
          'per_day = 3\n[targets.brisk_walk]\nminutes_per_day = 10\n')


def test_one_adherence_in_every_output_for_a_week_with_gaps_and_a_plan_change(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """W10: Mon, Wed, Sat valid; Tue, Thu too short; Fri, Sun not recorded; plan B from Wednesday adds
    brisk walking and moves the jumps to Wed/Fri. Grid sentence, 8-week table, trend, history JSON,
    report JSON and caseload JSON give the same counts; the report, history and caseload say when."""
    import re

    store, a, b = tmp_path / "s.sqlite", tmp_path / "a.toml", tmp_path / "b.toml"
    a.write_text(PLAN_A)
    b.write_text(PLAN_B)
    with Store(store) as st:  # each simulated day: 3 jumps, 2 of them high; 15 min brisk walk (5 min short days)
        for k, day in enumerate(["2026-02-25", "2026-03-02", "2026-03-03", "2026-03-04", "2026-03-05", "2026-03-07"]):
            st.import_recording("c1", _rec(seed=70 + k, start=f"{day} 09:00", duration_s=900.0 if k in (2, 4) else 2400.0),
                                config=SHORT_DAY, plan=load_plan_file(a) if k == 0 else None)
    s = ["--store", str(store)]
    assert main(["-q", "plan", "set", str(b), "--client", "c1", "--from", "2026-03-04", *s]) == 0
    rep = _json(capsys, ["report", "--client", "c1", "--week", "2026-W10", "--format", "json", *s])
    rows = {(r["date"][-2:], r["target"]): (r["required"], r["status"]) for r in rep["plan_check"]}
    # Mon-Tue against A (4 jumps Mon/Tue/Thu, 2 high impacts, no brisk walk), Wed-Sun against B
    assert rows[("02", "jumps")] == (4.0, "not met") and rows[("02", "high_impacts")] == (2.0, "met")
    assert rows[("02", "brisk_walk")] == (None, "not scheduled") and rows[("03", "jumps")] == (4.0, "no data")
    assert rows[("04", "jumps")] == (3.0, "met") and rows[("04", "high_impacts")] == (3.0, "not met")
    assert rows[("05", "jumps")] == (None, "not scheduled") and rows[("06", "jumps")] == (3.0, "no data")
    assert rows[("07", "brisk_walk")] == (10.0, "met") and rows[("08", "jumps")] == (None, "not scheduled")
    assert len(rows) == 21 and all(r["met"] is None for r in rep["plan_check"] if r["status"] not in ("met", "not met"))
    assert all(r["met"] is (r["status"] == "met") for r in rep["plan_check"] if r["status"] in ("met", "not met"))
    want = {"met": 4, "not_met": 3, "no_data": 9, "not_scheduled": 5, "checked": 7, "rate": 0.5714}
    assert rep["adherence"] == want
    cells = [c for row in rep["grid"].values() for c in row]
    assert [cells.count(k) for k in ("met", "not met", "no data", "not scheduled")] == [4, 3, 9, 5]
    t = rep["trend"][-1]
    assert (t["targets_met"], t["targets_checked"], t["targets_no_data"], t["targets_not_scheduled"], t["adherence"]) == (
        4, 7, 9, 5, 0.5714)
    assert rep["plan"]["changes"] == [{"from": "2026-03-04", "name": "B", "previous": "A", "previous_sentences": [
        "4 jumps (landing after a flight phase) a day, on Monday, Tuesday and Thursday.",
        "2 impacts in band high or above every day."]}]
    assert all(isinstance(rep["weekly"][k], int) for k in ("low", "medium", "high"))
    hist = _json(capsys, ["history", "--client", "c1", "--format", "json", *s])["weeks"]
    h = hist[-1]
    assert (h["targets_met"], h["targets_checked"], h["targets_no_data"], h["targets_not_scheduled"], h["adherence"]) == (
        4, 7, 9, 5, 0.5714)
    assert h["plan"] == "B" and h["plan_changes"] == [{"from": "2026-03-04", "name": "B", "previous": "A"}]
    assert not hist[0]["plan_changed"] and all(isinstance(w[k], int) for w in hist for k in ("low", "medium", "high"))
    case = _json(capsys, ["report", "--all", "--week", "2026-W10", "--format", "json", *s])["clients"][0]
    assert case["adherence"] == {"rate": 0.5714, "met": 4, "checked": 7, "no_data": 9, "not_scheduled": 5,
                                 "rate_week_before": 1.0}
    assert "plan changed this week (Wed 04 Mar)" in case["flags"]
    capsys.readouterr()
    assert main(["history", "--client", "c1", *s]) == 0
    out = capsys.readouterr().out
    assert "4 of 7 (57 %)" in out and "new from Wed 04" in out and not re.search(r"\d\.\d", out), out
    assert main(["report", "--client", "c1", "--week", "2026-W10", *s]) == 0
    assert "The plan changed on Wed 04 Mar: checked from then on against 'B', the days before against 'A'." in (
        " ".join(capsys.readouterr().out.split()))
    page = tmp_path / "w.html"
    assert main(["report", "--client", "c1", "--week", "2026-W10", "--html", str(page), "-q", *s]) == 0
    html = page.read_text()
    assert ("4 of 7 checks met (57 % adherence); not counted: 9 without data (days too short to judge, or 2 "
            "day(s) with no recording) and 5 not scheduled.") in html
    assert "<td>4 of 7</td>" in html  # the 8-week table
    assert "<strong>The plan changed on Wed 04 Mar 2026</strong>: days before it were checked against the " \
           "previous version, &ldquo;A&rdquo;; from Wed 04 Mar on, against &ldquo;B&rdquo;" in html
    assert "Until Tue 03 Mar the plan asked for:" in html and html.count('class="plan-change"') == 1
    assert html.count(' plan-change">') == 3  # the Wednesday cell of each target's row


def test_a_target_the_new_version_drops_is_not_scheduled_on_every_later_day(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A asks for jumps and high impacts, B (from Wed) for jumps only: Wed-Sun high impacts are 'not in
    that day's plan', recorded or not, and the grid's counts are the JSON's."""
    store = _week(tmp_path, PLAN_A, ["2026-03-02", "2026-03-03", "2026-03-04"])
    b = tmp_path / "b.toml"
    b.write_text('schema = 1\nname = "B"\n[targets.jumps]\nper_day = 3\n')
    s = ["--store", str(store)]
    assert main(["-q", "plan", "set", str(b), "--client", "c1", "--from", "2026-03-04", *s]) == 0
    rep = _json(capsys, ["report", "--client", "c1", "--week", "2026-W10", "--format", "json", *s])
    high = [(r["date"][-2:], r["status"], r["detail"]) for r in rep["plan_check"] if r["target"] == "high_impacts"]
    assert high == [("02", "met", ""), ("03", "met", "")] + [
        (f"0{d}", "not scheduled", "not in that day's plan") for d in range(4, 9)]
    cells = [c for row in rep["grid"].values() for c in row]
    a = rep["adherence"]
    assert [cells.count(k) for k in ("met", "not met", "no data", "not scheduled")] == [
        a["met"], a["not_met"], a["no_data"], a["not_scheduled"]] == [3, 2, 4, 5]


@pytest.mark.browser
def test_plan_change_is_on_the_pdfs_first_page(tmp_path: Path) -> None:
    """The printed report says the plan changed, on page 1 beside the plan, with the page header."""
    import os
    import re

    from impactlab.report.browser import find_chromium, print_pdf

    from .pdftext import page_texts

    if find_chromium() is None and not os.environ.get("CI"):
        pytest.skip("headless Chromium is not installed (apt-get install chromium)")
    store = _week(tmp_path, PLAN_A, ["2026-03-02", "2026-03-04"])
    b = tmp_path / "b.toml"
    b.write_text(PLAN_B)
    s = ["--store", str(store), "-q"]
    assert main(["plan", "set", str(b), "--client", "c1", "--from", "2026-03-04", *s]) == 0
    page = tmp_path / "w.html"
    assert main(["report", "--client", "c1", "--week", "2026-W10", "--html", str(page), *s]) == 0
    first = re.sub(r"\s+", "", page_texts(print_pdf(page, tmp_path / "w.pdf").read_bytes())[0])
    assert "c1(c1),ISOweek2026-W10" in first and "page1of" in first
    assert "TheplanchangedonWed04Mar2026:daysbeforeitwerecheckedagainstthepreviousversion,“A”" in first, first[:400]
    assert "UntilTue03Martheplanaskedfor:4jumps" in first
