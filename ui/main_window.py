"""The main window: one column per subject, refreshed from engine snapshots at 30 Hz."""

import math
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QStackedWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from app.profiles import ProfileStore
from app.runtime import EngineThread
from app.snapshot import WARMUP_S, Snapshot, SourceStatus, SubjectSnapshot
from ui.arousal_view import ArousalPlot, ZoneIndicator, subject_zone, zone_times_text
from ui.breathing_view import BreathingDock
from ui.calibration import ProfileControls
from ui.client_view import CLIENT_VIEW_KEY, ClientView
from ui.device_picker import DevicePicker
from ui.ecg_view import EcgTrace
from ui.history_view import HistoryControls
from ui.plots import TachogramPlot
from ui.recording_bar import RecordingBar
from ui.replay_bar import ReplayBar, replay_session
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
        self.zone.show_zone(*subject_zone(s, SILENT_S))
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
        self.pages = QStackedWidget()
        self.pages.addWidget(central)
        self.setCentralWidget(self.pages)
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
        self.client_view = ClientView(list(self.columns), SILENT_S)
        self.pages.addWidget(self.client_view)
        self.statusBar().addPermanentWidget(QLabel(DISCLAIMER))
        toolbar = self.addToolBar("session")
        toolbar.setMovable(False)
        self.strap_action = toolbar.addAction("Strap…", lambda: self.pick_strap())
        self.strap_action.setToolTip("Scan for Bluetooth heart-rate straps and connect one")
        self.client_action = toolbar.addAction("Client view", self.toggle_client_view)
        self.client_action.setShortcut(QKeySequence(CLIENT_VIEW_KEY))
        self.client_action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
        self.client_action.setToolTip(
            "Full screen, each person's zone as a large shape and word (F11; Esc leaves)"
        )
        leave = QShortcut(QKeySequence(Qt.Key.Key_Escape), self)
        leave.activated.connect(lambda: self.client_view_on and self.toggle_client_view())
        self.sound = QCheckBox("sound cue")
        self.sound.setToolTip("A soft beep when someone leaves their window")
        self.sound.toggled.connect(self._sound_toggled)
        toolbar.addWidget(self.sound)
        self.breathing = BreathingDock(self, toolbar)
        self.history = HistoryControls(self, toolbar, runner, self.store, config_path)
        self.recording_bar = RecordingBar(runner, self, open_window=MainWindow)
        self.recording_bar.message.connect(lambda text: self.statusBar().showMessage(text, 10_000))
        self.addToolBar(self.recording_bar)
        session = replay_session(runner.engine.sources)
        self.replay_bar = None if session is None else ReplayBar(session, self._replay_again, self)
        if self.replay_bar is not None:
            self.addToolBarBreak()
            self.addToolBar(self.replay_bar)
        self._was_maximized = False
        self._first_beat_t: dict[str, float] = {}  # stream time, s: warm-up countdowns
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

    @property
    def client_view_on(self) -> bool:
        """The client view is showing."""
        return self.pages.currentWidget() is self.client_view

    def toggle_client_view(self) -> None:
        """Switch between the full window and the full-screen client view."""
        on = not self.client_view_on
        for bar in self.findChildren(QToolBar):
            bar.setVisible(not on)
        self.statusBar().setVisible(not on)
        if on:
            self._was_maximized = self.isMaximized()
            self.client_view.show_snapshot(self.runner.engine.snapshot)
            self.pages.setCurrentWidget(self.client_view)
            self.showFullScreen()
        else:
            self.pages.setCurrentIndex(0)
            if self._was_maximized:
                self.showMaximized()
            else:
                self.showNormal()

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
            if s.subject not in self._first_beat_t and s.t_s.size:
                self._first_beat_t[s.subject] = float(s.t_s[0])
        if self.synchrony is not None:
            self.synchrony.show_view(
                snapshot.synchrony, snapshot.t_s, self._sync_warmup_left(snapshot)
            )
        if self.client_view_on:
            self.client_view.show_snapshot(snapshot)
        if self.replay_bar is not None:
            self.replay_bar.show_snapshot(snapshot)

    def _replay_again(self, position_s: float) -> QWidget | None:
        """Seek back: the recording replayed again in a new window, fast up to the position."""
        session = self.replay_bar.session
        window = self.recording_bar.open_recording(session.path, session.speed, position_s)
        if window is not None:
            self.close()
        return window

    def _sync_warmup_left(self, snapshot: Snapshot) -> float:
        """Seconds until both people have the synchrony's warm-up history (NaN: unknown)."""
        if len(self._first_beat_t) < len(self.columns) or not math.isfinite(snapshot.t_s):
            return math.nan
        return WARMUP_S["synchrony"] - (snapshot.t_s - max(self._first_beat_t.values()))

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
