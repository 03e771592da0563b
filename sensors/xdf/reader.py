"""Read XDF files, heartsync's or anyone's: skip damage, resynchronise, stop at a cut tail.

The reader trusts no byte. A chunk whose length field is wrong is still read when its
content shows where it really ends (a samples chunk by its sample count, as pyxdf reads
it; an XML chunk by its closing ``</info>``; fixed-size chunks by their size) and the
next chunk starts there. Damage that cannot be read around is skipped to the next
*plausible* chunk: a boundary chunk, or any chunk header whose stream is known, whose
content decodes completely and which is followed by another plausible header or the end
of the file. Only when no such chunk follows is the rest a cut tail (the writer died).
"""

import heapq
import os
import struct
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sensors.xdf.chunks import (
    BOUNDARY_UUID,
    MAGIC,
    NUMERIC_FORMATS,
    Tag,
    XdfFormatError,
    chunk,
    samples_chunk,
    xml_bytes,
)
from sensors.xdf.decode import (
    Cut,
    Damaged,
    Decoded,
    Layout,
    decode_samples,
    layout_of,
    parse_xml,
    read_varlen,
)
from sensors.xdf.files import read_file_bytes
from sensors.xdf.recording import XdfRecording, XdfStream

__all__ = ["XdfRecording", "XdfStream", "read_file_bytes", "read_xdf", "read_xdf_bytes"]

_STREAM_TAGS = (Tag.STREAM_HEADER, Tag.SAMPLES, Tag.CLOCK_OFFSET, Tag.STREAM_FOOTER)
#: Longest XML info searched for its end when a header's length is damaged, bytes.
_MAX_XML_BYTES = 1 << 20


def read_xdf(path: str | os.PathLike, *, recover: bool = True) -> XdfRecording:
    """Load an XDF file, heartsync's or anyone's.

    A file that ends inside a chunk (its writer was killed, the disk filled up) loads up
    to its last whole chunk. With ``recover``, damage inside the file is read around or
    skipped to the next plausible chunk. Every workaround is listed in ``problems``;
    nothing is logged (the caller decides what the user sees).

    Parameters
    ----------
    path : str or path
        The file (``.xdfz`` / ``.xdf.gz`` are inflated).
    recover : bool
        Read around damage instead of raising.

    Returns
    -------
    XdfRecording

    Raises
    ------
    XdfFormatError
        When the path is not a readable regular file, the file is not XDF, or (without
        ``recover``) it is damaged. The message names the file and says what is wrong.
    """
    return read_xdf_bytes(Path(path), recover=recover)[0]


def read_xdf_bytes(path: Path, *, recover: bool = True) -> tuple[XdfRecording, bytes]:
    """:func:`read_xdf`, also returning the bytes it read (for repair)."""
    data, notes = read_file_bytes(path)
    if not data:
        raise XdfFormatError(f"{path} is empty (0 bytes): not an XDF recording")
    if data[:4] != MAGIC:
        raise XdfFormatError(
            f"{path} is not an XDF file (it starts with {data[:8]!r}, not {MAGIC!r})"
        )
    rec = _Reader(path, data, recover).run()
    rec.problems[:0] = notes
    return rec, data


@dataclass
class _Chunk:
    """A chunk parsed but not yet taken into the recording."""

    start: int
    end: int
    tag: int
    stream_id: int
    take: Callable[[], None]
    mended: bytes | None = None
    note: str | None = None


class _Reader:
    def __init__(self, path: Path, data: bytes, recover: bool) -> None:
        self.path, self.data, self.size, self.recover = path, data, len(data), recover
        self.header: ET.Element | None = None
        self.header_mended: bytes | None = None
        self.streams: dict[int, XdfStream] = {}
        self.layouts: dict[int, Layout] = {}
        self.stamps: dict[int, list[np.ndarray]] = {}
        self.series: dict[int, list] = {}
        self.last_t: dict[int, float] = {}
        self.problems: list[str] = []
        self.chunks: list[tuple[int, int, int, int]] = []
        self.mended: dict[int, bytes] = {}
        self.skipped = 0
        self.valid = 4
        self.resyncing = False

    # -- the walk ------------------------------------------------------------------
    def run(self) -> XdfRecording:
        pos = 4
        while pos < self.size:
            try:
                found = self.parse(pos)
            except Cut:
                resume = self.resync(pos + 1) if self.recover else None
                if resume is None:
                    self.cut_tail(pos)
                    break
                self.skip(pos, resume, f"the chunk at byte {pos} claims to run past the end")
                pos = resume
                continue
            except Damaged as exc:
                if not self.recover:
                    raise XdfFormatError(f"{self.path} is damaged: {exc}") from None
                resume = self.by_length(pos) or self.resync(pos + 1)
                if resume is None:
                    if self.header is None:
                        raise XdfFormatError(
                            f"{self.path}: not a valid XDF recording ({exc})"
                        ) from None
                    self.problems.append(
                        f"{exc}; nothing readable after it ({self.size - pos} bytes)"
                    )
                    break
                self.skip(pos, resume, str(exc))
                pos = resume
                continue
            self.take(found)
            pos = self.valid = found.end
        return self.finish()

    def by_length(self, pos: int) -> int | None:
        """End of the damaged chunk at ``pos`` by its length, if a chunk starts there.

        pyxdf skips a chunk it does not know (a damaged tag) by its length, so does this.
        """
        try:
            length, body = read_varlen(self.data, pos)
        except (Cut, Damaged):
            return None
        end = body + length
        return end if body + 2 <= end < self.size and self.plausible(end) else None

    def cut_tail(self, pos: int) -> None:
        """The file ends inside the chunk at ``pos``: keep its whole samples, if any."""
        cut = f"the file ends inside a chunk at byte {pos} ({self.size - pos} bytes cut short"
        kept = self.partial_samples(pos)
        if kept is None or not len(kept.decoded.stamps):
            self.problems.append(f"{cut}; the writer stopped mid-write)")
            return
        note = f"{cut}); kept the {len(kept.decoded.stamps)} whole samples before the cut"
        kept.decoded.end = self.size
        self.take(self.samples_chunk(pos, kept.stream_id, kept.decoded, note))

    def partial_samples(self, pos: int) -> "_Partial | None":
        """The whole samples of a samples chunk cut short at ``pos`` (None: not one)."""
        data = self.data
        try:
            _, body = read_varlen(data, pos)
        except (Cut, Damaged):
            return None
        sid_at = body + 2
        if int.from_bytes(data[body:sid_at], "little") != Tag.SAMPLES or sid_at + 4 > self.size:
            return None
        sid = int.from_bytes(data[sid_at : sid_at + 4], "little")
        if sid not in self.layouts:
            return None
        try:
            decoded = decode_samples(
                self.layouts[sid], data, sid_at + 4, self.size, self.last_t[sid], partial=True
            )
        except (Cut, Damaged):
            return None
        return _Partial(sid, decoded)

    def skip(self, start: int, resume: int, why: str) -> None:
        self.skipped += resume - start
        self.problems.append(f"{why}; skipped {resume - start} bytes to the next chunk")
        self.valid = resume

    def take(self, found: _Chunk) -> None:
        found.take()
        self.chunks.append((found.start, found.end, found.tag, found.stream_id))
        if found.mended is not None:
            self.mended[found.start] = found.mended
        if found.note:
            self.problems.append(found.note)

    def finish(self) -> XdfRecording:
        header = self.header
        if header is None:
            if not self.streams:
                raise XdfFormatError(f"{self.path}: not a valid XDF recording (no file header)")
            header = ET.Element("info")
            ET.SubElement(header, "version").text = "1.0"
            self.problems.append("the file header was damaged; a plain one is assumed")
            self.header_mended = chunk(Tag.FILE_HEADER, xml_bytes(header))
        for stream_id, stream in self.streams.items():
            _assemble(stream, self.stamps[stream_id], self.series[stream_id])
        rec = XdfRecording(
            self.path,
            header,
            list(self.streams.values()),
            self.size,
            self.valid,
            self.skipped,
            self.problems,
            self.chunks,
            self.mended,
        )
        if self.header_mended is not None:
            rec.mended[-1] = self.header_mended  # -1: no offset, written first
        return rec

    # -- one chunk -----------------------------------------------------------------
    def parse(self, pos: int) -> _Chunk:
        """Parse the chunk at ``pos`` without changing the reader (Damaged / Cut)."""
        data, size = self.data, self.size
        length, body = read_varlen(data, pos)
        # A length under 2 (too short for the tag) is damage like any wrong length: the
        # content still says where the chunk ends (pyxdf reads samples by count too).
        if body + 2 > size:
            raise Cut
        tag = int.from_bytes(data[body : body + 2], "little")
        content, end = body + 2, body + length
        if tag not in Tag.__members__.values():
            raise Damaged(f"unknown chunk tag {tag} at byte {pos}")
        if pos == 4 and tag != Tag.FILE_HEADER:  # its tag damaged: read on without it
            raise Damaged("the first chunk is not a file header")
        if tag == Tag.FILE_HEADER:
            if self.header is not None:
                raise Damaged(f"a second file header at byte {pos}")
            return self.xml_chunk(pos, tag, -1, content, end)
        if tag == Tag.BOUNDARY:
            return self.fixed_chunk(pos, tag, -1, content, end, BOUNDARY_UUID)
        if content + 4 > size:
            raise Cut
        sid = int.from_bytes(data[content : content + 4], "little")
        if tag == Tag.STREAM_HEADER:
            if sid in self.layouts:
                raise Damaged(f"a second header for stream {sid} at byte {pos}")
        elif sid not in self.layouts:
            raise Damaged(f"chunk at byte {pos} is for unknown stream {sid}")
        if tag == Tag.SAMPLES:
            return self.samples(pos, sid, content + 4, end)
        if tag == Tag.CLOCK_OFFSET:
            return self.fixed_chunk(pos, tag, sid, content, end, None)
        return self.xml_chunk(pos, tag, sid, content, end)

    def plausible(self, pos: int, new_sid: int | None = None) -> bool:
        """Could a chunk start at ``pos`` (or the file end there)? A cheap look.

        ``new_sid``: a stream whose header is being read (its samples may come next).
        """
        data, size = self.data, self.size
        if pos == size:
            return True
        if pos > size or data[pos] not in (1, 4, 8):
            return False
        width = data[pos]
        if pos + 1 + width + 2 > size:
            return True  # a header cut short: the tail of a killed writer
        length = int.from_bytes(data[pos + 1 : pos + 1 + width], "little")
        tag = int.from_bytes(data[pos + 1 + width : pos + 3 + width], "little")
        if length < 2 or not Tag.STREAM_HEADER <= tag <= Tag.STREAM_FOOTER:
            return False
        if tag in (Tag.SAMPLES, Tag.CLOCK_OFFSET, Tag.STREAM_FOOTER):
            sid_at = pos + 3 + width
            if sid_at + 4 <= size:
                sid = int.from_bytes(data[sid_at : sid_at + 4], "little")
                return sid in self.layouts or sid == new_sid
        return True

    def fixed_chunk(
        self, pos: int, tag: int, sid: int, content: int, end: int, payload: bytes | None
    ) -> _Chunk:
        """A boundary (``payload``: its UUID) or clock offset chunk (20 bytes)."""
        data = self.data
        natural = content + (16 if payload is not None else 20)
        if natural > self.size:
            raise Cut
        note = mended = None
        if payload is not None and data[content:natural] != payload:
            # its length right and a chunk after it: a boundary (pyxdf skips it by length)
            if end != natural or not self.plausible(natural):
                raise Damaged(f"boundary chunk at byte {pos} has the wrong signature")
            note = f"the signature of the boundary chunk at byte {pos} was damaged"
            mended = chunk(Tag.BOUNDARY, payload)
        if end != natural:
            if not self.plausible(natural):
                raise Cut if end > self.size else Damaged(f"chunk at byte {pos}: wrong length")
            note = f"the length of the chunk at byte {pos} was damaged; read by its size"
            mended = chunk(Tag(tag), data[content:natural])

        def take() -> None:
            if tag == Tag.CLOCK_OFFSET:
                t, value = struct.unpack_from("<dd", data, content + 4)
                self.streams[sid].clock_times.append(t)
                self.streams[sid].clock_values.append(value)

        return _Chunk(pos, natural, tag, sid, take, mended, note)

    def xml_chunk(self, pos: int, tag: int, sid: int, content: int, end: int) -> _Chunk:
        """A file header, stream header or stream footer."""
        data = self.data
        xml_at = content + (0 if tag == Tag.FILE_HEADER else 4)
        what = {1: "file header", 2: f"header of stream {sid}", 6: f"footer of stream {sid}"}
        what = f"{what[tag]} at byte {pos}"
        note = None
        try:
            if end > self.size:
                raise Cut
            element, cleaned = parse_xml(data[xml_at:end], what)
        except (Cut, Damaged) as first:
            close = data.find(b"</info>", xml_at, min(self.size, xml_at + _MAX_XML_BYTES))
            real_end = close + len(b"</info>")
            new_sid = sid if tag == Tag.STREAM_HEADER else None
            if close < 0 or real_end == end or not self.plausible(real_end, new_sid):
                raise first from None
            element, cleaned = parse_xml(data[xml_at:real_end], what)
            end = real_end
            note = f"the length of the {what} was damaged; read to its end"
        layout = layout_of(element, pos) if tag == Tag.STREAM_HEADER else None
        mended = None
        if cleaned or note:
            head = b"" if tag == Tag.FILE_HEADER else struct.pack("<I", sid)
            mended = chunk(Tag(tag), head + xml_bytes(element))
            if cleaned:
                note = note or f"the {what} held characters XML forbids; they were replaced"

        def take() -> None:
            if tag == Tag.FILE_HEADER:
                self.header = element
            elif tag == Tag.STREAM_HEADER:
                self.streams[sid] = XdfStream(sid, element)
                self.layouts[sid] = layout
                self.stamps[sid], self.series[sid], self.last_t[sid] = [], [], 0.0
            else:
                self.streams[sid].footer = element

        return _Chunk(pos, end, tag, sid, take, mended, note)

    def samples(self, pos: int, sid: int, first: int, end: int) -> _Chunk:
        """A samples chunk; read by its count when its length is wrong, or in part."""
        layout, last_t, data, size = self.layouts[sid], self.last_t[sid], self.data, self.size
        if end <= size:
            try:
                decoded = decode_samples(layout, data, first, end, last_t)
                if decoded.end == end:
                    return self.samples_chunk(pos, sid, decoded, None)
            except (Cut, Damaged):
                pass
        try:  # the length is wrong: the count says where the chunk ends (as pyxdf reads)
            decoded = decode_samples(layout, data, first, size, last_t)
            if decoded.end != end and self.plausible(decoded.end):
                note = f"the length of the samples chunk at byte {pos} was damaged; read by count"
                return self.samples_chunk(pos, sid, decoded, note)
        except (Cut, Damaged):
            pass
        if not self.resyncing:  # damaged inside: keep the samples before
            if end > size or not self.plausible(end):  # the next chunk may start sooner
                nxt = self.resync(first)
                end = nxt if nxt is not None and nxt < end else end
        if end <= size and not self.resyncing:
            try:
                decoded = decode_samples(layout, data, first, end, last_t, partial=True)
            except (Cut, Damaged):
                decoded = None
            if decoded is not None and len(decoded.stamps):
                decoded.end = end
                note = (
                    f"the samples chunk at byte {pos} was damaged; kept the "
                    f"{len(decoded.stamps)} samples before the damage"
                )
                return self.samples_chunk(pos, sid, decoded, note)
        if end > size:
            raise Cut
        raise Damaged(f"samples chunk at byte {pos} does not decode")

    def samples_chunk(self, pos: int, sid: int, decoded: Decoded, note: str | None) -> _Chunk:
        layout = self.layouts[sid]
        mended = None
        if note is not None:
            mended = samples_chunk(
                sid,
                layout.channel_format,
                layout.channel_count,
                decoded.stamps,
                decoded.values,
            )

        def take() -> None:
            self.stamps[sid].append(decoded.stamps)
            self.series[sid].append(decoded.values)
            self.last_t[sid] = decoded.last_t

        return _Chunk(pos, decoded.end, Tag.SAMPLES, sid, take, mended, note)

    # -- resynchronisation -------------------------------------------------------------
    def resync(self, start: int) -> int | None:
        """Offset of the next plausible, wholly decodable chunk at or after ``start``."""
        data = self.data
        patterns: list[tuple[bytes, int]] = [(BOUNDARY_UUID, -2), (b"<?xml", -6), (b"<info", -6)]
        for sid in self.layouts:
            for tag in (Tag.SAMPLES, Tag.CLOCK_OFFSET, Tag.STREAM_FOOTER):
                patterns.append((struct.pack("<HI", tag, sid), 0))
        heap = []
        for k, (pattern, back) in enumerate(patterns):
            at = data.find(pattern, start + 3)
            if at >= 0:
                heap.append((at + back, k))
        heapq.heapify(heap)
        tried: set[int] = set()
        while heap:
            tag_at, k = heapq.heappop(heap)
            pattern, back = patterns[k]
            nxt = data.find(pattern, tag_at - back + 1)
            if nxt >= 0:
                heapq.heappush(heap, (nxt + back, k))
            for width in (1, 4, 8):
                begin = tag_at - 1 - width
                if begin < start or begin in tried or data[begin] != width:
                    continue
                tried.add(begin)
                if self._decodes(begin):
                    return begin
        return None

    def _decodes(self, pos: int) -> bool:
        self.resyncing = True
        try:
            found = self.parse(pos)
        except (Cut, Damaged):
            return False
        finally:
            self.resyncing = False
        new_sid = found.stream_id if found.tag == Tag.STREAM_HEADER else None
        return found.tag != Tag.FILE_HEADER and self.plausible(found.end, new_sid)


@dataclass
class _Partial:
    stream_id: int
    decoded: Decoded


def _empty(layout: Layout) -> np.ndarray | list:
    if layout.channel_format == "string":
        return []
    dtype = NUMERIC_FORMATS[layout.channel_format].newbyteorder("=")
    return np.zeros((0, layout.channel_count), dtype)


def _assemble(stream: XdfStream, stamps: list[np.ndarray], series: list) -> None:
    stream.time_stamps = np.concatenate(stamps) if stamps else np.zeros(0)
    if stream.channel_format == "string":
        stream.time_series = [row for part in series for row in part]
    elif series:
        stream.time_series = np.concatenate(series)
    else:
        dtype = NUMERIC_FORMATS[stream.channel_format].newbyteorder("=")
        stream.time_series = np.zeros((0, stream.channel_count), dtype)
