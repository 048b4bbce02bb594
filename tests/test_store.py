"""The client store: idempotent imports, crash safety, migrations, the BLE sync journal, the CLI."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from impactlab.cli.main import main

from impactlab.config import DetectionConfig, WearConfig
from impactlab.errors import StoreError
from impactlab.io import open_recording, write_parquet
from impactlab.recording import Recording
from impactlab.simulate import Walk, simulate_recording
from impactlab.store import MIGRATIONS, SCHEMA_VERSION, Store, default_store_path, file_sha256, load_plan_file

VOLATILE = {"imported_at", "committed_at", "created_at", "first_seen", "received_at", "applied_at"}


def _rec(seed: int = 0, start: str = "2026-03-02 09:00", duration_s: float = 2400.0) -> Recording:
    return simulate_recording(
        duration_s=duration_s, fs=50, start=start, seed=seed,
        jumps=[(120.0, 2.2), (125.0, 1.8), (400.0, 1.2)], walks=[Walk(600.0, 1500.0, 112.0, 0.8)],
        heel_drops=[(1700.0, 1.1)],
    )


def dump(path: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every table's rows (volatile timestamp columns dropped), sorted."""
    db = sqlite3.connect(path)
    out = {}
    for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name"):
        cur = db.execute(f"SELECT * FROM {name}")
        cols = [d[0] for d in cur.description]
        keep = [i for i, c in enumerate(cols) if c not in VOLATILE]
        out[name] = sorted((tuple(r[i] for i in keep) for r in cur.fetchall()), key=repr)
    db.close()
    return out


def raw_files(store: Path) -> list[str]:
    return sorted(p.name for p in (store.parent / "raw").iterdir())


def test_import_twice_equals_once(tmp_path: Path) -> None:
    rec = _rec()
    with Store(tmp_path / "s.sqlite") as st:
        first = st.import_recording("c01", rec)
        counts = st.counts()
        again = st.import_recording("c01", rec)
        assert again.already_imported and again.recording_id == first.recording_id
        assert st.counts() == counts
    assert not first.already_imported
    assert first.n_impacts_added == counts["impacts"] > 900  # 3 jumps, ~840 steps, 1 heel drop
    assert counts["recordings"] == 1 and counts["daily_loads"] == 1
    assert raw_files(tmp_path / "s.sqlite") == [f"{first.content_hash}.parquet"]


def test_import_same_samples_from_another_format_is_the_same_recording(tmp_path: Path) -> None:
    rec = _rec()
    write_parquet(rec, tmp_path / "a.parquet")
    with Store(tmp_path / "s.sqlite") as st:
        st.import_recording("c01", rec)
        counts = st.counts()
        res = st.import_recording("c01", open_recording(tmp_path / "a.parquet"))
        assert res.already_imported
        assert st.counts() == counts


def test_overlapping_imports_count_once(tmp_path: Path) -> None:
    whole = _rec(duration_s=3600.0)
    d = whole.data
    a = Recording(d.iloc[: 50 * 2100], whole.meta)  # 0-35 min
    b = Recording(d.iloc[50 * 1200:], whole.meta)  # 20-60 min: 15 min of overlap
    with Store(tmp_path / "one.sqlite") as st:
        st.import_recording("c01", whole)
        ref = st.daily("c01")
        ref_n = st.counts()["impacts"]
    with Store(tmp_path / "two.sqlite") as st:
        st.import_recording("c01", a)
        st.import_recording("c01", b)
        got = st.daily("c01")
        assert st.counts()["impacts"] == ref_n
        st.import_recording("c01", b)  # and once more: nothing changes
        assert st.counts()["impacts"] == ref_n
    for col in ("n_low", "n_medium", "n_high"):
        assert got[col].tolist() == ref[col].tolist()
    assert got["wear_h"].tolist() == pytest.approx(ref["wear_h"].tolist(), abs=0.01)


def test_cli_import_twice_and_convert(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rec = _rec()
    f = tmp_path / "rec.parquet"
    write_parquet(rec, f)
    store = tmp_path / "s.sqlite"
    assert main(["import", str(f), "--client", "c01", "--client-name", "Ann", "--store", str(store), "--format", "json"]) == 0
    out1 = json.loads(capsys.readouterr().out)
    before = dump(store)
    assert main(["import", str(f), "--client", "c01", "--store", str(store), "--format", "json"]) == 0
    out2 = json.loads(capsys.readouterr().out)
    assert not out1["already_imported"] and out2["already_imported"]
    assert out2["added"] == {"impacts": 0, "sessions": 0, "wear_blocks": 0}
    assert dump(store) == before
    assert main(["clients", "--store", str(store), "--format", "json"]) == 0
    cl = json.loads(capsys.readouterr().out)["clients"]
    assert [(c["id"], c["name"], c["recordings"]) for c in cl] == [("c01", "Ann", 1)]
    assert main(["history", "--client", "c01", "--store", str(store), "--format", "json"]) == 0
    weeks = json.loads(capsys.readouterr().out)["weeks"]
    assert [w["week"] for w in weeks] == ["2026-W10"] and weeks[0]["days_recorded"] == 1
    # without --client: convert to Parquet
    out = tmp_path / "conv.parquet"
    assert main(["import", str(f), "--save-parquet", str(out)]) == 0
    back = open_recording(out).read()
    assert len(back) == len(rec)
    assert main(["import", str(f), "--store", str(store)]) == 1  # neither --client nor -o
    assert "--client" in capsys.readouterr().err


_KILL_SCRIPT = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    import impactlab.store
    from impactlab.store import Store
    from impactlab.io import open_recording

    store, rec, flag = sys.argv[1:4]
    orig = impactlab.store.add_sessions

    def stall(*a, **k):
        n = orig(*a, **k)
        Path(flag).write_text("inside the transaction")
        time.sleep(120)
        return n

    impactlab.store.add_sessions = stall
    with Store(store) as st:
        st.import_recording("c01", open_recording(rec))
""")


def test_kill_during_import_then_rerun_equals_clean_import(tmp_path: Path) -> None:
    rec = _rec()
    f = tmp_path / "rec.parquet"
    write_parquet(rec, f)
    script = tmp_path / "kill_me.py"
    script.write_text(_KILL_SCRIPT)
    store = tmp_path / "killed" / "s.sqlite"
    flag = tmp_path / "flag"
    proc = subprocess.Popen([sys.executable, str(script), str(store), str(f), str(flag)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not flag.exists():
            assert proc.poll() is None, "the import process ended before reaching the transaction"
            assert time.monotonic() < deadline, "the import did not reach the transaction in 60 s"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    # nothing of the interrupted import is visible
    with Store(store) as st:
        counts = st.counts()
        assert counts["recordings"] == 0 and counts["impacts"] == 0 and counts["daily_loads"] == 0
        res = st.import_recording("c01", open_recording(f))  # the next run completes it
        assert not res.already_imported
    clean = tmp_path / "clean" / "s.sqlite"
    with Store(clean) as st:
        st.import_recording("c01", open_recording(f))
    assert dump(store) == dump(clean)
    assert raw_files(store) == raw_files(clean)  # no temporary file left behind


def test_migration_from_first_version(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")
    for stmt in MIGRATIONS[0]:
        db.execute(stmt)
    db.execute("INSERT INTO schema_version VALUES (1, '2026-01-01')")
    db.execute("INSERT INTO clients (client_id, name, created_at) VALUES ('c07', 'Old Client', '2026-01-01')")
    db.commit()
    db.close()
    with Store(path) as st:
        assert st.schema_version == SCHEMA_VERSION > 1
        info = st.client("c07")
        assert info.name == "Old Client" and info.note is None
        st.add_client("c07", note="kept after migration")
        assert st.client("c07").note == "kept after migration"
        assert st.sync_commit_packets("c07", "dev1", [0, 1], [b"a", b"b"]) == 2
        st.import_recording("c07", _rec(duration_s=600.0))
        assert st.counts()["recordings"] == 1
    with Store(path) as st:  # opening again changes nothing
        assert st.schema_version == SCHEMA_VERSION
        versions = [r[0] for r in st.db.execute("SELECT version FROM schema_version ORDER BY version")]
        assert versions == list(range(1, SCHEMA_VERSION + 1))


def test_store_file_settings_and_permissions(tmp_path: Path) -> None:
    path = tmp_path / "new" / "s.sqlite"
    with Store(path) as st:
        assert st.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert st.db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_default_store_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("IMPACTLAB_STORE", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_store_path() == tmp_path / "impactlab" / "store.sqlite"
    monkeypatch.setenv("IMPACTLAB_STORE", str(tmp_path / "x.sqlite"))
    assert default_store_path() == tmp_path / "x.sqlite"


def test_store_errors(tmp_path: Path) -> None:
    other = tmp_path / "other.sqlite"
    db = sqlite3.connect(other)
    db.execute("CREATE TABLE t (a)")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="not an impactlab store"):
        Store(other)
    newer = tmp_path / "newer.sqlite"
    Store(newer).close()
    db = sqlite3.connect(newer)
    db.execute("INSERT INTO schema_version VALUES (?, 'x')", (SCHEMA_VERSION + 1,))
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="newer than this impactlab"):
        Store(newer)
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match=r"garbage\.sqlite"):
        Store(garbage)
    with Store(tmp_path / "s.sqlite") as st:
        with pytest.raises(StoreError, match="no client 'nobody'"):
            st.client("nobody")
        with pytest.raises(StoreError, match="short identifier"):
            st.add_client("a b/<c>")
        with pytest.raises(StoreError, match="body mass"):
            st.add_client("c01", body_mass_kg=-3)
        st.sync_commit_packets("c01", "dev1", [0], [b"x"])
        with pytest.raises(StoreError, match="belongs to client 'c01'"):
            st.sync_commit_packets("c02", "dev1", [1], [b"y"])


def test_sync_journal(tmp_path: Path) -> None:
    with Store(tmp_path / "s.sqlite") as st:
        assert st.sync_last_seq("c01", "dev1") == -1
        assert st.sync_gaps("c01", "dev1") == []
        assert st.sync_commit_packets("c01", "dev1", np.array([0, 1, 2, 5]), [b"p0", b"p1", b"p2", b"p5"]) == 4
        assert st.sync_commit_packets("c01", "dev1", [2, 5, 6], [b"dup", b"dup", b"p6"]) == 1  # duplicates ignored
        assert st.sync_last_seq("c01", "dev1") == 6
        assert st.sync_gaps("c01", "dev1") == [(3, 4)]
        assert st.sync_packets("c01", "dev1", since_seq=1) == [(2, b"p2"), (5, b"p5"), (6, b"p6")]
        assert st.sync_commit_packets("c01", "dev1", [3, 4], [b"p3", b"p4"]) == 2
        assert st.sync_gaps("c01", "dev1") == []
        with pytest.raises(StoreError, match="one sequence number per packet"):
            st.sync_commit_packets("c01", "dev1", [7, 8], [b"x"])
        last = st.db.execute("SELECT last_seq FROM syncs ORDER BY sync_id DESC LIMIT 1").fetchone()[0]
        assert last == 6


def test_ble_import_is_journalled(tmp_path: Path) -> None:
    with Store(tmp_path / "s.sqlite") as st:
        st.sync_commit_packets("c01", "AA:BB/session-1", [0, 1, 2], [b"a", b"b", b"c"])
        res = st.import_recording("c01", _rec(duration_s=600.0), device_id="AA:BB/session-1", origin="ble")
        row = st.db.execute("SELECT recording_id, content_hash, last_seq FROM syncs WHERE recording_id IS NOT NULL").fetchone()
        assert row == (res.recording_id, res.content_hash, 2)
        assert st.recordings("c01")[0]["origin"] == "ble"


def test_new_plan_rechecks_every_stored_week(tmp_path: Path) -> None:
    plan = tmp_path / "plan.toml"
    plan.write_text('schema = 1\nname = "p"\n[targets.high_impacts]\nper_day = 2\nmin_band = "high"\n')
    cfg = DetectionConfig(wear=WearConfig(valid_day_h=0.5))
    with Store(tmp_path / "s.sqlite") as st:
        st.import_recording("c01", _rec(seed=1, start="2026-02-23 09:00"), config=cfg)  # W09, no plan yet
        assert st.counts()["plan_checks"] == 0
        st.import_recording("c01", _rec(seed=2, start="2026-03-02 09:00"), config=cfg, plan=load_plan_file(plan))
        everything = st.plan_checks("c01")
        assert st.counts()["plan_checks"] == 2  # stored: the two recorded days; the week's other days are
        checks = everything[everything["detail"] != "no recording"]  # completed on reading, as no data
        assert [d.strftime("%Y-%m-%d") for d in checks["date"]] == ["2026-02-23", "2026-03-02"]
        assert checks["status"].tolist() == ["met", "met"]  # 2 high jumps each day (2.2 g, 1.8 g)
        assert len(everything) == 14 and set(everything["status"]) == {"met", "no data"}
        assert "per_day = 2" in (st.client("c01").plan_toml or "")


def test_migration_from_second_version_adds_loading_columns(tmp_path: Path) -> None:
    """Schema 2 → 3: daily_loads gains dss, oi, peak_grf_bw_max, load_basis; impacts their session key."""
    path = tmp_path / "v2.sqlite"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")
    for version in (0, 1):
        for stmt in MIGRATIONS[version]:
            db.execute(stmt)
        db.execute("INSERT INTO schema_version VALUES (?, '2026-01-01')", (version + 1,))
    db.execute("INSERT INTO clients (client_id, body_mass_kg, created_at) VALUES ('c08', 70.0, '2026-01-01')")
    db.execute("INSERT INTO daily_loads VALUES ('c08', '2026-02-02', 11.0, 1, 10, 2, 1, 0, 0, 0, 0, 0, 0)")
    db.commit()
    db.close()
    assert SCHEMA_VERSION == 8  # 4: plan_versions; 5: run_min; 6: device_assignments; 7: impacts.activity;
    # 8: daily_loads.comparable_to_hannam

    with Store(path) as st:
        assert st.schema_version == SCHEMA_VERSION
        cols = {r[1]: r[2] for r in st.db.execute("PRAGMA table_info(daily_loads)")}
        assert {cols[c] for c in ("dss", "oi", "peak_grf_bw_max")} == {"REAL"} and cols["load_basis"] == "TEXT"
        assert {"session_kind", "session_start_ns"} <= {r[1] for r in st.db.execute("PRAGMA table_info(impacts)")}
        old = st.daily("c08")  # a day built before: no indices (NULL), so no columns
        assert len(old) == 1 and "dss" not in old.columns
        assert old["run_min"].tolist() == [0.0]  # no running was detected in a day stored before the run kind
        res = st.import_recording("c08", _rec(duration_s=600.0))
        new = st.daily("c08", "2026-03-02", "2026-03-02")
        assert res.analysis is not None
        ref = res.analysis.daily
        assert new["load_basis"].tolist() == ref["load_basis"].tolist() == ["grf_bw"]
        for c in ("dss", "oi", "peak_grf_bw_max"):
            np.testing.assert_allclose(new[c].to_numpy(), ref[c].to_numpy(), rtol=1e-9)
        assert st.daily("c08", "2026-02-02", "2026-02-02")["wear_h"].tolist() == [11.0]


def test_store_keeps_each_impacts_activity_and_its_force_model(tmp_path: Path) -> None:
    """Impacts keep the activity analyze gave them: a heel drop inside a jump set is ``other`` (the
    walking/running equation), not a jump, so the stored day's indices equal analyze's; an impact
    stored before schema 7 (activity NULL) takes its session kind's activity."""
    rec = simulate_recording(duration_s=900, fs=50, start="2026-03-02 09:00", seed=17,
                             walks=[Walk(20, 200, 110, 0.7)], jumps=[(500 + 3 * i, 2.5) for i in range(10)],
                             heel_drops=[(512.5, 2.0)])
    with Store(tmp_path / "s.sqlite") as st:
        st.add_client("c09", body_mass_kg=70.0)
        res = st.import_recording("c09", rec)
        assert res.analysis is not None
        imp = res.analysis.impacts
        stored = dict(st.db.execute("SELECT time_ns, activity FROM impacts WHERE client_id = 'c09'").fetchall())
        t = imp["time"].dt.tz_convert("UTC").astype("datetime64[ns, UTC]").array.asi8
        assert [stored[int(x)] for x in t] == imp["activity"].astype(str).tolist()
        assert sorted(set(stored.values())) == ["jump", "other", "walk"]
        assert list(stored.values()).count("jump") == 10
        new = st.daily("c09", "2026-03-02", "2026-03-02")
        for c in ("dss", "oi", "peak_grf_bw_max"):
            np.testing.assert_allclose(new[c].to_numpy(), res.analysis.daily[c].to_numpy(), rtol=1e-9)
        # a store written before schema 7: every impact of the jumps session takes the jumping equation
        st.db.execute("UPDATE impacts SET activity = NULL WHERE client_id = 'c09'")
        from impactlab.store.rebuild import daily_from_facts
        lo, hi = int(t.min()) - 10**12, int(t.max()) + 10**12
        span = [(int(t.min()), int(t.max()))]
        old = daily_from_facts(st.db, "c09", span, lo, hi, "UTC", res.analysis.config)
        assert float(old["peak_grf_bw_max"].iloc[0]) == pytest.approx(float(new["peak_grf_bw_max"].iloc[0]), rel=1e-9)
        assert float(old["dss"].iloc[0]) != pytest.approx(float(new["dss"].iloc[0]), rel=1e-9)


def test_three_clients_import_their_own_plain_files_into_one_store(tmp_path: Path) -> None:
    """A Parquet file has no serial: it carries no device, so clients never collide on a pseudo-device."""
    store = tmp_path / "s.sqlite"
    for i, client in enumerate(["c1", "c2", "c3"]):
        f = tmp_path / f"{client}.parquet"
        write_parquet(_rec(seed=20 + i), f)
        assert main(["import", str(f), "--client", client, "--store", str(store), "-q"]) == 0
    with Store(store) as st:
        assert [c.client_id for c in st.clients()] == ["c1", "c2", "c3"]
        assert all(c.n_recordings == 1 for c in st.clients())
        assert st.counts()["devices"] == 0
        assert st.db.execute("SELECT count(*) FROM recordings WHERE device_id IS NULL").fetchone()[0] == 3
        assert st.plan_history("c1") == []


def test_refused_import_leaves_no_client_behind(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "s.sqlite"
    f = tmp_path / "a.parquet"
    write_parquet(_rec(seed=31), f)
    assert main(["import", str(f), "--client", "c1", "--device", "S1", "--store", str(store), "-q"]) == 0
    g = tmp_path / "b.parquet"
    write_parquet(_rec(seed=32, start="2026-03-03 09:00"), g)
    assert main(["import", str(g), "--client", "c2", "--device", "S1", "--store", str(store), "-q"]) == 1
    assert "belongs to client 'c1'" in capsys.readouterr().err
    with Store(store) as st:
        assert [c.client_id for c in st.clients()] == ["c1"]


def test_plan_set_from_wednesday_checks_monday_tuesday_against_the_old_plan(tmp_path: Path) -> None:
    store = tmp_path / "s.sqlite"
    old, new = tmp_path / "old.toml", tmp_path / "new.toml"
    old.write_text("schema = 1\nname = \"old\"\n[targets.jumps]\nper_day = 2\n")
    new.write_text("schema = 1\nname = \"new\"\n[targets.jumps]\nper_day = 50\n")
    cfg = DetectionConfig(wear=WearConfig(valid_day_h=0.5))
    with Store(store) as st:
        for k, day in enumerate(["2026-03-02", "2026-03-03", "2026-03-04", "2026-03-05"]):
            st.import_recording("c1", _rec(seed=40 + k, start=f"{day} 09:00"), config=cfg,
                                plan=load_plan_file(old) if k == 0 else None)
        before = st.plan_checks("c1")
        before = before[before["detail"] != "no recording"]
        assert list(before["status"]) == ["met"] * 4
    bad = tmp_path / "bad.toml"
    bad.write_text("schema = 1\n[targets.jumps]\nper_dya = 5\n")
    assert main(["plan", "set", str(bad), "--client", "c1", "--store", str(store)]) == 1
    assert main(["-q", "plan", "set", str(new), "--client", "c1", "--from", "2026-03-04", "--store", str(store)]) == 0
    with Store(store) as st:
        chk = st.plan_checks("c1")
        assert chk[chk["detail"] == "no recording"]["required"].tolist() == [50.0] * 3  # Fri-Sun: the new plan's
        chk = chk[chk["detail"] != "no recording"]
        assert [d.strftime("%a") for d in chk["date"]] == ["Mon", "Tue", "Wed", "Thu"]
        assert list(chk["required"]) == [2.0, 2.0, 50.0, 50.0]
        assert list(chk["status"]) == ["met", "met", "not met", "not met"]
        assert [v for v, _ in st.plan_history("c1")] == ["0000-01-01", "2026-03-04"]
        # future or pre-data dates are stored with a note
        assert "before the client's first data" in (st.set_plan("c1", load_plan_file(new), valid_from="2026-01-01") or "")


def test_device_assign_moves_a_sensor_and_empty_week_report_exits_1(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "s.sqlite"
    f, g = tmp_path / "a.parquet", tmp_path / "b.parquet"
    write_parquet(_rec(seed=51), f)
    write_parquet(_rec(seed=52, start="2026-03-03 09:00"), g)
    assert main(["import", str(f), "--client", "c1", "--device", "S9", "--store", str(store), "-q"]) == 0
    with Store(store) as st:
        st.add_client("c2")
    assert main(["device", "assign", "S9", "--client", "c2", "--store", str(store)]) == 0
    assert "S9: c1 -> c2" in capsys.readouterr().err
    assert main(["import", str(g), "--client", "c2", "--device", "S9", "--store", str(store), "-q"]) == 0
    with Store(store) as st:
        assert st.client("c1").n_recordings == 1 and st.client("c2").n_recordings == 1
    assert main(["device", "assign", "NOPE", "--client", "c2", "--store", str(store)]) == 1
    assert "no sensor 'NOPE'" in capsys.readouterr().err
    assert main(["device", "assign", "S9", "--client", "zz", "--store", str(store)]) == 1
    assert "no client 'zz'" in capsys.readouterr().err
    assert main(["report", "--client", "c1", "--week", "2026-W20", "--store", str(store), "--format", "json"]) == 1
    assert "no data in week 2026-W20" in capsys.readouterr().err
    assert main(["report", "--client", "c1", "--week", "2026-W20", "--store", str(store), "--format", "json",
                 "--allow-empty"]) == 0


def test_caseload_for_three_clients_renders_in_chromium(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from impactlab.report.browser import find_chromium, render_page

    store = tmp_path / "s.sqlite"
    plan = tmp_path / "plan.toml"
    plan.write_text("schema = 1\nname = \"p\"\n[targets.jumps]\nper_day = 2\n")
    for i, client in enumerate(["c1", "c2", "c3"]):
        f = tmp_path / f"{client}.parquet"
        write_parquet(_rec(seed=60 + i, start=f"2026-03-0{2 + i} 09:00"), f)
        extra = ["--plan", str(plan)] if client != "c3" else []
        assert main(["import", str(f), "--client", client, "--store", str(store), "-q", *extra]) == 0
    capsys.readouterr()
    assert main(["report", "--all", "--week", "2026-W10", "--store", str(store), "--format", "json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert [r["client"]["id"] for r in got["clients"]] == ["c1", "c2", "c3"]
    c3 = got["clients"][2]
    assert "no plan" in c3["flags"] and c3["adherence"]["rate"] is None
    # the store's adherence equals the weekly report's and history's for each client
    for r in got["clients"][:2]:
        assert main(["report", "--client", r["client"]["id"], "--week", "2026-W10", "--store", str(store),
                     "--format", "json"]) == 0
        rep = json.loads(capsys.readouterr().out)
        assert rep["adherence"]["rate"] == r["adherence"]["rate"]
        assert all(row["met"] is None for row in rep["plan_check"] if row["status"] not in ("met", "not met"))
        assert main(["history", "--client", r["client"]["id"], "--store", str(store), "--format", "json"]) == 0
        assert json.loads(capsys.readouterr().out)["weeks"][-1]["adherence"] == r["adherence"]["rate"]
    page = tmp_path / "caseload.html"
    assert main(["report", "--all", "--week", "2026-W10", "--store", str(store), "--html", str(page), "-q"]) == 0
    assert stat.S_IMODE(page.stat().st_mode) == 0o600 and (tmp_path / "c1-2026-W10.html").exists()
    if find_chromium() is None:
        return
    shot = tmp_path / "caseload.png"
    run = render_page(page, screenshot=shot, window=(1280, 800))
    assert run.console == [], run.console
    assert shot.read_bytes()[:4] == b"\x89PNG"
    dom = render_page(page).stdout
    assert dom.count('<tr><th scope="row">') == 3 and 'href="c2-2026-W10.html"' in dom
    empty = tmp_path / "empty.sqlite"
    with Store(empty):
        pass
    assert main(["report", "--all", "--week", "2026-W10", "--store", str(empty)]) == 1
    assert "no clients" in capsys.readouterr().err


def test_today_answer_counts_targets_and_says_what_is_missing(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    from impactlab.report.today import today_answer

    store = tmp_path / "s.sqlite"
    plan = tmp_path / "plan.toml"
    plan.write_text("schema = 1\n[targets.jumps]\nper_day = 50\n[targets.high_impacts]\nper_day = 1\n")
    with Store(store) as st:
        st.import_recording("c1", _rec(seed=70), config=DetectionConfig(wear=WearConfig(valid_day_h=0.5)),
                            plan=load_plan_file(plan))
        ans = today_answer(st, "c1")
    by = {r["target"]: r for r in ans.rows}
    assert by["jumps"]["status"] == "not met" and by["high_impacts"]["status"] == "met"
    missing = 50 - by["jumps"]["achieved"]
    assert ans.sentence() == f"1 of 2 targets met on Mon 02 Mar; {missing:.0f} more jumps reach 50."
    assert ans.week["rate"] == 0.5
    html = tmp_path / "today.html"
    capsys.readouterr()
    assert main(["today", "--client", "c1", "--store", str(store), "--html", str(html)]) == 0
    assert "1 of 2 targets met" in capsys.readouterr().out
    assert stat.S_IMODE(html.stat().st_mode) == 0o600 and "1 of 2 targets met" in html.read_text()


def test_cli_reimport_names_the_users_file_not_the_raw_copy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "visit 1" / "rec.parquet"
    f.parent.mkdir()
    write_parquet(_rec(), f)
    store = tmp_path / "s.sqlite"
    argv = ["import", str(f), "--client", "c01", "--client-name", "Ann", "--store", str(store), "-q"]
    assert main(argv) == 0
    capsys.readouterr()
    html = tmp_path / "again.html"
    assert main([*argv, "--html", str(html)]) == 0  # the exit code is unchanged: nothing to do is not an error
    out = " ".join(capsys.readouterr().out.split())  # rich may wrap the long path
    with Store(store) as st:
        (rec,) = st.recordings("c01")
    sha = rec["raw_path"].removesuffix(".parquet")
    assert f"{f} was already imported (" in out and "UTC); nothing was added and nothing needs doing" in out
    assert sha not in out and "raw/" not in out and "was imported before" not in out
    page = html.read_text()
    assert "rec.parquet" in page and sha not in page


def test_store_reimport_says_when_the_recording_was_imported(tmp_path: Path) -> None:
    rec = _rec()
    f = tmp_path / "rec.parquet"
    write_parquet(rec, f)
    digest = file_sha256(f)
    with Store(tmp_path / "s.sqlite") as st:
        first = st.import_recording("c01", open_recording(f), file_sha256=digest)
        stored = st.recordings("c01")[0]["imported_at"]
        by_file = st.import_recording("c01", open_recording(f), file_sha256=digest)
        by_samples = st.import_recording("c01", rec)
    assert first.imported_at is None
    assert by_file.already_imported and by_file.imported_at == stored and by_file.analysis is None
    assert by_samples.already_imported and by_samples.imported_at == stored


def test_caseload_flags_stale_data_by_how_it_arrived(tmp_path: Path) -> None:
    import datetime as dt

    from impactlab.report.caseload import caseload

    with Store(tmp_path / "s.sqlite") as st:
        st.import_recording("imp", _rec(seed=70, start="2026-03-03 09:00"))  # import only: last data Tue
        st.import_recording("ble", _rec(seed=71, start="2026-03-04 09:00"), device_id="AA:01", origin="ble")
        st.import_recording("both", _rec(seed=72, start="2026-03-02 09:00"), device_id="AA:02", origin="ble")
        st.import_recording("both", _rec(seed=73, start="2026-03-05 09:00"))  # the latest data: a file
        st.import_recording("both2", _rec(seed=74, start="2026-03-02 09:00"))
        st.import_recording("both2", _rec(seed=75, start="2026-03-06 09:00"), device_id="AA:03", origin="ble")
        imported = {c: st.recordings(c)[-1]["imported_at"] for c in ("imp", "both")}
        rows = {r.client_id: r.flags for r in caseload(st, "2026-W10", today=dt.date(2026, 3, 20))}

    def stale(cid: str) -> list[str]:
        return [f for f in rows[cid] if "day(s)" in f and "short wear" not in f]
    day = {c: f"{dt.datetime.fromisoformat(t):%a %d %b}" for c, t in imported.items()}
    assert stale("imp") == [f"no new data for 5 day(s) (last import {day['imp']})"]  # Tue 03 to Sun 08 Mar
    assert not any("sensor" in f or "synced" in f for f in rows["imp"])
    assert stale("ble") == ["sensor not synced for 4 day(s)"]
    assert stale("both") == [f"no new data for 3 day(s) (last import {day['both']})"]
    assert stale("both2") == ["sensor not synced for 2 day(s)"]


def test_caseload_today_reaches_the_plan_checks(tmp_path: Path) -> None:
    """``caseload(today=...)`` completes the plan checks up to that day, not up to the machine's date."""
    import datetime as dt

    from impactlab.report.caseload import caseload

    plan = tmp_path / "plan.toml"
    plan.write_text('schema = 1\nname = "p"\n[targets.high_impacts]\nper_day = 2\nmin_band = "high"\n')
    cfg = DetectionConfig(wear=WearConfig(valid_day_h=0.5))
    with Store(tmp_path / "s.sqlite") as st:
        st.import_recording("c01", _rec(seed=2, start="2026-03-02 09:00"), config=cfg, plan=load_plan_file(plan))
        by_day = {d: caseload(st, "2026-W10", today=dt.date(2026, 3, d))[0] for d in (2, 4, 20)}
        today = caseload(st, "2026-W10")[0]  # now (December 2026) in the client's zone: the week is over
    # Monday met; no data on the days after it, up to the given today (Wed 4 Mar: two; the week over: six)
    assert [(r.met, r.checked, r.no_data) for r in by_day.values()] == [(1, 1, 0), (1, 1, 2), (1, 1, 6)]
    assert (today.met, today.no_data) == (1, 6)
    assert [f.split(" (")[0] for f in by_day[4].flags if "day(s)" in f] == ["no new data for 2 day(s)"]  # Mon-Wed
    assert [f.split(" (")[0] for f in by_day[20].flags if "day(s)" in f] == ["no new data for 6 day(s)"]  # Mon-Sun
