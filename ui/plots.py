"""pyqtgraph plots. Curves are created once; every refresh is one ``setData`` per curve."""

import numpy as np
import pyqtgraph as pg

from app.snapshot import SubjectSnapshot

#: Colour-blind-safe palette (Okabe & Ito 2008).
BLUE = "#0072B2"
ORANGE = "#E69F00"
VERMILION = "#D55E00"
GREY = "#999999"


class TachogramPlot(pg.PlotWidget):
    """RR intervals of the last ``window_s`` seconds, scrolling with stream time.

    The corrected series is a blue line over the raw series in grey (which also shows
    the newest beats the corrector still holds); raw values of corrected beats are
    marked as vermilion crosses so a user sees what the artifact corrector changed.

    Parameters
    ----------
    window_s : float
        Seconds shown, ending at the newest beat.
    """

    def __init__(self, window_s: float = 120.0, parent=None) -> None:
        super().__init__(parent=parent, background="w")
        self.window_s = window_s
        plot = self.getPlotItem()
        plot.setLabel("left", "RR interval (ms)")
        plot.setLabel("bottom", "time before the newest beat (s)")
        plot.showGrid(x=True, y=True, alpha=0.2)
        plot.setXRange(-window_s, 0, padding=0)
        plot.setMouseEnabled(x=False, y=True)
        plot.setClipToView(True)
        plot.addLegend(offset=(10, 5))
        self.raw_line = plot.plot(
            pen=pg.mkPen(GREY, width=1), name="RR (raw, as received)", skipFiniteCheck=True
        )
        self.curve = plot.plot(
            pen=pg.mkPen(BLUE, width=2), name="RR (corrected)", skipFiniteCheck=True
        )
        self.raw = plot.plot(
            pen=None,
            symbol="x",
            symbolSize=9,
            symbolPen=pg.mkPen(VERMILION, width=2),
            symbolBrush=None,
            name="raw value of a corrected beat",
        )

    def show_snapshot(self, subject: SubjectSnapshot, now_s: float) -> None:
        """Draw one subject's history relative to ``now_s`` (stream seconds)."""
        x = subject.t_s - now_s
        self.raw_line.setData(subject.raw_t_s - now_s, subject.raw_rr_ms)
        self.curve.setData(x, subject.rr_ms)
        marked = subject.artifact & np.isfinite(subject.rr_raw_ms)
        self.raw.setData(x[marked], subject.rr_raw_ms[marked])
        shown = subject.rr_ms if subject.rr_ms.size else subject.raw_rr_ms
        if shown.size:
            low, high = np.percentile(shown, [1, 99])
            pad = max(50.0, 0.15 * (high - low))
            self.getPlotItem().setYRange(low - pad, high + pad, padding=0)
