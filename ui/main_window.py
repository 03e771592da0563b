"""The main window: one panel and tachogram per subject, refreshed from engine snapshots."""

import math

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QLabel, QMainWindow, QVBoxLayout, QWidget

from app.runtime import EngineThread
from app.snapshot import Snapshot
from sensors.base import SourceStatus
from ui.device_picker import DevicePicker
from ui.plots import TachogramPlot
from ui.subject_panel import SubjectPanel

DISCLAIMER = "heartsync is not a medical device."


class EngineEvents(QObject):
    """Engine -> UI notifications, emitted on the engine thread, delivered queued."""

    status_changed = Signal(str, object)  # source name, SourceStatus
    finished = Signal(str)  # "" or the error that stopped the engine


class MainWindow(QMainWindow):
    """Live view of every subject.

    Parameters
    ----------
    runner : EngineThread
        The engine thread to read snapshots from and stop on close.
    refresh_hz : float
        How often the window reads the snapshot (frames may be dropped; data never is).
    """

    def __init__(self, runner: EngineThread, refresh_hz: float = 30.0) -> None:
        super().__init__()
        self.runner = runner
        self.setWindowTitle("heartsync")
        self.resize(960, 640)
        self.events = EngineEvents()
        self.events.status_changed.connect(self._on_status)
        self.events.finished.connect(self._on_finished)
        for subject in runner.engine.sources:
            subject.add_status_listener(self.events.status_changed.emit)
        self._body = QVBoxLayout()
        central = QWidget()
        central.setLayout(self._body)
        self.setCentralWidget(central)
        self.panels: dict[str, SubjectPanel] = {}
        self.plots: dict[str, TachogramPlot] = {}
        for source in runner.engine.sources:
            self._add_subject(source.subject, getattr(source, "simulated", False))
        self.statusBar().addPermanentWidget(QLabel(DISCLAIMER))
        toolbar = self.addToolBar("session")
        toolbar.setMovable(False)
        self.strap_action = toolbar.addAction("Strap…", lambda: self.pick_strap())
        self.strap_action.setToolTip("Scan for Bluetooth heart-rate straps and connect one")
        self.frames = 0
        self._shown: Snapshot | None = None
        self.timer = QTimer(self)
        self.timer.setInterval(round(1000 / refresh_hz))
        self.timer.timeout.connect(self.refresh)
        self.timer.start()

    def _add_subject(self, subject: str, simulated: bool) -> None:
        panel = SubjectPanel(subject)
        panel.badge.setVisible(simulated)
        plot = TachogramPlot()
        self._body.addWidget(panel)
        self._body.addWidget(plot, stretch=1)
        self.panels[subject] = panel
        self.plots[subject] = plot

    def pick_strap(self, subject: str | None = None) -> DevicePicker:
        """Open the strap picker for a subject (the first one by default)."""
        picker = DevicePicker(self.runner, subject or next(iter(self.panels)), parent=self)
        picker.setModal(True)
        picker.show()
        return picker

    def refresh(self) -> None:
        """Draw the newest snapshot if it changed (one reference read, no locks)."""
        snapshot = self.runner.engine.snapshot
        self.frames += 1
        if snapshot is self._shown:
            return
        self._shown = snapshot
        for s in snapshot.subjects:
            self.panels[s.subject].show_snapshot(s)
            if math.isfinite(snapshot.t_s):
                self.plots[s.subject].show_snapshot(s, snapshot.t_s)

    def _on_status(self, source: str, status: SourceStatus) -> None:
        text = f"{source}: {status.state.value}"
        if status.message:
            text += f" — {status.message}"
        self.statusBar().showMessage(text, 10_000)

    def _on_finished(self, error: str) -> None:
        self.refresh()
        self.statusBar().showMessage(f"session stopped: {error}" if error else "session ended")

    def closeEvent(self, event: QCloseEvent) -> None:
        """Stop the engine thread before the window goes."""
        self.timer.stop()
        self.runner.stop()
        super().closeEvent(event)
