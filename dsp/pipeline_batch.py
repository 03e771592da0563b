"""A subject's pipeline with its HRV windows computed in advance, for whole recordings.

Offline analysis replays a recording through the live engine, so every corrected beat,
quality value and zone is the live one. The HRV stage is the costly part of that replay
(a 120-s spectrum every 5 s of stream time, one window at a time). When all raw beats are
known in advance, :func:`precomputed_pipeline` corrects them with the batch corrector
(:meth:`~dsp.artifacts.corrector.ArtifactCorrector.push_many`, bit-identical to pushing
beat by beat), splits them at the gaps exactly as :meth:`SubjectPipeline.push` does, and
computes every beat's HRV at once with :func:`~dsp.hrv.window.windowed_metrics`
(bit-identical to :class:`~dsp.hrv.window.HrvWindow`). The pipeline it returns runs the
live corrector, quality and arousal stages as usual and takes each beat's HRV from that
table; ``tests/test_pipeline_batch.py`` checks the results equal the live pipeline's.
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np

from dsp.artifacts.corrector import ArtifactCorrector
from dsp.hrv.window import HrvMetrics, windowed_metrics
from dsp.pipeline import PipelineSettings, SubjectPipeline, gap_starts
from dsp.tolerance.baseline import Baseline
from dsp.types import CorrectedBeat

__all__ = ["PrecomputedHrv", "corrected_stream", "precomputed_pipeline"]

_FIELDS = (
    "t",
    "hr_bpm",
    "rmssd_ms",
    "ln_rmssd",
    "sdnn_ms",
    "lf_ms2",
    "hf_ms2",
    "hf_peak_hz",
    "n_diffs",
    "spectrum_t",
    "reason",
)


def corrected_stream(
    t_s: np.ndarray, rr_ms: np.ndarray, settings: PipelineSettings = PipelineSettings()
) -> tuple[list[CorrectedBeat], np.ndarray]:
    """The corrected beats :class:`SubjectPipeline` releases for these raw beats.

    Parameters
    ----------
    t_s, rr_ms : array_like
        Raw beat times (s) and intervals (ms) of one subject, in arrival order.
    settings : PipelineSettings
        The pipeline's settings (gap length, artifact settings).

    Returns
    -------
    beats : list of CorrectedBeat
        Every corrected beat, in release order.
    gap_before : numpy.ndarray of bool
        Per corrected beat: the pipeline flags a gap before it.
    """
    t = np.asarray(t_s, dtype=np.float64)
    rr = np.asarray(rr_ms, dtype=np.float64)
    bounds = [0, *np.flatnonzero(gap_starts(t, rr, settings.gap_s)).tolist(), t.size]
    corrector = ArtifactCorrector(settings.artifacts)
    beats: list[CorrectedBeat] = []
    gaps: list[int] = []
    pending = False
    for k, (a, b) in enumerate(pairwise(bounds)):
        if a == b:
            continue
        pending = pending or k > 0  # a new segment starts after a gap
        out = corrector.push_many(t[a:b], rr[a:b]) + corrector.flush()
        if out and pending:
            gaps.append(len(beats))
            pending = False
        beats.extend(out)
    gap_before = np.zeros(len(beats), dtype=bool)
    gap_before[gaps] = True
    return beats, gap_before


class PrecomputedHrv:
    """The HRV stage of a pipeline as a table: each push returns the next row.

    Parameters
    ----------
    metrics : dict of numpy.ndarray
        :func:`~dsp.hrv.window.windowed_metrics` of the corrected stream.
    gap_before : numpy.ndarray of bool
        The gap flags the table was computed with.

    Raises
    ------
    ValueError
        From :meth:`push` when the live stream differs from the table (a beat time or a
        gap flag that does not match): the table no longer describes the stream.
    """

    _CHUNK = 4096  # rows turned into HrvMetrics at a time (memory stays small)

    def __init__(self, metrics: dict[str, np.ndarray], gap_before: np.ndarray) -> None:
        self._columns = [metrics[f] for f in _FIELDS]
        self._gap = gap_before
        self._n = gap_before.size
        self._rows: list[HrvMetrics] = []
        self._gaps: list[bool] = []
        self._start = 0  # table index of self._rows[0]
        self._i = 0

    def reset(self) -> None:
        """Start again from the first row (only before the first push)."""
        if self._i:
            raise ValueError("a precomputed HRV table cannot restart mid-stream")

    def push(self, beat: CorrectedBeat, gap_before: bool = False) -> HrvMetrics:
        """The metrics of the next beat, checked against the table."""
        i = self._i - self._start
        if i >= len(self._rows):
            self._next_chunk(beat)
            i = 0
        row = self._rows[i]
        if row.t != beat.t or self._gaps[i] != gap_before:
            raise ValueError(f"beat at {beat.t!r} s does not match the HRV table ({row.t!r} s)")
        self._i += 1
        return row

    def _next_chunk(self, beat: CorrectedBeat) -> None:
        a = self._i
        if a >= self._n:
            raise ValueError(f"beat at {beat.t!r} s is past the end of the HRV table")
        b = min(self._n, a + self._CHUNK)
        columns = (c[a:b].tolist() for c in self._columns)
        self._rows = [HrvMetrics(*row) for row in zip(*columns, strict=True)]
        self._gaps = self._gap[a:b].tolist()
        self._start = a


def precomputed_pipeline(
    subject: str,
    t_s: np.ndarray,
    rr_ms: np.ndarray,
    settings: PipelineSettings = PipelineSettings(),
    baseline: Baseline | None = None,
) -> SubjectPipeline:
    """A :class:`SubjectPipeline` for these raw beats whose HRV is computed in advance.

    Parameters
    ----------
    subject : str
        Subject alias.
    t_s, rr_ms : array_like
        Every raw beat the pipeline will be fed (times in s, intervals in ms), in order.
    settings : PipelineSettings
        Stage settings.
    baseline : Baseline or None
        Resting baseline for the arousal stage.

    Returns
    -------
    SubjectPipeline
        Gives the same results as a live pipeline fed the same beats.
    """
    beats, gap = corrected_stream(t_s, rr_ms, settings)
    metrics = windowed_metrics(
        np.fromiter((b.t for b in beats), np.float64, len(beats)),
        np.fromiter((b.rr_ms for b in beats), np.float64, len(beats)),
        np.fromiter((b.artifact is not None for b in beats), bool, len(beats)),
        gap,
        settings.hrv,
    )
    return SubjectPipeline(subject, settings, baseline, hrv=PrecomputedHrv(metrics, gap))
