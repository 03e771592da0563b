"""The breathing pacer widget: a circle that fills as the lungs do, with words.

The shape is drawn from :class:`dsp.breathing.pacer.Pacer` at the engine's stream time, so what
the eyes follow is what the recording holds. A 60 fps timer runs only while the widget
is visible and a pacer runs: a hidden pacer costs nothing.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QPointF, QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from app.breathing.session import Pacer, PacerState
from ui.plots import BLUE, GREY

WORDS = {
    "inhale": "Breathe in",
    "hold_in": "Hold",
    "exhale": "Breathe out",
    "hold_out": "Hold",
}
FPS = 60


class PacerWidget(QWidget):
    """Animated breathing pacer.

    Parameters
    ----------
    clock : callable
        ``clock() -> float``: stream time now, s (``Engine.stream_now``).
    """

    def __init__(self, clock: Callable[[], float], parent=None) -> None:
        super().__init__(parent)
        self.clock = clock
        self.pacer: Pacer | None = None
        self.state: PacerState | None = None
        self.frames = 0
        self.setMinimumSize(160, 160)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAccessibleName("breathing pacer")
        self.timer = QTimer(self)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(round(1000 / FPS))
        self.timer.timeout.connect(self.update)

    @property
    def word(self) -> str:
        """What the pacer says now ("" when off)."""
        return "" if self.state is None else WORDS[self.state.stage]

    def set_pacer(self, pacer: Pacer | None) -> None:
        """Follow this pacer (a frozen copy is fine; None: off)."""
        self.pacer = pacer
        if pacer is None:
            self.state = None
        self._arm()
        self.update()

    def showEvent(self, event) -> None:  # noqa: D102 - Qt override
        super().showEvent(event)
        self._arm()

    def hideEvent(self, event) -> None:  # noqa: D102 - Qt override
        super().hideEvent(event)
        self._arm()

    def _arm(self) -> None:
        run = self.pacer is not None and self.isVisible()
        if run and not self.timer.isActive():
            self.timer.start()
        elif not run and self.timer.isActive():
            self.timer.stop()

    def paintEvent(self, event) -> None:  # noqa: D102 - Qt override
        self.frames += 1
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        side = min(self.width(), self.height()) - 8
        centre = QPointF(self.width() / 2, self.height() / 2)
        r_max = side / 2
        r_min = r_max * 0.35
        painter.setPen(QPen(QColor(GREY), 2))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawEllipse(centre, r_max, r_max)
        pacer = self.pacer
        if pacer is None:
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "Pacer off")
            return
        self.state = state = pacer.state(self.clock())
        r = r_min + (r_max - r_min) * state.volume
        fill = QColor(BLUE)
        fill.setAlpha(150)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(fill)
        painter.drawEllipse(centre, r, r)
        painter.setPen(QColor("white") if r > r_max * 0.6 else QColor("black"))
        font = QFont(self.font())
        font.setPointSizeF(max(10.0, side / 14))
        painter.setFont(font)
        box = QRectF(centre.x() - r_max, centre.y() - side / 8, 2 * r_max, side / 6)
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, WORDS[state.stage])
        font.setPointSizeF(max(8.0, side / 22))
        painter.setFont(font)
        below = QRectF(centre.x() - r_max, centre.y() + side / 20, 2 * r_max, side / 8)
        painter.drawText(
            below,
            Qt.AlignmentFlag.AlignCenter,
            f"{state.stage_left_s:.0f} s · {state.rate_per_min:.1f}/min",
        )
