"""Resonance assessment in the window: the pacer stays in view, the results table reads."""

from PySide6.QtCore import QRect

from tests.helpers import open_window


def test_the_pacer_stays_in_view_and_the_table_is_readable(qtbot, tmp_path):
    window, _ = open_window(qtbot, tmp_path, speed=20, seed=2, resonance_per_min=5.5)
    window.resize(1280, 760)
    window.breathing.action.trigger()
    qtbot.waitUntil(lambda: window.breathing.panel is not None, timeout=3000)
    panel = window.breathing.panel
    scroll = window.breathing.widget()
    panel.rates_edit.setText("6.5, 5.5")
    panel.step_min.setValue(0.5)
    scroll.ensureWidgetVisible(panel.assess_button)  # scrolled down to press it
    qtbot.wait(50)  # a layout pass
    panel.assess_button.click()

    def pacer_in_view() -> bool:
        viewport = scroll.viewport()
        top_left = panel.pacer.mapTo(viewport, panel.pacer.rect().topLeft())
        shown = QRect(top_left, panel.pacer.size()).intersected(viewport.rect())
        return shown.height() >= 100 and panel.progress.isVisible()

    qtbot.waitUntil(pacer_in_view, timeout=3000)
    qtbot.waitUntil(lambda: panel.table.rowCount() == 2, timeout=60000)
    assert panel.feedback_box.isVisible() and panel.pacer_controls.isVisible()
    table, header = panel.table, panel.table.horizontalHeader()
    metrics = header.fontMetrics()
    for col in range(table.columnCount()):
        label = table.horizontalHeaderItem(col).text()
        widest = max(metrics.horizontalAdvance(line) for line in label.split("\n"))
        assert header.sectionSize(col) >= widest, label  # no clipped header
        for row in range(table.rowCount()):
            assert "e+" not in table.item(row, col).text()
    assert table.horizontalHeaderItem(2).toolTip() == "LF peak (ms²/Hz)"
    window.close()
