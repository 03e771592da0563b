"""A pipeline whose HRV is computed in advance gives the live pipeline's results exactly."""

import numpy as np
import pytest

from dsp.arousal import calibrate
from dsp.pipeline import SubjectPipeline
from dsp.pipeline_batch import corrected_stream, precomputed_pipeline
from dsp.types import Beat
from sensors.simulated import SimSettings, simulate


def _raw(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A stressed, artifact-laden stream with a dropout, invalid values and a second gap."""
    sim = simulate(
        SimSettings(
            seed=seed, scenario="dropout", onset_s=600, gap_s=12, artifact_rate=0.03, noise_ms=15
        ),
        1800,
    )
    t, rr = sim["t_s"].copy(), sim["rr_ms"].copy()
    rng = np.random.default_rng(seed)
    bad = rng.choice(np.arange(50, t.size - 50), 6, replace=False)
    rr[bad[:3]] = np.nan
    rr[bad[3:]] = [0.0, -5.0, 9000.0]
    keep = np.ones(t.size, bool)
    keep[1200:1215] = False  # lost notifications: a second gap
    return t[keep], rr[keep]


def _run(pipeline: SubjectPipeline, t: np.ndarray, rr: np.ndarray, paced: np.ndarray) -> list:
    out = []
    for ti, ri, p in zip(t.tolist(), rr.tolist(), paced.tolist(), strict=True):
        pipeline.paced = p
        out.extend(pipeline.push(Beat("x", ti, ri, None, None, "test")))
    return out + pipeline.flush()


@pytest.mark.parametrize("seed", [3, 4])
def test_precomputed_hrv_equals_the_live_pipeline(seed):
    t, rr = _raw(seed)
    rest = simulate(SimSettings(seed=21), 420)
    baseline = calibrate(rest["t_s"], rest["rr_ms"])
    paced = np.zeros(t.size, bool)
    paced[300:500] = True
    live = _run(SubjectPipeline("x", baseline=baseline), t, rr, paced)
    batch = _run(precomputed_pipeline("x", t, rr, baseline=baseline), t, rr, paced)
    assert sum(r.gap_before for r in live) >= 2
    assert {r.beat.artifact for r in live} >= {None, "invalid", "ectopic"}
    assert any(np.isfinite(r.hrv.hf_ms2) for r in live)
    assert len(batch) == len(live)
    for a, b in zip(live, batch, strict=True):
        assert repr(a) == repr(b)  # NaN-safe: every field of every stage


def test_corrected_stream_flags_the_first_beat_after_each_gap():
    t, rr = _raw(5)
    beats, gap = corrected_stream(t, rr)
    live = _run(SubjectPipeline("x"), t, rr, np.zeros(t.size, bool))
    assert repr([r.beat for r in live]) == repr(beats)  # NaN-safe
    assert [r.gap_before for r in live] == gap.tolist()


def test_a_stream_that_leaves_the_table_is_refused():
    t, rr = _raw(6)
    pipeline = precomputed_pipeline("x", t[:400], rr[:400])
    with pytest.raises(ValueError, match="HRV table"):
        _run(pipeline, t[100:], rr[100:], np.zeros(t.size - 100, bool))
