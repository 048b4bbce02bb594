"""Sessions (DESIGN §4) from simulated recordings with known answers, and chunked equals whole."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from impactlab import analyze
from impactlab.errors import DataQualityWarning
from impactlab.impacts import detect_impacts
from impactlab.recording import Recording
from impactlab.schema import SESSIONS, check_frame
from impactlab.sessions import SessionConfig, alias_frequency, find_sessions
from impactlab.simulate import Run, Walk, simulate_recording


def _sessions(rec: Recording, **kw: object) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ses, imp = find_sessions(rec, detect_impacts(rec), **kw)  # type: ignore[arg-type]
    return ses, imp, [str(w.message) for w in caught if issubclass(w.category, DataQualityWarning)]


def _sets(start_s: float, n_sets: int, per_set: int = 10, rest_s: float = 60.0, peak_g: float = 2.5) -> list[tuple[float, float]]:
    return [(start_s + s * (per_set * 3 + rest_s) + j * 3.0, peak_g) for s in range(n_sets) for j in range(per_set)]


@pytest.fixture(scope="module")
def mixed() -> Recording:
    """35 min at 50 Hz: brisk walk 5 min (112 spm), walk 4 min (92 spm), 3 sets of jumps, plate 2 min."""
    return simulate_recording(
        duration_s=2100, fs=50, vertical_axis="-y",
        walks=[Walk(60, 360, 112, 0.75), Walk(420, 660, 92, 0.6)],
        jumps=_sets(800, 3),
        heel_drops=[(1200 + 4 * i, 2.2) for i in range(8)],
        vibration=[(1500, 1620, 30.0, 0.3)],
        seed=7,
    )


def test_each_kind_known_answers(mixed: Recording) -> None:
    ses, imp, _ = _sessions(mixed)
    check_frame(ses, SESSIONS)
    assert list(ses["kind"]) == ["brisk_walk", "walk", "jumps", "vibration"]
    assert list(ses["session_id"]) == [1, 2, 3, 4]
    t0 = mixed.data.index[0]
    start = (ses["start"] - t0).dt.total_seconds().to_numpy()
    end = (ses["end"] - t0).dt.total_seconds().to_numpy()
    # walks: edges to the second, cadence to 1 step/min
    assert start[:2] == pytest.approx([60, 420], abs=1.5)
    assert end[:2] == pytest.approx([360, 660], abs=1.5)
    assert ses["cadence_spm"].iloc[:2].to_numpy() == pytest.approx([112, 92], abs=1.0)
    # jumps: 30 jumps in 3 sets; the session runs from the first take-off to the last landing
    j = ses.iloc[2]
    assert (j["n_jumps"], j["n_sets"], j["n_high"]) == (30, 3, 30)
    assert end[2] == pytest.approx(800 + 2 * 90 + 27, abs=0.05)
    # the plate at 50 Hz: aliased to 20 Hz, 0.3 g amplitude = 0.21 g RMS
    v = ses.iloc[3]
    assert (start[3], end[3]) == (pytest.approx(1500, abs=1.5), pytest.approx(1620, abs=1.5))
    assert v["apparent_hz"] == pytest.approx(20.0, abs=0.1)
    assert v["rms_g"] == pytest.approx(0.3 / np.sqrt(2), rel=0.05)
    # impacts carry the session they fall in; heel drops and others are outside any session
    assert imp.loc[imp["session_id"] == 3, "band"].eq("high").sum() == 30
    assert imp["session_id"].isna().sum() == 8
    assert ses["n_impacts"].sum() + 8 == len(imp)


def test_daily_minutes_and_jumps(mixed: Recording) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = analyze(mixed)
    d = res.daily.iloc[0]
    assert (d["n_jumps"], d["jump_sets"]) == (30, 3)
    assert d["brisk_walk_min"] == pytest.approx(5.0, rel=0.02)
    assert d["walk_min"] == pytest.approx(4.0, rel=0.02)
    assert d["vibration_min"] == pytest.approx(2.0, rel=0.03)
    assert d["vest_walk_min"] == 0.0


def test_heel_drop_is_not_a_jump() -> None:
    """Heel drops and stamps land as hard as jumps but have no free fall: impacts, not jumps."""
    rec = simulate_recording(duration_s=300, fs=50, heel_drops=[(30 + 5 * i, 2.5) for i in range(10)],
                             jumps=[(150 + 3 * i, 2.5) for i in range(5)], seed=2)
    ses, imp, _ = _sessions(rec)
    assert (imp["band"] == "high").sum() == 15
    assert list(ses["kind"]) == ["jumps"]
    assert int(ses["n_jumps"].iloc[0]) == 5
    assert imp.loc[imp["session_id"].isna(), "time"].lt(rec.data.index[0] + pd.Timedelta(seconds=100)).all()


@pytest.mark.parametrize(("flight_s", "is_jump"), [(0.3, True), (0.16, True), (0.12, False)])
def test_flight_of_80_ms_or_more_makes_a_jump(flight_s: float, is_jump: bool) -> None:
    # the simulator's flight_s runs from take-off to the landing peak; the body is below 0.4 g for
    # about flight_s - 0.056 s of it (0.244, 0.104 and 0.064 s here)
    rec = simulate_recording(duration_s=60, fs=100, jumps=[(30.0, 2.5, flight_s)], seed=3)
    ses, imp, _ = _sessions(rec)
    assert (imp["band"] == "high").sum() == 1
    assert (list(ses["kind"]) == ["jumps"]) is is_jump


def test_sets_and_sessions() -> None:
    """Jumps < 20 s apart form a set; sets < 10 min apart one session."""
    rec = simulate_recording(duration_s=1800, fs=50, jumps=_sets(60, 2, rest_s=25) + _sets(900, 1), seed=4)
    ses, _, _ = _sessions(rec)
    assert list(ses["kind"]) == ["jumps", "jumps"]
    assert list(ses["n_sets"]) == [2, 1] and list(ses["n_jumps"]) == [20, 10]


def test_vest_marker_makes_a_vest_walk() -> None:
    rec = simulate_recording(duration_s=900, fs=50, walks=[Walk(60, 360, 110, 0.9), Walk(500, 800, 110, 0.9)], seed=5)
    t0 = rec.data.index[0]
    markers = pd.DataFrame({"start": [t0 + pd.Timedelta(seconds=50)], "end": [t0 + pd.Timedelta(seconds=200)],
                            "label": ["vest"], "source": ["sensor"]})
    ses, _, _ = _sessions(rec, markers=markers)
    assert list(ses["kind"]) == ["vest_walk", "brisk_walk"]
    assert list(ses["label_source"]) == ["sensor", "detected"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        d = analyze(rec, markers=markers).daily.iloc[0]
    assert d["vest_walk_min"] == pytest.approx(5.0, rel=0.02)
    assert d["brisk_walk_min"] == pytest.approx(5.0, rel=0.02)  # the vest bout is not counted twice


def test_short_walk_and_slow_walk() -> None:
    rec = simulate_recording(duration_s=600, fs=50, walks=[Walk(30, 75, 110, 0.8), Walk(200, 400, 80, 0.6)], seed=6)
    ses, _, _ = _sessions(rec)
    assert list(ses["kind"]) == ["walk"]  # the 45 s bout is too short
    assert ses["cadence_spm"].iloc[0] == pytest.approx(80, abs=1)


@pytest.mark.parametrize(("fs", "apparent", "aliased"), [(50.0, 20.0, True), (100.0, 30.0, False)])
def test_plate_at_30_hz_aliasing(fs: float, apparent: float, aliased: bool) -> None:
    rec = simulate_recording(duration_s=300, fs=fs, vibration=[(60, 180, 30.0, 0.3)], seed=8)
    ses, _, warns = _sessions(rec)
    assert list(ses["kind"]) == ["vibration"]
    assert ses["apparent_hz"].iloc[0] == pytest.approx(apparent, abs=0.1)
    assert any("aliasing" in w for w in warns) is aliased
    # the plan names the plate: its true frequency is reported, aliasing said once
    ses, _, warns = _sessions(rec, plate_hz=30.0)
    assert ses["frequency_hz"].iloc[0] == pytest.approx(30.0)
    assert any("under twice the plate frequency" in w for w in warns) is aliased
    assert alias_frequency(30.0, fs) == apparent


def test_plate_at_the_sample_rate_is_undetectable() -> None:
    rec = simulate_recording(duration_s=300, fs=50, vibration=[(60, 180, 50.0, 0.3)], seed=9)
    ses, _, warns = _sessions(rec)
    assert len(ses) == 0
    ses, _, warns = _sessions(rec, plate_hz=50.0)
    assert len(ses) == 0
    assert any("cannot be detected" in w and "equals the sample rate" in w for w in warns)
    # a vibration marker stands in for detection
    t0 = rec.data.index[0]
    m = pd.DataFrame({"start": [t0 + pd.Timedelta(seconds=60)], "end": [t0 + pd.Timedelta(seconds=180)], "label": ["vibration"]})
    ses, _, warns = _sessions(rec, plate_hz=50.0, markers=m)
    assert list(ses["kind"]) == ["vibration"] and ses["duration_s"].iloc[0] == 120
    assert ses["label_source"].iloc[0] == "markers"


def test_peaks_inside_vibration_are_not_impacts() -> None:
    """A high-magnitude 12.6 Hz plate (Gusi 2006) makes hundreds of peaks: none is counted."""
    rec = simulate_recording(duration_s=400, fs=100, vibration=[(100, 220, 12.6, 1.5)],
                             jumps=[(50.0, 2.0), (300.0, 2.0)], seed=10)
    raw = detect_impacts(rec)
    t0 = rec.data.index[0]
    inside = (raw["time"] >= t0 + pd.Timedelta(seconds=100)) & (raw["time"] < t0 + pd.Timedelta(seconds=220))
    assert inside.sum() > 300  # up to 4 a second (0.25 s apart)
    ses, imp, warns = _sessions(rec)
    # the two jumps (250 s apart) would be one session, but a session is its sets and the plate lies between
    assert list(ses["kind"]) == ["jumps", "vibration", "jumps"]
    vib = ses.iloc[1]
    assert vib["frequency_hz"] == pytest.approx(12.6, abs=0.1)
    assert len(imp) == len(raw) - inside.sum() == 2
    assert any("not counted as impacts" in w for w in warns)
    assert (vib["n_impacts"], ses["n_jumps"].iloc[0], ses["n_jumps"].iloc[2]) == (0, 1, 1)


def test_walking_is_not_vibration() -> None:
    """Step harmonics above 5 Hz are not a plate (fast, hard steps at 50 and 100 Hz)."""
    for fs in (50.0, 100.0):
        rec = simulate_recording(duration_s=400, fs=fs, walks=[Walk(20, 380, 125, 1.4)], seed=11)
        ses, _, _ = _sessions(rec)
        assert list(ses["kind"]) == ["brisk_walk"]


def test_hopping_is_jumps_not_walking() -> None:
    """Continuous hops at 2 Hz (Allison 2013's unilateral hopping) are periodic like steps, but fly."""
    rec = simulate_recording(duration_s=300, fs=100, jumps=[(60 + 0.5 * i, 1.8, 0.25) for i in range(240)], seed=15)
    ses, _, _ = _sessions(rec)
    assert list(ses["kind"]) == ["jumps"]
    assert (ses["n_jumps"].iloc[0], ses["n_sets"].iloc[0]) == (240, 1)


def test_json_sessions_contract(mixed: Recording) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = analyze(mixed).to_json_dict()
    for s in out["sessions"]:
        assert {"kind", "start", "end", "duration_s", "n_impacts"} <= s.keys()
        assert pd.Timestamp(s["start"]).tzinfo is not None and isinstance(s["n_impacts"], int)
    assert [d["n_jumps"] for d in out["days"]] == [30]


def test_empty_and_still() -> None:
    rec = simulate_recording(duration_s=120, fs=50, seed=12)
    ses, imp, _ = _sessions(rec)
    check_frame(ses, SESSIONS)
    assert len(ses) == 0 and len(imp) == 0


def test_session_config_is_used() -> None:
    rec = simulate_recording(duration_s=300, fs=50, walks=[Walk(20, 200, 96, 0.7)], seed=13)
    ses, _, _ = _sessions(rec, session_config=SessionConfig(brisk_spm=95.0))
    assert list(ses["kind"]) == ["brisk_walk"]


# -- chunked equals whole -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def chunk_case() -> tuple[Recording, object]:
    rec = simulate_recording(
        duration_s=900, fs=50, walks=[Walk(20, 200, 108, 0.7)], jumps=_sets(300, 2, rest_s=30),
        heel_drops=[(420.0, 2.0)], vibration=[(500, 600, 30.0, 0.3)], gaps=[(700, 703)], seed=14,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        whole = analyze(rec)
    assert sorted(whole.sessions["kind"]) == ["brisk_walk", "jumps", "vibration"]
    return rec, whole


@given(st.lists(st.integers(min_value=1, max_value=44_999), min_size=1, max_size=8, unique=True))
def test_chunked_equals_whole(chunk_case: tuple[Recording, object], cuts: list[int]) -> None:
    rec, whole = chunk_case
    n = len(rec)
    edges = [0, *sorted(c for c in cuts if c < n), n]
    chunks = [Recording(rec.data.iloc[a:b], rec.meta, validate=False) for a, b in itertools.pairwise(edges) if b > a]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = analyze(chunks)
    pd.testing.assert_frame_equal(res.sessions, whole.sessions)  # type: ignore[attr-defined]
    pd.testing.assert_frame_equal(res.impacts, whole.impacts)  # type: ignore[attr-defined]


@pytest.mark.parametrize("fs", [50.0, 100.0])
def test_running_is_run_not_walking_and_not_jumps(fs: float) -> None:
    """A simulated run (165 steps/min, a flight before every landing) between a walk and a jump set."""
    rec = simulate_recording(duration_s=900, fs=fs, walks=[Walk(20, 200, 110, 0.7)], runs=[Run(260, 560, 165, 2.0)],
                             jumps=[(650 + 3 * i, 2.5) for i in range(10)], seed=16)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = analyze(rec)
    ses = a.sessions
    assert list(ses["kind"]) == ["brisk_walk", "run", "jumps"]
    t0 = rec.data.index[0]
    run = ses.iloc[1]
    assert (run["start"] - t0).total_seconds() == pytest.approx(260, abs=1.5)
    assert (run["end"] - t0).total_seconds() == pytest.approx(560, abs=1.5)
    assert run["cadence_spm"] == pytest.approx(165, abs=1.0)
    assert run["n_impacts"] == pytest.approx(825, abs=2)  # one landing per step
    assert ses.iloc[2]["n_jumps"] == 10
    d = a.daily.iloc[0]
    assert d["run_min"] == pytest.approx(5.0, rel=0.01)
    assert d["brisk_walk_min"] == pytest.approx(3.0, rel=0.01) and d["walk_min"] == 0.0


@pytest.mark.parametrize(("pause_s", "jumps_in_pause", "cfg", "want"), [
    (40.0, False, SessionConfig(), ["run"]),  # a stop at a crossing: one session, its elapsed time
    (75.0, False, SessionConfig(), ["run", "run"]),  # a longer stop: two sessions
    (40.0, True, SessionConfig(), ["run", "jumps", "run"]),  # another session in the pause: two runs
    (40.0, False, SessionConfig(run_pause_max_s=0.0), ["run", "run"]),  # bridging switched off
])
def test_a_short_pause_is_part_of_the_run(pause_s: float, jumps_in_pause: bool, cfg: SessionConfig, want: list[str]) -> None:
    """Running bouts < 60 s apart with nothing else between them are one ``run`` session (elapsed time)."""
    end1 = 140.0
    start2 = end1 + pause_s
    jumps = [(end1 + 8 + 2.5 * i, 2.5) for i in range(10)] if jumps_in_pause else []
    rec = simulate_recording(duration_s=start2 + 130, fs=50, runs=[Run(20, end1, 165, 2.0), Run(start2, start2 + 110, 165, 2.0)],
                             jumps=jumps, seed=21)
    ses, imp, _ = _sessions(rec, session_config=cfg)
    assert list(ses["kind"]) == want
    t0 = rec.data.index[0]
    runs = ses[ses["kind"] == "run"]
    moving = 120.0 + 110.0
    if want == ["run"]:
        r = runs.iloc[0]
        assert (r["start"] - t0).total_seconds() == pytest.approx(20, abs=1.5)
        assert (r["end"] - t0).total_seconds() == pytest.approx(start2 + 110, abs=1.5)
        assert r["duration_s"] == pytest.approx(moving + pause_s, abs=2.0)
        assert r["note"] == f"elapsed time; 1 pause ({pause_s:.0f} s) included, moving {moving / 60:.1f} min"
        assert r["cadence_spm"] == pytest.approx(165, abs=1.0)
        assert int(r["n_impacts"]) == int(imp["session_id"].notna().sum())
    else:
        assert runs["duration_s"].sum() == pytest.approx(moving, abs=3.0)
        assert runs["note"].isna().all()
    assert (ses["start"].to_numpy()[1:] >= ses["end"].to_numpy()[:-1]).all()


def _countermovement_pair(landing_g: float) -> Recording:
    # two jumps 1.9 s apart, each with a push-off 0.46 s before and a recoil 0.26 s after the landing
    # (the pattern of SisFall D19 SA17): six impacts within 2 s, but at uneven intervals
    jumps = [(3.76, landing_g), (5.66, landing_g)]
    drops = [(3.30, 0.9), (4.02, 0.7), (5.20, 0.9), (5.94, 0.7)]
    return simulate_recording(duration_s=12.0, jumps=jumps, heel_drops=drops, seed=5)


def test_jumps_close_together_are_not_a_rhythm_of_steps() -> None:
    rec = _countermovement_pair(2.2)
    assert len(detect_impacts(rec)) == 6
    res = analyze(rec)
    assert int(res.daily["n_jumps"].sum()) == 2


def test_gentle_landings_in_the_medium_band_are_jumps_unless_configured_otherwise() -> None:
    import dataclasses

    from impactlab.presets import analysis_config

    rec = _countermovement_pair(1.2)  # 2.2 g total: a gentle jump
    assert int(analyze(rec).daily["n_jumps"].sum()) == 2
    cfg = analysis_config("hannam2017")
    high_only = dataclasses.replace(cfg, sessions=dataclasses.replace(cfg.sessions, jump_min_band="high"))
    assert int(analyze(rec, config=high_only).daily["n_jumps"].sum()) == 0


# -- one kind per moment over simulated mixed days ------------------------------------------------
_SEGMENT = st.tuples(st.sampled_from(["walk", "run", "jumps", "vibration"]), st.integers(70, 140))


@settings(max_examples=6, deadline=None)
@given(st.lists(_SEGMENT, min_size=2, max_size=4), st.integers(15, 40), st.integers(0, 2**16))
def test_mixed_days_one_kind_per_moment(segments: list[tuple[str, int]], rest: int, seed: int) -> None:
    """Walk, run, jump sets and a plate in random order and lengths: each is found as its own kind,
    sessions never overlap, a jumps session spans only its sets, and every impact has at most one session."""
    t = 20.0
    walks: list[Walk] = []
    runs: list[Run] = []
    jumps: list[tuple[float, float]] = []
    vib: list[tuple[float, float, float, float]] = []
    truth: list[tuple[str, float, float]] = []
    for kind, length in segments:
        if kind == "walk":
            walks.append(Walk(t, t + length, 112, 0.7))
        elif kind == "run":
            runs.append(Run(t, t + length, 165, 2.0))
        elif kind == "vibration":
            vib.append((t, t + length, 30.0, 0.3))
        else:  # sets of 10 jumps 3 s apart, 25 s between sets
            n_sets = 1 + length // 70
            jumps += [(t + 1 + k * 55 + 3 * j, 2.5) for k in range(n_sets) for j in range(10)]
            length = n_sets * 55 - 25
        if kind in ("jumps", "run") and truth and truth[-1][0] == kind:
            # sets < 10 min apart are one session; runs < 60 s apart one session (its elapsed time)
            truth[-1] = (kind, truth[-1][1], t + length)
        else:
            truth.append((kind, t, t + length))
        t += length + rest
    rec = simulate_recording(duration_s=t + 20, fs=50, walks=walks, runs=runs, jumps=jumps, vibration=vib, seed=seed)
    ses, imp, _ = _sessions(rec)
    t0 = rec.data.index[0]
    got = [(str(k), (s - t0).total_seconds(), (e - t0).total_seconds())
           for k, s, e in zip(ses["kind"], ses["start"], ses["end"], strict=True)]
    want_kinds = [("brisk_walk" if k == "walk" else k) for k, _, _ in truth]
    assert [g[0] for g in got] == want_kinds, (got, truth)
    for (_, s, e), (kind, ts, te) in zip(got, truth, strict=True):
        tol = 2.5 if kind != "jumps" else 3.5
        assert s == pytest.approx(ts, abs=tol) and e == pytest.approx(te, abs=tol), (kind, s, e, ts, te)
    starts, ends = ses["start"].to_numpy(), ses["end"].to_numpy()
    assert (starts[1:] >= ends[:-1]).all()  # never overlapping
    assert int(imp["session_id"].notna().sum()) == int(ses["n_impacts"].sum())  # at most one session each
    assert int(ses.loc[ses["kind"] == "jumps", "n_jumps"].sum()) == len(jumps)


def test_activity_per_impact() -> None:
    """Walk, run and jump-set impacts carry their activity; only the landings of a jumps session are ``jump``."""
    rec = simulate_recording(duration_s=700, fs=50, walks=[Walk(20, 200, 110, 0.7)], runs=[Run(260, 420, 165, 2.0)],
                             jumps=[(500 + 3 * i, 2.5) for i in range(10)], heel_drops=[(512.5, 2.0)], seed=17)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = analyze(rec, body_mass_kg=70)
    imp, ses = a.impacts, a.sessions
    kind = imp["session_id"].map(dict(zip(ses["session_id"], ses["kind"].astype(str), strict=True)))
    assert (imp.loc[kind == "brisk_walk", "activity"] == "walk").all()
    assert (imp.loc[kind == "run", "activity"] == "run").all() and (kind == "run").sum() > 400
    in_jumps = imp[kind == "jumps"]
    assert (in_jumps["activity"] == "jump").sum() == 10  # the heel drop inside the set is an impact, not a landing
    assert (in_jumps["activity"] == "other").sum() == 1
    model = {"walk": "walking", "run": "walking/running", "jump": "jumping", "other": "walking/running"}
    assert (imp["model"] == imp["activity"].astype(str).map(model)).all()


@pytest.mark.parametrize(("kw", "key"), [({"set_gap_s": 900.0}, "set_gap_s"), ({"bout_flight_max_g": 0.3}, "bout_flight_max_g"),
                                        ({"jump_bout_airborne": 1.5}, "jump_bout_airborne"), ({"run_min_spm": 170.0}, "run_min_spm"),
                                        ({"run_max_hz": 2.0}, "run_max_hz"), ({"run_bout_min_s": 5.0}, "bout_max_break_s"),
                                        ({"run_pause_max_s": -1.0}, "run_pause_max_s")])
def test_inconsistent_session_settings_name_the_key(kw: dict[str, float], key: str) -> None:
    from impactlab.errors import ConfigError
    rec = simulate_recording(duration_s=60, fs=50, seed=1)
    with pytest.raises(ConfigError) as err:
        find_sessions(rec, detect_impacts(rec), session_config=SessionConfig(**kw))  # type: ignore[arg-type]
    assert err.value.key == f"sessions.{key}"
