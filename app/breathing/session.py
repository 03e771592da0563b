"""Regulated breathing in a session: pacer, live feedback and the resonance assessment.

:class:`BreathingSession` is a sink (engine loop): it hears every corrected beat, runs a
:class:`dsp.breathing.BreathingMonitor` per subject, publishes the pacer's phase on the
``pacer`` stream (10 samples per second of stream time, caught up as beats arrive),
tells the engine when breathing is paced (the window-of-tolerance logic freezes its
vagal term) and steps the guided resonance-frequency assessment on stream time, so the
protocol runs identically in real time, at ``--speed 0`` and on a replay. The UI reads
:attr:`BreathingSession.view`, an immutable :class:`BreathingView` swapped at most
once per beat.

Coherence levels (three challenge levels) are heartsync's choice, after the levels of
HeartMath's trainers (McCraty et al. 2009): the coherence ratio thresholds for
"medium" and "high" rise with the level.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from app.streams.specs import PACER
from dsp.beat_result import BeatResult
from dsp.breathing import CRITERIA as CRITERIA  # the window labels the assessment table
from dsp.breathing import BreathingMonitor, rank_rates, rate_estimates
from dsp.breathing.pacer import STAGES, Pacer, PacerSettings, round_rate, volumes
from dsp.breathing.pacer import PacerState as PacerState  # the pacer widget draws it

log = logging.getLogger(__name__)

#: Challenge levels: coherence-ratio thresholds (medium, high). The peak fraction
#: equivalent of a ratio CR is sqrt(CR) / (1 + sqrt(CR)).
CHALLENGES: dict[str, tuple[float, float]] = {
    "easy": (0.5, 1.0),
    "medium": (1.0, 3.0),
    "hard": (3.0, 9.0),
}
#: The default resonance protocol, breaths/min (Lehrer, Vaschillo & Vaschillo 2000).
DEFAULT_RATES = (6.5, 6.0, 5.5, 5.0, 4.5)
PACER_STREAM_HZ = 10.0
#: Profile.extra key of the assessed resonance rate.
PROFILE_KEY = "resonance"
_HISTORY = 120  # coherence updates kept for the plot (10 min at one per 5 s)
_BREATHS = 30  # peak-to-trough values kept


def fraction_threshold(ratio: float) -> float:
    """The peak fraction equivalent to a McCraty coherence ratio."""
    r = math.sqrt(ratio)
    return r / (1.0 + r)


def coherence_level(ratio: float, challenge: str) -> str:
    """``low``, ``medium`` or ``high`` coherence at a challenge level ("" when unknown)."""
    if not math.isfinite(ratio) and not ratio == math.inf:
        return ""
    medium, high = CHALLENGES[challenge]
    return "high" if ratio >= high else "medium" if ratio >= medium else "low"


@dataclass(frozen=True)
class Summary:
    """One subject's session summary.

    Attributes
    ----------
    paced_s : float
        Seconds of stream time with the pacer running (and beats arriving).
    high_s, measured_s : float
        Seconds in high coherence, and seconds with a coherence estimate.
    mean_rate_per_min : float
        Mean breathing rate from RSA over the estimates while paced, breaths/min.
    mean_target_per_min : float
        Mean pacer rate over the same estimates, breaths/min.
    mean_peak_fraction : float
        Mean coherence peak fraction.
    """

    paced_s: float = 0.0
    high_s: float = 0.0
    measured_s: float = 0.0
    mean_rate_per_min: float = math.nan
    mean_target_per_min: float = math.nan
    mean_peak_fraction: float = math.nan


@dataclass(frozen=True)
class SubjectBreathing:
    """Live breathing feedback of one subject.

    Attributes
    ----------
    subject : str
        Whose.
    rate_per_min : float
        Breathing rate from RSA, breaths/min (NaN: not yet known).
    coherence : dict
        The latest :func:`dsp.breathing.coherence` (``peak_hz``, ``peak_fraction``,
        ``ratio``...).
    level : str
        ``low``, ``medium``, ``high`` at the chosen challenge, "" when unknown.
    ptt_bpm : numpy.ndarray
        Peak-to-trough HR of the last breaths, beats/min, oldest first.
    coherence_t, coherence_fraction : numpy.ndarray
        The coherence history (stream time s, peak fraction) for a plot.
    summary : Summary
        The session so far.
    chest_coherence : dict
        :func:`dsp.breathing.coherence` centred on the breathing rate measured from the
        chest (a Polar strap's acceleration); empty without one.
    """

    subject: str
    rate_per_min: float = math.nan
    coherence: dict = field(default_factory=dict)
    level: str = ""
    ptt_bpm: np.ndarray = field(default_factory=lambda: np.zeros(0))
    coherence_t: np.ndarray = field(default_factory=lambda: np.zeros(0))
    coherence_fraction: np.ndarray = field(default_factory=lambda: np.zeros(0))
    summary: Summary = field(default_factory=Summary)
    chest_coherence: dict = field(default_factory=dict)


@dataclass(frozen=True)
class AssessmentView:
    """Progress and result of a resonance-frequency assessment.

    Attributes
    ----------
    subject : str
        Who is assessed.
    rates : tuple of float
        The protocol's rates, breaths/min, in order.
    step_s : float
        Seconds at each rate.
    stage : int
        Index of the current rate (``len(rates)`` when finished).
    stage_left_s : float
        Seconds left at the current rate.
    estimates : tuple of dict
        :func:`dsp.breathing.rate_estimates` of the finished stages.
    ranking : tuple of dict
        :func:`dsp.breathing.rank_rates` once finished (best first), else empty.
    """

    subject: str
    rates: tuple[float, ...]
    step_s: float
    stage: int = 0
    stage_left_s: float = math.nan
    estimates: tuple[dict, ...] = ()
    ranking: tuple[dict, ...] = ()

    @property
    def done(self) -> bool:
        """True when every rate was measured."""
        return self.stage >= len(self.rates)

    @property
    def best_rate_per_min(self) -> float:
        """The top-ranked rate, breaths/min (NaN until done)."""
        return self.ranking[0]["rate_per_min"] if self.ranking else math.nan


@dataclass(frozen=True)
class BreathingView:
    """What the breathing UI shows (immutable; read from any thread).

    Attributes
    ----------
    t : float
        Stream time of the newest beat, s.
    pacer : Pacer or None
        A frozen copy of the running pacer (None: off).
    challenge : str
        The challenge level.
    subjects : tuple of SubjectBreathing
        Per subject, in the engine's order.
    assessment : AssessmentView or None
        The running or last assessment.
    """

    t: float = math.nan
    pacer: Pacer | None = None
    challenge: str = "easy"
    subjects: tuple[SubjectBreathing, ...] = ()
    assessment: AssessmentView | None = None


class _Live:
    """Per-subject state (engine loop only)."""

    def __init__(self, subject: str) -> None:
        self.subject = subject
        self.monitor = BreathingMonitor()
        self.ptt: list[float] = []
        self.coh_t: list[float] = []
        self.coh_f: list[float] = []
        self.last_t = math.nan
        self.rate_sum = self.target_sum = self.fraction_sum = 0.0
        self.rate_n = self.fraction_n = 0
        self.view = SubjectBreathing(subject)
        self.chest_coherence: dict = {}


class _Assessment:
    def __init__(self, subject: str, rates: Sequence[float], step_s: float, settle_s: float):
        self.view = AssessmentView(subject, tuple(rates), step_s)
        self.settle_s = settle_s
        self.t0 = math.nan  # stream time of the first stage (set by the first beat)
        self.beats: list[tuple[float, float]] = []
        self.stage_pacer: Pacer | None = None


class BreathingSession:
    """The breathing feature of one engine session (a sink; engine-loop methods).

    Parameters
    ----------
    engine : app.engine.Engine
        The engine (for stream time, ``publish`` and ``set_paced``).
    challenge : str
        Initial challenge level, one of :data:`CHALLENGES`.
    """

    def __init__(self, engine, challenge: str = "easy") -> None:
        if challenge not in CHALLENGES:
            raise ValueError(f"challenge {challenge!r} is not one of {', '.join(CHALLENGES)}")
        self.engine = engine
        self.challenge = challenge
        self._pacer: Pacer | None = None
        self._pacer_from = math.nan  # pacer start (s); breaths before it are unpaced
        self._published = math.nan  # stream time of the last pacer sample
        self._latest_t = math.nan
        self._live = {s.subject: _Live(s.subject) for s in engine.sources}
        self._assessment: _Assessment | None = None
        self._pending_start: tuple[PacerSettings, float | None] | None = None
        self.view = BreathingView(challenge=challenge, subjects=self._subjects_view())

    # -- commands (engine loop: EngineThread.call) --------------------------------------
    def start_pacer(self, settings: PacerSettings, t: float | None = None) -> None:
        """Start (or reshape) the pacer at stream time ``t`` (default now); paced on.

        When the pacer already runs, the breath continues with the new settings.
        """
        t = self.engine.stream_now() if t is None else t
        if self._pacer is None:
            self._pacer = Pacer(settings, t0=t)
            self._pacer_from = t
            self._published = (math.ceil(t * PACER_STREAM_HZ - 1e-9) - 1) / PACER_STREAM_HZ
            self.engine.set_paced(True)
            for source in self.engine.sources:
                follow = getattr(source, "follow_pacer", None)
                if follow is not None:
                    follow(self._guide)
            log.info("pacer on at %.1f breaths/min", settings.rate_per_min)
        else:
            self._pacer.change(max(t, self._pacer.t0), settings)
        self._tell_chest()
        self._swap()

    def stop_pacer(self) -> None:
        """Stop the pacer (paced breathing off)."""
        if self._pacer is None:
            return
        self._publish_pacer(self.engine.stream_now())
        self._pacer = None
        self.engine.set_paced(False)
        for source in self.engine.sources:
            follow = getattr(source, "follow_pacer", None)
            if follow is not None:
                follow(None)
        self._tell_chest()
        self._swap()

    def set_challenge(self, challenge: str) -> None:
        """Change the challenge level (moves the coherence thresholds)."""
        if challenge not in CHALLENGES:
            raise ValueError(f"challenge {challenge!r} is not one of {', '.join(CHALLENGES)}")
        self.challenge = challenge
        for live in self._live.values():
            ratio = live.view.coherence.get("ratio", math.nan)
            live.view = replace(live.view, level=coherence_level(ratio, challenge))
        self._swap()

    def start_assessment(
        self,
        subject: str | None = None,
        rates: Sequence[float] = DEFAULT_RATES,
        step_s: float = 120.0,
        settle_s: float = 20.0,
        shape: PacerSettings | None = None,
        at_first_beat: bool = False,
    ) -> None:
        """Begin the guided resonance protocol: ``step_s`` at each rate, in order.

        Parameters
        ----------
        subject : str or None
            Who is assessed (default the first subject).
        rates : sequence of float
            Breathing rates, breaths/min (rounded to 0.1, within 3-10).
        step_s : float
            Seconds at each rate (Lehrer 2000: 120).
        settle_s : float
            Seconds dropped at the start of each rate while the rhythm settles.
        shape : PacerSettings or None
            Inhale:exhale ratio and holds (the rate is the protocol's).
        at_first_beat : bool
            Start with the next beat's time (headless runs before any beat arrived).
        """
        subject = subject or next(iter(self._live))
        if subject not in self._live:
            raise ValueError(f"unknown subject {subject!r}")
        rates = tuple(round_rate(r) for r in rates)
        if not rates or step_s < 3 * 60.0 / min(rates) / 2 or not 0 <= settle_s < step_s:
            raise ValueError("the protocol needs rates, >= 1.5 breaths per step and settle < step")
        self.stop_pacer()
        self._assessment = _Assessment(subject, rates, step_s, settle_s)
        settings = replace(shape or PacerSettings(), rate_per_min=rates[0])
        if at_first_beat:
            self._pending_start = (settings, None)
        else:
            self._begin_assessment(settings, self.engine.stream_now())

    def cancel_assessment(self) -> None:
        """Abandon the assessment (the pacer stops)."""
        self._assessment = None
        self._pending_start = None
        self.stop_pacer()

    # -- sink protocol ------------------------------------------------------------------
    def write(self, result: BeatResult) -> None:
        """One corrected beat (engine loop)."""
        t = result.beat.t
        if self._pending_start is not None:
            settings, _ = self._pending_start
            self._pending_start = None
            self._begin_assessment(settings, t)
        if not t <= self._latest_t:
            self._latest_t = t
        self._step_assessment(t)
        self._publish_pacer(t)
        live = self._live.get(result.subject)
        if live is None:
            live = self._live[result.subject] = _Live(result.subject)
        self._update(live, result)
        if self._assessment is not None and result.subject == self._assessment.view.subject:
            a = self._assessment
            if not math.isnan(a.t0) and result.beat.rr_ms > 0:
                a.beats.append((t, result.beat.rr_ms))
        self._swap()

    def status(self, subject: str, source: str, status) -> None:
        """Status changes need nothing here."""

    def close(self) -> None:
        """End of the session (pacer samples up to the last beat are already out)."""

    # -- internals ----------------------------------------------------------------------
    def _tell_chest(self) -> None:
        """Breathing measured from the chest compares itself with this pacer."""
        signals = getattr(self.engine, "signals", None)
        if signals is not None:
            signals.set_pacer(self._pacer)

    def _chest_coherence(self, live: _Live) -> dict:
        """Coherence at the breathing rate the chest shows (empty when unknown)."""
        signals = getattr(self.engine, "signals", None)
        mine = None if signals is None else signals.view.of(live.subject)
        breath = None if mine is None else mine.breath
        if breath is None or breath.quality != "ok" or not math.isfinite(breath.rate_per_min):
            return {}
        return live.monitor.coherence_at(breath.rate_per_min / 60.0)

    def _guide(self, t: float) -> tuple[float, float] | None:
        pacer = self._pacer
        if pacer is None or t < self._pacer_from:
            return None
        state = pacer.state(t)
        return state.rate_per_min, state.volume

    def _begin_assessment(self, settings: PacerSettings, t: float) -> None:
        a = self._assessment
        a.t0 = t
        self.start_pacer(settings, t)
        a.stage_pacer = self._pacer.copy()
        a.view = replace(a.view, stage=0, stage_left_s=a.view.step_s)
        log.info("resonance assessment: %s breaths/min, %.0f s each", a.view.rates, a.view.step_s)

    def _step_assessment(self, t: float) -> None:
        a = self._assessment
        if a is None or math.isnan(a.t0) or a.view.done:
            return
        step = a.view.step_s
        while not a.view.done and t >= a.t0 + (a.view.stage + 1) * step:
            stage = a.view.stage
            start = a.t0 + stage * step
            end = start + step
            beats = np.array([b for b in a.beats if start + a.settle_s <= b[0] < end]).reshape(
                -1, 2
            )
            frozen = a.stage_pacer
            est = rate_estimates(
                beats[:, 0], beats[:, 1], a.view.rates[stage], lambda x, p=frozen: volumes(p, x)
            )
            a.beats = [b for b in a.beats if b[0] >= end]
            estimates = (*a.view.estimates, est)
            stage += 1
            a.view = replace(a.view, stage=stage, estimates=estimates)
            log.info(
                "resonance %.1f/min: peak-to-trough %.1f bpm, phase %.0f deg",
                est["rate_per_min"],
                est["peak_to_trough_bpm"],
                est["phase_deg"],
            )
            if stage < len(a.view.rates):
                self._pacer.set_rate(end, a.view.rates[stage])
                a.stage_pacer = self._pacer.copy()
                log.info("now breathe at %.1f breaths/min for %.0f s", a.view.rates[stage], step)
            else:
                ranking = tuple(rank_rates(list(estimates)))
                a.view = replace(a.view, ranking=ranking, stage_left_s=0.0)
                self._publish_pacer(end)
                self.stop_pacer()
                self.engine.mark(
                    f"resonance assessment done: best {ranking[0]['rate_per_min']:.1f}/min"
                )
                return
        a.view = replace(a.view, stage_left_s=a.t0 + (a.view.stage + 1) * step - t)

    def _publish_pacer(self, t: float) -> None:
        pacer = self._pacer
        if pacer is None:
            return
        k0 = math.floor(self._published * PACER_STREAM_HZ) + 1
        k1 = math.floor(t * PACER_STREAM_HZ)
        stage_code = {name: float(i) for i, name in enumerate(STAGES)}
        for k in range(max(k0, k1 - 600), k1 + 1):  # at most a minute caught up
            ts = k / PACER_STREAM_HZ
            if ts < self._pacer_from:
                continue
            s = pacer.state(ts)
            values = (s.cycles, s.volume, s.rate_per_min, stage_code[s.stage])
            self.engine.publish(PACER, "session", ts, values)
        if k1 >= k0:
            self._published = k1 / PACER_STREAM_HZ

    def _update(self, live: _Live, result: BeatResult) -> None:
        t = result.beat.t
        pacer = self._pacer
        paced = pacer is not None and t >= self._pacer_from
        cycles = pacer.cycles_at(t) if paced else math.nan
        u = live.monitor.push(t, result.beat.rr_ms, result.gap_before, cycles)
        view = live.view
        s = view.summary
        dt_s = 0.0 if math.isnan(live.last_t) else min(max(t - live.last_t, 0.0), 5.0)
        live.last_t = t
        ratio = u.coherence.get("ratio", math.nan)
        level = coherence_level(ratio, self.challenge)
        paced_s = s.paced_s + (dt_s if paced else 0.0)
        measured_s = s.measured_s + (dt_s if level else 0.0)
        high_s = s.high_s + (dt_s if level == "high" else 0.0)
        if math.isfinite(u.breath_ptt_bpm):
            live.ptt = [*live.ptt[-(_BREATHS - 1) :], u.breath_ptt_bpm]
        if u.updated:
            live.chest_coherence = self._chest_coherence(live)
            fraction = u.coherence.get("peak_fraction", math.nan)
            live.coh_t = [*live.coh_t[-(_HISTORY - 1) :], t]
            live.coh_f = [*live.coh_f[-(_HISTORY - 1) :], fraction]
            if math.isfinite(fraction):
                live.fraction_sum += fraction
                live.fraction_n += 1
            if paced and math.isfinite(u.rate_per_min):
                live.rate_sum += u.rate_per_min
                live.target_sum += pacer.settings.rate_per_min
                live.rate_n += 1
        summary = Summary(
            paced_s,
            high_s,
            measured_s,
            live.rate_sum / live.rate_n if live.rate_n else math.nan,
            live.target_sum / live.rate_n if live.rate_n else math.nan,
            live.fraction_sum / live.fraction_n if live.fraction_n else math.nan,
        )
        live.view = SubjectBreathing(
            live.subject,
            u.rate_per_min,
            u.coherence,
            level,
            np.array(live.ptt),
            np.array(live.coh_t),
            np.array(live.coh_f),
            summary,
            live.chest_coherence,
        )

    def _subjects_view(self) -> tuple[SubjectBreathing, ...]:
        return tuple(live.view for live in self._live.values())

    def _swap(self) -> None:
        a = self._assessment
        self.view = BreathingView(
            self._latest_t,
            None if self._pacer is None else self._pacer.copy(),
            self.challenge,
            self._subjects_view(),
            None if a is None else a.view,
        )


# -- profiles ---------------------------------------------------------------------------
def with_resonance(profile, assessment: AssessmentView, rate_per_min: float | None = None):
    """A copy of a :class:`app.profiles.Profile` with the chosen resonance rate in ``extra``.

    Parameters
    ----------
    profile : app.profiles.Profile
        The person's profile.
    assessment : AssessmentView
        A finished assessment.
    rate_per_min : float or None
        The rate the person chose (default the top-ranked one).
    """
    rate = assessment.best_rate_per_min if rate_per_min is None else round_rate(rate_per_min)
    record = {
        "rate_per_min": rate,
        "assessed_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "ranking": [
            {
                k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                for k, v in r.items()
            }
            for r in assessment.ranking
        ],
    }
    return replace(profile, extra={**profile.extra, PROFILE_KEY: record})


def resonance_rate(profile) -> float | None:
    """The resonance rate saved in a profile, breaths/min (None: never assessed)."""
    record = (profile.extra or {}).get(PROFILE_KEY) if profile is not None else None
    try:
        return round_rate(float(record["rate_per_min"]))
    except (TypeError, KeyError, ValueError):
        return None
