"""The engine's gate: beats the pipeline must never see are dropped, counted and logged once.

A beat stamped before (or at the same time as) the subject's previous one, with a time or
RR that is not a finite number, or an RR no heart produces, would make the pipeline raise
or fill its windows with nonsense (one LSL sample stamped 7 s in the past ended a
therapist's session). Sources enforce the plausible ranges of what they read (an LSL
stream: HR 20-300 bpm, RR 200-3000 ms); this gate is the engine's last line: it checks
order and finiteness, and the widest RR any strap can report (65,535/1024 s).
"""

import collections
import logging
import math

from dsp.types import Beat

log = logging.getLogger(__name__)

#: Largest RR a Bluetooth strap can encode (uint16 in 1/1024 s), ms.
MAX_RR_MS = 65_535 * 1000.0 / 1024.0


class BeatGate:
    """Admit one subject's beats in time order; drop and count the rest.

    Parameters
    ----------
    subject : str
        Whose beats (named in the log line).
    """

    def __init__(self, subject: str) -> None:
        self.subject = subject
        self.last_t = -math.inf
        self.dropped: collections.Counter[str] = collections.Counter()

    @property
    def dropped_total(self) -> int:
        """Beats dropped so far, all reasons."""
        return sum(self.dropped.values())

    def admit(self, beat: Beat) -> bool:
        """True when ``beat`` may go on to the pipeline (then it becomes the latest)."""
        reason = self._reason(beat)
        if reason is None:
            self.last_t = beat.t
            return True
        self.drop(reason, beat)
        return False

    def drop(self, reason: str, beat: Beat) -> None:
        """Count a dropped beat; the first of each reason is logged (with its values)."""
        self.dropped[reason] += 1
        if self.dropped[reason] == 1:
            log.warning(
                "%s: dropped a beat (%s: t %r s, RR %r ms); later ones are counted, not logged",
                self.subject,
                reason,
                beat.t,
                beat.rr_ms,
            )

    def _reason(self, beat: Beat) -> str | None:
        if not math.isfinite(beat.t):
            return "time not a number"
        if beat.t == self.last_t:
            return "duplicate"
        if beat.t < self.last_t:
            return "out of order"
        rr = beat.rr_ms
        if not (math.isfinite(rr) and 0.0 < rr <= MAX_RR_MS):
            return "implausible RR"
        if beat.hr_bpm is not None and not (math.isfinite(beat.hr_bpm) and beat.hr_bpm >= 0):
            return "implausible heart rate"
        return None
