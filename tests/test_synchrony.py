"""Synchrony of two people's heart rates (dsp/synchrony.py, SCIENCE.md §5).

Seeded simulated dyads with known coupling and lag; a few seeds here, many in
``python -m bench.synchrony``.
"""

import math

import numpy as np
import pytest

from dsp.dyad.estimator import SynchronyEstimator, _detrend_unit, _sliding_dot
from dsp.dyad.grid import _Grid
from dsp.dyad.types import SynchronySettings
from dsp.synchrony import synchrony
from sensors.simulated import (
    SimSettings,
    SlowHeartRate,
    dyad_settings,
    dyad_slow_bpm,
    simulate_dyad,
)

#: Seeds of the leader a and the follower b of pair ``seed`` are these plus ``seed``.
SEED_A, SEED_B = 100, 500


def dyad(seed, r=0.0, lag_s=0.0, duration_s=900.0, **opts):
    """Pair ``seed``: b follows a, coupled at ``r`` with ``lag_s`` (dyad_settings)."""
    return simulate_dyad(dyad_settings(SEED_A + seed, SEED_B + seed, r, lag_s, **opts), duration_s)


def significant_fraction(trace):
    ok = np.isfinite(trace.index)
    assert ok.sum() > 0.5 * trace.index.size, "too few estimates"
    return float(np.mean(trace.index[ok] >= 0.95))


def test_grid_norms_and_sliding_dot_give_pearson_r_of_detrended_windows():
    rng = np.random.default_rng(1)
    x = 70 + np.cumsum(rng.standard_normal(400)) + 0.05 * np.arange(400)
    fixed = rng.standard_normal(120) + 0.1 * np.arange(120)
    x[250] = np.nan
    grid = _Grid(capacity=160, window=120, lag=3, settings=SynchronySettings())
    grid.end = grid.start = 0
    grid.ref = x[0]
    for chunk in np.array_split(x, 37):  # the buffer fills and shifts on the way
        grid._write(chunk.tolist())
    lo = grid.start
    assert lo > 0
    held = x[lo:]
    r = _sliding_dot(_detrend_unit(fixed)[None], [grid.filled[: held.size]])[0]
    r *= grid.inv_norm[: r.size]
    i = np.arange(120)
    for start in range(r.size):
        w = held[start : start + 120]
        if np.isnan(w).any():
            assert np.isnan(r[start])
            continue
        resid_w = w - np.polyval(np.polyfit(i, w, 1), i)
        resid_f = fixed - np.polyval(np.polyfit(i, fixed, 1), i)
        assert r[start] == pytest.approx(np.corrcoef(resid_w, resid_f)[0, 1], abs=1e-9)
    # a lag-search centre needs every window within 3 samples either side
    finite = np.isfinite(grid.inv_norm[: r.size])
    for c in range(r.size):
        expected = 3 <= c < r.size - 3 and finite[c - 3 : c + 4].all()
        assert grid.centre_ok[c] == expected


def test_slow_heart_rate_is_a_unit_function_of_time_and_the_share_sets_correlation():
    slow = SlowHeartRate(7)
    t = np.arange(0, 3000, 0.5)
    x = np.array([slow(v) for v in t])
    assert x.std() == pytest.approx(1.0, abs=0.1)
    assert slow(123.4) == SlowHeartRate(7)(123.4)  # deterministic, no shared state
    follower = dyad_slow_bpm(
        SimSettings(seed=2, slow_bpm=1.0, lag_s=2.0), SlowHeartRate(2), SlowHeartRate(7), 0.49
    )
    y = np.array([follower(v) for v in t])
    lagged = np.array([slow(v - 2.0) for v in t])
    assert np.corrcoef(y, lagged)[0, 1] == pytest.approx(0.7, abs=0.08)


def test_online_equals_batch_in_any_arrival_order():
    t_a, rr_a, t_b, rr_b = dyad(3, r=0.5, lag_s=2.0, duration_s=330.0)
    trace = synchrony(t_a, rr_a, t_b, rr_b, corrected=True)
    est = SynchronyEstimator()
    online = []
    # beats arrive in 20-s bursts, a before b (two sources on one loop)
    for start in np.arange(0, 340, 20.0):
        for which, (t, rr) in enumerate(((t_a, rr_a), (t_b, rr_b))):
            sel = (t >= start) & (t < start + 20)
            for x, y in zip(t[sel], rr[sel], strict=True):
                online.extend(est.push(which, float(x), float(y)))
    assert len(online) == trace.times.size
    np.testing.assert_array_equal([e.t for e in online], trace.times)
    np.testing.assert_array_equal([e.index for e in online], trace.index)
    np.testing.assert_array_equal([e.lag_s for e in online], trace.lag_s)
    np.testing.assert_array_equal([e.p_value for e in online], trace.p_value)
    assert np.isfinite(trace.index).sum() > 100  # estimates after the 180-s warm-up


def test_independent_pairs_rarely_cross_the_significance_line():
    # One session's excursions last tens of seconds (overlapping windows, smoothing),
    # so the rate is judged over several pairs pooled; 20 pairs in bench/synchrony.py.
    indices = [synchrony(*dyad(seed, duration_s=720.0)).index for seed in range(4)]
    pooled = np.concatenate([i[np.isfinite(i)] for i in indices])
    assert pooled.size > 4 * 500
    assert np.mean(pooled >= 0.95) <= 0.08


def test_same_fixed_breathing_rate_is_not_synchrony():
    paced = {"scenario": "paced", "onset_s": 0.0, "step_s": 1e6, "paced_per_min": 6.0}
    t_a, rr_a, t_b, rr_b = dyad(4, duration_s=720.0, a_opts=paced, b_opts=paced)
    trace = synchrony(t_a, rr_a, t_b, rr_b)
    assert significant_fraction(trace) <= 0.08
    # while plain correlation is high: the same 0.1 Hz rhythm in both
    assert np.nanmedian(trace.r_peak) > 0.5


@pytest.mark.parametrize("lag_s", [0.0, 2.0, 4.0])
def test_pairs_coupled_at_r_075_are_detected_with_their_lag(lag_s):
    # pooled over three pairs: one 10-min pair's realised r scatters by about +-0.03
    traces = [synchrony(*dyad(seed, r=0.75, lag_s=lag_s, duration_s=600.0)) for seed in (5, 6, 7)]
    index = np.concatenate([tr.index for tr in traces])
    lags = np.concatenate([tr.lag_s for tr in traces])
    ok = np.isfinite(index)
    assert ok.sum() > 1000
    assert np.mean(index[ok] >= 0.95) >= 0.85  # 95-97 % pooled over 20 pairs (bench)
    assert np.median(lags[index >= 0.95]) == pytest.approx(lag_s, abs=0.5)


def test_lag_sign_a_follows_b_is_negative():
    t_a, rr_a, t_b, rr_b = dyad(6, r=0.75, lag_s=3.0, duration_s=600.0)
    trace = synchrony(t_b, rr_b, t_a, rr_a)  # swapped: now a (the leader) is "b"
    sig = trace.index >= 0.95
    assert sig.sum() > 100
    assert np.median(trace.lag_s[sig]) == pytest.approx(-3.0, abs=0.5)


def test_artifacts_on_one_side_do_not_create_synchrony():
    trace = synchrony(*dyad(7, duration_s=720.0, b_opts={"artifact_rate": 0.03}))
    assert significant_fraction(trace) <= 0.08


def test_a_gap_pauses_and_the_estimate_resumes():
    drop = {"scenario": "dropout", "onset_s": 400.0, "gap_s": 10.0}
    trace = synchrony(*dyad(8, r=0.75, lag_s=1.0, duration_s=600.0, b_opts=drop))
    t = trace.times - trace.times[0]
    before = (t > 250) & (t < 395)
    during = (t > 405) & (t < 430)  # windows that hold the hole
    after = t > 520
    assert np.isfinite(trace.index[before]).all()
    assert np.isnan(trace.index[during]).all()  # "no estimate", never 0
    assert np.isfinite(trace.index[after]).all()
    assert np.mean(trace.index[after] >= 0.95) >= 0.85


def test_a_gap_longer_than_the_buffers_pauses_and_resumes():
    settings = SynchronySettings(n_surrogates=20, history_s=200, min_history_s=150)
    est = SynchronyEstimator(settings)
    out = []
    for t in np.arange(0.0, 1400.0, 0.8):
        out.extend(est.push(0, t, 800.0 + 30 * math.sin(t)))
        if not 300 <= t < 1100:  # b is silent for 800 s, longer than the buffers
            out.extend(est.push(1, t + 0.1, 800.0 + 30 * math.cos(0.7 * t)))
    by_t = {round(e.t): e for e in out}
    assert by_t[290].estimated
    assert not any(by_t[k].estimated for k in range(300, 1136))
    # once the window and its lags have passed the hole; b's past is all missing, so
    # the surrogates come from a's past only for a while
    resumed = [by_t[k] for k in range(1145, 1399)]
    assert all(e.estimated and e.n_surrogates == 20 for e in resumed)


def test_poor_signal_pauses():
    t_a, rr_a, t_b, rr_b = dyad(9, duration_s=300.0)
    est = SynchronyEstimator()
    out = []
    for x, y in zip(t_a, rr_a, strict=True):
        out.extend(est.push(0, float(x), float(y)))
    for x, y in zip(t_b, rr_b, strict=True):
        out.extend(est.push(1, float(x), float(y), ok=not 250 < x < 260))
    by_t = {round(e.t): e for e in out}
    assert by_t[240].estimated
    assert not any(by_t[k].estimated for k in range(262, 285))


def test_memory_is_bounded():
    import tracemalloc

    settings = SynchronySettings(n_surrogates=20, history_s=200, min_history_s=150)
    est = SynchronyEstimator(settings)
    t = 0.0
    tracemalloc.start()
    try:
        used = []
        for _ in range(4):  # 400 s each: twice the history per round
            for _ in range(500):
                t += 0.8
                est.push(0, t, 800.0 + 30 * math.sin(t))
                est.push(1, t + 0.1, 800.0 + 30 * math.cos(0.7 * t))
            used.append(tracemalloc.get_traced_memory()[0])
    finally:
        tracemalloc.stop()
    assert used[-1] - used[1] < 20_000  # bytes: nothing grows with the session
    assert est.latest is not None and est.latest.estimated


def test_each_surrogate_is_smoothed_along_one_fixed_time_shift():
    # The surrogate for shift d is the EWMA, step by step, of the peak z of a's current
    # window against b's window d earlier: computed here directly with np.corrcoef.
    t_a, rr_a, t_b, rr_b = dyad(11, duration_s=330.0)
    settings = SynchronySettings()
    est = SynchronyEstimator(settings)
    beats = sorted(
        [(x, 0, y) for x, y in zip(t_a, rr_a, strict=True)]
        + [(x, 1, y) for x, y in zip(t_b, rr_b, strict=True)]
    )
    d, w, m = 300, 120, 20  # shift 75 s; window and lag range in samples
    alpha = 1 - math.exp(-settings.step_s / settings.ewma_tau_s)
    expected, checked = math.nan, 0
    hr_a = np.interp(np.arange(0, 1400) / 4, t_a, 60000 / rr_a)
    hr_b = np.interp(np.arange(0, 1400) / 4, t_b, 60000 / rr_b)
    i = np.arange(w)

    def detrended(x):
        return x - np.polyval(np.polyfit(i, x, 1), i)

    for x, which, y in beats:
        out = est.push(which, float(x), float(y))
        for e in out:
            cur = round(e.t * 4) - m - w  # a's current window starts here
            if cur - d - m < round(t_b[0] * 4) + 1:
                continue
            a_win = detrended(hr_a[cur : cur + w])
            peak = max(
                np.corrcoef(a_win, detrended(hr_b[cur - d + k : cur - d + k + w]))[0, 1]
                for k in range(-m, m + 1)
            )
            z = math.atanh(peak)
            expected = z if math.isnan(expected) else expected + alpha * (z - expected)
            if e is out[-1]:  # the estimator holds the newest step's values
                assert est._z_shift[0][d] == pytest.approx(z, abs=1e-6)
                assert est._ez_shift[0][d] == pytest.approx(expected, abs=1e-6)
                checked += 1
    assert checked > 100
