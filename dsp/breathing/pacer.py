"""Breathing pacer: a pure phase model driven by stream time.

The pacer never counts frames or sleeps: its phase is a closed-form function of stream
time, ``cycles(t) = c0 + (t - t0) * rate / 60``, so it cannot drift however long it
runs (float64 keeps the schedule exact to well under a microsecond over hours). A rate
change starts a new segment at the current phase, so the breath continues where it was
(no jump in the shape). Within one breath the phase maps to inhale, an optional hold,
exhale and an optional hold; the lung-volume shape is a raised cosine within inhale and
exhale, smooth at every joint.

References
----------
Lehrer, P. M., Vaschillo, E., & Vaschillo, B. (2000). Resonant frequency biofeedback
training to increase cardiac variability. Applied Psychophysiology and Biofeedback, 25(3),
177-191.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

__all__ = ["STAGES", "Pacer", "PacerSettings", "PacerState", "round_rate", "state_of", "volumes"]

#: Stage names, in order within a breath; the stream records their index.
STAGES = ("inhale", "hold_in", "exhale", "hold_out")

MIN_RATE_PER_MIN = 3.0
MAX_RATE_PER_MIN = 10.0


def round_rate(rate_per_min: float) -> float:
    """Round a breathing rate to the pacer's 0.1 breaths/min steps within 3-10."""
    rate = round(float(rate_per_min) * 10.0) / 10.0
    return min(MAX_RATE_PER_MIN, max(MIN_RATE_PER_MIN, rate))


@dataclass(frozen=True)
class PacerSettings:
    """Shape of one paced breath.

    Attributes
    ----------
    rate_per_min : float
        Breaths per minute, 3-10 in steps of 0.1 (Lehrer 2000 resonance rates are 4.5-7).
    inhale, exhale : float
        Relative lengths of inhale and exhale (4:6 is a common slow-breathing ratio:
        a longer exhale). Only their ratio matters.
    hold_in_s, hold_out_s : float
        Optional pauses after the inhale and after the exhale, seconds (0: none). They
        must leave at least a second for inhale plus exhale.
    """

    rate_per_min: float = 6.0
    inhale: float = 4.0
    exhale: float = 6.0
    hold_in_s: float = 0.0
    hold_out_s: float = 0.0

    def __post_init__(self) -> None:
        rate = self.rate_per_min
        if (
            not MIN_RATE_PER_MIN <= rate <= MAX_RATE_PER_MIN
            or abs(rate * 10 - round(rate * 10)) > 1e-9
        ):
            raise ValueError(
                f"rate {rate!r} breaths/min must be within 3-10 in steps of 0.1 (use round_rate)"
            )
        if not (self.inhale > 0 and self.exhale > 0):
            raise ValueError(f"inhale:exhale {self.inhale}:{self.exhale} must both be > 0")
        if not (self.hold_in_s >= 0 and self.hold_out_s >= 0):
            raise ValueError("holds must be >= 0 s")
        if self.period_s - self.hold_in_s - self.hold_out_s < 1.0:
            raise ValueError(
                f"holds of {self.hold_in_s} s and {self.hold_out_s} s leave less than 1 s to "
                f"breathe in a {self.period_s:.1f} s breath: shorten them or breathe slower"
            )

    @property
    def period_s(self) -> float:
        """Length of one breath, seconds."""
        return 60.0 / self.rate_per_min

    def stage_lengths_s(self) -> tuple[float, float, float, float]:
        """Inhale, hold, exhale, hold, seconds (they sum to :attr:`period_s`)."""
        breathe = self.period_s - self.hold_in_s - self.hold_out_s
        inhale = breathe * self.inhale / (self.inhale + self.exhale)
        return inhale, self.hold_in_s, breathe - inhale, self.hold_out_s


@dataclass(frozen=True, slots=True)
class PacerState:
    """The pacer at one instant.

    Attributes
    ----------
    t : float
        Stream time, seconds.
    cycles : float
        Breaths since the pacer started (continuous; the fractional part is the phase
        within the breath, 0 = start of an inhale).
    volume : float
        Target lung volume, 0 (empty) to 1 (full).
    stage : str
        One of :data:`STAGES`.
    stage_left_s : float
        Seconds until the stage ends (at the current rate).
    rate_per_min : float
        Current rate, breaths/min.
    """

    t: float
    cycles: float
    volume: float
    stage: str
    stage_left_s: float
    rate_per_min: float

    @property
    def phase(self) -> float:
        """Phase within the breath, in [0, 1)."""
        return self.cycles - math.floor(self.cycles)


@dataclass(frozen=True, slots=True)
class _Segment:
    t0: float
    cycles0: float
    settings: PacerSettings


class Pacer:
    """A breathing pacer over stream time, with continuous phase across changes.

    The current segment is one immutable object swapped on change, so another thread
    (a widget drawing at 60 fps) always reads a consistent pacer.

    Parameters
    ----------
    settings : PacerSettings
        The breath shape and rate.
    t0 : float
        Stream time of the first inhale, seconds.
    """

    def __init__(self, settings: PacerSettings = PacerSettings(), t0: float = 0.0) -> None:
        self._segment = _Segment(float(t0), 0.0, settings)

    @property
    def settings(self) -> PacerSettings:
        """The settings in force now."""
        return self._segment.settings

    @property
    def t0(self) -> float:
        """Stream time the current segment began, seconds."""
        return self._segment.t0

    def copy(self) -> Pacer:
        """A pacer frozen at the current segment (later changes to this one don't reach it)."""
        other = Pacer(self.settings)
        other._segment = self._segment
        return other

    def cycles_at(self, t: float) -> float:
        """Breaths since the start at stream time ``t`` (continuous).

        Times before the last change extrapolate the current rate.
        """
        seg = self._segment
        return seg.cycles0 + (t - seg.t0) * seg.settings.rate_per_min / 60.0

    def change(self, t: float, settings: PacerSettings) -> None:
        """Use new settings from stream time ``t`` on, keeping the breath's phase.

        Parameters
        ----------
        t : float
            Stream time of the change, seconds (not before the previous change).
        settings : PacerSettings
            The new rate and shape.
        """
        seg = self._segment
        if t < seg.t0:
            raise ValueError(f"pacer change at {t} s is before the last change at {seg.t0} s")
        self._segment = _Segment(float(t), self.cycles_at(t), settings)

    def set_rate(self, t: float, rate_per_min: float) -> None:
        """Change only the rate (rounded to 0.1 breaths/min) from stream time ``t``."""
        self.change(t, replace(self.settings, rate_per_min=round_rate(rate_per_min)))

    def state(self, t: float) -> PacerState:
        """Where the breath is at stream time ``t``."""
        seg = self._segment
        s = seg.settings
        cycles = seg.cycles0 + (t - seg.t0) * s.rate_per_min / 60.0
        return state_of(t, cycles, s)

    def next_onset(self, t: float) -> float:
        """Stream time of the next inhale onset at or after ``t``, seconds."""
        c = self.cycles_at(t)
        seg = self._segment
        return seg.t0 + (math.ceil(c) - seg.cycles0) * 60.0 / seg.settings.rate_per_min


def state_of(t: float, cycles: float, settings: PacerSettings) -> PacerState:
    """The pacer state for a phase count under given settings (pure function).

    Parameters
    ----------
    t : float
        Stream time, seconds (passed through).
    cycles : float
        Breaths since the start; the fraction is the phase within the breath.
    settings : PacerSettings
        Breath shape.
    """
    period = settings.period_s
    tau = (cycles - math.floor(cycles)) * period  # seconds into this breath
    inhale, hold_in, exhale, _ = settings.stage_lengths_s()
    if tau < inhale:
        volume = 0.5 - 0.5 * math.cos(math.pi * tau / inhale)
        stage, left = "inhale", inhale - tau
    elif tau < inhale + hold_in:
        volume, stage, left = 1.0, "hold_in", inhale + hold_in - tau
    elif tau < inhale + hold_in + exhale:
        x = tau - inhale - hold_in
        volume = 0.5 + 0.5 * math.cos(math.pi * x / exhale)
        stage, left = "exhale", inhale + hold_in + exhale - tau
    else:
        volume, stage, left = 0.0, "hold_out", period - tau
    return PacerState(t, cycles, volume, stage, left, settings.rate_per_min)


def volumes(pacer: Pacer, t_s: np.ndarray) -> np.ndarray:
    """Target lung volume (0-1) at many stream times under the pacer's current segment.

    Parameters
    ----------
    pacer : Pacer
        The pacer (its current rate and shape apply to every time given).
    t_s : array of float
        Stream times, seconds.
    """
    t = np.asarray(t_s, dtype=np.float64)
    s = pacer.settings
    cycles = pacer.cycles_at(0.0) + t * s.rate_per_min / 60.0
    tau = (cycles - np.floor(cycles)) * s.period_s
    inhale, hold_in, exhale, _ = s.stage_lengths_s()
    x = tau - inhale - hold_in
    out = np.where(x < exhale, 0.5 + 0.5 * np.cos(np.pi * np.clip(x, 0, exhale) / exhale), 0.0)
    out = np.where(x < 0, 1.0, out)
    return np.where(tau < inhale, 0.5 - 0.5 * np.cos(np.pi * tau / inhale), out)
