"""The report's ECG around beats flagged as artifacts (recordings of a Polar strap).

For each person whose recording holds an ``ecg`` stream, the first
:data:`MAX_SNIPPETS` beats that the live pipeline flagged (the ``artifact`` channel of
the ``rr`` stream) get a small figure of the ECG from 1.5 s before to 1.5 s after the
beat, the beat time marked, so a reader can see whether the flag was a real ectopic
beat (an early, differently shaped QRS), a missed or extra detection, or noise.
"""

from dataclasses import dataclass
from html import escape

import numpy as np

from app.report.svg import Chart
from app.streams.specs import ARTIFACT_CODES
from sensors.xdf.reader import XdfRecording

__all__ = ["MAX_SNIPPETS", "EcgSnippet", "ecg_snippets", "render_snippets"]

#: Flagged beats shown per person.
MAX_SNIPPETS = 12
#: Seconds of ECG either side of a flagged beat.
HALF_S = 1.5
_KINDS = {code: kind for kind, code in ARTIFACT_CODES.items() if kind is not None}


@dataclass(frozen=True)
class EcgSnippet:
    """The ECG around one flagged beat.

    Attributes
    ----------
    t_beat : float
        The beat's time, s (LSL clock of the recording).
    kind : str
        The flag (``ectopic``, ``missed``, ``extra``, ``long``, ``short``, ``invalid``).
    t, uv : numpy.ndarray
        Seconds relative to the beat, and microvolts.
    """

    t_beat: float
    kind: str
    t: np.ndarray
    uv: np.ndarray


def _by_subject(recording: XdfRecording, key: str) -> dict[str, object]:
    return {
        s.text("desc/subject/alias"): s
        for s in recording.streams
        if s.text("desc/heartsync/stream") == key and len(s.time_stamps)
    }


def ecg_snippets(recording: XdfRecording) -> dict[str, list[EcgSnippet]]:
    """Per subject with ECG, the ECG around its first flagged beats (oldest first)."""
    ecg, rr = _by_subject(recording, "ecg"), _by_subject(recording, "rr")
    out: dict[str, list[EcgSnippet]] = {}
    for subject, stream in ecg.items():
        beats = rr.get(subject)
        if beats is None:
            continue
        codes = np.asarray(beats.time_series, dtype=np.float64)[:, 2]
        flagged = np.flatnonzero(codes > 0)[:MAX_SNIPPETS]
        t = np.asarray(stream.time_stamps, dtype=np.float64)
        x = np.asarray(stream.time_series, dtype=np.float64)[:, 0]
        snippets = []
        for i in flagged:
            tb = float(beats.time_stamps[i])
            lo, hi = np.searchsorted(t, (tb - HALF_S, tb + HALF_S))
            if hi - lo > 10:  # ECG was streaming then
                snippets.append(
                    EcgSnippet(tb, _KINDS.get(int(codes[i]), "invalid"), t[lo:hi] - tb, x[lo:hi])
                )
        out[subject] = snippets
    return out


def render_snippets(subject: str, snippets: list[EcgSnippet], t0: float) -> str:
    """HTML of one person's ECG figures (a note when no flagged beat had ECG around it)."""
    if not snippets:
        return "<p class='small'>ECG was recorded, but not around any flagged beat.</p>"
    lo = min(float(s.uv.min()) for s in snippets)
    hi = max(float(s.uv.max()) for s in snippets)
    figures = []
    for s in snippets:
        chart = Chart(
            (-HALF_S, HALF_S), (lo, hi), width=300, height=150, x_label="s from the beat",
            y_label="ECG (µV)",
        )  # fmt: skip
        chart.line(s.t, s.uv, "#1f4e8c")
        chart.vline(0.0, s.kind, "#d62728")
        minute = (s.t_beat - t0) / 60.0
        figures.append(
            f"<figure class='ecg'>{chart.render()}<figcaption>{escape(s.kind)} at "
            f"{minute:.2f} min</figcaption></figure>"
        )
    return (
        f"<div id='ecg-{escape(subject)}'>" + "".join(figures) + "</div><p class='small'>"
        "ECG around beats the pipeline flagged (red line: the beat). An ectopic beat shows "
        "an early QRS of another shape; a clean QRS at the line with normal neighbours "
        "points to a detection or radio problem rather than the heart.</p>"
    )
