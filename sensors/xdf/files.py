"""Reading a recording's bytes without trusting the path: regular files only, bounded size.

``repair /dev/zero`` used to read until MemoryError, a FIFO hung, a damaged ``.xdf.gz``
raised ``zlib.error``. Here: the path must name a regular file (checked on the open
descriptor, so a swapped path cannot slip through), at most :data:`MAX_BYTES`;
compressed files are inflated up to the same bound, and a damaged compressed stream
gives what inflated before the damage plus a note.
"""

import errno
import os
import stat
import zlib
from pathlib import Path

from sensors.xdf.chunks import XdfFormatError

#: Largest recording read, bytes (decompressed). An hour of a dyad is about 5 MB.
MAX_BYTES = 2**32
_BLOCK = 1 << 20
_GZIP_NAMES = (".xdfz", ".xdf.gz")


def read_file_bytes(path: Path, max_bytes: int = MAX_BYTES) -> tuple[bytes, list[str]]:
    """The file's content (inflated for ``.xdfz``/``.xdf.gz``) and notes about damage.

    Raises
    ------
    XdfFormatError
        When the path is missing, not a regular file, unreadable, too large, or a
        compressed file that does not start as gzip; the message names the path.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise XdfFormatError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise XdfFormatError(f"{path} is a folder, not an XDF file") from None
    except OSError as exc:
        raise XdfFormatError(f"cannot read {path}: {exc.strerror or exc}") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        if stat.S_ISDIR(mode):
            raise XdfFormatError(f"{path} is a folder, not an XDF file")
        raise XdfFormatError(f"{path} is not a regular file (a device, pipe or socket)")
    with os.fdopen(fd, "rb", buffering=0) as f:
        try:
            if path.name.lower().endswith(_GZIP_NAMES):
                return _inflate(f, path, max_bytes)
            data = f.read(max_bytes + 1)
        except OSError as exc:
            if exc.errno == errno.EISDIR:
                raise XdfFormatError(f"{path} is a folder, not an XDF file") from None
            raise XdfFormatError(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(data) > max_bytes:
        raise XdfFormatError(f"{path} is larger than {max_bytes:,} bytes: not a recording")
    return data, []


def _inflate(f, path: Path, max_bytes: int) -> tuple[bytes, list[str]]:
    inflater = zlib.decompressobj(wbits=31)  # gzip header and trailer
    parts: list[bytes] = []
    size = 0
    notes: list[str] = []
    while True:
        block = inflater.unconsumed_tail or f.read(_BLOCK)
        if not block:
            if not inflater.eof:
                notes.append(f"the compressed file ends early (after {size:,} bytes of content)")
            break
        try:
            out = inflater.decompress(block, _BLOCK)
        except zlib.error as exc:
            if size == 0 and not parts:
                raise XdfFormatError(f"{path} is not a readable gzip file ({exc})") from None
            notes.append(f"the compressed file is damaged after {size:,} bytes of content")
            break
        parts.append(out)
        size += len(out)
        if size > max_bytes:
            raise XdfFormatError(
                f"{path} inflates to more than {max_bytes:,} bytes: not a recording"
            )
        if inflater.eof:
            break
    return b"".join(parts), notes


def write_all(fd: int, data: bytes) -> None:
    """Write every byte of ``data`` to ``fd``: a short write is continued, an error raises.

    (``os.write`` may write less than asked, e.g. when a disk fills or a size limit is
    reached; ignoring its return value is how a repair once reported a 12 kB file as a
    52 kB one.)
    """
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        if written <= 0:
            raise OSError(errno.EIO, "the disk accepted no more bytes")
        view = view[written:]


def describe_os_error(exc: OSError) -> str:
    """A few words for why a file could not be written."""
    if exc.errno == errno.ENOSPC:
        return "the disk is full"
    if exc.errno == errno.EFBIG:
        return "the file grew past the size allowed"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if exc.errno == errno.EROFS:
        return "the disk is read-only"
    return exc.strerror or str(exc)
