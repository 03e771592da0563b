"""A realistic, seeded virtual chest strap: the person, the artifacts, the notifications.

RR intervals are the sum of a mean interval that follows a scripted scenario, a slow
LF oscillation (~0.1 Hz, baroreflex), respiratory sinus arrhythmia at the breathing rate
and white noise. Optional artifacts are injected on beat *times* the way SCIENCE.md §2
describes (missed: a peak deleted; extra: a peak inserted; ectopic: a peak moved
earlier), with exact ground truth. Beats leave the strap the way a real one sends them:
one notification per second carrying the 0-3 RR values completed since the last one,
delivered after a small radio latency and stamped by :class:`sensors.beat_clock.BeatClock`.

:class:`SimulatedStrap` is the synchronous generator (used by tests and batch tools);
:class:`sensors.simulated.source.SimulatedSource` streams it to the engine in real time
or faster.
"""

import dataclasses
import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from sensors.beat_clock import BeatClock
from sensors.simulated.settings import ARTIFACT_KINDS, SimSettings
from sensors.simulated.slow_hr import SlowHeartRate, dyad_slow_bpm

__all__ = [
    "GroundTruth",
    "Notification",
    "SimulatedStrap",
    "follow_share",
    "resonance_gain",
    "resonance_lead_s",
    "simulate",
]


@dataclass(frozen=True)
class Notification:
    """One Heart Rate Measurement notification as the strap sends it.

    Attributes
    ----------
    arrival_s : float
        When it reaches the host, seconds since the session start.
    hr_bpm : float
        The strap's own HR field, beats/min.
    rr_ms : tuple of float
        RR values completed since the previous notification, oldest first, ms.
    contact : bool
        Skin contact flag.
    """

    arrival_s: float
    hr_bpm: float
    rr_ms: tuple[float, ...]
    contact: bool = True


@dataclass
class GroundTruth:
    """What the simulator really did, for tests.

    Attributes
    ----------
    artifacts : list of (int, str)
        ``(index, kind)``: the observed interval at ``index`` (0-based, counting every
        RR value the strap sent) is an artifact of that kind. For ``extra`` the index is
        that of the first of the two short intervals.
    peak_times_s : list of float
        True beat times, seconds since the session start (bounded: tests only).
    """

    artifacts: list[tuple[int, str]] = field(default_factory=list)
    peak_times_s: list[float] = field(default_factory=list)


def resonance_gain(breath_per_min: float, resonance_per_min: float) -> float:
    """RSA amplification by breathing rate: ~1 at 12/min, ~2.5 at the resonance rate.

    Vaschillo et al. 2002 report RSA amplitudes 2-3x larger at the resonance frequency.
    """
    return 1.0 + 1.6 * math.exp(-(((breath_per_min - resonance_per_min) / 1.5) ** 2))


def resonance_lead_s(breath_per_min: float, resonance_per_min: float) -> float:
    """How far HR leads the breath when paced, s: in phase (0 deg) at resonance.

    A modelling choice after Vaschillo et al. 2002 (HR and breathing in phase at the
    resonance frequency): the phase lead is ``-atan((rate - resonance) / 1.5/min)``,
    so HR leads at slower rates and lags at faster ones.
    """
    lead_rad = -math.atan((breath_per_min - resonance_per_min) / 1.5)
    return lead_rad / (2 * math.pi * breath_per_min / 60.0)


class SimulatedStrap:
    """Synchronous, seeded generator of strap notifications.

    Parameters
    ----------
    settings : SimSettings
        The simulated person and strap.
    keep_truth : bool
        Keep the true peak times in :attr:`truth` (grows with the session: tests only).
    """

    #: Smoothing of scenario steps, s: hearts speed up over seconds, not instantly.
    STEP_TAU_S = 3.0
    #: How long a change of posture takes in the ``posture`` scenario, s.
    POSTURE_RAMP_S = 20.0

    def __init__(self, settings: SimSettings, keep_truth: bool = False) -> None:
        self.settings = settings
        self.truth = GroundTruth()
        self._keep_truth = keep_truth
        self._rng = np.random.default_rng(settings.seed)
        self._t = 0.0  # time of the last true peak, s
        self._hr_delta = 0.0
        self._hrv_scale = 1.0
        self._breath_phase = self._rng.uniform(0, 2 * math.pi)
        self._lf_phase = self._rng.uniform(0, 2 * math.pi)
        self._lf_amp = 1.0
        self._breath_jitter = 0.0
        self._observed_prev = 0.0  # time of the previous observed (sent) peak
        self._observed_count = 0
        self._since_artifact = 0
        self._pending: list[float] = []  # observed peaks not yet sent
        self._next_notify_s = 1.0 + self._rng.uniform(0, 1)
        self._hr_display = settings.hr_bpm
        partner, share = None, 0.0
        if settings.r > 0 and settings.partner is not None:
            partner = SlowHeartRate(settings.partner.seed)
            share = follow_share(settings.r, settings.partner, settings)
        self._slow = (
            dyad_slow_bpm(settings, SlowHeartRate(settings.seed), partner, share)
            if settings.slow_bpm > 0
            else None
        )
        #: ``follow(t) -> (rate_per_min, lung_volume 0-1) or None``: the person follows a
        #: breathing pacer (strap time ``t``, s); see :meth:`SimulatedSource.follow_pacer`.
        self.follow: Callable[[float], tuple[float, float] | None] | None = None

    # -- the person -------------------------------------------------------------------
    def _targets(self, t: float) -> tuple[float, float, float | None, bool]:
        """Scenario targets at ``t``: HR change, HRV scale, paced rate, dropout."""
        s = self.settings
        active = s.onset_s <= t < s.onset_s + s.step_s
        # HRV x0.6 means RMSSD x0.6: a faster heart alone already shrinks successive
        # differences of RSA by about hr / (hr + delta), so the scale makes up for it.
        if s.scenario == "stress" and active:
            return 12.0, 0.6 * (s.hr_bpm + 12.0) / s.hr_bpm, None, False
        if s.scenario == "vagal" and active:
            return 3.0, 0.6 * (s.hr_bpm + 3.0) / s.hr_bpm, None, False
        if s.scenario == "low" and active:
            return -8.0, 1.0, None, False
        if s.scenario == "paced" and active:
            return 0.0, 1.0, s.paced_per_min, False
        if s.scenario == "dropout" and s.onset_s <= t < s.onset_s + s.gap_s:
            return 0.0, 1.0, None, True
        if s.scenario == "posture":  # upright fraction: linear ramps up and back down
            ramp = self.POSTURE_RAMP_S
            up = min(1.0, (t - s.onset_s) / ramp, (s.onset_s + s.step_s + ramp - t) / ramp)
            if up > 0.0:
                scale = 0.5 * (s.hr_bpm + 15.0) / s.hr_bpm
                return 15.0 * up, 1.0 + up * (scale - 1.0), None, False
        return 0.0, 1.0, None, False

    def _next_peak(self) -> float:
        """Advance to the next true peak and return its time, s."""
        s = self.settings
        rng = self._rng
        hr_target, scale_target, paced, _ = self._targets(self._t)
        rr_prev = 60.0 / (s.hr_bpm + self._hr_delta)
        a = 1.0 - math.exp(-rr_prev / self.STEP_TAU_S)
        self._hr_delta += a * (hr_target - self._hr_delta)
        self._hrv_scale += a * (scale_target - self._hrv_scale)
        drift = s.drift_bpm * math.sin(2 * math.pi * self._t / 3600.0)
        slow = self._slow(self._t) if self._slow is not None else 0.0
        mean_rr_ms = 60000.0 / (s.hr_bpm + drift + self._hr_delta + slow)
        # breathing: spontaneous rate wanders +-10 % (Ornstein-Uhlenbeck); paced is exact
        if paced is None:
            self._breath_jitter += (
                -self._breath_jitter * rr_prev / 20.0
                + 0.03 * math.sqrt(rr_prev) * rng.standard_normal()
            )
            breath = s.breath_per_min * (1.0 + max(-0.3, min(0.3, self._breath_jitter)))
        else:
            breath = paced
        guide = self.follow(self._t) if self.follow is not None else None
        if guide is not None:
            breath = guide[0]
        rsa = s.rsa_ms * resonance_gain(breath, s.resonance_per_min)
        self._lf_amp += (1.0 - self._lf_amp) * rr_prev / 30.0 + 0.1 * math.sqrt(
            rr_prev
        ) * rng.standard_normal()
        self._lf_amp = max(0.2, self._lf_amp)
        self._lf_phase += 2 * math.pi * 0.1 * rr_prev + 0.15 * rng.standard_normal()
        self._breath_phase += 2 * math.pi * breath / 60.0 * rr_prev
        rsa_ms = rsa * math.sin(self._breath_phase)
        if guide is not None:  # HR rises with the lung volume, shifted by resonance_lead_s
            lead = resonance_lead_s(breath, s.resonance_per_min)
            shifted = self.follow(self._t + mean_rr_ms / 2000.0 + lead)  # mid-interval
            volume = guide[1] if shifted is None else shifted[1]
            rsa_ms = rsa * (1.0 - 2.0 * volume)
        rr_ms = mean_rr_ms + self._hrv_scale * (
            rsa_ms
            + s.lf_ms * self._lf_amp * math.sin(self._lf_phase)
            + s.noise_ms * rng.standard_normal()
        )
        rr_ms = max(rr_ms, 250.0)
        self._t += rr_ms / 1000.0
        if self._keep_truth:
            self.truth.peak_times_s.append(self._t)
        return self._t

    # -- the strap --------------------------------------------------------------------
    def _observe(self, peak: float, prev: float) -> list[float]:
        """Observed peaks for one true peak, after artifact injection."""
        s = self.settings
        self._since_artifact += 1
        spacing = 10 if s.artifact_rate <= 0.05 else max(2, int(0.5 / s.artifact_rate))
        if (
            s.artifact_rate > 0
            and self._since_artifact >= spacing
            and self._observed_count > 20
            and self._rng.random() < s.artifact_rate * 1.5  # the spacing thins sites
        ):
            self._since_artifact = 0
            kind = ARTIFACT_KINDS[self._rng.integers(len(ARTIFACT_KINDS))]
            rr = peak - prev
            if kind == "missed":
                self.truth.artifacts.append((self._observed_count, kind))
                return []
            if kind == "extra":
                inserted = prev + self._rng.uniform(0.3, 0.7) * rr
                self.truth.artifacts.append((self._observed_count, kind))
                return [inserted, peak]
            self.truth.artifacts.append((self._observed_count, kind))
            return [peak - self._rng.uniform(0.2, 0.35) * rr]
        return [peak]

    def next_notification(self) -> Notification | None:
        """Generate up to the next notification; ``None`` for a notification lost in a dropout.

        Returns
        -------
        Notification or None
            The notification, or ``None`` when the strap is silent this second.
        """
        notify_at = self._next_notify_s
        while self._t < notify_at:
            prev = self._t
            peak = self._next_peak()
            for p in self._observe(peak, prev):
                self._pending.append(p)
                self._observed_count += 1
        # Peaks after notify_at wait for the next notification.
        due = [p for p in self._pending if p <= notify_at]
        self._pending = [p for p in self._pending if p > notify_at]
        self._next_notify_s = notify_at + 1.0 + 0.002 * self._rng.standard_normal()
        rr = []
        for p in due:
            rr.append((p - self._observed_prev) * 1000.0)
            self._observed_prev = p
        rr = [round(v * 1.024) / 1.024 for v in rr]  # straps quantise RR to 1/1024 s
        if self._targets(notify_at)[3]:
            return None
        hr = 60000.0 / np.mean(rr) if rr else self._hr_display
        self._hr_display = hr
        latency = 0.005 + self._rng.exponential(self.settings.latency_ms / 1000.0)
        return Notification(notify_at + latency, round(hr), tuple(rr))


def simulate(
    settings: SimSettings,
    duration_s: float,
    start_s: float = 0.0,
    follow: Callable[[float], tuple[float, float] | None] | None = None,
) -> dict:
    """Run the strap for ``duration_s`` and return what the engine would receive.

    The same code path as the live source: notifications stamped by a :class:`BeatClock`.

    Parameters
    ----------
    settings : SimSettings
        The simulated person.
    duration_s : float
        Session length, s.
    start_s : float
        Stream time of the session start, s.
    follow : callable, optional
        A breathing pacer the person follows: ``follow(t) -> (rate_per_min,
        lung_volume)`` at stream time ``t``, or None while it is off.

    Returns
    -------
    dict
        ``t_s`` and ``rr_ms`` (numpy arrays, one entry per RR value sent) and ``truth``
        (:class:`GroundTruth`, with true peak times).
    """
    strap = SimulatedStrap(settings, keep_truth=True)
    if follow is not None:
        strap.follow = lambda t: follow(start_s + t)
    clock = BeatClock()
    t_s: list[float] = []
    rr_ms: list[float] = []
    while True:
        note = strap.next_notification()
        if note is None:
            continue
        if note.arrival_s > duration_s:
            break
        t_s.extend(clock.stamp(start_s + note.arrival_s, note.rr_ms))
        rr_ms.extend(note.rr_ms)
    return {"t_s": np.array(t_s), "rr_ms": np.array(rr_ms), "truth": strap.truth}


#: Share of a unit slow fluctuation's variance that the synchrony detector sees once the
#: beats sample it, it is put on the 4 Hz grid and every 30 s is linearly detrended
#: (measured: 0.70 at 65 and 72 bpm; tests/test_simulated_dyad.py checks the r it gives).
SLOW_SEEN = 0.70
#: Correlation of one slow fluctuation with itself as two people's beats sample it.
SLOW_SAMPLED_R = 0.9975
#: Seed and length of the run that measures a person's other variation (deterministic).
_QUIET_SEED, _QUIET_S = 0x5EED, 600.0


@functools.lru_cache(maxsize=32)
def seen_variance(settings: SimSettings) -> tuple[float, float]:
    """A person's heart-rate variance as the synchrony detector sees it, bpm^2.

    Returns
    -------
    tuple of float
        ``(slow, other)``: the slow fluctuation's (``SLOW_SEEN * slow_bpm^2``) and that
        of everything else (breathing, the 0.1 Hz rhythm, beat noise), measured once on a
        10-minute resting run of this person with a fixed seed: 4 Hz grid, consecutive
        30-s segments linearly detrended (SCIENCE.md §5).
    """
    quiet = dataclasses.replace(
        settings,
        seed=_QUIET_SEED,
        slow_bpm=0.0,
        r=0.0,
        partner=None,
        scenario="rest",
        artifact_rate=0.0,
    )
    run = simulate(quiet, _QUIET_S)
    t, hr = run["t_s"], 60000.0 / run["rr_ms"]
    grid = np.arange(math.floor(t[0] * 4) + 1, math.floor(t[-1] * 4) + 1) / 4.0
    n = grid.size // 120
    segments = np.interp(grid, t, hr)[: n * 120].reshape(n, 120)
    i = np.arange(120) - 59.5
    resid = segments - segments.mean(axis=1, keepdims=True)
    resid -= np.outer(resid @ i / (i @ i), i)
    return SLOW_SEEN * settings.slow_bpm**2, float(np.mean(resid**2))


def follow_share(r: float, leader: SimSettings, follower: SimSettings) -> float:
    """Share of the follower's slow-HR variance that copies the leader's, to give ``r``.

    With ``f`` the slow fluctuation's share of what the detector sees of each person,
    ``r = sqrt(share) * SLOW_SAMPLED_R * sqrt(f_leader * f_follower)``.

    Raises
    ------
    ValueError
        When the two people cannot show ``r`` (their other variation is too large for
        their slow fluctuations): the message gives the largest r they can.
    """
    shares = []
    for person in (leader, follower):
        slow, other = seen_variance(person)
        shares.append(slow / (slow + other) if slow > 0 else 0.0)
    reach = SLOW_SAMPLED_R * math.sqrt(shares[0] * shares[1])
    if r > reach:
        raise ValueError(
            f"r={r:g} is more than these two people can show (at most {reach:.2f}): "
            "raise slow= on both"
        )
    return (r / reach) ** 2 if r > 0 else 0.0
