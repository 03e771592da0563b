"""One person's live numbers: heart rate, HRV, source status, beats, simulated badge."""

import math

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QGridLayout, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from app.snapshot import WARMUP_S, SourceState, SubjectSnapshot
from ui.arousal_view import beats_span_s
from ui.elided_label import ElidedLabel
from ui.plain_words import countdown, plain_reason

STATE_COLOURS = {
    SourceState.CONNECTED: "#009E73",
    SourceState.CONNECTING: "#E69F00",
    SourceState.RECONNECTING: "#E69F00",
    SourceState.NO_CONTACT: "#E69F00",
    SourceState.FAILED: "#D55E00",
    SourceState.STOPPED: "#999999",
    SourceState.IDLE: "#999999",
}


def _fmt(value: float | None, digits: int = 0) -> str:
    return "–" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


class Metric(QWidget):
    """A named measure with its unit: value large, name and unit small."""

    def __init__(self, name: str, unit: str, big: bool = False, parent=None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 0, 6, 0)
        self.value = QLabel("–")
        self.value.setObjectName("metricValue")
        size = 40 if big else 22
        self.value.setStyleSheet(f"font-size: {size}px; font-weight: 600;")
        self.value.setAlignment(Qt.AlignmentFlag.AlignLeft)
        caption = QLabel(f"{name} ({unit})")
        caption.setStyleSheet("color: #555; font-size: 11px;")
        caption.setWordWrap(True)  # two lines rather than a column wider than a laptop's half
        layout.addWidget(self.value)
        layout.addWidget(caption)

    def set(self, text: str) -> None:
        """Show a new value."""
        if self.value.text() != text:
            self.value.setText(text)


class SubjectPanel(QFrame):
    """The header card of one subject."""

    def __init__(self, subject: str, parent=None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        grid = QGridLayout(self)
        self.title = QLabel(subject)
        self.title.setStyleSheet("font-size: 16px; font-weight: 600;")
        self.badge = QLabel("SIMULATED STRAP")
        self.badge.setToolTip(
            "No sensor is configured: these beats come from heartsync's simulator."
        )
        self.badge.setStyleSheet(
            "background: #F0E442; color: #000; border: 1px solid #000; border-radius: 4px;"
            " padding: 2px 6px; font-weight: 700;"
        )
        self.badge.hide()
        self.dot = QLabel()
        self.status = ElidedLabel("idle")
        self.hr = Metric("heart rate, 30 s", "bpm", big=True)
        self.rmssd = Metric("RMSSD, 60 s", "ms")
        self.sdnn = Metric("SDNN, 60 s", "ms")
        self.hf = Metric("HF power, 120 s", "ms²")
        self.beats = Metric("beats received", "count")
        self.quality = ElidedLabel("signal: –")
        # "signal good · 3 % artifacts" always reads whole; a long "poor" reason is cut

        self._quality_colour = ""
        self.quality.setToolTip(
            "Signal quality over 30 s: artifacts per beat, coverage (sum of RR / time) and gaps"
        )
        grid.addWidget(self.title, 0, 0)
        grid.addWidget(self.badge, 0, 1)
        status = QHBoxLayout()
        status.addWidget(self.dot)
        status.addWidget(self.status, stretch=1)
        grid.addLayout(status, 0, 2, 1, 3)
        grid.addWidget(self.quality, 2, 0, 1, 5)  # a whole row: the reason reads in full
        grid.addWidget(self.hr, 1, 0)
        grid.addWidget(self.rmssd, 1, 1)
        grid.addWidget(self.sdnn, 1, 2)
        grid.addWidget(self.hf, 1, 3)
        grid.addWidget(self.beats, 1, 4)

    def show_snapshot(self, s: SubjectSnapshot) -> None:
        """Update every label from one subject snapshot."""
        self.badge.setVisible(s.simulated)
        state = s.status.state
        text = state.value
        if s.status.message and state is not SourceState.CONNECTED:
            text += f": {s.status.message}"
        if s.status.battery_pct is not None and not s.simulated:
            text += f" · battery {s.status.battery_pct}%"
        colour = STATE_COLOURS.get(state, "#999999")
        self.dot.setText(f"<span style='color:{colour}; font-size:16px'>●</span>")
        self.status.setText(text)
        self.beats.set(str(s.beats_received))
        hr = s.last.hrv.hr_bpm if s.last is not None else math.nan
        if not math.isfinite(hr) and s.last_raw is not None and s.last_raw.hr_bpm:
            hr = s.last_raw.hr_bpm  # the strap's own HR until 30 s of clean beats exist
        self.hr.set(_fmt(hr))
        if s.last is not None:
            span = beats_span_s(s)  # a value missing during the warm-up counts down
            for metric, value, key in (
                (self.rmssd, s.last.hrv.rmssd_ms, "rmssd"),
                (self.sdnn, s.last.hrv.sdnn_ms, "rmssd"),
                (self.hf, s.last.hrv.hf_ms2, "hf"),
            ):
                text = _fmt(value)
                if text == "–":
                    text = countdown("", WARMUP_S[key] - span).strip() or text
                metric.set(text)
            self._show_quality(s.last.quality)

    def _show_quality(self, q) -> None:
        """The signal-quality badge: green 'good' or amber with the reason."""
        if q.ok:
            text, colour = f"signal good · {100 * q.artifact_rate:.0f} % artifacts", "#009E73"
        else:
            text, colour = f"signal poor · {plain_reason(q.reason)}", "#D55E00"
        self.quality.setText(text)
        if colour != self._quality_colour:
            self._quality_colour = colour
            self.quality.setStyleSheet(f"color: {colour}; font-weight: 600;")
