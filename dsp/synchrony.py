"""Physiological synchrony between two people's heart rates (SCIENCE.md §5).

Method
------
1. Series: each person's artifact-corrected instantaneous heart rate (60000 / RR, bpm),
   linearly interpolated between beats onto a shared 4 Hz grid of stream time
   (grid point ``k`` is at ``k / 4`` s on the LSL clock, so two people on two machines
   share it). A grid point is missing (NaN) inside a gap, across an interval longer
   than ``max_interval_s``, or while either neighbouring beat has poor signal.
2. Windowed cross-correlation (Boker et al. 2002): every second, the newest 30 s
   window of person a (linearly detrended) is correlated with windows of person b
   shifted by -5 ... +5 s (each detrended too). Fisher ``z = atanh(r)``; the peak is the
   largest signed ``z`` over lags, with its lag. ``lag_s > 0`` means b follows a.
3. Significance from time-shifted surrogates: the same peak statistic for pairs that
   cannot be coupled, namely a's current window against b's windows at least 60 s
   away, and b's current window against a's windows at least 60 s away, both drawn
   from a 10-minute history. Index = fraction of surrogates below the observed peak
   (ties half), in [0, 1]; ``p = (1 + #(surrogate >= observed)) / (N + 1)``.
   Smoothing (EWMA, tau 15 s) is applied to the observed peak z *and* to every
   surrogate slot alike (slot j keeps its place in the spread of shifts from second
   to second) before they are compared, so the smoothed index keeps its meaning; it
   restarts after a pause. ``index_raw`` is the single window's percentile.
4. Gaps or poor signal on either side pause the estimate: NaN ("no estimate"), never 0.

Surrogate design (calibration)
------------------------------
Neighbouring shifts of the same history are nearly the same surrogate: the peak over
+-5 s lags of a window shifted by 1 s repeats most of the lags of its neighbour. So
the N = 200 surrogates are spread evenly over *all* usable history rather than packed
next to the 60 s minimum, and half come from each direction (a against b's past, b
against a's past), which doubles the number of distinct windows. Estimates start only
once ``min_history_s`` of joint history exists. docs/synchrony.md reports the false
rate measured on independent simulated pairs.

Session level: :func:`session_effect_size` is a SUSY-style effect size (Tschacher &
Haken 2019; Tschacher, Rees & Ramseyer 2014): the mean Fisher z of 30 s segments of the
real pairing minus the mean over pairings of different segments (segment shuffling,
Moulder et al. 2018), divided by the surrogates' standard deviation.

References
----------
Boker, S. M., Xu, M., Rotondo, J. L., & King, K. (2002). Windowed cross-correlation and
peak picking for the analysis of variability in the association between behavioral time
series. Psychological Methods, 7(3), 338-355.
Moulder, R. G., Boker, S. M., Ramseyer, F., & Tschacher, W. (2018). Determining synchrony
between behavioral time series: an application of surrogate data generation for
establishing falsifiable null-hypotheses. Psychological Methods, 23(4), 757-773.
Behrens, F., Moulder, R. G., Boker, S. M., & Kret, M. E. (2020). Quantifying physiological
synchrony through windowed cross-correlation analysis: statistical and theoretical
considerations. bioRxiv 2020.08.27.269746.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.fft import irfft, next_fast_len, rfft

__all__ = [
    "SynchronyEstimate",
    "SynchronyEstimator",
    "SynchronySettings",
    "SynchronyTrace",
    "session_effect_size",
    "synchrony",
]


@dataclass(frozen=True)
class SynchronySettings:
    """Parameters of :class:`SynchronyEstimator` (defaults: SCIENCE.md §5).

    Attributes
    ----------
    fs_hz : float
        Rate of the shared heart-rate grid, Hz.
    window_s : float
        Cross-correlation window, s.
    step_s : float
        Time between estimates, s (a whole number of grid samples).
    max_lag_s : float
        Largest lag searched either way, s.
    n_surrogates : int
        Surrogate windows per estimate (N).
    min_offset_s : float
        Smallest time shift of a surrogate window, s.
    history_s : float
        History the surrogates are drawn from (the ring buffer), s.
    min_history_s : float
        Joint history needed before the first estimate, s (warm-up).
    ewma_tau_s : float
        Time constant of the index smoothing, s.
    max_interval_s : float
        Longer intervals between beats are not interpolated (missing data), s.
    spread : bool
        True (default): surrogates spread over all usable history, half from each
        direction. False: the straightforward design, kept for comparison in the
        benchmark: b's windows at consecutive shifts from ``min_offset_s`` back.
    """

    fs_hz: float = 4.0
    window_s: float = 30.0
    step_s: float = 1.0
    max_lag_s: float = 5.0
    n_surrogates: int = 200
    min_offset_s: float = 60.0
    history_s: float = 600.0
    min_history_s: float = 180.0
    ewma_tau_s: float = 15.0
    max_interval_s: float = 3.0
    spread: bool = True

    def __post_init__(self) -> None:
        if self.n_surrogates < 20:
            raise ValueError(f"n_surrogates {self.n_surrogates} must be >= 20")
        if not self.window_s > 2 * self.max_lag_s >= 0:
            raise ValueError(f"window {self.window_s} s must exceed twice the lag range")
        if self.history_s < self.min_history_s:
            raise ValueError(f"history_s {self.history_s} < min_history_s {self.min_history_s}")


@dataclass(frozen=True, slots=True)
class SynchronyEstimate:
    """Synchrony over one window.

    Attributes
    ----------
    t : float
        End of the newest data used (stream time, s).
    index : float
        Surrogate index in [0, 1] of the smoothed peak z among the smoothed
        surrogates; >= 0.95 marks significant synchrony. NaN: no estimate (warm-up,
        a gap or poor signal on either side).
    index_raw : float
        This window's surrogate percentile before smoothing.
    r_peak : float
        Pearson r at the peak lag.
    lag_s : float
        Lag of the peak, s; > 0 means b follows a.
    p_value : float
        ``(1 + #(surrogate >= observed)) / (N + 1)`` on the smoothed values
        (``index >= 0.95`` is ``p <= 11/201`` with N = 200).
    n_surrogates : int
        Surrogates used (0 when there is no estimate).
    """

    t: float
    index: float
    index_raw: float
    r_peak: float
    lag_s: float
    p_value: float
    n_surrogates: int

    @property
    def estimated(self) -> bool:
        """True when there is an estimate (not paused)."""
        return math.isfinite(self.index)


@dataclass(frozen=True)
class SynchronyTrace:
    """Synchrony over a whole session (see :func:`synchrony`); one entry per step.

    Attributes
    ----------
    times : numpy array
        Estimate times, s.
    index, index_raw, r_peak, lag_s, p_value : numpy arrays
        As in :class:`SynchronyEstimate`; NaN where there is no estimate.
    effect_size : float
        Session-level SUSY-style effect size (:func:`session_effect_size`).
    """

    times: np.ndarray
    index: np.ndarray
    index_raw: np.ndarray
    r_peak: np.ndarray
    lag_s: np.ndarray
    p_value: np.ndarray
    effect_size: float = math.nan


class _Grid:
    """One person's heart rate on the shared grid, in bounded contiguous buffers.

    Holds the newest ``capacity`` grid samples (minus a fixed reference, missing ones
    as 0) and, beside each, what every estimate needs of the windows of ``window``
    samples: the inverse norm of the window starting there once linearly detrended (NaN
    while it holds a missing sample, or is flat), and whether all windows within ``lag``
    samples either side of it have one (the window can be the centre of a lag search).
    Each is computed once, when the window's last sample arrives, from sliding sums;
    everything here follows from this person's beats alone, so how two people's beats
    interleave cannot change a bit of it.
    """

    def __init__(self, capacity: int, window: int, lag: int, settings: SynchronySettings) -> None:
        self.capacity, self.window, self.lag, self.settings = capacity, window, lag, settings
        self.filled = np.zeros(2 * capacity)  # hr - ref (bpm), 0 where missing
        self.inv_norm = np.full(2 * capacity, np.nan)
        self.centre_ok = np.zeros(2 * capacity, bool)
        self.reset()

    def _buffers(self) -> tuple[tuple[np.ndarray, float], ...]:
        """Every buffer with its empty value."""
        return (self.filled, 0.0), (self.inv_norm, np.nan), (self.centre_ok, 0)

    def reset(self) -> None:
        self.start, self.end = 0, None  # grid index of buffer position 0; next to fill
        self.ref = math.nan  # subtracted from the samples (precision of the sums)
        self._t, self._hr, self._ok = math.nan, math.nan, False
        self._restart()

    def _restart(self) -> None:
        """Forget every sample held (the grid position stays)."""
        for buf, empty in self._buffers():
            buf[:] = empty
        # sums over the newest window of (hr - ref), i * (hr - ref) (i = 0..w-1 inside
        # it) and (hr - ref)^2; missing samples are held as 0, so they add nothing
        self._s0 = self._s1 = self._s2 = 0.0
        self._last_missing = -math.inf  # grid index of the newest missing sample
        self._run = 0  # consecutive complete windows up to the newest

    def push(self, t: float, rr_ms: float, ok: bool, gap_before: bool) -> None:
        """Add one corrected beat: fill grid points up to ``t`` (s)."""
        fs = self.settings.fs_hz
        hr = 60000.0 / rr_ms if rr_ms > 0 else math.nan
        k_new = math.floor(t * fs) + 1  # grid points <= t get filled
        if self.end is None:
            self.end = self.start = k_new
        elif k_new > self.end and t > self._t:
            usable = (
                ok
                and self._ok
                and not gap_before
                and t - self._t <= self.settings.max_interval_s
                and math.isfinite(hr)
            )
            skip = max(0, k_new - self.end - self.capacity)  # a gap longer than the buffer
            if usable:
                t0, hr0, dt, dhr = self._t, self._hr, t - self._t, hr - self._hr
                vals = [hr0 + (k / fs - t0) / dt * dhr for k in range(self.end, k_new)]
                if not math.isfinite(self.ref):
                    self.ref = vals[0]
            else:
                vals = [math.nan] * (k_new - self.end - skip)
            self._write(vals, skip)
        if t > self._t or not math.isfinite(self._t):
            self._t, self._hr, self._ok = t, hr, ok

    def _make_room(self, n: int) -> None:
        """Shift the newest ``capacity`` samples to the front when ``n`` more do not fit."""
        used = self.end - self.start
        if used + n <= self.filled.size:
            return
        keep = min(self.capacity, used)
        for buf, empty in self._buffers():
            buf[:keep] = buf[used - keep : used]
            buf[keep:] = empty
        self.start = self.end - keep

    def _write(self, vals: list[float], skip: int = 0) -> None:
        """Append samples (NaN: missing), after ``skip`` grid points never held."""
        if skip:  # everything held is forgotten: start afresh after the gap
            self.start = self.end = self.end + skip
            self._restart()
        self._make_room(len(vals))
        w, lag, ref, start = self.window, self.lag, self.ref, self.start
        sii = w * (w * w - 1) / 12.0  # sum of (i - (w - 1) / 2)^2
        filled, inv_norm = self.filled, self.inv_norm
        p = self.end - start
        s0, s1, s2, last_missing, run = self._s0, self._s1, self._s2, self._last_missing, self._run
        for v in vals:
            out = filled[p - w] if p >= w else 0.0  # the sample leaving the window
            s1 -= s0 - out
            s0 -= out
            s2 -= out * out
            x = v - ref
            if x == x:
                s0 += x
                s1 += (w - 1) * x
                s2 += x * x
                filled[p] = x
            else:
                last_missing = start + p
                filled[p] = 0.0
            q = p - w + 1  # the window ending here starts at q
            if q >= 0:
                ss = s2 - s0 * s0 / w - (s1 - (w - 1) / 2.0 * s0) ** 2 / sii
                if last_missing < start + q and ss > 1e-10 * s2 + 1e-18:
                    inv_norm[q] = 1.0 / math.sqrt(ss)
                    run += 1
                else:
                    run = 0
                if run > 2 * lag and q >= lag:
                    self.centre_ok[q - lag] = True
            p += 1
        self.end = start + p
        self._s0, self._s1, self._s2, self._last_missing, self._run = s0, s1, s2, last_missing, run


@functools.lru_cache(maxsize=8)
def _detrender(n: int) -> np.ndarray:
    """The (n, n) projection that removes the least-squares line: ``x @ P`` is detrended."""
    i = np.arange(n) - (n - 1) / 2.0  # the line, orthogonal to the constant
    p = np.eye(n) - 1.0 / n - np.outer(i, i) / (i @ i)
    p.flags.writeable = False
    return p


def _detrend_unit(x: np.ndarray) -> np.ndarray:
    """Remove the least-squares line and scale to unit norm (NaN if flat)."""
    y = x @ _detrender(x.size)
    norm = math.sqrt(float(y @ y))
    return y / norm if norm > 1e-9 else np.full(x.size, np.nan)


def _sliding_dot(fixed: np.ndarray, series: Sequence[np.ndarray]) -> np.ndarray:
    """Dot product of each fixed window with every window of its series.

    One FFT for all. With ``fixed`` detrended to unit norm, dividing by a window's
    detrended norm gives Pearson's r of the two detrended windows: ``fixed`` is
    orthogonal to a constant and a line, so the window need not be detrended first.

    Parameters
    ----------
    fixed : array (k, w)
        Detrended unit-norm windows.
    series : k arrays of the same length L
        Series without missing samples (zero-filled: such windows are discarded).

    Returns
    -------
    array (k, L - w + 1)
        Entry ``[i, j]`` is the dot product of ``fixed[i]`` with ``series[i][j:j + w]``.
    """
    k, w = fixed.shape
    size = series[0].size
    nfft = next_fast_len(size, real=True)  # outputs 0..size-w never wrap around
    both = np.zeros((2 * k, nfft))
    for i, x in enumerate(series):
        both[i, :size] = x
    both[k:, :w] = fixed
    spectra = rfft(both, axis=1)
    spectra[:k] *= spectra[k:].conj()
    return irfft(spectra[:k], nfft, axis=1)[:, : size - w + 1]


#: Correlations are capped here before Fisher's z (r = 1 would give infinity).
_R_MAX = 0.999999


def _fisher(r: np.ndarray | float) -> np.ndarray | float:
    return np.arctanh(np.clip(r, -_R_MAX, _R_MAX))


def _percentile(obs: float, surr: np.ndarray) -> tuple[float, int]:
    """Fraction of ``surr`` below ``obs`` (ties count half), in [0, 1]; and the count below."""
    below = int(np.count_nonzero(surr < obs))
    return (below + 0.5 * np.count_nonzero(surr == obs)) / surr.size, below


def _lag_peaks(r: np.ndarray, centres: np.ndarray, m: int) -> np.ndarray:
    """The largest of ``r`` over ``centre - m ... centre + m``, for each centre (>= m)."""
    step = r.strides[0]
    lags = np.lib.stride_tricks.as_strided(r, (r.size - 2 * m, 2 * m + 1), (step, step))
    return lags[centres - m].max(axis=1)


def _spread(candidates: np.ndarray, n: int) -> np.ndarray:
    """``n`` candidates spread evenly over the whole list (all of them if fewer)."""
    if candidates.size <= n:
        return candidates
    pick = (np.arange(n) * (candidates.size - 1) + (n - 1) // 2) // (n - 1)
    return candidates[pick]


class SynchronyEstimator:
    """Live synchrony of two people (a, b) from their corrected beats.

    Memory is bounded by ``history_s``. Push corrected beats of either person in time
    order per person; every ``step_s`` of stream time that both have covered yields one
    :class:`SynchronyEstimate` (NaN fields when there is no estimate).

    Parameters
    ----------
    settings : SynchronySettings
        Method parameters.
    """

    def __init__(self, settings: SynchronySettings = SynchronySettings()) -> None:
        self.settings = settings
        s = settings
        self._w = round(s.window_s * s.fs_hz)
        self._m = round(s.max_lag_s * s.fs_hz)
        self._step = max(1, round(s.step_s * s.fs_hz))
        self._hist = round(s.history_s * s.fs_hz)
        self._min_hist = round(s.min_history_s * s.fs_hz)
        self._min_off = round(s.min_offset_s * s.fs_hz)
        margin = round(120 * s.fs_hz)  # one person may run up to 2 min ahead
        self._grids = tuple(_Grid(self._hist + margin, self._w, self._m, s) for _ in range(2))
        self._alpha = 1.0 - math.exp(-s.step_s / s.ewma_tau_s)
        self.reset()

    def reset(self) -> None:
        """Forget everything."""
        for g in self._grids:
            g.reset()
        self._next_end: int | None = None
        self._smooth = math.nan
        self._ez_obs = math.nan
        self._ez_surr: np.ndarray | None = None
        self.latest: SynchronyEstimate | None = None

    def push(
        self, which: int, t: float, rr_ms: float, ok: bool = True, gap_before: bool = False
    ) -> list[SynchronyEstimate]:
        """Add one corrected beat of person ``which`` (0 = a, 1 = b).

        Parameters
        ----------
        which : int
            0 for person a, 1 for person b.
        t : float
            Beat time, s (stream clock).
        rr_ms : float
            Corrected RR interval ending at ``t``, ms.
        ok : bool
            The pipeline's signal-quality verdict for this beat.
        gap_before : bool
            Beats were lost just before this one.

        Returns
        -------
        list of SynchronyEstimate
            Estimates for the steps completed by this beat (often none or one).
        """
        self._grids[which].push(t, rr_ms, ok, gap_before)
        ends = [g.end for g in self._grids]
        if None in ends:
            return []
        covered = min(ends)
        if self._next_end is None:
            first = max(g.start for g in self._grids)
            self._next_end = (first // self._step + 1) * self._step
        out = []
        while self._next_end <= covered:
            out.append(self._estimate(self._next_end))
            self._next_end += self._step
        if out:
            self.latest = out[-1]
        return out

    def _pause(self) -> None:
        """No estimate: the smoothing restarts with the next one."""
        self._smooth, self._ez_obs, self._ez_surr = math.nan, math.nan, None

    def _none(self, end: int) -> SynchronyEstimate:
        """No estimate at grid index ``end``."""
        return SynchronyEstimate(end / self.settings.fs_hz, *(math.nan,) * 5, 0)

    def _estimate(self, end: int) -> SynchronyEstimate:
        s = self.settings
        w, m = self._w, self._m
        ga, gb = self._grids
        # a's current window ends m samples before the end, so b can lag it by +m
        cur = end - m - w
        if not (math.isfinite(ga.inv_norm[cur - ga.start]) and gb.centre_ok[cur - gb.start]):
            self._pause()  # a gap, poor signal or a flat window on either side
            return self._none(end)
        if min(ga.end - ga.start, gb.end - gb.start) < self._min_hist:
            return self._none(end)
        lo = max(end - self._hist, ga.start, gb.start)
        ia, ib, j = lo - ga.start, lo - gb.start, cur - lo
        n = end - lo
        units = np.stack((ga.filled[ia + j : ia + j + w], gb.filled[ib + j : ib + j + w]))
        units = units @ _detrender(w)  # detrending removes ref too
        units *= [[ga.inv_norm[ia + j]], [gb.inv_norm[ib + j]]]
        # r[0, k]: a's window vs b's window starting at lo + k; r[1, k]: b's vs a's
        r = _sliding_dot(units, (gb.filled[ib : ib + n], ga.filled[ia : ia + n]))
        r[0] *= gb.inv_norm[ib : ib + n - w + 1]
        r[1] *= ga.inv_norm[ia : ia + n - w + 1]
        lags = r[0, j - m : j + m + 1]
        k = int(np.argmax(lags))
        r_obs = min(float(lags[k]), 1.0)  # the peak is a maximum: cap rounding above 1
        z_obs = float(_fisher(r_obs))
        # surrogates: lag-search centres at least min_offset before the current window
        hi = j - self._min_off + 1
        c_ab = np.flatnonzero(gb.centre_ok[ib + m : ib + max(hi, m)]) + m
        c_ba = np.flatnonzero(ga.centre_ok[ia + m : ia + max(hi, m)]) + m
        n_surr = s.n_surrogates
        if not s.spread:  # the straightforward design: one direction, packed shifts
            c_ab, c_ba = c_ab[-n_surr:] if c_ab.size >= n_surr else c_ab[:0], c_ba[:0]
        if c_ab.size + c_ba.size < n_surr:
            return self._none(end)
        n_ab = min(c_ab.size, max(n_surr - c_ba.size, n_surr // 2))
        peaks = np.concatenate(
            (
                _lag_peaks(r[0], _spread(c_ab, n_ab), m),
                _lag_peaks(r[1], _spread(c_ba, n_surr - n_ab), m),
            )
        )
        surr = _fisher(peaks)
        raw = _percentile(z_obs, surr)[0]
        # Smooth the observed peak and every surrogate slot alike (slot j keeps its
        # place in the spread of shifts from step to step), then compare: averaging
        # over ~tau seconds of windows narrows the null as much as the observation.
        if self._ez_surr is None or self._ez_surr.size != surr.size:
            self._ez_obs, self._ez_surr = z_obs, surr
        else:
            self._ez_obs += self._alpha * (z_obs - self._ez_obs)
            self._ez_surr += self._alpha * (surr - self._ez_surr)
        self._smooth, below = _percentile(self._ez_obs, self._ez_surr)
        p = (1 + surr.size - below) / (surr.size + 1)  # 1 + #(surrogate >= observed)
        return SynchronyEstimate(
            end / s.fs_hz, self._smooth, raw, r_obs, (k - m) / s.fs_hz, p, surr.size
        )


def synchrony(
    t_a: np.ndarray,
    rr_a: np.ndarray,
    t_b: np.ndarray,
    rr_b: np.ndarray,
    settings: SynchronySettings = SynchronySettings(),
    corrected: bool = False,
) -> SynchronyTrace:
    """Synchrony of a whole session: the live estimator run over arrays.

    Parameters
    ----------
    t_a, rr_a, t_b, rr_b : arrays of float
        Beat times (s, one clock) and RR intervals (ms) of persons a and b.
    settings : SynchronySettings
        Method parameters.
    corrected : bool
        True when the RR are already artifact-corrected and all of good quality;
        by default they are raw and go through :func:`dsp.pipeline.process` first,
        exactly as the live engine does.

    Returns
    -------
    SynchronyTrace
        One entry per step; ``lag_s > 0`` means b follows a.
    """
    from dsp.pipeline import process

    streams = []
    for t, rr in ((t_a, rr_a), (t_b, rr_b)):
        t, rr = np.asarray(t, float), np.asarray(rr, float)
        if corrected:
            streams.append([(float(x), float(y), True, False) for x, y in zip(t, rr, strict=True)])
        else:
            streams.append(
                [(r.beat.t, r.beat.rr_ms, r.quality.ok, r.gap_before) for r in process(t, rr)]
            )
    est = SynchronyEstimator(settings)
    out: list[SynchronyEstimate] = []
    beats = sorted(
        [(x[0], which, x) for which, stream in enumerate(streams) for x in stream],
        key=lambda e: (e[0], e[1]),
    )
    for _, which, (t, rr, ok, gap) in beats:
        out.extend(est.push(which, t, rr, ok, gap))
    cols = (
        np.array([getattr(e, f) for e in out], float)
        for f in ("t", "index", "index_raw", "r_peak", "lag_s", "p_value")
    )
    times, index, raw, r_peak, lag, p = cols
    effect = session_effect_size(*(grid_pair(streams, settings)), settings)
    return SynchronyTrace(times, index, raw, r_peak, lag, p, effect)


def grid_pair(streams: list, settings: SynchronySettings) -> tuple[np.ndarray, np.ndarray]:
    """Both people's whole-session HR on the shared grid (batch only, vectorised).

    The same interpolation and the same missing-data rules as :class:`_Grid`.
    """
    fs = settings.fs_hz
    if any(len(stream) < 2 for stream in streams):
        return np.empty(0), np.empty(0)
    cols = [np.array(stream, float).T for stream in streams]
    lo = max(math.floor(c[0][0] * fs) + 1 for c in cols)
    hi = min(math.floor(c[0][-1] * fs) + 1 for c in cols)
    if hi <= lo:
        return np.empty(0), np.empty(0)
    g = np.arange(lo, hi) / fs
    out = []
    for t, rr, ok, gap in cols:
        hr = np.where(rr > 0, 60000.0 / np.where(rr > 0, rr, 1.0), np.nan)
        i = np.clip(np.searchsorted(t, g, side="left"), 1, t.size - 1)
        dt = t[i] - t[i - 1]
        usable = (
            (ok[i] > 0)
            & (ok[i - 1] > 0)
            & (gap[i] == 0)
            & (dt <= settings.max_interval_s)
            & (dt > 0)
            & np.isfinite(hr[i])
            & np.isfinite(hr[i - 1])
        )
        with np.errstate(invalid="ignore", divide="ignore"):
            value = hr[i - 1] + (g - t[i - 1]) / dt * (hr[i] - hr[i - 1])
        out.append(np.where(usable, value, np.nan))
    return out[0], out[1]


def session_effect_size(
    hr_a: np.ndarray, hr_b: np.ndarray, settings: SynchronySettings = SynchronySettings()
) -> float:
    """SUSY-style session effect size of two HR series on one grid.

    Both series are cut into consecutive ``window_s`` segments. For each segment pair
    the mean Fisher z over lags ``-max_lag_s..max_lag_s`` (within the segment, each
    shifted piece detrended) is taken; the real pairings (segment i of a with segment
    i of b) are compared with every pairing of different segments (i != j, the
    segment-shuffling surrogates): ``(mean z_real - mean z_surr) / sd(z_surr)``.

    Parameters
    ----------
    hr_a, hr_b : arrays of float
        HR (bpm) on the shared grid, NaN where missing; segments with NaN are skipped.
    settings : SynchronySettings
        Window, lag range and grid rate.

    Returns
    -------
    float
        Effect size; NaN with fewer than 3 usable segments.

    References
    ----------
    Tschacher, W., & Haken, H. (2019). The Process of Psychotherapy (SUSY, ch. 6).
    Moulder et al. (2018), Psychological Methods 23:757.
    """
    w = round(settings.window_s * settings.fs_hz)
    m = round(settings.max_lag_s * settings.fs_hz)
    n_seg = min(hr_a.size, hr_b.size) // w
    segs = [
        (hr_a[i * w : (i + 1) * w], hr_b[i * w : (i + 1) * w])
        for i in range(n_seg)
        if np.isfinite(hr_a[i * w : (i + 1) * w]).all()
        and np.isfinite(hr_b[i * w : (i + 1) * w]).all()
    ]
    if len(segs) < 3:
        return math.nan
    n = w - 2 * m  # a's piece sits in the middle; b's pieces shift by -m..+m samples
    pieces_a = np.stack([_detrend_unit(sa[m : m + n]) for sa, _ in segs])
    lag_z = np.empty((len(segs), len(segs)))
    for j, (_, sb) in enumerate(segs):
        shifted = np.stack([_detrend_unit(sb[k : k + n]) for k in range(2 * m + 1)])
        lag_z[:, j] = np.nanmean(_fisher(pieces_a @ shifted.T), axis=1)
    real = np.diag(lag_z)
    surr = lag_z[~np.eye(len(segs), dtype=bool)]
    sd = float(np.std(surr, ddof=1))
    return float((real.mean() - surr.mean()) / sd) if sd > 0 else math.nan
