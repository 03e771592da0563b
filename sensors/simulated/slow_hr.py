"""Slow heart-rate fluctuations of one person, and how a partner's can carry over.

The part of heart rate that moves with a person's state (mostly below 0.15 Hz) is what
dyad synchrony measures (SCIENCE.md §5). :class:`SlowHeartRate` is one person's, a
deterministic function of time from a seed; :func:`dyad_slow_bpm` mixes in the
partner's, ``lag_s`` earlier, with the share that gives the coupling r
(:func:`sensors.simulated.strap.follow_share`).
"""

import math
from collections.abc import Callable

import numpy as np

from sensors.simulated.settings import SimSettings

__all__ = ["SlowHeartRate", "dyad_slow_bpm"]


class SlowHeartRate:
    """A person's slow HR fluctuation: a deterministic random function of time.

    A cubic B-spline through independent standard-normal knots every ``KNOT_S``
    seconds (half power near 0.15 Hz), scaled to unit RMS. Not periodic, and a
    function of time from the seed alone: a partner can evaluate it at any moment,
    e.g. ``lag_s`` earlier, without sharing state. Knots come in seeded blocks, so only
    a few blocks are ever held; its own generators leave the strap's noise untouched.

    Parameters
    ----------
    seed : int
        The person's seed.
    """

    KNOT_S = 2.0
    BLOCK = 64
    #: RMS of a cubic B-spline through unit white knots.
    _RMS = math.sqrt(151.0 / 315.0)

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._blocks: dict[int, np.ndarray] = {}

    def _knot(self, k: int) -> float:
        block = k // self.BLOCK
        values = self._blocks.get(block)
        if values is None:
            rng = np.random.default_rng([self.seed, 0x5D7A, block + 2**20])
            values = rng.standard_normal(self.BLOCK)
            if len(self._blocks) >= 4:
                self._blocks.pop(next(iter(self._blocks)))
            self._blocks[block] = values
        return float(values[k - block * self.BLOCK])

    def __call__(self, t_s: float) -> float:
        """Unit-RMS value at ``t_s`` seconds since the session start."""
        x = t_s / self.KNOT_S
        k = math.floor(x)
        u = x - k
        w = (
            (1 - u) ** 3 / 6,
            (3 * u**3 - 6 * u**2 + 4) / 6,
            (-3 * u**3 + 3 * u**2 + 3 * u + 1) / 6,
            u**3 / 6,
        )
        value = sum(wi * self._knot(k - 1 + i) for i, wi in enumerate(w))
        return value / self._RMS


def dyad_slow_bpm(
    settings: SimSettings, own: SlowHeartRate, partner: SlowHeartRate | None, share: float = 0.0
) -> Callable[[float], float]:
    """Slow HR change of a person at time ``t`` (a function of t, beats/min).

    ``share`` (0-1) of its variance follows ``partner`` ``settings.lag_s`` later.
    """
    c = share if partner is not None else 0.0
    own_w, partner_w = math.sqrt(1.0 - c), math.sqrt(c)

    def slow(t: float) -> float:
        value = own_w * own(t)
        if partner is not None and c > 0:
            value += partner_w * partner(t - settings.lag_s)
        return settings.slow_bpm * value

    return slow
