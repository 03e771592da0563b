"""The simulated dyad's coupling is r (sensors/simulated, SCIENCE.md §5).

r is the correlation, at the true lag, of the two people's 4 Hz heart rate as the
synchrony detector sees it (every 30-s segment linearly detrended), over the session.
"""

import math

import numpy as np
import pytest

from dsp.dyad.types import SynchronySettings
from dsp.synchrony import grid_pair
from sensors.simulated import SimSettings, dyad_settings, simulate_dyad
from sensors.simulated.strap import follow_share, seen_variance


def realised_r(pair, lag_s, duration_s=900.0):
    """Pooled r of the detrended 30-s segments of a and of b ``lag_s`` later."""
    t_a, rr_a, t_b, rr_b = simulate_dyad(pair, duration_s)
    streams = [
        [(x, y, True, False) for x, y in zip(t, rr, strict=True)]
        for t, rr in ((t_a, rr_a), (t_b, rr_b))
    ]
    a, b = grid_pair(streams, SynchronySettings())
    w, m, lag = 120, 20, round(lag_s * 4)
    n = (a.size - 2 * m) // w
    i = np.arange(w)

    def detrended(x):
        return x - np.polyval(np.polyfit(i, x, 1), i)

    seg_a = np.stack([detrended(a[m + k * w : m + (k + 1) * w]) for k in range(n)])
    seg_b = np.stack([detrended(b[m + k * w + lag : m + (k + 1) * w + lag]) for k in range(n)])
    return float((seg_a * seg_b).sum() / math.sqrt((seg_a**2).sum() * (seg_b**2).sum()))


@pytest.mark.parametrize(("r", "lag_s"), [(0.0, 0.0), (0.3, 2.0), (0.75, 4.0)])
def test_the_simulator_produces_the_r_asked_for(r, lag_s):
    # One 15-min dyad's r scatters around the r asked for by about 0.05 (SD): any
    # 15-min correlation of slow signals does, r = 0 included. So: each dyad within
    # +-0.15 (3 SD), and the mean of four within +-0.05.
    got = [realised_r(dyad_settings(40 + s, 80 + s, r, lag_s), lag_s) for s in range(4)]
    assert all(abs(v - r) <= 0.15 for v in got), got
    assert np.mean(got) == pytest.approx(r, abs=0.05)


def test_the_share_follows_from_both_people_and_r_out_of_reach_is_refused():
    a, b = dyad_settings(1, 2)
    slow, other = seen_variance(a)
    assert slow == pytest.approx(0.70 * 36.0) and 3.0 < other < 6.0  # bpm^2
    assert seen_variance(b)[1] > other  # b breathes faster at a faster heart rate
    assert follow_share(0.0, a, b) == 0.0
    assert 0 < follow_share(0.3, a, b) < follow_share(0.75, a, b) < 1
    calm = SimSettings(seed=1, slow_bpm=6.0, rsa_ms=5.0, lf_ms=5.0, noise_ms=2.0)
    assert follow_share(0.75, calm, calm) < follow_share(0.75, a, b)  # less else to beat
    with pytest.raises(ValueError, match="at most"):
        follow_share(0.9, a, b)
