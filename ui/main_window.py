"""The main window: one column per subject, refreshed from engine snapshots at 30 Hz."""

import math
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QMainWindow, QVBoxLayout, QWidget

from app.profiles import ProfileStore
from app.runtime import EngineThread
from app.snapshot import Snapshot, SourceStatus, SubjectSnapshot, Zone
from ui.arousal_view import NO_PROFILE, ArousalPlot, ZoneIndicator, zone_times_text
from ui.breathing_view import BreathingDock
from ui.calibration import ProfileControls
from ui.device_picker import DevicePicker
from ui.ecg_view import EcgTrace
from ui.plots import TachogramPlot
from ui.recording_bar import RecordingBar
from ui.subject_panel import SubjectPanel
from ui.synchrony_view import SynchronyPanel

DISCLAIMER = "heartsync is not a medical device."
SILENT_S = 5.0  # no beats for this long: the zone is unknown until they return


class EngineEvents(QObject):
    """Engine -> UI notifications, emitted on the engine thread, delivered queued."""

    status_changed = Signal(str, object)  # source name, SourceStatus
    finished = Signal(str)  # "" or the error that stopped the engine


class SubjectColumn(QWidget):
    """Everything shown for one subject: numbers, profile, zone, arousal and tachogram."""

    def __init__(
        self, runner: EngineThread, subject: str, simulated: bool, store: ProfileStore, parent=None
    ) -> None:
        super().__init__(parent)
        self.panel = SubjectPanel(subject)
        self.panel.badge.setVisible(simulated)
        self.profile = ProfileControls(runner, subject, store)
        self.zone = ZoneIndicator()
        self.zone_times = QLabel("")
        self.zone_times.setStyleSheet("color: #555;")
        self.arousal = ArousalPlot()
        self.tachogram = TachogramPlot()
        self.ecg = EcgTrace(runner, subject)  # shown while a Polar strap streams ECG
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.panel)
        layout.addWidget(self.profile)
        layout.addWidget(self.zone)
        layout.addWidget(self.zone_times)
        layout.addWidget(self.arousal, stretch=1)
        layout.addWidget(self.tachogram, stretch=1)
        layout.addWidget(self.ecg)

    def show_snapshot(self, s: SubjectSnapshot, now_s: float) -> None:
        """Update every widget of the column."""
        self.panel.show_snapshot(s)
        arousal = s.last.arousal if s.last is not None else None
        if s.baseline is None:
            self.zone.show_zone(None, NO_PROFILE)
        elif s.silent_s > SILENT_S:
            self.zone.show_zone(Zone.UNKNOWN, f"no beats for {s.silent_s:.0f} s")
        else:
            self.zone.show_zone(
                arousal.zone if arousal else None, arousal.reason if arousal else ""
            )
        self.zone_times.setText(zone_times_text(s) if s.baseline is not None else "")
        if math.isfinite(now_s):
            self.arousal.show_snapshot(s, now_s)
            self.tachogram.show_snapshot(s, now_s)


class MainWindow(QMainWindow):
    """Live view of every subject.

    Parameters
    ----------
    runner : EngineThread
        The engine thread to read snapshots from and stop on close.
    refresh_hz : float
        How often the window reads the snapshot (frames may be dropped; data never is).
    profiles : Path or None
        Folder of profiles (the user's data folder by default).
    config_path : Path or None
        Settings file where the chosen strap is remembered (the user's by default).
    """

    def __init__(
        self,
        runner: EngineThread,
        refresh_hz: float = 30.0,
        profiles: Path | None = None,
        config_path: Path | None = None,
    ) -> None:
        super().__init__()
        self.runner = runner
        self.config_path = config_path
        self.store = ProfileStore(profiles)
        self.setWindowTitle("heartsync")
        self.resize(1100, 800)
        self.events = EngineEvents()
        self.events.status_changed.connect(self._on_status)
        self.events.finished.connect(self._on_finished)
        runner.engine.add_status_listener(self.events.status_changed.emit)
        body = QHBoxLayout()
        outer = QVBoxLayout()
        outer.addLayout(body, stretch=3)
        central = QWidget()
        central.setLayout(outer)
        self.setCentralWidget(central)
        self.columns: dict[str, SubjectColumn] = {}
        for source in runner.engine.sources:
            column = SubjectColumn(
                runner, source.subject, getattr(source, "simulated", False), self.store
            )
            column.profile.message.connect(lambda text: self.statusBar().showMessage(text, 10_000))
            body.addWidget(column)
            self.columns[source.subject] = column
        # two people: their heart-rate synchrony below both columns
        self.synchrony = SynchronyPanel(runner) if len(self.columns) == 2 else None
        if self.synchrony is not None:
            outer.addWidget(self.synchrony, stretch=1)
        self.statusBar().addPermanentWidget(QLabel(DISCLAIMER))
        toolbar = self.addToolBar("session")
        toolbar.setMovable(False)
        self.strap_action = toolbar.addAction("Strap…", lambda: self.pick_strap())
        self.strap_action.setToolTip("Scan for Bluetooth heart-rate straps and connect one")
        self.sound = QCheckBox("sound cue")
        self.sound.setToolTip("A soft beep when someone leaves their window")
        self.sound.toggled.connect(self._sound_toggled)
        toolbar.addWidget(self.sound)
        self.breathing = BreathingDock(self, toolbar)
        self.recording_bar = RecordingBar(runner, self, open_window=MainWindow)
        self.recording_bar.message.connect(lambda text: self.statusBar().showMessage(text, 10_000))
        self.addToolBar(self.recording_bar)
        self.frames = 0
        self._shown: Snapshot | None = None
        self._shown_subjects: dict[str, SubjectSnapshot] = {}
        self.timer = QTimer(self)
        self.timer.setInterval(round(1000 / refresh_hz))
        self.timer.timeout.connect(self.refresh)
        self.timer.start()

    @property
    def panels(self) -> dict[str, SubjectPanel]:
        """Number panels by subject."""
        return {name: c.panel for name, c in self.columns.items()}

    @property
    def plots(self) -> dict[str, TachogramPlot]:
        """Tachograms by subject."""
        return {name: c.tachogram for name, c in self.columns.items()}

    def _sound_toggled(self, on: bool) -> None:
        for column in self.columns.values():
            column.zone.sound = on

    def pick_strap(self, subject: str | None = None) -> DevicePicker:
        """Open the strap picker for a subject (the first one by default)."""
        picker = DevicePicker(
            self.runner,
            subject or next(iter(self.columns)),
            config_path=self.config_path,
            parent=self,
        )
        picker.setModal(True)
        picker.show()
        return picker

    def refresh(self) -> None:
        """Draw the newest snapshot if it changed (one reference read, no locks)."""
        snapshot = self.runner.engine.snapshot
        self.frames += 1
        self.breathing.refresh()
        for column in self.columns.values():
            column.ecg.refresh()
        if snapshot is self._shown:
            return
        self._shown = snapshot
        for s in snapshot.subjects:
            # the engine keeps an unchanged subject's snapshot: nothing of theirs to redraw
            if self._shown_subjects.get(s.subject) is s:
                continue
            self._shown_subjects[s.subject] = s
            self.columns[s.subject].show_snapshot(s, snapshot.t_s)
        if self.synchrony is not None:
            self.synchrony.show_view(snapshot.synchrony, snapshot.t_s)

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
