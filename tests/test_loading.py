"""GRF / loading rate (Veras et al.), DSS and OI, the peak acceleration rate, and the worked values
of research/science.md §6, §7, §9B and §9C to the printed precision."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from impactlab.cli.main import main

from impactlab import DetectionConfig, ImpactDetector, analyze, detect_impacts
from impactlab.errors import ConfigError, DataError
from impactlab.impacts import _rise_starts, peak_rates
from impactlab.loading import (
    GRAVITY_MS2,
    add_loading,
    apparent_frequency_hz,
    daily_stress_stimulus,
    fall_time_s,
    flight_time_s,
    landing_speed_ms,
    loading_indices,
    model_for_kind,
    osteogenic_index,
    predict_grf,
    predict_lr,
    sine_rms_g,
)
from impactlab.schema import SESSIONS, empty
from impactlab.simulate import Walk, simulate_recording

BW70 = 70 * GRAVITY_MS2


# -- §9B: impactr test vectors, hip, 70 kg ---------------------------------------------------------
@pytest.mark.parametrize(
    ("model", "vector", "x", "newton", "bw"),
    [
        ("walking", "vertical", 1.3, 864.7, 1.26),
        ("walking", "vertical", 2.0, 1081.7, None),
        ("walking", "resultant", 1.3, 854.1, None),
        ("walking/running", "vertical", 1.3, 1337.6, None),
        ("walking/running", "resultant", 2.0, 1399.2, None),
        ("jumping", "vertical", 3.0, 1707.3, 2.49),
        ("jumping", "resultant", 3.0, 1601.5, None),
    ],
)
def test_grf_worked_values(model: str, vector: str, x: float, newton: float, bw: float | None) -> None:
    y = float(predict_grf(x, 70, model=model, placement="hip", vector=vector))  # type: ignore[arg-type]
    assert round(y, 1) == newton
    if bw is not None:
        assert round(y / BW70, 2) == bw


@pytest.mark.parametrize(
    ("model", "nps"), [("walking", 6566.5), ("walking/running", 18489.6), ("jumping", 38939.2)]
)
def test_lr_worked_values(model: str, nps: float) -> None:
    assert round(float(predict_lr(10.0, 70, model=model, vector="vertical")), 1) == nps  # type: ignore[arg-type]


def test_walking_sanity_values_in_bw() -> None:
    # science.md §5.2: 1.3 g -> 865 N (1.26 BW); 2.0 g -> 1082 N (1.58 BW)
    y = predict_grf([1.3, 2.0], 70, model="walking")
    assert np.round(y).tolist() == [865.0, 1082.0]
    assert np.round(y / BW70, 2).tolist() == [1.26, 1.58]


def test_prediction_is_vectorised_and_broadcasts() -> None:
    y = predict_grf(np.array([1.3, 2.0, 3.0]), np.array([60.0, 70.0, 80.0]), model="jumping")
    assert y.shape == (3,)
    assert y[1] == pytest.approx(float(predict_grf(2.0, 70.0, model="jumping")))
    assert np.isnan(predict_lr(np.nan, 70.0)).all()


def test_refuses_a_placement_the_model_lacks() -> None:
    with pytest.raises(ConfigError, match="no equation for a 'ankle'") as err:
        predict_grf(1.5, 70, model="walking", placement="ankle")
    assert "back, hip" in (err.value.hint or "")
    with pytest.raises(ConfigError, match="no equation for a 'wrist'"):
        predict_lr(10, 70, model="jumping", placement="wrist")  # type: ignore[arg-type]
    # the other models have an ankle equation
    assert float(predict_grf(1.5, 70, model="jumping", placement="ankle")) > 0


@pytest.mark.parametrize("bad", [0, -70, float("nan")])
def test_refuses_bad_body_mass(bad: float) -> None:
    with pytest.raises(ConfigError, match="body mass"):
        predict_grf(1.5, bad)


@pytest.mark.parametrize("mass", [680.0, 6.8, float("nan"), "heavy"])
def test_analyze_and_the_store_refuse_an_implausible_body_mass(mass: object, tmp_path) -> None:
    # the Python API and the client store check the same 10-300 kg as --body-mass and the subjects CSV
    from impactlab.errors import StoreError
    from impactlab.store import Store

    rec = simulate_recording(duration_s=60, jumps=[(30.0, 2.0)], seed=0)
    with pytest.raises(ConfigError, match=r"body_mass_kg: .*(10-300 kg|not a mass)"):
        analyze(rec, body_mass_kg=mass)  # type: ignore[arg-type]
    with Store(tmp_path / "s.sqlite") as st, pytest.raises(StoreError, match=r"body_mass_kg: .*kg"):
        st.add_client("c01", body_mass_kg=mass)  # type: ignore[arg-type]


@pytest.mark.parametrize("kg, ok", [(0.0, True), (50.0, True), (50.5, False), (-1.0, False)])
def test_loading_config_checks_the_vest_mass(kg: float, ok: bool) -> None:
    from impactlab.config import LoadingConfig

    if ok:
        assert LoadingConfig(vest_mass_kg=kg).vest_mass_kg == kg
    else:
        with pytest.raises(ConfigError, match=r"loading.vest_mass_kg: .*0-50 kg"):
            LoadingConfig(vest_mass_kg=kg)


def test_unknown_model_and_vector() -> None:
    with pytest.raises(ConfigError, match="unknown loading model"):
        predict_grf(1.5, 70, model="running")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="unknown vector"):
        predict_grf(1.5, 70, vector="x")  # type: ignore[arg-type]


# -- §9C: index arithmetic -------------------------------------------------------------------------
def test_osteogenic_index_worked_value() -> None:
    assert round(osteogenic_index(1.40, 4194), 2) == 11.68
    assert osteogenic_index(2.0, 0) == 0.0
    with pytest.raises(DataError):
        osteogenic_index(1.0, -1)


def test_daily_stress_stimulus_worked_values() -> None:
    assert round(daily_stress_stimulus(1.2, 5000), 2) == 10.09
    assert round(daily_stress_stimulus(3.0, 50), 2) == 7.98
    assert round(daily_stress_stimulus([1.2, 3.0], [5000, 50]), 2) == 10.96
    # per-impact form (n = 1 each) equals the class form
    per_impact = np.r_[np.full(5000, 1.2), np.full(50, 3.0)]
    assert daily_stress_stimulus(per_impact) == pytest.approx(daily_stress_stimulus([1.2, 3.0], [5000, 50]))
    assert daily_stress_stimulus([]) == 0.0


# -- §6 aliasing and §7 flight-time tables ---------------------------------------------------------
@pytest.mark.parametrize(
    ("fs", "table"),
    [
        (50, {25: 25, 28: 22, 30: 20, 32: 18, 35: 15, 40: 10, 45: 5, 50: 0, 60: 10, 90: 10}),
        (100, {25: 25, 30: 30, 45: 45, 50: 50, 60: 40, 90: 10}),
        (25, {30: 5, 35: 10, 50: 0}),
    ],
)
def test_aliasing_table(fs: float, table: dict[int, int]) -> None:
    got = apparent_frequency_hz(list(table), fs)
    np.testing.assert_array_equal(got, np.array(list(table.values()), float))


def test_vibration_amplitude_rms() -> None:
    assert round(float(sine_rms_g(0.3)), 2) == 0.21
    assert round(float(sine_rms_g(0.2, peak_to_peak=True)), 2) == 0.07


def test_flight_time_table() -> None:
    h = np.array([0.05, 0.10, 0.15, 0.20])
    assert np.round(flight_time_s(h), 2).tolist() == [0.20, 0.29, 0.35, 0.40]
    assert np.round(landing_speed_ms(h), 2).tolist() == [0.99, 1.40, 1.72, 1.98]
    # a drop from a box has a free fall of about 0.10 s (5 cm) to 0.20 s (20 cm)
    assert np.round(fall_time_s([0.05, 0.20]), 2).tolist() == [0.10, 0.20]
    # DESIGN §4's flight rule (< 0.4 g for >= 80 ms) catches even 5 cm jumps
    assert flight_time_s(0.05) > 0.080


# -- peak acceleration rate ------------------------------------------------------------------------
def test_rise_start_and_rate_by_hand() -> None:
    x = np.array([0.0, 0.5, 0.2, 0.3, 0.6, 1.2, 1.4, 1.0, 0.9, 0.9, 1.1, 1.1, 1.1, 0.8])
    #             0    1    2    3    4    5    6    7    8    9    10   11   12   13
    assert _rise_starts(x, np.array([1, 6, 11])).tolist() == [0, 2, 9]
    r = peak_rates(x, np.array([1, 6, 11]), fs=100.0)
    assert np.isnan(r[0])  # a rising curve of one sample has no centred derivative
    # centres 4..6 (impactr's window s+2..p): (1.2-0.3), (1.4-0.6), (1.0-1.2) over 0.02 s
    assert r[1] == pytest.approx(0.9 / 0.02)
    # flat top: the curve runs from 9 to the plateau's left edge 10; centres 11..11 -> (0.8-1.1)<0 -> floor 0
    assert r[2] == 0.0


def test_rate_of_a_sampled_ramp() -> None:
    fs = 100.0
    t = np.arange(60) / fs
    x = np.where(t < 0.3, 20.0 * t, np.maximum(6.0 - 40.0 * (t - 0.3), 0.0))  # 20 g/s up to the peak at 0.30 s
    p = np.array([30])
    assert peak_rates(x, p, fs)[0] == pytest.approx(20.0, rel=1e-9)


def test_detector_reports_rate(mixed_rec: object) -> None:
    imp = detect_impacts(mixed_rec)  # type: ignore[arg-type]
    assert imp["peak_rate_gps"].dtype == np.float64
    assert (imp["peak_rate_gps"].dropna() > 0).all()
    jumps = imp[imp["peak_g"] > 2.0]
    assert (jumps["peak_rate_gps"] > imp.loc[imp["peak_g"] < 1.0, "peak_rate_gps"].median()).all()


@pytest.fixture(scope="module")
def mixed_rec() -> object:
    return _RATE_REC


_RATE_REC = simulate_recording(
    duration_s=900, fs=100, walks=[Walk(20, 400, 115, 0.8, 0.3)],
    jumps=[(500 + 2.5 * i, 2.4 + 0.1 * i) for i in range(8)], gaps=[(600, 640)], seed=21,
)


@given(cuts=st.lists(st.integers(min_value=1, max_value=89_999), min_size=1, max_size=10, unique=True),
       vector=st.sampled_from(["vertical", "resultant"]), edges=st.sampled_from(["odd", "zero"]))
def test_rate_chunked_equals_whole(cuts: list[int], vector: str, edges: str) -> None:
    rec = _RATE_REC
    cfg = DetectionConfig(block_s=15.0, target_rate_hz=None, min_height_g=0.3, min_distance_s=0.4, vector=vector,  # type: ignore[arg-type]
                          filter_edges=edges,  # type: ignore[arg-type]
                          band_edges_g=(0.3, 0.5, 1.0, 1.5), band_names=("below_low", "low", "medium", "high"))
    key = f"{vector}-{edges}"
    if key not in _WHOLE:
        _WHOLE[key] = detect_impacts(rec, config=cfg)
    whole = _WHOLE[key]
    det = ImpactDetector(rec.meta, cfg)
    bounds = [0, *sorted(cuts), len(rec.data)]
    parts = [det.update(rec.data.iloc[a:b]) for a, b in itertools.pairwise(bounds)]
    parts.append(det.flush())
    got = pd.concat(parts, ignore_index=True)
    np.testing.assert_array_equal(got["sample"].to_numpy(), whole["sample"].to_numpy())
    np.testing.assert_allclose(got["peak_g"].to_numpy(), whole["peak_g"].to_numpy(), atol=1e-6)
    np.testing.assert_allclose(got["peak_rate_gps"].to_numpy(), whole["peak_rate_gps"].to_numpy(), atol=1e-6)


_WHOLE: dict[str, pd.DataFrame] = {}


def test_rate_equals_whole_signal_computation() -> None:
    # the blockwise detector's rate equals peak_rates() on one whole-signal filtfilt at the native rate
    from scipy import signal as sps

    rec = simulate_recording(duration_s=120, fs=100, walks=[Walk(5, 115, 120, 1.0, 0.3)], seed=3)
    cfg = DetectionConfig(target_rate_hz=None, min_height_g=0.3, min_distance_s=0.4,
                          band_edges_g=(0.3, 0.5, 1.0, 1.5), band_names=("below_low", "low", "medium", "high"))
    imp = detect_impacts(rec, config=cfg)
    v = rec.data["y"].to_numpy(np.float64)
    y = sps.sosfiltfilt(sps.butter(4, 20, fs=100, output="sos"), v)
    idx, _ = sps.find_peaks(y - 1.0, height=0.3, distance=40)
    np.testing.assert_array_equal(imp["sample"].to_numpy(), idx)
    np.testing.assert_allclose(imp["peak_rate_gps"].to_numpy(), peak_rates(y, idx, 100.0), atol=1e-6)


# -- add_loading: model choice, vest, calibration flags --------------------------------------------
def _impacts(peaks: list[float], sids: list[int | None], rates: list[float] | None = None) -> pd.DataFrame:
    n = len(peaks)
    return pd.DataFrame({
        "time": pd.date_range("2026-03-02 10:00", periods=n, freq="s", tz="Europe/London").as_unit("ns"),
        "peak_g": np.asarray(peaks, float),
        "session_id": pd.array(sids, dtype="Int64"),
        "clipped": np.zeros(n, bool),
        "peak_rate_gps": np.asarray(rates if rates is not None else [10.0] * n, float),
    })


def _sessions(kinds: list[str]) -> pd.DataFrame:
    s = empty(SESSIONS, tz="Europe/London")
    rows = pd.DataFrame({"session_id": np.arange(1, len(kinds) + 1, dtype="int64"),
                         "kind": pd.Categorical(kinds, categories=s["kind"].cat.categories)})
    return rows


def test_model_follows_session_kind() -> None:
    assert [model_for_kind(k) for k in ("jumps", "walk", "brisk_walk", "vest_walk", "vibration", None)] == [
        "jumping", "walking", "walking", "walking", "walking/running", "walking/running"]
    imp = _impacts([2.0, 0.3, 0.3, 0.6], [1, 2, None, 3])
    out = add_loading(imp, sessions=_sessions(["jumps", "walk", "brisk_walk"]), body_mass_kg=70)
    assert out["model"].tolist() == ["jumping", "walking", "walking/running", "walking"]
    assert out.loc[0, "grf_n"] == pytest.approx(float(predict_grf(3.0, 70, model="jumping")))
    assert out.loc[1, "grf_n"] == pytest.approx(float(predict_grf(1.3, 70, model="walking")))
    assert out.loc[2, "grf_n"] == pytest.approx(float(predict_grf(1.3, 70, model="walking/running")))
    assert out.loc[0, "lr_nps"] == pytest.approx(float(predict_lr(10.0, 70, model="jumping")))
    assert out.loc[1, "grf_bw"] == pytest.approx(1.2597, abs=1e-4)
    assert out["loading_flags"].tolist() == ["", "", "no_session", ""]


def test_without_sessions_everything_is_walking_running() -> None:
    out = add_loading(_impacts([0.5, 1.0], [None, None]), body_mass_kg=80)
    assert set(out["model"]) == {"walking/running"}


def test_vest_mass_is_added_and_flagged() -> None:
    imp = _impacts([0.5, 0.5], [1, 2])
    out = add_loading(imp, sessions=_sessions(["walk", "vest_walk"]), body_mass_kg=70, vest_mass_kg=5)
    assert out["load_mass_kg"].tolist() == [70.0, 75.0]
    assert out.loc[1, "grf_n"] == pytest.approx(float(predict_grf(1.5, 75, model="walking")))
    assert out.loc[1, "grf_n"] > out.loc[0, "grf_n"]
    assert out["loading_flags"].tolist() == ["", "vest"]
    # GRF in BW is relative to the body's own weight
    assert out.loc[1, "grf_bw"] == pytest.approx(out.loc[1, "grf_n"] / BW70)


def test_ankle_refused_only_when_the_walking_model_is_needed() -> None:
    imp = _impacts([0.5], [1])
    with pytest.raises(ConfigError, match="ankle"):
        add_loading(imp, sessions=_sessions(["walk"]), body_mass_kg=70, placement="ankle")
    out = add_loading(imp, sessions=_sessions(["jumps"]), body_mass_kg=70, placement="ankle")
    assert np.isfinite(out["grf_n"]).all()


def test_predictions_outside_calibration_are_marked() -> None:
    # the quadratic walking equation turns over at -(b1 + b4 BM) / (2 b2) = 2.47 g for 70 kg (hip, vertical)
    imp = _impacts([1.0, 2.0, 1.0], [1, 1, None], rates=[10.0, 10.0, 10.0])
    imp.loc[2, "clipped"] = True
    with pytest.warns(Warning, match="outside the equations' calibration"):
        out = add_loading(imp, sessions=_sessions(["walk"]), body_mass_kg=70)
    assert out["outside_calibration"].tolist() == [False, True, True]
    assert out.loc[1, "loading_flags"] == "beyond_walking_curve"
    assert out.loc[2, "loading_flags"] == "clipped;no_session"


def test_no_body_mass_gives_nan_columns() -> None:
    out = add_loading(_impacts([0.5], [None]))
    assert np.isnan(out["grf_n"]).all() and np.isnan(out["lr_nps"]).all() and np.isnan(out["grf_bw"]).all()
    assert not out["outside_calibration"].any()


def test_empty_impacts() -> None:
    out = add_loading(_impacts([], []), body_mass_kg=70)
    assert len(out) == 0 and {"grf_n", "lr_nps", "grf_bw", "model"} <= set(out.columns)
    days, _ = loading_indices(out, tz="Europe/London")
    assert len(days) == 0


# -- indices per session and day -------------------------------------------------------------------
def test_indices_per_session_and_day() -> None:
    imp = _impacts([0.2] * 4 + [2.0] * 2 + [0.5], [1, 1, 1, 1, 2, 2, None])
    out = add_loading(imp, sessions=_sessions(["walk", "jumps"]), body_mass_kg=70)
    days, sess = loading_indices(out, tz="Europe/London", sessions=_sessions(["walk", "jumps"]))
    assert sess is not None
    bw = out["grf_bw"].to_numpy()
    assert days["load_basis"].tolist() == ["grf_bw"]
    assert days["dss"].iloc[0] == pytest.approx(daily_stress_stimulus(bw))
    oi_walk = bw[:4].max() * np.log(5)
    oi_jump = bw[4:6].max() * np.log(3)
    oi_loose = bw[6] * np.log(2)
    assert sess["oi"].tolist() == pytest.approx([oi_walk, oi_jump])
    assert days["oi"].iloc[0] == pytest.approx(oi_walk + oi_jump + oi_loose)
    assert days["peak_grf_bw_max"].iloc[0] == pytest.approx(bw.max())
    assert sess["peak_grf_bw"].tolist() == pytest.approx([bw[:4].max(), bw[4:6].max()])


def test_indices_use_the_acceleration_proxy_without_body_mass() -> None:
    out = add_loading(_impacts([0.2, 2.0], [None, None]))
    days, _ = loading_indices(out, tz="Europe/London")
    assert days["load_basis"].tolist() == ["acc_g"]
    assert days["dss"].iloc[0] == pytest.approx(daily_stress_stimulus([1.2, 3.0]))
    assert days["oi"].iloc[0] == pytest.approx(3.0 * np.log(3))
    assert np.isnan(days["peak_grf_bw_max"].iloc[0])


def test_day_boundaries_follow_the_time_zone() -> None:
    t = pd.DatetimeIndex(["2026-03-02 23:30", "2026-03-03 00:30"]).tz_localize("Europe/Berlin")
    imp = pd.DataFrame({"time": t.tz_convert("UTC").as_unit("ns"), "peak_g": [1.0, 1.0],
                        "session_id": pd.array([None, None], dtype="Int64"), "clipped": [False, False]})
    days, _ = loading_indices(add_loading(imp), tz="Europe/Berlin")
    assert [d.strftime("%Y-%m-%d") for d in days["date"]] == ["2026-03-02", "2026-03-03"]


# -- pipeline and command line ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def day_rec() -> object:
    return simulate_recording(duration_s=1200, fs=100, walks=[Walk(60, 600, 110, 0.8)],
                              jumps=[(800 + 3 * i, 2.5) for i in range(5)], seed=5)


def test_analyze_with_body_mass(day_rec: object) -> None:
    res = analyze(day_rec, body_mass_kg=70)  # type: ignore[arg-type]
    imp = res.impacts
    assert {"peak_rate_gps", "grf_n", "grf_bw", "lr_nps", "model", "outside_calibration", "loading_flags"} <= set(imp.columns)
    assert np.isfinite(imp["grf_n"]).all()
    assert {"dss", "oi", "peak_grf_bw_max", "load_basis"} <= set(res.daily.columns)
    assert res.daily["load_basis"].tolist() == ["grf_bw"]
    assert res.daily["peak_grf_bw_max"].iloc[0] == pytest.approx(imp["grf_bw"].max())
    assert res.daily["dss"].iloc[0] == pytest.approx(daily_stress_stimulus(imp["grf_bw"]))
    js = res.to_json_dict()
    day = js["days"][0]
    assert day["dss"] == pytest.approx(res.daily["dss"].iloc[0], abs=1e-6)
    assert day["oi"] == pytest.approx(res.daily["oi"].iloc[0], abs=1e-6)
    assert day["peak_grf_bw_max"] == pytest.approx(res.daily["peak_grf_bw_max"].iloc[0], abs=1e-6)
    assert js["loading"]["basis"] == "grf_bw" and js["loading"]["body_mass_kg"] == 70


def test_analyze_without_body_mass_uses_proxy(day_rec: object) -> None:
    res = analyze(day_rec)  # type: ignore[arg-type]
    assert res.daily["load_basis"].tolist() == ["acc_g"]
    js = res.to_json_dict()
    assert js["days"][0]["peak_grf_bw_max"] is None
    assert js["loading"]["basis"] == "acc_g"


def test_analyze_refuses_unknown_options(day_rec: object) -> None:
    with pytest.raises(TypeError, match="body_mas"):
        analyze(day_rec, body_mas_kg=70)  # type: ignore[arg-type, call-arg]


def test_cli_body_mass_json_and_table(tmp_path: object, capsys: pytest.CaptureFixture[str], day_rec: object) -> None:
    from impactlab.io import write_parquet

    path = f"{tmp_path}/day.parquet"
    write_parquet(day_rec, path)  # type: ignore[arg-type]
    assert main(["-q", "analyze", path, "--body-mass", "70", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["days"][0]["peak_grf_bw_max"] > 1.0
    assert out["loading"]["body_mass_kg"] == 70.0
    assert main(["-q", "analyze", path, "--body-mass", "70", "--vector", "resultant", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["loading"]["vector"] == "resultant"
    assert main(["-q", "analyze", path, "--body-mass", "70"]) == 0
    text = capsys.readouterr().out
    assert "DSS" in text and "OI" in text and "GRF in body weights" in text
    with pytest.raises(SystemExit) as exc:  # an implausible mass is refused as the flags are read (usage error)
        main(["-q", "analyze", path, "--body-mass", "-3"])
    assert exc.value.code == 2
    assert "argument --body-mass: '-3' is not a plausible mass: --body-mass takes 10-300 kg" in capsys.readouterr().err


def test_model_follows_each_impacts_activity() -> None:
    """The activity column chooses the model, not the session's span: a jumps session's push-off is not a landing."""
    imp = _impacts([2.0, 0.3, 0.3, 0.6, 1.6], [1, 1, None, 2, 3]).assign(
        activity=pd.Categorical(["jump", "other", "other", "walk", "run"], categories=["walk", "run", "jump", "other"]))
    out = add_loading(imp, sessions=_sessions(["jumps", "walk", "run"]), body_mass_kg=70)
    assert out["model"].tolist() == ["jumping", "walking/running", "walking/running", "walking", "walking/running"]
    assert out.loc[1, "grf_n"] == pytest.approx(float(predict_grf(1.3, 70, model="walking/running")))
    assert out.loc[4, "grf_n"] == pytest.approx(float(predict_grf(2.6, 70, model="walking/running")))


def test_extrapolated_predictions_are_left_out_of_dss_and_oi(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    """Hard walking steps past the walking equation's turning point (2.47 g at 70 kg) are flagged and, by
    default, left out of DSS and OI; --include-extrapolated keeps them; the JSON gives both and OI two ways."""
    from impactlab.io import write_parquet

    rec = simulate_recording(duration_s=600, fs=100, walks=[Walk(20, 200, 110, 0.7), Walk(300, 400, 110, 1.8)], seed=31)
    p = write_parquet(rec, tmp_path / "w.parquet")
    out = {}
    for extra in ([], ["--include-extrapolated"]):
        assert main(["analyze", str(p), "--body-mass", "70", "--format", "json", *extra]) == 0
        out[bool(extra)] = json.loads(capsys.readouterr().out)
    left, kept = out[False], out[True]
    n_out = left["loading"]["outside_calibration"]
    assert n_out == pytest.approx(100 * 110 / 60, abs=2)  # every step of the hard walk
    assert left["loading"]["include_extrapolated"] is False and kept["loading"]["include_extrapolated"] is True
    d_left, d_kept = left["days"][0], kept["days"][0]
    assert d_left["dss"] < d_kept["dss"] and d_left["oi"] < d_kept["oi"]
    v = left["loading"]["days"][0]
    assert v["n_extrapolated"] == n_out
    assert (v["dss"], v["oi"]) == pytest.approx((d_left["dss"], d_left["oi"]), rel=1e-6)
    assert (v["dss_with_extrapolated"], v["oi_with_extrapolated"]) == pytest.approx((d_kept["dss"], d_kept["oi"]), rel=1e-6)
    # OI summed over the day's two sessions versus the whole day as one bout
    ses = kept["sessions"]
    assert len(ses) == 2
    assert v["oi_with_extrapolated"] == pytest.approx(sum(s["oi"] for s in ses), rel=1e-6)
    peak = max(s["peak_grf_bw"] for s in ses)
    assert v["oi_day_with_extrapolated"] == pytest.approx(peak * np.log(sum(s["n_impacts"] for s in ses) + 1), rel=1e-6)
