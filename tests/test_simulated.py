"""The simulated strap: deterministic, realistic, honest ground truth."""

import asyncio
import dataclasses

import numpy as np
import pytest

from sensors.simulated import (
    SimSettings,
    SimulatedSource,
    SimulatedStrap,
    settings_from_options,
    simulate,
)


def _segment(run, start_s, end_s):
    t, rr = run["t_s"], run["rr_ms"]
    keep = (t >= start_s) & (t < end_s)
    x = rr[keep]
    return 60000 / x.mean(), np.sqrt(np.mean(np.diff(x) ** 2))


def test_same_seed_same_series_other_seed_other_series():
    a = simulate(SimSettings(seed=4, artifact_rate=0.03), 300)
    b = simulate(SimSettings(seed=4, artifact_rate=0.03), 300)
    c = simulate(SimSettings(seed=5, artifact_rate=0.03), 300)
    np.testing.assert_array_equal(a["rr_ms"], b["rr_ms"])
    np.testing.assert_array_equal(a["t_s"], b["t_s"])
    assert a["truth"].artifacts == b["truth"].artifacts
    assert not np.array_equal(a["rr_ms"][:100], c["rr_ms"][:100])


def test_rest_is_realistic():
    hr, rmssd = _segment(simulate(SimSettings(seed=1), 600), 0, 600)
    assert 62 < hr < 68
    assert 20 < rmssd < 60


@pytest.mark.parametrize(
    ("scenario", "hr_change", "rmssd_ratio"),
    [("stress", 12, 0.6), ("vagal", 3, 0.6), ("low", -8, None), ("posture", 15, 0.5)],
)
def test_scenarios_move_hr_and_rmssd_as_claimed(scenario, hr_change, rmssd_ratio):
    changes, ratios = [], []
    for seed in range(6):
        run = simulate(SimSettings(seed=seed, scenario=scenario, onset_s=200, step_s=180), 400)
        hr0, v0 = _segment(run, 0, 200)
        hr1, v1 = _segment(run, 230, 380)
        changes.append(hr1 - hr0)
        ratios.append(v1 / v0)
    assert abs(np.mean(changes) - hr_change) < 1.5
    if rmssd_ratio is not None:
        assert abs(np.mean(ratios) - rmssd_ratio) < 0.1


def test_paced_breathing_at_resonance_raises_rsa():
    run = simulate(
        SimSettings(seed=3, scenario="paced", paced_per_min=5.5, onset_s=120, step_s=240), 360
    )
    t, rr = run["t_s"], run["rr_ms"]
    before = np.ptp(rr[(t > 30) & (t < 120)])
    during = np.ptp(rr[(t > 150) & (t < 360)])
    assert during > 1.5 * before


def test_dropout_loses_beats_for_the_gap():
    run = simulate(SimSettings(seed=2, scenario="dropout", onset_s=100, gap_s=10), 200)
    gaps = np.diff(run["t_s"])
    assert 9 < gaps.max() < 12
    assert np.sum(gaps > 3) == 1


def test_artifact_ground_truth_is_exact():
    run = simulate(SimSettings(seed=7, artifact_rate=0.05), 1200)
    truth, rr = run["truth"], run["rr_ms"]
    peaks = np.array(truth.peak_times_s)
    true_rr = np.diff(peaks) * 1000
    kinds = {i: k for i, k in truth.artifacts if i < rr.size - 1}
    assert len(kinds) > 30 and set(kinds.values()) == {"missed", "extra", "ectopic"}
    typical = np.median(true_rr)
    for index, kind in kinds.items():
        if kind == "missed":
            assert rr[index] > 1.6 * typical, (index, rr[index])
        elif kind == "extra":
            assert rr[index] < 0.75 * typical and rr[index + 1] < 0.75 * typical
            assert abs(rr[index] + rr[index + 1] - typical) < 0.3 * typical
        else:  # ectopic: premature, then compensatory
            assert rr[index] < 0.85 * typical and rr[index + 1] > 1.1 * typical
    sites = sorted(kinds)
    assert min(np.diff(sites)) >= 9 and sites[0] > 20
    clean = np.ones(rr.size, bool)
    for index in kinds:
        clean[index : index + 2] = False
    assert np.all(np.abs(rr[clean] - typical) < 0.4 * typical)


def test_notifications_are_one_per_second_with_0_to_3_rr():
    strap = SimulatedStrap(SimSettings(seed=1, hr_bpm=120))
    notes = [strap.next_notification() for _ in range(300)]
    arrivals = np.array([n.arrival_s for n in notes])
    assert np.allclose(np.diff(arrivals), 1.0, atol=0.5)
    counts = {len(n.rr_ms) for n in notes}
    assert counts <= {0, 1, 2, 3} and 2 in counts
    assert all(v * 1.024 == pytest.approx(round(v * 1.024)) for n in notes for v in n.rr_ms)


def test_source_streams_the_same_beats_as_simulate():
    settings = SimSettings(seed=9, artifact_rate=0.02)
    source = SimulatedSource(settings, speed=0, start_s=1000.0)

    async def collect():
        beats = []
        async for beat in source.beats():
            if beat.t > 1000 + 120:
                break
            beats.append(beat)
        return beats

    beats = asyncio.run(collect())
    offline = simulate(settings, 120, start_s=1000.0)
    n = min(len(beats), offline["rr_ms"].size)
    assert n > 100 and abs(len(beats) - offline["rr_ms"].size) <= 3
    np.testing.assert_array_equal([b.rr_ms for b in beats[:n]], offline["rr_ms"][:n])
    np.testing.assert_allclose([b.t for b in beats[:n]], offline["t_s"][:n])
    assert {b.subject for b in beats} == {"self"}


def test_options_are_parsed_and_bad_values_named():
    s = settings_from_options(
        {"scenario": "paced:6.5", "seed": "3", "hr": "70", "subject": "client"}
    )
    assert (s.scenario, s.paced_per_min, s.seed, s.hr_bpm, s.subject) == (
        "paced",
        6.5,
        3,
        70.0,
        "client",
    )
    with pytest.raises(ValueError, match="'fast'"):
        settings_from_options({"hr": "fast"})
    with pytest.raises(ValueError, match="unknown sim option 'colour'"):
        settings_from_options({"colour": "red"})
    with pytest.raises(ValueError, match=r"outside 0-0\.3"):
        dataclasses.replace(SimSettings(), artifact_rate=0.5)
    with pytest.raises(ValueError, match="outside 25-220"):
        dataclasses.replace(SimSettings(), hr_bpm=500)
    with pytest.raises(ValueError, match="speed"):
        SimulatedSource(SimSettings(), speed=-1)
