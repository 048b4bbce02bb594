"""Hypothesis fuzzing of every reader: mutated real files and random bytes; only ImpactlabError escapes."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from impactlab.errors import ImpactlabError
from impactlab.io import read_recording

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "data"

# (file, suffix, bytes kept): real files written by the devices' own software, cut to keep examples fast
SEEDS = [
    (ROOT / "sample_data" / "actigraph-hip-5min.csv", ".csv", 40_000),
    (SHARED / "skdh" / "ax3_sample.cwa", ".cwa", 64 * 512),
    (SHARED / "pygt3x" / "ISM_Disabled.gt3x", ".gt3x", None),
    (SHARED / "GGIR" / "actigraph_testfile.gt3x", ".gt3x", None),
]


def _read(path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            read_recording(path, tz="UTC")
        except ImpactlabError as err:  # one short line: no multi-kB garbage echoed from the bytes
            text = str(err)
            assert "\n" not in text and len(text) < 600, text[:2000]


@pytest.mark.parametrize("seed", SEEDS, ids=[s[0].name for s in SEEDS])
@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_real_files(tmp_path: Path, seed: tuple[Path, str, int | None], data: st.DataObject) -> None:
    src, suffix, keep = seed
    if not src.exists():
        pytest.skip(f"{src} is not present (../shared/data)")
    raw = bytearray(src.read_bytes()[:keep] if keep else src.read_bytes())
    n = data.draw(st.integers(1, 8))
    for _ in range(n):
        pos = data.draw(st.integers(0, len(raw) - 1))
        raw[pos] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans()):
        raw = raw[: data.draw(st.integers(0, len(raw)))]
    f = tmp_path / f"m{suffix}"
    f.write_bytes(bytes(raw))
    _read(f)


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".cwa", ".gt3x", ".bin", ".csv.gz", ""])
@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(head=st.sampled_from([b"", b"PAR1", b"PK\x03\x04", b"MD\xfc\x03", b"Device Identity\r\n", b"\x1f\x8b",
                             b"time,x,y,z\n", b"\x1e"]), body=st.binary(max_size=4000))
def test_random_bytes(tmp_path: Path, suffix: str, head: bytes, body: bytes) -> None:
    f = tmp_path / f"r{suffix}"
    f.write_bytes(head + body)
    _read(f)
