"""Guided resting baseline and the profile controls of one subject."""

import concurrent.futures
import dataclasses
import math

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.profiles import ArousalSettings, CalibrationSettings, Profile, ProfileError, ProfileStore
from app.runtime import EngineThread
from ui.arousal_view import format_minutes
from ui.elided_label import ElidedLabel

INSTRUCTIONS = (
    "Sit comfortably, breathe normally and stay still. Talk as little as you can. "
    "The first minute is for settling and is not used."
)


class CalibrationDialog(QDialog):
    """Take a resting baseline for one subject and save it to a profile.

    Parameters
    ----------
    runner : EngineThread
        The running engine.
    subject : str
        Whose baseline.
    store : ProfileStore
        Where the profile is saved.
    name : str
        Suggested profile name.
    """

    def __init__(
        self, runner: EngineThread, subject: str, store: ProfileStore, name: str = "", parent=None
    ) -> None:
        super().__init__(parent)
        self.runner, self.subject, self.store = runner, subject, store
        self.setWindowTitle(f"Calibrate a resting baseline — {subject}")
        self.name = QComboBox()
        self.name.setEditable(True)
        self.name.addItems(store.names())
        self.name.setEditText(name or subject)
        self.minutes = QSpinBox()
        self.minutes.setRange(3, 10)
        self.minutes.setValue(5)
        self.minutes.setSuffix(" min")
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.countdown = QLabel("")
        self.message = QLabel(INSTRUCTIONS)
        self.message.setWordWrap(True)
        self.start_button = QPushButton("Start")
        self.cancel_button = QPushButton("Cancel")
        row = QHBoxLayout()
        row.addWidget(QLabel("Name or alias"))
        row.addWidget(self.name, 1)
        row.addWidget(QLabel("Rest for"))
        row.addWidget(self.minutes)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.message)
        layout.addWidget(self.progress)
        layout.addWidget(self.countdown)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.cancel_button)
        layout.addLayout(buttons)
        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.reject)
        self.future: concurrent.futures.Future | None = None
        self.profile: Profile | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(200)
        self._timer.timeout.connect(self._poll)

    def start(self) -> None:
        """Begin the rest on the engine loop."""
        settings = CalibrationSettings(duration_s=60.0 * self.minutes.value())
        self.future = self.runner.submit(self.runner.engine.calibrate(self.subject, settings))
        self.start_button.setEnabled(False)
        self.name.setEnabled(False)
        self.minutes.setEnabled(False)
        self.message.setText(INSTRUCTIONS)
        self._timer.start()

    def _poll(self) -> None:
        view = next(
            (
                s.calibration
                for s in self.runner.engine.snapshot.subjects
                if s.subject == self.subject
            ),
            None,
        )
        if view is not None:
            self.progress.setValue(round(1000 * view.progress))
            left = view.duration_s - view.elapsed_s
            settling = view.elapsed_s < 60
            self.countdown.setText(
                f"{format_minutes(left)} left" + (" — settling" if settling else "")
            )
        if self.future is None or not self.future.done():
            return
        self._timer.stop()
        try:
            baseline = self.future.result()
        except concurrent.futures.CancelledError:
            return
        except Exception as exc:  # CalibrationError: the message says what to do
            self.message.setText(f"Baseline refused: {exc}")
            self.start_button.setText("Try again")
            self.start_button.setEnabled(True)
            self.name.setEnabled(True)
            self.minutes.setEnabled(True)
            return
        name = self.name.currentText().strip() or self.subject
        try:
            old = self.store.load(name) if name in self.store.names() else Profile(name)
            self.profile = old.calibrated(baseline)
            self.store.save(self.profile)
        except ProfileError as exc:
            self.message.setText(f"The baseline is ready but could not be saved: {exc}")
            return
        self.message.setText(
            f"Saved for {name}: resting HR {baseline.hr_bpm:.0f} bpm, "
            f"RMSSD {math.exp(baseline.ln_rmssd):.0f} ms, "
            f"{100 * baseline.clean_fraction:.0f} % clean."
        )
        self.accept()

    def reject(self) -> None:
        """Cancel: abandon a calibration under way."""
        if self.future is not None and not self.future.done():
            self.future.cancel()
        self._timer.stop()
        super().reject()


class ProfileControls(QWidget):
    """Choose, calibrate, widen and delete the profile of one subject.

    Emits :attr:`message` with text for the status bar.
    """

    message = Signal(str)

    def __init__(
        self, runner: EngineThread, subject: str, store: ProfileStore, parent=None
    ) -> None:
        super().__init__(parent)
        self.runner, self.subject, self.store = runner, subject, store
        self.profile: Profile | None = None
        self.choice = QComboBox()
        self.choice.setMinimumContentsLength(12)
        self.choice.setToolTip("Whose baseline the zones are measured against")
        self.widen = QDoubleSpinBox()
        self.widen.setRange(-0.5, 2.0)
        self.widen.setSingleStep(0.5)
        self.widen.setPrefix("band ± ")
        self.widen.setToolTip(
            "Clinician setting: widen (or narrow) this person's window of tolerance, in z "
            "units; saved in the profile (choose a profile first)"
        )
        self.calibrate_button = QPushButton("Calibrate…")
        self.delete_button = QPushButton("Delete")
        self.age = ElidedLabel("")  # calibration date and how long ago (never widens the window)
        self.age.setStyleSheet("color: #555;")
        self.delete_button.setToolTip("Delete the chosen profile and its baseline")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("Profile"))
        for w in (self.choice, self.widen, self.calibrate_button, self.delete_button, self.age):
            layout.addWidget(w)
        self.reload()
        self.choice.currentIndexChanged.connect(self._chosen)
        self.widen.valueChanged.connect(self._widened)
        self.calibrate_button.clicked.connect(self.calibrate)
        self.delete_button.clicked.connect(self.delete)

    def reload(self, select: str | None = None) -> None:
        """Refill the list of profiles."""
        self.choice.blockSignals(True)
        self.choice.clear()
        self.choice.addItem("(none)")
        self.choice.addItems(self.store.names())
        if select is not None:
            self.choice.setCurrentText(select)
        self.choice.blockSignals(False)
        self._enable()

    def _enable(self) -> None:
        """Delete and the band act on a chosen profile: disabled without one."""
        chosen = self.choice.currentIndex() > 0
        self.delete_button.setEnabled(chosen)
        self.widen.setEnabled(self.profile is not None)

    def use(self, name: str | None) -> None:
        """Measure the subject against the named profile (None: no arousal estimate)."""
        self.profile = None
        if name:
            try:
                self.profile = self.store.load(name)
            except ProfileError as exc:
                self.message.emit(str(exc))
        baseline = self.profile.baseline if self.profile else None
        if self.profile is not None and baseline is None:
            self.message.emit(f"{self.profile.name} has no baseline yet: calibrate first")
        self.show_age()
        band = self.profile.band_widen if self.profile else 0.0
        self.widen.blockSignals(True)
        self.widen.setValue(band)
        self.widen.blockSignals(False)
        self._enable()
        self.runner.call(
            self.runner.engine.set_baseline,
            self.subject,
            baseline,
            ArousalSettings(band_widen=band),
        )

    def show_age(self) -> None:
        """Show when the profile was calibrated; after 30 days suggest calibrating again."""
        if self.profile is None or self.profile.baseline is None:
            self.age.setText("")
            return
        text = self.profile.calibration_text()
        old = self.profile.needs_recalibration()
        self.age.setText(text)
        self.age.setStyleSheet("color: #D55E00; font-weight: 600;" if old else "color: #555;")
        if old:
            self.message.emit(f"{self.profile.name}: {text}")

    def _chosen(self, index: int) -> None:
        self.use(self.choice.currentText() if index > 0 else None)

    def _widened(self, value: float) -> None:
        if self.profile is None:
            return
        self.profile = dataclasses.replace(self.profile, band_widen=value)
        try:
            self.store.save(self.profile)
        except ProfileError as exc:
            self.message.emit(str(exc))
        self.use(self.profile.name)

    def calibrate(self) -> CalibrationDialog:
        """Open the calibration dialog; the new profile is used when it is saved."""
        dialog = CalibrationDialog(
            self.runner,
            self.subject,
            self.store,
            self.profile.name if self.profile else "",
            parent=self,
        )

        def done() -> None:
            if dialog.profile is not None:
                self.reload(select=dialog.profile.name)
                self.use(dialog.profile.name)
                self.message.emit(f"baseline saved for {dialog.profile.name}")

        dialog.accepted.connect(done)
        dialog.show()
        return dialog

    def confirm_delete(self, name: str) -> bool:
        """Ask before deleting a profile (its baseline took minutes to take)."""
        answer = QMessageBox.question(
            self, "Delete profile", f"Delete the profile {name!r} and its baseline?"
        )
        return answer == QMessageBox.StandardButton.Yes

    def delete(self) -> None:
        """Delete the chosen profile after asking."""
        name = self.choice.currentText()
        if self.choice.currentIndex() <= 0 or not self.confirm_delete(name):
            return
        try:
            self.store.delete(name)
        except ProfileError as exc:
            self.message.emit(str(exc))
        self.reload()
        self.use(None)
        self.message.emit(f"profile {name} deleted")
