"""Beat times from RR intervals and notification arrival times.

A strap never timestamps its RR values; it sends them up to a few seconds late. Stamping
each notification on arrival and back-dating its RR values by cumulative RR gives beat
times that jitter with radio latency. Instead we keep the running offset
``arrival - cumsum(RR)`` and follow its lower envelope: the radio only ever delays, so the
smallest offset seen is the least-delayed one, and beat times then advance exactly by the
strap's own RR clock (SCIENCE.md §1).
"""

import math
from collections.abc import Sequence

#: How fast the envelope may rise, seconds per second: tracks a strap clock that runs
#: fast against the host by up to this much (BLE crystals are specified to +-50 ppm).
#: Between two tight notifications the envelope rises by this rate, so it also sets the
#: size of the small sawtooth error (about 5 ms per 100 s without a tight notification).
DRIFT_ALLOWANCE = 5e-5

#: An offset this far above the envelope means RR values were lost (a dropped
#: notification); the envelope then re-anchors instead of back-dating over the hole.
GAP_THRESHOLD_S = 2.5


class BeatClock:
    """Assign LSL-clock times to RR intervals as their notifications arrive.

    Parameters
    ----------
    drift_allowance : float
        Maximum upward drift of the envelope, s/s.
    gap_threshold_s : float
        Offset jump, seconds, that is treated as lost beats.
    """

    def __init__(
        self, drift_allowance: float = DRIFT_ALLOWANCE, gap_threshold_s: float = GAP_THRESHOLD_S
    ) -> None:
        self.drift_allowance = drift_allowance
        self.gap_threshold_s = gap_threshold_s
        self.reset()

    def reset(self) -> None:
        """Forget the history (call after a reconnection)."""
        self._cum_s = 0.0
        self._offset_s = math.nan
        self._last_arrival_s = math.nan
        self._last_beat_s = -math.inf

    def stamp(self, arrival_s: float, rr_ms: Sequence[float]) -> list[float]:
        """Return the time of the beat ending each interval, oldest first.

        Parameters
        ----------
        arrival_s : float
            Arrival time of the notification, seconds on the LSL clock.
        rr_ms : sequence of float
            The notification's RR intervals, milliseconds, oldest first.

        Returns
        -------
        list of float
            Beat times, seconds; strictly increasing across calls and never after
            ``arrival_s``.
        """
        if not rr_ms:
            return []
        ends = []
        cum = self._cum_s
        for rr in rr_ms:
            cum += rr / 1000.0
            ends.append(cum)
        self._cum_s = cum
        offset = arrival_s - cum
        if math.isnan(self._offset_s) or offset - self._offset_s > self.gap_threshold_s:
            self._offset_s = offset  # first notification, or beats were lost: re-anchor
        else:
            risen = self._offset_s + self.drift_allowance * (arrival_s - self._last_arrival_s)
            self._offset_s = min(offset, risen)
        self._last_arrival_s = arrival_s
        times = []
        for end in ends:
            t = max(self._offset_s + end, math.nextafter(self._last_beat_s, math.inf))
            self._last_beat_s = t
            times.append(t)
        return times
