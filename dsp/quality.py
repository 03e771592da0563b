"""Signal quality of a beat stream: artifact rate, coverage and gaps over 30 s.

These feed the zone logic (UNKNOWN when quality is poor: > 10 % artifacts in 30 s or a
gap > 5 s, SCIENCE.md §4) and the quality badge in the UI.

- ``artifact_rate``: fraction of the corrected beats in the window that correction
  touched, not counting those whose raw interval passes the plain 20 % rule against the
  previous interval (Malik et al. 1989): the adaptive detector may doubt real rhythm
  when variability rises, and that must not cost the estimate.
- ``coverage``: the reported intervals summed over the window, divided by the time the
  window spans (``sum(RR) / elapsed``). About 1 for a complete stream; below 0.85 beats
  are being lost (dropped notifications), above 1.15 duplicated (SCIENCE.md §1).
- ``gap_s``: the largest stretch of time in the window that no reported interval
  covers (a dropout), seconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from dsp.types import CorrectedBeat

__all__ = ["QualityMetrics", "QualitySettings", "SignalQuality"]


@dataclass(frozen=True)
class QualitySettings:
    """Parameters of :class:`SignalQuality`.

    Attributes
    ----------
    window_s : float
        Trailing window, seconds.
    max_artifact_rate : float
        Largest acceptable fraction of corrected beats in the window.
    coverage_range : tuple of float
        Acceptable ``sum(RR) / elapsed``.
    max_gap_s : float
        Largest acceptable uncovered stretch in the window, seconds.
    min_elapsed_s : float
        Stream time needed after a reset before quality can be ``ok``, seconds.
    min_hole_s : float
        Uncovered stretches shorter than this are timing jitter, not holes, seconds.
    min_rr_ms : float
        Shortest interval expected; sizes the buffers, milliseconds.
    erratic_change : float
        A raw interval that differs from the previous raw one by more than this
        fraction is erratic (Malik et al. 1989's 20 % rule).
    max_erratic_rate : float
        Largest acceptable fraction of erratic raw intervals. A loose strap streams
        plausible garbage that inflates the corrector's adaptive thresholds until it
        passes as clean; this absolute rule still sees it. Each artifact makes 2-3
        erratic intervals: 2 % artifacts peak near 0.18 over 30 s, 20 % sit near 0.5.
    """

    window_s: float = 30.0
    max_artifact_rate: float = 0.10
    coverage_range: tuple[float, float] = (0.85, 1.15)
    max_gap_s: float = 5.0
    min_elapsed_s: float = 5.0
    min_hole_s: float = 0.3
    min_rr_ms: float = 200.0
    erratic_change: float = 0.20
    max_erratic_rate: float = 0.30

    def __post_init__(self) -> None:
        if self.window_s <= 0 or self.min_rr_ms <= 0:
            raise ValueError("window_s and min_rr_ms must be > 0")
        lo, hi = self.coverage_range
        if not 0 < lo < 1 < hi:
            raise ValueError(f"coverage_range must bracket 1, got {self.coverage_range}")


@dataclass(frozen=True, slots=True)
class QualityMetrics:
    """Quality of the beat stream over the trailing window.

    Attributes
    ----------
    t : float
        Stream time of the evaluation, seconds.
    artifact_rate : float
        Artifacts per beat in the window (0-1); NaN without beats. Consecutive
        corrected beats flagged together count as one artifact: one missed beat is
        split into two flagged beats, and an ectopic beat drags its compensatory pause
        along, yet each is one fault of the strap. A flagged beat whose raw interval
        is within ``erratic_change`` of the previous interval is not counted.
    coverage : float
        ``sum(RR) / elapsed`` over the window; NaN before any beat.
    gap_s : float
        Largest uncovered stretch in the window, seconds (0 when none).
    ok : bool
        True when all are acceptable and the window has enough data.
    reason : str
        Why ``ok`` is False; ``""`` when it is True.
    erratic_rate : float
        Fraction (0-1) of raw intervals in the window that jump by more than
        ``erratic_change`` from the previous one; NaN without beats.
    """

    t: float
    artifact_rate: float
    coverage: float
    gap_s: float
    ok: bool
    reason: str
    erratic_rate: float = math.nan


class SignalQuality:
    """Trailing-window quality of one subject's corrected beat stream.

    Memory is fixed: a ring of the beats in the window (sized from ``window_s`` and
    ``min_rr_ms``) and a small ring of holes.

    Parameters
    ----------
    settings : QualitySettings, optional
        Window and thresholds.
    """

    _HOLES = 64

    def __init__(self, settings: QualitySettings | None = None) -> None:
        self.settings = settings if settings is not None else QualitySettings()
        self._cap = math.ceil(self.settings.window_s * 1000.0 / self.settings.min_rr_ms) + 2
        self.reset()

    def reset(self) -> None:
        """Forget every beat and hole."""
        cap = self._cap
        self._t = [0.0] * cap
        self._rr = [0.0] * cap
        self._art = [False] * cap
        self._err = [False] * cap
        self._n_err = 0
        self._prev_raw = math.nan
        self._prev_rr_ms = math.nan
        self._head = self._tail = 0
        self._sum_rr = 0.0
        self._n_art = 0
        self._prev_flagged = False
        self._hole_end = [0.0] * self._HOLES
        self._hole_len = [0.0] * self._HOLES
        self._n_holes = 0
        self._start: float | None = None
        self._last_t: float | None = None

    def push(self, beat: CorrectedBeat) -> QualityMetrics:
        """Add one corrected beat; return the quality at its time."""
        t = float(beat.t)
        rr = float(beat.rr_ms)
        if not math.isfinite(t):
            raise ValueError(f"beat time must be finite, got {beat.t!r}")
        rr_s = rr / 1000.0 if math.isfinite(rr) and rr > 0 else 0.0
        if self._start is None:
            self._start = t - rr_s
        elif self._last_t is not None:
            hole = t - rr_s - self._last_t
            if hole >= self.settings.min_hole_s:
                self._add_hole(t, hole)
        self._last_t = t if self._last_t is None else max(self._last_t, t)
        cap = self._cap
        if self._tail - self._head == cap:  # more beats than the window can hold
            self._evict_one()
        k = self._tail % cap
        self._t[k] = t
        self._rr[k] = rr_s
        raw = float(beat.rr_raw_ms)
        ref = self._prev_rr_ms
        # a corrected beat whose raw interval passes the plain 20 % rule against the
        # previous interval is real rhythm the adaptive detector doubted: not counted
        flagged = beat.artifact is not None and not (
            abs(raw - ref) <= self.settings.erratic_change * ref  # False for NaN
        )
        self._prev_rr_ms = rr if math.isfinite(rr) and rr > 0 else math.nan
        starts = flagged and not self._prev_flagged  # a run of flagged beats is one artifact
        self._prev_flagged = flagged
        self._art[k] = starts
        erratic = abs(raw - self._prev_raw) > self.settings.erratic_change * self._prev_raw
        if math.isfinite(raw):
            self._prev_raw = raw
        self._err[k] = erratic
        self._n_err += erratic
        self._tail += 1
        self._sum_rr += rr_s
        self._n_art += starts
        return self._evaluate(t)

    def note_gap(self, t_s: float) -> QualityMetrics:
        """Tell the monitor that no beat has come up to stream time ``t_s`` (seconds).

        The engine calls this while it sees a gap (e.g. a dropped connection), so the
        quality degrades without waiting for the next beat.

        Returns
        -------
        QualityMetrics
            The quality at ``t_s``, counting the ongoing hole.
        """
        t = float(t_s)
        if not math.isfinite(t):
            raise ValueError(f"gap time must be finite, got {t_s!r}")
        if self._start is None:
            self._start = t
        return self._evaluate(t)

    # ------------------------------------------------------------------ internals
    def _add_hole(self, t_end: float, length: float) -> None:
        k = self._n_holes % self._HOLES
        self._hole_end[k] = t_end
        self._hole_len[k] = length
        self._n_holes += 1

    def _evict_one(self) -> None:
        k = self._head % self._cap
        self._sum_rr -= self._rr[k]
        self._n_art -= self._art[k]
        self._n_err -= self._err[k]
        self._head += 1

    def _evaluate(self, now: float) -> QualityMetrics:
        s = self.settings
        lim = now - s.window_s
        while self._head < self._tail and self._t[self._head % self._cap] <= lim:
            self._evict_one()
        n = self._tail - self._head
        if n == 0:
            self._sum_rr = 0.0  # no rounding residue survives an empty window
        start = self._start if self._start is not None else now
        elapsed = min(s.window_s, now - start)
        covered = self._sum_rr
        if n:
            # only the part of the oldest interval that lies inside the window counts
            k = self._head % self._cap
            overhang = self._rr[k] - (self._t[k] - max(lim, start))
            if overhang > 0:
                covered -= overhang
        coverage = covered / elapsed if elapsed > 0 else math.nan
        rate = self._n_art / n if n else math.nan
        erratic = self._n_err / n if n else math.nan
        gap = 0.0
        for i in range(max(0, self._n_holes - self._HOLES), self._n_holes):
            k = i % self._HOLES
            if self._hole_end[k] > lim:
                gap = max(gap, min(self._hole_len[k], self._hole_end[k] - lim))
        if self._last_t is not None and now > self._last_t:
            gap = max(gap, min(now - self._last_t, now - max(lim, self._last_t)))
        elif self._last_t is None:
            gap = max(gap, elapsed)
        reasons = []
        if elapsed < s.min_elapsed_s:
            reasons.append(f"only {elapsed:.1f} s of stream so far")
        if not rate <= s.max_artifact_rate:
            reasons.append(
                "no beats in the window"
                if n == 0
                else f"{100 * rate:.0f}% artifacts in {s.window_s:g} s"
            )
        if n and erratic > s.max_erratic_rate:
            reasons.append(f"{100 * erratic:.0f}% erratic beats: is the strap loose or dry?")
        lo, hi = s.coverage_range
        if n and not lo <= coverage <= hi:
            what = "lost" if coverage < lo else "duplicated"
            reasons.append(f"coverage {coverage:.2f}: beats {what}")
        if gap > s.max_gap_s:
            reasons.append(f"gap of {gap:.1f} s")
        return QualityMetrics(now, rate, coverage, gap, not reasons, "; ".join(reasons), erratic)
