"""Pieces several test files share: a sink that keeps everything, a window on the simulator."""

from app.engine import Engine
from app.runtime import EngineThread
from sensors.simulated import SimSettings, SimulatedSource


class CollectSink:
    """An engine sink that keeps every processed beat, raw beat and status change."""

    def __init__(self):
        self.results, self.raw, self.statuses, self.closed = [], [], [], False

    def write(self, result):
        self.results.append(result)

    def write_raw(self, beat):
        self.raw.append(beat)

    def status(self, subject, source, status):
        self.statuses.append((subject, status.state))

    def close(self):
        self.closed = True


def open_window(qtbot, tmp_path, speed, **settings):
    """The real main window on one simulated person, profiles in ``tmp_path``."""
    from ui.main_window import MainWindow

    source = SimulatedSource(SimSettings(**settings), speed=speed)
    runner = EngineThread(Engine([source]), keep_alive=True)
    window = MainWindow(runner, profiles=tmp_path)
    qtbot.addWidget(window)
    runner.start()
    window.show()
    return window, runner
