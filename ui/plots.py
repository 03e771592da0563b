"""pyqtgraph plots. Curves are created once; every refresh is one ``setData`` per curve.

Repainting is what the window costs (a profile of the live window: most of the main
thread in ``GraphicsView.paintEvent``, most of that replaying the axes' tick text and
grid). So the axes are cached as pixmaps (:func:`steady_axes`) and re-laid out only
when their range really moves (:class:`SteadyRange`), and each plot redraws only when
its own data changed.
"""

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QGraphicsItem

from app.snapshot import SubjectSnapshot

#: Colour-blind-safe palette (Okabe & Ito 2008).
BLUE = "#0072B2"
ORANGE = "#E69F00"
VERMILION = "#D55E00"
GREY = "#999999"


def steady_axes(plot: pg.PlotItem) -> None:
    """Cache a plot's axes (and legend) as device pixmaps.

    An axis draws its grid lines across the whole view box, so every curve update
    repaints it; cached, the repaint is a pixmap copy until the axis range or the size
    changes (pyqtgraph then invalidates the cache itself).
    """
    cache = QGraphicsItem.CacheMode.DeviceCoordinateCache
    for name in ("left", "bottom"):
        plot.getAxis(name).setCacheMode(cache)
    if plot.legend is not None:
        plot.legend.setCacheMode(cache)


class SteadyRange:
    """An axis range that moves only when the data leave it or shrink well inside it.

    Parameters
    ----------
    step : float
        Range ends are multiples of this (data units), so small changes do not move it.
    slack : float
        The range is redone when the data span less than this fraction of it.
    """

    def __init__(self, step: float, slack: float = 0.5) -> None:
        self.step = step
        self.slack = slack
        self.range: tuple[float, float] | None = None

    def fit(self, low: float, high: float, pad: float = 0.0) -> tuple[float, float] | None:
        """The new range for data in ``[low, high]`` (plus ``pad``), or None: keep it."""
        current = self.range
        if current is not None:
            lo, hi = current
            inside = lo <= low - pad / 2 and high + pad / 2 <= hi
            if inside and (high - low + 2 * pad) >= self.slack * (hi - lo):
                return None
        lo = math.floor((low - pad) / self.step) * self.step
        hi = math.ceil((high + pad) / self.step) * self.step
        if current == (lo, hi):
            return None
        self.range = (lo, hi)
        return self.range


#: Longest time between two beats not counted as missing beats, beyond their own RR, s.
GAP_S = 1.0


def legend_title(items: list[tuple[str, str, str]]) -> str:
    """A legend as the plot's title line, above the data (a legend inside covers traces).

    ``items``: (colour, mark such as "━" or "✕", name) per trace.
    """
    return "&nbsp;&nbsp;".join(
        f"<span style='color:{colour}'>{mark}</span>&nbsp;{name}" for colour, mark, name in items
    )


def with_gaps(t: np.ndarray, y: np.ndarray, rr_ms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``t`` and ``y`` with a NaN where beats are missing, so the line leaves a gap.

    A gap: the time between two beats exceeds the later beat's RR by more than
    :data:`GAP_S` (beats lost in a dropout, a strap that lost contact).
    """
    if t.size < 2:
        return t, y
    holes = np.flatnonzero(np.diff(t) - rr_ms[1:] / 1000.0 > GAP_S) + 1
    if holes.size == 0:
        return t, y
    return np.insert(t, holes, np.nan), np.insert(y.astype(float), holes, np.nan)


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
        plot.setTitle(
            legend_title(
                [
                    (BLUE, "━", "RR corrected"),
                    (GREY, "━", "raw, as received"),
                    (VERMILION, "✕", "raw value of a corrected beat"),
                ]
            ),
            size="9pt",
        )
        # missing beats are holes in the lines (NaN), not straight lines across them
        self.raw_line = plot.plot(
            pen=pg.mkPen(GREY, width=1), name="RR (raw, as received)", connect="finite"
        )
        self.curve = plot.plot(pen=pg.mkPen(BLUE, width=2), name="RR (corrected)", connect="finite")
        self.raw = plot.plot(
            pen=None,
            symbol="x",
            symbolSize=9,
            symbolPen=pg.mkPen(VERMILION, width=2),
            symbolBrush=None,
            name="raw value of a corrected beat",
        )
        steady_axes(plot)
        self.y_range = SteadyRange(step=50.0)

    def show_snapshot(self, subject: SubjectSnapshot, now_s: float) -> None:
        """Draw one subject's history relative to ``now_s`` (stream seconds)."""
        x = subject.t_s - now_s
        raw_x = subject.raw_t_s - now_s
        self.raw_line.setData(*with_gaps(raw_x, subject.raw_rr_ms, subject.raw_rr_ms))
        self.curve.setData(*with_gaps(x, subject.rr_ms, subject.rr_ms))
        marked = subject.artifact & np.isfinite(subject.rr_raw_ms)
        self.raw.setData(x[marked], subject.rr_raw_ms[marked])
        shown = subject.rr_ms if subject.rr_ms.size else subject.raw_rr_ms
        if shown.size:
            low, high = np.percentile(shown, [1, 99])
            moved = self.y_range.fit(float(low), float(high), max(50.0, 0.15 * (high - low)))
            if moved is not None:
                self.getPlotItem().setYRange(*moved, padding=0)
