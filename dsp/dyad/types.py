"""Synchrony parameters, the live estimate of each step and the session-level result.

The method is described in :mod:`dsp.dyad.estimator`; defaults follow SCIENCE.md §5.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["NO_SESSION", "SessionSynchrony", "SynchronyEstimate", "SynchronySettings"]


@dataclass(frozen=True)
class SynchronySettings:
    """Parameters of :class:`SynchronyEstimator` (defaults: SCIENCE.md §5).

    Attributes
    ----------
    fs_hz : float
        Rate of the shared heart-rate grid, Hz.
    window_s : float
        Cross-correlation window, s.
    step_s : float
        Time between estimates, s (a whole number of grid samples).
    max_lag_s : float
        Largest lag searched either way, s.
    n_surrogates : int
        Surrogate windows per estimate (N); also the fewest distinct rotations the
        session test needs before it gives a result.
    min_offset_s : float
        Smallest time shift of a surrogate window, s; also the smallest rotation of the
        session test.
    history_s : float
        History the surrogates are drawn from (the ring buffer), s; also the largest
        rotation of the session test.
    min_history_s : float
        Joint history needed before the first estimate, s (warm-up).
    ewma_tau_s : float
        Time constant of the index smoothing, s.
    max_interval_s : float
        Longer intervals between beats are not interpolated (missing data), s.
    """

    fs_hz: float = 4.0
    window_s: float = 30.0
    step_s: float = 1.0
    max_lag_s: float = 5.0
    n_surrogates: int = 200
    min_offset_s: float = 60.0
    history_s: float = 600.0
    min_history_s: float = 180.0
    ewma_tau_s: float = 15.0
    max_interval_s: float = 3.0

    def __post_init__(self) -> None:
        if self.n_surrogates < 20:
            raise ValueError(f"n_surrogates {self.n_surrogates} must be >= 20")
        if not self.window_s > 2 * self.max_lag_s >= 0:
            raise ValueError(f"window {self.window_s} s must exceed twice the lag range")
        if self.history_s < self.min_history_s:
            raise ValueError(f"history_s {self.history_s} < min_history_s {self.min_history_s}")


@dataclass(frozen=True, slots=True)
class SynchronyEstimate:
    """Synchrony over one window.

    Attributes
    ----------
    t : float
        End of the newest data used (stream time, s).
    index : float
        Surrogate index in [0, 1] of the smoothed peak z among the smoothed
        surrogates; >= 0.95 marks significant synchrony. NaN: no estimate (warm-up,
        a gap or poor signal on either side).
    index_raw : float
        This window's surrogate percentile before smoothing.
    r_peak : float
        Pearson r at the peak lag.
    lag_s : float
        Lag of the peak, s; > 0 means b follows a.
    p_value : float
        ``(1 + #(surrogate >= observed)) / (N + 1)`` on the smoothed values
        (``index >= 0.95`` is ``p <= 11/201`` with N = 200).
    n_surrogates : int
        Surrogates used (0 when there is no estimate).
    """

    t: float
    index: float
    index_raw: float
    r_peak: float
    lag_s: float
    p_value: float
    n_surrogates: int

    @property
    def estimated(self) -> bool:
        """True when there is an estimate (not paused)."""
        return math.isfinite(self.index)


@dataclass(frozen=True, slots=True)
class SessionSynchrony:
    """The session-level synchrony test (see :func:`dsp.synchrony.session_synchrony`).

    Attributes
    ----------
    r : float
        Back-transformed mean Fisher z of the 30-s segments at the lag found.
    ci_low, ci_high : float
        95 % interval of r (Student t over the segments' z, at that lag).
    p_value : float
        Upper tail at the observed statistic of a Gumbel law fitted (mean, SD) to the
        statistic under every circular rotation of a against b's lag windows by
        60 s ... 10 min; the lag search is part of the statistic.
    lag_s : float
        Lag with the largest mean z, s; > 0 means b follows a.
    n_segments : int
        30-s segments used (0: no result yet).
    """

    r: float
    ci_low: float
    ci_high: float
    p_value: float
    lag_s: float
    n_segments: int

    @property
    def estimated(self) -> bool:
        """True when there is a result (enough joint data)."""
        return math.isfinite(self.p_value)


#: No result (too little joint data so far).
NO_SESSION = SessionSynchrony(math.nan, math.nan, math.nan, math.nan, math.nan, 0)
