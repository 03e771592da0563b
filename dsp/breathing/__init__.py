"""Breathing from the heart: rate from RSA, coherence, peak-to-trough HR, resonance.

Batch functions take NN intervals (ms) with their beat times (s); the live
:class:`BreathingMonitor` keeps trailing rings and calls the very same functions every
``step_s`` of stream time, so a live session and its offline analysis agree exactly
(:func:`monitor_series` runs the monitor over arrays).

Methods (SCIENCE.md §3):

- Breathing rate: the respiratory sinus arrhythmia (RSA) peak of the last 60 s of the
  tachogram in 0.05-0.5 Hz (cubic resampling at 4 Hz, linear detrend, Hann window,
  zero-padded periodogram, parabolic peak refinement); valid only while the breathing
  frequency is below half the heart rate (the tachogram samples breathing once a beat).
- Coherence (McCraty et al. 2009): the last 64 s resampled at 2 Hz; the peak in
  0.04-0.26 Hz; PeakPower = power within +-0.015 Hz of it; TotalPower = 0.0033-0.4 Hz;
  coherence ratio CR = (PeakPower / (TotalPower - PeakPower))^2. The bounded
  ``peak_fraction = PeakPower / TotalPower`` in [0, 1] is easier to read.
- Resonance frequency (Lehrer, Vaschillo & Vaschillo 2000): per paced rate, the RR
  power and the HR-breath phase *at the pacer frequency* by least squares (a 2-min
  FFT's bins are as far apart as the test rates), peak-to-trough HR per breath, the LF
  spectral peak and how much of the spectrum one peak holds.

References
----------
McCraty, R., Atkinson, M., Tomasino, D., & Bradley, R. T. (2009). The coherent heart.
Integral Review, 5(2), 10-115.

Lehrer, P. M., Vaschillo, E., & Vaschillo, B. (2000). Resonant frequency biofeedback
training to increase cardiac variability. Applied Psychophysiology and Biofeedback,
25(3), 177-191.

Vaschillo, E., Lehrer, P., Rishe, N., & Konstantinov, M. (2002). Heart rate variability
biofeedback as a method for assessing baroreflex function. Applied Psychophysiology and
Biofeedback, 27(1), 1-27.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from dsp.hrv.spectra import _hermite
from dsp.ring import RingBuffer

__all__ = [
    "BreathingMonitor",
    "BreathingSettings",
    "BreathingUpdate",
    "breathing_rate",
    "coherence",
    "monitor_series",
    "peak_to_trough",
    "rank_rates",
    "rate_estimates",
]

_NAN = math.nan
COHERENCE_WINDOW_S = 64.0
COHERENCE_FS_HZ = 2.0
COHERENCE_PEAK_BAND_HZ = (0.04, 0.26)
COHERENCE_HALF_WIDTH_HZ = 0.015
TOTAL_BAND_HZ = (0.0033, 0.4)
RATE_WINDOW_S = 60.0
RATE_FS_HZ = 4.0
RATE_BAND_HZ = (0.05, 0.5)
LF_BAND_HZ = (0.04, 0.15)
_NFFT = 4096  # zero padding: bins of 0.5 mHz at 2 Hz, 1 mHz at 4 Hz


def _arrays(t_s, rr_ms, gap_before=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    t = np.asarray(t_s, dtype=np.float64)
    rr = np.asarray(rr_ms, dtype=np.float64)
    if t.shape != rr.shape or t.ndim != 1:
        raise ValueError(f"t_s and rr_ms must be 1-D and equally long, got {t.shape}, {rr.shape}")
    brk = np.zeros(t.size, bool) if gap_before is None else np.asarray(gap_before, bool)
    return t, rr, brk


def _grid(
    t: np.ndarray, y: np.ndarray, brk: np.ndarray, window_s: float, fs: float
) -> np.ndarray | None:
    """The last ``window_s`` of ``y`` resampled on the absolute grid ``k / fs``.

    Returns None when the beats do not cover the window or a gap falls inside it.
    """
    if t.size < 8:
        return None
    end = math.ceil(t[-2] * fs) - 1  # the cubic needs a beat after each sample's pair
    n = round(window_s * fs)
    idx = np.arange(end - n + 1, end + 1, dtype=np.float64)
    lo = np.searchsorted(t, idx[0] / fs, side="right") - 2  # four beats around each sample
    lo = max(lo, 0)
    if lo == 0 and t[0] > idx[0] / fs - 1e-9:
        return None
    x, valid = _hermite(t[lo:], y[lo:], brk[lo:], idx, fs)
    if not valid.all():
        return None
    return x


def _periodogram(x: np.ndarray, fs: float) -> tuple[np.ndarray, np.ndarray]:
    """One-sided PSD (units^2/Hz) after linear detrend and a Hann window, zero-padded."""
    n = x.size
    k = np.arange(n) - (n - 1) / 2.0
    y = x - x.mean() - k * (np.sum(x * k) / np.sum(k * k))
    w = np.hanning(n)
    f = np.fft.rfft(y * w, n=max(_NFFT, n))
    psd = (f.real**2 + f.imag**2) * 2.0 / (fs * float(np.sum(w * w)))
    freqs = np.fft.rfftfreq(max(_NFFT, n), 1.0 / fs)
    return freqs, psd


def _band(freqs: np.ndarray, psd: np.ndarray, lo: float, hi: float) -> float:
    sel = (freqs >= lo) & (freqs <= hi)
    return float(np.sum(psd[sel]) * (freqs[1] - freqs[0]))


def _peak(freqs: np.ndarray, psd: np.ndarray, lo: float, hi: float) -> float:
    """Frequency of the largest PSD value in [lo, hi] refined by a parabola (Hz)."""
    idx = np.flatnonzero((freqs >= lo) & (freqs <= hi))
    k = int(idx[np.argmax(psd[idx])])
    f = float(freqs[k])
    if 0 < k < psd.size - 1:
        a, b, c = float(psd[k - 1]), float(psd[k]), float(psd[k + 1])
        den = a - 2.0 * b + c
        if den < 0:
            f += float(np.clip(0.5 * (a - c) / den, -0.5, 0.5)) * float(freqs[1] - freqs[0])
    return f


def breathing_rate(
    t_s: np.ndarray, rr_ms: np.ndarray, gap_before: np.ndarray | None = None
) -> float:
    """Breathing rate from the RSA peak of the last 60 s, breaths/min.

    Parameters
    ----------
    t_s : array of float
        Beat times, seconds, increasing.
    rr_ms : array of float
        Artifact-corrected NN intervals ending at those beats, ms.
    gap_before : array of bool, optional
        True where beats were lost before a beat (nothing is interpolated across).

    Returns
    -------
    float
        The frequency of the largest tachogram peak in 0.05-0.5 Hz times 60; NaN when
        the beats do not cover the last 60 s, a gap falls inside it, or the peak is
        at or above half the mean heart rate (the beats cannot resolve it).

    Notes
    -----
    The beats sample breathing once per heartbeat: breathing faster than HR / 2 folds
    back to ``HR - rate`` and cannot be told apart from slower breathing (adults at
    rest breathe at 6-20/min with HR 50-90 bpm, far from that limit).

    References
    ----------
    SCIENCE.md §3; Task Force (1996) for the resampled-tachogram spectrum.
    """
    t, rr, brk = _arrays(t_s, rr_ms, gap_before)
    x = _grid(t, rr, brk, RATE_WINDOW_S, RATE_FS_HZ)
    if x is None:
        return _NAN
    freqs, psd = _periodogram(x, RATE_FS_HZ)
    f = _peak(freqs, psd, *RATE_BAND_HZ)
    hr_hz = 1000.0 / float(np.mean(x))
    if not f < hr_hz / 2.0:
        return _NAN
    return 60.0 * f


def coherence(
    t_s: np.ndarray,
    rr_ms: np.ndarray,
    gap_before: np.ndarray | None = None,
    peak_hz: float | None = None,
) -> dict[str, float]:
    """Heart rhythm coherence of the last 64 s (McCraty et al. 2009).

    Parameters
    ----------
    t_s : array of float
        Beat times, seconds, increasing.
    rr_ms : array of float
        Artifact-corrected NN intervals, ms.
    gap_before : array of bool, optional
        True where beats were lost before a beat.
    peak_hz : float, optional
        Centre the peak band here (the measured breathing rate, Hz) instead of at the
        largest peak.

    Returns
    -------
    dict
        ``peak_hz`` (Hz, the largest peak in 0.04-0.26 Hz, or the given one), ``peak_fraction``
        (PeakPower / TotalPower, in [0, 1]), ``ratio`` (McCraty's coherence ratio
        (PeakPower / (TotalPower - PeakPower))^2, >= 0), ``peak_ms2`` and ``total_ms2``
        (ms^2). All NaN when the beats do not cover 64 s or a gap falls inside.

    Notes
    -----
    PeakPower integrates +-0.015 Hz around the peak and TotalPower 0.0033-0.4 Hz of a
    Hann-windowed periodogram of the 2 Hz tachogram. A sinusoid with a little beat
    noise reaches a peak fraction of about 0.9 (CR ~ 50); white noise about 0.2
    (CR ~ 0.05).
    """
    t, rr, brk = _arrays(t_s, rr_ms, gap_before)
    out = dict.fromkeys(("peak_hz", "peak_fraction", "ratio", "peak_ms2", "total_ms2"), _NAN)
    x = _grid(t, rr, brk, COHERENCE_WINDOW_S, COHERENCE_FS_HZ)
    if x is None:
        return out
    freqs, psd = _periodogram(x, COHERENCE_FS_HZ)
    f = _peak(freqs, psd, *COHERENCE_PEAK_BAND_HZ) if peak_hz is None else float(peak_hz)
    peak = _band(freqs, psd, f - COHERENCE_HALF_WIDTH_HZ, f + COHERENCE_HALF_WIDTH_HZ)
    total = _band(freqs, psd, *TOTAL_BAND_HZ)
    if not total > 0:
        return out
    peak = min(peak, total)
    rest = total - peak
    out.update(
        peak_hz=f,
        peak_fraction=peak / total,
        ratio=(peak / rest) ** 2 if rest > 0 else math.inf,
        peak_ms2=peak,
        total_ms2=total,
    )
    return out


def peak_to_trough(t_s: np.ndarray, rr_ms: np.ndarray, edges_s: np.ndarray) -> np.ndarray:
    """Peak-to-trough heart rate within each breath, beats/min.

    Parameters
    ----------
    t_s, rr_ms : array of float
        Beat times (s) and NN intervals (ms).
    edges_s : array of float
        Breath boundaries, seconds (breath k is ``[edges[k], edges[k+1])``).

    Returns
    -------
    numpy.ndarray
        ``max(HR) - min(HR)`` of the beats in each breath (instantaneous HR =
        60000 / NN); NaN for a breath holding fewer than 3 beats.
    """
    t, rr, _ = _arrays(t_s, rr_ms)
    edges = np.asarray(edges_s, dtype=np.float64)
    hr = 60000.0 / rr
    out = np.full(max(edges.size - 1, 0), _NAN)
    bounds = np.searchsorted(t, edges, side="left")
    for k in range(out.size):
        seg = hr[bounds[k] : bounds[k + 1]]
        if seg.size >= 3:
            out[k] = float(seg.max() - seg.min())
    return out


def _fit(x: np.ndarray, grid_t: np.ndarray, f_hz: float) -> complex:
    """Least-squares amplitude of ``x`` at ``f_hz``: x ~ Re(z * exp(2j pi f t)) + a + b t."""
    tc = grid_t - grid_t.mean()
    w = 2.0 * np.pi * f_hz
    design = np.column_stack([np.cos(w * tc), np.sin(w * tc), np.ones_like(tc), tc])
    coef, *_ = np.linalg.lstsq(design, x, rcond=None)
    return complex(coef[0], -coef[1])


def rate_estimates(
    t_s: np.ndarray,
    rr_ms: np.ndarray,
    rate_per_min: float,
    volume_at: Callable[[np.ndarray], np.ndarray] | None = None,
    fs: float = RATE_FS_HZ,
) -> dict[str, float]:
    """What one paced rate of a resonance assessment did to the heart.

    Parameters
    ----------
    t_s, rr_ms : array of float
        Beat times (s) and NN intervals (ms) of the stretch paced at this rate (the
        caller drops the first breaths while the rhythm settles).
    rate_per_min : float
        The pacer's rate, breaths/min.
    volume_at : callable, optional
        ``volume_at(t_s) -> lung volume`` of the pacer (0-1) at stream times; without
        it the HR-breath phase is NaN.
    fs : float
        Resampling rate of the tachogram, Hz.

    Returns
    -------
    dict
        ``rate_per_min``; ``power_ms2`` (RR power at the pacer frequency: least-squares
        amplitude A of a sinusoid at exactly that frequency, A^2 / 2); ``amplitude_bpm``
        (HR amplitude there); ``phase_deg`` (phase of HR relative to the pacer's lung
        volume at that frequency, in (-180, 180]; > 0: HR leads; 0 at resonance,
        Vaschillo 2002); ``peak_to_trough_bpm`` (mean over breaths);
        ``lf_peak_ms2_hz`` and ``lf_peak_hz`` (largest PSD value in 0.04-0.15 Hz);
        ``peak_fraction`` (power within +-0.015 Hz of the pacer frequency over
        0.0033-0.4 Hz: one clean peak is near 1); ``duration_s``. NaN entries when
        the stretch holds fewer than two breaths or a gap.
    """
    t, rr, _ = _arrays(t_s, rr_ms)
    f = rate_per_min / 60.0
    keys = (
        "power_ms2",
        "amplitude_bpm",
        "phase_deg",
        "peak_to_trough_bpm",
        "lf_peak_ms2_hz",
        "lf_peak_hz",
        "peak_fraction",
    )
    out = {"rate_per_min": float(rate_per_min), "duration_s": 0.0, **dict.fromkeys(keys, _NAN)}
    if t.size < 8:
        return out
    start, end = math.ceil(t[1] * fs), math.ceil(t[-2] * fs) - 1
    duration = (end - start) / fs
    out["duration_s"] = max(duration, 0.0)
    if duration < 2.0 / f:
        return out
    idx = np.arange(start, end + 1, dtype=np.float64)
    x, valid = _hermite(t, rr, np.zeros(t.size, bool), idx, fs)
    if not valid.all():
        return out
    grid_t = idx / fs
    z_rr = _fit(x, grid_t, f)
    out["power_ms2"] = abs(z_rr) ** 2 / 2.0
    # HR is placed at the middle of each interval (the vagal effect acts during it;
    # stamping at the closing beat would lag HR by about one interval)
    mid = t - rr / 2000.0
    keep = np.concatenate(([True], np.diff(mid) > 0))
    hr_x, hr_ok = _hermite(mid[keep], 60000.0 / rr[keep], np.zeros(int(keep.sum()), bool), idx, fs)
    hr = np.where(hr_ok, hr_x, 60000.0 / x)
    z_hr = _fit(hr, grid_t, f)
    out["amplitude_bpm"] = abs(z_hr)
    if volume_at is not None:
        z_breath = _fit(np.asarray(volume_at(grid_t), dtype=np.float64), grid_t, f)
        if abs(z_breath) > 0:
            out["phase_deg"] = math.degrees(np.angle(z_hr / z_breath))
    period = 1.0 / f
    n_breaths = int(duration // period)
    edges = grid_t[0] + period * np.arange(n_breaths + 1)
    out["peak_to_trough_bpm"] = float(np.nanmean(peak_to_trough(t, rr, edges)))
    freqs, psd = _periodogram(x, fs)
    lf = (freqs >= LF_BAND_HZ[0]) & (freqs <= LF_BAND_HZ[1])
    k = int(np.argmax(np.where(lf, psd, -np.inf)))
    out["lf_peak_ms2_hz"] = float(psd[k])
    out["lf_peak_hz"] = float(freqs[k])
    total = _band(freqs, psd, *TOTAL_BAND_HZ)
    peak = _band(freqs, psd, f - COHERENCE_HALF_WIDTH_HZ, f + COHERENCE_HALF_WIDTH_HZ)
    out["peak_fraction"] = min(peak / total, 1.0) if total > 0 else _NAN
    return out


#: Criteria of the ranking: key, label, higher is better (phase: nearer 0 is better).
CRITERIA = (
    ("peak_to_trough_bpm", "peak-to-trough HR (bpm)"),
    ("lf_peak_ms2_hz", "LF peak (ms²/Hz)"),
    ("phase_deg", "HR-breath phase (deg)"),
    ("peak_fraction", "single peak (fraction)"),
)


def rank_rates(estimates: list[dict[str, float]]) -> list[dict[str, float]]:
    """Order the assessed rates best first by Lehrer's four criteria.

    Each criterion is scored in [0, 1]: peak-to-trough HR and the LF peak relative to
    the best rate, the phase as ``1 - |phase| / 90`` (clipped at 0), the single-peak
    fraction as is; ``score`` is their mean (a criterion that is NaN for a rate scores
    0 there). Ties go to the larger peak-to-trough HR.

    Parameters
    ----------
    estimates : list of dict
        :func:`rate_estimates` results, one per rate.

    Returns
    -------
    list of dict
        Copies of the estimates with ``score`` and ``rank`` (1 = best), best first.
    """

    def col(key: str) -> np.ndarray:
        return np.array([e.get(key, _NAN) for e in estimates], dtype=np.float64)

    scores = []
    ptt, lf = col("peak_to_trough_bpm"), col("lf_peak_ms2_hz")
    phase, single = col("phase_deg"), col("peak_fraction")
    for values in (ptt, lf):
        best = np.nanmax(values) if np.isfinite(values).any() else _NAN
        scores.append(values / best if best > 0 else np.zeros(values.size))
    scores.append(np.clip(1.0 - np.abs(phase) / 90.0, 0.0, 1.0))
    scores.append(single)
    score = np.mean(np.nan_to_num(np.vstack(scores), nan=0.0), axis=0)
    order = sorted(
        range(len(estimates)), key=lambda i: (-score[i], -np.nan_to_num(ptt[i], nan=-1.0))
    )
    return [{**estimates[i], "score": float(score[i]), "rank": r + 1} for r, i in enumerate(order)]


# ============================================================================ live
@dataclass(frozen=True)
class BreathingSettings:
    """Parameters of :class:`BreathingMonitor`.

    Attributes
    ----------
    step_s : float
        Coherence and breathing rate are recomputed when stream time crosses a multiple
        of this, seconds (McCraty: every 5 s over 64 s).
    max_window_s : float
        History kept, seconds (>= the 64 s coherence window).
    min_rr_ms : float
        Shortest interval expected; sizes the rings.
    """

    step_s: float = 5.0
    max_window_s: float = 70.0
    min_rr_ms: float = 250.0


@dataclass(frozen=True, slots=True)
class BreathingUpdate:
    """The live breathing feedback after one beat.

    Attributes
    ----------
    t : float
        Time of the beat, seconds.
    rate_per_min : float
        Breathing rate from RSA, breaths/min (held between updates; NaN unknown).
    coherence : dict
        The last :func:`coherence` result (held between updates).
    updated : bool
        True when this beat recomputed rate and coherence.
    breath_ptt_bpm : float
        Peak-to-trough HR of the breath that ended at this beat, beats/min; NaN when
        no breath ended here.
    """

    t: float
    rate_per_min: float
    coherence: dict
    updated: bool
    breath_ptt_bpm: float


class BreathingMonitor:
    """Live breathing rate, coherence and peak-to-trough HR per breath.

    Breaths are counted by the pacer's phase when one runs (``cycles`` given to
    :meth:`push`), otherwise by the estimated breathing rate.

    Parameters
    ----------
    settings : BreathingSettings
        Update step and history length.
    """

    def __init__(self, settings: BreathingSettings = BreathingSettings()) -> None:
        self.settings = settings
        cap = math.ceil(settings.max_window_s * 1000.0 / settings.min_rr_ms) + 8
        self._t = RingBuffer(cap)
        self._rr = RingBuffer(cap)
        self._gap = RingBuffer(cap, dtype=bool)
        self.reset()

    def reset(self) -> None:
        """Forget the session."""
        self._t.clear()
        self._rr.clear()
        self._gap.clear()
        self._step = -1
        self._rate = _NAN
        self._coherence = coherence([], [])
        self._own_cycles = 0.0
        self._breath = -1
        self._hr_min = math.inf
        self._hr_max = -math.inf
        self._n_in_breath = 0
        self._last_t = _NAN

    def push(
        self, t: float, rr_ms: float, gap_before: bool = False, cycles: float = _NAN
    ) -> BreathingUpdate:
        """Feed one corrected beat.

        Parameters
        ----------
        t : float
            Beat time, seconds.
        rr_ms : float
            NN interval ending at the beat, ms.
        gap_before : bool
            Beats were lost before this one.
        cycles : float
            The pacer's breath count at ``t`` (NaN when no pacer runs).
        """
        self._t.append(t)
        self._rr.append(rr_ms)
        self._gap.append(gap_before)
        while len(self._t) > 1 and self._t[0] < t - self.settings.max_window_s:
            self._t.popleft()
            self._rr.popleft()
            self._gap.popleft()
        step = math.floor(t / self.settings.step_s)
        updated = step != self._step
        if updated:
            self._step = step
            tt, rr, gaps = self._t.values(), self._rr.values(), self._gap.values()
            self._rate = breathing_rate(tt, rr, gaps)
            self._coherence = coherence(tt, rr, gaps)
        ptt = self._breath_step(t, rr_ms, gap_before, cycles)
        self._last_t = t
        return BreathingUpdate(t, self._rate, self._coherence, updated, ptt)

    def coherence_at(self, peak_hz: float) -> dict[str, float]:
        """:func:`coherence` of the beats held, its peak centred on ``peak_hz`` (Hz)."""
        return coherence(self._t.values(), self._rr.values(), self._gap.values(), peak_hz)

    def _breath_step(self, t: float, rr_ms: float, gap: bool, cycles: float) -> float:
        if math.isnan(cycles):  # count breaths at the estimated rate
            if not math.isnan(self._last_t) and not math.isnan(self._rate):
                self._own_cycles += (t - self._last_t) * self._rate / 60.0
            cycles = self._own_cycles
        breath = math.floor(cycles)
        ptt = _NAN
        if breath != self._breath or gap:
            if self._n_in_breath >= 3 and not gap and breath == self._breath + 1:
                ptt = self._hr_max - self._hr_min
            self._breath = breath
            self._hr_min, self._hr_max, self._n_in_breath = math.inf, -math.inf, 0
        hr = 60000.0 / rr_ms
        self._hr_min = min(self._hr_min, hr)
        self._hr_max = max(self._hr_max, hr)
        self._n_in_breath += 1
        return ptt


def monitor_series(
    t_s: np.ndarray,
    rr_ms: np.ndarray,
    gap_before: np.ndarray | None = None,
    cycles: np.ndarray | None = None,
    settings: BreathingSettings = BreathingSettings(),
) -> list[BreathingUpdate]:
    """Run :class:`BreathingMonitor` over arrays (offline = live), one update per beat."""
    t, rr, brk = _arrays(t_s, rr_ms, gap_before)
    c = np.full(t.size, _NAN) if cycles is None else np.asarray(cycles, dtype=np.float64)
    monitor = BreathingMonitor(settings)
    return [
        monitor.push(float(a), float(b), bool(g), float(k))
        for a, b, g, k in zip(t, rr, brk, c, strict=True)
    ]
