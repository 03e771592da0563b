"""Artifact labels and the per-interval flags that artifact correction reports.

The corrector (:mod:`dsp.artifacts.corrector`) works with small integer codes; a
corrected beat carries the public label ``ARTIFACT_KINDS[code]`` and the batch
functions of :mod:`dsp.artifacts` report :class:`ArtifactFlags`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["ARTIFACT_KINDS", "ArtifactFlags"]

# Integer codes used inside the corrector; the public label is ARTIFACT_KINDS[code].
_CLEAN, _ECTOPIC, _MISSED, _EXTRA, _LONG, _SHORT, _INVALID = range(7)
ARTIFACT_KINDS: tuple[str | None, ...] = (
    None,
    "ectopic",
    "missed",
    "extra",
    "long",
    "short",
    "invalid",
)
"""Artifact label for each internal code; ``None`` is a clean beat."""


@dataclass(frozen=True)
class ArtifactFlags:
    """What correction did to each input interval (boolean arrays of the input's length).

    An ectopic beat marks the two intervals around the moved beat; an extra beat marks
    the two intervals that were merged; a missed beat marks the interval that was split.

    Attributes
    ----------
    ectopic, missed, extra, long, short, invalid : numpy.ndarray of bool
        One entry per input interval.
    any : numpy.ndarray of bool
        Union of all the above.
    """

    ectopic: np.ndarray
    missed: np.ndarray
    extra: np.ndarray
    long: np.ndarray
    short: np.ndarray
    invalid: np.ndarray
    any: np.ndarray

    @classmethod
    def from_codes(cls, codes: np.ndarray) -> ArtifactFlags:
        """Build the flags from one integer code per interval (see ``ARTIFACT_KINDS``)."""
        codes = np.asarray(codes)
        return cls(
            ectopic=codes == _ECTOPIC,
            missed=codes == _MISSED,
            extra=codes == _EXTRA,
            long=codes == _LONG,
            short=codes == _SHORT,
            invalid=codes == _INVALID,
            any=codes != _CLEAN,
        )
