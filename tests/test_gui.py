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
    # 8 % artifacts: "signal good · 7 % artifacts", or when a 30-s window holds too many,
    # "signal poor · 12 % irregular beats in 30 s — ..."; either way the badge names them
    text = panel.quality.text()
    assert text.startswith("signal ") and ("% artifacts" in text or "% irregular beats" in text)
    window.close()
    assert not runner.alive


def test_closing_stops_the_engine_thread(qtbot):
    window, runner = _window(qtbot, speed=1.0)
    qtbot.waitUntil(lambda: runner.alive, timeout=1000)
    window.close()
    assert not runner.alive and runner.error is None


def test_a_new_beat_is_drawn_at_the_first_refresh_that_sees_it(qtbot):
    """A beat shows within 100 ms: the engine publishes it at once (snapshot_hz 30), the
    window reads snapshots at least every 100 ms, and the refresh that reads it draws it
    (the tachogram is never held back like the slower trends)."""
    window, runner = _window(qtbot, speed=1.0)
    plot = window.plots["self"]
    assert window.timer.interval() <= 100 and runner.engine.settings.snapshot_hz >= 10
    drawn: list[float] = []
    misses: list[float] = []

    def check() -> None:  # connected after MainWindow.refresh: runs right after it
        snap = window._shown
        if snap is None or not snap.subjects or snap.subjects[0].raw_t_s.size == 0:
            return
        newest = float(snap.subjects[0].raw_t_s[-1])
        if drawn and newest == drawn[-1]:
            return
        x, _ = plot.raw_line.getData()
        shown = x is not None and len(x) and abs(x[-1] - (newest - snap.t_s)) < 1e-9
        (drawn if shown else misses).append(newest)

    window.timer.timeout.connect(check)
    qtbot.waitUntil(lambda: len(drawn) >= 4 or bool(misses), timeout=15000)
    assert not misses and len(drawn) >= 4
    window.close()


def test_the_window_starts_without_scipy():
    """Start-up memory: scipy (~30-80 MB) is loaded only by the code that uses it."""
    import subprocess
    import sys

    code = (
        "import sys; import ui.main_window; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'scipy'))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
