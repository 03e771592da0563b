"""Test-wide setup: offscreen Qt and a loopback-only LSL configuration, before any import."""

import os
import tempfile

from tests.lslconfig import use_loopback_lsl

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# every session is kept in the user's data folder by default (app.history): tests and the
# command lines they start keep theirs in a throw-away folder, never in the real one
os.environ["XDG_DATA_HOME"] = tempfile.mkdtemp(prefix="heartsync-test-data-")
os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="heartsync-test-config-")
use_loopback_lsl()

#: Longest wait for a condition, ms. A wait's timeout is a guard against a hang, never a
#: speed requirement (speed is measured in bench/): on a busy 2-core machine a window may
#: take seconds to draw what takes milliseconds on an idle one.
HANG_GUARD_MS = 120_000


def _waits_are_hang_guards() -> None:
    """Make every qtbot.waitUntil / waitSignal timeout at least :data:`HANG_GUARD_MS`."""
    try:
        from pytestqt.qtbot import QtBot
    except ImportError:  # Qt tests are not collected without pytest-qt
        return
    wait_until, wait_signal = QtBot.waitUntil, QtBot.waitSignal

    def until(self, callback, *, timeout=5000):
        return wait_until(self, callback, timeout=max(timeout, HANG_GUARD_MS))

    def signal(self, *args, timeout=5000, **kwargs):
        return wait_signal(self, *args, timeout=max(timeout, HANG_GUARD_MS), **kwargs)

    QtBot.waitUntil, QtBot.waitSignal = until, signal


_waits_are_hang_guards()
