"""Dyad synchrony over a whole session, in bounded memory (part of the session statistics).

The engine's live estimator (:class:`dsp.synchrony.SynchronyEstimator`) publishes one
sample per second on the synchrony stream; this keeps their binned series and running
means. The session-level test (:func:`dsp.synchrony.session_synchrony`, SCIENCE.md §5)
is given for the whole recording and for each stretch between two markers: it needs
both people's heart rate on the shared 4 Hz grid, so the corrected beats are kept as
compact arrays (18 bytes a beat: 3.6 MB for a 24-hour dyad) and gridded at the end
exactly as :func:`dsp.synchrony.synchrony` does.
"""

import itertools
import math
from array import array
from collections.abc import Sequence

import numpy as np

from app.analysis.bins import Bins, json_number
from dsp.beat_result import BeatResult
from dsp.dyad.session import SessionAccumulator
from dsp.dyad.types import NO_SESSION, SessionSynchrony, SynchronySettings
from dsp.synchrony import grid_pair

#: Index at or above which a window counts as significant synchrony.
SIGNIFICANT = 0.95


class SynchronyStats:
    """Synchrony samples and both people's beats for the session-level numbers.

    Parameters
    ----------
    t0 : float
        Session start, s.
    settings : SynchronySettings or None
        The estimator's settings (grid rate, window, lags); the engine's default.
    """

    def __init__(self, t0: float, settings: SynchronySettings | None = None) -> None:

        self.settings = settings if settings is not None else SynchronySettings()
        self.bins = Bins(t0, ("index", "lag_s", "significant"))
        self.samples = 0
        self.estimated = 0
        self.index_sum = 0.0
        self.significant = 0
        self.lag_sum = 0.0
        self.beats: dict[str, tuple[array, array, array, array]] = {}
        self._grid: tuple[float, np.ndarray, np.ndarray] | None = None

    def add_sample(self, t: float, values: tuple) -> None:
        """One sample of the synchrony stream: index, raw index, r, lag (s), p, session ..."""
        index, _raw, _r, lag, _p = (float(v) for v in values[:5])
        self.samples += 1
        k = self.bins.index(t)
        if not math.isfinite(index):
            return
        self.estimated += 1
        self.index_sum += index
        self.significant += index >= SIGNIFICANT
        self.bins.add(k, 0, index)
        self.bins.add(k, 2, float(index >= SIGNIFICANT))
        if math.isfinite(lag):
            self.lag_sum += lag
            self.bins.add(k, 1, lag)

    def add_beat(self, result: BeatResult) -> None:
        """Keep one corrected beat for the session grid (as the engine feeds the estimator)."""
        arrays = self.beats.get(result.subject)
        if arrays is None:
            arrays = self.beats[result.subject] = (array("d"), array("d"), array("b"), array("b"))
        t, rr, ok, gap = arrays
        t.append(result.beat.t)
        rr.append(result.beat.rr_ms)
        ok.append(bool(result.quality.ok and result.contact is not False))
        gap.append(bool(result.gap_before))
        self._grid = None

    def session(
        self, pair: tuple[str, str], start_s: float = -math.inf, end_s: float = math.inf
    ) -> SessionSynchrony:
        """The session-level test over the beats kept, between two times (s, LSL clock).

        The whole session by default; a stretch (e.g. between two markers) otherwise,
        on the same grid. :data:`NO_SESSION` when it is too short (about 3 min).
        """
        if self._grid is None:
            streams = []
            for name in pair:
                t, rr, ok, gap = self.beats.get(name, ((), (), (), ()))
                streams.append(list(zip(t, rr, map(bool, ok), map(bool, gap), strict=True)))
            hr_a, hr_b = grid_pair(streams, self.settings)
            fs = self.settings.fs_hz
            first = max((math.floor(s[0][0] * fs) + 1 for s in streams if s), default=0)
            self._grid = (first / fs, hr_a, hr_b)
        t0, hr_a, hr_b = self._grid
        fs = self.settings.fs_hz
        lo = max(0, math.ceil((start_s - t0) * fs)) if math.isfinite(start_s) else 0
        hi = min(hr_a.size, math.floor((end_s - t0) * fs)) if math.isfinite(end_s) else hr_a.size
        if hi - lo <= 0:
            return NO_SESSION
        acc = SessionAccumulator(self.settings)
        acc.extend(hr_a[lo:hi], hr_b[lo:hi])
        return acc.result()

    def summary(self, pair: tuple[str, str], markers: Sequence = (), t0: float = 0.0) -> dict:
        """Session synchrony numbers (None where not estimable).

        Parameters
        ----------
        pair : tuple of str
            The dyad (a, b); ``lag_s > 0`` means b follows a.
        markers : sequence of objects with ``t`` (s) and ``text``
            The recording's markers: the session test is also given for each stretch
            from the start to the first marker, between consecutive markers, and from
            the last marker to the end.
        t0 : float
            Session start, s (elapsed times in the summary count from it).
        """
        n = self.estimated
        times = sorted(markers, key=lambda m: m.t)
        edges = [(-math.inf, "start")] + [(m.t, m.text) for m in times] + [(math.inf, "end")]
        between = []
        for (lo, lo_text), (hi, hi_text) in itertools.pairwise(edges):
            if not times:
                break
            between.append(
                {
                    "from": lo_text,
                    "to": hi_text,
                    "start_s": None if not math.isfinite(lo) else round(lo - t0, 3),
                    "end_s": None if not math.isfinite(hi) else round(hi - t0, 3),
                    **session_record(self.session(pair, lo, hi)),
                }
            )
        return {
            "pair": list(pair),
            "estimated_percent": json_number(
                100.0 * n / self.samples if self.samples else math.nan
            ),
            "mean_index": json_number(self.index_sum / n if n else math.nan),
            "significant_percent": json_number(100.0 * self.significant / n if n else math.nan),
            "mean_lag_s": json_number(self.lag_sum / n if n else math.nan),
            "session": session_record(self.session(pair)),
            "between_markers": between,
            "segment_s": self.settings.window_s,
        }


def session_record(result: SessionSynchrony) -> dict:
    """The session test as JSON-safe numbers (null where there is none)."""
    return {
        "r": json_number(result.r),
        "ci_low": json_number(result.ci_low),
        "ci_high": json_number(result.ci_high),
        "p_value": json_number(result.p_value),
        "lag_s": json_number(result.lag_s),
        "n_segments": result.n_segments,
    }
