"""The measured breath beside the pacer and the live ECG trace, in the real window."""

from app.engine import Engine
from app.runtime import EngineThread
from tests.test_chest_breathing import WithSignals


def test_chest_breath_and_ecg_trace_show_when_a_strap_streams_them(qtbot, tmp_path):
    from ui.main_window import MainWindow

    source = WithSignals(0.0)
    runner = EngineThread(Engine([source]), keep_alive=True)
    window = MainWindow(runner, profiles=tmp_path)
    qtbot.addWidget(window)
    ecg = window.columns[source.subject].ecg
    assert not ecg.isVisible()  # nothing streamed yet
    runner.start()
    window.show()
    window.breathing.action.trigger()
    qtbot.waitUntil(lambda: window.breathing.panel is not None, timeout=3000)
    panel = window.breathing.panel
    qtbot.waitUntil(lambda: ecg.isVisible(), timeout=10000)
    x, y = ecg.curve.getData()
    assert x.min() >= -5.0 and x.max() == 0.0 and y.max() > 800
    qtbot.waitUntil(lambda: "/min" in panel.chest_label.text(), timeout=20000)
    assert panel.breath_bar.isVisible()
    assert 0 <= panel.breath_bar.value() <= 100
    window.grab().save(str(tmp_path / "chest.png"))
    window.close()
