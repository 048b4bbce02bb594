"""Generate the bad-input corpus (issue 14): recordings, plans and markers that a user could hand impactlab.

Run as a script to write the files and print the cases::

    python tests/bad_inputs/make_corpus.py /tmp/corpus

Each :class:`Case` says how to run it through the CLI (``argv``, with ``{f}`` for the bad file) and
what must happen: exit 1 with one error line naming the file (and the line, where there is one), or
exit 0 for an odd-but-valid input (with a warning naming the file when ``warn`` is set). Binary
cases are cut from the real device files in ``../shared/data`` when present, else skipped.
"""

from __future__ import annotations

import gzip
import io
import os
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

if __package__ in (None, ""):  # run as a script
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.bad_inputs.zipcraft import deflate_with_zeros, write_zip

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "data"
GT3X = SHARED / "pygt3x" / "ISM_Enabled.gt3x"
CWA = SHARED / "skdh" / "ax3_sample.cwa"
GENEACTIV = SHARED / "GGIRread" / "GENEActiv_testfile.bin"


@dataclass
class Case:
    """One bad (or odd) input and what the CLI must do with it.

    Attributes
    ----------
    name : str
        Test id.
    file : Path
        The user's file the message must name.
    argv : list of str
        CLI arguments; ``{f}`` is replaced by ``file``, ``{ok}`` by a small valid recording.
    code : int
        Expected exit code (1 refused, 2 a set-up error such as a bad ``--subjects`` file, 0 read).
    line : int or None
        The line the message must name.
    warn : str or None
        For exit 0: a text the warnings on stderr must contain (they must name the file too).
    needs : Path or None
        A real file the case is cut from (skipped when absent).
    """

    name: str
    file: Path
    argv: list[str]
    code: int = 1
    line: int | None = None
    warn: str | None = None
    needs: Path | None = None
    extra: dict[str, str] = field(default_factory=dict)


def _times(n: int, fs: float = 50.0, start: str = "2026-03-02 08:00") -> pd.DatetimeIndex:
    return pd.date_range(start, periods=n, freq=pd.Timedelta(seconds=1 / fs), tz="UTC")


def _csv_text(n: int = 1500, fs: float = 50.0, *, xyz: np.ndarray | None = None, iso: bool = True) -> str:
    t = _times(n, fs)
    if xyz is None:
        xyz = np.random.default_rng(1).normal(0, 0.02, (n, 3)) + np.array([0.0, -1.0, 0.0])
    times = (t.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00") if iso else
             ((t - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(milliseconds=1)).astype(str))
    body = "\n".join(f"{a},{x:.4f},{y:.4f},{z:.4f}" for a, (x, y, z) in zip(times, xyz, strict=True))
    return "time,x,y,z\n" + body + "\n"


def _frame(n: int = 1500) -> pd.DataFrame:
    xyz = np.random.default_rng(2).normal(0, 0.02, (n, 3)) + np.array([0.0, -1.0, 0.0])
    return pd.DataFrame({"time": _times(n), "x": xyz[:, 0], "y": xyz[:, 1], "z": xyz[:, 2]})


def _parquet_bytes(df: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    return buf.getvalue()


ACTILIFE_HEAD = ("------------ Data File Created By ActiGraph GT3X+ ActiLife v6.13.3 Firmware v2.5.0 date format M/d/yyyy "
                 "at {rate} Hz  Filter Normal -----------\nSerial Number: MOS2E22180349\nStart Time 08:00:00\n"
                 "Start Date {date}\nEpoch Period (hh:mm:ss) 00:00:00\nDownload Time 09:00:00\nDownload Date 3/2/2026\n"
                 "Current Memory Address: 0\nCurrent Battery Voltage: 4.21     Mode = 12\n"
                 "--------------------------------------------------\n")


def _actilife(rate: str, date: str, rows: int = 200) -> str:
    noise = np.random.default_rng(5).normal(0, 0.02, (rows, 3)) + np.array([0.0, -1.0, 0.0])
    data = "\n".join(f"{x:.3f},{y:.3f},{z:.3f}" for x, y, z in noise)
    return ACTILIFE_HEAD.format(rate=rate, date=date) + "Accelerometer X,Accelerometer Y,Accelerometer Z\n" + data + "\n"


def build(root: Path) -> list[Case]:
    """Write every corpus file under ``root`` and return the cases."""
    root.mkdir(parents=True, exist_ok=True)
    cases: list[Case] = []

    def text(name: str, body: str | bytes, argv: list[str] | None = None, **kw: object) -> None:
        f = root / name
        f.write_bytes(body.encode() if isinstance(body, str) else body)
        cases.append(Case(name, f, argv or ["analyze", "{f}", "--tz", "UTC", "-q"], **kw))  # type: ignore[arg-type]

    def cut(name: str, src: Path, make: Callable[[bytes], bytes], **kw: object) -> None:
        f = root / name
        if src.exists():
            f.write_bytes(make(src.read_bytes()))
        cases.append(Case(name, f, ["analyze", "{f}", "--tz", "UTC", "-q"], needs=src, **kw))  # type: ignore[arg-type]

    ok = root / "ok.csv"
    ok.write_text(_csv_text())
    good = _csv_text()
    lines = good.splitlines(keepends=True)

    # -- plain CSV --------------------------------------------------------------------------------------
    text("empty.csv", b"")
    text("header-only.csv", "time,x,y,z\n")
    text("prose.csv", "Dear therapist,\nplease find my week attached.\n")
    text("no-time-column.csv", "a,b,c\n1,2,3\n4,5,6\n")
    text("bad-time.csv", "".join(lines[:40]) + "yesterday,0,1,0\n" + "".join(lines[40:]), line=41)
    text("nan-value.csv", "".join(lines[:30]) + lines[30].rsplit(",", 1)[0] + ",nan\n" + "".join(lines[31:]), line=31)
    text("word-value.csv", "".join(lines[:30]) + lines[30].rsplit(",", 1)[0] + ",high\n" + "".join(lines[31:]), line=31)
    text("short-row.csv", "".join(lines[:60]) + lines[60].rsplit(",", 2)[0] + "\n" + "".join(lines[61:]), line=61)
    text("time-goes-back.csv", "".join(lines[:500]) + lines[100] + "".join(lines[500:]))
    text("duplicate-times.csv", "".join(lines[:500]) + lines[499] + "".join(lines[500:]))
    text("constant.csv", _csv_text(xyz=np.tile([0.0, -1.0, 0.0], (1500, 1))))
    text("metres-per-second.csv", _csv_text(xyz=np.random.default_rng(3).normal(0, 0.2, (1500, 3)) + np.array([0, -9.81, 0])))
    text("one-hertz.csv", _csv_text(600, 1.0))
    text("all-nan.csv", "time,x,y,z\n" + "".join(f"{ln.split(',')[0]},nan,nan,nan\n" for ln in lines[1:]))
    text("long-line.csv", "time,x,y,z\n" + "1" * (2 << 20) + "\n")
    text("latin1-bytes.csv", "".join(lines[:20]).encode() + b"2026-03-02T08:00:00.400000+00:00,0,1,\xe90\n"
         + "".join(lines[21:]).encode())
    text("binary.csv", os.urandom(4096))
    text("zip-named-csv.csv", GT3X.read_bytes()[:4096] if GT3X.exists() else b"PK\x03\x04" + bytes(4000))
    text("year-3000.csv", "time,x,y,z\n" + "".join(f"{32_503_680_000_000 + 20 * i},0,-1,0.01\n" for i in range(300)))
    dst = pd.date_range("2026-03-29 00:59:50", periods=1000, freq="20ms")
    text("dst-gap.csv", pd.DataFrame({"time": dst.strftime("%Y-%m-%dT%H:%M:%S.%f"), "x": 0.0, "y": -1.0,
                                      "z": np.random.default_rng(4).normal(0, 0.02, 1000)}).to_csv(index=False),
         argv=["analyze", "{f}", "--tz", "Europe/London", "-q"], line=502)
    # odd but valid
    text("bom.csv", b"\xef\xbb\xbf" + good.encode(), code=0)
    text("epoch-ms.csv", _csv_text(iso=False), code=0)
    text("crlf.csv", good.replace("\n", "\r\n"), code=0)
    # -- ActiLife CSV -------------------------------------------------------------------------------
    text("actilife-0hz.csv", _actilife("0", "3/2/2026"))
    text("actilife-year17.csv", _actilife("30", "3/2/0017"))
    text("actilife-header-only.csv", ACTILIFE_HEAD.format(rate="30", date="3/2/2026"))
    # -- gzip -----------------------------------------------------------------------------------------
    text("garbage.csv.gz", b"\x1f\x8b" + os.urandom(2000))
    text("truncated.csv.gz", gzip.compress(good.encode())[:400])
    text("empty.csv.gz", gzip.compress(b""))
    text("zeros.csv.gz", gzip.compress(bytes(64 << 20), 1))  # one 64 MB line of NULs
    text("parquet-garbage.parquet.gz", gzip.compress(b"PAR1" + os.urandom(3000)))
    text("good.csv.gz", gzip.compress(good.encode()), code=0)
    # -- Parquet --------------------------------------------------------------------------------------
    pq = _parquet_bytes(_frame())
    text("random.parquet", os.urandom(3000))
    text("truncated.parquet", pq[: len(pq) // 2])
    text("corrupt-page.parquet", pq[:200] + bytes(b ^ 0x5A for b in pq[200:1200]) + pq[1200:])
    text("no-xyz.parquet", _parquet_bytes(_frame()[["time", "x"]]))
    text("string-times.parquet", _parquet_bytes(_frame().assign(time=lambda d: d["time"].astype(str) + "x")))
    text("decreasing.parquet", _parquet_bytes(_frame().iloc[::-1]))
    naive = _frame()
    naive["time"] = naive["time"].dt.tz_localize(None).astype("datetime64[us]")
    text("naive-us.parquet", _parquet_bytes(naive), code=0)
    # -- .gt3x ----------------------------------------------------------------------------------------
    text("empty.gt3x", b"")
    text("not-zip.gt3x", b"this is a text file\n" * 20)
    z = io.BytesIO()
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("log.bin", b"\x1e" + bytes(100))
    text("no-info.gt3x", z.getvalue())
    z = io.BytesIO()
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("info.txt", "Serial Number: MOS2TEST\nSample Rate: 0\n")
        zf.writestr("log.bin", b"\x1e" + bytes(100))
    text("zero-rate.gt3x", z.getvalue())
    if GT3X.exists():
        src = zipfile.ZipFile(GT3X)
        info, log = src.read("info.txt"), src.read("log.bin")
        data, usize = deflate_with_zeros(log, 1024)
        write_zip(root / "bomb.gt3x", [("info.txt", info, 0, len(info)), ("log.bin", data, 8, usize)])
    cases.append(Case("bomb.gt3x", root / "bomb.gt3x", ["analyze", "{f}", "-q"], needs=GT3X))
    cut("cut-short.gt3x", GT3X, lambda b: b[:300])
    cut("zeros-log.gt3x", GT3X, lambda b: _replace_member(b, "log.bin", bytes(20_000)))
    # -- .cwa -----------------------------------------------------------------------------------------
    text("empty.cwa", b"")
    text("random.cwa", os.urandom(8192))
    cut("header-only.cwa", CWA, lambda b: b[:1024])
    cut("half-block.cwa", CWA, lambda b: b[:1024 + 300])
    # -- GENEActiv .bin -------------------------------------------------------------------------------
    text("empty.bin", b"")
    text("text.bin", "Device Identity\nDevice Unique Serial Code:012345\n" * 3)
    cut("header-only.bin", GENEACTIV, lambda b: b[: b.find(b"Recorded Data")])
    cut("bad-frequency.bin", GENEACTIV, lambda b: b.replace(b"Measurement Frequency:", b"Measurement Frequency:x", 1)
        .replace(b"Measurement Frequency:x100", b"Measurement Frequency:fast", 1))
    # -- files that are not files ----------------------------------------------------------------------
    cases.append(Case("missing.csv", root / "missing.csv", ["analyze", "{f}", "-q"]))
    (root / "folder.csv").mkdir(exist_ok=True)
    cases.append(Case("folder.csv", root / "folder.csv", ["analyze", "{f}", "-q"]))
    if hasattr(os, "mkfifo") and not (root / "fifo.csv").exists():
        os.mkfifo(root / "fifo.csv")
    if hasattr(os, "mkfifo"):
        cases.append(Case("fifo.csv", root / "fifo.csv", ["analyze", "{f}", "-q"]))

    # -- plans ----------------------------------------------------------------------------------------
    def plan(name: str, body: str | bytes, line: int | None, *, with_analyze: bool = False) -> None:
        f = root / name
        f.write_bytes(body.encode() if isinstance(body, str) else body)
        argv = ["analyze", "{ok}", "--plan", "{f}", "-q"] if with_analyze else ["plan", "check", "{f}"]
        cases.append(Case(name, f, argv, line=line))

    jumps = "schema = 1\n[targets.jumps]\nper_day = {}\n"
    plan("plan-2e64.toml", jumps.format("99999999999999999999999"), 3)
    plan("plan-2e64-analyze.toml", jumps.format("99999999999999999999999"), 3, with_analyze=True)
    plan("plan-1e308.toml", jumps.format("1e308"), 3)
    plan("plan-nan.toml", jumps.format("nan"), 3)
    plan("plan-zero.toml", jumps.format("0"), 3)
    plan("plan-negative.toml", jumps.format("-5"), 3)
    plan("plan-string.toml", jumps.format('"fifty"'), 3)
    plan("plan-2000min.toml", "schema = 1\n[targets.brisk_walk]\nminutes_per_day = 2000\n", 3)
    plan("plan-week.toml", "schema = 1\n[targets.vest_walk]\nminutes_per_week = 20000\n", 3)
    plan("plan-sets.toml", "schema = 1\n[targets.jumps]\nper_day = 5\nmin_sets = 9\n", 4)
    plan("plan-latin1.toml", b'schema = 1\nname = "caf\xe9"\n' + jumps.format(5).encode()[11:], 2)
    plan("plan-binary.toml", b"\x00\x01\x02" + os.urandom(500), None)
    plan("plan-syntax.toml", "schema = 1\n[targets.jumps\nper_day = 5\n", 2)
    plan("plan-duplicate.toml", jumps.format(5) + "per_day = 6\n", 4)
    plan("plan-rlo-name.toml", 'schema = 1\nname = "x\u202eevil"\n' + jumps.format(5)[11:], 2)
    plan("plan-unknown-target.toml", "schema = 1\n[targets.jumpz]\nper_day = 5\n", 2)
    plan("plan-schema.toml", "schema = 7\n[targets.jumps]\nper_day = 5\n", 1)
    plan("plan-empty.toml", "", None)
    vest = "schema = 1\nstart = 2026-03-02\n[targets.vest_walk]\nminutes_per_week = 90\nvest_mass_kg = {}\n"
    plan("plan-vest-60kg.toml", vest.format(60), 5)  # past --vest-mass's 0-50 kg
    plan("plan-vest-nan.toml", vest.format("nan"), 5)
    plan("plan-vest-phase.toml", vest.format(3) + "[[phases]]\nweek = 3\n[phases.targets.vest_walk]\nvest_mass_kg = -2\n", 9)

    # -- batch subjects -------------------------------------------------------------------------------
    def subjects(name: str, mass: str) -> None:
        """A subjects CSV with a body mass outside --body-mass's range on line 3: a set-up error (exit 2)
        before anything is written (``batch-out`` must not appear in the working folder)."""
        f = root / name
        f.write_text(f"recording_id,subject_id,body_mass_kg\nok,S1,70\nother,S2,{mass}\n")
        cases.append(Case(name, f, ["batch", "{ok}", "-o", "batch-out", "--scheduler", "sync", "--subjects", "{f}"],
                          code=2, line=3))

    subjects("subjects-mass-700.csv", "700")
    subjects("subjects-mass-inf.csv", "inf")

    # -- markers --------------------------------------------------------------------------------------
    def markers(name: str, body: str | bytes, line: int | None) -> None:
        f = root / name
        f.write_bytes(body.encode() if isinstance(body, str) else body)
        cases.append(Case(name, f, ["analyze", "{ok}", "--markers", "{f}", "-q"], line=line))

    h = "start,end,label\n"
    markers("markers-header.csv", "# log\n\nbegin,finish,what\n", 3)
    markers("markers-reversed.csv", h + "2026-03-02T08:20:00Z,2026-03-02T08:10:00Z,vest\n", 2)
    markers("markers-overlap.csv", h + "2026-03-02T08:00Z,2026-03-02T08:20Z,vest\n2026-03-02T08:10Z,2026-03-02T08:30Z,vest\n", 3)
    markers("markers-bad-time.csv", h + "tomorrow,2026-03-02T08:10:00Z,vest\n", 2)
    markers("markers-latin1.csv", h.encode() + b"2026-03-02T08:00Z,2026-03-02T08:10Z,v\xe9st\n", 2)
    markers("markers-short-row.csv", h + "2026-03-02T08:00Z,vest\n", 2)
    markers("markers-huge-field.csv", h + "2026-03-02T08:00Z,2026-03-02T08:10Z," + "x" * 200_000 + "\n", 2)
    markers("markers-year1.csv", h + "0001-03-02T08:00,0001-03-02T08:10,vest\n", 2)
    cases.append(Case("markers-missing.csv", root / "markers-missing.csv", ["analyze", "{ok}", "--markers", "{f}", "-q"]))
    mk = root / "mark-aware.csv"
    mk.write_text(h + "2026-03-02T08:00:00+00:00,2026-03-02T08:10:00+00:00,vest\n")
    cases.append(Case("mark-naive-into-aware", mk, ["mark", "walk", "--start", "2026-03-02T09:00", "--end",
                                                    "2026-03-02T09:30", "--file", "{f}"]))
    cases.append(Case("mark-overlap", mk, ["mark", "vest", "--start", "2026-03-02T08:05Z", "--end", "2026-03-02T08:30Z",
                                           "--file", "{f}"], line=2))
    cases.append(Case("mark-reversed", mk, ["mark", "vest", "--start", "2026-03-02T10:05Z", "--end", "2026-03-02T10:00Z",
                                            "--file", "{f}"]))
    cases.append(Case("mark-no-folder", root / "nowhere" / "m.csv",
                      ["mark", "vest", "--start", "2026-03-02T10:00Z", "--end", "2026-03-02T10:05Z", "--file", "{f}"]))
    # -- outputs --------------------------------------------------------------------------------------
    (root / "out-is-a-file").write_text("not a folder\n")
    cases.append(Case("output-onto-file", root / "out-is-a-file", ["analyze", "{ok}", "-o", "{f}", "-q"]))
    for c in cases:
        c.extra["ok"] = str(ok)
    return cases


def _replace_member(archive: bytes, name: str, data: bytes) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(archive))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for i in src.infolist():
            zf.writestr(i.filename, data if i.filename == name else src.read(i.filename))
    return out.getvalue()


def argv_of(case: Case) -> list[str]:
    """The case's CLI arguments with the files filled in."""
    return [a.replace("{f}", str(case.file)).replace("{ok}", case.extra["ok"]) for a in case.argv]


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "bad-input-corpus")
    for c in build(out):
        print(f"{c.name:32} exit {c.code}  impactlab {' '.join(argv_of(c))}")
