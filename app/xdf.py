"""XDF 1.0, the file format of Lab Streaming Layer recordings: encode, read and repair.

The format (https://github.com/sccn/xdf/wiki/Specifications) is the 4 bytes ``XDF:``
followed by chunks. Every chunk is ``[NumLengthBytes][Length][Tag][Content]``: one byte
saying how many bytes the length takes (1, 4 or 8), the length itself (little-endian,
counting tag and content), a uint16 tag, then the content:

======  ==============  =====================================================================
tag     chunk           content
======  ==============  =====================================================================
1       FileHeader      XML ``<info><version>1.0</version>...</info>``
2       StreamHeader    uint32 stream id, XML ``<info>`` (name, type, channel_count, ...)
3       Samples         uint32 stream id, varlen sample count, then per sample: a byte 8 and
                        a float64 timestamp (or 0 for "previous + 1/srate"), then the values
                        (numbers little-endian; strings as varlen length + UTF-8 bytes)
4       ClockOffset     uint32 stream id, float64 collection time, float64 offset value (s)
5       Boundary        16 fixed bytes, so a reader can find its way after corruption
6       StreamFooter    uint32 stream id, XML with first/last timestamp, sample count,
                        clock offsets
======  ==============  =====================================================================

A "varlen" integer is the same one-byte-width-then-value scheme as a chunk length.

This module is pure (bytes and numpy): :mod:`app.recorder` writes with it on its own
thread, :func:`read_xdf` loads a file (heartsync's or anyone's), and :func:`repair_xdf`
closes a file whose writer died (``kill -9``, power cut, full disk).
"""

import enum
import gzip
import io
import logging
import math
import os
import struct
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

MAGIC = b"XDF:"
#: The payload of every boundary chunk (fixed by the spec).
BOUNDARY_UUID = bytes.fromhex("43A546DCCBF5410FB30ED5467383CBE4")
#: Numeric channel formats: numpy dtype (little-endian).
NUMERIC_FORMATS = {
    "double64": np.dtype("<f8"),
    "float32": np.dtype("<f4"),
    "int8": np.dtype("<i1"),
    "int16": np.dtype("<i2"),
    "int32": np.dtype("<i4"),
    "int64": np.dtype("<i8"),
}
FORMATS = (*NUMERIC_FORMATS, "string")


class Tag(enum.IntEnum):
    """Chunk tags of XDF 1.0."""

    FILE_HEADER = 1
    STREAM_HEADER = 2
    SAMPLES = 3
    CLOCK_OFFSET = 4
    BOUNDARY = 5
    STREAM_FOOTER = 6


# --------------------------------------------------------------------------- errors


class RecordingError(Exception):
    """Base of every error about recordings (writing, reading, repairing, replaying)."""


class RecordingWriteError(RecordingError):
    """A recording cannot be written (unwritable path, disk full, I/O error)."""


class XdfFormatError(RecordingError):
    """A file is not XDF, or is damaged beyond what the reader can skip; names the file."""


# --------------------------------------------------------------------------- encoding


def varlen(n: int) -> bytes:
    """Encode a non-negative integer as an XDF variable-length integer."""
    if n < 0:
        raise ValueError(f"varlen needs a non-negative integer, got {n}")
    if n < 256:
        return struct.pack("<BB", 1, n)
    if n < 2**32:
        return struct.pack("<BI", 4, n)
    return struct.pack("<BQ", 8, n)


def chunk(tag: Tag, content: bytes) -> bytes:
    """One whole chunk: length, tag and content."""
    return varlen(len(content) + 2) + struct.pack("<H", tag) + content


def xml_bytes(element: ET.Element) -> bytes:
    """UTF-8 XML with a declaration, as LSL writes stream infos."""
    return b'<?xml version="1.0"?>' + ET.tostring(element, encoding="utf-8", xml_declaration=False)


def file_header_chunk(info: ET.Element) -> bytes:
    """The FileHeader chunk (``info`` is the ``<info>`` element; add ``<version>1.0``)."""
    return chunk(Tag.FILE_HEADER, xml_bytes(info))


def stream_header_chunk(stream_id: int, info: ET.Element) -> bytes:
    """A StreamHeader chunk."""
    return chunk(Tag.STREAM_HEADER, struct.pack("<I", stream_id) + xml_bytes(info))


def stream_footer_chunk(stream_id: int, footer: ET.Element) -> bytes:
    """A StreamFooter chunk."""
    return chunk(Tag.STREAM_FOOTER, struct.pack("<I", stream_id) + xml_bytes(footer))


def clock_offset_chunk(stream_id: int, collection_t: float, offset_s: float) -> bytes:
    """A ClockOffset chunk: at ``collection_t`` the stream's clock was ``offset_s`` behind."""
    return chunk(Tag.CLOCK_OFFSET, struct.pack("<Idd", stream_id, collection_t, offset_s))


def boundary_chunk() -> bytes:
    """A Boundary chunk."""
    return chunk(Tag.BOUNDARY, BOUNDARY_UUID)


def samples_chunk(
    stream_id: int,
    channel_format: str,
    channel_count: int,
    timestamps: Sequence[float],
    values: Sequence[Sequence],
) -> bytes:
    """A Samples chunk holding every sample with its own float64 timestamp.

    Parameters
    ----------
    stream_id : int
        The stream the samples belong to.
    channel_format : str
        One of :data:`FORMATS`.
    channel_count : int
        Values per sample.
    timestamps : sequence of float
        One timestamp per sample, seconds.
    values : sequence of sequences
        One row of ``channel_count`` values per sample (str for ``string`` streams).
    """
    n = len(timestamps)
    head = struct.pack("<I", stream_id) + varlen(n)
    if channel_format == "string":
        parts = [head]
        for t, row in zip(timestamps, values, strict=True):
            parts.append(b"\x08" + struct.pack("<d", t))
            for value in row:
                data = str(value).encode("utf-8")
                parts.append(varlen(len(data)) + data)
        return chunk(Tag.SAMPLES, b"".join(parts))
    dtype = NUMERIC_FORMATS[channel_format]
    record = np.dtype([("n", "u1"), ("t", "<f8"), ("v", dtype, (channel_count,))])
    rows = np.empty(n, record)
    rows["n"] = 8
    rows["t"] = timestamps
    rows["v"] = np.asarray(values, dtype=dtype).reshape(n, channel_count)
    return chunk(Tag.SAMPLES, head + rows.tobytes())


def footer_element(
    first_t: float, last_t: float, count: int, offsets: Iterable[tuple[float, float]]
) -> ET.Element:
    """The ``<info>`` of a StreamFooter (first/last timestamp, sample count, clock offsets)."""
    info = ET.Element("info")
    ET.SubElement(info, "first_timestamp").text = _num(first_t)
    ET.SubElement(info, "last_timestamp").text = _num(last_t)
    ET.SubElement(info, "sample_count").text = str(count)
    clock = ET.SubElement(info, "clock_offsets")
    for t, value in offsets:
        offset = ET.SubElement(clock, "offset")
        ET.SubElement(offset, "time").text = _num(t)
        ET.SubElement(offset, "value").text = _num(value)
    return info


def _num(value: float) -> str:
    return repr(float(value)) if math.isfinite(value) else "0"


# --------------------------------------------------------------------------- reading


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


def _open_bytes(path: Path) -> bytes:
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
    data = _open_bytes(path)
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


# --------------------------------------------------------------------------- repair


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
    data = _open_bytes(path)
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
