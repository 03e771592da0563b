"""A person's resting baseline of heart rate and vagal tone, and how it is taken.

A resting calibration gives each person's centre (median) and scale (1.4826 x MAD) of
two autonomic axes (Berntson et al. 1991, autonomic space): heart rate over 30 s (HR30)
and vagal tone as ln RMSSD over 60 s (V60; Laborde et al. 2017). The arousal index
(:mod:`dsp.tolerance.estimator`) measures both against it.
"""

import math
from dataclasses import asdict, dataclass

import numpy as np

from dsp.beat_result import BeatResult

__all__ = ["MAD_TO_SD", "Baseline", "Calibration", "CalibrationError", "CalibrationSettings"]

MAD_TO_SD = 1.4826  # scales a median absolute deviation to a normal SD


class CalibrationError(ValueError):
    """A baseline that cannot be trusted; the message says why and what to do."""


@dataclass(frozen=True)
class CalibrationSettings:
    """How a resting baseline is taken.

    Attributes
    ----------
    duration_s : float
        Default length of the rest, s (5 min).
    min_duration_s : float
        Shortest rest accepted, s (3 min).
    drop_s : float
        Settling time dropped at the start, s.
    step_s : float
        Features are sampled every ``step_s`` seconds of stream time.
    min_clean : float
        Smallest fraction of clean beats accepted.
    hr_floor_bpm, ln_rmssd_floor : float
        Smallest scales, so a very steady rest does not make tiny changes look large.
        0.15 for ln RMSSD: on real rests V60 moves by 0.09-0.19 (median 0.12) from one
        60-s window to the next, and a 60-s RMSSD of n differences has a sampling error
        of about 1/sqrt(2n) = 0.09 at 60 bpm even for independent differences (docs/
        window_of_tolerance.md). At 0.10 a 15 % lower RMSSD, within that noise, was
        already 1.5 scales away.
    timing_resolution_ms : float
        Resolution of the beat times, ms (1/1024 s for Bluetooth straps). The vagal
        scale is at least ``ln(1 + resolution / RMSSD)`` at the baseline RMSSD, so that a
        change of one timing step is never a large change of ln RMSSD: at RMSSD 3 ms that
        floor is 0.28, and 3 -> 2.5 ms (-0.18) stays within one scale.
    """

    duration_s: float = 300.0
    min_duration_s: float = 180.0
    drop_s: float = 60.0
    step_s: float = 5.0
    min_clean: float = 0.90
    hr_floor_bpm: float = 2.0
    ln_rmssd_floor: float = 0.15
    timing_resolution_ms: float = 1000.0 / 1024.0


@dataclass(frozen=True)
class Baseline:
    """A person's resting centre and scale of HR30 and ln RMSSD60.

    Attributes
    ----------
    hr_bpm, hr_scale_bpm : float
        Median and robust SD of HR30, beats/min.
    ln_rmssd, ln_rmssd_scale : float
        Median and robust SD of ln(RMSSD60 / 1 ms).
    samples : int
        Feature samples the baseline rests on.
    clean_fraction : float
        Fraction of clean beats during the calibration.
    duration_s : float
        Length of the calibration used (after dropping the settling time), s.
    """

    hr_bpm: float
    hr_scale_bpm: float
    ln_rmssd: float
    ln_rmssd_scale: float
    samples: int
    clean_fraction: float
    duration_s: float

    def to_dict(self) -> dict:
        """Plain values for a profile file."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Baseline":
        """Read back :meth:`to_dict`; raises ValueError naming a missing or bad value."""
        values = {}
        for name in cls.__dataclass_fields__:
            if name not in data:
                raise ValueError(f"baseline lacks {name!r}")
            value = data[name]
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"baseline {name}={value!r} is not a number")
            values[name] = value
        baseline = cls(**values)
        if not (baseline.hr_scale_bpm > 0 and baseline.ln_rmssd_scale > 0):
            raise ValueError("baseline scales must be > 0")
        return baseline


class Calibration:
    """Collect a resting baseline beat by beat.

    Parameters
    ----------
    settings : CalibrationSettings
        Durations and acceptance rules.
    """

    def __init__(self, settings: CalibrationSettings = CalibrationSettings()) -> None:
        self.settings = settings
        self._t0 = math.nan
        self._next_sample = math.nan
        self._hr: list[float] = []  # bounded: one sample per step_s over the calibration
        self._v: list[float] = []
        self._beats = 0
        self._clean = 0
        self._poor = 0
        self._poor_reason = ""
        self._elapsed = 0.0

    @property
    def elapsed_s(self) -> float:
        """Stream time since the calibration started, s."""
        return self._elapsed

    @property
    def progress(self) -> float:
        """Fraction of the default duration done, in [0, 1]."""
        return min(1.0, self._elapsed / self.settings.duration_s)

    @property
    def done(self) -> bool:
        """True once the default duration has passed."""
        return self._elapsed >= self.settings.duration_s

    def push(self, result: BeatResult) -> None:
        """Take one processed beat of the resting person."""
        t = result.beat.t
        if math.isnan(self._t0):
            self._t0 = t
            self._next_sample = t + self.settings.drop_s
        self._elapsed = t - self._t0
        if self._elapsed < self.settings.drop_s:
            return
        self._beats += 1
        self._clean += result.beat.artifact is None
        if not result.quality.ok:
            self._poor += 1
            self._poor_reason = result.quality.reason
        if t >= self._next_sample:
            self._next_sample += self.settings.step_s * math.ceil(
                (t - self._next_sample + 1e-9) / self.settings.step_s
            )
            hr, v = result.hrv.hr_bpm, result.hrv.ln_rmssd
            if math.isfinite(hr) and math.isfinite(v):
                self._hr.append(hr)
                self._v.append(v)

    def finish(self) -> Baseline:
        """Return the baseline, or raise :class:`CalibrationError` saying why not."""
        s = self.settings
        used = self._elapsed - s.drop_s
        if self._elapsed < s.min_duration_s:
            raise CalibrationError(
                f"the rest lasted {self._elapsed:.0f} s; at least {s.min_duration_s:.0f} s "
                "are needed: sit still a little longer"
            )
        clean = self._clean / self._beats if self._beats else 0.0
        if clean < s.min_clean:
            raise CalibrationError(
                f"only {100 * clean:.0f} % of beats were clean (at least {100 * s.min_clean:.0f} % "
                "needed): moisten the strap's electrodes, tighten it, sit still and try again"
            )
        poor = self._poor / self._beats if self._beats else 1.0
        if poor > 1.0 - s.min_clean:
            raise CalibrationError(
                f"the signal was poor for {100 * poor:.0f} % of the rest ({self._poor_reason}): "
                "moisten the strap's electrodes, tighten it, sit still and try again"
            )
        if len(self._hr) < 0.5 * used / s.step_s:
            raise CalibrationError(
                "too few valid HRV windows: the signal had gaps; check the strap and try again"
            )
        hr, v = np.array(self._hr), np.array(self._v)
        return Baseline(
            hr_bpm=float(np.median(hr)),
            hr_scale_bpm=max(
                s.hr_floor_bpm, MAD_TO_SD * float(np.median(np.abs(hr - np.median(hr))))
            ),
            ln_rmssd=float(np.median(v)),
            ln_rmssd_scale=max(
                s.ln_rmssd_floor,
                MAD_TO_SD * float(np.median(np.abs(v - np.median(v)))),
                math.log1p(s.timing_resolution_ms / math.exp(float(np.median(v)))),
            ),
            samples=int(hr.size),
            clean_fraction=clean,
            duration_s=used,
        )
