"""Profile controls: calibrating while the pacer runs is refused; idle controls are disabled."""

import asyncio
import importlib.util

import pytest

from app.engine import Engine
from app.profiles import Profile, ProfileStore
from dsp.tolerance.baseline import CalibrationError, CalibrationSettings
from sensors.simulated import SimSettings, SimulatedSource
from tests.helpers import open_window


def test_calibrating_while_the_pacer_runs_is_refused_with_the_reason(qtbot, tmp_path):
    window, runner = open_window(qtbot, tmp_path, speed=1, seed=1)
    dock = window.breathing
    dock.action.trigger()
    qtbot.waitUntil(lambda: dock.panel is not None, timeout=3000)
    dock.panel.start_button.click()
    qtbot.waitUntil(lambda: runner.engine._subjects["self"].pipeline.paced, timeout=3000)
    dialog = window.columns["self"].profile.calibrate()
    dialog.name.setEditText("Alex")
    dialog.start_button.click()
    qtbot.waitUntil(lambda: "refused" in dialog.message.text(), timeout=5000)
    assert "pacer" in dialog.message.text()
    assert dialog.start_button.isEnabled() and dialog.profile is None
    assert ProfileStore(tmp_path).names() == []
    dialog.reject()
    window.close()


def test_a_pacer_started_during_the_rest_refuses_the_baseline():
    engine = Engine([SimulatedSource(SimSettings(seed=1), speed=0)])

    async def rest_then_pace():
        run = asyncio.create_task(engine.run(duration_s=400))
        rest = asyncio.create_task(engine.calibrate("self", CalibrationSettings(duration_s=180)))
        await asyncio.sleep(0)  # the rest has begun
        engine.set_paced(True)
        try:
            with pytest.raises(CalibrationError, match="pacer"):
                await rest
        finally:
            await run

    asyncio.run(rest_then_pace())


def test_delete_and_band_are_disabled_until_a_profile_is_chosen(qtbot, tmp_path):
    ProfileStore(tmp_path).save(Profile("Alex", band_widen=0.5))
    window, _ = open_window(qtbot, tmp_path, speed=1, seed=1)
    controls = window.columns["self"].profile
    assert controls.choice.currentText() == "(none)"
    assert not controls.delete_button.isEnabled() and not controls.widen.isEnabled()
    assert "choose a profile first" in controls.widen.toolTip()
    controls.choice.setCurrentText("Alex")
    assert controls.delete_button.isEnabled() and controls.widen.isEnabled()
    assert controls.widen.value() == 0.5
    controls.choice.setCurrentIndex(0)
    assert not controls.delete_button.isEnabled() and not controls.widen.isEnabled()
    window.close()


def test_the_tone_is_unavailable_with_the_reason_without_the_audio_library(qtbot, tmp_path):
    window, _ = open_window(qtbot, tmp_path, speed=1, seed=1)
    window.breathing.action.trigger()
    qtbot.waitUntil(lambda: window.breathing.panel is not None, timeout=3000)
    sound = window.breathing.panel.sound
    installed = importlib.util.find_spec("miniaudio") is not None
    assert sound.isEnabled() == installed
    if not installed:
        assert "pip install 'heartsync[audio]'" in sound.toolTip()
    window.close()


def test_the_replay_speed_box_says_what_it_is(qtbot, tmp_path):
    window, _ = open_window(qtbot, tmp_path, speed=1, seed=1)
    bar = window.recording_bar
    assert bar.speed_label.text().strip() == "replay speed"
    assert "replays" in bar.speed.toolTip() and bar.speed.currentText() == "1x"
    window.close()
