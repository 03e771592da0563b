"""The window of tolerance on screen: a zone indicator and the arousal index over time.

The indicator uses colour *and* words *and* shape, so it reads without colour vision:
a circle inside the window, a triangle pointing up above it, pointing down below it,
and a hollow diamond when there is no estimate. Colours are Okabe & Ito's (2008).
"""

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QFont, QPainter, QPen, QPolygonF
from PySide6.QtWidgets import QApplication, QSizePolicy, QWidget

from app.snapshot import WARMUP_S, SubjectSnapshot, Zone
from ui.plain_words import format_minutes, plain_reason
from ui.plots import BLUE, GREY, VERMILION, legend_title, steady_axes

GREEN = "#009E73"
REDRAW_TREND_S = 1.0  # long trends are redrawn at most this often (stream seconds)
NO_PROFILE = "Choose a profile or calibrate to see your window"

ZONE_STYLE = {
    Zone.WINDOW: (GREEN, "Inside your window"),
    Zone.HYPER: (VERMILION, "Above your window — high arousal"),
    Zone.HYPO: (BLUE, "Low arousal — check in"),
    Zone.UNKNOWN: (GREY, "No estimate"),
}


class ZoneIndicator(QWidget):
    """A large zone badge; flashes (and optionally beeps) when the window is left."""

    def __init__(self, parent=None, large: bool = False) -> None:
        super().__init__(parent)
        self.large = large  # the client view: words sized to the height, read across a room
        if large:
            self.setMinimumSize(260, 120)
            self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        else:
            self.setMinimumSize(260, 72)
            self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.zone: Zone | None = None
        self.detail = NO_PROFILE
        self.sound = False
        self._flash = QTimer(self)
        self._flash.setSingleShot(True)
        self._flash.timeout.connect(self.update)
        self.cues = 0

    @property
    def text(self) -> str:
        """The words shown."""
        if self.zone is None:
            return self.detail
        words = ZONE_STYLE[self.zone][1]
        return f"{words}: {self.detail}" if self.zone is Zone.UNKNOWN and self.detail else words

    def show_zone(self, zone: Zone | None, detail: str = "") -> None:
        """Show a zone; leaving the window triggers a gentle cue."""
        if zone is not self.zone and self.zone is Zone.WINDOW and zone in (Zone.HYPER, Zone.HYPO):
            self.cues += 1
            self._flash.start(3000)
            if self.sound:
                QApplication.beep()
        if zone is not self.zone or detail != self.detail:
            self.zone, self.detail = zone, detail
            self.setToolTip(self.text)
            self.update()

    def paintEvent(self, event) -> None:
        """Draw the shape and the words."""
        colour = QColor(ZONE_STYLE[self.zone][0] if self.zone else GREY)
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if self._flash.isActive():
            painter.setPen(QPen(colour, 4))
            painter.drawRoundedRect(QRectF(self.rect()).adjusted(2, 2, -2, -2), 8, 8)
        h = self.height()
        size = h * 0.6
        box = QRectF(12, (h - size) / 2, size, size)
        painter.setPen(QPen(colour.darker(130), 2))
        painter.setBrush(colour if self.zone not in (None, Zone.UNKNOWN) else Qt.BrushStyle.NoBrush)
        cx, top, bottom = box.center().x(), box.top(), box.bottom()
        if self.zone is Zone.WINDOW:
            painter.drawEllipse(box)
        elif self.zone is Zone.HYPER:
            painter.drawPolygon(
                QPolygonF(
                    [QPointF(cx, top), QPointF(box.right(), bottom), QPointF(box.left(), bottom)]
                )
            )
        elif self.zone is Zone.HYPO:
            painter.drawPolygon(
                QPolygonF(
                    [QPointF(box.left(), top), QPointF(box.right(), top), QPointF(cx, bottom)]
                )
            )
        else:
            cy = box.center().y()
            painter.drawPolygon(
                QPolygonF(
                    [
                        QPointF(cx, top),
                        QPointF(box.right(), cy),
                        QPointF(cx, bottom),
                        QPointF(box.left(), cy),
                    ]
                )
            )
        font = QFont(self.font())
        if self.large:
            font.setPixelSize(max(16, round(h * 0.16)))
        else:
            font.setPointSizeF(15 if self.zone is not None else 11)
        font.setBold(self.zone is not None)
        painter.setFont(font)
        painter.setPen(QColor("#000000"))
        text_box = QRectF(box.right() + 14, 0, self.width() - box.right() - 20, h)
        painter.drawText(
            text_box, Qt.AlignmentFlag.AlignVCenter | Qt.TextFlag.TextWordWrap, self.text
        )


class ArousalPlot(pg.PlotWidget):
    """Arousal index over the last ``window_s`` seconds against the person's band.

    The zone is judged on two lines, and both are drawn with the edge each one is judged
    against: *above the window* when the arousal index (black) stays over the upper edge,
    *low arousal* when the heart-rate z-score (blue, dashed) stays under the lower edge.
    So an index below the band beside "Inside your window" is explained: the index is
    judged only at the top.
    """

    def __init__(self, window_s: float = 600.0, parent=None) -> None:
        super().__init__(parent=parent, background="w")
        self.window_s = window_s
        plot = self.getPlotItem()
        plot.setLabel("left", "z vs baseline")
        plot.setLabel("bottom", "time before the newest beat (s)")
        plot.setXRange(-window_s, 0, padding=0)
        plot.setYRange(-4, 4, padding=0)
        plot.setMouseEnabled(x=False, y=False)
        plot.showGrid(y=True, alpha=0.2)
        plot.setTitle(
            legend_title(
                [
                    ("#000000", "━", "arousal index, judged at the top edge"),
                    (BLUE, "┅", "heart-rate z, at the bottom edge"),
                ]
            ),
            size="9pt",
        )
        self.band = pg.LinearRegionItem(
            values=(-1.5, 1.5),
            orientation="horizontal",
            movable=False,
            brush=pg.mkBrush(0, 158, 115, 40),
            pen=pg.mkPen(None),
        )
        plot.addItem(self.band)
        self.edges = {
            name: pg.InfiniteLine(
                value,
                angle=0,
                pen=pg.mkPen(colour, width=1.5),
                label=label,
                labelOpts={"position": 0.02, "color": colour, "anchors": [(0, 1), (0, 1)]},
            )
            for name, value, colour, label in (
                ("upper", 1.5, "#000000", "index ≥ {value:.1f}: above"),
                ("lower", -1.5, BLUE, "HR z ≤ {value:.1f}: low"),
            )
        }
        for edge in self.edges.values():
            plot.addItem(edge)
        self.z_hr = plot.plot(
            pen=pg.mkPen(BLUE, width=1, style=Qt.PenStyle.DashLine),
            name="heart-rate z (low-arousal axis)",
            skipFiniteCheck=True,
        )
        self.index = plot.plot(
            pen=pg.mkPen("#000000", width=2),
            name="arousal index",
            skipFiniteCheck=True,
            connect="finite",
        )
        steady_axes(plot)
        self._y_range = (-4.0, 4.0)
        self._drawn_s = -math.inf  # stream time of the last redraw

    def show_snapshot(self, s: SubjectSnapshot, now_s: float) -> None:
        """Draw one subject's arousal history relative to ``now_s``.

        A 10-minute trend: redrawn at most once a second of stream time.
        """
        if 0.0 <= now_s - self._drawn_s < REDRAW_TREND_S:
            return
        self._drawn_s = now_s
        lower, upper = s.band
        if (
            math.isfinite(lower)
            and math.isfinite(upper)
            and self.band.getRegion()
            != (
                lower,
                upper,
            )
        ):
            self.band.setRegion((lower, upper))
            self.edges["lower"].setValue(lower)
            self.edges["upper"].setValue(upper)
        x = s.arousal_t_s - now_s
        self.index.setData(x, s.arousal_index)
        self.z_hr.setData(x, s.arousal_z_hr)
        values = np.concatenate((s.arousal_index, s.arousal_z_hr))
        finite = values[np.isfinite(values)]
        if finite.size:
            top = min(12.0, max(4.0, float(finite.max()) + 0.5))
            bottom = max(-12.0, min(-4.0, float(finite.min()) - 0.5))
            if (bottom, top) != self._y_range:  # an unchanged range is not laid out again
                self._y_range = (bottom, top)
                self.getPlotItem().setYRange(bottom, top, padding=0)


def subject_zone(s: SubjectSnapshot, silent_limit_s: float) -> tuple[Zone | None, str]:
    """The zone to show for one subject and its detail words (``None``: no profile)."""
    arousal = s.last.arousal if s.last is not None else None
    if s.baseline is None:
        return None, NO_PROFILE
    if s.silent_s > silent_limit_s:
        return Zone.UNKNOWN, f"{s.silent_s:.0f} s without beats — check the strap's contact"
    if arousal is None:
        return None, ""
    warmup_left = WARMUP_S["rmssd"] - beats_span_s(s)
    return arousal.zone, plain_reason(arousal.reason, warmup_left)


def beats_span_s(s: SubjectSnapshot) -> float:
    """Seconds of corrected beats in the subject's history (up to the history's length)."""
    return float(s.t_s[-1] - s.t_s[0]) if s.t_s.size > 1 else 0.0


def zone_times_text(s: SubjectSnapshot) -> str:
    """Time in each zone this session, in words."""
    seconds = s.zone_seconds
    parts = [
        f"inside {format_minutes(seconds.get(Zone.WINDOW, 0))}",
        f"above {format_minutes(seconds.get(Zone.HYPER, 0))}",
        f"low {format_minutes(seconds.get(Zone.HYPO, 0))}",
        f"no estimate {format_minutes(seconds.get(Zone.UNKNOWN, 0))}",
    ]
    return "Time in zones (m:ss): " + " · ".join(parts)


__all__ = [
    "ArousalPlot",
    "ZoneIndicator",
    "format_minutes",
    "subject_zone",
    "zone_times_text",
]
