"""Two simulated people at once: a leader ``a`` and a follower ``b``.

One recipe for the dyads of the synchrony tests and benchmarks: :func:`dyad_settings`
makes the pair, :func:`simulate_dyad` runs it. Both people have slow heart-rate
fluctuations of ``slow_bpm``; ``b`` differs from ``a`` (72 bpm, 14 breaths/min) and,
when ``r`` > 0, follows ``a``'s slow heart rate ``lag_s`` later, so that the two
people's heart rate correlates at ``r`` at that lag as the synchrony detector sees it
(SCIENCE.md §5; :func:`sensors.simulated.strap.follow_share`). ``r = 0`` gives an
independent pair.
"""

from collections.abc import Mapping
from typing import Any

import numpy as np

from sensors.simulated.settings import SimSettings
from sensors.simulated.strap import simulate

__all__ = ["DYAD_SLOW_BPM", "dyad_settings", "simulate_dyad"]

#: RMS of each person's slow heart-rate fluctuation in a simulated dyad, beats/min.
DYAD_SLOW_BPM = 6.0


def dyad_settings(
    seed_a: int,
    seed_b: int,
    r: float = 0.0,
    lag_s: float = 0.0,
    *,
    slow_bpm: float = DYAD_SLOW_BPM,
    a_opts: Mapping[str, Any] | None = None,
    b_opts: Mapping[str, Any] | None = None,
) -> tuple[SimSettings, SimSettings]:
    """Settings of a leader ``a`` and a follower ``b``.

    Parameters
    ----------
    seed_a, seed_b : int
        The two people's seeds.
    r : float
        The coupling: correlation of the two people's 4 Hz heart rate at ``lag_s``,
        every 30 s detrended, expected over the session; 0 = independent.
    lag_s : float
        How many seconds ``b``'s slow HR trails ``a``'s, s.
    slow_bpm : float
        RMS of each person's slow HR fluctuation, beats/min.
    a_opts, b_opts : mapping, optional
        Further :class:`SimSettings` fields of ``a`` and ``b`` (e.g. a scenario or
        ``artifact_rate``); they override the recipe's.

    Returns
    -------
    tuple of SimSettings
        ``(a, b)``.
    """
    a = SimSettings(**{"seed": seed_a, "slow_bpm": slow_bpm, "subject": "a", **(a_opts or {})})
    b = SimSettings(
        **{
            "seed": seed_b,
            "slow_bpm": slow_bpm,
            "r": r,
            "lag_s": lag_s,
            "partner": a if r > 0 else None,
            "subject": "b",
            "hr_bpm": 72.0,
            "breath_per_min": 14.0,
            **(b_opts or {}),
        }
    )
    return a, b


def simulate_dyad(
    pair: tuple[SimSettings, SimSettings], duration_s: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Beats of two people over ``duration_s``, both from time 0.

    Parameters
    ----------
    pair : tuple of SimSettings
        ``(a, b)``, usually from :func:`dyad_settings`.
    duration_s : float
        Session length, s.

    Returns
    -------
    tuple of numpy.ndarray
        ``(t_a_s, rr_a_ms, t_b_s, rr_b_ms)``: beat times (s) and RR intervals (ms) of
        ``a`` and ``b``, in the order :func:`dsp.synchrony.synchrony` takes them.
    """
    ra, rb = (simulate(settings, duration_s) for settings in pair)
    return ra["t_s"], ra["rr_ms"], rb["t_s"], rb["rr_ms"]
