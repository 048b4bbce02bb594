"""What a new user met in a walkthrough, driven as they typed it: bad --week/--from values, history
--week, a first plan, the answer for a past week, the import summary and whole weekly counts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from impactlab.cli.main import main

from impactlab.daily import per_week_count, weekly_summary
from impactlab.io import write_parquet
from impactlab.store import Store, load_plan_file

from .test_clinic import SHORT_DAY
from .test_store import _rec

ROOT = Path(__file__).resolve().parents[1]
PLAN = """schema = 1
name = "{name}"
[targets.jumps]
per_day = 3
"""


def _usage_error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    """Run ``argv``, which must be a usage error (exit 2); its last stderr line."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    return capsys.readouterr().err.strip().splitlines()[-1]


def _json(capsys: pytest.CaptureFixture[str], argv: list[str]) -> Any:
    capsys.readouterr()
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def _store(tmp_path: Path, days: list[str], plan: Path | None = None) -> Path:
    store = tmp_path / "s.sqlite"
    with Store(store) as st:
        for k, day in enumerate(days):
            st.import_recording("c1", _rec(seed=40 + k, start=f"{day} 09:00"), config=SHORT_DAY,
                                plan=load_plan_file(plan) if plan is not None and k == 0 else None)
    return store


def test_a_bad_week_or_date_is_a_usage_error_naming_flag_value_and_form(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = _store(tmp_path, ["2026-03-02"])
    s = ["--store", str(store)]
    plan = tmp_path / "p.toml"
    plan.write_text(PLAN.format(name="A"))
    line = _usage_error(capsys, ["report", "--client", "c1", "--week", "2026-10", *s])
    assert line == ("impactlab report: error: argument --week: '2026-10' is not an ISO week: write YYYY-Www, "
                    "e.g. 2026-W10 (weeks run from W01 to W52 or W53)")
    assert "argument --week: '2026-W54' is not an ISO week" in _usage_error(
        capsys, ["report", "--all", "--week", "2026-W54", *s])
    assert "argument --week: 'W10' is not an ISO week" in _usage_error(
        capsys, ["history", "--client", "c1", "--week", "W10", *s])
    line = _usage_error(capsys, ["plan", "set", str(plan), "--client", "c1", "--from", "02/03/2026", *s])
    assert line == ("impactlab plan set: error: argument --from: '02/03/2026' is not a date: write YYYY-MM-DD, "
                    "e.g. 2026-03-02")
    with Store(store) as st:  # nothing stored
        assert st.plan_history("c1") == []
    # the library's own message names the key once
    from impactlab.report import parse_week

    with pytest.raises(Exception, match=r"^week: '2026-10' is not an ISO week\. Write it as YYYY-Www"):
        parse_week("2026-10")


def test_history_week_is_the_last_week_shown_and_prefixes_are_not_flags(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = _store(tmp_path, ["2026-02-23", "2026-03-02", "2026-03-09"])
    s = ["--store", str(store), "--format", "json"]
    weeks = [w["week"] for w in _json(capsys, ["history", "--client", "c1", *s])["weeks"]]
    assert weeks == ["2026-W09", "2026-W10", "2026-W11"]
    got = _json(capsys, ["history", "--client", "c1", "--week", "2026-W10", *s])["weeks"]
    assert [w["week"] for w in got] == ["2026-W09", "2026-W10"]
    got = _json(capsys, ["history", "--client", "c1", "--week", "2026-W10", "--weeks", "1", *s])["weeks"]
    assert [w["week"] for w in got] == ["2026-W10"]
    capsys.readouterr()
    assert main(["history", "--client", "c1", "--until", "2026-W09", *s]) == 0  # the old spelling, with a note
    out = capsys.readouterr()
    assert [w["week"] for w in json.loads(out.out)["weeks"]] == ["2026-W09"]
    assert "'history --until' is deprecated: use --week YYYY-Www" in out.err
    # a prefix is no flag: '--wee' is neither --week nor --weeks, and says which was meant
    assert _usage_error(capsys, ["history", "--client", "c1", "--wee", "2026-W10", *s]).endswith(
        "unrecognized arguments: --wee. Did you mean '--week'?")
    assert "unrecognized arguments: --cli" in _usage_error(capsys, ["report", "--cli", "c1", *s])


def test_a_first_plan_is_no_change(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = _store(tmp_path, ["2026-03-02", "2026-03-04", "2026-03-09", "2026-03-11"])
    a, b = tmp_path / "a.toml", tmp_path / "b.toml"
    a.write_text(PLAN.format(name="A"))
    b.write_text(PLAN.format(name="B"))
    s = ["--store", str(store)]
    assert main(["-q", "plan", "set", str(a), "--client", "c1", "--from", "2026-03-03", *s]) == 0
    assert main(["-q", "plan", "set", str(b), "--client", "c1", "--from", "2026-03-10", *s]) == 0
    hist = {w["week"]: w for w in _json(capsys, ["history", "--client", "c1", "--format", "json", *s])["weeks"]}
    assert hist["2026-W10"]["plan"] == "A" and not hist["2026-W10"]["plan_changed"]
    assert hist["2026-W10"]["plan_changes"] == []
    assert hist["2026-W11"]["plan_changes"] == [{"from": "2026-03-10", "name": "B", "previous": "A"}]
    for week, changed in (("2026-W10", False), ("2026-W11", True)):
        flags = _json(capsys, ["report", "--all", "--week", week, "--format", "json", *s])["clients"][0]["flags"]
        assert any(f.startswith("plan changed this week") for f in flags) is changed, (week, flags)
        rep = _json(capsys, ["report", "--client", "c1", "--week", week, "--format", "json", *s])
        assert len(rep["plan"]["changes"]) == changed
    capsys.readouterr()
    assert main(["history", "--client", "c1", "--wide", *s]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert out.count("new from") == 1 and "B (new from Tue 10 Mar)" in out, out


def test_the_answer_for_a_past_week_says_which_day_and_week(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plan = tmp_path / "p.toml"
    plan.write_text(PLAN.format(name="A"))
    store = _store(tmp_path, ["2026-03-02"], plan)
    capsys.readouterr()
    assert main(["today", "--client", "c1", "--store", str(store)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "Last day with data, Mon 02 Mar" in out and "Week of Mon 02 Mar (2026-W10): 1 of 1 targets met" in out
    assert "so far" not in out and "today" not in out.lower().replace("c1: last", "")
    # a day that is today in the client's zone: "Today" and "This week so far"
    now = pd.Timestamp.now(tz=_rec().meta.timezone)
    store2 = tmp_path / "today.sqlite"
    with Store(store2) as st:
        st.import_recording("c1", _rec(seed=7, start=f"{now.date()} 00:05"), config=SHORT_DAY,
                            plan=load_plan_file(plan))
    assert main(["today", "--client", "c1", "--store", str(store2)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert f"Today, {now:%a %d %b}" in out and "This week so far: 1 of 1 targets met" in out, out


def test_import_answers_with_the_panel_and_lists_checks_only_with_verbose(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plan = tmp_path / "p.toml"
    plan.write_text(PLAN.format(name="A"))
    day = tmp_path / "day.parquet"
    write_parquet(_rec(seed=3), day)
    s = ["--store", str(tmp_path / "s.sqlite"), "-q"]
    capsys.readouterr()
    assert main(["import", str(day), "--client", "c1", "--plan", str(plan), *s]) == 0
    out = capsys.readouterr().out
    assert "Mon 02 Mar jumps: no data" not in out  # the old flat list
    assert "not enough wear time to judge the targets" in out and "Last day with data, Mon 02 Mar" in out
    assert main(["import", str(day), "--client", "c1", "-v", *s]) == 0
    out = capsys.readouterr().out
    assert "Mon 02 Mar jumps: no data" in out and "not enough wear time" in out


def test_weekly_counts_are_whole_numbers_rounded_half_up(capsys: pytest.CaptureFixture[str]) -> None:
    days = pd.DataFrame({"valid": [True, True, False], "n_low": [946, 947, 5], "n_medium": [1, 2, 0],
                         "n_high": [0, 1, 9]})
    assert weekly_summary(days) == {"valid_days": 2, "low": 6626, "medium": 11, "high": 4}  # 6625.5, 10.5, 3.5
    assert per_week_count(pd.Series([0.5])) == 4 and per_week_count(pd.Series([], dtype=float)) is None
    res = _json(capsys, ["analyze", str(ROOT / "sample_data" / "sim-day.parquet"), "--format", "json", "-q"])
    day = res["days"][0]
    assert res["weekly"] == {"valid_days": 1, "low": 7 * day["n_low"], "medium": 7 * day["n_medium"],
                             "high": 7 * day["n_high"]}
    assert all(type(res["weekly"][b]) is int for b in ("low", "medium", "high"))


def test_without_the_report_extra_html_says_what_to_install_and_json_still_works(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """A plain ``pip install impactlab`` (no [report]: no jinja2) crashed ``report --all`` with exit 70."""
    import sys

    store = _store(tmp_path, ["2026-03-02"])
    for name in [m for m in sys.modules if m == "jinja2" or m.startswith(("jinja2.", "impactlab.report.html"))]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "jinja2", None)  # import jinja2 -> ModuleNotFoundError, as when not installed
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    s = ["--store", str(store), "--week", "2026-W10"]
    rows = _json(capsys, ["report", "--all", *s, "--format", "json"])["clients"]
    assert [r["client"]["id"] for r in rows] == ["c1"]
    for argv in (["report", "--all", *s, "--html", str(tmp_path / "c.html")],
                 ["report", "--client", "c1", *s, "--html", str(tmp_path / "w.html")]):
        assert main(argv) == 1
        err = capsys.readouterr().err
        assert err == ('impactlab: error: this needs jinja2, which impactlab installs with its [report] extra: '
                       'pip install "impactlab[report]" (or "impactlab[all]")\n')
    assert not (tmp_path / "state").exists() and not list(tmp_path.glob("*.html"))  # no crash report, nothing written
