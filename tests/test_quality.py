"""Signal quality: artifact rate, coverage and gaps over the trailing 30 s."""

import math

import pytest

from dsp.quality import QualitySettings, SignalQuality
from dsp.types import CorrectedBeat


def stream(quality, t0, n, rr=800.0, artifact_every=0, step=None):
    """Push ``n`` beats of ``rr`` ms; beats are ``step`` s apart (default rr).

    Every ``artifact_every``-th beat is a corrected premature beat: its raw interval was
    40 % short (it fails the plain 20 % rule, so it counts as an artifact).
    """
    t = t0
    out = None
    for k in range(n):
        t += (rr if step is None else step * 1000.0) / 1000.0
        flagged = artifact_every and k % artifact_every == 0
        raw = 0.6 * rr if flagged else rr
        out = quality.push(CorrectedBeat(t, rr, raw, "ectopic" if flagged else None))
    return t, out


def test_clean_stream_is_ok_with_coverage_one():
    q = SignalQuality()
    _, m = stream(q, 0.0, 100)
    assert m.ok and m.reason == ""
    assert m.artifact_rate == 0.0 and m.gap_s == 0.0
    assert m.coverage == pytest.approx(1.0, abs=1e-9)


def test_warm_up_is_not_ok_yet():
    q = SignalQuality()
    _, m = stream(q, 0.0, 4)
    assert not m.ok and "so far" in m.reason


def test_artifact_rate_over_30_s():
    q = SignalQuality()
    t, m = stream(q, 0.0, 100, artifact_every=5)
    assert m.artifact_rate == pytest.approx(0.2, abs=0.03)
    assert not m.ok and "artifacts" in m.reason
    _, m = stream(q, t, 40)  # 32 s clean: the artifacts leave the window
    assert m.artifact_rate == 0.0 and m.ok


def test_lost_and_duplicated_beats_show_in_coverage():
    q = SignalQuality()
    _, m = stream(q, 0.0, 60, rr=800.0, step=1.2)  # a third of the time is not covered
    assert m.coverage == pytest.approx(800 / 1200, rel=0.02)
    assert not m.ok and "lost" in m.reason
    q = SignalQuality()
    _, m = stream(q, 0.0, 60, rr=800.0, step=0.6)  # intervals overlap: duplicates
    assert m.coverage > 1.15 and "duplicated" in m.reason


def test_gaps_from_beats_and_from_the_engine():
    q = SignalQuality()
    t, _ = stream(q, 0.0, 50)
    m = q.push(CorrectedBeat(t + 7.8, 800.0, 800.0, None))  # 7 s nobody reported
    assert m.gap_s == pytest.approx(7.0, abs=1e-6) and not m.ok and "gap" in m.reason
    t += 7.8
    m = q.note_gap(t + 6.0)  # the engine sees no beats for 6 s
    assert m.gap_s == pytest.approx(7.0) and "gap" in m.reason
    t, m = stream(q, t + 6.0, 50)
    assert m.gap_s == 0.0 and m.ok  # 40 s later the window is clean again


def test_memory_is_bounded_and_settings_checked():
    q = SignalQuality()
    stream(q, 0.0, 5000, rr=300.0, step=0.1)  # far more beats than the window can hold
    assert len(q._t) == q._cap and q._tail - q._head <= q._cap
    with pytest.raises(ValueError):
        QualitySettings(coverage_range=(1.1, 1.2))
    with pytest.raises(ValueError):
        q.push(CorrectedBeat(math.nan, 800.0, 800.0, None))
    m = SignalQuality().push(CorrectedBeat(1.0, math.nan, math.nan, "invalid"))
    assert m.artifact_rate == 1.0 and not m.ok


def test_a_run_of_flagged_beats_counts_as_one_artifact():
    from dsp.quality import SignalQuality
    from dsp.types import CorrectedBeat

    quality = SignalQuality()
    t = 0.0
    flags = [None] * 10 + ["missed", "missed"] + [None] * 8 + ["ectopic", "long"] + [None] * 8
    raws = [1000.0] * 10 + [math.nan, 2000.0] + [1000.0] * 8 + [700.0, 1450.0] + [1000.0] * 8
    for flag, raw in zip(flags, raws, strict=True):
        t += 1.0
        metrics = quality.push(CorrectedBeat(t, 1000.0, raw, flag))
    assert metrics.artifact_rate == 2 / len(flags)  # two faults, four flagged beats


def test_flags_on_beats_that_pass_the_20_percent_rule_do_not_count():
    """When variability rises the adaptive detector may doubt real beats; a flagged beat
    whose raw interval is within 20 % of the previous interval costs no estimate."""
    quality = SignalQuality()
    t, rr = 0.0, 1000.0
    for k in range(40):
        t += rr / 1000.0
        doubted = k % 4 == 0  # 25 % of beats, each raw 10-15 % off its predecessor
        raw = rr * (1.15 if k % 8 == 0 else 0.9) if doubted else rr
        metrics = quality.push(CorrectedBeat(t, rr, raw, "long" if doubted else None))
    assert metrics.artifact_rate == 0.0 and metrics.ok
    t += 1.0  # a real fault still counts: a missed beat's raw interval is twice as long
    metrics = quality.push(CorrectedBeat(t, rr, 2 * rr, "missed"))
    assert metrics.artifact_rate > 0.0
