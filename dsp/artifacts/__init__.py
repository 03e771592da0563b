"""Artifact detection and correction of whole RR series (the batch entry points).

:func:`correct_rr` and :func:`detect_artifacts` run exactly the online code over an
array: they feed the whole array to :meth:`ArtifactCorrector.push_many` and flush.
For long arrays ``push_many`` computes the window statistics with
:func:`scipy.ndimage.rank_filter` instead of one beat at a time; both read the same
ranks of the same values, so the statistics and every decision are bit-identical to
pushing beat by beat (``tests/test_artifacts.py`` checks it).

Where the parts live:

- :mod:`dsp.artifacts.kinds`: the artifact labels and :class:`ArtifactFlags`;
- :mod:`dsp.artifacts.windows`: :class:`ArtifactSettings` and the causal windows
  (local median, thresholds Th1 and Th2);
- :mod:`dsp.artifacts.corrector`: the decisions and corrections, beat by beat (the
  method and its references are described there).

References
----------
Lipponen, J. A., & Tarvainen, M. P. (2019). A robust algorithm for heart rate variability
time series artefact correction using novel beat classification. Journal of Medical
Engineering & Technology, 43(3), 173-181.
"""

from __future__ import annotations

import numpy as np

from dsp.artifacts.corrector import ArtifactCorrector
from dsp.artifacts.kinds import ArtifactFlags
from dsp.artifacts.windows import ArtifactSettings, _check_arrays

__all__ = [
    "ArtifactFlags",  # re-exported: a contract of DESIGN.md
    "correct_batch",
    "correct_rr",
    "detect_artifacts",
]


def _beat_times(rr: np.ndarray) -> np.ndarray:
    """Beat times (s) implied by an RR series: cumulative sum, invalid values count 0."""
    ok = (rr > 0) & np.isfinite(rr)
    return np.cumsum(np.where(ok, rr, 0.0)) / 1000.0


def correct_batch(
    rr_ms: np.ndarray,
    t_s: np.ndarray | None = None,
    settings: ArtifactSettings | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, ArtifactFlags]:
    """Run :class:`ArtifactCorrector` over a whole series and return everything.

    Parameters
    ----------
    rr_ms : array_like
        Raw RR intervals, milliseconds, one contiguous sequence.
    t_s : array_like, optional
        Times of the beats ending each interval, seconds; by default the cumulative
        sum of ``rr_ms``.
    settings : ArtifactSettings, optional
        Corrector parameters.

    Returns
    -------
    t_out : numpy.ndarray
        Times of the corrected beats, seconds.
    rr_out : numpy.ndarray
        Corrected intervals, milliseconds.
    raw_out : numpy.ndarray
        Raw interval ending at each corrected beat (NaN for inserted beats).
    code_out : numpy.ndarray of int8
        Index into ``ARTIFACT_KINDS`` for each corrected beat (0 = clean).
    flags : ArtifactFlags
        What was done to each input interval.
    """
    rr = np.asarray(rr_ms, dtype=np.float64)
    if rr.ndim != 1:
        raise ValueError(f"rr_ms must be one-dimensional, got shape {rr.shape}")
    t = _beat_times(rr) if t_s is None else t_s
    t, rr = _check_arrays(t, rr)
    corrector = ArtifactCorrector(settings)
    corrector.collect_flags = True
    corrector._push_block(t, rr)
    corrector._finish()
    ot, orr, oraw, ocode = corrector._take_arrays()
    codes = np.zeros(rr.size, dtype=np.int8)
    if corrector._flags:
        idx, code = zip(*corrector._flags, strict=True)
        codes[list(idx)] = code
    return (
        np.asarray(ot, dtype=np.float64),
        np.asarray(orr, dtype=np.float64),
        np.asarray(oraw, dtype=np.float64),
        np.asarray(ocode, dtype=np.int8),
        ArtifactFlags.from_codes(codes),
    )


def correct_rr(
    rr_ms: np.ndarray, settings: ArtifactSettings | None = None
) -> tuple[np.ndarray, ArtifactFlags]:
    """Correct a whole RR series with the online corrector.

    Parameters
    ----------
    rr_ms : array_like
        Raw RR intervals, milliseconds, one contiguous sequence (any values: invalid
        ones are flagged, never an exception).
    settings : ArtifactSettings, optional
        Corrector parameters.

    Returns
    -------
    rr_corrected : numpy.ndarray
        Corrected intervals, milliseconds. Its length differs from the input by one per
        extra beat (merged) and one per missed beat (split); a sequence without any valid
        value gives no beats.
    flags : ArtifactFlags
        What was done to each input interval.

    Examples
    --------
    >>> rr = np.full(60, 800.0)
    >>> rr[40] = 1600.0  # a missed beat
    >>> fixed, flags = correct_rr(rr)
    >>> fixed.size, int(np.flatnonzero(flags.missed)[0])
    (61, 40)
    """
    _, rr_out, _, _, flags = correct_batch(rr_ms, settings=settings)
    return rr_out, flags


def detect_artifacts(rr_ms: np.ndarray, settings: ArtifactSettings | None = None) -> ArtifactFlags:
    """Flags of :func:`correct_rr` only: which input intervals are artifacts, of what kind.

    Parameters
    ----------
    rr_ms : array_like
        Raw RR intervals, milliseconds.
    settings : ArtifactSettings, optional
        Corrector parameters.

    Returns
    -------
    ArtifactFlags
        One boolean entry per input interval for each kind, and ``any``.
    """
    return correct_rr(rr_ms, settings)[1]
