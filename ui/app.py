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
    stopping = _quit_on_ctrl_c()  # from the very start: a Ctrl-C during start-up counts
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
    waker = QTimer(window)  # Python runs signal handlers only between bytecodes
    waker.timeout.connect(lambda: None)
    waker.start(200)
    if not stopping:
        app.exec()
    else:
        app.closeAllWindows()
    runner.stop()
    return 1 if runner.error is not None else 0


def _quit_on_ctrl_c() -> list[int]:
    """Ctrl-C (SIGINT) and SIGTERM close every window (replay windows too) and end Qt's loop.

    Returns the list the handler appends each signal to: non-empty means stop (a signal
    during start-up, before the loop runs, skips it).
    """
    received: list[int] = []

    def handle(signum: int, _frame: object) -> None:
        received.append(signum)
        app = QApplication.instance()
        if app is not None:
            app.closeAllWindows()
            app.quit()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, handle)
    return received
