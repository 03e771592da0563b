"""The session history on disk: one owner-only folder per session, recording plus summary.

Layout (in the user's data folder, ``heartsync history`` prints where)::

    history/                      0700
      20261202-151749/            0700, the session's id (its local start time)
        session.xdf               0600, the XdfRecorder's crash-safe recording
        summary.json              0600, written when the session ends (app.history.summary)

A folder with a recording and no summary is a session that did not end cleanly (the app
was killed, the power went): it is listed as *interrupted*, and
:meth:`HistoryStore.recover` repairs its recording and computes the summary by replaying
it (``heartsync history --recover``). Nothing is deleted unless asked: the disk bound is
a list of sessions *offered* for deletion (:meth:`HistoryStore.over_limits`).
"""

import datetime as dt
import json
import logging
import math
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from app.config import APP_NAME

log = logging.getLogger(__name__)

RECORDING = "session.xdf"
SUMMARY = "summary.json"
#: Holds the pid of the process writing a session (removed when it ends).
LOCK = "running.pid"
_ID = re.compile(r"^\d{8}-\d{6}(-\d+)?$")


class HistoryError(OSError):
    """A session that cannot be found, written or deleted; the message says which and why."""


def default_folder() -> Path:
    """Where the history lives for this user (the data folder, next to the profiles)."""
    return platformdirs.user_data_path(APP_NAME) / "history"


@dataclass(frozen=True)
class HistoryLimits:
    """When sessions are offered for deletion (never deleted without asking).

    Attributes
    ----------
    keep_days : float
        Sessions older than this many days are offered, days.
    max_gb : float
        Beyond this much disk use the oldest sessions are offered until it fits, GB (1e9 bytes).
    """

    keep_days: float = 365.0
    max_gb: float = 5.0


@dataclass(frozen=True)
class SessionEntry:
    """One session of the history.

    Attributes
    ----------
    id : str
        Folder name: local start time ``YYYYMMDD-HHMMSS`` (``-N`` when two share a second).
    folder : Path
        The session's folder.
    started : datetime
        Local start time (from the summary, else from the id).
    summary : dict or None
        The summary (None while running or after a crash).
    bytes : int
        Disk use of the folder, bytes.
    """

    id: str
    folder: Path
    started: dt.datetime
    summary: dict | None
    bytes: int

    @property
    def recording(self) -> Path:
        """The session's XDF file."""
        return self.folder / RECORDING

    @property
    def state(self) -> str:
        """How the session stands.

        ``complete``, ``recovered`` (summary from the repaired file), ``running`` (its
        writer is alive) or ``interrupted`` (its writer died before the summary).
        """
        if self.summary is None:
            return "running" if _writer_alive(self.folder / LOCK) else "interrupted"
        return "recovered" if self.summary.get("recovered") else "complete"


def _writer_alive(lock: Path) -> bool:
    try:
        pid = int(lock.read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


def _started_from_id(session_id: str) -> dt.datetime:
    return dt.datetime.strptime(session_id[:15], "%Y%m%d-%H%M%S").astimezone()


def write_private(path: Path, text: str) -> None:
    """Write a file atomically, readable by its owner only (0600)."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


class HistoryStore:
    """The folder of sessions.

    Parameters
    ----------
    folder : Path or None
        Where sessions live (:func:`default_folder` by default).
    """

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = Path(folder) if folder is not None else default_folder()

    # -- writing ----------------------------------------------------------------------
    def new_session(self, when: dt.datetime | None = None) -> str:
        """Create the folder of a new session (0700) and return its id.

        Raises
        ------
        HistoryError
            When the folder cannot be created.
        """
        when = (when or dt.datetime.now()).astimezone()
        stem = when.strftime("%Y%m%d-%H%M%S")
        try:
            self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            os.chmod(self.folder, 0o700)
            for n in range(1000):
                session_id = stem if n == 0 else f"{stem}-{n}"
                try:
                    os.mkdir(self.folder / session_id, 0o700)
                except FileExistsError:
                    continue
                os.chmod(self.folder / session_id, 0o700)
                write_private(self.folder / session_id / LOCK, f"{os.getpid()}\n")
                return session_id
        except OSError as exc:
            raise HistoryError(
                f"cannot keep the session in {self.folder}: {exc.strerror or exc}"
            ) from None
        raise HistoryError(f"cannot keep the session in {self.folder}: too many in one second")

    def path(self, session_id: str) -> Path:
        """Folder of one session (the id is checked: never a path outside the history)."""
        if not _ID.match(session_id):
            raise HistoryError(f"{session_id!r} is not a session id (like 20261202-151749)")
        return self.folder / session_id

    def write_summary(self, session_id: str, summary: dict) -> Path:
        """Write a session's summary (atomic, 0600); returns its path."""
        path = self.path(session_id) / SUMMARY
        try:
            write_private(path, json.dumps(summary, indent=1, allow_nan=False) + "\n")
            (path.parent / LOCK).unlink(missing_ok=True)
        except OSError as exc:
            raise HistoryError(f"cannot write {path}: {exc.strerror or exc}") from None
        return path

    # -- reading ----------------------------------------------------------------------
    def entry(self, session_id: str) -> SessionEntry:
        """One session; HistoryError when there is no such session."""
        folder = self.path(session_id)
        if not folder.is_dir():
            raise HistoryError(f"no session {session_id} in {self.folder}")
        summary = None
        size = 0
        try:
            with os.scandir(folder) as files:
                for f in files:
                    if f.is_file(follow_symlinks=False):
                        size += f.stat(follow_symlinks=False).st_size
        except OSError:
            pass
        try:
            summary = json.loads((folder / SUMMARY).read_text(encoding="utf-8"))
            if not isinstance(summary, dict):
                summary = None
        except (OSError, ValueError):
            summary = None
        started = _started_from_id(session_id)
        if summary is not None and isinstance(summary.get("started"), str):
            try:
                started = dt.datetime.fromisoformat(summary["started"])
            except ValueError:
                pass
        return SessionEntry(session_id, folder, started, summary, size)

    def sessions(self) -> list[SessionEntry]:
        """Every session, oldest first (folders that are not sessions are ignored)."""
        if not self.folder.is_dir():
            return []
        ids = sorted(p.name for p in self.folder.iterdir() if _ID.match(p.name) and p.is_dir())
        return [self.entry(i) for i in ids]

    def disk_bytes(self, sessions: list[SessionEntry] | None = None) -> int:
        """Disk use of the whole history, bytes."""
        return sum(e.bytes for e in (self.sessions() if sessions is None else sessions))

    def over_limits(
        self,
        limits: HistoryLimits,
        now: dt.datetime | None = None,
        sessions: list[SessionEntry] | None = None,
    ) -> list[SessionEntry]:
        """Sessions to offer for deletion (nothing is deleted here).

        Those older than ``keep_days``, then the oldest until the rest fit in ``max_gb``.
        """
        now = (now or dt.datetime.now()).astimezone()
        entries = self.sessions() if sessions is None else sessions
        cutoff = now - dt.timedelta(days=limits.keep_days)
        offered = [e for e in entries if e.started < cutoff]
        total = sum(e.bytes for e in entries) - sum(e.bytes for e in offered)
        cap = limits.max_gb * 1e9 if math.isfinite(limits.max_gb) else math.inf
        for e in entries:
            if total <= cap:
                break
            if e not in offered:
                offered.append(e)
                total -= e.bytes
        return offered

    # -- deleting and recovering ----------------------------------------------------
    def delete(self, session_id: str) -> None:
        """Delete a session: recording and summary together.

        The folder is renamed away first, so a half-deleted session never lists.
        """
        folder = self.path(session_id)
        if not folder.is_dir():
            raise HistoryError(f"no session {session_id} in {self.folder}")
        trash = self.folder / f".deleting-{session_id}"
        try:
            os.replace(folder, trash)
            shutil.rmtree(trash)
        except OSError as exc:
            raise HistoryError(
                f"cannot delete session {session_id}: {exc.strerror or exc}"
            ) from None
        log.info("deleted session %s", session_id)

    def recover(self, session_id: str) -> dict:
        """Repair an interrupted session's recording and write its summary from a replay.

        Returns the summary. Raises :class:`HistoryError` (no such session, nothing to
        recover) or :class:`sensors.xdf.RecordingError` (the file holds nothing usable).
        """
        from app.analysis.analyze import analyze
        from app.history.summary import session_summary
        from sensors.xdf import repair_xdf

        entry = self.entry(session_id)
        if entry.state == "running":
            raise HistoryError(f"session {session_id} is still being recorded")
        if not entry.recording.is_file():
            raise HistoryError(f"session {session_id} has no recording to recover")
        report = repair_xdf(entry.recording)  # a repaired copy beside it; the original stays
        recording = report.path or entry.recording
        analysis = analyze(recording, write_files=False)
        summary = session_summary(
            analysis.stats,
            session_id=session_id,
            started=entry.started,
            ended=None,
            sources=sorted(analysis.stats.subjects),  # the subjects: source names died with it
            replayed=False,
            profiles={},
            rests={},
            recording_bytes=recording.stat().st_size,
        )
        summary["recovered"] = True
        summary["repair"] = {"dropped_bytes": report.dropped_bytes, "changed": report.changed}
        self.write_summary(session_id, summary)
        return summary
