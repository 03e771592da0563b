"""The causal windows of the artifact detector: local median and thresholds per beat.

For every valid beat the detector of Lipponen & Tarvainen (2019) needs the local
median ``medRR`` (11 beats) and the thresholds Th1 of ``|dRR|`` and Th2 of ``|mRR|``
(``alpha`` times the quartile deviation over 91 beats). Here they are computed causally:
trailing windows that may reach ``lookahead_beats`` ahead, beat by beat with sorted
windows, or for a long block at once with :func:`scipy.ndimage.rank_filter`; both read
the same ranks of the same values, so every statistic is bit-identical.
:class:`ArtifactWindows` keeps them in a queue of valid beats that
:class:`dsp.artifacts.corrector.ArtifactCorrector` (its subclass) decides and corrects;
the full references (Lipponen & Tarvainen 2019; Malik et al. 1989) are listed there.

A 91-beat window lags a change of variability by tens of beats: when a person lies down
after standing, or a stressor ends, the heart slows and the beat-to-beat swings grow
within a few breaths, and thresholds learnt on the calm-looking standing beats flag the
returning sinus arrhythmia. Each threshold is therefore scaled up by how much the 70th
percentile of the last ``fast_window_beats`` values (11, about two breaths; the fourth
largest) exceeds the upper quartile of the long window: it moves once four of the eleven
values are larger, so the thresholds follow a rise of the sinus arrhythmia within a
breath or two, while one ectopic beat, which disturbs three successive values, cannot
move it. For one distribution the 70th percentile lies a few per cent below the upper
quartile: a dead zone for the sampling noise of 11 values, at no extra rank filter. The
long window still gives the shape of the distribution (the quartile deviation); the
short one only its current level. The scaling never lifts a threshold past
``max_change`` (20 %) of the local median: a change the plain 20 % rule calls abnormal
(Malik et al. 1989) always stays a candidate, so an ectopic beat, which also raises the
short window, cannot hide the next one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dsp.windows import SortedWindow, median_rank, quartile_ranks

__all__ = ["ArtifactSettings", "ArtifactWindows", "missed_run"]

_NAN = math.nan
# Below this many new valid beats a block is processed beat by beat.
_MIN_VECTOR_BLOCK = 64


@dataclass(frozen=True)
class ArtifactSettings:
    """Parameters of :class:`ArtifactCorrector` (defaults from Lipponen & Tarvainen 2019).

    Attributes
    ----------
    window_beats : int
        Length of the trailing windows for the thresholds Th1 (of ``|dRR|``) and Th2 (of
        ``|mRR|``), beats; odd. Paper: 91.
    median_beats : int
        Length of the median filter that gives the local reference ``medRR``, beats; odd.
        Paper: 11.
    alpha : float
        Threshold factor: ``Th = alpha * QD`` with ``QD`` the quartile deviation
        ``(Q3 - Q1) / 2`` over the window. Paper: 5.2.
    c1, c2 : float
        Slope and offset of the ectopic decision boundary in the (dRR, S12) plane.
        Paper: 0.13 and 0.17.
    lookahead_beats : int
        How many later beats the median and Th1 windows reach, 2 to ``median_beats // 2``.
        The decision itself always looks two beats ahead; one decided beat is held back
        one more beat, so a beat is released ``lookahead_beats + 1`` beats after it
        arrived (about 2-3 s).
    cold_start_beats : int
        Valid beats after a reset during which the cold-start rule applies instead of the
        windowed thresholds.
    min_rr_ms, max_rr_ms : float
        Plausible range of an accepted interval during cold start, milliseconds.
    max_change : float
        Cold-start 20 % rule: an interval differing from the reference by more than this
        fraction of it is an artifact (Malik et al. 1989).
    reanchor_beats : int
        During cold start, after this many rejections in a row the reference becomes the
        local median instead of the last accepted beat, so one bad first beat cannot
        lock the rule out.
    invalid_above_ms : float
        Intervals above this (and NaN, infinite or <= 0 values) are invalid, milliseconds.
    min_threshold_ms : float
        Floor for Th1 and Th2, milliseconds, so a very regular rhythm (or quantised
        synthetic data) does not turn every tiny change into a candidate artifact.
    fast_window_beats : int
        Length of the short window that lets Th1 and Th2 follow a rise of variability,
        beats; odd, at most ``window_beats``; 0 switches it off (the paper's detector).
        11 beats span about two breaths, so the sinus arrhythmia is sampled over whole
        cycles.
    fast_quantile : float
        The quantile of the short window (0.7: rank 7 of 0-10, the fourth largest of 11).
        Th is multiplied by ``max(1, q_short / Q3_long)`` of the same values (|dRR| for
        Th1, |mRR| for Th2), but lifted at most up to ``max_change`` of the local median.
    max_missed_run : int
        Most missed beats in a row that one interval may hide: an interval of ``k``
        times the local median (within ``max_change``), ``2 <= k <= max_missed_run + 1``,
        is split into ``k`` equal beats whatever the adaptive thresholds say (dense
        dropouts inflate them until they pass).
    """

    window_beats: int = 91
    median_beats: int = 11
    alpha: float = 5.2
    c1: float = 0.13
    c2: float = 0.17
    lookahead_beats: int = 2
    cold_start_beats: int = 30
    min_rr_ms: float = 300.0
    max_rr_ms: float = 2000.0
    max_change: float = 0.2
    reanchor_beats: int = 3
    invalid_above_ms: float = 5000.0
    min_threshold_ms: float = 10.0
    fast_window_beats: int = 11
    fast_quantile: float = 0.7
    max_missed_run: int = 3

    def __post_init__(self) -> None:
        if self.window_beats < 5 or self.window_beats % 2 == 0:
            raise ValueError(f"window_beats must be odd and >= 5, got {self.window_beats}")
        if self.median_beats < 5 or self.median_beats % 2 == 0:
            raise ValueError(f"median_beats must be odd and >= 5, got {self.median_beats}")
        if not 2 <= self.lookahead_beats <= self.median_beats // 2:
            raise ValueError(
                f"lookahead_beats must be in [2, {self.median_beats // 2}], "
                f"got {self.lookahead_beats}"
            )
        if not 0 < self.min_rr_ms < self.max_rr_ms < self.invalid_above_ms:
            raise ValueError(
                "need 0 < min_rr_ms < max_rr_ms < invalid_above_ms, got "
                f"{self.min_rr_ms}, {self.max_rr_ms}, {self.invalid_above_ms}"
            )
        if not 0 < self.max_change < 1:
            raise ValueError(f"max_change must be in (0, 1), got {self.max_change}")
        if self.alpha <= 0 or self.min_threshold_ms <= 0:
            raise ValueError("alpha and min_threshold_ms must be > 0")
        if self.cold_start_beats < 0 or self.reanchor_beats < 1:
            raise ValueError("cold_start_beats must be >= 0 and reanchor_beats >= 1")
        fast = self.fast_window_beats
        if fast and (fast < 5 or fast % 2 == 0 or fast > self.window_beats):
            raise ValueError(f"fast_window_beats must be 0 or odd in [5, window_beats], got {fast}")
        if not 0 <= self.fast_quantile <= 1:
            raise ValueError(f"fast_quantile must be in [0, 1], got {self.fast_quantile}")
        if self.max_missed_run < 1:
            raise ValueError(f"max_missed_run must be >= 1, got {self.max_missed_run}")


def quantile_rank(n: int, q: float) -> int:
    """Zero-based rank of the ``q`` quantile among ``n`` sorted values (nearest rank)."""
    return int((n - 1) * q + 0.5)


def missed_run(x: float, med: float, tol: float, max_run: int) -> int:
    """How many normal intervals ``x`` spans when beats were missed inside it, else 0.

    Parameters
    ----------
    x, med : float
        The interval and the local median, ms.
    tol : float
        Largest relative difference of ``x / k`` from the median (``max_change``).
    max_run : int
        Most missed beats in a row.

    Returns
    -------
    int
        ``k`` (2 to ``max_run + 1``) when ``x`` is ``k`` medians within ``tol``, else 0.
    """
    if not x <= (max_run + 2) * med:  # also keeps x / med finite
        return 0
    k = round(x / med)
    if 2 <= k <= max_run + 1 and abs(x / k - med) < tol * med:
        return k
    return 0


class ArtifactWindows:
    """Window statistics and the queue of valid beats awaiting a decision.

    The base of :class:`dsp.artifacts.corrector.ArtifactCorrector`, which owns the
    decisions and the output; this part only takes beats in and fills, per queued
    valid beat, its median and thresholds once the lookahead is known.

    Parameters
    ----------
    settings : ArtifactSettings, optional
        Parameters; the defaults are the paper's.
    """

    def __init__(self, settings: ArtifactSettings | None = None) -> None:
        self.settings = settings if settings is not None else ArtifactSettings()
        s = self.settings
        self._W = s.window_beats
        self._M = s.median_beats
        self._la = s.lookahead_beats
        self._hist = s.window_beats + s.median_beats + 2 * s.lookahead_beats + 4
        self._adrr = SortedWindow(self._W)
        self._amrr = SortedWindow(self._W)
        self._S = s.fast_window_beats
        self._adrr_fast = SortedWindow(max(1, self._S))
        self._amrr_fast = SortedWindow(max(1, self._S))
        # the ranks read for every window fill, looked up once per beat (the hot path)
        self._q_ranks = [quartile_ranks(n) if n else (0, 0) for n in range(self._W + 1)]
        self._f_ranks = [quantile_rank(n, s.fast_quantile) for n in range(max(1, self._S) + 1)]
        self._lo = s.min_threshold_ms / s.alpha

    def reset(self) -> None:
        """Forget the windows and the queue: the next beat starts a new sequence."""
        self._adrr.clear()
        self._amrr.clear()
        self._adrr_fast.clear()
        self._amrr_fast.clear()
        self._xs: list[float] = []  # recent valid raw values, newest last
        self._nv = 0  # valid beats seen since reset
        self._n_in = 0  # input beats seen since reset
        # Queue of valid beats not yet decided (index 0 has valid index _qv0).
        self._qv0 = 0
        self._qh = 0
        self._qt: list[float] = []
        self._qx: list[float] = []
        self._qi: list[int] = []
        self._qinv: list[list | None] = []
        self._qth1: list[float] = []
        self._qth2: list[float] = []
        self._qmed: list[float | None] = []
        # True when the beat is normal for sure if the previous beat was (|d0| <= 1
        # against its raw predecessor, windowed rule, no invalid value just before)
        self._qfast: list[bool] = []
        self._inv_pending: list[tuple[float, float, int]] = []

    # ------------------------------------------------------------------ statistics
    def _th(self, window: SortedWindow, fast: SortedWindow, med: float) -> float:
        s = self.settings
        values = window.sorted_values  # read in place: this runs twice per beat
        n = len(values)
        th = 0.0
        if n:
            r1, r3 = self._q_ranks[n]
            q3 = values[r3]
            th = s.alpha * (q3 - values[r1]) / 2.0
            if self._S:
                # floored so that a run of identical values cannot divide by 0
                lo = self._lo
                long_q = max(q3, lo)
                fast_values = fast.sorted_values
                fast_q = max(fast_values[self._f_ranks[len(fast_values)]], lo)
                scaled = th * max(1.0, fast_q / long_q)
                th = max(th, min(scaled, s.max_change * med))
        return max(th, s.min_threshold_ms)

    def _stats_for(self, v: int, end: int) -> None:
        """Statistics of valid beat ``v`` with the windows ending at valid beat ``end``."""
        start = max(0, v - (self._M - 1 - self._la))
        win = sorted(self._xs[len(self._xs) - (end - start + 1) :])
        med = win[median_rank(len(win))]
        x = self._xs[len(self._xs) - 1 - (end - v)]
        m = x - med
        if m < 0.0:
            m *= 2.0
        self._amrr.push(abs(m))
        self._amrr_fast.push(abs(m))
        th1 = self._th(self._adrr, self._adrr_fast, med)
        th2 = self._th(self._amrr, self._amrr_fast, med)
        q = v - self._qv0
        if q >= 0:  # else beat v was already consumed by its predecessor's decision
            self._qth1[q] = th1
            self._qth2[q] = th2
            self._qmed[q] = med

    def _append_valid(self, t: float, x: float, idx: int) -> None:
        self._qt.append(t)
        self._qx.append(x)
        self._qi.append(idx)
        self._qinv.append(self._inv_pending or None)
        self._inv_pending = []
        self._qth1.append(_NAN)
        self._qth2.append(_NAN)
        self._qmed.append(None)
        self._qfast.append(False)

    def _push_one(self, t: float, rr: float) -> None:
        idx = self._n_in
        self._n_in += 1
        if not 0.0 < rr <= self.settings.invalid_above_ms:
            self._inv_pending.append((t, rr, idx))
            return
        self._append_valid(t, rr, idx)
        n = self._nv
        self._nv += 1
        xs = self._xs
        if n:
            self._adrr.push(abs(rr - xs[-1]))
            self._adrr_fast.push(abs(rr - xs[-1]))
        xs.append(rr)
        if len(xs) > 2 * self._hist:
            del xs[: len(xs) - self._hist]
        v = n - self._la
        if v >= 0:
            self._stats_for(v, n)

    def _push_vectorised(self, t: np.ndarray, rr: np.ndarray) -> None:
        """Same statistics as repeated :meth:`_push_one`, computed with rank filters."""
        W, M, la = self._W, self._M, self._la
        valid = (rr > 0.0) & (rr <= self.settings.invalid_above_ms)
        vpos = np.flatnonzero(valid)
        if vpos.size < _MIN_VECTOR_BLOCK:
            for k in range(rr.size):
                self._push_one(float(t[k]), float(rr[k]))
            return
        # Queue entries and invalid attachments, in input order.
        base_idx = self._n_in
        t_l = t.tolist()
        rr_l = rr.tolist()
        if vpos.size == rr.size:  # no invalid value: bulk append
            first_inv = self._inv_pending or None
            self._inv_pending = []
            self._qt.extend(t_l)
            self._qx.extend(rr_l)
            self._qi.extend(range(base_idx, base_idx + rr.size))
            self._qinv.extend([first_inv] + [None] * (rr.size - 1))
            self._qth1.extend([_NAN] * rr.size)
            self._qth2.extend([_NAN] * rr.size)
            self._qmed.extend([None] * rr.size)
            self._qfast.extend([False] * rr.size)
        else:
            prev = 0
            for p in vpos.tolist():
                for k in range(prev, p):
                    self._inv_pending.append((t_l[k], rr_l[k], base_idx + k))
                self._append_valid(t_l[p], rr_l[p], base_idx + p)
                prev = p + 1
            for k in range(prev, rr.size):
                self._inv_pending.append((t_l[k], rr_l[k], base_idx + k))
        self._n_in += rr.size

        xb = rr[vpos]
        B = xb.size
        n0 = self._nv - 1  # last valid index before the block
        X = np.concatenate((np.asarray(self._xs[-(M - 1) :]), xb))
        from scipy.ndimage import rank_filter  # batch only: the live window never loads it

        med = rank_filter(X, median_rank(M), size=M, mode="nearest")[M // 2 : M // 2 + B]
        xv = X[M - 1 - la : M - 1 - la + B]
        m = xv - med
        m = np.where(m < 0.0, m * 2.0, m)
        a2 = np.concatenate((np.asarray(self._amrr.values()[-(W - 1) :]), np.abs(m)))
        a1 = np.concatenate(
            (
                np.asarray(self._adrr.values()[-(W - 1) :]),
                np.abs(np.diff(np.concatenate(([self._xs[-1]], xb)))),
            )
        )
        th1 = self._th_array(a1, med, B)
        th2 = self._th_array(a2, med, B)
        # Assign to queue entries of valid beats n0+1-la .. n0+B-la (some of the first
        # ones may already be gone: consumed by their predecessor's decision).
        q0 = n0 + 1 - la - self._qv0
        skip = max(0, -q0)
        self._qth1[q0 + skip : q0 + B] = th1[skip:].tolist()
        self._qth2[q0 + skip : q0 + B] = th2[skip:].tolist()
        self._qmed[q0 + skip : q0 + B] = med[skip:].tolist()
        # fast flags: |x_v - x_(v-1)| / th1 <= 1 (the d0 test of _decide, same arithmetic)
        xprev = X[M - 2 - la : M - 2 - la + B]
        d0 = (xv - xprev) / th1
        fast = (d0 >= -1.0) & (d0 <= 1.0)
        # ... and not a run of missed beats (missed_run, same arithmetic)
        run = self.settings.max_missed_run
        near = xv <= (run + 2) * med
        k = np.rint(np.divide(xv, med, out=np.zeros_like(xv), where=near))
        fast &= ~(
            (k >= 2)
            & (k <= run + 1)
            & (np.abs(xv / np.maximum(k, 1.0) - med) < self.settings.max_change * med)
        )
        first_v = n0 + 1 - la
        n_cold = max(0, self.settings.cold_start_beats - first_v)
        fast[: min(B, n_cold)] = False
        fl = fast.tolist()
        qinv = self._qinv
        for i in range(skip, B):
            if fl[i] and qinv[q0 + i] is not None:
                fl[i] = False
        self._qfast[q0 + skip : q0 + B] = fl[skip:]
        # Leave the incremental state exactly as beat-by-beat pushes would.
        self._nv += B
        self._xs.extend(xb[-self._hist :].tolist())
        del self._xs[: max(0, len(self._xs) - self._hist)]
        self._adrr.refill(a1[-W:].tolist())
        self._amrr.refill(a2[-W:].tolist())
        self._adrr_fast.refill(a1[-W:].tolist())
        self._amrr_fast.refill(a2[-W:].tolist())

    def _th_array(self, a: np.ndarray, med: np.ndarray, B: int) -> np.ndarray:
        """:meth:`_th` of the windows ending at each of the last ``B`` values of ``a``."""
        s = self.settings
        alpha, floor = s.alpha, s.min_threshold_ms
        W, S = self._W, self._S
        r1, r3 = quartile_ranks(W)
        sl = slice(W // 2, W // 2 + B)
        from scipy.ndimage import rank_filter  # batch only (see above)

        q1 = rank_filter(a, r1, size=W, mode="nearest")[sl]
        q3 = rank_filter(a, r3, size=W, mode="nearest")[sl]
        th = alpha * (q3 - q1) / 2.0
        if S:  # the scaling of _th; a window of S ending where the long one ends
            lo = floor / alpha
            sf = slice(W - 1 - S // 2, W - 1 - S // 2 + B)
            fast_q = rank_filter(a, quantile_rank(S, s.fast_quantile), size=S, mode="nearest")[sf]
            scaled = th * np.maximum(1.0, np.maximum(fast_q, lo) / np.maximum(q3, lo))
            th = np.maximum(th, np.minimum(scaled, s.max_change * med))
        return np.maximum(th, floor)


def _check_time(t_s: float) -> float:
    t = float(t_s)
    if not math.isfinite(t):
        raise ValueError(f"beat time must be finite seconds, got {t_s!r}")
    return t


def _check_arrays(t_s: np.ndarray, rr_ms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(t_s, dtype=np.float64)
    rr = np.asarray(rr_ms, dtype=np.float64)
    if t.ndim != 1 or rr.ndim != 1 or t.shape != rr.shape:
        raise ValueError(
            f"t_s and rr_ms must be 1-D arrays of the same length, got shapes {t.shape} "
            f"and {rr.shape}"
        )
    if not np.all(np.isfinite(t)):
        raise ValueError("beat times t_s must all be finite seconds")
    return t, rr
