"""Repair a damaged or unclosed recording into a new file beside it; the original is kept.

:func:`repair_xdf` reads the file as :func:`~sensors.xdf.reader.read_xdf` does (every
whole chunk, damaged ones read around or skipped, a cut tail dropped), writes what it
kept plus the stream footers the writer never wrote into a *new* file
(``NAME.repaired.xdf``, never over an existing file), then reads that file back: the
bytes must be exactly those meant, and it must load closed with every sample kept.
Only then is the repair reported. The original is opened read-only and never changed.
"""

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from sensors.xdf.chunks import (
    MAGIC,
    RecordingWriteError,
    Tag,
    XdfFormatError,
    footer_element,
    stream_footer_chunk,
)
from sensors.xdf.files import describe_os_error, write_all
from sensors.xdf.reader import XdfRecording, read_xdf, read_xdf_bytes

_SUFFIXES = (".xdf.gz", ".xdfz", ".xdf")


@dataclass(frozen=True)
class RepairReport:
    """What :func:`repair_xdf` did.

    Attributes
    ----------
    source : Path
        The original recording (never changed).
    path : Path or None
        The repaired file (None when nothing needed repair).
    dropped_bytes : int
        Bytes left out (a chunk cut short at the end, damaged regions).
    footers_added : int
        Streams that got the footer their writer never wrote.
    samples : int
        Samples in the repaired file, all streams.
    problems : tuple of str
        What was wrong.
    """

    source: Path
    path: Path | None
    dropped_bytes: int
    footers_added: int
    samples: int
    problems: tuple[str, ...]

    @property
    def changed(self) -> bool:
        """True when a repaired file was written."""
        return self.path is not None

    def summary(self) -> str:
        """One line for the command line."""
        if self.path is None:
            return f"{self.source}: already complete ({self.samples} samples); nothing to repair"
        return (
            f"{self.source}: repaired into {self.path} — kept {self.samples} samples, "
            f"dropped {self.dropped_bytes} damaged or cut-short bytes, closed "
            f"{self.footers_added} stream(s); the original is unchanged"
        )


def default_target(path: Path) -> Path:
    """``NAME.repaired.xdf`` beside ``NAME.xdf`` (``-2``, ``-3``... when taken)."""
    name = path.name
    stem = next((name[: -len(s)] for s in _SUFFIXES if name.lower().endswith(s)), name)
    for k in range(1, 1000):
        tail = "" if k == 1 else f"-{k}"
        target = path.with_name(f"{stem}.repaired{tail}.xdf")
        if not os.path.lexists(target):
            return target
    raise RecordingWriteError(f"no free name for the repaired copy of {path}")


def repair_xdf(path: str | os.PathLike, out: str | os.PathLike | None = None) -> RepairReport:
    """Write a repaired copy of a recording whose writer died or whose bytes were damaged.

    Parameters
    ----------
    path : str or path
        The recording; opened read-only, never changed.
    out : str or path or None
        The new file; it must not exist. Default: :func:`default_target`.

    Returns
    -------
    RepairReport
        ``path`` None when the file was already complete (nothing written).

    Raises
    ------
    XdfFormatError
        When the file is not XDF at all (or not a readable regular file).
    RecordingWriteError
        When ``out`` exists, or the copy cannot be written or does not read back as
        written (nothing is left behind then).
    """
    path = Path(path)
    rec, data = read_xdf_bytes(path)
    samples = sum(len(s.time_stamps) for s in rec.streams)
    if rec.closed:
        return RepairReport(path, None, 0, 0, samples, ())
    if not rec.streams:
        why = "; ".join(rec.problems) or "it holds no streams"
        raise XdfFormatError(f"{path}: no stream could be read, nothing to repair ({why})")
    target = Path(out) if out is not None else default_target(path)
    blob, added = _repaired_bytes(rec, data)
    _write_new(target, blob)
    try:
        _verify(target, blob, samples)
    except RecordingWriteError:
        target.unlink(missing_ok=True)
        raise
    dropped = rec.file_bytes - rec.valid_bytes + rec.skipped_bytes
    return RepairReport(path, target, dropped, added, samples, tuple(rec.problems))


def _repaired_bytes(rec: XdfRecording, data: bytes) -> tuple[bytes, int]:
    parts = [MAGIC]
    if -1 in rec.mended:
        parts.append(rec.mended[-1])
    last_tag = -1
    for start, end, tag, _stream_id in rec.chunks:
        if tag == Tag.BOUNDARY and last_tag == Tag.BOUNDARY:
            continue  # no two boundaries in a row
        parts.append(rec.mended.get(start, data[start:end]))
        last_tag = tag
    added = 0
    for stream in rec.streams:
        if stream.footer is not None:
            continue
        ts = stream.time_stamps
        first, last = (float(ts[0]), float(ts[-1])) if len(ts) else (0.0, 0.0)
        offsets = zip(stream.clock_times, stream.clock_values, strict=True)
        parts.append(
            stream_footer_chunk(stream.stream_id, footer_element(first, last, len(ts), offsets))
        )
        added += 1
    return b"".join(parts), added


def _write_new(target: Path, blob: bytes) -> None:
    """Create ``target`` (never over an existing file), write every byte, fsync."""
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise RecordingWriteError(
            f"{target} already exists; the repaired copy is never written over a file"
        ) from None
    except OSError as exc:
        raise RecordingWriteError(f"cannot create {target}: {describe_os_error(exc)}") from None
    try:
        write_all(fd, blob)
        os.fsync(fd)
    except OSError as exc:
        os.close(fd)
        target.unlink(missing_ok=True)
        raise RecordingWriteError(
            f"cannot write the repaired copy {target}: {describe_os_error(exc)}; nothing was kept"
        ) from None
    os.close(fd)
    _fsync_folder(target.parent)


def _verify(target: Path, blob: bytes, samples: int) -> None:
    """The file on disk holds exactly ``blob`` and reads back closed with every sample."""
    try:
        with open(target, "rb") as f:
            same = hashlib.sha256(f.read()).digest() == hashlib.sha256(blob).digest()
    except OSError as exc:
        raise RecordingWriteError(f"cannot read back {target}: {describe_os_error(exc)}") from None
    if not same:
        raise RecordingWriteError(f"{target} did not read back as written; nothing was kept")
    check = read_xdf(target, recover=False)
    kept = sum(len(s.time_stamps) for s in check.streams)
    if not check.closed or kept != samples:
        raise RecordingWriteError(
            f"{target} did not verify ({kept} of {samples} samples); nothing was kept"
        )


def _fsync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
