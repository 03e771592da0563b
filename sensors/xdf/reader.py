"""Read XDF files, heartsync's or anyone's, skipping damage and stopping at a cut tail."""

import gzip
import logging
import os
import struct
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sensors.xdf.chunks import (
    BOUNDARY_UUID,
    FORMATS,
    MAGIC,
    NUMERIC_FORMATS,
    Tag,
    XdfFormatError,
)

log = logging.getLogger(__name__)


@dataclass
class XdfStream:
    """One stream of a recording.

    Attributes
    ----------
    stream_id : int
        The id the file gives the stream.
    info : xml.etree.ElementTree.Element
        The stream header's ``<info>`` element (name, type, desc, ...).
    time_stamps : numpy array of float
        One timestamp per sample, seconds, as written (no clock correction applied).
    time_series : numpy array (samples x channels) or list of list of str
        The values; strings for ``string`` streams.
    clock_times, clock_values : list of float
        ClockOffset chunks: collection times and offsets, seconds.
    footer : xml.etree.ElementTree.Element or None
        The footer's ``<info>``; None when the writer never closed the stream.
    """

    stream_id: int
    info: ET.Element
    time_stamps: np.ndarray = field(default_factory=lambda: np.zeros(0))
    time_series: np.ndarray | list = field(default_factory=list)
    clock_times: list[float] = field(default_factory=list)
    clock_values: list[float] = field(default_factory=list)
    footer: ET.Element | None = None

    def text(self, path: str, default: str = "") -> str:
        """Text of the header element at ``path`` (e.g. ``"desc/subject/alias"``)."""
        node = self.info.find(path)
        return default if node is None or node.text is None else node.text.strip()

    @property
    def name(self) -> str:
        """Stream name."""
        return self.text("name")

    @property
    def type(self) -> str:
        """Content type (``RR``, ``Markers``, ...)."""
        return self.text("type")

    @property
    def source_id(self) -> str:
        """The stream's source_id ("" when none)."""
        return self.text("source_id")

    @property
    def channel_format(self) -> str:
        """Value format, one of :data:`FORMATS`."""
        return self.text("channel_format")

    @property
    def channel_count(self) -> int:
        """Values per sample."""
        return int(self.text("channel_count", "0"))

    @property
    def nominal_srate(self) -> float:
        """Declared sampling rate, Hz (0 for irregular streams)."""
        return float(self.text("nominal_srate", "0") or 0)

    @property
    def channels(self) -> list[dict[str, str]]:
        """Channel descriptions (``label``, ``unit``, ``type``) from ``desc/channels``."""
        out = []
        for channel in self.info.findall("desc/channels/channel"):
            out.append({child.tag: (child.text or "").strip() for child in channel})
        return out

    @property
    def labels(self) -> list[str]:
        """Channel labels (empty strings where the header names none)."""
        channels = self.channels
        if len(channels) != self.channel_count:
            return [""] * self.channel_count
        return [c.get("label", "") for c in channels]


@dataclass
class XdfRecording:
    """A loaded XDF file.

    Attributes
    ----------
    path : Path
        Where it was read from.
    header : xml.etree.ElementTree.Element
        The file header's ``<info>``.
    streams : list of XdfStream
        In the order their headers appear.
    file_bytes : int
        Size of the file.
    valid_bytes : int
        End of the last whole chunk; the rest is a chunk cut short (crash, full disk).
    skipped_bytes : int
        Bytes skipped inside the file because they were damaged.
    problems : list of str
        What the reader had to work around, worded for the user.
    chunks : list of (int, int, int, int)
        ``(offset, end, tag, stream_id)`` of every whole chunk read (``stream_id`` -1
        for chunks of no stream), for :func:`repair_xdf`.
    """

    path: Path
    header: ET.Element
    streams: list[XdfStream]
    file_bytes: int
    valid_bytes: int
    skipped_bytes: int = 0
    problems: list[str] = field(default_factory=list)
    chunks: list[tuple[int, int, int, int]] = field(default_factory=list, repr=False)

    @property
    def truncated(self) -> bool:
        """True when the file ends inside a chunk."""
        return self.valid_bytes < self.file_bytes

    @property
    def closed(self) -> bool:
        """True when every stream has a footer and nothing was damaged."""
        return (
            not self.truncated
            and not self.skipped_bytes
            and all(s.footer is not None for s in self.streams)
        )

    def find(self, **fields: str) -> list[XdfStream]:
        """Streams whose header fields equal the given ones (``type="RR"``, ...).

        Keys are header paths with ``/`` written as ``__`` (``desc__subject__alias``).
        """
        return [
            s
            for s in self.streams
            if all(s.text(k.replace("__", "/")) == v for k, v in fields.items())
        ]


class _Damaged(Exception):
    """Internal: the bytes at the read position are not a valid chunk."""


class _Cut(Exception):
    """Internal: the file ends inside a chunk."""


def read_file_bytes(path: Path) -> bytes:
    """The whole file, gzip-decompressed for ``.xdfz``/``.xdf.gz``; unreadable: XdfFormatError."""
    name = path.name.lower()
    try:
        if name.endswith((".xdfz", ".xdf.gz")):
            with gzip.open(path, "rb") as f:
                return f.read()
        return path.read_bytes()
    except FileNotFoundError:
        raise XdfFormatError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise XdfFormatError(f"{path} is a folder, not an XDF file") from None
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise XdfFormatError(f"cannot read {path}: {reason}") from None


def _read_varlen(data: bytes, pos: int) -> tuple[int, int]:
    """Read a varlen integer at ``pos``; returns (value, new position)."""
    if pos >= len(data):
        raise _Cut
    width = data[pos]
    if width not in (1, 4, 8):
        raise _Damaged(f"invalid length width {width} at byte {pos}")
    end = pos + 1 + width
    if end > len(data):
        raise _Cut
    return int.from_bytes(data[pos + 1 : end], "little"), end


def read_xdf(path: str | os.PathLike, *, recover: bool = True) -> XdfRecording:
    """Load an XDF file, heartsync's or anyone's.

    A file that ends inside a chunk (its writer was killed, the disk filled up) loads up
    to its last whole chunk. Damage inside the file is skipped to the next boundary
    chunk when ``recover`` is true. Every workaround is listed in ``problems``.

    Parameters
    ----------
    path : str or path
        The file (``.xdfz`` / ``.xdf.gz`` are read through gzip).
    recover : bool
        Skip damaged regions instead of raising.

    Returns
    -------
    XdfRecording

    Raises
    ------
    XdfFormatError
        When the file is not XDF (wrong magic, no file header) or, without ``recover``,
        when it is damaged. The message names the file and says what is wrong.
    """
    path = Path(path)
    data = read_file_bytes(path)
    if not data:
        raise XdfFormatError(f"{path} is empty (0 bytes): not an XDF recording")
    if data[:4] != MAGIC:
        raise XdfFormatError(
            f"{path} is not an XDF file (it starts with {data[:8]!r}, not {MAGIC!r})"
        )
    size = len(data)
    pos = 4
    header: ET.Element | None = None
    streams: dict[int, XdfStream] = {}
    stamps: dict[int, list[np.ndarray]] = {}
    series: dict[int, list] = {}
    last_t: dict[int, float] = {}
    problems: list[str] = []
    chunks: list[tuple[int, int, int, int]] = []
    skipped = 0
    valid = 4
    while pos < size:
        start = pos
        try:
            length, body = _read_varlen(data, pos)
            end = body + length
            if length < 2:
                raise _Damaged(f"chunk at byte {start} has length {length}")
            if end > size:
                raise _Cut
            tag = int.from_bytes(data[body : body + 2], "little")
            content = data[body + 2 : end]
            if tag not in Tag.__members__.values():
                raise _Damaged(f"unknown chunk tag {tag} at byte {start}")
            stream_id = -1
            if tag in (Tag.STREAM_HEADER, Tag.SAMPLES, Tag.CLOCK_OFFSET, Tag.STREAM_FOOTER):
                if len(content) < 4:
                    raise _Damaged(f"chunk at byte {start} is too short for a stream id")
                stream_id = int.from_bytes(content[:4], "little")
                if tag != Tag.STREAM_HEADER and stream_id not in streams:
                    raise _Damaged(f"chunk at byte {start} is for unknown stream {stream_id}")
            if header is None and tag != Tag.FILE_HEADER:
                raise XdfFormatError(
                    f"{path}: not a valid XDF recording (the first chunk is not a file header)"
                )
            if tag == Tag.FILE_HEADER:
                header = _parse_xml(content, f"file header at byte {start}")
            elif tag == Tag.STREAM_HEADER:
                info = _parse_xml(content[4:], f"header of stream {stream_id}")
                stream = XdfStream(stream_id, info)
                _check_header(stream, start)
                streams[stream_id] = stream
                stamps[stream_id], series[stream_id] = [], []
                last_t[stream_id] = 0.0
            elif tag == Tag.SAMPLES:
                ts, values, last_t[stream_id] = _decode_samples(
                    streams[stream_id], content[4:], last_t[stream_id], start
                )
                stamps[stream_id].append(ts)
                series[stream_id].append(values)
            elif tag == Tag.CLOCK_OFFSET:
                if len(content) != 20:
                    raise _Damaged(f"clock offset chunk at byte {start} has the wrong size")
                t, value = struct.unpack("<dd", content[4:])
                streams[stream_id].clock_times.append(t)
                streams[stream_id].clock_values.append(value)
            elif tag == Tag.STREAM_FOOTER:
                streams[stream_id].footer = _parse_xml(content[4:], f"footer of {stream_id}")
            elif tag == Tag.BOUNDARY and content != BOUNDARY_UUID:
                raise _Damaged(f"boundary chunk at byte {start} has the wrong signature")
            chunks.append((start, end, tag, stream_id))
            pos = valid = end
        except _Cut:
            problems.append(
                f"the file ends inside a chunk at byte {start} "
                f"({size - start} bytes cut short; the writer stopped mid-write)"
            )
            break
        except _Damaged as exc:
            if header is None:
                raise XdfFormatError(f"{path}: not a valid XDF recording ({exc})") from None
            if not recover:
                raise XdfFormatError(f"{path} is damaged: {exc}") from None
            found = data.find(BOUNDARY_UUID, start + 1)
            if found < 0:
                problems.append(f"{exc}; nothing readable after it ({size - start} bytes)")
                break
            resume = found + len(BOUNDARY_UUID)
            skipped += resume - start
            problems.append(f"{exc}; skipped {resume - start} bytes to the next boundary")
            pos = valid = resume
    if header is None:
        raise XdfFormatError(f"{path}: not a valid XDF recording (no file header)")
    for stream_id, stream in streams.items():
        _assemble(stream, stamps[stream_id], series[stream_id])
    if problems:
        log.warning("%s: %s", path, "; ".join(problems))
    return XdfRecording(
        path, header, list(streams.values()), size, valid, skipped, problems, chunks
    )


def _parse_xml(content: bytes, what: str) -> ET.Element:
    try:
        return ET.fromstring(content.decode("utf-8", "replace"))
    except ET.ParseError as exc:
        raise _Damaged(f"{what} is not valid XML ({exc})") from None


def _check_header(stream: XdfStream, start: int) -> None:
    fmt = stream.channel_format
    if fmt not in FORMATS:
        raise _Damaged(f"stream header at byte {start} has unknown channel format {fmt!r}")
    try:
        count, rate = stream.channel_count, stream.nominal_srate
    except ValueError:
        raise _Damaged(f"stream header at byte {start} has a bad channel count or rate") from None
    if count < 1 or not rate >= 0:
        raise _Damaged(f"stream header at byte {start} declares {count} channels at {rate} Hz")


def _decode_samples(
    stream: XdfStream, content: bytes, last_t: float, start: int
) -> tuple[np.ndarray, np.ndarray | list, float]:
    """Decode a Samples chunk's content after the stream id."""
    try:
        n, pos = _read_varlen(content, 0)
    except _Cut:
        raise _Damaged(f"samples chunk at byte {start} is cut short") from None
    fmt, nch = stream.channel_format, stream.channel_count
    rate = stream.nominal_srate
    step = 1.0 / rate if rate > 0 else 0.0
    if fmt != "string":
        dtype = NUMERIC_FORMATS[fmt]
        record = np.dtype([("n", "u1"), ("t", "<f8"), ("v", dtype, (nch,))])
        body = content[pos:]
        if len(body) == n * record.itemsize:  # fast path: every sample carries a timestamp
            rows = np.frombuffer(body, record, n)
            if np.all(rows["n"] == 8):
                values = rows["v"].astype(dtype.newbyteorder("="))
                ts = rows["t"].astype(float)
                return ts, values, float(ts[-1]) if n else last_t
    ts = np.empty(n)
    rows: list = []
    try:
        for k in range(n):
            width = content[pos]
            if width == 8:
                last_t = struct.unpack_from("<d", content, pos + 1)[0]
                pos += 9
            elif width == 0:
                last_t += step
                pos += 1
            else:
                raise _Damaged(f"samples chunk at byte {start}: bad timestamp width {width}")
            ts[k] = last_t
            if fmt == "string":
                row = []
                for _ in range(nch):
                    length, pos = _read_varlen(content, pos)
                    if pos + length > len(content):
                        raise _Cut
                    row.append(content[pos : pos + length].decode("utf-8", "replace"))
                    pos += length
                rows.append(row)
            else:
                width_b = nch * NUMERIC_FORMATS[fmt].itemsize
                if pos + width_b > len(content):
                    raise _Cut
                rows.append(np.frombuffer(content, NUMERIC_FORMATS[fmt], nch, pos))
                pos += width_b
    except (_Cut, IndexError, struct.error):
        raise _Damaged(f"samples chunk at byte {start} is shorter than its samples") from None
    if pos != len(content):
        raise _Damaged(f"samples chunk at byte {start} has {len(content) - pos} extra bytes")
    if fmt == "string":
        return ts, rows, last_t
    dtype = NUMERIC_FORMATS[fmt].newbyteorder("=")
    values = np.array(rows, dtype=dtype).reshape(n, nch)
    return ts, values, last_t


def _assemble(stream: XdfStream, stamps: list[np.ndarray], series: list) -> None:
    stream.time_stamps = np.concatenate(stamps) if stamps else np.zeros(0)
    if stream.channel_format == "string":
        stream.time_series = [row for part in series for row in part]
    elif series:
        stream.time_series = np.concatenate(series)
    else:
        dtype = NUMERIC_FORMATS[stream.channel_format].newbyteorder("=")
        stream.time_series = np.zeros((0, stream.channel_count), dtype)
