"""Online artifact correction of RR intervals (Lipponen & Tarvainen 2019), beat by beat.

The detector is the one of Lipponen & Tarvainen (2019), run causally: trailing windows
(91 beats for the thresholds, 11 beats for the median; :mod:`dsp.artifacts.windows`)
that may look ``lookahead_beats`` ahead, and decisions made beat by beat, oldest first,
as soon as two later beats are known. One decided beat is held back one more beat,
because the ectopic rule can move its peak when the next beat reveals the compensatory
pause. Until the windows hold ``cold_start_beats`` valid beats a simpler rule applies:
a plausible range plus the 20 % rule against the last accepted beat (Malik et al. 1989).

Corrections (each corrected beat keeps its raw value and a label):

- ``"extra"``: a beat that should not be there; its two raw intervals merge into one.
- ``"missed"``: one or more beats that were not detected; the interval is split into
  equal parts. An interval of ``k`` local medians (``k`` = 2 to ``max_missed_run + 1``,
  within the 20 % rule) is always such a run, even when dense dropouts have inflated the
  adaptive thresholds; otherwise the paper's test (twice the median) applies.
- ``"ectopic"``: a displaced beat (premature or late, with a compensating neighbour);
  the displaced beat is moved to the middle of its neighbours, so both intervals become
  their mean and the total time is kept.
- ``"long"`` / ``"short"``: one implausible interval; replaced by the mean of the
  previous corrected and the next plausible interval.
- ``"invalid"``: NaN, infinite, <= 0 or above ``invalid_above_ms``; the value takes the
  local median and the detector ignores it.

The batch functions of :mod:`dsp.artifacts` run exactly this code over an array.

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

import numpy as np

from dsp.artifacts.kinds import (
    _CLEAN,
    _ECTOPIC,
    _EXTRA,
    _INVALID,
    _LONG,
    _MISSED,
    _SHORT,
    ARTIFACT_KINDS,
)
from dsp.artifacts.windows import (
    _MIN_VECTOR_BLOCK,
    _NAN,
    ArtifactSettings,
    ArtifactWindows,
    _check_arrays,
    _check_time,
    missed_run,
)
from dsp.types import CorrectedBeat

__all__ = ["ArtifactCorrector"]


class ArtifactCorrector(ArtifactWindows):
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
        super().__init__(settings)
        self.collect_flags = False
        self.reset()

    # ------------------------------------------------------------------ public API
    def reset(self) -> None:
        """Forget everything: the next beat starts a new contiguous sequence."""
        super().reset()
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
            k = missed_run(x0, med, s.max_change, s.max_missed_run)
            if k:  # k medians long: beats were missed, whatever the thresholds say
                kind, rep = _MISSED, x0 / k
            elif -1.0 <= d0 <= 1.0:
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
        if kind == _MISSED:  # the undetected beats split the interval evenly
            for j in range(round(x0 / rep) - 1, 0, -1):
                self._out(t0 - j * rep / 1000.0, rep, _NAN, _MISSED, -1)
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
        elif x0 > ref and missed_run(x0, ref, s.max_change, 1) and x0 * 0.5 >= s.min_rr_ms:
            kind, val = _MISSED, x0 * 0.5  # one missed beat only: the reference is young
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
