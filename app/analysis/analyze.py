"""Offline analysis of a recording: ``heartsync analyze FILE.xdf [--out DIR] [--json]``.

The file is replayed at full speed through the same :class:`~app.engine.Engine` and
pipeline as a live session (so every corrected beat, HRV value and zone is the one the
live session had), into a :class:`~app.analysis.session_stats.SessionStats` sink that keeps
bounded running statistics and streams the per-beat and per-window CSV rows to disk.
:mod:`app.report.html` then writes the HTML page.
"""

import asyncio
import json
import logging
import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from app.analysis.session_stats import SessionStats, synchrony_summary
from app.engine import Engine
from app.private_files import open_private, private_folder, write_private
from app.report.ecg import ecg_snippets
from dsp.beat_result import BeatResult
from dsp.pipeline_batch import precomputed_pipeline
from sensors.replay import replay_sources
from sensors.xdf import RecordingError, XdfRecording, read_xdf

log = logging.getLogger(__name__)

#: Progress callback: fraction done in [0, 1].
Progress = Callable[[float], None]


class AnalysisError(RecordingError):
    """A recording cannot be analysed (the message says why, in one line)."""


@dataclass
class Marker:
    """A user annotation of the session.

    Attributes
    ----------
    t : float
        Stream time, s.
    text : str
        As typed.
    """

    t: float
    text: str


@dataclass
class Analysis:
    """The result of :func:`analyze`.

    Attributes
    ----------
    path : Path
        The recording.
    stats : SessionStats
        Running statistics and binned series of every subject.
    markers : list of Marker
        User annotations.
    summary : dict
        What ``--json`` prints (see :func:`build_summary`).
    out_dir : Path or None
        Where the report and CSVs were written.
    files : dict of str to Path
        ``report``, ``beats_csv``, ``windows_csv``, ``summary_json``.
    notes : list of str
        Problems met while reading (a file cut short, damage skipped).
    ecg : dict
        Per subject with a recorded ECG, the ECG around flagged beats
        (:func:`app.report.ecg.ecg_snippets`).
    """

    path: Path
    stats: SessionStats
    markers: list[Marker]
    summary: dict
    out_dir: Path | None = None
    files: dict[str, Path] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    ecg: dict = field(default_factory=dict)


class _ProgressSink:
    """Calls ``progress`` with the replayed share of the recording every 512 beats."""

    def __init__(self, t_first: float, t_last: float, progress: Progress) -> None:
        self.t_first = t_first
        self.span = max(t_last - t_first, 1e-9)
        self.progress = progress
        self.n = 0

    def write(self, result: BeatResult) -> None:
        self.n += 1
        if self.n % 512 == 0:
            self.progress(min(1.0, (result.beat.t - self.t_first) / self.span))

    def status(self, subject: str, source: str, status: object) -> None:
        pass

    def close(self) -> None:
        self.progress(1.0)


class ProgressBar:
    """A one-line terminal progress bar that appears only after ``delay_s`` of wall time.

    Parameters
    ----------
    stream : text stream
        Usually standard error.
    delay_s : float
        Quiet this long, s (short analyses print nothing).
    clock : callable
        Wall clock in seconds (tests pass a fake one).
    """

    def __init__(
        self, stream: TextIO, delay_s: float = 2.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.stream = stream
        self.delay_s = delay_s
        self.clock = clock
        self.started = clock()
        self.shown = False
        self._last = -1

    def __call__(self, fraction: float) -> None:
        """Show ``fraction`` done (redraws at most once per percent)."""
        elapsed = self.clock() - self.started
        if elapsed < self.delay_s and not self.shown:
            return
        percent = int(100 * fraction)
        if percent == self._last:
            return
        self._last = percent
        self.shown = True
        filled = percent * 30 // 100
        bar = "#" * filled + "." * (30 - filled)
        self.stream.write(f"\ranalysing [{bar}] {percent:3d}% {elapsed:5.1f} s")
        if percent >= 100:
            self.stream.write("\n")
        self.stream.flush()


def read_markers(recording: XdfRecording) -> list[Marker]:
    """User annotations of a recording: text rows of its marker streams (not JSON events)."""
    markers = []
    for stream in recording.streams:
        if stream.channel_format != "string" or stream.type.lower() != "markers":
            continue
        for t, row in zip(stream.time_stamps, stream.time_series, strict=False):
            text = (row[0] if len(row) else "").strip()
            if text and not text.startswith("{"):
                markers.append(Marker(float(t), text))
    markers.sort(key=lambda m: m.t)
    return markers


def build_summary(analysis_path: Path, stats: SessionStats, markers: list[Marker]) -> dict:
    """The session summary: per subject HRV, zones and quality; markers; dyad measures.

    Parameters
    ----------
    analysis_path : Path
        The recording.
    stats : SessionStats
        The statistics after the replay.
    markers : list of Marker
        User annotations.
    """
    subjects = {name: stats.summary(name) for name in stats.subjects}
    firsts = [s.t_first for s in stats.subjects.values()]
    lasts = [s.t_last for s in stats.subjects.values()]
    duration = (max(lasts) - min(firsts)) / 60.0 if firsts else math.nan
    paced_min = sum(end - start for _, start, end in stats.paced_spans) / 60.0
    return {
        "file": str(analysis_path),
        "duration_min": round(duration, 6) if math.isfinite(duration) else None,
        "subjects": subjects,
        "markers": [{"elapsed_s": round(m.t - stats.t0, 3), "text": m.text} for m in markers],
        "paced_min": round(paced_min, 6),
        "synchrony": synchrony_summary(stats, markers),
    }


def default_out_dir(path: Path) -> Path:
    """``session-report/`` beside ``session.xdf``."""
    return path.with_name(path.stem + "-report")


def analyze(
    path: str | os.PathLike,
    out_dir: str | os.PathLike | None = None,
    progress: Progress | None = None,
    write_files: bool = True,
    batch_hrv: bool = True,
) -> Analysis:
    """Replay a recording through the live pipeline and write its report.

    Parameters
    ----------
    path : str or path
        The XDF recording (heartsync's or a third-party file with an RR/HR stream).
    out_dir : str or path or None
        Folder for ``report.html``, ``beats.csv``, ``windows.csv`` and ``summary.json``
        (default: ``<file>-report`` beside the file); created if needed.
    progress : callable or None
        Called with the fraction done (engine thread of the caller).
    write_files : bool
        False computes the summary only.
    batch_hrv : bool
        Compute every beat's HRV windows at once (:mod:`dsp.pipeline_batch`); False runs
        the live HRV windows beat by beat (the same numbers, several times slower: the
        reference path of ``bench/analyze.py``).

    Returns
    -------
    Analysis

    Raises
    ------
    RecordingError
        When the file cannot be read or holds nothing to analyse (one-line message).
    """
    path = Path(path)
    if not path.is_file():
        raise AnalysisError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise AnalysisError(f"{path} is empty (0 bytes): not a recording")
    recording = read_xdf(path)
    notes = list(recording.problems)
    try:
        sources = replay_sources(path, speed=0)
    except RecordingError as exc:
        if recording.truncated:
            raise AnalysisError(
                f"{path} is cut short at byte {recording.valid_bytes:,} of "
                f"{recording.file_bytes:,} and holds nothing to analyse before the cut ({exc})"
            ) from None
        raise
    session = sources[0].session
    out = Path(out_dir) if out_dir is not None else default_out_dir(path)
    files: dict[str, Path] = {}
    handles: list[TextIO] = []
    if write_files:
        private_folder(out)
        files = {
            "report": out / "report.html",
            "beats_csv": out / "beats.csv",
            "windows_csv": out / "windows.csv",
            "summary_json": out / "summary.json",
        }
        handles = [open_private(files["beats_csv"], ""), open_private(files["windows_csv"], "")]
    try:
        pair = (sources[0].subject, sources[1].subject) if len(sources) == 2 else None
        stats = SessionStats(
            *(handles or (None, None)), t0=session.t_first, pair=pair, dyad=pair is not None
        )
        sinks: list = [stats]
        if progress is not None:
            sinks.append(_ProgressSink(session.t_first, session.t_last, progress))
        # the HRV windows of every beat at once (the same numbers as beat by beat)
        pipelines = {
            s.subject: precomputed_pipeline(s.subject, *s.beat_arrays())
            for s in sources
            if batch_hrv
        }
        engine = Engine(sources, sinks, pipelines=pipelines)
        asyncio.run(engine.run())
    finally:
        for handle in handles:
            handle.close()
    if not stats.subjects:
        raise AnalysisError(f"{path}: no beats came through the pipeline")
    markers = read_markers(recording)
    summary = build_summary(path, stats, markers)
    analysis = Analysis(path, stats, markers, summary, out if write_files else None, files, notes)
    analysis.ecg = ecg_snippets(recording)
    if write_files:
        from app.report.html import write_report

        write_private(files["summary_json"], json.dumps(summary, indent=2) + "\n")
        write_report(analysis, files["report"])
    return analysis


def main(path: Path, out_dir: Path | None, as_json: bool, pdf: bool = False) -> int:
    """The ``analyze`` command: exit code 0; a bad file or folder raises (one line, exit 2).

    With ``pdf`` the report is also written as ``report.pdf`` (:mod:`app.report.pdf`).
    Problems read around in the file are logged only once the analysis succeeded.

    Raises
    ------
    RecordingError
        When the file cannot be read or holds nothing to analyse.
    OSError
        When the report cannot be written.
    """
    bar = ProgressBar(sys.stderr)
    logging.getLogger("app.engine").setLevel(logging.WARNING)  # no replay connect/stop lines
    analysis = analyze(path, out_dir, progress=bar)
    for note in analysis.notes:
        log.warning("%s", note)
    if pdf:
        from app.report.pdf import PdfError, write_pdf

        try:
            analysis.files["pdf"] = write_pdf(
                analysis.files["report"], analysis.files["report"].with_suffix(".pdf")
            )
        except PdfError as exc:
            print(f"heartsync: error: {exc}", file=sys.stderr)
            return 1
    if as_json:
        print(json.dumps(analysis.summary, indent=2))
    else:
        print(f"report: {analysis.files['report']}")
        print(f"per-beat CSV: {analysis.files['beats_csv']}")
        print(f"per-window CSV: {analysis.files['windows_csv']}")
        if "pdf" in analysis.files:
            print(f"PDF: {analysis.files['pdf']}")
    return 0
