"""Coherence and breathing rate over the paced segments of a session (bounded memory).

While a person breathes with the pacer, their corrected beats go through the same
:class:`dsp.breathing.BreathingMonitor` as the live breathing feedback (coherence over
64 s and the RSA breathing rate over 60 s, recomputed every 5 s). Outside paced segments
nothing is computed: the monitor starts afresh when pacing starts, so the first values
of a segment come once 64 s of paced beats exist.
"""

import math

from app.analysis.bins import Bins, json_number
from dsp.beat_result import BeatResult
from dsp.breathing import BreathingMonitor

NAMES = ("rate_per_min", "coherence_ratio", "peak_fraction")


class BreathingStats:
    """Per-person coherence and rate during paced breathing.

    Parameters
    ----------
    t0 : float
        Session start, s.
    """

    def __init__(self, t0: float) -> None:

        self.bins = Bins(t0, NAMES)
        self.monitor: BreathingMonitor | None = None
        self.updates = 0
        self.sums = dict.fromkeys(NAMES, 0.0)
        self.counts = dict.fromkeys(NAMES, 0)

    def push(self, result: BeatResult, paced: bool) -> None:
        """Feed one corrected beat; ``paced`` says whether the pacer is on."""
        if not paced:
            self.monitor = None
            return
        if self.monitor is None:
            self.monitor = BreathingMonitor()
        beat = result.beat
        update = self.monitor.push(beat.t, beat.rr_ms, result.gap_before)
        if not update.updated:
            return
        self.updates += 1
        k = self.bins.index(beat.t)
        values = (
            update.rate_per_min,
            update.coherence["ratio"],
            update.coherence["peak_fraction"],
        )
        for i, (name, value) in enumerate(zip(NAMES, values, strict=True)):
            if math.isfinite(value):
                self.sums[name] += value
                self.counts[name] += 1
                self.bins.add(k, i, value)

    def summary(self) -> dict | None:
        """Means over the paced estimates (None without any)."""
        if not any(self.counts.values()):
            return None
        means = {
            name: json_number(
                self.sums[name] / self.counts[name] if self.counts[name] else math.nan
            )
            for name in NAMES
        }
        return {
            "mean_coherence_ratio": means["coherence_ratio"],
            "mean_peak_fraction": means["peak_fraction"],
            "mean_breathing_rate_per_min": means["rate_per_min"],
            "estimates": self.counts["coherence_ratio"],
        }
