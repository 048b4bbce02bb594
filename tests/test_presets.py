"""Method presets (deere2012, oulu, veras2020) and the comparison with the R package impactr.

The real-data tests reproduce impactr 0.4.1's own output on its example file (``hip-raw.csv``,
reference outputs made by running impactr) and, on a recording impactr's answer was not given for
(adeptdata's hip run), compare with a plain re-statement of impactr's pipeline: R ``signal::filtfilt``
(zero-padded, zero initial state, transfer-function form) and ``pracma::findpeaks`` (strict peaks
only, greedy removal of lower peaks closer than ``minpeakdistance``). The re-statement is first
checked against impactr's own output, so it can stand in for impactr on other files.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from impactlab.cli.main import build_parser
from scipy import signal as sps

from impactlab import PRESETS, Recording, RecordingMeta, analyze, detect_impacts, get_preset, read_recording
from impactlab.config import DetectionConfig
from impactlab.impacts import _rise_starts, classify_impacts
from impactlab.loading import predict_grf, predict_lr
from impactlab.simulate import Walk, simulate_recording

MODELS = {"walking_running": "walking/running", "walking": "walking", "jumping": "jumping"}
EDGE_S = 0.3  # peaks this close to a recording's ends may differ in height (filter edge handling)


# -- the presets -----------------------------------------------------------------------------------
def test_presets_registered_and_frozen() -> None:
    assert {"hannam2017", "deere2012", "oulu", "veras2020"} <= set(PRESETS)
    for name in ("deere2012", "oulu", "veras2020"):
        cfg = get_preset(name)
        assert cfg.name == name
        assert "unverified" in cfg.conventions or "Known differences" in cfg.conventions
        with pytest.raises(dataclasses.FrozenInstanceError):
            cfg.min_height_g = 1.0  # type: ignore[misc]


def test_preset_sources_are_cited() -> None:
    import impactlab.presets as mod

    src = Path(mod.__file__).read_text()
    for cite in ("Deere K", "J Bone Miner Res", "Vainionpää", "Jämsä", "Veras L", "impactr"):
        assert cite in src


def test_veras2020_settings() -> None:
    cfg = get_preset("veras2020")
    assert cfg.target_rate_hz is None and cfg.lowpass_hz == 20.0 and cfg.filter_order == 4
    assert cfg.min_height_g == pytest.approx(0.3)  # 1.3 g gravity included
    assert cfg.distance_samples(100.0) == 40
    assert cfg.vector == "vertical"


def test_deere_and_oulu_bands() -> None:
    deere = get_preset("deere2012")
    bands = classify_impacts(np.array([0.5, 1.1, 2.09, 2.1, 4.19, 4.2, 5.1, 9.0]), deere)
    assert list(bands) == ["0.5-1.1g", "1.1-2.1g", "1.1-2.1g", "2.1-3.1g", "3.1-4.2g", "4.2-5.1g", ">5.1g", ">5.1g"]
    assert dict(deere.grouped_bands or ()) == {"low": 0.5, "medium": 2.1, "high": 4.2}
    oulu = get_preset("oulu")
    assert list(classify_impacts(np.array([0.3, 3.89, 3.9, 5.4]), oulu)) == ["0.3-1.0g", "2.5-3.8g", "3.9-5.3g", ">=5.4g"]
    assert dict(oulu.grouped_bands or ())["high"] == 3.9


def test_cli_offers_presets_and_vector() -> None:
    p = build_parser()
    for name in ("deere2012", "oulu", "veras2020"):
        args = p.parse_args(["analyze", "f.csv", "--preset", name, "--vector", "resultant", "--body-mass", "70"])
        assert args.preset == name and args.vector == "resultant" and args.body_mass == 70.0


def test_total_counts_every_peak_whatever_its_band() -> None:
    # veras2020 finds peaks from 0.3 g above gravity: below Hannam's low band but in the total
    rec = simulate_recording(duration_s=300, walks=[Walk(20, 280, 100, 0.4)], jumps=[(290.0, 2.0)], seed=8)
    res = analyze(rec, config=get_preset("veras2020"))
    tot = res.band_totals()
    assert tot["low"] == tot["medium"] == 0 and tot["high"] == 1
    assert tot["total"] == len(res.impacts) > 100
    assert res.to_json_dict()["impacts"]["total"] == tot["total"]
    assert (res.impacts["band"] == "below_low").sum() == tot["total"] - 1


@pytest.mark.parametrize("name", ["deere2012", "oulu"])
def test_deere_oulu_report_their_method(name: str) -> None:
    rec = simulate_recording(duration_s=120, jumps=[(30.0, 4.5), (60.0, 1.5)], seed=1)
    res = analyze(rec, config=get_preset(name))
    js = res.to_json_dict()
    assert js["method"]["preset"] == name and "unverified" in js["method"]["conventions"]
    assert js["impacts"]["high"] == 1
    assert js["impacts"]["total"] == len(res.impacts) >= 2


# -- an impactr re-statement (R signal::filtfilt + pracma::findpeaks) -------------------------------
def r_filtfilt(x: np.ndarray, fs: float) -> np.ndarray:
    """R signal::filtfilt(butter(4, 20 / (fs / 2)), x): 2·max(len(a), len(b)) zeros appended, zero state."""
    b, a = sps.butter(4, 20.0 / (fs / 2.0))
    pad = 2 * max(len(a), len(b))
    y = sps.lfilter(b, a, np.r_[x, np.zeros(pad)])
    return sps.lfilter(b, a, y[::-1])[::-1][: x.size]


def pracma_findpeaks(x: np.ndarray, minpeakheight: float, minpeakdistance: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(peak index, height, begin index), 0-based, sorted by position, as pracma::findpeaks."""
    s = np.sign(np.diff(x))
    p = np.flatnonzero((s[:-1] > 0) & (s[1:] < 0)) + 1  # a '+' run followed by a '-' run
    up = np.r_[False, s > 0]
    begin = np.array([int(np.flatnonzero(~up[: q + 1])[-1]) for q in p], dtype=np.int64)
    keep = x[p] >= minpeakheight
    p, begin = p[keep], begin[keep]
    order = np.argsort(-x[p], kind="stable")
    p, begin = p[order], begin[order]
    bad = np.zeros(p.size, bool)
    for i in range(p.size):
        if not bad[i]:
            d = np.abs(p[i] - p)
            bad |= (d > 0) & (d < minpeakdistance)
    p, begin = p[~bad], begin[~bad]
    o = np.argsort(p)
    return p[o], x[p[o]], begin[o]


def impactr_peaks(xyz: np.ndarray, fs: float, vector: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """impactr 0.4.1 defaults: filter_acc() per axis, use_resultant(), find_peaks(1.3, 0.4); also the signal."""
    f = np.column_stack([r_filtfilt(xyz[:, k], fs) for k in range(3)])
    sig = -f[:, 1] if vector == "vertical" else np.sqrt((f**2).sum(axis=1))
    p, h, b = pracma_findpeaks(sig, 1.3, fs * 0.4)
    return p, h, b, sig


def impactr_rate(sig: np.ndarray, p: np.ndarray, b: np.ndarray, fs: float) -> np.ndarray:
    """impactr's compute_peak_acc_rate, written out loop by loop (1-based R indices on 0-based C++)."""
    out = np.full(p.size, np.nan)
    acc: list[float] = []
    for i, (pk, st) in enumerate(zip(p + 1, b + 1, strict=True)):  # R indices
        if pk - st <= 1:
            continue
        acc = [0.0] * len(acc)  # std::fill(..., 0): the vector keeps its zeros
        for j in range(st + 1, pk):
            acc.append((sig[j + 1] - sig[j - 1]) / (2.0 / fs))
        out[i] = max(acc)
    return out


# -- real data -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def hip_raw() -> Recording:
    from tests.conftest import SHARED

    path = SHARED / "impactr" / "hip-raw.csv"
    if not path.exists():
        pytest.skip("../shared/data/impactr is not present")
    return read_recording(path, tz="UTC")


def _reference(shared: Path, vector: str) -> pd.DataFrame:
    return pd.read_csv(shared / "impactr" / "reference-outputs" / f"hip-raw_impactr_{vector}_peaks_hip_78kg.csv")


@pytest.mark.real_data
@pytest.mark.parametrize(("vector", "n_ref"), [("vertical", 245), ("resultant", 295)])
def test_veras2020_reproduces_impactr_peaks(shared_data: Path, hip_raw: Recording, vector: str, n_ref: int) -> None:
    ref = _reference(shared_data, vector)
    assert len(ref) == n_ref
    imp = detect_impacts(hip_raw, config=get_preset("veras2020").replace(vector=vector))
    # the same peaks: same sample indices
    np.testing.assert_array_equal(imp["sample"].to_numpy(), ref["sample_index_0based"].to_numpy())
    # heights to 1e-6 g
    h = imp["peak_g"].to_numpy() + 1.0
    h_ref = ref[f"{vector}_peak_acc_g"].to_numpy()
    np.testing.assert_allclose(h, h_ref, atol=1e-6, rtol=0)
    # GRF and loading rate for 78 kg agree to 0.1 % for each model
    rate = imp["peak_rate_gps"].to_numpy()
    for col, model in MODELS.items():
        grf = predict_grf(h, 78.0, model=model, placement="hip", vector=vector)  # type: ignore[arg-type]
        lr = predict_lr(rate, 78.0, model=model, placement="hip", vector=vector)  # type: ignore[arg-type]
        np.testing.assert_allclose(grf, ref[f"grf_N_{col}"].to_numpy(), rtol=1e-3)
        np.testing.assert_allclose(lr, ref[f"lr_Nps_{col}"].to_numpy(), rtol=1e-3)


@pytest.mark.real_data
@pytest.mark.parametrize("vector", ["vertical", "resultant"])
def test_impactr_restatement_matches_impactr(shared_data: Path, hip_raw: Recording, vector: str) -> None:
    ref = _reference(shared_data, vector)
    xyz = hip_raw.data[["x", "y", "z"]].to_numpy(np.float64)
    p, h, b, sig = impactr_peaks(xyz, 100.0, vector)
    np.testing.assert_array_equal(p, ref["sample_index_0based"].to_numpy())
    np.testing.assert_array_equal(b, ref["curve_start_index_0based"].to_numpy())
    np.testing.assert_allclose(h, ref[f"{vector}_peak_acc_g"].to_numpy(), atol=1e-6, rtol=0)
    # our curve start (the detector's) is pracma's begin index
    np.testing.assert_array_equal(_rise_starts(sig, p), b)
    rate = impactr_rate(sig, p, b, 100.0)
    lr = predict_lr(rate, 78.0, model="jumping", vector=vector)  # type: ignore[arg-type]
    np.testing.assert_allclose(lr, ref["lr_Nps_jumping"].to_numpy(), rtol=1e-6)


@pytest.mark.real_data
@pytest.mark.parametrize("vector", ["vertical", "resultant"])
def test_veras2020_counts_agree_on_another_hip_recording(shared_data: Path, vector: str) -> None:
    df = pd.read_csv(shared_data / "adeptdata" / "acc_running_left_hip.csv.gz")
    t = pd.Timestamp("2018-10-25 17:57:30", tz="UTC") + pd.to_timedelta(df["time_s"].to_numpy(), unit="s")
    meta = RecordingMeta(source="acc_running_left_hip", device="actigraph", sample_rate_hz=100.0,
                         timezone="UTC", vertical_axis="-y", range_g=16.0)
    rec = Recording.from_arrays(t, df["x"].to_numpy(), df["y"].to_numpy(), df["z"].to_numpy(), meta)
    imp = detect_impacts(rec, config=get_preset("veras2020").replace(vector=vector))
    xyz = rec.data[["x", "y", "z"]].to_numpy(np.float64)
    p, h, b, sig = impactr_peaks(xyz, 100.0, vector)
    assert len(imp) == len(p) > 1000
    np.testing.assert_array_equal(imp["sample"].to_numpy(), p)
    np.testing.assert_allclose(imp["peak_g"].to_numpy() + 1.0, h, atol=1e-6, rtol=0)
    rate = impactr_rate(sig, p, b, 100.0)
    # impactr floors at 0 only from its second peak on; impactlab floors every rate (documented)
    rate[0] = max(rate[0], 0.0) if np.isfinite(rate[0]) else rate[0]
    np.testing.assert_allclose(imp["peak_rate_gps"].to_numpy(), rate, rtol=1e-6, atol=1e-4)


@pytest.mark.real_data
def test_scipy_edges_differ_only_near_the_ends(shared_data: Path, hip_raw: Recording) -> None:
    # the documented difference: with scipy's odd padding the same peaks are found, and only
    # those within EDGE_S of the recording's ends change height (here the resultant peak 8 samples
    # before the end, by 6.5 mg)
    ref = _reference(shared_data, "resultant")
    cfg = get_preset("veras2020").replace(vector="resultant", filter_edges="odd")
    imp = detect_impacts(hip_raw, config=cfg)
    np.testing.assert_array_equal(imp["sample"].to_numpy(), ref["sample_index_0based"].to_numpy())
    d = np.abs(imp["peak_g"].to_numpy() + 1.0 - ref["resultant_peak_acc_g"].to_numpy())
    s = ref["sample_index_0based"].to_numpy()
    near = (s < EDGE_S * 100) | (s >= len(hip_raw.data) - EDGE_S * 100)
    assert d[~near].max() < 1e-6
    assert 1e-3 < d[near].max() < 1e-2


@pytest.mark.real_data
def test_cli_veras2020_on_hip_raw(shared_data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from impactlab.cli.main import main

    path = str(shared_data / "impactr" / "hip-raw.csv")
    assert main(["-q", "analyze", path, "--tz", "UTC", "--preset", "veras2020", "--body-mass", "78", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["impacts"]["total"] == 245
    assert out["method"]["preset"] == "veras2020"
    ref = _reference(shared_data, "vertical")
    # each impact's GRF and LR equal impactr's for the model chosen from its session kind
    res = analyze(read_recording(path, tz="UTC"), config=get_preset("veras2020"), body_mass_kg=78.0)
    imp = res.impacts
    np.testing.assert_array_equal(imp["sample"].to_numpy(), ref["sample_index_0based"].to_numpy())
    cols = {v: k for k, v in MODELS.items()}
    want_grf = np.array([ref[f"grf_N_{cols[m]}"].iloc[i] for i, m in enumerate(imp["model"])])
    want_lr = np.array([ref[f"lr_Nps_{cols[m]}"].iloc[i] for i, m in enumerate(imp["model"])])
    np.testing.assert_allclose(imp["grf_n"].to_numpy(), want_grf, rtol=1e-3)
    np.testing.assert_allclose(imp["lr_nps"].to_numpy(), want_lr, rtol=1e-3)
    assert out["days"][0]["peak_grf_bw_max"] == pytest.approx(want_grf.max() / (78 * 9.80665), rel=1e-3)
    assert main(["-q", "analyze", path, "--tz", "UTC", "--preset", "veras2020", "--vector", "resultant",
                 "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["impacts"]["total"] == 295


def test_flat_topped_peak_is_a_known_difference() -> None:
    # scipy's find_peaks keeps a flat top (its middle sample); pracma's pattern needs a strict maximum
    x = np.array([1.0, 1.2, 1.5, 1.5, 1.2, 1.0, 1.2, 1.6, 1.2, 1.0])
    idx, _ = sps.find_peaks(x, height=1.3)
    p, _, _ = pracma_findpeaks(x, 1.3, 1)
    assert idx.tolist() == [2, 7] and p.tolist() == [7]


def test_preset_config_is_a_detection_config() -> None:
    for name in ("deere2012", "oulu", "veras2020"):
        assert isinstance(PRESETS[name], DetectionConfig)


def test_zero_edges_blockwise_equal_r_filtfilt_whole() -> None:
    # blocks of 20 s: the first block has a true start, the last a true end, the others neither
    rec = simulate_recording(duration_s=130, fs=100, walks=[Walk(0, 130, 130, 0.9, 0.3)], seed=13)
    cfg = get_preset("veras2020").replace(block_s=20.0)
    imp = detect_impacts(rec, config=cfg)
    xyz = rec.data[["x", "y", "z"]].to_numpy(np.float64)
    xyz[:, 1] *= -1.0  # simulate_recording's vertical is +y; impactr's is -Y
    p, h, _, _ = impactr_peaks(xyz, 100.0, "vertical")
    np.testing.assert_array_equal(imp["sample"].to_numpy(), p)
    np.testing.assert_allclose(imp["peak_g"].to_numpy() + 1.0, h, atol=1e-6, rtol=0)


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"set_gap_s": 900.0}, "sessions.set_gap_s"),
        ({"flight_min_s": 0.7}, "sessions.flight_min_s"),
        ({"bout_max_break_s": 90.0}, "sessions.bout_max_break_s"),
        ({"walk_window_s": 7.0}, "sessions.walk_window_s"),
        ({"step_band_hz": (2.6, 1.2)}, "sessions.step_band_hz"),
    ],
)
def test_inconsistent_session_settings_name_the_key(changes: dict[str, object], key: str) -> None:
    # a preset whose session settings contradict each other is refused before any data is read
    from impactlab.config import SessionConfig
    from impactlab.errors import ConfigError
    from impactlab.impacts import detect_impacts
    from impactlab.sessions import find_sessions
    from impactlab.simulate import simulate_recording

    rec = simulate_recording(duration_s=30, fs=50, seed=0)
    with pytest.raises(ConfigError) as err:
        find_sessions(rec, detect_impacts(rec), session_config=SessionConfig(**changes))  # type: ignore[arg-type]
    assert err.value.key == key
    assert str(err.value).startswith(key + ": ")
