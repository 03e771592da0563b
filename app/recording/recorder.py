"""Crash-safe XDF recording on a writer thread of its own.

The engine loop only appends ``(spec, owner, t, values)`` to a deque (no I/O, no lock
waits). The writer thread wakes every ``flush_interval_s``, encodes what came in as
whole chunks (a stream's header before its first samples; ClockOffset chunks every
``clock_offset_interval_s``; a Boundary chunk every ``boundary_interval_s``), writes them
with one ``write`` call, and ``fsync``s. So the file on disk always ends with a whole
chunk written less than a second ago: a ``kill -9`` loses at most the last second, and
pyxdf reads the rest. A power cut can leave a chunk cut short; :func:`sensors.xdf.repair_xdf`
(``heartsync repair FILE.xdf``) drops it and adds the footers. Closing writes the last
samples and a StreamFooter per stream.

Timestamps are beat times on this machine's LSL clock; beats from another computer were
already mapped onto it by :mod:`sensors.lsl_inlet` (``time_correction``), so every
ClockOffset chunk says 0.

When writing fails (disk full, the drive vanished), the file is cut back to its last whole
chunk, :attr:`XdfRecorder.error` says what happened, ``on_error`` is called, and the
recorder drops further samples: the live session goes on.
"""

import collections
import datetime
import errno
import logging
import math
import os
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from app.streams.specs import StreamOwner, StreamSink, StreamSpec, info_element
from sensors import xdf
from sensors.base import BeatSource
from sensors.clock import now
from sensors.xdf import RecordingError as RecordingError
from sensors.xdf import RecordingWriteError, XdfFormatError
from sensors.xdf.files import describe_os_error
from sensors.xdf.files import write_all as _write_all  # a test holds it to stall the disk

__all__ = [
    "RecorderSettings",
    "RecordingError",
    "RecordingWriteError",
    "XdfFormatError",
    "XdfRecorder",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RecorderSettings:
    """How the recorder writes.

    Attributes
    ----------
    flush_interval_s : float
        Longest time between writes to the file, seconds (a crash loses at most this).
    fsync : bool
        ``fsync`` after every write, so a power cut loses at most one interval too.
    clock_offset_interval_s : float
        Seconds between ClockOffset chunks of each stream.
    boundary_interval_s : float
        Seconds between Boundary chunks (where a reader resumes after damage).
    close_timeout_s : float
        Longest wait for the writer thread on :meth:`XdfRecorder.close`, seconds.
    """

    flush_interval_s: float = 0.5
    fsync: bool = True
    clock_offset_interval_s: float = 5.0
    boundary_interval_s: float = 10.0
    close_timeout_s: float = 10.0


@dataclass
class _Stream:
    stream_id: int
    spec: StreamSpec
    first_t: float = math.nan
    last_t: float = math.nan
    count: int = 0
    offsets: list[tuple[float, float]] | None = None
    last_offset_wall: float = -math.inf


class XdfRecorder(StreamSink):
    """A sink that records every stream into one XDF file.

    Parameters
    ----------
    path : str or path
        The file to create; it must not exist yet. Created owner-read/write only (0600).
    sources : sequence of BeatSource
        The session's sources (their subjects and devices name the streams).
    settings : RecorderSettings
        Write intervals.
    on_error : callable or None
        Called once, on the writer thread, with the :class:`RecordingWriteError` that
        stopped the recording (the UI re-emits it as a Qt signal).
    prefix : str
        First part of every stream's ``source_id``.

    Raises
    ------
    RecordingWriteError
        When the file cannot be created (exists, folder missing, no permission, ...).
    """

    def __init__(
        self,
        path: str | os.PathLike,
        sources: Sequence[BeatSource] = (),
        settings: RecorderSettings = RecorderSettings(),
        on_error: Callable[[RecordingWriteError], None] | None = None,
        prefix: str = "heartsync",
    ) -> None:
        super().__init__(sources, prefix)
        self.path = Path(path)
        self.settings = settings
        self.on_error = on_error
        self.error: RecordingWriteError | None = None
        self.bytes_written = 0
        self.samples_written = 0
        self.samples_dropped = 0
        self.started_wall = time.monotonic()
        self.closed = False
        self._queue: collections.deque = collections.deque()
        self._streams: dict[str, _Stream] = {}
        self._wake = threading.Event()
        self._stopping = False
        self._last_boundary = time.monotonic()
        try:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise RecordingWriteError(
                f"cannot record to {self.path}: the file exists; choose another name"
            ) from None
        except OSError as exc:
            problem = (
                "the folder does not exist"
                if isinstance(exc, FileNotFoundError)
                else describe_os_error(exc)
            )
            raise RecordingWriteError(f"cannot record to {self.path}: {problem}") from None
        header = ET.Element("info")
        ET.SubElement(header, "version").text = "1.0"
        ET.SubElement(header, "datetime").text = (
            datetime.datetime.now(datetime.UTC).astimezone().isoformat(timespec="seconds")
        )
        ET.SubElement(header, "writer").text = "heartsync"
        try:
            os.fchmod(self._fd, 0o600)  # whatever the umask said
            self._write(xdf.MAGIC + xdf.file_header_chunk(header))
        except OSError as exc:
            os.close(self._fd)
            raise RecordingWriteError(
                f"cannot record to {self.path}: {describe_os_error(exc)}"
            ) from None
        self._thread = threading.Thread(
            target=self._run, name=f"heartsync-recorder {self.path.name}", daemon=True
        )
        self._thread.start()
        log.info("recording to %s", self.path)

    # -- engine side -----------------------------------------------------------------
    def push(self, spec: StreamSpec, owner: StreamOwner, t: float, values: Sequence) -> None:
        """Queue one sample (engine loop: one deque append, never blocks)."""
        if self.error is not None or self.closed:
            self.samples_dropped += 1
            return
        self._queue.append((spec, owner, t, values))

    @property
    def elapsed_s(self) -> float:
        """Wall seconds since the recording started."""
        return time.monotonic() - self.started_wall

    def close(self) -> None:
        """Write what is queued and the stream footers, then close the file (waits)."""
        if self.closed:
            return
        self.closed = True
        self._stopping = True
        self._wake.set()
        self._thread.join(self.settings.close_timeout_s)
        if self._thread.is_alive():
            log.error("recorder: the writer thread did not finish in time; %s", self.path)

    # -- writer thread ----------------------------------------------------------------
    def _run(self) -> None:
        try:
            while not self._stopping:
                self._wake.wait(self.settings.flush_interval_s)
                self._wake.clear()
                if self._stopping:
                    break
                self._flush()
            self._flush(final=True)
        except OSError as exc:
            self._fail(exc)
        except Exception:  # a bug must not kill the session silently
            log.exception("recorder: unexpected error; recording stopped")
            self._fail(OSError(errno.EIO, "internal error (see the log)"))
        finally:
            try:
                os.close(self._fd)
            except OSError:
                pass
        if self.error is None:
            log.info(
                "recording %s closed: %d samples, %d bytes",
                self.path,
                self.samples_written,
                self.bytes_written,
            )

    def _flush(self, final: bool = False) -> None:
        queue = self._queue
        parts: list[bytes] = []
        pending: dict[str, tuple[_Stream, list[float], list]] = {}
        new = 0
        while queue:
            spec, owner, t, values = queue.popleft()
            key = owner.source_id(spec)
            stream = self._streams.get(key)
            if stream is None:
                stream = _Stream(len(self._streams) + 1, spec, offsets=[])
                self._streams[key] = stream
                parts.append(
                    xdf.stream_header_chunk(stream.stream_id, info_element(spec, owner, now()))
                )
            entry = pending.get(key)
            if entry is None:
                entry = pending[key] = (stream, [], [])
            entry[1].append(t)
            entry[2].append(values)
            new += 1
        for stream, stamps, rows in pending.values():
            parts.append(
                xdf.samples_chunk(
                    stream.stream_id,
                    stream.spec.channel_format,
                    stream.spec.channel_count,
                    stamps,
                    rows,
                )
            )
            if stream.count == 0:
                stream.first_t = stamps[0]
            stream.last_t = stamps[-1]
            stream.count += len(stamps)
        wall = time.monotonic()
        for stream in self._streams.values():
            if final or wall - stream.last_offset_wall >= self.settings.clock_offset_interval_s:
                t = now()
                parts.append(xdf.clock_offset_chunk(stream.stream_id, t, 0.0))
                stream.offsets.append((t, 0.0))
                stream.last_offset_wall = wall
        if final:
            for stream in self._streams.values():
                footer = xdf.footer_element(
                    stream.first_t if stream.count else 0.0,
                    stream.last_t if stream.count else 0.0,
                    stream.count,
                    stream.offsets,
                )
                parts.append(xdf.stream_footer_chunk(stream.stream_id, footer))
        elif parts and wall - self._last_boundary >= self.settings.boundary_interval_s:
            parts.append(xdf.boundary_chunk())
            self._last_boundary = wall
        if parts:
            self._write(b"".join(parts))
            self.samples_written += new

    def _write(self, data: bytes) -> None:
        """Append whole chunks; on failure cut the file back to its last whole chunk."""
        try:
            _write_all(self._fd, data)
            if self.settings.fsync:
                os.fsync(self._fd)
        except OSError:
            try:
                os.ftruncate(self._fd, self.bytes_written)
            except OSError:
                pass
            raise
        self.bytes_written += len(data)

    def _fail(self, exc: OSError) -> None:
        seconds = self.elapsed_s
        self.error = RecordingWriteError(
            f"recording to {self.path} stopped after {seconds:.0f} s: {describe_os_error(exc)}; "
            f"the file holds everything up to then; the live session goes on"
        )
        self.samples_dropped += len(self._queue)
        self._queue.clear()
        log.error("%s", self.error)
        if self.on_error is not None:
            try:
                self.on_error(self.error)
            except Exception:
                log.exception("recorder: on_error callback failed")
