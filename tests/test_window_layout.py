"""The two-person window on a laptop screen, long messages, and the client view."""

from PySide6.QtCore import Qt

from app.engine import Engine
from app.profiles import Profile, ProfileStore
from app.runtime import EngineThread
from dsp.arousal import calibrate
from sensors.simulated import SimSettings, SimulatedSource, simulate
from ui.client_view import CLIENT_VIEW_KEY
from ui.main_window import MainWindow

LAPTOP_WIDTH = 1280


def _dyad(qtbot, tmp_path, speed=1.0):
    sources = [
        SimulatedSource(SimSettings(seed=1, subject="therapist"), speed=speed),
        SimulatedSource(SimSettings(seed=2, subject="client"), speed=speed),
    ]
    runner = EngineThread(Engine(sources), keep_alive=True)
    window = MainWindow(runner, profiles=tmp_path)
    qtbot.addWidget(window)
    runner.start()
    window.show()
    return window, runner


def test_two_people_fit_a_1280_px_screen_and_a_long_error_changes_nothing(qtbot, tmp_path):
    rest = simulate(SimSettings(seed=31), 300)
    ProfileStore(tmp_path).save(Profile("Sam").calibrated(calibrate(rest["t_s"], rest["rr_ms"])))
    window, runner = _dyad(qtbot, tmp_path)
    therapist, client = window.columns["therapist"], window.columns["client"]
    for column in (therapist, client):  # a chosen profile shows its calibration date too
        column.profile.reload(select="Sam")
        column.profile.use("Sam")
    assert "calibrated" in client.profile.age.text()
    qtbot.waitUntil(lambda: "connected" in client.panel.status.text(), timeout=5000)
    assert window.minimumSizeHint().width() <= LAPTOP_WIDTH
    window.resize(LAPTOP_WIDTH, 760)
    qtbot.waitUntil(lambda: window.width() == LAPTOP_WIDTH, timeout=2000)
    before = (window.minimumSizeHint().width(), therapist.geometry(), client.geometry())
    error = "failed: " + "the strap stopped answering and the adapter reset itself " * 6
    client.panel.status.setText(error)
    client.panel.quality.setText("signal poor · " + "no beats for a long while " * 8)
    qtbot.wait(50)  # a layout pass (the geometry must not move, so there is nothing to await)
    after = (window.minimumSizeHint().width(), therapist.geometry(), client.geometry())
    assert after == before
    assert window.width() == LAPTOP_WIDTH
    assert client.panel.status.text() == error  # the whole text is kept ...
    assert client.panel.status.toolTip() == error  # ... and shown on hover
    window.close()
    assert not runner.alive


def test_one_key_toggles_the_full_screen_client_view(qtbot, tmp_path):
    window, runner = _dyad(qtbot, tmp_path, speed=150)
    assert not window.client_view_on
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=2000)
    qtbot.keyClick(window, CLIENT_VIEW_KEY)
    qtbot.waitUntil(lambda: window.client_view_on, timeout=2000)
    assert window.windowState() & Qt.WindowState.WindowFullScreen
    assert not window.statusBar().isVisible()
    view = window.client_view
    assert set(view.zones) == {"therapist", "client"}
    # the same zone and words as the full view, drawn large
    qtbot.waitUntil(lambda: view.synchrony.text() != "", timeout=2000)
    for name, zone in view.zones.items():
        assert zone.text == window.columns[name].zone.text
        assert zone.height() >= 3 * window.columns[name].zone.height()
    qtbot.waitUntil(
        lambda: (
            view.synchrony.text() == "In synchrony" or view.synchrony.text() == "Not in synchrony"
        ),
        timeout=30000,
    )
    qtbot.keyClick(window, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not window.client_view_on, timeout=2000)
    assert not window.windowState() & Qt.WindowState.WindowFullScreen
    assert window.statusBar().isVisible()
    window.close()
    assert not runner.alive
