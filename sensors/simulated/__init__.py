"""A realistic, seeded simulated chest strap (one person, or a dyad of two).

- :mod:`sensors.simulated.settings`: :class:`SimSettings` (what the person and strap
  do) and :func:`settings_from_options` (``sim:key=value`` specs).
- :mod:`sensors.simulated.strap`: :class:`SimulatedStrap`, the physiological model and
  the strap's notifications with artifacts and ground truth; :func:`simulate` runs it
  offline.
- :mod:`sensors.simulated.slow_hr`: slow heart-rate fluctuations and a partner's
  influence on them (dyad mode).
- :mod:`sensors.simulated.dyad`: :func:`simulate_dyad`, a leader and a follower.
- :mod:`sensors.simulated.source`: :class:`SimulatedSource`, the strap streamed to the
  engine in real time or faster.
"""

from sensors.simulated.dyad import DYAD_SLOW_BPM, dyad_settings, simulate_dyad
from sensors.simulated.settings import (
    ARTIFACT_KINDS,
    SCENARIOS,
    SimSettings,
    settings_from_options,
)
from sensors.simulated.slow_hr import SlowHeartRate, dyad_slow_bpm
from sensors.simulated.source import SimulatedSource
from sensors.simulated.strap import (
    GroundTruth,
    Notification,
    SimulatedStrap,
    resonance_gain,
    resonance_lead_s,
    simulate,
)

__all__ = [
    "ARTIFACT_KINDS",
    "DYAD_SLOW_BPM",
    "SCENARIOS",
    "GroundTruth",
    "Notification",
    "SimSettings",
    "SimulatedSource",
    "SimulatedStrap",
    "SlowHeartRate",
    "dyad_settings",
    "dyad_slow_bpm",
    "resonance_gain",
    "resonance_lead_s",
    "settings_from_options",
    "simulate",
    "simulate_dyad",
]
