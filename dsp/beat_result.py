"""What the per-subject pipeline knows about one corrected beat.

Kept below both the pipeline and the stages that read a processed beat (calibration,
arousal), so none of them has to import the pipeline.
"""

from dataclasses import dataclass

from dsp.dyad.types import SessionSynchrony, SynchronyEstimate
from dsp.hrv.window import HrvMetrics
from dsp.quality import QualityMetrics
from dsp.tolerance.state import ArousalState
from dsp.types import CorrectedBeat

__all__ = ["BeatResult"]


@dataclass(frozen=True, slots=True)
class BeatResult:
    """Everything the pipeline knows about one corrected beat.

    Attributes
    ----------
    subject : str
        Whose beat.
    beat : CorrectedBeat
        Time (s), corrected RR (ms), raw RR (ms) and the artifact flag.
    hrv : HrvMetrics
        Trailing-window HRV after this beat.
    quality : QualityMetrics
        Signal quality after this beat.
    gap_before : bool
        True when beats were lost just before this one.
    contact : bool or None
        Skin contact reported with the newest raw beat (None: the sensor does not say).
    arousal : ArousalState or None
        Arousal index and zone, when the subject has a baseline.
    synchrony : SynchronyEstimate or None
        The dyad's newest synchrony estimate when this beat went out (the engine adds
        it when there are two subjects; None otherwise).
    sync_session : SessionSynchrony or None
        The dyad's session-level synchrony so far (updated every 30 s; None with one
        subject).
    """

    subject: str
    beat: CorrectedBeat
    hrv: HrvMetrics
    quality: QualityMetrics
    gap_before: bool
    contact: bool | None = None
    arousal: ArousalState | None = None
    synchrony: SynchronyEstimate | None = None
    sync_session: SessionSynchrony | None = None
