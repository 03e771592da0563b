"""Physiological synchrony of a whole session (batch; SCIENCE.md §5).

:func:`synchrony` runs the live :class:`dsp.dyad.estimator.SynchronyEstimator`
(the method is described there) over two people's beat arrays, after the live pipeline
(:func:`dsp.pipeline.process`), so the result equals the live one.

Session level: :func:`session_synchrony` is the session test of SCIENCE.md §5 (the
lag searched once over 30-s segments, significance against the partner's series
circularly rotated), described in :mod:`dsp.dyad.session`. It replaces the
SUSY-style effect size, which averaged z over lags and so missed coupling at a lag.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dsp.dyad.estimator import SynchronyEstimator
from dsp.dyad.session import SessionAccumulator
from dsp.dyad.types import NO_SESSION, SessionSynchrony, SynchronyEstimate, SynchronySettings
from dsp.pipeline import process

__all__ = [
    "SessionSynchrony",  # re-exported: the contract names it here
    "SynchronyEstimate",  # re-exported for app/ and ui/
    "SynchronyEstimator",  # re-exported for app/
    "SynchronySettings",  # re-exported for app/
    "SynchronyTrace",
    "grid_pair",
    "session_synchrony",
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
    session : SessionSynchrony
        The session-level test over the whole session (:func:`session_synchrony`).
    """

    times: np.ndarray
    index: np.ndarray
    index_raw: np.ndarray
    r_peak: np.ndarray
    lag_s: np.ndarray
    p_value: np.ndarray
    session: SessionSynchrony = NO_SESSION


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
    streams = _streams(t_a, rr_a, t_b, rr_b, corrected)
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
    session = _session(*grid_pair(streams, settings), settings)
    return SynchronyTrace(times, index, raw, r_peak, lag, p, session)


def session_synchrony(
    t_a: np.ndarray,
    rr_a: np.ndarray,
    t_b: np.ndarray,
    rr_b: np.ndarray,
    settings: SynchronySettings = SynchronySettings(),
    corrected: bool = False,
) -> SessionSynchrony:
    """The session-level synchrony test of a whole session (SCIENCE.md §5).

    Lag searched once, as the maximum over +-``max_lag_s`` of the mean Fisher z of
    consecutive ``window_s`` segments; significance against the two series circularly
    rotated against each other by every grid step of ``min_offset_s`` ... ``history_s``
    (b's lag windows kept, a's segments re-cut; p from a Gumbel fit to the rotated
    statistics; at least ``n_surrogates`` rotations).
    The live :class:`dsp.dyad.session.SessionSynchronyEstimator` gives the same
    numbers over the same beats.

    Parameters
    ----------
    t_a, rr_a, t_b, rr_b, settings, corrected
        As for :func:`synchrony`: beat times (s) and RR (ms) of a and b, the method's
        parameters, and whether the RR are corrected already (else the live pipeline).

    Returns
    -------
    SessionSynchrony
        ``r``, ``ci_low``, ``ci_high``, ``p_value``, ``lag_s`` (> 0: b follows a) and
        ``n_segments``; NaN (0 segments) with less than about 3 minutes of both.
    """
    streams = _streams(t_a, rr_a, t_b, rr_b, corrected)
    return _session(*grid_pair(streams, settings), settings)


def _session(hr_a: np.ndarray, hr_b: np.ndarray, settings: SynchronySettings) -> SessionSynchrony:
    """The session test over both people's grid (:func:`grid_pair`)."""
    acc = SessionAccumulator(settings)
    acc.extend(hr_a, hr_b)
    return acc.result()


def _streams(t_a, rr_a, t_b, rr_b, corrected: bool) -> list[list[tuple]]:
    """Each person's ``(t, rr_ms, ok, gap_before)`` after the pipeline (or as given)."""
    streams = []
    for t, rr in ((t_a, rr_a), (t_b, rr_b)):
        t, rr = np.asarray(t, float), np.asarray(rr, float)
        if corrected:
            streams.append([(float(x), float(y), True, False) for x, y in zip(t, rr, strict=True)])
        else:
            streams.append(
                [(r.beat.t, r.beat.rr_ms, r.quality.ok, r.gap_before) for r in process(t, rr)]
            )
    return streams


def grid_pair(streams: list, settings: SynchronySettings) -> tuple[np.ndarray, np.ndarray]:
    """Both people's whole-session HR on the shared grid (batch only, vectorised).

    The same interpolation and the same missing-data rules as
    :class:`dsp.dyad.grid._Grid`.
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
