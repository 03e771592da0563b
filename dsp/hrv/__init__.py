"""Heart rate variability of one NN series: time and frequency domain (batch).

Conventions (Task Force 1996; pinned in DESIGN.md):

- Only normal-to-normal (NN) pairs count: a successive difference is never taken across
  an artifact or a gap.
- ``RMSSD = sqrt(sum(dRR**2) / (N - 1))`` over the N - 1 successive differences; ``SDNN``
  with ``ddof=1``; ``pNN50 = 100 * #(|dRR| > 50 ms) / (N - 1)``; mean HR ``= 60000 /
  mean(NN)``.
- Spectra: the tachogram resampled at 4 Hz by a cubic, detrended, Welch periodogram with
  a Hann window; Lomb-Scargle on the beats themselves when the data hold gaps. Bands:
  VLF 0.0033-0.04 Hz, LF 0.04-0.15 Hz, HF 0.15-0.4 Hz (lower edge included).

The same measures over live trailing windows, beat by beat or over arrays, are in
:mod:`dsp.hrv.window` (settings in :mod:`dsp.hrv.settings`, the windowed spectra in
:mod:`dsp.hrv.spectra`).

References
----------
Task Force of the European Society of Cardiology and the North American Society of
Pacing and Electrophysiology (1996). Heart rate variability: standards of measurement,
physiological interpretation and clinical use. Circulation, 93(5), 1043-1065.

Lomb, N. R. (1976). Least-squares frequency analysis of unequally spaced data.
Astrophysics and Space Science, 39, 447-462.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "BANDS_HZ",
    "find_gaps",
    "frequency_domain",
    "lomb_psd",
    "time_domain",
]

BANDS_HZ: dict[str, tuple[float, float]] = {
    "vlf": (0.0033, 0.04),
    "lf": (0.04, 0.15),
    "hf": (0.15, 0.4),
}
"""Frequency bands (Task Force 1996), Hz: lower edge included, upper edge excluded."""

_NAN = math.nan


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


def _detrend_linear(x: np.ndarray) -> np.ndarray:
    """``x`` minus its least-squares line (``scipy.signal.detrend(x, type="linear")``)."""
    i = np.arange(x.size, dtype=np.float64) - (x.size - 1) / 2.0
    mean = float(np.mean(x))
    slope = float(np.dot(i, x - mean) / max(float(np.dot(i, i)), 1e-300))
    return x - mean - slope * i


def _welch_hann(x: np.ndarray, fs: float, nper: int, nfft: int) -> tuple[np.ndarray, np.ndarray]:
    """Welch PSD (units^2/Hz, one-sided) over periodic Hann segments with 50 % overlap.

    Segments of ``nper`` samples, each mean-removed and zero-padded to ``nfft``: the
    estimate of ``scipy.signal.welch(x, fs, "hann", nper, nper // 2, nfft)``
    (``tests/test_hrv.py`` checks it) in a few numpy calls; on a 5-min session segment
    scipy's per-call overhead cost more than the transform.
    """
    step = nper - nper // 2
    n_seg = 1 + (x.size - nper) // step
    seg = np.lib.stride_tricks.sliding_window_view(x, nper)[::step][:n_seg]
    win = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(nper) / nper)
    seg = (seg - seg.mean(axis=1, keepdims=True)) * win
    spec = np.fft.rfft(seg, n=nfft, axis=1)
    psd = np.mean(spec.real * spec.real + spec.imag * spec.imag, axis=0)
    psd /= fs * float(np.dot(win, win))
    psd[1 : -1 if nfft % 2 == 0 else None] *= 2.0
    return np.fft.rfftfreq(nfft, 1.0 / fs), psd


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
    p = _lombscargle(t, y, 2.0 * np.pi * freqs_hz)
    duration = float(t[-1] - t[0]) if t.size > 1 else 0.0
    return 2.0 * p * duration / t.size


def _lombscargle(t: np.ndarray, y: np.ndarray, omega: np.ndarray) -> np.ndarray:
    """Lomb's (1976) unnormalised periodogram at angular frequencies ``omega`` (rad/s).

    ``scipy.signal.lombscargle(t, y, omega)`` with its defaults (``tests/test_hrv.py``
    checks it), in numpy: the live HRV window uses it whenever its 120 s hold a gap, and
    importing scipy.signal on the engine thread at that moment stalled the session for
    up to a second.
    """
    wt = np.outer(omega, t)
    tau = 0.5 * np.arctan2(np.sin(2.0 * wt).sum(axis=1), np.cos(2.0 * wt).sum(axis=1))
    arg = wt - tau[:, None]
    c, s = np.cos(arg), np.sin(arg)
    yc, ys = c @ y, s @ y
    return 0.5 * (yc * yc / np.sum(c * c, axis=1) + ys * ys / np.sum(s * s, axis=1))


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
        from scipy.interpolate import CubicSpline  # batch only (see lomb_psd)

        grid = np.arange(t[0], t[-1], 1.0 / resample_hz)
        x = _detrend_linear(CubicSpline(t, rr)(grid))
        nper = int(min(x.size, round(segment_s * resample_hz)))
        nfft = max(2048, 1 << (nper - 1).bit_length())
        freqs, psd = _welch_hann(x, resample_hz, nper, nfft)
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
