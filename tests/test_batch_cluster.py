"""``impactlab batch`` on a real multi-process Dask cluster that fails (issue #17).

A ``dask scheduler`` and ``dask worker`` processes on 127.0.0.1, started here with bounded waits:
tables equal to a run in this process; a worker killed mid-batch and every recording still done;
a worker that cannot write the output folder refused before any work, by name; no worker -> a
clear wait then a set-up error; the scheduler killed mid-batch -> exit 3, manifest interrupted,
and a re-run completes only the missing recordings.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from impactlab.cli.main import main

from impactlab import batch
from impactlab.io import write_parquet
from impactlab.simulate import Walk, simulate_recording

N = 8
TABLES = ("Daily", "Sessions", "PlanCheck", "Summary")
DASK = [sys.executable, "-m", "distributed.cli.dask_scheduler"]
WORKER = [sys.executable, "-m", "distributed.cli.dask_worker"]


def _wait(cond, timeout: float, what: str) -> None:
    t0 = time.monotonic()
    while not cond():
        if time.monotonic() - t0 > timeout:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.1)


class Cluster:
    """A scheduler and workers as separate processes, each in its own process group."""

    def __init__(self, tmp: Path) -> None:
        self.file = tmp / f"scheduler-{os.urandom(4).hex()}.json"
        self.procs: list[subprocess.Popen[bytes]] = []
        self.scheduler = self._start([*DASK, "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                                      "--scheduler-file", str(self.file)])
        _wait(self.file.exists, 30, "the scheduler file")

    def _start(self, argv: list[str], prefix: list[str] | None = None) -> subprocess.Popen[bytes]:
        p = subprocess.Popen([*(prefix or []), *argv], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)
        self.procs.append(p)
        return p

    def worker(self, prefix: list[str] | None = None) -> subprocess.Popen[bytes]:
        return self._start([*WORKER, "--scheduler-file", str(self.file), "--nthreads", "1", "--no-dashboard",
                            "--death-timeout", "20"], prefix)

    def wait_workers(self, n: int) -> dict[str, int]:
        from distributed import Client

        with Client(scheduler_file=str(self.file), timeout="20s") as c:
            c.wait_for_workers(n, timeout=40)
            return dict(c.nthreads())

    def workers_now(self) -> dict[str, int]:
        from distributed import Client

        with Client(scheduler_file=str(self.file), timeout="20s") as c:
            return dict(c.nthreads())

    def kill(self, p: subprocess.Popen[bytes]) -> None:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
        p.wait(10)

    def close(self) -> None:
        for p in reversed(self.procs):
            self.kill(p)


def _recordings(d: Path) -> list[Path]:
    d.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(N):
        rec = simulate_recording(duration_s=8 * 3600, fs=25, walks=[Walk(600, 1200, 110, 0.75)],
                                 jumps=[(2000 + 3 * k, 1.6 + 0.1 * i) for k in range(10)], seed=10 + i)
        out.append(write_parquet(rec, d / f"p{i:02d}.parquet"))
    return out


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return _recordings(tmp_path_factory.mktemp("cohort"))


@pytest.fixture(scope="module")
def reference(files: list[Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ref") / "out"
    assert main(["-q", "batch", str(files[0].parent), "-o", str(out), "--scheduler", "sync"]) == 0
    return out


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    c = Cluster(tmp_path_factory.mktemp("dask"))
    try:
        c.worker()
        c.worker()
        c.wait_workers(2)
        yield c
    finally:
        c.close()


def _same(a: Path, b: Path) -> None:
    for name in TABLES:
        pd.testing.assert_frame_equal(pd.read_parquet(a / "collated" / f"{name}.parquet"),
                                      pd.read_parquet(b / "collated" / f"{name}.parquet"))
    files_a = {str(p.relative_to(a)): p.read_bytes() for p in sorted(a.glob("*/*.csv")) if p.parent.name != "collated"}
    files_b = {str(p.relative_to(b)): p.read_bytes() for p in sorted(b.glob("*/*.csv")) if p.parent.name != "collated"}
    assert files_a == files_b and len(files_a) == 3 * N


def test_cluster_tables_equal_local_and_worker_killed_mid_batch(files: list[Path], reference: Path, cluster: Cluster,
                                                                tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert main(["-q", "batch", str(files[0].parent), "-o", str(out), "--scheduler-file", str(cluster.file)]) == 0
    assert f"{N} recordings: {N} analysed, 0 up to date, 0 failed" in capsys.readouterr().out
    _same(out, reference)
    workers = {r["worker"] for r in json.loads((out / "manifest.json").read_text())["recordings"]}
    assert len(workers) == 2 and all(not w.endswith(f":{os.getpid()}") for w in workers)

    # kill one worker's process (the nanny restarts it) after the first recording comes back
    from distributed import Client

    out2 = tmp_path / "out2"
    killed: list[int] = []
    with Client(scheduler_file=str(cluster.file), timeout="20s") as client:
        pids = client.run(os.getpid)

        def kill_one(ev: batch.BatchProgress) -> None:
            if ev.record is not None and not killed:
                pid = next(pid for addr, pid in sorted(pids.items()) if not ev.record["worker"].endswith(f":{pid}"))
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)

        res = batch.run_batch([files[0].parent], out2, client=client, progress=kill_one, retries=2)
    assert killed and res.interrupted is None
    # the killed worker may have renamed its recording's folder into place just before it died: the
    # re-run then finds that folder complete and up to date (it never sees a half-written one)
    statuses = [r["status"] for r in res.records]
    assert set(statuses) <= {"done", "skipped"} and statuses.count("skipped") <= 1, res.errors
    _same(out2, reference)
    cluster.wait_workers(2)  # the nanny brought the killed worker back


def test_unwritable_worker_refused_then_scheduler_lost_exit_3_and_rerun(files: list[Path], reference: Path,
                                                                        tmp_path: Path,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    if shutil.which("unshare") is None or subprocess.run(["unshare", "-m", "true"], capture_output=True).returncode:
        pytest.skip("needs unshare -m (mount namespaces) to give one worker a read-only view of the output folder")
    out = tmp_path / "out"
    out.mkdir()
    c = Cluster(tmp_path)
    try:
        # no worker yet: a clear wait, then a set-up error
        t0 = time.monotonic()
        assert main(["batch", str(files[0].parent), "-o", str(out), "--scheduler-file", str(c.file),
                     "--worker-timeout", "1.5"]) == 2
        err = capsys.readouterr().err
        assert "waiting for workers (0 s)..." in err and "no Dask worker connected to the scheduler within 1.5 s" in err
        assert time.monotonic() - t0 < 15

        # a worker that sees the output folder read-only: refused before any work, naming it
        ro = c.worker(prefix=["unshare", "-m", "sh", "-c", f'mount --bind "{out}" "{out}" && '
                              f'mount -o remount,ro,bind "{out}" && exec "$0" "$@"'])
        addr = next(iter(c.wait_workers(1)))
        gone = {addr}
        assert main(["-q", "batch", str(files[0].parent), "-o", str(out), "--scheduler-file", str(c.file)]) == 2
        err = capsys.readouterr().err
        assert f"worker {addr} (host " in err and f"cannot write the output folder {out}: Read-only file system" in err
        assert [p.name for p in out.iterdir()] == []  # nothing was analysed, no probe file left
        c.kill(ro)

        # a worker that does not see the inputs (an empty filesystem over their folder): refused, by name
        inputs = files[0].parent
        blind = c.worker(prefix=["unshare", "-m", "sh", "-c", f'mount -t tmpfs none "{inputs}" && exec "$0" "$@"'])
        _wait(lambda: c.workers_now() and not set(c.workers_now()) & gone, 30, "only the new worker")
        gone |= set(c.workers_now())
        assert main(["-q", "batch", str(inputs), "-o", str(out), "--scheduler-file", str(c.file)]) == 2
        err = capsys.readouterr().err
        assert f"cannot see {N} of the {N} input files that this computer sees, e.g. {files[0]}" in err
        assert "worker tcp://127.0.0.1:" in err and [p.name for p in out.iterdir()] == []
        c.kill(blind)

        # a normal worker; the scheduler killed once a few recordings are done -> exit 3
        c.worker()
        _wait(lambda: c.workers_now() and not set(c.workers_now()) & gone, 30, "only the new worker")
        cmd = [sys.executable, "-m", "impactlab", "-q", "batch", str(files[0].parent), "-o", str(out),
               "--scheduler-file", str(c.file)]
        run = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        _wait(lambda: sum(1 for p in out.glob("p*") if p.is_dir()) >= 2 or run.poll() is not None, 60, "two folders")
        c.kill(c.scheduler)
        stdout, stderr = run.communicate(timeout=40)
        assert run.returncode == 3, (stdout, stderr)
        assert "interrupted: the Dask scheduler was lost" in stderr and "Traceback" not in stderr
        manifest = json.loads((out / "manifest.json").read_text())
        assert manifest["interrupted"] is True and "scheduler was lost" in manifest["interrupted_reason"]
        assert all(r["status"] == "done" for r in manifest["recordings"]), manifest["recordings"]  # nothing reported bad
        done = {p.name for p in out.glob("p*") if p.is_dir()}
        assert 2 <= len(done) < N
    finally:
        c.close()

    # the re-run analyses only what is missing
    assert main(["-q", "batch", str(files[0].parent), "-o", str(out), "--scheduler", "sync"]) == 0
    text = capsys.readouterr().out
    assert f"{N} recordings: {N - len(done)} analysed, {len(done)} up to date, 0 failed" in text
    assert json.loads((out / "manifest.json").read_text())["interrupted"] is False
    _same(out, reference)


def test_ctrl_c_exits_3_and_rerun_completes(files: list[Path], reference: Path, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "impactlab", "-q", "batch", str(files[0].parent), "-o", str(out), "--scheduler", "sync"]
    run = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait(lambda: sum(1 for p in out.glob("p*") if p.is_dir()) >= 1 or run.poll() is not None, 60, "a first folder")
    run.send_signal(signal.SIGINT)
    stdout, stderr = run.communicate(timeout=30)
    assert run.returncode == 3, (stdout, stderr)
    assert "interrupted: finished folders are kept" in stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["interrupted"] is True and manifest["interrupted_reason"] == "interrupted by the user (Ctrl-C)"
    assert all(r["status"] == "done" for r in manifest["recordings"])
    done = sum(1 for p in out.glob("p*") if p.is_dir())  # every finished folder is whole, so up to date next time
    assert 1 <= len(manifest["recordings"]) <= done < N
    assert main(["-q", "batch", str(files[0].parent), "-o", str(out), "--scheduler", "sync"]) == 0
    assert f"{N - done} analysed, {done} up to date" in capsys.readouterr().out
    _same(out, reference)
