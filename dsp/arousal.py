"""Arousal against a personal window of tolerance: baseline, two-axis index, zones.

Two autonomic axes (Berntson et al. 1991, autonomic space): heart rate over 30 s
(HR30) and vagal tone as ln RMSSD over 60 s (V60; Laborde et al. 2017). A resting
calibration gives each person's centre (median) and scale (1.4826 x MAD) of both.
Live, ``z_H = (HR30 - med_H) / s_H`` and ``z_V = (V60 - med_V) / s_V`` make the arousal
index ``A = (z_H - z_V) / 2``, smoothed by an EWMA with a 10 s time constant.

Zones with hysteresis and dwell times (SCIENCE.md §4):

- WINDOW -> HYPER when A >= 1.5 for 10 s; back when A <= 1.0 for 20 s.
- WINDOW -> HYPO when the smoothed z_H <= -1.5 for 20 s (not while breathing is paced:
  slow paced breathing is not shutdown); back when it is >= -1.0 for 20 s. Hypoarousal
  has no validated cardiac signature; a falling HR is the defence-cascade reading
  (Schauer & Elbert 2010), so the UI words it "low arousal — check in".
- Any -> UNKNOWN when the signal quality is poor (``dsp.quality``: > 10 % artifacts
  over 30 s, a gap > 5 s, lost or duplicated beats, erratic raw beats) or skin contact
  is lost; back to WINDOW after 15 s of clean signal.

During paced breathing the vagal term is frozen (RSA at 6/min inflates RMSSD).
A clinician may widen (or narrow) the band: every threshold moves out by ``band_widen``.
"""

import enum
import math
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # the pipeline composes this stage; importing it here would be circular
    from dsp.pipeline import BeatResult, PipelineSettings

MAD_TO_SD = 1.4826  # scales a median absolute deviation to a normal SD


class Zone(enum.Enum):
    """Where a person is relative to their window of tolerance."""

    HYPO = "hypo"
    WINDOW = "window"
    HYPER = "hyper"
    UNKNOWN = "unknown"


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
    """

    duration_s: float = 300.0
    min_duration_s: float = 180.0
    drop_s: float = 60.0
    step_s: float = 5.0
    min_clean: float = 0.90
    hr_floor_bpm: float = 2.0
    ln_rmssd_floor: float = 0.10


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

    def push(self, result: "BeatResult") -> None:
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
                s.ln_rmssd_floor, MAD_TO_SD * float(np.median(np.abs(v - np.median(v))))
            ),
            samples=int(hr.size),
            clean_fraction=clean,
            duration_s=used,
        )


@dataclass(frozen=True)
class ArousalSettings:
    """Index smoothing, zone thresholds and dwell times (SCIENCE.md §4).

    Attributes
    ----------
    tau_s : float
        EWMA time constant of the index and of z_H, s.
    hyper_enter, hyper_exit : float
        Index thresholds into and out of HYPER.
    hyper_enter_s, hyper_exit_s : float
        Dwell times for those, s.
    hypo_enter, hypo_exit : float
        Thresholds of the smoothed z_H into and out of HYPO.
    hypo_enter_s, hypo_exit_s : float
        Dwell times for those, s.
    resume_s : float
        Clean signal needed to leave UNKNOWN, s.
    band_widen : float
        Clinician's adjustment: every threshold moves outwards by this (negative narrows).
    """

    tau_s: float = 10.0
    hyper_enter: float = 1.5
    hyper_exit: float = 1.0
    hyper_enter_s: float = 10.0
    hyper_exit_s: float = 20.0
    hypo_enter: float = -1.5
    hypo_exit: float = -1.0
    hypo_enter_s: float = 20.0
    hypo_exit_s: float = 20.0
    resume_s: float = 15.0
    band_widen: float = 0.0

    def __post_init__(self) -> None:
        if not -0.9 <= self.band_widen <= 3.0:
            raise ValueError(f"band_widen {self.band_widen!r} is outside -0.9..3.0")

    @property
    def upper(self) -> float:
        """Upper edge of the window (index), after the clinician's adjustment."""
        return self.hyper_enter + self.band_widen

    @property
    def lower(self) -> float:
        """Lower edge of the window (smoothed z_H), after the clinician's adjustment."""
        return self.hypo_enter - self.band_widen


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


class _Dwell:
    """Time since a condition became continuously true."""

    def __init__(self) -> None:
        self.since = math.nan

    def held(self, condition: bool, t: float) -> float:
        if not condition:
            self.since = math.nan
            return 0.0
        if math.isnan(self.since):
            self.since = t
        return t - self.since


class ArousalEstimator:
    """Beat-by-beat arousal index and zone against a baseline.

    Parameters
    ----------
    baseline : Baseline
        The person's resting baseline.
    settings : ArousalSettings
        Thresholds, dwell times and smoothing.
    """

    def __init__(self, baseline: Baseline, settings: ArousalSettings = ArousalSettings()) -> None:
        self.baseline = baseline
        self.settings = settings
        self.reset()

    def reset(self) -> None:
        """Forget the session (the baseline stays)."""
        self._t = math.nan
        self._index = math.nan
        self._z_hr = math.nan
        self._frozen_z_v = math.nan
        self.zone = Zone.UNKNOWN
        self._clean_since = math.nan
        self._dwell = {name: _Dwell() for name in ("hyper_in", "hyper_out", "hypo_in", "hypo_out")}

    def push(self, result: "BeatResult", paced: bool = False) -> ArousalState:
        """Update with one processed beat.

        Parameters
        ----------
        result : BeatResult
            The pipeline's output for the beat (its HRV and quality metrics).
        paced : bool
            True while the person follows a breathing pacer.
        """
        s, b = self.settings, self.baseline
        t = result.beat.t
        dt = 0.0 if math.isnan(self._t) else max(0.0, t - self._t)
        self._t = t
        hr, v = result.hrv.hr_bpm, result.hrv.ln_rmssd
        z_h = (hr - b.hr_bpm) / b.hr_scale_bpm
        z_v = (v - b.ln_rmssd) / b.ln_rmssd_scale
        if paced:
            if math.isnan(self._frozen_z_v):
                self._frozen_z_v = z_v
            z_v = self._frozen_z_v
        else:
            self._frozen_z_v = math.nan
        raw_index = (z_h - z_v) / 2.0
        alpha = 1.0 - math.exp(-dt / s.tau_s)
        self._index = _ewma(self._index, raw_index, alpha)
        self._z_hr = _ewma(self._z_hr, z_h, alpha)

        problem = self._signal_problem(result)
        if problem:
            self.zone = Zone.UNKNOWN
            self._clean_since = math.nan
            for dwell in self._dwell.values():
                dwell.since = math.nan
            return ArousalState(t, self._z_hr, z_v, self._index, self.zone, problem)
        if self.zone is Zone.UNKNOWN:
            if math.isnan(self._clean_since):
                self._clean_since = t
            # entry dwell times run while settling, so a clear state shows at once on resume
            self._dwell["hyper_in"].held(self._index >= s.upper, t)
            self._dwell["hypo_in"].held(self._z_hr <= s.lower and not paced, t)
            if t - self._clean_since < s.resume_s or math.isnan(self._index):
                reason = "waiting for HRV windows" if math.isnan(self._index) else "settling"
                return ArousalState(t, self._z_hr, z_v, self._index, self.zone, reason)
            self.zone = Zone.WINDOW
        self._update_zone(t, paced)
        return ArousalState(t, self._z_hr, z_v, self._index, self.zone)

    def _signal_problem(self, result: "BeatResult") -> str:
        """Why there is no estimate now ("" when the signal is good enough)."""
        if result.contact is False:
            return "no skin contact"
        quality = result.quality
        return "" if quality.ok else quality.reason

    def _update_zone(self, t: float, paced: bool) -> None:
        s, d = self.settings, self._dwell
        index, z_h = self._index, self._z_hr
        if self.zone is Zone.WINDOW:
            if d["hyper_in"].held(index >= s.upper, t) >= s.hyper_enter_s:
                self._enter(Zone.HYPER)
            elif d["hypo_in"].held(z_h <= s.lower and not paced, t) >= s.hypo_enter_s:
                self._enter(Zone.HYPO)
        elif self.zone is Zone.HYPER:
            if d["hyper_out"].held(index <= s.hyper_exit + s.band_widen, t) >= s.hyper_exit_s:
                self._enter(Zone.WINDOW)
        elif self.zone is Zone.HYPO:
            if d["hypo_out"].held(z_h >= s.hypo_exit - s.band_widen, t) >= s.hypo_exit_s:
                self._enter(Zone.WINDOW)

    def _enter(self, zone: Zone) -> None:
        self.zone = zone
        for dwell in self._dwell.values():
            dwell.since = math.nan


def _ewma(previous: float, value: float, alpha: float) -> float:
    if math.isnan(value):
        return previous
    if math.isnan(previous):
        return value
    return previous + alpha * (value - previous)


@dataclass(frozen=True)
class ArousalTrace:
    """Per-beat arousal of a whole session (arrays of one length).

    Attributes
    ----------
    t : array of float
        Corrected beat times, s.
    index : array of float
        Smoothed arousal index (NaN before the HRV windows fill).
    z_hr, z_vagal : array of float
        The two axes.
    zone : array of object
        :class:`Zone` per beat.
    baseline : Baseline
        The baseline used.
    """

    t: np.ndarray
    index: np.ndarray
    z_hr: np.ndarray
    z_vagal: np.ndarray
    zone: np.ndarray
    baseline: Baseline = field(repr=False)


def calibrate(
    t_s: np.ndarray,
    rr_ms: np.ndarray,
    settings: CalibrationSettings = CalibrationSettings(),
    pipeline: "PipelineSettings | None" = None,
) -> Baseline:
    """Baseline from a resting recording (the live calibration's code, over arrays).

    Raises
    ------
    CalibrationError
        When the rest is too short or too noisy.
    """
    from dsp.pipeline import PipelineSettings, process

    calibration = Calibration(settings)
    for result in process(t_s, rr_ms, settings=pipeline or PipelineSettings()):
        calibration.push(result)
    return calibration.finish()


def to_trace(results: list["BeatResult"], baseline: Baseline) -> ArousalTrace:
    """Collect the arousal states of processed beats into arrays."""
    states = [r.arousal for r in results if r.arousal is not None]
    return ArousalTrace(
        t=np.array([st.t for st in states]),
        index=np.array([st.index for st in states]),
        z_hr=np.array([st.z_hr for st in states]),
        z_vagal=np.array([st.z_vagal for st in states]),
        zone=np.array([st.zone for st in states], dtype=object),
        baseline=baseline,
    )


def classify(
    t_s: np.ndarray,
    rr_ms: np.ndarray,
    baseline_t_s: np.ndarray,
    baseline_rr_ms: np.ndarray,
    settings: ArousalSettings = ArousalSettings(),
    paced: np.ndarray | None = None,
) -> ArousalTrace:
    """Per-beat arousal index and zone of a session against a resting baseline.

    Runs the live pipeline (with its arousal stage) over arrays, so the result equals
    the live one.

    Parameters
    ----------
    t_s, rr_ms : arrays
        The session's beat times (s) and raw RR intervals (ms).
    baseline_t_s, baseline_rr_ms : arrays
        The resting calibration's beat times (s) and raw RR intervals (ms).
    settings : ArousalSettings
        Thresholds and dwell times.
    paced : array of bool or None
        Per raw beat: True while breathing is paced.

    Raises
    ------
    CalibrationError
        When the baseline recording is too short or too noisy.
    """
    from dsp.pipeline import PipelineSettings, process

    baseline = calibrate(baseline_t_s, baseline_rr_ms)
    pipeline = PipelineSettings(arousal=settings)
    return to_trace(
        process(t_s, rr_ms, settings=pipeline, baseline=baseline, paced=paced), baseline
    )
