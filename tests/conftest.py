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
