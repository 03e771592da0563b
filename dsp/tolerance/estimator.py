"""Arousal against a personal window of tolerance: the two-axis index and the zones.

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

import math
from dataclasses import dataclass

from dsp.beat_result import BeatResult
from dsp.tolerance.baseline import Baseline
from dsp.tolerance.state import ArousalState, Zone

__all__ = ["ArousalEstimator", "ArousalSettings"]


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

    def push(self, result: BeatResult, paced: bool = False) -> ArousalState:
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

    def _signal_problem(self, result: BeatResult) -> str:
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
