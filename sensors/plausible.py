"""Plausible ranges of what sources read from outside (a network stream, a file).

A sample outside them is counted as bad and never becomes a beat: one heart-rate sample
of 1e6 bpm from any host on the network used to become 16,667 beats, 1e16 an endless
loop. Values from heartsync's own straps are bounded by their encoding instead
(:mod:`sensors.hr_measurement`).
"""

import math

#: Heart rate a person can have, beats/min.
HR_RANGE_BPM = (20.0, 300.0)
#: RR interval a person can have, ms (the same bounds: 60,000 / 300 and 60,000 / 20).
RR_RANGE_MS = (200.0, 3000.0)


def plausible_hr(bpm: float | None) -> bool:
    """True for a finite heart rate within :data:`HR_RANGE_BPM`."""
    return bpm is not None and math.isfinite(bpm) and HR_RANGE_BPM[0] <= bpm <= HR_RANGE_BPM[1]


def plausible_rr(ms: float | None) -> bool:
    """True for a finite RR interval within :data:`RR_RANGE_MS`."""
    return ms is not None and math.isfinite(ms) and RR_RANGE_MS[0] <= ms <= RR_RANGE_MS[1]
