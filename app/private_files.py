"""Files about a person, created readable by their owner only (like recordings and profiles).

A report, its CSVs and its summary are health data: created 0600 whatever the umask
says, in a folder created 0700.
"""

import os
from pathlib import Path
from typing import TextIO


def private_folder(path: Path) -> Path:
    """Create ``path`` (and parents) owner-only when missing; returns it."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def open_private(path: Path, newline: str | None = None) -> TextIO:
    """Open ``path`` for writing UTF-8 text (truncating it), owner read/write only."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # an existing file keeps its mode through O_TRUNC
    except OSError:
        os.close(fd)
        raise
    return os.fdopen(fd, "w", encoding="utf-8", newline=newline)


def write_private(path: Path, text: str) -> Path:
    """Write ``text`` to ``path``, owner read/write only; returns the path."""
    with open_private(path) as f:
        f.write(text)
    return path
