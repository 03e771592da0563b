"""Start the GUI: a QApplication, the engine thread and the main window."""

import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from app.engine import Engine
from app.runtime import EngineThread
from app.sources import BeatSource
from ui.main_window import MainWindow


def run_gui(
    sources: Sequence[BeatSource],
    duration_s: float | None = None,
    exit_when_done: bool = False,
    profiles_dir: Path | None = None,
    profiles: dict[str, str] | None = None,
    config_path: Path | None = None,
    lsl: bool = False,
    record: Path | None = None,
    history: bool = True,
) -> int:
    """Run the window until it is closed; returns the process exit code.

    Parameters
    ----------
    sources : sequence of BeatSource
        One source per subject.
    duration_s : float or None
        Session length in seconds of stream time; ``None`` until the window closes.
    exit_when_done : bool
        Close the window when the session ends.
    profiles_dir : Path or None
        Folder of profiles (the user's data folder by default).
    profiles : dict of str to str or None
        Profile name to use, by subject.
    config_path : Path or None
        Settings file (the user's by default).
    lsl : bool
        Turn the LSL outlets on from the start.
    record : Path or None
        Start recording to this XDF file.
    history : bool
        False keeps nothing of this session in the history (``run --no-history``).
    """
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("heartsync")
    engine = Engine(sources)
    window: MainWindow | None = None

    def finished(error: BaseException | None) -> None:
        if window is not None:
            window.events.finished.emit("" if error is None else str(error))

    runner = EngineThread(engine, duration_s, on_finished=finished, keep_alive=True)
    window = MainWindow(runner, profiles=profiles_dir, config_path=config_path)
    if not history:
        window.history.set_enabled(False, save=False)
    for subject, name in (profiles or {}).items():
        window.columns[subject].profile.reload(select=name)
        window.columns[subject].profile.use(name)
    if exit_when_done:
        window.events.finished.connect(window.close)
    runner.start()
    if lsl:
        window.recording_bar.lsl.setChecked(True)
    if record is not None:
        window.recording_bar.record_to(record)
    window.show()
    _quit_on_ctrl_c(app, window)
    app.exec()
    runner.stop()
    return 1 if runner.error is not None else 0


def _quit_on_ctrl_c(app: QApplication, window: MainWindow) -> None:
    """Ctrl-C (SIGINT) and SIGTERM in the terminal close the window cleanly.

    Python runs signal handlers only between bytecodes, so a timer wakes the
    interpreter a few times a second while Qt's loop runs.
    """
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: window.close())
    waker = QTimer(window)
    waker.timeout.connect(lambda: None)
    waker.start(200)
