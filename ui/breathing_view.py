"""Regulated breathing panel: pacer, live feedback, session summary, resonance assessment.

Reads :attr:`app.breathing.session.BreathingSession.view` (immutable) on the window's 30 Hz
refresh and sends commands to the engine thread; computes nothing itself.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDockWidget,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.breathing.session import (
    CHALLENGES,
    CRITERIA,
    DEFAULT_RATES,
    AssessmentView,
    BreathingSession,
    BreathingView,
    PacerSettings,
    fraction_threshold,
    resonance_rate,
    round_rate,
    volumes,
    with_resonance,
)
from app.profiles import Profile, ProfileError, ProfileStore
from app.runtime import EngineThread
from ui.pacer import PacerWidget
from ui.plots import BLUE, GREY, ORANGE
from ui.tone import BreathTone, missing_audio

#: The ranking table's short two-line headers and number formats (full names: tooltips).
TABLE_HEADERS = {
    "peak_to_trough_bpm": ("peak-trough\nHR (bpm)", ".1f"),
    "lf_peak_ms2_hz": ("LF peak\n(ms²/Hz)", ",.0f"),
    "phase_deg": ("HR-breath\nphase (°)", ".0f"),
    "peak_fraction": ("single\npeak", ".2f"),
}


def _fmt(value: float, spec: str, unit: str = "") -> str:
    return "–" if not math.isfinite(value) else f"{value:{spec}}{unit}"


_CHEST_QUALITY = {
    "warming up": "measuring… (half a minute)",
    "movement": "movement: sit still for a moment",
    "posture": "posture changed: measuring again",
    "irregular": "irregular breathing (talking?)",
}


def _chest_verdict(following: str, lag_s: float, pacer_rate: float) -> str:
    """The measured breath against the pacer, in words ("" without a pacer)."""
    if following == "following":
        return "with the pacer"
    if following in ("behind", "ahead"):
        return f"{abs(lag_s):.1f} s {following} the pacer"
    if following in ("faster", "slower"):
        return f"{following} than the pacer ({pacer_rate:.1f} /min)"
    return ""


def _mmss(seconds: float) -> str:
    s = max(0, round(seconds))
    return f"{s // 60}:{s % 60:02d}"


class BreathingPanel(QWidget):
    """Pacer, feedback and the resonance assessment for the session's first subject.

    Parameters
    ----------
    runner : EngineThread
        The engine thread (commands go through ``runner.call``).
    session : BreathingSession
        The session's breathing feature (a sink on the engine).
    profile_of : callable
        ``profile_of() -> (ProfileStore, Profile | None)`` of the subject shown.
    on_profile_saved : callable
        Called with the saved :class:`Profile` (the profile controls keep it).
    """

    message = Signal(str)

    def __init__(
        self,
        runner: EngineThread,
        session: BreathingSession,
        profile_of: Callable[[], tuple[ProfileStore, Profile | None]],
        on_profile_saved: Callable[[Profile], None] = lambda p: None,
        parent=None,
    ) -> None:
        super().__init__(parent)
        self.runner, self.session = runner, session
        self.profile_of, self.on_profile_saved = profile_of, on_profile_saved
        self.subject = runner.engine.sources[0].subject
        self._shown: BreathingView | None = None
        self._ranking_shown: AssessmentView | None = None
        self.tone = BreathTone(self._volume_now)
        layout = QVBoxLayout(self)

        # -- pacer controls
        controls = QGroupBox("Pacer")
        form = QFormLayout(controls)
        self.rate = QDoubleSpinBox()
        self.rate.setRange(3.0, 10.0)
        self.rate.setSingleStep(0.1)
        self.rate.setDecimals(1)
        self.rate.setSuffix(" breaths/min")
        self.rate.setValue(6.0)
        self.inhale = QDoubleSpinBox()
        self.exhale = QDoubleSpinBox()
        for box, value in ((self.inhale, 4.0), (self.exhale, 6.0)):
            box.setRange(1.0, 10.0)
            box.setSingleStep(0.5)
            box.setValue(value)
        ratio = QHBoxLayout()
        ratio.addWidget(self.inhale)
        ratio.addWidget(QLabel(":"))
        ratio.addWidget(self.exhale)
        self.hold_in = QDoubleSpinBox()
        self.hold_out = QDoubleSpinBox()
        holds = QHBoxLayout()
        for box, label in ((self.hold_in, "after in"), (self.hold_out, "after out")):
            box.setRange(0.0, 5.0)
            box.setSingleStep(0.5)
            box.setSuffix(" s")
            holds.addWidget(QLabel(label))
            holds.addWidget(box)
        self.start_button = QPushButton("Start pacer")
        self.start_button.setCheckable(True)
        self.sound = QCheckBox("tone")
        self.sound.setToolTip(
            "A soft tone that rises as you breathe in and falls as you breathe out"
        )
        if missing_audio():  # unavailable, and it says why
            self.sound.setEnabled(False)
            self.sound.setToolTip(missing_audio())
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.sound)
        form.addRow("Rate", self.rate)
        form.addRow("In : out", ratio)
        form.addRow("Holds", holds)
        form.addRow(buttons)
        layout.addWidget(controls)
        self.pacer_controls = controls

        self.pacer = PacerWidget(runner.engine.stream_now)
        # the breath measured from the chest (a Polar strap), beside the pacer's
        self.breath_bar = QProgressBar()
        self.breath_bar.setOrientation(Qt.Orientation.Vertical)
        self.breath_bar.setRange(0, 100)
        self.breath_bar.setTextVisible(False)
        self.breath_bar.setToolTip("Your breath, measured from the strap's accelerometer")
        self.breath_bar.setVisible(False)
        beside = QHBoxLayout()
        beside.addWidget(self.pacer, stretch=1)
        beside.addWidget(self.breath_bar)
        layout.addLayout(beside, stretch=2)

        # -- feedback
        feedback = QGroupBox("Your heart")
        ff = QFormLayout(feedback)
        self.rate_label = QLabel("–")
        self.ptt_label = QLabel("–")
        self.coherence_label = QLabel("–")
        self.chest_label = QLabel("– (needs a Polar strap streaming acceleration: --pmd acc)")
        self.chest_coherence_label = QLabel("–")
        labels = (self.rate_label, self.ptt_label, self.coherence_label, self.chest_label)
        for label in (*labels, self.chest_coherence_label):
            label.setWordWrap(True)
        self.challenge = QComboBox()
        self.challenge.addItems(list(CHALLENGES))
        self.challenge.setToolTip("Harder levels need a cleaner, stronger rhythm for 'high'")
        ff.addRow("Breathing (from RSA)", self.rate_label)
        ff.addRow("Peak-to-trough HR", self.ptt_label)
        ff.addRow("Coherence", self.coherence_label)
        ff.addRow("Breathing (from the chest)", self.chest_label)
        ff.addRow("Coherence at that rate", self.chest_coherence_label)
        ff.addRow("Challenge", self.challenge)
        self.plot = pg.PlotWidget(background="w")
        self.plot.setMaximumHeight(130)
        self.plot.setYRange(0.0, 1.0)
        self.plot.setLabel("left", "coherence")
        self.plot.setLabel("bottom", "time before now (s)")
        self.plot.setMouseEnabled(False, False)
        self.curve = self.plot.plot(pen=pg.mkPen(BLUE, width=2))
        self.high_line = pg.InfiniteLine(angle=0, pen=pg.mkPen(ORANGE, style=Qt.PenStyle.DashLine))
        self.medium_line = pg.InfiniteLine(angle=0, pen=pg.mkPen(GREY, style=Qt.PenStyle.DashLine))
        self.plot.addItem(self.high_line)
        self.plot.addItem(self.medium_line)
        ff.addRow(self.plot)
        self.summary_label = QLabel("–")
        self.summary_label.setWordWrap(True)
        ff.addRow(QLabel("Session so far"))
        ff.addRow(self.summary_label)
        layout.addWidget(feedback)
        self.feedback_box = feedback

        # -- resonance assessment
        assess = QGroupBox("Resonance frequency")
        af = QFormLayout(assess)
        self.rates_edit = QLineEdit(", ".join(f"{r:g}" for r in DEFAULT_RATES))
        self.step_min = QDoubleSpinBox()
        self.step_min.setRange(0.5, 5.0)
        self.step_min.setSingleStep(0.5)
        self.step_min.setValue(2.0)
        self.step_min.setSuffix(" min each")
        self.assess_button = QPushButton("Find my resonance rate")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        row = QHBoxLayout()
        row.addWidget(self.assess_button)
        row.addWidget(self.cancel_button)
        self.progress = QLabel("Breathe with the pacer at each rate; the rates are then ranked.")
        self.progress.setWordWrap(True)
        self.table = QTableWidget(0, 2 + len(CRITERIA))
        self.table.setHorizontalHeaderLabels(
            ["rate\n(/min)", *(TABLE_HEADERS[key][0] for key, _ in CRITERIA), "score"]
        )
        for col, (_, label) in enumerate(CRITERIA, start=1):
            self.table.horizontalHeaderItem(col).setToolTip(label)
        self.table.verticalHeader().setVisible(False)
        self.table.setMaximumHeight(170)
        self.save_button = QPushButton("Use and save the top rate")
        self.save_button.setEnabled(False)
        af.addRow("Rates", self.rates_edit)
        af.addRow("Time", self.step_min)
        af.addRow(row)
        af.addRow(self.progress)
        af.addRow(self.table)
        af.addRow(self.save_button)
        layout.addWidget(assess)

        self.start_button.toggled.connect(self._toggle_pacer)
        for box in (self.rate, self.inhale, self.exhale, self.hold_in, self.hold_out):
            box.valueChanged.connect(self._reshape)
        self.sound.toggled.connect(self._toggle_sound)
        self.challenge.currentTextChanged.connect(
            lambda level: self.runner.call(self.session.set_challenge, level)
        )
        self.assess_button.clicked.connect(self.start_assessment)
        self.cancel_button.clicked.connect(self.cancel_assessment)
        self.save_button.clicked.connect(self.save_resonance)
        self.use_profile_rate()

    # -- commands ---------------------------------------------------------------------
    def settings(self) -> PacerSettings | None:
        """The pacer settings in the controls (None, with a message, when invalid)."""
        try:
            return PacerSettings(
                round_rate(self.rate.value()),
                self.inhale.value(),
                self.exhale.value(),
                self.hold_in.value(),
                self.hold_out.value(),
            )
        except ValueError as exc:
            self.message.emit(str(exc))
            return None

    def use_profile_rate(self) -> None:
        """Set the rate to the person's assessed resonance rate, when there is one."""
        _, profile = self.profile_of()
        rate = resonance_rate(profile)
        if rate is not None:
            self.rate.setValue(rate)

    def _toggle_pacer(self, on: bool) -> None:
        if on:
            settings = self.settings()
            if settings is None:
                self.start_button.setChecked(False)
                return
            self.runner.call(self.session.start_pacer, settings)
            self.start_button.setText("Stop pacer")
        else:
            self.runner.call(self.session.stop_pacer)
            self.start_button.setText("Start pacer")

    def _reshape(self) -> None:
        if self.start_button.isChecked():
            settings = self.settings()
            if settings is not None:
                self.runner.call(self.session.start_pacer, settings)

    def _toggle_sound(self, on: bool) -> None:
        if not on:
            self.tone.stop()
        elif not self.tone.start():
            self.message.emit(self.tone.note)
            self.sound.setToolTip(self.tone.note)

    def _volume_now(self) -> float | None:
        pacer = self.session.view.pacer
        if pacer is None:
            return None
        return float(volumes(pacer, [self.runner.engine.stream_now()])[0])

    def start_assessment(self) -> None:
        """Begin the guided protocol with the rates and time in the controls."""
        try:
            rates = [float(x) for x in self.rates_edit.text().replace(";", ",").split(",") if x]
            if len(rates) < 2 or not all(3 <= r <= 10 for r in rates):
                raise ValueError
        except ValueError:
            self.message.emit("Rates: two or more numbers within 3-10, e.g. 6.5, 6, 5.5, 5, 4.5")
            return
        shape = self.settings() or PacerSettings()
        self.start_button.blockSignals(True)
        self.start_button.setChecked(False)
        self.start_button.setText("Start pacer")
        self.start_button.blockSignals(False)
        self.start_button.setEnabled(False)
        self.runner.call(
            self.session.start_assessment,
            self.subject,
            rates,
            self.step_min.value() * 60.0,
            20.0 if self.step_min.value() >= 1.0 else 10.0,
            shape,
        )
        self.assess_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.save_button.setEnabled(False)
        self.table.setRowCount(0)
        self._pacer_in_view(True)

    def _pacer_in_view(self, assessing: bool) -> None:
        """While the rates are assessed, only the pacer and the progress show (no scrolling)."""
        self.pacer_controls.setVisible(not assessing)
        self.feedback_box.setVisible(not assessing)

    def cancel_assessment(self) -> None:
        """Abandon the protocol."""
        self.runner.call(self.session.cancel_assessment)
        self._assessment_over()
        self.progress.setText("Assessment cancelled.")

    def _assessment_over(self) -> None:
        self._pacer_in_view(False)
        self.assess_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self.start_button.setEnabled(True)

    def save_resonance(self) -> Profile | None:
        """Save the top-ranked rate to the subject's profile and use it for the pacer."""
        a = self.session.view.assessment
        if a is None or not a.ranking:
            return None
        rate = a.best_rate_per_min
        self.rate.setValue(rate)
        store, profile = self.profile_of()
        if profile is None:
            self.message.emit(
                f"{rate:.1f} breaths/min set for the pacer; choose a profile to keep it"
            )
            return None
        saved = with_resonance(profile, a)
        try:
            store.save(saved)
        except ProfileError as exc:
            self.message.emit(str(exc))
            return None
        self.on_profile_saved(saved)
        self.message.emit(f"{rate:.1f} breaths/min saved to {profile.name}'s profile")
        return saved

    # -- display ------------------------------------------------------------------------
    def refresh(self) -> None:
        """Show the newest view if it changed (called by the window's 30 Hz timer)."""
        self._show_chest()
        view = self.session.view
        if view is self._shown:
            return
        self._shown = view
        if (view.pacer is None) != (self.pacer.pacer is None) or view.pacer is not None:
            self.pacer.set_pacer(view.pacer)
        sub = next((s for s in view.subjects if s.subject == self.subject), None)
        if sub is not None:
            target = view.pacer.settings.rate_per_min if view.pacer is not None else math.nan
            text = _fmt(sub.rate_per_min, ".1f", " /min")
            if math.isfinite(target):
                text += f"  (target {target:.1f})"
            self.rate_label.setText(text)
            last = sub.ptt_bpm[-1] if sub.ptt_bpm.size else math.nan
            mean = float(np.nanmean(sub.ptt_bpm[-6:])) if sub.ptt_bpm.size else math.nan
            self.ptt_label.setText(
                f"{_fmt(last, '.1f', ' bpm')} last breath, {_fmt(mean, '.1f', ' bpm')} recent"
            )
            c = sub.coherence
            fraction = c.get("peak_fraction", math.nan)
            ratio = c.get("ratio", math.nan)
            level = f" — {sub.level}" if sub.level else ""
            self.coherence_label.setText(
                f"{_fmt(fraction, '.2f')} of power in one peak (ratio {_fmt(ratio, '.2f')}){level}"
            )
            cc = sub.chest_coherence
            self.chest_coherence_label.setText(
                f"{_fmt(cc.get('peak_fraction', math.nan), '.2f')} of power at "
                f"{_fmt(60.0 * cc.get('peak_hz', math.nan), '.1f', ' /min')}"
                if cc
                else "–"
            )
            if sub.coherence_t.size:
                self.curve.setData(sub.coherence_t - sub.coherence_t[-1], sub.coherence_fraction)
            medium, high = CHALLENGES[view.challenge]
            self.medium_line.setValue(fraction_threshold(medium))
            self.high_line.setValue(fraction_threshold(high))
            s = sub.summary
            share = 100.0 * s.high_s / s.measured_s if s.measured_s > 0 else math.nan
            self.summary_label.setText(
                f"{_mmss(s.high_s)} of {_mmss(s.measured_s)} in high coherence "
                f"({_fmt(share, '.0f', ' %')}); {_mmss(s.paced_s)} with the pacer, mean "
                f"rate {_fmt(s.mean_rate_per_min, '.1f')} for a target of "
                f"{_fmt(s.mean_target_per_min, '.1f')} /min"
            )
        self._show_assessment(view.assessment)

    def _show_chest(self) -> None:
        """The breath measured from the chest: a bar beside the pacer and a verdict."""
        mine = self.runner.engine.signals.view.of(self.subject)
        breath = None if mine is None else mine.breath
        self.breath_bar.setVisible(breath is not None)
        if breath is None:
            return
        if breath.quality != "ok" or not math.isfinite(breath.phase):
            self.breath_bar.setValue(0)
            self.chest_label.setText(_CHEST_QUALITY.get(breath.quality, breath.quality))
            return
        # the phase moves on at the measured rate between the 1-s updates
        ahead = (self.runner.engine.stream_now() - breath.t) * breath.rate_per_min / 60.0
        phase = breath.phase + min(max(ahead, 0.0), 1.0)
        self.breath_bar.setValue(round(50.0 - 50.0 * math.cos(2.0 * math.pi * phase)))
        text = f"{breath.rate_per_min:.1f} /min"
        verdict = _chest_verdict(breath.following, breath.lag_s, breath.pacer_rate_per_min)
        self.chest_label.setText(f"{text}, {verdict}" if verdict else text)

    def _show_assessment(self, a: AssessmentView | None) -> None:
        if a is None:
            return
        if not a.done:
            n = len(a.rates)
            stage = a.stage
            self.progress.setText(
                f"Rate {stage + 1} of {n}: breathe at {a.rates[stage]:.1f} /min — "
                f"{_mmss(a.stage_left_s) if math.isfinite(a.stage_left_s) else '–'} left"
            )
            return
        if a is self._ranking_shown:
            return
        self._ranking_shown = a
        self._assessment_over()
        self.table.setRowCount(len(a.ranking))
        for row, r in enumerate(a.ranking):
            cells = [f"{r['rate_per_min']:.1f}"]
            cells += [_fmt(r[key], TABLE_HEADERS[key][1]) for key, _ in CRITERIA]
            cells.append(f"{r['score']:.2f}")
            for col, text in enumerate(cells):
                self.table.setItem(row, col, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()
        self.progress.setText(
            f"Best: {a.best_rate_per_min:.1f} breaths/min (largest peak-to-trough HR and LF "
            "peak, HR in phase with the breath, one clean spectral peak)."
        )
        self.save_button.setEnabled(True)


class BreathingDock(QDockWidget):
    """The breathing panel in a dock of the main window, opened from its toolbar.

    Creates the session's :class:`BreathingSession` (a sink on the engine) at once, so
    feedback and the pacer stream are ready whenever the dock opens; the panel itself is
    built on first opening.

    Parameters
    ----------
    window : ui.main_window.MainWindow
        The main window (its runner, profile store and first subject's profile).
    toolbar : QToolBar
        Where the "Breathing" action goes.
    """

    def __init__(self, window, toolbar) -> None:
        super().__init__("Regulated breathing", window)
        self.setObjectName("breathing")
        self.window_ = window
        runner = window.runner
        self.session = BreathingSession(runner.engine)
        runner.engine.sinks = [*runner.engine.sinks, self.session]  # one reference swap
        self.panel: BreathingPanel | None = None
        self.action = self.toggleViewAction()
        self.action.setText("Breathing")
        self.action.setToolTip("Breathing pacer, coherence feedback and resonance assessment")
        toolbar.addAction(self.action)
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self)
        self.hide()
        self.visibilityChanged.connect(self._visible)

    def _visible(self, visible: bool) -> None:
        if visible and self.panel is None:
            column = next(iter(self.window_.columns.values()))
            controls = column.profile

            def saved(profile: Profile) -> None:
                controls.profile = profile

            self.panel = BreathingPanel(
                self.window_.runner,
                self.session,
                lambda: (controls.store, controls.profile),
                saved,
            )
            controls.choice.currentIndexChanged.connect(self.panel.use_profile_rate)
            self.panel.message.connect(
                lambda text: self.window_.statusBar().showMessage(text, 10_000)
            )
            scroll = QScrollArea()
            scroll.setWidgetResizable(True)
            scroll.setWidget(self.panel)
            scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
            self.setWidget(scroll)
            self.window_.resizeDocks([self], [460], Qt.Orientation.Horizontal)

    def refresh(self) -> None:
        """Show the newest breathing view when the dock is open."""
        if self.panel is not None and self.isVisible():
            self.panel.refresh()
