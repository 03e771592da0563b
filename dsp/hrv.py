"""Heart rate variability: time and frequency domain, in batch and over live windows.

Conventions (Task Force 1996; pinned in DESIGN.md):

- Only normal-to-normal (NN) pairs count: a successive difference is never taken across
  an artifact or a gap.
- ``RMSSD = sqrt(sum(dRR**2) / (N - 1))`` over the N - 1 successive differences; ``SDNN``
  with ``ddof=1``; ``pNN50 = 100 * #(|dRR| > 50 ms) / (N - 1)``; mean HR ``= 60000 /
  mean(NN)``.
- Spectra: the tachogram resampled at 4 Hz by a cubic, detrended, Welch periodogram with
  a Hann window; Lomb-Scargle on the beats themselves when the data hold gaps. Bands:
  VLF 0.0033-0.04 Hz, LF 0.04-0.15 Hz, HF 0.15-0.4 Hz (lower edge included).

Live windows (:class:`HrvWindow`): HR over 30 s, RMSSD/ln RMSSD and SDNN over 60 s (NaN
below 40 NN differences: Munoz et al. 2015 found 10 s RMSSD already r = 0.85 with 5 min,
but a live display needs a steadier value), LF/HF power and the HF peak over 120 s every
5 s of stream time (Task Force 1996 asks for >= 10 cycles of the lowest frequency; 120 s
holds 18 cycles at 0.15 Hz but only 5 at 0.04 Hz, so live LF is indicative).

Running sums are kept exactly in integers of 1/1024 ms (finer than any sensor), so they
never drift over an 8-hour session and :func:`windowed_metrics` (vectorised) gives
bit-identical results to pushing beat by beat.

References
----------
Task Force of the European Society of Cardiology and the North American Society of
Pacing and Electrophysiology (1996). Heart rate variability: standards of measurement,
physiological interpretation and clinical use. Circulation, 93(5), 1043-1065.

Munoz, M. L., et al. (2015). Validity of (ultra-)short recordings for heart rate
variability measurements. PLoS One, 10(9), e0138921.

Lomb, N. R. (1976). Least-squares frequency analysis of unequally spaced data.
Astrophysics and Space Science, 39, 447-462.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.interpolate import CubicSpline
from scipy.signal import detrend, lombscargle, welch

from dsp.types import CorrectedBeat

__all__ = [
    "BANDS_HZ",
    "HrvMetrics",
    "HrvSettings",
    "HrvWindow",
    "frequency_domain",
    "time_domain",
    "windowed_metrics",
]

BANDS_HZ: dict[str, tuple[float, float]] = {
    "vlf": (0.0033, 0.04),
    "lf": (0.04, 0.15),
    "hf": (0.15, 0.4),
}
"""Frequency bands (Task Force 1996), Hz: lower edge included, upper edge excluded."""

_Q = 1024.0  # fixed-point scale of the running sums: units of 1/1024 ms
_NAN = math.nan


# ============================================================================ batch
def _as_rr(rr_ms: np.ndarray, name: str = "rr_ms") -> np.ndarray:
    rr = np.asarray(rr_ms, dtype=np.float64)
    if rr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {rr.shape}")
    bad = ~(np.isfinite(rr) & (rr > 0))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{name} must hold positive finite NN intervals in ms; value {rr[i]!r} at "
            f"index {i} is not (correct artifacts first: dsp.artifacts.correct_rr)"
        )
    return rr


def time_domain(rr_ms: np.ndarray) -> dict[str, float]:
    """Time-domain HRV of one NN series.

    Parameters
    ----------
    rr_ms : array_like
        Consecutive NN intervals, milliseconds (positive and finite).

    Returns
    -------
    dict
        ``mean_nn`` (ms), ``sdnn`` (ms, ddof=1), ``rmssd`` (ms, over N - 1 differences),
        ``pnn50`` (percent of the N - 1 differences above 50 ms), ``mean_hr`` (beats/min,
        ``60000 / mean_nn``). NaN where there are too few intervals (none for the means,
        fewer than 2 for the others).

    Raises
    ------
    ValueError
        If the series is not one-dimensional or holds a NaN, infinite or non-positive
        value.

    References
    ----------
    Task Force (1996), Circulation 93:1043.

    Examples
    --------
    >>> time_domain([800.0, 860.0, 800.0])["rmssd"]
    60.0
    """
    rr = _as_rr(rr_ms)
    n = rr.size
    out = {"mean_nn": _NAN, "sdnn": _NAN, "rmssd": _NAN, "pnn50": _NAN, "mean_hr": _NAN}
    if n == 0:
        return out
    mean_nn = float(np.mean(rr))
    out["mean_nn"] = mean_nn
    out["mean_hr"] = 60000.0 / mean_nn
    if n < 2:
        return out
    d = np.diff(rr)
    out["sdnn"] = float(np.std(rr, ddof=1))
    out["rmssd"] = float(np.sqrt(np.mean(d * d)))
    out["pnn50"] = 100.0 * float(np.count_nonzero(np.abs(d) > 50.0)) / d.size
    return out


def _band_powers(freqs: np.ndarray, psd: np.ndarray, df: float) -> dict[str, float]:
    out = {}
    for name, (lo, hi) in BANDS_HZ.items():
        sel = (freqs >= lo) & (freqs < hi)
        out[name] = float(np.sum(psd[sel]) * df) if sel.any() else _NAN
    return out


def _peak_hz(freqs: np.ndarray, psd: np.ndarray, lo: float, hi: float) -> float:
    """Frequency of the largest PSD value in [lo, hi), refined by a parabola (Hz)."""
    idx = np.flatnonzero((freqs >= lo) & (freqs < hi))
    if idx.size == 0 or not np.any(psd[idx] > 0):
        return _NAN
    k = int(idx[np.argmax(psd[idx])])
    f = float(freqs[k])
    if 0 < k < psd.size - 1:
        a, b, c = float(psd[k - 1]), float(psd[k]), float(psd[k + 1])
        den = a - 2.0 * b + c
        if den < 0:
            f += 0.5 * (a - c) / den * float(freqs[1] - freqs[0])
    return f


def find_gaps(t_s: np.ndarray, rr_ms: np.ndarray, tolerance: float = 0.5) -> np.ndarray:
    """Boolean per beat: True where the time since the previous beat exceeds its interval.

    A beat ``i`` follows a gap when ``t_s[i] - t_s[i-1] > (1 + tolerance) * rr_ms[i] /
    1000``: beats (or time) are missing between the two.
    """
    t = np.asarray(t_s, dtype=np.float64)
    rr = np.asarray(rr_ms, dtype=np.float64)
    gap = np.zeros(t.size, dtype=bool)
    if t.size > 1:
        gap[1:] = np.diff(t) > (1.0 + tolerance) * rr[1:] / 1000.0
    return gap


def lomb_psd(t_s: np.ndarray, rr_ms: np.ndarray, freqs_hz: np.ndarray) -> np.ndarray:
    """One-sided PSD (ms^2/Hz) of unevenly sampled RR by Lomb-Scargle (Lomb 1976).

    The series is linearly detrended; the unnormalised periodogram ``P`` is scaled as
    ``2 * P * duration / N`` so that a sinusoid of amplitude A integrates to A^2 / 2, as
    with Welch.
    """
    t = np.asarray(t_s, dtype=np.float64)
    y = np.asarray(rr_ms, dtype=np.float64)
    tc = t - t.mean()
    slope = float(np.sum(tc * (y - y.mean())) / max(float(np.sum(tc * tc)), 1e-12))
    y = y - y.mean() - slope * tc
    p = lombscargle(t, y, 2.0 * np.pi * freqs_hz)
    duration = float(t[-1] - t[0]) if t.size > 1 else 0.0
    return 2.0 * p * duration / t.size


def frequency_domain(
    rr_ms: np.ndarray,
    t_s: np.ndarray | None = None,
    resample_hz: float = 4.0,
    segment_s: float = 300.0,
) -> dict[str, float | str]:
    """Frequency-domain HRV of one NN series.

    Evenly resampled at ``resample_hz`` with a cubic spline, linearly detrended and
    analysed with Welch's method (Hann window, segments of ``segment_s`` or the whole
    series if shorter, 50 % overlap). When ``t_s`` shows gaps (time between beats longer
    than 1.5 intervals) the Lomb-Scargle periodogram of the beats is used instead.

    Parameters
    ----------
    rr_ms : array_like
        NN intervals, milliseconds (positive, finite).
    t_s : array_like, optional
        Times of the beats ending each interval, seconds; by default the cumulative sum
        of ``rr_ms`` (no gaps).
    resample_hz : float
        Resampling rate, Hz (4 Hz by convention).
    segment_s : float
        Welch segment length, seconds.

    Returns
    -------
    dict
        ``vlf``, ``lf``, ``hf`` band powers (ms^2), ``lf_hf`` (ratio), ``hf_peak_hz``
        (Hz), ``method`` (``"welch"`` or ``"lomb"``). A band is NaN when the series is
        shorter than one period of its lower edge or holds fewer than 10 beats.

    References
    ----------
    Task Force (1996), Circulation 93:1043. Lomb (1976).
    """
    rr = _as_rr(rr_ms)
    nan_out: dict[str, float | str] = {
        "vlf": _NAN,
        "lf": _NAN,
        "hf": _NAN,
        "lf_hf": _NAN,
        "hf_peak_hz": _NAN,
        "method": "none",
    }
    if rr.size < 10:
        return nan_out
    if t_s is None:
        t = np.cumsum(rr) / 1000.0
        gaps = False
    else:
        t = np.asarray(t_s, dtype=np.float64)
        if t.shape != rr.shape or not np.all(np.isfinite(t)) or np.any(np.diff(t) <= 0):
            raise ValueError("t_s must be finite, strictly increasing and as long as rr_ms")
        gaps = bool(find_gaps(t, rr).any())
    duration = float(t[-1] - t[0])
    if gaps:
        df = 1.0 / max(duration, 1.0 / BANDS_HZ["vlf"][0]) / 2.0
        freqs = np.arange(df, BANDS_HZ["hf"][1] + df, df)
        psd = lomb_psd(t, rr, freqs)
        method = "lomb"
    else:
        grid = np.arange(t[0], t[-1], 1.0 / resample_hz)
        x = detrend(CubicSpline(t, rr)(grid), type="linear")
        nper = int(min(x.size, round(segment_s * resample_hz)))
        nfft = max(2048, 1 << (nper - 1).bit_length())
        freqs, psd = welch(
            x, fs=resample_hz, window="hann", nperseg=nper, noverlap=nper // 2, nfft=nfft
        )
        df = float(freqs[1] - freqs[0])
        method = "welch"
    powers = _band_powers(freqs, psd, df)
    out: dict[str, float | str] = dict(nan_out)
    for name, (lo, _hi) in BANDS_HZ.items():
        if duration >= 1.0 / lo:
            out[name] = powers[name]
    lf, hf = out["lf"], out["hf"]
    if isinstance(lf, float) and isinstance(hf, float) and hf > 0 and not math.isnan(lf):
        out["lf_hf"] = lf / hf
    if not math.isnan(float(out["hf"])):
        out["hf_peak_hz"] = _peak_hz(freqs, psd, *BANDS_HZ["hf"])
    out["method"] = method
    return out


# ============================================================================ live
@dataclass(frozen=True)
class HrvSettings:
    """Parameters of :class:`HrvWindow` (units in the names).

    Attributes
    ----------
    hr_window_s : float
        Trailing window of the mean heart rate, seconds.
    rmssd_window_s : float
        Trailing window of RMSSD, ln RMSSD and SDNN, seconds.
    min_hr_beats : int
        Clean beats needed in the HR window.
    min_diffs : int
        NN successive differences needed in the RMSSD window (and NN intervals for SDNN).
    spectrum_window_s : float
        Trailing window of the spectra, seconds.
    spectrum_step_s : float
        Spectra are recomputed when stream time crosses a multiple of this, seconds.
    resample_hz : float
        Resampling rate of the tachogram, Hz; ``spectrum_window_s * resample_hz`` must be
        a multiple of 4.
    min_lomb_span_s : float
        With gaps in the window, Lomb-Scargle needs beats spanning this long, seconds.
    nn_range_ms : tuple of float
        A clean beat outside this range is not used as NN, milliseconds. The lower end
        also sizes the buffers (most beats a window can hold).
    """

    hr_window_s: float = 30.0
    rmssd_window_s: float = 60.0
    min_hr_beats: int = 10
    min_diffs: int = 40
    spectrum_window_s: float = 120.0
    spectrum_step_s: float = 5.0
    resample_hz: float = 4.0
    min_lomb_span_s: float = 60.0
    nn_range_ms: tuple[float, float] = field(default=(200.0, 3000.0))

    def __post_init__(self) -> None:
        if not (self.hr_window_s > 0 and self.rmssd_window_s > 0):
            raise ValueError("window lengths must be > 0 s")
        n = self.spectrum_window_s * self.resample_hz
        if n != int(n) or int(n) % 4 or n < 64:
            raise ValueError(
                f"spectrum_window_s * resample_hz must be a multiple of 4 and >= 64, got {n}"
            )
        step = self.spectrum_step_s * self.resample_hz
        if step != int(step) or step < 1:
            raise ValueError("spectrum_step_s * resample_hz must be a positive integer")
        if not 0 < self.nn_range_ms[0] < self.nn_range_ms[1]:
            raise ValueError(f"bad nn_range_ms {self.nn_range_ms}")


@dataclass(frozen=True, slots=True)
class HrvMetrics:
    """HRV at one beat, over trailing windows of stream time (NaN when not estimable).

    Attributes
    ----------
    t : float
        Time of the beat these metrics follow, seconds.
    hr_bpm : float
        Mean heart rate over the last 30 s of clean NN intervals, beats/min.
    rmssd_ms, ln_rmssd : float
        RMSSD over the last 60 s (ms) and its natural log (of ms).
    sdnn_ms : float
        SDNN over the last 60 s, ms.
    lf_ms2, hf_ms2 : float
        LF and HF power over the last 120 s, ms^2 (recomputed every 5 s, last value held).
    hf_peak_hz : float
        Frequency of the HF spectral peak (respiratory sinus arrhythmia), Hz.
    n_diffs : int
        NN successive differences in the RMSSD window.
    spectrum_t : float
        End of the window of the spectral values, seconds (NaN before the first).
    reason : str
        Why something is NaN; ``""`` when everything is estimated.
    """

    t: float
    hr_bpm: float
    rmssd_ms: float
    ln_rmssd: float
    sdnn_ms: float
    lf_ms2: float
    hf_ms2: float
    hf_peak_hz: float
    n_diffs: int
    spectrum_t: float
    reason: str


_REASONS = (
    "HR: too few clean beats in the last 30 s",
    "RMSSD/SDNN: fewer than the needed NN differences in the last 60 s",
    "spectrum: not enough beats in the last 120 s",
)
_REASON_TEXT = tuple(
    "; ".join(r for bit, r in enumerate(_REASONS) if code >> bit & 1) for code in range(8)
)


def _hermite(
    t: np.ndarray, y: np.ndarray, brk: np.ndarray, grid_idx: np.ndarray, fs: float
) -> tuple[np.ndarray, np.ndarray]:
    """Local cubic (Catmull-Rom type) resampling of beats onto the grid ``grid_idx / fs``.

    Each sample depends only on the four beats around it, so resampling a window or the
    whole series gives identical samples. ``brk[i]`` marks a break (gap) before beat
    ``i``; samples whose four beats straddle a break, or lack a neighbour, are invalid.

    Returns
    -------
    samples, valid : numpy.ndarray
    """
    g = grid_idx * (1.0 / fs)
    n = t.size
    i = np.searchsorted(t, g, side="right") - 1
    if n < 4:
        return np.zeros(g.size), np.zeros(g.size, dtype=bool)
    valid = (i >= 1) & (i + 2 <= n - 1)
    ic = np.clip(i, 1, n - 3)
    cb = np.cumsum(brk)
    valid &= cb[ic + 2] == cb[ic - 1]
    t0, t1, tm, t2 = t[ic], t[ic + 1], t[ic - 1], t[ic + 2]
    y0, y1, ym, y2 = y[ic], y[ic + 1], y[ic - 1], y[ic + 2]
    h = t1 - t0
    s = (g - t0) / h
    m0 = (y1 - ym) / (t1 - tm) * h
    m1 = (y2 - y0) / (t2 - t0) * h
    s2 = s * s
    s3 = s2 * s
    out = (
        (2.0 * s3 - 3.0 * s2 + 1.0) * y0
        + (s3 - 2.0 * s2 + s) * m0
        + (-2.0 * s3 + 3.0 * s2) * y1
        + (s3 - s2) * m1
    )
    return out, valid


class _Spectrum:
    """The Welch spectrum of one trailing window: 3 Hann segments of half the window."""

    def __init__(self, settings: HrvSettings) -> None:
        fs = settings.resample_hz
        self.fs = fs
        self.n_win = round(settings.spectrum_window_s * fs)
        self.n_seg = self.n_win // 2
        self.hop = self.n_win // 4
        self.nfft = self.n_win  # zero-padded to the window: bins of 1/120 Hz
        self.freqs = np.fft.rfftfreq(self.nfft, 1.0 / fs)
        self.df = fs / self.nfft
        x = np.arange(self.n_seg) - (self.n_seg - 1) / 2.0
        self.x = x
        self.xx = float(np.sum(x * x))
        self.window = np.hanning(self.n_seg + 2)[1:-1]  # periodic-free Hann, no zero ends
        self.scale = 2.0 / (fs * float(np.sum(self.window * self.window)))
        lo, hi = BANDS_HZ["lf"]
        self.lf = slice(int(np.ceil(lo / self.df - 1e-9)), int(np.ceil(hi / self.df - 1e-9)))
        lo, hi = BANDS_HZ["hf"]
        self.hf = slice(int(np.ceil(lo / self.df - 1e-9)), int(np.ceil(hi / self.df - 1e-9)))

    def segment_psd(self, seg: np.ndarray) -> np.ndarray:
        """PSD rows (ms^2/Hz) of segments (rows of ``seg``): detrend, Hann, FFT."""
        mean = np.mean(seg, axis=-1, keepdims=True)
        slope = np.sum(seg * self.x, axis=-1, keepdims=True) / self.xx
        y = (seg - mean - slope * self.x) * self.window
        f = np.fft.rfft(y, n=self.nfft, axis=-1)
        return (f.real * f.real + f.imag * f.imag) * self.scale

    def bands(self, psd: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """LF and HF power (ms^2) and HF peak (Hz) of window PSD rows."""
        lf = np.sum(psd[:, self.lf], axis=-1) * self.df
        hfp = psd[:, self.hf]
        hf = np.sum(hfp, axis=-1) * self.df
        k = np.argmax(hfp, axis=-1)
        rows = np.arange(psd.shape[0])
        kk = k + self.hf.start
        a = psd[rows, np.maximum(kk - 1, 0)]
        b = psd[rows, kk]
        c = psd[rows, kk + 1]
        den = a - 2.0 * b + c
        off = np.where(den < 0.0, 0.5 * (a - c) / np.where(den < 0.0, den, -1.0), 0.0)
        off = np.clip(off, -0.5, 0.5)
        # a maximum on a band edge is no peak inside the band: keep the edge bin
        off = np.where((kk == self.hf.start) | (kk == self.hf.stop - 1), 0.0, off)
        peak = (kk + off) * self.df
        return lf, hf, peak

    def lomb(self, t: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
        """LF, HF power (ms^2) and HF peak (Hz) by Lomb-Scargle on beats."""
        freqs = self.freqs[1 : self.hf.stop + 1]
        psd = np.zeros(self.freqs.size)
        psd[1 : self.hf.stop + 1] = lomb_psd(t, y, freqs)
        lf, hf, peak = self.bands(psd[None, :])
        return float(lf[0]), float(hf[0]), float(peak[0])


class _Ring:
    """Fixed-capacity columns addressed by absolute (ever-growing) integer positions."""

    __slots__ = ("cap", "cols")

    def __init__(self, cap: int, n_cols: int) -> None:
        self.cap = cap
        self.cols = [[0] * cap for _ in range(n_cols)]


class HrvWindow:
    """Live HRV over trailing windows of stream time, one beat at a time.

    Time-domain metrics cost O(1) amortised per beat: integer running sums over
    fixed-capacity rings with eviction. Spectra are recomputed when stream time crosses a
    multiple of ``spectrum_step_s`` (about every 5 beats) and held in between.

    Parameters
    ----------
    settings : HrvSettings, optional
        Windows and thresholds.
    """

    def __init__(self, settings: HrvSettings | None = None) -> None:
        self.settings = settings if settings is not None else HrvSettings()
        s = self.settings
        min_rr_s = s.nn_range_ms[0] / 1000.0
        self._cap = math.ceil(max(s.hr_window_s, s.rmssd_window_s) / min_rr_s) + 2
        span = s.spectrum_window_s + 2 * s.spectrum_step_s + 3 * s.nn_range_ms[1] / 1000.0
        self._bcap = math.ceil(span / min_rr_s) + 4
        self._spec = _Spectrum(s)
        self.reset()

    def reset(self) -> None:
        """Forget all beats and metrics."""
        cap = self._cap
        # clean NN beats: time, value (1/1024 ms); successive differences: time, value
        self._nn_t = [0.0] * cap
        self._nn_q = [0] * cap
        self._d_t = [0.0] * cap
        self._d_q = [0] * cap
        self._nn_head60 = self._nn_head30 = self._nn_tail = 0
        self._d_head = self._d_tail = 0
        self._s30 = self._s60 = self._s2 = self._d2 = 0
        self._prev_q: int | None = None
        self._prev_t = 0.0
        self._last_t = -math.inf
        # all corrected beats for the spectra
        bcap = self._bcap
        self._b_t = np.zeros(bcap)
        self._b_y = np.zeros(bcap)
        self._b_brk = np.zeros(bcap, dtype=bool)
        self._b_n = 0
        self._brk_next = True
        self._spec_k: int | None = None
        self._spec_vals = (_NAN, _NAN, _NAN)
        self._spec_t = _NAN

    def push(self, beat: CorrectedBeat, gap_before: bool = False) -> HrvMetrics:
        """Add one corrected beat; return the metrics at its time.

        Parameters
        ----------
        beat : CorrectedBeat
            The next corrected beat (clean or not); times must not go backwards.
        gap_before : bool
            True when beats are missing before this one (the engine saw a gap): no
            successive difference spans it and spectra switch to Lomb-Scargle.

        Returns
        -------
        HrvMetrics
        """
        t = float(beat.t)
        if not t >= self._last_t:
            raise ValueError(f"beat time {t!r} s goes back before {self._last_t!r} s")
        self._last_t = t
        s = self.settings
        rr = float(beat.rr_ms)
        clean = beat.artifact is None and s.nn_range_ms[0] <= rr <= s.nn_range_ms[1]
        q = round(rr * _Q) if clean else 0
        self._add_time_domain(t, q, clean, gap_before)
        self._add_beat(t, rr, gap_before)
        return self._metrics(t)

    # ------------------------------------------------------------------ time domain
    def _add_time_domain(self, t: float, q: int, clean: bool, gap: bool) -> None:
        cap = self._cap
        if gap:
            self._prev_q = None
        if clean:
            k = self._nn_tail % cap
            self._nn_t[k] = t
            self._nn_q[k] = q
            self._nn_tail += 1
            self._s30 += q
            self._s60 += q
            self._s2 += q * q
            if self._prev_q is not None:
                # a difference belongs to the window while its earlier beat does
                d = q - self._prev_q
                k = self._d_tail % cap
                self._d_t[k] = self._prev_t
                self._d_q[k] = d
                self._d_tail += 1
                self._d2 += d * d
            self._prev_q = q
            self._prev_t = t
        else:
            self._prev_q = None
        s = self.settings
        lim60 = t - s.rmssd_window_s
        lim30 = t - s.hr_window_s
        nn_t, nn_q = self._nn_t, self._nn_q
        tail = self._nn_tail
        h = self._nn_head60
        while h < tail and (nn_t[h % cap] <= lim60 or tail - h > cap - 1):
            v = nn_q[h % cap]
            self._s60 -= v
            self._s2 -= v * v
            h += 1
        self._nn_head60 = h
        h30 = self._nn_head30
        while h30 < tail and (nn_t[h30 % cap] <= lim30 or tail - h30 > cap - 1):
            self._s30 -= nn_q[h30 % cap]
            h30 += 1
        self._nn_head30 = h30
        d_t, d_q = self._d_t, self._d_q
        dt = self._d_tail
        h = self._d_head
        while h < dt and (d_t[h % cap] <= lim60 or dt - h > cap - 1):
            v = d_q[h % cap]
            self._d2 -= v * v
            h += 1
        self._d_head = h

    # ------------------------------------------------------------------ spectra
    def _add_beat(self, t: float, rr: float, gap: bool) -> None:
        if not (math.isfinite(rr) and rr > 0.0):
            self._brk_next = True
            return
        n = self._b_n
        if n == self._bcap:  # drop the oldest half-capacity at once (amortised O(1))
            keep = self._bcap // 2
            self._b_t[:keep] = self._b_t[n - keep : n]
            self._b_y[:keep] = self._b_y[n - keep : n]
            self._b_brk[:keep] = self._b_brk[n - keep : n]
            n = keep
        self._b_t[n] = t
        self._b_y[n] = rr
        self._b_brk[n] = gap or self._brk_next
        self._brk_next = False
        self._b_n = n + 1
        if n >= 1:
            k = _spectrum_index(float(self._b_t[n - 1]), self.settings.spectrum_step_s)
            if self._spec_k is None or k > self._spec_k:
                self._spec_k = k
                self._spec_vals = self._spectrum_at(k)
                self._spec_t = k * self.settings.spectrum_step_s

    def _spectrum_at(self, k: int) -> tuple[float, float, float]:
        n = self._b_n
        return _window_spectrum(
            self._spec, self.settings, k, self._b_t[:n], self._b_y[:n], self._b_brk[:n]
        )

    # ------------------------------------------------------------------ output
    def _metrics(self, t: float) -> HrvMetrics:
        s = self.settings
        reason = 0
        n30 = self._nn_tail - self._nn_head30
        hr = _NAN
        if n30 >= s.min_hr_beats:
            hr = 60000.0 * _Q * float(n30) / float(self._s30)
        else:
            reason |= 1
        nd = self._d_tail - self._d_head
        n60 = self._nn_tail - self._nn_head60
        rmssd = ln = sdnn = _NAN
        if nd >= s.min_diffs:
            rmssd = math.sqrt(float(self._d2) / float(nd)) / _Q
            ln = float(np.log(rmssd)) if rmssd > 0 else -math.inf
            num = n60 * self._s2 - self._s60 * self._s60
            sdnn = math.sqrt(float(num) / float(n60 * (n60 - 1))) / _Q
        else:
            reason |= 2
        lf, hf, peak = self._spec_vals
        if math.isnan(hf):
            reason |= 4
        return HrvMetrics(
            t, hr, rmssd, ln, sdnn, lf, hf, peak, nd, self._spec_t, _REASON_TEXT[reason]
        )


def _spectrum_index(t_prev: float, step_s: float) -> int:
    """Index k of the last spectrum time ``k * step_s`` strictly before ``t_prev``."""
    return math.ceil(t_prev / step_s) - 1


def _window_spectrum(
    spec: _Spectrum,
    s: HrvSettings,
    k: int,
    t: np.ndarray,
    y: np.ndarray,
    brk: np.ndarray,
    samples: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[float, float, float]:
    """LF, HF (ms^2) and HF peak (Hz) over the window ending at ``k * step``.

    Welch over 3 half-window segments when every 4 Hz sample of the window is valid;
    Lomb-Scargle on the window's beats when it holds a gap; NaN with too little data.
    ``samples`` may pass the precomputed window samples (batch path).
    """
    step = round(s.spectrum_step_s * spec.fs)
    end = k * step  # grid index of the window's last sample
    if samples is None:
        grid = np.arange(end - spec.n_win + 1, end + 1, dtype=np.float64)
        # only beats that can matter: from 2 before the window to 2 after its end
        lo = max(0, int(np.searchsorted(t, grid[0] / spec.fs, side="right")) - 3)
        samples = _hermite(t[lo:], y[lo:], brk[lo:], grid, spec.fs)
    x, valid = samples
    if valid.all():
        segs = np.stack([x[i * spec.hop : i * spec.hop + spec.n_seg] for i in range(3)])
        psd = _mean3(spec.segment_psd(segs))
        lf, hf, peak = spec.bands(psd)
        return float(lf[0]), float(hf[0]), float(peak[0])
    t_end = end / spec.fs
    a = int(np.searchsorted(t, t_end - s.spectrum_window_s, side="right"))
    b = int(np.searchsorted(t, t_end, side="right"))
    if b - a >= s.min_diffs and t[b - 1] - t[a] >= s.min_lomb_span_s:
        return spec.lomb(t[a:b], y[a:b])
    return _NAN, _NAN, _NAN


def _mean3(rows: np.ndarray) -> np.ndarray:
    """Mean of three PSD rows, in a fixed order (so batch and online agree bit for bit)."""
    return ((rows[0::3] + rows[1::3]) + rows[2::3]) / 3.0


# ============================================================================ batch
def windowed_metrics(
    t_s: np.ndarray,
    rr_ms: np.ndarray,
    artifact_mask: np.ndarray,
    gap_before: np.ndarray | None = None,
    settings: HrvSettings | None = None,
) -> dict[str, np.ndarray]:
    """:class:`HrvWindow` over whole arrays: one row of metrics per beat.

    Vectorised, but the same definitions and arithmetic as pushing each beat through
    :class:`HrvWindow` (integer running sums, the same local resampling and Welch code),
    so the results are identical (``tests/test_hrv.py`` checks it).

    Parameters
    ----------
    t_s : array_like
        Beat times, seconds, non-decreasing.
    rr_ms : array_like
        Corrected intervals, milliseconds.
    artifact_mask : array_like of bool
        True where the beat is not a clean NN interval (any artifact label).
    gap_before : array_like of bool, optional
        True where beats are missing before the beat.
    settings : HrvSettings, optional
        Windows and thresholds.

    Returns
    -------
    dict of numpy.ndarray
        The fields of :class:`HrvMetrics`, one entry per beat.
    """
    s = settings if settings is not None else HrvSettings()
    t = np.asarray(t_s, dtype=np.float64)
    rr = np.asarray(rr_ms, dtype=np.float64)
    art = np.asarray(artifact_mask, dtype=bool)
    n = t.size
    gap = np.zeros(n, dtype=bool) if gap_before is None else np.asarray(gap_before, bool)
    if not (t.ndim == rr.ndim == art.ndim == gap.ndim == 1) or not (
        rr.size == art.size == gap.size == n
    ):
        raise ValueError("t_s, rr_ms, artifact_mask and gap_before must be 1-D, same length")
    if not np.all(np.isfinite(t)) or np.any(np.diff(t) < 0):
        raise ValueError("t_s must be finite and non-decreasing")
    win = HrvWindow(s)
    cap = win._cap
    with np.errstate(invalid="ignore"):
        clean = ~art & (rr >= s.nn_range_ms[0]) & (rr <= s.nn_range_ms[1])
    # ---- time domain: integer cumulative sums over the clean beats
    ci = np.flatnonzero(clean)
    q = np.rint(rr[ci] * _Q).astype(np.int64)
    tc = t[ci]
    cs = np.concatenate(([0], np.cumsum(q)))
    cs2 = np.concatenate(([0], np.cumsum(q * q)))
    n_clean_upto = np.cumsum(clean)  # clean beats among 0..i
    tail = n_clean_upto  # absolute tail after beat i

    def heads(width: float, times: np.ndarray, tails: np.ndarray) -> np.ndarray:
        h = np.searchsorted(times, t - width, side="right")
        h = np.maximum(h, tails - (cap - 1))
        return np.minimum(h, tails)

    # the online heads never move back: a running maximum of the time-based head
    h60 = np.maximum.accumulate(heads(s.rmssd_window_s, tc, tail))
    h30 = np.maximum.accumulate(heads(s.hr_window_s, tc, tail))
    n30 = tail - h30
    s30 = cs[tail] - cs[h30]
    n60 = tail - h60
    s60 = cs[tail] - cs[h60]
    s2 = cs2[tail] - cs2[h60]
    # successive differences: consecutive clean beats with no gap or artifact between
    pair = np.zeros(ci.size, dtype=bool)
    if ci.size > 1:
        pair[1:] = (np.diff(ci) == 1) & ~gap[ci[1:]]
    di = np.flatnonzero(pair)
    dq = q[di] - q[di - 1]
    dt = tc[di - 1]  # a difference belongs to the window while its earlier beat does
    cd2 = np.concatenate(([0], np.cumsum(dq * dq)))
    is_pair_beat = np.zeros(n, dtype=bool)
    is_pair_beat[ci[di]] = True
    dtail = np.cumsum(is_pair_beat)
    hd = np.maximum.accumulate(heads(s.rmssd_window_s, dt, dtail))
    nd = dtail - hd
    d2 = cd2[dtail] - cd2[hd]

    reason = np.zeros(n, dtype=np.int64)
    ok30 = n30 >= s.min_hr_beats
    hr = np.full(n, _NAN)
    hr[ok30] = 60000.0 * _Q * n30[ok30].astype(np.float64) / s30[ok30].astype(np.float64)
    reason[~ok30] |= 1
    okd = nd >= s.min_diffs
    rmssd = np.full(n, _NAN)
    rmssd[okd] = np.sqrt(d2[okd].astype(np.float64) / nd[okd].astype(np.float64)) / _Q
    ln = np.full(n, _NAN)
    pos = okd & (rmssd > 0)
    ln[pos] = np.log(rmssd[pos])
    ln[okd & (rmssd == 0)] = -math.inf
    num = n60 * s2 - s60 * s60
    sdnn = np.full(n, _NAN)
    den = (n60 * (n60 - 1)).astype(np.float64)
    sdnn[okd] = np.sqrt(num[okd].astype(np.float64) / den[okd]) / _Q
    reason[~okd] |= 2

    # ---- spectra
    lf, hf, peak, spec_t = _batch_spectra(win._spec, s, t, rr, gap)
    reason[np.isnan(hf)] |= 4
    return {
        "t": t.copy(),
        "hr_bpm": hr,
        "rmssd_ms": rmssd,
        "ln_rmssd": ln,
        "sdnn_ms": sdnn,
        "lf_ms2": lf,
        "hf_ms2": hf,
        "hf_peak_hz": peak,
        "n_diffs": nd.astype(np.int64),
        "spectrum_t": spec_t,
        "reason": np.asarray(_REASON_TEXT, dtype=object)[reason],
    }


def _batch_spectra(
    spec: _Spectrum, s: HrvSettings, t: np.ndarray, rr: np.ndarray, gap: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    n = t.size
    out = [np.full(n, _NAN) for _ in range(4)]
    usable = np.isfinite(rr) & (rr > 0.0)
    ui = np.flatnonzero(usable)
    if ui.size < 2:
        return out[0], out[1], out[2], out[3]
    bt, by = t[ui], rr[ui]
    # a break before a usable beat: a gap flag on it, or an unusable beat just before it
    brk = gap[ui].copy()
    brk[0] = True
    if ui.size > 1:
        brk[1:] |= np.diff(ui) > 1
        # a gap flag on an unusable beat still breaks before the next usable one
        gc = np.cumsum(gap)
        brk[1:] |= gc[ui[1:] - 1] > gc[ui[:-1]]
    # spectrum index after each usable beat j >= 1: from the previous usable beat's time
    k_after = np.full(ui.size, np.iinfo(np.int64).min, dtype=np.int64)
    k_after[1:] = np.ceil(bt[:-1] / s.spectrum_step_s).astype(np.int64) - 1
    k_run = np.maximum.accumulate(k_after)
    evaluated = np.zeros(ui.size, dtype=bool)
    evaluated[1:] = k_run[1:] > k_run[:-1]
    evaluated[1] = True
    ks = k_run[evaluated]  # strictly increasing spectrum indices actually computed
    j_of_k = np.flatnonzero(evaluated)  # the usable beat whose arrival computed each k
    vals = np.full((ks.size, 3), _NAN)
    step = round(s.spectrum_step_s * spec.fs)
    n_win, n_seg, hop = spec.n_win, spec.n_seg, spec.hop
    seg_idx = np.arange(n_seg)
    c0 = 0
    while c0 < ks.size:
        # a chunk of windows whose samples span a bounded stretch of the 4 Hz grid
        c1 = min(ks.size, c0 + 2048)
        c1 = c0 + max(1, int(np.searchsorted(ks[c0:c1], ks[c0] + 4096, side="left")))
        kc = ks[c0:c1]
        g0 = int(kc[0]) * step - n_win + 1
        grid = np.arange(g0, int(kc[-1]) * step + 1, dtype=np.float64)
        x, valid = _hermite(bt, by, brk, grid, spec.fs)
        bad = np.concatenate(([0], np.cumsum(~valid)))
        ends = kc * step - g0  # position of each window's last sample in the chunk
        full = bad[ends + 1] - bad[ends + 1 - n_win] == 0
        rows = np.flatnonzero(full)
        if rows.size:
            starts = (ends[rows] - n_win + 1)[:, None] + np.arange(3)[None, :] * hop
            uniq, inv = np.unique(starts, return_inverse=True)
            psd_seg = spec.segment_psd(x[uniq[:, None] + seg_idx[None, :]])
            inv = inv.reshape(starts.shape)
            psd = ((psd_seg[inv[:, 0]] + psd_seg[inv[:, 1]]) + psd_seg[inv[:, 2]]) / 3.0
            lf, hf, pk = spec.bands(psd)
            vals[c0 + rows, 0] = lf
            vals[c0 + rows, 1] = hf
            vals[c0 + rows, 2] = pk
        for r in np.flatnonzero(~full).tolist():
            j = int(j_of_k[c0 + r]) + 1
            e = int(ends[r])
            win = (x[e - n_win + 1 : e + 1], valid[e - n_win + 1 : e + 1])
            vals[c0 + r] = _window_spectrum(
                spec, s, int(kc[r]), bt[:j], by[:j], brk[:j], samples=win
            )
        c0 = c1
    # per usable beat: the latest computed spectrum; per beat: hold through unusable ones
    which = np.cumsum(evaluated) - 1
    have = which >= 0
    per_usable = np.full((ui.size, 4), _NAN)
    per_usable[have, :3] = vals[which[have]]
    per_usable[have, 3] = ks[which[have]] * s.spectrum_step_s
    pos = np.cumsum(usable) - 1  # last usable beat at or before each beat
    ok = pos >= 0
    for c in range(4):
        out[c][ok] = per_usable[pos[ok], c]
    return out[0], out[1], out[2], out[3]
