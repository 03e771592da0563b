"""Calibration flow and zone display in the real window, on the simulator, offscreen."""

import numpy as np

from app.profiles import ProfileStore
from dsp.tolerance.state import Zone
from tests.helpers import open_window
from ui.arousal_view import ZoneIndicator


def test_calibrate_save_and_see_the_zone(qtbot, tmp_path):
    window, runner = open_window(qtbot, tmp_path, speed=60, seed=2)
    column = window.columns["self"]
    assert "Choose a profile" in column.zone.text
    dialog = column.profile.calibrate()
    dialog.minutes.setValue(3)
    dialog.name.setEditText("Alex")
    dialog.start_button.click()
    qtbot.waitUntil(lambda: dialog.progress.value() > 0, timeout=5000)
    qtbot.waitUntil(lambda: dialog.profile is not None, timeout=20000)
    assert ProfileStore(tmp_path).load("Alex").baseline == dialog.profile.baseline
    assert column.profile.choice.currentText() == "Alex"
    qtbot.waitUntil(lambda: column.zone.zone is Zone.WINDOW, timeout=20000)
    assert column.zone.text == "Inside your window"

    def drawn():
        x = column.arousal.index.getData()[0]
        return x is not None and len(x) > 20

    qtbot.waitUntil(drawn, timeout=5000)
    assert "inside" in column.zone_times.text()
    path = tmp_path / "zone.png"
    assert window.grab().save(str(path))
    window.close()
    assert not runner.alive


def test_noisy_rest_is_refused_with_the_reason(qtbot, tmp_path):
    window, _ = open_window(qtbot, tmp_path, speed=60, seed=3, artifact_rate=0.1)
    dialog = window.columns["self"].profile.calibrate()
    dialog.minutes.setValue(3)
    dialog.start_button.click()
    qtbot.waitUntil(lambda: "refused" in dialog.message.text(), timeout=20000)
    assert "clean" in dialog.message.text() and "electrodes" in dialog.message.text()
    assert dialog.start_button.isEnabled() and dialog.start_button.text() == "Try again"
    assert ProfileStore(tmp_path).names() == []
    window.close()


def test_indicator_reads_without_colour_and_cues_on_leaving(qtbot):
    indicator = ZoneIndicator()
    qtbot.addWidget(indicator)
    indicator.resize(400, 80)
    images = {}
    for zone in (Zone.WINDOW, Zone.HYPER, Zone.WINDOW, Zone.HYPO, Zone.UNKNOWN):
        indicator.show_zone(zone, "gap of 12 s" if zone is Zone.UNKNOWN else "")
        image = (
            indicator.grab()
            .toImage()
            .convertToFormat(indicator.grab().toImage().Format.Format_Grayscale8)
        )
        images[zone] = np.array(
            [image.pixelColor(x, y).value() for x in range(0, 80, 2) for y in range(0, 80, 2)]
        )
    assert indicator.cues == 2  # window -> hyper, window -> hypo
    assert indicator.text == "No estimate: gap of 12 s"
    # in grey scale the shapes still differ: a user without colour vision can tell them apart
    shapes = [images[z] for z in (Zone.WINDOW, Zone.HYPER, Zone.HYPO, Zone.UNKNOWN)]
    for i in range(4):
        for j in range(i + 1, 4):
            assert np.sum(np.abs(shapes[i].astype(int) - shapes[j].astype(int)) > 40) > 10
