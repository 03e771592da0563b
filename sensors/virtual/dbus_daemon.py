"""A private D-Bus daemon in a temporary folder, for the virtual Bluetooth stack.

bleak's Linux backend talks to BlueZ on the *system* bus. The harness starts its own
``dbus-daemon`` (the Debian package ``dbus``) with the session policy, so an ordinary
user may own ``org.bluez`` on it, and points ``DBUS_SYSTEM_BUS_ADDRESS`` at it while
the harness runs. Nothing touches the machine's real buses.
"""

import asyncio
import contextlib
import logging
import os
import shutil
import tempfile

log = logging.getLogger(__name__)

__all__ = ["DBusDaemonError", "PrivateBus"]

#: Seconds to wait for the daemon to print its address.
START_TIMEOUT_S = 10.0


class DBusDaemonError(RuntimeError):
    """``dbus-daemon`` is missing or did not start."""


class PrivateBus:
    """A ``dbus-daemon`` process that lives as long as this object is started.

    Attributes
    ----------
    address : str
        The bus address (``unix:path=...``), set by :meth:`start`.
    """

    def __init__(self) -> None:
        self.address = ""
        self._tmpdir: tempfile.TemporaryDirectory[str] | None = None
        self._proc: asyncio.subprocess.Process | None = None

    async def start(self) -> str:
        """Start the daemon and return its address.

        Raises
        ------
        DBusDaemonError
            When ``dbus-daemon`` is not installed or does not come up.
        """
        exe = shutil.which("dbus-daemon")
        if exe is None:
            raise DBusDaemonError(
                "dbus-daemon not found; install the 'dbus' package (apt-get install dbus)"
            )
        self._tmpdir = tempfile.TemporaryDirectory(prefix="heartsync-bus-")
        socket_path = os.path.join(self._tmpdir.name, "system_bus_socket")
        self._proc = await asyncio.create_subprocess_exec(
            exe,
            "--session",
            "--nofork",
            "--nopidfile",
            "--print-address=1",
            f"--address=unix:path={socket_path}",
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        assert self._proc.stdout is not None
        try:
            line = await asyncio.wait_for(self._proc.stdout.readline(), START_TIMEOUT_S)
        except TimeoutError:
            await self.stop()
            raise DBusDaemonError("dbus-daemon did not print its address in time") from None
        if not line:
            err = b""
            if self._proc.stderr is not None:
                err = await self._proc.stderr.read()
            await self.stop()
            raise DBusDaemonError(f"dbus-daemon exited: {err.decode(errors='replace').strip()}")
        self.address = line.decode().strip()
        log.debug("private D-Bus daemon (pid %d) at %s", self._proc.pid, self.address)
        return self.address

    async def stop(self) -> None:
        """Stop the daemon and remove its folder (safe to call twice)."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 5.0)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        if self._tmpdir is not None:
            with contextlib.suppress(OSError):
                self._tmpdir.cleanup()
            self._tmpdir = None
