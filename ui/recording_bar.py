"""The session toolbar for LSL and recordings: LSL toggle, record button, markers, replay.

- **LSL** (off by default): publishes every stream; the label counts them and its tooltip
  names them.
- **Record**: a new XDF file in :attr:`RecordingBar.folder`
  (``heartsync-YYYYMMDD-HHMMSS.xdf``, owner-only), with elapsed time and size. A full
  disk stops the recording with a message; the session goes on.
- **Session report** (after a recording): analyses it off the UI thread with a progress
  dialog and opens ``report.html`` (:mod:`ui.session_report`).
- **Markers**: keys 1-9 annotate the session (marker stream and recording); "Markers…"
  edits their labels.
- **Open recording…**: replays an XDF file in a window of its own.

Widgets only: sinks are added to and removed from the engine through its thread.
"""

import datetime
import logging
from collections.abc import Callable
from pathlib import Path

import platformdirs
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QToolBar,
    QWidget,
)

from app.recording.recorder import RecordingError
from app.runtime import EngineThread
from app.sources import SourceSpecError, recording_sources

log = logging.getLogger(__name__)

DEFAULT_MARKERS = (
    "start of exercise",
    "end of exercise",
    "client talks",
    "therapist talks",
    "silence",
    "strong emotion",
    "rupture",
    "repair",
    "note",
)
SPEEDS = {"1x": 1.0, "2x": 2.0, "10x": 10.0, "60x": 60.0, "fastest": 0.0}


def default_folder() -> Path:
    """Where recordings go unless the user picks another folder."""
    return platformdirs.user_documents_path() / "heartsync"


class _Signals(QObject):
    recording_failed = Signal(str)


class MarkerLabels(QDialog):
    """Edit the labels of marker keys 1-9."""

    def __init__(self, labels: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Marker keys")
        form = QFormLayout(self)
        self.edits = []
        for k, label in enumerate(labels, start=1):
            edit = QLineEdit(label)
            form.addRow(f"key {k}", edit)
            self.edits.append(edit)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def labels(self) -> list[str]:
        """The labels as edited (an empty one falls back to the key number)."""
        return [e.text().strip() or str(k) for k, e in enumerate(self.edits, start=1)]


class RecordingBar(QToolBar):
    """LSL toggle, record button with elapsed time and size, marker keys, replay.

    Parameters
    ----------
    runner : EngineThread
        The running engine.
    parent : QWidget
        The main window (marker keys work anywhere in it).
    open_window : callable
        Makes the window of a replay from its engine thread (a main window).
    folder : Path or None
        Where recordings go (:func:`default_folder` by default).
    """

    message = Signal(str)  # for the window's status bar

    def __init__(
        self,
        runner: EngineThread,
        parent: QWidget,
        open_window: Callable[[EngineThread], QWidget],
        folder: Path | None = None,
    ) -> None:
        super().__init__("recording", parent)
        self.setMovable(False)
        self.runner = runner
        self.open_window = open_window
        self.folder = folder or default_folder()
        self.labels = list(DEFAULT_MARKERS)
        self.outlets = None
        self.recorder = None
        self._requested_path: Path | None = None
        self.replays: list = []  # replay windows kept alive
        self._signals = _Signals()
        self._signals.recording_failed.connect(self._recording_failed)

        self.lsl = QCheckBox("LSL")
        self.lsl.setToolTip(
            "Publish heart data on Lab Streaming Layer (visible on your network; off by default)"
        )
        self.lsl.toggled.connect(self.set_lsl)
        self.addWidget(self.lsl)
        self.streams = QLabel("")
        self.addWidget(self.streams)
        self.addSeparator()
        self.record = QPushButton("● Record")
        self.record.setCheckable(True)
        self.record.setToolTip("Record everything to an XDF file (owner-only)")
        self.record.toggled.connect(self.set_recording)
        self.addWidget(self.record)
        self.info = QLabel("")
        self.addWidget(self.info)
        self.report_action = self.addAction("Session report", lambda: self.session_report())
        self.report_action.setToolTip("Analyse the last recording and open its report")
        self.report_action.setEnabled(False)
        self.pdf_action = self.addAction("PDF", lambda: self.session_report(pdf=True))
        self.pdf_action.setToolTip("The last recording's report as a PDF (A4 or Letter) to file")
        self.pdf_action.setEnabled(False)
        self.last_recording: Path | None = None
        self._finished = None  # the recorder of the last recording
        self.report_job = None
        self.addSeparator()
        self.markers_action = self.addAction("Markers…", self.edit_markers)
        self.markers_action.setToolTip("Keys 1-9 mark moments; edit their labels here")
        self.addSeparator()
        self.speed = QComboBox()
        self.speed.addItems(list(SPEEDS))
        self.speed.setToolTip("How fast “Open recording…” replays a file (1x: as recorded)")
        self.open_action = self.addAction("Open recording…", self.choose_recording)
        self.open_action.setToolTip("Replay an XDF recording in a window of its own")
        self.speed_label = QLabel(" replay speed")
        self.addWidget(self.speed_label)
        self.addWidget(self.speed)
        self.shortcuts = []
        for k in range(1, 10):
            shortcut = QShortcut(QKeySequence(str(k)), parent)
            shortcut.activated.connect(lambda k=k: self.mark(k))
            self.shortcuts.append(shortcut)
        self.timer = QTimer(self)
        self.timer.setInterval(500)
        self.timer.timeout.connect(self.refresh)
        self.timer.start()

    # -- LSL --------------------------------------------------------------------------
    def set_lsl(self, on: bool) -> None:
        """Publish (or withdraw) the LSL streams."""
        engine = self.runner.engine
        if on and self.outlets is None:
            from app.streams.lsl_outlet import LslOutletSink

            self.outlets = LslOutletSink(engine.sources)
            self.runner.submit(engine.add_sink(self.outlets))
            self.message.emit("LSL on: streams are visible on this network")
        elif not on and self.outlets is not None:
            self.runner.submit(engine.remove_sink(self.outlets))
            self.outlets = None
            self.message.emit("LSL off")
        self.refresh()

    # -- recording --------------------------------------------------------------------
    def record_to(self, path: Path) -> None:
        """Start recording to ``path`` (``heartsync run --record FILE`` in the window)."""
        self._requested_path = path
        self.record.setChecked(True)

    def set_recording(self, on: bool) -> None:
        """Start (or stop) recording to a new file in :attr:`folder`."""
        engine = self.runner.engine
        if on and self.recorder is None:
            from app.recording.recorder import XdfRecorder

            stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
            path, self._requested_path = self._requested_path, None
            path = path or self.folder / f"heartsync-{stamp}.xdf"
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                self.recorder = XdfRecorder(path, engine.sources, on_error=self._on_recorder_error)
            except (RecordingError, OSError) as exc:
                text = str(exc) if isinstance(exc, RecordingError) else f"cannot record: {exc}"
                self._show_error(text)
                self.record.setChecked(False)
                return
            self.runner.submit(engine.add_sink(self.recorder))
            self.record.setText("■ Stop")
            self.message.emit(f"recording to {path}")
        elif not on and self.recorder is not None:
            recorder, self.recorder = self.recorder, None
            self.runner.submit(engine.remove_sink(recorder))
            self.record.setText("● Record")
            if recorder.error is None:
                self.message.emit(f"saved {recorder.path}")
            self.info.setText(f"saved {recorder.path.name}")
            self.info.setToolTip(str(recorder.path))
            self._finished = recorder
            self.last_recording = recorder.path
            self.report_action.setEnabled(True)
            self.pdf_action.setEnabled(True)

    def _on_recorder_error(self, error: Exception) -> None:  # writer thread
        self._signals.recording_failed.emit(str(error))

    def _recording_failed(self, text: str) -> None:
        self._show_error(text)
        self.record.setChecked(False)

    def _show_error(self, text: str) -> None:
        self.info.setText("recording failed")
        self.info.setStyleSheet("color: #D55E00;")
        self.info.setToolTip(text)
        self.message.emit(text)

    def session_report(self, open_url=None, pdf: bool = False):
        """Analyse the last recording off the UI thread, with progress, and open the report.

        With ``pdf`` the report is also written (and opened) as a PDF.
        """
        from ui.session_report import ReportJob

        if self.last_recording is None:
            return None
        recorder = self._finished
        options = {} if open_url is None else {"open_url": open_url}
        job = ReportJob(
            self.last_recording,
            self.parentWidget(),
            ready=lambda: recorder.closed and not recorder._thread.is_alive(),
            pdf=pdf,
            **options,
        )
        job.finished.connect(
            lambda report: self.message.emit(f"report: {report}" if report else "no report")
        )
        self.report_job = job
        job.start()
        return job

    # -- markers ----------------------------------------------------------------------
    def mark(self, key: int) -> None:
        """Send marker ``key`` (1-9) with its label."""
        label = self.labels[key - 1]
        engine = self.runner.engine

        async def mark() -> None:
            engine.mark(label)

        self.runner.submit(mark())
        self.message.emit(f"marker {key}: {label}")

    def edit_markers(self) -> MarkerLabels:
        """Open the dialog that edits the marker labels."""
        dialog = MarkerLabels(self.labels, self)
        dialog.accepted.connect(lambda: setattr(self, "labels", dialog.labels()))
        dialog.open()
        return dialog

    # -- replay -----------------------------------------------------------------------
    def choose_recording(self) -> None:
        """Pick an XDF file and replay it."""
        path, _ = QFileDialog.getOpenFileName(
            self, "Open recording", str(self.folder), "XDF recordings (*.xdf *.xdfz)"
        )
        if path:
            self.open_recording(Path(path))

    def open_recording(
        self, path: Path, speed: float | None = None, seek_s: float = 0.0
    ) -> QWidget | None:
        """Replay a recording in a new window; returns it (None after an error).

        ``seek_s``: start there (the beats before it are replayed as fast as possible).
        """
        from app.engine import Engine

        speed = SPEEDS[self.speed.currentText()] if speed is None else speed
        try:
            sources = recording_sources(path, speed)
        except SourceSpecError as exc:
            QMessageBox.warning(self, "Cannot replay", str(exc))
            self.message.emit(str(exc))
            return None
        runner = EngineThread(Engine(sources), keep_alive=True)
        window = self.open_window(runner)
        window.setWindowTitle(f"heartsync — replay of {path.name}")
        self.replays.append(window)
        if seek_s > 0 and hasattr(sources[0], "session"):
            sources[0].session.seek(sources[0].session.t_first + seek_s)
        runner.start()
        window.show()
        return window

    # -- display ----------------------------------------------------------------------
    def refresh(self) -> None:
        """Stream count, elapsed time and file size."""
        names = self.outlets.stream_names if self.outlets is not None else []
        self.streams.setText(f"{len(names)} streams" if self.outlets is not None else "")
        self.streams.setToolTip("\n".join(names))
        recorder = self.recorder
        if recorder is not None and recorder.error is None:
            minutes, seconds = divmod(int(recorder.elapsed_s), 60)
            hours, minutes = divmod(minutes, 60)
            self.info.setStyleSheet("color: #D55E00; font-weight: 600;")
            self.info.setText(
                f"REC {hours}:{minutes:02d}:{seconds:02d} · {recorder.bytes_written / 1e6:.2f} MB"
            )
            self.info.setToolTip(str(recorder.path))
