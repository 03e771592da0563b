"""Sinks: where processed beats go besides the UI (JSON lines, later LSL and XDF)."""

import json
import logging
import math
from collections.abc import Callable
from typing import Protocol, TextIO

from dsp.beat_result import BeatResult
from sensors.base import SourceStatus

log = logging.getLogger(__name__)


class Sink(Protocol):
    """What the engine calls for every processed beat and status change.

    A sink may also have any of these optional methods; the engine calls them when
    present (see :class:`app.streams.specs.StreamSink`, the base of the LSL outlets and the
    XDF recorder):

    - ``write_raw(beat)``: every raw beat as the source sent it, before correction;
    - ``write_marker(t, text)``: a user annotation (``Engine.mark``);
    - ``write_event(t, event)``: a session event as a dict with an ``event`` key
      (status, baseline, paced, calibration), recorded so that replays re-apply it;
    - ``write_sample(spec, subject, t, values)``: a sample of any declared stream
      (``Engine.publish``).
    """

    def write(self, result: BeatResult) -> None:
        """Take one processed beat (called on the engine loop: must not block)."""
        ...

    def status(self, subject: str, source: str, status: SourceStatus) -> None:
        """Take one status change of a source."""
        ...

    def close(self) -> None:
        """Finish (flush and release resources)."""
        ...


def _num(value: float | None, digits: int = 3) -> float | None:
    """JSON-safe number: NaN and None become null."""
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), digits)


def beat_record(result: BeatResult) -> dict:
    """The per-beat record of ``run --json`` (keys documented in the README).

    Times in seconds on the LSL clock; intervals in ms; rates in beats/min.
    """
    beat, hrv, quality = result.beat, result.hrv, result.quality
    sync, session = result.synchrony, result.sync_session
    if session is not None and not session.estimated:
        session = None
    return {
        "subject": result.subject,
        "t": round(beat.t, 6),
        "rr_ms": _num(beat.rr_ms),
        "rr_raw_ms": _num(beat.rr_raw_ms),
        "artifact": beat.artifact,
        "clean": beat.artifact is None,
        "gap_before": result.gap_before,
        "hr_bpm": _num(hrv.hr_bpm),
        "rmssd_ms": _num(hrv.rmssd_ms),
        "sdnn_ms": _num(hrv.sdnn_ms),
        "hf_ms2": _num(hrv.hf_ms2),
        "artifact_rate": _num(quality.artifact_rate, 4),
        "signal_ok": quality.ok,
        "arousal": None if result.arousal is None else _num(result.arousal.index),
        "z_hr": None if result.arousal is None else _num(result.arousal.z_hr),
        "z_vagal": None if result.arousal is None else _num(result.arousal.z_vagal),
        "zone": None if result.arousal is None else result.arousal.zone.value,
        "sync_index": None if sync is None else _num(sync.index),
        "sync_lag_s": None if sync is None or not sync.estimated else _num(sync.lag_s),
        # the session-level test so far (null with one person and for its first ~3 min)
        "sync_session_r": None if session is None else _num(session.r, 4),
        "sync_session_ci_low": None if session is None else _num(session.ci_low, 4),
        "sync_session_ci_high": None if session is None else _num(session.ci_high, 4),
        "sync_session_p": None if session is None else _num(session.p_value, 4),
        "sync_session_lag_s": None if session is None else _num(session.lag_s),
        "sync_session_segments": None if session is None else session.n_segments,
    }


class JsonLinesSink:
    """One JSON object per processed beat, one per line.

    Parameters
    ----------
    stream : text stream
        Where to write (standard output for ``run --json``).
    """

    def __init__(self, stream: TextIO, on_broken: Callable[[], None] | None = None) -> None:
        self.stream = stream
        self.on_broken = on_broken
        self.broken = False

    def write(self, result: BeatResult) -> None:
        """Write the beat's record as one line (nothing once the reader has gone)."""
        if self.broken:
            return
        try:
            self.stream.write(json.dumps(beat_record(result), separators=(",", ":")) + "\n")
        except BrokenPipeError:
            self._gone()

    def _gone(self) -> None:
        self.broken = True
        log.info("standard output was closed by its reader; no more JSON lines")
        if self.on_broken is not None:
            self.on_broken()

    def status(self, subject: str, source: str, status: SourceStatus) -> None:
        """Status goes to the log (stderr), not to the data stream."""

    def close(self) -> None:
        """Flush the stream."""
        if self.broken:
            return
        try:
            self.stream.flush()
        except BrokenPipeError:
            self._gone()
