"""The breathing session on a real engine: pacer stream, paced flag, feedback, assessment."""

import asyncio
import json
import math
import subprocess
import sys

import numpy as np
import pytest

from app.breathing.session import (
    CHALLENGES,
    BreathingSession,
    coherence_level,
    fraction_threshold,
    resonance_rate,
    with_resonance,
)
from app.engine import Engine
from app.profiles import Profile, ProfileStore
from app.streams.specs import PACER
from dsp.breathing.pacer import Pacer, PacerSettings
from sensors.simulated import SimSettings, SimulatedSource


class Capture:
    """A sink that keeps what the engine hands it."""

    def __init__(self):
        self.samples, self.events, self.markers, self.beats = [], [], [], 0

    def write(self, result):
        self.beats += 1

    def write_sample(self, spec, subject, t, values):
        self.samples.append((spec, subject, t, tuple(values)))

    def write_event(self, t, event):
        self.events.append(event)

    def write_marker(self, t, text):
        self.markers.append(text)

    def status(self, subject, source, status):
        pass

    def close(self):
        pass


def _engine(**sim):
    source = SimulatedSource(SimSettings(**sim), speed=0, start_s=1000.0)
    capture = Capture()
    engine = Engine([source], [capture])
    session = BreathingSession(engine)
    engine.sinks.append(session)
    return engine, session, capture


def test_pacer_session_streams_phase_marks_paced_and_the_person_follows():
    engine, session, capture = _engine(seed=3, lf_ms=10.0)
    settings = PacerSettings(rate_per_min=6.0, inhale=4, exhale=6)
    session.start_pacer(settings, t=1000.0)
    assert engine._subjects["self"].pipeline.paced
    asyncio.run(engine.run(400.0))
    assert {"event": "paced", "subject": None, "paced": True} in capture.events
    pacer = [(t, v) for spec, _, t, v in capture.samples if spec is PACER]
    t = np.array([x[0] for x in pacer])
    assert t[0] == pytest.approx(1000.0) and t[-1] > 1390.0
    assert np.allclose(np.diff(t), 0.1)  # 10 Hz on stream time, no holes
    reference = Pacer(settings, t0=1000.0)
    for ts, values in pacer[::97]:
        state = reference.state(ts)
        assert values[0] == pytest.approx(state.cycles) and values[1] == pytest.approx(state.volume)
        assert values[2] == 6.0
    view = session.view.subjects[0]
    # the simulated person breathes with the pacer: RSA shows the paced rate
    assert view.rate_per_min == pytest.approx(6.0, abs=0.3)
    assert view.coherence["peak_fraction"] > 0.6 and view.level in ("medium", "high")
    assert view.ptt_bpm.size >= 20 and np.nanmedian(view.ptt_bpm) > 5.0
    s = view.summary
    assert s.paced_s == pytest.approx(400.0, abs=3.0)
    assert 0 < s.high_s <= s.measured_s <= s.paced_s
    assert s.mean_rate_per_min == pytest.approx(6.0, abs=0.3) and s.mean_target_per_min == 6.0
    assert session.view.pacer is not None and session.view.pacer.settings == settings


def test_stop_pacer_unpaces_and_frees_the_simulated_person():
    engine, session, _ = _engine(seed=1)
    session.start_pacer(PacerSettings(rate_per_min=5.0), t=1000.0)
    session.stop_pacer()
    assert not engine._subjects["self"].pipeline.paced
    assert engine.sources[0].strap.follow is None
    assert session.view.pacer is None
    asyncio.run(engine.run(100.0))
    view = session.view.subjects[0]
    assert view.summary.paced_s == 0.0
    assert view.rate_per_min == pytest.approx(12.0, abs=2.5)  # spontaneous breathing


def test_challenge_levels_move_the_thresholds():
    assert coherence_level(0.8, "easy") == "medium"
    assert coherence_level(0.8, "medium") == "low"
    assert coherence_level(4.0, "medium") == "high"
    assert coherence_level(4.0, "hard") == "medium"
    assert coherence_level(math.nan, "easy") == ""
    assert fraction_threshold(1.0) == pytest.approx(0.5)
    assert list(CHALLENGES) == ["easy", "medium", "hard"]
    _, session, _ = _engine()
    with pytest.raises(ValueError, match="challenge"):
        session.set_challenge("expert")
    session.set_challenge("hard")
    assert session.view.challenge == "hard"


def test_assessment_end_to_end_ranks_resonance_and_saves_profile(tmp_path):
    engine, session, capture = _engine(seed=2, resonance_per_min=5.5, lf_ms=10.0)
    session.start_assessment(at_first_beat=True)
    asyncio.run(engine.run(5 * 120.0 + 5.0))
    a = session.view.assessment
    assert a.done and len(a.estimates) == 5
    assert a.best_rate_per_min == 5.5
    assert [r["rate_per_min"] for r in a.estimates] == [6.5, 6.0, 5.5, 5.0, 4.5]
    assert session.view.pacer is None and not engine._subjects["self"].pipeline.paced
    rates = {round(v[2], 1) for spec, _, _, v in capture.samples if spec is PACER}
    assert rates == {6.5, 6.0, 5.5, 5.0, 4.5}
    assert any("resonance assessment done: best 5.5/min" in m for m in capture.markers)
    store = ProfileStore(tmp_path)
    store.save(Profile("ann"))
    store.save(with_resonance(store.load("ann"), a))
    again = store.load("ann")
    assert resonance_rate(again) == 5.5
    assert again.extra["resonance"]["ranking"][0]["rank"] == 1
    assert resonance_rate(Profile("bob")) is None


def test_assessment_rejects_a_bad_protocol():
    _, session, _ = _engine()
    with pytest.raises(ValueError, match="protocol"):
        session.start_assessment(rates=(6.0, 5.0), step_s=10.0)
    with pytest.raises(ValueError, match="unknown subject"):
        session.start_assessment(subject="nobody")


def test_cli_resonance_on_the_simulator(tmp_path):
    ProfileStore(tmp_path).save(Profile("ann"))
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "app.cli",
            "--profiles",
            str(tmp_path),
            "resonance",
            "--source",
            "sim:resonance=5.0,lf=10,seed=4",
            "--speed",
            "0",
            "--rates",
            "6,5.5,5,4.5",
            "--step",
            "90",
            "--json",
            "--save-profile",
            "ann",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["best_rate_per_min"] == 5.0
    assert [r["rank"] for r in result["ranking"]] == [1, 2, 3, 4]
    assert resonance_rate(ProfileStore(tmp_path).load("ann")) == 5.0
    bad = subprocess.run(
        [sys.executable, "-m", "ui", "resonance", "--rates", "6,20"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert bad.returncode == 2 and "within 3-10" in bad.stderr


def test_pacer_phase_is_in_the_recording(tmp_path):
    import pyxdf

    from app.recording.recorder import XdfRecorder

    source = SimulatedSource(SimSettings(seed=5), speed=0, start_s=1000.0)
    path = tmp_path / "paced.xdf"
    recorder = XdfRecorder(path, [source])
    engine = Engine([source], [recorder])
    session = BreathingSession(engine)
    engine.sinks.append(session)
    session.start_pacer(PacerSettings(rate_per_min=5.5), t=1000.0)
    asyncio.run(engine.run(60.0))
    streams, _ = pyxdf.load_xdf(str(path), dejitter_timestamps=False)
    pacer = next(s for s in streams if s["info"]["type"][0] == "Pacer")
    t = pacer["time_stamps"]
    assert t.size >= 590 and np.allclose(np.diff(t), 0.1, atol=1e-6)
    labels = [c["label"][0] for c in pacer["info"]["desc"][0]["channels"][0]["channel"]]
    assert labels == ["breaths", "volume", "rate", "stage"]
    reference = Pacer(PacerSettings(rate_per_min=5.5), t0=1000.0)
    assert pacer["time_series"][100, 0] == pytest.approx(reference.cycles_at(t[100]))
