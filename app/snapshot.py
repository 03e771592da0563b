"""Immutable views of the engine's state that the UI polls (one reference swap, no locks)."""

import math
from dataclasses import dataclass, field

import numpy as np

from dsp.beat_result import BeatResult
from dsp.dyad.types import SessionSynchrony, SynchronyEstimate, SynchronySettings
from dsp.hrv.settings import HrvSettings
from dsp.ring import RingBuffer, RowRing
from dsp.tolerance.baseline import Baseline
from dsp.tolerance.state import Zone as Zone  # the window reads zones from snapshots
from dsp.types import Beat
from sensors.base import SourceState as SourceState
from sensors.base import SourceStatus

#: Warm-up of each live measure, s (the default window lengths): the window counts down
#: "RMSSD in 42 s", "synchrony in 2:10" until the first value.
WARMUP_S = {
    "hr": HrvSettings.hr_window_s,
    "rmssd": HrvSettings.rmssd_window_s,
    "hf": HrvSettings.spectrum_window_s,
    "synchrony": SynchronySettings.min_history_s,
}

#: Highest heart rate we size buffers for, beats/min.
MAX_HR_BPM = 220

#: Zones as small integers for the arousal history (index into this tuple).
ZONES = tuple(Zone)
_ZONE_CODE = {zone: code for code, zone in enumerate(ZONES)}


@dataclass(frozen=True)
class CalibrationView:
    """A calibration under way or just finished.

    Attributes
    ----------
    elapsed_s, duration_s : float
        Stream time done and asked for, s.
    baseline : Baseline or None
        The result, once accepted.
    error : str
        Why the baseline was refused ("" otherwise).
    """

    elapsed_s: float
    duration_s: float
    baseline: Baseline | None = None
    error: str = ""

    @property
    def progress(self) -> float:
        """Fraction done, in [0, 1]."""
        return min(1.0, self.elapsed_s / self.duration_s) if self.duration_s > 0 else 1.0


@dataclass(frozen=True)
class SubjectSnapshot:
    """One subject at one moment.

    Attributes
    ----------
    subject : str
        Subject alias.
    source : str
        Name of the source feeding this subject.
    simulated : bool
        True when the source is the simulator.
    status : SourceStatus
        The source's latest status.
    beats_received : int
        Raw beats received from the source this session.
    t_s, rr_ms, rr_raw_ms : numpy arrays
        Corrected beats of the last ``history_s`` seconds: times (s, stream clock),
        corrected RR (ms) and raw RR (ms, NaN where correction inserted a beat).
    artifact : numpy array of bool
        True where the beat was corrected.
    raw_t_s, raw_rr_ms : numpy arrays
        Raw beats as received (s, ms), including the newest ones the artifact
        corrector still holds for lookahead.
    last : BeatResult or None
        The newest result, with its HRV and quality metrics.
    last_raw : Beat or None
        The newest raw beat (its ``hr_bpm`` is the strap's own heart rate).
    arousal_t_s, arousal_index, arousal_z_hr : numpy arrays
        Arousal index and smoothed HR z-score of the last ``arousal_history_s`` (empty
        without a baseline).
    arousal_zone : numpy array of int
        Zone per arousal sample, as an index into :data:`ZONES`.
    zone_seconds : dict of Zone to float
        Time spent in each zone this session, s.
    baseline : Baseline or None
        The baseline in use.
    band : tuple of float
        (lower, upper) edges of the window after the clinician's adjustment.
    calibration : CalibrationView or None
        A calibration under way or just finished.
    silent_s : float
        Stream time since the newest raw beat, s (NaN before the first).
    """

    subject: str
    source: str
    simulated: bool
    status: SourceStatus
    beats_received: int
    t_s: np.ndarray
    rr_ms: np.ndarray
    rr_raw_ms: np.ndarray
    artifact: np.ndarray
    raw_t_s: np.ndarray
    raw_rr_ms: np.ndarray
    last: BeatResult | None
    last_raw: Beat | None
    arousal_t_s: np.ndarray
    arousal_index: np.ndarray
    arousal_z_hr: np.ndarray
    arousal_zone: np.ndarray
    zone_seconds: dict
    baseline: Baseline | None = None
    band: tuple[float, float] = (math.nan, math.nan)
    calibration: CalibrationView | None = None
    silent_s: float = math.nan

    @property
    def zone(self) -> Zone | None:
        """The current zone (None without a baseline)."""
        arousal = self.last.arousal if self.last is not None else None
        return None if arousal is None else arousal.zone


@dataclass(frozen=True)
class Snapshot:
    """The whole engine at one moment.

    Attributes
    ----------
    t_s : float
        Newest stream time seen, s (NaN before the first beat). The UI draws relative
        to it, so plots follow stream time, not the wall clock.
    subjects : tuple of SubjectSnapshot
        One per subject, in source order.
    running : bool
        False once the engine has stopped.
    errors : tuple of str
        Errors that stopped a source, worded for the user.
    """

    t_s: float = math.nan
    subjects: tuple[SubjectSnapshot, ...] = ()
    running: bool = False
    errors: tuple[str, ...] = field(default_factory=tuple)
    synchrony: "SynchronyView | None" = None


@dataclass(frozen=True)
class SynchronyView:
    """The dyad's heart-rate synchrony (two subjects only; see dsp/synchrony.py).

    Attributes
    ----------
    a, b : str
        The two subjects; ``lag_s > 0`` means ``b`` follows ``a``.
    latest : SynchronyEstimate or None
        The newest estimate (its fields are NaN while paused: "no estimate").
    t_s, index, lag_s, r_peak : numpy arrays
        One entry per second of the last ``history_s`` (NaN where paused).
    session : SessionSynchrony or None
        The session-level test so far (None until the engine has one).
    """

    a: str
    b: str
    latest: SynchronyEstimate | None
    t_s: np.ndarray
    index: np.ndarray
    lag_s: np.ndarray
    r_peak: np.ndarray
    session: SessionSynchrony | None = None


class SynchronyHistory:
    """Fixed-size history of synchrony estimates (one per second) for the UI.

    Parameters
    ----------
    a, b : str
        The two subjects.
    history_s : float
        Seconds of estimates kept.
    """

    def __init__(self, a: str, b: str, history_s: float = 600.0) -> None:
        self.a, self.b = a, b
        capacity = math.ceil(history_s) + 1
        self._t, self._index = RingBuffer(capacity), RingBuffer(capacity)
        self._lag, self._r = RingBuffer(capacity), RingBuffer(capacity)
        self.latest: SynchronyEstimate | None = None
        self.session: SessionSynchrony | None = None  # the engine sets it every 30 s

    def add(self, estimate: SynchronyEstimate) -> None:
        """Append one estimate."""
        self._t.append(estimate.t)
        self._index.append(estimate.index)
        self._lag.append(estimate.lag_s)
        self._r.append(estimate.r_peak)
        self.latest = estimate

    def view(self) -> SynchronyView:
        """An immutable copy for the snapshot."""
        arrays = (self._t.values(), self._index.values(), self._lag.values(), self._r.values())
        for a in arrays:
            a.flags.writeable = False
        return SynchronyView(self.a, self.b, self.latest, *arrays, session=self.session)


class SubjectHistory:
    """Fixed-size history of one subject's corrected beats for plotting.

    A beat costs one tuple appended to a :class:`~dsp.ring.RowRing`; the arrays are
    built only when a snapshot is made (at most ``snapshot_hz`` times a second).

    Parameters
    ----------
    history_s : float
        Seconds of beats kept (the buffer holds ``history_s`` at ``MAX_HR_BPM``).
    """

    def __init__(self, history_s: float, arousal_history_s: float = 600.0) -> None:
        capacity = math.ceil(history_s * MAX_HR_BPM / 60.0) + 1
        self.history_s = history_s
        self.arousal_history_s = arousal_history_s
        arousal_capacity = math.ceil(arousal_history_s * MAX_HR_BPM / 60.0) + 1
        # (t, index, z_hr, zone code) per arousal estimate
        self._arousal = RowRing(arousal_capacity, 4)
        self.zone_seconds = dict.fromkeys(Zone, 0.0)
        # (t, rr, rr_raw, artifact) per corrected beat; (t, rr) per raw beat
        self._beats = RowRing(capacity, 4)
        self._raw = RowRing(capacity, 2)
        self.last: BeatResult | None = None
        self.last_raw: Beat | None = None

    def add_raw(self, beat: Beat) -> None:
        """Append one raw beat as received."""
        self._raw.append((beat.t, beat.rr_ms))
        self.last_raw = beat

    def add(self, result: BeatResult) -> None:
        """Append one corrected beat."""
        beat = result.beat
        self._beats.append((beat.t, beat.rr_ms, beat.rr_raw_ms, beat.artifact is not None))
        previous, self.last = self.last, result
        state = result.arousal
        if state is not None:
            if previous is not None and previous.arousal is not None:
                self.zone_seconds[previous.arousal.zone] += max(0.0, beat.t - previous.beat.t)
            self._arousal.append((beat.t, state.index, state.z_hr, _ZONE_CODE[state.zone]))

    def arousal_arrays(self) -> tuple[np.ndarray, ...]:
        """Arousal times, index, z_H and zone codes of the last ``arousal_history_s``."""
        t, index, z_hr, zone = self._arousal.columns()
        zone = zone.astype(np.int8)
        keep = t >= (t[-1] - self.arousal_history_s) if t.size else slice(None)
        arrays = (t[keep], index[keep], z_hr[keep], zone[keep])
        for a in arrays:
            a.flags.writeable = False
        return arrays

    def arrays(self) -> tuple[np.ndarray, ...]:
        """Last ``history_s`` seconds: times, RR, raw RR, artifact flags; raw times, raw RR."""
        t, rr, rr_raw, artifact = self._beats.columns()
        artifact = artifact.astype(bool)
        raw_t, raw_rr = self._raw.columns()
        newest = raw_t[-1] if raw_t.size else 0.0
        keep, keep_raw = t >= newest - self.history_s, raw_t >= newest - self.history_s
        arrays = (
            t[keep],
            rr[keep],
            rr_raw[keep],
            artifact[keep],
            raw_t[keep_raw],
            raw_rr[keep_raw],
        )
        for a in arrays:
            a.flags.writeable = False
        return arrays
