"""Pacer phase model: shape, continuity across changes, no drift over 10 minutes."""

import math

import numpy as np
import pytest

from dsp.breathing.pacer import Pacer, PacerSettings, round_rate, volumes


def test_settings_validate_rate_steps_and_holds():
    with pytest.raises(ValueError, match=r"steps of 0\.1"):
        PacerSettings(rate_per_min=6.05)
    with pytest.raises(ValueError, match="within 3-10"):
        PacerSettings(rate_per_min=12.0)
    with pytest.raises(ValueError, match="leave less than 1 s"):
        PacerSettings(rate_per_min=10.0, hold_in_s=3.0, hold_out_s=2.5)
    assert round_rate(5.46) == 5.5
    assert round_rate(1.0) == 3.0


def test_stages_follow_ratio_and_holds():
    s = PacerSettings(rate_per_min=5.0, inhale=4, exhale=6, hold_in_s=1.0, hold_out_s=1.0)
    assert s.stage_lengths_s() == pytest.approx((4.0, 1.0, 6.0, 1.0))
    p = Pacer(s, t0=100.0)
    assert p.state(100.0).stage == "inhale" and p.state(100.0).volume == 0.0
    assert p.state(102.0).volume == pytest.approx(0.5)
    assert p.state(104.5).stage == "hold_in" and p.state(104.5).volume == 1.0
    mid_exhale = p.state(108.0)
    assert mid_exhale.stage == "exhale" and mid_exhale.volume == pytest.approx(0.5)
    assert mid_exhale.stage_left_s == pytest.approx(3.0)
    assert p.state(111.5).stage == "hold_out"
    assert p.state(112.0).stage == "inhale"  # next breath
    t = np.linspace(100.0, 160.0, 997)
    assert volumes(p, t) == pytest.approx([p.state(x).volume for x in t], abs=1e-12)


def test_phase_is_continuous_across_rate_changes():
    p = Pacer(PacerSettings(rate_per_min=6.0), t0=0.0)
    t_change = 13.7
    before = p.state(t_change)
    p.set_rate(t_change, 4.5)
    after = p.state(t_change)
    assert after.cycles == pytest.approx(before.cycles, abs=1e-12)
    # the volume changes smoothly: no jump larger than the slope allows in 1 ms
    vols = [p.state(t_change + k * 1e-3).volume for k in range(5)]
    assert max(np.abs(np.diff(vols))) < 2e-3
    # after the change, breaths last 60 / 4.5 s
    onset = p.next_onset(t_change)
    assert p.next_onset(onset + 1e-6) - onset == pytest.approx(60.0 / 4.5)
    with pytest.raises(ValueError, match="before the last change"):
        p.set_rate(10.0, 5.0)


def test_no_drift_after_ten_minutes_of_frames():
    """Sample the pacer like a 60 fps widget with jittery frames; find inhale onsets."""
    rng = np.random.default_rng(3)
    t0 = 53_211.417  # a realistic LSL clock value
    rate = 5.5
    p = Pacer(PacerSettings(rate_per_min=rate), t0=t0)
    frames = t0 + np.cumsum(rng.uniform(0.012, 0.022, size=40_000))  # ~11 min
    cycles = np.array([p.state(t).cycles for t in frames])
    wraps = np.flatnonzero(np.diff(np.floor(cycles)) > 0) + 1
    # onset time by linear interpolation of the continuous breath count between frames
    k = np.floor(cycles[wraps])
    frac = (k - cycles[wraps - 1]) / (cycles[wraps] - cycles[wraps - 1])
    onsets = frames[wraps - 1] + frac * (frames[wraps] - frames[wraps - 1])
    ideal = t0 + k * 60.0 / rate
    assert frames[-1] - t0 > 600.0 and onsets[-1] - t0 > 600.0
    assert np.max(np.abs(onsets - ideal)) < 0.010
    assert math.isclose(p.next_onset(t0 + 600.0), t0 + 55 * 60.0 / rate, abs_tol=1e-9)
