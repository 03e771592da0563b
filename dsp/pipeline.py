"""One person's beat-by-beat pipeline: gap handling, artifact correction, HRV, quality.

Pure: beats come in with their stream times, results go out. The engine runs one
:class:`SubjectPipeline` per subject; :func:`process` runs the same code over arrays so
that offline analysis equals the live session.
"""

import math
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from dsp.artifacts.corrector import ArtifactCorrector
from dsp.artifacts.windows import ArtifactSettings
from dsp.beat_result import BeatResult
from dsp.hrv.settings import HrvSettings
from dsp.hrv.window import HrvMetrics, HrvWindow
from dsp.quality import QualitySettings, SignalQuality
from dsp.tolerance.baseline import Baseline
from dsp.tolerance.estimator import ArousalEstimator, ArousalSettings
from dsp.types import Beat, CorrectedBeat


@dataclass(frozen=True)
class PipelineSettings:
    """Settings of the per-subject pipeline.

    Attributes
    ----------
    gap_s : float
        A beat arriving this much later than its own RR says (seconds) ends a gap: beats
        were lost, so nothing is differenced across it.
    artifacts, hrv, quality, arousal
        Settings of the stages.
    """

    gap_s: float = 2.0
    artifacts: ArtifactSettings = field(default_factory=ArtifactSettings)
    hrv: HrvSettings = field(default_factory=HrvSettings)
    quality: QualitySettings = field(default_factory=QualitySettings)
    arousal: ArousalSettings = field(default_factory=ArousalSettings)


class HrvStage(Protocol):
    """What the pipeline needs of its HRV stage (:class:`~dsp.hrv.window.HrvWindow`)."""

    def reset(self) -> None:
        """Forget the session."""

    def push(self, beat: CorrectedBeat, gap_before: bool = False) -> HrvMetrics:
        """Take one corrected beat; return the metrics at its time."""


def gap_starts(t_s: np.ndarray, rr_ms: np.ndarray, gap_s: float) -> np.ndarray:
    """Per raw beat: True where it ends a gap (it came ``gap_s`` later than its RR says).

    The same test, in the same arithmetic, as :meth:`SubjectPipeline.push`.
    """
    gap = np.zeros(t_s.size, dtype=bool)
    with np.errstate(invalid="ignore"):
        gap[1:] = t_s[1:] - t_s[:-1] > rr_ms[1:] / 1000.0 + gap_s
    return gap


class SubjectPipeline:
    """Turn one subject's raw beats into corrected beats with metrics and arousal.

    Parameters
    ----------
    subject : str
        The subject alias stamped on results.
    settings : PipelineSettings
        Stage settings.
    baseline : Baseline or None
        The subject's resting baseline; without one there is no arousal estimate.
    hrv : HrvStage or None
        The HRV stage (default: a live :class:`~dsp.hrv.window.HrvWindow`; offline
        analysis passes a table computed in advance, see :mod:`dsp.pipeline_batch`).
    """

    def __init__(
        self,
        subject: str,
        settings: PipelineSettings = PipelineSettings(),
        baseline: Baseline | None = None,
        hrv: HrvStage | None = None,
    ) -> None:
        self.subject = subject
        self.settings = settings
        self.paced = False  # True while the person follows a breathing pacer
        self._corrector = ArtifactCorrector(settings.artifacts)
        self._hrv: HrvStage = HrvWindow(settings.hrv) if hrv is None else hrv
        self._quality = SignalQuality(settings.quality)
        self.set_baseline(baseline)
        self.reset()

    @property
    def baseline(self) -> Baseline | None:
        """The baseline the arousal stage uses (None: no arousal estimate)."""
        return None if self._arousal is None else self._arousal.baseline

    def set_baseline(self, baseline: Baseline | None) -> None:
        """Start (or stop, with None) estimating arousal against a baseline."""
        self._arousal = (
            None if baseline is None else ArousalEstimator(baseline, self.settings.arousal)
        )

    def reset(self) -> None:
        """Forget the session (the baseline stays)."""
        self._corrector.reset()
        self._hrv.reset()
        self._quality.reset()
        if self._arousal is not None:
            self._arousal.reset()
        self._last_t = math.nan
        self._gap_pending = False
        self._contact: bool | None = None

    def push(self, beat: Beat) -> list[BeatResult]:
        """Feed one raw beat; return the corrected beats released by it (0, 1 or 2).

        Parameters
        ----------
        beat : Beat
            The next raw beat of this subject, in time order.
        """
        results: list[BeatResult] = []
        if beat.t - self._last_t > beat.rr_ms / 1000.0 + self.settings.gap_s:
            results = self._release(self._corrector.flush())
            self._corrector.reset()
            self._gap_pending = True  # quality sees the hole in the beat times itself
        self._last_t = beat.t
        self._contact = beat.contact
        results.extend(self._release(self._corrector.push(beat.t, beat.rr_ms)))
        return results

    def flush(self) -> list[BeatResult]:
        """Release the beats held for lookahead (end of the stream)."""
        return self._release(self._corrector.flush())

    def _release(self, corrected: list[CorrectedBeat]) -> list[BeatResult]:
        out = []
        for beat in corrected:
            gap = self._gap_pending
            self._gap_pending = False
            hrv = self._hrv.push(beat, gap_before=gap)
            quality = self._quality.push(beat)
            result = BeatResult(self.subject, beat, hrv, quality, gap, self._contact)
            if self._arousal is not None:
                arousal = self._arousal.push(result, self.paced)
                result = BeatResult(self.subject, beat, hrv, quality, gap, self._contact, arousal)
            out.append(result)
        return out


def process(
    t_s: np.ndarray,
    rr_ms: np.ndarray,
    subject: str = "self",
    settings: PipelineSettings = PipelineSettings(),
    baseline: Baseline | None = None,
    paced: np.ndarray | None = None,
) -> list[BeatResult]:
    """Run the live pipeline over whole arrays (offline analysis, same code as live).

    Parameters
    ----------
    t_s : array of float
        Beat times, seconds, increasing.
    rr_ms : array of float
        Raw RR intervals, ms, one per beat time.
    subject : str
        Subject alias.
    settings : PipelineSettings
        Stage settings.
    baseline : Baseline or None
        Resting baseline for the arousal stage.
    paced : array of bool or None
        Per raw beat: True while breathing is paced.

    Returns
    -------
    list of BeatResult
        One entry per corrected beat.
    """
    pipeline = SubjectPipeline(subject, settings, baseline)
    t_s, rr_ms = np.asarray(t_s, float), np.asarray(rr_ms, float)
    paced = np.zeros(t_s.size, bool) if paced is None else np.asarray(paced, bool)
    results = []
    for t, rr, is_paced in zip(t_s, rr_ms, paced, strict=True):
        pipeline.paced = bool(is_paced)
        results.extend(pipeline.push(Beat(subject, float(t), float(rr), None, None, "batch")))
    results.extend(pipeline.flush())
    return results
