"""Session-level heart-rate synchrony of a dyad (SCIENCE.md §5, "Session level").

The claim the literature makes is per session (Tschacher & Meier 2020), not per 30-s
window. Both people's heart rate on the shared 4 Hz grid is cut into consecutive 30-s
segments of person a; each is correlated (both linearly detrended) with b at every lag of
+-5 s. The lag is searched once: the one with the largest mean Fisher z over segments.
Significance: the same statistic (the maximum over lags of the mean z) with the two
series circularly rotated against each other by every grid step of 60 s ... 10 min.
The rotation keeps b's windows where they are (each segment's 41 lag windows, exactly
those of the observed pairing) and re-cuts a's segments s samples earlier on a's
circle; the one segment of a that would straddle the join (a's end meeting its start:
a jump, not data) is left out of that rotation. p is the upper tail, at the observed
statistic, of a Gumbel distribution with the mean and SD of the rotated statistics.
r is the back-transformed mean z at the lag found, with a 95 % interval from the
segments' spread (Student t). The batch entry point is
:func:`dsp.synchrony.session_synchrony`; the live one :class:`SessionSynchronyEstimator`
gives the same numbers over the same beats.

Why this null (issue 15, measured on 1,200 independent sessions each): rotating b's
windows along its own lag axis makes every rotated statistic a maximum over 41
neighbouring offsets of one and the same lag profile, so a 5-min session offers only
~15 distinct ones (the observed beat all 200 rotations in 4-6 % of independent
sessions); leaving out the 1-2 rotated windows that straddle b's join kept the false
rate near 5 % only by widening the null, at a cost in power (88 % at r = 0.4, 5 min).
Re-cutting a decorrelates the rotations (the observed beats all of them in
0.7-1.7 %) and loses at most one segment. A count of exceedances over correlated rotations still
runs 6.2 % false on 10-min sessions; the Gumbel tail, fitted to all rotations, 5.1 %
(5 min: 2.9 % false, 90.5 % detected at r = 0.4; docs/synchrony.md).

Incremental: a segment at least 10 min into the session never wraps around under any
rotation, so its pairings with every candidate rotation are summed once, when it
completes. Only the first 20 segments (10 min) pair with the end of a's series, which
moves as the session grows: they are recomputed for each result. Memory is bounded
(a's first ~10 min, b's lag windows of the first 20 segments, the last ~11 min of
both, the sums).

References
----------
Tschacher, W., & Meier, D. (2020). Physiological synchrony in psychotherapy sessions.
Psychotherapy Research, 30(5), 558-573.
Moulder, R. G., Boker, S. M., Ramseyer, F., & Tschacher, W. (2018). Determining synchrony
between behavioral time series. Psychological Methods, 23(4), 757-773.
"""

from __future__ import annotations

import math

import numpy as np

from dsp.dyad.estimator import _detrend_unit, _fast_len, _fisher, _sliding_dot
from dsp.dyad.grid import GridInterpolator
from dsp.dyad.types import NO_SESSION, SessionSynchrony, SynchronySettings

__all__ = ["SessionAccumulator", "SessionSynchronyEstimator", "gumbel_p", "window_inv_norms"]


def window_inv_norms(x: np.ndarray, w: int) -> np.ndarray:
    """``1 / norm`` of every window of ``w`` samples of ``x`` once linearly detrended.

    NaN where a window holds a missing (NaN) sample or is flat. Sliding sums about the
    series' mean keep the precision of a direct computation.
    """
    n = x.size - w + 1
    if n <= 0:
        return np.empty(0)
    missing = ~np.isfinite(x)
    ref = float(x[~missing].mean()) if not missing.all() else 0.0
    y = np.where(missing, 0.0, x - ref)
    i = np.arange(x.size, dtype=float)
    c0, c1, c2 = (np.concatenate(([0.0], np.cumsum(v))) for v in (y, i * y, y * y))
    holes = np.concatenate(([0], np.cumsum(missing)))
    s0 = c0[w:] - c0[:-w]
    s1 = c1[w:] - c1[:-w] - np.arange(n) * s0  # sum of (i - start) * y
    s2 = c2[w:] - c2[:-w]
    sii = w * (w * w - 1) / 12.0  # sum of (i - (w - 1) / 2)^2
    ss = s2 - s0 * s0 / w - (s1 - (w - 1) / 2.0 * s0) ** 2 / sii
    ok = (holes[w:] == holes[:-w]) & (ss > 1e-10 * s2 + 1e-18)
    out = np.full(n, np.nan)
    out[ok] = 1.0 / np.sqrt(ss[ok])
    return out


class _Tail:
    """The newest ``keep`` samples of a growing series, with their absolute index."""

    def __init__(self, keep: int) -> None:
        self.keep = keep
        self.buf = np.full(2 * keep, np.nan)
        self.start = 0  # absolute index of buf[0]
        self.end = 0  # absolute index after the newest sample

    def extend(self, values: np.ndarray) -> None:
        used = self.end - self.start
        if used + values.size > self.buf.size:
            held = min(self.keep, used)
            self.buf[:held] = self.buf[used - held : used]
            self.start = self.end - held
            used = held
        self.buf[used : used + values.size] = values
        self.end += values.size

    def __getitem__(self, span: slice) -> np.ndarray:
        return self.buf[span.start - self.start : span.stop - self.start]


def _dots(units: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Dot product of each unit window (rows) with every window of one series (NaN as 0)."""
    w = units.shape[1]
    nfft = _fast_len(x.size)  # outputs 0..size-w never wrap around
    # numpy's FFT, as in _sliding_dot: scipy.fft would weigh on every dyad window
    spectra = np.fft.rfft(np.nan_to_num(x), nfft)[None, :] * np.fft.rfft(units, nfft).conj()
    return np.fft.irfft(spectra, nfft, axis=1)[:, : x.size - w + 1]


def gumbel_p(observed: float, null: np.ndarray) -> float:
    """Upper tail at ``observed`` of the Gumbel law with the mean and SD of ``null``.

    Method of moments: scale ``beta = SD * sqrt(6) / pi``, location
    ``mean - 0.5772 * beta`` (Euler-Mascheroni). A maximum over many correlated lags is
    close to Gumbel; the moments use every rotation, where an exceedance count is decided
    by the few largest of a correlated set.
    """
    mean, sd = float(null.mean()), float(null.std(ddof=1))
    if not sd > 0:
        return 1.0 if observed <= mean else 0.0
    beta = sd * math.sqrt(6.0) / math.pi
    return float(-math.expm1(-math.exp(-(observed - (mean - _EULER * beta)) / beta)))


_EULER = 0.5772156649015329


class SessionAccumulator:
    """The session test over a growing joint grid, one 30-s segment at a time.

    Feed both people's heart rate on the shared grid (bpm, NaN where missing) with
    :meth:`extend`, equal lengths, from the same first grid point; :meth:`result` gives
    the test over the whole of it.

    Parameters
    ----------
    settings : SynchronySettings
        Grid rate, segment (``window_s``), lag range, shortest rotation
        (``min_offset_s``), longest rotation (``history_s``) and the fewest distinct
        rotations a result needs (``n_surrogates``).
    """

    def __init__(self, settings: SynchronySettings = SynchronySettings()) -> None:
        s = settings
        self.settings = s
        self._w = w = round(s.window_s * s.fs_hz)
        self._m = m = round(s.max_lag_s * s.fs_hz)
        self._ctx = w + 2 * m  # a segment's partner with every lag
        self._r0 = round(s.min_offset_s * s.fs_hz)
        self._rmax = max(round(s.history_s * s.fs_hz), self._r0)
        self._rot = np.arange(self._r0, self._rmax + 1)  # candidate rotations, samples
        # under rotation s, segment k of a is re-cut at k w + m - s (a's region starts
        # there for s = rmax): region index rmax - s
        self._first = self._rmax - self._rot
        self._early = math.ceil(self._rmax / w)  # segments that can wrap around
        self._head_len = self._early * w + 2 * m  # a's first samples the early ones use
        self.reset()

    def reset(self) -> None:
        """Forget everything."""
        w, m = self._w, self._m
        keep = self._rmax + 2 * self._ctx + w
        self._a, self._b = _Tail(keep), _Tail(keep)
        self._a_head = np.empty(0)
        self._units: list[tuple[int, np.ndarray]] = []  # b's lag windows, early segments
        self._sums = np.zeros((self._rot.size, 2 * m + 1))  # sum of z per rotation, lag
        self._counts = np.zeros(self._rot.size)  # segments per rotation
        self._z = np.zeros(2 * m + 1)  # real pairing: sum of z and of z^2 per lag
        self._z2 = np.zeros(2 * m + 1)
        self._n = 0
        self._segments = 0  # segments completed (usable or not)

    @property
    def n_samples(self) -> int:
        """Joint grid samples received."""
        return self._a.end

    def extend(self, hr_a: np.ndarray, hr_b: np.ndarray) -> int:
        """Append both people's next grid samples; returns the segments completed."""
        hr_a, hr_b = np.asarray(hr_a, float), np.asarray(hr_b, float)
        if hr_a.size != hr_b.size:
            raise ValueError("both people's grid chunks must have the same length")
        w, m = self._w, self._m
        before = self._segments
        for lo in range(0, hr_a.size, w):  # pieces: the buffers stay bounded
            self._a.extend(hr_a[lo : lo + w])
            self._b.extend(hr_b[lo : lo + w])
            if self._a_head.size < self._head_len:
                self._a_head = self._a[0 : min(self._a.end, self._head_len)].copy()
            while (self._segments + 1) * w + 2 * m <= self._a.end:
                self._add_segment(self._segments)
                self._segments += 1
        return self._segments - before

    def _pair(
        self, units: np.ndarray, region: np.ndarray, k: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Fisher z of b's lag windows with a's re-cut segment for each rotation; usable ones.

        ``units``: b's 41 lag windows of one segment, detrended to unit norm; ``region``:
        a's samples from the segment's start under the longest rotation to its start
        under the shortest, plus one segment. ``k``: the segment, when the region is the
        circle's (early segments): an a segment that straddles the join is left out.
        """
        w = self._w
        z = _fisher(_dots(units, region)[:, self._first] * window_inv_norms(region, w)[self._first])
        holes = np.concatenate(([0], np.cumsum(~np.isfinite(region))))
        usable = holes[self._first + w] == holes[self._first]
        if k is not None:  # the join: a's end meets its start (a jump, not data)
            start = k * w + self._m - self._rot
            usable &= (start >= 0) | (start + w <= 0)
        return np.where(usable[:, None], z.T, 0.0), usable

    def _add_segment(self, k: int) -> None:
        w, m = self._w, self._m
        seg = self._a[m + k * w : m + (k + 1) * w]
        unit = _detrend_unit(seg) if np.isfinite(seg).all() else None
        if unit is None or not np.isfinite(unit).all():
            return
        partner = self._b[k * w : k * w + self._ctx]
        if not np.isfinite(partner).all():
            return
        z = _fisher(_sliding_dot(unit[None], [partner])[0] * window_inv_norms(partner, w))
        self._z += z
        self._z2 += z * z
        self._n += 1
        units = np.array([_detrend_unit(partner[j : j + w]) for j in range(2 * m + 1)])
        if not np.isfinite(units).all():  # a flat lag window: no rotated pairing
            return
        if k < self._early:
            self._units.append((k, units))
            return
        lo = k * w + m - self._rmax
        z, usable = self._pair(units, self._a[lo : k * w + m - self._r0 + w])
        self._sums += z
        self._counts += usable

    def result(self) -> SessionSynchrony:
        """The test over everything received (:data:`NO_SESSION` while too short)."""
        s, w, m = self.settings, self._w, self._m
        size = self._segments * w + 2 * m  # the circle: whole segments and their lags
        n_cand = int(np.searchsorted(self._rot, size - self._r0, side="right"))
        if self._n < 3 or n_cand < s.n_surrogates:
            return NO_SESSION
        sums, counts = self._sums.copy(), self._counts.copy()
        lo = max(size - self._rmax, 0)
        tail = self._a[lo:size]
        for k, units in self._units:  # the early segments meet the end of a: recompute
            idx = np.arange(k * w + m - self._rmax, k * w + m - self._r0 + w) % size
            region = np.where(
                idx < self._a_head.size,
                self._a_head[np.minimum(idx, self._a_head.size - 1)],
                tail[np.clip(idx - lo, 0, tail.size - 1)],
            )
            z, usable = self._pair(units, region, k)
            sums += z
            counts += usable
        pick = np.flatnonzero(counts[:n_cand] >= 3)
        mean = self._z / self._n
        best = int(np.argmax(mean))
        if pick.size < s.n_surrogates:
            return NO_SESSION
        p = gumbel_p(float(mean[best]), (sums[pick] / counts[pick, None]).max(axis=1))
        n = self._n
        sd = math.sqrt(max(self._z2[best] - n * mean[best] ** 2, 0.0) / (n - 1))
        # imported here: one person's window never loads scipy (the engine loads it
        # for a dyad before the session starts, so this never stalls the engine loop)
        from scipy.stats import t as student_t

        half = float(student_t.ppf(0.975, n - 1)) * sd / math.sqrt(n)
        z = float(mean[best])
        return SessionSynchrony(
            math.tanh(z), math.tanh(z - half), math.tanh(z + half), p, (best - m) / s.fs_hz, n
        )


class SessionSynchronyEstimator:
    """The session test, live: push both people's corrected beats as they come.

    Bounded memory: the grid samples not yet joint (one person ahead of the other) and
    the :class:`SessionAccumulator`.

    Each person's beats go onto the shared grid (:class:`GridInterpolator`); the joint
    grid feeds a :class:`SessionAccumulator`, and every completed 30-s segment updates
    :attr:`latest`. The same numbers as :func:`session_synchrony` over the same beats.
    """

    def __init__(self, settings: SynchronySettings = SynchronySettings()) -> None:
        self.settings = settings
        self.reset()

    def reset(self) -> None:
        """Forget everything."""
        self._grids = (GridInterpolator(self.settings), GridInterpolator(self.settings))
        self._held = [np.empty(0), np.empty(0)]  # samples not yet joint, per person
        self._next: int | None = None  # grid index of the next joint sample
        self._acc = SessionAccumulator(self.settings)
        self.latest = NO_SESSION

    def push(
        self, which: int, t: float, rr_ms: float, ok: bool = True, gap_before: bool = False
    ) -> SessionSynchrony | None:
        """One corrected beat of person ``which`` (0 = a, 1 = b); a new result or None.

        Parameters are those of :meth:`SynchronyEstimator.push`.
        """
        grid = self._grids[which]
        values = grid.push(t, rr_ms, ok, gap_before)
        self._held[which] = np.concatenate((self._held[which], values))
        if self._next is None:
            starts = [g.start for g in self._grids]
            if None in starts:
                return None
            self._next = max(starts)
        for i, g in enumerate(self._grids):  # drop what precedes the joint grid
            early = self._next - (g.end - self._held[i].size)
            if early > 0:
                self._held[i] = self._held[i][early:]
        n = min(h.size for h in self._held)
        if n == 0:
            return None
        done = self._acc.extend(self._held[0][:n], self._held[1][:n])
        self._held = [h[n:] for h in self._held]
        self._next += n
        if not done:
            return None
        self.latest = self._acc.result()
        return self.latest
