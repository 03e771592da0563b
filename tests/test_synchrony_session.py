"""The session-level synchrony test (dsp/dyad/session.py, SCIENCE.md §5).

Seeded simulated dyads; the calibration over 2 x 300 sessions per condition is in
``python -m bench.synchrony_session`` (docs/synchrony.md).
"""

import math

import numpy as np
import pytest

from dsp.dyad.session import SessionAccumulator, SessionSynchronyEstimator, gumbel_p
from dsp.dyad.types import SynchronySettings
from dsp.synchrony import grid_pair, session_synchrony
from sensors.simulated import dyad_settings, simulate_dyad

SEED_A, SEED_B = 300, 700


def dyad(seed, r=0.0, lag_s=0.0, duration_s=600.0, **opts):
    """Pair ``seed``: b follows a, coupled at ``r`` with ``lag_s``."""
    return simulate_dyad(dyad_settings(SEED_A + seed, SEED_B + seed, r, lag_s, **opts), duration_s)


def brute_force(hr_a, hr_b, settings):
    """The test written out: np.roll of a for each rotation, np.corrcoef for each window."""
    fs = settings.fs_hz
    w, m = round(settings.window_s * fs), round(settings.max_lag_s * fs)
    n = (min(hr_a.size, hr_b.size) - 2 * m) // w
    size = n * w + 2 * m
    a, b = hr_a[:size], hr_b[:size]
    i = np.arange(w)

    def detrended(x):
        return x - np.polyval(np.polyfit(i, x, 1), i)

    used = []  # segments: b's 41 lag windows, detrended
    for k in range(n):
        seg, ctx = a[m + k * w : m + (k + 1) * w], b[k * w : k * w + w + 2 * m]
        if np.isfinite(seg).all() and np.isfinite(ctx).all():
            used.append((k, np.array([detrended(ctx[j : j + w]) for j in range(2 * m + 1)])))

    def mean_z(partner, rotation=0):
        z, count = np.zeros(2 * m + 1), 0
        for k, lags in used:
            seg = partner[m + k * w : m + (k + 1) * w]
            if m + k * w < rotation < m + (k + 1) * w or not np.isfinite(seg).all():
                continue  # this segment of a straddles the join of the rotated series
            z += np.arctanh(np.corrcoef(detrended(seg), lags)[0, 1:])
            count += 1
        return z / max(count, 1), count

    observed, count = mean_z(a)
    r0 = round(settings.min_offset_s * fs)
    top = min(size - r0, round(settings.history_s * fs))
    surr = []
    for s in range(r0, top + 1):
        z, c = mean_z(np.roll(a, s), s)
        if c >= 3:
            surr.append(z.max())
    best = int(np.argmax(observed))
    surr = np.array(surr)
    beta = surr.std(ddof=1) * math.sqrt(6) / math.pi
    loc = surr.mean() - 0.5772156649015329 * beta
    p = 1 - math.exp(-math.exp(-(observed[best] - loc) / beta))
    return math.tanh(observed[best]), p, (best - m) / fs, count, surr.size


def test_the_incremental_test_equals_the_test_written_out():
    # a short longest rotation (75 s) so that most segments take the incremental path
    settings = SynchronySettings(n_surrogates=20, history_s=75.0, min_history_s=60.0)
    t_a, rr_a, t_b, rr_b = dyad(1, r=0.4, lag_s=2.0, duration_s=660.0)
    streams = [
        [(x, y, True, False) for x, y in zip(t, rr, strict=True)]
        for t, rr in ((t_a, rr_a), (t_b, rr_b))
    ]
    hr_a, hr_b = grid_pair(streams, settings)
    hr_b[1000:1030] = np.nan  # a hole: segments and rotations that meet it are left out
    acc = SessionAccumulator(settings)
    acc.extend(hr_a, hr_b)
    result = acc.result()
    r, p, lag, count, rotations = brute_force(hr_a, hr_b, settings)
    assert result.n_segments == count < (hr_a.size - 40) // 120
    assert rotations == 61  # every grid step from 60 s to 75 s
    assert result.r == pytest.approx(r, abs=1e-9)
    assert result.p_value == pytest.approx(p, rel=1e-6)
    assert 0 < p < 0.05  # r = 0.4 over 11 minutes
    assert result.lag_s == lag


def test_online_equals_batch_in_any_arrival_order():
    drop = {"scenario": "dropout", "onset_s": 300.0, "gap_s": 10.0}
    t_a, rr_a, t_b, rr_b = dyad(
        2, r=0.4, lag_s=1.0, duration_s=720.0, b_opts={"artifact_rate": 0.03, **drop}
    )
    batch = session_synchrony(t_a, rr_a, t_b, rr_b)  # raw RR through the pipelines
    from dsp.pipeline import process

    results = [list(process(t, rr)) for t, rr in ((t_a, rr_a), (t_b, rr_b))]
    est = SessionSynchronyEstimator()
    updates = []
    # beats arrive in 20-s bursts, b before a (two sources on one loop)
    for start in np.arange(0, 740, 20.0):
        for which in (1, 0):
            for res in results[which]:
                if start <= res.beat.t < start + 20:
                    new = est.push(
                        which, res.beat.t, res.beat.rr_ms, res.quality.ok, res.gap_before
                    )
                    if new is not None:
                        updates.append(new)
    assert est.latest == batch  # every field, bit for bit
    assert batch.estimated and batch.n_segments >= 18
    assert len(updates) >= 20  # one per completed 30-s segment
    assert not updates[0].estimated and updates[-1] == batch  # none in the first minutes


def test_independent_sessions_are_rarely_significant():
    p = [
        session_synchrony(*dyad(seed, duration_s=300.0), corrected=True).p_value
        for seed in range(20)
    ]
    assert all(0 < v <= 1 for v in p)
    assert sum(v <= 0.05 for v in p) <= 3  # 2.9 % over 1,200 sessions (bench)


@pytest.mark.parametrize(("r", "duration_s"), [(0.3, 600.0), (0.4, 300.0)])
def test_coupled_sessions_are_detected_with_their_lag_and_r(r, duration_s):
    found = [
        session_synchrony(
            *dyad(seed, r=r, lag_s=2.0 * (seed % 3), duration_s=duration_s), corrected=True
        )
        for seed in range(10)
    ]
    assert sum(f.p_value <= 0.05 for f in found) >= 8  # 93.5 / 90.5 % over 1,200 (bench)
    lags = np.array([f.lag_s for f in found]) - 2.0 * (np.arange(10) % 3)
    assert np.mean(np.abs(lags) <= 0.5) >= 0.7
    assert sum(f.ci_low <= r <= f.ci_high for f in found) >= 8
    assert np.median([f.r for f in found]) == pytest.approx(r, abs=0.1)


def test_too_short_gives_no_result_and_memory_is_bounded():
    import tracemalloc

    est = SessionSynchronyEstimator()
    t = 0.0
    assert not est.latest.estimated and math.isnan(est.latest.r) and est.latest.n_segments == 0
    tracemalloc.start()
    try:
        used = []
        for _ in range(4):  # 20 min each
            for _ in range(1500):
                t += 0.8
                est.push(0, t, 800.0 + 30 * math.sin(0.3 * t) + 10 * math.sin(1.1 * t))
                est.push(1, t + 0.1, 800.0 + 30 * math.cos(0.2 * t))
            used.append(tracemalloc.get_traced_memory()[0])
    finally:
        tracemalloc.stop()
    assert est.latest.estimated and est.latest.n_segments > 150
    assert used[-1] - used[1] < 50_000  # bytes: nothing grows with the session


def test_the_gumbel_tail_matches_gumbel_samples_and_ranks_like_a_count():
    rng = np.random.default_rng(5)
    null = rng.gumbel(0.1, 0.04, 20_000)
    for q in (0.5, 0.9, 0.95, 0.99):  # the fitted tail at the null's own quantiles
        assert gumbel_p(float(np.quantile(null, q)), null) == pytest.approx(1 - q, abs=0.005)
    # a maximum over 41 correlated lags (a moving average of 10), as the session test's
    noise = rng.standard_normal((4000, 50)).cumsum(axis=1)
    maxima = (noise[:, 9:] - np.pad(noise, ((0, 0), (1, 0)))[:, :41]).max(axis=1)
    at = np.quantile(maxima, 0.95)
    assert 0.05 <= gumbel_p(float(at), maxima) < 0.07  # on the safe side: 0.062
    assert gumbel_p(10.0, null) < 1e-12 < gumbel_p(0.3, null) < gumbel_p(0.1, null) < 1
    assert gumbel_p(0.2, np.full(50, 0.1)) == 0.0  # no spread: beyond is certain
