"""Dyad mode in the real window: synchrony panel, lag in words, shared markers (offscreen)."""

import math
import re

import numpy as np

from app.engine import Engine
from app.runtime import EngineThread
from app.snapshot import SynchronyView
from app.sync_words import lag_words, session_words
from dsp.dyad.types import SessionSynchrony, SynchronyEstimate
from sensors.simulated import SimSettings, SimulatedSource
from ui.main_window import MainWindow
from ui.synchrony_view import session_line, synchrony_words


class Capture:
    """A sink that keeps markers and events."""

    def __init__(self) -> None:
        self.markers: list[str] = []
        self.events: list[dict] = []

    def write(self, result) -> None:
        pass

    def status(self, subject, source, status) -> None:
        pass

    def close(self) -> None:
        pass

    def write_marker(self, t, text) -> None:
        self.markers.append(text)

    def write_event(self, t, event) -> None:
        self.events.append(event)


def test_dyad_window_shows_synchrony_lag_and_markers(qtbot, tmp_path):
    therapist = SimSettings(seed=11, slow_bpm=6.0, subject="therapist")
    client = SimSettings(
        seed=12, slow_bpm=6.0, r=0.75, lag_s=2.0, partner=therapist, subject="client"
    )
    capture = Capture()
    engine = Engine(
        [SimulatedSource(therapist, speed=150), SimulatedSource(client, speed=150)], [capture]
    )
    runner = EngineThread(engine, keep_alive=True)
    window = MainWindow(runner, profiles=tmp_path)
    qtbot.addWidget(window)
    panel = window.synchrony
    assert panel is not None
    assert "no estimate" in panel.words.text()
    runner.start()
    window.show()
    assert session_line(None) in panel.session.text()
    qtbot.waitUntil(lambda: "synchronous (index" in panel.words.text(), timeout=30000)
    assert "client follows therapist by" in panel.words.text()
    qtbot.waitUntil(lambda: "Session so far (" in panel.session.text(), timeout=30000)
    session = panel.session.text()
    assert "95 % interval" in session and re.search(r"p [=<] 0\.\d", session)  # "p < 0.0001" too
    x, y = panel.curve.getData()
    assert x is not None and np.nanmax(y) >= 0.95 and x.max() <= 0
    panel.speech.click()
    panel.paced.click()
    qtbot.waitUntil(lambda: "paced breathing start" in capture.markers, timeout=5000)
    qtbot.waitUntil(lambda: any(e.get("event") == "paced" for e in capture.events), timeout=5000)
    assert "speech turn" in capture.markers
    assert window.grab().save(str(tmp_path / "dyad.png"))
    window.close()
    assert not runner.alive


def test_one_person_has_no_synchrony_panel(qtbot, tmp_path):
    runner = EngineThread(Engine([SimulatedSource(SimSettings(), speed=1)]), keep_alive=True)
    window = MainWindow(runner, profiles=tmp_path)
    qtbot.addWidget(window)
    runner.start()
    assert window.synchrony is None
    assert runner.engine.snapshot.synchrony is None
    window.close()


def test_words_for_lag_pause_and_the_session():
    empty = np.empty(0)
    nan = math.nan
    paused = SynchronyEstimate(10.0, nan, nan, nan, nan, nan, 0)
    view = SynchronyView("therapist", "client", paused, empty, empty, empty, empty)
    assert "no estimate" in synchrony_words(view)
    assert lag_words("therapist", "client", 2.13) == "client follows therapist by 2.1 s"
    assert lag_words("therapist", "client", -1.0) == "therapist follows client by 1.0 s"
    assert "together" in lag_words("therapist", "client", 0.25)
    weak = SynchronyEstimate(10.0, 0.6, 0.5, 0.3, 1.0, 0.4, 200)
    words = synchrony_words(SynchronyView("a", "b", weak, *[empty] * 4))
    assert words == "Last 30 s: not detectable in 30 s (index 0.60)"
    assert "no synchrony" not in words and "0.3" not in words  # never a raw peak r
    assert "needs about 3 minutes" in session_line(view)
    found = SessionSynchrony(0.42, 0.31, 0.52, 0.005, 2.0, 20)
    assert session_words("therapist", "client", found) == (
        "Session so far (10.0 min): synchronous, r = 0.42 (95 % interval 0.31 to 0.52), "
        "p = 0.005; client follows therapist by 2.0 s"
    )
    weak_session = SessionSynchrony(0.08, -0.05, 0.21, 0.41, -1.0, 9)
    assert session_words("a", "b", weak_session).startswith(
        "Session so far (4.5 min): not significant, r = 0.08"
    )
