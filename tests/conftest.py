"""Test-wide setup: offscreen Qt and a loopback-only LSL configuration, before any import."""

import os

from tests.lslconfig import use_loopback_lsl

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
use_loopback_lsl()
