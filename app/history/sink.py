"""The sink that keeps a session in the history: its XDF recording and, at the end, its summary.

:class:`HistorySink` is one engine sink holding two: the crash-safe
:class:`~app.recording.recorder.XdfRecorder` (the session's recording in its history
folder) and a :class:`~app.analysis.session_stats.SessionStats` (bounded running
statistics, no CSV rows). When the session ends (``close``), the recorder closes the file
and the summary is written next to it. A crash leaves the recording (flushed every half
second) without a summary: the history lists it as interrupted and ``heartsync history
--recover`` completes it.
"""

import datetime as dt
import logging
from collections.abc import Sequence

from app.analysis.session_stats import SessionStats
from app.history.store import RECORDING, HistoryError, HistoryStore
from app.history.summary import session_summary
from app.profiles import ProfileError, ProfileStore
from app.recording.recorder import RecorderSettings, XdfRecorder
from dsp.beat_result import BeatResult
from sensors.base import BeatSource
from sensors.replay import ReplaySource

log = logging.getLogger(__name__)


def _profile_baselines(profiles: ProfileStore | None) -> list[tuple[str, dict]]:
    """(name, baseline dict) of every calibrated profile, to name the baselines a session uses."""
    if profiles is None:
        return []
    found = []
    for name in profiles.names():
        try:
            profile = profiles.load(name)
        except ProfileError:
            continue
        if profile.baseline is not None:
            found.append((profile.name, profile.baseline.to_dict()))
    return found


class HistorySink:
    """Record a session into the history and summarise it when it ends.

    Parameters
    ----------
    store : HistoryStore
        The history.
    sources : sequence of BeatSource
        The session's sources.
    profiles : ProfileStore or None
        The profiles: a baseline the session uses is named after the profile holding it.
    profile_names : dict of str to str or None
        Profile names known already, by subject (``run --profile``).
    settings : RecorderSettings or None
        How the recording is written (the recorder's defaults).

    Raises
    ------
    HistoryError, RecordingError
        When the session folder or its recording cannot be created.
    """

    def __init__(
        self,
        store: HistoryStore,
        sources: Sequence[BeatSource],
        profiles: ProfileStore | None = None,
        profile_names: dict[str, str] | None = None,
        settings: RecorderSettings | None = None,
    ) -> None:
        self.store = store
        self.started = dt.datetime.now().astimezone()
        self.session_id = store.new_session(self.started)
        self.folder = store.path(self.session_id)
        self.recorder = XdfRecorder(
            self.folder / RECORDING, sources, settings or RecorderSettings()
        )
        subjects = [s.subject for s in sources]
        self.stats = SessionStats(
            pair=(subjects[0], subjects[1]) if len(subjects) == 2 else None,
            dyad=len(subjects) == 2,
        )
        self.sources = [s.name for s in sources]
        self.replayed = any(isinstance(s, ReplaySource) for s in sources)
        self.profile_names = dict(profile_names or {})
        self.rests: dict[str, dict] = {}
        self._known = _profile_baselines(profiles)
        self.summary: dict | None = None
        self.error: Exception | None = None
        self.closed = False

    @property
    def path(self):
        """The recording (for status lines)."""
        return self.recorder.path

    # -- sink protocol ------------------------------------------------------------------
    def write(self, result: BeatResult) -> None:
        """One processed beat: to the recording and the statistics."""
        self.recorder.write(result)
        self.stats.write(result)

    def write_raw(self, beat) -> None:
        """One raw beat: to the recording."""
        self.recorder.write_raw(beat)

    def write_marker(self, t: float, text: str) -> None:
        """A marker: to the recording."""
        self.recorder.write_marker(t, text)

    def write_sample(self, spec, subject: str, t: float, values) -> None:
        """A declared stream's sample (synchrony): recording and statistics."""
        self.recorder.write_sample(spec, subject, t, values)
        self.stats.write_sample(spec, subject, t, values)

    def write_event(self, t: float, event: dict) -> None:
        """A session event: recorded; baselines name the profile, calibrations the rest."""
        self.recorder.write_event(t, event)
        self.stats.write_event(t, event)
        who = event.get("subject")
        kind = event.get("event")
        if kind == "baseline" and who and event.get("baseline"):
            name = next((n for n, b in self._known if b == event["baseline"]), None)
            if name is not None:
                self.profile_names[who] = name
        elif kind == "calibration" and who and event.get("phase") == "done":
            self.rests[who] = {
                k: v for k, v in event.items() if k not in ("event", "subject", "phase")
            }

    def status(self, subject: str, source: str, status: object) -> None:
        """Status changes: to the recording."""
        self.recorder.status(subject, source, status)

    def close(self) -> None:
        """Close the recording, then write the summary (once; errors are logged, kept)."""
        if self.closed:
            return
        self.closed = True
        self.recorder.close()
        self.stats.close()
        if not self.stats.subjects:
            log.info("history: session %s had no beats; nothing kept", self.session_id)
            try:
                self.store.delete(self.session_id)
            except HistoryError as exc:
                log.warning("%s", exc)
            return
        try:
            size = self.recorder.path.stat().st_size
            summary = session_summary(
                self.stats,
                session_id=self.session_id,
                started=self.started,
                ended=dt.datetime.now().astimezone(),
                sources=self.sources,
                replayed=self.replayed,
                profiles=self.profile_names,
                rests=self.rests,
                recording_bytes=size,
            )
            if self.recorder.error is not None:
                summary["recording_error"] = str(self.recorder.error)
            self.store.write_summary(self.session_id, summary)
        except (OSError, ValueError) as exc:
            self.error = exc
            log.error(
                "history: the summary of session %s was not written: %s", self.session_id, exc
            )
            return
        self.summary = summary  # set last: other threads wait on it
        log.info("history: session %s kept in %s", self.session_id, self.folder)
