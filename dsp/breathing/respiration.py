"""Breathing measured from a chest accelerometer: rate, phase, pacer comparison, quality.

A strap on the sternum sees gravity; each breath tilts the chest wall by a few degrees,
so the gravity vector in the strap's frame swings by some tens of milli-g at the
breathing rate (Bates et al. 2010; Hernandez et al. 2015). Method (pure numpy/scipy):

1. Block means of ``k = round(fs / 10)`` samples (10-12.5 Hz), timed at the block's mean
   sample time, so averaging adds no delay.
2. Per axis, a 2nd-order Butterworth band-pass ``band_hz`` (0.05-0.7 Hz, 3-42/min): it
   removes gravity (posture) and the heartbeat's ballistic bumps (> 0.8 Hz).
3. The breathing axis: the principal component of the band-passed 3-axis signal over
   ``axis_window_s``, its sign kept continuous from step to step.
4. Rate: the largest peak in ``rate_band_hz`` of a Hann, zero-padded periodogram of the
   projection over ``rate_window_s``, refined by a parabola.
5. Phase (0 = inhale onset, as the pacer's): a least-squares sinusoid at that rate over
   the last breath, corrected by the band-pass's phase response at that rate.
6. Pacer comparison: the pacer's target volume at the same times passes the same
   band-pass; the phase difference of least-squares sinusoids at the pacer's rate over
   ``lag_window_s`` gives the lag (the filters' delays cancel). Which way along the
   axis is "in" depends on how the strap sits; while a pacer runs, the polarity is the
   one that puts the lag within a quarter breath, so a lag beyond +-T/4 (1.5 s at
   10/min) reads as the opposite polarity.
7. Quality: ``movement`` while a > 1 Hz acceleration RMS over 1 s above
   ``movement_mg`` lies within ``movement_hold_s``; ``posture`` when gravity turned more
   than ``posture_deg`` within ``posture_span_s`` (filters and windows restart, and the
   flag stays until the windows are full again); ``irregular`` (talking, sighs) when less
   than ``regular_fraction`` of the band power lies within ``peak_half_width_hz`` of the
   peak; else ``ok``.

Updates come every ``step_s`` of data; a step always processes exactly its own block of
samples, so pushing in any chunks gives the same updates bit for bit
(:func:`respiration_series` is the batch form).
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType

import numpy as np

from dsp.breathing import _peak, _periodogram  # the RSA rate's spectral peak, shared
from dsp.breathing.pacer import Pacer, volumes


def _signal() -> ModuleType:
    """scipy.signal, imported when a respiration monitor first needs it.

    Importing it with the module would load scipy into every window at start-up
    (~25 MB) although only a chest-strap session with acceleration uses it.
    """
    from scipy import signal

    return signal


__all__ = [
    "QUALITIES",
    "RespirationMonitor",
    "RespirationSettings",
    "RespirationUpdate",
    "respiration_series",
]

#: Quality flags, in the order of the respiration stream's ``quality`` code.
QUALITIES = ("ok", "warming up", "movement", "posture", "irregular")
_NAN = math.nan


@dataclass(frozen=True)
class RespirationSettings:
    """Parameters of :class:`RespirationMonitor` (see the module notes)."""

    band_hz: tuple[float, float] = (0.05, 0.7)
    rate_band_hz: tuple[float, float] = (3.0 / 60.0, 30.0 / 60.0)
    axis_window_s: float = 30.0
    rate_window_s: float = 30.0
    lag_window_s: float = 20.0
    step_s: float = 1.0
    movement_mg: float = 25.0
    movement_hold_s: float = 30.0
    posture_deg: float = 20.0
    posture_span_s: float = 4.0
    regular_fraction: float = 0.35
    peak_half_width_hz: float = 0.02


@dataclass(frozen=True, slots=True)
class RespirationUpdate:
    """The breath at one step.

    Attributes
    ----------
    t : float
        Stream time of the newest sample, s.
    rate_per_min : float
        Breathing rate, breaths/min (NaN while warming up or after a posture change).
    phase : float
        Breath phase in [0, 1) at ``t``, 0 = inhale onset (NaN when unknown).
    quality : str
        One of :data:`QUALITIES`.
    lag_s : float
        Breath behind the pacer, s (negative: ahead; NaN without a pacer).
    pacer_rate_per_min : float
        The pacer's rate, breaths/min (NaN without a pacer).
    following : str
        ``following``, ``behind``, ``ahead``, ``faster``, ``slower`` or "" (no pacer).
    peak_fraction : float
        Share of the band power at the breathing peak (regularity), 0-1.
    """

    t: float
    rate_per_min: float
    phase: float
    quality: str
    lag_s: float = _NAN
    pacer_rate_per_min: float = _NAN
    following: str = ""
    peak_fraction: float = _NAN


class RespirationMonitor:
    """Live respiration from chest acceleration in milli-g.

    Parameters
    ----------
    fs_hz : float
        Accelerometer sampling rate, Hz.
    settings : RespirationSettings
        Parameters.
    """

    def __init__(self, fs_hz: float, settings: RespirationSettings | None = None) -> None:
        self.fs_hz = float(fs_hz)
        self.settings = s = settings or RespirationSettings()
        self.k = max(1, round(self.fs_hz / 10.0))
        self.out_hz = self.fs_hz / self.k
        self._sos = _signal().butter(2, s.band_hz, "bandpass", fs=self.out_hz, output="sos")
        self._hp = _signal().butter(2, 1.0, "highpass", fs=self.out_hz, output="sos")
        self._lp = _signal().butter(1, 0.2, "lowpass", fs=self.out_hz, output="sos")
        self._step_n = max(1, round(s.step_s * self.out_hz))
        windows = (s.axis_window_s, s.rate_window_s, s.lag_window_s)
        self._keep = math.ceil(max(windows) * self.out_hz) + 1
        self._need = round(s.axis_window_s * self.out_hz) + round(10.0 * self.out_hz)
        self._pend_t = np.empty(0)
        self._pend_x = np.empty((0, 3))
        self._blk_t = np.empty(0)
        self._blk_x = np.empty((0, 3))
        self.pacer: Pacer | None = None
        self._restart(-math.inf)

    def _restart(self, posture_t: float) -> None:
        """Forget filter states and windows (start, posture change)."""
        self._zi: np.ndarray | None = None
        self._zi_hp = self._zi_lp = self._zi_p = np.zeros(0)
        self._t = np.empty(0)
        self._y = np.empty((0, 3))
        self._p = np.empty(0)
        self._hp_tail = np.empty((0, 3))
        self._gravity: list[tuple[float, np.ndarray]] = []
        self._n = 0
        self._axis: np.ndarray | None = None
        self._polarity = 1.0
        self._posture_t = posture_t
        self._turned = False
        self._moved_t = -math.inf

    def set_pacer(self, pacer: Pacer | None) -> None:
        """Compare with ``pacer`` from now on (None: no comparison)."""
        self.pacer = None if pacer is None else pacer.copy()
        self._zi_p = np.zeros(0)
        self._p = np.full(self._t.size, np.nan)

    def push(self, t_s: np.ndarray, xyz_mg: np.ndarray) -> list[RespirationUpdate]:
        """Add samples; returns the updates of every step they complete.

        Parameters
        ----------
        t_s : array of float
            ``(n,)`` sample times, s, increasing.
        xyz_mg : array of float
            ``(n, 3)`` acceleration, milli-g.
        """
        t = np.concatenate([self._pend_t, np.asarray(t_s, dtype=np.float64)])
        x = np.concatenate([self._pend_x, np.asarray(xyz_mg, dtype=np.float64).reshape(-1, 3)])
        m = (t.size // self.k) * self.k
        self._pend_t, self._pend_x = t[m:], x[m:]
        if m:
            self._blk_t = np.concatenate([self._blk_t, t[:m].reshape(-1, self.k).mean(axis=1)])
            self._blk_x = np.concatenate([self._blk_x, x[:m].reshape(-1, self.k, 3).mean(axis=1)])
        out: list[RespirationUpdate] = []
        n = self._step_n
        while self._blk_t.size >= n:  # whole steps: the same blocks however samples came
            self._ingest(self._blk_t[:n], self._blk_x[:n])
            self._blk_t, self._blk_x = self._blk_t[n:], self._blk_x[n:]
            out.append(self._step())
        return out

    # ------------------------------------------------------------------ internals

    def _ingest(self, t: np.ndarray, x: np.ndarray) -> None:
        s = self.settings
        if self._zi is None:  # start from rest at the first sample (no start transient)
            self._zi = _zi(self._sos, x[0])
            self._zi_lp = _zi(self._lp, x[0])
            self._zi_hp = np.zeros((self._hp.shape[0], 2, 3))
        y, self._zi = _signal().sosfilt(self._sos, x, axis=0, zi=self._zi)
        g, self._zi_lp = _signal().sosfilt(self._lp, x, axis=0, zi=self._zi_lp)
        h, self._zi_hp = _signal().sosfilt(self._hp, x, axis=0, zi=self._zi_hp)
        self._hp_tail = np.concatenate([self._hp_tail, h])[-max(1, round(self.out_hz)) :]
        if float(np.sqrt(np.mean(np.sum(self._hp_tail**2, axis=1)))) > s.movement_mg:
            self._moved_t = float(t[-1])
        if self.pacer is not None:
            pv = volumes(self.pacer, t)
            if self._zi_p.size == 0:
                self._zi_p = _signal().sosfilt_zi(self._sos) * pv[0]
            p, self._zi_p = _signal().sosfilt(self._sos, pv, zi=self._zi_p)
        else:
            p = np.full(t.size, np.nan)
        keep = self._keep
        self._t = np.concatenate([self._t, t])[-keep:]
        self._y = np.concatenate([self._y, y])[-keep:]
        self._p = np.concatenate([self._p, p])[-keep:]
        self._n += t.size
        down = g[-1] / (float(np.linalg.norm(g[-1])) or 1.0)
        self._gravity.append((float(t[-1]), down))
        while self._gravity[0][0] < t[-1] - s.posture_span_s:
            self._gravity.pop(0)
        cos = float(np.clip(np.dot(self._gravity[0][1], down), -1.0, 1.0))
        self._turned = math.degrees(math.acos(cos)) > s.posture_deg

    def _step(self) -> RespirationUpdate:
        s = self.settings
        t_end = float(self._t[-1])
        if self._turned:  # gravity turned: the band-pass rings and the axis is new
            pacer = self.pacer
            self._restart(t_end)
            self.set_pacer(pacer)
            return RespirationUpdate(t_end, _NAN, _NAN, "posture")
        settling = t_end - self._posture_t < s.axis_window_s + 10.0
        if self._n < self._need:
            return RespirationUpdate(t_end, _NAN, _NAN, "posture" if settling else "warming up")
        axis = self._breathing_axis()
        n_rate = min(self._t.size, round(s.rate_window_s * self.out_hz))
        proj = self._y[-n_rate:] @ axis
        freqs, psd = _periodogram(proj, self.out_hz)
        f = _peak(freqs, psd, *s.rate_band_hz)
        band = (freqs >= s.band_hz[0]) & (freqs <= s.band_hz[1])
        total = float(np.sum(psd[band]))
        near = band & (np.abs(freqs - f) <= s.peak_half_width_hz)
        fraction = float(np.sum(psd[near]) / total) if total > 0 else _NAN
        rate = 60.0 * f
        lag, pacer_rate, following = self._compare(axis, rate, t_end)
        # phase over the last breath, undoing the band-pass's phase shift at f
        n_ph = min(proj.size, max(4, round(self.out_hz / f)))
        c = _fit(proj[-n_ph:], self._t[-n_ph:], f, t_end)
        _, h = _signal().sosfreqz(self._sos, worN=[f], fs=self.out_hz)
        theta = math.atan2(c.imag, c.real) - float(np.angle(h[0]))
        if self._polarity < 0:
            theta += math.pi
        phase = ((theta + math.pi) / (2.0 * math.pi)) % 1.0  # volume ~ -cos(2 pi phase)
        if t_end - self._moved_t <= s.movement_hold_s:
            quality = "movement"
        elif settling:
            quality = "posture"
        elif not fraction >= s.regular_fraction:
            quality = "irregular"
        else:
            quality = "ok"
        return RespirationUpdate(t_end, rate, phase, quality, lag, pacer_rate, following, fraction)

    def _breathing_axis(self) -> np.ndarray:
        """Principal direction of the band-passed motion, sign continuous."""
        y = self._y[-round(self.settings.axis_window_s * self.out_hz) :]
        yc = y - y.mean(axis=0)
        _, vectors = np.linalg.eigh(yc.T @ yc)
        axis = vectors[:, -1]
        if self._axis is not None:
            if float(np.dot(axis, self._axis)) < 0:
                axis = -axis
        elif axis[int(np.argmax(np.abs(axis)))] < 0:
            axis = -axis
        self._axis = axis
        return axis

    def _compare(self, axis: np.ndarray, rate: float, t_end: float) -> tuple[float, float, str]:
        """Lag behind the pacer (s), the pacer's rate and the verdict."""
        n = round(self.settings.lag_window_s * self.out_hz)
        if self.pacer is None or self._t.size < n or not np.all(np.isfinite(self._p[-n:])):
            return _NAN, _NAN, ""
        pacer_rate = float(self.pacer.settings.rate_per_min)
        fp = pacer_rate / 60.0
        t = self._t[-n:]
        d = _angle(_fit(self._y[-n:] @ axis, t, fp, t_end) / _fit(self._p[-n:], t, fp, t_end))
        self._polarity = 1.0
        if abs(d) > math.pi / 2.0:  # the axis points "out" on an inhale
            self._polarity = -1.0
            d -= math.copysign(math.pi, d)
        lag = -d / (2.0 * math.pi * fp)
        if abs(rate - pacer_rate) > 1.0:
            return lag, pacer_rate, "faster" if rate > pacer_rate else "slower"
        if abs(lag) <= max(0.5, 0.08 * 60.0 / pacer_rate):
            return lag, pacer_rate, "following"
        return lag, pacer_rate, "behind" if lag > 0 else "ahead"


def respiration_series(
    t_s: np.ndarray,
    xyz_mg: np.ndarray,
    fs_hz: float,
    settings: RespirationSettings | None = None,
    pacer: Pacer | None = None,
) -> list[RespirationUpdate]:
    """Batch form: every update of a :class:`RespirationMonitor` over a whole recording."""
    monitor = RespirationMonitor(fs_hz, settings)
    monitor.set_pacer(pacer)
    return monitor.push(t_s, xyz_mg)


def _zi(sos: np.ndarray, first: Sequence[float]) -> np.ndarray:
    """Filter state of a 3-axis signal at rest at ``first``."""
    rest = np.asarray(first, dtype=np.float64)[None, None, :]
    return _signal().sosfilt_zi(sos)[:, :, None] * rest


def _angle(c: complex) -> float:
    return math.atan2(c.imag, c.real)


def _fit(x: np.ndarray, t: np.ndarray, f_hz: float, t_ref: float) -> complex:
    """Complex amplitude ``c`` of ``x ~ Re(c exp(i 2 pi f (t - t_ref))) + const``."""
    w = 2.0 * math.pi * f_hz * (t - t_ref)
    design = np.column_stack([np.cos(w), -np.sin(w), np.ones_like(w)])
    coef, *_ = np.linalg.lstsq(design, x, rcond=None)
    return complex(coef[0], coef[1])
