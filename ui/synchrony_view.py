"""The dyad's heart-rate synchrony on screen (shown when there are two people).

The index over the last ten minutes with the 0.95 significance line, the current state
and lag in words ("client follows therapist by 2.1 s"; below the line "not detectable
in 30 s", never "no synchrony"), beside it the session so far (r, 95 % interval, p and
the lag in words; SCIENCE.md §5), and shared marker buttons for the two things that
create mechanical synchrony: paced breathing together and speech turns. The widget
only reads :class:`app.snapshot.SynchronyView`; it computes nothing.
"""

import math

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.runtime import EngineThread
from app.snapshot import SynchronyView
from app.sync_words import SIGNIFICANT, index_words, session_words
from ui.plain_words import countdown
from ui.plots import BLUE, VERMILION, steady_axes


def synchrony_words(view: SynchronyView | None, warmup_left_s: float = math.nan) -> str:
    """One line for the current estimate: significance and lag, or "no estimate".

    ``warmup_left_s``: seconds until both people have the history the first estimate
    needs (counted down: "Synchrony in 2:10").
    """
    latest = None if view is None else view.latest
    if (latest is None or not latest.estimated) and warmup_left_s > 0:
        return countdown("Synchrony", warmup_left_s) + " (it needs 3 min of both people)"
    if view is None:
        return index_words("", "", None)
    return index_words(view.a, view.b, latest)


def session_line(view: SynchronyView | None) -> str:
    """One line for the session so far."""
    if view is None:
        return session_words("", "", None)
    return session_words(view.a, view.b, view.session)


class SynchronyPanel(QWidget):
    """Synchrony index over time, current lag, and shared marker buttons.

    Parameters
    ----------
    runner : EngineThread
        The engine thread; buttons send ``mark`` and ``set_paced`` through ``call``.
    window_s : float
        Seconds of history shown.
    """

    def __init__(self, runner: EngineThread, window_s: float = 600.0, parent=None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.window_s = window_s
        self.words = QLabel(synchrony_words(None))
        self.words.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        font = self.words.font()
        font.setPointSizeF(font.pointSizeF() * 1.3)
        self.words.setFont(font)
        self.session = QLabel(session_line(None))
        self.session.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.session.setFont(font)
        self.session.setToolTip(
            "The session-level test (SCIENCE.md §5): all 30-s segments so far, the lag "
            "searched once, p against the partner's heart rate rotated by 1-10 min"
        )
        self.paced = QPushButton("Paced breathing together")
        self.paced.setCheckable(True)
        self.paced.setToolTip(
            "Mark shared paced breathing (it creates mechanical synchrony) and tell the "
            "arousal estimate that breathing is paced"
        )
        self.paced.toggled.connect(self._paced_toggled)
        self.speech = QPushButton("Speech turn")
        self.speech.setToolTip("Mark a change of speaker (speech also moves heart rate)")
        self.speech.clicked.connect(self._speech_turn)
        self.plot = pg.PlotWidget(background="w")
        item = self.plot.getPlotItem()
        item.setLabel("left", "synchrony index")
        item.setLabel("bottom", "time before now (s)")
        item.setYRange(0, 1.02, padding=0)
        item.setXRange(-window_s, 0, padding=0)
        item.setMouseEnabled(x=False, y=False)
        item.showGrid(x=True, y=True, alpha=0.2)
        self.line = pg.InfiniteLine(
            SIGNIFICANT,
            angle=0,
            pen=pg.mkPen(VERMILION, width=1, style=Qt.PenStyle.DashLine),
            label="0.95 significant",
            labelOpts={"position": 0.05, "color": VERMILION},
        )
        item.addItem(self.line)
        # paused stretches are holes in the line (NaN: no estimate, never zero)
        self.curve = item.plot(pen=pg.mkPen(BLUE, width=2), connect="finite")
        steady_axes(item)
        self._drawn = None  # the history last drawn
        self.plot.setMinimumHeight(140)
        lines = QVBoxLayout()
        lines.addWidget(self.words)
        lines.addWidget(self.session)
        top = QHBoxLayout()
        top.addLayout(lines, stretch=1)
        top.addWidget(self.paced)
        top.addWidget(self.speech)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.plot, stretch=1)

    def _speech_turn(self) -> None:
        self.runner.call(self.runner.engine.mark, "speech turn")

    def _paced_toggled(self, on: bool) -> None:
        engine = self.runner.engine
        self.runner.call(engine.mark, "paced breathing start" if on else "paced breathing end")
        self.runner.call(engine.set_paced, on)

    def show_view(
        self, view: SynchronyView | None, now_s: float, warmup_left_s: float = math.nan
    ) -> None:
        """Draw the newest synchrony history relative to ``now_s`` (stream seconds)."""
        self.words.setText(synchrony_words(view, warmup_left_s))
        self.session.setText(session_line(view))
        if view is None or not math.isfinite(now_s) or view.t_s.size == 0:
            return
        if view is self._drawn:  # one new estimate a second: redraw only then
            return
        self._drawn = view
        self.curve.setData(view.t_s - now_s, view.index)
