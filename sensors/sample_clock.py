"""LSL-clock times for samples that carry the strap's own timestamps (PMD frames).

A PMD frame says when its last sample was taken on the strap's clock; it arrives a few
to some hundred milliseconds later. As for beats (:mod:`sensors.beat_clock`,
SCIENCE.md §1) we follow the lower envelope of ``arrival - strap time``: the radio only
ever delays, so the smallest offset is the least delayed one, and sample times then
advance exactly by the strap's clock. The envelope may rise by
:data:`sensors.beat_clock.DRIFT_ALLOWANCE` (a strap crystal slower than the host's) and
re-anchors when the offset jumps up by more than ``gap_threshold_s`` (the strap clock
was reset) or the strap time runs backwards.
"""

import math

import numpy as np

from sensors.beat_clock import DRIFT_ALLOWANCE, GAP_THRESHOLD_S

__all__ = ["SampleClock"]


class SampleClock:
    """Map strap timestamps (ns) of one strap onto the LSL clock (s).

    One clock serves every measurement of a strap (they share its clock), so ECG,
    acceleration and, through arrival times, beats line up.
    """

    def __init__(
        self, drift_allowance: float = DRIFT_ALLOWANCE, gap_threshold_s: float = GAP_THRESHOLD_S
    ) -> None:
        self.drift_allowance = drift_allowance
        self.gap_threshold_s = gap_threshold_s
        self._last_t = -math.inf
        self.reset()

    def reset(self) -> None:
        """Forget the offset (after a reconnection); times still never run backwards."""
        self._offset_s = math.nan
        self._last_arrival_s = math.nan
        self._last_strap_ns = -1

    @property
    def offset_s(self) -> float:
        """LSL time minus strap time, seconds (NaN before the first frame)."""
        return self._offset_s

    def stamp(self, arrival_s: float, last_ns: int, sample_ns: np.ndarray) -> np.ndarray:
        """LSL times of a frame's samples.

        Parameters
        ----------
        arrival_s : float
            Arrival of the frame, seconds on the LSL clock.
        last_ns : int
            The frame's timestamp (its last sample), strap ns.
        sample_ns : numpy.ndarray
            Strap times of the frame's samples, ns (:func:`sensors.pmd.sample_times_ns`).

        Returns
        -------
        numpy.ndarray
            Seconds on the LSL clock, never after ``arrival_s`` and increasing across
            calls (when the envelope drops, the new frame's first samples are nudged
            past the previous frame's last one, 1 us apart, as beat times are).
        """
        offset = arrival_s - last_ns * 1e-9
        jumped = offset - self._offset_s > self.gap_threshold_s or last_ns < self._last_strap_ns
        if math.isnan(self._offset_s) or jumped:
            self._offset_s = offset
        else:
            risen = self._offset_s + self.drift_allowance * (arrival_s - self._last_arrival_s)
            self._offset_s = min(offset, risen)
        self._last_arrival_s = arrival_s
        self._last_strap_ns = last_ns
        rel_s = (np.asarray(sample_ns, dtype=np.float64) - last_ns) * 1e-9
        t = (self._offset_s + last_ns * 1e-9) + rel_s
        if t.size and t[0] <= self._last_t:
            t = np.maximum(t, self._last_t + 1e-6 * np.arange(1, t.size + 1))
        if t.size:
            self._last_t = float(t[-1])
        return t
