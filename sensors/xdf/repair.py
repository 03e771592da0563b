"""Close a recording whose writer died: keep every whole chunk, add missing footers."""

import io
import os
from dataclasses import dataclass
from pathlib import Path

from sensors.xdf.chunks import (
    BOUNDARY_UUID,
    MAGIC,
    RecordingWriteError,
    Tag,
    footer_element,
    stream_footer_chunk,
)
from sensors.xdf.reader import read_file_bytes, read_xdf


@dataclass(frozen=True)
class RepairReport:
    """What :func:`repair_xdf` did.

    Attributes
    ----------
    path : Path
        The repaired file.
    changed : bool
        False when the file was already closed properly (nothing written).
    dropped_bytes : int
        Bytes left out (a chunk cut short at the end, damaged regions).
    footers_added : int
        Streams that got the footer their writer never wrote.
    samples : int
        Samples in the repaired file, all streams.
    problems : tuple of str
        What was wrong.
    """

    path: Path
    changed: bool
    dropped_bytes: int
    footers_added: int
    samples: int
    problems: tuple[str, ...]

    def summary(self) -> str:
        """One line for the command line."""
        if not self.changed:
            return f"{self.path}: already complete ({self.samples} samples); nothing to repair"
        return (
            f"{self.path}: repaired — kept {self.samples} samples, dropped "
            f"{self.dropped_bytes} damaged or cut-short bytes, closed {self.footers_added} "
            f"stream(s)"
        )


def repair_xdf(path: str | os.PathLike, out: str | os.PathLike | None = None) -> RepairReport:
    """Close a recording whose writer died: keep every whole chunk, add missing footers.

    The repaired file is written beside the original and moved over it atomically
    (or written to ``out``), owner-read/write only. An already complete file is left
    untouched.

    Raises
    ------
    XdfFormatError
        When the file is not XDF at all.
    RecordingWriteError
        When the repaired file cannot be written.
    """
    path = Path(path)
    rec = read_xdf(path, recover=True)
    samples = sum(len(s.time_stamps) for s in rec.streams)
    target = Path(out) if out is not None else path
    if rec.closed and out is None:
        return RepairReport(path, False, 0, 0, samples, ())
    data = read_file_bytes(path)
    parts = [MAGIC]
    for start, end, tag, _stream_id in rec.chunks:
        if tag == Tag.BOUNDARY and parts and parts[-1][-len(BOUNDARY_UUID) :] == BOUNDARY_UUID:
            continue  # no two boundaries in a row
        parts.append(data[start:end])
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
    tmp = target.with_name(target.name + ".repairing")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with io.FileIO(fd, "wb", closefd=True) as f:
            f.write(b"".join(parts))
            os.fsync(f.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise RecordingWriteError(
            f"cannot write the repaired recording {target}: {exc.strerror or exc}"
        ) from None
    dropped = rec.file_bytes - rec.valid_bytes + rec.skipped_bytes
    return RepairReport(target, True, dropped, added, samples, tuple(rec.problems))
