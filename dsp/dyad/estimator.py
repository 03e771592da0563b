"""Live physiological synchrony of two people's heart rates (SCIENCE.md §5).

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
   surrogate alike before they are compared, so the smoothed index keeps its meaning;
   it restarts after a pause. ``index_raw`` is the single window's percentile.
4. Gaps or poor signal on either side pause the estimate: NaN ("no estimate"), never 0.

Surrogate design (calibration)
------------------------------
A surrogate slot is a fixed time shift. The observed smoothed peak averages ~15 s of
overlapping windows at one alignment; a surrogate is exchangeable with it only if it is
smoothed along one alignment too. So every usable shift (each grid sample from 60 s
back to the whole history, in both directions: a against b's past and b against a's
past) keeps its own smoothed peak, updated every step from the same FFT correlations,
and restarts when its windows break; the N = 200 surrogates are then picked evenly
among the shifts that have one. While the history grows, the pick spreads out, but each
picked value was smoothed along its own shift (the previous design smoothed slots
whose shift moved with the history: 7.0-7.4 % false instead of 5.0-5.1 %, issue 15).
The smoothing of the observation and of the shifts runs from the first step, before
``min_history_s`` of joint history allows an estimate. docs/synchrony.md reports the
false rate measured on independent simulated pairs.

The whole session (the same estimator over arrays) is :func:`dsp.synchrony.synchrony`;
the session-level test is :mod:`dsp.dyad.session`.

References
----------
Boker, S. M., Xu, M., Rotondo, J. L., & King, K. (2002). Windowed cross-correlation and
peak picking for the analysis of variability in the association between behavioral time
series. Psychological Methods, 7(3), 338-355.
Behrens, F., Moulder, R. G., Boker, S. M., & Kret, M. E. (2020). Quantifying physiological
synchrony through windowed cross-correlation analysis: statistical and theoretical
considerations. bioRxiv 2020.08.27.269746.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import numpy as np

from dsp.dyad.grid import _Grid
from dsp.dyad.types import SynchronyEstimate, SynchronySettings

__all__ = ["SynchronyEstimator"]


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
    nfft = _fast_len(size)  # outputs 0..size-w never wrap around
    both = np.zeros((2 * k, nfft))
    for i, x in enumerate(series):
        both[i, :size] = x
    both[k:, :w] = fixed
    # numpy's FFT, not scipy's: scipy.fft would add ~30 MB to every dyad window
    spectra = np.fft.rfft(both, axis=1)
    spectra[:k] *= spectra[k:].conj()
    return np.fft.irfft(spectra[:k], nfft, axis=1)[:, : size - w + 1]


def _fast_len(n: int) -> int:
    """The smallest 5-smooth number (2^a 3^b 5^c) >= ``n``: a fast FFT length."""
    best = 1 << max(0, (n - 1).bit_length())
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            m = p35
            while m < n:
                m *= 2
            best = min(best, m)
            p35 *= 3
        p5 *= 5
    return best


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
        # per surrogate time shift (samples; a against b's past, b against a's past):
        # this step's peak z and its smoothed value, NaN where there is none
        size = self._hist + 1
        self._z_shift = (np.full(size, math.nan), np.full(size, math.nan))
        self._ez_shift = (np.full(size, math.nan), np.full(size, math.nan))
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
        self._smooth, self._ez_obs = math.nan, math.nan
        for ez in self._ez_shift:
            ez[:] = math.nan

    def _smooth_shifts(self, r: np.ndarray, j: int, centre_ok: tuple[np.ndarray, ...]) -> None:
        """Advance every shift's smoothed surrogate peak by one step.

        ``r[i, c]``: the current window of one person against the other's window starting
        at ``c`` (history position); ``j``: the current window's position; ``centre_ok[i]``:
        whether the other person's lag search around each position is complete. The
        shift ``d = j - c`` (samples, at least ``min_offset_s``) names a surrogate slot
        that keeps its time shift from step to step; a slot whose windows break restarts.
        """
        m, a = self._m, self._alpha
        hi = j - self._min_off + 1  # lag-search centres m .. hi - 1
        for i, ez in enumerate(self._ez_shift):
            z = np.full(ez.size, math.nan)
            if hi > m:
                centres = np.arange(m, hi)[centre_ok[i][m:hi]]
                z[j - centres] = _fisher(_lag_peaks(r[i], centres, m))
            self._z_shift[i][:] = z
            fresh = np.isnan(ez)
            ez += a * (z - ez)  # NaN where this step has no window: the slot restarts
            ez[fresh] = z[fresh]

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
        # the observation and every shift are smoothed alike from the first step on,
        # also during the warm-up, so that both have the same memory when compared
        if math.isfinite(self._ez_obs):
            self._ez_obs += self._alpha * (z_obs - self._ez_obs)
        else:
            self._ez_obs = z_obs
        self._smooth_shifts(r, j, (gb.centre_ok[ib:], ga.centre_ok[ia:]))
        if min(ga.end - ga.start, gb.end - gb.start) < self._min_hist:
            return self._none(end)
        shifts = [np.flatnonzero(np.isfinite(ez)) for ez in self._ez_shift]
        n_surr = s.n_surrogates
        if shifts[0].size + shifts[1].size < n_surr:
            return self._none(end)
        n_ab = min(shifts[0].size, max(n_surr - shifts[1].size, n_surr // 2))
        picks = (_spread(shifts[0], n_ab), _spread(shifts[1], n_surr - n_ab))
        surr = np.concatenate([self._ez_shift[i][d] for i, d in enumerate(picks)])
        now = np.concatenate([self._z_shift[i][d] for i, d in enumerate(picks)])
        raw = _percentile(z_obs, now)[0]
        self._smooth, below = _percentile(self._ez_obs, surr)
        p = (1 + surr.size - below) / (surr.size + 1)  # 1 + #(surrogate >= observed)
        return SynchronyEstimate(
            end / s.fs_hz, self._smooth, raw, r_obs, (k - m) / s.fs_hz, p, surr.size
        )
