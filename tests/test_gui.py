"""The window on the simulated strap, offscreen, with real widgets and a real engine thread."""

import numpy as np
from PySide6.QtGui import QImage

from app.engine import Engine
from app.runtime import EngineThread
from sensors.simulated import SimSettings, SimulatedSource
from ui.main_window import MainWindow


def _window(qtbot, speed=1.0, **settings):
    runner = EngineThread(Engine([SimulatedSource(SimSettings(**settings), speed=speed)]))
    window = MainWindow(runner)
    qtbot.addWidget(window)
    runner.start()
    window.show()
    return window, runner


def test_window_updates_and_screenshot_is_not_blank(qtbot, tmp_path):
    window, runner = _window(qtbot, speed=1.0)
    panel, plot = window.panels["self"], window.plots["self"]
    assert panel.badge.isVisibleTo(window)
    qtbot.waitUntil(lambda: panel.hr.value.text() != "–", timeout=3000)
    assert 40 < float(panel.hr.value.text()) < 100
    qtbot.waitUntil(lambda: plot.raw_line.getData()[0] is not None, timeout=3000)
    assert "connected" in panel.status.text()
    path = tmp_path / "window.png"
    assert window.grab().save(str(path))
    image = QImage(str(path))
    pixels = np.array(
        [image.pixel(x, y) for x in range(0, image.width(), 7) for y in range(0, image.height(), 7)]
    )
    assert len(np.unique(pixels)) > 20  # text, curves and badge, not one flat colour
    window.close()
    assert not runner.alive


def test_corrected_beats_and_artifacts_are_drawn(qtbot):
    window, runner = _window(qtbot, speed=0, artifact_rate=0.08, seed=3)
    plot = window.plots["self"]
    qtbot.waitUntil(lambda: plot.raw.getData()[0] is not None and len(plot.raw.getData()[0]) > 2)
    qtbot.waitUntil(
        lambda: plot.curve.getData()[0] is not None and len(plot.curve.getData()[0]) > 50
    )
    x, y = plot.curve.getData()
    assert np.all(x <= 0) and x.min() >= -120
    assert np.all((y > 300) & (y < 2000))
    panel = window.panels["self"]
    qtbot.waitUntil(lambda: panel.hf.value.text() != "–", timeout=5000)
    assert float(panel.hf.value.text()) > 0
    assert float(panel.rmssd.value.text()) > 0 and float(panel.sdnn.value.text()) > 0
    assert "signal" in panel.quality.text() and "artifacts" in panel.quality.text()
    window.close()
    assert not runner.alive


def test_closing_stops_the_engine_thread(qtbot):
    window, runner = _window(qtbot, speed=1.0)
    qtbot.waitUntil(lambda: runner.alive, timeout=1000)
    window.close()
    assert not runner.alive and runner.error is None
