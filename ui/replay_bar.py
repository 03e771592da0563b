"""A replay window's toolbar: where in the recording, the baseline it applies, seeking.

Shown only when the window replays a recording (its sources share a replay session).
Seeking forward replays the beats in between as fast as possible, so every number at
the new position is the one the session had; seeking back opens the recording again
and fast-forwards to the position.
"""

import math
from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QSlider, QToolBar, QWidget

from app.snapshot import Snapshot
from ui.elided_label import ElidedLabel
from ui.plain_words import format_minutes


def replay_session(sources) -> object | None:
    """The replay session the window's sources share (None for live sources)."""
    session = getattr(sources[0], "session", None) if sources else None
    return session if hasattr(session, "seek") else None


def baseline_words(snapshot: Snapshot) -> str:
    """The baseline each person is measured against, as applied from the recording."""
    parts = []
    for s in snapshot.subjects:
        b = s.baseline
        if b is None:
            parts.append(f"{s.subject}: no baseline in the recording")
        else:
            parts.append(
                f"{s.subject}: baseline HR {b.hr_bpm:.0f} bpm, RMSSD {math.exp(b.ln_rmssd):.0f} ms"
            )
    return " · ".join(parts)


class ReplayBar(QToolBar):
    """Position in the recording (m:ss of m:ss) with a slider to seek, and the baseline.

    Parameters
    ----------
    session : ReplaySession
        The recording being replayed (``t_first``, ``t_last``, ``seek``).
    reopen : callable
        ``reopen(position_s)``: replay the file again from the start up to a position
        (seeking back).
    """

    def __init__(self, session, reopen: Callable[[float], object], parent: QWidget) -> None:
        super().__init__("replay", parent)
        self.setMovable(False)
        self.session = session
        self.reopen = reopen
        self.duration_s = max(0.0, session.t_last - session.t_first)
        self.position_s = 0.0
        self.position = QLabel(self._position_text())
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, math.ceil(self.duration_s))
        self.slider.setMinimumWidth(160)
        self.slider.setToolTip("Drag to seek: forward replays the beats in between at once")
        self.slider.sliderReleased.connect(lambda: self.seek(self.slider.value()))
        self.baseline = ElidedLabel("")
        self.addWidget(QLabel("recording "))
        self.addWidget(self.position)
        self.addWidget(self.slider)
        self.addSeparator()
        self.addWidget(self.baseline)

    def _position_text(self) -> str:
        return f"{format_minutes(self.position_s)} of {format_minutes(self.duration_s)}"

    def seek(self, position_s: float) -> object | None:
        """Go to ``position_s`` seconds into the recording (back: reopens the replay)."""
        if position_s >= self.position_s:
            self.session.seek(self.session.t_first + position_s)
            return None
        return self.reopen(position_s)

    def show_snapshot(self, snapshot: Snapshot) -> None:
        """Position and baselines from the newest snapshot."""
        if math.isfinite(snapshot.t_s):
            self.position_s = min(self.duration_s, max(0.0, snapshot.t_s - self.session.t_first))
        self.position.setText(self._position_text())
        if not self.slider.isSliderDown():
            self.slider.setValue(round(self.position_s))
        self.baseline.setText(baseline_words(snapshot))
