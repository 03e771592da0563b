"""A replay window shows where it is in the recording, the baseline it applies, and seeks."""

import asyncio

from app.engine import Engine
from app.recording.recorder import RecorderSettings, XdfRecorder
from app.runtime import EngineThread
from dsp.arousal import calibrate
from sensors.simulated import SimSettings, SimulatedSource, simulate
from ui.main_window import MainWindow

SESSION_S = 600


def _recording(path):
    rest = simulate(SimSettings(seed=21), 420)
    baseline = calibrate(rest["t_s"], rest["rr_ms"])
    source = SimulatedSource(SimSettings(seed=7), speed=0)
    recorder = XdfRecorder(path, [source], RecorderSettings(flush_interval_s=0.05))
    engine = Engine([source], [recorder])
    engine.set_baseline("self", baseline)
    asyncio.run(engine.run(duration_s=SESSION_S))
    return baseline


def test_position_baseline_and_seeking(qtbot, tmp_path):
    path = tmp_path / "session.xdf"
    baseline = _recording(path)
    runner = EngineThread(Engine([SimulatedSource(SimSettings(seed=1), speed=1)]), keep_alive=True)
    window = MainWindow(runner, profiles=tmp_path)
    qtbot.addWidget(window)
    assert window.replay_bar is None  # a live window has no replay bar
    runner.start()
    replay = window.recording_bar.open_recording(path, speed=1.0)
    qtbot.addWidget(replay)
    bar = replay.replay_bar
    assert bar is not None and bar.position.text() == "0:00 of 10:00"
    qtbot.waitUntil(lambda: "baseline HR" in bar.baseline.text(), timeout=5000)
    assert f"HR {baseline.hr_bpm:.0f} bpm" in bar.baseline.text()
    bar.seek(300)  # forward: the beats in between at once, then 1x again
    qtbot.waitUntil(lambda: bar.position_s >= 300, timeout=15000)
    assert bar.position.text().startswith("5:0") and bar.position_s < 330
    again = bar.seek(60)  # back: the recording again, fast up to 1:00
    assert again is not None and again is not replay and not replay.isVisible()
    qtbot.addWidget(again)
    qtbot.waitUntil(lambda: again.replay_bar.position_s >= 60, timeout=15000)
    assert again.replay_bar.position_s < 90
    again.close()
    window.close()
    assert not runner.alive
