"""The "Session report" button's work: analyse a recording off the UI thread, then open it.

:class:`ReportJob` runs :func:`app.analysis.analyze.analyze` on a worker thread while a progress
dialog shows how far it got, and opens the finished ``report.html`` in the browser
(``QDesktopServices.openUrl``). The UI thread never waits.
"""

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QMessageBox, QProgressDialog, QWidget

from app.recording.recorder import RecordingError

log = logging.getLogger(__name__)


class _Signals(QObject):
    progress = Signal(int)
    done = Signal(str)
    failed = Signal(str)


class ReportJob(QObject):
    """Analyse one recording in the background and open its report.

    Parameters
    ----------
    path : Path
        The recording.
    parent : QWidget
        Owner of the progress dialog.
    ready : callable or None
        Returns True once the file is complete (the recorder closed it); polled on the
        worker thread for up to ``wait_s`` before analysing.
    open_url : callable
        Opens the finished report (``QDesktopServices.openUrl``; tests pass a recorder).
    wait_s : float
        Longest wait for ``ready``, s.
    pdf : bool
        Also write ``report.pdf`` (A4 or Letter, :mod:`app.report.pdf`) and open that.
    """

    finished = Signal(str)  # the report's path, or "" after an error

    def __init__(
        self,
        path: Path,
        parent: QWidget,
        ready: Callable[[], bool] | None = None,
        open_url: Callable[[QUrl], object] = QDesktopServices.openUrl,
        wait_s: float = 15.0,
        pdf: bool = False,
    ) -> None:
        super().__init__(parent)
        self.path = Path(path)
        self.ready = ready
        self.open_url = open_url
        self.wait_s = wait_s
        self.pdf = pdf
        self.report: Path | None = None
        self.error = ""
        self.signals = _Signals()
        self.signals.progress.connect(self._on_progress)
        self.signals.done.connect(self._on_done)
        self.signals.failed.connect(self._on_failed)
        self.dialog = QProgressDialog(f"Analysing {self.path.name}…", "", 0, 100, parent)
        self.dialog.setWindowTitle("Session report")
        self.dialog.setCancelButton(None)
        self.dialog.setWindowModality(Qt.WindowModality.NonModal)
        self.dialog.setMinimumDuration(0)
        self.thread = threading.Thread(target=self._work, name="session report", daemon=True)

    def start(self) -> None:
        """Show the progress dialog and start the analysis."""
        self.dialog.setValue(0)
        self.dialog.show()
        self.thread.start()

    def _work(self) -> None:  # worker thread: only signals cross back
        from app.analysis.analyze import analyze

        if self.ready is not None:
            deadline = time.monotonic() + self.wait_s
            while not self.ready() and time.monotonic() < deadline:
                time.sleep(0.05)
        try:
            analysis = analyze(
                self.path, progress=lambda f: self.signals.progress.emit(int(100 * f))
            )
        except (RecordingError, OSError) as exc:
            self.signals.failed.emit(str(exc))
            return
        except Exception as exc:  # an analysis bug must not pass silently in a thread
            log.exception("session report of %s failed", self.path)
            self.signals.failed.emit(f"the analysis failed: {exc}")
            return
        self.signals.done.emit(str(analysis.files["report"]))

    def _on_progress(self, percent: int) -> None:
        self.dialog.setValue(min(percent, 99))

    def _on_done(self, report: str) -> None:
        self.dialog.setValue(100)
        self.dialog.close()
        self.report = Path(report)
        if self.pdf:  # Qt's PDF writer on the UI thread, which owns the application
            from app.report.pdf import PdfError, write_pdf

            try:
                report = str(write_pdf(self.report, self.report.with_suffix(".pdf")))
            except PdfError as exc:
                self._on_failed(str(exc))
                return
            self.report = Path(report)
        log.info("session report: %s", report)
        self.open_url(QUrl.fromLocalFile(report))
        self.finished.emit(report)

    def _on_failed(self, text: str) -> None:
        self.dialog.close()
        self.error = text
        parent = self.parent()
        self.message_box = QMessageBox(
            QMessageBox.Icon.Warning, "Session report", text, parent=parent
        )
        self.message_box.open()  # not exec(): the window keeps running
        self.finished.emit("")
