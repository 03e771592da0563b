"""Small, dependency-free SVG line charts for the session report.

Why hand-written SVG: the report must be one self-contained file that opens offline in
any browser; SVG is text (a few kB per figure, sharp at any zoom, searchable, diffable in
tests) and needs neither matplotlib (not a dependency) nor a Qt application (the CLI is
headless). The series are already binned to at most a few thousand points
(:mod:`app.analysis.session_stats`), so the figures stay small for a 24-hour recording.
"""

import math
from html import escape

import numpy as np

FONT = "font-family='system-ui,sans-serif' font-size='11'"


def nice_ticks(lo: float, hi: float, n: int = 6) -> list[float]:
    """About ``n`` round tick values covering [lo, hi]."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo] if math.isfinite(lo) else []
    raw = (hi - lo) / max(n - 1, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step) * step
    return [round(first + i * step, 10) for i in range(int((hi - first) / step + 1e-9) + 1)]


def _runs(x: np.ndarray, y: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Split a series at NaNs into runs of finite points."""
    ok = np.isfinite(x) & np.isfinite(y)
    if not ok.any():
        return []
    edges = np.flatnonzero(np.diff(np.concatenate(([0], ok.astype(np.int8), [0]))))
    return [(x[a:b], y[a:b]) for a, b in zip(edges[0::2], edges[1::2], strict=True)]


class Chart:
    """One time-series panel: layers are drawn in the order added.

    Parameters
    ----------
    x_range, y_range : tuple of float
        Data ranges shown (x usually minutes since the session start).
    width, height : int
        Size in pixels.
    x_label, y_label : str
        Axis titles (with units).
    """

    LEFT, RIGHT, TOP, BOTTOM = 58, 12, 18, 34

    def __init__(
        self,
        x_range: tuple[float, float],
        y_range: tuple[float, float],
        width: int = 960,
        height: int = 220,
        x_label: str = "time since start (min)",
        y_label: str = "",
    ) -> None:
        x0, x1 = x_range
        y0, y1 = y_range
        if not x1 > x0:
            x1 = x0 + 1.0
        if not y1 > y0:
            y0, y1 = y0 - 1.0, y1 + 1.0
        self.x0, self.x1, self.y0, self.y1 = x0, x1, y0, y1
        self.width, self.height = width, height
        self.x_label, self.y_label = x_label, y_label
        self.body: list[str] = []
        self.legend: list[tuple[str, str]] = []

    def px(self, x: np.ndarray) -> np.ndarray:
        """Data x to pixels."""
        w = self.width - self.LEFT - self.RIGHT
        return self.LEFT + (np.asarray(x, float) - self.x0) / (self.x1 - self.x0) * w

    def py(self, y: np.ndarray) -> np.ndarray:
        """Data y to pixels (clipped to the plot area)."""
        h = self.height - self.TOP - self.BOTTOM
        y = np.clip(np.asarray(y, float), self.y0, self.y1)
        return self.TOP + (1.0 - (y - self.y0) / (self.y1 - self.y0)) * h

    def spans(self, starts: np.ndarray, ends: np.ndarray, colors: list[str]) -> None:
        """Shaded vertical spans (zones), one colour each (empty string: none)."""
        top, bottom = self.TOP, self.height - self.BOTTOM
        runs: list[list] = []  # neighbouring spans of one colour become one rectangle
        for a, b, color in zip(self.px(starts), self.px(ends), colors, strict=True):
            if runs and runs[-1][2] == color and abs(runs[-1][1] - a) < 0.05:
                runs[-1][1] = b
            else:
                runs.append([a, b, color])
        for a, b, color in runs:
            if color:
                self.body.append(
                    f"<rect x='{a:.1f}' y='{top}' width='{max(b - a, 0.5):.1f}' "
                    f"height='{bottom - top}' fill='{color}' stroke='none'/>"
                )

    def line(
        self, x, y, color: str, label: str = "", width: float = 1.3, max_gap: float = 0.0
    ) -> None:
        """A polyline, broken where ``y`` is NaN.

        With ``max_gap`` > 0, NaNs are skipped instead and the line breaks only where
        consecutive finite points are more than ``max_gap`` apart (x units): for series
        sampled more sparsely than their bins.
        """
        x, y = np.asarray(x, float), np.asarray(y, float)
        if max_gap > 0:
            keep = np.isfinite(x) & np.isfinite(y)
            x, y = x[keep], y[keep]
            breaks = np.flatnonzero(np.diff(x) > max_gap) + 1
            x, y = np.insert(x, breaks, np.nan), np.insert(y, breaks, np.nan)
        for rx, ry in _runs(x, y):
            pts = " ".join(
                f"{a:.1f},{b:.1f}" for a, b in zip(self.px(rx), self.py(ry), strict=True)
            )
            if rx.size == 1:
                self.body.append(
                    f"<circle cx='{self.px(rx)[0]:.1f}' cy='{self.py(ry)[0]:.1f}' r='1.2' "
                    f"fill='{color}'/>"
                )
            else:
                self.body.append(
                    f"<polyline class='series' points='{pts}' fill='none' stroke='{color}' "
                    f"stroke-width='{width}' stroke-linejoin='round'/>"
                )
        if label:
            self.legend.append((label, color))

    def envelope(self, x, lo, hi, color: str, label: str = "") -> None:
        """A filled band between ``lo`` and ``hi`` (min/max of a binned series)."""
        x, lo, hi = (np.asarray(v, float) for v in (x, lo, hi))
        ok = np.isfinite(lo) & np.isfinite(hi)
        for rx, _ in _runs(np.where(ok, x, np.nan), np.where(ok, lo, np.nan)):
            sel = (x >= rx[0]) & (x <= rx[-1]) & ok
            xs, a, b = self.px(x[sel]), self.py(lo[sel]), self.py(hi[sel])
            pts = [f"{u:.1f},{v:.1f}" for u, v in zip(xs, b, strict=True)]
            pts += [f"{u:.1f},{v:.1f}" for u, v in zip(xs[::-1], a[::-1], strict=True)]
            self.body.append(
                f"<polygon points='{' '.join(pts)}' fill='{color}' stroke='{color}' "
                "stroke-width='0.6'/>"
            )
        if label:
            self.legend.append((label, color))

    def points(self, x, y, color: str, label: str = "", r: float = 2.2) -> None:
        """Dots (artifacts)."""
        x, y = np.asarray(x, float), np.asarray(y, float)
        ok = np.isfinite(x) & np.isfinite(y)
        for a, b in zip(self.px(x[ok]), self.py(y[ok]), strict=True):
            self.body.append(f"<circle cx='{a:.1f}' cy='{b:.1f}' r='{r}' fill='{color}'/>")
        if label:
            self.legend.append((label, color))

    def hline(self, y: float, color: str, label: str = "", dash: str = "5,4") -> None:
        """A horizontal reference line (a band edge, a significance level)."""
        if not math.isfinite(y):
            return
        py = float(self.py(y))
        self.body.append(
            f"<line x1='{self.LEFT}' x2='{self.width - self.RIGHT}' y1='{py:.1f}' y2='{py:.1f}' "
            f"stroke='{color}' stroke-dasharray='{dash}' stroke-width='1.2'/>"
        )
        if label:
            self.legend.append((label, color))

    def vline(self, x: float, label: str, color: str = "#555") -> None:
        """A labelled vertical line (a marker)."""
        if not self.x0 <= x <= self.x1:
            return
        px = float(self.px(x))
        self.body.append(
            f"<line class='marker' x1='{px:.1f}' x2='{px:.1f}' y1='{self.TOP}' "
            f"y2='{self.height - self.BOTTOM}' stroke='{color}' stroke-width='1'/>"
            f"<text x='{px + 3:.1f}' y='{self.TOP + 10}' {FONT} fill='{color}'>"
            f"{escape(label)}</text>"
        )

    def render(self) -> str:
        """The ``<svg>`` element."""
        w, h = self.width, self.height
        left, right, top, bottom = self.LEFT, w - self.RIGHT, self.TOP, h - self.BOTTOM
        axes = [
            f"<rect x='{left}' y='{top}' width='{right - left}' height='{bottom - top}' "
            "fill='none' stroke='#999'/>"
        ]
        for t in nice_ticks(self.x0, self.x1, 10):
            px = float(self.px(t))
            axes.append(
                f"<line x1='{px:.1f}' x2='{px:.1f}' y1='{bottom}' y2='{bottom + 4}' "
                f"stroke='#999'/><text x='{px:.1f}' y='{bottom + 15}' {FONT} "
                f"text-anchor='middle'>{t:g}</text>"
            )
        for t in nice_ticks(self.y0, self.y1, 5):
            py = float(self.py(t))
            axes.append(
                f"<line x1='{left}' x2='{right}' y1='{py:.1f}' y2='{py:.1f}' stroke='#eee'/>"
                f"<text x='{left - 4}' y='{py + 4:.1f}' {FONT} text-anchor='end'>{t:g}</text>"
            )
        axes.append(
            f"<text x='{(left + right) / 2}' y='{h - 4}' {FONT} text-anchor='middle'>"
            f"{escape(self.x_label)}</text>"
            f"<text transform='translate(12,{(top + bottom) / 2}) rotate(-90)' {FONT} "
            f"text-anchor='middle'>{escape(self.y_label)}</text>"
        )
        legend = []
        x = left
        for label, color in self.legend:
            legend.append(
                f"<rect x='{x}' y='4' width='10' height='8' fill='{color}'/>"
                f"<text x='{x + 13}' y='12' {FONT}>{escape(label)}</text>"
            )
            x += 22 + 6.5 * len(label)
        return (
            f"<svg xmlns='http://www.w3.org/2000/svg' width='{w}' height='{h}' "
            f"viewBox='0 0 {w} {h}' role='img'>"
            + "".join(axes[:1])
            + "".join(self.body)
            + "".join(axes[1:])
            + "".join(legend)
            + "</svg>"
        )


def hbars(values: list[tuple[str, float, str]], unit: str, width: int = 640) -> str:
    """Horizontal bars (time in each zone): ``(label, value, colour)`` rows."""
    row_h = 22
    h = row_h * len(values) + 8
    top = max((v for _, v, _ in values), default=0.0) or 1.0
    parts = []
    for i, (label, value, color) in enumerate(values):
        y = 4 + i * row_h
        bar = (width - 300) * value / top
        parts.append(
            f"<text x='190' y='{y + 14}' {FONT} text-anchor='end'>{escape(label)}</text>"
            f"<rect class='bar' x='196' y='{y + 3}' width='{bar:.1f}' height='{row_h - 6}' "
            f"fill='{color}'/><text x='{200 + bar:.1f}' y='{y + 14}' {FONT}>"
            f"{value:.1f} {escape(unit)}</text>"
        )
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{h}' "
        f"viewBox='0 0 {width} {h}' role='img'>" + "".join(parts) + "</svg>"
    )
