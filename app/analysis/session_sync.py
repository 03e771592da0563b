"""Dyad synchrony over a whole session, in bounded memory (part of the session statistics).

The engine's live estimator (:class:`dsp.synchrony.SynchronyEstimator`) publishes one
sample per second on the synchrony stream; this keeps their binned series and running
means. The session effect size (SUSY-style, :func:`dsp.synchrony.session_effect_size`)
needs both people's heart rate on the shared 4 Hz grid: the corrected beats are kept
as compact arrays (18 bytes a beat: 3.6 MB for a 24-hour dyad) and gridded at the end
exactly as :func:`dsp.synchrony.synchrony` does.
"""

import math
from array import array

import numpy as np
from scipy.stats import norm

from app.analysis.bins import Bins, json_number
from dsp.beat_result import BeatResult
from dsp.synchrony import grid_pair, session_effect_size
from dsp.synchrony_types import SynchronySettings

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
        self._effect: tuple[float, int] | None = None

    def add_sample(self, t: float, values: tuple) -> None:
        """One sample of the synchrony stream: index, raw index, r, lag (s), p."""
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
        self._effect = None

    def effect_size(self, pair: tuple[str, str]) -> tuple[float, float, int]:
        """Session effect size, its one-sided p and the number of 30-s segments used.

        ``p`` treats the real segments' mean Fisher z as a mean of independent segments:
        ``z = effect_size * sqrt(n_segments)``, ``p = 1 - Phi(z)`` (a normal approximation
        of the segment-shuffling test).
        """
        if self._effect is None:
            streams = []
            for name in pair:
                t, rr, ok, gap = self.beats.get(name, ((), (), (), ()))
                streams.append(list(zip(t, rr, map(bool, ok), map(bool, gap), strict=True)))
            hr_a, hr_b = grid_pair(streams, self.settings)
            effect = session_effect_size(hr_a, hr_b, self.settings)
            w = round(self.settings.window_s * self.settings.fs_hz)
            n = min(hr_a.size, hr_b.size) // w
            usable = sum(
                bool(np.isfinite(hr_a[i * w : (i + 1) * w]).all())
                and bool(np.isfinite(hr_b[i * w : (i + 1) * w]).all())
                for i in range(n)
            )
            self._effect = (effect, usable)
        effect, usable = self._effect
        p = float(norm.sf(effect * math.sqrt(usable))) if math.isfinite(effect) else math.nan
        return effect, p, usable

    def summary(self, pair: tuple[str, str]) -> dict:
        """Session synchrony numbers (None where not estimable)."""
        effect, p, segments = self.effect_size(pair)
        n = self.estimated
        return {
            "pair": list(pair),
            "estimated_percent": json_number(
                100.0 * n / self.samples if self.samples else math.nan
            ),
            "mean_index": json_number(self.index_sum / n if n else math.nan),
            "significant_percent": json_number(100.0 * self.significant / n if n else math.nan),
            "mean_lag_s": json_number(self.lag_sum / n if n else math.nan),
            "effect_size": json_number(effect),
            "p_value": json_number(p),
            "segments": segments,
            "segment_s": self.settings.window_s,
        }
