"""A throw-away ``dbus-daemon`` acting as the system bus, for the fake BlueZ and bleak to meet on.

No root is needed: the daemon listens on a socket in a temporary folder, and
``DBUS_SYSTEM_BUS_ADDRESS`` pointed at it is the only redirection bleak needs (BLE_TESTING.md).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from ...errors import DeviceError

__all__ = ["PrivateBus", "dbus_daemon_path"]

_BUS_CONF = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_type="method_return"/>
    <allow send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="signal"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
  </policy>
  <limit name="max_incoming_bytes">1000000000</limit>
  <limit name="max_outgoing_bytes">1000000000</limit>
  <limit name="max_message_size">33554432</limit>
</busconfig>
"""


def dbus_daemon_path() -> str | None:
    """Path of the ``dbus-daemon`` executable, or None when it is not installed."""
    return shutil.which("dbus-daemon") or (
        "/usr/bin/dbus-daemon" if os.access("/usr/bin/dbus-daemon", os.X_OK) else None
    )


def _pdeathsig() -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes Linux end the child when the starting thread dies (even when killed).

    ``prctl`` is looked up here, in the parent, so the child only makes one foreign call.
    """
    try:
        import ctypes
        import signal

        prctl = ctypes.CDLL(None, use_errno=True).prctl
        sig = int(signal.SIGTERM)
    except (OSError, AttributeError):
        return None

    def _set() -> None:
        prctl(1, sig)  # PR_SET_PDEATHSIG

    return _set


class PrivateBus:
    """A throw-away ``dbus-daemon`` acting as the system bus, in a temporary folder.

    Use as a context manager; :attr:`address` is the value for ``DBUS_SYSTEM_BUS_ADDRESS``.

    Raises
    ------
    DeviceError
        ``dbus-daemon`` is not installed or did not start.
    """

    def __init__(self) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        self.dir: str | None = None
        self.address = ""

    def start(self) -> PrivateBus:
        """Start the daemon; :attr:`address` is then set."""
        exe = dbus_daemon_path()
        if exe is None:
            raise DeviceError("the simulated sensor needs dbus-daemon, which is not installed",
                              hint="Install it (Debian/Ubuntu: apt-get install dbus-daemon)")
        self.dir = tempfile.mkdtemp(prefix="impactlab-bus-")
        sock = Path(self.dir) / "system_bus_socket"
        conf = Path(self.dir) / "bus.conf"
        conf.write_text(_BUS_CONF.format(socket=sock))
        self.proc = subprocess.Popen(
            [exe, f"--config-file={conf}", "--nofork", "--nopidfile", "--print-address=1"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, preexec_fn=_pdeathsig(), start_new_session=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().decode().strip()
        if not line:
            self.stop()
            raise DeviceError("dbus-daemon did not start", hint="Run dbus-daemon --version to check the install")
        self.address = line.split(",")[0] if line.startswith("unix:path=") else f"unix:path={sock}"
        return self

    def stop(self) -> None:
        """Stop the daemon (by its own PID) and remove its folder."""
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            if self.proc.stdout:
                self.proc.stdout.close()
            self.proc = None
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def __enter__(self) -> PrivateBus:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
