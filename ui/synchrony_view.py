"""The dyad's heart-rate synchrony on screen (shown when there are two people).

The index over the last ten minutes with the 0.95 significance line, the current state
and lag in words ("client follows by 2.1 s"), and shared marker buttons for the two
things that create mechanical synchrony: paced breathing together and speech turns.
The widget only reads :class:`app.snapshot.SynchronyView`; it computes nothing.
"""

import math

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.runtime import EngineThread
from app.snapshot import SynchronyView
from ui.plots import BLUE, VERMILION, steady_axes

#: The significance line of the index (p ~ 0.055 with 200 surrogates).
SIGNIFICANT = 0.95
#: Lags shorter than this are "together", s.
SAME_TIME_S = 0.5


def lag_words(view: SynchronyView, lag_s: float) -> str:
    """The lag in words: who follows whom, by how long (``lag_s > 0``: b follows a)."""
    if not math.isfinite(lag_s):
        return ""
    if abs(lag_s) < SAME_TIME_S:
        return "moving together (lag under 0.5 s)"
    follower, leader = (view.b, view.a) if lag_s > 0 else (view.a, view.b)
    return f"{follower} follows {leader} by {abs(lag_s):.1f} s"


def synchrony_words(view: SynchronyView | None) -> str:
    """One line for the current estimate: significance and lag, or "no estimate"."""
    latest = None if view is None else view.latest
    if latest is None or not latest.estimated:
        return "Synchrony: no estimate (warming up, a gap or a poor signal)"
    lag = lag_words(view, latest.lag_s)
    if latest.index >= SIGNIFICANT:
        return f"Synchronous (index {latest.index:.2f}, r = {latest.r_peak:.2f}): {lag}"
    return f"Not significant (index {latest.index:.2f})"


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
        top = QHBoxLayout()
        top.addWidget(self.words, stretch=1)
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

    def show_view(self, view: SynchronyView | None, now_s: float) -> None:
        """Draw the newest synchrony history relative to ``now_s`` (stream seconds)."""
        self.words.setText(synchrony_words(view))
        if view is None or not math.isfinite(now_s) or view.t_s.size == 0:
            return
        if view is self._drawn:  # one new estimate a second: redraw only then
            return
        self._drawn = view
        self.curve.setData(view.t_s - now_s, view.index)
