"""The session report as a PDF, for a clinician's file: Qt's own PDF writer, no new dependency.

The HTML page (:mod:`app.report.html`) is laid out by :class:`QTextDocument` (Qt's rich
text engine, in PySide6-Essentials' QtGui) and printed page by page with
:class:`QPdfWriter` on A4 or US Letter. QTextDocument does not draw inline SVG, so each
figure is rendered by :class:`QSvgRenderer` (QtSvg, also in Essentials) into an image at
print resolution and put in its place. Text stays text: it can be searched, copied and
extracted (``pdftotext``).

Qt needs a ``QGuiApplication`` for fonts; on the command line one is made on the
``offscreen`` platform (no display needed), in the window the running one is used.
Call from the thread that owns the application (the window's UI thread).
"""

import logging
import re
from pathlib import Path

log = logging.getLogger(__name__)

#: Resolution of the page, dots per inch.
DPI = 300
#: Resolution of the figures, dots per inch (sharp on paper, a few hundred kB a page).
FIGURE_DPI = 150
PAGES = ("a4", "letter")
_SVG = re.compile(r"<svg\b.*?</svg>", re.DOTALL)
_WIDTH = re.compile(r"<svg\b[^>]*?\bwidth=['\"]([\d.]+)")
_HEIGHT = re.compile(r"<svg\b[^>]*?\bheight=['\"]([\d.]+)")
# the outline of a filled band adds nothing on paper and doubles the drawing time (Qt
# strokes a 4,000-point zigzag the slow way)
_BAND_STROKE = re.compile(r"(<polygon [^>]*?) stroke='[^']*' stroke-width='[^']*'")
# print rules QTextDocument understands (it ignores max-width, margins of body, ...)
_PRINT_CSS = (
    "body{font-family:sans-serif;font-size:9pt;color:#222}"
    "h1{font-size:15pt}h2{font-size:12pt;margin-top:12pt}h3{font-size:10pt}"
    "table{border-collapse:collapse}td,th{border:1px solid #bbb;padding:2px}"
    "th{background:#eee}.note,.small,figcaption{color:#555;font-size:8pt}"
)


class PdfError(RuntimeError):
    """The PDF cannot be written (the message says why)."""


def default_page() -> str:
    """``letter`` in the US and Canada (Qt's locale), ``a4`` elsewhere."""
    from PySide6.QtCore import QLocale

    territory = QLocale.system().territory()
    letter = {QLocale.Country.UnitedStates, QLocale.Country.Canada}
    return "letter" if territory in letter else "a4"


def _application():
    """The running QGuiApplication, or an offscreen one for the command line."""
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication.instance()
    if app is None:
        app = QGuiApplication(["heartsync", "-platform", "offscreen"])
    return app


def _figures(html: str, width_px: float) -> tuple[str, dict[str, object]]:
    """Replace each inline SVG with an image reference; returns the page and the images."""
    from PySide6.QtCore import QByteArray, Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    images: dict[str, QImage] = {}

    def render(match: re.Match) -> str:
        svg = _BAND_STROKE.sub(r"\1 stroke='none'", match.group(0))
        renderer = QSvgRenderer(QByteArray(svg.encode("utf-8")))
        if not renderer.isValid():
            return "<p class='note'>(figure could not be drawn)</p>"
        w = float(_WIDTH.search(svg).group(1)) if _WIDTH.search(svg) else 800.0
        h = float(_HEIGHT.search(svg).group(1)) if _HEIGHT.search(svg) else 200.0
        scale = FIGURE_DPI / 96.0
        image = QImage(round(w * scale), round(h * scale), QImage.Format.Format_RGB32)
        image.fill(Qt.GlobalColor.white)
        painter = QPainter(image)
        renderer.render(painter)
        painter.end()
        name = f"figure-{len(images)}.png"
        images[name] = image
        shown = min(w, width_px)
        return f"<img src='{name}' width='{shown:.0f}' height='{h * shown / w:.0f}'>"

    return _SVG.sub(render, html), images


def write_pdf(html_path: Path, pdf_path: Path, page: str | None = None) -> Path:
    """Write the report page ``html_path`` as a PDF.

    Parameters
    ----------
    html_path : Path
        ``report.html`` (:func:`app.report.html.write_report`).
    pdf_path : Path
        The PDF to write (replaced if it exists).
    page : {"a4", "letter"} or None
        Paper size (default: :func:`default_page`). Margins 15 mm.

    Returns
    -------
    Path
        ``pdf_path``.

    Raises
    ------
    PdfError
        When the page cannot be read or the PDF cannot be written.
    """
    page = page or default_page()
    if page not in PAGES:
        raise PdfError(f"paper {page!r}: choose one of {', '.join(PAGES)}")
    try:
        html = Path(html_path).read_text(encoding="utf-8")
    except OSError as exc:
        raise PdfError(f"cannot read {html_path}: {exc.strerror or exc}") from None
    _application()
    from PySide6.QtCore import QMarginsF, QSizeF, QUrl
    from PySide6.QtGui import QPageLayout, QPageSize, QPdfWriter, QTextDocument

    writer = QPdfWriter(str(pdf_path))
    size = QPageSize.PageSizeId.A4 if page == "a4" else QPageSize.PageSizeId.Letter
    writer.setPageLayout(
        QPageLayout(
            QPageSize(size),
            QPageLayout.Orientation.Portrait,
            QMarginsF(15, 15, 15, 15),
            QPageLayout.Unit.Millimeter,
        )
    )
    writer.setResolution(DPI)
    writer.setTitle(f"heartsync session report ({Path(html_path).parent.name})")
    writer.setCreator("heartsync")
    paint = writer.pageLayout().paintRectPixels(DPI)
    doc = QTextDocument()
    doc.setDefaultStyleSheet(_PRINT_CSS)
    # QTextDocument lays out in points at 96 dpi: the printable width in those units
    width_px = paint.width() * 96.0 / DPI
    body, images = _figures(re.sub(r"<style>.*?</style>", "", html, flags=re.DOTALL), width_px)
    for name, image in images.items():
        doc.addResource(QTextDocument.ResourceType.ImageResource, QUrl(name), image)
    doc.setHtml(body)
    doc.setPageSize(QSizeF(width_px, paint.height() * 96.0 / DPI))
    doc.print_(writer)
    if not Path(pdf_path).is_file() or Path(pdf_path).stat().st_size == 0:
        raise PdfError(f"cannot write {pdf_path}")
    log.info("PDF report written to %s (%s)", pdf_path, page)
    return Path(pdf_path)
