"""The window's LSL toggle, record button, marker keys and replay, offscreen."""

from PySide6.QtCore import Qt

from app.engine import Engine
from app.runtime import EngineThread
from sensors.simulated import SimSettings, SimulatedSource
from sensors.xdf import read_xdf
from ui.main_window import MainWindow


def _window(qtbot, tmp_path):
    source = SimulatedSource(SimSettings(seed=4, subject="client"), speed=20)
    runner = EngineThread(Engine([source]), keep_alive=True)
    window = MainWindow(runner, profiles=tmp_path / "profiles")
    qtbot.addWidget(window)
    window.recording_bar.folder = tmp_path / "recordings"
    runner.start()
    window.show()
    return window, runner


def test_lsl_record_markers_and_replay(qtbot, tmp_path):
    window, runner = _window(qtbot, tmp_path)
    bar = window.recording_bar
    engine = runner.engine

    def received():  # the first snapshot may not be published yet
        subjects = engine.snapshot.subjects
        return subjects[0].beats_received if subjects else 0

    qtbot.waitUntil(lambda: received() > 2, timeout=5000)

    bar.lsl.setChecked(True)
    qtbot.waitUntil(lambda: bar.outlets in engine.sinks, timeout=3000)
    qtbot.waitUntil(lambda: bar.streams.text() == "4 streams", timeout=3000)
    assert "heartsync client RR" in bar.streams.toolTip()
    bar.lsl.setChecked(False)
    qtbot.waitUntil(lambda: not any(hasattr(s, "stream_names") for s in engine.sinks), timeout=3000)

    bar.labels[2] = "client laughs"
    bar.record.click()
    recorder = bar.recorder
    assert recorder is not None and bar.record.text() == "■ Stop"
    qtbot.waitUntil(lambda: recorder in engine.sinks, timeout=3000)
    qtbot.keyClick(window, Qt.Key.Key_3)
    qtbot.waitUntil(lambda: recorder.bytes_written > 2000, timeout=5000)
    qtbot.waitUntil(lambda: bar.info.text().startswith("REC 0:00:"), timeout=3000)
    assert "MB" in bar.info.text()
    bar.record.click()
    qtbot.waitUntil(lambda: recorder.closed and recorder not in engine.sinks, timeout=5000)
    qtbot.waitUntil(lambda: not recorder._thread.is_alive(), timeout=5000)
    rec = read_xdf(recorder.path)
    assert rec.closed
    markers = next(s for s in rec.streams if s.type == "Markers")
    assert ["client laughs"] in markers.time_series
    assert any(s.type == "RawRR" for s in rec.streams)

    replay = bar.open_recording(recorder.path, speed=0)
    assert replay is not None and "replay" in replay.windowTitle()
    qtbot.addWidget(replay)
    qtbot.waitUntil(
        lambda: (
            replay.runner.engine.snapshot.subjects
            and replay.runner.engine.snapshot.subjects[0].beats_received > 0
        ),
        timeout=5000,
    )
    replay.close()
    window.close()
    assert not runner.alive


def test_record_errors_show_and_the_session_goes_on(qtbot, tmp_path):
    window, runner = _window(qtbot, tmp_path)
    bar = window.recording_bar
    bar.folder = tmp_path / "file-not-folder"
    bar.folder.write_text("x")
    messages = []
    bar.message.connect(messages.append)
    bar.record.click()
    assert bar.recorder is None and not bar.record.isChecked()
    assert bar.info.text() == "recording failed" and messages
    assert runner.alive
    bad = tmp_path / "bad.xdf"
    bad.write_text("hello")
    bar.speed.setCurrentText("fastest")
    from unittest import mock

    with mock.patch("ui.recording_bar.QMessageBox.warning") as warning:
        assert bar.open_recording(bad) is None
    assert "not an XDF file" in warning.call_args[0][2]
    window.close()
