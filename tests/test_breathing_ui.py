"""Breathing dock in the real window, offscreen: pacer animation, feedback, assessment."""

import sys

import numpy as np
import pytest

from app.profiles import Profile, ProfileStore
from tests.helpers import open_window
from ui.pacer import WORDS
from ui.tone import HIGH_HZ, LOW_HZ, SAMPLE_RATE_HZ, BreathTone, breath_tone


def test_pacer_animates_when_visible_and_stops_when_hidden(qtbot, tmp_path):
    window, runner = open_window(qtbot, tmp_path, speed=1, seed=1)
    dock = window.breathing
    assert not dock.isVisible() and dock.panel is None
    dock.action.trigger()
    qtbot.waitUntil(lambda: dock.panel is not None and dock.isVisible(), timeout=3000)
    panel = dock.panel
    pacer = panel.pacer
    assert not pacer.timer.isActive()  # no pacer, no timer
    panel.rate.setValue(9.0)
    panel.start_button.click()
    qtbot.waitUntil(lambda: pacer.pacer is not None, timeout=3000)
    assert pacer.timer.isActive() and pacer.timer.interval() <= 17
    start_frames = pacer.frames
    qtbot.waitUntil(lambda: pacer.state is not None, timeout=2000)
    first = pacer.state.volume
    qtbot.waitUntil(lambda: pacer.frames - start_frames > 20 and pacer.state.volume != first)
    assert pacer.word in WORDS.values()  # it animates (its frame rate is measured in bench/)
    assert pacer.state.rate_per_min == 9.0
    assert runner.engine._subjects["self"].pipeline.paced
    window.grab().save(str(tmp_path / "pacer.png"))
    dock.hide()
    qtbot.waitUntil(lambda: not pacer.timer.isActive(), timeout=2000)
    frames = pacer.frames
    later = runner.engine.stream_now() + 1.0  # the session goes on for a second...
    qtbot.waitUntil(lambda: runner.engine.stream_now() > later)
    assert pacer.frames == frames  # ...hidden: not a single frame
    dock.show()
    qtbot.waitUntil(lambda: pacer.timer.isActive(), timeout=2000)
    panel.start_button.click()  # stop
    qtbot.waitUntil(lambda: panel.session.view.pacer is None, timeout=2000)
    qtbot.waitUntil(lambda: not pacer.timer.isActive(), timeout=2000)
    assert not runner.engine._subjects["self"].pipeline.paced
    window.close()


def test_assessment_flow_on_the_fast_simulator_saves_the_rate(qtbot, tmp_path):
    store = ProfileStore(tmp_path)
    store.save(Profile("Alex"))
    window, _ = open_window(qtbot, tmp_path, speed=0, seed=2, resonance_per_min=5.5, lf_ms=10)
    column = window.columns["self"]
    column.profile.choice.setCurrentText("Alex")
    window.breathing.action.trigger()
    qtbot.waitUntil(lambda: window.breathing.panel is not None, timeout=3000)
    panel = window.breathing.panel
    panel.rates_edit.setText("6.5, 5.5, 4.5")
    panel.step_min.setValue(1.5)
    panel.assess_button.click()
    assert not panel.assess_button.isEnabled() and panel.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: panel.table.rowCount() == 3, timeout=30000)
    assert panel.save_button.isEnabled() and panel.assess_button.isEnabled()
    a = panel.session.view.assessment
    assert a.done and [e["rate_per_min"] for e in a.estimates] == [6.5, 5.5, 4.5]
    assert panel.table.item(0, 0).text() == f"{a.best_rate_per_min:.1f}"
    assert "Best:" in panel.progress.text()
    # live feedback showed numbers along the way
    qtbot.waitUntil(lambda: "/min" in panel.rate_label.text(), timeout=5000)
    assert (
        "ratio" in panel.coherence_label.text() and "with the pacer" in panel.summary_label.text()
    )
    saved = panel.save_resonance()
    assert saved is not None and column.profile.profile is saved
    assert store.load("Alex").extra["resonance"]["rate_per_min"] == a.best_rate_per_min
    assert panel.rate.value() == a.best_rate_per_min
    panel.rate.setValue(7.0)
    panel.use_profile_rate()  # the pacer default comes from the profile
    assert panel.rate.value() == a.best_rate_per_min
    window.grab().save(str(tmp_path / "assessment.png"))
    window.close()


def test_tone_pitch_and_loudness_follow_the_breath():
    n = SAMPLE_RATE_HZ
    low, _ = breath_tone(np.zeros(n))
    high, _ = breath_tone(np.ones(n))

    def pitch(x):
        return np.count_nonzero(np.diff(np.signbit(x))) / 2.0  # crossings per second / 2

    assert pitch(low) == pytest.approx(LOW_HZ, abs=2) and pitch(high) == pytest.approx(
        HIGH_HZ, abs=2
    )
    assert np.max(np.abs(high)) > 2 * np.max(np.abs(low)) * 0.9 and np.max(np.abs(high)) <= 0.15
    # two blocks join without a click: same as one long block
    ramp = np.linspace(0, 1, 2000)
    whole, _ = breath_tone(ramp)
    a, ph = breath_tone(ramp[:1000])
    b, _ = breath_tone(ramp[1000:], ph)
    assert np.allclose(np.concatenate([a, b]), whole, atol=1e-5)


def test_tone_without_device_or_library_stays_silent_with_a_note(monkeypatch):
    tone = BreathTone(lambda: 0.5)
    blocks = tone._blocks()
    next(blocks)
    data = blocks.send(512)
    assert len(data) == 512 * 4  # float32 mono
    silent = BreathTone(lambda: None)._blocks()
    next(silent)
    assert not np.frombuffer(silent.send(256), np.float32).any()
    # this machine has no sound device: start() says so and nothing plays
    assert tone.start() is False and not tone.playing and tone.note
    monkeypatch.setitem(sys.modules, "miniaudio", None)
    tone = BreathTone(lambda: 0.5)
    assert tone.start() is False and "pip install" in tone.note
    tone.stop()
