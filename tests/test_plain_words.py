"""Warm-ups count down and "no estimate" says why in plain words, in the real window."""

import re

from app.engine import Engine
from app.runtime import EngineThread
from sensors.simulated import SimSettings, SimulatedSource
from tests.helpers import open_window
from ui.main_window import MainWindow
from ui.plain_words import countdown, plain_reason


def test_reasons_in_plain_words():
    assert plain_reason("gap of 11.2 s") == "11 s without beats — check the strap's contact"
    assert plain_reason("no skin contact").startswith("the strap has no skin contact")
    both = plain_reason("14% artifacts in 30 s; coverage 0.62: beats lost")
    assert both == (
        "14 % irregular beats in 30 s — sit still, check the strap; "
        "beats are being lost — check the strap"
    )
    assert plain_reason("waiting for HRV windows", 41.3) == "first estimate in 42 s"
    assert plain_reason("something new") == "something new"  # unknown reasons pass through
    assert countdown("RMSSD", 42) == "RMSSD in 42 s" and countdown("synchrony", 130) == (
        "synchrony in 2:10"
    )
    assert countdown("RMSSD", 0) == "" and countdown("RMSSD", float("nan")) == ""


def test_hrv_warm_up_counts_down_and_a_dropout_is_explained(qtbot, tmp_path):
    window, runner = open_window(
        qtbot, tmp_path, speed=25, seed=3, scenario="dropout", onset_s=70, gap_s=20
    )
    panel = window.panels["self"]
    seen = []

    def counting():
        seen.append(panel.hf.value.text())
        return re.fullmatch(r"in 1:\d\d", seen[-1]) is not None

    qtbot.waitUntil(counting, timeout=10000)  # HF needs 120 s: "in 1:52" ...
    assert seen[-1] != "in 1:00" and all(t == "–" or t.startswith("in ") for t in seen)
    qtbot.waitUntil(lambda: "without beats" in panel.quality.text(), timeout=30000)
    assert "check the strap's contact" in panel.quality.text()
    window.close()
    assert not runner.alive


def test_synchrony_warm_up_counts_down(qtbot, tmp_path):
    sources = [
        SimulatedSource(SimSettings(seed=1, subject="therapist"), speed=5),
        SimulatedSource(SimSettings(seed=2, subject="client"), speed=5),
    ]
    runner = EngineThread(Engine(sources), keep_alive=True)
    window = MainWindow(runner, profiles=tmp_path)
    qtbot.addWidget(window)
    runner.start()
    window.show()
    words = window.synchrony.words
    qtbot.waitUntil(lambda: words.text().startswith("Synchrony in 2:"), timeout=5000)
    assert words.text().endswith("(it needs 3 min of both people)")
    window.close()
    assert not runner.alive
