"""The session report as a PDF (Qt's own writer): A4 or Letter, text extractable."""

import asyncio
import json
import re
import shutil
import subprocess
import sys
import zlib

import pytest

from app.engine import Engine
from app.recording.recorder import RecorderSettings, XdfRecorder
from sensors.simulated import SimSettings, SimulatedSource

CLI = [sys.executable, "-m", "ui"]


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    path = tmp_path_factory.mktemp("pdf") / "rest.xdf"
    source = SimulatedSource(SimSettings(seed=12), speed=0)
    recorder = XdfRecorder(path, [source], RecorderSettings(flush_interval_s=0.05))
    asyncio.run(Engine([source], [recorder]).run(duration_s=660))
    return path


def _media_boxes(pdf: bytes) -> list[tuple[float, float]]:
    boxes = re.findall(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", pdf)
    return [(float(w), float(h)) for w, h in boxes]


def test_analyze_pdf_writes_a_printable_report_whose_text_can_be_extracted(recording, tmp_path):
    out = tmp_path / "report"
    done = subprocess.run(
        [*CLI, "analyze", str(recording), "--out", str(out), "--pdf"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    pdf = out / "report.pdf"
    assert f"PDF: {pdf}" in done.stdout
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    boxes = _media_boxes(data)
    assert len(boxes) >= 2  # the figures run onto a second page
    # A4 (595 x 842 pt) or US Letter (612 x 792 pt), by the locale
    assert set(boxes) <= {(595.0, 842.0), (612.0, 792.0)}
    # the figures are images in it, not left out
    assert data.count(b"/Subtype /Image") >= 2
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed: text not checked")
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    summary = json.loads((out / "summary.json").read_text())["subjects"]["self"]
    for words in ("Session report", "RMSSD (ms)", "Poincaré SD1 (ms)", "DFA α1", "Peng et al."):
        assert words in text
    rows = {
        "RMSSD (ms)": summary["time_domain"]["rmssd_ms"],
        "Poincaré SD1 (ms)": summary["nonlinear"]["sd1_ms"],
        "Poincaré SD2 (ms)": summary["nonlinear"]["sd2_ms"],
    }
    for label, value in rows.items():
        line = next(line for line in text.splitlines() if line.strip().startswith(label))
        assert line.split()[-1] == f"{value:,.1f}"
    assert re.search(r"DFA α1\s+" + re.escape(f"{summary['nonlinear']['dfa_alpha1']:.2f}"), text)


def test_letter_and_a4_pages(recording, tmp_path, qapp):
    # qapp: a QApplication exists first (a bare QGuiApplication would break widget tests)
    from app.analysis.analyze import analyze
    from app.report.pdf import PdfError, write_pdf

    analysis = analyze(recording, tmp_path / "r")
    html = analysis.files["report"]
    letter = write_pdf(html, tmp_path / "letter.pdf", page="letter")
    a4 = write_pdf(html, tmp_path / "a4.pdf", page="a4")
    assert set(_media_boxes(letter.read_bytes())) == {(612.0, 792.0)}
    assert set(_media_boxes(a4.read_bytes())) == {(595.0, 842.0)}
    with pytest.raises(PdfError, match="choose one of a4, letter"):
        write_pdf(html, tmp_path / "x.pdf", page="a5")
    with pytest.raises(PdfError, match="cannot read"):
        write_pdf(tmp_path / "missing.html", tmp_path / "y.pdf")
    # the page content streams are compressed text, not pictures of text
    streams = re.findall(rb"stream\r?\n(.*?)endstream", a4.read_bytes(), re.DOTALL)
    shown = b""
    for stream in streams:
        try:
            shown += zlib.decompress(stream)
        except zlib.error:
            continue
    assert shown.count(b"Tj") + shown.count(b"TJ") > 50
