"""Weekly therapist report and daily summary: numbers against a golden week, HTML in a real browser."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from impactlab.cli.main import main

from impactlab import __version__
from impactlab.config import DetectionConfig, WearConfig
from impactlab.io import write_parquet
from impactlab.report import parse_week, weekly_report
from impactlab.report.browser import find_chromium, print_pdf, render_page
from impactlab.report.html import render_weekly_html, write_html
from impactlab.simulate import Walk, simulate_recording
from impactlab.store import Store, load_plan_file

GOLDEN = Path(__file__).parent / "golden"
NEEDS_BROWSER = pytest.mark.skipif(find_chromium() is None and not os.environ.get("CI"), reason="headless Chromium is not installed "
                                   "(apt-get install chromium)")
EVIL = "<script>alert('x')</script><img src=x onerror=alert(1)> Ann & Bob"
#: short simulated days: a 1 h valid-day rule keeps the week small (the rule is a setting)
CONFIG = DetectionConfig(wear=WearConfig(valid_day_h=1.0))
PLAN_TOML = """\
schema = 1
name = "Hip loading <b>phase 2</b>"
timezone = "Europe/London"

[targets.high_impacts]
per_day = 4
min_band = "high"
"""
#: (start, jumps (t_s, peak_g), walk (start_s, end_s, cadence, peak_g), duration_s)
DAYS = [
    ("2026-02-25 10:00", [(300.0, 2.0)], (600.0, 1200.0, 110.0, 0.7), 4500.0),  # W09 Wed: for the trend
    ("2026-03-02 09:00", [(300.0 + 30 * k, 1.8 + 0.1 * k) for k in range(6)], (900.0, 1800.0, 112.0, 0.75), 4500.0),
    ("2026-03-03 17:30", [(300.0, 2.5), (330.0, 1.2)], (600.0, 2400.0, 104.0, 1.1), 4500.0),
    ("2026-03-04 08:00", [(200.0, 2.0)] * 1, (400.0, 900.0, 100.0, 0.6), 1800.0),  # short: not a valid day
    ("2026-03-06 12:00", [(300.0 + 20 * k, 1.6) for k in range(5)], (900.0, 1500.0, 116.0, 0.8), 4500.0),
]


def _recording(i: int) -> Any:
    start, jumps, walk, dur = DAYS[i]
    return simulate_recording(duration_s=dur, fs=50, start=start, jumps=jumps, walks=[Walk(*walk)], seed=10 + i,
                              source=f"day{i}.parquet")


@pytest.fixture(scope="module")
def week(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    d = tmp_path_factory.mktemp("week")
    plan_path = d / "plan.toml"
    plan_path.write_text(PLAN_TOML)
    store = d / "store.sqlite"
    analyses = []
    with Store(store) as st:
        st.add_client("c01", name=EVIL, note="Knee <b>pain</b> on Tuesdays\nno vest yet")
        plan = load_plan_file(plan_path)
        for i in range(len(DAYS)):
            res = st.import_recording("c01", _recording(i), config=CONFIG, plan=plan)
            analyses.append(res.analysis)
        rep = weekly_report(st.week_tables("c01", "2026-W10"), st.client_plan("c01"))
    html = d / "week.html"
    write_html(render_weekly_html(rep), html)
    return {"dir": d, "store": store, "report": rep, "html": html, "analyses": analyses, "plan": plan_path}


def _golden_view(rep_json: dict[str, Any]) -> dict[str, Any]:
    """The numbers the golden file pins (session-derived columns are checked against analyze instead)."""
    keys = ("date", "wear_h", "valid", "n_low", "n_medium", "n_high")
    return {
        "week": rep_json["week"], "start": rep_json["start"], "end": rep_json["end"],
        "days": [{k: d[k] for k in keys} for d in rep_json["days"]],
        "weekly": rep_json["weekly"],
        "trend": [{k: t[k] for k in ("week", "days_recorded", "valid_days", "low", "medium", "high")}
                  for t in rep_json["trend"]],
        "flags": rep_json["flags"],
    }


def test_weekly_numbers_against_golden(week: dict[str, Any], request: pytest.FixtureRequest) -> None:
    got = _golden_view(week["report"].to_json_dict())
    path = GOLDEN / "weekly-2026-W10.json"
    if request.config.getoption("--update-golden"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(json.dumps(got, indent=2) + "\n")
    assert path.exists(), "tests/golden/weekly-2026-W10.json is missing: run pytest --update-golden and review it"
    assert got == json.loads(path.read_text())
    assert json.dumps(got, indent=2) + "\n" == path.read_text(), "same values, different JSON text (int vs float?)"
    # the story the golden file tells: Mon, Tue, Fri valid; Wed short; Thu, Sat, Sun not recorded
    assert [(d["date"][-2:], d["valid"]) for d in got["days"]] == [("02", True), ("03", True), ("04", False), ("06", True)]
    # and the counts follow from the simulation by hand: steps = walk seconds x cadence / 60 in the
    # walk's band, one impact per jump in its band
    assert [(d["n_low"], d["n_medium"], d["n_high"]) for d in got["days"]] == [
        (900 * 112 // 60, 0, 6), (0, 1800 * 104 // 60 + 1, 1), (500 * 100 // 60, 0, 1), (600 * 116 // 60, 0, 5)]
    # whole counts (mean per valid day x 7, rounded half up)
    assert got["weekly"] == {"valid_days": 3, "low": 6627, "medium": 7282, "high": 28}
    assert (1680 + 0 + 1160) / 3 * 7 == pytest.approx(6626.67, abs=0.01) and 3121 / 3 * 7 == pytest.approx(7282.33, abs=0.01)


def test_weekly_rows_equal_each_analysis(week: dict[str, Any]) -> None:
    """The store rebuilds each day from its facts; a day recorded once must equal analyze's row."""
    rep = week["report"].to_json_dict()
    by_date = {d["date"]: d for d in rep["days"]}
    for res in week["analyses"][1:]:
        for row in res.to_json_dict()["days"]:
            mine = by_date[row["date"]]
            assert {k: row[k] for k in mine} == mine
    assert rep["days"][0].keys() <= week["analyses"][1].to_json_dict()["days"][0].keys()


def test_plan_grid_verdicts(week: dict[str, Any]) -> None:
    rep = week["report"]
    cells = rep.grid["high_impacts"]
    for day, cell in zip(rep.days, cells, strict=True):
        row = rep.day_row(day)
        expected = "no data" if row is None or not row["valid"] else ("met" if row["n_high"] >= 4 else "not met")
        assert cell.status == expected, day
    statuses = {c.status for c in cells}
    assert statuses == {"met", "not met", "no data"}  # Mon, Fri met; Tue 1 high; Wed short, Thu unrecorded
    assert rep.plan_name == "Hip loading <b>phase 2</b>"


def test_html_is_self_contained_and_escapes_names(week: dict[str, Any]) -> None:
    html = week["html"].read_text()
    assert "<script" not in html and "onerror=alert(1)>" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert "Ann &amp; Bob" in html and "Knee &lt;b&gt;pain&lt;/b&gt;" in html
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", html), "the report must not load anything"
    assert html.count("<svg") == 3 and html.count('role="img"') == 3
    for fid in ("fig-bands", "fig-timeline", "fig-trend"):
        assert f'id="{fid}"' in html and f'id="{fid}-cap"' in html
    assert "<th scope=\"col\"" in html and "<caption>" in html
    assert f"impactlab {__version__}" in html and "preset hannam2017" in html


def test_daily_summary_html_and_terminal(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "day.parquet"
    write_parquet(_recording(1), f)
    store = tmp_path / "s.sqlite"
    out = tmp_path / "today.html"
    assert main(["import", str(f), "--client", "c09", "--client-name", EVIL, "--store", str(store), "--html", str(out)]) == 0
    term = capsys.readouterr().out
    assert "Mon 02 Mar" in term and "added" in term and EVIL in term  # rich prints markup as text
    html = out.read_text()
    assert "<script" not in html and "&lt;script&gt;" in html and "Mon 02 Mar" in html
    with Store(store) as st:
        assert st.client("c09").name == EVIL


def test_report_cli_json_and_html(week: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = str(week["store"])
    assert main(["report", "--client", "c01", "--week", "2026-W10", "--store", store, "--format", "json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got["days"] == week["report"].to_json_dict()["days"]
    assert {"days", "plan_check", "week", "client"} <= got.keys()
    assert main(["report", "--client", "c01", "--week", "2026-W10", "--store", store]) == 0
    assert "Mon 02 Mar" in capsys.readouterr().out
    out = tmp_path / "r.html"
    assert main(["report", "--client", "c01", "--store", store, "--html", str(out)]) == 0  # default: last week
    assert "2026-W10" in out.read_text()
    with pytest.raises(SystemExit) as exc:  # a week that does not exist is a bad flag value: usage error
        main(["report", "--client", "c01", "--week", "2026-W99", "--store", store])
    assert exc.value.code == 2 and "argument --week: '2026-W99' is not an ISO week" in capsys.readouterr().err
    assert main(["report", "--client", "nobody", "--store", store]) == 1
    assert "no client 'nobody'" in capsys.readouterr().err


def test_parse_week() -> None:
    assert str(parse_week("2026-W10")) == "2026-03-02"
    assert str(parse_week("2026w1")) == "2025-12-29"
    from impactlab.errors import StoreError

    with pytest.raises(StoreError, match="YYYY-Www"):
        parse_week("March")


@pytest.mark.browser
@NEEDS_BROWSER
def test_report_in_headless_chromium(week: dict[str, Any]) -> None:
    html = week["html"]
    shot = week["dir"] / "week.png"
    run = render_page(html, screenshot=shot, window=(1280, 3200))
    assert shot.exists() and shot.stat().st_size > 20_000 and shot.read_bytes()[:4] == b"\x89PNG"
    assert run.console == [], run.console
    # every plot laid out with a real size, and the injected name is text in the DOM
    probe = week["dir"] / "probe.html"
    probe.write_text(html.read_text().replace("</body>", """<script>
      const figs = [...document.querySelectorAll('figure')].map(f => {
        const s = f.querySelector('svg'); const r = s ? s.getBoundingClientRect() : {width: 0, height: 0};
        return f.id + ':' + Math.round(r.width) + 'x' + Math.round(r.height); });
      const pre = document.createElement('pre'); pre.id = 'probe';
      pre.textContent = JSON.stringify({figs, h1: document.querySelector('h1').textContent,
                                        scripts: document.scripts.length, imgs: document.images.length});
      document.body.appendChild(pre);</script></body>"""))
    dom = render_page(probe).stdout
    m = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S)
    assert m, dom[-500:]
    info = json.loads(m.group(1).replace("&quot;", '"').replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&"))
    assert info["scripts"] == 1 and info["imgs"] == 0  # only the probe; the name's <img> is text
    assert EVIL in info["h1"]
    sizes = dict(f.split(":") for f in info["figs"])
    assert set(sizes) == {"fig-bands", "fig-timeline", "fig-trend"}
    for fid, wh in sizes.items():
        w, h = (int(v) for v in wh.split("x"))
        assert w > 300 and h > 80, (fid, wh)
    # the console route does catch errors (so the empty list above means something)
    bad = week["dir"] / "bad.html"
    bad.write_text("<html><body><script>console.error('probe error')</script></body></html>")
    assert any("probe error" in line for line in render_page(bad).console)
    pdf = print_pdf(html, week["dir"] / "week.pdf")
    data = pdf.read_bytes()
    assert data[:5] == b"%PDF-" and len(data) > 20_000
    assert len(re.findall(rb"/Type\s*/Page[^s]", data)) >= 2


@pytest.mark.browser
@NEEDS_BROWSER
def test_report_cli_pdf(week: dict[str, Any], tmp_path: Path) -> None:
    pdf = tmp_path / "w.pdf"
    assert main(["report", "--client", "c01", "--week", "2026-W10", "--store", str(week["store"]), "--pdf", str(pdf)]) == 0
    assert pdf.read_bytes()[:5] == b"%PDF-"


UNSEEN = Path(__file__).resolve().parents[2] / "shared" / "data" / "adeptdata" / "acc_running_left_hip.csv.gz"


@pytest.mark.real_data
@pytest.mark.skipif(not UNSEEN.exists(), reason="../shared/data/adeptdata is not present")
def test_unseen_recording_report_agrees_with_analyze(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A real 25 min hip recording (adeptdata, outdoor run) the project has not used elsewhere."""
    src = tmp_path / UNSEEN.name
    shutil.copy(UNSEEN, src)
    store = str(tmp_path / "s.sqlite")
    plan = tmp_path / "plan.toml"
    plan.write_text(PLAN_TOML.replace("Europe/London", "UTC"))
    plan_args = ["--plan", str(plan)]
    common = [str(src), "--tz", "UTC", *plan_args]
    assert main(["analyze", *common, "--format", "json"]) == 0
    ref = json.loads(capsys.readouterr().out)
    assert main(["import", *common, "--client", "runner", "--store", store]) == 0
    capsys.readouterr()
    week = "1970-W01"
    assert main(["report", "--client", "runner", "--week", week, "--store", store, "--format", "json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got["days"] and [{k: d[k] for k in got["days"][0]} for d in ref["days"]] == got["days"]
    assert ref["days"][0]["n_high"] > 1000  # a run: mostly high impacts
    verdicts = {(r["date"], r["target"]): (r["status"], r["met"]) for r in got["plan_check"]
                if r["detail"] != "no recording"}
    assert verdicts == {(r["date"], r["target"]): (r["status"], r["met"]) for r in ref["plan_check"]}
    # the week's other days have a row each too: no recording, so no data, met null
    others = [r for r in got["plan_check"] if r["detail"] == "no recording"]
    assert len(others) == 6 and all(r["status"] == "no data" and r["met"] is None for r in others)
    assert verdicts, "with a plan there must be verdicts to compare"
    assert got["grid"]["high_impacts"][3] == next(s for (d, t), (s, _) in verdicts.items() if d == "1970-01-01")


def test_report_loading_indices_equal_analyze(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """DSS, OI and peak GRF (BW) per day: rebuilt by the store, shown by the report, equal to analyze's."""
    from impactlab.pipeline import analyze

    mass = 68.5
    store = str(tmp_path / "s.sqlite")
    days = [_recording(1), _recording(2)]
    with Store(store) as st:
        st.add_client("c03", body_mass_kg=mass)
        for rec in days:
            st.import_recording("c03", rec, config=CONFIG)
    ref = {}
    for i in (1, 2):
        for d in analyze(_recording(i), config=CONFIG, body_mass_kg=mass).to_json_dict()["days"]:
            ref[d["date"]] = d
    assert main(["report", "--client", "c03", "--week", "2026-W10", "--store", store, "--format", "json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert [d["date"] for d in got["days"]] == sorted(ref) == ["2026-03-02", "2026-03-03"]
    for d in got["days"]:
        for k in ("dss", "oi", "peak_grf_bw_max"):
            assert d[k] == pytest.approx(ref[d["date"]][k], rel=1e-6), (d["date"], k)
            assert d[k] > 0
    assert got["days"][0]["peak_grf_bw_max"] > 1.5  # jumps: well above body weight
    assert got["method"]["loading"]["basis"] == "grf_bw" and got["method"]["loading"]["body_mass_kg"] == mass
    out = tmp_path / "r.html"
    assert main(["report", "--client", "c03", "--week", "2026-W10", "--store", store, "--html", str(out)]) == 0
    html = out.read_text()
    assert ">DSS</abbr>" in html and ">OI</abbr>" in html and "peak GRF (BW)" in html
    for d in got["days"]:
        for k in ("dss", "oi", "peak_grf_bw_max"):
            assert f"<td>{d[k]:.2f}</td>" in html
    assert "peak ground reaction force in body weights" in html and f"body mass {mass:g} kg" in html


def test_report_loading_proxy_without_body_mass(week: dict[str, Any]) -> None:
    """Without body mass the indices use peak acceleration (g) and the method line says so."""
    rep = week["report"].to_json_dict()
    assert rep["method"]["loading"]["basis"] == "acc_g"
    assert all(d["dss"] > 0 and d["peak_grf_bw_max"] is None for d in rep["days"])
    html = week["html"].read_text()
    assert "peak acceleration in g (gravity included) as a proxy" in html and "<th scope=\"col\">peak GRF (BW)</th>" in html
