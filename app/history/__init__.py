"""The session history: every session kept (recording + summary), trends, disk bound.

See docs/history.md. :func:`start_session` is what the headless run and the window call.
"""

import logging
from collections.abc import Sequence
from pathlib import Path

from app.config import AppConfig
from app.history.store import HistoryLimits, HistoryStore

log = logging.getLogger(__name__)


def limits(config: AppConfig) -> HistoryLimits:
    """The disk bound of the settings."""
    return HistoryLimits(config.history_keep_days, config.history_max_gb)


def start_session(
    sources: Sequence,
    profiles=None,
    profile_names: dict[str, str] | None = None,
    folder: Path | None = None,
):
    """A :class:`~app.history.sink.HistorySink` for a new session, or None on failure.

    When the history cannot be written, that is logged and the session goes on without it.

    Parameters
    ----------
    sources : sequence of BeatSource
        The session's sources.
    profiles : ProfileStore or None
        Names the baselines the session uses.
    profile_names : dict of str to str or None
        Profile names known already, by subject.
    folder : Path or None
        The history folder (the user's by default).
    """
    from app.history.sink import HistorySink
    from app.recording.recorder import RecordingError

    try:
        return HistorySink(HistoryStore(folder), sources, profiles, profile_names)
    except (OSError, RecordingError) as exc:
        log.error("history: this session is not kept: %s", exc)
        return None
