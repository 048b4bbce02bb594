"""The simulated sensor in a child process: what ``--simulate`` of ``scan``, ``stream`` and ``sync`` runs.

:func:`simulated_sensor_process` starts ``python -m impactlab.ble.sim CONFIG``: the child reads the
recording, builds the :class:`~impactlab.ble.sim.sensor.SimulatedSensor`, starts its private
``dbus-daemon`` and the fake BlueZ, and says on its stdout where they are (one JSON line). The
host's bleak then talks to it over the private bus exactly as to a sensor in range, and the
sensor's work (building packets, fault injection, D-Bus encoding) runs on the other core, not
under the host's interpreter lock; the host's peak memory is the host's alone.

The child is torn down on every exit path of the ``with``: its stdin is closed (it then stops
the fake BlueZ and the bus and says what it did, :attr:`SimulationProcess.log`), then SIGTERM and
SIGKILL if it does not end. It ignores SIGINT (a terminal's Ctrl-C reaches the whole foreground
group: the host stops cleanly and then stops the child), and it ends by itself when the host
dies (stdin at end of file, and ``PR_SET_PDEATHSIG`` on Linux).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import signal
import subprocess
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ... import errors
from ...errors import DeviceError, ImpactlabError
from .bus import _pdeathsig
from .sensor import Faults, LinkModel

__all__ = ["SimulationProcess", "serve", "simulated_sensor_process"]

log = logging.getLogger(__name__)


@dataclass
class SimulationProcess:
    """A simulated sensor running in a child process (see :func:`simulated_sensor_process`).

    Attributes
    ----------
    address, name : str
        The sensor's Bluetooth address and advertised name.
    bus_address : str
        The private bus (``DBUS_SYSTEM_BUS_ADDRESS`` while the ``with`` lasts).
    timezone, vertical_axis : str or None
        Those of the recording it plays.
    stored : int
        Stored packets it holds at the start.
    pid : int
        The child's process id.
    log : dict
        What the sensor did (:class:`~impactlab.ble.sim.sensor.FaultLog` fields: ``sent``,
        ``dropped_stored``, ``requests``, ...) and the child's ``peak_rss_kb``, filled in when
        the child has stopped.
    """

    address: str
    name: str
    bus_address: str
    timezone: str | None
    vertical_axis: str | None
    stored: int
    pid: int
    log: dict[str, Any] = field(default_factory=dict)


def _error_dict(err: ImpactlabError) -> dict[str, Any]:
    attrs = {k: v for k, v in vars(err).items() if isinstance(v, (str, int, float, type(None)))}
    return {"class": type(err).__name__, "attrs": attrs}


def _error_from(d: dict[str, Any]) -> ImpactlabError:
    cls = getattr(errors, str(d.get("class")), None)
    if not (isinstance(cls, type) and issubclass(cls, ImpactlabError)):
        cls = DeviceError
    err = cls.__new__(cls)
    err.__dict__.update({"message": "the simulated sensor failed", "hint": None, "path": None, "line": None,
                         "key": None, **d.get("attrs", {})})
    Exception.__init__(err, str(err))
    return err


def _warning_class(name: str) -> type[Warning]:
    cls = getattr(errors, name, None)
    return cls if isinstance(cls, type) and issubclass(cls, Warning) else UserWarning


def serve(argv: list[str]) -> int:
    """The child's side: play the sensor described by the JSON ``argv[0]`` until stdin closes.

    Prints one JSON line when the sensor is in range (``address``, ``name``, ``bus``, ...) or
    ``{"error": ...}``, and one more (``{"log": ...}``) after stdin closed and everything stopped.

    Returns
    -------
    int
        Exit status: 0, or 1 when the sensor could not be started.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the host stops us (a terminal's Ctrl-C hits the group)

    stopping = False

    def _term(signum: int, frame: object) -> None:
        if not stopping:  # once stopping (stdin closed), a SIGTERM (the host's death) must not cut it short
            raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, _term)
    cfg = json.loads(argv[0])
    out = sys.stdout

    def say(obj: dict[str, Any]) -> None:
        out.write(json.dumps(obj) + "\n")
        out.flush()

    from .sensor import simulated_sensor

    f = cfg.get("faults") or {}
    faults = Faults(**{**f, "drop_seqs": frozenset(f.get("drop_seqs", ())),
                       "link_loss_at": tuple(f.get("link_loss_at", ()))})
    link = LinkModel(**cfg["link"]) if cfg.get("link") else None
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            cm = simulated_sensor(cfg["source"], profile=cfg["profile"], faults=faults, speed=float(cfg["speed"]),
                                  address=cfg["address"], read_options=cfg.get("read_options"), link=link)
            sim = cm.__enter__()
    except ImpactlabError as err:
        say({"error": _error_dict(err)})
        return 1
    try:
        s = sim.sensor
        say({"address": s.address, "name": s.name, "bus": sim.bus.address, "timezone": sim.timezone,
             "vertical_axis": sim.vertical_axis, "stored": len(s.stored), "pid": os.getpid(),
             "warnings": [[type(w.message).__name__, str(w.message)] for w in caught]})
        sys.stdin.buffer.read()  # until the host closes it (or dies)
        stopping = True
        fault_log = sim.run(lambda: dataclasses.asdict(s.log))
    finally:
        stopping = True
        cm.__exit__(None, None, None)
    import resource

    fault_log["peak_rss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # for bench/
    with contextlib.suppress(OSError):  # the host may be gone
        say({"log": fault_log})
    return 0


def _child_config(source: str | os.PathLike[str], profile: str | os.PathLike[str], faults: Faults | None, speed: float,
                  address: str, read_options: dict[str, object] | None, link: LinkModel | None) -> str:
    f = dataclasses.asdict(faults or Faults())
    f["drop_seqs"] = sorted(f["drop_seqs"])
    f["link_loss_at"] = list(f["link_loss_at"])
    return json.dumps({
        "source": os.fspath(Path(source).absolute()), "profile": os.fspath(profile), "faults": f, "speed": speed,
        "address": address, "read_options": read_options or {},
        "link": None if link is None else dataclasses.asdict(link),
    })


def _stop(proc: subprocess.Popen[bytes], sim: SimulationProcess | None) -> None:
    """Close the child's stdin, read its last word, and make sure it has ended (SIGTERM, then SIGKILL)."""
    try:
        out, _ = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.terminate()
        try:
            out, _ = proc.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
    except BaseException:  # a second Ctrl-C while it stops: still never leave it behind
        proc.kill()
        proc.wait()
        raise
    if sim is not None:
        for line in out.decode(errors="replace").splitlines():
            with contextlib.suppress(ValueError):
                msg = json.loads(line)
                if isinstance(msg, dict) and "log" in msg:
                    sim.log = msg["log"]
                    log.info("simulated sensor stopped: %d notifications sent, %d requests, peak memory %.0f MB",
                             sim.log.get("sent", 0), sim.log.get("requests", 0), sim.log.get("peak_rss_kb", 0) / 1024)


@contextlib.contextmanager
def simulated_sensor_process(
    source: str | os.PathLike[str], *, profile: str | os.PathLike[str] = "impactlab-hip-v1",
    faults: Faults | None = None, speed: float = 1.0, address: str = "F0:1A:B2:00:00:01",
    read_options: dict[str, object] | None = None, link: LinkModel | None = None,
) -> Iterator[SimulationProcess]:
    """Run a simulated sensor in a child process, in range of this process's bleak, for a ``with``.

    Parameters
    ----------
    source : path
        The recording the sensor plays (any file ``impactlab analyze`` reads).
    profile : str or path
        Profile name or ``.toml`` file.
    faults : Faults, optional
        Fault injection.
    speed : float
        Live playback speed (1 = real time, 0 = as fast as possible).
    address : str
        The sensor's address.
    read_options : dict, optional
        ``tz``, ``vertical_axis``, ``units`` for reading ``source`` (as ``impactlab analyze``).
    link : LinkModel, optional
        The simulated radio's pace.

    Yields
    ------
    SimulationProcess
        ``DBUS_SYSTEM_BUS_ADDRESS`` points at its private bus until the ``with`` ends; then the
        child is stopped (also after an error or Ctrl-C) and the variable restored.

    Raises
    ------
    ImpactlabError
        What the child raised (the recording cannot be read, ``dbus-daemon`` is missing, ...).
    DeviceError
        The child ended without saying why.
    """
    cfg = _child_config(source, profile, faults, speed, address, read_options, link)
    proc = subprocess.Popen([sys.executable, "-m", "impactlab.ble.sim", cfg], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, preexec_fn=_pdeathsig(), start_new_session=True)
    sim: SimulationProcess | None = None
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        try:
            hello = json.loads(line)
        except ValueError:
            hello = None
        if not isinstance(hello, dict):
            raise DeviceError(f"the simulated sensor ended before it started (exit status {proc.poll()})",
                              hint="Its error is printed above; run with the same file through impactlab analyze to check it")
        if "error" in hello:
            raise _error_from(hello["error"])
        for cat, text in hello.get("warnings", []):
            warnings.warn(text, _warning_class(cat), stacklevel=3)
        sim = SimulationProcess(address=hello["address"], name=hello["name"], bus_address=hello["bus"],
                                timezone=hello["timezone"], vertical_axis=hello["vertical_axis"],
                                stored=int(hello["stored"]), pid=int(hello["pid"]))
        old = os.environ.get("DBUS_SYSTEM_BUS_ADDRESS")
        vlog = logging.getLogger("bleak.backends.bluezdbus.version")
        old_level = vlog.level
        os.environ["DBUS_SYSTEM_BUS_ADDRESS"] = sim.bus_address
        vlog.setLevel(logging.ERROR)  # no bluetoothctl beside a fake BlueZ: bleak's version warning is noise
        try:
            yield sim
        finally:
            vlog.setLevel(old_level)
            if old is None:
                os.environ.pop("DBUS_SYSTEM_BUS_ADDRESS", None)
            else:
                os.environ["DBUS_SYSTEM_BUS_ADDRESS"] = old
    finally:
        _stop(proc, sim)
