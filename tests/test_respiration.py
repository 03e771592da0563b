"""Breathing from chest acceleration (dsp/breathing/respiration.py) on simulated chest motion."""

import math

import numpy as np
import pytest

from dsp.breathing import coherence
from dsp.breathing.pacer import Pacer, PacerSettings, volumes
from dsp.breathing.respiration import RespirationMonitor, respiration_series
from sensors.virtual.signals import chest_acc_mg

FS = 50.0


def chest(rate, lag_s=0.0, dur_s=200.0, seed=0, **kw):
    """A person breathing at ``rate`` (raised-cosine 4:6 breaths when <= 10/min) ``lag_s``
    behind a pacer at the same rate; returns times, acceleration and that pacer."""
    t = np.arange(0.0, dur_s, 1.0 / FS)
    if rate <= 10:
        pacer = Pacer(PacerSettings(rate_per_min=rate))
        vol = volumes(pacer, t - lag_s)
    else:
        pacer = None
        vol = 0.5 - 0.5 * np.cos(2 * np.pi * rate / 60.0 * (t - lag_s))
    beats = np.arange(0.4, dur_s, 60.0 / 70.0)
    return t, chest_acc_mg(t, vol, beat_times_s=beats, seed=seed, **kw), pacer


def settled(updates, after_s=60.0):
    return [u for u in updates if u.quality == "ok" and u.t > after_s]


@pytest.mark.parametrize("rate", [4.0, 5.0, 6.0, 8.0, 10.0])
@pytest.mark.parametrize("lag_s", [0.0, 1.35, -1.3])
def test_rate_and_pacer_lag_on_paced_breathing(rate, lag_s):
    t, acc, pacer = chest(rate, lag_s, seed=int(rate * 10 + lag_s * 3))
    ok = settled(respiration_series(t, acc, FS, pacer=pacer))
    assert len(ok) > 100
    rate_err = max(abs(u.rate_per_min - rate) for u in ok)
    lag_err = max(abs(u.lag_s - lag_s) for u in ok)
    assert rate_err < 1.0, rate_err  # issue 18: within 1 breath/min
    assert lag_err < 0.5, lag_err  # issue 18: within 0.5 s
    threshold = max(0.5, 0.08 * 60 / rate)  # "following" within 8 % of a breath
    expected = "following" if abs(lag_s) <= threshold else "behind" if lag_s > 0 else "ahead"
    assert {u.following for u in ok} == {expected}


@pytest.mark.parametrize("rate", [12.0, 15.0, 20.0])
def test_rate_of_faster_unpaced_breathing(rate):
    t, acc, _ = chest(rate, seed=int(rate))
    ok = settled(respiration_series(t, acc, FS))
    assert len(ok) > 100
    assert max(abs(u.rate_per_min - rate) for u in ok) < 1.0
    assert all(u.following == "" and math.isnan(u.lag_s) for u in ok)


def test_phase_follows_the_breath():
    # a symmetric breath (5:5): its fundamental's trough is the inhale onset (with 4:6 the
    # fundamental sits ~0.05 breath earlier; the pacer comparison is immune to that, as
    # both sides are compared fundamental to fundamental)
    t = np.arange(0.0, 200.0, 1.0 / FS)
    pacer = Pacer(PacerSettings(rate_per_min=6.0, inhale=5.0, exhale=5.0))
    acc = chest_acc_mg(t, volumes(pacer, t))
    ok = settled(respiration_series(t, acc, FS, pacer=pacer))
    # the person breathes exactly with the pacer: phase = the pacer's phase
    err = [((u.phase - pacer.state(u.t).phase + 0.5) % 1.0) - 0.5 for u in ok]
    assert np.max(np.abs(err)) * 10.0 < 0.5  # seconds at 10 s per breath


def test_quality_flags_movement_posture_and_talking():
    dur = 320.0
    t = np.arange(0.0, dur, 1.0 / FS)
    pacer = Pacer(PacerSettings(rate_per_min=6.0))
    vol = volumes(pacer, t)
    rng = np.random.default_rng(3)
    talk = (t >= 220) & (t < 280)  # talking: quick shallow irregular breaths
    steps = rng.uniform(0.2, 0.9, int(talk.sum()))
    vol[talk] = 0.4 + 0.15 * np.sin(2 * np.pi * np.cumsum(steps) / FS)
    acc = chest_acc_mg(t, vol, postures=[(130.0, 60.0, 10.0)], bursts=[(80.0, 3.0, 200.0)])
    ups = respiration_series(t, acc, FS, pacer=pacer)
    by_t = {round(u.t): u.quality for u in ups}
    assert by_t[70] == "ok"
    assert all(by_t[s] == "movement" for s in range(82, 105))
    assert by_t[125] == "ok"
    assert by_t[132] == "posture" and by_t[150] == "posture"
    assert by_t[200] == "ok"
    assert sum(by_t[s] == "irregular" for s in range(240, 281)) > 30
    assert by_t[319] == "ok"


def test_online_equals_batch_bit_for_bit():
    t, acc, pacer = chest(5.5, 0.4, dur_s=150.0, postures=[(90.0, 40.0, 0.0)])
    batch = respiration_series(t, acc, FS, pacer=pacer)
    monitor = RespirationMonitor(FS)
    monitor.set_pacer(pacer)
    rng = np.random.default_rng(1)
    online, i = [], 0
    while i < t.size:
        n = int(rng.integers(1, 97))
        online += monitor.push(t[i : i + n], acc[i : i + n])
        i += n
    assert online == batch


@pytest.mark.parametrize("fs", [25.0, 100.0, 200.0])
def test_every_h10_rate_works(fs):
    t = np.arange(0.0, 150.0, 1.0 / fs)
    vol = 0.5 - 0.5 * np.cos(2 * np.pi * 0.15 * t)
    ok = settled(respiration_series(t, chest_acc_mg(t, vol), fs))
    assert ok and max(abs(u.rate_per_min - 9.0) for u in ok) < 1.0


def test_coherence_at_the_measured_rate():
    # RSA at 6/min plus a stronger Mayer wave at 0.1 Hz... here 0.08 Hz: the largest peak
    # is not the breath; centred on the breathing rate the peak band holds the RSA power
    t = np.cumsum(np.full(400, 0.8))
    rr = 800 + 30 * np.sin(2 * np.pi * 0.1 * t) + 60 * np.sin(2 * np.pi * 0.06 * t)
    free = coherence(t, rr)
    at_breath = coherence(t, rr, peak_hz=0.1)
    assert free["peak_hz"] == pytest.approx(0.06, abs=0.005)
    assert at_breath["peak_hz"] == 0.1
    assert at_breath["peak_fraction"] < free["peak_fraction"]
    assert at_breath["peak_fraction"] > 0.1
