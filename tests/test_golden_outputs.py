"""Every user-facing output on ``sample_data/`` pinned byte for byte (after removing volatile values).

The goldens were written from the code before the architecture change (issue "The library stands
alone") and prove that moving code changed no output: the analyze JSON and ``-o`` files (with a plan,
markers and body mass), a real ActiGraph export under two presets, the client store's rows after an
import, the weekly report JSON, ``history`` JSON, and batch's per-recording and collated tables.

Regenerate only for an intended change of output: ``python -m pytest tests/test_golden_outputs.py
--update-golden``, then review ``git diff tests/golden/outputs``.
"""

from __future__ import annotations

import hashlib
import io
import json
import sqlite3
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from impactlab.cli.main import main

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = Path(__file__).parent / "golden" / "outputs"
VOLATILE_COLUMNS = {"imported_at", "committed_at", "created_at", "first_seen", "received_at", "applied_at"}
VOLATILE_KEYS = {"elapsed_s", "started", "finished", "seconds", "wall_s", "host", "worker", "pid", "generated",
                 "generated_at", "started_at", "finished_at", "duration_wall_s"}
#: files above this size are pinned by hash, row count and first lines (the full text would bloat git)
INLINE_BYTES = 60_000
MARKERS = "start,end,label\n2026-03-02T16:58:00+00:00,2026-03-02T17:32:00+00:00,vest\n"


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    code = main(argv)
    out = capsys.readouterr().out
    assert code == 0, f"impactlab {' '.join(argv)} exited {code}"
    return out


def _scrub(obj: Any, tmp: str) -> Any:
    if isinstance(obj, dict):
        return {k: _scrub(v, tmp) for k, v in obj.items() if k not in VOLATILE_KEYS}
    if isinstance(obj, list):
        return [_scrub(v, tmp) for v in obj]
    if isinstance(obj, str):
        return obj.replace(tmp, "<TMP>").replace(str(ROOT), "<ROOT>")
    return obj


def _file_view(path: Path, tmp: str) -> Any:
    if path.suffix == ".json":
        return _scrub(json.loads(path.read_text()), tmp)
    if path.suffix == ".parquet":
        df = pd.read_parquet(path)
        buf = io.StringIO()
        df.to_csv(buf, index=False)
        text = buf.getvalue()
    else:
        text = path.read_text()
    text = text.replace(tmp, "<TMP>").replace(str(ROOT), "<ROOT>")
    if len(text) <= INLINE_BYTES:
        return text
    lines = text.splitlines()
    return {"sha256": hashlib.sha256(text.encode()).hexdigest(), "lines": len(lines), "head": lines[:6]}


def _dir_view(folder: Path, tmp: str) -> dict[str, Any]:
    return {str(p.relative_to(folder)): _file_view(p, tmp) for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name not in ("manifest.json",) and not p.name.startswith(".")}


def _store_view(path: Path) -> dict[str, Any]:
    db = sqlite3.connect(path)
    out: dict[str, Any] = {}
    for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name"):
        cur = db.execute(f"SELECT * FROM {name}")
        cols = [d[0] for d in cur.description]
        keep = [i for i, c in enumerate(cols) if c not in VOLATILE_COLUMNS]
        rows = sorted(repr(tuple(r[i] for i in keep)) for r in cur.fetchall())
        text = "\n".join(rows)
        out[name] = {"columns": [cols[i] for i in keep], "rows": rows} if len(text) <= INLINE_BYTES else {
            "columns": [cols[i] for i in keep], "n": len(rows), "sha256": hashlib.sha256(text.encode()).hexdigest()}
    db.close()
    return out


def _check(name: str, got: Any, request: pytest.FixtureRequest) -> None:
    path = GOLDEN / f"{name}.json"
    text = json.dumps(got, indent=1, sort_keys=True, default=str) + "\n"
    if request.config.getoption("--update-golden"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert path.exists(), f"{path} is missing: run pytest --update-golden and review it"
    stored = path.read_text()
    assert json.loads(text) == json.loads(stored)
    # equal values can still differ in JSON type (350 vs 350.0): a reader in R or JS sees that
    assert text == stored, f"{path.name}: same values, different JSON text (a number changed between int and float?)"


@pytest.fixture
def in_root(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("TZ", "UTC")
    return tmp_path


def test_analyze_sample_day_with_plan_markers_and_body_mass(in_root: Path, capsys: pytest.CaptureFixture[str],
                                                             request: pytest.FixtureRequest) -> None:
    tmp = str(in_root)
    markers = in_root / "vest.csv"
    markers.write_text(MARKERS)
    base = ["analyze", "sample_data/sim-day.parquet", "--plan", "sample_data/plan.toml"]
    plain = json.loads(_run(["analyze", "sample_data/sim-day.parquet", "--format", "json"], capsys))
    with_plan = json.loads(_run([*base, "--format", "json"], capsys))
    _run([*base, "--markers", str(markers), "--body-mass", "70", "-o", str(in_root / "out")], capsys)
    table = _run([*base, "--markers", str(markers), "--body-mass", "70"], capsys)
    got = {"plain": _scrub(plain, tmp), "plan": _scrub(with_plan, tmp), "files": _dir_view(in_root / "out", tmp),
           "table": table.replace(tmp, "<TMP>")}
    _check("analyze-sim-day", got, request)


def test_analyze_actigraph_export_two_presets(in_root: Path, capsys: pytest.CaptureFixture[str],
                                              request: pytest.FixtureRequest) -> None:
    tmp = str(in_root)
    f = "sample_data/actigraph-hip-5min.csv"
    hannam = json.loads(_run(["analyze", f, "--tz", "Europe/Lisbon", "--format", "json"], capsys))
    _run(["analyze", f, "--tz", "Europe/Lisbon", "--preset", "veras2020", "--body-mass", "70",
          "-o", str(in_root / "veras")], capsys)
    _run(["analyze", f, "--tz", "Europe/Lisbon", "--calibrate", "-o", str(in_root / "cal")], capsys)
    got = {"hannam2017": _scrub(hannam, tmp), "veras2020": _dir_view(in_root / "veras", tmp),
           "calibrate": _dir_view(in_root / "cal", tmp)}
    _check("analyze-actigraph", got, request)


def test_store_import_report_history(in_root: Path, capsys: pytest.CaptureFixture[str],
                                     request: pytest.FixtureRequest) -> None:
    tmp = str(in_root)
    store = str(in_root / "s.sqlite")
    _run(["import", "sample_data/sim-day.parquet", "--client", "c1", "--client-name", "Ann", "--plan", "sample_data/plan.toml",
          "--body-mass", "64", "--store", store], capsys)
    _run(["import", "sample_data/actigraph-hip-5min.csv", "--tz", "Europe/London", "--client", "c1",
          "--device", "gt3x-1", "--store", store], capsys)
    report = json.loads(_run(["report", "--client", "c1", "--week", "2026-W10", "--store", store, "--format", "json"],
                             capsys))
    history = json.loads(_run(["history", "--client", "c1", "--store", store, "--format", "json"], capsys))
    got = {"report": _scrub(report, tmp), "history": _scrub(history, tmp), "store": _store_view(Path(store))}
    _check("store-sim-day", got, request)


def test_batch_tables(in_root: Path, capsys: pytest.CaptureFixture[str], request: pytest.FixtureRequest) -> None:
    tmp = str(in_root)
    out = in_root / "batch"
    _run(["batch", "sample_data/sim-day.parquet", "sample_data/actigraph-hip-5min.csv", "--tz", "Europe/London",
          "--plan", "sample_data/plan.toml", "--scheduler", "sync", "--table-format", "csv", "-o", str(out), "-q"], capsys)
    _check("batch", _dir_view(out, tmp), request)
