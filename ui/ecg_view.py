"""A small live ECG trace for a subject whose Polar strap streams ECG (PMD).

Reads :attr:`app.signals.SignalHub.view` (immutable) on the window's refresh and draws
the last :data:`TRACE_S` seconds; hidden while the subject's strap streams no ECG.
Computes nothing itself.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtWidgets import QVBoxLayout, QWidget

from app.runtime import EngineThread
from ui.plots import BLUE

#: Seconds of ECG on screen.
TRACE_S = 5.0


class EcgTrace(QWidget):
    """The last seconds of one subject's ECG, microvolts against seconds before now.

    Parameters
    ----------
    runner : EngineThread
        The engine thread (its engine's ``signals.view`` is read).
    subject : str
        Whose ECG.
    """

    def __init__(self, runner: EngineThread, subject: str, parent=None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.subject = subject
        self._shown = None
        self.plot = pg.PlotWidget(background="w")
        self.plot.setMaximumHeight(110)
        self.plot.setMouseEnabled(False, False)
        self.plot.setLabel("left", "ECG (µV)")
        self.plot.setXRange(-TRACE_S, 0.0, padding=0.0)
        self.plot.hideButtons()
        self.curve = self.plot.plot(pen=pg.mkPen(BLUE, width=1.5))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)
        self.setVisible(False)

    def refresh(self) -> None:
        """Draw the newest ECG if it changed (called by the window's timer)."""
        view = self.runner.engine.signals.view
        if view is self._shown:
            return
        self._shown = view
        mine = view.of(self.subject)
        if mine is None or mine.ecg_t.size == 0:
            self.setVisible(False)
            return
        t, x = mine.ecg_t, mine.ecg_uv
        keep = t >= t[-1] - TRACE_S
        self.curve.setData(t[keep] - t[-1], x[keep])
        self.setVisible(True)
