"""Plans (DESIGN §5): parsing and validation, the day/week check, ``plan check`` and ``analyze --plan``."""

from __future__ import annotations

import json
import os
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from impactlab.cli.main import main

from impactlab import analyze
from impactlab.config import VEST_MASS_RANGE_KG
from impactlab.errors import ConfigError
from impactlab.io import write_parquet
from impactlab.plan import DAY_NAMES, JumpsTarget, MinutesTarget, Plan, Targets, check_plan, load_plan, parse_plan
from impactlab.schema import DAILY, PLAN_CHECK, check_frame, coerce
from impactlab.simulate import Walk, simulate_recording

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"


def _plan(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "plan.toml"
    p.write_text(text)
    return p


def test_sample_plan() -> None:
    plan = load_plan(SAMPLE / "plan.toml")
    t = plan.targets
    assert t.jumps and t.high_impacts and t.brisk_walk and t.vest_walk and t.vibration
    assert (t.jumps.per_day, t.jumps.min_sets, t.jumps.days) == (50, 5, ("mon", "wed", "fri", "sun"))
    assert (t.high_impacts.per_day, t.high_impacts.min_band) == (60, "high")
    assert t.brisk_walk.minutes_per_day == 30 and t.vest_walk.minutes_per_week == 90
    assert (t.vibration.minutes_per_day, t.vibration.frequency_hz) == (15, 30)
    assert plan.vest_mass_kg == 5 and plan.timezone == "Europe/London"
    assert parse_plan(plan.to_dict(), path="x") == plan


GOOD = 'schema = 1\nname = "p"\n[targets.jumps]\nper_day = 50\n'


@pytest.mark.parametrize(
    ("text", "key", "match"),
    [
        ('name = "p"\n[targets.jumps]\nper_day = 50\n', "schema", "no schema version"),
        ("schema = 2\n[targets.jumps]\nper_day = 50\n", "schema", "not supported"),
        ('schema = "1"\n[targets.jumps]\nper_day = 50\n', "schema", "whole number"),
        ("schema = 1\n[targets.jumpz]\nper_day = 50\n", "targets.jumpz", "unknown target.*Did you mean 'jumps'"),
        ("schema = 1\n[targets.jumps]\nper_dya = 50\n", "targets.jumps.per_dya", "unknown key.*per_day"),
        ("schema = 1\n[targets.jumps]\nper_day = -5\n", "targets.jumps.per_day", "must not be negative"),
        ('schema = 1\n[targets.jumps]\nper_day = "fifty"\n', "targets.jumps.per_day", "must be a number"),
        ("schema = 1\n[targets.jumps]\nper_day = true\n", "targets.jumps.per_day", "must be a number"),
        ("schema = 1\n[targets.jumps]\nper_day = 12.5\n", "targets.jumps.per_day", "whole number"),
        ("schema = 1\n[targets.jumps]\nmin_sets = 5\n", "targets.jumps.per_day", "is required"),
        ('schema = 1\n[targets.jumps]\nper_day = 5\ndays = ["mon", "fry"]\n', r"targets.jumps.days\[1\]", "unknown weekday"),
        ("schema = 1\n[targets.jumps]\nper_day = 5\ndays = []\n", "targets.jumps.days", "non-empty"),
        ('schema = 1\n[targets.high_impacts]\nper_day = 5\nmin_band = "huge"\n', "targets.high_impacts.min_band", "unknown band"),
        ("schema = 1\n[targets.brisk_walk]\ndays = ['mon']\n", "targets.brisk_walk.minutes_per_day", "minutes_per_week"),
        ("schema = 1\n[targets.vibration]\nminutes_per_day = 15\nfrequency_hz = 0\n", "targets.vibration.frequency_hz",
         "greater than 0"),
        ("schema = 1\n[targets.vest_walk]\nminutes_per_week = -90.0\n", "targets.vest_walk.minutes_per_week", "negative"),
        ("schema = 1\n", "targets", "no targets"),
        ("schema = 1\ntargets = 5\n", "targets", "no targets"),
        ("schema = 1\n[targets]\njumps = 50\n", "targets.jumps", "must be a table"),
        ('schema = 1\ntimezone = "Mars/Olympus"\n[targets.jumps]\nper_day = 5\n', "timezone", "unknown time zone"),
        ("schema = 1\nowner = 'me'\n[targets.jumps]\nper_day = 5\n", "owner", "unknown key"),
    ],
)
def test_bad_plans_name_file_and_key(tmp_path: Path, text: str, key: str, match: str) -> None:
    p = _plan(tmp_path, text)
    with pytest.raises(ConfigError, match=match) as err:
        load_plan(p)
    assert str(err.value).startswith(f"{p}:")
    assert err.value.path == str(p)
    assert pd.Series([err.value.key]).str.fullmatch(key).all()


def test_toml_syntax_error_has_the_line(tmp_path: Path) -> None:
    p = _plan(tmp_path, "schema = 1\n[targets.jumps]\nper_day = = 5\n")
    with pytest.raises(ConfigError, match="not valid TOML") as err:
        load_plan(p)
    assert err.value.line == 3 and f"{p}:line 3" in str(err.value)


def test_missing_plan_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_plan(tmp_path / "none.toml")


# -- physical limits, odd numbers and files that are not UTF-8 TOML (issue 14) -------------------
@pytest.mark.parametrize(
    ("body", "key", "line", "match"),
    [
        ("[targets.brisk_walk]\nminutes_per_day = 2000\n", "targets.brisk_walk.minutes_per_day", 3,
         "2,000 is too large: at most 1,440 .a day has 1,440 minutes.*minutes_per_week"),
        ("[targets.vest_walk]\nminutes_per_week = 10081\n", "targets.vest_walk.minutes_per_week", 3, "10,080"),
        ("[targets.jumps]\nper_day = 1e308\n", "targets.jumps.per_day", 3, "1e\\+308 is too large: at most 100,000"),
        ("[targets.jumps]\nper_day = 100001\n", "targets.jumps.per_day", 3, "at most 100,000"),
        ("[targets.high_impacts]\nper_day = 99999999999999999999999\n", "targets.high_impacts.per_day", 3,
         "99,999,999,999,999,999,999,999 is too large"),
        ("[targets.jumps]\nper_day = -99999999999999999999999\n", "targets.jumps.per_day", 3, "must not be negative"),
        ("[targets.jumps]\nper_day = nan\n", "targets.jumps.per_day", 3, "finite"),
        ("[targets.brisk_walk]\nminutes_per_day = inf\n", "targets.brisk_walk.minutes_per_day", 3, "finite"),
        ("[targets.jumps]\nper_day = 0\n", "targets.jumps.per_day", 3, "met by doing nothing"),
        ("[targets.vibration]\nminutes_per_week = 0.0\n", "targets.vibration.minutes_per_week", 3, "met by doing nothing"),
        ("[targets.jumps]\nper_day = 5\nmin_sets = 6\n", "targets.jumps.min_sets", 4, "6 sets a day cannot be met with 5"),
        ("[targets.vest_walk]\nminutes_per_week = 90\nvest_mass_kg = 250\n", "targets.vest_walk.vest_mass_kg", 4,
         "250 is not a plausible vest mass: the allowed range is 0-50 kg"),
        ("[targets.vibration]\nminutes_per_day = 9\nfrequency_hz = 3000\n", "targets.vibration.frequency_hz", 4,
         "at most 500"),
        ("[targets.vibration]\nminutes_per_day = 9\namplitude_g = -1\n", "targets.vibration.amplitude_g", 4,
         "greater than 0"),
        ("[targets.jumps]\nper_day = 2026-03-02\n", "targets.jumps.per_day", 3, "must be a number, got date 2026-03-02"),
        ("[targets.jumps]\nper_day = {n = 5}\n", "targets.jumps.per_day", 3, "must be a number, got dict"),
        ('[targets.jumps]\nper_day = 5\ndays = "mon"\n', "targets.jumps.days", 4, "non-empty list of weekdays, got str 'mon'"),
        ("[targets.jumps]\nper_day = 5\ndays = [1, 2]\n", r"targets.jumps.days\[0\]", 4, "weekday must be a string"),
        ('name = "a\u202eb"\n[targets.jumps]\nper_day = 5\n', "name", 2, r"text-direction character \(\\u202e\)"),
        ('name = "a\\u0007b"\n[targets.jumps]\nper_day = 5\n', "name", 2, "control"),
        (f'name = "{"x" * 10_000}"\n[targets.jumps]\nper_day = 5\n', "name", 2, "10,000 characters long"),
        ("name = 5\n[targets.jumps]\nper_day = 5\n", "name", 2, "must be a string, got int 5"),
        (f'timezone = "{"Z" * 5000}"\n[targets.jumps]\nper_day = 5\n', "timezone", 2, "unknown time zone"),
        (f"[targets.jumps]\n{'k' * 3000} = 5\n", "targets.jumps.k+…", None, "unknown key"),
    ],
)
def test_physical_limits_and_types(tmp_path: Path, body: str, key: str, line: int | None, match: str) -> None:
    """Impossible or meaningless values are refused naming the file, the line and the dotted key, and stay short."""
    p = _plan(tmp_path, "schema = 1\n" + body)
    with pytest.raises(ConfigError, match=match) as err:
        load_plan(p)
    assert err.value.path == str(p) and err.value.line == line
    assert pd.Series([err.value.key]).str.fullmatch(key).all(), err.value.key
    assert len(str(err.value)) < 400 and "\n" not in str(err.value) and "\u202e" not in str(err.value)
    assert str(err.value).startswith(f"{p}:" + (f"line {line}:" if line else ""))


_VEST = "schema = 1\nstart = 2026-03-02\n[targets.vest_walk]\nminutes_per_week = 90\nvest_mass_kg = {}\n"
_VEST_PHASE = "[[phases]]\nweek = 3\n[phases.targets.vest_walk]\nvest_mass_kg = {}\n"


@pytest.mark.parametrize("value", ["-1", "-0.01", "50.01", "51", "250", "nan", "inf", "-inf", "1e400"])
@pytest.mark.parametrize("where", ["targets", "phase"])
def test_vest_mass_outside_the_range_names_file_line_and_range(tmp_path: Path, value: str, where: str) -> None:
    """A plan's vest_mass_kg is held to the ``--vest-mass`` range (impactlab.config.VEST_MASS_RANGE_KG), in
    [targets] and in a phase: file, line, dotted key, the value, the range and what to do."""
    if where == "targets":
        p, line, key = _plan(tmp_path, _VEST.format(value)), 5, "targets.vest_walk.vest_mass_kg"
    else:
        p, line, key = _plan(tmp_path, _VEST.format(3) + _VEST_PHASE.format(value)), 9, "phases[0].targets.vest_walk.vest_mass_kg"
    lo, hi = VEST_MASS_RANGE_KG
    with pytest.raises(ConfigError) as err:
        load_plan(p)
    assert (err.value.path, err.value.line, err.value.key) == (str(p), line, key)
    shown = {"1e400": "inf", "-0.01": "-0.01", "50.01": "50.01"}.get(value, value)
    assert str(err.value).startswith(f"{p}:line {line}:{key}: {shown} is not a plausible vest mass: "
                                     f"the allowed range is {lo:g}-{hi:g} kg (as for --vest-mass). Give the vest's mass in kg")
    assert "0-50 kg" in str(err.value)


@pytest.mark.parametrize(("value", "kg"), [("0", 0.0), ("0.0", 0.0), ("50", 50.0), ("50.0", 50.0), ("12.5", 12.5)])
def test_vest_mass_boundaries_accepted(tmp_path: Path, value: str, kg: float) -> None:
    """Inclusive like ``--vest-mass`` (0 = no vest, e.g. a later phase without the vest)."""
    assert load_plan(_plan(tmp_path, _VEST.format(value))).vest_mass_kg == kg
    phased = load_plan(_plan(tmp_path, _VEST.format(3) + _VEST_PHASE.format(value)))
    assert phased.vest_mass_kg == 3.0
    vest = phased.phases[0].targets.vest_walk
    assert vest is not None and vest.vest_mass_kg == kg


def test_cli_plan_check_refuses_a_vest_mass_out_of_range(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``plan check`` and ``analyze --plan``, as a user runs them: exit 1, one line with file, line, key and range."""
    p = _plan(tmp_path, _VEST.format(80))
    for argv in (["plan", "check", str(p)], ["analyze", str(SAMPLE / "sim-day.parquet"), "--plan", str(p)]):
        assert main(argv) == 1
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and f"{p}:line 5:targets.vest_walk.vest_mass_kg: 80 is not a plausible vest mass" in err[0]
        assert "the allowed range is 0-50 kg" in err[0]


def test_limits_are_inclusive(tmp_path: Path) -> None:
    plan = load_plan(_plan(tmp_path, "schema = 1\n[targets.brisk_walk]\nminutes_per_day = 1440\nminutes_per_week = 10080\n"
                                     "[targets.jumps]\nper_day = 100000\nmin_sets = 100000\n"))
    assert plan.targets.brisk_walk is not None and plan.targets.jumps is not None
    assert plan.targets.brisk_walk.minutes_per_day == 1440 and plan.targets.jumps.min_sets == 100_000


@pytest.mark.parametrize(
    ("raw", "line", "match"),
    [
        (b'schema = 1\nname = "caf\xe9"\n[targets.jumps]\nper_day = 5\n', 2, "not UTF-8 text .byte 0xe9 at column 12.*UTF-8"),
        (b"PK\x03\x04\x00\x00\xff\xfe" + bytes(range(256)), 1, "binary file, not a plan"),
        ('schema = 1\n[targets.jumps]\nper_day = 5\n'.encode("utf-16"), 1, "UTF-16"),
        (b"schema = 1\n[targets.jumps\nper_day = 5\n", 2, "not valid TOML: Expected ']'.*column 15"),
        (b"schema = 1\n[targets.jumps]\nper_day = 5\nper_day = 6\n", 4, "Cannot overwrite.*given twice"),
        (b"schema = 1\n[targets.jumps]\nper_day = fifty\n", 3, 'Invalid value.*in quotes'),
        (b"schema = 1\nname = 'a\x01'\n[targets.jumps]\nper_day = 5\n", 2, r"invalid character '\\x01'"),
    ],
)
def test_not_utf8_not_toml(tmp_path: Path, raw: bytes, line: int, match: str) -> None:
    p = tmp_path / "plan.toml"
    p.write_bytes(raw)
    with pytest.raises(ConfigError, match=match) as err:
        load_plan(p)
    assert err.value.path == str(p) and err.value.line == line
    assert str(err.value).startswith(f"{p}:line {line}: ") and "\x01" not in str(err.value)


def test_bom_accepted_folder_fifo_and_huge_file_refused(tmp_path: Path) -> None:
    p = tmp_path / "bom.toml"
    p.write_bytes(b"\xef\xbb\xbfschema = 1\n[targets.jumps]\nper_day = 5\n")  # Notepad's UTF-8
    jumps = load_plan(p).targets.jumps
    assert jumps is not None and jumps.per_day == 5
    with pytest.raises(ConfigError, match="folder, not a plan file"):
        load_plan(tmp_path)
    big = tmp_path / "big.toml"
    with open(big, "wb") as fh:
        fh.truncate(5 << 20)
    with pytest.raises(ConfigError, match=r"5\.0 MB; a plan is a few hundred bytes"):
        load_plan(big)
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "pipe.toml")
        with pytest.raises(ConfigError, match="not a regular file"):
            load_plan(tmp_path / "pipe.toml")  # would block forever if opened


def test_cli_huge_integer_plan_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``plan check`` and ``analyze --plan`` on a plan integer above 2**64: exit 1, one line (was a TypeError)."""
    p = _plan(tmp_path, "schema = 1\n[targets.jumps]\nper_day = 99999999999999999999999\n")
    for argv in (["plan", "check", str(p)], ["analyze", str(SAMPLE / "sim-day.parquet"), "--plan", str(p)]):
        assert main(argv) == 1
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and f"{p}:line 3:targets.jumps.per_day" in err[0] and "at most 100,000" in err[0]


def test_full_weekday_names_and_integral_floats(tmp_path: Path) -> None:
    plan = load_plan(_plan(tmp_path, 'schema = 1\n[targets.jumps]\nper_day = 50.0\ndays = ["Friday", "mon", "mon"]\n'))
    assert plan.targets.jumps == JumpsTarget(per_day=50, days=("mon", "fri"))
    assert plan.name == "plan"


# -- hypothesis: every valid plan round-trips; every negative number is refused -------------------
_num = st.integers(10, 500)
_days = st.lists(st.sampled_from(DAY_NAMES), min_size=1, max_size=7, unique=True)
_targets = st.fixed_dictionaries(
    {},
    optional={
        "jumps": st.fixed_dictionaries({"per_day": _num}, optional={"min_sets": st.integers(0, 10), "days": _days}),
        "high_impacts": st.fixed_dictionaries({"per_day": _num}, optional={"min_band": st.sampled_from(["low", "medium", "high"])}),
        "brisk_walk": st.fixed_dictionaries({"minutes_per_day": st.floats(0.5, 300)}, optional={"days": _days}),
        "run": st.fixed_dictionaries({"minutes_per_week": st.floats(1, 600)}, optional={"days": _days}),
        "vest_walk": st.fixed_dictionaries({"minutes_per_week": st.floats(1, 900)}, optional={"vest_mass_kg": st.floats(0.5, 20)}),
        "vibration": st.fixed_dictionaries({"minutes_per_day": st.floats(0.5, 60)}, optional={"frequency_hz": st.floats(1, 90)}),
    },
).filter(bool)


@given(_targets)
def test_valid_plans_round_trip(targets: dict[str, dict[str, object]]) -> None:
    plan = parse_plan({"schema": 1, "name": "x", "targets": targets}, path="gen.toml")
    assert parse_plan(plan.to_dict(), path="gen.toml") == plan
    assert json.loads(json.dumps(plan.to_dict())) == plan.to_dict()


@given(_targets, st.data())
def test_negative_numbers_are_refused(targets: dict[str, dict[str, object]], data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(sorted(targets)))
    numeric = sorted(k for k, v in targets[name].items() if isinstance(v, int | float) and k not in ("frequency_hz", "vest_mass_kg"))
    key = data.draw(st.sampled_from(numeric))
    bad = {**targets, name: {**targets[name], key: -data.draw(st.integers(1, 1000))}}
    with pytest.raises(ConfigError) as err:
        parse_plan({"schema": 1, "targets": bad}, path="gen.toml")
    assert err.value.key == f"targets.{name}.{key}"


# -- check_plan ----------------------------------------------------------------------------------
def _daily(**cols: list[Any]) -> pd.DataFrame:
    n = len(cols["date"])
    base = {"wear_h": [14.0] * n, "valid": [True] * n, "n_low": [0] * n, "n_medium": [0] * n, "n_high": [0] * n,
            "n_jumps": [0] * n, "jump_sets": [0] * n, "brisk_walk_min": [0.0] * n, "walk_min": [0.0] * n,
            "run_min": [0.0] * n, "vest_walk_min": [0.0] * n, "vibration_min": [0.0] * n}
    base.update(cols)
    base["date"] = pd.to_datetime(base["date"])
    return coerce(pd.DataFrame(base), DAILY)


def test_check_days_sets_and_no_data() -> None:
    d = _daily(date=["2026-03-02", "2026-03-03", "2026-03-04", "2026-03-06"], n_jumps=[50, 70, 55, 60],
               jump_sets=[5, 7, 4, 6], valid=[True, True, True, False], wear_h=[14.0, 14.0, 14.0, 6.0])
    plan = Plan("p", Targets(jumps=JumpsTarget(per_day=50, min_sets=5, days=("mon", "wed", "fri"))))
    pc = check_plan(d, plan)
    check_frame(pc, PLAN_CHECK)
    assert list(pc["date"].dt.strftime("%a")) == ["Mon", "Tue", "Wed", "Fri"]
    # Tuesday is not a jumps day: its own status, not judged, not "no data" (a day too short to judge)
    assert list(pc["status"]) == ["met", "not scheduled", "not met", "no data"]
    assert pc["met"].tolist() == [True, pd.NA, False, pd.NA]
    assert np.isnan(pc["required"].iloc[1]) and pc["achieved"].iloc[1] == 70.0  # done anyway, shown
    assert pc["detail"].iloc[1] == "scheduled on mon, wed, fri"
    assert "only 4 of 5 sets" in pc["detail"].iloc[2]
    assert "6.0 h wear" in pc["detail"].iloc[3]
    from impactlab.report.adherence import adherence

    a = adherence(pc)
    assert (a["met"], a["not_met"], a["no_data"], a["not_scheduled"], a["rate"]) == (1, 1, 1, 1, 0.5)


def test_check_week_partial_and_unobservable() -> None:
    d = _daily(date=pd.date_range("2026-03-04", periods=7).strftime("%Y-%m-%d").tolist(),
               vest_walk_min=[40.0, 0, 0, 0, 55.0, 0, 0], valid=[True] * 5 + [False] * 2,
               vibration_min=[0.0] * 7)
    plan = Plan("p", Targets(vest_walk=MinutesTarget(minutes_per_week=90),
                             vibration=__import__("impactlab.plan", fromlist=["VibrationTarget"]).VibrationTarget(minutes_per_day=15)))
    pc = check_plan(d, plan, unobservable=["vibration"])
    wk = pc[pc["period"] == "week"]
    assert list(wk["date"].dt.strftime("%Y-%m-%d")) == ["2026-03-02", "2026-03-09"]
    assert list(wk["achieved"]) == [95.0, 0.0] and list(wk["status"]) == ["met", "no data"]
    assert list(wk["partial"]) == [True, True]
    day = pc[pc["period"] == "day"]
    assert set(day["status"]) == {"no data"}  # the plate cannot be seen: no day is 'not met'


def test_high_impacts_band() -> None:
    d = _daily(date=["2026-03-02"], n_low=[100], n_medium=[30], n_high=[40])
    for band, want in (("high", 40), ("medium", 70), ("low", 170)):
        plan = parse_plan({"schema": 1, "targets": {"high_impacts": {"per_day": 60, "min_band": band}}})
        assert check_plan(d, plan)["achieved"].iloc[0] == want


def test_empty_daily() -> None:
    pc = check_plan(_daily(date=[]), load_plan(SAMPLE / "plan.toml"))
    check_frame(pc, PLAN_CHECK)
    assert len(pc) == 0


# -- command line ---------------------------------------------------------------------------------
def test_plan_check_cli(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["plan", "check", str(SAMPLE / "plan.toml")]) == 0
    out = capsys.readouterr().out
    assert "Hip loading, sample programme" in out and "50 jumps" in out and "per ISO week" in out
    assert main(["plan", "check", str(SAMPLE / "plan.toml"), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["targets"]["jumps"]["per_day"] == 50
    bad = _plan(tmp_path, "schema = 1\n[targets.jumps]\nper_day = -1\n")
    assert main(["plan", "check", str(bad)]) == 1
    err = capsys.readouterr().err
    assert f"{bad}:line 3:targets.jumps.per_day: must not be negative" in err and "Traceback" not in err


def test_analyze_with_plan_short_day_is_no_data(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Two hours of data: every daily verdict is 'no data', never 'not met' (DESIGN §9)."""
    rec = simulate_recording(duration_s=7200, fs=50, walks=[Walk(600, 2700, 112, 0.8)], seed=3)
    f = write_parquet(rec, tmp_path / "short.parquet")
    assert main(["analyze", str(f), "--plan", str(SAMPLE / "plan.toml"), "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["sessions"][0]["kind"] == "brisk_walk" and out["sessions"][0]["duration_s"] == pytest.approx(2100, abs=2)
    assert {r["status"] for r in out["plan_check"]} == {"no data"}
    assert all(r["met"] is None for r in out["plan_check"])
    assert main(["analyze", str(f), "--plan", str(SAMPLE / "plan.toml")]) == 0
    assert "no valid data" in capsys.readouterr().out


def test_undetectable_plate_is_no_data_not_unmet() -> None:
    rec = simulate_recording(duration_s=11 * 3600, fs=50, vibration=[(3600, 4800, 50.0, 0.3)], seed=4)
    plan = parse_plan({"schema": 1, "targets": {"vibration": {"minutes_per_day": 15, "frequency_hz": 50}}})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = analyze(rec, plan=plan)
    assert any("cannot be detected" in str(w.message) for w in caught)
    assert res.daily["valid"].iloc[0] and res.plan_check is not None
    assert list(res.plan_check["status"]) == ["no data"]


# -- the sample week (Monday) end to end ---------------------------------------------------------
def _sample_week_module() -> object:
    sys.path.insert(0, str(SAMPLE))
    try:
        import make_sample_week

        return make_sample_week
    finally:
        sys.path.remove(str(SAMPLE))


@pytest.mark.slow
def test_sample_week_monday_matches_readme(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    msw = _sample_week_module()
    f = msw.write_week(tmp_path / "mon.parquet", [0])  # type: ignore[attr-defined]
    assert main(["analyze", str(f), "--plan", str(SAMPLE / "plan.toml"), "--markers", str(SAMPLE / "markers-week.csv"),
                 "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    day = out["days"][0]
    sched = msw.SCHEDULE[0]  # type: ignore[attr-defined]
    assert (day["n_jumps"], day["jump_sets"]) == (len(sched["jumps"]), 5)
    brisk = sum((b - a) * 60 for a, b, c, _ in sched["walks"] if c >= 100)
    assert day["brisk_walk_min"] == pytest.approx(brisk, rel=0.02)
    assert day["vibration_min"] == pytest.approx(16, rel=0.02)
    assert day["n_high"] == 60  # 50 jumps + 10 heel drops
    verdicts = {r["target"]: r["status"] for r in out["plan_check"] if r["period"] == "day"}
    assert verdicts == {"jumps": "met", "high_impacts": "met", "brisk_walk": "met", "vibration": "met"}
    week = [r for r in out["plan_check"] if r["period"] == "week"]
    assert week[0]["target"] == "vest_walk" and week[0]["status"] == "not met" and week[0]["partial"] is True
    jumps = [s for s in out["sessions"] if s["kind"] == "jumps"]
    assert jumps[0]["label_source"] == "detected+markers:markers-week.csv"
    assert [m["label"] for m in out["markers"]] == ["jumps"]  # the vest markers lie on other days
    assert np.isclose([s["frequency_hz"] for s in out["sessions"] if s["kind"] == "vibration"], 30.0).all()


def test_every_session_kind_target_is_a_plan_target(tmp_path: Path) -> None:
    """The minutes targets come from schema.SESSION_KINDS: run is accepted, checked on run_min, and needs minutes."""
    from impactlab.schema import SESSION_KINDS
    for kind in SESSION_KINDS.values():
        if kind.target and kind.unit == "min":
            plan = parse_plan({"schema": 1, "targets": {kind.target: {"minutes_per_day": 20}}}, path="k.toml")
            d = _daily(date=["2026-03-02", "2026-03-03"], **{kind.column: [25.0, 5.0]})
            pc = check_plan(d, plan)
            assert pc["status"].tolist() == ["met", "not met"], kind.target
            assert pc["achieved"].tolist() == [25.0, 5.0]
    with pytest.raises(ConfigError) as err:
        load_plan(_plan(tmp_path, "schema = 1\n[targets.run]\ndays = [\"mon\"]\n"))
    assert err.value.key == "targets.run.minutes_per_day"
