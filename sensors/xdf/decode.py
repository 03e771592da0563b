"""Decoding the content of XDF chunks: varlen integers, XML infos, samples.

Every function here either returns what it decoded or raises :class:`Damaged` (the
bytes are not what the format says) or :class:`Cut` (they run past the end of the
data); none allocates more than the bytes in hand can hold, so a flipped count or a
hostile header cannot ask for terabytes.
"""

import math
import struct
import xml.etree.ElementTree as ET
from dataclasses import dataclass

import numpy as np

from sensors.xdf.chunks import FORMATS, NUMERIC_FORMATS
from sensors.xdf.text import xml_safe

#: Most channels a stream may declare (high-density EEG has 256; 65,536 is generous).
MAX_CHANNELS = 65_536
#: Deepest XML nesting accepted in a header (LSL infos are 4-5 deep).
MAX_XML_DEPTH = 64


class Damaged(Exception):
    """The bytes at the read position are not a valid chunk."""


class Cut(Exception):
    """The data ends inside what is being read."""


def read_varlen(data: bytes, pos: int, limit: int | None = None) -> tuple[int, int]:
    """Read a varlen integer at ``pos`` (before ``limit``); returns (value, new position)."""
    limit = len(data) if limit is None else limit
    if pos >= limit:
        raise Cut
    width = data[pos]
    if width not in (1, 4, 8):
        raise Damaged(f"invalid length width {width} at byte {pos}")
    end = pos + 1 + width
    if end > limit:
        raise Cut
    return int.from_bytes(data[pos + 1 : end], "little"), end


def parse_xml(content: bytes, what: str) -> tuple[ET.Element, bool]:
    """Parse an XML info; returns (element, cleaned).

    ``cleaned`` is True when the text held characters XML forbids (control characters
    written by an older heartsync or another tool) and was read after replacing them.
    """
    text = content.decode("utf-8", "replace")
    try:
        return _bounded(ET.fromstring(text), what), False
    except ET.ParseError as exc:
        safe = xml_safe(text)
        if safe != text:
            try:
                return _bounded(ET.fromstring(safe), what), True
            except ET.ParseError:
                pass
        raise Damaged(f"{what} is not valid XML ({exc})") from None


def _bounded(root: ET.Element, what: str) -> ET.Element:
    stack = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_XML_DEPTH:
            raise Damaged(f"{what} is nested deeper than {MAX_XML_DEPTH} levels")
        stack.extend((child, depth + 1) for child in node)
    return root


@dataclass(frozen=True)
class Layout:
    """How a stream's samples are laid out (from its header).

    Attributes
    ----------
    channel_format : str
        One of :data:`FORMATS`.
    channel_count : int
        Values per sample.
    step_s : float
        Seconds between samples whose timestamp is left out (1 / nominal rate; 0 if
        irregular).
    """

    channel_format: str
    channel_count: int
    step_s: float

    @property
    def min_sample_bytes(self) -> int:
        """Fewest bytes one sample can take (no timestamp, shortest values)."""
        if self.channel_format == "string":
            return 1 + 2 * self.channel_count
        return 1 + self.channel_count * NUMERIC_FORMATS[self.channel_format].itemsize


def layout_of(info: ET.Element, start: int) -> Layout:
    """Check a stream header and return its sample layout; Damaged when unusable."""
    fmt = (info.findtext("channel_format") or "").strip()
    if fmt not in FORMATS:
        raise Damaged(f"stream header at byte {start} has unknown channel format {fmt!r}")
    try:
        count = int((info.findtext("channel_count") or "0").strip())
        rate = float((info.findtext("nominal_srate") or "0").strip() or 0)
    except ValueError:
        raise Damaged(f"stream header at byte {start} has a bad channel count or rate") from None
    if not 1 <= count <= MAX_CHANNELS or not (math.isfinite(rate) and rate >= 0):
        raise Damaged(f"stream header at byte {start} declares {count} channels at {rate} Hz")
    return Layout(fmt, count, 1.0 / rate if rate > 0 else 0.0)


@dataclass
class Decoded:
    """Samples decoded from part of a chunk.

    Attributes
    ----------
    stamps : numpy array of float
        Timestamps, s.
    values : numpy array or list of list of str
        One row per sample.
    end : int
        Position after the last decoded sample.
    last_t : float
        Timestamp of the last sample (the base of the next deduced one).
    complete : bool
        False when decoding stopped early (``partial``): fewer samples than declared.
    """

    stamps: np.ndarray
    values: np.ndarray | list
    end: int
    last_t: float
    complete: bool = True


def decode_samples(
    layout: Layout, data: bytes, pos: int, limit: int, last_t: float, partial: bool = False
) -> Decoded:
    """Decode a sample count and that many samples from ``data[pos:limit]``.

    A timestamp-width byte other than 0 is read as an 8-byte timestamp, as pyxdf does.
    With ``partial``, decoding stops at the last whole sample before ``limit`` instead
    of raising :class:`Cut`.
    """
    n, pos = read_varlen(data, pos, limit)
    if n * layout.min_sample_bytes > limit - pos:
        if not partial:
            raise Cut
        n = (limit - pos) // layout.min_sample_bytes
    if layout.channel_format != "string":
        fast = _numeric_fast(layout, data, pos, limit, n)
        if fast is not None:
            return fast
    return _decode_slow(layout, data, pos, limit, n, last_t, partial)


def _numeric_fast(layout: Layout, data: bytes, pos: int, limit: int, n: int) -> Decoded | None:
    dtype = NUMERIC_FORMATS[layout.channel_format]
    record = np.dtype([("n", "u1"), ("t", "<f8"), ("v", dtype, (layout.channel_count,))])
    end = pos + n * record.itemsize
    if n == 0 or end > limit:
        return None
    rows = np.frombuffer(data, record, n, pos)
    if not np.all(rows["n"] != 0):
        return None
    stamps = rows["t"].astype(float)
    values = rows["v"].astype(dtype.newbyteorder("="))
    return Decoded(stamps, values, end, float(stamps[-1]))


def _decode_slow(
    layout: Layout, data: bytes, pos: int, limit: int, n: int, last_t: float, partial: bool
) -> Decoded:
    fmt, nch = layout.channel_format, layout.channel_count
    stamps: list[float] = []
    rows: list = []
    width_b = 0 if fmt == "string" else nch * NUMERIC_FORMATS[fmt].itemsize
    for _ in range(n):
        try:
            t, row, after = _one_sample(layout, data, pos, limit, last_t, width_b)
        except (Cut, Damaged):
            if partial:
                return _finish(layout, stamps, rows, pos, last_t, complete=False)
            raise
        stamps.append(t)
        rows.append(row)
        last_t, pos = t, after
    return _finish(layout, stamps, rows, pos, last_t)


def _one_sample(
    layout: Layout, data: bytes, pos: int, limit: int, last_t: float, width_b: int
) -> tuple[float, object, int]:
    if pos >= limit:
        raise Cut
    if data[pos] != 0:
        if pos + 9 > limit:
            raise Cut
        t = struct.unpack_from("<d", data, pos + 1)[0]
        pos += 9
    else:
        t = last_t + layout.step_s
        pos += 1
    if layout.channel_format == "string":
        row = []
        for _ in range(layout.channel_count):
            length, pos = read_varlen(data, pos, limit)
            if pos + length > limit:
                raise Cut
            row.append(data[pos : pos + length].decode("utf-8", "replace"))
            pos += length
        return t, row, pos
    if pos + width_b > limit:
        raise Cut
    row = np.frombuffer(data, NUMERIC_FORMATS[layout.channel_format], layout.channel_count, pos)
    return t, row, pos + width_b


def _finish(
    layout: Layout, stamps: list, rows: list, end: int, last_t: float, complete: bool = True
) -> Decoded:
    ts = np.asarray(stamps, float)
    if layout.channel_format == "string":
        return Decoded(ts, rows, end, last_t, complete)
    dtype = NUMERIC_FORMATS[layout.channel_format].newbyteorder("=")
    values = np.array(rows, dtype=dtype).reshape(len(rows), layout.channel_count)
    return Decoded(ts, values, end, last_t, complete)
