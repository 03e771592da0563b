"""XDF 1.0 chunks: the format, its constants and errors, and the chunk encoders.

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

This module is pure (bytes and numpy): :mod:`app.recording.recorder` writes with it on
its own thread, :mod:`sensors.xdf.reader` loads a file (heartsync's or anyone's) and
:mod:`sensors.xdf.repair` closes a file whose writer died (``kill -9``, power cut, full disk).
"""

import enum
import math
import struct
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence

import numpy as np

from sensors.xdf.text import clean_tree, utf8

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
    """UTF-8 XML with a declaration, as LSL writes stream infos.

    Every text and attribute is made XML-safe first (:func:`sensors.xdf.text.clean_tree`):
    names, strap strings and LSL metadata come from outside.
    """
    safe = clean_tree(element)
    return b'<?xml version="1.0"?>' + ET.tostring(safe, encoding="utf-8", xml_declaration=False)


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
                data = utf8(str(value))
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
