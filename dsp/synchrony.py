"""Physiological synchrony of a whole session (batch; SCIENCE.md §5).

:func:`synchrony` runs the live :class:`dsp.synchrony_estimator.SynchronyEstimator`
(the method is described there) over two people's beat arrays, after the live pipeline
(:func:`dsp.pipeline.process`), so the result equals the live one.

Session level: :func:`session_effect_size` is a SUSY-style effect size (Tschacher &
Haken 2019; Tschacher, Rees & Ramseyer 2014): the mean Fisher z of 30 s segments of the
real pairing minus the mean over pairings of different segments (segment shuffling,
Moulder et al. 2018), divided by the surrogates' standard deviation.

References
----------
Moulder, R. G., Boker, S. M., Ramseyer, F., & Tschacher, W. (2018). Determining synchrony
between behavioral time series: an application of surrogate data generation for
establishing falsifiable null-hypotheses. Psychological Methods, 23(4), 757-773.
Tschacher, W., & Haken, H. (2019). The Process of Psychotherapy: Causation and Chance.
Springer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dsp.pipeline import process
from dsp.synchrony_estimator import SynchronyEstimator, _detrend_unit, _fisher
from dsp.synchrony_types import SynchronyEstimate, SynchronySettings

__all__ = [
    "SynchronyEstimate",  # re-exported for app/ and ui/
    "SynchronyEstimator",  # re-exported for app/
    "SynchronySettings",  # re-exported for app/
    "SynchronyTrace",
    "grid_pair",
    "session_effect_size",
    "synchrony",
]


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

    The same interpolation and the same missing-data rules as
    :class:`dsp.synchrony_grid._Grid`.
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
