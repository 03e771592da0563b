"""Artifact detection and correction of RR intervals, online and in batch.

The detector is the one of Lipponen & Tarvainen (2019), run causally: trailing windows
(91 beats for the thresholds, 11 beats for the median) that may look ``lookahead_beats``
ahead, and decisions made beat by beat, oldest first, as soon as two later beats are
known. One decided beat is held back one more beat, because the ectopic rule can move
its peak when the next beat reveals the compensatory pause. Until the windows hold
``cold_start_beats`` valid beats a simpler rule applies: a plausible range plus the 20 %
rule against the last accepted beat (Malik et al. 1989).

Corrections (each corrected beat keeps its raw value and a label):

- ``"extra"``: a beat that should not be there; its two raw intervals merge into one.
- ``"missed"``: a beat that was not detected; the interval is split into two halves.
- ``"ectopic"``: a displaced beat (premature or late, with a compensating neighbour);
  the displaced beat is moved to the middle of its neighbours, so both intervals become
  their mean and the total time is kept.
- ``"long"`` / ``"short"``: one implausible interval; replaced by the mean of the
  previous corrected and the next plausible interval.
- ``"invalid"``: NaN, infinite, <= 0 or above ``invalid_above_ms``; the value takes the
  local median and the detector ignores it.

:func:`correct_rr` and :func:`detect_artifacts` run exactly this online code over an
array: they feed the whole array to :meth:`ArtifactCorrector.push_many` and flush.
For long arrays ``push_many`` computes the window statistics with
:func:`scipy.ndimage.rank_filter` instead of one beat at a time; both read the same
ranks of the same values, so the statistics and every decision are bit-identical to
pushing beat by beat (``tests/test_artifacts.py`` checks it).

References
----------
Lipponen, J. A., & Tarvainen, M. P. (2019). A robust algorithm for heart rate variability
time series artefact correction using novel beat classification. Journal of Medical
Engineering & Technology, 43(3), 173-181.

Malik, M., Cripps, T., Farrell, T., & Camm, A. J. (1989). Prognostic value of heart rate
variability after myocardial infarction: a comparison of different data-processing
methods. Medical & Biological Engineering & Computing, 27(6), 603-611.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import rank_filter

from dsp.types import CorrectedBeat
from dsp.windows import SortedWindow, median_rank, quartile_ranks

__all__ = [
    "ARTIFACT_KINDS",
    "ArtifactCorrector",
    "ArtifactFlags",
    "ArtifactSettings",
    "correct_rr",
    "detect_artifacts",
]

# Integer codes used inside the corrector; the public label is ARTIFACT_KINDS[code].
_CLEAN, _ECTOPIC, _MISSED, _EXTRA, _LONG, _SHORT, _INVALID = range(7)
ARTIFACT_KINDS: tuple[str | None, ...] = (
    None,
    "ectopic",
    "missed",
    "extra",
    "long",
    "short",
    "invalid",
)
"""Artifact label for each internal code; ``None`` is a clean beat."""

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


@dataclass(frozen=True)
class ArtifactFlags:
    """What correction did to each input interval (boolean arrays of the input's length).

    An ectopic beat marks the two intervals around the moved beat; an extra beat marks
    the two intervals that were merged; a missed beat marks the interval that was split.

    Attributes
    ----------
    ectopic, missed, extra, long, short, invalid : numpy.ndarray of bool
        One entry per input interval.
    any : numpy.ndarray of bool
        Union of all the above.
    """

    ectopic: np.ndarray
    missed: np.ndarray
    extra: np.ndarray
    long: np.ndarray
    short: np.ndarray
    invalid: np.ndarray
    any: np.ndarray

    @classmethod
    def from_codes(cls, codes: np.ndarray) -> ArtifactFlags:
        """Build the flags from one integer code per interval (see ``ARTIFACT_KINDS``)."""
        codes = np.asarray(codes)
        return cls(
            ectopic=codes == _ECTOPIC,
            missed=codes == _MISSED,
            extra=codes == _EXTRA,
            long=codes == _LONG,
            short=codes == _SHORT,
            invalid=codes == _INVALID,
            any=codes != _CLEAN,
        )


class ArtifactCorrector:
    """Online artifact correction of a contiguous RR stream (Lipponen & Tarvainen 2019).

    Push raw intervals one by one; corrected beats come out a few beats later, in order.
    Memory is fixed: two sorted 91-beat windows, a short history of raw values and a
    queue of the few beats waiting for their lookahead. The corrector sees contiguous
    sequences only: at a gap in the beat stream call :meth:`flush` (which also resets).

    Parameters
    ----------
    settings : ArtifactSettings, optional
        Parameters; the defaults are the paper's.

    Examples
    --------
    >>> corrector = ArtifactCorrector()
    >>> out = []
    >>> for t, rr in [(0.8, 800.0), (1.6, 800.0), (2.4, 800.0), (3.2, 800.0)]:
    ...     out += corrector.push(t, rr)
    >>> out += corrector.flush()
    >>> [b.rr_ms for b in out]
    [800.0, 800.0, 800.0, 800.0]
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
        self.collect_flags = False
        self.reset()

    # ------------------------------------------------------------------ public API
    def reset(self) -> None:
        """Forget everything: the next beat starts a new contiguous sequence."""
        self._adrr.clear()
        self._amrr.clear()
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
        # Decision state.
        self._c1: float | None = None  # previous corrected interval
        self._c2: float | None = None  # the one before
        self._acc: float | None = None  # cold start: last accepted interval
        self._rej = 0  # cold start: rejections in a row
        self._last_med: float | None = None
        # Output not yet released; _held indexes the beat that may still be amended.
        self._ot: list[float] = []
        self._orr: list[float] = []
        self._oraw: list[float] = []
        self._ocode: list[int] = []
        self._oidx: list[int] = []
        self._held = -1
        self._flags: list[tuple[int, int]] = []

    def push(self, t_s: float, rr_ms: float) -> list[CorrectedBeat]:
        """Add one raw interval; return the corrected beats released by it.

        Parameters
        ----------
        t_s : float
            Time of the beat that ends the interval, seconds (stream clock).
        rr_ms : float
            Raw interval, milliseconds. NaN, infinite, <= 0 or absurdly long values are
            flagged ``"invalid"`` (never an exception).

        Returns
        -------
        list of CorrectedBeat
            Zero or more beats, oldest first; a beat is released ``lookahead_beats + 1``
            beats after it was pushed.
        """
        self._push_one(_check_time(t_s), float(rr_ms))
        self._decide_ready(final=False)
        return self._release()

    def push_many(self, t_s: np.ndarray, rr_ms: np.ndarray) -> list[CorrectedBeat]:
        """Push many intervals at once; identical to calling :meth:`push` on each.

        Parameters
        ----------
        t_s, rr_ms : array_like
            Beat times (seconds) and raw intervals (milliseconds), same length.

        Returns
        -------
        list of CorrectedBeat
            All beats released by these pushes, oldest first.
        """
        self._push_block(*_check_arrays(t_s, rr_ms))
        return self._release()

    def flush(self) -> list[CorrectedBeat]:
        """Decide and release every beat still held (end of stream or before a gap).

        The beats still waiting for lookahead are decided with what is known. The
        corrector is reset afterwards, so the next push starts a new sequence.

        Returns
        -------
        list of CorrectedBeat
            The remaining corrected beats, oldest first.
        """
        self._finish()
        out = self._release()
        flags = self._flags
        self.reset()
        self._flags = flags
        return out

    # ------------------------------------------------------------------ statistics
    def _th(self, window: SortedWindow) -> float:
        n = len(window)
        th = 0.0
        if n:
            r1, r3 = quartile_ranks(n)
            th = self.settings.alpha * (window.rank(r3) - window.rank(r1)) / 2.0
        return max(th, self.settings.min_threshold_ms)

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
        th1 = self._th(self._adrr)
        th2 = self._th(self._amrr)
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
        xs.append(rr)
        if len(xs) > 2 * self._hist:
            del xs[: len(xs) - self._hist]
        v = n - self._la
        if v >= 0:
            self._stats_for(v, n)

    def _push_block(self, t: np.ndarray, rr: np.ndarray) -> None:
        n_total = rr.size
        i = 0
        # Beat by beat until the windows are full (partial windows have their own ranks).
        warm = self._W + self._la + 1
        while i < n_total and (self._nv < warm or len(self._xs) < self._M):
            self._push_one(float(t[i]), float(rr[i]))
            i += 1
        if n_total - i >= _MIN_VECTOR_BLOCK:
            self._push_vectorised(t[i:], rr[i:])
        else:
            for k in range(i, n_total):
                self._push_one(float(t[k]), float(rr[k]))
        self._decide_ready(final=False)

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
        alpha, floor = self.settings.alpha, self.settings.min_threshold_ms
        r1, r3 = quartile_ranks(W)
        X = np.concatenate((np.asarray(self._xs[-(M - 1) :]), xb))
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
        th1 = self._th_array(a1, r1, r3, alpha, floor, B)
        th2 = self._th_array(a2, r1, r3, alpha, floor, B)
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

    def _th_array(
        self, a: np.ndarray, r1: int, r3: int, alpha: float, floor: float, B: int
    ) -> np.ndarray:
        W = self._W
        sl = slice(W // 2, W // 2 + B)
        q1 = rank_filter(a, r1, size=W, mode="nearest")[sl]
        q3 = rank_filter(a, r3, size=W, mode="nearest")[sl]
        return np.maximum(alpha * (q3 - q1) / 2.0, floor)

    def _finish(self) -> None:
        """Compute the truncated statistics of the last beats and decide everything."""
        n = self._nv - 1
        for v in range(max(0, self._nv - self._la), self._nv):
            self._stats_for(v, n)
        self._decide_ready(final=True)
        if self._inv_pending:
            rep = self._last_med if self._last_med is not None else self._c1
            for t, raw, idx in self._inv_pending:
                self._emit_invalid(t, raw, idx, rep)
            self._inv_pending = []
        self._held = -1

    # ------------------------------------------------------------------ decisions
    def _emit_invalid(self, t: float, raw: float, idx: int, rep: float | None) -> None:
        if self.collect_flags:
            self._flags.append((idx, _INVALID))
        if rep is None:  # nothing valid seen yet in this sequence: dropped
            return
        self._ot.append(t)
        self._orr.append(rep)
        self._oraw.append(raw)
        self._ocode.append(_INVALID)
        self._oidx.append(idx)

    def _decide_ready(self, final: bool) -> None:
        qx = self._qx
        qmed = self._qmed
        qfast = self._qfast
        n = len(qx)
        h = self._qh
        while h < n and qmed[h] is not None:
            if self._held >= 0 and qfast[h]:
                # A run of beats that are normal given a normal predecessor: the same
                # outcome as _decide on each (d0 was computed with the same arithmetic).
                e = h + 1
                while e < n and qfast[e] and qmed[e] is not None:
                    e += 1
                self._emit_run(h, e)
                h = e
            else:
                h += self._decide(h, final)
        self._qh = h
        if self._qh > 256:
            h = self._qh
            for lst in (
                self._qt,
                self._qx,
                self._qi,
                self._qinv,
                self._qth1,
                self._qth2,
                self._qmed,
                self._qfast,
            ):
                del lst[:h]
            self._qv0 += h
            self._qh = 0

    def _emit_run(self, h: int, e: int) -> None:
        qx = self._qx[h:e]
        self._ot.extend(self._qt[h:e])
        self._orr.extend(qx)
        self._oraw.extend(qx)
        self._ocode.extend([_CLEAN] * (e - h))
        self._oidx.extend(self._qi[h:e])
        self._held = len(self._ot) - 1
        self._c2 = qx[-2] if e - h >= 2 else self._c1
        self._c1 = qx[-1]
        self._last_med = self._qmed[e - 1]

    def _decide(self, h: int, final: bool) -> int:
        """Decide queue entry ``h``; return how many valid beats it consumed."""
        s = self.settings
        qx = self._qx
        nq = len(qx)
        x0 = qx[h]
        x1 = qx[h + 1] if h + 1 < nq else None
        x2 = qx[h + 2] if h + 2 < nq else None
        med = self._qmed[h]
        self._last_med = med
        inv = self._qinv[h]
        if inv is not None:
            for t, raw, idx in inv:
                self._emit_invalid(t, raw, idx, med)
        c1 = self._c1
        t0 = self._qt[h]
        i0 = self._qi[h]

        if self._qv0 + h < s.cold_start_beats:
            kind, rep = self._cold(x0, x1, med)
        else:
            th1 = self._qth1[h]
            th2 = self._qth2[h]
            d0 = 0.0 if c1 is None else (x0 - c1) / th1
            m = x0 - med
            if m < 0.0:
                m *= 2.0
            m0 = m / th2
            if -1.0 <= d0 <= 1.0:
                kind, rep = _CLEAN, x0
            else:
                c2 = self._c2
                dm1 = 0.0 if (c1 is None or c2 is None) else (c1 - c2) / th1
                d1 = 0.0 if x1 is None else (x1 - x0) / th1
                d2 = 0.0 if x2 is None else (x2 - x1) / th1
                ect = False
                if d0 > 1.0:
                    ect = max(dm1, d1) < -s.c1 * d0 - s.c2
                elif d0 < -1.0:
                    ect = min(dm1, d1) > -s.c1 * d0 + s.c2
                if (
                    ect
                    and self._held >= 0
                    and inv is None
                    and abs(self._orr[self._held] + x0 - 2.0 * med) < th2
                ):
                    # Ectopic: the previous (held) beat is displaced and this interval
                    # compensates it (the two add up to two normal ones); move it.
                    hp = self._held
                    nxt = x1 if (x1 is not None and abs(x1 - med) < th2) else med
                    a, b = _split2(self._orr[hp] + x0, self._c2, nxt)
                    self._orr[hp] = a
                    self._ot[hp] = t0 - b / 1000.0
                    self._ocode[hp] = _ECTOPIC
                    if self.collect_flags:
                        self._flags.append((self._oidx[hp], _ECTOPIC))
                    self._held = -1
                    self._out(t0, b, x0, _ECTOPIC, i0)
                    self._c2 = a
                    self._c1 = b
                    return 1
                s22 = min(d1, d2) if d0 >= 0.0 else max(d1, d2)
                # Long/short: the next beats return (S22). When the deviation grows
                # into the next beat, that beat is the artifact: it is judged next.
                # missed/extra: the halves (the sum) must pass L&T's Th2 test and, as
                # in cold start, the 20 % rule against the median
                tol_me = min(th2, s.max_change * med)
                fits_extra = x1 is not None and abs(x0 + x1 - med) < tol_me
                fits_missed = abs(x0 * 0.5 - med) < tol_me
                long_ = d0 > 1.0 and s22 < -1.0 and (fits_missed or not d1 > 1.0)
                short_ = d0 < -1.0 and s22 > 1.0 and (fits_extra or not d1 < -1.0)
                big = m0 > 3.0 or m0 < -3.0
                if not (long_ or short_ or big or ect):
                    kind, rep = _CLEAN, x0
                elif fits_extra and (short_ or (big and m < 0.0)):
                    kind, rep = _EXTRA, x0 + x1
                elif fits_missed and (long_ or (big and m > 0.0)):
                    kind, rep = _MISSED, x0 * 0.5
                elif _compensates(x0, x1, med, th2):
                    kind, rep = _ECTOPIC, (x0 + x1) * 0.5
                else:
                    nxt = x1 if (x1 is not None and abs(x1 - med) < th2) else med
                    rep = nxt if c1 is None else (c1 + nxt) * 0.5
                    kind = _ECTOPIC if ect else (_LONG if x0 > med else _SHORT)
                    self._held = -1
                    self._out(t0, rep, x0, kind, i0)
                    self._c2 = c1
                    self._c1 = rep
                    return 1

        # Apply a decision (shared by cold start and the windowed rule).
        self._held = -1
        if kind == _CLEAN:
            self._held = len(self._ot)
            self._out(t0, x0, x0, _CLEAN, i0)
            self._c2 = c1
            self._c1 = x0
            return 1
        # the plausible interval after the ones being replaced, for interpolation
        tol = self._qth2[h] if self._qv0 + h >= s.cold_start_beats else s.max_change * med
        if kind == _MISSED:  # the undetected beat goes to the middle of the interval
            self._out(t0 - rep / 1000.0, rep, _NAN, _MISSED, -1)
            self._out(t0, rep, x0, _MISSED, i0)
            self._c2 = rep
            self._c1 = rep
            return 1
        if kind in (_LONG, _SHORT):  # cold-start replacement
            self._out(t0, rep, x0, kind, i0)
            self._c2 = c1
            self._c1 = rep
            return 1
        # Two raw intervals involved: x0 and x1 (extra, or an ectopic pair).
        inv1 = self._qinv[h + 1]
        if inv1 is not None:
            for t, raw, idx in inv1:
                self._emit_invalid(t, raw, idx, med)
        t1 = self._qt[h + 1]
        i1 = self._qi[h + 1]
        if kind == _EXTRA:
            if self.collect_flags:
                self._flags.append((i0, _EXTRA))
            self._out(t1, rep, x1, _EXTRA, i1)
            self._c2 = c1
            self._c1 = rep
        else:  # ectopic pair: move the beat between x0 and x1 back in line
            nxt = x2 if (x2 is not None and abs(x2 - med) < tol) else med
            a, b = _split2(x0 + x1, c1, nxt)
            self._out(t1 - b / 1000.0, a, x0, _ECTOPIC, i0)
            self._out(t1, b, x1, _ECTOPIC, i1)
            self._c2 = a
            self._c1 = b
        return 2

    def _cold(self, x0: float, x1: float | None, med: float) -> tuple[int, float]:
        """Cold-start rule: plausible range and the 20 % rule (Malik et al. 1989)."""
        s = self.settings
        acc = self._acc
        ref = acc if (acc is not None and self._rej < s.reanchor_beats) else med
        tol = s.max_change * ref
        if s.min_rr_ms <= x0 <= s.max_rr_ms and abs(x0 - ref) <= tol:
            kind, val = _CLEAN, x0
        elif x1 is not None and x0 < ref and abs(x0 + x1 - ref) <= tol:
            kind, val = _EXTRA, x0 + x1
        elif x0 > ref and abs(x0 * 0.5 - ref) <= tol:
            kind, val = _MISSED, x0 * 0.5
        elif _compensates(x0, x1, ref, 2.0 * tol):
            kind, val = _ECTOPIC, (x0 + x1) * 0.5
        else:
            self._rej += 1
            return (_LONG if x0 > ref else _SHORT), min(max(ref, s.min_rr_ms), s.max_rr_ms)
        self._acc = val
        self._rej = 0
        return kind, val

    def _out(self, t: float, rr: float, raw: float, code: int, idx: int) -> None:
        self._ot.append(t)
        self._orr.append(rr)
        self._oraw.append(raw)
        self._ocode.append(code)
        self._oidx.append(idx)
        if code and idx >= 0 and self.collect_flags:
            self._flags.append((idx, code))

    # ------------------------------------------------------------------ output
    def _release_count(self) -> int:
        return self._held if self._held >= 0 else len(self._ot)

    def _release(self) -> list[CorrectedBeat]:
        n = self._release_count()
        if n == 0:
            return []
        kinds = ARTIFACT_KINDS
        out = [
            CorrectedBeat(t, rr, raw, kinds[c])
            for t, rr, raw, c in zip(
                self._ot[:n], self._orr[:n], self._oraw[:n], self._ocode[:n], strict=True
            )
        ]
        self._drop_released(n)
        return out

    def _drop_released(self, n: int) -> None:
        for lst in (self._ot, self._orr, self._oraw, self._ocode, self._oidx):
            del lst[:n]
        if self._held >= 0:
            self._held -= n

    def _take_arrays(self) -> tuple[list[float], list[float], list[float], list[int]]:
        """Release as plain lists (times, corrected, raw, codes): the batch path."""
        n = self._release_count()
        out = (self._ot[:n], self._orr[:n], self._oraw[:n], self._ocode[:n])
        self._drop_released(n)
        return out


def _compensates(x0: float, x1: float | None, med: float, tol: float) -> bool:
    """True when ``x1`` compensates ``x0``: a displaced beat between them (ectopic).

    The two deviate from the median in opposite directions by similar amounts, and
    together they last about two normal intervals.
    """
    if x1 is None:
        return False
    e0 = x0 - med
    e1 = x1 - med
    return e0 * e1 < 0.0 and abs(e1) > 0.5 * abs(e0) and abs(x0 + x1 - 2.0 * med) < tol


def _split2(total: float, before: float | None, after: float) -> tuple[float, float]:
    """Split ``total`` ms into two intervals that follow the line from ``before`` to ``after``.

    The two unknown intervals sit between a known one before and one after; linear
    interpolation puts them at 1/3 and 2/3 of the way, scaled to keep their sum (the
    time between the surrounding beats). Falls back to halves when a neighbour is
    missing or implausible for this total.
    """
    if before is None or not 0.5 * total < before + after < 2.0 * total:
        half = total * 0.5
        return half, half
    first = total * (2.0 * before + after) / (3.0 * (before + after))
    return first, total - first


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


def _beat_times(rr: np.ndarray) -> np.ndarray:
    """Beat times (s) implied by an RR series: cumulative sum, invalid values count 0."""
    ok = (rr > 0) & np.isfinite(rr)
    return np.cumsum(np.where(ok, rr, 0.0)) / 1000.0


def correct_batch(
    rr_ms: np.ndarray,
    t_s: np.ndarray | None = None,
    settings: ArtifactSettings | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, ArtifactFlags]:
    """Run :class:`ArtifactCorrector` over a whole series and return everything.

    Parameters
    ----------
    rr_ms : array_like
        Raw RR intervals, milliseconds, one contiguous sequence.
    t_s : array_like, optional
        Times of the beats ending each interval, seconds; by default the cumulative
        sum of ``rr_ms``.
    settings : ArtifactSettings, optional
        Corrector parameters.

    Returns
    -------
    t_out : numpy.ndarray
        Times of the corrected beats, seconds.
    rr_out : numpy.ndarray
        Corrected intervals, milliseconds.
    raw_out : numpy.ndarray
        Raw interval ending at each corrected beat (NaN for inserted beats).
    code_out : numpy.ndarray of int8
        Index into ``ARTIFACT_KINDS`` for each corrected beat (0 = clean).
    flags : ArtifactFlags
        What was done to each input interval.
    """
    rr = np.asarray(rr_ms, dtype=np.float64)
    if rr.ndim != 1:
        raise ValueError(f"rr_ms must be one-dimensional, got shape {rr.shape}")
    t = _beat_times(rr) if t_s is None else t_s
    t, rr = _check_arrays(t, rr)
    corrector = ArtifactCorrector(settings)
    corrector.collect_flags = True
    corrector._push_block(t, rr)
    corrector._finish()
    ot, orr, oraw, ocode = corrector._take_arrays()
    codes = np.zeros(rr.size, dtype=np.int8)
    if corrector._flags:
        idx, code = zip(*corrector._flags, strict=True)
        codes[list(idx)] = code
    return (
        np.asarray(ot, dtype=np.float64),
        np.asarray(orr, dtype=np.float64),
        np.asarray(oraw, dtype=np.float64),
        np.asarray(ocode, dtype=np.int8),
        ArtifactFlags.from_codes(codes),
    )


def correct_rr(
    rr_ms: np.ndarray, settings: ArtifactSettings | None = None
) -> tuple[np.ndarray, ArtifactFlags]:
    """Correct a whole RR series with the online corrector.

    Parameters
    ----------
    rr_ms : array_like
        Raw RR intervals, milliseconds, one contiguous sequence (any values: invalid
        ones are flagged, never an exception).
    settings : ArtifactSettings, optional
        Corrector parameters.

    Returns
    -------
    rr_corrected : numpy.ndarray
        Corrected intervals, milliseconds. Its length differs from the input by one per
        extra beat (merged) and one per missed beat (split); a sequence without any valid
        value gives no beats.
    flags : ArtifactFlags
        What was done to each input interval.

    Examples
    --------
    >>> rr = np.full(60, 800.0)
    >>> rr[40] = 1600.0  # a missed beat
    >>> fixed, flags = correct_rr(rr)
    >>> fixed.size, int(np.flatnonzero(flags.missed)[0])
    (61, 40)
    """
    _, rr_out, _, _, flags = correct_batch(rr_ms, settings=settings)
    return rr_out, flags


def detect_artifacts(rr_ms: np.ndarray, settings: ArtifactSettings | None = None) -> ArtifactFlags:
    """Flags of :func:`correct_rr` only: which input intervals are artifacts, of what kind.

    Parameters
    ----------
    rr_ms : array_like
        Raw RR intervals, milliseconds.
    settings : ArtifactSettings, optional
        Corrector parameters.

    Returns
    -------
    ArtifactFlags
        One boolean entry per input interval for each kind, and ``any``.
    """
    return correct_rr(rr_ms, settings)[1]
