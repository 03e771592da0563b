"""What a headless session shows on a terminal: calibration progress, a breathing cue.

Both redraw one line on standard error (a carriage return) at most once a second of wall time, and
only on a terminal; written to a file or a pipe they print nothing but a line at the end.
"""

import math
import sys
from typing import TextIO


def _clock(seconds: float) -> str:
    seconds = max(0, math.ceil(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


class LineDisplay:
    """One line redrawn in place on a terminal (nothing elsewhere).

    Parameters
    ----------
    stream : text stream
        Usually standard error.
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.live = bool(getattr(self.stream, "isatty", lambda: False)())
        self.width = 0

    def show(self, text: str) -> None:
        """Replace the line with ``text``."""
        if not self.live:
            return
        pad = max(0, self.width - len(text))
        self.stream.write("\r" + text + " " * pad)
        self.stream.flush()
        self.width = len(text)

    def done(self) -> None:
        """End the line (a newline after the last redraw)."""
        if self.live and self.width:
            self.stream.write("\n")
            self.stream.flush()
            self.width = 0


def calibration_line(name: str, subject_snapshot) -> str:
    """``calibrating Alex: 3:12 left, 187 beats, signal good (2 % artifacts)``."""
    s = subject_snapshot
    view = s.calibration
    left = view.duration_s - view.elapsed_s if view is not None else math.nan
    text = f"calibrating {name}: "
    text += f"{_clock(left)} left" if math.isfinite(left) else "waiting for the first beat"
    text += f", {s.beats_received} beats"
    quality = s.last.quality if s.last is not None else None
    if quality is not None and math.isfinite(quality.artifact_rate):
        state = "good" if quality.ok else "POOR: check the strap's contact"
        text += f", signal {state} ({100 * quality.artifact_rate:.0f} % artifacts)"
    silent = getattr(s, "silent_s", math.nan)
    if math.isfinite(silent) and silent >= 5:
        text += f", no beats for {silent:.0f} s"
    return text


def breath_line(state, stage: int, stages: int, stage_left_s: float) -> str:
    """``breathe IN  ▮▮▮▮▮▯▯▯▯▯  6.0/min  rate 2 of 5, 1:23 left`` (state: PacerState)."""
    if state is None:
        return f"rate {stage + 1} of {stages}: waiting for the first beat"
    word = {"inhale": "breathe IN ", "exhale": "breathe OUT"}.get(state.stage, "hold       ")
    filled = round(10 * min(1.0, max(0.0, state.volume)))
    bar = "#" * filled + "." * (10 - filled)
    left = f", {_clock(stage_left_s)} left" if math.isfinite(stage_left_s) else ""
    return f"{word} [{bar}] {state.rate_per_min:.1f}/min  rate {stage + 1} of {stages}{left}"
