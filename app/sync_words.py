"""Synchrony in words, for the window and the report (SCIENCE.md §5).

Below the 0.95 mark the live index says what 30 s cannot show ("not detectable in
30 s"), never "no synchrony"; a peak r is never shown alone; the session test is given
with its interval, p and lag.
"""

import math

from dsp.dyad.types import SessionSynchrony, SynchronyEstimate

__all__ = ["SIGNIFICANT", "index_words", "lag_words", "session_words"]

#: The significance line of the index (p ~ 0.055 with 200 surrogates).
SIGNIFICANT = 0.95
#: Session p at or below which the session counts as synchronous.
SESSION_ALPHA = 0.05
#: Lags shorter than this are "together", s.
SAME_TIME_S = 0.5


def lag_words(a: str, b: str, lag_s: float) -> str:
    """The lag in words: who follows whom, by how long (``lag_s > 0``: b follows a)."""
    if not math.isfinite(lag_s):
        return ""
    if abs(lag_s) < SAME_TIME_S:
        return "moving together (lag under 0.5 s)"
    follower, leader = (b, a) if lag_s > 0 else (a, b)
    return f"{follower} follows {leader} by {abs(lag_s):.1f} s"


def index_words(a: str, b: str, latest: SynchronyEstimate | None) -> str:
    """The live index in one line: significance and lag, or why there is none."""
    if latest is None or not latest.estimated:
        return "Last 30 s: no estimate (warming up, a gap or a poor signal)"
    if latest.index >= SIGNIFICANT:
        return f"Last 30 s: synchronous (index {latest.index:.2f}), {lag_words(a, b, latest.lag_s)}"
    return f"Last 30 s: not detectable in 30 s (index {latest.index:.2f})"


def session_words(a: str, b: str, session: SessionSynchrony | None) -> str:
    """The session test so far in one line: r, its 95 % interval, p and the lag."""
    if session is None or not session.estimated:
        return "Session so far: needs about 3 minutes of both people"
    minutes = session.n_segments * 0.5
    numbers = (
        f"r = {session.r:.2f} (95 % interval {session.ci_low:.2f} to {session.ci_high:.2f}), "
        f"{_p(session.p_value)}"
    )
    if session.p_value <= SESSION_ALPHA:
        return (
            f"Session so far ({minutes:.1f} min): synchronous, {numbers}; "
            f"{lag_words(a, b, session.lag_s)}"
        )
    return f"Session so far ({minutes:.1f} min): not significant, {numbers}"


def _p(p: float) -> str:
    """As the report prints p: "p = 0.012", "p < 0.0001" (never "p = 0.000")."""
    return "p < 0.0001" if p < 1e-4 else "p = " + f"{p:.4f}".rstrip("0").rstrip(".")
