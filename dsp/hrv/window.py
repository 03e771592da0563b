"""Live HRV over trailing windows of stream time, beat by beat or over whole arrays.

HR over 30 s, RMSSD/ln RMSSD and SDNN over 60 s (NaN below 40 NN differences: Munoz
et al. 2015 found 10 s RMSSD already r = 0.85 with 5 min, but a live display needs a
steadier value), LF/HF power and the HF peak over 120 s every 5 s of stream time (Task
Force 1996 asks for >= 10 cycles of the lowest frequency; 120 s holds 18 cycles at
0.15 Hz but only 5 at 0.04 Hz, so live LF is indicative). The definitions are those of
:mod:`dsp.hrv`; the spectra are computed in :mod:`dsp.hrv.spectra`.

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
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dsp.hrv.settings import HrvSettings
from dsp.hrv.spectra import (
    _batch_spectra,
    _cached_window_spectrum,
    _Spectrum,
    _spectrum_index,
)
from dsp.types import CorrectedBeat

__all__ = ["HrvMetrics", "HrvWindow", "windowed_metrics"]

_Q = 1024.0  # fixed-point scale of the running sums: units of 1/1024 ms
_NAN = math.nan


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
        self._segments: dict[int, np.ndarray | None] = {}  # segment spectra by start
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
        return _cached_window_spectrum(
            self._spec,
            self.settings,
            k,
            self._b_t[:n],
            self._b_y[:n],
            self._b_brk[:n],
            self._segments,
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
