"""Breathing rate, coherence, peak-to-trough HR and the resonance estimates (dsp/breathing)."""

import math

import numpy as np
import pytest

from dsp.artifacts import correct_rr
from dsp.breathing import (
    breathing_rate,
    coherence,
    monitor_series,
    peak_to_trough,
    rank_rates,
    rate_estimates,
)
from dsp.breathing.pacer import Pacer, PacerSettings, volumes
from sensors.simulated import SimSettings, simulate


def rsa_beats(
    rate_per_min, duration_s=120.0, rsa_ms=40.0, noise_ms=5.0, seed=0, t0=1000.0, mean_ms=900.0
):
    """Beats whose RR follows a sinusoid at the breathing rate, plus white noise."""
    rng = np.random.default_rng(seed)
    t, rr = [t0], []
    while t[-1] < t0 + duration_s:
        r = mean_ms + rsa_ms * math.sin(2 * math.pi * rate_per_min / 60.0 * t[-1])
        r += noise_ms * rng.standard_normal()
        t.append(t[-1] + r / 1000.0)
        rr.append(r)
    return np.array(t[1:]), np.array(rr)


@pytest.mark.parametrize("rate", [4.5, 6.0, 7.3, 9.0, 12.0, 15.5, 18.0])
def test_breathing_rate_within_0_3_per_min(rate):
    t, rr = rsa_beats(rate, seed=int(rate * 10))
    assert abs(breathing_rate(t, rr) - rate) < 0.3


def test_breathing_rate_nan_when_unknown():
    t, rr = rsa_beats(6.0, duration_s=40.0)
    assert math.isnan(breathing_rate(t, rr))  # shorter than the 60 s window
    t, rr = rsa_beats(6.0)
    gaps = np.zeros(t.size, bool)
    gaps[-20] = True
    assert math.isnan(breathing_rate(t, rr, gaps))  # a gap inside the window
    # fast breathing is measured while it stays below HR / 2 (24/min at 66 bpm) ...
    t, rr = rsa_beats(24.0, mean_ms=900.0, rsa_ms=20.0)
    assert abs(breathing_rate(t, rr) - 24.0) < 0.3
    # ... above it (24/min at 40 bpm) the beats alias it to HR - rate = 16/min: a limit
    # of any beat-based estimate, documented in breathing_rate
    t, rr = rsa_beats(24.0, mean_ms=1500.0, rsa_ms=20.0)
    assert abs(breathing_rate(t, rr) - 16.0) < 0.3


def test_coherence_high_for_one_clean_peak_low_for_noise():
    t, rr = rsa_beats(6.0, noise_ms=3.0)
    clean = coherence(t, rr)
    assert clean["peak_hz"] == pytest.approx(0.1, abs=0.003)
    assert clean["peak_fraction"] > 0.8 and clean["ratio"] > 10.0
    rng = np.random.default_rng(1)
    rr = 900.0 + 40.0 * rng.standard_normal(200)
    t = 1000.0 + np.cumsum(rr) / 1000.0
    noisy = coherence(t, rr)
    assert noisy["peak_fraction"] < 0.3 and noisy["ratio"] < 0.2
    assert 0.0 <= noisy["peak_fraction"] <= 1.0
    # McCraty's ratio and the bounded fraction describe the same split of power
    f = clean["peak_fraction"]
    assert clean["ratio"] == pytest.approx((f / (1 - f)) ** 2)
    assert all(math.isnan(v) for v in coherence(t[:40], rr[:40]).values())


def test_peak_to_trough_of_a_known_oscillation():
    t, rr = rsa_beats(6.0, rsa_ms=50.0, noise_ms=0.0)
    edges = np.arange(1010.0, 1110.0, 10.0)
    ptt = peak_to_trough(t, rr, edges)
    hr_hi, hr_lo = 60000.0 / 850.0, 60000.0 / 950.0
    assert ptt == pytest.approx(np.full(edges.size - 1, hr_hi - hr_lo), rel=0.05)


def test_live_monitor_equals_batch_functions():
    t, rr = rsa_beats(7.0, duration_s=200.0, seed=4)
    gaps = np.zeros(t.size, bool)
    gaps[150] = True
    updates = monitor_series(t, rr, gaps)
    steps = [i for i, u in enumerate(updates) if u.updated]
    assert len(steps) >= 35  # every 5 s of stream time
    checked = 0
    for i in steps:
        lo = np.searchsorted(t, t[i] - 70.0, side="left")
        sl = slice(lo, i + 1)
        want_rate = breathing_rate(t[sl], rr[sl], gaps[sl])
        want = coherence(t[sl], rr[sl], gaps[sl])
        assert updates[i].rate_per_min == pytest.approx(want_rate, nan_ok=True, abs=0)
        assert updates[i].coherence == pytest.approx(want, nan_ok=True, abs=0)
        checked += not math.isnan(want_rate)
    assert checked >= 12  # not before 60 s nor while the gap is in the window
    # peak-to-trough per breath: about the oscillation's size once the rate is known
    ptt = np.array([u.breath_ptt_bpm for u in updates])
    assert np.nanmedian(ptt) == pytest.approx(60000 / 860 - 60000 / 940, rel=0.3)


def test_monitor_counts_breaths_by_the_pacer():
    pacer = Pacer(PacerSettings(rate_per_min=6.0), t0=1000.0)
    t, rr = rsa_beats(6.0, duration_s=100.0)
    cycles = np.array([pacer.cycles_at(x) for x in t])
    ptt = [u.breath_ptt_bpm for u in monitor_series(t, rr, cycles=cycles)]
    assert np.count_nonzero(np.isfinite(ptt)) == int(cycles[-1]) - int(cycles[0])


def test_rate_estimates_phase_and_power_at_the_pacer_frequency():
    pacer = Pacer(PacerSettings(rate_per_min=6.0, inhale=1, exhale=1), t0=1000.0)
    # HR in phase with lung volume: RR shortest at full lungs
    rng = np.random.default_rng(2)
    t, rr = [1000.0], []
    while t[-1] < 1120.0:
        mid = t[-1] + 0.45
        r = 900.0 - 40.0 * (2 * volumes(pacer, [mid])[0] - 1) + 3 * rng.standard_normal()
        t.append(t[-1] + r / 1000.0)
        rr.append(r)
    t, rr = np.array(t[1:]), np.array(rr)
    est = rate_estimates(t, rr, 6.0, lambda tt: volumes(pacer, tt))
    assert est["power_ms2"] == pytest.approx(40.0**2 / 2, rel=0.1)
    assert abs(est["phase_deg"]) < 10.0
    assert est["peak_fraction"] > 0.8
    assert est["lf_peak_hz"] == pytest.approx(0.1, abs=0.005)
    assert est["duration_s"] > 110.0
    short = rate_estimates(t[:20], rr[:20], 6.0)
    assert math.isnan(short["power_ms2"])


def _assess(seed, resonance=5.5, rates=(6.5, 6.0, 5.5, 5.0, 4.5), step_s=120.0):
    """The protocol offline: a simulated person follows the pacer through the rates."""
    start = 10.0
    pacer = Pacer(PacerSettings(rate_per_min=rates[0]), t0=start)
    stages = []
    for i, rate in enumerate(rates):
        if i:
            pacer.set_rate(start + i * step_s, rate)
        stages.append(pacer.copy())

    def follow(t):
        if t < start:
            return None
        state = stages[min(int((t - start) // step_s), len(rates) - 1)].state(t)
        return state.rate_per_min, state.volume

    # slow breathing entrains the baroreflex: little separate Mayer-wave power (lf 10 ms)
    settings = SimSettings(seed=seed, resonance_per_min=resonance, lf_ms=10.0)
    d = simulate(settings, start + len(rates) * step_s + 5.0, follow=follow)
    t, (rr, _) = d["t_s"], correct_rr(d["rr_ms"])
    estimates = []
    for i, (rate, stage) in enumerate(zip(rates, stages, strict=True)):
        sel = (t >= start + i * step_s + 20.0) & (t < start + (i + 1) * step_s)
        estimates.append(rate_estimates(t[sel], rr[sel], rate, lambda x, s=stage: volumes(s, x)))
    return rank_rates(estimates)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_resonance_assessment_ranks_the_simulated_resonance_first(seed):
    ranking = _assess(seed)
    assert ranking[0]["rate_per_min"] == 5.5
    assert [r["rank"] for r in ranking] == [1, 2, 3, 4, 5]
    best = ranking[0]
    assert abs(best["phase_deg"]) < 10.0
    assert best["peak_to_trough_bpm"] > ranking[-1]["peak_to_trough_bpm"]


def test_rank_rates_scores_each_criterion():
    est = [
        {
            "rate_per_min": 6.0,
            "peak_to_trough_bpm": 10.0,
            "lf_peak_ms2_hz": 100.0,
            "phase_deg": 45.0,
            "peak_fraction": 0.9,
        },
        {
            "rate_per_min": 5.0,
            "peak_to_trough_bpm": 12.0,
            "lf_peak_ms2_hz": 200.0,
            "phase_deg": 0.0,
            "peak_fraction": 0.9,
        },
        {
            "rate_per_min": 4.5,
            "peak_to_trough_bpm": math.nan,
            "lf_peak_ms2_hz": math.nan,
            "phase_deg": math.nan,
            "peak_fraction": math.nan,
        },
    ]
    ranking = rank_rates(est)
    assert [r["rate_per_min"] for r in ranking] == [5.0, 6.0, 4.5]
    assert ranking[0]["score"] == pytest.approx((1 + 1 + 1 + 0.9) / 4)
    assert ranking[1]["score"] == pytest.approx((10 / 12 + 0.5 + 0.5 + 0.9) / 4)
    assert ranking[2]["score"] == 0.0
