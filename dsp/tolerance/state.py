"""Where a person is relative to their window of tolerance, after one beat.

The zone logic is :class:`dsp.tolerance.estimator.ArousalEstimator`; these are its
output types, kept low so that :class:`dsp.beat_result.BeatResult` can carry them.
"""

import enum
from dataclasses import dataclass

__all__ = ["ArousalState", "Zone"]


class Zone(enum.Enum):
    """Where a person is relative to their window of tolerance."""

    HYPO = "hypo"
    WINDOW = "window"
    HYPER = "hyper"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class ArousalState:
    """The arousal estimate after one beat.

    Attributes
    ----------
    t : float
        Beat time, s.
    z_hr : float
        Smoothed z-score of HR30 against the baseline.
    z_vagal : float
        z-score of ln RMSSD60 (frozen while breathing is paced).
    index : float
        Smoothed arousal index A = (z_H - z_V) / 2 (NaN until features exist).
    zone : Zone
        The zone after hysteresis and dwell times.
    reason : str
        Why the zone is UNKNOWN ("" otherwise).
    """

    t: float
    z_hr: float
    z_vagal: float
    index: float
    zone: Zone
    reason: str = ""
