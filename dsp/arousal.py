"""Arousal of a whole session against a resting baseline (batch; SCIENCE.md §4).

:func:`classify` and :func:`calibrate` run the live pipeline (:func:`dsp.pipeline.process`)
with its calibration and arousal stages over arrays, so the result equals the live one.
The method lives below the pipeline: the baseline in :mod:`dsp.tolerance.baseline`, the index and
the zones in :mod:`dsp.tolerance.estimator`, the output types in :mod:`dsp.tolerance.state`.
"""

from dataclasses import dataclass, field

import numpy as np

from dsp.beat_result import BeatResult
from dsp.pipeline import PipelineSettings, process
from dsp.tolerance.baseline import Baseline, Calibration, CalibrationError, CalibrationSettings
from dsp.tolerance.estimator import ArousalSettings
from dsp.tolerance.state import Zone

__all__ = [
    # re-exported: Zone is a contract of DESIGN.md; the others for app/, ui/ and sensors/
    "ArousalSettings",
    "ArousalTrace",
    "Baseline",
    "Calibration",
    "CalibrationError",
    "CalibrationSettings",
    "Zone",
    "calibrate",
    "classify",
    "to_trace",
]


@dataclass(frozen=True)
class ArousalTrace:
    """Per-beat arousal of a whole session (arrays of one length).

    Attributes
    ----------
    t : array of float
        Corrected beat times, s.
    index : array of float
        Smoothed arousal index (NaN before the HRV windows fill).
    z_hr, z_vagal : array of float
        The two axes.
    zone : array of object
        :class:`Zone` per beat.
    baseline : Baseline
        The baseline used.
    """

    t: np.ndarray
    index: np.ndarray
    z_hr: np.ndarray
    z_vagal: np.ndarray
    zone: np.ndarray
    baseline: Baseline = field(repr=False)


def calibrate(
    t_s: np.ndarray,
    rr_ms: np.ndarray,
    settings: CalibrationSettings = CalibrationSettings(),
    pipeline: PipelineSettings | None = None,
) -> Baseline:
    """Baseline from a resting recording (the live calibration's code, over arrays).

    Raises
    ------
    CalibrationError
        When the rest is too short or too noisy.
    """
    calibration = Calibration(settings)
    for result in process(t_s, rr_ms, settings=pipeline or PipelineSettings()):
        calibration.push(result)
    return calibration.finish()


def to_trace(results: list[BeatResult], baseline: Baseline) -> ArousalTrace:
    """Collect the arousal states of processed beats into arrays."""
    states = [r.arousal for r in results if r.arousal is not None]
    return ArousalTrace(
        t=np.array([st.t for st in states]),
        index=np.array([st.index for st in states]),
        z_hr=np.array([st.z_hr for st in states]),
        z_vagal=np.array([st.z_vagal for st in states]),
        zone=np.array([st.zone for st in states], dtype=object),
        baseline=baseline,
    )


def classify(
    t_s: np.ndarray,
    rr_ms: np.ndarray,
    baseline_t_s: np.ndarray,
    baseline_rr_ms: np.ndarray,
    settings: ArousalSettings = ArousalSettings(),
    paced: np.ndarray | None = None,
) -> ArousalTrace:
    """Per-beat arousal index and zone of a session against a resting baseline.

    Runs the live pipeline (with its arousal stage) over arrays, so the result equals
    the live one.

    Parameters
    ----------
    t_s, rr_ms : arrays
        The session's beat times (s) and raw RR intervals (ms).
    baseline_t_s, baseline_rr_ms : arrays
        The resting calibration's beat times (s) and raw RR intervals (ms).
    settings : ArousalSettings
        Thresholds and dwell times.
    paced : array of bool or None
        Per raw beat: True while breathing is paced.

    Raises
    ------
    CalibrationError
        When the baseline recording is too short or too noisy.
    """
    baseline = calibrate(baseline_t_s, baseline_rr_ms)
    pipeline = PipelineSettings(arousal=settings)
    return to_trace(
        process(t_s, rr_ms, settings=pipeline, baseline=baseline, paced=paced), baseline
    )
