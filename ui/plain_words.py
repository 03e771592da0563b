"""Why there is no number yet, in words a client and a clinician both read at a glance.

The pipeline's reasons are terse ("gap of 11.2 s", "coverage 0.62: beats lost"); the
window says what happened and what to try, and counts warm-ups down ("RMSSD in 42 s").
"""

import math
import re


def format_minutes(seconds: float) -> str:
    """``m:ss`` for a duration in seconds."""
    seconds = max(0, round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


def countdown(what: str, left_s: float) -> str:
    """``"RMSSD in 42 s"`` (under a minute) or ``"synchrony in 2:10"``; "" when not waiting."""
    if not math.isfinite(left_s) or left_s <= 0:
        return ""
    left = math.ceil(left_s)
    return f"{what} in {left} s" if left < 60 else f"{what} in {format_minutes(left)}"


_RULES: tuple[tuple[re.Pattern, str], ...] = (
    (re.compile(r"gap of ([\d.]+) s"), "{0:.0f} s without beats — check the strap's contact"),
    (re.compile(r"no skin contact"), "the strap has no skin contact — moisten the electrodes"),
    (
        re.compile(r"(\d+)% artifacts in ([\d.]+) s"),
        "{0:.0f} % irregular beats in {1:.0f} s — sit still, check the strap",
    ),
    (re.compile(r"coverage [\d.]+: beats lost"), "beats are being lost — check the strap"),
    (re.compile(r"coverage [\d.]+: beats duplicated"), "beats arrive twice — check the source"),
    (re.compile(r"only [\d.]+ s of stream so far"), "starting"),
    (re.compile(r"no beats in the window"), "no beats yet — is the strap worn?"),
    (re.compile(r"settling"), "settling after a pause (a few seconds of clean beats)"),
)


def plain_reason(reason: str, warmup_left_s: float = math.nan) -> str:
    """The pipeline's "no estimate" reason(s) in plain words.

    Parameters
    ----------
    reason : str
        Reasons joined by "; " (``ArousalState.reason``, ``QualityMetrics.reason``).
    warmup_left_s : float
        Seconds until the first estimate, for "waiting for HRV windows".
    """
    out = []
    for part in filter(None, (p.strip() for p in reason.split(";"))):
        if part.startswith("waiting for HRV windows"):
            out.append(countdown("first estimate", warmup_left_s) or "waiting for 60 s of beats")
            continue
        for pattern, words in _RULES:
            match = pattern.search(part)
            if match:
                out.append(words.format(*(float(g) for g in match.groups())))
                break
        else:
            out.append(part)
    return "; ".join(dict.fromkeys(out))
