"""Guard against PySide6 6.12.0's bool refcount leak on Python 3.11 (bool_dealloc abort).

Thousands of signal emits and window refreshes in a child process; the child must exit 0.
"""

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    from PySide6.QtWidgets import QApplication
    from app.engine import Engine
    from app.runtime import EngineThread
    from sensors.base import SourceState, SourceStatus
    from sensors.simulated import SimSettings, SimulatedSource
    from ui.main_window import MainWindow

    app = QApplication([])
    runner = EngineThread(Engine([SimulatedSource(SimSettings(), speed=0)]), duration_s=3600)
    window = MainWindow(runner)
    runner.start()
    window.show()
    status = SourceStatus(SourceState.CONNECTED, "regression guard")
    for i in range(5000):
        window.events.status_changed.emit("sim", status)
        if i % 10 == 0:
            window._shown = None  # a full redraw now and then; the rest are cheap reads
        window.refresh()
        app.processEvents()
    assert window.frames >= 5000
    window.close()
    print("ok", window.frames)
    """
)


def test_5000_ui_updates_and_signal_emits_exit_zero():
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=180
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.startswith("ok")
